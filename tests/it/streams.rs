//! End-to-end tests of the stream writing and range commands on the real
//! binary: what the differential tests cannot pin (auto IDs from the clock,
//! the AOF replay of rewritten commands, counts that are claims, MEMORY
//! USAGE, transactions, the config file).

use crate::common::{ServerProc, TempDir};

/// The ID in an XADD reply (`$n\r\n<ms>-<seq>\r\n`).
fn reply_id(reply: &[u8]) -> (u64, u64) {
    let s = String::from_utf8_lossy(reply);
    let id = s.split("\r\n").nth(1).expect("bulk reply");
    let (ms, seq) = id.split_once('-').expect("an ID");
    (ms.parse().expect("ms"), seq.parse().expect("seq"))
}

fn int_reply(reply: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(reply);
    s.trim_start_matches(':')
        .trim_end()
        .parse()
        .expect("integer reply")
}

/// The value of `field` in a RESP2 XINFO STREAM reply (an integer).
fn xinfo_int(reply: &[u8], field: &str) -> i64 {
    let s = String::from_utf8_lossy(reply);
    let mut lines = s.split("\r\n");
    while let Some(l) = lines.next() {
        if l == field {
            let v = lines.next().expect("value");
            return v.trim_start_matches(':').parse().expect("integer field");
        }
    }
    panic!("no {field} in {s}");
}

#[test]
fn auto_ids_follow_the_clock_and_never_go_back() {
    let srv = ServerProc::start(&[]);
    let mut c = srv.conn();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let mut last = (0, 0);
    for _ in 0..200 {
        let id = reply_id(&c.cmd(&["XADD", "s", "*", "f", "v"]));
        assert!(id > last, "{id:?} after {last:?}");
        last = id;
    }
    assert!(last.0 >= now_ms && last.0 < now_ms + 60_000, "{last:?}");
    // An explicit ID in the future: `*` continues after it.
    let future = format!("{}-5", last.0 + 1_000_000);
    c.cmd(&["XADD", "s", &future, "f", "v"]);
    assert_eq!(
        reply_id(&c.cmd(&["XADD", "s", "*", "f", "v"])),
        (last.0 + 1_000_000, 6)
    );
    // `ms-*` in the current millisecond of the stream continues its
    // sequence.
    let ms_star = format!("{}-*", last.0 + 1_000_000);
    assert_eq!(
        reply_id(&c.cmd(&["XADD", "s", &ms_star, "f", "v"])),
        (last.0 + 1_000_000, 7)
    );
    assert_eq!(int_reply(&c.cmd(&["XLEN", "s"])), 203);
}

