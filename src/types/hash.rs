//! The hash type's in-memory representation.
//!
//! Placeholder from the scaffolding commit: the data-types issue replaces
//! this with the real encodings (compact small form, converted past the
//! configured thresholds, reported by OBJECT ENCODING with Redis's names).

/// A hash value.
#[derive(Debug, Clone, Default)]
pub struct HashValue {}

impl HashValue {
    /// OBJECT ENCODING name.
    pub fn encoding_name(&self) -> &'static str {
        "listpack"
    }

    /// Heap bytes owned by the value.
    pub fn heap_size(&self) -> usize {
        0
    }

    /// Allocations freeing the value releases (lazy-free decision).
    pub fn free_effort(&self) -> usize {
        1
    }
}
