//! Hash commands (Redis's t_hash.c): HSET HSETNX HMSET HGET HMGET HDEL
//! HLEN HSTRLEN HEXISTS HKEYS HVALS HGETALL HINCRBY HINCRBYFLOAT
//! HRANDFIELD HSCAN.
//!
//! Owns: argument parsing, the order of checks (which decides which error a
//! bad request gets, so it follows Redis exactly), reply shapes in RESP2
//! and RESP3, and keyspace bookkeeping (dirty counter, keyspace
//! notifications, creating a hash on the first write, deleting it when its
//! last field goes). WATCH needs nothing here: write lookups and key
//! creation/deletion invalidate watchers inside the keyspace.
//!
//! Must never: leave an empty hash in the keyspace (a key is created only
//! together with its first field, and HDEL deletes the key with its last
//! field); know how a hash is encoded (that is types/hash.rs, which also
//! applies the listpack thresholds passed in from the configuration); let a
//! client's count size an allocation or an unbounded reply.

use super::keys::parse_cursor;
use super::keys::{parse_scan_options, reply_empty_scan, ScanOptions};
use super::{parse_int, Argv};
use crate::connection::Client;
use crate::db::Access;
use crate::errors::{CmdError, CmdResult};
use crate::glob::glob_match;
use crate::notify::{GENERIC, HASH};
use crate::resp::parser::parse_i64;
use crate::resp::reply::{fmt_i64, fmt_u64, Proto};
use crate::server::Server;
use crate::types::hash::{HashLimits, HashValue};
use crate::types::string::LongDouble;
use crate::types::{CompactBytes, Value};

/// The listpack thresholds in force for this command.
fn limits(srv: &Server) -> HashLimits {
    let clamp = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    HashLimits {
        max_listpack_entries: clamp(srv.config.hash_max_listpack_entries),
        max_listpack_value: clamp(srv.config.hash_max_listpack_value),
    }
}

/// The hash at `key`, or None if missing; WRONGTYPE for other types.
fn lookup_hash<'a>(
    srv: &'a mut Server,
    c: &Client,
    key: &[u8],
    access: Access,
) -> Result<Option<&'a mut HashValue>, CmdError> {
    srv.ks.lookup_typed(c.db, key, access)
}

/// Create the hash at `key` (known to be missing) with its first field:
/// a hash key never exists without fields.
fn add_with_field(
    srv: &mut Server,
    db: usize,
    key: &[u8],
    field: &[u8],
    value: &[u8],
    limits: HashLimits,
) {
    let mut h = HashValue::new();
    h.set(field, value, limits);
    srv.ks.add(db, key, Value::Hash(h));
}

/// HSET and HMSET: same work, different reply. Redis checks the pairing
/// of the arguments before looking at the key.
fn hset_generic(
    srv: &mut Server,
    c: &mut Client,
    argv: &Argv,
    name: &'static str,
) -> Result<i64, CmdError> {
    if !argv.len().is_multiple_of(2) {
        // Arity -4 guarantees at least one pair; an odd argc (name and key
        // plus an odd number of arguments) leaves a field without value.
        return Err(CmdError::WrongArity(name.into()));
    }
    let limits = limits(srv);
    let key = &argv[1];
    let mut created = 0;
    let mut store = |h: &mut HashValue| {
        for j in (2..argv.len()).step_by(2) {
            if h.set(&argv[j], &argv[j + 1], limits) {
                created += 1;
            }
        }
    };
    match lookup_hash(srv, c, key, Access::Write)? {
        Some(h) => store(h),
        None => {
            let mut h = HashValue::new();
            store(&mut h);
            srv.ks.add(c.db, key, Value::Hash(h));
        }
    }
    srv.ks.notify(HASH, "hset", c.db, key);
    // Redis counts every pair written, updates included.
    srv.ks.dirty += ((argv.len() - 2) / 2) as u64;
    Ok(created)
}

pub fn hset(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let created = hset_generic(srv, c, argv, "hset")?;
    c.reply().int(created);
    Ok(())
}

pub fn hmset(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    hset_generic(srv, c, argv, "hmset")?;
    c.reply().ok();
    Ok(())
}

