//! Differential tests for DUMP and RESTORE: argument checks, error texts
//! and their order, TTL handling, the footer checks and refused bodies,
//! compared byte for byte with redis-server 7.0.
//!
//! Payloads are built here from hand-written RDB bodies with the footer
//! computed by the library's CRC-64 (the one function both the server and
//! this test trust; the interop tests in dump.rs check it against real
//! Redis payloads). DUMP replies themselves differ by design (we write
//! plain RDB encodings, Redis compact ones), so only a missing key's DUMP
//! is compared here.

use crate::differential::check;

/// A script argument (quoted, \xHH escaped) holding a DUMP payload of
/// `object` (type byte + body) with RDB version `version`.
pub(crate) fn payload_arg(object: &[u8], version: u16) -> String {
    let mut p = object.to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let crc = redislite::persistence::rdb::crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    let mut s = String::from("\"");
    for b in p {
        s.push_str(&format!("\\x{b:02x}"));
    }
    s.push('"');
    s
}

#[test]
fn restore_arguments_errors_and_ttls_match_redis() {
    let hello = payload_arg(b"\x00\x05hello", 10);
    let list = payload_arg(b"\x01\x02\x01a\x01b", 10);
    let v11 = payload_arg(b"\x00\x05hello", 11);
    let v9 = payload_arg(b"\x00\x05hello", 9);
    let unknown_type = payload_arg(b"\x63\x05hello", 10);
    let empty_list = payload_arg(b"\x01\x00", 10);
    let short_string = payload_arg(b"\x00\x09hello", 10);
    let footer_only = payload_arg(b"", 10);
    let huge_count = payload_arg(b"\x01\x81\xff\xff\xff\xff\xff\xff\xff\xff\x01a", 10);
    let script = format!(
        r#"
        DUMP nokey
        DUMP
        DUMP a b
        RESTORE k 0
        RESTORE k 0 {hello}
        GET k
        TYPE k
        TTL k
        RESTORE k 0 {hello}
        RESTORE k abc {hello}
        WATCH k
        RESTORE k 0 {hello}
        MULTI
        GET k
        EXEC
        RESTORE k 0 {list} REPLACE
        TYPE k
        LRANGE k 0 -1
        RESTORE n -1 {hello}
        RESTORE n abc {hello}
        RESTORE n 0 garbage
        RESTORE n 0 ""
        RESTORE n 0 {hello} foo
        RESTORE n 0 {hello} IDLETIME
        RESTORE n 0 {hello} IDLETIME -1
        RESTORE n 0 {hello} IDLETIME abc
        RESTORE n 0 {hello} IDLETIME 10 FREQ 5
        RESTORE n 0 {hello} FREQ 5 IDLETIME 10
        RESTORE n 0 {hello} FREQ 256
        RESTORE n 0 {hello} FREQ -1
        RESTORE n -1 garbage IDLETIME -1
        RESTORE n 0 {v11}
        RESTORE n 0 {unknown_type}
        RESTORE n 0 {empty_list}
        RESTORE n 0 {short_string}
        RESTORE n 0 {footer_only}
        RESTORE n 0 {huge_count}
        EXISTS n
        RESTORE n 0 {v9}
        GET n
        RESTORE i 0 {hello} IDLETIME 1000
        ~OBJECT IDLETIME i
        RESTORE f 0 {hello} FREQ 100 REPLACE ABSTTL
        CONFIG SET maxmemory-policy allkeys-lfu
        RESTORE f2 0 {hello} FREQ 100
        OBJECT FREQ f2
        RESTORE f3 0 {hello} IDLETIME 100
        OBJECT FREQ f3
        CONFIG SET maxmemory-policy noeviction
        RESTORE t 100000 {hello}
        TTL t
        RESTORE t2 1 {hello} ABSTTL
        EXISTS t2
        RESTORE t 1 {hello} REPLACE ABSTTL
        EXISTS t
        RESTORE t 9999999999999 {hello} ABSTTL
        PEXPIRETIME t
        CONFIG SET maxmemory 1
        RESTORE m 0 {hello}
        CONFIG SET maxmemory 0
        RESTORE m 0 {hello}
        DBSIZE
        "#
    );
    check(&script);
}

/// Plain (non-listpack) set and sorted set bodies that repeat a member:
/// Redis 7.0 refuses them ("Bad data format") rather than keep one copy;
/// the same bodies without the repeat load.
#[test]
fn restore_refuses_repeated_members_like_redis() {
    let set_dup = payload_arg(b"\x02\x02\x01a\x01a", 10);
    let set_ok = payload_arg(b"\x02\x02\x01a\x01b", 10);
    let one = 1f64.to_le_bytes();
    let mut zset = b"\x05\x02\x01m".to_vec();
    zset.extend_from_slice(&one);
    zset.extend_from_slice(b"\x01m");
    zset.extend_from_slice(&one);
    let zset_dup = payload_arg(&zset, 10);
    let script = format!(
        r#"
        RESTORE s 0 {set_dup}
        EXISTS s
        RESTORE s 0 {set_ok}
        SCARD s
        RESTORE z 0 {zset_dup}
        EXISTS z
        "#
    );
    check(&script);
}

/// A plain hash body that repeats a field. Redis 7.0 refuses it only when
/// the hash is big (or with sanitize-dump-payload yes); a small one it
/// stores as a corrupt listpack holding the field twice (HLEN 2,
/// HGETALL "f" "1" "f" "2"), which no command could have produced. We
/// refuse it at every size, as Redis does for the big ones.
#[test]
fn restore_refuses_a_hash_with_a_repeated_field() {
    let s = crate::common::ServerProc::start(&[]);
    let mut c = s.conn();
    let arg = |body: &[u8]| {
        let mut p = body.to_vec();
        p.extend_from_slice(&10u16.to_le_bytes());
        let crc = redislite::persistence::rdb::crc64(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    };
    let restore = |c: &mut crate::common::Conn, body: &[u8]| {
        c.send(&[b"RESTORE", b"h", b"0", &arg(body)]);
        c.read_reply()
    };
    assert_eq!(
        restore(&mut c, b"\x04\x02\x01f\x011\x01f\x012"),
        b"-ERR Bad data format\r\n"
    );
    assert_eq!(c.cmds(&["EXISTS", "h"]), ":0\r\n");
    assert_eq!(restore(&mut c, b"\x04\x02\x01f\x011\x01g\x012"), b"+OK\r\n");
    assert_eq!(c.cmds(&["HLEN", "h"]), ":2\r\n");
}
