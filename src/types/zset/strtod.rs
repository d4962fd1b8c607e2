//! C's `strtod`, as glibc implements it, for sorted-set scores.
//!
//! Owns: finding the longest prefix of a byte string that C's `strtod`
//! would convert, and converting it with correct rounding. Redis parses
//! every score, weight and range bound with `strtod` and then applies its
//! own checks on the end pointer and `errno` (see `range.rs`); to give the
//! same answers for the odd inputs (`"0x1p4"`, `" 1"`, `"1e400"`, `"("`),
//! we reproduce the C function rather than Rust's stricter `parse`.
//!
//! Must never: read past the slice, or allocate (the decimal prefix is
//! handed to Rust's correctly rounded parser as a borrowed `&str`).
//!
//! Grammar accepted (C11 7.22.1.3, glibc): leading white space; an optional
//! sign; then `inf` / `infinity`, `nan` / `nan(chars)`, a hexadecimal
//! significand `0x h* [. h*]` with an optional binary exponent `p±d+`, or a
//! decimal significand `d* [. d*]` with an optional exponent `e±d+`. An
//! exponent marker is consumed only when digits follow it. When nothing
//! converts, the result is 0 and the end is the start of the input.

/// The outcome of one `strtod` call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Strtod {
    pub value: f64,
    /// Bytes consumed (C's `endptr - nptr`); 0 when nothing converted.
    pub consumed: usize,
    /// C would set `errno = ERANGE`: the number overflowed to ±inf or a
    /// non-zero number underflowed to zero. (glibc also flags some
    /// subnormal results; Redis ignores those, so we do not track them.)
    pub range_error: bool,
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn starts_with_ignore_case(s: &[u8], word: &[u8]) -> bool {
    s.len() >= word.len() && s[..word.len()].eq_ignore_ascii_case(word)
}

fn digits_end(s: &[u8], from: usize, is_digit: impl Fn(u8) -> bool) -> usize {
    let mut i = from;
    while i < s.len() && is_digit(s[i]) {
        i += 1;
    }
    i
}

/// Where an exponent starting at `at` (the marker) ends, or `at` if the
/// marker is not followed by an optional sign and at least one digit.
fn exponent_end(s: &[u8], at: usize) -> usize {
    let mut i = at + 1;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        i += 1;
    }
    let end = digits_end(s, i, |b| b.is_ascii_digit());
    if end > i {
        end
    } else {
        at
    }
}

/// C's `strtod` on `s` (which need not be NUL-terminated: the end of the
/// slice acts as the terminator).
pub fn strtod(s: &[u8]) -> Strtod {
    const NONE: Strtod = Strtod {
        value: 0.0,
        consumed: 0,
        range_error: false,
    };
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let num_start = i;
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let sign = |v: f64| if negative { -v } else { v };
    let rest = &s[i..];

    if starts_with_ignore_case(rest, b"inf") {
        let len = if starts_with_ignore_case(rest, b"infinity") {
            8
        } else {
            3
        };
        return Strtod {
            value: sign(f64::INFINITY),
            consumed: i + len,
            range_error: false,
        };
    }
    if starts_with_ignore_case(rest, b"nan") {
        let mut len = 3;
        if rest.get(3) == Some(&b'(') {
            let close = digits_end(rest, 4, |b| b.is_ascii_alphanumeric() || b == b'_');
            if rest.get(close) == Some(&b')') {
                len = close + 1;
            }
        }
        return Strtod {
            value: f64::NAN,
            consumed: i + len,
            range_error: false,
        };
    }
    if rest.len() >= 2 && rest[0] == b'0' && (rest[1] == b'x' || rest[1] == b'X') {
        if let Some((value, len, range_error)) = parse_hex(&rest[2..]) {
            return Strtod {
                value: sign(value),
                consumed: i + 2 + len,
                range_error,
            };
        }
        // "0x" without hex digits: only the "0" converts.
        return Strtod {
            value: sign(0.0),
            consumed: i + 1,
            range_error: false,
        };
    }

    // Decimal: d* [. d*] with at least one digit, then an optional exponent.
    let int_end = digits_end(s, i, |b| b.is_ascii_digit());
    let mut end = int_end;
    let mut frac_digits = 0;
    if end < s.len() && s[end] == b'.' {
        let frac_end = digits_end(s, end + 1, |b| b.is_ascii_digit());
        frac_digits = frac_end - (end + 1);
        end = frac_end;
    }
    if int_end == i && frac_digits == 0 {
        return NONE;
    }
    if end < s.len() && (s[end] == b'e' || s[end] == b'E') {
        end = exponent_end(s, end);
    }
    let text = &s[num_start..end];
    // The prefix is ASCII by construction, and it is exactly the grammar
    // Rust's parser accepts (sign, digits, '.', exponent), so neither step
    // can fail; fall back to "no conversion" rather than panic regardless.
    let Some(value) = std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
    else {
        return NONE;
    };
    let nonzero_digits = s[i..end]
        .iter()
        .take_while(|&&b| b != b'e' && b != b'E')
        .any(|&b| (b'1'..=b'9').contains(&b));
    Strtod {
        value,
        consumed: end,
        range_error: value.is_infinite() || (value == 0.0 && nonzero_digits),
    }
}

