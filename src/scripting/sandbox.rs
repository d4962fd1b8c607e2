//! The Lua state scripts run in: which globals exist, what a script may
//! not change, and the parts of the `redis` library that need no server.
//!
//! Owns: building the state once. A script sees what Redis 7.0 gives it:
//! the base library without file, module and environment functions
//! (`print`, `dofile`, `loadfile`, `require`, `getfenv`, `setfenv`...),
//! `string`, `table`, `math` (with Redis's reproducible `random`),
//! `coroutine`, `bit`, `cjson`, `cmsgpack`, `struct`, and `redis`.
//!
//! Must never: let one script change what the next one sees. The state
//! lives as long as the server (or until SCRIPT FLUSH), and scripts of
//! different users share it, so: creating or reading an undeclared global
//! fails as in Redis ("Attempt to modify a readonly table", "Script
//! attempted to access nonexistent global variable"); the library tables
//! are read-only views (a script cannot replace `redis.call` or
//! `string.format` for everyone, nor reach the real tables through
//! `rawset`, `setmetatable`, `table.insert` or the strings' metatable); `loadstring`/`load` compile text only,
//! never bytecode, which could break the VM's memory safety.
//!
//! The server half of the `redis` library (`call`, `pcall`, `setresp`,
//! `set_repl`, `acl_check_cmd`) is Rust functions created here that call
//! the running script's context function, which `run.rs` puts in the
//! hidden `bridge` table for the length of one script.

use super::rand48::Rand48;
use mlua::chunk::ChunkMode;
use mlua::{Lua, LuaOptions, LuaString, MultiValue, StdLib, Table, Value};
use std::cell::Cell;
use std::rc::Rc;

/// Chunk name of the prelude: error positions skip frames from it, so an
/// error raised by `redis.call` points at the script's line.
pub const PRELUDE_NAME: &str = "=redislite";

/// Registry name of the real `redis` table (scripts see a read-only view).
pub const REDIS_KEY: &str = "redislite.redis";

/// Globals the base library defines that Redis removes.
const REMOVED_GLOBALS: &[&str] = &[
    "print", "dofile", "loadfile", "getfenv", "setfenv", "module", "require", "newproxy",
    "package", "io", "os", "debug",
];

/// Build the sandboxed state. `rand` is the `math.random` sequence, kept
/// by the caller so it survives SCRIPT FLUSH as in Redis. `memory_limit`
/// caps the state's allocations (only the offline harness sets one:
/// Redis puts no limit on a script's memory).
pub fn new_state(rand: Rc<Cell<Rand48>>, memory_limit: Option<usize>) -> mlua::Result<Lua> {
    let lua = Lua::new_with(
        StdLib::TABLE | StdLib::STRING | StdLib::MATH,
        LuaOptions::new(),
    )?;
    if let Some(limit) = memory_limit {
        lua.set_memory_limit(limit)?;
    }
    let g = lua.globals();
    for name in REMOVED_GLOBALS {
        g.raw_set(*name, Value::Nil)?;
    }
    g.raw_set("loadstring", lua.create_function(loadstring)?)?;
    g.raw_set("load", lua.create_function(load)?)?;
    super::libs::register(&lua, &g)?;
    g.raw_set("__redis__err__handler", lua.create_function(error_handler)?)?;

    let bridge = lua.create_table()?;
    let math: Table = g.raw_get("math")?;
    let r = rand.clone();
    math.raw_set(
        "random",
        lua.create_function(move |_, args: MultiValue| {
            let mut g = r.get();
            let out = random(&mut g, &args);
            r.set(g);
            out
        })?,
    )?;
    math.raw_set(
        "randomseed",
        lua.create_function(move |_, args: MultiValue| {
            let seed = check_int(&args, 0, "randomseed")?;
            rand.set(Rand48::seeded(seed as i32));
            Ok(())
        })?,
    )?;
    let proxies = lua.create_table()?;
    bridge.raw_set("proxies", &proxies)?;
    let ro = lua.create_table()?;
    bridge.raw_set("ro", &ro)?;
    bridge.raw_set(
        "raw_setmetatable",
        g.raw_get::<mlua::Function>("setmetatable")?,
    )?;
    guard_raw_writes(&lua, &g, ro)?;
    bridge.raw_set("error_message", lua.create_function(error_message)?)?;
    // The `redis` table. All its functions are Rust functions, so a
    // script's `return redis.call(...)` is not a Lua tail call and error
    // positions keep the script's line.
    let redis = lua.create_table()?;
    redis.raw_set("sha1hex", lua.create_function(sha1hex)?)?;
    redis.raw_set("log", lua.create_function(log)?)?;
    // The server side: each is the running script's context (run.rs,
    // `ctx_entry`) with an operation code, so these are created once, and
    // a script's `return redis.call(...)` is a call of a C function, not a
    // Lua tail call (error positions keep the script's line).
    use super::run::{ctx_entry, op};
    for (name, code) in [
        ("call", op::CALL),
        ("pcall", op::PCALL),
        ("setresp", op::SETRESP),
        ("set_repl", op::SET_REPL),
        ("acl_check_cmd", op::ACL_CHECK),
    ] {
        redis.raw_set(
            name,
            lua.create_function(move |lua, args: MultiValue| ctx_entry(lua, code, args))?,
        )?;
    }
    lua.set_named_registry_value(REDIS_KEY, &redis)?;
    bridge.raw_set("redis", redis)?;
    bridge.raw_set("version", crate::commands::connection::REDIS_COMPAT_VERSION)?;
    bridge.raw_set("version_num", redis_version_num())?;
    lua.set_named_registry_value(super::run::BRIDGE_KEY, &bridge)?;
    lua.load(PRELUDE)
        .set_name(PRELUDE_NAME)
        .set_mode(ChunkMode::Text)
        .call::<()>(bridge)?;
    see_through_views(&lua, &g, proxies)?;
    Ok(lua)
}

