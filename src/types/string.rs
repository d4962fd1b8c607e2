//! The string type: how a string value is held, and the number parsing and
//! formatting rules string commands share.
//!
//! Owns: the three encodings Redis reports through OBJECT ENCODING:
//! - `int`: the value is the canonical decimal form of an i64 (what INCR
//!   works on, and 8 bytes instead of a buffer);
//! - `embstr`: a short string (at most 44 bytes, Redis's limit) that is
//!   never modified in place. Here it is stored inline in the value itself
//!   ([`InlineStr`]), so a key with a short value costs one allocation (its
//!   dict entry) instead of two: that is most of the bytes-per-key win
//!   over Redis, whose embstr still needs an object header allocation;
//! - `raw`: a growable buffer, used for long strings and for any string that
//!   APPEND or SETRANGE changed (they need spare capacity to be amortised).
//!
//! Must never: change the bytes a client observes when switching encoding.
//! `int` is chosen only when formatting the i64 gives back exactly the
//! bytes that were stored ("007" or "+1" stay strings).

mod long_double;

pub use long_double::LongDouble;

use crate::resp::parser::parse_i64;
use crate::resp::reply::fmt_i64;

/// Longest string stored with the `embstr` encoding (as Redis).
pub const EMBSTR_MAX_BYTES: usize = 44;
/// Largest string a command may create (Redis's proto-max-bulk-len default
/// also bounds SETRANGE/APPEND results at 512 MB).
pub const STRING_MAX_BYTES: usize = 512 * 1024 * 1024;

/// Bytes an [`InlineStr`] can hold. 46 makes `StrValue` (and `Value`)
/// exactly 48 bytes: one tag byte, one length byte, 46 data bytes. Only up
/// to `EMBSTR_MAX_BYTES` are used, so encodings stay Redis's.
pub const INLINE_STR_CAPACITY: usize = 46;

/// A short string stored in place, without a heap allocation.
#[derive(Clone, Copy)]
pub struct InlineStr {
    len: u8,
    buf: [u8; INLINE_STR_CAPACITY],
}

impl InlineStr {
    /// None if `b` is too long to be stored inline.
    pub fn new(b: &[u8]) -> Option<InlineStr> {
        if b.len() > INLINE_STR_CAPACITY {
            return None;
        }
        let mut buf = [0u8; INLINE_STR_CAPACITY];
        buf[..b.len()].copy_from_slice(b);
        Some(InlineStr {
            len: b.len() as u8,
            buf,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl std::fmt::Debug for InlineStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "InlineStr({:?})",
            String::from_utf8_lossy(self.as_bytes())
        )
    }
}

#[derive(Debug, Clone)]
pub enum StrValue {
    Int(i64),
    Emb(InlineStr),
    Raw(Vec<u8>),
}

/// The embstr form of `b`, which callers guarantee is short enough.
fn emb(b: &[u8]) -> StrValue {
    match InlineStr::new(b) {
        Some(s) => StrValue::Emb(s),
        None => StrValue::Raw(b.to_vec()),
    }
}

impl StrValue {
    /// Encoding for a value written by SET and friends (Redis's
    /// tryObjectEncoding): int when canonical, embstr when short, else raw.
    pub fn from_bytes(b: &[u8]) -> StrValue {
        if b.len() <= 20 {
            if let Some(v) = parse_i64(b) {
                return StrValue::Int(v);
            }
        }
        if b.len() <= EMBSTR_MAX_BYTES {
            emb(b)
        } else {
            StrValue::Raw(b.to_vec())
        }
    }

    /// A string stored as given, never int-encoded (Redis's
    /// createStringObject without tryObjectEncoding): what INCRBYFLOAT
    /// stores, so OBJECT ENCODING reports "embstr" even for "3".
    pub fn from_bytes_unencoded(b: &[u8]) -> StrValue {
        if b.len() <= EMBSTR_MAX_BYTES {
            emb(b)
        } else {
            StrValue::Raw(b.to_vec())
        }
    }

    /// Like `from_bytes` but takes ownership of a buffer it may keep.
    pub fn from_vec(v: Vec<u8>) -> StrValue {
        if v.len() <= EMBSTR_MAX_BYTES {
            StrValue::from_bytes(&v)
        } else {
            StrValue::Raw(v)
        }
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            StrValue::Int(_) => "int",
            StrValue::Emb(_) => "embstr",
            StrValue::Raw(_) => "raw",
        }
    }

