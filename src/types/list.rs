//! The list type: a "quicklist", a deque of packed nodes, like Redis's.
//!
//! Owns: the elements of one list, in order, and every primitive the list
//! commands need (push/pop at both ends, index, iterate both ways, replace,
//! insert, remove matches, trim).
//!
//! Representation. A list is a sequence of *nodes*. A node is one
//! contiguous byte buffer that holds several elements back to back, each
//! encoded as
//!
//! ```text
//!     [len: LEB128 varint][the element's bytes][len again, bytes reversed]
//! ```
//!
//! The leading length lets a walk go forward; the trailing copy, written
//! back to front so it can be decoded starting from its last byte, lets a
//! walk go backward (Redis's listpack calls it the "backlen"). An element
//! of up to 127 bytes costs its bytes plus 2. The alternative the design
//! guide suggests, `VecDeque<CompactBytes>`, costs 24 bytes per slot plus a
//! heap block for anything longer than 22 bytes: a list of 1,000 ten-byte
//! elements takes about 12 KB here and 24-32 KB as such a deque. The price
//! is that reaching the middle of a node means walking its entries.
//!
//! Costs (n = elements, N = nodes, S = node size, 8 KB by default):
//! - push/pop at either end: O(1) in n. Only the end node is touched; at the
//!   front of a node that moves the node's bytes (one memmove of at most S,
//!   as Redis's listpack does).
//! - index access (LINDEX, LSET, LRANGE's start): walk the node counts from
//!   the nearer end, then the entries of one node: O(N + S), as in Redis.
//! - LREM, LINSERT, LPOS: a scan, O(n).
//!
//! Node sizes follow `list-max-listpack-size` (Redis's `fill`): negative
//! values -1..-5 cap a node at 4/8/16/32/64 KB, positive values cap the
//! number of entries (and the bytes at 8 KB). An element too big for any
//! node gets a node of its own, which is how Redis stores large elements
//! too. The small common case, a list that fits in one node, is stored
//! without the node array (`Nodes::One`): one heap block for the box and
//! one for the bytes.
//!
//! Encodings: Redis 7.0 reports `quicklist` for every list, whatever its
//! size (the `listpack` list encoding arrived in 7.2), and so do we.
//!
//! Must never: keep an empty node, or let a node holding more than one
//! element exceed the size its fill allows (a node is split in two when an
//! insert or replace makes it too big).
//!
//! Invariants: `len` is the sum of the nodes' counts; every node's buffer
//! decodes to exactly `count` entries; `Nodes::Many` never holds exactly
//! one node (that is `Nodes::One`).

use std::collections::VecDeque;
use std::ops::Range;

/// An end of a list. Redis's LEFT is the head, RIGHT the tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

impl End {
    /// Parse LEFT / RIGHT (any case), as LMOVE, BLMOVE and LMPOP take them.
    pub fn parse(arg: &[u8]) -> Option<End> {
        if arg.eq_ignore_ascii_case(b"left") {
            Some(End::Head)
        } else if arg.eq_ignore_ascii_case(b"right") {
            Some(End::Tail)
        } else {
            None
        }
    }
}

