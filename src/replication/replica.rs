//! The replica side: following a master.
//!
//! Owns: REPLICAOF/SLAVEOF, ROLE, and the link to the master: a
//! non-blocking mio socket driven by the event loop through a state
//! machine
//!   Connecting -> WaitPong -> Handshake (AUTH, REPLCONF listening-port,
//!   REPLCONF capa psync2, PSYNC, one at a time) -> Transfer (the `$len` RDB
//!   payload) -> Connected (the command stream).
//! In Connected, each command of the stream runs through the normal
//! dispatcher as the "master client" (its replies are discarded, it may
//! write although we are read-only), and its raw bytes are passed on to
//! our own backlog and replicas, so a replica of us sees the same stream
//! and offsets (chained replication, PSYNC2 after a promotion).
//!
//! Must never: block (connect is non-blocking; host names other than
//! `localhost` are resolved in a helper thread, see `master_address`), allocate ahead of
//! data the master sent (the payload buffer grows as bytes arrive and its
//! announced length is capped), or answer the master's commands.
//!
//! Invariants: `srv.repl.offset` is the offset of the last stream byte
//! applied; the link exists only while `config.replicaof` is set.

use crate::commands::{self, Argv};
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
use crate::replication::failover::FailoverState;
use crate::resp::parser::{Parsed, Parser};
use crate::server::Server;
use mio::net::TcpStream;
use mio::{Interest, Token};
use std::io::{self, Read, Write};

/// A master host name being resolved by a helper thread.
pub struct Resolving {
    host: String,
    port: u16,
    rx: std::sync::mpsc::Receiver<Option<std::net::SocketAddr>>,
}

/// The event loop token of the master link (below the client tokens,
/// after the listeners; the metrics listener has the last one).
pub const MASTER_LINK_TOKEN: Token = Token(crate::server::MAX_LISTENERS - 2);
/// Largest RDB payload we accept from a master (a length above this is
/// refused before reading any of it).
pub const MAX_SYNC_PAYLOAD_BYTES: u64 = 64 << 30;
/// Length of the random mark that ends a diskless (`$EOF:`) payload.
pub const EOF_MARK_LEN: usize = 40;
/// Longest status line of the handshake.
const MAX_LINE_BYTES: usize = 4096;
/// Read granularity and the most stream bytes read per loop turn.
const READ_CHUNK: usize = 16 * 1024;
const READ_BUDGET: usize = 1024 * 1024;
/// Unsent bytes to the master (handshake, ACKs) above which the link is
/// considered dead.
const MAX_LINK_OUT_BYTES: usize = 64 * 1024;

/// What a handshake command's reply means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Auth,
    Replconf,
    Psync,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    WaitPong,
    /// Waiting for the reply to the handshake command `steps[0]`. One
    /// at a time: Redis refuses PSYNC while earlier replies are unsent.
    Handshake,
    /// Reading `$len` (None) or the payload of that length.
    Transfer {
        len: Option<u64>,
    },
    /// Reading a diskless payload that ends with this 40-byte mark
    /// (`$EOF:<mark>`): its length is not known in advance.
    TransferEof {
        mark: [u8; EOF_MARK_LEN],
    },
    Connected,
}

pub struct MasterLink {
    /// None for a detached link (`feed_detached`): input is handed in,
    /// output is dropped.
    stream: Option<TcpStream>,
    pub state: LinkState,
    inbuf: Vec<u8>,
    /// Bytes at the front of `inbuf` already run but not yet counted: a
    /// MULTI and the commands queued after it, waiting for their EXEC.
    in_multi: usize,
    out: Vec<u8>,
    payload: Vec<u8>,
    /// Handshake commands still to send, in order (front first).
    steps: std::collections::VecDeque<(Step, Vec<Vec<u8>>)>,
    parser: Parser,
    client: Box<Client>,
    pub last_io_ms: i64,
    last_ack_ms: i64,
    started_ms: i64,
    /// The +FULLRESYNC id and offset, adopted only once the payload has
    /// loaded: a link lost before that must not offer a history whose
    /// data we never received (the master would "continue" it).
    fullresync: Option<(String, u64)>,
}

