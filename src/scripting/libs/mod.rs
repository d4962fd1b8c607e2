//! The extra Lua libraries Redis 7.0 gives every script: `bit`, `cjson`,
//! `cmsgpack` and `struct`, written in Rust against the Lua API.
//!
//! Owns: building those four global tables, and the small calling
//! convention they share (argument checking with Lua 5.1's exact messages,
//! errors raised as plain Lua strings).
//!
//! Must never: touch server state (these are pure functions of their
//! arguments, plus per-Lua-state cjson settings), panic on any input, or
//! allocate by a length or count an input merely claims.
//!
//! Invariants:
//! - Every library function is a C closure (`trampoline`) around an mlua
//!   Rust function. The Rust side never raises: a failure comes back as the
//!   pair (`FAIL_MARK`, message) and the trampoline raises the message as a
//!   Lua *string*, as a C library's `luaL_error` would. mlua on its own
//!   would raise a userdata, which a script's `pcall` would see instead of
//!   the string Redis gives it; a Lua-function wrapper would instead be
//!   tail-callable (`return cjson.encode(t)`), losing the caller's name and
//!   line that Lua 5.1 puts into error messages.
//! - Messages carry Lua's `luaL_where` prefix ("user_script:1: ") when the
//!   caller is a Lua function, and `luaL_argerror`'s "bad argument #n to
//!   'name'" with the name the caller used, so they read byte for byte as
//!   Redis 7.0's.

use std::ffi::c_int;

use mlua::{ffi, Function, LightUserData, Lua, LuaString, MultiValue, Table, Value};

mod bit;
mod cjson;
mod cmsgpack;
mod structlib;

/// Install `bit`, `cjson`, `cmsgpack` and `struct` into `globals`.
pub fn register(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    globals.raw_set("bit", bit::open(lua)?)?;
    globals.raw_set("cjson", cjson::open(lua)?)?;
    globals.raw_set("cmsgpack", cmsgpack::open(lua)?)?;
    globals.raw_set("struct", structlib::open(lua)?)?;
    Ok(())
}

/// Why a library call failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// `luaL_argerror(n, msg)`: "bad argument #n to 'f' (msg)".
    Arg(usize, Vec<u8>),
    /// `luaL_error(msg)`: the message behind the caller's position.
    /// Bytes, not text: Lua messages may quote raw bytes of the input.
    Msg(Vec<u8>),
    /// A message raised as is, without the caller's position: what Lua's
    /// own runtime errors inside a C function look like ("table index is
    /// nil").
    Raw(Vec<u8>),
    /// An error from mlua itself (out of memory, a failing metamethod):
    /// propagated unchanged.
    Lua(mlua::Error),
}

impl From<mlua::Error> for Failure {
    fn from(e: mlua::Error) -> Self {
        Failure::Lua(e)
    }
}

pub(crate) type LibResult<T> = Result<T, Failure>;

/// Shorthand for a `luaL_error`-style failure.
pub(crate) fn fail<T>(msg: impl Into<Vec<u8>>) -> LibResult<T> {
    Err(Failure::Msg(msg.into()))
}

/// The address that marks "the call failed" between the Rust side and the
/// trampoline. Scripts cannot forge a light userdata with this address: the
/// only light userdata they can reach is `cjson.null`, which is NULL.
static FAIL_ANCHOR: u8 = 0;

/// The address that marks "my results are in this table": (`SPREAD_MARK`,
/// table, count). mlua pushes results onto the Rust function's own stack
/// frame, which must also hold its arguments and bookkeeping; a result
/// list near Lua's 8000-slot limit (struct.unpack, cmsgpack.unpack) only
/// fits once the trampoline unpacks it onto its own, emptied frame.
static SPREAD_ANCHOR: u8 = 0;

fn fail_mark() -> Value {
    Value::LightUserData(LightUserData(
        std::ptr::addr_of!(FAIL_ANCHOR) as *mut std::ffi::c_void
    ))
}

fn spread_mark() -> Value {
    Value::LightUserData(LightUserData(
        std::ptr::addr_of!(SPREAD_ANCHOR) as *mut std::ffi::c_void
    ))
}

/// A function's results, however many (up to Lua's own limit, which the
/// trampoline enforces with luaL_checkstack's message). They are stored in
/// a Lua table as they come, not held in Rust: each held value is a slot in
/// mlua's reference space, which a few thousand strings would exhaust.
pub(crate) struct Results {
    t: Table,
    n: i64,
}

