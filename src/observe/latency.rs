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
