//! Set commands end to end, for what a byte-for-byte differential test
//! cannot check: replies whose member order Redis leaves undefined
//! (hashtable-encoded sets), compared order-insensitively with redis-server
//! and with an in-test model, and the random commands (SPOP, SRANDMEMBER),
//! checked by their properties.

use crate::common::ServerProc;
use std::collections::{BTreeSet, HashSet};

fn q<T: redis::FromRedisValue>(r: &mut redis::Connection, args: &[&str]) -> T {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(r).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn as_set(v: Vec<String>) -> BTreeSet<String> {
    let n = v.len();
    let s: BTreeSet<String> = v.into_iter().collect();
    assert_eq!(s.len(), n, "duplicates in a set reply");
    s
}

/// Tiny deterministic generator for the randomized scripts.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn hashtable_set_algebra_matches_redis_order_insensitively() {
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    let mut a = ours.client();
    let mut b = theirs.client();
    let keys = ["k0", "k1", "k2", "k3"];
    let mut rng = 0x5eed_u64;
    for step in 0..3000 {
        let key = keys[(next(&mut rng) % 4) as usize];
        // Mostly integers (so sets move between encodings), some strings.
        let r = next(&mut rng) % 60;
        let member = if r < 45 {
            r.to_string()
        } else {
            format!("m{r}")
        };
        let op = next(&mut rng) % 10;
        let cmd: Vec<String> = match op {
            0..=5 => vec!["SADD".into(), key.into(), member],
            6 | 7 => vec!["SREM".into(), key.into(), member],
            8 => vec![
                "SMOVE".into(),
                key.into(),
                keys[(next(&mut rng) % 4) as usize].into(),
                member,
            ],
            _ => vec![
                "SINTERSTORE".into(),
                "tmp".into(),
                key.into(),
                keys[(next(&mut rng) % 4) as usize].into(),
            ],
        };
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let ra: i64 = q(&mut a, &args);
        let rb: i64 = q(&mut b, &args);
        assert_eq!(ra, rb, "step {step}: {args:?}");
        if step % 50 == 0 {
            for read in [
                vec!["SMEMBERS", key],
                vec!["SINTER", "k0", "k1"],
                vec!["SINTER", "k0", "k1", "k2"],
                vec!["SUNION", "k0", "k1", "k2", "k3"],
                vec!["SDIFF", "k0", "k1"],
                vec!["SDIFF", "k2", "k3", "k0"],
                vec!["SMEMBERS", "tmp"],
            ] {
                let va: Vec<String> = q(&mut a, &read);
                let vb: Vec<String> = q(&mut b, &read);
                assert_eq!(as_set(va), as_set(vb), "step {step}: {read:?}");
            }
            for k in keys {
                let ea: Option<String> = q(&mut a, &["OBJECT", "ENCODING", k]);
                let eb: Option<String> = q(&mut b, &["OBJECT", "ENCODING", k]);
                assert_eq!(ea, eb, "step {step}: encoding of {k}");
            }
        }
    }
    for store in ["SUNIONSTORE", "SDIFFSTORE", "SINTERSTORE"] {
        let args = [store, "dst", "k0", "k1", "k2"];
        let na: i64 = q(&mut a, &args);
        let nb: i64 = q(&mut b, &args);
        assert_eq!(na, nb, "{store}");
        let va: Vec<String> = q(&mut a, &["SMEMBERS", "dst"]);
        let vb: Vec<String> = q(&mut b, &["SMEMBERS", "dst"]);
        assert_eq!(as_set(va), as_set(vb), "{store}");
        let ea: Option<String> = q(&mut a, &["OBJECT", "ENCODING", "dst"]);
        let eb: Option<String> = q(&mut b, &["OBJECT", "ENCODING", "dst"]);
        assert_eq!(ea, eb, "{store}");
    }
}

