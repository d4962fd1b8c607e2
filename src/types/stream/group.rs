//! Consumer groups of a stream: where each group has read up to, which
//! delivered entries are not yet acknowledged (the PEL), and the consumers.
//!
//! Owns: [`ConsumerGroup`], [`Consumer`] and [`PendingEntry`].
//!
//! Must never: let the group's PEL and its consumers' PELs disagree. An ID
//! is in the group's `pel` iff it is in exactly one consumer's `pel`, the
//! one named by its `PendingEntry::consumer`.
//!
//! Invariants: as above; `last_id` only moves by XREADGROUP (forward) and
//! XGROUP SETID (anywhere); `entries_read` is None when Redis's counter
//! would be invalid (-1 on the wire is not used: XINFO shows nil).

use super::StreamId;
use crate::types::CompactBytes;
use std::collections::{BTreeMap, BTreeSet};

/// One delivered, unacknowledged entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEntry {
    /// Unix ms of the last delivery.
    pub delivery_time: i64,
    pub delivery_count: u64,
    /// The consumer that owns it.
    pub consumer: CompactBytes,
}

/// A consumer of a group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consumer {
    /// Unix ms of the consumer's last interaction (XINFO CONSUMERS idle).
    pub seen_time: i64,
    /// IDs this consumer owns in the group's PEL.
    pub pel: BTreeSet<StreamId>,
}

/// A consumer group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumerGroup {
    /// The last ID delivered to the group (`>` reads after it).
    pub last_id: StreamId,
    /// Entries the group has read, when known (the lag's base).
    pub entries_read: Option<u64>,
    pub pel: BTreeMap<StreamId, PendingEntry>,
    pub consumers: BTreeMap<CompactBytes, Consumer>,
}

impl ConsumerGroup {
    pub fn new(last_id: StreamId, entries_read: Option<u64>) -> ConsumerGroup {
        ConsumerGroup {
            last_id,
            entries_read,
            ..ConsumerGroup::default()
        }
    }

    /// Heap bytes owned, approximately per node (MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        let pel = self.pel.len() * (16 + std::mem::size_of::<PendingEntry>() + 8);
        let consumers: usize = self
            .consumers
            .iter()
            .map(|(name, c)| {
                name.heap_size() + 24 + std::mem::size_of::<Consumer>() + c.pel.len() * 24
            })
            .sum();
        pel + consumers
    }

    pub fn free_effort(&self) -> usize {
        1 + self.pel.len() + self.consumers.len()
    }
}

/// What [`ConsumerGroup::deliver`] did with an entry's PEL record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// A new pending entry.
    New,
    /// The entry was pending for another consumer (XGROUP SETID moved the
    /// group back): it now belongs to this one, its counter restarted.
    Reassigned,
}

impl ConsumerGroup {
    /// Create consumer `name` if it does not exist; true if created.
    pub fn create_consumer(&mut self, name: &[u8], now_ms: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(
            CompactBytes::new(name),
            Consumer {
                seen_time: now_ms,
                pel: BTreeSet::new(),
            },
        );
        true
    }

    /// Delete consumer `name` and its pending entries (from the group's
    /// PEL too). Returns how many it had pending, None if it did not exist.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pel {
            self.pel.remove(id);
        }
        Some(consumer.pel.len())
    }

    /// XACK one ID: true if it was pending.
    pub fn ack(&mut self, id: &StreamId) -> bool {
        let Some(pe) = self.pel.remove(id) else {
            return false;
        };
        if let Some(c) = self.consumers.get_mut(&pe.consumer[..]) {
            c.pel.remove(id);
        }
        true
    }

    /// An entry read with `>` by `consumer` (which must exist): add it to
    /// the PEL, or hand it over if another consumer had it pending.
    pub fn deliver(&mut self, id: StreamId, consumer: &[u8], now_ms: i64) -> Delivered {
        let entry = PendingEntry {
            delivery_time: now_ms,
            delivery_count: 1,
            consumer: CompactBytes::new(consumer),
        };
        let outcome = match self.pel.insert(id, entry) {
            None => Delivered::New,
            Some(old) => {
                if let Some(c) = self.consumers.get_mut(&old.consumer[..]) {
                    c.pel.remove(&id);
                }
                Delivered::Reassigned
            }
        };
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
        outcome
    }

    /// Give pending entry `id` to `consumer` (which must exist), as XCLAIM
    /// and XAUTOCLAIM do: a new record if there is none (XCLAIM FORCE,
    /// with the count a fresh delivery has, 1), then the delivery time
    /// and count updated: `retry_count` if given, else one more unless
    /// `justid`. Returns the record.
    pub fn claim(
        &mut self,
        id: StreamId,
        consumer: &[u8],
        delivery_time: i64,
        retry_count: Option<u64>,
        justid: bool,
    ) -> &PendingEntry {
        // A new record has no owner yet. (Its consumer field cannot say
        // so: a consumer may be named "" and must still get the ID.)
        let mut fresh = false;
        let pe = self.pel.entry(id).or_insert_with(|| {
            fresh = true;
            PendingEntry {
                delivery_time,
                delivery_count: 1,
                consumer: CompactBytes::new(consumer),
            }
        });
        if fresh || &pe.consumer[..] != consumer {
            if !fresh {
                if let Some(old) = self.consumers.get_mut(&pe.consumer[..]) {
                    old.pel.remove(&id);
                }
            }
            pe.consumer = CompactBytes::new(consumer);
            if let Some(c) = self.consumers.get_mut(consumer) {
                c.pel.insert(id);
            }
        }
        pe.delivery_time = delivery_time;
        match retry_count {
            Some(n) => pe.delivery_count = n,
            None if !justid => pe.delivery_count = pe.delivery_count.saturating_add(1),
            None => {}
        }
        pe
    }

    /// Check the PEL invariant (tests, debug assertions).
    pub fn pel_consistent(&self) -> bool {
        let owned: usize = self.consumers.values().map(|c| c.pel.len()).sum();
        owned == self.pel.len()
            && self.pel.iter().all(|(id, pe)| {
                self.consumers
                    .get(&pe.consumer[..])
                    .is_some_and(|c| c.pel.contains(id))
            })
    }
}

