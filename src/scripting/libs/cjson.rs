//! `cjson`: JSON encoding and decoding with the behaviour of the lua-cjson
//! 2.1.0 module Redis 7.0 ships (number format, escapes, sparse arrays,
//! nesting limits, configuration functions and every error text).
//!
//! Owns: the `cjson` table and the tables `cjson.new()` makes, each with
//! its own configuration (settings live as long as the Lua state, as in
//! Redis, where SCRIPT FLUSH starts a new state).
//!
//! Must never: recurse on the native stack or hold a Lua reference per
//! nesting level (mlua's reference space is bounded; a deep document must
//! fail with Redis's message, not exhaust it): both directions walk with an
//! explicit stack and keep the open tables in a Lua table. Output and
//! decoded values are proportional to the input actually given.
//!
//! Invariants:
//! - Nesting limits are Redis's: the configured depth, and Lua's 8000-slot
//!   C stack as lua-cjson uses it (one slot per open array, two per open
//!   object, plus the argument and the slots each level asks for), which is
//!   why Redis stops at 7997 nested arrays or 3999 objects when encoding.
//! - Table traversal uses raw access and `next` order, so key order and
//!   array detection match Redis for the same script.

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{LightUserData, Lua, Table, Value};

use super::{add_function, fail, values, Args, Failure, LibResult};
use crate::types::zset::strtod;

/// Lua 5.1's LUAI_MAXCSTACK.
const LUA_MAX_C_STACK: usize = 8000;

/// Padding an array may need beyond its real elements before we refuse it.
/// Redis has no such bound (only the sparse ratio, which a script can turn
/// off) and would try to build a multi-gigabyte string; past this we treat
/// the table as excessively sparse instead.
const MAX_ARRAY_PADDING: i64 = 1 << 24;

#[derive(Clone, Copy, PartialEq)]
enum InvalidNumbers {
    Off,
    On,
    Null,
}

struct Config {
    sparse_convert: bool,
    sparse_ratio: i32,
    sparse_safe: i32,
    encode_max_depth: i32,
    decode_max_depth: i32,
    precision: i32,
    keep_buffer: bool,
    encode_invalid: InvalidNumbers,
    decode_invalid: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            precision: 14,
            keep_buffer: true,
            encode_invalid: InvalidNumbers::Off,
            decode_invalid: true,
        }
    }
}

type Shared = Rc<RefCell<Config>>;

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

fn is_null(v: &Value) -> bool {
    matches!(v, Value::LightUserData(p) if p.0.is_null())
}

pub(super) fn open(lua: &Lua) -> mlua::Result<Table> {
    module(lua)
}

/// One cjson module: its functions share one configuration.
fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let cfg: Shared = Rc::new(RefCell::new(Config::default()));

    let c = cfg.clone();
    add_function(lua, &t, "encode", move |lua, a| {
        exactly_one(a)?;
        let out = encode(lua, &c.borrow(), a.get(1).cloned().unwrap_or(Value::Nil))?;
        Ok(values([Value::String(lua.create_string(out)?)]))
    })?;
    let c = cfg.clone();
    add_function(lua, &t, "decode", move |lua, a| {
        exactly_one(a)?;
        let text = a.string(lua, 1)?;
        let v = decode(lua, &c.borrow(), &text.as_bytes())?;
        Ok(values([v]))
    })?;
    let c = cfg.clone();
    add_function(lua, &t, "encode_sparse_array", move |lua, a| {
        too_many(a, 3)?;
        let mut cfg = c.borrow_mut();
        if let Some(on) = bool_option(lua, a, 1, &["off", "on"])? {
            cfg.sparse_convert = on == 1;
        }
        if let Some(n) = int_option(lua, a, 2, 0, i32::MAX)? {
            cfg.sparse_ratio = n;
        }
        if let Some(n) = int_option(lua, a, 3, 0, i32::MAX)? {
            cfg.sparse_safe = n;
        }
        Ok(values([
            Value::Boolean(cfg.sparse_convert),
            Value::Integer(cfg.sparse_ratio.into()),
            Value::Integer(cfg.sparse_safe.into()),
        ]))
    })?;
    type IntField = fn(&mut Config) -> &mut i32;
    let ints: [(&str, i32, IntField); 3] = [
        ("encode_max_depth", i32::MAX, |c| &mut c.encode_max_depth),
        ("decode_max_depth", i32::MAX, |c| &mut c.decode_max_depth),
        ("encode_number_precision", 14, |c| &mut c.precision),
    ];
    for (name, max, field) in ints {
        let c = cfg.clone();
        add_function(lua, &t, name, move |lua, a| {
            too_many(a, 1)?;
            let mut cfg = c.borrow_mut();
            if let Some(n) = int_option(lua, a, 1, 1, max)? {
                *field(&mut cfg) = n;
            }
            Ok(values([Value::Integer((*field(&mut cfg)).into())]))
        })?;
    }
    let c = cfg.clone();
    add_function(lua, &t, "encode_keep_buffer", move |lua, a| {
        too_many(a, 1)?;
        let mut cfg = c.borrow_mut();
        // Only a performance hint in lua-cjson: kept for its answer.
        if let Some(on) = bool_option(lua, a, 1, &["off", "on"])? {
            cfg.keep_buffer = on == 1;
        }
        Ok(values([Value::Boolean(cfg.keep_buffer)]))
    })?;
    let c = cfg.clone();
    add_function(lua, &t, "encode_invalid_numbers", move |lua, a| {
        too_many(a, 1)?;
        let mut cfg = c.borrow_mut();
        if let Some(n) = bool_option(lua, a, 1, &["off", "on", "null"])? {
            cfg.encode_invalid = match n {
                0 => InvalidNumbers::Off,
                1 => InvalidNumbers::On,
                _ => InvalidNumbers::Null,
            };
        }
        let v = match cfg.encode_invalid {
            InvalidNumbers::Off => Value::Boolean(false),
            InvalidNumbers::On => Value::Boolean(true),
            InvalidNumbers::Null => Value::String(lua.create_string("null")?),
        };
        Ok(values([v]))
    })?;
    let c = cfg;
    add_function(lua, &t, "decode_invalid_numbers", move |lua, a| {
        too_many(a, 1)?;
        let mut cfg = c.borrow_mut();
        if let Some(on) = bool_option(lua, a, 1, &["off", "on"])? {
            cfg.decode_invalid = on == 1;
        }
        Ok(values([Value::Boolean(cfg.decode_invalid)]))
    })?;
    add_function(lua, &t, "new", |lua, _| {
        Ok(values([Value::Table(module(lua)?)]))
    })?;
    t.raw_set("null", null())?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

fn exactly_one(a: &Args) -> LibResult<()> {
    if a.len() != 1 {
        return Err(Failure::Arg(1, b"expected 1 argument".to_vec()));
    }
    Ok(())
}

