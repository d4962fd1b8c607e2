//! Link health and refusals: repl-timeout on both sides, heartbeats,
//! min-replicas-to-write, replica-serve-stale-data, and bad input from
//! either peer (malformed PSYNC/REPLCONF, a fake master sending garbage
//! or a bogus payload length). A `TcpListener` in the test plays the
//! master where the bytes it sends are the point.

use crate::common::{encode, info_u64, send, wait_until, Conn, ServerProc};
use crate::replication::{info, link_up, replica_of, run, LIMIT};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

/// An RDB with no keys (no checksum: a zero CRC means "not computed").
const EMPTY_RDB: &[u8] = b"REDIS0010\xff\x00\x00\x00\x00\x00\x00\x00\x00";
/// A repl-timeout far beyond the test's limits: a reconnection within
/// them proves the replica dropped the link because of what it read.
const SLOW_TIMEOUT: &str = "120";
const FAKE_REPLID: &str = "0123456789abcdef0123456789abcdef01234567";

/// Accept the next replica connection (polling a non-blocking listener).
fn accept(l: &TcpListener) -> TcpStream {
    l.set_nonblocking(true).unwrap();
    let mut got = None;
    assert!(
        wait_until(LIMIT, || {
            got = l.accept().ok().map(|(s, _)| s);
            got.is_some()
        }),
        "the replica did not connect"
    );
    let s = got.unwrap();
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s
}

/// Play a master's handshake: +PONG, +OK to each REPLCONF, until PSYNC
/// (returned with its arguments).
fn handshake(s: &TcpStream) -> Vec<String> {
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut w = s.try_clone().unwrap();
    for _ in 0..16 {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let n: usize = line.trim()[1..].parse().unwrap();
        let mut args = Vec::new();
        for _ in 0..n {
            let mut len = String::new();
            r.read_line(&mut len).unwrap();
            let len: usize = len.trim()[1..].parse().unwrap();
            let mut buf = vec![0u8; len + 2];
            r.read_exact(&mut buf).unwrap();
            args.push(String::from_utf8_lossy(&buf[..len]).to_uppercase());
        }
        match args[0].as_str() {
            "PING" => w.write_all(b"+PONG\r\n").unwrap(),
            "PSYNC" => return args,
            _ => w.write_all(b"+OK\r\n").unwrap(),
        }
    }
    panic!("no PSYNC in the handshake");
}

/// A fake master that answers PSYNC with `reply`, and its replica
/// (whose repl-timeout is `timeout` seconds).
fn fake_master_sends(reply: &[u8], timeout: &str) -> (TcpListener, ServerProc, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let r = ServerProc::start(&[
        "--save",
        "",
        "--repl-timeout",
        timeout,
        "--replicaof",
        "127.0.0.1",
        &port,
    ]);
    let mut s = accept(&l);
    handshake(&s);
    s.write_all(reply).unwrap();
    (l, r, s)
}

fn fullresync_then(rest: &[u8]) -> Vec<u8> {
    let mut v = format!("+FULLRESYNC {FAKE_REPLID} 0\r\n").into_bytes();
    v.extend_from_slice(rest);
    v
}

/// The replica dropped the link and tries again; meanwhile it serves.
fn drops_and_retries(l: &TcpListener, r: &ServerProc) {
    let s = accept(l);
    assert_eq!(r.conn().cmds(&["PING"]), "+PONG\r\n");
    assert_eq!(info(r, "replication", "master_link_status"), "down");
    drop(s);
}

/// Read from a raw replica connection until the master closes it.
fn closed_by_peer(c: &mut Conn) -> bool {
    c.reader.get_ref().set_read_timeout(Some(LIMIT)).ok();
    let mut buf = [0u8; 4096];
    loop {
        match c.reader.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(_) => return false,
        }
    }
}

/// Full-sync a raw connection as a `capa psync2` replica; returns the
/// offset of the FULLRESYNC.
fn raw_full_sync(c: &mut Conn) -> u64 {
    assert_eq!(c.cmds(&["REPLCONF", "capa", "psync2"]), "+OK\r\n");
    send(c, &["PSYNC", "?", "-1"]);
    let full = String::from_utf8(c.read_reply()).unwrap();
    let off = full.trim().rsplit(' ').next().unwrap().parse().unwrap();
    // Newlines may come first: a master keeps the link alive with them
    // while its snapshot child runs (as Redis does).
    let mut head = String::from("\n");
    while head == "\n" {
        head.clear();
        c.reader.read_line(&mut head).unwrap();
        assert!(!head.is_empty(), "connection closed");
    }
    let len: usize = head.trim()[1..].parse().unwrap();
    let mut rdb = vec![0u8; len];
    c.reader.read_exact(&mut rdb).unwrap();
    assert!(rdb.starts_with(b"REDIS"));
    off
}

