//! Replication end to end: RedisLite masters and replicas (and Debian's
//! redis-server on either side) over real TCP links. Every check polls a
//! condition; nothing here sleeps for a fixed time.

use crate::common::{wait_until, ServerProc};
use std::time::Duration;

pub const LIMIT: Duration = Duration::from_secs(20);

/// Every key of databases 0..4 with its type, value (sorted where the
/// type is unordered) and whether it has a TTL: the comparison key for
/// "the replica holds exactly the master's data".
pub fn dump(s: &ServerProc) -> Vec<String> {
    let mut con = s.client();
    let mut out = Vec::new();
    for db in 0..4 {
        let _: () = redis::cmd("SELECT").arg(db).query(&mut con).unwrap();
        let mut keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
        keys.sort();
        for k in keys {
            let t: String = redis::cmd("TYPE").arg(&k).query(&mut con).unwrap();
            let v = match t.as_str() {
                "string" => {
                    let v: Option<Vec<u8>> = redis::cmd("GET").arg(&k).query(&mut con).unwrap();
                    format!("{v:?}")
                }
                "hash" => {
                    let mut v: Vec<(Vec<u8>, Vec<u8>)> =
                        redis::cmd("HGETALL").arg(&k).query(&mut con).unwrap();
                    v.sort();
                    format!("{v:?}")
                }
                "set" => {
                    let mut v: Vec<Vec<u8>> =
                        redis::cmd("SMEMBERS").arg(&k).query(&mut con).unwrap();
                    v.sort();
                    format!("{v:?}")
                }
                "list" => {
                    let v: Vec<Vec<u8>> = redis::cmd("LRANGE")
                        .arg(&k)
                        .arg(0)
                        .arg(-1)
                        .query(&mut con)
                        .unwrap();
                    format!("{v:?}")
                }
                "none" => continue, // expired between KEYS and TYPE
                other => format!("<{other}>"),
            };
            let ttl: i64 = redis::cmd("PTTL").arg(&k).query(&mut con).unwrap();
            out.push(format!(
                "{db} {} {t} {v} ttl={}",
                String::from_utf8_lossy(&k),
                ttl > 0
            ));
        }
    }
    out
}

pub fn info(s: &ServerProc, section: &str, field: &str) -> String {
    let mut con = s.client();
    let text: String = redis::cmd("INFO").arg(section).query(&mut con).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or("")
        .to_string()
}

pub fn run(s: &ServerProc, args: &[&str]) -> redis::Value {
    let mut con = s.client();
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(&mut con).unwrap()
}

pub fn fill(m: &ServerProc) {
    let mut con = m.client();
    for i in 0..200 {
        let _: () = redis::cmd("SET")
            .arg(format!("s{i}"))
            .arg(format!("v{i}"))
            .query(&mut con)
            .unwrap();
    }
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg("x".repeat(100_000))
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg("h")
        .arg("f1")
        .arg("a")
        .arg("f2")
        .arg("b")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SADD")
        .arg("iset")
        .arg(1)
        .arg(2)
        .arg(3)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SADD")
        .arg("set")
        .arg("x")
        .arg("y")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("ttl")
        .arg("v")
        .arg("EX")
        .arg(1000)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SELECT").arg(3).query(&mut con).unwrap();
    let _: () = redis::cmd("SET")
        .arg("in3")
        .arg("three")
        .query(&mut con)
        .unwrap();
}

/// Writes after the sync: they travel as the live stream.
pub fn more_writes(m: &ServerProc, tag: &str) {
    let mut con = m.client();
    let _: () = redis::cmd("INCR").arg("counter").query(&mut con).unwrap();
    let _: () = redis::cmd("HSET")
        .arg("h")
        .arg(format!("f-{tag}"))
        .arg(tag)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SREM")
        .arg("set")
        .arg("x")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SADD")
        .arg("set")
        .arg(tag)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("EXPIRE")
        .arg("s1")
        .arg(500)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("DEL").arg("s2").query(&mut con).unwrap();
    let _: () = redis::cmd("LPUSH")
        .arg("list")
        .arg(tag)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("RPOP").arg("list").query(&mut con).unwrap();
    let _: () = redis::cmd("SELECT").arg(2).query(&mut con).unwrap();
    let _: () = redis::cmd("SET")
        .arg(format!("in2-{tag}"))
        .arg(tag)
        .query(&mut con)
        .unwrap();
}

