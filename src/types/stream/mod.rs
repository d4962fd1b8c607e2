//! The stream type: an append-only log of field-value entries keyed by
//! [`StreamId`], with consumer groups.
//!
//! Owns: the entries (a `BTreeMap` from ID to one packed allocation of the
//! entry's fields and values, see [`Entry`]), the stream's counters Redis
//! 7.0 reports and persists (last generated ID, max deleted entry ID,
//! entries added, recorded first entry ID), and its consumer groups
//! ([`group::ConsumerGroup`], ordered by name as Redis's radix tree orders
//! them).
//!
//! Must never: hold an entry whose ID is above `last_id` (every insert goes
//! through [`StreamValue::next_id`] or checks the same rule), or let the
//! counters go backwards: `last_id` and `entries_added` only grow, also
//! when entries are deleted or trimmed, which is what lets a consumer
//! group compute its lag.
//!
//! Invariants: `entries` is ordered by ID (the map does that); every ID in
//! it is <= `last_id`; `first_id` is the first live entry's ID, or 0-0 when
//! the stream is empty.

pub mod group;
mod id;

pub use group::{Consumer, ConsumerGroup, Delivered, PendingEntry};
pub use id::{AddId, StreamId};

use super::CompactBytes;
use std::collections::BTreeMap;
use std::ops::Bound;

/// One entry's fields and values, packed into one allocation: for each
/// string its length as a LEB128 varint, then its bytes; strings alternate
/// field, value. A two-field entry of short strings costs one small
/// allocation instead of five.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry(Box<[u8]>);

impl Entry {
    /// `strings` alternates field, value (an even count, at least 2).
    pub fn new<S: AsRef<[u8]>>(strings: &[S]) -> Entry {
        let total: usize = strings.iter().map(|s| s.as_ref().len() + 10).sum();
        let mut out = Vec::with_capacity(total);
        for s in strings {
            let s = s.as_ref();
            let mut n = s.len() as u64;
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
            out.extend_from_slice(s);
        }
        Entry(out.into_boxed_slice())
    }

    /// The strings in order: field, value, field, value...
    pub fn strings(&self) -> EntryStrings<'_> {
        EntryStrings { rest: &self.0 }
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

/// Iterator over an [`Entry`]'s strings. The packing is ours, made by
/// [`Entry::new`] only, so a malformed buffer cannot occur; the iterator
/// still stops rather than panics on one.
pub struct EntryStrings<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for EntryStrings<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let mut len: u64 = 0;
        let mut shift = 0;
        let mut used = 0;
        loop {
            let byte = *self.rest.get(used)?;
            used += 1;
            len |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return None;
            }
        }
        let len = usize::try_from(len).ok()?;
        let s = self.rest.get(used..used.checked_add(len)?)?;
        self.rest = &self.rest[used + len..];
        Some(s)
    }
}

/// Why XADD (or XSETID) cannot use an ID: Redis's wire text lives in
/// `errors.rs`; this says which case it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdError {
    /// An explicit ID equal to or below the last generated one.
    NotGreater,
    /// An explicit 0-0.
    Zero,
    /// The last generated ID is the largest possible one.
    Exhausted,
}

/// A stream value.
#[derive(Debug, Clone, Default)]
pub struct StreamValue {
    entries: BTreeMap<StreamId, Entry>,
    /// The last ID generated or set (XSETID): never goes back.
    pub last_id: StreamId,
    /// The largest ID ever deleted (XDEL, trimming), 0-0 if none.
    pub max_deleted_id: StreamId,
    /// Entries ever added (XADD), including deleted ones.
    pub entries_added: u64,
    /// The first live entry's ID, 0-0 when empty (XINFO's
    /// recorded-first-entry-id).
    pub first_id: StreamId,
    pub groups: BTreeMap<CompactBytes, ConsumerGroup>,
}

impl StreamValue {
    pub fn new() -> StreamValue {
        StreamValue::default()
    }

