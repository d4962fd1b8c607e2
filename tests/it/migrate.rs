//! MIGRATE end to end: keys moved between real servers over TCP, with
//! RedisLite and Debian's redis-server each as the source, compared reply
//! by reply, and the targets' contents compared; the propagated DEL on a
//! replica; GETKEYS for the KEYS form.

use crate::common::{wait_until, Conn, ServerProc};
use crate::replication::{dump, link_up, run, start_node, LIMIT};

/// Run `script` lines (`{T}` is the target's port) on `source`, logging
/// each reply; then the source's keys (databases 0..4) and, when it needs
/// no password, the target's.
fn scenario(source: &ServerProc, target: &ServerProc, script: &[&str], open: bool) -> Vec<String> {
    let mut c = Conn::connect(source.port);
    let port = target.port.to_string();
    let mut out = Vec::new();
    for line in script {
        let args: Vec<String> = line
            .split(' ')
            .map(|w| match w {
                "{T}" => port.clone(),
                "''" => String::new(),
                w => w.to_string(),
            })
            .collect();
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let reply = c.cmd(&refs);
        out.push(format!("{line} -> {}", String::from_utf8_lossy(&reply)));
    }
    if open {
        out.push(format!("target: {:?}", dump(target)));
    }
    out.push(format!("source: {:?}", dump(source)));
    out
}

fn same_as_redis(target_args: &[&str], script: &[&str]) {
    let ours = {
        let s = start_node(false, &[]);
        let t = start_node(true, target_args);
        scenario(&s, &t, script, target_args.is_empty())
    };
    let theirs = {
        let s = start_node(true, &[]);
        let t = start_node(true, target_args);
        scenario(&s, &t, script, target_args.is_empty())
    };
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(o, t);
    }
    assert_eq!(ours.len(), theirs.len());
}

#[test]
fn migrate_moves_keys_as_redis_does() {
    same_as_redis(
        &[],
        &[
            "SET s v",
            "RPUSH l a b c",
            "HSET h f v",
            "SADD set m",
            "ZADD z 1 m",
            "SET ttl v EX 1000",
            "MIGRATE 127.0.0.1 {T} s 0 5000",
            "EXISTS s",
            "MIGRATE 127.0.0.1 {T} nosuch 0 5000",
            // The target has it now: BUSYKEY, and the source keeps it.
            "SET s again",
            "MIGRATE 127.0.0.1 {T} s 0 5000",
            "GET s",
            "MIGRATE 127.0.0.1 {T} s 0 5000 REPLACE",
            "EXISTS s",
            // COPY leaves the source key; another database.
            "MIGRATE 127.0.0.1 {T} l 2 5000 COPY",
            "LLEN l",
            // Back to database 0 on the cached connection (SELECT again).
            "MIGRATE 127.0.0.1 {T} '' 0 5000 KEYS h set nosuch z",
            "EXISTS h set z",
            "MIGRATE 127.0.0.1 {T} '' 0 5000 KEYS nosuch1 nosuch2",
            "MIGRATE 127.0.0.1 {T} ttl 3 5000 COPY REPLACE",
            "MIGRATE 127.0.0.1 {T} ttl 3 5000 COPY",
            // Argument errors.
            "MIGRATE 127.0.0.1 {T} k 0 5000 KEYS a",
            "MIGRATE 127.0.0.1 {T} k 0 x",
            "MIGRATE 127.0.0.1 {T} k x 5000",
            "MIGRATE 127.0.0.1 {T} k 0 5000 foo",
            "MIGRATE 127.0.0.1 {T} k 0 5000 AUTH",
            "MIGRATE 127.0.0.1 {T} k 0 5000 AUTH2 u",
            "MIGRATE 127.0.0.1 {T} k 0",
            // A port where nothing listens (a refused connect is reported
            // as a write error, as Redis does).
            "SET gone v",
            "MIGRATE 127.0.0.1 1 gone 0 1000",
            "EXISTS gone",
            "COMMAND GETKEYS MIGRATE 127.0.0.1 1 '' 0 5 KEYS a b",
            "COMMAND GETKEYS MIGRATE 127.0.0.1 1 k 0 5",
            "COMMAND GETKEYS MIGRATE 127.0.0.1 1 '' 0 5 AUTH keys KEYS a",
        ],
    );
}

#[test]
fn migrate_authenticates_to_the_target_as_redis_does() {
    same_as_redis(
        &["--requirepass", "sekret"],
        &[
            "SET a 1",
            "MIGRATE 127.0.0.1 {T} a 0 5000",
            "EXISTS a",
            "MIGRATE 127.0.0.1 {T} a 0 5000 AUTH wrong",
            "MIGRATE 127.0.0.1 {T} a 0 5000 AUTH sekret",
            "EXISTS a",
            "SET b 2",
            "MIGRATE 127.0.0.1 {T} b 0 5000 AUTH2 default sekret",
            "MIGRATE 127.0.0.1 {T} '' 0 5000 AUTH2 default wrong KEYS b",
            "EXISTS b",
        ],
    );
}

#[test]
fn migrate_to_redislite_and_the_deletion_reaches_replicas() {
    // RedisLite on both ends; the source's replica sees the DEL of the
    // moved keys (MIGRATE is propagated as DEL), none for COPY.
    let source = start_node(false, &[]);
    let target = start_node(false, &[]);
    let port = source.port.to_string();
    let replica = start_node(false, &["--replicaof", "127.0.0.1", &port]);
    link_up(&replica);
    run(&source, &["SET", "moved", "1"]);
    run(&source, &["SET", "copied", "2"]);
    run(&source, &["ZADD", "z", "1", "a", "2", "b"]);
    let t = target.port.to_string();
    assert_eq!(
        run(
            &source,
            &[
                "MIGRATE",
                "127.0.0.1",
                &t,
                "",
                "0",
                "5000",
                "KEYS",
                "moved",
                "z"
            ]
        ),
        redis::Value::Okay
    );
    assert_eq!(
        run(
            &source,
            &["MIGRATE", "127.0.0.1", &t, "copied", "0", "5000", "COPY"]
        ),
        redis::Value::Okay
    );
    assert!(wait_until(LIMIT, || dump(&replica) == dump(&source)));
    assert_eq!(
        dump(&replica),
        vec!["0 copied string Some([50]) ttl=false".to_string()]
    );
    assert_eq!(dump(&target).len(), 3);
}
