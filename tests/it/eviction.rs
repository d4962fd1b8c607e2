//! maxmemory and eviction, end to end: OOM refusal under noeviction, LRU
//! eviction quality, volatile-ttl order, and the MEMORY command.

use crate::common::{encode, info_u64 as info_field, Conn, ServerProc};

/// Send `cmds` pipelined and return the replies.
fn pipeline(c: &mut Conn, cmds: &[Vec<Vec<u8>>]) -> Vec<Vec<u8>> {
    let mut buf = Vec::new();
    for args in cmds {
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        buf.extend(encode(&refs));
    }
    c.send_raw(&buf);
    cmds.iter().map(|_| c.read_reply()).collect()
}

fn set_cmd(key: &str, val: &[u8]) -> Vec<Vec<u8>> {
    vec![b"SET".to_vec(), key.as_bytes().to_vec(), val.to_vec()]
}

#[test]
fn noeviction_refuses_writes_but_serves_reads_and_deletes() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    let base = info_field(&mut c, "memory", "used_memory");
    let limit = base + 2 * 1024 * 1024;
    c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    let val = vec![b'v'; 1000];
    let mut refused_at = None;
    for batch in 0..100 {
        let cmds: Vec<_> = (0..100)
            .map(|i| set_cmd(&format!("k{batch}:{i}"), &val))
            .collect();
        let replies = pipeline(&mut c, &cmds);
        if let Some(r) = replies.iter().find(|r| r.starts_with(b"-")) {
            assert_eq!(
                r,
                b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"
            );
            refused_at = Some(batch);
            break;
        }
    }
    assert!(refused_at.is_some(), "writes were never refused");
    assert_eq!(
        c.cmds(&["GET", "k0:0"]).len(),
        "$1000\r\n".len() + 1000 + 2,
        "reads still work"
    );
    assert_eq!(c.cmds(&["DEL", "k0:0"]), ":1\r\n", "deletes still work");
    assert_eq!(info_field(&mut c, "stats", "evicted_keys"), 0);
}

#[test]
fn allkeys_lru_keeps_the_working_set() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    let base = info_field(&mut c, "memory", "used_memory");
    let budget = 4 * 1024 * 1024;
    let limit = base + budget;
    c.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
    c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    let val = vec![b'x'; 100];
    // Fill to the limit to learn how many keys fit.
    let mut n = 0usize;
    loop {
        let cmds: Vec<_> = (n..n + 500)
            .map(|i| set_cmd(&format!("fill:{i}"), &val))
            .collect();
        pipeline(&mut c, &cmds);
        n += 500;
        if info_field(&mut c, "stats", "evicted_keys") > 0 {
            break;
        }
        assert!(n < 1_000_000, "never reached maxmemory");
    }
    let capacity = n;
    let working: Vec<String> = (0..capacity / 10).map(|i| format!("hot:{i}")).collect();
    let cmds: Vec<_> = working.iter().map(|k| set_cmd(k, &val)).collect();
    pipeline(&mut c, &cmds);
    // Write 2x the capacity of new keys while reading the working set.
    let reads: Vec<Vec<Vec<u8>>> = working
        .iter()
        .map(|k| vec![b"GET".to_vec(), k.as_bytes().to_vec()])
        .collect();
    let mut written = 0;
    let mut max_used = 0;
    while written < 2 * capacity {
        let cmds: Vec<_> = (written..written + 500)
            .map(|i| set_cmd(&format!("new:{i}"), &val))
            .collect();
        pipeline(&mut c, &cmds);
        written += 500;
        pipeline(&mut c, &reads);
        max_used = max_used.max(info_field(&mut c, "memory", "used_memory"));
    }
    let mut alive = 0;
    for r in pipeline(&mut c, &reads) {
        if r.starts_with(b"$100") {
            alive += 1;
        }
    }
    assert!(
        alive * 100 >= working.len() * 90,
        "only {alive} of {} working-set keys survived",
        working.len()
    );
    // Documented margin: eviction runs before each command, so at most one
    // command's worth of data (here one small key) overshoots; allow 1%.
    assert!(
        max_used <= limit + limit / 100,
        "used_memory {max_used} > limit {limit} + 1%"
    );
}

#[test]
fn volatile_ttl_evicts_the_nearest_deadline_first() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    let base = info_field(&mut c, "memory", "used_memory");
    c.cmd(&["CONFIG", "SET", "maxmemory-policy", "volatile-ttl"]);
    c.cmd(&["CONFIG", "SET", "maxmemory-samples", "10"]);
    let val = vec![b'x'; 1000];
    // Persistent keys are never candidates under volatile-*.
    let persistent: Vec<_> = (0..100)
        .map(|i| set_cmd(&format!("keep:{i}"), &val))
        .collect();
    pipeline(&mut c, &persistent);
    let short: Vec<_> = (0..500)
        .map(|i| {
            vec![
                b"SET".to_vec(),
                format!("short:{i}").into_bytes(),
                val.clone(),
                b"EX".to_vec(),
                b"1000".to_vec(),
            ]
        })
        .collect();
    pipeline(&mut c, &short);
    let long: Vec<_> = (0..500)
        .map(|i| {
            vec![
                b"SET".to_vec(),
                format!("long:{i}").into_bytes(),
                val.clone(),
                b"EX".to_vec(),
                b"100000".to_vec(),
            ]
        })
        .collect();
    pipeline(&mut c, &long);
    let used = info_field(&mut c, "memory", "used_memory");
    // Squeeze out about a quarter of the volatile data.
    let limit = used - (used - base) / 4;
    c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    c.cmd(&["PING"]);
    let evicted = info_field(&mut c, "stats", "evicted_keys");
    assert!(evicted > 0);
    let count = |c: &mut Conn, prefix: &str, n: usize| {
        let cmds: Vec<_> = (0..n)
            .map(|i| vec![b"EXISTS".to_vec(), format!("{prefix}:{i}").into_bytes()])
            .collect();
        pipeline(c, &cmds)
            .iter()
            .filter(|r| r.as_slice() == b":1\r\n")
            .count()
    };
    assert_eq!(
        count(&mut c, "keep", 100),
        100,
        "persistent keys must survive"
    );
    let long_alive = count(&mut c, "long", 500);
    let short_alive = count(&mut c, "short", 500);
    assert!(
        long_alive > short_alive,
        "nearest deadlines should go first: short {short_alive}, long {long_alive}"
    );
}

