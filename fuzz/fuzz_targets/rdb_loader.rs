//! Fuzz the RDB loader: arbitrary bytes (the seeds are real dumps, so
//! mutations start from valid files) loaded into a fresh server. It must
//! never panic nor allocate by a length the file claims; after a
//! successful load every key must be readable whole by the commands of
//! its family, with well-formed replies.

#![no_main]

use libfuzzer_sys::fuzz_target;
use redislite::resp::parser::{Parsed, Parser};
use redislite::server::offline::{replies_well_formed, Offline};

/// Reads that walk a whole value of each type, as (words before the
/// key, words after it); the wrong-type ones just answer WRONGTYPE.
const READS: &[(&[&[u8]], &[&[u8]])] = &[
    (&[b"TYPE"], &[]),
    (&[b"OBJECT", b"ENCODING"], &[]),
    (&[b"GET"], &[]),
    (&[b"LRANGE"], &[b"0", b"-1"]),
    (&[b"HGETALL"], &[]),
    (&[b"SMEMBERS"], &[]),
    (&[b"ZRANGE"], &[b"0", b"-1", b"WITHSCORES"]),
    (&[b"PTTL"], &[]),
    (&[b"MEMORY", b"USAGE"], &[]),
];

fuzz_target!(|data: &[u8]| {
    let mut off = Offline::new();
    if off.load_rdb(data).is_err() {
        return;
    }
    let keys = off.run(&[b"KEYS", b"*"]);
    assert!(replies_well_formed(&keys));
    // A multibulk of bulk strings is also a request: the request parser
    // lists the keys.
    let mut parser = Parser::new(u64::MAX);
    let Ok(Parsed::Command { .. }) = parser.parse(&keys) else {
        return; // no keys
    };
    let names: Vec<Vec<u8>> = parser
        .arg_ranges()
        .iter()
        .take(32)
        .map(|r| keys[r.clone()].to_vec())
        .collect();
    for key in &names {
        for (before, after) in READS {
            let mut argv: Vec<&[u8]> = before.to_vec();
            argv.push(key);
            argv.extend_from_slice(after);
            let out = off.run(&argv);
            assert!(
                replies_well_formed(&out),
                "{:?}",
                String::from_utf8_lossy(&out)
            );
        }
    }
});
