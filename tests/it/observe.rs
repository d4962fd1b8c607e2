//! SLOWLOG, LATENCY, MONITOR and INFO observability fields, end to end.
//! The slow log and MONITOR are compared with Debian's redis-server: the
//! fields that cannot match (timestamps, durations, client ports) are
//! checked for their form, everything else must be equal.

use crate::common::{encode, wait_until, Conn, ServerProc};
use crate::differential::check_with;
use std::io::Read;
use std::time::Duration;

/// A parsed RESP2 reply, enough for slowlog/latency shapes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum V {
    Int(i64),
    Bulk(Vec<u8>),
    Arr(Vec<V>),
    Status(String),
    Err(String),
    Nil,
}

pub(crate) fn parse(buf: &[u8]) -> V {
    fn line(buf: &[u8], pos: &mut usize) -> String {
        let start = *pos;
        while &buf[*pos..*pos + 2] != b"\r\n" {
            *pos += 1;
        }
        let s = String::from_utf8_lossy(&buf[start..*pos]).into_owned();
        *pos += 2;
        s
    }
    fn value(buf: &[u8], pos: &mut usize) -> V {
        let t = buf[*pos];
        *pos += 1;
        let l = line(buf, pos);
        match t {
            b':' => V::Int(l.parse().unwrap()),
            b'+' => V::Status(l),
            b'-' => V::Err(l),
            b'$' => {
                let n: i64 = l.parse().unwrap();
                if n < 0 {
                    return V::Nil;
                }
                let v = buf[*pos..*pos + n as usize].to_vec();
                *pos += n as usize + 2;
                V::Bulk(v)
            }
            b'*' => {
                let n: i64 = l.parse().unwrap();
                V::Arr((0..n.max(0)).map(|_| value(buf, pos)).collect())
            }
            other => panic!("unexpected type {}", other as char),
        }
    }
    let mut pos = 0;
    value(buf, &mut pos)
}

pub(crate) fn arr(v: &V) -> &[V] {
    match v {
        V::Arr(a) => a,
        other => panic!("expected array, got {other:?}"),
    }
}

