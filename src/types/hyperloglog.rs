//! HyperLogLog: Redis's byte representation, its hash, the register update
//! rules of both encodings and the cardinality estimator.
//!
//! A HyperLogLog is not a type of its own: it is a string value whose
//! bytes are Redis's HLL layout, so GET, SET, DUMP/RESTORE, RDB files and
//! replication carry it unchanged between RedisLite and redis-server. That
//! makes the exact bytes part of the contract: PFADD must leave the very
//! string redis-server would leave, and PFCOUNT must give the same number.
//!
//! Layout (16-byte header, then the registers):
//! ```text
//! "HYLL" | encoding (0 dense, 1 sparse) | 3 unused bytes | card (8 bytes LE)
//! ```
//! The top bit of the last `card` byte set means "cached cardinality is
//! stale". 16384 registers (14 index bits of the hash) of 6 bits each.
//! - dense: 12288 bytes, register i at bit i*6, least significant bit first;
//! - sparse: a run-length code over the registers, three opcodes:
//!   `00xxxxxx` ZERO (x+1 zero registers, 1..64), `01xxxxxx yyyyyyyy`
//!   XZERO (14-bit length + 1 zero registers, 1..16384), `1vvvvvxx` VAL
//!   (x+1 registers, 1..4, holding v+1, 1..32).
//!
//! Sparse strings grow past `hll-sparse-max-bytes` or meet a register value
//! above 32 and are then converted to dense, never the other way.
//!
//! Must never: panic or allocate by a length read from the bytes. The
//! bytes may come from a client (SET k "HYLL...") and be hostile; every
//! walk is bounded by the string's length and every inconsistency is
//! `Corrupted`. Where redis-server reads one byte past a truncated XZERO
//! (its string's terminating NUL), this code reads 0, so even corrupted
//! values are judged the same way.
//!
//! Invariant: a value accepted by [`encoding_of`] is either exactly
//! `DENSE_BYTES` long with encoding 0, or at least `HEADER_BYTES` long
//! with encoding 1; the functions taking a buffer assume that check ran.

/// Bits of the hash that choose a register.
pub const INDEX_BITS: u32 = 14;
/// Number of registers.
pub const REGISTERS: usize = 1 << INDEX_BITS;
/// Hash bits left after the index; a register holds at most Q + 1.
const Q: usize = 64 - INDEX_BITS as usize;
const REGISTER_BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << REGISTER_BITS) - 1;
pub const HEADER_BYTES: usize = 16;
/// Length of a dense HyperLogLog string.
pub const DENSE_BYTES: usize = HEADER_BYTES + REGISTERS * REGISTER_BITS / 8;
/// Largest register value a sparse VAL opcode can hold.
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
/// hll-sparse-max-bytes default.
pub const SPARSE_MAX_BYTES_DEFAULT: u64 = 3000;
/// The seed Redis gives MurmurHash64A for HyperLogLog elements.
const HASH_SEED: u64 = 0xadc8_3b19;
/// 1 / (2 ln 2), the estimator's limit constant alpha_inf: the double
/// nearest Redis's 0.721347520444481703680.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

const MAGIC: &[u8; 4] = b"HYLL";
const ENCODING_AT: usize = 4;
const CARD_AT: usize = 8;
const STALE_BIT: u8 = 0x80;

/// The two stored encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Dense,
    Sparse,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Dense => "dense",
            Encoding::Sparse => "sparse",
        }
    }
}

/// The bytes claim to be a HyperLogLog but do not add up (Redis's
/// INVALIDOBJ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupted;

/// The encoding of `b` if it passes Redis's admission check (magic, a
/// known encoding, the exact dense length), else None: the caller answers
/// WRONGTYPE. A sparse body is not walked here; the operations find its
/// damage.
pub fn encoding_of(b: &[u8]) -> Option<Encoding> {
    if b.len() < HEADER_BYTES || &b[..4] != MAGIC {
        return None;
    }
    match b[ENCODING_AT] {
        0 if b.len() == DENSE_BYTES => Some(Encoding::Dense),
        1 => Some(Encoding::Sparse),
        _ => None,
    }
}

