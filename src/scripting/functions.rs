//! Redis 7.0 functions: the library registry and the Lua state that
//! libraries are loaded into and their functions run in.
//!
//! Owns: every loaded library (name, source, the functions it
//! registered with their flags and descriptions), the index from
//! function name to library, and a second Lua state, separate from
//! EVAL's (as in Redis: SCRIPT FLUSH does not touch functions, FUNCTION
//! FLUSH does not touch scripts). The commands are in
//! `commands/functions.rs`; persistence calls [`Functions::codes`] and
//! [`Functions::load_code`].
//!
//! The state is EVAL's sandbox (`sandbox::new_state`, so the same
//! libraries, read-only tables and `math.random` sequence) with three
//! changes: no `__redis__err__handler` global, no `redis.breakpoint`,
//! `redis.debug`, `redis.replicate_commands`, and library code runs with
//! an environment of its own, an empty read-only table whose lookups go
//! to one of two places:
//! - while a library is being loaded, a table holding only `redis`, and
//!   that `redis` only `register_function`, `log`, the `LOG_*` levels and
//!   `REDIS_VERSION(_NUM)` (any other name raises "Script attempted to
//!   access nonexistent global variable"), so loading can register
//!   functions and nothing else;
//! - otherwise the state's real globals, so a registered function sees
//!   what an EVAL script sees (its keys and arguments are its parameters,
//!   there are no `KEYS`/`ARGV`).
//!   Functions keep the environment of the chunk that created them, so
//!   switching the one table switches them all.
//!
//! Must never: leave a half-loaded library behind (a library is built
//! aside and only put in the registry once everything about it checked
//! out), let loading run forever (a hook stops it after
//! `LOAD_TIMEOUT_MS`), or let two libraries own functions whose names
//! differ only in case (function names are case-insensitive, library
//! names are not, as in Redis).
//!
//! Invariant: `index` holds exactly the lower-cased names of the
//! functions of `libraries`, each mapped to its library's name.

use super::rand48::Rand48;
use super::run::BRIDGE_KEY;
use super::sandbox::{self, raise, PRELUDE_NAME, REDIS_KEY};
use super::ScriptFlags;
use mlua::chunk::ChunkMode;
use mlua::{Function, HookTriggers, Lua, MultiValue, Table, Value, VmState};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Chunk name of library code: errors read `user_function:3: ...`.
const CHUNK_NAME: &str = "@user_function";

/// How long a library's code may run at load time (Redis's 500 ms).
const LOAD_TIMEOUT_MS: u64 = 500;

/// Instructions between two checks of the load deadline.
const LOAD_HOOK_INSTRUCTIONS: u32 = 100_000;

/// The one engine Redis 7.0 has, as FUNCTION LIST / STATS name it.
pub const ENGINE_NAME: &str = "LUA";

/// RDB opcode of a library (`RDB_OPCODE_FUNCTION2`), in snapshots and
/// FUNCTION DUMP payloads.
pub const OPCODE_FUNCTION2: u8 = 245;

/// The pre-7.0-GA library opcode, refused.
const OPCODE_FUNCTION_PRE_GA: u8 = 246;

/// Redis's text for a library or function name that is not
/// `[A-Za-z0-9_]+` (it says "Library" for both).
const BAD_NAME: &str = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// One function a library registered.
pub struct FunctionDef {
    pub name: String,
    pub func: Function,
    pub description: Option<Vec<u8>>,
    /// What `flags = {...}` declared (`shebang` is always true: a
    /// function's flags are always declared, even when empty).
    pub flags: ScriptFlags,
}

/// A loaded library.
pub struct Library {
    pub name: String,
    /// The source as loaded, shebang line included (FUNCTION LIST
    /// WITHCODE, DUMP, RDB).
    pub code: Vec<u8>,
    /// Sorted by name.
    pub functions: Vec<FunctionDef>,
}

/// FUNCTION RESTORE's policy for libraries that already exist.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RestorePolicy {
    Flush,
    Append,
    Replace,
}

