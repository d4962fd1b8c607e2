//! AOF rewrite (BGREWRITEAOF, auto-aof-rewrite-*): replace the base and
//! the incremental logs by a fresh snapshot, without stopping the loop and
//! without a window where a crash loses an acknowledged write.
//!
//! The switch, step by step (each step is a test-only crash point, see
//! `fault.rs`):
//! 1. Parent: write the buffered records into the current incremental
//!    file, create the next incremental file, then store a manifest that
//!    names it after the old ones. From here writes go to the new file.
//! 2. Parent forks; the child writes the dataset as of the fork as an RDB
//!    to a temp file in the append-only directory, fsyncs it, `_exit`s.
//! 3. Parent (cron reaps the child): renames the temp file to the new
//!    base name, stores the manifest {new base, incremental files from
//!    step 1 on}, then deletes the files it no longer names.
//!
//! A crash before the rename in 3 leaves the old manifest: old base + old
//! incremental files + the new one, which together hold every write. A
//! crash after it leaves the new one: the new base + the new incremental
//! file, which also hold every write. Leftovers (an unnamed base, old
//! files not yet deleted) are removed at the next startup.
//!
//! Owns: the rewrite child and its bookkeeping (INFO aof_rewrite* fields),
//! the manifest in force and the byte counts auto-rewrite compares.
//!
//! Must never: let a record produced before the fork reach the new
//! incremental file (it would be applied twice: once from the base, once
//! from the log), so a rewrite never starts while a propagation unit
//! (MULTI/EXEC) is half-emitted; run two children at once (a BGSAVE and a
//! rewrite wait for each other).

use super::aof::{self, Flush};
use super::fault::crash_point;
use super::manifest::{self, AofFile, Manifest};
use crate::server::Server;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// After a failed automatic rewrite, wait this long before the next try
/// (a full disk would otherwise fork a child every cron tick).
const AUTO_RETRY_DELAY_SECS: u64 = 5;

/// A running rewrite child.
pub struct RewriteChild {
    pub pid: i32,
    pub started: Instant,
    /// The base it is writing: temp path, and the seq of its final name.
    tmp: PathBuf,
    base_seq: u64,
    /// Incremental files with this seq or higher hold the writes after
    /// the fork; they are kept with the new base. None with the AOF off.
    first_incr_seq: Option<u64>,
}

/// Rewrite state and the manifest in force.
pub struct AofFiles {
    /// The files that make up the log (meaningful while the AOF is on).
    pub manifest: Manifest,
    /// Bytes in the base and in every incremental file but the one being
    /// appended to: aof_current_size = closed_bytes + the open file's size.
    pub closed_bytes: u64,
    /// aof_current_size after the last rewrite or load (INFO
    /// aof_base_size; the baseline of auto-aof-rewrite-percentage).
    pub base_size: u64,
    pub child: Option<RewriteChild>,
    pub scheduled: bool,
    pub last_time_sec: i64,
    pub last_ok: bool,
    pub rewrites: u64,
    pub consecutive_failures: u64,
    last_failure: Option<Instant>,
}

impl Default for AofFiles {
    fn default() -> AofFiles {
        AofFiles {
            manifest: Manifest::default(),
            closed_bytes: 0,
            base_size: 0,
            child: None,
            scheduled: false,
            last_time_sec: -1,
            last_ok: true,
            rewrites: 0,
            consecutive_failures: 0,
            last_failure: None,
        }
    }
}

/// `<dir>/<appenddirname>`.
pub fn aof_dir(config: &crate::config::Config) -> PathBuf {
    Path::new(&config.dir).join(&config.appenddirname)
}

/// Size of a file, 0 if it cannot be read (for INFO only).
pub fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

impl Server {
    /// aof_current_size: base plus every incremental file.
    pub fn aof_current_size(&self) -> u64 {
        self.aofrw.closed_bytes + self.aof.as_ref().map_or(0, |a| a.size)
    }

    /// Recompute `closed_bytes` from the files the manifest names.
    pub fn aof_recount_closed(&mut self) {
        let dir = aof_dir(&self.config);
        let m = &self.aofrw.manifest;
        let open = m.incrs.last().map(|f| f.name.as_str());
        self.aofrw.closed_bytes = m
            .files()
            .filter(|f| Some(f.name.as_str()) != open || self.aof.is_none())
            .map(|f| file_len(&dir.join(&f.name)))
            .sum();
    }

    /// True while a rewrite, a BGSAVE or a full-sync snapshot child runs:
    /// one child at a time.
    pub fn has_child(&self) -> bool {
        self.rdb.child.is_some() || self.aofrw.child.is_some() || self.repl.snapshot_child.is_some()
    }
}

