//! Listpacks: Redis's packed list of strings and integers, as stored in
//! RDB files (stream nodes here; `rdb.rs` has its own lenient reader for
//! hash, sorted set and list listpacks).
//!
//! Layout: `[total bytes: u32 LE][element count: u16 LE, 65535 = "count
//! them"]`, the elements, then the terminator byte `0xFF`. Each element is
//! an encoding byte (which says integer or string, and how wide), its
//! data, then a "backlen": the size of encoding + data written in 1 to 5
//! bytes, 7 bits each, so the list can be walked from its end as well.
//!
//! Owns: [`parse`] (a whole listpack validated as redis-server's deep
//! sanitization does: header size, terminator, every element's encoding,
//! data and backlen inside the buffer, the element count) and [`Writer`]
//! (which encodes integers, and strings that are canonical decimal
//! integers, in the integer encodings, as Redis's `lpAppend` does).
//!
//! Must never: read outside the buffer, allocate by a length read from it
//! (elements borrow from the buffer; the element vector grows only by
//! elements actually found), or accept trailing bytes after the
//! terminator.

/// One listpack element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Elem<'_> {
    /// The element as an integer: an integer encoding, or a string that is
    /// a canonical decimal `i64` (Redis reads both, `lpGetIntegerIfValid`).
    pub fn as_int(&self) -> Option<i64> {
        match *self {
            Elem::Int(v) => Some(v),
            Elem::Str(s) => canonical_i64(s),
        }
    }

    /// The element's bytes (an integer as decimal text).
    pub fn to_vec(&self) -> Vec<u8> {
        match *self {
            Elem::Int(v) => v.to_string().into_bytes(),
            Elem::Str(s) => s.to_vec(),
        }
    }

    /// Same bytes as `other` (an integer compares as its decimal text).
    pub fn same_bytes(&self, other: &[u8]) -> bool {
        match *self {
            Elem::Str(s) => s == other,
            Elem::Int(v) => canonical_i64(other) == Some(v),
        }
    }
}

/// `s` as an `i64` if it is exactly that number's decimal form (no sign
/// but a leading `-`, no leading zeros, no spaces): the strings Redis
/// stores in the integer encodings.
/// ("+5", "007" and "-0" are not; the RESP parser's strict integer rule
/// is exactly this one.)
pub fn canonical_i64(s: &[u8]) -> Option<i64> {
    crate::resp::parser::parse_i64(s)
}

const HEADER_BYTES: usize = 6;
const EOF: u8 = 0xFF;
/// The element-count field's "too many to count" value.
const COUNT_UNKNOWN: u16 = u16::MAX;

/// Bytes of the backlen that follows an element of `len` bytes (also
/// what the stream node model sizes its listpacks with).
pub fn backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The backlen of an element of `len` bytes, and how many of the 5 bytes
/// it uses: the high-order group first (no continuation bit), the
/// low-order group last, every group but the first with bit 7 set, so a
/// reader going backwards starts at the low-order group.
fn backlen(len: usize) -> ([u8; 5], usize) {
    let n = backlen_size(len);
    let mut b = [0u8; 5];
    for (j, i) in (0..n).rev().enumerate() {
        let group = ((len >> (7 * i)) & 0x7f) as u8;
        b[j] = if i == n - 1 { group } else { group | 0x80 };
    }
    (b, n)
}

fn put_backlen(out: &mut Vec<u8>, len: usize) {
    let (b, n) = backlen(len);
    out.extend_from_slice(&b[..n]);
}

/// Every element of `lp`, or None if it is not a valid listpack.
pub fn parse(lp: &[u8]) -> Option<Vec<Elem<'_>>> {
    if lp.len() < HEADER_BYTES + 1 {
        return None;
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    let count = u16::from_le_bytes([lp[4], lp[5]]);
    if total != lp.len() || lp[lp.len() - 1] != EOF {
        return None;
    }
    let end = lp.len() - 1;
    let mut out = Vec::new();
    let mut p = HEADER_BYTES;
    while p < end {
        let (elem, size) = element(&lp[p..end])?;
        let back = backlen_size(size);
        let after = p.checked_add(size)?.checked_add(back)?;
        if after > end {
            return None;
        }
        let (expected, n) = backlen(size);
        if lp[p + size..after] != expected[..n] {
            return None;
        }
        out.push(elem);
        p = after;
    }
    if count != COUNT_UNKNOWN && usize::from(count) != out.len() {
        return None;
    }
    Some(out)
}

