//! Set commands (Redis's t_set.c): SADD SREM SMEMBERS SISMEMBER SMISMEMBER
//! SCARD SPOP SRANDMEMBER SMOVE SINTER SINTERCARD SINTERSTORE SUNION
//! SUNIONSTORE SDIFF SDIFFSTORE SSCAN.
//!
//! Must never: leave an empty set in the keyspace (SREM, SPOP and SMOVE
//! delete the key with its last member; the *STORE commands delete the
//! destination instead of storing an empty result), or size an allocation
//! by a count the client sent before it is bounded by a set's size (SPOP
//! and SRANDMEMBER counts up to 2^63 are valid input).
//!
//! Reply shapes follow Redis 7.0 exactly: SMEMBERS, SINTER, SUNION, SDIFF
//! and SPOP with a count answer a set (`~` in RESP3); SRANDMEMBER with a
//! count answers an array (it may repeat members); SMISMEMBER an array of
//! integers. The order of members is the set's own iteration order:
//! ascending for intset-encoded results, table order otherwise.
//!
//! Keyspace events are Redis's: `sadd`, `srem`, `spop`, `sinterstore`,
//! `sunionstore`, `sdiffstore` (class `s`) when something changed, and
//! `del` (class `g`) when a key loses its last member or an empty result
//! deletes a destination.
//!
//! Multi-key commands work in two phases: first every key is looked up
//! (lazy expiry, hit/miss stats, the type check, in argument order so the
//! first wrong type wins as in Redis), then the sets are read through
//! shared references, so several can be borrowed at once.

use super::keys::parse_cursor;
use super::keys::{parse_scan_options, reply_empty_scan, ScanOptions};
use super::{parse_int, Argv};
use crate::connection::Client;
use crate::db::{Access, Keyspace};
use crate::errors::{CmdError, CmdResult};
use crate::glob::glob_match;
use crate::notify::{GENERIC, SET};
use crate::resp::reply::{fmt_u64, ReplyWriter};
use crate::server::Server;
use crate::types::set::Member;
use crate::types::{CompactBytes, SetValue, Value};
use std::collections::HashSet;

/// SPOP's count error (Redis's shared.outofrangeerr via
/// getPositiveLongFromObjectOrReply): also sent for a count that is not a
/// number at all.
const ERR_COUNT_NOT_POSITIVE: &str = "ERR value is out of range, must be positive";
/// SRANDMEMBER refuses i64::MIN, whose negation would not fit.
const ERR_SRANDMEMBER_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";

/// SRANDMEMBER's deliberate difference from Redis 7.0 (see below).
const ERR_SRANDMEMBER_TOO_BIG: &str =
    "ERR SRANDMEMBER reply would exceed proto-max-bulk-len, use a smaller count";

/// SPOP: when the members left would be fewer than count/5, build the
/// remainder as a new set instead of popping one by one (Redis's
/// SPOP_MOVE_STRATEGY_MUL).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;
/// SRANDMEMBER: when count is over a third of the set, copy the set and
/// drop random members instead of sampling (SRANDMEMBER_SUB_STRATEGY_MUL).
const SRANDMEMBER_SUB_STRATEGY_MUL: usize = 3;

/// The set at `key`, or None if missing; WRONGTYPE for other types.
fn lookup_set<'a>(
    srv: &'a mut Server,
    c: &Client,
    key: &[u8],
    access: Access,
) -> Result<Option<&'a mut SetValue>, CmdError> {
    srv.ks.lookup_typed(c.db, key, access)
}

/// Phase one of a multi-key command: look every key up (expiring, counting
/// hits and misses) and check its type. Returns whether each key exists.
fn check_sets<'k>(
    srv: &mut Server,
    c: &Client,
    keys: impl Iterator<Item = &'k [u8]>,
) -> Result<Vec<bool>, CmdError> {
    keys.map(|k| lookup_set(srv, c, k, Access::Read).map(|s| s.is_some()))
        .collect()
}

