//! FAILOVER: a master hands its role to one of its replicas, as Redis 7.0.
//!
//! Owns: the failover state machine ([`Failover`]) and the command.
//! 1. `FAILOVER [TO host port [FORCE]] [TIMEOUT ms]` pauses writes (a
//!    pause of its own, next to CLIENT PAUSE's) so the replication offset
//!    stops moving, and enters `waiting-for-sync`.
//! 2. Before every sleep and on cron, [`Server::update_failover_status`]
//!    looks for the target replica (or, without TO, any replica) whose
//!    acknowledged offset equals ours. Found: the master becomes a replica
//!    of it (`failover-in-progress`) and its handshake sends `PSYNC <replid>
//!    <offset> FAILOVER`, which makes the target promote itself before it
//!    answers (`master.rs`). The TIMEOUT passing first aborts, or with
//!    FORCE fails over anyway.
//! 3. The target's +CONTINUE or +FULLRESYNC ends the failover (writes
//!    resume, and now get READONLY); an error reply to that PSYNC aborts
//!    it: the server turns back into a master (a new replication id, as
//!    any promotion). `FAILOVER ABORT` does the same at any time.
//!
//! Must never: let the offset move while waiting (pings and GETACKs to
//! replicas are held back; expiry and eviction are frozen by the pause),
//! or leave writes paused once the state is back to `no-failover`.
//!
//! Invariants: `target` is Some whenever the state is `InProgress`;
//! `Server::failover_pause` is true iff the state is not `None`.

use crate::commands::{parse_int, Argv};
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
use crate::server::Server;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailoverState {
    #[default]
    None,
    WaitForSync,
    InProgress,
}

impl FailoverState {
    /// INFO replication's `master_failover_state`.
    pub fn info_name(self) -> &'static str {
        match self {
            FailoverState::None => "no-failover",
            FailoverState::WaitForSync => "waiting-for-sync",
            FailoverState::InProgress => "failover-in-progress",
        }
    }
}

#[derive(Debug, Default)]
pub struct Failover {
    pub state: FailoverState,
    /// The replica handed the role (set by TO, or once one caught up).
    pub target: Option<(String, u16)>,
    /// Fail over to `target` when the timeout passes, caught up or not.
    pub force: bool,
    /// Unix ms when waiting for the replica gives up (None: never).
    pub end_ms: Option<i64>,
    /// The target answered our `PSYNC ... FAILOVER` with an error: the
    /// link code sets it, the event loop then aborts the failover once
    /// the link is dropped.
    pub rejected: bool,
}

/// What the command asked for, after Redis's parsing rules.
struct Request {
    target: Option<(String, i64)>,
    timeout_ms: Option<i64>,
    force: bool,
    abort: bool,
}

