//! The stream type: an append-only log of field-value entries keyed by
//! [`StreamId`], with consumer groups.
//!
//! Owns: the entries, packed in listpack-like nodes (see [`node`]: one
//! buffer per node, IDs as deltas from the node's master ID, field names
//! equal to the master's stored once, deletions marked in place), the
//! stream's counters Redis 7.0 reports and persists (last generated ID,
//! max deleted entry ID, entries added, recorded first entry ID, the live
//! length), and its consumer groups ([`group::ConsumerGroup`], ordered by
//! name as Redis's radix tree orders them). Entries are read through
//! borrowed views ([`EntryRef`], with their [`EntryId`]); [`Entry`] is the
//! owned form a caller appends.
//!
//! Must never: hold an entry whose ID is above `last_id` (every insert goes
//! through [`StreamValue::next_id`] or checks the same rule), or let
//! deleting or trimming move the counters: `last_id` and `entries_added`
//! stay, which is what lets a consumer group compute its lag. Only XSETID
//! sets them, as Redis 7.0 allows (down to the last live entry's ID and
//! the live length).
//!
//! Invariants: `nodes` is ordered by master ID and partitions the live
//! entries as Redis's listpacks would: node k holds the live entries in
//! `[master_k, master_k+1)`, in ascending order, `live` of them; so the
//! live entries, read node by node, ascend. Every live ID is <=
//! `last_id`; `length` is the number of live entries; `first_id` is the
//! first live entry's ID, or 0-0 when the stream is empty
//! (`u64::MAX-u64::MAX` after loading an empty stream from a Redis 5/6
//! dump, as Redis 7.0 derives it; the next append sets it).

pub mod group;
mod id;
pub mod node;
mod packed;

pub use group::{Consumer, ConsumerGroup, Delivered, PendingEntry};
pub use id::{AddId, StreamId};
pub use node::NodeLimits;
pub use packed::{Entry, EntryRef, EntryStrings};

use super::CompactBytes;
use node::Node;
use std::collections::{BTreeMap, VecDeque};

/// An entry's ID as the stream's readers hand it out. Node buffers store
/// IDs as deltas, so there is no `StreamId` in memory to lend: this is the
/// decoded value, and it derefs to a `StreamId` so that `*id` reads the
/// same as it would on a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId(pub StreamId);

impl std::ops::Deref for EntryId {
    type Target = StreamId;

