//! Incremental RESP request parser.
//!
//! Owns: turning the bytes a client sent into argument vectors, one command
//! at a time, for both request forms Redis accepts: multibulk
//! (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline (`GET k\r\n`, telnet style).
//!
//! Must never: allocate memory sized by a length the peer announced (a
//! `$1000000000` header is a claim, not an allocation size), panic on any
//! input, or re-scan bytes it has already validated when a big argument
//! arrives in many small reads.
//!
//! Invariants:
//! - Arguments are reported as byte ranges into the buffer handed to
//!   [`Parser::parse`] (multibulk) or into the parser's own scratch buffer
//!   (inline, because quotes and escapes rewrite the bytes). No copy is made
//!   for multibulk requests, which is what every real client sends.
//! - The parser keeps its progress inside the *current* command as offsets
//!   relative to the start of that command, so the caller may compact the
//!   buffer (move the unparsed tail to the front) between calls.
//! - Limits: at most 1024*1024 arguments per multibulk, bulk length at most
//!   `proto_max_bulk_len`, header lines at most 64 KiB, inline requests at
//!   most 64 KiB. Exceeding one is a protocol error that closes the client.

use std::ops::Range;

/// Longest inline request or `*`/`$` header line we accept without a newline.
pub const INLINE_MAX_BYTES: usize = 64 * 1024;
/// Largest element count of a multibulk header (same limit as Redis).
pub const MULTIBULK_MAX_ARGS: i64 = 1024 * 1024;

/// Why a request was rejected. The text is Redis's, byte for byte; the
/// server prefixes it with `-ERR ` and closes the connection afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    InvalidMultibulkLength,
    InvalidBulkLength,
    ExpectedDollar(u8),
    TooBigMbulkCount,
    TooBigBulkCount,
    TooBigInline,
    UnbalancedQuotes,
}

impl ProtocolError {
    pub fn message(&self) -> String {
        match self {
            ProtocolError::InvalidMultibulkLength => {
                "Protocol error: invalid multibulk length".into()
            }
            ProtocolError::InvalidBulkLength => "Protocol error: invalid bulk length".into(),
            ProtocolError::ExpectedDollar(b) => {
                format!("Protocol error: expected '$', got '{}'", *b as char)
            }
            ProtocolError::TooBigMbulkCount => "Protocol error: too big mbulk count string".into(),
            ProtocolError::TooBigBulkCount => "Protocol error: too big bulk count string".into(),
            ProtocolError::TooBigInline => "Protocol error: too big inline request".into(),
            ProtocolError::UnbalancedQuotes => {
                "Protocol error: unbalanced quotes in request".into()
            }
        }
    }
}

/// Result of one [`Parser::parse`] call.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole command is available; `consumed` bytes of the buffer belong to
    /// it (counted from the start of the buffer). `inline` tells where the
    /// argument ranges point: the parser's scratch buffer (inline form) or the
    /// caller's buffer (multibulk form).
    Command { consumed: usize, inline: bool },
    /// An empty request (`*0`, `*-1`, an empty inline line): skip `consumed`
    /// bytes, nothing to execute.
    Empty { consumed: usize },
    /// More bytes are needed. `hint` is how many more bytes the current
    /// command certainly needs (0 when unknown); callers may use it to size
    /// the next read, never to allocate ahead of data.
    Incomplete,
}

/// Where inside a multibulk command the parser stopped last time.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing of the current command has been seen yet.
    #[default]
    Start,
    /// Inside a multibulk: `remaining` arguments left to read, the next
    /// header/payload starts at `cursor` (relative to the command start).
    Multibulk { remaining: i64, cursor: usize },
    /// Read a `$len` header; payload of `len` bytes starts at `cursor`.
    Bulk {
        remaining: i64,
        cursor: usize,
        len: usize,
    },
}

/// Incremental parser state for one connection.
#[derive(Debug, Default)]
pub struct Parser {
    state: State,
    /// Ranges of the current command's arguments, relative to the command's
    /// first byte (multibulk) or into `scratch` (inline). Reused between
    /// commands so steady-state parsing allocates nothing.
    args: Vec<Range<usize>>,
    /// Unescaped inline arguments.
    scratch: Vec<u8>,
    /// Largest accepted bulk length (proto-max-bulk-len).
    pub max_bulk_len: u64,
    /// The last complete command's bytes are exactly the RESP encoding of
    /// its arguments: a multibulk that came through the fast path (so its
    /// count and length headers are canonical decimals) with CRLF after
    /// every argument. Propagation copies such a request as it came.
    canonical: bool,
}

