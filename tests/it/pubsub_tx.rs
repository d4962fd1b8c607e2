//! Pub/sub, transactions, WATCH and keyspace notifications, end to end
//! with several real connections; the single-reply parts are also checked
//! against redis-server with the differential harness.

use crate::common::{encode, info_u64, wait_until, Conn, ServerProc};
use crate::differential::check;
use std::time::Duration;

#[test]
fn transactions_match_redis() {
    check(
        r#"
        MULTI
        SET a 1
        INCR a
        GET a
        EXEC
        MULTI
        SET a 1
        FOO
        EXEC
        MULTI
        MULTI
        SET a
        EXEC
        EXEC
        DISCARD
        MULTI
        WATCH x
        INCR a
        GET
        EXEC
        MULTI
        SET s abc
        INCR s
        GET s
        EXEC
        WATCH a b
        UNWATCH
        MULTI
        DISCARD
        DISCARD
        MULTI
        PING
        ECHO hi
        EXEC
        "#,
    );
}

#[test]
fn pubsub_single_replies_match_redis() {
    check(
        r#"
        PUBLISH ch hello
        PUBSUB NUMPAT
        PUBSUB NUMSUB a b
        PUBSUB CHANNELS
        PUBSUB FOO
        PUBSUB CHANNELS a b
        PubSub ChanNels a b
        PUBLISH ch
        UNSUBSCRIBE
        PUNSUBSCRIBE
        SUBSCRIBE only
        PING
        PING hi
        GET a
        UNSUBSCRIBE only
        GET a
        "#,
    );
}

fn read_n(c: &mut Conn, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| String::from_utf8_lossy(&c.read_reply()).into_owned())
        .collect()
}

#[test]
fn messages_reach_channel_and_pattern_subscribers() {
    let s = ServerProc::start(&[]);
    let mut sub = s.conn();
    sub.send(&[b"SUBSCRIBE", b"news", b"sports"]);
    let r = read_n(&mut sub, 2);
    assert_eq!(r[1], "*3\r\n$9\r\nsubscribe\r\n$6\r\nsports\r\n:2\r\n");
    sub.send(&[b"PSUBSCRIBE", b"n*"]);
    assert_eq!(
        read_n(&mut sub, 1)[0],
        "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:3\r\n"
    );
    let mut publisher = s.conn();
    assert_eq!(publisher.cmds(&["PUBLISH", "news", "hi"]), ":2\r\n");
    let got = read_n(&mut sub, 2);
    assert_eq!(got[0], "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
    assert_eq!(
        got[1],
        "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
    );
    assert_eq!(
        publisher.cmds(&["PUBSUB", "NUMSUB", "news", "none"]),
        "*4\r\n$4\r\nnews\r\n:1\r\n$4\r\nnone\r\n:0\r\n"
    );
    assert_eq!(publisher.cmds(&["PUBSUB", "NUMPAT"]), ":1\r\n");
    drop(sub);
    assert!(wait_until(Duration::from_secs(5), || publisher
        .cmds(&["PUBSUB", "NUMPAT"])
        == ":0\r\n"));
    assert_eq!(publisher.cmds(&["PUBLISH", "news", "x"]), ":0\r\n");
}

#[test]
fn resp3_subscriber_gets_pushes_and_may_run_commands() {
    let s = ServerProc::start(&[]);
    let mut sub = s.conn();
    sub.cmd(&["HELLO", "3"]);
    sub.send(&[b"SUBSCRIBE", b"ch"]);
    assert_eq!(
        read_n(&mut sub, 1)[0],
        ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    );
    assert_eq!(sub.cmds(&["SET", "k", "v"]), "+OK\r\n");
    let mut p = s.conn();
    p.cmd(&["PUBLISH", "ch", "m"]);
    assert_eq!(
        read_n(&mut sub, 1)[0],
        ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n"
    );
}

#[test]
fn slow_subscriber_is_disconnected_at_the_hard_limit() {
    let s = ServerProc::start(&[]);
    let mut admin = slow_subscriber_cut_at_the_pubsub_limit(&s, b"SUBSCRIBE", b"PUBLISH", "NUMSUB");
    let info = admin.cmds(&["INFO", "memory"]);
    let used: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    assert!(
        used < 20 * 1024 * 1024,
        "used_memory {used}: output was not bounded"
    );
}

/// A subscriber (`subscribe` to "flood") that never reads is cut off by
/// the pubsub output-buffer limit while `publish` floods it, and the cut
/// counts in INFO; `numsub` is the PUBSUB subcommand that must then count
/// no subscriber. Returns the admin connection.
pub(crate) fn slow_subscriber_cut_at_the_pubsub_limit(
    s: &ServerProc,
    subscribe: &[u8],
    publish: &[u8],
    numsub: &str,
) -> Conn {
    let mut admin = s.conn();
    assert_eq!(
        admin.cmds(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 256kb 0 0"
        ]),
        "+OK\r\n"
    );
    let mut sub = s.conn();
    sub.send(&[subscribe, b"flood"]);
    read_n(&mut sub, 1);
    // Never read from `sub` again: its socket buffers fill, then the
    // server-side output buffer grows until the limit closes it.
    let payload = vec![b'x'; 64 * 1024];
    let mut pipeline = Vec::new();
    for _ in 0..200 {
        pipeline.extend(encode(&[publish, b"flood", &payload]));
    }
    admin.send_raw(&pipeline);
    for _ in 0..200 {
        admin.read_reply();
    }
    assert!(
        wait_until(Duration::from_secs(10), || admin
            .cmds(&["PUBSUB", numsub, "flood"])
            .ends_with(":0\r\n")),
        "the slow subscriber should have been disconnected"
    );
    // Counted like every other class's limit disconnection, as Redis.
    assert_eq!(
        info_u64(
            &mut admin,
            "stats",
            "client_output_buffer_limit_disconnections"
        ),
        1
    );
    admin
}