pub fn converges(m: &ServerProc, r: &ServerProc) {
    let mut last = (Vec::new(), Vec::new());
    let ok = wait_until(LIMIT, || {
        last = (dump(m), dump(r));
        last.0 == last.1
    });
    assert!(
        ok,
        "replica differs from master:\nmaster {:?}\nreplica {:?}",
        last.0, last.1
    );
}

pub fn link_up(r: &ServerProc) {
    assert!(
        wait_until(LIMIT, || info(r, "replication", "master_link_status")
            == "up"),
        "replica link never came up"
    );
}

/// A server for replication tests, RedisLite or (`reference`) Debian's
/// redis-server: no snapshots, full syncs at once, plus `args`.
pub fn start_node(reference: bool, args: &[&str]) -> ServerProc {
    let mut all = vec!["--save", "", "--repl-diskless-sync-delay", "0"];
    all.extend_from_slice(args);
    if reference {
        ServerProc::start_reference(&all)
    } else {
        ServerProc::start(&all)
    }
}

pub fn replica_of(m: &ServerProc) -> ServerProc {
    let port = m.port.to_string();
    let r = ServerProc::start(&[
        "--save",
        "",
        "--repl-diskless-sync-delay",
        "0",
        "--replicaof",
        "127.0.0.1",
        &port,
    ]);
    link_up(&r);
    r
}

#[test]
fn replica_converges_and_streams_writes() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    fill(&m);
    let r = replica_of(&m);
    converges(&m, &r);
    assert_eq!(info(&m, "stats", "sync_full"), "1");
    assert_eq!(info(&m, "stats", "sync_partial_err"), "0");
    assert_eq!(info(&r, "replication", "role"), "slave");
    assert_eq!(info(&m, "replication", "connected_slaves"), "1");
    more_writes(&m, "live");
    converges(&m, &r);
    assert!(!dump(&r).is_empty());
    // The replica's offset reaches the master's (ACKs every second).
    assert!(wait_until(LIMIT, || {
        let mo = info(&m, "replication", "master_repl_offset");
        info(&r, "replication", "slave_repl_offset") == mo
            && info(&m, "replication", "slave0").contains(&format!("offset={mo},"))
    }));
    let slave0 = info(&m, "replication", "slave0");
    assert!(
        slave0.starts_with(&format!("ip=127.0.0.1,port={},state=online,", r.port)),
        "{slave0}"
    );
}

