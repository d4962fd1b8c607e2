//! Sorted sets end to end, where replies are random or unordered and so
//! cannot be compared byte for byte with redis-server: ZRANDMEMBER's
//! properties, ZSCAN's completeness across growth, ZPOP paths on big sets,
//! huge arguments that must not allocate by their size, and BZPOPMIN /
//! BZPOPMAX / BZMPOP clients that really wait (served, FIFO, timeouts, AOF).

use crate::common::{send, wait_blocked, Conn, ServerProc, TempDir};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

fn fill(r: &mut redis::Connection, key: &str, n: usize) {
    let mut cmd = redis::cmd("ZADD");
    cmd.arg(key);
    for i in 0..n {
        cmd.arg(i as f64 / 2.0).arg(format!("m{i}"));
    }
    let added: usize = cmd.query(r).unwrap();
    assert_eq!(added, n);
}

fn encoding(r: &mut redis::Connection, key: &str) -> String {
    redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query(r)
        .unwrap()
}

#[test]
fn zrandmember_properties_in_both_encodings() {
    let s = ServerProc::start(&[]);
    let mut r = s.client();
    for (key, n, enc) in [("small", 20, "listpack"), ("big", 500, "skiplist")] {
        fill(&mut r, key, n);
        assert_eq!(encoding(&mut r, key), enc);
        let scores: HashMap<String, f64> =
            (0..n).map(|i| (format!("m{i}"), i as f64 / 2.0)).collect();
        // No count: one member.
        let one: String = redis::cmd("ZRANDMEMBER").arg(key).query(&mut r).unwrap();
        assert!(scores.contains_key(&one));
        // Positive counts: distinct members, min(count, size) of them; this
        // covers all three of Redis's strategies (whole set, drop from a
        // copy, sample).
        for count in [1, 3, n / 4, n / 2, n - 1, n, n + 10] {
            let got: Vec<String> = redis::cmd("ZRANDMEMBER")
                .arg(key)
                .arg(count)
                .query(&mut r)
                .unwrap();
            assert_eq!(got.len(), count.min(n), "{key} count {count}");
            let distinct: HashSet<&String> = got.iter().collect();
            assert_eq!(distinct.len(), got.len(), "{key} count {count} repeats");
            assert!(got.iter().all(|m| scores.contains_key(m)));
        }
        // Negative counts: exactly |count| picks, repeats allowed.
        let got: Vec<String> = redis::cmd("ZRANDMEMBER")
            .arg(key)
            .arg(-(3 * n as i64))
            .query(&mut r)
            .unwrap();
        assert_eq!(got.len(), 3 * n);
        assert!(got.iter().all(|m| scores.contains_key(m)));
        let distinct: HashSet<&String> = got.iter().collect();
        assert!(distinct.len() > 1, "negative count should sample randomly");
        // WITHSCORES: member/score pairs with the member's real score.
        let pairs: Vec<(String, f64)> = redis::cmd("ZRANDMEMBER")
            .arg(key)
            .arg(-50)
            .arg("WITHSCORES")
            .query(&mut r)
            .unwrap();
        assert_eq!(pairs.len(), 50);
        for (m, sc) in pairs {
            assert_eq!(scores[&m], sc);
        }
        let pairs: Vec<(String, f64)> = redis::cmd("ZRANDMEMBER")
            .arg(key)
            .arg(n / 5)
            .arg("WITHSCORES")
            .query(&mut r)
            .unwrap();
        assert_eq!(pairs.len(), n / 5);
        for (m, sc) in pairs {
            assert_eq!(scores[&m], sc);
        }
    }
}

#[test]
fn zrandmember_covers_every_member_eventually() {
    let s = ServerProc::start(&[]);
    let mut r = s.client();
    fill(&mut r, "big", 200);
    let mut seen = HashSet::new();
    for _ in 0..50 {
        let got: Vec<String> = redis::cmd("ZRANDMEMBER")
            .arg("big")
            .arg(-100)
            .query(&mut r)
            .unwrap();
        seen.extend(got);
    }
    assert_eq!(seen.len(), 200, "sampling never reached some members");
}

