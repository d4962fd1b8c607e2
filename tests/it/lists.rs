//! End-to-end tests of blocking list commands over real TCP clients:
//! FIFO service, timeouts, wake-ups by every way a key can appear (push,
//! LMOVE, RENAME, MOVE, COPY, SWAPDB), disconnects, CLIENT UNBLOCK,
//! pipelined input held back while blocked, BLMOVE chains. Conditions are
//! polled (INFO clients `blocked_clients`), never slept on.

use crate::common::{blocked_clients, encode, send, wait_blocked, Conn, ServerProc, TempDir};
use std::time::{Duration, Instant};

fn pair(key: &str, value: &str) -> String {
    format!(
        "*2\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n",
        key.len(),
        value.len()
    )
}

fn bulk(v: &str) -> String {
    format!("${}\r\n{v}\r\n", v.len())
}

fn read(c: &mut Conn) -> String {
    String::from_utf8_lossy(&c.read_reply()).into_owned()
}

#[test]
fn waiters_are_served_in_fifo_order() {
    let srv = ServerProc::start(&[]);
    let mut ctl = srv.conn();
    let mut waiters: Vec<Conn> = (0..3).map(|_| srv.conn()).collect();
    for (i, w) in waiters.iter_mut().enumerate() {
        send(w, &["BLPOP", "q", "0"]);
        wait_blocked(&mut ctl, i + 1);
    }
    // Two elements for three waiters: the first two in blocking order are
    // served, the third keeps waiting.
    assert_eq!(ctl.cmds(&["RPUSH", "q", "a", "b"]), ":2\r\n");
    assert_eq!(read(&mut waiters[0]), pair("q", "a"));
    assert_eq!(read(&mut waiters[1]), pair("q", "b"));
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmds(&["EXISTS", "q"]), ":0\r\n");
    assert_eq!(ctl.cmds(&["LPUSH", "q", "c"]), ":1\r\n");
    assert_eq!(read(&mut waiters[2]), pair("q", "c"));
    wait_blocked(&mut ctl, 0);
    // CLIENT LIST showed the 'b' flag while blocked; now none.
    assert!(!ctl.cmds(&["CLIENT", "LIST"]).contains("flags=b"));
}

#[test]
fn client_list_flags_and_info_count_blocked_clients() {
    let srv = ServerProc::start(&[]);
    let mut ctl = srv.conn();
    let mut w = srv.conn();
    send(&mut w, &["BRPOP", "a", "b", "100"]);
    wait_blocked(&mut ctl, 1);
    let list = ctl.cmds(&["CLIENT", "LIST"]);
    assert!(list.contains("flags=b"), "{list}");
    assert!(list.contains("cmd=brpop"), "{list}");
    let info = ctl.cmds(&["INFO", "clients"]);
    assert!(info.contains("clients_in_timeout_table:1"), "{info}");
    assert_eq!(ctl.cmds(&["RPUSH", "b", "x", "y"]), ":2\r\n");
    assert_eq!(read(&mut w), pair("b", "y"));
    wait_blocked(&mut ctl, 0);
    assert!(ctl
        .cmds(&["INFO", "clients"])
        .contains("clients_in_timeout_table:0"));
}

#[test]
fn timeouts_fire_on_time_in_both_protocols() {
    let srv = ServerProc::start(&[]);
    let mut c = srv.conn();
    for (timeout, ms) in [("0.2", 200u128), ("0.05", 50)] {
        let start = Instant::now();
        assert_eq!(c.cmds(&["BLPOP", "nokey", timeout]), "*-1\r\n");
        let took = start.elapsed().as_millis();
        // Never early; late by at most a loop turn (generous bound for a
        // loaded test machine).
        assert!(took >= ms && took < ms + 300, "{timeout}s took {took} ms");
    }
    let start = Instant::now();
    assert_eq!(
        c.cmds(&["BLMOVE", "nokey", "d", "left", "left", "0.1"]),
        "*-1\r\n"
    );
    assert!(start.elapsed() >= Duration::from_millis(100));
    c.cmd(&["HELLO", "3"]);
    assert_eq!(c.cmds(&["BRPOP", "nokey", "0.05"]), "_\r\n");
    assert_eq!(c.cmds(&["BLMPOP", "0.05", "1", "nokey", "left"]), "_\r\n");
    // A client with a deadline far away is unaffected by other timeouts.
    let mut ctl = srv.conn();
    let mut long = srv.conn();
    send(&mut long, &["BLPOP", "k", "60"]);
    wait_blocked(&mut ctl, 1);
    assert_eq!(c.cmds(&["BLPOP", "nokey", "0.01"]), "_\r\n");
    assert_eq!(blocked_clients(&mut ctl), 1);
    ctl.cmd(&["RPUSH", "k", "v"]);
    assert_eq!(read(&mut long), pair("k", "v"));
}

