//! The benchmark's results and their two renderings: a text report for
//! people, one JSON object (`--json`) for scripts.
//!
//! Owns: `Report` (every reported number, already computed), latency
//! summaries from histograms, and the hand-written JSON (no serde: one
//! flat object does not justify a dependency).
//!
//! Must never: print a number JSON cannot carry (NaN and infinities become
//! `null`), or leave a string unescaped.
//!
//! Invariant: latency figures are microseconds everywhere in the output;
//! the histograms underneath count nanoseconds.

use hdrhistogram::Histogram;
use std::fmt::Write as _;

/// Percentiles of one latency histogram, in microseconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatencySummary {
    /// Values in the histogram (above the request count when corrected
    /// for coordinated omission: the correction adds synthetic samples).
    pub count: u64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    pub mean_us: f64,
}

impl LatencySummary {
    /// Summarise a histogram of nanoseconds.
    pub fn of(h: &Histogram<u64>) -> LatencySummary {
        if h.is_empty() {
            return LatencySummary::default();
        }
        let us = |ns: u64| ns as f64 / 1000.0;
        LatencySummary {
            count: h.len(),
            p50_us: us(h.value_at_quantile(0.50)),
            p90_us: us(h.value_at_quantile(0.90)),
            p99_us: us(h.value_at_quantile(0.99)),
            p999_us: us(h.value_at_quantile(0.999)),
            max_us: us(h.max()),
            mean_us: h.mean() / 1000.0,
        }
    }
}

