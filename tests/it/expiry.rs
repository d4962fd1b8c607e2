//! Expiry: an expired key is never observable, lazily or actively removed.

use crate::common::{wait_until, Conn, ServerProc};
use std::time::Duration;

fn server_time_ms(c: &mut Conn) -> i64 {
    let r = c.cmds(&["TIME"]);
    let parts: Vec<&str> = r.split("\r\n").collect();
    // *2, $len, secs, $len, usecs
    let secs: i64 = parts[2].parse().unwrap();
    let usecs: i64 = parts[4].parse().unwrap();
    secs * 1000 + usecs / 1000
}

#[test]
fn expired_keys_are_invisible_to_every_command() {
    let s = ServerProc::start(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    assert_eq!(c.cmds(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "+OK\r\n");
    let deadline = server_time_ms(&mut c) + 100;
    for i in 0..50 {
        c.cmd(&[
            "SET",
            &format!("vol:{i}"),
            "v",
            "PXAT",
            &deadline.to_string(),
        ]);
    }
    c.cmd(&["SET", "keep", "v"]);
    assert_eq!(c.cmds(&["DBSIZE"]), ":51\r\n");
    assert!(wait_until(Duration::from_secs(5), || server_time_ms(
        &mut c
    ) > deadline + 1));
    // Active expiry is off, so only lazy expiry can hide them.
    assert_eq!(c.cmds(&["KEYS", "vol:*"]), "*0\r\n");
    assert_eq!(
        c.cmds(&["SCAN", "0", "COUNT", "1000"]),
        "*2\r\n$1\r\n0\r\n*1\r\n$4\r\nkeep\r\n"
    );
    assert_eq!(c.cmds(&["EXISTS", "vol:1"]), ":0\r\n");
    assert_eq!(c.cmds(&["TYPE", "vol:2"]), "+none\r\n");
    assert_eq!(c.cmds(&["GET", "vol:3"]), "$-1\r\n");
    assert_eq!(c.cmds(&["TTL", "vol:4"]), ":-2\r\n");
    assert_eq!(c.cmds(&["STRLEN", "vol:5"]), ":0\r\n");
    assert_eq!(c.cmds(&["RANDOMKEY"]), "$4\r\nkeep\r\n");
    assert_eq!(c.cmds(&["APPEND", "vol:6", "x"]), ":1\r\n");
    assert_eq!(c.cmds(&["RENAME", "vol:7", "z"]), "-ERR no such key\r\n");
    // SCAN deleted what it found expired: DBSIZE after access is exact.
    assert_eq!(c.cmds(&["DBSIZE"]), ":2\r\n");
}

#[test]
fn active_expiry_removes_keys_nobody_reads() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    for i in 0..2000 {
        c.cmd(&["SET", &format!("k{i}"), "v", "PX", "50"]);
    }
    for i in 0..100 {
        c.cmd(&["SET", &format!("p{i}"), "v"]);
    }
    assert!(
        wait_until(Duration::from_secs(10), || c.cmds(&["DBSIZE"])
            == ":100\r\n"),
        "active expiry did not remove the volatile keys: {}",
        c.cmds(&["DBSIZE"])
    );
    let info = c.cmds(&["INFO", "stats"]);
    assert!(info.contains("expired_keys:2000\r\n"), "{info}");
    let ks = c.cmds(&["INFO", "keyspace"]);
    assert!(ks.contains("db0:keys=100,expires=0,"), "{ks}");
}

#[test]
fn ttl_survives_in_place_edits_and_is_cleared_by_set() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    c.cmd(&["SET", "n", "1", "EX", "100"]);
    c.cmd(&["INCR", "n"]);
    c.cmd(&["APPEND", "n", "0"]);
    c.cmd(&["SETRANGE", "n", "0", "9"]);
    assert_eq!(c.cmds(&["TTL", "n"]), ":100\r\n");
    c.cmd(&["SET", "n", "x"]);
    assert_eq!(c.cmds(&["TTL", "n"]), ":-1\r\n");
}

/// Storing over a key past its deadline creates it, as Redis 7.0 does
/// (the store looks the key up for writing, which expires it): SET ...
/// KEEPTTL keeps no dead deadline, a SUNIONSTORE over it counts the
/// expiry. Run on RedisLite and on redis-server, which must agree.
#[test]
fn storing_over_an_expired_key_creates_it() {
    let run = |s: &ServerProc| {
        let mut c = s.conn();
        c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        c.cmd(&["SADD", "src", "a"]);
        let deadline = server_time_ms(&mut c) + 50;
        let mut out = Vec::new();
        for key in ["keep", "dst"] {
            out.push(c.cmds(&["SET", key, "old", "PXAT", &deadline.to_string()]));
        }
        assert!(wait_until(Duration::from_secs(5), || server_time_ms(
            &mut c
        ) > deadline + 1));
        let expired = |c: &mut Conn| {
            let info = c.cmds(&["INFO", "stats"]);
            info.lines()
                .find(|l| l.starts_with("expired_keys:"))
                .unwrap_or("no expired_keys")
                .to_string()
        };
        out.push(c.cmds(&["SET", "keep", "new", "KEEPTTL"]));
        out.push(c.cmds(&["PTTL", "keep"]));
        out.push(expired(&mut c));
        out.push(c.cmds(&["SUNIONSTORE", "dst", "src"]));
        out.push(c.cmds(&["PTTL", "dst"]));
        out.push(expired(&mut c));
        out
    };
    let ours = run(&ServerProc::start(&["--enable-debug-command", "yes"]));
    let theirs = run(&ServerProc::start_reference(&[
        "--enable-debug-command",
        "yes",
    ]));
    assert_eq!(ours, theirs, "redislite vs redis-server");
    assert_eq!(ours[3], ":-1\r\n", "KEEPTTL kept a dead deadline");
    assert_eq!(ours[7], "expired_keys:2");
}

/// active-expire-effort: with 5% of the volatile keys expired, effort 1
/// stops after one batch per database each cycle (5% is under its 10%
/// tolerance) while effort 10 (1% tolerance) keeps going. Two servers
/// with the same keys run side by side: by the time effort 10 has
/// reclaimed nearly all the expired keys, effort 1 has reclaimed far
/// fewer.
#[test]
fn active_expire_effort_reclaims_faster() {
    fn fill(s: &ServerProc) -> Conn {
        let mut c = s.conn();
        let mut batch = Vec::new();
        for i in 0..40_000 {
            let ttl = if i % 20 == 0 { "300" } else { "3600000" };
            batch.extend(crate::common::encode(&[
                b"SET",
                format!("k{i}").as_bytes(),
                b"v",
                b"PX",
                ttl.as_bytes(),
            ]));
        }
        c.send_raw(&batch);
        for _ in 0..40_000 {
            c.read_reply();
        }
        c
    }
    let expired = |c: &mut Conn| crate::common::info_u64(c, "stats", "expired_keys");
    let low = ServerProc::start(&["--active-expire-effort", "1"]);
    let high = ServerProc::start(&["--active-expire-effort", "10"]);
    let mut l = fill(&low);
    let mut h = fill(&high);
    // 2000 keys expire 300 ms after they were set.
    assert!(
        wait_until(Duration::from_secs(20), || expired(&mut h) >= 1900),
        "effort 10 reclaimed only {} of 2000",
        expired(&mut h)
    );
    let at_low = expired(&mut l);
    assert!(at_low < 1000, "effort 1 reclaimed {at_low} as fast");
}