#[test]
fn woken_by_lmove_rename_move_copy_and_swapdb() {
    let srv = ServerProc::start(&[]);
    let mut ctl = srv.conn();
    let mut w = srv.conn();

    // LMOVE into the key.
    send(&mut w, &["BLPOP", "dst", "0"]);
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["RPUSH", "src", "x"]);
    assert_eq!(
        ctl.cmds(&["LMOVE", "src", "dst", "left", "left"]),
        bulk("x")
    );
    assert_eq!(read(&mut w), pair("dst", "x"));
    assert_eq!(ctl.cmds(&["EXISTS", "dst"]), ":0\r\n");

    // RENAME onto the key.
    send(&mut w, &["BLPOP", "k2", "0"]);
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["RPUSH", "k1", "v1", "v2"]);
    assert_eq!(ctl.cmds(&["RENAME", "k1", "k2"]), "+OK\r\n");
    assert_eq!(read(&mut w), pair("k2", "v1"));
    assert_eq!(ctl.cmds(&["LRANGE", "k2", "0", "-1"]), "*1\r\n$2\r\nv2\r\n");

    // COPY onto the key.
    send(&mut w, &["BRPOP", "kc", "0"]);
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmds(&["COPY", "k2", "kc"]), ":1\r\n");
    assert_eq!(read(&mut w), pair("kc", "v2"));

    // MOVE into the waiter's database.
    w.cmd(&["SELECT", "1"]);
    send(&mut w, &["BLPOP", "k2", "0"]);
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmds(&["MOVE", "k2", "1"]), ":1\r\n");
    assert_eq!(read(&mut w), pair("k2", "v2"));

    // SWAPDB brings the key into the waiter's database (1).
    send(&mut w, &["BLPOP", "sk", "0"]);
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["RPUSH", "sk", "swapped"]);
    assert_eq!(ctl.cmds(&["SWAPDB", "0", "1"]), "+OK\r\n");
    assert_eq!(read(&mut w), pair("sk", "swapped"));
    wait_blocked(&mut ctl, 0);
}

#[test]
fn other_types_do_not_wake_and_wrong_type_destination_errors() {
    let srv = ServerProc::start(&[]);
    let mut ctl = srv.conn();
    let mut w = srv.conn();
    send(&mut w, &["BLPOP", "q", "0"]);
    wait_blocked(&mut ctl, 1);
    // A string at the key does not serve a list waiter: it keeps waiting.
    ctl.cmd(&["SET", "q", "str"]);
    assert_eq!(ctl.cmds(&["PING"]), "+PONG\r\n");
    assert_eq!(blocked_clients(&mut ctl), 1);
    ctl.cmd(&["DEL", "q"]);
    ctl.cmd(&["RPUSH", "q", "x"]);
    assert_eq!(read(&mut w), pair("q", "x"));

    // BLMOVE served while its destination holds a string: the client gets
    // WRONGTYPE and the element stays where it was.
    ctl.cmd(&["SET", "d", "str"]);
    send(&mut w, &["BLMOVE", "s", "d", "left", "left", "0"]);
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["RPUSH", "s", "e"]);
    assert_eq!(
        read(&mut w),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    wait_blocked(&mut ctl, 0);
    assert_eq!(ctl.cmds(&["LRANGE", "s", "0", "-1"]), "*1\r\n$1\r\ne\r\n");
}

#[test]
fn disconnected_waiters_leave_the_queues() {
    let srv = ServerProc::start(&[]);
    let mut ctl = srv.conn();
    {
        let mut w = srv.conn();
        send(&mut w, &["BLPOP", "q", "q2", "0"]);
        let mut w2 = srv.conn();
        send(&mut w2, &["BLPOP", "q", "5"]);
        wait_blocked(&mut ctl, 2);
    }
    wait_blocked(&mut ctl, 0);
    assert!(ctl
        .cmds(&["INFO", "clients"])
        .contains("clients_in_timeout_table:0"));
    // Nobody takes the element.
    ctl.cmd(&["RPUSH", "q", "x"]);
    ctl.cmd(&["RPUSH", "q2", "y"]);
    assert_eq!(ctl.cmds(&["LLEN", "q"]), ":1\r\n");
    assert_eq!(ctl.cmds(&["LLEN", "q2"]), ":1\r\n");
}

