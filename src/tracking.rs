//! Server-assisted client-side caching (CLIENT TRACKING), Redis's tracking.c.
//!
//! Owns: the tracking table (key name -> ids of the clients that may have
//! cached it; the database is ignored, as in Redis), the BCAST prefix table
//! (prefix -> subscribed client ids and the keys changed under it during
//! this event-loop turn) and the outbox of invalidations waiting to be
//! written. The keyspace owns one of these and calls [`Tracking::invalidate`]
//! wherever it signals WATCH, so no command family can forget it.
//!
//! Must never: touch a client (the keyspace does not own clients: the
//! dispatcher and the loop deliver the outbox, see
//! `commands::connection::deliver_invalidations`), cost more than one
//! branch per mutation while the tables are empty, or grow without bound:
//! the table is capped by `tracking-table-max-keys` (enforced before each
//! command, as Redis), each key's entry is removed when it is invalidated
//! (so the outbox holds at most one entry per table item), and BCAST keys
//! are drained every loop turn.
//!
//! Invariants: `total_items` is the number of (key, client) pairs in
//! `table`; a closed client's pairs stay until the key is invalidated and
//! are then skipped (its id is never reused), as Redis does.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// One pending invalidation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    /// `key` changed; tell `client` unless it is gone, off, in BCAST mode,
    /// or in NOLOOP mode and it is `current` (the client that was running
    /// a command when the key changed, Redis's `server.current_client`).
    Key {
        client: u64,
        key: Vec<u8>,
        current: Option<u64>,
    },
    /// FLUSHDB/FLUSHALL: a null key list to every tracking client.
    Flush,
    /// BCAST: keys changed under one prefix during this loop turn, in byte
    /// order, each with the client that last changed it (NOLOOP filter).
    Prefix {
        clients: Rc<[u64]>,
        keys: Rc<[(Vec<u8>, Option<u64>)]>,
    },
}

#[derive(Default, Debug)]
struct PrefixState {
    clients: Vec<u64>,
    /// Changed keys not yet broadcast (BTreeMap: Redis's rax order).
    keys: BTreeMap<Vec<u8>, Option<u64>>,
}

#[derive(Default, Debug)]
pub struct Tracking {
    table: HashMap<Vec<u8>, Vec<u64>>,
    total_items: usize,
    prefixes: BTreeMap<Vec<u8>, PrefixState>,
    /// Clients with tracking on (INFO `tracking_clients`).
    pub clients_on: usize,
    /// The client running a command, set by the dispatcher.
    pub current: Option<u64>,
    /// Set while expiry or eviction deletes a key: no client wrote it, so
    /// a BCAST NOLOOP client hears of it even while it runs the command
    /// that found it expired (Redis passes a NULL client there).
    pub deleting_unwritten: bool,
    pub outbox: Vec<Invalidation>,
    /// Tracked keys the running command looked up for writing: invalidated
    /// when it ends, if it changed the dataset (as WATCH, see watch.rs).
    deferred: Vec<Vec<u8>>,
    /// Rounds in a row the table stayed over its limit (Redis raises the
    /// eviction effort with it).
    over_limit_rounds: usize,
}

impl Tracking {
    /// True if a mutation may have something to do: one branch on the hot
    /// path.
    #[inline]
    pub fn is_active(&self) -> bool {
        !self.table.is_empty() || !self.prefixes.is_empty()
    }

    /// A read-only command of `client` read `key`.
    pub fn remember(&mut self, client: u64, key: &[u8]) {
        let ids = match self.table.get_mut(key) {
            Some(ids) => ids,
            None => self.table.entry(key.to_vec()).or_default(),
        };
        if !ids.contains(&client) {
            ids.push(client);
            self.total_items += 1;
        }
    }

    /// `key` changed: queue one invalidation per client that read it and
    /// forget them; note it for the BCAST prefixes it matches (`bcast`:
    /// false only for the table-limit evictions, as Redis).
    pub fn invalidate(&mut self, key: &[u8], bcast: bool) {
        if bcast && !self.prefixes.is_empty() {
            let writer = if self.deleting_unwritten {
                None
            } else {
                self.current
            };
            for (prefix, state) in self.prefixes.iter_mut() {
                if key.starts_with(prefix) {
                    state.keys.insert(key.to_vec(), writer);
                }
            }
        }
        if let Some(ids) = self.table.remove(key) {
            self.total_items -= ids.len();
            for client in ids {
                self.outbox.push(Invalidation::Key {
                    client,
                    key: key.to_vec(),
                    current: self.current,
                });
            }
        }
    }

