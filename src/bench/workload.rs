//! What each benchmark request is: GET or SET (`Mix`), which key
//! (`KeyDist`), and its bytes on the wire (`Workload`).
//!
//! Owns: the pseudo-random generator (`Rng`), the GET:SET ratio, the key
//! distributions (uniform, Zipf, hot set), the key names and the RESP
//! encoding of the two commands.
//!
//! Must never: allocate per request (commands are appended to a reused
//! buffer; the SET value's bytes are encoded once), or draw a key outside
//! 0..keys.
//!
//! Invariants: keys are named `key:` plus the index in exactly
//! `KEY_DIGITS` decimal digits, so every key has the same length and the
//! prefill's keys are exactly the ones the measurement touches; and every
//! request consumes random numbers only from its connection's own `Rng`,
//! so a connection's command sequence depends on the seed alone, not on
//! thread timing.

use super::zipf::Zipf;

/// Key names: `key:000000123456`.
pub const KEY_PREFIX: &[u8] = b"key:";
/// Digits in a key's index; the key space is at most 10^12 keys.
pub const KEY_DIGITS: usize = 12;
pub const KEY_LEN: usize = KEY_PREFIX.len() + KEY_DIGITS;
pub const KEYS_MAX: u64 = 1_000_000_000_000;
/// Largest accepted weight in `--ratio G:S`.
pub const RATIO_WEIGHT_MAX: u32 = 1_000_000;

/// xoshiro256++ (Blackman and Vigna): fast, 256 bits of state, good
/// statistical quality; seeded through SplitMix64 as its authors advise.
/// Hand-written because it is ten lines and the project keeps runtime
/// dependencies few.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator for one stream (a connection index) of one run seed.
    /// Different streams of the same seed are independent sequences.
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut sm = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut next = || {
            sm = sm.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = sm;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        // SplitMix64 never yields four zero words in a row, so the state
        // is never the all-zero fixed point.
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1), with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in 0..n (n > 0), by the multiply-high method. Its bias is
    /// at most n / 2^64, below anything a benchmark can observe.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Get,
    Set,
}

/// The GET:SET ratio, as integer weights (`80:20`, `0:100`, `3:1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mix {
    pub get_weight: u32,
    pub set_weight: u32,
}

impl Mix {
    /// Parse `G:S`: two non-negative integers up to `RATIO_WEIGHT_MAX`,
    /// not both zero.
    pub fn parse(spec: &str) -> Result<Mix, String> {
        let bad = || format!("expected GET:SET weights such as 80:20 or 0:100, got '{spec}'");
        let (g, s) = spec.split_once(':').ok_or_else(bad)?;
        let g: u32 = g.trim().parse().map_err(|_| bad())?;
        let s: u32 = s.trim().parse().map_err(|_| bad())?;
        if g > RATIO_WEIGHT_MAX || s > RATIO_WEIGHT_MAX {
            return Err(format!(
                "ratio weights are at most {RATIO_WEIGHT_MAX}, got '{spec}'"
            ));
        }
        if g == 0 && s == 0 {
            return Err("the ratio 0:0 sends nothing; give at least one non-zero weight".into());
        }
        Ok(Mix {
            get_weight: g,
            set_weight: s,
        })
    }

    /// The fraction of requests that are GETs.
    pub fn get_fraction(&self) -> f64 {
        self.get_weight as f64 / (self.get_weight as f64 + self.set_weight as f64)
    }

    /// Draw one operation. Exactly one random number per call, whatever
    /// the ratio, so changing the ratio does not shift the key sequence's
    /// alignment in surprising ways, and 100:0 / 0:100 are exact.
    pub fn pick(&self, rng: &mut Rng) -> Op {
        let total = self.get_weight as u64 + self.set_weight as u64;
        if rng.below(total) < self.get_weight as u64 {
            Op::Get
        } else {
            Op::Set
        }
    }
}

/// How keys are chosen: an index in 0..keys.
#[derive(Clone, Debug)]
pub enum KeyDist {
    /// Every key equally likely.
    Uniform { keys: u64 },
    /// Key index = Zipf rank - 1: key 0 is the most popular.
    Zipf(Zipf),
    /// `hot_ops` of the requests go to the first `hot_keys` keys (uniform
    /// among them), the rest to the other keys (YCSB's "hotspot").
    Hot {
        keys: u64,
        hot_keys: u64,
        hot_ops: f64,
    },
}

