//! DEBUG's user-facing subcommands against redis-server 7.0 (both started
//! with `enable-debug-command yes`): POPULATE's keys and values and its
//! argument errors, PROTOCOL's value of every reply type in RESP2 and
//! RESP3, ERROR, LOG, CHANGE-REPL-ID, SET-SKIP-CHECKSUM-VALIDATION,
//! OBJECT's serializedlength; and what POPULATE must not do (count as a
//! change, overwrite a key).

use crate::common::{info_str, ServerProc};
use crate::differential::check_with;
use crate::differential_dump::payload_arg;

const DEBUG_ON: &[&str] = &["--enable-debug-command", "yes"];
/// DEBUG on and an append-only log (restarted in the same directory).
const DEBUG_WITH_AOF: &[&str] = &["--enable-debug-command", "yes", "--appendonly", "yes"];

#[test]
fn debug_populate_and_protocol_match_redis() {
    check_with(
        DEBUG_ON,
        r#"
        DEBUG POPULATE
        DEBUG POPULATE abc
        DEBUG POPULATE -1
        DEBUG POPULATE 2 p -3
        DEBUG POPULATE 2 p abc
        DEBUG POPULATE 2 p 3 extra
        DEBUG POPULATE 0
        DBSIZE
        SET p:1 mine
        LPUSH p:2 x
        DEBUG POPULATE 4 p 12
        MGET p:0 p:1 p:3
        TYPE p:2
        DBSIZE
        DEBUG POPULATE 2 q 3
        MGET q:0 q:1
        DEBUG POPULATE 3
        MGET key:0 key:2
        OBJECT ENCODING key:0
        DEBUG POPULATE 1 z 0
        GET z:0
        DEBUG POPULATE 1 big 100
        STRLEN big:0
        DEBUG PROTOCOL string
        DEBUG PROTOCOL INTEGER
        DEBUG PROTOCOL double
        DEBUG PROTOCOL bignum
        DEBUG PROTOCOL null
        DEBUG PROTOCOL array
        DEBUG PROTOCOL set
        DEBUG PROTOCOL map
        DEBUG PROTOCOL attrib
        DEBUG PROTOCOL push
        DEBUG PROTOCOL verbatim
        DEBUG PROTOCOL true
        DEBUG PROTOCOL false
        DEBUG PROTOCOL nosuch
        DEBUG PROTOCOL
        DEBUG ERROR "my error"
        DEBUG ERROR "WRONGTYPE made up"
        DEBUG LOG "a line for the log"
        DEBUG CHANGE-REPL-ID
        DEBUG CHANGE-REPL-ID now
        "#,
    );
}

/// RESP3: every type in its own form; ATTRIB and PUSH send a frame before
/// the reply (compared as raw bytes, both frames).
#[test]
fn debug_protocol_resp3_matches_redis() {
    let ours = ServerProc::start(&["--save", "", "--enable-debug-command", "yes"]);
    let theirs = ServerProc::start_reference(DEBUG_ON);
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    a.cmd(&["HELLO", "3"]);
    b.cmd(&["HELLO", "3"]);
    for kind in [
        "string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib", "push",
        "verbatim", "true", "false",
    ] {
        let frames = if matches!(kind, "attrib" | "push") {
            2
        } else {
            1
        };
        let mut ra = a.cmd(&["DEBUG", "PROTOCOL", kind]);
        let mut rb = b.cmd(&["DEBUG", "PROTOCOL", kind]);
        for _ in 1..frames {
            ra.extend(a.read_reply());
            rb.extend(b.read_reply());
        }
        assert_eq!(
            String::from_utf8_lossy(&ra),
            String::from_utf8_lossy(&rb),
            "{kind}"
        );
    }
}

/// POPULATE's keys are not a change (no snapshot is due for them, as in
/// Redis), and CHANGE-REPL-ID starts a new replication history.
#[test]
fn populate_is_not_a_change_and_change_repl_id_changes_it() {
    let s = ServerProc::start(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    let dirty =
        |c: &mut crate::common::Conn| info_str(c, "persistence", "rdb_changes_since_last_save");
    let before = dirty(&mut c);
    assert_eq!(c.cmds(&["DEBUG", "POPULATE", "1000"]), "+OK\r\n");
    assert_eq!(c.cmds(&["DBSIZE"]), ":1000\r\n");
    assert_eq!(dirty(&mut c), before);
    let id = |c: &mut crate::common::Conn| info_str(c, "replication", "master_replid");
    let old = id(&mut c);
    assert_eq!(c.cmds(&["DEBUG", "CHANGE-REPL-ID"]), "+OK\r\n");
    let new = id(&mut c);
    assert!(new.as_ref().is_some_and(|n| n.len() == 40), "{new:?}");
    assert_ne!(old, new);
}

/// A status reply of 40 hex digits (alone, or DIGEST-VALUE's array of
/// one), as text.
fn digest_of(c: &mut crate::common::Conn, args: &[&str]) -> String {
    let r = c.cmds(args);
    let one = r.strip_prefix("*1\r\n").unwrap_or(&r);
    let hex = one.strip_prefix('+').and_then(|r| r.strip_suffix("\r\n"));
    match hex {
        Some(h) if h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()) => h.to_string(),
        _ => panic!("{args:?}: not a digest: {r:?}"),
    }
}