/// A set of `n` string members (hashtable) or integers (intset).
fn fill(r: &mut redis::Connection, key: &str, n: usize, ints: bool) -> HashSet<String> {
    let members: Vec<String> = (0..n)
        .map(|i| {
            if ints {
                i.to_string()
            } else {
                format!("member:{i}")
            }
        })
        .collect();
    let mut args = vec!["SADD", key];
    args.extend(members.iter().map(String::as_str));
    let added: usize = q(r, &args);
    assert_eq!(added, n);
    members.into_iter().collect()
}

#[test]
fn srandmember_counts_have_redis_semantics() {
    let s = ServerProc::start(&[]);
    let mut r = s.client();
    for ints in [true, false] {
        let key = if ints { "ints" } else { "strs" };
        let all = fill(&mut r, key, 100, ints);
        let enc: String = q(&mut r, &["OBJECT", "ENCODING", key]);
        assert_eq!(enc, if ints { "intset" } else { "hashtable" });
        // Positive counts: distinct members, min(count, size) of them,
        // through all three strategies (small, over a third, whole set).
        for count in [1usize, 5, 33, 34, 60, 99, 100, 101, 1000] {
            let got: Vec<String> = q(&mut r, &["SRANDMEMBER", key, &count.to_string()]);
            assert_eq!(got.len(), count.min(100), "count {count}");
            let distinct: HashSet<&String> = got.iter().collect();
            assert_eq!(distinct.len(), got.len(), "count {count}: repeats");
            assert!(got.iter().all(|m| all.contains(m)));
        }
        // Negative counts: exactly |count| draws, repeats allowed, all
        // members; many draws reach every member.
        let got: Vec<String> = q(&mut r, &["SRANDMEMBER", key, "-5000"]);
        assert_eq!(got.len(), 5000);
        assert!(got.iter().all(|m| all.contains(m)));
        let seen: HashSet<&String> = got.iter().collect();
        assert_eq!(seen.len(), 100, "5000 draws over 100 members");
        // Single member form, and the set is untouched.
        let one: String = q(&mut r, &["SRANDMEMBER", key]);
        assert!(all.contains(&one));
        let card: usize = q(&mut r, &["SCARD", key]);
        assert_eq!(card, 100);
    }
}

#[test]
fn spop_removes_what_it_returns() {
    let s = ServerProc::start(&[]);
    let mut r = s.client();
    for ints in [true, false] {
        // Counts hitting each strategy: one by one, rebuild the remainder
        // (count >= 5/6 of the set), everything.
        for count in [1usize, 10, 50, 84, 90, 99, 100, 150] {
            let key = format!("pop:{ints}:{count}");
            let all = fill(&mut r, &key, 100, ints);
            let popped: Vec<String> = q(&mut r, &["SPOP", &key, &count.to_string()]);
            assert_eq!(popped.len(), count.min(100));
            let popped: HashSet<String> = popped.into_iter().collect();
            assert_eq!(popped.len(), count.min(100), "repeats");
            assert!(popped.iter().all(|m| all.contains(m)));
            let left: Vec<String> = q(&mut r, &["SMEMBERS", &key]);
            let left: HashSet<String> = left.into_iter().collect();
            assert!(left.is_disjoint(&popped));
            assert_eq!(left.len() + popped.len(), 100);
            let exists: bool = q(&mut r, &["EXISTS", &key]);
            assert_eq!(exists, count < 100);
        }
        let key = format!("one:{ints}");
        let mut all = fill(&mut r, &key, 20, ints);
        while !all.is_empty() {
            let m: String = q(&mut r, &["SPOP", &key]);
            assert!(all.remove(&m), "{m} popped twice or never added");
        }
        let gone: Option<String> = q(&mut r, &["SPOP", &key]);
        assert_eq!(gone, None);
        let exists: bool = q(&mut r, &["EXISTS", &key]);
        assert!(!exists);
    }
}

