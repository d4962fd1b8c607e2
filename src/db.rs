//! Databases, key lookups and expiry.
//!
//! Owns: the numbered databases (each a main [`Dict`] of objects plus an
//! `expires` dict of absolute unix-millisecond deadlines), the keyspace
//! statistics (hits, misses, expired keys), lazy expiry on access and the
//! active expiry cycle.
//!
//! Must never: let any command observe a key whose deadline has passed.
//! Every lookup goes through [`Keyspace::lookup`], which checks the deadline
//! first; KEYS/SCAN/RANDOMKEY filter with [`Keyspace::is_expired`].
//!
//! Invariants:
//! - A key is in `expires` only if it is in `dict` (deleting a key deletes
//!   its deadline; overwriting it without KEEPTTL clears the deadline).
//! - All deadlines are compared against `now_ms`, a per-command snapshot of
//!   the clock set by the dispatcher, so one command sees one instant (as
//!   Redis does, a MGET of two keys cannot see the first alive and the
//!   second expired because the clock moved between them). While a script
//!   runs, expiry is judged at the script's start instead (`frozen_ms`, as
//!   Redis 7.0), so no key expires between two of its commands, while
//!   `now_ms` still follows the clock for the TTLs they report and the
//!   deadlines they set.
//! - On a replica, expired keys are reported missing but not deleted: the
//!   master's DEL removes them, so both sides keep the same keyspace.

use crate::dict::Dict;
use crate::lfu::{self, LfuParams};
use crate::notify::{self, Notifier};
use crate::server::blocking::{self, BlockedKeys};
use crate::types::{CompactBytes, RObj, Value};
use crate::watch::WatchRegistry;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Wall clock in unix milliseconds.
pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Access clock stored in objects: unix milliseconds truncated to 32 bits
/// (it wraps every ~49.7 days; an object idle for longer looks recent,
/// which only makes it a slightly worse eviction candidate). Redis keeps
/// seconds in 24 bits; milliseconds let the LRU policies tell apart keys
/// touched within the same second, which matters for eviction quality
/// under bursts.
pub fn lru_clock(now_ms: i64) -> u32 {
    now_ms as u32
}

/// Milliseconds since an object's last access, wrap-safe.
pub fn idle_ms(obj_lru: u32, clock: u32) -> u64 {
    clock.wrapping_sub(obj_lru) as u64
}

/// Seconds since an object's last access (OBJECT IDLETIME).
pub fn idle_seconds(obj_lru: u32, clock: u32) -> u64 {
    idle_ms(obj_lru, clock) / 1000
}

/// The `lru_clock` INFO field: Redis's 24-bit seconds clock.
pub fn info_lru_clock(now_ms: i64) -> u32 {
    ((now_ms / 1000) as u32) & ((1 << 24) - 1)
}

#[derive(Default)]
pub struct Db {
    pub dict: Dict<RObj>,
    pub expires: Dict<i64>,
    /// Scan cursor of the active expiry cycle over `expires`, so successive
    /// cycles cover the whole table instead of re-sampling the same buckets.
    pub expire_cursor: u64,
    /// Running average TTL of sampled keys (INFO keyspace avg_ttl).
    pub avg_ttl_ms: i64,
}

#[derive(Default, Debug, Clone)]
pub struct KeyspaceStats {
    pub hits: u64,
    pub misses: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
    /// Fraction (0..1) of keys found expired in the last active cycle.
    pub expired_stale_perc: f64,
    pub expired_time_cap_reached_count: u64,
    pub expire_cycle_cpu_ms: u64,
}

/// Pipelined requests whose keys are prefetched together: enough for the
/// usual pipeline depths to overlap their misses, few enough that the
/// first key's lines are still in the cache when its request runs.
pub const PREFETCH_BATCH: usize = 16;
/// Most of a cron tick the active rehash takes (Redis's 1 ms).
const ACTIVE_REHASH_BUDGET: Duration = Duration::from_millis(1);
/// Rehash steps between two looks at the clock.
const ACTIVE_REHASH_BATCH: usize = 100;

