//! The fuzz targets on stable Rust: each target's body
//! (`redislite::server::fuzz_entry`, the same function its cargo-fuzz
//! binary calls) runs every checked-in seed in `fuzz/seeds/<target>/`,
//! then a fixed number of deterministic mutations of those seeds (bit
//! flips, byte and number substitutions, inserts, cuts, copies, splices
//! between seeds: libFuzzer's basic mutators without the coverage
//! feedback). The assertions are the targets' own: no panic, well-formed
//! replies, a loader keeps a prefix, the server still answers. Plus the
//! stable counterpart of `make fuzz`'s `-malloc_limit_mb`: no input may
//! make a single allocation above `ALLOC_MAX` (this file's global
//! allocator records any), which is how allocating by a length the input
//! merely claims shows up even when the memory is never touched.
//!
//! Must never: pass vacuously (a missing or empty seed directory, or a
//! target without a test here, fails), depend on time or the machine
//! (the PRNG is seeded; the same seed runs the same inputs), or run
//! unbounded (`ITERS` mutations per target; inputs capped at `INPUT_MAX`).
//!
//! Knobs for a longer local hunt: FUZZ_CORPUS_ITERS=n mutations per
//! target, FUZZ_CORPUS_SEED=n another input stream. A failing input is
//! written under the cargo test tmpdir, named in the failure message.

use redislite::server::fuzz_entry::{Entry, TARGETS};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// Mutated inputs per target in `make test`: enough to reach past each
/// seed's first checks, few enough that the file runs in seconds.
const ITERS: u64 = 5000;
/// The default PRNG seed (each target mixes in its name).
const SEED: u64 = 0x5eed_f022;
/// Largest mutated input: above every seed, far below a memory concern.
const INPUT_MAX: usize = 64 * 1024;
/// Most mutations stacked on one input.
const STACK_MAX: u64 = 6;

/// Largest single allocation one input may cause: far above what an
/// input of `INPUT_MAX` bytes legitimately needs, far below the 1 GB
/// lengths the seeds claim.
const ALLOC_MAX: usize = 64 << 20;

thread_local! {
    /// The largest allocation above `ALLOC_MAX` this thread made since
    /// `run_one` reset it (each test runs on its own thread). A const
    /// `Cell` needs no allocation or destructor, so the allocator can
    /// use it.
    static OVERSIZED: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator, noting oversized requests. It must not panic
/// (unwinding out of an allocator is undefined), so it only records;
/// `run_one` turns a record into a failure.
struct Recording;

fn note(size: usize) {
    if size > ALLOC_MAX {
        // During thread teardown the slot is gone; nothing runs then.
        let _ = OVERSIZED.try_with(|c| c.set(c.get().max(size)));
    }
}

// SAFETY: every call is forwarded unchanged to `System`; `note` neither
// allocates nor unwinds.
unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Recording = Recording;

/// SplitMix64: tiny, fast, and good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform-ish in `0..n`; `n` must be non-zero.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Bytes the readers branch on: RESP type bytes, line ends, signs,
/// digits, and the edges of a byte.
const INTERESTING_BYTES: &[u8] = b"\x00\x01\x7f\x80\xfe\xff\r\n*$+-:_,#%~>|!=( 09";
/// Numbers at the edges length and count parsers care about.
const INTERESTING_NUMBERS: &[&str] = &[
    "-1",
    "0",
    "1",
    "-2",
    "255",
    "65536",
    "536870912",
    "1073741824",
    "2147483648",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
];
/// Binary lengths (RDB length encodings, big- and little-endian).
const INTERESTING_U32: &[u32] = &[0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x4000_0000, 0xffff_ffff];

/// One random mutation of `data`, possibly using the other seeds.
fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    if data.is_empty() {
        data.push(rng.byte());
        return;
    }
    let len = data.len();
    let at = rng.below(len);
    match rng.below(11) {
        0 => data[at] ^= 1 << rng.below(8),
        1 => data[at] = rng.byte(),
        2 => data[at] = *rng.pick(INTERESTING_BYTES),
        3 => data[at] = data[at].wrapping_add(rng.below(9) as u8).wrapping_sub(4),
        4 => {
            // Insert a few random bytes, or a run of one byte.
            let n = 1 + rng.below(8);
            let ins: Vec<u8> = if rng.below(2) == 0 {
                (0..n).map(|_| rng.byte()).collect()
            } else {
                vec![rng.byte(); n]
            };
            data.splice(at..at, ins);
        }
        5 => {
            // Erase a range.
            let n = 1 + rng.below((len - at).min(64));
            data.drain(at..at + n);
        }
        6 => {
            // Copy a range of the input elsewhere in it.
            let from = rng.below(len);
            let n = 1 + rng.below((len - from).min(64));
            let piece = data[from..from + n].to_vec();
            data.splice(at..at, piece);
        }
        7 => {
            // Splice: insert a piece of another seed, or cross over (this
            // input's head, the other seed's tail).
            let other = rng.pick(seeds);
            if other.is_empty() {
                return;
            }
            let from = rng.below(other.len());
            if rng.below(2) == 0 {
                let n = 1 + rng.below((other.len() - from).min(256));
                data.splice(at..at, other[from..from + n].iter().copied());
            } else {
                data.truncate(at);
                data.extend_from_slice(&other[from..]);
            }
        }
        8 => {
            // Replace the next ASCII number (at most 64 bytes on) with an
            // edge value: lengths and counts are where parsers break.
            let Some(start) = data[at..len.min(at + 64)]
                .iter()
                .position(|b| b.is_ascii_digit())
                .map(|p| at + p)
            else {
                return;
            };
            let end = data[start..]
                .iter()
                .position(|b| !b.is_ascii_digit())
                .map_or(len, |p| start + p);
            let num = rng.pick(INTERESTING_NUMBERS).as_bytes();
            data.splice(start..end, num.iter().copied());
        }
        9 => {
            // Overwrite with a binary length, either byte order.
            let v = *rng.pick(INTERESTING_U32);
            let bytes = if rng.below(2) == 0 {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            for (i, b) in bytes.iter().enumerate().take(len - at) {
                data[at + i] = *b;
            }
        }
        _ => data.truncate(at),
    }
    data.truncate(INPUT_MAX);
}

/// A positive integer from the environment, or `default`.
fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// The seed files of `target`, sorted by name. Fails if the directory
/// is missing or empty: a replay of nothing proves nothing.
fn load_seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("seed directory {}: {e}", dir.display()));
    let mut seeds: Vec<(String, Vec<u8>)> = entries
        .map(|e| {
            let path = e.expect("read_dir entry").path();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, bytes)
        })
        .collect();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds.sort();
    seeds
}

