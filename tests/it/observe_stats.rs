//! Per-command statistics end to end, against Debian's redis-server 7.0:
//! INFO commandstats / latencystats / errorstats per subcommand
//! (`cmdstat_config|get`), LATENCY HISTOGRAM and GRAPH, and how a
//! command that blocks is counted (MONITOR when sent; commandstats,
//! latency histogram and slow log once, when it completes). Durations
//! cannot match between two servers, so they are checked for their form
//! and everything else must be equal.

use crate::common::wait_until;
use crate::common::{wait_blocked, Conn, ServerProc};
use crate::differential::check;
use crate::observe::{arr, info_field, int, parse, V};
use std::time::Duration;

/// The bucket labels Redis 7.0 can answer in LATENCY HISTOGRAM: the
/// highest value, in microseconds, of the HdrHistogram bucket (1 ns..1 s,
/// two significant figures) that holds 2^k ns, k = 10..30.
fn histogram_labels() -> Vec<i64> {
    (10..=30)
        .map(|k| ((1i64 << k) + (1i64 << (k - 7)) - 1) / 1000)
        .collect()
}

/// INFO commandstats lines, sorted, with the durations cut out
/// (`cmdstat_get:calls=2,rejected_calls=0,failed_calls=0`).
fn commandstats(c: &mut Conn) -> Vec<String> {
    let info = c.cmds(&["INFO", "commandstats"]);
    let mut lines: Vec<String> = info
        .lines()
        .filter(|l| l.starts_with("cmdstat_"))
        .map(|l| {
            l.split(',')
                .filter(|f| !f.starts_with("usec=") && !f.starts_with("usec_per_call="))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    lines.sort();
    lines
}

/// Field names of INFO latencystats and errorstats lines, sorted.
fn latency_and_error_stats(c: &mut Conn) -> Vec<String> {
    let mut out: Vec<String> = c
        .cmds(&["INFO", "latencystats"])
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string()))
        .collect();
    out.extend(
        c.cmds(&["INFO", "errorstats"])
            .lines()
            .filter(|l| l.starts_with("errorstat_"))
            .map(str::to_string),
    );
    out.sort();
    out
}

/// One LATENCY HISTOGRAM entry: command, calls, (bucket, cumulative).
type Entry = (String, i64, Vec<(i64, i64)>);

/// LATENCY HISTOGRAM [names] (RESP2).
fn histogram(c: &mut Conn, names: &[&str]) -> Vec<Entry> {
    let mut args = vec!["LATENCY", "HISTOGRAM"];
    args.extend_from_slice(names);
    let reply = parse(&c.cmd(&args));
    let flat = arr(&reply);
    flat.chunks(2)
        .map(|pair| {
            let V::Bulk(name) = &pair[0] else {
                panic!("name expected: {pair:?}")
            };
            let body = arr(&pair[1]);
            assert_eq!(body[0], V::Bulk(b"calls".to_vec()));
            assert_eq!(body[2], V::Bulk(b"histogram_usec".to_vec()));
            let buckets = arr(&body[3])
                .chunks(2)
                .map(|b| (int(&b[0]), int(&b[1])))
                .collect();
            (
                String::from_utf8_lossy(name).into_owned(),
                int(&body[1]),
                buckets,
            )
        })
        .collect()
}

/// Buckets must be Redis's labels, increasing, cumulative, ending at
/// `calls`.
fn assert_cdf(name: &str, calls: i64, buckets: &[(i64, i64)]) {
    let labels = histogram_labels();
    assert!(!buckets.is_empty(), "{name}: no buckets");
    for w in buckets.windows(2) {
        assert!(w[0].0 < w[1].0 && w[0].1 < w[1].1, "{name}: {buckets:?}");
    }
    for (label, _) in buckets {
        assert!(labels.contains(label), "{name}: label {label} not Redis's");
    }
    assert_eq!(buckets.last().unwrap().1, calls, "{name}: {buckets:?}");
}

