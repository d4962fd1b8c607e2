//! FAILOVER end to end: a master hands its role to a replica over real
//! links (RedisLite on both sides, and Debian's redis-server on either
//! side), the timeout, FORCE and ABORT paths, the write pause, and the
//! error replies next to redis-server's. Lagging replicas are made by
//! stopping their process (SIGSTOP, by pid, our own child); every check
//! polls a condition.

use crate::common::{wait_until, Conn, ServerProc};
use crate::replication::{converges, info, link_up, run, start_node, LIMIT};

/// Stops a server process (SIGSTOP) until dropped or resumed, so its
/// replication offset falls behind; resumes it on drop (even when the
/// test fails) so the process can be reaped.
struct Frozen(u32);

impl Frozen {
    fn new(s: &ServerProc) -> Frozen {
        // SAFETY: signalling our own child process by pid.
        unsafe { libc::kill(s.pid() as i32, libc::SIGSTOP) };
        Frozen(s.pid())
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::kill(self.0 as i32, libc::SIGCONT) };
    }
}

fn replica_of(m: &ServerProc, reference: bool) -> ServerProc {
    let port = m.port.to_string();
    let r = start_node(reference, &["--replicaof", "127.0.0.1", &port]);
    link_up(&r);
    r
}

fn role(s: &ServerProc) -> String {
    info(s, "replication", "role")
}

fn failover_state(s: &ServerProc) -> String {
    info(s, "replication", "master_failover_state")
}

/// The master's offset has reached the replica (so FAILOVER can hand over
/// at once, without waiting for a lagging ACK).
fn synced(m: &ServerProc, r: &ServerProc) {
    assert!(wait_until(LIMIT, || {
        info(r, "replication", "slave_repl_offset") == info(m, "replication", "master_repl_offset")
    }));
}

/// `m` handed the role to `r`: `r` is a master, `m` its connected replica,
/// the failover state is clear, and writes on `r` reach `m`.
fn roles_swapped(m: &ServerProc, r: &ServerProc) {
    assert!(
        wait_until(LIMIT, || role(r) == "master"
            && role(m) == "slave"
            && info(m, "replication", "master_link_status") == "up"
            && failover_state(m) == "no-failover"),
        "roles did not swap: old master {} ({}), old replica {}",
        role(m),
        failover_state(m),
        role(r)
    );
    assert_eq!(info(m, "replication", "master_port"), r.port.to_string());
    run(r, &["SET", "after-failover", "1"]);
    converges(r, m);
}

fn hands_over(master_is_reference: bool, replica_is_reference: bool) {
    let m = start_node(master_is_reference, &[]);
    let r = replica_of(&m, replica_is_reference);
    run(&m, &["SET", "before", "failover"]);
    synced(&m, &r);
    assert_eq!(run(&m, &["FAILOVER"]), redis::Value::Okay);
    roles_swapped(&m, &r);
    // The old master continued the new master's history (PSYNC2): one
    // partial resync, and the data written before is on both.
    assert_eq!(info(&r, "stats", "sync_partial_ok"), "1");
    assert_eq!(
        run(&m, &["GET", "before"]),
        redis::Value::BulkString(b"failover".to_vec())
    );
    assert_eq!(
        info(&m, "replication", "master_replid"),
        info(&r, "replication", "master_replid")
    );
}

#[test]
fn failover_hands_the_role_to_the_replica() {
    hands_over(false, false);
}

#[test]
fn failover_from_redislite_to_a_real_redis_replica() {
    hands_over(false, true);
}

#[test]
fn failover_from_real_redis_to_a_redislite_replica() {
    hands_over(true, false);
}

#[test]
fn failover_to_a_named_replica_leaves_the_other_following() {
    let m = start_node(false, &[]);
    let r1 = replica_of(&m, false);
    let r2 = replica_of(&m, false);
    run(&m, &["SET", "k", "v"]);
    synced(&m, &r1);
    synced(&m, &r2);
    let port = r2.port.to_string();
    assert_eq!(
        run(&m, &["FAILOVER", "TO", "127.0.0.1", &port]),
        redis::Value::Okay
    );
    roles_swapped(&m, &r2);
    // r1 still follows the old master, which now relays r2's stream; it
    // was reconnected to learn the new replication id (PSYNC2).
    assert_eq!(role(&r1), "slave");
    converges(&r2, &r1);
    assert!(wait_until(LIMIT, || info(
        &r1,
        "replication",
        "master_replid"
    ) == info(
        &r2,
        "replication",
        "master_replid"
    )));
}

