//! The server: its state and the single-threaded event loop that drives it.
//!
//! Owns: the [`Server`] struct (configuration, keyspace, client table,
//! statistics) and the loop (in `event_loop.rs`) that accepts connections,
//! reads requests, runs commands inline and writes replies; periodic work
//! lives in `cron.rs`, blocked clients (BLPOP and friends) in
//! `blocking.rs`, shutdown in `shutdown.rs`, systemd notifications in
//! `supervise.rs`.
//!
//! Must never: block. Every socket is non-blocking; slow work (freeing huge
//! values, fsync) is handed to other threads or bounded in time.
//!
//! Invariants: a client is either in the table (`clients[token]`) or,
//! while one of its commands runs, temporarily taken out of it by the loop
//! (so a command can hold `&mut Server` and `&mut Client` at once). Code that
//! walks all clients must also account for the one being served.

pub mod blocking;
pub mod busy_loop;
pub mod client_eviction;
pub mod cron;
pub mod daemonize;
pub mod event_loop;
pub mod fuzz_entry;
pub mod http;
pub mod offline;
pub mod shutdown;
pub mod stats;
pub mod supervise;

use crate::config::Config;
use crate::connection::Client;
use crate::db::{unix_ms, Keyspace};
use mio::net::TcpListener;
use mio::Poll;
use stats::Stats;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;
use std::time::Instant;

/// Why the loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownReason {
    Signal,
    Command,
}

