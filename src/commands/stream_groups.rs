//! The reading side of streams: XREAD, XREADGROUP (both may block),
//! XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, and XINFO GROUPS /
//! CONSUMERS (t_stream.c's consumer-group half, as Redis 7.0.15 behaves).
//!
//! Owns: argument parsing in Redis's order (the first error Redis reports
//! is the one we report), the reply shapes (RESP2 arrays, RESP3 maps for
//! XREAD's per-stream result and XINFO), keyspace events
//! (`xgroup-create`, `xgroup-setid`, `xgroup-destroy`,
//! `xgroup-createconsumer`, `xgroup-delconsumer`; XREADGROUP, XCLAIM and
//! XAUTOCLAIM raise `xgroup-createconsumer` when they create a consumer),
//! the blocked-client side of streams ([`StreamWait`], [`readiness`],
//! [`serve_blocked`]), and where COMMAND GETKEYS and the ACL find the
//! keys after STREAMS ([`streams_key_positions`]).
//!
//! Propagation (AOF, replicas), as Redis 7.0 does it: XREADGROUP,
//! XCLAIM and XAUTOCLAIM are never propagated as themselves. Each entry
//! a group delivers or a claim moves becomes `XCLAIM key group consumer
//! 0 id TIME <ms> RETRYCOUNT <n> FORCE JUSTID LASTID <group last id>`,
//! which rebuilds that pending entry exactly; a NOACK read becomes
//! `XGROUP SETID key group <id> ENTRIESREAD <n>` (and `XGROUP
//! CREATECONSUMER` when it created the consumer); an XCLAIM whose LASTID
//! moved the group but claimed nothing becomes that SETID. XACK and the
//! XGROUP subcommands are propagated as sent when they changed
//! something. A read of a consumer's own history changes only delivery
//! counters and is not propagated (nor by Redis).
//!
//! Must never: allocate by a COUNT a client sent (counts only bound
//! loops), signal WATCH (Redis's group commands do not: they look keys
//! up without `Access::Write`; only MKSTREAM's key creation does), or
//! leave a group's PEL and its consumers' PELs disagreeing (the
//! bookkeeping lives in `types/stream/group.rs`).
//!
//! XADD lives in `streams.rs`: it calls
//! [`crate::db::Keyspace::signal_ready`] after appending, also to an
//! existing stream, so clients blocked in XREAD / XREADGROUP on that key
//! are served.

use super::streams::{
    lookup_stream, parse_interval_id, parse_range_id, parse_strict_id, reply_entry, write_id,
    write_read_counters,
};
use super::{parse_int, Argv};
use crate::connection::Client;
use crate::db::{unix_ms, Access};
use crate::errors::*;
use crate::notify::STREAM;
use crate::resp::reply::{Proto, ReplyWriter};
use crate::server::blocking::{may_block, BlockOp, Readiness};
use crate::server::Server;
use crate::types::stream::{ConsumerGroup, Delivered, StreamId, StreamValue};
use crate::types::{CompactBytes, Value};
use std::time::Duration;

#[cfg(test)]
mod tests;

/// A blocked XREAD with no COUNT reads at most this many entries when
/// served (Redis's XREAD_BLOCKED_DEFAULT_COUNT): a low ID must not make
/// the server answer with a whole stream.
const BLOCKED_DEFAULT_COUNT: usize = 1000;

/// XAUTOCLAIM looks at up to COUNT times this many PEL entries.
const AUTOCLAIM_ATTEMPTS_FACTOR: u64 = 10;

/// The largest XAUTOCLAIM COUNT accepted. Redis allocates 16 bytes per
/// counted ID before it starts and answers "COUNT too high" when the
/// allocator refuses: on x86-64 Linux (47-bit address space, jemalloc,
/// default overcommit) redis-server 7.0.15 accepts 2^41 (32 TiB, only
/// reserved) and refuses 2^42. We allocate by what is found, and refuse
/// beyond the same bound so the replies agree.
const AUTOCLAIM_COUNT_ALLOCATABLE: u64 = 1 << 41;

const XGROUP_HELP: &[&str] = &[
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
];

// ---------------------------------------------------------------------------
// Shared helpers

/// Names in error texts: Redis prints them with `%s`.
fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn id_text(id: StreamId) -> Vec<u8> {
    id.to_string().into_bytes()
}

/// The commands a group command asks to propagate, built while the
/// stream is borrowed and handed to the propagator afterwards.
#[derive(Default)]
struct Effects {
    /// False when nothing consumes the stream: nothing is built.
    enabled: bool,
    cmds: Vec<Vec<Vec<u8>>>,
    /// Keys where a consumer was created (one `xgroup-createconsumer`
    /// event each).
    consumers_created: Vec<Vec<u8>>,
    dirty: u64,
}

impl Effects {
    fn new(srv: &Server) -> Effects {
        Effects {
            enabled: srv.prop.enabled,
            ..Effects::default()
        }
    }

    /// `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID
    /// LASTID last`: the pending entry `id` exactly as it is now.
    fn xclaim(&mut self, key: &[u8], group: &[u8], id_arg: &[u8], g: &ConsumerGroup) {
        if !self.enabled {
            return;
        }
        let Some(pe) = StreamId::parse_strict(id_arg).and_then(|id| g.pel.get(&id)) else {
            return;
        };
        self.cmds.push(vec![
            b"XCLAIM".to_vec(),
            key.to_vec(),
            group.to_vec(),
            pe.consumer.to_vec(),
            b"0".to_vec(),
            id_arg.to_vec(),
            b"TIME".to_vec(),
            pe.delivery_time.to_string().into_bytes(),
            b"RETRYCOUNT".to_vec(),
            pe.delivery_count.to_string().into_bytes(),
            b"FORCE".to_vec(),
            b"JUSTID".to_vec(),
            b"LASTID".to_vec(),
            id_text(g.last_id),
        ]);
    }

