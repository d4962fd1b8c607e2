//! The bodies of the fuzz targets: one plain function per target, taking
//! the raw input bytes.
//!
//! Owns: `resp_parser`, `commands`, `aof_loader`, `rdb_loader`,
//! `repl_stream` (each the whole of what its cargo-fuzz target in
//! `fuzz/fuzz_targets/` runs; those are one-line wrappers) and the
//! [`TARGETS`] table that names them. The libFuzzer runs (nightly, `make
//! fuzz`) and the stable corpus replay (`tests/fuzz_corpus.rs`, part of
//! `make test`) therefore execute exactly the same code and assertions.
//!
//! Must never: touch the file system, the network or other processes
//! (everything goes through [`Offline`], which refuses commands that
//! would), nor keep state between calls: each call starts from a fresh
//! server, so an input's outcome depends on its bytes alone.
//!
//! Invariants: a function returns normally for every input it accepts or
//! rejects; it panics (an `assert!`) only when a property is broken, and
//! that panic is the finding both harnesses report. Every loop is bounded
//! by the input length or by a constant.

use super::offline::{commands_from_bytes, parse_requests, replies_well_formed, Offline};
use crate::bench::reply::{ReplyReader, Tally};
use crate::connection::Client;
use crate::resp::parser::{Parsed, Parser};

/// A fuzz target's body.
pub type Entry = fn(&[u8]);

/// Every target, by the name of its cargo-fuzz binary and of its seed
/// directory `fuzz/seeds/<name>/`.
pub const TARGETS: &[(&str, Entry)] = &[
    ("resp_parser", resp_parser),
    ("commands", commands),
    ("aof_loader", aof_loader),
    ("rdb_loader", rdb_loader),
    ("repl_stream", repl_stream),
    ("script_libs", script_libs),
];

/// proto-max-bulk-len for the parser target: small enough that a claim
/// past it is an error path the fuzzer reaches, large enough for seeds.
const PARSER_MAX_BULK: u64 = 1024 * 1024;

/// Cut `data` into successive pieces at `cuts` (any values: each is taken
/// modulo `data.len() + 1`, then sorted), as reads of one connection.
pub fn split_at<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|&c| c % (data.len() + 1)).collect();
    points.sort_unstable();
    let mut out = Vec::with_capacity(points.len() + 1);
    let mut start = 0;
    for p in points {
        out.push(&data[start..p]);
        start = p;
    }
    out.push(&data[start..]);
    out
}

/// Feed the pieces to the benchmark's reply reader; the tally and
/// whether it failed.
fn read_replies(pieces: &[&[u8]]) -> (Tally, bool) {
    let mut reader = ReplyReader::default();
    let mut tally = Tally::default();
    for p in pieces {
        if reader.feed(p, &mut tally).is_err() {
            return (tally, true);
        }
    }
    (tally, false)
}

/// The RESP readers: the first three bytes choose up to three cut points,
/// the rest is the stream. The server's request parser (multibulk and
/// inline) and the benchmark's RESP2/RESP3 reply reader must give the
/// same result whole and split, and the parser never reports a range
/// outside its buffer (`parse_requests` asserts it).
pub fn resp_parser(input: &[u8]) {
    let [c0, c1, c2, data @ ..] = input else {
        return;
    };
    let cuts = [usize::from(*c0) * 4, usize::from(*c1) * 2, usize::from(*c2)];
    let whole = [data];
    let split = split_at(data, &cuts);
    assert_eq!(
        parse_requests(&whole, PARSER_MAX_BULK),
        parse_requests(&split, PARSER_MAX_BULK),
        "request parse changed by splitting at {cuts:?}"
    );
    let (t1, e1) = read_replies(&whole);
    let (t2, e2) = read_replies(&split);
    assert_eq!(
        e1, e2,
        "reply reader error changed by splitting at {cuts:?}"
    );
    if !e1 {
        assert_eq!(t1, t2, "reply count changed by splitting at {cuts:?}");
    }
}