/// The function engine's Lua state and the handles into it.
struct FnState {
    lua: Lua,
    /// The environment every library chunk runs with.
    env: Table,
    /// `set_loading(true|false)`: point `env` at the load-time API or at
    /// the real globals.
    set_loading: Function,
    /// `run_load(chunk)`: the chunk under Redis's message handler.
    run_load: Function,
    /// Where `redis.register_function` puts what it registers; `None`
    /// outside a load.
    pending: Rc<RefCell<Option<Vec<FunctionDef>>>>,
    /// Set by the load hook when it stopped the code.
    timed_out: Rc<Cell<bool>>,
}

/// Every library, and the state they live in.
#[derive(Default)]
pub struct Functions {
    state: Option<FnState>,
    libraries: BTreeMap<String, Library>,
    /// Lower-cased function name -> library name.
    index: HashMap<String, String>,
    /// The state's allocation cap (`Scripting::set_offline`; none in a
    /// real server).
    pub memory_limit: Option<usize>,
}

impl Functions {
    /// The Lua state (built on first use), shared with EVAL's state for
    /// nothing but the `math.random` sequence `rand`.
    pub fn lua(&mut self, rand: &Rc<Cell<Rand48>>) -> mlua::Result<Lua> {
        Ok(self.state(rand)?.lua.clone())
    }

    fn state(&mut self, rand: &Rc<Cell<Rand48>>) -> mlua::Result<&FnState> {
        if self.state.is_none() {
            self.state = Some(build_state(rand.clone(), self.memory_limit)?);
        }
        match &self.state {
            Some(s) => Ok(s),
            None => Err(mlua::Error::runtime("function engine unavailable")),
        }
    }

    /// Memory the state uses (INFO `used_memory_vm_functions`).
    pub fn lua_memory(&self) -> usize {
        self.state.as_ref().map_or(0, |s| s.lua.used_memory())
    }

    /// Bytes of library source and names held (INFO
    /// `used_memory_functions`, an estimate of Redis's bookkeeping).
    pub fn overhead_bytes(&self) -> usize {
        self.libraries
            .values()
            .map(|l| {
                l.code.len()
                    + l.name.len()
                    + l.functions
                        .iter()
                        .map(|f| f.name.len() + f.description.as_ref().map_or(0, Vec::len) + 64)
                        .sum::<usize>()
                    + 64
            })
            .sum()
    }

    pub fn library_count(&self) -> usize {
        self.libraries.len()
    }

    pub fn function_count(&self) -> usize {
        self.index.len()
    }

    /// Libraries in name order.
    pub fn libraries(&self) -> impl Iterator<Item = &Library> {
        self.libraries.values()
    }

    /// Every library's source, for snapshots (RDB) and DUMP.
    pub fn codes(&self) -> impl Iterator<Item = &[u8]> {
        self.libraries.values().map(|l| l.code.as_slice())
    }

