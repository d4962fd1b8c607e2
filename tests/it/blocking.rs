//! Blocked clients where families and server state meet: list and sorted
//! set waiters on one key (FIFO order, which key creations wake whom),
//! WAIT as a blocked client (INFO, CLIENT LIST, CLIENT UNBLOCK), and
//! REPLICAOF turning a master with blocked clients into a replica.
//!
//! Each scenario runs on RedisLite and on Debian's redis-server 7.0 and
//! the two transcripts must be equal; the expected transcript is also
//! written out, so a test fails on its own if the reference changes.
//! Conditions are polled (INFO clients `blocked_clients`), never slept on.

use crate::common::{info_str, send, wait_blocked, wait_until, Conn, ServerProc};
use crate::replication::{converges, link_up, LIMIT};

fn read(c: &mut Conn) -> String {
    String::from_utf8_lossy(&c.read_reply()).into_owned()
}

fn client_id(c: &mut Conn) -> String {
    c.cmds(&["CLIENT", "ID"])
        .trim_start_matches(':')
        .trim()
        .to_string()
}

/// Run `scenario` on a fresh RedisLite and a fresh redis-server; their
/// transcripts must match, and RedisLite's is returned.
fn same_as_redis(args: &[&str], scenario: impl Fn(&ServerProc) -> Vec<String>) -> Vec<String> {
    let ours = scenario(&ServerProc::start(args));
    let theirs = scenario(&ServerProc::start_reference(args));
    assert_eq!(ours, theirs, "redislite vs redis-server");
    ours
}

/// A WAIT that cannot be satisfied blocks its client the way BLPOP does:
/// INFO counts it in `blocked_clients` and CLIENT LIST flags it `b`.
#[test]
fn a_client_in_wait_counts_as_blocked() {
    let seen = same_as_redis(&[], |srv| {
        let mut ctl = srv.conn();
        let mut w = srv.conn();
        send(&mut w, &["WAIT", "1", "0"]);
        wait_blocked(&mut ctl, 1);
        let list = ctl.cmds(&["CLIENT", "LIST"]);
        let flags = list
            .lines()
            .find(|l| l.contains("cmd=wait"))
            .and_then(|l| l.split_whitespace().find(|f| f.starts_with("flags=")))
            .unwrap_or("no WAIT client")
            .to_string();
        vec![flags]
    });
    assert_eq!(seen, vec!["flags=b"]);
}

/// The offset replica 0 acknowledged, and the master's own offset.
fn acked_and_master_offsets(ctl: &mut Conn) -> (String, String) {
    let acked = info_str(ctl, "replication", "slave0")
        .and_then(|v| {
            v.split(',')
                .find_map(|f| f.strip_prefix("offset=").map(str::to_string))
        })
        .unwrap_or_default();
    let own = info_str(ctl, "replication", "master_repl_offset").unwrap_or_default();
    (acked, own)
}

/// CLIENT UNBLOCK ends a WAIT as it ends BLPOP: TIMEOUT (the default)
/// answers WAIT's own reply, the replicas that acknowledged so far;
/// ERROR answers -UNBLOCKED. Input pipelined after the WAIT runs then.
#[test]
fn client_unblock_ends_a_wait() {
    let seen = same_as_redis(&[], |srv| {
        let replica = ServerProc::start(&["--replicaof", "127.0.0.1", &srv.port.to_string()]);
        link_up(&replica);
        let mut ctl = srv.conn();
        let mut out = vec![ctl.cmds(&["SET", "k", "v"])];
        out.push(ctl.cmds(&["WAIT", "1", "0"]));
        let mut w = srv.conn();
        let id = client_id(&mut w);
        out.push(ctl.cmds(&["CLIENT", "UNBLOCK", &id]));
        for mode in ["TIMEOUT", "ERROR"] {
            send(&mut w, &["WAIT", "2", "0"]);
            send(&mut w, &["PING"]);
            wait_blocked(&mut ctl, 1);
            // Once the replica acknowledged everything, the count a
            // TIMEOUT answers is 1 whatever offset the WAIT waits for.
            assert!(
                wait_until(LIMIT, || {
                    let (acked, own) = acked_and_master_offsets(&mut ctl);
                    acked == own
                }),
                "the replica never acknowledged the master's offset"
            );
            out.push(ctl.cmds(&["CLIENT", "UNBLOCK", &id, mode]));
            out.push(read(&mut w));
            out.push(read(&mut w));
            wait_blocked(&mut ctl, 0);
        }
        out.push(ctl.cmds(&["CLIENT", "UNBLOCK", &id]));
        out.push(info_str(&mut ctl, "errorstats", "errorstat_UNBLOCKED").unwrap_or_default());
        out
    });
    assert_eq!(
        seen,
        vec![
            "+OK\r\n",
            ":1\r\n",
            ":0\r\n",
            ":1\r\n",
            ":1\r\n",
            "+PONG\r\n",
            ":1\r\n",
            "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n",
            "+PONG\r\n",
            ":0\r\n",
            "count=1",
        ]
    );
}