pub struct Keyspace {
    /// Hot-key tracker, fed by every lookup that touches a key.
    pub hotkeys: crate::observe::hotkeys::HotKeys,
    pub dbs: Vec<Db>,
    /// Clock snapshot for the command being executed (see invariants).
    pub now_ms: i64,
    /// Set for the length of a script: the instant expiry is judged at
    /// (see the module comment).
    pub frozen_ms: Option<i64>,
    pub stats: KeyspaceStats,
    /// True on a replica: expired keys are hidden, not deleted.
    pub is_replica: bool,
    /// True while a command of our master's stream runs (replica.rs).
    pub applying_master_stream: bool,
    /// True during CLIENT PAUSE: the dataset must stay static, so expired
    /// keys are hidden but not deleted (no DEL propagated, `expired_keys`
    /// unchanged) until the pause ends, as Redis 7.0.
    pub expiry_frozen: bool,
    /// Writes since the last successful save (Redis's `server.dirty`).
    pub dirty: u64,
    pub rng: u64,
    /// Set while an LFU maxmemory policy is selected: objects' clock field
    /// then holds an LFU counter instead of an access time (as Redis).
    pub lfu: Option<LfuParams>,
    /// lazyfree-lazy-expire / lazyfree-lazy-server-del (mirrored from the
    /// config): big values removed by expiry, or by the server itself
    /// (an overwrite, RENAME's target, a key a command emptied), are
    /// freed on the lazy-free thread.
    pub lazy_expire: bool,
    pub lazy_server_del: bool,
    /// The running command's client asked for CLIENT NO-TOUCH: its reads
    /// count as hits/misses but leave the access clock alone. Set by the
    /// dispatcher per command, so no command family has to special-case it.
    pub client_no_touch: bool,
    /// WATCHed keys; every mutation below touches it.
    pub watch: WatchRegistry,
    /// CLIENT TRACKING table: invalidated wherever WATCH is signalled.
    pub tracking: crate::tracking::Tracking,
    /// Keyspace notifications raised by the running command.
    pub notifier: Notifier,
    /// Keys deleted by expiry (lazy or active) or eviction, not yet
    /// propagated: the
    /// dispatcher turns them into DELs after each command, cron after each
    /// active cycle (see persistence/propagate.rs). Bounded by the keys one
    /// command or one time-boxed cycle can touch.
    pub expired_log: Vec<(usize, CompactBytes)>,
    /// Keys clients are blocked on (BLPOP...), per database, and those
    /// that just got a value. Every key creation goes through `add`/`set`,
    /// which signal it here: that is what wakes a blocked client whatever
    /// command created the key (push, LMOVE, RENAME, MOVE, COPY...).
    pub blocked: BlockedKeys,
}

/// How a lookup affects the key's access metadata and the hit/miss stats.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A read by a command: counts a hit or miss, updates the LRU clock.
    Read,
    /// A read-modify-write: updates the LRU clock, no hit/miss accounting,
    /// and counts as a modification for WATCH.
    Write,
    /// Updates the LRU clock only (TOUCH, the source of COPY/MOVE).
    Touch,
    /// Introspection (a NO-TOUCH client, internal checks): no side effect
    /// besides lazy expiry.
    NoTouch,
    /// EXISTS, TYPE: counted as a hit or miss (and a miss raises `keymiss`)
    /// but the LRU clock is left alone, as Redis's LOOKUP_NOTOUCH.
    ReadNoTouch,
    /// OBJECT: counted as a hit or miss, no `keymiss` event, no touch
    /// (LOOKUP_NOTOUCH | LOOKUP_NONOTIFY).
    Inspect,
}

impl Access {
    fn counts_stats(self) -> bool {
        matches!(self, Access::Read | Access::ReadNoTouch | Access::Inspect)
    }

    fn notifies_miss(self) -> bool {
        matches!(self, Access::Read | Access::ReadNoTouch)
    }

