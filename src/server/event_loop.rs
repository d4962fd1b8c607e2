//! The event loop: accept, read, parse, execute, write. One thread.
//!
//! Owns: everything that touches sockets. A loop turn is
//!   1. `poll` (sleeping at most until the next cron tick),
//!   2. for each ready socket: accept new clients, or read and run every
//!      complete command the client sent (replies are appended to its
//!      output buffer, not written yet),
//!   3. "before sleep": write all pending output, one `write` per client
//!      for however many replies it queued — at pipeline depth 16 that is
//!      one syscall for sixteen replies,
//!   4. cron work when its tick is due.
//!
//! Must never: add a syscall per request (sockets are registered once for
//! both readable and writable edge-triggered events, so no re-registration
//! is ever needed), read without bound from one client while others wait
//! (`READ_BUDGET_BYTES` per turn, then the client is revisited next turn),
//! or allocate in steady state (the shared read buffer is reused; most
//! requests are parsed in place from it).

use super::{Server, ShutdownReason, MAX_LISTENERS};
use crate::commands;
use crate::commands::Argv;
use crate::config::Config;
use crate::connection::{Client, ClientStream};
use crate::db::unix_ms;
use crate::resp::parser::Parsed;
use mio::net::{TcpListener, UnixListener};
use mio::{Events, Interest, Token};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// Size of one read (Redis reads 16 KiB at a time too).
pub const READ_CHUNK_BYTES: usize = 16 * 1024;
/// Most bytes read from one client in one loop turn before others get a go.
const READ_BUDGET_BYTES: usize = 1024 * 1024;
/// Most connections accepted per listener event (as Redis).
const ACCEPTS_PER_EVENT_MAX: usize = 1000;
/// Output buffers above this are released once drained, so a client that
/// once fetched a big value does not keep the memory.
const OUT_BUF_KEEP_BYTES: usize = 64 * 1024;
/// A client with this much unsent output stops being read (its requests
/// wait in the kernel's socket buffer) until half of it has drained. This
/// bounds the memory a client that pipelines big replies without reading
/// them can make us hold, even with no output-buffer limit configured
/// (Redis's default for normal clients), at the cost of nothing for
/// clients that read their replies.
pub const OUTPUT_PAUSE_BYTES: usize = 8 * 1024 * 1024;
/// Query buffers above this are released once empty.
const QUERY_BUF_KEEP_BYTES: usize = 64 * 1024;
const EVENTS_CAPACITY: usize = 1024;

/// Parse a `bind` entry into a socket address. Accepts Redis's spellings:
/// `*` (all IPv4), `::*` (all IPv6), and a leading `-` marking the address
/// optional (a failure to bind it is not fatal).
fn bind_addr(spec: &str, port: u16) -> Option<(SocketAddr, bool)> {
    let (optional, spec) = match spec.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, spec),
    };
    let ip: std::net::IpAddr = match spec {
        "*" => std::net::Ipv4Addr::UNSPECIFIED.into(),
        "::*" => std::net::Ipv6Addr::UNSPECIFIED.into(),
        "localhost" => std::net::Ipv4Addr::LOCALHOST.into(),
        other => other.parse().ok()?,
    };
    Some((SocketAddr::new(ip, port), optional))
}

/// Bind every configured address. Errors name the address.
pub fn bind_listeners(config: &Config) -> Result<Vec<TcpListener>, String> {
    let mut listeners = Vec::new();
    if config.port == 0 {
        return Ok(listeners);
    }
    // The last four listener tokens belong to the metrics endpoint, the
    // master link, the full-sync snapshot pipe and the Unix socket.
    for spec in config.bind.iter().take(MAX_LISTENERS - 4) {
        let Some((addr, optional)) = bind_addr(spec, config.port) else {
            return Err(format!("Invalid bind address '{spec}'"));
        };
        match TcpListener::bind(addr) {
            Ok(l) => {
                set_backlog(&l, config.tcp_backlog);
                listeners.push(l)
            }
            Err(e) if optional => {
                log::warn!("Could not bind optional address {addr}: {e}");
            }
            Err(e) => {
                return Err(format!(
                    "Could not create server TCP listening socket {addr}: {e}"
                ));
            }
        }
    }
    if listeners.is_empty() {
        return Err("Failed listening on any configured address".into());
    }
    Ok(listeners)
}

