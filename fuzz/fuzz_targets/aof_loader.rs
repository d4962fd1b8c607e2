//! Fuzz the AOF loader: arbitrary bytes as a whole log image are verified
//! record by record (length, CRC32, RESP command) and the valid prefix is
//! replayed into a fresh server. It must never panic, and what it keeps
//! must be a prefix of the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use redislite::server::offline::Offline;

fuzz_target!(|data: &[u8]| {
    let mut off = Offline::new();
    if let Ok(keep) = off.load_aof(data) {
        assert!(keep <= data.len());
    }
});
