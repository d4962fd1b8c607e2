//! maxmemory enforcement: choosing and evicting keys when used memory is
//! over the limit, with Redis's policies and its sampling approximation.
//!
//! Owns: the eviction pool and the eviction loop. The dispatcher calls
//! [`perform_evictions`] before every command while `maxmemory` is set; if
//! memory cannot be brought under the limit, commands that may grow memory
//! (flagged DENYOOM) are refused with Redis's OOM error.
//!
//! How a victim is chosen (as Redis, approximately): for each database,
//! sample `maxmemory-samples` keys (from all keys, or only keys with a TTL
//! for the volatile-* policies), score them (idle time for LRU, inverse
//! access frequency for LFU, nearness of the deadline for volatile-ttl),
//! and keep the best `POOL_SIZE` candidates across calls; evict the best
//! candidate that still exists. The random policies take any sampled key.
//!
//! Must never: loop unbounded (each call is bounded in time by
//! maxmemory-eviction-tenacity; the next command continues the work), or
//! evict when memory is under the limit or while a CLIENT PAUSE lasts.
//!
//! Invariant: pool entries are hints only; a key is re-checked in the
//! keyspace right before it is evicted.

use crate::config::MaxmemoryPolicy;
use crate::db::idle_ms;
use crate::lfu;
use crate::memory;
use crate::notify;
use crate::server::Server;
use crate::types::CompactBytes;
use std::time::{Duration, Instant};

/// Candidates kept between calls (Redis's EVPOOL_SIZE).
const POOL_SIZE: usize = 16;

#[derive(Debug, Clone)]
struct Candidate {
    /// Higher is a better victim.
    score: u64,
    db: usize,
    key: CompactBytes,
}

/// Best victims seen so far, sorted by ascending score.
#[derive(Debug, Default)]
pub struct EvictionPool {
    entries: Vec<Candidate>,
}

impl EvictionPool {
    fn offer(&mut self, cand: Candidate) {
        if self
            .entries
            .iter()
            .any(|e| e.db == cand.db && e.key == cand.key)
        {
            return;
        }
        if self.entries.len() == POOL_SIZE {
            if self.entries[0].score >= cand.score {
                return;
            }
            self.entries.remove(0);
        }
        let pos = self.entries.partition_point(|e| e.score < cand.score);
        self.entries.insert(pos, cand);
    }