/// A hexadecimal significand (after "0x") with its optional binary
/// exponent: `(magnitude, bytes consumed, range error)`, or None when no
/// hex digit is present. Rounds to nearest, ties to even, like glibc.
fn parse_hex(s: &[u8]) -> Option<(f64, usize, bool)> {
    let hex_val = |b: u8| (b as char).to_digit(16).map(u64::from);
    // Keep the first 16 significant hex digits (64 bits) exactly; later
    // digits only matter as a "sticky" bit for rounding.
    let mut mant: u64 = 0;
    let mut kept = 0usize;
    let mut sticky = false;
    // Binary exponent adjustment for digits dropped or after the point.
    let mut exp2: i64 = 0;
    let mut any_digit = false;
    let mut i = 0;
    let mut seen_point = false;
    while i < s.len() {
        let b = s[i];
        if b == b'.' && !seen_point {
            seen_point = true;
            i += 1;
            continue;
        }
        let Some(d) = hex_val(b) else { break };
        any_digit = true;
        if mant == 0 && d == 0 {
            // Leading zeros carry no significance, only position.
            if seen_point {
                exp2 -= 4;
            }
        } else if kept < 16 {
            mant = (mant << 4) | d;
            kept += 1;
            if seen_point {
                exp2 -= 4;
            }
        } else {
            sticky |= d != 0;
            if !seen_point {
                exp2 += 4;
            }
        }
        i += 1;
    }
    if !any_digit {
        return None;
    }
    let mut end = i;
    if end < s.len() && (s[end] == b'p' || s[end] == b'P') {
        let e_end = exponent_end(s, end);
        if e_end > end {
            // Saturate: anything beyond ±10^6 is already past the range.
            let mut e: i64 = 0;
            let digits_from = if matches!(s[end + 1], b'+' | b'-') {
                end + 2
            } else {
                end + 1
            };
            for &b in &s[digits_from..e_end] {
                e = (e * 10 + i64::from(b - b'0')).min(1_000_000);
            }
            if s[end + 1] == b'-' {
                e = -e;
            }
            exp2 += e;
            end = e_end;
        }
    }
    if mant == 0 {
        return Some((0.0, end, false));
    }
    let (value, range_error) = compose(mant, exp2, sticky);
    Some((value, end, range_error))
}

