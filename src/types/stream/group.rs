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
