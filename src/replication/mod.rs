//! Replication: Redis's PSYNC protocol, both roles.
//!
//! Owns: the replication identity (`replid`, `replid2`), the stream offset,
//! the backlog, the list of attached replicas, the WAIT queue and the
//! replication counters of INFO. Files: `backlog.rs` (ring buffer),
//! `master.rs` (serving replicas: PSYNC/SYNC, REPLCONF, WAIT, pings),
//! `replica.rs` (following a master: REPLICAOF, the link state machine).
//!
//! Must never: let replicas and the AOF see different streams: both are
//! fed from `propagate.rs`'s single `feed_stream`.
//!
//! Invariants: `offset` is the number of stream bytes produced (master) or
//! applied (replica); the backlog, when present, ends exactly at `offset`.

pub mod backlog;
pub mod failover;
pub mod master;
pub mod replica;
pub mod snapshot_child;

use crate::server::Server;
use backlog::Backlog;

/// What a master knows about one attached replica (lives in its Client).
#[derive(Debug, Default, Clone)]
pub struct ReplicaPeer {
    pub listening_port: u16,
    pub announced_ip: Option<String>,
    /// Offset the replica last acknowledged (REPLCONF ACK).
    pub ack_offset: u64,
    pub ack_time_ms: i64,
    /// Receiving the stream (after the FULLRESYNC payload or CONTINUE).
    pub online: bool,
    /// Declared `capa psync2`: +CONTINUE carries the replid.
    pub capa_psync2: bool,
    /// Declared `capa eof`: can read the diskless EOF-marker payload.
    pub capa_eof: bool,
    /// Asked for a full sync and waits for the next shared snapshot.
    pub wait_snapshot: bool,
    /// Asked with PSYNC (false: the old SYNC, which gets no +FULLRESYNC
    /// line and never sends ACKs, so repl-timeout spares it).
    pub psync: bool,
    /// The full-sync payload still to write, ahead of the buffered stream
    /// in the client's output buffer.
    pub transfer: Option<master::Transfer>,
    /// After an EOF-marker payload the stream waits for the replica's
    /// first ACK (as Redis): a replica reading up to the marker could not
    /// tell stream bytes that follow it in the same read from the payload.
    pub hold_stream: bool,
    /// What its full-sync snapshot holds (REPLCONF rdb-filter-only).
    pub snapshot_parts: crate::persistence::rdb::SnapshotParts,
}

/// A client blocked in WAIT.
pub struct Waiter {
    pub slot: usize,
    pub client_id: u64,
    pub target_offset: u64,
    pub numreplicas: usize,
    /// 0: wait forever.
    pub deadline_ms: i64,
}

pub struct ReplState {
    pub replid: String,
    pub replid2: String,
    pub offset: u64,
    /// Last offset valid for replid2 (+1), -1 when none (INFO).
    pub second_offset: i64,
    pub backlog: Option<Backlog>,
    /// Client slots of attached replicas.
    pub replicas: Vec<usize>,
    pub waiters: Vec<Waiter>,
    /// Send REPLCONF GETACK to replicas before sleeping (WAIT pending).
    pub getack_pending: bool,
    pub last_ping_ms: i64,
    /// When the first replica began waiting for the next shared full-sync
    /// snapshot (repl-diskless-sync-delay counts from here).
    pub snapshot_wait_since_ms: Option<i64>,
    /// The forked child encoding a full-sync snapshot, while it runs.
    pub snapshot_child: Option<snapshot_child::SnapshotChild>,
    /// Last keepalive newline sent to replicas waiting for a snapshot.
    pub last_keepalive_ms: i64,
    /// Our replid/offset name a history a master may continue (we synced
    /// before, or were a master): PSYNC asks for it; else `PSYNC ? -1`.
    pub psync_cached: bool,
    /// The master client of a dropped link (its database and any open
    /// MULTI): a partial resync continues the stream exactly there.
    pub cached_master: Option<Box<crate::connection::Client>>,
    /// `repl-id` / `repl-offset` of the last RDB loaded (used at startup
    /// only: a restarted replica continues its history).
    pub loaded_replid: Option<String>,
    pub loaded_offset: Option<u64>,
    /// `repl-stream-db` of the last RDB payload loaded.
    pub loaded_stream_db: Option<usize>,
    /// Replica: send REPLCONF ACK to the master now (GETACK received).
    pub ack_now: bool,
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    /// When the last replica left (repl-backlog-ttl counts from here).
    pub no_replicas_since_ms: i64,
    /// A master host name being resolved off the loop.
    pub resolving: Option<replica::Resolving>,
    /// The link to our master while we are a replica.
    pub link: Option<replica::MasterLink>,
    /// Wall-clock ms when a synced master link was last lost; 0 when it
    /// never was (INFO master_link_down_since_seconds shows -1 then, as
    /// Redis does). Sentinel reads it to skip long-disconnected replicas.
    pub link_down_since_ms: i64,
    /// A FAILOVER under way (`failover.rs`).
    pub failover: failover::Failover,
}

