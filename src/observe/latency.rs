//! The latency monitor: per-event time series of latency spikes, as Redis's
//! latency.c (LATENCY LATEST / HISTORY / RESET / DOCTOR).
//!
//! Owns: one series per event name. A series is a ring of `SERIES_LEN`
//! (time, milliseconds) samples with at most one sample per second (the
//! worst one) and the all-time maximum.
//!
//! Must never: be fed when `latency-monitor-threshold` is 0. Callers go
//! through `Server::latency_sample` (or check the threshold themselves),
//! so a disabled monitor costs one comparison per event site.
//!
//! Invariants: event names are static strings from the code (never from a
//! peer), so the number of series is bounded by the number of call sites;
//! each series has a fixed size.
//!
//! Events recorded today: `command`, `fast-command` (commands flagged
//! FAST), `expire-cycle` (the active expiry cycle) and `event-loop` (one
//! loop turn: everything between two polls). Other subsystems add theirs
//! (`eviction-cycle`, `aof-fsync-always`, `aof-write`, `snapshot`...) with
//! one `srv.latency_sample(event, ms)` call.

/// Samples kept per event (Redis's LATENCY_TS_LEN).
pub const SERIES_LEN: usize = 160;

#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Unix seconds; 0 = empty slot.
    pub time: i64,
    pub latency_ms: u64,
}

#[derive(Debug, Clone)]
pub struct Series {
    pub event: &'static str,
    /// Next slot to write.
    idx: usize,
    pub max_ms: u64,
    samples: [Sample; SERIES_LEN],
}

impl Series {
    fn new(event: &'static str) -> Series {
        Series {
            event,
            idx: 0,
            max_ms: 0,
            samples: [Sample::default(); SERIES_LEN],
        }
    }

    /// The newest sample.
    pub fn latest(&self) -> Sample {
        self.samples[(self.idx + SERIES_LEN - 1) % SERIES_LEN]
    }

    /// Non-empty samples, oldest first.
    pub fn history(&self) -> impl Iterator<Item = Sample> + '_ {
        (0..SERIES_LEN)
            .map(move |j| self.samples[(self.idx + j) % SERIES_LEN])
            .filter(|s| s.time != 0)
    }
}

#[derive(Debug, Default)]
pub struct LatencyMonitor {
    /// In first-seen order; a handful of entries, so a linear scan by
    /// pointer-equal static names is cheaper than hashing.
    series: Vec<Series>,
}

impl LatencyMonitor {
    /// Record `ms` for `event` at `now_secs`. Within one second only the
    /// worst sample is kept, as Redis.
    pub fn add_sample(&mut self, event: &'static str, ms: u64, now_secs: i64) {
        let pos = match self.series.iter().position(|s| s.event == event) {
            Some(p) => p,
            None => {
                self.series.push(Series::new(event));
                self.series.len() - 1
            }
        };
        let s = &mut self.series[pos];
        s.max_ms = s.max_ms.max(ms);
        let prev = (s.idx + SERIES_LEN - 1) % SERIES_LEN;
        if s.samples[prev].time == now_secs {
            s.samples[prev].latency_ms = s.samples[prev].latency_ms.max(ms);
            return;
        }
        s.samples[s.idx] = Sample {
            time: now_secs,
            latency_ms: ms,
        };
        s.idx = (s.idx + 1) % SERIES_LEN;
    }

    pub fn series(&self) -> &[Series] {
        &self.series
    }

    pub fn get(&self, event: &[u8]) -> Option<&Series> {
        self.series.iter().find(|s| s.event.as_bytes() == event)
    }

    /// Forget all events; returns how many there were.
    pub fn reset_all(&mut self) -> usize {
        let n = self.series.len();
        self.series.clear();
        n
    }

    /// Forget one event; returns whether it existed.
    pub fn reset(&mut self, event: &[u8]) -> bool {
        let before = self.series.len();
        self.series.retain(|s| s.event.as_bytes() != event);
        before != self.series.len()
    }

    /// LATENCY GRAPH: Redis's ASCII chart of an event's samples, oldest
    /// first: a header line (high, low and all-time high), 80 dashes, then
    /// the samples as columns 4 rows high (see `sparkline`), each labelled
    /// below, vertically, with how long ago it happened (`12s`, `3m`, `1h`,
    /// `2d`). None if the event has no samples.
    pub fn graph(&self, event: &[u8], now_secs: i64) -> Option<String> {
        let s = self.get(event)?;
        let samples: Vec<Sample> = s.history().collect();
        let low = samples.iter().map(|x| x.latency_ms).min()?;
        let high = samples.iter().map(|x| x.latency_ms).max()?;
        let mut out = format!(
            "{} - high {} ms, low {} ms (all time high {} ms)\n",
            s.event, high, low, s.max_ms
        );
        out.push_str(&"-".repeat(GRAPH_COLUMNS));
        out.push('\n');
        let points: Vec<(u64, String)> = samples
            .iter()
            .map(|x| {
                let ago = (now_secs - x.time).max(0);
                let label = match ago {
                    a if a < 60 => format!("{a}s"),
                    a if a < 3600 => format!("{}m", a / 60),
                    a if a < 86400 => format!("{}h", a / 3600),
                    a => format!("{}d", a / 86400),
                };
                (x.latency_ms, label)
            })
            .collect();
        for (n, chunk) in points.chunks(GRAPH_COLUMNS).enumerate() {
            if n > 0 {
                out.push('\n');
            }
            sparkline(&mut out, chunk, low, high);
        }
        Some(out)
    }

