//! `Dict<V>`: the keyspace hash table, keyed by [`CompactBytes`].
//!
//! Owns: the entries and their bucket arrays; the per-dict hash seed; the
//! incremental rehashing schedule; the SCAN cursor arithmetic; O(1) random
//! sampling for RANDOMKEY, eviction and active expiry.
//!
//! Design: power-of-two bucket arrays with separate chaining; an entry is
//! exactly `key + value + next` (no cached hash: on a 64-bit target an
//! `Entry<V>` with a 32-byte `V` is 24 + 32 + 8 = 64 bytes, one cache line).
//! Resizing never moves the whole table at once: a resize allocates the new
//! array and moves the old one's buckets over a little at a time. While that
//! rehash runs, `old` holds the array being drained and `table` the new one;
//! new entries only ever go into `table`, and lookups check both.
//!
//! Growth: an insert that finds `len >= buckets` (load factor 1) starts a
//! rehash to the next power of two above `len`. Shrink: `remove` (and the
//! public `maybe_shrink`) starts a rehash down to fit `len` once
//! `len < buckets / 8`, never below 4 buckets. Neither starts while a rehash
//! is in progress: until it finishes the new table may run above load factor
//! 1, which only lengthens chains, and a shrink that removes could not start
//! is started by the next `rehash_steps` (the server's timer) instead.
//!
//! Must never: move more than one non-empty bucket (after skipping at most
//! `MAX_EMPTY_VISITS` empty ones) per insert, remove or get_mut; lose a key
//! present for a whole SCAN; recurse over a chain (drop is iterative, so a
//! chain of any length cannot overflow the stack).
//!
//! Invariants:
//! - both arrays have zero or a power-of-two number of buckets (empty `table`
//!   means nothing was ever inserted since creation or `clear`);
//! - rehashing ⇔ `old` is non-empty, and then `table` is non-empty too;
//! - buckets of `old` below `rehash_idx` are empty, `rehash_idx <= old` size;
//! - every key is in exactly one chain, namely bucket `hash & mask` of the
//!   array it lives in; `len` and `key_heap_bytes` count what the chains hold.
//!
//! Hashing: a multiply-fold hash over 8-byte words, keyed by a seed that
//! every `Dict` draws from std's `RandomState` (OS randomness), so a peer
//! cannot precompute keys that collide. It is fast, not cryptographic.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::iter;
use std::mem;

use crate::types::compact::CompactBytes;

/// Smallest non-empty bucket array.
const MIN_BUCKETS: usize = 4;
/// Shrink once fewer than 1/SHRINK_RATIO of the buckets' worth of entries remain.
const SHRINK_RATIO: usize = 8;
/// Empty buckets one rehash step may skip before giving up for this call,
/// which bounds the step's work even over a sparse array.
const MAX_EMPTY_VISITS: usize = 10;
/// Random bucket probes before `random_entry` falls back to walking buckets.
/// At the lowest load a table keeps (1/8) a probe hits with p ≈ 0.12, so 100
/// misses in a row happen about once in 300 000 calls.
const RANDOM_PROBES: usize = 100;

type Link<V> = Option<Box<Entry<V>>>;

struct Entry<V> {
    key: CompactBytes,
    value: V,
    next: Link<V>,
}

/// One bucket array. An empty array allocates nothing.
struct Table<V> {
    slots: Box<[Link<V>]>,
}

/// The entries of one chain, head first.
fn chain<V>(link: &Link<V>) -> impl Iterator<Item = &Entry<V>> {
    iter::successors(link.as_deref(), |entry| entry.next.as_deref())
}

impl<V> Table<V> {
    fn empty() -> Self {
        Table {
            slots: Box::new([]),
        }
    }

    fn with_buckets(buckets: usize) -> Self {
        debug_assert!(buckets.is_power_of_two());
        Table {
            slots: iter::repeat_with(|| None).take(buckets).collect(),
        }
    }

    fn size(&self) -> usize {
        self.slots.len()
    }

    fn mask(&self) -> u64 {
        // An empty table gets an all-ones mask, which no index fits, so the
        // `get`s below return None instead of needing a special case.
        (self.slots.len() as u64).wrapping_sub(1)
    }

    fn index(&self, hash: u64) -> usize {
        (hash & self.mask()) as usize
    }

    fn slot(&self, hash: u64) -> Option<&Link<V>> {
        self.slots.get(self.index(hash))
    }

    fn find(&self, hash: u64, key: &[u8]) -> Option<&Entry<V>> {
        chain(self.slot(hash)?).find(|entry| entry.key.as_bytes() == key)
    }

    fn find_mut(&mut self, hash: u64, key: &[u8]) -> Option<&mut Entry<V>> {
        let index = self.index(hash);
        let mut cursor = self.slots.get_mut(index)?.as_deref_mut();
        while let Some(entry) = cursor {
            if entry.key.as_bytes() == key {
                return Some(entry);
            }
            cursor = entry.next.as_deref_mut();
        }
        None
    }

    /// Unlinks the entry for `key` from its chain.
    fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Box<Entry<V>>> {
        let index = self.index(hash);
        let mut link = self.slots.get_mut(index)?;
        while link
            .as_ref()
            .is_some_and(|entry| entry.key.as_bytes() != key)
        {
            link = &mut link.as_mut()?.next;
        }
        let mut removed = link.take()?;
        *link = removed.next.take();
        Some(removed)
    }

    /// Links `entry` at the head of its chain; the caller knows it is
    /// absent. The table must be non-empty: indexing panics rather than
    /// silently dropping the entry if that invariant is ever broken.
    fn push(&mut self, hash: u64, mut entry: Box<Entry<V>>) {
        let index = self.index(hash);
        let link = &mut self.slots[index];
        entry.next = link.take();
        *link = Some(entry);
    }
}

impl<V> Drop for Table<V> {
    // The default drop would recurse once per chain link.
    fn drop(&mut self) {
        for link in self.slots.iter_mut() {
            let mut next = link.take();
            while let Some(mut entry) = next {
                next = entry.next.take();
            }
        }
    }
}

