//! The event loop's restricted step while a script is busy (past
//! `busy-reply-threshold`), run from the script's Lua hook
//! (scripting/busy.rs) with the script paused mid-instruction.
//!
//! Owns: one step, [`Server::serve_while_busy`]: the events the main
//! loop's current poll returned but had not handled yet, then a few
//! non-blocking polls
//! in which new clients are accepted, other clients' input is read and
//! run through the normal dispatcher (which answers `-BUSY` to everything
//! but the `allow-busy` commands: SCRIPT KILL, SHUTDOWN NOSAVE, AUTH,
//! HELLO, MULTI/DISCARD/WATCH/UNWATCH, RESET, QUIT, REPLCONF...), and
//! replies are written; and the events it must not handle now, kept in
//! [`BusyLoop`] and replayed by the main loop after the script.
//!
//! Must never: run anything for the client whose script is running (it
//! is outside the client table; its events wait), read the master link
//! (a replica applies its master's stream after the script, as Redis
//! accumulates it), run cron, expire keys, serve blocked clients, evict,
//! or let another command's bookkeeping leak into the script: the
//! keyspace clock, the propagation unit holding the script's effects
//! (nothing is propagated during a step), the pending keyspace
//! notifications and invalidations, and the per-command timing state are
//! set aside and put back. SHUTDOWN NOSAVE is the one way out: the
//! process exits from the step, as Redis does, and the script's
//! unpropagated effects are lost with it.
//!
//! Bounds: at most [`ROUNDS_MAX`] polls of at most [`STEP_EVENTS`] events
//! per step, and no new round after [`STEP_SLICE`]; each client's read is
//! bounded by the loop's own per-turn read budget.

use super::Server;
use crate::server::MAX_LISTENERS;
use mio::{Events, Token};
use std::io;
use std::time::{Duration, Instant};

/// Polls per step: a round that finds no event ends the step earlier.
const ROUNDS_MAX: usize = 4;
/// Events taken per poll.
const STEP_EVENTS: usize = 256;
/// No new round starts after this long: the script gets the CPU back.
const STEP_SLICE: Duration = Duration::from_millis(10);

/// State kept between steps.
#[derive(Default)]
pub struct BusyLoop {
    /// The step's own event buffer (the main loop's is in use).
    events: Option<Events>,
    /// The step's read buffer (the main loop's may be lent to the reading
    /// that ran the script).
    read_buf: Vec<u8>,
    /// Events left for after the script: (token, peer closed). One entry
    /// per token, so bounded by the number of sockets.
    deferred: Vec<(Token, bool)>,
}

impl BusyLoop {
    pub fn has_deferred(&self) -> bool {
        !self.deferred.is_empty()
    }

    fn defer(&mut self, token: Token, closed: bool) {
        match self.deferred.iter_mut().find(|(t, _)| *t == token) {
            Some(entry) => entry.1 |= closed,
            None => self.deferred.push((token, closed)),
        }
    }
}

/// Server state a command's dispatch changes that belongs to the paused
/// script, set aside for the step.
struct SetAside {
    now_ms: i64,
    tracking_current: Option<u64>,
    client_no_touch: bool,
    cmd_start_hint_ns: u64,
    cmd_end_ns: u64,
    fail_running: bool,
    prop: crate::persistence::propagate::Propagator,
    notifications: Vec<crate::notify::Event>,
    invalidations: Vec<crate::tracking::Invalidation>,
    read_buf: Vec<u8>,
}

impl SetAside {
    fn take(srv: &mut Server) -> SetAside {
        let step_buf = match std::mem::take(&mut srv.busy_loop.read_buf) {
            b if b.is_empty() => vec![0u8; super::event_loop::READ_CHUNK_BYTES],
            b => b,
        };
        SetAside {
            now_ms: srv.ks.now_ms,
            tracking_current: srv.ks.tracking.current.take(),
            client_no_touch: std::mem::take(&mut srv.ks.client_no_touch),
            cmd_start_hint_ns: std::mem::take(&mut srv.cmd_start_hint_ns),
            cmd_end_ns: srv.cmd_end_ns,
            fail_running: std::mem::take(&mut srv.stats.fail_running),
            // A fresh, disabled propagator: nothing run in the step is
            // propagated, and the script's unit is untouched.
            prop: std::mem::take(&mut srv.prop),
            notifications: std::mem::take(&mut srv.ks.notifier.pending),
            invalidations: std::mem::take(&mut srv.ks.tracking.outbox),
            read_buf: std::mem::replace(&mut srv.read_buf, step_buf),
        }
    }