/// The same requests on both servers (replies are compared, durations
/// aside, by the caller).
const STATS_SCRIPT: &[&[&str]] = &[
    &["CONFIG", "RESETSTAT"],
    &["CONFIG", "GET", "maxmemory"],
    &["CONFIG", "GET", "maxmemory", "timeout"],
    &["CONFIG", "GET"],
    &["CONFIG"],
    &["CONFIG", "NOSUCH"],
    &["CLIENT", "ID"],
    &["CLIENT", "GETNAME"],
    &["COMMAND", "COUNT"],
    &["OBJECT", "ENCODING", "s"],
    &["SET", "s", "v"],
    &["INCR", "s"],
    &["LPUSH", "s", "x"],
    &["GET", "s"],
    &["NOSUCHCOMMAND"],
    &["SLOWLOG", "LEN"],
    &["LATENCY", "HISTOGRAM", "nosuch"],
];

#[test]
fn commandstats_and_latencystats_per_subcommand_match_redis() {
    let ours = ServerProc::start(&["--save", ""]);
    let theirs = ServerProc::start_reference(&[]);
    let mut results = Vec::new();
    for srv in [&ours, &theirs] {
        let mut c = srv.conn();
        for req in STATS_SCRIPT {
            c.cmd(req);
        }
        let stats = commandstats(&mut c);
        let names = latency_and_error_stats(&mut c);
        results.push((stats, names));
    }
    assert_eq!(results[0], results[1], "redislite vs redis-server");
    let (stats, names) = &results[0];
    // What must be there, so that this test cannot pass without the
    // feature (Redis 7.0.15 printed exactly these).
    for want in [
        "cmdstat_config|get:calls=2,rejected_calls=1,failed_calls=0",
        "cmdstat_config:calls=0,rejected_calls=1,failed_calls=0",
        "cmdstat_client|id:calls=1,rejected_calls=0,failed_calls=0",
        "cmdstat_command|count:calls=1,rejected_calls=0,failed_calls=0",
        "cmdstat_incr:calls=1,rejected_calls=0,failed_calls=1",
    ] {
        assert!(stats.iter().any(|l| l == want), "{want} not in {stats:?}");
    }
    assert!(
        names
            .iter()
            .any(|l| l == "latency_percentiles_usec_config|get"),
        "{names:?}"
    );
}

#[test]
fn latency_histogram_and_graph_replies_match_redis() {
    // Deterministic replies: errors, unknown names, empty results, help,
    // RESP3 empty map.
    check(
        r#"
        LATENCY HISTOGRAM nosuch config|nosuch
        LATENCY GRAPH
        LATENCY GRAPH a b
        LATENCY GRAPH command
        LATENCY HISTOGRAM latency|doctor
        LATENCY HELP
        ~HELLO 3
        LATENCY HISTOGRAM nosuch
        LATENCY GRAPH nosuch
        "#,
    );
    // One call of SET: the only bucket label differs with the duration,
    // every other byte (RESP2 and RESP3 shapes) must match.
    let ours = ServerProc::start(&["--save", ""]);
    let theirs = ServerProc::start_reference(&[]);
    for proto in ["2", "3"] {
        let mut replies = Vec::new();
        for srv in [&ours, &theirs] {
            let mut c = srv.conn();
            c.cmd(&["HELLO", proto]);
            c.cmd(&["CONFIG", "RESETSTAT"]);
            c.cmd(&["SET", "k", "v"]);
            let r = String::from_utf8(c.cmd(&["LATENCY", "HISTOGRAM", "SET", "nosuch"])).unwrap();
            replies.push(r);
        }
        let lines: Vec<Vec<&str>> = replies.iter().map(|r| r.split("\r\n").collect()).collect();
        assert_eq!(lines[0].len(), lines[1].len(), "{replies:?}");
        let label_line = lines[0].len() - 3;
        for (i, (a, b)) in lines[0].iter().zip(&lines[1]).enumerate() {
            if i == label_line {
                let v: i64 = a.strip_prefix(':').unwrap().parse().unwrap();
                assert!(histogram_labels().contains(&v), "{a}");
            } else {
                assert_eq!(a, b, "line {i} of {replies:?}");
            }
        }
    }
}

