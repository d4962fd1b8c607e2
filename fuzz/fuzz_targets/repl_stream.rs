//! Fuzz the replica's reader of its master link: the bytes after our
//! PING, delivered in two fuzzer-chosen reads.
//!
//! The body is `redislite::server::fuzz_entry::repl_stream` (its checks are
//! documented there), so `tests/fuzz_corpus.rs` runs the same code on
//! stable Rust.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| redislite::server::fuzz_entry::repl_stream(data));
