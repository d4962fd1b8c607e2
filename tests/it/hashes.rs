//! Hash commands end to end where the reply order is not defined (a
//! hashtable-encoded hash, random fields): checked by property, through the
//! `redis` crate and raw RESP3.

use crate::common::{Conn, ServerProc};
use redis::Commands;
use std::collections::{HashMap, HashSet};

/// A parsed reply, enough to check shapes (arrays vs maps, nesting).
#[derive(Debug, Clone, PartialEq)]
enum Resp {
    Bulk(Vec<u8>),
    Null,
    Int(i64),
    Error(String),
    Array(Vec<Resp>),
    Map(Vec<(Resp, Resp)>),
}

fn parse(buf: &[u8], pos: &mut usize) -> Resp {
    let end = *pos + buf[*pos..].windows(2).position(|w| w == b"\r\n").unwrap();
    let tag = buf[*pos];
    let body = std::str::from_utf8(&buf[*pos + 1..end])
        .unwrap()
        .to_string();
    *pos = end + 2;
    match tag {
        b'$' => {
            let n: i64 = body.parse().unwrap();
            if n < 0 {
                return Resp::Null;
            }
            let v = buf[*pos..*pos + n as usize].to_vec();
            *pos += n as usize + 2;
            Resp::Bulk(v)
        }
        b'_' => Resp::Null,
        b':' => Resp::Int(body.parse().unwrap()),
        b'-' => Resp::Error(body),
        b'+' => Resp::Bulk(body.into_bytes()),
        // Sets (COMMAND INFO flags) are read as arrays.
        b'*' | b'~' => {
            let n: usize = body.parse().unwrap();
            Resp::Array((0..n).map(|_| parse(buf, pos)).collect())
        }
        b'%' => {
            let n: usize = body.parse().unwrap();
            Resp::Map(
                (0..n)
                    .map(|_| {
                        let k = parse(buf, pos);
                        (k, parse(buf, pos))
                    })
                    .collect(),
            )
        }
        other => panic!("unexpected reply type {:?}", other as char),
    }
}

fn query(c: &mut Conn, args: &[&str]) -> Resp {
    let raw = c.cmd(args);
    let mut pos = 0;
    let r = parse(&raw, &mut pos);
    assert_eq!(pos, raw.len(), "one reply");
    r
}

fn bulk(r: &Resp) -> String {
    match r {
        Resp::Bulk(b) => String::from_utf8(b.clone()).unwrap(),
        other => panic!("expected a bulk string, got {other:?}"),
    }
}

fn array(r: Resp) -> Vec<Resp> {
    match r {
        Resp::Array(v) => v,
        other => panic!("expected an array, got {other:?}"),
    }
}

/// Fill `key` with `n` fields `f<i>` = `v<i>`.
fn fill(c: &mut Conn, key: &str, n: usize) {
    for i in 0..n {
        c.cmd(&["HSET", key, &format!("f{i}"), &format!("v{i}")]);
    }
}

#[test]
fn big_hash_is_a_hashtable_with_every_field() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    fill(&mut c, "h", 1000);
    assert_eq!(c.cmds(&["OBJECT", "ENCODING", "h"]), "$9\r\nhashtable\r\n");
    let mut r = s.client();
    let all: HashMap<String, String> = r.hgetall("h").unwrap();
    assert_eq!(all.len(), 1000);
    for i in 0..1000 {
        assert_eq!(all[&format!("f{i}")], format!("v{i}"));
    }
    let keys: HashSet<String> = r.hkeys("h").unwrap();
    let vals: HashSet<String> = r.hvals("h").unwrap();
    assert_eq!(keys.len(), 1000);
    assert_eq!(vals.len(), 1000);
    assert!(keys.contains("f999") && vals.contains("v999"));
    let n: usize = r.hlen("h").unwrap();
    assert_eq!(n, 1000);
    // Deleting down to a few fields keeps the hashtable (one-way).
    for i in 0..998 {
        let _: i64 = r.hdel("h", format!("f{i}")).unwrap();
    }
    assert_eq!(c.cmds(&["OBJECT", "ENCODING", "h"]), "$9\r\nhashtable\r\n");
    let all: HashMap<String, String> = r.hgetall("h").unwrap();
    assert_eq!(all.len(), 2);
    let _: i64 = r.hdel("h", &["f998", "f999"]).unwrap();
    assert_eq!(c.cmds(&["EXISTS", "h"]), ":0\r\n");
}

