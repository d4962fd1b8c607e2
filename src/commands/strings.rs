//! String commands (Redis's t_string.c): GET, SET and its variants, MGET,
//! MSET, counters, APPEND, ranges, LCS.
//!
//! Must never: create a string larger than 512 MB (the checks run before
//! any buffer grows), or leave a key with a TTL it should have lost: a plain
//! SET clears the TTL, KEEPTTL and in-place edits (APPEND, SETRANGE, INCR)
//! keep it.

use super::{parse_int, Argv};
use crate::connection::Client;
use crate::db::Access;
use crate::errors::{CmdError, CmdResult};
use crate::notify::{GENERIC, STRING};
use crate::server::Server;
use crate::types::string::{LongDouble, STRING_MAX_BYTES};
use crate::types::{StrValue, Value};

/// The string at `key`, or None if missing; WRONGTYPE for other types.
fn lookup_str<'a>(
    srv: &'a mut Server,
    c: &Client,
    key: &[u8],
    access: Access,
) -> Result<Option<&'a mut StrValue>, CmdError> {
    srv.ks.lookup_typed(c.db, key, access)
}

pub fn get(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let found = lookup_str(srv, c, &argv[1], Access::Read)?;
    let mut w = c.reply();
    match found {
        None => w.null(),
        Some(StrValue::Int(v)) => w.bulk_i64(*v),
        Some(StrValue::Emb(b)) => w.bulk(b.as_bytes()),
        Some(StrValue::Raw(b)) => w.bulk(b),
    }
    Ok(())
}

/// Reply with a string value (or null) held outside the keyspace.
fn reply_opt_value(c: &mut Client, v: Option<&StrValue>) {
    let mut w = c.reply();
    match v {
        None => w.null(),
        Some(s) => s.with_bytes(|b| w.bulk(b)),
    }
}

/// How an expiration argument is expressed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ExpireUnit {
    /// EX / EXPIRE: relative seconds.
    Seconds,
    /// PX / PEXPIRE: relative milliseconds.
    Millis,
    /// EXAT / EXPIREAT: absolute unix seconds.
    UnixSeconds,
    /// PXAT / PEXPIREAT: absolute unix milliseconds.
    UnixMillis,
}

/// Turn an expiration argument into an absolute unix-ms deadline, with the
/// checks SET/SETEX/GETEX apply: the number must be > 0 and must not
/// overflow when converted. `cmd` names the command in the error text.
pub fn deadline_ms(
    arg: &[u8],
    unit: ExpireUnit,
    now_ms: i64,
    cmd: &'static str,
) -> Result<i64, CmdError> {
    let v = parse_int(arg)?;
    if v <= 0 {
        return Err(CmdError::InvalidExpireTime(cmd));
    }
    let ms = match unit {
        ExpireUnit::Seconds | ExpireUnit::UnixSeconds => v.checked_mul(1000),
        ExpireUnit::Millis | ExpireUnit::UnixMillis => Some(v),
    }
    .ok_or(CmdError::InvalidExpireTime(cmd))?;
    let when = match unit {
        ExpireUnit::Seconds | ExpireUnit::Millis => ms.checked_add(now_ms),
        _ => Some(ms),
    }
    .ok_or(CmdError::InvalidExpireTime(cmd))?;
    if when <= 0 {
        return Err(CmdError::InvalidExpireTime(cmd));
    }
    Ok(when)
}

/// Options of SET (after the value) and GETEX (after the key), parsed the
/// way Redis's parseExtendedStringArgumentsOrReply does: one loop for both
/// commands, where repeating an option is allowed (the last expiration
/// given wins, "EX 10 EX 20" sets 20) but mixing conflicting ones (NX with
/// XX, two different expiration units, KEEPTTL or PERSIST with a unit) is a
/// syntax error.
#[derive(Default)]
struct ExtendedArgs {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    /// The unit given and the index of its argument.
    expire: Option<(ExpireUnit, usize)>,
}

/// Which command's options `parse_extended_args` accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ExtendedFor {
    Set,
    GetEx,
}