    /// `XGROUP SETID key group <last id> ENTRIESREAD <n or -1>`.
    fn setid(&mut self, key: &[u8], group: &[u8], g: &ConsumerGroup) {
        if !self.enabled {
            return;
        }
        let read = g.entries_read.map_or(-1, |n| n as i64);
        self.cmds.push(vec![
            b"XGROUP".to_vec(),
            b"SETID".to_vec(),
            key.to_vec(),
            group.to_vec(),
            id_text(g.last_id),
            b"ENTRIESREAD".to_vec(),
            read.to_string().into_bytes(),
        ]);
    }

    /// A consumer was created on `key`: its event, and when `propagate`
    /// (a NOACK read, which has no XCLAIM to create it on replay) `XGROUP
    /// CREATECONSUMER`.
    fn create_consumer(&mut self, key: &[u8], group: &[u8], consumer: &[u8], propagate: bool) {
        self.consumers_created.push(key.to_vec());
        self.dirty += 1;
        if !self.enabled || !propagate {
            return;
        }
        self.cmds.push(vec![
            b"XGROUP".to_vec(),
            b"CREATECONSUMER".to_vec(),
            key.to_vec(),
            group.to_vec(),
            consumer.to_vec(),
        ]);
    }

    /// Hand everything to the server: dirty count, events, and the
    /// propagated commands in place of the command's own argv.
    fn apply(self, srv: &mut Server, db: usize) {
        srv.ks.dirty += self.dirty;
        for key in &self.consumers_created {
            srv.ks.notify(STREAM, "xgroup-createconsumer", db, key);
        }
        srv.propagate_prevent();
        for cmd in &self.cmds {
            let args: Vec<&[u8]> = cmd.iter().map(|a| &a[..]).collect();
            srv.propagate_replace(&args);
        }
    }
}

/// Find consumer `name` in `g` (refreshing its seen time, as Redis's
/// lookup does) or create it. True if created.
fn touch_or_create_consumer(g: &mut ConsumerGroup, name: &[u8], now_ms: i64) -> bool {
    match g.consumers.get_mut(name) {
        Some(c) => {
            c.seen_time = now_ms;
            false
        }
        None => g.create_consumer(name, now_ms),
    }
}

// ---------------------------------------------------------------------------
// XREAD / XREADGROUP

/// What a client blocked in XREAD / XREADGROUP waits for (kept in its
/// `BlockOp::StreamRead`).
#[derive(Debug, Clone)]
pub struct StreamWait {
    /// Each key with the ID its entries must be above, first occurrence
    /// first (a key named twice waits with its first ID, as in Redis).
    /// XREAD's `$` was resolved when the client blocked; XREADGROUP's
    /// `>` is read from the group when the key is served.
    pub ids: Vec<(CompactBytes, StreamId)>,
    /// Entries to read at most (never 0: BLOCKED_DEFAULT_COUNT then).
    pub count: usize,
    pub group: Option<GroupRead>,
}

/// XREADGROUP's group, consumer and NOACK.
#[derive(Debug, Clone)]
pub struct GroupRead {
    pub group: CompactBytes,
    pub consumer: CompactBytes,
    pub noack: bool,
}

impl StreamWait {
    fn id_for(&self, key: &[u8]) -> StreamId {
        self.ids
            .iter()
            .find(|(k, _)| &k[..] == key)
            .map_or(StreamId::MAX, |(_, id)| *id)
    }
}

/// The parsed options of XREAD / XREADGROUP.
struct ReadArgs<'a> {
    /// Some when BLOCK was given: None inside means forever (BLOCK 0).
    block: Option<Option<Duration>>,
    /// 0: no limit.
    count: usize,
    /// Index of the first key; the IDs follow the keys.
    streams_at: usize,
    streams: usize,
    group: Option<(&'a [u8], &'a [u8])>,
    noack: bool,
}

fn parse_read_args<'a>(
    argv: &Argv<'a>,
    group_form: bool,
    from_script: bool,
) -> Result<ReadArgs<'a>, CmdError> {
    let mut a = ReadArgs {
        block: None,
        count: 0,
        streams_at: 0,
        streams: 0,
        group: None,
        noack: false,
    };
    let mut i = 1;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        if argv.is(i, "block") && more > 0 {
            if from_script {
                // Redis refuses BLOCK in scripts outright (no timeout to
                // fall back on), naming the command as the script wrote it.
                return Err(CmdError::Other(
                    format!(
                        "ERR {} command is not allowed with BLOCK option from scripts",
                        String::from_utf8_lossy(argv.get(0))
                    )
                    .into(),
                ));
            }
            i += 1;
            a.block = Some(parse_block_ms(argv.get(i))?);
        } else if argv.is(i, "count") && more > 0 {
            i += 1;
            let n = parse_int(argv.get(i))?;
            a.count = usize::try_from(n.max(0)).unwrap_or(usize::MAX);
        } else if argv.is(i, "streams") && more > 0 {
            a.streams_at = i + 1;
            let rest = argv.len() - a.streams_at;
            if !rest.is_multiple_of(2) {
                return Err(CmdError::StreamsUnbalanced);
            }
            a.streams = rest / 2;
            break;
        } else if argv.is(i, "group") && more >= 2 {
            if !group_form {
                return Err(CmdError::msg(XREAD_GROUP_ONLY));
            }
            a.group = Some((argv.get(i + 1), argv.get(i + 2)));
            i += 2;
        } else if argv.is(i, "noack") {
            if !group_form {
                return Err(CmdError::msg(XREAD_NOACK_ONLY));
            }
            a.noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if a.streams_at == 0 {
        return Err(CmdError::Syntax);
    }
    if group_form && a.group.is_none() {
        return Err(CmdError::msg(XREADGROUP_MISSING_GROUP));
    }
    Ok(a)
}

