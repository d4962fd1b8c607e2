//! Shutdown, as Redis 7.0 does it: SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE]
//! [ABORT], SIGTERM/SIGINT (with `shutdown-on-sigterm`/`-sigint` flags),
//! the wait for lagging replicas, and the final persistence step.
//!
//! Owns: the pending shutdown (flags, deadline, the replication offset
//! replicas must reach), the SHUTDOWN clients waiting on it, the write
//! pause held meanwhile, and `finish`: kill a BGSAVE child, write and
//! fsync the log, take the final snapshot, tell systemd, close the
//! listeners, remove the pidfile, ask the loop to return.
//!
//! Must never: exit with data unpersisted unless told to (FORCE, NOSAVE,
//! or a second signal); close the listeners before persisting succeeded
//! (a refused shutdown keeps serving everyone, as before); block the loop
//! while waiting for replicas (the wait is checked once per loop turn).
//!
//! Order (Redis's `prepareForShutdown` / `finishShutdown`): without NOW
//! and with `shutdown-timeout` > 0, if an online replica has not
//! acknowledged the current offset, writes are paused, replicas are asked
//! for an ACK, and the shutdown completes when all caught up or the
//! timeout passes. A failed save (or AOF flush) cancels the shutdown
//! unless FORCE; SHUTDOWN then gets "Errors trying to SHUTDOWN".
//!
//! A second SIGTERM/SIGINT while a shutdown is pending exits at once
//! with status 1 (registered in main.rs with signal-hook's conditional
//! shutdown). Nothing is corrupted: the log is written whole records at
//! a time and a torn tail is repaired at load, and snapshots are written
//! to a temp file and renamed, so the old dump.rdb stays intact.

use super::{Server, ShutdownReason};
use crate::errors::CmdError;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub const NOSAVE: u8 = 1;
pub const SAVE: u8 = 2;
pub const NOW: u8 = 4;
pub const FORCE: u8 = 8;

/// Flag words in the order CONFIG GET prints them.
const FLAG_WORDS: [(u8, &str); 4] = [
    (SAVE, "save"),
    (NOSAVE, "nosave"),
    (NOW, "now"),
    (FORCE, "force"),
];

/// `shutdown-on-sigterm` text: "default" or the flags' words.
pub fn flags_to_text(flags: u8) -> String {
    if flags == 0 {
        return "default".into();
    }
    let words: Vec<&str> = FLAG_WORDS
        .iter()
        .filter(|(f, _)| flags & f != 0)
        .map(|(_, w)| *w)
        .collect();
    words.join(" ")
}

/// Parse `shutdown-on-sigterm` words (one or several per argument).
pub fn flags_from_words(args: &[String]) -> Result<u8, String> {
    let mut flags = 0;
    for w in args.iter().flat_map(|a| a.split_whitespace()) {
        let w = w.to_ascii_lowercase();
        if w == "default" {
            continue;
        }
        match FLAG_WORDS.iter().find(|(_, name)| *name == w) {
            Some((f, _)) => flags |= f,
            None => {
                return Err(
                    "argument(s) must be one of the following: default, save, nosave, now, force"
                        .into(),
                )
            }
        }
    }
    if flags & SAVE != 0 && flags & NOSAVE != 0 {
        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".into());
    }
    Ok(flags)
}

struct Pending {
    flags: u8,
    reason: ShutdownReason,
    deadline: Instant,
    /// Replication offset every online replica must acknowledge.
    target_offset: u64,
    /// We paused writes for the wait (and must end that pause).
    paused_writes: bool,
}

/// Shutdown state, one per server.
#[derive(Default)]
pub struct ShutdownState {
    pending: Option<Pending>,
    /// SHUTDOWN clients waiting for the pending shutdown: (slot, id).
    waiting: Vec<(usize, u64)>,
}

/// Most SHUTDOWN clients kept waiting (more get the error at once).
const WAITING_MAX: usize = 1024;

/// What starting a shutdown led to.
pub enum Begin {
    /// Persisted; the loop returns after this turn.
    Done,
    /// Waiting for replicas; decided in a later loop turn.
    Waiting,
    /// Refused (could not persist); the server goes on.
    Failed,
}

impl Server {
    /// SHUTDOWN (flags already validated): finish now, wait with the
    /// client blocked, or refuse.
    pub fn shutdown_command(
        &mut self,
        c: &mut crate::connection::Client,
        flags: u8,
    ) -> Result<(), CmdError> {
        log::warn!("User requested shutdown...");
        let outcome = if self.shutdown.pending.is_some() {
            // Joins the shutdown already in progress (as Redis).
            Begin::Waiting
        } else {
            self.begin_shutdown(flags, ShutdownReason::Command)
        };
        match outcome {
            // No reply: the connection closes when the server exits.
            Begin::Done => Ok(()),
            Begin::Waiting if self.shutdown.waiting.len() < WAITING_MAX => {
                c.wait_blocked = true;
                self.shutdown.waiting.push((c.token, c.id));
                Ok(())
            }
            _ => Err(CmdError::msg("ERR Errors trying to SHUTDOWN. Check logs.")),
        }
    }

    /// SHUTDOWN ABORT: cancel a pending shutdown. False if none.
    pub fn abort_shutdown(&mut self) -> bool {
        if self.shutdown.pending.is_none() {
            return false;
        }
        log::warn!("Shutdown manually aborted.");
        self.cancel_shutdown();
        true
    }

