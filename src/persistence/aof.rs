//! The append-only log: framed records, the writer with its fsync
//! policies, and the reader that verifies and repairs a log.
//!
//! Record format (all integers little-endian):
//! ```text
//! [u32 length of the payload][payload: one or more RESP commands][u32 CRC32 of the payload]
//! ```
//! Unlike Redis's plain-RESP AOF, every record carries its own checksum,
//! so a torn or corrupted tail is detected exactly, and damage in the
//! middle of the log is told apart from a torn tail.
//!
//! The writer makes one record per write(2): every command of an
//! event-loop turn (group commit) shares one length and one checksum.
//! Per command that saves 8 bytes on disk and a checksum's setup, which
//! for a 75-byte SET cost more than the SET itself. A record is all or
//! nothing on reload, which is what a turn is for its clients too: none
//! of their replies went out before its write. A transaction (MULTI ...
//! EXEC) is never split across records. Logs of one command per record
//! (older versions) are read unchanged.
//!
//! Owns: the log file of the running server (`Aof`: the last incremental
//! file of the manifest; a rewrite moves it to a new file with
//! `switch_to`), the buffer of records not yet written, the `everysec`
//! fsync thread (which also starts the writeback of the log's pages as it
//! grows, and drops fsynced pages from the page cache), and write-error
//! state.
//!
//! Must never: let a reply to a write go out before its record is written
//! and (with `appendfsync always`) fsynced — the event loop calls
//! [`Aof::flush`] in "before sleep", before any reply is written; block the
//! loop on fsync under `everysec` (the fsync thread does it); allocate by a
//! length read from a file before checking it against the bytes present.
//!
//! Invariants:
//! - `size` is the length of the file on disk, which always ends on a
//!   record boundary: a partial write is truncated away at once.
//! - `buf` holds sealed records, then at most one open record (its length
//!   and CRC not yet filled in): `open` is where its header starts. A
//!   record is sealed before any write, and only between execution units.

use crate::config::FsyncPolicy;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bytes of framing around each command: length before, CRC after.
pub const FRAME_OVERHEAD: usize = 8;
/// Largest command a record may hold. A length above this is damage, not a
/// reason to allocate (1 GiB: above proto-max-bulk-len's 512 MB default).
pub const RECORD_MAX_BYTES: usize = 1 << 30;
/// Smallest valid RESP command ("*1\r\n$1\r\nX\r\n").
const RECORD_MIN_BYTES: usize = 11;
/// An open record is sealed at the next unit boundary once it holds this
/// much, so a record stays far below `RECORD_MAX_BYTES` even when writes
/// are postponed for seconds (everysec behind a slow fsync).
const RECORD_SEAL_BYTES: usize = 16 << 20;
/// Most arguments accepted in one logged command (as the parser's limit).
const ARGS_MAX: usize = 1024 * 1024;
/// With `everysec`, how long a pending background fsync may postpone
/// writes before we write anyway (Redis's 2 seconds).
const FSYNC_POSTPONE_MAX: Duration = Duration::from_secs(2);

/// Append one framed record holding `resp` (one or more commands) to `out`.
pub fn frame(out: &mut Vec<u8>, resp: &[u8]) {
    out.extend_from_slice(&(resp.len() as u32).to_le_bytes());
    out.extend_from_slice(resp);
    out.extend_from_slice(&crc32fast::hash(resp).to_le_bytes());
}

// ---------------------------------------------------------------------
// Reading and verifying a log
// ---------------------------------------------------------------------

/// Parse a RESP multibulk command that fills `buf` exactly. Returns the
/// argument ranges, or None if `buf` is not exactly one command.
pub fn parse_command(buf: &[u8]) -> Option<Vec<Range<usize>>> {
    let (ranges, len) = parse_command_prefix(buf)?;
    (len == buf.len()).then_some(ranges)
}

/// Parse the RESP multibulk command at the start of `buf`: its argument
/// ranges and its length.
fn parse_command_prefix(buf: &[u8]) -> Option<(Vec<Range<usize>>, usize)> {
    fn line(buf: &[u8], pos: usize, prefix: u8) -> Option<(usize, usize)> {
        if buf.get(pos) != Some(&prefix) {
            return None;
        }
        let rest = buf.get(pos + 1..)?;
        let end = rest.windows(2).take(21).position(|w| w == b"\r\n")?;
        let digits = &rest[..end];
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n: usize = std::str::from_utf8(digits).ok()?.parse().ok()?;
        Some((n, pos + 1 + end + 2))
    }
    let (argc, mut pos) = line(buf, 0, b'*')?;
    // Each argument takes at least 6 bytes: the count is bounded by the
    // record's size before anything is allocated for it.
    if argc == 0 || argc > ARGS_MAX || argc > buf.len() / 6 {
        return None;
    }
    let mut ranges = Vec::with_capacity(argc);
    for _ in 0..argc {
        let (len, p) = line(buf, pos, b'$')?;
        let end = p.checked_add(len)?;
        if buf.get(end..end + 2)? != b"\r\n" {
            return None;
        }
        ranges.push(p..end);
        pos = end + 2;
    }
    Some((ranges, pos))
}

/// The extents of the commands that fill `payload` exactly, or None if it
/// is not a sequence of one or more whole commands.
fn split_commands(payload: &[u8]) -> Option<Vec<Range<usize>>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < payload.len() {
        let (_, len) = parse_command_prefix(&payload[pos..])?;
        out.push(pos..pos + len);
        pos += len;
    }
    (!out.is_empty()).then_some(out)
}