/// A new, empty HyperLogLog as PFADD creates it: sparse, one XZERO over all
/// registers, cached cardinality 0 and valid.
pub fn new_sparse() -> Vec<u8> {
    let mut v = vec![0u8; HEADER_BYTES];
    v[..4].copy_from_slice(MAGIC);
    v[ENCODING_AT] = 1;
    push_xzero(&mut v, REGISTERS);
    v
}

// ---------------------------------------------------------------------
// Hashing

/// MurmurHash64A (Austin Appleby), 64-bit little-endian reading, as Redis
/// uses it. Redis computes `seed ^ (len * m)` with a 32-bit int length;
/// lengths past 2^31 cannot reach a command (proto-max-bulk-len), so the
/// 64-bit length gives the same value.
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut k = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &byte) in tail.iter().enumerate() {
            h ^= (byte as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element falls in and the value it offers: the low 14
/// bits of the hash pick the register; the value is the position of the
/// lowest set bit among the other 50 (1-based), 51 when they are all zero.
pub fn register_of(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, HASH_SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> INDEX_BITS) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---------------------------------------------------------------------
// Header: the cached cardinality

/// The cached cardinality, or None when marked stale.
pub fn cached_card(b: &[u8]) -> Option<u64> {
    let card: [u8; 8] = b.get(CARD_AT..CARD_AT + 8)?.try_into().ok()?;
    if card[7] & STALE_BIT != 0 {
        return None;
    }
    Some(u64::from_le_bytes(card))
}

pub fn set_cached_card(b: &mut [u8], card: u64) {
    if let Some(slot) = b.get_mut(CARD_AT..CARD_AT + 8) {
        slot.copy_from_slice(&card.to_le_bytes());
    }
}

/// Mark the cached cardinality stale (after any register grew).
pub fn invalidate_cache(b: &mut [u8]) {
    if let Some(last) = b.get_mut(CARD_AT + 7) {
        *last |= STALE_BIT;
    }
}

// ---------------------------------------------------------------------
// Dense registers

/// Register `i` of a dense register area. The last register's second byte
/// would lie past the area; its bits are masked out anyway, so it reads 0.
fn dense_get(regs: &[u8], i: usize) -> u8 {
    let bit = i * REGISTER_BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let lo = regs.get(byte).copied().unwrap_or(0) as u32;
    let hi = regs.get(byte + 1).copied().unwrap_or(0) as u32;
    (((lo >> shift) | (hi << (8 - shift))) & REGISTER_MAX as u32) as u8
}

fn dense_put(regs: &mut [u8], i: usize, v: u8) {
    let bit = i * REGISTER_BITS;
    let (byte, shift) = (bit / 8, bit % 8);
    let mask = REGISTER_MAX as u32;
    let v = v as u32 & mask;
    if let Some(b) = regs.get_mut(byte) {
        *b = ((*b as u32 & !(mask << shift)) | (v << shift)) as u8;
    }
    if let Some(b) = regs.get_mut(byte + 1) {
        *b = ((*b as u32 & !(mask >> (8 - shift))) | (v >> (8 - shift))) as u8;
    }
}

/// Raise register `i` to `v` if it is lower; true if it changed.
fn dense_raise(regs: &mut [u8], i: usize, v: u8) -> bool {
    if dense_get(regs, i) < v {
        dense_put(regs, i, v);
        true
    } else {
        false
    }
}

// ---------------------------------------------------------------------
// Sparse opcodes

/// One decoded sparse opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// A run of zero registers (ZERO or XZERO).
    Zero {
        len: usize,
        extended: bool,
    },
    Val {
        value: u8,
        len: usize,
    },
}

impl Op {
    fn span(self) -> usize {
        match self {
            Op::Zero { len, .. } | Op::Val { len, .. } => len,
        }
    }
    fn bytes(self) -> usize {
        match self {
            Op::Zero { extended: true, .. } => 2,
            _ => 1,
        }
    }
}

/// The opcode at `p` (which must be < b.len()); an XZERO cut by the end of
/// the string reads its second byte as 0, as redis-server does.
fn op_at(b: &[u8], p: usize) -> Op {
    let x = b[p];
    if x & 0x80 != 0 {
        Op::Val {
            value: ((x >> 2) & 0x1f) + 1,
            len: (x & 0x03) as usize + 1,
        }
    } else if x & 0x40 != 0 {
        let lo = b.get(p + 1).copied().unwrap_or(0) as usize;
        Op::Zero {
            len: ((((x & 0x3f) as usize) << 8) | lo) + 1,
            extended: true,
        }
    } else {
        Op::Zero {
            len: (x & 0x3f) as usize + 1,
            extended: false,
        }
    }
}

fn val_byte(value: u8, len: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (len - 1) as u8
}

fn push_xzero(out: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    out.push(0x40 | (l >> 8) as u8);
    out.push((l & 0xff) as u8);
}

/// A zero run: ZERO up to 64 registers, XZERO beyond.
fn push_zero_run(out: &mut Vec<u8>, len: usize) {
    if len > SPARSE_ZERO_MAX_LEN {
        push_xzero(out, len);
    } else {
        out.push((len - 1) as u8);
    }
}

/// Walk a sparse body: `f(first_register, op)` for each opcode. Fails as
/// redis-server 7.0.15 does: a VAL run that would pass the last register
/// is corruption at once (even after the runs covered all registers), and
/// the runs must cover exactly `REGISTERS`.
fn walk_sparse(b: &[u8], mut f: impl FnMut(usize, Op)) -> Result<(), Corrupted> {
    let mut p = HEADER_BYTES;
    let mut idx = 0usize;
    while p < b.len() {
        let op = op_at(b, p);
        if let Op::Val { len, .. } = op {
            if idx + len > REGISTERS {
                return Err(Corrupted);
            }
        }
        f(idx, op);
        // Zero runs may overshoot (bounded: at most 16384 per byte).
        idx += op.span();
        p += op.bytes();
    }
    if idx == REGISTERS {
        Ok(())
    } else {
        Err(Corrupted)
    }
}

/// Convert a sparse value to dense in place; a dense one is left alone.
/// The header is kept as it was (cached cardinality and unused bytes
/// included) but for the encoding byte.
pub fn sparse_to_dense(buf: &mut Vec<u8>) -> Result<(), Corrupted> {
    if encoding_of(buf) != Some(Encoding::Sparse) {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_BYTES];
    dense[..HEADER_BYTES].copy_from_slice(&buf[..HEADER_BYTES]);
    dense[ENCODING_AT] = 0;
    {
        let regs = &mut dense[HEADER_BYTES..];
        walk_sparse(buf, |first, op| {
            if let Op::Val { value, len } = op {
                for i in first..first + len {
                    dense_put(regs, i, value);
                }
            }
        })?;
    }
    *buf = dense;
    Ok(())
}

/// Raise register `index` to `count` in a sparse value, keeping Redis's
/// exact byte layout: the opcode covering the register is split into at
/// most three (zero or old-value run, the new VAL, the rest), then up to
/// five opcodes from the one before it are scanned to fuse adjacent equal
/// VALs. Converts to dense when `count` exceeds what VAL can hold or the
/// string would grow past `max_bytes`.
fn sparse_raise(
    buf: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: u64,
) -> Result<bool, Corrupted> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote_and_raise(buf, index, count);
    }
    // Step 1: the opcode covering `index`, the one before it, and the
    // first register it covers.
    let mut p = HEADER_BYTES;
    let mut first = 0usize;
    let mut prev: Option<usize> = None;
    let mut found = None;
    while p < buf.len() {
        let op = op_at(buf, p);
        if index < first + op.span() {
            found = Some(op);
            break;
        }
        prev = Some(p);
        p += op.bytes();
        first += op.span();
    }
    let op = found.ok_or(Corrupted)?;
    let last = first + op.span() - 1;

    // Step 2: an in-place change when one byte stays one byte.
    let in_place = match op {
        Op::Val { value, .. } if value >= count => return Ok(false),
        Op::Val { len: 1, .. }
        | Op::Zero {
            len: 1,
            extended: false,
        } => true,
        _ => false,
    };
    if in_place {
        buf[p] = val_byte(count, 1);
    } else {
        // Step 3: the replacement sequence (at most 5 bytes).
        let mut seq: Vec<u8> = Vec::with_capacity(5);
        match op {
            Op::Zero { .. } => {
                if index != first {
                    push_zero_run(&mut seq, index - first);
                }
                seq.push(val_byte(count, 1));
                if index != last {
                    push_zero_run(&mut seq, last - index);
                }
            }
            Op::Val { value, .. } => {
                if index != first {
                    seq.push(val_byte(value, index - first));
                }
                seq.push(val_byte(count, 1));
                if index != last {
                    seq.push(val_byte(value, last - index));
                }
            }
        }
        let old_len = buf.len();
        let grows = seq.len() > op.bytes();
        if grows && (old_len + seq.len() - op.bytes()) as u64 > max_bytes {
            return promote_and_raise(buf, index, count);
        }
        // A truncated XZERO ends the string: Redis's length arithmetic
        // then drops the sequence's last byte; `new_len` reproduces it.
        let new_len = old_len + seq.len() - op.bytes();
        let next = (p + op.bytes()).min(old_len);
        buf.splice(p..next, seq);
        buf.truncate(new_len);
    }

    // Step 4: fuse adjacent VALs of equal value (total run <= 4), scanning
    // at most five opcodes from the one before the change.
    let mut q = prev.unwrap_or(HEADER_BYTES);
    let mut scan = 5;
    while q < buf.len() && scan > 0 {
        scan -= 1;
        let op = op_at(buf, q);
        let (value, len) = match op {
            Op::Zero { .. } => {
                q += op.bytes();
                continue;
            }
            Op::Val { value, len } => (value, len),
        };
        if q + 1 < buf.len() {
            if let Op::Val {
                value: v2,
                len: len2,
            } = op_at(buf, q + 1)
            {
                if value == v2 && len + len2 <= SPARSE_VAL_MAX_LEN {
                    buf[q + 1] = val_byte(value, len + len2);
                    buf.remove(q);
                    // Stay: the fused run may fuse with its right neighbour.
                    continue;
                }
            }
        }
        q += 1;
    }
    invalidate_cache(buf);
    Ok(true)
}