    /// Once per loop turn: start a shutdown a signal asked for, or finish
    /// a pending one whose replicas caught up or whose time is up.
    pub fn shutdown_tick(&mut self) {
        if let Some(p) = &self.shutdown.pending {
            if Instant::now() >= p.deadline || self.lagging_replicas(p.target_offset) == 0 {
                let (flags, reason) = (p.flags, p.reason);
                if !self.finish_shutdown(flags, reason) {
                    log::warn!("Errors trying to shut down the server. Check the logs for more information.");
                }
            }
            return;
        }
        if self.shutdown_requested.is_some() || !self.signal_term.load(Ordering::Relaxed) {
            return;
        }
        let sig = self.last_signal.load(Ordering::Relaxed) as i32;
        let (name, flags) = if sig == libc::SIGINT {
            ("SIGINT", self.config.shutdown_on_sigint)
        } else {
            ("SIGTERM", self.config.shutdown_on_sigterm)
        };
        log::warn!("Received {name} scheduling shutdown...");
        if let Begin::Failed = self.begin_shutdown(flags, ShutdownReason::Signal) {
            log::warn!("{name} received but errors trying to shut down the server, check the logs for more information");
        }
    }

    /// Redis's prepareForShutdown.
    fn begin_shutdown(&mut self, flags: u8, reason: ShutdownReason) -> Begin {
        let target = self.repl.offset;
        let timeout_s = self.config.shutdown_timeout;
        if flags & NOW == 0 && timeout_s > 0 && self.lagging_replicas(target) > 0 {
            let paused_writes = self.pause.is_none();
            if paused_writes {
                self.pause = Some((i64::MAX, true));
            }
            self.repl.getack_pending = true;
            self.shutdown.pending = Some(Pending {
                flags,
                reason,
                deadline: Instant::now() + Duration::from_secs(timeout_s),
                target_offset: target,
                paused_writes,
            });
            log::warn!("Waiting for replicas before shutting down.");
            self.notify_supervisor("STATUS=Waiting for replicas before shutting down.\n");
            return Begin::Waiting;
        }
        if self.finish_shutdown(flags, reason) {
            Begin::Done
        } else {
            log::warn!(
                "Errors trying to shut down the server. Check the logs for more information."
            );
            Begin::Failed
        }
    }

    /// Redis's finishShutdown. True when the loop may return.
    fn finish_shutdown(&mut self, flags: u8, reason: ShutdownReason) -> bool {
        if let Some(p) = &self.shutdown.pending {
            let lagging = self.lagging_replicas(p.target_offset);
            if lagging > 0 {
                log::warn!(
                    "{lagging} replica(s) still lagging behind offset {} at shutdown",
                    p.target_offset
                );
            }
        }
        if self.rdb.child.is_some() {
            log::warn!("There is a child saving an .rdb. Killing it!");
            crate::persistence::rdb::kill_child(self);
        }
        if let Some(mut child) = self.repl.snapshot_child.take() {
            log::warn!("There is a child encoding a full-sync snapshot. Killing it!");
            child.kill();
        }
        crate::persistence::rewrite::kill_child(self);
        let save = flags & SAVE != 0 || (flags & NOSAVE == 0 && !self.config.save.is_empty());
        if let Err(e) = self.persist_at_shutdown(save) {
            log::error!("{e}");
            if flags & FORCE == 0 {
                if save {
                    log::warn!("Error trying to save the DB, can't exit.");
                    self.notify_supervisor("STATUS=Error trying to save the DB, can't exit.\n");
                }
                self.cancel_shutdown();
                return false;
            }
            log::warn!("Error persisting the data at shutdown, exiting anyway (FORCE).");
        }
        self.notify_supervisor("STOPPING=1\n");
        self.listeners.clear();
        if self.unix_listener.take().is_some() {
            log::info!("Removing the unix socket file.");
            let _ = std::fs::remove_file(&self.config.unixsocket);
        }
        self.shutdown.pending = None;
        self.shutdown.waiting.clear();
        // Flush what we can to clients: a best-effort single pass.
        self.before_sleep();
        self.remove_pidfile();
        log::warn!("RedisLite is now ready to exit, bye bye...");
        self.shutdown_requested = Some(reason);
        true
    }

    /// Redis's cancelShutdown: forget the request (and the signal that
    /// made it), end our write pause, tell the waiting SHUTDOWN clients.
    fn cancel_shutdown(&mut self) {
        self.signal_term.store(false, Ordering::Relaxed);
        if let Some(p) = self.shutdown.pending.take() {
            if p.paused_writes && self.pause == Some((i64::MAX, true)) {
                self.unpause_clients();
            }
        }
        for (slot, id) in std::mem::take(&mut self.shutdown.waiting) {
            let Some(Some(c)) = self.clients.get_mut(slot) else {
                continue;
            };
            if c.id != id || !c.wait_blocked {
                continue;
            }
            c.wait_blocked = false;
            c.reply()
                .error("ERR Errors trying to SHUTDOWN. Check logs.");
            c.resume_input = true;
            self.pending_reads.push(slot);
            if !c.pending_write {
                c.pending_write = true;
                self.pending_writes.push(slot);
            }
        }
    }
}
