//! `redislite-benchmark`: a load generator for RedisLite or any other
//! RESP server. See `redislite-benchmark --help` and the README section.
//!
//! Owns: process entry and orchestration — parse the options, open the
//! connections, start the worker threads (`bench::driver`), wait for the
//! prefill, read the server's CPU counter, open the measured window, print
//! progress once a second, merge the threads' histograms and print the
//! report. Exit codes: 0 a run completed (error replies are reported, not
//! fatal), 1 the run failed (connect, I/O, protocol, stall) or the report
//! could not be written, 2 bad usage.
//!
//! Must never: leave a thread behind on failure (every thread is told to
//! stop and joined before the process exits), or run unbounded: the
//! workers stop at `--duration`/`--requests`, and this thread gives up on
//! them after the run's time limit plus two stall timeouts.
//!
//! Latency and coordinated omission. A closed-loop client (the default:
//! each connection sends its next batch when the last one completed) does
//! not send while the server is stalled, so a stall shows up as a handful
//! of slow samples instead of the many requests a real, steadily arriving
//! workload would have seen delayed. The tool reports two histograms:
//! - raw: per request, from the write of its batch to its reply.
//! - CO-aware: in closed loop, the raw histogram corrected as
//!   `record_correct(value, interval)` does for every sample, with the
//!   expected interval = the run's mean time between two batches of one
//!   connection (elapsed * connections * pipeline / requests, as wrk
//!   computes it): a sample of 10 intervals also records 9, 8, ... 1
//!   intervals, the requests that would have waited behind it. With
//!   `--rate` (open loop) every batch has a scheduled send time; latency is
//!   counted from it, so a late send is charged to the server and no
//!   correction is needed.

use redislite::bench::args::{self, Config, DistSpec, Parsed};
use redislite::bench::cpu;
use redislite::bench::driver::{
    new_histogram, run_worker, Schedule, Shared, WorkerError, WorkerResult, WorkerSetup,
};
use redislite::bench::report::{CoMethod, LatencySummary, PrefillReport, Report, ServerCpu};
use redislite::bench::workload::{KeyDist, Workload};
use redislite::bench::zipf::Zipf;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the progress line is printed, and the main thread's longest
/// wait between looking at the workers.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
const WAIT_SLICE: Duration = Duration::from_millis(100);

/// Write `text` to standard output. print! would panic if the reader
/// went away (`redislite-benchmark --json | head -c 100`); this says so
/// and exits 1 instead.
fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        eprintln!("redislite-benchmark: cannot write the report: {e}");
        std::process::exit(1);
    }
}

fn main() {
    let config = match args::parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(c)) => c,
        Ok(Parsed::Help) => {
            emit(args::USAGE);
            return;
        }
        Err(e) => {
            eprintln!("redislite-benchmark: {e}\n(see redislite-benchmark --help)");
            std::process::exit(2);
        }
    };
    match run(&config) {
        Ok(report) => {
            if config.json {
                emit(&format!("{}\n", report.render_json()));
            } else {
                emit(&report.render_text());
            }
        }
        Err(e) => {
            eprintln!("redislite-benchmark: {e}");
            std::process::exit(1);
        }
    }
}

type Outcome = (usize, Result<WorkerResult, WorkerError>);

