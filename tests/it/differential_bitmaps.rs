//! The bitmap commands (SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD
//! BITFIELD_RO) against Debian's redis-server 7.0: replies, error texts
//! and their order, encodings, notifications, the dirty counter.

use crate::common::ServerProc;
use crate::differential::{check, check_with};

#[test]
fn setbit_getbit_match_redis() {
    check(
        r###"
        SETBIT k 7 1
        GET k
        SETBIT k 7 1
        SETBIT k 7 0
        SETBIT k 0 1
        GET k
        GETBIT k 0
        GETBIT k 1
        GETBIT k 7
        GETBIT k 8
        GETBIT k 100000
        GETBIT nosuch 0
        STRLEN k
        SETBIT k 100 0
        STRLEN k
        OBJECT ENCODING k
        SETBIT k -1 1
        SETBIT k abc 1
        SETBIT k +1 1
        SETBIT k 01 1
        SETBIT k " 1" 1
        SETBIT k 0 2
        SETBIT k 0 -1
        SETBIT k 0 +1
        SETBIT k 0 a
        SETBIT k abc 2
        SETBIT k "#1" 1
        GETBIT k -1
        GETBIT k abc
        GETBIT k 4294967296
        GETBIT k 9223372036854775807
        GETBIT k 9223372036854775808
        GETBIT k 4294967295
        SETBIT k 4294967296 1
        SETBIT k 9223372036854775807 0
        EXISTS bad
        SETBIT bad 4294967296 1
        EXISTS bad
        RPUSH l a
        SETBIT l 0 1
        GETBIT l 0
        SETBIT l x 1
        SETBIT l 0 x
        SETBIT
        SETBIT k
        SETBIT k 0
        SETBIT k 0 1 1
        GETBIT
        GETBIT k
        GETBIT k 0 0
        "###,
    );
}

// Strings stored int-encoded or embstr: readers see their bytes and leave
// the encoding, writers turn them raw even when nothing changes.
#[test]
fn bit_commands_on_int_and_embstr_strings_match_redis() {
    check(
        r###"
        SET n 123
        OBJECT ENCODING n
        GETBIT n 2
        GETBIT n 7
        BITCOUNT n
        BITPOS n 1
        BITPOS n 0
        BITFIELD n GET u8 0 GET i16 8 GET u4 20
        BITFIELD_RO n GET u8 #1
        OBJECT ENCODING n
        SETBIT n 2 1
        OBJECT ENCODING n
        GET n
        SET n2 -45
        SETBIT n2 0 0
        OBJECT ENCODING n2
        GET n2
        SET e hello
        OBJECT ENCODING e
        BITFIELD e GET u8 0
        OBJECT ENCODING e
        BITFIELD e OVERFLOW FAIL INCRBY u8 0 255
        OBJECT ENCODING e
        GET e
        SET n3 99
        BITOP NOT d n3
        GET d
        OBJECT ENCODING d
        BITOP AND d n n3
        GET d
        SET one 1
        BITOP OR d one
        OBJECT ENCODING d
        SETBIT created 3 1
        OBJECT ENCODING created
        "###,
    );
}

