//! `cmsgpack`: MessagePack encoding and decoding with the choices of the
//! lua-cmsgpack 0.4.0 module Redis 7.0 ships (`pack`, `unpack`,
//! `unpack_one`, `unpack_limit`).
//!
//! Owns: the `cmsgpack` table.
//!
//! Must never: trust a length in the input. Array and map headers may
//! claim 2^32 entries: tables are never presized, and each entry must be
//! read from bytes that are really there, so the work is bounded by the
//! input. Strings are checked against the bytes left before copying.
//! Decoding walks with an explicit stack, keeping open tables in a Lua
//! table, so deep input neither recurses natively nor holds a Lua
//! reference per level.
//!
//! Invariants:
//! - Encoding: Lua numbers that are exactly an int64 are written as the
//!   smallest integer form; others as float32 when that is lossless, else
//!   float64. Tables are arrays when their keys are exactly 1..n, maps
//!   otherwise (an empty table is an empty array). Tables nested 16 deep
//!   and values MessagePack cannot hold (functions, userdata) become nil.
//! - Decoding: the same Lua stack limits as Redis's C code (8000 slots:
//!   one per result, two per open array or map), with its messages.

use mlua::{Lua, MultiValue, Table, Value};

use super::{add_function, fail, values, Args, Failure, LibResult, Results};

/// Tables at this depth are packed as nil (and so cycles terminate).
const MAX_NESTING: usize = 16;
/// Lua 5.1's LUAI_MAXCSTACK.
const LUA_MAX_C_STACK: usize = 8000;

const TOO_MANY: &str =
    "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)";
const ARRAY_OVERFLOW: &str = "stack overflow (in function mp_decode_to_lua_array)";

// ------------------------------------------------------------------ pack

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(x) => Some(*x),
        _ => None,
    }
}

/// `x` as an int64 when the conversion is exact (C's `(int64_t)x == x`
/// with x86's out-of-range result, so 2^63 is not one).
fn exact_i64(x: f64) -> Option<i64> {
    if !x.is_finite() || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&x) {
        return None;
    }
    let i = x as i64;
    (i as f64 == x).then_some(i)
}

fn put_int(out: &mut Vec<u8>, i: i64) {
    if i >= 0 {
        let u = i as u64;
        if u <= 0x7f {
            out.push(u as u8);
        } else if u <= 0xff {
            out.extend_from_slice(&[0xcc, u as u8]);
        } else if u <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(u as u16).to_be_bytes());
        } else if u <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(u as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
        }
    } else if i >= -32 {
        out.push(i as i8 as u8);
    } else if i >= -128 {
        out.extend_from_slice(&[0xd0, i as i8 as u8]);
    } else if i >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

fn put_number(out: &mut Vec<u8>, x: f64) {
    if let Some(i) = exact_i64(x) {
        return put_int(out, i);
    }
    let f = x as f32;
    if f64::from(f) == x {
        out.push(0xca);
        out.extend_from_slice(&f.to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&x.to_be_bytes());
    }
}