/// The command layer: the first byte picks RESP2 or RESP3, the rest
/// decodes (`commands_from_bytes`) into argument vectors run through the
/// dispatcher. No command panics, every reply is well-formed RESP, and a
/// new client still gets PONG afterwards (the script's own client may be
/// subscribed, in MULTI, or have replies off).
pub fn commands(input: &[u8]) {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let mut off = Offline::new();
    off.set_resp3(mode & 1 == 1);
    for argv in commands_from_bytes(rest) {
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        let out = off.run(&args);
        assert!(
            replies_well_formed(&out),
            "malformed reply to {:?}: {:?}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>(),
            String::from_utf8_lossy(&out)
        );
    }
    off.client = Client::new_fake(2);
    assert_eq!(off.run(&[b"PING"]), b"+PONG\r\n");
}

/// The AOF loader: the input is a whole log image, verified record by
/// record and its valid prefix replayed. What it keeps is a prefix.
pub fn aof_loader(data: &[u8]) {
    let mut off = Offline::new();
    if let Ok(keep) = off.load_aof(data) {
        assert!(keep <= data.len(), "kept {keep} of {} bytes", data.len());
    }
}

/// Command words around a key: (before it, after it).
type AroundKey = (&'static [&'static [u8]], &'static [&'static [u8]]);

/// Reads that walk a whole value of each type; the wrong-type ones just
/// answer WRONGTYPE.
const RDB_READS: &[AroundKey] = &[
    (&[b"TYPE"], &[]),
    (&[b"OBJECT", b"ENCODING"], &[]),
    (&[b"GET"], &[]),
    (&[b"LRANGE"], &[b"0", b"-1"]),
    (&[b"HGETALL"], &[]),
    (&[b"SMEMBERS"], &[]),
    (&[b"ZRANGE"], &[b"0", b"-1", b"WITHSCORES"]),
    (&[b"PTTL"], &[]),
    (&[b"MEMORY", b"USAGE"], &[]),
];

/// Most keys of a loaded dump read back whole per input.
const RDB_KEYS_READ: usize = 32;

/// The RDB loader: the input is a whole dump. After a successful load
/// every key (up to `RDB_KEYS_READ`) reads back whole by the commands of
/// its family with well-formed replies, and a stream's DUMP restores into
/// a value with the same DUMP (the loader let in only streams that keep
/// the invariants the writer and the reader both check).
pub fn rdb_loader(data: &[u8]) {
    let mut off = Offline::new();
    if off.load_rdb(data).is_err() {
        return;
    }
    let keys = off.run(&[b"KEYS", b"*"]);
    assert!(replies_well_formed(&keys));
    // A multibulk of bulk strings is also a request: the request parser
    // lists the keys.
    let mut parser = Parser::new(u64::MAX);
    let Ok(Parsed::Command { .. }) = parser.parse(&keys) else {
        return; // no keys
    };
    let names: Vec<Vec<u8>> = parser
        .arg_ranges()
        .iter()
        .take(RDB_KEYS_READ)
        .map(|r| keys[r.clone()].to_vec())
        .collect();
    for key in &names {
        for (before, after) in RDB_READS {
            let mut argv: Vec<&[u8]> = before.to_vec();
            argv.push(key);
            argv.extend_from_slice(after);
            let out = off.run(&argv);
            assert!(
                replies_well_formed(&out),
                "{:?}",
                String::from_utf8_lossy(&out)
            );
        }
        if off.run(&[b"TYPE", key]) == b"+stream\r\n" {
            stream_dump_round_trips(&mut off, key);
        }
    }
}

/// The key RDB loader checks copy a stream to (deleted afterwards).
const STREAM_COPY_KEY: &[u8] = b"\xff fuzz stream copy";