impl MasterLink {
    /// A link in `state` with empty buffers, its clock started at `now_ms`.
    fn new(
        stream: Option<TcpStream>,
        state: LinkState,
        client: Box<Client>,
        proto_max_bulk_len: u64,
        now_ms: i64,
    ) -> MasterLink {
        MasterLink {
            stream,
            state,
            inbuf: Vec::new(),
            in_multi: 0,
            out: Vec::new(),
            payload: Vec::new(),
            steps: Default::default(),
            parser: Parser::new(proto_max_bulk_len),
            client,
            last_io_ms: now_ms,
            last_ack_ms: 0,
            started_ms: now_ms,
            fullresync: None,
        }
    }

    pub fn is_connected(&self) -> bool {
        self.state == LinkState::Connected
    }

    /// The database our master's stream is positioned on (while
    /// connected).
    pub fn stream_db(&self) -> Option<usize> {
        self.is_connected().then_some(self.client.db)
    }

    /// Receiving the full-sync payload (INFO master_sync_in_progress).
    pub fn in_transfer(&self) -> bool {
        matches!(
            self.state,
            LinkState::Transfer { .. } | LinkState::TransferEof { .. }
        )
    }

    /// ROLE's state word.
    pub fn role_state(&self) -> &'static str {
        match self.state {
            LinkState::Connecting => "connecting",
            LinkState::WaitPong | LinkState::Handshake => "handshake",
            LinkState::Transfer { .. } | LinkState::TransferEof { .. } => "sync",
            LinkState::Connected => "connected",
        }
    }

    fn send(&mut self, args: &[&[u8]]) {
        crate::persistence::propagate::encode_command(&mut self.out, args.iter().copied());
    }

    /// Send the next handshake command.
    fn send_step(&mut self) {
        if let Some((_, args)) = self.steps.front() {
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            crate::persistence::propagate::encode_command(&mut self.out, args.into_iter());
        }
    }

    /// Write what is queued. Err: the link is dead.
    fn flush(&mut self) -> io::Result<()> {
        let Some(stream) = self.stream.as_mut() else {
            self.out.clear();
            return Ok(());
        };
        while !self.out.is_empty() {
            match stream.write(&self.out) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        if self.out.len() > MAX_LINK_OUT_BYTES {
            return Err(io::Error::other("master does not read"));
        }
        Ok(())
    }

    /// Take one CRLF-terminated line from the input, if complete.
    fn take_line(&mut self) -> Result<Option<String>, String> {
        let Some(pos) = self.inbuf.iter().position(|&b| b == b'\n') else {
            if self.inbuf.len() > MAX_LINE_BYTES {
                return Err("line from master too long".into());
            }
            return Ok(None);
        };
        let line = String::from_utf8_lossy(&self.inbuf[..pos])
            .trim_end_matches('\r')
            .to_string();
        self.inbuf.drain(..=pos);
        Ok(Some(line))
    }
}

