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
//! run, from a client and from a script's `redis.call` alike: the harness
//! exists to feed hostile input at full speed. Scripts run in offline mode
//! (`Scripting::set_offline`): killed once past a 10 ms threshold, Lua
//! memory capped.
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
    "monitor",
    "failover",
    "migrate",
];

/// DEBUG subcommands the harness runs: the ones that only read the
/// dataset or answer a canned reply (SLEEP, RELOAD, POPULATE and the rest
/// stall, touch files or allocate by an argument).
const ALLOWED_DEBUG: &[&str] = &[
    "digest",
    "digest-value",
    "object",
    "protocol",
    "error",
    "help",
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
    // The script watchdog's threshold: 0 would let a looping script
    // hang the harness (Scripting::set_offline).
    "busy-reply-threshold",
    "lua-time-limit",
];

/// `busy-reply-threshold` under the harness: a looping script is killed
/// after this long instead of Redis's 5 s.
const OFFLINE_BUSY_MS: u64 = 10;

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
        let config = Config {
            busy_reply_threshold: OFFLINE_BUSY_MS,
            // For the DEBUG subcommands in `ALLOWED_DEBUG`.
            enable_debug_command: "yes".into(),
            ..Config::default()
        };
        let mut srv = Server::new(config, poll, Vec::new());
        srv.scripting.set_offline();
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
        if is(name, "debug") {
            let sub = argv.get(1).copied().unwrap_or_default();
            return !ALLOWED_DEBUG.iter().any(|w| is(sub, w));
        }
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
    "digest",
    "digest-value",
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
/// Scripts for EVAL, EVAL_RO and SCRIPT LOAD (EVALSHA gets their SHA-1s).
/// Most run the rest of the generated command line (ARGV: another
/// generated command) through `redis.call` or `redis.pcall`, so every
/// command family's replies pass through the Lua conversions, in RESP2
/// and RESP3; the others reach the libraries, the reply conventions, the
/// sandbox and the watchdog. Loops are bounded, so the same scripts are
/// safe against the real server (tests/it/fuzz_socket.rs), yet run long
/// enough for the offline harness to kill them (`OFFLINE_BUSY_MS`).
const GEN_SCRIPTS: &[&str] = &[
    "return redis.call(unpack(ARGV))",
    "return redis.pcall(unpack(ARGV))",
    "return {redis.pcall(unpack(ARGV))}",
    "redis.setresp(3) return redis.call(unpack(ARGV))",
    "redis.setresp(3) return redis.pcall(unpack(ARGV))",
    "redis.setresp(3) return cjson.encode(redis.pcall(unpack(ARGV)))",
    "return cjson.encode(redis.pcall(unpack(ARGV)))",
    "return cmsgpack.pack(redis.pcall(unpack(ARGV)))",
    "return cmsgpack.unpack(cmsgpack.pack(redis.pcall(unpack(ARGV))))",
    "return redis.call(ARGV[1], KEYS[1], unpack(ARGV, 2))",
    "redis.set_repl(redis.REPL_NONE) return redis.call(unpack(ARGV))",
    "redis.set_repl(tonumber(ARGV[1]) or 9) return redis.pcall(unpack(ARGV, 2))",
    "#!lua flags=no-writes\nreturn redis.call(unpack(ARGV))",
    "#!lua flags=allow-oom,allow-stale,no-cluster\nreturn redis.pcall(unpack(ARGV))",
    "#!lua\nreturn redis.pcall(unpack(ARGV))",
    "return pcall(redis.call, unpack(ARGV))",
    "return redis.acl_check_cmd(unpack(ARGV))",
    "return cjson.decode(ARGV[1])",
    "return cmsgpack.unpack(ARGV[1])",
    "return {struct.unpack(ARGV[1], ARGV[2] or '')}",
    "return struct.pack(ARGV[1], tonumber(ARGV[2]) or 0, ARGV[3])",
    "return bit.tohex(tonumber(ARGV[1]) or 0, tonumber(ARGV[2]) or 8)",
    "return redis.error_reply(ARGV[1])",
    "return redis.status_reply(ARGV[1])",
    "return {err = ARGV[1]}",
    "return {ok = ARGV[1]}",
    "redis.setresp(3) return {double = tonumber(ARGV[1])}",
    "redis.setresp(3) return {map = {a = 1, b = {2, 'x'}}, set = {c = true}}",
    "return {1, 'two', {3.5, false, true}, nil, 5}",
    "return tonumber(ARGV[1])",
    "return redis.sha1hex(ARGV[1])",
    "return math.random(tonumber(ARGV[1]) or 10)",
    "return loadstring(ARGV[1] or '')",
    "error(ARGV[1])",
    "x = 1",
    "return #string.rep('x', 2^26 + 1)",
    "local n = 0 for i = 1, 3e6 do n = n + 1 end return n",
    "for i = 1, 2e4 do redis.call('incr', KEYS[1] or 'k0') end return 1",
];

