//! Pure bit arithmetic over byte strings, for the bitmap commands
//! (`commands/bitmaps.rs`): population count, first set/clear bit,
//! bitfield integers read and written at any bit offset, BITFIELD's
//! overflow rules and BITOP's folds.
//!
//! Bit numbering is Redis's: bit 0 is the most significant bit of byte 0,
//! bit 8 the most significant bit of byte 1, and so on. A bitfield is read
//! in that order, so its first bit is its most significant one.
//!
//! Owns: no state; every function is a pure computation on slices.
//! Must never: index outside the slices it is given (bits past the end of
//! a string read as 0, and writers are only given fields that fit), or
//! allocate more than the result it returns. No keyspace, no replies.
//!
//! Scans (popcount, first bit) go a 64-bit word at a time: BITCOUNT over a
//! 512 MB string is 64 M `count_ones`, not 4 G bit tests.

/// Number of set bits in `bytes`, eight bytes at a time.
pub fn popcount(bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    let mut n: u64 = 0;
    for w in &mut words {
        // The chunk is exactly 8 bytes long.
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        n += u64::from(u64::from_ne_bytes(word).count_ones());
    }
    for &b in words.remainder() {
        n += u64::from(b.count_ones());
    }
    n
}

/// Mask of the bits of a byte that come before bit `i` (0..8) of it, in
/// Redis's MSB-first order: `i = 3` gives 0b1110_0000.
fn bits_before(i: u64) -> u8 {
    !(0xffu8 >> i)
}

/// Mask of the bits of a byte that come after bit `i` (0..8) of it:
/// `i = 3` gives 0b0000_1111.
fn bits_after(i: u64) -> u8 {
    0x7fu8 >> i
}

/// Set bits in the inclusive bit range `start..=end`, which must lie
/// inside `bytes` (`end < bytes.len() * 8`, `start <= end`).
pub fn count_in_range(bytes: &[u8], start: u64, end: u64) -> u64 {
    debug_assert!(start <= end && end < bytes.len() as u64 * 8);
    let first = (start / 8) as usize;
    let last = (end / 8) as usize;
    let whole = popcount(&bytes[first..=last]);
    // The whole bytes counted a few bits outside the range at both edges.
    let before = (bytes[first] & bits_before(start % 8)).count_ones();
    let after = (bytes[last] & bits_after(end % 8)).count_ones();
    whole - u64::from(before) - u64::from(after)
}

/// Position (in bits, from the start of `bytes`) of the first bit equal to
/// `bit` in `bytes`, scanning a word at a time.
fn first_in_bytes(bytes: &[u8], bit: bool) -> Option<u64> {
    // Searching for a clear bit is searching for a set bit in the
    // complement: flip every word read.
    let flip: u64 = if bit { 0 } else { u64::MAX };
    let mut words = bytes.chunks_exact(8);
    let mut at: u64 = 0;
    for w in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        // Big-endian: byte 0 is the top byte, so leading zeros count bits
        // in Redis's order.
        let v = u64::from_be_bytes(word) ^ flip;
        if v != 0 {
            return Some(at + u64::from(v.leading_zeros()));
        }
        at += 64;
    }
    for &b in words.remainder() {
        let v = b ^ flip as u8;
        if v != 0 {
            return Some(at + u64::from(v.leading_zeros()));
        }
        at += 8;
    }
    None
}

/// Position of the first bit equal to `bit` in the inclusive bit range
/// `start..=end`, which must lie inside `bytes`; None if the range holds
/// none.
pub fn first_in_range(bytes: &[u8], bit: bool, start: u64, end: u64) -> Option<u64> {
    debug_assert!(start <= end && end < bytes.len() as u64 * 8);
    let first = (start / 8) as usize;
    let last = (end / 8) as usize;
    let flip = if bit { 0 } else { 0xff };
    // The edge bytes: bits outside the range are masked off after the
    // flip, so they can never match.
    let edge = |i: usize| {
        let mut mask = 0xffu8;
        if i == first {
            mask &= !bits_before(start % 8);
        }
        if i == last {
            mask &= !bits_after(end % 8);
        }
        (bytes[i] ^ flip) & mask
    };
    let head = edge(first);
    if head != 0 {
        return Some(first as u64 * 8 + u64::from(head.leading_zeros()));
    }
    if last == first {
        return None;
    }
    if let Some(p) = first_in_bytes(&bytes[first + 1..last], bit) {
        return Some((first as u64 + 1) * 8 + p);
    }
    let tail = edge(last);
    (tail != 0).then(|| last as u64 * 8 + u64::from(tail.leading_zeros()))
}

