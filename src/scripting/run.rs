//! Running one script, and the bridge behind `redis.call`.
//!
//! Owns: the per-script context (the server, the fake client the script's
//! commands run as, the script's protocol and replication flags) for the
//! length of one script, lent to the functions `redis.call`, `redis.pcall`,
//! `redis.setresp`, `redis.set_repl` and `redis.acl_check_cmd` (created
//! once per state) through [`RUNNING_CTX`], which points at it exactly
//! while the script runs: called at any other time they fail, so nothing
//! in the state can reach the server afterwards. (A Lua scope would give
//! the same guarantee without `unsafe`, but creating and destroying its
//! callback was a fifth of a short script's cost.)
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
//! Errors are counted once in INFO errorstats, as Redis 7.0: a command's
//! error (or a refusal by the checks above, which also counts as a
//! rejected call of that command) is counted when it happens, and the
//! `{err=...}` table the script gets is marked `ignore_error_stats_update`
//! so the script's error reply does not count it again; any error reply a
//! script returns (nested ones too) makes its EVAL a failed call.
//!
//! A script that runs past `busy-reply-threshold` lets the event loop
//! serve other clients from its Lua hook (`busy.rs`): the hook reaches
//! the server through the same context, which is never borrowed while Lua
//! code runs.
//!
//! Must never: keep a reference to the server past the script, or let
//! the script's own call be propagated (its commands are, wrapped in
//! MULTI/EXEC by the propagator when there are several).

use super::sandbox::{error_table, error_text, raise, raise_counted};
use super::{busy, convert};
use crate::commands::{self, table, Argv};
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
use crate::persistence::propagate::target;
use crate::resp::reply::Proto;
use crate::server::Server;
use mlua::{Function, Lua, MultiValue, Table, Value};
use std::cell::{Cell, RefCell};
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
    /// An `allow-oom` flag: the script's writes skip the OOM check.
    pub allow_oom: bool,
    /// The command as sent (FUNCTION STATS shows a running function's).
    pub argv: &'a Argv<'a>,
}

/// The context the bridge functions share while a script runs.
struct Ctx<'s> {
    srv: &'s mut Server,
    fake: Box<Client>,
    /// The caller is our master's link (its scripts may write on a
    /// read-only replica).
    caller_is_master: bool,
    resp3: bool,
    /// `redis.set_repl` flags for the commands that follow: REPL_NONE
    /// (0) keeps them out of the propagated stream, REPL_AOF / REPL_REPLICA
    /// send them to one consumer (`propagate::target`).
    repl: u8,
    read_only: bool,
    allow_oom: bool,
    argbuf: Vec<u8>,
    ranges: Vec<Range<usize>>,
}

/// Which engine runs a script, and how it receives its keys and
/// arguments.
pub enum Invoke {
    /// EVAL / EVALSHA: EVAL's state, `KEYS` and `ARGV` globals.
    Eval,
    /// FCALL: the functions' state (`scripting/functions.rs`), keys and
    /// arguments as the function's two parameters.
    Function(Lua),
}

/// Run `call` for client `c` and write its reply to `c`.
pub fn run_script(srv: &mut Server, c: &mut Client, call: ScriptCall) -> CmdResult {
    run_in(srv, c, call, Invoke::Eval)
}