    /// The function called `name` (any case).
    pub fn find(&self, name: &[u8]) -> Option<&FunctionDef> {
        let key = String::from_utf8_lossy(name).to_ascii_lowercase();
        let lib = self.libraries.get(self.index.get(&key)?)?;
        lib.functions
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(&key))
    }

    /// FUNCTION FLUSH: every library goes, and the state with them (a new
    /// one is built for the next library, as Redis does).
    pub fn flush(&mut self) {
        self.libraries.clear();
        self.index.clear();
        self.state = None;
    }

    /// FUNCTION DELETE: false when there is no such library.
    pub fn delete(&mut self, name: &[u8]) -> bool {
        let Ok(name) = std::str::from_utf8(name) else {
            return false;
        };
        match self.libraries.remove(name) {
            Some(lib) => {
                self.unindex(&lib);
                true
            }
            None => false,
        }
    }

    fn unindex(&mut self, lib: &Library) {
        for f in &lib.functions {
            self.index.remove(&f.name.to_ascii_lowercase());
        }
    }

    /// FUNCTION LOAD [REPLACE]: the library's name, or Redis's error text.
    pub fn load(
        &mut self,
        rand: &Rc<Cell<Rand48>>,
        code: &[u8],
        replace: bool,
    ) -> Result<String, String> {
        let name = parse_metadata(code)?;
        if !replace && self.libraries.contains_key(&name) {
            return Err(format!("ERR Library '{name}' already exists"));
        }
        let lib = self.compile(rand, code, name)?;
        self.check_collisions(&lib, Some(&lib.name))?;
        let name = lib.name.clone();
        self.install(lib);
        Ok(name)
    }

    /// A library read from a snapshot: as FUNCTION LOAD, replacing a
    /// library of the same name when `replace` (DEBUG RELOAD MERGE).
    pub fn load_code(
        &mut self,
        rand: &Rc<Cell<Rand48>>,
        code: &[u8],
        replace: bool,
    ) -> Result<String, String> {
        self.load(rand, code, replace)
    }

    /// Put `lib` in the registry, in place of a library of the same name.
    fn install(&mut self, lib: Library) {
        if let Some(old) = self.libraries.remove(&lib.name) {
            self.unindex(&old);
        }
        for f in &lib.functions {
            self.index
                .insert(f.name.to_ascii_lowercase(), lib.name.clone());
        }
        self.libraries.insert(lib.name.clone(), lib);
    }

    /// A function of `lib` whose name another library (other than
    /// `replacing`) already has: Redis's error.
    fn check_collisions(&self, lib: &Library, replacing: Option<&str>) -> Result<(), String> {
        for f in &lib.functions {
            if let Some(owner) = self.index.get(&f.name.to_ascii_lowercase()) {
                if Some(owner.as_str()) != replacing {
                    return Err(format!("ERR Function {} already exists", f.name));
                }
            }
        }
        Ok(())
    }

    /// Compile and run a library's code in the load environment; the
    /// library built from what it registered.
    fn compile(
        &mut self,
        rand: &Rc<Cell<Rand48>>,
        code: &[u8],
        name: String,
    ) -> Result<Library, String> {
        let st = self
            .state(rand)
            .map_err(|e| format!("ERR {}", sandbox::error_text(&e)))?;
        // The shebang line is not Lua: compile from its newline on, so
        // line numbers in errors are those of the whole text.
        let nl = code.iter().position(|&b| b == b'\n').unwrap_or(code.len());
        let chunk = st
            .lua
            .load(&code[nl..])
            .set_name(CHUNK_NAME)
            .set_mode(ChunkMode::Text)
            .set_environment(st.env.clone())
            .into_function()
            .map_err(|e| {
                format!(
                    "ERR Error compiling function: {}",
                    sandbox::syntax_message(&e)
                )
            })?;
        let functions = run_library_code(st, chunk)?;
        if functions.is_empty() {
            return Err("ERR No functions registered".into());
        }
        let mut functions = functions;
        functions.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Library {
            name,
            code: code.to_vec(),
            functions,
        })
    }

    /// FUNCTION DUMP: every library as `[245][code as an RDB string]`,
    /// then the RDB version and the CRC-64, as DUMP's payloads.
    pub fn dump(&self, c: crate::persistence::rdb::Compression) -> Vec<u8> {
        let mut out = Vec::new();
        for code in self.codes() {
            out.push(OPCODE_FUNCTION2);
            crate::persistence::rdb::put_string(&mut out, code, c);
        }
        out.extend_from_slice(&(crate::persistence::rdb::RDB_VERSION as u16).to_le_bytes());
        let crc = crate::persistence::rdb::crc64(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// FUNCTION RESTORE: the payload's libraries are all built first (a
    /// bad one changes nothing), then merged by `policy`.
    pub fn restore(
        &mut self,
        rand: &Rc<Cell<Rand48>>,
        payload: &[u8],
        policy: RestorePolicy,
        check_crc: bool,
    ) -> Result<(), String> {
        const WRONG: &str = "ERR DUMP payload version or checksum are wrong";
        if crate::persistence::dump::verify(payload, check_crc).is_none() {
            return Err(WRONG.into());
        }
        let codes = crate::persistence::rdb::read_function_payload(payload)?;
        let mut new: BTreeMap<String, Library> = BTreeMap::new();
        let mut new_index: HashMap<String, String> = HashMap::new();
        for code in codes {
            let name = parse_metadata(&code)?;
            if new.contains_key(&name) {
                return Err(format!("ERR Library '{name}' already exists"));
            }
            let lib = self.compile(rand, &code, name)?;
            for f in &lib.functions {
                let key = f.name.to_ascii_lowercase();
                if new_index.contains_key(&key) {
                    return Err(format!("ERR Function {} already exists", f.name));
                }
                new_index.insert(key, lib.name.clone());
            }
            new.insert(lib.name.clone(), lib);
        }
        match policy {
            RestorePolicy::Flush => {
                // Keep the state (the new functions live in it).
                self.libraries.clear();
                self.index.clear();
            }
            RestorePolicy::Append => {
                if let Some(name) = new.keys().find(|n| self.libraries.contains_key(*n)) {
                    return Err(format!("ERR Library {name} already exists"));
                }
                for lib in new.values() {
                    self.check_collisions(lib, None)?;
                }
            }
            RestorePolicy::Replace => {
                for lib in new.values() {
                    for f in &lib.functions {
                        if let Some(owner) = self.index.get(&f.name.to_ascii_lowercase()) {
                            if !new.contains_key(owner) {
                                return Err(format!("ERR Function {} already exists", f.name));
                            }
                        }
                    }
                }
            }
        }
        for lib in new.into_values() {
            self.install(lib);
        }
        Ok(())
    }
}

/// Run a compiled library chunk in load mode: what it registered, or
/// "Error registering functions: ..." / the timeout.
fn run_library_code(st: &FnState, chunk: Function) -> Result<Vec<FunctionDef>, String> {
    let engine = |e: mlua::Error| {
        format!(
            "ERR Error registering functions: ERR {}",
            sandbox::error_text(&e)
        )
    };
    st.set_loading.call::<()>(true).map_err(engine)?;
    *st.pending.borrow_mut() = Some(Vec::new());
    st.timed_out.set(false);
    let start = Instant::now();
    let timed_out = st.timed_out.clone();
    let hooked = st.lua.set_hook(
        HookTriggers::new().every_nth_instruction(LOAD_HOOK_INSTRUCTIONS),
        move |_, _| {
            if start.elapsed() > Duration::from_millis(LOAD_TIMEOUT_MS) {
                timed_out.set(true);
                return raise("ERR FUNCTION LOAD timeout");
            }
            Ok(VmState::Continue)
        },
    );
    let outcome = match hooked {
        Ok(()) => st.run_load.call::<(bool, Value)>(chunk),
        Err(e) => Err(e),
    };
    st.lua.remove_hook();
    let registered = st.pending.borrow_mut().take().unwrap_or_default();
    // Back to the real globals whatever happened: the functions of every
    // library see them at run time.
    st.set_loading.call::<()>(false).map_err(engine)?;
    match outcome {
        Ok((true, _)) => Ok(registered),
        _ if st.timed_out.get() => {
            Err("ERR Error registering functions: ERR FUNCTION LOAD timeout".into())
        }
        Ok((false, Value::Table(t))) => {
            let msg = match t.raw_get::<Value>("err") {
                Ok(Value::String(s)) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                _ => "ERR unknown error".into(),
            };
            Err(format!("ERR Error registering functions: {msg}"))
        }
        Ok((false, other)) => Err(format!(
            "ERR Error registering functions: ERR {}",
            other.to_string().unwrap_or_default()
        )),
        Err(e) => Err(engine(e)),
    }
}

/// The library name from the shebang line `#!lua name=<name>`, with
/// Redis's error for each way it can be wrong.
pub fn parse_metadata(code: &[u8]) -> Result<String, String> {
    const INVALID: &str = "ERR Invalid library metadata";
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    // Redis looks for the newline in a C string: a NUL before it ends
    // the search.
    let line_end = code
        .iter()
        .position(|&b| b == b'\n' || b == 0)
        .filter(|&i| code[i] == b'\n')
        .ok_or(INVALID)?;
    let parts = split_args(&code[..line_end]).ok_or(INVALID)?;
    let Some((engine, rest)) = parts.split_first() else {
        return Err(INVALID.into());
    };
    let engine = engine.get(2..).unwrap_or(b"");
    let mut name: Option<Vec<u8>> = None;
    for part in rest {
        match part.strip_prefix(b"name=") {
            Some(v) => {
                if name.is_some() {
                    return Err(
                        "ERR Invalid metadata value, name argument was given multiple times".into(),
                    );
                }
                name = Some(v.to_vec());
            }
            None => {
                return Err(format!(
                    "ERR Invalid metadata value given: {}",
                    String::from_utf8_lossy(part)
                ))
            }
        }
    }
    let Some(name) = name else {
        return Err("ERR Library name was not given".into());
    };
    if !engine.eq_ignore_ascii_case(b"lua") {
        return Err(format!(
            "ERR Engine '{}' not found",
            String::from_utf8_lossy(engine)
        ));
    }
    if !valid_name(&name) {
        return Err(BAD_NAME.into());
    }
    // Valid names are ASCII.
    Ok(String::from_utf8_lossy(&name).into_owned())
}

/// `[A-Za-z0-9_]+`: library and function names.
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Split a line into arguments as Redis splits inline commands and
/// redis.conf lines (the parser's rules: quotes, escapes); `None` for
/// unbalanced quotes.
fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut bytes = Vec::new();
    let mut ranges = Vec::new();
    crate::resp::parser::split_args(line, &mut bytes, &mut ranges).ok()?;
    Some(ranges.into_iter().map(|r| bytes[r].to_vec()).collect())
}

