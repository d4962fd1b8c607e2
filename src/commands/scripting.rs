//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (LOAD EXISTS FLUSH KILL
//! DEBUG HELP).
//!
//! Owns: argument checks in Redis's order, the script cache's commands,
//! and the checks a script with a shebang (`#!lua flags=...`) gets before
//! it starts. Running the script is `scripting::run`.
//!
//! Must never: compile a script twice for the same body (the cache is by
//! SHA-1, as EVALSHA needs), or propagate SCRIPT LOAD / EVAL themselves:
//! Redis 7.0 replicates a script's effects, so replicas and the AOF never
//! need the script.

use super::Argv;
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
use crate::scripting::run::{run_script, ScriptCall};
use crate::scripting::{parse_shebang, sha1_hex, Script, ScriptFlags};
use crate::server::Server;
use mlua::chunk::ChunkMode;

/// Chunk name of EVAL scripts: errors read `user_script:3: ...`.
const CHUNK_NAME: &str = "@user_script";

pub fn eval(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    eval_generic(srv, c, argv, false, false)
}

pub fn evalsha(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    eval_generic(srv, c, argv, true, false)
}

pub fn eval_ro(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    eval_generic(srv, c, argv, false, true)
}

pub fn evalsha_ro(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    eval_generic(srv, c, argv, true, true)
}

/// The number of keys of `EVAL script numkeys key... arg...`.
fn numkeys(argv: &Argv) -> Result<usize, CmdError> {
    let n = crate::resp::parser::parse_i64(&argv[2]).ok_or(CmdError::NotInteger)?;
    if n < 0 {
        return Err(CmdError::msg("ERR Number of keys can't be negative"));
    }
    let n = n as u64;
    if n > (argv.len() - 3) as u64 {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    Ok(n as usize)
}

fn eval_generic(
    srv: &mut Server,
    c: &mut Client,
    argv: &Argv,
    by_sha: bool,
    read_only_cmd: bool,
) -> CmdResult {
    // EVAL* are SKIP_MONITOR so that MONITOR shows them here, before the
    // commands their script runs (as Redis's evalCommand does), even when
    // they fail.
    if !srv.monitors.is_empty() {
        crate::observe::monitor::feed(srv, c, argv);
    }
    let n = numkeys(argv)?;
    // Whether the script's flags were known before this command (cached
    // by an earlier EVAL or SCRIPT LOAD): Redis then refuses a write
    // script on a read-only replica as it refuses any write command.
    let known_before: bool;
    const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";
    // EVALSHA's name, lower-cased on the stack: no allocation per call.
    let mut sha_buf = [0u8; 40];
    let sha_owned: String;
    let sha: &str = if by_sha {
        let given = &argv[1];
        if given.len() != sha_buf.len() {
            return Err(CmdError::msg(NOSCRIPT));
        }
        for (d, b) in sha_buf.iter_mut().zip(given.iter()) {
            *d = b.to_ascii_lowercase();
        }
        known_before = true;
        std::str::from_utf8(&sha_buf).map_err(|_| CmdError::msg(NOSCRIPT))?
    } else {
        (sha_owned, known_before) = cache_script(srv, &argv[1])?;
        &sha_owned
    };
    let Some(script) = srv.scripting.scripts.get(sha) else {
        return Err(CmdError::msg(NOSCRIPT));
    };
    let func = script.func.clone();
    let flags = script.flags;
    if flags.shebang {
        // A script that declares it may write cannot run as EVAL_RO.
        if read_only_cmd && !flags.no_writes {
            return Err(CmdError::msg(
                "ERR Can not execute a script with write flag using *_ro command.",
            ));
        }
        check_before_start(srv, c, flags, known_before)?;
    }
    let mut keys = argv.iter().skip(3).collect::<Vec<_>>();
    let args = keys.split_off(n);
    run_script(
        srv,
        c,
        ScriptCall {
            sha,
            func,
            keys,
            args,
            read_only: read_only_cmd || flags.no_writes,
            allow_oom: flags.allow_oom,
            argv,
        },
    )
}

/// What Redis 7.0 checks before a script with a shebang starts: a script
/// that may write is refused where writes are (read-only replica, disk
/// errors, too few replicas, out of memory unless `allow-oom`).
/// `known_before`: the flags were known before the command (a cached
/// script, a function), so Redis's command-level check refuses it with
/// the ordinary READONLY text; else its script-level text.
pub(crate) fn check_before_start(
    srv: &mut Server,
    c: &Client,
    flags: ScriptFlags,
    known_before: bool,
) -> CmdResult {
    if flags.no_writes || c.is_master {
        return Ok(());
    }
    if srv.config.replicaof.is_some() && srv.config.replica_read_only {
        return Err(CmdError::msg(if known_before {
            "READONLY You can't write against a read only replica."
        } else {
            "READONLY Can not run script with write flag on readonly replica"
        }));
    }
    if let Some(e) = super::disk_error(srv) {
        return Err(e);
    }
    if srv.config.min_replicas_to_write > 0 && !srv.enough_good_replicas() {
        return Err(CmdError::msg(
            "NOREPLICAS Not enough good replicas to write.",
        ));
    }
    if !flags.allow_oom
        && srv.config.maxmemory > 0
        && crate::memory::used_memory() as u64 > srv.config.maxmemory
    {
        return Err(CmdError::Oom);
    }
    Ok(())
}

/// Compile `body` into the cache unless it is there; its SHA-1, and
/// whether it was there already.
fn cache_script(srv: &mut Server, body: &[u8]) -> Result<(String, bool), CmdError> {
    let sha = sha1_hex(body);
    if srv.scripting.scripts.contains_key(&sha) {
        return Ok((sha, true));
    }
    let flags = parse_shebang(body).map_err(|e| CmdError::Other(e.into()))?;
    // The shebang line is not Lua: it is compiled as an empty line, so
    // line numbers in errors stay those of the body.
    let source = match flags {
        Some(_) => &body[body.iter().position(|&b| b == b'\n').unwrap_or(body.len())..],
        None => body,
    };
    let lua = srv
        .scripting
        .lua()
        .map_err(|e| CmdError::Other(format!("ERR {e}").into()))?;
    let func = lua
        .load(source)
        .set_name(CHUNK_NAME)
        .set_mode(ChunkMode::Text)
        .into_function()
        .map_err(|e| {
            CmdError::Other(
                format!(
                    "ERR Error compiling script (new function): {}",
                    crate::scripting::sandbox::syntax_message(&e)
                )
                .into(),
            )
        })?;
    srv.scripting.cached_bytes += body.len();
    srv.scripting.scripts.insert(
        sha.clone(),
        Script {
            func,
            flags: flags.unwrap_or_default(),
        },
    );
    Ok((sha, false))
}

const SCRIPT_HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
];

