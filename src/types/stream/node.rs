//! Where Redis 7.0 would cut a stream into listpack nodes, and how many
//! bytes each node's listpack would take.
//!
//! Owns: [`Node`] (one node's summary: its master ID, last ID, live and
//! deleted entry counts, the master entry's field names, and the exact
//! listpack byte count), [`NodeLimits`] (`stream-node-max-entries` /
//! `stream-node-max-bytes`), and the listpack size arithmetic.
//!
//! Why it exists: Redis stores a stream as a radix tree of listpacks, and
//! that layout is observable. Approximate trimming (`MAXLEN ~`, `MINID ~`)
//! only drops whole nodes, XINFO STREAM reports the node count as
//! `radix-tree-keys`, and the propagated effect of an approximate trim is
//! the length or first ID that the node cut left. We keep the entries in a
//! `BTreeMap` (simpler, and no delta-decoding on reads) and only model the
//! nodes: where a new one starts (Redis's streamAppendItem rule: the tail
//! listpack's bytes plus the new entry's raw field and value lengths reach
//! `stream-node-max-bytes`, or its entries, deleted ones included, reach
//! `stream-node-max-entries`), what deleting an entry does to a node (the
//! entry becomes a tombstone; the node goes when its last live entry
//! does), and the byte count, computed the way listpack.c sizes each
//! element (integers in 1-9 bytes, strings with a 1/2/5-byte header, a
//! 1-5 byte back-length), since that is what the byte rule compares.
//!
//! Must never: allocate per entry (a node is a fixed-size summary plus its
//! master field names), or size anything by a client's claim.
//!
//! Invariants: `live + deleted` is the number of entries ever appended to
//! the node; `master <= last`; a node with `live == 0` exists only after an
//! exact trim emptied it (XDEL removes a node with its last live entry, as
//! Redis does).

use super::{Entry, StreamId};

/// Redis's hard cap on one listpack (STREAM_LISTPACK_MAX_SIZE): also the
/// node byte limit when `stream-node-max-bytes` is 0 or larger.
pub const LISTPACK_MAX_BYTES: u64 = 1 << 30;

/// The two configuration limits that decide where a node ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLimits {
    /// `stream-node-max-entries`; 0 = no limit.
    pub max_entries: u64,
    /// `stream-node-max-bytes`; 0 = [`LISTPACK_MAX_BYTES`].
    pub max_bytes: u64,
}

impl Default for NodeLimits {
    /// Redis's defaults (100 entries, 4096 bytes).
    fn default() -> NodeLimits {
        NodeLimits {
            max_entries: 100,
            max_bytes: 4096,
        }
    }
}

/// One listpack node of the stream, summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The radix-tree key: the ID of the first entry appended to the node.
    pub master: StreamId,
    /// The last entry appended (deleted or not): MINID trimming compares
    /// it.
    pub last: StreamId,
    /// Entries not deleted (the master entry's `count`).
    pub live: u64,
    /// Entries marked deleted (the master entry's `deleted`).
    pub deleted: u64,
    /// The master entry's field names, packed as an [`Entry`] packs its
    /// strings.
    master_fields: Entry,
    /// Listpack bytes except the header, the end byte and the two counters
    /// (which change size as they change value).
    body_bytes: u64,
    /// Takes no more entries (a loaded image ended the node here).
    sealed: bool,
}

/// Header (total bytes u32 + element count u16) and end byte.
const LISTPACK_OVERHEAD: u64 = 6 + 1;

/// Bytes of a listpack element's back-length for an element whose
/// encoding + data take `len` bytes (the listpack codec's rule).
fn backlen_bytes(len: u64) -> u64 {
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    crate::persistence::listpack::backlen_size(len) as u64
}

/// Bytes of an integer element (encoding + back-length).
pub fn int_bytes(v: i64) -> u64 {
    let enc = match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8388608..=8388607 => 4,
        -2147483648..=2147483647 => 5,
        _ => 9,
    };
    enc + backlen_bytes(enc)
}

/// Bytes of a string element as `lpAppend` stores it: a string that reads
/// as a canonical 64-bit integer is stored as that integer.
pub fn str_bytes(s: &[u8]) -> u64 {
    if let Some(v) = crate::resp::parser::parse_i64(s) {
        return int_bytes(v);
    }
    let len = s.len() as u64;
    let enc = match len {
        0..=63 => 1 + len,
        64..=4095 => 2 + len,
        _ => 5 + len,
    };
    enc + backlen_bytes(enc)
}

/// Entry flags as Redis stores them (STREAM_ITEM_FLAG_*): always a one-
/// byte integer, also when the deleted bit is set later.
const FLAGS_BYTES: u64 = 2;

