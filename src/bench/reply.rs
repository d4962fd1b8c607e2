//! Reading the server's replies to GET and SET: an incremental RESP reply
//! reader that counts replies without keeping them.
//!
//! Owns: reply framing for the types GET and SET can return — status
//! (`+OK`), error (`-ERR ...`), integer (`:1`), bulk string (`$3\r\nabc`),
//! and the nulls (`$-1`, RESP2's `*-1`, RESP3's `_`) — fed in whatever
//! pieces the socket delivers.
//!
//! Must never: allocate by a length the server announced (bulk payloads
//! are skipped as they stream past, never buffered), or buffer an
//! unbounded header line (`LINE_BYTES_MAX`). Anything else — an array, an
//! unknown type byte, a malformed length — is a protocol error: the
//! benchmark only sends GET and SET, so such a reply means the byte stream
//! is out of step and no later count could be trusted.
//!
//! Invariant: `line` holds only the start of a header line that a previous
//! `feed` could not finish; a header line wholly inside one `feed` call is
//! parsed in place, without copying.

/// Longest header line accepted (an error reply's text, or a length).
/// Redis's error replies are far shorter; this only stops a runaway.
pub const LINE_BYTES_MAX: usize = 64 * 1024;
/// Longest bulk string accepted: Redis's 512 MB string limit.
pub const BULK_BYTES_MAX: u64 = 512 * 1024 * 1024;
/// Characters of the first error reply kept for the report.
const ERROR_TEXT_MAX: usize = 200;

/// What one `feed` call saw.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Complete replies of any kind.
    pub replies: u64,
    /// Error replies (`-...`), included in `replies`.
    pub errors: u64,
    /// Null replies (a GET on a missing key), included in `replies`.
    pub nils: u64,
    /// The text of the first error reply, trimmed to 200 characters.
    pub first_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting (the rest of) a header line.
    Line,
    /// Inside a bulk payload: this many bytes still to skip, then CRLF.
    BulkBody { remaining: u64 },
    /// After a bulk payload: this many bytes of its CRLF already seen.
    BulkEnd { seen: u8 },
}

#[derive(Debug)]
pub struct ReplyReader {
    state: State,
    line: Vec<u8>,
}

impl Default for ReplyReader {
    fn default() -> Self {
        ReplyReader {
            state: State::Line,
            line: Vec::new(),
        }
    }
}

impl ReplyReader {
    /// True when no reply is partly read.
    pub fn is_idle(&self) -> bool {
        self.state == State::Line && self.line.is_empty()
    }

