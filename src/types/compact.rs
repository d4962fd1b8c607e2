//! `CompactBytes`: an immutable byte string for keys and short string values.
//!
//! Owns: the bytes of one string, in one of two representations:
//! - inline, inside the 24-byte value itself, when the string has at most
//!   [`INLINE_CAPACITY`] bytes (most keys), so it costs no heap allocation
//!   and no pointer chase;
//! - on the heap as an exact-size `Box<[u8]>` (pointer + length, no spare
//!   capacity field) when it is longer.
//!
//! Must never: let the representation leak into behaviour. Equality,
//! ordering and hashing look only at the bytes, and `Hash` matches `[u8]`'s
//! so a `Dict` or `HashMap` keyed by `CompactBytes` can be queried with a
//! plain `&[u8]` (through `Borrow<[u8]>`).
//!
//! Invariants: the representation is canonical: a string of at most
//! `INLINE_CAPACITY` bytes is always inline and a longer one is always on the
//! heap, so `heap_size()` is 0 exactly for short strings. An inline `len`
//! never exceeds `INLINE_CAPACITY`. The value is always 24 bytes.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// Longest string kept inline. 24 bytes minus the enum tag and the length.
pub const INLINE_CAPACITY: usize = 22;

#[derive(Clone)]
enum Repr {
    Inline { len: u8, buf: [u8; INLINE_CAPACITY] },
    Heap(Box<[u8]>),
}

/// A byte string stored inline when short (see the module documentation).
#[derive(Clone)]
pub struct CompactBytes(Repr);

impl CompactBytes {
    pub fn new(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE_CAPACITY {
            let mut buf = [0u8; INLINE_CAPACITY];
            buf[..bytes.len()].copy_from_slice(bytes);
            // Cannot truncate: the length was just checked against 22.
            let len = bytes.len() as u8;
            CompactBytes(Repr::Inline { len, buf })
        } else {
            CompactBytes(Repr::Heap(bytes.into()))
        }
    }

    /// Takes ownership of `vec`. A long string keeps the vector's buffer;
    /// only spare capacity, if any, is given back to the allocator (usually
    /// an in-place shrink), because the heap form stores no capacity.
    pub fn from_vec(vec: Vec<u8>) -> Self {
        if vec.len() <= INLINE_CAPACITY {
            Self::new(&vec)
        } else {
            CompactBytes(Repr::Heap(vec.into_boxed_slice()))
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => &buf[..usize::from(*len)],
            Repr::Heap(bytes) => bytes,
        }
    }

    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes this value owns on the heap (0 when inline), for memory
    /// accounting. Allocator bookkeeping is not included.
    pub fn heap_size(&self) -> usize {
        match &self.0 {
            Repr::Inline { .. } => 0,
            Repr::Heap(bytes) => bytes.len(),
        }
    }

    /// Converts into a `Vec`, reusing the heap buffer when there is one.
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            Repr::Inline { .. } => self.as_bytes().to_vec(),
            Repr::Heap(bytes) => bytes.into_vec(),
        }
    }
}

impl Default for CompactBytes {
    fn default() -> Self {
        Self::new(&[])
    }
}

impl Deref for CompactBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for CompactBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for CompactBytes {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl From<&[u8]> for CompactBytes {
    fn from(bytes: &[u8]) -> Self {
        Self::new(bytes)
    }
}

impl From<Vec<u8>> for CompactBytes {
    fn from(vec: Vec<u8>) -> Self {
        Self::from_vec(vec)
    }
}

impl From<&str> for CompactBytes {
    fn from(s: &str) -> Self {
        Self::new(s.as_bytes())
    }
}

impl PartialEq for CompactBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for CompactBytes {}

impl PartialOrd for CompactBytes {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CompactBytes {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for CompactBytes {
    // Must hash exactly like `[u8]` for `Borrow<[u8]>` lookups to work.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for CompactBytes {
    // Keys are arbitrary bytes; escaping keeps logs readable and one-line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.as_bytes().escape_ascii())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;
    use std::collections::HashMap;

    const BOUNDARY_LENGTHS: [usize; 7] = [0, 1, 21, 22, 23, 24, 1000];

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + 3) as u8).collect()
    }

    fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn is_24_bytes() {
        assert!(size_of::<CompactBytes>() == 24);
        assert!(size_of::<Option<CompactBytes>>() == 24);
    }