#[test]
fn master_drops_a_replica_whose_acks_stop() {
    let m = ServerProc::start(&[
        "--save",
        "",
        "--repl-diskless-sync-delay",
        "0",
        "--repl-timeout",
        "1",
    ]);
    let mut c = m.conn();
    let off = raw_full_sync(&mut c);
    send(&mut c, &["REPLCONF", "ACK", &off.to_string()]);
    assert!(closed_by_peer(&mut c), "a silent replica was kept");
    assert_eq!(info(&m, "replication", "connected_slaves"), "0");
}

#[test]
fn replica_drops_a_silent_master_and_reconnects() {
    let mut payload = format!("${}\r\n", EMPTY_RDB.len()).into_bytes();
    payload.extend_from_slice(EMPTY_RDB);
    let (l, r, _silent) = fake_master_sends(&fullresync_then(&payload), "2");
    link_up(&r);
    // Nothing more from the "master": repl-timeout (2 s) ends the link.
    let again = accept(&l);
    assert_eq!(info(&r, "replication", "master_link_status"), "down");
    let down: i64 = info(&r, "replication", "master_link_down_since_seconds")
        .parse()
        .unwrap();
    assert!(down >= 0, "down since {down}");
    assert_eq!(info(&r, "replication", "master_last_io_seconds_ago"), "-1");
    drop(again);
}

#[test]
fn master_pings_replicas_every_ping_period() {
    let m = ServerProc::start(&[
        "--save",
        "",
        "--repl-diskless-sync-delay",
        "0",
        "--repl-ping-replica-period",
        "1",
    ]);
    let mut c = m.conn();
    raw_full_sync(&mut c);
    // With no writes at all, the stream still carries PINGs.
    assert_eq!(c.read_reply(), b"*1\r\n$4\r\nPING\r\n");
}

#[test]
fn garbage_after_fullresync_drops_the_link_and_the_replica_keeps_serving() {
    let (l, r, _s) = fake_master_sends(&fullresync_then(b"garbage\r\n"), SLOW_TIMEOUT);
    drops_and_retries(&l, &r);
}

#[test]
fn a_bogus_payload_length_is_refused_without_allocating_it() {
    // Beyond the cap: refused at once.
    let (l, r, _s) = fake_master_sends(&fullresync_then(b"$99999999999999999\r\n"), SLOW_TIMEOUT);
    drops_and_retries(&l, &r);
    // Within the cap but never sent: memory grows only with bytes that
    // actually arrive.
    let before = info_u64(&mut r.conn(), "memory", "used_memory");
    let mut s = accept(&l);
    handshake(&s);
    s.write_all(&fullresync_then(b"$4000000000\r\nREDIS0010"))
        .unwrap();
    assert!(wait_until(LIMIT, || info(
        &r,
        "replication",
        "master_sync_in_progress"
    ) == "1"));
    let during = info_u64(&mut r.conn(), "memory", "used_memory");
    assert!(during < before + (64 << 20), "{before} -> {during}");
}

#[test]
fn a_bad_stream_after_a_good_sync_drops_the_link() {
    let mut payload = format!("${}\r\n", EMPTY_RDB.len()).into_bytes();
    payload.extend_from_slice(EMPTY_RDB);
    payload.extend_from_slice(b"*1\r\n$-7\r\n");
    let (l, r, _s) = fake_master_sends(&fullresync_then(&payload), SLOW_TIMEOUT);
    drops_and_retries(&l, &r);
}

