//! Fuzz the RESP readers: the server's request parser (multibulk and
//! inline) and the benchmark's reply reader (RESP2/RESP3 replies). Any
//! byte string, fed whole or split at up to three fuzzer-chosen points,
//! must give the same result, never panic, and never report an argument
//! range outside the buffer.

#![no_main]

use libfuzzer_sys::fuzz_target;
use redislite::bench::reply::{ReplyReader, Tally};
use redislite::server::offline::parse_requests;

/// Cut `data` into pieces at the (sorted, clamped) points in `cuts`.
fn pieces<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|&c| c.min(data.len())).collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for p in points {
        out.push(&data[start..p]);
        start = p;
    }
    out.push(&data[start..]);
    out
}

/// Feed the pieces to the reply reader; the tally and whether it failed.
fn read_replies(pieces: &[&[u8]]) -> (Tally, bool) {
    let mut reader = ReplyReader::default();
    let mut tally = Tally::default();
    for p in pieces {
        if reader.feed(p, &mut tally).is_err() {
            return (tally, true);
        }
    }
    (tally, false)
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 3 {
        return;
    }
    let cuts = [
        input[0] as usize * 4,
        input[1] as usize * 2,
        input[2] as usize,
    ];
    let data = &input[3..];
    let whole = [data];
    let split = pieces(data, &cuts);
    assert_eq!(
        parse_requests(&whole, 1024 * 1024),
        parse_requests(&split, 1024 * 1024),
        "request parse changed by splitting at {cuts:?}"
    );
    let (t1, e1) = read_replies(&whole);
    let (t2, e2) = read_replies(&split);
    assert_eq!(
        e1, e2,
        "reply reader error changed by splitting at {cuts:?}"
    );
    if !e1 {
        assert_eq!(t1, t2, "reply count changed by splitting at {cuts:?}");
    }
});