#[test]
fn expired_keys_are_hidden_on_the_replica_until_the_master_deletes_them() {
    let m = ServerProc::start(&[
        "--save",
        "",
        "--repl-diskless-sync-delay",
        "0",
        "--enable-debug-command",
        "yes",
    ]);
    run(&m, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    let r = replica_of(&m);
    run(&m, &["SET", "k", "v", "PX", "300"]);
    assert!(wait_until(LIMIT, || run(&r, &["DBSIZE"]) == redis::Value::Int(1)));
    // Past the deadline: a read on the replica sees nothing, but the key
    // stays until the master's DEL arrives.
    assert!(wait_until(LIMIT, || run(&r, &["GET", "k"]) == redis::Value::Nil));
    assert_eq!(run(&r, &["DBSIZE"]), redis::Value::Int(1));
    // A read on the master expires it there, which propagates a DEL.
    assert_eq!(run(&m, &["GET", "k"]), redis::Value::Nil);
    assert!(wait_until(LIMIT, || run(&r, &["DBSIZE"]) == redis::Value::Int(0)));
}

#[test]
fn killed_replica_link_continues_with_a_partial_resync() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    fill(&m);
    let r = replica_of(&m);
    converges(&m, &r);
    // Position the live stream on database 3.
    let mut con = m.client();
    let _: () = redis::cmd("SELECT").arg(3).query(&mut con).unwrap();
    let _: () = redis::cmd("SET")
        .arg("pre3")
        .arg("x")
        .query(&mut con)
        .unwrap();
    converges(&m, &r);
    let killed = run(&m, &["CLIENT", "KILL", "TYPE", "replica"]);
    assert_eq!(killed, redis::Value::Int(1));
    // Still database 3, so no SELECT precedes it in the stream: the
    // replica must continue on the database it was on.
    let _: () = redis::cmd("SET")
        .arg("still3")
        .arg("x")
        .query(&mut con)
        .unwrap();
    more_writes(&m, "after-kill");
    converges(&m, &r);
    assert!(wait_until(LIMIT, || info(&m, "stats", "sync_partial_ok") == "1"));
    assert_eq!(info(&m, "stats", "sync_full"), "1", "no second full sync");
    link_up(&r);
}

/// A reconnection attempt that fails in the handshake (here the master
/// wants a password for a while) must not cost the replica its place in
/// the stream: the next attempt continues, on the database it was on.
#[test]
fn a_failed_reconnection_keeps_the_streams_database() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    let r = replica_of(&m);
    let mut c = m.conn();
    assert_eq!(c.cmds(&["SELECT", "3"]), "+OK\r\n");
    assert_eq!(c.cmds(&["SET", "pre3", "x"]), "+OK\r\n");
    converges(&m, &r);
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "requirepass", "s3cret"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmds(&["CLIENT", "KILL", "TYPE", "replica"]), ":1\r\n");
    // The replica's next attempt connects and is refused (NOAUTH: this
    // connection set the password, so it is not refused itself).
    assert!(wait_until(LIMIT, || c
        .cmds(&["INFO", "errorstats"])
        .contains("errorstat_NOAUTH:count=")));
    assert_eq!(c.cmds(&["CONFIG", "SET", "requirepass", ""]), "+OK\r\n");
    link_up(&r);
    assert_eq!(c.cmds(&["SET", "still3", "x"]), "+OK\r\n");
    converges(&m, &r);
    assert_eq!(info(&m, "stats", "sync_full"), "1", "no second full sync");
}

#[test]
fn a_gap_larger_than_the_backlog_falls_back_to_a_full_sync() {
    let m = ServerProc::start(&[
        "--save",
        "",
        "--repl-diskless-sync-delay",
        "0",
        "--repl-backlog-size",
        "16384",
    ]);
    fill(&m);
    let port = m.port.to_string();
    let r = ServerProc::start(&[
        "--save",
        "",
        "--enable-debug-command",
        "yes",
        "--replicaof",
        "127.0.0.1",
        &port,
    ]);
    link_up(&r);
    converges(&m, &r);
    // Freeze the replica so it cannot reconnect while the gap grows past
    // the 16 KiB backlog; it keeps its replication id and offset.
    let mut sleeper = r.conn();
    sleeper.send(&[b"DEBUG", b"SLEEP", b"1"]);
    assert_eq!(
        run(&m, &["CLIENT", "KILL", "TYPE", "replica"]),
        redis::Value::Int(1)
    );
    for i in 0..100 {
        run(&m, &["SET", &format!("gap{i}"), &"y".repeat(500)]);
    }
    assert_eq!(sleeper.read_reply(), b"+OK\r\n");
    converges(&m, &r);
    assert!(wait_until(LIMIT, || info(&m, "stats", "sync_full") == "2"));
    assert_eq!(info(&m, "stats", "sync_partial_ok"), "0");
    // The first sync asked `PSYNC ? -1`; only the gap counts as an error.
    assert_eq!(info(&m, "stats", "sync_partial_err"), "1");
}

