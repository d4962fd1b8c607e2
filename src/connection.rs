//! Per-client state: socket, buffers, protocol version, selected database,
//! authentication and the flags CLIENT commands change.
//!
//! Owns: one connected client. The event loop moves bytes in and out; the
//! command layer reads arguments and appends replies through
//! [`Client::reply`]. Nothing here touches the keyspace.
//!
//! Must never: hold a borrowed view of another client (commands that look
//! at all clients go through the server's client table), or keep a large
//! buffer after the burst that needed it is over.
//!
//! Invariants:
//! - `query` holds only bytes not yet consumed by a complete command; most
//!   reads are parsed straight from the loop's shared read buffer and leave
//!   `query` empty, so an idle client owns no input buffer at all.
//! - `out[out_pos..]` is what remains to be written, in order.

use crate::resp::parser::Parser;
use crate::resp::reply::{Proto, ReplyWriter};
use crate::server::blocking::BlockState;
use mio::net::{TcpStream, UnixStream};
use std::collections::BTreeSet;
use std::os::fd::AsRawFd;

/// CLIENT REPLY modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Discard the reply of the next command only.
    SkipNext,
    /// The current command is the skipped one.
    Skipping,
}

/// A client's socket: TCP, or the `unixsocket` listener's Unix stream.
/// Reads, writes and event registration are the same for both.
pub enum ClientStream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl std::io::Read for ClientStream {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            ClientStream::Tcp(s) => s.read(buf),
            ClientStream::Unix(s) => s.read(buf),
        }
    }
}

impl std::io::Write for ClientStream {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            ClientStream::Tcp(s) => s.write(buf),
            ClientStream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl AsRawFd for ClientStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        match self {
            ClientStream::Tcp(s) => s.as_raw_fd(),
            ClientStream::Unix(s) => s.as_raw_fd(),
        }
    }
}

impl mio::event::Source for ClientStream {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> std::io::Result<()> {
        match self {
            ClientStream::Tcp(s) => s.register(registry, token, interests),
            ClientStream::Unix(s) => s.register(registry, token, interests),
        }
    }
    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> std::io::Result<()> {
        match self {
            ClientStream::Tcp(s) => s.reregister(registry, token, interests),
            ClientStream::Unix(s) => s.reregister(registry, token, interests),
        }
    }
    fn deregister(&mut self, registry: &mio::Registry) -> std::io::Result<()> {
        match self {
            ClientStream::Tcp(s) => s.deregister(registry),
            ClientStream::Unix(s) => s.deregister(registry),
        }
    }
}

pub struct Client {
    pub id: u64,
    pub token: usize,
    /// None only for the AOF loader's fake client, which has no peer.
    pub stream: Option<ClientStream>,
    /// "ip:port" of the peer and of our end, formatted once at accept.
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub query: Vec<u8>,
    pub parser: Parser,
    pub out: Vec<u8>,
    pub out_pos: usize,
    /// `out` grew past what the loop keeps between turns (counted once in
    /// INFO reply_buffer_expands until it is released).
    pub reply_buf_big: bool,
    pub db: usize,
    pub proto: Proto,
    pub name: Option<Vec<u8>>,
    pub authenticated: bool,
    /// The ACL user this client is authenticated as (None: the AOF
    /// loader's fake client, which is never checked).
    pub user: Option<crate::acl::UserRef>,
    /// Holding a command until CLIENT PAUSE ends (its input stays
    /// buffered and unread).
    pub pause_blocked: bool,
    /// Close once pending output is written (QUIT, protocol errors).
    pub close_after_reply: bool,
    /// Close without writing anything else (CLIENT KILL, limits).
    pub close_asap: bool,
    pub reply_mode: ReplyMode,
    pub no_evict: bool,
    pub no_touch: bool,
    /// Queued in the loop's pending-write list already.
    pub pending_write: bool,
    pub ctime_ms: i64,
    pub last_interaction_ms: i64,
    /// Name of the last command run (CLIENT LIST `cmd=`).
    pub last_cmd: &'static str,
    pub net_in_bytes: u64,
    pub net_out_bytes: u64,
    pub commands_processed: u64,
    /// Pub/sub subscriptions (mirrored in the server's registry).
    pub sub_channels: BTreeSet<Vec<u8>>,
    pub sub_patterns: BTreeSet<Vec<u8>>,
    /// Shard channels (SSUBSCRIBE): a namespace of their own.
    pub sub_shard_channels: BTreeSet<Vec<u8>>,
    /// When the output buffer first went over its soft limit (0 = under).
    pub obuf_soft_limit_since_ms: i64,
    /// Open transaction (between MULTI and EXEC/DISCARD).
    pub multi: Option<MultiState>,
    /// Keys this client WATCHes (mirrored in the keyspace's registry), and
    /// whether each was already expired when watched.
    pub watched: Vec<(usize, Vec<u8>)>,
    pub watched_expired: Vec<bool>,
    /// True while EXEC runs this client's queued commands (blocking
    /// commands must not block then).
    pub in_exec: bool,
    /// The fake client a Lua script's commands run as (Redis's
    /// CLIENT_SCRIPT): XREAD refuses BLOCK, the ACL log says `lua`.
    pub in_script: bool,
    /// Not read while its unsent output is too large (backpressure).
    pub read_paused: bool,
    /// Set when a pause ends: buffered commands must run before reading.
    pub resume_input: bool,
    /// The peer's FIN was reported: read until EOF, no edge will follow.
    pub peer_closed: bool,
    /// This client's pending output holds the reply to a write whose AOF
    /// record is not yet durable (`appendfsync always`): the output is held
    /// until the log is written and fsynced.
    pub aof_wait: bool,
    /// Set while the client waits in a blocking command (BLPOP...); its
    /// further input is held back until then (see server/blocking.rs).
    pub blocked: Option<Box<BlockState>>,
    /// In MONITOR mode (its slot is in `Server::monitors`).
    pub monitor: bool,
    /// Argument positions the running command asked to hide from the slow
    /// log and MONITOR (passwords); cleared after each command.
    pub redacted: Vec<usize>,
    /// Set when this client is a replica attached to us (after PSYNC or
    /// REPLCONF): what we know about it.
    pub repl: Option<Box<crate::replication::ReplicaPeer>>,
    /// This is our master's link (its commands are applied, not answered,
    /// and bypass replica-read-only).
    pub is_master: bool,
    /// Blocked in WAIT: no further input is processed until it ends.
    pub wait_blocked: bool,
    /// CLIENT TRACKING mode while tracking is on (boxed: rare).
    pub tracking: Option<Box<crate::tracking::ClientTracking>>,
    /// This client's share of the loop's client-memory total while
    /// client eviction is on (server/client_eviction.rs), 0 otherwise.
    pub mem_counted: usize,
}