/// `math.random([m [, n]])` as Lua 5.1 defines it, drawing from Redis's
/// `rand48` sequence.
fn random(g: &mut Rand48, args: &MultiValue) -> mlua::Result<f64> {
    let r = g.next_unit();
    match args.len() {
        0 => Ok(r),
        1 => {
            let u = check_int(args, 0, "random")?;
            if u < 1 {
                return Err(mlua::Error::runtime(
                    "bad argument #1 to 'random' (interval is empty)",
                ));
            }
            Ok((r * u as f64).floor() + 1.0)
        }
        2 => {
            let l = check_int(args, 0, "random")?;
            let u = check_int(args, 1, "random")?;
            if l > u {
                return Err(mlua::Error::runtime(
                    "bad argument #2 to 'random' (interval is empty)",
                ));
            }
            Ok((r * (u - l + 1) as f64).floor() + l as f64)
        }
        _ => Err(mlua::Error::runtime("wrong number of arguments")),
    }
}

/// Lua's `luaL_checkint`: argument `i` as an integer (numeric strings
/// accepted, truncated toward zero), or Lua's error text.
fn check_int(args: &MultiValue, i: usize, func: &str) -> mlua::Result<i64> {
    let n = match args.get(i) {
        Some(Value::Integer(n)) => Some(*n as f64),
        Some(Value::Number(n)) => Some(*n),
        Some(Value::String(s)) => std::str::from_utf8(&s.as_bytes())
            .ok()
            .and_then(|t| t.trim().parse::<f64>().ok()),
        _ => None,
    };
    match n {
        Some(n) => Ok(super::convert::lua_number_to_i64(n)),
        None => {
            let got = match args.get(i) {
                None => "no value".to_string(),
                Some(v) => lua_type_name(v).to_string(),
            };
            Err(mlua::Error::runtime(format!(
                "bad argument #{} to '{func}' (number expected, got {got})",
                i + 1
            )))
        }
    }
}

/// Lua 5.1's name for a value's type (it has one number type).
fn lua_type_name(v: &Value) -> &'static str {
    match v {
        Value::Integer(_) => "number",
        other => other.type_name(),
    }
}