pub struct Server {
    pub config: Config,
    pub ks: Keyspace,
    /// ACL users and log (see acl.rs).
    pub acl: crate::acl::Acl,
    /// The requirepass value last mirrored into the default user.
    pub acl_requirepass_applied: Option<Option<Vec<u8>>>,
    /// CLIENT PAUSE: until when (unix ms) and whether only writes wait.
    pub pause: Option<(i64, bool)>,
    /// A FAILOVER pauses writes of its own, until it ends (failover.rs):
    /// CLIENT UNPAUSE does not end it, as in Redis.
    pub failover_pause: bool,
    /// Clients holding a command back until the pause ends.
    pub paused_clients: Vec<usize>,
    pub pubsub: crate::pubsub::PubSub,
    pub stats: Stats,
    /// MIGRATE's cached connections to target servers.
    pub migrate: crate::commands::migrate::MigrateSockets,
    /// EVAL / EVALSHA: the Lua state and the script cache.
    pub scripting: crate::scripting::Scripting,
    /// The loop's restricted step while a script is busy (busy_loop.rs).
    pub busy_loop: busy_loop::BusyLoop,
    /// The current poll's events, handled in order from `loop_batch_pos`.
    /// Kept here (not only in mio's buffer) so that a script that goes busy
    /// while one of them is handled can serve the rest from its steps: the
    /// readiness edges were already taken from epoll and would not come
    /// again (busy_loop.rs).
    pub(crate) loop_batch: Vec<(mio::Token, bool, bool, bool)>,
    pub(crate) loop_batch_pos: usize,
    pub clients: Vec<Option<Box<Client>>>,
    pub free_tokens: Vec<usize>,
    pub connected_clients: usize,
    /// Client memory for client eviction (client_eviction.rs).
    pub client_mem: client_eviction::ClientMemory,
    pub next_client_id: u64,
    pub listeners: Vec<TcpListener>,
    /// The `unixsocket` listener (bound by main, like `listeners`).
    pub unix_listener: Option<mio::net::UnixListener>,
    pub poll: Poll,
    pub start_instant: Instant,
    pub start_unix_ms: i64,
    /// 40 hex chars, new at every start (INFO server run_id).
    pub run_id: String,
    /// Set when the loop must return (the shutdown was persisted).
    pub shutdown_requested: Option<ShutdownReason>,
    /// Set by SIGTERM/SIGINT (Redis's shutdown_asap); a second signal
    /// while it is set exits at once (main.rs).
    pub signal_term: Arc<AtomicBool>,
    /// The last of SIGTERM/SIGINT received (shutdown-on-sig* flags).
    pub last_signal: Arc<AtomicUsize>,
    /// A shutdown waiting for replicas, and its clients (shutdown.rs).
    pub shutdown: shutdown::ShutdownState,
    /// The systemd notification socket when supervised (supervise.rs).
    pub supervisor: Option<supervise::Notifier>,
    /// Active expiry switch (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire_enabled: bool,
    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RDB loads, RESTORE and
    /// FUNCTION RESTORE accept any checksum (Redis's test switch).
    pub skip_checksum_validation: bool,
    /// Clients whose output must be written before the loop sleeps.
    pub pending_writes: Vec<usize>,
    /// Clients that still had unread input when their read budget ran out.
    pub pending_reads: Vec<usize>,
    /// Shared buffer every read lands in first (see connection.rs).
    pub read_buf: Vec<u8>,
    pub executable_path: String,
    pub lastsave_unix: i64,
    /// Blocked clients: counts, deadlines, clients to replay (blocking.rs).
    pub blocking: blocking::Blocking,
    /// Where the incremental client sweep in cron continues.
    pub clients_cron_cursor: usize,
    /// used_memory right after startup (INFO used_memory_startup).
    pub startup_memory: usize,
    /// Maps monotonic instants to wall-clock milliseconds (see WallClock).
    pub clock: WallClock,
    /// Clock chaining for pipelined requests (event_loop::process_input):
    /// the `mono_ns()` reading at which the previous request of the same
    /// batch finished, taken by `commands::call` as its start instead of
    /// a clock read of its own; 0 = read the clock. `call` always resets
    /// it, so it never outlives the batch that set it.
    pub cmd_start_hint_ns: u64,
    /// The `mono_ns()` reading at which the last `commands::execute`
    /// finished (0 after a request rejected before running).
    pub cmd_end_ns: u64,
    /// Eviction candidates kept between commands (see evict.rs).
    pub eviction_pool: crate::evict::EvictionPool,
    /// Rotates the first database tried by the random eviction policies.
    pub next_eviction_db: usize,
    /// The stream of propagated effects (persistence/propagate.rs).
    pub prop: crate::persistence::propagate::Propagator,
    /// The append-only log, while `appendonly yes`.
    pub aof: Option<crate::persistence::aof::Aof>,
    /// Clients whose output waits for the AOF to be written (`always`
    /// after a write error); released when a flush succeeds.
    pub aof_held: Vec<usize>,
    /// Snapshot state (SAVE/BGSAVE, save rules).
    pub rdb: crate::persistence::RdbState,
    /// The AOF manifest and rewrite state (persistence/rewrite.rs).
    pub aofrw: crate::persistence::rewrite::AofFiles,
    /// The pidfile we created, removed at exit.
    pub pidfile_written: Option<std::path::PathBuf>,
    /// SLOWLOG entries (observe/slowlog.rs).
    pub slowlog: crate::observe::slowlog::SlowLog,
    /// LATENCY event series (observe/latency.rs).
    pub latency: crate::observe::latency::LatencyMonitor,
    /// Slots of clients in MONITOR mode (observe/monitor.rs).
    pub monitors: Vec<usize>,
    /// Per-command latency histograms (observe/latencystats.rs).
    pub command_latencies: crate::observe::latencystats::CommandLatencies,
    /// The Prometheus endpoint (server/http.rs), when metrics-port is set.
    pub metrics: http::MetricsEndpoint,
    /// Replication state, both roles (replication/).
    pub repl: crate::replication::ReplState,
}

/// Wall-clock milliseconds derived from the monotonic clock, re-anchored
/// to the real wall clock every cron tick. Commands need both a duration
/// (commandstats) and the unix time (expiry); one monotonic read gives
/// both, saving a clock_gettime per command. Between re-anchorings the
/// derived time can differ from the wall clock only by clock slew (micro-
/// seconds), or by a step if the system clock is set, which the next tick
/// (at most 1/hz later) picks up.
///
/// The anchor keeps nanoseconds and is read between two monotonic reads:
/// truncating it to milliseconds, or being preempted between the two
/// clock reads, would shift this process's idea of the time by up to the
/// lost amount at every re-anchoring (time could even step back), and a
/// master and its replica would disagree about which keys have expired.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    base: Instant,
    /// Unix nanoseconds at `base_ns`.
    base_unix_ns: i64,
    /// `mono_ns()` at the anchor.
    base_ns: u64,
}