/// How the coordinated-omission-aware latency was obtained.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CoMethod {
    /// Closed loop: the raw histogram corrected after the run, as
    /// `Histogram::record_correct` with this expected interval would have.
    Corrected { interval_us: f64 },
    /// Open loop (`--rate`): measured from each request's scheduled send
    /// time, so no correction is needed; the schedule's interval per
    /// connection is given for reference.
    Scheduled { interval_us: f64 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct PrefillReport {
    pub keys: u64,
    pub seconds: f64,
    pub errors: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServerCpu {
    pub pid: u32,
    /// utime + stime over the measured window, microseconds.
    pub total_us: f64,
    pub per_request_us: f64,
}

/// Everything a run reports.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub host: String,
    pub port: u16,
    pub connections: usize,
    pub threads: usize,
    pub pipeline: usize,
    pub get_weight: u32,
    pub set_weight: u32,
    pub keys: u64,
    pub dist: &'static str,
    pub zipf_exponent: f64,
    pub value_size: usize,
    pub seed: u64,
    pub rate: Option<f64>,
    pub prefill: Option<PrefillReport>,
    pub requests: u64,
    pub gets: u64,
    pub sets: u64,
    pub errors: u64,
    pub nils: u64,
    pub first_error: Option<String>,
    pub elapsed_s: f64,
    /// "requests" (the --requests count was reached) or "duration".
    pub stopped_by: &'static str,
    pub ops_per_sec: f64,
    pub server_cpu: Option<ServerCpu>,
    /// The coordinated-omission-aware latency (see `co_method`).
    pub latency: LatencySummary,
    /// Latency from the write of each request's batch to its reply.
    pub raw_latency: LatencySummary,
    /// Open loop: how late requests were written after their scheduled
    /// time — waiting for the previous batch's replies (the server's
    /// backlog) plus the client's own wake-up delay. Its low percentiles
    /// show how much of the scheduled latency is the client's.
    pub send_lag: Option<LatencySummary>,
    pub co_method: CoMethod,
}

impl Report {
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let mode = match self.rate {
            None => "closed loop".to_string(),
            Some(r) => format!("open loop at {r} requests/s"),
        };
        let threads = if self.threads == 1 {
            "thread"
        } else {
            "threads"
        };
        let _ = writeln!(
            s,
            "redislite-benchmark {}:{}: {} connections, {} {threads}, pipeline {}, {mode}",
            self.host, self.port, self.connections, self.threads, self.pipeline
        );
        let dist = if self.dist == "zipf" {
            format!("zipf, exponent {}", self.zipf_exponent)
        } else {
            self.dist.to_string()
        };
        let _ = writeln!(
            s,
            "workload: GET:SET {}:{}, {} keys ({dist}), {}-byte values, seed {}",
            self.get_weight, self.set_weight, self.keys, self.value_size, self.seed
        );
        match &self.prefill {
            Some(p) => {
                let _ = writeln!(
                    s,
                    "prefill: {} keys in {:.2} s ({:.0} SET/s), {} errors",
                    p.keys,
                    p.seconds,
                    p.keys as f64 / p.seconds.max(1e-9),
                    p.errors
                );
            }
            None => s.push_str("prefill: skipped (--no-prefill)\n"),
        }
        let _ = writeln!(
            s,
            "measured: {} requests (GET {}, SET {}) in {:.2} s, stopped by {}",
            self.requests, self.gets, self.sets, self.elapsed_s, self.stopped_by
        );
        let _ = writeln!(s, "throughput: {:.0} ops/s", self.ops_per_sec);
        if let Some(rate) = self.rate {
            // Each connection has one batch in flight: when replies take
            // longer than the schedule's interval, the rate cannot be held.
            if self.ops_per_sec < 0.95 * rate {
                let _ = writeln!(
                    s,
                    "note: below the target rate {rate}: replies were slower than the \
                     schedule (more --connections help)"
                );
            }
        }
        let _ = write!(s, "errors: {}   nil replies: {}", self.errors, self.nils);
        match &self.first_error {
            Some(e) => {
                let _ = writeln!(s, "   first error: {e}");
            }
            None => s.push('\n'),
        }
        if let Some(cpu) = &self.server_cpu {
            let _ = writeln!(
                s,
                "server CPU: {:.2} us/request ({:.3} s in total, pid {})",
                cpu.per_request_us,
                cpu.total_us / 1e6,
                cpu.pid
            );
        }
        let _ = writeln!(
            s,
            "\nlatency (us)          p50        p90        p99      p99.9        max       mean"
        );
        let (co_name, note) = match self.co_method {
            CoMethod::Corrected { interval_us } => (
                "CO-corrected",
                format!(
                    "CO-corrected: raw plus the requests a steady client would have sent \
                     during slow replies\n(record_correct, expected interval {interval_us:.1} us \
                     per connection = mean time between its batches)"
                ),
            ),
            CoMethod::Scheduled { interval_us } => (
                "from schedule",
                format!(
                    "from schedule: counted from each request's scheduled send time \
                     (one batch every {interval_us:.1} us per connection),\nso a server \
                     that falls behind the rate is charged for the wait; send lag: how \
                     late batches were written\n(waiting for the previous batch's replies, \
                     plus the client's own wake-up delay)"
                ),
            ),
        };
        let mut rows = vec![("raw", &self.raw_latency), (co_name, &self.latency)];
        if let Some(lag) = &self.send_lag {
            rows.push(("send lag", lag));
        }
        for (name, l) in rows {
            let _ = writeln!(
                s,
                "  {name:<15} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
                l.p50_us, l.p90_us, l.p99_us, l.p999_us, l.max_us, l.mean_us
            );
        }
        let _ = writeln!(
            s,
            "raw: from the write of a request's batch to its reply\n{note}"
        );
        s
    }

    pub fn render_json(&self) -> String {
        let mut o = JsonObject::default();
        o.str("tool", "redislite-benchmark");
        o.str("host", &self.host);
        o.uint("port", self.port as u64);
        o.uint("connections", self.connections as u64);
        o.uint("threads", self.threads as u64);
        o.uint("pipeline", self.pipeline as u64);
        o.str("ratio", &format!("{}:{}", self.get_weight, self.set_weight));
        o.uint("keys", self.keys);
        o.str("dist", self.dist);
        o.num("zipf_exponent", self.zipf_exponent);
        o.uint("value_size", self.value_size as u64);
        o.uint("seed", self.seed);
        o.str(
            "mode",
            if self.rate.is_some() {
                "open"
            } else {
                "closed"
            },
        );
        o.opt_num("rate", self.rate);
        match &self.prefill {
            Some(p) => {
                let mut po = JsonObject::default();
                po.uint("keys", p.keys);
                po.num("seconds", p.seconds);
                po.uint("errors", p.errors);
                o.raw("prefill", &po.finish());
            }
            None => o.raw("prefill", "null"),
        }
        o.uint("requests", self.requests);
        o.uint("gets", self.gets);
        o.uint("sets", self.sets);
        o.uint("errors", self.errors);
        o.uint("nils", self.nils);
        match &self.first_error {
            Some(e) => o.str("first_error", e),
            None => o.raw("first_error", "null"),
        }
        o.num("elapsed_s", self.elapsed_s);
        o.str("stopped_by", self.stopped_by);
        o.num("ops_per_sec", self.ops_per_sec);
        match &self.server_cpu {
            Some(cpu) => o.uint("server_pid", cpu.pid as u64),
            None => o.raw("server_pid", "null"),
        }
        o.opt_num(
            "server_cpu_us",
            self.server_cpu.as_ref().map(|c| c.total_us),
        );
        o.opt_num(
            "server_cpu_us_per_request",
            self.server_cpu.as_ref().map(|c| c.per_request_us),
        );
        let (method, interval_us) = match self.co_method {
            CoMethod::Corrected { interval_us } => ("corrected", interval_us),
            CoMethod::Scheduled { interval_us } => ("scheduled", interval_us),
        };
        let mut lo = latency_object(&self.latency);
        lo.str("method", method);
        lo.num("interval_us", interval_us);
        o.raw("latency_us", &lo.finish());
        o.raw(
            "raw_latency_us",
            &latency_object(&self.raw_latency).finish(),
        );
        match &self.send_lag {
            Some(lag) => o.raw("send_lag_us", &latency_object(lag).finish()),
            None => o.raw("send_lag_us", "null"),
        }
        o.finish()
    }
}

