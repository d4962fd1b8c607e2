//! Sorted set commands (Redis's t_zset.c): ZADD and ZINCRBY, removal,
//! scores and ranks, the ZRANGE family (by rank, score and lex, forward and
//! reverse, with LIMIT, and ZRANGESTORE), counts, pops and their blocking
//! forms BZPOPMIN BZPOPMAX BZMPOP (whose waiting part lives in
//! server/blocking.rs; [`serve_blocked`] serves a client once its key is
//! ready), ZRANDMEMBER, ZSCAN, and the set algebra ZUNION / ZINTER / ZDIFF
//! (+STORE, ZINTERCARD).
//!
//! The representation and its encodings are in `types/zset.rs`; this file
//! parses arguments in Redis's order (so the same error wins when several
//! are present), looks keys up, and shapes replies for RESP2 and RESP3.
//!
//! Must never: leave an empty zset in the keyspace (every removal path
//! deletes the key when the last member goes), allocate by a count the
//! client sent (LIMIT, COUNT and ranks are clamped to the zset's size before
//! anything is sized), or write an error text that is not in this file's
//! constants or errors.rs.
//!
//! RESP shapes (Redis 7.0): scores are doubles (`,` in RESP3, bulk strings
//! in RESP2, formatted `%.17g`); WITHSCORES gives a flat member/score array
//! in RESP2 and an array of [member, score] pairs in RESP3; ZSCAN always
//! sends scores as bulk strings.

use super::keys::parse_cursor;
use super::{parse_int, Argv};
use crate::connection::Client;
use crate::db::Access;
use crate::errors::{CmdError, CmdResult};
use crate::glob::glob_match;
use crate::notify::{GENERIC, ZSET};
use crate::resp::reply::{fmt_double, fmt_u64, Proto, ReplyWriter, DOUBLE_BUF};
use crate::server::blocking::{may_block, parse_timeout, BlockOp};
use crate::server::Server;
use crate::types::set::Member;
use crate::types::zset::{
    listpack_integer_score, parse_score, AddFlags, AddOutcome, LexRange, Limits, Range, ScoreRange,
    ZSetValue,
};
use crate::types::{CompactBytes, SetValue, Value};
use std::borrow::Cow;
use std::collections::HashMap;

const ERR_XX_NX: &str = "ERR XX and NX options at the same time are not compatible";
const ERR_GT_LT_NX: &str = "ERR GT, LT, and/or NX options at the same time are not compatible";
const ERR_INCR_PAIR: &str = "ERR INCR option supports a single increment-element pair";
const ERR_NAN: &str = "ERR resulting score is not a number (NaN)";
const ERR_LIMIT_RANK: &str =
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
const ERR_WITHSCORES_LEX: &str =
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX";
const ERR_SCORE_RANGE: &str = "ERR min or max is not a float";
const ERR_LEX_RANGE: &str = "ERR min or max not valid string range item";
const ERR_WEIGHT: &str = "ERR weight value is not a float";
const ERR_LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";
const ERR_NOT_POSITIVE: &str = "ERR value is out of range, must be positive";
const ERR_NUMKEYS: &str = "ERR numkeys should be greater than 0";
const ERR_COUNT: &str = "ERR count should be greater than 0";
const ERR_RANDMEMBER_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
const ERR_OUT_OF_RANGE: &str = "ERR value is out of range";
/// A deliberate difference from Redis 7.0 (see `zrandmember`).
const ERR_RANDMEMBER_TOO_BIG: &str =
    "ERR ZRANDMEMBER reply would exceed proto-max-bulk-len, use a smaller count";

/// The listpack thresholds from the configuration.
fn limits(srv: &Server) -> Limits {
    let clamp = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    Limits {
        max_entries: clamp(srv.config.zset_max_listpack_entries),
        max_value: clamp(srv.config.zset_max_listpack_value),
    }
}

/// The zset at `key`, None if missing, WRONGTYPE for another type.
fn lookup_zset<'a>(
    srv: &'a mut Server,
    db: usize,
    key: &[u8],
    access: Access,
) -> Result<Option<&'a mut ZSetValue>, CmdError> {
    srv.ks.lookup_typed(db, key, access)
}

/// After a command removed members from `key`: raise its event if it
/// removed any, and delete the key (with a `del` event) if it is now empty
/// (aggregates never stay empty in the keyspace).
fn after_removal(srv: &mut Server, db: usize, key: &[u8], removed: usize, event: &'static str) {
    if removed > 0 {
        srv.ks.notify(ZSET, event, db, key);
    }
    let empty = matches!(
        srv.ks.dbs[db].dict.get(key).map(|o| &o.value),
        Some(Value::ZSet(z)) if z.is_empty()
    );
    if empty {
        srv.ks.delete(db, key);
        srv.ks.notify(GENERIC, "del", db, key);
    }
}

/// Redis's getPositiveLongFromObjectOrReply with a custom message: a
/// parse failure and a negative value give the same error.
fn parse_non_negative(arg: &[u8], err: &'static str) -> Result<i64, CmdError> {
    match crate::resp::parser::parse_i64(arg) {
        Some(v) if v >= 0 => Ok(v),
        _ => Err(CmdError::msg(err)),
    }
}

/// Redis's getRangeLongFromObjectOrReply(1, LONG_MAX, msg).
fn parse_positive(arg: &[u8], err: &'static str) -> Result<i64, CmdError> {
    match crate::resp::parser::parse_i64(arg) {
        Some(v) if v >= 1 => Ok(v),
        _ => Err(CmdError::msg(err)),
    }
}

fn score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
    ScoreRange::parse(min, max).ok_or(CmdError::msg(ERR_SCORE_RANGE))
}

fn lex_range<'a>(min: &'a [u8], max: &'a [u8]) -> Result<LexRange<'a>, CmdError> {
    LexRange::parse(min, max).ok_or(CmdError::msg(ERR_LEX_RANGE))
}