/// Start a background rewrite now. The caller checked that no child runs
/// and that no propagation unit is half-emitted.
pub fn start(srv: &mut Server) -> Result<i32, String> {
    debug_assert!(!srv.has_child() && !srv.prop.unit_pending());
    let dir = aof_dir(&srv.config);
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    if srv.aof.is_none() {
        // With the AOF off the manifest in memory may be stale: continue
        // the numbering of what is on disk, and replace it (the new base
        // alone holds the whole dataset).
        let path = dir.join(manifest::manifest_name(&srv.config.appendfilename));
        srv.aofrw.manifest = Manifest::load(&path)?.unwrap_or_default();
    }
    let first_incr_seq = match srv.aof.is_some() {
        true => Some(open_next_incr(srv, &dir)?),
        false => None,
    };
    let base_seq = srv.aofrw.manifest.next_base_seq();
    let tmp = dir.join(format!(
        "temp-rewriteaof-bg-{}-{base_seq}.rdb",
        std::process::id()
    ));
    let fork_start = Instant::now();
    // SAFETY: as BGSAVE's fork (rdb.rs): the child runs only this thread,
    // serialises, writes one file and `_exit`s without destructors; it
    // takes no lock another thread could hold.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", io::Error::last_os_error()));
    }
    if pid == 0 {
        let ok = write_base(srv, &tmp).is_ok();
        // SAFETY: terminate the child at once, as Redis's child does.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    srv.note_fork(fork_start.elapsed());
    srv.aofrw.child = Some(RewriteChild {
        pid,
        started: Instant::now(),
        tmp,
        base_seq,
        first_incr_seq,
    });
    srv.aofrw.scheduled = false;
    log::info!("Background append only file rewriting started by pid {pid}");
    Ok(pid)
}

/// Step 1: everything produced so far goes to the current file; then a
/// new incremental file is created and named in the manifest, and the
/// log moves to it. Returns the new file's seq.
fn open_next_incr(srv: &mut Server, dir: &Path) -> Result<u64, String> {
    let Some(a) = srv.aof.as_mut() else {
        return Err("the AOF is off".into());
    };
    if a.flush(true) == Flush::Failed {
        return Err(format!("can't write the AOF: {}", a.last_write_error));
    }
    let old_size = a.size;
    let seq = srv.aofrw.manifest.next_incr_seq();
    let name = manifest::incr_name(&srv.config.appendfilename, seq);
    let path = dir.join(&name);
    let file = aof::create_new_log(&path).map_err(|e| format!("creating {name}: {e}"))?;
    crash_point("rewrite-incr-opened");
    let mut next = srv.aofrw.manifest.clone();
    next.incrs.push(AofFile { name, seq });
    if let Err(e) = next.store(dir, &srv.config.appendfilename, false) {
        let _ = std::fs::remove_file(&path);
        return Err(format!("writing the AOF manifest: {e}"));
    }
    srv.aofrw.manifest = next;
    if let Some(a) = srv.aof.as_mut() {
        a.switch_to(file, &path)
            .map_err(|e| format!("switching the AOF to {}: {e}", path.display()))?;
    }
    // Each file is replayed from database 0: the new one's first write
    // must select its database (replicas get one redundant SELECT).
    srv.prop.stream_db = None;
    srv.aofrw.closed_bytes += old_size;
    Ok(seq)
}

/// The child's work (also CONFIG SET appendonly yes, in the parent): the
/// dataset as an RDB in `tmp`, streamed (the child's memory stays
/// O(write buffer)) and fsynced. On failure the parent removes `tmp`.
pub fn write_base(srv: &Server, tmp: &Path) -> io::Result<()> {
    super::rdb::write_file_synced(srv, tmp)
}

/// Step 3, in the parent: make `tmp` the base named in a new manifest with
/// `incrs`, then delete what the old manifest named and the new one does
/// not. On error the old manifest stays in force (it still names every
/// write); the caller reports the failure.
pub fn install_base(
    srv: &mut Server,
    tmp: &Path,
    base_seq: u64,
    incrs: Vec<AofFile>,
) -> io::Result<()> {
    let dir = aof_dir(&srv.config);
    let name = manifest::base_name(&srv.config.appendfilename, base_seq);
    std::fs::rename(tmp, dir.join(&name))?;
    manifest::sync_dir(&dir)?;
    let next = Manifest {
        base: Some(AofFile {
            name,
            seq: base_seq,
        }),
        incrs,
    };
    next.store(&dir, &srv.config.appendfilename, true)?;
    let old = std::mem::replace(&mut srv.aofrw.manifest, next);
    let unnamed: Vec<PathBuf> = old
        .files()
        .filter(|f| !srv.aofrw.manifest.names(&f.name))
        .map(|f| dir.join(&f.name))
        .collect();
    remove_in_background(unnamed);
    srv.aof_recount_closed();
    srv.aofrw.base_size = srv.aof_current_size();
    Ok(())
}

