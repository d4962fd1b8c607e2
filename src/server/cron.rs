//! Periodic work, run `hz` times per second from the event loop (Redis's
//! serverCron): active expiry, client timeouts and buffer trimming,
//! incremental rehashing, rate samplers.
//!
//! Must never: take long. Active expiry has a time budget of a quarter of
//! the cron period; the client sweep visits a bounded slice of the client
//! table per tick, so a server with many clients still sweeps them all
//! once a second without a spike.

use super::Server;
use crate::db::unix_ms;
use std::time::{Duration, Instant};

/// Share of each cron period active expiry may use (Redis: 25%), and
/// what each step of active-expire-effort above 1 adds to it.
const EXPIRE_CYCLE_BUDGET_PERCENT: u64 = 25;
const EXPIRE_CYCLE_BUDGET_PERCENT_PER_EFFORT: u64 = 2;

/// dynamic-hz: the cron frequency doubles while more than this many
/// clients would be visited per tick (Redis's MAX_CLIENTS_PER_CLOCK_TICK).
const DYNAMIC_HZ_CLIENTS_PER_TICK: u32 = 200;
/// The most `hz` may reach, configured or dynamic.
const HZ_MAX: u32 = 500;

impl Server {
    /// The cron frequency now (INFO `hz`): the configured `hz`, doubled
    /// (up to 500) while there are more than 200 clients per tick, when
    /// dynamic-hz is on (as Redis), so the client sweep and expiry keep
    /// up with many connections.
    pub fn effective_hz(&self) -> u32 {
        let mut hz = self.config.hz.clamp(1, HZ_MAX);
        if self.config.dynamic_hz {
            let clients = u32::try_from(self.connected_clients).unwrap_or(u32::MAX);
            while clients / hz > DYNAMIC_HZ_CLIENTS_PER_TICK && hz < HZ_MAX {
                hz = (hz * 2).min(HZ_MAX);
            }
        }
        hz
    }

    pub fn cron(&mut self) {
        self.clock = super::WallClock::new();
        self.ks.now_ms = unix_ms();
        let hz = u64::from(self.effective_hz());
        // A CLIENT PAUSE freezes the dataset: no active expiry (Redis).
        if self.active_expire_enabled && !self.ks.is_replica && !self.paused_now() {
            let period_us = 1_000_000 / hz;
            let effort = self.config.active_expire_effort.clamp(1, 10);
            let percent =
                EXPIRE_CYCLE_BUDGET_PERCENT + EXPIRE_CYCLE_BUDGET_PERCENT_PER_EFFORT * (effort - 1);
            let budget = Duration::from_micros(period_us * percent / 100);
            let started = Instant::now();
            self.ks.active_expire_cycle(budget, effort);
            // Each key active expiry deleted is its own unit: a DEL.
            if !self.ks.expired_log.is_empty() {
                self.propagate_active_expiry();
            }
            self.latency_sample("expire-cycle", started.elapsed().as_millis() as u64);
            if self.ks.notifier.has_pending() {
                crate::commands::pubsub::flush_notifications(self, None);
            }
        }
        // Not while a forked child saves: moving entries would copy the
        // pages it still reads (Redis's rule too). Replicas and paused
        // servers rehash: the dataset does not change.
        if !self.has_child() {
            self.ks.rehash_cron(self.config.activerehashing);
        }
        // Loaders (RDB, full sync) build function libraries too.
        self.scripting.note_memory();
        self.clients_cron(hz);
        self.ks.hotkeys.decay_if_due(self.ks.now_ms);
        self.persistence_cron();
        self.master_cron();
        self.replica_cron();
        let now = self.ks.now_ms;
        self.migrate.close_idle(now);
        self.stats
            .ops_rate
            .sample(self.stats.total_commands_processed, now);
        self.stats
            .net_in_rate
            .sample(self.stats.net_input_bytes, now);
        self.stats
            .net_out_rate
            .sample(self.stats.net_output_bytes, now);
    }

    /// Visit `clients / hz` slots (at least a few) per tick: close idle
    /// clients past `timeout`, and release idle query buffers.
    fn clients_cron(&mut self, hz: u64) {
        const MIN_PER_TICK: usize = 5;
        if self.clients.is_empty() {
            return;
        }
        let per_tick = (self.clients.len() / hz as usize).max(MIN_PER_TICK);
        let timeout_ms = self.config.timeout.saturating_mul(1000) as i64;
        let now = self.ks.now_ms;
        for _ in 0..per_tick.min(self.clients.len()) {
            self.clients_cron_cursor = (self.clients_cron_cursor + 1) % self.clients.len();
            let slot = self.clients_cron_cursor;
            let Some(c) = self.clients[slot].as_mut() else {
                continue;
            };
            // Blocked clients are idle by design: `timeout` spares them,
            // as Redis does (their own deadline applies instead); replicas
            // only read the stream and are never idle-closed either.
            if timeout_ms > 0
                && c.blocked.is_none()
                && !c.wait_blocked
                && c.repl.is_none()
                && now - c.last_interaction_ms > timeout_ms
            {
                log::debug!("Closing idle client id={}", c.id);
                self.close_client_in_table(slot);
                continue;
            }
            if c.query.is_empty() && c.query.capacity() > 0 && now - c.last_interaction_ms > 2000 {
                c.query = Vec::new();
            }
        }
    }
}

impl Server {
    /// Reap a finished BGSAVE child; start one when a `save` rule matches
    /// (at least `changes` writes in the last `seconds`), as Redis's
    /// serverCron. After a failed BGSAVE, retry no sooner than 5 s later.
    fn persistence_cron(&mut self) {
        const BGSAVE_RETRY_DELAY_SECS: i64 = 5;
        crate::persistence::rdb::reap_child(self);
        crate::persistence::rewrite::cron(self);
        if self.has_child() {
            return;
        }
        let now_s = self.ks.now_ms / 1000;
        let due = self.rdb.bgsave_scheduled
            || self.config.save.iter().any(|&(secs, changes)| {
                self.ks.dirty >= changes
                    && now_s - self.lastsave_unix >= secs as i64
                    && (self.rdb.last_bgsave_ok
                        || now_s - self.rdb.last_bgsave_try_unix > BGSAVE_RETRY_DELAY_SECS)
            });
        if due {
            self.rdb.bgsave_scheduled = false;
            log::info!("{} changes: saving in the background...", self.ks.dirty);
            if let Err(e) = crate::persistence::rdb::bgsave(self) {
                log::warn!("Can't save in background: fork: {e}");
                self.rdb.last_bgsave_ok = false;
                self.rdb.last_bgsave_try_unix = now_s;
            }
        }
    }
}