    fn restore(self, srv: &mut Server) {
        srv.ks.now_ms = self.now_ms;
        srv.ks.tracking.current = self.tracking_current;
        srv.ks.client_no_touch = self.client_no_touch;
        srv.cmd_start_hint_ns = self.cmd_start_hint_ns;
        srv.cmd_end_ns = self.cmd_end_ns;
        srv.stats.fail_running = self.fail_running;
        srv.prop = self.prop;
        // What the step's commands raised goes after the script's own.
        let mut n = self.notifications;
        n.append(&mut srv.ks.notifier.pending);
        srv.ks.notifier.pending = n;
        let mut i = self.invalidations;
        i.append(&mut srv.ks.tracking.outbox);
        srv.ks.tracking.outbox = i;
        srv.busy_loop.read_buf = std::mem::replace(&mut srv.read_buf, self.read_buf);
    }
}

impl Server {
    /// One step of the restricted loop (see the module comment). Called
    /// from the script's hook; returns to the script unless a SHUTDOWN
    /// NOSAVE was accepted, which exits the process.
    pub fn serve_while_busy(&mut self) {
        let aside = SetAside::take(self);
        let mut events = self
            .busy_loop
            .events
            .take()
            .unwrap_or_else(|| Events::with_capacity(STEP_EVENTS));
        let started = Instant::now();
        // The main loop's poll may have returned other clients' events with
        // the one whose command started the script: epoll will not report
        // those edges again, so they are served here (once; the main loop
        // then finds its batch consumed).
        let pos = self.loop_batch_pos.min(self.loop_batch.len());
        let rest: Vec<_> = self.loop_batch.drain(pos..).collect();
        for (token, readable, closed, writable) in rest {
            if self.shutdown_requested.is_none() {
                self.busy_event(token, readable, closed, writable);
            }
        }
        for _ in 0..ROUNDS_MAX {
            if let Err(e) = self.poll.poll(&mut events, Some(Duration::ZERO)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log::warn!("Polling while a script is busy: {e}");
                    break;
                }
            }
            let mut handled = 0usize;
            for ev in events.iter() {
                handled += 1;
                let closed = ev.is_read_closed() || ev.is_error();
                self.busy_event(
                    ev.token(),
                    ev.is_readable() || closed,
                    closed,
                    ev.is_writable(),
                );
                if self.shutdown_requested.is_some() {
                    break;
                }
            }
            handled += self.busy_pending_reads();
            // Replies go out now; those waiting for the AOF wait on (the
            // log is flushed by the main loop after the script).
            self.write_pending_clients(false);
            if handled == 0 || self.shutdown_requested.is_some() || started.elapsed() >= STEP_SLICE
            {
                break;
            }
        }
        self.busy_loop.events = Some(events);
        aside.restore(self);
        if self.shutdown_requested.is_some() {
            // SHUTDOWN NOSAVE was accepted and its final steps are done
            // (shutdown.rs): exit as main does when the loop returns.
            std::process::exit(0);
        }
    }

    /// One event during a step: accept, read and answer other clients;
    /// leave the rest for after the script.
    fn busy_event(&mut self, token: Token, readable: bool, closed: bool, writable: bool) {
        if token == crate::replication::snapshot_child::SNAPSHOT_PIPE_TOKEN {
            // before_sleep reads the pipe whenever it runs.
            return;
        }
        if token.0 == super::event_loop::UNIX_LISTENER_TOKEN {
            self.accept_unix_clients();
            return;
        }
        if token.0 < MAX_LISTENERS && token.0 < self.listeners.len() {
            self.accept_clients(token.0);
            return;
        }
        let slot = token.0.checked_sub(MAX_LISTENERS);
        let present = slot.is_some_and(|s| self.clients.get(s).is_some_and(|c| c.is_some()));
        match slot {
            // Another client: served now.
            Some(slot) if present && token.0 < super::http::CONN_TOKEN_BASE => {
                if readable {
                    self.handle_readable(slot, closed);
                }
                if writable {
                    self.queue_write(slot);
                }
            }
            // The master link, the metrics endpoint, and the client whose
            // script runs (absent from the table): after the script.
            _ => self.busy_loop.defer(token, closed),
        }
    }

    /// Clients whose read budget ran out: read on (not the running one).
    fn busy_pending_reads(&mut self) -> usize {
        if self.pending_reads.is_empty() {
            return 0;
        }
        let pending = std::mem::take(&mut self.pending_reads);
        let mut handled = 0;
        for slot in pending {
            if self.clients.get(slot).is_some_and(|c| c.is_some()) {
                handled += 1;
                self.handle_readable(slot, false);
            } else {
                self.pending_reads.push(slot);
            }
        }
        handled
    }

    /// After a busy script ended: handle the events its steps left.
    pub(crate) fn replay_busy_deferred(&mut self) {
        if self.busy_loop.deferred.is_empty() || self.scripting.running().is_some() {
            return;
        }
        for (token, closed) in std::mem::take(&mut self.busy_loop.deferred) {
            self.handle_event(token, true, closed, true);
        }
    }
}
