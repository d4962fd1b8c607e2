//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
//! PUBLISH, the sharded SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH (Redis 7.0,
//! standalone: one shard), PUBSUB; and publishing keyspace notifications.
//!
//! Shard channels are a separate namespace with their own count: an
//! (S)(UN)SUBSCRIBE confirmation reports channel + pattern subscriptions
//! for the classic commands and shard subscriptions only for the sharded
//! ones, exactly as redis-server 7.0 does; the RESP2 subscribed mode lasts
//! while any of the three is non-empty (`Client::is_subscribed`).
//!
//! Owns: delivery of messages to subscribers' output buffers (the registry
//! itself is `crate::pubsub`). A message to a client other than the one
//! running the command goes into that client's buffer and the client is
//! queued for writing; the output-buffer limit of the pubsub class is
//! enforced on every delivery.
//!
//! Must never: deliver to a client that is not subscribed, or leave the
//! registry pointing at a closed client (see `unsubscribe_all`, called when
//! a client is freed or RESET).

use super::keys::reply_help;
use super::Argv;
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult, SSUBSCRIBE_DENY_BLOCKING};
use crate::pubsub::{enforce_output_limit, write_message, write_shard_message};
use crate::server::Server;

/// Which subscription namespace a (un)subscribe acts on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn verb(self, subscribe: bool) -> &'static [u8] {
        match (self, subscribe) {
            (Kind::Channel, true) => b"subscribe",
            (Kind::Channel, false) => b"unsubscribe",
            (Kind::Pattern, true) => b"psubscribe",
            (Kind::Pattern, false) => b"punsubscribe",
            (Kind::Shard, true) => b"ssubscribe",
            (Kind::Shard, false) => b"sunsubscribe",
        }
    }

    /// The client's subscriptions of this kind.
    fn names(self, c: &mut Client) -> &mut std::collections::BTreeSet<Vec<u8>> {
        match self {
            Kind::Channel => &mut c.sub_channels,
            Kind::Pattern => &mut c.sub_patterns,
            Kind::Shard => &mut c.sub_shard_channels,
        }
    }

    /// The count a confirmation of this kind reports.
    fn count(self, c: &Client) -> usize {
        match self {
            Kind::Channel | Kind::Pattern => c.subscription_count(),
            Kind::Shard => c.shard_subscription_count(),
        }
    }

    fn register(self, srv: &mut Server, slot: usize, name: &[u8]) {
        match self {
            Kind::Channel => srv.pubsub.subscribe(slot, name),
            Kind::Pattern => srv.pubsub.psubscribe(slot, name),
            Kind::Shard => srv.pubsub.ssubscribe(slot, name),
        }
    }

    fn unregister(self, srv: &mut Server, slot: usize, name: &[u8]) {
        match self {
            Kind::Channel => srv.pubsub.unsubscribe(slot, name),
            Kind::Pattern => srv.pubsub.punsubscribe(slot, name),
            Kind::Shard => srv.pubsub.sunsubscribe(slot, name),
        }
    }
}

/// Confirmation pushed for each (un)subscription: [verb, name, count].
fn confirm(c: &mut Client, verb: &[u8], name: Option<&[u8]>, count: usize) {
    let mut w = c.reply();
    w.push(3);
    w.bulk(verb);
    match name {
        Some(n) => w.bulk(n),
        None => w.null(),
    }
    w.int(count as i64);
}

fn subscribe_generic(srv: &mut Server, c: &mut Client, argv: &Argv, kind: Kind) -> CmdResult {
    for name in argv.iter().skip(1) {
        if kind.names(c).insert(name.to_vec()) {
            kind.register(srv, c.token, name);
        }
        let n = kind.count(c);
        confirm(c, kind.verb(true), Some(name), n);
    }
    Ok(())
}

fn unsubscribe_generic(srv: &mut Server, c: &mut Client, argv: &Argv, kind: Kind) -> CmdResult {
    let names: Vec<Vec<u8>> = if argv.len() > 1 {
        argv.iter().skip(1).map(|a| a.to_vec()).collect()
    } else {
        kind.names(c).iter().cloned().collect()
    };
    if names.is_empty() {
        let n = kind.count(c);
        confirm(c, kind.verb(false), None, n);
        return Ok(());
    }
    for name in names {
        if kind.names(c).remove(&name) {
            kind.unregister(srv, c.token, &name);
        }
        let n = kind.count(c);
        confirm(c, kind.verb(false), Some(&name), n);
    }
    Ok(())
}

