//! Blocked clients where families and server state meet: list and sorted
//! set waiters on one key (FIFO order, which key creations wake whom),
//! WAIT as a blocked client (INFO, CLIENT LIST, CLIENT UNBLOCK), and
//! REPLICAOF turning a master with blocked clients into a replica.
//!
//! Each scenario runs on RedisLite and on Debian's redis-server 7.0 and
//! the two transcripts must be equal; the expected transcript is also
//! written out, so a test fails on its own if the reference changes.
//! Conditions are polled (INFO clients `blocked_clients`), never slept on.

use crate::common::{send, wait_blocked, ServerProc};

/// Run `scenario` on a fresh RedisLite and a fresh redis-server; their
/// transcripts must match, and RedisLite's is returned.
fn same_as_redis(args: &[&str], scenario: impl Fn(&ServerProc) -> Vec<String>) -> Vec<String> {
    let ours = scenario(&ServerProc::start(args));
    let theirs = scenario(&ServerProc::start_reference(args));
    assert_eq!(ours, theirs, "redislite vs redis-server");
    ours
}

/// A WAIT that cannot be satisfied blocks its client the way BLPOP does:
/// INFO counts it in `blocked_clients` and CLIENT LIST flags it `b`.
#[test]
fn a_client_in_wait_counts_as_blocked() {
    let seen = same_as_redis(&[], |srv| {
        let mut ctl = srv.conn();
        let mut w = srv.conn();
        send(&mut w, &["WAIT", "1", "0"]);
        wait_blocked(&mut ctl, 1);
        let list = ctl.cmds(&["CLIENT", "LIST"]);
        let flags = list
            .lines()
            .find(|l| l.contains("cmd=wait"))
            .and_then(|l| l.split_whitespace().find(|f| f.starts_with("flags=")))
            .unwrap_or("no WAIT client")
            .to_string();
        vec![flags]
    });
    assert_eq!(seen, vec!["flags=b"]);
}
