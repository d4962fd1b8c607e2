//! `bit`: 32-bit bitwise operations on Lua 5.1 numbers (doubles), with the
//! semantics of the LuaBitOp API that Redis ships.
//!
//! Owns: the `bit` table (tobit tohex bnot band bor bxor lshift rshift
//! arshift rol ror bswap).
//!
//! Must never: fail on a number, however large, fractional or non-finite:
//! every double maps to some 32-bit value.
//!
//! Invariants: every argument goes through `tobit` first, and every result
//! is a signed 32-bit integer returned as a Lua number. Shift and rotate
//! counts use only their low five bits.

use mlua::{Lua, Table, Value};

use super::{add_function, values, Args, LibResult};

/// Map a double to its 32-bit value. Adding 2^52 + 2^51 moves the integer
/// part into the low mantissa bits (rounding halves to even, as the FPU
/// does), so the low 32 bits of the representation are the result, wrapped
/// modulo 2^32. This is the documented behaviour of LuaBitOp's `tobit`,
/// including for values beyond 2^51 and for inf/NaN (which give 0).
pub(crate) fn tobit(x: f64) -> i32 {
    (x + 6_755_399_441_055_744.0).to_bits() as u32 as i32
}

fn arg(lua: &Lua, args: &Args, n: usize) -> LibResult<i32> {
    args.number(lua, n).map(tobit)
}

fn ret(x: i32) -> LibResult<mlua::MultiValue> {
    Ok(values([Value::Integer(i64::from(x))]))
}

/// `tohex(x [, n])`: the low |n| hex digits of x (n defaults to 8, is
/// capped at 8); a negative n asks for upper case.
fn tohex(x: i32, n: i32) -> String {
    let upper = n < 0;
    // i32::MIN has no positive counterpart; LuaBitOp's result for it is
    // eight upper-case digits, which the cap below gives.
    let width = n.unsigned_abs().min(8) as usize;
    let s = if upper {
        format!("{:08X}", x as u32)
    } else {
        format!("{:08x}", x as u32)
    };
    s[8 - width..].to_string()
}

