//! Generic key commands (Redis's db.c and expire.c): DEL, EXISTS, TYPE,
//! RENAME, KEYS, SCAN, RANDOMKEY, TOUCH, COPY, OBJECT, and the TTL family.
//!
//! Must never: report a key whose deadline passed (KEYS and SCAN filter
//! with the keyspace's expiry check), or let SCAN's reply grow without
//! bound (a call visits at most `COUNT * 10` buckets).

use super::strings::ExpireUnit;
use super::{parse_int, Argv};
use crate::connection::Client;
use crate::db::{idle_seconds, Access};
use crate::errors::{CmdError, CmdResult};
use crate::glob::glob_match;
use crate::notify::GENERIC;
use crate::server::Server;
use crate::types::{CompactBytes, RObj};

/// DEL: big values are freed in the background only under
/// lazyfree-lazy-user-del (then it is UNLINK, as in Redis).
pub fn del(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let lazy = srv.config.lazyfree_lazy_user_del;
    delete_keys(srv, c, argv, lazy)
}

/// UNLINK: like DEL, but large values are freed on the lazy-free thread so
/// deleting a huge key does not stall the loop.
pub fn unlink(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    delete_keys(srv, c, argv, true)
}

fn delete_keys(srv: &mut Server, c: &mut Client, argv: &Argv, lazy: bool) -> CmdResult {
    let mut n = 0;
    for key in argv.iter().skip(1) {
        if srv.ks.expire_if_needed(c.db, key) {
            continue;
        }
        if let Some(obj) = srv.ks.remove(c.db, key) {
            if lazy {
                crate::lazyfree::free_object(obj);
            }
            srv.ks.notify(GENERIC, "del", c.db, key);
            n += 1;
        }
    }
    srv.ks.dirty += n as u64;
    c.reply().int(n);
    Ok(())
}

pub fn exists(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let mut n = 0;
    for key in argv.iter().skip(1) {
        if srv.ks.lookup(c.db, key, Access::ReadNoTouch).is_some() {
            n += 1;
        }
    }
    c.reply().int(n);
    Ok(())
}

pub fn type_cmd(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let name = srv
        .ks
        .lookup(c.db, &argv[1], Access::ReadNoTouch)
        .map_or("none", |o| o.type_name());
    c.reply().simple(name);
    Ok(())
}

/// Move `src` to `dst` in the same db, keeping its TTL. Caller checked
/// that `src` exists.
fn rename_key(srv: &mut Server, db: usize, src: &[u8], dst: &[u8]) {
    let ttl = srv.ks.get_expire(db, src);
    let Some(obj) = srv.ks.remove(db, src) else {
        return;
    };
    srv.ks.delete(db, dst);
    srv.ks.add_object(db, dst, obj);
    if let Some(when) = ttl {
        srv.ks.set_expire(db, dst, when);
    }
    srv.ks.notify(GENERIC, "rename_from", db, src);
    srv.ks.notify(GENERIC, "rename_to", db, dst);
    srv.ks.dirty += 1;
}

pub fn rename(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let (src, dst) = (&argv[1], &argv[2]);
    if !srv.ks.exists(c.db, src) {
        return Err(CmdError::NoSuchKey);
    }
    if src != dst {
        rename_key(srv, c.db, src, dst);
    }
    c.reply().ok();
    Ok(())
}

pub fn renamenx(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let (src, dst) = (&argv[1], &argv[2]);
    if !srv.ks.exists(c.db, src) {
        return Err(CmdError::NoSuchKey);
    }
    if src == dst || srv.ks.exists(c.db, dst) {
        c.reply().int(0);
        return Ok(());
    }
    rename_key(srv, c.db, src, dst);
    c.reply().int(1);
    Ok(())
}

pub fn keys(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let pattern = &argv[1];
    let all = pattern == b"*";
    let ks = &srv.ks;
    let matched: Vec<&CompactBytes> = ks.dbs[c.db]
        .dict
        .iter()
        .map(|(k, _)| k)
        .filter(|k| (all || glob_match(pattern, k, false)) && !ks.is_expired(c.db, k))
        .collect();
    let mut w = c.reply();
    w.array(matched.len());
    for k in matched {
        w.bulk(k);
    }
    Ok(())
}