/// A header with a fix form (`fix | n` below `fix_max`), then 16 and 32
/// bit forms.
fn put_header(out: &mut Vec<u8>, n: usize, fix: u8, fix_max: usize, tags: [u8; 2]) {
    if n <= fix_max {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(tags[0]);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(tags[1]);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    let n = s.len();
    if n <= 31 {
        out.push(0xa0 | n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[0xd9, n as u8]);
    } else if n <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

/// The array length if the keys are exactly 1..n.
fn array_len(t: &Table) -> LibResult<Option<usize>> {
    let mut count: usize = 0;
    let mut max: f64 = 0.0;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        match as_number(&k) {
            Some(x) if exact_i64(x).is_some() && x >= 1.0 => {
                count += 1;
                if x > max {
                    max = x;
                }
            }
            _ => return Ok(None),
        }
    }
    Ok((max == count as f64).then_some(count))
}

/// Nesting is at most `MAX_NESTING`, so plain recursion is bounded.
fn pack_value(out: &mut Vec<u8>, v: &Value, level: usize) -> LibResult<()> {
    match v {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(_) | Value::Number(_) => put_number(out, as_number(v).unwrap_or(0.0)),
        Value::String(s) => put_string(out, &s.as_bytes()),
        Value::Table(t) if level < MAX_NESTING => match array_len(t)? {
            Some(n) => {
                put_header(out, n, 0x90, 15, [0xdc, 0xdd]);
                for i in 1..=n {
                    let e: Value = t.raw_get(i)?;
                    pack_value(out, &e, level + 1)?;
                }
            }
            None => {
                let mut n = 0usize;
                for pair in t.pairs::<Value, Value>() {
                    pair?;
                    n += 1;
                }
                put_header(out, n, 0x80, 15, [0xde, 0xdf]);
                for pair in t.pairs::<Value, Value>() {
                    let (k, e) = pair?;
                    pack_value(out, &k, level + 1)?;
                    pack_value(out, &e, level + 1)?;
                }
            }
        },
        // nil, too deep a table, and everything MessagePack cannot hold.
        _ => out.push(0xc0),
    }
    Ok(())
}

fn pack(lua: &Lua, args: &Args) -> LibResult<MultiValue> {
    if args.len() == 0 {
        return Err(Failure::Arg(0, b"MessagePack pack needs input.".to_vec()));
    }
    let mut out = Vec::new();
    for n in 1..=args.len() {
        if let Some(v) = args.get(n) {
            pack_value(&mut out, v, 0)?;
        }
    }
    Ok(values([Value::String(lua.create_string(out)?)]))
}

// ---------------------------------------------------------------- unpack

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn left(&self) -> usize {
        self.s.len() - self.pos
    }

    fn take(&mut self, n: usize) -> LibResult<&[u8]> {
        if self.left() < n {
            return fail("Missing bytes in input.");
        }
        let b = &self.s[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    fn be(&mut self, n: usize) -> LibResult<u64> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }
}

enum Item {
    Done(Value),
    Array(Table, u64),
    Map(Table, u64),
}

enum Frame {
    Array { len: u64, next: u64 },
    Map { len: u64, done: u64, has_key: bool },
}

impl Frame {
    /// Lua stack slots the C decoder holds here: the table, plus the
    /// array index or the map key being filled.
    fn slots(&self) -> usize {
        match self {
            Frame::Array { .. } => 2,
            Frame::Map { has_key, .. } => 1 + usize::from(*has_key),
        }
    }
}

struct Decoder<'a> {
    lua: &'a Lua,
    cur: Cursor<'a>,
    frames: Vec<Frame>,
    /// Open tables at 2d-1, a map's pending key at 2d, for depth d.
    path: Table,
    /// Stack slots used outside the value being decoded.
    base_slots: usize,
}

