//! The slow log: the most recent commands whose execution took at least
//! `slowlog-log-slower-than` microseconds, as Redis's slowlog.c.
//!
//! Owns: the entry list (newest first) and the id counter. The dispatcher
//! decides *whether* a command is slow (one comparison on the hot path);
//! this file only builds and stores entries, which is the cold path.
//!
//! Must never: keep an unbounded copy of a request. An entry holds at most
//! `ARGC_MAX` arguments of at most `ARG_BYTES_MAX` bytes each (plus a short
//! "... (N more ...)" suffix), and the list at most `slowlog-max-len`
//! entries, so the log's memory is bounded by configuration.
//!
//! Invariants: ids grow by one per entry and survive SLOWLOG RESET (as in
//! Redis, so a poller can tell new entries from old ones); `entries[0]` is
//! the newest.

use std::collections::VecDeque;

/// Most arguments kept per entry; the last slot then says how many more.
pub const ARGC_MAX: usize = 32;
/// Most bytes kept of one argument.
pub const ARG_BYTES_MAX: usize = 128;
/// What a redacted argument (AUTH password...) is replaced with.
pub const REDACTED: &[u8] = b"(redacted)";

#[derive(Debug, Clone)]
pub struct Entry {
    pub id: u64,
    pub unix_secs: i64,
    pub duration_us: u64,
    pub argv: Vec<Vec<u8>>,
    /// Client "ip:port".
    pub peer: String,
    /// Client name ("" when unset).
    pub name: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct SlowLog {
    entries: VecDeque<Entry>,
    next_id: u64,
}

/// The request as the slow log and MONITOR see it: arguments, and which
/// of them a command asked to hide (passwords).
pub struct LoggedArgs<'a, I: ExactSizeIterator<Item = &'a [u8]>> {
    pub args: I,
    pub redacted: &'a [usize],
}

/// The arguments as an entry keeps them: at most `ARGC_MAX`, each cut at
/// `ARG_BYTES_MAX` bytes, secrets replaced by `REDACTED`.
pub fn cut<'a, I>(req: LoggedArgs<'a, I>) -> Vec<Vec<u8>>
where
    I: ExactSizeIterator<Item = &'a [u8]>,
{
    let argc = req.args.len();
    let kept = argc.min(ARGC_MAX);
    let mut argv = Vec::with_capacity(kept);
    for (j, a) in req.args.take(kept).enumerate() {
        let arg = if kept != argc && j == kept - 1 {
            format!("... ({} more arguments)", argc - kept + 1).into_bytes()
        } else if req.redacted.contains(&j) {
            REDACTED.to_vec()
        } else if a.len() > ARG_BYTES_MAX {
            let mut v = a[..ARG_BYTES_MAX].to_vec();
            v.extend_from_slice(format!("... ({} more bytes)", a.len() - ARG_BYTES_MAX).as_bytes());
            v
        } else {
            a.to_vec()
        };
        argv.push(arg);
    }
    argv
}

impl SlowLog {
    /// Record one slow command and trim the list to `max_len`.
    pub fn push<'a, I>(
        &mut self,
        req: LoggedArgs<'a, I>,
        duration_us: u64,
        unix_secs: i64,
        peer: &str,
        name: &[u8],
        max_len: usize,
    ) where
        I: ExactSizeIterator<Item = &'a [u8]>,
    {
        self.push_cut(cut(req), duration_us, unix_secs, peer, name, max_len);
    }

    /// Record a command whose arguments were already cut (a blocking
    /// command keeps them from the moment it blocked until it is served).
    pub fn push_cut(
        &mut self,
        argv: Vec<Vec<u8>>,
        duration_us: u64,
        unix_secs: i64,
        peer: &str,
        name: &[u8],
        max_len: usize,
    ) {
        self.entries.push_front(Entry {
            id: self.next_id,
            unix_secs,
            duration_us,
            argv,
            peer: peer.to_string(),
            name: name.to_vec(),
        });
        self.next_id += 1;
        self.entries.truncate(max_len);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// SLOWLOG RESET: drop the entries, keep the id counter.
    pub fn reset(&mut self) {
        self.entries.clear();
    }

    /// Entries, newest first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Entry> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(log: &mut SlowLog, args: &[&[u8]], redacted: &[usize], max: usize) {
        log.push(
            LoggedArgs {
                args: args.iter().copied(),
                redacted,
            },
            10,
            1,
            "127.0.0.1:1",
            b"",
            max,
        );
    }

    #[test]
    fn cuts_long_argument_lists_and_arguments() {
        let mut log = SlowLog::default();
        let long = [b'x'; 200];
        let many: Vec<&[u8]> = std::iter::repeat_n(&long[..], 40).collect();
        push(&mut log, &many, &[], 10);
        let e = log.iter().next().unwrap();
        assert_eq!(e.argv.len(), 32);
        assert_eq!(e.argv[31], b"... (9 more arguments)");
        assert_eq!(e.argv[0].len(), 128 + b"... (72 more bytes)".len());
        assert!(e.argv[0].ends_with(b"... (72 more bytes)"));
    }

    #[test]
    fn bounded_by_max_len_and_ids_survive_reset() {
        let mut log = SlowLog::default();
        for _ in 0..5 {
            push(&mut log, &[b"get", b"k"], &[], 3);
        }
        assert_eq!(log.len(), 3);
        assert_eq!(log.iter().next().unwrap().id, 4);
        log.reset();
        push(&mut log, &[b"auth", b"secret"], &[1], 3);
        let e = log.iter().next().unwrap();
        assert_eq!(e.id, 5);
        assert_eq!(e.argv[1], REDACTED);
    }
}