/// Run one input; on a panic or an oversized allocation, save it and
/// fail with how to reproduce.
fn run_one(target: &str, entry: Entry, input: &[u8], what: &str) {
    OVERSIZED.with(|c| c.set(0));
    let panicked = catch_unwind(AssertUnwindSafe(|| entry(input))).is_err();
    let oversized = OVERSIZED.with(|c| c.get());
    let finding = match (panicked, oversized) {
        (false, 0) => return,
        (true, _) => "panicked (message above)".to_string(),
        (false, n) => format!("allocated {n} bytes in one block (limit {ALLOC_MAX})"),
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz_corpus");
    let path = dir.join(format!("{target}-failure"));
    let saved = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, input));
    panic!(
        "{target}: {what} {finding}; input ({} bytes) {}. \
         Copy it into fuzz/seeds/{target}/ to replay it on every run, \
         and add a named regression test with the fix.",
        input.len(),
        match saved {
            Ok(()) => format!("saved to {}", path.display()),
            Err(e) => format!("not saved ({e}): {:?}", String::from_utf8_lossy(input)),
        }
    );
}

/// Every seed of `target`, then `FUZZ_CORPUS_ITERS` mutations of them.
fn replay(target: &str) {
    let (_, entry) = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no fuzz entry named {target}"));
    let seeds = load_seeds(target);
    for (name, bytes) in &seeds {
        run_one(target, *entry, bytes, &format!("seed {name}"));
    }
    let iters = env_u64("FUZZ_CORPUS_ITERS", ITERS);
    let seed = env_u64("FUZZ_CORPUS_SEED", SEED);
    // Each target its own stream, so targets with similar seeds differ.
    let mix = target.bytes().fold(seed, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut rng = Rng(mix);
    let bodies: Vec<Vec<u8>> = seeds.iter().map(|(_, b)| b.clone()).collect();
    for i in 0..iters {
        let mut input = rng.pick(&bodies).clone();
        for _ in 0..1 + rng.below(STACK_MAX as usize) {
            mutate_once(&mut rng, &mut input, &bodies);
        }
        let what = format!("mutation {i} (FUZZ_CORPUS_SEED={seed})");
        run_one(target, *entry, &input, &what);
    }
    println!(
        "{target}: {} seeds + {iters} mutations = {} inputs (FUZZ_CORPUS_SEED={seed})",
        seeds.len(),
        seeds.len() as u64 + iters
    );
}

macro_rules! corpus_tests {
    ($($target:ident),* $(,)?) => {
        /// The targets this file has a test for.
        const TESTED: &[&str] = &[$(stringify!($target)),*];
        $(
            #[test]
            fn $target() {
                replay(stringify!($target));
            }
        )*
    };
}

corpus_tests!(
    resp_parser,
    commands,
    aof_loader,
    rdb_loader,
    repl_stream,
    script_libs
);

/// Every cargo-fuzz binary has an entry function and a test here: a new
/// target cannot silently miss CI.
#[test]
fn every_fuzz_target_is_replayed() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".rs").map(str::to_string)
        })
        .collect();
    files.sort();
    let mut entries: Vec<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    entries.sort();
    let mut tested: Vec<String> = TESTED.iter().map(|n| n.to_string()).collect();
    tested.sort();
    assert_eq!(files, entries, "fuzz/fuzz_targets vs fuzz_entry::TARGETS");
    assert_eq!(entries, tested, "fuzz_entry::TARGETS vs the tests here");
}
