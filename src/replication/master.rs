//! The master side: serving replicas.
//!
//! Owns: the PSYNC/SYNC handshake answer (+CONTINUE from the backlog or
//! +FULLRESYNC with an RDB payload), REPLCONF, WAIT, the periodic PING
//! to replicas and INFO's per-replica lines.
//!
//! Full sync forks (as Redis): once repl-diskless-sync-delay has passed
//! and no other child runs, snapshot_child.rs forks a child that encodes
//! the dataset into a pipe; the waiting replicas get `+FULLRESYNC <id>
//! <offset at fork>` at once and their live stream is buffered from that
//! instant. When the child exited cleanly, its bytes become one shared
//! payload (an `Arc`), sent as `$EOF:<mark>` ... `<mark>` to `capa eof`
//! replicas with diskless sync, else as `$<len>` (the length is known
//! then: the parent holds the whole payload before sending, one copy in
//! memory shared by all). A failed or killed child drops its replicas
//! (they reconnect and retry). Replicas that ask while a child runs wait
//! for the next one.
//!
//! Must never: serve a partial resync whose gap the backlog no longer
//! holds, or send anything but the stream to an online replica.

use super::backlog::Backlog;
use super::failover::FailoverState;
use super::{ReplicaPeer, Waiter, MAX_REPLICAS};
use crate::commands::{parse_int, Argv};
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
use crate::persistence::rdb::SnapshotParts;
use crate::server::Server;

impl Server {
    /// Start the backlog (and stream propagation) when the first replica
    /// arrives, as Redis does.
    pub fn ensure_backlog(&mut self) {
        if self.repl.backlog.is_none() {
            let size = usize::try_from(self.config.repl_backlog_size).unwrap_or(usize::MAX);
            self.repl.backlog = Some(Backlog::new(size, self.repl.offset));
            self.prop.enabled = true;
        }
    }

    /// Forget a replica whose client is going away.
    pub fn detach_replica(&mut self, c: &Client) {
        if c.repl.is_some() {
            self.repl.replicas.retain(|&s| s != c.token);
            if self.repl.replicas.is_empty() {
                self.repl.no_replicas_since_ms = self.ks.now_ms;
            }
        }
    }

    /// Replicas whose last ACK is at most min-replicas-max-lag seconds
    /// old (INFO min_slaves_good_slaves).
    pub fn good_replicas(&self) -> usize {
        let max_lag_ms = self.config.min_replicas_max_lag.saturating_mul(1000) as i64;
        self.repl
            .replicas
            .iter()
            .filter_map(|&s| self.clients.get(s).and_then(|c| c.as_deref()))
            .filter_map(|c| c.repl.as_deref())
            .filter(|r| {
                r.online && r.transfer.is_none() && self.ks.now_ms - r.ack_time_ms <= max_lag_ms
            })
            .count()
    }

    /// min-replicas-to-write: may a write run? Always on a replica, or
    /// when either option is 0 (as Redis). One comparison when unset.
    pub fn enough_good_replicas(&self) -> bool {
        self.config.min_replicas_to_write == 0
            || self.config.min_replicas_max_lag == 0
            || self.is_replica()
            || self.good_replicas() >= self.config.min_replicas_to_write as usize
    }

    /// Replicas waiting for the next shared snapshot.
    fn replicas_waiting_snapshot(&self) -> usize {
        self.repl
            .replicas
            .iter()
            .filter_map(|&s| self.clients.get(s).and_then(|c| c.as_deref()))
            .filter(|c| c.repl.as_ref().is_some_and(|r| r.wait_snapshot))
            .count()
    }

    /// Number of online replicas that acknowledged at least `offset`.
    fn replicas_acked(&self, offset: u64) -> usize {
        self.repl
            .replicas
            .iter()
            .filter_map(|&s| self.clients.get(s).and_then(|c| c.as_deref()))
            .filter_map(|c| c.repl.as_deref())
            .filter(|r| r.online && r.ack_offset >= offset)
            .count()
    }