/// The element at the start of `b` and the size of its encoding + data.
fn element(b: &[u8]) -> Option<(Elem<'_>, usize)> {
    let first = *b.first()?;
    let int = |width: usize| -> Option<(Elem<'_>, usize)> {
        let data = b.get(1..1 + width)?;
        let mut a = [0u8; 8];
        a[..width].copy_from_slice(data);
        let shift = 64 - 8 * width as u32;
        Some((
            Elem::Int((i64::from_le_bytes(a) << shift) >> shift),
            1 + width,
        ))
    };
    let string = |header: usize, len: usize| -> Option<(Elem<'_>, usize)> {
        let data = b.get(header..header.checked_add(len)?)?;
        Some((Elem::Str(data), header + len))
    };
    if first & 0x80 == 0 {
        Some((Elem::Int(i64::from(first & 0x7f)), 1))
    } else if first & 0xc0 == 0x80 {
        string(1, usize::from(first & 0x3f))
    } else if first & 0xe0 == 0xc0 {
        // 13-bit two's complement.
        let raw = (i64::from(first & 0x1f) << 8) | i64::from(*b.get(1)?);
        let v = if raw >= 1 << 12 { raw - (1 << 13) } else { raw };
        Some((Elem::Int(v), 2))
    } else if first & 0xf0 == 0xe0 {
        string(
            2,
            (usize::from(first & 0x0f) << 8) | usize::from(*b.get(1)?),
        )
    } else {
        match first {
            0xf0 => {
                let l = b.get(1..5)?;
                let len = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
                string(5, len)
            }
            0xf1 => int(2),
            0xf2 => int(3),
            0xf3 => int(4),
            0xf4 => int(8),
            // 0xf5..=0xfe are unused encodings; 0xff is the terminator,
            // which cannot start an element.
            _ => None,
        }
    }
}

/// Builds a listpack element by element.
#[derive(Debug)]
pub struct Writer {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    pub fn new() -> Writer {
        Writer {
            buf: vec![0; HEADER_BYTES],
            count: 0,
        }
    }