fn latency_object(l: &LatencySummary) -> JsonObject {
    let mut o = JsonObject::default();
    o.uint("count", l.count);
    o.num("p50", l.p50_us);
    o.num("p90", l.p90_us);
    o.num("p99", l.p99_us);
    o.num("p99_9", l.p999_us);
    o.num("max", l.max_us);
    o.num("mean", l.mean_us);
    o
}

/// A JSON object written field by field.
#[derive(Default)]
struct JsonObject {
    body: String,
}

impl JsonObject {
    fn key(&mut self, key: &str) {
        if !self.body.is_empty() {
            self.body.push(',');
        }
        push_json_string(&mut self.body, key);
        self.body.push(':');
    }

    fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        push_json_string(&mut self.body, value);
    }

    fn uint(&mut self, key: &str, value: u64) {
        self.key(key);
        let _ = write!(self.body, "{value}");
    }

    /// Three decimals: microseconds to the nanosecond, seconds to the ms.
    fn num(&mut self, key: &str, value: f64) {
        self.key(key);
        if value.is_finite() {
            let _ = write!(self.body, "{value:.3}");
        } else {
            self.body.push_str("null");
        }
    }

    fn opt_num(&mut self, key: &str, value: Option<f64>) {
        match value {
            Some(v) => self.num(key, v),
            None => self.raw(key, "null"),
        }
    }

    fn raw(&mut self, key: &str, json: &str) {
        self.key(key);
        self.body.push_str(json);
    }

    fn finish(self) -> String {
        format!("{{{}}}", self.body)
    }
}

/// Append `s` as a JSON string literal.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            host: "127.0.0.1".into(),
            port: 6379,
            connections: 2,
            threads: 1,
            pipeline: 1,
            get_weight: 80,
            set_weight: 20,
            keys: 10,
            dist: "uniform",
            zipf_exponent: 0.99,
            value_size: 3,
            seed: 1,
            rate: None,
            prefill: Some(PrefillReport {
                keys: 10,
                seconds: 0.5,
                errors: 0,
            }),
            requests: 100,
            gets: 80,
            sets: 20,
            errors: 1,
            nils: 0,
            first_error: Some("-ERR \"quoted\"\n\u{1}".into()),
            elapsed_s: 1.0,
            stopped_by: "requests",
            ops_per_sec: 100.0,
            server_cpu: None,
            latency: LatencySummary::default(),
            raw_latency: LatencySummary::default(),
            send_lag: None,
            co_method: CoMethod::Corrected {
                interval_us: f64::NAN,
            },
        }
    }

    #[test]
    fn json_escapes_and_nulls() {
        let j = sample().render_json();
        assert!(j.starts_with("{\"tool\":\"redislite-benchmark\""), "{j}");
        assert!(
            j.contains(r#""first_error":"-ERR \"quoted\"\n\u0001""#),
            "{j}"
        );
        assert!(j.contains(r#""server_cpu_us_per_request":null"#), "{j}");
        assert!(j.contains(r#""interval_us":null"#), "{j}");
        assert!(j.contains(r#""rate":null"#), "{j}");
        assert!(j.contains(r#""requests":100,"#), "{j}");
        let v: serde_json::Value = serde_json::from_str(&j).expect("valid JSON");
        assert_eq!(v["first_error"], "-ERR \"quoted\"\n\u{1}");
        assert!(v["send_lag_us"].is_null());
    }

    #[test]
    fn summary_in_microseconds() {
        let mut h = crate::bench::driver::new_histogram();
        for ns in [10_000u64, 20_000, 30_000, 1_000_000] {
            h.record(ns).unwrap();
        }
        let l = LatencySummary::of(&h);
        assert_eq!(l.count, 4);
        assert!((l.p50_us - 20.0).abs() < 0.1, "{l:?}");
        assert!((l.max_us - 1000.0).abs() < 1.0, "{l:?}");
    }

    #[test]
    fn text_mentions_everything() {
        let t = sample().render_text();
        for needle in [
            "ops/s",
            "p99.9",
            "CO-corrected",
            "errors: 1",
            "prefill: 10 keys",
        ] {
            assert!(t.contains(needle), "{needle} missing from:\n{t}");
        }
    }
}
