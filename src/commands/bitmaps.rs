//! Bitmap commands (Redis's bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS,
//! BITOP, BITFIELD and BITFIELD_RO. A bitmap is a plain string; the bit
//! arithmetic itself is in `crate::bits`, this file owns argument parsing
//! in Redis's order, key lookups, replies and side effects.
//!
//! Must never: grow a string past `proto-max-bulk-len` bytes (every offset
//! is checked before anything is allocated, and growth is a fallible
//! allocation), or report a change that did not happen. As Redis 7.0, a
//! write that leaves the bytes as they were (SETBIT of the bit already
//! there, BITFIELD SET of the same value, a FAIL overflow) raises no
//! event, invalidates no WATCH, does not count in `dirty` and so is not
//! propagated; creating or growing the string is a change.
//!
//! Invariants: readers never convert the stored encoding (GETBIT on an
//! `int` string leaves it `int`); writers always leave it `raw`, as
//! Redis's dbUnshareStringValue does, even when no bit changed.
//! Events: "setbit" for SETBIT and writing BITFIELDs, "set" / "del" for
//! BITOP's destination.

use super::{parse_int, Argv};
use crate::bits::{self, BitOp, Overflow};
use crate::connection::Client;
use crate::db::Access;
use crate::errors::{CmdError, CmdResult};
use crate::notify::{GENERIC, STRING};
use crate::resp::parser::parse_i64;
use crate::server::Server;
use crate::types::{StrValue, Value};

/// Redis compares option words with C's `strcasecmp`, which stops at the
/// first NUL byte: "get\0x" names GET there, so it does here too.
fn c_str(arg: &[u8]) -> &[u8] {
    arg.iter()
        .position(|&b| b == 0)
        .map_or(arg, |nul| &arg[..nul])
}

fn word_is(arg: &[u8], word: &str) -> bool {
    c_str(arg).eq_ignore_ascii_case(word.as_bytes())
}

/// A bit offset argument (Redis's getBitOffsetFromArgument). BITFIELD
/// passes its field width as `hash_bits`, which enables the `#N` form
/// (field N, i.e. bit N * width). The multiplication wraps as Redis's
/// does on x86-64, so `#2305843009213693952` with i8 is offset 0 there
/// and here. An offset whose byte is at or past `max_bytes`
/// (proto-max-bulk-len) is refused, so no command can address, let alone
/// allocate, a longer string.
fn bit_offset(arg: &[u8], hash_bits: Option<u32>, max_bytes: u64) -> Result<u64, CmdError> {
    let (digits, scale) = match hash_bits {
        Some(bits) if arg.len() > 1 && arg[0] == b'#' => (&arg[1..], i64::from(bits)),
        _ => (arg, 1),
    };
    let offset = parse_i64(digits)
        .ok_or(CmdError::BitOffset)?
        .wrapping_mul(scale);
    if offset < 0 || (offset as u64 >> 3) >= max_bytes {
        return Err(CmdError::BitOffset);
    }
    Ok(offset as u64)
}

/// Grow `buf` with zero bytes to `len`, fallibly, with sds's growth rule
/// (double below 1 MB, then 1 MB more) so that setting bits one after
/// another is amortised without doubling a 512 MB bitmap. False if it
/// was already long enough.
fn grow_zeroed(buf: &mut Vec<u8>, len: usize) -> Result<bool, CmdError> {
    if buf.len() >= len {
        return Ok(false);
    }
    const MB: usize = 1024 * 1024;
    let wanted = if len < MB {
        len * 2
    } else {
        len.saturating_add(MB)
    };
    if buf.capacity() < len
        && buf.try_reserve_exact(wanted - buf.len()).is_err()
        && buf.try_reserve_exact(len - buf.len()).is_err()
    {
        return Err(CmdError::Oom);
    }
    buf.resize(len, 0);
    Ok(true)
}

/// Redis's lookupStringForBitCommand: run `f` on the string at `key`,
/// created (zero-filled) or grown with zeros so that bit `max_bit` exists,
/// and always `raw`. `f` is told whether the string was created or grown.
/// WRONGTYPE before `f` runs. Neither the lookup nor the creation
/// invalidates WATCH: callers signal (`wrote`) when something changed.
fn with_string_for_write<R>(
    srv: &mut Server,
    db: usize,
    key: &[u8],
    max_bit: u64,
    f: impl FnOnce(&mut Vec<u8>, bool) -> R,
) -> Result<R, CmdError> {
    // max_bit < proto-max-bulk-len * 8 + 64: the byte count is bounded by
    // the configuration, checked by `bit_offset`.
    let len = usize::try_from(max_bit / 8 + 1).map_err(|_| CmdError::BitOffset)?;
    match srv.ks.lookup_typed::<StrValue>(db, key, Access::Touch)? {
        Some(s) => {
            let buf = s.make_raw();
            let grown = grow_zeroed(buf, len)?;
            Ok(f(buf, grown))
        }
        None => {
            let mut buf = Vec::new();
            grow_zeroed(&mut buf, len)?;
            let out = f(&mut buf, true);
            // `wrote` signals WATCH if something changed: a BITFIELD
            // whose writes all failed creates the key and signals nothing.
            srv.ks
                .add_unwatched(db, key, Value::Str(StrValue::Raw(buf)));
            Ok(out)
        }
    }
}

