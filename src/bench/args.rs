//! Command-line options of `redislite-benchmark`: parsing, defaults and
//! limits, in one table-like place.
//!
//! Owns: `Config` (what a run does) and `USAGE`.
//!
//! Must never: accept a value that makes a run unbounded — every count,
//! size and time has an upper limit here, checked before any connection is
//! opened — or silently ignore an unknown option.
//!
//! Invariant: a `Config` that `parse` returned is valid: the rest of the
//! tool does not re-check ranges.

use super::workload::{Mix, KEYS_MAX};
use super::zipf::EXPONENT_MAX;
use std::time::Duration;

pub const CONNECTIONS_MAX: usize = 10_000;
pub const THREADS_MAX: usize = 256;
pub const PIPELINE_MAX: usize = 1024;
pub const VALUE_BYTES_MAX: usize = 1024 * 1024;
pub const REQUESTS_MAX: u64 = 1_000_000_000_000;
pub const DURATION_MAX: Duration = Duration::from_secs(24 * 3600);
/// Time limit of a run given only `--requests`: a count alone could take
/// arbitrarily long against a slow server.
pub const REQUESTS_ONLY_DURATION: Duration = Duration::from_secs(3600);
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);
pub const RATE_MAX: f64 = 1e9;
/// Request buffers of all connections together (connections x pipeline x
/// request size) may not exceed this.
pub const BUFFER_BYTES_MAX: u64 = 1024 * 1024 * 1024;
/// Default seed: a fixed value, so two runs with the same options send
/// the same commands.
pub const DEFAULT_SEED: u64 = 0x5EED_2024;

pub const USAGE: &str = "\
redislite-benchmark: a load generator for any RESP (Redis protocol) server

Usage: redislite-benchmark [OPTIONS]

Connection:
  --host HOST            server host (default 127.0.0.1)
  --port PORT            server port (default 6379)
  --connections C        connections (default 50)
  --threads T            worker threads, each driving C/T connections (default 1)
  --timeout SECS         connect timeout, and the longest wait for a reply
                         before the run fails (default 10)

Workload:
  --ratio G:S            GET:SET weights (default 80:20; 0:100 = SET only)
  --keys N               key space size, keys key:000000000000.. (default 1000000)
  --dist D               key distribution: uniform | zipf | hot (default uniform)
  --zipf-exponent S      Zipf exponent for --dist zipf (default 0.99)
  --hot-keys-pct P       --dist hot: size of the hot set, % of keys (default 20)
  --hot-ops-pct P        --dist hot: share of requests to the hot set (default 80)
  --value-size BYTES     SET value size (default 32)
  --pipeline P           requests in flight per connection (default 1)
  --seed N               random seed; the same seed sends the same commands
  --no-prefill           skip the warm-up that SETs every key before measuring

Length (whichever ends first):
  --duration SECS        measure for this long (default 10; at most 86400)
  --requests N           measure this many requests (alone: at most 3600 s)

Load shape:
  --rate R               open loop: R requests/s in total, on a fixed schedule;
                         latency counts from each request's scheduled time
                         (default: closed loop, as fast as replies come back)

Output:
  --json                 print one JSON object instead of the text report
  --quiet                no progress line on stderr
  --server-pid PID       also report the server's CPU time per request
                         (utime+stime from /proc/PID/stat)
  --help                 this text
";

/// How keys are chosen (the `KeyDist` is built from this once the key
/// count is known).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DistSpec {
    Uniform,
    Zipf,
    Hot,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub connections: usize,
    pub threads: usize,
    pub pipeline: usize,
    pub keys: u64,
    pub dist: DistSpec,
    pub zipf_exponent: f64,
    pub hot_keys_pct: f64,
    pub hot_ops_pct: f64,
    pub value_size: usize,
    pub mix: Mix,
    /// Always set: the run's time limit.
    pub duration: Duration,
    pub requests: Option<u64>,
    /// Total requests per second, open loop; None = closed loop.
    pub rate: Option<f64>,
    pub prefill: bool,
    pub seed: u64,
    pub json: bool,
    pub quiet: bool,
    pub server_pid: Option<u32>,
    pub timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 6379,
            connections: 50,
            threads: 1,
            pipeline: 1,
            keys: 1_000_000,
            dist: DistSpec::Uniform,
            zipf_exponent: 0.99,
            hot_keys_pct: 20.0,
            hot_ops_pct: 80.0,
            value_size: 32,
            mix: Mix {
                get_weight: 80,
                set_weight: 20,
            },
            duration: DEFAULT_DURATION,
            requests: None,
            rate: None,
            prefill: true,
            seed: DEFAULT_SEED,
            json: false,
            quiet: false,
            server_pid: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Options that take a value (the match in `parse` handles each).
