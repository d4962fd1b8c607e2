//! FCALL, FCALL_RO and FUNCTION (LOAD DELETE FLUSH LIST DUMP RESTORE
//! STATS KILL HELP), as Redis 7.0.
//!
//! Owns: argument checks in Redis's order and reply shapes; the library
//! registry and its Lua state are `scripting/functions.rs`, running a
//! function is `scripting/run.rs` (the same bridge EVAL uses, so a
//! function's commands get every check a script's get).
//!
//! Must never: propagate FCALL itself (its commands are propagated, as
//! for EVAL), or leave a change to the libraries unpropagated: LOAD,
//! DELETE, FLUSH and RESTORE bump `dirty` when they change something, so
//! the dispatcher sends them as they were sent to the AOF and replicas,
//! as Redis does.

use super::Argv;
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
use crate::scripting::functions::{RestorePolicy, ENGINE_NAME};
use crate::scripting::run::{run_in, Invoke, ScriptCall};
use crate::server::Server;

pub fn fcall(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    fcall_generic(srv, c, argv, false)
}

pub fn fcall_ro(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    fcall_generic(srv, c, argv, true)
}

/// `FCALL function numkeys key... arg...`: the function is looked up
/// before numkeys is read, as in Redis.
fn fcall_generic(srv: &mut Server, c: &mut Client, argv: &Argv, read_only_cmd: bool) -> CmdResult {
    let Some(def) = srv.scripting.functions.find(&argv[1]) else {
        return Err(CmdError::msg("ERR Function not found"));
    };
    let (name, func, flags) = (def.name.clone(), def.func.clone(), def.flags);
    let n = crate::resp::parser::parse_i64(&argv[2])
        .ok_or(CmdError::msg("ERR Bad number of keys provided"))?;
    if n < 0 {
        return Err(CmdError::msg("ERR Number of keys can't be negative"));
    }
    if n as u64 > (argv.len() - 3) as u64 {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    if read_only_cmd && !flags.no_writes {
        return Err(CmdError::msg(
            "ERR Can not execute a script with write flag using *_ro command.",
        ));
    }
    // Writes are refused first (READONLY before MASTERDOWN, as Redis).
    super::scripting::check_before_start(srv, c, flags, true)?;
    if !flags.allow_stale && !c.is_master && srv_is_stale(srv) {
        return Err(CmdError::msg(
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
        ));
    }
    let rand = srv.scripting.rand.clone();
    let lua = srv
        .scripting
        .functions
        .lua(&rand)
        .map_err(|e| CmdError::Other(format!("ERR {e}").into()))?;
    let all = argv.iter().skip(3).collect::<Vec<_>>();
    let (keys, args) = all.split_at(n as usize);
    run_in(
        srv,
        c,
        ScriptCall {
            sha: &name,
            func,
            keys: keys.to_vec(),
            args: args.to_vec(),
            read_only: read_only_cmd || flags.no_writes,
            allow_oom: flags.allow_oom,
            argv,
        },
        Invoke::Function(lua),
    )
}

/// A replica whose link is down and that may not serve stale data.
pub(crate) fn srv_is_stale(srv: &Server) -> bool {
    srv.config.replicaof.is_some()
        && !srv.config.replica_serve_stale_data
        && !srv.repl.link.as_ref().is_some_and(|l| l.is_connected())
}

const FUNCTION_HELP: &[&str] = &[
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
];

/// The checks the dispatcher makes on write commands, for the write
/// subcommands (the dispatcher looks at the container's flags, and
/// FUNCTION's are empty): read-only replica, disk errors, too few
/// replicas, and for LOAD/RESTORE (`denyoom`) memory over `maxmemory`
/// after the dispatcher's eviction.
fn check_write(srv: &Server, c: &Client, denyoom: bool) -> CmdResult {
    if c.is_master {
        return Ok(());
    }
    if denyoom
        && srv.config.maxmemory > 0
        && crate::memory::used_memory() as u64 > srv.config.maxmemory
    {
        return Err(CmdError::Oom);
    }
    if srv.config.min_replicas_to_write > 0 && !srv.enough_good_replicas() {
        return Err(CmdError::msg(
            "NOREPLICAS Not enough good replicas to write.",
        ));
    }
    if srv.config.replicaof.is_some() && srv.config.replica_read_only {
        return Err(CmdError::msg(
            "READONLY You can't write against a read only replica.",
        ));
    }
    if let Some(e) = super::disk_error(srv) {
        return Err(e);
    }
    Ok(())
}

/// FUNCTION and its subcommands (the dispatcher checked the subcommand
/// and its arity), then the Lua states' memory noted for `used_memory`
/// (LOAD, RESTORE, DELETE and FLUSH change the function engine's state).
pub fn function(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let r = function_inner(srv, c, argv);
    srv.scripting.note_memory();
    r
}

fn function_inner(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let sub = argv[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"load" | b"restore" => check_write(srv, c, true)?,
        b"delete" | b"flush" => check_write(srv, c, false)?,
        _ => {}
    }
    match sub.as_slice() {
        b"load" => load(srv, c, argv),
        b"delete" => {
            if !srv.scripting.functions.delete(&argv[2]) {
                return Err(CmdError::msg("ERR Library not found"));
            }
            srv.ks.dirty += 1;
            c.reply().ok();
            Ok(())
        }
        b"flush" => {
            let mode_ok = match argv.len() {
                2 => true,
                3 => {
                    argv[2].eq_ignore_ascii_case(b"sync") || argv[2].eq_ignore_ascii_case(b"async")
                }
                _ => return Err(CmdError::subcommand_syntax(&argv[0], &argv[1])),
            };
            if !mode_ok {
                return Err(CmdError::msg(
                    "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
                ));
            }
            srv.scripting.functions.flush();
            srv.ks.dirty += 1;
            c.reply().ok();
            Ok(())
        }
        b"list" => list(srv, c, argv),
        b"dump" => {
            let compression = crate::persistence::rdb::Compression::from_config(&srv.config);
            let payload = srv.scripting.functions.dump(compression);
            c.reply().bulk(&payload);
            Ok(())
        }
        b"restore" => restore(srv, c, argv),
        b"stats" => {
            // While an EVAL script is busy Redis refuses; while a function
            // is, it describes it.
            if let Some(r) = srv.scripting.running() {
                if r.is_eval {
                    return Err(srv.scripting.busy_error());
                }
            }
            let f = &srv.scripting.functions;
            let (libs, funcs) = (f.library_count() as i64, f.function_count() as i64);
            let running = srv
                .scripting
                .running()
                .map(|r| (r.name.clone(), r.command_resp.clone(), r.start.elapsed()));
            let mut r = c.reply();
            r.map(2);
            r.bulk(b"running_script");
            match running {
                None => r.null(),
                Some((name, command, took)) => {
                    r.map(3);
                    r.bulk(b"name");
                    r.bulk(name.as_bytes());
                    r.bulk(b"command");
                    r.raw(&command);
                    r.bulk(b"duration_ms");
                    r.int(took.as_millis() as i64);
                }
            }
            r.bulk(b"engines");
            r.map(1);
            r.bulk(ENGINE_NAME.as_bytes());
            r.map(2);
            r.bulk(b"libraries_count");
            r.int(libs);
            r.bulk(b"functions_count");
            r.int(funcs);
            Ok(())
        }
        b"kill" => {
            // Only reachable from another client while a function is busy
            // (scripting/busy.rs); it fails at its next hook call.
            srv.scripting.kill_request(false)?;
            c.reply().ok();
            Ok(())
        }
        b"help" => {
            c.reply().array(FUNCTION_HELP.len());
            for line in FUNCTION_HELP {
                c.reply().simple(line);
            }
            Ok(())
        }
        _ => Err(CmdError::subcommand_syntax(&argv[0], &argv[1])),
    }
}

/// `FUNCTION LOAD [REPLACE] code`: options before the code, which is the
/// last argument.
fn load(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let mut replace = false;
    for i in 2..argv.len() - 1 {
        if argv[i].eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else {
            return Err(CmdError::Other(
                format!(
                    "ERR Unknown option given: {}",
                    String::from_utf8_lossy(&argv[i])
                )
                .into(),
            ));
        }
    }
    let code = &argv[argv.len() - 1];
    let rand = srv.scripting.rand.clone();
    let name = srv
        .scripting
        .functions
        .load(&rand, code, replace)
        .map_err(|e| CmdError::Other(e.into()))?;
    srv.ks.dirty += 1;
    c.reply().bulk(name.as_bytes());
    Ok(())
}

/// `FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]`.
fn list(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < argv.len() {
        if argv[i].eq_ignore_ascii_case(b"withcode") && !with_code {
            with_code = true;
        } else if argv[i].eq_ignore_ascii_case(b"libraryname") && pattern.is_none() {
            if i + 1 >= argv.len() {
                return Err(CmdError::msg("ERR library name argument was not given"));
            }
            pattern = Some(&argv[i + 1]);
            i += 1;
        } else {
            return Err(CmdError::Other(
                format!("ERR Unknown argument {}", String::from_utf8_lossy(&argv[i])).into(),
            ));
        }
        i += 1;
    }
    let libs: Vec<_> = srv
        .scripting
        .functions
        .libraries()
        .filter(|l| pattern.is_none_or(|p| crate::glob::glob_match(p, l.name.as_bytes(), true)))
        .collect();
    let mut r = c.reply();
    r.array(libs.len());
    for lib in libs {
        r.map(if with_code { 4 } else { 3 });
        r.bulk(b"library_name");
        r.bulk(lib.name.as_bytes());
        r.bulk(b"engine");
        r.bulk(ENGINE_NAME.as_bytes());
        r.bulk(b"functions");
        r.array(lib.functions.len());
        for f in &lib.functions {
            r.map(3);
            r.bulk(b"name");
            r.bulk(f.name.as_bytes());
            r.bulk(b"description");
            match &f.description {
                Some(d) => r.bulk(d),
                None => r.null(),
            }
            r.bulk(b"flags");
            let names: Vec<&str> = [
                (f.flags.no_writes, "no-writes"),
                (f.flags.allow_oom, "allow-oom"),
                (f.flags.allow_stale, "allow-stale"),
                (f.flags.no_cluster, "no-cluster"),
                (f.flags.allow_cross_slot_keys, "allow-cross-slot-keys"),
            ]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
            r.set(names.len());
            for name in names {
                r.simple(name);
            }
        }
        if with_code {
            r.bulk(b"library_code");
            r.bulk(&lib.code);
        }
    }
    Ok(())
}

/// `FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]` (APPEND by default).
fn restore(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let policy = match argv.len() {
        3 => RestorePolicy::Append,
        4 => {
            if argv[3].eq_ignore_ascii_case(b"flush") {
                RestorePolicy::Flush
            } else if argv[3].eq_ignore_ascii_case(b"append") {
                RestorePolicy::Append
            } else if argv[3].eq_ignore_ascii_case(b"replace") {
                RestorePolicy::Replace
            } else {
                return Err(CmdError::msg(
                    "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
                ));
            }
        }
        _ => return Err(CmdError::subcommand_syntax(&argv[0], &argv[1])),
    };
    let rand = srv.scripting.rand.clone();
    let check_crc = !srv.skip_checksum_validation;
    srv.scripting
        .functions
        .restore(&rand, &argv[2], policy, check_crc)
        .map_err(|e| CmdError::Other(e.into()))?;
    srv.ks.dirty += 1;
    c.reply().ok();
    Ok(())
}