#[test]
fn watch_aborts_exec_after_another_client_writes() {
    let s = ServerProc::start(&[]);
    let mut a = s.conn();
    let mut b = s.conn();
    a.cmd(&["SET", "balance", "10"]);
    assert_eq!(a.cmds(&["WATCH", "balance"]), "+OK\r\n");
    b.cmd(&["INCRBY", "balance", "5"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["DECRBY", "balance", "3"]);
    assert_eq!(a.cmds(&["EXEC"]), "*-1\r\n");
    assert_eq!(a.cmds(&["GET", "balance"]), "$2\r\n15\r\n");
    // Without interference the transaction runs.
    a.cmd(&["WATCH", "balance"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["DECRBY", "balance", "3"]);
    assert_eq!(a.cmds(&["EXEC"]), "*1\r\n:12\r\n");
}

/// Whether a WATCH on `k` survives `write` by another client, after
/// `setup`: "ok" if the transaction ran, "abort" if EXEC failed.
fn watch_outcome(s: &ServerProc, setup: &[&str], write: &[&str]) -> &'static str {
    let (mut a, mut b) = (s.conn(), s.conn());
    a.cmd(&["FLUSHALL"]);
    a.cmd(setup);
    a.cmd(&["WATCH", "k"]);
    b.cmd(write);
    a.cmd(&["MULTI"]);
    a.cmd(&["PING"]);
    match a.cmds(&["EXEC"]).as_str() {
        "*-1\r\n" => "abort",
        _ => "ok",
    }
}

/// Redis invalidates a WATCH only when a command changed the key: a write
/// that finds nothing to do (SADD of a member already there, SREM of one
/// that is not, a failed INCR) leaves it, while some writes of the same
/// value still count (HSET, INCRBY 0, LSET). Both servers, same answers.
#[test]
fn watch_survives_writes_that_change_nothing_as_in_redis() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["SADD", "k", "a"], &["SADD", "k", "a"]),
        (&["SADD", "k", "a"], &["SADD", "k", "b"]),
        (&["SADD", "k", "a"], &["SREM", "k", "zz"]),
        (&["SADD", "k", "1", "2"], &["SMOVE", "k", "k2", "9"]),
        (&["SADD", "k", "1", "2"], &["SMOVE", "k", "k2", "1"]),
        (&["HSET", "k", "f", "v"], &["HSET", "k", "f", "v"]),
        (&["HSET", "k", "f", "v"], &["HDEL", "k", "zz"]),
        (&["HSET", "k", "f", "v"], &["HSETNX", "k", "f", "w"]),
        (&["HSET", "k", "f", "1"], &["HINCRBY", "k", "f", "0"]),
        (&["ZADD", "k", "1", "a"], &["ZADD", "k", "1", "a"]),
        (&["ZADD", "k", "1", "a"], &["ZADD", "k", "2", "a"]),
        (&["ZADD", "k", "1", "a"], &["ZREM", "k", "zz"]),
        (&["ZADD", "k", "1", "a"], &["ZINCRBY", "k", "0", "a"]),
        (&["ZADD", "k", "1", "a"], &["ZADD", "k", "NX", "5", "a"]),
        (&["RPUSH", "k", "a"], &["LREM", "k", "0", "zz"]),
        (&["RPUSH", "k", "a", "b"], &["LTRIM", "k", "0", "-1"]),
        (&["RPUSH", "k", "a"], &["LSET", "k", "0", "a"]),
        (&["SET", "k", "v"], &["APPEND", "k", ""]),
        (&["SET", "k", "v"], &["SETRANGE", "k", "0", ""]),
        (&["SET", "k", "v"], &["SETNX", "k", "w"]),
        (&["SET", "k", "v"], &["INCR", "k"]),
        (&["SET", "k", "1"], &["INCRBY", "k", "0"]),
        (&["SET", "k", "v"], &["PERSIST", "k"]),
        (&["SET", "k", "v"], &["EXPIRE", "k", "100", "XX"]),
        (&["SET", "k", "v"], &["GETEX", "k"]),
        (&["SET", "k", "v"], &["SET", "k", "w", "NX"]),
        (&["SET", "k", "v"], &["DEL", "k"]),
        (&[], &["DEL", "k"]),
    ];
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    let mut differ = Vec::new();
    for (setup, write) in cases {
        let setup: &[&str] = if setup.is_empty() { &["PING"] } else { setup };
        let (a, b) = (
            watch_outcome(&ours, setup, write),
            watch_outcome(&theirs, setup, write),
        );
        if a != b {
            differ.push(format!(
                "{setup:?} then {write:?}: ours {a}, redis-server {b}"
            ));
        }
    }
    assert!(differ.is_empty(), "{differ:#?}");
}