/// Phase two: a shared reference to a set already found by `check_sets`.
fn peek_set<'a>(ks: &'a Keyspace, db: usize, key: &[u8]) -> Option<&'a SetValue> {
    if ks.is_expired(db, key) {
        return None;
    }
    match ks.dbs[db].dict.get(key).map(|o| &o.value) {
        Some(Value::Set(s)) => Some(s),
        _ => None,
    }
}

/// `set-max-intset-entries` as a member count.
fn intset_max(srv: &Server) -> usize {
    usize::try_from(srv.config.set_max_intset_entries).unwrap_or(usize::MAX)
}

fn reply_member(w: &mut ReplyWriter, m: Member) {
    match m {
        Member::Int(v) => w.bulk_i64(v),
        Member::Bytes(b) => w.bulk(b),
    }
}

/// A whole set as a set reply, in its iteration order.
fn reply_set(w: &mut ReplyWriter, set: &SetValue) {
    w.set(set.len());
    for m in set.iter() {
        reply_member(w, m);
    }
}

/// Reply with `set` in the order a fresh copy of it would iterate: Redis
/// answers "SPOP everything" through SUNION of the one key, which rebuilds
/// the set, so a hashtable whose members would all fit an intset comes out
/// sorted. The copy is only simulated: the integers are sorted in a Vec.
fn reply_as_fresh_set(w: &mut ReplyWriter, set: &SetValue, intset_max: usize) {
    if !set.is_intset() && set.len() <= intset_max {
        let ints: Option<Vec<i64>> = set.iter().map(Member::as_int).collect();
        if let Some(mut ints) = ints {
            ints.sort_unstable();
            w.set(ints.len());
            for v in ints {
                w.bulk_i64(v);
            }
            return;
        }
    }
    reply_set(w, set);
}

/// Store a computed set at `dst` (replacing any value and its TTL), or
/// delete `dst` if the set is empty; replies with the cardinality.
fn store_result(
    srv: &mut Server,
    c: &mut Client,
    dst: &[u8],
    result: SetValue,
    event: &'static str,
) {
    let n = result.len();
    let value = (n > 0).then_some(Value::Set(result));
    if super::store_result(srv, c.db, dst, value, SET, event) {
        srv.ks.dirty += 1;
    }
    c.reply().int(n as i64);
}

pub fn sadd(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let key = &argv[1];
    let max = intset_max(srv);
    let add_all = |set: &mut SetValue| {
        let mut added = 0;
        for m in argv.iter().skip(2) {
            if set.add(m, max) {
                added += 1;
            }
        }
        added
    };
    let added = match lookup_set(srv, c, key, Access::Write)? {
        Some(set) => add_all(set),
        None => {
            let mut set = SetValue::for_first_member(&argv[2]);
            let added = add_all(&mut set);
            srv.ks.add(c.db, key, Value::Set(set));
            added
        }
    };
    if added > 0 {
        srv.ks.notify(SET, "sadd", c.db, key);
    }
    srv.ks.dirty += added as u64;
    c.reply().int(added as i64);
    Ok(())
}

pub fn srem(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let key = &argv[1];
    let Some(set) = lookup_set(srv, c, key, Access::Write)? else {
        c.reply().int(0);
        return Ok(());
    };
    let mut deleted = 0;
    for m in argv.iter().skip(2) {
        if set.remove(m) {
            deleted += 1;
            if set.is_empty() {
                break;
            }
        }
    }
    let emptied = set.is_empty();
    if deleted > 0 {
        srv.ks.notify(SET, "srem", c.db, key);
    }
    if emptied {
        srv.ks.delete(c.db, key);
        srv.ks.notify(GENERIC, "del", c.db, key);
    }
    srv.ks.dirty += deleted;
    c.reply().int(deleted as i64);
    Ok(())
}

