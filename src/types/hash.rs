//! The hash type's in-memory representation (Redis's t_hash.c encodings).
//!
//! Owns: the two encodings OBJECT ENCODING reports, and the rule that moves
//! a hash from the first to the second:
//! - `listpack`: small hashes, as one packed byte buffer of entries, field
//!   then value, in insertion order. Each entry is its length as a LEB128
//!   varint followed by its bytes, so a pair of short strings costs its
//!   bytes plus 2, where a `Vec<(CompactBytes, CompactBytes)>` would cost
//!   48 bytes per pair however short the strings are, and a hash table about
//!   100 (entry, bucket, two strings). The price is what Redis's listpack
//!   pays too: a lookup scans the buffer (bounded by
//!   `hash-max-listpack-entries`, 512 by default), and an insert or delete
//!   moves the bytes after it. The buffer is kept at its exact size (grown
//!   with `reserve_exact`, shrunk after deletes), trading a reallocation per
//!   write for no spare capacity, as Redis's listpack does.
//! - `hashtable`: a [`Dict`] from field to value, used once the hash has
//!   more than `hash-max-listpack-entries` fields or any field or value
//!   longer than `hash-max-listpack-value` bytes. The dict gives O(1)
//!   lookups, incremental rehashing, and a SCAN cursor that never misses a
//!   field across resizes (HSCAN), plus O(1) random sampling (HRANDFIELD).
//!
//! Conversion is one-way, as in Redis 7.0: a hashtable stays a hashtable
//! when it shrinks (only a rewrite through DUMP/RESTORE or a reload would
//! pick the small form again).
//!
//! Must never: hold an empty hash in the keyspace (commands delete the key
//! when the last field goes; this type allows the empty state only
//! transiently), or let a client's count size an allocation (the sampling
//! functions allocate at most the hash's own size).
//!
//! Invariants:
//! - listpack: `buf` is exactly `2 * pairs` well-formed entries, and no two
//!   fields are equal;
//! - listpack: every field and value is at most the `max_listpack_value`
//!   and `pairs` at most the `max_listpack_entries` in force when it was
//!   last written (a later CONFIG SET does not convert existing hashes,
//!   like Redis);
//! - hashtable: `value_heap_bytes` is the sum of the values' `heap_size()`.

use std::collections::HashSet;

use crate::dict::{random_below, Dict};
use crate::types::compact::CompactBytes;

/// The thresholds of the listpack encoding (`hash-max-listpack-entries`,
/// `hash-max-listpack-value`), read from the configuration per command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashLimits {
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
}

/// A hash value: a field -> value map of byte strings.
#[derive(Debug)]
pub struct HashValue {
    enc: Encoding,
}

#[derive(Debug)]
enum Encoding {
    Listpack(Listpack),
    /// Boxed: most hashes are small, and the dict is several times the size
    /// of the listpack header; every hash pays for the largest variant.
    Table(Box<Table>),
}

impl Default for HashValue {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for HashValue {
    /// COPY keeps the encoding, as Redis's hashTypeDup does.
    fn clone(&self) -> Self {
        let enc = match &self.enc {
            Encoding::Listpack(lp) => Encoding::Listpack(lp.clone()),
            Encoding::Table(t) => {
                let mut copy = Table {
                    dict: Dict::with_capacity(t.dict.len()),
                    value_heap_bytes: 0,
                };
                for (f, v) in t.dict.iter() {
                    copy.insert(f.as_bytes(), v.as_bytes());
                }
                Encoding::Table(Box::new(copy))
            }
        };
        HashValue { enc }
    }
}

impl HashValue {
    /// An empty hash in the listpack encoding (what HSET creates).
    pub fn new() -> Self {
        HashValue {
            enc: Encoding::Listpack(Listpack::default()),
        }
    }

    /// OBJECT ENCODING name (Redis 7.0's names).
    pub fn encoding_name(&self) -> &'static str {
        match self.enc {
            Encoding::Listpack(_) => "listpack",
            Encoding::Table(_) => "hashtable",
        }
    }

