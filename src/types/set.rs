//! The set type's in-memory representation (Redis 7.0's two encodings).
//!
//! Owns: a set's members in one of two encodings, as Redis 7.0 has them:
//! - `intset` ([`IntSet`], see `set/intset.rs`): a sorted, width-adaptive
//!   array of integers, used while every member is an integer in canonical
//!   decimal form (what `string2ll` accepts: no sign `+`, no leading zeros,
//!   no `-0`, fits in an i64) and there are at most `set-max-intset-entries`
//!   members. Membership is a binary search; iteration is ascending, which
//!   is why SMEMBERS of an intset set is sorted in Redis and here.
//! - `hashtable` ([`Dict<()>`]): any members. The dict gives the SSCAN
//!   cursor that never misses a member across resizes, and O(1) sampling
//!   for SPOP/SRANDMEMBER.
//!
//! Redis 7.2 added a third, `listpack`, encoding for small non-integer
//! sets; 7.0 has none, so neither do we (the `set-max-listpack-*` options
//! are stored by the config module but nothing reads them).
//!
//! Must never: convert back from hashtable to intset (Redis does not; a set
//! that grew big once may grow again), or store an integer-looking member
//! of an intset set as bytes (membership tests parse the probe once and
//! would then miss it).
//!
//! Invariants: the intset encoding holds at most `intset_max` members (the
//! limit given to the last `add`); no encoding holds duplicates. An empty
//! set may exist only transiently: commands delete the key as soon as its
//! set becomes empty.

pub mod intset;

use crate::dict::{rng_next, Dict};
use crate::resp::parser::parse_i64;
use crate::resp::reply::fmt_i64;
use crate::types::CompactBytes;
pub use intset::IntSet;

/// One member as stored: an integer of an intset, or the bytes of a
/// hashtable entry. Borrowed from the set, so iterating copies nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl Member<'_> {
    /// Run `f` on the member's bytes (an integer is formatted on the stack).
    pub fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Member::Int(v) => {
                let mut tmp = [0u8; 20];
                f(fmt_i64(v, &mut tmp))
            }
            Member::Bytes(b) => f(b),
        }
    }

    /// An owned copy. Integers (at most 20 digits) fit `CompactBytes`'
    /// inline storage, so copying an intset member never allocates.
    pub fn to_compact(self) -> CompactBytes {
        self.with_bytes(CompactBytes::new)
    }

    /// The integer this member denotes, if it is one in canonical form.
    pub fn as_int(self) -> Option<i64> {
        match self {
            Member::Int(v) => Some(v),
            Member::Bytes(b) => parse_i64(b),
        }
    }
}

/// A set value (see the module documentation).
#[derive(Debug)]
pub enum SetValue {
    IntSet(IntSet),
    /// Boxed so a set (usually small) fits inside `Value` without a
    /// separate allocation for the set header.
    HashTable(Box<Dict<()>>),
}

impl Clone for SetValue {
    // Dict has no Clone (the keyspace never copies a whole table); a set
    // copy (COPY, SINTERSTORE of one key) rebuilds it, presized.
    fn clone(&self) -> Self {
        match self {
            SetValue::IntSet(s) => SetValue::IntSet(s.clone()),
            SetValue::HashTable(d) => {
                let mut copy = Dict::with_capacity(d.len());
                for (k, ()) in d.iter() {
                    copy.insert(k.clone(), ());
                }
                SetValue::HashTable(Box::new(copy))
            }
        }
    }
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue::IntSet(IntSet::new())
    }
}

/// A uniform index in `0..n` (n > 0).
fn random_below(rng: &mut u64, n: usize) -> usize {
    ((u128::from(rng_next(rng)) * n as u128) >> 64) as usize
}

impl SetValue {
    /// An empty set in the intset encoding; the first non-integer member
    /// converts it (how Redis builds SINTERSTORE/SUNION results).
    pub fn new_intset() -> SetValue {
        SetValue::default()
    }

    /// The encoding a new set starts in, chosen by its first member (Redis's
    /// setTypeCreate): intset if it is an integer, hashtable otherwise.
    pub fn for_first_member(member: &[u8]) -> SetValue {
        if parse_i64(member).is_some() {
            SetValue::new_intset()
        } else {
            SetValue::HashTable(Box::default())
        }
    }

