//! INFO: the server's state as Redis formats it.
//!
//! Owns: section selection and the text of every section. Field names and
//! their order follow Redis 7.0, because monitoring tools, redis-cli and
//! Sentinel parse them; fields for features RedisLite does not have yet
//! (persistence, replication) report the values a fresh Redis reports.
//!
//! Must never: be on a hot path (it allocates freely), or guess a number:
//! a field is either measured or the documented constant of an absent
//! feature.

use crate::commands::connection::REDIS_COMPAT_VERSION;
use crate::commands::table::ids;
use crate::connection::Client;
use crate::lazyfree;
use crate::memory;
use crate::server::Server;
use std::fmt::Write;
use std::sync::atomic::Ordering;

/// Sections printed by a bare INFO (and "default").
const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

/// Build the INFO text for the requested section names (any case).
pub fn info_text(srv: &Server, current: &Client, args: &[String]) -> String {
    let mut wanted: Vec<&str> = Vec::new();
    let mut everything = false;
    if args.is_empty() {
        wanted.extend_from_slice(DEFAULT_SECTIONS);
    }
    for a in args {
        match a.as_str() {
            "default" => wanted.extend_from_slice(DEFAULT_SECTIONS),
            "all" | "everything" => {
                everything = true;
                wanted.extend_from_slice(DEFAULT_SECTIONS);
                wanted.push("commandstats");
                wanted.push("latencystats");
                wanted.push("hotkeys");
            }
            other => wanted.push(other),
        }
    }
    let _ = everything;
    let mut out = String::new();
    let mut seen: Vec<&str> = Vec::new();
    for sec in wanted {
        if seen.contains(&sec) {
            continue;
        }
        seen.push(sec);
        let before = out.len();
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let wrote = match sec {
            "server" => server_section(srv, &mut out),
            "clients" => clients_section(srv, current, &mut out),
            "memory" => memory_section(srv, current, &mut out),
            "persistence" => persistence_section(srv, &mut out),
            "stats" => stats_section(srv, &mut out),
            "replication" => replication_section(srv, &mut out),
            "cpu" => cpu_section(&mut out),
            "modules" => {
                out.push_str("# Modules\r\n");
                true
            }
            "errorstats" => errorstats_section(srv, &mut out),
            "cluster" => {
                out.push_str("# Cluster\r\ncluster_enabled:0\r\n");
                true
            }
            "keyspace" => keyspace_section(srv, &mut out),
            "commandstats" => commandstats_section(srv, &mut out),
            "latencystats" => latencystats_section(srv, &mut out),
            "hotkeys" => hotkeys_section(srv, &mut out),
            _ => false,
        };
        if !wrote {
            out.truncate(before);
        }
    }
    out
}

macro_rules! field {
    ($out:expr, $name:expr, $val:expr) => {
        let _ = write!($out, "{}:{}\r\n", $name, $val);
    };
}

fn server_section(srv: &Server, out: &mut String) -> bool {
    out.push_str("# Server\r\n");
    let uptime = srv.uptime_seconds();
    let now_us = srv.ks.now_ms * 1000;
    field!(out, "redis_version", REDIS_COMPAT_VERSION);
    field!(out, "redislite_version", env!("CARGO_PKG_VERSION"));
    field!(out, "redis_git_sha1", "00000000");
    field!(out, "redis_git_dirty", 0);
    field!(out, "redis_build_id", "0");
    field!(out, "redis_mode", "standalone");
    field!(out, "os", os_string());
    field!(out, "arch_bits", 64);
    field!(out, "monotonic_clock", "POSIX clock_gettime");
    field!(out, "multiplexing_api", "epoll");
    field!(out, "atomicvar_api", "c11-builtin");
    field!(out, "gcc_version", "0.0.0");
    field!(out, "process_id", std::process::id());
    field!(out, "process_supervised", "no");
    field!(out, "run_id", srv.run_id);
    field!(out, "tcp_port", srv.config.port);
    field!(out, "server_time_usec", now_us);
    field!(out, "uptime_in_seconds", uptime);
    field!(out, "uptime_in_days", uptime / 86400);
    field!(out, "hz", srv.effective_hz());
    field!(out, "configured_hz", srv.config.hz);
    field!(out, "lru_clock", crate::db::info_lru_clock(srv.ks.now_ms));
    field!(out, "executable", srv.executable_path);
    field!(
        out,
        "config_file",
        srv.config
            .config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    field!(out, "io_threads_active", 0);
    true
}

fn os_string() -> String {
    // SAFETY: uname fills the struct we pass; it is zero-initialised and
    // each field is NUL-terminated by the kernel.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return "Linux".into();
        }
        let f = |s: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(s.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        format!("{} {} {}", f(&u.sysname), f(&u.release), f(&u.machine))
    }
}