    /// The running command looked `key` up to write it.
    pub fn defer(&mut self, key: &[u8]) {
        if self.table.contains_key(key) || !self.prefixes.is_empty() {
            self.deferred.push(key.to_vec());
        }
    }

    /// Keys wait for `end_command`.
    #[inline]
    pub fn has_deferred(&self) -> bool {
        !self.deferred.is_empty()
    }

    /// The running command ended; `changed`: it changed the dataset.
    pub fn end_command(&mut self, changed: bool) {
        let keys = std::mem::take(&mut self.deferred);
        if changed {
            for k in &keys {
                self.invalidate(k, true);
            }
        }
    }

    /// FLUSHDB/FLUSHALL: every tracking client gets a null invalidation and
    /// the table is emptied (Redis frees it whole).
    pub fn flush(&mut self) {
        if self.clients_on > 0 {
            self.outbox.push(Invalidation::Flush);
        }
        self.table = HashMap::new();
        self.total_items = 0;
    }

    /// Register a BCAST client for `prefix` (the caller checked overlaps).
    pub fn add_prefix(&mut self, client: u64, prefix: &[u8]) {
        let st = self.prefixes.entry(prefix.to_vec()).or_default();
        if !st.clients.contains(&client) {
            st.clients.push(client);
        }
    }

    /// A BCAST client turned tracking off or went away.
    pub fn remove_prefix(&mut self, client: u64, prefix: &[u8]) {
        if let Some(st) = self.prefixes.get_mut(prefix) {
            st.clients.retain(|&c| c != client);
            if st.clients.is_empty() {
                self.prefixes.remove(prefix);
            }
        }
    }

    /// Once per loop turn: queue the keys changed under each prefix.
    pub fn broadcast(&mut self) {
        for st in self.prefixes.values_mut() {
            if st.keys.is_empty() {
                continue;
            }
            let keys: Rc<[(Vec<u8>, Option<u64>)]> =
                std::mem::take(&mut st.keys).into_iter().collect();
            self.outbox.push(Invalidation::Prefix {
                clients: st.clients.iter().copied().collect(),
                keys,
            });
        }
    }

    /// Keys changed under some prefix and not yet broadcast.
    pub fn has_broadcast_pending(&self) -> bool {
        self.prefixes.values().any(|st| !st.keys.is_empty())
    }

    /// Evict keys until the table holds at most `max_keys` (0: no limit),
    /// with Redis's effort: 100 keys per round, more each round the limit
    /// is still exceeded.
    pub fn enforce_limit(&mut self, max_keys: usize) {
        if max_keys == 0 || self.table.len() <= max_keys {
            self.over_limit_rounds = 0;
            return;
        }
        let effort = 100 * (self.over_limit_rounds + 1);
        for _ in 0..effort {
            // HashMap iteration order is seeded per process: an arbitrary
            // key, as Redis's random walk.
            let Some(key) = self.table.keys().next().cloned() else {
                break;
            };
            self.invalidate(&key, false);
            if self.table.len() <= max_keys {
                self.over_limit_rounds = 0;
                return;
            }
        }
        self.over_limit_rounds += 1;
    }

    /// INFO `tracking_total_keys`.
    pub fn total_keys(&self) -> usize {
        self.table.len()
    }

    /// INFO `tracking_total_items`.
    pub fn total_items(&self) -> usize {
        self.total_items
    }

    /// INFO `tracking_total_prefixes`.
    pub fn total_prefixes(&self) -> usize {
        self.prefixes.len()
    }
}

/// Per-client tracking mode (CLIENT TRACKING ON's options).
#[derive(Default, Debug, Clone)]
pub struct ClientTracking {
    /// Client id receiving the invalidations; 0: this client.
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// CLIENT CACHING YES/NO was given for the next command.
    pub caching: bool,
    /// The redirect target went away (CLIENT LIST flag `R`).
    pub broken_redirect: bool,
    /// BCAST prefixes, sorted as Redis lists them.
    pub prefixes: std::collections::BTreeSet<Vec<u8>>,
}