pub fn hsetnx(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let limits = limits(srv);
    let (key, field, value) = (&argv[1], &argv[2], &argv[3]);
    let found = lookup_hash(srv, c, key, Access::Write)?;
    if found.as_deref().is_some_and(|h| h.contains(field)) {
        c.reply().int(0);
        return Ok(());
    }
    match found {
        Some(h) => {
            h.set(field, value, limits);
        }
        None => add_with_field(srv, c.db, key, field, value, limits),
    }
    srv.ks.notify(HASH, "hset", c.db, key);
    srv.ks.dirty += 1;
    c.reply().int(1);
    Ok(())
}

pub fn hget(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let found = lookup_hash(srv, c, &argv[1], Access::Read)?;
    let mut w = c.reply();
    match found.and_then(|h| h.get(&argv[2])) {
        Some(v) => w.bulk(v),
        None => w.null(),
    }
    Ok(())
}

/// A missing key is an empty hash: every field answers null.
pub fn hmget(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let found = lookup_hash(srv, c, &argv[1], Access::Read)?;
    let h = found.as_deref();
    let mut w = c.reply();
    w.array(argv.len() - 2);
    for field in argv.iter().skip(2) {
        match h.and_then(|h| h.get(field)) {
            Some(v) => w.bulk(v),
            None => w.null(),
        }
    }
    Ok(())
}

pub fn hdel(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let key = &argv[1];
    let Some(h) = lookup_hash(srv, c, key, Access::Write)? else {
        c.reply().int(0);
        return Ok(());
    };
    let mut deleted = 0;
    let mut now_empty = false;
    for field in argv.iter().skip(2) {
        if h.remove(field) {
            deleted += 1;
            if h.is_empty() {
                now_empty = true;
                break;
            }
        }
    }
    if deleted > 0 {
        srv.ks.notify(HASH, "hdel", c.db, key);
    }
    if now_empty {
        srv.ks.delete(c.db, key);
        srv.ks.notify(GENERIC, "del", c.db, key);
    }
    srv.ks.dirty += deleted as u64;
    c.reply().int(deleted);
    Ok(())
}

pub fn hlen(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let len = lookup_hash(srv, c, &argv[1], Access::Read)?.map_or(0, |h| h.len());
    c.reply().int(len as i64);
    Ok(())
}

pub fn hstrlen(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let len = lookup_hash(srv, c, &argv[1], Access::Read)?
        .and_then(|h| h.get(&argv[2]))
        .map_or(0, <[u8]>::len);
    c.reply().int(len as i64);
    Ok(())
}

pub fn hexists(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let found = lookup_hash(srv, c, &argv[1], Access::Read)?.is_some_and(|h| h.contains(&argv[2]));
    c.reply().int(found as i64);
    Ok(())
}

/// What HKEYS / HVALS / HGETALL report.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parts {
    Fields,
    Values,
    Both,
}

fn hgetall_generic(srv: &mut Server, c: &mut Client, argv: &Argv, parts: Parts) -> CmdResult {
    let found = lookup_hash(srv, c, &argv[1], Access::Read)?;
    let mut w = c.reply();
    let len = found.as_deref().map_or(0, HashValue::len);
    // Fields with values are a map in RESP3 (a flat array in RESP2).
    if parts == Parts::Both {
        w.map(len);
    } else {
        w.array(len);
    }
    for (f, v) in found.iter().flat_map(|h| h.iter()) {
        if parts != Parts::Values {
            w.bulk(f);
        }
        if parts != Parts::Fields {
            w.bulk(v);
        }
    }
    Ok(())
}

pub fn hkeys(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    hgetall_generic(srv, c, argv, Parts::Fields)
}

pub fn hvals(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    hgetall_generic(srv, c, argv, Parts::Values)
}

pub fn hgetall(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    hgetall_generic(srv, c, argv, Parts::Both)
}

