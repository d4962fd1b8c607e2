//! The two conversions between Lua values and RESP, as Redis 7.0 defines
//! them: a command's reply becomes the value `redis.call` returns, and the
//! value a script returns becomes the reply its caller reads.
//!
//! Owns: both mappings and nothing else. Must never: trust a nesting
//! depth (a script can return a table that contains itself), or panic on
//! a reply it does not know (replies come from our own commands, but a
//! bug there must not take the server down: it becomes a script error).
//!
//! Reply -> Lua (the script's protocol, `redis.setresp`, decides):
//! integer -> number; bulk -> string; status -> `{ok=...}`; error ->
//! `{err=...}`; array -> array table; null bulk / null array -> `false`
//! (RESP2) or `nil` (RESP3). RESP3 only: map -> `{map={k=v}}`, set ->
//! `{set={m=true}}`, double -> `{double=n}`, boolean -> boolean, big
//! number -> `{big_number=s}`, verbatim -> `{verbatim_string={format=,
//! string=}}`; attributes are dropped.
//!
//! Lua -> reply: string -> bulk; number -> integer (truncated, as C's
//! cast); boolean -> integer 1 / null (RESP2 scripts) or a boolean (RESP3
//! scripts); a table with a string `err`, `ok`, `double`, `big_number`,
//! `map`, `set` or `verbatim_string` field -> that type (checked in that
//! order; a verbatim format is cut or space-padded to three bytes); any
//! other table -> an array of its elements up to the first nil; nil and
//! other types -> null.
//!
//! Error statistics (Redis 7.0's rule: an error is counted once): an
//! error reply a command gave a script becomes `{err=...,
//! ignore_error_stats_update=true}`, because it was counted when the
//! command failed; when the script hands such a table back, the reply is
//! not counted again. [`ErrorTally`] collects which errors written to the
//! caller still need counting.

use crate::resp::reply::ReplyWriter;
use mlua::{Lua, Table, Value};

/// Deeper than this, a returned table is refused (Redis would exhaust the
/// Lua stack around the same depth).
pub const MAX_DEPTH: usize = 1000;

/// A reply our own command wrote could not be read back.
const BAD_REPLY: &str = "ERR reply of a command called from script could not be parsed";