/// The `bits`-wide (1..=64) unsigned field at bit `offset`; bits past the
/// end of `bytes` read as 0, as a missing or short string is zero padded.
pub fn get_unsigned(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    debug_assert!((1..=64).contains(&bits));
    // A field of at most 64 bits starting anywhere in a byte spans at
    // most 9 bytes: gather them at the top of a u128.
    let first = offset / 8;
    let mut window: u128 = 0;
    for k in 0..9u64 {
        let b = usize::try_from(first + k)
            .ok()
            .and_then(|i| bytes.get(i))
            .copied()
            .unwrap_or(0);
        window |= u128::from(b) << (120 - 8 * k);
    }
    let shift = (offset % 8) as u32;
    ((window << shift) >> (128 - bits)) as u64
}

/// The `bits`-wide two's complement field at bit `offset`, sign-extended.
pub fn get_signed(bytes: &[u8], offset: u64, bits: u32) -> i64 {
    let u = get_unsigned(bytes, offset, bits);
    let unused = 64 - bits;
    ((u << unused) as i64) >> unused
}

/// Store the low `bits` bits of `value` at bit `offset`. The field must
/// fit: `offset + bits <= bytes.len() * 8` (callers grow the string
/// first). Bits around the field are left alone.
pub fn set_field(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    debug_assert!((1..=64).contains(&bits));
    debug_assert!(offset + u64::from(bits) <= bytes.len() as u64 * 8);
    let first = (offset / 8) as usize;
    let last = ((offset + u64::from(bits) - 1) / 8) as usize;
    let span = &mut bytes[first..=last];
    let mut window: u128 = 0;
    for (k, &b) in span.iter().enumerate() {
        window |= u128::from(b) << (120 - 8 * k);
    }
    let low = 128 - (offset % 8) as u32 - bits;
    let field_mask: u128 = (u128::from(u64::MAX) >> (64 - bits)) << low;
    window = (window & !field_mask) | ((u128::from(value) << low) & field_mask);
    for (k, b) in span.iter_mut().enumerate() {
        *b = (window >> (120 - 8 * k)) as u8;
    }
}

/// BITFIELD's OVERFLOW behaviours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Wrap around modulo 2^bits (the default).
    Wrap,
    /// Saturate at the type's minimum or maximum.
    Sat,
    /// Refuse the operation: nothing is written, the reply is null.
    Fail,
}

/// The signed `bits`-wide result of `value + incr` under `overflow`;
/// None when it overflowed under FAIL (nothing is to be written).
///
/// The range test is Redis 7.0's, evaluated with 64-bit wrapping
/// arithmetic as its C code is on x86-64, because one case is observable:
/// SET of a value in `i64::MIN ..= i64::MIN + max` (e.g. `SET i8 0
/// -9223372036854775808`) makes `max - value` wrap negative, which Redis
/// takes for an overflow *upwards*, so SAT stores the maximum (127) where
/// plain arithmetic would store the minimum. Byte-identical replies need
/// the same answer.
pub fn signed_add(value: i64, incr: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    debug_assert!((1..=64).contains(&bits));
    let max: i64 = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = max.wrapping_sub(value);
    let min_incr = min.wrapping_sub(value);
    let up = value > max
        || (bits != 64 && incr > max_incr)
        || (value >= 0 && incr > 0 && incr > max_incr);
    let down = !up
        && (value < min
            || (bits != 64 && incr < min_incr)
            || (value < 0 && incr < 0 && incr < min_incr));
    if !up && !down {
        return Some(value.wrapping_add(incr));
    }
    match overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(if up { max } else { min }),
        Overflow::Wrap => {
            // Two's complement: keep the low `bits` bits, sign-extend.
            let sum = value.wrapping_add(incr) as u64;
            let unused = 64 - bits;
            Some(((sum << unused) as i64) >> unused)
        }
    }
}

/// The unsigned `bits`-wide (1..=63) result of `value + incr` under
/// `overflow` (None: overflow under FAIL), `value` being the field's current value (or, for SET, the
/// new value as the client's i64 reinterpreted as u64, with `incr` 0: a
/// negative SET overflows upwards, as in Redis).
pub fn unsigned_add(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    debug_assert!((1..=63).contains(&bits));
    let max: u64 = (1u64 << bits) - 1;
    // Both fit an i64 whenever value <= max; when value > max the first
    // test below decides before they matter.
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = (value as i64).wrapping_neg();
    let up = value > max || (incr > 0 && incr > max_incr);
    let down = !up && incr < 0 && incr < min_incr;
    if !up && !down {
        return Some(value.wrapping_add(incr as u64));
    }
    match overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(if up { max } else { 0 }),
        Overflow::Wrap => Some(value.wrapping_add(incr as u64) & max),
    }
}