pub(crate) fn int(v: &V) -> i64 {
    match v {
        V::Int(i) => *i,
        other => panic!("expected integer, got {other:?}"),
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The requests of the slow-log scenario (run on both servers).
fn slowlog_script() -> Vec<Vec<Vec<u8>>> {
    let mut s: Vec<Vec<Vec<u8>>> = Vec::new();
    let w = |parts: &[&str]| {
        parts
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect::<Vec<_>>()
    };
    s.push(w(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]));
    s.push(w(&["SLOWLOG", "RESET"]));
    s.push(w(&["CLIENT", "SETNAME", "tester"]));
    s.push(w(&["SET", "k", "v"]));
    // 41 arguments: kept as 31 plus "... (10 more arguments)".
    let mut del = vec![b"DEL".to_vec()];
    del.extend((0..40).map(|i| format!("key{i}").into_bytes()));
    s.push(del);
    // A 200-byte argument: cut at 128 bytes.
    s.push(vec![b"SET".to_vec(), b"long".to_vec(), vec![b'x'; 200]]);
    // Credentials are redacted, whether the command succeeds or not.
    s.push(w(&["AUTH", "secret"]));
    s.push(w(&["AUTH", "user", "pass"]));
    s.push(w(&["HELLO", "2", "AUTH", "user", "pass"]));
    s.push(w(&["CONFIG", "SET", "requirepass", ""]));
    // EXEC is not logged (skip_slowlog); the commands inside it are.
    s.push(w(&["MULTI"]));
    s.push(w(&["INCR", "counter"]));
    s.push(w(&["EXEC"]));
    s.push(w(&["DEBUG", "SLEEP", "0.05"]));
    s.push(w(&["SLOWLOG", "GET", "-1"]));
    s
}

/// Run the script; return the final SLOWLOG GET reply and the client's
/// own address as the server sees it.
fn run_slowlog_script(srv: &ServerProc) -> (V, String) {
    let mut c = srv.conn();
    let me = c.writer.local_addr().unwrap().to_string();
    let mut last = Vec::new();
    for req in slowlog_script() {
        let refs: Vec<&[u8]> = req.iter().map(|a| a.as_slice()).collect();
        c.send(&refs);
        last = c.read_reply();
    }
    (parse(&last), me)
}

#[test]
fn slowlog_entries_match_redis_server() {
    let args = ["--enable-debug-command", "yes"];
    let ours = ServerProc::start(&args);
    let theirs = ServerProc::start_reference(&args);
    let (a, a_addr) = run_slowlog_script(&ours);
    let (b, b_addr) = run_slowlog_script(&theirs);
    let (ea, eb) = (arr(&a), arr(&b));
    assert_eq!(ea.len(), eb.len(), "entry count\nours {a:?}\ntheirs {b:?}");
    // Sanity: the scenario really logged something of each kind.
    assert_eq!(ea.len(), 12, "{a:?}");
    let now = now_secs();
    for (x, y) in ea.iter().zip(eb) {
        let (x, y) = (arr(x), arr(y));
        assert_eq!(x.len(), 6);
        assert_eq!(y.len(), 6);
        assert_eq!(x[0], y[0], "ids");
        assert!((int(&x[1]) - now).abs() < 120, "timestamp {:?}", x[1]);
        assert!(int(&x[2]) >= 0);
        assert_eq!(x[3], y[3], "argv");
        assert_eq!(x[4], V::Bulk(a_addr.clone().into_bytes()));
        assert_eq!(y[4], V::Bulk(b_addr.clone().into_bytes()));
        assert_eq!(x[5], y[5], "client name");
        if arr(&x[3]).first() == Some(&V::Bulk(b"DEBUG".to_vec())) {
            assert!(int(&x[2]) >= 50_000, "DEBUG SLEEP 0.05 took {:?} us", x[2]);
        }
    }
    // The redacted and cut forms are really there.
    let all: Vec<&V> = ea.iter().map(|e| &arr(e)[3]).collect();
    let redacted = V::Bulk(b"(redacted)".to_vec());
    assert_eq!(all.iter().filter(|v| arr(v).contains(&redacted)).count(), 4);
    assert!(all
        .iter()
        .any(|v| arr(v).len() == 32 && arr(v)[31] == V::Bulk(b"... (10 more arguments)".to_vec())));
    let mut cut = vec![b'x'; 128];
    cut.extend_from_slice(b"... (72 more bytes)");
    assert!(all
        .iter()
        .any(|v| arr(v).get(2) == Some(&V::Bulk(cut.clone()))));
}

#[test]
fn slowlog_subcommands_and_errors_match_redis_server() {
    // A huge threshold: nothing is logged unless the test says so, even on
    // a loaded machine.
    check_with(
        &["--slowlog-log-slower-than", "100000000"],
        "SLOWLOG HELP
         SLOWLOG GET x
         SLOWLOG GET -2
         SLOWLOG GET 1 2
         SLOWLOG LEN 1
         SLOWLOG FOO
         SLOWLOG
         SLOWLOG RESET
         SLOWLOG LEN
         SLOWLOG GET
         SLOWLOG GET 0
         SLOWLOG GET -1
         LATENCY LATEST
         LATENCY HISTORY command
         LATENCY RESET
         LATENCY RESET a b
         LATENCY DOCTOR
         LATENCY FOO
         LATENCY HISTORY
         MULTI
         MONITOR
         EXEC
         CONFIG GET latency-tracking
         CONFIG GET latency-tracking-info-percentiles
         CONFIG SET latency-tracking-info-percentiles \"50 101\"
         CONFIG SET latency-tracking-info-percentiles abc
         CONFIG SET latency-tracking-info-percentiles \"50.0 99.90 0\"
         CONFIG GET latency-tracking-info-percentiles
         CONFIG SET latency-tracking-info-percentiles \"\"
         CONFIG GET latency-tracking-info-percentiles",
    );
}

#[test]
fn slowlog_threshold_and_max_len_are_live() {
    let srv = ServerProc::start(&["--slowlog-log-slower-than", "-1"]);
    let mut c = srv.conn();
    c.cmd(&["SET", "a", "1"]);
    assert_eq!(c.cmd(&["SLOWLOG", "LEN"]), b":0\r\n");
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]),
        b"+OK\r\n"
    );
    c.cmd(&["CONFIG", "SET", "slowlog-max-len", "3"]);
    for i in 0..10 {
        c.cmd(&["SET", "a", &i.to_string()]);
    }
    assert_eq!(c.cmd(&["SLOWLOG", "LEN"]), b":3\r\n");
    let v = parse(&c.cmd(&["SLOWLOG", "GET", "1"]));
    let e = arr(&arr(&v)[0]);
    // Newest first: the SLOWLOG LEN just before.
    assert_eq!(arr(&e[3])[0], V::Bulk(b"SLOWLOG".to_vec()));
    assert_eq!(c.cmd(&["SLOWLOG", "RESET"]), b"+OK\r\n");
    // RESET itself is logged after it ran.
    assert_eq!(c.cmd(&["SLOWLOG", "LEN"]), b":1\r\n");
    c.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    c.cmd(&["SLOWLOG", "RESET"]);
    c.cmd(&["SET", "a", "1"]);
    assert_eq!(c.cmd(&["SLOWLOG", "LEN"]), b":0\r\n");
}

/// Pipelined requests share clock readings (each starts where the one
/// before it ended): a slow request in a batch must not make the requests
/// after it look slow, in the slow log or in commandstats.
#[test]
fn a_slow_request_in_a_pipeline_is_billed_alone() {
    let srv = ServerProc::start(&[
        "--slowlog-log-slower-than",
        "50000",
        "--enable-debug-command",
        "yes",
    ]);
    let mut c = srv.conn();
    let batch = [
        encode(&[b"SET", b"k", b"v"]),
        encode(&[b"DEBUG", b"SLEEP", b"0.1"]),
        encode(&[b"PING"]),
        encode(&[b"GET", b"k"]),
        encode(&[b"INCR", b"n"]),
    ]
    .concat();
    c.send_raw(&batch);
    for _ in 0..5 {
        c.read_reply();
    }
    let v = parse(&c.cmd(&["SLOWLOG", "GET", "10"]));
    let names: Vec<V> = arr(&v).iter().map(|e| arr(&arr(e)[3])[0].clone()).collect();
    assert_eq!(names, vec![V::Bulk(b"DEBUG".to_vec())]);
    let stats = String::from_utf8(c.cmd(&["INFO", "commandstats"])).unwrap();
    for cmd in ["ping", "get", "incr"] {
        let usec: u64 = stats
            .lines()
            .find_map(|l| l.strip_prefix(&format!("cmdstat_{cmd}:calls=")))
            .and_then(|rest| rest.split(",usec=").nth(1))
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no cmdstat_{cmd} in {stats}"));
        assert!(usec < 50_000, "{cmd} billed {usec} us");
    }
}

