//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP.
//!
//! Owns: the bridge between the configuration table (config.rs) and the
//! running server: after a successful CONFIG SET, the options that live
//! elsewhere at runtime (parser limits, the replica flag...) are pushed to
//! where they are used.

use super::keys::reply_help;
use super::Argv;
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
use crate::server::Server;

const CONFIG_HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Print this help.",
];

fn config_get(srv: &mut Server, c: &mut Client, argv: &Argv) {
    let mut pairs: Vec<(&'static str, String)> = Vec::new();
    for pattern in argv.iter().skip(2) {
        for (name, value) in srv.config.get_matching(pattern) {
            if !pairs.iter().any(|(n, _)| *n == name) {
                pairs.push((name, value));
            }
        }
    }
    let mut w = c.reply();
    w.map(pairs.len());
    for (name, value) in pairs {
        w.bulk(name.as_bytes());
        w.bulk(value.as_bytes());
    }
}

fn config_set(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if !argv.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity("config|set".into()));
    }
    let pairs: Vec<(String, String)> = (2..argv.len())
        .step_by(2)
        .map(|i| {
            (
                String::from_utf8_lossy(argv.get(i)).into_owned(),
                String::from_utf8_lossy(argv.get(i + 1)).into_owned(),
            )
        })
        .collect();
    srv.config
        .set_many(&pairs)
        .map_err(|e| CmdError::Other(e.into()))?;
    apply_runtime_config(srv, c);
    c.reply().ok();
    Ok(())
}

/// Push configuration values that are cached outside `Config`.
fn apply_runtime_config(srv: &mut Server, c: &mut Client) {
    srv.sync_config_to_keyspace();
    let max_bulk = srv.config.proto_max_bulk_len;
    c.parser.max_bulk_len = max_bulk;
    for other in srv.clients.iter_mut().flatten() {
        other.parser.max_bulk_len = max_bulk;
    }
}

pub fn config(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let sub = argv.lower(1);
    match sub.as_str() {
        "get" => config_get(srv, c, argv),
        "set" => config_set(srv, c, argv)?,
        "resetstat" => {
            srv.stats.reset();
            srv.ks.stats = Default::default();
            crate::memory::reset_peak();
            c.reply().ok();
        }
        "rewrite" => {
            if srv.config.config_file.is_none() {
                return Err(CmdError::msg(
                    "ERR The server is running without a config file",
                ));
            }
            match srv.config.rewrite() {
                Ok(()) => {
                    log::info!("CONFIG REWRITE executed with success.");
                    c.reply().ok();
                }
                Err(e) => {
                    log::warn!("CONFIG REWRITE failed: {e}");
                    return Err(CmdError::Other(
                        format!("ERR Rewriting config file: {e}").into(),
                    ));
                }
            }
        }
        "help" => reply_help(c, CONFIG_HELP),
        _ => return Err(CmdError::UnknownSubcommand(sub, "CONFIG".into())),
    }
    Ok(())
}