fn too_many(a: &Args, max: usize) -> LibResult<()> {
    if a.len() > max {
        return Err(Failure::Arg(max + 1, b"found too many arguments".to_vec()));
    }
    Ok(())
}

/// An on/off style setting: a boolean (true = 1) or one of `names`,
/// returned as its index; `None` when the argument is nil or absent.
fn bool_option(lua: &Lua, a: &Args, n: usize, names: &[&str]) -> LibResult<Option<usize>> {
    match a.get(n) {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::Boolean(b)) => Ok(Some(usize::from(*b))),
        Some(_) => {
            let s = a.string(lua, n)?;
            let s = s.as_bytes();
            match names.iter().position(|name| name.as_bytes() == &s[..]) {
                Some(i) => Ok(Some(i)),
                None => {
                    let mut msg = b"invalid option '".to_vec();
                    msg.extend_from_slice(&s);
                    msg.push(b'\'');
                    Err(Failure::Arg(n, msg))
                }
            }
        }
    }
}

/// An integer setting within `min..=max`. The value goes through C's int
/// (so 2^32+5 is 5), and lua-cjson reports a range error against argument
/// #1 whichever argument it was.
fn int_option(lua: &Lua, a: &Args, n: usize, min: i32, max: i32) -> LibResult<Option<i32>> {
    if a.is_none_or_nil(n) {
        return Ok(None);
    }
    let v = a.integer(lua, n)? as i32;
    if v < min || v > max {
        return Err(Failure::Arg(
            1,
            format!("expected integer between {min} and {max}").into_bytes(),
        ));
    }
    Ok(Some(v))
}

// ---------------------------------------------------------------- encode

/// C's `printf("%.{precision}g", x)` for finite x.
fn fmt_g(x: f64, precision: usize) -> String {
    let precision = precision.max(1);
    let sci = format!("{:.*e}", precision - 1, x);
    // "-d.ddde-5": split mantissa and exponent.
    let (mant, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let (sign, mant) = match mant.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mant),
    };
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    if exp < -4 || exp >= precision as i32 {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.unsigned_abs())
    } else if exp < 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
        } else {
            let (i, f) = digits.split_at(int_len);
            format!("{sign}{i}.{f}")
        }
    }
}

fn append_number(out: &mut Vec<u8>, cfg: &Config, x: f64) -> LibResult<()> {
    if !x.is_finite() {
        match cfg.encode_invalid {
            InvalidNumbers::Off => return fail("Cannot serialise number: must not be NaN or Inf"),
            InvalidNumbers::Null => {
                out.extend_from_slice(b"null");
                return Ok(());
            }
            InvalidNumbers::On => {
                // Both signs of NaN print as "nan".
                let s: &[u8] = if x.is_nan() {
                    b"nan"
                } else if x > 0.0 {
                    b"inf"
                } else {
                    b"-inf"
                };
                out.extend_from_slice(s);
                return Ok(());
            }
        }
    }
    out.extend_from_slice(fmt_g(x, cfg.precision as usize).as_bytes());
    Ok(())
}

fn append_string(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\x08' => out.extend_from_slice(b"\\b"),
            b'\x0c' => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f | 0x7f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 15)]);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(x) => Some(*x),
        _ => None,
    }
}

fn type_not_supported(v: &Value) -> Failure {
    Failure::Msg(
        format!(
            "Cannot serialise {}: type not supported",
            super::lua_typename(Some(v))
        )
        .into_bytes(),
    )
}

/// How a table will be written, decided by one pass over its keys.
enum Shape {
    /// An array of this many slots (1..=len).
    Array(i32),
    /// An object: its keys, in `next` order, as a Lua sequence.
    Object(Table, i64),
}

/// Classify a table as lua-cjson does: an array when every key is a
/// positive integer and it is not excessively sparse. `max` is a C int, so
/// keys beyond 2^31 wrap it to negative values, which turns such tables
/// into objects, exactly as in Redis.
fn shape(lua: &Lua, cfg: &Config, t: &Table) -> LibResult<Shape> {
    let keys = lua.create_table()?;
    let mut nkeys: i64 = 0;
    let mut array = true;
    let mut max: i32 = 0;
    let mut items: i32 = 0;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        if array {
            match as_number(&k) {
                Some(x) if x != 0.0 && x.floor() == x && x >= 1.0 => {
                    if x > f64::from(max) {
                        max = c_cast_i32(x);
                    }
                    items = items.wrapping_add(1);
                }
                _ => array = false,
            }
        }
        nkeys += 1;
        keys.raw_set(nkeys, k)?;
    }
    if array {
        let sparse = cfg.sparse_ratio > 0
            && max > items.wrapping_mul(cfg.sparse_ratio)
            && max > cfg.sparse_safe;
        let huge = i64::from(max) - i64::from(items) > MAX_ARRAY_PADDING;
        if sparse || huge {
            if !cfg.sparse_convert {
                return fail("Cannot serialise table: excessively sparse array");
            }
        } else if max > 0 {
            return Ok(Shape::Array(max));
        }
    }
    Ok(Shape::Object(keys, nkeys))
}

/// C's `(int)x` on x86-64: truncation, INT_MIN when out of range.
fn c_cast_i32(x: f64) -> i32 {
    if (-2_147_483_648.0..2_147_483_648.0).contains(&x) {
        x as i32
    } else {
        i32::MIN
    }
}

enum Frame {
    Array { len: i32, next: i32 },
    Object { keys: i64, next: i64 },
}

impl Frame {
    /// Lua stack slots lua-cjson holds while inside one element of this
    /// level: the element for arrays, the key and value for objects.
    fn slots(&self) -> usize {
        match self {
            Frame::Array { .. } => 1,
            Frame::Object { .. } => 2,
        }
    }
}

struct Encoder<'a> {
    lua: &'a Lua,
    cfg: &'a Config,
    out: Vec<u8>,
    frames: Vec<Frame>,
    /// Open tables and their key lists, at 2d-1 and 2d for depth d.
    path: Table,
    /// The innermost open table and its keys (cached from `path`).
    cur: Option<(Table, Option<Table>)>,
    /// lua-cjson's Lua stack use: the argument plus each frame's slots.
    slots: usize,
}