    fn deref(&self) -> &StreamId {
        &self.0
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
    /// The listpack-like nodes holding the entries, ordered by master ID
    /// (a binary search finds an ID's node). A deque rather than a map:
    /// appends and front trims are O(1) and a range walks nodes by index;
    /// removing a node from the middle (XDEL of its last live entry)
    /// shifts the node summaries after it, tens of bytes per hundred
    /// entries.
    nodes: VecDeque<Node>,
    /// Live entries (XLEN).
    length: usize,
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

/// Largest buffer a new node reserves up front from its predecessor's
/// size: past it the buffer grows as a `Vec` does.
const NODE_CAPACITY_GUESS_MAX: usize = 64 * 1024;

impl StreamValue {
    pub fn new() -> StreamValue {
        StreamValue::default()
    }

    /// Number of live entries (XLEN).
    pub fn len(&self) -> usize {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
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
        self.append_strings(id, entry.strings(), limits);
    }

    /// [`StreamValue::append_with`] from the entry's strings (field,
    /// value, ...), e.g. XADD's arguments, with no [`Entry`] built first.
    pub fn append_strings<'s, I>(&mut self, id: StreamId, strings: I, limits: NodeLimits)
    where
        I: Iterator<Item = &'s [u8]> + Clone,
    {
        debug_assert!(id > self.last_id || (self.last_id.is_zero() && !id.is_zero()));
        self.insert_live(id, strings, limits);
        self.last_id = id;
        self.entries_added += 1;
    }

    /// Store a live entry in the node its ID belongs to.
    fn insert_live<'s, I>(&mut self, id: StreamId, strings: I, limits: NodeLimits)
    where
        I: Iterator<Item = &'s [u8]> + Clone,
    {
        if self.length == 0 {
            self.first_id = id;
        }
        let at = self.node_for(id, strings.clone(), limits);
        self.nodes[at].push_strings(id, strings);
        self.length += 1;
    }

    /// The index of the node that takes entry `id`: normally the last
    /// node, or a new last node when that one is full (Redis's rule). Only
    /// after XSETID lowered an emptied stream's last ID below a node's
    /// master can an ID fall before the last node; Redis then appends it
    /// to its last listpack out of order (and its range reads can miss
    /// it), while here it joins, or starts, the node its ID falls in, so
    /// the nodes keep partitioning the IDs. A new node has no entry yet:
    /// the caller pushes one at once.
    fn node_for<'s, I>(&mut self, id: StreamId, strings: I, limits: NodeLimits) -> usize
    where
        I: Iterator<Item = &'s [u8]> + Clone,
    {
        let raw_len: u64 = strings.clone().map(|s| s.len() as u64).sum();
        let at = self.nodes_up_to(&id);
        match at.checked_sub(1) {
            Some(j) if !self.nodes[j].is_full(raw_len, limits) => j,
            // A full node keyed by this very ID holds only tombstones (its
            // live entries would be >= the ID, which is above them all):
            // like Redis's raxInsert on an existing key, the new node
            // replaces it. (The live count is checked so that a loaded
            // image can never make it drop live entries.)
            Some(j) if self.nodes[j].master == id && self.nodes[j].live == 0 => {
                self.nodes[j] = Node::start(id, strings, 0);
                j
            }
            _ => {
                let mut capacity = 0;
                if at == self.nodes.len() {
                    if let Some(tail) = self.nodes.back_mut() {
                        // The old tail is done growing; the new one will
                        // likely be about as large.
                        tail.shrink();
                        capacity = tail.data_len().min(NODE_CAPACITY_GUESS_MAX);
                    }
                }
                self.nodes.insert(at, Node::start(id, strings, capacity));
                at
            }
        }
    }

    /// Insert an entry as loaded (RDB/RESTORE), in ID order: counters are
    /// set by the loader afterwards, not derived here. Nodes are cut with
    /// Redis's default limits; call [`StreamValue::load_node_boundary`]
    /// to reproduce a loaded image's own node boundaries instead.
    pub fn load_entry(&mut self, id: StreamId, entry: Entry) {
        self.insert_live(id, entry.strings(), NodeLimits::default());
    }

    /// A deleted entry (tombstone) of a loaded listpack node: it counts in
    /// its node (bytes, fullness) as in Redis, but is not an entry of the
    /// stream. Its ID need not follow the entries before it (after XSETID
    /// lowered the last ID below it, Redis appends smaller IDs after it),
    /// so it counts in the node being loaded; only a tombstone that starts
    /// a listpack is placed by its ID.
    pub fn load_deleted_entry(&mut self, id: StreamId, entry: &Entry) {
        let at = match self.nodes.back() {
            Some(tail) if !tail.is_sealed() => self.nodes.len() - 1,
            _ => self.node_for(id, entry.strings(), NodeLimits::default()),
        };
        self.nodes[at].push_tombstone(id, entry);
    }

    /// The next loaded entry starts a new node (a loader reproducing the
    /// listpack boundaries of an RDB image).
    pub fn load_node_boundary(&mut self) {
        if let Some(tail) = self.nodes.back_mut() {
            // A node whose byte count is at the cap takes no more entries.
            tail.seal();
            tail.shrink();
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
        let mut prev: Option<StreamId> = None;
        let mut length = 0usize;
        for (i, n) in self.nodes.iter().enumerate() {
            // Masters ascend. A node's last ID may pass the next master:
            // XSETID can lower `last_id` below a tombstone, as in Redis,
            // and the next entries start a node before it ends.
            let next = self.nodes.get(i + 1).map(|m| m.master);
            if next.is_some_and(|m| m <= n.master) || n.master > n.last {
                return false;
            }
            // The buffer decodes to its end; its live entries ascend, lie
            // in [master, last] and below the next master, start at or
            // after `live_start`, and number `live`; it stores no more
            // tombstones than `deleted`.
            let (mut live, mut dead) = (0u64, 0u64);
            let mut at = n.entries_start();
            while at < n.data_len() {
                let Some(e) = n.decode(at) else {
                    return false;
                };
                if e.entry.strings().count() != 2 * e.entry.pair_count()
                    || e.entry.pair_count() == 0
                {
                    return false;
                }
                let here = at;
                at = e.end;
                if e.deleted {
                    dead += 1;
                    continue;
                }
                if here < n.live_start() {
                    return false;
                }
                live += 1;
                let outside = e.id < n.master || e.id > n.last || next.is_some_and(|m| e.id >= m);
                if outside || prev.is_some_and(|p| e.id <= p) {
                    return false;
                }
                prev = Some(e.id);
            }
            if at != n.data_len() || live != n.live || dead > n.deleted {
                return false;
            }
            length += usize::try_from(live).unwrap_or(usize::MAX);
        }
        let first = self.first_entry().map(|(id, _)| *id);
        length == self.length
            && prev.is_none_or(|last| last <= self.last_id)
            && self.first_id == first.unwrap_or_default()
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
        self.nodes_up_to(id).checked_sub(1)
    }

    /// Number of nodes whose master ID is <= `id`. Most IDs asked for are
    /// at an end (XADD's, `-` and `+`, XREAD's new entries), answered
    /// without the binary search's cache misses across a long stream's
    /// node summaries.
    fn nodes_up_to(&self, id: &StreamId) -> usize {
        match (self.nodes.front(), self.nodes.back()) {
            (Some(first), _) if *id < first.master => 0,
            (_, Some(last)) if last.master <= *id => self.nodes.len(),
            _ => self.nodes.partition_point(|n| n.master <= *id),
        }
    }

    /// The live entry `id` (a scan of its node, as in Redis).
    pub fn get(&self, id: &StreamId) -> Option<EntryRef<'_>> {
        let node = &self.nodes[self.node_of(id)?];
        let at = node.find_live(*id)?;
        node.decode(at).map(|e| e.entry)
    }

    /// Entries with `start <= id <= end`, in order.
    pub fn range(&self, start: StreamId, end: StreamId) -> Entries<'_> {
        let last = self.node_of(&end);
        let first = self.node_of(&start).unwrap_or(0);
        match last {
            Some(last) if start <= end => Entries {
                nodes: &self.nodes,
                start,
                end,
                // Past the first node's entries below `start` at once.
                front: (first, self.nodes[first].seek(start)),
                back: (last, self.nodes[last].data_len()),
                done: false,
            },
            _ => Entries {
                nodes: &self.nodes,
                start,
                end,
                front: (0, 0),
                back: (0, 0),
                done: true,
            },
        }
    }

    /// All entries in order.
    pub fn iter(&self) -> Entries<'_> {
        self.range(StreamId::MIN, StreamId::MAX)
    }

