//! The byte encodings a stream's entries are stored in, and the borrowed
//! views that read them.
//!
//! Owns: LEB128 varints (string lengths, ID deltas), zigzag for the signed
//! sequence delta, the back-length written after each node entry (the
//! entry's byte length as a varint read right to left, which lets a
//! reverse range walk a node backwards as listpack's backlen lets Redis),
//! packed string lists (each string its length as a varint, then its
//! bytes), [`Entry`] (an owned entry, what a caller builds a new entry
//! with) and [`EntryRef`] (a borrowed view of an entry, stored in a node
//! or in an [`Entry`]), whose [`EntryStrings`] yields field, value, ...
//!
//! Why a view: a node stores an entry's values after its node's shared
//! field names (see `node.rs`), so there is no contiguous field-value
//! list to hand out a reference to; the view pairs the two lazily.
//!
//! Must never: panic or read past a buffer. The buffers are written only
//! by this crate (the RDB loader goes through the same append path), so a
//! malformed one would be a bug, not an input; the readers still return
//! None and iterators stop rather than index out of bounds.

/// Append `n` as a LEB128 varint (1-10 bytes, low groups first).
pub(super) fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Bytes [`put_varint`] (and [`put_backlen`]) write for `n`.
pub(super) fn varint_len(n: u64) -> usize {
    let bits = 64 - (n | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// The varint at `at` in `buf`: (value, offset after it). One-byte
/// varints (most lengths and ID deltas) take the short path.
#[inline(always)]
pub(super) fn read_varint(buf: &[u8], at: usize) -> Option<(u64, usize)> {
    let b = *buf.get(at)?;
    if b & 0x80 == 0 {
        return Some((u64::from(b), at + 1));
    }
    read_varint_long(buf, at)
}

#[cold]
fn read_varint_long(buf: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &b) in buf.get(at..)?.iter().take(10).enumerate() {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, at + i + 1));
        }
    }
    None
}

/// A signed delta as an unsigned number that is small when the delta's
/// magnitude is (0, -1, 1, -2... -> 0, 1, 2, 3...): a sequence number
/// below the master's (a later millisecond restarting at 0) stays one
/// byte instead of ten.
pub(super) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(super) fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// Append `n` so that it reads right to left from its end: the most
/// significant 7-bit group first and without the continuation bit, then
/// the others down to the least significant, each with it.
pub(super) fn put_backlen(out: &mut Vec<u8>, n: u64) {
    let len = varint_len(n);
    for i in (0..len).rev() {
        let group = ((n >> (7 * i)) & 0x7f) as u8;
        out.push(if i == len - 1 { group } else { group | 0x80 });
    }
}

/// The back-length that ends at `end` in `buf`: (value, bytes used).
pub(super) fn get_backlen(buf: &[u8], end: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for i in 0..10 {
        let b = *buf.get(end.checked_sub(i + 1)?)?;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Append one packed string: its length, then its bytes.
pub(super) fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Split the first packed string off `rest`.
#[inline]
pub(super) fn take_str<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, used) = read_varint(rest, 0)?;
    let end = used.checked_add(usize::try_from(len).ok()?)?;
    let s = rest.get(used..end)?;
    *rest = rest.get(end..)?;
    Some(s)
}

/// Offset just past the `n` packed strings that start at `at` in `buf`.
#[inline(always)]
pub(super) fn skip_strs(buf: &[u8], mut at: usize, n: usize) -> Option<usize> {
    for _ in 0..n {
        let (len, after) = read_varint(buf, at)?;
        // A position past the end fails the next read or the final check.
        at = after.checked_add(usize::try_from(len).ok()?)?;
    }
    (at <= buf.len()).then_some(at)
}

/// One entry's fields and values, owned and packed into one allocation
/// (the packed strings alternate field, value): what a caller builds an
/// entry to append with, and what a loader hands over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry(Box<[u8]>);

impl Entry {
    /// `strings` alternates field, value (an even count, at least 2).
    pub fn new<S: AsRef<[u8]>>(strings: &[S]) -> Entry {
        let total: usize = strings.iter().map(|s| s.as_ref().len() + 10).sum();
        let mut out = Vec::with_capacity(total);
        for s in strings {
            put_str(&mut out, s.as_ref());
        }
        Entry(out.into_boxed_slice())
    }

