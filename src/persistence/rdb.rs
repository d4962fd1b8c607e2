//! RDB snapshots: Redis's dump format, written and read.
//!
//! Owns: the encoder (version 10, as Redis 7.0 writes, with plain value
//! encodings: string, hash as type 4 "field value" pairs, list as type 1
//! elements, which every Redis since 2.x loads; streams in Redis 7.0's
//! type 19, whose codec is `rdb_stream.rs`; every string in Redis's
//! integer or LZF form where one applies, `put_str`), the decoder (plain
//! encodings plus the compact ones real Redis writes: listpack and ziplist
//! hashes, quicklist lists of listpack or ziplist nodes, ziplist lists,
//! int-encoded and LZF-compressed strings), SAVE and the forked BGSAVE.
//! The per-value codec (`value_type`, `write_value`, `decode_value`) is
//! shared with DUMP/RESTORE payloads (`dump.rs`), so both always agree.
//!
//! The encoder streams: `write_snapshot` writes into any `io::Write` (the
//! temp file, the full-sync pipe, the AOF rewrite's base) through a
//! 64 KiB buffer and computes the CRC-64 trailer as the bytes pass, so a
//! saving child needs O(buffer) memory beyond its copy-on-write image,
//! not a second copy of the dataset. A write error ends it at once.
//!
//! Must never: allocate by a length read from the file before checking it
//! against the bytes that remain (a length is a claim), trust a file whose
//! CRC-64 trailer does not match, write over the previous snapshot
//! before the new one is complete and fsynced (temp file, fsync, rename,
//! fsync the directory), or write to its output again after a write
//! failed.
//!
//! BGSAVE forks: the child owns a copy-on-write image of the dataset,
//! serialises it and `_exit`s; the parent loop goes on. The cost is the
//! fork itself (copying page tables: about 10 ms per GB of heap, the
//! loop's longest stall) and, while the child runs, one copied page per
//! page the parent writes to (at worst doubling memory under a write-heavy
//! load). Sorted sets are added here as they land.

use super::lzf_compress::Compressor;
use super::rdb_stream;
use crate::server::Server;
use crate::types::hash::HashLimits;
use crate::types::list::{End, Fill};
use crate::types::zset::Limits as ZSetLimits;
use crate::types::{CompactBytes, HashValue, ListValue, SetValue, StrValue, Value, ZSetValue};
use std::io::{self, Write};
use std::path::Path;

pub const RDB_VERSION: u32 = 10;
/// A static (not a const) so a running digest can borrow it for 'static.
/// Sixteen lookup tables (32 KiB, slice-by-16) instead of the crate's
/// default one: SAVE of a 48 MiB incompressible string went from 280 to
/// ~95 ms (BENCHMARKS.md "RDB string forms").
static CRC64: crc::Crc<u64, crc::Table<16>> =
    crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_REDIS);

const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_LIST_ZIPLIST: u8 = 10;
const TYPE_LIST_QUICKLIST: u8 = 14;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
/// Quicklist-2 node containers: one element stored as is, or a listpack.
const QUICKLIST_NODE_PLAIN: u64 = 1;
const QUICKLIST_NODE_PACKED: u64 = 2;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_ZSET_ZIPLIST: u8 = 12;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_HASH_ZIPMAP: u8 = 9;
const TYPE_HASH_ZIPLIST: u8 = 13;
const TYPE_HASH_LISTPACK: u8 = 16;

const OP_FUNCTION2: u8 = 245;
const OP_MODULE_AUX: u8 = 247;
const OP_IDLE: u8 = 248;
const OP_FREQ: u8 = 249;
const OP_AUX: u8 = 250;
const OP_RESIZEDB: u8 = 251;
const OP_EXPIRETIME_MS: u8 = 252;
const OP_EXPIRETIME: u8 = 253;
const OP_SELECTDB: u8 = 254;
const OP_EOF: u8 = 255;

/// Largest string accepted from a file (Redis's proto-max-bulk-len cap).
const STRING_MAX_BYTES: usize = 512 * 1024 * 1024;

// ---------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------

/// Bytes the snapshot writer gathers before handing them to the file or
/// pipe: what saving costs in memory beyond the dataset, however large
/// the dataset is (a whole-image buffer was ~50 MB per million keys).
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

pub(super) fn put_len<W: Write>(out: &mut W, len: u64) -> io::Result<()> {
    // One write per length: assembled here, not byte by byte.
    let mut b = [0u8; 9];
    let n = if len < 1 << 6 {
        b[0] = len as u8;
        1
    } else if len < 1 << 14 {
        b[0] = 0x40 | (len >> 8) as u8;
        b[1] = len as u8;
        2
    } else if len <= u32::MAX as u64 {
        b[0] = 0x80;
        b[1..5].copy_from_slice(&(len as u32).to_be_bytes());
        5
    } else {
        b[0] = 0x81;
        b[1..9].copy_from_slice(&len.to_be_bytes());
        9
    };
    out.write_all(&b[..n])
}

/// Whether the encoder LZF-compresses strings (`rdbcompression`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Lzf,
    Off,
}

impl Compression {
    pub fn from_config(config: &crate::config::Config) -> Compression {
        if config.rdbcompression {
            Compression::Lzf
        } else {
            Compression::Off
        }
    }
}

/// Strings longer than this are offered to LZF (Redis's threshold).
const COMPRESS_MIN_LEN: usize = 20;
/// LZF must save at least this many bytes for the compressed form to be
/// written (Redis's rule: its length fields cost about as much).
const COMPRESS_MIN_SAVING: usize = 4;
/// The length prefix that announces an encoded string (top bits 0b11),
/// and the encodings after it (Redis's RDB_ENC_*).
const ENCODED: u8 = 0xC0;
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

thread_local! {
    /// The LZF compressor (its 64 KiB hash table) and an output buffer,
    /// made once per thread that saves, not once per string or DUMP.
    static LZF: std::cell::RefCell<(Compressor, Vec<u8>)> =
        std::cell::RefCell::new((Compressor::new(), Vec::new()));
}

/// Write a string as Redis's RDB writer does: in integer form if it is
/// one (`int_form`), LZF-compressed if it is longer than 20 bytes, `c`
/// allows and that saves at least 4 bytes, else as length and bytes.
pub(super) fn put_str<W: Write>(out: &mut W, s: &[u8], c: Compression) -> io::Result<()> {
    if let Some((b, n)) = int_form(s) {
        return out.write_all(&b[..n]);
    }
    if c == Compression::Lzf && s.len() > COMPRESS_MIN_LEN && put_lzf(out, s)? {
        return Ok(());
    }
    put_len(out, s.len() as u64)?;
    out.write_all(s)
}

/// `s` in integer form (prefix and little-endian value, and its length)
/// if it is a number's canonical decimal form that fits 32 bits: what
/// the loader gets back is then the same bytes.
fn int_form(s: &[u8]) -> Option<([u8; 5], usize)> {
    if s.len() > 11 {
        return None;
    }
    let v = crate::persistence::listpack::canonical_i64(s)?;
    let mut b = [0u8; 5];
    let n = if let Ok(v) = i8::try_from(v) {
        b[0] = ENCODED | ENC_INT8;
        b[1] = v as u8;
        2
    } else if let Ok(v) = i16::try_from(v) {
        b[0] = ENCODED | ENC_INT16;
        b[1..3].copy_from_slice(&v.to_le_bytes());
        3
    } else {
        b[0] = ENCODED | ENC_INT32;
        b[1..5].copy_from_slice(&i32::try_from(v).ok()?.to_le_bytes());
        5
    };
    Some((b, n))
}

