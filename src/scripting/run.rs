//! Running one script, and the bridge behind `redis.call`.
//!
//! Owns: the per-script context (the server, the fake client the script's
//! commands run as, the script's protocol and replication flags) for the
//! length of one script, lent to the functions `redis.call`, `redis.pcall`,
//! `redis.setresp`, `redis.set_repl` and `redis.acl_check_cmd` through a
//! Lua scope: they cease to exist when the script ends, so nothing in the
//! state can reach the server afterwards.
//!
//! A script's command gets the checks Redis makes on commands called from
//! scripts (unknown command, arity, NOSCRIPT, ACL of the calling user,
//! writes from read-only scripts, read-only replica, MISCONF, OOM before
//! the first write) and then runs through the same `commands::execute` as
//! a client's: statistics, slow log, keyspace events, WATCH, and
//! propagation all behave as for any command. Time stands still while a
//! script runs (keys do not expire between two of its commands), because
//! `execute` does not move the keyspace clock.
//!
//! Must never: keep a reference to the server past the script, or let
//! the script's own call be propagated (its commands are, wrapped in
//! MULTI/EXEC by the propagator when there are several).

use super::convert;
use super::sandbox::{error_table, error_text, raise, REDIS_KEY};
use crate::commands::{self, table, Argv};
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
use crate::resp::reply::Proto;
use crate::server::Server;
use mlua::{Function, Lua, MultiValue, Table, Value};
use std::cell::RefCell;
use std::ops::Range;

/// Registry name of the bridge table the prelude's functions call.
pub const BRIDGE_KEY: &str = "redislite.bridge";

/// Run Redis's incremental GC step after this many scripts (Redis 7.0
/// does the same, so garbage from small scripts never piles up).
const GC_PERIOD: u64 = 50;

/// What one script run needs besides the server.
pub struct ScriptCall<'a> {
    /// Name in error messages: the SHA-1 for EVAL/EVALSHA.
    pub sha: &'a str,
    pub func: Function,
    pub keys: Vec<&'a [u8]>,
    pub args: Vec<&'a [u8]>,
    /// EVAL_RO / EVALSHA_RO, or a `no-writes` shebang flag.
    pub read_only: bool,
}

/// The context the bridge functions share while a script runs.
struct Ctx<'s> {
    srv: &'s mut Server,
    fake: Box<Client>,
    /// The caller is our master's link (its scripts may write on a
    /// read-only replica).
    caller_is_master: bool,
    resp3: bool,
    /// `redis.set_repl` flags: REPL_NONE (0) drops the commands that
    /// follow from the propagated stream.
    repl: u8,
    read_only: bool,
    /// A write command already ran (later writes skip the OOM check, so a
    /// script is not cut in half, as Redis).
    wrote: bool,
    argbuf: Vec<u8>,
    ranges: Vec<Range<usize>>,
}