/// CLOCK_REALTIME in nanoseconds since the epoch (0 if before it).
fn realtime_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A wall-clock reading and the monotonic time it was taken at: the
/// midpoint of the tightest of a few bracketing monotonic pairs.
fn anchor_pair() -> (i64, u64) {
    /// A bracket this narrow has no preemption inside it.
    const TIGHT_NS: u64 = 20_000;
    let mut best: Option<(u64, i64, u64)> = None;
    for _ in 0..4 {
        let before = mono_ns();
        let wall = realtime_ns();
        let after = mono_ns();
        let width = after.saturating_sub(before);
        if best.is_none_or(|(w, _, _)| width < w) {
            best = Some((width, wall, before + width / 2));
        }
        if width <= TIGHT_NS {
            break;
        }
    }
    best.map_or((realtime_ns(), mono_ns()), |(_, wall, mono)| (wall, mono))
}

/// Monotonic nanoseconds (CLOCK_MONOTONIC, the clock `Instant` reads).
/// The per-command timestamp: plain integer arithmetic on it costs a few
/// instructions where `Instant::elapsed` costs ~100 (Duration
/// normalisation and checked subtraction), twice per command.
#[inline]
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_MONOTONIC always exists
    // on Linux, so the call cannot fail (and if it did, ts stays 0).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

impl WallClock {
    pub fn new() -> WallClock {
        let base = Instant::now();
        let (base_unix_ns, base_ns) = anchor_pair();
        WallClock {
            base,
            base_unix_ns,
            base_ns,
        }
    }

    /// Unix milliseconds at a `mono_ns()` reading (which may precede the
    /// anchor: a pipelined request's start is chained across a tick).
    #[inline]
    pub fn unix_ms_at_ns(&self, at_ns: u64) -> i64 {
        let since = at_ns as i64 - self.base_ns as i64;
        self.base_unix_ns
            .saturating_add(since)
            .div_euclid(1_000_000)
    }

    /// Microsecond wall-clock time (MONITOR lines).
    pub fn unix_us_at(&self, at: Instant) -> i64 {
        self.base_unix_ns / 1000 + at.saturating_duration_since(self.base).as_micros() as i64
    }
}

impl Default for WallClock {
    fn default() -> WallClock {
        WallClock::new()
    }
}

/// Token of the first listener; clients get tokens above the listeners.
pub const LISTENER_TOKEN_BASE: usize = 0;
pub const MAX_LISTENERS: usize = 16;

impl Server {
    pub fn new(config: Config, poll: Poll, listeners: Vec<TcpListener>) -> Server {
        let now = unix_ms();
        let ks = Keyspace::new(config.databases);
        let run_id = make_run_id();
        let mut server = Server {
            ks,
            acl: crate::acl::Acl::new(),
            acl_requirepass_applied: None,
            pause: None,
            failover_pause: false,
            paused_clients: Vec::new(),
            pubsub: crate::pubsub::PubSub::default(),
            stats: Stats::new(crate::commands::table::ids().total),
            migrate: Default::default(),
            scripting: Default::default(),
            busy_loop: Default::default(),
            loop_batch: Vec::new(),
            loop_batch_pos: 0,
            clients: Vec::new(),
            free_tokens: Vec::new(),
            connected_clients: 0,
            client_mem: Default::default(),
            next_client_id: 1,
            listeners,
            unix_listener: None,
            poll,
            start_instant: Instant::now(),
            start_unix_ms: now,
            run_id,
            shutdown_requested: None,
            signal_term: Arc::new(AtomicBool::new(false)),
            last_signal: Arc::new(AtomicUsize::new(0)),
            shutdown: Default::default(),
            supervisor: None,
            active_expire_enabled: true,
            skip_checksum_validation: false,
            pending_writes: Vec::new(),
            pending_reads: Vec::new(),
            read_buf: vec![0u8; event_loop::READ_CHUNK_BYTES],
            executable_path: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            lastsave_unix: now / 1000,
            clients_cron_cursor: 0,
            blocking: blocking::Blocking::default(),
            startup_memory: crate::memory::used_memory(),
            clock: WallClock::new(),
            cmd_start_hint_ns: 0,
            cmd_end_ns: 0,
            eviction_pool: Default::default(),
            next_eviction_db: 0,
            prop: Default::default(),
            aof: None,
            aof_held: Vec::new(),
            rdb: Default::default(),
            aofrw: Default::default(),
            pidfile_written: None,
            slowlog: Default::default(),
            latency: Default::default(),
            monitors: Vec::new(),
            command_latencies: crate::observe::latencystats::CommandLatencies::new(
                crate::commands::table::ids().total,
            ),
            metrics: Default::default(),
            repl: Default::default(),
            config,
        };
        server.sync_config_to_keyspace();
        server.ks.is_replica = server.config.replicaof.is_some();
        server
    }

