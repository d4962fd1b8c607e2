//! A server without sockets: the command layer, the loaders and the
//! replication stream reader driven directly with bytes.
//!
//! Owns: [`Offline`], a fresh `Server` (default configuration, no
//! listener, no connected client) plus one socket-less client, and the
//! few calls the fuzz targets (`fuzz/`) and the property tests
//! (`tests/properties.rs`) need: run an argument vector and get the reply
//! bytes, load an RDB or AOF image from memory, feed bytes to the
//! replica's master-link reader.
//!
//! Must never: touch the file system, the network or other processes.
//! Commands that would (SAVE, BGSAVE's fork, SHUTDOWN, REPLICAOF, CONFIG
//! SET dir / appendonly ...) are refused with an error reply instead of
//! run: the harness exists to feed hostile input at full speed.
//!
//! Invariants: every command goes through the real dispatcher
//! (`commands::call`), exactly as a connection's would, so what is fuzzed
//! here is what a client reaches over TCP. The client never blocks
//! (blocking commands answer as if from a script, `blocking::can_block`).

use super::Server;
use crate::commands::{self, Argv};
use crate::config::Config;
use crate::connection::Client;
use crate::resp::reply::Proto;
use std::ops::Range;

/// Commands with effects outside the process (files, forks, sockets,
/// exit) or that only make sense on a connection.
const REFUSED_COMMANDS: &[&str] = &[
    "save",
    "bgsave",
    "bgrewriteaof",
    "shutdown",
    "replicaof",
    "slaveof",
    "sync",
    "psync",
    "debug",
    "monitor",
    "failover",
    "migrate",
    // A script can loop forever, and the offline server has no event
    // loop from which SCRIPT KILL could stop it.
    "eval",
    "evalsha",
    "eval_ro",
    "evalsha_ro",
];

/// Options whose CONFIG SET touches the file system or the network.
const REFUSED_OPTIONS: &[&str] = &[
    "dir",
    "dbfilename",
    "appendonly",
    "appendfilename",
    "appenddirname",
    "logfile",
    "pidfile",
    "aclfile",
    "replicaof",
    "slaveof",
    "port",
    "bind",
    "unixsocket",
    "metrics-port",
    "metrics-bind",
];

/// The reply to a refused command (never produced by the real server).
pub const REFUSED_REPLY: &[u8] = b"-ERR refused by the offline harness\r\n";

pub struct Offline {
    pub srv: Server,
    pub client: Client,
}

impl Default for Offline {
    fn default() -> Offline {
        Offline::new()
    }
}

impl Offline {
    /// A fresh server with the default configuration and one client
    /// (database 0, RESP2, authenticated).
    pub fn new() -> Offline {
        // An epoll instance is a file descriptor, not a socket; nothing is
        // ever registered with it here.
        let poll = mio::Poll::new().expect("epoll_create");
        let srv = Server::new(Config::default(), poll, Vec::new());
        Offline {
            srv,
            client: Client::new_fake(1),
        }
    }

    /// Switch the client's protocol (HELLO does it too).
    pub fn set_resp3(&mut self, on: bool) {
        self.client.proto = if on { Proto::Resp3 } else { Proto::Resp2 };
    }

    /// True if the harness refuses `argv` (see `REFUSED_COMMANDS`).
    pub fn refuses(argv: &[&[u8]]) -> bool {
        let Some(name) = argv.first() else {
            return false;
        };
        let is = |a: &[u8], w: &str| a.eq_ignore_ascii_case(w.as_bytes());
        if REFUSED_COMMANDS.iter().any(|w| is(name, w)) {
            return true;
        }
        // Any argument naming a refused option: CONFIG SET takes several
        // name/value pairs, and MULTI would queue it for EXEC.
        is(name, "config")
            && argv
                .iter()
                .any(|a| REFUSED_OPTIONS.iter().any(|w| is(a, w)))
    }

