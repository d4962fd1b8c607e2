//! Streams in RDB form, end to end with Debian's redis-server 7.0: DUMP
//! payloads both ways (also into a redis-server that deep-sanitizes
//! them), Redis 5/6's type 15 payloads, malformed and damaged payloads,
//! dump.rdb files both ways (checked by redis-check-rdb), full-sync
//! replication both ways, AOF rewrite + restart, and the key commands
//! that move or copy a stream.
//!
//! RedisLite's stream commands are written elsewhere, so every stream here
//! is built by redis-server's commands and reaches RedisLite as a payload;
//! contents are compared on redis-server (XINFO STREAM FULL, XINFO GROUPS,
//! XPENDING, XRANGE) after moving the value back, or as DUMP bytes between
//! two RedisLite keys.

use crate::common::{wait_until, which, Conn, ServerProc, TempDir};
use crate::replication::{link_up, replica_of, LIMIT};
use redis::{Connection, Value};
use redislite::persistence::listpack;
use std::process::Command;

fn q(con: &mut Connection, args: &[&[u8]]) -> redis::RedisResult<Value> {
    let mut c = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con)
}

/// Run a command that must succeed.
fn ok(con: &mut Connection, args: &[&str]) -> Value {
    let b: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    q(con, &b).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn dump(con: &mut Connection, key: &str) -> Vec<u8> {
    match ok(con, &["DUMP", key]) {
        Value::BulkString(b) => b,
        other => panic!("DUMP {key}: {other:?}"),
    }
}

fn restore(con: &mut Connection, key: &str, payload: &[u8]) -> redis::RedisResult<Value> {
    q(
        con,
        &[b"RESTORE", key.as_bytes(), b"0", payload, b"REPLACE"],
    )
}

/// Streams covering what the codec must carry, built by redis-server:
/// many nodes (cut by count and by size), changing field sets, integers
/// of every listpack width, empty and binary strings, deleted entries
/// inside nodes, trimmed and emptied streams, XSETID counters, IDs whose
/// deltas wrap, and consumer groups with pending entries, claims, acks,
/// idle consumers and entries-read states.
pub(crate) fn populate_streams(con: &mut Connection) -> Vec<&'static str> {
    ok(con, &["XADD", "st_small", "1-1", "f", "v"]);
    let ints = [
        "0",
        "127",
        "128",
        "-1",
        "4095",
        "-4096",
        "32767",
        "-32768",
        "8388607",
        "-8388608",
        "2147483647",
        "-2147483648",
        "9223372036854775807",
        "-9223372036854775808",
        "007",
        "-0",
    ];
    for i in 0..1200usize {
        let id = format!("{}-{}", 1_000_000 + i / 4, i % 4);
        // Listpack elements needing 1, 2 and 3 back-length bytes.
        let big = "x".repeat(match i {
            500 => 20_000,
            _ if i % 97 == 0 => 5000,
            _ => i % 70,
        });
        let int = ints[i % ints.len()];
        let args: Vec<&str> = match i % 5 {
            0 | 1 => vec!["XADD", "st_many", &id, "name", &big, "n", int],
            2 => vec!["XADD", "st_many", &id, "name", "", "n", int],
            3 => vec!["XADD", "st_many", &id, "other", "\u{0}\r\n\u{ff}"],
            _ => vec!["XADD", "st_many", &id, int, int, "name", &big, "third", "3"],
        };
        ok(con, &args);
    }
    for i in 0..300 {
        ok(
            con,
            &[
                "XADD",
                "st_deleted",
                &format!("{}-0", 10 + i),
                "a",
                &i.to_string(),
            ],
        );
    }
    for id in ["10-0", "11-0", "150-0", "151-0", "309-0"] {
        ok(con, &["XDEL", "st_deleted", id]);
    }
    for i in 0..500 {
        ok(con, &["XADD", "st_trimmed", "*", "k", &i.to_string()]);
    }
    ok(con, &["XTRIM", "st_trimmed", "MAXLEN", "~", "250"]);
    ok(con, &["XTRIM", "st_trimmed", "MAXLEN", "240"]);
    for id in ["5-1", "6-1", "7-1"] {
        ok(con, &["XADD", "st_emptied", id, "f", "v"]);
    }
    ok(con, &["XDEL", "st_emptied", "5-1", "6-1", "7-1"]);
    ok(con, &["XGROUP", "CREATE", "st_emptied", "late", "0"]);
    ok(
        con,
        &["XGROUP", "CREATE", "st_mkstream", "g", "$", "MKSTREAM"],
    );
    ok(con, &["XADD", "st_setid", "3-3", "f", "v"]);
    ok(
        con,
        &[
            "XSETID",
            "st_setid",
            "9-9",
            "ENTRIESADDED",
            "40",
            "MAXDELETEDID",
            "2-2",
        ],
    );
    // ms delta past i64::MAX and a negative seq delta in one node; the
    // largest ID.
    ok(con, &["XADD", "st_wrap", "1-5", "a", "1"]);
    ok(
        con,
        &["XADD", "st_wrap", "18446744073709551614-0", "b", "2"],
    );
    ok(
        con,
        &[
            "XADD",
            "st_wrap",
            "18446744073709551615-18446744073709551615",
            "c",
            "3",
        ],
    );
    let mut wide = vec!["XADD", "st_wide", "1-0"];
    let names: Vec<String> = (0..300)
        .map(|i| format!("field-{i}-{}", "n".repeat(i % 40)))
        .collect();
    for n in &names {
        wide.push(n);
        wide.push(n);
    }
    ok(con, &wide);
    for i in 0..60 {
        ok(
            con,
            &[
                "XADD",
                "st_groups",
                &format!("{}-1", 100 + i),
                "f",
                &i.to_string(),
            ],
        );
    }
    ok(con, &["XGROUP", "CREATE", "st_groups", "g1", "0"]);
    ok(
        con,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "alice",
            "COUNT",
            "10",
            "STREAMS",
            "st_groups",
            ">",
        ],
    );
    ok(
        con,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "bob",
            "COUNT",
            "5",
            "STREAMS",
            "st_groups",
            ">",
        ],
    );
    ok(con, &["XACK", "st_groups", "g1", "101-1", "103-1"]);
    ok(
        con,
        &[
            "XCLAIM",
            "st_groups",
            "g1",
            "carol",
            "0",
            "104-1",
            "105-1",
            "RETRYCOUNT",
            "7",
            "TIME",
            "1700000000000",
        ],
    );
    ok(
        con,
        &["XGROUP", "CREATECONSUMER", "st_groups", "g1", "dave"],
    );
    // A pending entry whose stream entry is gone.
    ok(con, &["XDEL", "st_groups", "106-1"]);
    ok(
        con,
        &[
            "XGROUP",
            "CREATE",
            "st_groups",
            "g2",
            "$",
            "ENTRIESREAD",
            "60",
        ],
    );
    ok(con, &["XGROUP", "CREATE", "st_groups", "g3", "120-1"]);
    ok(con, &["XGROUP", "CREATE", "st_groups", "g4", "0"]);
    ok(
        con,
        &[
            "XGROUP",
            "SETID",
            "st_groups",
            "g4",
            "130-1",
            "ENTRIESREAD",
            "31",
        ],
    );
    ok(
        con,
        &[
            "XREADGROUP",
            "GROUP",
            "g4",
            "erin",
            "COUNT",
            "3",
            "STREAMS",
            "st_groups",
            ">",
        ],
    );
    vec![
        "st_small",
        "st_many",
        "st_deleted",
        "st_trimmed",
        "st_emptied",
        "st_mkstream",
        "st_setid",
        "st_wrap",
        "st_wide",
        "st_groups",
    ]
}