pub fn smove(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let (src, dst, member) = (&argv[1], &argv[2], &argv[3]);
    let max = intset_max(srv);
    // Both keys are looked up before any check, as in Redis: a missing
    // source answers 0 even when the destination has the wrong type.
    let src_kind = srv
        .ks
        .lookup(c.db, src, Access::Write)
        .map(|o| matches!(o.value, Value::Set(_)));
    // The destination counts as modified (WATCH, tracking) only if the
    // member is added to it, as Redis signals it: not through a Write
    // lookup, which would signal it whenever the source changed.
    let dst_kind = srv
        .ks
        .lookup(c.db, dst, Access::Touch)
        .map(|o| matches!(o.value, Value::Set(_)));
    if src_kind.is_none() {
        c.reply().int(0);
        return Ok(());
    }
    if src_kind == Some(false) || dst_kind == Some(false) {
        return Err(CmdError::WrongType);
    }
    let Some(src_set) = lookup_set(srv, c, src, Access::NoTouch)? else {
        c.reply().int(0);
        return Ok(());
    };
    if src == dst {
        let found = src_set.contains(member);
        c.reply().int(i64::from(found));
        return Ok(());
    }
    if !src_set.remove(member) {
        c.reply().int(0);
        return Ok(());
    }
    let emptied = src_set.is_empty();
    srv.ks.notify(SET, "srem", c.db, src);
    if emptied {
        srv.ks.delete(c.db, src);
        srv.ks.notify(GENERIC, "del", c.db, src);
    }
    srv.ks.dirty += 1;
    let added = match lookup_set(srv, c, dst, Access::NoTouch)? {
        Some(dst_set) => {
            let added = dst_set.add(member, max);
            if added {
                srv.ks.signal_modified(c.db, dst);
            }
            added
        }
        None => {
            let mut set = SetValue::for_first_member(member);
            set.add(member, max);
            srv.ks.add(c.db, dst, Value::Set(set));
            true
        }
    };
    if added {
        srv.ks.notify(SET, "sadd", c.db, dst);
        srv.ks.dirty += 1;
    }
    c.reply().int(1);
    Ok(())
}

pub fn sismember(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let found = lookup_set(srv, c, &argv[1], Access::Read)?.is_some_and(|s| s.contains(&argv[2]));
    c.reply().int(i64::from(found));
    Ok(())
}

pub fn smismember(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    // A missing key is an empty set: all zeros, not an error.
    let set = lookup_set(srv, c, &argv[1], Access::Read)?;
    let mut w = c.reply();
    w.array(argv.len() - 2);
    for m in argv.iter().skip(2) {
        let found = set.as_ref().is_some_and(|s| s.contains(m));
        w.int(i64::from(found));
    }
    Ok(())
}

pub fn scard(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let n = lookup_set(srv, c, &argv[1], Access::Read)?.map_or(0, |s| s.len());
    c.reply().int(n as i64);
    Ok(())
}

pub fn smembers(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let set = lookup_set(srv, c, &argv[1], Access::Read)?;
    let mut w = c.reply();
    match set {
        Some(s) => reply_set(&mut w, s),
        None => w.set(0),
    }
    Ok(())
}

pub fn spop(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    match argv.len() {
        2 => {}
        3 => return spop_count(srv, c, argv),
        _ => return Err(CmdError::Syntax),
    }
    let key = &argv[1];
    let mut rng = srv.ks.rng;
    let Some(set) = lookup_set(srv, c, key, Access::Write)? else {
        c.reply().null();
        return Ok(());
    };
    let Some(m) = set.random_member(&mut rng).map(Member::to_compact) else {
        c.reply().null();
        return Ok(());
    };
    set.remove(&m);
    let emptied = set.is_empty();
    srv.ks.rng = rng;
    srv.ks.notify(SET, "spop", c.db, key);
    if emptied {
        srv.ks.delete(c.db, key);
        srv.ks.notify(GENERIC, "del", c.db, key);
    }
    srv.ks.dirty += 1;
    // The random choice is propagated as its result.
    srv.propagate_replace(&[b"SREM", key, &m]);
    c.reply().bulk(&m);
    Ok(())
}