impl KeyDist {
    /// The hot-set distribution with `keys_pct` percent of the keys taking
    /// `ops_pct` percent of the requests. The hot set has at least one key.
    pub fn hot(keys: u64, keys_pct: f64, ops_pct: f64) -> Result<KeyDist, String> {
        if !(keys_pct > 0.0 && keys_pct <= 100.0) {
            return Err(format!(
                "--hot-keys-pct must be in (0, 100], got {keys_pct}"
            ));
        }
        if !(0.0..=100.0).contains(&ops_pct) {
            return Err(format!("--hot-ops-pct must be in [0, 100], got {ops_pct}"));
        }
        let hot_keys = ((keys as f64 * keys_pct / 100.0).round() as u64).clamp(1, keys);
        Ok(KeyDist::Hot {
            keys,
            hot_keys,
            hot_ops: ops_pct / 100.0,
        })
    }

    pub fn keys(&self) -> u64 {
        match self {
            KeyDist::Uniform { keys } | KeyDist::Hot { keys, .. } => *keys,
            KeyDist::Zipf(z) => z.ranks(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            KeyDist::Uniform { .. } => "uniform",
            KeyDist::Zipf(_) => "zipf",
            KeyDist::Hot { .. } => "hot",
        }
    }

    /// One key index in 0..keys.
    pub fn sample(&self, rng: &mut Rng) -> u64 {
        match self {
            KeyDist::Uniform { keys } => rng.below(*keys),
            KeyDist::Zipf(z) => z.sample(rng) - 1,
            KeyDist::Hot {
                keys,
                hot_keys,
                hot_ops,
            } => {
                let cold_keys = keys - hot_keys;
                if cold_keys == 0 || rng.next_f64() < *hot_ops {
                    rng.below(*hot_keys)
                } else {
                    hot_keys + rng.below(cold_keys)
                }
            }
        }
    }
}

/// Write the name of key `index` (< KEYS_MAX) into `out`.
pub fn key_name(index: u64, out: &mut [u8; KEY_LEN]) {
    debug_assert!(index < KEYS_MAX);
    out[..KEY_PREFIX.len()].copy_from_slice(KEY_PREFIX);
    let mut rest = index;
    for slot in out[KEY_PREFIX.len()..].iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
}

/// Everything a connection needs to generate requests. Immutable; one
/// instance is shared by all threads.
#[derive(Clone, Debug)]
pub struct Workload {
    pub mix: Mix,
    pub dist: KeyDist,
    /// The SET value's RESP encoding, `$<len>\r\n<bytes>\r\n`, built once.
    set_value: Vec<u8>,
    value_size: usize,
}

/// `*2\r\n$3\r\nGET\r\n$16\r\n`: everything before a GET's key.
const GET_HEAD: &[u8] = b"*2\r\n$3\r\nGET\r\n$16\r\n";
/// `*3\r\n$3\r\nSET\r\n$16\r\n`: everything before a SET's key.
const SET_HEAD: &[u8] = b"*3\r\n$3\r\nSET\r\n$16\r\n";

impl Workload {
    pub fn new(mix: Mix, dist: KeyDist, value_size: usize) -> Workload {
        // The heads above hard-code the key length.
        debug_assert_eq!(KEY_LEN, 16);
        let mut set_value = format!("${value_size}\r\n").into_bytes();
        // 'x' bytes, as redis-benchmark's values: the content does not
        // matter to a server that stores strings opaquely.
        set_value.resize(set_value.len() + value_size, b'x');
        set_value.extend_from_slice(b"\r\n");
        Workload {
            mix,
            dist,
            set_value,
            value_size,
        }
    }

    pub fn value_size(&self) -> usize {
        self.value_size
    }

    /// Bytes of the largest request this workload sends (a SET).
    pub fn request_bytes_max(&self) -> usize {
        SET_HEAD.len() + KEY_LEN + 2 + self.set_value.len()
    }

    /// Append one request drawn from the mix and key distribution.
    pub fn push_request(&self, rng: &mut Rng, out: &mut Vec<u8>) -> Op {
        let op = self.mix.pick(rng);
        let key = self.dist.sample(rng);
        match op {
            Op::Get => push_get(key, out),
            Op::Set => self.push_set(key, out),
        }
        op
    }

    /// Append `SET key:<index> <value>`.
    pub fn push_set(&self, index: u64, out: &mut Vec<u8>) {
        let mut key = [0u8; KEY_LEN];
        key_name(index, &mut key);
        out.extend_from_slice(SET_HEAD);
        out.extend_from_slice(&key);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.set_value);
    }
}