/// Try to read one valid record at `off`. Returns its commands' ranges
/// (into `data`) and the offset after the record.
fn record_at(data: &[u8], off: usize) -> Result<(Vec<Range<usize>>, usize), RecordError> {
    let rest = &data[off..];
    if rest.len() < 4 {
        return Err(RecordError::Short);
    }
    let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    if !(RECORD_MIN_BYTES..=RECORD_MAX_BYTES).contains(&len) {
        return Err(RecordError::BadLength(len));
    }
    if rest.len() < len + FRAME_OVERHEAD {
        return Err(RecordError::Short);
    }
    let cmd = &rest[4..4 + len];
    let c = &rest[4 + len..len + FRAME_OVERHEAD];
    let stored = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    if crc32fast::hash(cmd) != stored {
        return Err(RecordError::BadChecksum);
    }
    let Some(mut cmds) = split_commands(cmd) else {
        return Err(RecordError::BadCommand);
    };
    for r in &mut cmds {
        *r = off + 4 + r.start..off + 4 + r.end;
    }
    Ok((cmds, off + len + FRAME_OVERHEAD))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// The file ends inside the record.
    Short,
    BadLength(usize),
    BadChecksum,
    BadCommand,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            RecordError::Short => write!(f, "incomplete record"),
            RecordError::BadLength(n) => write!(f, "impossible record length {n}"),
            RecordError::BadChecksum => write!(f, "CRC32 mismatch"),
            RecordError::BadCommand => write!(f, "record is not a sequence of RESP commands"),
        }
    }
}

/// One command found in a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedCommand {
    /// The command's bytes, as a range into the data.
    pub range: Range<usize>,
    /// Its record's extent in the data, framing included.
    pub record: Range<usize>,
}

/// What a scan of a whole log found.
#[derive(Debug)]
pub struct Scan {
    /// Commands of the valid prefix, in order.
    pub commands: Vec<LoggedCommand>,
    /// Records of the valid prefix.
    pub records: usize,
    /// Offset where the valid prefix ends.
    pub valid_len: usize,
    /// The first damaged record, if any: its offset and what is wrong.
    pub damage: Option<(usize, RecordError)>,
    /// True if valid records exist after the damage: the log is corrupted
    /// in the middle, not torn at the tail.
    pub damage_is_mid_file: bool,
}

/// Verify every record of `data`.
///
/// Damage is a torn tail when no valid record can be found anywhere after
/// it (a crash mid-write, or zeros a filesystem left after a crash);
/// otherwise records were lost in the middle and truncating would silently
/// drop acknowledged writes that come after, so it is reported as mid-file
/// corruption. The forward search only runs once damage was found, and
/// every candidate is rejected by its length or checksum.
pub fn scan(data: &[u8]) -> Scan {
    let mut commands = Vec::new();
    let mut records = 0;
    let mut off = 0;
    while off < data.len() {
        match record_at(data, off) {
            Ok((cmds, next)) => {
                commands.extend(cmds.into_iter().map(|range| LoggedCommand {
                    range,
                    record: off..next,
                }));
                records += 1;
                off = next;
            }
            Err(e) => {
                // A record's command starts with '*': testing that byte
                // first skips the CRC for almost every offset, so damage
                // early in a big log does not cost a checksum per byte.
                let mid = (off + 1..data.len())
                    .any(|o| data.get(o + 4) == Some(&b'*') && record_at(data, o).is_ok());
                return Scan {
                    commands,
                    records,
                    valid_len: off,
                    damage: Some((off, e)),
                    damage_is_mid_file: mid,
                };
            }
        }
    }
    Scan {
        commands,
        records,
        valid_len: off,
        damage: None,
        damage_is_mid_file: false,
    }
}

