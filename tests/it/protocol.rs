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

/// Socket-level fuzzing: many connections send random and mutated frames
/// (valid commands with random arguments, truncated frames, garbage);
/// afterwards the server still answers and a control key is intact.
#[test]
fn random_frames_over_many_connections_do_not_hurt_the_server() {
    let s = ServerProc::start(&[]);
    let mut admin = s.conn();
    admin.cmd(&["SET", "control", "intact"]);
    const NAMES: &[&[u8]] = &[
        b"SET",
        b"GET",
        b"DEL",
        b"INCR",
        b"APPEND",
        b"HSET",
        b"HGETALL",
        b"LPUSH",
        b"LRANGE",
        b"SADD",
        b"SMEMBERS",
        b"ZADD",
        b"ZRANGE",
        b"EXPIRE",
        b"TTL",
        b"MULTI",
        b"EXEC",
        b"PING",
        b"SUBSCRIBE",
        b"PUBLISH",
        b"GETRANGE",
        b"SETRANGE",
        b"LCS",
        b"SCAN",
        b"TYPE",
        b"OBJECT",
    ];
    const ARGS: &[&[u8]] = &[
        b"k1",
        b"k2",
        b"k3",
        b"0",
        b"-1",
        b"1",
        b"99999999999999999999",
        b"1.5",
        b"inf",
        b"",
        b"\x00\xff",
        b"ENCODING",
        b"WITHSCORES",
        b"COUNT",
        b"*",
        b"+inf",
    ];
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || crate::common_rng(&mut rng);
    for _conn in 0..40 {
        let mut c = s.conn();
        let mut stream = Vec::new();
        for _ in 0..100 {
            let r = next();
            let argc = 1 + (r % 5) as usize;
            let mut args: Vec<&[u8]> = vec![NAMES[(next() as usize) % NAMES.len()]];
            for _ in 1..argc {
                args.push(ARGS[(next() as usize) % ARGS.len()]);
            }
            let mut frame = encode(&args);
            match r % 7 {
                0 => frame.truncate((next() as usize) % frame.len()),
                1 => {
                    let i = (next() as usize) % frame.len();
                    frame[i] = next() as u8;
                }
                2 => frame = (0..(next() % 64)).map(|_| next() as u8).collect(),
                _ => {}
            }
            stream.extend(frame);
        }
        // The connection may be closed early by a protocol error: ignore
        // write errors, then half-close and read to EOF, which guarantees
        // the server has processed (or refused) everything we sent.
        let _ = c.writer.write_all(&stream);
        let _ = c.writer.shutdown(std::net::Shutdown::Write);
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut c.reader, &mut sink);
    }
    assert_eq!(admin.cmd(&["PING"]), b"+PONG\r\n");
    assert_eq!(admin.cmd(&["GET", "control"]), b"$6\r\nintact\r\n");
    assert_eq!(s.conn().cmd(&["PING"]), b"+PONG\r\n");
}