impl Server {
    /// Start connecting to the configured master (cron retries it).
    pub fn connect_to_master(&mut self) {
        let Some((host, port)) = self.config.replicaof.clone() else {
            return;
        };
        let Some(addr) = self.master_address(&host, port) else {
            return; // resolving, or failed (logged): cron tries again
        };
        let mut stream = match TcpStream::connect(addr) {
            Ok(s) => s,
            Err(e) => {
                log::warn!("Unable to connect to MASTER: {e}");
                return;
            }
        };
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            MASTER_LINK_TOKEN,
            Interest::READABLE | Interest::WRITABLE,
        ) {
            log::warn!("Registering the master link: {e}");
            return;
        }
        let _ = stream.set_nodelay(true);
        let mut client = self
            .repl
            .cached_master
            .take()
            .unwrap_or_else(|| Box::new(Client::new_fake(0)));
        client.is_master = true;
        client.addr = format!("{host}:{port}");
        log::info!("Connecting to MASTER {host}:{port}");
        self.repl.link = Some(MasterLink::new(
            Some(stream),
            LinkState::Connecting,
            client,
            self.config.proto_max_bulk_len,
            self.ks.now_ms,
        ));
    }

    /// The master's socket address, without blocking the loop: numeric
    /// addresses and `localhost` at once; other names are resolved by a
    /// helper thread (one at a time) whose answer a later cron tick
    /// collects.
    fn master_address(&mut self, host: &str, port: u16) -> Option<std::net::SocketAddr> {
        use std::net::{IpAddr, Ipv4Addr, SocketAddr};
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Some(SocketAddr::new(ip, port));
        }
        if host.eq_ignore_ascii_case("localhost") {
            return Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
        }
        if let Some(r) = self.repl.resolving.take() {
            if r.host == host && r.port == port {
                match r.rx.try_recv() {
                    Ok(Some(a)) => return Some(a),
                    Ok(None) | Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                        log::warn!("Unable to resolve master address {host}:{port}");
                        return None;
                    }
                    Err(std::sync::mpsc::TryRecvError::Empty) => {
                        self.repl.resolving = Some(r);
                        return None;
                    }
                }
            }
            // A lookup for a previous master: its answer is dropped.
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let name = host.to_string();
        let spawned = std::thread::Builder::new()
            .name("resolve-master".into())
            .spawn(move || {
                let addr = std::net::ToSocketAddrs::to_socket_addrs(&(name.as_str(), port))
                    .ok()
                    .and_then(|mut a| a.next());
                let _ = tx.send(addr);
            });
        if let Err(e) = spawned {
            log::warn!("Resolving master address {host}: {e}");
            return None;
        }
        self.repl.resolving = Some(Resolving {
            host: host.to_string(),
            port,
            rx,
        });
        None
    }

    /// Drop the link (cron reconnects while `replicaof` is set). The
    /// replication id and offset stay: the next PSYNC asks to continue.
    pub fn drop_master_link(&mut self, why: &str) {
        if let Some(mut link) = self.repl.link.take() {
            log::warn!("Connection with master lost: {why}");
            if let Some(stream) = link.stream.as_mut() {
                let _ = self.poll.registry().deregister(stream);
            }
            // The offset stops before an unfinished transaction, which a
            // continuing master sends again from its MULTI.
            link.client.multi = None;
            if link.is_connected() {
                self.repl.link_down_since_ms = self.ks.now_ms;
            }
            // Also after a failed attempt to reconnect (refused, an error
            // in the handshake, a transfer cut short): the next attempt
            // still asks to continue, so it needs the client that knows the
            // stream's database. Redis keeps its cached master too.
            if link.is_connected() || self.repl.psync_cached {
                self.repl.cached_master = Some(link.client);
            }
        }
    }

    /// The event loop reports activity on the master link.
    pub fn master_link_event(&mut self) {
        let Some(mut link) = self.repl.link.take() else {
            return;
        };
        let res = self.drive_link(&mut link);
        if self.repl.ack_now {
            self.repl.ack_now = false;
            send_ack(self, &mut link);
        }
        let res = res.and_then(|()| link.flush().map_err(|e| e.to_string()));
        if self.config.replicaof.is_none() || self.repl.link.is_some() {
            // The role changed while the stream ran: this link is over.
            if let Some(stream) = link.stream.as_mut() {
                let _ = self.poll.registry().deregister(stream);
            }
            return;
        }
        self.repl.link = Some(link);
        if let Err(e) = res {
            self.drop_master_link(&e);
            self.abort_failover_if_rejected();
        }
    }

    fn drive_link(&mut self, link: &mut MasterLink) -> Result<(), String> {
        let Some(stream) = link.stream.as_mut() else {
            return Ok(()); // detached: input arrives through feed_detached
        };
        if link.state == LinkState::Connecting {
            match stream.take_error() {
                Ok(Some(e)) | Err(e) => {
                    return Err(format!("Error condition on socket for SYNC: {e}"))
                }
                Ok(None) => {}
            }
            if stream.peer_addr().is_err() {
                return Ok(()); // still connecting
            }
            log::info!("MASTER <-> REPLICA sync started");
            link.send(&[b"PING"]);
            link.state = LinkState::WaitPong;
        }
        let mut budget = READ_BUDGET;
        let mut chunk = [0u8; READ_CHUNK];
        while let Some(stream) = link.stream.as_mut() {
            let n = match stream.read(&mut chunk) {
                Ok(0) => return Err("master closed the connection".into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.to_string()),
            };
            link.last_io_ms = self.ks.now_ms;
            self.stats.net_input_bytes += n as u64;
            link.inbuf.extend_from_slice(&chunk[..n]);
            self.process_link_input(link)?;
            budget = budget.saturating_sub(n);
            if budget == 0 {
                // Let clients have a turn; cron re-drives the link.
                break;
            }
        }
        Ok(())
    }

    /// Run `chunks` through the master-link state machine as if each had
    /// arrived in one read from a master, starting where a real link
    /// stands after sending PING (WaitPong): handshake replies, then
    /// +FULLRESYNC/+CONTINUE, the `$len` payload, the command stream. No
    /// socket is involved and what the link would send is dropped. Used by
    /// the fuzz target and property tests through `server::offline`; the
    /// event loop never calls it. Returns the error the link would have
    /// been dropped for.
    pub fn feed_detached_master_link(&mut self, chunks: &[&[u8]]) -> Result<(), String> {
        let mut client = Box::new(Client::new_fake(0));
        client.is_master = true;
        let mut link = MasterLink::new(
            None,
            LinkState::WaitPong,
            client,
            self.config.proto_max_bulk_len,
            self.ks.now_ms,
        );
        for chunk in chunks {
            if self.config.replicaof.is_none() {
                break; // REPLICAOF NO ONE in the stream ended the link
            }
            link.inbuf.extend_from_slice(chunk);
            self.process_link_input(&mut link)?;
            link.flush().map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn process_link_input(&mut self, link: &mut MasterLink) -> Result<(), String> {
        // Every state transition consumes input or returns; bounded by
        // the input's length.
        for _ in 0..=link.inbuf.len() + 8 {
            match link.state {
                LinkState::Connecting => return Ok(()),
                LinkState::WaitPong => {
                    let Some(line) = link.take_line()? else {
                        return Ok(());
                    };
                    // Redis accepts an authentication error here: AUTH
                    // follows.
                    if line.starts_with('-')
                        && !line.starts_with("-NOAUTH")
                        && !line.starts_with("-NOPERM")
                        && !line.starts_with("-ERR operation not permitted")
                    {
                        return Err(format!("Error reply to PING from master: '{line}'"));
                    }
                    let mut steps = std::collections::VecDeque::new();
                    // AUTH [masteruser] masterauth: without a password
                    // there is no AUTH, whatever the user (as Redis).
                    if !self.config.masterauth.is_empty() {
                        let mut auth = vec![b"AUTH".to_vec()];
                        if !self.config.masteruser.is_empty() {
                            auth.push(self.config.masteruser.clone().into_bytes());
                        }
                        auth.push(self.config.masterauth.clone().into_bytes());
                        steps.push_back((Step::Auth, auth));
                    }
                    let port = if self.config.replica_announce_port > 0 {
                        self.config.replica_announce_port.to_string()
                    } else {
                        self.config.port.to_string()
                    };
                    let words = |w: &[&[u8]]| w.iter().map(|a| a.to_vec()).collect::<Vec<_>>();
                    steps.push_back((
                        Step::Replconf,
                        words(&[b"REPLCONF", b"listening-port", port.as_bytes()]),
                    ));
                    // The address the master (and Sentinel, through the
                    // master's INFO slaveN lines) should use for us.
                    if !self.config.replica_announce_ip.is_empty() {
                        let ip = self.config.replica_announce_ip.as_bytes();
                        steps.push_back((Step::Replconf, words(&[b"REPLCONF", b"ip-address", ip])));
                    }
                    steps.push_back((
                        Step::Replconf,
                        words(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]),
                    ));
                    let (id, off) = if self.repl.psync_cached {
                        (self.repl.replid.clone(), (self.repl.offset + 1).to_string())
                    } else {
                        ("?".to_string(), "-1".to_string())
                    };
                    let mut psync = words(&[b"PSYNC", id.as_bytes(), off.as_bytes()]);
                    // A FAILOVER handing the role to this master: it
                    // promotes itself before it answers (failover.rs).
                    if self.repl.failover.state == FailoverState::InProgress {
                        psync.push(b"FAILOVER".to_vec());
                    }
                    steps.push_back((Step::Psync, psync));
                    link.steps = steps;
                    link.send_step();
                    link.state = LinkState::Handshake;
                }
                LinkState::Handshake => {
                    let Some(line) = link.take_line()? else {
                        return Ok(());
                    };
                    if line.is_empty() {
                        // A master preparing the snapshot sends newlines
                        // to keep the link alive.
                        continue;
                    }
                    match link.steps.pop_front().map(|s| s.0) {
                        Some(Step::Auth) if line.starts_with('-') => {
                            return Err(format!("Unable to AUTH to MASTER: {line}"));
                        }
                        // REPLCONF errors are not fatal (older masters).
                        Some(Step::Auth) | Some(Step::Replconf) => link.send_step(),
                        Some(Step::Psync) => self.psync_reply(link, &line)?,
                        None => return Err("handshake out of step".into()),
                    }
                }
                LinkState::Transfer { len: None } => {
                    // Masters send newlines while preparing the payload.
                    // One drain, not a remove(0) per newline (quadratic
                    // in a read full of them).
                    let newlines = link.inbuf.iter().take_while(|&&b| b == b'\n').count();
                    link.inbuf.drain(..newlines);
                    let Some(line) = link.take_line()? else {
                        return Ok(());
                    };
                    if line.starts_with('-') {
                        return Err(format!("MASTER aborted replication: {line}"));
                    }
                    if let Some(m) = line.strip_prefix("$EOF:") {
                        let mark: [u8; EOF_MARK_LEN] = m
                            .as_bytes()
                            .try_into()
                            .map_err(|_| format!("Bad EOF mark from MASTER: '{line}'"))?;
                        log::info!("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to memory");
                        link.payload.clear();
                        link.state = LinkState::TransferEof { mark };
                        continue;
                    }
                    let len = line
                        .strip_prefix('$')
                        .and_then(|n| n.parse::<u64>().ok())
                        .ok_or_else(|| format!("Bad protocol from MASTER: '{line}'"))?;
                    if len > MAX_SYNC_PAYLOAD_BYTES {
                        return Err(format!("RDB payload of {len} bytes refused"));
                    }
                    log::info!("MASTER <-> REPLICA sync: receiving {len} bytes from master");
                    link.payload.clear();
                    link.state = LinkState::Transfer { len: Some(len) };
                }
                LinkState::Transfer { len: Some(len) } => {
                    let want = (len - link.payload.len() as u64) as usize;
                    let take = want.min(link.inbuf.len());
                    link.payload.extend_from_slice(&link.inbuf[..take]);
                    link.inbuf.drain(..take);
                    if (link.payload.len() as u64) < len {
                        return Ok(());
                    }
                    self.load_sync_payload(link)?;
                }
                LinkState::TransferEof { mark } => {
                    // Look for the mark only where it can newly end: the
                    // fresh bytes and the 39 before them.
                    let from = link.payload.len().saturating_sub(EOF_MARK_LEN - 1);
                    if link.payload.len() as u64 + link.inbuf.len() as u64 > MAX_SYNC_PAYLOAD_BYTES
                    {
                        return Err("diskless RDB payload too large".into());
                    }
                    link.payload.extend_from_slice(&link.inbuf);
                    link.inbuf.clear();
                    let Some(at) = link.payload[from..]
                        .windows(EOF_MARK_LEN)
                        .position(|w| w == mark)
                        .map(|p| from + p)
                    else {
                        return Ok(());
                    };
                    // Whatever follows the mark is already the stream.
                    link.inbuf = link.payload.split_off(at + EOF_MARK_LEN);
                    link.payload.truncate(at);
                    log::info!(
                        "MASTER <-> REPLICA sync: received {} bytes of diskless payload",
                        at
                    );
                    self.load_sync_payload(link)?;
                }
                LinkState::Connected => return self.apply_stream(link),
            }
        }
        Ok(())
    }

    fn psync_reply(&mut self, link: &mut MasterLink, line: &str) -> Result<(), String> {
        if let Some(rest) = line.strip_prefix("+FULLRESYNC ") {
            let mut it = rest.split(' ');
            let (Some(id), Some(off)) = (it.next(), it.next().and_then(|o| o.parse::<u64>().ok()))
            else {
                return Err(format!("Bad FULLRESYNC reply: '{line}'"));
            };
            if id.len() != 40 {
                return Err(format!("Bad replication id in '{line}'"));
            }
            log::info!("Full resync from master: {id}:{off}");
            self.failover_done();
            link.fullresync = Some((id.to_string(), off));
            link.state = LinkState::Transfer { len: None };
            Ok(())
        } else if let Some(rest) = line.strip_prefix("+CONTINUE") {
            let new_id = rest.trim();
            if new_id.len() == 40 && new_id != self.repl.replid {
                // The master's history continues under a new id (it was
                // promoted): keep the old one as our replid2.
                self.repl.replid2 = std::mem::replace(&mut self.repl.replid, new_id.to_string());
                self.repl.second_offset = self.repl.offset as i64 + 1;
                log::info!("Master replication ID changed to {new_id}");
                // Our own replicas must learn the new id: they reconnect
                // and continue under it (Redis disconnects them too).
                for slot in std::mem::take(&mut self.repl.replicas) {
                    self.close_client_in_table(slot);
                }
            }
            log::info!("Successful partial resynchronization with master.");
            self.failover_done();
            self.link_online(link);
            Ok(())
        } else {
            if self.repl.failover.state == FailoverState::InProgress {
                // Aborted once the link is dropped (master_link_event).
                self.repl.failover.rejected = true;
            }
            Err(format!("Unexpected reply to PSYNC from master: '{line}'"))
        }
    }

    fn load_sync_payload(&mut self, link: &mut MasterLink) -> Result<(), String> {
        let payload = std::mem::take(&mut link.payload);
        let (id, off) = link
            .fullresync
            .take()
            .ok_or_else(|| "payload without +FULLRESYNC".to_string())?;
        log::info!("MASTER <-> REPLICA sync: Flushing old data");
        // The old dataset, and so the history it stood for, is gone.
        self.repl.psync_cached = false;
        for db in 0..self.ks.dbs.len() {
            drop(self.ks.flush_db(db));
        }
        // As Redis's emptyData: tracking clients drop their caches.
        self.ks.tracking.flush();
        // The master's libraries replace ours, as in Redis 7.0.
        self.scripting.functions.flush();
        // Loading is not a write of ours: nothing goes to the stream.
        let enabled = std::mem::replace(&mut self.prop.enabled, false);
        self.repl.loaded_stream_db = None;
        let res = crate::persistence::rdb::load_bytes(self, &payload);
        self.prop.enabled = enabled;
        // The master's own position in the payload is not ours: the
        // +FULLRESYNC line said where we start.
        self.repl.loaded_replid = None;
        self.repl.loaded_offset = None;
        res.map_err(|e| format!("Failed trying to load the MASTER synchronization DB: {e}"))?;
        log::info!("MASTER <-> REPLICA sync: Finished with success");
        self.repl.replid = id;
        self.repl.replid2 = "0".repeat(40);
        self.repl.second_offset = -1;
        self.repl.offset = off;
        self.repl.psync_cached = true;
        // The log describes the dataset just replaced: start it again
        // from a base of the loaded one (persistence/mod.rs).
        crate::persistence::restart_aof_after_dataset_replaced(self);
        // A new history: our own replicas must resync from scratch, and
        // our backlog restarts at the master's offset.
        let size = usize::try_from(self.config.repl_backlog_size).unwrap_or(usize::MAX);
        self.repl.backlog = Some(super::backlog::Backlog::new(size, self.repl.offset));
        for slot in std::mem::take(&mut self.repl.replicas) {
            self.close_client_in_table(slot);
        }
        self.link_online(link);
        link.client.db = self.repl.loaded_stream_db.take().unwrap_or(0);
        link.client.multi = None;
        Ok(())
    }

    /// Start applying the stream. After a partial resync the master
    /// client keeps its database: the stream continues where it was.
    fn link_online(&mut self, link: &mut MasterLink) {
        link.state = LinkState::Connected;
        self.repl.link_down_since_ms = 0;
        link.parser = Parser::new(self.config.proto_max_bulk_len);
        if self.repl.backlog.is_none() {
            let size = usize::try_from(self.config.repl_backlog_size).unwrap_or(usize::MAX);
            self.repl.backlog = Some(super::backlog::Backlog::new(size, self.repl.offset));
        }
        self.prop.enabled = true;
        send_ack(self, link);
    }

    /// Run the commands of the stream, advancing the offset by exactly
    /// the bytes each consumed and passing them on to our replicas. A
    /// transaction counts (and is passed on) only when its EXEC has run,
    /// as in Redis: until then the dataset does not hold it, so neither an
    /// ACK nor a snapshot's recorded position may claim it.
    fn apply_stream(&mut self, link: &mut MasterLink) -> Result<(), String> {
        let buf = std::mem::take(&mut link.inbuf);
        let mut off = link.in_multi;
        let mut counted = 0;
        let mut result = Ok(());
        while off < buf.len() {
            let consumed = match link.parser.parse(&buf[off..]) {
                Ok(Parsed::Command { consumed, inline }) => {
                    let (ranges, scratch) = link.parser.take_args();
                    let data: &[u8] = if inline { &scratch } else { &buf[off..] };
                    let argv = Argv::new(data, &ranges);
                    self.ks.applying_master_stream = true;
                    commands::call(self, &mut link.client, &argv);
                    self.ks.applying_master_stream = false;
                    link.client.out.clear();
                    link.parser.restore_args(ranges, scratch);
                    consumed
                }
                Ok(Parsed::Empty { consumed }) => consumed,
                Ok(Parsed::Incomplete) => break,
                Err(e) => {
                    result = Err(format!("Protocol error from MASTER: {}", e.message()));
                    break;
                }
            };
            off += consumed;
            if link.client.multi.is_none() {
                self.replicate_bytes(&buf[counted..off]);
                if self.repl.backlog.is_none() {
                    self.repl.offset += (off - counted) as u64;
                }
                counted = off;
            }
            if self.config.replicaof.is_none() {
                // REPLICAOF NO ONE arrived in the stream (never from a
                // sane master): stop applying.
                break;
            }
        }
        let mut buf = buf;
        buf.drain(..counted);
        link.in_multi = off - counted;
        link.inbuf = buf;
        result
    }

    /// Cron, once per tick: connect when due, send the 1-second ACK, drop
    /// a link silent for longer than repl-timeout.
    pub fn replica_cron(&mut self) {
        if self.config.replicaof.is_none() {
            return;
        }
        let now = self.ks.now_ms;
        let Some(mut link) = self.repl.link.take() else {
            self.connect_to_master();
            return;
        };
        let timeout_ms = self.config.repl_timeout.max(1) as i64 * 1000;
        let silent = now - link.last_io_ms.max(link.started_ms);
        if silent > timeout_ms {
            self.repl.link = Some(link);
            self.drop_master_link("Timeout connecting to / no data from MASTER");
            return;
        }
        if link.is_connected() && now - link.last_ack_ms >= 1000 {
            send_ack(self, &mut link);
        }
        self.repl.link = Some(link);
        // Re-drive: pending output, input left by the read budget.
        self.master_link_event();
    }
}