impl Encoder<'_> {
    /// Write a scalar, or open a table (its contents follow in `run`).
    fn value(&mut self, v: Value) -> LibResult<()> {
        match v {
            Value::Nil => self.out.extend_from_slice(b"null"),
            Value::Boolean(b) => self
                .out
                .extend_from_slice(if b { b"true" } else { b"false" }),
            Value::Integer(_) | Value::Number(_) => {
                let x = as_number(&v).unwrap_or(0.0);
                append_number(&mut self.out, self.cfg, x)?;
            }
            Value::String(s) => append_string(&mut self.out, &s.as_bytes()),
            Value::Table(t) => self.open(t)?,
            ref other if is_null(other) => self.out.extend_from_slice(b"null"),
            other => return Err(type_not_supported(&other)),
        }
        Ok(())
    }

    fn open(&mut self, t: Table) -> LibResult<()> {
        let depth = self.frames.len() + 1;
        if depth > self.cfg.encode_max_depth as usize || self.slots + 3 > LUA_MAX_C_STACK {
            return fail(format!("Cannot serialise, excessive nesting ({depth})"));
        }
        let (frame, keys) = match shape(self.lua, self.cfg, &t)? {
            Shape::Array(len) => {
                self.out.push(b'[');
                (Frame::Array { len, next: 1 }, None)
            }
            Shape::Object(keys, n) => {
                self.out.push(b'{');
                (Frame::Object { keys: n, next: 1 }, Some(keys))
            }
        };
        let base = 2 * depth as i64;
        self.path.raw_set(base - 1, &t)?;
        self.path.raw_set(base, keys.clone())?;
        self.slots += frame.slots();
        self.frames.push(frame);
        self.cur = Some((t, keys));
        Ok(())
    }

    fn close(&mut self) -> LibResult<()> {
        let depth = self.frames.len() as i64;
        if let Some(frame) = self.frames.pop() {
            self.out.push(if matches!(frame, Frame::Array { .. }) {
                b']'
            } else {
                b'}'
            });
            self.slots -= frame.slots();
        }
        self.path.raw_set(2 * depth - 1, Value::Nil)?;
        self.path.raw_set(2 * depth, Value::Nil)?;
        self.cur = if depth > 1 {
            let t: Table = self.path.raw_get(2 * depth - 3)?;
            let k: Option<Table> = self.path.raw_get(2 * depth - 2)?;
            Some((t, k))
        } else {
            None
        };
        Ok(())
    }

    fn key(&mut self, k: &Value) -> LibResult<()> {
        match k {
            Value::String(s) => append_string(&mut self.out, &s.as_bytes()),
            Value::Integer(_) | Value::Number(_) => {
                self.out.push(b'"');
                append_number(&mut self.out, self.cfg, as_number(k).unwrap_or(0.0))?;
                self.out.push(b'"');
            }
            other => {
                return fail(format!(
                    "Cannot serialise {}: table key must be a number or string",
                    super::lua_typename(Some(other))
                ))
            }
        }
        self.out.push(b':');
        Ok(())
    }

    fn run(&mut self, root: Value) -> LibResult<()> {
        self.value(root)?;
        while let Some(frame) = self.frames.last_mut() {
            let Some((t, keys)) = self.cur.clone() else {
                break;
            };
            match frame {
                Frame::Array { len, next } => {
                    if *next > *len {
                        self.close()?;
                        continue;
                    }
                    let i = *next;
                    *next += 1;
                    if i > 1 {
                        self.out.push(b',');
                    }
                    let v: Value = t.raw_get(i)?;
                    self.value(v)?;
                }
                Frame::Object { keys: n, next } => {
                    if *next > *n {
                        self.close()?;
                        continue;
                    }
                    let i = *next;
                    *next += 1;
                    if i > 1 {
                        self.out.push(b',');
                    }
                    let k: Value = match &keys {
                        Some(keys) => keys.raw_get(i)?,
                        None => Value::Nil,
                    };
                    self.key(&k)?;
                    let v: Value = t.raw_get(k)?;
                    self.value(v)?;
                }
            }
        }
        Ok(())
    }
}

fn encode(lua: &Lua, cfg: &Config, v: Value) -> LibResult<Vec<u8>> {
    let mut enc = Encoder {
        lua,
        cfg,
        out: Vec::new(),
        frames: Vec::new(),
        path: lua.create_table()?,
        cur: None,
        slots: 1,
    };
    enc.run(v)?;
    Ok(enc.out)
}

// ---------------------------------------------------------------- decode

#[derive(Debug)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str(Vec<u8>),
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    /// How lua-cjson names a token in "but found ...".
    fn name(&self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str(_) => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(msg) => msg,
        }
    }
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
    invalid_numbers: bool,
}

impl Lexer<'_> {
    fn byte(&self, i: usize) -> u8 {
        self.s.get(i).copied().unwrap_or(0)
    }

    /// A number strtod accepts but JSON does not: '+', hex, leading zeros,
    /// inf, nan.
    fn is_invalid_number(&self, at: usize) -> bool {
        let mut p = at;
        if self.byte(p) == b'+' {
            return true;
        }
        if self.byte(p) == b'-' {
            p += 1;
        }
        let c = self.byte(p);
        if c == b'0' {
            let c2 = self.byte(p + 1);
            return c2 | 0x20 == b'x' || c2.is_ascii_digit();
        }
        if c <= b'9' {
            return false;
        }
        let rest = &self.s[p.min(self.s.len())..];
        rest.len() >= 3
            && (rest[..3].eq_ignore_ascii_case(b"inf") || rest[..3].eq_ignore_ascii_case(b"nan"))
    }

    fn number(&mut self, at: usize) -> (Tok, usize) {
        let r = strtod(&self.s[at..]);
        if r.consumed == 0 {
            return (Tok::Error("invalid number"), at);
        }
        self.pos = at + r.consumed;
        (Tok::Num(r.value), at)
    }

    /// The next token and the offset it is reported at.
    fn next(&mut self) -> (Tok, usize) {
        while matches!(self.byte(self.pos), b' ' | b'\t' | b'\n' | b'\r') && self.pos < self.s.len()
        {
            self.pos += 1;
        }
        let at = self.pos;
        if at >= self.s.len() {
            return (Tok::End, at);
        }
        let single = match self.s[at] {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b':' => Some(Tok::Colon),
            b',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(tok) = single {
            self.pos += 1;
            return (tok, at);
        }
        let c = self.s[at];
        if c == b'"' {
            return self.string(at);
        }
        if c == b'-' || c.is_ascii_digit() {
            if !self.invalid_numbers && self.is_invalid_number(at) {
                return (Tok::Error("invalid number"), at);
            }
            return self.number(at);
        }
        let rest = &self.s[at..];
        for (word, tok) in [
            (&b"true"[..], Tok::Bool(true)),
            (b"false", Tok::Bool(false)),
            (b"null", Tok::Null),
        ] {
            if rest.starts_with(word) {
                self.pos += word.len();
                return (tok, at);
            }
        }
        if self.invalid_numbers && self.is_invalid_number(at) {
            return self.number(at);
        }
        (Tok::Error("invalid token"), at)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let h = self.s.get(at..at + 4)?;
        let text = std::str::from_utf8(h).ok()?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(text, 16).ok()
    }

    /// `\uXXXX` (and its low surrogate) at `at` (the backslash): the code
    /// point and the bytes consumed.
    fn unicode(&self, at: usize) -> Option<(u32, usize)> {
        let hi = self.hex4(at + 2)?;
        match hi {
            0xDC00..=0xDFFF => None,
            0xD800..=0xDBFF => {
                if self.byte(at + 6) != b'\\' || self.byte(at + 7) != b'u' {
                    return None;
                }
                let lo = self.hex4(at + 8)?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return None;
                }
                Some((0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00), 12))
            }
            cp => Some((cp, 6)),
        }
    }

    fn string(&mut self, at: usize) -> (Tok, usize) {
        let mut buf = Vec::new();
        let mut p = at + 1;
        loop {
            if p >= self.s.len() {
                return (Tok::Error("unexpected end of string"), p);
            }
            let c = self.s[p];
            if c == b'"' {
                self.pos = p + 1;
                return (Tok::Str(buf), at);
            }
            if c != b'\\' {
                buf.push(c);
                p += 1;
                continue;
            }
            let simple = match self.byte(p + 1) {
                b'"' => Some(b'"'),
                b'\\' => Some(b'\\'),
                b'/' => Some(b'/'),
                b'b' => Some(b'\x08'),
                b'f' => Some(b'\x0c'),
                b'n' => Some(b'\n'),
                b'r' => Some(b'\r'),
                b't' => Some(b'\t'),
                b'u' => None,
                _ => return (Tok::Error("invalid escape code"), p),
            };
            if let Some(b) = simple {
                buf.push(b);
                p += 2;
                continue;
            }
            let Some((cp, used)) = self.unicode(p) else {
                return (Tok::Error("invalid unicode escape code"), p);
            };
            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
            let mut tmp = [0u8; 4];
            buf.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
            p += used;
        }
    }
}