#[test]
fn zscan_returns_every_member_while_the_set_grows() {
    let s = ServerProc::start(&[]);
    let mut r = s.client();
    let n = 3000;
    fill(&mut r, "z", n);
    assert_eq!(encoding(&mut r, "z"), "skiplist");
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut cursor = 0u64;
    let mut extra = 0;
    loop {
        let (next, flat): (u64, Vec<String>) = redis::cmd("ZSCAN")
            .arg("z")
            .arg(cursor)
            .arg("COUNT")
            .arg(40)
            .query(&mut r)
            .unwrap();
        for pair in flat.chunks(2) {
            seen.insert(pair[0].clone(), pair[1].clone());
        }
        // Grow the member dict between calls so it rehashes mid-scan.
        let mut cmd = redis::cmd("ZADD");
        cmd.arg("z");
        for _ in 0..60 {
            cmd.arg(1).arg(format!("new{extra}"));
            extra += 1;
        }
        let _: i64 = cmd.query(&mut r).unwrap();
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    for i in 0..n {
        let score = seen
            .get(&format!("m{i}"))
            .unwrap_or_else(|| panic!("ZSCAN missed m{i}"));
        assert_eq!(score.parse::<f64>().unwrap(), i as f64 / 2.0);
    }
}

#[test]
fn zscan_match_filters_members() {
    let s = ServerProc::start(&[]);
    let mut r = s.client();
    fill(&mut r, "z", 1000);
    let mut got = HashSet::new();
    let mut cursor = 0u64;
    loop {
        let (next, flat): (u64, Vec<String>) = redis::cmd("ZSCAN")
            .arg("z")
            .arg(cursor)
            .arg("MATCH")
            .arg("m1*")
            .query(&mut r)
            .unwrap();
        for pair in flat.chunks(2) {
            assert!(pair[0].starts_with("m1"));
            got.insert(pair[0].clone());
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    // m1, m10..m19, m100..m199
    assert_eq!(got.len(), 1 + 10 + 100);
}

#[test]
fn huge_arguments_do_not_allocate_by_their_value() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    c.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    let max = "9223372036854775807";
    for args in [
        vec!["ZRANGE", "z", "0", max],
        vec!["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "0", max],
        vec!["ZRANGE", "z", "-", "+", "BYLEX", "LIMIT", "1", max],
        vec!["ZRANGESTORE", "d", "z", "0", max],
        vec!["ZPOPMIN", "nokey", max],
        vec!["ZRANDMEMBER", "z", max],
        vec!["ZRANDMEMBER", "z", "4611686018427387903", "WITHSCORES"],
        vec!["ZSCAN", "z", "0", "COUNT", max],
        vec!["ZINTERCARD", "1", "z", "LIMIT", max],
        vec!["ZMPOP", "1", "z", "MAX", "COUNT", max],
    ] {
        let reply = c.cmd(&args);
        assert!(
            !reply.starts_with(b"-"),
            "{args:?}: {:?}",
            String::from_utf8_lossy(&reply)
        );
    }
    // The server is still alive and the set was popped by ZMPOP.
    assert_eq!(c.cmd(&["EXISTS", "z"]), b":0\r\n");
}

#[test]
fn big_set_pops_and_range_removal_shrink_and_delete() {
    let s = ServerProc::start(&[]);
    let mut r = s.client();
    fill(&mut r, "z", 20_000);
    let popped: Vec<(String, f64)> = redis::cmd("ZPOPMIN").arg("z").arg(5).query(&mut r).unwrap();
    assert_eq!(popped[0], ("m0".to_string(), 0.0));
    assert_eq!(popped[4], ("m4".to_string(), 2.0));
    let removed: i64 = redis::cmd("ZREMRANGEBYSCORE")
        .arg("z")
        .arg("(100")
        .arg("+inf")
        .query(&mut r)
        .unwrap();
    assert_eq!(removed, 20_000 - 201);
    let card: i64 = redis::cmd("ZCARD").arg("z").query(&mut r).unwrap();
    assert_eq!(card, 196);
    let rank: Option<i64> = redis::cmd("ZRANK")
        .arg("z")
        .arg("m200")
        .query(&mut r)
        .unwrap();
    assert_eq!(rank, Some(195));
    let removed: i64 = redis::cmd("ZREMRANGEBYRANK")
        .arg("z")
        .arg(0)
        .arg(-1)
        .query(&mut r)
        .unwrap();
    assert_eq!(removed, 196);
    let exists: i64 = redis::cmd("EXISTS").arg("z").query(&mut r).unwrap();
    assert_eq!(exists, 0);
}

#[test]
fn zset_keyspace_notifications_match_redis() {
    let script: &[&[&str]] = &[
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        &["ZADD", "z", "1", "a"],
        &["ZADD", "z", "XX", "5", "nope"],
        &["ZADD", "z", "INCR", "1", "a"],
        &["ZINCRBY", "z", "0", "a"],
        &["ZINCRBY", "z", "1", "d"],
        &["ZREM", "z", "nope"],
        &["ZREM", "z", "d"],
        &["ZREMRANGEBYRANK", "z", "5", "9"],
        &["ZREMRANGEBYRANK", "z", "0", "0"],
        &["ZREMRANGEBYSCORE", "z", "100", "200"],
        &["ZREMRANGEBYSCORE", "z", "2", "2"],
        &["ZADD", "l", "0", "a", "0", "b", "0", "c"],
        &["ZREMRANGEBYLEX", "l", "[a", "[a"],
        &["ZREMRANGEBYLEX", "l", "-", "+"],
        &["ZADD", "p", "1", "a", "2", "b", "3", "c"],
        &["ZPOPMIN", "p"],
        &["ZPOPMAX", "p", "0"],
        &["ZPOPMAX", "p", "5"],
        &["ZPOPMIN", "nosuch"],
        &["ZADD", "p", "1", "a", "2", "b"],
        &["ZMPOP", "2", "nosuch", "p", "MAX", "COUNT", "5"],
        &["ZADD", "a", "1", "x", "2", "y"],
        &["ZADD", "b", "2", "y", "3", "z"],
        &["ZUNIONSTORE", "d", "2", "a", "b"],
        &["ZINTERSTORE", "d", "2", "a", "b"],
        &["ZDIFFSTORE", "d", "2", "a", "b"],
        &["ZDIFFSTORE", "d", "2", "a", "a"],
        &["ZDIFFSTORE", "d", "2", "a", "a"],
        &["ZRANGESTORE", "d", "a", "0", "0"],
        &["ZRANGESTORE", "d", "nosuch", "0", "-1"],
        &["ZRANGESTORE", "d", "a", "5", "9"],
        &["ZINTERSTORE", "d", "2", "a", "nosuch"],
    ];
    crate::pubsub_tx::assert_same_notifications(script);
}

#[test]
fn zset_lookups_count_keyspace_hits_and_misses_like_redis() {
    let script: &[&[&str]] = &[
        &["ZADD", "a", "1", "x", "2", "y"],
        &["ZCARD", "a"],
        &["ZCARD", "nokey"],
        &["ZSCORE", "a", "x"],
        &["ZMSCORE", "nokey", "x"],
        &["ZRANK", "a", "y"],
        &["ZRANGE", "a", "0", "-1"],
        &["ZRANGE", "nokey", "0", "-1"],
        &["ZRANGESTORE", "d", "a", "0", "-1"],
        &["ZCOUNT", "a", "-inf", "+inf"],
        &["ZLEXCOUNT", "nokey", "-", "+"],
        &["ZUNION", "2", "a", "nokey"],
        &["ZINTERSTORE", "d", "2", "a", "nokey"],
        &["ZINTERCARD", "2", "a", "a"],
        &["ZRANDMEMBER", "a"],
        &["ZSCAN", "a", "0"],
        &["ZINCRBY", "a", "1", "x"],
        &["ZREM", "a", "zz"],
        &["ZPOPMIN", "nokey"],
        &["ZMPOP", "2", "nokey", "a", "MIN"],
    ];
    crate::differential::assert_same_hits_and_misses(&[], script);
}

#[test]
fn zset_writes_invalidate_watch() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    let mut other = s.conn();
    c.cmd(&["ZADD", "a", "1", "x", "2", "y"]);
    for write in [
        &["ZADD", "w", "1", "m"][..],
        &["ZINCRBY", "w", "1", "m"],
        &["ZREM", "w", "m"],
        &["ZUNIONSTORE", "w", "1", "a"],
        &["ZPOPMIN", "w"],
        &["ZRANGESTORE", "w", "a", "0", "-1"],
        &["ZREMRANGEBYRANK", "w", "0", "0"],
        &["ZMPOP", "1", "w", "MAX"],
    ] {
        assert_eq!(c.cmds(&["WATCH", "w"]), "+OK\r\n");
        other.cmd(write);
        c.cmd(&["MULTI"]);
        c.cmd(&["ZCARD", "w"]);
        assert_eq!(c.cmds(&["EXEC"]), "*-1\r\n", "{write:?}");
    }
    // A read does not.
    c.cmd(&["ZADD", "w", "1", "m"]);
    assert_eq!(c.cmds(&["WATCH", "w"]), "+OK\r\n");
    other.cmd(&["ZRANGE", "w", "0", "-1"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["ZCARD", "w"]);
    assert_eq!(c.cmds(&["EXEC"]), "*1\r\n:1\r\n");
}

#[test]
fn zrandmember_refuses_replies_beyond_proto_max_bulk_len() {
    // A deliberate difference, like SRANDMEMBER's: Redis 7.0 would build
    // this reply until it ran out of memory.
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    c.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    let err = "-ERR ZRANDMEMBER reply would exceed proto-max-bulk-len, use a smaller count\r\n";
    assert_eq!(c.cmds(&["ZRANDMEMBER", "z", "-9223372036854775807"]), err);
    assert_eq!(
        c.cmds(&["ZRANDMEMBER", "z", "-4611686018427387903", "WITHSCORES"]),
        err
    );
    // "$1\r\na\r\n" is 7 bytes: at 1 MiB, 149796 draws fit, 149797 do not.
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "proto-max-bulk-len", "1048576"]),
        "+OK\r\n"
    );
    assert!(c
        .cmds(&["ZRANDMEMBER", "z", "-149796"])
        .starts_with("*149796\r\n"));
    assert_eq!(c.cmds(&["ZRANDMEMBER", "z", "-149797"]), err);
    assert!(c
        .cmds(&["ZRANDMEMBER", "z", "9223372036854775807"])
        .starts_with("*3\r\n"));
}

