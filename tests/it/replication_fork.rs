//! Full sync through a forked snapshot child: the master keeps answering
//! while the child encodes a big dataset, and a killed child drops its
//! replica, which asks again and converges.
//!
//! The test-only hook REDISLITE_TEST_SNAPSHOT_CHILD_DELAY_MS keeps the
//! child alive long enough to be seen whatever the machine's speed; with
//! the snapshot encoded in the loop there is no child (these tests fail)
//! and the loop would not answer during the encoding.

use crate::common::{info_str, info_u64, wait_until, Conn, ServerProc};
use crate::replication::{link_up, LIMIT};

const CHILD_DELAY: (&str, &str) = ("REDISLITE_TEST_SNAPSHOT_CHILD_DELAY_MS", "1500");

/// `n` string keys of 100 bytes, written with pipelined MSETs.
fn load(c: &mut Conn, n: usize) {
    const BATCH: usize = 1000;
    let value = "v".repeat(100);
    for b in 0..n / BATCH {
        let keys: Vec<String> = (0..BATCH)
            .map(|i| format!("key:{:09}", b * BATCH + i))
            .collect();
        let mut args: Vec<&[u8]> = vec![b"MSET"];
        for k in &keys {
            args.push(k.as_bytes());
            args.push(value.as_bytes());
        }
        c.send(&args);
    }
    for _ in 0..n / BATCH {
        assert_eq!(c.read_reply(), b"+OK\r\n");
    }
}

/// Pid of a child process of `parent` (the snapshot child: these masters
/// run no BGSAVE), from /proc/<pid>/stat's ppid field.
fn child_of(parent: u32) -> Option<i32> {
    let dir = std::fs::read_dir("/proc").ok()?;
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces; split after ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            return Some(pid);
        }
    }
    None
}

/// The replica holds the master's keys (count and a sample) and follows
/// the stream after the sync (a write made now arrives). A key-by-key
/// dump would take minutes at this size.
fn same_data(mc: &mut Conn, rc: &mut Conn) {
    let n = mc.cmds(&["DBSIZE"]);
    assert!(
        wait_until(LIMIT, || rc.cmds(&["DBSIZE"]) == n),
        "replica has {} keys, master {}",
        rc.cmds(&["DBSIZE"]),
        n
    );
    for k in ["key:000000000", "key:000012345"] {
        assert_eq!(rc.cmds(&["GET", k]), mc.cmds(&["GET", k]));
    }
    assert_eq!(mc.cmds(&["SET", "after-sync", "1"]), "+OK\r\n");
    assert!(
        wait_until(LIMIT, || rc.cmds(&["GET", "after-sync"]) == "$1\r\n1\r\n"),
        "the stream after the sync did not arrive"
    );
}

fn master() -> ServerProc {
    ServerProc::start_env(
        &["--save", "", "--repl-diskless-sync-delay", "0"],
        &[CHILD_DELAY],
    )
}

fn replica(m: &ServerProc) -> ServerProc {
    ServerProc::start(&[
        "--save",
        "",
        "--replicaof",
        "127.0.0.1",
        &m.port.to_string(),
    ])
}

#[test]
fn the_master_answers_pings_while_a_replica_full_sync_is_in_progress() {
    let m = master();
    let mut mc = m.conn();
    load(&mut mc, 200_000);
    let r = replica(&m);
    let mut rc = r.conn();
    let mut ping = m.conn();
    let mut served_during_sync = 0;
    let synced = wait_until(LIMIT, || {
        let syncing = info_u64(&mut rc, "replication", "master_sync_in_progress") == 1;
        let child = info_u64(&mut mc, "persistence", "rdb_bgsave_in_progress") == 1;
        if syncing && child {
            assert_eq!(ping.cmd(&["PING"]), b"+PONG\r\n");
            served_during_sync += 1;
        }
        info_str(&mut rc, "replication", "master_link_status").as_deref() == Some("up")
    });
    assert!(synced, "replica never synced");
    assert!(
        served_during_sync > 0,
        "no PING answered while the snapshot child ran"
    );
    same_data(&mut mc, &mut rc);
}

#[test]
fn a_killed_snapshot_child_drops_the_replica_which_retries_and_converges() {
    let m = master();
    let mut mc = m.conn();
    load(&mut mc, 20_000);
    let r = replica(&m);
    let mut pid = None;
    assert!(
        wait_until(LIMIT, || {
            pid = child_of(m.pid());
            pid.is_some()
        }),
        "no snapshot child appeared"
    );
    let pid = pid.unwrap_or(0);
    // SAFETY: signalling a process we found as our server's child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    // The master keeps serving, and the replica asks again: a second
    // full sync, from a new child.
    assert_eq!(mc.cmd(&["PING"]), b"+PONG\r\n");
    assert!(
        wait_until(LIMIT, || info_u64(&mut mc, "stats", "sync_full") >= 2),
        "the replica did not retry"
    );
    link_up(&r);
    same_data(&mut mc, &mut r.conn());
}

#[test]
fn one_child_at_a_time_bgsave_waits_and_a_late_replica_gets_the_next_child() {
    let m = master();
    let mut mc = m.conn();
    load(&mut mc, 20_000);
    let r1 = replica(&m);
    assert!(
        wait_until(LIMIT, || info_u64(
            &mut mc,
            "persistence",
            "rdb_bgsave_in_progress"
        ) == 1),
        "no snapshot child ran"
    );
    // The snapshot child is an RDB child, as in Redis.
    assert_eq!(
        mc.cmds(&["BGSAVE"]),
        "-ERR Background save already in progress\r\n"
    );
    assert_eq!(
        mc.cmds(&["BGSAVE", "SCHEDULE"]),
        "+Background saving scheduled\r\n"
    );
    // A replica asking now cannot share the running child's snapshot.
    let r2 = replica(&m);
    link_up(&r1);
    link_up(&r2);
    assert_eq!(info_u64(&mut mc, "stats", "sync_full"), 2);
    same_data(&mut mc, &mut r1.conn());
    same_data(&mut mc, &mut r2.conn());
    // The scheduled BGSAVE ran once the children were done.
    assert!(wait_until(LIMIT, || info_u64(
        &mut mc,
        "persistence",
        "rdb_saves"
    ) == 1));
}