/// Token of the `unixsocket` listener.
pub const UNIX_LISTENER_TOKEN: usize = MAX_LISTENERS - 4;

/// Listen on `unixsocket` if one is configured: a stale file of that name
/// is removed first and the new one gets `unixsocketperm`, as Redis does.
pub fn bind_unix_listener(config: &Config) -> Result<Option<UnixListener>, String> {
    if config.unixsocket.is_empty() {
        return Ok(None);
    }
    let path = std::path::Path::new(&config.unixsocket);
    let _ = std::fs::remove_file(path);
    let listener =
        UnixListener::bind(path).map_err(|e| format!("Failed opening Unix socket: {e}"))?;
    if config.unixsocketperm != 0 {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(config.unixsocketperm);
        std::fs::set_permissions(path, mode)
            .map_err(|e| format!("Failed opening Unix socket: {e}"))?;
    }
    Ok(Some(listener))
}

/// Apply `tcp-backlog` (the standard library listens with its own fixed
/// backlog; listen() again on a listening socket changes it). The kernel
/// caps it at net.core.somaxconn; say so, as Redis does.
fn set_backlog(listener: &TcpListener, backlog: u64) {
    let backlog = backlog.min(i32::MAX as u64) as libc::c_int;
    // SAFETY: listen() on a socket we own and that is already bound.
    if unsafe { libc::listen(listener.as_raw_fd(), backlog) } != 0 {
        log::warn!(
            "Setting the TCP backlog to {backlog}: {}",
            io::Error::last_os_error()
        );
        return;
    }
    let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse::<libc::c_int>().ok());
    if let Some(max) = somaxconn.filter(|&m| m < backlog) {
        log::warn!("WARNING: The TCP backlog setting of {backlog} cannot be enforced because /proc/sys/net/core/somaxconn is set to the lower value of {max}.");
    }
}

fn set_keepalive(fd: i32, interval_secs: u64) {
    if interval_secs == 0 {
        return;
    }
    let yes: libc::c_int = 1;
    let idle = interval_secs.min(i32::MAX as u64) as libc::c_int;
    // SAFETY: plain setsockopt calls on a socket we own, with pointers to
    // live stack integers of the size we pass.
    unsafe {
        let sz = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            &yes as *const _ as *const libc::c_void,
            sz,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPIDLE,
            &idle as *const _ as *const libc::c_void,
            sz,
        );
        let intvl: libc::c_int = (idle / 3).max(1);
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPINTVL,
            &intvl as *const _ as *const libc::c_void,
            sz,
        );
        let cnt: libc::c_int = 3;
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPCNT,
            &cnt as *const _ as *const libc::c_void,
            sz,
        );
    }
}