impl Server {
    /// Follow `host`:`port` (Redis's replicationSetMaster): REPLICAOF and
    /// a FAILOVER handing over the role.
    pub fn set_master(&mut self, host: String, port: u16) {
        // The cached master client (its database) stays: under PSYNC2 the
        // new master may continue the same stream.
        self.drop_master_link("REPLICAOF to another master");
        // Blocked clients must not be served by the master's stream here.
        self.disconnect_all_blocked_clients();
        // As Redis: our own history (as a master, or the previous
        // master's) is offered to the new master, which continues it when
        // it can.
        self.repl.psync_cached = true;
        self.config.replicaof = Some((host, port));
        self.ks.is_replica = true;
        self.connect_to_master();
    }

    /// Stop following our master and become one (Redis's
    /// replicationUnsetMaster): REPLICAOF NO ONE, the target of a
    /// FAILOVER, an aborted FAILOVER. False if we were no replica.
    pub fn unset_master(&mut self) -> bool {
        if self.config.replicaof.take().is_none() {
            return false;
        }
        self.drop_master_link("REPLICAOF NO ONE");
        self.repl.cached_master = None;
        self.ks.is_replica = false;
        // PSYNC2: replicas of our old master may continue with us.
        let new_id = crate::server::make_run_id();
        log::info!(
            "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {new_id}",
            self.repl.replid,
            self.repl.offset + 1
        );
        self.repl.replid2 = std::mem::replace(&mut self.repl.replid, new_id);
        self.repl.second_offset = self.repl.offset as i64 + 1;
        self.ensure_backlog();
        // Our own writes start now: position the stream explicitly.
        self.prop.stream_db = None;
        true
    }
}