/// The keyspace hash table (see the module documentation).
pub struct Dict<V> {
    /// Receives every insert; during a rehash, the array being filled.
    table: Table<V>,
    /// During a rehash, the array being drained; empty otherwise.
    old: Table<V>,
    /// Next bucket of `old` to move.
    rehash_idx: usize,
    len: usize,
    /// Sum of the keys' `heap_size()`, so `memory_usage` is O(1).
    key_heap_bytes: usize,
    seed: u64,
    #[cfg(test)]
    probe: tests::Probe,
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> Dict<V> {
    pub fn new() -> Self {
        // RandomState is keyed from OS randomness and differs per instance.
        Self::with_seed(RandomState::new().hash_one(0u64))
    }

    /// A dict that holds `capacity` entries without resizing. The hint is
    /// trusted: clamp it first if it comes from a peer or a file.
    pub fn with_capacity(capacity: usize) -> Self {
        let mut dict = Self::new();
        match capacity.checked_next_power_of_two() {
            Some(buckets) if capacity > 0 => {
                dict.table = Table::with_buckets(buckets.max(MIN_BUCKETS));
            }
            _ => {}
        }
        dict
    }

    fn with_seed(seed: u64) -> Self {
        Dict {
            table: Table::empty(),
            old: Table::empty(),
            rehash_idx: 0,
            len: 0,
            key_heap_bytes: 0,
            seed,
            #[cfg(test)]
            probe: tests::Probe::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drops every entry now (use `std::mem::take` to drop them elsewhere)
    /// and releases the bucket arrays.
    pub fn clear(&mut self) {
        self.table = Table::empty();
        self.old = Table::empty();
        self.rehash_idx = 0;
        self.len = 0;
        self.key_heap_bytes = 0;
    }

    pub fn is_rehashing(&self) -> bool {
        self.old.size() > 0
    }

    /// Bucket counts: (current table, table being drained — 0 unless
    /// rehashing). For DEBUG HTSTATS and INFO.
    pub fn buckets(&self) -> (usize, usize) {
        (self.table.size(), self.old.size())
    }

    /// Bytes of the bucket arrays, the entry allocations and the keys' heap
    /// buffers. Values' own heap data and allocator overhead are not counted.
    pub fn memory_usage(&self) -> usize {
        (self.table.size() + self.old.size()) * size_of::<Link<V>>()
            + self.len * size_of::<Entry<V>>()
            + self.key_heap_bytes
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.find(key).map(|entry| &entry.value)
    }

    pub fn get_key_value(&self, key: &[u8]) -> Option<(&CompactBytes, &V)> {
        self.find(key).map(|entry| (&entry.key, &entry.value))
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Also advances a rehash in progress by one step.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.rehash_on_access();
        let hash = self.hash(key);
        self.find_mut(hash, key).map(|entry| &mut entry.value)
    }

    /// Inserts or replaces. On replace the stored key is kept (the new one
    /// is dropped) and the old value returned. Advances a rehash by one step.
    pub fn insert(&mut self, key: CompactBytes, value: V) -> Option<V> {
        self.rehash_on_access();
        let hash = self.hash(&key);
        if let Some(entry) = self.find_mut(hash, &key) {
            return Some(mem::replace(&mut entry.value, value));
        }
        self.grow_if_needed();
        self.len += 1;
        self.key_heap_bytes += key.heap_size();
        let entry = Box::new(Entry {
            key,
            value,
            next: None,
        });
        self.table.push(hash, entry);
        None
    }

    /// Removes and returns the entry. Advances a rehash by one step and may
    /// start a shrink (see the module documentation).
    pub fn remove(&mut self, key: &[u8]) -> Option<(CompactBytes, V)> {
        self.rehash_on_access();
        let hash = self.hash(key);
        let entry = match self.old.remove(hash, key) {
            Some(entry) => entry,
            None => self.table.remove(hash, key)?,
        };
        self.len -= 1;
        self.key_heap_bytes -= entry.key.heap_size();
        self.maybe_shrink();
        let Entry { key, value, .. } = *entry;
        Some((key, value))
    }

    /// Starts a shrink if fewer than buckets/8 entries remain and no rehash
    /// is running. Returns whether it started one. `remove` calls it already.
    pub fn maybe_shrink(&mut self) -> bool {
        let buckets = self.table.size();
        if self.is_rehashing() || buckets <= MIN_BUCKETS || self.len >= buckets / SHRINK_RATIO {
            return false;
        }
        self.start_rehash(buckets_for(self.len));
        true
    }

    /// Background resize work, for a timer: up to `steps` rehash steps,
    /// then any shrink that removes had to leave pending (see
    /// `maybe_shrink`). Returns whether rehash work remains.
    pub fn rehash_steps(&mut self, steps: usize) -> bool {
        for _ in 0..steps {
            if !self.is_rehashing() {
                break;
            }
            self.rehash_step();
        }
        self.maybe_shrink();
        self.is_rehashing()
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&CompactBytes, &V)> + '_ {
        self.old
            .slots
            .iter()
            .chain(self.table.slots.iter())
            .flat_map(chain)
            .map(|entry| (&entry.key, &entry.value))
    }

    /// Removes every entry, yielding them by value. The dict is empty (and
    /// usable) as soon as this returns; entries the iterator does not yield
    /// are dropped with it.
    pub fn drain(&mut self) -> Drain<V> {
        let drain = Drain {
            tables: [
                mem::replace(&mut self.old, Table::empty()),
                mem::replace(&mut self.table, Table::empty()),
            ],
            table_idx: 0,
            slot_idx: 0,
            remaining: self.len,
        };
        self.clear();
        drain
    }

    /// One SCAN call: reports every entry of one bucket and returns the next
    /// cursor (0 when the scan is complete). Start with cursor 0.
    ///
    /// The cursor counts with its bits reversed (most significant bucket bit
    /// first), so the buckets a bucket splits into, or merges from, on a
    /// resize are all visited either before or after it, never half and
    /// half. That makes every key present for the whole scan reported at
    /// least once however the table resizes between calls; keys may be
    /// reported more than once. While rehashing, one call covers a bucket of
    /// the smaller array and all the buckets it expands to in the larger.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&CompactBytes, &V)) -> u64 {
        let mut visit = |table: &Table<V>, cursor: u64| {
            for entry in table.slot(cursor).into_iter().flat_map(chain) {
                f(&entry.key, &entry.value);
            }
        };
        if self.table.size() == 0 {
            return 0;
        }
        if !self.is_rehashing() {
            visit(&self.table, cursor);
            return next_cursor(cursor, self.table.mask());
        }
        let (small, large) = if self.old.size() < self.table.size() {
            (&self.old, &self.table)
        } else {
            (&self.table, &self.old)
        };
        let expansion_bits = small.mask() ^ large.mask();
        visit(small, cursor);
        let mut cursor = cursor;
        loop {
            visit(large, cursor);
            cursor = next_cursor(cursor, large.mask());
            // Once the expansion bits wrap to zero the carry has moved on to
            // the next bucket of the small table.
            if cursor & expansion_bits == 0 {
                return cursor;
            }
        }
    }

    /// A random entry in O(1) expected time: a uniformly random non-empty
    /// bucket, then a uniformly random entry of its chain. Keys sharing a
    /// bucket are therefore individually a little less likely, as in Redis.
    pub fn random_entry(&self, rng: &mut u64) -> Option<(&CompactBytes, &V)> {
        if self.len == 0 {
            return None;
        }
        // The buckets that can hold entries: the undrained part of `old`,
        // then all of `table`.
        let undrained = &self.old.slots[self.rehash_idx..];
        let candidates = undrained.len() + self.table.size();
        let bucket = |i: usize| match undrained.get(i) {
            Some(link) => link,
            None => &self.table.slots[i - undrained.len()],
        };
        let mut found = None;
        for _ in 0..RANDOM_PROBES {
            let link = bucket(random_below(rng, candidates));
            if link.is_some() {
                found = Some(link);
                break;
            }
        }
        let link = match found {
            Some(link) => link,
            None => {
                // Unlucky streak: walk from a random bucket. len > 0
                // guarantees a non-empty one exists.
                let start = random_below(rng, candidates);
                (0..candidates)
                    .map(|i| bucket((start + i) % candidates))
                    .find(|link| link.is_some())?
            }
        };
        let pick = random_below(rng, chain(link).count());
        chain(link)
            .nth(pick)
            .map(|entry| (&entry.key, &entry.value))
    }

    /// Step one of a prefetch (see `Keyspace::prefetch_pipeline`): start
    /// loading the bucket slot where `key` would live, without waiting for
    /// it, and return the key's hash for the next steps. Prefetches are
    /// hints: they change nothing, and a wrong guess costs a cache line.
    pub fn prefetch_slot(&self, key: &[u8]) -> u64 {
        let hash = self.hash(key);
        for table in [&self.table, &self.old] {
            if let Some(slot) = table.slot(hash) {
                prefetch_read(slot as *const Link<V>);
            }
        }
        hash
    }

    /// Step two: read the bucket slot (by now on its way to the cache) and
    /// start loading the chain's head entry, every line of it.
    pub fn prefetch_head(&self, hash: u64) {
        for table in [&self.table, &self.old] {
            if let Some(head) = table.slot(hash).and_then(|slot| slot.as_deref()) {
                prefetch_lines(head);
            }
        }
    }

    /// Step three: with the head loaded, if it is not `key`, start loading
    /// the chain's second entry (a chain holds one or two keys nearly
    /// always at load factor <= 1; deeper entries are left to the lookup).
    pub fn prefetch_second(&self, hash: u64, key: &[u8]) {
        for table in [&self.table, &self.old] {
            if let Some(head) = table.slot(hash).and_then(|slot| slot.as_deref()) {
                if let Some(next) = head.next.as_deref().filter(|_| head.key.as_bytes() != key) {
                    prefetch_lines(next);
                }
            }
        }
    }

    fn hash(&self, key: &[u8]) -> u64 {
        #[cfg(test)]
        if self.probe.constant_hash {
            return 0;
        }
        hash_bytes(self.seed, key)
    }

    fn find(&self, key: &[u8]) -> Option<&Entry<V>> {
        let hash = self.hash(key);
        self.old
            .find(hash, key)
            .or_else(|| self.table.find(hash, key))
    }

    fn find_mut(&mut self, hash: u64, key: &[u8]) -> Option<&mut Entry<V>> {
        self.old
            .find_mut(hash, key)
            .or_else(|| self.table.find_mut(hash, key))
    }

    fn grow_if_needed(&mut self) {
        if self.table.size() == 0 {
            self.table = Table::with_buckets(MIN_BUCKETS);
        } else if !self.is_rehashing() && self.len >= self.table.size() {
            self.start_rehash(buckets_for(self.len));
        }
    }

    fn start_rehash(&mut self, buckets: usize) {
        let new_table = Table::with_buckets(buckets);
        if self.len == 0 {
            self.table = new_table;
            return;
        }
        self.old = mem::replace(&mut self.table, new_table);
        self.rehash_idx = 0;
    }

    fn rehash_on_access(&mut self) {
        if self.is_rehashing() {
            self.rehash_step();
        }
    }

    /// Moves the next non-empty bucket of `old` into `table`, giving up
    /// after `MAX_EMPTY_VISITS` empty ones, and ends the rehash when `old`
    /// is drained.
    fn rehash_step(&mut self) {
        #[cfg(test)]
        self.probe.start_step();
        let mut empty_visits = 0;
        while let Some(link) = self.old.slots.get_mut(self.rehash_idx) {
            let mut next = link.take();
            self.rehash_idx += 1;
            if next.is_none() {
                #[cfg(test)]
                self.probe.visited_empty();
                empty_visits += 1;
                if empty_visits == MAX_EMPTY_VISITS {
                    break;
                }
                continue;
            }
            while let Some(mut entry) = next {
                next = entry.next.take();
                let hash = self.hash(&entry.key);
                self.table.push(hash, entry);
                #[cfg(test)]
                self.probe.moved_entry();
            }
            break;
        }
        if self.rehash_idx >= self.old.size() {
            self.old = Table::empty();
            self.rehash_idx = 0;
        }
    }
}

impl<V: fmt::Debug> fmt::Debug for Dict<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Entries removed by [`Dict::drain`], yielded by value.
pub struct Drain<V> {
    tables: [Table<V>; 2],
    table_idx: usize,
    slot_idx: usize,
    remaining: usize,
}

impl<V> Iterator for Drain<V> {
    type Item = (CompactBytes, V);

