//! WATCH bookkeeping: which clients watch which keys, and which clients'
//! transactions must fail because a watched key changed.
//!
//! Owns: the (db, key) -> watchers map and the set of "dirty" client ids.
//! The keyspace calls [`WatchRegistry::touch`] from every mutation path
//! (set, add, remove, deadline changes, in-place writes), so a command
//! family cannot forget to invalidate a WATCH: the check lives in one place.
//!
//! Must never: cost anything when nobody watches (`is_empty` is checked
//! first on the hot path), or keep entries for disconnected clients (the
//! loop calls `unwatch_all` when a client goes away, EXEC and DISCARD do
//! too).
//!
//! A lookup for writing does not mark watchers at once: the key is noted
//! (`defer_touch`) and marked when the command ends, only if it changed the
//! dataset (`end_command`), as Redis marks only real changes: SADD of a
//! member already there, SREM/HDEL/ZREM of one that is not, INCRBY 0 on
//! no key... leave a WATCH intact. A command that changed one key and
//! looked another up for writing without changing it (SMOVE to a set that
//! already has the member) marks both: the safe direction for optimistic
//! locking, and rare.

use std::collections::{HashMap, HashSet};

#[derive(Default, Debug)]
pub struct WatchRegistry {
    keys: HashMap<(usize, Vec<u8>), Vec<u64>>,
    dirty: HashSet<u64>,
    /// Watched keys the running command looked up for writing.
    pending: Vec<(usize, Vec<u8>)>,
}

impl WatchRegistry {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Register `client` as watching `key` in `db` (idempotent).
    pub fn watch(&mut self, client: u64, db: usize, key: &[u8]) {
        let list = self.keys.entry((db, key.to_vec())).or_default();
        if !list.contains(&client) {
            list.push(client);
        }
    }

    /// Forget everything about `client` (UNWATCH, EXEC, DISCARD, close).
    pub fn unwatch_all(&mut self, client: u64, watched: &[(usize, Vec<u8>)]) {
        for (db, key) in watched {
            let k = (*db, key.clone());
            if let Some(list) = self.keys.get_mut(&k) {
                list.retain(|&c| c != client);
                if list.is_empty() {
                    self.keys.remove(&k);
                }
            }
        }
        self.dirty.remove(&client);
    }

    /// A key was modified: every client watching it must fail its EXEC.
    pub fn touch(&mut self, db: usize, key: &[u8]) {
        // Building the lookup key allocates; only reached when someone
        // watches something.
        if let Some(list) = self.keys.get(&(db, key.to_vec())) {
            self.dirty.extend(list.iter().copied());
        }
    }

    /// The running command looked `key` up to write it: its watchers are
    /// marked when the command ends, if it changed anything.
    pub fn defer_touch(&mut self, db: usize, key: &[u8]) {
        let k = (db, key.to_vec());
        if self.keys.contains_key(&k) {
            self.pending.push(k);
        }
    }

    /// Keys wait for `end_command`.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The running command ended; `changed`: it changed the dataset.
    pub fn end_command(&mut self, changed: bool) {
        for k in std::mem::take(&mut self.pending) {
            if changed {
                if let Some(list) = self.keys.get(&k) {
                    self.dirty.extend(list.iter().copied());
                }
            }
        }
    }

    /// FLUSHDB / SWAPDB: mark watchers of keys of `db` for which
    /// `affected(key)` holds (the key existed, so the flush changed it).
    pub fn touch_db(&mut self, db: usize, mut affected: impl FnMut(&[u8]) -> bool) {
        for ((d, key), list) in &self.keys {
            if *d == db && affected(key) {
                self.dirty.extend(list.iter().copied());
            }
        }
    }

    /// Mark one client dirty directly (a watched key expired before EXEC).
    pub fn mark_dirty(&mut self, client: u64) {
        self.dirty.insert(client);
    }

    pub fn is_dirty(&self, client: u64) -> bool {
        self.dirty.contains(&client)
    }

    /// Number of distinct watched keys (INFO `watching_clients`-style stats).
    pub fn watched_keys(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touch_marks_only_watchers_of_that_key() {
        let mut w = WatchRegistry::default();
        w.watch(1, 0, b"a");
        w.watch(2, 0, b"b");
        w.watch(3, 1, b"a");
        w.touch(0, b"a");
        assert!(w.is_dirty(1));
        assert!(!w.is_dirty(2));
        assert!(!w.is_dirty(3));
        w.unwatch_all(1, &[(0, b"a".to_vec())]);
        assert!(!w.is_dirty(1));
        assert_eq!(w.watched_keys(), 2);
    }

    #[test]
    fn deferred_touches_count_only_for_a_command_that_changed_something() {
        let mut w = WatchRegistry::default();
        w.watch(1, 0, b"a");
        w.defer_touch(0, b"a");
        w.defer_touch(0, b"unwatched");
        assert!(w.has_pending());
        w.end_command(false);
        assert!(!w.has_pending());
        assert!(!w.is_dirty(1));
        w.defer_touch(0, b"a");
        w.end_command(true);
        assert!(w.is_dirty(1));
    }

    #[test]
    fn touch_db_uses_the_predicate() {
        let mut w = WatchRegistry::default();
        w.watch(1, 0, b"exists");
        w.watch(2, 0, b"missing");
        w.touch_db(0, |k| k == b"exists");
        assert!(w.is_dirty(1));
        assert!(!w.is_dirty(2));
    }
}