#[test]
fn sscan_covers_a_hashtable_set_while_it_changes() {
    let s = ServerProc::start(&[]);
    let mut r = s.client();
    let stable = fill(&mut r, "big", 2000, false);
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut extra = 0;
    for round in 0..100_000 {
        let (next_cursor, batch): (String, Vec<String>) =
            q(&mut r, &["SSCAN", "big", &cursor, "COUNT", "50"]);
        assert!(batch.len() <= 500, "COUNT bounds the work per call");
        seen.extend(batch);
        // Grow and shrink the table between calls: resizes must not make
        // the scan miss a member present throughout.
        if round % 3 == 0 && extra < 3000 {
            let batch: Vec<String> = (extra..extra + 100).map(|i| format!("extra:{i}")).collect();
            let mut args = vec!["SADD", "big"];
            args.extend(batch.iter().map(String::as_str));
            let _: i64 = q(&mut r, &args);
            extra += 100;
        } else if round % 3 == 1 && extra >= 100 {
            let batch: Vec<String> = (extra - 100..extra).map(|i| format!("extra:{i}")).collect();
            let mut args = vec!["SREM", "big"];
            args.extend(batch.iter().map(String::as_str));
            let _: i64 = q(&mut r, &args);
        }
        cursor = next_cursor;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(cursor, "0", "scan did not finish");
    assert!(
        stable.iter().all(|m| seen.contains(m)),
        "a member was missed"
    );

    // MATCH filters; the union of the batches is exactly the matches.
    let mut matched = HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let (next_cursor, batch): (String, Vec<String>) =
            q(&mut r, &["SSCAN", "big", &cursor, "MATCH", "member:1?"]);
        matched.extend(batch);
        cursor = next_cursor;
        if cursor == "0" {
            break;
        }
    }
    let expected: HashSet<String> = (10..20).map(|i| format!("member:{i}")).collect();
    assert_eq!(matched, expected);
}

#[test]
fn resp3_set_replies_for_hashtable_sets() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    c.cmd(&["HELLO", "3"]);
    c.cmd(&["SADD", "h", "a", "b", "c"]);
    c.cmd(&["SADD", "g", "b", "c", "d"]);
    for (args, n) in [
        (&["SMEMBERS", "h"][..], 3),
        (&["SINTER", "h", "g"], 2),
        (&["SUNION", "h", "g"], 4),
        (&["SDIFF", "h", "g"], 1),
        (&["SPOP", "g", "2"], 2),
    ] {
        let reply = c.cmds(args);
        assert!(
            reply.starts_with(&format!("~{n}\r\n")),
            "{args:?}: {reply:?}"
        );
    }
    let reply = c.cmds(&["SRANDMEMBER", "h", "2"]);
    assert!(reply.starts_with("*2\r\n"), "{reply:?}");
    assert_eq!(c.cmds(&["SMISMEMBER", "h", "a", "z"]), "*2\r\n:1\r\n:0\r\n");
}

#[test]
fn set_lookups_count_keyspace_hits_and_misses_like_redis() {
    let script: &[&[&str]] = &[
        &["SCARD", "a"],
        &["SCARD", "nokey"],
        &["SINTERSTORE", "d", "a", "nokey"],
        &["SUNIONSTORE", "d", "a", "nokey"],
        &["SDIFF", "a", "nokey", "a"],
        &["SINTERCARD", "2", "a", "nokey"],
        &["SMISMEMBER", "nokey", "x"],
        &["SADD", "a", "3"],
        &["SREM", "a", "3"],
        &["SMOVE", "a", "b", "2"],
        &["SPOP", "nokey"],
        &["SSCAN", "a", "0"],
        &["SRANDMEMBER", "a"],
    ];
    crate::differential::assert_same_hits_and_misses(&[&["SADD", "a", "1", "2"]], script);
}