#[test]
fn bitcount_matches_redis() {
    check(
        r###"
        SET s "foobar"
        BITCOUNT s
        BITCOUNT s 0 0
        BITCOUNT s 1 1
        BITCOUNT s 0 -1
        BITCOUNT s -2 -1
        BITCOUNT s -1 -2
        BITCOUNT s -100 -200
        BITCOUNT s -100 -1
        BITCOUNT s -200 -100
        BITCOUNT s 2 100
        BITCOUNT s 100 200
        BITCOUNT s 5 4
        BITCOUNT s -9223372036854775808 9223372036854775807
        BITCOUNT s 0 -1 BYTE
        BITCOUNT s 0 -1 byte
        BITCOUNT s 0 -1 BIT
        BITCOUNT s 1 1 BIT
        BITCOUNT s 5 30 bit
        BITCOUNT s 3 4 BIT
        BITCOUNT s -5 -1 BIT
        BITCOUNT s -1 -5 BIT
        BITCOUNT s -100 -60 BIT
        BITCOUNT s 47 47 BIT
        BITCOUNT s 40 1000 BIT
        BITCOUNT s 48 1000 BIT
        BITCOUNT s 0
        BITCOUNT s 0 1 2
        BITCOUNT s 0 1 foo
        BITCOUNT s 0 1 bit x
        BITCOUNT s a 1
        BITCOUNT s 0 a
        BITCOUNT s a 1 foo
        BITCOUNT s 0 1 "bit\x00x"
        BITCOUNT nosuch
        BITCOUNT nosuch 0
        BITCOUNT nosuch a b
        BITCOUNT nosuch 0 1 foo
        SET empty ""
        BITCOUNT empty
        BITCOUNT empty 0 -1
        BITCOUNT empty 0 -1 BIT
        BITCOUNT empty 0 0
        RPUSH l a
        BITCOUNT l
        BITCOUNT l a b c
        BITCOUNT
        "###,
    );
    // Long strings: every word-at-a-time path (heads, whole words, tails).
    let long: String = (0..300u32)
        .map(|i| format!("\\x{:02x}", (i.wrapping_mul(37) ^ (i >> 3)) as u8))
        .collect();
    let mut script = format!("SET big \"{long}\"\nBITCOUNT big\n");
    for (a, b) in [(0, 299), (1, 298), (7, 9), (8, 15), (13, 250), (-40, -3)] {
        script.push_str(&format!("BITCOUNT big {a} {b}\n"));
        script.push_str(&format!("BITCOUNT big {} {} BIT\n", a * 8 + 3, b * 8 + 5));
    }
    check(&script);
}

#[test]
fn bitpos_matches_redis() {
    check(
        r###"
        SET s "\xff\xf0\x00"
        BITPOS s 0
        BITPOS s 1
        BITPOS s 0 0
        BITPOS s 0 1
        BITPOS s 0 2
        BITPOS s 0 3
        BITPOS s 1 2
        BITPOS s 1 -1
        BITPOS s 0 -1
        BITPOS s 0 0 0
        BITPOS s 0 0 1
        BITPOS s 1 2 2
        BITPOS s 0 -3 -2
        BITPOS s 0 -100 -50
        BITPOS s 1 -100 -50
        BITPOS s 1 2 1
        BITPOS s 0 0 -1 BYTE
        BITPOS s 0 0 -1 BIT
        BITPOS s 0 0 11 BIT
        BITPOS s 0 0 12 BIT
        BITPOS s 0 3 5 BIT
        BITPOS s 1 3 5 BIT
        BITPOS s 1 12 23 BIT
        BITPOS s 1 5 9 bit
        BITPOS s 0 12 12 BIT
        BITPOS s 1 12 12 BIT
        BITPOS s 0 -5 -1 BIT
        BITPOS s 0 7 BIT
        BITPOS s 1 30 100 BIT
        SET ones "\xff\xff\xff"
        BITPOS ones 0
        BITPOS ones 0 1
        BITPOS ones 0 1 -1
        BITPOS ones 0 0 -1 BIT
        BITPOS ones 0 5 BIT
        BITPOS ones 1
        SET zeros "\x00\x00"
        BITPOS zeros 1
        BITPOS zeros 0
        BITPOS zeros 1 0 -1 BIT
        SET empty ""
        BITPOS empty 0
        BITPOS empty 1
        BITPOS empty 0 0
        BITPOS empty 0 0 -1
        BITPOS nosuch 0
        BITPOS nosuch 1
        BITPOS nosuch 0 5 10
        BITPOS nosuch 1 0 1 foo
        BITPOS nosuch 2
        BITPOS nosuch x
        BITPOS nosuch -1
        BITPOS s 2
        BITPOS s 1 a
        BITPOS s 1 0 a
        BITPOS s 1 a 1 foo
        BITPOS s 1 0 a foo
        BITPOS s 1 0 1 foo
        BITPOS s 1 0 1 bit x
        RPUSH l a
        BITPOS l 1
        BITPOS l 2
        BITPOS
        BITPOS s
        "###,
    );
    // A set bit deep in a long run of zeros and a clear bit deep in ones:
    // the word scan must find exactly the same positions.
    let mut script = String::from("SETBIT z 4099 1\nSETBIT z 8191 0\n");
    for i in [0, 1, 63, 64, 65, 511, 4000] {
        script.push_str(&format!("SETBIT o {i} 1\n"));
    }
    script.push_str(
        "BITPOS z 1\nBITPOS z 1 3\nBITPOS z 1 0 511\nBITPOS z 1 4100 -1 BIT\nBITPOS z 0 512\n\
         BITOP NOT nz z\nBITPOS nz 0\nBITPOS nz 0 1 -1 BIT\nBITPOS nz 1 4099 4099 BIT\nBITPOS nz 0 4100 BIT\n\
         BITPOS o 0\nBITPOS o 1 1 -1 BIT\nBITPOS o 1 66 BIT\nBITPOS o 1 512 BIT\nBITPOS o 1 4001 BIT\n",
    );
    check(&script);
}

