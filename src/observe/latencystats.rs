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
//!
//! Nearly every call takes less than `RECENT_US` microseconds; those are
//! only counted (one increment, no histogram index computation: that was
//! 4% of a pipelined GET) and folded into the histograms when someone
//! reads them. Invariant: every reader goes through `folded`, so what it
//! sees is exactly what recording each call into its histogram would give.

use hdrhistogram::Histogram;
use std::cell::{Ref, RefCell};

/// Range and precision of Redis's latency histograms.
const LOWEST_NS: u64 = 1;
const HIGHEST_NS: u64 = 1_000_000_000;
const SIGFIG: u8 = 2;
/// Calls shorter than this many microseconds are counted per value and
/// folded into the histogram on read.
const RECENT_US: usize = 8;

type Hists = Vec<Option<Box<Histogram<u64>>>>;

/// A command's LATENCY HISTOGRAM entry.
#[derive(Debug, PartialEq)]
pub struct Cdf {
    pub calls: u64,
    /// (bucket's highest microsecond, samples up to it), increasing.
    pub buckets: Vec<(u64, u64)>,
}

#[derive(Default)]
pub struct CommandLatencies {
    /// Indexed like the command table. In a cell so that readers, which
    /// hold the server shared, can fold `recent` in first.
    hists: RefCell<Hists>,
    /// Calls not yet in `hists`, per command, by duration in microseconds
    /// (0 .. RECENT_US).
    recent: RefCell<Vec<[u64; RECENT_US]>>,
    /// Total recorded microseconds per command (the histogram's `_sum`).
    sums_us: Vec<u64>,
}

fn new_histogram() -> Box<Histogram<u64>> {
    Box::new(
        Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, SIGFIG)
            .expect("static histogram bounds are valid"),
    )
}

/// A duration as recorded: nanoseconds, clamped to the histogram's range.
fn ns_of(usec: u64) -> u64 {
    usec.saturating_mul(1000).clamp(LOWEST_NS, HIGHEST_NS)
}

impl CommandLatencies {
    pub fn new(commands: usize) -> CommandLatencies {
        CommandLatencies {
            hists: RefCell::new((0..commands).map(|_| None).collect()),
            recent: RefCell::new(vec![[0; RECENT_US]; commands]),
            sums_us: vec![0; commands],
        }
    }

    /// The histograms with every recent call folded in. (A reader that
    /// still holds an earlier result shares the cells: then the fold
    /// waits for the next read rather than panic on a double borrow.)
    fn folded(&self) -> Ref<'_, Hists> {
        if let (Ok(mut hists), Ok(mut recent)) =
            (self.hists.try_borrow_mut(), self.recent.try_borrow_mut())
        {
            for (slot, counts) in hists.iter_mut().zip(recent.iter_mut()) {
                if counts.iter().all(|&n| n == 0) {
                    continue;
                }
                let h = slot.get_or_insert_with(new_histogram);
                for (usec, n) in counts.iter_mut().enumerate() {
                    if *n > 0 {
                        // Within bounds by ns_of's clamp: cannot fail.
                        let _ = h.record_n(ns_of(usec as u64), *n);
                        *n = 0;
                    }
                }
            }
        }
        self.hists.borrow()
    }

    /// Record one call of command `idx` that took `usec`.
    #[inline]
    pub fn record(&mut self, idx: usize, usec: u64) {
        let Some(sum) = self.sums_us.get_mut(idx) else {
            return;
        };
        *sum = sum.saturating_add(usec);
        let recent = self.recent.get_mut();
        if let Some(n) = recent.get_mut(idx).and_then(|c| c.get_mut(usec as usize)) {
            *n += 1;
            return;
        }
        if let Some(slot) = self.hists.get_mut().get_mut(idx) {
            // Within bounds by ns_of's clamp: cannot fail.
            let _ = slot.get_or_insert_with(new_histogram).record(ns_of(usec));
        }
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&mut self) {
        self.hists.get_mut().iter_mut().for_each(|h| *h = None);
        self.recent
            .get_mut()
            .iter_mut()
            .for_each(|c| *c = [0; RECENT_US]);
        self.sums_us.iter_mut().for_each(|s| *s = 0);
    }

    /// Command `idx`'s histogram (nanoseconds), if it ran.
    pub fn histogram(&self, idx: usize) -> Option<Ref<'_, Histogram<u64>>> {
        Ref::filter_map(self.folded(), |h| h.get(idx)?.as_deref()).ok()
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
        let h = self.histogram(idx)?;
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
        let h = self.histogram(idx)?;
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

    /// Short calls take the counting path, long ones the histogram: the
    /// readers see the same as a histogram fed every call directly.
    #[test]
    fn counted_calls_read_as_recorded_ones() {
        let mut l = CommandLatencies::new(1);
        let mut direct = new_histogram();
        for (i, us) in [0u64, 1, 1, 3, 7, 8, 9, 2, 0, 150, 1, 7].iter().enumerate() {
            l.record(0, *us);
            direct.record(ns_of(*us)).unwrap();
            // Reading midway folds; recording goes on afterwards.
            if i == 5 {
                assert_eq!(l.histogram(0).unwrap().len(), 6);
            }
        }
        let h = l.histogram(0).unwrap();
        assert_eq!(*h, *direct);
        drop(h);
        assert_eq!(
            l.percentiles(0, &[50.0, 99.0]),
            Some(format!(
                "p50={:.3},p99={:.3}",
                direct.value_at_quantile(0.5) as f64 / 1000.0,
                direct.value_at_quantile(0.99) as f64 / 1000.0
            ))
        );
        l.reset();
        assert!(l.histogram(0).is_none());
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