/// Commands queued between MULTI and EXEC. Arguments are copied out of
/// the read buffer (they must outlive it); `failed` records a rejected
/// command, which makes EXEC answer EXECABORT.
#[derive(Debug, Default)]
pub struct MultiState {
    pub commands: Vec<Vec<Vec<u8>>>,
    pub failed: bool,
    /// Bytes the queued commands hold (CLIENT LIST `multi-mem`), kept as
    /// they are queued so reading it is O(1).
    pub bytes: usize,
}

impl Client {
    /// A client on a socket; `addr` and `laddr` are its peer's and our
    /// end's "ip:port" (`path:0` for the Unix socket, as Redis shows them).
    pub fn new(
        id: u64,
        token: usize,
        stream: ClientStream,
        (addr, laddr): (String, String),
        max_bulk_len: u64,
        now_ms: i64,
        authenticated: bool,
    ) -> Client {
        let fd = stream.as_raw_fd();
        Client {
            token,
            stream: Some(stream),
            addr,
            laddr,
            fd,
            parser: Parser::new(max_bulk_len),
            authenticated,
            ctime_ms: now_ms,
            last_interaction_ms: now_ms,
            ..Client::new_fake(id)
        }
    }

    /// A client without a connection, used to replay the AOF (Redis's
    /// "fake client"): authenticated, database 0, replies discarded by the
    /// caller.
    pub fn new_fake(id: u64) -> Client {
        Client {
            id,
            token: usize::MAX,
            stream: None,
            addr: String::new(),
            laddr: String::new(),
            fd: -1,
            query: Vec::new(),
            parser: Parser::new(u64::MAX),
            out: Vec::new(),
            out_pos: 0,
            reply_buf_big: false,
            db: 0,
            proto: Proto::Resp2,
            name: None,
            authenticated: true,
            user: None,
            pause_blocked: false,
            close_after_reply: false,
            close_asap: false,
            reply_mode: ReplyMode::On,
            no_evict: false,
            no_touch: false,
            pending_write: false,
            ctime_ms: 0,
            last_interaction_ms: 0,
            last_cmd: "NULL",
            net_in_bytes: 0,
            net_out_bytes: 0,
            commands_processed: 0,
            sub_channels: BTreeSet::new(),
            sub_patterns: BTreeSet::new(),
            sub_shard_channels: BTreeSet::new(),
            obuf_soft_limit_since_ms: 0,
            multi: None,
            watched: Vec::new(),
            watched_expired: Vec::new(),
            in_exec: false,
            in_script: false,
            read_paused: false,
            resume_input: false,
            peer_closed: false,
            aof_wait: false,
            blocked: None,
            monitor: false,
            redacted: Vec::new(),
            repl: None,
            is_master: false,
            wait_blocked: false,
            tracking: None,
            mem_counted: 0,
        }
    }