impl Parser {
    pub fn new(max_bulk_len: u64) -> Parser {
        Parser {
            max_bulk_len,
            ..Parser::default()
        }
    }

    /// Number of arguments of the last complete command.
    pub fn argc(&self) -> usize {
        self.args.len()
    }

    /// Argument ranges of the last complete command. For multibulk they are
    /// relative to the buffer passed to `parse`; for inline, into `scratch()`.
    pub fn arg_ranges(&self) -> &[Range<usize>] {
        &self.args
    }

    pub fn scratch(&self) -> &[u8] {
        &self.scratch
    }

    /// Move the last command's argument ranges and inline scratch out of the
    /// parser, so the command can run while the client is borrowed mutably.
    /// Give them back with [`Parser::restore_args`] to keep their capacity.
    pub fn take_args(&mut self) -> (Vec<Range<usize>>, Vec<u8>) {
        (
            std::mem::take(&mut self.args),
            std::mem::take(&mut self.scratch),
        )
    }

    pub fn restore_args(&mut self, args: Vec<Range<usize>>, scratch: Vec<u8>) {
        self.args = args;
        self.scratch = scratch;
    }

    /// True when the last complete command's bytes are its arguments'
    /// canonical encoding (see the field).
    pub fn last_is_canonical(&self) -> bool {
        self.canonical
    }

    /// True when the parser is in the middle of a command (some of its bytes
    /// were already validated).
    pub fn in_progress(&self) -> bool {
        self.state != State::Start
    }

