//! SORT and SORT_RO: differential scripts against Debian's redis-server
//! 7.0 (raw replies must match), keyspace events, ACL refusals, and a
//! stored result that survives a log replay.
//!
//! Orders are compared only where Redis defines them: sorted output, lists
//! and sorted sets "BY nosort", intset-encoded sets (ascending in both
//! servers), and sets "BY nosort" with STORE, which Redis (and we) sort by
//! bytes so the stored list is the same everywhere.

use crate::common::{ServerProc, TempDir};
use crate::differential::check;

#[test]
fn sort_numeric_alpha_limit_match_redis() {
    check(
        r#"
        RPUSH l 3 1 2 10 1.5 -1 abc
        SORT l
        SORT l ALPHA
        SORT l ALPHA DESC
        SORT l LIMIT 0 2 ALPHA DESC
        SORT l LIMIT -1 2 ALPHA
        SORT l LIMIT 0 -1 ALPHA
        SORT l LIMIT 10 1 ALPHA
        SORT l LIMIT 3 100 ALPHA
        SORT l LIMIT 0 0 ALPHA
        SORT l LIMIT 9223372036854775807 9223372036854775807 ALPHA
        SORT l LIMIT 1 9223372036854775807 ALPHA
        SORT l ALPHA ASC
        RPUSH n 10 9 -0 0 +5 0x10 inf -inf 1e5 .5 5. " 7" "" "8\x00tail"
        SORT n
        SORT n DESC
        SORT n LIMIT 2 3
        RPUSH same 2 02 2.0 1
        SORT same
        SORT same DESC
        SORT nokey
        SORT nokey ALPHA LIMIT 0 1
        SET s x
        SORT s
        HSET h f v
        SORT h
        SORT s foo
        SORT nokey foo
        SORT l foo
        SORT l LIMIT 1
        SORT l LIMIT a b ALPHA
        SORT l BY
        SORT l GET
        SORT l STORE
        SORT l LIMIT 0 1 BY
        SORT_RO l STORE x
        SORT_RO l ALPHA LIMIT 1 2
        RPUSH big 1 1e400
        SORT big ALPHA
        SORT big
        "#,
    );
}

/// Redis reads SORT's numbers with strtod and checks errno, so a subnormal
/// result (ERANGE in glibc) is an error. Its own test: Redis never clears
/// errno, so after one range error its next numeric SORTs fail too, which
/// no script should depend on.
#[test]
fn sort_subnormal_numbers_are_not_doubles_as_in_redis() {
    check(
        r#"
        RPUSH l 1 2.2250738585072014e-308 0
        SORT l
        RPUSH sub 1 1e-310
        SORT sub
        "#,
    );
}

#[test]
fn sort_by_and_get_patterns_match_redis() {
    check(
        r#"
        RPUSH l 3 1 2
        MSET w_1 30 w_2 20 w_3 10 h_1 a h_2 b
        HSET hh_1 f x1
        HSET hh_2 f x2
        HSET hy_1 x->y deep
        SET h_1-> arrow
        SET h_1* star
        SORT l BY w_*
        SORT l BY w_* DESC
        SORT l BY w_* ALPHA
        SORT l BY w_* GET h_* GET # GET hh_*->f
        SORT l BY w_* LIMIT 1 1 GET #
        SORT l BY w_* LIMIT 0 0
        SORT l GET hh_*
        SORT l GET *
        SORT l GET x
        SORT l GET h_*->
        SORT l GET hy_*->x->y
        SORT l GET h_**
        SORT l BY hh_*->f
        SORT l BY hh_*->f ALPHA
        SORT l BY w_*->f
        SORT l BY nosort
        SORT l BY nosort DESC
        SORT l BY nosort LIMIT 1 1
        SORT l BY nosort GET # GET nothing
        SORT l BY nosort BY w_*
        SORT l BY w_* BY nosort
        RPUSH l2 b a c
        SORT l2 BY nokey_*
        SORT l2 BY nokey_* ALPHA
        SORT l2 BY nokey_* DESC
        SORT l2 BY nokey_* ALPHA DESC
        MSET wb x wa y
        SORT l2 BY w*
        SORT l2 BY w* ALPHA
        SORT l2 BY w* ALPHA DESC
        SET w_2 notanumber
        SORT l BY w_*
        "#,
    );
}

#[test]
fn sort_sets_and_sorted_sets_match_redis() {
    check(
        r#"
        SADD st 5 3 9 1
        SORT st
        SORT st DESC
        SORT st BY nosort
        SORT st BY nosort DESC
        SORT st LIMIT 1 2
        SORT st BY nosort STORE dd ALPHA DESC
        LRANGE dd 0 -1
        SADD st2 b a c
        SORT st2 ALPHA
        SORT st2 ALPHA DESC
        SORT st2
        SORT st2 BY nosort STORE d3
        LRANGE d3 0 -1
        ZADD z 1 c 2 b 3 a
        SORT z ALPHA
        SORT z
        SORT z BY nosort
        SORT z BY nosort DESC
        SORT z BY nosort DESC LIMIT 0 2
        SORT z BY nosort LIMIT 1 5
        ZADD zn 3 10 1 20 2 5
        SORT zn
        SORT zn BY nosort
        OBJECT ENCODING zn
        ZADD ze 1 a 2 b
        SORT ze foo
        OBJECT ENCODING ze
        SORT_RO ze ALPHA
        OBJECT ENCODING ze
        ZADD zf 1 a
        SORT zf
        OBJECT ENCODING zf
        "#,
    );
}