/// BLOCK's milliseconds, as Redis 7.0's getTimeoutFromObjectOrReply in
/// milliseconds: an integer, not negative. 0 waits forever (None), and
/// so does a wait too long for a deadline (`block_client`).
fn parse_block_ms(arg: &[u8]) -> Result<Option<Duration>, CmdError> {
    let ms = crate::resp::parser::parse_i64(arg).ok_or(CmdError::msg(STREAM_TIMEOUT_NOT_INT))?;
    if ms < 0 {
        return Err(CmdError::msg(STREAM_TIMEOUT_NEGATIVE));
    }
    Ok((ms > 0).then(|| Duration::from_millis(ms as u64)))
}

pub fn xread(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    read_command(srv, c, argv, false)
}

pub fn xreadgroup(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    read_command(srv, c, argv, true)
}

/// The ID a key's read starts after: XREAD's ID (`$` resolved), or
/// XREADGROUP's `>` (None) or history ID.
#[derive(Clone, Copy)]
enum After {
    Id(StreamId),
    New,
}

fn read_command(srv: &mut Server, c: &mut Client, argv: &Argv, group_form: bool) -> CmdResult {
    let a = parse_read_args(argv, group_form, c.in_script)?;
    let db = c.db;
    let keys = a.streams_at..a.streams_at + a.streams;
    // Resolve every key (type, group) and ID before reading anything, in
    // Redis's order: key i's errors come before ID i's.
    let mut afters = Vec::with_capacity(a.streams.min(1024));
    for k in keys.clone() {
        let key = argv.get(k);
        let id_arg = argv.get(k + a.streams);
        let stream = lookup_stream(srv, db, key, Access::Read)?;
        if let Some((group, _)) = a.group {
            if !stream
                .as_ref()
                .is_some_and(|s| s.groups.contains_key(group))
            {
                return Err(CmdError::NoGroupRead(lossy(key), lossy(group)));
            }
        }
        let after = match id_arg {
            b"$" => {
                if group_form {
                    return Err(CmdError::msg(XREADGROUP_DOLLAR));
                }
                After::Id(stream.map_or(StreamId::MIN, |s| s.last_id))
            }
            b">" => {
                if !group_form {
                    return Err(CmdError::msg(XREAD_GT_ONLY));
                }
                After::New
            }
            // The largest ID is how Redis represents `>` internally, so
            // XREADGROUP given it explicitly reads new entries too.
            _ => match parse_strict_id(id_arg)? {
                StreamId::MAX if group_form => After::New,
                id => After::Id(id),
            },
        };
        afters.push(after);
    }
    let group = a.group.map(|(g, consumer)| GroupRead {
        group: CompactBytes::new(g),
        consumer: CompactBytes::new(consumer),
        noack: a.noack,
    });
    // Serve what can be served now. Each key's part is written to `body`
    // as it is read (a key named twice sees the first read's effect on
    // its group, as in Redis); the header needs the count of parts.
    let mut body = Vec::new();
    let mut parts = 0;
    let proto = c.proto;
    let mut effects = Effects::new(srv);
    let now = srv.ks.now_ms;
    for (i, k) in keys.clone().enumerate() {
        let key = argv.get(k);
        let Some(s) = lookup_stream(srv, db, key, Access::Read)? else {
            continue;
        };
        let start = match (afters[i], &group) {
            (After::Id(id), Some(_)) => {
                // The consumer's own history: always answered.
                parts += 1;
                let mut w = ReplyWriter::new(&mut body, proto);
                write_part_header(&mut w, proto, key);
                read_history(
                    s,
                    key,
                    group.as_ref(),
                    id,
                    a.count,
                    now,
                    &mut w,
                    &mut effects,
                );
                effects.dirty += 1;
                continue;
            }
            (After::Id(id), None) => {
                if s.last_entry().is_some_and(|(last, _)| *last > id) {
                    id
                } else {
                    continue;
                }
            }
            (After::New, Some(g)) => {
                let last = s
                    .groups
                    .get(&g.group[..])
                    .map_or(StreamId::MAX, |g| g.last_id);
                if s.last_entry().is_some_and(|(max, _)| *max > last) {
                    last
                } else {
                    continue;
                }
            }
            (After::New, None) => continue,
        };
        parts += 1;
        let mut w = ReplyWriter::new(&mut body, proto);
        write_part_header(&mut w, proto, key);
        read_after(
            s,
            key,
            group.as_ref(),
            start,
            a.count,
            now,
            &mut w,
            &mut effects,
        );
        if group.is_some() {
            effects.dirty += 1;
        }
    }
    effects.apply(srv, db);
    if parts > 0 {
        let mut w = c.reply();
        match proto {
            Proto::Resp2 => w.array(parts),
            Proto::Resp3 => w.map(parts),
        }
        c.out.extend_from_slice(&body);
        return Ok(());
    }
    let Some(block) = a.block else {
        c.reply().null_array();
        return Ok(());
    };
    if !may_block(c) {
        c.reply().null_array();
        return Ok(());
    }
    let ids = keys
        .clone()
        .enumerate()
        .map(|(i, k)| {
            let id = match afters[i] {
                After::Id(id) => id,
                After::New => StreamId::MAX,
            };
            (CompactBytes::new(argv.get(k)), id)
        })
        .collect();
    let wait = StreamWait {
        ids,
        count: if a.count == 0 {
            BLOCKED_DEFAULT_COUNT
        } else {
            a.count
        },
        group,
    };
    srv.block_client(
        c,
        keys.map(|k| argv.get(k)),
        block,
        BlockOp::StreamRead(Box::new(wait)),
    );
    Ok(())
}

