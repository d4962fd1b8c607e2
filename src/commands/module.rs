//! MODULE: RedisLite loads no modules, and says so as redis-server 7.0
//! does when it has none.
//!
//! Owns: MODULE LIST (always empty: clients probe it at connect time to
//! find RedisJSON, RediSearch and the like), MODULE HELP, and the refusals
//! of MODULE LOAD / LOADEX / UNLOAD. Those three are protected commands,
//! as in Redis 7.0: with `enable-module-command no` (the default) they get
//! the "not allowed" error; when allowed, loading fails the way a module
//! that cannot be loaded fails in Redis (the reason goes to the log), and
//! unloading finds no such module.
//!
//! Must never: load or execute anything from the path it is given.

use super::keys::reply_help;
use super::Argv;
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
use crate::server::Server;

const MODULE_HELP: &[&str] = &[
    "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LIST",
    "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]",
    "    Load a module library from <path>, passing to it any optional arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module configurations and optional arguments.",
    "UNLOAD <name>",
    "    Unload a module.",
    "HELP",
    "    Prints this help.",
];

/// Whether a protected command (DEBUG, MODULE LOAD...) may run for `c`
/// under its `enable-*-command` mode: "yes", or "local" and the client
/// came over loopback (Redis 7.0's default is "no").
pub fn protected_allowed(mode: &str, c: &Client) -> bool {
    match mode {
        "yes" => true,
        "local" => c.addr.starts_with("127.") || c.addr.starts_with("[::1]"),
        _ => false,
    }
}

pub fn module(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let sub = argv.lower(1);
    match sub.as_str() {
        "list" => {
            c.reply().array(0);
        }
        "help" => reply_help(c, MODULE_HELP),
        "load" | "loadex" | "unload" => {
            if !protected_allowed(&srv.config.enable_module_command, c) {
                return Err(CmdError::CommandNotAllowed {
                    command: "MODULE",
                    option: "enable-module-command",
                });
            }
            if sub == "unload" {
                return Err(CmdError::msg(
                    "ERR Error unloading module: no such module with that name",
                ));
            }
            log::warn!(
                "Module {} failed to load: this server does not load modules",
                String::from_utf8_lossy(argv.get(2))
            );
            return Err(CmdError::msg(
                "ERR Error loading the extension. Please check the server logs.",
            ));
        }
        _ => return Err(CmdError::UnknownSubcommand(sub, "MODULE".into())),
    }
    Ok(())
}