/// Write `s` LZF-compressed if that takes at most `len - 4` bytes.
/// Returns whether it was written.
fn put_lzf<W: Write>(out: &mut W, s: &[u8]) -> io::Result<bool> {
    LZF.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (lzf, packed) = &mut *guard;
        packed.clear();
        let fits = lzf.compress(s, packed, s.len() - COMPRESS_MIN_SAVING);
        let written = if fits {
            out.write_all(&[ENCODED | ENC_LZF])
                .and_then(|()| put_len(out, packed.len() as u64))
                .and_then(|()| put_len(out, s.len() as u64))
                .and_then(|()| out.write_all(packed))
        } else {
            Ok(())
        };
        // One huge string must not leave its buffer behind for the
        // thread's lifetime.
        if packed.capacity() > 1 << 20 {
            *packed = Vec::new();
        }
        written.map(|()| fits)
    })
}

/// The RDB type byte a value is written with (plain encodings; a stream's
/// only form is its listpack one).
pub fn value_type(v: &Value) -> u8 {
    match v {
        Value::Str(_) => TYPE_STRING,
        Value::Hash(_) => TYPE_HASH,
        Value::List(_) => TYPE_LIST,
        Value::Set(_) => TYPE_SET,
        // ZSET_2: binary scores.
        Value::ZSet(_) => TYPE_ZSET_2,
        Value::Stream(_) => rdb_stream::TYPE_STREAM_LISTPACKS_2,
    }
}

/// Write the body of `v` (everything after its type byte and key) in the
/// plain encoding `value_type` names. Shared by snapshots and DUMP.
pub fn write_value<W: Write>(out: &mut W, v: &Value, c: Compression) -> io::Result<()> {
    match v {
        Value::Str(s) => s.with_bytes(|b| put_str(out, b, c)),
        Value::Hash(h) => {
            put_len(out, h.len() as u64)?;
            for (f, v) in h.iter() {
                put_str(out, f, c)?;
                put_str(out, v, c)?;
            }
            Ok(())
        }
        Value::List(list) => {
            put_len(out, list.len() as u64)?;
            for v in list.iter() {
                put_str(out, v, c)?;
            }
            Ok(())
        }
        Value::Set(set) => {
            put_len(out, set.len() as u64)?;
            for m in set.iter() {
                m.with_bytes(|b| put_str(out, b, c))?;
            }
            Ok(())
        }
        Value::ZSet(z) => {
            // Highest first, like Redis, so a loader inserting in order
            // always inserts at the head.
            put_len(out, z.len() as u64)?;
            for (m, score) in z.iter_at(z.len().saturating_sub(1), true) {
                put_str(out, m, c)?;
                out.write_all(&score.to_le_bytes())?;
            }
            Ok(())
        }
        Value::Stream(s) => rdb_stream::write_stream(out, s, c),
    }
}

