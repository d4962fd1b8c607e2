//! Lua scripting (EVAL, EVALSHA, SCRIPT, FUNCTION, FCALL): the
//! interpreter, its script cache and the bridge from scripts to commands.
//!
//! Owns: one Lua 5.1 state for the server's life (built on the first
//! script, so a server that never runs one pays nothing), the scripts
//! compiled into it by SHA-1, the `math.random` sequence, and the fake
//! client whose commands a script runs.
//!
//! Layout: `sandbox.rs` builds the state (what globals a script sees and
//! what it may not touch), `run.rs` runs one script and is the bridge
//! behind `redis.call`, `convert.rs` maps values between Lua and RESP,
//! `rand48.rs` is `math.random`, `busy.rs` watches long scripts (BUSY,
//! SCRIPT KILL), `functions.rs` holds Redis 7.0's function libraries in a
//! Lua state of their own, `libs/` holds `bit`, `cjson`, `cmsgpack` and
//! `struct`. The commands are in `commands/scripting.rs` and
//! `commands/functions.rs`.
//!
//! Must never: run a script's command without the checks a client's
//! command gets (ACL, read-only scripts, NOSCRIPT commands), or let a
//! script's effects reach the AOF and replicas other than as the commands
//! it ran (Redis 7.0 replicates effects, never the script).

pub mod busy;
pub mod convert;
pub mod functions;
pub mod libs;
pub mod rand48;
pub mod run;
pub mod sandbox;

use crate::connection::Client;
use mlua::{Function, Lua};
use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

/// A script in the cache: its compiled function and declared flags (the
/// source is not kept: only its length counts, in `cached_bytes`).
pub struct Script {
    pub func: Function,
    pub flags: ScriptFlags,
}

/// What a script's shebang line (`#!lua flags=...`) declares. A script
/// without one has `shebang` false and every permission, as before 7.0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    pub shebang: bool,
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot_keys: bool,
}

/// The scripting engine's state, one per server.
#[derive(Default)]
pub struct Scripting {
    lua: Option<Lua>,
    /// Shared with the `math.random` functions inside the state.
    pub rand: Rc<Cell<rand48::Rand48>>,
    /// Cached scripts by lower-case hex SHA-1.
    pub scripts: HashMap<String, Script>,
    /// Bytes of script source held by the cache (INFO
    /// `used_memory_scripts_eval`).
    pub cached_bytes: usize,
    /// The client a script's commands run as (built once, reused).
    pub fake: Option<Box<Client>>,
    /// Scripts run since start: every `run::GC_PERIOD`th gets a Lua GC
    /// step, as in Redis.
    pub runs: u64,
    /// The last run's name buffer, reused by the next (busy.rs).
    pub spare_name: String,
    /// The script running now, if any (busy.rs).
    running: Option<busy::RunningScript>,
    /// Redis 7.0 functions (FUNCTION / FCALL): their libraries and their
    /// own Lua state.
    pub functions: functions::Functions,
    /// Set by the offline harness (server/offline.rs): see [`Scripting::set_offline`].
    pub offline: bool,
}

/// Memory one Lua state may take under the offline harness: a script
/// like `string.rep('x', 2^30)` must fail there, not exhaust the fuzzer.
pub const OFFLINE_LUA_MEMORY: usize = 64 << 20;

impl Scripting {
    /// The Lua state, built on first use.
    pub fn lua(&mut self) -> mlua::Result<Lua> {
        if let Some(l) = &self.lua {
            return Ok(l.clone());
        }
        let limit = self.offline.then_some(OFFLINE_LUA_MEMORY);
        let l = sandbox::new_state(self.rand.clone(), limit)?;
        self.lua = Some(l.clone());
        Ok(l)
    }

    /// Memory the Lua state uses (INFO `used_memory_lua`); 0 before the
    /// first script builds it.
    pub fn lua_memory(&self) -> usize {
        match &self.lua {
            Some(l) => l.used_memory(),
            None => 0,
        }
    }

