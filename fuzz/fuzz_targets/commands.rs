//! Fuzz the command layer: the input decodes (redislite's
//! `commands_from_bytes`, biased toward real command names, a few keys,
//! option words and edge numbers) into argument vectors that run against
//! a fresh in-memory server, in RESP2 or RESP3. No command may panic, and
//! every reply must be well-formed RESP.

#![no_main]

use libfuzzer_sys::fuzz_target;
use redislite::server::offline::{commands_from_bytes, replies_well_formed, Offline};

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let mut off = Offline::new();
    off.set_resp3(mode & 1 == 1);
    for argv in commands_from_bytes(rest) {
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        let out = off.run(&args);
        assert!(
            replies_well_formed(&out),
            "malformed reply to {:?}: {:?}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>(),
            String::from_utf8_lossy(&out)
        );
    }
});