#[test]
fn writes_wait_during_a_failover_and_then_get_readonly() {
    let m = start_node(false, &[]);
    let r = replica_of(&m, false);
    let frozen = Frozen::new(&r);
    run(&m, &["SET", "lag", "1"]); // the replica cannot acknowledge this yet
    assert_eq!(run(&m, &["FAILOVER"]), redis::Value::Okay);
    assert_eq!(failover_state(&m), "waiting-for-sync");
    let mut writer = Conn::connect(m.port);
    writer.send(&[b"SET", b"held", b"x"]);
    // Held: counted as blocked, not executed; reads still answer.
    let mut admin = Conn::connect(m.port);
    assert!(wait_until(LIMIT, || crate::common::blocked_clients(
        &mut admin
    ) == 1));
    assert_eq!(admin.cmd(&["GET", "held"]), b"$-1\r\n");
    // CLIENT UNPAUSE ends CLIENT PAUSE only, not the failover's pause.
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), b"+OK\r\n");
    assert_eq!(crate::common::blocked_clients(&mut admin), 1);
    assert_eq!(
        admin.cmd(&["REPLICAOF", "NO", "ONE"]),
        b"-ERR REPLICAOF not allowed while failing over.\r\n"
    );
    drop(frozen);
    roles_swapped(&m, &r);
    assert_eq!(
        writer.read_reply(),
        b"-READONLY You can't write against a read only replica.\r\n"
    );
}

#[test]
fn failover_times_out_when_the_replica_never_catches_up() {
    let m = start_node(false, &[]);
    let r = replica_of(&m, false);
    let frozen = Frozen::new(&r);
    run(&m, &["SET", "lag", "1"]);
    assert_eq!(run(&m, &["FAILOVER", "TIMEOUT", "300"]), redis::Value::Okay);
    let mut writer = Conn::connect(m.port);
    writer.send(&[b"SET", b"held", b"x"]);
    // The timeout aborts: still a master, and the held write runs.
    assert_eq!(writer.read_reply(), b"+OK\r\n");
    assert_eq!(failover_state(&m), "no-failover");
    assert_eq!(role(&m), "master");
    drop(frozen);
    converges(&m, &r);
}

#[test]
fn forced_failover_hands_over_after_the_timeout_and_abort_rolls_back() {
    // FORCE: after the timeout the master follows the target even though
    // it has not acknowledged the last write; once the target answers,
    // the roles are swapped.
    let m = start_node(false, &[]);
    let r = replica_of(&m, false);
    let frozen = Frozen::new(&r);
    run(&m, &["SET", "unacknowledged", "1"]);
    let port = r.port.to_string();
    assert_eq!(
        run(
            &m,
            &[
                "FAILOVER",
                "TO",
                "127.0.0.1",
                &port,
                "TIMEOUT",
                "200",
                "FORCE"
            ]
        ),
        redis::Value::Okay
    );
    assert!(wait_until(LIMIT, || failover_state(&m) == "failover-in-progress"));
    assert_eq!(role(&m), "slave");
    drop(frozen);
    assert!(wait_until(LIMIT, || role(&r) == "master"
        && info(&m, "replication", "master_link_status") == "up"
        && failover_state(&m) == "no-failover"));
    // The write the target had not acknowledged was in its socket buffer
    // and reached it when it resumed: both hold the same data.
    converges(&r, &m);

    // ABORT while handing over: back to a master, under a new history.
    let m2 = start_node(false, &[]);
    let r2 = replica_of(&m2, false);
    let frozen = Frozen::new(&r2);
    let replid = info(&m2, "replication", "master_replid");
    let port = r2.port.to_string();
    run(&m2, &["SET", "kept", "1"]);
    assert_eq!(
        run(
            &m2,
            &[
                "FAILOVER",
                "TO",
                "127.0.0.1",
                &port,
                "TIMEOUT",
                "100",
                "FORCE"
            ]
        ),
        redis::Value::Okay
    );
    assert!(wait_until(LIMIT, || failover_state(&m2) == "failover-in-progress"));
    assert_eq!(run(&m2, &["FAILOVER", "ABORT"]), redis::Value::Okay);
    assert_eq!(role(&m2), "master");
    assert_eq!(failover_state(&m2), "no-failover");
    assert_ne!(info(&m2, "replication", "master_replid"), replid);
    assert_eq!(info(&m2, "replication", "master_replid2"), replid);
    run(&m2, &["SET", "writable", "again"]);
    drop(frozen);
    assert_eq!(role(&r2), "slave");
}

