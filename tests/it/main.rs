//! Integration tests: each test starts the real `redislite-server` binary
//! on an ephemeral port and talks to it over TCP, with raw RESP bytes, the
//! `redis` crate or `redis-cli`. Differential tests also start Debian's
//! `redis-server` and compare replies byte for byte.
//!
//! One test binary (this file and its modules) keeps link time down.

mod common;

mod acl;
mod aof_rewrite;
mod benchmark_tool;
mod bitmaps;
mod blocking;
mod cli;
mod client_eviction;
mod client_pause;
mod config;
mod debug_command;
mod differential;
mod differential_bitmaps;
mod differential_command_meta;
mod differential_dump;
mod differential_functions;
mod differential_geo;
mod differential_hashes;
mod differential_hyperloglog;
mod differential_lists;
mod differential_random;
mod differential_scripting;
mod differential_scripting_libs;
mod differential_sets;
mod differential_stream_groups;
mod differential_streams;
mod differential_zsets;
mod dump;
mod eviction;
mod expiry;
mod failover;
mod functions;
mod fuzz_socket;
mod geo;
mod hashes;
mod keys;
mod lazyfree;
mod lifecycle;
mod limits;
mod lists;
mod migrate;
mod observe;
mod observe_stats;
mod persistence;
mod protected_mode;
mod protocol;
mod pubsub_tx;
mod rename_command;
mod replication;
mod replication_backlog;
mod replication_fork;
mod replication_links;
mod replication_restart;
mod replication_sync;
mod scripting;
mod scripting_busy;
mod secrets;
mod sentinel;
mod server;
mod sets;
mod sharded_pubsub;
mod sort;
mod stream_groups;
mod streams;
mod streams_persist;
mod strings;
mod tracking;
mod twemproxy;
mod unix_socket;
mod zsets;

/// A small deterministic generator for tests (xorshift64*).
pub fn common_rng(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}