fn clients_section(srv: &Server, current: &Client, out: &mut String) -> bool {
    out.push_str("# Clients\r\n");
    let mut max_in = current.query.capacity();
    let mut max_out = current.out.capacity();
    for c in srv.clients_iter() {
        max_in = max_in.max(c.query.capacity());
        max_out = max_out.max(c.out.capacity());
    }
    field!(out, "connected_clients", srv.connected_clients);
    field!(out, "cluster_connections", 0);
    field!(out, "maxclients", srv.config.maxclients);
    field!(out, "client_recent_max_input_buffer", max_in);
    field!(out, "client_recent_max_output_buffer", max_out);
    // Clients held by CLIENT PAUSE, and those in WAIT or a SHUTDOWN
    // waiting for replicas, count as blocked, as in Redis 7.0 (where all
    // of them are CLIENT_BLOCKED).
    let held = srv
        .clients_iter()
        .filter(|c| c.pause_blocked || c.wait_blocked)
        .count();
    field!(out, "blocked_clients", srv.blocking.clients + held);
    field!(out, "tracking_clients", srv.ks.tracking.clients_on);
    field!(
        out,
        "clients_in_timeout_table",
        srv.blocking.clients_with_timeout()
    );
    true
}

/// Bytes held by client buffers (counted in used_memory already).
pub fn client_buffers_bytes(srv: &Server, current: &Client) -> usize {
    srv.clients_iter().map(Client::memory_usage).sum::<usize>() + current.memory_usage()
}

