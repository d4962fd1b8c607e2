//! Propagation: turn executed write commands into the stream of their
//! deterministic effects, which the AOF (and, later, replication) consume.
//!
//! Owns: the commands of the current *execution unit* (one top-level
//! command, a whole EXEC, or one key deleted by active expiry), the
//! database the stream is positioned on (so SELECT is emitted only when it
//! changes), and the RESP encoding of propagated commands.
//!
//! How a command's effect is decided (the dispatcher calls
//! [`Server::propagate_command`] after every handler):
//! 1. keys the command found expired (lazy expiry) become `DEL key`, first,
//!    because they were deleted before the command acted;
//! 2. if the handler called [`Server::propagate_replace`], its commands
//!    stand for the effect (EXPIRE -> PEXPIREAT, SET EX -> SET PXAT,
//!    INCRBYFLOAT -> SET KEEPTTL...);
//! 3. otherwise, if the command changed the dataset (`ks.dirty` grew), its
//!    argv as sent (the request's own bytes when the parser found them
//!    canonical, which saves re-encoding every logged write);
//! 4. then anything added with [`Server::propagate_also`].
//!
//! A unit with more than one command is wrapped in MULTI ... EXEC, as Redis
//! 7.0 does, so a replayer applies it atomically or not at all.
//!
//! Targets: a command goes to the AOF and to replicas ([`target::ALL`])
//! unless a script narrowed it with `redis.set_repl` (REPL_AOF,
//! REPL_REPLICA: [`Propagator::unit_retarget`]). MULTI/EXEC go wherever
//! one of the unit's commands goes, as in Redis. A SELECT in front of a
//! narrowed command goes to both: the stream keeps one database
//! position, and an extra SELECT only moves the other consumer to where
//! its next command would move it anyway.
//!
//! Must never: cost anything when nobody consumes the stream (`enabled`
//! false: handlers' calls return at once and nothing is encoded), or emit
//! a non-deterministic command (relative times, random choices): a replay
//! must rebuild exactly the same dataset, at any later time.
//!
//! Invariant: buffers are reused between commands; steady-state
//! propagation of a plain SET allocates nothing. A unit is either
//! collected in `unit_buf` or, when it is one top-level command sent in
//! canonical RESP (`fed`), already in the stream: never both.

use crate::commands::Argv;
use crate::resp::reply::push_header;
use crate::server::Server;
use std::ops::Range;

/// Who receives a propagated command (the values of Lua's REPL_AOF,
/// REPL_REPLICA and REPL_ALL).
pub mod target {
    pub const AOF: u8 = 1;
    pub const REPLICAS: u8 = 2;
    pub const ALL: u8 = AOF | REPLICAS;
}

/// Propagation state, one per server.
#[derive(Default)]
pub struct Propagator {
    /// True when something consumes the stream (AOF on; replicas later).
    pub enabled: bool,
    /// The running command replaced its argv (see `propagate_replace`).
    replaced: bool,
    /// Commands the running command asked for (replacement or additions):
    /// RESP bytes in `cmd_buf`, one range per command.
    cmd_buf: Vec<u8>,
    cmd_ranges: Vec<Range<usize>>,
    /// The execution unit being collected: RESP bytes and (db, range,
    /// target) per command.
    unit_buf: Vec<u8>,
    unit_cmds: Vec<(usize, Range<usize>, u8)>,
    /// Database the stream is positioned on; None until the first SELECT
    /// (a new log file starts unpositioned).
    pub stream_db: Option<usize>,
    /// Handlers running (EXEC's queued commands run inside EXEC's): 0
    /// after a top-level command's handler returned.
    pub depth: u32,
    /// The unit's one command already went to the stream (see
    /// `propagate_command`); only its end is left to do.
    fed: bool,
    /// Scratch for the SELECT argument.
    itoa: Vec<u8>,
    /// The running command is propagated even if it changed nothing
    /// (`propagate_force`).
    forced: bool,
}