/// Our Lua for the function engine: the load-time API, the switchable
/// environment, and the two ways code is called. Runs once per state.
const FUNCTION_PRELUDE: &str = r#"
local G, redis, register, handler = ...
local error, setmetatable, rawget, tostring, xpcall = error, setmetatable, rawget, tostring, xpcall

-- A read-only view that raises for names it does not have.
local function view(t)
  return setmetatable({}, {
    __index = function(_, k)
      local v = rawget(t, k)
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      return v
    end,
    __newindex = function() error('Attempt to modify a readonly table', 2) end,
    __metatable = false,
  })
end

local load_redis = view({
  register_function = register,
  log = redis.log,
  LOG_DEBUG = redis.LOG_DEBUG, LOG_VERBOSE = redis.LOG_VERBOSE,
  LOG_NOTICE = redis.LOG_NOTICE, LOG_WARNING = redis.LOG_WARNING,
  REDIS_VERSION = redis.REDIS_VERSION, REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
})
local load_globals = view({ redis = load_redis })

local mt = {
  __index = G,
  __newindex = function() error('Attempt to modify a readonly table', 2) end,
  __metatable = false,
}
local env = setmetatable({}, mt)

local function set_loading(on)
  if on then mt.__index = load_globals else mt.__index = G end
end
local function run_load(f) return xpcall(f, handler) end
local function run_function(f, keys, args)
  return xpcall(function() return f(keys, args) end, handler)