#[test]
fn sort_store_matches_redis() {
    check(
        r#"
        RPUSH l 3 1 2
        MSET h_1 a h_2 b
        SORT l STORE dst
        LRANGE dst 0 -1
        TYPE dst
        OBJECT ENCODING dst
        SORT l GET h_* GET # STORE dst2
        LRANGE dst2 0 -1
        SET dst3 x
        EXPIRE dst3 100
        SORT l DESC STORE dst3
        TTL dst3
        LRANGE dst3 0 -1
        SORT nokey STORE dst3
        EXISTS dst3
        SORT nokey STORE dst3
        SORT l LIMIT 5 5 STORE dst
        EXISTS dst
        SORT l STORE dst STORE dst4
        EXISTS dst dst4
        SORT l LIMIT 0 1 STORE l
        LRANGE l 0 -1
        "#,
    );
}

#[test]
fn sort_keys_and_flags_match_redis() {
    check(
        r#"
        COMMAND GETKEYS SORT k BY w_* GET h_* STORE d
        COMMAND GETKEYS SORT k
        COMMAND GETKEYS SORT k store
        COMMAND GETKEYS SORT k limit store d
        COMMAND GETKEYS SORT k store a store b
        COMMAND GETKEYS SORT k get store d
        COMMAND GETKEYS SORT k by store store e
        COMMAND GETKEYS SORT k STORE x limit 0
        COMMAND GETKEYS SORT_RO k store x
        "#,
    );
    // COMMAND INFO without its key specs (RedisLite reports none): name,
    // arity, flags (with the derived movablekeys), key range, categories.
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    for name in ["sort", "sort_ro"] {
        let head = |s: &ServerProc| {
            let out = s.conn().cmds(&["COMMAND", "INFO", name]);
            out.split("*0\r\n").next().unwrap_or_default().to_string()
        };
        let (a, b) = (head(&ours), head(&theirs));
        assert!(a.contains("movablekeys"), "{a}");
        assert!(b.starts_with(&a), "ours:\n{a}\ntheirs:\n{b}");
    }
}

#[test]
fn sort_acl_refusals_match_redis() {
    check(
        r#"
        RPUSH l 3 1 2
        MSET w_1 3 w_2 2 w_3 1
        ACL SETUSER u on nopass ~l* ~d* +@all
        ACL SETUSER r on nopass %R~* ~l* ~d* +@all
        AUTH u x
        SORT l BY w_*
        SORT l GET h_*
        SORT l GET #
        SORT l BY nosort
        SORT l BY w_* LIMIT 0 1 foo
        SORT l STORE x
        SORT l STORE dd
        SORT_RO l BY w_*
        AUTH r x
        SORT l BY w_*
        SORT l GET #
        SORT l STORE x
        SORT l STORE dd
        "#,
    );
    // The refused STORE is logged as a key denial naming the destination
    // (the rest of the entry, client-info, differs in fields we report).
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    c.cmd(&["RPUSH", "l", "1"]);
    c.cmd(&["ACL", "SETUSER", "u", "on", "nopass", "~l*", "+@all"]);
    assert_eq!(c.cmds(&["AUTH", "u", "x"]), "+OK\r\n");
    assert!(c.cmds(&["SORT", "l", "STORE", "x"]).starts_with("-NOPERM"));
    let log = c.cmds(&["ACL", "LOG", "1"]);
    assert!(
        log.contains("$6\r\nreason\r\n$3\r\nkey\r\n")
            && log.contains("$6\r\nobject\r\n$1\r\nx\r\n"),
        "{log}"
    );
}

#[test]
fn sort_keyspace_notifications_match_redis() {
    let script: &[&[&str]] = &[
        &["RPUSH", "l", "3", "1", "2"],
        &["SORT", "l", "STORE", "d"],
        &["SORT", "l", "STORE", "d"],
        &["SORT", "nokey", "STORE", "d"],
        &["SORT", "nokey", "STORE", "d"],
        &["SORT", "l"],
    ];
    crate::pubsub_tx::assert_same_notifications(script);
}

/// A stored SORT is logged as the command; replaying the log rebuilds the
/// same list, including from a hashtable-encoded set (sorted by bytes).
#[test]
fn sort_store_survives_a_log_replay() {
    let d = TempDir::new("sort-aof");
    let args = crate::common::AOF_ALWAYS;
    let expected = {
        let s = ServerProc::start_in(&d.0, &args);
        let mut c = s.conn();
        let members: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
        let mut sadd = vec!["SADD", "set"];
        sadd.extend(members.iter().map(|m| m.as_str()));
        c.cmd(&sadd);
        assert_eq!(
            c.cmds(&["OBJECT", "ENCODING", "set"]),
            "$9\r\nhashtable\r\n"
        );
        assert_eq!(
            c.cmds(&["SORT", "set", "BY", "nosort", "STORE", "d"]),
            ":200\r\n"
        );
        c.cmd(&["RPUSH", "l", "3", "1", "2"]);
        assert_eq!(c.cmds(&["SORT", "l", "DESC", "STORE", "d2"]), ":3\r\n");
        let got = (
            c.cmds(&["LRANGE", "d", "0", "-1"]),
            c.cmds(&["LRANGE", "d2", "0", "-1"]),
        );
        let mut sorted = members.clone();
        sorted.sort();
        assert!(got
            .0
            .starts_with("*200\r\n$2\r\nm0\r\n$2\r\nm1\r\n$3\r\nm10\r\n"));
        assert_eq!(got.1, "*3\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n1\r\n");
        got
    };
    let s = ServerProc::start_in(&d.0, &args);
    let mut c = s.conn();
    assert_eq!(c.cmds(&["LRANGE", "d", "0", "-1"]), expected.0);
    assert_eq!(c.cmds(&["LRANGE", "d2", "0", "-1"]), expected.1);
}