#[test]
fn bitop_matches_redis() {
    check(
        r###"
        SET a "\xff\x0f\xf0"
        SET b "\x0f"
        SET c "\x01\x02\x03\x04\x05"
        BITOP AND d a b
        GET d
        BITOP and d b a
        GET d
        BITOP OR d a b c
        GET d
        BITOP XOR d a b c
        GET d
        BITOP NOT d a
        GET d
        BITOP AND d a nosuch
        GET d
        BITOP AND d nosuch a
        GET d
        BITOP OR d nosuch a
        GET d
        BITOP XOR d nosuch1 nosuch2
        EXISTS d
        SET d x
        BITOP OR d nosuch
        EXISTS d
        SET empty ""
        SET d x
        BITOP AND d empty empty
        EXISTS d
        BITOP NOT d empty
        BITOP NOT d nosuch
        SET d x
        EXPIRE d 100
        BITOP OR d a
        TTL d
        RPUSH l x
        BITOP OR l a
        TYPE l
        GET l
        BITOP OR d l
        BITOP OR d a l
        BITOP OR d nosuch l
        BITOP NOT d a b
        BITOP NOT d
        BITOP FOO d a
        BITOP "and\x00x" d a
        BITOP AND d
        BITOP
        BITOP AND
        BITOP OR d a a a a
        GET d
        BITOP AND a a b
        GET a
        "###,
    );
}