#[test]
fn plain_sets_count_as_score_one_in_the_algebra() {
    // Order-insensitive where the set side is a hashtable; compared with
    // redis-server member by member.
    let script: &[&[&str]] = &[
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        &["SADD", "si", "1", "2", "3"],
        &["SADD", "sh", "a", "d", "e"],
        &["ZADD", "zi", "10", "1", "20", "5"],
    ];
    let queries: &[&[&str]] = &[
        &["ZUNION", "2", "z", "sh", "WITHSCORES"],
        &["ZINTER", "2", "z", "sh", "WITHSCORES"],
        &["ZDIFF", "2", "z", "sh", "WITHSCORES"],
        &["ZDIFF", "1", "sh", "WITHSCORES"],
        &[
            "ZUNION",
            "3",
            "z",
            "sh",
            "si",
            "WEIGHTS",
            "1",
            "2",
            "3",
            "AGGREGATE",
            "MAX",
            "WITHSCORES",
        ],
        &["ZINTER", "2", "zi", "si", "WITHSCORES"],
        &["ZINTER", "2", "si", "zi", "AGGREGATE", "MIN", "WITHSCORES"],
        &["ZINTERCARD", "2", "si", "zi"],
        &["ZUNIONSTORE", "d", "2", "si", "sh"],
        &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        &["OBJECT", "ENCODING", "d"],
        &["ZDIFFSTORE", "d", "2", "si", "zi"],
        &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
    ];
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    for args in script {
        assert_eq!(a.cmd(args), b.cmd(args), "{args:?}");
    }
    for args in queries {
        assert_eq!(a.cmds(args), b.cmds(args), "{args:?}");
    }
}

