//! The pub/sub registry: which client (by slot in the client table) is
//! subscribed to which channel or pattern, and message delivery.
//!
//! Owns: channel -> subscribers, pattern -> subscribers and shard channel
//! -> subscribers maps, and the wire form of pushed messages (`message`,
//! `pmessage`, `smessage`), RESP2 arrays or RESP3 pushes.
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
    /// Shard channels (SSUBSCRIBE / SPUBLISH, Redis 7.0): a namespace of
    /// their own, so a PUBLISH never reaches a shard subscriber and an
    /// SPUBLISH never reaches a channel or pattern subscriber. Standalone
    /// has one shard, so every shard channel lives here.
    shard_channels: HashMap<Vec<u8>, Vec<usize>>,
}

/// Add `slot` to `name`'s subscribers (once).
fn add(map: &mut HashMap<Vec<u8>, Vec<usize>>, slot: usize, name: &[u8]) {
    let subs = map.entry(name.to_vec()).or_default();
    if !subs.contains(&slot) {
        subs.push(slot);
    }
}

/// Remove `slot` from `name`'s subscribers; a name left without any is
/// dropped, so the map's size is the number of active names.
fn remove(map: &mut HashMap<Vec<u8>, Vec<usize>>, slot: usize, name: &[u8]) {
    if let Some(subs) = map.get_mut(name) {
        subs.retain(|&s| s != slot);
        if subs.is_empty() {
            map.remove(name);
        }
    }
}

/// Names of `map` matching a glob `pattern` (all without one).
fn names_matching<'a>(
    map: &'a HashMap<Vec<u8>, Vec<usize>>,
    pattern: Option<&[u8]>,
) -> Vec<&'a [u8]> {
    map.keys()
        .filter(|c| pattern.is_none_or(|p| glob_match(p, c, false)))
        .map(|c| c.as_slice())
        .collect()
}

impl PubSub {
    pub fn subscribe(&mut self, slot: usize, channel: &[u8]) {
        add(&mut self.channels, slot, channel);
    }

    pub fn unsubscribe(&mut self, slot: usize, channel: &[u8]) {
        remove(&mut self.channels, slot, channel);
    }

    pub fn psubscribe(&mut self, slot: usize, pattern: &[u8]) {
        add(&mut self.patterns, slot, pattern);
    }

    pub fn punsubscribe(&mut self, slot: usize, pattern: &[u8]) {
        remove(&mut self.patterns, slot, pattern);
    }

    pub fn ssubscribe(&mut self, slot: usize, channel: &[u8]) {
        add(&mut self.shard_channels, slot, channel);
    }

    pub fn sunsubscribe(&mut self, slot: usize, channel: &[u8]) {
        remove(&mut self.shard_channels, slot, channel);
    }

    /// Subscribers of a channel, in subscription order.
    pub fn subscribers(&self, channel: &[u8]) -> &[usize] {
        self.channels.get(channel).map_or(&[], |v| v.as_slice())
    }

    /// Subscribers of a shard channel, in subscription order.
    pub fn shard_subscribers(&self, channel: &[u8]) -> &[usize] {
        self.shard_channels
            .get(channel)
            .map_or(&[], |v| v.as_slice())
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
        names_matching(&self.channels, pattern)
    }

    /// PUBSUB SHARDCHANNELS [pattern]: active shard channels.
    pub fn shard_channels_matching(&self, pattern: Option<&[u8]>) -> Vec<&[u8]> {
        names_matching(&self.shard_channels, pattern)
    }

    pub fn numsub(&self, channel: &[u8]) -> usize {
        self.subscribers(channel).len()
    }

    pub fn shard_numsub(&self, channel: &[u8]) -> usize {
        self.shard_subscribers(channel).len()
    }

    /// PUBSUB NUMPAT: distinct patterns with at least one subscriber.
    pub fn numpat(&self) -> usize {
        self.patterns.len()
    }

    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// INFO's pubsubshard_channels: active shard channels.
    pub fn shard_channel_count(&self) -> usize {
        self.shard_channels.len()
    }
}

/// Append an `smessage` (a shard channel's message) to a client.
pub fn write_shard_message(c: &mut Client, channel: &[u8], payload: &[u8]) {
    let mut w = c.reply();
    w.push(3);
    w.bulk(b"smessage");
    w.bulk(channel);
    w.bulk(payload);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_channels_are_a_namespace_of_their_own() {
        let mut ps = PubSub::default();
        ps.subscribe(1, b"news");
        ps.ssubscribe(2, b"news");
        ps.ssubscribe(3, b"news");
        ps.ssubscribe(2, b"news"); // twice: still one subscription
        assert_eq!(ps.subscribers(b"news"), &[1]);
        assert_eq!(ps.shard_subscribers(b"news"), &[2, 3]);
        assert_eq!(ps.numsub(b"news"), 1);
        assert_eq!(ps.shard_numsub(b"news"), 2);
        assert_eq!(ps.channel_count(), 1);
        assert_eq!(ps.shard_channel_count(), 1);
        ps.unsubscribe(1, b"news");
        assert_eq!(ps.channel_count(), 0);
        assert_eq!(ps.shard_numsub(b"news"), 2);
    }

    #[test]
    fn a_shard_channel_without_subscribers_is_gone() {
        let mut ps = PubSub::default();
        ps.ssubscribe(4, b"a");
        ps.ssubscribe(4, b"b");
        ps.sunsubscribe(4, b"a");
        ps.sunsubscribe(9, b"b"); // not a subscriber: nothing changes
        ps.sunsubscribe(4, b"never");
        assert_eq!(ps.shard_channels_matching(None), vec![b"b".as_slice()]);
        ps.sunsubscribe(4, b"b");
        assert_eq!(ps.shard_channel_count(), 0);
        assert!(ps.shard_subscribers(b"b").is_empty());
    }

    #[test]
    fn shard_channels_match_a_glob() {
        let mut ps = PubSub::default();
        for ch in [b"s1".as_slice(), b"s2", b"t1"] {
            ps.ssubscribe(0, ch);
        }
        ps.subscribe(0, b"s3");
        let mut m = ps.shard_channels_matching(Some(b"s*"));
        m.sort();
        assert_eq!(m, vec![b"s1".as_slice(), b"s2"]);
        assert!(ps.pattern_matches(b"s1").is_empty());
    }
}
