//! `SkipList`: the ordered index of a large sorted set, with O(log n) rank.
//!
//! Owns: the (member, score) pairs of a "skiplist"-encoded zset in order of
//! score, ties broken by member bytes, and the ranks of those pairs.
//!
//! Why a skip list: it is Redis's structure (William Pugh's skip list with
//! three changes: repeated scores, ordering by member within a score, and a
//! `backward` link on level 0 for reverse walks), and each link carries a
//! `span`, the number of level-0 steps it jumps, so summing spans along a
//! search path gives an element's rank and `by_rank` descends by spans.
//! That is what makes ZRANK, ZRANGE by index and ZREMRANGEBYRANK O(log n).
//!
//! Representation: an index arena instead of pointers. Nodes live in one
//! `Vec`; links are `u32` indexes (`NIL` for none, `HEAD` for the header,
//! whose levels live inline in the list). A node keeps its level-0 link
//! inline and its upper levels in a boxed slice, so the three nodes in four
//! that have a single level (p = 1/4) cost one allocation less. Freed slots
//! go on a free list and are reused; when most of the arena is free it is
//! rebuilt compactly, so a zset that shrinks gives memory back.
//!
//! Must never: hold a NaN score (ordering would break; callers reject NaN),
//! or hold the same member twice (callers check the member→score dict
//! first, as Redis does).
//!
//! Invariants (checked by `check` in the tests):
//! - level-0 links visit every live node once, in strictly increasing
//!   (score, member) order; `backward` is the reverse of level 0; `tail` is
//!   the last node;
//! - a link at level i with a `forward` jumps exactly `span` level-0 steps;
//!   a link with no forward has span `len - rank(owner)` (Redis's
//!   convention, which keeps insertion arithmetic uniform);
//! - `level` is 1 + the highest level in use (at least 1).

use crate::dict::rng_next;
use crate::types::CompactBytes;
use std::cmp::Ordering;

use super::range::Range;

/// Levels a node may have (Redis's ZSKIPLIST_MAXLEVEL): enough for 2^64
/// elements at p = 1/4.
pub const MAX_LEVEL: usize = 32;

/// A node index. `NIL` means "no node".
pub type NodeId = u32;
pub const NIL: NodeId = u32::MAX;
/// The header pseudo-node; its levels are `SkipList::head`.
const HEAD: NodeId = u32::MAX - 1;
/// Live and free nodes together stay below `HEAD`.
const NODES_MAX: usize = (u32::MAX - 2) as usize;
/// Arenas smaller than this are never compacted (not worth a rebuild).
const COMPACT_MIN_NODES: usize = 64;

#[derive(Clone, Copy, Debug)]
struct Level {
    forward: NodeId,
    span: u32,
}

const EMPTY_LEVEL: Level = Level {
    forward: NIL,
    span: 0,
};

#[derive(Clone, Debug)]
struct Node {
    member: CompactBytes,
    score: f64,
    backward: NodeId,
    level0: Level,
    /// Levels 1.. of this node (empty for most nodes).
    upper: Box<[Level]>,
}

#[cfg(test)]
impl Node {
    fn height(&self) -> usize {
        1 + self.upper.len()
    }
}

#[derive(Clone, Debug)]
pub struct SkipList {
    nodes: Vec<Node>,
    free: Vec<NodeId>,
    head: [Level; MAX_LEVEL],
    tail: NodeId,
    level: usize,
    len: usize,
    rng: u64,
    /// Heap bytes of live nodes outside the arena (members longer than the
    /// inline size, upper-level slices) and how many such allocations
    /// there are: kept up to date so MEMORY USAGE and the lazy-free
    /// decision cost O(1), not a walk of the whole list.
    outside_bytes: usize,
    outside_allocs: usize,
}

/// (score, member) strictly before (score2, member2) in zset order.
fn before(score: f64, member: &[u8], score2: f64, member2: &[u8]) -> bool {
    score < score2 || (score == score2 && member < member2)
}

/// `before(n.score, &n.member, score, member)` for a node, reading the
/// member only when the scores tie: the search loops run this at every
/// hop, and turning a `CompactBytes` into a slice costs a branch and a
/// few loads that a score comparison nearly always makes unnecessary.
#[inline(always)]
fn node_before(n: &Node, score: f64, member: &[u8]) -> bool {
    n.score < score || (n.score == score && n.member.as_bytes() < member)
}

