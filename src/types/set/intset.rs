//! `IntSet`: Redis's intset, a sorted array of distinct integers stored at
//! the narrowest width (16, 32 or 64 bits) that fits every member.
//!
//! Owns: the members of a small all-integer set, in ascending order.
//!
//! Why width-adaptive rather than a plain sorted `Vec<i64>`: most integer
//! sets hold small ids, and at 2 bytes a member instead of 8 a 512-member
//! set costs 1 KiB instead of 4 KiB. The price is one `match` per access and
//! an O(n) copy when a wider value first arrives (the "upgrade", which
//! happens at most twice in a set's life: 16 -> 32 -> 64). Each width is a
//! typed `Vec`, so no byte reinterpretation (and no `unsafe`) is needed.
//!
//! Must never: hold a duplicate, lose the order, or narrow the width (like
//! Redis, removing the only wide member keeps the wider width: narrowing
//! would cost a copy on every such removal for little gain).
//!
//! Invariants: members strictly ascending; the width is at least as wide as
//! every member needs; spare capacity is small (inserts grow the buffer by
//! exactly one slot, as Redis reallocs an intset per insert: the O(n) shift
//! an insert does anyway dominates the realloc, and the set stays compact).

/// Storage width of an [`IntSet`], in bytes per member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Width {
    W16 = 2,
    W32 = 4,
    W64 = 8,
}

impl Width {
    /// The narrowest width that can store `v`.
    pub fn of(v: i64) -> Width {
        if i16::try_from(v).is_ok() {
            Width::W16
        } else if i32::try_from(v).is_ok() {
            Width::W32
        } else {
            Width::W64
        }
    }
}

/// A sorted set of distinct integers (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntSet {
    W16(Vec<i16>),
    W32(Vec<i32>),
    W64(Vec<i64>),
}

impl Default for IntSet {
    fn default() -> Self {
        IntSet::W16(Vec::new())
    }
}

/// Insert `x` in order; false if already present.
fn insert_sorted<T: Ord + Copy>(v: &mut Vec<T>, x: T) -> bool {
    match v.binary_search(&x) {
        Ok(_) => false,
        Err(at) => {
            v.reserve_exact(1);
            v.insert(at, x);
            true
        }
    }
}

/// Remove `x`; false if absent. Gives memory back once a quarter of the
/// buffer is spare, so a set that shrank a lot does not keep its peak size.
fn remove_sorted<T: Ord + Copy>(v: &mut Vec<T>, x: T) -> bool {
    match v.binary_search(&x) {
        Ok(at) => {
            v.remove(at);
            if v.capacity() - v.len() > v.len() / 4 + 4 {
                v.shrink_to_fit();
            }
            true
        }
        Err(_) => false,
    }
}

/// Copy `v` into a vector of a wider type, exactly sized.
fn widen<T: Copy, U: From<T>>(v: &[T]) -> Vec<U> {
    let mut out = Vec::with_capacity(v.len() + 1);
    out.extend(v.iter().map(|&x| U::from(x)));
    out
}

impl IntSet {
    pub fn new() -> IntSet {
        IntSet::default()
    }