// ---------------------------------------------------------------------------
// Persistence: RDB (ours and redis-server's) and the AOF.

/// Sorted sets of both encodings, with the scores that are easy to get
/// wrong in a file format (infinities, -0, values that need 17 digits).
fn fill_zsets(c: &mut crate::common::Conn) {
    c.cmd(&[
        "ZADD", "small", "1", "a", "0.1", "b", "-inf", "c", "inf", "d", "1e17", "e", "-2.5", "f",
    ]);
    let mut args = vec!["ZADD".to_string(), "large".into()];
    for i in 0..300 {
        args.push(format!("{}", (i as f64) / 7.0 - 10.0));
        args.push(format!("member:{i}"));
    }
    args.extend(["-0".into(), "negzero".into(), "inf".into(), "top".into()]);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    c.cmd(&a);
    c.cmd(&["ZADD", "long", "3", &"x".repeat(100), "4", "y"]);
}

fn zsets_snapshot(c: &mut crate::common::Conn) -> Vec<String> {
    ["small", "large", "long"]
        .iter()
        .flat_map(|k| {
            [
                c.cmds(&["ZRANGE", k, "0", "-1", "WITHSCORES"]),
                c.cmds(&["OBJECT", "ENCODING", k]),
            ]
        })
        .collect()
}