fn parse_extended_args(
    argv: &Argv,
    from: usize,
    cmd: ExtendedFor,
) -> Result<ExtendedArgs, CmdError> {
    let mut o = ExtendedArgs::default();
    let is_set = cmd == ExtendedFor::Set;
    let mut j = from;
    while j < argv.len() {
        let a = &argv[j];
        let has_next = j + 1 < argv.len();
        // The unit already chosen, if any: the same unit may repeat.
        let unit_now = o.expire.map(|(u, _)| u);
        let unit_ok = |u: ExpireUnit| {
            has_next && !o.keep_ttl && !o.persist && unit_now.is_none_or(|cur| cur == u)
        };
        if is_set && a.eq_ignore_ascii_case(b"nx") && !o.xx {
            o.nx = true;
        } else if is_set && a.eq_ignore_ascii_case(b"xx") && !o.nx {
            o.xx = true;
        } else if is_set && a.eq_ignore_ascii_case(b"get") {
            o.get = true;
        } else if is_set && a.eq_ignore_ascii_case(b"keepttl") && unit_now.is_none() {
            o.keep_ttl = true;
        } else if !is_set && a.eq_ignore_ascii_case(b"persist") && unit_now.is_none() {
            o.persist = true;
        } else {
            let unit = if a.eq_ignore_ascii_case(b"ex") {
                ExpireUnit::Seconds
            } else if a.eq_ignore_ascii_case(b"px") {
                ExpireUnit::Millis
            } else if a.eq_ignore_ascii_case(b"exat") {
                ExpireUnit::UnixSeconds
            } else if a.eq_ignore_ascii_case(b"pxat") {
                ExpireUnit::UnixMillis
            } else {
                return Err(CmdError::Syntax);
            };
            if !unit_ok(unit) {
                return Err(CmdError::Syntax);
            }
            o.expire = Some((unit, j + 1));
            j += 1;
        }
        j += 1;
    }
    Ok(o)
}

/// Options of SET after the value, with the deadline resolved.
struct SetOptions {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    /// Absolute deadline, if EX/PX/EXAT/PXAT was given.
    deadline_ms: Option<i64>,
}

fn parse_set_options(argv: &Argv, from: usize, now_ms: i64) -> Result<SetOptions, CmdError> {
    let o = parse_extended_args(argv, from, ExtendedFor::Set)?;
    let deadline_ms = match o.expire {
        Some((unit, at)) => Some(deadline_ms(&argv[at], unit, now_ms, "set")?),
        None => None,
    };
    Ok(SetOptions {
        nx: o.nx,
        xx: o.xx,
        get: o.get,
        keep_ttl: o.keep_ttl,
        deadline_ms,
    })
}

/// Store a string, replacing any value, and apply a deadline if given.
fn store_string(
    srv: &mut Server,
    db: usize,
    key: &[u8],
    val: &[u8],
    keep_ttl: bool,
    deadline: Option<i64>,
) {
    srv.ks
        .set(db, key, Value::Str(StrValue::from_bytes(val)), keep_ttl);
    srv.ks.notify(STRING, "set", db, key);
    if let Some(when) = deadline {
        srv.ks.set_expire(db, key, when);
        srv.ks.notify(GENERIC, "expire", db, key);
        // Relative deadlines (EX, PX, SETEX...) are propagated absolute.
        if srv.prop.enabled {
            let at = when.to_string();
            srv.propagate_replace(&[b"SET", key, val, b"PXAT", at.as_bytes()]);
        }
    }
    srv.ks.dirty += 1;
}

pub fn set(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let o = parse_set_options(argv, 3, srv.ks.now_ms)?;
    let key = &argv[1];
    let old = if o.get {
        lookup_str(srv, c, key, Access::Read)?.map(|s| s.clone())
    } else {
        None
    };
    let exists = if o.get {
        old.is_some()
    } else {
        srv.ks.exists(c.db, key)
    };
    if (o.nx && exists) || (o.xx && !exists) {
        if o.get {
            reply_opt_value(c, old.as_ref());
        } else {
            c.reply().null();
        }
        return Ok(());
    }
    store_string(srv, c.db, key, &argv[2], o.keep_ttl, o.deadline_ms);
    if o.get {
        reply_opt_value(c, old.as_ref());
    } else {
        c.reply().ok();
    }
    Ok(())
}

pub fn setnx(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if srv.ks.exists(c.db, &argv[1]) {
        c.reply().int(0);
    } else {
        store_string(srv, c.db, &argv[1], &argv[2], false, None);
        c.reply().int(1);
    }
    Ok(())
}

fn setex_generic(
    srv: &mut Server,
    c: &mut Client,
    argv: &Argv,
    unit: ExpireUnit,
    name: &'static str,
) -> CmdResult {
    let when = deadline_ms(&argv[2], unit, srv.ks.now_ms, name)?;
    store_string(srv, c.db, &argv[1], &argv[3], false, Some(when));
    c.reply().ok();
    Ok(())
}

pub fn setex(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    setex_generic(srv, c, argv, ExpireUnit::Seconds, "setex")
}

pub fn psetex(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    setex_generic(srv, c, argv, ExpireUnit::Millis, "psetex")
}

