//! A replica keeps its replication id and offset across its own restart
//! (RDB aux fields repl-id / repl-offset, as Redis 7.0) and continues
//! with a partial resync: no second full sync.

use crate::common::wait_until;
use crate::common::{ServerProc, TempDir};
use crate::replication::{converges, fill, info, link_up, more_writes, LIMIT};

fn restart_continues(m: &ServerProc, stop: impl FnOnce(&mut ServerProc)) {
    fill(m);
    let dir = TempDir::new("replica-restart");
    let port = m.port.to_string();
    let args = ["--save", "3600 1", "--replicaof", "127.0.0.1", &port];
    let mut r = ServerProc::start_in(&dir.0, &args);
    link_up(&r);
    converges(m, &r);
    more_writes(m, "before-stop");
    converges(m, &r);
    stop(&mut r);
    more_writes(m, "while-down");
    let r = ServerProc::start_in(&dir.0, &args);
    link_up(&r);
    converges(m, &r);
    assert!(wait_until(LIMIT, || info(m, "stats", "sync_partial_ok") == "1"));
    assert_eq!(info(m, "stats", "sync_full"), "1", "no second full sync");
    assert_eq!(
        info(&r, "replication", "master_replid"),
        info(m, "replication", "master_replid")
    );
}

#[test]
fn replica_stopped_by_sigterm_resyncs_partially_after_restart() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    restart_continues(&m, |r| assert_eq!(r.terminate(), Some(0)));
}

#[test]
fn replica_stopped_by_shutdown_resyncs_partially_with_a_real_redis_master() {
    let m = ServerProc::start_reference(&["--repl-diskless-sync-delay", "0"]);
    restart_continues(&m, |r| {
        let mut c = r.conn();
        crate::common::send(&mut c, &["SHUTDOWN"]);
        assert!(c.is_closed_within(LIMIT));
        assert_eq!(crate::common::wait_exit(&mut r.child, LIMIT), Some(0));
    });
}

/// A master's snapshot records the database its replication stream is
/// positioned on (`repl-stream-db`, as Redis 7.0), so a former master
/// restarted from it as a replica of its promoted replica continues the
/// stream in that database: the writes after the snapshot carry no
/// SELECT of their own.
#[test]
fn former_master_continues_the_stream_in_the_right_database() {
    let mdir = TempDir::new("former-master");
    let mut m = ServerProc::start_in(&mdir.0, &["--save", "", "--repl-diskless-sync-delay", "0"]);
    let r = ServerProc::start(&[
        "--save",
        "",
        "--replicaof",
        "127.0.0.1",
        &m.port.to_string(),
    ]);
    link_up(&r);
    let mut c = m.conn();
    assert_eq!(c.cmds(&["SELECT", "3"]), "+OK\r\n");
    assert_eq!(c.cmds(&["SET", "a", "1"]), "+OK\r\n");
    converges(&m, &r);
    assert_eq!(c.cmds(&["SAVE"]), "+OK\r\n");
    assert_eq!(c.cmds(&["SET", "b", "2"]), "+OK\r\n");
    converges(&m, &r);
    drop(c);
    let _ = m.child.kill();
    let _ = m.child.wait();
    assert_eq!(r.conn().cmds(&["REPLICAOF", "NO", "ONE"]), "+OK\r\n");
    let rport = r.port.to_string();
    let m = ServerProc::start_in(&mdir.0, &["--save", "", "--replicaof", "127.0.0.1", &rport]);
    link_up(&m);
    converges(&r, &m);
    assert_eq!(
        info(&r, "stats", "sync_partial_ok"),
        "1",
        "a partial resync"
    );
    let mut c = m.conn();
    assert_eq!(c.cmds(&["DBSIZE"]), ":0\r\n", "nothing in database 0");
}