#[test]
fn hgetall_is_a_map_in_resp3_for_big_hashes() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    fill(&mut c, "h", 600);
    c.cmd(&["HELLO", "3"]);
    let Resp::Map(pairs) = query(&mut c, &["HGETALL", "h"]) else {
        panic!("HGETALL must be a map in RESP3");
    };
    assert_eq!(pairs.len(), 600);
    for (k, v) in &pairs {
        assert_eq!(bulk(k)[1..], bulk(v)[1..]);
    }
}

#[test]
fn hscan_covers_a_hashtable_while_it_grows_and_shrinks() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    fill(&mut c, "h", 2000);
    let mut r = s.client();
    let mut seen = HashSet::new();
    let mut cursor = 0u64;
    let mut extra = 0;
    let mut calls = 0;
    loop {
        let (next, flat): (u64, Vec<String>) = redis::cmd("HSCAN")
            .arg("h")
            .arg(cursor)
            .arg("COUNT")
            .arg(50)
            .query(&mut r)
            .unwrap();
        assert!(flat.len().is_multiple_of(2));
        for pair in flat.chunks(2) {
            if pair[0].starts_with('f') {
                assert_eq!(pair[0][1..], pair[1][1..], "field and value pair up");
            }
            seen.insert(pair[0].clone());
        }
        // Grow the table between calls (rehash mid-scan).
        for _ in 0..50 {
            c.cmd(&["HSET", "h", &format!("new{extra}"), "x"]);
            extra += 1;
        }
        calls += 1;
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert!(calls > 1, "a hashtable is scanned in several calls");
    for i in 0..2000 {
        assert!(seen.contains(&format!("f{i}")), "HSCAN missed f{i}");
    }
    // MATCH on a hashtable filters fields, and the scan still ends.
    let mut cursor = 0u64;
    let mut matched = HashSet::new();
    for _ in 0..100_000 {
        let (next, flat): (u64, Vec<String>) = redis::cmd("HSCAN")
            .arg("h")
            .arg(cursor)
            .arg("MATCH")
            .arg("f1*")
            .arg("COUNT")
            .arg(1000)
            .query(&mut r)
            .unwrap();
        for pair in flat.chunks(2) {
            assert!(pair[0].starts_with("f1"));
            matched.insert(pair[0].clone());
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(cursor, 0);
    // f1, f10-f19, f100-f199, f1000-f1999.
    assert_eq!(matched.len(), 1 + 10 + 100 + 1000);
}

/// HRANDFIELD properties for one hash of `n` fields (f<i> = v<i>).
fn check_randfield(c: &mut Conn, key: &str, n: usize, resp3: bool) {
    let field_ok = |f: &str| {
        f.strip_prefix('f')
            .is_some_and(|i| i.parse::<usize>().is_ok_and(|i| i < n))
    };
    // Single field.
    let f = bulk(&query(c, &["HRANDFIELD", key]));
    assert!(field_ok(&f), "{f}");
    // Positive counts: distinct members, min(count, n) of them.
    for count in [1, 2, n / 3, n / 2, n - 1, n, n + 5, 10 * n] {
        if count == 0 {
            continue;
        }
        let fields = array(query(c, &["HRANDFIELD", key, &count.to_string()]));
        assert_eq!(fields.len(), count.min(n), "count {count}");
        let distinct: HashSet<String> = fields.iter().map(bulk).collect();
        assert_eq!(distinct.len(), fields.len(), "distinct for count {count}");
        assert!(distinct.iter().all(|f| field_ok(f)));
        // WITHVALUES: flat pairs in RESP2, nested pairs in RESP3.
        let reply = array(query(
            c,
            &["HRANDFIELD", key, &count.to_string(), "WITHVALUES"],
        ));
        let pairs: Vec<(String, String)> = if resp3 {
            reply
                .into_iter()
                .map(|p| {
                    let p = array(p);
                    assert_eq!(p.len(), 2);
                    (bulk(&p[0]), bulk(&p[1]))
                })
                .collect()
        } else {
            assert!(reply.len().is_multiple_of(2));
            reply
                .chunks(2)
                .map(|p| (bulk(&p[0]), bulk(&p[1])))
                .collect()
        };
        assert_eq!(pairs.len(), count.min(n));
        let distinct: HashSet<&String> = pairs.iter().map(|(f, _)| f).collect();
        assert_eq!(distinct.len(), pairs.len());
        for (f, v) in &pairs {
            assert_eq!(f[1..], v[1..], "value belongs to its field");
        }
    }
    // Negative counts: exactly |count| members, repeats allowed.
    let fields = array(query(c, &["HRANDFIELD", key, &format!("-{}", 3 * n)]));
    assert_eq!(fields.len(), 3 * n);
    assert!(fields.iter().all(|f| field_ok(&bulk(f))));
    if n <= 5 {
        let distinct: HashSet<String> = fields.iter().map(bulk).collect();
        assert!(distinct.len() <= n);
    }
    let reply = array(query(c, &["HRANDFIELD", key, "-7", "WITHVALUES"]));
    if resp3 {
        assert_eq!(reply.len(), 7);
        for p in reply {
            let p = array(p);
            assert_eq!(bulk(&p[0])[1..], bulk(&p[1])[1..]);
        }
    } else {
        assert_eq!(reply.len(), 14);
        for p in reply.chunks(2) {
            assert_eq!(bulk(&p[0])[1..], bulk(&p[1])[1..]);
        }
    }
}

#[test]
fn hrandfield_properties_in_both_encodings_and_protocols() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    fill(&mut c, "small", 5);
    fill(&mut c, "mid", 100);
    fill(&mut c, "big", 700);
    assert_eq!(
        c.cmds(&["OBJECT", "ENCODING", "small"]),
        "$8\r\nlistpack\r\n"
    );
    assert_eq!(c.cmds(&["OBJECT", "ENCODING", "mid"]), "$8\r\nlistpack\r\n");
    assert_eq!(
        c.cmds(&["OBJECT", "ENCODING", "big"]),
        "$9\r\nhashtable\r\n"
    );
    for resp3 in [false, true] {
        if resp3 {
            c.cmd(&["HELLO", "3"]);
        }
        check_randfield(&mut c, "small", 5, resp3);
        check_randfield(&mut c, "mid", 100, resp3);
        check_randfield(&mut c, "big", 700, resp3);
    }
}

#[test]
fn hrandfield_draws_every_field_eventually() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    fill(&mut c, "h", 200);
    let fields = array(query(&mut c, &["HRANDFIELD", "h", "-20000"]));
    let distinct: HashSet<String> = fields.iter().map(bulk).collect();
    assert_eq!(distinct.len(), 200, "a fair sampler reaches every field");
}

