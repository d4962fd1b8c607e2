//! Memory accounting: a counting global allocator.
//!
//! Owns: the process-wide count of bytes currently allocated through Rust's
//! allocator (INFO memory `used_memory`), and RSS readings.
//!
//! Must never: allocate itself (it *is* the allocator), or take a lock:
//! the count is one relaxed atomic add/sub per allocation. The hot path
//! allocates nothing in steady state, so this costs nothing there.
//!
//! Invariant: `used_memory()` equals the sum of the sizes requested by live
//! allocations (the allocator's own per-chunk overhead is not included; RSS
//! and mem_fragmentation_ratio show it), minus what the Lua states hold
//! (`set_lua_memory`): Redis's Lua allocates outside its allocator, so its
//! `used_memory`, and `maxmemory` with it, leave scripts' memory out (INFO
//! reports it as `used_memory_vm_total`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct CountingAlloc;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Bytes the scripting engines' Lua states hold, last noted.
static LUA: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to the system allocator with the same
// arguments and only adds bookkeeping on the side.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size >= layout.size() {
                ALLOCATED.fetch_add(new_size - layout.size(), Ordering::Relaxed);
            } else {
                ALLOCATED.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

/// Bytes currently allocated, the Lua states' left out.
pub fn used_memory() -> usize {
    ALLOCATED
        .load(Ordering::Relaxed)
        .saturating_sub(LUA.load(Ordering::Relaxed))
}

/// Note what the Lua states hold now (`Scripting::note_memory`, after
/// every script run and scripting command, and from cron).
pub fn set_lua_memory(bytes: usize) {
    LUA.store(bytes, Ordering::Relaxed);
}

/// Highest `used_memory` seen by `update_peak` (called from cron and INFO).
pub fn peak_memory() -> usize {
    let used = used_memory();
    PEAK.fetch_max(used, Ordering::Relaxed).max(used)
}

pub fn update_peak() {
    PEAK.fetch_max(used_memory(), Ordering::Relaxed);
}

pub fn reset_peak() {
    PEAK.store(used_memory(), Ordering::Relaxed);
}

/// Resident set size in bytes, from /proc/self/statm (0 if unavailable).
pub fn rss_bytes() -> usize {
    let Ok(s) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: usize = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * if page > 0 { page as usize } else { 4096 }
}

/// Total physical memory in bytes (INFO total_system_memory).
pub fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if pages > 0 && page > 0 {
        pages as u64 * page as u64
    } else {
        0
    }
}

/// Bytes in Redis's human form: 1.00K, 2.50M, 1.00G (binary units).
pub fn bytes_human(n: u64) -> String {
    let n = n as f64;
    const K: f64 = 1024.0;
    if n < K {
        format!("{}B", n as u64)
    } else if n < K * K {
        format!("{:.2}K", n / K)
    } else if n < K * K * K {
        format!("{:.2}M", n / (K * K))
    } else if n < K * K * K * K {
        format!("{:.2}G", n / (K * K * K))
    } else if n < K * K * K * K * K {
        format!("{:.2}T", n / (K * K * K * K))
    } else {
        format!("{:.2}P", n / (K * K * K * K * K))
    }
}