/// Convert a whole reply (exactly one value, as one command writes) to a
/// Lua value. `Err` holds an error reply's text (the top-level error of
/// the command, which `redis.call` raises).
pub fn reply_to_lua(lua: &Lua, buf: &[u8], resp3: bool) -> mlua::Result<Result<Value, String>> {
    if let Some(rest) = buf.strip_prefix(b"-") {
        let end = rest.iter().position(|&b| b == b'\r').unwrap_or(rest.len());
        return Ok(Err(String::from_utf8_lossy(&rest[..end]).into_owned()));
    }
    let mut r = Reader {
        buf,
        pos: 0,
        lua,
        resp3,
    };
    match r.value(0)? {
        Some(v) => Ok(Ok(v)),
        None => Ok(Err(BAD_REPLY.to_string())),
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    lua: &'a Lua,
    resp3: bool,
}

impl Reader<'_> {
    /// The text of the current line (after its type byte), moving past it.
    fn line(&mut self) -> Option<&[u8]> {
        let start = self.pos;
        let rel = self
            .buf
            .get(start..)?
            .windows(2)
            .position(|w| w == b"\r\n")?;
        self.pos = start + rel + 2;
        self.buf.get(start..start + rel)
    }

    fn int_line(&mut self) -> Option<i64> {
        crate::resp::parser::parse_i64(self.line()?)
    }

    /// A bulk payload of `len` bytes and its CRLF.
    fn payload(&mut self, len: i64) -> Option<&[u8]> {
        let len = usize::try_from(len).ok()?;
        let start = self.pos;
        let end = start.checked_add(len)?;
        if self.buf.get(end..end + 2)? != b"\r\n" {
            return None;
        }
        self.pos = end + 2;
        self.buf.get(start..end)
    }

    /// One value; `None` when the bytes are not a well-formed reply.
    fn value(&mut self, depth: usize) -> mlua::Result<Option<Value>> {
        if depth > MAX_DEPTH {
            return Ok(None);
        }
        let lua = self.lua;
        let Some(&tag) = self.buf.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        let v = match tag {
            b':' => match self.int_line() {
                Some(n) => Value::Number(n as f64),
                None => return Ok(None),
            },
            b'$' => match self.int_line() {
                Some(-1) => self.null(),
                Some(n) => match self.payload(n) {
                    Some(p) => Value::String(lua.create_string(p)?),
                    None => return Ok(None),
                },
                None => return Ok(None),
            },
            b'+' => match self.line() {
                Some(l) => {
                    let s = lua.create_string(l)?;
                    single_field(lua, "ok", Value::String(s))?
                }
                None => return Ok(None),
            },
            b'-' => match self.line() {
                Some(l) => {
                    let s = lua.create_string(l)?;
                    Value::Table(counted_error(lua, s)?)
                }
                None => return Ok(None),
            },
            b'*' | b'~' | b'>' => {
                let Some(n) = self.int_line() else {
                    return Ok(None);
                };
                if n < 0 {
                    self.null()
                } else {
                    let Some(t) = self.elements(n, depth, tag == b'~')? else {
                        return Ok(None);
                    };
                    if tag == b'~' {
                        single_field(lua, "set", Value::Table(t))?
                    } else {
                        Value::Table(t)
                    }
                }
            }
            b'%' => {
                let Some(n) = self.int_line() else {
                    return Ok(None);
                };
                let t = lua.create_table()?;
                for _ in 0..n.max(0) {
                    let (Some(k), Some(v)) = (self.value(depth + 1)?, self.value(depth + 1)?)
                    else {
                        return Ok(None);
                    };
                    t.raw_set(k, v)?;
                }
                single_field(lua, "map", Value::Table(t))?
            }
            b'_' => {
                if self.line().is_none() {
                    return Ok(None);
                }
                self.null()
            }
            b'#' => match self.line() {
                Some(b"t") => Value::Boolean(true),
                Some(b"f") => Value::Boolean(false),
                _ => return Ok(None),
            },
            b',' => {
                let Some(d) = self
                    .line()
                    .and_then(|l| std::str::from_utf8(l).ok())
                    .and_then(parse_resp_double)
                else {
                    return Ok(None);
                };
                single_field(lua, "double", Value::Number(d))?
            }
            b'(' => match self.line() {
                Some(l) => {
                    let s = lua.create_string(l)?;
                    single_field(lua, "big_number", Value::String(s))?
                }
                None => return Ok(None),
            },
            b'=' => {
                let Some(n) = self.int_line() else {
                    return Ok(None);
                };
                let Some(p) = self.payload(n) else {
                    return Ok(None);
                };
                if p.len() < 4 {
                    return Ok(None);
                }
                let inner = lua.create_table()?;
                inner.raw_set("format", lua.create_string(&p[..3])?)?;
                inner.raw_set("string", lua.create_string(&p[4..])?)?;
                single_field(lua, "verbatim_string", Value::Table(inner))?
            }
            b'|' => {
                // Attributes are metadata about the next value: skipped.
                let Some(n) = self.int_line() else {
                    return Ok(None);
                };
                for _ in 0..n.max(0).saturating_mul(2) {
                    if self.value(depth + 1)?.is_none() {
                        return Ok(None);
                    }
                }
                return self.value(depth);
            }
            _ => return Ok(None),
        };
        Ok(Some(v))
    }

    /// Null replies: `false` for RESP2 scripts (Redis's historical choice,
    /// so `if redis.call('get', k) then` works), `nil` for RESP3 ones.
    fn null(&self) -> Value {
        if self.resp3 {
            Value::Nil
        } else {
            Value::Boolean(false)
        }
    }

    /// `n` elements as a table: an array, or for a set its members as keys
    /// of `true`.
    fn elements(&mut self, n: i64, depth: usize, as_set: bool) -> mlua::Result<Option<Table>> {
        // No capacity from `n`: it is a count the bytes claim.
        let t = self.lua.create_table()?;
        for i in 0..n {
            let Some(v) = self.value(depth + 1)? else {
                return Ok(None);
            };
            if as_set {
                t.raw_set(v, true)?;
            } else {
                t.raw_set(i + 1, v)?;
            }
        }
        Ok(Some(t))
    }
}