#[test]
fn bitfield_matches_redis() {
    check(
        r###"
        BITFIELD k SET i8 0 100 GET i8 0 INCRBY i8 0 27 INCRBY i8 0 1
        BITFIELD k OVERFLOW SAT INCRBY i8 0 100 INCRBY i8 0 -300 OVERFLOW FAIL INCRBY i8 0 -1 GET i8 0
        BITFIELD k OVERFLOW WRAP INCRBY i8 0 -1
        BITFIELD k SET u8 0 255 INCRBY u8 0 1 OVERFLOW SAT INCRBY u8 0 -5 INCRBY u8 0 -300 INCRBY u8 0 1000
        BITFIELD k OVERFLOW FAIL INCRBY u8 0 256 INCRBY u8 0 -1 SET u8 0 256 SET u8 0 -1 GET u8 0
        BITFIELD k OVERFLOW SAT SET u8 0 -1 SET u8 0 300 OVERFLOW WRAP SET u8 0 -1 SET u8 0 258 GET u8 0
        BITFIELD k SET i64 0 9223372036854775807 INCRBY i64 0 1 INCRBY i64 0 -1
        BITFIELD k OVERFLOW SAT INCRBY i64 0 1 SET i64 0 -9223372036854775808 INCRBY i64 0 -1
        BITFIELD k OVERFLOW FAIL INCRBY i64 0 -1 INCRBY i64 0 9223372036854775807 INCRBY i64 0 9223372036854775807
        BITFIELD k SET u63 0 9223372036854775807 INCRBY u63 0 1 GET u63 0 GET i64 0 GET u63 1
        BITFIELD k OVERFLOW SAT SET i8 0 -9223372036854775808 GET i8 0
        BITFIELD k OVERFLOW SAT SET i8 0 -9223372036854775681 GET i8 0
        BITFIELD k OVERFLOW SAT SET i8 0 -9223372036854775680 GET i8 0
        BITFIELD k OVERFLOW SAT SET i8 0 -129 GET i8 0 SET i8 0 128 GET i8 0
        BITFIELD k OVERFLOW WRAP SET i8 0 -9223372036854775808 GET i8 0
        BITFIELD k SET i1 0 1 GET i1 0 SET u1 1 1 GET u1 1 INCRBY i1 2 1 INCRBY u1 3 3
        BITFIELD k OVERFLOW SAT INCRBY i1 4 5 INCRBY i1 4 -5 INCRBY u1 5 -1 INCRBY u1 5 2
        BITFIELD k SET i5 3 -7 GET i5 3 GET u5 3 SET u13 7 8191 GET u13 7 GET i13 7
        BITFIELD k GET i8 #0 GET i8 #1 SET u4 #5 15 GET u4 #5 GET u8 #2 INCRBY i16 #3 -2
        BITFIELD k GET i64 60 GET u63 61 SET i64 61 -1 GET i64 61 GET u8 60
        GET k
        STRLEN k
        BITFIELD k GET u8 1000000
        STRLEN k
        BITFIELD k SET u8 1000 1
        STRLEN k
        BITFIELD k
        BITFIELD nosuch
        BITFIELD nosuch GET i8 0 GET u63 1000
        EXISTS nosuch
        BITFIELD nosuch OVERFLOW FAIL INCRBY u8 16 300
        EXISTS nosuch
        STRLEN nosuch
        BITFIELD k OVERFLOW wrap
        BITFIELD k overflow
        BITFIELD k OVERFLOW foo GET i8 0
        BITFIELD k GET i8 0 OVERFLOW
        BITFIELD k get
        BITFIELD k get i8
        BITFIELD k foo
        BITFIELD k SET i8 0
        BITFIELD k SET i8 0 a
        BITFIELD k INCRBY i8 0 a
        BITFIELD k INCRBY i8 0 9223372036854775808
        BITFIELD k GET I8 0
        BITFIELD k GET i0 0
        BITFIELD k GET i65 0
        BITFIELD k GET u64 0
        BITFIELD k GET u08 0
        BITFIELD k GET u+8 0
        BITFIELD k GET "" 0
        BITFIELD k GET x8 0
        BITFIELD k GET "u8\x00junk" 0
        BITFIELD k GET i8 -1
        BITFIELD k GET i8 "#"
        BITFIELD k GET i8 "#-1"
        BITFIELD k GET i8 "##1"
        BITFIELD k GET i8 "#+1"
        BITFIELD k GET i8 "#01"
        BITFIELD k GET i8 "#1152921504606846976"
        BITFIELD k GET i8 "#2305843009213693952"
        BITFIELD k GET i8 "#2305843009213693953"
        BITFIELD k GET i8 4294967295
        BITFIELD k GET i8 4294967296
        BITFIELD k GET i64 4294967295
        BITFIELD k GET i8 0 GET i8 x SET i8 0 1
        BITFIELD k SET x 0 1 GET i8 y
        BITFIELD k OVERFLOW bad SET i8 x 1
        BITFIELD_RO k GET i8 0 GET u8 #1 OVERFLOW SAT GET u4 3
        BITFIELD_RO k SET i8 0 1
        BITFIELD_RO k INCRBY i8 0 1
        BITFIELD_RO k GET i8 0 SET i8 0 a
        BITFIELD_RO k GET i8 0 SET i8 0 1 GET u2 0
        BITFIELD_RO k
        BITFIELD_RO nosuch GET u8 0
        RPUSH l a
        BITFIELD l GET u8 0
        BITFIELD l SET u8 0 1
        BITFIELD l
        BITFIELD l GET i8 x
        BITFIELD_RO l GET u8 0
        BITFIELD_RO l SET u8 0 1
        BITFIELD
        BITFIELD_RO
        "###,
    );
}