/// DUMP `key` (a stream), RESTORE the payload under another name, DUMP
/// that: the same bytes.
fn stream_dump_round_trips(off: &mut Offline, key: &[u8]) {
    let reply = off.run(&[b"DUMP", key]);
    let body_at = reply.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
    assert!(
        reply.starts_with(b"$") && reply.len() >= body_at + 2,
        "DUMP of a stream: {:?}",
        String::from_utf8_lossy(&reply)
    );
    let payload = &reply[body_at..reply.len() - 2];
    let restored = off.run(&[b"RESTORE", STREAM_COPY_KEY, b"0", payload, b"REPLACE"]);
    assert_eq!(
        restored,
        b"+OK\r\n",
        "our own stream payload refused: {:?}",
        String::from_utf8_lossy(&restored)
    );
    assert!(
        off.run(&[b"DUMP", STREAM_COPY_KEY]) == reply,
        "a restored stream dumps differently"
    );
    off.run(&[b"DEL", STREAM_COPY_KEY]);
}

/// The replica's master-link reader: the first byte chooses where the
/// stream (from the third byte on) is cut into two reads; the stream is
/// what a master sends after our PING (handshake replies, +FULLRESYNC or
/// +CONTINUE, the `$len` payload, commands). Whatever it does, the
/// server still answers PING.
pub fn repl_stream(input: &[u8]) {
    let [c0, _, data @ ..] = input else {
        return;
    };
    let cut = (usize::from(*c0) * 7).min(data.len());
    let mut off = Offline::new();
    let _ = off.feed_master_link(&[&data[..cut], &data[cut..]]);
    assert_eq!(off.run(&[b"PING"]), b"+PONG\r\n");
}

/// What scripts decode from untrusted bytes (a client's ARGV): the first
/// byte picks `cjson.decode`, `cmsgpack.unpack`, or `struct.unpack` (the
/// format up to the first NUL, then the data); what decodes is encoded
/// again (`cmsgpack.pack`, `cjson.encode`). Errors are expected; a panic,
/// a hang or an allocation by a claimed length is a bug. The state is the
/// real sandbox, built once per thread.
pub fn script_libs(input: &[u8]) {
    use mlua::{Function, Lua, MultiValue, Table, Value};
    thread_local! {
        static LUA: Option<Lua> = crate::scripting::sandbox::new_state(
            Default::default(),
            Some(crate::scripting::OFFLINE_LUA_MEMORY),
        )
        .ok();
    }
    let [pick, data @ ..] = input else {
        return;
    };
    LUA.with(|lua| {
        let Some(lua) = lua else {
            panic!("the script sandbox could not be built");
        };
        let lib = |name: &str, func: &str| -> Option<Function> {
            let t: Table = lua.globals().get(name).ok()?;
            t.get(func).ok()
        };
        let bytes = |b: &[u8]| lua.create_string(b).map(Value::String);
        let decoded: mlua::Result<MultiValue> = match pick % 3 {
            0 => match (lib("cjson", "decode"), bytes(data)) {
                (Some(f), Ok(s)) => f.call(s),
                _ => return,
            },
            1 => match (lib("cmsgpack", "unpack"), bytes(data)) {
                (Some(f), Ok(s)) => f.call(s),
                _ => return,
            },
            _ => {
                let nul = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                let rest = data.get(nul + 1..).unwrap_or(&[]);
                match (lib("struct", "unpack"), bytes(&data[..nul]), bytes(rest)) {
                    (Some(f), Ok(fmt), Ok(d)) => f.call((fmt, d)),
                    _ => return,
                }
            }
        };
        if let Ok(values) = decoded {
            if let Some(pack) = lib("cmsgpack", "pack") {
                let _ = pack.call::<Value>(values.clone());
            }
            if let (Some(encode), Some(first)) = (lib("cjson", "encode"), values.into_iter().next())
            {
                let _ = encode.call::<Value>(first);
            }
        }
        // Keep the state small between inputs.
        let _ = lua.gc_collect();
    });
}