fn expected(what: &str, tok: &Tok, at: usize) -> Failure {
    Failure::Msg(
        format!(
            "Expected {what} but found {} at character {}",
            tok.name(),
            at + 1
        )
        .into_bytes(),
    )
}

enum Open {
    Array(i64),
    Object,
}

/// Where the value being parsed goes once complete.
struct Decoder<'a> {
    lua: &'a Lua,
    cfg: &'a Config,
    lex: Lexer<'a>,
    /// Open containers, innermost last; their tables are in `path[depth]`.
    open: Vec<Open>,
    path: Table,
    cur: Option<Table>,
    /// The key awaiting its value in the innermost object.
    key: Option<Vec<u8>>,
    /// lua-cjson's Lua stack use: the argument, a table per open array,
    /// a table and key per open object.
    slots: usize,
    root: Value,
}

impl Decoder<'_> {
    /// Store a finished value into the innermost container (or as root).
    fn put(&mut self, v: Value) -> LibResult<()> {
        match (self.open.last_mut(), &self.cur) {
            (Some(Open::Array(n)), Some(t)) => {
                *n += 1;
                t.raw_set(*n, v)?;
            }
            (Some(Open::Object), Some(t)) => {
                let k = self.key.take().unwrap_or_default();
                t.raw_set(self.lua.create_string(k)?, v)?;
            }
            _ => self.root = v,
        }
        Ok(())
    }

    fn descend(&mut self, array: bool, at: usize) -> LibResult<()> {
        let depth = self.open.len() + 1;
        let ask = if array { 2 } else { 3 };
        if depth > self.cfg.decode_max_depth as usize || self.slots + ask > LUA_MAX_C_STACK {
            return fail(format!(
                "Found too many nested data structures ({depth}) at character {}",
                at + 1
            ));
        }
        let t = self.lua.create_table()?;
        self.put(Value::Table(t.clone()))?;
        self.path.raw_set(depth as i64, &t)?;
        self.cur = Some(t);
        self.open
            .push(if array { Open::Array(0) } else { Open::Object });
        self.slots += if array { 1 } else { 2 };
        Ok(())
    }

    fn ascend(&mut self) -> LibResult<()> {
        let depth = self.open.len() as i64;
        if let Some(o) = self.open.pop() {
            self.slots -= if matches!(o, Open::Array(_)) { 1 } else { 2 };
        }
        self.path.raw_set(depth, Value::Nil)?;
        self.cur = if depth > 1 {
            Some(self.path.raw_get(depth - 1)?)
        } else {
            None
        };
        Ok(())
    }

    /// Take a value starting with `tok`: a scalar is stored, a container
    /// is opened (its contents come through `run`'s loop, not recursion).
    fn value(&mut self, tok: Tok, at: usize) -> LibResult<Want> {
        let v = match tok {
            Tok::Str(s) => Value::String(self.lua.create_string(s)?),
            Tok::Num(x) => Value::Number(x),
            Tok::Bool(b) => Value::Boolean(b),
            Tok::Null => null(),
            Tok::ArrBegin => {
                self.descend(true, at)?;
                return Ok(Want::FirstElement);
            }
            Tok::ObjBegin => {
                self.descend(false, at)?;
                return Ok(Want::FirstMember);
            }
            other => return Err(expected("value", &other, at)),
        };
        self.put(v)?;
        Ok(Want::Next)
    }

    /// An object member's key `tok` and its colon.
    fn key(&mut self, tok: Tok, at: usize) -> LibResult<Want> {
        let Tok::Str(k) = tok else {
            return Err(expected("object key string", &tok, at));
        };
        let (t, at) = self.lex.next();
        if !matches!(t, Tok::Colon) {
            return Err(expected("colon", &t, at));
        }
        self.key = Some(k);
        Ok(Want::Value)
    }

    fn run(&mut self) -> LibResult<Value> {
        let mut want = Want::Value;
        loop {
            let (t, at) = self.lex.next();
            want = match want {
                Want::Value => self.value(t, at)?,
                Want::FirstElement if matches!(t, Tok::ArrEnd) => {
                    self.ascend()?;
                    Want::Next
                }
                Want::FirstElement => self.value(t, at)?,
                Want::FirstMember if matches!(t, Tok::ObjEnd) => {
                    self.ascend()?;
                    Want::Next
                }
                Want::FirstMember | Want::Member => self.key(t, at)?,
                // A value is complete: close containers or move on.
                Want::Next => match self.open.last() {
                    None => {
                        if !matches!(t, Tok::End) {
                            return Err(expected("the end", &t, at));
                        }
                        return Ok(std::mem::replace(&mut self.root, Value::Nil));
                    }
                    Some(Open::Array(_)) => match t {
                        Tok::ArrEnd => {
                            self.ascend()?;
                            Want::Next
                        }
                        Tok::Comma => Want::Value,
                        other => return Err(expected("comma or array end", &other, at)),
                    },
                    Some(Open::Object) => match t {
                        Tok::ObjEnd => {
                            self.ascend()?;
                            Want::Next
                        }
                        Tok::Comma => Want::Member,
                        other => return Err(expected("comma or object end", &other, at)),
                    },
                },
            };
        }
    }
}

