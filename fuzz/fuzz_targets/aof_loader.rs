//! Fuzz the AOF loader: arbitrary bytes as a whole log image.
//!
//! The body is `redislite::server::fuzz_entry::aof_loader` (its checks are
//! documented there), so `tests/fuzz_corpus.rs` runs the same code on
//! stable Rust.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| redislite::server::fuzz_entry::aof_loader(data));