/// How many bytes [`write_value`] writes for `v` (DEBUG OBJECT's
/// `serializedlength`, which Redis computes the same way: by encoding).
pub fn serialized_len(v: &Value, c: Compression) -> usize {
    struct Count(usize);
    impl Write for Count {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut n = Count(0);
    // Counting never fails.
    let _ = write_value(&mut n, v, c);
    n.0
}

/// [`write_value`] into memory (DUMP payloads).
pub fn put_value(out: &mut Vec<u8>, v: &Value, c: Compression) {
    // `io::Write for Vec<u8>` never returns an error (it grows, or the
    // allocator aborts), so there is no error to pass on.
    let _ = write_value(out, v, c);
}

/// [`put_str`] into memory (FUNCTION DUMP payloads).
pub fn put_string(out: &mut Vec<u8>, s: &[u8], c: Compression) {
    // Writing to a Vec cannot fail.
    let _ = put_str(out, s, c);
}

/// CRC-64 (Jones, Redis's) of `data`: the RDB trailer and the DUMP footer.
pub fn crc64(data: &[u8]) -> u64 {
    CRC64.checksum(data)
}

/// Passes bytes through to `inner` and keeps the CRC-64 of exactly the
/// bytes `inner` accepted: the RDB trailer, computed as the image streams
/// out instead of over a finished image. Without a digest
/// (`rdbchecksum no`) the trailer is zero, which loaders read as "not
/// checksummed", and the saving skips the checksum's cost.
struct Crc64Writer<W> {
    inner: W,
    digest: Option<crc::Digest<'static, u64, crc::Table<16>>>,
}

impl<W: Write> Write for Crc64Writer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(d) = self.digest.as_mut() {
            d.update(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Which parts of the dataset a snapshot holds: a full sync or a file
/// has everything; a replica may ask for less (REPLCONF rdb-filter-only:
/// `redis-cli --functions-rdb` wants the function libraries only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotParts {
    pub keys: bool,
    pub functions: bool,
}

impl SnapshotParts {
    pub const ALL: SnapshotParts = SnapshotParts {
        keys: true,
        functions: true,
    };
}

impl Default for SnapshotParts {
    fn default() -> Self {
        SnapshotParts::ALL
    }
}

/// Serialise the whole dataset into `out` as it goes, through a buffer of
/// `WRITE_BUFFER_BYTES`: memory stays O(buffer), not O(dataset). Keys
/// already past their deadline are skipped (as Redis does when saving).
///
/// On an error (ENOSPC, a closed pipe...) it returns at once and nothing
/// more reaches `out`: bytes still buffered are dropped, not flushed.
/// `out` is not fsynced here (a pipe cannot be; files are by the caller).
pub fn write_snapshot<W: Write>(srv: &Server, out: &mut W) -> io::Result<()> {
    write_snapshot_parts(srv, out, SnapshotParts::ALL)
}

/// [`write_snapshot`] of only the `parts` asked for (the header and its
/// fields are always there).
pub fn write_snapshot_parts<W: Write>(
    srv: &Server,
    out: &mut W,
    parts: SnapshotParts,
) -> io::Result<()> {
    let hashing = Crc64Writer {
        inner: out,
        digest: srv.config.rdbchecksum.then(|| CRC64.digest()),
    };
    let mut buf = io::BufWriter::with_capacity(WRITE_BUFFER_BYTES, hashing);
    let body = put_snapshot_body(srv, &mut buf, parts).and_then(|()| buf.flush());
    // `into_parts`, not drop or `into_inner`: those would try once more
    // to write what a failed write left in the buffer.
    let (hashing, _unwritten) = buf.into_parts();
    body?;
    let crc = hashing.digest.map_or(0, |d| d.finalize());
    hashing.inner.write_all(&crc.to_le_bytes())?;
    hashing.inner.flush()
}

/// Everything up to and including the EOF opcode (the checksummed part).
fn put_snapshot_body<W: Write>(srv: &Server, out: &mut W, parts: SnapshotParts) -> io::Result<()> {
    let c = Compression::from_config(&srv.config);
    out.write_all(format!("REDIS{RDB_VERSION:04}").as_bytes())?;
    let aux: [(&str, String); 5] = [
        (
            "redis-ver",
            crate::commands::connection::REDIS_COMPAT_VERSION.to_string(),
        ),
        ("redis-bits", "64".into()),
        ("ctime", (srv.ks.now_ms / 1000).to_string()),
        ("used-mem", crate::memory::used_memory().to_string()),
        ("aof-base", "0".into()),
    ];
    for (k, v) in aux {
        put_aux(out, k.as_bytes(), v.as_bytes(), c)?;
    }
    // A replica serving a sub-replica passes its master's stream on
    // verbatim, which may be positioned on any database: say which. The
    // same field tells a restarted replica where its stream continues.
    // A master with a replication history: its own stream's database (0
    // when unpositioned: the next write selects one anyway), so a former
    // master restarted as a replica of its promoted replica continues
    // there; Redis writes its `slaveseldb` the same way.
    let stream_db = if !srv.is_replica() && srv.repl.backlog.is_some() {
        Some(srv.prop.stream_db.unwrap_or(0))
    } else {
        srv.repl
            .link
            .as_ref()
            .and_then(|l| l.stream_db())
            .or_else(|| srv.repl.cached_master.as_ref().map(|c| c.db))
    };
    if let Some(db) = stream_db {
        put_aux(out, b"repl-stream-db", db.to_string().as_bytes(), c)?;
    }
    // Our place in a replication history (as Redis 7.0 writes it): a
    // replica restarted from this file asks its master to continue from
    // here (see `restore_replication_position`).
    if let Some((id, offset)) = srv.replication_position() {
        put_aux(out, b"repl-id", id.to_string().as_bytes(), c)?;
        put_aux(out, b"repl-offset", offset.to_string().as_bytes(), c)?;
    }
    // Function libraries come before the databases, as Redis 7.0 writes
    // them: loading them needs nothing else from the file.
    if parts.functions {
        for code in srv.scripting.functions.codes() {
            out.write_all(&[OP_FUNCTION2])?;
            put_str(out, code, c)?;
        }
    }
    // Keys whose deadline has passed but that no access or expiry cycle
    // has removed yet are written too, as Redis 7.0 writes them: loading
    // the file drops them (INFO rdb_last_load_keys_expired). (A Redis
    // replica fed the file keeps them until its master's DEL; ours drops
    // them at load too, README "RDB".)
    for (db, d) in srv.ks.dbs.iter().enumerate() {
        if d.dict.is_empty() || !parts.keys {
            continue;
        }
        out.write_all(&[OP_SELECTDB])?;
        put_len(out, db as u64)?;
        out.write_all(&[OP_RESIZEDB])?;
        put_len(out, d.dict.len() as u64)?;
        put_len(out, d.expires.len() as u64)?;
        for (key, obj) in d.dict.iter() {
            if let Some(w) = d.expires.get(key.as_bytes()).copied() {
                out.write_all(&[OP_EXPIRETIME_MS])?;
                out.write_all(&w.to_le_bytes())?;
            }
            out.write_all(&[value_type(&obj.value)])?;
            put_str(out, key.as_bytes(), c)?;
            write_value(out, &obj.value, c)?;
        }
    }
    out.write_all(&[OP_EOF])
}

fn put_aux<W: Write>(out: &mut W, key: &[u8], value: &[u8], c: Compression) -> io::Result<()> {
    out.write_all(&[OP_AUX])?;
    put_str(out, key, c)?;
    put_str(out, value, c)
}

/// The whole snapshot in memory (tests and tools; the server streams it
/// with [`write_snapshot`]).
pub fn encode(srv: &Server) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    write_snapshot(srv, &mut out)?;
    Ok(out)
}

/// Write the snapshot to `path` atomically: stream it into a temp file,
/// fsync, rename, fsync the directory. On failure the temp file is
/// removed (a half-written one would keep a full disk full) and the
/// previous snapshot at `path` is untouched.
pub fn save_to(srv: &Server, path: &Path) -> io::Result<()> {
    let dir = parent_dir(path);
    let tmp = temp_path(path, std::process::id());
    let written = write_file_synced(srv, &tmp);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// The directory `path` is in ("." for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Where process `pid` (the server for SAVE, the child for BGSAVE) writes
/// the snapshot for `path` before renaming it into place.
fn temp_path(path: &Path, pid: u32) -> std::path::PathBuf {
    parent_dir(path).join(format!("temp-{pid}.rdb"))
}

/// The snapshot streamed into a new file at `path`, fsynced. The caller
/// renames it into place (`save_to`, the AOF rewrite's base).
pub fn write_file_synced(srv: &Server, path: &Path) -> io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    write_snapshot(srv, &mut f)?;
    f.sync_all()
}

/// SAVE: serialise and write synchronously (blocks the loop, as Redis).
pub fn save(srv: &mut Server) -> io::Result<()> {
    save_uncounted(srv)?;
    srv.rdb.saves += 1;
    Ok(())
}

/// `save` without counting in INFO rdb_saves: FLUSHALL's snapshot of the
/// emptied dataset and DEBUG RELOAD's, which Redis 7.0 does not count
/// either.
pub fn save_uncounted(srv: &mut Server) -> io::Result<()> {
    let path = super::rdb_path(&srv.config);
    match save_to(srv, &path) {
        Ok(()) => {
            srv.ks.dirty = 0;
            srv.lastsave_unix = crate::db::unix_ms() / 1000;
            srv.rdb.last_bgsave_ok = true;
            Ok(())
        }
        Err(e) => {
            log::warn!("Failed saving the DB: {e}");
            Err(e)
        }
    }
}

/// BGSAVE: fork; the child writes the snapshot and exits. Returns the
/// child's pid. `cron` reaps it with [`reap_child`].
pub fn bgsave(srv: &mut Server) -> io::Result<i32> {
    let path = super::rdb_path(&srv.config);
    // SAFETY: fork() in a process with other threads: the child runs only
    // this thread, serialises (allocating through glibc malloc, which
    // resets its locks in the child) and writes a file, then `_exit`s
    // without running destructors or atexit handlers. It takes no lock
    // another thread could hold (no logging, no stdio).
    let fork_start = std::time::Instant::now();
    let pid = unsafe { libc::fork() };
    if pid > 0 {
        // The parent's stall: copying the page tables (Redis's "fork").
        srv.note_fork(fork_start.elapsed());
    }
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        let ok = save_to(srv, &path).is_ok();
        // SAFETY: terminate the child immediately, as Redis's child does.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    srv.rdb.child = Some((pid, std::time::Instant::now()));
    srv.rdb.dirty_at_fork = srv.ks.dirty;
    Ok(pid)
}

/// Stop a running BGSAVE (FLUSHALL: its snapshot would hold what was just
/// flushed; shutdown): kill and reap the child, remove its temp file. Not
/// a failed save (Redis's killRDBChild): the status and counters stay.
/// True if there was one.
pub fn kill_child(srv: &mut Server) -> bool {
    let Some((pid, _)) = srv.rdb.child.take() else {
        return false;
    };
    super::kill_and_reap(pid);
    let _ = std::fs::remove_file(temp_path(&super::rdb_path(&srv.config), pid as u32));
    true
}

/// Collect a finished BGSAVE child (non-blocking); updates the stats.
pub fn reap_child(srv: &mut Server) {
    let Some((pid, started)) = srv.rdb.child else {
        return;
    };
    let mut status: libc::c_int = 0;
    // SAFETY: waitpid on our own child with a valid status pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if r == 0 {
        return;
    }
    srv.rdb.child = None;
    srv.rdb.last_bgsave_time_sec = started.elapsed().as_secs() as i64;
    let ok = r == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if ok {
        log::info!("Background saving terminated with success");
        srv.ks.dirty = srv.ks.dirty.saturating_sub(srv.rdb.dirty_at_fork);
        srv.lastsave_unix = crate::db::unix_ms() / 1000;
        srv.rdb.saves += 1;
        srv.rdb.last_bgsave_ok = true;
    } else {
        log::warn!("Background saving error");
        srv.rdb.last_bgsave_ok = false;
    }
    srv.rdb.last_bgsave_try_unix = crate::db::unix_ms() / 1000;
}