fn memory_section(srv: &Server, current: &Client, out: &mut String) -> bool {
    out.push_str("# Memory\r\n");
    let used = memory::used_memory() as u64;
    let peak = memory::peak_memory() as u64;
    let rss = memory::rss_bytes() as u64;
    let startup = srv.startup_memory as u64;
    let dataset: u64 = srv
        .ks
        .dbs
        .iter()
        .map(|d| (d.dict.memory_usage() + d.expires.memory_usage()) as u64)
        .sum();
    let overhead = used.saturating_sub(dataset);
    let total = memory::total_system_memory();
    let maxmemory = srv.config.maxmemory;
    field!(out, "used_memory", used);
    field!(out, "used_memory_human", memory::bytes_human(used));
    field!(out, "used_memory_rss", rss);
    field!(out, "used_memory_rss_human", memory::bytes_human(rss));
    field!(out, "used_memory_peak", peak);
    field!(out, "used_memory_peak_human", memory::bytes_human(peak));
    field!(
        out,
        "used_memory_peak_perc",
        format!(
            "{:.2}%",
            if peak > 0 {
                used as f64 * 100.0 / peak as f64
            } else {
                100.0
            }
        )
    );
    field!(out, "used_memory_overhead", overhead);
    field!(out, "used_memory_startup", startup);
    field!(out, "used_memory_dataset", dataset);
    let net = used.saturating_sub(startup).max(1);
    field!(
        out,
        "used_memory_dataset_perc",
        format!("{:.2}%", (dataset as f64 * 100.0 / net as f64).min(100.0))
    );
    field!(out, "allocator_allocated", used);
    field!(out, "allocator_active", used);
    field!(out, "allocator_resident", rss);
    field!(out, "total_system_memory", total);
    field!(out, "total_system_memory_human", memory::bytes_human(total));
    // Redis's Lua states exist from the start (32768 bytes each, empty);
    // ours are built with the first script / library.
    let scripting = &srv.scripting;
    let vm_eval = scripting.lua_memory().max(32768);
    field!(out, "used_memory_lua", vm_eval);
    field!(out, "used_memory_vm_eval", vm_eval);
    field!(
        out,
        "used_memory_lua_human",
        memory::bytes_human(vm_eval as u64)
    );
    field!(out, "used_memory_scripts_eval", scripting.cached_bytes);
    field!(out, "number_of_cached_scripts", scripting.scripts.len());
    let functions = &scripting.functions;
    field!(out, "number_of_functions", functions.function_count());
    field!(out, "number_of_libraries", functions.library_count());
    let vm_functions = functions.lua_memory().max(32768);
    field!(out, "used_memory_vm_functions", vm_functions);
    let vm_total = (vm_eval + vm_functions) as u64;
    field!(out, "used_memory_vm_total", vm_total);
    field!(
        out,
        "used_memory_vm_total_human",
        memory::bytes_human(vm_total)
    );
    let functions_bytes = 184 + functions.overhead_bytes();
    field!(out, "used_memory_functions", functions_bytes);
    let scripts_bytes = (scripting.cached_bytes + functions_bytes) as u64;
    field!(out, "used_memory_scripts", scripts_bytes);
    field!(
        out,
        "used_memory_scripts_human",
        memory::bytes_human(scripts_bytes)
    );
    field!(out, "maxmemory", maxmemory);
    field!(out, "maxmemory_human", memory::bytes_human(maxmemory));
    field!(
        out,
        "maxmemory_policy",
        srv.config.maxmemory_policy.as_str()
    );
    let frag = if used > 0 {
        rss as f64 / used as f64
    } else {
        0.0
    };
    field!(out, "allocator_frag_ratio", "1.00");
    field!(out, "allocator_frag_bytes", 0);
    // No active/resident split with the system allocator: the whole gap
    // to RSS is the allocator's (MEMORY STATS says the same).
    field!(out, "allocator_rss_ratio", format!("{frag:.2}"));
    field!(out, "allocator_rss_bytes", rss as i64 - used as i64);
    field!(out, "rss_overhead_ratio", "1.00");
    field!(out, "rss_overhead_bytes", 0);
    field!(out, "mem_fragmentation_ratio", format!("{frag:.2}"));
    field!(out, "mem_fragmentation_bytes", rss as i64 - used as i64);
    field!(out, "mem_not_counted_for_evict", 0);
    field!(
        out,
        "mem_replication_backlog",
        srv.repl.backlog.as_ref().map_or(0, |b| b.size())
    );
    field!(out, "mem_total_replication_buffers", 0);
    field!(out, "mem_clients_slaves", 0);
    field!(
        out,
        "mem_clients_normal",
        client_buffers_bytes(srv, current)
    );
    field!(out, "mem_cluster_links", 0);
    field!(out, "mem_aof_buffer", 0);
    field!(out, "mem_allocator", "libc");
    field!(out, "active_defrag_running", 0);
    field!(
        out,
        "lazyfree_pending_objects",
        lazyfree::PENDING_OBJECTS.load(Ordering::Relaxed)
    );
    field!(
        out,
        "lazyfreed_objects",
        lazyfree::FREED_OBJECTS.load(Ordering::Relaxed)
    );
    true
}