    /// Parse the command that starts at `buf[0]`. On `Command`, the argument
    /// ranges index into `buf` (or the scratch buffer for inline) and the
    /// caller must advance its buffer by `consumed` before calling again.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        self.canonical = false;
        if self.state == State::Start {
            if buf.is_empty() {
                return Ok(Parsed::Incomplete);
            }
            if buf[0] != b'*' {
                return self.parse_inline(buf);
            }
            if let Some(consumed) = self.parse_complete_fast(buf) {
                return Ok(Parsed::Command {
                    consumed,
                    inline: false,
                });
            }
            let Some(line_end) = find_crlf(buf, 1) else {
                if buf.len() > INLINE_MAX_BYTES {
                    return Err(ProtocolError::TooBigMbulkCount);
                }
                return Ok(Parsed::Incomplete);
            };
            if line_end > INLINE_MAX_BYTES {
                return Err(ProtocolError::TooBigMbulkCount);
            }
            let count =
                parse_i64(&buf[1..line_end]).ok_or(ProtocolError::InvalidMultibulkLength)?;
            if count > MULTIBULK_MAX_ARGS {
                return Err(ProtocolError::InvalidMultibulkLength);
            }
            if count <= 0 {
                return Ok(Parsed::Empty {
                    consumed: line_end + 2,
                });
            }
            self.args.clear();
            self.state = State::Multibulk {
                remaining: count,
                cursor: line_end + 2,
            };
        }
        self.parse_multibulk(buf)
    }

    /// Fast path for the common case: a whole, well-formed multibulk
    /// command is already in `buf` (every pipelined request but the last
    /// partial one). One pass, no state-machine bookkeeping. Anything
    /// unusual (partial data, odd number formats, limits) returns None and
    /// the general path below decides, so both paths accept exactly the
    /// same inputs and produce the same errors. Headers read here are
    /// canonical by construction (`read_decimal_line`); the terminators
    /// are tested while their bytes are in cache anyway (a compare and an
    /// AND per argument, no branch), so that propagation need not walk the
    /// arguments again.
    fn parse_complete_fast(&mut self, buf: &[u8]) -> Option<usize> {
        let (count, mut pos) = read_decimal_line(buf, 1)?;
        if count == 0 || count > MULTIBULK_MAX_ARGS as u64 {
            return None;
        }
        self.args.clear();
        let mut crlf = true;
        for _ in 0..count {
            if *buf.get(pos)? != b'$' {
                return None;
            }
            let (len, start) = read_decimal_line(buf, pos + 1)?;
            if len > self.max_bulk_len {
                return None;
            }
            let end = start.checked_add(len as usize)?;
            if end.checked_add(2)? > buf.len() {
                return None;
            }
            self.args.push(start..end);
            crlf &= buf[end..end + 2] == *b"\r\n";
            pos = end + 2;
        }
        self.canonical = crlf;
        Some(pos)
    }

    fn parse_multibulk(&mut self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        loop {
            match self.state {
                State::Start => unreachable_start(),
                State::Multibulk { remaining, cursor } => {
                    if remaining == 0 {
                        self.state = State::Start;
                        return Ok(Parsed::Command {
                            consumed: cursor,
                            inline: false,
                        });
                    }
                    if cursor >= buf.len() {
                        return Ok(Parsed::Incomplete);
                    }
                    if buf[cursor] != b'$' {
                        self.state = State::Start;
                        return Err(ProtocolError::ExpectedDollar(buf[cursor]));
                    }
                    let Some(line_end) = find_crlf(buf, cursor + 1) else {
                        if buf.len() - cursor > INLINE_MAX_BYTES {
                            self.state = State::Start;
                            return Err(ProtocolError::TooBigBulkCount);
                        }
                        return Ok(Parsed::Incomplete);
                    };
                    if line_end - cursor > INLINE_MAX_BYTES {
                        self.state = State::Start;
                        return Err(ProtocolError::TooBigBulkCount);
                    }
                    let len = match parse_i64(&buf[cursor + 1..line_end]) {
                        Some(n) if n >= 0 && (n as u64) <= self.max_bulk_len => n as usize,
                        _ => {
                            self.state = State::Start;
                            return Err(ProtocolError::InvalidBulkLength);
                        }
                    };
                    self.state = State::Bulk {
                        remaining,
                        cursor: line_end + 2,
                        len,
                    };
                }
                State::Bulk {
                    remaining,
                    cursor,
                    len,
                } => {
                    // Payload plus its trailing CRLF must be present. We do
                    // not check that the two bytes really are CRLF, as Redis
                    // does not either: the length is authoritative.
                    let end = cursor.saturating_add(len);
                    if buf.len() < end.saturating_add(2) {
                        return Ok(Parsed::Incomplete);
                    }
                    self.args.push(cursor..end);
                    self.state = State::Multibulk {
                        remaining: remaining - 1,
                        cursor: end + 2,
                    };
                }
            }
        }
    }

    /// Inline (telnet) form: one line, arguments split on whitespace with
    /// Redis's quoting rules.
    fn parse_inline(&mut self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        // Redis finds the newline with strchr(), which stops at a NUL byte:
        // a NUL before the newline means "no line yet", and the request
        // waits until it is too big. Same here, byte for byte.
        let nl = match buf.iter().position(|&b| b == b'\n' || b == 0) {
            Some(i) if buf[i] == b'\n' => Some(i),
            _ => None,
        };
        let Some(nl) = nl else {
            if buf.len() > INLINE_MAX_BYTES {
                return Err(ProtocolError::TooBigInline);
            }
            return Ok(Parsed::Incomplete);
        };
        if nl > INLINE_MAX_BYTES {
            return Err(ProtocolError::TooBigInline);
        }
        let mut line = &buf[..nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        self.args.clear();
        self.scratch.clear();
        split_args(line, &mut self.scratch, &mut self.args)?;
        if self.args.is_empty() {
            return Ok(Parsed::Empty { consumed: nl + 1 });
        }
        Ok(Parsed::Command {
            consumed: nl + 1,
            inline: true,
        })
    }
}

#[cold]
fn unreachable_start() -> ! {
    // parse() never calls parse_multibulk in the Start state; reaching here
    // would be a bug in this file, not something a peer can cause.
    panic!("RESP parser invariant violated: multibulk parse in Start state")
}

/// Position of the first "\r\n" at or after `from` (index of the '\r').
fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let rest = buf.get(from..)?;
    let mut i = 0;
    while let Some(off) = rest[i..].iter().position(|&b| b == b'\r') {
        let at = i + off;
        if at + 1 < rest.len() {
            if rest[at + 1] == b'\n' {
                return Some(from + at);
            }
        } else {
            return None;
        }
        i = at + 1;
    }
    None
}