/// Run `call` with the engine `how` names (see [`Invoke`]).
pub fn run_in(srv: &mut Server, c: &mut Client, call: ScriptCall, how: Invoke) -> CmdResult {
    let lua = match &how {
        Invoke::Eval => srv.scripting.lua().map_err(engine_failure)?,
        Invoke::Function(lua) => lua.clone(),
    };
    let h = handles(&lua).map_err(engine_failure)?;
    let is_eval = matches!(how, Invoke::Eval);
    let (runner, run_args) = match how {
        Invoke::Eval => {
            set_eval_arrays(&lua, &h, &call.keys, &call.args).map_err(engine_failure)?;
            (
                h.run_eval.clone(),
                MultiValue::from_iter([Value::Function(call.func.clone())]),
            )
        }
        // A function gets fresh tables: a library can keep what it is
        // given in an upvalue, so a reused table would change under it.
        Invoke::Function(_) => (
            h.bridge
                .raw_get::<Function>(super::functions::RUN_FUNCTION_KEY)
                .map_err(engine_failure)?,
            MultiValue::from_iter([
                Value::Function(call.func.clone()),
                Value::Table(string_array(&lua, &call.keys).map_err(engine_failure)?),
                Value::Table(string_array(&lua, &call.args).map_err(engine_failure)?),
            ]),
        ),
    };
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
    fake.in_script = true;

    let caller_is_master = c.is_master;
    // Long scripts (busy.rs): the descriptor SCRIPT KILL and the BUSY
    // replies read, and the watchdog's threshold.
    let start = std::time::Instant::now();
    // Expiry is judged at this instant until the script ends (db.rs).
    srv.ks.frozen_ms = Some(srv.ks.now_ms);
    let name_buf = std::mem::take(&mut srv.scripting.spare_name);
    let mut running = busy::RunningScript::reusing(call.sha, is_eval, c, start, name_buf);
    if !is_eval {
        running.set_command(call.argv);
    }
    srv.scripting.begin_run(running);
    let busy_threshold_ms = srv.config.busy_reply_threshold;
    let ctx = RefCell::new(Ctx {
        srv,
        fake,
        caller_is_master,
        resp3: false,
        repl: 3,
        read_only: call.read_only,
        allow_oom: call.allow_oom,
        argbuf: Vec::new(),
        ranges: Vec::new(),
    });
    let outcome: mlua::Result<(bool, Value)> = {
        // `ctx` stays where it is until the guard has cleared the pointer.
        let _lent = CtxGuard::lend(&ctx);
        busy::arm(&lua, busy_threshold_ms, start).and_then(|()| runner.call(run_args))
    };
    busy::disarm(&lua);
    let Ctx {
        srv, fake, resp3, ..
    } = ctx.into_inner();
    srv.scripting.fake = Some(fake);
    srv.ks.frozen_ms = None;
    if let Some(done) = srv.scripting.end_run() {
        srv.scripting.spare_name = done.name;
    }
    srv.scripting.runs += 1;
    if srv.scripting.runs % GC_PERIOD == 0 {
        let _ = lua.gc_step();
    }
    srv.scripting.note_memory();
    // The script itself is not propagated: its commands were.
    srv.propagate_prevent();
    match outcome {
        Ok((true, v)) => {
            let mark = c.out.len();
            let mut errors = convert::ErrorTally::default();
            if let Err(msg) = convert::lua_to_reply(&mut c.reply(), &v, resp3, 0, &mut errors) {
                c.out.truncate(mark);
                return Err(CmdError::msg(msg));
            }
            // Error replies inside the result: counted unless a command
            // gave them (counted then), and the script's command failed.
            for msg in &errors.to_count {
                srv.stats.count_error(msg);
            }
            srv.stats.fail_running |= errors.any;
            Ok(())
        }
        Ok((false, Value::Table(t))) => {
            let msg = script_error_text(&t, call.sha);
            if convert::already_counted(&t) {
                // A command's error the script raised (`redis.call`):
                // already in INFO errorstats. Written here so the
                // dispatcher does not count it twice; the script's command
                // still counts as failed.
                c.reply().error(&msg);
                srv.stats.fail_running = true;
                return Ok(());
            }
            Err(CmdError::Other(msg.into()))
        }
        Ok((false, other)) => Err(CmdError::Other(
            format!("ERR {} script: {}", value_text(&other), call.sha).into(),
        )),
        Err(e) => Err(engine_failure(e)),
    }
}

/// Handles a run needs, resolved once per Lua state (kept in its app
/// data): looking them up by name on every run (registry and global-table
/// keys are interned strings) was a good part of a short script's cost.
struct Handles {
    bridge: Table,
    globals: Table,
    keys_name: mlua::LuaString,
    argv_name: mlua::LuaString,
    /// EVAL's runner (`bridge.run`: the script under the message handler).
    run_eval: Function,
    /// EVAL's KEYS and ARGV tables, reused run after run, and the runs
    /// since they were made (see [`set_eval_arrays`]).
    eval_arrays: RefCell<([Option<Table>; 2], u32)>,
}