    /// Online replicas that have not acknowledged `offset` yet (SHUTDOWN
    /// waits for them, see server/shutdown.rs).
    pub fn lagging_replicas(&self, offset: u64) -> usize {
        let online = self
            .repl
            .replicas
            .iter()
            .filter_map(|&s| self.clients.get(s).and_then(|c| c.as_deref()))
            .filter(|c| c.repl.as_deref().is_some_and(|r| r.online))
            .count();
        online - self.replicas_acked(offset)
    }

    /// Answer WAIT clients whose condition holds or whose time is up.
    pub fn serve_waiters(&mut self) {
        if self.repl.waiters.is_empty() {
            return;
        }
        let now = self.ks.now_ms;
        let waiters = std::mem::take(&mut self.repl.waiters);
        let mut keep = Vec::new();
        for w in waiters {
            let acked = self.replicas_acked(w.target_offset);
            let done = acked >= w.numreplicas || (w.deadline_ms > 0 && now >= w.deadline_ms);
            if !done {
                keep.push(w);
                continue;
            }
            let Some(Some(c)) = self.clients.get_mut(w.slot) else {
                continue;
            };
            if c.id != w.client_id || !c.wait_blocked {
                continue;
            }
            c.wait_blocked = false;
            c.reply().int(acked as i64);
            c.resume_input = true;
            self.pending_reads.push(w.slot);
            if !c.pending_write {
                c.pending_write = true;
                self.pending_writes.push(w.slot);
            }
        }
        self.repl.waiters = keep;
    }

    /// End client `id`'s WAIT before its condition holds (CLIENT UNBLOCK,
    /// REPLICAOF): the number of replicas that acknowledged the offset it
    /// waited for, which is what a WAIT ended as on a timeout answers.
    /// None if the client is not in WAIT. The caller replies and resumes
    /// the client.
    pub fn cancel_wait(&mut self, id: u64) -> Option<usize> {
        let pos = self.repl.waiters.iter().position(|w| w.client_id == id)?;
        let w = self.repl.waiters.remove(pos);
        Some(self.replicas_acked(w.target_offset))
    }