/// Replies to `commands` from a server in each of three situations, for
/// comparing the two implementations: a master with no replica, a master
/// with one online replica (the replica's own replies too), and the same
/// master while a failover waits for a stopped replica.
fn error_replies(reference: bool) -> Vec<String> {
    let commands: &[&[&str]] = &[
        &["FAILOVER", "ABORT"],
        &["FAILOVER", "TIMEOUT", "0"],
        &["FAILOVER", "TIMEOUT", "-5"],
        &["FAILOVER", "TIMEOUT", "x"],
        &["FAILOVER", "TIMEOUT", "0", "ABORT"],
        &["FAILOVER", "ABORT", "TIMEOUT", "0"],
        &["FAILOVER", "TO", "h"],
        &["FAILOVER", "TO", "h", "x"],
        &["FAILOVER", "TO", "h", "x", "ABORT"],
        &["FAILOVER", "FORCE", "FORCE"],
        &["FAILOVER", "ABORT", "ABORT"],
        &["FAILOVER", "TO", "a", "1", "TO", "b", "2"],
        &["FAILOVER", "bogus"],
        &["FAILOVER", "FORCE"],
        &["FAILOVER", "TIMEOUT", "5", "FORCE"],
        &["FAILOVER", "TO", "127.0.0.1", "1", "FORCE"],
        &["FAILOVER", "TO", "127.0.0.1", "1"],
        &["FAILOVER", "TO", "127.0.0.1", "99999"],
        &[
            "PSYNC",
            "0000000000000000000000000000000000000000",
            "1",
            "FAILOVER",
        ],
    ];
    let run_all = |s: &ServerProc, out: &mut Vec<String>| {
        let failing_over = failover_state(s) != "no-failover";
        // While failing over, a plain ABORT would end the situation.
        for cmd in commands
            .iter()
            .filter(|c| !failing_over || **c != ["FAILOVER", "ABORT"])
        {
            let mut c = Conn::connect(s.port);
            out.push(format!(
                "{cmd:?} -> {}",
                String::from_utf8_lossy(&c.cmd(cmd))
            ));
        }
    };
    let mut out = Vec::new();
    let m = start_node(reference, &[]);
    run_all(&m, &mut out);
    let r = replica_of(&m, reference);
    synced(&m, &r);
    run_all(&m, &mut out);
    run_all(&r, &mut out);
    let replid = info(&r, "replication", "master_replid");
    let mut c = Conn::connect(r.port);
    out.push(format!(
        "wrong replid -> {}",
        String::from_utf8_lossy(&c.cmd(&["PSYNC", "abc", "1", "FAILOVER"]))
    ));
    let frozen = Frozen::new(&r);
    run(&m, &["SET", "lag", "1"]);
    assert_eq!(
        run(&m, &["FAILOVER", "TIMEOUT", "60000"]),
        redis::Value::Okay
    );
    run_all(&m, &mut out);
    let mut c = Conn::connect(m.port);
    out.push(format!(
        "psync while failing over -> {}",
        String::from_utf8_lossy(&c.cmd(&["PSYNC", &replid, "1"]))
    ));
    assert_eq!(run(&m, &["FAILOVER", "ABORT"]), redis::Value::Okay);
    drop(frozen);
    out
}

#[test]
fn failover_errors_match_redis() {
    let ours = error_replies(false);
    let theirs = error_replies(true);
    assert_eq!(ours.len(), theirs.len());
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(o, t);
    }
}

/// A failover still waiting after its only replica went away: another
/// FAILOVER is refused as already in progress, as Redis 7.0 checks that
/// first (before "requires connected replicas" or "not valid when server
/// is a replica"). The replica is a raw connection that never ACKs.
fn second_failover_reply(reference: bool) -> String {
    let m = start_node(reference, &[]);
    let mut c = m.conn();
    c.cmd(&["SET", "a", "1"]);
    let mut r = m.conn();
    r.cmd(&["REPLCONF", "listening-port", "9999"]);
    r.send(&[b"PSYNC", b"?", b"-1"]);
    assert!(wait_until(LIMIT, || info(
        &m,
        "replication",
        "connected_slaves"
    ) == "1"));
    c.cmd(&["SET", "b", "1"]);
    assert_eq!(c.cmd(&["FAILOVER"]), b"+OK\r\n");
    drop(r);
    assert!(wait_until(LIMIT, || info(
        &m,
        "replication",
        "connected_slaves"
    ) == "0"));
    let reply = String::from_utf8_lossy(&c.cmd(&["FAILOVER"])).into_owned();
    assert_eq!(c.cmd(&["FAILOVER", "ABORT"]), b"+OK\r\n");
    reply
}

#[test]
fn failover_in_progress_is_reported_first_like_redis() {
    let theirs = second_failover_reply(true);
    assert_eq!(theirs, "-ERR FAILOVER already in progress.\r\n");
    assert_eq!(second_failover_reply(false), theirs);
}