/// SPOP key count: three strategies as in Redis, chosen by how much of the
/// set is taken (the choice is visible: case 3 builds a fresh set, whose
/// encoding follows the usual rules for its remaining members).
fn spop_count(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let count = match parse_int(&argv[2]) {
        Ok(n) if n >= 0 => n as u64,
        _ => return Err(CmdError::msg(ERR_COUNT_NOT_POSITIVE)),
    };
    let key = &argv[1];
    let max = intset_max(srv);
    let propagate = srv.prop.enabled;
    let mut rng = srv.ks.rng;
    let Some(set) = lookup_set(srv, c, key, Access::Write)? else {
        c.reply().set(0);
        return Ok(());
    };
    if count == 0 {
        c.reply().set(0);
        return Ok(());
    }
    let size = set.len();
    let mut w = c.reply();
    // CASE 1: everything goes; the key is deleted.
    if count >= size as u64 {
        reply_as_fresh_set(&mut w, set, max);
        srv.ks.notify(SET, "spop", c.db, key);
        srv.ks.delete(c.db, key);
        srv.ks.notify(GENERIC, "del", c.db, key);
        srv.ks.dirty = srv.ks.dirty.saturating_add(count).saturating_add(1);
        srv.propagate_replace(&[b"DEL", key]);
        return Ok(());
    }
    let mut popped: Vec<CompactBytes> = Vec::new();
    // From here count < size, so it is bounded by server data.
    let count = count as usize;
    let remaining = size - count;
    w.set(count);
    if remaining * SPOP_MOVE_STRATEGY_MUL > count {
        // CASE 2: few members taken: pop them one at a time.
        for _ in 0..count {
            let Some(m) = set.random_member(&mut rng).map(Member::to_compact) else {
                break;
            };
            set.remove(&m);
            w.bulk(&m);
            if propagate {
                popped.push(m);
            }
        }
    } else {
        // CASE 3: most members taken: move the few that stay into a new
        // set and reply with what is left of the old one.
        let mut kept: Option<SetValue> = None;
        for _ in 0..remaining {
            let Some(m) = set.random_member(&mut rng).map(Member::to_compact) else {
                break;
            };
            kept.get_or_insert_with(|| SetValue::for_first_member(&m))
                .add(&m, max);
            set.remove(&m);
        }
        for m in set.iter() {
            reply_member(&mut w, m);
            if propagate {
                popped.push(m.to_compact());
            }
        }
        if let Some(kept) = kept {
            *set = kept;
        }
    }
    srv.ks.rng = rng;
    srv.ks.notify(SET, "spop", c.db, key);
    srv.ks.dirty += count as u64 + 1;
    // The members drawn are propagated as SREMs, 1024 per command (as
    // Redis), so a replay removes exactly the same ones.
    for chunk in popped.chunks(1024) {
        let mut args: Vec<&[u8]> = Vec::with_capacity(chunk.len() + 2);
        args.push(b"SREM");
        args.push(key);
        args.extend(chunk.iter().map(|m| m.as_bytes()));
        srv.propagate_replace(&args);
    }
    Ok(())
}

pub fn srandmember(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    match argv.len() {
        2 => {}
        3 => return srandmember_count(srv, c, argv),
        _ => return Err(CmdError::Syntax),
    }
    let mut rng = srv.ks.rng;
    let set = lookup_set(srv, c, &argv[1], Access::Read)?;
    let mut w = c.reply();
    match set.and_then(|s| s.random_member(&mut rng)) {
        Some(m) => reply_member(&mut w, m),
        None => w.null(),
    }
    srv.ks.rng = rng;
    Ok(())
}

/// Bytes of the bulk reply of an `n`-byte string: `$<n>\r\n<bytes>\r\n`.
fn bulk_reply_bytes(n: usize) -> usize {
    let mut tmp = [0u8; 20];
    n + 5 + fmt_u64(n as u64, &mut tmp).len()
}