#[test]
fn hrandfield_refuses_a_reply_it_cannot_build() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    c.cmd(&["HSET", "h", "a", "1"]);
    // Redis 7.0 tries to build this reply and runs out of memory.
    let reply = c.cmds(&["HRANDFIELD", "h", "-9223372036854775807"]);
    assert!(
        reply.starts_with("-ERR HRANDFIELD reply would exceed proto-max-bulk-len"),
        "{reply}"
    );
    let reply = c.cmds(&["HRANDFIELD", "h", "-4611686018427387903", "WITHVALUES"]);
    assert!(reply.starts_with("-ERR"), "{reply}");
    // A large but buildable one still works.
    let fields = array(query(&mut c, &["HRANDFIELD", "h", "-100000"]));
    assert_eq!(fields.len(), 100_000);
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
}

#[test]
fn copy_and_unlink_of_big_hashes() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    fill(&mut c, "h", 5000);
    assert_eq!(c.cmds(&["COPY", "h", "h2"]), ":1\r\n");
    assert_eq!(c.cmds(&["OBJECT", "ENCODING", "h2"]), "$9\r\nhashtable\r\n");
    assert_eq!(c.cmds(&["HLEN", "h2"]), ":5000\r\n");
    assert_eq!(c.cmds(&["HGET", "h2", "f4321"]), "$5\r\nv4321\r\n");
    c.cmd(&["HSET", "h2", "f0", "changed"]);
    assert_eq!(c.cmds(&["HGET", "h", "f0"]), "$2\r\nv0\r\n");
    assert_eq!(c.cmds(&["UNLINK", "h", "h2"]), ":2\r\n");
    assert_eq!(c.cmds(&["EXISTS", "h", "h2"]), ":0\r\n");
}

