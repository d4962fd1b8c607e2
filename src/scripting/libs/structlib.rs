//! `struct`: packing Lua values into binary strings and back, with the
//! format language and quirks of the struct library Redis ships
//! (`struct.pack`, `struct.unpack`, `struct.size`).
//!
//! Owns: the format parser and the three functions.
//!
//! Must never: read outside the data string (Redis's C code can, for
//! offsets that wrap around; here they are "data string too short"), or
//! allocate by a size the format claims: `c2000000000` is checked against
//! the string actually given before anything is copied.
//!
//! Invariants:
//! - The format is read up to its end or its first NUL byte, as C would.
//! - Little-endian and no alignment until `>`, `<` or `!` say otherwise
//!   (Redis runs on little-endian hosts; `=` is not an option there).
//! - Integers go through the x86-64 C conversions the original relies on
//!   (`c_cast_i64`, `to_u64_like_c`), so out-of-range numbers produce the
//!   same bytes as on Redis rather than panicking or saturating.

use mlua::{Lua, LuaString, MultiValue, Table, Value};

use super::{add_function, c_cast_i64, fail, Args, Failure, LibResult, Results};

/// Widest `i`/`I` integer, in bytes.
const MAX_INT_SIZE: usize = 32;
/// `!` without a number: the host's strictest alignment.
const MAX_ALIGN: usize = 8;
/// Lua 5.1's LUAI_MAXCSTACK: how many slots a C function may use.
const LUA_MAX_C_STACK: usize = 8000;

struct Header {
    big_endian: bool,
    align: usize,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            big_endian: false,
            align: 1,
        }
    }
}

/// A cursor over the format string.
struct Format<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Format<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        // C stops at the first NUL.
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        Format {
            bytes: &bytes[..end],
            at: 0,
        }
    }

    fn next_opt(&mut self) -> Option<u8> {
        let c = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(c)
    }

    /// The decimal number at the cursor, or `default` when there is none.
    /// Bounded by C's INT_MAX, with the original's message past it.
    fn number(&mut self, default: usize) -> LibResult<usize> {
        let mut seen = false;
        let mut n: i32 = 0;
        while let Some(&c) = self.bytes.get(self.at) {
            if !c.is_ascii_digit() {
                break;
            }
            let d = i32::from(c - b'0');
            if n > i32::MAX / 10 || n * 10 > i32::MAX - d {
                return fail("integral size overflow");
            }
            n = n * 10 + d;
            self.at += 1;
            seen = true;
        }
        // n is never negative: it only grows from 0 by digits.
        Ok(if seen { n as usize } else { default })
    }
}

/// The size in bytes an option takes (0 for options that take none or a
/// variable amount), consuming its numeric suffix where it has one.
fn opt_size(opt: u8, fmt: &mut Format) -> LibResult<usize> {
    Ok(match opt {
        b'b' | b'B' | b'x' => 1,
        b'h' | b'H' => 2,
        b'l' | b'L' | b'T' | b'd' => 8,
        b'f' => 4,
        b'c' => fmt.number(1)?,
        b'i' | b'I' => {
            let n = fmt.number(4)?;
            if n > MAX_INT_SIZE {
                return fail(format!(
                    "integral size {n} is larger than limit of {MAX_INT_SIZE}"
                ));
            }
            n
        }
        _ => 0,
    })
}

/// Padding needed before an option of `size` bytes at offset `len`. Sizes
/// that are not powers of two (`i3`) go through the same mask arithmetic
/// as the original, which is what gives `!4bi3` its size of 6.
fn align_padding(len: u64, h: &Header, opt: u8, size: usize) -> u64 {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let a = size.min(h.align) as u64;
    let mask = a - 1;
    a.wrapping_sub(len & mask) & mask
}

/// The non-data options: endianness, alignment, spaces.
fn control_option(opt: u8, fmt: &mut Format, h: &mut Header) -> LibResult<()> {
    match opt {
        b' ' => {}
        b'>' => h.big_endian = true,
        b'<' => h.big_endian = false,
        b'!' => {
            let a = fmt.number(MAX_ALIGN)?;
            if !a.is_power_of_two() {
                return fail(format!("alignment {a} is not a power of 2"));
            }
            h.align = a;
        }
        other => {
            let mut msg = b"invalid format option '".to_vec();
            msg.push(other);
            msg.push(b'\'');
            return Err(Failure::Arg(1, msg));
        }
    }
    Ok(())
}

