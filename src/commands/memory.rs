//! MEMORY USAGE / STATS / DOCTOR / MALLOC-STATS / PURGE / HELP.
//!
//! Owns: the memory introspection replies. Figures come from the counting
//! allocator (memory.rs) and the tables' own accounting; MEMORY USAGE is
//! an estimate of what one key costs (its dict entry, key and value heap
//! bytes), computed exactly for strings and from the representation's
//! `heap_size` for aggregates.

use super::keys::reply_help;
use super::{parse_int, Argv};
use crate::connection::Client;
use crate::db::Access;
use crate::errors::{CmdError, CmdResult};
use crate::memory;
use crate::server::Server;
use crate::types::RObj;

const MEMORY_HELP: &[&str] = &[
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
];

/// Bytes one key costs: its dict entry (key inline or on the heap, the
/// object, the chain pointer), a bucket slot, and the value's heap bytes.
fn key_usage(key: &[u8], obj: &RObj) -> usize {
    const ENTRY_FIXED: usize = 24 + 8 + 8; // key, next pointer, bucket slot
    let key_heap = if key.len() > crate::types::compact::INLINE_CAPACITY {
        key.len()
    } else {
        0
    };
    ENTRY_FIXED + std::mem::size_of::<RObj>() + key_heap + obj.heap_size()
}

fn usage(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if argv.len() > 3 {
        if argv.len() != 5 || !argv.is(3, "samples") {
            return Err(CmdError::Syntax);
        }
        // Sampling is not needed: aggregates track their own heap size.
        parse_int(argv.get(4))?;
    }
    let key = argv.get(2);
    match srv.ks.lookup(c.db, key, Access::NoTouch) {
        Some(obj) => {
            let n = key_usage(key, obj);
            c.reply().int(n as i64);
        }
        None => c.reply().null(),
    }
    Ok(())
}

fn stats(srv: &mut Server, c: &mut Client) {
    let used = memory::used_memory() as i64;
    let peak = memory::peak_memory() as i64;
    let startup = srv.startup_memory as i64;
    let rss = memory::rss_bytes() as i64;
    let keys: usize = srv.ks.dbs.iter().map(|d| d.dict.len()).sum();
    let dataset: i64 = srv
        .ks
        .dbs
        .iter()
        .map(|d| (d.dict.memory_usage() + d.expires.memory_usage()) as i64)
        .sum();
    let clients = crate::observe::info::client_buffers_bytes(srv, c) as i64;
    let overhead = (used - dataset).max(0);
    let pct = |part: i64, whole: i64| {
        if whole > 0 {
            part as f64 * 100.0 / whole as f64
        } else {
            0.0
        }
    };
    let dbs: Vec<(usize, i64, i64)> = srv
        .ks
        .dbs
        .iter()
        .enumerate()
        .filter(|(_, d)| !d.dict.is_empty())
        .map(|(i, d)| {
            // Both bucket arrays while a rehash runs (Redis's dictSlots).
            let slots = |(table, old): (usize, usize)| ((table + old) * 8) as i64;
            (i, slots(d.dict.buckets()), slots(d.expires.buckets()))
        })
        .collect();
    let backlog = srv.repl.backlog.as_ref().map_or(0, |b| b.size()) as i64;
    let lua_caches = srv.scripting.cached_bytes as i64;
    let functions_caches = (184 + srv.scripting.functions.overhead_bytes()) as i64;
    let ratio = |a: i64, b: i64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    // Redis 7.0's fields in its order. With the system allocator there is
    // no active/resident split to report: active is what is allocated,
    // and the whole gap to RSS shows as the allocator's (INFO memory says
    // the same).
    let head = [
        (&b"peak.allocated"[..], peak),
        (b"total.allocated", used),
        (b"startup.allocated", startup),
        (b"replication.backlog", backlog),
        (b"clients.slaves", 0),
        (b"clients.normal", clients),
        (b"cluster.links", 0),
        (b"aof.buffer", 0),
        (b"lua.caches", lua_caches),
        (b"functions.caches", functions_caches),
    ];
    let allocator = [
        (&b"allocator.allocated"[..], used),
        (b"allocator.active", used),
        (b"allocator.resident", rss),
    ];
    let ratios = [
        (&b"allocator-fragmentation"[..], 1.0, 0),
        (b"allocator-rss", ratio(rss, used), rss - used),
        (b"rss-overhead", 1.0, 0),
    ];
    // The six key and dataset fields and the two fragmentation fields
    // are written one by one below.
    let mut w = c.reply();
    w.map(head.len() + dbs.len() + 6 + allocator.len() + 2 * ratios.len() + 2);
    for (name, v) in head {
        w.bulk(name);
        w.int(v);
    }
    for (i, main, exp) in dbs {
        w.bulk(format!("db.{i}").as_bytes());
        w.map(3);
        w.bulk(b"overhead.hashtable.main");
        w.int(main);
        w.bulk(b"overhead.hashtable.expires");
        w.int(exp);
        w.bulk(b"overhead.hashtable.slot-to-keys");
        w.int(0);
    }
    w.bulk(b"overhead.total");
    w.int(overhead);
    w.bulk(b"keys.count");
    w.int(keys as i64);
    w.bulk(b"keys.bytes-per-key");
    w.int(if keys > 0 {
        (used - startup).max(0) / keys as i64
    } else {
        0
    });
    w.bulk(b"dataset.bytes");
    w.int(dataset);
    w.bulk(b"dataset.percentage");
    w.double(pct(dataset, (used - startup).max(1)));
    w.bulk(b"peak.percentage");
    w.double(pct(used, peak));
    for (name, v) in allocator {
        w.bulk(name);
        w.int(v);
    }
    for (name, r, bytes) in ratios {
        w.bulk(&[name, b".ratio"].concat());
        w.double(r);
        w.bulk(&[name, b".bytes"].concat());
        w.int(bytes);
    }
    w.bulk(b"fragmentation");
    w.double(ratio(rss, used));
    w.bulk(b"fragmentation.bytes");
    w.int(rss - used);
}