    /// Before sleeping: ask replicas for an ACK if a WAIT is pending.
    pub fn replication_before_sleep(&mut self) {
        self.poll_snapshot_child();
        self.start_shared_snapshot_if_due();
        self.serve_waiters();
        self.update_failover_status();
        // Held back during a FAILOVER: it would move the offset the
        // failover waits for the replica to reach.
        if self.repl.getack_pending && self.repl.failover.state == FailoverState::None {
            self.repl.getack_pending = false;
            self.feed_replication(b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n");
        }
    }

    /// Cron: PING replicas every repl-ping-replica-period seconds (it
    /// keeps their offset moving and their links alive), expire WAITs.
    pub fn master_cron(&mut self) {
        let now = self.ks.now_ms;
        let period = self.config.repl_ping_replica_period.max(1) as i64 * 1000;
        // No pings during a FAILOVER: they would move the offset.
        if !self.is_replica()
            && !self.repl.replicas.is_empty()
            && self.repl.failover.state == FailoverState::None
            && now - self.repl.last_ping_ms >= period
        {
            self.repl.last_ping_ms = now;
            self.feed_replication(b"*1\r\n$4\r\nPING\r\n");
        }
        self.drop_timed_out_replicas();
        self.backlog_ttl_cron();
        self.keepalive_waiting_replicas();
        self.serve_waiters();
        self.update_failover_status();
    }

    /// Once a second, a newline to replicas waiting for the shared
    /// snapshot, as Redis: their PSYNC reply is delayed, their link is not
    /// dead (replicas skip empty lines there).
    fn keepalive_waiting_replicas(&mut self) {
        if (self.repl.snapshot_wait_since_ms.is_none() && self.repl.snapshot_child.is_none())
            || self.ks.now_ms - self.repl.last_keepalive_ms < 1000
        {
            return;
        }
        self.repl.last_keepalive_ms = self.ks.now_ms;
        for i in 0..self.repl.replicas.len() {
            let slot = self.repl.replicas[i];
            let Some(Some(c)) = self.clients.get_mut(slot) else {
                continue;
            };
            let Some(r) = c.repl.as_mut() else {
                continue;
            };
            // Bounded: at most one pending newline per replica. A replica
            // whose snapshot child runs has its stream in `out` already:
            // its newline goes to the transfer's head instead.
            let queued = if r.wait_snapshot && !c.out.ends_with(b"\n") {
                c.out.push(b'\n');
                true
            } else if let Some(t) = r
                .transfer
                .as_mut()
                .filter(|t| t.pending && t.pos >= t.head.len())
            {
                t.head.push(b'\n');
                true
            } else {
                false
            };
            if queued && !c.pending_write {
                c.pending_write = true;
                self.pending_writes.push(slot);
            }
        }
    }

    /// repl-timeout, master side: an online replica that sent no ACK (or,
    /// while its snapshot is sent, read none of it) for that long is
    /// dropped (it reconnects and resyncs). One that came with the old
    /// SYNC (it never ACKs) is spared, as Redis.
    fn drop_timed_out_replicas(&mut self) {
        let timeout_ms = self.config.repl_timeout.max(1).saturating_mul(1000) as i64;
        let now = self.ks.now_ms;
        let mut dead = Vec::new();
        for i in 0..self.repl.replicas.len() {
            let s = self.repl.replicas[i];
            let Some(Some(c)) = self.clients.get_mut(s) else {
                continue;
            };
            let Some(r) = c.repl.as_deref_mut() else {
                continue;
            };
            // While its snapshot is sent, progress is its sign of life;
            // a replica that stops reading it is dropped like a silent one.
            if let Some(t) = r.transfer.as_mut() {
                if t.pos != t.seen_pos {
                    t.seen_pos = t.pos;
                    r.ack_time_ms = now;
                }
            }
            if r.online && r.psync && now - r.ack_time_ms > timeout_ms {
                log::warn!(
                    "Disconnecting timedout replica (streaming sync): {}",
                    c.addr
                );
                dead.push(s);
            }
        }
        for s in dead {
            self.close_client_in_table(s);
        }
    }

    /// INFO replication lines for the master role.
    pub fn info_replicas(&self, out: &mut String) -> usize {
        let replicas = self.replica_views(self.ks.now_ms);
        for (n, r) in replicas.iter().enumerate() {
            out.push_str(&format!(
                "slave{n}:ip={},port={},state={},offset={},lag={}\r\n",
                r.ip, r.port, r.state, r.offset, r.lag_secs
            ));
        }
        replicas.len()
    }

    /// The online replicas as INFO and /metrics show them, with their lag
    /// (seconds since their last REPLCONF ACK) at `now_ms`.
    pub fn replica_views(&self, now_ms: i64) -> Vec<ReplicaView> {
        let mut out = Vec::new();
        for &s in &self.repl.replicas {
            let Some(c) = self.clients.get(s).and_then(|c| c.as_deref()) else {
                continue;
            };
            let Some(r) = c.repl.as_deref() else {
                continue;
            };
            let ip = super::replica_ip(c);
            // Redis's words for the stages of a full sync.
            let state = if r.wait_snapshot || r.transfer.as_ref().is_some_and(|t| t.pending) {
                "wait_bgsave"
            } else if r.transfer.is_some() || r.hold_stream {
                "send_bulk"
            } else {
                "online"
            };
            out.push(ReplicaView {
                ip,
                port: r.listening_port,
                state,
                offset: r.ack_offset,
                lag_secs: (now_ms - r.ack_time_ms).max(0) / 1000,
            });
        }
        out
    }
}

/// One replica as INFO's `slaveN` line and /metrics report it.
pub struct ReplicaView {
    pub ip: String,
    pub port: u16,
    pub state: &'static str,
    /// Offset it last acknowledged.
    pub offset: u64,
    pub lag_secs: i64,
}

/// Record what a (future) replica tells about itself. It joins the
/// replica list only with SYNC/PSYNC, as Redis.
fn peer(srv: &Server, c: &mut Client) {
    if c.repl.is_none() {
        c.repl = Some(Box::new(ReplicaPeer {
            ack_time_ms: srv.ks.now_ms,
            ..ReplicaPeer::default()
        }));
    }
}

/// REPLCONF rdb-filter-only's value: the parts of the snapshot to
/// include, space-separated (quotes allowed); "" means none (an RDB with
/// only its header), `functions` the function libraries without keys,
/// Redis 7.0's only filter. Its error texts.
fn parse_rdb_filter(v: &[u8]) -> Result<SnapshotParts, CmdError> {
    let text = String::from_utf8_lossy(v);
    if text.matches('"').count() % 2 == 1 || text.matches('\'').count() % 2 == 1 {
        return Err(CmdError::msg("ERR Missing rdb-filter-only values"));
    }
    let mut parts = SnapshotParts {
        keys: false,
        functions: false,
    };
    for word in text.split_whitespace() {
        let word = word.trim_matches(|c| c == '"' || c == '\'');
        if word.eq_ignore_ascii_case("functions") {
            parts.functions = true;
        } else if !word.is_empty() {
            return Err(CmdError::msg(format!(
                "ERR Unsupported rdb-filter-only option: {word}"
            )));
        }
    }
    Ok(parts)
}

/// REPLCONF listening-port <port> | ip-address <ip> | capa <c> ... |
/// ACK <offset> | GETACK *.
pub fn replconf(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if argv.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if c.is_master {
        // Our master asking for our offset.
        if argv.is(1, "getack") {
            srv.repl.ack_now = true;
        }
        return Ok(());
    }
    let mut j = 1;
    while j + 1 < argv.len() {
        let v = argv.get(j + 1);
        if argv.is(j, "ack") {
            // No reply to ACK, ever (as Redis).
            let Some(r) = c.repl.as_mut() else {
                return Ok(());
            };
            if let Ok(off) = parse_int(v) {
                if off >= 0 && off as u64 > r.ack_offset {
                    r.ack_offset = off as u64;
                }
            }
            r.ack_time_ms = srv.ks.now_ms;
            // The first ACK after an EOF-marker payload releases the
            // buffered stream (the loop writes it: output is pending).
            r.hold_stream = false;
            // WAITers are checked before sleeping (this replica is out of
            // the client table while its command runs).
            return Ok(());
        } else if argv.is(j, "listening-port") {
            let port = parse_int(v)?;
            if !(0..=65535).contains(&port) {
                return Err(CmdError::NotInteger);
            }
            peer(srv, c);
            if let Some(r) = c.repl.as_mut() {
                r.listening_port = port as u16;
            }
        } else if argv.is(j, "ip-address") {
            peer(srv, c);
            if let Some(r) = c.repl.as_mut() {
                r.announced_ip = Some(String::from_utf8_lossy(v).chars().take(46).collect());
            }
        } else if argv.is(j, "capa") {
            peer(srv, c);
            if let Some(r) = c.repl.as_mut() {
                if v.eq_ignore_ascii_case(b"psync2") {
                    r.capa_psync2 = true;
                } else if v.eq_ignore_ascii_case(b"eof") {
                    r.capa_eof = true;
                }
            }
        } else if argv.is(j, "getack") {
            // Only meaningful from a master.
        } else if argv.is(j, "rdb-filter-only") {
            let parts = parse_rdb_filter(v)?;
            peer(srv, c);
            if let Some(r) = c.repl.as_mut() {
                r.snapshot_parts = parts;
            }
        } else {
            return Err(CmdError::Other(
                format!(
                    "ERR Unrecognized REPLCONF option: {}",
                    String::from_utf8_lossy(argv.get(j))
                )
                .into(),
            ));
        }
        j += 2;
    }
    c.reply().ok();
    Ok(())
}

/// PSYNC <replid> <offset> [FAILOVER]: partial resync when possible, else
/// full. With FAILOVER (sent by a master handing us its role, see
/// failover.rs) we first become a master, if we follow that master's
/// history; its PSYNC then continues from our new replid2.
pub fn psync(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if c.repl.as_ref().is_some_and(|r| r.online) {
        // Already a replica: ignore, as Redis.
        return Ok(());
    }
    if argv.len() > 3 && argv.is(3, "failover") {
        log::warn!(
            "Failover request received for replid {}.",
            String::from_utf8_lossy(argv.get(1))
        );
        if !srv.is_replica() {
            return Err(CmdError::msg(
                "ERR PSYNC FAILOVER can't be sent to a master.",
            ));
        }
        if argv.get(1) != srv.repl.replid.as_bytes() {
            return Err(CmdError::msg(
                "ERR PSYNC FAILOVER replid must match my replid.",
            ));
        }
        srv.unset_master();
        log::warn!("MASTER MODE enabled (failover request from '{}')", c.addr);
    }
    sync_common(srv, c, Some((argv.get(1), argv.get(2))))
}

/// SYNC: the pre-PSYNC full synchronisation (no +FULLRESYNC line).
pub fn sync(srv: &mut Server, c: &mut Client, _argv: &Argv) -> CmdResult {
    sync_common(srv, c, None)
}

fn sync_common(srv: &mut Server, c: &mut Client, psync: Option<(&[u8], &[u8])>) -> CmdResult {
    if c.repl.as_ref().is_some_and(|r| r.online) {
        // Already a replica: ignore, as Redis.
        return Ok(());
    }
    if c.multi.is_some() {
        return Err(CmdError::msg(
            "ERR Command is not allowed inside a transaction",
        ));
    }
    if srv.repl.failover.state != FailoverState::None {
        return Err(CmdError::msg("NOMASTERLINK Can't SYNC while failing over"));
    }
    if srv.is_replica() && !srv.repl.link.as_ref().is_some_and(|l| l.is_connected()) {
        return Err(CmdError::msg(
            "NOMASTERLINK Can't SYNC while not connected with my master",
        ));
    }
    if srv.repl.replicas.len() >= MAX_REPLICAS {
        return Err(CmdError::msg("ERR too many replicas"));
    }
    peer(srv, c);
    srv.repl.replicas.push(c.token);
    srv.ensure_backlog();
    if let Some((replid, off)) = psync {
        let off = parse_int(off).ok();
        let id_ok = replid == srv.repl.replid.as_bytes()
            || (replid == srv.repl.replid2.as_bytes()
                && off.is_some_and(|o| o <= srv.repl.second_offset));
        let in_backlog = off.is_some_and(|o| {
            o > 0
                && srv
                    .repl
                    .backlog
                    .as_ref()
                    .is_some_and(|b| b.covers(o as u64))
        });
        if id_ok && in_backlog {
            let o = off.unwrap_or(0) as u64;
            let psync2 = c.repl.as_ref().is_some_and(|r| r.capa_psync2);
            if psync2 {
                c.out
                    .extend_from_slice(format!("+CONTINUE {}\r\n", srv.repl.replid).as_bytes());
            } else {
                c.out.extend_from_slice(b"+CONTINUE\r\n");
            }
            if let Some(b) = srv.repl.backlog.as_ref() {
                b.copy_from(o, &mut c.out);
            }
            if let Some(r) = c.repl.as_mut() {
                r.online = true;
                r.psync = true;
                r.ack_offset = o.saturating_sub(1);
                r.ack_time_ms = srv.ks.now_ms;
            }
            srv.repl.sync_partial_ok += 1;
            log::info!(
                "Partial resynchronization request from {} accepted. Sending {} bytes of backlog starting from offset {o}.",
                c.addr,
                srv.repl.offset + 1 - o
            );
            return Ok(());
        }
        if replid != b"?" {
            srv.repl.sync_partial_err += 1;
        }
    }
    srv.repl.sync_full += 1;
    // Every full sync waits for the next shared snapshot, taken before
    // sleeping once repl-diskless-sync-delay has passed (at once without
    // a delay or with disk-style sync), so replicas that ask together get
    // one encoding of the dataset.
    if let Some(r) = c.repl.as_mut() {
        r.wait_snapshot = true;
        r.psync = psync.is_some();
        r.online = false;
        r.ack_offset = 0;
    }
    if srv.repl.snapshot_wait_since_ms.is_none() {
        srv.repl.snapshot_wait_since_ms = Some(srv.ks.now_ms);
    }
    if srv.config.repl_diskless_sync && srv.config.repl_diskless_sync_delay > 0 {
        log::info!(
            "Replica {} asks for synchronization: full resync, delayed {} s to share the snapshot",
            c.addr,
            srv.config.repl_diskless_sync_delay
        );
    }
    Ok(())
}

/// A full-sync payload being written to one replica: `head` (the
/// +FULLRESYNC line and the `$len` or `$EOF:<mark>` line), the shared
/// snapshot, `tail` (the EOF mark, if any). `pos` counts bytes written
/// across the three.
#[derive(Debug, Clone)]
pub struct Transfer {
    head: Vec<u8>,
    data: std::sync::Arc<Vec<u8>>,
    tail: Vec<u8>,
    /// The snapshot child is still running: `data` is empty and `head`
    /// may still grow (keepalive newlines, then the `$` line).
    pending: bool,
    pos: usize,
    /// `pos` when cron last looked (repl-timeout while sending).
    seen_pos: usize,
}

impl Transfer {
    fn len(&self) -> usize {
        self.head.len() + self.data.len() + self.tail.len()
    }

