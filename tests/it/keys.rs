//! Key commands: SCAN completeness across a growing table, KEYS, RANDOMKEY.

use crate::common::ServerProc;
use std::collections::HashSet;

#[test]
fn scan_returns_every_key_while_table_grows() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    let n = 2000;
    for i in 0..n {
        c.cmd(&["SET", &format!("orig:{i}"), "v"]);
    }
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut extra = 0;
    loop {
        let mut r = s.client();
        let (next, keys): (String, Vec<String>) = redis::cmd("SCAN")
            .arg(&cursor)
            .arg("COUNT")
            .arg(50)
            .query(&mut r)
            .unwrap();
        seen.extend(keys);
        // Grow the table between calls, forcing rehashes mid-scan.
        for _ in 0..100 {
            c.cmd(&["SET", &format!("new:{extra}"), "v"]);
            extra += 1;
        }
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    for i in 0..n {
        assert!(seen.contains(&format!("orig:{i}")), "SCAN missed orig:{i}");
    }
}

#[test]
fn scan_match_and_type_filter() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    for i in 0..100 {
        c.cmd(&["SET", &format!("user:{i}"), "v"]);
        c.cmd(&["SET", &format!("item:{i}"), "v"]);
    }
    let mut r = s.client();
    let mut cursor = 0u64;
    let mut got = HashSet::new();
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("user:*")
            .arg("TYPE")
            .arg("string")
            .query(&mut r)
            .unwrap();
        for k in keys {
            assert!(k.starts_with("user:"), "{k}");
            got.insert(k);
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(got.len(), 100);
}

#[test]
fn keys_and_randomkey() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    assert_eq!(c.cmds(&["RANDOMKEY"]), "$-1\r\n");
    for k in ["one", "two", "three", "four"] {
        c.cmd(&["SET", k, "1"]);
    }
    let mut r = s.client();
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("t*").query(&mut r).unwrap();
    keys.sort();
    assert_eq!(keys, vec!["three", "two"]);
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let k: String = redis::cmd("RANDOMKEY").query(&mut r).unwrap();
        seen.insert(k);
    }
    assert_eq!(seen.len(), 4, "RANDOMKEY should reach every key: {seen:?}");
}

#[test]
fn object_freq_counts_accesses_under_lfu() {
    let s = ServerProc::start(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = s.conn();
    c.cmd(&["SET", "hot", "1"]);
    c.cmd(&["SET", "cold", "1"]);
    assert_eq!(c.cmds(&["OBJECT", "FREQ", "cold"]), ":5\r\n");
    let mut pipeline = Vec::new();
    for _ in 0..1000 {
        pipeline.extend(crate::common::encode(&[b"GET", b"hot"]));
    }
    c.send_raw(&pipeline);
    for _ in 0..1000 {
        c.read_reply();
    }
    let freq: i64 = c.cmds(&["OBJECT", "FREQ", "hot"]).trim()[1..]
        .parse()
        .unwrap();
    assert!(
        freq > 10,
        "1000 reads should raise the LFU counter well above 5, got {freq}"
    );
    assert_eq!(c.cmds(&["OBJECT", "FREQ", "cold"]), ":5\r\n");
    // Switching back to an LRU policy: FREQ is refused, IDLETIME works.
    c.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
    assert!(c
        .cmds(&["OBJECT", "FREQ", "hot"])
        .starts_with("-ERR An LFU maxmemory policy is not selected"));
}

/// keyspace_hits / keyspace_misses move exactly as in redis-server for the
/// generic key commands (EXISTS, TYPE, OBJECT and TOUCH count; EXISTS and
/// TYPE do not touch the LRU clock).
#[test]
fn hit_and_miss_counters_match_redis() {
    let script: &[&[&str]] = &[
        &["SET", "a", "1"],
        &["EXISTS", "a", "nosuch"],
        &["TYPE", "a"],
        &["TYPE", "nosuch"],
        &["OBJECT", "ENCODING", "a"],
        &["OBJECT", "ENCODING", "nosuch"],
        &["TOUCH", "a", "nosuch"],
        &["COPY", "a", "b"],
        &["COPY", "nosuch", "c"],
        &["MOVE", "nosuch", "1"],
        &["GET", "a"],
        &["DEL", "a"],
    ];
    let field = |c: &mut crate::common::Conn, name: &str| -> String {
        let info = c.cmds(&["INFO", "stats"]);
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    let mut counts = Vec::new();
    for s in [&ours, &theirs] {
        let mut c = s.conn();
        for cmd in script {
            c.cmd(cmd);
        }
        counts.push((
            field(&mut c, "keyspace_hits"),
            field(&mut c, "keyspace_misses"),
        ));
    }
    assert_eq!(
        counts[0], counts[1],
        "(hits, misses): redislite vs redis-server"
    );
}

/// CLIENT NO-TOUCH: reads still count as hits but leave the key's access
/// metadata alone (observable through the LFU counter).
#[test]
fn no_touch_client_reads_do_not_touch_keys() {
    let s = ServerProc::start(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = s.conn();
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(c.cmds(&["CLIENT", "NO-TOUCH", "on"]), "+OK\r\n");
    let mut pipeline = Vec::new();
    for _ in 0..1000 {
        pipeline.extend(crate::common::encode(&[b"GET", b"k"]));
    }
    c.send_raw(&pipeline);
    for _ in 0..1000 {
        c.read_reply();
    }
    assert_eq!(c.cmds(&["OBJECT", "FREQ", "k"]), ":5\r\n");
    // 1000 GETs plus the OBJECT FREQ lookup (OBJECT counts, as in Redis).
    assert_eq!(
        crate::common::info_u64(&mut c, "stats", "keyspace_hits"),
        1001
    );
    c.cmd(&["CLIENT", "NO-TOUCH", "off"]);
    for _ in 0..1000 {
        c.cmd(&["GET", "k"]);
    }
    let freq: i64 = c.cmds(&["OBJECT", "FREQ", "k"]).trim()[1..]
        .parse()
        .unwrap();
    assert!(freq > 5, "normal reads must raise the counter, got {freq}");
}