/// SCRIPT and its subcommands (the dispatcher checked name and arity),
/// then the Lua states' memory noted for `used_memory` (LOAD grows the
/// state, FLUSH drops it).
pub fn script(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let r = script_inner(srv, c, argv);
    srv.scripting.note_memory();
    r
}

fn script_inner(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let sub = argv[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"load" => {
            let (sha, _) = cache_script(srv, &argv[2])?;
            c.reply().bulk(sha.as_bytes());
        }
        b"exists" => {
            c.reply().array(argv.len() - 2);
            for i in 2..argv.len() {
                let sha = String::from_utf8_lossy(&argv[i]).to_ascii_lowercase();
                let found = srv.scripting.scripts.contains_key(&sha);
                c.reply().int(found as i64);
            }
        }
        b"flush" => {
            let mode_ok = match argv.len() {
                2 => true,
                3 => {
                    argv[2].eq_ignore_ascii_case(b"sync") || argv[2].eq_ignore_ascii_case(b"async")
                }
                _ => false,
            };
            if !mode_ok {
                return Err(CmdError::msg(
                    "ERR SCRIPT FLUSH only support SYNC|ASYNC option",
                ));
            }
            srv.scripting.flush();
            c.reply().ok();
        }
        b"kill" => {
            // Only reachable from another client while a script is busy
            // (scripting/busy.rs); the script fails at its next hook call.
            srv.scripting.kill_request(true)?;
            c.reply().ok();
        }
        b"debug" => {
            // Redis checks for replies not yet sent first (inside EXEC
            // there always are: the array's header).
            if c.out_pos < c.out.len() {
                return Err(CmdError::msg(
                    "ERR SCRIPT DEBUG must be called outside a pipeline",
                ));
            }
            if c.multi.is_some() || c.in_exec {
                return Err(CmdError::msg(
                    "ERR SCRIPT DEBUG must be called outside MULTI",
                ));
            }
            if argv[2].eq_ignore_ascii_case(b"no") {
                c.reply().ok();
            } else if argv[2].eq_ignore_ascii_case(b"yes") || argv[2].eq_ignore_ascii_case(b"sync")
            {
                return Err(CmdError::msg(
                    "ERR RedisLite has no Lua debugger (SCRIPT DEBUG YES|SYNC are not supported)",
                ));
            } else {
                return Err(CmdError::msg("ERR Use SCRIPT DEBUG YES/SYNC/NO"));
            }
        }
        b"help" => {
            c.reply().array(SCRIPT_HELP.len());
            for line in SCRIPT_HELP {
                c.reply().simple(line);
            }
        }
        _ => return Err(CmdError::subcommand_syntax(&argv[0], &argv[1])),
    }
    Ok(())
}
