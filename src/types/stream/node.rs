//! A stream's listpack-like nodes: each holds a run of entries packed in
//! one buffer, cut where Redis 7.0 would cut its listpacks, with the byte
//! count Redis's listpack would have.
//!
//! Owns: [`Node`] (its master ID, last ID, live and deleted entry counts,
//! the modelled listpack byte count, and the buffer with the master
//! entry's field names and the entries), the entry layout in that buffer,
//! [`NodeLimits`] (`stream-node-max-entries` / `stream-node-max-bytes`),
//! and the listpack size arithmetic.
//!
//! Why nodes: Redis stores a stream as a radix tree of listpacks, and
//! that layout is observable. Approximate trimming (`MAXLEN ~`, `MINID ~`)
//! only drops whole nodes, XINFO STREAM reports the node count as
//! `radix-tree-keys`, and the propagated effect of an approximate trim is
//! the length or first ID that the node cut left. So a new node starts
//! where Redis's streamAppendItem starts one (the tail listpack's bytes
//! plus the new entry's raw field and value lengths reach
//! `stream-node-max-bytes`, or its entries, deleted ones included, reach
//! `stream-node-max-entries`), deleting an entry leaves a tombstone (the
//! node goes when its last live entry does), and the byte count is
//! computed the way listpack.c sizes each element (integers in 1-9 bytes,
//! strings with a 1/2/5-byte header, a 1-5 byte back-length), since that
//! is what the byte rule compares. The same nodes hold the entries, so an
//! entry costs a few bytes (Redis's own trick) instead of a map entry and
//! an allocation of its own.
//!
//! Buffer layout (our own encoding, not a listpack: varints are cheaper
//! to read and smaller for typical IDs; see `packed.rs` for the codecs):
//! the master field names (packed strings; their count is in the node),
//! then per entry
//! - a flags byte: [`FLAG_DELETED`], [`FLAG_SAME_FIELDS`] (its field names
//!   are the master's, stored once for the node);
//! - the ID as deltas from the master ID: ms as a wrapping unsigned
//!   varint, seq as a zigzag varint (a later millisecond's seq 0 is below
//!   the master's seq);
//! - with the same fields, the values as packed strings; else the pair
//!   count, then field, value, ... as packed strings;
//! - a back-length: the bytes from the flags to here, read right to left
//!   (walking a node backwards for XREVRANGE).
//!
//! Must never: size anything by a client's claim, or keep an entry out of
//! order: live entries in a buffer ascend (an append's ID is above every
//! live one); tombstones may not (XSETID can lower the last ID below a
//! deleted entry, and the next append follows it in the buffer), so a
//! lookup skips tombstones before comparing IDs.
//!
//! Invariants: `live + deleted` is the number of entries ever appended to
//! the node; the buffer holds the `live` entries and the tombstones that
//! XDEL or an exact trim left (a loaded image's tombstones are counted,
//! in bytes and `deleted`, but not stored: nothing reads them); no live
//! entry starts before `live_from`; `master <= last`; a node with `live == 0` exists only after an exact trim
//! emptied it (XDEL removes a node with its last live entry, as Redis
//! does).

use super::packed::{
    get_backlen, put_backlen, put_str, put_varint, read_varint, skip_strs, unzigzag, varint_len,
    zigzag, EntryRef,
};
use super::{Entry, StreamId};

/// Redis's hard cap on one listpack (STREAM_LISTPACK_MAX_SIZE): also the
/// node byte limit when `stream-node-max-bytes` is 0 or larger.
pub const LISTPACK_MAX_BYTES: u64 = 1 << 30;

/// An entry's flags byte: deleted (a tombstone).
pub const FLAG_DELETED: u8 = 1;
/// An entry's flags byte: its field names are the node master's.
pub const FLAG_SAME_FIELDS: u8 = 2;

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

/// One listpack-like node of the stream.
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
    /// Modelled listpack bytes except the header, the end byte and the two
    /// counters (which change size as they change value).
    body_bytes: u64,
    /// The master field names, then the entries (module comment).
    data: Vec<u8>,
    /// Where the entries start in `data` (after the master field names).
    entries_at: usize,
    /// No live entry starts before this offset (>= `entries_at`): exact
    /// trims leave a run of tombstones at a node's front, which reads of
    /// the first entry, and the next trim, would otherwise walk each time
    /// (XADD with an exact MAXLEN trims one entry per call).
    live_from: usize,
    /// Number of master field names.
    master_fields: usize,
    /// Takes no more entries (a loaded image ended the node here).
    sealed: bool,
}

