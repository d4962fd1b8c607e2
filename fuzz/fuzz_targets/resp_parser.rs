//! Fuzz the RESP readers: the server's request parser (multibulk and
//! inline) and the benchmark's reply reader (RESP2/RESP3 replies), fed
//! whole and split at up to three fuzzer-chosen points.
//!
//! The body is `redislite::server::fuzz_entry::resp_parser` (its checks are
//! documented there), so `tests/fuzz_corpus.rs` runs the same code on
//! stable Rust.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| redislite::server::fuzz_entry::resp_parser(data));