impl Server {
    /// Run until SHUTDOWN or SIGTERM/SIGINT.
    pub fn run(&mut self) -> io::Result<ShutdownReason> {
        for (i, l) in self.listeners.iter_mut().enumerate() {
            self.poll.registry().register(
                l,
                Token(super::LISTENER_TOKEN_BASE + i),
                Interest::READABLE,
            )?;
        }
        if let Some(l) = self.unix_listener.as_mut() {
            self.poll
                .registry()
                .register(l, Token(UNIX_LISTENER_TOKEN), Interest::READABLE)?;
        }
        self.metrics.listener = super::http::bind(&self.config).map_err(io::Error::other)?;
        self.register_metrics_listener()?;
        let mut events = Events::with_capacity(EVENTS_CAPACITY);
        let mut next_cron = Instant::now();
        loop {
            let now = Instant::now();
            let mut timeout = if !self.pending_reads.is_empty() || self.busy_loop.has_deferred() {
                Duration::ZERO
            } else {
                next_cron.saturating_duration_since(now)
            };
            // Wake for the nearest blocked client's deadline, not just the
            // next cron tick: that gives BLPOP timeouts ms precision.
            if let Some(deadline) = self.blocking.next_deadline() {
                timeout = timeout.min(deadline.saturating_duration_since(now));
            }
            if let Some((end_ms, _)) = self.pause {
                // Wake exactly when a CLIENT PAUSE ends (no busy loop).
                let left = (end_ms - unix_ms()).max(0) as u64;
                timeout = timeout.min(Duration::from_millis(left));
            }
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            self.ks.now_ms = unix_ms();
            // Loop-stall measurement: one clock read per turn, only while
            // the latency monitor is on.
            let turn_start = (self.config.latency_monitor_threshold > 0).then(Instant::now);
            if self
                .pause
                .is_some_and(|(end_ms, _)| self.ks.now_ms >= end_ms)
            {
                self.unpause_clients();
            }
            self.loop_batch.clear();
            for ev in events.iter() {
                let closed = ev.is_read_closed() || ev.is_error();
                self.loop_batch.push((
                    ev.token(),
                    ev.is_readable() || closed,
                    closed,
                    ev.is_writable(),
                ));
            }
            // By index: a busy script's step may take the events after the
            // one being handled (busy_loop.rs), which ends this loop early.
            self.loop_batch_pos = 0;
            while let Some(&(token, readable, closed, writable)) =
                self.loop_batch.get(self.loop_batch_pos)
            {
                self.loop_batch_pos += 1;
                self.handle_event(token, readable, closed, writable);
            }
            self.loop_batch.clear();
            // Events a busy script's loop steps left for now (busy_loop.rs).
            self.replay_busy_deferred();
            // Clients that exhausted their read budget last turn.
            if !self.pending_reads.is_empty() {
                let pending = std::mem::take(&mut self.pending_reads);
                for slot in pending {
                    self.handle_readable(slot, false);
                }
            }
            if Instant::now() >= next_cron {
                self.cron();
                let period_ms = 1000 / u64::from(self.effective_hz());
                next_cron = Instant::now() + Duration::from_millis(period_ms);
            }
            self.before_sleep();
            if let Some(t) = turn_start {
                self.latency_sample("event-loop", t.elapsed().as_millis() as u64);
            }
            // Signals, and a shutdown waiting for replicas (shutdown.rs).
            self.shutdown_tick();
            if let Some(reason) = self.shutdown_requested {
                return Ok(reason);
            }
        }
    }

    /// One readiness event. `closed`: the peer's FIN (or an error) came
    /// with it.
    pub(crate) fn handle_event(
        &mut self,
        token: Token,
        readable: bool,
        closed: bool,
        writable: bool,
    ) {
        if token == crate::replication::replica::MASTER_LINK_TOKEN {
            self.master_link_event();
            return;
        }
        if token == crate::replication::snapshot_child::SNAPSHOT_PIPE_TOKEN {
            // The snapshot child wrote: before_sleep reads it.
            return;
        }
        if token.0 >= super::http::CONN_TOKEN_BASE {
            self.metrics_ready(token.0 - super::http::CONN_TOKEN_BASE);
            return;
        }
        if token.0 == super::http::LISTENER_TOKEN && self.metrics.listener.is_some() {
            self.accept_metrics();
            return;
        }
        if token.0 == UNIX_LISTENER_TOKEN {
            self.accept_unix_clients();
            return;
        }
        if token.0 < MAX_LISTENERS {
            self.accept_clients(token.0);
            return;
        }
        let slot = token.0 - MAX_LISTENERS;
        if readable {
            self.handle_readable(slot, closed);
        }
        if writable {
            self.queue_write(slot);
        }
    }