/// Write a list of (member, score): flat in RESP2 (scores interleaved when
/// `withscores`), pairs in RESP3.
fn reply_scored<M: AsRef<[u8]>>(w: &mut ReplyWriter, items: &[(M, f64)], withscores: bool) {
    let pairs = withscores && w.proto == Proto::Resp3;
    w.array(if withscores && !pairs {
        items.len() * 2
    } else {
        items.len()
    });
    for (m, s) in items {
        if pairs {
            w.array(2);
        }
        w.bulk(m.as_ref());
        if withscores {
            w.double(*s);
        }
    }
}

// ---------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM

pub fn zadd(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    zadd_generic(srv, c, argv, false)
}

pub fn zincrby(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    zadd_generic(srv, c, argv, true)
}

/// ZADD and ZINCRBY (which is ZADD INCR with fixed arity). Everything is
/// validated before the first change: the command applies fully or not at
/// all.
fn zadd_generic(srv: &mut Server, c: &mut Client, argv: &Argv, zincrby: bool) -> CmdResult {
    let key = &argv[1];
    let mut flags = AddFlags {
        incr: zincrby,
        ..AddFlags::default()
    };
    let mut ch = false;
    let mut idx = 2;
    while idx < argv.len() {
        let opt = &argv[idx];
        if opt.eq_ignore_ascii_case(b"nx") {
            flags.nx = true;
        } else if opt.eq_ignore_ascii_case(b"xx") {
            flags.xx = true;
        } else if opt.eq_ignore_ascii_case(b"ch") {
            ch = true;
        } else if opt.eq_ignore_ascii_case(b"incr") {
            flags.incr = true;
        } else if opt.eq_ignore_ascii_case(b"gt") {
            flags.gt = true;
        } else if opt.eq_ignore_ascii_case(b"lt") {
            flags.lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let args = argv.len() - idx;
    if !args.is_multiple_of(2) || args == 0 {
        return Err(CmdError::Syntax);
    }
    let pairs = args / 2;
    if flags.nx && flags.xx {
        return Err(CmdError::msg(ERR_XX_NX));
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(CmdError::msg(ERR_GT_LT_NX));
    }
    if flags.incr && pairs > 1 {
        return Err(CmdError::msg(ERR_INCR_PAIR));
    }
    // One score per pair actually received: sized by the request, which
    // is already in memory, not by a claimed count.
    let mut items = Vec::with_capacity(pairs);
    for j in 0..pairs {
        let score = parse_score(&argv[idx + 2 * j]).ok_or(CmdError::NotFloat)?;
        items.push((score, &argv[idx + 2 * j + 1]));
    }
    let outcome = add_members(srv, c.db, key, flags, &items)?;
    let mut w = c.reply();
    match outcome {
        // XX on a missing key: nothing can be added, no key is created.
        None if flags.incr => w.null(),
        None => w.int(0),
        Some(n) if flags.incr => {
            if n.processed > 0 {
                w.double(n.last_score);
            } else {
                w.null();
            }
        }
        Some(n) => w.int(if ch { n.added + n.updated } else { n.added }),
    }
    Ok(())
}

/// What [`add_members`] did.
pub struct AddCounts {
    pub added: i64,
    pub updated: i64,
    /// Members not skipped by NX/XX/GT/LT.
    pub processed: i64,
    /// The score of the last processed member (ZADD INCR's reply).
    pub last_score: f64,
}

/// ZADD's effect on `key`, shared with GEOADD (which Redis runs as a ZADD):
/// create the zset if needed (encoded by the first member, as Redis),
/// add or update each (score, member), raise `zadd`/`zincr`, count the
/// changes in `dirty`. None when `key` is missing and XX forbids creating
/// it. Nothing changes when an increment produces NaN.
pub fn add_members(
    srv: &mut Server,
    db: usize,
    key: &[u8],
    flags: AddFlags,
    items: &[(f64, &[u8])],
) -> Result<Option<AddCounts>, CmdError> {
    let lim = limits(srv);
    let mut fresh = None;
    let first_len = items.first().map_or(0, |(_, m)| m.len());
    let zset = match lookup_zset(srv, db, key, Access::Write)? {
        Some(z) => z,
        None if flags.xx => return Ok(None),
        None => fresh.insert(ZSetValue::for_first_member(lim, first_len)),
    };
    let mut n = AddCounts {
        added: 0,
        updated: 0,
        processed: 0,
        last_score: 0.0,
    };
    for &(score, member) in items {
        match zset.add(member, score, flags, lim) {
            AddOutcome::NotANumber => return Err(CmdError::msg(ERR_NAN)),
            AddOutcome::Added(s) => {
                n.added += 1;
                n.processed += 1;
                n.last_score = s;
            }
            AddOutcome::Updated(s) => {
                n.updated += 1;
                n.processed += 1;
                n.last_score = s;
            }
            AddOutcome::Unchanged(s) => {
                n.processed += 1;
                n.last_score = s;
            }
            AddOutcome::Skipped => {}
        }
    }
    if let Some(z) = fresh {
        if !z.is_empty() {
            srv.ks.add(db, key, Value::ZSet(Box::new(z)));
        }
    }
    if n.added + n.updated > 0 {
        let event = if flags.incr { "zincr" } else { "zadd" };
        srv.ks.notify(ZSET, event, db, key);
    }
    srv.ks.dirty += (n.added + n.updated) as u64;
    Ok(Some(n))
}

pub fn zrem(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let key = &argv[1];
    let db = c.db;
    let Some(zset) = lookup_zset(srv, db, key, Access::Write)? else {
        c.reply().int(0);
        return Ok(());
    };
    let mut deleted = 0i64;
    for member in argv.iter().skip(2) {
        if zset.remove(member) {
            deleted += 1;
        }
        if zset.is_empty() {
            break;
        }
    }
    after_removal(srv, db, key, deleted as usize, "zrem");
    srv.ks.dirty += deleted as u64;
    c.reply().int(deleted);
    Ok(())
}

// ---------------------------------------------------------------------------
// ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK

pub fn zcard(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let n = lookup_zset(srv, c.db, &argv[1], Access::Read)?.map_or(0, |z| z.len());
    c.reply().int(n as i64);
    Ok(())
}

pub fn zscore(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let score = lookup_zset(srv, c.db, &argv[1], Access::Read)?.and_then(|z| z.score(&argv[2]));
    let mut w = c.reply();
    match score {
        Some(s) => w.double(s),
        None => w.null(),
    }
    Ok(())
}

pub fn zmscore(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let access = Access::Read;
    let zset = lookup_zset(srv, c.db, &argv[1], access)?;
    let mut w = c.reply();
    w.array(argv.len() - 2);
    for member in argv.iter().skip(2) {
        match zset.as_ref().and_then(|z| z.score(member)) {
            Some(s) => w.double(s),
            None => w.null(),
        }
    }
    Ok(())
}

pub fn zrank(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    rank_generic(srv, c, argv, false)
}

pub fn zrevrank(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    rank_generic(srv, c, argv, true)
}

fn rank_generic(srv: &mut Server, c: &mut Client, argv: &Argv, reverse: bool) -> CmdResult {
    let access = Access::Read;
    let rank = lookup_zset(srv, c.db, &argv[1], access)?.and_then(|z| z.rank(&argv[2], reverse));
    let mut w = c.reply();
    match rank {
        Some(r) => w.int(r as i64),
        None => w.null(),
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The ZRANGE family

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    /// ZRANGE / ZRANGESTORE: BYSCORE or BYLEX may pick, else by rank.
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// ZRANGE / ZRANGESTORE: REV may pick, else forward.
    Auto,
    Forward,
    Reverse,
}

pub fn zrange(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    zrange_generic(srv, c, argv, None, RangeKind::Auto, Direction::Auto)
}

pub fn zrangestore(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let dst = argv.get(1);
    zrange_generic(srv, c, argv, Some(dst), RangeKind::Auto, Direction::Auto)
}

pub fn zrevrange(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    zrange_generic(srv, c, argv, None, RangeKind::Rank, Direction::Reverse)
}

pub fn zrangebyscore(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    zrange_generic(srv, c, argv, None, RangeKind::Score, Direction::Forward)
}

pub fn zrevrangebyscore(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    zrange_generic(srv, c, argv, None, RangeKind::Score, Direction::Reverse)
}

pub fn zrangebylex(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    zrange_generic(srv, c, argv, None, RangeKind::Lex, Direction::Forward)
}

pub fn zrevrangebylex(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    zrange_generic(srv, c, argv, None, RangeKind::Lex, Direction::Reverse)
}

/// What to select, once the arguments are parsed.
enum Selection<'a> {
    Ranks { start: i64, end: i64 },
    Range(Range<'a>),
}

/// ZRANGE and every older variant, plus ZRANGESTORE (when `dst` is set).
/// Arguments from the source key on: `<src> <min> <max> [BYSCORE|BYLEX]
/// [REV] [WITHSCORES] [LIMIT offset count]`.
fn zrange_generic(
    srv: &mut Server,
    c: &mut Client,
    argv: &Argv,
    dst: Option<&[u8]>,
    mut kind: RangeKind,
    mut direction: Direction,
) -> CmdResult {
    let src_idx = if dst.is_some() { 2 } else { 1 };
    let key = argv.get(src_idx);
    let (mut min_idx, mut max_idx) = (src_idx + 1, src_idx + 2);
    let mut withscores = false;
    let mut offset: i64 = 0;
    let mut limit: i64 = -1;
    let mut j = src_idx + 3;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let opt = &argv[j];
        if dst.is_none() && opt.eq_ignore_ascii_case(b"withscores") {
            withscores = true;
        } else if opt.eq_ignore_ascii_case(b"limit") && left >= 2 {
            offset = parse_int(&argv[j + 1])?;
            limit = parse_int(&argv[j + 2])?;
            j += 2;
        } else if direction == Direction::Auto && opt.eq_ignore_ascii_case(b"rev") {
            direction = Direction::Reverse;
        } else if kind == RangeKind::Auto && opt.eq_ignore_ascii_case(b"bylex") {
            kind = RangeKind::Lex;
        } else if kind == RangeKind::Auto && opt.eq_ignore_ascii_case(b"byscore") {
            kind = RangeKind::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if direction == Direction::Auto {
        direction = Direction::Forward;
    }
    if kind == RangeKind::Auto {
        kind = RangeKind::Rank;
    }
    // Redis tests the count, not the option: "LIMIT 0 -1" passes by rank.
    if limit != -1 && kind == RangeKind::Rank {
        return Err(CmdError::msg(ERR_LIMIT_RANK));
    }
    if withscores && kind == RangeKind::Lex {
        return Err(CmdError::msg(ERR_WITHSCORES_LEX));
    }
    let reverse = direction == Direction::Reverse;
    if reverse && kind != RangeKind::Rank {
        // Reverse score and lex ranges are written `max min`.
        std::mem::swap(&mut min_idx, &mut max_idx);
    }
    let (min, max) = (argv.get(min_idx), argv.get(max_idx));
    let selection = match kind {
        RangeKind::Score => Selection::Range(Range::Score(score_range(min, max)?)),
        RangeKind::Lex => Selection::Range(Range::Lex(lex_range(min, max)?)),
        _ => Selection::Ranks {
            start: parse_int(min)?,
            end: parse_int(max)?,
        },
    };
    let db = c.db;
    let access = Access::Read;
    let lim = limits(srv);
    let zset = match lookup_zset(srv, db, key, access)? {
        Some(z) => z,
        None => {
            return match dst {
                Some(dst) => store_value(srv, c, dst, ZSetValue::new_listpack(), "zrangestore"),
                None => {
                    c.reply().array(0);
                    Ok(())
                }
            };
        }
    };
    let (items, size_known) = match selection {
        Selection::Ranks { start, end } => (select_ranks(zset, start, end, reverse), true),
        Selection::Range(range) => (select_range(zset, &range, reverse, offset, limit), false),
    };
    match dst {
        None => {
            reply_scored(&mut c.reply(), &items, withscores);
            Ok(())
        }
        Some(dst) => {
            // Redis creates the destination from a size hint (the count of
            // a rank range, 0 for score and lex ranges, whose size is not
            // known in advance) and adds the elements one at a time in
            // emission order, converting when a limit is passed. Replay
            // that so the encoding and the stored scores (a listpack turns
            // -0 into 0) come out the same.
            let hint = if size_known { items.len() } else { 0 };
            let mut result = if hint > lim.max_entries {
                ZSetValue::new_skiplist()
            } else {
                ZSetValue::new_listpack()
            };
            for (m, s) in &items {
                result.add(m, *s, AddFlags::default(), lim);
            }
            store_value(srv, c, dst, result, "zrangestore")
        }
    }
}

/// Elements at ranks `start..=end` (negative counts from the end), in
/// reply order. Sized by the zset, never by the arguments.
fn select_ranks(zset: &ZSetValue, start: i64, end: i64, reverse: bool) -> Vec<(&[u8], f64)> {
    let len = zset.len() as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return Vec::new();
    }
    if end >= len {
        end = len - 1;
    }
    let n = (end - start + 1) as usize;
    let first = if reverse {
        (len - 1 - start) as usize
    } else {
        start as usize
    };
    let mut out = Vec::with_capacity(n);
    out.extend(zset.iter_at(first, reverse).take(n));
    out
}

/// Elements inside a score or lex range, after skipping `offset` and at
/// most `limit` of them (negative: no limit), in reply order. A negative
/// offset selects nothing, as in Redis.
fn select_range<'z>(
    zset: &'z ZSetValue,
    range: &Range,
    reverse: bool,
    offset: i64,
    limit: i64,
) -> Vec<(&'z [u8], f64)> {
    let len = zset.len();
    if offset < 0 || offset as u64 >= len as u64 {
        return Vec::new();
    }
    let offset = offset as usize;
    let start = if reverse {
        zset.last_in(range).and_then(|p| p.checked_sub(offset))
    } else {
        zset.first_in(range)
            .map(|p| p + offset)
            .filter(|&p| p < len)
    };
    let Some(start) = start else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut left = limit;
    for (m, s) in zset.iter_at(start, reverse) {
        if left == 0 {
            break;
        }
        let inside = if reverse {
            range.gte_min(m, s)
        } else {
            range.lte_max(m, s)
        };
        if !inside {
            break;
        }
        out.push((m, s));
        if left > 0 {
            left -= 1;
        }
    }
    out
}

/// Store a computed result at `dst` and reply with its size; an empty
/// result deletes `dst` instead (ZRANGESTORE, ZUNIONSTORE, ZINTERSTORE,
/// ZDIFFSTORE). `dst` is overwritten whatever its type, and loses its TTL.
fn store_value(
    srv: &mut Server,
    c: &mut Client,
    dst: &[u8],
    zset: ZSetValue,
    event: &'static str,
) -> CmdResult {
    let n = zset.len();
    let value = (n > 0).then(|| Value::ZSet(Box::new(zset)));
    if super::store_result(srv, c.db, dst, value, ZSET, event) {
        srv.ks.dirty += 1;
    }
    c.reply().int(n as i64);
    Ok(())
}

// ---------------------------------------------------------------------------
// ZCOUNT, ZLEXCOUNT, ZREMRANGEBY*

pub fn zcount(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let range = Range::Score(score_range(&argv[2], &argv[3])?);
    count_generic(srv, c, argv, &range)
}

pub fn zlexcount(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let range = Range::Lex(lex_range(&argv[2], &argv[3])?);
    count_generic(srv, c, argv, &range)
}

fn count_generic(srv: &mut Server, c: &mut Client, argv: &Argv, range: &Range) -> CmdResult {
    let access = Access::Read;
    let n = lookup_zset(srv, c.db, &argv[1], access)?.map_or(0, |z| z.count_in(range));
    c.reply().int(n as i64);
    Ok(())
}

pub fn zremrangebyrank(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let start = parse_int(&argv[2])?;
    let end = parse_int(&argv[3])?;
    let sel = Selection::Ranks { start, end };
    remrange_generic(srv, c, argv, sel, "zremrangebyrank")
}

pub fn zremrangebyscore(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let range = Range::Score(score_range(&argv[2], &argv[3])?);
    remrange_generic(srv, c, argv, Selection::Range(range), "zremrangebyscore")
}

pub fn zremrangebylex(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let range = Range::Lex(lex_range(&argv[2], &argv[3])?);
    remrange_generic(srv, c, argv, Selection::Range(range), "zremrangebylex")
}

fn remrange_generic(
    srv: &mut Server,
    c: &mut Client,
    argv: &Argv,
    sel: Selection,
    event: &'static str,
) -> CmdResult {
    let key = &argv[1];
    let db = c.db;
    let Some(zset) = lookup_zset(srv, db, key, Access::Write)? else {
        c.reply().int(0);
        return Ok(());
    };
    let deleted = match sel {
        Selection::Ranks { start, end } => {
            let len = zset.len() as i64;
            let mut start = if start < 0 { len + start } else { start };
            let end = if end < 0 { len + end } else { end };
            if start < 0 {
                start = 0;
            }
            if start > end || start >= len {
                0
            } else {
                zset.remove_rank_range(start as usize, end.min(len - 1) as usize)
            }
        }
        Selection::Range(range) => zset.remove_range(&range),
    };
    after_removal(srv, db, key, deleted, event);
    srv.ks.dirty += deleted as u64;
    c.reply().int(deleted as i64);
    Ok(())
}

// ---------------------------------------------------------------------------
// ZPOPMIN, ZPOPMAX, ZMPOP

pub fn zpopmin(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    zpop_minmax(srv, c, argv, false)
}

pub fn zpopmax(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    zpop_minmax(srv, c, argv, true)
}

fn pop_event(max: bool) -> &'static str {
    if max {
        "zpopmax"
    } else {
        "zpopmin"
    }
}

fn zpop_minmax(srv: &mut Server, c: &mut Client, argv: &Argv, max: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = if argv.len() == 3 {
        Some(parse_non_negative(&argv[2], ERR_NOT_POSITIVE)?)
    } else {
        None
    };
    let key = &argv[1];
    let db = c.db;
    let popped = match lookup_zset(srv, db, key, Access::Write)? {
        None => None,
        Some(_) if count == Some(0) => None,
        Some(z) => Some(z.pop(max, count.unwrap_or(1) as usize)),
    };
    let Some(popped) = popped else {
        c.reply().array(0);
        return Ok(());
    };
    after_removal(srv, db, key, popped.len(), pop_event(max));
    srv.ks.dirty += popped.len() as u64;
    let mut w = c.reply();
    // RESP3 nests pairs only when a count was given; RESP2 is always flat.
    if count.is_some() && w.proto == Proto::Resp3 {
        reply_scored(&mut w, &popped, true);
    } else {
        w.array(popped.len() * 2);
        for (m, s) in &popped {
            w.bulk(m);
            w.double(*s);
        }
    }
    Ok(())
}

/// ZMPOP/BZMPOP arguments after the optional timeout.
struct MPopArgs {
    /// argv indexes of the keys.
    keys: std::ops::Range<usize>,
    max: bool,
    count: usize,
}

/// Parse `numkeys key... MIN|MAX [COUNT n]` starting at `numkeys_idx`,
/// with Redis's checks in Redis's order (zmpopGenericCommand).
fn parse_mpop(argv: &Argv, numkeys_idx: usize) -> Result<MPopArgs, CmdError> {
    let numkeys = parse_positive(&argv[numkeys_idx], ERR_NUMKEYS)? as u64;
    let where_idx = numkeys
        .checked_add(numkeys_idx as u64 + 1)
        .and_then(|i| usize::try_from(i).ok())
        .filter(|&i| i < argv.len())
        .ok_or(CmdError::Syntax)?;
    let max = if argv.is(where_idx, "min") {
        false
    } else if argv.is(where_idx, "max") {
        true
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count: Option<i64> = None;
    let mut j = where_idx + 1;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if count.is_none() && argv.is(j, "count") && more > 0 {
            j += 1;
            count = Some(parse_positive(&argv[j], ERR_COUNT)?);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(MPopArgs {
        keys: numkeys_idx + 1..where_idx,
        max,
        count: count.unwrap_or(1) as usize,
    })
}

/// How a pop from one of several keys replies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyedPop {
    /// BZPOPMIN/BZPOPMAX: `[key, member, score]`, propagated as
    /// `ZPOPMIN key`.
    Flat,
    /// ZMPOP/BZMPOP: `[key, [[member, score], ...]]` in both protocols,
    /// propagated as `ZPOPMIN key n`.
    Nested,
}

/// Pop up to `count` members from the zset at `key` (which must exist)
/// and reply with the key, as genericZpopCommand does with `emitkey`.
/// The effect is propagated as a ZPOPMIN/ZPOPMAX of what was popped, as
/// Redis replicates it: replays need not know which key was first, and
/// never block.
fn pop_keyed(
    srv: &mut Server,
    c: &mut Client,
    db: usize,
    key: &[u8],
    max: bool,
    count: usize,
    shape: KeyedPop,
) -> CmdResult {
    let Some(zset) = lookup_zset(srv, db, key, Access::Write)? else {
        return Ok(());
    };
    let popped = zset.pop(max, count);
    after_removal(srv, db, key, popped.len(), pop_event(max));
    srv.ks.dirty += popped.len() as u64;
    let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    let mut w = c.reply();
    match shape {
        KeyedPop::Flat => {
            srv.propagate_replace(&[name, key]);
            w.array(popped.len() * 2 + 1);
            w.bulk(key);
            for (m, s) in &popped {
                w.bulk(m);
                w.double(*s);
            }
        }
        KeyedPop::Nested => {
            let mut n = [0u8; 20];
            let n = fmt_u64(popped.len() as u64, &mut n);
            srv.propagate_replace(&[name, key, n]);
            w.array(2);
            w.bulk(key);
            w.array(popped.len());
            for (m, s) in &popped {
                w.array(2);
                w.bulk(m);
                w.double(*s);
            }
        }
    }
    Ok(())
}

/// Pop from the first existing zset among `keys`; a key of another type
/// met before that is a WRONGTYPE error. False if every key was missing
/// (nothing replied).
fn pop_first_existing<'k>(
    srv: &mut Server,
    c: &mut Client,
    keys: impl Iterator<Item = &'k [u8]>,
    max: bool,
    count: usize,
    shape: KeyedPop,
) -> Result<bool, CmdError> {
    let db = c.db;
    for key in keys {
        if lookup_zset(srv, db, key, Access::Write)?.is_none() {
            continue;
        }
        pop_keyed(srv, c, db, key, max, count, shape)?;
        return Ok(true);
    }
    Ok(false)
}

pub fn zmpop(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let a = parse_mpop(argv, 1)?;
    let keys = a.keys.clone().map(|i| argv.get(i));
    if !pop_first_existing(srv, c, keys, a.max, a.count, KeyedPop::Nested)? {
        c.reply().null_array();
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// BZPOPMIN, BZPOPMAX, BZMPOP (the waiting part is in server/blocking.rs)

/// Pop now if one of `keys` holds a zset, else block on all of them (or,
/// where blocking is not allowed, answer as a timeout), as Redis's
/// blockingGenericZpopCommand.
fn blocking_zpop<'k>(
    srv: &mut Server,
    c: &mut Client,
    keys: impl Iterator<Item = &'k [u8]> + Clone,
    timeout_arg: &[u8],
    max: bool,
    count: usize,
    shape: KeyedPop,
) -> CmdResult {
    let timeout = parse_timeout(timeout_arg)?;
    if pop_first_existing(srv, c, keys.clone(), max, count, shape)? {
        return Ok(());
    }
    if !may_block(c) {
        c.reply().null_array();
        return Ok(());
    }
    let op = match shape {
        KeyedPop::Flat => BlockOp::ZSetPop { max },
        KeyedPop::Nested => BlockOp::ZSetMPop { max, count },
    };
    srv.block_client(c, keys, timeout, op);
    Ok(())
}

pub fn bzpopmin(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let last = argv.len() - 1;
    let keys = (1..last).map(|i| argv.get(i));
    blocking_zpop(srv, c, keys, &argv[last], false, 1, KeyedPop::Flat)
}

pub fn bzpopmax(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let last = argv.len() - 1;
    let keys = (1..last).map(|i| argv.get(i));
    blocking_zpop(srv, c, keys, &argv[last], true, 1, KeyedPop::Flat)
}

pub fn bzmpop(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let a = parse_mpop(argv, 2)?;
    let keys = a.keys.clone().map(|i| argv.get(i));
    blocking_zpop(srv, c, keys, &argv[1], a.max, a.count, KeyedPop::Nested)
}

/// Serve a client blocked on `key` (in `db`), which now holds a zset: pop
/// as its command would have and write the reply it was waiting for.
/// Called by server/blocking.rs.
pub fn serve_blocked(
    srv: &mut Server,
    c: &mut Client,
    db: usize,
    key: &[u8],
    op: &BlockOp,
) -> CmdResult {
    match *op {
        BlockOp::ZSetPop { max } => pop_keyed(srv, c, db, key, max, 1, KeyedPop::Flat),
        BlockOp::ZSetMPop { max, count } => {
            pop_keyed(srv, c, db, key, max, count, KeyedPop::Nested)
        }
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------
// ZRANDMEMBER

pub fn zrandmember(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let key = &argv[1];
    let db = c.db;
    let access = Access::Read;
    if argv.len() == 2 {
        // The generator lives in the keyspace next to the zset: work on a
        // copy while the zset is borrowed.
        let mut rng = srv.ks.rng;
        let Some(zset) = lookup_zset(srv, db, key, access)? else {
            c.reply().null();
            return Ok(());
        };
        let mut w = c.reply();
        match zset.random_entry(&mut rng) {
            Some((m, _)) => w.bulk(m),
            None => w.null(),
        }
        srv.ks.rng = rng;
        return Ok(());
    }
    let count = parse_int(&argv[2])?;
    if count == i64::MIN {
        return Err(CmdError::msg(ERR_RANDMEMBER_RANGE));
    }
    if argv.len() > 4 || (argv.len() == 4 && !argv.is(3, "withscores")) {
        return Err(CmdError::Syntax);
    }
    let withscores = argv.len() == 4;
    // The reply has 2 * count entries: Redis refuses counts where that
    // would overflow a long.
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::msg(ERR_OUT_OF_RANGE));
    }
    let reply_bytes_max = srv.config.proto_max_bulk_len;
    let mut rng = srv.ks.rng;
    let Some(zset) = lookup_zset(srv, db, key, access)? else {
        c.reply().array(0);
        return Ok(());
    };
    let zset: &ZSetValue = zset;
    let picks = count.unsigned_abs();
    if count < 0 && picks > zset.len() as u64 {
        // Redis builds whatever reply is asked for, and a huge negative
        // count runs it out of memory. Like SRANDMEMBER and HRANDFIELD
        // here, refuse a reply bigger than proto-max-bulk-len, estimated
        // from the zset's mean reply bytes per element (the walk costs less
        // than the reply it guards, which has more elements than the zset).
        let resp3 = c.proto == Proto::Resp3;
        let mut num = [0u8; DOUBLE_BUF];
        let total: u128 = zset
            .iter()
            .map(|(m, s)| {
                let mut n = bulk_reply_bytes(m.len());
                if withscores {
                    let d = fmt_double(s, &mut num).len();
                    n += if resp3 {
                        d + 3 + 4
                    } else {
                        bulk_reply_bytes(d)
                    };
                }
                n as u128
            })
            .sum();
        if total * u128::from(picks) / zset.len().max(1) as u128 > u128::from(reply_bytes_max) {
            return Err(CmdError::msg(ERR_RANDMEMBER_TOO_BIG));
        }
    }
    random_members(zset, count, withscores, &mut rng, &mut c.reply());
    srv.ks.rng = rng;
    Ok(())
}

/// Bytes of the bulk reply of an `n`-byte string: `$<n>\r\n<bytes>\r\n`.
fn bulk_reply_bytes(n: usize) -> usize {
    let mut tmp = [0u8; 20];
    n + 5 + fmt_u64(n as u64, &mut tmp).len()
}

/// ZRANDMEMBER with a count, written straight to the reply. Negative
/// count: that many independent picks (repeats allowed), streamed one by
/// one so nothing is sized by the count. Positive: distinct members, at
/// most the zset's size, chosen like Redis's three strategies.
fn random_members(
    zset: &ZSetValue,
    count: i64,
    withscores: bool,
    rng: &mut u64,
    w: &mut ReplyWriter,
) {
    let pairs = withscores && w.proto == Proto::Resp3;
    let emit = |w: &mut ReplyWriter, m: &[u8], s: f64| {
        if pairs {
            w.array(2);
        }
        w.bulk(m);
        if withscores {
            w.double(s);
        }
    };
    let header = |w: &mut ReplyWriter, n: u64| {
        let n = if withscores && !pairs { n * 2 } else { n };
        // The count was bounded by the caller so n fits in i64.
        w.array(n as usize);
    };
    if count == 0 {
        w.array(0);
        return;
    }
    let size = zset.len();
    if count < 0 || count == 1 {
        let n = count.unsigned_abs();
        header(w, n);
        for _ in 0..n {
            if let Some((m, s)) = zset.random_entry(rng) {
                emit(w, m, s);
            }
        }
        return;
    }
    let count = count as u64;
    if count >= size as u64 {
        // The whole set; Redis walks it from the highest element down.
        header(w, size as u64);
        for (m, s) in zset.iter_at(size.saturating_sub(1), true) {
            emit(w, m, s);
        }
        return;
    }
    let count = count as usize;
    header(w, count as u64);
    if count * 3 > size {
        // Close to the whole set: copy it and drop random members.
        let mut all: Vec<(&[u8], f64)> = zset.iter().collect();
        while all.len() > count {
            let i = random_below(rng, all.len());
            all.swap_remove(i);
        }
        for (m, s) in all {
            emit(w, m, s);
        }
    } else if zset.is_listpack() {
        // Selection sampling: each element is taken with probability
        // (still needed) / (still available), in order.
        let mut needed = count;
        for (i, (m, s)) in zset.iter().enumerate() {
            if needed == 0 {
                break;
            }
            if random_below(rng, size - i) < needed {
                emit(w, m, s);
                needed -= 1;
            }
        }
    } else {
        // Small sample of a big set: draw until `count` distinct members.
        let mut seen: std::collections::HashSet<&[u8]> =
            std::collections::HashSet::with_capacity(count);
        while seen.len() < count {
            let Some((m, s)) = zset.random_entry(rng) else {
                break;
            };
            if seen.insert(m) {
                emit(w, m, s);
            }
        }
    }
}

fn random_below(rng: &mut u64, n: usize) -> usize {
    ((u128::from(crate::dict::rng_next(rng)) * n as u128) >> 64) as usize
}

// ---------------------------------------------------------------------------
// ZSCAN

pub fn zscan(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let mut cursor = parse_cursor(&argv[2])?;
    let access = Access::Read;
    let Some(zset) = lookup_zset(srv, c.db, &argv[1], access)? else {
        let mut w = c.reply();
        w.array(2);
        w.bulk(b"0");
        w.array(0);
        return Ok(());
    };
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut j = 3;
    while j < argv.len() {
        let has_value = j + 1 < argv.len();
        if argv.is(j, "count") && has_value {
            count = parse_int(&argv[j + 1])?;
            if count < 1 {
                return Err(CmdError::Syntax);
            }
        } else if argv.is(j, "match") && has_value {
            let p = argv.get(j + 1);
            pattern = if p == b"*" { None } else { Some(p) };
        } else {
            return Err(CmdError::Syntax);
        }
        j += 2;
    }
    // Copies: the dict's scan lends each member only for the callback.
    let mut found: Vec<(CompactBytes, f64)> = Vec::new();
    if zset.is_listpack() {
        cursor = zset.scan(cursor, |m, s| found.push((CompactBytes::new(m), s)));
    } else {
        // COUNT is a hint: stop after about `count` elements, or after
        // 10x that many buckets (at most 100k) so a sparse table or a huge
        // COUNT cannot stall the loop.
        const BUCKET_VISITS_MAX: u64 = 100_000;
        let mut visits_left = (count as u64).saturating_mul(10).min(BUCKET_VISITS_MAX);
        loop {
            cursor = zset.scan(cursor, |m, s| found.push((CompactBytes::new(m), s)));
            visits_left = visits_left.saturating_sub(1);
            if cursor == 0 || visits_left == 0 || found.len() >= count as usize {
                break;
            }
        }
    }
    if let Some(p) = pattern {
        found.retain(|(m, _)| glob_match(p, m, false));
    }
    let mut w = c.reply();
    w.array(2);
    let mut tmp = [0u8; 20];
    w.bulk(fmt_u64(cursor, &mut tmp));
    w.array(found.len() * 2);
    let listpack = zset.is_listpack();
    let mut num = [0u8; DOUBLE_BUF];
    for (m, s) in &found {
        w.bulk(m);
        match listpack_integer_score(*s).filter(|_| listpack) {
            Some(i) => w.bulk_i64(i),
            None => w.bulk(fmt_double(*s, &mut num)),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF (+STORE), ZINTERCARD

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Combine an accumulated score with a new one. inf + -inf is NaN;
    /// Redis keeps the convention that such a sum is 0.
    fn apply(self, acc: &mut f64, v: f64) {
        match self {
            Aggregate::Sum => {
                *acc += v;
                if acc.is_nan() {
                    *acc = 0.0;
                }
            }
            Aggregate::Min => {
                if v < *acc {
                    *acc = v;
                }
            }
            Aggregate::Max => {
                if v > *acc {
                    *acc = v;
                }
            }
        }
    }
}

/// One input of the set algebra: a zset, a plain set (every member has
/// score 1), or a missing key (empty).
#[derive(Clone, Copy)]
enum Source<'a> {
    Missing,
    ZSet(&'a ZSetValue),
    Set(&'a SetValue),
}

impl<'a> Source<'a> {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::ZSet(z) => z.len(),
            Source::Set(s) => s.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::ZSet(z) => z.score(member),
            Source::Set(s) => s.contains(member).then_some(1.0),
        }
    }

    /// Every member with its score. Members are borrowed from the value,
    /// except an intset's integers, which have no bytes to lend and are
    /// formatted.
    fn for_each(&self, mut f: impl FnMut(Cow<'a, [u8]>, f64)) {
        match *self {
            Source::Missing => {}
            Source::ZSet(z) => z.iter().for_each(|(m, s)| f(Cow::Borrowed(m), s)),
            Source::Set(set) => set.iter().for_each(|m| match m {
                Member::Bytes(b) => f(Cow::Borrowed(b), 1.0),
                Member::Int(_) => f(Cow::Owned(m.with_bytes(|b| b.to_vec())), 1.0),
            }),
        }
    }
}

pub fn zunion(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    setop_generic(srv, c, argv, None, SetOp::Union, false)
}

pub fn zinter(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    setop_generic(srv, c, argv, None, SetOp::Inter, false)
}

pub fn zdiff(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    setop_generic(srv, c, argv, None, SetOp::Diff, false)
}

pub fn zintercard(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    setop_generic(srv, c, argv, None, SetOp::Inter, true)
}

pub fn zunionstore(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    setop_generic(srv, c, argv, Some(argv.get(1)), SetOp::Union, false)
}

pub fn zinterstore(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    setop_generic(srv, c, argv, Some(argv.get(1)), SetOp::Inter, false)
}

pub fn zdiffstore(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    setop_generic(srv, c, argv, Some(argv.get(1)), SetOp::Diff, false)
}

/// Redis's zunionInterDiffGenericCommand: `[dst] numkeys key... [WEIGHTS
/// w...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`, or `[LIMIT n]` for
/// ZINTERCARD. Keys are type-checked before the options are parsed.
fn setop_generic(
    srv: &mut Server,
    c: &mut Client,
    argv: &Argv,
    dst: Option<&[u8]>,
    op: SetOp,
    card_only: bool,
) -> CmdResult {
    let numkeys_idx = if dst.is_some() { 2 } else { 1 };
    let setnum = parse_int(&argv[numkeys_idx])?;
    if setnum < 1 {
        let name = String::from_utf8_lossy(&argv[0]).to_ascii_lowercase();
        return Err(CmdError::msg(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    let keys_from = numkeys_idx + 1;
    if setnum as u64 > (argv.len() - keys_from) as u64 {
        return Err(CmdError::Syntax);
    }
    let setnum = setnum as usize;
    let db = c.db;
    let access = Access::Read;
    // First pass: lookups with their side effects (lazy expiry, access
    // clock, hit/miss stats) and the type check, in key order.
    for k in keys_from..keys_from + setnum {
        if let Some(obj) = srv.ks.lookup(db, argv.get(k), access) {
            if !matches!(obj.value, Value::ZSet(_) | Value::Set(_)) {
                return Err(CmdError::WrongType);
            }
        }
    }
    // Options.
    let mut weights: Vec<f64> = Vec::new();
    let mut aggregate = Aggregate::Sum;
    let mut withscores = false;
    let mut limit: u64 = 0;
    let mut j = keys_from + setnum;
    while j < argv.len() {
        let remaining = argv.len() - j;
        if op != SetOp::Diff && !card_only && remaining > setnum && argv.is(j, "weights") {
            j += 1;
            weights.clear();
            for _ in 0..setnum {
                weights.push(parse_score(&argv[j]).ok_or(CmdError::msg(ERR_WEIGHT))?);
                j += 1;
            }
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && argv.is(j, "aggregate") {
            aggregate = if argv.is(j + 1, "sum") {
                Aggregate::Sum
            } else if argv.is(j + 1, "min") {
                Aggregate::Min
            } else if argv.is(j + 1, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if dst.is_none() && !card_only && argv.is(j, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && argv.is(j, "limit") {
            limit = parse_non_negative(&argv[j + 1], ERR_LIMIT_NEGATIVE)? as u64;
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    // Second pass: borrow the values (no side effects; the first pass
    // already expired what had to be).
    let ks = &srv.ks;
    let mut sources: Vec<(Source, f64)> = (0..setnum)
        .map(|i| {
            let key = argv.get(keys_from + i);
            let weight = weights.get(i).copied().unwrap_or(1.0);
            let src = match ks.dbs[db].dict.get(key) {
                Some(obj) if !ks.is_expired(db, key) => match &obj.value {
                    Value::ZSet(z) => Source::ZSet(z),
                    Value::Set(s) => Source::Set(s),
                    _ => Source::Missing,
                },
                _ => Source::Missing,
            };
            (src, weight)
        })
        .collect();
    if op != SetOp::Diff {
        // Smallest first (a stable sort, like glibc's qsort), which also
        // fixes the order a SUM is accumulated in.
        sources.sort_by_key(|(s, _)| s.len());
    }
    let mut result: Vec<(Cow<[u8]>, f64)> = Vec::new();
    let mut cardinality: u64 = 0;
    match op {
        SetOp::Inter => {
            let (first, w0) = sources[0];
            first.for_each(|m, s| {
                if card_only && limit > 0 && cardinality >= limit {
                    return;
                }
                let mut score = w0 * s;
                if score.is_nan() {
                    score = 0.0;
                }
                for &(other, w) in &sources[1..] {
                    match other.score(&m) {
                        Some(v) => aggregate.apply(&mut score, v * w),
                        None => return,
                    }
                }
                if card_only {
                    cardinality += 1;
                } else {
                    result.push((m, score));
                }
            });
        }
        SetOp::Union => {
            let total: usize = sources.iter().map(|(s, _)| s.len()).max().unwrap_or(0);
            let mut acc: HashMap<Cow<[u8]>, f64> = HashMap::with_capacity(total);
            for &(src, w) in &sources {
                src.for_each(|m, s| {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    acc.entry(m)
                        .and_modify(|a| aggregate.apply(a, score))
                        .or_insert(score);
                });
            }
            result.extend(acc);
        }
        SetOp::Diff => {
            let (first, _) = sources[0];
            first.for_each(|m, s| {
                if sources[1..].iter().all(|(o, _)| o.score(&m).is_none()) {
                    result.push((m, s));
                }
            });
        }
    }
    if card_only {
        c.reply().int(cardinality as i64);
        return Ok(());
    }
    result.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    match dst {
        None => {
            reply_scored(&mut c.reply(), &result, withscores);
            Ok(())
        }
        Some(dst) => {
            // Built as a skiplist, then made a listpack if it is small
            // enough (Redis's zsetConvertToListpackIfNeeded).
            let owned = result
                .into_iter()
                .map(|(m, s)| (CompactBytes::new(&m), s))
                .collect();
            let zset = ZSetValue::from_sorted(owned, limits(srv));
            let event = match op {
                SetOp::Union => "zunionstore",
                SetOp::Inter => "zinterstore",
                SetOp::Diff => "zdiffstore",
            };
            store_value(srv, c, dst, zset, event)
        }
    }
}
