//! Hot-key tracking: which keys are accessed most, in O(1) per access and
//! fixed memory, whatever the maxmemory-policy (HOTKEYS, INFO hotkeys).
//!
//! Owns: a count-min sketch (`DEPTH` rows of `WIDTH` counters, conservative
//! update) that estimates any key's access count, and a small table of the
//! `TOP_CAPACITY` keys with the highest estimates. Every
//! `DECAY_PERIOD_MS` all counts are halved (from cron), so the view follows
//! the recent load instead of the whole uptime.
//!
//! Per access (Keyspace::lookup): one hash of the key, `DEPTH` counter
//! reads and increments, one comparison with the table's minimum. Only a
//! key whose estimate beats that minimum touches the table (a scan of
//! `TOP_CAPACITY` hashes); a key entering the table is copied once.
//!
//! Must never: grow. Memory is the sketch (`DEPTH * WIDTH * 4` bytes =
//! 64 KiB) plus at most `TOP_CAPACITY` keys of at most `KEY_BYTES_MAX`
//! bytes each (32 KiB), so under 100 KiB plus the table's small headers:
//! see `memory_bound_bytes`. Keys longer than `KEY_BYTES_MAX` are counted
//! in the sketch but never enter the table.
//!
//! Invariants: `min_count` is the smallest count in the table once it is
//! full (0 before); table counts only grow between decays.

use crate::dict::hash_bytes;

pub const WIDTH: usize = 4096;
pub const DEPTH: usize = 4;
pub const TOP_CAPACITY: usize = 32;
pub const KEY_BYTES_MAX: usize = 1024;
pub const DECAY_PERIOD_MS: i64 = 60_000;

#[derive(Debug, Clone)]
pub struct HotKey {
    hash: u64,
    pub db: usize,
    pub key: Vec<u8>,
    pub count: u64,
}

pub struct HotKeys {
    /// `DEPTH` rows of `WIDTH` counters; a fixed-size array so that the
    /// masked indexes in `record` need no bounds checks.
    sketch: Box<[u32; WIDTH * DEPTH]>,
    top: Vec<HotKey>,
    min_count: u64,
    seed: u64,
    last_decay_ms: i64,
}

impl Default for HotKeys {
    fn default() -> Self {
        HotKeys::new(0x005e_ed0f_4b0b_cafe)
    }
}

impl HotKeys {
    pub fn new(seed: u64) -> HotKeys {
        HotKeys {
            sketch: Box::new([0; WIDTH * DEPTH]),
            top: Vec::with_capacity(TOP_CAPACITY),
            min_count: 0,
            seed,
            last_decay_ms: 0,
        }
    }

    /// The most memory the tracker can own, in bytes.
    pub const fn memory_bound_bytes() -> usize {
        WIDTH * DEPTH * 4
            + TOP_CAPACITY * (KEY_BYTES_MAX + std::mem::size_of::<HotKey>())
            + std::mem::size_of::<HotKeys>()
    }

    /// Memory the tracker owns right now, in bytes.
    pub fn memory_bytes(&self) -> usize {
        WIDTH * DEPTH * 4
            + self.top.capacity() * std::mem::size_of::<HotKey>()
            + self.top.iter().map(|h| h.key.capacity()).sum::<usize>()
            + std::mem::size_of::<HotKeys>()
    }

    /// Count one access to `key` in database `db`.
    #[inline]
    pub fn record(&mut self, db: usize, key: &[u8]) {
        let h = hash_bytes(self.seed ^ db as u64, key);
        // Conservative update: read the row counters, then raise only
        // those at the minimum. Rows use disjoint 12-bit slices of the
        // hash, so one hash serves all four. Written out for the four rows
        // (this runs on every read of a key).
        const _: () = assert!(DEPTH == 4 && WIDTH <= 1 << 16);
        let m = WIDTH - 1;
        let i0 = h as usize & m;
        let i1 = WIDTH + ((h >> 16) as usize & m);
        let i2 = 2 * WIDTH + ((h >> 32) as usize & m);
        let i3 = 3 * WIDTH + ((h >> 48) as usize & m);
        let sk = &mut *self.sketch;
        let est = sk[i0].min(sk[i1]).min(sk[i2]).min(sk[i3]).saturating_add(1);
        for i in [i0, i1, i2, i3] {
            sk[i] = sk[i].max(est);
        }
        if (est as u64) > self.min_count || self.top.len() < TOP_CAPACITY {
            self.offer(h, db, key, est as u64);
        }
    }