/// SRANDMEMBER key count: a positive count asks for distinct members (at
/// most the whole set), a negative one for |count| independent draws.
fn srandmember_count(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let l = parse_int(&argv[2])?;
    if l == i64::MIN {
        return Err(CmdError::msg(ERR_SRANDMEMBER_RANGE));
    }
    let (count, distinct) = (l.unsigned_abs(), l >= 0);
    let reply_bytes_max = srv.config.proto_max_bulk_len;
    let mut rng = srv.ks.rng;
    let Some(set) = lookup_set(srv, c, &argv[1], Access::Read)? else {
        c.reply().array(0);
        return Ok(());
    };
    let set: &SetValue = set;
    let mut w = c.reply();
    if count == 0 {
        w.array(0);
        return Ok(());
    }
    let size = set.len();
    if !distinct && count > size as u64 {
        // Redis builds whatever reply is asked for, and a huge negative
        // count runs it out of memory (redis/redis#1845). Like HRANDFIELD
        // here, refuse a reply bigger than proto-max-bulk-len, estimated
        // from the set's mean member size (the walk costs less than the
        // reply it guards, which has more members than the set).
        let set_bytes: u128 = set
            .iter()
            .map(|m| bulk_reply_bytes(m.with_bytes(|b| b.len())) as u128)
            .sum();
        if set_bytes * u128::from(count) / size.max(1) as u128 > u128::from(reply_bytes_max) {
            return Err(CmdError::msg(ERR_SRANDMEMBER_TOO_BIG));
        }
    }
    if !distinct || count == 1 {
        // CASE 1: independent draws, streamed: nothing is allocated by the
        // count, and the reply size was bounded just above.
        w.array(count as usize);
        for _ in 0..count {
            match set.random_member(&mut rng) {
                Some(m) => reply_member(&mut w, m),
                None => w.null(), // unreachable: stored sets are not empty
            }
        }
    } else if count >= size as u64 {
        // CASE 2: the whole set.
        w.array(size);
        for m in set.iter() {
            reply_member(&mut w, m);
        }
    } else if (count as usize) * SRANDMEMBER_SUB_STRATEGY_MUL > size {
        // CASE 3: copy the set, drop random members down to count.
        let mut all: Vec<Member> = set.iter().collect();
        while all.len() > count as usize {
            let at = random_below(&mut rng, all.len());
            all.swap_remove(at);
        }
        w.array(all.len());
        for m in all {
            reply_member(&mut w, m);
        }
    } else {
        // CASE 4: count is under a third of the set: sample until enough
        // distinct members. Each draw is new with probability over 2/3, so
        // the bound is never reached in practice; if sampling were ever
        // that unlucky, a walk of the set completes the answer.
        let count = count as usize;
        let mut picked: HashSet<Member> = HashSet::with_capacity(count);
        let draws_max = count.saturating_mul(64).saturating_add(1024);
        for _ in 0..draws_max {
            if picked.len() == count {
                break;
            }
            if let Some(m) = set.random_member(&mut rng) {
                picked.insert(m);
            }
        }
        for m in set.iter() {
            if picked.len() == count {
                break;
            }
            picked.insert(m);
        }
        w.array(picked.len());
        for m in picked {
            reply_member(&mut w, m);
        }
    }
    srv.ks.rng = rng;
    Ok(())
}

/// A uniform index in `0..n` (n > 0).
fn random_below(rng: &mut u64, n: usize) -> usize {
    ((u128::from(crate::dict::rng_next(rng)) * n as u128) >> 64) as usize
}

/// What SINTER-family commands do with the intersection.
#[derive(Clone, Copy)]
enum InterOutput<'a> {
    /// SINTER: reply with the members.
    Reply,
    /// SINTERSTORE: store at the key, reply with the cardinality.
    Store(&'a [u8]),
    /// SINTERCARD: reply with the cardinality, stopping at the limit
    /// (0 = no limit).
    Card(u64),
}

