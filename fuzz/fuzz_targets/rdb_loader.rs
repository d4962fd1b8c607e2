//! Fuzz the RDB loader: arbitrary bytes as a whole dump, then every key
//! read back.
//!
//! The body is `redislite::server::fuzz_entry::rdb_loader` (its checks are
//! documented there), so `tests/fuzz_corpus.rs` runs the same code on
//! stable Rust.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| redislite::server::fuzz_entry::rdb_loader(data));