pub(super) fn open(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    add_function(lua, &t, "tobit", |lua, a| ret(arg(lua, a, 1)?))?;
    add_function(lua, &t, "bnot", |lua, a| ret(!arg(lua, a, 1)?))?;
    add_function(lua, &t, "bswap", |lua, a| ret(arg(lua, a, 1)?.swap_bytes()))?;
    add_function(lua, &t, "tohex", |lua, a| {
        let x = arg(lua, a, 1)?;
        // Only a missing argument defaults: an explicit nil is an error.
        let n = if a.get(2).is_none() {
            8
        } else {
            arg(lua, a, 2)?
        };
        Ok(values([Value::String(lua.create_string(tohex(x, n))?)]))
    })?;
    type Fold = fn(i32, i32) -> i32;
    let folds: [(&str, Fold); 3] = [
        ("band", |a, b| a & b),
        ("bor", |a, b| a | b),
        ("bxor", |a, b| a ^ b),
    ];
    for (name, op) in folds {
        add_function(lua, &t, name, move |lua, a| {
            let mut acc = arg(lua, a, 1)?;
            for n in 2..=a.len() {
                acc = op(acc, arg(lua, a, n)?);
            }
            ret(acc)
        })?;
    }
    type Shift = fn(i32, u32) -> i32;
    let shifts: [(&str, Shift); 5] = [
        ("lshift", |x, n| ((x as u32) << n) as i32),
        ("rshift", |x, n| ((x as u32) >> n) as i32),
        ("arshift", |x, n| x >> n),
        ("rol", |x, n| (x as u32).rotate_left(n) as i32),
        ("ror", |x, n| (x as u32).rotate_right(n) as i32),
    ];
    for (name, op) in shifts {
        add_function(lua, &t, name, move |lua, a| {
            let x = arg(lua, a, 1)?;
            let n = arg(lua, a, 2)? as u32 & 31;
            ret(op(x, n))
        })?;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    //! Expected values were read from redis-server 7.0.15 via EVAL.
    use super::super::testutil::{eval, eval_num, eval_str, lua, pcall_err};

    #[test]
    fn tobit_wraps_rounds_and_survives_non_finite() {
        let l = lua();
        let cases: &[(&str, f64)] = &[
            ("0", 0.0),
            ("-1", -1.0),
            ("2^31", -2147483648.0),
            ("2^32", 0.0),
            ("2^32+5", 5.0),
            ("-2^31-1", 2147483647.0),
            ("1.5", 2.0),
            ("2.5", 2.0),
            ("-1.5", -2.0),
            ("-2.5", -2.0),
            ("0.5", 0.0),
            ("3.7", 4.0),
            ("2^52", 0.0),
            ("2^51+3", 2.0),
            ("-2^51-3", -6.0),
            ("1/0", 0.0),
            ("-1/0", 0.0),
            ("0/0", 0.0),
            ("4294967295.5", 0.0),
            ("1e300", -2013235812.0),
            ("'0x10'", 16.0),
        ];
        for (expr, want) in cases {
            let got = eval_num(&l, &format!("return bit.tobit({expr})"));
            assert_eq!(got, *want, "tobit({expr})");
        }
    }

    #[test]
    fn tohex_widths_and_case() {
        let l = lua();
        let cases: &[(&str, &str)] = &[
            ("1", "00000001"),
            ("-1", "ffffffff"),
            ("255,-4", "00FF"),
            ("255,2", "ff"),
            ("0x12345678,0", ""),
            ("1,9", "00000001"),
            ("1,100", "00000001"),
            ("0xabcdef,-3", "DEF"),
            ("0xabcdef,-2^31", "00ABCDEF"),
            ("0xabcdef,2^31", "00ABCDEF"),
            ("1,2.5", "01"),
            ("1,3.5", "0001"),
            ("'12'", "0000000c"),
            ("1,'-2'", "01"),
            ("-2^31", "80000000"),
        ];
        for (a, want) in cases {
            assert_eq!(
                eval_str(&l, &format!("return bit.tohex({a})")),
                *want,
                "tohex({a})"
            );
        }
    }

    #[test]
    fn operations() {
        let l = lua();
        let cases: &[(&str, f64)] = &[
            ("bnot(0)", -1.0),
            ("bnot(5)", -6.0),
            ("band(0xff, 0x0f, 0x3c)", 12.0),
            ("bor(1)", 1.0),
            ("bxor(1,3,7)", 5.0),
            ("band(-1, 2^32+7)", 7.0),
            ("lshift(1,31)", -2147483648.0),
            ("lshift(1,32)", 1.0),
            ("lshift(1,33)", 2.0),
            ("lshift(1,-1)", -2147483648.0),
            ("rshift(-1,28)", 15.0),
            ("rshift(-1,0)", -1.0),
            ("arshift(-256,4)", -16.0),
            ("arshift(2^31,31)", -1.0),
            ("rol(0x12345678,12)", 1164411171.0),
            ("ror(0x12345678,12)", 1736516421.0),
            ("rol(1,-1)", -2147483648.0),
            ("bswap(0x12345678)", 2018915346.0),
            ("bswap(-1)", -1.0),
            ("lshift(1,2.5)", 4.0),
            ("lshift(1,3.5)", 16.0),
            ("band(' 0x10 ', '1e1')", 0.0),
        ];
        for (call, want) in cases {
            assert_eq!(
                eval_num(&l, &format!("return bit.{call}")),
                *want,
                "bit.{call}"
            );
        }
    }

    #[test]
    fn argument_errors_match_lua() {
        let l = lua();
        let cases: &[(&str, &str)] = &[
            (
                "bit.band",
                "bad argument #1 to '?' (number expected, got no value)",
            ),
            (
                "bit.band, 1, nil",
                "bad argument #2 to '?' (number expected, got nil)",
            ),
            (
                "bit.band, 1, {}",
                "bad argument #2 to '?' (number expected, got table)",
            ),
            (
                "bit.lshift, 1",
                "bad argument #2 to '?' (number expected, got no value)",
            ),
            (
                "bit.tohex, 1, nil",
                "bad argument #2 to '?' (number expected, got nil)",
            ),
            (
                "bit.tohex, 1, 'x'",
                "bad argument #2 to '?' (number expected, got string)",
            ),
            (
                "bit.bswap, true",
                "bad argument #1 to '?' (number expected, got boolean)",
            ),
            (
                "bit.bor, 1, 2, 'z'",
                "bad argument #3 to '?' (number expected, got string)",
            ),
        ];
        for (call, want) in cases {
            assert_eq!(pcall_err(&l, call), *want, "{call}");
        }
    }

    #[test]
    fn errors_name_the_function_as_called_and_the_callers_line() {
        let l = lua();
        // From Lua code, the message carries "user_script:<line>: " and the
        // name the script used; `return f()` must still name it (a C
        // function is never tail-called in Lua 5.1).
        let e = eval(&l, "return bit.band()").unwrap_err().to_string();
        assert!(
            e.contains("user_script:1: bad argument #1 to 'band' (number expected, got no value)"),
            "{e}"
        );
        let e = eval(&l, "local f = bit.band\nreturn f('a')")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("user_script:2: bad argument #1 to 'f' (number expected, got string)"),
            "{e}"
        );
    }
}