/// RESP3 double text (`inf`, `-inf`, `nan` included).
fn parse_resp_double(s: &str) -> Option<f64> {
    match s {
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" | "-nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// Field of an error table that says the error was already counted in
/// INFO errorstats (Redis's name: scripts can see it).
pub const COUNTED_FIELD: &str = "ignore_error_stats_update";

/// `{err = msg, ignore_error_stats_update = true}`: a command's error as
/// a script receives it.
pub fn counted_error(lua: &Lua, msg: mlua::LuaString) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 2)?;
    t.raw_set("err", msg)?;
    t.raw_set(COUNTED_FIELD, true)?;
    Ok(t)
}

/// Does this error table say it was counted already (any true value)?
pub fn already_counted(t: &Table) -> bool {
    !matches!(
        t.raw_get::<Value>(COUNTED_FIELD),
        Ok(Value::Nil | Value::Boolean(false)) | Err(_)
    )
}

/// The error replies [`lua_to_reply`] wrote: whether there was any (the
/// script's command then counts as failed, as in Redis) and the texts
/// still to count in INFO errorstats.
#[derive(Default, Debug)]
pub struct ErrorTally {
    pub any: bool,
    pub to_count: Vec<String>,
}

/// `{name = v}`.
fn single_field(lua: &Lua, name: &str, v: Value) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set(name, v)?;
    Ok(Value::Table(t))
}

/// A Lua number as C's `(long long)` cast gives it on x86-64: truncated
/// toward zero, and `i64::MIN` for NaN and anything out of range (the
/// processor's "integer indefinite" value), which is what Redis replies.
pub fn lua_number_to_i64(v: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if v.is_nan() || !(-LIMIT..LIMIT).contains(&v) {
        i64::MIN
    } else {
        v as i64
    }
}

/// The string value of a table's field, when it is a Lua string (numbers
/// do not count, as in Redis).
fn string_field(t: &Table, name: &str) -> mlua::Result<Option<mlua::LuaString>> {
    Ok(match t.raw_get::<Value>(name)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

/// Write a script's return value as a reply. `resp3_script`: the script
/// called `redis.setresp(3)` (booleans then become RESP booleans). Fails
/// only on a table nested deeper than [`MAX_DEPTH`]; the caller discards
/// what was written.
pub fn lua_to_reply(
    w: &mut ReplyWriter,
    v: &Value,
    resp3_script: bool,
    depth: usize,
    errors: &mut ErrorTally,
) -> Result<(), &'static str> {
    if depth > MAX_DEPTH {
        return Err("ERR reached lua stack limit");
    }
    match v {
        Value::String(s) => w.bulk(&s.as_bytes()),
        Value::Integer(n) => w.int(*n),
        Value::Number(n) => w.int(lua_number_to_i64(*n)),
        Value::Boolean(b) => match (resp3_script, b) {
            (true, b) => w.boolean(*b),
            (false, true) => w.int(1),
            (false, false) => w.null(),
        },
        Value::Table(t) => table_to_reply(w, t, resp3_script, depth, errors)?,
        _ => w.null(),
    }
    Ok(())
}

fn table_to_reply(
    w: &mut ReplyWriter,
    t: &Table,
    resp3_script: bool,
    depth: usize,
    errors: &mut ErrorTally,
) -> Result<(), &'static str> {
    const LUA_ERR: &str = "ERR error reading the table a script returned";
    if let Some(e) = string_field(t, "err").map_err(|_| LUA_ERR)? {
        let msg = String::from_utf8_lossy(&e.as_bytes()).into_owned();
        w.error(&msg);
        errors.any = true;
        if !already_counted(t) {
            errors.to_count.push(msg);
        }
        return Ok(());
    }
    if let Some(s) = string_field(t, "ok").map_err(|_| LUA_ERR)? {
        status(w, &s.as_bytes());
        return Ok(());
    }
    if let Ok(Value::Number(d)) = t.raw_get::<Value>("double") {
        w.double(d);
        return Ok(());
    }
    if let Ok(Value::Integer(d)) = t.raw_get::<Value>("double") {
        w.double(d as f64);
        return Ok(());
    }
    if let Some(s) = string_field(t, "big_number").map_err(|_| LUA_ERR)? {
        w.big_number(&s.as_bytes());
        return Ok(());
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let pairs: Vec<(Value, Value)> = m
            .pairs::<Value, Value>()
            .collect::<mlua::Result<_>>()
            .map_err(|_| LUA_ERR)?;
        w.map(pairs.len());
        for (k, v) in &pairs {
            lua_to_reply(w, k, resp3_script, depth + 1, errors)?;
            lua_to_reply(w, v, resp3_script, depth + 1, errors)?;
        }
        return Ok(());
    }
    if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
        let keys: Vec<Value> = s
            .pairs::<Value, Value>()
            .map(|p| p.map(|(k, _)| k))
            .collect::<mlua::Result<_>>()
            .map_err(|_| LUA_ERR)?;
        w.set(keys.len());
        for k in &keys {
            lua_to_reply(w, k, resp3_script, depth + 1, errors)?;
        }
        return Ok(());
    }
    if let Ok(Value::Table(vt)) = t.raw_get::<Value>("verbatim_string") {
        if let (Ok(Some(f)), Ok(Some(s))) =
            (string_field(&vt, "format"), string_field(&vt, "string"))
        {
            // Redis writes exactly three format bytes: cut, or padded
            // with spaces (a C string: a NUL ends it).
            let mut format = [b' '; 3];
            let f = f.as_bytes();
            for (dst, src) in format.iter_mut().zip(f.iter().take_while(|&&b| b != 0)) {
                *dst = *src;
            }
            w.verbatim_with_format(&format, &s.as_bytes());
            return Ok(());
        }
    }
    // An array: elements 1, 2, ... up to the first nil.
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(v),
        }
    }
    w.array(items.len());
    for v in &items {
        lua_to_reply(w, v, resp3_script, depth + 1, errors)?;
    }
    Ok(())
}