/// Connect a monitor, run `script` from another client, and return the
/// monitor lines with the `+<time> [` prefix checked and removed, the
/// issuing client's address replaced by `ADDR`.
fn monitor_lines(srv: &ServerProc, script: &[Vec<&[u8]>]) -> Vec<String> {
    let mut m = srv.conn();
    assert_eq!(m.cmd(&["MONITOR"]), b"+OK\r\n");
    let mut c = srv.conn();
    let addr = c.writer.local_addr().unwrap().to_string();
    for req in script {
        c.send(req);
        c.read_reply();
    }
    c.cmd(&["ECHO", "the-end"]);
    let mut lines = Vec::new();
    loop {
        let raw = m.read_reply();
        let l = String::from_utf8_lossy(&raw).into_owned();
        let l = l.trim_end_matches("\r\n");
        let (ts, rest) = l
            .strip_prefix('+')
            .and_then(|x| x.split_once(" ["))
            .unwrap_or_else(|| panic!("bad monitor line {l:?}"));
        let (secs, micros) = ts.split_once('.').expect("time with micros");
        assert!((secs.parse::<i64>().unwrap() - now_secs()).abs() < 120);
        assert_eq!(micros.len(), 6);
        let line = rest.replacen(&addr, "ADDR", 1);
        let done = line.ends_with("\"ECHO\" \"the-end\"");
        lines.push(line);
        if done || lines.len() > 100 {
            break;
        }
    }
    lines
}