/// An ID delta as Redis stores it: the unsigned difference read as a
/// signed 64-bit integer.
fn delta_bytes(a: u64, b: u64) -> u64 {
    int_bytes(a.wrapping_sub(b) as i64)
}

impl Node {
    /// A node started by the entry `id` with `strings` (field, value...).
    pub fn new(id: StreamId, entry: &Entry) -> Node {
        let fields: Vec<&[u8]> = entry.strings().step_by(2).collect();
        let n = fields.len() as i64;
        // Master entry: num-fields, the field names, a 0 terminator.
        let mut body =
            int_bytes(n) + fields.iter().map(|f| str_bytes(f)).sum::<u64>() + int_bytes(0);
        body += Self::entry_bytes(id, id, entry, true);
        Node {
            master: id,
            last: id,
            live: 1,
            deleted: 0,
            master_fields: Entry::new(&fields),
            body_bytes: body,
            sealed: false,
        }
    }

    /// The listpack's total bytes (lpBytes).
    pub fn bytes(&self) -> u64 {
        LISTPACK_OVERHEAD
            + int_bytes(self.live as i64)
            + int_bytes(self.deleted as i64)
            + self.body_bytes
    }

    /// Entries in the listpack, deleted ones included.
    pub fn total(&self) -> u64 {
        self.live + self.deleted
    }

    /// Whether Redis would start a new node rather than append an entry
    /// whose fields and values take `raw_len` bytes to this one.
    pub fn is_full(&self, raw_len: u64, limits: NodeLimits) -> bool {
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > LISTPACK_MAX_BYTES {
            LISTPACK_MAX_BYTES
        } else {
            limits.max_bytes
        };
        if self.sealed || self.bytes().saturating_add(raw_len) >= max_bytes {
            return true;
        }
        limits.max_entries != 0 && self.total() >= limits.max_entries
    }

    /// Append the entry `id` (above `last`).
    pub fn push(&mut self, id: StreamId, entry: &Entry) {
        let same = self.same_fields(entry);
        self.body_bytes += Self::entry_bytes(self.master, id, entry, same);
        self.live += 1;
        self.last = id;
    }

    /// No entry will be appended to this node any more.
    pub fn seal(&mut self) {
        self.sealed = true;
    }

    /// Whether [`Node::seal`] closed the node.
    pub fn is_sealed(&self) -> bool {
        self.sealed
    }

    /// Heap bytes of the summary (MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        std::mem::size_of::<Node>() + self.master_fields.heap_size()
    }

    /// `n` live entries of this node became tombstones.
    pub fn mark_deleted(&mut self, n: u64) {
        debug_assert!(n <= self.live);
        self.live -= n;
        self.deleted += n;
    }

    fn same_fields(&self, entry: &Entry) -> bool {
        let mut master = self.master_fields.strings();
        for f in entry.strings().step_by(2) {
            match master.next() {
                Some(m) if m == f => {}
                _ => return false,
            }
        }
        master.next().is_none()
    }

    /// Bytes of one entry: flags, the ID deltas from the master, the field
    /// count and names unless they are the master's, the values, and the
    /// lp-count that lets a reader walk back.
    fn entry_bytes(master: StreamId, id: StreamId, entry: &Entry, same: bool) -> u64 {
        let mut bytes =
            FLAGS_BYTES + delta_bytes(id.ms, master.ms) + delta_bytes(id.seq, master.seq);
        let mut n = 0u64;
        for (i, s) in entry.strings().enumerate() {
            if i % 2 == 0 {
                n += 1;
            }
            if i % 2 == 1 || !same {
                bytes += str_bytes(s);
            }
        }
        let mut lp_count = n + 3;
        if !same {
            bytes += int_bytes(n as i64);
            lp_count += n + 1;
        }
        bytes + int_bytes(lp_count as i64)
    }
}

