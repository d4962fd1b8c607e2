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
//! through [`StreamValue::next_id`] or checks the same rule), or let
//! deleting or trimming move the counters: `last_id` and `entries_added`
//! stay, which is what lets a consumer group compute its lag. Only XSETID
//! sets them, as Redis 7.0 allows (down to the last live entry's ID and
//! the live length).
//!
//! Invariants: `entries` is ordered by ID (the map does that); every ID in
//! it is <= `last_id`; `first_id` is the first live entry's ID, or 0-0 when
//! the stream is empty (`u64::MAX-u64::MAX` after loading an empty stream
//! from a Redis 5/6 dump, as Redis 7.0 derives it; the next append sets
//! it). `nodes` (see [`node`]) partitions the IDs into the listpack nodes
//! Redis would have: ordered by master ID, node k holding the entries in
//! `[master_k, master_k+1)`, its `live` count equal to the number of
//! those entries in `entries`.

pub mod group;
mod id;
pub mod node;

pub use group::{Consumer, ConsumerGroup, Delivered, PendingEntry};
pub use id::{AddId, StreamId};
pub use node::NodeLimits;

use super::CompactBytes;
use node::Node;
use std::collections::{BTreeMap, VecDeque};
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
    /// `<ms>-*` where `<ms>` is the last ID's and its sequence is the
    /// largest possible one.
    SeqExhausted,
}

/// A stream value.
#[derive(Debug, Clone, Default)]
pub struct StreamValue {
    entries: BTreeMap<StreamId, Entry>,
    /// The last ID generated or set (XSETID, which may lower it to the
    /// last live entry's ID).
    pub last_id: StreamId,
    /// The largest ID ever deleted (XDEL, trimming), 0-0 if none.
    pub max_deleted_id: StreamId,
    /// Entries ever added (XADD), including deleted ones.
    pub entries_added: u64,
    /// The first live entry's ID, 0-0 when empty (XINFO's
    /// recorded-first-entry-id).
    pub first_id: StreamId,
    pub groups: BTreeMap<CompactBytes, ConsumerGroup>,
    /// Redis's listpack nodes, summarised (approximate trimming and
    /// XINFO's radix-tree counts depend on them).
    nodes: VecDeque<Node>,
}

/// How to trim (XTRIM, XADD's MAXLEN/MINID).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimStrategy {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Drop entries below this ID.
    MinId(StreamId),
}