/// Delete files the manifest no longer names on a short-lived thread:
/// unlinking a large log takes milliseconds the loop should not spend
/// (Redis deletes them in a background job too). Nothing depends on the
/// deletion; a crash before it leaves files the next start removes.
fn remove_in_background(paths: Vec<PathBuf>) {
    if paths.is_empty() {
        return;
    }
    let work = move || {
        for p in &paths {
            if let Err(e) = std::fs::remove_file(p) {
                log::warn!("Removing the old AOF file {}: {e}", p.display());
            }
        }
    };
    let spawned = std::thread::Builder::new()
        .name("aof-unlink".into())
        .spawn(work.clone());
    if spawned.is_err() {
        work();
    }
}

/// Collect a finished rewrite child (non-blocking) and complete the
/// switch. Called from cron.
pub fn reap_child(srv: &mut Server) {
    let Some(child) = srv.aofrw.child.as_ref() else {
        return;
    };
    let mut status: libc::c_int = 0;
    // SAFETY: waitpid on our own child with a valid status pointer.
    let r = unsafe { libc::waitpid(child.pid, &mut status, libc::WNOHANG) };
    if r == 0 {
        return;
    }
    let Some(child) = srv.aofrw.child.take() else {
        return;
    };
    srv.aofrw.last_time_sec = child.started.elapsed().as_secs() as i64;
    let ok = r == child.pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let result = if ok {
        crash_point("rewrite-base-written");
        let incrs = match child.first_incr_seq {
            Some(first) => {
                let m = &srv.aofrw.manifest;
                m.incrs.iter().filter(|f| f.seq >= first).cloned().collect()
            }
            None => Vec::new(),
        };
        install_base(srv, &child.tmp, child.base_seq, incrs)
    } else {
        Err(io::Error::other("the child failed"))
    };
    match result {
        Ok(()) => {
            log::info!("Background AOF rewrite finished successfully");
            srv.aofrw.last_ok = true;
            srv.aofrw.rewrites += 1;
            srv.aofrw.consecutive_failures = 0;
        }
        Err(e) => {
            log::warn!("Background AOF rewrite failed: {e}");
            let _ = std::fs::remove_file(&child.tmp);
            srv.aofrw.last_ok = false;
            srv.aofrw.consecutive_failures += 1;
            srv.aofrw.last_failure = Some(Instant::now());
        }
    }
}

/// Stop a running rewrite (AOF turned off or on again, shutdown): kill
/// and reap the child, remove its temp file. The manifest stays valid.
pub fn kill_child(srv: &mut Server) {
    if let Some(child) = srv.aofrw.child.take() {
        log::warn!("Killing the running AOF rewrite child {}", child.pid);
        super::kill_and_reap(child.pid);
        let _ = std::fs::remove_file(&child.tmp);
    }
}

/// From cron: reap the child; start a scheduled rewrite or one that
/// auto-aof-rewrite-percentage / -min-size call for, when no child runs.
pub fn cron(srv: &mut Server) {
    reap_child(srv);
    if srv.has_child() || srv.prop.unit_pending() {
        return;
    }
    let due = srv.aofrw.scheduled || auto_due(srv);
    if due {
        if let Err(e) = start(srv) {
            log::warn!("Can't rewrite append only file in background: {e}");
            srv.aofrw.last_ok = false;
            srv.aofrw.consecutive_failures += 1;
            srv.aofrw.last_failure = Some(Instant::now());
            srv.aofrw.scheduled = false;
        }
    }
}

/// Redis's rule: the log grew by `auto-aof-rewrite-percentage` percent
/// over its size after the last rewrite, and is at least
/// `auto-aof-rewrite-min-size`.
fn auto_due(srv: &Server) -> bool {
    let pct = srv.config.auto_aof_rewrite_percentage;
    if srv.aof.is_none() || pct == 0 {
        return false;
    }
    if srv
        .aofrw
        .last_failure
        .is_some_and(|t| t.elapsed().as_secs() < AUTO_RETRY_DELAY_SECS)
    {
        return false;
    }
    let cur = srv.aof_current_size();
    let base = srv.aofrw.base_size.max(1);
    cur >= srv.config.auto_aof_rewrite_min_size
        && cur > base
        && (cur - base).saturating_mul(100) / base >= pct
}