/// Append `GET key:<index>`.
pub fn push_get(index: u64, out: &mut Vec<u8>) {
    let mut key = [0u8; KEY_LEN];
    key_name(index, &mut key);
    out.extend_from_slice(GET_HEAD);
    out.extend_from_slice(&key);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_parses_and_rejects() {
        assert_eq!(
            Mix::parse("80:20").unwrap(),
            Mix {
                get_weight: 80,
                set_weight: 20
            }
        );
        assert_eq!(Mix::parse("0:100").unwrap().get_fraction(), 0.0);
        assert_eq!(Mix::parse("3:1").unwrap().get_fraction(), 0.75);
        for bad in [
            "",
            "80",
            "80:",
            ":20",
            "a:b",
            "0:0",
            "-1:5",
            "80:20:0",
            "2000000:1",
        ] {
            assert!(Mix::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn ratio_split_matches_weights() {
        let mix = Mix::parse("80:20").unwrap();
        let mut rng = Rng::new(1, 0);
        let n = 100_000;
        let gets = (0..n).filter(|_| mix.pick(&mut rng) == Op::Get).count();
        // Binomial sd = sqrt(n p q) ~ 126: +-1% is ~8 sd.
        let frac = gets as f64 / n as f64;
        assert!((frac - 0.8).abs() < 0.01, "GET fraction {frac}");
    }

    #[test]
    fn ratio_extremes_are_exact() {
        let mut rng = Rng::new(5, 5);
        let sets_only = Mix::parse("0:100").unwrap();
        assert!((0..10_000).all(|_| sets_only.pick(&mut rng) == Op::Set));
        let gets_only = Mix::parse("100:0").unwrap();
        assert!((0..10_000).all(|_| gets_only.pick(&mut rng) == Op::Get));
    }

    #[test]
    fn key_names_are_fixed_width() {
        let mut k = [0u8; KEY_LEN];
        key_name(123_456, &mut k);
        assert_eq!(&k, b"key:000000123456");
        key_name(0, &mut k);
        assert_eq!(&k, b"key:000000000000");
        key_name(KEYS_MAX - 1, &mut k);
        assert_eq!(&k, b"key:999999999999");
    }

    #[test]
    fn requests_are_valid_resp() {
        let w = Workload::new(Mix::parse("1:1").unwrap(), KeyDist::Uniform { keys: 10 }, 3);
        let mut out = Vec::new();
        push_get(7, &mut out);
        assert_eq!(out, b"*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000007\r\n");
        out.clear();
        w.push_set(42, &mut out);
        assert_eq!(
            out,
            b"*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000042\r\n$3\r\nxxx\r\n"
        );
        assert_eq!(out.len(), w.request_bytes_max());
    }

    #[test]
    fn distributions_stay_in_range() {
        let dists = [
            KeyDist::Uniform { keys: 1000 },
            KeyDist::Zipf(Zipf::new(1000, 0.99).unwrap()),
            KeyDist::hot(1000, 10.0, 90.0).unwrap(),
            KeyDist::hot(1, 10.0, 90.0).unwrap(),
            KeyDist::hot(1000, 100.0, 50.0).unwrap(),
        ];
        let mut rng = Rng::new(3, 1);
        for d in &dists {
            for _ in 0..10_000 {
                assert!(d.sample(&mut rng) < d.keys(), "{}", d.name());
            }
        }
    }

    #[test]
    fn hot_set_takes_its_share() {
        let d = KeyDist::hot(1000, 10.0, 90.0).unwrap();
        let mut rng = Rng::new(11, 0);
        let n = 100_000;
        let hot = (0..n).filter(|_| d.sample(&mut rng) < 100).count();
        let frac = hot as f64 / n as f64;
        assert!((frac - 0.9).abs() < 0.01, "hot fraction {frac}");
    }

    #[test]
    fn rng_streams_are_repeatable_and_distinct() {
        let seq = |seed, stream| {
            let mut r = Rng::new(seed, stream);
            (0..8).map(|_| r.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(seq(1, 0), seq(1, 0));
        assert_ne!(seq(1, 0), seq(1, 1));
        assert_ne!(seq(1, 0), seq(2, 0));
        let mut r = Rng::new(0, 0);
        for _ in 0..10_000 {
            let f = r.next_f64();
            assert!((0.0..1.0).contains(&f));
            assert!(r.below(7) < 7);
        }
    }
}