fn persistence_section(srv: &Server, out: &mut String) -> bool {
    out.push_str("# Persistence\r\n");
    field!(out, "loading", 0);
    field!(out, "async_loading", 0);
    field!(out, "current_cow_peak", 0);
    field!(out, "current_cow_size", 0);
    field!(out, "current_cow_size_age", 0);
    field!(out, "current_fork_perc", "0.00");
    field!(out, "current_save_keys_processed", 0);
    field!(out, "current_save_keys_total", 0);
    field!(out, "rdb_changes_since_last_save", srv.ks.dirty);
    // A full-sync snapshot child is an RDB child too (as Redis reports it).
    field!(
        out,
        "rdb_bgsave_in_progress",
        (srv.rdb.child.is_some() || srv.repl.snapshot_child.is_some()) as u8
    );
    field!(out, "rdb_last_save_time", srv.lastsave_unix);
    field!(
        out,
        "rdb_last_bgsave_status",
        if srv.rdb.last_bgsave_ok { "ok" } else { "err" }
    );
    field!(
        out,
        "rdb_last_bgsave_time_sec",
        srv.rdb.last_bgsave_time_sec
    );
    field!(
        out,
        "rdb_current_bgsave_time_sec",
        srv.rdb
            .child
            .map_or(-1, |(_, t)| t.elapsed().as_secs() as i64)
    );
    field!(out, "rdb_saves", srv.rdb.saves);
    field!(out, "rdb_last_cow_size", 0);
    field!(out, "rdb_last_load_keys_expired", srv.rdb.loaded_expired);
    field!(out, "rdb_last_load_keys_loaded", srv.rdb.loaded_keys);
    field!(out, "aof_enabled", srv.aof.is_some() as u8);
    let rw = &srv.aofrw;
    field!(out, "aof_rewrite_in_progress", rw.child.is_some() as u8);
    field!(out, "aof_rewrite_scheduled", rw.scheduled as u8);
    field!(out, "aof_last_rewrite_time_sec", rw.last_time_sec);
    field!(
        out,
        "aof_current_rewrite_time_sec",
        rw.child
            .as_ref()
            .map_or(-1, |c| c.started.elapsed().as_secs() as i64)
    );
    field!(
        out,
        "aof_last_bgrewrite_status",
        if rw.last_ok { "ok" } else { "err" }
    );
    field!(out, "aof_rewrites", rw.rewrites);
    field!(
        out,
        "aof_rewrites_consecutive_failures",
        rw.consecutive_failures
    );
    field!(
        out,
        "aof_last_write_status",
        if srv.aof.as_ref().is_none_or(|a| a.writes_ok()) {
            "ok"
        } else {
            "err"
        }
    );
    field!(out, "aof_last_cow_size", 0);
    field!(out, "module_fork_in_progress", 0);
    field!(out, "module_fork_last_cow_size", 0);
    if let Some(aof) = srv.aof.as_ref() {
        field!(out, "aof_current_size", srv.aof_current_size());
        field!(out, "aof_base_size", srv.aofrw.base_size);
        field!(out, "aof_pending_rewrite", 0);
        field!(out, "aof_buffer_length", aof.pending_bytes());
        field!(out, "aof_pending_bio_fsync", aof.fsync_in_progress() as u8);
        field!(out, "aof_delayed_fsync", aof.delayed_fsync);
    }
    true
}

fn stats_section(srv: &Server, out: &mut String) -> bool {
    out.push_str("# Stats\r\n");
    let s = &srv.stats;
    let k = &srv.ks.stats;
    field!(
        out,
        "total_connections_received",
        s.total_connections_received
    );
    field!(out, "total_commands_processed", s.total_commands_processed);
    field!(out, "instantaneous_ops_per_sec", s.ops_rate.rate() as u64);
    field!(out, "total_net_input_bytes", s.net_input_bytes);
    field!(out, "total_net_output_bytes", s.net_output_bytes);
    field!(out, "total_net_repl_input_bytes", 0);
    field!(out, "total_net_repl_output_bytes", 0);
    field!(
        out,
        "instantaneous_input_kbps",
        format!("{:.2}", s.net_in_rate.rate() / 1024.0)
    );
    field!(
        out,
        "instantaneous_output_kbps",
        format!("{:.2}", s.net_out_rate.rate() / 1024.0)
    );
    field!(out, "instantaneous_input_repl_kbps", "0.00");
    field!(out, "instantaneous_output_repl_kbps", "0.00");
    field!(out, "rejected_connections", s.rejected_connections);
    field!(out, "sync_full", srv.repl.sync_full);
    field!(out, "sync_partial_ok", srv.repl.sync_partial_ok);
    field!(out, "sync_partial_err", srv.repl.sync_partial_err);
    field!(out, "expired_keys", k.expired_keys);
    field!(
        out,
        "expired_stale_perc",
        format!("{:.2}", k.expired_stale_perc * 100.0)
    );
    field!(
        out,
        "expired_time_cap_reached_count",
        k.expired_time_cap_reached_count
    );
    field!(out, "expire_cycle_cpu_milliseconds", k.expire_cycle_cpu_ms);
    field!(out, "evicted_keys", k.evicted_keys);
    field!(out, "evicted_clients", srv.stats.evicted_clients);
    field!(out, "total_eviction_exceeded_time", 0);
    field!(out, "current_eviction_exceeded_time", 0);
    field!(out, "keyspace_hits", k.hits);
    field!(out, "keyspace_misses", k.misses);
    field!(out, "pubsub_channels", srv.pubsub.channel_count());
    field!(out, "pubsub_patterns", srv.pubsub.numpat());
    field!(
        out,
        "pubsubshard_channels",
        srv.pubsub.shard_channel_count()
    );
    field!(out, "latest_fork_usec", srv.rdb.latest_fork_usec);
    field!(out, "total_forks", srv.rdb.total_forks);
    field!(out, "migrate_cached_sockets", 0);
    field!(out, "slave_expires_tracked_keys", 0);
    field!(out, "active_defrag_hits", 0);
    field!(out, "active_defrag_misses", 0);
    field!(out, "active_defrag_key_hits", 0);
    field!(out, "active_defrag_key_misses", 0);
    field!(out, "total_active_defrag_time", 0);
    field!(out, "current_active_defrag_time", 0);
    field!(out, "tracking_total_keys", srv.ks.tracking.total_keys());
    field!(out, "tracking_total_items", srv.ks.tracking.total_items());
    field!(
        out,
        "tracking_total_prefixes",
        srv.ks.tracking.total_prefixes()
    );
    field!(out, "unexpected_error_replies", s.unexpected_error_replies);
    field!(out, "total_error_replies", s.total_error_replies);
    field!(out, "dump_payload_sanitizations", 0);
    field!(out, "total_reads_processed", s.total_reads_processed);
    field!(out, "total_writes_processed", s.total_writes_processed);
    field!(out, "io_threaded_reads_processed", 0);
    field!(out, "io_threaded_writes_processed", 0);
    field!(out, "reply_buffer_shrinks", s.reply_buffer_shrinks);
    field!(out, "reply_buffer_expands", s.reply_buffer_expands);
    field!(
        out,
        "client_query_buffer_limit_disconnections",
        s.client_query_buffer_limit_disconnections
    );
    field!(
        out,
        "client_output_buffer_limit_disconnections",
        s.client_output_buffer_limit_disconnections
    );
    true
}