/// Redis's option loop: each option at most once, ABORT only alone and an
/// option after ABORT is a syntax error; values are checked as they come.
fn parse(argv: &Argv) -> Result<Request, CmdError> {
    let mut r = Request {
        target: None,
        timeout_ms: None,
        force: false,
        abort: false,
    };
    let mut j = 1;
    while j < argv.len() {
        let plain = !r.abort;
        if argv.is(j, "to") && r.target.is_none() && plain && j + 2 < argv.len() {
            let host = String::from_utf8_lossy(argv.get(j + 1)).into_owned();
            let port = parse_int(argv.get(j + 2)).map_err(|_| CmdError::NotInteger)?;
            r.target = Some((host, port));
            j += 3;
            continue;
        }
        if argv.is(j, "timeout") && r.timeout_ms.is_none() && plain && j + 1 < argv.len() {
            let ms = parse_int(argv.get(j + 1)).map_err(|_| CmdError::NotInteger)?;
            if ms <= 0 {
                return Err(CmdError::msg("ERR FAILOVER timeout must be greater than 0"));
            }
            r.timeout_ms = Some(ms);
            j += 2;
            continue;
        }
        if argv.is(j, "force") && !r.force && plain {
            r.force = true;
        } else if argv.is(j, "abort")
            && plain
            && !r.force
            && r.target.is_none()
            && r.timeout_ms.is_none()
        {
            r.abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(r)
}

/// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]
pub fn failover(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let r = parse(argv)?;
    if r.abort {
        if srv.repl.failover.state == FailoverState::None {
            return Err(CmdError::msg("ERR No failover in progress."));
        }
        srv.abort_failover("Failover manually aborted");
        c.reply().ok();
        return Ok(());
    }
    // Redis's order: a failover under way is reported first (while in
    // progress the server is already a replica, and a waiting one may
    // have lost its replicas).
    if srv.repl.failover.state != FailoverState::None {
        return Err(CmdError::msg("ERR FAILOVER already in progress."));
    }
    if srv.is_replica() {
        return Err(CmdError::msg(
            "ERR FAILOVER is not valid when server is a replica.",
        ));
    }
    if srv.repl.replicas.is_empty() {
        return Err(CmdError::msg("ERR FAILOVER requires connected replicas."));
    }
    if r.force && (r.timeout_ms.is_none() || r.target.is_none()) {
        return Err(CmdError::msg(
            "ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
        ));
    }
    let target = match r.target {
        None => None,
        Some((host, port)) => {
            let found = u16::try_from(port)
                .ok()
                .and_then(|p| srv.find_replica(&host, p).map(|online| (p, online)));
            match found {
                None => {
                    return Err(CmdError::msg(
                        "ERR FAILOVER target HOST and PORT is not a replica.",
                    ))
                }
                Some((_, false)) => {
                    return Err(CmdError::msg("ERR FAILOVER target replica is not online."))
                }
                Some((p, true)) => Some((host, p)),
            }
        }
    };
    match &target {
        Some((h, p)) => log::info!("FAILOVER requested to {h}:{p}."),
        None => log::info!("FAILOVER requested to any replica."),
    }
    srv.repl.failover = Failover {
        state: FailoverState::WaitForSync,
        target,
        force: r.force,
        end_ms: r.timeout_ms.map(|ms| srv.ks.now_ms.saturating_add(ms)),
        rejected: false,
    };
    srv.set_failover_pause(true);
    c.reply().ok();
    Ok(())
}

impl Server {
    /// The attached replica at `host`:`port` (its announced or peer
    /// address and listening port, as INFO and ROLE show it): Some(online)
    /// if there is one.
    pub fn find_replica(&self, host: &str, port: u16) -> Option<bool> {
        self.repl.replicas.iter().find_map(|&slot| {
            let c = self.clients.get(slot)?.as_deref()?;
            let r = c.repl.as_deref()?;
            (r.listening_port == port && crate::replication::replica_ip(c) == host)
                .then_some(r.online)
        })
    }

    /// Before sleeping and on cron: time out, or hand over once the
    /// target caught up (Redis's updateFailoverStatus).
    pub fn update_failover_status(&mut self) {
        if self.repl.failover.state != FailoverState::WaitForSync {
            return;
        }
        if self
            .repl
            .failover
            .end_ms
            .is_some_and(|end| end <= self.ks.now_ms)
        {
            match self.repl.failover.target.clone() {
                Some((host, port)) if self.repl.failover.force => {
                    log::info!("FAILOVER to {host}:{port} time out exceeded, failing over.");
                    self.repl.failover.state = FailoverState::InProgress;
                    self.set_master(host, port);
                }
                _ => self.abort_failover("Replica never caught up before timeout"),
            }
            return;
        }
        let offset = self.repl.offset;
        let caught_up = self.repl.replicas.iter().find_map(|&slot| {
            let c = self.clients.get(slot)?.as_deref()?;
            let r = c.repl.as_deref().filter(|r| r.online)?;
            let addr = (crate::replication::replica_ip(c), r.listening_port);
            let wanted = match &self.repl.failover.target {
                Some((h, p)) => *h == addr.0 && *p == addr.1,
                None => true,
            };
            (wanted && r.ack_offset == offset).then_some(addr)
        });
        if let Some((host, port)) = caught_up {
            log::info!("Failover target {host}:{port} is synced, failing over.");
            self.repl.failover.target = Some((host.clone(), port));
            self.repl.failover.state = FailoverState::InProgress;
            self.set_master(host, port);
        }
    }

    /// The target answered the PSYNC: the failover is over (Redis's
    /// clearFailoverState), writes resume (as a replica's: READONLY).
    pub fn failover_done(&mut self) {
        if self.repl.failover.state == FailoverState::InProgress {
            self.clear_failover_state();
        }
    }

    /// Redis's abortFailover: back to a master if the role was already
    /// handed over, writes resume.
    pub fn abort_failover(&mut self, why: &str) {
        match &self.repl.failover.target {
            _ if self.repl.failover.state == FailoverState::None => return,
            Some((h, p)) => log::info!("FAILOVER to {h}:{p} aborted: {why}"),
            None => log::info!("FAILOVER to any replica aborted: {why}"),
        }
        if self.repl.failover.state == FailoverState::InProgress {
            self.unset_master();
        }
        self.clear_failover_state();
    }

    fn clear_failover_state(&mut self) {
        self.repl.failover = Failover::default();
        self.set_failover_pause(false);
    }

    /// After the master link was dropped: a rejected failover PSYNC
    /// aborts the failover.
    pub fn abort_failover_if_rejected(&mut self) {
        if std::mem::take(&mut self.repl.failover.rejected) {
            self.abort_failover("Failover target rejected psync request");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parse `words` as a request's arguments.
    fn parsed(words: &[&str]) -> Result<Request, CmdError> {
        let data: Vec<u8> = words.concat().into_bytes();
        let mut ranges = Vec::new();
        let mut at = 0;
        for w in words {
            ranges.push(at..at + w.len());
            at += w.len();
        }
        parse(&Argv::new(&data, &ranges))
    }

    #[test]
    fn options_parse_as_in_redis() {
        let r = parsed(&["failover", "TO", "h", "7", "TIMEOUT", "5", "FORCE"]).unwrap();
        assert_eq!(r.target, Some(("h".to_string(), 7)));
        assert_eq!((r.timeout_ms, r.force, r.abort), (Some(5), true, false));
        assert!(parsed(&["failover", "abort"]).unwrap().abort);
        for bad in [
            &["failover", "abort", "timeout", "0"][..],
            &["failover", "timeout", "1", "abort"],
            &["failover", "force", "force"],
            &["failover", "to", "h"],
            &["failover", "bogus"],
        ] {
            assert!(matches!(parsed(bad), Err(CmdError::Syntax)), "{bad:?}");
        }
        assert!(matches!(
            parsed(&["failover", "timeout", "0", "abort"]),
            Err(CmdError::Other(_))
        ));
        assert!(matches!(
            parsed(&["failover", "to", "h", "x"]),
            Err(CmdError::NotInteger)
        ));
    }
}