/// `rawset`, `setmetatable` and `table.insert` write without asking the
/// table's metatable, so the read-only views cannot stop them: these
/// versions refuse the tables in `ro` (the views and `_G`) with Redis's
/// message, without a position (Redis's VM raises it inside the C
/// function). They are Rust functions, as the originals are C ones, so a
/// script's `return rawset(...)` keeps its frame and errors keep the
/// script's line.
fn guard_raw_writes(lua: &Lua, g: &Table, ro: Table) -> mlua::Result<()> {
    const READONLY: &str = "ERR Attempt to modify a readonly table";
    let is_ro = |ro: &Table, v: Option<&Value>| -> mlua::Result<bool> {
        Ok(match v {
            Some(v @ Value::Table(_)) => ro.raw_get::<Value>(v.clone())? != Value::Nil,
            _ => false,
        })
    };
    let table_arg = |args: &MultiValue, func: &str| -> mlua::Result<Table> {
        match args.front() {
            Some(Value::Table(t)) => Ok(t.clone()),
            other => Err(mlua::Error::runtime(format!(
                "bad argument #1 to '{func}' (table expected, got {})",
                other.map(lua_type_name).unwrap_or("no value")
            ))),
        }
    };
    let r = ro.clone();
    g.raw_set(
        "rawset",
        lua.create_function(move |_, args: MultiValue| {
            let t = table_arg(&args, "rawset")?;
            for i in [1, 2] {
                if args.get(i).is_none() {
                    return Err(mlua::Error::runtime(format!(
                        "bad argument #{} to 'rawset' (value expected)",
                        i + 1
                    )));
                }
            }
            if is_ro(&r, args.front())? {
                return raise(READONLY);
            }
            match &args[1] {
                Value::Nil => return Err(mlua::Error::runtime("table index is nil")),
                Value::Number(n) if n.is_nan() => {
                    return Err(mlua::Error::runtime("table index is NaN"))
                }
                _ => {}
            }
            t.raw_set(args[1].clone(), args[2].clone())?;
            Ok(t)
        })?,
    )?;
    let r = ro.clone();
    let setmt: mlua::Function = g.raw_get("setmetatable")?;
    g.raw_set(
        "setmetatable",
        lua.create_function(move |_, args: MultiValue| {
            table_arg(&args, "setmetatable")?;
            if !matches!(args.get(1), Some(Value::Nil | Value::Table(_))) {
                return Err(mlua::Error::runtime(
                    "bad argument #2 to 'setmetatable' (nil or table expected)",
                ));
            }
            if is_ro(&r, args.front())? {
                return raise(READONLY);
            }
            setmt.call::<Value>(args)
        })?,
    )?;
    let table: Table = g.raw_get("table")?;
    let insert: mlua::Function = table.raw_get("insert")?;
    table.raw_set(
        "insert",
        lua.create_function(move |_, args: MultiValue| {
            table_arg(&args, "insert")?;
            if is_ro(&ro, args.front())? {
                return raise(READONLY);
            }
            insert.call::<()>(args)
        })?,
    )?;
    Ok(())
}

/// Replace `pairs`, `ipairs` and `next` with versions that walk the table
/// behind a read-only view (`proxies`: view -> table), so `pairs(redis)`
/// lists the library as in Redis.
fn see_through_views(lua: &Lua, g: &Table, proxies: Table) -> mlua::Result<()> {
    let raw_next: mlua::Function = g.raw_get("next")?;
    let raw_ipairs: mlua::Function = g.raw_get("ipairs")?;
    let behind = move |v: &Value| -> mlua::Result<Option<Table>> {
        match v {
            Value::Table(t) => Ok(Some(match proxies.raw_get::<Value>(t)? {
                Value::Table(real) => real,
                _ => t.clone(),
            })),
            _ => Ok(None),
        }
    };
    let table_expected = |func: &str, v: Option<&Value>| {
        let got = v.map(lua_type_name).unwrap_or("no value");
        mlua::Error::runtime(format!(
            "bad argument #1 to '{func}' (table expected, got {got})"
        ))
    };
    let b = behind.clone();
    let n = raw_next.clone();
    g.raw_set(
        "pairs",
        lua.create_function(move |_, args: MultiValue| match args.front() {
            Some(v) => match b(v)? {
                Some(t) => Ok((n.clone(), t, Value::Nil)),
                None => Err(table_expected("pairs", Some(v))),
            },
            None => Err(table_expected("pairs", None)),
        })?,
    )?;
    let b = behind.clone();
    g.raw_set(
        "ipairs",
        lua.create_function(move |_, args: MultiValue| match args.front() {
            Some(v) => match b(v)? {
                Some(t) => raw_ipairs.call::<MultiValue>(t),
                None => Err(table_expected("ipairs", Some(v))),
            },
            None => Err(table_expected("ipairs", None)),
        })?,
    )?;
    g.raw_set(
        "next",
        lua.create_function(move |_, args: MultiValue| {
            let first = args.front().cloned();
            match first.as_ref().map(&behind).transpose()?.flatten() {
                Some(t) => {
                    let key = args.get(1).cloned().unwrap_or(Value::Nil);
                    raw_next.call::<MultiValue>((t, key))
                }
                None => Err(table_expected("next", first.as_ref())),
            }
        })?,
    )?;
    Ok(())
}