#[test]
fn malformed_psync_and_replconf_get_redis_errors() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    let mut c = m.conn();
    assert_eq!(
        c.cmds(&["REPLCONF", "foo", "bar"]),
        "-ERR Unrecognized REPLCONF option: foo\r\n"
    );
    assert_eq!(c.cmds(&["REPLCONF", "a"]), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmds(&["REPLCONF", "listening-port", "abc"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.cmds(&["PSYNC", "a"]),
        "-ERR wrong number of arguments for 'psync' command\r\n"
    );
    // The link is kept; a PSYNC with a nonsense offset gets a full sync
    // (as Redis), and the server goes on serving.
    send(&mut c, &["PSYNC", "nonsense", "xyz"]);
    let full = String::from_utf8(c.read_reply()).unwrap();
    assert!(full.starts_with("+FULLRESYNC "), "{full}");
    assert_eq!(run(&m, &["SET", "still", "serving"]), redis::Value::Okay);
}

#[test]
fn min_replicas_to_write_refuses_writes_without_good_replicas() {
    let m = ServerProc::start(&[
        "--save",
        "",
        "--repl-diskless-sync-delay",
        "0",
        "--min-replicas-to-write",
        "1",
        "--min-replicas-max-lag",
        "10",
    ]);
    let mut c = m.conn();
    assert_eq!(
        c.cmds(&["SET", "k", "v"]),
        "-NOREPLICAS Not enough good replicas to write.\r\n"
    );
    assert_eq!(c.cmds(&["GET", "k"]), "$-1\r\n");
    assert_eq!(info(&m, "replication", "min_slaves_good_slaves"), "0");
    let _r = replica_of(&m);
    assert!(wait_until(LIMIT, || info(
        &m,
        "replication",
        "min_slaves_good_slaves"
    ) == "1"));
    assert_eq!(c.cmds(&["SET", "k", "v"]), "+OK\r\n");
}

#[test]
fn replica_serve_stale_data_no_refuses_while_the_link_is_down() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let r = ServerProc::start(&[
        "--save",
        "",
        "--replica-serve-stale-data",
        "no",
        "--replicaof",
        "127.0.0.1",
        &port,
    ]);
    let mut c = r.conn();
    let masterdown =
        "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n";
    assert_eq!(c.cmds(&["GET", "k"]), masterdown);
    assert_eq!(c.cmds(&["PING"]), masterdown);
    assert!(c.cmds(&["INFO", "server"]).contains("redis_version"));
    assert!(c
        .cmds(&["CONFIG", "GET", "port"])
        .contains(&r.port.to_string()));
    // Once synced, reads are served.
    let mut s = accept(&l);
    handshake(&s);
    let mut payload = format!("${}\r\n", EMPTY_RDB.len()).into_bytes();
    payload.extend_from_slice(EMPTY_RDB);
    s.write_all(&fullresync_then(&payload)).unwrap();
    link_up(&r);
    assert_eq!(c.cmds(&["GET", "k"]), "$-1\r\n");
}

/// Write `mb` one-megabyte values on the master.
fn write_megabytes(m: &ServerProc, mb: usize) {
    let mut w = m.client();
    let v = "x".repeat(1 << 20);
    for i in 0..mb {
        let _: () = redis::cmd("SET")
            .arg(format!("big{}", i % 4))
            .arg(&v)
            .query(&mut w)
            .unwrap();
    }
}

#[test]
fn a_replica_that_stops_reading_is_dropped_by_its_output_limit() {
    let m = ServerProc::start(&[
        "--save",
        "",
        "--repl-diskless-sync-delay",
        "0",
        "--client-output-buffer-limit",
        "replica 2mb 1mb 60",
    ]);
    let mut c = m.conn();
    raw_full_sync(&mut c);
    assert!(wait_until(LIMIT, || info(&m, "replication", "slave0")
        .contains("state=online")));
    // Never read again: once the kernel's socket buffers are full the
    // stream piles up in the master, up to the hard limit.
    write_megabytes(&m, 40);
    assert!(wait_until(LIMIT, || info(
        &m,
        "replication",
        "connected_slaves"
    ) == "0"));
    assert!(
        info_u64(
            &mut m.conn(),
            "stats",
            "client_output_buffer_limit_disconnections"
        ) >= 1
    );
    assert_eq!(run(&m, &["SET", "still", "serving"]), redis::Value::Okay);
}

#[test]
fn the_stream_buffered_during_a_full_sync_is_bounded_too() {
    let m = ServerProc::start(&[
        "--save",
        "",
        "--repl-diskless-sync-delay",
        "0",
        "--client-output-buffer-limit",
        "replica 2mb 1mb 60",
    ]);
    let mut c = m.conn();
    // An EOF-capable replica that never reads its payload nor ACKs: its
    // stream waits in the master's buffer behind the snapshot.
    assert_eq!(c.cmds(&["REPLCONF", "capa", "eof"]), "+OK\r\n");
    send(&mut c, &["PSYNC", "?", "-1"]);
    assert!(wait_until(LIMIT, || info(&m, "replication", "slave0")
        .contains("state=send_bulk")));
    write_megabytes(&m, 4);
    assert!(wait_until(LIMIT, || info(
        &m,
        "replication",
        "connected_slaves"
    ) == "0"));
    assert_eq!(run(&m, &["SET", "still", "serving"]), redis::Value::Okay);
}

