//! The load generator end to end: `redislite-benchmark` runs short,
//! bounded loads against the real server (and Debian's redis-server), and
//! its JSON report is checked against what the server saw.

use crate::common::ServerProc;
use serde_json::Value;
use std::process::{Command, Output};

const BENCH_BIN: &str = env!("CARGO_BIN_EXE_redislite-benchmark");

/// Run the benchmark against `port` with extra arguments.
fn bench(port: u16, args: &[&str]) -> Output {
    Command::new(BENCH_BIN)
        .args(["--port", &port.to_string(), "--timeout", "10"])
        .args(args)
        .output()
        .expect("run redislite-benchmark")
}

/// Run with `--json --quiet`, require success, parse the report.
fn bench_json(port: u16, args: &[&str]) -> Value {
    let mut all = vec!["--json", "--quiet"];
    all.extend_from_slice(args);
    let out = bench(port, &all);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "benchmark failed: {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "--quiet must keep stderr empty");
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("invalid JSON ({e}): {stdout}"))
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not an unsigned integer in {v}"))
}

fn f(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

fn dbsize(s: &ServerProc) -> String {
    s.conn().cmds(&["DBSIZE"])
}

/// Percentiles must be ordered, and the counts sensible.
fn check_latency(l: &Value, requests: u64, corrected: bool) {
    let (p50, p90, p99, p999, max) = (
        f(l, "p50"),
        f(l, "p90"),
        f(l, "p99"),
        f(l, "p99_9"),
        f(l, "max"),
    );
    assert!(
        p50 > 0.0 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max,
        "{l}"
    );
    if corrected {
        // The correction only adds samples.
        assert!(u(l, "count") >= requests, "{l}");
    } else {
        assert_eq!(u(l, "count"), requests, "{l}");
    }
}

#[test]
fn bounded_run_reports_json_that_matches_the_server() {
    let s = ServerProc::start(&[]);
    let pid = s.pid().to_string();
    let r = bench_json(
        s.port,
        &[
            "--keys",
            "1000",
            "--requests",
            "20000",
            "--server-pid",
            &pid,
        ],
    );
    assert_eq!(r["mode"], "closed");
    assert_eq!(r["stopped_by"], "requests");
    assert_eq!(u(&r, "requests"), 20_000);
    let (gets, sets) = (u(&r, "gets"), u(&r, "sets"));
    assert_eq!(gets + sets, 20_000);
    // 80:20 by default; the binomial sd is ~57 requests, allow 7 sd.
    assert!(
        (15_600..=16_400).contains(&gets),
        "GETs {gets} of 20000 for 80:20"
    );
    assert_eq!(u(&r, "errors"), 0);
    // Every key was prefilled, so no GET misses.
    assert_eq!(u(&r, "nils"), 0);
    assert!(f(&r, "ops_per_sec") > 0.0);
    assert!(f(&r, "elapsed_s") > 0.0);
    assert_eq!(u(&r["prefill"], "keys"), 1000);
    assert_eq!(u(&r["prefill"], "errors"), 0);
    assert_eq!(u(&r, "server_pid"), s.pid() as u64);
    let cpu = f(&r, "server_cpu_us_per_request");
    assert!(
        cpu >= 0.0 && cpu.is_finite(),
        "server CPU per request {cpu}"
    );
    assert!(f(&r, "server_cpu_us") >= 0.0);
    check_latency(&r["raw_latency_us"], 20_000, false);
    check_latency(&r["latency_us"], 20_000, true);
    assert_eq!(r["latency_us"]["method"], "corrected");
    assert!(f(&r["latency_us"], "interval_us") > 0.0);
    assert!(r["send_lag_us"].is_null());
    // The prefill SET every key; the measured SETs only overwrite them.
    assert_eq!(dbsize(&s), ":1000\r\n");
}

#[test]
fn set_only_without_prefill_with_threads_pipeline_and_zipf() {
    let s = ServerProc::start(&[]);
    let r = bench_json(
        s.port,
        &[
            "--ratio",
            "0:100",
            "--no-prefill",
            "--keys",
            "500",
            "--requests",
            "5000",
            "--pipeline",
            "8",
            "--threads",
            "2",
            "--connections",
            "5",
            "--dist",
            "zipf",
        ],
    );
    assert_eq!(u(&r, "requests"), 5000);
    assert_eq!(u(&r, "gets"), 0);
    assert_eq!(u(&r, "sets"), 5000);
    assert_eq!(u(&r, "errors"), 0);
    assert!(r["prefill"].is_null());
    assert!(r["server_cpu_us_per_request"].is_null());
    check_latency(&r["raw_latency_us"], 5000, false);
    // Zipf over 500 keys, 5000 draws: most keys are hit, never more than 500.
    let keys: u64 = dbsize(&s).trim().trim_start_matches(':').parse().unwrap();
    assert!((100..=500).contains(&keys), "DBSIZE {keys}");
}

#[test]
fn open_loop_sends_exactly_the_schedule() {
    let s = ServerProc::start(&[]);
    let r = bench_json(
        s.port,
        &[
            "--keys",
            "100",
            "--rate",
            "2000",
            "--duration",
            "1",
            "--connections",
            "4",
        ],
    );
    assert_eq!(r["mode"], "open");
    // 2000/s for 1 s: the schedule holds 2000 requests whatever the
    // server's speed (a late batch is sent late, not dropped).
    let n = u(&r, "requests");
    assert!((1990..=2010).contains(&n), "requests {n}");
    assert_eq!(r["latency_us"]["method"], "scheduled");
    // 4 connections at 500 batches/s each: one every 2 ms.
    assert!((f(&r["latency_us"], "interval_us") - 2000.0).abs() < 1.0);
    check_latency(&r["raw_latency_us"], n, false);
    check_latency(&r["latency_us"], n, false);
    // Counted from the schedule, latency is never below the raw one.
    assert!(f(&r["latency_us"], "max") >= f(&r["raw_latency_us"], "max"));
    assert_eq!(u(&r["send_lag_us"], "count"), n);
}

#[test]
fn error_replies_are_counted_not_fatal() {
    // Without AUTH every command is refused with -NOAUTH.
    let s = ServerProc::start(&["--requirepass", "secret"]);
    let r = bench_json(s.port, &["--keys", "10", "--requests", "300"]);
    assert_eq!(u(&r, "requests"), 300);
    assert_eq!(u(&r, "errors"), 300);
    assert_eq!(u(&r["prefill"], "errors"), 10);
    let first = r["first_error"].as_str().unwrap();
    assert!(first.starts_with("-NOAUTH"), "{first}");
}

#[test]
fn works_against_redis_server() {
    let s = ServerProc::start_reference(&[]);
    let pid = s.pid().to_string();
    let r = bench_json(
        s.port,
        &[
            "--keys",
            "1000",
            "--requests",
            "5000",
            "--pipeline",
            "4",
            "--server-pid",
            &pid,
        ],
    );
    assert_eq!(u(&r, "requests"), 5000);
    assert_eq!(u(&r, "errors"), 0);
    assert_eq!(u(&r, "nils"), 0);
    assert!(f(&r, "server_cpu_us_per_request") >= 0.0);
    assert_eq!(dbsize(&s), ":1000\r\n");
}

#[test]
fn text_report_and_progress() {
    let s = ServerProc::start(&[]);
    let out = bench(s.port, &["--keys", "100", "--duration", "1.5"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in ["throughput:", "ops/s", "p99.9", "CO-corrected", "errors: 0"] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    // About once a second while measuring.
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.contains("ops/s"), "no progress line: {progress}");
}

#[test]
fn connect_failure_and_bad_usage_are_clear() {
    // A port nothing listens on.
    let port = crate::common::free_port();
    let out = bench(port, &["--requests", "10"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect to 127.0.0.1:"), "{err}");

    let out = bench(port, &["--ratio", "0:0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ratio"));

    let out = Command::new(BENCH_BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--server-pid"));
}

/// A reader that goes away before the report is written (`| head -c 1`)
/// gets a clear error and exit code 1, not a panic.
#[test]
fn a_closed_stdout_is_an_error_not_a_panic() {
    use std::os::fd::FromRawFd;
    use std::process::Stdio;
    // A pipe whose read end is closed before the tool starts: its write
    // to stdout fails (EPIPE) whenever it comes.
    let mut fds = [0; 2];
    // SAFETY: pipe() fills the two descriptors; each is owned once below.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    drop(unsafe { std::fs::File::from_raw_fd(fds[0]) });
    let write_end = unsafe { std::fs::File::from_raw_fd(fds[1]) };
    let out = Command::new(BENCH_BIN)
        .arg("--help")
        .stdout(Stdio::from(write_end))
        .output()
        .expect("run redislite-benchmark");
    let err = String::from_utf8_lossy(&out.stderr);
    let status = out.status;
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("cannot write the report"), "{err}");
}
