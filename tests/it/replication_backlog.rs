//! The backlog's lifetime and size: repl-backlog-ttl frees it (and starts
//! a new history) after a while without replicas; CONFIG SET
//! repl-backlog-size resizes it keeping its content, so a replica can
//! still continue with a partial resync.

use crate::common::{wait_until, ServerProc};
use crate::replication::{converges, fill, info, more_writes, replica_of, run, LIMIT};

#[test]
fn backlog_is_freed_after_the_ttl_without_replicas() {
    let m = ServerProc::start(&[
        "--save",
        "",
        "--repl-diskless-sync-delay",
        "0",
        "--repl-backlog-ttl",
        "1",
    ]);
    let r = replica_of(&m);
    run(&m, &["SET", "k", "v"]);
    converges(&m, &r);
    let id = info(&m, "replication", "master_replid");
    // Attached: kept well past the ttl's one second.
    assert!(wait_until(LIMIT, || info(&m, "replication", "slave0").contains("lag=")));
    drop(r);
    assert!(wait_until(LIMIT, || info(
        &m,
        "replication",
        "repl_backlog_active"
    ) == "0"));
    assert_ne!(info(&m, "replication", "master_replid"), id);
    assert_eq!(info(&m, "replication", "master_replid2"), "0".repeat(40));
}

#[test]
fn resizing_the_backlog_keeps_its_content_for_partial_resyncs() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    let r = replica_of(&m);
    fill(&m); // in the stream, so in the backlog
    more_writes(&m, "before-resize");
    converges(&m, &r);
    // fill() wrote over 100 KB: shrinking keeps exactly the newest 16 KB.
    assert!(
        info(&m, "replication", "repl_backlog_histlen")
            .parse::<u64>()
            .unwrap()
            > 16384
    );
    assert_eq!(
        run(&m, &["CONFIG", "SET", "repl-backlog-size", "16384"]),
        redis::Value::Okay
    );
    assert_eq!(info(&m, "memory", "mem_replication_backlog"), "16384");
    assert_eq!(info(&m, "replication", "repl_backlog_histlen"), "16384");
    let end: u64 = info(&m, "replication", "master_repl_offset")
        .parse()
        .unwrap();
    assert_eq!(
        info(&m, "replication", "repl_backlog_first_byte_offset"),
        (end - 16383).to_string()
    );
    // Growing keeps them too, and then holds more than before.
    run(&m, &["CONFIG", "SET", "repl-backlog-size", "2mb"]);
    assert_eq!(info(&m, "replication", "repl_backlog_histlen"), "16384");
    run(&m, &["SET", "big2", &"y".repeat(1_500_000)]);
    assert!(
        info(&m, "replication", "repl_backlog_histlen")
            .parse::<u64>()
            .unwrap()
            > 1_500_000
    );
    assert_eq!(
        run(&m, &["CLIENT", "KILL", "TYPE", "replica"]),
        redis::Value::Int(1)
    );
    more_writes(&m, "after-resize");
    converges(&m, &r);
    assert!(wait_until(LIMIT, || info(&m, "stats", "sync_partial_ok") == "1"));
    assert_eq!(info(&m, "stats", "sync_full"), "1");
}