const VALUE_OPTIONS: &[&str] = &[
    "--host",
    "--port",
    "--connections",
    "--threads",
    "--pipeline",
    "--keys",
    "--value-size",
    "--requests",
    "--seed",
    "--server-pid",
    "--duration",
    "--timeout",
    "--rate",
    "--zipf-exponent",
    "--hot-keys-pct",
    "--hot-ops-pct",
    "--ratio",
    "--dist",
];

pub enum Parsed {
    Run(Config),
    Help,
}

/// Parse the arguments (without the program name). Options take their
/// value as the next argument or after `=` (`--keys=1000`).
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Parsed, String> {
    let mut c = Config::default();
    let mut duration: Option<Duration> = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        // Flags without a value.
        match name.as_str() {
            "--help" => return Ok(Parsed::Help),
            "--json" | "--quiet" | "--no-prefill" => {
                if inline.is_some() {
                    return Err(format!("{name} takes no value"));
                }
                match name.as_str() {
                    "--json" => c.json = true,
                    "--quiet" => c.quiet = true,
                    _ => c.prefill = false,
                }
                continue;
            }
            _ => {}
        }
        if !name.starts_with("--") {
            return Err(format!(
                "unexpected argument '{arg}' (options are --name value)"
            ));
        }
        if !VALUE_OPTIONS.contains(&name.as_str()) {
            return Err(format!("unknown option {name}"));
        }
        let value = match inline {
            Some(v) => v,
            None => args.next().ok_or_else(|| format!("{name} needs a value"))?,
        };
        let v = value.as_str();
        match name.as_str() {
            "--host" => {
                if v.is_empty() {
                    return Err("--host must not be empty".into());
                }
                c.host = value.clone();
            }
            "--port" => c.port = int(&name, v, 1, u16::MAX as u64)? as u16,
            "--connections" => c.connections = int(&name, v, 1, CONNECTIONS_MAX as u64)? as usize,
            "--threads" => c.threads = int(&name, v, 1, THREADS_MAX as u64)? as usize,
            "--pipeline" => c.pipeline = int(&name, v, 1, PIPELINE_MAX as u64)? as usize,
            "--keys" => c.keys = int(&name, v, 1, KEYS_MAX)?,
            "--value-size" => c.value_size = int(&name, v, 0, VALUE_BYTES_MAX as u64)? as usize,
            "--requests" => c.requests = Some(int(&name, v, 1, REQUESTS_MAX)?),
            "--seed" => c.seed = int(&name, v, 0, u64::MAX)?,
            "--server-pid" => c.server_pid = Some(int(&name, v, 1, i32::MAX as u64)? as u32),
            "--duration" => duration = Some(seconds(&name, v, DURATION_MAX)?),
            "--timeout" => c.timeout = seconds(&name, v, Duration::from_secs(3600))?,
            "--rate" => c.rate = Some(positive(&name, v, RATE_MAX)?),
            "--zipf-exponent" => c.zipf_exponent = positive(&name, v, EXPONENT_MAX)?,
            "--hot-keys-pct" => c.hot_keys_pct = positive(&name, v, 100.0)?,
            "--hot-ops-pct" => c.hot_ops_pct = percent(&name, v)?,
            "--ratio" => c.mix = Mix::parse(v).map_err(|e| format!("--ratio: {e}"))?,
            "--dist" => {
                c.dist = match v {
                    "uniform" => DistSpec::Uniform,
                    "zipf" => DistSpec::Zipf,
                    "hot" => DistSpec::Hot,
                    _ => return Err(format!("--dist: expected uniform, zipf or hot, got '{v}'")),
                }
            }
            _ => return Err(format!("unknown option {name}")),
        }
    }
    c.duration = match (duration, c.requests) {
        (Some(d), _) => d,
        (None, Some(_)) => REQUESTS_ONLY_DURATION,
        (None, None) => DEFAULT_DURATION,
    };
    if c.threads > c.connections {
        return Err(format!(
            "--threads {} is more than --connections {}: every thread needs a connection",
            c.threads, c.connections
        ));
    }
    // Each connection holds one batch of requests (and the prefill's, see
    // `driver::prefill_depth`, which is capped lower); bound the total.
    let request_bytes = (c.value_size + 64) as u64;
    let buffers = c.connections as u64 * c.pipeline as u64 * request_bytes;
    if buffers > BUFFER_BYTES_MAX {
        return Err(format!(
            "--connections x --pipeline x --value-size needs {} MiB of request buffers; \
             the limit is {} MiB",
            buffers >> 20,
            BUFFER_BYTES_MAX >> 20
        ));
    }
    Ok(Parsed::Run(c))
}

