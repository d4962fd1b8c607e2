//! LZF compression of RDB strings (`rdbcompression`), written from the
//! format's description. Decompression is the `lzf` crate's; its own
//! compressor allocates and zeroes a 512 KiB hash table on every call,
//! which for a snapshot of a million short strings costs more than
//! everything else the save does.
//!
//! The format is a sequence of items, each opened by a control byte:
//! - `000LLLLL`: a literal run, `L + 1` bytes (1..=32) follow;
//! - `LLLOOOOO OOOOOOOO` with `LLL` in 1..=6: copy `LLL + 2` bytes (3..=8)
//!   from `offset + 1` bytes back in the output, `offset` being the 13
//!   bits `OOOOO OOOOOOOO`;
//! - `111OOOOO LLLLLLLL OOOOOOOO`: the same with length `L + 9` (9..=264).
//!
//! A copy may overlap the bytes it produces (offset 0 repeats the last
//! byte), which is how runs compress.
//!
//! Owns: `Compressor`, a greedy compressor with a reusable hash table.
//!
//! Must never: read outside its input or emit an item the format cannot
//! hold (lengths 1..=32 literal, 3..=264 copied, distances 1..=8192).
//!
//! Invariants: decompressing `compress(x)` gives `x` back, and
//! `compress(x)` gives the same bytes whatever was compressed before (a
//! DUMP of a value is always the same payload). The hash table is not
//! cleared between inputs (64 KiB per string would cost more than
//! compressing it): entries hold `base + position`, and each input gets a
//! `base` above every entry an earlier input left, so those read as
//! empty.

/// log2 of the hash table's entries: 16 Ki positions (64 KiB), more than
/// the 8 KiB window can use.
const HASH_BITS: u32 = 14;
/// Longest literal run one control byte announces.
const MAX_LITERAL: usize = 32;
/// Farthest back a copy reaches: 13 bits of offset, plus one.
const MAX_DISTANCE: usize = 1 << 13;
/// After `1 << SKIP_SHIFT` literals in a row, probing steps over
/// positions, one more per `1 << SKIP_SHIFT` (LZ4's acceleration), by at
/// most `SKIP_MAX` extra: within an 8 KiB window a repeat is still found.
const SKIP_SHIFT: u32 = 6;
const SKIP_MAX: usize = 15;
/// Shortest and longest copy.
const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 264;

/// Compresses one input at a time; keeps its hash table between calls.
pub struct Compressor {
    /// For each hash of three bytes, `base + position` of the last place
    /// they were seen in the current input (smaller values: empty).
    table: Box<[u32]>,
    /// Added to the current input's positions; above every entry an
    /// earlier input left.
    base: u32,
}

impl Default for Compressor {
    fn default() -> Self {
        Compressor::new()
    }
}

impl Compressor {
    pub fn new() -> Compressor {
        Compressor {
            table: vec![0; 1 << HASH_BITS].into_boxed_slice(),
            base: 1,
        }
    }

    /// Append the LZF form of `input` to `out` if it takes at most
    /// `max_out` bytes; otherwise leave `out` as it was and return false.
    /// Greedy: at each position, the last earlier position with the same
    /// three bytes (if within reach) is extended as far as it matches.
    pub fn compress(&mut self, input: &[u8], out: &mut Vec<u8>, max_out: usize) -> bool {
        let Ok(len) = u32::try_from(input.len()) else {
            return false; // over 4 GiB: never an RDB string
        };
        if self.base.checked_add(len).is_none() {
            // Once per 4 GiB compressed: start the positions over.
            self.table.fill(0);
            self.base = 1;
        }
        let done = self.compress_from_base(input, out, max_out);
        // The next input's positions start above all of this one's.
        self.base += len;
        done
    }