impl SkipList {
    /// An empty list; `seed` drives the random node heights.
    pub fn new(seed: u64) -> SkipList {
        SkipList {
            nodes: Vec::new(),
            free: Vec::new(),
            head: [EMPTY_LEVEL; MAX_LEVEL],
            tail: NIL,
            level: 1,
            len: 0,
            rng: seed,
            outside_bytes: 0,
            outside_allocs: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn node(&self, x: NodeId) -> &Node {
        &self.nodes[x as usize]
    }

    fn lvl(&self, x: NodeId, i: usize) -> Level {
        if x == HEAD {
            self.head[i]
        } else {
            let n = self.node(x);
            if i == 0 {
                n.level0
            } else {
                n.upper[i - 1]
            }
        }
    }

    fn lvl_mut(&mut self, x: NodeId, i: usize) -> &mut Level {
        if x == HEAD {
            &mut self.head[i]
        } else {
            let n = &mut self.nodes[x as usize];
            if i == 0 {
                &mut n.level0
            } else {
                &mut n.upper[i - 1]
            }
        }
    }

    pub fn member(&self, x: NodeId) -> &CompactBytes {
        &self.node(x).member
    }

    pub fn score(&self, x: NodeId) -> f64 {
        self.node(x).score
    }

    /// The lowest element, or NIL.
    pub fn first(&self) -> NodeId {
        self.head[0].forward
    }

    /// The highest element, or NIL.
    pub fn last(&self) -> NodeId {
        self.tail
    }

    pub fn next(&self, x: NodeId) -> NodeId {
        self.node(x).level0.forward
    }

    pub fn prev(&self, x: NodeId) -> NodeId {
        self.node(x).backward
    }

    /// Heights follow a geometric law with p = 1/4, as in Redis.
    fn random_level(&mut self) -> usize {
        let mut level = 1;
        while level < MAX_LEVEL && (rng_next(&mut self.rng) & 0xFFFF) < 0x4000 {
            level += 1;
        }
        level
    }

    /// Heap bytes and allocations a node owns outside the arena.
    fn outside(n: &Node) -> (usize, usize) {
        let levels = n.upper.len() * std::mem::size_of::<Level>();
        let member = n.member.heap_size();
        (
            levels + member,
            usize::from(levels > 0) + usize::from(member > 0),
        )
    }

    fn alloc(&mut self, member: CompactBytes, score: f64, height: usize) -> NodeId {
        let node = Node {
            member,
            score,
            backward: NIL,
            level0: EMPTY_LEVEL,
            upper: vec![EMPTY_LEVEL; height - 1].into_boxed_slice(),
        };
        let (bytes, allocs) = SkipList::outside(&node);
        self.outside_bytes += bytes;
        self.outside_allocs += allocs;
        if let Some(x) = self.free.pop() {
            self.nodes[x as usize] = node;
            x
        } else {
            // 4 billion nodes need hundreds of GB: memory runs out first.
            assert!(self.nodes.len() < NODES_MAX, "skiplist arena is full");
            self.nodes.push(node);
            (self.nodes.len() - 1) as NodeId
        }
    }

    /// Drop a node's contents and put its slot on the free list; returns
    /// the member it held.
    fn release(&mut self, x: NodeId) -> CompactBytes {
        let (bytes, allocs) = SkipList::outside(&self.nodes[x as usize]);
        self.outside_bytes -= bytes;
        self.outside_allocs -= allocs;
        let n = &mut self.nodes[x as usize];
        n.upper = Box::new([]);
        n.level0 = EMPTY_LEVEL;
        n.backward = NIL;
        self.free.push(x);
        std::mem::take(&mut n.member)
    }

    /// Insert a member known to be absent. Returns its node.
    pub fn insert(&mut self, member: CompactBytes, score: f64) -> NodeId {
        debug_assert!(!score.is_nan());
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        let member_bytes = member.as_bytes();
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let l = self.lvl(x, i);
                if l.forward == NIL {
                    break;
                }
                if !node_before(self.node(l.forward), score, member_bytes) {
                    break;
                }
                rank[i] += l.span;
                x = l.forward;
            }
            update[i] = x;
        }
        let height = self.random_level();
        if height > self.level {
            for i in self.level..height {
                rank[i] = 0;
                update[i] = HEAD;
                self.head[i].span = self.len as u32;
            }
            self.level = height;
        }
        let x = self.alloc(member, score, height);
        for i in 0..height {
            let u = self.lvl(update[i], i);
            let crossed = rank[0] - rank[i];
            *self.lvl_mut(x, i) = Level {
                forward: u.forward,
                span: u.span - crossed,
            };
            *self.lvl_mut(update[i], i) = Level {
                forward: x,
                span: crossed + 1,
            };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(height) {
            self.lvl_mut(u, i).span += 1;
        }
        let back = if update[0] == HEAD { NIL } else { update[0] };
        self.nodes[x as usize].backward = back;
        let fwd = self.node(x).level0.forward;
        if fwd != NIL {
            self.nodes[fwd as usize].backward = x;
        } else {
            self.tail = x;
        }
        self.len += 1;
        x
    }

    /// The rightmost node at each level strictly before (score, member).
    fn find_update(&self, score: f64, member: &[u8]) -> [NodeId; MAX_LEVEL] {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.lvl(x, i).forward;
                if f == NIL {
                    break;
                }
                if !node_before(self.node(f), score, member) {
                    break;
                }
                x = f;
            }
            update[i] = x;
        }
        update
    }

    /// Unlink `x` given the nodes before it at each level.
    fn unlink(&mut self, x: NodeId, update: &[NodeId; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let ul = self.lvl(u, i);
            if ul.forward == x {
                let xl = self.lvl(x, i);
                *self.lvl_mut(u, i) = Level {
                    forward: xl.forward,
                    span: ul.span + xl.span - 1,
                };
            } else {
                self.lvl_mut(u, i).span -= 1;
            }
        }
        let (fwd, back) = (self.node(x).level0.forward, self.node(x).backward);
        if fwd != NIL {
            self.nodes[fwd as usize].backward = back;
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.head[self.level - 1].forward == NIL {
            self.level -= 1;
        }
        self.len -= 1;
    }

    /// Remove (score, member); returns the stored member if it was there.
    pub fn delete(&mut self, score: f64, member: &[u8]) -> Option<CompactBytes> {
        let update = self.find_update(score, member);
        let x = self.lvl(update[0], 0).forward;
        if x == NIL || self.score(x) != score || self.member(x).as_bytes() != member {
            return None;
        }
        self.unlink(x, &update);
        let m = self.release(x);
        self.maybe_compact();
        Some(m)
    }

    /// Change the score of a present member from `cur` to `new`, in place
    /// when the order does not change (Redis's zslUpdateScore).
    pub fn update_score(&mut self, cur: f64, member: &[u8], new: f64) {
        let update = self.find_update(cur, member);
        let x = self.lvl(update[0], 0).forward;
        if x == NIL || self.score(x) != cur || self.member(x).as_bytes() != member {
            // Caller's dict and this list disagree: a bug. Keep the list
            // consistent rather than corrupting it.
            debug_assert!(false, "update_score of a missing member");
            return;
        }
        let (back, fwd) = (self.node(x).backward, self.node(x).level0.forward);
        let back_ok = back == NIL || self.score(back) < new;
        let fwd_ok = fwd == NIL || self.score(fwd) > new;
        if back_ok && fwd_ok {
            self.nodes[x as usize].score = new;
            return;
        }
        self.unlink(x, &update);
        let m = self.release(x);
        self.insert(m, new);
    }

    /// 1-based rank of (score, member), 0 if absent (Redis's zslGetRank).
    pub fn rank(&self, score: f64, member: &[u8]) -> usize {
        let mut rank = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lvl(x, i);
                if l.forward == NIL {
                    break;
                }
                let n = self.node(l.forward);
                let le = n.score < score || (n.score == score && n.member.as_bytes() <= member);
                if !le {
                    break;
                }
                rank += l.span as usize;
                x = l.forward;
            }
            if x != HEAD && self.score(x) == score && self.member(x).as_bytes() == member {
                return rank;
            }
        }
        0
    }

    /// The node at 1-based `rank`, or NIL when out of range.
    pub fn by_rank(&self, rank: usize) -> NodeId {
        let mut traversed = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lvl(x, i);
                if l.forward == NIL || traversed + l.span as usize > rank {
                    break;
                }
                traversed += l.span as usize;
                x = l.forward;
            }
            if traversed == rank {
                return if x == HEAD { NIL } else { x };
            }
        }
        NIL
    }

    /// Redis's zsl(Lex)IsInRange: the range is non-empty and overlaps the
    /// list's extremes.
    fn overlaps(&self, range: &Range) -> bool {
        if range.is_empty() || self.len == 0 {
            return false;
        }
        let (t, h) = (self.node(self.tail), self.node(self.first()));
        range.gte_min(&t.member, t.score) && range.lte_max(&h.member, h.score)
    }

    /// The last node (HEAD if none) of the prefix whose nodes all satisfy
    /// `keep`, with its 1-based rank; `keep` must hold for a prefix of
    /// the order (true, then false), which is what a range bound gives.
    fn last_where(&self, keep: impl Fn(&Node) -> bool) -> (NodeId, usize) {
        let mut rank = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lvl(x, i);
                if l.forward == NIL || !keep(self.node(l.forward)) {
                    break;
                }
                rank += l.span as usize;
                x = l.forward;
            }
        }
        (x, rank)
    }

    /// First node inside `range` and its 1-based rank.
    pub fn first_in(&self, range: &Range) -> Option<(NodeId, usize)> {
        if !self.overlaps(range) {
            return None;
        }
        let (x, rank) = self.last_where(|n| !range.gte_min(&n.member, n.score));
        let x = self.lvl(x, 0).forward;
        if x == NIL {
            return None;
        }
        let n = self.node(x);
        range.lte_max(&n.member, n.score).then_some((x, rank + 1))
    }

    /// Last node inside `range` and its 1-based rank.
    pub fn last_in(&self, range: &Range) -> Option<(NodeId, usize)> {
        if !self.overlaps(range) {
            return None;
        }
        let (x, rank) = self.last_where(|n| range.lte_max(&n.member, n.score));
        if x == HEAD {
            return None;
        }
        let n = self.node(x);
        range.gte_min(&n.member, n.score).then_some((x, rank))
    }

    /// Remove every element inside `range`, calling `removed` with each
    /// member (so the caller can drop it from its dict). Returns the count.
    pub fn delete_range(&mut self, range: &Range, mut removed: impl FnMut(&[u8])) -> usize {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.lvl(x, i).forward;
                if f == NIL {
                    break;
                }
                let n = self.node(f);
                if range.gte_min(&n.member, n.score) {
                    break;
                }
                x = f;
            }
            update[i] = x;
        }
        let mut x = self.lvl(x, 0).forward;
        let mut count = 0;
        while x != NIL {
            let n = self.node(x);
            if !range.lte_max(&n.member, n.score) {
                break;
            }
            let next = n.level0.forward;
            self.unlink(x, &update);
            let m = self.release(x);
            removed(&m);
            count += 1;
            x = next;
        }
        self.maybe_compact();
        count
    }

    /// Remove the elements with 1-based ranks `start..=end`.
    pub fn delete_rank_range(
        &mut self,
        start: usize,
        end: usize,
        mut removed: impl FnMut(&[u8]),
    ) -> usize {
        let mut update = [HEAD; MAX_LEVEL];
        let mut traversed = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lvl(x, i);
                if l.forward == NIL || traversed + l.span as usize >= start {
                    break;
                }
                traversed += l.span as usize;
                x = l.forward;
            }
            update[i] = x;
        }
        traversed += 1;
        let mut x = self.lvl(x, 0).forward;
        let mut count = 0;
        while x != NIL && traversed <= end {
            let next = self.next(x);
            self.unlink(x, &update);
            let m = self.release(x);
            removed(&m);
            count += 1;
            traversed += 1;
            x = next;
        }
        self.maybe_compact();
        count
    }

    /// Remove and return the lowest (or highest) element.
    pub fn pop(&mut self, max: bool) -> Option<(CompactBytes, f64)> {
        let x = if max { self.tail } else { self.first() };
        if x == NIL {
            return None;
        }
        let score = self.score(x);
        let member = self.member(x).clone();
        self.delete(score, &member).map(|m| (m, score))
    }

    /// Every (member, score) in order.
    pub fn iter(&self) -> impl Iterator<Item = (&CompactBytes, f64)> + '_ {
        let mut x = self.first();
        std::iter::from_fn(move || {
            if x == NIL {
                return None;
            }
            let n = self.node(x);
            x = n.level0.forward;
            Some((&n.member, n.score))
        })
    }

    /// Build from elements already in strictly increasing order, in O(n):
    /// each node is appended after the last node of each of its levels.
    pub fn from_sorted(items: impl IntoIterator<Item = (CompactBytes, f64)>, seed: u64) -> Self {
        let mut sl = SkipList::new(seed);
        sl.extend_sorted(items);
        sl
    }

    fn extend_sorted(&mut self, items: impl IntoIterator<Item = (CompactBytes, f64)>) {
        debug_assert!(self.len == 0);
        let mut last = [HEAD; MAX_LEVEL];
        let mut last_rank = [0usize; MAX_LEVEL];
        for (member, score) in items {
            debug_assert!(
                self.tail == NIL
                    || before(
                        self.score(self.tail),
                        self.member(self.tail),
                        score,
                        &member
                    )
            );
            let height = self.random_level();
            let rank = self.len + 1;
            let x = self.alloc(member, score, height);
            for i in 0..height {
                *self.lvl_mut(last[i], i) = Level {
                    forward: x,
                    span: (rank - last_rank[i]) as u32,
                };
                last[i] = x;
                last_rank[i] = rank;
            }
            self.nodes[x as usize].backward = self.tail;
            self.tail = x;
            self.level = self.level.max(height);
            self.len = rank;
        }
        // Links with no forward: span = len - rank(owner).
        for i in 0..self.level {
            self.lvl_mut(last[i], i).span = (self.len - last_rank[i]) as u32;
        }
    }

    /// Rebuild the arena compactly once three quarters of it are free
    /// slots, so memory follows the size of the set.
    fn maybe_compact(&mut self) {
        let slots = self.nodes.len();
        if slots < COMPACT_MIN_NODES || self.free.len() * 4 < slots * 3 {
            return;
        }
        let mut items = Vec::with_capacity(self.len);
        let mut x = self.first();
        while x != NIL {
            let n = &mut self.nodes[x as usize];
            x = n.level0.forward;
            items.push((std::mem::take(&mut n.member), n.score));
        }
        let rng = self.rng;
        *self = SkipList::new(rng);
        self.nodes.reserve_exact(items.len());
        self.extend_sorted(items);
    }

    /// Heap bytes: the arena, free list and members' own heap.
    pub fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.free.capacity() * std::mem::size_of::<NodeId>()
            + self.outside_bytes
    }

    /// Allocations that freeing the list releases: the arena, the free
    /// list, and each node's own (upper levels, long member).
    pub fn free_effort(&self) -> usize {
        2 + self.outside_allocs
    }

    /// Verify every invariant in the module documentation (tests only).
    #[cfg(test)]
    pub fn check(&self) {
        // Level 0: order, backward links, tail, length.
        let mut order = Vec::new();
        let mut x = self.first();
        let mut prev = NIL;
        while x != NIL {
            let n = self.node(x);
            assert_eq!(n.backward, prev);
            if prev != NIL {
                let p = self.node(prev);
                assert!(before(p.score, &p.member, n.score, &n.member));
            }
            order.push(x);
            prev = x;
            x = n.level0.forward;
        }
        assert_eq!(self.tail, prev);
        assert_eq!(order.len(), self.len);
        let ranks: std::collections::HashMap<NodeId, usize> =
            order.iter().enumerate().map(|(r, &x)| (x, r + 1)).collect();
        let rank_of = |x: NodeId| -> usize {
            if x == HEAD {
                0
            } else {
                ranks[&x]
            }
        };
        // Every level: spans, to-NIL spans, and level bound.
        for i in 0..MAX_LEVEL {
            if i >= self.level {
                assert_eq!(self.head[i].forward, NIL);
                continue;
            }
            let mut x = HEAD;
            loop {
                let l = self.lvl(x, i);
                if l.forward == NIL {
                    assert_eq!(l.span as usize, self.len - rank_of(x), "level {i}");
                    break;
                }
                assert!(self.node(l.forward).height() > i);
                assert_eq!(l.span as usize, rank_of(l.forward) - rank_of(x));
                x = l.forward;
            }
        }
        assert!(self.level == 1 || self.head[self.level - 1].forward != NIL);
        let (bytes, allocs) = order
            .iter()
            .map(|&x| SkipList::outside(self.node(x)))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        assert_eq!((bytes, allocs), (self.outside_bytes, self.outside_allocs));
        for &x in &order {
            assert!(self.node(x).height() <= self.level);
        }
    }
}