// ---------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------

/// Error while reading a snapshot, with the byte offset.
pub(super) fn bad(off: usize, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{what} at offset {off}"),
    )
}

pub(super) struct Reader<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
}

enum Len {
    Plain(u64),
    /// Special string encodings: 0 int8, 1 int16, 2 int32, 3 LZF.
    Encoded(u8),
}

impl<'a> Reader<'a> {
    pub(super) fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if self.data.len() - self.pos < n {
            return Err(bad(self.pos, "unexpected end of file"));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(super) fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn len_enc(&mut self) -> io::Result<Len> {
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => Len::Plain((b & 0x3f) as u64),
            1 => Len::Plain((((b & 0x3f) as u64) << 8) | self.u8()? as u64),
            2 => match b {
                0x80 => {
                    let s = self.take(4)?;
                    Len::Plain(u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as u64)
                }
                0x81 => {
                    let s = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(s);
                    Len::Plain(u64::from_be_bytes(a))
                }
                _ => return Err(bad(self.pos - 1, "unknown length encoding")),
            },
            _ => Len::Encoded(b & 0x3f),
        })
    }

    pub(super) fn len(&mut self) -> io::Result<u64> {
        match self.len_enc()? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(_) => Err(bad(self.pos - 1, "unexpected encoded length")),
        }
    }

    /// A length used to size a loop or allocation: at most the bytes left
    /// (every element takes at least one byte).
    pub(super) fn count(&mut self) -> io::Result<usize> {
        let at = self.pos;
        let n = self.len()?;
        if n > (self.data.len() - self.pos) as u64 {
            return Err(bad(at, "length larger than the file"));
        }
        Ok(n as usize)
    }

    pub(super) fn string(&mut self) -> io::Result<Vec<u8>> {
        let at = self.pos;
        match self.len_enc()? {
            Len::Plain(n) => {
                if n > STRING_MAX_BYTES as u64 {
                    return Err(bad(at, "string too long"));
                }
                Ok(self.take(n as usize)?.to_vec())
            }
            Len::Encoded(ENC_INT8) => Ok((self.u8()? as i8).to_string().into_bytes()),
            Len::Encoded(ENC_INT16) => {
                let s = self.take(2)?;
                Ok(i16::from_le_bytes([s[0], s[1]]).to_string().into_bytes())
            }
            Len::Encoded(ENC_INT32) => {
                let s = self.take(4)?;
                Ok(i32::from_le_bytes([s[0], s[1], s[2], s[3]])
                    .to_string()
                    .into_bytes())
            }
            Len::Encoded(ENC_LZF) => {
                let clen = self.len()?;
                let ulen = self.len()?;
                // LZF expands at most ~100x: a bigger claim is damage.
                if ulen > STRING_MAX_BYTES as u64 || ulen > clen.saturating_mul(100) + 64 {
                    return Err(bad(at, "impossible LZF length"));
                }
                let c = self.take(usize::try_from(clen).map_err(|_| bad(at, "LZF length"))?)?;
                let out = lzf::decompress(c, ulen as usize)
                    .map_err(|e| bad(at, &format!("LZF data invalid ({e:?})")))?;
                if out.len() as u64 != ulen {
                    return Err(bad(at, "LZF length mismatch"));
                }
                Ok(out)
            }
            Len::Encoded(_) => Err(bad(at, "unknown string encoding")),
        }
    }
}

/// Check a whole RDB file's CRC-64 trailer without loading it
/// (`--check-aof` on a manifest's base). A zero trailer means the writer
/// had `rdbchecksum no`: accepted, as the loader does.
pub fn verify_checksum(data: &[u8]) -> Result<(), String> {
    if data.len() < 9 + 1 + 8 || &data[..5] != b"REDIS" {
        return Err("not an RDB file (too short or wrong signature)".into());
    }
    let body = data.len() - 8;
    if data[body - 1] != OP_EOF {
        return Err(format!(
            "no EOF marker before the checksum at offset {}",
            body - 1
        ));
    }
    let mut a = [0u8; 8];
    a.copy_from_slice(&data[body..]);
    let stored = u64::from_le_bytes(a);
    if stored != 0 && stored != CRC64.checksum(&data[..body]) {
        return Err(format!("CRC-64 checksum mismatch at offset {body}"));
    }
    Ok(())
}

/// The library sources in a FUNCTION DUMP payload whose footer was
/// verified: `[245][RDB string]` entries up to the footer. A string may
/// run into the footer bytes, as Redis reads it; nothing is read past
/// the payload.
pub fn read_function_payload(payload: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let end = payload.len().saturating_sub(10);
    let mut r = Reader {
        data: payload,
        pos: 0,
    };
    let mut codes = Vec::new();
    while r.pos < end {
        let op = r
            .u8()
            .map_err(|_| "ERR Failed loading library payload".to_string())?;
        if op != OP_FUNCTION2 {
            return Err(crate::scripting::functions::payload_opcode_error(op));
        }
        let code = r
            .string()
            .map_err(|_| "ERR Failed loading library payload".to_string())?;
        codes.push(code);
    }
    Ok(codes)
}

/// Load `path` into the (empty) keyspace. Returns (keys loaded, keys
/// skipped because already expired).
pub fn load_file(srv: &mut Server, path: &Path) -> io::Result<(u64, u64)> {
    let data = std::fs::read(path)?;
    load_bytes(srv, &data)
}

pub fn load_bytes(srv: &mut Server, data: &[u8]) -> io::Result<(u64, u64)> {
    load_bytes_into(srv, data, true)
}

