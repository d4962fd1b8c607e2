//! Persistence: the propagated stream of effects, the append-only log,
//! snapshots, and what happens at startup and shutdown.
//!
//! Owns: where the files are (`dir`, `appenddirname`, `appendfilename`,
//! `dbfilename`), loading at startup (the AOF when `appendonly yes`, else
//! the RDB snapshot), switching the AOF on and off at runtime, and the
//! final flush at shutdown.
//!
//! Must never: start serving after finding damage it cannot explain: a
//! torn tail is repaired (with a warning naming offset and bytes dropped),
//! damage in the middle of the log stops startup with the file and offset.
//!
//! Files: `propagate.rs` (effects stream), `aof.rs` (framed log),
//! `rdb.rs` (snapshots).

pub mod aof;
pub mod propagate;
pub mod rdb;

use crate::commands::{self, Argv};
use crate::config::FsyncPolicy;
use crate::connection::Client;
use crate::server::Server;
use crate::types::Value;
use aof::{Aof, Flush};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Snapshot bookkeeping (INFO persistence rdb_* fields, save rules).
pub struct RdbState {
    pub last_bgsave_ok: bool,
    pub saves: u64,
    pub last_save_secs: i64,
    /// A running BGSAVE child: its pid and start instant.
    pub child: Option<(i32, std::time::Instant)>,
    pub last_bgsave_time_sec: i64,
    pub bgsave_scheduled: bool,
    pub loaded_keys: u64,
    pub loaded_expired: u64,
    /// `dirty` when the running BGSAVE forked (subtracted on success).
    pub dirty_at_fork: u64,
    pub last_bgsave_try_unix: i64,
    /// SHUTDOWN SAVE / NOSAVE given with the shutdown request.
    pub shutdown_save: Option<bool>,
}

impl Default for RdbState {
    fn default() -> RdbState {
        RdbState {
            last_bgsave_ok: true,
            saves: 0,
            last_save_secs: -1,
            child: None,
            last_bgsave_time_sec: -1,
            bgsave_scheduled: false,
            loaded_keys: 0,
            loaded_expired: 0,
            dirty_at_fork: 0,
            last_bgsave_try_unix: 0,
            shutdown_save: None,
        }
    }
}

/// The log file: `<dir>/<appenddirname>/<appendfilename>.1.incr.aof`,
/// Redis 7.0's naming for the first incremental file (the manifest that
/// lists base and incremental files comes with AOF rewrite).
pub fn aof_path(config: &crate::config::Config) -> PathBuf {
    Path::new(&config.dir)
        .join(&config.appenddirname)
        .join(format!("{}.1.incr.aof", config.appendfilename))
}

pub fn rdb_path(config: &crate::config::Config) -> PathBuf {
    Path::new(&config.dir).join(&config.dbfilename)
}

/// Load the dataset at startup: the AOF when `appendonly yes` (it is the
/// more complete of the two), else the RDB file if there is one. Then open
/// the log for appending.
pub fn load_at_startup(srv: &mut Server) -> Result<(), String> {
    if srv.config.appendonly {
        let path = aof_path(&srv.config);
        load_aof(srv, &path)?;
        start_aof_on(srv, &path)?;
    } else {
        let path = rdb_path(&srv.config);
        if path.exists() {
            let start = std::time::Instant::now();
            let (keys, expired) = rdb::load_file(srv, &path).map_err(|e| {
                format!(
                    "Fatal error loading the DB {}: {e}. Exiting.",
                    path.display()
                )
            })?;
            srv.rdb.loaded_keys = keys;
            srv.rdb.loaded_expired = expired;
            log::info!(
                "DB loaded from disk: {:.3} seconds ({keys} keys, {expired} expired dropped)",
                start.elapsed().as_secs_f64()
            );
        }
    }
    srv.ks.dirty = 0;
    Ok(())
}