impl Decoder<'_> {
    fn slots(&self) -> usize {
        self.base_slots + self.frames.iter().map(Frame::slots).sum::<usize>()
    }

    /// Read one item's header (and a scalar's body).
    fn item(&mut self) -> LibResult<Item> {
        let tag = self.cur.take(1)?[0];
        let v = match tag {
            0x00..=0x7f => Value::Integer(tag.into()),
            0xe0..=0xff => Value::Integer((tag as i8).into()),
            0x80..=0x8f => return self.table(false, u64::from(tag & 0x0f)),
            0x90..=0x9f => return self.table(true, u64::from(tag & 0x0f)),
            0xa0..=0xbf => self.string(usize::from(tag & 0x1f))?,
            0xc0 => Value::Nil,
            0xc2 => Value::Boolean(false),
            0xc3 => Value::Boolean(true),
            0xca => Value::Number(f64::from(f32::from_bits(self.cur.be(4)? as u32))),
            0xcb => Value::Number(f64::from_bits(self.cur.be(8)?)),
            0xcc => Value::Number(self.cur.be(1)? as f64),
            0xcd => Value::Number(self.cur.be(2)? as f64),
            0xce => Value::Number(self.cur.be(4)? as f64),
            // lua-cmsgpack pushes uint64 through a signed integer.
            0xcf => Value::Number(self.cur.be(8)? as i64 as f64),
            0xd0 => Value::Number(f64::from(self.cur.be(1)? as u8 as i8)),
            0xd1 => Value::Number(f64::from(self.cur.be(2)? as u16 as i16)),
            0xd2 => Value::Number(f64::from(self.cur.be(4)? as u32 as i32)),
            0xd3 => Value::Number(self.cur.be(8)? as i64 as f64),
            0xd9 => {
                let n = self.cur.be(1)? as usize;
                self.string(n)?
            }
            0xda => {
                let n = self.cur.be(2)? as usize;
                self.string(n)?
            }
            0xdb => {
                let n = self.cur.be(4)? as usize;
                self.string(n)?
            }
            0xdc => {
                let n = self.cur.be(2)?;
                return self.table(true, n);
            }
            0xdd => {
                let n = self.cur.be(4)?;
                return self.table(true, n);
            }
            0xde => {
                let n = self.cur.be(2)?;
                return self.table(false, n);
            }
            0xdf => {
                let n = self.cur.be(4)?;
                return self.table(false, n);
            }
            _ => return fail("Bad data format in input."),
        };
        Ok(Item::Done(v))
    }

    fn string(&mut self, n: usize) -> LibResult<Value> {
        let b = self.cur.take(n)?;
        Ok(Value::String(self.lua.create_string(b)?))
    }

    /// A new, unsized table: the claimed length is only a loop bound.
    fn table(&mut self, array: bool, n: u64) -> LibResult<Item> {
        let t = self.lua.create_table()?;
        if array && self.slots() + 2 > LUA_MAX_C_STACK {
            return fail(ARRAY_OVERFLOW);
        }
        Ok(if n == 0 {
            Item::Done(Value::Table(t))
        } else if array {
            Item::Array(t, n)
        } else {
            Item::Map(t, n)
        })
    }

    fn set(t: &Table, k: Value, v: Value) -> LibResult<()> {
        match &k {
            Value::Nil => return Err(Failure::Raw(b"table index is nil".to_vec())),
            Value::Number(x) if x.is_nan() => {
                return Err(Failure::Raw(b"table index is NaN".to_vec()))
            }
            _ => {}
        }
        t.raw_set(k, v)?;
        Ok(())
    }

    /// Decode one complete value.
    fn value(&mut self) -> LibResult<Value> {
        loop {
            if self.slots() + 1 > LUA_MAX_C_STACK {
                return fail(TOO_MANY);
            }
            let mut v = match self.item()? {
                Item::Done(v) => v,
                Item::Array(t, len) => {
                    self.open(t)?;
                    self.frames.push(Frame::Array { len, next: 1 });
                    continue;
                }
                Item::Map(t, len) => {
                    self.open(t)?;
                    self.frames.push(Frame::Map {
                        len,
                        done: 0,
                        has_key: false,
                    });
                    continue;
                }
            };
            // Hand the finished value to the open containers.
            loop {
                let depth = self.frames.len() as i64;
                let Some(frame) = self.frames.last_mut() else {
                    return Ok(v);
                };
                let t: Table = self.path.raw_get(2 * depth - 1)?;
                match frame {
                    Frame::Array { len, next } => {
                        t.raw_set(*next as f64, v)?;
                        *next += 1;
                        if *next <= *len {
                            break;
                        }
                    }
                    Frame::Map { len, done, has_key } => {
                        if !*has_key {
                            self.path.raw_set(2 * depth, v)?;
                            *has_key = true;
                            break;
                        }
                        let k: Value = self.path.raw_get(2 * depth)?;
                        self.path.raw_set(2 * depth, Value::Nil)?;
                        *has_key = false;
                        *done += 1;
                        let finished = *done >= *len;
                        Self::set(&t, k, v)?;
                        if !finished {
                            break;
                        }
                    }
                }
                self.frames.pop();
                self.path.raw_set(2 * depth - 1, Value::Nil)?;
                v = Value::Table(t);
            }
        }
    }

    fn open(&mut self, t: Table) -> LibResult<()> {
        let depth = self.frames.len() as i64 + 1;
        self.path.raw_set(2 * depth - 1, t)?;
        Ok(())
    }
}