/// SINTER, SINTERSTORE, SINTERCARD: walk the smallest set and keep the
/// members every other set has. A missing key makes the result empty, but
/// only after every key passed the type check (Redis 7.0 order).
fn sinter_generic(srv: &mut Server, c: &mut Client, keys: &[&[u8]], out: InterOutput) -> CmdResult {
    let exists = check_sets(srv, c, keys.iter().copied())?;
    let db = c.db;
    let mut sets: Vec<&SetValue> = Vec::with_capacity(keys.len());
    if exists.iter().all(|&e| e) {
        for k in keys {
            match peek_set(&srv.ks, db, k) {
                Some(s) => sets.push(s),
                None => break,
            }
        }
    }
    if sets.len() < keys.len() {
        match out {
            InterOutput::Reply => c.reply().set(0),
            InterOutput::Card(_) => c.reply().int(0),
            InterOutput::Store(dst) => {
                store_result(srv, c, dst, SetValue::new_intset(), "sinterstore")
            }
        }
        return Ok(());
    }
    // Smallest first; a stable sort keeps argument order among equals.
    sets.sort_by_key(|s| s.len());
    let Some((&first, rest)) = sets.split_first() else {
        c.reply().set(0); // unreachable: the arity guarantees a key
        return Ok(());
    };
    let in_all = |m: Member| {
        rest.iter()
            .all(|s| std::ptr::eq(*s, first) || s.contains_member(m))
    };
    match out {
        InterOutput::Reply => {
            let found: Vec<Member> = first.iter().filter(|&m| in_all(m)).collect();
            let mut w = c.reply();
            w.set(found.len());
            for m in found {
                reply_member(&mut w, m);
            }
        }
        InterOutput::Card(limit) => {
            let mut n: u64 = 0;
            for m in first.iter() {
                if in_all(m) {
                    n += 1;
                    if limit > 0 && n >= limit {
                        break;
                    }
                }
            }
            c.reply().int(n as i64);
        }
        InterOutput::Store(dst) => {
            let max = intset_max(srv);
            let mut result = SetValue::new_intset();
            for m in first.iter().filter(|&m| in_all(m)) {
                result.add_member(m, max);
            }
            store_result(srv, c, dst, result, "sinterstore");
        }
    }
    Ok(())
}

pub fn sinter(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let keys: Vec<&[u8]> = argv.iter().skip(1).collect();
    sinter_generic(srv, c, &keys, InterOutput::Reply)
}

pub fn sinterstore(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let keys: Vec<&[u8]> = argv.iter().skip(2).collect();
    sinter_generic(srv, c, &keys, InterOutput::Store(&argv[1]))
}

