//! Long-running scripts: the watchdog hook inside the Lua state and the
//! descriptor of the script that runs now.
//!
//! Owns: [`RunningScript`] (which script runs, for which client, whether
//! it wrote, whether it passed `busy-reply-threshold`, whether a kill was
//! asked for), the Lua hook that notices a script running too long, and
//! the kill and BUSY rules built on them ([`Scripting::kill_request`],
//! [`Scripting::busy_error`]). SCRIPT KILL uses them for EVAL scripts;
//! FUNCTION KILL and FCALL are meant to use the same ones with
//! `is_eval` false.
//!
//! How a long script behaves (Redis 7.0): the hook runs every
//! [`HOOK_INSTRUCTIONS`] Lua instructions and, while the script is young,
//! only reads the clock. Once the script has run `busy-reply-threshold`
//! ms it is *busy*: from then on every hook call runs one bounded step of
//! the event loop ([`step`] -> `server/busy_loop.rs`), in which other
//! clients get `-BUSY` for everything but the few `allow-busy` commands.
//! When SCRIPT KILL was accepted, the hook raises "Script killed by
//! user..." and keeps raising on every line, so a `pcall` in the script
//! cannot swallow the kill. `busy-reply-threshold 0` installs no hook at
//! all: scripts then run to the end, uninterruptible, as in Redis.
//!
//! Must never: cost more than a counter and, every 100 000 instructions,
//! one clock read while a script is below the threshold; touch the
//! server from the hook except through the context function the runner
//! lends for the length of one script (run.rs, `op::STEP`);
//! kill a script that already wrote (the dataset would keep half of it)
//! or one sent by our master.
//!
//! Invariant: at most one script runs at a time (scripts cannot start
//! scripts: EVAL and FCALL are `noscript`), so one descriptor suffices;
//! it is `Some` exactly between `begin_run` and `end_run`.

use super::sandbox::{raise, PRELUDE_NAME};
use super::Scripting;
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
use crate::server::Server;
use mlua::debug::Debug;
use mlua::{HookTriggers, Lua, Value, VmState};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// Lua instructions between two hook calls (Redis uses the same count):
/// well under a millisecond of Lua, so a busy server answers other
/// clients within about a millisecond.
pub const HOOK_INSTRUCTIONS: u32 = 100_000;

/// Step results.
pub const STEP_CONTINUE: u8 = 0;
pub const STEP_KILL: u8 = 1;

/// The error a killed script fails with (its script and line are added
/// as for any script error).
pub const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";
const UNKILLABLE_WROTE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
const UNKILLABLE_MASTER: &str = "UNKILLABLE The busy script was sent by a master instance in the context of replication and cannot be killed.";

/// The script (or function) running now.
#[derive(Debug)]
pub struct RunningScript {
    /// The SHA-1 for EVAL scripts, the function's name for FCALL.
    pub name: String,
    /// EVAL/EVALSHA (SCRIPT KILL applies) rather than FCALL (FUNCTION KILL).
    pub is_eval: bool,
    /// A write command already ran: the script can no longer be killed.
    pub wrote: bool,
    /// The client that sent it (outside the client table while it runs).
    pub client_id: u64,
    pub client_slot: usize,
    /// Sent by our master: never killed.
    pub from_master: bool,
    pub start: Instant,
    /// Past `busy-reply-threshold`: other clients are being answered BUSY.
    pub timed_out: bool,
    /// SCRIPT KILL / FUNCTION KILL was accepted.
    pub kill_requested: bool,
    /// A running function's command as a RESP array of bulk strings
    /// (FUNCTION STATS `command`); empty for EVAL scripts, which Redis
    /// never shows.
    pub command_resp: Vec<u8>,
}

impl RunningScript {
    pub fn new(name: &str, is_eval: bool, client: &Client) -> RunningScript {
        RunningScript::reusing(name, is_eval, client, Instant::now(), String::new())
    }

    /// As `new`, writing the name into `buf` (the previous run's, so a
    /// script run allocates nothing for it) and taking the start time the
    /// caller already read.
    pub fn reusing(
        name: &str,
        is_eval: bool,
        client: &Client,
        start: Instant,
        mut buf: String,
    ) -> RunningScript {
        buf.clear();
        buf.push_str(name);
        RunningScript {
            name: buf,
            is_eval,
            wrote: false,
            client_id: client.id,
            client_slot: client.token,
            from_master: client.is_master,
            start,
            timed_out: false,
            kill_requested: false,
            command_resp: Vec::new(),
        }
    }

    /// Keep the running command for FUNCTION STATS.
    pub fn set_command(&mut self, argv: &crate::commands::Argv) {
        crate::persistence::propagate::encode_command(&mut self.command_resp, argv.iter());
    }

    fn busy_text(&self) -> &'static str {
        if self.is_eval {
            BUSY_EVAL
        } else {
            BUSY_FUNCTION
        }
    }
}

impl Scripting {
    /// A script starts (called by its runner before the first Lua
    /// instruction).
    pub fn begin_run(&mut self, script: RunningScript) {
        debug_assert!(self.running.is_none(), "scripts do not nest");
        self.running = Some(script);
    }

    /// The script ended (whatever the outcome).
    pub fn end_run(&mut self) -> Option<RunningScript> {
        self.running.take()
    }

    pub fn running(&self) -> Option<&RunningScript> {
        self.running.as_ref()
    }