/// A canonical non-negative decimal (no sign, no leading zero, at most 18
/// digits) followed by CRLF, starting at `i`; returns the value and the
/// index after the CRLF. None for anything else, including "not yet".
#[inline(always)]
pub(crate) fn read_decimal_line(buf: &[u8], mut i: usize) -> Option<(u64, usize)> {
    // Fast path: argument counts and lengths are nearly always one or two
    // digits ("*3", "$3", "$16", "$32"); the same rules, unrolled.
    if let Some(w) = buf.get(i..i + 4) {
        let (a, b) = (w[0].wrapping_sub(b'0'), w[1].wrapping_sub(b'0'));
        if a <= 9 && w[1] == b'\r' && w[2] == b'\n' {
            return Some((a as u64, i + 3));
        }
        if (1..=9).contains(&a) && b <= 9 && w[2] == b'\r' && w[3] == b'\n' {
            return Some((a as u64 * 10 + b as u64, i + 4));
        }
    }
    let start = i;
    let mut v: u64 = 0;
    while let Some(&b) = buf.get(i) {
        if !b.is_ascii_digit() {
            break;
        }
        v = v * 10 + (b - b'0') as u64;
        i += 1;
        if i - start > 18 {
            return None;
        }
    }
    let digits = i - start;
    if digits == 0 || (digits > 1 && buf[start] == b'0') {
        return None;
    }
    if buf.get(i) == Some(&b'\r') && buf.get(i + 1) == Some(&b'\n') {
        Some((v, i + 2))
    } else {
        None
    }
}