fn int(name: &str, v: &str, min: u64, max: u64) -> Result<u64, String> {
    let n: u64 = v
        .parse()
        .map_err(|_| format!("{name}: expected an integer, got '{v}'"))?;
    if n < min || n > max {
        return Err(format!("{name}: {n} is outside {min}..={max}"));
    }
    Ok(n)
}

/// A number in (0, max].
fn positive(name: &str, v: &str, max: f64) -> Result<f64, String> {
    let x: f64 = v
        .parse()
        .map_err(|_| format!("{name}: expected a number, got '{v}'"))?;
    // Written so that NaN fails too.
    if !(x > 0.0 && x <= max) {
        return Err(format!(
            "{name}: must be above 0 and at most {max}, got '{v}'"
        ));
    }
    Ok(x)
}

/// A percentage in [0, 100].
fn percent(name: &str, v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(x) if (0.0..=100.0).contains(&x) => Ok(x),
        _ => Err(format!("{name}: expected a percentage 0..100, got '{v}'")),
    }
}

/// Seconds, fractions allowed, from 1 ms to `max`.
fn seconds(name: &str, v: &str, max: Duration) -> Result<Duration, String> {
    let s = positive(name, v, max.as_secs_f64())?;
    if s < 0.001 {
        return Err(format!("{name}: at least 0.001 s, got '{v}'"));
    }
    Ok(Duration::from_secs_f64(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Parsed::Run(c) => Ok(c),
            Parsed::Help => Err("help".into()),
        }
    }

    #[test]
    fn defaults() {
        let c = run(&[]).unwrap();
        assert_eq!(c.connections, 50);
        assert_eq!(c.pipeline, 1);
        assert_eq!(c.keys, 1_000_000);
        assert_eq!(c.mix.get_weight, 80);
        assert_eq!(c.duration, DEFAULT_DURATION);
        assert!(c.prefill && c.rate.is_none() && c.requests.is_none());
    }

    #[test]
    fn values_both_ways() {
        let c = run(&[
            "--keys",
            "1000",
            "--ratio=0:100",
            "--dist",
            "zipf",
            "--no-prefill",
        ])
        .unwrap();
        assert_eq!(c.keys, 1000);
        assert_eq!(c.mix.set_weight, 100);
        assert_eq!(c.dist, DistSpec::Zipf);
        assert!(!c.prefill);
    }

    #[test]
    fn requests_alone_get_a_time_cap() {
        let c = run(&["--requests", "5"]).unwrap();
        assert_eq!(c.duration, REQUESTS_ONLY_DURATION);
        let c = run(&["--requests", "5", "--duration", "2.5"]).unwrap();
        assert_eq!(c.duration, Duration::from_millis(2500));
    }

    #[test]
    fn rejects_out_of_range_and_unknown() {
        for bad in [
            &["--connections", "0"][..],
            &["--connections", "10001"],
            &["--pipeline", "0"],
            &["--keys", "0"],
            &["--keys", "1000000000001"],
            &["--duration", "0"],
            &["--duration", "nan"],
            &["--rate", "0"],
            &["--zipf-exponent", "0"],
            &["--dist", "normal"],
            &["--threads", "3", "--connections", "2"],
            &["--bogus", "1"],
            &["--bogus"],
            &["-h", "localhost"],
            &["--keys"],
            &["--json=yes"],
            &[
                "--connections",
                "10000",
                "--pipeline",
                "1024",
                "--value-size",
                "1000",
            ],
        ] {
            assert!(run(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn help() {
        assert!(matches!(
            parse(["--help".to_string()]).unwrap(),
            Parsed::Help
        ));
    }
}