/// Load a snapshot into the keyspace as it is. A key already present is
/// replaced when `merge`, else the load fails (DEBUG RELOAD NOFLUSH
/// without MERGE, as Redis's "duplicate key" error).
pub fn load_bytes_into(srv: &mut Server, data: &[u8], merge: bool) -> io::Result<(u64, u64)> {
    if data.len() < 9 || &data[..5] != b"REDIS" {
        return Err(bad(0, "wrong signature (not an RDB file)"));
    }
    let version: u32 = std::str::from_utf8(&data[5..9])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(5, "bad RDB version"))?;
    if !(1..=RDB_VERSION).contains(&version) {
        return Err(bad(
            5,
            &format!("can't handle RDB format version {version}"),
        ));
    }
    let limits = EncodingLimits::from_config(&srv.config);
    let mut r = Reader { data, pos: 9 };
    let mut db = 0usize;
    let mut expire: Option<i64> = None;
    let (mut loaded, mut expired) = (0u64, 0u64);
    let now = crate::db::unix_ms();
    loop {
        let at = r.pos;
        let op = r.u8()?;
        match op {
            OP_EOF => {
                if version >= 5 && r.data.len() - r.pos >= 8 {
                    let s = r.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(s);
                    let stored = u64::from_le_bytes(a);
                    // A zero checksum means the writer had `rdbchecksum
                    // no`; with `rdbchecksum no` here nothing is checked
                    // (both as in Redis).
                    if srv.config.rdbchecksum
                        && !srv.skip_checksum_validation
                        && stored != 0
                        && stored != CRC64.checksum(&data[..at + 1])
                    {
                        return Err(bad(at, "RDB CRC-64 checksum mismatch"));
                    }
                }
                break;
            }
            OP_SELECTDB => {
                let n = r.len()?;
                if n >= srv.ks.dbs.len() as u64 {
                    return Err(bad(
                        at,
                        &format!("database {n} out of range (databases {})", srv.ks.dbs.len()),
                    ));
                }
                db = n as usize;
            }
            OP_RESIZEDB => {
                r.len()?;
                r.len()?;
            }
            OP_AUX => {
                let k = r.string()?;
                let v = r.string()?;
                if k == b"repl-id" && v.len() == 40 && v.iter().all(u8::is_ascii_hexdigit) {
                    srv.repl.loaded_replid = std::str::from_utf8(&v).ok().map(str::to_string);
                } else if k == b"repl-offset" {
                    srv.repl.loaded_offset = std::str::from_utf8(&v)
                        .ok()
                        .and_then(|v| v.parse::<u64>().ok());
                } else if k == b"repl-stream-db" {
                    // The database the replication stream that follows
                    // this payload is positioned on (see replica.rs).
                    srv.repl.loaded_stream_db = std::str::from_utf8(&v)
                        .ok()
                        .and_then(|v| v.parse::<usize>().ok())
                        .filter(|&d| d < srv.ks.dbs.len());
                }
            }
            OP_EXPIRETIME_MS => {
                let s = r.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                expire = Some(i64::from_le_bytes(a));
            }
            OP_EXPIRETIME => {
                let s = r.take(4)?;
                expire = Some(i32::from_le_bytes([s[0], s[1], s[2], s[3]]) as i64 * 1000);
            }
            OP_FREQ => {
                r.u8()?;
            }
            OP_IDLE => {
                r.len()?;
            }
            OP_FUNCTION2 => {
                let code = r.string()?;
                let rand = srv.scripting.rand.clone();
                srv.scripting
                    .functions
                    .load_code(&rand, &code, merge)
                    .map_err(|e| bad(at, &format!("failed loading a function library: {e}")))?;
            }
            OP_MODULE_AUX => {
                return Err(bad(at, "modules in RDB files are not supported"));
            }
            t => {
                let key = r.string()?;
                let value = read_value(&mut r, t, &limits)?;
                let deadline = expire.take();
                if deadline.is_some_and(|w| w <= now) {
                    expired += 1;
                    continue;
                }
                if !merge && srv.ks.dbs[db].dict.get(&key[..]).is_some() {
                    return Err(bad(
                        at,
                        &format!("duplicate key '{}'", String::from_utf8_lossy(&key)),
                    ));
                }
                srv.ks.set(db, &key, value, false);
                if let Some(w) = deadline {
                    srv.ks.set_expire(db, &key, w);
                }
                loaded += 1;
            }
        }
    }
    // INFO rdb_last_load_keys_loaded / _expired describe the last load,
    // whichever it was (startup, AOF base, full sync, DEBUG RELOAD), as
    // Redis sets them at the end of every RDB load.
    srv.rdb.loaded_keys = loaded;
    srv.rdb.loaded_expired = expired;
    Ok((loaded, expired))
}

/// The encoding thresholds a loaded value is built with (the same
/// options the commands use, so a loaded key has the encoding the same
/// data written by commands would have).
struct EncodingLimits {
    hash: HashLimits,
    intset_max: usize,
    fill: Fill,
    zset: ZSetLimits,
}

impl EncodingLimits {
    fn from_config(c: &crate::config::Config) -> EncodingLimits {
        let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        EncodingLimits {
            hash: HashLimits {
                max_listpack_entries: size(c.hash_max_listpack_entries),
                max_listpack_value: size(c.hash_max_listpack_value),
            },
            intset_max: size(c.set_max_intset_entries),
            fill: Fill::new(c.list_max_listpack_size),
            zset: ZSetLimits {
                max_entries: size(c.zset_max_listpack_entries),
                max_value: size(c.zset_max_listpack_value),
            },
        }
    }
}

/// Decode one value of RDB type `t` from the start of `body` (a DUMP
/// payload's object, after its type byte). Bytes after the value are
/// ignored, as Redis's RESTORE ignores them; every length inside is
/// checked against `body`, so a forged payload cannot make it allocate
/// more than a bounded multiple of its own size (LZF, see `string`).
pub fn decode_value(config: &crate::config::Config, t: u8, body: &[u8]) -> io::Result<Value> {
    let limits = EncodingLimits::from_config(config);
    let mut r = Reader { data: body, pos: 0 };
    read_value(&mut r, t, &limits)
}