/// Decode up to `limit` values (0: all) from `offset`; with a limit, the
/// next offset (-1 at the end) comes first.
fn unpack_full(lua: &Lua, args: &Args, limit: i64, offset: i64) -> LibResult<MultiValue> {
    let data = args.string(lua, 1)?;
    let data = data.as_bytes();
    let len = data.len() as i64;
    // The C code prints these through %d: only the low 32 bits show.
    if offset < 0 || limit < 0 {
        return fail(format!(
            "Invalid request to unpack with offset of {} and limit of {}.",
            offset as i32, len as i32
        ));
    }
    if offset > len {
        return fail(format!(
            "Start offset {} greater than input length {}.",
            offset as i32, len as i32
        ));
    }
    let mut dec = Decoder {
        lua,
        cur: Cursor {
            s: &data,
            pos: offset as usize,
        },
        frames: Vec::new(),
        path: lua.create_table()?,
        base_slots: 1,
    };
    let mut out = Results::new(lua)?;
    let mut count: i64 = 0;
    while dec.cur.left() > 0 && (limit == 0 || count < limit) {
        let v = dec.value()?;
        out.push(v)?;
        dec.base_slots += 1;
        count += 1;
    }
    if limit == 0 {
        return Ok(out.finish());
    }
    if dec.base_slots + 1 > LUA_MAX_C_STACK {
        return fail(TOO_MANY);
    }
    let next = if dec.cur.left() == 0 {
        -1
    } else {
        dec.cur.pos as i64
    };
    // The offset goes first: rebuild the list with it in front.
    let mut with_offset = Results::new(lua)?;
    with_offset.push(Value::Integer(next))?;
    let n = out.len();
    for i in 1..=n {
        with_offset.push(out.get(i)?)?;
    }
    Ok(with_offset.finish())
}