/// The key that starts a stream's part of an XREAD reply: `[key,
/// entries]` in RESP2, a map entry `key => entries` in RESP3.
fn write_part_header(w: &mut ReplyWriter, proto: Proto, key: &[u8]) {
    if proto == Proto::Resp2 {
        w.array(2);
    }
    w.bulk(key);
}

/// Read the entries after `after` (up to `count`, 0 = all): for a group,
/// deliver them (move its last ID, add them to the PEL unless NOACK),
/// building the propagated effects. Writes the entries array.
#[allow(clippy::too_many_arguments)]
fn read_after(
    s: &mut StreamValue,
    key: &[u8],
    group: Option<&GroupRead>,
    after: StreamId,
    count: usize,
    now: i64,
    w: &mut ReplyWriter,
    fx: &mut Effects,
) {
    // Starting after the largest ID reads nothing (Redis's incr wraps to
    // 0-0 there, but no entry can be above the largest ID anyway).
    let Some(start) = after.incr() else {
        w.array(0);
        return;
    };
    let limit = if count == 0 { usize::MAX } else { count };
    let n = s.range(start, StreamId::MAX).take(limit).count();
    w.array(n);
    let Some(gr) = group else {
        for (id, e) in s.range(start, StreamId::MAX).take(n) {
            reply_entry(w, *id, e);
        }
        return;
    };
    // The group leaves the map while the stream's entries are read, so
    // both can be borrowed; it goes back under the same name.
    let Some((gname, mut g)) = s.groups.remove_entry(&gr.group[..]) else {
        return;
    };
    if touch_or_create_consumer(&mut g, &gr.consumer, now) {
        fx.create_consumer(key, &gr.group, &gr.consumer, gr.noack);
    }
    let mut moved = false;
    for (id, e) in s.range(start, StreamId::MAX).take(n) {
        let id = *id;
        if id > g.last_id {
            s.advance_group(&mut g, id);
            moved = true;
        }
        if !gr.noack {
            let _: Delivered = g.deliver(id, &gr.consumer, now);
            fx.xclaim(key, &gr.group, &id_text(id), &g);
        }
        reply_entry(w, id, e);
    }
    if moved && gr.noack {
        fx.setid(key, &gr.group, &g);
    }
    debug_assert!(g.pel_consistent());
    s.groups.insert(gname, g);
}

/// XREADGROUP with an ID: the consumer's pending entries after `after`
/// (an entry deleted since shows as `[id, nil]`); each one found counts
/// as delivered again.
#[allow(clippy::too_many_arguments)]
fn read_history(
    s: &mut StreamValue,
    key: &[u8],
    group: Option<&GroupRead>,
    after: StreamId,
    count: usize,
    now: i64,
    w: &mut ReplyWriter,
    fx: &mut Effects,
) {
    let Some(gr) = group else {
        w.array(0);
        return;
    };
    // After the largest ID Redis wraps around to 0-0: the whole history.
    let start = after.incr().unwrap_or(StreamId::MIN);
    let limit = if count == 0 { usize::MAX } else { count };
    let Some((gname, mut g)) = s.groups.remove_entry(&gr.group[..]) else {
        w.array(0);
        return;
    };
    if touch_or_create_consumer(&mut g, &gr.consumer, now) {
        fx.create_consumer(key, &gr.group, &gr.consumer, gr.noack);
    }
    let ids: Vec<StreamId> = g
        .consumers
        .get(&gr.consumer[..])
        .map(|c| c.pel.range(start..).take(limit).copied().collect())
        .unwrap_or_default();
    w.array(ids.len());
    for id in ids {
        match s.get(&id) {
            Some(e) => {
                reply_entry(w, id, e);
                if let Some(pe) = g.pel.get_mut(&id) {
                    pe.delivery_time = now;
                    pe.delivery_count = pe.delivery_count.saturating_add(1);
                }
            }
            None => {
                w.array(2);
                write_id(w, id);
                w.null_array();
            }
        }
    }
    s.groups.insert(gname, g);
}

/// Can a key serve a client blocked in XREAD / XREADGROUP? Called by
/// server/blocking.rs when the key is ready (an entry was added, the key
/// was created or deleted, a group destroyed).
pub fn readiness(wait: &StreamWait, key: &[u8], value: Option<&Value>) -> Readiness {
    let s = match value {
        Some(Value::Stream(s)) => s,
        // Gone or replaced: XREAD keeps waiting for a stream to appear,
        // XREADGROUP's group went with it.
        _ if wait.group.is_some() => return Readiness::Fail(XREADGROUP_KEY_GONE),
        _ => return Readiness::Wait,
    };
    let after = match &wait.group {
        Some(gr) => match s.groups.get(&gr.group[..]) {
            Some(g) => g.last_id,
            None => return Readiness::Fail(XREADGROUP_GROUP_GONE),
        },
        None => wait.id_for(key),
    };
    // Redis compares with the last ID generated, not the last live entry:
    // an entry added and deleted in one transaction still serves (with
    // no entries).
    if s.last_id > after {
        Readiness::Serve
    } else {
        Readiness::Wait
    }
}

