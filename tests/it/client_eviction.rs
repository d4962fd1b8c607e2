//! Client eviction (maxmemory-clients), side by side with redis-server
//! 7.0: a client holding too much memory (a half-sent big argument, unread
//! replies, a big transaction) is disconnected and counted in INFO
//! evicted_clients; CLIENT NO-EVICT and a limit of 0 protect it; a
//! percentage is a share of maxmemory.

use crate::common::{info_u64, wait_until, Conn, ServerProc};
use std::io::Write;
use std::time::Duration;

/// How a victim connection fills the server's memory for it.
#[derive(Clone, Copy, Debug)]
enum Load {
    /// 2 MB of a 4 MB argument, the rest never sent: the query buffer.
    HalfSentArgument,
    /// 24 GETs of a 1 MB value, no reply read: the reply buffer.
    UnreadReplies,
    /// MULTI, then 30 queued SETs of 100 KB each: the transaction.
    BigTransaction,
}

fn fill(victim: &mut Conn, load: Load) {
    // The server may close the connection while we still send: a write
    // error then is the expected outcome, not a failure.
    let mut send = |bytes: &[u8]| {
        let _ = victim.writer.write_all(bytes);
    };
    match load {
        Load::HalfSentArgument => {
            send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4000000\r\n");
            for _ in 0..32 {
                send(&[b'x'; 65536]);
            }
        }
        Load::UnreadReplies => {
            for _ in 0..24 {
                send(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
            }
        }
        Load::BigTransaction => {
            send(b"*1\r\n$5\r\nMULTI\r\n");
            let value = vec![b'v'; 100_000];
            for i in 0..30 {
                let key = format!("t{i}");
                send(&crate::common::encode(&[b"SET", key.as_bytes(), &value]));
            }
        }
    }
}

/// Read (and drop) what the server sent until it closes the connection
/// (true) or stays silent for `quiet` (false).
fn closed_within(c: &mut Conn, quiet: Duration) -> bool {
    let s = c.reader.get_mut();
    s.set_read_timeout(Some(quiet)).unwrap();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match std::io::Read::read(s, &mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

/// Run `load` on a fresh victim connection of `srv` under the client
/// memory limit `limit` (CONFIG SET maxmemory-clients), with `maxmemory`
/// set first and the victim made no-evict if asked. `expect_eviction`
/// only sets how long to wait: up to 5 s for it to happen, or 1 s of
/// nothing. Returns whether the victim was disconnected and INFO
/// evicted_clients afterwards.
fn run(
    srv: &ServerProc,
    (maxmemory, limit): (&str, &str),
    no_evict: bool,
    load: Load,
    expect_eviction: bool,
) -> (bool, u64) {
    let mut ctl = srv.conn();
    assert_eq!(ctl.cmds(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    assert_eq!(ctl.cmds(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    assert_eq!(ctl.cmds(&["SET", "big", &"b".repeat(1 << 20)]), "+OK\r\n");
    let mut victim = srv.conn();
    if no_evict {
        assert_eq!(victim.cmds(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    }
    assert_eq!(
        ctl.cmds(&["CONFIG", "SET", "maxmemory", maxmemory]),
        "+OK\r\n"
    );
    assert_eq!(
        ctl.cmds(&["CONFIG", "SET", "maxmemory-clients", limit]),
        "+OK\r\n"
    );
    fill(&mut victim, load);
    let evicted = |ctl: &mut Conn| info_u64(ctl, "stats", "evicted_clients");
    // An eviction shows in INFO before the victim reads its EOF; wait for
    // it, then (either way) look at the connection.
    let wait = if expect_eviction { 5000 } else { 1000 };
    wait_until(Duration::from_millis(wait), || evicted(&mut ctl) > 0);
    let closed = closed_within(&mut victim, Duration::from_millis(500));
    let count = evicted(&mut ctl);
    assert_eq!(
        ctl.cmds(&["CONFIG", "SET", "maxmemory-clients", "0"]),
        "+OK\r\n"
    );
    assert_eq!(ctl.cmds(&["CONFIG", "SET", "maxmemory", "0"]), "+OK\r\n");
    assert_eq!(ctl.cmds(&["PING"]), "+PONG\r\n", "the no-evict client");
    (closed, count)
}

/// The same case on RedisLite and on redis-server, which must agree, and
/// agree with `expected` (so that a missing feature on both sides fails).
fn same_as_redis(maxmemory: &str, limit: &str, no_evict: bool, load: Load, expected: (bool, u64)) {
    let ours = ServerProc::start(&[]);
    let reference = ServerProc::start_reference(&[]);
    let limits = (maxmemory, limit);
    let got = run(&ours, limits, no_evict, load, expected.0);
    let want = run(&reference, limits, no_evict, load, expected.0);
    assert_eq!(
        got, want,
        "{load:?} limit {limit}: (closed, evicted_clients) differ from redis-server's"
    );
    assert_eq!(got, expected, "{load:?} limit {limit}");
}

#[test]
fn a_half_sent_big_argument_gets_its_client_evicted() {
    same_as_redis("0", "1mb", false, Load::HalfSentArgument, (true, 1));
}

#[test]
fn unread_replies_get_their_client_evicted() {
    same_as_redis("0", "1mb", false, Load::UnreadReplies, (true, 1));
}

#[test]
fn a_big_transaction_gets_its_client_evicted() {
    same_as_redis("0", "1mb", false, Load::BigTransaction, (true, 1));
}

#[test]
fn a_no_evict_client_stays() {
    same_as_redis("0", "1mb", true, Load::HalfSentArgument, (false, 0));
}

#[test]
fn no_limit_evicts_nobody() {
    same_as_redis("0", "0", false, Load::BigTransaction, (false, 0));
}

/// 1% of 200 MB is 2 MB: the 3 MB transaction goes over it. A percentage of an unlimited maxmemory is no limit.
#[test]
fn a_percentage_is_a_share_of_maxmemory() {
    same_as_redis("200mb", "1%", false, Load::BigTransaction, (true, 1));
    same_as_redis("0", "1%", false, Load::BigTransaction, (false, 0));
}

/// Evicted largest first: of two clients over the limit together, the
/// one holding more goes, the smaller stays and still gets its replies.
#[test]
fn the_largest_client_goes_first() {
    let srv = ServerProc::start(&[]);
    let mut ctl = srv.conn();
    assert_eq!(ctl.cmds(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    let mut small = srv.conn();
    let mut large = srv.conn();
    assert_eq!(small.cmds(&["MULTI"]), "+OK\r\n");
    let value = "v".repeat(100_000);
    for i in 0..6 {
        assert_eq!(
            small.cmds(&["SET", &format!("s{i}"), &value]),
            "+QUEUED\r\n"
        );
    }
    assert_eq!(large.cmds(&["MULTI"]), "+OK\r\n");
    for i in 0..12 {
        assert_eq!(
            large.cmds(&["SET", &format!("l{i}"), &value]),
            "+QUEUED\r\n"
        );
    }
    // Together ~1.8 MB: over 1.5 MB, and the small one alone is under.
    assert_eq!(
        ctl.cmds(&["CONFIG", "SET", "maxmemory-clients", "1500000"]),
        "+OK\r\n"
    );
    assert!(large.is_closed_within(Duration::from_secs(5)));
    assert_eq!(info_u64(&mut ctl, "stats", "evicted_clients"), 1);
    let exec = small.cmds(&["EXEC"]);
    assert!(exec.starts_with("*6\r\n"), "{exec}");
}

/// CLIENT LIST shows what eviction weighs: multi-mem grows with the
/// queued commands and tot-mem includes it.
#[test]
fn client_list_shows_transaction_and_total_memory() {
    let srv = ServerProc::start(&[]);
    let mut c = srv.conn();
    let field = |line: &str, name: &str| -> u64 {
        line.split(' ')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in {line}"))
    };
    let before = c.cmds(&["CLIENT", "INFO"]);
    assert_eq!(field(&before, "multi-mem"), 0);
    assert_eq!(c.cmds(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmds(&["SET", "k", &"v".repeat(50_000)]), "+QUEUED\r\n");
    assert_eq!(c.cmds(&["EXEC"]).len(), 9, "EXEC of one SET: *1 +OK");
    assert_eq!(c.cmds(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmds(&["SET", "k", &"v".repeat(50_000)]), "+QUEUED\r\n");
    let mut other = srv.conn();
    let list = other.cmds(&["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.contains("multi=1"))
        .unwrap_or_else(|| panic!("no client in MULTI: {list}"));
    let multi_mem = field(line, "multi-mem");
    assert!(multi_mem >= 50_000, "{line}");
    assert!(field(line, "tot-mem") >= multi_mem, "{line}");
    assert!(field(&before, "tot-mem") > 0, "{before}");
}