/// The sparse value can no longer hold the update: go dense, then update.
fn promote_and_raise(buf: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupted> {
    sparse_to_dense(buf)?;
    Ok(dense_raise(&mut buf[HEADER_BYTES..], index, count))
}

/// Raise register `index` to `count` (no change if it is already that
/// high); true if the value changed. The caller invalidates the cache.
pub fn raise_register(
    buf: &mut Vec<u8>,
    index: usize,
    count: u8,
    sparse_max_bytes: u64,
) -> Result<bool, Corrupted> {
    match encoding_of(buf) {
        Some(Encoding::Dense) => Ok(dense_raise(&mut buf[HEADER_BYTES..], index, count)),
        Some(Encoding::Sparse) => sparse_raise(buf, index, count, sparse_max_bytes),
        None => Err(Corrupted),
    }
}

/// PFADD of one element; true if a register changed.
pub fn add(buf: &mut Vec<u8>, element: &[u8], sparse_max_bytes: u64) -> Result<bool, Corrupted> {
    let (index, count) = register_of(element);
    raise_register(buf, index, count, sparse_max_bytes)
}

// ---------------------------------------------------------------------
// Reading all registers

/// `max[i] = max(max[i], register i of b)`: the union, as PFMERGE and
/// multi-key PFCOUNT build it.
pub fn merge_into(max: &mut [u8; REGISTERS], b: &[u8]) -> Result<(), Corrupted> {
    match encoding_of(b) {
        Some(Encoding::Dense) => {
            let regs = &b[HEADER_BYTES..];
            for (i, m) in max.iter_mut().enumerate() {
                *m = (*m).max(dense_get(regs, i));
            }
            Ok(())
        }
        Some(Encoding::Sparse) => walk_sparse(b, |first, op| {
            if let Op::Val { value, len } = op {
                for m in &mut max[first..first + len] {
                    *m = (*m).max(value);
                }
            }
        }),
        None => Err(Corrupted),
    }
}

/// Every register of `b`, in order (PFDEBUG GETREG; tests).
pub fn registers(b: &[u8]) -> Result<Vec<u8>, Corrupted> {
    let mut max = [0u8; REGISTERS];
    merge_into(&mut max, b)?;
    Ok(max.to_vec())
}

/// How many registers hold each value (0..=63; only 0..=51 can occur).
type Histogram = [u64; 64];

fn histogram_of_registers(regs: &[u8]) -> Histogram {
    let mut h = [0u64; 64];
    for &r in regs {
        h[(r & REGISTER_MAX) as usize] += 1;
    }
    h
}

/// The estimated cardinality of a stored HyperLogLog.
pub fn count(b: &[u8]) -> Result<u64, Corrupted> {
    let h = match encoding_of(b) {
        Some(Encoding::Dense) => {
            let regs = &b[HEADER_BYTES..];
            let mut h = [0u64; 64];
            for i in 0..REGISTERS {
                h[dense_get(regs, i) as usize] += 1;
            }
            h
        }
        Some(Encoding::Sparse) => {
            let mut h = [0u64; 64];
            walk_sparse(b, |_, op| match op {
                Op::Zero { len, .. } => h[0] += len as u64,
                Op::Val { value, len } => h[value as usize] += len as u64,
            })?;
            h
        }
        None => return Err(Corrupted),
    };
    Ok(estimate(&h))
}

/// The estimated cardinality of a register array (one byte per register),
/// as multi-key PFCOUNT computes the union's.
pub fn count_registers(regs: &[u8; REGISTERS]) -> u64 {
    estimate(&histogram_of_registers(regs))
}

/// Ertl's improved raw estimator ("New cardinality estimation algorithms
/// for HyperLogLog sketches", 2017, the one Redis 5+ uses): corrections
/// sigma for the zero registers and tau for the saturated ones replace the
/// classic small/large-range switches. The order of the floating-point
/// operations is kept as in Redis so results round identically.
fn estimate(h: &Histogram) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - h[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += h[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(h[0] as f64 / m);
    let e = ALPHA_INF * m * m / z;
    // Redis rounds with llroundl and casts to uint64_t. Only a forged
    // value (every register above 50, z = 0) gets an infinite e; x86-64's
    // llroundl then answers LLONG_MIN, which Redis stores and replies as
    // is (and whose top bit marks the cache stale). Same here.
    if e.is_finite() && e < (1u64 << 63) as f64 {
        e.round() as u64
    } else {
        i64::MIN as u64
    }
}

/// sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1), summed until it stops
/// changing; infinite at 1 (all registers zero: the estimate is 0).
fn sigma(x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut x = x;
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

/// tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3, summed until
/// it stops changing.
fn tau(x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut x = x;
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if z == before {
            return z / 3.0;
        }
    }
}

/// PFDEBUG DECODE's text of a sparse value: `z:len`, `Z:len`,
/// `v:value,len`, space separated. Walks the whole string without the
/// coverage check, as Redis does.
pub fn decode_sparse(b: &[u8]) -> String {
    let mut out = String::new();
    let mut p = HEADER_BYTES;
    while p < b.len() {
        let op = op_at(b, p);
        if !out.is_empty() {
            out.push(' ');
        }
        match op {
            Op::Zero {
                len,
                extended: false,
            } => out.push_str(&format!("z:{len}")),
            Op::Zero { len, .. } => out.push_str(&format!("Z:{len}")),
            Op::Val { value, len } => out.push_str(&format!("v:{value},{len}")),
        }
        p += op.bytes();
    }
    out
}

/// PFSELFTEST's checks, on this build's own code: the dense packing keeps
/// every register apart, and the sparse and dense encodings fed the same
/// elements hold the same registers and give the same estimate, within
/// a few percent of the truth. Err names the failed check.
pub fn self_test() -> Result<(), String> {
    let mut regs = vec![0u8; DENSE_BYTES - HEADER_BYTES];
    for i in 0..REGISTERS {
        dense_put(&mut regs, i, (i % 64) as u8);
    }
    for i in 0..REGISTERS {
        if dense_get(&regs, i) != (i % 64) as u8 {
            return Err(format!("Register error at {i}"));
        }
    }
    let mut sparse = new_sparse();
    let mut dense = new_sparse();
    sparse_to_dense(&mut dense).map_err(|_| "dense conversion".to_string())?;
    let n = 10_000u64;
    for i in 0..n {
        let e = i.to_le_bytes();
        let a = add(&mut sparse, &e, u64::MAX).map_err(|_| "sparse add".to_string())?;
        let b = add(&mut dense, &e, u64::MAX).map_err(|_| "dense add".to_string())?;
        if a != b {
            return Err(format!("Sparse and dense disagree at element {i}"));
        }
    }
    if registers(&sparse) != registers(&dense) {
        return Err("Sparse and dense registers differ".to_string());
    }
    let (cs, cd) = (count(&sparse), count(&dense));
    if cs != cd {
        return Err("Sparse and dense estimates differ".to_string());
    }
    let card = cd.map_err(|_| "count".to_string())? as f64;
    if (card - n as f64).abs() / n as f64 > 0.05 {
        return Err(format!("Estimate {card} too far from {n}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift64*) for test inputs.
    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed | 1;
        move || {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            s.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn hash_puts_elements_where_redis_does() {
        // Seed 0, empty input: every step keeps 0.
        assert_eq!(murmur64a(b"", 0), 0);
        // redis-server's PFDEBUG DECODE after PFADD k a b c shows
        // Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603: registers 8436,
        // 12711 and 15780, with values 1, 2, 1.
        let mut got = [register_of(b"a"), register_of(b"b"), register_of(b"c")];
        got.sort();
        assert_eq!(got, [(8436, 1), (12711, 2), (15780, 1)]);
    }

    #[test]
    fn new_sparse_is_redis_empty_hll() {
        let v = new_sparse();
        assert_eq!(v, b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff");
        assert_eq!(encoding_of(&v), Some(Encoding::Sparse));
        assert_eq!(cached_card(&v), Some(0));
        assert_eq!(count(&v), Ok(0));
    }

    #[test]
    fn dense_registers_round_trip() {
        let mut regs = vec![0u8; DENSE_BYTES - HEADER_BYTES];
        let mut next = rng(7);
        let mut want = vec![0u8; REGISTERS];
        for (i, w) in want.iter_mut().enumerate() {
            *w = (next() % 64) as u8;
            dense_put(&mut regs, i, *w);
        }
        for (i, w) in want.iter().enumerate() {
            assert_eq!(dense_get(&regs, i), *w, "register {i}");
        }
    }

    #[test]
    fn sparse_and_dense_agree_register_by_register() {
        let mut next = rng(42);
        let mut sparse = new_sparse();
        let mut dense = new_sparse();
        sparse_to_dense(&mut dense).unwrap();
        assert_eq!(dense.len(), DENSE_BYTES);
        for _ in 0..3000 {
            let e = next().to_le_bytes();
            let a = add(&mut sparse, &e, u64::MAX).unwrap();
            let b = add(&mut dense, &e, u64::MAX).unwrap();
            assert_eq!(a, b);
        }
        assert_eq!(encoding_of(&sparse), Some(Encoding::Sparse));
        assert_eq!(registers(&sparse), registers(&dense));
        assert_eq!(count(&sparse), count(&dense));
        // Converting gives the dense bytes (headers aside).
        let mut converted = sparse.clone();
        sparse_to_dense(&mut converted).unwrap();
        assert_eq!(converted[HEADER_BYTES..], dense[HEADER_BYTES..]);
    }

    #[test]
    fn sparse_switches_to_dense_past_the_limit() {
        let mut next = rng(3);
        let mut v = new_sparse();
        let mut went_dense = false;
        for _ in 0..5000 {
            add(&mut v, &next().to_le_bytes(), 3000).unwrap();
            match encoding_of(&v) {
                Some(Encoding::Sparse) => assert!(v.len() <= 3000),
                Some(Encoding::Dense) => went_dense = true,
                None => panic!("lost the header"),
            }
        }
        assert!(went_dense);
    }

    #[test]
    fn estimate_is_close_to_the_truth() {
        let mut next = rng(11);
        for n in [1u64, 10, 100, 1000, 20000, 100000] {
            let mut v = new_sparse();
            for _ in 0..n {
                add(&mut v, &next().to_le_bytes(), 3000).unwrap();
            }
            let c = count(&v).unwrap() as f64;
            let err = (c - n as f64).abs() / n as f64;
            assert!(err < 0.03 || (c - n as f64).abs() <= 1.0, "{n}: {c}");
        }
    }

    #[test]
    fn corrupted_sparse_is_detected_never_panics() {
        let mut next = rng(5);
        let good = {
            let mut v = new_sparse();
            for _ in 0..200 {
                add(&mut v, &next().to_le_bytes(), 3000).unwrap();
            }
            v
        };
        for _ in 0..2000 {
            let mut v = good.clone();
            let cut = HEADER_BYTES + (next() as usize) % (v.len() - HEADER_BYTES + 1);
            v.truncate(cut);
            let at = HEADER_BYTES + (next() as usize) % (good.len() - HEADER_BYTES);
            if at < v.len() {
                v[at] = next() as u8;
            }
            let _ = count(&v);
            let _ = registers(&v);
            let _ = decode_sparse(&v);
            let _ = add(&mut v.clone(), &next().to_le_bytes(), 3000);
            let _ = sparse_to_dense(&mut v.clone());
        }
        // Too short, too long, truncated XZERO.
        let mut short = new_sparse();
        short.truncate(HEADER_BYTES + 1);
        assert_eq!(count(&short), Err(Corrupted));
        let mut long = new_sparse();
        long.push(0x00);
        assert_eq!(count(&long), Err(Corrupted));
        assert_eq!(add(&mut long.clone(), b"x", 3000).map(|_| ()), Ok(()));
    }

    #[test]
    fn sparse_bytes_are_redis_bytes() {
        // redis-server 7.0.15 after PFADD k a b c (GET k).
        let mut v = new_sparse();
        for e in [b"a", b"b", b"c"] {
            assert_eq!(add(&mut v, e, 3000), Ok(true));
        }
        invalidate_cache(&mut v);
        let want: &[u8] =
            b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x60\xf3\x80\x50\xb1\x84\x4b\xfb\x80\x42\x5a";
        assert_eq!(v, want);
        assert_eq!(
            decode_sparse(&v),
            "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603"
        );
        assert_eq!(count(&v), Ok(3));
        assert_eq!(add(&mut v, b"a", 3000), Ok(false));
    }

    #[test]
    fn a_value_above_32_makes_a_sparse_value_dense() {
        let mut v = new_sparse();
        assert_eq!(raise_register(&mut v, 100, 33, 3000), Ok(true));
        assert_eq!(encoding_of(&v), Some(Encoding::Dense));
        let regs = registers(&v).unwrap();
        assert_eq!(regs[100], 33);
        assert_eq!(regs.iter().filter(|&&r| r != 0).count(), 1);
        // The header (card bytes included) is carried over.
        assert_eq!(&v[..4], b"HYLL");
        assert_eq!(cached_card(&v), Some(0));
    }

    #[test]
    fn self_test_passes() {
        assert_eq!(self_test(), Ok(()));
    }

    #[test]
    fn sigma_and_tau_limits() {
        assert_eq!(sigma(0.0), 0.0);
        assert!(sigma(1.0).is_infinite());
        assert_eq!(tau(0.0), 0.0);
        assert_eq!(tau(1.0), 0.0);
        assert!(tau(0.5) > 0.0);
    }
}