#[test]
fn client_unblock_with_timeout_or_error() {
    let srv = ServerProc::start(&[]);
    let mut ctl = srv.conn();
    let mut w = srv.conn();
    let id = w.cmds(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim().to_string();
    assert_eq!(ctl.cmds(&["CLIENT", "UNBLOCK", &id]), ":0\r\n");

    send(&mut w, &["BLPOP", "q", "0"]);
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmds(&["CLIENT", "UNBLOCK", &id]), ":1\r\n");
    assert_eq!(read(&mut w), "*-1\r\n");

    send(&mut w, &["BRPOPLPUSH", "q", "d", "0"]);
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmds(&["CLIENT", "UNBLOCK", &id, "timeout"]), ":1\r\n");
    assert_eq!(read(&mut w), "*-1\r\n");

    send(&mut w, &["BLMPOP", "0", "1", "q", "left"]);
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmds(&["CLIENT", "UNBLOCK", &id, "ERROR"]), ":1\r\n");
    assert_eq!(
        read(&mut w),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    wait_blocked(&mut ctl, 0);
    assert!(ctl
        .cmds(&["INFO", "errorstats"])
        .contains("errorstat_UNBLOCKED:count=1"));
    // The unblocked client works normally, and an element pushed later is
    // not taken by anyone.
    assert_eq!(w.cmds(&["PING"]), "+PONG\r\n");
    ctl.cmd(&["RPUSH", "q", "x"]);
    assert_eq!(ctl.cmds(&["LLEN", "q"]), ":1\r\n");
}

#[test]
fn pipelined_commands_wait_until_unblocked() {
    let srv = ServerProc::start(&[]);
    let mut ctl = srv.conn();
    let mut w = srv.conn();
    let mut pipeline = encode(&[b"BLPOP", b"q", b"0"]);
    pipeline.extend(encode(&[b"RPUSH", b"after", b"1"]));
    pipeline.extend(encode(&[b"PING"]));
    w.send_raw(&pipeline);
    wait_blocked(&mut ctl, 1);
    // The commands behind BLPOP have not run.
    assert_eq!(ctl.cmds(&["EXISTS", "after"]), ":0\r\n");
    ctl.cmd(&["RPUSH", "q", "x"]);
    assert_eq!(read(&mut w), pair("q", "x"));
    assert_eq!(read(&mut w), ":1\r\n");
    assert_eq!(read(&mut w), "+PONG\r\n");
    assert_eq!(ctl.cmds(&["EXISTS", "after"]), ":1\r\n");

    // A waiter is served right after the command that pushed, before the
    // pusher's next pipelined command: that LPOP finds nothing.
    send(&mut w, &["BLPOP", "q", "0"]);
    wait_blocked(&mut ctl, 1);
    let mut p = encode(&[b"RPUSH", b"q", b"y"]);
    p.extend(encode(&[b"LPOP", b"q"]));
    ctl.send_raw(&p);
    assert_eq!(read(&mut ctl), ":1\r\n");
    assert_eq!(read(&mut ctl), "$-1\r\n");
    assert_eq!(read(&mut w), pair("q", "y"));
}