/// HINCRBY: the increment is parsed before the key is looked at; a value
/// that is not a canonical integer (string2ll: "007" and " 1" are not) is
/// refused, and so is a sum outside i64.
pub fn hincrby(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let by = parse_int(&argv[3])?;
    let limits = limits(srv);
    let (key, field) = (&argv[1], &argv[2]);
    let found = lookup_hash(srv, c, key, Access::Write)?;
    let cur = match found.as_deref().and_then(|h| h.get(field)) {
        None => 0,
        Some(v) => parse_i64(v).ok_or(CmdError::msg("ERR hash value is not an integer"))?,
    };
    let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
    let mut tmp = [0u8; 20];
    match found {
        Some(h) => {
            h.set(field, fmt_i64(new, &mut tmp), limits);
        }
        None => add_with_field(srv, c.db, key, field, fmt_i64(new, &mut tmp), limits),
    }
    srv.ks.notify(HASH, "hincrby", c.db, key);
    srv.ks.dirty += 1;
    c.reply().int(new);
    Ok(())
}

/// HINCRBYFLOAT computes in x87 long double and formats like Redis's
/// ld2string(LD_STR_HUMAN), through the same software long double as
/// INCRBYFLOAT (see `types::string::LongDouble`). Redis 7.0 refuses an
/// infinite increment before it looks at the key, so no empty hash is ever
/// created by a failed call.
pub fn hincrbyfloat(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let by = LongDouble::parse(&argv[3]).ok_or(CmdError::NotFloat)?;
    if by == LongDouble::Inf {
        return Err(CmdError::msg("ERR value is NaN or Infinity"));
    }
    let limits = limits(srv);
    let (key, field) = (&argv[1], &argv[2]);
    let found = lookup_hash(srv, c, key, Access::Write)?;
    let cur = match found.as_deref().and_then(|h| h.get(field)) {
        None => LongDouble::from_i64(0),
        Some(v) => LongDouble::parse(v).ok_or(CmdError::msg("ERR hash value is not a float"))?,
    };
    if cur == LongDouble::Inf {
        // A stored "inf" parses, but the sum would be infinite.
        return Err(CmdError::IncrNanOrInf);
    }
    let new = cur + by;
    if new == LongDouble::Inf {
        return Err(CmdError::IncrNanOrInf);
    }
    let text = new.to_human();
    match found {
        Some(h) => {
            h.set(field, text.as_bytes(), limits);
        }
        None => add_with_field(srv, c.db, key, field, text.as_bytes(), limits),
    }
    srv.ks.notify(HASH, "hincrbyfloat", c.db, key);
    srv.ks.dirty += 1;
    srv.propagate_replace(&[b"HSET", key, field, text.as_bytes()]);
    c.reply().bulk(text.as_bytes());
    Ok(())
}