/// The commands that wrap a unit of several commands.
const MULTI_RESP: &[u8] = b"*1\r\n$5\r\nMULTI\r\n";
const EXEC_RESP: &[u8] = b"*1\r\n$4\r\nEXEC\r\n";

/// Append `args` as a RESP multibulk to `out`.
pub fn encode_command<'a>(out: &mut Vec<u8>, args: impl ExactSizeIterator<Item = &'a [u8]>) {
    push_header(out, b'*', args.len() as u64);
    for a in args {
        push_header(out, b'$', a.len() as u64);
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

impl Propagator {
    /// Forget what the previous command asked for. Called before a handler.
    #[inline]
    pub fn begin_command(&mut self) {
        if self.replaced || self.forced || !self.cmd_ranges.is_empty() {
            self.replaced = false;
            self.forced = false;
            self.cmd_ranges.clear();
            self.cmd_buf.clear();
        }
    }

    fn record(&mut self, args: &[&[u8]]) {
        let start = self.cmd_buf.len();
        encode_command(&mut self.cmd_buf, args.iter().copied());
        self.cmd_ranges.push(start..self.cmd_buf.len());
    }

    /// Add one command to the unit; `write` appends its RESP bytes.
    fn unit_push_with(&mut self, db: usize, write: impl FnOnce(&mut Vec<u8>)) {
        let start = self.unit_buf.len();
        write(&mut self.unit_buf);
        self.unit_cmds
            .push((db, start..self.unit_buf.len(), target::ALL));
    }

    fn unit_push<'a>(&mut self, db: usize, args: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.unit_push_with(db, |out| encode_command(out, args));
    }

    /// Where the unit stands now, to drop what follows with
    /// [`Propagator::unit_truncate`] (a script's `redis.set_repl(REPL_NONE)`).
    pub fn unit_mark(&self) -> (usize, usize) {
        (self.unit_buf.len(), self.unit_cmds.len())
    }

    /// Drop the commands added to the unit since `mark`.
    pub fn unit_truncate(&mut self, mark: (usize, usize)) {
        self.unit_buf.truncate(mark.0);
        self.unit_cmds.truncate(mark.1);
    }

    /// Send the commands added to the unit since `mark` to `to` only (a
    /// [`target`] set; a script's `redis.set_repl`).
    pub fn unit_retarget(&mut self, mark: (usize, usize), to: u8) {
        for cmd in self.unit_cmds.iter_mut().skip(mark.1) {
            cmd.2 = to;
        }
    }

    /// True when the current unit has commands waiting, or its end.
    pub fn unit_pending(&self) -> bool {
        !self.unit_cmds.is_empty() || self.fed
    }
}

impl Server {
    /// The running command's effect is `args` instead of its argv. May be
    /// called several times (each call adds one command to the effect).
    #[inline]
    pub fn propagate_replace(&mut self, args: &[&[u8]]) {
        if !self.prop.enabled {
            return;
        }
        self.prop.replaced = true;
        self.prop.record(args);
    }

    /// The running command is propagated as itself even if it changed
    /// nothing (Redis's forceCommandPropagation): FLUSHDB and FLUSHALL of
    /// empty databases still reach the log and the replicas, as in Redis,
    /// without counting a change (INFO rdb_changes_since_last_save).
    #[inline]
    pub fn propagate_force(&mut self) {
        if self.prop.enabled {
            self.prop.forced = true;
        }
    }

    /// The running command is not propagated as itself, whatever it
    /// changed: its effects, if any, are the commands it adds with
    /// `propagate_replace` / `propagate_also` (Redis's
    /// preventCommandPropagation; XREADGROUP, XCLAIM, XAUTOCLAIM).
    #[inline]
    pub fn propagate_prevent(&mut self) {
        if self.prop.enabled {
            self.prop.replaced = true;
        }
    }

    /// Propagate `args` after the running command's own effect (its argv,
    /// or its replacement).
    #[inline]
    pub fn propagate_also(&mut self, args: &[&[u8]]) {
        if !self.prop.enabled {
            return;
        }
        self.prop.record(args);
    }

    /// After a handler ran in database `db`: add its effect to the unit
    /// (see the module comment for the rules). Inline: with nothing
    /// consuming the stream this is two branches.
    #[inline]
    pub fn propagate_command(&mut self, db: usize, argv: &Argv, dirty_before: u64) {
        self.propagate_expired_keys();
        if !self.prop.enabled {
            return;
        }
        // The common case, a top-level write sent in canonical RESP, alone
        // in its unit, in the stream's database: it is the whole unit, and
        // its caller ends the unit next (`commands::call`), so its bytes go
        // to the stream now instead of through `unit_buf`: one copy of
        // every logged write instead of two.
        let p = &self.prop;
        if (self.ks.changed_since(dirty_before) || p.forced)
            && !p.replaced
            && p.depth == 0
            && p.unit_cmds.is_empty()
            && p.cmd_ranges.is_empty()
            && p.stream_db == Some(db)
        {
            if let Some(raw) = argv.raw() {
                self.prop.fed = true;
                self.feed_stream(raw);
                return;
            }
        }
        self.collect_command(db, argv, dirty_before);
    }

    /// `propagate_command` for everything but the common case: the effect
    /// joins the unit buffer.
    #[inline(never)]
    fn collect_command(&mut self, db: usize, argv: &Argv, dirty_before: u64) {
        let p = &mut self.prop;
        if !p.replaced && (self.ks.changed_since(dirty_before) || p.forced) {
            match argv.raw() {
                // The request's own bytes are its encoding: one copy
                // instead of a header and a length line per argument.
                Some(raw) => p.unit_push_with(db, |out| out.extend_from_slice(raw)),
                None => p.unit_push(db, argv.iter()),
            }
        }
        for i in 0..p.cmd_ranges.len() {
            let r = p.cmd_ranges[i].clone();
            let start = p.unit_buf.len();
            p.unit_buf.extend_from_slice(&p.cmd_buf[r]);
            let end = p.unit_buf.len();
            p.unit_cmds.push((db, start..end, target::ALL));
        }
        p.begin_command();
    }

    /// Keys deleted by expiry since the last call become DELs in the unit.
    #[inline]
    pub fn propagate_expired_keys(&mut self) {
        // Checked on every command: keep the common case a branch, with
        // the work out of line.
        if !self.ks.expired_log.is_empty() {
            self.propagate_expired_keys_now();
        }
    }

    #[cold]
    #[inline(never)]
    fn propagate_expired_keys_now(&mut self) {
        self.push_expired_dels(false);
    }

    /// Keys the active expiry cycle deleted: each DEL is a unit of its
    /// own, as Redis 7.0 propagates them (no MULTI around a cycle's keys).
    pub fn propagate_active_expiry(&mut self) {
        self.push_expired_dels(true);
    }

    /// The expired-key log as DELs into the stream; `alone`: each ends its
    /// unit (otherwise they open the running command's unit).
    fn push_expired_dels(&mut self, alone: bool) {
        let log = std::mem::take(&mut self.ks.expired_log);
        if self.prop.enabled {
            for (db, key) in &log {
                self.prop
                    .unit_push(*db, [b"DEL".as_slice(), key.as_bytes()].into_iter());
                if alone {
                    self.propagate_end_unit();
                }
            }
        }
        let mut log = log;
        log.clear();
        self.ks.expired_log = log;
    }

    /// End the execution unit: emit its commands to the stream, wrapped in
    /// MULTI/EXEC when there are several.
    #[inline]
    pub fn propagate_end_unit(&mut self) {
        if std::mem::take(&mut self.prop.fed) {
            debug_assert!(self.prop.unit_cmds.is_empty());
            if let Some(aof) = self.aof.as_mut() {
                aof.end_unit();
            }
        } else {
            self.end_collected_unit();
        }
    }

    /// `propagate_end_unit` for a unit collected in `unit_buf`.
    #[inline(never)]
    fn end_collected_unit(&mut self) {
        match self.prop.unit_cmds.as_slice() {
            [] => return,
            // The common unit, one command in the stream's database: the
            // unit buffer is exactly that command.
            [(db, _, target::ALL)] if self.prop.stream_db == Some(*db) => {
                let buf = std::mem::take(&mut self.prop.unit_buf);
                self.feed_stream(&buf);
                self.end_unit_with(buf);
                return;
            }
            _ => {}
        }
        let unit_buf = std::mem::take(&mut self.prop.unit_buf);
        let unit_cmds = std::mem::take(&mut self.prop.unit_cmds);
        let wrap = unit_cmds.len() > 1;
        // The wrapper goes wherever one of its commands goes.
        let wrap_to = unit_cmds.iter().fold(0, |to, c| to | c.2);
        if wrap {
            self.emit(unit_cmds[0].0, MULTI_RESP, wrap_to);
        }
        for (db, r, to) in &unit_cmds {
            self.emit(*db, &unit_buf[r.clone()], *to);
        }
        if wrap {
            self.emit(unit_cmds[0].0, EXEC_RESP, wrap_to);
        }
        self.prop.unit_cmds = unit_cmds;
        self.end_unit_with(unit_buf);
    }

    /// Close the unit: the AOF may seal its record here; the unit's
    /// buffers are emptied and kept for the next one.
    fn end_unit_with(&mut self, mut unit_buf: Vec<u8>) {
        if let Some(aof) = self.aof.as_mut() {
            aof.end_unit();
        }
        unit_buf.clear();
        self.prop.unit_buf = unit_buf;
        self.prop.unit_cmds.clear();
    }

    /// One command into the stream (to `to`), preceded by SELECT (to both)
    /// if the stream is on another database.
    fn emit(&mut self, db: usize, resp: &[u8], to: u8) {
        if self.prop.stream_db != Some(db) {
            let mut itoa = std::mem::take(&mut self.prop.itoa);
            itoa.clear();
            itoa.extend_from_slice(db.to_string().as_bytes());
            let mut select = Vec::with_capacity(32);
            encode_command(&mut select, [b"SELECT".as_slice(), &itoa].into_iter());
            self.prop.itoa = itoa;
            self.prop.stream_db = Some(db);
            self.feed_stream(&select);
        }
        match to {
            target::ALL => self.feed_stream(resp),
            target::AOF => self.feed_aof(resp),
            _ => self.feed_replicas(resp),
        }
    }

    /// The consumers of the propagated stream.
    #[inline]
    pub fn feed_stream(&mut self, resp: &[u8]) {
        self.feed_aof(resp);
        // Replicas and the backlog get the same bytes, so AOF and
        // replicas can never disagree about what happened.
        self.feed_replicas(resp);
    }

    #[inline]
    fn feed_aof(&mut self, resp: &[u8]) {
        if let Some(aof) = self.aof.as_mut() {
            aof.append_command(resp);
        }
    }

    /// (No backlog: no replica ever attached; one branch, inline.)
    #[inline]
    fn feed_replicas(&mut self, resp: &[u8]) {
        if self.repl.backlog.is_some() {
            self.feed_replication(resp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapper_constants_are_their_encodings() {
        for (resp, name) in [(MULTI_RESP, "MULTI"), (EXEC_RESP, "EXEC")] {
            let mut out = Vec::new();
            encode_command(&mut out, [name.as_bytes()].into_iter());
            assert_eq!(resp, &out[..]);
        }
    }

    #[test]
    fn encodes_multibulk() {
        let mut out = Vec::new();
        encode_command(&mut out, [b"SET".as_slice(), b"k", b""].into_iter());
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
        out.clear();
        push_header(&mut out, b'$', 1234567);
        assert_eq!(out, b"$1234567\r\n");
    }
}
