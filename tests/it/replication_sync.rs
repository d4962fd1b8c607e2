//! Full synchronisation forms: the diskless EOF-marker payload
//! (`$EOF:<mark>`) in both directions, `repl-diskless-sync no` (`$len`),
//! and several replicas sharing one snapshot within the diskless delay.
//! Raw PSYNC conversations stand in for replicas where the exact bytes
//! on the wire are what is checked.

use crate::common::{wait_until, Conn, ServerProc, TempDir};
use crate::replication::{converges, fill, info, link_up, more_writes, replica_of, LIMIT};
use std::io::{BufRead, Read};

/// Send the handshake of a replica announcing `capa`, then PSYNC ? -1.
/// Returns the +FULLRESYNC line.
fn psync_full(c: &mut Conn, capa: &[&str]) -> String {
    let mut args = vec!["REPLCONF", "capa"];
    for (i, cap) in capa.iter().enumerate() {
        if i > 0 {
            args.push("capa");
        }
        args.push(cap);
    }
    assert_eq!(c.cmds(&args), "+OK\r\n");
    crate::common::send(c, &["PSYNC", "?", "-1"]);
    read_line(c)
}

/// One line, skipping the newlines a master sends while it prepares.
fn read_line(c: &mut Conn) -> String {
    loop {
        let mut line = Vec::new();
        c.reader.read_until(b'\n', &mut line).expect("read line");
        assert!(!line.is_empty(), "connection closed");
        if line != b"\n" {
            return String::from_utf8_lossy(&line).trim_end().to_string();
        }
    }
}

/// Read an EOF-marker payload after its `$EOF:` line: bytes up to the
/// mark. Returns the payload (an RDB).
fn read_eof_payload(c: &mut Conn, mark: &str) -> Vec<u8> {
    let mut got = Vec::new();
    let mut b = [0u8; 1];
    while !got.ends_with(mark.as_bytes()) {
        c.reader.read_exact(&mut b).expect("payload byte");
        got.push(b[0]);
        assert!(got.len() < 64 << 20, "no EOF mark");
    }
    got.truncate(got.len() - mark.len());
    got
}

#[test]
fn redislite_replica_of_a_diskless_real_redis_master_converges() {
    let dir = TempDir::new("diskless-ref");
    let m = ServerProc::start_reference_in(
        &dir.0,
        &[
            "--save",
            "",
            "--repl-diskless-sync",
            "yes",
            "--repl-diskless-sync-delay",
            "0",
            "--logfile",
            "redis.log",
        ],
    );
    fill(&m);
    let r = replica_of(&m);
    converges(&m, &r);
    more_writes(&m, "live");
    converges(&m, &r);
    // The real master chose the socket (EOF-marker) form: it did because
    // we announced `capa eof`, and we could read it.
    let log = std::fs::read_to_string(dir.0.join("redis.log")).unwrap_or_default();
    assert!(
        log.contains("replicas sockets"),
        "master did not stream a diskless payload:\n{log}"
    );
    assert_eq!(info(&m, "stats", "sync_full"), "1");
}

#[test]
fn eof_form_for_capable_replicas_then_the_stream_after_their_ack() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    fill(&m);
    let mut c = m.conn();
    let full = psync_full(&mut c, &["eof", "psync2"]);
    assert!(full.starts_with("+FULLRESYNC "), "{full}");
    let head = read_line(&mut c);
    let mark = head.strip_prefix("$EOF:").expect("EOF form").to_string();
    assert_eq!(mark.len(), 40);
    let rdb = read_eof_payload(&mut c, &mark);
    assert!(rdb.starts_with(b"REDIS"));
    assert!(rdb.windows(3).any(|w| w == b"in3"));
    // Writes now are buffered for the replica; they flow after its ACK.
    let mut w = m.client();
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg("sync")
        .query(&mut w)
        .unwrap();
    let off: u64 = full.rsplit(' ').next().unwrap().parse().unwrap();
    crate::common::send(&mut c, &["REPLCONF", "ACK", &off.to_string()]);
    let mut seen = Vec::new();
    let mut b = [0u8; 1];
    while !String::from_utf8_lossy(&seen).contains("after") {
        c.reader.read_exact(&mut b).expect("stream byte");
        seen.push(b[0]);
        assert!(seen.len() < 4096);
    }
}

#[test]
fn disk_style_sync_sends_a_length_prefixed_payload() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync", "no"]);
    let mut c = m.conn();
    let full = psync_full(&mut c, &["eof", "psync2"]);
    assert!(full.starts_with("+FULLRESYNC "), "{full}");
    let head = read_line(&mut c);
    let len: usize = head
        .strip_prefix('$')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("expected $len, got {head}"));
    let mut rdb = vec![0u8; len];
    c.reader.read_exact(&mut rdb).unwrap();
    assert!(rdb.starts_with(b"REDIS"));
}

#[test]
fn replicas_asking_within_the_delay_share_one_snapshot() {
    // A long delay: only max-replicas can start the snapshot in time.
    let m = ServerProc::start(&[
        "--save",
        "",
        "--repl-diskless-sync-delay",
        "60",
        "--repl-diskless-sync-max-replicas",
        "2",
    ]);
    let mut a = m.conn();
    let mut b = m.conn();
    let mut w = m.client();
    let _: () = redis::cmd("SET").arg("k1").arg("v1").query(&mut w).unwrap();
    crate::common::send(&mut a, &["REPLCONF", "capa", "eof"]);
    assert_eq!(read_line(&mut a), "+OK");
    crate::common::send(&mut a, &["PSYNC", "?", "-1"]);
    assert!(wait_until(LIMIT, || info(&m, "replication", "slave0")
        .contains("state=wait_bgsave")));
    // While it waits, a newline a second keeps its link alive.
    let mut nl = [0u8; 1];
    a.reader.read_exact(&mut nl).unwrap();
    assert_eq!(&nl, b"\n");
    // Written while the first replica waits: part of the shared snapshot.
    let _: () = redis::cmd("SET").arg("k2").arg("v2").query(&mut w).unwrap();
    let full_b = psync_full(&mut b, &["eof"]);
    let full_a = read_line(&mut a);
    assert_eq!(full_a, full_b, "one snapshot, one offset");
    let (head_a, head_b) = (read_line(&mut a), read_line(&mut b));
    assert_eq!(head_a, head_b, "one snapshot, one mark");
    let mark = head_a.strip_prefix("$EOF:").unwrap().to_string();
    let (ra, rb) = (
        read_eof_payload(&mut a, &mark),
        read_eof_payload(&mut b, &mark),
    );
    assert_eq!(ra, rb);
    assert!(ra.windows(2).any(|x| x == b"k2"));
    assert_eq!(info(&m, "stats", "sync_full"), "2");
}

#[test]
fn redislite_replica_of_redislite_with_the_default_diskless_delay() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "1"]);
    fill(&m);
    let port = m.port.to_string();
    let r = ServerProc::start(&["--save", "", "--replicaof", "127.0.0.1", &port]);
    link_up(&r);
    converges(&m, &r);
    more_writes(&m, "live");
    converges(&m, &r);
}
