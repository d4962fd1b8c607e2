//! The pub/sub registry: which client (by slot in the client table) is
//! subscribed to which channel or pattern, and message delivery.
//!
//! Owns: channel -> subscribers and pattern -> subscribers maps, and the
//! wire form of pushed messages (`message`, `pmessage`, and the
//! subscribe/unsubscribe confirmations), RESP2 arrays or RESP3 pushes.
//!
//! Must never: let a slow subscriber grow memory without bound. Every
//! delivery checks the pubsub class of client-output-buffer-limit (hard
//! limit at once, soft limit after its grace period) and schedules the
//! client to be closed instead of buffering more, as Redis does.
//!
//! Invariant: the registry and each client's own subscription sets agree;
//! a client leaving the table (disconnect) is removed from both.

use crate::connection::Client;
use crate::glob::glob_match;
use std::collections::HashMap;

#[derive(Default, Debug)]
pub struct PubSub {
    channels: HashMap<Vec<u8>, Vec<usize>>,
    patterns: HashMap<Vec<u8>, Vec<usize>>,
}

impl PubSub {
    pub fn subscribe(&mut self, slot: usize, channel: &[u8]) {
        let subs = self.channels.entry(channel.to_vec()).or_default();
        if !subs.contains(&slot) {
            subs.push(slot);
        }
    }

    pub fn unsubscribe(&mut self, slot: usize, channel: &[u8]) {
        if let Some(subs) = self.channels.get_mut(channel) {
            subs.retain(|&s| s != slot);
            if subs.is_empty() {
                self.channels.remove(channel);
            }
        }
    }

    pub fn psubscribe(&mut self, slot: usize, pattern: &[u8]) {
        let subs = self.patterns.entry(pattern.to_vec()).or_default();
        if !subs.contains(&slot) {
            subs.push(slot);
        }
    }

    pub fn punsubscribe(&mut self, slot: usize, pattern: &[u8]) {
        if let Some(subs) = self.patterns.get_mut(pattern) {
            subs.retain(|&s| s != slot);
            if subs.is_empty() {
                self.patterns.remove(pattern);
            }
        }
    }

    /// Subscribers of a channel, in subscription order.
    pub fn subscribers(&self, channel: &[u8]) -> &[usize] {
        self.channels.get(channel).map_or(&[], |v| v.as_slice())
    }

    /// (pattern, subscriber) pairs whose pattern matches `channel`.
    pub fn pattern_matches(&self, channel: &[u8]) -> Vec<(Vec<u8>, usize)> {
        let mut out = Vec::new();
        for (pat, subs) in &self.patterns {
            if glob_match(pat, channel, false) {
                out.extend(subs.iter().map(|&s| (pat.clone(), s)));
            }
        }
        out
    }

    /// PUBSUB CHANNELS [pattern]: active channels (with subscribers).
    pub fn channels_matching(&self, pattern: Option<&[u8]>) -> Vec<&[u8]> {
        self.channels
            .keys()
            .filter(|c| pattern.is_none_or(|p| glob_match(p, c, false)))
            .map(|c| c.as_slice())
            .collect()
    }

    pub fn numsub(&self, channel: &[u8]) -> usize {
        self.subscribers(channel).len()
    }

    /// PUBSUB NUMPAT: distinct patterns with at least one subscriber.
    pub fn numpat(&self) -> usize {
        self.patterns.len()
    }

    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }
}

/// Append a `message` (or `pmessage` when `pattern` is set) to a client.
pub fn write_message(c: &mut Client, pattern: Option<&[u8]>, channel: &[u8], payload: &[u8]) {
    let mut w = c.reply();
    match pattern {
        None => {
            w.push(3);
            w.bulk(b"message");
        }
        Some(p) => {
            w.push(4);
            w.bulk(b"pmessage");
            w.bulk(p);
        }
    }
    w.bulk(channel);
    w.bulk(payload);
}

/// client-output-buffer-limit for one client of any class: past the
/// limit the client is scheduled to close (close_asap), the close is
/// logged and counted in `disconnections` (INFO's
/// client_output_buffer_limit_disconnections). Returns whether it was.
/// The one place every class (normal, replica, pubsub, monitor) goes
/// through, so the log line and the counter never diverge.
pub fn enforce_output_limit(
    c: &mut Client,
    (hard, soft, soft_secs): (u64, u64, u64),
    now_ms: i64,
    disconnections: &mut u64,
) -> bool {
    if check_output_limit(c, hard, soft, soft_secs, now_ms) == LimitVerdict::Ok {
        return false;
    }
    log::warn!(
        "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits ({} bytes pending).",
        c.id,
        c.addr,
        c.pending_output_bytes()
    );
    *disconnections += 1;
    c.close_asap = true;
    true
}

/// What the output-buffer-limit check decided for a client.
#[derive(Debug, PartialEq, Eq)]
pub enum LimitVerdict {
    Ok,
    Close,
}

/// Check a pubsub client's pending output against its class limits.
/// `hard`/`soft` of 0 mean unlimited; `now_ms` drives the soft timer.
pub fn check_output_limit(
    c: &mut Client,
    hard: u64,
    soft: u64,
    soft_secs: u64,
    now_ms: i64,
) -> LimitVerdict {
    let pending = c.pending_output_bytes() as u64;
    if hard > 0 && pending >= hard {
        return LimitVerdict::Close;
    }
    if soft > 0 && pending >= soft {
        match c.obuf_soft_limit_since_ms {
            0 => c.obuf_soft_limit_since_ms = now_ms,
            since if now_ms - since > (soft_secs * 1000) as i64 => return LimitVerdict::Close,
            _ => {}
        }
    } else {
        c.obuf_soft_limit_since_ms = 0;
    }
    LimitVerdict::Ok
}
