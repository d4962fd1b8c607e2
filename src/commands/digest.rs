//! DEBUG DIGEST and DEBUG DIGEST-VALUE: a SHA-1 signature of the whole
//! dataset, or of single values, for comparing two servers (a master and
//! its replica, a server before and after a restart) without dumping
//! them.
//!
//! The signature depends on what a client can observe, never on how it
//! is stored: a set built as an intset and the same set after a DEBUG
//! RELOAD, or a hash in its compact form and in its table form, digest
//! the same. Unordered collections (sets, hashes, sorted sets, the keys
//! of a database) are combined by XOR of their elements' hashes, so the
//! order of a table walk does not matter; lists and stream entries are
//! hashed in order. A key with a TTL digests differently from the same
//! key without one, but the deadline itself is left out (two servers
//! never hold exactly the same one), as in Redis.
//!
//! The values are RedisLite's own: Redis computes its signature with
//! another scheme, so the digests of a RedisLite and a redis-server
//! holding the same data differ. Compare RedisLite with RedisLite.
//!
//! Must never: expire or touch a key (DIGEST-VALUE reads logically
//! expired keys too, as Redis does); allocate in proportion to a value
//! beyond the hasher's state.

use crate::db::Db;
use crate::types::stream::StreamValue;
use crate::types::Value;
use sha1::{Digest, Sha1};

pub type Digest20 = [u8; 20];

/// What an empty dataset, or a missing key, digests to.
pub const ZERO: Digest20 = [0; 20];

fn xor_into(acc: &mut Digest20, d: &Digest20) {
    for (a, b) in acc.iter_mut().zip(d) {
        *a ^= b;
    }
}

/// Feed one string, length first, so that ("ab", "c") and ("a", "bc")
/// hash differently.
fn feed(h: &mut Sha1, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn sha1_of(parts: &[&[u8]]) -> Digest20 {
    let mut h = Sha1::new();
    for p in parts {
        feed(&mut h, p);
    }
    h.finalize().into()
}

/// The signature of one value, and of whether it has a TTL.
pub fn value_digest(value: &Value, has_ttl: bool) -> Digest20 {
    let mut h = Sha1::new();
    match value {
        Value::Str(s) => {
            h.update(b"string");
            s.with_bytes(|b| feed(&mut h, b));
        }
        Value::List(l) => {
            h.update(b"list");
            for e in l.iter() {
                feed(&mut h, e);
            }
        }
        Value::Set(s) => {
            h.update(b"set");
            let mut acc = ZERO;
            for m in s.iter() {
                m.with_bytes(|b| xor_into(&mut acc, &sha1_of(&[b])));
            }
            h.update(acc);
        }
        Value::Hash(hv) => {
            h.update(b"hash");
            let mut acc = ZERO;
            for (f, v) in hv.iter() {
                xor_into(&mut acc, &sha1_of(&[f, v]));
            }
            h.update(acc);
        }
        Value::ZSet(z) => {
            h.update(b"zset");
            let mut acc = ZERO;
            for (m, score) in z.iter() {
                xor_into(&mut acc, &sha1_of(&[m, &score.to_bits().to_le_bytes()]));
            }
            h.update(acc);
        }
        Value::Stream(s) => {
            h.update(b"stream");
            stream_digest(&mut h, s);
        }
    }
    if has_ttl {
        h.update(b"ttl");
    }
    h.finalize().into()
}

fn id_bytes(id: crate::types::stream::StreamId) -> [u8; 16] {
    let mut out = [0; 16];
    out[..8].copy_from_slice(&id.ms.to_le_bytes());
    out[8..].copy_from_slice(&id.seq.to_le_bytes());
    out
}

/// Entries in order, the stream's IDs and counters, and each group's
/// position, pending entries and consumers (in name order, as kept).
/// Left out: delivery times and counts, which a read changes only on the
/// server that serves it, and a group's entries-read counter, which the
/// propagated form of a read (XCLAIM) does not carry, so a replica or a
/// restart from the log lacks it (as with Redis 7.0).
fn stream_digest(h: &mut Sha1, s: &StreamValue) {
    for (id, entry) in s.iter() {
        h.update(id_bytes(*id));
        for (f, v) in entry.pairs() {
            feed(h, f);
            feed(h, v);
        }
    }
    h.update(id_bytes(s.last_id));
    h.update(id_bytes(s.max_deleted_id));
    h.update(s.entries_added.to_le_bytes());
    for (name, g) in &s.groups {
        feed(h, name.as_bytes());
        h.update(id_bytes(g.last_id));
        for (id, p) in &g.pel {
            h.update(id_bytes(*id));
            feed(h, p.consumer.as_bytes());
        }
        for name in g.consumers.keys() {
            feed(h, name.as_bytes());
        }
    }
}

/// DEBUG DIGEST: every non-empty database in order, each the XOR of its
/// keys' digests (name and value), so the table's walk order does not
/// matter; all zeros when the dataset is empty.
pub fn dataset_digest(dbs: &[Db]) -> Digest20 {
    let mut acc = ZERO;
    for (n, db) in dbs.iter().enumerate() {
        if db.dict.is_empty() {
            continue;
        }
        let mut keys = ZERO;
        for (key, obj) in db.dict.iter() {
            let key = key.as_bytes();
            let value = value_digest(&obj.value, db.expires.get(key).is_some());
            xor_into(&mut keys, &sha1_of(&[key, &value]));
        }
        acc = sha1_of(&[&acc, &(n as u64).to_le_bytes(), &keys]);
    }
    acc
}

/// Lower-case hex, as DEBUG DIGEST prints it.
pub fn hex(d: &Digest20) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::set::SetValue;
    use crate::types::string::StrValue;

    #[test]
    fn a_set_digests_the_same_in_any_insertion_order() {
        let mut a = SetValue::default();
        let mut b = SetValue::default();
        for m in [b"1".as_slice(), b"2", b"x", b"30"] {
            a.add(m, 512);
        }
        for m in [b"30".as_slice(), b"x", b"2", b"1"] {
            b.add(m, 512);
        }
        assert_eq!(
            value_digest(&Value::Set(a), false),
            value_digest(&Value::Set(b), false)
        );
    }

    #[test]
    fn an_integer_string_digests_as_its_text() {
        let int = StrValue::from_bytes(b"12345");
        let raw = StrValue::from_bytes_unencoded(b"12345");
        assert_eq!(
            value_digest(&Value::Str(int), false),
            value_digest(&Value::Str(raw), false)
        );
    }

    #[test]
    fn a_ttl_changes_the_digest_and_the_type_counts() {
        let s = Value::Str(StrValue::from_bytes(b"v"));
        assert_ne!(value_digest(&s, false), value_digest(&s, true));
        let mut set = SetValue::default();
        set.add(b"v", 512);
        assert_ne!(
            value_digest(&s, false),
            value_digest(&Value::Set(set), false)
        );
    }
}