/// The address a replica is known by: the one it announced (REPLCONF
/// ip-address), else its connection's peer address (INFO slaveN, ROLE,
/// FAILOVER TO).
pub fn replica_ip(c: &crate::connection::Client) -> String {
    if let Some(ip) = c.repl.as_deref().and_then(|r| r.announced_ip.clone()) {
        return ip;
    }
    c.addr
        .rsplit_once(':')
        .map(|(h, _)| h.to_string())
        .unwrap_or_default()
}

/// Index of the `replica` class in `client-output-buffer-limit`.
pub const REPLICA_LIMIT_CLASS: usize = 1;

/// Largest number of replicas served at once (bounds the replica list).
pub const MAX_REPLICAS: usize = 1024;

impl Default for ReplState {
    fn default() -> ReplState {
        ReplState {
            replid: crate::server::make_run_id(),
            replid2: "0".repeat(40),
            offset: 0,
            second_offset: -1,
            backlog: None,
            replicas: Vec::new(),
            waiters: Vec::new(),
            getack_pending: false,
            last_ping_ms: 0,
            snapshot_wait_since_ms: None,
            snapshot_child: None,
            last_keepalive_ms: 0,
            ack_now: false,
            psync_cached: false,
            loaded_stream_db: None,
            loaded_replid: None,
            loaded_offset: None,
            cached_master: None,
            sync_full: 0,
            sync_partial_ok: 0,
            sync_partial_err: 0,
            no_replicas_since_ms: crate::db::unix_ms(),
            resolving: None,
            link: None,
            link_down_since_ms: 0,
            failover: failover::Failover::default(),
        }
    }
}

impl Server {
    /// Send the running command to replicas only, not to the AOF (Redis's
    /// PROPAGATE_REPL): PUBLISH and SPUBLISH, so a replica's subscribers
    /// get the master's messages. It changes no data, so it needs no
    /// SELECT and does not join the execution unit: inside EXEC it goes
    /// out before the transaction's writes (Redis keeps it in place).
    pub fn replicate_command_only(&mut self, argv: &crate::commands::Argv) {
        if self.repl.backlog.is_none() || self.is_replica() {
            return;
        }
        match argv.raw() {
            Some(raw) => self.feed_replication(raw),
            None => {
                let mut out = Vec::new();
                crate::persistence::propagate::encode_command(&mut out, argv.iter());
                self.feed_replication(&out);
            }
        }
    }

    /// Stream bytes for replicas: into the backlog and every online
    /// replica's output buffer. Called from `feed_stream` (and for PING /
    /// GETACK, which go to replicas but not to the AOF, as Redis).
    pub fn feed_replication(&mut self, resp: &[u8]) {
        // A replica's replicas get its master's stream verbatim (see
        // replica.rs), not the re-propagation of what it applied.
        if self.is_replica() {
            return;
        }
        self.replicate_bytes(resp);
    }