    /// The strings in order: field, value, field, value...
    pub fn strings(&self) -> EntryStrings<'_> {
        EntryStrings {
            fields: &[],
            rest: &self.0,
            left: usize::MAX,
            shared: false,
            field_next: true,
        }
    }

    /// (field, value) pairs.
    pub fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let mut it = self.strings();
        std::iter::from_fn(move || Some((it.next()?, it.next()?)))
    }

    /// Number of field-value pairs.
    pub fn pair_count(&self) -> usize {
        self.strings().count() / 2
    }

    pub fn heap_size(&self) -> usize {
        self.0.len()
    }
}

/// A borrowed entry: its strings are read from where they are stored.
#[derive(Debug, Clone, Copy)]
pub struct EntryRef<'a> {
    /// The node's shared field names (packed strings) when the entry has
    /// them (`shared`); empty otherwise.
    fields: &'a [u8],
    /// The entry's own packed strings: its values alone when `shared`,
    /// else field, value, field, value...
    own: &'a [u8],
    /// Field-value pairs.
    pairs: usize,
    shared: bool,
}

impl<'a> EntryRef<'a> {
    /// An entry whose `pairs` values are in `own`, its field names the
    /// first `pairs` strings of `fields`.
    pub(super) fn shared(fields: &'a [u8], own: &'a [u8], pairs: usize) -> EntryRef<'a> {
        EntryRef {
            fields,
            own,
            pairs,
            shared: true,
        }
    }

    /// An entry whose `pairs` fields and values alternate in `own`.
    pub(super) fn inline(own: &'a [u8], pairs: usize) -> EntryRef<'a> {
        EntryRef {
            fields: &[],
            own,
            pairs,
            shared: false,
        }
    }

    /// The strings in order: field, value, field, value...
    pub fn strings(&self) -> EntryStrings<'a> {
        EntryStrings {
            fields: self.fields,
            rest: self.own,
            left: self.pairs.saturating_mul(2),
            shared: self.shared,
            field_next: true,
        }
    }

    /// (field, value) pairs.
    pub fn pairs(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
        let mut it = self.strings();
        std::iter::from_fn(move || Some((it.next()?, it.next()?)))
    }

    /// Number of field-value pairs.
    pub fn pair_count(&self) -> usize {
        self.pairs
    }

    /// An owned copy.
    pub fn to_entry(&self) -> Entry {
        let strings: Vec<&[u8]> = self.strings().collect();
        Entry::new(&strings)
    }
}

/// Iterator over an entry's strings (field, value, ...), from an
/// [`Entry`] or an [`EntryRef`]. It stops rather than panics on a
/// malformed buffer (see the module comment).
#[derive(Debug, Clone)]
pub struct EntryStrings<'a> {
    /// Shared field names not yet read (only when `shared`).
    fields: &'a [u8],
    rest: &'a [u8],
    /// Strings still to yield (an owned [`Entry`] ends with its buffer).
    left: usize,
    shared: bool,
    field_next: bool,
}

impl<'a> Iterator for EntryStrings<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let src = if self.shared && self.field_next {
            &mut self.fields
        } else {
            &mut self.rest
        };
        let s = take_str(src)?;
        self.field_next = !self.field_next;
        self.left -= 1;
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_backlens_round_trip() {
        for n in [0, 1, 127, 128, 300, 16383, 16384, u64::MAX / 3, u64::MAX] {
            let mut v = Vec::new();
            put_varint(&mut v, n);
            assert_eq!(v.len(), varint_len(n));
            assert_eq!(read_varint(&v, 0), Some((n, v.len())));
            let mut b = vec![0xff];
            put_backlen(&mut b, n);
            assert_eq!(get_backlen(&b, b.len()), Some((n, b.len() - 1)), "{n}");
        }
        for d in [0i64, -1, 1, -5, 63, -64, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(zigzag(d)), d);
        }
        assert_eq!(zigzag(-3), 5);
        assert_eq!(read_varint(&[0x80], 0), None);
        assert_eq!(get_backlen(&[0x81], 1), None);
    }

    #[test]
    fn shared_views_pair_names_with_values() {
        let mut fields = Vec::new();
        put_str(&mut fields, b"a");
        put_str(&mut fields, b"bb");
        let mut own = Vec::new();
        put_str(&mut own, b"1");
        put_str(&mut own, b"");
        let e = EntryRef::shared(&fields, &own, 2);
        let got: Vec<&[u8]> = e.strings().collect();
        assert_eq!(got, vec![&b"a"[..], b"1", b"bb", b""]);
        assert_eq!(e.to_entry(), Entry::new(&["a", "1", "bb", ""]));
        // A truncated buffer ends the strings early, without a panic.
        let cut = EntryRef::inline(&own[..1], 1);
        assert_eq!(cut.strings().count(), 0);
    }
}