    /// Consume `data` (the next bytes from the socket), adding every reply
    /// it completes to `tally`. On error the stream is unusable.
    pub fn feed(&mut self, mut data: &[u8], tally: &mut Tally) -> Result<(), String> {
        while !data.is_empty() {
            match self.state {
                State::BulkBody { remaining } => {
                    let skip = remaining.min(data.len() as u64);
                    data = &data[skip as usize..];
                    self.state = if skip == remaining {
                        State::BulkEnd { seen: 0 }
                    } else {
                        State::BulkBody {
                            remaining: remaining - skip,
                        }
                    };
                }
                State::BulkEnd { seen } => {
                    let expected = if seen == 0 { b'\r' } else { b'\n' };
                    if data[0] != expected {
                        return Err("bulk string not followed by CRLF".into());
                    }
                    data = &data[1..];
                    if seen == 0 {
                        self.state = State::BulkEnd { seen: 1 };
                    } else {
                        self.state = State::Line;
                        tally.replies += 1;
                    }
                }
                State::Line => {
                    let Some(nl) = data.iter().position(|&b| b == b'\n') else {
                        if self.line.len() + data.len() > LINE_BYTES_MAX {
                            return Err(format!("reply line longer than {LINE_BYTES_MAX} bytes"));
                        }
                        self.line.extend_from_slice(data);
                        return Ok(());
                    };
                    let (head, rest) = data.split_at(nl + 1);
                    data = rest;
                    if self.line.is_empty() {
                        self.state = parse_line(head, tally)?;
                    } else {
                        if self.line.len() + head.len() > LINE_BYTES_MAX {
                            return Err(format!("reply line longer than {LINE_BYTES_MAX} bytes"));
                        }
                        let mut line = std::mem::take(&mut self.line);
                        line.extend_from_slice(head);
                        let parsed = parse_line(&line, tally);
                        // Keep the allocation for the next split line.
                        line.clear();
                        self.line = line;
                        self.state = parsed?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Parse one header line (ending in "\n"); count it if it is a whole reply,
/// or return the bulk state that follows.
fn parse_line(line: &[u8], tally: &mut Tally) -> Result<State, String> {
    let Some(body) = line.strip_suffix(b"\r\n") else {
        return Err(format!(
            "reply line not terminated by CRLF: {:?}",
            printable(line)
        ));
    };
    let Some((&kind, rest)) = body.split_first() else {
        return Err("empty reply line".into());
    };
    match kind {
        b'+' | b':' => {
            tally.replies += 1;
        }
        b'-' => {
            tally.replies += 1;
            tally.errors += 1;
            if tally.first_error.is_none() {
                tally.first_error = Some(printable(body));
            }
        }
        b'_' if rest.is_empty() => {
            tally.replies += 1;
            tally.nils += 1;
        }
        b'$' => match parse_length(rest)? {
            None => {
                tally.replies += 1;
                tally.nils += 1;
            }
            Some(len) if len > BULK_BYTES_MAX => {
                return Err(format!(
                    "bulk length {len} is above the {BULK_BYTES_MAX}-byte string limit"
                ));
            }
            Some(0) => return Ok(State::BulkEnd { seen: 0 }),
            Some(len) => return Ok(State::BulkBody { remaining: len }),
        },
        b'*' if rest == b"-1" => {
            tally.replies += 1;
            tally.nils += 1;
        }
        _ => {
            return Err(format!(
                "unexpected reply to GET/SET: {:?}",
                printable(body)
            ));
        }
    }
    Ok(State::Line)
}

/// A bulk length: `-1` is null (None), else a non-negative decimal.
fn parse_length(digits: &[u8]) -> Result<Option<u64>, String> {
    if digits == b"-1" {
        return Ok(None);
    }
    // At most 19 digits: every such number fits in u64.
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(format!("bad bulk length {:?}", printable(digits)));
    }
    Ok(Some(
        digits.iter().fold(0u64, |n, d| n * 10 + (d - b'0') as u64),
    ))
}

/// The server's bytes as text for a message, trimmed to a readable size.
fn printable(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(ERROR_TEXT_MAX)];
    String::from_utf8_lossy(cut).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &[u8] =
        b"+OK\r\n$3\r\nabc\r\n$-1\r\n:12\r\n-ERR wrong\r\n$0\r\n\r\n_\r\n*-1\r\n$5\r\nx\r\nyz\r\n";

    fn expected() -> Tally {
        Tally {
            replies: 9,
            errors: 1,
            nils: 3,
            first_error: Some("-ERR wrong".into()),
        }
    }

    #[test]
    fn counts_every_reply_kind() {
        let mut r = ReplyReader::default();
        let mut t = Tally::default();
        r.feed(STREAM, &mut t).unwrap();
        assert_eq!(t, expected());
        assert!(r.is_idle());
    }

    #[test]
    fn any_split_gives_the_same_count() {
        // Every split point, and byte-by-byte: the socket may cut anywhere.
        for cut in 0..=STREAM.len() {
            let mut r = ReplyReader::default();
            let mut t = Tally::default();
            r.feed(&STREAM[..cut], &mut t).unwrap();
            r.feed(&STREAM[cut..], &mut t).unwrap();
            assert_eq!(t, expected(), "split at {cut}");
            assert!(r.is_idle());
        }
        let mut r = ReplyReader::default();
        let mut t = Tally::default();
        for b in STREAM {
            r.feed(std::slice::from_ref(b), &mut t).unwrap();
        }
        assert_eq!(t, expected());
    }

    #[test]
    fn partial_reply_is_not_counted() {
        let mut r = ReplyReader::default();
        let mut t = Tally::default();
        r.feed(b"$5\r\nhel", &mut t).unwrap();
        assert_eq!(t.replies, 0);
        assert!(!r.is_idle());
        r.feed(b"lo\r", &mut t).unwrap();
        assert_eq!(t.replies, 0);
        r.feed(b"\n", &mut t).unwrap();
        assert_eq!(t.replies, 1);
    }

    #[test]
    fn rejects_what_get_and_set_never_send() {
        for bad in [
            &b"*2\r\n"[..],
            b"%1\r\n",
            b"?\r\n",
            b"+OK\n",
            b"$abc\r\n",
            b"$-2\r\n",
            b"$3\r\nabcXY",
            b"$99999999999999999999\r\n",
            b"$600000000\r\n",
            b"\r\n",
        ] {
            let mut r = ReplyReader::default();
            let mut t = Tally::default();
            assert!(
                r.feed(bad, &mut t).is_err(),
                "{:?} should be rejected",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn header_line_is_bounded() {
        let mut r = ReplyReader::default();
        let mut t = Tally::default();
        let chunk = vec![b'a'; 1024];
        r.feed(b"-", &mut t).unwrap();
        let mut failed = false;
        for _ in 0..(LINE_BYTES_MAX / 1024 + 2) {
            if r.feed(&chunk, &mut t).is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed, "an endless line must be rejected");
    }
}