    /// Run one command through the dispatcher; return the bytes the
    /// client would have received (possibly empty: CLIENT REPLY OFF).
    pub fn run(&mut self, argv: &[&[u8]]) -> Vec<u8> {
        if argv.is_empty() {
            return Vec::new();
        }
        if Offline::refuses(argv) {
            return REFUSED_REPLY.to_vec();
        }
        let mut data = Vec::new();
        let mut ranges: Vec<Range<usize>> = Vec::with_capacity(argv.len());
        for a in argv {
            ranges.push(data.len()..data.len() + a.len());
            data.extend_from_slice(a);
        }
        let argv = Argv::new(&data, &ranges);
        commands::call(&mut self.srv, &mut self.client, &argv);
        std::mem::take(&mut self.client.out)
    }

    /// Load an RDB image into the (fresh) keyspace. Errors are the
    /// loader's own.
    pub fn load_rdb(&mut self, data: &[u8]) -> std::io::Result<(u64, u64)> {
        crate::persistence::rdb::load_bytes(&mut self.srv, data)
    }

    /// Verify and replay an AOF image (`aof-load-truncated yes`, the
    /// default, so a torn tail is dropped rather than refused).
    pub fn load_aof(&mut self, data: &[u8]) -> Result<usize, String> {
        crate::persistence::load_aof_bytes(&mut self.srv, data, "offline.aof", true)
            .map(|loaded| loaded.keep)
    }

    /// Become a replica and feed `chunks` to the master-link reader, one
    /// read each, from the reply to PING onwards.
    pub fn feed_master_link(&mut self, chunks: &[&[u8]]) -> Result<(), String> {
        // Only the state matters: no connection is attempted (no cron
        // runs here) and the port is never used.
        self.srv.config.replicaof = Some(("127.0.0.1".to_string(), 1));
        self.srv.ks.is_replica = true;
        self.srv.feed_detached_master_link(chunks)
    }
}

// ---------------------------------------------------------------------
// Input generation and reply checking, shared by fuzz and property tests
// ---------------------------------------------------------------------

/// Most commands decoded from one input, and most arguments per command:
/// enough for MULTI/EXEC, WATCH and multi-key commands, small enough
/// that one input runs in well under a millisecond.
pub const GEN_COMMANDS_MAX: usize = 64;
pub const GEN_ARGS_MAX: usize = 8;

/// A small key space, so commands meet each other's keys (and types);
/// `{k}3` hashes like a cluster tag, `k\0` has a NUL.
const GEN_KEYS: &[&[u8]] = &[b"k0", b"k1", b"k2", b"{k}3", b"k\x00"];
/// Option words the commands' parsers branch on.
const GEN_WORDS: &[&str] = &[
    "EX",
    "PX",
    "EXAT",
    "PXAT",
    "NX",
    "XX",
    "GT",
    "LT",
    "CH",
    "INCR",
    "KEEPTTL",
    "GET",
    "PERSIST",
    "WITHSCORES",
    "LIMIT",
    "COUNT",
    "MATCH",
    "TYPE",
    "BYSCORE",
    "BYLEX",
    "REV",
    "LEFT",
    "RIGHT",
    "BEFORE",
    "AFTER",
    "MIN",
    "MAX",
    "AGGREGATE",
    "SUM",
    "WEIGHTS",
    "IDX",
    "LEN",
    "MINMATCHLEN",
    "WITHMATCHLEN",
    "REPLACE",
    "DB",
    "ABSTIME",
    "IDLETIME",
    "FREQ",
    "ASYNC",
    "SYNC",
    "RANK",
    "MAXLEN",
    "STORE",
    "BY",
    "ALPHA",
    "ASC",
    "DESC",
    "nosort",
    "#",
    "k*",
    "k*->f",
    "ON",
    "OFF",
    "SKIP",
    "ID",
    "USER",
    "SETNAME",
    "ENCODING",
    "REFCOUNT",
    "STRING",
    "LIST",
    "HASH",
    "SET",
    "ZSET",
    "*",
    "",
    "-",
    "+",
    // Streams: trim options, ID forms, XINFO and XSETID words.
    "MINID",
    "NOMKSTREAM",
    "~",
    "=",
    "1-1",
    "0-*",
    "(1",
    "STREAM",
    "FULL",
    "ENTRIESADDED",
    "MAXDELETEDID",
    // Streams, consumer groups (never BLOCK: the offline client cannot
    // block anyway, and a fuzz input should not spend its draws on it).
    "STREAMS",
    "GROUP",
    "g",
    "c",
    "NOACK",
    "$",
    ">",
    "CREATE",
    "SETID",
    "DESTROY",
    "CREATECONSUMER",
    "DELCONSUMER",
    "MKSTREAM",
    "ENTRIESREAD",
    "IDLE",
    "TIME",
    "RETRYCOUNT",
    "FORCE",
    "JUSTID",
    "LASTID",
    "GROUPS",
    "CONSUMERS",
];
/// Numbers around the edges parsers care about.
const GEN_NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "-1",
    "-2",
    "10",
    "100",
    "1000",
    "65536",
    "-100000",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "18446744073709551616",
    "1.5",
    "-0.5",
    "1e308",
    "1e-308",
    "inf",
    "-inf",
    "+inf",
    "nan",
    "(1",
    "1-1",
    "0-0",
    "2-0",
    "(1-1",
    "18446744073709551615-18446744073709551615",
    "(-inf",
    "[a",
    "(b",
    "0x10",
    " 1",
    "1 ",
    "01",
    "",
];