/// Redis's `REDIS_VERSION_NUM`: 0x00MMmmpp.
fn redis_version_num() -> i64 {
    let mut parts = crate::commands::connection::REDIS_COMPAT_VERSION
        .split('.')
        .map(|p| p.parse::<i64>().unwrap_or(0));
    let (a, b, c) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    (a << 16) | (b << 8) | c
}

/// Compile `text` as a chunk named `name`. Bytecode is refused the way
/// Redis's patched parser refuses it: read as text, so it fails at its
/// first byte with a syntax error.
fn compile(lua: &Lua, text: &[u8], name: &[u8]) -> mlua::Result<MultiValue> {
    let name = String::from_utf8_lossy(name.split(|&b| b == 0).next().unwrap_or(b""));
    let result = if text.first() == Some(&0x1b) {
        let mut padded = Vec::with_capacity(text.len() + 1);
        padded.push(b' ');
        padded.extend_from_slice(text);
        lua.load(padded)
            .set_name(name)
            .set_mode(ChunkMode::Text)
            .into_function()
    } else {
        lua.load(text)
            .set_name(name)
            .set_mode(ChunkMode::Text)
            .into_function()
    };
    match result {
        Ok(f) => Ok(MultiValue::from_iter([Value::Function(f)])),
        Err(e) => Ok(MultiValue::from_iter([
            Value::Nil,
            Value::String(lua.create_string(syntax_message(&e))?),
        ])),
    }
}

/// The message Lua gave for a chunk that did not compile.
pub fn syntax_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// `loadstring(s [, chunkname])`.
fn loadstring(lua: &Lua, (text, name): (LuaString, Option<LuaString>)) -> mlua::Result<MultiValue> {
    let text = text.as_bytes();
    let name = match &name {
        Some(n) => n.as_bytes().to_vec(),
        None => text.to_vec(),
    };
    compile(lua, &text, &name)
}

/// Upper bound on what `load` collects from its reader function.
const LOAD_LIMIT: usize = 512 * 1024 * 1024;

/// `load(func [, chunkname])`: the pieces `func` returns, then as
/// `loadstring`.
fn load(
    lua: &Lua,
    (reader, name): (mlua::Function, Option<LuaString>),
) -> mlua::Result<MultiValue> {
    let mut text = Vec::new();
    loop {
        match reader.call::<Value>(())? {
            Value::String(s) if !s.as_bytes().is_empty() => {
                if text.len() + s.as_bytes().len() > LOAD_LIMIT {
                    return Err(mlua::Error::runtime("chunk too large"));
                }
                text.extend_from_slice(&s.as_bytes());
            }
            _ => break,
        }
    }
    let name = match &name {
        Some(n) => n.as_bytes().to_vec(),
        None => b"=(load)".to_vec(),
    };
    compile(lua, &text, &name)
}

/// An error a `redis.*` function raises with Redis's exact message: the
/// message handler turns it into `{err = message}` (no `ERR ` added, no
/// position in the text). `counted`: the error is already in INFO
/// errorstats (a command's error `redis.call` raises), so the table gets
/// `ignore_error_stats_update = true`.
#[derive(Debug)]
pub struct RaisedReply {
    pub msg: String,
    pub counted: bool,
}

impl std::fmt::Display for RaisedReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for RaisedReply {}

/// Raise `msg` from a Rust function as Redis raises its own errors.
pub fn raise<T>(msg: &str) -> mlua::Result<T> {
    Err(mlua::Error::external(RaisedReply {
        msg: msg.to_string(),
        counted: false,
    }))
}

/// Raise a command's error, already counted in INFO errorstats.
pub fn raise_counted<T>(msg: &str) -> mlua::Result<T> {
    Err(mlua::Error::external(RaisedReply {
        msg: msg.to_string(),
        counted: true,
    }))
}

/// The [`RaisedReply`] inside an error from a Rust function, if any.
fn raised_reply(e: &mlua::Error) -> Option<&RaisedReply> {
    match e {
        mlua::Error::CallbackError { cause, .. } => raised_reply(cause),
        mlua::Error::ExternalError(inner) => inner.downcast_ref::<RaisedReply>(),
        mlua::Error::WithContext { cause, .. } => raised_reply(cause),
        _ => None,
    }
}