/// What DIGEST and DIGEST-VALUE promise, checked on both servers (their
/// digests differ, the rules do not): zeros for nothing, a change for any
/// change of data, none for the order elements were added in, and a TTL
/// counts by its presence, not its value.
#[test]
fn digest_rules_hold_on_redis_and_redislite() {
    const ZEROS: &str = "0000000000000000000000000000000000000000";
    for srv in [
        ServerProc::start(DEBUG_ON),
        ServerProc::start_reference(DEBUG_ON),
    ] {
        let mut c = srv.conn();
        assert_eq!(digest_of(&mut c, &["DEBUG", "DIGEST"]), ZEROS);
        assert_eq!(
            c.cmds(&["DEBUG", "DIGEST-VALUE", "missing", "gone"]),
            format!("*2\r\n+{ZEROS}\r\n+{ZEROS}\r\n")
        );
        assert_eq!(c.cmds(&["DEBUG", "DIGEST-VALUE"]), "*0\r\n");
        c.cmd(&["SET", "s", "12345"]);
        c.cmd(&["RPUSH", "l", "a", "b", "c"]);
        c.cmd(&["SADD", "set", "1", "2", "3"]);
        c.cmd(&["HSET", "h", "f1", "v1", "f2", "v2"]);
        c.cmd(&["ZADD", "z", "1", "a", "2.5", "b"]);
        c.cmd(&["XADD", "x", "1-1", "f", "v"]);
        c.cmd(&["SELECT", "3"]);
        c.cmd(&["SET", "other", "db"]);
        c.cmd(&["SELECT", "0"]);
        let full = digest_of(&mut c, &["DEBUG", "DIGEST"]);
        assert_ne!(full, ZEROS);
        let values: Vec<String> = ["s", "l", "set", "h", "z", "x"]
            .iter()
            .map(|k| digest_of(&mut c, &["DEBUG", "DIGEST-VALUE", k]))
            .collect();
        let mut distinct = values.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 6, "{values:?}");
        // Any change shows; undoing it restores the digest.
        for (change, undo) in [
            (&["SADD", "set", "4"][..], &["SREM", "set", "4"][..]),
            (&["RPUSH", "l", "d"], &["RPOP", "l"]),
            (&["HSET", "h", "f1", "other"], &["HSET", "h", "f1", "v1"]),
            (&["ZINCRBY", "z", "1", "a"], &["ZINCRBY", "z", "-1", "a"]),
            (&["SET", "new", "1"], &["DEL", "new"]),
        ] {
            c.cmd(change);
            assert_ne!(digest_of(&mut c, &["DEBUG", "DIGEST"]), full, "{change:?}");
            c.cmd(undo);
            assert_eq!(digest_of(&mut c, &["DEBUG", "DIGEST"]), full, "{undo:?}");
        }
        // The same members added in another order digest the same.
        c.cmd(&["DEL", "set", "h"]);
        c.cmd(&["SADD", "set", "3", "1", "2"]);
        c.cmd(&["HSET", "h", "f2", "v2", "f1", "v1"]);
        assert_eq!(digest_of(&mut c, &["DEBUG", "DIGEST"]), full);
        // A TTL counts by its presence.
        c.cmd(&["EXPIRE", "s", "100"]);
        let with_ttl = digest_of(&mut c, &["DEBUG", "DIGEST"]);
        let value_with_ttl = digest_of(&mut c, &["DEBUG", "DIGEST-VALUE", "s"]);
        assert_ne!(with_ttl, full);
        assert_ne!(value_with_ttl, values[0]);
        c.cmd(&["EXPIRE", "s", "5000"]);
        assert_eq!(digest_of(&mut c, &["DEBUG", "DIGEST"]), with_ttl);
        c.cmd(&["PERSIST", "s"]);
        assert_eq!(digest_of(&mut c, &["DEBUG", "DIGEST"]), full);
        // The database a key is in counts.
        c.cmd(&["SELECT", "3"]);
        assert_eq!(c.cmds(&["MOVE", "other", "0"]), ":1\r\n");
        c.cmd(&["SELECT", "0"]);
        assert_ne!(digest_of(&mut c, &["DEBUG", "DIGEST"]), full);
    }
}

