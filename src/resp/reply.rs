//! RESP reply encoding, RESP2 and RESP3.
//!
//! Owns: the bytes of every reply type on the wire. Command code never
//! writes protocol bytes by hand; it calls these functions, which append to
//! a client's output buffer.
//!
//! Must never: allocate (integers are formatted on the stack), or pick the
//! wire form of a type without looking at the protocol version: RESP2 has no
//! maps, sets, doubles, booleans or typed nulls, so each of those has a
//! documented RESP2 fallback here, the same one Redis uses.

/// Protocol version a client speaks (HELLO 2 / HELLO 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Resp2,
    Resp3,
}

/// Appends replies to an output buffer in one protocol version.
pub struct ReplyWriter<'a> {
    pub buf: &'a mut Vec<u8>,
    pub proto: Proto,
}

/// Format an i64 in decimal into `tmp`, returning the used tail.
pub fn fmt_i64(v: i64, tmp: &mut [u8; 20]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        tmp[i] = b'-';
    }
    &tmp[i..]
}

/// Format a u64 in decimal into `tmp` (SCAN cursors are unsigned).
pub fn fmt_u64(v: u64, tmp: &mut [u8; 20]) -> &[u8] {
    let mut n = v;
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &tmp[i..]
}

/// Format a double the way Redis shows scores and INCRBYFLOAT results in
/// human form: integers without a fraction, `inf`/`-inf`, otherwise the
/// shortest representation that round-trips.
pub fn fmt_f64_human(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v.is_nan() {
        return "nan".into();
    }
    if v == v.trunc() && v.abs() < 1e17 {
        return format!("{}", v as i64);
    }
    let s = format!("{v}");
    // Rust never uses exponent notation in Display; Redis switches to it for
    // very large/small magnitudes. Use %.17g-like exponent form there.
    if v.abs() >= 1e17 || (v != 0.0 && v.abs() < 1e-5) {
        return format!("{v:e}").replace("e", "e+").replace("e+-", "e-");
    }
    s
}

impl<'a> ReplyWriter<'a> {
    pub fn new(buf: &'a mut Vec<u8>, proto: Proto) -> ReplyWriter<'a> {
        ReplyWriter { buf, proto }
    }

    fn header(&mut self, tag: u8, n: i64) {
        let mut tmp = [0u8; 20];
        self.buf.push(tag);
        self.buf.extend_from_slice(fmt_i64(n, &mut tmp));
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+OK`-style status line. The text must not contain CR or LF.
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// Error line. `msg` carries its own code (`ERR ...`, `WRONGTYPE ...`);
    /// CR/LF inside are replaced by spaces so a reply cannot be split.
    pub fn error(&mut self, msg: &str) {
        self.buf.push(b'-');
        for &b in msg.as_bytes() {
            self.buf
                .push(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn int(&mut self, v: i64) {
        self.header(b':', v);
    }

    pub fn bulk(&mut self, b: &[u8]) {
        self.header(b'$', b.len() as i64);
        self.buf.extend_from_slice(b);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An integer sent as a bulk string (GET of an int-encoded value).
    pub fn bulk_i64(&mut self, v: i64) {
        let mut tmp = [0u8; 20];
        self.bulk(fmt_i64(v, &mut tmp));
    }

    /// Null bulk string: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        match self.proto {
            Proto::Resp2 => self.buf.extend_from_slice(b"$-1\r\n"),
            Proto::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    /// Null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        match self.proto {
            Proto::Resp2 => self.buf.extend_from_slice(b"*-1\r\n"),
            Proto::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map of `n` pairs: `%n` in RESP3, a flat array of 2n in RESP2.
    pub fn map(&mut self, n: usize) {
        match self.proto {
            Proto::Resp2 => self.header(b'*', 2 * n as i64),
            Proto::Resp3 => self.header(b'%', n as i64),
        }
    }

    /// A set: `~n` in RESP3, an array in RESP2.
    pub fn set(&mut self, n: usize) {
        match self.proto {
            Proto::Resp2 => self.header(b'*', n as i64),
            Proto::Resp3 => self.header(b'~', n as i64),
        }
    }

    /// Out-of-band push (pub/sub messages): `>n` in RESP3, array in RESP2.
    pub fn push(&mut self, n: usize) {
        match self.proto {
            Proto::Resp2 => self.header(b'*', n as i64),
            Proto::Resp3 => self.header(b'>', n as i64),
        }
    }

    /// A double: `,1.5` in RESP3, a bulk string in RESP2.
    pub fn double(&mut self, v: f64) {
        let s = fmt_f64_human(v);
        match self.proto {
            Proto::Resp2 => self.bulk(s.as_bytes()),
            Proto::Resp3 => {
                self.buf.push(b',');
                self.buf.extend_from_slice(s.as_bytes());
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, v: bool) {
        match self.proto {
            Proto::Resp2 => self.int(v as i64),
            Proto::Resp3 => self
                .buf
                .extend_from_slice(if v { b"#t\r\n" } else { b"#f\r\n" }),
        }
    }

    /// Verbatim text (INFO, CLIENT LIST, LATENCY DOCTOR): `=len\r\ntxt:...`
    /// in RESP3, a bulk string in RESP2.
    pub fn verbatim(&mut self, text: &[u8]) {
        match self.proto {
            Proto::Resp2 => self.bulk(text),
            Proto::Resp3 => {
                self.header(b'=', text.len() as i64 + 4);
                self.buf.extend_from_slice(b"txt:");
                self.buf.extend_from_slice(text);
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    pub fn bulks<I, B>(&mut self, items: I)
    where
        I: ExactSizeIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        self.array(items.len());
        for b in items {
            self.bulk(b.as_ref());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        let mut tmp = [0u8; 20];
        assert_eq!(fmt_i64(0, &mut tmp), b"0");
        assert_eq!(fmt_i64(-42, &mut tmp), b"-42");
        assert_eq!(fmt_i64(i64::MIN, &mut tmp), b"-9223372036854775808");
        assert_eq!(fmt_i64(i64::MAX, &mut tmp), b"9223372036854775807");
    }

    #[test]
    fn resp2_and_resp3_shapes() {
        let mut b = Vec::new();
        let mut w = ReplyWriter::new(&mut b, Proto::Resp2);
        w.null();
        w.map(2);
        w.double(1.5);
        w.boolean(true);
        w.bulk_i64(-7);
        assert_eq!(b, b"$-1\r\n*4\r\n$3\r\n1.5\r\n:1\r\n$2\r\n-7\r\n");
        let mut b = Vec::new();
        let mut w = ReplyWriter::new(&mut b, Proto::Resp3);
        w.null();
        w.map(2);
        w.double(1.5);
        w.boolean(true);
        w.verbatim(b"hi");
        assert_eq!(b, b"_\r\n%2\r\n,1.5\r\n#t\r\n=6\r\ntxt:hi\r\n");
    }

    #[test]
    fn errors_cannot_break_framing() {
        let mut b = Vec::new();
        ReplyWriter::new(&mut b, Proto::Resp2).error("ERR a\r\nb");
        assert_eq!(b, b"-ERR a  b\r\n");
    }

    #[test]
    fn human_doubles() {
        assert_eq!(fmt_f64_human(3.0), "3");
        assert_eq!(fmt_f64_human(10.5), "10.5");
        assert_eq!(fmt_f64_human(f64::INFINITY), "inf");
        assert_eq!(fmt_f64_human(-0.25), "-0.25");
    }
}