pub fn mget(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    c.reply().array(argv.len() - 1);
    for key in argv.iter().skip(1) {
        let found = srv.ks.lookup(c.db, key, Access::Read);
        let mut w = c.reply();
        match found.map(|o| &o.value) {
            Some(Value::Str(s)) => s.with_bytes(|b| w.bulk(b)),
            #[allow(unreachable_patterns)]
            _ => w.null(),
        }
    }
    Ok(())
}

pub fn mset(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if argv.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity("mset".into()));
    }
    for j in (1..argv.len()).step_by(2) {
        store_string(srv, c.db, &argv[j], &argv[j + 1], false, None);
    }
    c.reply().ok();
    Ok(())
}

pub fn msetnx(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if argv.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity("msetnx".into()));
    }
    for j in (1..argv.len()).step_by(2) {
        if srv.ks.exists(c.db, &argv[j]) {
            c.reply().int(0);
            return Ok(());
        }
    }
    for j in (1..argv.len()).step_by(2) {
        store_string(srv, c.db, &argv[j], &argv[j + 1], false, None);
    }
    c.reply().int(1);
    Ok(())
}

pub fn getset(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let old = lookup_str(srv, c, &argv[1], Access::Read)?.map(|s| s.clone());
    store_string(srv, c.db, &argv[1], &argv[2], false, None);
    reply_opt_value(c, old.as_ref());
    Ok(())
}

pub fn getdel(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let found = lookup_str(srv, c, &argv[1], Access::Read)?.map(|s| s.clone());
    if found.is_some() {
        srv.ks.delete(c.db, &argv[1]);
        srv.ks.notify(GENERIC, "del", c.db, &argv[1]);
        srv.ks.dirty += 1;
        srv.propagate_replace(&[b"DEL", &argv[1]]);
    }
    reply_opt_value(c, found.as_ref());
    Ok(())
}

pub fn getex(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let o = parse_extended_args(argv, 2, ExtendedFor::GetEx)?;
    let (expire, persist) = (o.expire, o.persist);
    let deadline = match expire {
        Some((unit, at)) => Some(deadline_ms(&argv[at], unit, srv.ks.now_ms, "getex")?),
        None => None,
    };
    let key = &argv[1];
    let Some(val) = lookup_str(srv, c, key, Access::Read)?.map(|s| s.clone()) else {
        c.reply().null();
        return Ok(());
    };
    if let Some(when) = deadline {
        if when <= srv.ks.now_ms {
            // A deadline already in the past deletes the key, as Redis.
            srv.ks.delete(c.db, key);
            srv.ks.notify(GENERIC, "del", c.db, key);
            srv.propagate_replace(&[b"DEL", key]);
        } else {
            srv.ks.set_expire(c.db, key, when);
            srv.ks.notify(GENERIC, "expire", c.db, key);
            if srv.prop.enabled {
                let at = when.to_string();
                srv.propagate_replace(&[b"PEXPIREAT", key, at.as_bytes()]);
            }
        }
        srv.ks.dirty += 1;
    } else if persist && srv.ks.persist(c.db, key) {
        srv.ks.notify(GENERIC, "persist", c.db, key);
        srv.ks.dirty += 1;
        srv.propagate_replace(&[b"PERSIST", key]);
    }
    reply_opt_value(c, Some(&val));
    Ok(())
}

fn check_string_length(len: usize) -> CmdResult {
    if len > STRING_MAX_BYTES {
        return Err(CmdError::StringTooLong);
    }
    Ok(())
}

pub fn append(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let key = &argv[1];
    let add = &argv[2];
    let new_len = match lookup_str(srv, c, key, Access::Write)? {
        None => {
            srv.ks.add(c.db, key, Value::Str(StrValue::from_bytes(add)));
            add.len()
        }
        Some(s) => {
            check_string_length(s.len() + add.len())?;
            let buf = s.make_raw();
            buf.extend_from_slice(add);
            buf.len()
        }
    };
    srv.ks.notify(STRING, "append", c.db, key);
    srv.ks.dirty += 1;
    c.reply().int(new_len as i64);
    Ok(())
}

pub fn strlen(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let len = lookup_str(srv, c, &argv[1], Access::Read)?.map_or(0, |s| s.len());
    c.reply().int(len as i64);
    Ok(())
}

fn incr_generic(srv: &mut Server, c: &mut Client, key: &[u8], by: i64) -> CmdResult {
    let new = match lookup_str(srv, c, key, Access::Write)? {
        None => {
            srv.ks.add(c.db, key, Value::Str(StrValue::Int(by)));
            by
        }
        Some(s) => {
            let cur = s.as_i64().ok_or(CmdError::NotInteger)?;
            let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
            *s = StrValue::Int(new);
            new
        }
    };
    srv.ks.notify(STRING, "incrby", c.db, key);
    srv.ks.dirty += 1;
    c.reply().int(new);
    Ok(())
}

