//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
//! PUBLISH, PUBSUB; and publishing keyspace notifications.
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
use crate::errors::{CmdError, CmdResult};
use crate::pubsub::{enforce_output_limit, write_message};
use crate::server::Server;

/// Which subscription namespace a (un)subscribe acts on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
}

impl Kind {
    fn verb(self, subscribe: bool) -> &'static [u8] {
        match (self, subscribe) {
            (Kind::Channel, true) => b"subscribe",
            (Kind::Channel, false) => b"unsubscribe",
            (Kind::Pattern, true) => b"psubscribe",
            (Kind::Pattern, false) => b"punsubscribe",
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
        let added = match kind {
            Kind::Channel => c.sub_channels.insert(name.to_vec()),
            Kind::Pattern => c.sub_patterns.insert(name.to_vec()),
        };
        if added {
            match kind {
                Kind::Channel => srv.pubsub.subscribe(c.token, name),
                Kind::Pattern => srv.pubsub.psubscribe(c.token, name),
            }
        }
        let n = c.subscription_count();
        confirm(c, kind.verb(true), Some(name), n);
    }
    Ok(())
}

fn unsubscribe_generic(srv: &mut Server, c: &mut Client, argv: &Argv, kind: Kind) -> CmdResult {
    let names: Vec<Vec<u8>> = if argv.len() > 1 {
        argv.iter().skip(1).map(|a| a.to_vec()).collect()
    } else {
        match kind {
            Kind::Channel => c.sub_channels.iter().cloned().collect(),
            Kind::Pattern => c.sub_patterns.iter().cloned().collect(),
        }
    };
    if names.is_empty() {
        let n = c.subscription_count();
        confirm(c, kind.verb(false), None, n);
        return Ok(());
    }
    for name in names {
        let removed = match kind {
            Kind::Channel => c.sub_channels.remove(&name),
            Kind::Pattern => c.sub_patterns.remove(&name),
        };
        if removed {
            match kind {
                Kind::Channel => srv.pubsub.unsubscribe(c.token, &name),
                Kind::Pattern => srv.pubsub.punsubscribe(c.token, &name),
            }
        }
        let n = c.subscription_count();
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

/// Drop every subscription of a client (disconnect, RESET).
pub fn unsubscribe_all(srv: &mut Server, c: &mut Client) {
    for ch in std::mem::take(&mut c.sub_channels) {
        srv.pubsub.unsubscribe(c.token, &ch);
    }
    for p in std::mem::take(&mut c.sub_patterns) {
        srv.pubsub.punsubscribe(c.token, &p);
    }
}

/// Deliver one message to the client in `slot`, which may be `current`
/// (the client running the command is out of the table meanwhile).
fn deliver(
    srv: &mut Server,
    current: &mut Option<&mut Client>,
    slot: usize,
    pattern: Option<&[u8]>,
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
            write_message(cur, pattern, channel, payload);
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
    write_message(target, pattern, channel, payload);
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
        deliver(srv, &mut current, slot, None, channel, payload);
    }
    for (pat, slot) in &by_pattern {
        deliver(srv, &mut current, *slot, Some(pat), channel, payload);
    }
    direct.len() + by_pattern.len()
}

pub fn publish(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let n = publish_message(srv, Some(c), argv.get(1), argv.get(2));
    c.reply().int(n as i64);
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
    "    Print this help.",
];

pub fn pubsub(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let sub = argv.lower(1);
    match sub.as_str() {
        "channels" => {
            if argv.len() > 3 {
                return Err(CmdError::Other(
                    "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP."
                        .into(),
                ));
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
            let mut w = c.reply();
            w.map(argv.len() - 2);
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
        "shardchannels" => c.reply().array(0),
        "shardnumsub" => {
            let mut w = c.reply();
            w.map(argv.len() - 2);
            for ch in argv.iter().skip(2) {
                w.bulk(ch);
                w.int(0);
            }
        }
        "help" => reply_help(c, PUBSUB_HELP),
        _ => return Err(CmdError::UnknownSubcommand(sub, "PUBSUB".into())),
    }
    Ok(())
}