/// `bridge.error_message(e)`: what `pcall` returns for an error a Rust
/// function raised.
fn error_message(lua: &Lua, e: Value) -> mlua::Result<Value> {
    Ok(match e {
        Value::Error(e) => Value::String(lua.create_string(match raised_reply(&e) {
            Some(r) => r.msg.clone(),
            None => error_text(&e),
        })?),
        other => other,
    })
}

/// `redis.sha1hex(s)`.
fn sha1hex(lua: &Lua, args: MultiValue) -> mlua::Result<LuaString> {
    if args.len() != 1 {
        return raise("ERR wrong number of arguments");
    }
    let bytes = match &args[0] {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Integer(n) => n.to_string().into_bytes(),
        Value::Number(n) => super::run::lua_number_text(lua, *n),
        _ => Vec::new(),
    };
    lua.create_string(super::sha1_hex(&bytes))
}

/// `redis.log(level, msg, ...)`: one server log line, the arguments that
/// are strings or numbers joined by spaces.
fn log(lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    if args.len() < 2 {
        return raise("ERR redis.log() requires two arguments or more.");
    }
    // `lua_isnumber`: numeric strings count.
    let level = match &args[0] {
        Value::Integer(n) => *n as f64,
        Value::Number(n) => *n,
        Value::String(s) => match std::str::from_utf8(&s.as_bytes())
            .ok()
            .and_then(|t| t.trim().parse::<f64>().ok())
        {
            Some(n) => n,
            None => return raise("ERR First argument must be a number (log level)."),
        },
        _ => return raise("ERR First argument must be a number (log level)."),
    };
    if !(0.0..=3.0).contains(&level) {
        return raise("ERR Invalid debug level.");
    }
    let mut line = String::new();
    for v in args.iter().skip(1) {
        let piece = match v {
            Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
            Value::Integer(n) => n.to_string(),
            Value::Number(n) => {
                String::from_utf8_lossy(&super::run::lua_number_text(lua, *n)).into_owned()
            }
            _ => continue,
        };
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&piece);
    }
    // As the server's own `loglevel` maps (main.rs): debug and verbose
    // are `debug`, notice `info`, warning `warn`.
    match level as i64 {
        0 | 1 => log::debug!("{line}"),
        2 => log::info!("{line}"),
        _ => log::warn!("{line}"),
    }
    Ok(())
}

/// The message handler every script runs under (`xpcall`): turns what was
/// raised into Redis's error table `{err=..., source=..., line=...}`.
/// A string (a Lua runtime error, `error('x')`) gets the `ERR ` code;
/// a table keeps its `err` (what `redis.call` raises, `error({err=...})`).
/// The position is the innermost frame of the script itself, skipping C
/// functions and the prelude.
fn error_handler(lua: &Lua, err: Value) -> mlua::Result<Table> {
    let table = match err {
        Value::Table(t) if matches!(t.raw_get::<Value>("err")?, Value::String(_)) => t,
        Value::Table(_) => error_table(lua, "ERR unknown error (an error table without 'err')")?,
        Value::String(s) => {
            let mut msg = b"ERR ".to_vec();
            msg.extend_from_slice(&s.as_bytes());
            let t = lua.create_table()?;
            t.raw_set("err", lua.create_string(msg)?)?;
            t
        }
        Value::Error(e) => match raised_reply(&e) {
            Some(r) => {
                let t = error_table(lua, &r.msg)?;
                if r.counted {
                    t.raw_set(super::convert::COUNTED_FIELD, true)?;
                }
                t
            }
            // A plain error from a Rust function gets the position Lua's
            // luaL_error gives: the script line that called it.
            None => error_table(
                lua,
                &format!("ERR {}{}", script_position(lua), error_text(&e)),
            )?,
        },
        Value::Nil => error_table(lua, "ERR nil")?,
        other => error_table(lua, &format!("ERR {}", other.to_string()?))?,
    };
    for level in 1..64 {
        let frame = lua.inspect_stack(level, |d| {
            let src = d.source();
            let source = src.source.as_deref().unwrap_or("").to_string();
            (src.what, source, d.current_line())
        });
        let Some((what, source, line)) = frame else {
            break;
        };
        if what == "C" || source == PRELUDE_NAME {
            continue;
        }
        table.raw_set("source", source)?;
        table.raw_set("line", line.map(|l| l as i64).unwrap_or(0))?;
        break;
    }
    Ok(table)
}