/// The digest is of the data, not of its encoding: it survives DEBUG
/// RELOAD and a restart from the log (compact encodings rebuilt), a set
/// that went through a table digests as the same set kept as an intset,
/// and a replica's dataset digests as its master's.
#[test]
fn digest_survives_reload_restart_and_replication() {
    let dir = crate::common::TempDir::new("digest");
    let mut s = ServerProc::start_in(&dir.0, DEBUG_WITH_AOF);
    let mut c = s.conn();
    c.cmd(&["SADD", "ints", "1", "2", "3"]);
    c.cmd(&["SADD", "was_table", "1", "2", "3", "x"]);
    c.cmd(&["SREM", "was_table", "x"]);
    assert_eq!(
        digest_of(&mut c, &["DEBUG", "DIGEST-VALUE", "ints"]),
        digest_of(&mut c, &["DEBUG", "DIGEST-VALUE", "was_table"])
    );
    for i in 0..300 {
        let n = i.to_string();
        c.cmd(&["HSET", "bighash", &n, &n]);
        c.cmd(&["ZADD", "bigz", &n, &n]);
        c.cmd(&["RPUSH", "list", &n]);
    }
    c.cmd(&["HSET", "smallhash", "a", "1"]);
    c.cmd(&["SET", "ttl", "v", "EX", "1000"]);
    for i in 1..=5 {
        c.cmd(&["XADD", "st", &format!("{i}-0"), "f", &i.to_string()]);
    }
    c.cmd(&["XGROUP", "CREATE", "st", "g", "0"]);
    c.cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "alice",
        "COUNT",
        "2",
        "STREAMS",
        "st",
        ">",
    ]);
    let before = digest_of(&mut c, &["DEBUG", "DIGEST"]);
    let keys = [
        "ints",
        "was_table",
        "bighash",
        "bigz",
        "list",
        "smallhash",
        "ttl",
        "st",
    ];
    let mut values_before = Vec::new();
    for k in keys {
        values_before.push(digest_of(&mut c, &["DEBUG", "DIGEST-VALUE", k]));
    }
    assert_eq!(c.cmds(&["DEBUG", "RELOAD"]), "+OK\r\n");
    assert_eq!(
        digest_of(&mut c, &["DEBUG", "DIGEST"]),
        before,
        "after DEBUG RELOAD"
    );

    let port = s.port.to_string();
    let replica = ServerProc::start(&[DEBUG_ON, &["--replicaof", "127.0.0.1", &port]].concat());
    let mut r = replica.conn();
    let synced = crate::common::wait_until(std::time::Duration::from_secs(10), || {
        r.cmds(&["DEBUG", "DIGEST"]) == format!("+{before}\r\n")
    });
    assert!(synced, "the replica's digest never matched its master's");

    drop(c);
    let _ = s.terminate();
    let s = ServerProc::start_in(&dir.0, DEBUG_WITH_AOF);
    let mut c = s.conn();
    for (k, v) in keys.iter().zip(&values_before) {
        assert_eq!(
            &digest_of(&mut c, &["DEBUG", "DIGEST-VALUE", k]),
            v,
            "{k} after a restart"
        );
    }
    assert_eq!(
        digest_of(&mut c, &["DEBUG", "DIGEST"]),
        before,
        "after a restart"
    );
}

/// DEBUG LOADAOF empties the dataset and replays the log: what was logged
/// comes back (same digest), what never was (DEBUG POPULATE's keys, not
/// propagated) is gone, and the log goes on recording after it. Without
/// an AOF it is refused (Redis 7.0 exits there).
#[test]
fn debug_loadaof_replays_the_log() {
    let dir = crate::common::TempDir::new("loadaof");
    let mut s = ServerProc::start_in(&dir.0, DEBUG_WITH_AOF);
    let mut c = s.conn();
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["HSET", "h", "f", "v"]);
    c.cmd(&["SET", "ttl", "v", "EX", "1000"]);
    let logged = digest_of(&mut c, &["DEBUG", "DIGEST"]);
    assert_eq!(c.cmds(&["DEBUG", "POPULATE", "10"]), "+OK\r\n");
    assert_eq!(c.cmds(&["DBSIZE"]), ":13\r\n");
    assert_eq!(c.cmds(&["DEBUG", "LOADAOF"]), "+OK\r\n");
    assert_eq!(c.cmds(&["DBSIZE"]), ":3\r\n");
    assert_eq!(digest_of(&mut c, &["DEBUG", "DIGEST"]), logged);
    assert_eq!(c.cmds(&["SET", "after", "2"]), "+OK\r\n");
    drop(c);
    let _ = s.terminate();
    let s = ServerProc::start_in(&dir.0, DEBUG_WITH_AOF);
    let mut c = s.conn();
    assert_eq!(
        c.cmds(&["MGET", "a", "after"]),
        "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    );

    let off = ServerProc::start(DEBUG_ON);
    assert_eq!(
        off.conn().cmds(&["DEBUG", "LOADAOF"]),
        "-ERR AOF is not enabled\r\n"
    );
}