#[test]
fn replicaof_an_unresolvable_name_keeps_serving_then_follows_a_numeric_master() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    run(&m, &["SET", "k", "v"]);
    let r = ServerProc::start(&["--save", ""]);
    let mut c = r.conn();
    // Resolved off the loop: the answer comes at once, the lookup later.
    assert_eq!(
        c.cmds(&["REPLICAOF", "no-such-host.invalid", "6379"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
    assert_eq!(
        info(&r, "replication", "master_host"),
        "no-such-host.invalid"
    );
    assert_eq!(info(&r, "replication", "master_link_status"), "down");
    let port = m.port.to_string();
    assert_eq!(c.cmds(&["REPLICAOF", "127.0.0.1", &port]), "+OK\r\n");
    link_up(&r);
    assert_eq!(c.cmds(&["GET", "k"]), "$1\r\nv\r\n");
}

#[test]
fn a_replica_that_stops_reading_its_snapshot_times_out() {
    let m = ServerProc::start(&[
        "--save",
        "",
        "--repl-diskless-sync-delay",
        "0",
        "--repl-timeout",
        "1",
    ]);
    // A snapshot far larger than the kernel's socket buffers.
    write_megabytes(&m, 4);
    let mut w = m.client();
    let v = "y".repeat(1 << 20);
    for i in 0..40 {
        let _: () = redis::cmd("SET")
            .arg(format!("s{i}"))
            .arg(&v)
            .query(&mut w)
            .unwrap();
    }
    let mut c = m.conn();
    assert_eq!(c.cmds(&["REPLCONF", "capa", "psync2"]), "+OK\r\n");
    send(&mut c, &["PSYNC", "?", "-1"]);
    assert!(wait_until(LIMIT, || info(&m, "stats", "sync_full") == "1"));
    assert!(wait_until(LIMIT, || info(
        &m,
        "replication",
        "connected_slaves"
    ) == "0"));
    assert_eq!(run(&m, &["SET", "still", "serving"]), redis::Value::Okay);
}

/// A transaction from the master counts toward the replica's offset (and
/// goes on to its own replicas) only once its EXEC arrives, as in Redis:
/// an ACK or a snapshot taken halfway would claim commands the dataset
/// does not hold yet.
#[test]
fn a_transaction_counts_toward_the_offset_only_at_exec() {
    let mut payload = format!("${}\r\n", EMPTY_RDB.len()).into_bytes();
    payload.extend_from_slice(EMPTY_RDB);
    let (l, r, mut s) = fake_master_sends(&fullresync_then(&payload), SLOW_TIMEOUT);
    link_up(&r);
    let plain = encode(&[b"SET", b"a", b"1"]);
    let mut queued = encode(&[b"MULTI"]);
    queued.extend_from_slice(&encode(&[b"INCR", b"c"]));
    // One write, so one read: the replica runs all three in one turn.
    let mut first = plain.clone();
    first.extend_from_slice(&queued);
    s.write_all(&first).unwrap();
    let offset = || {
        info(&r, "replication", "master_repl_offset")
            .parse::<usize>()
            .unwrap()
    };
    assert!(wait_until(LIMIT, || offset() > 0));
    assert_eq!(
        offset(),
        plain.len(),
        "MULTI and its queued command not counted yet"
    );
    // The link drops before EXEC: the replica asks to continue from
    // before the MULTI, and takes the whole transaction again.
    drop(s);
    let mut s = accept(&l);
    let psync = handshake(&s);
    assert_eq!(psync[2], (plain.len() + 1).to_string(), "{psync:?}");
    s.write_all(b"+CONTINUE\r\n").unwrap();
    let exec = encode(&[b"EXEC"]);
    let mut again = queued.clone();
    again.extend_from_slice(&exec);
    s.write_all(&again).unwrap();
    assert!(wait_until(LIMIT, || offset() == first.len() + exec.len()));
    assert_eq!(info(&r, "replication", "master_link_status"), "up");
    assert_eq!(
        run(&r, &["GET", "c"]),
        redis::Value::BulkString(b"1".to_vec()),
        "the transaction ran once, not its first half twice"
    );
}
