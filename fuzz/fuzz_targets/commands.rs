//! Fuzz the command layer: the input decodes into argument vectors that
//! run against a fresh in-memory server, in RESP2 or RESP3.
//!
//! The body is `redislite::server::fuzz_entry::commands` (its checks are
//! documented there), so `tests/fuzz_corpus.rs` runs the same code on
//! stable Rust.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| redislite::server::fuzz_entry::commands(data));