/// A status reply; CR and LF would end the line early, so they become
/// spaces (as Redis's status replies do).
fn status(w: &mut ReplyWriter, text: &[u8]) {
    let clean: String = String::from_utf8_lossy(text)
        .chars()
        .map(|ch| if ch == '\r' || ch == '\n' { ' ' } else { ch })
        .collect();
    w.simple(&clean);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::reply::Proto;

    fn to_reply(lua: &Lua, src: &str, resp3_script: bool, proto: Proto) -> Vec<u8> {
        let v: Value = lua.load(src).eval().unwrap();
        let mut out = Vec::new();
        lua_to_reply(
            &mut ReplyWriter::new(&mut out, proto),
            &v,
            resp3_script,
            0,
            &mut ErrorTally::default(),
        )
        .unwrap();
        out
    }

    #[test]
    fn lua_values_become_redis_replies() {
        // Expected bytes read from redis-server 7.0.15.
        let lua = Lua::new();
        assert_eq!(
            to_reply(
                &lua,
                "return {1.5, 'a', {ok='x'}, {err='y'}, true, false, nil, 7}",
                false,
                Proto::Resp2
            ),
            b"*6\r\n:1\r\n$1\r\na\r\n+x\r\n-y\r\n:1\r\n$-1\r\n"
        );
        assert_eq!(
            to_reply(&lua, "return 1e20", false, Proto::Resp2),
            b":-9223372036854775808\r\n"
        );
        assert_eq!(
            to_reply(&lua, "return -3.7", false, Proto::Resp2),
            b":-3\r\n"
        );
        assert_eq!(
            to_reply(&lua, "return {ok='a', err='b'}", false, Proto::Resp2),
            b"-b\r\n"
        );
        assert_eq!(
            to_reply(&lua, "return {ok=1}", false, Proto::Resp2),
            b"*0\r\n"
        );
        assert_eq!(
            to_reply(&lua, "return {true, false}", true, Proto::Resp3),
            b"*2\r\n#t\r\n#f\r\n"
        );
        assert_eq!(
            to_reply(&lua, "return {true, false}", true, Proto::Resp2),
            b"*2\r\n:1\r\n:0\r\n"
        );
        assert_eq!(
            to_reply(&lua, "return {double=1.5}", false, Proto::Resp2),
            b"$3\r\n1.5\r\n"
        );
        assert_eq!(
            to_reply(&lua, "return {map={a=1}}", false, Proto::Resp3),
            b"%1\r\n$1\r\na\r\n:1\r\n"
        );
        assert_eq!(
            to_reply(&lua, "return {set={a=true}}", false, Proto::Resp2),
            b"*1\r\n$1\r\na\r\n"
        );
        assert_eq!(
            to_reply(&lua, "return {big_number='123'}", false, Proto::Resp3),
            b"(123\r\n"
        );
        assert_eq!(
            to_reply(
                &lua,
                "return {verbatim_string={format='txt', string='hi'}}",
                false,
                Proto::Resp3
            ),
            b"=6\r\ntxt:hi\r\n"
        );
        // The format is always three bytes.
        assert_eq!(
            to_reply(
                &lua,
                "return {verbatim_string={format='markdown', string='x'}}",
                false,
                Proto::Resp3
            ),
            b"=5\r\nmar:x\r\n"
        );
        assert_eq!(
            to_reply(
                &lua,
                "return {verbatim_string={format='a', string='x'}}",
                false,
                Proto::Resp3
            ),
            b"=5\r\na  :x\r\n"
        );
    }

    #[test]
    fn error_replies_are_tallied_unless_already_counted() {
        let lua = Lua::new();
        let v: Value = lua
            .load("return {{err='A x'}, {err='B y', ignore_error_stats_update=true}, 1}")
            .eval()
            .unwrap();
        let mut out = Vec::new();
        let mut tally = ErrorTally::default();
        lua_to_reply(
            &mut ReplyWriter::new(&mut out, Proto::Resp2),
            &v,
            false,
            0,
            &mut tally,
        )
        .unwrap();
        assert_eq!(out, b"*3\r\n-A x\r\n-B y\r\n:1\r\n");
        assert!(tally.any);
        assert_eq!(tally.to_count, vec!["A x".to_string()]);
        // A command's error reply read by a script is marked as counted.
        let v = reply_to_lua(&lua, b"*1\r\n-ERR z\r\n", false)
            .unwrap()
            .unwrap();
        let inner: Table = v.as_table().unwrap().raw_get(1).unwrap();
        assert!(already_counted(&inner));
    }

    #[test]
    fn self_referencing_table_is_refused() {
        let lua = Lua::new();
        let v: Value = lua.load("local t = {} t[1] = t return t").eval().unwrap();
        let mut out = Vec::new();
        assert!(lua_to_reply(
            &mut ReplyWriter::new(&mut out, Proto::Resp2),
            &v,
            false,
            0,
            &mut ErrorTally::default()
        )
        .is_err());
    }

    #[test]
    fn replies_become_lua_values() {
        let lua = Lua::new();
        let v = reply_to_lua(&lua, b"*3\r\n:1\r\n$-1\r\n+OK\r\n", false)
            .unwrap()
            .unwrap();
        let t = v.as_table().unwrap();
        assert_eq!(t.raw_get::<f64>(1).unwrap(), 1.0);
        assert!(!t.raw_get::<bool>(2).unwrap());
        let ok: Table = t.raw_get(3).unwrap();
        assert_eq!(ok.raw_get::<String>("ok").unwrap(), "OK");
        assert_eq!(
            reply_to_lua(&lua, b"-ERR x\r\n", false)
                .unwrap()
                .unwrap_err(),
            "ERR x"
        );
        let v = reply_to_lua(&lua, b"_\r\n", true).unwrap().unwrap();
        assert!(v.is_nil());
        // A count the bytes claim is not trusted.
        assert!(reply_to_lua(&lua, b"*1000000000\r\n", false)
            .unwrap()
            .is_err());
        assert!(reply_to_lua(&lua, b"$5\r\nab\r\n", false).unwrap().is_err());
    }
}