pub fn subscribe(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    subscribe_generic(srv, c, argv, Kind::Channel)
}

pub fn psubscribe(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    subscribe_generic(srv, c, argv, Kind::Pattern)
}

pub fn unsubscribe(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    unsubscribe_generic(srv, c, argv, Kind::Channel)
}

pub fn punsubscribe(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    unsubscribe_generic(srv, c, argv, Kind::Pattern)
}

pub fn ssubscribe(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    // Inside EXEC the client waits for one reply per command: Redis 7.0
    // refuses SSUBSCRIBE there (but not SUBSCRIBE, for old clients' sake).
    if c.in_exec {
        return Err(CmdError::msg(SSUBSCRIBE_DENY_BLOCKING));
    }
    subscribe_generic(srv, c, argv, Kind::Shard)
}

pub fn sunsubscribe(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    unsubscribe_generic(srv, c, argv, Kind::Shard)
}

/// Drop every subscription of a client (disconnect, RESET).
pub fn unsubscribe_all(srv: &mut Server, c: &mut Client) {
    for ch in std::mem::take(&mut c.sub_channels) {
        srv.pubsub.unsubscribe(c.token, &ch);
    }
    for p in std::mem::take(&mut c.sub_patterns) {
        srv.pubsub.punsubscribe(c.token, &p);
    }
    for ch in std::mem::take(&mut c.sub_shard_channels) {
        srv.pubsub.sunsubscribe(c.token, &ch);
    }
}

/// What a delivery is: a channel's `message`, a pattern's `pmessage`, a
/// shard channel's `smessage`.
#[derive(Clone, Copy)]
enum Origin<'a> {
    Channel,
    Pattern(&'a [u8]),
    Shard,
}

fn write_delivery(c: &mut Client, origin: Origin, channel: &[u8], payload: &[u8]) {
    match origin {
        Origin::Channel => write_message(c, None, channel, payload),
        Origin::Pattern(p) => write_message(c, Some(p), channel, payload),
        Origin::Shard => write_shard_message(c, channel, payload),
    }
}

/// Deliver one message to the client in `slot`, which may be `current`
/// (the client running the command is out of the table meanwhile).
fn deliver(
    srv: &mut Server,
    current: &mut Option<&mut Client>,
    slot: usize,
    origin: Origin,
    channel: &[u8],
    payload: &[u8],
) {
    let [hard, soft, secs] = {
        let l = srv.config.client_output_buffer_limit[2];
        [l.hard_bytes, l.soft_bytes, l.soft_seconds]
    };
    let now = srv.ks.now_ms;
    if let Some(cur) = current.as_deref_mut() {
        if cur.token == slot {
            write_delivery(cur, origin, channel, payload);
            enforce_output_limit(
                cur,
                (hard, soft, secs),
                now,
                &mut srv.stats.client_output_buffer_limit_disconnections,
            );
            return;
        }
    }
    let Some(Some(target)) = srv.clients.get_mut(slot) else {
        return;
    };
    if target.close_asap {
        return;
    }
    write_delivery(target, origin, channel, payload);
    enforce_output_limit(
        target,
        (hard, soft, secs),
        now,
        &mut srv.stats.client_output_buffer_limit_disconnections,
    );
    if !target.pending_write {
        target.pending_write = true;
        srv.pending_writes.push(slot);
    }
}

/// Publish to channel subscribers, then pattern subscribers; returns the
/// number of deliveries (PUBLISH's reply).
pub fn publish_message(
    srv: &mut Server,
    mut current: Option<&mut Client>,
    channel: &[u8],
    payload: &[u8],
) -> usize {
    let direct: Vec<usize> = srv.pubsub.subscribers(channel).to_vec();
    let by_pattern = srv.pubsub.pattern_matches(channel);
    for &slot in &direct {
        deliver(srv, &mut current, slot, Origin::Channel, channel, payload);
    }
    for (pat, slot) in &by_pattern {
        deliver(
            srv,
            &mut current,
            *slot,
            Origin::Pattern(pat),
            channel,
            payload,
        );
    }
    direct.len() + by_pattern.len()
}