    pub fn is_listpack(&self) -> bool {
        matches!(self.enc, Encoding::Listpack(_))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.enc {
            Encoding::Listpack(lp) => lp.pairs,
            Encoding::Table(t) => t.dict.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned by the value (allocator overhead not counted).
    pub fn heap_size(&self) -> usize {
        match &self.enc {
            Encoding::Listpack(lp) => lp.buf.capacity(),
            Encoding::Table(t) => size_of::<Table>() + t.dict.memory_usage() + t.value_heap_bytes,
        }
    }

    /// Allocations freeing the value releases (the lazy-free decision), as
    /// Redis's lazyfreeGetFreeEffort counts it: one buffer for a listpack,
    /// one per field for a hashtable.
    pub fn free_effort(&self) -> usize {
        match &self.enc {
            Encoding::Listpack(_) => 1,
            Encoding::Table(t) => t.dict.len().max(1),
        }
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.enc {
            Encoding::Listpack(lp) => lp.find(field).map(|at| &lp.buf[at.value.clone()]),
            Encoding::Table(t) => t.dict.get(field).map(|v| v.as_bytes()),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Set `field` to `value`; returns true if the field is new. Converts to
    /// a hashtable first if either string is longer than the listpack
    /// allows, and after inserting if the listpack now has too many fields
    /// (Redis's hashTypeSet; HSET's up-front hashTypeTryConversion over all
    /// its arguments ends in the same state, because every argument is
    /// checked here before it is stored).
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        let too_long = |s: &[u8]| s.len() > limits.max_listpack_value;
        if self.is_listpack() && (too_long(field) || too_long(value)) {
            self.convert_to_table();
        }
        match &mut self.enc {
            Encoding::Listpack(lp) => {
                let inserted = lp.set(field, value);
                if lp.pairs > limits.max_listpack_entries {
                    self.convert_to_table();
                }
                inserted
            }
            Encoding::Table(t) => t.insert(field, value),
        }
    }

    /// Remove `field`; returns whether it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.enc {
            Encoding::Listpack(lp) => lp.remove(field),
            Encoding::Table(t) => match t.dict.remove(field) {
                Some((_, v)) => {
                    t.value_heap_bytes -= v.heap_size();
                    true
                }
                None => false,
            },
        }
    }

    /// Every (field, value): insertion order for a listpack, table order
    /// for a hashtable.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        let (lp, table) = match &self.enc {
            Encoding::Listpack(lp) => (Some(lp.iter()), None),
            Encoding::Table(t) => (None, Some(t.dict.iter())),
        };
        lp.into_iter().flatten().chain(
            table
                .into_iter()
                .flatten()
                .map(|(f, v)| (f.as_bytes(), v.as_bytes())),
        )
    }

    /// One HSCAN call from `cursor`: reports pairs to `f` and returns the
    /// next cursor (0 when done). A listpack is reported whole with cursor
    /// 0 whatever the cursor, as Redis does. A hashtable reports buckets
    /// until at least `count` pairs were seen or `bucket_visits_max` buckets
    /// were visited (a sparse table after mass deletes must not make one
    /// call walk it all), with the dict's no-missed-field guarantee.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        bucket_visits_max: usize,
        mut f: impl FnMut(&[u8], &[u8]),
    ) -> u64 {
        match &self.enc {
            Encoding::Listpack(lp) => {
                for (k, v) in lp.iter() {
                    f(k, v);
                }
                0
            }
            Encoding::Table(t) => {
                let mut cursor = cursor;
                let mut seen = 0usize;
                for _ in 0..bucket_visits_max.max(1) {
                    cursor = t.dict.scan(cursor, |k, v| {
                        seen += 1;
                        f(k.as_bytes(), v.as_bytes());
                    });
                    if cursor == 0 || seen >= count {
                        break;
                    }
                }
                cursor
            }
        }
    }

    /// `count` random pairs, repeats allowed (HRANDFIELD with a negative
    /// count), reported to `f` in the order drawn. The caller bounds
    /// `count` (it sizes the reply, not an allocation here).
    pub fn random_pairs_with_repeats(
        &self,
        rng: &mut u64,
        count: u64,
        mut f: impl FnMut(&[u8], &[u8]),
    ) {
        if self.is_empty() {
            return;
        }
        match &self.enc {
            Encoding::Listpack(lp) => {
                // Index the pairs once (at most the hash's size), so each
                // draw is O(1) instead of a scan of the buffer.
                let pairs: Vec<(&[u8], &[u8])> = lp.iter().collect();
                for _ in 0..count {
                    let (k, v) = pairs[random_below(rng, pairs.len())];
                    f(k, v);
                }
            }
            Encoding::Table(t) => {
                for _ in 0..count {
                    if let Some((k, v)) = t.dict.random_entry(rng) {
                        f(k.as_bytes(), v.as_bytes());
                    }
                }
            }
        }
    }

    /// `count` distinct random pairs, `count` below the hash's size
    /// (HRANDFIELD with a positive count; the caller answers a count of at
    /// least the size with the whole hash).
    ///
    /// Like Redis, two strategies: when the request is a good part of the
    /// hash (or the hash is a small listpack), index every pair and pick
    /// with a partial Fisher-Yates shuffle; otherwise draw random pairs
    /// from the table and skip repeats, which needs memory only for the
    /// `count` picks. Draws are bounded: after `DRAWS_PER_PICK_MAX` draws
    /// per pick the remaining picks are taken in table order, which a fair
    /// sampler practically never needs (each draw is new with p >= 2/3).
    pub fn random_distinct_pairs(
        &self,
        rng: &mut u64,
        count: usize,
        mut f: impl FnMut(&[u8], &[u8]),
    ) {
        /// The "hash is big next to the request" ratio (Redis's
        /// HRANDFIELD_SUB_STRATEGY_MUL).
        const SUB_STRATEGY_MUL: usize = 3;
        const DRAWS_PER_PICK_MAX: usize = 64;
        let len = self.len();
        let count = count.min(len);
        match &self.enc {
            Encoding::Table(t) if count.saturating_mul(SUB_STRATEGY_MUL) <= len => {
                let mut picked: HashSet<&[u8]> = HashSet::with_capacity(count);
                let draws_max = count.saturating_mul(DRAWS_PER_PICK_MAX);
                for _ in 0..draws_max {
                    if picked.len() == count {
                        return;
                    }
                    if let Some((k, v)) = t.dict.random_entry(rng) {
                        if picked.insert(k.as_bytes()) {
                            f(k.as_bytes(), v.as_bytes());
                        }
                    }
                }
                for (k, v) in t.dict.iter() {
                    if picked.len() == count {
                        return;
                    }
                    if picked.insert(k.as_bytes()) {
                        f(k.as_bytes(), v.as_bytes());
                    }
                }
            }
            _ => {
                let mut pairs: Vec<(&[u8], &[u8])> = self.iter().collect();
                for i in 0..count {
                    let j = i + random_below(rng, pairs.len() - i);
                    pairs.swap(i, j);
                    let (k, v) = pairs[i];
                    f(k, v);
                }
            }
        }
    }

    /// One random pair (HRANDFIELD without a count).
    pub fn random_pair(&self, rng: &mut u64) -> Option<(&[u8], &[u8])> {
        match &self.enc {
            Encoding::Listpack(lp) => {
                if lp.pairs == 0 {
                    return None;
                }
                lp.iter().nth(random_below(rng, lp.pairs))
            }
            Encoding::Table(t) => t
                .dict
                .random_entry(rng)
                .map(|(k, v)| (k.as_bytes(), v.as_bytes())),
        }
    }

    /// listpack -> hashtable (Redis's hashTypeConvertListpack). A no-op on
    /// a hashtable: conversion never goes back.
    fn convert_to_table(&mut self) {
        let Encoding::Listpack(lp) = &self.enc else {
            return;
        };
        let mut table = Table {
            dict: Dict::with_capacity(lp.pairs),
            value_heap_bytes: 0,
        };
        for (f, v) in lp.iter() {
            table.insert(f, v);
        }
        self.enc = Encoding::Table(Box::new(table));
    }
}

