//! Client eviction (`maxmemory-clients`, Redis 7.0): when the normal and
//! pub/sub clients together hold at least the limit, the clients holding
//! the most are disconnected, largest first, until the total is below it.
//! It protects the dataset: without it, many clients each holding a
//! little (big pipelines, slow readers, huge transactions) can push the
//! server into key eviction or the OOM killer.
//!
//! Owns the running total (`ClientMemory`) and each client's share of it
//! (`Client::mem_counted`). The total is kept incrementally where a
//! client's memory changes: after its input ran (`finish_client_turn`),
//! after its output was written, when it is freed. Output that other
//! clients add (PUBLISH, MONITOR) is counted when the loop next writes
//! it, before the check at the end of the turn.
//!
//! Must never: evict a replica, our master's link, or a client with
//! CLIENT NO-EVICT on (a no-evict client's memory still counts toward the
//! total, as in Redis); walk the clients per request: only when over the
//! limit (one sorted pass however many are evicted), and once when a
//! limit is first set. Until then (the default is 0)
//! nothing is tracked: the hot path pays one branch.
//!
//! Invariant: while `tracking`, `total` is the sum of `mem_counted` over
//! every client, and `mem_counted` is 0 for clients of other classes;
//! before, every `mem_counted` is 0.

use super::Server;
use crate::connection::Client;

/// The loop's view of client memory for eviction.
#[derive(Debug, Default)]
pub struct ClientMemory {
    /// Memory of the normal and pub/sub clients, while `tracking`.
    pub total: usize,
    /// A limit was set at some point since startup.
    pub tracking: bool,
    /// "Over the limit with nothing left to evict" was logged; cleared
    /// once the total is under the limit again (one warning per episode).
    warned: bool,
}

/// Clients whose memory counts: Redis's normal and pub/sub classes.
/// Replicas and our master's link are limited by their own rules
/// (client-output-buffer-limit replica, the backlog).
fn counted(c: &Client) -> bool {
    c.repl.is_none() && !c.is_master && c.stream.is_some()
}

impl Server {
    /// The client-eviction limit in bytes now (0: off).
    fn client_eviction_limit(&self) -> usize {
        let limit = self.config.maxmemory_clients.bytes(self.config.maxmemory);
        usize::try_from(limit).unwrap_or(usize::MAX)
    }

    /// Bring `c`'s share of the total up to date (a client taken out of
    /// the table, or about to go back in).
    #[inline]
    pub(crate) fn note_client_memory(&mut self, c: &mut Client) {
        if !self.client_mem.tracking {
            return;
        }
        let now = if counted(c) { c.memory_usage() } else { 0 };
        // Saturating: a broken invariant must cost accuracy, not a wrap to
        // a huge total that would evict everyone.
        self.client_mem.total = self.client_mem.total.saturating_sub(c.mem_counted) + now;
        c.mem_counted = now;
    }

    /// A client is being freed: its share leaves the total.
    pub(crate) fn forget_client_memory(&mut self, c: &mut Client) {
        self.client_mem.total = self
            .client_mem
            .total
            .saturating_sub(std::mem::take(&mut c.mem_counted));
    }

    /// Disconnect the largest evictable clients while the total is at or
    /// above the limit. Called after a client's input ran and at the end
    /// of each loop turn. Starts tracking the first time a limit is set
    /// (CONFIG SET maxmemory-clients, or maxmemory under a percentage).
    pub(crate) fn evict_clients_if_needed(&mut self) {
        let limit = self.client_eviction_limit();
        if limit > 0 && !self.client_mem.tracking {
            self.start_client_memory_tracking();
        }
        if limit == 0 || self.client_mem.total < limit {
            self.client_mem.warned = false;
            return;
        }
        // Largest first: one sorted pass, so evicting many clients at
        // once costs O(n log n), not a scan per eviction.
        let mut candidates: Vec<(usize, usize)> = self
            .clients
            .iter()
            .enumerate()
            .filter_map(|(slot, c)| c.as_deref().map(|c| (slot, c)))
            .filter(|(_, c)| !c.no_evict && c.mem_counted > 0)
            .map(|(slot, c)| (c.mem_counted, slot))
            .collect();
        candidates.sort_unstable_by(|a, b| b.cmp(a));
        for (_, slot) in candidates {
            if self.client_mem.total < limit {
                return;
            }
            if let Some(c) = self.clients[slot].as_deref() {
                log::info!("Evicting client: {}", c.info_line(self.ks.now_ms));
            }
            self.stats.evicted_clients += 1;
            self.close_client_in_table(slot);
        }
        if self.client_mem.total >= limit && !self.client_mem.warned {
            log::warn!("Over client maxmemory after evicting all evictable clients");
            self.client_mem.warned = true;
        }
    }

    /// The limit was set for the first time: count every client in the
    /// table. Tracking then stays on even if the limit goes back to 0:
    /// a client taken out of the table at this moment (the one running
    /// CONFIG SET, or a busy script's) has a share of 0, which is right
    /// only if no share was ever left behind by a stop. It costs a few
    /// ns per client turn.
    fn start_client_memory_tracking(&mut self) {
        let mut total = 0;
        for c in self.clients.iter_mut().flatten() {
            c.mem_counted = if counted(c) { c.memory_usage() } else { 0 };
            total += c.mem_counted;
        }
        self.client_mem.total = total;
        self.client_mem.tracking = true;
    }
}