/// The number of nodes Redis's radix tree (rax) would have for these
/// 16-byte big-endian keys, in order: the tree is a compressed trie whose
/// nodes are the root, every branching point, every key end, and every
/// child of a branching point (a chain without branches is one compressed
/// node). An empty tree is its root alone. Redis re-compresses on delete,
/// so the count depends only on the key set.
pub fn rax_node_count(keys: &[[u8; 16]]) -> u64 {
    if keys.is_empty() {
        return 1;
    }
    // (slice of keys sharing a prefix, the prefix length): a node starts
    // there. Iterative, so no recursion depth to bound.
    let mut nodes = 0u64;
    let mut stack: Vec<(&[[u8; 16]], usize)> = vec![(keys, 0)];
    while let Some((ks, depth)) = stack.pop() {
        nodes += 1;
        let first = &ks[0];
        let last = &ks[ks.len() - 1];
        let mut common = depth;
        while common < 16 && first[common] == last[common] {
            common += 1;
        }
        if common > depth && common < 16 {
            // A compressed run down to the branching point, which is a
            // node of its own.
            nodes += 1;
        } else if common > depth {
            // A run down to the key's end: the leaf is a node of its own.
            nodes += 1;
            continue;
        }
        if common == 16 {
            continue;
        }
        // Branch at `common`: one child per distinct next byte.
        let mut start = 0;
        while start < ks.len() {
            let b = ks[start][common];
            let mut end = start + 1;
            while end < ks.len() && ks[end][common] == b {
                end += 1;
            }
            stack.push((&ks[start..end], common + 1));
            start = end;
        }
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_sizes_follow_listpack() {
        assert_eq!(int_bytes(0), 2);
        assert_eq!(int_bytes(127), 2);
        assert_eq!(int_bytes(128), 3);
        assert_eq!(int_bytes(-1), 3);
        assert_eq!(int_bytes(4096), 4);
        assert_eq!(int_bytes(40000), 5);
        assert_eq!(int_bytes(1 << 30), 6);
        assert_eq!(int_bytes(i64::MIN), 10);
        // Integer-looking strings are integers; others are strings.
        assert_eq!(str_bytes(b"5"), 2);
        assert_eq!(str_bytes(b"-0"), 4);
        assert_eq!(str_bytes(b"05"), 4);
        assert_eq!(str_bytes(b""), 2);
        assert_eq!(str_bytes(&[b'x'; 63]), 65);
        assert_eq!(str_bytes(&[b'x'; 64]), 66 + 1);
        assert_eq!(str_bytes(&[b'x'; 200]), 202 + 2);
        assert_eq!(str_bytes(&[b'x'; 5000]), 5005 + 2);
    }

    #[test]
    fn a_node_counts_bytes_like_a_listpack() {
        // XADD s 1-1 a 1: header 6, count 2, deleted 2, numfields 2,
        // "a" 3, terminator 2, flags 2, deltas 2+2, value 2, lp-count 2,
        // end 1.
        let n = Node::new(StreamId::new(1, 1), &Entry::new(&["a", "1"]));
        assert_eq!(n.bytes(), 6 + 2 + 2 + 2 + 3 + 2 + 2 + 2 + 2 + 2 + 2 + 1);
        let mut m = n.clone();
        // Same fields: flags, deltas, value, lp-count (and count stays 1
        // byte).
        m.push(StreamId::new(2, 0), &Entry::new(&["a", "x"]));
        assert_eq!(m.bytes(), n.bytes() + 2 + 2 + 3 + 3 + 2);
        // Other fields: plus num-fields and the names.
        let before = m.bytes();
        m.push(StreamId::new(3, 0), &Entry::new(&["b", "x"]));
        assert_eq!(m.bytes(), before + 2 + 2 + 3 + 2 + 3 + 3 + 2);
        assert_eq!((m.live, m.total(), m.last), (3, 3, StreamId::new(3, 0)));
        m.mark_deleted(1);
        assert_eq!((m.live, m.deleted, m.total()), (2, 1, 3));
    }

    #[test]
    fn fullness_follows_both_limits() {
        let limits = NodeLimits {
            max_entries: 2,
            max_bytes: 0,
        };
        let mut n = Node::new(StreamId::new(1, 0), &Entry::new(&["a", "1"]));
        assert!(!n.is_full(2, limits));
        n.push(StreamId::new(2, 0), &Entry::new(&["a", "1"]));
        assert!(n.is_full(2, limits));
        let bytes = NodeLimits {
            max_entries: 0,
            max_bytes: n.bytes() + 10,
        };
        assert!(!n.is_full(9, bytes));
        assert!(n.is_full(10, bytes));
    }

    #[test]
    fn rax_nodes_of_small_trees() {
        let key = |ms: u64, seq: u64| StreamId::new(ms, seq).to_be_bytes();
        assert_eq!(rax_node_count(&[]), 1);
        assert_eq!(rax_node_count(&[key(1, 1)]), 2);
        // Two keys differing in the last byte: run, branch, two leaves.
        assert_eq!(rax_node_count(&[key(1, 1), key(1, 2)]), 4);
        // Differing in the first byte: the root branches at once.
        assert_eq!(rax_node_count(&[key(1, 0), key(1 << 56, 0)]), 5);
    }
}