#[test]
fn latency_histogram_counts_every_call() {
    // Property: for random mixes of commands, LATENCY HISTOGRAM reports
    // for each command exactly as many calls as were made (also for
    // commands that failed), the same as INFO commandstats, as a valid
    // cumulative distribution; a container name lists its subcommands.
    let srv = ServerProc::start(&[]);
    let mut c = srv.conn();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let kinds: &[(&str, &[&str])] = &[
        ("get", &["GET", "k"]),
        ("set", &["SET", "k", "v"]),
        ("lpush", &["LPUSH", "k", "x"]), // WRONGTYPE once k is a string
        ("config|get", &["CONFIG", "GET", "hz"]),
        ("client|id", &["CLIENT", "ID"]),
        ("ping", &["PING"]),
    ];
    for _case in 0..8 {
        c.cmd(&["CONFIG", "RESETSTAT"]);
        let mut want = vec![0i64; kinds.len()];
        let n = 1 + crate::common_rng(&mut rng) % 300;
        for _ in 0..n {
            let k = (crate::common_rng(&mut rng) % kinds.len() as u64) as usize;
            c.cmd(kinds[k].1);
            want[k] += 1;
        }
        let h = histogram(&mut c, &["get", "set", "lpush", "config", "client", "ping"]);
        let stats = commandstats(&mut c);
        for (k, (name, _)) in kinds.iter().enumerate() {
            let got = h.iter().find(|(n, _, _)| n == name);
            if want[k] == 0 {
                assert!(got.is_none(), "{name} never ran: {h:?}");
                continue;
            }
            let (_, calls, buckets) = got.unwrap_or_else(|| panic!("{name} missing: {h:?}"));
            assert_eq!(*calls, want[k], "{name}");
            assert_cdf(name, *calls, buckets);
            let line = format!("cmdstat_{name}:calls={},", want[k]);
            assert!(
                stats.iter().any(|l| l.starts_with(&line)),
                "{line} {stats:?}"
            );
        }
        // CONFIG RESETSTAT ran too, as the container's other subcommand.
        assert!(h
            .iter()
            .any(|(n, calls, _)| n == "config|resetstat" && *calls == 1));
    }
}

/// One MONITOR line's command and arguments: `"blpop" "l" "0"`.
fn monitor_args(line: &[u8]) -> String {
    let s = String::from_utf8_lossy(line);
    s.split_once("] ")
        .map(|(_, a)| a.trim_end().to_string())
        .unwrap_or_default()
}