/// The names of a stream's groups, from XINFO GROUPS.
fn group_names(con: &mut Connection, key: &str) -> Vec<Vec<u8>> {
    let Value::Array(groups) = ok(con, &["XINFO", "GROUPS", key]) else {
        panic!("XINFO GROUPS {key}");
    };
    groups
        .into_iter()
        .filter_map(|g| match g {
            Value::Array(kv) => match &kv[..] {
                [_, Value::BulkString(name), ..] => Some(name.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Everything redis-server shows of a stream, with absolute times only
/// (XINFO STREAM FULL shows seen and delivery times, not idle times), and
/// without the node layout (radix-tree-keys/-nodes: ours cuts nodes
/// differently, which is not a difference in the stream).
fn state(con: &mut Connection, key: &str) -> String {
    let Value::Array(full) = ok(con, &["XINFO", "STREAM", key, "FULL", "COUNT", "0"]) else {
        panic!("XINFO STREAM {key} FULL");
    };
    let full: Vec<&[Value]> = full
        .chunks(2)
        .filter(|kv| {
            !matches!(&kv[0], Value::BulkString(k)
                if k == b"radix-tree-keys" || k == b"radix-tree-nodes")
        })
        .collect();
    let mut out = format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n",
        full,
        ok(con, &["XINFO", "GROUPS", key]),
        ok(con, &["XRANGE", key, "-", "+"]),
        ok(con, &["XLEN", key]),
    );
    for g in group_names(con, key) {
        let g = String::from_utf8(g).unwrap();
        // The extended form shows idle times (relative): only its length.
        let listed = match ok(con, &["XPENDING", key, &g, "-", "+", "1000"]) {
            Value::Array(v) => v.len(),
            other => panic!("XPENDING: {other:?}"),
        };
        out += &format!("{g}: {:?} {listed}\n", ok(con, &["XPENDING", key, &g]));
    }
    out
}

/// Equal states, or a failure showing where they part.
#[track_caller]
fn assert_same(want: &str, got: &str, what: &str) {
    if want == got {
        return;
    }
    let at = want
        .bytes()
        .zip(got.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(want.len().min(got.len()));
    let from = at.saturating_sub(200);
    let cut = |s: &str| {
        s.get(from..(at + 200).min(s.len()))
            .unwrap_or("")
            .to_string()
    };
    panic!(
        "{what}: states differ at byte {at}\nwant ...{}...\ngot  ...{}...",
        cut(want),
        cut(got)
    );
}

/// A payload's RDB length field at `pos`: (value, bytes).
fn len_at(p: &[u8], pos: usize) -> (u64, usize) {
    let b = p[pos];
    match b >> 6 {
        0 => (u64::from(b & 0x3f), 1),
        1 => ((u64::from(b & 0x3f) << 8) | u64::from(p[pos + 1]), 2),
        _ if b == 0x80 => (
            u64::from(u32::from_be_bytes(p[pos + 1..pos + 5].try_into().unwrap())),
            5,
        ),
        _ if b == 0x81 => (
            u64::from_be_bytes(p[pos + 1..pos + 9].try_into().unwrap()),
            9,
        ),
        _ => panic!("encoded length at {pos}"),
    }
}

/// Bytes an RDB string at `pos` takes (plain, int-encoded or LZF).
fn string_size(p: &[u8], pos: usize) -> usize {
    let b = p[pos];
    if b >> 6 == 3 {
        return match b & 0x3f {
            0 => 2,
            1 => 3,
            2 => 5,
            3 => {
                let (clen, a) = len_at(p, pos + 1);
                let (_, b) = len_at(p, pos + 1 + a);
                1 + a + b + clen as usize
            }
            _ => panic!("string encoding"),
        };
    }
    let (n, a) = len_at(p, pos);
    a + n as usize
}

/// A type 19 DUMP payload turned into the type 15 payload Redis 5/6 would
/// have written for the same stream: no first ID, max deleted ID or
/// entries-added, no entries-read per group; RDB version 9.
fn to_type_15(p: &[u8]) -> Vec<u8> {
    assert_eq!(p[0], 19);
    let mut out = vec![15u8];
    let mut pos = 1;
    let copy = |out: &mut Vec<u8>, pos: &mut usize, n: usize| {
        out.extend_from_slice(&p[*pos..*pos + n]);
        *pos += n;
    };
    let (nodes, a) = len_at(p, pos);
    copy(&mut out, &mut pos, a);
    for _ in 0..2 * nodes {
        let n = string_size(p, pos);
        copy(&mut out, &mut pos, n);
    }
    for _ in 0..3 {
        let (_, a) = len_at(p, pos); // length, last ID
        copy(&mut out, &mut pos, a);
    }
    for _ in 0..5 {
        pos += len_at(p, pos).1; // first ID, max deleted ID, entries added
    }
    let (groups, a) = len_at(p, pos);
    copy(&mut out, &mut pos, a);
    for _ in 0..groups {
        let n = string_size(p, pos);
        copy(&mut out, &mut pos, n);
        for _ in 0..2 {
            let (_, a) = len_at(p, pos);
            copy(&mut out, &mut pos, a);
        }
        pos += len_at(p, pos).1; // entries read
        let (pel, a) = len_at(p, pos);
        copy(&mut out, &mut pos, a);
        for _ in 0..pel {
            copy(&mut out, &mut pos, 24);
            let (_, a) = len_at(p, pos);
            copy(&mut out, &mut pos, a);
        }
        let (consumers, a) = len_at(p, pos);
        copy(&mut out, &mut pos, a);
        for _ in 0..consumers {
            let n = string_size(p, pos);
            copy(&mut out, &mut pos, n + 8);
            let (ids, a) = len_at(p, pos);
            copy(&mut out, &mut pos, a + 16 * ids as usize);
        }
    }
    assert_eq!(pos, p.len() - 10, "walked the whole object");
    framed(&out, 9)
}

/// `object` (type + body) with a footer for RDB `version`.
fn framed(object: &[u8], version: u16) -> Vec<u8> {
    let mut p = object.to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let crc = redislite::persistence::rdb::crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

fn sanitizing_reference() -> ServerProc {
    ServerProc::start_reference(&["--sanitize-dump-payload", "yes"])
}

#[test]
fn stream_payloads_cross_both_ways_with_equal_contents() {
    let theirs = ServerProc::start_reference(&[]);
    let ours = ServerProc::start(&["--save", ""]);
    let strict = sanitizing_reference();
    let (mut src, mut mid, mut dst) = (theirs.client(), ours.client(), strict.client());
    for key in populate_streams(&mut src) {
        let theirs_payload = dump(&mut src, key);
        assert_eq!(
            restore(&mut mid, key, &theirs_payload),
            Ok(Value::Okay),
            "RESTORE {key} from redis-server"
        );
        assert_eq!(
            ok(&mut mid, &["TYPE", key]),
            Value::SimpleString("stream".into())
        );
        assert_eq!(
            ok(&mut mid, &["OBJECT", "ENCODING", key]),
            Value::BulkString(b"stream".to_vec())
        );
        let ours_payload = dump(&mut mid, key);
        assert_eq!(ours_payload[0], 19, "{key}: written as type 19");
        // Our payload reads back into the same payload.
        let copy = format!("{key}:again");
        assert_eq!(restore(&mut mid, &copy, &ours_payload), Ok(Value::Okay));
        assert!(
            dump(&mut mid, &copy) == ours_payload,
            "{key}: unstable DUMP"
        );
        // And redis-server, sanitizing payloads deeply, takes it and holds
        // the very stream it started from.
        assert_eq!(
            restore(&mut dst, key, &ours_payload),
            Ok(Value::Okay),
            "{key}: redis-server refused our payload"
        );
        assert_same(&state(&mut src, key), &state(&mut dst, key), key);
    }
}

#[test]
fn type_15_payloads_load_as_redis_7_0_derives_them() {
    let theirs = ServerProc::start_reference(&[]);
    let ours = ServerProc::start(&["--save", ""]);
    let (mut r, mut o) = (theirs.client(), ours.client());
    for key in populate_streams(&mut r) {
        let old = to_type_15(&dump(&mut r, key));
        let as_loaded = format!("{key}:15");
        assert_eq!(restore(&mut r, &as_loaded, &old), Ok(Value::Okay), "{key}");
        assert_eq!(restore(&mut o, key, &old), Ok(Value::Okay), "{key}");
        let back = format!("{key}:back");
        assert_eq!(restore(&mut r, &back, &dump(&mut o, key)), Ok(Value::Okay));
        assert_same(&state(&mut r, &as_loaded), &state(&mut r, &back), key);
    }
}

/// A type 19 object (type byte + body) from its parts: nodes (master ID,
/// listpack), the metadata numbers, and the raw groups section.
fn stream_object(nodes: &[((u64, u64), Vec<u8>)], meta: &[u64], groups: &[u8]) -> Vec<u8> {
    let mut o = vec![19u8];
    let put_len = |o: &mut Vec<u8>, n: u64| {
        if n < 64 {
            o.push(n as u8);
        } else {
            o.push(0x81);
            o.extend_from_slice(&n.to_be_bytes());
        }
    };
    put_len(&mut o, nodes.len() as u64);
    for ((ms, seq), lp) in nodes {
        o.push(16);
        o.extend_from_slice(&ms.to_be_bytes());
        o.extend_from_slice(&seq.to_be_bytes());
        put_len(&mut o, lp.len() as u64);
        o.extend_from_slice(lp);
    }
    for &n in meta {
        put_len(&mut o, n);
    }
    o.extend_from_slice(groups);
    o
}

enum E<'a> {
    I(i64),
    S(&'a str),
}

fn lp(elems: &[E]) -> Vec<u8> {
    let mut w = listpack::Writer::new();
    for e in elems {
        match e {
            E::I(v) => w.push_int(*v),
            E::S(s) => w.push_str(s.as_bytes()),
        }
    }
    w.finish().unwrap()
}

/// Groups section: one group "g" at 1-1, entries read 1, a PEL of
/// `pel` IDs (ms-1), consumers named with their owned IDs.
fn groups(names: &[&str], pel: &[u64], consumers: &[(&str, &[u64])]) -> Vec<u8> {
    let mut o = vec![names.len() as u8];
    for name in names {
        o.push(name.len() as u8);
        o.extend_from_slice(name.as_bytes());
        o.extend_from_slice(&[1, 1, 1]);
        o.push(pel.len() as u8);
        for &ms in pel {
            o.extend_from_slice(&ms.to_be_bytes());
            o.extend_from_slice(&1u64.to_be_bytes());
            o.extend_from_slice(&1_700_000_000_000i64.to_le_bytes());
            o.push(1);
        }
        o.push(consumers.len() as u8);
        for (c, ids) in consumers {
            o.push(c.len() as u8);
            o.extend_from_slice(c.as_bytes());
            o.extend_from_slice(&1_700_000_000_000i64.to_le_bytes());
            o.push(ids.len() as u8);
            for &ms in *ids {
                o.extend_from_slice(&ms.to_be_bytes());
                o.extend_from_slice(&1u64.to_be_bytes());
            }
        }
    }
    o
}

#[test]
fn malformed_stream_payloads_are_refused_like_redis() {
    use E::{I, S};
    // One node at 1-1: entries 1-1 {f: v} and 2-1 {f: w}.
    let node = || {
        lp(&[
            I(2),
            I(0),
            I(1),
            S("f"),
            I(0),
            I(2),
            I(0),
            I(0),
            S("v"),
            I(4),
            I(2),
            I(1),
            I(0),
            S("w"),
            I(4),
        ])
    };
    let meta = [2u64, 2, 1, 1, 1, 0, 0, 2];
    let good = stream_object(
        &[((1, 1), node())],
        &meta,
        &groups(&["g"], &[1], &[("c", &[1])]),
    );
    let mut short_key = good.clone();
    short_key[2] = 15; // the node key claims 15 bytes
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("good", good),
        ("short node key", short_key),
        (
            "empty listpack",
            stream_object(&[((1, 1), lp(&[]))], &meta, &[0]),
        ),
        (
            "wrong lp-count",
            stream_object(
                &[(
                    (1, 1),
                    lp(&[
                        I(1),
                        I(0),
                        I(1),
                        S("f"),
                        I(0),
                        I(2),
                        I(0),
                        I(0),
                        S("v"),
                        I(5),
                    ]),
                )],
                &[1, 1, 1, 1, 1, 0, 0, 1],
                &[0],
            ),
        ),
        (
            "master entry not terminated",
            stream_object(
                &[(
                    (1, 1),
                    lp(&[
                        I(1),
                        I(0),
                        I(1),
                        S("f"),
                        I(7),
                        I(2),
                        I(0),
                        I(0),
                        S("v"),
                        I(4),
                    ]),
                )],
                &[1, 1, 1, 1, 1, 0, 0, 1],
                &[0],
            ),
        ),
        (
            "counts claim more entries",
            stream_object(
                &[(
                    (1, 1),
                    lp(&[
                        I(3),
                        I(0),
                        I(1),
                        S("f"),
                        I(0),
                        I(2),
                        I(0),
                        I(0),
                        S("v"),
                        I(4),
                    ]),
                )],
                &[1, 1, 1, 1, 1, 0, 0, 1],
                &[0],
            ),
        ),
        (
            "duplicate node key",
            stream_object(&[((1, 1), node()), ((1, 1), node())], &meta, &[0]),
        ),
        (
            "consumer ID not in the group PEL",
            stream_object(
                &[((1, 1), node())],
                &meta,
                &groups(&["g"], &[1], &[("c", &[2])]),
            ),
        ),
        (
            "duplicate consumer",
            stream_object(
                &[((1, 1), node())],
                &meta,
                &groups(&["g"], &[1], &[("c", &[1]), ("c", &[])]),
            ),
        ),
        (
            "duplicate group",
            stream_object(&[((1, 1), node())], &meta, &groups(&["g", "g"], &[], &[])),
        ),
        (
            "duplicate PEL entry",
            stream_object(&[((1, 1), node())], &meta, &groups(&["g"], &[1, 1], &[])),
        ),
        (
            "PEL entry without consumer",
            stream_object(&[((1, 1), node())], &meta, &groups(&["g"], &[1], &[])),
        ),
        (
            "huge node count",
            vec![19, 0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 16],
        ),
    ];
    let theirs = sanitizing_reference();
    let ours = ServerProc::start(&["--save", ""]);
    let (mut r, mut o) = (theirs.conn(), ours.conn());
    for (what, object) in &cases {
        let p = framed(object, 10);
        let args: [&[u8]; 5] = [b"RESTORE", b"k", b"0", &p, b"REPLACE"];
        r.send(&args);
        o.send(&args);
        let (want, got) = (r.read_reply(), o.read_reply());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{what}"
        );
        if *what != "good" {
            assert_eq!(got, b"-ERR Bad data format\r\n", "{what}");
        }
    }
    // Refused by us, though redis-server's checks let them in: a stream
    // that breaks the invariants its commands keep. Redis never writes
    // one.
    let ours_only: Vec<(&str, Vec<u8>)> = vec![
        (
            "length differs from the entries",
            stream_object(&[((1, 1), node())], &[5, 2, 1, 1, 1, 0, 0, 5], &[0]),
        ),
        (
            "last ID below an entry",
            stream_object(&[((1, 1), node())], &[2, 1, 1, 1, 1, 0, 0, 2], &[0]),
        ),
        (
            "entries added below the length",
            stream_object(&[((1, 1), node())], &[2, 2, 1, 1, 1, 0, 0, 1], &[0]),
        ),
        (
            "IDs do not increase",
            stream_object(
                &[((5, 1), node()), ((1, 1), node())],
                &[4, 9, 9, 1, 1, 0, 0, 4],
                &[0],
            ),
        ),
    ];
    for (what, object) in &ours_only {
        let p = framed(object, 10);
        let args: [&[u8]; 5] = [b"RESTORE", b"k", b"0", &p, b"REPLACE"];
        o.send(&args);
        assert_eq!(o.read_reply(), b"-ERR Bad data format\r\n", "{what}");
    }
    assert_eq!(o.cmds(&["PING"]), "+PONG\r\n");
}

/// Positions to damage: all of a short payload body, a stride through a
/// long one.
fn positions(len: usize) -> Vec<usize> {
    if len <= 200 {
        return (0..len).collect();
    }
    let mut v: Vec<usize> = (0..64).chain(len - 64..len).collect();
    v.extend((64..len - 64).step_by(len / 64));
    v
}

#[test]
fn damaged_stream_payloads_never_crash_and_what_loads_dumps_back() {
    let theirs = ServerProc::start_reference(&[]);
    let ours = ServerProc::start(&["--save", ""]);
    let mut src = theirs.client();
    let mut o = ours.conn();
    let mut payloads = Vec::new();
    for key in populate_streams(&mut src) {
        let p = dump(&mut src, key);
        payloads.push(to_type_15(&p));
        payloads.push(p);
    }
    let (mut refused, mut accepted) = (0, 0);
    for p in &payloads {
        let body = &p[..p.len() - 10];
        let version = u16::from_le_bytes([p[p.len() - 10], p[p.len() - 9]]);
        let mut damaged: Vec<Vec<u8>> = Vec::new();
        for i in positions(body.len()) {
            for x in [0xffu8, 0x01, 0x80] {
                let mut d = body.to_vec();
                d[i] ^= x;
                damaged.push(framed(&d, version));
            }
        }
        for n in (1..body.len()).step_by(body.len().div_ceil(50)) {
            damaged.push(framed(&body[..n], version));
        }
        for chunk in damaged.chunks(100) {
            for d in chunk {
                let args: [&[u8]; 5] = [b"RESTORE", b"v", b"0", d, b"REPLACE"];
                o.send(&args);
            }
            for _ in chunk {
                let r = o.read_reply();
                match &r[..] {
                    b"+OK\r\n" => accepted += 1,
                    b"-ERR Bad data format\r\n" => refused += 1,
                    _ => panic!("unexpected reply {:?}", String::from_utf8_lossy(&r)),
                }
            }
            // Whatever was accepted last dumps to a payload we take back
            // unchanged.
            o.send(&[b"DUMP".as_slice(), b"v"]);
            let r = o.read_reply();
            if r.starts_with(b"$") && r != b"$-1\r\n" {
                let start = r.iter().position(|&b| b == b'\n').unwrap() + 1;
                let payload = r[start..r.len() - 2].to_vec();
                let args: [&[u8]; 5] = [b"RESTORE", b"w", b"0", &payload, b"REPLACE"];
                o.send(&args);
                assert_eq!(o.read_reply(), b"+OK\r\n");
                o.send(&[b"DUMP".as_slice(), b"w"]);
                assert_eq!(o.read_reply(), r, "DUMP of a re-restored value differs");
            }
        }
        assert_eq!(o.cmds(&["PING"]), "+PONG\r\n");
    }
    assert!(
        refused > 500 && accepted > 0,
        "refused {refused}, accepted {accepted}"
    );
}

fn check_rdb(path: &std::path::Path) {
    let check = Command::new(which("redis-check-rdb").expect("redis-check-rdb (redis-tools)"))
        .arg(path)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success() && out.contains("RDB looks OK"),
        "{out}"
    );
}

#[test]
fn dump_rdb_files_with_streams_move_between_redis_and_redislite() {
    let d = TempDir::new("streams-rdb");
    let r = ServerProc::start_reference_in(&d.0, &["--save", "", "--appendonly", "no"]);
    let mut con = r.client();
    let keys = populate_streams(&mut con);
    let want: Vec<String> = keys.iter().map(|k| state(&mut con, k)).collect();
    ok(&mut con, &["SAVE"]);
    drop(r);
    // Redis's file into RedisLite, compared through a scratch redis-server.
    let s = ServerProc::start_in(&d.0, &["--save", "", "--enable-debug-command", "yes"]);
    let mut o = s.client();
    assert_eq!(ok(&mut o, &["DBSIZE"]), Value::Int(keys.len() as i64));
    let scratch = ServerProc::start_reference(&[]);
    let mut sc = scratch.client();
    let before: Vec<Vec<u8>> = keys.iter().map(|k| dump(&mut o, k)).collect();
    for ((key, p), want) in keys.iter().zip(&before).zip(&want) {
        assert_eq!(restore(&mut sc, key, p), Ok(Value::Okay));
        assert_same(want, &state(&mut sc, key), key);
    }
    // DEBUG RELOAD: our own file, written and read back.
    ok(&mut o, &["DEBUG", "RELOAD"]);
    for (key, p) in keys.iter().zip(&before) {
        assert!(dump(&mut o, key) == *p, "{key} changed across DEBUG RELOAD");
    }
    // Our file: redis-check-rdb accepts it and redis-server loads the same
    // streams from it.
    ok(&mut o, &["SAVE"]);
    drop(s);
    check_rdb(&d.0.join("dump.rdb"));
    let r = ServerProc::start_reference_in(
        &d.0,
        &[
            "--save",
            "",
            "--appendonly",
            "no",
            "--sanitize-dump-payload",
            "yes",
        ],
    );
    let mut con = r.client();
    for (key, want) in keys.iter().zip(&want) {
        assert_same(want, &state(&mut con, key), key);
    }
}

fn dbsize(s: &ServerProc) -> Value {
    ok(&mut s.client(), &["DBSIZE"])
}

#[test]
fn full_sync_carries_streams_between_redis_and_redislite() {
    // redis-server master -> RedisLite replica.
    let m = ServerProc::start_reference(&[]);
    let mut mc = m.client();
    let keys = populate_streams(&mut mc);
    let r = replica_of(&m);
    assert!(wait_until(LIMIT, || dbsize(&r) == dbsize(&m)));
    let scratch = ServerProc::start_reference(&[]);
    let mut sc = scratch.client();
    let mut rc = r.client();
    let payloads: Vec<Vec<u8>> = keys.iter().map(|k| dump(&mut rc, k)).collect();
    for (key, p) in keys.iter().zip(&payloads) {
        assert_eq!(restore(&mut sc, key, p), Ok(Value::Okay));
        assert_same(&state(&mut mc, key), &state(&mut sc, key), key);
    }
    // RedisLite master (holding those streams) -> redis-server replica and
    // -> RedisLite replica.
    let om = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    let mut oc = om.client();
    for (key, p) in keys.iter().zip(&payloads) {
        assert_eq!(restore(&mut oc, key, p), Ok(Value::Okay));
    }
    let port = om.port.to_string();
    let theirs = ServerProc::start_reference(&["--replicaof", "127.0.0.1", &port]);
    link_up(&theirs);
    let ours = replica_of(&om);
    assert!(wait_until(LIMIT, || dbsize(&theirs) == dbsize(&om)
        && dbsize(&ours) == dbsize(&om)));
    let mut tc = theirs.client();
    let mut uc = ours.client();
    for (key, p) in keys.iter().zip(&payloads) {
        assert_same(&state(&mut mc, key), &state(&mut tc, key), key);
        assert!(dump(&mut uc, key) == *p, "{key} on our replica");
    }
}

#[test]
fn streams_survive_bgrewriteaof_and_restart() {
    let theirs = ServerProc::start_reference(&[]);
    let mut src = theirs.client();
    let keys = populate_streams(&mut src);
    let d = TempDir::new("streams-aof");
    let args = crate::common::AOF_ALWAYS;
    let mut s = ServerProc::start_in(&d.0, &args);
    let mut o = s.client();
    let (first, rest) = keys.split_at(keys.len() / 2);
    for key in first {
        assert_eq!(restore(&mut o, key, &dump(&mut src, key)), Ok(Value::Okay));
    }
    let mut c: Conn = s.conn();
    let before = crate::common::info_u64(&mut c, "persistence", "aof_rewrites");
    assert!(c.cmds(&["BGREWRITEAOF"]).starts_with("+Background"));
    assert!(wait_until(LIMIT, || {
        crate::common::info_u64(&mut c, "persistence", "aof_rewrites") > before
            && crate::common::info_u64(&mut c, "persistence", "aof_rewrite_in_progress") == 0
    }));
    // After the rewrite: these reach the new incremental file as RESTOREs.
    for key in rest {
        assert_eq!(restore(&mut o, key, &dump(&mut src, key)), Ok(Value::Okay));
    }
    let payloads: Vec<Vec<u8>> = keys.iter().map(|k| dump(&mut o, k)).collect();
    // The base holds the streams in RDB form: redis-check-rdb reads it.
    let base = std::fs::read_dir(d.0.join("appendonlydir"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".base.rdb"))
        .expect("an RDB base");
    check_rdb(&base);
    let _ = s.child.kill();
    let _ = s.child.wait();
    let s = ServerProc::start_in(&d.0, &args);
    let mut o = s.client();
    for (key, p) in keys.iter().zip(&payloads) {
        assert!(dump(&mut o, key) == *p, "{key} differs after restart");
    }
}

#[test]
fn stream_keys_copy_rename_move_swapdb_and_introspection() {
    let theirs = ServerProc::start_reference(&[]);
    let mut src = theirs.client();
    populate_streams(&mut src);
    let s = ServerProc::start(&["--save", "", "--enable-debug-command", "yes"]);
    let mut o = s.client();
    let p = dump(&mut src, "st_groups");
    assert_eq!(restore(&mut o, "s", &p), Ok(Value::Okay));
    let ours = dump(&mut o, "s");
    assert_eq!(ok(&mut o, &["COPY", "s", "c"]), Value::Int(1));
    assert!(dump(&mut o, "c") == ours);
    // The copy is its own value: replacing it leaves the original.
    assert_eq!(
        restore(&mut o, "c", &dump(&mut src, "st_small")),
        Ok(Value::Okay)
    );
    assert!(dump(&mut o, "s") == ours);
    assert_eq!(ok(&mut o, &["COPY", "s", "c1", "DB", "1"]), Value::Int(1));
    ok(&mut o, &["RENAME", "s", "r"]);
    assert!(dump(&mut o, "r") == ours);
    assert_eq!(ok(&mut o, &["MOVE", "r", "2"]), Value::Int(1));
    ok(&mut o, &["SWAPDB", "2", "0"]);
    assert!(dump(&mut o, "r") == ours);
    assert_eq!(
        ok(&mut o, &["TYPE", "r"]),
        Value::SimpleString("stream".into())
    );
    assert_eq!(
        ok(&mut o, &["OBJECT", "ENCODING", "r"]),
        ok(&mut src, &["OBJECT", "ENCODING", "st_groups"])
    );
    let Value::Int(usage) = ok(&mut o, &["MEMORY", "USAGE", "r"]) else {
        panic!("MEMORY USAGE");
    };
    // 60 entries, 3 groups with PELs: more than the bytes of the strings.
    assert!(usage > 600, "MEMORY USAGE {usage}");
    let Value::SimpleString(obj) = ok(&mut o, &["DEBUG", "OBJECT", "r"]) else {
        panic!("DEBUG OBJECT");
    };
    assert!(obj.contains("encoding:stream"), "{obj}");
    ok(&mut o, &["SELECT", "1"]);
    assert!(dump(&mut o, "c1") == ours);
}

/// XINFO STREAM without the entries (their IDs depend on the clock only
/// through XADD `*`, which this test does not use).
fn stream_shape(con: &mut Connection, key: &str) -> String {
    format!("{:?}", ok(con, &["XINFO", "STREAM", key]))
}

/// The listpack node boundaries travel with the value: a stream built on
/// redis-server with small nodes and holes keeps its node count (XINFO's
/// radix-tree-keys) when RESTOREd here and after DEBUG RELOAD, and an
/// approximate trim then removes the same whole nodes on both servers.
#[test]
fn node_boundaries_survive_restore_and_reload() {
    let args = [
        "--stream-node-max-entries",
        "7",
        "--enable-debug-command",
        "yes",
    ];
    let theirs = ServerProc::start_reference(&args);
    let mut all = vec!["--save", ""];
    all.extend_from_slice(&args);
    let ours = ServerProc::start(&all);
    let (mut t, mut o) = (theirs.client(), ours.client());
    for i in 1..=60 {
        let id = format!("{i}-1");
        ok(&mut t, &["XADD", "s", &id, "f", &i.to_string()]);
    }
    // Holes: tombstones inside nodes, and one node emptied entirely.
    for i in [3, 9, 10, 11, 12, 13, 14, 15, 40] {
        ok(&mut t, &["XDEL", "s", &format!("{i}-1")]);
    }
    let payload = dump(&mut t, "s");
    restore(&mut o, "s", &payload).unwrap();
    assert_same(
        &stream_shape(&mut t, "s"),
        &stream_shape(&mut o, "s"),
        "after RESTORE",
    );
    ok(&mut o, &["DEBUG", "RELOAD"]);
    assert_same(
        &stream_shape(&mut t, "s"),
        &stream_shape(&mut o, "s"),
        "after DEBUG RELOAD",
    );
    for n in ["45", "30"] {
        assert_eq!(
            ok(&mut t, &["XTRIM", "s", "MAXLEN", "~", n]),
            ok(&mut o, &["XTRIM", "s", "MAXLEN", "~", n]),
            "XTRIM ~ {n}"
        );
        assert_same(
            &stream_shape(&mut t, "s"),
            &stream_shape(&mut o, "s"),
            "after XTRIM",
        );
    }
    // And back: our payload keeps redis-server's boundaries too.
    let ours_payload = dump(&mut o, "s");
    restore(&mut t, "s2", &ours_payload).unwrap();
    assert_same(
        &stream_shape(&mut t, "s"),
        &stream_shape(&mut t, "s2"),
        "round trip",
    );
}

/// XSETID may lower a stream's last ID below its max deleted ID and below
/// deleted entries still in a node (Redis 7.0 compares only with the last
/// live entry). Such a stream is saved as it is, by redis-server and by
/// us, and must load back on both sides.
#[test]
fn a_last_id_lowered_below_deleted_entries_crosses_both_ways() {
    let theirs = ServerProc::start_reference(&[]);
    let ours = ServerProc::start(&["--save", ""]);
    let (mut src, mut mid) = (theirs.client(), ours.client());
    for con in [&mut src, &mut mid] {
        ok(con, &["XADD", "s", "5-0", "a", "b"]);
        ok(con, &["XADD", "s", "6-0", "a", "b"]);
        ok(con, &["XDEL", "s", "6-0"]);
        ok(con, &["XSETID", "s", "5-0"]);
        ok(con, &["XGROUP", "CREATE", "s", "g", "0"]);
        // And a key where an entry was added below the deleted one: Redis
        // appends it after the tombstone, out of ID order.
        ok(con, &["XADD", "t", "5-0", "a", "b"]);
        ok(con, &["XADD", "t", "6-0", "a", "b"]);
        ok(con, &["XDEL", "t", "6-0"]);
        ok(con, &["XSETID", "t", "5-0"]);
        ok(con, &["XADD", "t", "5-1", "c", "d"]);
        ok(con, &["XADD", "t", "5-2", "a", "b"]);
        ok(con, &["XDEL", "t", "5-2"]);
        ok(con, &["XADD", "t", "5-3", "a", "b"]);
    }
    let theirs_payload = dump(&mut src, "t");
    assert_eq!(
        restore(&mut mid, "t-from-redis", &theirs_payload),
        Ok(Value::Okay)
    );
    assert_same(
        &state(&mut src, "t"),
        &state(&mut mid, "t-from-redis"),
        "out of order, from redis-server",
    );
    for con in [&mut src, &mut mid] {
        ok(con, &["XTRIM", "t", "MAXLEN", "1"]);
    }
    ok(&mut mid, &["XTRIM", "t-from-redis", "MAXLEN", "1"]);
    assert_same(
        &state(&mut src, "t"),
        &state(&mut mid, "t-from-redis"),
        "trimmed after loading",
    );
    // redis-server's image (with its tombstone 6-0) into ours.
    let theirs_payload = dump(&mut src, "s");
    assert_eq!(
        restore(&mut mid, "from-redis", &theirs_payload),
        Ok(Value::Okay)
    );
    assert_same(
        &state(&mut src, "s"),
        &state(&mut mid, "from-redis"),
        "from redis-server",
    );
    // Our own image into ours and into redis-server.
    let ours_payload = dump(&mut mid, "s");
    assert_eq!(restore(&mut mid, "again", &ours_payload), Ok(Value::Okay));
    assert_same(
        &state(&mut mid, "s"),
        &state(&mut mid, "again"),
        "our own DUMP",
    );
    assert_eq!(restore(&mut src, "from-us", &ours_payload), Ok(Value::Okay));
    assert_same(
        &state(&mut src, "s"),
        &state(&mut src, "from-us"),
        "into redis-server",
    );
}
