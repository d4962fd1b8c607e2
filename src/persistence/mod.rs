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
//! `manifest.rs` (which files make up the log), `rewrite.rs`
//! (BGREWRITEAOF), `fault.rs` (test-only crash points), `rdb.rs`
//! (snapshots), `dump.rs` (DUMP/RESTORE payload framing).

pub mod aof;
pub mod dump;
pub mod fault;
pub mod listpack;
pub mod lzf_compress;
pub mod manifest;
pub mod propagate;
pub mod rdb;
pub mod rdb_stream;
pub mod rewrite;

use crate::commands::{self, Argv};
use crate::config::FsyncPolicy;
use crate::connection::Client;
use crate::server::Server;
use aof::{Aof, Flush};
use manifest::Manifest;
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
    /// How long the last fork() stalled the loop, and how many forks
    /// there were (INFO latest_fork_usec / total_forks).
    pub latest_fork_usec: u64,
    pub total_forks: u64,
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
            latest_fork_usec: 0,
            total_forks: 0,
        }
    }
}

/// Stop a forked child of ours (BGSAVE, AOF rewrite) and reap it. SIGUSR1,
/// as Redis: the signal a parent uses to stop its child on purpose.
pub(crate) fn kill_and_reap(pid: i32) {
    // SAFETY: signalling and reaping our own child by pid; no memory of
    // ours is read or written.
    unsafe {
        libc::kill(pid, libc::SIGUSR1);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

pub fn rdb_path(config: &crate::config::Config) -> PathBuf {
    Path::new(&config.dir).join(&config.dbfilename)
}

/// Load the dataset at startup: the AOF when `appendonly yes` (it is the
/// more complete of the two), else the RDB file if there is one. Then open
/// the log for appending.
pub fn load_at_startup(srv: &mut Server) -> Result<(), String> {
    if srv.config.appendonly {
        // What the replayed commands changed stays counted (INFO
        // rdb_changes_since_last_save), as in Redis: those changes are in
        // no snapshot yet.
        srv.ks.dirty = 0;
        return load_aof_dir(srv);
    }
    let path = rdb_path(&srv.config);
    if path.exists() {
        let start = std::time::Instant::now();
        let (keys, expired) = rdb::load_file(srv, &path).map_err(|e| {
            format!(
                "Fatal error loading the DB {}: {e}. Exiting.",
                path.display()
            )
        })?;
        srv.restore_replication_position();
        log::info!(
            "DB loaded from disk: {:.3} seconds ({keys} keys, {expired} expired dropped)",
            start.elapsed().as_secs_f64()
        );
    }
    srv.ks.dirty = 0;
    Ok(())
}

/// DEBUG LOADAOF: write and fsync the log, empty the dataset, and load
/// the append-only directory again as at startup (which reopens the log
/// where it ends). Nothing is propagated: replicas keep what they have,
/// as with Redis. Errors before the dataset is emptied leave everything
/// as it was; a load that fails after it is fatal to the caller (Redis
/// exits then too: the log on disk is intact, a restart recovers it).
pub fn reload_aof(srv: &mut Server) -> Result<(), ReloadError> {
    let Some(aof) = srv.aof.as_mut() else {
        return Err(ReloadError::NotEnabled);
    };
    aof.flush_and_sync()
        .map_err(|e| ReloadError::Flush(e.to_string()))?;
    rewrite::kill_child(srv);
    // Closing the log stops its fsync thread; loading opens it again.
    srv.aof = None;
    for db in 0..srv.ks.dbs.len() {
        crate::lazyfree::free_db(srv.ks.flush_db(db));
    }
    srv.ks.tracking.flush();
    // The base holds the function libraries and the log their FUNCTION
    // LOADs: they come back with the data.
    srv.scripting.functions.flush();
    load_aof_dir(srv).map_err(ReloadError::Load)?;
    srv.ks.dirty = 0;
    Ok(())
}

/// Why DEBUG LOADAOF did not reload.
#[derive(Debug)]
pub enum ReloadError {
    /// `appendonly no`: there is no log of ours to load.
    NotEnabled,
    /// Writing the log before the reload failed (nothing was touched).
    Flush(String),
    /// The dataset was emptied and the log could not be loaded.
    Load(String),
}

/// Load the append-only directory: find (or adopt) the manifest, load the
/// base, replay the incremental files in order, then append to the last
/// one (creating it if the manifest names none). Files the manifest does
/// not name are leftovers of an interrupted rewrite and are removed.
fn load_aof_dir(srv: &mut Server) -> Result<(), String> {
    let dir = rewrite::aof_dir(&srv.config);
    let name = srv.config.appendfilename.clone();
    std::fs::create_dir_all(&dir).map_err(|e| {
        format!(
            "Can't create the append-only directory {}: {e}",
            dir.display()
        )
    })?;
    let (mut m, mut changed) = find_or_adopt_manifest(srv, &dir)?;
    if let Some(b) = m.base.clone() {
        load_base(srv, &dir.join(&b.name), m.incrs.is_empty())?;
    }
    let n = m.incrs.len();
    for (i, f) in m.incrs.iter().enumerate() {
        let path = dir.join(&f.name);
        if !path.exists() {
            return Err(format!(
                "The AOF file {} named in the manifest doesn't exist",
                path.display()
            ));
        }
        load_aof(srv, &path, i + 1 == n)?;
    }
    if m.incrs.is_empty() {
        let seq = m.next_incr_seq();
        let file = manifest::incr_name(&name, seq);
        aof::create_new_log(&dir.join(&file))
            .map_err(|e| format!("Can't create the append-only file {file}: {e}"))?;
        m.incrs.push(manifest::AofFile { name: file, seq });
        changed = true;
    }
    if changed {
        m.store(&dir, &name, false)
            .map_err(|e| format!("Can't write the AOF manifest in {}: {e}", dir.display()))?;
    }
    remove_unnamed_files(&dir, &name, &m);
    let last = dir.join(&m.incrs[m.incrs.len() - 1].name);
    // Redis 7.0 does not store the log's size after its last rewrite, and
    // neither do we: after a load, auto-aof-rewrite-percentage grows from
    // the base file alone (INFO aof_base_size), so the first automatic
    // rewrite may come early, as in Redis.
    let base_len = m
        .base
        .as_ref()
        .map_or(0, |b| rewrite::file_len(&dir.join(&b.name)));
    srv.aofrw.manifest = m;
    start_aof_on(srv, &last)?;
    srv.aof_recount_closed();
    srv.aofrw.base_size = base_len;
    Ok(())
}

/// The manifest in `dir`, or one made for the files found there (true:
/// it must be stored). Adopts, in order: the layout before manifests (one
/// `<appendfilename>.1.incr.aof`), an adoption interrupted before its
/// manifest was stored, and Redis 6's single file `<dir>/<appendfilename>`
/// (moved into the directory as the base, as Redis 7 upgrades it; its
/// torn tail is repaired then, since it was the end of its log).
fn find_or_adopt_manifest(srv: &mut Server, dir: &Path) -> Result<(Manifest, bool), String> {
    let name = srv.config.appendfilename.clone();
    if let Some(m) = Manifest::load(&dir.join(manifest::manifest_name(&name)))? {
        return Ok((m, false));
    }
    let incr1 = manifest::incr_name(&name, 1);
    let as_base = || Manifest {
        base: Some(manifest::AofFile {
            name: name.clone(),
            seq: 1,
        }),
        incrs: Vec::new(),
    };
    if dir.join(&incr1).exists() {
        log::info!("Adopting {incr1} (no manifest yet)");
        let incrs = vec![manifest::AofFile {
            name: incr1,
            seq: 1,
        }];
        return Ok((Manifest { base: None, incrs }, true));
    }
    if dir.join(&name).exists() {
        return Ok((as_base(), true));
    }
    let legacy = Path::new(&srv.config.dir).join(&name);
    if legacy.is_file() {
        log::info!(
            "Upgrading the single-file AOF {}: moving it into {} as the base",
            legacy.display(),
            dir.display()
        );
        std::fs::rename(&legacy, dir.join(&name))
            .and_then(|()| manifest::sync_dir(dir))
            .and_then(|()| manifest::sync_dir(Path::new(&srv.config.dir)))
            .map_err(|e| {
                format!(
                    "Can't move {} into {}: {e}",
                    legacy.display(),
                    dir.display()
                )
            })?;
        return Ok((as_base(), true));
    }
    Ok((Manifest::default(), false))
}

/// Load a base: an RDB (what rewrites write) or a framed log (adopted from
/// the single-file layout). Its torn tail may be repaired only when no
/// incremental file follows it.
fn load_base(srv: &mut Server, path: &Path, is_last: bool) -> Result<(), String> {
    let shown = path.display();
    let mut magic = [0u8; 5];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut magic))
        .map_err(|e| format!("Can't open the AOF base {shown}: {e}"))?;
    if n == 5 && &magic == b"REDIS" {
        let start = std::time::Instant::now();
        let (keys, expired) = rdb::load_file(srv, path)
            .map_err(|e| format!("Bad file format reading the AOF base {shown}: {e}"))?;
        log::info!(
            "DB loaded from base file {shown}: {:.3} seconds ({keys} keys, {expired} expired dropped)",
            start.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    load_aof(srv, path, is_last)
}

/// Remove what a crash during a rewrite can leave behind: a base or
/// incremental file of ours the manifest does not name, and temp files.
fn remove_unnamed_files(dir: &Path, name: &str, m: &Manifest) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    // Bounded: a directory with more entries than this is not ours alone.
    for entry in entries.flatten().take(100_000) {
        let f = entry.file_name().to_string_lossy().into_owned();
        let ours = (f.starts_with(&format!("{name}."))
            && (f.ends_with(".base.rdb") || f.ends_with(".incr.aof")))
            || f.starts_with("temp-rewriteaof-")
            || f == format!("temp-{}", manifest::manifest_name(name));
        if ours && !m.names(&f) {
            log::info!("Removing {f}: left by an interrupted AOF rewrite, not in the manifest");
            if let Err(e) = std::fs::remove_file(entry.path()) {
                log::warn!("Removing {f}: {e}");
            }
        }
    }
}

/// Replay the framed log at `path`. Only the last file of the log may have
/// its torn tail repaired (`may_truncate`): damage in any earlier file
/// lost records that later files build on.
fn load_aof(srv: &mut Server, path: &Path, may_truncate: bool) -> Result<(), String> {
    let name = path.display().to_string();
    let data =
        aof::read_file(path).map_err(|e| format!("Can't open the append-only file {name}: {e}"))?;
    if data.is_empty() {
        return Ok(());
    }
    let start = std::time::Instant::now();
    let loaded = load_aof_bytes(srv, &data, &name, may_truncate)?;
    let keep = loaded.keep;
    if keep < data.len() {
        let dropped = data.len() - keep;
        match loaded.damage {
            Some((off, err)) if off == keep => log::warn!(
                "!!! Warning: damaged tail in the AOF {name}: {err} at offset {off}; truncating the AOF at offset {off}, {dropped} bytes dropped ({} complete records kept) !!!",
                loaded.records
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

/// What loading a log image found.
#[derive(Debug)]
pub struct AofLoad {
    /// Bytes of the log to keep: everything, or up to a torn tail or an
    /// unfinished final MULTI.
    pub keep: usize,
    /// The first damaged record (offset, what is wrong), if any.
    pub damage: Option<(usize, aof::RecordError)>,
    /// Complete records found before any damage.
    pub records: usize,
}

/// Verify the log image `data` (named `name` in errors) and replay its
/// valid records into `srv`. Mid-file damage, and a torn tail without
/// `aof-load-truncated` or in a file that is not the log's last
/// (`may_truncate` false), are errors; nothing touches the file system.
/// Startup uses it through `load_aof`; the AOF fuzz target and property
/// tests call it directly (through `server::offline`).
pub fn load_aof_bytes(
    srv: &mut Server,
    data: &[u8],
    name: &str,
    may_truncate: bool,
) -> Result<AofLoad, String> {
    let scan = aof::scan(data);
    if let Some((off, err)) = scan.damage {
        if !may_truncate {
            return Err(format!(
                "Bad file format reading the append only file {name}: {err} at offset {off}; it is not the last file of the log, so it cannot be truncated (records written after it depend on it). Restore it from a backup, or check it with 'redislite-server --check-aof {name}'."
            ));
        }
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
    // Replaying is not a write of ours (nothing is propagated), and the
    // log holds decided effects: nothing expires while it replays (a
    // logged deadline since passed may be extended by a later command).
    let enabled = std::mem::replace(&mut srv.prop.enabled, false);
    srv.ks.applying_master_stream = true;
    let traffic = TrafficStats::set_aside(srv);
    let mut in_transactions = 0;
    let keep = replay(srv, data, &scan.commands, &mut in_transactions);
    // Restored also when the replay stopped at an error.
    traffic.restore(srv);
    // One count Redis does make: its replay runs EXEC's commands through
    // call(), which counts them in total_commands_processed (only there).
    srv.stats.total_commands_processed += in_transactions;
    srv.ks.applying_master_stream = false;
    srv.prop.enabled = enabled;
    let keep = keep.map_err(|e| format!("{e} reading the append only file {name}"))?;
    if keep < data.len() && !may_truncate {
        return Err(format!(
            "The append only file {name} ends inside a MULTI/EXEC transaction at offset {keep}, and it is not the last file of the log"
        ));
    }
    Ok(AofLoad {
        keep,
        damage: scan.damage,
        records: scan.records,
    })
}

/// The statistics that client traffic feeds, set aside while a log
/// replays and put back after: Redis runs a log's commands without its
/// call(), so loading one (at startup or by DEBUG LOADAOF) counts no
/// command (INFO commandstats, total_commands_processed), error reply,
/// keyspace hit or miss, latency sample or slow-log entry. Our replay goes
/// through the dispatcher like any request, so its counts are made on
/// stand-ins and dropped. (Also the hot-key tracker: a log is not
/// traffic.)
struct TrafficStats {
    stats: crate::server::stats::Stats,
    latencies: crate::observe::latencystats::CommandLatencies,
    slowlog: crate::observe::slowlog::SlowLog,
    latency: crate::observe::latency::LatencyMonitor,
    hotkeys: crate::observe::hotkeys::HotKeys,
    hits: u64,
    misses: u64,
}

impl TrafficStats {
    fn set_aside(srv: &mut Server) -> TrafficStats {
        let ids = commands::table::ids().total;
        TrafficStats {
            stats: std::mem::replace(&mut srv.stats, crate::server::stats::Stats::new(ids)),
            latencies: std::mem::replace(
                &mut srv.command_latencies,
                crate::observe::latencystats::CommandLatencies::new(ids),
            ),
            slowlog: std::mem::take(&mut srv.slowlog),
            latency: std::mem::take(&mut srv.latency),
            hotkeys: std::mem::replace(
                &mut srv.ks.hotkeys,
                crate::observe::hotkeys::HotKeys::new(0),
            ),
            hits: srv.ks.stats.hits,
            misses: srv.ks.stats.misses,
        }
    }

    fn restore(self, srv: &mut Server) {
        srv.stats = self.stats;
        srv.command_latencies = self.latencies;
        srv.slowlog = self.slowlog;
        srv.latency = self.latency;
        srv.ks.hotkeys = self.hotkeys;
        srv.ks.stats.hits = self.hits;
        srv.ks.stats.misses = self.misses;
    }
}

/// Run the logged commands through the dispatcher with a fake client.
/// Returns the offset up to which the log is kept: the end of the valid
/// records, or the start of a final MULTI that never got its EXEC. The
/// log is only ever cut between records, so such a MULTI must start its
/// record: our writer never splits a transaction across records, and in
/// logs of one command per record every MULTI starts one. The caller
/// turns propagation and expiry off around it.
/// `in_transactions` counts the commands replayed EXECs ran.
fn replay(
    srv: &mut Server,
    data: &[u8],
    commands: &[aof::LoggedCommand],
    in_transactions: &mut u64,
) -> Result<usize, String> {
    let mut fake = Client::new_fake(u64::MAX);
    let mut multi_start = None;
    let mut end = 0;
    for c in commands {
        let r = &c.range;
        let rec = &data[r.clone()];
        let ranges = aof::parse_command(rec).ok_or("Bad command")?;
        let argv = Argv::new(rec, &ranges);
        // By table name, not as written: the log holds the names clients
        // sent, which `rename-command` may have changed.
        let Some((_, cmd)) = commands::lookup(&argv[0]) else {
            return Err(format!(
                "Unknown command '{}' at offset {}",
                String::from_utf8_lossy(&argv[0]),
                r.start
            ));
        };
        if cmd.name == "multi" {
            multi_start = Some((r.start, c.record.start));
        } else if cmd.name == "exec" {
            multi_start = None;
            if let Some(m) = fake.multi.as_ref().filter(|m| !m.failed) {
                *in_transactions += m.commands.len() as u64;
            }
        }
        commands::call(srv, &mut fake, &argv);
        fake.out.clear();
        end = c.record.end;
    }
    match (multi_start, fake.multi.take()) {
        (Some((at, record)), Some(_)) if at == record + 4 => Ok(record),
        (Some((at, _)), Some(_)) => Err(format!(
            "Bad file format: a MULTI at offset {at} has no EXEC and does not start its record"
        )),
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

/// CONFIG SET appendonly yes: write the current dataset as a new base
/// (an RDB), create an empty incremental file, store the manifest naming
/// both, then append. Redis does the base in a forked rewrite and answers
/// at once; we write it before answering, so once +OK is sent (and
/// aof_enabled:1 shows) a crash loses nothing, at the price of the loop
/// stalling for the time it takes to write the dataset.
fn enable_aof_at_runtime(srv: &mut Server) -> Result<(), String> {
    rewrite::kill_child(srv);
    let dir = rewrite::aof_dir(&srv.config);
    let name = srv.config.appendfilename.clone();
    std::fs::create_dir_all(&dir).map_err(|e| format!("ERR creating {}: {e}", dir.display()))?;
    // Continue the numbering of what is on disk, and delete it once the
    // new manifest is in place.
    let old = Manifest::load(&dir.join(manifest::manifest_name(&name)))
        .map_err(|e| format!("ERR {e}"))?
        .unwrap_or_default();
    let (base_seq, incr_seq) = (old.next_base_seq(), old.next_incr_seq());
    srv.aofrw.manifest = old;
    let tmp = dir.join(format!("temp-rewriteaof-{}.rdb", std::process::id()));
    rewrite::write_base(srv, &tmp).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("ERR writing the AOF base: {e}")
    })?;
    let incr = manifest::incr_name(&name, incr_seq);
    let path = dir.join(&incr);
    aof::create_new_log(&path).map_err(|e| format!("ERR creating {incr}: {e}"))?;
    let incrs = vec![manifest::AofFile {
        name: incr,
        seq: incr_seq,
    }];
    rewrite::install_base(srv, &tmp, base_seq, incrs)
        .map_err(|e| format!("ERR installing the AOF base: {e}"))?;
    start_aof_on(srv, &path).map_err(|e| format!("ERR {e}"))?;
    srv.aof_recount_closed();
    srv.aofrw.base_size = srv.aof_current_size();
    log::info!("AOF enabled: {}", path.display());
    Ok(())
}

/// After the whole dataset was replaced outside the log (a replica's full
/// sync), the AOF on disk describes the old one: write a base of the new
/// dataset and start a new manifest, as Redis restarts its AOF then. On
/// failure the AOF is turned off (loudly) rather than left wrong.
pub fn restart_aof_after_dataset_replaced(srv: &mut Server) {
    if srv.aof.is_none() {
        return;
    }
    stop_aof(srv);
    if let Err(e) = enable_aof_at_runtime(srv) {
        log::error!(
            "Can't restart the AOF after loading a new dataset: {e}; appendonly is now off"
        );
        srv.config.appendonly = false;
    }
}

fn stop_aof(srv: &mut Server) {
    rewrite::kill_child(srv);
    if let Some(mut aof) = srv.aof.take() {
        if let Err(e) = aof.flush_and_sync() {
            log::warn!("Flushing the AOF while turning it off: {e}");
        }
    }
    // Replicas still consume the stream.
    srv.prop.enabled = srv.repl.backlog.is_some();
    log::info!("AOF disabled");
}

impl Server {
    /// Account a fork() (BGSAVE or BGREWRITEAOF) that stalled the parent
    /// for `stall`: INFO latest_fork_usec / total_forks and the `fork`
    /// latency event.
    pub fn note_fork(&mut self, stall: std::time::Duration) {
        let usec = stall.as_micros() as u64;
        self.rdb.latest_fork_usec = usec;
        self.rdb.total_forks += 1;
        self.latency_sample("fork", usec / 1000);
    }

    /// Write buffered AOF records (fsync per policy) before any reply goes
    /// out. Returns false if records remain unwritten (postponed or failed).
    pub fn flush_aof(&mut self) -> bool {
        let pause = self.config.no_appendfsync_on_rewrite && self.has_child();
        let Some(aof) = self.aof.as_mut() else {
            return true;
        };
        aof.fsync_paused = pause;
        if !aof.has_pending() {
            // Writes followed by silence still get their fsync within a
            // second or so (`everysec`), as in Redis.
            aof.request_fsync_if_due();
            return true;
        }
        // For the latency monitor, as Redis names the events: the write
        // as `aof-write` and, by what it ran alongside,
        // `aof-write-pending-fsync` (an everysec fsync was running),
        // `aof-write-active-child` (a BGSAVE child) or `aof-write-alone`;
        // the fsync under `always` as `aof-fsync-always`.
        let fsync_pending = aof.fsync_in_progress();
        let done = aof.flush(false) == Flush::Done;
        let (write_ms, fsync_ms) = (aof.last_write_ms, aof.last_fsync_ms);
        if self.config.latency_monitor_threshold > 0 {
            let alongside = if fsync_pending {
                "aof-write-pending-fsync"
            } else if self.has_child() {
                "aof-write-active-child"
            } else {
                "aof-write-alone"
            };
            self.latency_sample(alongside, write_ms);
            self.latency_sample("aof-write", write_ms);
            if let Some(ms) = fsync_ms {
                self.latency_sample("aof-fsync-always", ms);
            }
        }
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
