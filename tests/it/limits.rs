//! Client limits under abuse: a connection flood at twice maxclients, and
//! a client announcing a 2 GB argument then trickling bytes. The flood is
//! also run on redis-server 7.0, which must behave the same.

use crate::common::{info_u64, wait_until, Conn, ServerProc};
use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::Duration;

const MAXCLIENTS: usize = 50;

/// What a flooding connection has received so far without blocking:
/// Some(bytes) once the server closed it, None while it is open and quiet.
fn closed_with(s: &mut TcpStream) -> Option<Vec<u8>> {
    s.set_nonblocking(true).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(out.is_empty(), "open connection got {out:?}");
                s.set_nonblocking(false).unwrap();
                return None;
            }
            Err(e) => panic!("flood connection: {e}"),
        }
    }
}

fn flood(srv: &ServerProc) {
    let mut ctl = srv.conn();
    let base_rejected = info_u64(&mut ctl, "stats", "rejected_connections");
    // 2 x maxclients connections, all released at the same instant.
    let n = 2 * MAXCLIENTS;
    let barrier = Arc::new(Barrier::new(n));
    let port = srv.port;
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                TcpStream::connect(("127.0.0.1", port)).expect("flood connect")
            })
        })
        .collect();
    let mut streams: Vec<TcpStream> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    // The control connection holds one of the maxclients slots.
    let admitted_expected = MAXCLIENTS - 1;
    let rejected_expected = (n - admitted_expected) as u64;
    assert!(
        wait_until(Duration::from_secs(10), || {
            info_u64(&mut ctl, "stats", "rejected_connections") - base_rejected == rejected_expected
        }),
        "rejected_connections never reached {rejected_expected}"
    );
    assert_eq!(
        info_u64(&mut ctl, "clients", "connected_clients"),
        MAXCLIENTS as u64
    );
    // Each rejected socket holds exactly the error, then EOF; the others
    // are open and have received nothing.
    let mut admitted = Vec::new();
    for mut s in streams.drain(..) {
        match closed_with(&mut s) {
            Some(bytes) => assert_eq!(bytes, b"-ERR max number of clients reached\r\n"),
            None => admitted.push(s),
        }
    }
    assert_eq!(admitted.len(), admitted_expected);
    // The admitted connections keep being served, round after round.
    let mut conns: Vec<Conn> = admitted
        .into_iter()
        .map(|s| {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            Conn {
                writer: s.try_clone().unwrap(),
                reader: std::io::BufReader::new(s),
            }
        })
        .collect();
    for round in 0..3 {
        for (i, c) in conns.iter_mut().enumerate() {
            let v = format!("{round}-{i}");
            assert_eq!(c.cmd(&["SET", &format!("flood:{i}"), &v]), b"+OK\r\n");
            assert_eq!(
                c.cmds(&["GET", &format!("flood:{i}")]),
                format!("${}\r\n{v}\r\n", v.len())
            );
        }
    }
    assert_eq!(
        info_u64(&mut ctl, "stats", "rejected_connections") - base_rejected,
        rejected_expected
    );
}

#[test]
fn connection_flood_at_twice_maxclients() {
    let max = MAXCLIENTS.to_string();
    let ours = ServerProc::start(&["--save", "", "--maxclients", &max]);
    flood(&ours);
    let theirs = ServerProc::start_reference(&["--maxclients", &max]);
    flood(&theirs);
}

fn used_memory(c: &mut Conn) -> u64 {
    info_u64(c, "memory", "used_memory")
}

#[test]
fn two_gigabyte_bulk_header_is_refused_without_allocating() {
    // Over proto-max-bulk-len (512mb): refused at the header, as Redis.
    let srv = ServerProc::start(&["--save", ""]);
    let mut c = srv.conn();
    c.send_raw(b"*1\r\n$2000000000\r\n");
    assert_eq!(
        c.read_reply(),
        b"-ERR Protocol error: invalid bulk length\r\n"
    );
    assert!(c.is_closed_within(Duration::from_secs(5)));
    // A bare `$2147483648` line is an inline command, as in Redis.
    let mut c = srv.conn();
    c.send_raw(b"$2147483648\r\n");
    assert_eq!(
        c.read_reply(),
        b"-ERR unknown command '$2147483648', with args beginning with: \r\n"
    );
    drop(c);

    // With proto-max-bulk-len raised to 4gb the 2 GB header is legal; the
    // bytes trickle in and the client is closed at the query buffer limit
    // (8mb), while used_memory never grows by anything like 2 GB.
    let srv = ServerProc::start(&[
        "--save",
        "",
        "--proto-max-bulk-len",
        "4gb",
        "--client-query-buffer-limit",
        "8mb",
    ]);
    let mut probe = srv.conn();
    let base = used_memory(&mut probe);
    let mut big = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    std::io::Write::write_all(&mut big, b"*1\r\n$2147483648\r\n").unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0usize;
    let mut peak = base;
    // 16 MB at most: twice the limit, so a server that never closes the
    // client fails below rather than hanging.
    while sent < 16 << 20 {
        if std::io::Write::write_all(&mut big, &chunk).is_err() {
            break;
        }
        sent += chunk.len();
        peak = peak.max(used_memory(&mut probe));
    }
    // Growth is bounded by the data actually sent (plus buffer slack),
    // never by the announced 2 GB.
    assert!(
        peak < base + (12 << 20),
        "used_memory peaked at {peak} (base {base}) after {sent} bytes"
    );
    assert!(sent < 16 << 20, "client never closed after {sent} bytes");
    big.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut rest = Vec::new();
    if let Err(e) = big.read_to_end(&mut rest) {
        // A reset is a close too; a timeout is not.
        assert!(
            !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "connection still open"
        );
    }
    // The memory is returned once the client is gone.
    assert!(
        wait_until(Duration::from_secs(5), || used_memory(&mut probe)
            < base + (1 << 20)),
        "used_memory stays at {} (base {base})",
        used_memory(&mut probe)
    );
}

/// The listen backlog of the server's socket on `port`, as the kernel
/// reports it (`ss` shows it as Send-Q of a listening socket).
fn listen_backlog(port: u16) -> u64 {
    let out = std::process::Command::new("ss")
        .args(["-ltnH", &format!("sport = :{port}")])
        .output()
        .expect("ss (iproute2) is needed for this test");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace()
        .nth(2)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no listening socket on {port}: {text}"))
}

#[test]
fn tcp_backlog_sets_the_listen_queue() {
    let srv = ServerProc::start(&["--save", "", "--tcp-backlog", "37"]);
    assert_eq!(listen_backlog(srv.port), 37);
    let srv = ServerProc::start(&["--save", ""]);
    assert_eq!(listen_backlog(srv.port), 511);
}
