//! Value representations stored in the keyspace.
//!
//! Owns: [`RObj`], the object every key points to (a value plus the
//! per-object metadata eviction and OBJECT need), and the [`Value`] enum of
//! data types. Each data type's representation lives in its own file.
//!
//! Deadlines are not stored here but in the database's `expires` table, as
//! Redis does: the active expiry cycle must walk only keys with a TTL.

pub mod compact;
pub mod geohash;
pub mod hash;
pub mod hyperloglog;
pub mod list;
pub mod set;
pub mod stream;
pub mod string;
pub mod zset;

pub use compact::CompactBytes;
pub use hash::HashValue;
pub use list::ListValue;
pub use set::SetValue;
pub use stream::StreamValue;
pub use string::StrValue;
pub use zset::ZSetValue;

/// A data type that a command family can take out of a [`Value`]: the
/// type check every family does on lookup, written once (see
/// `Keyspace::lookup_typed`).
pub trait ValueType {
    fn from_value_mut(v: &mut Value) -> Option<&mut Self>;
}

impl ValueType for StrValue {
    fn from_value_mut(v: &mut Value) -> Option<&mut Self> {
        match v {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl ValueType for ListValue {
    fn from_value_mut(v: &mut Value) -> Option<&mut Self> {
        match v {
            Value::List(l) => Some(l),
            _ => None,
        }
    }
}

impl ValueType for HashValue {
    fn from_value_mut(v: &mut Value) -> Option<&mut Self> {
        match v {
            Value::Hash(h) => Some(h),
            _ => None,
        }
    }
}

impl ValueType for SetValue {
    fn from_value_mut(v: &mut Value) -> Option<&mut Self> {
        match v {
            Value::Set(s) => Some(s),
            _ => None,
        }
    }
}

impl ValueType for StreamValue {
    fn from_value_mut(v: &mut Value) -> Option<&mut Self> {
        match v {
            Value::Stream(s) => Some(s),
            _ => None,
        }
    }
}

impl ValueType for ZSetValue {
    fn from_value_mut(v: &mut Value) -> Option<&mut Self> {
        match v {
            Value::ZSet(z) => Some(z),
            _ => None,
        }
    }
}

/// One stored value with its metadata.
#[derive(Debug, Clone)]
pub struct RObj {
    /// Seconds-resolution access clock (24 bits used, as Redis's LRU clock),
    /// read by OBJECT IDLETIME and the LRU eviction policies.
    pub lru: u32,
    pub value: Value,
}

/// The data types, one file each. Aggregates are boxed so that `Value`
/// (and so every dict entry) stays as small as a string value: most keys
/// in most datasets are strings.
#[derive(Debug, Clone)]
pub enum Value {
    Str(StrValue),
    List(Box<ListValue>),
    Hash(HashValue),
    Set(SetValue),
    ZSet(Box<ZSetValue>),
    Stream(Box<StreamValue>),
}

impl RObj {
    pub fn new(value: Value, lru: u32) -> RObj {
        RObj { lru, value }
    }

    /// Name returned by TYPE.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// Name returned by OBJECT ENCODING (Redis's names).
    pub fn encoding_name(&self) -> &'static str {
        match &self.value {
            Value::Str(s) => s.encoding_name(),
            Value::List(l) => l.encoding_name(),
            Value::Hash(h) => h.encoding_name(),
            Value::Set(s) => s.encoding_name(),
            Value::ZSet(z) => z.encoding_name(),
            Value::Stream(s) => s.encoding_name(),
        }
    }

    /// Heap bytes owned by the value (for MEMORY USAGE and accounting).
    pub fn heap_size(&self) -> usize {
        match &self.value {
            Value::Str(s) => s.heap_size(),
            Value::List(l) => l.heap_size(),
            Value::Hash(h) => h.heap_size(),
            Value::Set(s) => s.heap_size(),
            Value::ZSet(z) => z.heap_size(),
            Value::Stream(s) => s.heap_size(),
        }
    }

    /// Allocations freeing this value releases (decides lazy freeing).
    pub fn free_effort(&self) -> usize {
        match &self.value {
            Value::Str(_) => 1,
            Value::List(l) => l.free_effort(),
            Value::Hash(h) => h.free_effort(),
            Value::Set(s) => s.free_effort(),
            Value::ZSet(z) => z.free_effort(),
            Value::Stream(s) => s.free_effort(),
        }
    }
}