/// Order of (score, member) pairs as the zset keeps them.
pub fn cmp_entries(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
    a.0.partial_cmp(&b.0)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a.1.cmp(b.1))
}

#[cfg(test)]
mod tests {
    use super::super::range::{LexRange, ScoreRange};
    use super::*;

    fn cb(s: &str) -> CompactBytes {
        CompactBytes::new(s.as_bytes())
    }

    fn members(sl: &SkipList) -> Vec<String> {
        sl.iter()
            .map(|(m, _)| String::from_utf8_lossy(m).into_owned())
            .collect()
    }

    #[test]
    fn insert_delete_rank_keep_invariants() {
        let mut sl = SkipList::new(7);
        let mut rng = 12345u64;
        let mut model: Vec<(f64, String)> = Vec::new();
        for step in 0..3000 {
            let r = rng_next(&mut rng);
            let m = format!("m{}", r % 500);
            let score = (r >> 20) as f64 % 50.0;
            let pos = model.iter().position(|(_, x)| *x == m);
            match (pos, r % 3) {
                (Some(p), 0) => {
                    let (s, _) = model.remove(p);
                    assert!(sl.delete(s, m.as_bytes()).is_some());
                }
                (Some(p), _) => {
                    let s = model[p].0;
                    sl.update_score(s, m.as_bytes(), score);
                    model[p].0 = score;
                }
                (None, _) => {
                    sl.insert(cb(&m), score);
                    model.push((score, m));
                }
            }
            if step % 97 == 0 {
                sl.check();
            }
        }
        sl.check();
        model.sort_by(|a, b| cmp_entries((a.0, a.1.as_bytes()), (b.0, b.1.as_bytes())));
        let expect: Vec<String> = model.iter().map(|(_, m)| m.clone()).collect();
        assert_eq!(members(&sl), expect);
        for (i, (s, m)) in model.iter().enumerate() {
            assert_eq!(sl.rank(*s, m.as_bytes()), i + 1);
            assert_eq!(sl.member(sl.by_rank(i + 1)).as_bytes(), m.as_bytes());
        }
        assert_eq!(sl.rank(1.0, b"absent"), 0);
        assert_eq!(sl.by_rank(0), NIL);
        assert_eq!(sl.by_rank(model.len() + 1), NIL);
    }

