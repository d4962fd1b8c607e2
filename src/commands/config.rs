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
    "    Prints this help.",
];

/// CONFIG GET pattern [pattern ...]. As Redis 7.0: a pattern without glob
/// characters is looked up directly and answered under the name exactly as
/// the client typed it ("CONFIG GET MAXMEMORY" answers "MAXMEMORY"); a glob
/// also matches aliases. Each option is listed once, whatever the case.
fn config_get(srv: &mut Server, c: &mut Client, argv: &Argv) {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let seen = |pairs: &Vec<(String, String)>, n: &str| {
        pairs.iter().any(|(p, _)| p.eq_ignore_ascii_case(n))
    };
    for pattern in argv.iter().skip(2) {
        if !pattern.iter().any(|b| matches!(b, b'[' | b'*' | b'?')) {
            let name = String::from_utf8_lossy(pattern).into_owned();
            if seen(&pairs, &name) {
                continue;
            }
            if let Some(value) = srv.config.get_exact(&name) {
                pairs.push((name, value));
            }
            continue;
        }
        for (name, value) in srv.config.get_matching(pattern) {
            if !seen(&pairs, name) {
                pairs.push((name.to_string(), value));
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
    // Name/value pairs: an odd count is a syntax error (the table's arity
    // already refused fewer than one pair).
    if !argv.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    // Secrets are hidden from the slow log and MONITOR (Redis's
    // SENSITIVE_CONFIG options), whether or not the SET succeeds.
    for i in (2..argv.len()).step_by(2) {
        let name = argv.get(i);
        if [&b"requirepass"[..], b"masterauth", b"masteruser"]
            .iter()
            .any(|s| name.eq_ignore_ascii_case(s))
        {
            c.redacted.push(i + 1);
        }
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
    let protected_ok = super::module::protected_allowed(&srv.config.enable_protected_configs, c);
    srv.config
        .set_many_as(&pairs, protected_ok)
        .map_err(|e| CmdError::Other(e.into()))?;
    apply_runtime_config(srv, c);
    crate::persistence::apply_config(srv).map_err(|e| CmdError::Other(e.into()))?;
    c.reply().ok();
    Ok(())
}

/// Push configuration values that are cached outside `Config`.
fn apply_runtime_config(srv: &mut Server, c: &mut Client) {
    srv.sync_config_to_keyspace();
    srv.apply_replication_config();
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
            srv.command_latencies.reset();
            srv.ks.stats = Default::default();
            srv.rdb.latest_fork_usec = 0;
            srv.rdb.total_forks = 0;
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