#[test]
fn approximate_trimming_keeps_whole_nodes() {
    let srv = ServerProc::start(&[]);
    let mut c = srv.conn();
    for i in 0..1000 {
        let id = format!("{}-0", i + 1);
        c.cmd(&["XADD", "s", "MAXLEN", "~", "250", &id, "f", "v"]);
    }
    // Default nodes of 100 small entries: the stream keeps whole nodes,
    // at least 250 entries, less than a node more.
    let len = int_reply(&c.cmd(&["XLEN", "s"]));
    assert_eq!(len, 300, "whole nodes of 100 entries");
    let info = c.cmd(&["XINFO", "STREAM", "s"]);
    assert_eq!(xinfo_int(&info, "radix-tree-keys"), 3);
    assert_eq!(xinfo_int(&info, "entries-added"), 1000);
    // An exact trim goes inside a node.
    assert_eq!(int_reply(&c.cmd(&["XTRIM", "s", "MAXLEN", "250"])), 50);
    assert_eq!(int_reply(&c.cmd(&["XLEN", "s"])), 250);
    // LIMIT caps what an approximate trim may remove (whole nodes only).
    assert_eq!(
        int_reply(&c.cmd(&["XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "120"])),
        50
    );
    // Smaller nodes by configuration.
    c.cmd(&["CONFIG", "SET", "stream-node-max-entries", "10"]);
    for i in 0..95 {
        let id = format!("{}-0", 2000 + i);
        c.cmd(&["XADD", "t", &id, "f", "v"]);
    }
    let info = c.cmd(&["XINFO", "STREAM", "t"]);
    assert_eq!(xinfo_int(&info, "radix-tree-keys"), 10);
    assert_eq!(int_reply(&c.cmd(&["XTRIM", "t", "MAXLEN", "~", "50"])), 40);
}

/// COUNT values are claims: a huge one answers what exists, without
/// sizing anything by it.
#[test]
fn huge_counts_are_not_allocation_sizes() {
    let srv = ServerProc::start(&[]);
    let mut c = srv.conn();
    for i in 1..=3 {
        c.cmd(&["XADD", "s", &i.to_string(), "f", "v"]);
    }
    let max = "9223372036854775807";
    let r = c.cmds(&["XRANGE", "s", "-", "+", "COUNT", max]);
    assert!(r.starts_with("*3\r\n"), "{r}");
    let r = c.cmds(&["XREVRANGE", "s", "+", "-", "COUNT", max]);
    assert!(r.starts_with("*3\r\n"), "{r}");
    let r = c.cmds(&["XINFO", "STREAM", "s", "FULL", "COUNT", max]);
    assert!(r.contains("entries\r\n*3\r\n"), "{r}");
    let r = c.cmds(&["XTRIM", "s", "MAXLEN", "~", max, "LIMIT", max]);
    assert_eq!(r, ":0\r\n");
    let r = c.cmds(&["XSETID", "s", "5", "ENTRIESADDED", max]);
    assert_eq!(r, "+OK\r\n");
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
}

#[test]
fn memory_usage_grows_with_the_stream() {
    let srv = ServerProc::start(&[]);
    let mut c = srv.conn();
    c.cmd(&["XADD", "s", "1", "f", "v"]);
    let small = int_reply(&c.cmd(&["MEMORY", "USAGE", "s"]));
    let v = "x".repeat(100);
    for i in 2..1000 {
        c.cmd(&["XADD", "s", &i.to_string(), "field", &v]);
    }
    let big = int_reply(&c.cmd(&["MEMORY", "USAGE", "s", "SAMPLES", "0"]));
    assert!(small > 0 && big > small + 999 * 100, "{small} -> {big}");
}

#[test]
fn stream_commands_queue_in_transactions_and_count_in_commandstats() {
    let srv = ServerProc::start(&[]);
    let mut c = srv.conn();
    c.cmd(&["MULTI"]);
    c.cmd(&["XADD", "s", "1", "f", "v"]);
    c.cmd(&["XADD", "s", "2", "f", "v"]);
    c.cmd(&["XDEL", "s", "1"]);
    c.cmd(&["XLEN", "s"]);
    let r = c.cmds(&["EXEC"]);
    assert_eq!(r, "*4\r\n$3\r\n1-0\r\n$3\r\n2-0\r\n:1\r\n:1\r\n");
    let stats = c.cmds(&["INFO", "commandstats"]);
    assert!(stats.contains("cmdstat_xadd:calls=2,"), "{stats}");
    assert!(stats.contains("cmdstat_xdel:calls=1,"), "{stats}");
    c.cmd(&["XINFO", "STREAM", "s"]);
    let stats = c.cmds(&["INFO", "commandstats"]);
    assert!(stats.contains("cmdstat_xinfo|stream:calls=1,"), "{stats}");
}

#[test]
fn node_options_are_read_from_the_config_file() {
    let dir = TempDir::new("streams-conf");
    let conf = dir.0.join("redis.conf");
    std::fs::write(
        &conf,
        "stream-node-max-entries 7\nstream-node-max-bytes 2kb\n",
    )
    .expect("write config");
    let srv = ServerProc::start(&[conf.to_str().expect("path")]);
    let mut c = srv.conn();
    assert_eq!(
        c.cmds(&["CONFIG", "GET", "stream-node-max-entries"]),
        "*2\r\n$23\r\nstream-node-max-entries\r\n$1\r\n7\r\n"
    );
    assert_eq!(
        c.cmds(&["CONFIG", "GET", "stream-node-max-bytes"]),
        "*2\r\n$21\r\nstream-node-max-bytes\r\n$4\r\n2048\r\n"
    );
    for i in 1..=15 {
        c.cmd(&["XADD", "s", &i.to_string(), "f", "v"]);
    }
    let info = c.cmd(&["XINFO", "STREAM", "s"]);
    assert_eq!(xinfo_int(&info, "radix-tree-keys"), 3);
}

/// Auto IDs and approximate trims reach the AOF as their effect, so a
/// restart replays the same stream: same entries, same counters, same
/// nodes.
#[test]
fn auto_ids_and_approximate_trims_replay_from_the_aof() {
    let dir = TempDir::new("streams-aof");
    let args = [
        "--appendonly",
        "yes",
        "--save",
        "",
        "--stream-node-max-entries",
        "4",
    ];
    let before;
    {
        let mut srv = ServerProc::start_in(&dir.0, &args);
        let mut c = srv.conn();
        for i in 0..40 {
            let v = "x".repeat(i);
            c.cmd(&["XADD", "s", "MAXLEN", "~", "10", "*", "f", &v]);
        }
        let first = c.cmds(&["XRANGE", "s", "-", "+", "COUNT", "1"]);
        let id = first.split("\r\n").nth(3).unwrap_or_default().to_string();
        assert_eq!(c.cmds(&["XDEL", "s", &id]), ":1\r\n");
        c.cmd(&["XTRIM", "s", "MAXLEN", "~", "7"]);
        c.cmd(&["XADD", "s", "MINID", "~", &id, "*", "g", "w"]);
        before = (
            c.cmds(&["XRANGE", "s", "-", "+"]),
            c.cmds(&["XINFO", "STREAM", "s"]),
        );
        assert!(before.0.starts_with('*') && before.0 != "*0\r\n");
        srv.terminate();
    }
    let srv = ServerProc::start_in(&dir.0, &args);
    let mut c = srv.conn();
    assert_eq!(c.cmds(&["XRANGE", "s", "-", "+"]), before.0);
    assert_eq!(c.cmds(&["XINFO", "STREAM", "s"]), before.1);
}

/// XADD signals the key's waiters (for XREAD BLOCK); a client blocked
/// on the same key for a list keeps waiting through stream writes, as in
/// Redis 7.0, and is served once the key is a list.
#[test]
fn stream_writes_leave_list_waiters_waiting() {
    use crate::common::{send, wait_blocked};
    let srv = ServerProc::start(&[]);
    let mut ctl = srv.conn();
    let mut waiter = srv.conn();
    send(&mut waiter, &["BLPOP", "s", "0"]);
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["XADD", "s", "1", "f", "v"]);
    ctl.cmd(&["XADD", "s", "2", "f", "v"]);
    assert_eq!(ctl.cmds(&["XLEN", "s"]), ":2\r\n");
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["DEL", "s"]);
    ctl.cmd(&["RPUSH", "s", "x"]);
    assert_eq!(
        String::from_utf8_lossy(&waiter.read_reply()),
        "*2\r\n$1\r\ns\r\n$1\r\nx\r\n"
    );
    wait_blocked(&mut ctl, 0);
}