end
return env, set_loading, run_load, run_function
"#;

/// Build the function engine's state (see the module comment).
fn build_state(rand: Rc<Cell<Rand48>>, memory_limit: Option<usize>) -> mlua::Result<FnState> {
    let lua = sandbox::new_state(rand, memory_limit)?;
    let g = lua.globals();
    let handler: Function = g.raw_get("__redis__err__handler")?;
    g.raw_set("__redis__err__handler", Value::Nil)?;
    let redis: Table = lua.named_registry_value(REDIS_KEY)?;
    for name in ["breakpoint", "debug", "replicate_commands"] {
        redis.raw_set(name, Value::Nil)?;
    }
    let pending: Rc<RefCell<Option<Vec<FunctionDef>>>> = Rc::new(RefCell::new(None));
    let p = pending.clone();
    let register =
        lua.create_function(move |lua, args: MultiValue| register_function(lua, &p, args))?;
    let setup = lua
        .load(FUNCTION_PRELUDE)
        .set_name(PRELUDE_NAME)
        .set_mode(ChunkMode::Text)
        .into_function()?;
    let (env, set_loading, run_load, run_function): (Table, Function, Function, Function) =
        setup.call((g, redis, register, handler))?;
    let bridge: Table = lua.named_registry_value(BRIDGE_KEY)?;
    bridge.raw_set(RUN_FUNCTION_KEY, run_function)?;
    Ok(FnState {
        lua,
        env,
        set_loading,
        run_load,
        pending,
        timed_out: Rc::new(Cell::new(false)),
    })
}