    pub fn len(&self) -> usize {
        match self {
            SetValue::IntSet(s) => s.len(),
            SetValue::HashTable(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_intset(&self) -> bool {
        matches!(self, SetValue::IntSet(_))
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.contains_member(Member::Bytes(member))
    }

    pub fn contains_member(&self, m: Member) -> bool {
        match self {
            SetValue::IntSet(s) => m.as_int().is_some_and(|v| s.contains(v)),
            SetValue::HashTable(d) => m.with_bytes(|b| d.contains_key(b)),
        }
    }

    /// Add `member`; false if it was already there. Converts to hashtable
    /// when the member is not an integer or the intset would exceed
    /// `intset_max` members (`set-max-intset-entries`).
    pub fn add(&mut self, member: &[u8], intset_max: usize) -> bool {
        self.add_member(Member::Bytes(member), intset_max)
    }

    pub fn add_member(&mut self, m: Member, intset_max: usize) -> bool {
        if let SetValue::IntSet(s) = self {
            match m.as_int() {
                Some(v) => {
                    if !s.insert(v) {
                        return false;
                    }
                    if s.len() > intset_max {
                        self.convert_to_hashtable();
                    }
                    return true;
                }
                None => self.convert_to_hashtable(),
            }
        }
        match self {
            SetValue::HashTable(d) => m.with_bytes(|b| {
                if d.contains_key(b) {
                    return false;
                }
                d.insert(CompactBytes::new(b), ());
                true
            }),
            SetValue::IntSet(_) => false, // converted just above
        }
    }

    /// Remove `member`; false if it was not there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        self.remove_member(Member::Bytes(member))
    }

    pub fn remove_member(&mut self, m: Member) -> bool {
        match self {
            SetValue::IntSet(s) => m.as_int().is_some_and(|v| s.remove(v)),
            SetValue::HashTable(d) => m.with_bytes(|b| d.remove(b).is_some()),
        }
    }

    /// Every member: ascending for an intset, table order for a hashtable.
    pub fn iter(&self) -> impl Iterator<Item = Member<'_>> + '_ {
        let (ints, table) = match self {
            SetValue::IntSet(s) => (Some(s.iter().map(Member::Int)), None),
            SetValue::HashTable(d) => (
                None,
                Some(d.iter().map(|(k, ())| Member::Bytes(k.as_bytes()))),
            ),
        };
        ints.into_iter()
            .flatten()
            .chain(table.into_iter().flatten())
    }

    /// A random member (None only for an empty set). Uniform for an intset;
    /// for a hashtable as uniform as the dict's bucket-then-chain sampling.
    pub fn random_member(&self, rng: &mut u64) -> Option<Member<'_>> {
        match self {
            SetValue::IntSet(s) if s.is_empty() => None,
            SetValue::IntSet(s) => s.get(random_below(rng, s.len())).map(Member::Int),
            SetValue::HashTable(d) => d
                .random_entry(rng)
                .map(|(k, ())| Member::Bytes(k.as_bytes())),
        }
    }

    /// One SSCAN step from `cursor`: reports members to `f` and returns the
    /// next cursor (0 = done). An intset is reported whole in one call with
    /// cursor 0, whatever cursor was given, as Redis does.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(Member)) -> u64 {
        match self {
            SetValue::IntSet(s) => {
                s.iter().for_each(|v| f(Member::Int(v)));
                0
            }
            SetValue::HashTable(d) => d.scan(cursor, |k, ()| f(Member::Bytes(k.as_bytes()))),
        }
    }

    /// Move an intset's members into a hashtable presized for them (no
    /// rehash while converting, like Redis's dictExpand before the copy).
    fn convert_to_hashtable(&mut self) {
        let SetValue::IntSet(s) = self else { return };
        let mut d = Dict::with_capacity(s.len());
        let mut tmp = [0u8; 20];
        for v in s.iter() {
            d.insert(CompactBytes::new(fmt_i64(v, &mut tmp)), ());
        }
        *self = SetValue::HashTable(Box::new(d));
    }

