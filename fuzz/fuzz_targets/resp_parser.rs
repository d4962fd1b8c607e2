//! Fuzz the RESP request parser: any byte string, fed whole or split at a
//! fuzzer-chosen point, must parse to the same commands, never panic, and
//! never report an argument range outside the buffer.

#![no_main]

use libfuzzer_sys::fuzz_target;
use redislite::resp::parser::{Parsed, Parser};

/// Parse `data` as a stream delivered in two reads split at `split`;
/// return the commands seen (or the first protocol error) as bytes.
fn parse_stream(data: &[u8], split: usize) -> (Vec<Vec<Vec<u8>>>, Option<String>) {
    let mut parser = Parser::new(1024 * 1024);
    let mut buf: Vec<u8> = Vec::new();
    let mut commands = Vec::new();
    let chunks = [&data[..split], &data[split..]];
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match parser.parse(&buf) {
                Ok(Parsed::Command { consumed, inline }) => {
                    assert!(consumed <= buf.len());
                    let src: &[u8] = if inline { parser.scratch() } else { &buf };
                    let args = parser
                        .arg_ranges()
                        .iter()
                        .map(|r| src[r.clone()].to_vec())
                        .collect();
                    commands.push(args);
                    buf.drain(..consumed);
                }
                Ok(Parsed::Empty { consumed }) => {
                    assert!(consumed <= buf.len());
                    buf.drain(..consumed);
                }
                Ok(Parsed::Incomplete) => break,
                Err(e) => return (commands, Some(e.message())),
            }
        }
    }
    (commands, None)
}

fuzz_target!(|input: &[u8]| {
    if input.is_empty() {
        return;
    }
    let split = input[0] as usize % input.len();
    let data = &input[1..];
    let split = split.min(data.len());
    let whole = parse_stream(data, data.len());
    let chunked = parse_stream(data, split);
    assert_eq!(whole, chunked, "split at {split} changed the parse");
});