#[test]
fn hash_commands_are_in_the_command_table() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    let info = array(query(
        &mut c,
        &["COMMAND", "INFO", "hset", "hgetall", "hrandfield"],
    ));
    let arity: Vec<Resp> = info.into_iter().map(|i| array(i)[1].clone()).collect();
    assert_eq!(arity, vec![Resp::Int(-4), Resp::Int(2), Resp::Int(-2)]);
    let n = query(&mut c, &["COMMAND", "COUNT"]);
    assert!(matches!(n, Resp::Int(n) if n > 16));
    // Writes count as changes for the save rules (INFO rdb_changes...).
    let before = c.cmds(&["INFO", "persistence"]);
    assert!(before.contains("rdb_changes_since_last_save:0"), "{before}");
    c.cmd(&["HSET", "h", "a", "1", "b", "2"]);
    c.cmd(&["HINCRBY", "h", "a", "1"]);
    c.cmd(&["HDEL", "h", "a", "b"]);
    let after = c.cmds(&["INFO", "persistence"]);
    assert!(after.contains("rdb_changes_since_last_save:5"), "{after}");
}

#[test]
fn hash_keyspace_notifications_match_redis() {
    let script: &[&[&str]] = &[
        &["HSET", "h", "a", "1", "b", "2"],
        &["HMSET", "h", "c", "3"],
        &["HSETNX", "h", "a", "9"],
        &["HSETNX", "h", "d", "4"],
        &["HINCRBY", "h", "a", "5"],
        &["HINCRBYFLOAT", "h", "b", "1.5"],
        &["HINCRBYFLOAT", "h", "nope", "inf"],
        &["HDEL", "h", "nosuch"],
        &["HDEL", "h", "a", "b"],
        &["HDEL", "h", "c", "d"],
        &["HINCRBY", "n", "x", "1"],
        &["DEL", "n"],
    ];
    crate::pubsub_tx::assert_same_notifications(script);
}

#[test]
fn watch_sees_hash_writes() {
    let s = ServerProc::start(&[]);
    let mut a = s.conn();
    let mut b = s.conn();
    a.cmd(&["HSET", "h", "f", "1"]);
    for write in [
        &["HSET", "h", "f", "2"][..],
        &["HINCRBY", "h", "f", "1"],
        &["HDEL", "h", "f"],
    ] {
        a.cmd(&["HSET", "h", "f", "1"]);
        assert_eq!(a.cmds(&["WATCH", "h"]), "+OK\r\n");
        a.cmd(&["MULTI"]);
        a.cmd(&["HGET", "h", "f"]);
        b.cmd(write);
        assert_eq!(a.cmds(&["EXEC"]), "*-1\r\n", "{write:?} must abort EXEC");
    }
}
