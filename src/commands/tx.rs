//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Owns: the client side of optimistic locking. Commands sent after MULTI
//! are checked (name, arity, auth) and queued by the dispatcher; EXEC runs
//! them back to back, which is atomic because the loop is single-threaded.
//! WATCHed keys are tracked by the keyspace's registry (`crate::watch`),
//! which every mutation touches.
//!
//! Must never: run a transaction after one of its commands was rejected
//! at queue time (EXECABORT), or after a watched key changed (EXEC replies
//! with a null array), and never leave watches behind after EXEC/DISCARD.

use super::{execute, lookup, Argv};
use crate::connection::{Client, MultiState};
use crate::errors::{CmdError, CmdResult};
use crate::server::Server;

pub fn multi(_srv: &mut Server, c: &mut Client, _argv: &Argv) -> CmdResult {
    if c.multi.is_some() {
        return Err(CmdError::msg("ERR MULTI calls can not be nested"));
    }
    c.multi = Some(MultiState::default());
    c.reply().ok();
    Ok(())
}

/// Queue a command of an open transaction (called by the dispatcher).
pub fn queue(c: &mut Client, argv: &Argv) {
    if let Some(m) = c.multi.as_mut() {
        let cmd: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
        m.bytes += std::mem::size_of::<Vec<Vec<u8>>>()
            + cmd
                .iter()
                .map(|a| a.len() + std::mem::size_of::<Vec<u8>>())
                .sum::<usize>();
        m.commands.push(cmd);
    }
    c.reply().simple("QUEUED");
}

/// Forget every WATCH of this client.
pub fn unwatch_all(srv: &mut Server, c: &mut Client) {
    let watched = std::mem::take(&mut c.watched);
    c.watched_expired.clear();
    srv.ks.watch.unwatch_all(c.id, &watched);
}

pub fn discard(srv: &mut Server, c: &mut Client, _argv: &Argv) -> CmdResult {
    if c.multi.take().is_none() {
        return Err(CmdError::msg("ERR DISCARD without MULTI"));
    }
    unwatch_all(srv, c);
    c.reply().ok();
    Ok(())
}

pub fn watch(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if c.multi.is_some() {
        return Err(CmdError::msg("ERR WATCH inside MULTI is not allowed"));
    }
    for key in argv.iter().skip(1) {
        if c.watched.iter().any(|(db, k)| *db == c.db && k == key) {
            continue;
        }
        let expired = srv.ks.is_expired(c.db, key);
        srv.ks.watch.watch(c.id, c.db, key);
        c.watched.push((c.db, key.to_vec()));
        c.watched_expired.push(expired);
    }
    c.reply().ok();
    Ok(())
}

pub fn unwatch(srv: &mut Server, c: &mut Client, _argv: &Argv) -> CmdResult {
    unwatch_all(srv, c);
    c.reply().ok();
    Ok(())
}

/// True if a watched key that was alive when watched has since expired:
/// Redis treats that as a modification even if nothing deleted it yet.
fn watched_key_expired(srv: &Server, c: &Client) -> bool {
    c.watched
        .iter()
        .zip(&c.watched_expired)
        .any(|((db, key), &was_expired)| !was_expired && srv.ks.is_expired(*db, key))
}

pub fn exec(srv: &mut Server, c: &mut Client, _argv: &Argv) -> CmdResult {
    let Some(state) = c.multi.take() else {
        return Err(CmdError::msg("ERR EXEC without MULTI"));
    };
    if state.failed {
        unwatch_all(srv, c);
        return Err(CmdError::msg(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    if srv.ks.watch.is_dirty(c.id) || watched_key_expired(srv, c) {
        unwatch_all(srv, c);
        c.reply().null_array();
        return Ok(());
    }
    unwatch_all(srv, c);
    c.reply().array(state.commands.len());
    c.in_exec = true;
    for args in &state.commands {
        // Rebuild an Argv over the owned arguments: one flat buffer and
        // its ranges, as the parser would have produced.
        let mut data = Vec::new();
        let mut ranges = Vec::with_capacity(args.len());
        for a in args {
            let start = data.len();
            data.extend_from_slice(a);
            ranges.push(start..data.len());
        }
        let argv = Argv::new(&data, &ranges);
        let start = crate::server::mono_ns();
        srv.ks.now_ms = srv.clock.unix_ms_at_ns(start);
        let Some((idx, cmd)) = lookup(&argv[0]) else {
            // Unreachable in practice: names were checked when queued.
            c.reply().error("ERR unknown command");
            continue;
        };
        let id = super::table::ids().of(idx, cmd, &argv);
        if let Err(e) = execute(srv, c, id, cmd, &argv, start) {
            let msg = e.message();
            srv.stats.count_error(&msg);
            c.reply().error(&msg);
        }
    }
    c.in_exec = false;
    // EXEC's dirty delta belongs to the commands it ran, which were
    // propagated one by one; EXEC itself is not (as EVAL, run.rs).
    srv.propagate_prevent();
    Ok(())
}
