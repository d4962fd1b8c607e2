//! Per-command latency histograms for INFO latencystats
//! (`latency_percentiles_usec_<cmd>:p50=..,p99=..,p99.9=..`), as Redis 7.0
//! with `latency-tracking yes`.
//!
//! Owns: one HdrHistogram per command-table entry, created on the
//! command's first call. Like Redis, durations are recorded in
//! nanoseconds (microseconds x 1000) over 1 ns .. 1 s with two significant
//! figures, so the reported values carry Redis's bucket quantisation
//! (1 us reads as 1.003).
//!
//! Must never: allocate per call. A histogram is allocated once per
//! command (about 24 KiB with these bounds), so the total is bounded by the
//! size of the command table; recording is an index computation and an
//! increment. Values above the range are clamped to its top.

use hdrhistogram::Histogram;

/// Range and precision of Redis's latency histograms.
const LOWEST_NS: u64 = 1;
const HIGHEST_NS: u64 = 1_000_000_000;
const SIGFIG: u8 = 2;

/// A command's LATENCY HISTOGRAM entry.
#[derive(Debug, PartialEq)]
pub struct Cdf {
    pub calls: u64,
    /// (bucket's highest microsecond, samples up to it), increasing.
    pub buckets: Vec<(u64, u64)>,
}

#[derive(Default)]
pub struct CommandLatencies {
    /// Indexed like the command table.
    hists: Vec<Option<Box<Histogram<u64>>>>,
    /// Total recorded microseconds per command (the histogram's `_sum`).
    sums_us: Vec<u64>,
}

impl CommandLatencies {
    pub fn new(commands: usize) -> CommandLatencies {
        CommandLatencies {
            hists: (0..commands).map(|_| None).collect(),
            sums_us: vec![0; commands],
        }
    }

    /// Record one call of command `idx` that took `usec`.
    #[inline]
    pub fn record(&mut self, idx: usize, usec: u64) {
        let Some(slot) = self.hists.get_mut(idx) else {
            return;
        };
        let h = slot.get_or_insert_with(|| {
            Box::new(
                Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, SIGFIG)
                    .expect("static histogram bounds are valid"),
            )
        });
        if let Some(sum) = self.sums_us.get_mut(idx) {
            *sum = sum.saturating_add(usec);
        }
        let ns = usec.saturating_mul(1000).clamp(LOWEST_NS, HIGHEST_NS);
        // Within bounds by the clamp, so this cannot fail.
        let _ = h.record(ns);
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&mut self) {
        for h in self.hists.iter_mut() {
            *h = None;
        }
        self.sums_us.iter_mut().for_each(|s| *s = 0);
    }

    /// Command `idx`'s histogram (nanoseconds), if it ran.
    pub fn histogram(&self, idx: usize) -> Option<&Histogram<u64>> {
        self.hists.get(idx)?.as_deref()
    }

    /// Total time recorded for command `idx`, in seconds.
    pub fn sum_seconds(&self, idx: usize) -> f64 {
        self.sums_us.get(idx).copied().unwrap_or(0) as f64 / 1e6
    }

    /// LATENCY HISTOGRAM's view of command `idx`: its number of samples
    /// and the cumulative distribution at power-of-two microsecond
    /// boundaries, as Redis 7.0's reply: for each bucket boundary 2^k ns
    /// (k >= 10), the count of samples up to and including the histogram
    /// bucket holding 2^k, labelled with that bucket's highest value in
    /// microseconds (1, 2, 4, 8, 16, 33, 66, 132...); boundaries that add
    /// nothing are left out. None if the command never ran.
    pub fn cdf(&self, idx: usize) -> Option<Cdf> {
        let h = self.hists.get(idx)?.as_ref()?;
        let total = h.len();
        let mut buckets = Vec::new();
        let mut cumulative = 0u64;
        let mut next_low = 0u64;
        // 2^10 ns up to past the top of the range (2^30 > 1e9): at most 21
        // steps.
        for k in 10..=30u32 {
            let level = 1u64 << k;
            let high = h.highest_equivalent(level);
            let added = h.count_between(next_low, high);
            next_low = high.saturating_add(1);
            if added > 0 {
                cumulative = cumulative.saturating_add(added);
                buckets.push((high / 1000, cumulative));
            }
            if cumulative >= total {
                break;
            }
        }
        Some(Cdf {
            calls: total,
            buckets,
        })
    }

    /// The INFO line body for command `idx`
    /// (`p50=1.003,p99=1.003,p99.9=1.003`), or None if it never ran.
    pub fn percentiles(&self, idx: usize, percentiles: &[f64]) -> Option<String> {
        let h = self.hists.get(idx)?.as_ref()?;
        let parts: Vec<String> = percentiles
            .iter()
            .map(|&p| {
                let v = h.value_at_quantile(p / 100.0);
                format!("p{}={:.3}", p, v as f64 / 1000.0)
            })
            .collect();
        Some(parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantised_like_redis() {
        let mut l = CommandLatencies::new(2);
        for _ in 0..99 {
            l.record(1, 1);
        }
        l.record(1, 50_000);
        assert_eq!(l.percentiles(0, &[50.0]), None);
        let s = l.percentiles(1, &[50.0, 99.0, 99.9]).unwrap();
        assert_eq!(s, "p50=1.003,p99=1.003,p99.9=50069.503");
    }

    #[test]
    fn cdf_buckets_like_redis() {
        let mut l = CommandLatencies::new(1);
        assert!(l.cdf(0).is_none());
        // Redis 7.0 answered these boundaries for samples of 7, 13, 26
        // and 80 microseconds.
        for us in [7, 13, 26, 80, 80] {
            l.record(0, us);
        }
        let cdf = l.cdf(0).unwrap();
        assert_eq!(cdf.calls, 5);
        assert_eq!(cdf.buckets, vec![(8, 1), (16, 2), (33, 3), (132, 5)]);
    }
}