fn read_value(r: &mut Reader, t: u8, limits: &EncodingLimits) -> io::Result<Value> {
    let (fill, intset_max, zset_limits) = (limits.fill, limits.intset_max, limits.zset);
    let limits = limits.hash;
    let at = r.pos;
    match t {
        TYPE_LIST => {
            let n = r.count()?;
            let mut list = ListValue::new();
            for _ in 0..n {
                list.push(End::Tail, &r.string()?, fill);
            }
            nonempty_list(list, at)
        }
        TYPE_LIST_ZIPLIST => {
            let blob = r.string()?;
            let items = ziplist_entries(&blob).ok_or_else(|| bad(at, "invalid ziplist"))?;
            let mut list = ListValue::new();
            items.iter().for_each(|v| list.push(End::Tail, v, fill));
            nonempty_list(list, at)
        }
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            let nodes = r.count()?;
            let mut list = ListValue::new();
            for _ in 0..nodes {
                let container = if t == TYPE_LIST_QUICKLIST_2 {
                    r.len()?
                } else {
                    QUICKLIST_NODE_PACKED
                };
                let node_at = r.pos;
                let blob = r.string()?;
                match container {
                    QUICKLIST_NODE_PLAIN => list.push(End::Tail, &blob, fill),
                    QUICKLIST_NODE_PACKED => {
                        let items = if t == TYPE_LIST_QUICKLIST_2 {
                            listpack_entries(&blob)
                        } else {
                            ziplist_entries(&blob)
                        }
                        .ok_or_else(|| bad(node_at, "invalid quicklist node"))?;
                        // Redis skips empty nodes too.
                        items.iter().for_each(|v| list.push(End::Tail, v, fill));
                    }
                    _ => return Err(bad(node_at, "unknown quicklist node container")),
                }
            }
            nonempty_list(list, at)
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            let n = r.count()?;
            // Sized by what is actually read, not by the claimed count.
            let mut pairs = Vec::new();
            for _ in 0..n {
                let m = r.string()?;
                let score = if t == TYPE_ZSET_2 {
                    let b = r.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    f64::from_le_bytes(a)
                } else {
                    // Redis's rdbLoadDoubleValue: a length byte, with 253,
                    // 254 and 255 standing for nan, inf and -inf.
                    match r.u8()? {
                        253 => f64::NAN,
                        254 => f64::INFINITY,
                        255 => f64::NEG_INFINITY,
                        len => {
                            let text = r.take(usize::from(len))?;
                            crate::types::zset::parse_score(text)
                                .ok_or_else(|| bad(at, "invalid sorted set score"))?
                        }
                    }
                };
                pairs.push((CompactBytes::from_vec(m), score));
            }
            ZSetValue::from_pairs(pairs, zset_limits)
                .map(|z| Value::ZSet(Box::new(z)))
                .map_err(|e| bad(at, e))
        }
        TYPE_ZSET_LISTPACK | TYPE_ZSET_ZIPLIST => {
            let blob = r.string()?;
            let items = if t == TYPE_ZSET_LISTPACK {
                listpack_entries(&blob)
            } else {
                ziplist_entries(&blob)
            }
            .ok_or_else(|| bad(at, "invalid listpack/ziplist"))?;
            if items.len() % 2 != 0 {
                return Err(bad(at, "odd number of sorted set entries"));
            }
            let mut pairs = Vec::with_capacity(items.len() / 2);
            for pair in items.chunks(2) {
                let score = crate::types::zset::parse_score(&pair[1])
                    .ok_or_else(|| bad(at, "invalid sorted set score"))?;
                pairs.push((CompactBytes::new(&pair[0]), score));
            }
            ZSetValue::from_pairs(pairs, zset_limits)
                .map(|z| Value::ZSet(Box::new(z)))
                .map_err(|e| bad(at, e))
        }
        TYPE_SET => {
            let n = r.count()?;
            let mut set: Option<SetValue> = None;
            for _ in 0..n {
                let m = r.string()?;
                // Redis 7.0 refuses a payload that repeats a member (it
                // would have lost one silently): "Bad data format".
                let added = set
                    .get_or_insert_with(|| SetValue::for_first_member(&m))
                    .add(&m, intset_max);
                if !added {
                    return Err(bad(at, "duplicate set member"));
                }
            }
            set.map(Value::Set).ok_or_else(|| bad(at, "empty set"))
        }
        TYPE_SET_INTSET => {
            let blob = r.string()?;
            let ints = intset_entries(&blob).ok_or_else(|| bad(at, "invalid intset"))?;
            let mut set: Option<SetValue> = None;
            for v in ints {
                let m = v.to_string();
                set.get_or_insert_with(|| SetValue::for_first_member(m.as_bytes()))
                    .add(m.as_bytes(), intset_max);
            }
            set.map(Value::Set).ok_or_else(|| bad(at, "empty set"))
        }
        TYPE_STRING => Ok(Value::Str(StrValue::from_vec(r.string()?))),
        TYPE_HASH => {
            let n = r.count()?;
            let mut h = HashValue::new();
            for _ in 0..n {
                let f = r.string()?;
                let v = r.string()?;
                if !h.set(&f, &v, limits) {
                    return Err(bad(at, "duplicate hash field"));
                }
            }
            nonempty_hash(h, at)
        }
        TYPE_HASH_LISTPACK | TYPE_HASH_ZIPLIST => {
            let blob = r.string()?;
            let items = if t == TYPE_HASH_LISTPACK {
                listpack_entries(&blob)
            } else {
                ziplist_entries(&blob)
            }
            .ok_or_else(|| bad(at, "invalid listpack/ziplist"))?;
            if items.len() % 2 != 0 {
                return Err(bad(at, "odd number of hash entries"));
            }
            let mut h = HashValue::new();
            for pair in items.chunks(2) {
                if !h.set(&pair[0], &pair[1], limits) {
                    return Err(bad(at, "duplicate hash field"));
                }
            }
            nonempty_hash(h, at)
        }
        rdb_stream::TYPE_STREAM_LISTPACKS
        | rdb_stream::TYPE_STREAM_LISTPACKS_2
        | rdb_stream::TYPE_STREAM_LISTPACKS_3 => {
            rdb_stream::read_stream(r, t).map(|s| Value::Stream(Box::new(s)))
        }
        TYPE_HASH_ZIPMAP => Err(bad(at, "zipmap hashes (RDB before v4) are not supported")),
        _ => Err(bad(at - 1, &format!("unsupported value type {t}"))),
    }
}

fn nonempty_list(list: ListValue, at: usize) -> io::Result<Value> {
    if list.is_empty() {
        return Err(bad(at, "empty list"));
    }
    Ok(Value::List(Box::new(list)))
}

fn nonempty_hash(h: HashValue, at: usize) -> io::Result<Value> {
    if h.is_empty() {
        return Err(bad(at, "empty hash"));
    }
    Ok(Value::Hash(h))
}