/// `mant * 2^exp2` (plus a sticky fraction below `mant`'s last bit),
/// rounded to the nearest double, ties to even.
fn compose(mant: u64, exp2: i64, sticky: bool) -> (f64, bool) {
    // Normalise so the leading 1 is bit 63: value = 1.f * 2^(e).
    let lz = mant.leading_zeros() as i64;
    let m = mant << lz;
    let e = exp2 + 63 - lz;
    if e > 1023 {
        return (f64::INFINITY, true);
    }
    // Bits of `m` that survive: 53 for normal numbers, fewer below 2^-1022.
    let keep: i64 = if e >= -1022 { 53 } else { 53 - (-1022 - e) };
    if keep <= 0 {
        // Below half the smallest subnormal, or exactly rounding to it.
        let half_min = keep == 0 && (m > 1 << 63 || (m == 1 << 63 && sticky));
        return if half_min {
            (f64::from_bits(1), false)
        } else {
            (0.0, true)
        };
    }
    let drop = 64 - keep as u32;
    let mut q = m >> drop;
    let rem = m & ((1u64 << drop) - 1);
    let half = 1u64 << (drop - 1);
    if rem > half || (rem == half && (sticky || q & 1 == 1)) {
        q += 1;
    }
    // `q` has `keep` bits (or keep+1 after a carry). Build the double.
    let mut e = e;
    if keep == 53 {
        if q == 1 << 53 {
            q >>= 1;
            e += 1;
            if e > 1023 {
                return (f64::INFINITY, true);
            }
        }
        let bits = ((e + 1023) as u64) << 52 | (q & ((1 << 52) - 1));
        (f64::from_bits(bits), false)
    } else {
        // Subnormal: the stored fraction is q itself (a carry into bit 52
        // correctly produces the smallest normal number).
        (f64::from_bits(q), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> (f64, usize, bool) {
        let r = strtod(s.as_bytes());
        (r.value, r.consumed, r.range_error)
    }

    #[test]
    fn decimal_prefixes() {
        assert_eq!(v("1.5"), (1.5, 3, false));
        assert_eq!(v("  -2e3xyz"), (-2000.0, 6, false));
        assert_eq!(v("1e"), (1.0, 1, false));
        assert_eq!(v("1e+"), (1.0, 1, false));
        assert_eq!(v(".5"), (0.5, 2, false));
        assert_eq!(v("5."), (5.0, 2, false));
        assert_eq!(v("."), (0.0, 0, false));
        assert_eq!(v(""), (0.0, 0, false));
        assert_eq!(v("  "), (0.0, 0, false));
        assert_eq!(v("-"), (0.0, 0, false));
        assert_eq!(v("abc"), (0.0, 0, false));
        assert_eq!(v("0.1").0, 0.1);
    }

    #[test]
    fn special_values() {
        assert_eq!(v("inf"), (f64::INFINITY, 3, false));
        assert_eq!(v("-Infinity"), (f64::NEG_INFINITY, 9, false));
        assert_eq!(v("infin"), (f64::INFINITY, 3, false));
        let n = strtod(b"nan(123)x");
        assert!(n.value.is_nan());
        assert_eq!(n.consumed, 8);
        assert_eq!(strtod(b"nan(12").consumed, 3);
    }

    #[test]
    fn range_errors() {
        assert_eq!(v("1e400"), (f64::INFINITY, 5, true));
        assert_eq!(v("-1e400"), (f64::NEG_INFINITY, 6, true));
        assert_eq!(v("1e-400"), (0.0, 6, true));
        assert_eq!(v("0e-400"), (0.0, 6, false));
        let sub = strtod(b"1e-310");
        assert!(!sub.range_error && sub.value > 0.0);
    }

    /// glibc's own strtod on random inputs from the characters that
    /// matter: same value (bit for bit), same end, same ERANGE verdict
    /// where Redis looks at it (overflow, or underflow to zero).
    #[test]
    fn matches_libc_strtod() {
        let alphabet = b"0123456789.eEpPxX+- infINFnaNAyt()_\t";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for _ in 0..50_000 {
            let len = rnd(12);
            inputs.push((0..len).map(|_| alphabet[rnd(alphabet.len())]).collect());
        }
        for s in [
            "1e308",
            "1.8e308",
            "2e-308",
            "4e-324",
            "2.4703282292062328e-324",
            "2.4703282292062327e-324",
            "0x1.fffffffffffffp1023",
            "0x1.fffffffffffff8p1023",
            "0x0.0000000000001p-1022",
            "0x1p-1075",
            "0x1.8p-1075",
            "123456789012345678901234567890e-10",
            "0.000001e-330",
            "1e-999999999999",
            "1e999999999999",
            "0x1p999999999999",
            "-0x",
            "+.e1",
            "  +1.5e+3x",
        ] {
            inputs.push(s.as_bytes().to_vec());
        }
        for input in inputs {
            let mut c = input.clone();
            c.push(0);
            let mut end: *mut libc::c_char = std::ptr::null_mut();
            let (value, errno) = unsafe {
                *libc::__errno_location() = 0;
                let v = libc::strtod(c.as_ptr() as *const libc::c_char, &mut end);
                (v, *libc::__errno_location())
            };
            let consumed = end as usize - c.as_ptr() as usize;
            let ours = strtod(&input);
            let what = String::from_utf8_lossy(&input);
            assert_eq!(ours.consumed, consumed, "end of {what:?}");
            if value.is_nan() {
                assert!(ours.value.is_nan(), "{what:?}");
            } else {
                assert_eq!(ours.value.to_bits(), value.to_bits(), "value of {what:?}");
            }
            let c_range = errno == libc::ERANGE && (value.is_infinite() || value == 0.0);
            assert_eq!(ours.range_error, c_range, "ERANGE of {what:?}");
        }
    }

    #[test]
    fn hexadecimal() {
        assert_eq!(v("0x10"), (16.0, 4, false));
        assert_eq!(v("0x1p4"), (16.0, 5, false));
        assert_eq!(v("-0x.8"), (-0.5, 5, false));
        assert_eq!(v("0x1P-1"), (0.5, 6, false));
        assert_eq!(v("0x1p"), (1.0, 3, false));
        assert_eq!(v("0xg"), (0.0, 1, false));
        assert_eq!(v("0x"), (0.0, 1, false));
        assert_eq!(v("0x1p2000"), (f64::INFINITY, 8, true));
        assert_eq!(v("0x1p-1074").0, f64::from_bits(1));
        assert_eq!(v("0x1p-1080"), (0.0, 9, true));
        // 2^53 + 1 rounds to even (2^53); 2^53 + 3 rounds up.
        assert_eq!(v("0x20000000000001").0, 9007199254740992.0);
        assert_eq!(v("0x20000000000003").0, 9007199254740996.0);
        // More than 16 digits: the tail acts as a sticky bit.
        assert_eq!(
            v("0x200000000000010000001").0,
            2f64.powi(81) + 2f64.powi(29)
        );
        assert_eq!(v("0x200000000000010000000").0, 2f64.powi(81));
        assert_eq!(v("0x1.fffffffffffff8p0").0, 2.0);
        assert_eq!(v("0x1.fffffffffffff").0, 2.0 - 2f64.powi(-52));
    }
}