/// Reads fuzzer bytes one decision at a time; exhausted input reads as 0.
struct Draw<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Draw<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        let i = (usize::from(self.byte()) << 8) | usize::from(self.byte());
        &items[i % items.len()]
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
}

/// Decode arbitrary bytes into argument vectors, biased toward what
/// reaches deep code: real command names from the table (with a real
/// subcommand when the command has them), a handful of keys, option
/// words, edge-case numbers; one draw in eight is raw bytes. Every input
/// decodes to something; the same input always decodes the same way.
pub fn commands_from_bytes(data: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut d = Draw { data, pos: 0 };
    let mut out = Vec::new();
    while !d.done() && out.len() < GEN_COMMANDS_MAX {
        let mut argv: Vec<Vec<u8>> = Vec::new();
        if d.byte() < 248 {
            let cmd = d.pick(commands::COMMANDS);
            // PFSELFTEST reads no input and costs seconds under coverage
            // instrumentation (its checks have a unit test): a fuzzer that
            // draws it spends its time there, so it draws PFCOUNT instead.
            let name = match cmd.name {
                "pfselftest" => "pfcount",
                other => other,
            };
            argv.push(name.as_bytes().to_vec());
            if !cmd.subcommands.is_empty() && d.byte() < 224 {
                let sub = d.pick(cmd.subcommands);
                let word = sub.name.rsplit('|').next().unwrap_or(sub.name);
                argv.push(word.as_bytes().to_vec());
            }
        } else {
            let n = usize::from(d.byte() % 12);
            argv.push(d.bytes(n));
        }
        let argc = usize::from(d.byte()) % (GEN_ARGS_MAX + 1);
        for _ in 0..argc {
            let arg = match d.byte() % 8 {
                0..=2 => d.pick(GEN_KEYS).to_vec(),
                3 | 4 => d.pick(GEN_NUMBERS).as_bytes().to_vec(),
                5 | 6 => d.pick(GEN_WORDS).as_bytes().to_vec(),
                _ => {
                    let n = usize::from(d.byte() % 24);
                    d.bytes(n)
                }
            };
            argv.push(arg);
        }
        out.push(argv);
    }
    out
}

/// Deepest reply nesting `reply_len` accepts (the server's own replies
/// nest a few levels: COMMAND DOCS, XINFO-like maps).
pub const REPLY_DEPTH_MAX: usize = 32;

/// The length of the one complete, well-formed RESP2/RESP3 reply at the
/// start of `buf`, or None if it is malformed or incomplete. Checks what a
/// client library relies on: type bytes, CRLF placement, lengths that
/// match their payloads, integers that parse, element counts.
pub fn reply_len(buf: &[u8]) -> Option<usize> {
    reply_at(buf, 0, 0)
}