impl Results {
    pub(crate) fn new(lua: &Lua) -> LibResult<Self> {
        Ok(Results {
            t: lua.create_table()?,
            n: 0,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.n as usize
    }

    pub(crate) fn push(&mut self, v: Value) -> LibResult<()> {
        self.n += 1;
        self.t.raw_set(self.n, v)?;
        Ok(())
    }

    pub(crate) fn last(&self) -> LibResult<Option<Value>> {
        if self.n == 0 {
            return Ok(None);
        }
        Ok(Some(self.t.raw_get(self.n)?))
    }

    /// The i-th result (1-based).
    pub(crate) fn get(&self, i: usize) -> LibResult<Value> {
        Ok(self.t.raw_get(i)?)
    }

    pub(crate) fn pop(&mut self) -> LibResult<()> {
        if self.n > 0 {
            self.t.raw_set(self.n, Value::Nil)?;
            self.n -= 1;
        }
        Ok(())
    }

    /// Hand the results to the trampoline, which unpacks them.
    pub(crate) fn finish(self) -> MultiValue {
        MultiValue::from_iter([spread_mark(), Value::Table(self.t), Value::Integer(self.n)])
    }
}

/// Calls upvalue 1 (the Rust function) with all arguments; if its first
/// result is upvalue 2 (the failure mark), raises its second result; if it
/// is upvalue 3 (the spread mark), returns the contents of the table that
/// follows.
///
/// No Rust value with a destructor is alive here, so the `longjmp` behind
/// `lua_error` skips nothing that needed dropping (the same discipline mlua
/// itself follows).
unsafe extern "C-unwind" fn trampoline(state: *mut ffi::lua_State) -> c_int {
    let nargs = ffi::lua_gettop(state);
    ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
    let nres = ffi::lua_gettop(state);
    if nres >= 2 && ffi::lua_rawequal(state, 1, ffi::lua_upvalueindex(2)) != 0 {
        ffi::lua_settop(state, 2);
        ffi::lua_error(state);
    }
    if nres >= 3 && ffi::lua_rawequal(state, 1, ffi::lua_upvalueindex(3)) != 0 {
        let n = ffi::lua_tointeger(state, 3) as c_int;
        ffi::lua_settop(state, 2);
        ffi::lua_replace(state, 1);
        // The plain 5.1 check (mlua's `luaL_checkstack` adds 20 spare slots).
        ffi::luaL_checkstack_(state, n, c"too many results".as_ptr());
        for i in 1..=n {
            ffi::lua_rawgeti(state, 1, i as _);
        }
        return n;
    }
    nres
}

/// Add `name` to `table`: a function running `f` with Lua's error
/// conventions (see the module invariants).
pub(crate) fn add_function<F>(lua: &Lua, table: &Table, name: &str, f: F) -> mlua::Result<()>
where
    F: Fn(&Lua, &Args) -> LibResult<MultiValue> + 'static,
{
    let core = lua.create_function(move |lua, args: MultiValue| {
        let args = Args(args.into_vec());
        match f(lua, &args) {
            Ok(values) => Ok(values),
            Err(Failure::Lua(e)) => Err(e),
            Err(failure) => {
                let msg = render_failure(lua, failure);
                Ok(MultiValue::from_iter([
                    fail_mark(),
                    Value::String(lua.create_string(msg)?),
                ]))
            }
        }
    })?;
    // SAFETY: the closure pushed is `trampoline` with its three upvalues,
    // which exec_raw has just pushed; the stack then holds exactly it.
    let wrapped: Function = unsafe {
        lua.exec_raw((core, fail_mark(), spread_mark()), |state| {
            ffi::lua_pushcclosure(state, trampoline, 3);
        })
    }?;
    table.raw_set(name, wrapped)
}

/// Stack levels seen from the Rust function: 0 is itself, 1 the
/// trampoline (the function the script called), 2 the script's caller.
const LEVEL_CALLED: usize = 1;
const LEVEL_CALLER: usize = 2;

fn render_failure(lua: &Lua, failure: Failure) -> Vec<u8> {
    let text = match failure {
        Failure::Arg(mut n, msg) => {
            let (name, what) = lua
                .inspect_stack(LEVEL_CALLED, |d| {
                    let names = d.names();
                    (names.name.map(|s| s.into_owned()), names.name_what)
                })
                .unwrap_or((None, None));
            let name = name.unwrap_or_else(|| "?".to_string());
            let method = what == Some("method");
            if method {
                n = n.saturating_sub(1);
            }
            let mut text = if method && n == 0 {
                format!("calling '{name}' on bad self (").into_bytes()
            } else {
                format!("bad argument #{n} to '{name}' (").into_bytes()
            };
            text.extend_from_slice(&msg);
            text.push(b')');
            text
        }
        Failure::Msg(msg) => msg,
        Failure::Raw(msg) => return msg,
        Failure::Lua(e) => e.to_string().into_bytes(),
    };
    let mut out = where_prefix(lua).into_bytes();
    out.extend_from_slice(&text);
    out
}

/// `luaL_where(L, 1)` as the trampoline would compute it: "src:line: " when
/// the caller is Lua code, "" otherwise (a C caller such as `pcall`).
fn where_prefix(lua: &Lua) -> String {
    lua.inspect_stack(LEVEL_CALLER, |d| {
        let line = d.current_line()?;
        let src = d.source().short_src?.into_owned();
        Some(format!("{src}:{line}: "))
    })
    .flatten()
    .unwrap_or_default()
}

/// A call's arguments, read with the Lua auxiliary library's rules and
/// messages. Indexes are 1-based, as in Lua.
pub(crate) struct Args(Vec<Value>);

impl Args {
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The argument, or `None` for "no value" (past the last one).
    pub(crate) fn get(&self, n: usize) -> Option<&Value> {
        n.checked_sub(1).and_then(|i| self.0.get(i))
    }

    pub(crate) fn is_none_or_nil(&self, n: usize) -> bool {
        matches!(self.get(n), None | Some(Value::Nil))
    }

    fn type_error(&self, n: usize, expected: &str) -> Failure {
        Failure::Arg(
            n,
            format!("{expected} expected, got {}", lua_typename(self.get(n))).into_bytes(),
        )
    }

    /// `luaL_checknumber`: numbers, and strings Lua can convert.
    pub(crate) fn number(&self, lua: &Lua, n: usize) -> LibResult<f64> {
        match self.get(n) {
            Some(Value::Integer(i)) => Ok(*i as f64),
            Some(Value::Number(x)) => Ok(*x),
            Some(v @ Value::String(_)) => match lua.coerce_number(v.clone())? {
                Some(x) => Ok(x),
                None => Err(self.type_error(n, "number")),
            },
            _ => Err(self.type_error(n, "number")),
        }
    }

    /// `luaL_checkinteger`: a number truncated toward zero, as the C cast
    /// in Lua 5.1 on x86-64 does (out of range and NaN give `i64::MIN`).
    pub(crate) fn integer(&self, lua: &Lua, n: usize) -> LibResult<i64> {
        self.number(lua, n).map(c_cast_i64)
    }

    /// `luaL_optinteger`: `default` when the argument is none or nil.
    pub(crate) fn opt_integer(&self, lua: &Lua, n: usize, default: i64) -> LibResult<i64> {
        if self.is_none_or_nil(n) {
            Ok(default)
        } else {
            self.integer(lua, n)
        }
    }

    /// `luaL_checklstring`: strings, and numbers converted as Lua prints
    /// them ("%.14g").
    pub(crate) fn string(&self, lua: &Lua, n: usize) -> LibResult<LuaString> {
        match self.get(n) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v @ (Value::Integer(_) | Value::Number(_))) => {
                match lua.coerce_string(v.clone())? {
                    Some(s) => Ok(s),
                    None => Err(self.type_error(n, "string")),
                }
            }
            _ => Err(self.type_error(n, "string")),
        }
    }
}