#[test]
fn set_keyspace_notifications_match_redis() {
    let script: &[&[&str]] = &[
        &["SADD", "s", "1", "2", "3"],
        &["SADD", "s", "1"],
        &["SREM", "s", "9"],
        &["SREM", "s", "1"],
        &["SMOVE", "s", "t", "2"],
        &["SMOVE", "s", "t", "9"],
        &["SMOVE", "s", "t", "3"],
        &["SADD", "u", "3"],
        &["SMOVE", "t", "u", "3"],
        &["SPOP", "t"],
        &["SPOP", "nosuch"],
        &["SADD", "p", "a", "b", "c"],
        &["SPOP", "p", "0"],
        &["SPOP", "p", "1"],
        &["SPOP", "p", "5"],
        &["SADD", "a", "1", "2"],
        &["SADD", "b", "2", "3"],
        &["SINTERSTORE", "d", "a", "b"],
        &["SUNIONSTORE", "d", "a", "b"],
        &["SDIFFSTORE", "d", "a", "b"],
        &["SDIFFSTORE", "d", "a", "a"],
        &["SDIFFSTORE", "d", "a", "a"],
        &["SINTERSTORE", "d", "a", "b"],
        &["SINTERSTORE", "d", "a", "nosuch"],
        &["SUNIONSTORE", "d", "nosuch"],
        &["SREM", "u", "3"],
    ];
    crate::pubsub_tx::assert_same_notifications(script);
}

#[test]
fn set_writes_invalidate_watch() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    let mut other = s.conn();
    c.cmd(&["SADD", "a", "1", "2"]);
    c.cmd(&["SADD", "b", "2", "3"]);
    c.cmd(&["SADD", "x", "9"]);
    // Each write by another client aborts the watcher's transaction (SMOVE
    // only when the member is new to the destination, as Redis: see
    // differential_sets.rs).
    for write in [
        &["SADD", "w", "x"][..],
        &["SREM", "w", "x"],
        &["SINTERSTORE", "w", "a", "b"],
        &["SPOP", "w"],
        &["SUNIONSTORE", "w", "a", "b"],
        &["SMOVE", "x", "w", "9"],
    ] {
        assert_eq!(c.cmds(&["WATCH", "w"]), "+OK\r\n");
        other.cmd(write);
        c.cmd(&["MULTI"]);
        c.cmd(&["SCARD", "w"]);
        assert_eq!(c.cmds(&["EXEC"]), "*-1\r\n", "{write:?}");
    }
    // A read does not.
    assert_eq!(c.cmds(&["WATCH", "w"]), "+OK\r\n");
    other.cmd(&["SMEMBERS", "w"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["SCARD", "w"]);
    assert_eq!(c.cmds(&["EXEC"]), "*1\r\n:4\r\n");
}

#[test]
fn srandmember_refuses_replies_beyond_proto_max_bulk_len() {
    // A deliberate difference: Redis 7.0 would build this reply until it
    // ran out of memory.
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    c.cmd(&["SADD", "s", "a", "b", "c"]);
    let err = "-ERR SRANDMEMBER reply would exceed proto-max-bulk-len, use a smaller count\r\n";
    assert_eq!(c.cmds(&["SRANDMEMBER", "s", "-9223372036854775807"]), err);
    // Each one-byte member costs 7 reply bytes ("$1\r\na\r\n"): at the
    // smallest limit, 1 MiB, 149796 draws fit and 149797 do not.
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "proto-max-bulk-len", "1048576"]),
        "+OK\r\n"
    );
    assert!(c
        .cmds(&["SRANDMEMBER", "s", "-149796"])
        .starts_with("*149796\r\n"));
    assert_eq!(c.cmds(&["SRANDMEMBER", "s", "-149797"]), err);
    // Positive counts are bounded by the set and never refused.
    assert!(c
        .cmds(&["SRANDMEMBER", "s", "9223372036854775807"])
        .starts_with("*3\r\n"));
    assert_eq!(c.cmds(&["SCARD", "s"]), ":3\r\n");
}
