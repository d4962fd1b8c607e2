//! SLOWLOG, LATENCY, MONITOR and HOTKEYS: the commands that show operators what the
//! server is doing. The data structures live in src/observe/; this file
//! parses arguments and shapes replies as Redis 7.0 does.
//!
//! Must never: change what is recorded (only RESET subcommands clear).

use super::keys::reply_help;
use super::table::ids;
use super::{parse_int, Argv};
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
use crate::observe::latencystats::Cdf;
use crate::server::Server;

const SLOWLOG_HELP: &[&str] = &[
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
];

pub fn slowlog(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if argv.len() == 2 && argv.is(1, "help") {
        reply_help(c, SLOWLOG_HELP);
    } else if argv.len() == 2 && argv.is(1, "reset") {
        srv.slowlog.reset();
        c.reply().ok();
    } else if argv.len() == 2 && argv.is(1, "len") {
        c.reply().int(srv.slowlog.len() as i64);
    } else if (argv.len() == 2 || argv.len() == 3) && argv.is(1, "get") {
        let mut count = 10usize;
        if argv.len() == 3 {
            const BAD_COUNT: &str = "ERR count should be greater than or equal to -1";
            let n = parse_int(&argv[2]).map_err(|_| CmdError::msg(BAD_COUNT))?;
            count = match n {
                -1 => srv.slowlog.len(),
                n if n < -1 => return Err(CmdError::msg(BAD_COUNT)),
                n => n as usize,
            };
        }
        let n = count.min(srv.slowlog.len());
        let mut w = c.reply();
        w.array(n);
        for e in srv.slowlog.iter().take(n) {
            w.array(6);
            w.int(e.id as i64);
            w.int(e.unix_secs);
            w.int(e.duration_us.min(i64::MAX as u64) as i64);
            w.array(e.argv.len());
            for a in &e.argv {
                w.bulk(a);
            }
            w.bulk(e.peer.as_bytes());
            w.bulk(&e.name);
        }
    } else {
        return Err(CmdError::subcommand_syntax(argv.get(0), argv.get(1)));
    }
    Ok(())
}

const LATENCY_HELP: &[&str] = &[
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Prints this help.",
];

pub fn latency(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if argv.len() == 2 && argv.is(1, "help") {
        reply_help(c, LATENCY_HELP);
    } else if argv.len() == 2 && argv.is(1, "latest") {
        let mut w = c.reply();
        w.array(srv.latency.series().len());
        for s in srv.latency.series() {
            let last = s.latest();
            w.array(4);
            w.bulk(s.event.as_bytes());
            w.int(last.time);
            w.int(last.latency_ms as i64);
            w.int(s.max_ms as i64);
        }
    } else if argv.len() == 3 && argv.is(1, "history") {
        let samples: Vec<_> = srv
            .latency
            .get(&argv[2])
            .map(|s| s.history().collect())
            .unwrap_or_default();
        let mut w = c.reply();
        w.array(samples.len());
        for s in samples {
            w.array(2);
            w.int(s.time);
            w.int(s.latency_ms as i64);
        }
    } else if argv.len() >= 2 && argv.is(1, "reset") {
        let n = if argv.len() == 2 {
            srv.latency.reset_all()
        } else {
            argv.iter().skip(2).filter(|e| srv.latency.reset(e)).count()
        };
        c.reply().int(n as i64);
    } else if argv.len() == 3 && argv.is(1, "graph") {
        let Some(graph) = srv.latency.graph(&argv[2], crate::db::unix_ms() / 1000) else {
            return Err(CmdError::Other(
                format!(
                    "ERR No samples available for event '{}'",
                    String::from_utf8_lossy(&argv[2])
                )
                .into(),
            ));
        };
        c.reply().verbatim(graph.as_bytes());
    } else if argv.len() >= 2 && argv.is(1, "histogram") {
        latency_histogram(srv, c, argv);
    } else if argv.len() == 2 && argv.is(1, "doctor") {
        let report = srv.latency.doctor(
            srv.config.latency_monitor_threshold,
            crate::db::unix_ms() / 1000,
        );
        c.reply().verbatim(report.as_bytes());
    } else {
        return Err(CmdError::subcommand_syntax(argv.get(0), argv.get(1)));
    }
    Ok(())
}