    fn compress_from_base(&mut self, input: &[u8], out: &mut Vec<u8>, max_out: usize) -> bool {
        let start = out.len();
        let limit = start.saturating_add(max_out);
        let n = input.len();
        // Literals are gathered (from `lit` to `pos`) and written as runs
        // when a copy or the end comes: one bulk copy per 32 bytes instead
        // of a control-byte update per byte.
        let mut lit = 0;
        let mut pos = 0;
        while pos + MIN_MATCH <= n {
            let Some((distance, len)) = self.find_match(input, pos) else {
                // The longer the literals run, the less likely a match:
                // probe every 2nd, 3rd... position (at most every 16th),
                // so input that does not compress costs a fraction of a
                // probe per byte. A match resets the step.
                pos += 1 + ((pos - lit) >> SKIP_SHIFT).min(SKIP_MAX);
                // What the literals alone will take: fail as soon as
                // incompressible input cannot fit any more.
                let pending = pos.min(n) - lit;
                if out.len() + pending + pending.div_ceil(MAX_LITERAL) > limit {
                    out.truncate(start);
                    return false;
                }
                continue;
            };
            put_literals(out, &input[lit..pos]);
            let offset = distance - 1;
            let code = len - 2;
            if code < 7 {
                out.push(((code as u8) << 5) | (offset >> 8) as u8);
            } else {
                out.push((7 << 5) | (offset >> 8) as u8);
                out.push((code - 7) as u8);
            }
            out.push(offset as u8);
            if out.len() > limit {
                out.truncate(start);
                return false;
            }
            // The last two positions inside the copy are worth
            // remembering for later matches into this stretch (enough to
            // keep runs and repeats compressing well).
            let end = pos + len;
            for p in end.saturating_sub(2).max(pos + 1)..end {
                if p + MIN_MATCH <= n {
                    self.table[hash(input, p)] = self.base + p as u32;
                }
            }
            pos = end;
            lit = pos;
        }
        put_literals(out, &input[lit..]);
        if out.len() > limit {
            out.truncate(start);
            return false;
        }
        true
    }

    /// Looks up (and then records) position `pos`: the distance back to a
    /// usable copy and its length, if there is one. The caller checked
    /// that three bytes remain.
    #[inline]
    fn find_match(&mut self, input: &[u8], pos: usize) -> Option<(usize, usize)> {
        let slot = &mut self.table[hash(input, pos)];
        let seen = *slot;
        // `compress` checked that `base + len` fits.
        *slot = self.base + pos as u32;
        // An entry below `base` (empty, or left by an earlier input) wraps
        // to a position past the end of this input, so `in_reach` is
        // false for it: `compress` made sure `base + len` fits in a u32.
        let cand = seen.wrapping_sub(self.base) as usize;
        // One branch for "usable and the same three bytes": on input that
        // does not compress, whether an entry is within reach is a coin
        // toss the branch predictor loses, while "no match" is not. So
        // the reach is computed without branching and the comparison reads
        // a position that is always valid.
        let in_reach = (cand < pos) & (pos.wrapping_sub(cand) <= MAX_DISTANCE);
        let probe = std::hint::select_unpredictable(in_reach, cand, pos);
        let same = (input[probe] == input[pos])
            & (input[probe + 1] == input[pos + 1])
            & (input[probe + 2] == input[pos + 2]);
        if !(in_reach & same) {
            return None;
        }
        let max = (input.len() - pos).min(MAX_MATCH);
        Some((
            pos - cand,
            common_prefix(&input[cand..], &input[pos..pos + max]),
        ))
    }
}

/// Append `lits` as literal runs of at most 32 bytes.
fn put_literals(out: &mut Vec<u8>, lits: &[u8]) {
    for run in lits.chunks(MAX_LITERAL) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
}

/// How many leading bytes `a` and `b` share (at most `b.len()`; `a` is
/// at least as long where it matters: it starts earlier in the same
/// input). Eight bytes at a time.
#[inline]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut n = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let x = u64::from_le_bytes([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]);
        let y = u64::from_le_bytes([y[0], y[1], y[2], y[3], y[4], y[5], y[6], y[7]]);
        if x != y {
            return n + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + a[n..]
        .iter()
        .zip(&b[n..])
        .take_while(|(x, y)| x == y)
        .count()
}