pub fn incr(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    incr_generic(srv, c, &argv[1], 1)
}

pub fn decr(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    incr_generic(srv, c, &argv[1], -1)
}

pub fn incrby(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let by = parse_int(&argv[2])?;
    incr_generic(srv, c, &argv[1], by)
}

pub fn decrby(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let by = parse_int(&argv[2])?;
    if by == i64::MIN {
        return Err(CmdError::msg("ERR decrement would overflow"));
    }
    incr_generic(srv, c, &argv[1], -by)
}

/// INCRBYFLOAT computes in x87 long double and prints with `%.17Lf`, like
/// redis-server on x86-64; see `types::string::LongDouble` for why f64 would
/// answer differently (0.1 + 0.2 is "0.3" in Redis).
pub fn incrbyfloat(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let key = &argv[1];
    // Redis checks the key's type and value before parsing the increment.
    let cur = match lookup_str(srv, c, key, Access::Write)? {
        None => LongDouble::from_i64(0),
        Some(s) => s.as_long_double().ok_or(CmdError::NotFloat)?,
    };
    let by = LongDouble::parse(&argv[2]).ok_or(CmdError::NotFloat)?;
    let new = match (cur, by) {
        (LongDouble::Inf, _) | (_, LongDouble::Inf) => return Err(CmdError::IncrNanOrInf),
        _ => cur + by,
    };
    if new == LongDouble::Inf {
        return Err(CmdError::IncrNanOrInf);
    }
    let text = new.to_human();
    // Stored as a plain string, never int-encoded, keeping the TTL.
    srv.ks.set(
        c.db,
        key,
        Value::Str(StrValue::from_bytes_unencoded(text.as_bytes())),
        true,
    );
    srv.ks.notify(STRING, "incrbyfloat", c.db, key);
    srv.ks.dirty += 1;
    // The sum depends on float formatting: propagate the result.
    srv.propagate_replace(&[b"SET", key, text.as_bytes(), b"KEEPTTL"]);
    c.reply().bulk(text.as_bytes());
    Ok(())
}

pub fn getrange(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let start = parse_int(&argv[2])?;
    let end = parse_int(&argv[3])?;
    let Some(s) = lookup_str(srv, c, &argv[1], Access::Read)? else {
        c.reply().bulk(b"");
        return Ok(());
    };
    let s = s.clone();
    s.with_bytes(|b| {
        let len = b.len() as i64;
        let mut w = c.reply();
        if start < 0 && end < 0 && start > end {
            w.bulk(b"");
            return;
        }
        let mut start = if start < 0 { len + start } else { start };
        let mut end = if end < 0 { len + end } else { end };
        start = start.max(0);
        end = end.max(0);
        if end >= len {
            end = len - 1;
        }
        if len == 0 || start > end {
            w.bulk(b"");
        } else {
            w.bulk(&b[start as usize..=end as usize]);
        }
    });
    Ok(())
}

pub fn setrange(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let key = &argv[1];
    let offset = parse_int(&argv[2])?;
    let value = &argv[3];
    if offset < 0 {
        return Err(CmdError::OffsetOutOfRange);
    }
    let offset = offset as usize;
    match lookup_str(srv, c, key, Access::Write)? {
        None => {
            if value.is_empty() {
                c.reply().int(0);
                return Ok(());
            }
            check_string_length(offset.saturating_add(value.len()))?;
            let mut buf = vec![0u8; offset + value.len()];
            buf[offset..].copy_from_slice(value);
            let len = buf.len();
            srv.ks.add(c.db, key, Value::Str(StrValue::Raw(buf)));
            srv.ks.notify(STRING, "setrange", c.db, key);
            srv.ks.dirty += 1;
            c.reply().int(len as i64);
        }
        Some(s) => {
            if value.is_empty() {
                let len = s.len();
                c.reply().int(len as i64);
                return Ok(());
            }
            check_string_length(offset.saturating_add(value.len()))?;
            let buf = s.make_raw();
            if buf.len() < offset + value.len() {
                buf.resize(offset + value.len(), 0);
            }
            buf[offset..offset + value.len()].copy_from_slice(value);
            let len = buf.len();
            srv.ks.notify(STRING, "setrange", c.db, key);
            srv.ks.dirty += 1;
            c.reply().int(len as i64);
        }
    }
    Ok(())
}