#[test]
fn blmove_chain_and_blmpop_count() {
    let srv = ServerProc::start(&[]);
    let mut ctl = srv.conn();
    let mut a = srv.conn();
    let mut b = srv.conn();
    let mut c = srv.conn();
    send(&mut a, &["BLMOVE", "k1", "k2", "left", "right", "0"]);
    wait_blocked(&mut ctl, 1);
    send(&mut b, &["BRPOPLPUSH", "k2", "k3", "0"]);
    wait_blocked(&mut ctl, 2);
    send(&mut c, &["BLPOP", "k3", "0"]);
    wait_blocked(&mut ctl, 3);
    assert_eq!(ctl.cmds(&["RPUSH", "k1", "x"]), ":1\r\n");
    assert_eq!(read(&mut a), bulk("x"));
    assert_eq!(read(&mut b), bulk("x"));
    assert_eq!(read(&mut c), pair("k3", "x"));
    wait_blocked(&mut ctl, 0);
    assert_eq!(ctl.cmds(&["EXISTS", "k1", "k2", "k3"]), ":0\r\n");

    // BLMPOP with COUNT takes up to COUNT from the key that got elements.
    send(
        &mut a,
        &["BLMPOP", "0", "2", "m1", "m2", "right", "count", "2"],
    );
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["RPUSH", "m2", "1", "2", "3"]);
    assert_eq!(
        read(&mut a),
        "*2\r\n$2\r\nm2\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n"
    );
    assert_eq!(ctl.cmds(&["LRANGE", "m2", "0", "-1"]), "*1\r\n$1\r\n1\r\n");

    // A client blocked on two keys is served once, by the first that gets
    // a value, and then waits on neither.
    send(&mut a, &["BRPOP", "x1", "x2", "0"]);
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["RPUSH", "x2", "v"]);
    assert_eq!(read(&mut a), pair("x2", "v"));
    ctl.cmd(&["RPUSH", "x1", "w"]);
    assert_eq!(ctl.cmds(&["LLEN", "x1"]), ":1\r\n");
}

#[test]
fn idle_timeout_spares_blocked_clients() {
    let srv = ServerProc::start(&["--timeout", "1"]);
    let mut ctl = srv.conn();
    let mut w = srv.conn();
    send(&mut w, &["BLPOP", "q", "0"]);
    wait_blocked(&mut ctl, 1);
    // Well past the 1 s idle timeout (the cron sweep runs every 100 ms),
    // polling keeps `ctl` itself active.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2500) {
        assert_eq!(blocked_clients(&mut ctl), 1);
        std::thread::sleep(Duration::from_millis(100));
    }
    ctl.cmd(&["RPUSH", "q", "x"]);
    assert_eq!(read(&mut w), pair("q", "x"));
    // Being served counts as activity: the client is not closed as idle
    // right after its long wait.
    assert_eq!(w.cmds(&["PING"]), "+PONG\r\n");
}

#[test]
fn pushes_inside_exec_wake_waiters_after_exec() {
    let srv = ServerProc::start(&[]);
    let mut ctl = srv.conn();
    let mut w = srv.conn();
    send(&mut w, &["BLPOP", "q", "0"]);
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmds(&["MULTI"]), "+OK\r\n");
    assert_eq!(ctl.cmds(&["RPUSH", "q", "a"]), "+QUEUED\r\n");
    assert_eq!(ctl.cmds(&["RPUSH", "q", "b"]), "+QUEUED\r\n");
    assert_eq!(ctl.cmds(&["LPOP", "q"]), "+QUEUED\r\n");
    // The transaction runs as a whole: its own LPOP sees both elements;
    // the waiter is served after EXEC, from what is left.
    assert_eq!(ctl.cmds(&["EXEC"]), "*3\r\n:1\r\n:2\r\n$1\r\na\r\n");
    assert_eq!(read(&mut w), pair("q", "b"));
    wait_blocked(&mut ctl, 0);
}