/// What the decoder expects from the next token.
enum Want {
    /// Any value.
    Value,
    /// The first element of an array just opened, or its end.
    FirstElement,
    /// The first key of an object just opened, or its end.
    FirstMember,
    /// A key after a comma.
    Member,
    /// What follows a complete value.
    Next,
}

fn decode(lua: &Lua, cfg: &Config, text: &[u8]) -> LibResult<Value> {
    // lua-cjson reads a C string: a NUL ends the document.
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    let mut dec = Decoder {
        lua,
        cfg,
        lex: Lexer {
            s: &text[..end],
            pos: 0,
            invalid_numbers: cfg.decode_invalid,
        },
        open: Vec::new(),
        path: lua.create_table()?,
        cur: None,
        key: None,
        slots: 1,
        root: Value::Nil,
    };
    dec.run()
}

#[cfg(test)]
mod tests {
    //! Expected values were read from redis-server 7.0.15 via EVAL.
    use super::super::testutil::{eval, eval_num, eval_str, lua, pcall_err};
    use super::fmt_g;
    use mlua::Value;

    fn enc(l: &mlua::Lua, lua_expr: &str) -> String {
        eval_str(l, &format!("return cjson.encode({lua_expr})"))
    }

    #[test]
    fn printf_g() {
        assert_eq!(fmt_g(1.0 / 3.0, 14), "0.33333333333333");
        assert_eq!(fmt_g(1e15, 14), "1e+15");
        assert_eq!(fmt_g(100.0, 14), "100");
        assert_eq!(fmt_g(1e-5, 14), "1e-05");
        assert_eq!(fmt_g(0.0001, 14), "0.0001");
        assert_eq!(fmt_g(-0.0, 14), "-0");
        assert_eq!(fmt_g(1234567.0, 3), "1.23e+06");
        assert_eq!(fmt_g(9.5, 1), "1e+01");
        assert_eq!(fmt_g(1e300, 14), "1e+300");
    }

    #[test]
    fn encode_values() {
        let l = lua();
        let cases: &[(&str, &str)] = &[
            ("{1,2,3}", "[1,2,3]"),
            ("{}", "{}"),
            ("{a=1}", "{\"a\":1}"),
            ("{1,2,nil,4}", "[1,2,null,4]"),
            ("{[1]=1,[2]=2,[4]=4}", "[1,2,null,4]"),
            ("{[1]=1,[5]=5}", "[1,null,null,null,5]"),
            (
                "{[10]=5}",
                "[null,null,null,null,null,null,null,null,null,5]",
            ),
            ("{[0]=1}", "{\"0\":1}"),
            ("{[1.5]=1}", "{\"1.5\":1}"),
            ("{[-1]=1}", "{\"-1\":1}"),
            ("{[2^53]=1}", "{\"9.007199254741e+15\":1}"),
            ("{[1e300]=1}", "{\"1e+300\":1}"),
            ("{[2]=1, [1]=2}", "[2,1]"),
            ("{[3]='c',[2]='b',[1]='a'}", "[\"a\",\"b\",\"c\"]"),
            ("{[1]=1,[3]=1}", "[1,null,1]"),
            ("1/3", "0.33333333333333"),
            ("0.1", "0.1"),
            ("1e300", "1e+300"),
            ("123456789012345678", "1.2345678901235e+17"),
            ("-0.0", "-0"),
            ("3", "3"),
            ("1e15", "1e+15"),
            ("1e14", "1e+14"),
            ("2^53", "9.007199254741e+15"),
            ("1e-5", "1e-05"),
            ("true", "true"),
            ("nil", "null"),
            ("cjson.null", "null"),
            ("{cjson.null}", "[null]"),
            (
                "'a/b\"\\\\\\b\\f\\n\\r\\t\\0\\1\\31\\127'",
                "\"a\\/b\\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f\\u007f\"",
            ),
            ("'\\128\\255'", "\"\u{80}\u{ff}\""),
        ];
        for (v, want) in cases {
            if v.contains("\\128") {
                // Raw high bytes pass through untouched.
                let got =
                    super::super::testutil::eval_bytes(&l, &format!("return cjson.encode({v})"));
                assert_eq!(got, b"\"\x80\xff\"", "{v}");
                continue;
            }
            assert_eq!(enc(&l, v), *want, "encode({v})");
        }
        // Key order is Lua's `next` order, as in Redis.
        assert_eq!(enc(&l, "{1,2,x=3}"), "{\"1\":1,\"2\":2,\"x\":3}");
        assert_eq!(enc(&l, "{[1]='a', ['1']='b'}"), "{\"1\":\"a\",\"1\":\"b\"}");
    }

    #[test]
    fn encode_errors() {
        let l = lua();
        let sparse = "Cannot serialise table: excessively sparse array";
        let cases: &[(&str, &str)] = &[
            ("{[1]=1,[11]=5}", sparse),
            ("{[12]=5}", sparse),
            ("{[11]=5}", sparse),
            ("{[1]=1,[22]=1}", sparse),
            ("{[2]=1,[12]=1}", sparse),
            (
                "{[true]=1}",
                "Cannot serialise boolean: table key must be a number or string",
            ),
            (
                "{[{}]=1}",
                "Cannot serialise table: table key must be a number or string",
            ),
            ("1/0", "Cannot serialise number: must not be NaN or Inf"),
            ("-1/0", "Cannot serialise number: must not be NaN or Inf"),
            ("0/0", "Cannot serialise number: must not be NaN or Inf"),
            (
                "{[1/0]=1}",
                "Cannot serialise number: must not be NaN or Inf",
            ),
            (
                "{f=cjson.encode}",
                "Cannot serialise function: type not supported",
            ),
            (
                "cjson.encode",
                "Cannot serialise function: type not supported",
            ),
            (
                "coroutine.create(function() end)",
                "Cannot serialise thread: type not supported",
            ),
            ("", "bad argument #1 to '?' (expected 1 argument)"),
            ("1, 2", "bad argument #1 to '?' (expected 1 argument)"),
        ];
        for (v, want) in cases {
            let call = if v.is_empty() {
                "cjson.encode".to_string()
            } else {
                format!("cjson.encode, {v}")
            };
            assert_eq!(pcall_err(&l, &call), *want, "encode({v})");
        }
    }