fn run(c: &Config) -> Result<Report, String> {
    let dist = match c.dist {
        DistSpec::Uniform => KeyDist::Uniform { keys: c.keys },
        DistSpec::Zipf => KeyDist::Zipf(Zipf::new(c.keys, c.zipf_exponent)?),
        DistSpec::Hot => KeyDist::hot(c.keys, c.hot_keys_pct, c.hot_ops_pct)?,
    };
    let dist_name = dist.name();
    let workload = Arc::new(Workload::new(c.mix, dist, c.value_size));
    let ticks_per_sec = cpu::clock_ticks_per_sec();
    if let Some(pid) = c.server_pid {
        // Fail before any load if the counter cannot be read.
        cpu::process_cpu_ticks(pid)?;
    }

    let streams = connect_all(c)?;
    let shared = Arc::new(Shared::new(c.threads));
    let schedule = c
        .rate
        .map(|rate| Schedule::new(rate, c.connections, c.pipeline));
    let (tx, rx) = mpsc::channel::<Outcome>();
    let mut per_thread: Vec<Vec<(usize, TcpStream)>> = (0..c.threads).map(|_| Vec::new()).collect();
    for (i, s) in streams.into_iter().enumerate() {
        per_thread[i % c.threads].push((i, s));
    }
    // Keys to prefill and requests to send are split in proportion to each
    // thread's connections, by cumulative counts so the parts add up
    // exactly.
    let share = |total: u64, before: usize, mine: usize| -> (u64, u64) {
        let lo = (total as u128 * before as u128 / c.connections as u128) as u64;
        let hi = (total as u128 * (before + mine) as u128 / c.connections as u128) as u64;
        (lo, hi)
    };
    let mut handles: Vec<JoinHandle<()>> = Vec::with_capacity(c.threads);
    let mut before = 0;
    for (t, streams) in per_thread.into_iter().enumerate() {
        let mine = streams.len();
        let setup = WorkerSetup {
            index: t,
            streams,
            workload: Arc::clone(&workload),
            shared: Arc::clone(&shared),
            pipeline: c.pipeline,
            prefill: c.prefill.then(|| share(c.keys, before, mine)),
            budget: c.requests.map(|n| {
                let (lo, hi) = share(n, before, mine);
                hi - lo
            }),
            duration: c.duration,
            schedule,
            seed: c.seed,
            timeout: c.timeout,
        };
        before += mine;
        let tx = tx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("bench-worker-{t}"))
            .spawn(move || {
                // The receiver outlives every worker; a failed send can
                // only mean the main thread is already gone.
                let _ = tx.send((t, run_worker(setup)));
            });
        match spawned {
            Ok(h) => handles.push(h),
            Err(e) => {
                stop(&shared, handles);
                return Err(format!("cannot start worker thread {t}: {e}"));
            }
        }
    }
    drop(tx);

    let mut results: Vec<Option<WorkerResult>> = (0..c.threads).map(|_| None).collect();
    let prefill_started = Instant::now();
    if let Err(e) = wait_for_prefill(c, &shared, &rx) {
        stop(&shared, handles);
        return Err(e);
    }
    let prefill_seconds = prefill_started.elapsed().as_secs_f64();

    let cpu_before = match c.server_pid.map(cpu::process_cpu_ticks).transpose() {
        Ok(t) => t,
        Err(e) => {
            stop(&shared, handles);
            return Err(e);
        }
    };
    let start = Instant::now();
    shared.gate.open(start);
    if let Err(e) = wait_for_results(c, &shared, &rx, start, &mut results) {
        stop(&shared, handles);
        return Err(e);
    }
    let cpu_after = c.server_pid.map(cpu::process_cpu_ticks).transpose();
    for h in handles {
        let _ = h.join();
    }
    let cpu_after = cpu_after?;
    let results: Vec<WorkerResult> = results.into_iter().flatten().collect();

    // Merge.
    let mut raw = new_histogram();
    let mut scheduled = new_histogram();
    let mut send_lag = new_histogram();
    let (mut gets, mut sets, mut completed, mut errors, mut nils) = (0, 0, 0, 0, 0);
    let (mut prefill_sets, mut prefill_errors) = (0, 0);
    let mut first_error = None;
    let mut end = start;
    for r in &results {
        raw.add(&r.raw)
            .map_err(|e| format!("merging histograms: {e:?}"))?;
        for (into, from) in [(&mut scheduled, &r.scheduled), (&mut send_lag, &r.send_lag)] {
            if let Some(h) = from {
                into.add(h)
                    .map_err(|e| format!("merging histograms: {e:?}"))?;
            }
        }
        gets += r.gets;
        sets += r.sets;
        completed += r.completed;
        errors += r.errors;
        nils += r.nils;
        prefill_sets += r.prefill_sets;
        prefill_errors += r.prefill_errors;
        if first_error.is_none() {
            first_error.clone_from(&r.first_error);
        }
        end = end.max(r.end);
    }
    let elapsed = end.duration_since(start);
    let elapsed_s = elapsed.as_secs_f64();
    let ops_per_sec = if elapsed_s > 0.0 {
        completed as f64 / elapsed_s
    } else {
        0.0
    };

    let (latency, co_method) = match schedule {
        Some(s) => (
            LatencySummary::of(&scheduled),
            CoMethod::Scheduled {
                interval_us: s.batch_interval_ns / 1000.0,
            },
        ),
        None => {
            // Mean time between two batches on one connection.
            let batches = completed as f64 / c.pipeline as f64;
            let interval_ns = elapsed.as_nanos() as f64 * c.connections as f64 / batches;
            let mut corrected = new_histogram();
            if interval_ns.is_finite() && interval_ns >= 1.0 {
                for r in &results {
                    corrected
                        .add_correct(&r.raw, interval_ns as u64)
                        .map_err(|e| format!("correcting histograms: {e:?}"))?;
                }
            }
            (
                LatencySummary::of(&corrected),
                CoMethod::Corrected {
                    interval_us: interval_ns / 1000.0,
                },
            )
        }
    };

    let server_cpu = match (c.server_pid, cpu_before, cpu_after) {
        (Some(pid), Some(before), Some(after)) => {
            let total_us = cpu::ticks_to_us(after.saturating_sub(before), ticks_per_sec);
            Some(ServerCpu {
                pid,
                total_us,
                per_request_us: total_us / completed.max(1) as f64,
            })
        }
        _ => None,
    };
    let stopped_by = match c.requests {
        Some(n) if completed >= n => "requests",
        _ => "duration",
    };

    Ok(Report {
        host: c.host.clone(),
        port: c.port,
        connections: c.connections,
        threads: c.threads,
        pipeline: c.pipeline,
        get_weight: c.mix.get_weight,
        set_weight: c.mix.set_weight,
        keys: c.keys,
        dist: dist_name,
        zipf_exponent: c.zipf_exponent,
        value_size: c.value_size,
        seed: c.seed,
        rate: c.rate,
        prefill: c.prefill.then_some(PrefillReport {
            keys: prefill_sets,
            seconds: prefill_seconds,
            errors: prefill_errors,
        }),
        requests: completed,
        gets,
        sets,
        errors,
        nils,
        first_error,
        elapsed_s,
        stopped_by,
        ops_per_sec,
        server_cpu,
        latency,
        raw_latency: LatencySummary::of(&raw),
        send_lag: schedule.map(|_| LatencySummary::of(&send_lag)),
        co_method,
    })
}