fn send_ack(srv: &mut Server, link: &mut MasterLink) {
    if !link.is_connected() {
        return;
    }
    let off = srv.repl.offset.to_string();
    link.send(&[b"REPLCONF", b"ACK", off.as_bytes()]);
    link.last_ack_ms = srv.ks.now_ms;
}

/// REPLICAOF host port | NO ONE (and SLAVEOF).
pub fn replicaof(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if c.is_master {
        // Never from the stream of a sane master; ignore.
        return Ok(());
    }
    if srv.repl.failover.state != FailoverState::None {
        return Err(CmdError::msg(
            "ERR REPLICAOF not allowed while failing over.",
        ));
    }
    if argv.is(1, "no") && argv.is(2, "one") {
        if srv.unset_master() {
            log::warn!("MASTER MODE enabled (user request from '{}')", c.addr);
        }
        c.reply().ok();
        return Ok(());
    }
    let host = String::from_utf8_lossy(argv.get(1)).to_string();
    let port = commands::parse_int(argv.get(2))
        .ok()
        .filter(|p| (0..=65535).contains(p))
        .ok_or_else(|| CmdError::msg("ERR Invalid master port"))?;
    if srv
        .config
        .replicaof
        .as_ref()
        .is_some_and(|(h, p)| h.eq_ignore_ascii_case(&host) && *p as i64 == port)
    {
        c.reply().simple("OK Already connected to specified master");
        return Ok(());
    }
    srv.set_master(host.clone(), port as u16);
    log::warn!(
        "REPLICAOF {host}:{port} enabled (user request from '{}')",
        c.addr
    );
    c.reply().ok();
    Ok(())
}