/// The hashtable encoding.
#[derive(Debug)]
struct Table {
    dict: Dict<CompactBytes>,
    /// Sum of the values' heap bytes, so `heap_size` is O(1) (the dict
    /// counts its keys' heap bytes itself).
    value_heap_bytes: usize,
}

impl Table {
    /// Insert or replace; true if the field is new.
    fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        let value = CompactBytes::new(value);
        self.value_heap_bytes += value.heap_size();
        match self.dict.get_mut(field) {
            Some(old) => {
                self.value_heap_bytes -= old.heap_size();
                *old = value;
                false
            }
            None => {
                self.dict.insert(CompactBytes::new(field), value);
                true
            }
        }
    }
}

/// The listpack encoding: `2 * pairs` entries, each a LEB128 length then
/// the bytes (see the module documentation).
#[derive(Debug, Clone, Default)]
struct Listpack {
    buf: Vec<u8>,
    pairs: usize,
}

/// Where one pair lies in a listpack buffer.
struct PairAt {
    /// Start of the field's entry (its length header).
    start: usize,
    /// Start of the value's entry (its length header).
    value_entry: usize,
    /// The value's bytes.
    value: std::ops::Range<usize>,
}

impl Listpack {
    fn iter(&self) -> ListpackIter<'_> {
        ListpackIter {
            buf: &self.buf,
            pos: 0,
        }
    }

    /// Linear search for `field`, comparing only fields (values are
    /// skipped by their length header, never compared).
    fn find(&self, field: &[u8]) -> Option<PairAt> {
        let mut pos = 0;
        while pos < self.buf.len() {
            let start = pos;
            let (f, value_entry) = read_entry(&self.buf, pos);
            let (v, next) = read_entry(&self.buf, value_entry);
            if f == field {
                let value_start = next - v.len();
                return Some(PairAt {
                    start,
                    value_entry,
                    value: value_start..next,
                });
            }
            pos = next;
        }
        None
    }

    /// Insert or replace; true if the field is new.
    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self.find(field) {
            Some(at) => {
                let mut entry = Vec::with_capacity(varint_len(value.len()) + value.len());
                write_entry(&mut entry, value);
                let old_len = at.value.end - at.value_entry;
                if entry.len() > old_len {
                    self.buf.reserve_exact(entry.len() - old_len);
                }
                self.buf.splice(at.value_entry..at.value.end, entry);
                self.shrink_if_slack();
                false
            }
            None => {
                self.buf.reserve_exact(
                    varint_len(field.len()) + field.len() + varint_len(value.len()) + value.len(),
                );
                write_entry(&mut self.buf, field);
                write_entry(&mut self.buf, value);
                self.pairs += 1;
                true
            }
        }
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let Some(at) = self.find(field) else {
            return false;
        };
        self.buf.drain(at.start..at.value.end);
        self.pairs -= 1;
        self.shrink_if_slack();
        true
    }

    /// Give memory back after the buffer got smaller, unless the slack is
    /// small (a shrink is a reallocation; a few bytes are not worth it).
    fn shrink_if_slack(&mut self) {
        const SLACK_BYTES_MAX: usize = 64;
        if self.buf.capacity() - self.buf.len() > SLACK_BYTES_MAX.max(self.buf.len() / 4) {
            self.buf.shrink_to_fit();
        }
    }
}