/// One entry decoded from a node's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Decoded<'a> {
    pub id: StreamId,
    pub deleted: bool,
    pub entry: EntryRef<'a>,
    /// Offset just past the entry (where the next one starts).
    pub end: usize,
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
    /// A node started by the entry `id` with `entry`'s fields and values.
    pub fn new(id: StreamId, entry: &Entry) -> Node {
        let mut n = Node::start(id, entry.strings(), 0);
        n.push(id, entry);
        n
    }

    /// A node keyed by `id` whose master fields are those of `strings`
    /// (field, value, ...), with no entry yet; its buffer starts with
    /// room for `capacity` bytes (a guess from the previous node, so a
    /// steady stream's nodes do not regrow their buffers).
    pub(super) fn start<'s, I>(id: StreamId, strings: I, capacity: usize) -> Node
    where
        I: Iterator<Item = &'s [u8]> + Clone,
    {
        let fields = strings.step_by(2);
        let n = fields.clone().count();
        // Master entry: num-fields, the field names, a 0 terminator.
        let body = int_bytes(n as i64) + fields.clone().map(str_bytes).sum::<u64>() + int_bytes(0);
        let mut data = Vec::with_capacity(capacity);
        for f in fields {
            put_str(&mut data, f);
        }
        Node {
            master: id,
            last: id,
            live: 0,
            deleted: 0,
            body_bytes: body,
            entries_at: data.len(),
            live_from: data.len(),
            data,
            master_fields: n,
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

    /// Append the live entry `id` (above every live entry of the node).
    pub fn push(&mut self, id: StreamId, entry: &Entry) {
        self.push_strings(id, entry.strings());
    }

    /// [`Node::push`] from the entry's strings (field, value, ...).
    pub(super) fn push_strings<'s, I>(&mut self, id: StreamId, strings: I)
    where
        I: Iterator<Item = &'s [u8]> + Clone,
    {
        let same = self.same_fields(strings.clone());
        self.body_bytes += Self::entry_bytes(self.master, id, strings.clone(), same);
        let start = self.data.len();
        self.data.push(if same { FLAG_SAME_FIELDS } else { 0 });
        put_varint(&mut self.data, id.ms.wrapping_sub(self.master.ms));
        put_varint(
            &mut self.data,
            zigzag(id.seq.wrapping_sub(self.master.seq) as i64),
        );
        if same {
            for v in strings.skip(1).step_by(2) {
                put_str(&mut self.data, v);
            }
        } else {
            put_varint(&mut self.data, (strings.clone().count() / 2) as u64);
            for s in strings {
                put_str(&mut self.data, s);
            }
        }
        let len = self.data.len() - start;
        put_backlen(&mut self.data, len as u64);
        self.live += 1;
        self.last = id;
    }

    /// Count a loaded image's deleted entry: its bytes fill the node as in
    /// Redis, but it is not stored (nothing reads a tombstone's content).
    pub(super) fn push_tombstone(&mut self, id: StreamId, entry: &Entry) {
        let same = self.same_fields(entry.strings());
        self.body_bytes += Self::entry_bytes(self.master, id, entry.strings(), same);
        self.deleted += 1;
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

    /// Give back the buffer's unused room (the node stopped growing).
    pub(super) fn shrink(&mut self) {
        self.data.shrink_to_fit();
    }

    /// Bytes the buffer holds.
    pub(super) fn data_len(&self) -> usize {
        self.data.len()
    }

    /// Heap bytes (MEMORY USAGE): the summary and the buffer.
    pub fn heap_size(&self) -> usize {
        std::mem::size_of::<Node>() + self.data.capacity()
    }

    /// `n` live entries of this node became tombstones (the counts only;
    /// [`Node::delete_at`] also marks the entry).
    pub fn mark_deleted(&mut self, n: u64) {
        debug_assert!(n <= self.live);
        self.live -= n;
        self.deleted += n;
    }

    /// Mark the live entry at `at` (an offset [`Node::find_live`] or
    /// [`Node::decode`] gave) deleted, in place as Redis does.
    pub(super) fn delete_at(&mut self, at: usize) {
        if let Some(flags) = self.data.get_mut(at) {
            debug_assert!(*flags & FLAG_DELETED == 0);
            *flags |= FLAG_DELETED;
            self.mark_deleted(1);
        }
    }

    /// Offset of the first entry in the buffer.
    pub(super) fn entries_start(&self) -> usize {
        self.entries_at
    }

    /// Offset from which live entries may start (the entries before it
    /// are all tombstones).
    pub(super) fn live_start(&self) -> usize {
        self.live_from
    }

    /// Every entry before `at` (an entry boundary) is a tombstone.
    pub(super) fn tombstones_before(&mut self, at: usize) {
        debug_assert!(at >= self.live_from && at <= self.data.len());
        self.live_from = at.min(self.data.len());
    }

    /// The flags byte, the ID (stored as deltas from the master entry) and
    /// the position after them, of the entry starting at `at`.
    #[inline(always)]
    fn header(&self, d: &[u8], at: usize) -> Option<(u8, StreamId, usize)> {
        let flags = *d.get(at)?;
        let (dms, p) = read_varint(d, at + 1)?;
        let (dseq, p) = read_varint(d, p)?;
        let id = StreamId::new(
            self.master.ms.wrapping_add(dms),
            self.master.seq.wrapping_add(unzigzag(dseq) as u64),
        );
        Some((flags, id, p))
    }

    /// The entry starting at `at`. (Inlined: the range iterator calls it
    /// per entry, and the returned view then costs no copy.)
    #[inline(always)]
    pub(super) fn decode(&self, at: usize) -> Option<Decoded<'_>> {
        let d = self.data.as_slice();
        let (flags, id, p) = self.header(d, at)?;
        let shared = flags & FLAG_SAME_FIELDS != 0;
        let (pairs, strings_at, count) = if shared {
            (self.master_fields, p, self.master_fields)
        } else {
            let (n, p) = read_varint(d, p)?;
            let n = usize::try_from(n).ok()?;
            (n, p, n.checked_mul(2)?)
        };
        let strings_end = skip_strs(d, strings_at, count)?;
        let end = strings_end + varint_len((strings_end - at) as u64);
        if end > d.len() {
            return None;
        }
        let own = &d[strings_at..strings_end];
        let entry = if shared {
            EntryRef::shared(self.master_field_bytes(), own, pairs)
        } else {
            EntryRef::inline(own, pairs)
        };
        Some(Decoded {
            id,
            deleted: flags & FLAG_DELETED != 0,
            entry,
            end,
        })
    }

    /// The master field names, as packed strings.
    fn master_field_bytes(&self) -> &[u8] {
        self.data.get(..self.entries_at).unwrap_or_default()
    }

    /// Where the entry that ends at `end` starts (None at the first).
    pub(super) fn start_before(&self, end: usize) -> Option<usize> {
        if end <= self.entries_at {
            return None;
        }
        let (len, used) = get_backlen(&self.data, end)?;
        let start = end
            .checked_sub(used)?
            .checked_sub(usize::try_from(len).ok()?)?;
        (start >= self.entries_at).then_some(start)
    }

    /// Offset of the live entry `id`, scanning the node (bounded by the
    /// node limits, as Redis's lookups scan a listpack).
    pub(super) fn find_live(&self, id: StreamId) -> Option<usize> {
        let at = self.seek(id);
        let e = self.decode(at)?;
        (e.id == id).then_some(at)
    }

    /// Offset of the first live entry whose ID is >= `id`, or the end of
    /// the buffer. Reads only each entry's flags and ID and skips its
    /// strings (a range starting inside a node walks up to a node's worth
    /// of entries).
    pub(super) fn seek(&self, id: StreamId) -> usize {
        let d = self.data.as_slice();
        let mut at = self.live_from;
        while let Some((here, end)) = self.skim(d, at) {
            if here.0 && here.1 >= id {
                return at;
            }
            at = end;
        }
        d.len()
    }

    /// ((live, ID), end) of the entry at `at`, without building a view.
    #[inline(always)]
    fn skim(&self, d: &[u8], at: usize) -> Option<((bool, StreamId), usize)> {
        let (flags, id, p) = self.header(d, at)?;
        let strings_end = if flags & FLAG_SAME_FIELDS != 0 {
            skip_strs(d, p, self.master_fields)?
        } else {
            let (n, p) = read_varint(d, p)?;
            skip_strs(d, p, usize::try_from(n).ok()?.checked_mul(2)?)?
        };
        let end = strings_end + varint_len((strings_end - at) as u64);
        Some(((flags & FLAG_DELETED == 0, id), end))
    }

    /// Whether an entry with these strings has the master's field names.
    fn same_fields<'s>(&self, strings: impl Iterator<Item = &'s [u8]>) -> bool {
        let mut master = self.master_field_bytes();
        let mut n = 0;
        for f in strings.step_by(2) {
            match super::packed::take_str(&mut master) {
                Some(m) if m == f => n += 1,
                _ => return false,
            }
        }
        n == self.master_fields
    }

    /// Bytes of one entry: flags, the ID deltas from the master, the field
    /// count and names unless they are the master's, the values, and the
    /// lp-count that lets a reader walk back.
    fn entry_bytes<'s>(
        master: StreamId,
        id: StreamId,
        strings: impl Iterator<Item = &'s [u8]>,
        same: bool,
    ) -> u64 {
        let mut bytes =
            FLAGS_BYTES + delta_bytes(id.ms, master.ms) + delta_bytes(id.seq, master.seq);
        let mut n = 0u64;
        for (i, s) in strings.enumerate() {
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
