//! The Prometheus text exposition (format 0.0.4) of the server's state,
//! served on `metrics-port` by server/http.rs.
//!
//! Owns: metric names, help texts, types and label escaping. Names follow
//! Prometheus conventions: `redislite_` prefix, `_total` for counters,
//! base units (`_seconds`, `_bytes`).
//!
//! Must never: change server state, or take time proportional to the
//! data set: the text is O(commands + databases + top keys).

use crate::commands::table::ids;
use crate::server::Server;
use std::fmt::Write;

/// Upper bounds (seconds) of the command duration histogram buckets.
const DURATION_BUCKETS_SECONDS: &[f64] = &[
    0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0,
];

/// Escape a label value: backslash, double quote and newline.
fn label(v: &[u8]) -> String {
    let mut out = String::with_capacity(v.len());
    for ch in String::from_utf8_lossy(v).chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
}

/// One gauge with a sample per replica, labelled by its address.
fn per_replica(
    out: &mut String,
    replicas: &[crate::replication::master::ReplicaView],
    name: &str,
    help: &str,
    value: impl Fn(&crate::replication::master::ReplicaView) -> i64,
) {
    header(out, name, "gauge", help);
    for r in replicas {
        let _ = writeln!(
            out,
            "{name}{{ip=\"{}\",port=\"{}\"}} {}",
            label(r.ip.as_bytes()),
            r.port,
            value(r)
        );
    }
}