#[test]
fn bit_offsets_past_proto_max_bulk_len_match_redis() {
    // The smallest limit CONFIG SET allows (1 MB): offsets are refused at
    // 8 Mi bits, and a string can be grown right up to it.
    check(
        r###"
        CONFIG SET proto-max-bulk-len 1048576
        SETBIT k 8388608 1
        SETBIT k 8388607 1
        STRLEN k
        GETBIT k 8388608
        GETBIT k 8388607
        BITFIELD k GET u8 8388608
        BITFIELD k GET u8 8388607
        BITFIELD k GET u8 "#1048576"
        BITFIELD k SET u8 "#1048575" 255
        BITFIELD k SET u8 8388607 255
        STRLEN k
        BITFIELD k SET i64 8388600 -1
        STRLEN k
        BITCOUNT k 1048570 -1
        BITPOS k 0 -2
        DEL k
        CONFIG SET proto-max-bulk-len 536870912
        "###,
    );
}

#[test]
fn bitmaps_in_resp3_match_redis() {
    check(
        r###"
        ~HELLO 3
        SETBIT k 1 1
        GETBIT k 1
        BITCOUNT k
        BITPOS k 1
        BITFIELD k GET u8 0 OVERFLOW FAIL INCRBY u8 0 300 SET i4 0 3
        BITFIELD_RO k GET u8 0
        BITFIELD_RO nosuch GET u8 0
        BITFIELD k
        BITOP NOT d k
        BITFIELD k OVERFLOW FAIL INCRBY u8 0 300
        SETBIT k x 1
        BITFIELD k GET u64 0
        "###,
    );
}

#[test]
fn bitmaps_in_multi_and_command_introspection_match_redis() {
    check(
        r###"
        MULTI
        SETBIT k 3 1
        BITFIELD k INCRBY u4 0 1
        BITCOUNT k
        BITPOS k 1
        BITOP NOT d k
        GET d
        EXEC
        MULTI
        SETBIT k x 1
        EXEC
        COMMAND GETKEYS setbit k 0 1
        COMMAND GETKEYS bitop and d a b c
        COMMAND GETKEYS bitfield k GET u8 0
        COMMAND GETKEYS bitfield_ro k GET u8 0
        COMMAND GETKEYS bitcount k
        COMMAND GETKEYS bitpos k 1
        COMMAND GETKEYS getbit k 1
        "###,
    );
}

/// The bitmap category and the names: the same commands as redis-server
/// (which lists them in its hash table's order, so they are compared
/// sorted), and COMMAND COUNT grows by the seven of them.
#[test]
fn bitmap_category_lists_match_redis() {
    let ours = ServerProc::start(&["--save", ""]);
    let theirs = ServerProc::start_reference(&[]);
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    let sorted = |reply: Vec<u8>| crate::server::sorted_names(&reply);
    for args in [
        &["ACL", "CAT", "bitmap"][..],
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "bitmap"],
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "*bit*"],
    ] {
        let (ra, rb) = (sorted(a.cmd(args)), sorted(b.cmd(args)));
        assert_eq!(ra.len(), 7, "{args:?}: {ra:?}");
        assert_eq!(ra, rb, "{args:?}");
    }
}