#[test]
fn zsets_survive_rdb_round_trip_and_interop_both_ways() {
    // Ours -> ours, and ours -> redis-server (which also checks our file
    // with its own loader).
    let d = TempDir::new("rdb-out");
    let s = ServerProc::start_in(&d.0, &["--save", ""]);
    let mut c = s.conn();
    fill_zsets(&mut c);
    let before = zsets_snapshot(&mut c);
    assert_eq!(before[1], "$8\r\nlistpack\r\n");
    assert_eq!(before[3], "$8\r\nskiplist\r\n");
    assert_eq!(before[5], "$8\r\nskiplist\r\n");
    assert_eq!(c.cmds(&["SAVE"]), "+OK\r\n");
    drop(s);
    let s = ServerProc::start_in(&d.0, &["--save", ""]);
    assert_eq!(zsets_snapshot(&mut s.conn()), before);
    drop(s);
    let r = ServerProc::start_reference_in(&d.0, &["--save", "", "--appendonly", "no"]);
    assert_eq!(zsets_snapshot(&mut r.conn()), before);
    drop(r);

    // redis-server -> ours: its listpack (type 17) and skiplist (type 5)
    // encodings both load.
    let d = TempDir::new("rdb-in");
    let r = ServerProc::start_reference_in(&d.0, &["--save", "", "--appendonly", "no"]);
    let mut c = r.conn();
    fill_zsets(&mut c);
    let theirs = zsets_snapshot(&mut c);
    assert_eq!(c.cmds(&["SAVE"]), "+OK\r\n");
    drop(r);
    let s = ServerProc::start_in(&d.0, &["--save", ""]);
    assert_eq!(zsets_snapshot(&mut s.conn()), theirs);
    assert_eq!(theirs, before);
}