fn single(out: &mut String, name: &str, kind: &str, help: &str, value: f64) {
    header(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// RDB snapshots and the AOF: status, sizes, last-success timestamps.
fn persistence(srv: &Server, out: &mut String) {
    let rdb = &srv.rdb;
    single(
        out,
        "redislite_rdb_last_save_timestamp_seconds",
        "gauge",
        "Unix time of the last successful save (INFO rdb_last_save_time).",
        srv.lastsave_unix as f64,
    );
    single(
        out,
        "redislite_rdb_changes_since_last_save",
        "gauge",
        "Writes since the last successful save.",
        srv.ks.dirty as f64,
    );
    single(
        out,
        "redislite_rdb_bgsave_in_progress",
        "gauge",
        "1 while a background save runs.",
        flag(rdb.child.is_some()),
    );
    single(
        out,
        "redislite_rdb_last_bgsave_ok",
        "gauge",
        "1 if the last background save succeeded (INFO rdb_last_bgsave_status).",
        flag(rdb.last_bgsave_ok),
    );
    single(
        out,
        "redislite_rdb_last_bgsave_duration_seconds",
        "gauge",
        "Duration of the last background save (-1: none yet).",
        rdb.last_bgsave_time_sec as f64,
    );
    single(
        out,
        "redislite_rdb_saves_total",
        "counter",
        "Snapshots written since start.",
        rdb.saves as f64,
    );
    single(
        out,
        "redislite_latest_fork_seconds",
        "gauge",
        "How long the last fork() stalled the event loop.",
        rdb.latest_fork_usec as f64 / 1e6,
    );
    single(
        out,
        "redislite_forks_total",
        "counter",
        "fork() calls (background saves).",
        rdb.total_forks as f64,
    );
    let aof = srv.aof.as_ref();
    single(
        out,
        "redislite_aof_enabled",
        "gauge",
        "1 when the append-only file is on.",
        flag(aof.is_some()),
    );
    single(
        out,
        "redislite_aof_last_write_ok",
        "gauge",
        "1 if the last AOF write succeeded (INFO aof_last_write_status; 1 when off).",
        flag(aof.is_none_or(|a| a.writes_ok())),
    );
    let rw = &srv.aofrw;
    single(
        out,
        "redislite_aof_rewrite_in_progress",
        "gauge",
        "1 while BGREWRITEAOF's child runs.",
        flag(rw.child.is_some()),
    );
    single(
        out,
        "redislite_aof_last_bgrewrite_ok",
        "gauge",
        "1 if the last AOF rewrite succeeded (INFO aof_last_bgrewrite_status).",
        flag(rw.last_ok),
    );
    single(
        out,
        "redislite_aof_rewrites_total",
        "counter",
        "AOF rewrites completed since start.",
        rw.rewrites as f64,
    );
    if let Some(a) = aof {
        single(
            out,
            "redislite_aof_current_size_bytes",
            "gauge",
            "Bytes in the append-only files (INFO aof_current_size).",
            srv.aof_current_size() as f64,
        );
        single(
            out,
            "redislite_aof_last_write_timestamp_seconds",
            "gauge",
            "Unix time of the last successful AOF write (0: none since it opened).",
            a.last_write_ok_unix_ms as f64 / 1000.0,
        );
    }
}

/// Role, offsets and, on a master, each replica's acknowledged offset
/// and lag.
fn replication(srv: &Server, out: &mut String) {
    let replica_of = srv.config.replicaof.is_some();
    header(
        out,
        "redislite_replication_role_info",
        "gauge",
        "The server's replication role (label role: master or slave).",
    );
    let _ = writeln!(
        out,
        "redislite_replication_role_info{{role=\"{}\"}} 1",
        if replica_of { "slave" } else { "master" }
    );
    single(
        out,
        "redislite_master_repl_offset_bytes",
        "gauge",
        "Replication stream offset (INFO master_repl_offset).",
        srv.repl.offset as f64,
    );
    if replica_of {
        single(
            out,
            "redislite_master_link_up",
            "gauge",
            "1 while the link to the master is up (replicas only).",
            flag(srv.repl.link.as_ref().is_some_and(|l| l.is_connected())),
        );
    }
    let replicas = srv.replica_views(crate::db::unix_ms());
    single(
        out,
        "redislite_connected_replicas",
        "gauge",
        "Replicas online (INFO connected_slaves).",
        replicas.len() as f64,
    );
    per_replica(
        out,
        &replicas,
        "redislite_replica_offset_bytes",
        "Offset each replica last acknowledged.",
        |r| r.offset as i64,
    );
    per_replica(
        out,
        &replicas,
        "redislite_replica_lag_seconds",
        "Seconds since each replica's last acknowledgement.",
        |r| r.lag_secs,
    );
}

/// The whole /metrics body.
pub fn render(srv: &Server) -> String {
    let mut out = String::new();
    let s = &srv.stats;
    let k = &srv.ks.stats;
    single(
        &mut out,
        "redislite_uptime_seconds",
        "gauge",
        "Seconds since the server started.",
        srv.start_instant.elapsed().as_secs_f64(),
    );
    single(
        &mut out,
        "redislite_connected_clients",
        "gauge",
        "Client connections open now.",
        srv.connected_clients as f64,
    );
    single(
        &mut out,
        "redislite_memory_used_bytes",
        "gauge",
        "Bytes allocated by the server (INFO used_memory).",
        crate::memory::used_memory() as f64,
    );
    single(
        &mut out,
        "redislite_connections_received_total",
        "counter",
        "Connections accepted.",
        s.total_connections_received as f64,
    );
    single(
        &mut out,
        "redislite_rejected_connections_total",
        "counter",
        "Connections refused (maxclients).",
        s.rejected_connections as f64,
    );
    single(
        &mut out,
        "redislite_commands_processed_total",
        "counter",
        "Commands run.",
        s.total_commands_processed as f64,
    );
    single(
        &mut out,
        "redislite_net_input_bytes_total",
        "counter",
        "Bytes read from clients.",
        s.net_input_bytes as f64,
    );
    single(
        &mut out,
        "redislite_net_output_bytes_total",
        "counter",
        "Bytes written to clients.",
        s.net_output_bytes as f64,
    );
    single(
        &mut out,
        "redislite_expired_keys_total",
        "counter",
        "Keys removed because their TTL passed.",
        k.expired_keys as f64,
    );
    single(
        &mut out,
        "redislite_evicted_keys_total",
        "counter",
        "Keys evicted under maxmemory.",
        k.evicted_keys as f64,
    );
    single(
        &mut out,
        "redislite_keyspace_hits_total",
        "counter",
        "Key lookups that found the key.",
        k.hits as f64,
    );
    single(
        &mut out,
        "redislite_keyspace_misses_total",
        "counter",
        "Key lookups that did not find the key.",
        k.misses as f64,
    );
    single(
        &mut out,
        "redislite_slowlog_length",
        "gauge",
        "Entries in the slow log.",
        srv.slowlog.len() as f64,
    );
    single(
        &mut out,
        "redislite_blocked_clients",
        "gauge",
        "Clients waiting in a blocking command.",
        srv.blocking.clients as f64,
    );
    persistence(srv, &mut out);
    replication(srv, &mut out);

    header(&mut out, "redislite_db_keys", "gauge", "Keys per database.");
    for (i, db) in srv.ks.dbs.iter().enumerate() {
        let _ = writeln!(out, "redislite_db_keys{{db=\"{i}\"}} {}", db.dict.len());
    }
    header(
        &mut out,
        "redislite_db_keys_expiring",
        "gauge",
        "Keys with a TTL per database.",
    );
    for (i, db) in srv.ks.dbs.iter().enumerate() {
        let _ = writeln!(
            out,
            "redislite_db_keys_expiring{{db=\"{i}\"}} {}",
            db.expires.len()
        );
    }

    header(
        &mut out,
        "redislite_commands_total",
        "counter",
        "Calls per command.",
    );
    let ids = ids();
    for id in ids.in_order() {
        let Some(st) = s.commands.get(id) else {
            continue;
        };
        if st.calls > 0 {
            let _ = writeln!(
                out,
                "redislite_commands_total{{cmd=\"{}\"}} {}",
                ids.full_name(id),
                st.calls
            );
        }
    }
    header(
        &mut out,
        "redislite_command_errors_total",
        "counter",
        "Calls per command that replied with an error or were rejected.",
    );
    for id in ids.in_order() {
        let Some(st) = s.commands.get(id) else {
            continue;
        };
        if st.failed_calls + st.rejected_calls > 0 {
            let _ = writeln!(
                out,
                "redislite_command_errors_total{{cmd=\"{}\"}} {}",
                ids.full_name(id),
                st.failed_calls + st.rejected_calls
            );
        }
    }
    header(
        &mut out,
        "redislite_command_duration_seconds",
        "histogram",
        "Command execution time (recorded while latency-tracking is on).",
    );
    for idx in ids.in_order() {
        let Some(h) = srv.command_latencies.histogram(idx) else {
            continue;
        };
        let name = ids.full_name(idx);
        for &le in DURATION_BUCKETS_SECONDS {
            let ns = (le * 1e9) as u64;
            let n = h.count_between(0, ns);
            let _ = writeln!(
                out,
                "redislite_command_duration_seconds_bucket{{cmd=\"{}\",le=\"{le}\"}} {n}",
                name
            );
        }
        let _ = writeln!(
            out,
            "redislite_command_duration_seconds_bucket{{cmd=\"{}\",le=\"+Inf\"}} {}",
            name,
            h.len()
        );
        let _ = writeln!(
            out,
            "redislite_command_duration_seconds_sum{{cmd=\"{}\"}} {}",
            name,
            srv.command_latencies.sum_seconds(idx)
        );
        let _ = writeln!(
            out,
            "redislite_command_duration_seconds_count{{cmd=\"{}\"}} {}",
            name,
            h.len()
        );
    }

    let hk = &srv.ks.hotkeys;
    single(
        &mut out,
        "redislite_hotkeys_p99_threshold",
        "gauge",
        "Access count reached by the hottest 1% of keys (estimate).",
        hk.p99_threshold() as f64,
    );
    header(
        &mut out,
        "redislite_hotkey_accesses",
        "gauge",
        "Estimated recent accesses of the 10 hottest keys.",
    );
    for e in hk.top().into_iter().take(10) {
        let _ = writeln!(
            out,
            "redislite_hotkey_accesses{{db=\"{}\",key=\"{}\"}} {}",
            e.db,
            label(&e.key),
            e.count
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label(b"a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