/// ROLE.
pub fn role(srv: &mut Server, c: &mut Client, _argv: &Argv) -> CmdResult {
    if let Some((host, port)) = srv.config.replicaof.clone() {
        let (state, off) = match srv.repl.link.as_ref() {
            Some(l) => (
                l.role_state(),
                if l.is_connected() {
                    srv.repl.offset as i64
                } else {
                    -1
                },
            ),
            None => ("connect", -1),
        };
        let mut w = c.reply();
        w.array(5);
        w.bulk(b"slave");
        w.bulk(host.as_bytes());
        w.int(port as i64);
        w.bulk(state.as_bytes());
        w.int(off);
        return Ok(());
    }
    let mut rows = Vec::new();
    for &s in &srv.repl.replicas {
        let Some(o) = srv.clients.get(s).and_then(|c| c.as_deref()) else {
            continue;
        };
        let Some(r) = o.repl.as_deref().filter(|r| r.online) else {
            continue;
        };
        let ip = super::replica_ip(o);
        rows.push((ip, r.listening_port.to_string(), r.ack_offset.to_string()));
    }
    let offset = srv.repl.offset as i64;
    let mut w = c.reply();
    w.array(3);
    w.bulk(b"master");
    w.int(offset);
    w.array(rows.len());
    for (ip, port, off) in rows {
        w.array(3);
        w.bulk(ip.as_bytes());
        w.bulk(port.as_bytes());
        w.bulk(off.as_bytes());
    }
    Ok(())
}