/// Pairs of a listpack buffer, in order.
struct ListpackIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for ListpackIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let (f, value_entry) = read_entry(self.buf, self.pos);
        let (v, next) = read_entry(self.buf, value_entry);
        self.pos = next;
        Some((f, v))
    }
}

/// Bytes of the LEB128 encoding of `n`.
fn varint_len(mut n: usize) -> usize {
    let mut bytes = 1;
    while n >= 0x80 {
        n >>= 7;
        bytes += 1;
    }
    bytes
}

/// Append one entry: LEB128 length, then the bytes.
fn write_entry(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut n = bytes.len();
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(bytes);
}

/// The entry at `pos` and the position after it. The buffer is only ever
/// written by `write_entry`, so it is well formed (see the invariants); a
/// broken buffer panics on the slice bounds rather than reading garbage.
fn read_entry(buf: &[u8], mut pos: usize) -> (&[u8], usize) {
    let mut len = 0usize;
    let mut shift = 0;
    loop {
        let b = buf[pos];
        pos += 1;
        len |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    (&buf[pos..pos + len], pos + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HashLimits = HashLimits {
        max_listpack_entries: 4,
        max_listpack_value: 8,
    };

    fn pairs(h: &HashValue) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut v: Vec<_> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        if !h.is_listpack() {
            v.sort();
        }
        v
    }

    #[test]
    fn listpack_keeps_insertion_order_and_replaces_in_place() {
        let mut h = HashValue::new();
        assert!(h.set(b"b", b"1", LIMITS));
        assert!(h.set(b"a", b"2", LIMITS));
        assert!(!h.set(b"b", b"333", LIMITS));
        assert_eq!(h.encoding_name(), "listpack");
        assert_eq!(h.len(), 2);
        assert_eq!(h.get(b"b"), Some(&b"333"[..]));
        assert_eq!(
            pairs(&h),
            vec![
                (b"b".to_vec(), b"333".to_vec()),
                (b"a".to_vec(), b"2".to_vec())
            ]
        );
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        assert_eq!(h.get(b"a"), Some(&b"2"[..]));
        assert!(h.remove(b"a"));
        assert!(h.is_empty());
    }

    #[test]
    fn converts_past_entry_count_one_way() {
        let mut h = HashValue::new();
        for i in 0..4u8 {
            h.set(&[b'f', i], b"v", LIMITS);
        }
        assert_eq!(h.encoding_name(), "listpack");
        h.set(b"f9", b"v", LIMITS);
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.len(), 5);
        for i in 0..4u8 {
            assert!(h.remove(&[b'f', i]));
        }
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.get(b"f9"), Some(&b"v"[..]));
    }

    #[test]
    fn converts_on_long_field_or_value_at_threshold_plus_one() {
        let mut h = HashValue::new();
        h.set(b"f", &[b'x'; 8], LIMITS);
        assert_eq!(h.encoding_name(), "listpack");
        h.set(b"f", &[b'x'; 9], LIMITS);
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.get(b"f").map(<[u8]>::len), Some(9));
        let mut h = HashValue::new();
        h.set(&[b'k'; 9], b"", LIMITS);
        assert_eq!(h.encoding_name(), "hashtable");
        let zero = HashLimits {
            max_listpack_entries: 0,
            max_listpack_value: 0,
        };
        let mut h = HashValue::new();
        h.set(b"", b"", zero);
        assert_eq!(h.encoding_name(), "hashtable");
    }

    #[test]
    fn long_entries_use_multibyte_lengths() {
        let big = HashLimits {
            max_listpack_entries: 128,
            max_listpack_value: 1 << 20,
        };
        let mut h = HashValue::new();
        let long = vec![b'z'; 300];
        h.set(b"a", &long, big);
        h.set(&long, b"b", big);
        h.set(b"a", b"short", big);
        assert_eq!(h.encoding_name(), "listpack");
        assert_eq!(h.get(b"a"), Some(&b"short"[..]));
        assert_eq!(h.get(&long), Some(&b"b"[..]));
        assert_eq!(varint_len(127), 1);
        assert_eq!(varint_len(128), 2);
        assert_eq!(varint_len(300), 2);
    }

    #[test]
    fn table_tracks_value_heap_bytes() {
        let mut h = HashValue::new();
        let long = vec![b'v'; 100];
        h.set(b"a", &long, LIMITS);
        let Encoding::Table(t) = &h.enc else {
            panic!("expected a table");
        };
        assert_eq!(t.value_heap_bytes, 100);
        h.set(b"a", b"x", LIMITS);
        h.set(b"b", &long, LIMITS);
        h.remove(b"b");
        let Encoding::Table(t) = &h.enc else {
            panic!("expected a table");
        };
        assert_eq!(t.value_heap_bytes, 0);
        assert!(h.heap_size() > 0);
    }

    #[test]
    fn clone_keeps_encoding_and_contents() {
        for n in [2u8, 10] {
            let mut h = HashValue::new();
            for i in 0..n {
                h.set(&[b'f', i], &[i], LIMITS);
            }
            let c = h.clone();
            assert_eq!(c.encoding_name(), h.encoding_name());
            assert_eq!(pairs(&c), pairs(&h));
        }
    }

    #[test]
    fn scan_reports_every_field() {
        let mut h = HashValue::new();
        for i in 0..200u32 {
            h.set(i.to_string().as_bytes(), b"v", LIMITS);
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        for _ in 0..10_000 {
            cursor = h.scan(cursor, 10, 100, |f, _| {
                seen.insert(f.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(cursor, 0);
        assert_eq!(seen.len(), 200);
        let mut small = HashValue::new();
        small.set(b"a", b"1", LIMITS);
        let mut n = 0;
        assert_eq!(small.scan(12345, 1, 1, |_, _| n += 1), 0);
        assert_eq!(n, 1);
    }

    #[test]
    fn random_sampling_properties() {
        let mut rng = 42u64;
        for n in [3u8, 50] {
            let mut h = HashValue::new();
            for i in 0..n {
                h.set(&[b'f', i], &[i], LIMITS);
            }
            for count in [1usize, 2, (n - 1) as usize] {
                let mut got = Vec::new();
                h.random_distinct_pairs(&mut rng, count, |f, v| {
                    assert_eq!(h.get(f), Some(v));
                    got.push(f.to_vec());
                });
                let distinct: HashSet<_> = got.iter().collect();
                assert_eq!(got.len(), count);
                assert_eq!(distinct.len(), count);
            }
            let mut seen = HashSet::new();
            h.random_pairs_with_repeats(&mut rng, 2000, |f, _| {
                seen.insert(f.to_vec());
            });
            assert_eq!(seen.len(), n as usize, "every field drawn at least once");
            let (f, v) = h.random_pair(&mut rng).expect("non-empty");
            assert_eq!(h.get(f), Some(v));
        }
        assert!(HashValue::new().random_pair(&mut rng).is_none());
    }
}