    fn touches(self) -> bool {
        matches!(self, Access::Read | Access::Write | Access::Touch)
    }
}

impl Keyspace {
    pub fn new(databases: usize) -> Keyspace {
        let seed = unix_ms() as u64 ^ (std::process::id() as u64) << 32 | 1;
        Keyspace {
            dbs: (0..databases.max(1)).map(|_| Db::default()).collect(),
            now_ms: unix_ms(),
            frozen_ms: None,
            stats: KeyspaceStats::default(),
            is_replica: false,
            applying_master_stream: false,
            expiry_frozen: false,
            dirty: 0,
            rng: seed,
            lfu: None,
            lazy_expire: false,
            lazy_server_del: false,
            client_no_touch: false,
            watch: WatchRegistry::default(),
            tracking: crate::tracking::Tracking::default(),
            notifier: Notifier::default(),
            expired_log: Vec::new(),
            blocked: BlockedKeys::default(),
            hotkeys: crate::observe::hotkeys::HotKeys::new(seed.rotate_left(17)),
        }
    }

    pub fn lru_clock(&self) -> u32 {
        lru_clock(self.now_ms)
    }

    /// Clock field for a new object: an LRU time or an initial LFU counter.
    fn new_object_clock(&self) -> u32 {
        match self.lfu {
            Some(_) => lfu::initial(self.now_ms),
            None => lru_clock(self.now_ms),
        }
    }

    /// Start loading the keyspace memory that the pipelined requests at the
    /// start of `buf` will touch, and return how many bytes of requests
    /// that covered (the caller runs them before asking again).
    ///
    /// A lookup in a large keyspace is a chain of dependent cache misses
    /// (bucket slot, chain head, and for about a third of the keys at load
    /// factor ~1 the next entry), each a stall that one request at a time
    /// can only wait out. With several requests buffered we know their
    /// keys in advance, so each step is started for the whole batch before
    /// the next step needs its result: every bucket slot, then every chain
    /// head, then (heads loaded, keys compared) every second entry where
    /// the head is not the key. The misses of a batch overlap instead of
    /// queueing: at pipeline 16 this took server CPU per request from 1.06
    /// to 0.60 µs (BENCHMARKS.md). The second argument is taken as the key
    /// whatever the command: where it is not one, a line is loaded for
    /// nothing. A single request gains nothing and is left alone.
    pub fn prefetch_pipeline(&self, db: usize, buf: &[u8]) -> usize {
        let mut ranges = [const { None }; PREFETCH_BATCH];
        let (found, end) = crate::resp::peek::second_args(buf, &mut ranges);
        let Some(dict) = self.dbs.get(db).map(|d| &d.dict).filter(|_| found >= 2) else {
            return end;
        };
        let mut keys: [&[u8]; PREFETCH_BATCH] = [&[]; PREFETCH_BATCH];
        let mut hashes = [0u64; PREFETCH_BATCH];
        let mut n = 0;
        for range in ranges[..found].iter().flatten() {
            if let Some(key) = buf.get(range.clone()) {
                keys[n] = key;
                hashes[n] = dict.prefetch_slot(key);
                n += 1;
            }
        }
        for &hash in &hashes[..n] {
            dict.prefetch_head(hash);
        }
        for (&hash, &key) in hashes[..n].iter().zip(&keys[..n]) {
            dict.prefetch_second(hash, key);
        }
        end
    }

    /// True when `key` has a deadline that has passed. Does not delete.
    pub fn is_expired(&self, db: usize, key: &[u8]) -> bool {
        let d = &self.dbs[db];
        if d.expires.is_empty() {
            return false;
        }
        matches!(d.expires.get(key), Some(&when) if when <= self.expiry_now())
    }

    /// The instant deadlines are judged at: `now_ms`, or a running
    /// script's start.
    #[inline]
    pub fn expiry_now(&self) -> i64 {
        self.frozen_ms.unwrap_or(self.now_ms)
    }