/// `user_script:3: `: where the innermost script frame is.
fn script_position(lua: &Lua) -> String {
    for level in 1..64 {
        let Some((what, short, line)) = lua.inspect_stack(level, |d| {
            let src = d.source();
            (
                src.what,
                src.short_src.as_deref().unwrap_or("?").to_string(),
                d.current_line(),
            )
        }) else {
            break;
        };
        if what == "C" || short == PRELUDE_NAME.trim_start_matches('=') {
            continue;
        }
        return format!("{short}:{}: ", line.unwrap_or(0));
    }
    String::new()
}

/// `{err = msg}`.
pub fn error_table(lua: &Lua, msg: &str) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("err", msg)?;
    Ok(t)
}

/// A Rust-side error as the one-line text a script error shows.
pub fn error_text(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } => error_text(cause),
        mlua::Error::RuntimeError(m) => m.clone(),
        other => other.to_string(),
    }
}

/// Our own Lua: the `redis` table, the checks Redis makes on `math.random`
/// and `redis.*` arguments, `pcall`'s error-table rule, and the read-only
/// globals. Runs once per state with the bridge table as its argument.
const PRELUDE: &str = r#"
local bridge = ...
local error, type, select, tostring, tonumber, setmetatable, rawget =
      error, type, select, tostring, tonumber, setmetatable, rawget
local xpcall, handler = xpcall, __redis__err__handler

-- How run.rs calls a script: under Redis's message handler.
function bridge.run(f) return xpcall(f, handler) end

-- pcall as Redis 7.0 gives it: an error table caught becomes its message.
local rawpcall = pcall
local function fix_pcall(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if type(e) == 'table' and type(rawget(e, 'err')) == 'string' then
    return false, rawget(e, 'err')
  end
  if type(e) == 'userdata' then return false, bridge.error_message(e) end
  return false, ...
end
pcall = function(...) return fix_pcall(rawpcall(...)) end

local redis = bridge.redis
redis.REDIS_VERSION = bridge.version
redis.REDIS_VERSION_NUM = bridge.version_num
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3

function redis.replicate_commands() return true end
function redis.breakpoint() return false end
function redis.debug() end
-- An error reply: a leading '-' dropped, and 'ERR ' added to a message
-- without an error code (no space in it).
function redis.error_reply(...)
  local e = ...
  if select('#', ...) ~= 1 or type(e) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  if e:sub(1, 1) == '-' then e = e:sub(2) end
  if not e:find(' ', 1, true) then e = 'ERR ' .. e end
  return {err = e}
end
function redis.status_reply(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  return {ok = s}
end

-- Read-only views of the libraries: writes fail, reads go through.
-- bridge.proxies maps each view to its table, so pairs, ipairs and next
-- (Rust, in sandbox.rs) walk the table behind a view. `ro` holds every
-- table a script may not change (the views and _G): Redis's patched Lua
-- refuses writes to them in the VM itself, so rawset, setmetatable and
-- table.insert, which write without metamethods, check it here and fail
-- as Redis does, without a position in the message.
local proxies = bridge.proxies
local ro = bridge.ro
local function refuse() error('Attempt to modify a readonly table', 2) end
local function readonly(t)
  local view = setmetatable({}, {
    __index = t,
    __newindex = refuse,
    __metatable = false,
  })
  proxies[view] = t
  ro[view] = true
  return view
end
local G = _G
local rawsetmetatable = bridge.raw_setmetatable
for _, name in ipairs({'string', 'table', 'math', 'coroutine', 'bit', 'cjson', 'cmsgpack', 'struct'}) do
  if rawget(G, name) then G[name] = readonly(rawget(G, name)) end
end
G.redis = readonly(redis)
-- Strings find their methods through the string library's view, and the
-- strings' metatable is shown read-only, so no script can change the
-- methods of every string (`getmetatable('').__index.upper = f`).
local smt = getmetatable('')
if smt then
  smt.__index = G.string
  smt.__metatable = readonly(smt)
end
-- _G's metatable: the nonexistent-global and readonly-global errors;
-- getmetatable(_G) shows it read-only, as Redis.
local gmt = {
  __index = function(_, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
  end,
  __newindex = refuse,
}
gmt.__metatable = readonly(gmt)
rawsetmetatable(G, gmt)
ro[G] = true
"#;