/// COMMAND INFO and COMMAND DOCS of each bitmap command, compared up to
/// what the table does not model for any command yet (key specs, tips,
/// argument docs, complexity): name, arity, flags, key range and ACL
/// categories; summary, since and group.
#[test]
fn bitmap_command_info_matches_redis() {
    let ours = ServerProc::start(&["--save", ""]);
    let theirs = ServerProc::start_reference(&[]);
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    // COMMAND INFO: everything before the (empty here) tips.
    let info_head = |reply: Vec<u8>| {
        let s = String::from_utf8_lossy(&reply).into_owned();
        let cats = s.find("+@").expect("categories");
        let after = &s[cats..];
        let end = after.find("\r\n*").map_or(s.len(), |e| cats + e);
        s[..end].to_string()
    };
    // COMMAND DOCS: summary, since and group, the fields we report.
    let docs_fields = |reply: Vec<u8>| {
        let s = String::from_utf8_lossy(&reply).into_owned();
        let lines: Vec<&str> = s.split("\r\n").collect();
        let field = |name: &str| {
            let at = lines.iter().position(|l| *l == name).expect(name);
            lines[at + 2].to_string()
        };
        (field("summary"), field("since"), field("group"))
    };
    for name in [
        "setbit",
        "getbit",
        "bitcount",
        "bitpos",
        "bitop",
        "bitfield",
        "bitfield_ro",
    ] {
        assert_eq!(
            info_head(a.cmd(&["COMMAND", "INFO", name])),
            info_head(b.cmd(&["COMMAND", "INFO", name])),
            "{name}"
        );
        assert_eq!(
            docs_fields(a.cmd(&["COMMAND", "DOCS", name])),
            docs_fields(b.cmd(&["COMMAND", "DOCS", name])),
            "{name}"
        );
    }
}

/// Events and the dirty counter: a write that changes nothing raises no
/// "setbit" and is not counted; creating or growing the string is.
#[test]
fn bitmap_notifications_and_dirty_match_redis() {
    let script: &[&[&str]] = &[
        &["SETBIT", "k", "0", "0"],
        &["SETBIT", "k", "0", "0"],
        &["SETBIT", "k", "100", "0"],
        &["SETBIT", "k", "0", "1"],
        &["SETBIT", "k", "0", "1"],
        &["BITFIELD", "k", "GET", "u8", "0"],
        &["BITFIELD", "k", "SET", "u8", "0", "128"],
        &["BITFIELD", "k", "SET", "u8", "0", "1"],
        &[
            "BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300",
        ],
        &[
            "BITFIELD", "n", "OVERFLOW", "FAIL", "INCRBY", "u8", "16", "300",
        ],
        &[
            "BITFIELD", "n", "SET", "u8", "0", "0", "SET", "u8", "0", "0",
        ],
        &[
            "BITFIELD", "k", "SET", "u8", "200", "0", "SET", "u8", "0", "1",
        ],
        &["BITFIELD_RO", "k", "GET", "u8", "0"],
        &["SET", "a", "1"],
        &["BITOP", "AND", "d", "a", "nosuch"],
        &["BITOP", "OR", "d", "nosuch"],
        &["BITOP", "OR", "d", "nosuch"],
        &["BITOP", "NOT", "d", "a"],
        &["DEL", "k"],
    ];
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    assert_eq!(
        crate::pubsub_tx::notifications_for(&ours, script),
        crate::pubsub_tx::notifications_for(&theirs, script)
    );
    let dirty_steps = |s: &ServerProc| -> Vec<u64> {
        let mut c = s.conn();
        c.cmd(&["FLUSHALL"]);
        let mut out = Vec::new();
        for cmd in script {
            let before =
                crate::common::info_u64(&mut c, "persistence", "rdb_changes_since_last_save");
            c.cmd(cmd);
            let after =
                crate::common::info_u64(&mut c, "persistence", "rdb_changes_since_last_save");
            out.push(after - before);
        }
        out
    };
    assert_eq!(dirty_steps(&ours), dirty_steps(&theirs));
}