    /// True when a command given a deadline already past deletes the key
    /// at once: not on a replica, and not while replaying decided effects
    /// (the master's stream, the log being loaded), where a later command
    /// may still extend or remove that deadline (Redis: `checkAlreadyExpired`).
    pub fn deletes_past_deadlines(&self) -> bool {
        !self.is_replica && !self.applying_master_stream
    }

    /// Lazy expiry: if `key` is past its deadline, delete it (on a master)
    /// and return true, meaning "treat as missing".
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8]) -> bool {
        // The master's commands see its dataset: a key it has not deleted
        // yet exists for them (its DEL must find it), as Redis.
        if self.applying_master_stream || !self.is_expired(db, key) {
            return false;
        }
        if self.deletes_expired_keys() {
            self.delete_expired(db, key);
        }
        true
    }

    /// Whether a key found past its deadline is deleted now: not by a
    /// replica (its master's DEL will come), not while the master's stream
    /// or the log replays (they see the dataset as it was), not while
    /// expiry is frozen.
    fn deletes_expired_keys(&self) -> bool {
        !self.applying_master_stream && !self.is_replica && !self.expiry_frozen
    }

    /// Delete a key whose deadline passed, with its side effects.
    fn delete_expired(&mut self, db: usize, key: &[u8]) {
        // No client wrote the key (CLIENT TRACKING BCAST NOLOOP).
        self.tracking.deleting_unwritten = true;
        let removed = self.remove(db, key);
        self.tracking.deleting_unwritten = false;
        if let Some(obj) = removed.filter(|_| self.lazy_expire) {
            crate::lazyfree::free_object(obj);
        }
        self.expired_log.push((db, CompactBytes::new(key)));
        self.stats.expired_keys += 1;
        self.notifier.notify(notify::EXPIRED, "expired", db, key);
    }

    /// Raise a keyspace notification (published after the command).
    #[inline]
    pub fn notify(&mut self, class: u32, event: &'static str, db: usize, key: &[u8]) {
        self.notifier.notify(class, event, db, key);
    }

    /// A key changed: invalidate WATCHes and CLIENT TRACKING entries on
    /// it. Called by every mutation method of this type; costs two
    /// branches when nothing is watched or tracked.
    #[inline]
    pub fn signal_modified(&mut self, db: usize, key: &[u8]) {
        if !self.watch.is_empty() {
            self.watch.touch(db, key);
        }
        if self.tracking.is_active() {
            self.tracking.invalidate(key, true);
        }
    }

    /// A command looked `key` up to write it: WATCH and CLIENT TRACKING
    /// hear of it when the command ends, and only if it changed the
    /// dataset (`end_command`), as Redis signals only real changes.
    #[inline]
    fn defer_modified(&mut self, db: usize, key: &[u8]) {
        let (watched, tracked) = (!self.watch.is_empty(), self.tracking.is_active());
        if (watched || tracked) && self.dbs[db].dict.contains_key(key) {
            if watched {
                self.watch.defer_touch(db, key);
            }
            if tracked {
                self.tracking.defer(key);
            }
        }
    }

    /// The dataset changed since `dirty` read `before`. Only growth
    /// counts: a command that lowered the count (a save inside it: DEBUG
    /// LOADAOF, FLUSHALL with save points) changed nothing by it, as
    /// Redis clamps the difference at zero in call().
    #[inline]
    pub fn changed_since(&self, before: u64) -> bool {
        self.dirty > before
    }

    /// Keys wait for `end_command`.
    #[inline]
    pub fn has_deferred_changes(&self) -> bool {
        self.watch.has_pending() || self.tracking.has_deferred()
    }

    /// The running command ended; `changed`: it changed the dataset.
    pub fn end_command(&mut self, changed: bool) {
        self.watch.end_command(changed);
        self.tracking.end_command(changed);
    }

    /// Find a live key. Expired keys are deleted and reported missing.
    pub fn lookup(&mut self, db: usize, key: &[u8], access: Access) -> Option<&mut RObj> {
        let access = if self.client_no_touch && access == Access::Read {
            Access::ReadNoTouch
        } else {
            access
        };
        if self.expire_if_needed(db, key) {
            if access.counts_stats() {
                self.stats.misses += 1;
            }
            if access.notifies_miss() {
                self.notifier.notify(notify::KEY_MISS, "keymiss", db, key);
            }
            return None;
        }
        let now = self.now_ms;
        let lfu_params = self.lfu;
        if access == Access::Write {
            self.defer_modified(db, key);
        }
        let found = self.dbs[db].dict.get_mut(key);
        if access.counts_stats() {
            if found.is_some() {
                self.stats.hits += 1;
            } else {
                self.stats.misses += 1;
                if access.notifies_miss() {
                    self.notifier.notify(notify::KEY_MISS, "keymiss", db, key);
                }
            }
        }
        let obj = found?;
        if access.touches() {
            self.hotkeys.record(db, key);
            obj.lru = match lfu_params {
                Some(p) => lfu::on_access(obj.lru, now, p, &mut self.rng),
                None => lru_clock(now),
            };
        }
        Some(obj)
    }

    /// The value of type `T` at `key`: None if missing, WRONGTYPE if the
    /// key holds another type.
    pub fn lookup_typed<T: crate::types::ValueType>(
        &mut self,
        db: usize,
        key: &[u8],
        access: Access,
    ) -> Result<Option<&mut T>, crate::errors::CmdError> {
        match self.lookup(db, key, access) {
            None => Ok(None),
            Some(obj) => T::from_value_mut(&mut obj.value)
                .map(Some)
                .ok_or(crate::errors::CmdError::WrongType),
        }
    }

    /// True if a live key exists (no hit/miss accounting, no LRU touch).
    pub fn exists(&mut self, db: usize, key: &[u8]) -> bool {
        self.lookup(db, key, Access::NoTouch).is_some()
    }

    /// Store `value` under `key`, replacing any value. The TTL is cleared
    /// unless `keep_ttl` (SET KEEPTTL, and internal rewrites like APPEND
    /// which modify in place instead of calling this).
    ///
    /// Only a created key wakes blocked clients, as in Redis 7.0 (setKey:
    /// dbAdd signals, dbOverwrite does not): a ZUNIONSTORE over an
    /// existing key, even a zset waiters could pop, serves nobody. The
    /// one exception is a stream overwritten: XREADGROUP waiters must
    /// fail (Redis's signalDeletedKeyAsReady).
    pub fn set(&mut self, db: usize, key: &[u8], value: Value, keep_ttl: bool) {
        self.signal_modified(db, key);
        self.drop_deadline_for_store(db, key, keep_ttl);
        let wake;
        let clock = self.new_object_clock();
        let (now, lfu_params) = (self.now_ms, self.lfu);
        let d = &mut self.dbs[db];
        if let Some(obj) = d.dict.get_mut(key) {
            // A stream replaced by another value: a blocked XREADGROUP on
            // it must hear of it (see `signal_stream_gone`).
            wake = matches!(obj.value, Value::Stream(_)) && !self.blocked.is_empty();
            let old = std::mem::replace(&mut obj.value, value);
            if self.lazy_server_del {
                crate::lazyfree::free_object(RObj::new(old, 0));
            }
            // Overwriting counts as an access; under LFU the key keeps its
            // counter (Redis carries it over to the new value).
            obj.lru = match lfu_params {
                Some(p) => lfu::on_access(obj.lru, now, p, &mut self.rng),
                None => clock,
            };
        } else {
            wake = !self.blocked.is_empty() && blocking::can_wake(&value);
            d.dict
                .insert(CompactBytes::new(key), RObj::new(value, clock));
            self.notifier.notify(notify::NEW, "new", db, key);
        }
        if wake {
            self.blocked.signal(db, key);
        }
    }

    /// Before `set` stores over `key`: its deadline goes (unless
    /// `keep_ttl`), and a key already past it is deleted first, as lazy
    /// expiry would (Redis's setKey looks the key up for writing), so the
    /// store creates the key. One lookup in `expires`, the one clearing
    /// the TTL needed anyway; none when the database has no deadlines.
    fn drop_deadline_for_store(&mut self, db: usize, key: &[u8], keep_ttl: bool) {
        let expires = &mut self.dbs[db].expires;
        if expires.is_empty() {
            return;
        }
        let deadline = if keep_ttl {
            expires.get(key).copied()
        } else {
            expires.remove(key).map(|(_, when)| when)
        };
        if deadline.is_some_and(|when| when <= self.expiry_now()) && self.deletes_expired_keys() {
            self.delete_expired(db, key);
        }
    }

    /// Add a key known not to exist (after a lookup said so).
    pub fn add(&mut self, db: usize, key: &[u8], value: Value) {
        let clock = self.new_object_clock();
        self.add_object(db, key, RObj::new(value, clock));
    }

    /// Add an existing object (with its access clock) under a key known
    /// not to exist: RENAME and friends move objects this way.
    pub fn add_object(&mut self, db: usize, key: &[u8], obj: RObj) {
        self.signal_modified(db, key);
        self.insert_new(db, key, obj);
    }

    /// Add a key known not to exist without invalidating WATCHes on it,
    /// as Redis 7.0's dbAdd (its commands signal when they changed
    /// something). For a command that may create a key and change
    /// nothing: a BITFIELD whose writes all failed under OVERFLOW FAIL
    /// still creates its zero-filled string, and a WATCH survives that.
    pub fn add_unwatched(&mut self, db: usize, key: &[u8], value: Value) {
        let clock = self.new_object_clock();
        self.insert_new(db, key, RObj::new(value, clock));
    }

    /// Insert under a key known not to exist: the "new" event and waking
    /// clients blocked on it, but no WATCH signal.
    fn insert_new(&mut self, db: usize, key: &[u8], obj: RObj) {
        let wake = !self.blocked.is_empty() && blocking::can_wake(&obj.value);
        self.dbs[db].dict.insert(CompactBytes::new(key), obj);
        self.notifier.notify(notify::NEW, "new", db, key);
        if wake {
            self.blocked.signal(db, key);
        }
    }

    /// `key` got something a blocked client may take without being
    /// created (XADD appending to an existing stream, XGROUP DESTROY):
    /// queue it for serving if anyone waits on it (Redis's
    /// signalKeyAsReady). Creating a key signals by itself.
    #[inline]
    pub fn signal_ready(&mut self, db: usize, key: &[u8]) {
        if !self.blocked.is_empty() {
            self.blocked.signal(db, key);
        }
    }

    /// A stream left `key` (deleted, overwritten, flushed): signal the key
    /// so a client blocked in XREADGROUP on it gets Redis 7.0's error
    /// (its `signalDeletedKeyAsReady`). Other types wake nobody when they
    /// go.
    #[inline]
    fn signal_stream_gone(&mut self, db: usize, key: &[u8], old: &Value) {
        if matches!(old, Value::Stream(_)) && !self.blocked.is_empty() {
            self.blocked.signal(db, key);
        }
    }

    /// Signal every key clients wait on in `db` that holds a value now
    /// (after SWAPDB brought in another database's keys), and every one
    /// that holds no stream now: a blocked XREADGROUP's stream may have
    /// left with the swap, and Redis 7.0 then fails it (other waiters of
    /// such a key just keep waiting).
    pub fn signal_blocked_keys_with_values(&mut self, db: usize) {
        if self.blocked.is_empty() {
            return;
        }
        for key in self.blocked.keys_in_db(db) {
            let wake = match self.dbs[db].dict.get(&key[..]) {
                Some(obj) => {
                    blocking::can_wake(&obj.value) || !matches!(obj.value, Value::Stream(_))
                }
                None => true,
            };
            if wake {
                self.blocked.signal(db, &key);
            }
        }
    }

    /// Remove a key and its deadline; returns the removed object.
    pub fn remove(&mut self, db: usize, key: &[u8]) -> Option<RObj> {
        let d = &mut self.dbs[db];
        let (_, obj) = d.dict.remove(key)?;
        self.signal_modified(db, key);
        self.signal_stream_gone(db, key, &obj.value);
        let d = &mut self.dbs[db];
        if !d.expires.is_empty() {
            d.expires.remove(key);
        }
        Some(obj)
    }

    /// Remove `key` as the server does (not DEL: see `commands::keys`),
    /// freeing a big value in the background under lazyfree-lazy-server-del.
    pub fn delete(&mut self, db: usize, key: &[u8]) -> bool {
        match self.remove(db, key) {
            Some(obj) => {
                if self.lazy_server_del {
                    crate::lazyfree::free_object(obj);
                }
                true
            }
            None => false,
        }
    }

    /// Set an absolute deadline on an existing key.
    pub fn set_expire(&mut self, db: usize, key: &[u8], when_ms: i64) {
        self.signal_modified(db, key);
        let d = &mut self.dbs[db];
        if let Some(w) = d.expires.get_mut(key) {
            *w = when_ms;
        } else {
            d.expires.insert(CompactBytes::new(key), when_ms);
        }
    }

    /// Remove a deadline; true if there was one.
    pub fn persist(&mut self, db: usize, key: &[u8]) -> bool {
        let removed = self.dbs[db].expires.remove(key).is_some();
        if removed {
            self.signal_modified(db, key);
        }
        removed
    }

    pub fn get_expire(&self, db: usize, key: &[u8]) -> Option<i64> {
        self.dbs[db].expires.get(key).copied()
    }

    /// A random live key of `db`, or None if it is empty. Bounded: if only
    /// expired keys are found after many tries (all keys volatile and
    /// stale), give up and return one of them, like Redis.
    pub fn random_key(&mut self, db: usize) -> Option<CompactBytes> {
        const TRIES_MAX: usize = 100;
        let mut fallback = None;
        for _ in 0..TRIES_MAX {
            let key = {
                let (k, _) = self.dbs[db].dict.random_entry(&mut self.rng)?;
                k.clone()
            };
            if !self.is_expired(db, &key) {
                return Some(key);
            }
            if self.is_replica {
                fallback = Some(key);
                continue;
            }
            self.expire_if_needed(db, &key);
        }
        fallback
    }

    /// Empty `db` and return its old tables (to free, maybe lazily).
    /// Watchers of keys that existed are invalidated.
    pub fn flush_db(&mut self, db: usize) -> Db {
        if !self.watch.is_empty() {
            let dict = &self.dbs[db].dict;
            self.watch.touch_db(db, |k| dict.contains_key(k));
        }
        if !self.blocked.is_empty() {
            for key in self.blocked.keys_in_db(db) {
                let stream = self.dbs[db]
                    .dict
                    .get(&key[..])
                    .is_some_and(|obj| matches!(obj.value, Value::Stream(_)));
                if stream {
                    self.blocked.signal(db, &key);
                }
            }
        }
        std::mem::take(&mut self.dbs[db])
    }

    /// SWAPDB: exchange two databases. A watched key is invalidated if it
    /// exists in either (its value as seen by the watcher changes).
    pub fn swap_dbs(&mut self, a: usize, b: usize) {
        if !self.watch.is_empty() {
            for (x, y) in [(a, b), (b, a)] {
                let (dx, dy) = (&self.dbs[x].dict, &self.dbs[y].dict);
                self.watch
                    .touch_db(x, |k| dx.contains_key(k) || dy.contains_key(k));
            }
        }
        self.dbs.swap(a, b);
    }

    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(|d| d.dict.len()).sum()
    }

    /// One run of the active expiry cycle (called `hz` times per second).
    ///
    /// For each database, walk the `expires` table with its SCAN cursor in
    /// batches of deadlines, deleting expired keys. Keep going on a
    /// database while more than the acceptable share of a batch was
    /// expired (there is probably more garbage), but stop everything once
    /// `budget` is spent: expiry must never take the loop away from
    /// clients for long. `effort` (active-expire-effort, 1..=10) trades
    /// CPU for memory as Redis's does: each step above 1 samples 5 more
    /// deadlines per batch (20 at 1) and accepts one point less of expired
    /// keys left behind (10% at 1, 1% at 10); the caller also widens the
    /// budget.
    pub fn active_expire_cycle(&mut self, budget: Duration, effort: u64) {
        let extra = effort.clamp(1, 10) as usize - 1;
        let keys_per_loop: usize = 20 + 5 * extra;
        let stale_percent_max: usize = 10 - extra;
        const BUCKETS_PER_LOOP_MAX: usize = 400;
        let start = Instant::now();
        let mut sampled_total = 0usize;
        let mut expired_total = 0usize;
        let mut expired_batch: Vec<CompactBytes> = Vec::new();
        'dbs: for db in 0..self.dbs.len() {
            loop {
                let now = self.expiry_now();
                let d = &mut self.dbs[db];
                if d.expires.is_empty() {
                    break;
                }
                let mut sampled = 0usize;
                let mut ttl_sum = 0i64;
                let mut ttl_n = 0i64;
                let mut buckets = 0usize;
                let mut cursor = d.expire_cursor;
                expired_batch.clear();
                while sampled < keys_per_loop && buckets < BUCKETS_PER_LOOP_MAX {
                    cursor = d.expires.scan(cursor, |k, &when| {
                        sampled += 1;
                        if when <= now {
                            expired_batch.push(k.clone());
                        } else {
                            ttl_sum += when - now;
                            ttl_n += 1;
                        }
                    });
                    buckets += 1;
                    if cursor == 0 {
                        break;
                    }
                }
                d.expire_cursor = cursor;
                if ttl_n > 0 {
                    let avg = ttl_sum / ttl_n;
                    // Same smoothing as Redis: new samples weigh 2%.
                    d.avg_ttl_ms = if d.avg_ttl_ms == 0 {
                        avg
                    } else {
                        (d.avg_ttl_ms / 50) * 49 + avg / 50
                    };
                }
                let expired = expired_batch.len();
                for key in expired_batch.drain(..) {
                    if !self.is_replica {
                        self.delete_expired(db, &key);
                    }
                }
                sampled_total += sampled;
                expired_total += expired;
                if start.elapsed() >= budget {
                    self.stats.expired_time_cap_reached_count += 1;
                    break 'dbs;
                }
                if sampled == 0 || expired * 100 <= sampled * stale_percent_max || cursor == 0 {
                    break;
                }
            }
        }
        let elapsed_ms = start.elapsed().as_millis() as u64;
        self.stats.expire_cycle_cpu_ms += elapsed_ms;
        if sampled_total > 0 {
            let perc = expired_total as f64 / sampled_total as f64;
            self.stats.expired_stale_perc = perc * 0.05 + self.stats.expired_stale_perc * 0.95;
        }
    }

    /// Hash-table upkeep for the cron (Redis's databasesCron): start the
    /// shrinks removals left pending, then, with `activerehashing`
    /// (`active`), give the first database with a rehash in progress up
    /// to 1 ms of rehash steps, its main table first, then its expires.
    /// Without it a table that stops receiving writes keeps both of its
    /// arrays until accesses finish the move (one step per access).
    pub fn rehash_cron(&mut self, active: bool) {
        for d in self.dbs.iter_mut() {
            d.dict.maybe_shrink();
            d.expires.maybe_shrink();
        }
        if !active {
            return;
        }
        let start = Instant::now();
        let within_budget = || start.elapsed() < ACTIVE_REHASH_BUDGET;
        for d in self.dbs.iter_mut() {
            if d.dict.is_rehashing() {
                while d.dict.rehash_steps(ACTIVE_REHASH_BATCH) && within_budget() {}
                return;
            }
            if d.expires.is_rehashing() {
                while d.expires.rehash_steps(ACTIVE_REHASH_BATCH) && within_budget() {}
                return;
            }
        }
    }
}
