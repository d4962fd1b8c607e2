//! Stream entry IDs: `<ms>-<seq>`, two unsigned 64-bit numbers ordered as a
//! pair.
//!
//! Owns: [`StreamId`], its text form, and the ways a command argument
//! names an ID (Redis 7.0's rules):
//! - [`StreamId::parse`]: a complete or partial ID where a missing sequence
//!   takes a default (`0` for a range's start, `u64::MAX` for its end), plus
//!   `-` and `+` where a range allows them;
//! - [`StreamId::parse_strict`]: `ms-seq` or `ms` only (XDEL, XACK,
//!   XCLAIM...), no `-`/`+`;
//! - [`AddId`]: what XADD accepts: `*`, `<ms>-*`, or an explicit ID.
//!
//! Must never: accept a number Redis refuses or refuse one it takes (its
//! string2ull falls back to C's strtoull: `" 5"`, `"+5"`, `"007"` and
//! `"-0"` are IDs, `"-5"` is not), or wrap an increment silently
//! ([`StreamId::incr`] returns None past the largest ID).

use std::fmt;

/// A stream entry ID. The derived order (ms, then seq) is the stream order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

/// The ID argument of XADD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddId {
    /// `*`: the server picks the next ID from the clock.
    Auto,
    /// `<ms>-*`: the given time, the next free sequence number in it.
    AutoSeq(u64),
    /// A complete ID (a bare `<ms>` means `<ms>-0`).
    Explicit(StreamId),
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        *self == StreamId::MIN
    }

    /// The next ID in stream order, None after the largest one.
    pub fn incr(&self) -> Option<StreamId> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(StreamId { ms: self.ms, seq }),
            None => self.ms.checked_add(1).map(|ms| StreamId { ms, seq: 0 }),
        }
    }

    /// The previous ID in stream order, None before `0-0`.
    pub fn decr(&self) -> Option<StreamId> {
        match self.seq.checked_sub(1) {
            Some(seq) => Some(StreamId { ms: self.ms, seq }),
            None => self
                .ms
                .checked_sub(1)
                .map(|ms| StreamId { ms, seq: u64::MAX }),
        }
    }

    /// An ID argument of a range command: `-`, `+`, `ms` (the sequence is
    /// `missing_seq`) or `ms-seq`. None if it is not one.
    pub fn parse(arg: &[u8], missing_seq: u64) -> Option<StreamId> {
        let arg = id_text(arg)?;
        match arg {
            b"-" => return Some(StreamId::MIN),
            b"+" => return Some(StreamId::MAX),
            _ => {}
        }
        Self::parse_parts(arg, missing_seq)
    }

    /// `ms` or `ms-seq` only (a bare `ms` means `ms-0`).
    pub fn parse_strict(arg: &[u8]) -> Option<StreamId> {
        Self::parse_parts(id_text(arg)?, 0)
    }

    fn parse_parts(arg: &[u8], missing_seq: u64) -> Option<StreamId> {
        match arg.iter().position(|&b| b == b'-') {
            None => Some(StreamId {
                ms: parse_u64(arg)?,
                seq: missing_seq,
            }),
            Some(dash) => Some(StreamId {
                ms: parse_u64(&arg[..dash])?,
                seq: parse_u64(&arg[dash + 1..])?,
            }),
        }
    }

    /// The 16-byte big-endian form (RDB keys of stream nodes and PEL ids):
    /// byte order equals stream order.
    pub fn to_be_bytes(&self) -> [u8; 16] {
        let mut out = [0; 16];
        out[..8].copy_from_slice(&self.ms.to_be_bytes());
        out[8..].copy_from_slice(&self.seq.to_be_bytes());
        out
    }

    pub fn from_be_bytes(b: &[u8; 16]) -> StreamId {
        let mut ms = [0; 8];
        let mut seq = [0; 8];
        ms.copy_from_slice(&b[..8]);
        seq.copy_from_slice(&b[8..]);
        StreamId {
            ms: u64::from_be_bytes(ms),
            seq: u64::from_be_bytes(seq),
        }
    }
}

impl AddId {
    /// XADD's ID argument, None if it is malformed.
    pub fn parse(arg: &[u8]) -> Option<AddId> {
        let arg = id_text(arg)?;
        if arg == b"*" {
            return Some(AddId::Auto);
        }
        // `<ms>-*`: the part after the first dash is exactly `*`.
        if let Some(dash) = arg.iter().position(|&b| b == b'-') {
            if &arg[dash + 1..] == b"*" {
                return parse_u64(&arg[..dash]).map(AddId::AutoSeq);
            }
        }
        StreamId::parse_strict(arg).map(AddId::Explicit)
    }
}