    fn next(&mut self) -> Option<Self::Item> {
        while let Some(table) = self.tables.get_mut(self.table_idx) {
            let Some(link) = table.slots.get_mut(self.slot_idx) else {
                self.table_idx += 1;
                self.slot_idx = 0;
                continue;
            };
            if let Some(mut entry) = link.take() {
                *link = entry.next.take();
                self.remaining -= 1;
                let Entry { key, value, .. } = *entry;
                return Some((key, value));
            }
            self.slot_idx += 1;
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<V> ExactSizeIterator for Drain<V> {}

/// Bucket count for `len` entries at load factor at most 1 (strictly below
/// 1 for a fresh table, so growth is not immediately due again).
fn buckets_for(len: usize) -> usize {
    (len + 1).next_power_of_two().max(MIN_BUCKETS)
}

/// Increments the `mask` bits of `cursor` as a number read backwards.
fn next_cursor(cursor: u64, mask: u64) -> u64 {
    // Setting the bits above the mask makes the carry run through them and
    // land on the highest mask bit; it clears them on the way.
    (cursor | !mask)
        .reverse_bits()
        .wrapping_add(1)
        .reverse_bits()
}

/// SplitMix64: a small, fast, well-mixed generator; any state (even 0) is
/// fine. Not for anything a peer must not predict.
pub fn rng_next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform integer in `0..n` (n > 0), by scaling rather than `%` so that
/// all of the random bits count.
pub fn random_below(rng: &mut u64, n: usize) -> usize {
    ((u128::from(rng_next(rng)) * n as u128) >> 64) as usize
}

/// Multiplies to 128 bits and folds the halves together: every input bit
/// reaches every output bit, including the low ones the bucket mask keeps.
fn fold_mul(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// Bytes per cache line on the targets we build for.
const CACHE_LINE: usize = 64;

/// Ask the CPU to start loading the cache line holding `p`. A prefetch
/// never faults, whatever the address, and changes no program state: it
/// only lets several independent cache misses overlap instead of each
/// stalling in turn (see `Keyspace::prefetch_pipeline`).
#[inline(always)]
fn prefetch_read<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint; it reads no memory architecturally and
    // cannot fault, so any pointer value is acceptable.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Prefetch every cache line `value` spans.
#[inline(always)]
fn prefetch_lines<T>(value: &T) {
    let start = value as *const T as usize;
    let last = start + size_of::<T>() - 1;
    for line in (start & !(CACHE_LINE - 1)..=last).step_by(CACHE_LINE) {
        prefetch_read(line as *const u8);
    }
}

/// The keyed hash of `bytes` (also used by the hot-key sketch).
pub fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    // Odd constants with well-spread bits (from the golden ratio and π).
    const K1: u64 = 0x9E37_79B9_7F4A_7C15;
    const K2: u64 = 0x243F_6A88_85A3_08D3;
    // Mixing in the length keeps "a" and "a\0" (same padded word) apart.
    let mut h = seed ^ (bytes.len() as u64).wrapping_mul(K1);
    // Whole words are loaded directly and the tail is assembled byte by
    // byte (zero padded): a variable-length copy into a padded word would
    // be a memcpy call per word, on every key lookup.
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = fold_mul(h ^ u64::from_le_bytes(word), K1);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        let word = tail
            .iter()
            .rev()
            .fold(0u64, |w, &b| (w << 8) | u64::from(b));
        h = fold_mul(h ^ word, K1);
    }
    fold_mul(h, K2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time hash equals the zero-padded chunk definition
    /// (the tail handling must not change any value).
    #[test]
    fn hash_bytes_matches_padded_chunks() {
        fn reference(seed: u64, bytes: &[u8]) -> u64 {
            let mut h = seed ^ (bytes.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            for chunk in bytes.chunks(8) {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                h = fold_mul(h ^ u64::from_le_bytes(word), 0x9E37_79B9_7F4A_7C15);
            }
            fold_mul(h, 0x243F_6A88_85A3_08D3)
        }
        let data: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37) ^ 0xA5).collect();
        for len in 0..=data.len() {
            assert_eq!(
                hash_bytes(7, &data[..len]),
                reference(7, &data[..len]),
                "len {len}"
            );
        }
    }
    use std::collections::HashSet;

    /// Test-only instrumentation carried by every `Dict` in test builds.
    #[derive(Default)]
    pub(super) struct Probe {
        /// Make every key hash to 0, to build chains of any length.
        pub constant_hash: bool,
        /// Rehash steps taken so far.
        pub steps: usize,
        /// Work done by the current step.
        empty_visits: usize,
        entries_moved: usize,
        /// The most work any single step did.
        pub max_empty_visits: usize,
        pub max_entries_moved: usize,
    }

    impl Probe {
        pub fn start_step(&mut self) {
            self.steps += 1;
            self.empty_visits = 0;
            self.entries_moved = 0;
        }

        pub fn visited_empty(&mut self) {
            self.empty_visits += 1;
            self.max_empty_visits = self.max_empty_visits.max(self.empty_visits);
        }

        pub fn moved_entry(&mut self) {
            self.entries_moved += 1;
            self.max_entries_moved = self.max_entries_moved.max(self.entries_moved);
        }
    }

    fn key(i: u64) -> CompactBytes {
        CompactBytes::from(format!("key:{i}").as_str())
    }

    fn seeded<V>() -> Dict<V> {
        Dict::with_seed(0x0123_4567_89AB_CDEF)
    }

    fn colliding<V>() -> Dict<V> {
        let mut dict = seeded();
        dict.probe.constant_hash = true;
        dict
    }

    /// Prefetching is a hint on every shape of dict: empty, chained,
    /// mid-rehash, present or absent key. It must not panic or change
    /// anything a lookup sees.
    #[test]
    fn prefetch_steps_change_nothing() {
        let mut dicts: Vec<Dict<u64>> = vec![seeded(), colliding()];
        for dict in &mut dicts {
            for round in 0..3u64 {
                for k in ["key:1", "key:2", "absent", ""] {
                    let hash = dict.prefetch_slot(k.as_bytes());
                    dict.prefetch_head(hash);
                    dict.prefetch_second(hash, k.as_bytes());
                }
                for i in 0..40 * round {
                    dict.insert(key(i), i);
                }
            }
            check_invariants(dict);
            assert_eq!(dict.get(b"key:1"), Some(&1));
            assert_eq!(dict.get(b"absent"), None);
        }
        // Mid-rehash: both arrays are probed.
        let mut dict: Dict<u64> = seeded();
        let mut n = 0;
        while !dict.is_rehashing() && n < 1000 {
            dict.insert(key(n), n);
            n += 1;
        }
        assert!(dict.is_rehashing());
        for i in 0..n + 5 {
            let k = key(i);
            let hash = dict.prefetch_slot(&k);
            dict.prefetch_head(hash);
            dict.prefetch_second(hash, &k);
        }
        check_invariants(&dict);
        assert_eq!(dict.len() as u64, n);
    }

    /// Checks the structural invariants listed in the module documentation.
    fn check_invariants<V>(dict: &Dict<V>) {
        for table in [&dict.table, &dict.old] {
            assert!(table.size() == 0 || table.size().is_power_of_two());
        }
        if dict.is_rehashing() {
            assert!(dict.table.size() > 0);
            assert!(dict.rehash_idx <= dict.old.size());
            assert!(dict.old.slots[..dict.rehash_idx]
                .iter()
                .all(Option::is_none));
        } else {
            assert_eq!(dict.rehash_idx, 0);
        }
        let mut count = 0;
        let mut key_heap = 0;
        for table in [&dict.table, &dict.old] {
            for (i, link) in table.slots.iter().enumerate() {
                for entry in chain(link) {
                    assert_eq!(dict.hash(&entry.key) & table.mask(), i as u64);
                    count += 1;
                    key_heap += entry.key.heap_size();
                }
            }
        }
        assert_eq!(count, dict.len());
        assert_eq!(key_heap, dict.key_heap_bytes);
    }

    /// A full scan from cursor 0 to 0, running `between` after every call.
    fn full_scan<V>(
        dict: &mut Dict<V>,
        mut between: impl FnMut(&mut Dict<V>),
    ) -> Vec<CompactBytes> {
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = dict.scan(cursor, |k, _| seen.push(k.clone()));
            if cursor == 0 {
                return seen;
            }
            between(dict);
        }
    }

    #[test]
    fn entry_is_key_value_next_only() {
        assert_eq!(size_of::<Entry<[u64; 4]>>(), 64);
        assert_eq!(size_of::<Link<[u64; 4]>>(), 8);
    }

    #[test]
    fn insert_get_replace_remove() {
        let mut dict = seeded();
        assert!(dict.is_empty());
        assert_eq!(dict.get(b"a"), None);
        assert_eq!(dict.remove(b"a"), None);
        assert_eq!(dict.insert("a".into(), 1), None);
        assert_eq!(dict.insert("b".into(), 2), None);
        assert_eq!(dict.insert("a".into(), 3), Some(1));
        assert_eq!(dict.len(), 2);
        assert_eq!(dict.get(b"a"), Some(&3));
        assert!(dict.contains_key(b"b"));
        assert!(!dict.contains_key(b"c"));
        *dict.get_mut(b"b").expect("present") += 10;
        assert_eq!(dict.get_key_value(b"b"), Some((&"b".into(), &12)));
        assert_eq!(dict.remove(b"a"), Some(("a".into(), 3)));
        assert_eq!(dict.remove(b"a"), None);
        assert_eq!(dict.len(), 1);
        assert_eq!(dict.get_mut(b"zz"), None);
        check_invariants(&dict);
    }

    #[test]
    fn replace_keeps_the_stored_key() {
        let mut dict = seeded();
        let long = "a key long enough to live on the heap";
        let first = CompactBytes::from(long);
        let first_ptr = first.as_bytes().as_ptr();
        dict.insert(first, 1);
        assert_eq!(dict.insert(CompactBytes::from(long), 2), Some(1));
        let (stored, value) = dict.get_key_value(long.as_bytes()).expect("present");
        assert_eq!(stored.as_bytes().as_ptr(), first_ptr);
        assert_eq!(*value, 2);
        assert_eq!(
            dict.memory_usage(),
            4 * 8 + size_of::<Entry<i32>>() + long.len()
        );
    }

    #[test]
    fn grows_at_load_factor_one_and_shrinks_below_one_eighth() {
        let mut dict = seeded();
        assert_eq!(dict.buckets(), (0, 0));
        for i in 0..4 {
            dict.insert(key(i), ());
        }
        assert_eq!(dict.buckets(), (4, 0));
        dict.insert(key(4), ());
        assert_eq!(dict.buckets(), (8, 4));
        while dict.rehash_steps(1) {}
        for i in 5..1000 {
            dict.insert(key(i), ());
            check_invariants(&dict);
            let (size, _) = dict.buckets();
            assert!(dict.is_rehashing() || dict.len() <= size);
        }
        while dict.rehash_steps(1) {}
        assert_eq!(dict.buckets(), (1024, 0));
        // 1024 / 8 = 128: removing down to 128 keys shrinks nothing yet.
        for i in 128..1000 {
            dict.remove(&key(i));
        }
        assert_eq!(dict.buckets(), (1024, 0));
        dict.remove(&key(127));
        assert_eq!(dict.buckets(), (128, 1024));
        check_invariants(&dict);
        while dict.rehash_steps(1) {}
        for i in 0..127 {
            dict.remove(&key(i));
            check_invariants(&dict);
        }
        while dict.rehash_steps(1) {}
        assert!(dict.is_empty());
        assert_eq!(dict.buckets(), (MIN_BUCKETS, 0));
        assert!(!dict.maybe_shrink());
    }

    #[test]
    fn maybe_shrink_starts_at_most_one_resize() {
        // An oversized table, as `with_capacity` leaves it: inserts never
        // shrink, the explicit call does.
        let mut dict = Dict::with_capacity(1024);
        dict.insert(key(1), 1);
        assert_eq!(dict.buckets(), (1024, 0));
        assert!(dict.maybe_shrink());
        assert_eq!(dict.buckets(), (MIN_BUCKETS, 1024));
        assert!(!dict.maybe_shrink(), "no second resize during a rehash");
        while dict.rehash_steps(1) {}
        assert_eq!(dict.buckets(), (MIN_BUCKETS, 0));
        assert_eq!(dict.get(&key(1)), Some(&1));
        assert!(!dict.maybe_shrink());
    }

    #[test]
    fn with_capacity_avoids_resizing() {
        let mut dict = Dict::with_capacity(1000);
        assert_eq!(dict.buckets(), (1024, 0));
        for i in 0..1000 {
            dict.insert(key(i), i);
        }
        assert_eq!(dict.buckets(), (1024, 0));
        assert_eq!(Dict::<()>::with_capacity(0).buckets(), (0, 0));
        assert_eq!(Dict::<()>::with_capacity(1).buckets(), (4, 0));
    }

    #[test]
    fn rehash_is_incremental_and_bounded_per_operation() {
        let n: u64 = if cfg!(debug_assertions) {
            200_000
        } else {
            1_000_000
        };
        let mut dict = seeded();
        let mut ops_while_rehashing = 0;
        let mut longest_rehash = 0;
        for i in 0..n {
            let steps_before = dict.probe.steps;
            let was_rehashing = dict.is_rehashing();
            dict.insert(key(i), i);
            // At most one step per insert, and only if a rehash was running.
            assert!(dict.probe.steps - steps_before <= usize::from(was_rehashing));
            if dict.is_rehashing() {
                ops_while_rehashing += 1;
                longest_rehash = longest_rehash.max(ops_while_rehashing);
            } else {
                ops_while_rehashing = 0;
            }
        }
        // The growth into the final table moved half its size in buckets
        // at <= 10 per step, so it spanned thousands of inserts (unless it
        // is still running, which proves the same).
        let (size, _) = dict.buckets();
        assert!(dict.is_rehashing() || longest_rehash >= size / 2 / MAX_EMPTY_VISITS);
        // A step skips at most 10 empty buckets and moves one chain, whose
        // length at load factor <= 1 stays small: nothing like the whole
        // table. (Fixed hash seed, so this is deterministic.)
        assert!(dict.probe.max_empty_visits <= MAX_EMPTY_VISITS);
        let max_moved = dict.probe.max_entries_moved;
        assert!((1..=16).contains(&max_moved), "{max_moved}");

        // The same bounds hold for get_mut and remove, through shrinks.
        dict.probe = Probe::default();
        for i in (0..n).filter(|i| i % 16 != 0) {
            let steps_before = dict.probe.steps;
            dict.get_mut(&key(i));
            dict.remove(&key(i));
            assert!(dict.probe.steps - steps_before <= 2);
        }
        assert!(dict.buckets().0 < size, "shrank");
        assert!(dict.probe.max_empty_visits <= MAX_EMPTY_VISITS);
        assert!(dict.probe.max_entries_moved <= 16);
        while dict.rehash_steps(100) {}
        for i in 0..n {
            assert_eq!(dict.get(&key(i)).is_some(), i % 16 == 0);
        }
        // Dropping a large dict must not overflow the stack.
        drop(dict);
    }

    #[test]
    fn lookups_and_updates_during_rehash_see_both_tables() {
        let mut dict = seeded();
        for i in 0..1024 {
            dict.insert(key(i), i);
        }
        while dict.rehash_steps(1) {}
        dict.insert(key(1024), 1024); // starts 1024 -> 2048
        assert!(dict.is_rehashing());
        let mut step = 0;
        while dict.is_rehashing() {
            for i in (0..=1024).step_by(37) {
                assert_eq!(dict.get(&key(i)), Some(&i), "step {step}");
            }
            let probe = 2000 + step;
            assert_eq!(dict.insert(key(probe), probe), None);
            assert_eq!(dict.insert(key(probe), probe + 1), Some(probe));
            assert_eq!(dict.remove(&key(probe)), Some((key(probe), probe + 1)));
            check_invariants(&dict);
            step += 1;
        }
        assert!(step > 10, "rehash finished in {step} operations");
        assert_eq!(dict.len(), 1025);
        for i in 0..=1024 {
            assert_eq!(dict.get(&key(i)), Some(&i));
        }
    }

    #[test]
    fn rehash_steps_reports_remaining_work() {
        let mut dict = seeded();
        assert!(!dict.rehash_steps(10));
        for i in 0..=64 {
            dict.insert(key(i), ());
        }
        assert!(dict.is_rehashing());
        assert!(dict.rehash_steps(1));
        assert!(!dict.rehash_steps(1000));
        assert!(!dict.is_rehashing());
        assert_eq!(dict.buckets(), (128, 0));
        check_invariants(&dict);
    }

    #[test]
    fn scan_without_resizes_reports_each_key_once() {
        let mut dict = seeded();
        for i in 0..1000 {
            dict.insert(key(i), ());
        }
        while dict.rehash_steps(1) {}
        let mut seen = full_scan(&mut dict, |_| {});
        seen.sort();
        let mut expected: Vec<_> = (0..1000).map(key).collect();
        expected.sort();
        assert_eq!(seen, expected);
        assert_eq!(Dict::<()>::new().scan(0, |_, _| panic!("empty")), 0);
    }

    /// Scans while `mutate` runs between calls; asserts that every key in
    /// `stable` (which `mutate` must not delete) was reported.
    fn assert_scan_covers(
        dict: &mut Dict<u64>,
        stable: &[u64],
        mutate: impl FnMut(&mut Dict<u64>),
    ) {
        let seen: HashSet<CompactBytes> = full_scan(dict, mutate).into_iter().collect();
        for &i in stable {
            assert!(seen.contains(&key(i)), "stable key {i} missed");
            assert!(dict.contains_key(&key(i)));
        }
    }

    #[test]
    fn scan_survives_growth() {
        for seed in 0..8u64 {
            let mut dict = seeded();
            let stable: Vec<u64> = (0..100).collect();
            for &i in &stable {
                dict.insert(key(i), i);
            }
            let mut rng = seed;
            let mut next_key = 1_000_000;
            let mut resizes = 0;
            assert_scan_covers(&mut dict, &stable, |dict| {
                let before = dict.buckets();
                // Growing without end would outrun the scan forever.
                if next_key >= 1_008_000 {
                    return;
                }
                for _ in 0..random_below(&mut rng, 60) {
                    dict.insert(key(next_key), next_key);
                    next_key += 1;
                }
                if random_below(&mut rng, 4) == 0 {
                    dict.rehash_steps(random_below(&mut rng, 4));
                }
                resizes += usize::from(dict.buckets() != before);
            });
            assert!(dict.len() > 1000, "grew to {}", dict.len());
            assert!(resizes > 3);
        }
    }

    #[test]
    fn scan_survives_shrinking() {
        for seed in 0..8u64 {
            let mut dict = seeded();
            let stable: Vec<u64> = (0..40).collect();
            let transient: Vec<u64> = (1000..9000).collect();
            for &i in stable.iter().chain(&transient) {
                dict.insert(key(i), i);
            }
            while dict.rehash_steps(1) {}
            let mut rng = seed;
            let mut doomed = transient.clone();
            let mut shrinks = 0;
            assert_scan_covers(&mut dict, &stable, |dict| {
                let (before, _) = dict.buckets();
                for _ in 0..random_below(&mut rng, 400) {
                    let Some(i) = doomed.pop() else { break };
                    dict.remove(&key(i));
                }
                dict.maybe_shrink();
                if random_below(&mut rng, 2) == 0 {
                    dict.rehash_steps(random_below(&mut rng, 3));
                }
                shrinks += usize::from(dict.buckets().0 < before);
            });
            assert!(shrinks >= 2, "only {shrinks} shrinks");
        }
    }

    #[test]
    fn scan_survives_random_mixed_operations() {
        for seed in 0..20u64 {
            let mut rng = seed.wrapping_mul(0x9E37_79B9);
            let mut dict = seeded();
            let stable: Vec<u64> = (0..64).collect();
            for &i in &stable {
                dict.insert(key(i), i);
            }
            let mut live: Vec<u64> = Vec::new();
            let mut next_key = 10_000;
            assert_scan_covers(&mut dict, &stable, |dict| {
                for _ in 0..random_below(&mut rng, 50) {
                    // Grow in bursts, then collapse, to resize both ways.
                    let grow = (next_key / 500) % 2 == 0;
                    if grow || live.is_empty() {
                        dict.insert(key(next_key), next_key);
                        live.push(next_key);
                    } else {
                        let at = random_below(&mut rng, live.len());
                        dict.remove(&key(live.swap_remove(at)));
                    }
                    next_key += 1;
                }
                dict.rehash_steps(random_below(&mut rng, 3));
            });
            check_invariants(&dict);
        }
    }

    #[test]
    fn scan_cursor_order_is_reverse_binary() {
        let order: Vec<u64> = iter::successors(Some(0), |&c| Some(next_cursor(c, 7)))
            .skip(1)
            .take_while(|&c| c != 0)
            .collect();
        assert_eq!(order, [4, 2, 6, 1, 5, 3, 7]);
        // Bits above the mask are cleared by the carry.
        assert_eq!(next_cursor(0b1_0000_0100, 7), 2);
    }

    #[test]
    fn random_entry_is_roughly_uniform() {
        let mut dict = seeded();
        for i in 0..1000 {
            dict.insert(key(i), i);
        }
        while dict.rehash_steps(1) {}
        let mut rng = 42;
        let mut hits = vec![0u32; 1000];
        for _ in 0..100_000 {
            let (k, &v) = dict.random_entry(&mut rng).expect("non-empty");
            assert_eq!(*k, key(v));
            hits[v as usize] += 1;
        }
        let min = hits.iter().copied().min().unwrap_or(0);
        let max = hits.iter().copied().max().unwrap_or(0);
        // Mean is 100; bucket-then-chain sampling skews it, but only by the
        // chain length (fixed seed: deterministic).
        assert!(min > 0, "min {min}");
        assert!(max < 400, "max {max}");
        assert_eq!(Dict::<()>::new().random_entry(&mut rng), None);
    }

    #[test]
    fn random_entry_reaches_both_tables_while_rehashing() {
        let mut dict = seeded();
        for i in 0..=512 {
            dict.insert(key(i), i);
        }
        assert!(dict.is_rehashing());
        let (in_old, in_new): (Vec<u64>, Vec<u64>) =
            (0..=512).partition(|&i| dict.old.find(dict.hash(&key(i)), &key(i)).is_some());
        assert!(!in_old.is_empty() && !in_new.is_empty());
        let mut rng = 7;
        let mut seen = HashSet::new();
        for _ in 0..50_000 {
            let (_, &v) = dict.random_entry(&mut rng).expect("non-empty");
            seen.insert(v);
        }
        assert_eq!(seen.len(), 513);
    }

    #[test]
    fn random_entry_on_a_nearly_empty_table() {
        let mut dict = seeded();
        dict.table = Table::with_buckets(1 << 16);
        dict.insert(key(5), 5);
        let mut rng = 1;
        for _ in 0..100 {
            assert_eq!(dict.random_entry(&mut rng), Some((&key(5), &5)));
        }
    }

    #[test]
    fn deep_collision_chains_stay_correct() {
        let mut dict = colliding();
        let n = 3000;
        for i in 0..n {
            assert_eq!(dict.insert(key(i), i), None);
        }
        // All keys share one bucket, through every growth.
        assert!(dict.table.slots[1..].iter().all(Option::is_none));
        for i in 0..n {
            assert_eq!(dict.get(&key(i)), Some(&i));
        }
        assert_eq!(dict.insert(key(1500), 0), Some(1500));
        for i in (0..n).filter(|i| i % 2 == 1) {
            assert_eq!(dict.remove(&key(i)).map(|(_, v)| v), Some(i));
        }
        while dict.rehash_steps(1) {}
        check_invariants(&dict);
        let mut seen = full_scan(&mut dict, |_| {});
        seen.sort();
        let mut expected: Vec<_> = (0..n).filter(|i| i % 2 == 0).map(key).collect();
        expected.sort();
        assert_eq!(seen, expected);
        let mut rng = 3;
        assert!(dict.random_entry(&mut rng).is_some());
        assert_eq!(dict.get(&key(1500)), Some(&0));
        assert_eq!(dict.get(&key(1501)), None);
    }

    #[test]
    fn dropping_a_million_entry_chain_does_not_overflow_the_stack() {
        // Built by hand: inserting this many colliding keys is quadratic.
        // A recursive drop would need far more than a test thread's stack.
        fn one_chain(n: u64) -> Table<u64> {
            let mut table = Table::with_buckets(MIN_BUCKETS);
            for value in 0..n {
                let key = CompactBytes::default();
                table.push(
                    0,
                    Box::new(Entry {
                        key,
                        value,
                        next: None,
                    }),
                );
            }
            table
        }
        drop(one_chain(1_000_000));
        // Dropping a part-consumed drain is just as flat.
        let mut dict = colliding();
        dict.table = one_chain(1_000_000);
        dict.len = 1_000_000;
        let mut drain = dict.drain();
        assert_eq!(drain.next().map(|(_, v)| v), Some(999_999));
        drop(drain);
    }

    #[test]
    fn memory_usage_counts_buckets_entries_and_key_heap() {
        let mut dict: Dict<[u64; 4]> = seeded();
        assert_eq!(dict.memory_usage(), 0);
        let long = CompactBytes::from(&[b'x'; 100][..]);
        dict.insert(long.clone(), [0; 4]);
        dict.insert("short".into(), [0; 4]);
        assert_eq!(dict.memory_usage(), 4 * 8 + 2 * 64 + 100);
        for i in 0..10 {
            dict.insert(key(i), [0; 4]); // starts a rehash 4 -> 8 -> 16
        }
        let (a, b) = dict.buckets();
        assert_eq!(dict.memory_usage(), (a + b) * 8 + 12 * 64 + 100);
        dict.remove(&long);
        assert_eq!(dict.key_heap_bytes, 0);
        dict.clear();
        assert_eq!(dict.memory_usage(), 0);
    }

    #[test]
    fn drain_and_take_hand_off_every_entry() {
        let mut dict = seeded();
        for i in 0..600 {
            dict.insert(key(i), i);
        }
        assert!(dict.is_rehashing());
        let drain = dict.drain();
        assert!(dict.is_empty());
        assert_eq!(dict.buckets(), (0, 0));
        assert_eq!(drain.len(), 600);
        let mut values: Vec<u64> = drain
            .map(|(k, v)| {
                assert_eq!(k, key(v));
                v
            })
            .collect();
        values.sort_unstable();
        assert_eq!(values, (0..600).collect::<Vec<_>>());
        dict.insert(key(1), 1);
        assert_eq!(dict.get(&key(1)), Some(&1));

        // FLUSHALL ASYNC: move the table to another thread and free it there.
        let taken = mem::take(&mut dict);
        assert!(dict.is_empty());
        let handle = std::thread::spawn(move || taken.len());
        assert_eq!(handle.join().ok(), Some(1));
    }

    #[test]
    fn clear_resets_everything() {
        let mut dict = seeded();
        for i in 0..100 {
            dict.insert(key(i), i);
        }
        dict.clear();
        assert!(dict.is_empty());
        assert_eq!(dict.buckets(), (0, 0));
        assert_eq!(dict.iter().count(), 0);
        assert_eq!(dict.insert(key(1), 1), None);
        check_invariants(&dict);
    }

    #[test]
    fn iter_covers_both_tables() {
        let mut dict = seeded();
        for i in 0..300 {
            dict.insert(key(i), i);
        }
        assert!(dict.is_rehashing());
        let mut values: Vec<u64> = dict.iter().map(|(_, &v)| v).collect();
        values.sort_unstable();
        assert_eq!(values, (0..300).collect::<Vec<_>>());
        assert!(format!("{dict:?}").contains("b\"key:7\": 7"));
    }

    #[test]
    fn hash_spreads_similar_keys() {
        // 64k sequential keys into 64k buckets should look like balls in
        // bins: longest chain around 8, never dozens.
        let buckets = 1 << 16;
        for seed in [0, 1, u64::MAX] {
            let mut load = vec![0u32; buckets];
            for i in 0..buckets as u64 {
                load[(hash_bytes(seed, &key(i)) as usize) & (buckets - 1)] += 1;
            }
            let max = load.iter().copied().max().unwrap_or(0);
            let empty = load.iter().filter(|&&l| l == 0).count();
            assert!(max <= 12, "seed {seed}: max chain {max}");
            // Expected empty fraction is 1/e ≈ 36.8%.
            assert!((empty as f64 / buckets as f64 - 0.368).abs() < 0.02);
        }
        assert_ne!(hash_bytes(0, b"a"), hash_bytes(0, b"a\0"));
        assert_ne!(hash_bytes(0, b""), hash_bytes(1, b""));
    }

    #[test]
    fn new_dicts_get_distinct_seeds() {
        assert_ne!(Dict::<()>::new().seed, Dict::<()>::new().seed);
    }

    #[test]
    fn rng_helpers() {
        let mut a = 0;
        let mut b = 0;
        assert_eq!(rng_next(&mut a), rng_next(&mut b));
        assert_ne!(rng_next(&mut a), rng_next(&mut a));
        let mut rng = 9;
        assert!((0..1000).all(|_| random_below(&mut rng, 3) < 3));
    }
}