pub fn sintercard(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let numkeys = match parse_int(&argv[1]) {
        Ok(n) if n >= 1 => n as u64,
        _ => return Err(CmdError::msg("ERR numkeys should be greater than 0")),
    };
    if numkeys > (argv.len() - 2) as u64 {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let first_opt = 2 + numkeys as usize;
    let mut limit: u64 = 0;
    let mut j = first_opt;
    while j < argv.len() {
        if argv.is(j, "limit") && j + 1 < argv.len() {
            limit = match parse_int(&argv[j + 1]) {
                Ok(n) if n >= 0 => n as u64,
                _ => return Err(CmdError::msg("ERR LIMIT can't be negative")),
            };
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let keys: Vec<&[u8]> = (2..first_opt).map(|i| argv.get(i)).collect();
    sinter_generic(srv, c, &keys, InterOutput::Card(limit))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Diff,
}

/// SUNION, SDIFF and their STORE forms: build the result as a new set
/// (intset until a non-integer or too many members arrive, like any set),
/// then reply with it in its own order or store it.
fn sunion_diff_generic(
    srv: &mut Server,
    c: &mut Client,
    keys: &[&[u8]],
    dst: Option<&[u8]>,
    op: SetOp,
) -> CmdResult {
    check_sets(srv, c, keys.iter().copied())?;
    let db = c.db;
    let max = intset_max(srv);
    let sets: Vec<Option<&SetValue>> = keys.iter().map(|k| peek_set(&srv.ks, db, k)).collect();
    let mut result = SetValue::new_intset();
    match op {
        SetOp::Union => {
            for s in sets.iter().flatten() {
                for m in s.iter() {
                    result.add_member(m, max);
                }
            }
        }
        SetOp::Diff => diff_into(&mut result, &sets, max),
    }
    drop(sets);
    match dst {
        Some(dst) => {
            let event = match op {
                SetOp::Union => "sunionstore",
                SetOp::Diff => "sdiffstore",
            };
            store_result(srv, c, dst, result, event)
        }
        None => reply_set(&mut c.reply(), &result),
    }
    Ok(())
}

/// SDIFF's two algorithms, picked by estimated work as in Redis:
/// 1. for each member of the first set, probe the others (work ~ first set
///    size x number of sets; the others are probed largest first, as a big
///    set is the likeliest to hold the member);
/// 2. add the first set, then remove every member of the others (work ~ the
///    total size of all sets).
fn diff_into(result: &mut SetValue, sets: &[Option<&SetValue>], max: usize) {
    let Some((&Some(first), rest)) = sets.split_first() else {
        return; // a missing first key: the difference is empty
    };
    // The first key repeated later: everything is subtracted.
    if rest.iter().flatten().any(|s| std::ptr::eq(*s, first)) {
        return;
    }
    let others: Vec<&SetValue> = rest.iter().flatten().copied().collect();
    let first_work = (first.len() as u64 * (others.len() as u64 + 1)) / 2;
    let total_work: u64 = first.len() as u64 + others.iter().map(|s| s.len() as u64).sum::<u64>();
    if first_work <= total_work {
        let mut others = others;
        others.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for m in first.iter() {
            if !others.iter().any(|s| s.contains_member(m)) {
                result.add_member(m, max);
            }
        }
    } else {
        for m in first.iter() {
            result.add_member(m, max);
        }
        for s in others {
            if result.is_empty() {
                break;
            }
            for m in s.iter() {
                result.remove_member(m);
            }
        }
    }
}

pub fn sunion(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let keys: Vec<&[u8]> = argv.iter().skip(1).collect();
    sunion_diff_generic(srv, c, &keys, None, SetOp::Union)
}

pub fn sunionstore(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let keys: Vec<&[u8]> = argv.iter().skip(2).collect();
    sunion_diff_generic(srv, c, &keys, Some(&argv[1]), SetOp::Union)
}

pub fn sdiff(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let keys: Vec<&[u8]> = argv.iter().skip(1).collect();
    sunion_diff_generic(srv, c, &keys, None, SetOp::Diff)
}

pub fn sdiffstore(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let keys: Vec<&[u8]> = argv.iter().skip(2).collect();
    sunion_diff_generic(srv, c, &keys, Some(&argv[1]), SetOp::Diff)
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]. As in Redis the cursor is
/// parsed first, then a missing key answers an empty scan before the
/// options are even looked at; an intset is returned whole with cursor 0.
pub fn sscan(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let mut cursor = parse_cursor(&argv[2])?;
    let Some(set) = lookup_set(srv, c, &argv[1], Access::Read)? else {
        reply_empty_scan(c);
        return Ok(());
    };
    let set: &SetValue = set;
    let ScanOptions { count, pattern, .. } = parse_scan_options(argv, 3, false)?;
    // COUNT is a hint about work, not a reply size: like Redis, visit at
    // most count*10 buckets (capped, so a sparse table after mass deletion
    // cannot make one call walk millions of empty buckets), and collect
    // before filtering.
    let visits_max = (count as u64).saturating_mul(10).min(100_000);
    let mut found: Vec<CompactBytes> = Vec::new();
    let mut visits = 0;
    loop {
        cursor = set.scan(cursor, |m| found.push(m.to_compact()));
        visits += 1;
        if cursor == 0 || found.len() >= count || visits >= visits_max {
            break;
        }
    }
    if let Some(p) = pattern {
        found.retain(|m| glob_match(p, m, false));
    }
    let mut w = c.reply();
    w.array(2);
    let mut tmp = [0u8; 20];
    w.bulk(fmt_u64(cursor, &mut tmp));
    w.array(found.len());
    for m in &found {
        w.bulk(m);
    }
    Ok(())
}