/// Read a whole log file. A missing file is an empty log.
pub fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    match File::open(path) {
        Ok(f) => {
            // Read only the length the file had when opened: a bound on the
            // loop, and a device (a log symlinked to /dev/zero) cannot make
            // us read forever.
            let len = f.metadata()?.len();
            let mut data = Vec::new();
            f.take(len).read_to_end(&mut data)?;
            Ok(data)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Cut a file to `len` bytes and make that durable.
pub fn truncate_file(path: &Path, len: u64) -> io::Result<()> {
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(len)?;
    f.sync_all()
}

/// `redislite-server --check-aof FILE [--fix]`: report, optionally repair.
/// FILE is a single log, or a manifest (`*.manifest`): then every file it
/// names is checked, and only the last incremental file may be truncated
/// (damage anywhere else cannot be repaired by cutting, as at startup).
/// Returns the process exit code (0: log valid or repaired).
pub fn check_aof_cli(path: &str, fix: bool) -> i32 {
    if !path.ends_with(".manifest") {
        return check_log_file(path, fix);
    }
    let m = match super::manifest::Manifest::load(Path::new(path)) {
        Ok(Some(m)) => m,
        Ok(None) => {
            eprintln!("Cannot open file {path}: not found");
            return 1;
        }
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let dir = Path::new(path).parent().unwrap_or(Path::new("."));
    println!(
        "AOF manifest {path}: {} base, {} incremental files",
        m.base.iter().count(),
        m.incrs.len()
    );
    let last = m.incrs.last().map(|f| f.name.clone());
    let mut code = 0;
    for f in m.files() {
        let p = dir.join(&f.name);
        let shown = p.display().to_string();
        let is_last = last.as_deref() == Some(f.name.as_str());
        let head = match std::fs::File::open(&p).and_then(|mut h| {
            let mut magic = [0u8; 5];
            h.read(&mut magic).map(|n| magic[..n].to_vec())
        }) {
            Ok(h) => h,
            Err(e) => {
                eprintln!("Cannot open file {shown}: {e}");
                code = 1;
                continue;
            }
        };
        let rc = if head == b"REDIS" {
            match std::fs::read(&p)
                .map_err(|e| e.to_string())
                .and_then(|d| super::rdb::verify_checksum(&d))
            {
                Ok(()) => {
                    println!("RDB base {shown} is valid (CRC64 checked)");
                    0
                }
                Err(e) => {
                    println!("RDB base {shown} is damaged: {e}");
                    1
                }
            }
        } else {
            check_log_file(&shown, fix && is_last)
        };
        code = code.max(rc);
    }
    code
}

fn check_log_file(path: &str, fix: bool) -> i32 {
    let p = Path::new(path);
    let data = match std::fs::read(p) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("Cannot open file {path}: {e}");
            return 1;
        }
    };
    let s = scan(&data);
    println!(
        "AOF {path}: {} valid records ({} commands), {} bytes",
        s.records,
        s.commands.len(),
        s.valid_len
    );
    let Some((off, err)) = s.damage else {
        println!("AOF {path} is valid");
        return 0;
    };
    let dropped = data.len() - off;
    let what = if s.damage_is_mid_file {
        "corrupted in the middle (valid records follow the damage)"
    } else {
        "truncated or damaged at the tail"
    };
    println!("AOF {path} is {what}: {err} at offset {off}; {dropped} bytes from there on");
    if !fix {
        println!("Run with --fix to truncate the file to {off} bytes");
        return 1;
    }
    match truncate_file(p, off as u64) {
        Ok(()) => {
            println!("Successfully truncated AOF {path} to {off} bytes ({dropped} bytes dropped)");
            0
        }
        Err(e) => {
            eprintln!("Failed to truncate AOF {path}: {e}");
            1
        }
    }
}

// ---------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------

/// Work asked of the `everysec` thread, under `FsyncShared::jobs`.
#[derive(Default)]
struct Jobs {
    /// An fsync is wanted (once a second). Writes wait while one is
    /// pending or running (see `Aof::flush`).
    fsync: bool,
    /// Start the writeback of the log's pages up to this offset (see
    /// `WRITEBACK_STEP`). Writes do not wait for this.
    writeback: Option<u64>,
}

/// One piece of work the `everysec` thread took from `Jobs`.
enum Job {
    Fsync,
    /// Start the writeback of the log below this offset.
    Writeback(u64),
}

/// State shared with the `everysec` fsync thread.
struct FsyncShared {
    jobs: Mutex<Jobs>,
    wake: Condvar,
    in_progress: AtomicBool,
    stop: AtomicBool,
    /// errno of the last fsync if it failed, 0 if it succeeded. While it
    /// is set, writes are refused (MISCONF, as Redis 7.0) and an fsync is
    /// retried once a second until one succeeds.
    error: AtomicI32,
    /// File length when the pending fsync was requested: everything below
    /// it is durable once that fsync returns.
    covered: AtomicU64,
}

/// The background fsync thread of `appendfsync everysec`.
struct FsyncWorker {
    shared: Arc<FsyncShared>,
    handle: Option<JoinHandle<()>>,
}

impl FsyncWorker {
    /// `trim_from`: the file's length now; only what is written after it
    /// is dropped from the page cache (see `CacheTrim`).
    fn start(file: File, trim_from: u64) -> io::Result<FsyncWorker> {
        let shared = Arc::new(FsyncShared {
            jobs: Mutex::new(Jobs::default()),
            wake: Condvar::new(),
            in_progress: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            error: AtomicI32::new(0),
            covered: AtomicU64::new(0),
        });
        let s = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("aof-fsync".into())
            .spawn(move || {
                serve_jobs(&s, &file, trim_from);
            })?;
        Ok(FsyncWorker {
            shared,
            handle: Some(handle),
        })
    }

    /// An fsync is pending or running (a writeback does not count). Both
    /// flags are read under the lock the thread moves a job from one to
    /// the other under, so no moment shows neither.
    fn busy(&self) -> bool {
        self.shared
            .jobs
            .lock()
            .map(|j| j.fsync || self.shared.in_progress.load(Ordering::Acquire))
            .unwrap_or(false)
    }

    /// Ask for an fsync of everything in the first `covered` bytes.
    fn request(&self, covered: u64) {
        self.shared.covered.store(covered, Ordering::Release);
        if let Ok(mut j) = self.shared.jobs.lock() {
            j.fsync = true;
            self.shared.wake.notify_one();
        }
    }

    /// Ask for the pages below `upto` to be written back.
    fn request_writeback(&self, upto: u64) {
        if let Ok(mut j) = self.shared.jobs.lock() {
            j.writeback = Some(upto);
            self.shared.wake.notify_one();
        }
    }
}

impl FsyncWorker {
    /// Stop the thread without waiting for it: it runs one last fsync of
    /// its file (so what was written there becomes durable) and exits.
    /// Used when the log moves to a new file: the loop must not wait for
    /// the old file's fsync.
    fn retire(mut self) {
        self.stop(true);
        // Dropping the handle detaches the thread.
        self.handle.take();
    }

    /// Tell the thread to exit, after one more fsync if `last_fsync`.
    /// `stop` is set under the lock the thread checks it under before it
    /// waits, so the wake-up cannot fall between its check and its wait.
    fn stop(&self, last_fsync: bool) {
        let mut jobs = self.shared.jobs.lock();
        if let Ok(j) = jobs.as_mut() {
            j.fsync |= last_fsync;
        }
        self.shared.stop.store(true, Ordering::Release);
        drop(jobs);
        self.shared.wake.notify_one();
    }
}

impl Drop for FsyncWorker {
    fn drop(&mut self) {
        self.stop(false);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The `everysec` thread's work until it is told to stop: fsyncs,
/// writebacks and page-cache trims of `file`, whose length
/// was `trim_from` when the thread started.
fn serve_jobs(s: &FsyncShared, file: &File, trim_from: u64) {
    let mut trim = CacheTrim::from(trim_from);
    // Writeback was started (or an fsync done) for everything below this
    // offset, or it is not ours.
    let mut started_upto = trim_from;
    loop {
        let job = {
            let Ok(mut jobs) = s.jobs.lock() else {
                return;
            };
            while !jobs.fsync && jobs.writeback.is_none() && !s.stop.load(Ordering::Acquire) {
                jobs = match s.wake.wait(jobs) {
                    Ok(j) => j,
                    Err(_) => return,
                };
            }
            if jobs.fsync {
                jobs.fsync = false;
                // Set while still holding the lock, so the loop
                // never sees "not requested and not in progress"
                // in between.
                s.in_progress.store(true, Ordering::Release);
                Job::Fsync
            } else if s.stop.load(Ordering::Acquire) {
                // Stopping: a last fsync (`retire` asks for one)
                // ran above; writebacks are not owed.
                return;
            } else {
                match jobs.writeback.take() {
                    Some(upto) => Job::Writeback(upto),
                    None => continue,
                }
            }
        };
        match job {
            Job::Fsync => {
                let covered = s.covered.load(Ordering::Acquire);
                let synced = match super::fault::fsync_failure() {
                    Some(e) => Err(e),
                    // As Redis's background fsync: EINVAL and EBADF
                    // mean the file cannot be fsynced at all (a log
                    // on /dev/null, some special files), not that
                    // data was lost; writes are not refused for it.
                    None => fdatasync(file).or_else(|e| match e.raw_os_error() {
                        Some(libc::EINVAL) | Some(libc::EBADF) => Ok(()),
                        _ => Err(e),
                    }),
                };
                match &synced {
                    Err(e) => {
                        log::warn!("AOF background fsync failed: {e}");
                        let errno = e.raw_os_error().unwrap_or(libc::EIO);
                        s.error.store(errno, Ordering::Release);
                    }
                    Ok(()) => {
                        if s.error.swap(0, Ordering::AcqRel) != 0 {
                            log::warn!("AOF fsync error looks solved, RedisLite can write again.");
                        }
                    }
                }
                // Writes wait for the fsync, not for the trim after it.
                s.in_progress.store(false, Ordering::Release);
                if synced.is_ok() {
                    started_upto = started_upto.max(covered);
                    trim.after_sync(file, covered);
                }
            }
            Job::Writeback(upto) => {
                if upto > started_upto && start_writeback(file, started_upto..upto) {
                    started_upto = upto;
                }
            }
        }
    }
}

fn fdatasync(f: &File) -> io::Result<()> {
    f.sync_data()
}

/// Start writing back the dirty pages of `range`, without waiting for
/// the device (data only: this is not durability, which stays the
/// fsync's job). Only SYNC_FILE_RANGE_WRITE: the WAIT flags would collect
/// a write error the kernel keeps for the file, and the next fsync would
/// then succeed as if nothing had failed (PostgreSQL's pg_flush_data is
/// write-only for the same reason). Errors stay for the fsync to report.
fn start_writeback(f: &File, range: Range<u64>) -> bool {
    let (Ok(off), Ok(len)) = (
        libc::off64_t::try_from(range.start),
        libc::off64_t::try_from(range.end - range.start),
    ) else {
        return false;
    };
    // SAFETY: plain system call on a descriptor we own; it reads no memory
    // of ours.
    let rc = unsafe { libc::sync_file_range(f.as_raw_fd(), off, len, libc::SYNC_FILE_RANGE_WRITE) };
    if rc != 0 {
        log::debug!(
            "sync_file_range on the AOF failed: {}",
            io::Error::last_os_error()
        );
    }
    rc == 0
}

/// How much of the log's durable tail stays in the page cache.
const CACHE_TAIL_BYTES: u64 = 8 << 20;
/// Dropping less than this at a time is not worth the system call.
const CACHE_DROP_MIN: u64 = 2 << 20;
/// `everysec`: each time the log grows by this much, the fsync thread
/// starts the writeback of what is behind the end (`start_writeback`),
/// so the fsync once a second finds a few MiB dirty instead of a second's
/// worth (100+ MB under a heavy SET load). That fsync is what writes
/// wait for (Redis's postponement rule, `Aof::flush`): measured at
/// pipeline 16, p99 went from 9-12 ms to 2 ms (BENCHMARKS.md "AOF
/// writeback").
const WRITEBACK_STEP: u64 = 4 << 20;
/// The writeback stops this far behind the end of the file (and on a MiB
/// boundary), so the page being appended to is never under writeback,
/// when a write to it could have to wait for the device.
const WRITEBACK_LAG: u64 = 1 << 20;

/// Where a writeback should end once the file holds `size` bytes, if
/// one is due: the last one was asked for at `asked`.
fn writeback_due(size: u64, asked: u64) -> Option<u64> {
    (size >= asked.saturating_add(WRITEBACK_STEP))
        .then(|| size.saturating_sub(WRITEBACK_LAG) & !((1 << 20) - 1))
}
/// Most dropped by one call (~8 ms of kernel time at 0.25 us per page),
/// so a trim on the loop under `always` never stalls it for long; more
/// than the log grows between two `everysec` fsyncs under heavy load.
const CACHE_DROP_MAX: u64 = 128 << 20;

/// Drops the log's fsynced pages from the page cache, all but the last
/// `CACHE_TAIL_BYTES`. The running server never reads its log, so those
/// pages are dead weight: left alone, the cache grows by the log's write
/// rate (100 MB/s under a heavy SET load) until reclaim has to find them,
/// and every write lands on a page the system never used before, which
/// on a virtual machine costs the host's first touch too (measured: 4.7
/// vs 1.7 us per 4 KiB page written; BENCHMARKS.md "AOF page cache").
/// Dropped pages go back to the free lists, where the next writes find
/// them. Only clean pages can be dropped, so this runs after an fsync,
/// for the range it covered (PostgreSQL does the same with its closed WAL
/// segments). Under `appendfsync no` nothing is dropped: we never know
/// what is on disk. What the log held when this server opened it (the
/// loader just read it) is left to the kernel.
struct CacheTrim {
    /// Everything below this offset was already dropped (or is not ours
    /// to drop).
    dropped_upto: u64,
}

impl CacheTrim {
    /// Trimming starts at offset `start` (rounded down to 1 MiB).
    fn from(start: u64) -> CacheTrim {
        CacheTrim {
            dropped_upto: start & !((1 << 20) - 1),
        }
    }

    /// The range to drop once the first `synced` bytes are on disk, if
    /// one is due.
    fn next_range(&self, synced: u64) -> Option<Range<u64>> {
        // Ranges end on a 1 MiB boundary (a multiple of any page size):
        // the kernel keeps a partial page at either end of a range, which
        // would otherwise stay cached for good.
        let upto = (synced.saturating_sub(CACHE_TAIL_BYTES) & !((1 << 20) - 1))
            .min(self.dropped_upto.saturating_add(CACHE_DROP_MAX));
        (upto >= self.dropped_upto.saturating_add(CACHE_DROP_MIN))
            .then_some(self.dropped_upto..upto)
    }

    /// The first `synced` bytes of `file` are on the device.
    fn after_sync(&mut self, file: &File, synced: u64) {
        let Some(range) = self.next_range(synced) else {
            return;
        };
        let upto = range.end;
        let (Ok(off), Ok(len)) = (
            libc::off_t::try_from(self.dropped_upto),
            libc::off_t::try_from(upto - self.dropped_upto),
        ) else {
            return;
        };
        // SAFETY: plain system call on a descriptor we own; it reads no
        // memory of ours. A failure only means the pages stay cached.
        let rc =
            unsafe { libc::posix_fadvise(file.as_raw_fd(), off, len, libc::POSIX_FADV_DONTNEED) };
        if rc != 0 {
            log::debug!("posix_fadvise(DONTNEED) on the AOF failed: errno {rc}");
        }
        self.dropped_upto = upto;
    }
}

/// Outcome of one flush attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Everything buffered is written (and fsynced with `always`).
    Done,
    /// `everysec`: a background fsync is still running, the write waits
    /// (at most `FSYNC_POSTPONE_MAX`).
    Postponed,
    /// The write failed; the records stay buffered for the next attempt.
    Failed,
}

/// The running server's log.
pub struct Aof {
    file: File,
    pub path: PathBuf,
    /// Records not yet written: sealed ones, then the open one.
    buf: Vec<u8>,
    /// Offset in `buf` of the open record's header (None: no open record).
    open: Option<usize>,
    /// A checksum state made once (CPU feature detection included) and
    /// cloned for every record.
    crc: crc32fast::Hasher,
    pub policy: FsyncPolicy,
    /// Bytes in the file (always on a record boundary).
    pub size: u64,
    /// Result of the last write attempt, and its error text.
    pub last_write_ok: bool,
    pub last_write_error: String,
    /// Unix ms of the last successful write of buffered records (0 =
    /// none since the log was opened), for /metrics.
    pub last_write_ok_unix_ms: i64,
    /// Durations of the last flush's write(2) and, under `always`, its
    /// fsync (None when it did not fsync), for the latency monitor.
    pub last_write_ms: u64,
    pub last_fsync_ms: Option<u64>,
    /// Writes done while a background fsync was running past the limit.
    pub delayed_fsync: u64,
    worker: Option<FsyncWorker>,
    last_fsync: Instant,
    postponed_since: Option<Instant>,
    /// Bytes written since the last fsync request (everysec).
    unsynced: bool,
    /// File size when the last writeback was asked for (everysec).
    writeback_asked: u64,
    /// Page-cache trimming after `always` fsyncs (the `everysec` thread
    /// keeps its own).
    trim: CacheTrim,
    /// no-appendfsync-on-rewrite while a child process runs: records are
    /// written but not fsynced (set by the loop before each flush). The
    /// first fsync after it covers them.
    pub fsync_paused: bool,
}

impl Aof {
    /// Open (creating) the log for appending. `size` is the verified
    /// length: anything after it was already truncated by the loader.
    pub fn open(path: &Path, policy: FsyncPolicy) -> io::Result<Aof> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)?;
        let size = file.metadata()?.len();
        // The new file's directory entry must be durable too.
        if let Some(parent) = path.parent() {
            if let Ok(d) = File::open(parent) {
                let _ = d.sync_all();
            }
        }
        let mut aof = Aof {
            file,
            path: path.to_path_buf(),
            buf: Vec::new(),
            open: None,
            crc: crc32fast::Hasher::new(),
            policy,
            size,
            last_write_ok: true,
            last_write_error: String::new(),
            last_write_ok_unix_ms: 0,
            last_write_ms: 0,
            last_fsync_ms: None,
            delayed_fsync: 0,
            worker: None,
            last_fsync: Instant::now(),
            postponed_since: None,
            unsynced: false,
            writeback_asked: size,
            trim: CacheTrim::from(size),
            fsync_paused: false,
        };
        aof.set_policy(policy)?;
        Ok(aof)
    }

    /// Move appending to `file`, new and empty, at `path` (an AOF rewrite
    /// starts a new incremental file). The caller has flushed the buffer
    /// into the old file first: records always land in the file that
    /// follows the state they were produced from. Write-error state and
    /// the fsync policy carry over; under `everysec` the old file gets a
    /// last fsync from its retiring thread, off the loop.
    pub fn switch_to(&mut self, file: File, path: &Path) -> io::Result<()> {
        debug_assert!(self.buf.is_empty());
        let worker = match self.policy {
            FsyncPolicy::Everysec => Some(FsyncWorker::start(file.try_clone()?, 0)?),
            _ => None,
        };
        if let Some(old) = std::mem::replace(&mut self.worker, worker) {
            old.retire();
        }
        self.file = file;
        self.path = path.to_path_buf();
        self.size = 0;
        self.unsynced = false;
        self.writeback_asked = 0;
        self.trim = CacheTrim::from(0);
        Ok(())
    }

    /// Change the fsync policy (CONFIG SET appendfsync): the thread exists
    /// only under `everysec`.
    pub fn set_policy(&mut self, policy: FsyncPolicy) -> io::Result<()> {
        self.policy = policy;
        match policy {
            FsyncPolicy::Everysec if self.worker.is_none() => {
                self.worker = Some(FsyncWorker::start(self.file.try_clone()?, self.size)?);
                self.writeback_asked = self.size;
            }
            FsyncPolicy::Everysec => {}
            _ => self.worker = None,
        }
        Ok(())
    }

    /// Queue one command (RESP bytes) in the open record.
    #[inline]
    pub fn append_command(&mut self, resp: &[u8]) {
        if self.open.is_none() {
            self.open = Some(self.buf.len());
            self.buf.extend_from_slice(&[0; 4]);
        }
        self.buf.extend_from_slice(resp);
    }

    /// An execution unit ended: a big open record may be sealed here, where
    /// no transaction is cut in two.
    #[inline]
    pub fn end_unit(&mut self) {
        if self
            .open
            .is_some_and(|o| self.buf.len() - o >= RECORD_SEAL_BYTES)
        {
            self.seal();
        }
    }

    /// Fill in the open record's length and checksum.
    fn seal(&mut self) {
        let Some(start) = self.open.take() else {
            return;
        };
        let payload = &self.buf[start + 4..];
        let len = payload.len() as u32;
        let mut h = self.crc.clone();
        h.update(payload);
        let crc = h.finalize();
        self.buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
        self.buf.extend_from_slice(&crc.to_le_bytes());
    }

    pub fn has_pending(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Bytes buffered but not yet written (INFO aof_buffer_length).
    pub fn pending_bytes(&self) -> usize {
        self.buf.len()
    }

    /// The errno of the last background fsync, if it failed (`everysec`).
    #[inline]
    fn background_fsync_errno(&self) -> Option<i32> {
        let errno = self.worker.as_ref()?.shared.error.load(Ordering::Acquire);
        (errno != 0).then_some(errno)
    }

    /// Why writes must be refused (MISCONF), as Redis 7.0: the last write
    /// failed, or (`everysec`) the last background fsync did; refused
    /// until a write, or an fsync, succeeds again. The OS error's text.
    pub fn write_error(&self) -> Option<String> {
        if !self.last_write_ok {
            return Some(self.last_write_error.clone());
        }
        self.background_fsync_errno()
            .map(|errno| os_error_text(&io::Error::from_raw_os_error(errno)))
    }

    /// INFO aof_last_write_status: the last write and fsync succeeded.
    #[inline]
    pub fn writes_ok(&self) -> bool {
        self.last_write_ok && self.background_fsync_errno().is_none()
    }

    /// True when a background fsync is running (INFO).
    pub fn fsync_in_progress(&self) -> bool {
        self.worker.as_ref().is_some_and(|w| w.busy())
    }

    /// Write buffered records; fsync per policy. Called from "before sleep"
    /// (before replies go out) and from cron. `force` writes even while an
    /// `everysec` fsync is pending (shutdown).
    pub fn flush(&mut self, force: bool) -> Flush {
        if self.buf.is_empty() {
            self.request_fsync_if_due();
            return Flush::Done;
        }
        if self.policy == FsyncPolicy::Everysec && !force && self.fsync_in_progress() {
            // Redis's rule: a write(2) to a file being fsynced may block in
            // the kernel; postpone it up to 2 s, then write anyway.
            let since = *self.postponed_since.get_or_insert_with(Instant::now);
            if since.elapsed() < FSYNC_POSTPONE_MAX {
                return Flush::Postponed;
            }
            self.delayed_fsync += 1;
            log::warn!("Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.");
        }
        self.postponed_since = None;
        self.last_fsync_ms = None;
        // Turns whose write was postponed share this one record.
        self.seal();
        let write_start = Instant::now();
        let written = self.write_buf();
        self.last_write_ms = write_start.elapsed().as_millis() as u64;
        if let Err(e) = written {
            if self.last_write_ok {
                log::warn!("Error writing to the AOF file {}: {e}", self.path.display());
            }
            self.last_write_ok = false;
            self.last_write_error = os_error_text(&e);
            return Flush::Failed;
        }
        if !self.last_write_ok {
            log::warn!("AOF write error looks solved, RedisLite can write again.");
        }
        self.last_write_ok = true;
        // A vDSO clock read, not a syscall; only when records were written.
        self.last_write_ok_unix_ms = crate::db::unix_ms();
        match self.policy {
            FsyncPolicy::Always if self.fsync_paused => {
                // Acknowledged before it is durable, as Redis does under
                // no-appendfsync-on-rewrite; fsynced once the child is gone.
                self.unsynced = true;
            }
            FsyncPolicy::Always => {
                let fsync_start = Instant::now();
                self.fsync_always();
                self.last_fsync_ms = Some(fsync_start.elapsed().as_millis() as u64);
            }
            FsyncPolicy::Everysec => {
                self.unsynced = true;
                self.request_fsync_if_due();
                if let Some(upto) = writeback_due(self.size, self.writeback_asked) {
                    if let Some(w) = self.worker.as_ref() {
                        w.request_writeback(upto);
                    }
                    self.writeback_asked = self.size;
                }
            }
            FsyncPolicy::No => {}
        }
        Flush::Done
    }

    /// `everysec`: ask the thread for an fsync once a second if anything
    /// was written since the last one; `always`: the fsync owed for what
    /// was written while fsyncs were paused. Nothing while they still are.
    /// Called after every write and, with nothing to write, on every pass
    /// of the event loop (a few branches).
    #[inline]
    pub fn request_fsync_if_due(&mut self) {
        // After a failed fsync, retry even with nothing new written: the
        // refused writes never will be.
        if self.policy == FsyncPolicy::Always && self.unsynced && !self.fsync_paused {
            // Writes made while fsyncs were paused (see `fsync_paused`).
            self.fsync_always();
            return;
        }
        if self.policy != FsyncPolicy::Everysec
            || self.fsync_paused
            || (!self.unsynced && self.background_fsync_errno().is_none())
        {
            return;
        }
        let Some(w) = self.worker.as_ref() else {
            return;
        };
        if self.last_fsync.elapsed() >= Duration::from_secs(1) && !w.busy() {
            w.request(self.size);
            self.last_fsync = Instant::now();
            self.unsynced = false;
        }
    }

    /// `always`: fsync what was written, or exit. As Redis: after a failed
    /// fsync the kernel may have dropped the dirty pages, so a retry
    /// proves nothing; exiting is the only way not to acknowledge writes
    /// that may be lost.
    fn fsync_always(&mut self) {
        if let Err(e) = fdatasync(&self.file) {
            log::error!("Can't persist AOF for fsync error when the AOF fsync policy is 'always': {e}. Exiting...");
            std::process::exit(1);
        }
        self.last_fsync = Instant::now();
        self.unsynced = false;
        self.trim.after_sync(&self.file, self.size);
    }

    /// Write the whole buffer or nothing: a partial write is truncated away
    /// so the file keeps ending on a record boundary.
    fn write_buf(&mut self) -> io::Result<()> {
        let mut written = 0;
        while written < self.buf.len() {
            match self.file.write(&self.buf[written..]) {
                Ok(0) => {
                    return self.undo_partial(written, io::ErrorKind::WriteZero.into());
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.undo_partial(written, e),
            }
        }
        self.size += written as u64;
        self.buf.clear();
        if self.buf.capacity() > 1024 * 1024 {
            self.buf = Vec::new();
        }
        Ok(())
    }

    fn undo_partial(&mut self, written: usize, e: io::Error) -> io::Result<()> {
        if written > 0 {
            if let Err(te) = self.file.set_len(self.size) {
                // Cannot remove the partial record: keep the file and the
                // buffer consistent by treating the written bytes as done.
                // The loader will find a damaged record there; that is the
                // torn-tail case it repairs.
                log::warn!("Could not remove a partial AOF write: {te}");
                self.buf.drain(..written);
                self.size += written as u64;
            }
        }
        Err(e)
    }

    /// Write and fsync everything now (shutdown).
    pub fn flush_and_sync(&mut self) -> io::Result<()> {
        match self.flush(true) {
            Flush::Failed => Err(io::Error::other(self.last_write_error.clone())),
            _ => fdatasync(&self.file),
        }
    }

    pub fn raw_fd(&self) -> i32 {
        self.file.as_raw_fd()
    }
}

/// Create (or empty) the log file at `path` for appending, with its
/// directory entry made durable.
pub fn create_new_log(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)?;
    drop(file);
    let file = OpenOptions::new().append(true).read(true).open(path)?;
    if let Some(parent) = path.parent() {
        super::manifest::sync_dir(parent)?;
    }
    Ok(file)
}

/// "No space left on device", without Rust's "(os error 28)" suffix, as
/// Redis prints strerror().
pub fn os_error_text(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persistence::propagate::encode_command;

    #[test]
    fn writeback_is_due_every_step_and_stays_behind_the_end() {
        const MIB: u64 = 1 << 20;
        assert_eq!(writeback_due(WRITEBACK_STEP - 1, 0), None);
        let upto = writeback_due(WRITEBACK_STEP + MIB / 2, 0).unwrap();
        assert_eq!(upto, WRITEBACK_STEP - MIB);
        // Never within WRITEBACK_LAG of the end, always on a MiB boundary.
        for size in [WRITEBACK_STEP, 10 * MIB + 7, 999 * MIB + 12_345] {
            let upto = writeback_due(size, 0).unwrap();
            assert!(upto + WRITEBACK_LAG <= size, "{size}");
            assert_eq!(upto % MIB, 0, "{size}");
        }
        // Counted from where the last one was asked for.
        assert_eq!(writeback_due(10 * MIB, 7 * MIB), None);
        assert!(writeback_due(11 * MIB, 7 * MIB).is_some());
    }

    #[test]
    fn cache_trim_keeps_the_tail_and_steps_on_mib_boundaries() {
        const MIB: u64 = 1 << 20;
        let t = CacheTrim::from(0);
        // Not before the tail plus one step.
        assert_eq!(t.next_range(CACHE_TAIL_BYTES + CACHE_DROP_MIN - 1), None);
        assert_eq!(
            t.next_range(CACHE_TAIL_BYTES + CACHE_DROP_MIN + MIB / 2),
            Some(0..CACHE_DROP_MIN)
        );
        // Capped per call; the next call goes on from there.
        let r = t.next_range(10 << 30).unwrap();
        assert_eq!(r, 0..CACHE_DROP_MAX);
        let t = CacheTrim {
            dropped_upto: r.end,
        };
        assert_eq!(t.next_range(10 << 30), Some(r.end..2 * CACHE_DROP_MAX));
        // What the log held when opened is not ours to drop; the start is
        // rounded down, so no partial page is skipped for good.
        let t = CacheTrim::from(100 * MIB + 5);
        assert_eq!(t.dropped_upto, 100 * MIB);
        assert_eq!(t.next_range(100 * MIB + CACHE_TAIL_BYTES), None);
        assert_eq!(
            t.next_range(100 * MIB + CACHE_TAIL_BYTES + CACHE_DROP_MIN),
            Some(100 * MIB..100 * MIB + CACHE_DROP_MIN)
        );
    }

    fn log_of(cmds: &[&[&[u8]]]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in cmds {
            let mut resp = Vec::new();
            encode_command(&mut resp, c.iter().copied());
            frame(&mut out, &resp);
        }
        out
    }

    #[test]
    fn scans_valid_log() {
        let data = log_of(&[&[b"SET", b"a", b"1"], &[b"DEL", b"a"]]);
        let s = scan(&data);
        assert_eq!(s.commands.len(), 2);
        assert_eq!(s.valid_len, data.len());
        assert!(s.damage.is_none());
    }

    #[test]
    fn every_truncation_is_a_torn_tail() {
        let data = log_of(&[&[b"SET", b"a", b"1"], &[b"SET", b"b", b"22"]]);
        let first = scan(&data).commands[0].record.end;
        for cut in first..data.len() {
            let s = scan(&data[..cut]);
            assert_eq!(s.commands.len(), 1, "cut {cut}");
            assert_eq!(s.valid_len, first);
            assert!(!s.damage_is_mid_file);
        }
    }

    #[test]
    fn flipped_byte_mid_file_is_detected() {
        let mut data = log_of(&[
            &[b"SET", b"a", b"1"],
            &[b"SET", b"b", b"2"],
            &[b"SET", b"c", b"3"],
        ]);
        data[10] ^= 0x20;
        let s = scan(&data);
        assert_eq!(s.damage.map(|d| d.0), Some(0));
        assert!(s.damage_is_mid_file);
    }

    #[test]
    fn zero_tail_is_torn() {
        let mut data = log_of(&[&[b"SET", b"a", b"1"]]);
        let good = data.len();
        data.extend_from_slice(&[0u8; 64]);
        let s = scan(&data);
        assert_eq!(s.valid_len, good);
        assert!(!s.damage_is_mid_file);
    }

    /// A record may hold several commands: all of them load, or (torn or
    /// damaged) none.
    #[test]
    fn a_record_of_several_commands_is_all_or_nothing() {
        let mut payload = Vec::new();
        encode_command(&mut payload, [b"SET".as_slice(), b"a", b"1"].into_iter());
        encode_command(&mut payload, [b"DEL".as_slice(), b"a"].into_iter());
        let mut data = log_of(&[&[b"SET", b"z", b"0"]]);
        let first = data.len();
        frame(&mut data, &payload);
        let s = scan(&data);
        assert_eq!((s.records, s.commands.len()), (2, 3));
        assert_eq!(s.commands[1].record, first..data.len());
        assert_eq!(
            &data[s.commands[2].range.clone()],
            b"*2\r\n$3\r\nDEL\r\n$1\r\na\r\n"
        );
        for cut in first..data.len() {
            let s = scan(&data[..cut]);
            assert_eq!((s.records, s.valid_len), (1, first), "cut {cut}");
            assert!(!s.damage_is_mid_file);
        }
        // Bytes after the last command that are not a command: damage.
        let mut bad = payload.clone();
        bad.extend_from_slice(b"*1\r\n");
        let mut data = Vec::new();
        frame(&mut data, &bad);
        assert_eq!(scan(&data).damage, Some((0, RecordError::BadCommand)));
    }

    /// The writer: commands of one turn become one record, sealed at the
    /// write; the file scans back to the same commands.
    #[test]
    fn writer_groups_a_turn_into_one_record() {
        let dir = std::env::temp_dir().join(format!("redislite-aof-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("log.aof");
        let mut aof = Aof::open(&path, FsyncPolicy::No).unwrap();
        let cmds: Vec<Vec<u8>> = (0..5)
            .map(|i| {
                let mut out = Vec::new();
                let k = format!("k{i}");
                encode_command(
                    &mut out,
                    [b"SET".as_slice(), k.as_bytes(), b"v"].into_iter(),
                );
                out
            })
            .collect();
        for c in &cmds[..3] {
            aof.append_command(c);
            aof.end_unit();
        }
        assert_eq!(aof.flush(false), Flush::Done);
        for c in &cmds[3..] {
            aof.append_command(c);
        }
        assert_eq!(aof.flush(false), Flush::Done);
        let data = std::fs::read(&path).unwrap();
        let s = scan(&data);
        assert_eq!((s.records, s.valid_len, s.damage), (2, data.len(), None));
        let seen: Vec<&[u8]> = s.commands.iter().map(|c| &data[c.range.clone()]).collect();
        assert_eq!(seen, cmds.iter().map(|c| &c[..]).collect::<Vec<_>>());
        assert_eq!(aof.size, data.len() as u64);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn parse_command_rejects_garbage() {
        assert!(parse_command(b"*1\r\n$1\r\nX\r\n").is_some());
        assert!(parse_command(b"*1\r\n$2\r\nX\r\n").is_none());
        assert!(parse_command(b"*9999999\r\n$1\r\nX\r\n").is_none());
        assert!(parse_command(b"*1\r\n$1\r\nX\r\nextra").is_none());
    }
}