#[test]
fn monitor_stream_matches_redis_server() {
    let bin: &[u8] = b"x\"y\\z\n\x01\xff\t\x07\x08 ~";
    let script: Vec<Vec<&[u8]>> = vec![
        vec![b"SET", b"a b", bin],
        vec![b"GET", b"a b"],
        vec![b"SELECT", b"2"],
        vec![b"SET", b"k", b"1"],
        vec![b"AUTH", b"secret"],
        vec![b"AUTH", b"u", b"p"],
        vec![b"HELLO", b"2", b"AUTH", b"u", b"p"],
        vec![b"CONFIG", b"GET", b"maxmemory"],
        vec![b"CONFIG", b"SET", b"requirepass", b""],
        vec![b"CLIENT", b"SETNAME", b"nm"],
        vec![b"CLIENT", b"LIST"],
        vec![b"CLIENT", b"ID"],
        vec![b"DEBUG", b"SLEEP", b"0"],
        vec![b"MULTI"],
        vec![b"SET", b"x", b"y"],
        vec![b"INCR", b"x"],
        vec![b"EXEC"],
        vec![b"PING"],
        vec![b"NOSUCH", b"a"],
        vec![b"GET"],
        vec![b"SLOWLOG", b"LEN"],
        vec![b"INFO", b"server"],
    ];
    let args = ["--enable-debug-command", "yes"];
    let ours = ServerProc::start(&args);
    let theirs = ServerProc::start_reference(&args);
    let a = monitor_lines(&ours, &script);
    let b = monitor_lines(&theirs, &script);
    assert_eq!(a, b);
    assert!(a.contains(&r#"0 ADDR] "SET" "a b" "x\"y\\z\n\x01\xff\t\a\b ~""#.to_string()));
    assert!(a.contains(&r#"2 ADDR] "AUTH" "(redacted)""#.to_string()));
}

#[test]
fn monitor_client_is_flagged_and_removed_on_close() {
    let srv = ServerProc::start(&[]);
    let mut m = srv.conn();
    assert_eq!(m.cmd(&["MONITOR"]), b"+OK\r\n");
    let mut c = srv.conn();
    let list = c.cmds(&["CLIENT", "LIST"]);
    assert!(list.contains("flags=O "), "{list}");
    drop(m);
    assert!(wait_until(Duration::from_secs(10), || {
        !c.cmds(&["CLIENT", "LIST"]).contains("flags=O ")
    }));
    // Commands still run fine with the monitor gone.
    assert_eq!(c.cmd(&["SET", "a", "1"]), b"+OK\r\n");
}

#[test]
fn slow_monitor_is_closed_at_the_output_limit() {
    let srv = ServerProc::start(&["--client-output-buffer-limit", "normal 1mb 0 0"]);
    let mut m = srv.conn();
    assert_eq!(m.cmd(&["MONITOR"]), b"+OK\r\n");
    // Never read from `m` again. Each SET adds ~64 KiB to its stream.
    let mut c = srv.conn();
    let value = vec![b'v'; 64 * 1024];
    let mut closed = false;
    for _ in 0..2000 {
        c.send(&[b"SET", b"k", &value]);
        assert_eq!(c.read_reply(), b"+OK\r\n");
        if !c.cmds(&["CLIENT", "LIST"]).contains("flags=O ") {
            closed = true;
            break;
        }
    }
    assert!(closed, "the monitor was never closed");
    // The server dropped it: reading it to the end reaches EOF.
    m.reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut sink = Vec::new();
    let _ = m.reader.read_to_end(&mut sink);
}

#[test]
fn latency_monitor_records_spikes_by_event() {
    let srv = ServerProc::start(&["--enable-debug-command", "yes"]);
    let mut c = srv.conn();
    // Off by default: a 50 ms command records nothing.
    c.cmd(&["DEBUG", "SLEEP", "0.05"]);
    assert_eq!(c.cmd(&["LATENCY", "LATEST"]), b"*0\r\n");
    assert!(c
        .cmds(&["LATENCY", "DOCTOR"])
        .contains("Latency monitoring is disabled"));
    c.cmd(&["CONFIG", "SET", "latency-monitor-threshold", "20"]);
    c.cmd(&["DEBUG", "SLEEP", "0.05"]);
    c.cmd(&["GET", "fast"]);
    let latest = parse(&c.cmd(&["LATENCY", "LATEST"]));
    let events: Vec<&V> = arr(&latest).iter().collect();
    let cmd = events
        .iter()
        .map(|e| arr(e))
        .find(|e| e[0] == V::Bulk(b"command".to_vec()))
        .expect("a command event");
    assert!((int(&cmd[1]) - now_secs()).abs() < 120);
    assert!(int(&cmd[2]) >= 50 && int(&cmd[3]) >= 50, "{cmd:?}");
    // The loop turn that ran it stalled as long.
    assert!(events
        .iter()
        .any(|e| arr(e)[0] == V::Bulk(b"event-loop".to_vec())));
    let hist = parse(&c.cmd(&["LATENCY", "HISTORY", "command"]));
    assert_eq!(arr(&hist).len(), 1);
    assert!(int(&arr(&arr(&hist)[0])[1]) >= 50);
    let doctor = c.cmds(&["LATENCY", "DOCTOR"]);
    assert!(doctor.contains("1. command: 1 latency spikes"), "{doctor}");
    assert_eq!(c.cmd(&["LATENCY", "RESET", "command", "nosuch"]), b":1\r\n");
    assert_eq!(c.cmd(&["LATENCY", "HISTORY", "command"]), b"*0\r\n");
    c.cmd(&["LATENCY", "RESET"]);
    c.cmd(&["CONFIG", "SET", "latency-monitor-threshold", "0"]);
    c.cmd(&["DEBUG", "SLEEP", "0.05"]);
    assert_eq!(c.cmd(&["LATENCY", "LATEST"]), b"*0\r\n");
}

/// The events LATENCY reports, each made to fire by its cause: a stall
/// of at least 1 ms (the smallest threshold) in the AOF write and fsync,
/// a fast command, fork(), the active expiry cycle and the eviction cycle.
#[test]
fn latency_events_fire_for_each_subsystem() {
    const LIMIT: Duration = Duration::from_secs(30);
    let srv = ServerProc::start(&["--save", ""]);
    let mut c = srv.conn();
    let ok = b"+OK\r\n".to_vec();
    c.cmd(&["CONFIG", "SET", "latency-monitor-threshold", "1"]);
    let history =
        |c: &mut Conn, event: &str| arr(&parse(&c.cmd(&["LATENCY", "HISTORY", event]))).len();
    // A 32 MiB record written and fsynced under `always`, then written
    // under `everysec` while nothing else runs: aof-write (and which
    // kind), aof-fsync-always.
    let payload = vec![b'x'; 32 << 20];
    assert_eq!(c.cmd(&["CONFIG", "SET", "appendonly", "yes"]), ok);
    assert_eq!(c.cmd(&["CONFIG", "SET", "appendfsync", "always"]), ok);
    c.send(&[b"SET", b"a1", &payload]);
    assert_eq!(c.read_reply(), ok);
    // fsync on tmpfs returns at once: the event needs a real disk.
    let fs = std::process::Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(&srv.dir)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if fs != "tmpfs" {
        assert!(
            history(&mut c, "aof-fsync-always") >= 1,
            "no aof-fsync-always event ({fs})"
        );
    }
    assert_eq!(c.cmd(&["CONFIG", "SET", "appendfsync", "everysec"]), ok);
    c.send(&[b"SET", b"a2", &payload]);
    assert_eq!(c.read_reply(), ok);
    assert_eq!(c.cmd(&["CONFIG", "SET", "appendonly", "no"]), ok);
    assert!(history(&mut c, "aof-write") >= 1, "no aof-write event");
    assert!(
        history(&mut c, "aof-write-alone") + history(&mut c, "aof-write-pending-fsync") >= 1,
        "no aof-write-alone/pending-fsync event"
    );
    // GET (a fast command) copying 32 MiB into its reply.
    c.send(&[b"GET", b"a1"]);
    assert_eq!(c.read_reply().len(), payload.len() + 13);
    assert!(
        history(&mut c, "fast-command") >= 1,
        "no fast-command event"
    );
    // A blocked BLPOP served a 32 MiB element: the serve writes it.
    let mut waiter = srv.conn();
    waiter.send(&[b"BLPOP", b"bl", b"0"]);
    crate::common::wait_blocked(&mut c, 1);
    c.send(&[b"RPUSH", b"bl", &payload]);
    assert_eq!(c.read_reply(), b":1\r\n");
    assert!(waiter.read_reply().len() > payload.len());
    assert!(
        history(&mut c, "command-unblocking") >= 1,
        "no command-unblocking event"
    );
    // fork() of a process holding 64 MiB and more: page tables to copy.
    // (Switching the AOF on may have forked a rewrite: wait for it.)
    let info =
        |c: &mut Conn, section: &str, field: &str| crate::common::info_u64(c, section, field);
    assert!(wait_until(LIMIT, || info(
        &mut c,
        "persistence",
        "aof_rewrite_in_progress"
    ) == 0));
    let forks = info(&mut c, "stats", "total_forks");
    assert_eq!(c.cmd(&["BGSAVE"]), b"+Background saving started\r\n");
    assert!(wait_until(LIMIT, || info(
        &mut c,
        "persistence",
        "rdb_bgsave_in_progress"
    ) == 0));
    assert_eq!(info(&mut c, "stats", "total_forks"), forks + 1);
    assert!(info(&mut c, "stats", "latest_fork_usec") > 0);
    assert!(history(&mut c, "fork") >= 1, "no fork event");
    // 100k keys expiring together: the active cycle deletes them.
    c.cmd(&["FLUSHALL"]);
    pipeline(
        &mut c,
        (0..100_000).map(|i| encode(&[b"SET", format!("e{i}").as_bytes(), b"v", b"PX", b"50"])),
    );
    assert!(
        wait_until(LIMIT, || history(&mut c, "expire-cycle") > 0),
        "no expire-cycle event"
    );
    // Memory limit below what 100k keys use, with an unbounded cycle:
    // the next command evicts about half of them in one go.
    pipeline(
        &mut c,
        (0..100_000).map(|i| encode(&[b"SET", format!("n{i}").as_bytes(), &[b'v'; 100]])),
    );
    let used = crate::common::info_u64(&mut c, "memory", "used_memory");
    c.cmd(&["CONFIG", "SET", "maxmemory-eviction-tenacity", "100"]);
    c.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-random"]);
    let half = (used / 2).to_string();
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", &half]), ok);
    c.cmd(&["PING"]);
    assert!(crate::common::info_u64(&mut c, "stats", "evicted_keys") > 10_000);
    assert!(
        history(&mut c, "eviction-cycle") >= 1,
        "no eviction-cycle event"
    );
    // All of them listed by LATEST.
    let latest = parse(&c.cmd(&["LATENCY", "LATEST"]));
    let names: Vec<V> = arr(&latest).iter().map(|e| arr(e)[0].clone()).collect();
    for event in [
        "aof-write",
        "command-unblocking",
        "fast-command",
        "fork",
        "expire-cycle",
        "eviction-cycle",
    ] {
        assert!(
            names.contains(&V::Bulk(event.as_bytes().to_vec())),
            "{event}: {names:?}"
        );
    }
}

#[test]
fn info_reports_pubsub_counts() {
    let srv = ServerProc::start(&[]);
    let mut sub = Conn::connect(srv.port);
    sub.send_raw(&encode(&[b"SUBSCRIBE", b"ch1", b"ch2"]));
    sub.read_reply();
    sub.read_reply();
    sub.send_raw(&encode(&[b"PSUBSCRIBE", b"p*"]));
    sub.read_reply();
    let mut c = srv.conn();
    let info = c.cmds(&["INFO", "stats"]);
    assert!(info.contains("pubsub_channels:2\r\n"), "{info}");
    assert!(info.contains("pubsub_patterns:1\r\n"), "{info}");
}

/// The value of `field` in an INFO text.
pub(crate) fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.to_string())
}

#[test]
fn info_latencystats_reports_percentiles_per_command() {
    let srv = ServerProc::start(&["--enable-debug-command", "yes"]);
    let mut c = srv.conn();
    c.cmd(&["DEBUG", "SLEEP", "0.05"]);
    for _ in 0..10 {
        c.cmd(&["GET", "k"]);
    }
    let info = c.cmds(&["INFO", "latencystats"]);
    assert!(info.contains("# Latencystats\r\n"), "{info}");
    let debug = info_field(&info, "latency_percentiles_usec_debug").expect("debug line");
    let parts: Vec<&str> = debug.split(',').collect();
    assert_eq!(parts.len(), 3, "{debug}");
    for (p, name) in parts.iter().zip(["p50=", "p99=", "p99.9="]) {
        let v: f64 = p.strip_prefix(name).expect(name).parse().unwrap();
        assert!(v >= 50_000.0, "{debug}");
        // Three decimals, as Redis prints them.
        assert_eq!(p.rsplit('.').next().map(str::len), Some(3), "{debug}");
    }
    assert!(info_field(&info, "latency_percentiles_usec_get").is_some());
    assert!(info_field(&info, "latency_percentiles_usec_set").is_none());
    // Not in the default INFO, but in INFO everything.
    assert!(!c.cmds(&["INFO"]).contains("# Latencystats"));
    assert!(c.cmds(&["INFO", "everything"]).contains("# Latencystats"));
    // Percentiles are configurable; tracking can be switched off.
    c.cmd(&["CONFIG", "SET", "latency-tracking-info-percentiles", "90"]);
    let info = c.cmds(&["INFO", "latencystats"]);
    let get = info_field(&info, "latency_percentiles_usec_get").unwrap();
    assert!(get.starts_with("p90=") && !get.contains(','), "{get}");
    c.cmd(&["CONFIG", "SET", "latency-tracking", "no"]);
    c.cmd(&["SET", "k", "v"]);
    let info = c.cmds(&["INFO", "latencystats"]);
    assert!(info_field(&info, "latency_percentiles_usec_set").is_none());
    c.cmd(&["CONFIG", "RESETSTAT"]);
    let info = c.cmds(&["INFO", "latencystats"]);
    assert!(
        info_field(&info, "latency_percentiles_usec_get").is_none(),
        "{info}"
    );
}

/// Send `reqs` pipelined in batches and drop the replies.
fn pipeline(c: &mut Conn, reqs: impl Iterator<Item = Vec<u8>>) {
    let mut batch = Vec::new();
    let mut pending = 0;
    for r in reqs {
        batch.extend_from_slice(&r);
        pending += 1;
        if pending == 1000 {
            c.send_raw(&batch);
            for _ in 0..pending {
                c.read_reply();
            }
            batch.clear();
            pending = 0;
        }
    }
    c.send_raw(&batch);
    for _ in 0..pending {
        c.read_reply();
    }
}

/// The accuracy promise: under a Zipf(1.1) load over 100k keys, the
/// tracker's top 10 is the true top 10 (counted here), and its memory
/// stays under the documented 100 KiB.
#[test]
fn hotkeys_top10_is_exact_under_zipf_load() {
    use redislite::bench::workload::Rng;
    use redislite::bench::zipf::Zipf;
    const KEYS: u64 = 100_000;
    const ACCESSES: usize = 300_000;
    let srv = ServerProc::start(&[]);
    let mut c = srv.conn();
    pipeline(
        &mut c,
        (1..=KEYS).map(|k| encode(&[b"SET", format!("key:{k}").as_bytes(), b"v"])),
    );
    assert_eq!(c.cmd(&["HOTKEYS", "RESET"]), b"+OK\r\n");
    let zipf = Zipf::new(KEYS, 1.1).unwrap();
    let mut rng = Rng::new(42, 7);
    let mut truth = vec![0u64; KEYS as usize + 1];
    let ranks: Vec<u64> = (0..ACCESSES).map(|_| zipf.sample(&mut rng)).collect();
    for &r in &ranks {
        truth[r as usize] += 1;
    }
    pipeline(
        &mut c,
        ranks
            .iter()
            .map(|r| encode(&[b"GET", format!("key:{r}").as_bytes()])),
    );
    let mut order: Vec<u64> = (1..=KEYS).collect();
    order.sort_by(|a, b| truth[*b as usize].cmp(&truth[*a as usize]));
    let mut want: Vec<String> = order[..10].iter().map(|k| format!("key:{k}")).collect();
    // The 10th and 11th must differ, or "the top 10" is not defined.
    assert!(truth[order[9] as usize] > truth[order[10] as usize]);
    let reply = parse(&c.cmd(&["HOTKEYS", "COUNT", "10"]));
    let flat = arr(&reply);
    assert_eq!(flat.len(), 20, "{reply:?}");
    let mut got: Vec<String> = flat
        .chunks(2)
        .map(|kv| match &kv[0] {
            V::Bulk(k) => String::from_utf8_lossy(k).into_owned(),
            other => panic!("{other:?}"),
        })
        .collect();
    // Reported counts are estimates: never below the truth.
    for kv in flat.chunks(2) {
        let V::Bulk(k) = &kv[0] else { unreachable!() };
        let rank: usize = String::from_utf8_lossy(&k[4..]).parse().unwrap();
        assert!(int(&kv[1]) as u64 >= truth[rank]);
    }
    want.sort();
    got.sort();
    assert_eq!(got, want);
    let info = c.cmds(&["INFO", "hotkeys"]);
    let mem: usize = info_field(&info, "hotkeys_memory_bytes")
        .unwrap()
        .parse()
        .unwrap();
    assert!(mem <= 100 * 1024, "tracker uses {mem} bytes");
    assert_eq!(info_field(&info, "hotkeys_tracked").as_deref(), Some("32"));
    let above: usize = info_field(&info, "hotkeys_above_p99")
        .unwrap()
        .parse()
        .unwrap();
    assert!(above >= 10, "{info}");
    assert!(info_field(&info, "hotkey_0")
        .unwrap()
        .starts_with("db=0,count="));
}

#[test]
fn hotkeys_command_per_db_reset_and_errors() {
    let srv = ServerProc::start(&[]);
    let mut c = srv.conn();
    c.cmd(&["SET", "a", "1"]);
    for _ in 0..5 {
        c.cmd(&["GET", "a"]);
    }
    c.cmd(&["GET", "missing"]);
    let v = parse(&c.cmd(&["HOTKEYS"]));
    assert_eq!(arr(&v)[0], V::Bulk(b"a".to_vec()));
    assert!(int(&arr(&v)[1]) >= 5);
    // Only keys that exist are tracked.
    assert_eq!(arr(&v).len(), 2);
    c.cmd(&["SELECT", "1"]);
    assert_eq!(c.cmd(&["HOTKEYS"]), b"*0\r\n");
    c.cmd(&["SELECT", "0"]);
    assert_eq!(c.cmd(&["HOTKEYS", "RESET"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["HOTKEYS"]), b"*0\r\n");
    assert!(c.cmds(&["HOTKEYS", "COUNT", "x"]).starts_with("-ERR"));
    assert!(c
        .cmds(&["HOTKEYS", "BOGUS"])
        .starts_with("-ERR syntax error"));
    assert!(c.cmds(&["HOTKEYS", "HELP"]).starts_with("*8\r\n"));
}

#[test]
fn redis_cli_hotkeys_works_under_lfu() {
    let srv = ServerProc::start(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = srv.conn();
    c.cmd(&["SET", "warm", "1"]);
    c.cmd(&["SET", "cold", "1"]);
    for _ in 0..200 {
        c.cmd(&["GET", "warm"]);
    }
    let cli = crate::common::which("redis-cli").expect("redis-cli");
    let out = std::process::Command::new(cli)
        .args(["-p", &srv.port.to_string(), "--hotkeys"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("hot key found with counter") && text.contains("keyname: \"warm\""),
        "{text}"
    );
}

/// Scrape `/metrics` and parse it with the Python prometheus_client text
/// parser (installed by .ci/run); returns "name{labels} value" lines of
/// the parsed samples, labels sorted.
fn scrape(port: u16) -> Vec<String> {
    let script = r#"
import sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=10).read().decode()
for fam in text_string_to_metric_families(body):
    for s in fam.samples:
        labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
        print("%s{%s} %r" % (s.name, labels, float(s.value)))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script, &port.to_string()])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "prometheus_client failed to parse: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn sample(samples: &[String], key: &str) -> Option<f64> {
    samples
        .iter()
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix(' ')))
        .map(|v| v.parse().unwrap())
}

