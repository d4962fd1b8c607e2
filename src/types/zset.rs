//! The sorted set type: members with scores, ordered by (score, member).
//!
//! Owns: the two encodings Redis 7.0 reports through OBJECT ENCODING, and
//! the rule that moves a zset from the first to the second:
//! - `listpack`: a `Vec` of (member, score) kept sorted by (score, member).
//!   Small and cache-friendly; lookups by member are a linear scan, which is
//!   what Redis's listpack does too, and is cheap below the threshold.
//! - `skiplist`: a member→score [`Dict`] (O(1) ZSCORE, ZSCAN's resize-proof
//!   cursor, O(1) random members) plus a [`SkipList`] ordered by (score,
//!   member) with spans, for O(log n) rank, range and insertion. Each
//!   structure holds its own copy of a member: keys up to 22 bytes are
//!   inline anyway, and sharing would need reference counting on every
//!   member for the benefit of long ones only.
//!
//! Conversion (exactly Redis 7.0's rules): a zset created by ZADD starts as
//! a skiplist if `zset-max-listpack-entries` is 0 or its first member is
//! longer than `zset-max-listpack-value`, else as a listpack; adding a
//! member converts when the count would pass the entries limit or the
//! member is longer than the value limit. A zset never converts back,
//! except that results built by ZUNIONSTORE & co. and ZRANGESTORE are
//! encoded by their final size and longest member ([`ZSetValue::from_sorted`]).
//!
//! Must never: store a NaN score (every add rejects it), hold a member twice,
//! or let the two skiplist structures disagree. Listpack scores are
//! normalised so -0 reads back as 0, as Redis's listpack does (it stores
//! the score as the integer 0); the skiplist keeps -0.
//!
//! Invariants: listpack entries are strictly increasing in (score, member);
//! in the skiplist encoding `dict` and `list` hold the same (member, score)
//! pairs.

mod range;
mod skiplist;
mod strtod;

pub use range::{parse_score, LexBound, LexRange, Range, ScoreRange};
pub use skiplist::SkipList;
pub use strtod::strtod;

use super::CompactBytes;
use crate::dict::{rng_next, Dict};
use skiplist::{cmp_entries, NodeId, NIL};
use std::cmp::Ordering;

/// The encoding thresholds, read from the configuration by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `zset-max-listpack-entries`
    pub max_entries: usize,
    /// `zset-max-listpack-value` (member length in bytes)
    pub max_value: usize,
}

/// ZADD's option flags (ZINCRBY is ZADD with `incr`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub incr: bool,
}

/// What [`ZSetValue::add`] did (Redis's zsetAdd out-flags). The score in
/// the first three is the member's score afterwards (ZINCRBY's reply).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AddOutcome {
    Added(f64),
    Updated(f64),
    /// Present, score unchanged (same score, or an increment of 0).
    Unchanged(f64),
    /// Not applied because of NX, XX, GT or LT.
    Skipped,
    /// The increment made the score NaN (inf + -inf); nothing changed.
    NotANumber,
}

/// A sorted set value. See the module documentation.
#[derive(Debug)]
pub struct ZSetValue {
    repr: Repr,
}

#[derive(Debug)]
enum Repr {
    Listpack(Vec<(CompactBytes, f64)>),
    Skiplist(Box<Big>),
}

#[derive(Debug)]
struct Big {
    dict: Dict<f64>,
    list: SkipList,
}

impl Clone for ZSetValue {
    /// COPY keeps the encoding, as Redis's zsetDup does.
    fn clone(&self) -> Self {
        let repr = match &self.repr {
            Repr::Listpack(v) => Repr::Listpack(v.clone()),
            Repr::Skiplist(big) => {
                let mut dict = Dict::with_capacity(big.dict.len());
                for (m, s) in big.list.iter() {
                    dict.insert(m.clone(), s);
                }
                Repr::Skiplist(Box::new(Big {
                    dict,
                    list: big.list.clone(),
                }))
            }
        };
        ZSetValue { repr }
    }
}

impl Default for ZSetValue {
    fn default() -> Self {
        ZSetValue::new_listpack()
    }
}