/// Node byte caps for fill -1..-5 (Redis's `optimization_level`).
const SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// With a positive fill (entries per node) a node still stays within this
/// many bytes (Redis's SIZE_SAFETY_LIMIT).
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Largest positive fill (Redis's FILL_MAX).
const FILL_MAX: i64 = 1 << 15;
/// Node buffers with more spare capacity than this are candidates for
/// shrinking after removals (small buffers are not worth a realloc).
const SHRINK_MIN_CAPACITY: usize = 64;

/// How full a node may get: the `list-max-listpack-size` setting, clamped
/// as Redis clamps it (-5..=32768).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill(i64);

impl Fill {
    pub fn new(list_max_listpack_size: i64) -> Fill {
        Fill(list_max_listpack_size.clamp(-5, FILL_MAX))
    }

    /// Can one node hold `count` entries taking `bytes` in all? (Redis's
    /// `_quicklistNodeAllowInsert` rule, applied to the size after.)
    fn fits(self, bytes: usize, count: usize) -> bool {
        if self.0 < 0 && bytes <= SIZE_LEVELS[(-self.0 - 1) as usize] {
            return true;
        }
        bytes <= SIZE_SAFETY_LIMIT && count as i64 <= self.0
    }

    /// The byte size a node is not expected to grow beyond, so a growing
    /// buffer never reserves much past it.
    fn max_bytes(self) -> usize {
        if self.0 < 0 {
            SIZE_LEVELS[(-self.0 - 1) as usize]
        } else {
            SIZE_SAFETY_LIMIT
        }
    }
}

impl Default for Fill {
    /// Redis's default, -2: 8 KB nodes.
    fn default() -> Fill {
        Fill(-2)
    }
}

// ---------------------------------------------------------------------------
// Entry encoding

/// Bytes of the LEB128 encoding of `n`.
fn varint_len(mut n: usize) -> usize {
    let mut k = 1;
    while n >= 0x80 {
        n >>= 7;
        k += 1;
    }
    k
}

/// Bytes an element of `len` bytes takes in a node.
fn entry_size(len: usize) -> usize {
    2 * varint_len(len) + len
}

/// Encode `v` into `dst`, which is exactly `entry_size(v.len())` long.
fn write_entry(dst: &mut [u8], v: &[u8]) {
    let k = varint_len(v.len());
    let last = dst.len() - 1;
    let mut n = v.len();
    for i in 0..k {
        let mut b = (n & 0x7f) as u8;
        n >>= 7;
        if i + 1 < k {
            b |= 0x80;
        }
        dst[i] = b;
        dst[last - i] = b;
    }
    dst[k..k + v.len()].copy_from_slice(v);
}

/// Decode the entry starting at `off` in `buf`: its data range and the
/// next entry's offset. Elements under 128 bytes (the usual case) take
/// the one-byte path.
#[inline]
fn decode_at(buf: &[u8], off: usize) -> (Range<usize>, usize) {
    let b = buf[off];
    if b < 0x80 {
        let start = off + 1;
        let end = start + b as usize;
        return (start..end, end + 1);
    }
    let mut n = 0usize;
    let mut shift = 0;
    let mut i = off;
    loop {
        let b = buf[i];
        n |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let k = i - off;
    (i..i + n, off + 2 * k + n)
}

/// Decode the entry ending at `end` in `buf`: its data range and its
/// start offset.
#[inline]
fn decode_before(buf: &[u8], end: usize) -> (Range<usize>, usize) {
    let b = buf[end - 1];
    if b < 0x80 {
        let data_end = end - 1;
        let start = data_end - b as usize;
        return (start..data_end, start - 1);
    }
    let mut n = 0usize;
    let mut shift = 0;
    let mut i = end;
    loop {
        i -= 1;
        let b = buf[i];
        n |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let k = end - i;
    let start = end - 2 * k - n;
    (start + k..start + k + n, start)
}

/// One node: packed entries and their number.
#[derive(Debug, Clone, Default)]
struct Node {
    buf: Vec<u8>,
    count: u32,
}

impl Node {
    /// The entry starting at `off`: its data range and the next entry's
    /// offset.
    fn entry_at(&self, off: usize) -> (Range<usize>, usize) {
        decode_at(&self.buf, off)
    }

    /// The entry ending at `end`: its data range and its start offset.
    fn entry_before(&self, end: usize) -> (Range<usize>, usize) {
        decode_before(&self.buf, end)
    }

    /// Byte offset where entry `i` starts (`i == count` gives the end),
    /// walking from whichever end of the node is nearer.
    fn offset_of(&self, i: usize) -> usize {
        let count = self.count as usize;
        if i <= count / 2 {
            let mut off = 0;
            for _ in 0..i {
                off = self.entry_at(off).1;
            }
            off
        } else {
            let mut end = self.buf.len();
            for _ in 0..count - i {
                end = self.entry_before(end).1;
            }
            end
        }
    }

    /// Make room for `extra` more bytes. Growth doubles (amortised O(1)
    /// appends) but never reserves past the node's size cap, so a full
    /// node wastes little; the first reservation is exact, because most
    /// lists hold a handful of elements.
    fn reserve(&mut self, extra: usize, max_bytes: usize) {
        let needed = self.buf.len() + extra;
        if needed <= self.buf.capacity() {
            return;
        }
        let target = needed
            .max(self.buf.capacity() * 2)
            .min(max_bytes.max(needed));
        self.buf.reserve_exact(target - self.buf.len());
    }

    /// Insert `v` as a new entry at byte offset `off` (an entry boundary).
    fn insert_entry(&mut self, off: usize, v: &[u8], max_bytes: usize) {
        let size = entry_size(v.len());
        self.reserve(size, max_bytes);
        let old = self.buf.len();
        self.buf.resize(old + size, 0);
        self.buf.copy_within(off..old, off + size);
        write_entry(&mut self.buf[off..off + size], v);
        self.count += 1;
    }

    /// Remove the bytes of `entries` whole entries.
    fn remove_bytes(&mut self, range: Range<usize>, entries: u32) {
        self.buf.drain(range);
        self.count -= entries;
        self.maybe_shrink();
    }

    /// Give memory back once a node has lost most of its bytes; keeping
    /// twice the length leaves room to grow again without a realloc ping
    /// pong.
    fn maybe_shrink(&mut self) {
        let cap = self.buf.capacity();
        if cap > SHRINK_MIN_CAPACITY && self.buf.len() < cap / 4 {
            self.buf.shrink_to(self.buf.len() * 2);
        }
    }

    fn count_matching(&self, value: &[u8]) -> usize {
        let mut off = 0;
        let mut n = 0;
        while off < self.buf.len() {
            let (data, next) = self.entry_at(off);
            if &self.buf[data] == value {
                n += 1;
            }
            off = next;
        }
        n
    }

    /// Remove up to `max` entries equal to `value`, front to back, after
    /// leaving the first `skip` matches in place. One pass that compacts
    /// the buffer in place. Returns how many were removed.
    fn remove_matching(&mut self, value: &[u8], max: usize, mut skip: usize) -> usize {
        let len = self.buf.len();
        let (mut r, mut w, mut removed) = (0, 0, 0);
        while r < len {
            if removed == max {
                // Nothing more to remove: slide the rest down in one go.
                self.buf.copy_within(r..len, w);
                w += len - r;
                break;
            }
            let (data, next) = self.entry_at(r);
            if &self.buf[data] == value {
                if skip == 0 {
                    removed += 1;
                    r = next;
                    continue;
                }
                skip -= 1;
            }
            if w != r {
                self.buf.copy_within(r..next, w);
            }
            w += next - r;
            r = next;
        }
        self.buf.truncate(w);
        self.count -= removed as u32;
        self.maybe_shrink();
        removed
    }
}

/// The node sequence. One node (the common case: a small list) is stored
/// inline, with no node array to allocate.
#[derive(Debug, Clone)]
enum Nodes {
    One(Node),
    /// Zero nodes (an empty list, before its first push) or at least two.
    Many(VecDeque<Node>),
}

impl Nodes {
    fn len(&self) -> usize {
        match self {
            Nodes::One(_) => 1,
            Nodes::Many(d) => d.len(),
        }
    }

    fn get(&self, i: usize) -> &Node {
        match self {
            Nodes::One(n) => n,
            Nodes::Many(d) => &d[i],
        }
    }

    fn get_mut(&mut self, i: usize) -> &mut Node {
        match self {
            Nodes::One(n) => n,
            Nodes::Many(d) => &mut d[i],
        }
    }

    fn insert(&mut self, i: usize, node: Node) {
        match self {
            Nodes::Many(d) if d.is_empty() => *self = Nodes::One(node),
            Nodes::Many(d) => d.insert(i, node),
            Nodes::One(first) => {
                let first = std::mem::take(first);
                let mut d = VecDeque::with_capacity(2);
                d.push_back(first);
                d.insert(i, node);
                *self = Nodes::Many(d);
            }
        }
    }

    fn remove(&mut self, i: usize) -> Node {
        match self {
            Nodes::One(n) => {
                let n = std::mem::take(n);
                *self = Nodes::Many(VecDeque::new());
                n
            }
            Nodes::Many(d) => {
                let n = d.remove(i).unwrap_or_default();
                if d.len() == 1 {
                    let only = d.pop_front().unwrap_or_default();
                    *self = Nodes::One(only);
                }
                n
            }
        }
    }
}

/// A list value.
#[derive(Clone)]
pub struct ListValue {
    nodes: Nodes,
    len: usize,
}

impl std::fmt::Debug for ListValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListValue")
            .field("len", &self.len)
            .field("nodes", &self.nodes.len())
            .finish()
    }
}

impl Default for ListValue {
    fn default() -> ListValue {
        ListValue::new()
    }
}

impl ListValue {
    /// An empty list (allocates nothing). Callers never store an empty
    /// list in the keyspace: they push first.
    pub fn new() -> ListValue {
        ListValue {
            nodes: Nodes::Many(VecDeque::new()),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// OBJECT ENCODING name: always "quicklist" in Redis 7.0.
    pub fn encoding_name(&self) -> &'static str {
        "quicklist"
    }

    /// Heap bytes owned by the value (the box itself included).
    pub fn heap_size(&self) -> usize {
        let array = match &self.nodes {
            Nodes::One(_) => 0,
            Nodes::Many(d) => d.capacity() * std::mem::size_of::<Node>(),
        };
        let bytes: usize = (0..self.nodes.len())
            .map(|i| self.nodes.get(i).buf.capacity())
            .sum();
        std::mem::size_of::<ListValue>() + array + bytes
    }

    /// Nodes holding the elements (DEBUG OBJECT's `ql_nodes`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Bytes of packed entries in all nodes, without spare capacity
    /// (DEBUG OBJECT's `ql_uncompressed_size`).
    pub fn packed_bytes(&self) -> usize {
        (0..self.nodes.len())
            .map(|i| self.nodes.get(i).buf.len())
            .sum()
    }

    /// Allocations freeing the value releases (lazy-free decision): one
    /// per node, as Redis counts a quicklist.
    pub fn free_effort(&self) -> usize {
        self.nodes.len().max(1)
    }

    /// Push `v` at one end. A new node is started when the end node is
    /// full.
    pub fn push(&mut self, end: End, v: &[u8], fill: Fill) {
        let size = entry_size(v.len());
        let n = self.nodes.len();
        self.len += 1;
        if n > 0 {
            let i = match end {
                End::Head => 0,
                End::Tail => n - 1,
            };
            let node = self.nodes.get_mut(i);
            if fill.fits(node.buf.len() + size, node.count as usize + 1) {
                let off = match end {
                    End::Head => 0,
                    End::Tail => node.buf.len(),
                };
                node.insert_entry(off, v, fill.max_bytes());
                return;
            }
        }
        let mut node = Node::default();
        node.insert_entry(0, v, fill.max_bytes());
        let at = match end {
            End::Head => 0,
            End::Tail => n,
        };
        self.nodes.insert(at, node);
    }

    /// Pop one element from `end`, handing its bytes to `f` before they
    /// are removed (so a reply can be written without copying).
    pub fn pop_with<R>(&mut self, end: End, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let n = self.nodes.len();
        if n == 0 {
            return None;
        }
        let i = match end {
            End::Head => 0,
            End::Tail => n - 1,
        };
        let node = self.nodes.get_mut(i);
        let (data, range) = match end {
            End::Head => {
                let (data, next) = node.entry_at(0);
                (data, 0..next)
            }
            End::Tail => {
                let len = node.buf.len();
                let (data, start) = node.entry_before(len);
                (data, start..len)
            }
        };
        let r = f(&node.buf[data]);
        node.remove_bytes(range, 1);
        if node.count == 0 {
            self.nodes.remove(i);
        }
        self.len -= 1;
        Some(r)
    }

    /// Pop one element from `end` as an owned vector.
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        self.pop_with(end, |b| b.to_vec())
    }

    /// (node, entry within the node) of element `index`, which must be
    /// below `len`. Walks node counts from the nearer end.
    fn locate(&self, index: usize) -> (usize, usize) {
        debug_assert!(index < self.len);
        let n = self.nodes.len();
        if index < self.len / 2 {
            let mut rem = index;
            for i in 0..n {
                let c = self.nodes.get(i).count as usize;
                if rem < c {
                    return (i, rem);
                }
                rem -= c;
            }
        } else {
            let mut rem = self.len - 1 - index;
            for i in (0..n).rev() {
                let c = self.nodes.get(i).count as usize;
                if rem < c {
                    return (i, c - 1 - rem);
                }
                rem -= c;
            }
        }
        (n.saturating_sub(1), 0)
    }

    /// Element `index` (0 = head), or None past the end.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        if index >= self.len {
            return None;
        }
        let (i, e) = self.locate(index);
        let node = self.nodes.get(i);
        let (data, _) = node.entry_at(node.offset_of(e));
        Some(&node.buf[data])
    }

    /// Iterate from the head.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0)
    }

    /// Iterate from element `start` towards the tail.
    pub fn iter_from(&self, start: usize) -> Iter<'_> {
        if start >= self.len {
            return Iter {
                nodes: &self.nodes,
                node: 0,
                buf: &[],
                off: 0,
                remaining: 0,
            };
        }
        let (i, e) = self.locate(start);
        let node = self.nodes.get(i);
        Iter {
            nodes: &self.nodes,
            node: i,
            buf: &node.buf,
            off: node.offset_of(e),
            remaining: self.len - start,
        }
    }

    /// Iterate from the tail towards the head.
    pub fn iter_rev(&self) -> RevIter<'_> {
        self.iter_rev_from(self.len.wrapping_sub(1))
    }

    /// Iterate from element `index` towards the head (index, index-1, ...
    /// 0). An index past the end yields nothing.
    pub fn iter_rev_from(&self, index: usize) -> RevIter<'_> {
        if index >= self.len {
            return RevIter {
                nodes: &self.nodes,
                node: 0,
                buf: &[],
                end: 0,
                remaining: 0,
            };
        }
        let (i, e) = self.locate(index);
        let node = self.nodes.get(i);
        RevIter {
            nodes: &self.nodes,
            node: i,
            buf: &node.buf,
            end: node.offset_of(e + 1),
            remaining: index + 1,
        }
    }

    /// Replace element `index`; false if it is out of range.
    pub fn set(&mut self, index: usize, v: &[u8], fill: Fill) -> bool {
        if index >= self.len {
            return false;
        }
        let (i, e) = self.locate(index);
        let node = self.nodes.get_mut(i);
        let start = node.offset_of(e);
        let (_, next) = node.entry_at(start);
        let mut entry = vec![0u8; entry_size(v.len())];
        write_entry(&mut entry, v);
        node.buf.splice(start..next, entry);
        self.split_oversized(i, fill);
        true
    }

    /// Insert `v` so that it becomes element `index` (0..=len).
    pub fn insert(&mut self, index: usize, v: &[u8], fill: Fill) {
        if index == 0 {
            return self.push(End::Head, v, fill);
        }
        if index >= self.len {
            return self.push(End::Tail, v, fill);
        }
        let (mut i, e) = self.locate(index);
        let size = entry_size(v.len());
        let mut off = self.nodes.get(i).offset_of(e);
        // At a node boundary, append to the previous node if it has room
        // rather than growing (and maybe splitting) this one.
        if e == 0 && i > 0 {
            let prev = self.nodes.get(i - 1);
            if fill.fits(prev.buf.len() + size, prev.count as usize + 1) {
                i -= 1;
                off = prev.buf.len();
            }
        }
        self.nodes.get_mut(i).insert_entry(off, v, fill.max_bytes());
        self.len += 1;
        self.split_oversized(i, fill);
    }

    /// Split node `i` (and the halves, as needed) until every node with
    /// more than one entry fits the fill. Each split halves a count, so
    /// this ends after at most a few rounds per node.
    fn split_oversized(&mut self, i: usize, fill: Fill) {
        let mut j = i;
        let mut end = i + 1;
        while j < end {
            let node = self.nodes.get_mut(j);
            if node.count <= 1 || fill.fits(node.buf.len(), node.count as usize) {
                j += 1;
                continue;
            }
            let half = node.count / 2;
            let off = node.offset_of(half as usize);
            let tail = Node {
                buf: node.buf[off..].to_vec(),
                count: node.count - half,
            };
            node.buf.truncate(off);
            node.buf.shrink_to_fit();
            node.count = half;
            self.nodes.insert(j + 1, tail);
            end += 1;
        }
    }

    /// Drop empty nodes and merge neighbours whose contents fit one node,
    /// after removals in the middle of the list (LREM) left nodes sparse.
    fn compact(&mut self, fill: Fill) {
        let mut i = 0;
        while i < self.nodes.len() {
            if self.nodes.get(i).count == 0 {
                self.nodes.remove(i);
                continue;
            }
            if i + 1 < self.nodes.len() {
                let (a, b) = (self.nodes.get(i), self.nodes.get(i + 1));
                if b.count > 0 && fill.fits(a.buf.len() + b.buf.len(), (a.count + b.count) as usize)
                {
                    let b = self.nodes.remove(i + 1);
                    let a = self.nodes.get_mut(i);
                    a.buf.extend_from_slice(&b.buf);
                    a.count += b.count;
                    continue;
                }
            }
            i += 1;
        }
    }

    /// LREM: remove elements equal to `value`; `count` > 0 removes the
    /// first `count` from the head, < 0 the first |count| from the tail,
    /// 0 all of them. Returns how many were removed.
    pub fn remove_matching(&mut self, value: &[u8], count: i64, fill: Fill) -> usize {
        let limit = if count == 0 {
            usize::MAX
        } else {
            usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
        };
        let mut removed = 0;
        let n = self.nodes.len();
        if count >= 0 {
            for i in 0..n {
                if removed == limit {
                    break;
                }
                removed += self
                    .nodes
                    .get_mut(i)
                    .remove_matching(value, limit - removed, 0);
            }
        } else {
            for i in (0..n).rev() {
                if removed == limit {
                    break;
                }
                let node = self.nodes.get_mut(i);
                let m = node.count_matching(value);
                let take = m.min(limit - removed);
                if take > 0 {
                    removed += node.remove_matching(value, take, m - take);
                }
            }
        }
        self.len -= removed;
        if removed > 0 {
            self.compact(fill);
        }
        removed
    }

    /// Remove the first `n` elements (all of them if `n >= len`).
    pub fn remove_front(&mut self, n: usize) {
        let mut n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let head = self.nodes.get_mut(0);
            let c = head.count as usize;
            if c <= n {
                self.nodes.remove(0);
                n -= c;
            } else {
                let off = head.offset_of(n);
                head.remove_bytes(0..off, n as u32);
                n = 0;
            }
        }
    }

    /// Remove the last `n` elements (all of them if `n >= len`).
    pub fn remove_back(&mut self, n: usize) {
        let mut n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let last = self.nodes.len() - 1;
            let tail = self.nodes.get_mut(last);
            let c = tail.count as usize;
            if c <= n {
                self.nodes.remove(last);
                n -= c;
            } else {
                let off = tail.offset_of(c - n);
                let len = tail.buf.len();
                tail.remove_bytes(off..len, n as u32);
                n = 0;
            }
        }
    }

    /// Remove `n` elements from `end` (the elements a counted pop took).
    pub fn remove_end(&mut self, end: End, n: usize) {
        match end {
            End::Head => self.remove_front(n),
            End::Tail => self.remove_back(n),
        }
    }

    /// Check every invariant (tests).
    #[cfg(test)]
    fn check(&self, fill: Fill) {
        if let Nodes::Many(d) = &self.nodes {
            assert_ne!(d.len(), 1, "Many with one node");
        }
        let mut total = 0;
        for i in 0..self.nodes.len() {
            let node = self.nodes.get(i);
            assert!(node.count > 0, "empty node");
            let mut off = 0;
            let mut n = 0;
            while off < node.buf.len() {
                off = node.entry_at(off).1;
                n += 1;
            }
            assert_eq!(off, node.buf.len());
            assert_eq!(n, node.count);
            if node.count > 1 {
                assert!(
                    fill.fits(node.buf.len(), node.count as usize),
                    "oversized node"
                );
            }
            total += node.count as usize;
        }
        assert_eq!(total, self.len);
    }
}