    /// Mirror the options the keyspace reads on every access.
    pub fn sync_config_to_keyspace(&mut self) {
        // requirepass is the default user's password (as Redis): mirror it
        // when it changed, so ACL SETUSER default >x survives other sets.
        if self.acl_requirepass_applied.as_ref() != Some(&self.config.requirepass) {
            self.acl.set_requirepass(self.config.requirepass.as_deref());
            self.acl_requirepass_applied = Some(self.config.requirepass.clone());
        }
        crate::acl::set_pubsub_default(self.config.acl_pubsub_allchannels);
        self.ks.notifier.flags =
            crate::notify::parse_flags(&self.config.notify_keyspace_events).unwrap_or(0);
        self.ks.lazy_expire = self.config.lazyfree_lazy_expire;
        self.ks.lazy_server_del = self.config.lazyfree_lazy_server_del;
        self.ks.lfu = self
            .config
            .maxmemory_policy
            .is_lfu()
            .then_some(crate::lfu::LfuParams {
                log_factor: self.config.lfu_log_factor,
                decay_time_minutes: self.config.lfu_decay_time,
            });
    }

    /// True if `argv` must wait for the current CLIENT PAUSE to end: every
    /// command in ALL mode; in WRITE mode those that may change data or
    /// propagate (write / may_replicate, or an EXEC holding one), as Redis.
    pub fn must_pause(&mut self, c: &Client, argv: &crate::commands::Argv) -> bool {
        let write_only = match self.pause {
            Some((end_ms, _)) if unix_ms() >= end_ms => {
                self.unpause_clients();
                true
            }
            Some((_, write_only)) => write_only,
            None => true,
        };
        if self.pause.is_none() && !self.failover_pause {
            return false;
        }
        let Some((_, cmd)) = crate::commands::lookup(&argv[0]) else {
            return false;
        };
        if !write_only {
            return true;
        }
        if pausable_write(cmd) {
            return true;
        }
        cmd.name == "exec"
            && c.multi.as_ref().is_some_and(|m| {
                m.commands.iter().any(|args| {
                    args.first()
                        .and_then(|n| crate::commands::lookup(n))
                        .is_some_and(|(_, q)| pausable_write(q))
                })
            })
    }

    /// True while a CLIENT PAUSE lasts (ending it if its time is up):
    /// active expiry and eviction wait, so the dataset stays static.
    pub fn paused_now(&mut self) -> bool {
        if self.failover_pause {
            return true;
        }
        match self.pause {
            Some((end_ms, _)) if unix_ms() >= end_ms => {
                self.unpause_clients();
                false
            }
            Some(_) => true,
            None => false,
        }
    }

    /// Start or end the FAILOVER's write pause.
    pub fn set_failover_pause(&mut self, on: bool) {
        self.failover_pause = on;
        if on {
            self.ks.expiry_frozen = true;
        } else if self.pause.is_none() {
            self.unpause_clients();
        }
    }