    /// Bytes so far, the terminator included.
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u16) & 0x1fff;
            self.buf.push(0xc0 | (u >> 8) as u8);
            self.buf.push(u as u8);
        } else {
            let (tag, width) = if (-32768..=32767).contains(&v) {
                (0xf1, 2)
            } else if (-8_388_608..=8_388_607).contains(&v) {
                (0xf2, 3)
            } else if (-2_147_483_648..=2_147_483_647).contains(&v) {
                (0xf3, 4)
            } else {
                (0xf4, 8)
            };
            self.buf.push(tag);
            self.buf.extend_from_slice(&v.to_le_bytes()[..width]);
        }
        let size = self.buf.len() - start;
        put_backlen(&mut self.buf, size);
        self.count += 1;
    }

    /// A string; one that is a canonical integer is stored as that
    /// integer (Redis does the same, so its listpacks and ours agree).
    pub fn push_str(&mut self, s: &[u8]) {
        if let Some(v) = canonical_i64(s) {
            return self.push_int(v);
        }
        let start = self.buf.len();
        let len = s.len();
        if len < 64 {
            self.buf.push(0x80 | len as u8);
        } else if len < 4096 {
            self.buf.push(0xe0 | (len >> 8) as u8);
            self.buf.push(len as u8);
        } else {
            self.buf.push(0xf0);
            // Callers keep a listpack under 4 GiB (`finish` refuses more),
            // so a longer string never gets here in a finished listpack.
            self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        let size = self.buf.len() - start;
        put_backlen(&mut self.buf, size);
        self.count += 1;
    }

    /// The finished listpack, or None if it would exceed the 32-bit size
    /// field.
    pub fn finish(mut self) -> Option<Vec<u8>> {
        self.buf.push(EOF);
        let total = u32::try_from(self.buf.len()).ok()?;
        let count = u16::try_from(self.count)
            .ok()
            .filter(|&c| c != COUNT_UNKNOWN)
            .unwrap_or(COUNT_UNKNOWN);
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        Some(self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoding_round_trips() {
        let ints = [
            0i64,
            127,
            128,
            -1,
            4095,
            -4096,
            4096,
            32767,
            -32768,
            8_388_607,
            -8_388_608,
            2_147_483_647,
            -2_147_483_648,
            i64::MAX,
            i64::MIN,
        ];
        let strs: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"a".to_vec(),
            vec![b'x'; 63],
            vec![b'y'; 64],
            vec![b'z'; 4095],
            vec![b'w'; 4096],
            vec![b'v'; 20_000],
            b"007".to_vec(),
            b"-0".to_vec(),
            b"+1".to_vec(),
            b"99999999999999999999".to_vec(),
        ];
        let mut w = Writer::new();
        for &v in &ints {
            w.push_int(v);
        }
        for s in &strs {
            w.push_str(s);
        }
        w.push_str(b"-123");
        let lp = w.finish().unwrap();
        let got = parse(&lp).unwrap();
        assert_eq!(got.len(), ints.len() + strs.len() + 1);
        for (g, v) in got.iter().zip(ints.iter()) {
            assert_eq!(*g, Elem::Int(*v));
        }
        for (g, s) in got[ints.len()..].iter().zip(strs.iter()) {
            assert_eq!(*g, Elem::Str(s), "non-canonical strings stay strings");
        }
        assert_eq!(got.last(), Some(&Elem::Int(-123)));
    }

    #[test]
    fn matches_a_listpack_redis_wrote() {
        // The node of `XADD s 5-1 f v` on redis-server 7.0 (from DUMP).
        let lp: &[u8] = &[
            0x1d, 0, 0, 0, 10, 0, 1, 1, 0, 1, 1, 1, 0x81, b'f', 2, 0, 1, 2, 1, 0, 1, 0, 1, 0x81,
            b'v', 2, 4, 1, 0xff,
        ];
        let got = parse(lp).unwrap();
        assert_eq!(got[3], Elem::Str(b"f"));
        assert_eq!(got.len(), 10);
        let mut w = Writer::new();
        for e in &got {
            match e {
                Elem::Int(v) => w.push_int(*v),
                Elem::Str(s) => w.push_str(s),
            }
        }
        assert_eq!(w.finish().unwrap(), lp);
    }

    #[test]
    fn damage_is_refused() {
        let mut w = Writer::new();
        w.push_str(b"hello");
        w.push_int(1000);
        let lp = w.finish().unwrap();
        assert!(parse(&lp).is_some());
        // Every truncation, and a flip of each byte, is refused or still
        // parses within bounds (never a panic).
        for n in 0..lp.len() {
            assert!(parse(&lp[..n]).is_none(), "truncated at {n}");
        }
        for i in 0..lp.len() {
            for x in [0x01, 0x80, 0xff] {
                let mut d = lp.clone();
                d[i] ^= x;
                let _ = parse(&d);
            }
        }
        let mut wrong_count = lp.clone();
        wrong_count[4] = 3;
        assert!(parse(&wrong_count).is_none());
        let mut trailing = lp.clone();
        trailing.insert(lp.len() - 1, 0);
        let total = trailing.len() as u32;
        trailing[..4].copy_from_slice(&total.to_le_bytes());
        assert!(parse(&trailing).is_none());
    }

    #[test]
    fn canonical_integers() {
        assert_eq!(canonical_i64(b"0"), Some(0));
        assert_eq!(canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        for s in [
            &b""[..],
            b"-",
            b"01",
            b"-0",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
        ] {
            assert_eq!(canonical_i64(s), None, "{s:?}");
        }
    }
}