/// Strict decimal i64 as Redis's string2ll: optional '-', digits, no '+',
/// no spaces, no leading zeros except "0" itself, no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() {
        return None;
    }
    if digits[0] == b'0' && (digits.len() > 1 || neg) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        if v > i64::MAX as u64 {
            return None;
        }
        Some(v as i64)
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// C's isspace() in the "C" locale, which is what Redis's splitting uses
/// (Rust's is_ascii_whitespace leaves out vertical tab).
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Split a line into arguments with Redis's rules: whitespace separates;
/// "double quotes" support \n \r \t \b \a \\ \" and \xHH; 'single quotes'
/// support only \'; a closing quote must be followed by whitespace or the
/// end of the line. Unescaped bytes go to `out`, ranges to `args`.
pub fn split_args(
    line: &[u8],
    out: &mut Vec<u8>,
    args: &mut Vec<Range<usize>>,
) -> Result<(), ProtocolError> {
    // Redis splits a C string: a NUL byte ends the line (and anything
    // after it is ignored). Without this cut a NUL would make an empty
    // argument forever, as it ends a token without being consumed.
    let n = line.iter().position(|&b| b == 0).unwrap_or(line.len());
    let line = &line[..n];
    let mut i = 0;
    loop {
        while i < n && is_c_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return Ok(());
        }
        let start = out.len();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                if i >= n {
                    return Err(ProtocolError::UnbalancedQuotes);
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && hex_val(line[i + 2]).is_some()
                    && hex_val(line[i + 3]).is_some()
                {
                    let hi = hex_val(line[i + 2]).unwrap_or(0);
                    let lo = hex_val(line[i + 3]).unwrap_or(0);
                    out.push(hi * 16 + lo);
                    i += 4;
                    continue;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    out.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    // The closing quote must end the argument.
                    if i + 1 < n && !is_c_space(line[i + 1]) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                }
                i += 1;
            } else if in_sq {
                if i >= n {
                    return Err(ProtocolError::UnbalancedQuotes);
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    out.push(b'\'');
                    i += 2;
                    continue;
                } else if c == b'\'' {
                    if i + 1 < n && !is_c_space(line[i + 1]) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                }
                i += 1;
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => out.push(c),
                }
                i += 1;
            }
        }
        args.push(start..out.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args_of(p: &Parser, buf: &[u8], inline: bool) -> Vec<Vec<u8>> {
        let src = if inline { p.scratch() } else { buf };
        p.arg_ranges()
            .iter()
            .map(|r| src[r.clone()].to_vec())
            .collect()
    }

    #[test]
    fn multibulk_whole() {
        let mut p = Parser::new(512 * 1024 * 1024);
        let buf = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
        let r = p.parse(buf).unwrap();
        assert_eq!(
            r,
            Parsed::Command {
                consumed: buf.len(),
                inline: false
            }
        );
        assert_eq!(
            args_of(&p, buf, false),
            vec![b"GET".to_vec(), b"k".to_vec()]
        );
    }

    #[test]
    fn multibulk_byte_by_byte() {
        let full = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        let mut p = Parser::new(1024);
        for end in 0..full.len() {
            assert_eq!(
                p.parse(&full[..end]).unwrap(),
                Parsed::Incomplete,
                "at {end}"
            );
        }
        let r = p.parse(full).unwrap();
        assert_eq!(
            r,
            Parsed::Command {
                consumed: full.len(),
                inline: false
            }
        );
        assert_eq!(
            args_of(&p, full, false),
            vec![b"SET".to_vec(), b"key".to_vec(), b"value".to_vec()]
        );
    }

    #[test]
    fn pipelined_commands() {
        let mut buf = Vec::new();
        for _ in 0..1000 {
            buf.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        }
        let mut p = Parser::new(1024);
        let mut off = 0;
        let mut n = 0;
        while off < buf.len() {
            match p.parse(&buf[off..]).unwrap() {
                Parsed::Command { consumed, .. } => {
                    off += consumed;
                    n += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(n, 1000);
    }

    #[test]
    fn empty_multibulk_is_skipped() {
        let mut p = Parser::new(1024);
        assert_eq!(p.parse(b"*0\r\n").unwrap(), Parsed::Empty { consumed: 4 });
        assert_eq!(p.parse(b"*-1\r\n").unwrap(), Parsed::Empty { consumed: 5 });
    }

    #[test]
    fn protocol_errors() {
        let mut p = Parser::new(1024);
        assert_eq!(
            p.parse(b"*abc\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        let mut p = Parser::new(1024);
        assert_eq!(
            p.parse(b"*1048577\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        let mut p = Parser::new(1024);
        assert_eq!(
            p.parse(b"*1\r\n$2000\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        let mut p = Parser::new(1024);
        assert_eq!(
            p.parse(b"*1\r\n$-1\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        let mut p = Parser::new(1024);
        assert_eq!(
            p.parse(b"*1\r\nfoo\r\n"),
            Err(ProtocolError::ExpectedDollar(b'f'))
        );
        let mut p = Parser::new(1024);
        assert_eq!(
            p.parse(b"SET \"a b\r\n"),
            Err(ProtocolError::UnbalancedQuotes)
        );
        let big = vec![b'a'; INLINE_MAX_BYTES + 1];
        let mut p = Parser::new(1024);
        assert_eq!(p.parse(&big), Err(ProtocolError::TooBigInline));
        let mut star = vec![b'*'];
        star.extend(std::iter::repeat_n(b'1', INLINE_MAX_BYTES + 1));
        let mut p = Parser::new(1024);
        assert_eq!(p.parse(&star), Err(ProtocolError::TooBigMbulkCount));
    }

    #[test]
    fn huge_announced_bulk_allocates_nothing() {
        // 512 MB announced, only a few bytes sent: Incomplete, and the
        // parser's own buffers stay tiny.
        let mut p = Parser::new(512 * 1024 * 1024);
        let r = p.parse(b"*1\r\n$536870912\r\nabc").unwrap();
        assert_eq!(r, Parsed::Incomplete);
        assert!(p.args.capacity() < 16);
    }

    #[test]
    fn inline_quoting() {
        let mut p = Parser::new(1024);
        let buf = b"set \"a\\x41\\n\" 'it\\'s'  plain\r\n";
        let r = p.parse(buf).unwrap();
        assert_eq!(
            r,
            Parsed::Command {
                consumed: buf.len(),
                inline: true
            }
        );
        assert_eq!(
            args_of(&p, buf, true),
            vec![
                b"set".to_vec(),
                b"aA\n".to_vec(),
                b"it's".to_vec(),
                b"plain".to_vec()
            ]
        );
        assert_eq!(p.parse(b"\r\n").unwrap(), Parsed::Empty { consumed: 2 });
        assert_eq!(p.parse(b"\"a\"b\n"), Err(ProtocolError::UnbalancedQuotes));
    }

    #[test]
    fn nul_byte_in_an_inline_request_waits_like_redis() {
        // Found by the fuzzer: a NUL used to loop forever making empty
        // arguments. Redis's strchr() does not see a newline past a NUL,
        // so the request stays incomplete until it is too big.
        let mut p = Parser::new(1024);
        assert_eq!(p.parse(b"\x00\nA").unwrap(), Parsed::Incomplete);
        assert_eq!(p.parse(b"SET a\x00b c\r\n").unwrap(), Parsed::Incomplete);
        let mut big = b"SET a\x00".to_vec();
        big.extend(std::iter::repeat_n(b'x', INLINE_MAX_BYTES));
        big.push(b'\n');
        assert_eq!(p.parse(&big), Err(ProtocolError::TooBigInline));
        // The splitter (also used for config lines) cuts at a NUL.
        let (mut out, mut args) = (Vec::new(), Vec::new());
        split_args(b"a\x00b", &mut out, &mut args).unwrap();
        assert_eq!(args.len(), 1);
    }

    /// If the request is called canonical, its bytes must be exactly the
    /// encoding of its arguments.
    fn assert_canonical_claim(p: &Parser, request: &[u8], args: &[Vec<u8>]) {
        if p.last_is_canonical() {
            let mut encoded = Vec::new();
            crate::persistence::propagate::encode_command(
                &mut encoded,
                args.iter().map(|a| a.as_slice()),
            );
            assert_eq!(request, &encoded[..]);
        }
    }

    #[test]
    fn canonical_requests_are_told_apart() {
        let mut p = Parser::new(1 << 20);
        let cases: &[(&[u8], bool)] = &[
            (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n", true),
            // The length is authoritative, so these parse, but their
            // bytes are not the arguments' encoding.
            (b"*2\r\n$3\r\nGETxx$1\r\nk\r\n", false),
            (b"*2\r\n$3\r\nGET\r\n$1\r\nk\n\n", false),
            (b"SET k v\r\n", false),
        ];
        for &(req, canonical) in cases {
            let Ok(Parsed::Command { consumed, inline }) = p.parse(req) else {
                panic!("{req:?} did not parse");
            };
            assert_eq!(consumed, req.len());
            assert_eq!(p.last_is_canonical(), canonical, "{req:?}");
            assert_canonical_claim(&p, req, &args_of(&p, req, inline));
        }
        // A request completed across reads takes the general path, which
        // makes no claim.
        let req = b"*1\r\n$4\r\nPING\r\n";
        assert_eq!(p.parse(&req[..6]).unwrap(), Parsed::Incomplete);
        assert!(matches!(p.parse(req), Ok(Parsed::Command { .. })));
        assert!(!p.last_is_canonical());
    }

    /// Parse a byte stream delivered in two reads split at `split`: the
    /// commands seen (and the first protocol error).
    fn parse_stream(data: &[u8], split: usize) -> (Vec<Vec<Vec<u8>>>, Option<ProtocolError>) {
        let mut p = Parser::new(1 << 20);
        let mut buf = Vec::new();
        let mut cmds = Vec::new();
        for chunk in [&data[..split], &data[split..]] {
            buf.extend_from_slice(chunk);
            loop {
                match p.parse(&buf) {
                    Ok(Parsed::Command { consumed, inline }) => {
                        assert!(consumed <= buf.len());
                        let args = args_of(&p, &buf, inline);
                        assert_canonical_claim(&p, &buf[..consumed], &args);
                        cmds.push(args);
                        buf.drain(..consumed);
                    }
                    Ok(Parsed::Empty { consumed }) => {
                        buf.drain(..consumed);
                    }
                    Ok(Parsed::Incomplete) => break,
                    Err(e) => return (cmds, Some(e)),
                }
            }
        }
        (cmds, None)
    }

    /// The fuzz target's property on stable Rust, for CI: random RESP-like
    /// streams parse the same whole or split anywhere, and never panic.
    #[test]
    fn random_streams_parse_the_same_split_anywhere() {
        const PIECES: &[&[u8]] = &[
            b"*",
            b"$",
            b"\r\n",
            b"\n",
            b"\r",
            b"0",
            b"1",
            b"2",
            b"3",
            b"10",
            b"-1",
            b"1048577",
            b"536870913",
            b"SET",
            b"GET",
            b"key",
            b" ",
            b"\"",
            b"'",
            b"\\",
            b"\x00",
            b"x",
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
            b"PING\r\n",
        ];
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let mut data = Vec::new();
            let parts = 1 + crate::dict::rng_next(&mut rng) % 24;
            for _ in 0..parts {
                let r = crate::dict::rng_next(&mut rng);
                if r.is_multiple_of(10) {
                    data.push((r >> 8) as u8);
                } else {
                    data.extend_from_slice(PIECES[(r >> 8) as usize % PIECES.len()]);
                }
            }
            let split = (crate::dict::rng_next(&mut rng) as usize) % (data.len() + 1);
            let whole = parse_stream(&data, data.len());
            let halves = parse_stream(&data, split);
            assert_eq!(whole, halves, "input {data:?} split at {split}");
        }
    }

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b""), None);
    }
}