/// A fresh seed for a skip list's level generator. Random per list so that
/// no client can predict (and degrade) the shape of the structure.
fn level_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x5a5e_7001);
    h.finish()
}

/// How a listpack stores a score: -0 becomes 0 (see the module docs).
fn listpack_score(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

/// How a listpack stores `score`: as an integer when it is integral and
/// within ±2^62 (Redis's double2ll), else as text. Only visible through
/// ZSCAN, which echoes a listpack's entries as stored: 1e17 scans as
/// "100000000000000000" where ZSCORE says "1e+17".
pub fn listpack_integer_score(score: f64) -> Option<i64> {
    const LIMIT: f64 = 4_611_686_018_427_387_904.0; // 2^62, LLONG_MAX/2 as a double
    (score.trunc() == score && (-LIMIT..=LIMIT).contains(&score)).then_some(score as i64)
}

/// True when (s1, m1) sorts strictly before (s2, m2).
fn before(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> bool {
    cmp_entries((s1, m1), (s2, m2)) == Ordering::Less
}

fn random_below(rng: &mut u64, n: usize) -> usize {
    ((u128::from(rng_next(rng)) * n as u128) >> 64) as usize
}

impl Big {
    fn from_sorted(items: Vec<(CompactBytes, f64)>) -> Big {
        let mut dict = Dict::with_capacity(items.len());
        for (m, s) in &items {
            dict.insert(m.clone(), *s);
        }
        Big {
            dict,
            list: SkipList::from_sorted(items, level_seed()),
        }
    }
}

impl ZSetValue {
    /// An empty listpack-encoded zset.
    pub fn new_listpack() -> ZSetValue {
        ZSetValue {
            repr: Repr::Listpack(Vec::new()),
        }
    }

    /// An empty skiplist-encoded zset.
    pub fn new_skiplist() -> ZSetValue {
        ZSetValue {
            repr: Repr::Skiplist(Box::new(Big::from_sorted(Vec::new()))),
        }
    }

    /// The empty zset ZADD creates for a missing key, given the length of
    /// the first member it will add (Redis 7.0's zaddGenericCommand).
    pub fn for_first_member(limits: Limits, member_len: usize) -> ZSetValue {
        if limits.max_entries == 0 || member_len > limits.max_value {
            ZSetValue::new_skiplist()
        } else {
            ZSetValue::new_listpack()
        }
    }

    /// A zset from elements already sorted by (score, member) with no
    /// duplicate members, encoded by its final size and longest member (the
    /// store commands' rule).
    pub fn from_sorted(items: Vec<(CompactBytes, f64)>, limits: Limits) -> ZSetValue {
        let longest = items.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
        let small = items.len() <= limits.max_entries && longest <= limits.max_value;
        let repr = if small {
            let items = items
                .into_iter()
                .map(|(m, s)| (m, listpack_score(s)))
                .collect();
            Repr::Listpack(items)
        } else {
            Repr::Skiplist(Box::new(Big::from_sorted(items)))
        };
        ZSetValue { repr }
    }

    /// A zset from (member, score) pairs in any order, as an RDB file holds
    /// them, encoded like Redis's loader does (by final size and longest
    /// member). Refuses what a valid file cannot contain: no pairs, a NaN
    /// score, or a member twice.
    pub fn from_pairs(
        mut items: Vec<(CompactBytes, f64)>,
        limits: Limits,
    ) -> Result<ZSetValue, &'static str> {
        if items.is_empty() {
            return Err("empty sorted set");
        }
        if items.iter().any(|(_, s)| s.is_nan()) {
            return Err("sorted set with a NaN score");
        }
        items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if items.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err("duplicate sorted set member");
        }
        items.sort_unstable_by(|a, b| cmp_entries((a.1, &a.0), (b.1, &b.0)));
        Ok(ZSetValue::from_sorted(items, limits))
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(v) => v.len(),
            Repr::Skiplist(big) => big.list.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_listpack(&self) -> bool {
        matches!(self.repr, Repr::Listpack(_))
    }

    /// OBJECT ENCODING name.
    pub fn encoding_name(&self) -> &'static str {
        match self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Skiplist(_) => "skiplist",
        }
    }

    /// Heap bytes owned by the value.
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Listpack(v) => {
                v.capacity() * std::mem::size_of::<(CompactBytes, f64)>()
                    + v.iter().map(|(m, _)| m.heap_size()).sum::<usize>()
            }
            Repr::Skiplist(big) => {
                std::mem::size_of::<Big>() + big.dict.memory_usage() + big.list.heap_size()
            }
        }
    }

    /// Allocations freeing the value releases (lazy-free decision).
    pub fn free_effort(&self) -> usize {
        match &self.repr {
            Repr::Listpack(v) => 1 + v.iter().filter(|(m, _)| m.heap_size() > 0).count(),
            Repr::Skiplist(big) => 1 + big.dict.len() + big.list.free_effort(),
        }
    }

    /// Switch a listpack to the skiplist encoding (also what SORT does to
    /// any sorted set it reads, as Redis 7.0 does: OBJECT ENCODING shows it).
    pub fn convert_to_skiplist(&mut self) {
        if let Repr::Listpack(v) = &mut self.repr {
            let items = std::mem::take(v);
            self.repr = Repr::Skiplist(Box::new(Big::from_sorted(items)));
        }
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Listpack(v) => v.iter().find(|(m, _)| m.as_bytes() == member).map(|e| e.1),
            Repr::Skiplist(big) => big.dict.get(member).copied(),
        }
    }

    /// Add `member` or update its score, following ZADD's flags (Redis's
    /// zsetAdd); may convert the encoding when a member is added.
    pub fn add(
        &mut self,
        member: &[u8],
        score: f64,
        flags: AddFlags,
        limits: Limits,
    ) -> AddOutcome {
        if score.is_nan() {
            return AddOutcome::NotANumber;
        }
        let current = self.score(member);
        let Some(cur) = current else {
            if flags.xx {
                return AddOutcome::Skipped;
            }
            self.insert_new(member, score, limits);
            return AddOutcome::Added(score);
        };
        if flags.nx {
            return AddOutcome::Skipped;
        }
        let new = if flags.incr { score + cur } else { score };
        if new.is_nan() {
            return AddOutcome::NotANumber;
        }
        if (flags.lt && new >= cur) || (flags.gt && new <= cur) {
            return AddOutcome::Skipped;
        }
        if new == cur {
            return AddOutcome::Unchanged(new);
        }
        match &mut self.repr {
            Repr::Listpack(v) => {
                let Some(at) = v.iter().position(|(m, _)| m.as_bytes() == member) else {
                    return AddOutcome::Skipped;
                };
                let (m, _) = v.remove(at);
                let s = listpack_score(new);
                let to = v.partition_point(|(pm, ps)| before(*ps, pm, s, &m));
                v.insert(to, (m, s));
            }
            Repr::Skiplist(big) => {
                big.list.update_score(cur, member, new);
                if let Some(s) = big.dict.get_mut(member) {
                    *s = new;
                }
            }
        }
        AddOutcome::Updated(new)
    }

    /// Insert a member known to be absent, converting first if the
    /// listpack would pass its limits.
    fn insert_new(&mut self, member: &[u8], score: f64, limits: Limits) {
        if let Repr::Listpack(v) = &self.repr {
            if v.len() + 1 > limits.max_entries || member.len() > limits.max_value {
                self.convert_to_skiplist();
            }
        }
        match &mut self.repr {
            Repr::Listpack(v) => {
                let s = listpack_score(score);
                let to = v.partition_point(|(pm, ps)| before(*ps, pm, s, member));
                v.insert(to, (CompactBytes::new(member), s));
            }
            Repr::Skiplist(big) => {
                big.dict.insert(CompactBytes::new(member), score);
                big.list.insert(CompactBytes::new(member), score);
            }
        }
    }

    /// Remove `member`; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Listpack(v) => match v.iter().position(|(m, _)| m.as_bytes() == member) {
                Some(at) => {
                    v.remove(at);
                    true
                }
                None => false,
            },
            Repr::Skiplist(big) => match big.dict.remove(member) {
                Some((_, score)) => {
                    big.list.delete(score, member);
                    true
                }
                None => false,
            },
        }
    }

    /// 0-based rank of `member`, counted from the highest if `reverse`.
    pub fn rank(&self, member: &[u8], reverse: bool) -> Option<usize> {
        let len = self.len();
        let ascending = match &self.repr {
            Repr::Listpack(v) => v.iter().position(|(m, _)| m.as_bytes() == member)?,
            Repr::Skiplist(big) => {
                let score = *big.dict.get(member)?;
                big.list.rank(score, member).checked_sub(1)?
            }
        };
        Some(if reverse {
            len - 1 - ascending
        } else {
            ascending
        })
    }

    /// Walk in order from ascending position `index` (0-based), upwards or,
    /// if `reverse`, downwards. An index past the end yields nothing.
    pub fn iter_at(&self, index: usize, reverse: bool) -> Iter<'_> {
        let state = match &self.repr {
            Repr::Listpack(v) => IterState::Listpack {
                items: v,
                next: (index < v.len()).then_some(index),
            },
            Repr::Skiplist(big) => IterState::Skiplist {
                list: &big.list,
                node: big.list.by_rank(index.saturating_add(1)),
            },
        };
        Iter { state, reverse }
    }

    /// All elements in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_at(0, false)
    }

    /// Ascending position of the first element inside `range`.
    pub fn first_in(&self, range: &Range) -> Option<usize> {
        match &self.repr {
            Repr::Listpack(v) => {
                // Redis's zzlFirstIn(Lex)Range: a linear scan for the first
                // element not below the range, after the overlap check.
                if !listpack_overlaps(v, range) {
                    return None;
                }
                let at = v.iter().position(|(m, s)| range.gte_min(m, *s))?;
                let (m, s) = &v[at];
                range.lte_max(m, *s).then_some(at)
            }
            Repr::Skiplist(big) => big.list.first_in(range).map(|(_, r)| r - 1),
        }
    }

    /// Ascending position of the last element inside `range`.
    pub fn last_in(&self, range: &Range) -> Option<usize> {
        match &self.repr {
            Repr::Listpack(v) => {
                if !listpack_overlaps(v, range) {
                    return None;
                }
                let at = v.iter().rposition(|(m, s)| range.lte_max(m, *s))?;
                let (m, s) = &v[at];
                range.gte_min(m, *s).then_some(at)
            }
            Repr::Skiplist(big) => big.list.last_in(range).map(|(_, r)| r - 1),
        }
    }

    /// ZCOUNT / ZLEXCOUNT.
    pub fn count_in(&self, range: &Range) -> usize {
        match &self.repr {
            Repr::Listpack(v) => match self.first_in(range) {
                Some(at) => v[at..]
                    .iter()
                    .take_while(|(m, s)| range.lte_max(m, *s))
                    .count(),
                None => 0,
            },
            Repr::Skiplist(big) => match (big.list.first_in(range), big.list.last_in(range)) {
                (Some((_, first)), Some((_, last))) if last >= first => last - first + 1,
                _ => 0,
            },
        }
    }

    /// ZREMRANGEBYSCORE / ZREMRANGEBYLEX: remove what `range` holds.
    pub fn remove_range(&mut self, range: &Range) -> usize {
        let first = if self.is_listpack() {
            self.first_in(range)
        } else {
            None
        };
        match &mut self.repr {
            Repr::Listpack(v) => {
                let Some(from) = first else {
                    return 0;
                };
                let n = v[from..]
                    .iter()
                    .take_while(|(m, s)| range.lte_max(m, *s))
                    .count();
                v.drain(from..from + n);
                n
            }
            Repr::Skiplist(big) => {
                let Big { dict, list } = &mut **big;
                list.delete_range(range, |m| {
                    dict.remove(m);
                })
            }
        }
    }

    /// ZREMRANGEBYRANK: remove ascending positions `start..=end` (already
    /// clamped to the zset by the caller).
    pub fn remove_rank_range(&mut self, start: usize, end: usize) -> usize {
        let len = self.len();
        if start > end || start >= len {
            return 0;
        }
        let end = end.min(len - 1);
        match &mut self.repr {
            Repr::Listpack(v) => {
                v.drain(start..=end);
                end - start + 1
            }
            Repr::Skiplist(big) => {
                let Big { dict, list } = &mut **big;
                list.delete_rank_range(start + 1, end + 1, |m| {
                    dict.remove(m);
                })
            }
        }
    }

    /// Remove and return up to `count` lowest (or, if `max`, highest)
    /// elements, in pop order. The shared core of ZPOPMIN/ZPOPMAX/ZMPOP and
    /// the blocking variants.
    pub fn pop(&mut self, max: bool, count: usize) -> Vec<(CompactBytes, f64)> {
        let n = count.min(self.len());
        let mut out = Vec::with_capacity(n);
        match &mut self.repr {
            Repr::Listpack(v) => {
                if max {
                    out.extend(v.drain(v.len() - n..).rev());
                } else {
                    out.extend(v.drain(..n));
                }
            }
            Repr::Skiplist(big) => {
                for _ in 0..n {
                    let Some((m, s)) = big.list.pop(max) else {
                        break;
                    };
                    big.dict.remove(&m);
                    out.push((m, s));
                }
            }
        }
        out
    }

    /// A uniformly random element (skiplist: as uniform as the dict's
    /// bucket sampling, like Redis's dictGetFairRandomKey).
    pub fn random_entry(&self, rng: &mut u64) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Listpack(v) => {
                if v.is_empty() {
                    return None;
                }
                let (m, s) = &v[random_below(rng, v.len())];
                Some((m.as_bytes(), *s))
            }
            Repr::Skiplist(big) => big.dict.random_entry(rng).map(|(m, s)| (m.as_bytes(), *s)),
        }
    }

    /// One ZSCAN step. A listpack is reported whole, in order, and the
    /// returned cursor is 0 (as Redis does for compact encodings); a
    /// skiplist walks its dict with the resize-proof cursor.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match &self.repr {
            Repr::Listpack(v) => {
                for (m, s) in v {
                    f(m, *s);
                }
                0
            }
            Repr::Skiplist(big) => big.dict.scan(cursor, |m, s| f(m, *s)),
        }
    }
}