/// Run `call` for client `c` and write its reply to `c`.
pub fn run_script(srv: &mut Server, c: &mut Client, call: ScriptCall) -> CmdResult {
    let lua = srv.scripting.lua().map_err(engine_failure)?;
    let bridge: Table = lua
        .named_registry_value(BRIDGE_KEY)
        .map_err(engine_failure)?;
    let redis: Table = lua
        .named_registry_value(REDIS_KEY)
        .map_err(engine_failure)?;
    let globals = lua.globals();
    globals
        .raw_set(
            "KEYS",
            string_array(&lua, &call.keys).map_err(engine_failure)?,
        )
        .map_err(engine_failure)?;
    globals
        .raw_set(
            "ARGV",
            string_array(&lua, &call.args).map_err(engine_failure)?,
        )
        .map_err(engine_failure)?;

    let mut fake: Box<Client> = srv
        .scripting
        .fake
        .take()
        .unwrap_or_else(|| Box::new(Client::new_fake(0)));
    fake.db = c.db;
    fake.user = c.user.clone();
    fake.authenticated = true;
    fake.proto = Proto::Resp2;
    fake.out.clear();

    let caller_is_master = c.is_master;
    let ctx = RefCell::new(Ctx {
        srv,
        fake,
        caller_is_master,
        resp3: false,
        repl: 3,
        read_only: call.read_only,
        wrote: false,
        argbuf: Vec::new(),
        ranges: Vec::new(),
    });
    let outcome: mlua::Result<(bool, Value)> = lua.scope(|scope| {
        redis.raw_set(
            "call",
            scope.create_function(|lua, args: MultiValue| match exec(&mut ctx.borrow_mut(), lua, args)? {
                Ok(v) => Ok(v),
                Err(msg) => raise(&msg),
            })?,
        )?;
        redis.raw_set(
            "pcall",
            scope.create_function(|lua, args: MultiValue| match exec(&mut ctx.borrow_mut(), lua, args)? {
                Ok(v) => Ok(v),
                Err(msg) => Ok(Value::Table(error_table(lua, &msg)?)),
            })?,
        )?;
        redis.raw_set(
            "setresp",
            scope.create_function(|_, args: MultiValue| {
                if args.len() != 1 {
                    return raise("ERR redis.setresp() requires one argument.");
                }
                match number_arg(&args[0]) {
                    Some(v) if v == 2.0 || v == 3.0 => {
                        ctx.borrow_mut().resp3 = v == 3.0;
                        Ok(())
                    }
                    _ => raise("ERR RESP version must be 2 or 3."),
                }
            })?,
        )?;
        redis.raw_set(
            "set_repl",
            scope.create_function(|_, args: MultiValue| {
                if args.len() != 1 {
                    return raise("ERR redis.set_repl() requires one argument.");
                }
                match number_arg(&args[0]) {
                    Some(v) if (0.0..=3.0).contains(&v) && v.fract() == 0.0 => {
                        ctx.borrow_mut().repl = v as u8;
                        Ok(())
                    }
                    _ => raise("ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."),
                }
            })?,
        )?;
        redis.raw_set(
            "acl_check_cmd",
            scope.create_function(|lua, args: MultiValue| acl_check(&mut ctx.borrow_mut(), lua, args))?,
        )?;
        let runner: Function = bridge.raw_get("run")?;
        runner.call::<(bool, Value)>(call.func.clone())
    });
    let Ctx {
        srv, fake, resp3, ..
    } = ctx.into_inner();
    srv.scripting.fake = Some(fake);
    srv.scripting.runs += 1;
    if srv.scripting.runs % GC_PERIOD == 0 {
        let _ = lua.gc_step();
    }
    // The script itself is not propagated: its commands were.
    srv.propagate_prevent();
    match outcome {
        Ok((true, v)) => {
            let mark = c.out.len();
            if let Err(msg) = convert::lua_to_reply(&mut c.reply(), &v, resp3, 0) {
                c.out.truncate(mark);
                return Err(CmdError::msg(msg));
            }
            Ok(())
        }
        Ok((false, Value::Table(t))) => {
            Err(CmdError::Other(script_error_text(&t, call.sha).into()))
        }
        Ok((false, other)) => Err(CmdError::Other(
            format!("ERR {} script: {}", value_text(&other), call.sha).into(),
        )),
        Err(e) => Err(engine_failure(e)),
    }
}

/// A failure of the interpreter itself (out of memory, a broken state).
fn engine_failure(e: mlua::Error) -> CmdError {
    CmdError::Other(format!("ERR Error running script: {}", error_text(&e)).into())
}

/// Redis's text for an error a script raised: its message, then which
/// script and where (`... script: <sha>, on @user_script:3.`).
fn script_error_text(t: &Table, sha: &str) -> String {
    let err = match t.raw_get::<Value>("err") {
        Ok(Value::String(s)) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
        _ => "ERR unknown error".to_string(),
    };
    let source = match t.raw_get::<Value>("source") {
        Ok(Value::String(s)) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
        _ => "?".to_string(),
    };
    let line = t.raw_get::<i64>("line").unwrap_or(0);
    format!("{err} script: {sha}, on {source}:{line}.")
}

