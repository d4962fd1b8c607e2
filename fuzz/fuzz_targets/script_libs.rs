//! Fuzz the Lua libraries scripts decode untrusted bytes with (cjson,
//! cmsgpack, struct), inside the real script sandbox.
//!
//! The body is `redislite::server::fuzz_entry::script_libs` (its checks
//! are documented there), so `tests/fuzz_corpus.rs` runs the same code on
//! stable Rust.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| redislite::server::fuzz_entry::script_libs(data));