fn handles(lua: &Lua) -> mlua::Result<std::rc::Rc<Handles>> {
    if let Some(h) = lua.app_data_ref::<std::rc::Rc<Handles>>() {
        return Ok(h.clone());
    }
    let bridge: Table = lua.named_registry_value(BRIDGE_KEY)?;
    let h = std::rc::Rc::new(Handles {
        globals: lua.globals(),
        keys_name: lua.create_string("KEYS")?,
        argv_name: lua.create_string("ARGV")?,
        run_eval: bridge.raw_get("run")?,
        bridge,
        eval_arrays: RefCell::new(([None, None], 0)),
    });
    lua.set_app_data(h.clone());
    Ok(h)
}

thread_local! {
    /// The running script's context (`run_in`'s `RefCell<Ctx>`, type
    /// erased), null when no script runs. Set and cleared only by
    /// [`CtxGuard`].
    static RUNNING_CTX: Cell<*const ()> = const { Cell::new(std::ptr::null()) };
}

/// Points [`RUNNING_CTX`] at a context for as long as it lives, and puts
/// the previous value back when dropped (however the run ends).
struct CtxGuard {
    previous: *const (),
}

impl CtxGuard {
    fn lend(ctx: &RefCell<Ctx>) -> CtxGuard {
        let p = ctx as *const RefCell<Ctx> as *const ();
        CtxGuard {
            previous: RUNNING_CTX.with(|c| c.replace(p)),
        }
    }
}

impl Drop for CtxGuard {
    fn drop(&mut self) {
        RUNNING_CTX.with(|c| c.set(self.previous));
    }
}

/// The server side of `redis.call` and the other server-side `redis.*`
/// functions, and of the busy watchdog: operation `op` on the running
/// script's context. Fails when no script runs.
pub fn ctx_entry(lua: &Lua, op: u8, args: MultiValue) -> mlua::Result<Value> {
    let p = RUNNING_CTX.with(|c| c.get());
    if p.is_null() {
        return Err(mlua::Error::runtime("no script is running"));
    }
    // SAFETY: a non-null pointer was set by `CtxGuard::lend` from a live
    // `&RefCell<Ctx>` in `run_in`, which keeps that `RefCell` in place and
    // drops the guard (clearing the pointer) before moving or dropping it.
    // The server is single-threaded and the pointer is thread-local, so it
    // is only read during that run, from Lua called by `run_in`. Shared
    // access only: mutation goes through the `RefCell`'s checked borrows.
    let ctx = unsafe { &*(p as *const RefCell<Ctx>) };
    ctx_op(ctx, lua, op, args)
}

/// The operations of the context function (`ctx_op`).
pub mod op {
    pub const CALL: u8 = 0;
    pub const PCALL: u8 = 1;
    pub const SETRESP: u8 = 2;
    pub const SET_REPL: u8 = 3;
    pub const ACL_CHECK: u8 = 4;
    /// The busy watchdog's step (busy.rs): returns a step result.
    pub const STEP: u8 = 5;
}

