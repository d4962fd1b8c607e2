//! Sharded pub/sub (Redis 7.0's SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH, PUBSUB
//! SHARDCHANNELS / SHARDNUMSUB) in standalone mode. Multi-connection
//! sessions run on RedisLite and on redis-server, and every byte each
//! connection receives (replies, confirmations, pushed messages) is
//! compared.

use crate::common::{info_u64, wait_until, Conn, ServerProc};
use crate::differential::check;
use std::time::Duration;

#[test]
fn sharded_pubsub_single_replies_match_redis() {
    check(
        r#"
        SSUBSCRIBE
        SPUBLISH ch
        SPUBLISH ch hello extra
        SPUBLISH ch hello
        SUNSUBSCRIBE
        SUNSUBSCRIBE nothere
        PUBSUB SHARDCHANNELS
        PUBSUB SHARDCHANNELS a*
        PUBSUB SHARDCHANNELS a b
        pubsub shardchannels a b
        PUBSUB SHARDNUMSUB
        PUBSUB SHARDNUMSUB a b
        PUBSUB NUMSUB a b
        COMMAND GETKEYS SPUBLISH ch msg
        COMMAND GETKEYS SSUBSCRIBE a b
        COMMAND GETKEYS SUNSUBSCRIBE a
        MULTI
        SSUBSCRIBE q
        SUNSUBSCRIBE q
        SPUBLISH q m
        EXEC
        ~HELLO 3
        PUBSUB NUMSUB a b
        PUBSUB SHARDNUMSUB a b
        PUBSUB SHARDCHANNELS
        SUNSUBSCRIBE
        "#,
    );
}

/// Send one command and read `n` replies/pushes, as raw text.
fn exchange(c: &mut Conn, args: &[&str], n: usize) -> Vec<String> {
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    c.send(&refs);
    let mut out = vec![args.join(" ")];
    out.extend((0..n).map(|_| String::from_utf8_lossy(&c.read_reply()).into_owned()));
    out
}