/// Name, in the bridge table, of `run_function(f, keys, args)` (how
/// `run.rs` calls a function).
pub const RUN_FUNCTION_KEY: &str = "run_function";

/// A function name or description: a string, or a number as Lua's
/// `tostring` writes it (Lua's `lua_isstring` accepts both).
fn string_like(lua: &Lua, v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(_) | Value::Number(_) => match lua.coerce_string(v.clone()) {
            Ok(Some(s)) => Some(s.as_bytes().to_vec()),
            _ => None,
        },
        _ => None,
    }
}

/// `flags = {...}`: the array part, each a flag name in any case.
fn read_flags(lua: &Lua, t: &Table) -> Result<ScriptFlags, &'static str> {
    const UNKNOWN: &str = "ERR unknown flag given";
    let mut flags = ScriptFlags {
        shebang: true,
        ..ScriptFlags::default()
    };
    // Bounded by the table: the walk stops at its first nil.
    for i in 1.. {
        let v: Value = t.raw_get(i).map_err(|_| UNKNOWN)?;
        if v.is_nil() {
            break;
        }
        let name = string_like(lua, &v).ok_or(UNKNOWN)?.to_ascii_lowercase();
        match name.as_slice() {
            b"no-writes" => flags.no_writes = true,
            b"allow-oom" => flags.allow_oom = true,
            b"allow-stale" => flags.allow_stale = true,
            b"no-cluster" => flags.no_cluster = true,
            b"allow-cross-slot-keys" => flags.allow_cross_slot_keys = true,
            _ => return Err(UNKNOWN),
        }
    }
    Ok(flags)
}