    fn pop_best(&mut self) -> Option<Candidate> {
        self.entries.pop()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

/// Outcome of an eviction attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictResult {
    /// Memory is under the limit (or there is no limit).
    Ok,
    /// Still over the limit, but work was done and may continue later:
    /// commands are allowed (Redis's EVICT_RUNNING).
    Running,
    /// Over the limit and nothing can be evicted: DENYOOM commands fail.
    Fail,
}

/// Bytes that count against maxmemory.
pub fn counted_memory() -> u64 {
    memory::used_memory() as u64
}

/// Time budget per call: tenacity 10 (the default) gives 500 us, each
/// step up multiplies by ~1.15 as in Redis; 100 means unbounded.
fn time_budget(tenacity: u64) -> Option<Duration> {
    if tenacity >= 100 {
        return None;
    }
    let us = if tenacity <= 10 {
        50.0 * tenacity.max(1) as f64
    } else {
        500.0 * 1.15f64.powi((tenacity - 10) as i32)
    };
    Some(Duration::from_micros(us as u64))
}

fn is_volatile(p: MaxmemoryPolicy) -> bool {
    matches!(
        p,
        MaxmemoryPolicy::VolatileLru
            | MaxmemoryPolicy::VolatileLfu
            | MaxmemoryPolicy::VolatileRandom
            | MaxmemoryPolicy::VolatileTtl
    )
}

/// Sample keys of one database into the pool.
fn fill_pool(srv: &mut Server, db: usize, policy: MaxmemoryPolicy) {
    let samples = srv.config.maxmemory_samples.max(1) as usize;
    let clock = srv.ks.lru_clock();
    let now = srv.ks.now_ms;
    let lfu_params = srv.ks.lfu;
    let volatile = is_volatile(policy);
    for _ in 0..samples {
        let ks = &mut srv.ks;
        let d = &ks.dbs[db];
        let (key, deadline) = if volatile {
            match d.expires.random_entry(&mut ks.rng) {
                Some((k, &when)) => (k.clone(), when),
                None => return,
            }
        } else {
            match d.dict.random_entry(&mut ks.rng) {
                Some((k, _)) => (k.clone(), 0),
                None => return,
            }
        };
        let Some(obj) = d.dict.get(&key) else {
            continue;
        };
        let score = match policy {
            MaxmemoryPolicy::AllkeysLru | MaxmemoryPolicy::VolatileLru => idle_ms(obj.lru, clock),
            MaxmemoryPolicy::AllkeysLfu | MaxmemoryPolicy::VolatileLfu => {
                let freq = match lfu_params {
                    Some(p) => lfu::decayed_counter(obj.lru, now, p),
                    None => 0,
                };
                255 - freq as u64
            }
            MaxmemoryPolicy::VolatileTtl => u64::MAX - deadline.max(0) as u64,
            // Random policies do not use the pool.
            _ => 0,
        };
        srv.eviction_pool.offer(Candidate { score, db, key });
    }
}

/// Pick the next victim, or None if no key is eligible.
fn pick_victim(srv: &mut Server, policy: MaxmemoryPolicy) -> Option<(usize, CompactBytes)> {
    let volatile = is_volatile(policy);
    let ndbs = srv.ks.dbs.len();
    if matches!(
        policy,
        MaxmemoryPolicy::AllkeysRandom | MaxmemoryPolicy::VolatileRandom
    ) {
        // Start at a rotating db so no database is always hit first.
        for i in 0..ndbs {
            let db = (srv.next_eviction_db + i) % ndbs;
            let ks = &mut srv.ks;
            let d = &ks.dbs[db];
            let picked = if volatile {
                d.expires.random_entry(&mut ks.rng).map(|(k, _)| k.clone())
            } else {
                d.dict.random_entry(&mut ks.rng).map(|(k, _)| k.clone())
            };
            if let Some(k) = picked {
                srv.next_eviction_db = db + 1;
                return Some((db, k));
            }
        }
        return None;
    }
    // Pool policies: refill from every db, then take the best candidate
    // that still exists (it may have been deleted since it was pooled).
    for _ in 0..POOL_SIZE {
        let mut any_keys = false;
        for db in 0..ndbs {
            let d = &srv.ks.dbs[db];
            let has = if volatile {
                !d.expires.is_empty()
            } else {
                !d.dict.is_empty()
            };
            if has {
                any_keys = true;
                fill_pool(srv, db, policy);
            }
        }
        if !any_keys {
            srv.eviction_pool.clear();
            return None;
        }
        while let Some(c) = srv.eviction_pool.pop_best() {
            let d = &srv.ks.dbs[c.db];
            let alive = if volatile {
                d.expires.contains_key(&c.key)
            } else {
                d.dict.contains_key(&c.key)
            };
            if alive {
                return Some((c.db, c.key));
            }
        }
    }
    None
}

/// Evict keys until memory is under `maxmemory`, within the time budget.
pub fn perform_evictions(srv: &mut Server) -> EvictResult {
    let limit = srv.config.maxmemory;
    if limit == 0 || counted_memory() <= limit {
        return EvictResult::Ok;
    }
    // During CLIENT PAUSE the dataset stays static: no eviction, and no
    // OOM refusal either (Redis treats it as if eviction was not needed).
    if srv.paused_now() {
        return EvictResult::Ok;
    }
    let policy = srv.config.maxmemory_policy;
    if policy == MaxmemoryPolicy::NoEviction {
        return EvictResult::Fail;
    }
    let start = Instant::now();
    let budget = time_budget(srv.config.maxmemory_eviction_tenacity);
    let mut evicted = 0u64;
    while counted_memory() > limit {
        let Some((db, key)) = pick_victim(srv, policy) else {
            return EvictResult::Fail;
        };
        // No client wrote the key (CLIENT TRACKING BCAST NOLOOP).
        srv.ks.tracking.deleting_unwritten = true;
        let removed = srv.ks.remove(db, &key);
        srv.ks.tracking.deleting_unwritten = false;
        if let Some(obj) = removed {
            if srv.config.lazyfree_lazy_eviction {
                crate::lazyfree::free_object(obj);
            } else {
                drop(obj);
            }
            // Propagated as DEL, like keys deleted by expiry.
            srv.ks.expired_log.push((db, key.clone()));
            srv.ks.stats.evicted_keys += 1;
            srv.ks.notify(notify::EVICTED, "evicted", db, &key);
            evicted += 1;
        }
        // Check the clock every 16 evictions: cheap, and bounded.
        if evicted.is_multiple_of(16) {
            if let Some(b) = budget {
                if start.elapsed() > b {
                    return EvictResult::Running;
                }
            }
        }
    }
    EvictResult::Ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(score: u64, key: &str) -> Candidate {
        Candidate {
            score,
            db: 0,
            key: CompactBytes::from(key),
        }
    }

    #[test]
    fn pool_keeps_the_best_candidates_sorted() {
        let mut p = EvictionPool::default();
        for i in 0..40u64 {
            p.offer(cand((i * 37) % 101, &format!("k{i}")));
        }
        assert_eq!(p.entries.len(), POOL_SIZE);
        assert!(p.entries.windows(2).all(|w| w[0].score <= w[1].score));
        let best = p.pop_best().unwrap();
        assert_eq!(
            best.score,
            (0..40u64).map(|i| (i * 37) % 101).max().unwrap()
        );
        // Duplicates are not added twice.
        let mut q = EvictionPool::default();
        q.offer(cand(5, "a"));
        q.offer(cand(9, "a"));
        assert_eq!(q.entries.len(), 1);
    }

    #[test]
    fn tenacity_budget() {
        assert_eq!(time_budget(10), Some(Duration::from_micros(500)));
        assert!(time_budget(100).is_none());
        assert!(time_budget(20).unwrap() > time_budget(10).unwrap());
    }
}