/// After a write that changed `changes` fields of the string at `key`.
fn wrote(srv: &mut Server, db: usize, key: &[u8], changes: u64) {
    if changes == 0 {
        return;
    }
    srv.ks.signal_modified(db, key);
    srv.ks.notify(STRING, "setbit", db, key);
    srv.ks.dirty += changes;
}

pub fn setbit(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let key = &argv[1];
    let offset = bit_offset(&argv[2], None, srv.config.proto_max_bulk_len)?;
    let on = match parse_i64(&argv[3]) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(CmdError::BitValue),
    };
    let (old, changed) = with_string_for_write(srv, c.db, key, offset, |buf, grown| {
        let old = bits::get_unsigned(buf, offset, 1) == 1;
        bits::set_field(buf, offset, 1, u64::from(on));
        (old, grown || old != on)
    })?;
    wrote(srv, c.db, key, u64::from(changed));
    c.reply().int(i64::from(old));
    Ok(())
}

pub fn getbit(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let offset = bit_offset(&argv[2], None, srv.config.proto_max_bulk_len)?;
    let bit = match srv
        .ks
        .lookup_typed::<StrValue>(c.db, &argv[1], Access::Read)?
    {
        None => 0,
        Some(s) => s.with_bytes(|b| bits::get_unsigned(b, offset, 1)),
    };
    c.reply().int(bit as i64);
    Ok(())
}