    /// The next unwritten bytes (empty when done).
    fn next_chunk(&self) -> &[u8] {
        let (h, d) = (self.head.len(), self.data.len());
        if self.pos < h {
            &self.head[self.pos..]
        } else if self.pos < h + d {
            &self.data[self.pos - h..]
        } else {
            &self.tail[(self.pos - h - d).min(self.tail.len())..]
        }
    }
}

/// Write a replica's pending full-sync payload. Returns Ok(true) when the
/// stream in its output buffer may be written now. Bytes written are added
/// to `written`.
pub fn write_transfer(
    addr: &str,
    peer: Option<&mut ReplicaPeer>,
    w: &mut impl std::io::Write,
    written: &mut u64,
) -> std::io::Result<bool> {
    let Some(r) = peer else {
        return Ok(true);
    };
    if let Some(t) = r.transfer.as_mut() {
        // Bounded: each pass writes at least one byte or returns.
        while t.pos < t.len() {
            match w.write(t.next_chunk()) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    t.pos += n;
                    *written += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        if t.pending {
            return Ok(false); // the payload is not there yet
        }
        log::info!(
            "Synchronization with replica {addr} succeeded ({} bytes of snapshot sent)",
            t.data.len()
        );
        r.transfer = None;
    }
    Ok(!r.hold_stream)
}

impl Server {
    /// Before sleeping: take the shared snapshot for the replicas waiting
    /// for a full sync once the diskless delay is over (or enough of them
    /// wait), and queue it to each of them.
    pub fn start_shared_snapshot_if_due(&mut self) {
        let Some(since) = self.repl.snapshot_wait_since_ms else {
            return;
        };
        let delay_ms = if self.config.repl_diskless_sync {
            self.config.repl_diskless_sync_delay.saturating_mul(1000) as i64
        } else {
            0
        };
        let max = self.config.repl_diskless_sync_max_replicas;
        let enough = max > 0 && self.replicas_waiting_snapshot() >= max as usize;
        if !enough && self.ks.now_ms - since < delay_ms {
            return;
        }
        // One child at a time (as Redis): the replicas stay in
        // wait_bgsave until a BGSAVE/BGREWRITEAOF or the previous snapshot
        // child is done, then share the next one.
        if self.has_child() {
            return;
        }
        self.repl.snapshot_wait_since_ms = None;
        // Replicas share a snapshot when they asked for the same parts
        // (REPLCONF rdb-filter-only): this one is for the first waiting
        // replica's parts; the others wait for the next.
        let Some(parts) = self.waiting_snapshot_parts() else {
            return; // they all left meanwhile
        };
        let child = match super::snapshot_child::spawn(self, parts) {
            Ok(c) => c,
            Err(e) => {
                log::warn!(
                    "Can't fork the full resync snapshot: {e}; dropping the waiting replicas"
                );
                self.drop_replicas_where(|r| r.wait_snapshot);
                return;
            }
        };
        log::info!(
            "Full resync: snapshot child {} started at offset {}",
            child.pid,
            self.repl.offset
        );
        self.repl.snapshot_child = Some(child);
        // The first keepalive newline a second from now, not at once.
        self.repl.last_keepalive_ms = self.ks.now_ms;
        let (replid, offset, now) = (self.repl.replid.clone(), self.repl.offset, self.ks.now_ms);
        for i in 0..self.repl.replicas.len() {
            let slot = self.repl.replicas[i];
            let Some(Some(c)) = self.clients.get_mut(slot) else {
                continue;
            };
            if !c
                .repl
                .as_ref()
                .is_some_and(|r| r.wait_snapshot && r.snapshot_parts == parts)
            {
                continue;
            }
            // Keepalive newlines not yet written go first, then the
            // +FULLRESYNC line; the payload follows when the child is
            // done, and nothing may follow it but the stream.
            let mut head = c.out.split_off(c.out_pos.min(c.out.len()));
            c.out.clear();
            c.out_pos = 0;
            let Some(r) = c.repl.as_mut() else {
                continue;
            };
            if r.psync {
                head.extend_from_slice(format!("+FULLRESYNC {replid} {offset}\r\n").as_bytes());
            }
            r.transfer = Some(Transfer {
                head,
                data: std::sync::Arc::default(),
                tail: Vec::new(),
                pending: true,
                pos: 0,
                seen_pos: 0,
            });
            r.wait_snapshot = false;
            // The snapshot is the dataset at this offset: from here on
            // the live stream accumulates in its output buffer (under the
            // replica output-buffer limit), behind the payload.
            r.online = true;
            r.ack_time_ms = now;
            if !c.pending_write {
                c.pending_write = true;
                self.pending_writes.push(slot);
            }
        }
        // The replicas load a dataset with no database selected on the
        // stream.
        self.prop.stream_db = None;
        // Replicas that asked for other parts get the next snapshot.
        if self.replicas_waiting_snapshot() > 0 {
            self.repl.snapshot_wait_since_ms = Some(now);
        }
    }

    /// The parts the first replica waiting for a snapshot asked for.
    fn waiting_snapshot_parts(&self) -> Option<SnapshotParts> {
        self.repl
            .replicas
            .iter()
            .filter_map(|&s| self.clients.get(s).and_then(|c| c.as_deref()))
            .filter_map(|c| c.repl.as_deref())
            .find(|r| r.wait_snapshot)
            .map(|r| r.snapshot_parts)
    }

    /// Every loop turn while a snapshot child runs: copy its output; when
    /// it is done, queue the payload to its replicas; when it failed,
    /// drop them (they reconnect and ask again).
    pub fn poll_snapshot_child(&mut self) {
        let Some(child) = self.repl.snapshot_child.as_mut() else {
            return;
        };
        match child.poll(&self.poll) {
            super::snapshot_child::Outcome::Running => {}
            super::snapshot_child::Outcome::Failed(why) => {
                self.repl.snapshot_child = None;
                log::warn!("Full resync snapshot failed: {why}; dropping its replicas");
                self.drop_replicas_where(|r| r.transfer.as_ref().is_some_and(|t| t.pending));
            }
            super::snapshot_child::Outcome::Done(payload) => {
                let elapsed = self
                    .repl
                    .snapshot_child
                    .take()
                    .map(|c| c.started.elapsed().as_millis())
                    .unwrap_or(0);
                self.finish_snapshot(payload, elapsed);
            }
        }
    }

    /// Close the replicas matching `pred` (a failed snapshot).
    fn drop_replicas_where(&mut self, pred: impl Fn(&ReplicaPeer) -> bool) {
        for slot in self.repl.replicas.clone() {
            let hit = self
                .clients
                .get(slot)
                .and_then(|c| c.as_deref())
                .and_then(|c| c.repl.as_deref())
                .is_some_and(&pred);
            if hit {
                log::warn!("Dropping replica in client slot {slot}: its snapshot failed");
                self.close_client_in_table(slot);
            }
        }
    }

    /// The child's snapshot is complete: it becomes the payload of every
    /// replica whose transfer waits for it.
    fn finish_snapshot(&mut self, payload: Vec<u8>, elapsed_ms: u128) {
        let payload = std::sync::Arc::new(payload);
        let mark = crate::server::make_run_id();
        let diskless = self.config.repl_diskless_sync;
        let mut n = 0;
        for i in 0..self.repl.replicas.len() {
            let slot = self.repl.replicas[i];
            let Some(Some(c)) = self.clients.get_mut(slot) else {
                continue;
            };
            let Some(r) = c.repl.as_mut() else {
                continue;
            };
            let eof = diskless && r.capa_eof;
            let Some(t) = r.transfer.as_mut().filter(|t| t.pending) else {
                continue;
            };
            // Appending to `head` is sound: nothing past it was written
            // (the payload was empty until now).
            if eof {
                t.head
                    .extend_from_slice(format!("$EOF:{mark}\r\n").as_bytes());
                t.tail = mark.as_bytes().to_vec();
            } else {
                t.head
                    .extend_from_slice(format!("${}\r\n", payload.len()).as_bytes());
            }
            t.data = payload.clone();
            t.pending = false;
            r.hold_stream = eof;
            n += 1;
            if !c.pending_write {
                c.pending_write = true;
                self.pending_writes.push(slot);
            }
        }
        log::info!(
            "Full resync: {} bytes of snapshot (child took {elapsed_ms} ms) shared by {n} replica(s) ({})",
            payload.len(),
            if diskless { "diskless" } else { "from memory" }
        );
    }
}

/// WAIT numreplicas timeout.
pub fn wait(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if srv.is_replica() {
        return Err(CmdError::msg("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."));
    }
    let num = parse_int(argv.get(1))?;
    let timeout = parse_int(argv.get(2))
        .map_err(|_| CmdError::msg("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    let target = srv.repl.offset;
    let acked = srv.replicas_acked(target);
    if c.multi.is_some() || c.in_exec || num <= 0 || acked >= num as usize {
        c.reply().int(acked as i64);
        return Ok(());
    }
    c.wait_blocked = true;
    srv.repl.waiters.push(Waiter {
        slot: c.token,
        client_id: c.id,
        target_offset: target,
        numreplicas: num as usize,
        deadline_ms: if timeout == 0 {
            0
        } else {
            srv.ks.now_ms.saturating_add(timeout)
        },
    });
    srv.repl.getack_pending = true;
    Ok(())
}