    #[test]
    fn encode_nesting_limits() {
        let l = lua();
        let nest = |d: usize, field: &str| {
            format!(
                "local t = {{}} local c = t for i = 2, {d} do c{field} = {{}} c = c{field} end \
                 local ok, e = pcall(cjson.encode, t) if ok then return #e end return e"
            )
        };
        assert_eq!(eval_num(&l, &nest(1000, "[1]")), 2000.0);
        assert_eq!(
            eval_str(&l, &nest(1001, "[1]")),
            "Cannot serialise, excessive nesting (1001)"
        );
        assert_eq!(
            eval_str(&l, &nest(1001, ".x")),
            "Cannot serialise, excessive nesting (1001)"
        );
        let cyc = "local t = {} t[1] = t return select(2, pcall(cjson.encode, t))";
        assert_eq!(
            eval_str(&l, cyc),
            "Cannot serialise, excessive nesting (1001)"
        );
        // With the limit lifted, Lua's C stack is what stops lua-cjson:
        // 7997 nested arrays or 3999 nested objects.
        eval(&l, "cjson.encode_max_depth(2^31-1)").unwrap();
        assert_eq!(eval_num(&l, &nest(7997, "[1]")), 7997.0 * 2.0);
        assert_eq!(
            eval_str(&l, &nest(7998, "[1]")),
            "Cannot serialise, excessive nesting (7998)"
        );
        assert_eq!(
            eval_str(&l, &nest(9000, ".a")),
            "Cannot serialise, excessive nesting (4000)"
        );
        eval(&l, "cjson.encode_max_depth(2)").unwrap();
        assert_eq!(enc(&l, "{{1}}"), "[[1]]");
        assert_eq!(
            pcall_err(&l, "cjson.encode, {a={b={}}}"),
            "Cannot serialise, excessive nesting (3)"
        );
    }

    #[test]
    fn encode_settings() {
        let l = lua();
        let show = |code: &str| {
            eval_str(
                &l,
                &format!(
                    "local r = {{{code}}} for i = 1, #r do r[i] = tostring(r[i]) end \
                     return table.concat(r, ' ')"
                ),
            )
        };
        assert_eq!(show("cjson.encode_sparse_array()"), "false 2 10");
        assert_eq!(show("cjson.encode_max_depth()"), "1000");
        assert_eq!(show("cjson.decode_max_depth()"), "1000");
        assert_eq!(show("cjson.encode_number_precision()"), "14");
        assert_eq!(show("cjson.encode_keep_buffer()"), "true");
        assert_eq!(show("cjson.encode_invalid_numbers()"), "false");
        assert_eq!(show("cjson.decode_invalid_numbers()"), "true");

        assert_eq!(show("cjson.encode_sparse_array(true)"), "true 2 10");
        assert_eq!(enc(&l, "{[1]=1,[12]=1}"), "{\"1\":1,\"12\":1}");
        assert_eq!(
            enc(&l, "{[1]=1,[12]=1, [2]=2, [3]=3, [4]=4,[5]=5}"),
            "[1,2,3,4,5,null,null,null,null,null,null,1]"
        );
        assert_eq!(show("cjson.encode_sparse_array('off', 3.9)"), "false 3 10");
        assert_eq!(
            show("cjson.encode_sparse_array(false, 0, 10)"),
            "false 0 10"
        );
        assert_eq!(eval_num(&l, "return #cjson.encode({[1]=1,[100]=1})"), 495.0);
        assert_eq!(show("cjson.encode_sparse_array(false, 1, 0)"), "false 1 0");
        assert_eq!(
            pcall_err(&l, "cjson.encode, {[1]=1,[3]=1}"),
            "Cannot serialise table: excessively sparse array"
        );
        assert_eq!(enc(&l, "{[1]=1,[2]=1}"), "[1,1]");
        assert_eq!(
            show("cjson.encode_sparse_array(false, 2, 10)"),
            "false 2 10"
        );

        assert_eq!(show("cjson.encode_number_precision(3)"), "3");
        assert_eq!(
            enc(&l, "{1/3, 1234567, 0.1, 100, 1e-7}"),
            "[0.333,1.23e+06,0.1,100,1e-07]"
        );
        assert_eq!(enc(&l, "{[1/3]=1}"), "{\"0.333\":1}");
        assert_eq!(show("cjson.encode_number_precision(14)"), "14");

        assert_eq!(show("cjson.encode_invalid_numbers(true)"), "true");
        assert_eq!(enc(&l, "{1/0, -1/0, 0/0, -(0/0)}"), "[inf,-inf,nan,nan]");
        assert_eq!(enc(&l, "{[1/0]=1}"), "{\"inf\":1}");
        assert_eq!(show("cjson.encode_invalid_numbers('null')"), "null");
        assert_eq!(enc(&l, "{1/0, -1/0, 0/0}"), "[null,null,null]");
        assert_eq!(enc(&l, "{[1/0]=1}"), "{\"null\":1}");
        assert_eq!(show("cjson.encode_invalid_numbers('on')"), "true");
        assert_eq!(show("cjson.encode_invalid_numbers(false)"), "false");

        assert_eq!(show("cjson.encode_keep_buffer('off')"), "false");
        assert_eq!(show("cjson.encode_max_depth(2^32+5)"), "5");
        assert_eq!(show("cjson.encode_max_depth('3')"), "3");

        // A new instance has its own, default settings.
        assert_eq!(show("cjson.new().encode_max_depth()"), "1000");
        assert_eq!(show("cjson.encode_max_depth()"), "3");
        assert_eq!(show("cjson.new()._NAME, cjson._VERSION"), "cjson 2.1.0");
        assert_eq!(show("cjson.new().null == cjson.null"), "true");
        assert_eq!(show("cjson.new().encode({1})"), "[1]");
    }

    #[test]
    fn setting_errors() {
        let l = lua();
        let cases: &[(&str, &str)] = &[
            (
                "encode_sparse_array, 1, 2, 3, 4",
                "bad argument #4 to '?' (found too many arguments)",
            ),
            (
                "encode_sparse_array, 'x'",
                "bad argument #1 to '?' (invalid option 'x')",
            ),
            (
                "encode_sparse_array, 1",
                "bad argument #1 to '?' (invalid option '1')",
            ),
            (
                "encode_sparse_array, nil, -1",
                "bad argument #1 to '?' (expected integer between 0 and 2147483647)",
            ),
            (
                "encode_sparse_array, nil, 2^31",
                "bad argument #1 to '?' (expected integer between 0 and 2147483647)",
            ),
            (
                "encode_sparse_array, nil, nil, -1",
                "bad argument #1 to '?' (expected integer between 0 and 2147483647)",
            ),
            (
                "encode_sparse_array, nil, 'x'",
                "bad argument #2 to '?' (number expected, got string)",
            ),
            (
                "encode_max_depth, 0",
                "bad argument #1 to '?' (expected integer between 1 and 2147483647)",
            ),
            (
                "encode_max_depth, 1, 2",
                "bad argument #2 to '?' (found too many arguments)",
            ),
            (
                "encode_max_depth, true",
                "bad argument #1 to '?' (number expected, got boolean)",
            ),
            (
                "decode_max_depth, 0",
                "bad argument #1 to '?' (expected integer between 1 and 2147483647)",
            ),
            (
                "encode_number_precision, 15",
                "bad argument #1 to '?' (expected integer between 1 and 14)",
            ),
            (
                "encode_number_precision, 0",
                "bad argument #1 to '?' (expected integer between 1 and 14)",
            ),
            (
                "encode_invalid_numbers, 1",
                "bad argument #1 to '?' (invalid option '1')",
            ),
            (
                "decode_invalid_numbers, 'null'",
                "bad argument #1 to '?' (invalid option 'null')",
            ),
            (
                "encode_keep_buffer, {}",
                "bad argument #1 to '?' (string expected, got table)",
            ),
        ];
        for (call, want) in cases {
            assert_eq!(pcall_err(&l, &format!("cjson.{call}")), *want, "{call}");
        }
        // A failing setting call keeps the arguments before the bad one.
        assert_eq!(
            pcall_err(&l, "cjson.encode_sparse_array, true, -1"),
            "bad argument #1 to '?' (expected integer between 0 and 2147483647)"
        );
        assert_eq!(
            eval_str(&l, "return tostring(cjson.encode_sparse_array())"),
            "true"
        );
    }