    /// OBJECT ENCODING name.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            SetValue::IntSet(_) => "intset",
            SetValue::HashTable(_) => "hashtable",
        }
    }

    /// Heap bytes owned by the value: the boxed enum itself plus the member
    /// buffer or the table (buckets, entries, long members).
    pub fn heap_size(&self) -> usize {
        size_of::<SetValue>()
            + match self {
                SetValue::IntSet(s) => s.heap_size(),
                SetValue::HashTable(d) => d.memory_usage(),
            }
    }

    /// Allocations freeing the value releases (lazy-free decision): one
    /// buffer for an intset, one entry per member plus the buckets for a
    /// hashtable.
    pub fn free_effort(&self) -> usize {
        match self {
            SetValue::IntSet(_) => 1,
            SetValue::HashTable(d) => d.len() + 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(s: &SetValue) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = s.iter().map(|m| m.to_compact().to_vec()).collect();
        v.sort();
        v
    }

    #[test]
    fn first_member_chooses_the_encoding() {
        assert!(SetValue::for_first_member(b"12").is_intset());
        assert!(SetValue::for_first_member(b"-9223372036854775808").is_intset());
        for not_int in [
            &b"x"[..],
            b"01",
            b"-0",
            b"+1",
            b" 1",
            b"1.0",
            b"9223372036854775808",
            b"",
        ] {
            assert!(
                !SetValue::for_first_member(not_int).is_intset(),
                "{not_int:?}"
            );
        }
    }

    #[test]
    fn intset_converts_on_a_string_member() {
        let mut s = SetValue::new_intset();
        assert!(s.add(b"3", 512) && s.add(b"1", 512));
        assert!(!s.add(b"3", 512));
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            [Member::Int(1), Member::Int(3)]
        );
        assert!(s.add(b"01", 512));
        assert_eq!(s.encoding_name(), "hashtable");
        assert_eq!(members(&s), [b"01".to_vec(), b"1".to_vec(), b"3".to_vec()]);
        // Integer members stay findable as bytes and as integers.
        assert!(s.contains(b"1") && s.contains_member(Member::Int(3)));
        assert!(!s.add_member(Member::Int(3), 512));
    }

    #[test]
    fn intset_converts_past_the_entry_limit() {
        let mut s = SetValue::new_intset();
        for i in 0..3 {
            assert!(s.add(i.to_string().as_bytes(), 3));
        }
        assert_eq!(s.encoding_name(), "intset");
        assert!(!s.add(b"2", 3), "a duplicate does not convert");
        assert_eq!(s.encoding_name(), "intset");
        assert!(s.add(b"3", 3));
        assert_eq!(s.encoding_name(), "hashtable");
        assert_eq!(s.len(), 4);
        // Never converts back, even when small again.
        assert!(s.remove(b"3") && s.remove(b"2"));
        assert_eq!(s.encoding_name(), "hashtable");
        // A zero limit converts on the first member.
        let mut z = SetValue::for_first_member(b"7");
        z.add(b"7", 0);
        assert_eq!(z.encoding_name(), "hashtable");
        assert!(z.contains(b"7"));
    }

    #[test]
    fn remove_and_membership_across_encodings() {
        let mut s = SetValue::new_intset();
        s.add(b"5", 512);
        assert!(!s.remove(b"x") && !s.remove(b"05") && !s.remove(b"6"));
        assert!(!s.contains(b"05"));
        assert!(s.remove_member(Member::Bytes(b"5")));
        assert!(s.is_empty());
    }

    #[test]
    fn random_members_are_members() {
        let mut rng = 1;
        assert_eq!(SetValue::new_intset().random_member(&mut rng), None);
        let mut ints = SetValue::new_intset();
        let mut table = SetValue::HashTable(Box::default());
        for i in 0..50 {
            ints.add(i.to_string().as_bytes(), 512);
            table.add(format!("m{i}").as_bytes(), 512);
        }
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            for s in [&ints, &table] {
                let m = s.random_member(&mut rng).expect("non-empty");
                assert!(s.contains_member(m));
                seen.insert(m.to_compact());
            }
        }
        assert_eq!(seen.len(), 100);
    }

    #[test]
    fn scan_reports_everything() {
        let mut ints = SetValue::new_intset();
        for i in [3, 1, 2] {
            ints.add(i.to_string().as_bytes(), 512);
        }
        let mut got = Vec::new();
        assert_eq!(ints.scan(12345, |m| got.push(m.to_compact().to_vec())), 0);
        assert_eq!(got, [b"1".to_vec(), b"2".to_vec(), b"3".to_vec()]);

        let mut table = SetValue::HashTable(Box::default());
        for i in 0..300 {
            table.add(format!("m{i}").as_bytes(), 512);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        for _ in 0..100_000 {
            cursor = table.scan(cursor, |m| {
                seen.insert(m.to_compact());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 300);
    }

    #[test]
    fn clone_is_deep_and_equal() {
        let mut s = SetValue::HashTable(Box::default());
        for i in 0..100 {
            s.add(format!("member-with-a-long-name-{i}").as_bytes(), 512);
        }
        let c = s.clone();
        s.remove(b"member-with-a-long-name-1");
        assert_eq!(c.len(), 100);
        assert!(c.contains(b"member-with-a-long-name-1"));
        assert_eq!(members(&c).len(), 100);
        assert!(c.heap_size() > 100 * 24);
        assert_eq!(c.free_effort(), 101);
        let i = SetValue::for_first_member(b"1");
        assert_eq!(i.clone().encoding_name(), "intset");
        assert_eq!(i.free_effort(), 1);
    }
}
