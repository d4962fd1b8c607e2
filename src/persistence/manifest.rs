//! The AOF manifest: the one file that says which files make up the log.
//!
//! Layout of the append-only directory (`<dir>/<appenddirname>/`), as
//! Redis 7.0's multi-part AOF:
//! ```text
//! <appendfilename>.<seq>.base.rdb    a snapshot (RDB) the log starts from
//! <appendfilename>.<seq>.incr.aof    framed records written after it, in seq order
//! <appendfilename>.manifest          lines "file <name> seq <n> type b|i"
//! ```
//! A base adopted from the old single-file layout keeps its name (it is a
//! framed log, not an RDB; loaders tell them apart by the "REDIS" magic).
//!
//! Owns: parsing and rendering the manifest, the file names, and switching
//! the manifest atomically (temp file, fsync, rename, fsync the directory).
//!
//! Must never: accept a manifest line it does not understand (a file it
//! would then skip could hold acknowledged writes), name a file outside the
//! directory, or read an unbounded manifest.
//!
//! Invariants: at most one base; incremental files in increasing `seq`
//! order; every name is a plain file name (no `/`, no whitespace).

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

/// A manifest larger than this is damage (a real one is a few lines).
const MANIFEST_MAX_BYTES: u64 = 1 << 20;
/// Most incremental files a manifest may name. One is added per rewrite
/// and all but the newest are dropped when it completes, so a handful is
/// the norm; the bound keeps a damaged manifest from driving the loader.
const INCR_FILES_MAX: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AofFile {
    pub name: String,
    pub seq: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<AofFile>,
    /// In load order (increasing seq).
    pub incrs: Vec<AofFile>,
}

pub fn manifest_name(appendfilename: &str) -> String {
    format!("{appendfilename}.manifest")
}

pub fn base_name(appendfilename: &str, seq: u64) -> String {
    format!("{appendfilename}.{seq}.base.rdb")
}

pub fn incr_name(appendfilename: &str, seq: u64) -> String {
    format!("{appendfilename}.{seq}.incr.aof")
}

/// A name the manifest may hold: one path component, no whitespace.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl Manifest {
    /// Sequence number for the next base / incremental file.
    pub fn next_base_seq(&self) -> u64 {
        self.base.as_ref().map_or(1, |b| b.seq + 1)
    }

    pub fn next_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(1, |f| f.seq + 1)
    }

    /// Every file the manifest names, base first.
    pub fn files(&self) -> impl Iterator<Item = &AofFile> {
        self.base.iter().chain(self.incrs.iter())
    }

    pub fn names(&self, name: &str) -> bool {
        self.files().any(|f| f.name == name)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Some(b) = &self.base {
            out.push_str(&format!("file {} seq {} type b\n", b.name, b.seq));
        }
        for f in &self.incrs {
            out.push_str(&format!("file {} seq {} type i\n", f.name, f.seq));
        }
        out
    }

    /// Parse Redis 7's manifest format. Keys may come in any order; `type
    /// h` (history: files Redis keeps only until it deletes them) is
    /// skipped; blank lines and `#` comments are allowed.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |what: &str| format!("line {}: {what}: '{line}'", n + 1);
            let words: Vec<&str> = line.split_ascii_whitespace().collect();
            if !words.len().is_multiple_of(2) {
                return Err(bad("odd number of words"));
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for pair in words.chunks(2) {
                match pair[0] {
                    "file" => name = Some(pair[1]),
                    "seq" => seq = Some(pair[1].parse::<u64>().map_err(|_| bad("bad seq"))?),
                    "type" => kind = Some(pair[1]),
                    _ => return Err(bad("unknown key")),
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err(bad("missing file, seq or type"));
            };
            if !plain_name(name) {
                return Err(bad("file name must be a plain name"));
            }
            let f = AofFile {
                name: name.to_string(),
                seq,
            };
            match kind {
                "b" if m.base.is_none() => m.base = Some(f),
                "b" => return Err(bad("more than one base file")),
                "i" => {
                    if m.incrs.last().is_some_and(|l| l.seq >= seq) {
                        return Err(bad("incremental files out of order"));
                    }
                    if m.incrs.len() >= INCR_FILES_MAX {
                        return Err(bad("too many incremental files"));
                    }
                    m.incrs.push(f);
                }
                "h" => {}
                _ => return Err(bad("unknown type")),
            }
        }
        Ok(m)
    }

    /// Read and parse the manifest at `path`; Ok(None) if there is none.
    pub fn load(path: &Path) -> Result<Option<Manifest>, String> {
        let shown = path.display();
        let f = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("Can't open the AOF manifest {shown}: {e}")),
        };
        let mut text = String::new();
        f.take(MANIFEST_MAX_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("Can't read the AOF manifest {shown}: {e}"))?;
        if text.len() as u64 > MANIFEST_MAX_BYTES {
            return Err(format!("The AOF manifest {shown} is too large"));
        }
        Manifest::parse(&text)
            .map(Some)
            .map_err(|e| format!("Invalid AOF manifest {shown}: {e}"))
    }

    /// Replace the manifest in `dir` atomically. When it completes a
    /// rewrite (`completes_rewrite`), two test-only crash points (see
    /// `fault.rs`) sit on each side of the rename, the instant that
    /// decides which set of files is the log.
    pub fn store(
        &self,
        dir: &Path,
        appendfilename: &str,
        completes_rewrite: bool,
    ) -> io::Result<()> {
        let path = dir.join(manifest_name(appendfilename));
        let tmp = dir.join(format!("temp-{}", manifest_name(appendfilename)));
        let mut f = File::create(&tmp)?;
        f.write_all(self.render().as_bytes())?;
        f.sync_all()?;
        drop(f);
        if completes_rewrite {
            super::fault::crash_point("rewrite-manifest-temp");
        }
        std::fs::rename(&tmp, &path)?;
        sync_dir(dir)?;
        if completes_rewrite {
            super::fault::crash_point("rewrite-manifest-renamed");
        }
        Ok(())
    }
}

/// Make renames and new directory entries in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_redis_lines() {
        let m = Manifest {
            base: Some(AofFile {
                name: base_name("appendonly.aof", 3),
                seq: 3,
            }),
            incrs: vec![
                AofFile {
                    name: incr_name("appendonly.aof", 5),
                    seq: 5,
                },
                AofFile {
                    name: incr_name("appendonly.aof", 6),
                    seq: 6,
                },
            ],
        };
        assert_eq!(Manifest::parse(&m.render()).unwrap(), m);
        assert_eq!(m.next_base_seq(), 4);
        assert_eq!(m.next_incr_seq(), 7);
        // As redis-server 7.0 writes it, with a history entry.
        let r = Manifest::parse(
            "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.2.incr.aof seq 2 type i\n",
        )
        .unwrap();
        assert_eq!(r.incrs.len(), 1);
        assert_eq!(r.base.unwrap().name, "appendonly.aof.1.base.rdb");
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        for bad in [
            "file a seq 1",
            "file a seq x type i",
            "file a seq 1 type z",
            "file ../x seq 1 type i",
            "file a seq 1 type b\nfile b seq 2 type b",
            "file a seq 2 type i\nfile b seq 1 type i",
            "file a seq 1 type i color red",
        ] {
            assert!(Manifest::parse(bad).is_err(), "{bad}");
        }
    }
}