    /// `cjson.decode(json)` shown as a canonical Lua-side rendering.
    fn dec(l: &mlua::Lua, json_lua: &str) -> String {
        eval_str(
            l,
            &format!(
                "local function show(v) \
                   if type(v) == 'table' then \
                     local ks = {{}} for k in pairs(v) do ks[#ks+1] = k end \
                     table.sort(ks, function(a, b) return tostring(a) < tostring(b) end) \
                     local o = {{}} for _, k in ipairs(ks) do o[#o+1] = tostring(k) .. '=' .. show(v[k]) end \
                     return '{{' .. table.concat(o, ',') .. '}}' \
                   elseif v == cjson.null then return 'NULL' \
                   elseif type(v) == 'string' then return string.format('%q', v) \
                   else return type(v) .. ':' .. tostring(v) end \
                 end \
                 local ok, v = pcall(cjson.decode, {json_lua}) \
                 if not ok then return 'ERR: ' .. v end return show(v)"
            ),
        )
    }

    #[test]
    fn decode_values() {
        let l = lua();
        let cases: &[(&str, &str)] = &[
            (r#""[1,2,3]""#, "{1=number:1,2=number:2,3=number:3}"),
            (
                r#""{\"a\":1,\"b\":[true,false,null]}""#,
                "{a=number:1,b={1=boolean:true,2=boolean:false,3=NULL}}",
            ),
            (r#""null""#, "NULL"),
            (r#""  3  ""#, "number:3"),
            (r#"" \t\r\n1""#, "number:1"),
            (r#""-0""#, "number:-0"),
            (r#""1e400""#, "number:inf"),
            (r#""-1e400""#, "number:-inf"),
            (r#""1e-400""#, "number:0"),
            (r#""0x10""#, "number:16"),
            (r#""-0x10""#, "number:-16"),
            (r#""0x1p4""#, "number:16"),
            (r#""inf""#, "number:inf"),
            (r#""-inf""#, "number:-inf"),
            (r#""Infinity""#, "number:inf"),
            (r#""1.5e3""#, "number:1500"),
            (r#""01""#, "number:1"),
            (r#""1.""#, "number:1"),
            (r#""+1""#, "number:1"),
            ("1", "number:1"),
            (r#""\"\\u00e9\\u20ac\\ud83d\\ude00\"""#, "\"é€😀\""),
            (r#""\"\\uD83D\\uDE00\"""#, "\"😀\""),
            (r#""\"\\u00E9\"""#, "\"é\""),
            (r#""\"\\u0000\"""#, "\"\\000\""),
            (
                r#""\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"""#,
                // Lua 5.1's %q leaves \b, \f and \t raw.
                "\"/\u{8}\u{c}\\\n\\r\t\\\"\\\\\"",
            ),
            (r#""\"a\nb\"""#, "\"a\\\nb\""),
            (r#""\"a\1b\"""#, "\"a\u{1}b\""),
            (r#""[1]\0""#, "{1=number:1}"),
            (r#""[1]\0garbage""#, "{1=number:1}"),
            (r#""{\"a\":1,\"a\":2}""#, "{a=number:2}"),
            (r#""[]""#, "{}"),
            (r#""{}""#, "{}"),
            (r#""true""#, "boolean:true"),
        ];
        for (input, want) in cases {
            assert_eq!(dec(&l, input), *want, "decode({input})");
        }
        let nan = dec(&l, r#""nan""#);
        assert!(nan.starts_with("number:") && nan.contains("nan"), "{nan}");
        assert_eq!(
            eval(&l, "return getmetatable(cjson.decode('[]')) == nil").unwrap(),
            Value::Boolean(true)
        );
        // High bytes pass through untouched.
        assert_eq!(
            super::super::testutil::eval_bytes(&l, "return cjson.decode('\"\\255\"')"),
            b"\xff"
        );
    }

    #[test]
    fn decode_errors() {
        let l = lua();
        let cases: &[(&str, &str)] = &[
            (
                r#""-""#,
                "Expected value but found invalid number at character 1",
            ),
            (
                r#""- 1""#,
                "Expected value but found invalid number at character 1",
            ),
            (
                r#""-a""#,
                "Expected value but found invalid number at character 1",
            ),
            (
                r#"".5""#,
                "Expected value but found invalid token at character 1",
            ),
            (
                r#""1e""#,
                "Expected the end but found invalid token at character 2",
            ),
            (
                r#""infx""#,
                "Expected the end but found invalid token at character 4",
            ),
            (
                r#""1 2""#,
                "Expected the end but found T_NUMBER at character 3",
            ),
            (r#""""#, "Expected value but found T_END at character 1"),
            (
                r#""x""#,
                "Expected value but found invalid token at character 1",
            ),
            (
                r#""\f1""#,
                "Expected value but found invalid token at character 1",
            ),
            (
                r#""[1,]""#,
                "Expected value but found T_ARR_END at character 4",
            ),
            (
                r#""[1 2]""#,
                "Expected comma or array end but found T_NUMBER at character 4",
            ),
            (
                r#""{\"a\" 1}""#,
                "Expected colon but found T_NUMBER at character 6",
            ),
            (
                r#""{1:2}""#,
                "Expected object key string but found T_NUMBER at character 2",
            ),
            (
                r#""{\"a\":1,}""#,
                "Expected object key string but found T_OBJ_END at character 8",
            ),
            (
                r#""\"abc""#,
                "Expected value but found unexpected end of string at character 5",
            ),
            (
                r#""\"a\\x\"""#,
                "Expected value but found invalid escape code at character 3",
            ),
            (
                r#""\"\\""#,
                "Expected value but found invalid escape code at character 2",
            ),
            (
                r#""\"\\ud83d\"""#,
                "Expected value but found invalid unicode escape code at character 2",
            ),
            (
                r#""\"\\ude00\"""#,
                "Expected value but found invalid unicode escape code at character 2",
            ),
            (
                r#""\"\\ud83dx\"""#,
                "Expected value but found invalid unicode escape code at character 2",
            ),
            (
                r#""\"\\ud83d\\u0041\"""#,
                "Expected value but found invalid unicode escape code at character 2",
            ),
            (
                r#""\"\\u12\"""#,
                "Expected value but found invalid unicode escape code at character 2",
            ),
            (
                r#""\"\\u00g0\"""#,
                "Expected value but found invalid unicode escape code at character 2",
            ),
            (
                r#""tru""#,
                "Expected value but found invalid token at character 1",
            ),
            (
                r#""truex""#,
                "Expected the end but found invalid token at character 5",
            ),
            (
                r#""nul""#,
                "Expected value but found invalid token at character 1",
            ),
            (
                r#""[1,2,3""#,
                "Expected comma or array end but found T_END at character 7",
            ),
            (
                r#""{""#,
                "Expected object key string but found T_END at character 2",
            ),
            (
                r#""{\"a\":}""#,
                "Expected value but found T_OBJ_END at character 6",
            ),
            (
                r#""{\"a\":1""#,
                "Expected comma or object end but found T_END at character 7",
            ),
            (
                r#""{\"a\":1 2""#,
                "Expected comma or object end but found T_NUMBER at character 8",
            ),
            (
                r#""]""#,
                "Expected value but found T_ARR_END at character 1",
            ),
            (r#"":""#, "Expected value but found T_COLON at character 1"),
            (r#"",""#, "Expected value but found T_COMMA at character 1"),
            (
                r#""\"a\0b\"""#,
                "Expected value but found unexpected end of string at character 3",
            ),
            ("{}", "bad argument #1 to '?' (string expected, got table)"),
            ("'1', 2", "bad argument #1 to '?' (expected 1 argument)"),
            ("'[1]', nil", "bad argument #1 to '?' (expected 1 argument)"),
        ];
        for (input, want) in cases {
            assert_eq!(dec(&l, input), format!("ERR: {want}"), "decode({input})");
        }
        assert_eq!(
            pcall_err(&l, "cjson.decode"),
            "bad argument #1 to '?' (expected 1 argument)"
        );
    }

    #[test]
    fn decode_strict_numbers() {
        let l = lua();
        eval(&l, "cjson.decode_invalid_numbers(false)").unwrap();
        let cases: &[(&str, &str)] = &[
            (
                r#""0x10""#,
                "ERR: Expected value but found invalid number at character 1",
            ),
            (
                r#""01""#,
                "ERR: Expected value but found invalid number at character 1",
            ),
            (
                r#""-01""#,
                "ERR: Expected value but found invalid number at character 1",
            ),
            (
                r#""inf""#,
                "ERR: Expected value but found invalid token at character 1",
            ),
            (
                r#""-inf""#,
                "ERR: Expected value but found invalid number at character 1",
            ),
            (
                r#""+1""#,
                "ERR: Expected value but found invalid token at character 1",
            ),
            (
                r#""nan""#,
                "ERR: Expected value but found invalid token at character 1",
            ),
            (
                r#""[0x1]""#,
                "ERR: Expected value but found invalid number at character 2",
            ),
            (
                r#""0e""#,
                "ERR: Expected the end but found invalid token at character 2",
            ),
            (r#""0""#, "number:0"),
            (r#""-0.5""#, "number:-0.5"),
            (r#""1.""#, "number:1"),
            (r#""1.5e+3""#, "number:1500"),
        ];
        for (input, want) in cases {
            assert_eq!(dec(&l, input), *want, "decode({input})");
        }
    }

    #[test]
    fn decode_nesting_limits() {
        let l = lua();
        let arrays = |d: usize| format!("string.rep('[', {d}) .. string.rep(']', {d})");
        assert_eq!(
            eval_num(
                &l,
                &format!("return #cjson.encode(cjson.decode({}))", arrays(1000))
            ),
            2000.0
        );
        assert_eq!(
            dec(&l, &arrays(1001)),
            "ERR: Found too many nested data structures (1001) at character 1001"
        );
        assert_eq!(
            dec(&l, "string.rep('[', 1001)"),
            "ERR: Found too many nested data structures (1001) at character 1001"
        );
        assert_eq!(
            dec(&l, "string.rep('{\"a\":', 1001)"),
            "ERR: Found too many nested data structures (1001) at character 5001"
        );
        assert_eq!(
            dec(&l, "string.rep('{\"a\":', 1000)"),
            "ERR: Expected value but found T_END at character 5001"
        );
        // With the limit lifted, Lua's C stack stops lua-cjson at 7999
        // nested arrays and 4000 nested objects.
        eval(&l, "cjson.decode_max_depth(2^31-1)").unwrap();
        let depth = |json: String| {
            format!(
                "local t = cjson.decode({json}) local d = 0 \
                 while type(t) == 'table' do d = d + 1 t = t[1] end return d"
            )
        };
        assert_eq!(eval_num(&l, &depth(arrays(7998))), 7998.0);
        assert_eq!(
            dec(&l, "string.rep('[', 7999)"),
            "ERR: Found too many nested data structures (7999) at character 7999"
        );
        assert_eq!(
            dec(&l, "string.rep('{\"a\":', 5000)"),
            "ERR: Found too many nested data structures (4000) at character 19996"
        );
        assert_eq!(
            dec(&l, "'[' .. string.rep('{\"a\":', 3000)"),
            "ERR: Expected value but found T_END at character 15002"
        );
        eval(&l, "cjson.decode_max_depth(2)").unwrap();
        assert_eq!(dec(&l, "'[[1]]'"), "{1={1=number:1}}");
        assert_eq!(
            dec(&l, "'[[[1]]]'"),
            "ERR: Found too many nested data structures (3) at character 3"
        );
        assert_eq!(
            dec(&l, "'{\"a\":{\"b\":{}}}'"),
            "ERR: Found too many nested data structures (3) at character 11"
        );
    }

    #[test]
    fn round_trip_keeps_redis_key_order() {
        let l = lua();
        assert_eq!(
            enc(&l, "cjson.decode('{\"b\":1,\"a\":[1,2,{\"c\":null}],\"x\":\"y\"}')"),
            eval_str(
                &l,
                "local t = {} t.b = 1 t.a = {1, 2, {c = cjson.null}} t.x = 'y' return cjson.encode(t)"
            )
        );
    }
}