/// `luaL_typename`, with "no value" for a missing argument.
pub(crate) fn lua_typename(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_) | Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// C's `(long long)x` on x86-64: truncation, with the hardware's "integer
/// indefinite" value for NaN and out-of-range inputs.
pub(crate) fn c_cast_i64(x: f64) -> i64 {
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&x) {
        i64::MIN
    } else {
        x as i64
    }
}

/// Helper for results.
pub(crate) fn values<I: IntoIterator<Item = Value>>(it: I) -> MultiValue {
    MultiValue::from_iter(it)
}

#[cfg(test)]
pub(crate) mod testutil {
    use mlua::{Lua, Value};

    /// A Lua state with the four libraries installed, as a script sees it.
    pub fn lua() -> Lua {
        let lua = Lua::new();
        super::register(&lua, &lua.globals()).expect("register");
        lua
    }

    /// Run `code` as chunk "user_script" (as Redis names scripts) and
    /// return its first result.
    pub fn eval(lua: &Lua, code: &str) -> mlua::Result<Value> {
        lua.load(code).set_name("@user_script").eval()
    }

    /// Run `code`, which must return a string; return it as bytes.
    pub fn eval_bytes(lua: &Lua, code: &str) -> Vec<u8> {
        match eval(lua, code) {
            Ok(Value::String(s)) => s.as_bytes().to_vec(),
            other => panic!("{code}: expected a string, got {other:?}"),
        }
    }

    /// Run `code`, which must return a string; return it as text.
    pub fn eval_str(lua: &Lua, code: &str) -> String {
        String::from_utf8_lossy(&eval_bytes(lua, code)).into_owned()
    }

    /// Run `code`, which must return a number.
    pub fn eval_num(lua: &Lua, code: &str) -> f64 {
        match eval(lua, code) {
            Ok(Value::Integer(i)) => i as f64,
            Ok(Value::Number(x)) => x,
            other => panic!("{code}: expected a number, got {other:?}"),
        }
    }

    /// The error message a script sees from `pcall(f, ...)`: `code` is the
    /// argument list of pcall, e.g. `bit.band, 1, {}`. Also checks that the
    /// error value is a plain string, as in Redis.
    pub fn pcall_err(lua: &Lua, code: &str) -> String {
        let wrapped = format!(
            "local ok, e = pcall({code}) \
             if ok then return 'no error' end \
             if type(e) ~= 'string' then return 'error is a ' .. type(e) end \
             return e"
        );
        eval_str(lua, &wrapped)
    }
}
