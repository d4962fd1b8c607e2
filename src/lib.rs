//! RedisLite: a Redis-compatible in-memory key-value server.
//!
//! The crate is a library so that the server binary, the benchmark tool,
//! the fuzz targets and the tests share one implementation. Start reading
//! at `server::event_loop` (how a request flows) and `commands` (what each
//! command does); docs/ARCHITECTURE.md is the map.

pub mod acl;
pub mod acl_categories;
pub mod acl_key_needs;
pub mod bench;
pub mod bits;
pub mod commands;
pub mod config;
pub mod connection;
pub mod db;
pub mod dict;
pub mod errors;
pub mod evict;
pub mod glob;
pub mod lazyfree;
pub mod lfu;
pub mod memory;
pub mod notify;
pub mod observe;
pub mod persistence;
pub mod pubsub;
pub mod replication;
pub mod resp;
pub mod scripting;
pub mod server;
pub mod tracking;
pub mod types;
pub mod watch;