#[test]
fn zset_writes_replay_from_the_aof() {
    let d = TempDir::new("aof");
    let args = crate::common::AOF_ALWAYS;
    let mut s = ServerProc::start_in(&d.0, &args);
    let mut c = s.conn();
    fill_zsets(&mut c);
    c.cmd(&["ZINCRBY", "small", "0.2", "a"]);
    c.cmd(&["ZADD", "small", "GT", "CH", "5", "b", "0", "f"]);
    c.cmd(&["ZREM", "large", "member:3", "member:4"]);
    c.cmd(&["ZREMRANGEBYSCORE", "large", "(0", "1"]);
    c.cmd(&["ZREMRANGEBYRANK", "large", "0", "4"]);
    c.cmd(&["ZPOPMIN", "large", "3"]);
    c.cmd(&["ZPOPMAX", "small"]);
    c.cmd(&["ZMPOP", "2", "nokey", "large", "MAX", "COUNT", "2"]);
    c.cmd(&[
        "ZUNIONSTORE",
        "u",
        "2",
        "small",
        "long",
        "WEIGHTS",
        "2",
        "0.5",
    ]);
    c.cmd(&["ZRANGESTORE", "r", "large", "10", "20"]);
    c.cmd(&["ZDIFFSTORE", "gone", "1", "nokey"]);
    let mut keys = vec!["small", "large", "long", "u", "r"];
    let snap = |c: &mut crate::common::Conn, keys: &[&str]| -> Vec<String> {
        keys.iter()
            .map(|k| c.cmds(&["ZRANGE", k, "0", "-1", "WITHSCORES"]))
            .collect()
    };
    let before = snap(&mut c, &keys);
    let _ = s.child.kill();
    let _ = s.child.wait();
    let log = std::fs::read(d.0.join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap();
    let text = String::from_utf8_lossy(&log);
    // ZMPOP is logged as the ZPOPMAX it performed.
    assert!(!text.to_ascii_uppercase().contains("ZMPOP"));
    let s = ServerProc::start_in(&d.0, &args);
    let mut c = s.conn();
    assert_eq!(snap(&mut c, &keys), before);
    assert_eq!(c.cmds(&["EXISTS", "gone"]), ":0\r\n");

    // The dataset writer (used when the AOF is switched on) emits ZADDs
    // that rebuild the same sets.
    let d2 = TempDir::new("aof-rewrite");
    let s2 = ServerProc::start_in(&d2.0, &["--save", ""]);
    let mut c2 = s2.conn();
    fill_zsets(&mut c2);
    // A replayed ZADD builds a listpack first, which stores -0 as 0, so a
    // -0 score can come back as 0 (as with Redis's own rewrite).
    c2.cmd(&["ZREM", "large", "negzero"]);
    keys.truncate(3);
    let before = snap(&mut c2, &keys);
    assert_eq!(c2.cmds(&["CONFIG", "SET", "appendonly", "yes"]), "+OK\r\n");
    assert!(crate::common::wait_until(
        std::time::Duration::from_secs(10),
        || c2
            .cmds(&["INFO", "persistence"])
            .contains("aof_rewrite_in_progress:0")
    ));
    drop(s2);
    let s2 = ServerProc::start_in(&d2.0, &["--appendonly", "yes", "--save", ""]);
    assert_eq!(snap(&mut s2.conn(), &keys), before);
}

// ---------------------------------------------------------------------------
// BZPOPMIN, BZPOPMAX, BZMPOP: clients that really wait. Blocking is
// polled (INFO clients `blocked_clients`), never slept on.

fn read(c: &mut Conn) -> String {
    String::from_utf8_lossy(&c.read_reply()).into_owned()
}

fn bulk(v: &str) -> String {
    format!("${}\r\n{v}\r\n", v.len())
}

/// BZPOPMIN/BZPOPMAX's RESP2 reply: `[key, member, score]`.
fn triple(key: &str, member: &str, score: &str) -> String {
    format!("*3\r\n{}{}{}", bulk(key), bulk(member), bulk(score))
}

#[test]
fn bzpopmin_is_served_by_zadd_from_another_client() {
    let srv = ServerProc::start(&[]);
    let mut ctl = srv.conn();
    let mut w = srv.conn();
    send(&mut w, &["BZPOPMIN", "nokey", "z", "0"]);
    wait_blocked(&mut ctl, 1);
    assert!(ctl.cmds(&["CLIENT", "LIST"]).contains("flags=b"));
    // Another type does not serve it: it keeps waiting.
    assert_eq!(ctl.cmds(&["SET", "z", "x"]), "+OK\r\n");
    assert_eq!(ctl.cmds(&["DEL", "z"]), ":1\r\n");
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmds(&["ZADD", "z", "2", "b", "1.5", "a"]), ":2\r\n");
    assert_eq!(read(&mut w), triple("z", "a", "1.5"));
    wait_blocked(&mut ctl, 0);
    assert_eq!(ctl.cmds(&["ZRANGE", "z", "0", "-1"]), "*1\r\n$1\r\nb\r\n");

    // BZPOPMAX in RESP3: the score is a double.
    assert!(w.cmds(&["HELLO", "3"]).starts_with('%'));
    send(&mut w, &["BZPOPMAX", "other", "0"]);
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["ZADD", "other", "1", "x", "3", "y", "2", "z"]);
    assert_eq!(read(&mut w), "*3\r\n$5\r\nother\r\n$1\r\ny\r\n,3\r\n");
    wait_blocked(&mut ctl, 0);
    assert_eq!(ctl.cmds(&["ZCARD", "other"]), ":2\r\n");
}