    pub fn heap_size(&self) -> usize {
        match self {
            StrValue::Int(_) => 0,
            StrValue::Emb(_) => 0,
            StrValue::Raw(v) => v.capacity(),
        }
    }

    /// Length in bytes of the string as clients see it.
    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(v) => {
                let mut tmp = [0u8; 20];
                fmt_i64(*v, &mut tmp).len()
            }
            StrValue::Emb(c) => c.len(),
            StrValue::Raw(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Run `f` over the bytes without allocating (ints are formatted on the
    /// stack).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            StrValue::Int(v) => {
                let mut tmp = [0u8; 20];
                f(fmt_i64(*v, &mut tmp))
            }
            StrValue::Emb(c) => f(c.as_bytes()),
            StrValue::Raw(v) => f(v),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// The buffer APPEND/SETRANGE modify: converts to `raw` first.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, StrValue::Raw(_)) {
            let v = self.to_vec();
            *self = StrValue::Raw(v);
        }
        match self {
            StrValue::Raw(v) => v,
            // Just converted above.
            _ => unreachable!("make_raw converted the value to Raw"),
        }
    }

    /// The value as an i64, as INCR sees it.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            StrValue::Int(v) => Some(*v),
            StrValue::Emb(c) => parse_i64(c.as_bytes()),
            StrValue::Raw(v) => parse_i64(v),
        }
    }

    /// The value as a long double, as INCRBYFLOAT sees it (Redis's
    /// getLongDoubleFromObject: ints convert exactly, strings go through
    /// string2ld).
    pub fn as_long_double(&self) -> Option<LongDouble> {
        match self {
            StrValue::Int(v) => Some(LongDouble::from_i64(*v)),
            _ => self.with_bytes(LongDouble::parse),
        }
    }
}

/// Parse a float the way Redis's string2ld/strtold accepts it for
/// INCRBYFLOAT and friends: no leading/trailing spaces, no empty string,
/// "inf"/"-inf" accepted here (callers reject non-finite results), NaN
/// rejected.
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    if b.is_empty() || b.len() > 5000 {
        return None;
    }
    if b[0].is_ascii_whitespace() || b[b.len() - 1].is_ascii_whitespace() {
        return None;
    }
    let s = std::str::from_utf8(b).ok()?;
    let lower = s.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            // Rust's parser accepts a few spellings strtold does not
            // ("1e", "nan" variants); screen the characters first.
            if !s
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
            {
                return None;
            }
            s.parse::<f64>().ok()?
        }
    };
    if v.is_nan() {
        return None;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_live_inside_a_48_byte_value() {
        assert_eq!(std::mem::size_of::<StrValue>(), 48);
        assert_eq!(std::mem::size_of::<crate::types::Value>(), 48);
        let v = StrValue::from_bytes(&[b'x'; 44]);
        assert_eq!(v.heap_size(), 0);
        assert_eq!(v.to_vec(), vec![b'x'; 44]);
        assert!(InlineStr::new(&[0; INLINE_STR_CAPACITY + 1]).is_none());
    }

    #[test]
    fn encodings_follow_redis() {
        assert_eq!(StrValue::from_bytes(b"123").encoding_name(), "int");
        assert_eq!(
            StrValue::from_bytes(b"-9223372036854775808").encoding_name(),
            "int"
        );
        assert_eq!(StrValue::from_bytes(b"007").encoding_name(), "embstr");
        assert_eq!(StrValue::from_bytes(&[b'a'; 44]).encoding_name(), "embstr");
        assert_eq!(StrValue::from_bytes(&[b'a'; 45]).encoding_name(), "raw");
        let mut v = StrValue::from_bytes(b"12");
        v.make_raw().extend_from_slice(b"3");
        assert_eq!(v.encoding_name(), "raw");
        assert_eq!(v.as_i64(), Some(123));
    }

    #[test]
    fn int_round_trips_bytes() {
        let v = StrValue::from_bytes(b"-42");
        assert_eq!(v.to_vec(), b"-42");
        assert_eq!(v.len(), 3);
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b""), None);
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
    }
}