// ---------------------------------------------------------------------------
// The read counter and the lag (Redis 7.0's rules).
//
// A group counts the entries it has read (`entries_read`) so XINFO GROUPS
// can report its lag: entries added to the stream minus entries read. The
// counter is only exact while no deleted entry (a "tombstone") lies ahead
// of the group's position; otherwise Redis tries to re-derive it from the
// stream's counters, and reports nil when it cannot.

impl super::StreamValue {
    /// Does a deleted entry lie in `start..=end` (end None = no end)? Only
    /// the largest deleted ID is known, so this answers "maybe" (true)
    /// whenever that one is in the range and the stream is not empty.
    pub fn range_has_tombstones(&self, start: StreamId, end: Option<StreamId>) -> bool {
        if self.is_empty() || self.max_deleted_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_id {
            // Every deletion happened before the first live entry.
            return false;
        }
        let end = end.unwrap_or(StreamId::MAX);
        start <= self.max_deleted_id && self.max_deleted_id <= end
    }

    /// How many entries lie up to and including `id` since the stream's
    /// first entry ever, when that can be known: None when a tombstone
    /// may lie before `id`, or `id` is past the last ID or between live
    /// entries.
    pub fn estimate_entries_read(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.is_empty() && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        let len = self.len() as u64;
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return Some(self.entries_added.saturating_sub(len));
            }
            if id == self.first_id {
                return Some(self.entries_added.saturating_sub(len) + 1);
            }
        }
        None
    }

    /// XINFO GROUPS `lag`: entries not yet delivered to the group, None
    /// (nil) when it cannot be known. Negative when XGROUP SETID's
    /// ENTRIESREAD claimed more than was ever added (Redis subtracts as
    /// signed numbers and shows that).
    pub fn group_lag(&self, group: &ConsumerGroup) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        let lag = |read: u64| (self.entries_added as i64).wrapping_sub(read as i64);
        if let Some(read) = group.entries_read {
            if !self.range_has_tombstones(group.last_id, None) {
                return Some(lag(read));
            }
        }
        self.estimate_entries_read(group.last_id).map(lag)
    }

    /// The group read up to `id` with `>` (XREADGROUP): move its last ID
    /// and keep its read counter when it can.
    pub fn advance_group(&self, group: &mut ConsumerGroup, id: StreamId) {
        if id <= group.last_id {
            return;
        }
        match group.entries_read {
            Some(read) if !self.range_has_tombstones(id, None) => {
                group.entries_read = Some(read.saturating_add(1));
            }
            _ => {
                if self.entries_added != 0 {
                    group.entries_read = self.estimate_entries_read(id);
                }
            }
        }
        group.last_id = id;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Entry, StreamValue};
    use super::*;

    fn stream(ms: &[u64]) -> StreamValue {
        let mut s = StreamValue::new();
        for &m in ms {
            s.append(StreamId::new(m, 0), Entry::new(&["f", "v"]));
        }
        s
    }

    fn id(ms: u64) -> StreamId {
        StreamId::new(ms, 0)
    }

    #[test]
    fn pel_moves_between_consumers_and_stays_consistent() {
        let mut g = ConsumerGroup::new(StreamId::MIN, Some(0));
        assert!(g.create_consumer(b"a", 1));
        assert!(!g.create_consumer(b"a", 2));
        g.create_consumer(b"b", 1);
        assert_eq!(g.deliver(id(1), b"a", 10), Delivered::New);
        assert_eq!(g.deliver(id(2), b"a", 10), Delivered::New);
        assert_eq!(g.deliver(id(1), b"b", 11), Delivered::Reassigned);
        assert!(g.pel_consistent());
        assert_eq!(g.pel[&id(1)].consumer.as_ref(), b"b");
        let pe = g.claim(id(2), b"b", 50, None, false);
        assert_eq!((pe.delivery_count, pe.delivery_time), (2, 50));
        let pe = g.claim(id(2), b"b", 60, None, true);
        assert_eq!(pe.delivery_count, 2);
        let pe = g.claim(id(3), b"a", 70, Some(7), false);
        assert_eq!(pe.delivery_count, 7);
        assert!(g.pel_consistent());
        assert!(g.ack(&id(3)));
        assert!(!g.ack(&id(3)));
        assert_eq!(g.delete_consumer(b"b"), Some(2));
        assert_eq!(g.delete_consumer(b"b"), None);
        assert!(g.pel.is_empty());
        assert!(g.pel_consistent());
    }

    #[test]
    fn a_forced_claim_by_the_consumer_named_empty_is_owned_by_it() {
        // XCLAIM ... FORCE creates the pending record; the consumer's own
        // PEL must get the ID whatever its name, "" included.
        let mut g = ConsumerGroup::new(StreamId::MIN, Some(0));
        g.create_consumer(b"", 1);
        g.claim(id(1), b"", 10, None, true);
        assert!(g.pel_consistent());
        assert!(g.consumers[&b""[..]].pel.contains(&id(1)));
        assert_eq!(g.delete_consumer(b""), Some(1));
        assert!(g.pel.is_empty());
    }

    #[test]
    fn counters_without_tombstones_are_exact() {
        let s = stream(&[1, 2, 3]);
        assert_eq!(s.estimate_entries_read(id(0)), Some(0));
        assert_eq!(s.estimate_entries_read(id(1)), Some(1));
        // Between live entries: unknown, even with no tombstone.
        assert_eq!(s.estimate_entries_read(id(2)), None);
        assert_eq!(s.estimate_entries_read(id(3)), Some(3));
        assert_eq!(s.estimate_entries_read(id(4)), None);
        let mut g = ConsumerGroup::new(StreamId::MIN, None);
        assert_eq!(s.group_lag(&g), Some(3));
        s.advance_group(&mut g, id(1));
        assert_eq!((g.entries_read, s.group_lag(&g)), (Some(1), Some(2)));
        s.advance_group(&mut g, id(2));
        assert_eq!((g.entries_read, s.group_lag(&g)), (Some(2), Some(1)));
        assert_eq!(StreamValue::new().group_lag(&g), Some(0));
    }

    #[test]
    fn tombstones_ahead_invalidate_the_counter() {
        let mut s = stream(&[1, 2, 3, 4]);
        s.delete(&id(3));
        assert!(s.range_has_tombstones(id(1), None));
        assert!(!s.range_has_tombstones(id(4), None));
        // A group that knows its count but has a tombstone ahead: the lag
        // is re-derived, and here cannot be.
        let g = ConsumerGroup::new(id(1), Some(1));
        assert_eq!(s.group_lag(&g), None);
        let mut g2 = ConsumerGroup::new(id(1), Some(1));
        s.advance_group(&mut g2, id(2));
        assert_eq!(g2.entries_read, None, "tombstone ahead of 2");
        s.advance_group(&mut g2, id(4));
        assert_eq!((g2.entries_read, s.group_lag(&g2)), (Some(4), Some(0)));
        // Deleting the first entries only: the tombstones are behind the
        // first live entry, so counting works again.
        let mut t = stream(&[1, 2, 3]);
        t.delete(&id(1));
        assert!(!t.range_has_tombstones(StreamId::MIN, None));
        assert_eq!(t.estimate_entries_read(id(2)), Some(2));
        assert_eq!(t.estimate_entries_read(id(1)), Some(1));
        // An emptied stream: anything up to the last ID read everything.
        let mut e = stream(&[1, 2]);
        e.delete(&id(1));
        e.delete(&id(2));
        assert_eq!(e.estimate_entries_read(id(1)), Some(2));
        assert_eq!(
            e.group_lag(&ConsumerGroup::new(StreamId::MIN, None)),
            Some(0)
        );
    }
}