#[test]
fn zset_waiters_are_served_in_fifo_order() {
    let srv = ServerProc::start(&[]);
    let mut ctl = srv.conn();
    let mut waiters: Vec<Conn> = (0..3).map(|_| srv.conn()).collect();
    for (i, w) in waiters.iter_mut().enumerate() {
        send(w, &["BZPOPMIN", "z", "0"]);
        wait_blocked(&mut ctl, i + 1);
    }
    // Two members for three waiters: the first two in blocking order are
    // served, lowest score first; the third keeps waiting.
    assert_eq!(ctl.cmds(&["ZADD", "z", "1", "a", "2", "b"]), ":2\r\n");
    assert_eq!(read(&mut waiters[0]), triple("z", "a", "1"));
    assert_eq!(read(&mut waiters[1]), triple("z", "b", "2"));
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmds(&["EXISTS", "z"]), ":0\r\n");
    assert_eq!(ctl.cmds(&["ZADD", "z", "7", "c"]), ":1\r\n");
    assert_eq!(read(&mut waiters[2]), triple("z", "c", "7"));
    wait_blocked(&mut ctl, 0);
}

#[test]
fn zset_timeouts_reply_a_null_array() {
    let srv = ServerProc::start(&[]);
    let mut ctl = srv.conn();
    let mut w = srv.conn();
    for cmd in [
        &["BZPOPMIN", "z", "0.1"][..],
        &["BZPOPMAX", "z", "a", "0.1"][..],
        &["BZMPOP", "0.1", "2", "z", "a", "MAX", "COUNT", "3"][..],
    ] {
        let start = Instant::now();
        assert_eq!(w.cmds(cmd), "*-1\r\n", "{cmd:?}");
        assert!(start.elapsed() >= Duration::from_millis(100), "{cmd:?}");
    }
    // RESP3: the null is `_`.
    w.cmd(&["HELLO", "3"]);
    assert_eq!(w.cmds(&["BZPOPMIN", "z", "0.05"]), "_\r\n");
    // CLIENT UNBLOCK answers as a timeout.
    send(&mut w, &["BZMPOP", "0", "1", "z", "MIN"]);
    wait_blocked(&mut ctl, 1);
    let id = ctl.cmds(&["CLIENT", "LIST"]);
    let id = id
        .lines()
        .find(|l| l.contains("cmd=bzmpop"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|f| f.strip_prefix("id="))
        .expect("blocked client in CLIENT LIST")
        .to_string();
    assert_eq!(ctl.cmds(&["CLIENT", "UNBLOCK", &id]), ":1\r\n");
    assert_eq!(read(&mut w), "_\r\n");
    wait_blocked(&mut ctl, 0);
}

#[test]
fn bzmpop_max_count_when_served() {
    let srv = ServerProc::start(&[]);
    let mut ctl = srv.conn();
    let mut w = srv.conn();
    send(&mut w, &["BZMPOP", "0", "2", "a", "z", "MAX", "COUNT", "2"]);
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["ZADD", "z", "1", "one", "2", "two", "3", "three"]);
    assert_eq!(
        read(&mut w),
        format!(
            "*2\r\n{}*2\r\n*2\r\n{}{}*2\r\n{}{}",
            bulk("z"),
            bulk("three"),
            bulk("3"),
            bulk("two"),
            bulk("2")
        )
    );
    wait_blocked(&mut ctl, 0);
    assert_eq!(ctl.cmds(&["ZCARD", "z"]), ":1\r\n");
    // A count larger than the set takes what there is and deletes the key.
    send(&mut w, &["BZMPOP", "0", "1", "y", "MIN", "COUNT", "10"]);
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["ZADD", "y", "5", "m"]);
    assert_eq!(
        read(&mut w),
        format!("*2\r\n{}*1\r\n*2\r\n{}{}", bulk("y"), bulk("m"), bulk("5"))
    );
    assert_eq!(ctl.cmds(&["EXISTS", "y"]), ":0\r\n");
    // The wait ends on a zset only: a list on a waited key does not serve.
    send(&mut w, &["BZMPOP", "0", "1", "k", "MIN"]);
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["RPUSH", "k", "x"]);
    ctl.cmd(&["DEL", "k"]);
    ctl.cmd(&["ZADD", "k", "1", "x"]);
    assert_eq!(
        read(&mut w),
        format!("*2\r\n{}*1\r\n*2\r\n{}{}", bulk("k"), bulk("x"), bulk("1"))
    );
    wait_blocked(&mut ctl, 0);
}