fn value_text(v: &Value) -> String {
    v.to_string().unwrap_or_else(|_| "error".to_string())
}

/// A Lua array of strings (KEYS, ARGV).
fn string_array(lua: &Lua, items: &[&[u8]]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        t.raw_set(i + 1, lua.create_string(item)?)?;
    }
    Ok(t)
}

/// A number as Lua's `tostring` writes it (`%.14g`): what a command
/// receives for `redis.call('set', k, 3.5)`.
pub fn lua_number_text(lua: &Lua, n: f64) -> Vec<u8> {
    match lua.coerce_string(Value::Number(n)) {
        Ok(Some(s)) => s.as_bytes().to_vec(),
        _ => n.to_string().into_bytes(),
    }
}

/// Gather a call's arguments into `ctx.argbuf` / `ctx.ranges`; `Err` with
/// Redis's message when one is not a string or a number.
fn gather_args(ctx: &mut Ctx, lua: &Lua, args: &MultiValue) -> Result<(), &'static str> {
    ctx.argbuf.clear();
    ctx.ranges.clear();
    for v in args.iter() {
        let start = ctx.argbuf.len();
        match v {
            Value::String(s) => ctx.argbuf.extend_from_slice(&s.as_bytes()),
            Value::Integer(n) => ctx.argbuf.extend_from_slice(n.to_string().as_bytes()),
            Value::Number(n) => ctx.argbuf.extend_from_slice(&lua_number_text(lua, *n)),
            _ => return Err("ERR Lua redis lib command arguments must be strings or integers"),
        }
        ctx.ranges.push(start..ctx.argbuf.len());
    }
    Ok(())
}

/// `redis.call` / `redis.pcall`: run one command; its reply, or the
/// error message (`call` raises it, `pcall` returns it as `{err=...}`).
fn exec(ctx: &mut Ctx, lua: &Lua, args: MultiValue) -> mlua::Result<Result<Value, String>> {
    if args.is_empty() {
        return Ok(Err(
            "ERR Please specify at least one argument for this redis lib call".into(),
        ));
    }
    if let Err(msg) = gather_args(ctx, lua, &args) {
        return Ok(Err(msg.into()));
    }
    let argbuf = std::mem::take(&mut ctx.argbuf);
    let ranges = std::mem::take(&mut ctx.ranges);
    let result = run_command(ctx, &Argv::new(&argbuf, &ranges));
    ctx.argbuf = argbuf;
    ctx.ranges = ranges;
    if let Err(msg) = result {
        return Ok(Err(msg));
    }
    convert::reply_to_lua(lua, &ctx.fake.out, ctx.resp3)
}

