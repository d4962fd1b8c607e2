//! Bitmaps end to end: what SETBIT, BITFIELD and BITOP wrote survives an
//! AOF replay after kill -9, a snapshot (DEBUG RELOAD and a restart), and
//! reaches replicas (ours and Debian's redis-server); read-only BITFIELDs
//! and no-op writes stay out of the log; a read-only replica serves
//! BITFIELD_RO and refuses BITFIELD, as redis-server does.

use crate::common::{Conn, ServerProc, TempDir};
use crate::replication::{converges, link_up, replica_of};

const AOF: &str = "appendonlydir/appendonly.aof.1.incr.aof";

/// Bitmap writes of every kind, including ones that change nothing.
fn write_bitmaps(c: &mut Conn) {
    assert_eq!(c.cmds(&["SETBIT", "b", "7", "1"]), ":0\r\n");
    assert_eq!(c.cmds(&["SETBIT", "b", "1000", "1"]), ":0\r\n");
    // No change: not logged, not replicated.
    assert_eq!(c.cmds(&["SETBIT", "b", "7", "1"]), ":1\r\n");
    assert_eq!(
        c.cmds(&["BITFIELD", "f", "SET", "i16", "#1", "-300", "INCRBY", "u8", "0", "200"]),
        "*2\r\n:0\r\n:200\r\n"
    );
    assert_eq!(
        c.cmds(&["BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "100"]),
        "*1\r\n:255\r\n"
    );
    // Only GETs, and a FAIL overflow: nothing to log.
    assert_eq!(
        c.cmds(&["BITFIELD", "f", "GET", "i16", "#1", "GET", "u8", "0"]),
        "*2\r\n:-300\r\n:255\r\n"
    );
    assert_eq!(
        c.cmds(&["BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1"]),
        "*1\r\n$-1\r\n"
    );
    c.cmd(&["SET", "n", "12345"]);
    assert_eq!(c.cmds(&["SETBIT", "n", "7", "0"]), ":1\r\n");
    assert_eq!(c.cmds(&["BITOP", "XOR", "x", "b", "f", "n"]), ":126\r\n");
    assert_eq!(c.cmds(&["BITOP", "NOT", "not", "b"]), ":126\r\n");
    c.cmd(&["SET", "gone", "v"]);
    assert_eq!(c.cmds(&["BITOP", "AND", "gone", "nosuch"]), ":0\r\n");
}

/// The values written by `write_bitmaps`, as GET replies.
fn values(c: &mut Conn) -> Vec<String> {
    ["b", "f", "n", "x", "not", "gone"]
        .iter()
        .map(|k| c.cmds(&["GET", k]))
        .collect()
}

#[test]
fn bitmaps_replay_from_the_aof_and_reads_are_not_logged() {
    let d = TempDir::new("bitmaps-aof");
    let args = crate::common::AOF_ALWAYS;
    let mut s = ServerProc::start_in(&d.0, &args);
    let mut c = s.conn();
    write_bitmaps(&mut c);
    let before = values(&mut c);
    assert_eq!(c.cmds(&["BITCOUNT", "b"]), ":2\r\n");
    let _ = s.child.kill();
    let _ = s.child.wait();

    let log = std::fs::read(d.0.join(AOF)).unwrap();
    let text = String::from_utf8_lossy(&log);
    // SETBIT b 7, SETBIT b 1000, SETBIT n 6: the repeated SETBIT b 7 is
    // a no-op. Two writing BITFIELDs; the GET-only and the failed one are
    // not there.
    assert_eq!(text.matches("SETBIT").count(), 3, "{text}");
    assert_eq!(text.matches("BITFIELD").count(), 2, "{text}");
    assert!(!text.contains("GET\r\n$3\r\ni16"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    assert_eq!(text.matches("BITOP").count(), 3, "{text}");

    let s2 = ServerProc::start_in(&d.0, &args);
    let mut c = s2.conn();
    assert_eq!(values(&mut c), before);
    assert_eq!(
        c.cmds(&["BITFIELD_RO", "f", "GET", "i16", "#1"]),
        "*1\r\n:-300\r\n"
    );
    assert_eq!(c.cmds(&["EXISTS", "gone"]), ":0\r\n");
}

#[test]
fn bitmaps_survive_debug_reload_and_a_restart_from_the_snapshot() {
    let d = TempDir::new("bitmaps-rdb");
    let args = ["--save", "", "--enable-debug-command", "yes"];
    let s = ServerProc::start_in(&d.0, &args);
    let mut c = s.conn();
    write_bitmaps(&mut c);
    let before = values(&mut c);
    assert_eq!(c.cmds(&["DEBUG", "RELOAD"]), "+OK\r\n");
    assert_eq!(values(&mut c), before);
    // Still bitmaps after loading: bit operations see the same bits.
    assert_eq!(c.cmds(&["GETBIT", "b", "1000"]), ":1\r\n");
    assert_eq!(c.cmds(&["BITPOS", "b", "1", "1"]), ":1000\r\n");
    assert_eq!(c.cmds(&["SAVE"]), "+OK\r\n");
    drop(c);
    drop(s);
    let s2 = ServerProc::start_in(&d.0, &args);
    let mut c = s2.conn();
    assert_eq!(values(&mut c), before);
    assert_eq!(c.cmds(&["SETBIT", "b", "1000", "0"]), ":1\r\n");
}

#[test]
fn bitmaps_replicate_and_a_replica_serves_only_bitfield_ro() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    let mut c = m.conn();
    c.cmd(&["SETBIT", "before", "12", "1"]);
    let r = replica_of(&m);
    write_bitmaps(&mut c);
    converges(&m, &r);
    let mut rc = r.conn();
    assert_eq!(values(&mut rc), values(&mut c));
    assert_eq!(rc.cmds(&["GETBIT", "before", "12"]), ":1\r\n");
    // Redis 7.0: BITFIELD is a write command even when it only reads.
    let readonly = "-READONLY You can't write against a read only replica.\r\n";
    assert_eq!(rc.cmds(&["BITFIELD", "f", "GET", "u8", "0"]), readonly);
    assert_eq!(rc.cmds(&["SETBIT", "b", "1", "1"]), readonly);
    assert_eq!(rc.cmds(&["BITOP", "NOT", "d", "b"]), readonly);
    assert_eq!(
        rc.cmds(&["BITFIELD_RO", "f", "GET", "i16", "#1"]),
        "*1\r\n:-300\r\n"
    );
    assert_eq!(
        rc.cmds(&["BITFIELD_RO", "f", "SET", "u8", "0", "1"]),
        "-ERR BITFIELD_RO only supports the GET subcommand\r\n"
    );
    assert_eq!(rc.cmds(&["BITCOUNT", "b"]), ":2\r\n");
}

/// Debian's redis-server as the replica: our propagated bitmap writes
/// (the commands as sent) mean the same there.
#[test]
fn real_redis_replica_applies_our_bitmap_stream() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    let port = m.port.to_string();
    let r = ServerProc::start_reference(&[
        "--replicaof",
        "127.0.0.1",
        &port,
        "--repl-diskless-load",
        "disabled",
    ]);
    link_up(&r);
    let mut c = m.conn();
    write_bitmaps(&mut c);
    converges(&m, &r);
    let mut rc = r.conn();
    assert_eq!(values(&mut rc), values(&mut c));
}