    pub fn len(&self) -> usize {
        match self {
            IntSet::W16(v) => v.len(),
            IntSet::W32(v) => v.len(),
            IntSet::W64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn width(&self) -> Width {
        match self {
            IntSet::W16(_) => Width::W16,
            IntSet::W32(_) => Width::W32,
            IntSet::W64(_) => Width::W64,
        }
    }

    /// The member at sorted position `i`, if any.
    pub fn get(&self, i: usize) -> Option<i64> {
        match self {
            IntSet::W16(v) => v.get(i).map(|&x| i64::from(x)),
            IntSet::W32(v) => v.get(i).map(|&x| i64::from(x)),
            IntSet::W64(v) => v.get(i).copied(),
        }
    }

    /// Members in ascending order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = i64> + '_ {
        (0..self.len()).map(move |i| self.get(i).unwrap_or_default())
    }

    pub fn contains(&self, x: i64) -> bool {
        // A value wider than the set's width cannot be a member; the casts
        // below are exact once that is ruled out.
        if Width::of(x) > self.width() {
            return false;
        }
        match self {
            IntSet::W16(v) => v.binary_search(&(x as i16)).is_ok(),
            IntSet::W32(v) => v.binary_search(&(x as i32)).is_ok(),
            IntSet::W64(v) => v.binary_search(&x).is_ok(),
        }
    }

    /// Add `x`; false if it was already a member.
    pub fn insert(&mut self, x: i64) -> bool {
        if Width::of(x) > self.width() {
            self.upgrade(Width::of(x));
        }
        match self {
            IntSet::W16(v) => insert_sorted(v, x as i16),
            IntSet::W32(v) => insert_sorted(v, x as i32),
            IntSet::W64(v) => insert_sorted(v, x),
        }
    }

    /// Remove `x`; false if it was not a member.
    pub fn remove(&mut self, x: i64) -> bool {
        if Width::of(x) > self.width() {
            return false;
        }
        match self {
            IntSet::W16(v) => remove_sorted(v, x as i16),
            IntSet::W32(v) => remove_sorted(v, x as i32),
            IntSet::W64(v) => remove_sorted(v, x),
        }
    }

    /// Re-encode every member at `to` (wider than the current width).
    fn upgrade(&mut self, to: Width) {
        *self = match (&*self, to) {
            (IntSet::W16(v), Width::W32) => IntSet::W32(widen(v)),
            (IntSet::W16(v), Width::W64) => IntSet::W64(widen(v)),
            (IntSet::W32(v), Width::W64) => IntSet::W64(widen(v)),
            _ => return,
        };
    }

    /// Heap bytes of the member buffer.
    pub fn heap_size(&self) -> usize {
        match self {
            IntSet::W16(v) => v.capacity() * 2,
            IntSet::W32(v) => v.capacity() * 4,
            IntSet::W64(v) => v.capacity() * 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &IntSet) {
        let all: Vec<i64> = s.iter().collect();
        assert!(
            all.windows(2).all(|w| w[0] < w[1]),
            "not ascending: {all:?}"
        );
        assert!(all.iter().all(|&x| Width::of(x) <= s.width()));
    }

    #[test]
    fn inserts_keep_order_and_reject_duplicates() {
        let mut s = IntSet::new();
        for x in [5, -3, 100, 0, 5, -3, 7] {
            s.insert(x);
            check(&s);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), [-3, 0, 5, 7, 100]);
        assert!(!s.insert(7));
        assert!(s.contains(100) && !s.contains(101));
        assert_eq!(s.width(), Width::W16);
    }

    #[test]
    fn upgrades_at_each_width_boundary() {
        let mut s = IntSet::new();
        s.insert(i64::from(i16::MAX));
        s.insert(i64::from(i16::MIN));
        assert_eq!(s.width(), Width::W16);
        s.insert(i64::from(i16::MAX) + 1);
        assert_eq!(s.width(), Width::W32);
        s.insert(i64::from(i32::MIN));
        assert_eq!(s.width(), Width::W32);
        s.insert(i64::from(i32::MIN) - 1);
        assert_eq!(s.width(), Width::W64);
        s.insert(i64::MAX);
        s.insert(i64::MIN);
        check(&s);
        assert_eq!(s.len(), 7);
        assert_eq!(s.get(0), Some(i64::MIN));
        assert_eq!(s.get(6), Some(i64::MAX));
        assert_eq!(s.get(7), None);
        // Removing the wide members does not narrow the width.
        assert!(s.remove(i64::MAX) && s.remove(i64::MIN));
        assert_eq!(s.width(), Width::W64);
        check(&s);
    }

    #[test]
    fn wide_values_are_never_members_of_narrow_sets() {
        let mut s = IntSet::new();
        s.insert(1);
        // 65537 as i16 would be 1: the width check must come first.
        assert!(!s.contains(65537));
        assert!(!s.remove(65537));
        assert!(s.contains(1));
        let mut s = IntSet::new();
        s.insert(70000);
        assert!(!s.contains(70000 + (1 << 32)));
    }

    #[test]
    fn removal_releases_spare_capacity() {
        let mut s = IntSet::new();
        for x in 0..1000 {
            s.insert(x);
        }
        assert!(s.heap_size() <= 2 * 1000 + 64);
        for x in 0..990 {
            assert!(s.remove(x));
            check(&s);
        }
        assert!(!s.remove(0));
        assert_eq!(s.len(), 10);
        assert!(s.heap_size() <= 2 * 10 + 2 * 8, "{}", s.heap_size());
    }
}
