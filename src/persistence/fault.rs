//! TEST-ONLY fault hook: crash the server at a named step of an AOF
//! rewrite, so the tests can prove a crash at any step loses nothing.
//!
//! Set `REDISLITE_TEST_CRASH_AT=<step>` in the server's environment; when
//! the server reaches that step it calls `std::process::abort()`. Steps:
//! `rewrite-incr-opened` (the new incremental file exists, the manifest
//! does not name it yet), `rewrite-base-written` (the child wrote the temp
//! base, the parent has not renamed it), `rewrite-manifest-temp` (the new
//! manifest is written to its temp file, not renamed),
//! `rewrite-manifest-renamed` (the new manifest is in place, the files it
//! no longer names are not deleted yet).
//!
//! Also `snapshot_child_delay` (below): a full-sync snapshot child waits
//! before encoding, so tests can see it run and kill it; and
//! `fsync_failure` (below): the `everysec` thread's first fsyncs fail.
//!
//! Must never: do anything when the variable is unset (the normal case:
//! one cached comparison per step, and the steps are per rewrite, not per
//! request). It is compiled in so the tests exercise the real binary.

use std::sync::OnceLock;

/// The environment variable, read once.
const VAR: &str = "REDISLITE_TEST_CRASH_AT";

fn target() -> Option<&'static str> {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    AT.get_or_init(|| std::env::var(VAR).ok().filter(|s| !s.is_empty()))
        .as_deref()
}

/// Abort the process if the test asked to crash at `step`.
pub fn crash_point(step: &str) {
    if target() == Some(step) {
        // eprintln, not log: the point is to die right here, as a power
        // cut would, with nothing flushed or cleaned up.
        eprintln!("{VAR}={step}: aborting (test fault hook)");
        std::process::abort();
    }
}

/// TEST-ONLY: `REDISLITE_TEST_SNAPSHOT_CHILD_DELAY_MS=<ms>` makes a
/// full-sync snapshot child wait that long before encoding, so a test can
/// observe (and kill) a running child whatever the machine's speed. Read
/// in the child only; never affects the parent loop.
pub fn snapshot_child_delay() {
    let ms = std::env::var("REDISLITE_TEST_SNAPSHOT_CHILD_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        .min(60_000);
    if ms > 0 {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// TEST-ONLY: `REDISLITE_TEST_FSYNC_FAILURES=<n>` makes the first `n`
/// background fsyncs (appendfsync everysec) fail with EIO, as a failing
/// disk would, so tests can see writes refused and accepted again. Read
/// once; with the variable unset this is one cached comparison per fsync.
pub fn fsync_failure() -> Option<std::io::Error> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LEFT: OnceLock<AtomicU64> = OnceLock::new();
    let left = LEFT.get_or_init(|| {
        let n = std::env::var("REDISLITE_TEST_FSYNC_FAILURES")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        AtomicU64::new(n)
    });
    left.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .ok()
        .map(|_| std::io::Error::from_raw_os_error(libc::EIO))
}