    /// True while a script is past `busy-reply-threshold`: other clients'
    /// commands get [`Scripting::busy_error`] unless flagged `allow-busy`.
    #[inline]
    pub fn is_busy(&self) -> bool {
        self.running.as_ref().is_some_and(|r| r.timed_out)
    }

    /// The BUSY refusal naming the right kill command.
    pub fn busy_error(&self) -> CmdError {
        let text = self
            .running
            .as_ref()
            .map_or(BUSY_EVAL, RunningScript::busy_text);
        CmdError::msg(text)
    }

    /// The running script called a write command.
    pub fn note_write(&mut self) {
        if let Some(r) = self.running.as_mut() {
            r.wrote = true;
        }
    }

    /// True when the running script already called a write command.
    pub fn running_wrote(&self) -> bool {
        self.running.as_ref().is_some_and(|r| r.wrote)
    }

    /// SCRIPT KILL (`is_eval`) or FUNCTION KILL: ask the running script
    /// to stop. It fails at its next hook call; the killer gets OK now.
    pub fn kill_request(&mut self, is_eval: bool) -> CmdResult {
        let Some(r) = self.running.as_mut() else {
            return Err(CmdError::msg(NOTBUSY));
        };
        if r.from_master {
            return Err(CmdError::msg(UNKILLABLE_MASTER));
        }
        if r.wrote {
            return Err(CmdError::msg(UNKILLABLE_WROTE));
        }
        if r.is_eval != is_eval {
            // SCRIPT KILL while a function runs (or the reverse).
            return Err(CmdError::msg(r.busy_text()));
        }
        r.kill_requested = true;
        Ok(())
    }
}

/// Install the watchdog for one script run. `threshold_ms` 0: none (the
/// script cannot be interrupted). The runner removes it with [`disarm`].
pub fn arm(lua: &Lua, threshold_ms: u64, start: Instant) -> mlua::Result<()> {
    if threshold_ms == 0 {
        return Ok(());
    }
    let threshold = Duration::from_millis(threshold_ms);
    let timed_out = Cell::new(false);
    // A global hook: coroutines the script creates inherit it (Lua 5.1
    // copies the hook into new threads), so they are watched too.
    lua.set_global_hook(
        HookTriggers::new().every_nth_instruction(HOOK_INSTRUCTIONS),
        move |lua, debug| {
            if !timed_out.get() {
                if start.elapsed() < threshold {
                    return Ok(VmState::Continue);
                }
                timed_out.set(true);
            }
            let step = super::run::ctx_entry(lua, super::run::op::STEP, mlua::MultiValue::new());
            if matches!(step, Ok(Value::Integer(k)) if k == STEP_KILL as i64) {
                // From now on every line raises again: a pcall around the
                // loop cannot keep the script alive.
                lua.set_global_hook(HookTriggers::EVERY_LINE, |_, debug| killed(debug))?;
                return killed(debug);
            }
            Ok(VmState::Continue)
        },
    )
}

/// Remove the watchdog after a run.
pub fn disarm(lua: &Lua) {
    lua.remove_global_hook();
}

/// Raise the kill, unless Lua is in our prelude's code (the `pcall`
/// wrapper): there the error would point into it, not at the script's
/// line; the script's next line raises it instead.
fn killed(debug: &Debug) -> mlua::Result<VmState> {
    if debug.source().source.as_deref() == Some(PRELUDE_NAME) {
        return Ok(VmState::Continue);
    }
    log::warn!("Lua script killed by user with SCRIPT KILL.");
    raise(KILLED)
}

/// One hook call of a script past its threshold: the first one logs the
/// slow script; each serves other clients for a bounded time. Returns
/// [`STEP_KILL`] when the script must stop.
pub fn step(srv: &mut Server) -> u8 {
    if srv.scripting.offline {
        // The offline harness has no event loop to serve, and a script
        // that loops forever must not hang it (Scripting::set_offline).
        return STEP_KILL;
    }
    let Some(r) = srv.scripting.running.as_mut() else {
        return STEP_CONTINUE;
    };
    if !r.timed_out {
        r.timed_out = true;
        log::warn!(
            "Slow script detected: still in execution after {} milliseconds. You can try killing the script using the {} command. Script name is: {}.",
            r.start.elapsed().as_millis(),
            if r.is_eval { "SCRIPT KILL" } else { "FUNCTION KILL" },
            r.name
        );
    }
    srv.serve_while_busy();
    match srv.scripting.running.as_ref() {
        Some(r) if r.kill_requested => STEP_KILL,
        _ => STEP_CONTINUE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(wrote: bool, is_eval: bool) -> Scripting {
        let mut s = Scripting::default();
        let c = Client::new_fake(0);
        let mut r = RunningScript::new("abc", is_eval, &c);
        r.wrote = wrote;
        s.begin_run(r);
        s
    }

    #[test]
    fn kill_rules() {
        let mut s = Scripting::default();
        assert_eq!(s.kill_request(true).unwrap_err().message(), NOTBUSY);
        let mut s2 = running(true, true);
        assert_eq!(
            s2.kill_request(true).unwrap_err().message(),
            UNKILLABLE_WROTE
        );
        let mut s3 = running(false, true);
        assert_eq!(s3.kill_request(false).unwrap_err().message(), BUSY_EVAL);
        assert!(s3.kill_request(true).is_ok());
        assert!(s3.running().is_some_and(|r| r.kill_requested));
        let mut s4 = running(false, false);
        assert_eq!(s4.kill_request(true).unwrap_err().message(), BUSY_FUNCTION);
        assert!(!s4.is_busy());
        s.note_write();
        assert!(!s.running_wrote());
    }
}