    pub(crate) fn accept_clients(&mut self, listener_idx: usize) {
        for _ in 0..ACCEPTS_PER_EVENT_MAX {
            let Some(listener) = self.listeners.get(listener_idx) else {
                return;
            };
            let (mut stream, peer) = match listener.accept() {
                Ok(x) => x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warn!("Accepting client connection: {e}");
                    return;
                }
            };
            self.stats.total_connections_received += 1;
            if crate::acl::protected_mode_denies(
                self.config.protected_mode,
                self.acl.default_user().borrow().nopass,
                peer.ip(),
            ) {
                // Counted as a rejection, as Redis. Best effort on a
                // fresh socket, then closed (dropped).
                self.stats.rejected_connections += 1;
                let _ = stream.write(crate::errors::PROTECTED_MODE_DENIED);
                continue;
            }
            let _ = stream.set_nodelay(true);
            set_keepalive(stream.as_raw_fd(), self.config.tcp_keepalive);
            let laddr = stream
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default();
            self.add_client(ClientStream::Tcp(stream), peer.to_string(), laddr);
        }
    }

    /// Accept on the `unixsocket` listener: local clients, so protected
    /// mode does not apply; Redis names both ends `path:0`.
    pub(crate) fn accept_unix_clients(&mut self) {
        for _ in 0..ACCEPTS_PER_EVENT_MAX {
            let Some(listener) = self.unix_listener.as_ref() else {
                return;
            };
            let stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warn!("Accepting client connection: {e}");
                    return;
                }
            };
            self.stats.total_connections_received += 1;
            let name = format!("{}:0", self.config.unixsocket);
            self.add_client(ClientStream::Unix(stream), name.clone(), name);
        }
    }

    /// Take an accepted connection into the client table, unless
    /// `maxclients` is reached.
    fn add_client(&mut self, mut stream: ClientStream, peer: String, laddr: String) {
        if self.connected_clients as u64 >= self.config.maxclients {
            self.stats.rejected_connections += 1;
            // Best effort, as Redis: the socket is fresh, so the short
            // error fits in its send buffer.
            let _ = stream.write(b"-ERR max number of clients reached\r\n");
            return;
        }
        let slot = self.free_tokens.pop().unwrap_or_else(|| {
            self.clients.push(None);
            self.clients.len() - 1
        });
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            Token(MAX_LISTENERS + slot),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            log::warn!("Registering client {peer}: {e}");
            self.free_tokens.push(slot);
            return;
        }
        let id = self.next_client_id;
        self.next_client_id += 1;
        let authenticated = self.acl.default_autoauth();
        let mut client = Client::new(
            id,
            slot,
            stream,
            (peer, laddr),
            self.config.proto_max_bulk_len,
            self.ks.now_ms,
            authenticated,
        );
        client.user = Some(self.acl.default_user());
        log::debug!("Accepted {} as client id={id}", client.addr);
        self.clients[slot] = Some(Box::new(client));
        self.connected_clients += 1;
    }

    /// Read what the client sent and run every complete command in it.
    /// `peer_closed`: the event already reported the peer's FIN (or an
    /// error), so no further edge will come; read until EOF instead of
    /// stopping at a short read.
    pub(crate) fn handle_readable(&mut self, slot: usize, peer_closed: bool) {
        let Some(mut c) = self.clients.get_mut(slot).and_then(|c| c.take()) else {
            return;
        };
        let mut rbuf = std::mem::take(&mut self.read_buf);
        let mut budget = READ_BUDGET_BYTES;
        if c.resume_input {
            // Back from an output pause: run what was already read first;
            // the socket may have nothing new to wake us up.
            c.resume_input = false;
            self.process_query_buffer(&mut c);
        }
        loop {
            if c.close_asap
                || c.close_after_reply
                || c.read_paused
                || c.pause_blocked
                || self.shutdown_requested.is_some()
            {
                break;
            }
            let direct = c.query.is_empty() && !c.parser.in_progress();
            let Some(stream) = c.stream.as_mut() else {
                c.close_asap = true;
                break;
            };
            let res = if direct {
                stream.read(&mut rbuf)
            } else {
                let old = c.query.len();
                c.query.resize(old + READ_CHUNK_BYTES, 0);
                let r = stream.read(&mut c.query[old..]);
                let n = *r.as_ref().unwrap_or(&0);
                c.query.truncate(old + n);
                r
            };
            let n = match res {
                Ok(0) => {
                    c.close_asap = true;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::debug!("Reading from client id={}: {e}", c.id);
                    c.close_asap = true;
                    break;
                }
            };
            self.stats.net_input_bytes += n as u64;
            self.stats.total_reads_processed += 1;
            c.net_in_bytes += n as u64;
            c.last_interaction_ms = self.ks.now_ms;
            if direct {
                let consumed = self.process_input(&mut c, &rbuf[..n]);
                if consumed < n && !c.close_asap && !c.close_after_reply {
                    c.query.extend_from_slice(&rbuf[consumed..n]);
                }
            } else {
                self.process_query_buffer(&mut c);
            }
            if c.query.len() as u64 > self.config.client_query_buffer_limit {
                log::warn!(
                    "Closing client that reached max query buffer length: id={} addr={} qbuf={}",
                    c.id,
                    c.addr,
                    c.query.len()
                );
                self.stats.client_query_buffer_limit_disconnections += 1;
                c.close_asap = true;
                break;
            }
            // A short read means the socket's receive queue was empty at
            // that moment; with edge-triggered epoll, any byte (or FIN)
            // arriving later raises a new event. Stopping here saves the
            // read() that would only return EAGAIN: one read per request
            // at pipeline depth 1, the floor. A FIN that arrived before
            // the event was reported raises no new edge, hence
            // `peer_closed`.
            if n < READ_CHUNK_BYTES && !peer_closed {
                break;
            }
            budget = budget.saturating_sub(n);
            if budget == 0 {
                self.pending_reads.push(slot);
                break;
            }
        }
        self.read_buf = rbuf;
        self.finish_client_turn(slot, c);
    }

    /// Run the complete commands buffered in the client's own query
    /// buffer (input that arrived in pieces, or while it was blocked).
    pub(crate) fn process_query_buffer(&mut self, c: &mut Client) {
        let q = std::mem::take(&mut c.query);
        let consumed = self.process_input(c, &q);
        c.query = q;
        c.query.drain(..consumed);
        if c.query.is_empty() && c.query.capacity() > QUERY_BUF_KEEP_BYTES {
            c.query = Vec::new();
        }
    }

    /// Enforce client-output-buffer-limit for normal clients (subscribers
    /// are checked on every delivery, see pubsub.rs).
    fn check_output_limit(&mut self, c: &mut Client) {
        // Replicas are checked as the stream is appended (replication/
        // mod.rs) against their own class; subscribers on delivery.
        if c.is_subscribed() || c.repl.is_some() {
            return;
        }
        let l = self.config.client_output_buffer_limit[0];
        crate::pubsub::enforce_output_limit(
            c,
            (l.hard_bytes, l.soft_bytes, l.soft_seconds),
            self.ks.now_ms,
            &mut self.stats.client_output_buffer_limit_disconnections,
        );
    }

    /// Put a client back in the table after it ran commands, or free it.
    pub(crate) fn finish_client_turn(&mut self, slot: usize, mut c: Box<Client>) {
        if c.has_pending_output() {
            self.check_output_limit(&mut c);
        }
        if c.close_asap {
            self.free_client(c);
            return;
        }
        if c.has_pending_output() && !c.pending_write {
            c.pending_write = true;
            self.pending_writes.push(slot);
        }
        self.note_client_memory(&mut c);
        self.clients[slot] = Some(c);
        if self.client_mem.tracking {
            self.evict_clients_if_needed();
        }
    }

    /// Parse and execute complete commands in `buf`; returns bytes used.
    pub fn process_input(&mut self, c: &mut Client, buf: &[u8]) -> usize {
        let mut off = 0;
        // Requests before this offset had their keys prefetched already.
        let mut prefetched = 0;
        // When the previous request of this batch finished (0: unknown).
        let mut chained_ns = 0;
        while off < buf.len() {
            if c.close_after_reply || c.close_asap || self.shutdown_requested.is_some() {
                // Redis stops processing a client's pipeline after QUIT or a
                // protocol error; the rest of its input is discarded.
                return buf.len();
            }
            if c.wait_blocked {
                // In WAIT: the rest of the pipeline runs once it ends.
                return off;
            }
            if c.pending_output_bytes() >= OUTPUT_PAUSE_BYTES {
                // Backpressure: keep the rest for when the client reads.
                c.read_paused = true;
                return off;
            }
            if c.blocked.is_some() {
                // A blocked client's later commands wait in its query
                // buffer until it is unblocked (blocking.rs replays them).
                return off;
            }
            if off >= prefetched && !c.parser.in_progress() {
                prefetched = off + self.ks.prefetch_pipeline(c.db, &buf[off..]);
                // The prefetch's stalls belong to no request.
                chained_ns = 0;
            }
            match c.parser.parse(&buf[off..]) {
                Ok(Parsed::Command { consumed, inline }) => {
                    let (ranges, scratch) = c.parser.take_args();
                    let argv = if inline {
                        Argv::new(&scratch, &ranges)
                    } else if c.parser.last_is_canonical() {
                        Argv::with_raw(&buf[off..], &ranges, &buf[off..off + consumed])
                    } else {
                        Argv::new(&buf[off..], &ranges)
                    };
                    // CLIENT PAUSE: one branch when no pause is on. A held
                    // command stays unconsumed (re-parsed when the pause
                    // ends) and the client is not read meanwhile.
                    if (self.pause.is_some() || self.failover_pause) && self.must_pause(c, &argv) {
                        c.parser.restore_args(ranges, scratch);
                        c.pause_blocked = true;
                        self.paused_clients.push(c.token);
                        return off;
                    }
                    self.cmd_start_hint_ns = chained_ns;
                    commands::call(self, c, &argv);
                    chained_ns = self.cmd_end_ns;
                    c.parser.restore_args(ranges, scratch);
                    off += consumed;
                    // Serve clients blocked on keys this command created,
                    // before the next command runs (as Redis does).
                    // (Not from a busy script's loop step: the script's
                    // own commands signalled those keys, mid-script.)
                    if self.ks.blocked.has_ready() && !self.scripting.is_busy() {
                        self.handle_ready_keys();
                        chained_ns = 0;
                    }
                }
                Ok(Parsed::Empty { consumed }) => off += consumed,
                Ok(Parsed::Incomplete) => break,
                Err(e) => {
                    let msg = format!("ERR {}", e.message());
                    log::debug!(
                        "Protocol error from client id={} addr={}: {}",
                        c.id,
                        c.addr,
                        msg
                    );
                    self.stats.count_error(&msg);
                    c.reply().error(&msg);
                    c.close_after_reply = true;
                    return buf.len();
                }
            }
        }
        off
    }

    pub(crate) fn queue_write(&mut self, slot: usize) {
        if let Some(Some(c)) = self.clients.get_mut(slot) {
            if c.has_pending_output() && !c.pending_write {
                c.pending_write = true;
                self.pending_writes.push(slot);
            }
        }
    }

    /// Write queued replies. One `write` per client covers every reply it
    /// accumulated this turn.
    ///
    /// The AOF goes first: one write (and, with `appendfsync always`, one
    /// fsync) covers every client's writes of this turn — group commit —
    /// and only then may their replies go out. If the log could not be
    /// written, clients whose replies acknowledge a logged write are held
    /// (`aof_held`) until a later flush succeeds; everyone else is served.
    pub(crate) fn before_sleep(&mut self) {
        if self.blocking.clients > 0 || self.blocking.has_unblocked() {
            self.ks.now_ms = unix_ms();
            self.handle_blocked_timeouts();
            self.handle_ready_keys();
            self.process_unblocked_clients();
        }
        self.replication_before_sleep();
        // CLIENT TRACKING: BCAST batches (one message per prefix per loop
        // turn, as Redis) and invalidations raised outside a command
        // (active expiry, a replica applying its master's stream).
        if self.ks.tracking.total_prefixes() > 0 && self.ks.tracking.has_broadcast_pending() {
            self.ks.tracking.broadcast();
        }
        if !self.ks.tracking.outbox.is_empty() {
            crate::commands::connection::deliver_invalidations(self, None);
        }
        let aof_ok = self.flush_aof() || self.aof_durable();
        if aof_ok && !self.aof_held.is_empty() {
            for slot in std::mem::take(&mut self.aof_held) {
                self.queue_write(slot);
            }
        }
        self.write_pending_clients(aof_ok);
        // After the writes: what is left unsent is what clients hold.
        self.evict_clients_if_needed();
    }

    /// Write the output of every client queued in `pending_writes` (those
    /// whose replies wait for the AOF stay queued unless `aof_ok`). The
    /// client running a script is outside the table: it stays queued.
    pub(crate) fn write_pending_clients(&mut self, aof_ok: bool) {
        let running_slot = self.scripting.running().map(|r| r.client_slot);
        let pending = std::mem::take(&mut self.pending_writes);
        for &slot in &pending {
            let Some(mut c) = self.clients.get_mut(slot).and_then(|c| c.take()) else {
                if running_slot == Some(slot) {
                    self.pending_writes.push(slot);
                }
                continue;
            };
            c.pending_write = false;
            if c.aof_wait {
                if !aof_ok {
                    self.aof_held.push(slot);
                    self.clients[slot] = Some(c);
                    continue;
                }
                c.aof_wait = false;
            }
            let done = !c.close_asap && self.write_client(&mut c);
            if c.close_asap || (done && c.close_after_reply) {
                self.free_client(c);
            } else {
                if c.read_paused && c.pending_output_bytes() < OUTPUT_PAUSE_BYTES / 2 {
                    c.read_paused = false;
                    c.resume_input = true;
                    self.pending_reads.push(slot);
                }
                self.note_client_memory(&mut c);
                self.clients[slot] = Some(c);
            }
        }
        // Reuse the list's allocation for the next turn.
        let mut pending = pending;
        pending.clear();
        if self.pending_writes.is_empty() {
            self.pending_writes = pending;
        }
    }

    /// Write as much pending output as the socket takes. Returns true when
    /// everything was written.
    fn write_client(&mut self, c: &mut Client) -> bool {
        if c.stream.is_none() {
            c.close_asap = true;
            return false;
        }
        if c.repl.is_some() {
            // A replica in a full sync: its payload goes first, and after
            // an EOF-marker payload the stream waits for its first ACK.
            let mut written = 0;
            let res = match c.stream.as_mut() {
                Some(s) => crate::replication::master::write_transfer(
                    c.addr.as_str(),
                    c.repl.as_deref_mut(),
                    s,
                    &mut written,
                ),
                None => Ok(false),
            };
            c.net_out_bytes += written;
            self.stats.net_output_bytes += written;
            match res {
                Ok(true) => {}
                Ok(false) => return false,
                Err(e) => {
                    log::warn!("Sending the full sync payload to replica {}: {e}", c.addr);
                    c.close_asap = true;
                    return false;
                }
            }
        }
        let Some(stream) = c.stream.as_mut() else {
            c.close_asap = true;
            return false;
        };
        if !c.reply_buf_big && c.out.capacity() > OUT_BUF_KEEP_BYTES {
            // INFO reply_buffer_expands: this reply buffer grew past what
            // is kept between turns.
            c.reply_buf_big = true;
            self.stats.reply_buffer_expands += 1;
        }
        while c.out_pos < c.out.len() {
            match stream.write(&c.out[c.out_pos..]) {
                Ok(0) => {
                    c.close_asap = true;
                    return false;
                }
                Ok(n) => {
                    c.out_pos += n;
                    c.net_out_bytes += n as u64;
                    self.stats.net_output_bytes += n as u64;
                    self.stats.total_writes_processed += 1;
                }
                // The writable edge event will queue the client again.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::debug!("Writing to client id={}: {e}", c.id);
                    c.close_asap = true;
                    return false;
                }
            }
        }
        c.out.clear();
        c.out_pos = 0;
        if c.out.capacity() > OUT_BUF_KEEP_BYTES {
            c.out = Vec::new();
            c.reply_buf_big = false;
            self.stats.reply_buffer_shrinks += 1;
        }
        true
    }

    pub fn free_client(&mut self, mut c: Box<Client>) {
        let slot = c.token;
        self.forget_client_memory(&mut c);
        crate::commands::pubsub::unsubscribe_all(self, &mut c);
        crate::commands::tx::unwatch_all(self, &mut c);
        crate::commands::connection::disable_tracking(self, &mut c);
        // A blocked client leaves every wait queue and the deadline table.
        self.forget_blocked(&mut c);
        if c.monitor {
            self.remove_monitor(slot);
        }
        self.detach_replica(&c);
        log::debug!("Client closed connection id={} addr={}", c.id, c.addr);
        if let Some(entry) = self.clients.get_mut(slot) {
            *entry = None;
        }
        self.free_tokens.push(slot);
        self.connected_clients = self.connected_clients.saturating_sub(1);
        // Dropping the stream closes the socket, which also removes it from
        // the epoll set: no explicit deregister syscall needed.
        drop(c);
    }

    /// Close a client found in the table (CLIENT KILL, timeouts).
    pub fn close_client_in_table(&mut self, slot: usize) {
        if let Some(c) = self.clients.get_mut(slot).and_then(|c| c.take()) {
            self.free_client(c);
        }
    }
}