/// BYTE or BIT, the unit of BITCOUNT/BITPOS ranges (BYTE by default).
fn range_unit_is_bit(arg: &[u8]) -> Result<bool, CmdError> {
    if word_is(arg, "bit") {
        Ok(true)
    } else if word_is(arg, "byte") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// Resolve a `start end` range over `len` bytes, in bytes or bits, to an
/// inclusive bit range inside the string, or None when it is empty.
/// Negative indexes count from the end; both ends are clamped into the
/// string (so `len` 0 is always empty).
fn bit_range(start: i64, end: i64, len: usize, unit_bit: bool) -> Option<(u64, u64)> {
    let bytes = i64::try_from(len).unwrap_or(i64::MAX);
    let total = if unit_bit {
        bytes.saturating_mul(8)
    } else {
        bytes
    };
    // total >= 0, so adding a negative index cannot overflow.
    let start = if start < 0 { total + start } else { start }.max(0);
    let end = if end < 0 { total + end } else { end }.max(0);
    let end = end.min(total - 1);
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(if unit_bit {
        (start, end)
    } else {
        (start * 8, end * 8 + 7)
    })
}

pub fn bitcount(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    // Redis looks the key up before reading the range: a missing key
    // answers 0 whatever the other arguments are.
    let Some(s) = srv
        .ks
        .lookup_typed::<StrValue>(c.db, &argv[1], Access::Read)?
    else {
        c.reply().int(0);
        return Ok(());
    };
    let range = match argv.len() {
        2 => None,
        4 | 5 => {
            let start = parse_int(&argv[2])?;
            let end = parse_int(&argv[3])?;
            let unit_bit = argv.len() == 5 && range_unit_is_bit(&argv[4])?;
            Some((start, end, unit_bit))
        }
        _ => return Err(CmdError::Syntax),
    };
    let count = s.with_bytes(|b| {
        let bits = match range {
            None if b.is_empty() => None,
            None => Some((0, b.len() as u64 * 8 - 1)),
            // Both negative with start after end: empty before clamping
            // could turn it into a one-element range (Redis checks this
            // first for BITCOUNT, not for BITPOS).
            Some((start, end, _)) if start < 0 && end < 0 && start > end => None,
            Some((start, end, unit_bit)) => bit_range(start, end, b.len(), unit_bit),
        };
        bits.map_or(0, |(from, to)| bits::count_in_range(b, from, to))
    });
    c.reply().int(count as i64);
    Ok(())
}

pub fn bitpos(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let bit = match parse_int(&argv[2])? {
        0 => false,
        1 => true,
        _ => return Err(CmdError::BitposBit),
    };
    // A missing key is an endless run of zeros.
    let Some(s) = srv
        .ks
        .lookup_typed::<StrValue>(c.db, &argv[1], Access::Read)?
    else {
        c.reply().int(if bit { -1 } else { 0 });
        return Ok(());
    };
    // (start, end or None, unit is bit): parsed in Redis's order, start,
    // then the unit word, then end.
    let range = match argv.len() {
        3 => None,
        4..=6 => {
            let start = parse_int(&argv[3])?;
            let unit_bit = argv.len() == 6 && range_unit_is_bit(&argv[5])?;
            let end = if argv.len() >= 5 {
                Some(parse_int(&argv[4])?)
            } else {
                None
            };
            Some((start, end, unit_bit))
        }
        _ => return Err(CmdError::Syntax),
    };
    let pos = s.with_bytes(|b| {
        let (found_range, end_given) = match range {
            None => (bit_range(0, -1, b.len(), false), false),
            Some((start, end, unit_bit)) => (
                bit_range(start, end.unwrap_or(-1), b.len(), unit_bit),
                end.is_some(),
            ),
        };
        let Some((from, to)) = found_range else {
            // An empty range holds neither a 0 nor a 1.
            return -1;
        };
        match bits::first_in_range(b, bit, from, to) {
            Some(p) => p as i64,
            // Without an explicit end the string continues with zeros
            // past its last byte, so the first clear bit is just after.
            None if !bit && !end_given => to as i64 + 1,
            None => -1,
        }
    });
    c.reply().int(pos);
    Ok(())
}

pub fn bitop(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let op = argv.get(1);
    let op = if word_is(op, "and") {
        BitOp::And
    } else if word_is(op, "or") {
        BitOp::Or
    } else if word_is(op, "xor") {
        BitOp::Xor
    } else if word_is(op, "not") {
        BitOp::Not
    } else {
        return Err(CmdError::Syntax);
    };
    if op == BitOp::Not && argv.len() != 4 {
        return Err(CmdError::BitopNotArity);
    }
    let dest = &argv[2];
    // Each source is folded in as it is read, so no source is copied but
    // the first; a wrong type anywhere stops before anything is stored.
    let mut acc: Vec<u8> = Vec::new();
    for (i, key) in argv.iter().enumerate().skip(3) {
        if let Some(s) = srv.ks.lookup_typed::<StrValue>(c.db, key, Access::Read)? {
            s.with_bytes(|b| {
                if i == 3 {
                    acc.extend_from_slice(b);
                } else {
                    bits::fold(op, &mut acc, b);
                }
            });
        } else if i > 3 {
            bits::fold(op, &mut acc, b"");
        }
    }
    if op == BitOp::Not {
        bits::not(&mut acc);
    }
    let len = acc.len();
    if len == 0 {
        // An empty result is no key at all.
        if srv.ks.delete(c.db, dest) {
            srv.ks.notify(GENERIC, "del", c.db, dest);
            srv.ks.dirty += 1;
        }
    } else {
        // Stored raw, as Redis (never int-encoded or embstr), replacing any
        // value of any type and its TTL.
        srv.ks
            .set(c.db, dest, Value::Str(StrValue::Raw(acc)), false);
        srv.ks.notify(STRING, "set", c.db, dest);
        srv.ks.dirty += 1;
    }
    c.reply().int(len as i64);
    Ok(())
}

/// What a BITFIELD operation does.
#[derive(Clone, Copy)]
enum FieldAction {
    Get,
    /// SET to the value; replies with the old one.
    Set(i64),
    /// INCRBY the value; replies with the new one.
    Incr(i64),
}

/// One parsed BITFIELD operation.
#[derive(Clone, Copy)]
struct FieldOp {
    action: FieldAction,
    signed: bool,
    bits: u32,
    offset: u64,
    /// The OVERFLOW in force when this operation was given.
    overflow: Overflow,
}

/// A BITFIELD type: `i1`..`i64` or `u1`..`u63` (a u64 could not be
/// answered as a RESP integer). The width is read up to a NUL byte, as
/// Redis reads it with strlen.
fn field_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(CmdError::BitfieldType),
    };
    let max = if signed { 64 } else { 63 };
    match parse_i64(c_str(&arg[1..])) {
        Some(bits) if (1..=max).contains(&bits) => Ok((signed, bits as u32)),
        _ => Err(CmdError::BitfieldType),
    }
}