/// HRANDFIELD key [count [WITHVALUES]].
///
/// Checks in Redis's order: the count must be an integer other than
/// i64::MIN, then the syntax, then (with WITHVALUES, whose reply doubles)
/// |count| at most i64::MAX/2, and only then the key.
pub fn hrandfield(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if argv.len() == 2 {
        return hrandfield_single(srv, c, &argv[1]);
    }
    let l = parse_int(&argv[2])?;
    if l == i64::MIN {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    if argv.len() > 4 || (argv.len() == 4 && !argv.is(3, "withvalues")) {
        return Err(CmdError::Syntax);
    }
    let with_values = argv.len() == 4;
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    let reply_bytes_max = srv.config.proto_max_bulk_len;
    let mut rng = srv.ks.rng;
    let result = hrandfield_count(srv, c, argv, l, with_values, reply_bytes_max, &mut rng);
    srv.ks.rng = rng;
    result
}

fn hrandfield_single(srv: &mut Server, c: &mut Client, key: &[u8]) -> CmdResult {
    let mut rng = srv.ks.rng;
    let found = lookup_hash(srv, c, key, Access::Read)?;
    let mut w = c.reply();
    match found.and_then(|h| h.random_pair(&mut rng)) {
        Some((f, _)) => w.bulk(f),
        None => w.null(),
    }
    srv.ks.rng = rng;
    Ok(())
}

fn hrandfield_count(
    srv: &mut Server,
    c: &mut Client,
    argv: &Argv,
    l: i64,
    with_values: bool,
    reply_bytes_max: u64,
    rng: &mut u64,
) -> CmdResult {
    let Some(h) = lookup_hash(srv, c, &argv[1], Access::Read)? else {
        c.reply().array(0);
        return Ok(());
    };
    let h: &HashValue = h;
    let size = h.len();
    // unsigned_abs: l is never i64::MIN here.
    let (count, unique) = (l.unsigned_abs(), l >= 0);
    if count == 0 {
        c.reply().array(0);
        return Ok(());
    }
    let resp3 = c.proto == Proto::Resp3;
    // Negative counts (and 1) draw with repeats: the reply grows with the
    // count, not with the hash.
    let repeats = !unique || count == 1;
    if repeats && count > size as u64 {
        // Redis builds whatever reply is asked for and can run out of
        // memory on a huge negative count (redis/redis#11671). We refuse a
        // reply bigger than proto-max-bulk-len, computed from the hash's
        // mean reply bytes per pair (exact in expectation; the walk is
        // cheaper than the reply it guards, which has more pairs).
        let pair_bytes: u128 = h
            .iter()
            .map(|(f, v)| {
                let mut n = bulk_reply_bytes(f.len());
                if with_values {
                    n += bulk_reply_bytes(v.len()) + if resp3 { 4 } else { 0 };
                }
                n as u128
            })
            .sum();
        if pair_bytes * u128::from(count) / size as u128 > u128::from(reply_bytes_max) {
            return Err(CmdError::msg(
                "ERR HRANDFIELD reply would exceed proto-max-bulk-len, use a smaller count",
            ));
        }
    }
    let reply_len = if repeats {
        count
    } else {
        count.min(size as u64)
    };
    let reply_len = usize::try_from(reply_len).unwrap_or(usize::MAX);
    let mut w = c.reply();
    // RESP2 flattens field/value pairs; RESP3 nests each pair in an array.
    w.array(if with_values && !resp3 {
        reply_len.saturating_mul(2)
    } else {
        reply_len
    });
    let mut emit = |f: &[u8], v: &[u8]| {
        if with_values && resp3 {
            w.array(2);
        }
        w.bulk(f);
        if with_values {
            w.bulk(v);
        }
    };
    if repeats {
        h.random_pairs_with_repeats(rng, count, &mut emit);
    } else if count >= size as u64 {
        // The whole hash, in its own order (insertion order for a
        // listpack, as Redis).
        for (f, v) in h.iter() {
            emit(f, v);
        }
    } else {
        h.random_distinct_pairs(rng, reply_len, &mut emit);
    }
    Ok(())
}

/// Bytes of a bulk string reply of `n` bytes: `$<n>\r\n<bytes>\r\n`.
fn bulk_reply_bytes(n: usize) -> usize {
    let mut tmp = [0u8; 20];
    n + 5 + fmt_u64(n as u64, &mut tmp).len()
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]. The cursor is checked
/// before the key, the options after it (so a missing key answers an empty
/// scan even with bad options, as in Redis).
pub fn hscan(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    /// Bucket visits per call at most, however large COUNT is.
    const BUCKET_VISITS_MAX: usize = 100_000;
    let cursor = parse_cursor(&argv[2])?;
    let Some(h) = lookup_hash(srv, c, &argv[1], Access::Read)? else {
        reply_empty_scan(c);
        return Ok(());
    };
    let h: &HashValue = h;
    let ScanOptions { count, pattern, .. } = parse_scan_options(argv, 3, false)?;
    // Redis visits at most COUNT*10 buckets per call.
    let visits_max = count.saturating_mul(10).min(BUCKET_VISITS_MAX);
    // Copied out: the dict reports entries only for the callback's
    // duration. Short strings are inline, so this rarely allocates.
    let mut found: Vec<(CompactBytes, CompactBytes)> = Vec::new();
    let next = h.scan(cursor, count, visits_max, |f, v| {
        if pattern.is_none_or(|p| glob_match(p, f, false)) {
            found.push((CompactBytes::new(f), CompactBytes::new(v)));
        }
    });
    let mut w = c.reply();
    w.array(2);
    let mut tmp = [0u8; 20];
    w.bulk(fmt_u64(next, &mut tmp));
    w.array(found.len() * 2);
    for (f, v) in found {
        w.bulk(&f);
        w.bulk(&v);
    }
    Ok(())
}