/// Replay the log at `path`, repairing a torn tail.
fn load_aof(srv: &mut Server, path: &Path) -> Result<(), String> {
    let name = path.display();
    let data =
        aof::read_file(path).map_err(|e| format!("Can't open the append-only file {name}: {e}"))?;
    if data.is_empty() {
        return Ok(());
    }
    let start = std::time::Instant::now();
    let scan = aof::scan(&data);
    if let Some((off, err)) = scan.damage {
        if scan.damage_is_mid_file {
            return Err(format!(
                "Bad file format reading the append only file {name}: {err} at offset {off}, and valid records follow it (corruption in the middle, not a torn tail). Make a backup, then run 'redislite-server --check-aof {name} --fix' to truncate it at offset {off}; the records after it are lost."
            ));
        }
        if !srv.config.aof_load_truncated {
            return Err(format!(
                "Unexpected end of file reading the append only file {name}: {err} at offset {off}. Set aof-load-truncated yes, or run 'redislite-server --check-aof {name} --fix'."
            ));
        }
    }
    let keep = replay(srv, &data, &scan.commands)
        .map_err(|e| format!("{e} reading the append only file {name}"))?;
    if keep < data.len() {
        let dropped = data.len() - keep;
        match scan.damage {
            Some((off, err)) if off == keep => log::warn!(
                "!!! Warning: damaged tail in the AOF {name}: {err} at offset {off}; truncating the AOF at offset {off}, {dropped} bytes dropped ({} complete records kept) !!!",
                scan.commands.len()
            ),
            _ => log::warn!(
                "!!! Warning: the AOF {name} ends inside a MULTI/EXEC transaction; reverting it: truncating at offset {keep}, {dropped} bytes dropped !!!"
            ),
        }
        aof::truncate_file(path, keep as u64)
            .map_err(|e| format!("Error truncating the AOF {name}: {e}"))?;
    }
    log::info!(
        "DB loaded from append only file {name}: {:.3} seconds",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Run the logged commands through the dispatcher with a fake client.
/// Returns the offset up to which the log is kept: the end of the valid
/// records, or the start of a final MULTI that never got its EXEC.
fn replay(
    srv: &mut Server,
    data: &[u8],
    commands: &[std::ops::Range<usize>],
) -> Result<usize, String> {
    let enabled = std::mem::replace(&mut srv.prop.enabled, false);
    let mut fake = Client::new_fake(u64::MAX);
    let mut multi_start = None;
    let mut end = 0;
    for r in commands {
        let rec = &data[r.clone()];
        let ranges = aof::parse_command(rec).ok_or("Bad command")?;
        let argv = Argv::new(rec, &ranges);
        if commands::lookup(&argv[0]).is_none() {
            return Err(format!(
                "Unknown command '{}' at offset {}",
                String::from_utf8_lossy(&argv[0]),
                r.start - 4
            ));
        }
        if argv.is(0, "multi") {
            multi_start = Some(r.start - 4);
        } else if argv.is(0, "exec") {
            multi_start = None;
        }
        commands::call(srv, &mut fake, &argv);
        fake.out.clear();
        end = r.end + 4;
    }
    srv.prop.enabled = enabled;
    match (multi_start, fake.multi.take()) {
        (Some(at), Some(_)) => Ok(at),
        _ => Ok(end),
    }
}

/// Open the log at `path` for appending and start propagating to it.
fn start_aof_on(srv: &mut Server, path: &Path) -> Result<(), String> {
    let aof = Aof::open(path, srv.config.appendfsync)
        .map_err(|e| format!("Can't open the append-only file {}: {e}", path.display()))?;
    srv.aof = Some(aof);
    srv.prop.enabled = true;
    srv.prop.stream_db = None;
    Ok(())
}

/// Push AOF-related configuration to the running server (CONFIG SET).
pub fn apply_config(srv: &mut Server) -> Result<(), String> {
    match (srv.config.appendonly, srv.aof.is_some()) {
        (true, false) => {
            if let Err(e) = enable_aof_at_runtime(srv) {
                srv.config.appendonly = false;
                return Err(e);
            }
        }
        (false, true) => stop_aof(srv),
        _ => {}
    }
    let policy = srv.config.appendfsync;
    if let Some(aof) = srv.aof.as_mut() {
        if aof.policy != policy {
            aof.set_policy(policy)
                .map_err(|e| format!("ERR starting the AOF fsync thread: {e}"))?;
        }
    }
    Ok(())
}

/// CONFIG SET appendonly yes: write the current dataset as a new log, then
/// append to it. Done synchronously: the loop stalls for the time it takes
/// to write the dataset (Redis forks a rewrite child here; a background
/// rewrite is the next step, see the README).
fn enable_aof_at_runtime(srv: &mut Server) -> Result<(), String> {
    let path = aof_path(&srv.config);
    write_dataset_log(srv, &path).map_err(|e| format!("ERR writing the append only file: {e}"))?;
    start_aof_on(srv, &path).map_err(|e| format!("ERR {e}"))?;
    log::info!("AOF enabled: {}", path.display());
    Ok(())
}

fn stop_aof(srv: &mut Server) {
    if let Some(mut aof) = srv.aof.take() {
        if let Err(e) = aof.flush_and_sync() {
            log::warn!("Flushing the AOF while turning it off: {e}");
        }
    }
    // Replicas still consume the stream.
    srv.prop.enabled = srv.repl.backlog.is_some();
    log::info!("AOF disabled");
}

/// Write every live key as commands into a new log at `path`: temp file,
/// fsync, rename, fsync the directory, so a crash leaves either the old
/// file or the complete new one.
fn write_dataset_log(srv: &Server, path: &Path) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("temp-rewriteaof-{}.aof", std::process::id()));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    let mut resp = Vec::new();
    let mut rec = Vec::new();
    let mut put = |args: &[&[u8]], out: &mut std::io::BufWriter<std::fs::File>| {
        resp.clear();
        rec.clear();
        propagate::encode_command(&mut resp, args.iter().copied());
        aof::frame(&mut rec, &resp);
        out.write_all(&rec)
    };
    let now = srv.ks.now_ms;
    for (db, d) in srv.ks.dbs.iter().enumerate() {
        if d.dict.is_empty() {
            continue;
        }
        put(&[b"SELECT", db.to_string().as_bytes()], &mut out)?;
        for (key, obj) in d.dict.iter() {
            let expire = d.expires.get(key.as_bytes()).copied();
            if expire.is_some_and(|w| w <= now) {
                continue;
            }
            let k = key.as_bytes();
            match &obj.value {
                Value::Str(s) => {
                    let v = s.to_vec();
                    put(&[b"SET", k, &v], &mut out)?;
                }
                Value::Hash(h) => {
                    // 64 pairs per command, as Redis's rewrite does.
                    let pairs: Vec<(&[u8], &[u8])> = h.iter().collect();
                    for chunk in pairs.chunks(64) {
                        let mut args: Vec<&[u8]> = vec![b"HSET", k];
                        for (f, v) in chunk {
                            args.push(f);
                            args.push(v);
                        }
                        put(&args, &mut out)?;
                    }
                }
                Value::List(list) => {
                    // 64 elements per command, as Redis's rewrite does.
                    let items: Vec<&[u8]> = list.iter().collect();
                    for chunk in items.chunks(64) {
                        let mut args: Vec<&[u8]> = vec![b"RPUSH", k];
                        args.extend_from_slice(chunk);
                        put(&args, &mut out)?;
                    }
                }
                Value::Set(set) => {
                    let members: Vec<_> = set.iter().map(|m| m.to_compact()).collect();
                    for chunk in members.chunks(64) {
                        let mut args: Vec<&[u8]> = vec![b"SADD", k];
                        args.extend(chunk.iter().map(|m| m.as_bytes()));
                        put(&args, &mut out)?;
                    }
                }
                Value::ZSet(z) => {
                    // 64 pairs per ZADD; scores as %.17g, which round-trips
                    // (except that replay adds the first members to a
                    // listpack, which stores -0 as 0: so does Redis's).
                    let pairs: Vec<(&[u8], f64)> = z.iter().collect();
                    let mut num = [0u8; crate::resp::reply::DOUBLE_BUF];
                    for chunk in pairs.chunks(64) {
                        let scores: Vec<Vec<u8>> = chunk
                            .iter()
                            .map(|(_, s)| crate::resp::reply::fmt_double(*s, &mut num).to_vec())
                            .collect();
                        let mut args: Vec<&[u8]> = vec![b"ZADD", k];
                        for ((m, _), s) in chunk.iter().zip(&scores) {
                            args.push(s);
                            args.push(m);
                        }
                        put(&args, &mut out)?;
                    }
                }
            }
            if let Some(w) = expire {
                put(&[b"PEXPIREAT", k, w.to_string().as_bytes()], &mut out)?;
            }
        }
    }
    let f = out.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

impl Server {
    /// Write buffered AOF records (fsync per policy) before any reply goes
    /// out. Returns false if records remain unwritten (postponed or failed).
    pub fn flush_aof(&mut self) -> bool {
        let Some(aof) = self.aof.as_mut() else {
            return true;
        };
        if !aof.has_pending() {
            return true;
        }
        // Timed for the latency monitor: "aof-fsync-always" when the write
        // includes the fsync, "aof-write" otherwise (as Redis names them).
        let always = aof.policy == FsyncPolicy::Always;
        let start = std::time::Instant::now();
        let done = aof.flush(false) == Flush::Done;
        let ms = start.elapsed().as_millis() as u64;
        let event = if always {
            "aof-fsync-always"
        } else {
            "aof-write"
        };
        self.latency_sample(event, ms);
        done
    }

    /// True when replies waiting on the AOF may go out.
    pub fn aof_durable(&self) -> bool {
        self.aof
            .as_ref()
            .is_none_or(|a| !a.has_pending() || a.policy != FsyncPolicy::Always)
    }

    /// At shutdown: write and fsync the log, take the final snapshot if
    /// asked, remove the pidfile.
    pub fn persist_at_shutdown(&mut self, save: bool) -> Result<(), String> {
        if let Some(aof) = self.aof.as_mut() {
            aof.flush_and_sync()
                .map_err(|e| format!("Error flushing the AOF at shutdown: {e}"))?;
            log::info!("AOF written and synced.");
        }
        if save {
            log::info!("Saving the final RDB snapshot before exiting.");
            rdb::save(self).map_err(|e| format!("Error trying to save the DB: {e}"))?;
            log::info!("DB saved on disk");
        }
        Ok(())
    }

    pub fn write_pidfile(&mut self) {
        if self.config.pidfile.is_empty() {
            return;
        }
        let path = PathBuf::from(&self.config.pidfile);
        match std::fs::write(&path, format!("{}\n", std::process::id())) {
            Ok(()) => self.pidfile_written = Some(path),
            Err(e) => log::warn!("Failed to write PID file {}: {e}", path.display()),
        }
    }

    pub fn remove_pidfile(&mut self) {
        if let Some(p) = self.pidfile_written.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}