fn http(port: u16, request: &[u8]) -> String {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    // The server closes after its response: read to EOF.
    s.read_to_end(&mut out).unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn prometheus_metrics_parse_and_move() {
    let mport = crate::common::free_port();
    let mport_s = mport.to_string();
    let srv = ServerProc::start(&["--metrics-port", &mport_s]);
    let mut c = srv.conn();
    // An idle, half-sent HTTP request must not hold up the data path.
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", mport)).unwrap();
    std::io::Write::write_all(&mut idle, b"GET /metr").unwrap();
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");

    let before = scrape(mport);
    for name in [
        "redislite_uptime_seconds{}",
        "redislite_connected_clients{}",
        "redislite_memory_used_bytes{}",
        "redislite_expired_keys_total{}",
        "redislite_evicted_keys_total{}",
        "redislite_slowlog_length{}",
        "redislite_hotkeys_p99_threshold{}",
    ] {
        assert!(sample(&before, name).is_some(), "missing {name}");
    }
    let hits0 = sample(&before, "redislite_keyspace_hits_total{}").unwrap();
    let misses0 = sample(&before, "redislite_keyspace_misses_total{}").unwrap();
    c.cmd(&["SET", "k", "v"]);
    for _ in 0..5 {
        c.cmd(&["GET", "k"]);
    }
    c.cmd(&["GET", "nope"]);
    c.cmd(&["SELECT", "3"]);
    c.cmd(&["SET", "x", "1"]);
    let after = scrape(mport);
    assert_eq!(
        sample(&after, "redislite_keyspace_hits_total{}"),
        Some(hits0 + 5.0)
    );
    assert_eq!(
        sample(&after, "redislite_keyspace_misses_total{}"),
        Some(misses0 + 1.0)
    );
    assert_eq!(
        sample(&after, "redislite_commands_total{cmd=get}"),
        Some(6.0)
    );
    assert_eq!(sample(&after, "redislite_db_keys{db=0}"), Some(1.0));
    assert_eq!(sample(&after, "redislite_db_keys{db=3}"), Some(1.0));
    assert_eq!(
        sample(&after, "redislite_command_duration_seconds_count{cmd=get}"),
        Some(6.0)
    );
    assert_eq!(
        sample(
            &after,
            "redislite_command_duration_seconds_bucket{cmd=get,le=+Inf}"
        ),
        Some(6.0)
    );
    assert_eq!(
        sample(&after, "redislite_hotkey_accesses{db=0,key=k}").map(|v| v >= 5.0),
        Some(true)
    );

    assert!(http(mport, b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n").starts_with("HTTP/1.1 404 "));
    assert!(http(mport, b"BLAH\r\n\r\n").starts_with("HTTP/1.1 400 "));
    let mut big = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 20_000));
    assert!(http(mport, &big).starts_with("HTTP/1.1 400 "));
    drop(idle);
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn prometheus_metrics_follow_replication_and_persistence() {
    const LIMIT: Duration = Duration::from_secs(20);
    let mport = crate::common::free_port();
    let mport_s = mport.to_string();
    let m = ServerProc::start(&["--metrics-port", &mport_s, "--save", ""]);
    let mut c = m.conn();
    let before = scrape(mport);
    assert_eq!(
        sample(&before, "redislite_replication_role_info{role=master}"),
        Some(1.0)
    );
    assert_eq!(sample(&before, "redislite_connected_replicas{}"), Some(0.0));
    assert_eq!(sample(&before, "redislite_aof_enabled{}"), Some(0.0));
    assert_eq!(sample(&before, "redislite_rdb_saves_total{}"), Some(0.0));
    assert_eq!(sample(&before, "redislite_rdb_last_bgsave_ok{}"), Some(1.0));
    assert!(!before
        .iter()
        .any(|l| l.starts_with("redislite_replica_lag_seconds")));

    // A replica connects: it appears with its offset and lag.
    let master_port = m.port.to_string();
    let rport = crate::common::free_port();
    let rport_s = rport.to_string();
    let r = ServerProc::start(&[
        "--save",
        "",
        "--metrics-port",
        &rport_s,
        "--replicaof",
        "127.0.0.1",
        &master_port,
    ]);
    let labels = format!("{{ip=127.0.0.1,port={}}}", r.port);
    let lag_key = format!("redislite_replica_lag_seconds{labels}");
    let offset_key = format!("redislite_replica_offset_bytes{labels}");
    assert!(
        wait_until(LIMIT, || sample(&scrape(mport), &lag_key).is_some()),
        "replica never showed in /metrics"
    );
    let now = scrape(mport);
    assert_eq!(sample(&now, "redislite_connected_replicas{}"), Some(1.0));
    let offset0 = sample(&now, "redislite_master_repl_offset_bytes{}").unwrap();
    for i in 0..10 {
        c.cmd(&["SET", &format!("k{i}"), "v"]);
    }
    let offset1 = sample(&scrape(mport), "redislite_master_repl_offset_bytes{}").unwrap();
    assert!(offset1 > offset0, "{offset0} -> {offset1}");
    // The replica acknowledges the new offset (REPLCONF ACK, every second).
    assert!(
        wait_until(LIMIT, || sample(&scrape(mport), &offset_key)
            == Some(offset1)),
        "replica offset never reached {offset1}"
    );
    // The replica's own view: its role and an up link.
    let replica_view = scrape(rport);
    assert_eq!(
        sample(&replica_view, "redislite_replication_role_info{role=slave}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&replica_view, "redislite_master_link_up{}"),
        Some(1.0)
    );

    // A background save: counted, successful, timestamped.
    let t0 = now_secs();
    assert_eq!(c.cmd(&["BGSAVE"]), b"+Background saving started\r\n");
    assert!(wait_until(LIMIT, || sample(
        &scrape(mport),
        "redislite_rdb_saves_total{}"
    ) == Some(1.0)));
    let after_save = scrape(mport);
    assert_eq!(
        sample(&after_save, "redislite_rdb_last_bgsave_ok{}"),
        Some(1.0)
    );
    assert!(
        sample(&after_save, "redislite_rdb_last_save_timestamp_seconds{}").unwrap() >= t0 as f64
    );
    assert_eq!(
        sample(&after_save, "redislite_rdb_changes_since_last_save{}"),
        Some(0.0)
    );

    // The AOF switched on: enabled, growing, last write timestamped.
    assert_eq!(c.cmd(&["CONFIG", "SET", "appendonly", "yes"]), b"+OK\r\n");
    let on = scrape(mport);
    assert_eq!(sample(&on, "redislite_aof_enabled{}"), Some(1.0));
    assert_eq!(sample(&on, "redislite_aof_last_write_ok{}"), Some(1.0));
    let size0 = sample(&on, "redislite_aof_current_size_bytes{}").unwrap();
    c.cmd(&["SET", "after-aof", "v"]);
    let grown = scrape(mport);
    assert!(sample(&grown, "redislite_aof_current_size_bytes{}").unwrap() > size0);
    assert!(sample(&grown, "redislite_aof_last_write_timestamp_seconds{}").unwrap() >= t0 as f64);
    // A rewrite (after any CONFIG SET appendonly yes started) is counted.
    let in_progress = |port| sample(&scrape(port), "redislite_aof_rewrite_in_progress{}");
    assert!(wait_until(LIMIT, || in_progress(mport) == Some(0.0)));
    let rewrites = sample(&scrape(mport), "redislite_aof_rewrites_total{}").unwrap();
    assert!(c.cmds(&["BGREWRITEAOF"]).starts_with('+'));
    assert!(wait_until(LIMIT, || {
        sample(&scrape(mport), "redislite_aof_rewrites_total{}") == Some(rewrites + 1.0)
    }));
    assert_eq!(
        sample(&scrape(mport), "redislite_aof_last_bgrewrite_ok{}"),
        Some(1.0)
    );
    drop(r);
}
