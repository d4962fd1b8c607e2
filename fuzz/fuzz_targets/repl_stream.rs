//! Fuzz the replica's reader of its master link: the bytes after our PING
//! (handshake replies, +FULLRESYNC or +CONTINUE, the `$len` RDB payload,
//! then the command stream), delivered in fuzzer-chosen reads. It must
//! never panic, hang, or allocate by the `$len` the "master" claims.

#![no_main]

use libfuzzer_sys::fuzz_target;
use redislite::server::offline::Offline;

fuzz_target!(|input: &[u8]| {
    if input.len() < 2 {
        return;
    }
    let cut = (input[0] as usize * 7).min(input.len() - 2);
    let data = &input[2..];
    let cut = cut.min(data.len());
    let mut off = Offline::new();
    let _ = off.feed_master_link(&[&data[..cut], &data[cut..]]);
    // The server must still answer after whatever the stream did.
    assert_eq!(off.run(&[b"PING"]), b"+PONG\r\n");
});