/// WATCH is invalidated by bitmap writes that change the string, and not
/// by those that leave it as it was (Redis 7.0 signals only changes).
#[test]
fn watch_sees_bitmap_changes_only_like_redis() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["SET", "k", "\x00"], &["SETBIT", "k", "0", "0"]),
        (&["SET", "k", "\x00"], &["SETBIT", "k", "0", "1"]),
        (&["SET", "k", "\x00"], &["SETBIT", "k", "9", "0"]),
        (
            &["SET", "k", "\x00"],
            &["BITFIELD", "k", "SET", "u8", "0", "0"],
        ),
        (
            &["SET", "k", "\x00"],
            &["BITFIELD", "k", "INCRBY", "u8", "0", "1"],
        ),
        (&["SET", "k", "\x00"], &["BITFIELD", "k", "GET", "u8", "0"]),
        (
            &["SET", "k", "\x00"],
            &[
                "BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "16", "300",
            ],
        ),
        (
            &["DEL", "k"],
            &[
                "BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "16", "300",
            ],
        ),
        (&["SET", "k", "\x00"], &["BITOP", "OR", "k", "nosuch"]),
        (&["DEL", "k"], &["BITOP", "OR", "k", "nosuch"]),
        (&["SET", "k", "x"], &["BITOP", "NOT", "k", "k"]),
    ];
    let outcomes = |s: &ServerProc| -> Vec<String> {
        let (mut a, mut b) = (s.conn(), s.conn());
        cases
            .iter()
            .map(|(setup, write)| {
                a.cmd(setup);
                a.cmd(&["WATCH", "k"]);
                a.cmd(&["MULTI"]);
                a.cmd(&["PING"]);
                b.cmd(write);
                format!(
                    "{write:?} -> {}",
                    String::from_utf8_lossy(&a.cmd(&["EXEC"]))
                )
            })
            .collect()
    };
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    assert_eq!(outcomes(&ours), outcomes(&theirs));
}

/// proto-max-bulk-len raised past 512 MB moves the offset limit with it
/// (as Redis); no string is built, only the refusal point is compared.
#[test]
fn offset_limit_follows_proto_max_bulk_len_like_redis() {
    check_with(
        &["--proto-max-bulk-len", "2gb"],
        r###"
        GETBIT k 17179869183
        GETBIT k 17179869184
        BITFIELD k GET u8 17179869183
        BITFIELD k GET u8 17179869184
        BITFIELD_RO k GET i64 "#268435455"
        BITFIELD_RO k GET i64 "#268435456"
        "###,
    );
}

/// ACL: the bitmap category and the read/write needs of each key
/// argument (BITOP writes its destination and reads its sources; BITFIELD
/// needs write only when it has a SET or INCRBY, as Redis decides it per
/// call; BITFIELD is still outside @read, BITFIELD_RO inside).
#[test]
fn bitmap_acl_rules_match_redis() {
    check(
        r###"
        ACL SETUSER b on nopass ~* +@bitmap -bitop
        ACL GETUSER b
        ACL DRYRUN b setbit k 0 1
        ACL DRYRUN b bitfield k GET u8 0
        ACL DRYRUN b bitop AND d a
        ACL DRYRUN b get k
        ACL SETUSER r on nopass %R~src* %W~dst* +@all
        ACL DRYRUN r bitop AND dst1 src1 src2
        ACL DRYRUN r bitop AND src1 dst1
        ACL DRYRUN r bitop NOT dst1 dst2
        ACL DRYRUN r bitfield src1 GET u8 0
        ACL DRYRUN r bitfield dst1 SET u8 0 1
        ACL DRYRUN r bitfield src1 OVERFLOW SAT GET u8 0 INCRBY u8 0 1
        ACL DRYRUN r bitfield src1 GET u8 0 OVERFLOW SAT
        ACL DRYRUN r bitfield src1 foo SET u8 0 1
        ACL DRYRUN r bitfield src1 GET u8 SET u8 0 1
        ACL DRYRUN r bitfield src1 SET u8 0
        ACL DRYRUN r bitfield src1
        ACL DRYRUN r bitfield_ro src1 GET u8 0
        ACL DRYRUN r bitcount src1
        ACL DRYRUN r setbit dst1 0 1
        ACL DRYRUN r getbit dst1 0
        ACL SETUSER ro on nopass ~* +@read
        ACL DRYRUN ro bitfield_ro k GET u8 0
        ACL DRYRUN ro bitfield k GET u8 0
        ACL DRYRUN ro bitpos k 1
        "###,
    );
}
