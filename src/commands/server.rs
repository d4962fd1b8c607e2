//! Server commands: INFO, TIME, SAVE, BGSAVE, LASTSAVE, DEBUG, SHUTDOWN.
//!
//! Must never: block the loop, with one deliberate exception: DEBUG SLEEP,
//! whose whole purpose is to simulate a slow command in tests.

use super::keys::reply_help;
use super::Argv;
use crate::connection::Client;
use crate::db::{idle_seconds, unix_ms, Access};
use crate::errors::{CmdError, CmdResult};
use crate::server::Server;
use crate::types::string::parse_f64;

pub fn info(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let sections: Vec<String> = (1..argv.len()).map(|i| argv.lower(i)).collect();
    let text = crate::observe::info::info_text(srv, c, &sections);
    c.reply().verbatim(text.as_bytes());
    Ok(())
}

pub fn time(_srv: &mut Server, c: &mut Client, _argv: &Argv) -> CmdResult {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs().to_string();
    let usecs = now.subsec_micros().to_string();
    let mut w = c.reply();
    w.array(2);
    w.bulk(secs.as_bytes());
    w.bulk(usecs.as_bytes());
    Ok(())
}

pub fn lastsave(srv: &mut Server, c: &mut Client, _argv: &Argv) -> CmdResult {
    c.reply().int(srv.lastsave_unix);
    Ok(())
}

/// SAVE: write the snapshot now, blocking the loop (as Redis).
pub fn save(srv: &mut Server, c: &mut Client, _argv: &Argv) -> CmdResult {
    if srv.rdb.child.is_some() || srv.repl.snapshot_child.is_some() {
        return Err(CmdError::msg("ERR Background save already in progress"));
    }
    match crate::persistence::rdb::save(srv) {
        Ok(()) => {
            log::info!("DB saved on disk");
            c.reply().ok();
            Ok(())
        }
        Err(_) => Err(CmdError::msg("ERR")),
    }
}

/// BGSAVE [SCHEDULE]: fork a child that writes the snapshot.
pub fn bgsave(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let schedule = match argv.len() {
        1 => false,
        2 if argv.is(1, "schedule") => true,
        _ => return Err(CmdError::Syntax),
    };
    // A full-sync snapshot child is an RDB child too (as in Redis).
    if srv.rdb.child.is_some() || srv.repl.snapshot_child.is_some() {
        if schedule {
            srv.rdb.bgsave_scheduled = true;
            c.reply().simple("Background saving scheduled");
            return Ok(());
        }
        return Err(CmdError::msg("ERR Background save already in progress"));
    }
    if srv.aofrw.child.is_some() {
        if schedule {
            srv.rdb.bgsave_scheduled = true;
            c.reply().simple("Background saving scheduled");
            return Ok(());
        }
        return Err(CmdError::msg("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible."));
    }
    match crate::persistence::rdb::bgsave(srv) {
        Ok(pid) => {
            log::info!("Background saving started by pid {pid}");
            c.reply().simple("Background saving started");
            Ok(())
        }
        Err(e) => {
            srv.rdb.last_bgsave_ok = false;
            Err(CmdError::Other(
                format!("ERR Background save failed: {e}").into(),
            ))
        }
    }
}

/// BGREWRITEAOF: start a background rewrite (persistence/rewrite.rs), or
/// schedule it while another child runs or a transaction is being
/// propagated (its effects must not straddle the fork).
pub fn bgrewriteaof(srv: &mut Server, c: &mut Client, _argv: &Argv) -> CmdResult {
    if srv.aofrw.child.is_some() {
        return Err(CmdError::msg(
            "ERR Background append only file rewriting already in progress",
        ));
    }
    if srv.has_child() || srv.prop.unit_pending() || c.in_exec {
        srv.aofrw.scheduled = true;
        srv.aofrw.consecutive_failures = 0;
        c.reply()
            .simple("Background append only file rewriting scheduled");
        return Ok(());
    }
    match crate::persistence::rewrite::start(srv) {
        Ok(_) => {
            c.reply()
                .simple("Background append only file rewriting started");
            Ok(())
        }
        Err(e) => {
            log::warn!("Can't rewrite append only file in background: {e}");
            srv.aofrw.last_ok = false;
            Err(CmdError::msg("ERR Can't execute an AOF background rewriting. Please check the server logs for more information."))
        }
    }
}

const DEBUG_HELP: &[&str] = &[
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "OBJECT <key>",
    "    Show low level info about the key and associated value.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, and",
    "      conflicting keys make the load fail (Redis kills the server).",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "HELP",
    "    Prints this help.",
];