/// BLPOP served after blocking, and BLPOP timing out, on one server.
/// Returns what an operator sees: MONITOR lines, slow log commands
/// (newest first), commandstats for blpop/rpush, histogram calls, and the
/// growth of total_commands_processed.
fn blocked_scenario(srv: &ServerProc) -> (Vec<String>, Vec<String>, Vec<String>, i64) {
    let mut ctl = srv.conn();
    ctl.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    ctl.cmd(&["CONFIG", "RESETSTAT"]);
    ctl.cmd(&["SLOWLOG", "RESET"]);
    let mut mon = srv.conn();
    assert_eq!(mon.cmd(&["MONITOR"]), b"+OK\r\n");
    let mut waiter = srv.conn();
    // Lowercase, as MONITOR and the slow log show arguments as sent.
    waiter.send(&[b"blpop", b"l", b"0"]);
    wait_blocked(&mut ctl, 1);
    ctl.cmd(&["rpush", "l", "x"]);
    assert_eq!(waiter.read_reply(), b"*2\r\n$1\r\nl\r\n$1\r\nx\r\n");
    // A wait that times out.
    assert_eq!(waiter.cmd(&["blpop", "l2", "0.05"]), b"*-1\r\n");
    ctl.cmd(&["ECHO", "end"]);
    let mut lines = Vec::new();
    loop {
        let l = monitor_args(&mon.read_reply());
        if l.contains("\"end\"") {
            break;
        }
        if l.starts_with("\"blpop\"") || l.starts_with("\"rpush\"") {
            lines.push(l);
        }
    }
    let slow = parse(&ctl.cmd(&["SLOWLOG", "GET", "-1"]));
    let slow: Vec<String> = arr(&slow)
        .iter()
        .map(|e| {
            arr(&arr(e)[3])
                .iter()
                .map(|a| match a {
                    V::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|s| s.starts_with("blpop") || s.starts_with("rpush"))
        .collect();
    let stats: Vec<String> = commandstats(&mut ctl)
        .into_iter()
        .filter(|l| l.starts_with("cmdstat_blpop") || l.starts_with("cmdstat_rpush"))
        .collect();
    let h = histogram(&mut ctl, &["blpop"]);
    let hist_calls = h.first().map_or(0, |(_, calls, _)| *calls);
    (lines, slow, stats, hist_calls)
}

#[test]
fn blocked_commands_are_monitored_when_sent_and_counted_once() {
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    let a = blocked_scenario(&ours);
    let b = blocked_scenario(&theirs);
    assert_eq!(a, b, "redislite vs redis-server");
    // Redis 7.0.15's answers, so the test fails without the feature:
    // MONITOR shows both BLPOPs as sent (the first before the RPUSH that
    // served it); the slow log has the served BLPOP after the RPUSH and no
    // entry for the timed-out one; both count as calls, only the served
    // one is in the latency histogram.
    let (monitor, slow, stats, hist_calls) = a;
    assert_eq!(
        monitor,
        vec![
            "\"blpop\" \"l\" \"0\"",
            "\"rpush\" \"l\" \"x\"",
            "\"blpop\" \"l2\" \"0.05\""
        ]
    );
    assert_eq!(slow, vec!["blpop l 0", "rpush l x"]);
    assert_eq!(
        stats,
        vec![
            "cmdstat_blpop:calls=2,rejected_calls=0,failed_calls=0",
            "cmdstat_rpush:calls=1,rejected_calls=0,failed_calls=0"
        ]
    );
    assert_eq!(hist_calls, 1);
}

#[test]
fn latency_graph_draws_recorded_spikes() {
    let srv = ServerProc::start(&["--enable-debug-command", "yes"]);
    let mut c = srv.conn();
    c.cmd(&["CONFIG", "SET", "latency-monitor-threshold", "1"]);
    c.cmd(&["DEBUG", "SLEEP", "0.02"]);
    let graph = match parse(&c.cmd(&["LATENCY", "GRAPH", "command"])) {
        V::Bulk(b) => String::from_utf8(b).unwrap(),
        other => panic!("{other:?}"),
    };
    let lines: Vec<&str> = graph.lines().collect();
    // Header, 80 dashes, 4 rows of one column, a spacer, then the label
    // ("0s" or "1s") written downwards.
    assert!(lines[0].starts_with("command - high "), "{graph}");
    assert_eq!(lines[1], "-".repeat(80));
    assert_eq!(&lines[2..7], &[" ", " ", " ", "_", " "], "{graph}");
    assert!(matches!(lines[7], "0" | "1"), "{graph}");
    assert_eq!(lines[8], "s");
    // The event's spike is at least the 20 ms slept.
    let high: u64 = lines[0]
        .trim_start_matches("command - high ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(high >= 20, "{graph}");
}

/// INFO's rates follow the traffic: instantaneous_ops_per_sec and the
/// input/output kbps become non-zero under load and return to zero when
/// it stops; total_net_* count at least the bytes exchanged.
#[test]
fn instantaneous_rates_and_net_totals_follow_traffic() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    const LIMIT: Duration = Duration::from_secs(20);
    let srv = ServerProc::start(&[]);
    let mut ctl = srv.conn();
    let field = |c: &mut Conn, name: &str| -> f64 {
        info_field(&c.cmds(&["INFO", "stats"]), name)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let in0 = field(&mut ctl, "total_net_input_bytes");
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = srv.conn();
    let flag = stop.clone();
    let sent = std::thread::spawn(move || {
        let req = crate::common::encode(&[b"ECHO", &[b'x'; 1000]]);
        let (mut sent, mut received) = (0usize, 0usize);
        while !flag.load(Ordering::Relaxed) {
            load.send_raw(&req);
            received += load.read_reply().len();
            sent += req.len();
        }
        (sent, received)
    });
    let busy = wait_until(LIMIT, || {
        field(&mut ctl, "instantaneous_ops_per_sec") > 0.0
            && field(&mut ctl, "instantaneous_input_kbps") > 0.0
            && field(&mut ctl, "instantaneous_output_kbps") > 0.0
    });
    stop.store(true, Ordering::Relaxed);
    let (sent, received) = sent.join().unwrap();
    assert!(busy, "rates stayed at zero under load");
    assert!(field(&mut ctl, "total_net_input_bytes") - in0 >= sent as f64);
    assert!(field(&mut ctl, "total_net_output_bytes") >= received as f64);
    // The rates average the last 1.6 s: they fall back once idle. The INFO
    // polling itself (25-byte requests every 10 ms or so) keeps a few
    // kB/s going, far below the load's rate.
    let idle = |c: &mut Conn| field(c, "instantaneous_input_kbps") < 50.0;
    assert!(wait_until(LIMIT, || idle(&mut ctl)));
}