/// `(unsigned long long)n` as x86-64 code computes it: negative values
/// through the signed conversion, large ones by subtracting 2^63 first.
/// Out-of-range inputs land on the same bytes as on Redis.
fn to_u64_like_c(n: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    // NaN is not >= 2^63 and takes the signed path, as the unordered
    // hardware compare sends it there.
    if n >= TWO_63 {
        (c_cast_i64(n - TWO_63) as u64) ^ (1 << 63)
    } else {
        c_cast_i64(n) as u64
    }
}

fn put_integer(out: &mut Vec<u8>, n: f64, big_endian: bool, size: usize) {
    let mut value = to_u64_like_c(n);
    let start = out.len();
    for _ in 0..size {
        out.push(value as u8);
        value = value.checked_shr(8).unwrap_or(0);
    }
    if big_endian {
        out[start..].reverse();
    }
}

fn get_integer(bytes: &[u8], big_endian: bool, signed: bool) -> f64 {
    let mut l: u64 = 0;
    let mut push = |b: u8| l = (l << 8) | u64::from(b);
    // Only the last eight bytes read survive the shifts, as in the
    // original, so `i9`..`i32` read oddly but never fail.
    if big_endian {
        bytes.iter().for_each(|&b| push(b));
    } else {
        bytes.iter().rev().for_each(|&b| push(b));
    }
    if !signed {
        return l as f64;
    }
    // The sign mask's shift count is taken mod 64, as the x86 shift does,
    // which is what the original's out-of-range shift produces.
    let shift = ((bytes.len() * 8).wrapping_sub(1) & 63) as u32;
    let mask = u64::MAX << shift;
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

fn size(lua: &Lua, args: &Args) -> LibResult<MultiValue> {
    let fmt_s = args.string(lua, 1)?;
    let fmt_b = fmt_s.as_bytes();
    let mut fmt = Format::new(&fmt_b);
    let mut h = Header::default();
    let mut pos: u64 = 0;
    while let Some(opt) = fmt.next_opt() {
        let size = opt_size(opt, &mut fmt)?;
        pos = pos.wrapping_add(align_padding(pos, &h, opt, size));
        if opt == b's' {
            return Err(Failure::Arg(1, b"option 's' has no fixed size".to_vec()));
        } else if opt == b'c' && size == 0 {
            return Err(Failure::Arg(1, b"option 'c0' has no fixed size".to_vec()));
        }
        // Unknown letters and digits count as size 0 here (but are errors
        // for pack and unpack), as in Redis.
        if !is_alnum(opt) {
            control_option(opt, &mut fmt, &mut h)?;
        }
        pos = pos.wrapping_add(size as u64);
    }
    Ok(MultiValue::from_iter([Value::Number(pos as f64)]))
}

/// A missing pack argument reads as nil: the original keeps a nil marker
/// just past the arguments, so that is what the checks see.
fn pack_arg_error(args: &Args, n: usize, expected: &str) -> Failure {
    let got = if n > args.len() {
        "nil"
    } else {
        super::lua_typename(args.get(n))
    };
    Failure::Arg(n, format!("{expected} expected, got {got}").into_bytes())
}

fn pack_number(lua: &Lua, args: &Args, n: usize) -> LibResult<f64> {
    if n > args.len() {
        return Err(pack_arg_error(args, n, "number"));
    }
    args.number(lua, n)
}

fn pack_string(lua: &Lua, args: &Args, n: usize) -> LibResult<LuaString> {
    if n > args.len() {
        return Err(pack_arg_error(args, n, "string"));
    }
    args.string(lua, n)
}

fn pack(lua: &Lua, args: &Args) -> LibResult<MultiValue> {
    let fmt_s = args.string(lua, 1)?;
    let fmt_b = fmt_s.as_bytes();
    let mut fmt = Format::new(&fmt_b);
    let mut h = Header::default();
    let mut out: Vec<u8> = Vec::new();
    let mut arg = 2;
    while let Some(opt) = fmt.next_opt() {
        let size = opt_size(opt, &mut fmt)?;
        let pad = align_padding(out.len() as u64, &h, opt, size);
        // Padding is below the alignment (at most 8), never input-sized.
        out.resize(out.len() + pad as usize, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = pack_number(lua, args, arg)?;
                arg += 1;
                put_integer(&mut out, n, h.big_endian, size);
            }
            b'x' => out.push(0),
            b'f' => {
                let n = pack_number(lua, args, arg)? as f32;
                arg += 1;
                let bytes = if h.big_endian {
                    n.to_be_bytes()
                } else {
                    n.to_le_bytes()
                };
                out.extend_from_slice(&bytes);
            }
            b'd' => {
                let n = pack_number(lua, args, arg)?;
                arg += 1;
                let bytes = if h.big_endian {
                    n.to_be_bytes()
                } else {
                    n.to_le_bytes()
                };
                out.extend_from_slice(&bytes);
            }
            b'c' | b's' => {
                let s = pack_string(lua, args, arg)?;
                arg += 1;
                let s = s.as_bytes();
                if opt == b'c' {
                    let want = if size == 0 { s.len() } else { size };
                    if s.len() < want {
                        // The original has already moved to the next
                        // argument when it checks, and names that one.
                        return Err(Failure::Arg(arg, b"string too short".to_vec()));
                    }
                    out.extend_from_slice(&s[..want]);
                } else {
                    out.extend_from_slice(&s);
                    out.push(0);
                }
            }
            _ => control_option(opt, &mut fmt, &mut h)?,
        }
    }
    Ok(MultiValue::from_iter([Value::String(
        lua.create_string(&out)?,
    )]))
}

