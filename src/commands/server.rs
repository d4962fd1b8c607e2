//! Server commands: INFO, TIME, SAVE, BGSAVE, LASTSAVE, SHUTDOWN (DEBUG
//! is debug.rs).
//!
//! Must never: block the loop, except SAVE, whose purpose that is.

use super::Argv;
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
use crate::server::Server;

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