/// A trim request as Redis 7.0's streamTrim takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trim {
    pub strategy: TrimStrategy,
    /// `~`: only whole nodes go.
    pub approx: bool,
    /// Stop before removing a node that would take the count of removed
    /// entries past this; 0 = no limit.
    pub limit: u64,
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
                        None => Err(IdError::SeqExhausted),
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
    /// caller got it from [`StreamValue::next_id`]), with Redis's default
    /// node limits.
    pub fn append(&mut self, id: StreamId, entry: Entry) {
        self.append_with(id, entry, NodeLimits::default());
    }

    /// Append an entry, starting a new node where Redis would under
    /// `limits`.
    pub fn append_with(&mut self, id: StreamId, entry: Entry, limits: NodeLimits) {
        debug_assert!(id > self.last_id || (self.last_id.is_zero() && !id.is_zero()));
        if self.entries.is_empty() {
            self.first_id = id;
        }
        self.place_in_node(id, &entry, limits);
        self.entries.insert(id, entry);
        self.last_id = id;
        self.entries_added += 1;
    }

    /// Put entry `id` in the node whose range holds it: normally the last
    /// node, or a new last node when that one is full (Redis's rule). Only
    /// after XSETID lowered an emptied stream's last ID below a node's
    /// master can an ID fall before the last node; Redis then appends it
    /// to its last listpack out of order (and its range reads can miss
    /// it), while here it joins, or starts, the node its ID falls in, so
    /// the nodes keep partitioning the IDs.
    /// Returns the index of the node that took the entry.
    fn place_in_node(&mut self, id: StreamId, entry: &Entry, limits: NodeLimits) -> usize {
        let raw_len: u64 = entry.strings().map(|s| s.len() as u64).sum();
        let at = self.nodes.partition_point(|n| n.master <= id);
        match at.checked_sub(1) {
            Some(j) if !self.nodes[j].is_full(raw_len, limits) => {
                self.nodes[j].push(id, entry);
                j
            }
            // A full node keyed by this very ID holds only tombstones (its
            // live entries would be >= the ID, which is above them all):
            // like Redis's raxInsert on an existing key, the new node
            // replaces it. (The live count is checked so that a loaded
            // image can never make it drop live entries.)
            Some(j) if self.nodes[j].master == id && self.nodes[j].live == 0 => {
                self.nodes[j] = Node::new(id, entry);
                j
            }
            _ => {
                self.nodes.insert(at, Node::new(id, entry));
                at
            }
        }
    }

    /// Insert an entry as loaded (RDB/RESTORE), in ID order: counters are
    /// set by the loader afterwards, not derived here. Nodes are cut with
    /// Redis's default limits; call [`StreamValue::load_node_boundary`]
    /// to reproduce a loaded image's own node boundaries instead.
    pub fn load_entry(&mut self, id: StreamId, entry: Entry) {
        if self.entries.is_empty() {
            self.first_id = id;
        }
        self.place_in_node(id, &entry, NodeLimits::default());
        self.entries.insert(id, entry);
    }

    /// A deleted entry (tombstone) of a loaded listpack node: it counts in
    /// its node (bytes, fullness) as in Redis, but is not an entry of the
    /// stream. Its ID need not follow the entries before it (after XSETID
    /// lowered the last ID below it, Redis appends smaller IDs after it),
    /// so it counts in the node being loaded; only a tombstone that starts
    /// a listpack is placed by its ID.
    pub fn load_deleted_entry(&mut self, id: StreamId, entry: &Entry) {
        let at = match self.nodes.back_mut() {
            Some(tail) if !tail.is_sealed() => {
                tail.push(id, entry);
                self.nodes.len() - 1
            }
            _ => self.place_in_node(id, entry, NodeLimits::default()),
        };
        self.nodes[at].mark_deleted(1);
    }

    /// The next loaded entry starts a new node (a loader reproducing the
    /// listpack boundaries of an RDB image).
    pub fn load_node_boundary(&mut self) {
        if let Some(tail) = self.nodes.back_mut() {
            // A node whose byte count is at the cap takes no more entries.
            tail.seal();
        }
    }

    /// The master ID of each node, in order: a writer (RDB) that starts a
    /// listpack at the first entry at or after each reproduces Redis's
    /// node boundaries (tombstones are not kept, so not their bytes).
    pub fn node_masters(&self) -> impl Iterator<Item = StreamId> + '_ {
        self.nodes.iter().map(|n| n.master)
    }

    /// Whether the invariants in the module comment hold (tests and
    /// property checks; O(n)).
    pub fn invariants_hold(&self) -> bool {
        let ids: Vec<StreamId> = self.entries.keys().copied().collect();
        if ids.last().is_some_and(|last| *last > self.last_id) {
            return false;
        }
        if self.first_id != ids.first().copied().unwrap_or_default() {
            return false;
        }
        let mut rest = &ids[..];
        for (i, n) in self.nodes.iter().enumerate() {
            // Masters ascend. A node's last ID may pass the next master:
            // XSETID can lower `last_id` below a tombstone, as in Redis,
            // and the next entries start a node before it ends.
            let next = self.nodes.get(i + 1).map(|m| m.master);
            if next.is_some_and(|m| m <= n.master) || n.master > n.last {
                return false;
            }
            // The node's live entries are the next ones in the map, all in
            // [master, last] and below the next master.
            let live = usize::try_from(n.live).unwrap_or(usize::MAX);
            if rest.len() < live {
                return false;
            }
            let (mine, after) = rest.split_at(live);
            let outside =
                |id: &StreamId| *id < n.master || *id > n.last || next.is_some_and(|m| *id >= m);
            if mine.iter().any(outside) {
                return false;
            }
            rest = after;
        }
        rest.is_empty()
    }

    /// Number of listpack nodes (XINFO STREAM's radix-tree-keys).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Nodes of Redis's radix tree over the listpack keys (XINFO STREAM's
    /// radix-tree-nodes), see [`node::rax_node_count`].
    pub fn rax_nodes(&self) -> u64 {
        let keys: Vec<[u8; 16]> = self.nodes.iter().map(|n| n.master.to_be_bytes()).collect();
        node::rax_node_count(&keys)
    }

    /// The first entry's ID counting tombstones (what Redis rewrites an
    /// approximate MINID to): the first node's master ID, or the largest
    /// ID when there is no node.
    pub fn first_id_with_tombstones(&self) -> StreamId {
        self.nodes.front().map_or(StreamId::MAX, |n| n.master)
    }

    /// Index of the node holding `id`, if any node could.
    fn node_of(&self, id: &StreamId) -> Option<usize> {
        self.nodes
            .partition_point(|n| n.master <= *id)
            .checked_sub(1)
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

    /// Delete one entry (XDEL); true if it existed. Its node keeps a
    /// tombstone, or goes with its last live entry.
    pub fn delete(&mut self, id: &StreamId) -> bool {
        if self.entries.remove(id).is_none() {
            return false;
        }
        if let Some(i) = self.node_of(id) {
            if self.nodes[i].live <= 1 {
                self.nodes.remove(i);
            } else {
                self.nodes[i].mark_deleted(1);
            }
        }
        if *id > self.max_deleted_id {
            self.max_deleted_id = *id;
        }
        if *id == self.first_id {
            self.first_id = self.entries.keys().next().copied().unwrap_or_default();
        }
        true
    }

    /// Trim as Redis 7.0's streamTrim does: whole nodes from the front
    /// while they are entirely below the threshold (and within `limit`),
    /// then, unless approximate, the leading entries of the next node
    /// (which stay as tombstones). Returns the number of entries removed.
    /// Trimming leaves `max_deleted_id` alone, as Redis does.
    pub fn trim(&mut self, trim: Trim) -> u64 {
        let mut removed = 0u64;
        while let Some(node) = self.nodes.front() {
            let len = self.entries.len() as u64;
            if let TrimStrategy::MaxLen(max) = trim.strategy {
                if len <= max {
                    break;
                }
            }
            if trim.limit != 0 && removed.saturating_add(node.live) > trim.limit {
                break;
            }
            let whole = match trim.strategy {
                TrimStrategy::MaxLen(max) => len - node.live >= max,
                TrimStrategy::MinId(min) => node.last < min,
            };
            if whole {
                for _ in 0..node.live {
                    self.entries.pop_first();
                }
                removed += node.live;
                self.nodes.pop_front();
                continue;
            }
            if trim.approx {
                break;
            }
            // Part of this node: every earlier node is gone, so its live
            // entries are the map's first ones; Redis goes no further than
            // this node's listpack.
            let next_master = self.nodes.get(1).map(|n| n.master);
            let mut here = 0u64;
            while let Some((&first, _)) = self.entries.first_key_value() {
                let stop = next_master.is_some_and(|m| first >= m)
                    || match trim.strategy {
                        TrimStrategy::MaxLen(max) => self.entries.len() as u64 <= max,
                        TrimStrategy::MinId(min) => first >= min,
                    };
                if stop {
                    break;
                }
                self.entries.pop_first();
                here += 1;
            }
            if let Some(front) = self.nodes.front_mut() {
                front.mark_deleted(here);
            }
            removed += here;
            break;
        }
        self.first_id = self.entries.keys().next().copied().unwrap_or_default();
        removed
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
        let nodes: usize = self.nodes.iter().map(Node::heap_size).sum();
        entries + groups + nodes
    }

    /// Allocations freeing this value releases (decides lazy freeing).
    pub fn free_effort(&self) -> usize {
        1 + self.entries.len()
            + self.nodes.len()
            + self.groups.values().map(|g| g.free_effort()).sum::<usize>()
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
        let exact = Trim {
            strategy: TrimStrategy::MaxLen(1),
            approx: false,
            limit: 0,
        };
        assert_eq!(s.trim(exact), 1);
        assert_eq!(s.max_deleted_id, StreamId::new(1, 0));
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

    fn small_nodes(n: u64, per_node: u64) -> StreamValue {
        let limits = NodeLimits {
            max_entries: per_node,
            max_bytes: 0,
        };
        let mut s = StreamValue::new();
        for ms in 1..=n {
            s.append_with(StreamId::new(ms, 0), Entry::new(&["f", "v"]), limits);
        }
        s
    }

    fn ids(s: &StreamValue) -> Vec<u64> {
        s.iter().map(|(id, _)| id.ms).collect()
    }

    #[test]
    fn approximate_trims_drop_whole_nodes_only() {
        let mut s = small_nodes(10, 3);
        assert_eq!(s.node_count(), 4);
        let approx = |strategy| Trim {
            strategy,
            approx: true,
            limit: 0,
        };
        // MAXLEN ~ 5: nodes [1-3] and [4-6] can go (10-3 >= 5, 7-3 < 5).
        assert_eq!(s.trim(approx(TrimStrategy::MaxLen(5))), 3);
        assert_eq!(ids(&s), (4..=10).collect::<Vec<_>>());
        // MINID ~ 9: node [4-6] ends below 9, node [7-9] does not.
        assert_eq!(s.trim(approx(TrimStrategy::MinId(StreamId::new(9, 0)))), 3);
        assert_eq!(s.first_id, StreamId::new(7, 0));
        // A LIMIT smaller than the next node stops before it.
        let limited = Trim {
            limit: 2,
            ..approx(TrimStrategy::MaxLen(0))
        };
        assert_eq!(s.trim(limited), 0);
        assert_eq!(s.len(), 4);
    }

    #[test]
    fn exact_trims_leave_tombstones_in_their_node() {
        let mut s = small_nodes(6, 3);
        let exact = |strategy| Trim {
            strategy,
            approx: false,
            limit: 0,
        };
        assert_eq!(s.trim(exact(TrimStrategy::MinId(StreamId::new(5, 0)))), 4);
        assert_eq!(ids(&s), vec![5, 6]);
        // Node [4-6] stays, its first entry a tombstone: an approximate
        // MINID is rewritten to it.
        assert_eq!(s.node_count(), 1);
        assert_eq!(s.first_id_with_tombstones(), StreamId::new(4, 0));
        // MINID at a tombstone's successor empties the node but keeps it.
        s.delete(&StreamId::new(6, 0));
        assert_eq!(s.trim(exact(TrimStrategy::MinId(StreamId::new(6, 0)))), 1);
        assert_eq!((s.len(), s.node_count()), (0, 1));
        assert_eq!(s.first_id, StreamId::MIN);
        // The next entry goes into that node (3 tombstones < 4)...
        s.append_with(
            StreamId::new(7, 0),
            Entry::new(&["f", "v"]),
            NodeLimits {
                max_entries: 4,
                max_bytes: 0,
            },
        );
        assert_eq!(s.node_count(), 1);
        // ...and a MAXLEN trim to 0 removes it whole.
        assert_eq!(s.trim(exact(TrimStrategy::MaxLen(0))), 1);
        assert_eq!((s.len(), s.node_count()), (0, 0));
        assert_eq!(s.first_id_with_tombstones(), StreamId::MAX);
        assert!(s.invariants_hold());
    }

    #[test]
    fn loaders_can_reproduce_node_boundaries_and_tombstones() {
        let mut s = StreamValue::new();
        s.load_entry(StreamId::new(1, 0), Entry::new(&["f", "v"]));
        s.load_deleted_entry(StreamId::new(2, 0), &Entry::new(&["f", "v"]));
        s.load_node_boundary();
        s.load_entry(StreamId::new(3, 0), Entry::new(&["f", "v"]));
        assert_eq!((s.len(), s.node_count()), (2, 2));
        let masters: Vec<StreamId> = s.node_masters().collect();
        assert_eq!(masters, vec![StreamId::new(1, 0), StreamId::new(3, 0)]);
        // The first node ends with its tombstone (2-0), below 3-0: an
        // approximate MINID 3 removes it whole, with its one live entry.
        let trim = Trim {
            strategy: TrimStrategy::MinId(StreamId::new(3, 0)),
            approx: true,
            limit: 0,
        };
        assert_eq!(s.trim(trim), 1);
        assert_eq!(s.first_id_with_tombstones(), StreamId::new(3, 0));
    }

    #[test]
    fn deleting_a_nodes_last_live_entry_removes_the_node() {
        let mut s = small_nodes(6, 3);
        assert!(s.delete(&StreamId::new(4, 0)));
        assert!(s.delete(&StreamId::new(5, 0)));
        assert_eq!(s.node_count(), 2);
        assert!(s.delete(&StreamId::new(6, 0)));
        assert_eq!(s.node_count(), 1);
        // The first node is the tail again and takes no more: it holds 3.
        s.append(StreamId::new(7, 0), Entry::new(&["f", "v"]));
        assert_eq!(s.node_count(), 1, "default limits: 100 entries a node");
        assert_eq!(s.rax_nodes(), 2);
    }
}