    pub fn first_entry(&self) -> Option<(EntryId, EntryRef<'_>)> {
        self.iter().next()
    }

    pub fn last_entry(&self) -> Option<(EntryId, EntryRef<'_>)> {
        self.iter().next_back()
    }

    /// Delete one entry (XDEL); true if it existed. It stays in its node
    /// as a tombstone, or the node goes with its last live entry.
    pub fn delete(&mut self, id: &StreamId) -> bool {
        let Some(i) = self.node_of(id) else {
            return false;
        };
        let Some(at) = self.nodes[i].find_live(*id) else {
            return false;
        };
        if self.nodes[i].live <= 1 {
            self.nodes.remove(i);
        } else {
            self.nodes[i].delete_at(at);
        }
        self.length -= 1;
        if *id > self.max_deleted_id {
            self.max_deleted_id = *id;
        }
        if *id == self.first_id {
            self.first_id = self.first_entry().map(|(id, _)| *id).unwrap_or_default();
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
            let len = self.length as u64;
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
                removed += node.live;
                self.length -= usize::try_from(node.live).unwrap_or(usize::MAX);
                self.nodes.pop_front();
                continue;
            }
            if trim.approx {
                break;
            }
            // Part of this node: its leading live entries become
            // tombstones; Redis goes no further than this node's
            // listpack.
            let mut here = 0u64;
            if let Some(front) = self.nodes.front_mut() {
                let mut at = front.live_start();
                while let Some(e) = front.decode(at) {
                    let (id, deleted, end) = (e.id, e.deleted, e.end);
                    if !deleted {
                        let stop = match trim.strategy {
                            TrimStrategy::MaxLen(max) => self.length as u64 <= max,
                            TrimStrategy::MinId(min) => id >= min,
                        };
                        if stop {
                            break;
                        }
                        front.delete_at(at);
                        self.length -= 1;
                        here += 1;
                    }
                    at = end;
                }
                front.tombstones_before(at);
            }
            removed += here;
            break;
        }
        self.first_id = self.first_entry().map(|(id, _)| *id).unwrap_or_default();
        removed
    }

    /// Heap bytes owned (MEMORY USAGE): the nodes (summaries and
    /// buffers) and the groups.
    pub fn heap_size(&self) -> usize {
        let groups: usize = self
            .groups
            .iter()
            .map(|(name, g)| name.heap_size() + g.heap_size())
            .sum();
        let nodes: usize = self.nodes.iter().map(Node::heap_size).sum();
        nodes + groups
    }

    /// Allocations freeing this value releases (decides lazy freeing).
    pub fn free_effort(&self) -> usize {
        1 + self.nodes.len() + self.groups.values().map(|g| g.free_effort()).sum::<usize>()
    }
}