/// LATENCY HISTOGRAM [command ...]: for each command (all that ran, when
/// none is named), a map of `calls` and `histogram_usec` (bucket upper
/// bound in microseconds -> cumulative count), as Redis 7.0. A container
/// command name stands for all its subcommands that ran; unknown names
/// and commands that never ran are skipped.
fn latency_histogram(srv: &Server, c: &mut Client, argv: &Argv) {
    let ids = ids();
    let mut chosen: Vec<usize> = Vec::new();
    if argv.len() == 2 {
        chosen.extend(ids.in_order());
    } else {
        for name in argv.iter().skip(2) {
            let Some(id) = ids.by_name(name) else {
                continue;
            };
            chosen.push(id);
            if let Some((cmd, None)) = ids.command(id) {
                chosen.extend((0..cmd.subcommands.len()).map(|j| ids.sub_base[id] + j));
            }
        }
    }
    let entries: Vec<(usize, Cdf)> = chosen
        .into_iter()
        .filter_map(|id| srv.command_latencies.cdf(id).map(|cdf| (id, cdf)))
        .collect();
    let mut w = c.reply();
    w.map(entries.len());
    for (id, cdf) in entries {
        w.bulk(ids.full_name(id).as_bytes());
        w.map(2);
        w.bulk(b"calls");
        w.int(cdf.calls.min(i64::MAX as u64) as i64);
        w.bulk(b"histogram_usec");
        w.map(cdf.buckets.len());
        for (usec, count) in cdf.buckets {
            w.int(usec.min(i64::MAX as u64) as i64);
            w.int(count.min(i64::MAX as u64) as i64);
        }
    }
}

/// MONITOR: from now on this client receives every command the server
/// runs. As Redis, a second MONITOR on the same connection gets no reply.
pub fn monitor(srv: &mut Server, c: &mut Client, _argv: &Argv) -> CmdResult {
    if c.in_exec {
        return Err(CmdError::msg(
            "ERR MONITOR isn't allowed for DENY BLOCKING client",
        ));
    }
    if c.monitor {
        return Ok(());
    }
    c.monitor = true;
    srv.monitors.push(c.token);
    c.reply().ok();
    Ok(())
}

const HOTKEYS_HELP: &[&str] = &[
    "HOTKEYS <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "[COUNT <count>]",
    "    Return the most accessed keys of the current database with their",
    "    estimated access counts, hottest first (default 10, at most 32).",
    "RESET",
    "    Forget all access counts.",
    "HELP",
    "    Prints this help.",
];

/// HOTKEYS [COUNT n] | RESET | HELP (RedisLite's own command). The reply
/// is a map of key -> estimated access count (a flat array in RESP2),
/// hottest first, for the client's selected database.
pub fn hotkeys(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let mut count = 10usize;
    if argv.len() == 2 && argv.is(1, "help") {
        reply_help(c, HOTKEYS_HELP);
        return Ok(());
    }
    if argv.len() == 2 && argv.is(1, "reset") {
        srv.ks.hotkeys.reset();
        c.reply().ok();
        return Ok(());
    }
    if argv.len() == 3 && argv.is(1, "count") {
        let n = parse_int(&argv[2])?;
        if n < 0 {
            return Err(CmdError::msg(
                "ERR count should be greater than or equal to 0",
            ));
        }
        count = n as usize;
    } else if argv.len() != 1 {
        return Err(CmdError::Syntax);
    }
    let db = c.db;
    let keys: Vec<(Vec<u8>, u64)> = srv
        .ks
        .hotkeys
        .top()
        .into_iter()
        .filter(|e| e.db == db)
        .take(count)
        .map(|e| (e.key.clone(), e.count))
        .collect();
    let mut w = c.reply();
    w.map(keys.len());
    for (k, n) in keys {
        w.bulk(&k);
        w.int(n.min(i64::MAX as u64) as i64);
    }
    Ok(())
}