#[test]
fn watch_is_invalidated_by_flush_swapdb_and_expiry() {
    let s = ServerProc::start(&[]);
    let mut a = s.conn();
    let mut b = s.conn();
    for (setup, action) in [
        (vec!["SET", "w", "1"], vec!["FLUSHDB"]),
        (vec!["SET", "w", "1"], vec!["SWAPDB", "0", "1"]),
        (vec!["SET", "w", "1"], vec!["DEL", "w"]),
        (vec!["SET", "w", "1"], vec!["EXPIRE", "w", "100"]),
    ] {
        b.cmd(&["FLUSHALL"]);
        b.cmd(&setup);
        a.cmd(&["WATCH", "w"]);
        b.cmd(&action);
        a.cmd(&["MULTI"]);
        a.cmd(&["PING"]);
        assert_eq!(a.cmds(&["EXEC"]), "*-1\r\n", "after {action:?}");
    }
    // A watched key that expires before EXEC aborts it too.
    b.cmd(&["FLUSHALL"]);
    b.cmd(&["SET", "w", "1", "PX", "30"]);
    a.cmd(&["WATCH", "w"]);
    assert!(wait_until(Duration::from_secs(5), || b
        .cmds(&["PTTL", "w"])
        == ":-2\r\n"));
    a.cmd(&["MULTI"]);
    a.cmd(&["PING"]);
    assert_eq!(a.cmds(&["EXEC"]), "*-1\r\n");
}

