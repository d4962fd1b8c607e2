//! CLIENT PAUSE / UNPAUSE over real connections: held commands get no
//! reply until the pause ends, reads go on in WRITE mode, INFO and CLIENT
//! LIST show the held client, and the server does not spin meanwhile.

use crate::common::{encode, wait_until, ServerProc};
use std::time::{Duration, Instant};

fn info_field(c: &mut crate::common::Conn, field: &str) -> Option<String> {
    let r = String::from_utf8_lossy(&c.cmd(&["INFO", "clients"])).into_owned();
    r.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(|v| v.to_string()))
}

/// CPU time (user + system, clock ticks) the process used so far.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn write_pause_holds_writes_until_unpause() {
    let srv = ServerProc::start(&["--save", ""]);
    let mut admin = srv.conn();
    let mut writer = srv.conn();
    assert_eq!(
        admin.cmd(&["CLIENT", "PAUSE", "60000", "WRITE"]),
        b"+OK\r\n"
    );
    writer.send(&[b"SET", b"k", b"v"]);
    // The writer is held: INFO counts it and CLIENT LIST flags it 'b'.
    assert!(wait_until(Duration::from_secs(5), || {
        info_field(&mut admin, "blocked_clients").as_deref() == Some("1")
    }));
    let list = String::from_utf8_lossy(&admin.cmd(&["CLIENT", "LIST"])).into_owned();
    assert!(list.contains("flags=b"), "{list}");
    // Reads are not paused, and the write has not happened.
    assert_eq!(admin.cmd(&["GET", "k"]), b"$-1\r\n");
    // The server idles while the client is held (no busy loop): well under
    // half a second of CPU over half a second of wall time.
    let before = cpu_ticks(srv.pid());
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(500) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        cpu_ticks(srv.pid()) - before < 25,
        "server spins while paused"
    );
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), b"+OK\r\n");
    assert_eq!(writer.read_reply(), b"+OK\r\n");
    assert_eq!(admin.cmd(&["GET", "k"]), b"$1\r\nv\r\n");
    assert_eq!(
        info_field(&mut admin, "blocked_clients").as_deref(),
        Some("0")
    );
}

#[test]
fn all_pause_holds_every_command_until_timeout() {
    let srv = ServerProc::start(&["--save", ""]);
    let mut admin = srv.conn();
    let mut other = srv.conn();
    let t = Instant::now();
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "400"]), b"+OK\r\n");
    // A pipelined read and write, both held, answered in order afterwards.
    let mut batch = encode(&[b"GET", b"k"]);
    batch.extend(encode(&[b"SET", b"k", b"v"]));
    other.send_raw(&batch);
    assert_eq!(other.read_reply(), b"$-1\r\n");
    // The pause's end is a correctness bound, not a speed measurement.
    assert!(t.elapsed() >= Duration::from_millis(350));
    assert_eq!(other.read_reply(), b"+OK\r\n");
    assert_eq!(admin.cmd(&["GET", "k"]), b"$1\r\nv\r\n");
}

#[test]
fn pause_argument_errors_match_redis() {
    crate::differential::check(
        r#"
        CLIENT PAUSE abc
        CLIENT PAUSE -1
        CLIENT PAUSE 0 WHAT
        CLIENT PAUSE 0 WRITE
        CLIENT PAUSE 0 ALL
        CLIENT UNPAUSE
        PING
        "#,
    );
}

/// The expiry half of `pause_freezes_expiry_and_eviction`, run on one
/// server: keys past their TTL read as missing during the pause but are
/// not deleted (expired_keys stays, DBSIZE still counts them); after
/// UNPAUSE they are deleted.
fn expiry_waits_for_unpause(srv: &ServerProc) {
    use crate::common::info_u64;
    let mut c = srv.conn();
    let before = info_u64(&mut c, "stats", "expired_keys");
    // One transaction, so the pause starts before any cycle can run.
    c.send_raw(&encode(&[b"MULTI"]));
    c.send_raw(&encode(&[b"SET", b"foo", b"1", b"PX", b"30"]));
    c.send_raw(&encode(&[b"SET", b"bar", b"1", b"PX", b"30"]));
    c.send_raw(&encode(&[b"CLIENT", b"PAUSE", b"60000", b"WRITE"]));
    c.send_raw(&encode(&[b"EXEC"]));
    for _ in 0..4 {
        c.read_reply();
    }
    assert!(c.read_reply().starts_with(b"*3\r\n"));
    assert!(wait_until(Duration::from_secs(5), || {
        c.cmd(&["GET", "foo"]) == b"$-1\r\n" && c.cmd(&["GET", "bar"]) == b"$-1\r\n"
    }));
    // Many active cycles (hz 100) pass; none may delete the keys.
    assert!(!wait_until(Duration::from_millis(300), || {
        info_u64(&mut c, "stats", "expired_keys") != before
    }));
    assert_eq!(c.cmd(&["DBSIZE"]), b":2\r\n");
    assert_eq!(c.cmd(&["CLIENT", "UNPAUSE"]), b"+OK\r\n");
    c.cmd(&["GET", "foo"]);
    c.cmd(&["GET", "bar"]);
    assert!(wait_until(Duration::from_secs(5), || {
        info_u64(&mut c, "stats", "expired_keys") == before + 2
    }));
    assert_eq!(c.cmd(&["DBSIZE"]), b":0\r\n");
}

/// The eviction half: over maxmemory during a WRITE pause, reads go on
/// and nothing is evicted; after UNPAUSE the next command evicts.
fn eviction_waits_for_unpause(srv: &ServerProc) {
    use crate::common::info_u64;
    let mut c = srv.conn();
    c.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-random"]);
    let value = "x".repeat(10_000);
    for i in 0..200 {
        c.cmd(&["SET", &format!("k{i}"), &value]);
    }
    let used = info_u64(&mut c, "memory", "used_memory");
    assert_eq!(c.cmd(&["CLIENT", "PAUSE", "60000", "WRITE"]), b"+OK\r\n");
    let half = (used - 1_000_000).to_string();
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", &half]), b"+OK\r\n");
    for _ in 0..20 {
        assert!(c.cmd(&["GET", "k1"]).starts_with(b"$10000\r\n"));
    }
    assert_eq!(info_u64(&mut c, "stats", "evicted_keys"), 0);
    assert_eq!(c.cmd(&["DBSIZE"]), b":200\r\n");
    assert_eq!(c.cmd(&["CLIENT", "UNPAUSE"]), b"+OK\r\n");
    assert!(wait_until(Duration::from_secs(5), || {
        c.cmd(&["GET", "k1"]);
        info_u64(&mut c, "stats", "evicted_keys") > 0
    }));
}

#[test]
fn pause_freezes_expiry_and_eviction() {
    // The same observations hold on redis-server 7.0 (the specification).
    let ours = ServerProc::start(&["--save", "", "--hz", "100"]);
    let theirs = ServerProc::start_reference(&["--hz", "100"]);
    for srv in [&ours, &theirs] {
        expiry_waits_for_unpause(srv);
        eviction_waits_for_unpause(srv);
    }
}