#[test]
fn memory_command() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    c.cmd(&["SET", "small", "v"]);
    c.cmd(&["SET", "big", &"x".repeat(10_000)]);
    let small: i64 = c.cmds(&["MEMORY", "USAGE", "small"]).trim()[1..]
        .parse()
        .unwrap();
    let big: i64 = c.cmds(&["MEMORY", "USAGE", "big", "SAMPLES", "0"]).trim()[1..]
        .parse()
        .unwrap();
    assert!(small > 0 && small < 200, "{small}");
    assert!(big > 10_000, "{big}");
    assert_eq!(c.cmds(&["MEMORY", "USAGE", "nosuch"]), "$-1\r\n");
    assert_eq!(
        c.cmds(&["MEMORY", "USAGE", "small", "FOO"]),
        "-ERR syntax error\r\n"
    );
    let stats = c.cmds(&["MEMORY", "STATS"]);
    assert!(stats.contains("keys.count\r\n:2\r\n"), "{stats}");
    assert!(c
        .cmds(&["MEMORY", "DOCTOR"])
        .contains("No memory problem detected"));
    assert!(c.cmds(&["MEMORY", "HELP"]).starts_with("*"));
    assert_eq!(
        c.cmds(&["MEMORY", "FOO"]),
        "-ERR unknown subcommand 'FOO'. Try MEMORY HELP.\r\n"
    );
}

#[test]
fn every_policy_keeps_memory_bounded() {
    for policy in [
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let s = ServerProc::start(&["--maxmemory-policy", policy]);
        let mut c = s.conn();
        let base = info_field(&mut c, "memory", "used_memory");
        let limit = base + 1024 * 1024;
        c.cmd(&["CONFIG", "SET", "maxmemory", &limit.to_string()]);
        let val = vec![b'x'; 200];
        let mut max_used = 0;
        for batch in 0..40 {
            // Volatile policies can only evict keys with a TTL.
            let cmds: Vec<_> = (0..200)
                .map(|i| {
                    vec![
                        b"SET".to_vec(),
                        format!("{batch}:{i}").into_bytes(),
                        val.clone(),
                        b"EX".to_vec(),
                        b"1000".to_vec(),
                    ]
                })
                .collect();
            let replies = pipeline(&mut c, &cmds);
            assert!(
                replies.iter().all(|r| r == b"+OK\r\n"),
                "{policy}: a write was refused"
            );
            max_used = max_used.max(info_field(&mut c, "memory", "used_memory"));
        }
        assert!(
            info_field(&mut c, "stats", "evicted_keys") > 0,
            "{policy}: nothing evicted"
        );
        assert!(
            max_used <= limit + limit / 100,
            "{policy}: used {max_used} over {limit}"
        );
    }
}

/// MEMORY STATS names the same fields, nested the same way and in the
/// same order, as redis-server 7.0 (monitoring tools read it by name),
/// in RESP2 and RESP3; MEMORY HELP and PUBSUB HELP read as 7.0's.
#[test]
fn memory_stats_fields_and_help_match_redis() {
    /// The field names of a RESP2 flat map (or RESP3 map), nested ones as
    /// `outer/inner`.
    fn names(v: &redis::Value, prefix: &str, out: &mut Vec<String>) {
        let pairs: Vec<(&redis::Value, &redis::Value)> = match v {
            redis::Value::Array(items) => items
                .chunks(2)
                .filter_map(|p| Some((p.first()?, p.get(1)?)))
                .collect(),
            redis::Value::Map(items) => items.iter().map(|(k, v)| (k, v)).collect(),
            _ => return,
        };
        for (k, v) in pairs {
            let name = match k {
                redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                redis::Value::SimpleString(s) => s.clone(),
                other => format!("{other:?}"),
            };
            out.push(format!("{prefix}{name}"));
            names(v, &format!("{prefix}{name}/"), out);
        }
    }
    let fields = |s: &ServerProc, resp3: bool| -> Vec<String> {
        let mut c = s.conn();
        c.cmd(&["SET", "k", "v"]);
        c.cmd(&["EXPIRE", "k", "100"]);
        let url = format!(
            "redis://127.0.0.1:{}/{}",
            s.port,
            if resp3 { "?protocol=resp3" } else { "" }
        );
        let client = redis::Client::open(url).unwrap();
        let mut con = client.get_connection().unwrap();
        let v: redis::Value = redis::cmd("MEMORY").arg("STATS").query(&mut con).unwrap();
        let mut out = Vec::new();
        names(&v, "", &mut out);
        out
    };
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    for resp3 in [false, true] {
        let got = fields(&ours, resp3);
        assert!(
            got.contains(&"db.0/overhead.hashtable.expires".to_string()),
            "{got:?}"
        );
        assert_eq!(got, fields(&theirs, resp3), "resp3: {resp3}");
    }
    for help in [["MEMORY", "HELP"], ["PUBSUB", "HELP"]] {
        assert_eq!(ours.conn().cmd(&help), theirs.conn().cmd(&help), "{help:?}");
    }
}