/// A Lua number argument (numeric strings count, as `lua_tonumber`).
fn number_arg(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(n) => Some(*n as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => std::str::from_utf8(&s.as_bytes()).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// The command looked up with its subcommand: flags of both, or Redis's
/// message for a script calling something that does not exist.
fn resolve(argv: &Argv) -> Result<(usize, &'static commands::Command, u32), &'static str> {
    const UNKNOWN: &str = "ERR Unknown Redis command called from script";
    const ARITY: &str = "ERR Wrong number of args calling Redis command from script";
    let (idx, cmd) = commands::lookup(&argv[0]).ok_or(UNKNOWN)?;
    if !arity_ok(cmd.arity, argv.len()) {
        return Err(ARITY);
    }
    let mut flags = cmd.flags;
    if !cmd.subcommands.is_empty() && argv.len() >= 2 {
        let sub = cmd
            .subcommands
            .iter()
            .find(|s| s.name.as_bytes().eq_ignore_ascii_case(&argv[1]))
            .ok_or(UNKNOWN)?;
        if !arity_ok(sub.arity, argv.len()) {
            return Err(ARITY);
        }
        flags |= sub.flags;
    }
    Ok((idx, cmd, flags))
}

fn arity_ok(arity: i32, argc: usize) -> bool {
    if arity >= 0 {
        argc == arity as usize
    } else {
        argc >= arity.unsigned_abs() as usize
    }
}

/// Check and run one command as the script's fake client; its reply is
/// left in `ctx.fake.out`. `Err`: the error message (from a check, or the
/// command's own error).
fn run_command(ctx: &mut Ctx, argv: &Argv) -> Result<(), String> {
    let (idx, cmd, flags) = resolve(argv).map_err(str::to_string)?;
    if flags & table::NOSCRIPT != 0 {
        return Err("ERR This Redis command is not allowed from script".into());
    }
    let srv = &mut *ctx.srv;
    if srv.acl.restricted {
        if let Err(e) = commands::acl::check_permission(srv, &ctx.fake, idx, cmd, argv) {
            return Err(script_acl_message(&e.message()).into());
        }
    }
    if flags & table::WRITE != 0 {
        if ctx.read_only {
            return Err("ERR Write commands are not allowed from read-only scripts.".into());
        }
        if srv.config.replicaof.is_some() && srv.config.replica_read_only && !ctx.caller_is_master {
            return Err("READONLY You can't write against a read only replica.".into());
        }
        if let Some(e) = commands::disk_error(srv) {
            return Err(e.message().into_owned());
        }
        if flags & table::DENYOOM != 0
            && !ctx.wrote
            && srv.config.maxmemory > 0
            && !ctx.caller_is_master
            && crate::memory::used_memory() as u64 > srv.config.maxmemory
        {
            return Err(CmdError::Oom.message().into_owned());
        }
        ctx.wrote = true;
    }
    let id = table::ids().of(idx, cmd, argv);
    ctx.fake.out.clear();
    ctx.fake.proto = if ctx.resp3 {
        Proto::Resp3
    } else {
        Proto::Resp2
    };
    let mark = srv.prop.unit_mark();
    let result = commands::execute(srv, &mut ctx.fake, id, cmd, argv, crate::server::mono_ns());
    if ctx.repl == 0 {
        // redis.set_repl(redis.REPL_NONE): this command stays local.
        srv.prop.unit_truncate(mark);
    }
    match result {
        Ok(()) => Ok(()),
        Err(e) => {
            let msg = e.message();
            srv.stats.count_error(&msg);
            Err(msg.into_owned())
        }
    }
}

/// The ACL refusal as Redis words it for a script's command.
fn script_acl_message(noperm: &str) -> &'static str {
    if noperm.contains("keys") {
        "ERR The user executing the script can't access at least one of the keys mentioned in the command"
    } else if noperm.contains("channels") {
        "ERR The user executing the script can't publish to the channel mentioned in the command"
    } else {
        "ERR The user executing the script can't run this command or subcommand"
    }
}

/// `redis.acl_check_cmd(cmd, ...)`: may the calling user run this
/// command with these arguments? Raises for a command that does not exist.
fn acl_check(ctx: &mut Ctx, lua: &Lua, args: MultiValue) -> mlua::Result<bool> {
    const INVALID: &str = "ERR Invalid command passed to redis.acl_check_cmd()";
    if args.is_empty() {
        return raise("ERR Please specify at least one argument for this redis lib call");
    }
    if let Err(msg) = gather_args(ctx, lua, &args) {
        return raise(msg);
    }
    let argv = Argv::new(&ctx.argbuf, &ctx.ranges);
    let Ok((idx, cmd, _)) = resolve(&argv) else {
        return raise(INVALID);
    };
    let allowed = match ctx.fake.user.as_ref() {
        None => true,
        Some(u) => {
            let u = u.borrow();
            u.unrestricted || u.check(idx, cmd, &argv).is_ok()
        }
    };
    Ok(allowed)
}