/// PUBLISH: deliver, then send the command to replicas (not to the log),
/// as Redis 7.0 does outside cluster mode, so a replica's subscribers get
/// the master's messages. Keyspace notifications go through
/// `publish_message` alone: each server raises its own.
pub fn publish(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let n = publish_message(srv, Some(c), argv.get(1), argv.get(2));
    c.reply().int(n as i64);
    srv.replicate_command_only(argv);
    Ok(())
}

/// SPUBLISH: deliver to the shard channel's subscribers only (no pattern
/// matching: shard channels have no pattern subscriptions).
pub fn spublish(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let (channel, payload) = (argv.get(1), argv.get(2));
    let subscribers: Vec<usize> = srv.pubsub.shard_subscribers(channel).to_vec();
    let mut current = Some(c);
    for &slot in &subscribers {
        deliver(srv, &mut current, slot, Origin::Shard, channel, payload);
    }
    if let Some(c) = current {
        c.reply().int(subscribers.len() as i64);
    }
    srv.replicate_command_only(argv);
    Ok(())
}

/// Publish the keyspace notifications raised by the last command.
pub fn flush_notifications(srv: &mut Server, mut current: Option<&mut Client>) {
    let events = std::mem::take(&mut srv.ks.notifier.pending);
    let flags = srv.ks.notifier.flags;
    for ev in &events {
        if flags & crate::notify::KEYSPACE != 0 {
            let mut ch = format!("__keyspace@{}__:", ev.db).into_bytes();
            ch.extend_from_slice(&ev.key);
            publish_message(srv, current.as_deref_mut(), &ch, ev.event.as_bytes());
        }
        if flags & crate::notify::KEYEVENT != 0 {
            let ch = format!("__keyevent@{}__:{}", ev.db, ev.event).into_bytes();
            publish_message(srv, current.as_deref_mut(), &ch, &ev.key);
        }
    }
    // Keep the queue's allocation for the next command.
    let mut events = events;
    events.clear();
    if srv.ks.notifier.pending.is_empty() {
        srv.ks.notifier.pending = events;
    }
}

const PUBSUB_HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

pub fn pubsub(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let sub = argv.lower(1);
    match sub.as_str() {
        "channels" => {
            if argv.len() > 3 {
                return Err(CmdError::subcommand_syntax(argv.get(0), argv.get(1)));
            }
            let pattern = (argv.len() == 3).then(|| argv.get(2));
            let names: Vec<Vec<u8>> = srv
                .pubsub
                .channels_matching(pattern)
                .into_iter()
                .map(|c| c.to_vec())
                .collect();
            c.reply().bulks(names.iter());
        }
        "numsub" => {
            // A flat array in RESP3 too (Redis 7.0 does not make it a map).
            let mut w = c.reply();
            w.array(2 * (argv.len() - 2));
            for ch in argv.iter().skip(2) {
                w.bulk(ch);
                w.int(srv.pubsub.numsub(ch) as i64);
            }
        }
        "numpat" => {
            if argv.len() != 2 {
                return Err(CmdError::WrongArity("pubsub|numpat".into()));
            }
            c.reply().int(srv.pubsub.numpat() as i64);
        }
        "shardchannels" => {
            if argv.len() > 3 {
                return Err(CmdError::subcommand_syntax(argv.get(0), argv.get(1)));
            }
            let pattern = (argv.len() == 3).then(|| argv.get(2));
            let names: Vec<Vec<u8>> = srv
                .pubsub
                .shard_channels_matching(pattern)
                .into_iter()
                .map(|c| c.to_vec())
                .collect();
            c.reply().bulks(names.iter());
        }
        "shardnumsub" => {
            let mut w = c.reply();
            w.array(2 * (argv.len() - 2));
            for ch in argv.iter().skip(2) {
                w.bulk(ch);
                w.int(srv.pubsub.shard_numsub(ch) as i64);
            }
        }
        "help" => reply_help(c, PUBSUB_HELP),
        _ => return Err(CmdError::UnknownSubcommand(sub, "PUBSUB".into())),
    }
    Ok(())
}