/// A range of live entries, read from the nodes in either direction
/// (XRANGE, XREVRANGE, XREAD...). `front` is the offset of the next entry
/// to look at from the front (node index, offset in its buffer); `back`
/// the end of the next one from the back. They only ever sit on entry
/// boundaries, so the range is used up when `front` reaches `back`.
/// Tombstones are skipped; entries outside `[start, end]` too, which only
/// occur in the first and last node (live entries ascend).
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    nodes: &'a VecDeque<Node>,
    start: StreamId,
    end: StreamId,
    front: (usize, usize),
    back: (usize, usize),
    done: bool,
}

impl Entries<'_> {
    fn crossed(&self) -> bool {
        self.front.0 > self.back.0 || (self.front.0 == self.back.0 && self.front.1 >= self.back.1)
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = (EntryId, EntryRef<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done && !self.crossed() {
            let (i, at) = self.front;
            let Some(node) = self.nodes.get(i) else {
                break;
            };
            if at >= node.data_len() {
                let next = self.nodes.get(i + 1).map_or(0, Node::entries_start);
                self.front = (i + 1, next);
                continue;
            }
            let Some(e) = node.decode(at) else {
                break;
            };
            self.front.1 = e.end;
            if e.deleted || e.id < self.start {
                continue;
            }
            if e.id > self.end {
                break;
            }
            return Some((EntryId(e.id), e.entry));
        }
        self.done = true;
        None
    }
}

