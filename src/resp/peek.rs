//! Look-ahead over pipelined requests: where is each request's second
//! argument (its key, for nearly every data command)?
//!
//! Owns: a read-only scan of the complete multibulk requests at the start
//! of a buffer, used to prefetch the keyspace memory they will touch
//! (`Keyspace::prefetch_pipeline`) before the real parser runs them.
//!
//! Must never: be trusted for anything but a hint. It validates only what
//! it needs to find boundaries, and gives up (returns fewer requests) at
//! the first thing that is not a complete, canonical multibulk request —
//! inline requests, partial input, bad lengths — leaving every judgement,
//! and every error reply, to `parser::Parser`. It never allocates and looks
//! only inside the buffer; its work is linear in the bytes it scans and
//! bounded by the caller's output slice.
//!
//! Invariant: every range it reports lies inside the buffer, and a request
//! it reports is one the parser would accept as the same argument vector
//! (short of `proto-max-bulk-len`, a limit only the parser applies).

use std::ops::Range;

use super::parser::{read_decimal_line, MULTIBULK_MAX_ARGS};

/// Scan the complete multibulk requests at the start of `buf`, at most
/// `keys.len()` of them. For the i-th, `keys[i]` is the byte range of its
/// second argument (None when it has only one). Returns how many requests
/// were found and the offset just past the last one.
pub fn second_args(buf: &[u8], keys: &mut [Option<Range<usize>>]) -> (usize, usize) {
    let mut found = 0;
    let mut pos = 0;
    while let Some(slot) = keys.get_mut(found) {
        let Some((key, end)) = one_request(buf, pos) else {
            break;
        };
        *slot = key;
        found += 1;
        pos = end;
    }
    (found, pos)
}

/// One complete request at `start`: its second argument and its end.
fn one_request(buf: &[u8], start: usize) -> Option<(Option<Range<usize>>, usize)> {
    if buf.get(start) != Some(&b'*') {
        return None;
    }
    let (argc, mut i) = read_decimal_line(buf, start + 1)?;
    if argc == 0 || argc > MULTIBULK_MAX_ARGS as u64 {
        return None;
    }
    let mut key = None;
    // Each argument takes at least 6 bytes ("$0\r\n\r\n") and the loop
    // fails as soon as one does not fit, so it runs at most buf.len()/6
    // times, whatever argc claims.
    for arg in 0..argc {
        if buf.get(i) != Some(&b'$') {
            return None;
        }
        let (len, data) = read_decimal_line(buf, i + 1)?;
        let end = data.checked_add(usize::try_from(len).ok()?)?;
        if buf.get(end..end.checked_add(2)?) != Some(b"\r\n".as_slice()) {
            return None;
        }
        if arg == 1 {
            key = Some(data..end);
        }
        i = end + 2;
    }
    Some((key, i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::parser::{Parsed, Parser};

    fn scan(buf: &[u8], max: usize) -> (Vec<Option<&[u8]>>, usize) {
        let mut keys = vec![None; max];
        let (n, end) = second_args(buf, &mut keys);
        let found = keys[..n]
            .iter()
            .map(|k| k.clone().map(|r| &buf[r]))
            .collect();
        (found, end)
    }

    #[test]
    fn finds_each_requests_second_argument() {
        let buf = b"*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$0\r\n\r\n$1\r\nv\r\n";
        let (keys, end) = scan(buf, 16);
        assert_eq!(
            keys,
            vec![Some(b"foo".as_slice()), None, Some(b"".as_slice())]
        );
        assert_eq!(end, buf.len());
    }

    #[test]
    fn stops_at_the_limit_and_at_anything_incomplete_or_odd() {
        let one = b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n";
        let two = [one.as_slice(), one].concat();
        assert_eq!(scan(&two, 1), (vec![Some(b"a".as_slice())], one.len()));
        for tail in [
            b"*2\r\n$3\r\nGET\r\n$1\r\na\r".as_slice(), // cut before the LF
            b"GET a\r\n",                               // inline
            b"*2\r\n$3\r\nGET\r\n$-1\r\n",              // negative length
            b"*0\r\n",                                  // empty
            b"*2\r\n$3\r\nGET\r\n$1\r\nab\r\n",         // length mismatch
            b"*2\r\n$3\r\nGET\r\n$1000000000\r\nab",    // 1 GB claim
            b"*9223372036854775807\r\n$1\r\na\r\n",     // absurd count
        ] {
            let buf = [one.as_slice(), tail].concat();
            assert_eq!(scan(&buf, 16), (vec![Some(b"a".as_slice())], one.len()));
        }
    }

    /// Whatever the bytes, the ranges stay in the buffer and every request
    /// reported is one the real parser reads with the same second argument.
    #[test]
    fn agrees_with_the_parser_on_mutated_pipelines() {
        let base = b"*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n*3\r\n$3\r\nSET\r\n$5\r\nkey:2\r\n$2\r\nvv\r\n*1\r\n$4\r\nPING\r\n";
        let mut rng = 0x1234_5678_9abc_def0u64;
        for _ in 0..20_000 {
            let mut buf = base.to_vec();
            for _ in 0..1 + crate::dict::random_below(&mut rng, 3) {
                if buf.is_empty() {
                    break;
                }
                let at = crate::dict::random_below(&mut rng, buf.len());
                let byte = crate::dict::rng_next(&mut rng) as u8;
                match crate::dict::random_below(&mut rng, 3) {
                    0 => buf[at] = byte,
                    1 => buf.insert(at, byte),
                    _ => buf.truncate(at),
                }
            }
            let mut keys = vec![None; 8];
            let (n, end) = second_args(&buf, &mut keys);
            assert!(end <= buf.len());
            let mut parser = Parser::new(u64::MAX);
            let mut off = 0;
            for key in &keys[..n] {
                let Ok(Parsed::Command { consumed, inline }) = parser.parse(&buf[off..]) else {
                    panic!("peek accepted what the parser does not: {buf:?}");
                };
                assert!(!inline);
                let (ranges, scratch) = parser.take_args();
                let second = ranges.get(1).map(|r| &buf[off + r.start..off + r.end]);
                assert_eq!(second, key.clone().map(|r| &buf[r]), "{buf:?}");
                parser.restore_args(ranges, scratch);
                off += consumed;
            }
            assert_eq!(off, end);
        }
    }
}