fn reply_line(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(pos..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    let line = &rest[..end];
    // A line never holds a bare CR or LF: it would split the frame.
    if line.iter().any(|&b| b == b'\r' || b == b'\n') {
        return None;
    }
    Some((line, pos + end + 2))
}

fn reply_int(line: &[u8]) -> Option<i64> {
    std::str::from_utf8(line).ok()?.parse().ok()
}

fn reply_at(buf: &[u8], pos: usize, depth: usize) -> Option<usize> {
    if depth > REPLY_DEPTH_MAX {
        return None;
    }
    let kind = *buf.get(pos)?;
    let (line, next) = reply_line(buf, pos + 1)?;
    match kind {
        b'+' | b'-' => Some(next),
        b':' => reply_int(line).map(|_| next),
        b'(' => (!line.is_empty()
            && line
                .iter()
                .enumerate()
                .all(|(i, b)| b.is_ascii_digit() || (i == 0 && *b == b'-')))
        .then_some(next),
        b',' => {
            let s = std::str::from_utf8(line).ok()?;
            (matches!(s, "inf" | "-inf" | "nan") || s.parse::<f64>().is_ok()).then_some(next)
        }
        b'#' => matches!(line, b"t" | b"f").then_some(next),
        b'_' => line.is_empty().then_some(next),
        b'$' | b'!' | b'=' => {
            let n = reply_int(line)?;
            if n == -1 && kind == b'$' {
                return Some(next);
            }
            let n = usize::try_from(n).ok()?;
            let end = next.checked_add(n)?;
            if buf.get(end..end.checked_add(2)?)? != b"\r\n" {
                return None;
            }
            if kind == b'=' && (n < 4 || buf[next + 3] != b':') {
                return None;
            }
            Some(end + 2)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = reply_int(line)?;
            if n == -1 && kind == b'*' {
                return Some(next);
            }
            let n = usize::try_from(n).ok()?;
            let per = if matches!(kind, b'%' | b'|') { 2 } else { 1 };
            // Each element takes at least 3 bytes: the count is checked
            // against what is there before the loop runs.
            let elems = n.checked_mul(per)?;
            if elems > buf.len() / 3 {
                return None;
            }
            let mut p = next;
            for _ in 0..elems {
                p = reply_at(buf, p, depth + 1)?;
            }
            if kind == b'|' {
                // Attributes precede the reply they describe.
                return reply_at(buf, p, depth + 1);
            }
            Some(p)
        }
        _ => None,
    }
}

/// True if `out` is a sequence of complete, well-formed replies.
pub fn replies_well_formed(out: &[u8]) -> bool {
    let mut pos = 0;
    // Each reply consumes at least 3 bytes: bounded by the length.
    while pos < out.len() {
        match reply_at(out, pos, 0) {
            Some(next) if next > pos => pos = next,
            _ => return false,
        }
    }
    true
}

/// What a request stream parsed to: the commands in order, and the
/// protocol error that stopped it, if any.
pub type ParsedRequests = (Vec<Vec<Vec<u8>>>, Option<String>);

/// Parse `pieces` as successive reads of one connection with the
/// server's request parser (multibulk and inline; `max_bulk` as
/// proto-max-bulk-len), keeping unconsumed input between reads as the
/// event loop does. Panics if the parser reports a range outside the
/// buffer or a zero-length step. How the input is split must not change
/// the result: that is the property the fuzz target and tests check.
pub fn parse_requests(pieces: &[&[u8]], max_bulk: u64) -> ParsedRequests {
    use crate::resp::parser::{Parsed, Parser};
    let mut parser = Parser::new(max_bulk);
    let mut buf: Vec<u8> = Vec::new();
    let mut commands = Vec::new();
    for chunk in pieces {
        buf.extend_from_slice(chunk);
        // Each step consumes at least one byte: bounded by the buffer.
        for _ in 0..=buf.len() {
            match parser.parse(&buf) {
                Ok(Parsed::Command { consumed, inline }) => {
                    assert!(consumed > 0 && consumed <= buf.len());
                    let src: &[u8] = if inline { parser.scratch() } else { &buf };
                    let args = parser
                        .arg_ranges()
                        .iter()
                        .map(|r| src[r.clone()].to_vec())
                        .collect();
                    commands.push(args);
                    buf.drain(..consumed);
                }
                Ok(Parsed::Empty { consumed }) => {
                    assert!(consumed > 0 && consumed <= buf.len());
                    buf.drain(..consumed);
                }
                Ok(Parsed::Incomplete) => break,
                Err(e) => return (commands, Some(e.message())),
            }
        }
    }
    (commands, None)
}
