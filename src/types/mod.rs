//! Value representations stored in the keyspace.
//!
//! Owns: [`RObj`], the object every key points to (a value plus the
//! per-object metadata eviction and OBJECT need), and the [`Value`] enum of
//! data types. Each data type's representation lives in its own file.
//!
//! Deadlines are not stored here but in the database's `expires` table, as
//! Redis does: the active expiry cycle must walk only keys with a TTL.

pub mod compact;
pub mod string;

pub use compact::CompactBytes;
pub use string::StrValue;

/// One stored value with its metadata.
#[derive(Debug, Clone)]
pub struct RObj {
    /// Seconds-resolution access clock (24 bits used, as Redis's LRU clock),
    /// read by OBJECT IDLETIME and the LRU eviction policies.
    pub lru: u32,
    pub value: Value,
}

/// The data types. Only strings exist so far; the aggregate types arrive
/// with their own files (list.rs, hash.rs, set.rs, zset.rs).
#[derive(Debug, Clone)]
pub enum Value {
    Str(StrValue),
}

impl RObj {
    pub fn new(value: Value, lru: u32) -> RObj {
        RObj { lru, value }
    }

    /// Name returned by TYPE.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Str(_) => "string",
        }
    }

    /// Name returned by OBJECT ENCODING (Redis's names).
    pub fn encoding_name(&self) -> &'static str {
        match &self.value {
            Value::Str(s) => s.encoding_name(),
        }
    }

    /// Heap bytes owned by the value (for MEMORY USAGE and accounting).
    pub fn heap_size(&self) -> usize {
        match &self.value {
            Value::Str(s) => s.heap_size(),
        }
    }
}