/// The server side of `redis.call`, `redis.pcall`, `redis.setresp`,
/// `redis.set_repl`, `redis.acl_check_cmd` and the busy step, for the
/// script running now.
fn ctx_op(ctx: &RefCell<Ctx>, lua: &Lua, op: u8, args: MultiValue) -> mlua::Result<Value> {
    match op {
        op::CALL => match exec(&mut ctx.borrow_mut(), lua, args)? {
            Ok(v) => Ok(v),
            Err(CallError { msg, counted: true }) => raise_counted(&msg),
            Err(CallError {
                msg,
                counted: false,
            }) => raise(&msg),
        },
        op::PCALL => match exec(&mut ctx.borrow_mut(), lua, args)? {
            Ok(v) => Ok(v),
            Err(CallError { msg, counted }) => {
                let t = error_table(lua, &msg)?;
                if counted {
                    t.raw_set(convert::COUNTED_FIELD, true)?;
                }
                Ok(Value::Table(t))
            }
        },
        op::SETRESP => {
            if args.len() != 1 {
                return raise("ERR redis.setresp() requires one argument.");
            }
            // Redis reads the version as a C int: 2.5 is 2, a table 0.
            match number_arg(&args[0]).map(convert::lua_number_to_i64) {
                Some(v @ (2 | 3)) => {
                    ctx.borrow_mut().resp3 = v == 3;
                    Ok(Value::Nil)
                }
                _ => raise("ERR RESP version must be 2 or 3."),
            }
        }
        op::SET_REPL => {
            // "two arguments": Redis 7.0's text, although it wants one.
            if args.len() != 1 {
                return raise("ERR redis.set_repl() requires two arguments.");
            }
            // Read as a C int, as Redis: 1.5 is REPL_AOF, and anything
            // that is not a number is 0 (REPL_NONE).
            match number_arg(&args[0]).map_or(0, convert::lua_number_to_i64) {
                v @ 0..=3 => {
                    ctx.borrow_mut().repl = v as u8;
                    Ok(Value::Nil)
                }
                _ => raise(
                    "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                ),
            }
        }
        op::ACL_CHECK => acl_check(&mut ctx.borrow_mut(), args).map(Value::Boolean),
        // The watchdog: the context is not borrowed while Lua code runs,
        // only inside redis.call (when no hook fires).
        op::STEP => Ok(Value::Integer(match ctx.try_borrow_mut() {
            Ok(mut g) => busy::step(&mut *g.srv),
            Err(_) => busy::STEP_CONTINUE,
        } as i64)),
        _ => Err(mlua::Error::runtime("unknown script context operation")),
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

/// Runs between two new KEYS/ARGV tables (see [`set_eval_arrays`]).
const REUSE_RUNS: u32 = 64;
/// A reused table found longer than this is replaced at once.
const REUSE_MAX_LEN: usize = 256;

/// EVAL's KEYS and ARGV globals for this run. The two tables are refilled
/// rather than made anew as Redis does: a script can keep no reference
/// past its run (globals are read-only, and an EVAL script has no upvalues
/// that outlive it), so only their contents can show, and what the last
/// script put there (fields, a metatable) is cleared first. That spares
/// two table allocations, two global stores and the GC work they drive on
/// most runs. Every [`REUSE_RUNS`] runs (or when one was grown long) they
/// are replaced, so a script that stuffed one with fields costs the runs
/// after it a bounded amount of clearing and memory.
fn set_eval_arrays(lua: &Lua, h: &Handles, keys: &[&[u8]], args: &[&[u8]]) -> mlua::Result<()> {
    let mut reuse = h.eval_arrays.borrow_mut();
    let (tables, runs) = &mut *reuse;
    *runs = (*runs + 1) % REUSE_RUNS;
    for (i, items) in [keys, args].into_iter().enumerate() {
        match &tables[i] {
            Some(t) if *runs != 0 && t.raw_len() <= REUSE_MAX_LEN => {
                t.clear()?;
                if t.metatable().is_some() {
                    t.set_metatable(None)?;
                }
                for (n, item) in items.iter().enumerate() {
                    t.raw_set(n + 1, lua.create_string(item)?)?;
                }
            }
            _ => {
                let t = string_array(lua, items)?;
                let name = if i == 0 { &h.keys_name } else { &h.argv_name };
                h.globals.raw_set(name, &t)?;
                tables[i] = Some(t);
            }
        }
    }
    Ok(())
}

/// A Lua array of strings (KEYS, ARGV).
fn string_array(lua: &Lua, items: &[&[u8]]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        t.raw_set(i + 1, lua.create_string(item)?)?;
    }
    Ok(t)
}

/// A number as Lua's `tostring` writes it (`%.14g`): what `redis.sha1hex`
/// and `redis.log` see for a number.
pub fn lua_number_text(lua: &Lua, n: f64) -> Vec<u8> {
    match lua.coerce_string(Value::Number(n)) {
        Ok(Some(s)) => s.as_bytes().to_vec(),
        _ => n.to_string().into_bytes(),
    }
}

/// Gather a call's arguments into `ctx.argbuf` / `ctx.ranges`; `Err` with
/// Redis's message when one is not a string or a number.
fn gather_args(ctx: &mut Ctx, args: &MultiValue) -> Result<(), &'static str> {
    ctx.argbuf.clear();
    ctx.ranges.clear();
    for v in args.iter() {
        let start = ctx.argbuf.len();
        match v {
            Value::String(s) => ctx.argbuf.extend_from_slice(&s.as_bytes()),
            Value::Integer(n) => ctx.argbuf.extend_from_slice(n.to_string().as_bytes()),
            // Redis formats a number argument with `%.17g`, not Lua's
            // `%.14g`: `redis.call('set', k, 0.1)` stores
            // 0.10000000000000001.
            Value::Number(n) => {
                let mut buf = [0u8; crate::resp::reply::DOUBLE_BUF];
                ctx.argbuf
                    .extend_from_slice(crate::resp::reply::fmt_double(*n, &mut buf));
            }
            _ => return Err("ERR Lua redis lib command arguments must be strings or integers"),
        }
        ctx.ranges.push(start..ctx.argbuf.len());
    }
    Ok(())
}

/// Why `redis.call` / `redis.pcall` failed.
struct CallError {
    msg: String,
    /// Already counted in INFO errorstats: the command ran and failed,
    /// or the checks before it refused it (Redis counts both at once and
    /// marks the error table `ignore_error_stats_update`). Bad arguments
    /// to `redis.call` itself are counted when the script's error reaches
    /// the client.
    counted: bool,
}

/// `redis.call` / `redis.pcall`: run one command; its reply, or the
/// error (`call` raises it, `pcall` returns it as `{err=...}`).
fn exec(ctx: &mut Ctx, lua: &Lua, args: MultiValue) -> mlua::Result<Result<Value, CallError>> {
    let not_counted = |msg: &str| {
        Ok(Err(CallError {
            msg: msg.to_string(),
            counted: false,
        }))
    };
    if args.is_empty() {
        return not_counted("ERR Please specify at least one argument for this redis lib call");
    }
    if let Err(msg) = gather_args(ctx, &args) {
        return not_counted(msg);
    }
    let argbuf = std::mem::take(&mut ctx.argbuf);
    let ranges = std::mem::take(&mut ctx.ranges);
    let result = run_command(ctx, &Argv::new(&argbuf, &ranges));
    ctx.argbuf = argbuf;
    ctx.ranges = ranges;
    if let Err(msg) = result {
        return Ok(Err(CallError { msg, counted: true }));
    }
    Ok(convert::reply_to_lua(lua, &ctx.fake.out, ctx.resp3)?
        .map_err(|msg| CallError { msg, counted: true }))
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

/// A command as a script names it: the table entry, its subcommand if it
/// has one, and the flags of both.
struct Resolved {
    idx: usize,
    cmd: &'static commands::Command,
    sub: Option<&'static commands::table::SubCommand>,
    flags: u32,
}

/// Look a script's command up (with its subcommand), as Redis's
/// lookupCommand: `Err` when it does not exist.
fn lookup(argv: &Argv) -> Result<Resolved, ()> {
    let (idx, cmd) = commands::lookup(&argv[0]).ok_or(())?;
    let mut flags = cmd.flags;
    let mut sub = None;
    if !cmd.subcommands.is_empty() && argv.len() >= 2 {
        let s = cmd
            .subcommands
            .iter()
            .find(|s| s.name.as_bytes().eq_ignore_ascii_case(&argv[1]))
            .ok_or(())?;
        flags |= s.flags;
        sub = Some(s);
    }
    Ok(Resolved {
        idx,
        cmd,
        sub,
        flags,
    })
}

/// Does the (sub)command take this many arguments?
fn arity_matches(r: &Resolved, argv: &Argv) -> bool {
    commands::arity_ok(r.cmd.arity, argv.len())
        && r.sub
            .is_none_or(|s| commands::arity_ok(s.arity, argv.len()))
}

/// Check and run one command as the script's fake client; its reply is
/// left in `ctx.fake.out`. `Err`: the error message (from a check, or the
/// command's own error).
fn run_command(ctx: &mut Ctx, argv: &Argv) -> Result<(), String> {
    let Ok(r) = lookup(argv) else {
        let msg = "ERR Unknown Redis command called from script";
        ctx.srv.stats.count_error(msg);
        return Err(msg.into());
    };
    let (idx, cmd) = (r.idx, r.cmd);
    let id = table::ids().of(idx, cmd, argv);
    // A refusal is counted at once, as an error reply and as a rejected
    // call of the command (Redis's scriptCall); the script's error later
    // carries the mark that it was counted.
    if let Err(msg) = check_command(ctx, &r, argv) {
        let srv = &mut *ctx.srv;
        srv.stats.count_error(&msg);
        srv.stats.commands[id].rejected_calls += 1;
        return Err(msg);
    }
    let srv = &mut *ctx.srv;
    ctx.fake.out.clear();
    ctx.fake.proto = if ctx.resp3 {
        Proto::Resp3
    } else {
        Proto::Resp2
    };
    let mark = srv.prop.unit_mark();
    // The clock moves on for the TTLs and deadlines this command sees,
    // while expiry stays judged at the script's start (`ks.frozen_ms`).
    let at_ns = crate::server::mono_ns();
    srv.ks.now_ms = srv.clock.unix_ms_at_ns(at_ns);
    let result = commands::execute(srv, &mut ctx.fake, id, cmd, argv, at_ns);
    match ctx.repl {
        // redis.set_repl(redis.REPL_NONE): this command stays local.
        0 => srv.prop.unit_truncate(mark),
        target::ALL => {}
        to => srv.prop.unit_retarget(mark, to),
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

/// The checks Redis makes before a script's command runs, in its order:
/// arity, NOSCRIPT, ACL, then for writes the read-only script, read-only
/// replica, MISCONF and OOM (before the script's first write only).
fn check_command(ctx: &mut Ctx, r: &Resolved, argv: &Argv) -> Result<(), String> {
    if !arity_matches(r, argv) {
        return Err("ERR Wrong number of args calling Redis command from script".into());
    }
    let flags = r.flags;
    if flags & table::NOSCRIPT != 0 {
        return Err("ERR This Redis command is not allowed from script".into());
    }
    let srv = &mut *ctx.srv;
    if srv.scripting.offline {
        let words: Vec<&[u8]> = argv.iter().collect();
        if crate::server::offline::Offline::refuses(&words) {
            return Err("ERR refused by the offline harness".into());
        }
    }
    // A replica serving no stale data runs only STALE commands while its
    // link is down, from scripts too (the script itself may be allowed).
    if flags & table::STALE == 0
        && !ctx.caller_is_master
        && crate::commands::functions::srv_is_stale(srv)
    {
        return Err("ERR Can not execute the command on a stale replica".into());
    }
    if srv.acl.restricted {
        if let Err(e) = commands::acl::check_permission(srv, &ctx.fake, r.idx, r.cmd, argv) {
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
            && !srv.scripting.running_wrote()
            && !ctx.allow_oom
            && srv.config.maxmemory > 0
            && !ctx.caller_is_master
            && crate::memory::used_memory() as u64 > srv.config.maxmemory
        {
            return Err(CmdError::Oom.message().into_owned());
        }
        // A write ran: later writes skip the OOM check, so a script is
        // not cut in half, and SCRIPT KILL now refuses (as Redis).
        srv.scripting.note_write();
    }
    Ok(())
}

/// The ACL refusal as Redis words it for a script's command.
fn script_acl_message(noperm: &str) -> &'static str {
    if noperm.contains("keys") {
        "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments"
    } else if noperm.contains("channels") {
        "ERR The user executing the script can't publish to the channel mentioned in the command"
    } else {
        "ERR The user executing the script can't run this command or subcommand"
    }
}

/// `redis.acl_check_cmd(cmd, ...)`: may the calling user run this
/// command with these arguments? Raises for a command that does not exist.
fn acl_check(ctx: &mut Ctx, args: MultiValue) -> mlua::Result<bool> {
    const INVALID: &str = "ERR Invalid command passed to redis.acl_check_cmd()";
    if args.is_empty() {
        return raise("ERR Please specify at least one argument for this redis lib call");
    }
    if let Err(msg) = gather_args(ctx, &args) {
        return raise(msg);
    }
    let argv = Argv::new(&ctx.argbuf, &ctx.ranges);
    // Only the command's existence is checked, not its arity (as Redis).
    let Ok(Resolved { idx, cmd, .. }) = lookup(&argv) else {
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