/// Open every connection before any load, so a refused or unreachable
/// server is one clear message.
fn connect_all(c: &Config) -> Result<Vec<TcpStream>, String> {
    let target = format!("{}:{}", c.host, c.port);
    let addr: SocketAddr = (c.host.as_str(), c.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {target}: {e}"))?
        .next()
        .ok_or_else(|| format!("{target} resolves to no address"))?;
    let mut streams = Vec::with_capacity(c.connections);
    for i in 0..c.connections {
        let stream = TcpStream::connect_timeout(&addr, c.timeout).map_err(|e| {
            if i == 0 {
                format!("cannot connect to {target} ({addr}): {e}; is the server running?")
            } else {
                format!(
                    "connection {} of {} to {target} failed: {e} (the server's maxclients, \
                     or this process's open-file limit, `ulimit -n`?)",
                    i + 1,
                    c.connections
                )
            }
        })?;
        // Nagle's algorithm would hold back a small request waiting for the
        // previous one's ACK; latency tools must disable it.
        stream
            .set_nodelay(true)
            .and_then(|()| stream.set_nonblocking(true))
            .map_err(|e| format!("connection {}: {e}", i + 1))?;
        streams.push(stream);
    }
    Ok(streams)
}

/// Wait until every worker finished its prefill, printing progress.
fn wait_for_prefill(
    c: &Config,
    shared: &Shared,
    rx: &mpsc::Receiver<Outcome>,
) -> Result<(), String> {
    let started = Instant::now();
    let mut next_progress = started + PROGRESS_INTERVAL;
    loop {
        if shared.gate.wait_arrivals(c.threads, WAIT_SLICE) == c.threads {
            return Ok(());
        }
        // Before the gate a worker only reports if it failed.
        match rx.try_recv() {
            Ok((t, Err(e))) => return Err(worker_failure(t, e)),
            Ok((t, Ok(_))) => return Err(format!("worker {t} ended before measuring")),
            Err(mpsc::TryRecvError::Empty) => {}
            Err(mpsc::TryRecvError::Disconnected) => {
                return Err("every worker thread exited during the prefill".into())
            }
        }
        let now = Instant::now();
        if now >= next_progress {
            next_progress = now + PROGRESS_INTERVAL;
            if c.prefill && !c.quiet {
                let done = shared.progress_total();
                eprintln!(
                    "prefill: {done} of {} keys ({:.0}%)",
                    c.keys,
                    100.0 * done as f64 / c.keys as f64
                );
            }
        }
    }
}

/// Collect every worker's result, printing progress once a second.
fn wait_for_results(
    c: &Config,
    shared: &Shared,
    rx: &mpsc::Receiver<Outcome>,
    start: Instant,
    results: &mut [Option<WorkerResult>],
) -> Result<(), String> {
    // The workers bound themselves (deadline, stall timeout); this is the
    // backstop if one of them is stuck anyway.
    let give_up = start + c.duration + 2 * c.timeout + Duration::from_secs(5);
    let mut pending = results.len();
    let mut next_progress = start + PROGRESS_INTERVAL;
    let mut last = (start, 0u64);
    while pending > 0 {
        let now = Instant::now();
        if now >= give_up {
            return Err("worker threads did not finish in time".into());
        }
        let wait = next_progress.saturating_duration_since(now).min(WAIT_SLICE);
        match rx.recv_timeout(wait) {
            Ok((t, Ok(r))) => {
                if let Some(slot) = results.get_mut(t) {
                    *slot = Some(r);
                }
                pending -= 1;
            }
            Ok((t, Err(e))) => return Err(worker_failure(t, e)),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err("a worker thread exited without a result".into())
            }
        }
        let now = Instant::now();
        if now >= next_progress {
            // Advanced even when quiet: it also paces this loop's waits.
            next_progress = now + PROGRESS_INTERVAL;
            if !c.quiet {
                let done = shared.progress_total();
                let total_s = now.duration_since(start).as_secs_f64();
                let recent_s = now.duration_since(last.0).as_secs_f64();
                eprintln!(
                    "[{total_s:5.1}s] {done} requests, {:.0} ops/s (last second {:.0} ops/s)",
                    done as f64 / total_s,
                    done.saturating_sub(last.1) as f64 / recent_s
                );
                last = (now, done);
            }
        }
    }
    Ok(())
}

fn worker_failure(t: usize, e: WorkerError) -> String {
    match e {
        WorkerError::Failed(msg) => msg,
        WorkerError::Cancelled => format!("worker {t} was cancelled"),
    }
}

/// Tell every worker to stop, then wait for them (each notices within
/// `driver`'s poll slice).
fn stop(shared: &Shared, handles: Vec<JoinHandle<()>>) {
    shared.abort.store(true, Ordering::Relaxed);
    shared.gate.cancel();
    for h in handles {
        let _ = h.join();
    }
}