/// The entries of a listpack blob as byte strings (integers in decimal).
pub fn listpack_entries(lp: &[u8]) -> Option<Vec<Vec<u8>>> {
    if lp.len() < 7 {
        return None;
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    if total != lp.len() {
        return None;
    }
    let mut out = Vec::new();
    let mut p = 6;
    loop {
        let b = *lp.get(p)?;
        if b == 0xff {
            break;
        }
        let (entry, enc_len): (Vec<u8>, usize) = if b & 0x80 == 0 {
            ((b & 0x7f).to_string().into_bytes(), 1)
        } else if b & 0xc0 == 0x80 {
            let n = (b & 0x3f) as usize;
            (lp.get(p + 1..p + 1 + n)?.to_vec(), 1 + n)
        } else if b & 0xe0 == 0xc0 {
            let v = ((((b & 0x1f) as u16) << 8) | *lp.get(p + 1)? as u16) as i16;
            // 13-bit two's complement.
            let v = if v >= 1 << 12 { v - (1 << 13) } else { v };
            (v.to_string().into_bytes(), 2)
        } else if b & 0xf0 == 0xe0 {
            let n = (((b & 0x0f) as usize) << 8) | *lp.get(p + 1)? as usize;
            (lp.get(p + 2..p + 2 + n)?.to_vec(), 2 + n)
        } else {
            let int = |n: usize| -> Option<i64> {
                let s = lp.get(p + 1..p + 1 + n)?;
                let mut a = [0u8; 8];
                a[..n].copy_from_slice(s);
                let shift = 64 - 8 * n as u32;
                Some((i64::from_le_bytes(a) << shift) >> shift)
            };
            match b {
                0xf0 => {
                    let s = lp.get(p + 1..p + 5)?;
                    let n = u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize;
                    (lp.get(p + 5..p + 5 + n)?.to_vec(), 5 + n)
                }
                0xf1 => (int(2)?.to_string().into_bytes(), 3),
                0xf2 => (int(3)?.to_string().into_bytes(), 4),
                0xf3 => (int(4)?.to_string().into_bytes(), 5),
                0xf4 => (int(8)?.to_string().into_bytes(), 9),
                _ => return None,
            }
        };
        let backlen = match enc_len {
            0..=127 => 1,
            128..=16382 => 2,
            16383..=2097150 => 3,
            2097151..=268435454 => 4,
            _ => 5,
        };
        out.push(entry);
        p += enc_len + backlen;
    }
    Some(out)
}

/// The integers of an intset blob: u32 width (2, 4 or 8), u32 count, then
/// the values, all little-endian.
pub fn intset_entries(b: &[u8]) -> Option<Vec<i64>> {
    let width = u32::from_le_bytes(b.get(0..4)?.try_into().ok()?) as usize;
    let n = u32::from_le_bytes(b.get(4..8)?.try_into().ok()?) as usize;
    if !matches!(width, 2 | 4 | 8) || b.len() != 8 + n.checked_mul(width)? {
        return None;
    }
    Some(
        b[8..]
            .chunks(width)
            .map(|c| {
                let mut a = [0u8; 8];
                a[..width].copy_from_slice(c);
                let shift = 64 - 8 * width as u32;
                (i64::from_le_bytes(a) << shift) >> shift
            })
            .collect(),
    )
}

/// The entries of a ziplist blob (RDB before version 10).
pub fn ziplist_entries(zl: &[u8]) -> Option<Vec<Vec<u8>>> {
    if zl.len() < 11 {
        return None;
    }
    let mut out = Vec::new();
    let mut p = 10;
    loop {
        let b = *zl.get(p)?;
        if b == 0xff {
            break;
        }
        p += if b == 0xfe { 5 } else { 1 };
        let e = *zl.get(p)?;
        let int = |n: usize| -> Option<i64> {
            let s = zl.get(p + 1..p + 1 + n)?;
            let mut a = [0u8; 8];
            a[..n].copy_from_slice(s);
            let shift = 64 - 8 * n as u32;
            Some((i64::from_le_bytes(a) << shift) >> shift)
        };
        let (entry, len): (Vec<u8>, usize) = match e >> 6 {
            0 => {
                let n = (e & 0x3f) as usize;
                (zl.get(p + 1..p + 1 + n)?.to_vec(), 1 + n)
            }
            1 => {
                let n = (((e & 0x3f) as usize) << 8) | *zl.get(p + 1)? as usize;
                (zl.get(p + 2..p + 2 + n)?.to_vec(), 2 + n)
            }
            2 => {
                let s = zl.get(p + 1..p + 5)?;
                let n = u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize;
                (zl.get(p + 5..p + 5 + n)?.to_vec(), 5 + n)
            }
            _ => match e {
                0xc0 => (int(2)?.to_string().into_bytes(), 3),
                0xd0 => (int(4)?.to_string().into_bytes(), 5),
                0xe0 => (int(8)?.to_string().into_bytes(), 9),
                0xf0 => (int(3)?.to_string().into_bytes(), 4),
                0xfe => (int(1)?.to_string().into_bytes(), 2),
                0xf1..=0xfd => (((e & 0x0f) as i64 - 1).to_string().into_bytes(), 1),
                _ => return None,
            },
        };
        out.push(entry);
        p += len;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_roundtrip() {
        for n in [0u64, 63, 64, 16383, 16384, 1 << 32, u64::MAX] {
            let mut out = Vec::new();
            put_len(&mut out, n).unwrap();
            let mut r = Reader { data: &out, pos: 0 };
            assert_eq!(r.len().unwrap(), n);
        }
    }

    #[test]
    fn listpack_decodes_strings_and_ints() {
        // Built by hand: "a", 5, -2 (13-bit), 300 (13-bit).
        let mut lp = vec![0, 0, 0, 0, 4, 0];
        lp.extend_from_slice(&[0x81, b'a', 2]);
        lp.extend_from_slice(&[5, 1]);
        lp.extend_from_slice(&[0xdf, 0xfe, 2]);
        lp.extend_from_slice(&[0xc1, 0x2c, 2]);
        lp.push(0xff);
        let n = lp.len() as u32;
        lp[..4].copy_from_slice(&n.to_le_bytes());
        let e = listpack_entries(&lp).unwrap();
        assert_eq!(
            e,
            vec![
                b"a".to_vec(),
                b"5".to_vec(),
                b"-2".to_vec(),
                b"300".to_vec()
            ]
        );
    }

    use crate::server::offline::Offline;

    fn run(off: &mut Offline, args: &[&str]) -> Vec<u8> {
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        off.run(&argv)
    }

    /// `RPUSH`/`HSET`/`SADD`/`ZADD key` with `n` generated elements.
    fn fill(off: &mut Offline, cmd: &str, key: &str, n: usize, elem: impl Fn(usize) -> String) {
        let elems: Vec<String> = (0..n).map(elem).collect();
        let mut args = vec![cmd, key];
        args.extend(elems.iter().map(String::as_str));
        assert!(!run(off, &args).starts_with(b"-"), "{cmd} {key}");
    }

    /// Largest single value below: written around the buffer, not in it.
    const BIG_STRING: usize = 300_000;

    /// Every type in each of its in-memory encodings (int, embedded and
    /// raw strings; listpack and hashtable hashes; single- and multi-node
    /// lists with a plain node; intset and hashtable sets; listpack and
    /// skiplist sorted sets), a TTL, three databases, many small keys:
    /// an image several write buffers long. Saved uncompressed
    /// (`rdbcompression no`), so the big value stays bigger than the
    /// write buffer.
    fn every_encoding() -> Offline {
        let mut off = Offline::new();
        off.srv.config.rdbcompression = false;
        let big = "b".repeat(BIG_STRING);
        for args in [
            &["SET", "int", "-12345"][..],
            &["SET", "emb", "hello"],
            &["SET", "raw", &"r".repeat(5000)],
            &["SET", "big", &big],
            &["SET", "ttl", "v", "PXAT", "4102444800000"],
            &["HSET", "hsmall", "a", "1", "b", "two"],
            &["RPUSH", "lsmall", "a", "1", "", "-300"],
            &["SADD", "sints", "1", "-5", "70000", "5000000000"],
            &["SADD", "swords", "a", "b", "12"],
            &["ZADD", "zsmall", "1", "a", "2.5", "b", "-inf", "c"],
        ] {
            assert!(!run(&mut off, args).starts_with(b"-"), "{args:?}");
        }
        fill(&mut off, "HSET", "hbig", 1200, |i| {
            if i % 2 == 0 {
                format!("field:{i}")
            } else {
                format!("{}", i * 1000)
            }
        });
        fill(&mut off, "RPUSH", "lbig", 3000, |i| format!("elem:{i}"));
        run(
            &mut off,
            &[
                "LINSERT",
                "lbig",
                "BEFORE",
                "elem:1500",
                &"y".repeat(20_000),
            ],
        );
        fill(&mut off, "SADD", "sbig", 700, |i| format!("m{i}"));
        fill(&mut off, "ZADD", "zbig", 800, |i| {
            if i % 2 == 0 {
                format!("{}.25", i / 2)
            } else {
                format!("member:{i}")
            }
        });
        for i in 0..2000 {
            run(&mut off, &["SET", &format!("k:{i}"), &format!("value:{i}")]);
        }
        run(&mut off, &["SELECT", "2"]);
        run(&mut off, &["SET", "other", "db"]);
        run(&mut off, &["SELECT", "15"]);
        fill(&mut off, "RPUSH", "last", 100, |i| i.to_string());
        off
    }

    /// Accepts a few bytes per call (and sometimes none, as an
    /// interrupted syscall), recording every call's size.
    #[derive(Default)]
    struct Trickle {
        data: Vec<u8>,
        calls: Vec<usize>,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.calls.push(buf.len());
            if self.calls.len().is_multiple_of(5) {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.calls.len() % 13 + 1);
            self.data.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Accepts whatever it is given, recording every call's size.
    #[derive(Default)]
    struct Recorder {
        data: Vec<u8>,
        calls: Vec<usize>,
    }

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.calls.push(buf.len());
            self.data.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_image_reaches_the_writer_in_buffer_sized_pieces() {
        let off = every_encoding();
        let mut rec = Recorder::default();
        write_snapshot(&off.srv, &mut rec).unwrap();
        assert!(
            rec.data.len() > 4 * WRITE_BUFFER_BYTES,
            "{}",
            rec.data.len()
        );
        // Streamed: no piece bigger than the buffer except the one value
        // bigger than the buffer, written straight through (its length
        // prefix is buffered). A whole-image encode would be one call.
        let over: Vec<usize> = rec
            .calls
            .iter()
            .copied()
            .filter(|&n| n > WRITE_BUFFER_BYTES)
            .collect();
        assert_eq!(over, vec![BIG_STRING], "{} calls", rec.calls.len());
        // The trailer is the one-shot CRC-64 of everything before it.
        let (body, trailer) = rec.data.split_at(rec.data.len() - 8);
        assert_eq!(trailer, crc64(body).to_le_bytes());
        assert_eq!(body.last(), Some(&OP_EOF));
        // The same bytes whatever the writer accepts per call, and they
        // load back into the same dataset.
        let mut trickle = Trickle::default();
        write_snapshot(&off.srv, &mut trickle).unwrap();
        assert!(
            trickle.data == rec.data,
            "a short-writing writer got other bytes"
        );
        assert!(encode(&off.srv).unwrap() == rec.data);
        let mut back = Offline::new();
        back.srv.config.rdbcompression = false;
        back.load_rdb(&rec.data).unwrap();
        for db in 0..back.srv.ks.dbs.len() {
            let (a, b) = (&off.srv.ks.dbs[db], &back.srv.ks.dbs[db]);
            assert_eq!(
                (a.dict.len(), a.expires.len()),
                (b.dict.len(), b.expires.len()),
                "db {db}"
            );
        }
        assert_eq!(encode(&back.srv).unwrap().len(), rec.data.len());
    }

    /// Takes `room` bytes, then fails every call with ENOSPC, counting
    /// the calls made after the first failure.
    struct FullDisk {
        data: Vec<u8>,
        room: usize,
        failed: usize,
    }

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.room - self.data.len());
            if n == 0 {
                self.failed += 1;
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            self.data.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_writer_ends_the_snapshot_with_its_error_and_gets_nothing_more() {
        let off = every_encoding();
        let full = encode(&off.srv).unwrap();
        // Inside the first buffer, past the big value, and 8 bytes short
        // of the end (only the trailer is refused).
        for room in [
            1000,
            WRITE_BUFFER_BYTES + 1,
            BIG_STRING + 70_000,
            full.len() - 8,
        ] {
            let mut disk = FullDisk {
                data: Vec::new(),
                room,
                failed: 0,
            };
            let err = write_snapshot(&off.srv, &mut disk).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "room {room}");
            assert_eq!(
                disk.failed, 1,
                "room {room}: written to again after the failure"
            );
            assert_eq!(disk.data.len(), room);
            assert!(
                disk.data[..] == full[..room],
                "room {room}: not a prefix of the image"
            );
        }
    }

    #[test]
    fn the_streamed_image_is_byte_for_byte_the_whole_buffer_encoders() {
        // One key per database and types whose order is not seeded
        // randomly, so the image is the same on every run; its length and
        // CRC were taken from the encoder that built the image in one Vec
        // before writing it (commit 07bf490), and taken again when strings
        // got Redis's integer and LZF forms (`rdbcompression` on, as by
        // default).
        let mut off = Offline::new();
        let keys: [&[&str]; 8] = [
            &["SET", "int", "-12345"],
            &["SET", "emb", "hello"],
            &["SET", "raw", &"r".repeat(100_000)],
            &["HSET", "hsmall", "a", "1", "b", "two", "c", "-300000"],
            &["SADD", "sints", "1", "-5", "70000", "5000000000"],
            &["ZADD", "zsmall", "1", "a", "2.5", "b", "-inf", "c"],
            &["SET", "ttl", "v", "PXAT", "4102444800000"],
            &["LPUSH", "l", "x"],
        ];
        for (db, args) in keys.iter().enumerate() {
            run(&mut off, &["SELECT", &db.to_string()]);
            assert!(!run(&mut off, args).starts_with(b"-"), "{args:?}");
        }
        run(&mut off, &["SELECT", "8"]);
        fill(&mut off, "RPUSH", "lbig", 3000, |i| format!("elem:{i}"));
        run(&mut off, &["SELECT", "9"]);
        fill(&mut off, "ZADD", "zbig", 800, |i| {
            if i % 2 == 0 {
                format!("{}.25", i / 2)
            } else {
                format!("member:{i}")
            }
        });
        off.srv.ks.now_ms = 1_800_000_000_000;
        let img = encode(&off.srv).unwrap();
        let trailer = crc64(&img[..img.len() - 8]);
        assert_eq!((img.len(), trailer), (37_873, 0x000d_d2e5_f8dc_cfcf));
        assert_eq!(img[img.len() - 8..], trailer.to_le_bytes());
    }

    #[test]
    fn strings_are_written_in_redis_integer_and_lzf_forms() {
        let cases: [(&[u8], &[u8]); 9] = [
            (b"100", &[0xC0, 100]),
            (b"-12345", &[0xC1, 0xC7, 0xCF]),
            (b"70000", &[0xC2, 0x70, 0x11, 0x01, 0x00]),
            // Not a number's canonical form, or too big for 32 bits:
            // plain, so what loads back is the same bytes.
            (b"007", b"\x03007"),
            (b"-0", b"\x02-0"),
            (b"+5", b"\x02+5"),
            (b"12345678901", b"\x0b12345678901"),
            // 20 bytes: under the threshold, however compressible.
            (&[b'a'; 20], b"\x14aaaaaaaaaaaaaaaaaaaa"),
            // 21 bytes that LZF cannot shrink by 4.
            (b"abcdefghijklmnopqrstu", b"\x15abcdefghijklmnopqrstu"),
        ];
        for (s, want) in cases {
            let mut out = Vec::new();
            put_str(&mut out, s, Compression::Lzf).unwrap();
            assert_eq!(out, want, "{}", String::from_utf8_lossy(s));
            let mut r = Reader { data: &out, pos: 0 };
            assert_eq!(r.string().unwrap(), s);
        }
        let long = "abc".repeat(30);
        let mut packed = Vec::new();
        put_str(&mut packed, long.as_bytes(), Compression::Lzf).unwrap();
        assert_eq!(packed[0], ENCODED | ENC_LZF);
        assert!(packed.len() < 20, "{} bytes", packed.len());
        let mut r = Reader {
            data: &packed,
            pos: 0,
        };
        assert_eq!(r.string().unwrap(), long.as_bytes());
        let mut plain = Vec::new();
        put_str(&mut plain, long.as_bytes(), Compression::Off).unwrap();
        assert_eq!(plain.len(), 2 + long.len());
    }

    #[test]
    fn a_compressed_image_loads_back_to_the_same_dataset() {
        let mut off = every_encoding();
        let plain = encode(&off.srv).unwrap();
        off.srv.config.rdbcompression = true;
        let packed = encode(&off.srv).unwrap();
        assert!(
            packed.len() * 2 < plain.len(),
            "{} vs {} bytes",
            packed.len(),
            plain.len()
        );
        let mut back = Offline::new();
        back.load_rdb(&packed).unwrap();
        let digest = crate::commands::digest::dataset_digest;
        assert_eq!(digest(&back.srv.ks.dbs), digest(&off.srv.ks.dbs));
    }

    #[test]
    fn huge_claims_are_refused() {
        let data = [0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        let mut r = Reader {
            data: &data,
            pos: 0,
        };
        assert!(r.string().is_err());
    }
}