/// Parse every operation before touching the key, as Redis: any argument
/// error answers before a lookup, so a bad BITFIELD never creates a key.
fn parse_field_ops(argv: &Argv, max_bytes: u64) -> Result<Vec<FieldOp>, CmdError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let word = &argv[j];
        let action = if word_is(word, "get") && left >= 2 {
            FieldAction::Get
        } else if word_is(word, "set") && left >= 3 {
            FieldAction::Set(0)
        } else if word_is(word, "incrby") && left >= 3 {
            FieldAction::Incr(0)
        } else if word_is(word, "overflow") && left >= 1 {
            let how = &argv[j + 1];
            overflow = if word_is(how, "wrap") {
                Overflow::Wrap
            } else if word_is(how, "sat") {
                Overflow::Sat
            } else if word_is(how, "fail") {
                Overflow::Fail
            } else {
                return Err(CmdError::BitfieldOverflow);
            };
            j += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let (signed, bits) = field_type(&argv[j + 1])?;
        let offset = bit_offset(&argv[j + 2], Some(bits), max_bytes)?;
        let action = match action {
            FieldAction::Get => FieldAction::Get,
            FieldAction::Set(_) => FieldAction::Set(parse_int(&argv[j + 3])?),
            FieldAction::Incr(_) => FieldAction::Incr(parse_int(&argv[j + 3])?),
        };
        ops.push(FieldOp {
            action,
            signed,
            bits,
            offset,
            overflow,
        });
        j += if matches!(action, FieldAction::Get) {
            3
        } else {
            4
        };
    }
    Ok(ops)
}

/// The value a GET reads, as the reply integer (a u63 always fits).
fn read_field(buf: &[u8], op: &FieldOp) -> i64 {
    if op.signed {
        bits::get_signed(buf, op.offset, op.bits)
    } else {
        bits::get_unsigned(buf, op.offset, op.bits) as i64
    }
}

/// Run one SET or INCRBY on `buf` (long enough for the field). Returns the
/// reply value (None: FAIL overflow, nothing written) and whether the
/// field's bits changed.
fn write_field(buf: &mut [u8], op: &FieldOp) -> (Option<i64>, bool) {
    let (old, new, reply_old) = if op.signed {
        let old = bits::get_signed(buf, op.offset, op.bits);
        let new = match op.action {
            FieldAction::Set(v) => bits::signed_add(v, 0, op.bits, op.overflow),
            FieldAction::Incr(by) => bits::signed_add(old, by, op.bits, op.overflow),
            FieldAction::Get => Some(old),
        };
        let Some(new) = new else {
            return (None, false);
        };
        (
            old as u64,
            new as u64,
            matches!(op.action, FieldAction::Set(_)),
        )
    } else {
        let old = bits::get_unsigned(buf, op.offset, op.bits);
        let new = match op.action {
            // A negative value is a huge u64: it overflows upwards.
            FieldAction::Set(v) => bits::unsigned_add(v as u64, 0, op.bits, op.overflow),
            FieldAction::Incr(by) => bits::unsigned_add(old, by, op.bits, op.overflow),
            FieldAction::Get => Some(old),
        };
        let Some(new) = new else {
            return (None, false);
        };
        (old, new, matches!(op.action, FieldAction::Set(_)))
    };
    bits::set_field(buf, op.offset, op.bits, new);
    // Signed values travel sign-extended, so casting back gives the
    // number, and comparing the 64-bit forms compares the field's bits.
    let reply = if reply_old { old } else { new } as i64;
    (Some(reply), old != new)
}

fn bitfield_generic(srv: &mut Server, c: &mut Client, argv: &Argv, read_only: bool) -> CmdResult {
    let ops = parse_field_ops(argv, srv.config.proto_max_bulk_len)?;
    let key = &argv[1];
    // The last bit any SET or INCRBY touches; None when all are GETs.
    let max_write_bit = ops
        .iter()
        .filter(|op| !matches!(op.action, FieldAction::Get))
        .map(|op| op.offset + u64::from(op.bits) - 1)
        .max();
    let Some(max_bit) = max_write_bit else {
        // Only GETs: a read, which a read-only replica serves for
        // BITFIELD_RO (BITFIELD itself is a write command there).
        let found = srv.ks.lookup_typed::<StrValue>(c.db, key, Access::Read)?;
        let mut w = c.reply();
        w.array(ops.len());
        let mut reply_all = |b: &[u8]| {
            for op in &ops {
                w.int(read_field(b, op));
            }
        };
        match found {
            None => reply_all(b""),
            Some(s) => s.with_bytes(reply_all),
        }
        return Ok(());
    };
    if read_only {
        return Err(CmdError::BitfieldRoWrite);
    }
    let changes = with_string_for_write(srv, c.db, key, max_bit, |buf, grown| {
        let mut w = c.reply();
        w.array(ops.len());
        let mut changes: u64 = 0;
        for op in &ops {
            if let FieldAction::Get = op.action {
                w.int(read_field(buf, op));
                continue;
            }
            match write_field(buf, op) {
                (None, _) => w.null(),
                (Some(v), changed) => {
                    w.int(v);
                    // Creating or growing the string counts every write
                    // that did not fail, as Redis counts them.
                    if grown || changed {
                        changes += 1;
                    }
                }
            }
        }
        changes
    })?;
    wrote(srv, c.db, key, changes);
    Ok(())
}

pub fn bitfield(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    bitfield_generic(srv, c, argv, false)
}

pub fn bitfield_ro(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    bitfield_generic(srv, c, argv, true)
}
