//! `math.random` / `math.randomseed` for scripts: the POSIX `rand48`
//! generator, one sequence for the server's life (scripts continue where
//! the previous one stopped; only `math.randomseed` reseeds it), as Redis
//! 7.0 does.
//!
//! Owns: the 48-bit linear congruential state. Why not Lua's own
//! `math.random`: it calls the C library's `rand()`, whose sequence
//! differs between platforms; Redis replaced it so a script's "random"
//! numbers are the same on every server (the script's effects used to be
//! replayed on replicas, and clients still rely on the sequence). The
//! recurrence and constants are the ones POSIX specifies for `lrand48`.
//!
//! Invariant: the state is always below 2^48.

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const INCREMENT: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;
/// `lrand48` returns 31-bit values: 0 ..= 2^31 - 1.
pub const LRAND48_MAX: i64 = i32::MAX as i64;

#[derive(Clone, Copy, Debug)]
pub struct Rand48 {
    state: u64,
}

impl Default for Rand48 {
    /// The state `rand48` starts from when nobody seeded it (what Redis's
    /// scripts see first: `math.random(1000)` gives 397, 841, 354...).
    fn default() -> Rand48 {
        Rand48 {
            state: 0x1234_ABCD_330E,
        }
    }
}

impl Rand48 {
    /// `srand48(seed)`: the seed's low 32 bits above the fixed 0x330E.
    pub fn seeded(seed: i32) -> Rand48 {
        Rand48 {
            state: ((seed as u32 as u64) << 16 | 0x330E) & MASK,
        }
    }

    /// `lrand48()`: the next state's top 31 bits.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> i64 {
        self.state = (self.state.wrapping_mul(MULTIPLIER).wrapping_add(INCREMENT)) & MASK;
        (self.state >> 17) as i64
    }

    /// A float in [0, 1), as Redis's math.random computes it.
    pub fn next_unit(&mut self) -> f64 {
        (self.next() % LRAND48_MAX) as f64 / LRAND48_MAX as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_posix_lrand48() {
        // glibc's srand48(0); lrand48() x3.
        let mut r = Rand48::seeded(0);
        assert_eq!(r.next(), 366850414);
        assert_eq!(r.next(), 1610402240);
        assert_eq!(r.next(), 206956554);
    }

    #[test]
    fn unseeded_sequence_is_redis_first_scripts() {
        // redis-server 7.0.15, fresh: EVAL "return math.random(1000)" x5.
        let mut r = Rand48::default();
        let got: Vec<i64> = (0..5)
            .map(|_| (r.next_unit() * 1000.0).floor() as i64 + 1)
            .collect();
        assert_eq!(got, [397, 841, 354, 447, 319]);
    }

    #[test]
    fn unit_interval() {
        let mut r = Rand48::seeded(7);
        for _ in 0..1000 {
            let x = r.next_unit();
            assert!((0.0..1.0).contains(&x));
        }
    }
}