    /// A key whose estimate may belong in the table.
    #[cold]
    fn offer(&mut self, hash: u64, db: usize, key: &[u8], est: u64) {
        if let Some(e) = self
            .top
            .iter_mut()
            .find(|e| e.hash == hash && e.db == db && e.key == key)
        {
            let old = e.count;
            e.count = e.count.max(est);
            // Raising a count that was above the minimum leaves the
            // minimum where it was: no rescan (under a skewed load the
            // hottest keys come through here on nearly every access).
            if old > self.min_count {
                return;
            }
        } else {
            if key.len() > KEY_BYTES_MAX {
                return;
            }
            let entry = HotKey {
                hash,
                db,
                key: key.to_vec(),
                count: est,
            };
            if self.top.len() < TOP_CAPACITY {
                self.top.push(entry);
            } else if let Some(min) = self.top.iter_mut().min_by_key(|e| e.count) {
                *min = entry;
            }
        }
        if self.top.len() == TOP_CAPACITY {
            self.min_count = self.top.iter().map(|e| e.count).min().unwrap_or(0);
        }
    }

    /// Halve every count once per `DECAY_PERIOD_MS` (called from cron).
    pub fn decay_if_due(&mut self, now_ms: i64) {
        if self.last_decay_ms == 0 {
            self.last_decay_ms = now_ms;
            return;
        }
        if now_ms - self.last_decay_ms < DECAY_PERIOD_MS {
            return;
        }
        self.last_decay_ms = now_ms;
        for c in self.sketch.iter_mut() {
            *c /= 2;
        }
        for e in self.top.iter_mut() {
            e.count /= 2;
        }
        self.top.retain(|e| e.count > 0);
        self.min_count /= 2;
    }

    /// HOTKEYS RESET.
    pub fn reset(&mut self) {
        self.sketch.iter_mut().for_each(|c| *c = 0);
        self.top.clear();
        self.min_count = 0;
    }

    /// The tracked keys, highest count first (ties by key for stable
    /// output).
    pub fn top(&self) -> Vec<&HotKey> {
        let mut v: Vec<&HotKey> = self.top.iter().collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        v
    }

    /// The 99th percentile of the sketch's first row: with fewer active
    /// keys than `WIDTH` a counter is about one key's count, so this is the
    /// access count that only the hottest 1% of counters reach (an upper
    /// estimate when keys share counters). Empty counters are skipped.
    pub fn p99_threshold(&self) -> u64 {
        let mut row: Vec<u32> = self.sketch[..WIDTH]
            .iter()
            .copied()
            .filter(|&c| c > 0)
            .collect();
        if row.is_empty() {
            return 0;
        }
        let rank = (row.len() * 99).div_ceil(100).saturating_sub(1);
        let (_, v, _) = row.select_nth_unstable(rank);
        *v as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_heavy_keys_and_stays_bounded() {
        let mut hk = HotKeys::new(7);
        for round in 0..200u32 {
            for k in 0..2000u32 {
                hk.record(0, format!("cold{k}").as_bytes());
            }
            for hot in 0..5u32 {
                for _ in 0..(10 * (hot + 1)) {
                    hk.record(0, format!("hot{hot}").as_bytes());
                }
            }
            let _ = round;
        }
        let top: Vec<String> = hk
            .top()
            .iter()
            .take(5)
            .map(|e| String::from_utf8_lossy(&e.key).into_owned())
            .collect();
        assert_eq!(top, ["hot4", "hot3", "hot2", "hot1", "hot0"]);
        assert!(hk.memory_bytes() <= HotKeys::memory_bound_bytes());
        assert_eq!(hk.top().len(), TOP_CAPACITY);
    }

    /// The invariant `offer` now keeps without rescanning on every raise:
    /// once the table is full, `min_count` is its smallest count.
    #[test]
    fn min_count_tracks_the_table_under_a_skewed_load() {
        let mut hk = HotKeys::new(3);
        let mut rng = 0x1234_5678_9abc_def0u64;
        for _ in 0..50_000 {
            // Skewed: low key numbers far more often.
            let r = crate::dict::rng_next(&mut rng);
            let k = (r % 200) * (r >> 60) / 16;
            hk.record(0, format!("k{k}").as_bytes());
            if hk.top.len() == TOP_CAPACITY {
                let min = hk.top.iter().map(|e| e.count).min().unwrap();
                assert_eq!(hk.min_count, min);
            }
        }
        assert_eq!(hk.top.len(), TOP_CAPACITY);
    }

    #[test]
    fn decay_halves_counts() {
        let mut hk = HotKeys::new(1);
        for _ in 0..10 {
            hk.record(0, b"k");
        }
        hk.decay_if_due(1);
        hk.decay_if_due(1 + DECAY_PERIOD_MS);
        assert_eq!(hk.top()[0].count, 5);
    }
}