#[test]
fn blocking_zset_pops_are_logged_as_their_effect_and_replay() {
    let tmp = TempDir::new("zsets-aof");
    let dir = &tmp.0;
    let args = crate::common::AOF_ALWAYS;
    let mut s = ServerProc::start_in(dir, &args);
    let mut ctl = s.conn();
    let mut w = s.conn();
    ctl.cmd(&["ZADD", "src", "1", "a", "2", "b", "3", "c", "4", "d"]);
    assert_eq!(w.cmds(&["BZPOPMIN", "src", "0"]), triple("src", "a", "1"));
    w.cmd(&["BZMPOP", "0", "1", "src", "MAX", "COUNT", "2"]);
    send(&mut w, &["BZPOPMAX", "q", "0"]);
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["ZADD", "q", "1", "x", "2", "y", "3", "z"]);
    assert_eq!(read(&mut w), triple("q", "z", "3"));
    send(
        &mut w,
        &["BZMPOP", "0", "2", "r", "q2", "MIN", "COUNT", "5"],
    );
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["ZADD", "r", "0", "v", "1", "w"]);
    read(&mut w);
    assert_eq!(ctl.cmds(&["EXISTS", "r"]), ":0\r\n");
    ctl.cmd(&["ZADD", "r", "9", "u"]);
    let keys = ["src", "q", "r"];
    let before: Vec<String> = keys
        .iter()
        .map(|k| ctl.cmds(&["ZRANGE", k, "0", "-1", "WITHSCORES"]))
        .collect();
    let _ = s.child.kill();
    let _ = s.child.wait();

    let log = std::fs::read(dir.join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap();
    let text = String::from_utf8_lossy(&log).to_ascii_uppercase();
    for blocking in ["BZPOPMIN", "BZPOPMAX", "BZMPOP"] {
        assert!(
            !text.contains(&format!("\r\n{blocking}\r\n")),
            "{blocking} logged"
        );
    }
    assert!(text.contains("\r\nZPOPMIN\r\n") && text.contains("\r\nZPOPMAX\r\n"));

    let s = ServerProc::start_in(dir, &args);
    let mut c = s.conn();
    let after: Vec<String> = keys
        .iter()
        .map(|k| c.cmds(&["ZRANGE", k, "0", "-1", "WITHSCORES"]))
        .collect();
    assert_eq!(after, before);
    drop(s);
}