impl ClientTracking {
    /// Whether the keys of the command that just ran are remembered.
    pub fn tracks_reads(&self) -> bool {
        // OPTIN tracks only after CACHING YES, OPTOUT all but after
        // CACHING NO; BCAST clients have no table entries.
        let skip = (self.optin && !self.caching) || (self.optout && self.caching);
        !self.bcast && !skip
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(client: u64, k: &str, current: Option<u64>) -> Invalidation {
        Invalidation::Key {
            client,
            key: k.as_bytes().to_vec(),
            current,
        }
    }

    #[test]
    fn remember_then_invalidate_once() {
        let mut t = Tracking::default();
        assert!(!t.is_active());
        t.remember(1, b"k");
        t.remember(1, b"k");
        t.remember(2, b"k");
        assert_eq!((t.total_keys(), t.total_items()), (1, 2));
        t.current = Some(2);
        t.invalidate(b"k", true);
        assert_eq!(t.outbox, vec![key(1, "k", Some(2)), key(2, "k", Some(2))]);
        assert_eq!((t.total_keys(), t.total_items()), (0, 0));
        t.outbox.clear();
        t.invalidate(b"k", true);
        assert!(t.outbox.is_empty());
    }

    #[test]
    fn flush_empties_and_notifies_only_with_clients() {
        let mut t = Tracking::default();
        t.remember(1, b"a");
        t.flush();
        assert!(t.outbox.is_empty());
        assert_eq!(t.total_items(), 0);
        t.clients_on = 1;
        t.flush();
        assert_eq!(t.outbox, vec![Invalidation::Flush]);
    }

    #[test]
    fn prefixes_batch_sorted_keys() {
        let mut t = Tracking::default();
        t.add_prefix(7, b"b");
        t.add_prefix(7, b"a");
        t.invalidate(b"b2", true);
        t.invalidate(b"a1", true);
        t.invalidate(b"b1", true);
        t.invalidate(b"c", true);
        t.invalidate(b"b1", true);
        assert!(t.has_broadcast_pending());
        t.broadcast();
        assert!(!t.has_broadcast_pending());
        let got: Vec<Vec<Vec<u8>>> = t
            .outbox
            .iter()
            .map(|m| match m {
                Invalidation::Prefix { keys, .. } => keys.iter().map(|k| k.0.clone()).collect(),
                _ => panic!("not a prefix message"),
            })
            .collect();
        assert_eq!(
            got,
            vec![vec![b"a1".to_vec()], vec![b"b1".to_vec(), b"b2".to_vec()]]
        );
        t.outbox.clear();
        // Last writer wins; expiry has none.
        t.current = Some(7);
        t.invalidate(b"a2", true);
        t.deleting_unwritten = true;
        t.invalidate(b"a3", true);
        t.broadcast();
        match &t.outbox[..] {
            [Invalidation::Prefix { keys, .. }] => assert_eq!(
                keys.to_vec(),
                vec![(b"a2".to_vec(), Some(7)), (b"a3".to_vec(), None)]
            ),
            other => panic!("{other:?}"),
        }
        t.remove_prefix(7, b"a");
        t.remove_prefix(7, b"b");
        assert_eq!(t.total_prefixes(), 0);
        assert!(!t.is_active());
    }

    #[test]
    fn limit_evicts_down_to_max() {
        let mut t = Tracking::default();
        for i in 0..10u8 {
            t.remember(1, &[i]);
        }
        t.enforce_limit(3);
        assert_eq!(t.total_keys(), 3);
        assert_eq!(t.outbox.len(), 7);
        t.enforce_limit(0);
        assert_eq!(t.total_keys(), 3);
    }

    #[test]
    fn optin_optout_rules() {
        let mut m = ClientTracking::default();
        assert!(m.tracks_reads());
        m.optin = true;
        assert!(!m.tracks_reads());
        m.caching = true;
        assert!(m.tracks_reads());
        m = ClientTracking {
            optout: true,
            ..Default::default()
        };
        assert!(m.tracks_reads());
        m.caching = true;
        assert!(!m.tracks_reads());
    }
}
