//! The replication backlog: a fixed-size ring buffer holding the most
//! recent bytes of the propagated stream, so a replica that lost its link
//! can ask for "everything after offset N" (PSYNC) instead of a full copy.
//!
//! Owns: the ring's bytes and the stream offsets they cover.
//!
//! Must never: grow. The ring is allocated once at `repl-backlog-size`
//! (re-allocated only when the option changes, keeping the newest bytes
//! that fit); older bytes are overwritten.
//!
//! Invariants: the ring holds the `histlen` bytes of the stream that end at
//! `end_offset` (the master_repl_offset); `histlen <= buf.len()`; the
//! first held byte has offset `end_offset - histlen + 1` (offsets count
//! from 1, as Redis's repl_backlog_off).

pub struct Backlog {
    buf: Vec<u8>,
    /// Where the next byte is written.
    idx: usize,
    /// How many valid bytes the ring holds.
    histlen: usize,
    /// Stream offset of the last byte written (0: nothing yet).
    end_offset: u64,
}

impl Backlog {
    /// A ring of `size` bytes (at least 1) continuing a stream that is
    /// currently at `offset`.
    pub fn new(size: usize, offset: u64) -> Backlog {
        Backlog {
            buf: vec![0; size.max(1)],
            idx: 0,
            histlen: 0,
            end_offset: offset,
        }
    }

    pub fn size(&self) -> usize {
        self.buf.len()
    }

    pub fn histlen(&self) -> usize {
        self.histlen
    }

    /// Offset of the first byte held (INFO repl_backlog_first_byte_offset).
    pub fn first_offset(&self) -> u64 {
        self.end_offset + 1 - self.histlen as u64
    }

    /// A ring of `size` bytes holding the newest bytes of this one that
    /// fit (CONFIG SET repl-backlog-size): replicas can still continue.
    pub fn resized(&self, size: usize) -> Backlog {
        let mut b = Backlog::new(size, self.end_offset);
        let keep = self.histlen.min(b.buf.len());
        let mut tail = Vec::with_capacity(keep);
        self.copy_from(self.end_offset + 1 - keep as u64, &mut tail);
        b.end_offset -= keep as u64;
        b.append(&tail);
        b
    }

    /// Append stream bytes, overwriting the oldest ones when full.
    pub fn append(&mut self, mut data: &[u8]) {
        self.end_offset += data.len() as u64;
        let cap = self.buf.len();
        if data.len() > cap {
            // Only the tail can fit.
            data = &data[data.len() - cap..];
        }
        while !data.is_empty() {
            let n = (cap - self.idx).min(data.len());
            self.buf[self.idx..self.idx + n].copy_from_slice(&data[..n]);
            self.idx = (self.idx + n) % cap;
            self.histlen = (self.histlen + n).min(cap);
            data = &data[n..];
        }
    }

    /// True if the bytes from `offset` (the first byte a replica wants) to
    /// the end are all held: a partial resync can serve them.
    pub fn covers(&self, offset: u64) -> bool {
        offset >= self.first_offset() && offset <= self.end_offset + 1
    }

    /// Copy the held bytes from `offset` to the end into `out`. The caller
    /// checked `covers(offset)`.
    pub fn copy_from(&self, offset: u64, out: &mut Vec<u8>) {
        if !self.covers(offset) {
            return;
        }
        let len = (self.end_offset + 1 - offset) as usize;
        let cap = self.buf.len();
        // The newest byte is at idx-1; the wanted span ends there.
        let start = (self.idx + cap - len % cap) % cap;
        let start = if len == cap { self.idx } else { start };
        let first = (cap - start).min(len);
        out.extend_from_slice(&self.buf[start..start + first]);
        out.extend_from_slice(&self.buf[..len - first]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_serves_the_tail() {
        let mut b = Backlog::new(8, 0);
        b.append(b"abcdef");
        assert_eq!(b.first_offset(), 1);
        assert!(b.covers(1) && b.covers(7) && !b.covers(8));
        let mut out = Vec::new();
        b.copy_from(3, &mut out);
        assert_eq!(out, b"cdef");
        b.append(b"ghijk"); // 11 bytes total, ring keeps "defghijk"
        assert_eq!(b.histlen(), 8);
        assert_eq!(b.first_offset(), 4);
        assert!(!b.covers(3));
        out.clear();
        b.copy_from(4, &mut out);
        assert_eq!(out, b"defghijk");
        out.clear();
        b.copy_from(10, &mut out);
        assert_eq!(out, b"jk");
        out.clear();
        b.copy_from(12, &mut out);
        assert!(out.is_empty());
        b.append(b"0123456789xy"); // longer than the ring
        out.clear();
        b.copy_from(b.first_offset(), &mut out);
        assert_eq!(out, b"456789xy");
    }

    #[test]
    fn resizing_keeps_the_newest_bytes() {
        let mut b = Backlog::new(8, 100);
        b.append(b"abcdefghij");
        let small = b.resized(4);
        assert_eq!((small.first_offset(), small.histlen()), (107, 4));
        let mut out = Vec::new();
        small.copy_from(107, &mut out);
        assert_eq!(out, b"ghij");
        let big = b.resized(64);
        out.clear();
        big.copy_from(big.first_offset(), &mut out);
        assert_eq!(out, b"cdefghij");
        assert_eq!(big.first_offset(), 103);
    }
}