/// `payload_arg`'s payload with its CRC-64 damaged (the last byte).
fn bad_crc(arg: &str) -> String {
    let cut = arg.len() - "\\xNN\"".len();
    format!(
        "{}\\x{}\"",
        &arg[..cut],
        if &arg[cut + 2..cut + 4] == "00" {
            "01"
        } else {
            "00"
        }
    )
}

#[test]
fn skip_checksum_validation_lets_restores_through_as_in_redis() {
    let hello = bad_crc(&payload_arg(b"\x00\x05hello", 10));
    let code = "#!lua name=skiplib\nredis.register_function('f', function() return 1 end)";
    let mut lib = vec![0xf5, 0x40, code.len() as u8];
    lib.extend_from_slice(code.as_bytes());
    // FUNCTION RESTORE's payload is the opcode and string, no type byte:
    // `payload_arg` only frames what it is given.
    let lib = bad_crc(&payload_arg(&lib, 10));
    check_with(
        DEBUG_ON,
        &format!(
            r#"
        RESTORE k1 0 {hello}
        FUNCTION RESTORE {lib}
        DEBUG SET-SKIP-CHECKSUM-VALIDATION 1
        RESTORE k1 0 {hello}
        GET k1
        FUNCTION RESTORE {lib}
        FCALL f 0
        DEBUG SET-SKIP-CHECKSUM-VALIDATION x1
        RESTORE k2 0 {hello}
        DEBUG SET-SKIP-CHECKSUM-VALIDATION " 2x"
        RESTORE k2 0 {hello}
        DEBUG SET-SKIP-CHECKSUM-VALIDATION -0
        RESTORE k3 0 {hello}
        DEBUG SET-SKIP-CHECKSUM-VALIDATION
        DEBUG SET-SKIP-CHECKSUM-VALIDATION 0
        FUNCTION RESTORE {lib} REPLACE
        MGET k1 k2 k3
        "#
        ),
    );
}

/// DEBUG OBJECT's serializedlength is the value's size in RDB form: the
/// same as redis-server's for strings our LZF does not touch (integers,
/// short and incompressible strings).
#[test]
fn debug_object_serializedlength_matches_redis_for_strings() {
    let values = [
        "hello",
        "12345",
        "-7",
        "70000",
        "12345678901",
        "007",
        "abcdefghijklmnopqrstuvwxyz0123",
    ];
    let mut lengths = Vec::new();
    for reference in [false, true] {
        let s = ServerProc::start_either(reference, DEBUG_ON);
        let mut c = s.conn();
        let mut got = Vec::new();
        for v in values {
            c.cmd(&["SET", "k", v]);
            let reply = c.cmds(&["DEBUG", "OBJECT", "k"]);
            let n = reply
                .split_whitespace()
                .find_map(|f| f.strip_prefix("serializedlength:"))
                .unwrap_or_else(|| panic!("{reply}"))
                .to_string();
            got.push(n);
        }
        lengths.push(got);
    }
    assert_eq!(
        lengths[0], lengths[1],
        "ours, then redis-server's, for {values:?}"
    );
}

/// DEBUG OBJECT on a list ends with the quicklist's shape, as in Redis
/// 7.0: the node count, average node, fill and compression flag match
/// redis-server's for a list of one node; the byte size is our node
/// encoding's (not compared).
#[test]
fn debug_object_shows_the_quicklist_shape_as_redis() {
    let mut shapes = Vec::new();
    for reference in [false, true] {
        let s = ServerProc::start_either(reference, DEBUG_ON);
        let mut c = s.conn();
        c.cmd(&["RPUSH", "l", "a", "b", "c"]);
        let reply = c.cmds(&["DEBUG", "OBJECT", "l"]);
        let fields: Vec<String> = reply
            .split_whitespace()
            .filter(|f| f.starts_with("ql_") && !f.starts_with("ql_uncompressed_size:"))
            .map(str::to_string)
            .collect();
        assert!(reply.contains("ql_uncompressed_size:"), "{reply}");
        shapes.push(fields);
    }
    assert_eq!(shapes[0].len(), 4, "{:?}", shapes[0]);
    assert_eq!(shapes[0], shapes[1], "ours, then redis-server's");
}