    /// Tell the allocator's count what the Lua states hold now, so that
    /// `used_memory` leaves it out as Redis's does (memory.rs).
    pub fn note_memory(&self) {
        crate::memory::set_lua_memory(self.lua_memory() + self.functions.lua_memory());
    }

    /// For the offline harness, which has no event loop to serve a busy
    /// script from and feeds hostile scripts at full speed: a script past
    /// `busy-reply-threshold` is killed at its next watchdog call whether
    /// or not it wrote (busy.rs), its commands are refused where the
    /// harness refuses a client's (run.rs), and each Lua state may take at
    /// most [`OFFLINE_LUA_MEMORY`]. A real server never sets this.
    pub fn set_offline(&mut self) {
        self.offline = true;
        self.functions.memory_limit = Some(OFFLINE_LUA_MEMORY);
    }

    /// SCRIPT FLUSH: forget every script and start a new state (so
    /// globals a script left behind go too).
    pub fn flush(&mut self) {
        self.scripts.clear();
        self.cached_bytes = 0;
        self.lua = None;
    }
}

/// Lower-case hex SHA-1 of `data` (script names, `redis.sha1hex`).
pub fn sha1_hex(data: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha1::digest(data);
    // Bytes first, one String at the end: pushing char by char cost more
    // than a quarter of the SHA-1 itself.
    let mut out = [0u8; 40];
    for (pair, b) in out.chunks_exact_mut(2).zip(digest) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 15)];
    }
    // Hex digits are ASCII: the check cannot fail.
    std::str::from_utf8(&out)
        .map(str::to_owned)
        .unwrap_or_default()
}

/// Parse a script's shebang line, if it has one: `Ok(None)` for a script
/// without (`#!` not at the start). Errors are Redis's texts.
pub fn parse_shebang(body: &[u8]) -> Result<Option<ScriptFlags>, String> {
    if !body.starts_with(b"#!") {
        return Ok(None);
    }
    let line_end = body.iter().position(|&b| b == b'\n');
    let Some(line_end) = line_end else {
        return Err("ERR Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(&body[..line_end]);
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if engine != "#!lua" {
        return Err(format!("ERR Unexpected engine in script shebang: {engine}"));
    }
    let mut flags = ScriptFlags {
        shebang: true,
        ..ScriptFlags::default()
    };
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(format!("ERR Unknown lua shebang option: {part}"));
        };
        for flag in list.split(',').filter(|f| !f.is_empty()) {
            match flag {
                "no-writes" => flags.no_writes = true,
                "allow-oom" => flags.allow_oom = true,
                "allow-stale" => flags.allow_stale = true,
                "no-cluster" => flags.no_cluster = true,
                "allow-cross-slot-keys" => flags.allow_cross_slot_keys = true,
                other => return Err(format!("ERR Unexpected flag in script shebang: {other}")),
            }
        }
    }
    Ok(Some(flags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_of_empty_is_known() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            sha1_hex(b"return 1"),
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
    }

    #[test]
    fn shebangs_parse_as_redis() {
        assert_eq!(parse_shebang(b"return 1"), Ok(None));
        let f = parse_shebang(b"#!lua  flags=no-writes,allow-oom  \nreturn 1")
            .unwrap()
            .unwrap();
        assert!(f.shebang && f.no_writes && f.allow_oom && !f.allow_stale);
        assert!(
            !parse_shebang(b"#!lua flags=\nx")
                .unwrap()
                .unwrap()
                .no_writes
        );
        assert_eq!(
            parse_shebang(b"#!lua").unwrap_err(),
            "ERR Invalid script shebang"
        );
        assert_eq!(
            parse_shebang(b"#!luax\n").unwrap_err(),
            "ERR Unexpected engine in script shebang: #!luax"
        );
        assert_eq!(
            parse_shebang(b"#!lua name=x\n").unwrap_err(),
            "ERR Unknown lua shebang option: name=x"
        );
        assert_eq!(
            parse_shebang(b"#!lua flags=bogus\n").unwrap_err(),
            "ERR Unexpected flag in script shebang: bogus"
        );
    }
}