    #[test]
    fn ranges_and_range_deletes() {
        let mut sl = SkipList::new(3);
        for i in 0..200 {
            sl.insert(cb(&format!("{i:03}")), f64::from(i / 2));
        }
        let r = Range::Score(ScoreRange::parse(b"(10", b"20").unwrap());
        let (f, fr) = sl.first_in(&r).unwrap();
        let (l, lr) = sl.last_in(&r).unwrap();
        assert_eq!((sl.score(f), fr), (11.0, 23));
        assert_eq!((sl.score(l), lr), (20.0, 42));
        assert!(sl
            .first_in(&Range::Score(ScoreRange::parse(b"500", b"600").unwrap()))
            .is_none());
        let mut gone = Vec::new();
        assert_eq!(sl.delete_range(&r, |m| gone.push(m.to_vec())), 20);
        assert_eq!(gone.first().unwrap(), b"022");
        sl.check();
        let lex = Range::Lex(LexRange::parse(b"[100", b"(110").unwrap());
        assert_eq!(sl.delete_range(&lex, |_| {}), 10);
        sl.check();
        assert_eq!(sl.delete_rank_range(1, 5, |_| {}), 5);
        assert_eq!(sl.member(sl.first()).as_bytes(), b"005");
        sl.check();
        assert_eq!(sl.len(), 165);
    }

    #[test]
    fn pops_and_compaction_release_memory() {
        let mut sl = SkipList::from_sorted((0..10_000).map(|i| (cb(&format!("{i:05}")), 1.0)), 9);
        sl.check();
        let big = sl.heap_size();
        for i in 0..9_990 {
            let (m, _) = sl.pop(i % 2 == 0).unwrap();
            assert!(!m.is_empty());
        }
        sl.check();
        assert_eq!(sl.len(), 10);
        assert!(sl.heap_size() * 10 < big, "arena was not compacted");
        let rest = members(&sl);
        assert_eq!(rest.first().unwrap(), "04995");
        while sl.pop(false).is_some() {}
        assert!(sl.is_empty() && sl.first() == NIL && sl.last() == NIL);
        sl.check();
    }
}
