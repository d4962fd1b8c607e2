//! DUMP and RESTORE: move one key's value between servers as a payload.
//!
//! Owns: the commands' argument rules, checked in Redis 7.0's order
//! (options, then BUSYKEY, then the TTL, then the payload's footer, then
//! its body), the effect propagated (RESTORE with an absolute TTL and
//! ABSTTL, or DEL when the key is restored already expired), and the
//! "restore" keyspace event.
//!
//! Must never: trust the payload: the footer (version, CRC-64) is checked
//! by `persistence::dump::verify`, then the body is decoded by the RDB
//! reader, which checks every length against the bytes present.
//!
//! Blocked clients (BLPOP, BZPOPMIN...) waiting on the key are woken by the
//! keyspace itself: `Keyspace::add` signals a waited-on key whatever
//! command created it.

use super::{parse_int, Argv};
use crate::connection::Client;
use crate::db::Access;
use crate::errors::{CmdError, CmdResult};
use crate::notify::GENERIC;
use crate::persistence::{dump, rdb};
use crate::server::Server;

/// DUMP key: the payload, or a null reply when the key does not exist.
pub fn dump(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let compression = rdb::Compression::from_config(&srv.config);
    let Some(obj) = srv.ks.lookup(c.db, &argv[1], Access::Read) else {
        c.reply().null();
        return Ok(());
    };
    let payload = dump::create(&obj.value, compression);
    c.reply().bulk(&payload);
    Ok(())
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f].
pub fn restore(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        if argv.is(j, "replace") {
            replace = true;
        } else if argv.is(j, "absttl") {
            absttl = true;
        } else if argv.is(j, "idletime") && more && freq.is_none() {
            let v = parse_int(&argv[j + 1])?;
            if v < 0 {
                return Err(CmdError::msg("ERR Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(v);
            j += 1;
        } else if argv.is(j, "freq") && more && idle.is_none() {
            let v = parse_int(&argv[j + 1])?;
            if !(0..=255).contains(&v) {
                return Err(CmdError::msg(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = Some(v);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let key = &argv[1];
    if !replace && srv.ks.exists(c.db, key) {
        return Err(CmdError::msg("BUSYKEY Target key name already exists."));
    }
    let mut ttl = parse_int(&argv[2])?;
    if ttl < 0 {
        return Err(CmdError::msg("ERR Invalid TTL value, must be >= 0"));
    }
    let (t, body) = dump::verify(&argv[3], !srv.skip_checksum_validation)
        .ok_or_else(|| CmdError::msg("ERR DUMP payload version or checksum are wrong"))?;
    let value = rdb::decode_value(&srv.config, t, body).map_err(|e| {
        log::debug!("RESTORE: bad payload: {e}");
        CmdError::msg("ERR Bad data format")
    })?;
    let deleted = replace && srv.ks.delete(c.db, key);
    let now = srv.ks.now_ms;
    if ttl != 0 && !absttl {
        ttl = ttl.saturating_add(now);
    }
    // Restored already expired: the key is gone (or never existed); the
    // effect is the deletion of the old key, if there was one.
    if ttl != 0 && ttl <= now && srv.ks.deletes_past_deadlines() {
        if deleted {
            let del: &[u8] = if srv.config.lazyfree_lazy_server_del {
                b"UNLINK"
            } else {
                b"DEL"
            };
            srv.propagate_replace(&[del, key]);
            srv.ks.notify(GENERIC, "del", c.db, key);
            srv.ks.dirty += 1;
        }
        c.reply().ok();
        return Ok(());
    }
    srv.ks.add(c.db, key, value);
    if ttl != 0 {
        srv.ks.set_expire(c.db, key, ttl);
        if !absttl {
            // Propagate the deadline, not the relative TTL (as Redis).
            let when = ttl.to_string();
            let mut args: Vec<&[u8]> = argv.iter().collect();
            args[2] = when.as_bytes();
            args.push(b"ABSTTL");
            srv.propagate_replace(&args);
        }
    }
    set_access_clock(srv, c.db, key, idle, freq);
    srv.ks.notify(GENERIC, "restore", c.db, key);
    srv.ks.dirty += 1;
    c.reply().ok();
    Ok(())
}

/// IDLETIME (under a non-LFU policy) or FREQ (under an LFU policy) set the
/// new object's access clock; the other one is ignored, as in Redis.
fn set_access_clock(srv: &mut Server, db: usize, key: &[u8], idle: Option<i64>, freq: Option<i64>) {
    let now = srv.ks.now_ms;
    let lfu = srv.ks.lfu.is_some();
    let clock = srv.ks.lru_clock();
    let Some(obj) = srv.ks.dbs[db].dict.get_mut(key) else {
        return;
    };
    match (lfu, idle, freq) {
        (true, _, Some(f)) => obj.lru = (crate::lfu::minutes_clock(now) << 8) | f as u32,
        (false, Some(secs), _) => {
            // The clock wraps (see db::lru_clock): clamp so the idle time
            // stays representable.
            let ms = secs.saturating_mul(1000).min(u32::MAX as i64 / 2) as u32;
            obj.lru = clock.wrapping_sub(ms);
        }
        _ => {}
    }
}
