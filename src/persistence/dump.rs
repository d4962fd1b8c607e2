//! DUMP payloads: one value in RDB form, framed so RESTORE can trust it.
//!
//! Owns: the payload layout Redis 7.0 uses, `[type byte][value in RDB
//! encoding][RDB version: u16 LE][CRC-64 of everything before: u64 LE]`,
//! and its verification (version not newer than ours, checksum matches).
//!
//! Must never: encode or decode a value itself (that is `rdb.rs`'s
//! `value_type`/`put_value`/`decode_value`, shared with snapshots), or
//! hand a value to the keyspace before the footer was checked.
//!
//! Invariant: `create` followed by `verify` and `rdb::decode_value` gives
//! back an equal value; any payload whose footer verifies but whose body
//! is damaged is refused by the decoder with an error, never a panic.

use super::rdb;
use crate::types::Value;

/// Bytes after the object: RDB version (2) and CRC-64 (8).
const FOOTER_BYTES: usize = 10;

/// The DUMP payload of `v` (strings compressed as `c` says, as Redis's
/// DUMP follows `rdbcompression`).
pub fn create(v: &Value, c: rdb::Compression) -> Vec<u8> {
    let mut out = vec![rdb::value_type(v)];
    rdb::put_value(&mut out, v, c);
    // RDB_VERSION fits in 16 bits (10 in Redis 7.0).
    out.extend_from_slice(&(rdb::RDB_VERSION as u16).to_le_bytes());
    let crc = rdb::crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Check the footer. Returns (type byte, the bytes after it) of a payload whose
/// version we can read and whose checksum matches (or is not checked:
/// `check_crc` false, DEBUG SET-SKIP-CHECKSUM-VALIDATION); None otherwise
/// (RESTORE's "DUMP payload version or checksum are wrong").
pub fn verify(payload: &[u8], check_crc: bool) -> Option<(u8, &[u8])> {
    if payload.len() < FOOTER_BYTES {
        return None;
    }
    let footer = &payload[payload.len() - FOOTER_BYTES..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if u32::from(version) > rdb::RDB_VERSION {
        return None;
    }
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&footer[2..]);
    if check_crc && u64::from_le_bytes(crc) != rdb::crc64(&payload[..payload.len() - 8]) {
        return None;
    }
    // The object is read from the whole payload, footer included, as
    // Redis reads it: a value that runs into the footer bytes is what
    // Redis would restore too, and a footer-only payload has the version's
    // low byte as its type. Reading stays inside the payload either way.
    Some((payload[0], &payload[1..]))
}