/// The keyspace events of list commands (keyevent channel, list and
/// generic classes), including those raised when blocked clients are
/// served, in the order Redis 7.0 raises them.
fn list_events(srv: &ServerProc) -> Vec<String> {
    let mut ctl = srv.conn();
    ctl.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Elg"]);
    let mut sub = srv.conn();
    sub.cmd(&["PSUBSCRIBE", "__keyevent@0__:*"]);
    let script: &[&[&str]] = &[
        &["RPUSH", "l", "a", "b", "c", "d"],
        &["LPUSHX", "nokey", "a"],
        &["LPUSH", "l", "z"],
        &["LINSERT", "l", "before", "a", "y"],
        &["LINSERT", "l", "before", "nosuch", "y"],
        &["LSET", "l", "0", "x"],
        &["LREM", "l", "0", "nosuch"],
        &["LREM", "l", "1", "y"],
        &["LPOP", "l", "0"],
        &["LPOP", "l"],
        &["RPOP", "l", "2"],
        &["LTRIM", "l", "0", "-1"],
        &["LMOVE", "l", "m", "left", "right"],
        &["RPOPLPUSH", "m", "m"],
        &["LMPOP", "2", "nokey", "m", "left", "count", "5"],
        &["LTRIM", "l", "1", "0"],
        &["RPUSH", "t", "1"],
        &["BLPOP", "t", "0"],
    ];
    for cmd in script {
        ctl.cmd(cmd);
    }
    // Blocked clients served: BLPOP, then BLMOVE.
    let mut w = srv.conn();
    send(&mut w, &["BLPOP", "bq", "0"]);
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["RPUSH", "bq", "v"]);
    assert_eq!(read(&mut w), pair("bq", "v"));
    send(&mut w, &["BLMOVE", "bs", "bd", "right", "left", "0"]);
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["RPUSH", "bs", "v"]);
    assert_eq!(read(&mut w), bulk("v"));
    ctl.cmd(&["RPUSH", "sentinel", "x"]);
    let mut events = Vec::new();
    loop {
        // *4 pmessage pattern channel key
        let msg = read(&mut sub);
        let parts: Vec<&str> = msg.split("\r\n").collect();
        let (channel, key) = (parts[6], parts[8]);
        if key == "sentinel" {
            break;
        }
        events.push(format!("{channel} {key}"));
        assert!(events.len() < 1000, "no sentinel event");
    }
    events
}

#[test]
fn keyspace_events_match_redis() {
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    let got = list_events(&ours);
    let want = list_events(&theirs);
    assert_eq!(got, want);
    assert!(want.len() > 20, "{want:?}");
}

/// Blocking pops reach the AOF as their effect (LPOP/RPOP [count],
/// LMOVE), never as a command that could block on replay, whether they
/// popped at once or were served later; the replay rebuilds the lists.
#[test]
fn blocking_pops_are_logged_as_their_effect_and_replay() {
    let tmp = TempDir::new("lists-aof");
    let dir = &tmp.0;
    let args = crate::common::AOF_ALWAYS;
    let mut s = ServerProc::start_in(dir, &args);
    let mut ctl = s.conn();
    let mut w = s.conn();
    ctl.cmd(&["RPUSH", "src", "a", "b", "c", "d", "e", "f"]);
    assert_eq!(w.cmds(&["BLPOP", "src", "0"]), pair("src", "a"));
    assert_eq!(
        w.cmds(&["BLMPOP", "0", "1", "src", "right", "count", "2"]),
        "*2\r\n$3\r\nsrc\r\n*2\r\n$1\r\nf\r\n$1\r\ne\r\n"
    );
    assert_eq!(w.cmds(&["BRPOPLPUSH", "src", "dst", "0"]), bulk("d"));
    assert_eq!(
        w.cmds(&["LMPOP", "1", "src", "left", "count", "1"]),
        "*2\r\n$3\r\nsrc\r\n*1\r\n$1\r\nb\r\n"
    );
    send(&mut w, &["BLPOP", "q", "0"]);
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["RPUSH", "q", "x", "y"]);
    assert_eq!(read(&mut w), pair("q", "x"));
    send(&mut w, &["BLMOVE", "s2", "d2", "left", "right", "0"]);
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["RPUSH", "s2", "z", "zz"]);
    assert_eq!(read(&mut w), bulk("z"));
    w.cmd(&["MULTI"]);
    w.cmd(&["BLPOP", "nokey", "0"]);
    assert_eq!(w.cmds(&["EXEC"]), "*1\r\n*-1\r\n");
    let keys = ["src", "dst", "q", "s2", "d2"];
    let before: Vec<String> = keys
        .iter()
        .map(|k| ctl.cmds(&["LRANGE", k, "0", "-1"]))
        .collect();
    let _ = s.child.kill();
    let _ = s.child.wait();

    let log = std::fs::read(dir.join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap();
    let text = String::from_utf8_lossy(&log).to_ascii_uppercase();
    for blocking in ["BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BLMPOP", "LMPOP"] {
        assert!(
            !text.contains(&format!("\r\n{blocking}\r\n")),
            "{blocking} logged"
        );
    }
    assert!(text.contains("LMOVE") && text.contains("RPOP"));

    let s = ServerProc::start_in(dir, &args);
    let mut c = s.conn();
    let after: Vec<String> = keys
        .iter()
        .map(|k| c.cmds(&["LRANGE", k, "0", "-1"]))
        .collect();
    assert_eq!(after, before);
    drop(s);
}