fn replication_section(srv: &Server, out: &mut String) -> bool {
    out.push_str("# Replication\r\n");
    let r = &srv.repl;
    if let Some((host, port)) = srv.config.replicaof.as_ref() {
        field!(out, "role", "slave");
        field!(out, "master_host", host);
        field!(out, "master_port", port);
        let link = r.link.as_ref();
        let up = link.is_some_and(|l| l.is_connected());
        field!(out, "master_link_status", if up { "up" } else { "down" });
        // As Redis: only meaningful while the link is up.
        let io_ago = link
            .filter(|l| l.is_connected())
            .map(|l| (srv.ks.now_ms - l.last_io_ms).max(0) / 1000)
            .unwrap_or(-1);
        field!(out, "master_last_io_seconds_ago", io_ago);
        let syncing = link.is_some_and(|l| l.in_transfer());
        field!(out, "master_sync_in_progress", syncing as u8);
        field!(out, "slave_read_repl_offset", r.offset);
        field!(out, "slave_repl_offset", r.offset);
        if !up {
            // Sentinel reads this to judge how stale a replica is.
            let since = match r.link_down_since_ms {
                0 => -1,
                t => (srv.ks.now_ms - t).max(0) / 1000,
            };
            field!(out, "master_link_down_since_seconds", since);
        }
        field!(out, "slave_priority", srv.config.replica_priority);
        field!(out, "slave_read_only", srv.config.replica_read_only as u8);
        field!(out, "replica_announced", srv.config.replica_announced as u8);
    } else {
        field!(out, "role", "master");
    }
    let mut lines = String::new();
    let n = srv.info_replicas(&mut lines);
    field!(out, "connected_slaves", n);
    if srv.config.min_replicas_to_write > 0 && srv.config.min_replicas_max_lag > 0 {
        field!(out, "min_slaves_good_slaves", srv.good_replicas());
    }
    out.push_str(&lines);
    field!(
        out,
        "master_failover_state",
        srv.repl.failover.state.info_name()
    );
    field!(out, "master_replid", r.replid);
    field!(out, "master_replid2", r.replid2);
    field!(out, "master_repl_offset", r.offset);
    field!(out, "second_repl_offset", r.second_offset);
    let (active, first, hist) = match r.backlog.as_ref() {
        Some(b) => (1, b.first_offset(), b.histlen()),
        None => (0, 0, 0),
    };
    field!(out, "repl_backlog_active", active);
    field!(out, "repl_backlog_size", srv.config.repl_backlog_size);
    field!(out, "repl_backlog_first_byte_offset", first);
    field!(out, "repl_backlog_histlen", hist);
    true
}