    /// Writer for this client's next reply, in its protocol version.
    pub fn reply(&mut self) -> ReplyWriter<'_> {
        ReplyWriter::new(&mut self.out, self.proto)
    }

    /// Number of channel + pattern subscriptions: the count (P)(UN)SUBSCRIBE
    /// confirmations report. Shard channels are not in it (Redis 7.0
    /// counts them apart, see `shard_subscription_count`).
    pub fn subscription_count(&self) -> usize {
        self.sub_channels.len() + self.sub_patterns.len()
    }

    /// Number of shard channel subscriptions: the count S(UN)SUBSCRIBE
    /// confirmations report.
    pub fn shard_subscription_count(&self) -> usize {
        self.sub_shard_channels.len()
    }

    /// Subscribed to anything (channel, pattern or shard channel): Redis's
    /// CLIENT_PUBSUB flag, which drives the RESP2 subscribed mode, the `P`
    /// flag, the `pubsub` client class and its output-buffer limit.
    pub fn is_subscribed(&self) -> bool {
        self.subscription_count() + self.shard_subscription_count() > 0
    }

    /// In RESP2, a client with subscriptions may only run pub/sub commands.
    pub fn in_resp2_pubsub_mode(&self) -> bool {
        self.proto == Proto::Resp2 && self.is_subscribed()
    }

    pub fn has_pending_output(&self) -> bool {
        self.out_pos < self.out.len() || self.repl.as_ref().is_some_and(|r| r.transfer.is_some())
    }

    /// Bytes of output not yet written (CLIENT LIST `omem`, limits).
    pub fn pending_output_bytes(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Memory this client holds (CLIENT LIST `tot-mem`, INFO
    /// mem_clients_normal, client eviction): the structure itself, its
    /// query and reply buffers, its queued transaction, and the entries
    /// of its subscriptions and watched keys. O(1): channel and key names
    /// are not walked (Redis counts only its entries' overhead too).
    pub fn memory_usage(&self) -> usize {
        /// A subscription or a watched key: its Vec header and its share
        /// of the tree or list that holds it, not its name.
        const ENTRY_BYTES: usize = 48;
        let entries = self.sub_channels.len()
            + self.sub_patterns.len()
            + self.sub_shard_channels.len()
            + self.watched.len();
        std::mem::size_of::<Client>()
            + self.query.capacity()
            + self.out.capacity()
            + self.multi.as_ref().map_or(0, |m| m.bytes)
            + entries * ENTRY_BYTES
            + self
                .blocked
                .as_ref()
                .map_or(0, |_| std::mem::size_of::<BlockState>())
    }

    /// CLIENT LIST / CLIENT INFO line for this client, Redis's field order.
    pub fn info_line(&self, now_ms: i64) -> String {
        let age = (now_ms - self.ctime_ms).max(0) / 1000;
        let idle = (now_ms - self.last_interaction_ms).max(0) / 1000;
        // Flag letters in the order Redis prints them.
        let mut flags = String::new();
        for (on, letter) in [
            (self.monitor, 'O'),
            (self.is_subscribed(), 'P'),
            (self.multi.is_some(), 'x'),
            (
                self.blocked.is_some() || self.pause_blocked || self.wait_blocked,
                'b',
            ),
            (self.tracking.is_some(), 't'),
            (
                self.tracking.as_ref().is_some_and(|t| t.broken_redirect),
                'R',
            ),
            (self.tracking.as_ref().is_some_and(|t| t.bcast), 'B'),
            (self.close_after_reply, 'c'),
            (self.close_asap, 'A'),
            (matches!(self.stream, Some(ClientStream::Unix(_))), 'U'),
            (self.no_evict, 'e'),
            (self.no_touch, 'T'),
        ] {
            if on {
                flags.push(letter);
            }
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let name = self
            .name
            .as_deref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem={} rbs={} rbp={} obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user={} redir={} resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            name,
            age,
            idle,
            flags,
            self.db,
            self.sub_channels.len(),
            self.sub_patterns.len(),
            self.sub_shard_channels.len(),
            self.multi.as_ref().map_or(-1, |m| m.commands.len() as i64),
            self.query.len(),
            self.query.capacity() - self.query.len(),
            self.multi.as_ref().map_or(0, |m| m.bytes),
            // The reply buffer: its size now, which is also its peak, as
            // it shrinks only once written out.
            self.out.capacity(),
            self.out.capacity(),
            self.pending_output_bytes(),
            self.memory_usage(),
            self.last_cmd,
            self.user
                .as_ref()
                .map_or_else(|| "default".to_string(), |u| String::from_utf8_lossy(&u.borrow().name).into_owned()),
            self.tracking.as_ref().map_or(-1, |t| t.redirect as i64),
            match self.proto {
                Proto::Resp2 => 2,
                Proto::Resp3 => 3,
            },
        )
    }
}