pub(super) fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    add_function(lua, &t, "pack", pack)?;
    add_function(lua, &t, "unpack", |lua, a| unpack_full(lua, a, 0, 0))?;
    add_function(lua, &t, "unpack_one", |lua, a| {
        let offset = a.opt_integer(lua, 2, 0)?;
        unpack_full(lua, a, 1, offset)
    })?;
    add_function(lua, &t, "unpack_limit", |lua, a| {
        let limit = a.integer(lua, 2)?;
        let offset = a.opt_integer(lua, 3, 0)?;
        unpack_full(lua, a, limit, offset)
    })?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    //! Expected values were read from redis-server 7.0.15 via EVAL (binary
    //! results shown as hex by a Lua helper in the probe script).
    use super::super::testutil::{eval_num, eval_str, lua, pcall_err};
    use mlua::Lua;

    const SHOW: &str = "local function hx(s) return (string.gsub(s, '.', \
        function(c) return string.format('%02x', string.byte(c)) end)) end \
        local function show(v) \
          if type(v) == 'table' then \
            local ks = {} for k in pairs(v) do ks[#ks+1] = k end \
            table.sort(ks, function(a, b) return tostring(a) < tostring(b) end) \
            local o = {} for _, k in ipairs(ks) do o[#o+1] = show(k) .. '=' .. show(v[k]) end \
            return '{' .. table.concat(o, ',') .. '}' \
          elseif type(v) == 'string' then return string.format('%q', v) \
          else return tostring(v) end \
        end \
        local function all(...) local o = {} for i = 1, select('#', ...) do \
          o[i] = show((select(i, ...))) end return table.concat(o, ' ') end ";

    fn pack_hex(l: &Lua, args: &str) -> String {
        eval_str(l, &format!("{SHOW} return hx(cmsgpack.pack({args}))"))
    }

    fn unpack_show(l: &Lua, call: &str) -> String {
        eval_str(
            l,
            &format!(
                "{SHOW} local r = {{pcall(function() return all({call}) end)}} \
                 if r[1] then return r[2] end return 'ERR: ' .. tostring(r[2])"
            ),
        )
    }

    #[test]
    fn pack_encodings() {
        let l = lua();
        let cases: &[(&str, &str)] = &[
            (
                "0, 1, 127, 128, 255, 256, 65535, 65536, 2^32-1, 2^32, -1, -32, -33, -128, -129, -32768, -32769, -2^31, -2^31-1",
                "00017fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000ffe0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffff",
            ),
            (
                "2^53, 2^63, 2^64, -2^63, 1e300",
                "cf0020000000000000ca5f000000ca5f800000d38000000000000000cb7e37e43c8800759c",
            ),
            (
                "1.5, 0.1, -0.0, 1/0, -1/0, 0/0, 3.4e38, 1e-45",
                "ca3fc00000cb3fb999999999999a00caff800000ca7f800000cbfff8000000000000cb47eff933c78cdfadcb3696d601ad376ab9",
            ),
            ("true, false, nil", "c3c2c0"),
            ("{}", "90"),
            ("{1,2,3}", "93010203"),
            ("{a=1}", "81a16101"),
            ("{1,2,nil,4}", "83010102020404"),
            ("{[1]=1,[3]=3}", "8201010303"),
            ("{[2]=1}", "810201"),
            ("{[0]=1}", "810001"),
            ("{1, x=2}", "820101a17802"),
            ("cjson.null", "c0"),
            ("cmsgpack.pack", "c0"),
            ("{[1.5]=1}", "81ca3fc0000001"),
            ("{[true]=false}", "81c3c2"),
        ];
        for (args, want) in cases {
            assert_eq!(pack_hex(&l, args), *want, "pack({args})");
        }
        let strings = pack_hex(
            &l,
            "'', 'a', string.rep('x', 31), string.rep('x', 32), string.rep('x', 255), string.rep('x', 256)",
        );
        let x = |n: usize| "78".repeat(n);
        assert_eq!(
            strings,
            format!(
                "a0a161bf{}d920{}d9ff{}da0100{}",
                x(31),
                x(32),
                x(255),
                x(256)
            )
        );
        // 16 levels of tables, then nil; cycles end the same way.
        let deep = "local t = {} local c = t for i = 1, 20 do c[1] = {} c = c[1] end";
        assert_eq!(
            eval_str(&l, &format!("{SHOW} {deep} return hx(cmsgpack.pack(t))")),
            format!("{}c0", "91".repeat(16))
        );
        assert_eq!(
            eval_str(
                &l,
                &format!("{SHOW} local t = {{}} t.a = t return hx(cmsgpack.pack(t))")
            ),
            format!("{}c0", "81a161".repeat(16))
        );
        // Big headers.
        assert_eq!(
            eval_str(
                &l,
                &format!("{SHOW} local t = {{}} for i = 1, 16 do t[i] = 1 end return hx(cmsgpack.pack(t)):sub(1, 6)")
            ),
            "dc0010"
        );
        assert_eq!(
            eval_str(
                &l,
                &format!("{SHOW} local t = {{}} for i = 1, 70000 do t[i] = 1 end return hx(cmsgpack.pack(t)):sub(1, 10)")
            ),
            "dd00011170"
        );
        assert_eq!(
            eval_str(
                &l,
                &format!("{SHOW} local t = {{}} for i = 1, 16 do t['k'..i] = 1 end return hx(cmsgpack.pack(t)):sub(1, 6)")
            ),
            "de0010"
        );
        assert_eq!(
            pcall_err(&l, "cmsgpack.pack"),
            "bad argument #0 to '?' (MessagePack pack needs input.)"
        );
    }

    #[test]
    fn unpack_values() {
        let l = lua();
        let cases: &[(&str, &str)] = &[
            (
                "cmsgpack.unpack(cmsgpack.pack(1, 'a', {1,2}, {a=1}))",
                "1 \"a\" {1=1,2=2} {\"a\"=1}",
            ),
            ("cmsgpack.unpack('')", ""),
            ("cmsgpack.unpack(12)", "49 50"),
            ("cmsgpack.unpack('\\1\\2\\3')", "1 2 3"),
            ("cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255')", "-1"),
            ("cmsgpack.unpack('\\211\\128\\0\\0\\0\\0\\0\\0\\0')", "-9.2233720368548e+18"),
            ("cmsgpack.unpack('\\202\\63\\192\\0\\0')", "1.5"),
            ("cmsgpack.unpack('\\203\\63\\240\\0\\0\\0\\0\\0\\0')", "1"),
            ("cmsgpack.unpack('\\146\\192\\1')", "{2=1}"),
            ("cmsgpack.unpack('\\130\\1\\2\\1\\3')", "{1=3}"),
            ("cmsgpack.unpack('\\221\\0\\0\\0\\3\\1\\2\\3')", "{1=1,2=2,3=3}"),
            (
                "cmsgpack.unpack('\\220\\0\\3\\1\\2\\3\\218\\0\\1a\\219\\0\\0\\0\\1b\\222\\0\\1\\1\\2\\223\\0\\0\\0\\1\\1\\2')",
                "{1=1,2=2,3=3} \"a\" \"b\" {1=2} {1=2}",
            ),
            (
                "cmsgpack.unpack('\\204\\1\\205\\1\\2\\206\\1\\2\\3\\4\\208\\255\\209\\255\\254\\210\\255\\255\\255\\254\\211\\255\\255\\255\\255\\255\\255\\255\\254')",
                "1 258 16909060 -1 -2 -2 -2",
            ),
            ("cmsgpack.unpack('\\145\\145\\129\\145\\1\\2')", "{1={1={{1=1}=2}}}"),
            ("cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))", "1 1"),
            ("cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)", "2 2"),
            ("cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)", "-1 3"),
            ("cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 3)", "-1"),
            ("cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)", "2 1 2"),
            ("cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 2)", "-1 3"),
            ("cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0)", "1 2 3"),
            ("cmsgpack.unpack_one('')", "-1"),
            ("cmsgpack.unpack_one('', 0)", "-1"),
            ("cmsgpack.unpack_limit('\\1\\2', 1, 2)", "-1"),
            ("cmsgpack.unpack_one('\\1\\2', '1')", "-1 2"),
            ("cmsgpack.unpack_one('\\1\\2', 1.7)", "-1 2"),
            ("cmsgpack.unpack_limit('\\1\\2', 2^32+1)", "-1 1 2"),
        ];
        for (call, want) in cases {
            assert_eq!(unpack_show(&l, call), *want, "{call}");
        }
    }

    #[test]
    fn unpack_errors() {
        let l = lua();
        // Called from Lua code, so with the caller's position.
        let missing = "ERR: user_script:1: Missing bytes in input.";
        let bad = "ERR: user_script:1: Bad data format in input.";
        let cases: &[(&str, &str)] = &[
            ("'\\193'", bad),
            ("'\\217'", missing),
            ("'\\217\\5ab'", missing),
            // Headers claiming 2^32-1 entries cost nothing up front.
            ("'\\221\\255\\255\\255\\255'", missing),
            ("'\\223\\255\\255\\255\\255'", missing),
            ("'\\219\\255\\255\\255\\255abc'", missing),
            ("'\\147\\1\\2'", missing),
            ("'\\196\\2ab'", bad),
            ("'\\199\\1\\1a'", bad),
            ("'\\212\\1a'", bad),
            ("'\\129\\217'", missing),
            ("'\\145\\217'", missing),
            ("'\\130\\1\\1\\1'", missing),
            ("'\\129\\193\\1'", bad),
            ("'\\1\\129'", missing),
            ("'\\146\\193\\192'", bad),
            ("'\\130\\192\\193\\1\\1'", bad),
            ("'\\147\\1\\217\\2'", missing),
        ];
        for (arg, want) in cases {
            assert_eq!(
                unpack_show(&l, &format!("cmsgpack.unpack({arg})")),
                *want,
                "unpack({arg})"
            );
        }
        // Lua's own runtime errors carry no position.
        assert_eq!(
            pcall_err(&l, "cmsgpack.unpack, '\\129\\192\\1'"),
            "table index is nil"
        );
        assert_eq!(
            pcall_err(
                &l,
                "cmsgpack.unpack, '\\129\\203\\255\\248\\0\\0\\0\\0\\0\\0\\1'"
            ),
            "table index is NaN"
        );
        let arg_cases: &[(&str, &str)] = &[
            (
                "cmsgpack.unpack",
                "bad argument #1 to '?' (string expected, got no value)",
            ),
            (
                "cmsgpack.unpack, {}",
                "bad argument #1 to '?' (string expected, got table)",
            ),
            (
                "cmsgpack.unpack_limit, cmsgpack.pack(1, 2, 3)",
                "bad argument #2 to '?' (number expected, got no value)",
            ),
            (
                "cmsgpack.unpack_one, cmsgpack.pack(1, 2, 3), 4",
                "Start offset 4 greater than input length 3.",
            ),
            (
                "cmsgpack.unpack_one, '\\1\\2', 2^40",
                "Start offset 0 greater than input length 2.",
            ),
            (
                "cmsgpack.unpack_limit, '\\1\\2', 1, 5",
                "Start offset 5 greater than input length 2.",
            ),
            (
                "cmsgpack.unpack_one, cmsgpack.pack(1, 2, 3), -1",
                "Invalid request to unpack with offset of -1 and limit of 3.",
            ),
            (
                "cmsgpack.unpack_limit, cmsgpack.pack(1, 2, 3), -1",
                "Invalid request to unpack with offset of 0 and limit of 3.",
            ),
        ];
        for (call, want) in arg_cases {
            assert_eq!(pcall_err(&l, call), *want, "{call}");
        }
    }

    #[test]
    fn unpack_stack_limits() {
        let l = lua();
        // The first n (searching near the limit) for which `call` fails.
        let first_failure = |call: &str| {
            let from = if call.contains("\\145") || call.contains("\\129") {
                3990
            } else {
                7990
            };
            eval_str(
                &l,
                &format!(
                    "for n = {from}, {from} + 20 do local ok, e = pcall({call}) \
                     if not ok then return n .. ' ' .. e end end return 'none'"
                ),
            )
        };
        let too_many = super::TOO_MANY;
        let array = super::ARRAY_OVERFLOW;
        assert_eq!(
            first_failure("cmsgpack.unpack, string.rep('\\1', n)"),
            format!("8000 {too_many}")
        );
        assert_eq!(
            first_failure("cmsgpack.unpack_limit, string.rep('\\1', n), n"),
            format!("7999 {too_many}")
        );
        assert_eq!(
            first_failure("cmsgpack.unpack_limit, string.rep('\\1', n + 5), n, 0"),
            format!("7999 {too_many}")
        );
        for (prefix, arrays, maps) in [
            ("", format!("4000 {array}"), format!("4000 {too_many}")),
            (
                "\\1",
                format!("3999 {too_many}"),
                format!("3999 {too_many}"),
            ),
            (
                "\\1\\1",
                format!("3999 {array}"),
                format!("3999 {too_many}"),
            ),
            (
                "\\1\\1\\1",
                format!("3998 {too_many}"),
                format!("3998 {too_many}"),
            ),
            (
                "\\1\\1\\1\\1",
                format!("3998 {array}"),
                format!("3998 {too_many}"),
            ),
        ] {
            assert_eq!(
                first_failure(&format!(
                    "cmsgpack.unpack, '{prefix}' .. string.rep('\\145', n) .. '\\1'"
                )),
                arrays,
                "arrays after {prefix:?}"
            );
            assert_eq!(
                first_failure(&format!(
                    "cmsgpack.unpack, '{prefix}' .. string.rep('\\129\\1', n) .. '\\1'"
                )),
                maps,
                "maps after {prefix:?}"
            );
        }
        assert_eq!(
            first_failure("cmsgpack.unpack_limit, string.rep('\\145', n) .. '\\1', 1"),
            format!("4000 {array}")
        );
        assert_eq!(
            eval_num(
                &l,
                "return select('#', cmsgpack.unpack(string.rep('\\161a', 7999)))"
            ),
            7999.0
        );
    }
}