/// Hash of the three bytes at `pos` (the caller checked they exist).
#[inline]
fn hash(input: &[u8], pos: usize) -> usize {
    let v =
        u32::from(input[pos]) << 16 | u32::from(input[pos + 1]) << 8 | u32::from(input[pos + 2]);
    (v.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(c: &mut Compressor, input: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        if !c.compress(input, &mut out, usize::MAX) {
            return None;
        }
        assert_eq!(lzf::decompress(&out, input.len()).unwrap(), input);
        Some(out)
    }

    #[test]
    fn runs_and_repeats_compress_and_come_back() {
        let mut c = Compressor::new();
        let a100 = roundtrip(&mut c, &[b'a'; 100]).unwrap();
        // One literal "a", then one copy of 99 at offset 0 (distance 1).
        assert_eq!(a100, b"\x00a\xe0\x5a\x00");
        let text = b"the quick brown fox jumps over the lazy dog; the quick brown fox".repeat(20);
        let packed = roundtrip(&mut c, &text).unwrap();
        assert!(packed.len() < text.len() / 5, "{} bytes", packed.len());
    }

    #[test]
    fn incompressible_input_is_refused_at_the_limit_and_out_untouched() {
        let mut c = Compressor::new();
        let noise: Vec<u8> = (0..200u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut out = b"keep".to_vec();
        assert!(!c.compress(&noise, &mut out, noise.len() - 4));
        assert_eq!(out, b"keep");
        // Without a limit it still round-trips (literal runs only).
        roundtrip(&mut c, &noise).unwrap();
    }

    #[test]
    fn every_length_round_trips_the_same_after_any_history() {
        let mut c = Compressor::new();
        // The table keeps entries from earlier inputs; they must never
        // turn into copies from outside the current one, nor change the
        // output.
        // From 1: the crate refuses to decompress nothing.
        for n in 1..600usize {
            let input: Vec<u8> = (0..n)
                .map(|i| b"abcab"[(i * 7 + n) % 5] ^ (i / 50) as u8)
                .collect();
            let after_history = roundtrip(&mut c, &input).unwrap();
            assert_eq!(
                after_history,
                roundtrip(&mut Compressor::new(), &input).unwrap()
            );
        }
        // Positions start over when the next input would not fit.
        c.base = u32::MAX - 10;
        let input = b"abcabcabcabcabcabcabcabc";
        assert_eq!(
            roundtrip(&mut c, input),
            roundtrip(&mut Compressor::new(), input)
        );
        assert_eq!(c.base, 1 + input.len() as u32);
    }
}

/// Not a test: the compressor's speed on 16 MiB of noise and 23 MB of
/// JSON-like text (`cargo test --profile profiling --lib -- lzf_speed
/// --ignored --nocapture`; figures in BENCHMARKS.md "RDB string forms").
#[cfg(test)]
mod speed {
    /// Three timed compressions of `input`, printed as ns per byte.
    fn time(name: &str, input: &[u8]) {
        let mut c = super::Compressor::new();
        let mut out = Vec::with_capacity(input.len() * 2);
        for _ in 0..3 {
            out.clear();
            let t = std::time::Instant::now();
            let ok = c.compress(input, &mut out, input.len() - 4);
            let ns = t.elapsed().as_nanos() as f64 / input.len() as f64;
            eprintln!(
                "{name}: {ok} {ns:.2} ns/byte, {} -> {}",
                input.len(),
                out.len()
            );
        }
    }

    #[test]
    #[ignore]
    fn lzf_speed() {
        let mut x: u64 = 88172645463325252;
        let rand: Vec<u8> = (0..16 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        time("rand", &rand);
        let text: Vec<u8> = (0..400_000)
            .flat_map(|i| {
                format!(
                    "{{\"user\": {i}, \"name\": \"someone-{}\", \"tags\": [\"a\",\"b\"]}} ",
                    i % 977
                )
                .into_bytes()
            })
            .collect();
        time("text", &text);
    }
}