impl DoubleEndedIterator for Entries<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        while !self.done && !self.crossed() {
            let (j, end) = self.back;
            let Some(node) = self.nodes.get(j) else {
                break;
            };
            let Some(at) = node.start_before(end) else {
                // The node's first entry was read: on to the one before.
                let Some(prev) = j.checked_sub(1).and_then(|p| self.nodes.get(p)) else {
                    break;
                };
                self.back = (j - 1, prev.data_len());
                continue;
            };
            let Some(e) = node.decode(at) else {
                break;
            };
            self.back.1 = at;
            if e.deleted || e.id > self.end {
                continue;
            }
            if e.id < self.start {
                break;
            }
            return Some((EntryId(e.id), e.entry));
        }
        self.done = true;
        None
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

    #[test]
    fn ranges_read_packed_nodes_both_ways() {
        // Nodes of 4, values short and long (two-byte lengths and
        // back-lengths), other field names than the master's, tombstones.
        let limits = NodeLimits {
            max_entries: 4,
            max_bytes: 0,
        };
        let mut s = StreamValue::new();
        let mut model: Vec<(StreamId, Vec<Vec<u8>>)> = Vec::new();
        for i in 1..=30u64 {
            let id = StreamId::new(i / 3, i % 3 + 7);
            let value = vec![b'a' + (i % 26) as u8; if i % 5 == 0 { 300 } else { 3 }];
            let field: &[u8] = if i % 4 == 0 { b"other" } else { b"f" };
            let strings = vec![
                field.to_vec(),
                value,
                b"g".to_vec(),
                i.to_string().into_bytes(),
            ];
            s.append_with(id, Entry::new(&strings), limits);
            model.push((id, strings));
        }
        for i in [2usize, 3, 4, 11, 17, 29] {
            assert!(s.delete(&model[i].0));
        }
        model.retain(|(id, _)| s.get(id).is_some());
        assert_eq!((s.len(), model.len()), (24, 24));
        assert!(s.invariants_hold());
        let got = |it: &mut dyn Iterator<Item = (EntryId, EntryRef<'_>)>| -> Vec<(StreamId, Vec<Vec<u8>>)> {
            it.map(|(id, e)| (*id, e.strings().map(<[u8]>::to_vec).collect())).collect()
        };
        assert_eq!(got(&mut s.iter()), model);
        let mut rev = model.clone();
        rev.reverse();
        assert_eq!(got(&mut s.iter().rev()), rev);
        for (a, b) in [(0, 23), (3, 9), (5, 5), (7, 20), (12, 13)] {
            let (start, end) = (model[a].0, model[b].0);
            assert_eq!(got(&mut s.range(start, end)), model[a..=b].to_vec());
            assert_eq!(got(&mut s.range(start, end).rev()).len(), b - a + 1);
            // Bounds between entries: the next ID after `start`.
            let after = start.incr().unwrap();
            assert_eq!(got(&mut s.range(after, end)), model[a + 1..=b].to_vec());
        }
        // Both ends at once meet without a repeat or a gap.
        let mut it = s.iter();
        let mut seen = Vec::new();
        loop {
            match (it.next(), it.next_back()) {
                (None, None) => break,
                (f, b) => seen.extend(f.into_iter().chain(b).map(|(id, _)| *id)),
            }
        }
        seen.sort();
        assert_eq!(seen, model.iter().map(|(id, _)| *id).collect::<Vec<_>>());
        let (first, last) = (s.first_entry().unwrap(), s.last_entry().unwrap());
        assert_eq!((*first.0, *last.0), (model[0].0, model[23].0));
        assert_eq!(last.1.to_entry(), Entry::new(&model[23].1));
    }

    #[test]
    fn an_append_after_a_lowered_last_id_follows_the_nodes_tombstones() {
        // XADD 5-0 6-0 7-0, XDEL 6-0 7-0, XSETID 5-0, XADD 5-1: the new
        // entry goes after two tombstones with larger IDs in the buffer.
        let mut s = small_nodes(0, 3);
        for ms in 5..=7 {
            s.append(StreamId::new(ms, 0), Entry::new(&["f", "v"]));
        }
        assert!(s.delete(&StreamId::new(6, 0)));
        assert!(s.delete(&StreamId::new(7, 0)));
        s.last_id = StreamId::new(5, 0);
        s.append(StreamId::new(5, 1), Entry::new(&["f", "w"]));
        assert!(s.invariants_hold());
        assert_eq!(ids(&s), vec![5, 5]);
        assert!(s.get(&StreamId::new(5, 1)).is_some());
        let back: Vec<StreamId> = s.iter().rev().map(|(id, _)| *id).collect();
        assert_eq!(back, vec![StreamId::new(5, 1), StreamId::new(5, 0)]);
        assert_eq!(s.range(StreamId::new(5, 1), StreamId::MAX).count(), 1);
        assert!(s.delete(&StreamId::new(5, 1)));
        assert!(!s.delete(&StreamId::new(7, 0)));
        assert_eq!(s.len(), 1);
    }
}