    /// Append stream bytes to the backlog and send them to replicas.
    pub fn replicate_bytes(&mut self, resp: &[u8]) {
        let Some(backlog) = self.repl.backlog.as_mut() else {
            return;
        };
        backlog.append(resp);
        self.repl.offset += resp.len() as u64;
        let limit = self.config.client_output_buffer_limit[REPLICA_LIMIT_CLASS];
        let now = self.ks.now_ms;
        for i in 0..self.repl.replicas.len() {
            let slot = self.repl.replicas[i];
            // The client running the command is out of the table; a
            // replica never issues writes, so it is never that client.
            let Some(Some(c)) = self.clients.get_mut(slot) else {
                continue;
            };
            if c.close_asap || !c.repl.as_ref().is_some_and(|r| r.online) {
                continue;
            }
            c.out.extend_from_slice(resp);
            // client-output-buffer-limit replica: what is buffered for a
            // replica that does not read (or is still receiving its
            // snapshot) is bounded; past it the replica is dropped (it
            // will resync) and the master goes on.
            if crate::pubsub::enforce_output_limit(
                c,
                (limit.hard_bytes, limit.soft_bytes, limit.soft_seconds),
                now,
                &mut self.stats.client_output_buffer_limit_disconnections,
            ) {
                // The replica resyncs anyway: drop what it would not read.
                c.out = Vec::new();
                c.out_pos = 0;
            }
            if !c.pending_write {
                c.pending_write = true;
                self.pending_writes.push(slot);
            }
        }
    }

    /// The (replid, offset) an RDB file should record, as Redis: a master
    /// with a backlog, or a replica that has a history to continue.
    pub fn replication_position(&self) -> Option<(&str, u64)> {
        let has_history = if self.is_replica() {
            self.repl.psync_cached
        } else {
            self.repl.backlog.is_some()
        };
        has_history.then_some((self.repl.replid.as_str(), self.repl.offset))
    }

    /// At startup, after loading the RDB file: a replica takes the
    /// replication id and offset the file recorded, so its first PSYNC
    /// asks to continue (a partial resync after a restart), its stream
    /// positioned on the recorded database.
    pub fn restore_replication_position(&mut self) {
        let (id, off) = (
            self.repl.loaded_replid.take(),
            self.repl.loaded_offset.take(),
        );
        let stream_db = self.repl.loaded_stream_db.take();
        let (Some(id), Some(off)) = (id, off) else {
            return;
        };
        if !self.is_replica() {
            return;
        }
        log::info!("Restoring replication position {id}:{off} from the RDB file");
        self.repl.replid = id;
        self.repl.offset = off;
        self.repl.psync_cached = true;
        let mut master = crate::connection::Client::new_fake(0);
        master.db = stream_db.unwrap_or(0);
        master.is_master = true;
        self.repl.cached_master = Some(Box::new(master));
    }

    /// After CONFIG SET: resize the backlog to repl-backlog-size, keeping
    /// its newest bytes (partial resyncs stay possible).
    pub fn apply_replication_config(&mut self) {
        let size = usize::try_from(self.config.repl_backlog_size).unwrap_or(usize::MAX);
        if let Some(b) = self.repl.backlog.as_ref() {
            if b.size() != size.max(1) {
                self.repl.backlog = Some(b.resized(size));
            }
        }
    }

    /// Cron: repl-backlog-ttl. A master without replicas for that long
    /// frees its backlog and starts a new history (a new replid, no
    /// replid2: nothing can continue the old one), as Redis. 0: never.
    pub fn backlog_ttl_cron(&mut self) {
        let ttl_ms = self.config.repl_backlog_ttl.saturating_mul(1000) as i64;
        if ttl_ms == 0
            || self.is_replica()
            || self.repl.backlog.is_none()
            || !self.repl.replicas.is_empty()
            || self.ks.now_ms - self.repl.no_replicas_since_ms < ttl_ms
        {
            return;
        }
        log::info!(
            "Replication backlog freed after {} seconds without connected replicas.",
            self.config.repl_backlog_ttl
        );
        self.repl.backlog = None;
        self.repl.replid = crate::server::make_run_id();
        self.repl.replid2 = "0".repeat(40);
        self.repl.second_offset = -1;
        self.prop.enabled = self.aof.is_some();
    }

    /// True when this server follows a master.
    pub fn is_replica(&self) -> bool {
        self.config.replicaof.is_some()
    }
}
