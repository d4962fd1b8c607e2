//! LFU access counters, the way Redis keeps them in an object's 24-bit
//! clock field: the high 16 bits hold the last decrement time in minutes,
//! the low 8 bits a logarithmic access counter.
//!
//! Owns: the arithmetic only (new-object value, decay, probabilistic
//! increment). The keyspace decides when to call it: on every access while
//! an LFU maxmemory policy is selected. OBJECT FREQ reads
//! [`decayed_counter`]; LFU eviction (its own issue) will rank keys by it.
//!
//! Invariant: the counter saturates at 255 and never goes below 0; decay is
//! `lfu-decay-time` minutes per point (0 disables decay).

/// Counter given to new objects, so they are not evicted before they had
/// a chance to be accessed (Redis's LFU_INIT_VAL).
pub const LFU_INIT_VAL: u8 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LfuParams {
    pub log_factor: u64,
    pub decay_time_minutes: u64,
}

/// Minutes clock, 16 bits, as stored in the object.
pub fn minutes_clock(now_ms: i64) -> u32 {
    ((now_ms / 60_000) as u32) & 0xFFFF
}

/// Field value for a new object.
pub fn initial(now_ms: i64) -> u32 {
    (minutes_clock(now_ms) << 8) | LFU_INIT_VAL as u32
}

/// Minutes elapsed since `last`, handling the 16-bit wrap.
fn minutes_since(last: u32, now: u32) -> u32 {
    if now >= last {
        now - last
    } else {
        65535 - last + now
    }
}

/// The counter after applying decay for the time since the last
/// decrement (not stored).
pub fn decayed_counter(field: u32, now_ms: i64, p: LfuParams) -> u8 {
    let counter = (field & 0xFF) as u8;
    let last = field >> 8;
    // A decay time of 0 disables decay.
    let periods = (minutes_since(last, minutes_clock(now_ms)) as u64)
        .checked_div(p.decay_time_minutes)
        .unwrap_or(0);
    if periods >= counter as u64 {
        0
    } else {
        counter - periods as u8
    }
}

/// Logarithmic increment: the higher the counter, the less likely a hit
/// raises it (probability 1 / ((counter - init) * log_factor + 1)).
fn log_incr(counter: u8, log_factor: u64, rng: &mut u64) -> u8 {
    if counter == 255 {
        return 255;
    }
    let r = (crate::dict::rng_next(rng) >> 11) as f64 / (1u64 << 53) as f64;
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

/// New field value after one access.
pub fn on_access(field: u32, now_ms: i64, p: LfuParams, rng: &mut u64) -> u32 {
    let counter = decayed_counter(field, now_ms, p);
    let counter = log_incr(counter, p.log_factor, rng);
    (minutes_clock(now_ms) << 8) | counter as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: LfuParams = LfuParams {
        log_factor: 10,
        decay_time_minutes: 1,
    };

    #[test]
    fn new_objects_start_at_init_value() {
        assert_eq!(decayed_counter(initial(0), 0, P), LFU_INIT_VAL);
    }

    #[test]
    fn counter_grows_logarithmically_and_saturates() {
        let mut rng = 42u64;
        let mut f = initial(0);
        for _ in 0..100 {
            f = on_access(f, 0, P, &mut rng);
        }
        let after_100 = decayed_counter(f, 0, P);
        for _ in 0..1_000_000 {
            f = on_access(f, 0, P, &mut rng);
        }
        let after_1m = decayed_counter(f, 0, P);
        // With log factor 10, 100 hits give about +4 (each point costs 10
        // more hits than the previous one) and a million hits
        // get close to saturation (Redis's documented table).
        assert!((8..=20).contains(&after_100), "{after_100}");
        assert!(after_1m >= 200, "{after_1m}");
        let no_factor = LfuParams {
            log_factor: 0,
            decay_time_minutes: 1,
        };
        let mut g = initial(0);
        for _ in 0..300 {
            g = on_access(g, 0, no_factor, &mut rng);
        }
        assert_eq!(decayed_counter(g, 0, no_factor), 255);
    }

    #[test]
    fn counter_decays_one_point_per_period() {
        let f = (minutes_clock(0) << 8) | 20;
        assert_eq!(decayed_counter(f, 3 * 60_000, P), 17);
        assert_eq!(decayed_counter(f, 300 * 60_000, P), 0);
        let slow = LfuParams {
            log_factor: 10,
            decay_time_minutes: 0,
        };
        assert_eq!(decayed_counter(f, 300 * 60_000, slow), 20);
    }
}
