//! Database-level commands (Redis's db.c): SELECT, SWAPDB, MOVE, FLUSHDB,
//! FLUSHALL, DBSIZE.
//!
//! Must never: stall the loop freeing a big database when the client asked
//! for ASYNC (the tables are handed to the lazy-free thread whole).

use super::keys::parse_db_index;
use super::{parse_int, Argv};
use crate::connection::Client;
use crate::db::Access;
use crate::errors::{CmdError, CmdResult};
use crate::server::Server;

pub fn select(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    c.db = parse_db_index(srv, &argv[1])?;
    c.reply().ok();
    Ok(())
}

pub fn swapdb(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let a = parse_int(&argv[1]).map_err(|_| CmdError::msg("ERR invalid first DB index"))?;
    let b = parse_int(&argv[2]).map_err(|_| CmdError::msg("ERR invalid second DB index"))?;
    let n = srv.ks.dbs.len() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        return Err(CmdError::DbIndexOutOfRange);
    }
    srv.ks.swap_dbs(a as usize, b as usize);
    // Clients blocked on keys stay with the database number: wake those
    // whose key now exists in the swapped-in data.
    srv.ks.signal_blocked_keys_with_values(a as usize);
    srv.ks.signal_blocked_keys_with_values(b as usize);
    srv.ks.dirty += 1;
    c.reply().ok();
    Ok(())
}

pub fn move_cmd(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let key = &argv[1];
    let dst = parse_db_index(srv, &argv[2])?;
    if dst == c.db {
        return Err(CmdError::SameObject);
    }
    if srv.ks.lookup(c.db, key, Access::Touch).is_none() || srv.ks.exists(dst, key) {
        c.reply().int(0);
        return Ok(());
    }
    let ttl = srv.ks.get_expire(c.db, key);
    if let Some(obj) = srv.ks.remove(c.db, key) {
        srv.ks.add(dst, key, obj.value);
        if let Some(when) = ttl {
            srv.ks.set_expire(dst, key, when);
        }
    }
    srv.ks
        .notify(crate::notify::GENERIC, "move_from", c.db, key);
    srv.ks.notify(crate::notify::GENERIC, "move_to", dst, key);
    srv.ks.dirty += 1;
    c.reply().int(1);
    Ok(())
}

/// FLUSHDB/FLUSHALL take an optional ASYNC or SYNC.
fn parse_flush_async(srv: &Server, argv: &Argv) -> Result<bool, CmdError> {
    match argv.len() {
        1 => Ok(srv.config.lazyfree_lazy_user_flush),
        2 if argv.is(1, "async") => Ok(true),
        2 if argv.is(1, "sync") => Ok(false),
        _ => Err(CmdError::Syntax),
    }
}

fn flush_one(srv: &mut Server, db: usize, lazy: bool) {
    let removed = srv.ks.dbs[db].dict.len() as u64;
    let old = srv.ks.flush_db(db);
    if lazy {
        crate::lazyfree::free_db(old);
    } else {
        drop(old);
    }
    srv.ks.dirty += removed;
}

pub fn flushdb(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let lazy = parse_flush_async(srv, argv)?;
    flush_one(srv, c.db, lazy);
    // Redis tells every tracking client, whatever the database.
    srv.ks.tracking.flush();
    // Logged and replicated even when the database was empty; only the
    // keys removed count as changes.
    srv.propagate_force();
    c.reply().ok();
    Ok(())
}

pub fn flushall(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let lazy = parse_flush_async(srv, argv)?;
    for db in 0..srv.ks.dbs.len() {
        flush_one(srv, db, lazy);
    }
    srv.ks.tracking.flush();
    srv.propagate_force();
    // As Redis 7.0: a BGSAVE running would write what was just flushed;
    // with save points configured, the emptied dataset is saved at once
    // (so a restart does not bring the old snapshot's keys back), which
    // also zeroes rdb_changes_since_last_save. A failed save is logged,
    // the flush stands.
    if crate::persistence::rdb::kill_child(srv) {
        log::info!("FLUSHALL: killed the running background save");
    }
    if !srv.config.save.is_empty() {
        let _ = crate::persistence::rdb::save_uncounted(srv);
    }
    c.reply().ok();
    Ok(())
}

pub fn dbsize(srv: &mut Server, c: &mut Client, _argv: &Argv) -> CmdResult {
    let n = srv.ks.dbs[c.db].dict.len();
    c.reply().int(n as i64);
    Ok(())
}