/// `redis.register_function(name, callback)` or
/// `redis.register_function{function_name=, callback=, flags=,
/// description=}`, with Redis's checks in its order.
fn register_function(
    lua: &Lua,
    pending: &Rc<RefCell<Option<Vec<FunctionDef>>>>,
    args: MultiValue,
) -> mlua::Result<()> {
    if pending.borrow().is_none() {
        return raise("ERR redis.register_function can only be called on FUNCTION LOAD command");
    }
    let mut name: Option<Vec<u8>> = None;
    let mut callback: Option<Function> = None;
    let mut description: Option<Vec<u8>> = None;
    let mut flags = ScriptFlags {
        shebang: true,
        ..ScriptFlags::default()
    };
    match args.len() {
        1 => {
            let Value::Table(t) = &args[0] else {
                return raise("ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
            };
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair?;
                let key = match &k {
                    Value::String(s) => s.as_bytes().to_vec(),
                    _ => return raise("ERR unknown argument given to redis.register_function"),
                };
                match key.as_slice() {
                    b"function_name" => match string_like(lua, &v) {
                        Some(n) => name = Some(n),
                        None => {
                            return raise("ERR function_name argument given to redis.register_function must be a string")
                        }
                    },
                    b"description" => match string_like(lua, &v) {
                        Some(d) => description = Some(d),
                        None => {
                            return raise("ERR description argument given to redis.register_function must be a string")
                        }
                    },
                    b"callback" => match v {
                        Value::Function(f) => callback = Some(f),
                        _ => {
                            return raise("ERR callback argument given to redis.register_function must be a function")
                        }
                    },
                    b"flags" => match &v {
                        Value::Table(ft) => match read_flags(lua, ft) {
                            Ok(f) => flags = f,
                            Err(msg) => return raise(msg),
                        },
                        _ => {
                            return raise("ERR flags argument to redis.register_function must be a table representing function flags")
                        }
                    },
                    _ => return raise("ERR unknown argument given to redis.register_function"),
                }
            }
        }
        2 => {
            let Some(n) = string_like(lua, &args[0]) else {
                return raise("ERR first argument to redis.register_function must be a string");
            };
            let Value::Function(f) = &args[1] else {
                return raise("ERR second argument to redis.register_function must be a function");
            };
            name = Some(n);
            callback = Some(f.clone());
        }
        _ => return raise("ERR wrong number of arguments to redis.register_function"),
    }
    let Some(name) = name else {
        return raise("ERR redis.register_function must get a function name argument");
    };
    let Some(callback) = callback else {
        return raise("ERR redis.register_function must get a callback argument");
    };
    if !valid_name(&name) {
        return raise(BAD_NAME);
    }
    let name = String::from_utf8_lossy(&name).into_owned();
    let mut pending = pending.borrow_mut();
    let Some(list) = pending.as_mut() else {
        return raise("ERR redis.register_function can only be called on FUNCTION LOAD command");
    };
    // Redis compares case-sensitively here and then crashes inserting a
    // name that differs only in case into its case-insensitive index;
    // we refuse it as the duplicate it is.
    if list.iter().any(|f| f.name.eq_ignore_ascii_case(&name)) {
        return raise("ERR Function already exists in the library");
    }
    list.push(FunctionDef {
        name,
        func: callback,
        description,
        flags,
    });
    Ok(())
}

