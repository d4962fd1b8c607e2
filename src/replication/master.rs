//! The master side: serving replicas.
//!
//! Owns: the PSYNC/SYNC handshake answer (+CONTINUE from the backlog or
//! +FULLRESYNC with an RDB payload), REPLCONF, WAIT, the periodic PING
//! to replicas and INFO's per-replica lines.
//!
//! Full sync is "in-memory, disk-less in spirit but not in form": at PSYNC
//! time the dataset is serialised with rdb.rs into one buffer and queued
//! as `$<len>\r\n<payload>` in the replica's output buffer, followed by the
//! live stream. Trade-offs: the loop stalls while encoding (O(dataset))
//! and the payload costs a second copy of the data in memory per syncing
//! replica, but no fork, no temp file, and the stream after the payload is
//! exactly ordered without a separate "buffer while BGSAVE runs" phase.
//!
//! Must never: serve a partial resync whose gap the backlog no longer
//! holds, or send anything but the stream to an online replica.

use super::backlog::Backlog;
use super::{ReplicaPeer, Waiter, MAX_REPLICAS};
use crate::commands::{parse_int, Argv};
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
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
        }
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

    /// Before sleeping: ask replicas for an ACK if a WAIT is pending.
    pub fn replication_before_sleep(&mut self) {
        self.serve_waiters();
        if self.repl.getack_pending {
            self.repl.getack_pending = false;
            self.feed_replication(b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n");
        }
    }

    /// Cron: PING replicas every repl-ping-replica-period seconds (it
    /// keeps their offset moving and their links alive), expire WAITs.
    pub fn master_cron(&mut self) {
        let now = self.ks.now_ms;
        let period = self.config.repl_ping_replica_period.max(1) as i64 * 1000;
        if !self.is_replica()
            && !self.repl.replicas.is_empty()
            && now - self.repl.last_ping_ms >= period
        {
            self.repl.last_ping_ms = now;
            self.feed_replication(b"*1\r\n$4\r\nPING\r\n");
        }
        self.serve_waiters();
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
            let Some(r) = c.repl.as_deref().filter(|r| r.online) else {
                continue;
            };
            let ip = r.announced_ip.clone().unwrap_or_else(|| {
                c.addr
                    .rsplit_once(':')
                    .map(|(h, _)| h.to_string())
                    .unwrap_or_default()
            });
            out.push(ReplicaView {
                ip,
                port: r.listening_port,
                state: if r.online { "online" } else { "wait_bgsave" },
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
            // WAITers are checked before sleeping (this replica is out of
            // the client table while its command runs).
            return Ok(());
        } else if argv.is(j, "listening-port") {
            let port = parse_int(v)
                .ok()
                .filter(|p| (0..=65535).contains(p))
                .ok_or_else(|| CmdError::msg("ERR value is out of range"))?;
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
            if v.eq_ignore_ascii_case(b"psync2") {
                if let Some(r) = c.repl.as_mut() {
                    r.capa_psync2 = true;
                }
            }
        } else if argv.is(j, "getack") {
            // Only meaningful from a master.
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

/// PSYNC <replid> <offset>: partial resync when possible, else full.
pub fn psync(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
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
                r.ack_offset = o.saturating_sub(1);
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
    let payload = crate::persistence::rdb::encode(srv).map_err(|e| {
        log::warn!("Full resync for {} failed: {e}", c.addr);
        CmdError::Other(format!("ERR full resync failed: {e}").into())
    })?;
    if psync.is_some() {
        c.out.extend_from_slice(
            format!("+FULLRESYNC {} {}\r\n", srv.repl.replid, srv.repl.offset).as_bytes(),
        );
    }
    c.out
        .extend_from_slice(format!("${}\r\n", payload.len()).as_bytes());
    c.out.extend_from_slice(&payload);
    // The replica loads a dataset with no database selected on the stream.
    srv.prop.stream_db = None;
    if let Some(r) = c.repl.as_mut() {
        r.online = true;
        r.ack_offset = srv.repl.offset;
    }
    log::info!(
        "Replica {} asks for synchronization: full resync, {} bytes of RDB sent from memory",
        c.addr,
        payload.len()
    );
    Ok(())
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