#[test]
fn wait_counts_acknowledging_replicas() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    assert_eq!(run(&m, &["WAIT", "1", "50"]), redis::Value::Int(0));
    let r1 = replica_of(&m);
    let r2 = replica_of(&m);
    run(&m, &["SET", "k", "v"]);
    assert_eq!(run(&m, &["WAIT", "2", "10000"]), redis::Value::Int(2));
    assert_eq!(
        run(&r1, &["GET", "k"]),
        redis::Value::BulkString(b"v".to_vec())
    );
    assert_eq!(
        run(&r2, &["GET", "k"]),
        redis::Value::BulkString(b"v".to_vec())
    );
    // Asking for more replicas than exist ends at the timeout with the
    // number that did acknowledge.
    run(&m, &["SET", "k", "w"]);
    assert_eq!(run(&m, &["WAIT", "3", "300"]), redis::Value::Int(2));
    // WAIT on a replica is refused, as Redis.
    let mut con = r1.client();
    let err = redis::cmd("WAIT")
        .arg(1)
        .arg(0)
        .query::<i64>(&mut con)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("WAIT cannot be used with replica instances"),
        "{err}"
    );
}

#[test]
fn replica_refuses_writes_and_replicaof_no_one_promotes() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    let r = replica_of(&m);
    let mut c = r.conn();
    assert_eq!(
        c.cmds(&["SET", "x", "1"]),
        "-READONLY You can't write against a read only replica.\r\n"
    );
    let role = c.cmds(&["ROLE"]);
    assert!(
        role.starts_with("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n"),
        "{role}"
    );
    assert!(role.contains("$9\r\nconnected\r\n"), "{role}");
    let old_id = info(&m, "replication", "master_replid");
    assert_eq!(c.cmds(&["REPLICAOF", "NO", "ONE"]), "+OK\r\n");
    assert_eq!(c.cmds(&["SET", "x", "1"]), "+OK\r\n");
    assert!(c.cmds(&["ROLE"]).starts_with("*3\r\n$6\r\nmaster\r\n"));
    assert_eq!(info(&r, "replication", "role"), "master");
    assert_eq!(info(&r, "replication", "master_replid2"), old_id);
    // The old master no longer sees it.
    assert!(wait_until(LIMIT, || info(
        &m,
        "replication",
        "connected_slaves"
    ) == "0"));
}

#[test]
fn real_redis_replica_of_redislite_converges_and_resyncs_partially() {
    // Defaults as Redis: diskless sync after a 5 s delay; the real replica
    // announces `capa eof`, so it gets the EOF-marker payload form.
    let m = ServerProc::start(&["--save", ""]);
    fill(&m);
    let port = m.port.to_string();
    let r = ServerProc::start_reference(&["--replicaof", "127.0.0.1", &port]);
    link_up(&r);
    converges_then_resyncs_partially(&m, &r);
    run(&m, &["SET", "k", "v"]);
    assert_eq!(run(&m, &["WAIT", "1", "10000"]), redis::Value::Int(1));
}

#[test]
fn redislite_replica_of_real_redis_converges_and_resyncs_partially() {
    let m = ServerProc::start_reference(&[]);
    fill(&m);
    let r = replica_of(&m);
    converges_then_resyncs_partially(&m, &r);
}

#[test]
fn promoted_replica_serves_the_other_replica_with_a_partial_resync() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    fill(&m);
    let r1 = replica_of(&m);
    let r2 = replica_of(&m);
    run(&m, &["SET", "before", "promotion"]);
    assert_eq!(run(&m, &["WAIT", "2", "10000"]), redis::Value::Int(2));
    run(&r1, &["REPLICAOF", "NO", "ONE"]);
    let port = r1.port.to_string();
    run(&r2, &["REPLICAOF", "127.0.0.1", &port]);
    link_up(&r2);
    run(&r1, &["SET", "after", "promotion"]);
    more_writes(&r1, "new-master");
    converges(&r1, &r2);
    // PSYNC2: r2 continued r1's copy of the old master's history.
    assert_eq!(info(&r1, "stats", "sync_partial_ok"), "1");
    assert_eq!(info(&r1, "stats", "sync_full"), "0");
    assert_eq!(
        info(&r2, "replication", "master_replid"),
        info(&r1, "replication", "master_replid")
    );
}