/// A decimal u64 as Redis's string2ull reads an ID part: a canonical
/// 64-bit integer (string2ll) if it is one, negative ones refused; else
/// whatever C's strtoull(s, 10) takes whole: leading white space, a `+`
/// or `-` sign (a `-` negates modulo 2^64, as strtoull does), digits with
/// leading zeros; nothing after the digits, no overflow.
fn parse_u64(s: &[u8]) -> Option<u64> {
    if let Some(v) = crate::resp::parser::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let mut rest = s;
    while let [b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r', tail @ ..] = rest {
        rest = tail;
    }
    let negate = match rest.first() {
        Some(b'-') => {
            rest = &rest[1..];
            true
        }
        Some(b'+') => {
            rest = &rest[1..];
            false
        }
        _ => false,
    };
    if rest.is_empty() || !rest.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in rest {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negate { v.wrapping_neg() } else { v })
}

/// An ID argument as Redis's parser sees it: longer than 127 bytes is
/// invalid, and C string functions stop at the first NUL byte.
fn id_text(arg: &[u8]) -> Option<&[u8]> {
    if arg.len() > 127 {
        return None;
    }
    Some(match arg.iter().position(|&b| b == 0) {
        Some(nul) => &arg[..nul],
        None => arg,
    })
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_redis_accepts() {
        assert_eq!(StreamId::parse(b"5", 0), Some(StreamId::new(5, 0)));
        assert_eq!(
            StreamId::parse(b"5", u64::MAX),
            Some(StreamId::new(5, u64::MAX))
        );
        assert_eq!(StreamId::parse(b"5-3", 9), Some(StreamId::new(5, 3)));
        assert_eq!(StreamId::parse(b"-", 9), Some(StreamId::MIN));
        assert_eq!(StreamId::parse(b"+", 9), Some(StreamId::MAX));
        assert_eq!(StreamId::parse_strict(b"+"), None);
        // strtoull's leniency, as Redis's string2ull falls back to it.
        assert_eq!(StreamId::parse(b" 5", 0), Some(StreamId::new(5, 0)));
        assert_eq!(StreamId::parse(b"+5-+3", 0), Some(StreamId::new(5, 3)));
        assert_eq!(StreamId::parse(b"007", 0), Some(StreamId::new(7, 0)));
        assert_eq!(StreamId::parse(b"1--0", 0), Some(StreamId::new(1, 0)));
        assert_eq!(
            StreamId::parse(b"1- -1", 0),
            Some(StreamId::new(1, u64::MAX))
        );
        assert_eq!(StreamId::parse(b"5\0junk", 0), Some(StreamId::new(5, 0)));
        for bad in [
            &b""[..],
            b"-5",
            b"5-",
            b"5-x",
            b"1--5",
            b"5 ",
            b"5.0",
            b"1-2-3",
            b"18446744073709551616",
            b"(5",
        ] {
            assert_eq!(StreamId::parse(bad, 0), None, "{:?}", bad);
        }
        assert_eq!(AddId::parse(b"*"), Some(AddId::Auto));
        assert_eq!(AddId::parse(b"7-*"), Some(AddId::AutoSeq(7)));
        assert_eq!(
            AddId::parse(b"7-1"),
            Some(AddId::Explicit(StreamId::new(7, 1)))
        );
        assert_eq!(AddId::parse(b"*-1"), None);
        assert_eq!(AddId::parse(b"7-**"), None);
        let long = vec![b'1'; 128];
        assert_eq!(StreamId::parse(&long, 0), None);
    }

    #[test]
    fn increments_and_decrements_carry_and_stop_at_the_ends() {
        assert_eq!(StreamId::new(1, u64::MAX).incr(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::MAX.incr(), None);
        assert_eq!(StreamId::new(2, 0).decr(), Some(StreamId::new(1, u64::MAX)));
        assert_eq!(StreamId::MIN.decr(), None);
        let id = StreamId::new(0x0102, 0x0304);
        assert_eq!(StreamId::from_be_bytes(&id.to_be_bytes()), id);
        assert!(StreamId::new(1, 9).to_be_bytes() < StreamId::new(2, 0).to_be_bytes());
    }
}