/// BITOP's operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// Fold one more BITOP source into `acc`, the result so far (the first
/// source's bytes to begin with). Both read as zero-padded to the longer
/// of the two, so `acc` grows to the longest source seen; a missing key is
/// an empty source. Folding source by source lets BITOP read each key in
/// place instead of copying every source first.
pub fn fold(op: BitOp, acc: &mut Vec<u8>, src: &[u8]) {
    let common = acc.len().min(src.len());
    match op {
        BitOp::And => {
            for (o, s) in acc[..common].iter_mut().zip(src) {
                *o &= s;
            }
            // x & 0 past the shorter one's end, whichever it is.
            acc[common..].fill(0);
            acc.resize(src.len().max(acc.len()), 0);
        }
        BitOp::Or | BitOp::Xor => {
            for (o, s) in acc[..common].iter_mut().zip(src) {
                if op == BitOp::Or {
                    *o |= s;
                } else {
                    *o ^= s;
                }
            }
            // x | 0 = x ^ 0 = x: the longer source's tail is copied.
            if src.len() > common {
                acc.extend_from_slice(&src[common..]);
            }
        }
        // NOT has one source: it is applied by `not` to the whole result.
        BitOp::Not => {}
    }
}

/// BITOP NOT: every bit of `bytes` flipped, in place.
pub fn not(bytes: &mut [u8]) {
    for b in bytes {
        *b = !*b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-by-bit reference implementations the word-at-a-time code must
    /// agree with.
    fn bit_at(bytes: &[u8], i: u64) -> bool {
        bytes
            .get((i / 8) as usize)
            .is_some_and(|b| b & (0x80 >> (i % 8)) != 0)
    }

    fn sample(len: usize, seed: u64) -> Vec<u8> {
        let mut s = seed | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s as u8
            })
            .collect()
    }

    #[test]
    fn popcount_matches_bit_by_bit() {
        for len in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 100] {
            let b = sample(len, len as u64 + 3);
            let slow = (0..len as u64 * 8).filter(|&i| bit_at(&b, i)).count() as u64;
            assert_eq!(popcount(&b), slow, "len {len}");
        }
        assert_eq!(popcount(&[0xff; 33]), 264);
    }

    #[test]
    fn ranges_count_and_search_like_bit_by_bit() {
        let b = sample(37, 11);
        let mut sparse = vec![0u8; 37];
        sparse[20] = 0x04;
        let mut dense = vec![0xffu8; 37];
        dense[29] = 0xfd;
        for bytes in [&b, &sparse, &dense] {
            let nbits = bytes.len() as u64 * 8;
            for start in (0..nbits).step_by(5) {
                for end in (start..nbits).step_by(7) {
                    let slow_count = (start..=end).filter(|&i| bit_at(bytes, i)).count() as u64;
                    assert_eq!(count_in_range(bytes, start, end), slow_count);
                    for bit in [false, true] {
                        let slow = (start..=end).find(|&i| bit_at(bytes, i) == bit);
                        assert_eq!(
                            first_in_range(bytes, bit, start, end),
                            slow,
                            "{start}..={end} bit {bit}"
                        );
                    }
                }
            }
        }
        assert_eq!(first_in_range(&sparse, true, 0, 295), Some(20 * 8 + 5));
        assert_eq!(first_in_range(&dense, false, 0, 295), Some(29 * 8 + 6));
    }

    #[test]
    fn fields_read_msb_first_and_past_the_end_as_zero() {
        let b = [0b1010_0000u8, 0xff];
        assert_eq!(get_unsigned(&b, 0, 1), 1);
        assert_eq!(get_unsigned(&b, 0, 3), 0b101);
        assert_eq!(get_unsigned(&b, 4, 8), 0x0f);
        assert_eq!(get_unsigned(&b, 12, 8), 0xf0);
        assert_eq!(get_unsigned(&b, 1000, 64), 0);
        assert_eq!(get_unsigned(&b, u64::MAX - 63, 64), 0);
        assert_eq!(get_signed(&b, 0, 3), -3);
        assert_eq!(get_signed(&b, 8, 8), -1);
        assert_eq!(get_signed(&[0x7f; 8], 0, 64), 0x7f7f_7f7f_7f7f_7f7f);
        assert_eq!(get_signed(&[0xff; 9], 3, 64), -1);
    }

    #[test]
    fn set_field_round_trips_and_leaves_neighbours() {
        for offset in 0..20u64 {
            for bits in [1u32, 3, 8, 13, 63, 64] {
                let mut b = vec![0xa5u8; 12];
                let before = b.clone();
                let v = 0x0123_4567_89ab_cdefu64 & (u64::MAX >> (64 - bits));
                set_field(&mut b, offset, bits, v);
                assert_eq!(get_unsigned(&b, offset, bits), v);
                for i in (0..96).filter(|&i| i < offset || i >= offset + u64::from(bits)) {
                    assert_eq!(bit_at(&b, i), bit_at(&before, i), "bit {i}");
                }
            }
        }
    }

    #[test]
    fn signed_overflow_as_redis() {
        use Overflow::*;
        assert_eq!(signed_add(100, 27, 8, Fail), Some(127));
        assert_eq!(signed_add(100, 28, 8, Fail), None);
        assert_eq!(signed_add(100, 28, 8, Sat), Some(127));
        assert_eq!(signed_add(100, 28, 8, Wrap), Some(-128));
        assert_eq!(signed_add(-100, -29, 8, Sat), Some(-128));
        assert_eq!(signed_add(-100, -29, 8, Wrap), Some(127));
        assert_eq!(signed_add(i64::MAX, 1, 64, Wrap), Some(i64::MIN));
        assert_eq!(signed_add(i64::MIN, -1, 64, Sat), Some(i64::MIN));
        assert_eq!(signed_add(i64::MIN, -1, 64, Wrap), Some(i64::MAX));
        assert_eq!(signed_add(-1, i64::MAX, 64, Fail), Some(i64::MAX - 1));
        // SET (incr 0) of out-of-range values.
        assert_eq!(signed_add(-129, 0, 8, Sat), Some(-128));
        assert_eq!(signed_add(300, 0, 8, Wrap), Some(44));
        // Redis's wrapped `max - value` (see the doc comment).
        assert_eq!(signed_add(i64::MIN, 0, 8, Sat), Some(127));
        assert_eq!(signed_add(i64::MIN + 127, 0, 8, Sat), Some(127));
        assert_eq!(signed_add(i64::MIN + 128, 0, 8, Sat), Some(-128));
        assert_eq!(signed_add(0, 0, 1, Fail), Some(0));
        assert_eq!(signed_add(0, 1, 1, Sat), Some(0));
        assert_eq!(signed_add(-1, -1, 1, Wrap), Some(0));
    }

    #[test]
    fn unsigned_overflow_as_redis() {
        use Overflow::*;
        assert_eq!(unsigned_add(250, 5, 8, Fail), Some(255));
        assert_eq!(unsigned_add(250, 6, 8, Fail), None);
        assert_eq!(unsigned_add(250, 6, 8, Sat), Some(255));
        assert_eq!(unsigned_add(250, 6, 8, Wrap), Some(0));
        assert_eq!(unsigned_add(5, -6, 8, Sat), Some(0));
        assert_eq!(unsigned_add(5, -6, 8, Wrap), Some(255));
        assert_eq!(unsigned_add(-1i64 as u64, 0, 8, Sat), Some(255));
        assert_eq!(unsigned_add(-1i64 as u64, 0, 8, Fail), None);
        assert_eq!(unsigned_add(0, i64::MAX, 63, Fail), Some(i64::MAX as u64));
        assert_eq!(unsigned_add(1, i64::MAX, 63, Wrap), Some(0));
        assert_eq!(unsigned_add(0, i64::MIN, 63, Sat), Some(0));
    }

    fn combine(op: BitOp, sources: &[&[u8]]) -> Vec<u8> {
        let mut acc = sources.first().map_or(Vec::new(), |s| s.to_vec());
        for s in sources.iter().skip(1) {
            fold(op, &mut acc, s);
        }
        if op == BitOp::Not {
            not(&mut acc);
        }
        acc
    }

    #[test]
    fn fold_pads_short_sources_with_zeros() {
        let a: &[u8] = b"\xff\xf0\x0f";
        let b: &[u8] = b"\x0f";
        assert_eq!(combine(BitOp::And, &[a, b]), b"\x0f\x00\x00");
        assert_eq!(combine(BitOp::And, &[b, a]), b"\x0f\x00\x00");
        assert_eq!(combine(BitOp::And, &[a, b"", a]), b"\x00\x00\x00");
        assert_eq!(combine(BitOp::Or, &[b, a]), b"\xff\xf0\x0f");
        assert_eq!(combine(BitOp::Xor, &[a, b, b"\x01\x01"]), b"\xf1\xf1\x0f");
        assert_eq!(combine(BitOp::Xor, &[b"", a]), a);
        assert_eq!(combine(BitOp::Not, &[a]), b"\x00\x0f\xf0");
        assert_eq!(combine(BitOp::And, &[b"", b""]), b"");
    }
}
