//! HyperLogLog commands (Redis's hyperloglog.c command half): PFADD,
//! PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST. The representation, hashing and
//! estimator live in `types/hyperloglog.rs`; this file owns the keyspace
//! side: lookups, type checks, side effects and replies.
//!
//! A HyperLogLog is a string value, so these commands read and write
//! `StrValue`s in place. Side effects follow Redis 7.0 exactly:
//! - PFADD and PFMERGE signal WATCH, raise a `pfadd` event and count as
//!   writes only when a register changed (PFMERGE: always), and are
//!   propagated as sent (they are deterministic);
//! - single-key PFCOUNT rewrites the cached cardinality when it was stale:
//!   that signals WATCH and bumps `dirty`, so, as in Redis, the PFCOUNT
//!   itself is propagated (its replay recomputes the same cache bytes), but
//!   it raises no event;
//! - PFDEBUG GETREG/TODENSE converting a sparse value bump `dirty` only
//!   (Redis: "force propagation on encoding change"), no WATCH signal.
//!
//! Must never: modify a value that failed the admission check, or write a
//! reply for a corrupted value other than Redis's INVALIDOBJ. Like Redis,
//! a PFADD that meets a corrupted sparse body midway keeps the registers
//! it already raised but reports the error and propagates nothing.

use super::Argv;
use crate::connection::Client;
use crate::db::Access;
use crate::errors::{CmdError, CmdResult};
use crate::notify::STRING;
use crate::server::Server;
use crate::types::hyperloglog::{self as hll, Encoding, REGISTERS};
use crate::types::{StrValue, Value};

/// Redis's isHLLObjectOrReply: a string (not int-encoded) that passes the
/// header checks; anything else is WRONGTYPE (the generic text for other
/// types, the HyperLogLog one for strings).
fn check_hll(s: &StrValue) -> Result<Encoding, CmdError> {
    match s {
        StrValue::Int(_) => Err(CmdError::HllWrongType),
        _ => s.with_bytes(hll::encoding_of).ok_or(CmdError::HllWrongType),
    }
}

/// The HyperLogLog at `key` made writable (Redis's dbUnshareStringValue:
/// an embstr becomes raw), or None if missing.
fn lookup_hll_mut<'a>(
    srv: &'a mut Server,
    db: usize,
    key: &[u8],
    access: Access,
) -> Result<Option<&'a mut Vec<u8>>, CmdError> {
    match srv.ks.lookup_typed::<StrValue>(db, key, access)? {
        None => Ok(None),
        Some(s) => {
            check_hll(s)?;
            Ok(Some(s.make_raw()))
        }
    }
}

/// Fold the HyperLogLog at `key` (if any) into `max`; the lookup is a read.
fn merge_key(
    srv: &mut Server,
    db: usize,
    key: &[u8],
    max: &mut [u8; REGISTERS],
) -> Result<Option<Encoding>, CmdError> {
    match srv.ks.lookup_typed::<StrValue>(db, key, Access::Read)? {
        None => Ok(None),
        Some(s) => {
            let enc = check_hll(s)?;
            s.with_bytes(|b| hll::merge_into(max, b))
                .map_err(|_| CmdError::HllCorrupted)?;
            Ok(Some(enc))
        }
    }
}

/// PFADD key [element ...]: 1 if the key was created or a register grew.
pub fn pfadd(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let key = &argv[1];
    let max_bytes = srv.config.hll_sparse_max_bytes;
    // A write lookup (no hit/miss counted, no WATCH signal yet: only an
    // actual change signals).
    let mut updated = 0u64;
    if lookup_hll_mut(srv, c.db, key, Access::Touch)?.is_none() {
        srv.ks
            .add(c.db, key, Value::Str(StrValue::Raw(hll::new_sparse())));
        updated += 1;
    }
    let buf = lookup_hll_mut(srv, c.db, key, Access::NoTouch)?
        .ok_or_else(|| CmdError::msg("ERR no such key"))?;
    for element in argv.iter().skip(2) {
        match hll::add(buf, element, max_bytes) {
            Ok(true) => updated += 1,
            Ok(false) => {}
            Err(hll::Corrupted) => return Err(CmdError::HllCorrupted),
        }
    }
    if updated > 0 {
        hll::invalidate_cache(buf);
        srv.ks.signal_modified(c.db, key);
        srv.ks.notify(STRING, "pfadd", c.db, key);
        srv.ks.dirty += updated;
    }
    c.reply().int(i64::from(updated > 0));
    Ok(())
}