/// Serve a client blocked in XREAD / XREADGROUP on `key`, which
/// [`readiness`] found ready: the reply has this one stream. Called by
/// server/blocking.rs, which propagates what this records.
pub fn serve_blocked(
    srv: &mut Server,
    c: &mut Client,
    db: usize,
    key: &[u8],
    wait: &StreamWait,
) -> CmdResult {
    let mut effects = Effects::new(srv);
    let now = unix_ms();
    let proto = c.proto;
    let Some(s) = lookup_stream(srv, db, key, Access::NoTouch)? else {
        return Ok(());
    };
    let after = match &wait.group {
        Some(gr) => match s.groups.get(&gr.group[..]) {
            Some(g) => g.last_id,
            None => return Ok(()),
        },
        None => wait.id_for(key),
    };
    let mut body = Vec::new();
    let mut w = ReplyWriter::new(&mut body, proto);
    read_after(
        s,
        key,
        wait.group.as_ref(),
        after,
        wait.count,
        now,
        &mut w,
        &mut effects,
    );
    if wait.group.is_some() {
        effects.dirty += 1;
    }
    effects.apply(srv, db);
    let mut w = c.reply();
    if proto == Proto::Resp2 {
        w.array(1);
        w.array(2);
    } else {
        w.map(1);
    }
    w.bulk(key);
    c.out.extend_from_slice(&body);
    Ok(())
}

/// The keys of an XREAD / XREADGROUP: the first half of what follows
/// STREAMS (Redis's key spec: keyword STREAMS, range to the end, limit
/// 2). Empty when there is no STREAMS. For COMMAND GETKEYS, CLIENT
/// TRACKING and the ACL.
pub fn streams_key_positions(name: &str, argv: &Argv) -> Vec<usize> {
    if name != "xread" && name != "xreadgroup" {
        return Vec::new();
    }
    let from = if name == "xread" { 1 } else { 4 };
    let Some(at) = (from..argv.len()).find(|&i| argv.is(i, "streams")) else {
        return Vec::new();
    };
    let first = at + 1;
    let n = (argv.len() - first) / 2;
    (first..first + n).collect()
}

// ---------------------------------------------------------------------------
// XGROUP