    /// End a CLIENT PAUSE: held clients run their buffered input next
    /// turn (one a FAILOVER still holds is held again as it retries).
    pub fn unpause_clients(&mut self) {
        self.pause = None;
        self.ks.expiry_frozen = self.failover_pause;
        for slot in std::mem::take(&mut self.paused_clients) {
            if let Some(Some(c)) = self.clients.get_mut(slot) {
                if c.pause_blocked {
                    c.pause_blocked = false;
                    c.resume_input = true;
                    self.pending_reads.push(slot);
                }
            }
        }
    }

    /// Iterate over clients in the table (not the one being served).
    pub fn clients_iter(&self) -> impl Iterator<Item = &Client> {
        self.clients.iter().filter_map(|c| c.as_deref())
    }

    /// Record a latency sample for `event` if the monitor is on and `ms`
    /// reaches its threshold (Redis's latencyAddSampleIfNeeded). The API
    /// every subsystem uses: `srv.latency_sample("aof-write", ms)`.
    #[inline]
    pub fn latency_sample(&mut self, event: &'static str, ms: u64) {
        let threshold = self.config.latency_monitor_threshold;
        if threshold > 0 && ms >= threshold {
            self.latency
                .add_sample(event, ms, crate::db::unix_ms() / 1000);
        }
    }

    pub fn uptime_seconds(&self) -> u64 {
        self.start_instant.elapsed().as_secs()
    }
}

/// A run id: 40 random hex characters. Entropy from the clock, the pid and
/// the address space layout is plenty for an identifier that only has to
/// differ between restarts.
pub fn make_run_id() -> String {
    // A per-process counter makes ids minted in the same millisecond
    // (run id, replication id, a promotion) differ.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut state = (unix_ms() as u64)
        ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ ((std::process::id() as u64) << 20)
        ^ (&state_marker as *const _ as u64);
    let mut s = String::with_capacity(40);
    while s.len() < 40 {
        let v = crate::dict::rng_next(&mut state);
        s.push_str(&format!("{v:016x}"));
    }
    s.truncate(40);
    s
}

#[allow(non_upper_case_globals)]
static state_marker: u8 = 0;

/// A command CLIENT PAUSE WRITE holds back: writes and `may_replicate`
/// commands, and PUBLISH, which Redis 7.0 holds too (its message reaches
/// replicas) though its table entry does not say `may_replicate`.
fn pausable_write(cmd: &crate::commands::table::Command) -> bool {
    use crate::commands::table::{MAY_REPLICATE, WRITE};
    cmd.flags & (WRITE | MAY_REPLICATE) != 0 || cmd.name == "publish"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derived time is the wall clock's, to the millisecond: never
    /// behind a wall-clock reading taken before it, never ahead of one
    /// taken after. (Anchoring on a millisecond-truncated reading put it
    /// up to 1-2 ms behind, so a replica could see a key expire before
    /// its master did.)
    #[test]
    fn derived_time_is_bracketed_by_the_wall_clock() {
        let ms = |ns: i64| ns.div_euclid(1_000_000);
        for i in 0..300u64 {
            let clock = WallClock::new();
            // Read some way past the anchor, at varied sub-millisecond
            // offsets from it, where truncation errors would add up.
            std::thread::sleep(std::time::Duration::from_micros(97 * (i % 11)));
            let before = ms(realtime_ns());
            let derived = clock.unix_ms_at_ns(mono_ns());
            let after = ms(realtime_ns());
            assert!(
                before <= derived && derived <= after,
                "{before} <= {derived} <= {after}"
            );
        }
    }

    /// A reading taken before the anchor (a chained request start) maps
    /// to the time before it, not to the anchor.
    #[test]
    fn readings_before_the_anchor_map_backwards() {
        let at = mono_ns();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let clock = WallClock::new();
        let now = clock.unix_ms_at_ns(mono_ns());
        let then = clock.unix_ms_at_ns(at);
        assert!(now - then >= 5, "{then} {now}");
    }
}