/// A short, honest report: what we can measure, and the two problems we
/// can actually detect (fragmentation, a peak far above current use).
fn doctor(srv: &Server) -> String {
    let used = memory::used_memory() as f64;
    let peak = memory::peak_memory() as f64;
    let rss = memory::rss_bytes() as f64;
    let mut findings = Vec::new();
    if used > 5.0 * 1024.0 * 1024.0 && rss / used > 1.4 {
        findings.push(format!(
            "RSS is {:.2} times the allocated memory: the allocator holds freed memory (fragmentation); it is returned to the OS gradually.",
            rss / used
        ));
    }
    if used > 5.0 * 1024.0 * 1024.0 && peak > 1.5 * used {
        findings.push(format!(
            "Peak memory ({}) is well above current use ({}): a past burst; CONFIG RESETSTAT resets the peak.",
            memory::bytes_human(peak as u64),
            memory::bytes_human(used as u64)
        ));
    }
    let limit = srv.config.maxmemory;
    if limit > 0 && used > 0.9 * limit as f64 {
        findings.push(format!(
            "Used memory is above 90% of maxmemory ({}): policy {} applies.",
            memory::bytes_human(limit),
            srv.config.maxmemory_policy.as_str()
        ));
    }
    if findings.is_empty() {
        format!(
            "No memory problem detected. Used {}, RSS {}, peak {}.",
            memory::bytes_human(used as u64),
            memory::bytes_human(rss as u64),
            memory::bytes_human(peak as u64)
        )
    } else {
        findings.join("\n")
    }
}

pub fn memory(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let sub = argv.lower(1);
    match sub.as_str() {
        "usage" => usage(srv, c, argv)?,
        "stats" => stats(srv, c),
        "doctor" => {
            let text = doctor(srv);
            c.reply().verbatim(text.as_bytes());
        }
        "malloc-stats" => c
            .reply()
            .verbatim(b"Stats not supported for the current allocator"),
        "purge" => c.reply().ok(),
        "help" => reply_help(c, MEMORY_HELP),
        _ => return Err(CmdError::UnknownSubcommand(sub, "MEMORY".into())),
    }
    Ok(())
}