fn too_short() -> Failure {
    Failure::Arg(2, b"data string too short".to_vec())
}

/// `pos + size` if it stays within `len`.
fn fits(pos: u64, size: u64, len: u64) -> LibResult<u64> {
    match pos.checked_add(size) {
        Some(end) if end <= len => Ok(end),
        _ => Err(too_short()),
    }
}

fn unpack(lua: &Lua, args: &Args) -> LibResult<MultiValue> {
    let fmt_s = args.string(lua, 1)?;
    let data_s = args.string(lua, 2)?;
    let fmt_b = fmt_s.as_bytes();
    let data = data_s.as_bytes();
    let len = data.len() as u64;
    // The original keeps the offset in a size_t, so negative offsets pass
    // this check as huge ones and fail as "too short" below.
    let first = args.opt_integer(lua, 3, 1)? as u64;
    if first == 0 {
        return Err(Failure::Arg(3, b"offset must be 1 or greater".to_vec()));
    }
    let mut pos = first - 1;
    let mut fmt = Format::new(&fmt_b);
    let mut h = Header::default();
    let mut out = Results::new(lua)?;
    while let Some(opt) = fmt.next_opt() {
        // Lua's limit on a C function's stack: arguments, results so far
        // and two spare slots, as luaL_checkstack(L, 2) counts them.
        if args.len() + out.len() + 2 > LUA_MAX_C_STACK {
            return fail("stack overflow (too many results)");
        }
        let mut size = opt_size(opt, &mut fmt)? as u64;
        pos = pos.wrapping_add(align_padding(pos, &h, opt, size as usize));
        let end = fits(pos, size, len)?;
        // `fits` proved pos..end lies inside data, so these indexes hold.
        let field = |from: u64, to: u64| &data[from as usize..to as usize];
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let signed = opt.is_ascii_lowercase();
                let v = get_integer(field(pos, end), h.big_endian, signed);
                out.push(Value::Number(v))?;
            }
            b'x' => {}
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(field(pos, end));
                let v = if h.big_endian {
                    f32::from_be_bytes(b)
                } else {
                    f32::from_le_bytes(b)
                };
                out.push(Value::Number(f64::from(v)))?;
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(field(pos, end));
                let v = if h.big_endian {
                    f64::from_be_bytes(b)
                } else {
                    f64::from_le_bytes(b)
                };
                out.push(Value::Number(v))?;
            }
            b'c' => {
                if size == 0 {
                    // `c0` takes its length from the value just unpacked
                    // (and replaces it).
                    let prev = match out.last()? {
                        Some(v) => lua.coerce_number(v)?,
                        None => None,
                    };
                    let Some(n) = prev else {
                        return fail("format 'c0' needs a previous size");
                    };
                    out.pop()?;
                    size = to_u64_like_c(n);
                }
                let end = fits(pos, size, len)?;
                out.push(Value::String(lua.create_string(field(pos, end))?))?;
            }
            b's' => {
                let rest = field(pos, len);
                let Some(nul) = rest.iter().position(|&b| b == 0) else {
                    return fail("unfinished string in data");
                };
                out.push(Value::String(lua.create_string(&rest[..nul])?))?;
                size = nul as u64 + 1;
            }
            _ => control_option(opt, &mut fmt, &mut h)?,
        }
        pos = pos.wrapping_add(size);
    }
    // The next offset goes back through a signed lua_Integer.
    out.push(Value::Number(pos.wrapping_add(1) as i64 as f64))?;
    Ok(out.finish())
}