/// The `calls=..,failed_calls=..` part of a commandstats line.
fn call_counts(c: &mut Conn, cmd: &str) -> String {
    info_str(c, "commandstats", &format!("cmdstat_{cmd}"))
        .map(|v| {
            v.split(',')
                .filter(|f| f.starts_with("calls=") || f.starts_with("failed_calls="))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// What CLIENT UNBLOCK costs in commandstats, as Redis 7.0 counts it: the
/// unblocked command (BLPOP, or WAIT counted when it ran) gets a failed
/// call with TIMEOUT as with ERROR, a real timeout does not, and the
/// CLIENT UNBLOCK that sent an -UNBLOCKED error fails too.
#[test]
fn client_unblock_counts_failed_calls_as_redis() {
    let seen = same_as_redis(&[], |srv| {
        let mut ctl = srv.conn();
        let mut w = srv.conn();
        let id = client_id(&mut w);
        let mut out = vec![w.cmds(&["BLPOP", "nokey", "0.01"])];
        for cmd in [["BLPOP", "nokey", "0"], ["WAIT", "1", "0"]] {
            for mode in ["TIMEOUT", "ERROR"] {
                send(&mut w, &cmd);
                wait_blocked(&mut ctl, 1);
                out.push(ctl.cmds(&["CLIENT", "UNBLOCK", &id, mode]));
                out.push(read(&mut w));
                wait_blocked(&mut ctl, 0);
            }
        }
        for cmd in ["blpop", "wait", "client|unblock"] {
            out.push(call_counts(&mut ctl, cmd));
        }
        out
    });
    assert_eq!(
        seen,
        vec![
            "*-1\r\n",
            ":1\r\n",
            "*-1\r\n",
            ":1\r\n",
            "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n",
            ":1\r\n",
            ":0\r\n",
            ":1\r\n",
            "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n",
            "calls=3,failed_calls=2",
            "calls=2,failed_calls=2",
            "calls=4,failed_calls=2",
        ]
    );
}

/// REPLICAOF on a master with blocked clients: they would otherwise be
/// served later by the master's stream and pop on the replica only, so
/// the datasets would differ. Redis 7.0 answers every one of them (key
/// waiters and WAIT alike) -UNBLOCKED and closes the connection; input
/// they pipelined never runs.
#[test]
fn replicaof_unblocks_and_closes_blocked_clients() {
    let seen = same_as_redis(&[], |srv| {
        let master = ServerProc::start(&["--repl-diskless-sync-delay", "0"]);
        let mut ctl = srv.conn();
        let mut waiters: Vec<Conn> = Vec::new();
        for cmd in [
            &["BLPOP", "l", "0"][..],
            &["BZPOPMIN", "z", "0"][..],
            &["BLMOVE", "l2", "d", "LEFT", "RIGHT", "0"][..],
            &["WAIT", "1", "0"][..],
        ] {
            let mut w = srv.conn();
            send(&mut w, cmd);
            send(&mut w, &["PING"]);
            waiters.push(w);
            wait_blocked(&mut ctl, waiters.len());
        }
        let mut out = vec![ctl.cmds(&["REPLICAOF", "127.0.0.1", &master.port.to_string()])];
        for w in &mut waiters {
            out.push(read(w));
            out.push(if w.is_closed_within(LIMIT) {
                "closed".to_string()
            } else {
                "open".to_string()
            });
        }
        wait_blocked(&mut ctl, 0);
        out.push(info_str(&mut ctl, "errorstats", "errorstat_UNBLOCKED").unwrap_or_default());
        // The unblocked commands count as calls that did not fail; the
        // REPLICAOF that sent the errors fails.
        for cmd in ["blpop", "wait", "replicaof"] {
            out.push(call_counts(&mut ctl, cmd));
        }
        // What the master writes reaches the former waiters' keys on the
        // replica untouched.
        let mut m = master.conn();
        m.cmd(&["RPUSH", "l", "x"]);
        m.cmd(&["RPUSH", "l2", "y"]);
        m.cmd(&["ZADD", "z", "1", "a"]);
        link_up(srv);
        converges(&master, srv);
        out.push(ctl.cmds(&["LRANGE", "l", "0", "-1"]));
        out.push(ctl.cmds(&["ZCARD", "z"]));
        out
    });
    let unblocked =
        "-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)\r\n";
    let mut expected = vec!["+OK\r\n".to_string()];
    for _ in 0..4 {
        expected.push(unblocked.to_string());
        expected.push("closed".to_string());
    }
    expected.push("count=4".to_string());
    for counts in [
        "calls=1,failed_calls=0",
        "calls=1,failed_calls=0",
        "calls=1,failed_calls=1",
    ] {
        expected.push(counts.to_string());
    }
    expected.push("*1\r\n$1\r\nx\r\n".to_string());
    expected.push(":1\r\n".to_string());
    assert_eq!(seen, expected);
}

/// Waiters of both families on one key are served in the order they
/// blocked, among those the key's current type can serve: a sorted-set
/// waiter passed over by a list push keeps its place ahead of a later
/// sorted-set waiter.
#[test]
fn list_and_zset_waiters_on_one_key_keep_fifo_order() {
    let seen = same_as_redis(&[], |srv| {
        let mut ctl = srv.conn();
        let mut waiters: Vec<Conn> = Vec::new();
        for cmd in [
            &["BZPOPMIN", "k", "0"][..],
            &["BLPOP", "k", "0"][..],
            &["BZPOPMIN", "k", "0"][..],
            &["BRPOP", "k", "0"][..],
            &["BZPOPMAX", "k", "0"][..],
        ] {
            let mut w = srv.conn();
            send(&mut w, cmd);
            waiters.push(w);
            wait_blocked(&mut ctl, waiters.len());
        }
        // One element: the first list waiter takes it, the key goes.
        let mut out = vec![ctl.cmds(&["LPUSH", "k", "v"])];
        wait_blocked(&mut ctl, 4);
        // One member at a time: the first sorted-set waiter, then the
        // next one.
        out.push(ctl.cmds(&["ZADD", "k", "1", "m"]));
        wait_blocked(&mut ctl, 3);
        out.push(ctl.cmds(&["ZADD", "k", "2", "n"]));
        wait_blocked(&mut ctl, 2);
        out.push(ctl.cmds(&["RPUSH", "k", "b"]));
        wait_blocked(&mut ctl, 1);
        out.push(ctl.cmds(&["ZADD", "k", "3", "o"]));
        wait_blocked(&mut ctl, 0);
        for w in &mut waiters {
            out.push(read(w));
        }
        out
    });
    assert_eq!(
        seen,
        vec![
            ":1\r\n",
            ":1\r\n",
            ":1\r\n",
            ":1\r\n",
            ":1\r\n",
            "*3\r\n$1\r\nk\r\n$1\r\nm\r\n$1\r\n1\r\n",
            "*2\r\n$1\r\nk\r\n$1\r\nv\r\n",
            "*3\r\n$1\r\nk\r\n$1\r\nn\r\n$1\r\n2\r\n",
            "*2\r\n$1\r\nk\r\n$1\r\nb\r\n",
            "*3\r\n$1\r\nk\r\n$1\r\no\r\n$1\r\n3\r\n",
        ]
    );
}

/// Only a key's creation wakes its waiters (Redis 7.0's dbAdd), whatever
/// command creates it. Overwriting an existing key (SET, ZUNIONSTORE,
/// SUNIONSTORE: dbOverwrite) wakes nobody, even when the new value is
/// of the waited-for type, and neither does adding to it afterwards; a
/// waiter whose type the new key does not hold keeps waiting.
#[test]
fn overwriting_a_key_wakes_no_waiter() {
    let seen = same_as_redis(&[], |srv| {
        let mut ctl = srv.conn();
        let mut out = Vec::new();
        // A command's reply, then how many clients are still blocked
        // (waiters are served before the reply is written).
        fn blocked(ctl: &mut Conn, out: &mut Vec<String>, cmd: &[&str]) {
            out.push(ctl.cmds(cmd));
            out.push(info_str(ctl, "clients", "blocked_clients").unwrap_or_default());
        }
        ctl.cmd(&["ZADD", "src", "1", "a"]);
        ctl.cmd(&["SADD", "set", "s"]);
        let mut z = srv.conn();
        send(&mut z, &["BZPOPMIN", "z", "0"]);
        wait_blocked(&mut ctl, 1);
        blocked(&mut ctl, &mut out, &["SET", "z", "x"]);
        blocked(&mut ctl, &mut out, &["ZUNIONSTORE", "z", "1", "src"]);
        blocked(&mut ctl, &mut out, &["ZADD", "z", "2", "b"]);
        blocked(&mut ctl, &mut out, &["SUNIONSTORE", "z", "set"]);
        blocked(&mut ctl, &mut out, &["ZUNIONSTORE", "z", "1", "src"]);
        blocked(&mut ctl, &mut out, &["DEL", "z"]);
        // Created (here by ZUNIONSTORE): served.
        blocked(&mut ctl, &mut out, &["ZUNIONSTORE", "z", "1", "src"]);
        out.push(read(&mut z));

        // A list waiter when the key becomes a sorted set, then is
        // overwritten by a string, then created as a list.
        let mut l = srv.conn();
        send(&mut l, &["BLPOP", "k", "0"]);
        wait_blocked(&mut ctl, 1);
        blocked(&mut ctl, &mut out, &["ZUNIONSTORE", "k", "1", "src"]);
        blocked(&mut ctl, &mut out, &["SET", "k", "x"]);
        blocked(&mut ctl, &mut out, &["DEL", "k"]);
        blocked(&mut ctl, &mut out, &["ZADD", "k", "1", "a"]);
        blocked(&mut ctl, &mut out, &["DEL", "k"]);
        blocked(&mut ctl, &mut out, &["LPUSH", "k", "e"]);
        out.push(read(&mut l));
        out
    });
    let zset_blocked = |reply: &str| vec![reply.to_string(), "1".to_string()];
    let mut expected = Vec::new();
    for reply in ["+OK\r\n", ":1\r\n", ":1\r\n", ":1\r\n", ":1\r\n", ":1\r\n"] {
        expected.extend(zset_blocked(reply));
    }
    expected.extend([":1\r\n".to_string(), "0".to_string()]);
    expected.push("*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n".to_string());
    for reply in [":1\r\n", "+OK\r\n", ":1\r\n", ":1\r\n", ":1\r\n"] {
        expected.extend(zset_blocked(reply));
    }
    expected.extend([":1\r\n".to_string(), "0".to_string()]);
    expected.push("*2\r\n$1\r\nk\r\n$1\r\ne\r\n".to_string());
    assert_eq!(seen, expected);
}