#[test]
fn keyspace_notifications_are_published() {
    let s = ServerProc::start(&[]);
    let mut admin = s.conn();
    assert_eq!(
        admin.cmds(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]),
        "+OK\r\n"
    );
    assert_eq!(
        admin.cmds(&["CONFIG", "GET", "notify-keyspace-events"]),
        "*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n"
    );
    assert!(admin
        .cmds(&["CONFIG", "SET", "notify-keyspace-events", "Q"])
        .starts_with("-ERR CONFIG SET failed"));
    let mut sub = s.conn();
    sub.send(&[
        b"SUBSCRIBE",
        b"__keyevent@0__:expired",
        b"__keyspace@0__:gone",
    ]);
    read_n(&mut sub, 2);
    admin.cmd(&["SET", "gone", "1", "PX", "20"]);
    // "set" and "expire" arrive at once; "expired" later, from the active
    // cycle. Read (bounded) until the expiry shows up on both channels.
    let mut all = String::new();
    for _ in 0..10 {
        all.push_str(&read_n(&mut sub, 1).join(""));
        if all.contains("__keyevent@0__:expired") && all.contains("$7\r\nexpired\r\n") {
            break;
        }
    }
    assert!(
        all.contains("$22\r\n__keyevent@0__:expired\r\n$4\r\ngone\r\n"),
        "{all}"
    );
    assert!(all.contains("$19\r\n__keyspace@0__:gone\r\n"), "{all}");
}

/// Run `script` on a fresh RedisLite and a fresh redis-server: both must
/// publish the same keyspace events (flags KEA), in the same order.
pub(crate) fn assert_same_notifications(script: &[&[&str]]) {
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    assert_eq!(
        notifications_for(&ours, script),
        notifications_for(&theirs, script)
    );
}

/// Collect every message a subscriber gets while `script` runs on another
/// connection, up to a marker message.
pub(crate) fn notifications_for(s: &ServerProc, script: &[&[&str]]) -> Vec<String> {
    notifications_with_flags(s, "KEA", script)
}

fn notifications_with_flags(s: &ServerProc, flags: &str, script: &[&[&str]]) -> Vec<String> {
    let mut admin = s.conn();
    admin.cmd(&["CONFIG", "SET", "notify-keyspace-events", flags]);
    let mut sub = s.conn();
    sub.send(&[b"PSUBSCRIBE", b"__key*@*__:*"]);
    read_n(&mut sub, 1);
    sub.send(&[b"SUBSCRIBE", b"marker"]);
    read_n(&mut sub, 1);
    for cmd in script {
        admin.cmd(cmd);
    }
    admin.cmd(&["PUBLISH", "marker", "end"]);
    let mut got = Vec::new();
    loop {
        let m = String::from_utf8_lossy(&sub.read_reply()).into_owned();
        if m.contains("marker") {
            break;
        }
        got.push(m);
        assert!(got.len() < 1000, "no marker");
    }
    got
}

#[test]
fn keyspace_notifications_match_redis() {
    let script: &[&[&str]] = &[
        &["SET", "a", "1"],
        &["SET", "b", "x", "EX", "100"],
        &["APPEND", "b", "y"],
        &["INCR", "a"],
        &["INCRBYFLOAT", "a", "1.5"],
        &["SETRANGE", "b", "0", "z"],
        &["EXPIRE", "a", "100"],
        &["PERSIST", "a"],
        &["RENAME", "a", "c"],
        &["COPY", "c", "d"],
        &["MOVE", "d", "1"],
        &["GETDEL", "c"],
        &["MSET", "m1", "1", "m2", "2"],
        &["GETEX", "m1", "EX", "50"],
        &["DEL", "m1", "m2", "nosuch"],
        &["EXPIRE", "b", "-1"],
        &["SET", "n", "1"],
        &["UNLINK", "n"],
    ];
    assert_same_notifications(script);
}

#[test]
fn new_key_and_key_miss_events_match_redis() {
    let script: &[&[&str]] = &[
        &["SET", "a", "1"],
        &["SET", "a", "2"],
        &["GET", "nosuch"],
        &["GET", "a"],
        &["HSET", "h", "f", "v"],
        &["HGET", "nosuch", "f"],
        &["RENAME", "a", "b"],
        &["LPUSH", "l", "x"],
        &["SADD", "s", "1"],
        &["ZADD", "z", "1", "m"],
        &["EXISTS", "nosuch"],
        &["MGET", "b", "nosuch"],
    ];
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    assert_eq!(
        notifications_with_flags(&ours, "KEAnm", script),
        notifications_with_flags(&theirs, "KEAnm", script)
    );
}