/// Parse a SCAN cursor like C's strtoul, as Redis does: optional sign,
/// decimal digits, no spaces; a minus sign wraps ("-1" is 2^64-1); values
/// past 2^64-1 are an error. The empty string is cursor 0: strtoul converts
/// nothing and stops at the terminator, which Redis takes as success.
pub fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    if arg.is_empty() {
        return Ok(0);
    }
    let (neg, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(|b| b.is_ascii_digit()) {
        return Err(CmdError::InvalidCursor);
    }
    let v = std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or(CmdError::InvalidCursor)?;
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// Options shared by SCAN, HSCAN, SSCAN and ZSCAN: `[MATCH pattern]
/// [COUNT count]`, plus `[TYPE type]` for SCAN. A COUNT below 1 is a
/// syntax error; a MATCH of `*` is dropped (it matches everything).
pub struct ScanOptions<'a> {
    pub count: usize,
    pub pattern: Option<&'a [u8]>,
    pub type_filter: Option<Vec<u8>>,
}

pub fn parse_scan_options<'a>(
    argv: &Argv<'a>,
    from: usize,
    allow_type: bool,
) -> Result<ScanOptions<'a>, CmdError> {
    let mut o = ScanOptions {
        count: 10,
        pattern: None,
        type_filter: None,
    };
    let mut j = from;
    while j < argv.len() {
        let has_next = j + 1 < argv.len();
        if argv.is(j, "count") && has_next {
            let n = parse_int(argv.get(j + 1))?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            o.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if argv.is(j, "match") && has_next {
            let p = argv.get(j + 1);
            o.pattern = if p == b"*" { None } else { Some(p) };
        } else if allow_type && argv.is(j, "type") && has_next {
            o.type_filter = Some(argv.get(j + 1).to_ascii_lowercase());
        } else {
            return Err(CmdError::Syntax);
        }
        j += 2;
    }
    Ok(o)
}

/// The reply to a scan of a missing key: cursor 0, no elements.
pub fn reply_empty_scan(c: &mut Client) {
    let mut w = c.reply();
    w.array(2);
    w.bulk(b"0");
    w.array(0);
}

pub fn scan(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let mut cursor = parse_cursor(&argv[1])?;
    let ScanOptions {
        count,
        pattern,
        type_filter,
    } = parse_scan_options(argv, 2, true)?;
    // Bound the work per call: COUNT is a hint, and a sparse table (after
    // mass deletion) must not make one call walk millions of empty buckets.
    let bucket_visits_max = count.saturating_mul(10).min(100_000);
    // As Redis 7.0: collect every key in the visited buckets, stop once
    // COUNT keys were collected, and only then filter by MATCH, TYPE and
    // expiry. So a call can return fewer keys than COUNT, even none, with
    // a nonzero cursor, exactly when Redis would.
    let mut found: Vec<CompactBytes> = Vec::new();
    let dict = &srv.ks.dbs[c.db].dict;
    let mut visits = 0;
    loop {
        cursor = dict.scan(cursor, |k, _obj: &RObj| found.push(k.clone()));
        visits += 1;
        if cursor == 0 || found.len() >= count || visits >= bucket_visits_max {
            break;
        }
    }
    found.retain(|k| {
        if let Some(p) = pattern {
            if !glob_match(p, k, false) {
                return false;
            }
        }
        if let Some(t) = &type_filter {
            match srv.ks.dbs[c.db].dict.get(k) {
                Some(obj) if obj.type_name().as_bytes() == t.as_slice() => {}
                _ => return false,
            }
        }
        !srv.ks.expire_if_needed(c.db, k)
    });
    let mut w = c.reply();
    w.array(2);
    let mut tmp = [0u8; 20];
    w.bulk(crate::resp::reply::fmt_u64(cursor, &mut tmp));
    w.array(found.len());
    for k in &found {
        w.bulk(k);
    }
    Ok(())
}

pub fn randomkey(srv: &mut Server, c: &mut Client, _argv: &Argv) -> CmdResult {
    match srv.ks.random_key(c.db) {
        Some(k) => c.reply().bulk(&k),
        None => c.reply().null(),
    }
    Ok(())
}