#[test]
fn chained_replica_gets_the_same_stream() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    let r1 = replica_of(&m);
    fill(&m); // leaves the stream on database 3
    converges(&m, &r1);
    let r2 = replica_of(&r1);
    // No SELECT precedes this in the stream: r2 learns the stream's
    // database from the payload's repl-stream-db.
    let mut con = m.client();
    let _: () = redis::cmd("SELECT").arg(3).query(&mut con).unwrap();
    let _: () = redis::cmd("SET")
        .arg("chained")
        .arg("x")
        .query(&mut con)
        .unwrap();
    more_writes(&m, "chained");
    converges(&m, &r2);
    assert_eq!(
        info(&r2, "replication", "master_replid"),
        info(&m, "replication", "master_replid")
    );
    assert!(wait_until(LIMIT, || {
        info(&r2, "replication", "slave_repl_offset")
            == info(&m, "replication", "master_repl_offset")
    }));
}

/// Live writes reach `r`; after its link is cut (CLIENT KILL on the
/// master) and more writes, it catches up with one partial resync and no
/// second full sync.
fn converges_then_resyncs_partially(m: &ServerProc, r: &ServerProc) {
    converges(m, r);
    more_writes(m, "live");
    converges(m, r);
    assert_eq!(
        run(m, &["CLIENT", "KILL", "TYPE", "replica"]),
        redis::Value::Int(1)
    );
    more_writes(m, "after-kill");
    converges(m, r);
    assert!(wait_until(LIMIT, || info(m, "stats", "sync_partial_ok") == "1"));
    assert_eq!(info(m, "stats", "sync_full"), "1");
}

/// A replica with `masteruser` authenticates as that ACL user (AUTH user
/// pass), the only user the master lets replicate; with `masterauth`
/// alone it is the default user, which may not. Our master with our and
/// redis-server's replicas, and our replica of redis-server.
#[test]
fn masteruser_authenticates_the_replica_as_that_acl_user() {
    for (master_is_redis, replica_is_redis) in [(false, false), (false, true), (true, false)] {
        let m = start_node(master_is_redis, &[]);
        for acl in [
            &[
                "ACL",
                "SETUSER",
                "repl",
                "on",
                ">replpw",
                "+psync",
                "+replconf",
                "+ping",
            ][..],
            &["ACL", "SETUSER", "default", "-psync", "-sync"],
        ] {
            assert_eq!(run(&m, acl), redis::Value::Okay);
        }
        fill(&m);
        let port = m.port.to_string();
        let base = ["--replicaof", "127.0.0.1", &port, "--masterauth", "replpw"];
        let with_user = [&base[..], &["--masteruser", "repl"]].concat();
        let r = start_node(replica_is_redis, &with_user);
        link_up(&r);
        converges(&m, &r);
        let clients: String = redis::cmd("CLIENT")
            .arg("LIST")
            .arg("TYPE")
            .arg("replica")
            .query(&mut m.client())
            .unwrap();
        assert!(clients.contains("user=repl"), "{clients}");
        drop(r);
        // Without the user: AUTH with the password alone is refused (the
        // default user has none), which the master counts as an error
        // reply, and the link stays down.
        let errors_before = info(&m, "errorstats", "errorstat_ERR");
        let r = start_node(replica_is_redis, &base);
        assert!(
            wait_until(LIMIT, || info(&m, "errorstats", "errorstat_ERR")
                != errors_before),
            "the master never refused the replica's AUTH"
        );
        assert_ne!(info(&r, "replication", "master_link_status"), "up");
    }
}
