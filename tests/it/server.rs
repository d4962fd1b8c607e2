//! Server and connection behaviour: INFO, CLIENT, AUTH, limits, shutdown.

use crate::common::{wait_until, ServerProc};
use std::io::Read;
use std::time::Duration;

#[test]
fn info_has_redis_sections_and_fields() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["GET", "a"]);
    c.cmd(&["GET", "b"]);
    c.cmd(&["NOSUCH"]);
    let info = c.cmds(&["INFO"]);
    for section in [
        "# Server",
        "# Clients",
        "# Memory",
        "# Persistence",
        "# Stats",
        "# Replication",
        "# CPU",
        "# Keyspace",
    ] {
        assert!(info.contains(section), "missing {section}");
    }
    for field in [
        "redis_version:7.0.15",
        "tcp_port:",
        "connected_clients:1",
        "used_memory:",
        "used_memory_rss:",
        "keyspace_hits:1",
        "keyspace_misses:1",
        "role:master",
        "db0:keys=1,expires=0",
        "errorstat_ERR:count=1",
    ] {
        assert!(info.contains(field), "missing {field} in\n{info}");
    }
    let cs = c.cmds(&["INFO", "commandstats"]);
    assert!(cs.contains("cmdstat_get:calls=2,"), "{cs}");
    assert!(cs.contains("cmdstat_set:calls=1,"), "{cs}");
    assert!(!cs.contains("# Server"));
}

#[test]
fn client_list_setname_and_kill() {
    let s = ServerProc::start(&[]);
    let mut a = s.conn();
    let mut b = s.conn();
    assert_eq!(b.cmds(&["CLIENT", "SETNAME", "victim"]), "+OK\r\n");
    let id_b = b.cmds(&["CLIENT", "ID"]);
    let id_b = id_b.trim().trim_start_matches(':').to_string();
    let list = a.cmds(&["CLIENT", "LIST"]);
    assert!(list.contains("name=victim"), "{list}");
    assert_eq!(list.matches("id=").count(), 2, "{list}");
    assert_eq!(a.cmds(&["CLIENT", "KILL", "ID", &id_b]), ":1\r\n");
    assert!(b.is_closed_within(Duration::from_secs(5)));
    let list = a.cmds(&["CLIENT", "LIST"]);
    assert!(!list.contains("name=victim"), "{list}");
}

#[test]
fn client_reply_off_and_skip() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    c.send_raw(b"CLIENT REPLY OFF\r\nSET a 1\r\nCLIENT REPLY ON\r\n");
    assert_eq!(c.read_reply(), b"+OK\r\n");
    c.send_raw(b"CLIENT REPLY SKIP\r\nGET a\r\nGET a\r\n");
    assert_eq!(c.read_reply(), b"$1\r\n1\r\n");
}