pub fn touch(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let mut n = 0;
    for key in argv.iter().skip(1) {
        if srv.ks.lookup(c.db, key, Access::Read).is_some() {
            n += 1;
        }
    }
    c.reply().int(n);
    Ok(())
}

/// Parse a database index argument and check it exists.
pub fn parse_db_index(srv: &Server, arg: &[u8]) -> Result<usize, CmdError> {
    let id = parse_int(arg)?;
    if id < 0 || id as usize >= srv.ks.dbs.len() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    Ok(id as usize)
}

pub fn copy(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let (src, dst) = (&argv[1], &argv[2]);
    let mut dst_db = c.db;
    let mut replace = false;
    let mut j = 3;
    while j < argv.len() {
        if argv.is(j, "replace") {
            replace = true;
        } else if argv.is(j, "db") && j + 1 < argv.len() {
            dst_db = parse_db_index(srv, &argv[j + 1])?;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if src == dst && dst_db == c.db {
        return Err(CmdError::SameObject);
    }
    let Some(obj) = srv
        .ks
        .lookup(c.db, src, Access::Read)
        .map(|o| o.value.clone())
    else {
        c.reply().int(0);
        return Ok(());
    };
    let ttl = srv.ks.get_expire(c.db, src);
    if srv.ks.exists(dst_db, dst) {
        if !replace {
            c.reply().int(0);
            return Ok(());
        }
        srv.ks.delete(dst_db, dst);
    }
    srv.ks.add(dst_db, dst, obj);
    if let Some(when) = ttl {
        srv.ks.set_expire(dst_db, dst, when);
    }
    srv.ks.notify(GENERIC, "copy_to", dst_db, dst);
    srv.ks.dirty += 1;
    c.reply().int(1);
    Ok(())
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// Reply with a help text as Redis does: an array of status lines.
pub fn reply_help(c: &mut Client, lines: &[&str]) {
    let mut w = c.reply();
    w.array(lines.len());
    for l in lines {
        w.simple(l);
    }
}

pub fn object(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if argv.is(1, "help") {
        reply_help(c, OBJECT_HELP);
        return Ok(());
    }
    let lfu = srv.config.maxmemory_policy.is_lfu();
    let lru_or_lfu = lfu || srv.config.maxmemory_policy.is_lru();
    let clock = srv.ks.lru_clock();
    let (now, lfu_params) = (srv.ks.now_ms, srv.ks.lfu);
    let maxmemory = srv.config.maxmemory;
    let Some(obj) = srv.ks.lookup(c.db, &argv[2], Access::Inspect) else {
        c.reply().null();
        return Ok(());
    };
    if argv.is(1, "encoding") {
        let e = obj.encoding_name();
        c.reply().bulk(e.as_bytes());
    } else if argv.is(1, "idletime") {
        if lfu {
            return Err(CmdError::msg("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
        }
        let idle = idle_seconds(obj.lru, clock);
        c.reply().int(idle as i64);
    } else if argv.is(1, "freq") {
        if !lfu {
            return Err(CmdError::msg("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
        }
        let freq = match lfu_params {
            Some(p) => crate::lfu::decayed_counter(obj.lru, now, p),
            None => 0,
        };
        c.reply().int(freq as i64);
    } else {
        // REFCOUNT: Redis shares the integers 0..9999 between keys unless
        // an LRU/LFU policy needs per-object metadata.
        let shared = matches!(
            &obj.value,
            crate::types::Value::Str(crate::types::StrValue::Int(v)) if (0..10_000).contains(v)
        ) && (maxmemory == 0 || !lru_or_lfu);
        c.reply().int(if shared { i32::MAX as i64 } else { 1 });
    }
    Ok(())
}

/// Options NX/XX/GT/LT of the EXPIRE family.
#[derive(Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_expire_flags(argv: &Argv) -> Result<ExpireFlags, CmdError> {
    let mut f = ExpireFlags::default();
    for j in 3..argv.len() {
        if argv.is(j, "nx") {
            f.nx = true;
        } else if argv.is(j, "xx") {
            f.xx = true;
        } else if argv.is(j, "gt") {
            f.gt = true;
        } else if argv.is(j, "lt") {
            f.lt = true;
        } else {
            return Err(CmdError::Other(
                format!(
                    "ERR Unsupported option {}",
                    String::from_utf8_lossy(&argv[j])
                )
                .into(),
            ));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(CmdError::msg(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f.gt && f.lt {
        return Err(CmdError::msg(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(f)
}

fn expire_generic(
    srv: &mut Server,
    c: &mut Client,
    argv: &Argv,
    unit: ExpireUnit,
    name: &'static str,
) -> CmdResult {
    let flags = parse_expire_flags(argv)?;
    let v = parse_int(&argv[2])?;
    let ms = match unit {
        ExpireUnit::Seconds | ExpireUnit::UnixSeconds => v.checked_mul(1000),
        _ => Some(v),
    }
    .ok_or(CmdError::InvalidExpireTime(name))?;
    let when = match unit {
        ExpireUnit::Seconds | ExpireUnit::Millis => ms.checked_add(srv.ks.now_ms),
        _ => Some(ms),
    }
    .ok_or(CmdError::InvalidExpireTime(name))?;
    let key = &argv[1];
    if !srv.ks.exists(c.db, key) {
        c.reply().int(0);
        return Ok(());
    }
    let current = srv.ks.get_expire(c.db, key);
    let refuse = (flags.nx && current.is_some())
        || (flags.xx && current.is_none())
        || (flags.gt && current.is_none_or(|cur| when <= cur))
        || (flags.lt && current.is_some_and(|cur| when >= cur));
    if refuse {
        c.reply().int(0);
        return Ok(());
    }
    if when <= srv.ks.now_ms && srv.ks.deletes_past_deadlines() {
        srv.ks.delete(c.db, key);
        srv.ks.notify(GENERIC, "del", c.db, key);
        srv.propagate_replace(&[b"DEL", key]);
    } else {
        srv.ks.set_expire(c.db, key, when);
        srv.ks.notify(GENERIC, "expire", c.db, key);
        // Every form of EXPIRE is propagated as an absolute PEXPIREAT.
        if srv.prop.enabled {
            let at = when.to_string();
            srv.propagate_replace(&[b"PEXPIREAT", key, at.as_bytes()]);
        }
    }
    srv.ks.dirty += 1;
    c.reply().int(1);
    Ok(())
}

pub fn expire(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    expire_generic(srv, c, argv, ExpireUnit::Seconds, "expire")
}

pub fn pexpire(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    expire_generic(srv, c, argv, ExpireUnit::Millis, "pexpire")
}

pub fn expireat(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    expire_generic(srv, c, argv, ExpireUnit::UnixSeconds, "expireat")
}

pub fn pexpireat(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    expire_generic(srv, c, argv, ExpireUnit::UnixMillis, "pexpireat")
}

/// Shared by TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 missing key, -1 no
/// deadline, else `f(deadline_ms, now_ms)`.
fn ttl_generic(srv: &mut Server, c: &mut Client, key: &[u8], f: fn(i64, i64) -> i64) -> CmdResult {
    if !srv.ks.exists(c.db, key) {
        c.reply().int(-2);
        return Ok(());
    }
    let v = match srv.ks.get_expire(c.db, key) {
        None => -1,
        Some(when) => f(when, srv.ks.now_ms),
    };
    c.reply().int(v);
    Ok(())
}

pub fn ttl(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    ttl_generic(srv, c, &argv[1], |when, now| {
        ((when - now).max(0) + 500) / 1000
    })
}

pub fn pttl(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    ttl_generic(srv, c, &argv[1], |when, now| (when - now).max(0))
}

pub fn expiretime(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    ttl_generic(srv, c, &argv[1], |when, _| when / 1000)
}

pub fn pexpiretime(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    ttl_generic(srv, c, &argv[1], |when, _| when)
}

pub fn persist(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let key = &argv[1];
    let removed = srv.ks.exists(c.db, key) && srv.ks.persist(c.db, key);
    if removed {
        srv.ks.notify(GENERIC, "persist", c.db, key);
        srv.ks.dirty += 1;
    }
    c.reply().int(removed as i64);
    Ok(())
}