pub fn xgroup(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let sub = argv.lower(1);
    if argv.len() == 2 && sub == "help" {
        super::keys::reply_help(c, XGROUP_HELP);
        return Ok(());
    }
    let syntax = || CmdError::subcommand_syntax(argv.get(0), argv.get(1));
    if argv.len() < 4 {
        return Err(syntax());
    }
    let db = c.db;
    let key = argv.get(2);
    let group = argv.get(3);
    let create = sub == "create";
    let setid = sub == "setid";
    let mut mkstream = false;
    let mut entries_read: Option<u64> = None;
    let mut i = 5;
    while i < argv.len() {
        if create && argv.is(i, "mkstream") {
            mkstream = true;
            i += 1;
        } else if (create || setid) && argv.is(i, "entriesread") && i + 1 < argv.len() {
            let n = parse_int(argv.get(i + 1))?;
            if n < 0 && n != -1 {
                return Err(CmdError::msg(ENTRIESREAD_RANGE));
            }
            entries_read = u64::try_from(n).ok();
            i += 2;
        } else {
            return Err(syntax());
        }
    }
    let (exists, has_group, last_id) = match lookup_stream(srv, db, key, Access::Touch)? {
        Some(s) => (true, s.groups.contains_key(group), s.last_id),
        None => (false, false, StreamId::MIN),
    };
    if !exists && !mkstream {
        return Err(CmdError::XGroupNoKey);
    }
    if !has_group && matches!(sub.as_str(), "setid" | "createconsumer" | "delconsumer") {
        return Err(CmdError::NoGroupForKey(lossy(group), lossy(key)));
    }
    let n = argv.len();
    match sub.as_str() {
        "create" if (5..=8).contains(&n) => {
            let id = match argv.get(4) {
                b"$" => last_id,
                arg => parse_strict_id(arg)?,
            };
            if !exists {
                srv.ks
                    .add(db, key, Value::Stream(Box::new(StreamValue::new())));
            }
            let Some(s) = lookup_stream(srv, db, key, Access::NoTouch)? else {
                return Ok(());
            };
            if s.groups.contains_key(group) {
                return Err(CmdError::BusyGroup);
            }
            s.groups.insert(
                CompactBytes::new(group),
                ConsumerGroup::new(id, entries_read),
            );
            srv.ks.dirty += 1;
            srv.ks.notify(STREAM, "xgroup-create", db, key);
            c.reply().ok();
        }
        "setid" if n == 5 || n == 7 => {
            let id = match argv.get(4) {
                b"$" => last_id,
                arg => parse_range_id(arg, 0)?,
            };
            if let Some(g) =
                lookup_stream(srv, db, key, Access::NoTouch)?.and_then(|s| s.groups.get_mut(group))
            {
                g.last_id = id;
                g.entries_read = entries_read;
            }
            srv.ks.dirty += 1;
            srv.ks.notify(STREAM, "xgroup-setid", db, key);
            c.reply().ok();
        }
        "destroy" if n == 4 => {
            let removed = lookup_stream(srv, db, key, Access::NoTouch)?
                .and_then(|s| s.groups.remove(group))
                .is_some();
            if removed {
                srv.ks.dirty += 1;
                srv.ks.notify(STREAM, "xgroup-destroy", db, key);
                // Clients blocked in XREADGROUP on this group get NOGROUP.
                srv.ks.signal_ready(db, key);
            }
            c.reply().int(removed as i64);
        }
        "createconsumer" if n == 5 => {
            let now = srv.ks.now_ms;
            let created = lookup_stream(srv, db, key, Access::NoTouch)?
                .and_then(|s| s.groups.get_mut(group))
                .is_some_and(|g| g.create_consumer(argv.get(4), now));
            if created {
                srv.ks.dirty += 1;
                srv.ks.notify(STREAM, "xgroup-createconsumer", db, key);
            }
            c.reply().int(created as i64);
        }
        "delconsumer" if n == 5 => {
            let pending = lookup_stream(srv, db, key, Access::NoTouch)?
                .and_then(|s| s.groups.get_mut(group))
                .and_then(|g| g.delete_consumer(argv.get(4)));
            if let Some(p) = pending {
                srv.ks.dirty += 1;
                srv.ks.notify(STREAM, "xgroup-delconsumer", db, key);
                c.reply().int(p as i64);
            } else {
                c.reply().int(0);
            }
        }
        _ => return Err(syntax()),
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// XACK

pub fn xack(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let db = c.db;
    let key = argv.get(1);
    let group = argv.get(2);
    let has_group =
        lookup_stream(srv, db, key, Access::Read)?.is_some_and(|s| s.groups.contains_key(group));
    if !has_group {
        c.reply().int(0);
        return Ok(());
    }
    // All IDs are checked before any is acknowledged: all or nothing.
    let mut ids = Vec::with_capacity((argv.len() - 3).min(1024));
    for i in 3..argv.len() {
        ids.push(parse_strict_id(argv.get(i))?);
    }
    let mut acked = 0;
    if let Some(g) =
        lookup_stream(srv, db, key, Access::NoTouch)?.and_then(|s| s.groups.get_mut(group))
    {
        for id in &ids {
            if g.ack(id) {
                acked += 1;
            }
        }
    }
    srv.ks.dirty += acked;
    c.reply().int(acked as i64);
    Ok(())
}

// ---------------------------------------------------------------------------
// XPENDING

pub fn xpending(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let n = argv.len();
    if n != 3 && !(6..=9).contains(&n) {
        return Err(CmdError::Syntax);
    }
    let db = c.db;
    let key = argv.get(1);
    let group = argv.get(2);
    let mut range = None;
    if n >= 6 {
        let mut at = 3;
        let mut min_idle = 0;
        if argv.is(3, "idle") {
            min_idle = parse_int(argv.get(4))?;
            if n < 8 {
                return Err(CmdError::Syntax);
            }
            at += 2;
        }
        let count = parse_int(argv.get(at + 2))?.max(0) as u64;
        let (mut start, start_ex) = parse_interval_id(argv.get(at), 0)?;
        if start_ex {
            start = start.incr().ok_or(CmdError::msg(INTERVAL_START))?;
        }
        let (mut end, end_ex) = parse_interval_id(argv.get(at + 1), u64::MAX)?;
        if end_ex {
            end = end.decr().ok_or(CmdError::msg(INTERVAL_END))?;
        }
        let consumer = (at + 3 < n).then(|| argv.get(at + 3));
        range = Some((min_idle, start, end, count, consumer));
    }
    let now = srv.ks.now_ms;
    let Some(g) = lookup_stream(srv, db, key, Access::Read)?.and_then(|s| s.groups.get(group))
    else {
        return Err(CmdError::NoGroup(lossy(key), lossy(group)));
    };
    let mut w = c.reply();
    let Some((min_idle, start, end, count, consumer)) = range else {
        // The summary.
        w.array(4);
        w.int(g.pel.len() as i64);
        match (g.pel.keys().next(), g.pel.keys().next_back()) {
            (Some(first), Some(last)) => {
                write_id(&mut w, *first);
                write_id(&mut w, *last);
                let owners: Vec<_> = g
                    .consumers
                    .iter()
                    .filter(|(_, c)| !c.pel.is_empty())
                    .collect();
                w.array(owners.len());
                for (name, cons) in owners {
                    w.array(2);
                    w.bulk(name);
                    w.bulk_i64(cons.pel.len() as i64);
                }
            }
            _ => {
                w.null();
                w.null();
                w.null_array();
            }
        }
        return Ok(());
    };
    let ids: Box<dyn Iterator<Item = StreamId>> = match consumer {
        Some(name) => match g.consumers.get(name) {
            Some(cons) if start <= end => Box::new(cons.pel.range(start..=end).copied()),
            Some(_) => Box::new(std::iter::empty()),
            None => {
                w.array(0);
                return Ok(());
            }
        },
        None if start <= end => Box::new(g.pel.range(start..=end).map(|(id, _)| *id)),
        None => Box::new(std::iter::empty()),
    };
    let mut rows = Vec::new();
    for id in ids {
        if rows.len() as u64 >= count {
            break;
        }
        let Some(pe) = g.pel.get(&id) else {
            continue;
        };
        let idle = now.saturating_sub(pe.delivery_time);
        if min_idle != 0 && idle < min_idle {
            continue;
        }
        rows.push((id, pe, idle.max(0)));
    }
    w.array(rows.len());
    for (id, pe, idle) in rows {
        w.array(4);
        write_id(&mut w, id);
        w.bulk(&pe.consumer);
        w.int(idle);
        w.int(pe.delivery_count as i64);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// XCLAIM / XAUTOCLAIM

pub fn xclaim(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let db = c.db;
    let key = argv.get(1);
    let group = argv.get(2);
    let consumer = argv.get(3);
    let has_group =
        lookup_stream(srv, db, key, Access::Read)?.is_some_and(|s| s.groups.contains_key(group));
    if !has_group {
        return Err(CmdError::NoGroup(lossy(key), lossy(group)));
    }
    let min_idle = parse_int(argv.get(4))
        .map_err(|_| CmdError::msg(XCLAIM_MIN_IDLE))?
        .max(0);
    // The IDs run up to the first argument that is not one; options
    // follow. Everything is parsed before anything changes.
    let ids_end = (5..argv.len())
        .find(|&i| StreamId::parse_strict(argv.get(i)).is_none())
        .unwrap_or(argv.len());
    let now = srv.ks.now_ms;
    let mut delivery_time: Option<i64> = None;
    let mut retry_count: Option<u64> = None;
    let (mut force, mut justid) = (false, false);
    let mut last_id = StreamId::MIN;
    let mut i = ids_end;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        if argv.is(i, "force") {
            force = true;
        } else if argv.is(i, "justid") {
            justid = true;
        } else if argv.is(i, "idle") && more > 0 {
            i += 1;
            let idle = parse_int(argv.get(i)).map_err(|_| CmdError::msg(XCLAIM_IDLE))?;
            delivery_time = Some(now.wrapping_sub(idle));
        } else if argv.is(i, "time") && more > 0 {
            i += 1;
            delivery_time = Some(parse_int(argv.get(i)).map_err(|_| CmdError::msg(XCLAIM_TIME))?);
        } else if argv.is(i, "retrycount") && more > 0 {
            i += 1;
            let n = parse_int(argv.get(i)).map_err(|_| CmdError::msg(XCLAIM_RETRYCOUNT))?;
            // A negative count is Redis's "not given".
            retry_count = u64::try_from(n).ok();
        } else if argv.is(i, "lastid") && more > 0 {
            i += 1;
            last_id = parse_strict_id(argv.get(i))?;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                lossy(argv.get(i))
            )));
        }
        i += 1;
    }
    // A delivery time in the future or before the epoch is taken as now
    // (clients compute it from their own clocks).
    let delivery_time = match delivery_time {
        Some(t) if (0..=now).contains(&t) => t,
        _ => now,
    };
    let mut fx = Effects::new(srv);
    let Some(s) = lookup_stream(srv, db, key, Access::NoTouch)? else {
        return Ok(());
    };
    let Some((gname, mut g)) = s.groups.remove_entry(group) else {
        return Ok(());
    };
    let mut propagate_last_id = false;
    if last_id > g.last_id {
        g.last_id = last_id;
        propagate_last_id = true;
    }
    let mut body = Vec::new();
    let mut w = ReplyWriter::new(&mut body, c.proto);
    let mut claimed = 0;
    let mut have_consumer = false;
    for i in 5..ids_end {
        let id_arg = argv.get(i);
        let Some(id) = StreamId::parse_strict(id_arg) else {
            continue;
        };
        let pending = g.pel.get(&id).cloned();
        let Some(entry) = s.get(&id) else {
            // Deleted from the stream: its pending record goes too.
            if pending.is_some() {
                fx.xclaim(key, group, id_arg, &g);
                propagate_last_id = false;
                fx.dirty += 1;
                g.ack(&id);
            }
            continue;
        };
        if pending.is_none() && !force {
            continue;
        }
        if let Some(pe) = &pending {
            if min_idle != 0 && now.saturating_sub(pe.delivery_time) < min_idle {
                continue;
            }
        }
        if !have_consumer {
            have_consumer = true;
            if touch_or_create_consumer(&mut g, consumer, now) {
                fx.create_consumer(key, group, consumer, false);
            }
        }
        g.claim(id, consumer, delivery_time, retry_count, justid);
        if justid {
            write_id(&mut w, id);
        } else {
            reply_entry(&mut w, id, entry);
        }
        claimed += 1;
        fx.xclaim(key, group, id_arg, &g);
        propagate_last_id = false;
        fx.dirty += 1;
    }
    if propagate_last_id {
        fx.setid(key, group, &g);
        fx.dirty += 1;
    }
    debug_assert!(g.pel_consistent());
    s.groups.insert(gname, g);
    fx.apply(srv, db);
    c.reply().array(claimed);
    c.out.extend_from_slice(&body);
    Ok(())
}