pub(super) fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    add_function(lua, &t, "pack", pack)?;
    add_function(lua, &t, "unpack", unpack)?;
    add_function(lua, &t, "size", size)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    //! Expected values were read from redis-server 7.0.15 via EVAL (binary
    //! results shown as hex by a Lua helper in the probe script).
    use super::super::testutil::{eval_num, eval_str, lua, pcall_err};
    use mlua::Lua;

    const HEX: &str = "local function hx(s) return (string.gsub(s, '.', \
        function(c) return string.format('%02x', string.byte(c)) end)) end ";

    /// All results of `expr`, strings as hex, joined by spaces.
    fn show(l: &Lua, expr: &str) -> String {
        eval_str(
            l,
            &format!(
                "{HEX} local r = {{{expr}}} local o = {{}} \
                 for i = 1, #r do o[i] = type(r[i]) == 'string' and hx(r[i]) \
                 or tostring(r[i]) end return table.concat(o, ' ')"
            ),
        )
    }

    #[test]
    fn size_of_formats() {
        let l = lua();
        let cases: &[(&str, f64)] = &[
            (">bBhHlLTifd", 46.0),
            ("!bh", 4.0),
            ("!4bd", 12.0),
            ("!bi", 8.0),
            ("<i3", 3.0),
            ("xxx", 3.0),
            ("c10", 10.0),
            ("!8bd", 16.0),
            ("!2bd", 10.0),
            ("c", 1.0),
            ("i17", 17.0),
            ("i0", 0.0),
            ("z", 0.0),
            ("bz", 1.0),
            ("5", 0.0),
            ("b5", 1.0),
            ("!", 0.0),
            ("!16d", 8.0),
            ("!b!h", 4.0),
            ("!hbh", 6.0),
            ("!4bi8", 12.0),
            ("!4bi3", 6.0),
            ("!4bi5", 9.0),
            ("!bc4h", 8.0),
            ("!bxh", 4.0),
            ("!bfd", 16.0),
            ("!bT", 16.0),
            ("!bi32", 40.0),
            ("!bi17", 25.0),
            ("b\\0b", 1.0),
            ("b b", 2.0),
            ("c2147483647", 2147483647.0),
        ];
        for (f, want) in cases {
            assert_eq!(
                eval_num(&l, &format!("return struct.size(\"{f}\")")),
                *want,
                "{f}"
            );
        }
        assert_eq!(eval_num(&l, "return struct.size(12)"), 0.0);
    }

    #[test]
    fn size_errors() {
        let l = lua();
        let cases: &[(&str, &str)] = &[
            (
                "'s'",
                "bad argument #1 to '?' (option 's' has no fixed size)",
            ),
            (
                "'c0'",
                "bad argument #1 to '?' (option 'c0' has no fixed size)",
            ),
            ("'!3b'", "alignment 3 is not a power of 2"),
            ("'!0b'", "alignment 0 is not a power of 2"),
            ("'!17d'", "alignment 17 is not a power of 2"),
            ("'i33'", "integral size 33 is larger than limit of 32"),
            ("'I33'", "integral size 33 is larger than limit of 32"),
            (
                "'i2147483647'",
                "integral size 2147483647 is larger than limit of 32",
            ),
            ("'i99999999999'", "integral size overflow"),
            ("'c2147483648'", "integral size overflow"),
            ("'!2147483648'", "integral size overflow"),
            (
                "' < > = !'",
                "bad argument #1 to '?' (invalid format option '=')",
            ),
            ("", "bad argument #1 to '?' (string expected, got no value)"),
        ];
        for (a, want) in cases {
            let call = if a.is_empty() {
                "struct.size".to_string()
            } else {
                format!("struct.size, {a}")
            };
            assert_eq!(pcall_err(&l, &call), *want, "size({a})");
        }
    }

    #[test]
    fn pack_bytes() {
        let l = lua();
        let cases: &[(&str, &str)] = &[
            (
                "'>bBhHlLTi3I5fd', -1, 255, -2, 65534, -3, 4, 5, -6, 7, 1.5, 2.25",
                "fffffffefffefffffffffffffffd00000000000000040000000000000005fffffa00000000073fc000004002000000000000",
            ),
            ("'i17', 1", "0100000000000000000000000000000000"),
            ("'i16', -1", "ffffffffffffffff0000000000000000"),
            ("'>i16', -2", "0000000000000000fffffffffffffffe"),
            ("'<i9', 2^63", "000000000000008000"),
            ("'i0', 5", ""),
            ("'<L', 1e20", "0000000000000000"),
            ("'<L', -1e20", "0000000000000080"),
            ("'<L', 0/0", "0000000000000080"),
            ("'<L', 1/0", "0000000000000000"),
            ("'<L', -1/0", "0000000000000080"),
            ("'<l', -2^63", "0000000000000080"),
            ("'<L', 2^64", "0000000000000000"),
            ("'<L', 2^63+2^12", "0010000000000080"),
            ("'<l', -1.7", "ffffffffffffffff"),
            ("'<b', 300", "2c"),
            ("'<B', -1", "ff"),
            ("'>h', 1.9", "0001"),
            ("'>f', 1.1", "3f8ccccd"),
            ("'<d', -0.0", "0000000000000080"),
            ("'c2', 'abcd'", "6162"),
            ("'c0', 'abcd'", "61626364"),
            ("'c', 'abcd'", "61"),
            ("'s', 'a\\0b'", "61006200"),
            ("'s', 12", "313200"),
            ("'bxb', 1, 2", "010002"),
            ("'!4bi', 1, 2", "0100000002000000"),
            ("'b', '12'", "0c"),
            ("'c', 5", "35"),
            ("'b', 1, 2, 3", "01"),
            ("'<i3>i3', 1, 1", "010000000001"),
            ("'!4b!1i', 1, 2", "0102000000"),
            ("'b\\0b', 1, 2", "01"),
            ("' b ', 1", "01"),
            ("'>I3', 2^24+5", "000005"),
            ("'>I3', -1", "ffffff"),
            ("'<T', 5", "0500000000000000"),
            ("'>d', 0/0", "fff8000000000000"),
            ("'>d', -(0/0)", "7ff8000000000000"),
        ];
        for (a, want) in cases {
            assert_eq!(show(&l, &format!("struct.pack({a})")), *want, "pack({a})");
        }
    }

    #[test]
    fn pack_errors() {
        let l = lua();
        let cases: &[(&str, &str)] = &[
            ("'i33', 1", "integral size 33 is larger than limit of 32"),
            ("'c5', 'ab'", "bad argument #3 to '?' (string too short)"),
            (
                "'c2147483647', 'a'",
                "bad argument #3 to '?' (string too short)",
            ),
            ("'b'", "bad argument #2 to '?' (number expected, got nil)"),
            (
                "'bb', 1",
                "bad argument #3 to '?' (number expected, got nil)",
            ),
            (
                "'b', 'x'",
                "bad argument #2 to '?' (number expected, got string)",
            ),
            (
                "'z', 5",
                "bad argument #1 to '?' (invalid format option 'z')",
            ),
            (
                "'=', 5",
                "bad argument #1 to '?' (invalid format option '=')",
            ),
            ("5, 1", "bad argument #1 to '?' (invalid format option '5')"),
            (
                "'s', nil",
                "bad argument #2 to '?' (string expected, got nil)",
            ),
            ("'s'", "bad argument #2 to '?' (string expected, got nil)"),
            (
                "'c3', {}",
                "bad argument #2 to '?' (string expected, got table)",
            ),
        ];
        for (a, want) in cases {
            assert_eq!(
                pcall_err(&l, &format!("struct.pack, {a}")),
                *want,
                "pack({a})"
            );
        }
        assert_eq!(
            pcall_err(&l, "struct.pack"),
            "bad argument #1 to '?' (string expected, got no value)"
        );
    }

    #[test]
    fn unpack_values() {
        let l = lua();
        let cases: &[(&str, &str)] = &[
            ("'b', '\\255'", "-1 2"),
            ("'B', '\\255'", "255 2"),
            ("'>hH', '\\255\\254\\255\\254'", "-2 65534 5"),
            ("'<i3', '\\255\\255\\127'", "8388607 4"),
            ("'<i3', '\\255\\255\\255'", "-1 4"),
            ("'<I3', '\\255\\255\\255'", "16777215 4"),
            (
                "'<l', '\\0\\0\\0\\0\\0\\0\\0\\128'",
                "-9.2233720368548e+18 9",
            ),
            (
                "'<L', '\\1\\0\\0\\0\\0\\0\\0\\128'",
                "9.2233720368548e+18 9",
            ),
            ("'<i9', '\\1\\2\\3\\4\\5\\6\\7\\8\\9'", "-127 10"),
            ("'>i9', '\\1\\2\\3\\4\\5\\6\\7\\8\\9'", "-119 10"),
            ("'<i9', '\\0\\0\\0\\0\\0\\0\\0\\0\\255'", "0 10"),
            ("'<I9', '\\0\\0\\0\\0\\0\\0\\0\\0\\255'", "0 10"),
            ("'<i9', '\\255\\0\\0\\0\\0\\0\\0\\0\\0'", "-1 10"),
            ("'<i16', string.rep('\\255', 16)", "-1 17"),
            ("'<i16', '\\128' .. string.rep('\\0', 15)", "128 17"),
            ("'<i12', '\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\1\\0'", "0 13"),
            ("'i0', ''", "0 1"),
            ("'i0x', 'a'", "0 2"),
            ("'b', 'abc', 2", "98 3"),
            ("'b', 'abc', 3", "99 4"),
            ("'', 'abc', 10", "10"),
            ("'', 'abc', -1", "-1"),
            ("'', 'abc', 2^70", "-9.2233720368548e+18"),
            ("'<', 'abc', 4", "4"),
            ("'b', 'abc', 1.5", "97 2"),
            ("'b', 'abc', '2'", "98 3"),
            ("'b', 'abc', '0x2'", "98 3"),
            ("'b', 'abc', nil", "97 2"),
            ("'c2', 'abc'", "6162 3"),
            ("'c', 'abc'", "61 2"),
            ("'bc0', '\\2abc'", "6162 4"),
            ("'Bc0', '\\0abc'", " 2"),
            ("'c1c0', '3abc'", "616263 5"),
            ("'sc0', '2\\0abc'", "6162 5"),
            ("'bc0', '\\1\\2'", "02 3"),
            ("'fc0', '\\0\\0\\0\\0a'", " 5"),
            ("'dc0', '\\0\\0\\0\\0\\0\\0\\0\\64ab'", "6162 11"),
            ("'sb', 'ab\\0\\5'", "6162 5 5"),
            ("'ss', '\\0\\0'", "  3"),
            ("'!4bi', '\\1\\0\\0\\0\\2\\0\\0\\0'", "1 2 9"),
            ("'>f', '\\63\\140\\204\\205'", "1.1000000238419 5"),
            ("'<d', '\\0\\0\\0\\0\\0\\0\\240\\127'", "inf 9"),
            ("'<f', '\\0\\0\\192\\127'", "nan 5"),
            (
                "'!8bd', '\\1\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\240\\63'",
                "1 1 17",
            ),
            ("'xb', 'ab'", "98 3"),
            ("'>xhx', '\\1\\2\\3\\4'", "515 5"),
            ("'!4xi', '\\1\\2\\3\\4\\5\\6\\7\\8'", "134678021 9"),
            ("'b', 5", "53 2"),
            ("'b\\0b', '\\1\\2'", "1 2"),
            ("'bc0', '\\2abcdef', 1, 4", "6162 4"),
        ];
        for (a, want) in cases {
            assert_eq!(
                show(&l, &format!("struct.unpack({a})")),
                *want,
                "unpack({a})"
            );
        }
    }

    #[test]
    fn unpack_errors() {
        let l = lua();
        let too_short = "bad argument #2 to '?' (data string too short)";
        let cases: &[(&str, &str)] = &[
            ("'bb', 'a'", too_short),
            ("'x', ''", too_short),
            ("'b', 'abc', 4", too_short),
            ("'b', 'abc', -1", too_short),
            ("'b', 'abc', 2^53", too_short),
            ("'<', 'abc', 10", too_short),
            ("'c4', 'abc'", too_short),
            ("'bc0', '\\4abc'", too_short),
            ("'bc0', '\\255abc'", too_short),
            ("'ic0', '\\255\\255\\255\\255ab'", too_short),
            ("'c2147483647', 'a'", too_short),
            ("'!4bi', '\\1\\0\\0\\0\\2\\0\\0'", too_short),
            // A negative offset wraps in Redis's size_t arithmetic and
            // reads before the string; here it is simply too short.
            ("'h', 'abc', -1", too_short),
            (
                "'b', 'abc', 0",
                "bad argument #3 to '?' (offset must be 1 or greater)",
            ),
            (
                "'b', 'abc', 0.5",
                "bad argument #3 to '?' (offset must be 1 or greater)",
            ),
            (
                "'b', 'abc', -0.5",
                "bad argument #3 to '?' (offset must be 1 or greater)",
            ),
            ("'c0', 'abc'", "format 'c0' needs a previous size"),
            ("'c0', 'abcdef', 2", "format 'c0' needs a previous size"),
            ("'c0', '3'", "format 'c0' needs a previous size"),
            ("'c1c0', 'xabc'", "format 'c0' needs a previous size"),
            ("'s', 'ab'", "unfinished string in data"),
            ("'s', ''", "unfinished string in data"),
            (
                "'z', ''",
                "bad argument #1 to '?' (invalid format option 'z')",
            ),
            (
                "'=', ''",
                "bad argument #1 to '?' (invalid format option '=')",
            ),
            (
                "'b'",
                "bad argument #2 to '?' (string expected, got no value)",
            ),
            (
                "'b', {}",
                "bad argument #2 to '?' (string expected, got table)",
            ),
            (
                "nil, 'a'",
                "bad argument #1 to '?' (string expected, got nil)",
            ),
            (
                "'b', 'a', 'x'",
                "bad argument #3 to '?' (number expected, got string)",
            ),
            ("'i33', 'a'", "integral size 33 is larger than limit of 32"),
        ];
        for (a, want) in cases {
            assert_eq!(
                pcall_err(&l, &format!("struct.unpack, {a}")),
                *want,
                "unpack({a})"
            );
        }
    }

    #[test]
    fn unpack_result_count_is_bounded_like_lua_stack() {
        let l = lua();
        let count = |fmt_n: usize, extra: &str| {
            format!(
                "return select('#', struct.unpack(string.rep('b', {fmt_n}), \
                 string.rep('a', 8000){extra}))"
            )
        };
        assert_eq!(eval_num(&l, &count(7997, "")), 7998.0);
        assert_eq!(eval_num(&l, &count(7996, ", 1")), 7997.0);
        assert_eq!(eval_num(&l, &count(7995, ", 1, 2")), 7996.0);
        let overflow = "stack overflow (too many results)";
        for (n, extra) in [(7998, ""), (7997, ", 1"), (7996, ", 1, 2")] {
            let call = format!("struct.unpack, string.rep('b', {n}), string.rep('a', 8000){extra}");
            assert_eq!(pcall_err(&l, &call), overflow, "{n}{extra}");
        }
        // Thousands of strings (each a Lua value the Rust side must not
        // hold at once).
        assert_eq!(
            eval_num(&l, &count(7997, "").replace("'b'", "'c1'")),
            7998.0
        );
        // Options that push nothing never hit the limit.
        assert_eq!(
            eval_num(
                &l,
                "return select('#', struct.unpack(string.rep('x', 9000), string.rep('a', 9000)))"
            ),
            1.0
        );
    }

    #[test]
    fn round_trip() {
        let l = lua();
        assert_eq!(
            show(&l, "struct.unpack('>!4bhilfds', struct.pack('>!4bhilfds', -5, 300, -70000, 2^40, 0.5, 1/3, 'hi'))"),
            "-5 300 -70000 1099511627776 0.5 0.33333333333333 6869 32"
        );
    }
}