/// Redis's zzlIsIn(Lex)Range for a listpack: non-empty range overlapping
/// the first and last elements.
fn listpack_overlaps(v: &[(CompactBytes, f64)], range: &Range) -> bool {
    let (Some((lm, ls)), Some((fm, fs))) = (v.last(), v.first()) else {
        return false;
    };
    !range.is_empty() && range.gte_min(lm, *ls) && range.lte_max(fm, *fs)
}

/// An in-order walk over either encoding (see [`ZSetValue::iter_at`]).
pub struct Iter<'a> {
    state: IterState<'a>,
    reverse: bool,
}

enum IterState<'a> {
    Listpack {
        items: &'a [(CompactBytes, f64)],
        next: Option<usize>,
    },
    Skiplist {
        list: &'a SkipList,
        node: NodeId,
    },
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.state {
            IterState::Listpack { items, next } => {
                let at = (*next)?;
                let (m, s) = &items[at];
                *next = if self.reverse {
                    at.checked_sub(1)
                } else {
                    Some(at + 1).filter(|&n| n < items.len())
                };
                Some((m.as_bytes(), *s))
            }
            IterState::Skiplist { list, node } => {
                if *node == NIL {
                    return None;
                }
                let x = *node;
                *node = if self.reverse {
                    list.prev(x)
                } else {
                    list.next(x)
                };
                Some((list.member(x).as_bytes(), list.score(x)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_entries: 4,
        max_value: 8,
    };

    fn add(z: &mut ZSetValue, m: &str, s: f64) -> AddOutcome {
        z.add(m.as_bytes(), s, AddFlags::default(), LIMITS)
    }

    fn dump(z: &ZSetValue) -> Vec<(String, f64)> {
        z.iter()
            .map(|(m, s)| (String::from_utf8_lossy(m).into_owned(), s))
            .collect()
    }

    #[test]
    fn converts_past_entry_limit_and_never_back() {
        let mut z = ZSetValue::for_first_member(LIMITS, 1);
        for (i, m) in ["d", "c", "b", "a"].iter().enumerate() {
            assert_eq!(add(&mut z, m, i as f64), AddOutcome::Added(i as f64));
        }
        assert_eq!(z.encoding_name(), "listpack");
        add(&mut z, "e", 0.5);
        assert_eq!(z.encoding_name(), "skiplist");
        assert_eq!(z.len(), 5);
        for m in ["a", "b", "c", "d"] {
            assert!(z.remove(m.as_bytes()));
        }
        assert_eq!(z.encoding_name(), "skiplist");
        assert_eq!(dump(&z), vec![("e".into(), 0.5)]);
    }

    #[test]
    fn converts_on_long_member_and_at_creation() {
        let mut z = ZSetValue::for_first_member(LIMITS, 8);
        assert_eq!(z.encoding_name(), "listpack");
        add(&mut z, "12345678", 1.0);
        assert_eq!(z.encoding_name(), "listpack");
        add(&mut z, "123456789", 1.0);
        assert_eq!(z.encoding_name(), "skiplist");
        assert_eq!(
            ZSetValue::for_first_member(LIMITS, 9).encoding_name(),
            "skiplist"
        );
        let zero = Limits {
            max_entries: 0,
            max_value: 64,
        };
        assert_eq!(
            ZSetValue::for_first_member(zero, 1).encoding_name(),
            "skiplist"
        );
    }

    #[test]
    fn both_encodings_agree() {
        let big = Limits {
            max_entries: 1000,
            max_value: 64,
        };
        let tiny = Limits {
            max_entries: 0,
            max_value: 0,
        };
        let mut a = ZSetValue::for_first_member(big, 1);
        let mut b = ZSetValue::for_first_member(tiny, 1);
        let mut rng = 99u64;
        for _ in 0..2000 {
            let r = rng_next(&mut rng);
            let m = format!("k{}", r % 300);
            let s = ((r >> 16) % 40) as f64 - 20.0;
            let flags = AddFlags {
                incr: r & (1 << 40) != 0,
                gt: r & (1 << 41) != 0,
                ..AddFlags::default()
            };
            if r.is_multiple_of(5) {
                assert_eq!(a.remove(m.as_bytes()), b.remove(m.as_bytes()));
            } else {
                assert_eq!(
                    a.add(m.as_bytes(), s, flags, big),
                    b.add(m.as_bytes(), s, flags, tiny)
                );
            }
        }
        assert_eq!(
            (a.encoding_name(), b.encoding_name()),
            ("listpack", "skiplist")
        );
        assert_eq!(dump(&a), dump(&b));
        for (m, _) in dump(&a) {
            assert_eq!(a.rank(m.as_bytes(), false), b.rank(m.as_bytes(), false));
            assert_eq!(a.rank(m.as_bytes(), true), b.rank(m.as_bytes(), true));
        }
        let r = Range::Score(ScoreRange::parse(b"(-5", b"7").unwrap());
        assert_eq!(a.first_in(&r), b.first_in(&r));
        assert_eq!(a.last_in(&r), b.last_in(&r));
        assert_eq!(a.count_in(&r), b.count_in(&r));
        let fwd: Vec<_> = a.iter_at(3, false).collect();
        assert_eq!(fwd, b.iter_at(3, false).collect::<Vec<_>>());
        let rev: Vec<_> = a.iter_at(10, true).collect();
        assert_eq!(rev, b.iter_at(10, true).collect::<Vec<_>>());
        assert_eq!(rev.len(), 11);
        assert_eq!(a.remove_range(&r), b.remove_range(&r));
        assert_eq!(a.remove_rank_range(2, 6), b.remove_rank_range(2, 6));
        assert_eq!(a.pop(true, 3), b.pop(true, 3));
        assert_eq!(a.pop(false, 2), b.pop(false, 2));
        assert_eq!(dump(&a), dump(&b));
        assert_eq!(dump(&b.clone()), dump(&b));
        assert_eq!(b.clone().encoding_name(), "skiplist");
    }

    #[test]
    fn add_flags_follow_zadd() {
        let mut z = ZSetValue::new_listpack();
        let f = |nx, xx, gt, lt, incr| AddFlags {
            nx,
            xx,
            gt,
            lt,
            incr,
        };
        let l = LIMITS;
        assert_eq!(
            z.add(b"a", 1.0, f(false, true, false, false, false), l),
            AddOutcome::Skipped
        );
        assert_eq!(
            z.add(b"a", 1.0, f(true, false, false, false, false), l),
            AddOutcome::Added(1.0)
        );
        assert_eq!(
            z.add(b"a", 2.0, f(true, false, false, false, false), l),
            AddOutcome::Skipped
        );
        assert_eq!(
            z.add(b"a", 0.0, f(false, false, true, false, false), l),
            AddOutcome::Skipped
        );
        assert_eq!(
            z.add(b"a", 3.0, f(false, false, true, false, false), l),
            AddOutcome::Updated(3.0)
        );
        assert_eq!(
            z.add(b"a", 0.0, f(false, false, false, false, true), l),
            AddOutcome::Unchanged(3.0)
        );
        assert_eq!(
            z.add(b"a", -1.0, f(false, false, false, true, true), l),
            AddOutcome::Updated(2.0)
        );
        z.add(b"a", f64::INFINITY, AddFlags::default(), l);
        assert_eq!(
            z.add(
                b"a",
                f64::NEG_INFINITY,
                f(false, false, false, false, true),
                l
            ),
            AddOutcome::NotANumber
        );
        assert_eq!(
            z.add(b"b", f64::NAN, AddFlags::default(), l),
            AddOutcome::NotANumber
        );
        assert_eq!(z.len(), 1);
    }

    #[test]
    fn listpack_reads_negative_zero_as_zero() {
        let mut z = ZSetValue::new_listpack();
        add(&mut z, "a", -0.0);
        assert!(z.score(b"a").unwrap().is_sign_positive());
        let mut s = ZSetValue::new_skiplist();
        add(&mut s, "a", -0.0);
        assert!(s.score(b"a").unwrap().is_sign_negative());
    }

    #[test]
    fn store_results_choose_encoding_by_size() {
        let items = |n: usize| -> Vec<(CompactBytes, f64)> {
            (0..n)
                .map(|i| (CompactBytes::new(format!("m{i}").as_bytes()), i as f64))
                .collect()
        };
        assert_eq!(
            ZSetValue::from_sorted(items(4), LIMITS).encoding_name(),
            "listpack"
        );
        assert_eq!(
            ZSetValue::from_sorted(items(5), LIMITS).encoding_name(),
            "skiplist"
        );
        let long = vec![(CompactBytes::new(b"123456789"), 1.0)];
        assert_eq!(
            ZSetValue::from_sorted(long, LIMITS).encoding_name(),
            "skiplist"
        );
    }

    #[test]
    fn loading_pairs_sorts_and_validates() {
        let pairs = |v: &[(&str, f64)]| -> Vec<(CompactBytes, f64)> {
            v.iter()
                .map(|(m, s)| (CompactBytes::new(m.as_bytes()), *s))
                .collect()
        };
        let z =
            ZSetValue::from_pairs(pairs(&[("c", 2.0), ("a", 2.0), ("b", -1.0)]), LIMITS).unwrap();
        assert_eq!(
            dump(&z),
            vec![("b".into(), -1.0), ("a".into(), 2.0), ("c".into(), 2.0)]
        );
        assert!(ZSetValue::from_pairs(Vec::new(), LIMITS).is_err());
        assert!(ZSetValue::from_pairs(pairs(&[("a", 1.0), ("a", 2.0)]), LIMITS).is_err());
        assert!(ZSetValue::from_pairs(pairs(&[("a", f64::NAN)]), LIMITS).is_err());
    }

    #[test]
    fn scan_and_random_cover_members() {
        let tiny = Limits {
            max_entries: 0,
            max_value: 0,
        };
        let mut z = ZSetValue::for_first_member(tiny, 1);
        for i in 0..100 {
            z.add(
                format!("m{i}").as_bytes(),
                i as f64,
                AddFlags::default(),
                tiny,
            );
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = z.scan(cursor, |m, _| {
                seen.insert(m.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 100);
        let mut rng = 5;
        let (m, s) = z.random_entry(&mut rng).unwrap();
        assert_eq!(z.score(m), Some(s));
    }
}