    #[test]
    fn round_trips_boundary_lengths() {
        for len in BOUNDARY_LENGTHS {
            let bytes = pattern(len);
            let from_slice = CompactBytes::new(&bytes);
            let from_vec = CompactBytes::from_vec(bytes.clone());
            for c in [&from_slice, &from_vec] {
                assert_eq!(c.as_bytes(), &bytes[..], "len {len}");
                assert_eq!(c.len(), len);
                assert_eq!(c.is_empty(), len == 0);
                assert_eq!(&**c, &bytes[..]);
            }
            assert_eq!(from_slice, from_vec);
            assert_eq!(from_slice.clone().into_vec(), bytes);
        }
    }

    #[test]
    fn inline_exactly_up_to_capacity() {
        for len in BOUNDARY_LENGTHS {
            let c = CompactBytes::new(&pattern(len));
            let expected = if len <= INLINE_CAPACITY { 0 } else { len };
            assert_eq!(c.heap_size(), expected, "len {len}");
        }
        assert_eq!(CompactBytes::new(&pattern(22)).heap_size(), 0);
        assert_eq!(CompactBytes::new(&pattern(23)).heap_size(), 23);
    }

    #[test]
    fn from_vec_reuses_a_long_buffer() {
        let vec = pattern(1000);
        let ptr = vec.as_ptr();
        let c = CompactBytes::from_vec(vec);
        assert_eq!(c.as_bytes().as_ptr(), ptr);
        let vec = c.into_vec();
        assert_eq!(vec.as_ptr(), ptr);
    }

    #[test]
    fn from_vec_with_spare_capacity_keeps_the_bytes() {
        let mut vec = Vec::with_capacity(4096);
        vec.extend_from_slice(&pattern(100));
        let c = CompactBytes::from_vec(vec);
        assert_eq!(c.as_bytes(), &pattern(100)[..]);
        assert_eq!(c.heap_size(), 100);
    }

    #[test]
    fn equality_ordering_and_hash_follow_bytes() {
        for len in BOUNDARY_LENGTHS {
            let bytes = pattern(len);
            let c = CompactBytes::new(&bytes);
            assert_eq!(hash_of(&c), hash_of(&bytes[..]), "len {len}");
            assert_eq!(c.cmp(&c.clone()), Ordering::Equal);
        }
        let a = CompactBytes::from("abc");
        let b = CompactBytes::from("abd");
        let long = CompactBytes::from(&pattern(40)[..]);
        assert!(a < b);
        assert_ne!(a, b);
        assert_ne!(a, long);
        // Trailing zero bytes are data, not padding.
        assert_ne!(CompactBytes::new(b"a"), CompactBytes::new(b"a\0"));
    }

    #[test]
    fn usable_as_map_key_queried_by_slice() {
        let mut map = HashMap::new();
        map.insert(CompactBytes::from("short"), 1);
        map.insert(CompactBytes::from_vec(pattern(50)), 2);
        assert_eq!(map.get(&b"short"[..]), Some(&1));
        assert_eq!(map.get(&pattern(50)[..]), Some(&2));
        assert_eq!(map.get(&b"missing"[..]), None);
    }

    #[test]
    fn conversions_and_default() {
        assert_eq!(CompactBytes::default().len(), 0);
        assert_eq!(CompactBytes::default(), CompactBytes::new(b""));
        assert_eq!(CompactBytes::from("hi").as_bytes(), b"hi");
        assert_eq!(CompactBytes::from(&b"hi"[..]).as_bytes(), b"hi");
        assert_eq!(CompactBytes::from(b"hi".to_vec()).as_bytes(), b"hi");
        let owned = CompactBytes::from("hi");
        let borrowed: &[u8] = owned.borrow();
        assert_eq!(borrowed, b"hi");
    }

    #[test]
    fn clone_is_deep() {
        let original = CompactBytes::new(&pattern(64));
        let copy = original.clone();
        assert_eq!(original, copy);
        assert_ne!(original.as_bytes().as_ptr(), copy.as_bytes().as_ptr());
    }

    #[test]
    fn debug_escapes_bytes() {
        let c = CompactBytes::new(b"a\"b\n\xff");
        assert_eq!(format!("{c:?}"), r#"b"a\"b\n\xff""#);
    }
}