/// Forward iterator over a list's elements.
pub struct Iter<'a> {
    nodes: &'a Nodes,
    node: usize,
    /// The current node's bytes (cached: the node array is indexed only
    /// when the walk crosses into the next node).
    buf: &'a [u8],
    off: usize,
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        if self.off >= self.buf.len() {
            // Nodes are never empty, so one step reaches the next entry.
            self.node += 1;
            self.off = 0;
            self.buf = &self.nodes.get(self.node).buf;
        }
        let (data, next) = decode_at(self.buf, self.off);
        self.off = next;
        self.remaining -= 1;
        Some(&self.buf[data])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// Backward iterator over a list's elements.
pub struct RevIter<'a> {
    nodes: &'a Nodes,
    node: usize,
    /// The current node's bytes.
    buf: &'a [u8],
    /// Offset just past the next entry to yield, in `buf`.
    end: usize,
    remaining: usize,
}

impl<'a> Iterator for RevIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        if self.end == 0 {
            self.node -= 1;
            self.buf = &self.nodes.get(self.node).buf;
            self.end = self.buf.len();
        }
        let (data, start) = decode_before(self.buf, self.end);
        self.end = start;
        self.remaining -= 1;
        Some(&self.buf[data])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for RevIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(l: &ListValue) -> Vec<Vec<u8>> {
        l.iter().map(|b| b.to_vec()).collect()
    }

    /// A tiny deterministic generator (xorshift) for the model test.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn element(rng: &mut Rng) -> Vec<u8> {
        // Mostly short values from a small alphabet (so LREM/LPOS find
        // matches), sometimes long ones that need multi-byte lengths or a
        // node of their own.
        match rng.below(10) {
            0 => vec![b'x'; 100 + rng.below(300)],
            1 => vec![b'y'; 5000 + rng.below(10000)],
            _ => format!("v{}", rng.below(8)).into_bytes(),
        }
    }

    #[test]
    fn entry_encoding_round_trips_all_length_classes() {
        for len in [0usize, 1, 127, 128, 300, 16383, 16384, 70000] {
            let v = vec![7u8; len];
            let mut node = Node::default();
            node.insert_entry(0, &v, 8192);
            node.insert_entry(0, b"head", 8192);
            let (d, next) = node.entry_at(0);
            assert_eq!(&node.buf[d], b"head");
            let (d, end) = node.entry_at(next);
            assert_eq!(node.buf[d].len(), len);
            assert_eq!(end, node.buf.len());
            let (d, start) = node.entry_before(end);
            assert_eq!(node.buf[d].len(), len);
            assert_eq!(start, next);
        }
    }

    #[test]
    fn push_pop_both_ends() {
        let fill = Fill::default();
        let mut l = ListValue::new();
        for i in 0..10_000 {
            l.push(End::Tail, format!("t{i}").as_bytes(), fill);
            l.push(End::Head, format!("h{i}").as_bytes(), fill);
        }
        l.check(fill);
        assert_eq!(l.len(), 20_000);
        assert!(l.nodes.len() > 1, "a big list spans several nodes");
        assert_eq!(l.get(0), Some(&b"h9999"[..]));
        assert_eq!(l.get(19_999), Some(&b"t9999"[..]));
        assert_eq!(l.get(10_000), Some(&b"t0"[..]));
        for i in (0..10_000).rev() {
            assert_eq!(l.pop(End::Head), Some(format!("h{i}").into_bytes()));
            assert_eq!(l.pop(End::Tail), Some(format!("t{i}").into_bytes()));
        }
        assert!(l.is_empty());
        assert_eq!(l.pop(End::Head), None);
        l.check(fill);
        assert!(matches!(&l.nodes, Nodes::Many(d) if d.is_empty()));
    }

    #[test]
    fn small_list_is_one_node_without_a_node_array() {
        let fill = Fill::default();
        let mut l = ListValue::new();
        l.push(End::Tail, b"a", fill);
        l.push(End::Tail, b"b", fill);
        assert!(matches!(l.nodes, Nodes::One(_)));
        // 48 bytes of ListValue plus the packed bytes: no per-element slot.
        assert!(l.heap_size() < 80, "heap {}", l.heap_size());
    }

    #[test]
    fn positive_fill_counts_entries_and_zero_means_one_per_node() {
        let fill = Fill::new(3);
        let mut l = ListValue::new();
        for i in 0..10 {
            l.push(End::Tail, format!("{i}").as_bytes(), fill);
        }
        l.check(fill);
        assert_eq!(l.nodes.len(), 4);
        let fill = Fill::new(0);
        let mut l = ListValue::new();
        for i in 0..5 {
            l.push(End::Head, format!("{i}").as_bytes(), fill);
        }
        l.check(fill);
        assert_eq!(l.nodes.len(), 5);
    }

    #[test]
    fn big_elements_get_their_own_node() {
        let fill = Fill::default();
        let mut l = ListValue::new();
        l.push(End::Tail, b"a", fill);
        l.push(End::Tail, &vec![b'z'; 20_000], fill);
        l.push(End::Tail, b"b", fill);
        l.check(fill);
        assert_eq!(l.nodes.len(), 3);
        // Replacing a small element with a big one splits its node.
        let mut l2 = ListValue::new();
        for i in 0..100 {
            l2.push(End::Tail, format!("{i}").as_bytes(), fill);
        }
        assert!(l2.set(50, &vec![b'q'; 9000], fill));
        l2.check(fill);
        assert_eq!(l2.get(50).map(|v| v.len()), Some(9000));
        assert_eq!(l2.get(51), Some(&b"51"[..]));
    }

    #[test]
    fn iterators_from_any_index() {
        let fill = Fill::new(4);
        let mut l = ListValue::new();
        for i in 0..50 {
            l.push(End::Tail, format!("{i}").as_bytes(), fill);
        }
        for start in 0..50 {
            let fwd: Vec<_> = l.iter_from(start).map(|b| b.to_vec()).collect();
            let want: Vec<_> = (start..50).map(|i| format!("{i}").into_bytes()).collect();
            assert_eq!(fwd, want);
            let back: Vec<_> = l.iter_rev_from(start).map(|b| b.to_vec()).collect();
            let want: Vec<_> = (0..=start)
                .rev()
                .map(|i| format!("{i}").into_bytes())
                .collect();
            assert_eq!(back, want);
        }
        assert_eq!(l.iter_from(50).count(), 0);
        assert_eq!(l.iter_rev_from(50).count(), 0);
        assert_eq!(l.iter_rev().len(), 50);
    }

    #[test]
    fn lrem_from_both_ends_and_compaction() {
        let fill = Fill::new(4);
        let mut l = ListValue::new();
        for i in 0..40 {
            l.push(End::Tail, if i % 2 == 0 { b"a" } else { b"b" }, fill);
        }
        assert_eq!(l.remove_matching(b"a", 3, fill), 3);
        assert_eq!(
            &collect(&l)[..4],
            &[b"b".to_vec(), b"b".to_vec(), b"b".to_vec(), b"a".to_vec()]
        );
        assert_eq!(l.remove_matching(b"b", -2, fill), 2);
        assert_eq!(collect(&l).last().map(|v| v.as_slice()), Some(&b"a"[..]));
        assert_eq!(l.remove_matching(b"a", 0, fill), 17);
        l.check(fill);
        assert_eq!(l.len(), 18);
        assert!(l.iter().all(|v| v == b"b"));
        // 18 entries at 4 per node: compaction keeps the node count minimal.
        assert_eq!(l.nodes.len(), 5);
        assert_eq!(l.remove_matching(b"b", 0, fill), 18);
        assert!(l.is_empty());
        l.check(fill);
    }

    /// Random operations against a `VecDeque<Vec<u8>>` model, checking
    /// contents and invariants after each step, under several fills.
    #[test]
    fn matches_a_simple_model() {
        for (seed, fill) in [(1u64, -2i64), (7, -1), (42, 3), (99, 0), (5, 1)] {
            let fill = Fill::new(fill);
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let mut l = ListValue::new();
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for step in 0..3000 {
                match rng.below(11) {
                    0 | 1 => {
                        let v = element(&mut rng);
                        l.push(End::Tail, &v, fill);
                        m.push_back(v);
                    }
                    2 | 3 => {
                        let v = element(&mut rng);
                        l.push(End::Head, &v, fill);
                        m.push_front(v);
                    }
                    4 => assert_eq!(l.pop(End::Head), m.pop_front()),
                    5 => assert_eq!(l.pop(End::Tail), m.pop_back()),
                    6 => {
                        let i = rng.below(m.len() + 1);
                        let v = element(&mut rng);
                        l.insert(i, &v, fill);
                        m.insert(i, v);
                    }
                    7 if !m.is_empty() => {
                        let i = rng.below(m.len());
                        let v = element(&mut rng);
                        assert!(l.set(i, &v, fill));
                        m[i] = v;
                    }
                    8 => {
                        let v = format!("v{}", rng.below(8)).into_bytes();
                        let count = rng.below(5) as i64 - 2;
                        let removed = l.remove_matching(&v, count, fill);
                        let mut expect = 0;
                        let limit = if count == 0 {
                            usize::MAX
                        } else {
                            count.unsigned_abs() as usize
                        };
                        if count >= 0 {
                            let mut i = 0;
                            while i < m.len() && expect < limit {
                                if m[i] == v {
                                    m.remove(i);
                                    expect += 1;
                                } else {
                                    i += 1;
                                }
                            }
                        } else {
                            let mut i = m.len();
                            while i > 0 && expect < limit {
                                i -= 1;
                                if m[i] == v {
                                    m.remove(i);
                                    expect += 1;
                                }
                            }
                        }
                        assert_eq!(removed, expect);
                    }
                    9 => {
                        let n = rng.below(4);
                        l.remove_front(n);
                        for _ in 0..n.min(m.len()) {
                            m.pop_front();
                        }
                    }
                    _ => {
                        let n = rng.below(4);
                        l.remove_back(n);
                        for _ in 0..n.min(m.len()) {
                            m.pop_back();
                        }
                    }
                }
                l.check(fill);
                assert_eq!(l.len(), m.len(), "step {step}");
                if step % 50 == 0 {
                    let got = collect(&l);
                    let want: Vec<Vec<u8>> = m.iter().cloned().collect();
                    assert_eq!(got, want, "step {step}");
                    let back: Vec<Vec<u8>> = l.iter_rev().map(|b| b.to_vec()).collect();
                    let want_back: Vec<Vec<u8>> = m.iter().rev().cloned().collect();
                    assert_eq!(back, want_back);
                    for (i, want) in m.iter().enumerate() {
                        assert_eq!(l.get(i), Some(want.as_slice()));
                    }
                }
            }
        }
    }
}