    /// Number of live entries (XLEN).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn encoding_name(&self) -> &'static str {
        "stream"
    }

    /// The ID XADD would give a new entry for `wanted`, `now_ms` being the
    /// server's clock.
    pub fn next_id(&self, wanted: AddId, now_ms: u64) -> Result<StreamId, IdError> {
        let last = self.last_id;
        match wanted {
            AddId::Auto => {
                if now_ms > last.ms {
                    Ok(StreamId::new(now_ms, 0))
                } else {
                    last.incr().ok_or(IdError::Exhausted)
                }
            }
            AddId::AutoSeq(ms) => {
                if ms > last.ms {
                    Ok(StreamId::new(ms, 0))
                } else if ms == last.ms {
                    match last.seq.checked_add(1) {
                        Some(seq) => Ok(StreamId::new(ms, seq)),
                        None => Err(IdError::NotGreater),
                    }
                } else {
                    Err(IdError::NotGreater)
                }
            }
            AddId::Explicit(id) => {
                if id.is_zero() {
                    Err(IdError::Zero)
                } else if id <= last {
                    Err(IdError::NotGreater)
                } else {
                    Ok(id)
                }
            }
        }
    }

    /// Append an entry under `id`, which must be above `last_id` (the
    /// caller got it from [`StreamValue::next_id`]).
    pub fn append(&mut self, id: StreamId, entry: Entry) {
        debug_assert!(id > self.last_id || (self.last_id.is_zero() && !id.is_zero()));
        if self.entries.is_empty() {
            self.first_id = id;
        }
        self.entries.insert(id, entry);
        self.last_id = id;
        self.entries_added += 1;
    }

    /// Insert an entry as loaded (RDB/RESTORE): counters are set by the
    /// loader afterwards, not derived here.
    pub fn load_entry(&mut self, id: StreamId, entry: Entry) {
        self.entries.insert(id, entry);
    }

    pub fn get(&self, id: &StreamId) -> Option<&Entry> {
        self.entries.get(id)
    }

    /// Entries with `start <= id <= end`, in order.
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
    ) -> impl DoubleEndedIterator<Item = (&StreamId, &Entry)> {
        let (lo, hi) = if start <= end {
            (Bound::Included(start), Bound::Included(end))
        } else {
            // An empty range: BTreeMap::range panics on start > end, and on
            // equal bounds both excluded.
            (Bound::Included(start), Bound::Excluded(start))
        };
        self.entries.range((lo, hi))
    }

    /// All entries in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&StreamId, &Entry)> {
        self.entries.iter()
    }

    pub fn first_entry(&self) -> Option<(&StreamId, &Entry)> {
        self.entries.iter().next()
    }

    pub fn last_entry(&self) -> Option<(&StreamId, &Entry)> {
        self.entries.iter().next_back()
    }

    /// Delete one entry (XDEL); true if it existed.
    pub fn delete(&mut self, id: &StreamId) -> bool {
        if self.entries.remove(id).is_none() {
            return false;
        }
        if *id > self.max_deleted_id {
            self.max_deleted_id = *id;
        }
        if *id == self.first_id {
            self.first_id = self.entries.keys().next().copied().unwrap_or_default();
        }
        true
    }

    /// Remove the oldest entry (trimming). Returns its ID.
    pub fn pop_first(&mut self) -> Option<StreamId> {
        let (id, _) = self.entries.pop_first()?;
        if id > self.max_deleted_id {
            self.max_deleted_id = id;
        }
        self.first_id = self.entries.keys().next().copied().unwrap_or_default();
        Some(id)
    }

    /// Heap bytes owned (MEMORY USAGE): entries with a per-entry share of
    /// the map's nodes, plus the groups.
    pub fn heap_size(&self) -> usize {
        const PER_ENTRY_NODE: usize =
            std::mem::size_of::<StreamId>() + std::mem::size_of::<Entry>() + 8;
        let entries: usize = self
            .entries
            .values()
            .map(|e| e.heap_size() + PER_ENTRY_NODE)
            .sum();
        let groups: usize = self
            .groups
            .iter()
            .map(|(name, g)| name.heap_size() + g.heap_size())
            .sum();
        entries + groups
    }

    /// Allocations freeing this value releases (decides lazy freeing).
    pub fn free_effort(&self) -> usize {
        1 + self.entries.len() + self.groups.values().map(|g| g.free_effort()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_packs_and_unpacks_any_strings() {
        let long = vec![b'x'; 300];
        let e = Entry::new(&[&b"f"[..], b"", &long, b"v"]);
        let got: Vec<&[u8]> = e.strings().collect();
        assert_eq!(got, vec![&b"f"[..], b"", &long[..], b"v"]);
        assert_eq!(e.pair_count(), 2);
        assert_eq!(e.pairs().next(), Some((&b"f"[..], &b""[..])));
    }

    #[test]
    fn ids_follow_redis_rules() {
        let mut s = StreamValue::new();
        assert_eq!(
            s.next_id(AddId::Explicit(StreamId::MIN), 5),
            Err(IdError::Zero)
        );
        let id = s.next_id(AddId::Auto, 5).unwrap();
        assert_eq!(id, StreamId::new(5, 0));
        s.append(id, Entry::new(&["a", "1"]));
        // A clock that went back keeps the sequence growing.
        assert_eq!(s.next_id(AddId::Auto, 3), Ok(StreamId::new(5, 1)));
        assert_eq!(s.next_id(AddId::AutoSeq(5), 0), Ok(StreamId::new(5, 1)));
        assert_eq!(s.next_id(AddId::AutoSeq(4), 0), Err(IdError::NotGreater));
        assert_eq!(
            s.next_id(AddId::Explicit(StreamId::new(5, 0)), 0),
            Err(IdError::NotGreater)
        );
        s.last_id = StreamId::MAX;
        assert_eq!(s.next_id(AddId::Auto, 0), Err(IdError::Exhausted));
    }

    #[test]
    fn deletes_keep_the_counters() {
        let mut s = StreamValue::new();
        for ms in 1..=3 {
            s.append(StreamId::new(ms, 0), Entry::new(&["f", "v"]));
        }
        assert!(s.delete(&StreamId::new(1, 0)));
        assert!(!s.delete(&StreamId::new(1, 0)));
        assert_eq!(s.first_id, StreamId::new(2, 0));
        assert_eq!(s.max_deleted_id, StreamId::new(1, 0));
        assert_eq!(s.pop_first(), Some(StreamId::new(2, 0)));
        assert_eq!(
            (s.len(), s.entries_added, s.last_id),
            (1, 3, StreamId::new(3, 0))
        );
        let ids: Vec<_> = s
            .range(StreamId::MIN, StreamId::MAX)
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(ids, vec![StreamId::new(3, 0)]);
        assert_eq!(s.range(StreamId::new(9, 0), StreamId::new(1, 0)).count(), 0);
    }
}