pub fn debug(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    // A protected command (enable-debug-command), as in Redis 7.0.
    if !super::module::protected_allowed(&srv.config.enable_debug_command, c) {
        return Err(CmdError::CommandNotAllowed {
            command: "DEBUG",
            option: "enable-debug-command",
        });
    }
    let sub = argv.lower(1);
    match (sub.as_str(), argv.len()) {
        ("help", 2) => reply_help(c, DEBUG_HELP),
        ("sleep", 3) => {
            let secs = parse_f64(&argv[2]).unwrap_or(0.0);
            // Bounded: a typo must not hang the server for days.
            let secs = secs.clamp(0.0, 3600.0);
            std::thread::sleep(std::time::Duration::from_secs_f64(secs));
            srv.ks.now_ms = unix_ms();
            c.reply().ok();
        }
        ("reload", _) => debug_reload(srv, c, argv)?,
        ("set-active-expire", 3) => {
            srv.active_expire_enabled = argv.get(2) != b"0";
            c.reply().ok();
        }
        ("object", 3) => {
            let clock = srv.ks.lru_clock();
            let Some(obj) = srv.ks.lookup(c.db, &argv[2], Access::NoTouch) else {
                return Err(CmdError::NoSuchKey);
            };
            let text = format!(
                "Value at:{:p} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
                obj as *const _,
                obj.encoding_name(),
                obj.heap_size().max(1),
                obj.lru,
                idle_seconds(obj.lru, clock)
            );
            c.reply().simple(&text);
        }
        _ => return Err(CmdError::subcommand_syntax(argv.get(0), argv.get(1))),
    }
    Ok(())
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save the snapshot, empty the
/// dataset, load the snapshot back (a round trip through the RDB codec).
/// Blocks the loop for the save and the load, as in Redis.
fn debug_reload(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let (mut merge, mut flush, mut save) = (false, true, true);
    for i in 2..argv.len() {
        if argv.is(i, "merge") {
            merge = true;
        } else if argv.is(i, "noflush") {
            flush = false;
        } else if argv.is(i, "nosave") {
            save = false;
        } else {
            return Err(CmdError::msg(
                "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
            ));
        }
    }
    if save && crate::persistence::rdb::save(srv).is_err() {
        return Err(CmdError::msg("ERR"));
    }
    if flush {
        for db in 0..srv.ks.dbs.len() {
            crate::lazyfree::free_db(srv.ks.flush_db(db));
        }
        // As a FLUSHALL (Redis's emptyData): tracking clients drop their
        // caches.
        srv.ks.tracking.flush();
        // Function libraries are reloaded too (NOFLUSH keeps them, and a
        // library in the file then collides unless MERGE, as in Redis).
        srv.scripting.functions.flush();
    }
    let path = crate::persistence::rdb_path(&srv.config);
    let loaded = std::fs::read(&path)
        .and_then(|data| crate::persistence::rdb::load_bytes_into(srv, &data, merge || flush));
    if let Err(e) = loaded {
        log::warn!("DEBUG RELOAD: loading {}: {e}", path.display());
        return Err(CmdError::msg("ERR Error trying to load the RDB dump"));
    }
    log::warn!("DB reloaded by DEBUG RELOAD");
    c.reply().ok();
    Ok(())
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] (see server/shutdown.rs).
pub fn shutdown(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    use crate::server::shutdown::{FORCE, NOSAVE, NOW, SAVE};
    let (mut flags, mut abort) = (0u8, false);
    for i in 1..argv.len() {
        match argv.lower(i).as_str() {
            "nosave" => flags |= NOSAVE,
            "save" => flags |= SAVE,
            "now" => flags |= NOW,
            "force" => flags |= FORCE,
            "abort" => abort = true,
            _ => return Err(CmdError::Syntax),
        }
    }
    // Illegal combinations, checked before anything happens (as Redis).
    if (abort && flags != 0) || (flags & SAVE != 0 && flags & NOSAVE != 0) {
        return Err(CmdError::Syntax);
    }
    if abort {
        if !srv.abort_shutdown() {
            return Err(CmdError::msg("ERR No shutdown in progress."));
        }
        c.reply().ok();
        return Ok(());
    }
    if srv.scripting.is_busy() {
        // A busy script (scripting/busy.rs): only SHUTDOWN NOSAVE, and it
        // does not wait for replicas (the loop is not running).
        if flags & NOSAVE == 0 {
            return Err(srv.scripting.busy_error());
        }
        flags |= NOW;
    }
    srv.shutdown_command(c, flags)
}