pub fn xautoclaim(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let db = c.db;
    let key = argv.get(1);
    let group = argv.get(2);
    let consumer = argv.get(3);
    let min_idle = parse_int(argv.get(4))
        .map_err(|_| CmdError::msg(XAUTOCLAIM_MIN_IDLE))?
        .max(0);
    let (mut start, start_ex) = parse_interval_id(argv.get(5), 0)?;
    if start_ex {
        start = start.incr().ok_or(CmdError::msg(INTERVAL_START))?;
    }
    // COUNT's upper bound is Redis's (LONG_MAX / 16), so that COUNT times
    // the attempts factor cannot overflow.
    let count_max = i64::MAX / 16;
    let mut count: u64 = 100;
    let mut justid = false;
    let mut i = 6;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        if argv.is(i, "count") && more > 0 {
            let n = parse_int(argv.get(i + 1)).map_err(|_| CmdError::msg(XAUTOCLAIM_COUNT))?;
            if !(1..=count_max).contains(&n) {
                return Err(CmdError::msg(XAUTOCLAIM_COUNT));
            }
            count = n as u64;
            i += 1;
        } else if argv.is(i, "justid") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let has_group =
        lookup_stream(srv, db, key, Access::Read)?.is_some_and(|s| s.groups.contains_key(group));
    if !has_group {
        return Err(CmdError::NoGroup(lossy(key), lossy(group)));
    }
    // Redis allocates COUNT stream IDs up front for the deleted ones and
    // answers this when the allocator refuses (see the constant).
    if count > AUTOCLAIM_COUNT_ALLOCATABLE {
        return Err(CmdError::msg(XAUTOCLAIM_COUNT_MEMORY));
    }
    let now = srv.ks.now_ms;
    let mut fx = Effects::new(srv);
    let Some(s) = lookup_stream(srv, db, key, Access::NoTouch)? else {
        return Ok(());
    };
    let Some((gname, mut g)) = s.groups.remove_entry(group) else {
        return Ok(());
    };
    let mut attempts = count.saturating_mul(AUTOCLAIM_ATTEMPTS_FACTOR);
    let mut body = Vec::new();
    let mut w = ReplyWriter::new(&mut body, c.proto);
    let mut claimed = 0;
    let mut deleted = Vec::new();
    let mut have_consumer = false;
    // Walk the PEL from `start`; `next` is where the walk stopped, which
    // is the cursor of the next call (0-0 at the end).
    let mut next = g.pel.range(start..).next().map(|(id, _)| *id);
    while attempts > 0 && count > 0 {
        let Some(id) = next else {
            break;
        };
        attempts -= 1;
        next = id
            .incr()
            .and_then(|from| g.pel.range(from..).next().map(|(id, _)| *id));
        let id_arg = id_text(id);
        let Some(entry) = s.get(&id) else {
            fx.xclaim(key, group, &id_arg, &g);
            fx.dirty += 1;
            g.ack(&id);
            deleted.push(id);
            // A deleted entry counts against COUNT too (Redis 7.0: COUNT
            // bounds the whole reply, deleted IDs included).
            count -= 1;
            continue;
        };
        let Some(pe) = g.pel.get(&id) else {
            continue;
        };
        if min_idle != 0 && now.saturating_sub(pe.delivery_time) < min_idle {
            continue;
        }
        if !have_consumer {
            have_consumer = true;
            if touch_or_create_consumer(&mut g, consumer, now) {
                fx.create_consumer(key, group, consumer, false);
            }
        }
        g.claim(id, consumer, now, None, justid);
        if justid {
            write_id(&mut w, id);
        } else {
            reply_entry(&mut w, id, entry);
        }
        claimed += 1;
        count -= 1;
        fx.xclaim(key, group, &id_arg, &g);
        fx.dirty += 1;
    }
    debug_assert!(g.pel_consistent());
    s.groups.insert(gname, g);
    fx.apply(srv, db);
    let mut w = c.reply();
    w.array(3);
    write_id(&mut w, next.unwrap_or(StreamId::MIN));
    w.array(claimed);
    c.out.extend_from_slice(&body);
    let mut w = c.reply();
    w.array(deleted.len());
    for id in deleted {
        write_id(&mut w, id);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// XINFO GROUPS / CONSUMERS

/// XINFO GROUPS key: each group's name, consumers, pending, last
/// delivered ID, entries read and lag (Redis 7.0's six fields).
pub(crate) fn xinfo_groups(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let db = c.db;
    let Some(s) = lookup_stream(srv, db, argv.get(2), Access::Read)? else {
        return Err(CmdError::NoSuchKey);
    };
    let mut w = c.reply();
    w.array(s.groups.len());
    for (name, g) in &s.groups {
        w.map(6);
        w.bulk(b"name");
        w.bulk(name);
        w.bulk(b"consumers");
        w.int(g.consumers.len() as i64);
        w.bulk(b"pending");
        w.int(g.pel.len() as i64);
        w.bulk(b"last-delivered-id");
        write_id(&mut w, g.last_id);
        write_read_counters(&mut w, s, g);
    }
    Ok(())
}

/// XINFO CONSUMERS key group: each consumer's name, pending count and
/// idle time (ms since it was last seen).
pub(crate) fn xinfo_consumers(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let db = c.db;
    let key = argv.get(2);
    let group = argv.get(3);
    let now = unix_ms();
    let Some(s) = lookup_stream(srv, db, key, Access::Read)? else {
        return Err(CmdError::NoSuchKey);
    };
    let Some(g) = s.groups.get(group) else {
        return Err(CmdError::NoGroupForKey(lossy(group), lossy(key)));
    };
    let mut w = c.reply();
    w.array(g.consumers.len());
    for (name, cons) in &g.consumers {
        w.map(3);
        w.bulk(b"name");
        w.bulk(name);
        w.bulk(b"pending");
        w.int(cons.pel.len() as i64);
        w.bulk(b"idle");
        w.int(now.saturating_sub(cons.seen_time).max(0));
    }
    Ok(())
}