/// (user seconds, system seconds) of a getrusage target.
fn rusage(who: libc::c_int) -> (f64, f64) {
    // SAFETY: getrusage fills the zeroed struct we pass.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(who, &mut ru) != 0 {
            return (0.0, 0.0);
        }
        let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
        (t(ru.ru_utime), t(ru.ru_stime))
    }
}

fn cpu_section(out: &mut String) -> bool {
    out.push_str("# CPU\r\n");
    let (u, s) = rusage(libc::RUSAGE_SELF);
    let (cu, cs) = rusage(libc::RUSAGE_CHILDREN);
    let (tu, ts) = rusage(libc::RUSAGE_THREAD);
    field!(out, "used_cpu_sys", format!("{s:.6}"));
    field!(out, "used_cpu_user", format!("{u:.6}"));
    field!(out, "used_cpu_sys_children", format!("{cs:.6}"));
    field!(out, "used_cpu_user_children", format!("{cu:.6}"));
    field!(out, "used_cpu_sys_main_thread", format!("{ts:.6}"));
    field!(out, "used_cpu_user_main_thread", format!("{tu:.6}"));
    true
}

fn errorstats_section(srv: &Server, out: &mut String) -> bool {
    out.push_str("# Errorstats\r\n");
    for (code, n) in &srv.stats.errors {
        let _ = write!(out, "errorstat_{code}:count={n}\r\n");
    }
    true
}

fn keyspace_section(srv: &Server, out: &mut String) -> bool {
    out.push_str("# Keyspace\r\n");
    for (i, d) in srv.ks.dbs.iter().enumerate() {
        let keys = d.dict.len();
        if keys == 0 {
            continue;
        }
        let _ = write!(
            out,
            "db{i}:keys={keys},expires={},avg_ttl={}\r\n",
            d.expires.len(),
            d.avg_ttl_ms
        );
    }
    true
}

/// Per-command latency percentiles, per subcommand as Redis 7.0
/// (`latency_percentiles_usec_config|get`).
fn latencystats_section(srv: &Server, out: &mut String) -> bool {
    out.push_str("# Latencystats\r\n");
    let percentiles = &srv.config.latency_tracking_info_percentiles;
    let ids = ids();
    for id in ids.in_order() {
        if let Some(p) = srv.command_latencies.percentiles(id, percentiles) {
            let _ = write!(
                out,
                "latency_percentiles_usec_{}:{}\r\n",
                ids.full_name(id),
                p
            );
        }
    }
    true
}

/// RedisLite's own section (not in Redis): the access-count threshold of
/// the hottest 1%, how many tracked keys exceed it, and the top 10.
fn hotkeys_section(srv: &Server, out: &mut String) -> bool {
    out.push_str("# Hotkeys\r\n");
    let hk = &srv.ks.hotkeys;
    let threshold = hk.p99_threshold();
    let top = hk.top();
    field!(out, "hotkeys_tracked", top.len());
    field!(out, "hotkeys_p99_threshold", threshold);
    field!(
        out,
        "hotkeys_above_p99",
        top.iter().filter(|e| e.count > threshold).count()
    );
    field!(out, "hotkeys_memory_bytes", hk.memory_bytes());
    for (i, e) in top.iter().take(10).enumerate() {
        let _ = write!(
            out,
            "hotkey_{}:db={},count={},key={}\r\n",
            i,
            e.db,
            e.count,
            String::from_utf8_lossy(&e.key)
                .chars()
                .map(|c| if c.is_control() { '?' } else { c })
                .collect::<String>()
        );
    }
    true
}

fn commandstats_section(srv: &Server, out: &mut String) -> bool {
    out.push_str("# Commandstats\r\n");
    let ids = ids();
    for id in ids.in_order() {
        let Some(st) = srv.stats.commands.get(id) else {
            continue;
        };
        if st.calls == 0 && st.rejected_calls == 0 && st.failed_calls == 0 {
            continue;
        }
        let per_call = if st.calls > 0 {
            st.usec as f64 / st.calls as f64
        } else {
            0.0
        };
        let _ = write!(
            out,
            "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n",
            ids.full_name(id),
            st.calls,
            st.usec,
            per_call,
            st.rejected_calls,
            st.failed_calls
        );
    }
    true
}