    /// LATENCY DOCTOR: Redis's report header and per-event statistics
    /// (spikes, average, mean deviation, period, worst). Redis follows the
    /// statistics with tuning advice drawn from its configuration and the
    /// machine; we give its advice for command events (slow log, large
    /// objects) and otherwise its "no easy fix" closing.
    pub fn doctor(&self, threshold_ms: u64, now_secs: i64) -> String {
        if self.series.is_empty() && threshold_ms == 0 {
            return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".into();
        }
        if self.series.is_empty() {
            return "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n".into();
        }
        let mut out = String::from("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        for (n, s) in self.series.iter().enumerate() {
            let samples: Vec<Sample> = s.history().collect();
            let count = samples.len().max(1) as u64;
            let sum: u64 = samples.iter().map(|x| x.latency_ms).sum();
            let avg = sum / count;
            let mad = samples
                .iter()
                .map(|x| x.latency_ms.abs_diff(avg))
                .sum::<u64>()
                / count;
            let oldest = samples.first().map_or(now_secs, |x| x.time);
            // Redis counts a period of at least one second.
            let period = (now_secs - oldest).max(1) as f64;
            out.push_str(&format!(
                "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.\n",
                n + 1,
                s.event,
                samples.len(),
                avg,
                mad,
                period / count as f64,
                s.max_ms
            ));
        }
        // Of Redis's advice, the part that applies to command events.
        let command_events = self
            .series
            .iter()
            .any(|s| s.event == "command" || s.event == "fast-command");
        if command_events {
            out.push_str("\nI have a few advices for you:\n\n");
            out.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
            out.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
        } else {
            out.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
        }
        out
    }
}

/// Width of LATENCY GRAPH (Redis's LATENCY_GRAPH_COLS).
const GRAPH_COLUMNS: usize = 80;
/// Rows of bars in LATENCY GRAPH.
const GRAPH_ROWS: usize = 4;
/// Each row splits into three levels; a full cell below the top is `|`.
const GRAPH_LEVELS: &[u8; 3] = b"_o#";

/// Draw one band of at most `GRAPH_COLUMNS` samples as Redis's filled
/// sparkline: each sample is scaled to one of 12 steps between `low` and
/// `high` (truncating, as Redis's integer arithmetic); row r (0 = top)
/// shows the step's level in that row, `|` where the bar passes through,
/// blank above. One blank line follows, then the labels written downwards,
/// one character per line, until the longest label ends.
fn sparkline(out: &mut String, points: &[(u64, String)], low: u64, high: u64) {
    let steps = (GRAPH_LEVELS.len() * GRAPH_ROWS) as i64;
    let range = if high > low { (high - low) as f64 } else { 1.0 };
    let step_of = |v: u64| -> i64 {
        let scaled = ((v - low) as f64 * steps as f64) as i64;
        ((scaled as f64 / range) as i64).clamp(0, steps - 1)
    };
    let levels = GRAPH_LEVELS.len() as i64;
    for row in 0..GRAPH_ROWS as i64 {
        for (v, _) in points {
            let level = step_of(*v) - (GRAPH_ROWS as i64 - row - 1) * levels;
            out.push(match level {
                l if l < 0 => ' ',
                l if l < levels => GRAPH_LEVELS[l as usize] as char,
                _ => '|',
            });
        }
        out.push('\n');
    }
    out.push_str(&" ".repeat(points.len()));
    out.push('\n');
    let longest = points.iter().map(|(_, l)| l.len()).max().unwrap_or(0);
    for i in 0..longest {
        for (_, label) in points {
            out.push(label.as_bytes().get(i).map_or(' ', |&b| b as char));
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sample_per_second_keeps_the_worst() {
        let mut m = LatencyMonitor::default();
        m.add_sample("command", 5, 100);
        m.add_sample("command", 9, 100);
        m.add_sample("command", 3, 100);
        m.add_sample("command", 4, 101);
        let s = m.get(b"command").unwrap();
        let h: Vec<(i64, u64)> = s.history().map(|x| (x.time, x.latency_ms)).collect();
        assert_eq!(h, vec![(100, 9), (101, 4)]);
        assert_eq!(s.max_ms, 9);
        assert_eq!(s.latest().latency_ms, 4);
    }

    #[test]
    fn graph_draws_like_redis() {
        let mut m = LatencyMonitor::default();
        assert!(m.graph(b"command", 100).is_none());
        // What redis-server 7.0 drew for samples of 50 ms (1 s ago) and
        // 23 ms (now).
        m.add_sample("command", 50, 99);
        m.add_sample("command", 23, 100);
        assert_eq!(
            m.graph(b"command", 100).unwrap(),
            format!(
                "command - high 50 ms, low 23 ms (all time high 50 ms)\n{}\n# \n| \n| \n|_\n  \n10\nss\n",
                "-".repeat(80)
            )
        );
    }

    #[test]
    fn ring_is_bounded() {
        let mut m = LatencyMonitor::default();
        for t in 1..=1000 {
            m.add_sample("event-loop", t as u64, t);
        }
        let s = m.get(b"event-loop").unwrap();
        assert_eq!(s.history().count(), SERIES_LEN);
        assert_eq!(
            s.history().next().unwrap().time,
            1000 - SERIES_LEN as i64 + 1
        );
        assert_eq!(m.reset_all(), 1);
    }
}