/// A subscriber and a publisher: shard confirmations and their counts
/// (kept apart from channel + pattern counts), `smessage` delivery, the
/// two namespaces not reaching each other, the RESP2 subscribed mode
/// lasting while only shard subscriptions remain, SUNSUBSCRIBE without
/// arguments, RESET, and disconnect cleanup.
fn resp2_session(s: &ServerProc) -> Vec<String> {
    let mut sub = s.conn();
    let mut publ = s.conn();
    let mut log = Vec::new();
    log.extend(exchange(&mut sub, &["SUBSCRIBE", "c1"], 1));
    log.extend(exchange(&mut sub, &["SSUBSCRIBE", "s1", "s2"], 2));
    log.extend(exchange(&mut sub, &["PSUBSCRIBE", "s*"], 1));
    log.extend(exchange(&mut sub, &["SSUBSCRIBE", "s1"], 1));
    // SPUBLISH reaches the shard subscriber only, not the pattern `s*`.
    log.extend(exchange(&mut publ, &["SPUBLISH", "s1", "hello"], 1));
    log.push(String::from_utf8_lossy(&sub.read_reply()).into_owned());
    // PUBLISH on a shard channel's name reaches the pattern only; and
    // SPUBLISH on an ordinary channel's name reaches nobody.
    log.extend(exchange(&mut publ, &["PUBLISH", "s1", "p"], 1));
    log.extend(exchange(&mut publ, &["SPUBLISH", "c1", "nobody"], 1));
    log.extend(exchange(&mut publ, &["PUBLISH", "c1", "marker1"], 1));
    log.extend((0..2).map(|_| String::from_utf8_lossy(&sub.read_reply()).into_owned()));
    log.extend(exchange(&mut publ, &["PUBSUB", "SHARDCHANNELS", "s1*"], 1));
    log.extend(exchange(
        &mut publ,
        &["PUBSUB", "SHARDNUMSUB", "s1", "s2", "c1"],
        1,
    ));
    log.extend(exchange(&mut publ, &["PUBSUB", "NUMSUB", "s1", "c1"], 1));
    log.extend(exchange(&mut publ, &["PUBSUB", "CHANNELS"], 1));
    log.extend(
        exchange(&mut publ, &["INFO", "stats"], 1)
            .into_iter()
            .map(|r| {
                r.lines()
                    .filter(|l| l.starts_with("pubsub"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
    );
    log.extend(exchange(&mut sub, &["GET", "k"], 1));
    log.extend(exchange(&mut sub, &["PING", "hi"], 1));
    log.extend(exchange(&mut sub, &["SUNSUBSCRIBE", "s1", "nope"], 2));
    log.extend(exchange(&mut sub, &["UNSUBSCRIBE"], 1));
    log.extend(exchange(&mut sub, &["PUNSUBSCRIBE"], 1));
    // Only a shard subscription left: still in subscribed mode.
    log.extend(exchange(&mut sub, &["GET", "k"], 1));
    log.extend(exchange(&mut sub, &["UNSUBSCRIBE"], 1));
    log.extend(exchange(&mut sub, &["SUNSUBSCRIBE"], 1));
    log.extend(exchange(&mut sub, &["SUNSUBSCRIBE"], 1));
    log.extend(exchange(&mut sub, &["GET", "k"], 1));
    // RESET drops shard subscriptions.
    log.extend(exchange(&mut sub, &["SSUBSCRIBE", "r1"], 1));
    log.extend(exchange(&mut sub, &["RESET"], 1));
    log.extend(exchange(&mut publ, &["PUBSUB", "SHARDNUMSUB", "r1"], 1));
    log.extend(exchange(&mut publ, &["SPUBLISH", "r1", "gone"], 1));
    // A disconnected shard subscriber leaves the registry.
    log.extend(exchange(&mut sub, &["SSUBSCRIBE", "d1"], 1));
    drop(sub);
    assert!(wait_until(Duration::from_secs(5), || publ
        .cmds(&["PUBSUB", "SHARDNUMSUB", "d1"])
        .ends_with(":0\r\n")));
    log.extend(exchange(&mut publ, &["SPUBLISH", "d1", "gone"], 1));
    log
}

#[test]
fn sharded_pubsub_resp2_session_matches_redis() {
    let ours = ServerProc::start(&["--save", ""]);
    let theirs = ServerProc::start_reference(&[]);
    let (a, b) = (resp2_session(&ours), resp2_session(&theirs));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    assert_eq!(a.len(), b.len());
}

fn resp3_session(s: &ServerProc) -> Vec<String> {
    let mut sub = s.conn();
    let mut publ = s.conn();
    sub.cmd(&["HELLO", "3"]);
    let mut log = Vec::new();
    log.extend(exchange(&mut sub, &["SSUBSCRIBE", "r1"], 1));
    log.extend(exchange(&mut sub, &["PSUBSCRIBE", "r*"], 1));
    log.extend(exchange(&mut publ, &["SPUBLISH", "r1", "m1"], 1));
    log.push(String::from_utf8_lossy(&sub.read_reply()).into_owned());
    // RESP3: any command while subscribed.
    log.extend(exchange(&mut sub, &["GET", "k"], 1));
    log.extend(exchange(&mut sub, &["PING"], 1));
    log.extend(exchange(&mut sub, &["PUBSUB", "SHARDNUMSUB", "r1"], 1));
    log.extend(exchange(&mut sub, &["SUNSUBSCRIBE"], 1));
    log.extend(exchange(&mut sub, &["SUNSUBSCRIBE"], 1));
    log.extend(exchange(&mut sub, &["PUNSUBSCRIBE"], 1));
    log
}

#[test]
fn sharded_pubsub_resp3_session_matches_redis() {
    let ours = ServerProc::start(&["--save", ""]);
    let theirs = ServerProc::start_reference(&[]);
    assert_eq!(resp3_session(&ours), resp3_session(&theirs));
}

/// CLIENT LIST's sub/psub/ssub counts and flags, and TYPE pubsub, which
/// takes a client subscribed to shard channels only.
fn client_list_fields(s: &ServerProc) -> Vec<String> {
    let mut sub = s.conn();
    let mut other = s.conn();
    sub.send(&[b"SSUBSCRIBE", b"a", b"b"]);
    sub.read_reply();
    sub.read_reply();
    let fields = |line: &str| -> String {
        line.split(' ')
            .filter(|f| {
                ["flags=", "sub=", "psub=", "ssub=", "cmd="]
                    .iter()
                    .any(|p| f.starts_with(p))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let list = other.cmds(&["CLIENT", "LIST", "TYPE", "pubsub"]);
    let mut out: Vec<String> = list
        .lines()
        .skip(1)
        .map(fields)
        .filter(|l| !l.is_empty())
        .collect();
    sub.send(&[b"SUBSCRIBE", b"c"]);
    sub.read_reply();
    let list = other.cmds(&["CLIENT", "LIST", "TYPE", "pubsub"]);
    out.extend(list.lines().skip(1).map(fields).filter(|l| !l.is_empty()));
    sub.send(&[b"SUNSUBSCRIBE", b"a"]);
    sub.read_reply();
    out.push(fields(&String::from_utf8_lossy(&{
        sub.send(&[b"CLIENT", b"INFO"]);
        sub.read_reply()
    })));
    out
}

#[test]
fn client_list_counts_shard_subscriptions_as_redis() {
    let ours = ServerProc::start(&["--save", ""]);
    let theirs = ServerProc::start_reference(&[]);
    let got = client_list_fields(&ours);
    assert_eq!(got, client_list_fields(&theirs));
    assert!(got[0].contains("ssub=2"), "{got:?}");
}

/// ACL channel rules (&pattern) apply to shard channels: NOPERM, ACL
/// DRYRUN's text and the ACL LOG entry, as redis-server.
fn acl_session(s: &ServerProc) -> Vec<String> {
    let mut admin = s.conn();
    let mut u = s.conn();
    let mut log = Vec::new();
    log.extend(exchange(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "u",
            "on",
            "nopass",
            "+@all",
            "~*",
            "resetchannels",
            "&ok*",
        ],
        1,
    ));
    log.extend(exchange(&mut u, &["AUTH", "u", "x"], 1));
    log.extend(exchange(&mut u, &["SSUBSCRIBE", "ok1", "bad"], 1));
    log.extend(exchange(&mut u, &["SPUBLISH", "bad", "m"], 1));
    log.extend(exchange(&mut u, &["SPUBLISH", "ok2", "m"], 1));
    log.extend(exchange(&mut u, &["SUNSUBSCRIBE", "bad"], 1));
    log.extend(exchange(&mut u, &["SSUBSCRIBE", "ok1"], 1));
    log.extend(exchange(
        &mut admin,
        &["ACL", "DRYRUN", "u", "SPUBLISH", "bad", "x"],
        1,
    ));
    log.extend(exchange(
        &mut admin,
        &["ACL", "DRYRUN", "u", "SSUBSCRIBE", "ok", "bad"],
        1,
    ));
    // Key rules do not apply to shard channels (they are not keys).
    log.extend(exchange(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "k",
            "on",
            "nopass",
            "+@all",
            "resetkeys",
            "~key*",
            "allchannels",
        ],
        1,
    ));
    log.extend(exchange(
        &mut admin,
        &["ACL", "DRYRUN", "k", "SPUBLISH", "chan", "x"],
        1,
    ));
    log.extend(exchange(
        &mut admin,
        &["ACL", "DRYRUN", "k", "SSUBSCRIBE", "chan"],
        1,
    ));
    // The log entry: count, reason, context, object, username.
    let entry = admin.cmds(&["ACL", "LOG", "1"]);
    // Everything but the age and the client-info line (ids, ports).
    let mut keep = Vec::new();
    let mut skip = 0;
    for line in entry.lines() {
        if skip > 0 {
            skip -= 1;
            continue;
        }
        if line == "age-seconds" || line == "client-info" {
            skip = 2;
        }
        keep.push(line);
    }
    log.push(keep.join("|"));
    log
}

#[test]
fn acl_channel_rules_cover_shard_channels_as_redis() {
    let ours = ServerProc::start(&["--save", ""]);
    let theirs = ServerProc::start_reference(&[]);
    let got = acl_session(&ours);
    assert_eq!(got, acl_session(&theirs));
    assert!(got.iter().any(|l| l.starts_with("-NOPERM")), "{got:?}");
}

/// COMMAND INFO's name, arity, flags, key positions and categories (key
/// specs are not reported by RedisLite for any command).
#[test]
fn command_info_of_sharded_commands_matches_redis() {
    let ours = ServerProc::start(&["--save", ""]);
    let theirs = ServerProc::start_reference(&[]);
    let head = |s: &ServerProc, name: &str| -> Vec<redis::Value> {
        let mut con = s.client();
        let v: redis::Value = redis::cmd("COMMAND")
            .arg("INFO")
            .arg(name)
            .query(&mut con)
            .unwrap();
        let redis::Value::Array(outer) = v else {
            panic!("{v:?}")
        };
        let redis::Value::Array(info) = outer[0].clone() else {
            panic!("{outer:?}")
        };
        info[..7].to_vec()
    };
    for name in ["ssubscribe", "sunsubscribe", "spublish"] {
        assert_eq!(head(&ours, name), head(&theirs, name), "{name}");
    }
    let docs = |s: &ServerProc| -> String {
        let mut c = s.conn();
        let mut out = String::new();
        for name in ["ssubscribe", "sunsubscribe", "spublish"] {
            let r = c.cmds(&["COMMAND", "DOCS", name]);
            // summary, since, group: the part before `complexity`.
            let lines: Vec<&str> = r.lines().collect();
            let at = lines
                .iter()
                .position(|l| *l == "complexity")
                .unwrap_or(lines.len());
            let keep: Vec<&str> = lines[..at].iter().skip(2).copied().collect();
            out.push_str(&keep.join("\n"));
            out.push('\n');
        }
        out
    };
    let (a, b) = (docs(&ours), docs(&theirs));
    assert!(a.contains("shard channel"), "{a}");
    for line in a
        .lines()
        .filter(|l| !l.starts_with('*') && !l.starts_with('%'))
    {
        assert!(b.contains(line), "{line}");
    }
}

/// As Redis 7.0 (forceCommandPropagation PROPAGATE_REPL), SPUBLISH goes
/// to replicas, whose shard subscribers receive the message.
#[test]
fn spublish_reaches_a_replicas_shard_subscribers() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    let r = crate::replication::replica_of(&m);
    let mut sub = r.conn();
    sub.send(&[b"SSUBSCRIBE", b"rs"]);
    assert_eq!(
        String::from_utf8_lossy(&sub.read_reply()),
        "*3\r\n$10\r\nssubscribe\r\n$2\r\nrs\r\n:1\r\n"
    );
    let mut p = m.conn();
    assert_eq!(p.cmds(&["SPUBLISH", "rs", "fromMaster"]), ":0\r\n");
    assert_eq!(
        String::from_utf8_lossy(&sub.read_reply()),
        "*3\r\n$8\r\nsmessage\r\n$2\r\nrs\r\n$10\r\nfromMaster\r\n"
    );
    // Not to the AOF / dataset: the master's dirty counter is untouched.
    assert_eq!(
        info_u64(&mut p, "persistence", "rdb_changes_since_last_save"),
        0
    );
}

/// PUBLISH goes to replicas too (not to the log), as in Redis 7.0: a
/// replica's channel and pattern subscribers get the master's messages.
#[test]
fn publish_reaches_a_replicas_subscribers() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    let r = crate::replication::replica_of(&m);
    let mut sub = r.conn();
    sub.send(&[b"SUBSCRIBE", b"ch"]);
    sub.read_reply();
    sub.send(&[b"PSUBSCRIBE", b"c*"]);
    sub.read_reply();
    let mut p = m.conn();
    assert_eq!(p.cmds(&["PUBLISH", "ch", "fromMaster"]), ":0\r\n");
    assert_eq!(
        String::from_utf8_lossy(&sub.read_reply()),
        "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$10\r\nfromMaster\r\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&sub.read_reply()),
        "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$10\r\nfromMaster\r\n"
    );
    assert_eq!(
        info_u64(&mut p, "persistence", "rdb_changes_since_last_save"),
        0
    );
}

/// A subscriber of shard channels only is in the pubsub class: its output
/// buffer is bounded by client-output-buffer-limit pubsub.
#[test]
fn slow_shard_subscriber_is_disconnected_at_the_pubsub_limit() {
    let s = ServerProc::start(&["--save", ""]);
    crate::pubsub_tx::slow_subscriber_cut_at_the_pubsub_limit(
        &s,
        b"SSUBSCRIBE",
        b"SPUBLISH",
        "SHARDNUMSUB",
    );
}
