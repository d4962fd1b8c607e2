//! SCRIPT, for a server without a scripting engine: only SCRIPT KILL.
//!
//! Owns: the answer Redis gives to SCRIPT KILL when no script is running.
//! Redis Sentinel sends SCRIPT KILL to a master that answers -BUSY; tools
//! probing a server send it too. RedisLite never runs scripts, so no
//! script is ever in execution and the answer is always Redis's NOTBUSY.
//!
//! Must never: pretend to load or run a script (SCRIPT LOAD/EXISTS/FLUSH
//! stay unknown subcommands, so a client learns scripting is absent).

use super::Argv;
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
use crate::server::Server;

/// SCRIPT KILL (the dispatcher rejects every other subcommand).
pub fn script(_srv: &mut Server, _c: &mut Client, _argv: &Argv) -> CmdResult {
    Err(CmdError::msg("NOTBUSY No scripts in execution right now."))
}