/// LCS: longest common subsequence of two strings, by dynamic programming
/// over an (a+1)x(b+1) table of u32 lengths. The table is bounded: its size
/// must stay under proto-max-bulk-len, as in Redis, so two 1 MB strings are
/// refused instead of allocating 4 TB.
pub fn lcs(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let mut want_len = false;
    let mut want_idx = false;
    let mut with_match_len = false;
    let mut min_match_len: i64 = 0;
    let mut j = 3;
    while j < argv.len() {
        let a = &argv[j];
        if a.eq_ignore_ascii_case(b"idx") {
            want_idx = true;
        } else if a.eq_ignore_ascii_case(b"len") {
            want_len = true;
        } else if a.eq_ignore_ascii_case(b"withmatchlen") {
            with_match_len = true;
        } else if a.eq_ignore_ascii_case(b"minmatchlen") && j + 1 < argv.len() {
            min_match_len = parse_int(&argv[j + 1])?.max(0);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let mut fetch = |key: &[u8]| -> Result<Vec<u8>, CmdError> {
        match srv.ks.lookup(c.db, key, Access::Read) {
            None => Ok(Vec::new()),
            Some(obj) => match &obj.value {
                Value::Str(s) => Ok(s.to_vec()),
                #[allow(unreachable_patterns)]
                _ => Err(CmdError::msg(
                    "ERR The specified keys must contain string values",
                )),
            },
        }
    };
    // Both keys are looked up before either is type-checked, as Redis
    // does: a missing second key raises its keymiss event even when the
    // first holds a list.
    let a = fetch(&argv[1]);
    let b = fetch(&argv[2]);
    let (a, b) = (a?, b?);
    if want_idx && want_len {
        return Err(CmdError::msg(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    let cells = (a.len() as u128 + 1) * (b.len() as u128 + 1);
    if cells * 4 > srv.config.proto_max_bulk_len as u128 || cells > usize::MAX as u128 / 8 {
        return Err(CmdError::msg(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let cols = b.len() + 1;
    let mut dp = vec![0u32; (a.len() + 1) * cols];
    for i in 1..=a.len() {
        for k in 1..=b.len() {
            dp[i * cols + k] = if a[i - 1] == b[k - 1] {
                dp[(i - 1) * cols + k - 1] + 1
            } else {
                dp[(i - 1) * cols + k].max(dp[i * cols + k - 1])
            };
        }
    }
    let total = dp[a.len() * cols + b.len()] as usize;
    if want_len {
        c.reply().int(total as i64);
        return Ok(());
    }
    // Walk back from the end collecting the subsequence and, for IDX, the
    // maximal runs that are contiguous in both strings.
    let mut seq = vec![0u8; total];
    let mut fill = total;
    let mut ranges: Vec<[usize; 4]> = Vec::new(); // a_start, a_end, b_start, b_end
    let mut cur: Option<[usize; 4]> = None;
    let (mut i, mut k) = (a.len(), b.len());
    while i > 0 && k > 0 {
        let mut emit = false;
        if a[i - 1] == b[k - 1] {
            fill -= 1;
            seq[fill] = a[i - 1];
            match cur.as_mut() {
                None => cur = Some([i - 1, i - 1, k - 1, k - 1]),
                Some(r) if r[0] == i && r[2] == k => {
                    r[0] -= 1;
                    r[2] -= 1;
                }
                Some(_) => emit = true,
            }
            if let Some(r) = cur {
                if r[0] == 0 || r[2] == 0 {
                    emit = true;
                }
            }
            i -= 1;
            k -= 1;
        } else {
            if dp[(i - 1) * cols + k] > dp[i * cols + k - 1] {
                i -= 1;
            } else {
                k -= 1;
            }
            if cur.is_some() {
                emit = true;
            }
        }
        if emit {
            if let Some(r) = cur.take() {
                let len = r[1] - r[0] + 1;
                if min_match_len == 0 || len as i64 >= min_match_len {
                    ranges.push(r);
                }
            }
        }
    }
    if !want_idx {
        c.reply().bulk(&seq);
        return Ok(());
    }
    let mut w = c.reply();
    w.map(2);
    w.bulk(b"matches");
    w.array(ranges.len());
    for r in &ranges {
        w.array(if with_match_len { 3 } else { 2 });
        w.array(2);
        w.int(r[0] as i64);
        w.int(r[1] as i64);
        w.array(2);
        w.int(r[2] as i64);
        w.int(r[3] as i64);
        if with_match_len {
            w.int((r[1] - r[0] + 1) as i64);
        }
    }
    w.bulk(b"len");
    w.int(total as i64);
    Ok(())
}