/// PFCOUNT key [key ...]: one key answers (and caches) its estimate;
/// several answer the estimate of their union, cached nowhere.
pub fn pfcount(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if argv.len() > 2 {
        let mut max = Box::new([0u8; REGISTERS]);
        for key in argv.iter().skip(1) {
            merge_key(srv, c.db, key, &mut max)?;
        }
        let card = hll::count_registers(&max);
        c.reply().int(card as i64);
        return Ok(());
    }
    let key = &argv[1];
    let Some(buf) = lookup_hll_mut(srv, c.db, key, Access::Read)? else {
        c.reply().int(0);
        return Ok(());
    };
    let card = match hll::cached_card(buf) {
        Some(card) => card,
        None => {
            let card = hll::count(buf).map_err(|_| CmdError::HllCorrupted)?;
            hll::set_cached_card(buf, card);
            // The value's bytes changed: watchers and the log must know,
            // though the set it stands for did not.
            srv.ks.signal_modified(c.db, key);
            srv.ks.dirty += 1;
            card
        }
    };
    // The top bit is the stale flag, so a cached value fits an i64.
    c.reply().int(card as i64);
    Ok(())
}

/// PFMERGE destkey [sourcekey ...]: destkey := union of all the keys
/// named, destkey included.
pub fn pfmerge(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let key = &argv[1];
    let max_bytes = srv.config.hll_sparse_max_bytes;
    let mut max = Box::new([0u8; REGISTERS]);
    let mut use_dense = false;
    for k in argv.iter().skip(1) {
        if merge_key(srv, c.db, k, &mut max)? == Some(Encoding::Dense) {
            use_dense = true;
        }
    }
    if lookup_hll_mut(srv, c.db, key, Access::Touch)?.is_none() {
        srv.ks
            .add(c.db, key, Value::Str(StrValue::Raw(hll::new_sparse())));
    }
    let buf = lookup_hll_mut(srv, c.db, key, Access::NoTouch)?
        .ok_or_else(|| CmdError::msg("ERR no such key"))?;
    if use_dense {
        hll::sparse_to_dense(buf).map_err(|_| CmdError::HllCorrupted)?;
    }
    // Registers are raised one by one in index order, as Redis does: for a
    // sparse destination the resulting bytes depend on that order. The
    // destination was read above without error, so raising cannot fail;
    // Redis ignores the result too.
    for (i, &v) in max.iter().enumerate() {
        if v != 0 {
            let _ = hll::raise_register(buf, i, v, max_bytes);
        }
    }
    hll::invalidate_cache(buf);
    srv.ks.signal_modified(c.db, key);
    // Redis raises `pfadd` for PFMERGE too: a merge is a mass add.
    srv.ks.notify(STRING, "pfadd", c.db, key);
    srv.ks.dirty += 1;
    c.reply().ok();
    Ok(())
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key.
pub fn pfdebug(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let sub = &argv[1];
    let key = &argv[2];
    let Some(buf) = lookup_hll_mut(srv, c.db, key, Access::Touch)? else {
        return Err(CmdError::msg("ERR The specified key does not exist"));
    };
    let sparse = hll::encoding_of(buf) == Some(Encoding::Sparse);
    if sub.eq_ignore_ascii_case(b"getreg") || sub.eq_ignore_ascii_case(b"todense") {
        if sparse {
            hll::sparse_to_dense(buf).map_err(|_| CmdError::HllCorrupted)?;
        }
        let regs = if sub.eq_ignore_ascii_case(b"getreg") {
            Some(hll::registers(buf).map_err(|_| CmdError::HllCorrupted)?)
        } else {
            None
        };
        if sparse {
            srv.ks.dirty += 1;
        }
        let mut w = c.reply();
        match regs {
            Some(regs) => {
                w.array(regs.len());
                for r in regs {
                    w.int(i64::from(r));
                }
            }
            None => w.int(i64::from(sparse)),
        }
    } else if sub.eq_ignore_ascii_case(b"decode") {
        if !sparse {
            return Err(CmdError::msg("ERR HLL encoding is not sparse"));
        }
        let text = hll::decode_sparse(buf);
        c.reply().bulk(text.as_bytes());
    } else if sub.eq_ignore_ascii_case(b"encoding") {
        let name = if sparse { "sparse" } else { "dense" };
        c.reply().simple(name);
    } else {
        return Err(CmdError::msg(format!(
            "ERR Unknown PFDEBUG subcommand '{}'",
            String::from_utf8_lossy(sub)
        )));
    }
    Ok(())
}

/// PFSELFTEST: checks this build's HyperLogLog against itself (dense
/// register packing, sparse and dense encodings giving the same registers
/// and estimate), +OK or an error naming the failed check. Redis's own
/// test also measures the estimator's error over millions of elements;
/// this one stays small so it never stalls the loop for long.
pub fn pfselftest(_srv: &mut Server, c: &mut Client, _argv: &Argv) -> CmdResult {
    match hll::self_test() {
        Ok(()) => {
            c.reply().ok();
            Ok(())
        }
        Err(what) => Err(CmdError::msg(format!("ERR TESTFAILED {what}"))),
    }
}
