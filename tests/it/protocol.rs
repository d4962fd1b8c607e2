//! RESP framing: partial reads, pipelining, inline commands, protocol
//! errors (exact text, then the connection closes), and limits that must
//! be enforced without allocating what the peer announced.

use crate::common::{encode, ServerProc};
use std::io::Write;
use std::time::Duration;

#[test]
fn request_split_at_every_byte_is_parsed() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    let req = encode(&[b"SET", b"key", b"some value"]);
    for b in &req {
        c.writer.write_all(std::slice::from_ref(b)).unwrap();
        c.writer.flush().unwrap();
    }
    assert_eq!(c.read_reply(), b"+OK\r\n");
    assert_eq!(c.cmd(&["GET", "key"]), b"$10\r\nsome value\r\n");
}

#[test]
fn thousands_of_pipelined_commands_answer_in_order() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    let n = 5000;
    let mut buf = Vec::new();
    for i in 0..n {
        buf.extend(encode(&[
            b"SET",
            format!("k{i}").as_bytes(),
            format!("{i}").as_bytes(),
        ]));
        buf.extend(encode(&[b"GET", format!("k{i}").as_bytes()]));
    }
    c.send_raw(&buf);
    for i in 0..n {
        assert_eq!(c.read_reply(), b"+OK\r\n");
        let v = format!("{i}");
        assert_eq!(
            c.read_reply(),
            format!("${}\r\n{v}\r\n", v.len()).into_bytes()
        );
    }
}

#[test]
fn inline_commands_work_with_quotes() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    c.send_raw(b"SET greeting \"hello world\\n\"\r\n");
    assert_eq!(c.read_reply(), b"+OK\r\n");
    c.send_raw(b"GET greeting\n");
    assert_eq!(c.read_reply(), b"$12\r\nhello world\n\r\n");
    // Empty inline lines are ignored.
    c.send_raw(b"\r\n\r\nPING\r\n");
    assert_eq!(c.read_reply(), b"+PONG\r\n");
}

fn expect_error_then_close(raw: &[u8], expected: &str) {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    c.send_raw(raw);
    let reply = String::from_utf8(c.read_reply()).unwrap();
    assert_eq!(reply, format!("-ERR Protocol error: {expected}\r\n"));
    assert!(
        c.is_closed_within(Duration::from_secs(5)),
        "connection should be closed"
    );
    // The server itself is fine.
    assert_eq!(s.conn().cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn invalid_multibulk_length_closes() {
    expect_error_then_close(b"*abc\r\n", "invalid multibulk length");
    expect_error_then_close(b"*1048577\r\n", "invalid multibulk length");
}

#[test]
fn invalid_bulk_length_closes() {
    expect_error_then_close(b"*1\r\n$-5\r\n", "invalid bulk length");
    // Above proto-max-bulk-len (512mb): refused before any byte arrives.
    expect_error_then_close(b"*1\r\n$536870913\r\n", "invalid bulk length");
}

#[test]
fn expected_dollar_closes() {
    expect_error_then_close(b"*1\r\nGET\r\n", "expected '$', got 'G'");
}

#[test]
fn unbalanced_quotes_close() {
    expect_error_then_close(b"SET a \"b\r\n", "unbalanced quotes in request");
}

#[test]
fn too_big_inline_closes() {
    let big = vec![b'a'; 70 * 1024];
    expect_error_then_close(&big, "too big inline request");
}

#[test]
fn announced_huge_bulk_is_not_allocated() {
    // Announce a 500 MB argument but send only a few bytes: the server
    // must not reserve 500 MB for it.
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    c.send_raw(b"*2\r\n$3\r\nSET\r\n$524288000\r\nabc");
    let mut probe = s.conn();
    let info = probe.cmds(&["INFO", "memory"]);
    let used: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory in INFO");
    assert!(
        used < 50 * 1024 * 1024,
        "used_memory {used} after a 500MB claim"
    );
}

#[test]
fn smaller_proto_max_bulk_len_is_enforced() {
    let s = ServerProc::start(&["--proto-max-bulk-len", "1mb"]);
    let mut c = s.conn();
    c.send_raw(b"*1\r\n$2000000\r\n");
    assert_eq!(
        c.read_reply(),
        b"-ERR Protocol error: invalid bulk length\r\n"
    );
}

#[test]
fn quit_replies_ok_and_closes() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    c.send_raw(b"QUIT\r\nPING\r\n");
    assert_eq!(c.read_reply(), b"+OK\r\n");
    assert!(c.is_closed_within(Duration::from_secs(5)));
}

#[test]
fn resp3_types_after_hello_3() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    let hello = c.cmds(&["HELLO", "3"]);
    assert!(hello.starts_with("%7\r\n"), "{hello}");
    assert!(hello.contains("$5\r\nproto\r\n:3\r\n"));
    assert_eq!(c.cmd(&["GET", "nosuch"]), b"_\r\n");
    c.cmd(&["SET", "f", "1.5"]);
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxmemory"]),
        b"%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    );
    c.cmd(&["HELLO", "2"]);
    assert_eq!(c.cmd(&["GET", "nosuch"]), b"$-1\r\n");
}

#[test]
fn big_values_round_trip() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    let v = vec![b'x'; 3 * 1024 * 1024 + 17];
    c.send(&[b"SET", b"big", &v]);
    assert_eq!(c.read_reply(), b"+OK\r\n");
    let r = c.cmd(&["GET", "big"]);
    let header = format!("${}\r\n", v.len());
    assert!(r.starts_with(header.as_bytes()));
    assert_eq!(&r[header.len()..r.len() - 2], &v[..]);
}