/// Libraries for FUNCTION LOAD; FCALL calls their functions by name.
const GEN_LIBRARIES: &[&str] = &[
    "#!lua name=lib\nredis.register_function('f', function(keys, args) return redis.call(unpack(args)) end)",
    "#!lua name=lib\nredis.register_function{function_name='f', callback=function(keys, args) return redis.pcall(unpack(args)) end, flags={'no-writes'}}",
    "#!lua name=lib2\nredis.register_function('g', function(keys, args) redis.setresp(3) return cjson.encode(redis.pcall(unpack(args))) end)\nredis.register_function('h', function(keys, args) local n = 0 for i = 1, 3e6 do n = n + 1 end return n end)",
    "#!lua name=lib3\nlocal x = 0",
    "#!lua name=lib\nredis.call('set', 'k0', 'v')",
];
const GEN_FUNCTIONS: &[&str] = &["f", "g", "h", "F", "nope"];

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
        let argv = gen_command(&mut d);
        out.push(script_call(&mut d, argv));
    }
    out
}

/// One command: a name from the table (or raw bytes), then arguments.
fn gen_command(d: &mut Draw) -> Vec<Vec<u8>> {
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
    argv
}

/// Give a script-carrying command a script that runs: EVAL, EVAL_RO and
/// SCRIPT LOAD get one of `GEN_SCRIPTS`, EVALSHA(_RO) its SHA-1, FCALL(_RO)
/// a function of `GEN_LIBRARIES`, FUNCTION LOAD a library; the scripts'
/// ARGV is a second generated command. Other commands pass unchanged.
fn script_call(d: &mut Draw, argv: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let word = |i: usize| argv.get(i).map(|a| a.to_ascii_lowercase());
    let name = word(0).unwrap_or_default();
    let lead: Vec<Vec<u8>> = match name.as_slice() {
        b"eval" | b"eval_ro" => vec![name.clone(), d.pick(GEN_SCRIPTS).as_bytes().to_vec()],
        b"evalsha" | b"evalsha_ro" => {
            let sha = crate::scripting::sha1_hex(d.pick(GEN_SCRIPTS).as_bytes());
            vec![name.clone(), sha.into_bytes()]
        }
        b"fcall" | b"fcall_ro" => vec![name.clone(), d.pick(GEN_FUNCTIONS).as_bytes().to_vec()],
        b"script" if word(1).as_deref() == Some(b"load") => {
            return vec![
                argv[0].clone(),
                argv[1].clone(),
                d.pick(GEN_SCRIPTS).as_bytes().to_vec(),
            ];
        }
        b"function" if word(1).as_deref() == Some(b"load") => {
            let mut out = vec![argv[0].clone(), argv[1].clone()];
            if d.byte() < 64 {
                out.push(b"REPLACE".to_vec());
            }
            out.push(d.pick(GEN_LIBRARIES).as_bytes().to_vec());
            return out;
        }
        _ => return argv,
    };
    // A byte in eight keeps the generated (probably wrong) arguments, for
    // the commands' own argument errors.
    if d.byte() < 32 {
        return argv;
    }
    let numkeys = usize::from(d.byte() % 3);
    let mut out = lead;
    out.push(numkeys.to_string().into_bytes());
    for _ in 0..numkeys {
        out.push(d.pick(GEN_KEYS).to_vec());
    }
    out.extend(gen_command(d));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn run(off: &mut Offline, argv: &[&str]) -> String {
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        String::from_utf8_lossy(&off.run(&args)).into_owned()
    }

    #[test]
    fn scripts_run_and_reach_commands() {
        let mut off = Offline::new();
        let r = run(&mut off, &["EVAL", GEN_SCRIPTS[0], "0", "SET", "k0", "v"]);
        assert_eq!(r, "+OK\r\n");
        assert_eq!(run(&mut off, &["GET", "k0"]), "$1\r\nv\r\n");
    }

    #[test]
    fn a_looping_script_is_killed_even_after_writes() {
        let mut off = Offline::new();
        let body = "local n = 0 while true do redis.call('incr', 'k0') n = n + 1 end";
        let r = run(&mut off, &["EVAL", body, "0"]);
        assert!(r.starts_with("-ERR Script killed by user"), "{r}");
        // The next script is not killed at once: the kill was for one run.
        assert_eq!(run(&mut off, &["EVAL", "return 7", "0"]), ":7\r\n");
        let lib = "#!lua name=l\nredis.register_function('spin', function() while true do end end)";
        assert_eq!(run(&mut off, &["FUNCTION", "LOAD", lib]), "$1\r\nl\r\n");
        let r = run(&mut off, &["FCALL", "spin", "0"]);
        assert!(r.starts_with("-ERR Script killed by user"), "{r}");
    }

    #[test]
    fn lua_memory_is_capped() {
        let mut off = Offline::new();
        let r = run(&mut off, &["EVAL", "return string.rep('x', 2^27)", "0"]);
        assert!(r.starts_with("-"), "{}", &r[..r.len().min(80)]);
        assert_eq!(run(&mut off, &["EVAL", "return 1", "0"]), ":1\r\n");
    }

    #[test]
    fn scripts_cannot_reach_refused_commands() {
        let mut off = Offline::new();
        for argv in [
            &["MIGRATE", "127.0.0.1", "1", "k0", "0", "10"][..],
            &["CONFIG", "SET", "dir", "/"],
        ] {
            let mut full = vec!["EVAL", "return redis.pcall(unpack(ARGV))", "0"];
            full.extend_from_slice(argv);
            let r = run(&mut off, &full);
            assert!(
                r.starts_with("-ERR refused by the offline harness")
                    || r.starts_with("-ERR This Redis command is not allowed from script"),
                "{argv:?}: {r}"
            );
        }
        let r = run(
            &mut off,
            &[
                "EVAL",
                "return redis.pcall(unpack(ARGV))",
                "0",
                "MIGRATE",
                "127.0.0.1",
                "1",
                "k0",
                "0",
                "10",
            ],
        );
        assert!(r.starts_with("-ERR refused by the offline harness"), "{r}");
        let r = run(&mut off, &["CONFIG", "SET", "busy-reply-threshold", "0"]);
        assert_eq!(r.as_bytes(), REFUSED_REPLY);
    }

    #[test]
    fn script_calls_decode_with_a_runnable_script() {
        // EVAL drawn from the table, then the script, keys, inner command.
        let eval = commands::COMMANDS
            .iter()
            .position(|c| c.name == "eval")
            .unwrap();
        let data = [
            0u8,
            (eval >> 8) as u8,
            eval as u8,
            0, // no arguments generated
            0,
            0,   // GEN_SCRIPTS[0]
            200, // the script form, not the generated arguments
            0,   // numkeys 0
        ];
        let argvs = commands_from_bytes(&data);
        assert_eq!(argvs[0][0], b"eval");
        assert_eq!(argvs[0][1], GEN_SCRIPTS[0].as_bytes());
        assert_eq!(argvs[0][2], b"0");
    }
}