/// Read the libraries of a FUNCTION DUMP payload (whose footer was
/// checked): Redis's errors for anything else in it.
pub fn payload_opcode_error(op: u8) -> String {
    if op == OPCODE_FUNCTION_PRE_GA {
        "ERR Failed loading engine name".into()
    } else {
        "ERR given type is not a function".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rand() -> Rc<Cell<Rand48>> {
        Rc::new(Cell::new(Rand48::seeded(0)))
    }

    #[test]
    fn metadata_errors_are_redis_texts() {
        assert_eq!(
            parse_metadata(b"return 1").unwrap_err(),
            "ERR Missing library metadata"
        );
        assert_eq!(
            parse_metadata(b"#!lua").unwrap_err(),
            "ERR Invalid library metadata"
        );
        assert_eq!(
            parse_metadata(b"#!lua\0 name=x\n").unwrap_err(),
            "ERR Invalid library metadata"
        );
        assert_eq!(
            parse_metadata(b"#!lua\n").unwrap_err(),
            "ERR Library name was not given"
        );
        assert_eq!(
            parse_metadata(b"#!luax name=x\n").unwrap_err(),
            "ERR Engine 'luax' not found"
        );
        assert_eq!(
            parse_metadata(b"#! lua name=x\n").unwrap_err(),
            "ERR Invalid metadata value given: lua"
        );
        assert_eq!(
            parse_metadata(b"#!lua name=a name=b\n").unwrap_err(),
            "ERR Invalid metadata value, name argument was given multiple times"
        );
        assert_eq!(parse_metadata(b"#!lua name=a-b\n").unwrap_err(), BAD_NAME);
        assert_eq!(parse_metadata(b"#!lua name=\n").unwrap_err(), BAD_NAME);
        assert_eq!(parse_metadata(b"#!LUA name=x\n").unwrap(), "x");
        assert_eq!(parse_metadata(b"#!lua name=\"q\\x41\"\n").unwrap(), "qA");
        assert_eq!(parse_metadata(b"#!lua \"name=q2\"\r\n").unwrap(), "q2");
        assert_eq!(
            parse_metadata(b"#!lua name=\"q3\"x\n").unwrap_err(),
            "ERR Invalid library metadata"
        );
    }

    #[test]
    fn load_registers_and_refuses_as_redis() {
        let r = rand();
        let mut f = Functions::default();
        let code = b"#!lua name=lib\nredis.register_function('f1', function(k, a) return a[1] end)\nredis.register_function{function_name='F2', callback=function() end, flags={'no-writes'}, description='d'}";
        assert_eq!(f.load(&r, code, false).unwrap(), "lib");
        assert_eq!(f.function_count(), 2);
        assert!(f.find(b"f2").unwrap().flags.no_writes);
        assert_eq!(
            f.load(&r, code, false).unwrap_err(),
            "ERR Library 'lib' already exists"
        );
        assert_eq!(
            f.load(
                &r,
                b"#!lua name=other\nredis.register_function('F1', function() end)",
                false
            )
            .unwrap_err(),
            "ERR Function F1 already exists"
        );
        assert_eq!(
            f.load(&r, b"#!lua name=x\nlocal t = pairs", false).unwrap_err(),
            "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'pairs'"
        );
        assert_eq!(
            f.load(&r, b"#!lua name=x\nredis.call('ping')", false).unwrap_err(),
            "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'"
        );
        assert_eq!(
            f.load(&r, b"#!lua name=x\nx = = 1", false).unwrap_err(),
            "ERR Error compiling function: user_function:2: unexpected symbol near '='"
        );
        assert_eq!(
            f.load(&r, b"#!lua name=x\nlocal a = 1", false).unwrap_err(),
            "ERR No functions registered"
        );
        assert_eq!(
            f.load(&r, b"#!lua name=x\nredis.register_function('a', 1)", false).unwrap_err(),
            "ERR Error registering functions: ERR second argument to redis.register_function must be a function"
        );
        assert_eq!(
            f.load(&r, b"#!lua name=x\nredis.register_function{function_name='a', callback=function() end, flags={'bad'}}", false)
                .unwrap_err(),
            "ERR Error registering functions: ERR unknown flag given"
        );
        // A failed load leaves nothing behind.
        assert_eq!(f.library_count(), 1);
        assert_eq!(
            f.load(
                &r,
                b"#!lua name=lib\nredis.register_function('g', function() end)",
                true
            )
            .unwrap(),
            "lib"
        );
        assert!(f.find(b"f1").is_none() && f.find(b"G").is_some());
        assert!(f.delete(b"lib") && !f.delete(b"lib"));
        assert_eq!(f.function_count(), 0);
    }

    #[test]
    fn load_time_is_bounded() {
        let r = rand();
        let mut f = Functions::default();
        assert_eq!(
            f.load(&r, b"#!lua name=x\nwhile true do end", false)
                .unwrap_err(),
            "ERR Error registering functions: ERR FUNCTION LOAD timeout"
        );
        // The state still works afterwards.
        assert!(f
            .load(
                &r,
                b"#!lua name=x\nredis.register_function('a', function() end)",
                false
            )
            .is_ok());
    }

    #[test]
    fn dump_restore_round_trip() {
        let r = rand();
        let mut f = Functions::default();
        f.load(
            &r,
            b"#!lua name=a\nredis.register_function('fa', function() end)",
            false,
        )
        .unwrap();
        f.load(
            &r,
            b"#!lua name=b\nredis.register_function('fb', function() end)",
            false,
        )
        .unwrap();
        let payload = f.dump(crate::persistence::rdb::Compression::Lzf);
        assert_eq!(
            f.restore(&r, &payload, RestorePolicy::Append, true)
                .unwrap_err(),
            "ERR Library a already exists"
        );
        f.restore(&r, &payload, RestorePolicy::Replace, true)
            .unwrap();
        let mut g = Functions::default();
        g.restore(&r, &payload, RestorePolicy::Append, true)
            .unwrap();
        assert_eq!(g.library_count(), 2);
        let mut bad = payload.clone();
        bad[3] ^= 1;
        assert_eq!(
            g.restore(&r, &bad, RestorePolicy::Flush, true).unwrap_err(),
            "ERR DUMP payload version or checksum are wrong"
        );
        assert_eq!(g.library_count(), 2);
    }
}