#[test]
fn requirepass_gates_commands() {
    let s = ServerProc::start(&["--requirepass", "s3cret"]);
    let mut c = s.conn();
    assert_eq!(
        c.cmds(&["GET", "a"]),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        c.cmds(&["AUTH", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(c.cmds(&["AUTH", "s3cret"]), "+OK\r\n");
    assert_eq!(c.cmds(&["GET", "a"]), "$-1\r\n");
    let mut d = s.conn();
    let hello = d.cmds(&["HELLO", "3", "AUTH", "default", "s3cret"]);
    assert!(hello.starts_with("%7"), "{hello}");
    assert_eq!(d.cmds(&["GET", "a"]), "_\r\n");
}

#[test]
fn maxclients_rejects_the_extra_connection() {
    let s = ServerProc::start(&["--maxclients", "2"]);
    let mut a = s.conn();
    let mut b = s.conn();
    assert_eq!(a.cmds(&["PING"]), "+PONG\r\n");
    assert_eq!(b.cmds(&["PING"]), "+PONG\r\n");
    let mut extra = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = Vec::new();
    let _ = extra.read_to_end(&mut buf);
    assert_eq!(buf, b"-ERR max number of clients reached\r\n");
    drop(a);
    assert!(wait_until(Duration::from_secs(5), || b
        .cmds(&["INFO", "stats"])
        .contains("rejected_connections:1\r\n")));
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let s = ServerProc::start(&["--timeout", "1"]);
    let mut c = s.conn();
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
    assert!(c.is_closed_within(Duration::from_secs(5)));
}

#[test]
fn shutdown_command_exits_zero() {
    let mut s = ServerProc::start(&[]);
    let mut c = s.conn();
    c.send_raw(b"SHUTDOWN NOSAVE\r\n");
    assert!(c.is_closed_within(Duration::from_secs(5)));
    let code = crate::common::wait_exit(&mut s.child, Duration::from_secs(10));
    assert_eq!(code, Some(0));
}

#[test]
fn sigterm_exits_zero() {
    let mut s = ServerProc::start(&[]);
    assert_eq!(s.terminate(), Some(0));
}

#[test]
fn unknown_command_text_matches_redis() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    assert_eq!(
        c.cmds(&["FOO", "a", "b"]),
        "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"
    );
    assert_eq!(
        c.cmds(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
}

#[test]
fn a_client_that_does_not_read_cannot_grow_server_memory() {
    let s = ServerProc::start(&[]);
    let mut admin = s.conn();
    let big = "x".repeat(1024 * 1024);
    admin.cmd(&["SET", "big", &big]);
    let mut greedy = s.conn();
    let n = 100;
    let mut pipeline = Vec::new();
    for _ in 0..n {
        pipeline.extend(crate::common::encode(&[b"GET", b"big"]));
    }
    greedy.send_raw(&pipeline);
    // 100 MB of replies are due; the server must hold only a bounded part.
    let mut peak = 0;
    for _ in 0..20 {
        peak = peak.max(crate::common::info_u64(&mut admin, "memory", "used_memory"));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(peak < 40 * 1024 * 1024, "used_memory reached {peak}");
    // Nothing is lost: every reply arrives once the client reads.
    for _ in 0..n {
        let r = greedy.read_reply();
        assert_eq!(r.len(), big.len() + "$1048576\r\n".len() + 2);
    }
    assert_eq!(greedy.cmds(&["PING"]), "+PONG\r\n");
}

#[test]
fn normal_output_buffer_hard_limit_disconnects() {
    let s = ServerProc::start(&[]);
    let mut admin = s.conn();
    assert_eq!(
        admin.cmds(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 4mb 0 0"
        ]),
        "+OK\r\n"
    );
    admin.cmd(&["SET", "big", &"x".repeat(1024 * 1024)]);
    let mut greedy = s.conn();
    let mut pipeline = Vec::new();
    for _ in 0..64 {
        pipeline.extend(crate::common::encode(&[b"GET", b"big"]));
    }
    greedy.send_raw(&pipeline);
    assert!(wait_until(Duration::from_secs(10), || admin
        .cmds(&["INFO", "stats"])
        .contains("client_output_buffer_limit_disconnections:1\r\n")));
    assert!(crate::common::info_u64(&mut admin, "memory", "used_memory") < 20 * 1024 * 1024);
}

/// The names in a flat array-of-bulks reply, sorted (Redis lists commands
/// in its hash table's order).
pub(crate) fn sorted_names(reply: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(reply);
    let mut names: Vec<String> = text
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.starts_with('$') && !l.is_empty())
        .map(str::to_string)
        .collect();
    names.sort();
    names
}

/// COMMAND LIST names subcommands too (`config|get`), as Redis 7.0: every
/// name we list is redis-server's but our additions (HOTKEYS; CLIENT
/// NO-TOUCH, from 7.2), a command's subcommands are exactly redis-server's
/// but for CLIENT (that addition) and where some are not implemented
/// (COMMAND GETKEYSANDFLAGS, SCRIPT's), and the filters see them (PATTERN
/// on the full name, ACLCAT by the subcommand's own categories).
#[test]
fn command_list_names_subcommands_as_redis() {
    const ADDED: [&str; 2] = ["client|no-touch", "hotkeys"];
    const PARTIAL: [&str; 3] = ["client", "command", "script"];
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    let (mut o, mut t) = (ours.conn(), theirs.conn());
    let mut our_names = sorted_names(&o.cmd(&["COMMAND", "LIST"]));
    for added in ADDED {
        assert!(our_names.iter().any(|n| n == added), "{our_names:?}");
    }
    our_names.retain(|n| !ADDED.contains(&n.as_str()));
    let their_names = sorted_names(&t.cmd(&["COMMAND", "LIST"]));
    assert!(our_names.iter().any(|n| n == "config|get"), "{our_names:?}");
    for name in &our_names {
        assert!(their_names.contains(name), "{name} is not redis-server's");
        if !name.contains('|') && !PARTIAL.contains(&name.as_str()) {
            let subs = |all: &[String]| -> Vec<String> {
                all.iter()
                    .filter(|n| n.starts_with(&format!("{name}|")))
                    .cloned()
                    .collect()
            };
            assert_eq!(subs(&our_names), subs(&their_names), "{name}");
        }
    }
    for filter in [
        ["PATTERN", "config*"],
        ["PATTERN", "*|help"],
        ["ACLCAT", "dangerous"],
    ] {
        let args = ["COMMAND", "LIST", "FILTERBY", filter[0], filter[1]];
        let mut ours = sorted_names(&o.cmd(&args));
        ours.retain(|n| !ADDED.contains(&n.as_str()));
        let theirs: Vec<String> = sorted_names(&t.cmd(&args))
            .into_iter()
            .filter(|n| our_names.contains(n))
            .collect();
        assert!(!ours.is_empty(), "{filter:?}");
        assert_eq!(ours, theirs, "{filter:?}");
    }
}

/// A standalone redis-server answers the cluster commands with "cluster
/// support disabled" (how cluster-aware clients detect standalone mode),
/// after its usual arity and subcommand checks; so do we.
#[test]
fn cluster_commands_answer_as_a_standalone_redis() {
    crate::differential::check(
        r#"
        CLUSTER INFO
        CLUSTER HELP
        CLUSTER NODES
        CLUSTER SLOTS
        CLUSTER SHARDS
        CLUSTER KEYSLOT foo
        CLUSTER KEYSLOT
        CLUSTER SETSLOT 1 NODE x
        CLUSTER nosuch
        CLUSTER
        ASKING
        READONLY
        READWRITE
        READONLY x
        COMMAND INFO asking readonly readwrite
        COMMAND GETKEYS CLUSTER INFO
        MULTI
        READONLY
        EXEC
        "#,
    );
}

/// CLIENT LIST and CLIENT INFO print the same fields in the same order as
/// redis-server 7.0 (no 7.2 lib-name / lib-ver): tools parse these lines.
#[test]
fn client_list_fields_are_redis_7_0s() {
    let names = |s: &ServerProc, args: &[&str]| -> Vec<String> {
        let mut c = s.conn();
        let line = c.cmds(args);
        let line = line.lines().nth(1).unwrap_or_default().to_string();
        line.split(' ')
            .map(|kv| kv.split('=').next().unwrap_or_default().to_string())
            .collect()
    };
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    for args in [&["CLIENT", "LIST"][..], &["CLIENT", "INFO"]] {
        let got = names(&ours, args);
        assert!(got.len() > 20, "{got:?}");
        assert_eq!(got, names(&theirs, args), "{args:?}");
    }
}

/// INFO reply_buffer_expands / reply_buffer_shrinks (Redis 7.0 fields): a
/// reply larger than the buffer a client keeps between turns grows it
/// (one expand), and once written the big buffer is released (one
/// shrink); small replies count neither.
#[test]
fn reply_buffer_expands_and_shrinks_are_counted() {
    use crate::common::info_u64;
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    let counts = |c: &mut crate::common::Conn| {
        (
            info_u64(c, "stats", "reply_buffer_expands"),
            info_u64(c, "stats", "reply_buffer_shrinks"),
        )
    };
    assert_eq!(c.cmds(&["SET", "big", &"v".repeat(1 << 20)]), "+OK\r\n");
    let before = counts(&mut c);
    for _ in 0..10 {
        c.cmd(&["GET", "missing"]);
    }
    assert_eq!(counts(&mut c), before, "small replies");
    assert_eq!(c.cmd(&["GET", "big"]).len(), (1 << 20) + 12);
    assert_eq!(counts(&mut c), (before.0 + 1, before.1 + 1));
}

/// dynamic-hz (on by default): with `hz 1` and 250 clients (more than
/// 200 per tick), INFO hz doubles to 2 while configured_hz stays 1, on
/// both servers (Redis recomputes it at its next tick); with dynamic-hz
/// off it stays 1.
#[test]
fn dynamic_hz_follows_the_client_count_as_redis() {
    use crate::common::{info_str, Conn};
    let ours = ServerProc::start(&["--hz", "1"]);
    let theirs = ServerProc::start_reference(&["--hz", "1"]);
    for srv in [&ours, &theirs] {
        let mut idle: Vec<Conn> = (0..250).map(|_| srv.conn()).collect();
        for c in idle.iter_mut() {
            assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
        }
        let mut c = srv.conn();
        assert!(
            wait_until(Duration::from_secs(5), || {
                info_str(&mut c, "server", "hz").as_deref() == Some("2")
            }),
            "hz: {:?}",
            info_str(&mut c, "server", "hz")
        );
        assert_eq!(
            info_str(&mut c, "server", "configured_hz").as_deref(),
            Some("1")
        );
        if std::ptr::eq(srv, &ours) {
            assert_eq!(c.cmds(&["CONFIG", "SET", "dynamic-hz", "no"]), "+OK\r\n");
            assert_eq!(info_str(&mut c, "server", "hz").as_deref(), Some("1"));
        }
    }
}

/// `overhead.hashtable.main` of db 0 in MEMORY STATS: the bucket arrays
/// of the keyspace table, both of them while a rehash runs.
fn main_table_overhead(c: &mut crate::common::Conn) -> i64 {
    let stats = String::from_utf8_lossy(&c.cmd(&["MEMORY", "STATS"])).into_owned();
    let at = stats
        .find("overhead.hashtable.main\r\n:")
        .unwrap_or_else(|| panic!("{stats}"));
    let rest = &stats[at + "overhead.hashtable.main\r\n:".len()..];
    rest[..rest.find('\r').unwrap()].parse().unwrap()
}

/// A burst of inserts that ends just after the keyspace table started
/// to grow leaves it half-moved. `activerehashing no`: the idle table
/// keeps both arrays while the cron runs (seen by a key active expiry
/// removed well after the burst); `yes`: the cron finishes the move and
/// the old array's bytes go. On both servers.
#[test]
fn activerehashing_finishes_an_idle_tables_rehash_as_in_redis() {
    for reference in [false, true] {
        let who = ServerProc::either_name(reference);
        let args = ["--save", "", "--activerehashing", "no"];
        let s = ServerProc::start_either(reference, &args);
        let mut c = s.conn();
        // 65 537 keys: the 65 537th insert finds the 65 536-bucket table
        // full and starts its growth (both servers' load factor 1).
        let script = "for i = 1, 65537 do redis.call('set', 'k' .. i, 'v') end";
        assert_eq!(c.cmds(&["EVAL", script, "0"]), "$-1\r\n", "{who}");
        let during = main_table_overhead(&mut c);
        c.cmd(&["SET", "probe", "v", "PX", "300"]);
        assert!(
            wait_until(Duration::from_secs(10), || {
                let info = String::from_utf8_lossy(&c.cmd(&["INFO", "stats"])).into_owned();
                info.contains("expired_keys:1\r\n")
            }),
            "{who}: active expiry never removed the probe"
        );
        // The old array (65 536 buckets of 8 bytes) is still there.
        assert!(
            main_table_overhead(&mut c) > during - 65_536 * 8 / 2,
            "{who}: the rehash finished without activerehashing"
        );
        // 20 s at hz 10 is 200 ticks: 200 ms of rehash budget where a few
        // ms do, and 20 000 steps for a cron that ignored the setting's
        // budget and moved 100 buckets per tick (the old one).
        assert_eq!(
            c.cmds(&["CONFIG", "SET", "activerehashing", "yes"]),
            "+OK\r\n"
        );
        assert!(
            wait_until(Duration::from_secs(20), || main_table_overhead(&mut c)
                <= during - 65_536 * 8 * 3 / 4),
            "{who}: activerehashing never finished the rehash ({during} before)"
        );
    }
}
