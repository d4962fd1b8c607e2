//! Stream commands that write and read ranges (Redis's t_stream.c, minus
//! consumer groups): XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID and
//! XINFO (HELP and STREAM here; GROUPS and CONSUMERS belong to
//! `stream_groups.rs` and plug into [`xinfo`]'s dispatch).
//!
//! The representation (entries, counters, the listpack node model that
//! approximate trimming follows) is in `types/stream/`; this file parses
//! arguments in Redis's order (so the same error wins when several are
//! present), looks keys up, shapes replies, and decides the propagated
//! effect.
//!
//! Propagation (AOF, replicas) is the effect, as Redis 7.0 rewrites it:
//! XADD with `*` or `<ms>-*` carries the ID it generated; an approximate
//! trim (`~`, XADD's or XTRIM's) becomes an exact one (`=`) at the
//! threshold the node cut left: the resulting length for MAXLEN, the first
//! remaining ID (tombstones included) for MINID. LIMIT stays in the
//! command: the master's stream and the AOF loader run without a LIMIT
//! (Redis's mustObeyClient), so the replay trims to the same threshold.
//!
//! Must never: leave an XADD's new entry unsignalled (every XADD that added
//! an entry queues its key for blocked readers, whether or not it created
//! the key), allocate by a COUNT or a length a client sent, or raise an
//! event, bump `dirty` or propagate for a write that changed nothing
//! (XDEL of missing IDs, a trim that removed nothing).

use super::keys::reply_help;
use super::{parse_int, Argv};
use crate::connection::Client;
use crate::db::Access;
use crate::errors::{CmdError, CmdResult, StreamError};
use crate::notify::STREAM;
use crate::resp::reply::ReplyWriter;
use crate::server::Server;
use crate::types::stream::node::LISTPACK_MAX_BYTES;
use crate::types::stream::{
    AddId, ConsumerGroup, EntryId, EntryRef, IdError, NodeLimits, StreamId, StreamValue, Trim,
    TrimStrategy,
};
use crate::types::Value;

fn err(e: StreamError) -> CmdError {
    CmdError::Stream(e)
}

/// The node limits from the configuration.
pub(crate) fn node_limits(srv: &Server) -> NodeLimits {
    NodeLimits {
        max_entries: srv.config.stream_node_max_entries,
        max_bytes: srv.config.stream_node_max_bytes,
    }
}

/// The stream at `key`, None if missing, WRONGTYPE for another type.
pub(crate) fn lookup_stream<'a>(
    srv: &'a mut Server,
    db: usize,
    key: &[u8],
    access: Access,
) -> Result<Option<&'a mut StreamValue>, CmdError> {
    srv.ks.lookup_typed(db, key, access)
}

/// An ID where a range allows `-` and `+` (XRANGE's bounds).
pub(crate) fn parse_range_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    StreamId::parse(arg, missing_seq).ok_or(err(StreamError::InvalidId))
}

/// A complete or `ms`-only ID, no `-`/`+` (XDEL, XSETID, MINID...).
pub(crate) fn parse_strict_id(arg: &[u8]) -> Result<StreamId, CmdError> {
    StreamId::parse_strict(arg).ok_or(err(StreamError::InvalidId))
}

/// A range bound that may be exclusive (`(id`): Redis's
/// streamParseIntervalIDOrReply. An exclusive bound is a strict ID (no
/// `-`/`+`) whose missing sequence still defaults to `missing_seq`.
/// Returns the ID and whether it was exclusive.
pub(crate) fn parse_interval_id(
    arg: &[u8],
    missing_seq: u64,
) -> Result<(StreamId, bool), CmdError> {
    if arg.len() > 1 && arg[0] == b'(' {
        let rest = &arg[1..];
        if rest == b"-" || rest == b"+" {
            return Err(err(StreamError::InvalidId));
        }
        return Ok((parse_range_id(rest, missing_seq)?, true));
    }
    Ok((parse_range_id(arg, missing_seq)?, false))
}

/// XADD's and XTRIM's options, as streamParseAddOrTrimArgsOrReply reads
/// them.
#[derive(Debug, Clone)]
pub(crate) struct AddTrimArgs {
    pub trim: Option<Trim>,
    /// Index of the threshold argument (MAXLEN's count, MINID's ID), for
    /// rewriting the propagated command.
    pub threshold_idx: usize,
    pub nomkstream: bool,
    /// XADD: the ID argument and its index.
    pub id: AddId,
    pub id_idx: usize,
}

/// Parse XADD's (`xadd`) or XTRIM's options from argument 2 on. `obey`:
/// the command comes from the master or the AOF, which run without a
/// LIMIT (and may carry one next to `=`, as Redis propagates it).
/// `max_entries` is `stream-node-max-entries`, the base of the default
/// LIMIT of an approximate trim.
pub(crate) fn parse_add_or_trim(
    argv: &Argv,
    xadd: bool,
    obey: bool,
    max_entries: u64,
) -> Result<AddTrimArgs, CmdError> {
    let mut strategy: Option<TrimStrategy> = None;
    let mut approx = false;
    let mut limit: i64 = 0;
    let mut limit_given = false;
    let mut out = AddTrimArgs {
        trim: None,
        threshold_idx: 0,
        nomkstream: false,
        id: AddId::Auto,
        id_idx: argv.len(),
    };
    let mut i = 2;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let opt = &argv[i];
        if xadd && opt == b"*" {
            out.id_idx = i;
            break;
        } else if (opt.eq_ignore_ascii_case(b"maxlen") || opt.eq_ignore_ascii_case(b"minid"))
            && more > 0
        {
            if strategy.is_some() {
                return Err(err(StreamError::MaxlenAndMinid));
            }
            approx = false;
            let next = &argv[i + 1];
            if more >= 2 && next == b"~" {
                approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let arg = &argv[i + 1];
            strategy = Some(if opt.eq_ignore_ascii_case(b"maxlen") {
                let n = parse_int(arg)?;
                if n < 0 {
                    return Err(err(StreamError::MaxlenNegative));
                }
                TrimStrategy::MaxLen(n as u64)
            } else {
                TrimStrategy::MinId(parse_strict_id(arg)?)
            });
            i += 1;
            out.threshold_idx = i;
        } else if opt.eq_ignore_ascii_case(b"limit") && more > 0 {
            limit = parse_int(&argv[i + 1])?;
            if limit < 0 {
                return Err(err(StreamError::LimitNegative));
            }
            limit_given = true;
            i += 1;
        } else if xadd && opt.eq_ignore_ascii_case(b"nomkstream") {
            out.nomkstream = true;
        } else if xadd {
            // Anything else is the ID, or a syntax error reported as a
            // bad ID.
            out.id = AddId::parse(opt).ok_or(err(StreamError::InvalidId))?;
            out.id_idx = i;
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if limit != 0 && strategy.is_none() {
        return Err(err(StreamError::LimitWithoutStrategy));
    }
    if !xadd && strategy.is_none() {
        return Err(err(StreamError::XtrimWithoutStrategy));
    }
    let limit = if obey {
        0
    } else if limit_given {
        if !approx {
            return Err(err(StreamError::LimitWithoutApprox));
        }
        limit as u64
    } else if approx {
        default_approx_limit(max_entries)
    } else {
        0
    };
    out.trim = strategy.map(|strategy| Trim {
        strategy,
        approx,
        limit,
    });
    Ok(out)
}

/// The LIMIT of an approximate trim that gave none: 100 nodes' worth of
/// entries, 10000 when that is not positive (Redis's arithmetic is on a
/// signed 64-bit value), at most a million.
fn default_approx_limit(max_entries: u64) -> u64 {
    let l = (max_entries as i64).wrapping_mul(100);
    if l <= 0 {
        10_000
    } else {
        l.min(1_000_000) as u64
    }
}

/// Does this client's command get applied as sent (the master's stream,
/// the AOF loader's client), Redis's mustObeyClient? A script's client
/// has no socket either, but its commands are checked as a client's.
fn must_obey(c: &Client) -> bool {
    c.is_master || (c.stream.is_none() && !c.in_script)
}

/// The propagated threshold after an approximate trim: the length for
/// MAXLEN, the first ID still in a node (tombstones count) for MINID.
fn exact_threshold(s: &StreamValue, strategy: TrimStrategy) -> Vec<u8> {
    match strategy {
        TrimStrategy::MaxLen(_) => s.len().to_string().into_bytes(),
        TrimStrategy::MinId(_) => s.first_id_with_tombstones().to_string().into_bytes(),
    }
}

/// Propagate `argv` with some arguments replaced.
fn propagate_rewritten(srv: &mut Server, argv: &Argv, replace: &[(usize, Vec<u8>)]) {
    if !srv.prop.enabled {
        return;
    }
    let args: Vec<&[u8]> = (0..argv.len())
        .map(|i| {
            replace
                .iter()
                .rev()
                .find(|(at, _)| *at == i)
                .map_or(&argv[i], |(_, v)| v.as_slice())
        })
        .collect();
    srv.propagate_replace(&args);
}

/// A stream ID as a bulk string (`ms-seq`).
pub(crate) fn write_id(w: &mut ReplyWriter, id: StreamId) {
    w.bulk(id.to_string().as_bytes());
}

/// One entry as Redis replies it: `[id, [field, value, ...]]` (every
/// stream command that returns entries).
pub(crate) fn reply_entry(w: &mut ReplyWriter, id: StreamId, entry: EntryRef<'_>) {
    w.array(2);
    write_id(w, id);
    w.array(entry.pair_count() * 2);
    for s in entry.strings() {
        w.bulk(s);
    }
}

// ---------------------------------------------------------------------------
// XADD

pub fn xadd(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let args = parse_add_or_trim(argv, true, must_obey(c), srv.config.stream_node_max_entries)?;
    let field_pos = args.id_idx + 1;
    let pairs_len = argv.len().saturating_sub(field_pos);
    if pairs_len < 2 || pairs_len % 2 == 1 {
        return Err(CmdError::WrongArity("xadd".into()));
    }
    // Checked before the key is looked up, so no empty stream is left.
    if matches!(args.id, AddId::Explicit(id) if id.is_zero()) {
        return Err(err(StreamError::AddZeroId));
    }
    let key = &argv[1];
    let db = c.db;
    let limits = node_limits(srv);
    let now_ms = u64::try_from(srv.ks.now_ms).unwrap_or(0);
    if lookup_stream(srv, db, key, Access::Write)?.is_none() {
        if args.nomkstream {
            c.reply().null();
            return Ok(());
        }
        srv.ks.add(db, key, Value::Stream(Box::default()));
    }
    let Some(Value::Stream(s)) = srv.ks.dbs[db].dict.get_mut(key).map(|o| &mut o.value) else {
        return Err(CmdError::WrongType);
    };
    if s.last_id == StreamId::MAX {
        return Err(err(StreamError::IdsExhausted));
    }
    let id = s.next_id(args.id, now_ms).map_err(|e| match e {
        IdError::NotGreater => err(StreamError::AddIdNotGreater),
        IdError::Zero => err(StreamError::AddZeroId),
        IdError::Exhausted => err(StreamError::IdsExhausted),
        // Redis 7.0 fails this case without setting errno, and its reply
        // falls through to the "too large" text.
        IdError::SeqExhausted => err(StreamError::ElementsTooLarge),
    })?;
    let raw_len: u64 = argv.iter().skip(field_pos).map(|a| a.len() as u64).sum();
    if raw_len > LISTPACK_MAX_BYTES {
        return Err(err(StreamError::ElementsTooLarge));
    }
    let strings: Vec<&[u8]> = argv.iter().skip(field_pos).collect();
    s.append_strings(id, strings.iter().copied(), limits);
    let mut trimmed = 0;
    let mut rewrite: Vec<(usize, Vec<u8>)> = Vec::new();
    if let Some(trim) = args.trim {
        trimmed = s.trim(trim);
        if trim.approx {
            rewrite.push((args.threshold_idx - 1, b"=".to_vec()));
            rewrite.push((args.threshold_idx, exact_threshold(s, trim.strategy)));
        }
    }
    let id_text = id.to_string();
    c.reply().bulk(id_text.as_bytes());
    srv.ks.notify(STREAM, "xadd", db, key);
    srv.ks.dirty += 1;
    if trimmed > 0 {
        srv.ks.notify(STREAM, "xtrim", db, key);
    }
    if !matches!(args.id, AddId::Explicit(_)) {
        rewrite.push((args.id_idx, id_text.into_bytes()));
    }
    if !rewrite.is_empty() {
        propagate_rewritten(srv, argv, &rewrite);
    }
    // Readers blocked on the key (XREAD BLOCK) have something new, also
    // when the key already existed.
    srv.ks.signal_ready(db, key);
    Ok(())
}

// ---------------------------------------------------------------------------
// XLEN, XRANGE, XREVRANGE

pub fn xlen(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let len = lookup_stream(srv, c.db, &argv[1], Access::Read)?.map_or(0, |s| s.len());
    c.reply().int(len as i64);
    Ok(())
}

pub fn xrange(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    range_generic(srv, c, argv, false)
}

pub fn xrevrange(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    range_generic(srv, c, argv, true)
}

fn range_generic(srv: &mut Server, c: &mut Client, argv: &Argv, rev: bool) -> CmdResult {
    let (start_arg, end_arg) = if rev {
        (&argv[3], &argv[2])
    } else {
        (&argv[2], &argv[3])
    };
    let (mut start, start_ex) = parse_interval_id(start_arg, 0)?;
    if start_ex {
        start = start.incr().ok_or(err(StreamError::InvalidStartInterval))?;
    }
    let (mut end, end_ex) = parse_interval_id(end_arg, u64::MAX)?;
    if end_ex {
        end = end.decr().ok_or(err(StreamError::InvalidEndInterval))?;
    }
    // None: no COUNT. A COUNT of 0 (or below) answers a null array.
    let mut count: Option<u64> = None;
    let mut j = 4;
    while j < argv.len() {
        if argv[j].eq_ignore_ascii_case(b"count") && j + 1 < argv.len() {
            count = Some(parse_int(&argv[j + 1])?.max(0) as u64);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let Some(s) = lookup_stream(srv, c.db, &argv[1], Access::Read)? else {
        c.reply().array(0);
        return Ok(());
    };
    if count == Some(0) {
        c.reply().null_array();
        return Ok(());
    }
    let limit = count.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let range = s.range(start, end);
    // Room for a typical COUNT up front (the iterator cannot tell its
    // length, and growing a vector of views reallocates several times).
    let mut picked: Vec<(EntryId, EntryRef)> = Vec::with_capacity(limit.min(64));
    if rev {
        picked.extend(range.rev().take(limit));
    } else {
        picked.extend(range.take(limit));
    }
    let mut w = c.reply();
    w.array(picked.len());
    for (id, e) in picked {
        reply_entry(&mut w, *id, e);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// XDEL, XTRIM, XSETID

pub fn xdel(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let key = &argv[1];
    let db = c.db;
    // Redis looks the key up first: a missing key answers 0 whatever the
    // IDs look like.
    let Some(s) = lookup_stream(srv, db, key, Access::Write)? else {
        c.reply().int(0);
        return Ok(());
    };
    // Every ID is checked before anything is deleted.
    let ids = argv
        .iter()
        .skip(2)
        .map(parse_strict_id)
        .collect::<Result<Vec<_>, _>>()?;
    let deleted = ids.iter().filter(|id| s.delete(id)).count();
    if deleted > 0 {
        srv.ks.notify(STREAM, "xdel", db, key);
        srv.ks.dirty += deleted as u64;
    }
    c.reply().int(deleted as i64);
    Ok(())
}

pub fn xtrim(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let args = parse_add_or_trim(
        argv,
        false,
        must_obey(c),
        srv.config.stream_node_max_entries,
    )?;
    let Some(trim) = args.trim else {
        return Err(err(StreamError::XtrimWithoutStrategy));
    };
    let key = &argv[1];
    let db = c.db;
    let Some(s) = lookup_stream(srv, db, key, Access::Write)? else {
        c.reply().int(0);
        return Ok(());
    };
    let removed = s.trim(trim);
    if removed > 0 {
        if trim.approx {
            let threshold = exact_threshold(s, trim.strategy);
            propagate_rewritten(
                srv,
                argv,
                &[
                    (args.threshold_idx - 1, b"=".to_vec()),
                    (args.threshold_idx, threshold),
                ],
            );
        }
        srv.ks.notify(STREAM, "xtrim", db, key);
        srv.ks.dirty += removed;
    }
    c.reply().int(removed as i64);
    Ok(())
}

pub fn xsetid(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let id = parse_strict_id(&argv[2])?;
    let mut entries_added: Option<u64> = None;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < argv.len() {
        let more = i + 1 < argv.len();
        if argv[i].eq_ignore_ascii_case(b"entriesadded") && more {
            let n = parse_int(&argv[i + 1])?;
            if n < 0 {
                return Err(err(StreamError::SetIdEntriesAddedNegative));
            }
            entries_added = Some(n as u64);
        } else if argv[i].eq_ignore_ascii_case(b"maxdeletedid") && more {
            max_deleted = parse_strict_id(&argv[i + 1])?;
            if id < max_deleted {
                return Err(err(StreamError::SetIdBelowGivenMaxDeleted));
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let key = &argv[1];
    let db = c.db;
    // Redis 7.0's XSETID does not signal the key as modified: a WATCH on
    // it survives, and tracking clients are not invalidated. A write
    // lookup here would do both when `dirty` grows.
    let Some(s) = lookup_stream(srv, db, key, Access::Touch)? else {
        return Err(CmdError::NoSuchKey);
    };
    // Redis 7.0 does not compare the ID with the current max deleted ID
    // (7.2 does): only with the last live entry.
    if let Some((top, _)) = s.last_entry() {
        if id < *top {
            return Err(err(StreamError::SetIdBelowTop));
        }
        if entries_added.is_some_and(|n| (s.len() as u64) > n) {
            return Err(err(StreamError::SetIdEntriesAddedBelowLength));
        }
    }
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n;
    }
    if !max_deleted.is_zero() {
        s.max_deleted_id = max_deleted;
    }
    // Redis counts XSETID as a change even when it sets what was there.
    srv.ks.notify(STREAM, "xsetid", db, key);
    srv.ks.dirty += 1;
    c.reply().ok();
    Ok(())
}

// ---------------------------------------------------------------------------
// XINFO

const XINFO_HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];

/// XINFO's dispatch. The table checked the subcommand's name and arity.
/// XINFO GROUPS and XINFO CONSUMERS are the consumer groups' side
/// (`stream_groups.rs`).
pub fn xinfo(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if argv.is(1, "help") {
        reply_help(c, XINFO_HELP);
        Ok(())
    } else if argv.is(1, "stream") {
        xinfo_stream(srv, c, argv)
    } else if argv.is(1, "groups") {
        super::stream_groups::xinfo_groups(srv, c, argv)
    } else if argv.is(1, "consumers") {
        super::stream_groups::xinfo_consumers(srv, c, argv)
    } else {
        Err(CmdError::UnknownSubcommand(
            String::from_utf8_lossy(&argv[1]).into_owned(),
            "XINFO".into(),
        ))
    }
}

/// XINFO STREAM <key> [FULL [COUNT <count>]].
fn xinfo_stream(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    // Options are checked after the key: a missing key wins.
    let s = match lookup_stream(srv, c.db, &argv[2], Access::Read)? {
        Some(s) => s,
        None => return Err(CmdError::NoSuchKey),
    };
    let opts = argv.len() - 3;
    let full = opts > 0;
    let mut count: u64 = 10;
    if full {
        if (opts != 1 && opts != 3) || !argv.is(3, "full") {
            return Err(CmdError::subcommand_syntax(argv.get(0), argv.get(1)));
        }
        if opts == 3 {
            if !argv.is(4, "count") {
                return Err(CmdError::subcommand_syntax(argv.get(0), argv.get(1)));
            }
            let n = parse_int(&argv[5])?;
            count = if n < 0 { 10 } else { n as u64 };
        }
    }
    // COUNT 0 means everything; the reply is as long as the stream is,
    // never sized by the number itself.
    let limit = if count == 0 {
        usize::MAX
    } else {
        usize::try_from(count).unwrap_or(usize::MAX)
    };
    reply_stream_info(&mut c.reply(), s, full, limit);
    Ok(())
}

/// XINFO STREAM's reply: the summary, or with `full` up to `limit`
/// entries and every group with up to `limit` pending entries each.
fn reply_stream_info(w: &mut ReplyWriter, s: &StreamValue, full: bool, limit: usize) {
    w.map(if full { 9 } else { 10 });
    w.bulk(b"length");
    w.int(s.len() as i64);
    w.bulk(b"radix-tree-keys");
    w.int(s.node_count() as i64);
    w.bulk(b"radix-tree-nodes");
    w.int(s.rax_nodes() as i64);
    w.bulk(b"last-generated-id");
    write_id(w, s.last_id);
    w.bulk(b"max-deleted-entry-id");
    write_id(w, s.max_deleted_id);
    w.bulk(b"entries-added");
    w.int(s.entries_added as i64);
    w.bulk(b"recorded-first-entry-id");
    write_id(w, s.first_id);
    if !full {
        w.bulk(b"groups");
        w.int(s.groups.len() as i64);
        w.bulk(b"first-entry");
        match s.first_entry() {
            Some((id, e)) => reply_entry(w, *id, e),
            None => w.null(),
        }
        w.bulk(b"last-entry");
        match s.last_entry() {
            Some((id, e)) => reply_entry(w, *id, e),
            None => w.null(),
        }
        return;
    }
    w.bulk(b"entries");
    let shown = s.len().min(limit);
    w.array(shown);
    for (id, e) in s.iter().take(shown) {
        reply_entry(w, *id, e);
    }
    w.bulk(b"groups");
    w.array(s.groups.len());
    for (name, g) in &s.groups {
        reply_group_full(w, s, name, g, limit);
    }
}

/// A group's `entries-read` and `lag` fields (nil where Redis 7.0 cannot
/// know them), as XINFO GROUPS and XINFO STREAM FULL show them.
pub(crate) fn write_read_counters(w: &mut ReplyWriter, s: &StreamValue, g: &ConsumerGroup) {
    w.bulk(b"entries-read");
    match g.entries_read {
        Some(n) => w.int(n as i64),
        None => w.null(),
    }
    w.bulk(b"lag");
    match s.group_lag(g) {
        Some(lag) => w.int(lag),
        None => w.null(),
    }
}

/// One group of XINFO STREAM FULL: its counters, lag, up to `limit`
/// pending entries, and its consumers with up to `limit` of theirs.
fn reply_group_full(
    w: &mut ReplyWriter,
    s: &StreamValue,
    name: &[u8],
    g: &ConsumerGroup,
    limit: usize,
) {
    w.map(7);
    w.bulk(b"name");
    w.bulk(name);
    w.bulk(b"last-delivered-id");
    write_id(w, g.last_id);
    write_read_counters(w, s, g);
    w.bulk(b"pel-count");
    w.int(g.pel.len() as i64);
    w.bulk(b"pending");
    let shown = g.pel.len().min(limit);
    w.array(shown);
    for (id, p) in g.pel.iter().take(shown) {
        w.array(4);
        write_id(w, *id);
        w.bulk(&p.consumer);
        w.int(p.delivery_time);
        w.int(p.delivery_count as i64);
    }
    w.bulk(b"consumers");
    w.array(g.consumers.len());
    for (cname, consumer) in &g.consumers {
        w.map(4);
        w.bulk(b"name");
        w.bulk(cname);
        w.bulk(b"seen-time");
        w.int(consumer.seen_time);
        w.bulk(b"pel-count");
        w.int(consumer.pel.len() as i64);
        w.bulk(b"pending");
        let shown = consumer.pel.len().min(limit);
        w.array(shown);
        for id in consumer.pel.iter().take(shown) {
            // The group's PEL holds the delivery data (the invariant of
            // types/stream/group.rs); a missing one would be a bug there,
            // shown as zeros rather than a panic.
            let (time, deliveries) = g
                .pel
                .get(id)
                .map_or((0, 0), |p| (p.delivery_time, p.delivery_count));
            w.array(3);
            write_id(w, *id);
            w.int(time);
            w.int(deliveries as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::reply::Proto;
    use crate::types::stream::{Consumer, Entry, PendingEntry};
    use crate::types::CompactBytes;

    /// redis-server 7.0.15's reply (`{T}`: the delivery and seen times).
    const FULL_REPLY: &str = concat!(
        "*18\r\n$6\r\nlength\r\n:2\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\n",
        "radix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n3-1\r\n$20\r\n",
        "max-deleted-entry-id\r\n$3\r\n3-1\r\n$13\r\nentries-added\r\n:3\r\n$23\r\n",
        "recorded-first-entry-id\r\n$3\r\n1-1\r\n$7\r\nentries\r\n*2\r\n*2\r\n$3\r\n1-1\r\n",
        "*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n$6\r\n",
        "groups\r\n*2\r\n*14\r\n$4\r\nname\r\n$1\r\ng\r\n$17\r\nlast-delivered-id\r\n$3\r\n",
        "3-1\r\n$12\r\nentries-read\r\n:3\r\n$3\r\nlag\r\n:0\r\n$9\r\npel-count\r\n:3\r\n",
        "$7\r\npending\r\n*3\r\n*4\r\n$3\r\n1-1\r\n$5\r\nalice\r\n:{T}\r\n:1\r\n*4\r\n$3\r\n",
        "2-1\r\n$3\r\nbob\r\n:{T}\r\n:1\r\n*4\r\n$3\r\n3-1\r\n$3\r\nbob\r\n:{T}\r\n:1\r\n",
        "$9\r\nconsumers\r\n*2\r\n*8\r\n$4\r\nname\r\n$5\r\nalice\r\n$9\r\nseen-time\r\n",
        ":{T}\r\n$9\r\npel-count\r\n:1\r\n$7\r\npending\r\n*1\r\n*3\r\n$3\r\n1-1\r\n:{T}\r\n",
        ":1\r\n*8\r\n$4\r\nname\r\n$3\r\nbob\r\n$9\r\nseen-time\r\n:{T}\r\n$9\r\n",
        "pel-count\r\n:2\r\n$7\r\npending\r\n*2\r\n*3\r\n$3\r\n2-1\r\n:{T}\r\n:1\r\n*3\r\n",
        "$3\r\n3-1\r\n:{T}\r\n:1\r\n*14\r\n$4\r\nname\r\n$1\r\nh\r\n$17\r\n",
        "last-delivered-id\r\n$3\r\n3-1\r\n$12\r\nentries-read\r\n$-1\r\n$3\r\nlag\r\n:0\r\n",
        "$9\r\npel-count\r\n:0\r\n$7\r\npending\r\n*0\r\n$9\r\nconsumers\r\n*0\r\n",
    );

    /// redis-server 7.0.15's reply (`{T}`: the delivery and seen times).
    const FULL_COUNT_1_REPLY: &str = concat!(
        "*18\r\n$6\r\nlength\r\n:2\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\n",
        "radix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n3-1\r\n$20\r\n",
        "max-deleted-entry-id\r\n$3\r\n3-1\r\n$13\r\nentries-added\r\n:3\r\n$23\r\n",
        "recorded-first-entry-id\r\n$3\r\n1-1\r\n$7\r\nentries\r\n*1\r\n*2\r\n$3\r\n1-1\r\n",
        "*2\r\n$1\r\na\r\n$1\r\n1\r\n$6\r\ngroups\r\n*2\r\n*14\r\n$4\r\nname\r\n$1\r\ng\r\n",
        "$17\r\nlast-delivered-id\r\n$3\r\n3-1\r\n$12\r\nentries-read\r\n:3\r\n$3\r\nlag\r\n",
        ":0\r\n$9\r\npel-count\r\n:3\r\n$7\r\npending\r\n*1\r\n*4\r\n$3\r\n1-1\r\n$5\r\n",
        "alice\r\n:{T}\r\n:1\r\n$9\r\nconsumers\r\n*2\r\n*8\r\n$4\r\nname\r\n$5\r\nalice\r\n",
        "$9\r\nseen-time\r\n:{T}\r\n$9\r\npel-count\r\n:1\r\n$7\r\npending\r\n*1\r\n*3\r\n",
        "$3\r\n1-1\r\n:{T}\r\n:1\r\n*8\r\n$4\r\nname\r\n$3\r\nbob\r\n$9\r\nseen-time\r\n",
        ":{T}\r\n$9\r\npel-count\r\n:2\r\n$7\r\npending\r\n*1\r\n*3\r\n$3\r\n2-1\r\n:{T}\r\n",
        ":1\r\n*14\r\n$4\r\nname\r\n$1\r\nh\r\n$17\r\nlast-delivered-id\r\n$3\r\n3-1\r\n",
        "$12\r\nentries-read\r\n$-1\r\n$3\r\nlag\r\n:0\r\n$9\r\npel-count\r\n:0\r\n$7\r\n",
        "pending\r\n*0\r\n$9\r\nconsumers\r\n*0\r\n",
    );

    /// redis-server 7.0.15's reply (`{T}`: the delivery and seen times).
    const SUMMARY_REPLY: &str = concat!(
        "*20\r\n$6\r\nlength\r\n:2\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\n",
        "radix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n3-1\r\n$20\r\n",
        "max-deleted-entry-id\r\n$3\r\n3-1\r\n$13\r\nentries-added\r\n:3\r\n$23\r\n",
        "recorded-first-entry-id\r\n$3\r\n1-1\r\n$6\r\ngroups\r\n:2\r\n$11\r\n",
        "first-entry\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n$10\r\nlast-entry\r\n",
        "*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );

    /// The same in RESP3.
    const FULL_REPLY_RESP3: &str = concat!(
        "%9\r\n$6\r\nlength\r\n:2\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\n",
        "radix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n3-1\r\n$20\r\n",
        "max-deleted-entry-id\r\n$3\r\n3-1\r\n$13\r\nentries-added\r\n:3\r\n$23\r\n",
        "recorded-first-entry-id\r\n$3\r\n1-1\r\n$7\r\nentries\r\n*2\r\n*2\r\n$3\r\n1-1\r\n",
        "*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n$6\r\n",
        "groups\r\n*2\r\n%7\r\n$4\r\nname\r\n$1\r\ng\r\n$17\r\nlast-delivered-id\r\n$3\r\n",
        "3-1\r\n$12\r\nentries-read\r\n:3\r\n$3\r\nlag\r\n:0\r\n$9\r\npel-count\r\n:3\r\n",
        "$7\r\npending\r\n*3\r\n*4\r\n$3\r\n1-1\r\n$5\r\nalice\r\n:{T}\r\n:1\r\n*4\r\n$3\r\n",
        "2-1\r\n$3\r\nbob\r\n:{T}\r\n:1\r\n*4\r\n$3\r\n3-1\r\n$3\r\nbob\r\n:{T}\r\n:1\r\n",
        "$9\r\nconsumers\r\n*2\r\n%4\r\n$4\r\nname\r\n$5\r\nalice\r\n$9\r\nseen-time\r\n",
        ":{T}\r\n$9\r\npel-count\r\n:1\r\n$7\r\npending\r\n*1\r\n*3\r\n$3\r\n1-1\r\n:{T}\r\n",
        ":1\r\n%4\r\n$4\r\nname\r\n$3\r\nbob\r\n$9\r\nseen-time\r\n:{T}\r\n$9\r\n",
        "pel-count\r\n:2\r\n$7\r\npending\r\n*2\r\n*3\r\n$3\r\n2-1\r\n:{T}\r\n:1\r\n*3\r\n",
        "$3\r\n3-1\r\n:{T}\r\n:1\r\n%7\r\n$4\r\nname\r\n$1\r\nh\r\n$17\r\n",
        "last-delivered-id\r\n$3\r\n3-1\r\n$12\r\nentries-read\r\n_\r\n$3\r\nlag\r\n:0\r\n",
        "$9\r\npel-count\r\n:0\r\n$7\r\npending\r\n*0\r\n$9\r\nconsumers\r\n*0\r\n",
    );

    const T: i64 = 1795785275042;

    /// The state redis-server had: three entries, the last deleted;
    /// group `g` read all three (alice one, bob two), group `h` created at
    /// `$` (no read counter).
    fn stream_with_groups() -> StreamValue {
        let mut s = StreamValue::new();
        for (ms, f, v) in [(1, "a", "1"), (2, "b", "2"), (3, "c", "3")] {
            s.append(StreamId::new(ms, 1), Entry::new(&[f, v]));
        }
        assert!(s.delete(&StreamId::new(3, 1)));
        let mut g = ConsumerGroup::new(StreamId::new(3, 1), Some(3));
        for (ms, who) in [(1, "alice"), (2, "bob"), (3, "bob")] {
            let id = StreamId::new(ms, 1);
            g.pel.insert(
                id,
                PendingEntry {
                    delivery_time: T,
                    delivery_count: 1,
                    consumer: CompactBytes::new(who.as_bytes()),
                },
            );
            g.consumers
                .entry(CompactBytes::new(who.as_bytes()))
                .or_insert_with(|| Consumer {
                    seen_time: T,
                    ..Consumer::default()
                })
                .pel
                .insert(id);
        }
        s.groups.insert(CompactBytes::new(b"g"), g);
        s.groups.insert(
            CompactBytes::new(b"h"),
            ConsumerGroup::new(StreamId::new(3, 1), None),
        );
        s
    }

    fn render(s: &StreamValue, full: bool, limit: usize) -> String {
        render_in(Proto::Resp2, s, full, limit)
    }

    fn render_in(proto: Proto, s: &StreamValue, full: bool, limit: usize) -> String {
        let mut buf = Vec::new();
        reply_stream_info(&mut ReplyWriter::new(&mut buf, proto), s, full, limit);
        String::from_utf8(buf).expect("ascii reply")
    }

    #[test]
    fn xinfo_stream_full_prints_groups_as_redis() {
        let s = stream_with_groups();
        let expect = |r: &str| r.replace("{T}", &T.to_string());
        assert_eq!(render(&s, true, 10), expect(FULL_REPLY));
        assert_eq!(render(&s, true, 1), expect(FULL_COUNT_1_REPLY));
        assert_eq!(render(&s, false, 10), expect(SUMMARY_REPLY));
        assert_eq!(
            render_in(Proto::Resp3, &s, true, 10),
            expect(FULL_REPLY_RESP3)
        );
    }

    #[test]
    fn lag_follows_redis_rules() {
        let mut s = StreamValue::new();
        let g = ConsumerGroup::new(StreamId::MIN, Some(0));
        // A never-used stream: 0.
        assert_eq!(s.group_lag(&g), Some(0));
        for ms in 1..=5 {
            s.append(StreamId::new(ms, 0), Entry::new(&["f", "v"]));
        }
        // No tombstones: added - read.
        assert_eq!(s.group_lag(&g), Some(5));
        // A deletion after the group's position: unknown, unless the
        // position is the last ID (redis-server: XGROUP CREATE ... 0 /
        // 2 / 5 / 9 / 4 ENTRIESREAD on this stream give nil, nil, 0, nil,
        // 1).
        s.delete(&StreamId::new(3, 0));
        assert_eq!(s.group_lag(&g), None);
        let mid = ConsumerGroup::new(StreamId::new(2, 0), Some(2));
        assert_eq!(s.group_lag(&mid), None);
        let last = ConsumerGroup::new(StreamId::new(5, 0), None);
        assert_eq!(s.group_lag(&last), Some(0));
        let future = ConsumerGroup::new(StreamId::new(9, 0), None);
        assert_eq!(s.group_lag(&future), None);
        // The deletion is now before the group's position.
        let after = ConsumerGroup::new(StreamId::new(4, 0), Some(4));
        assert_eq!(s.group_lag(&after), Some(1));
    }
}
