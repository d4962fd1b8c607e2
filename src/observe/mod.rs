//! Observability: what the server tells operators about itself.
//! INFO lives here; the slow log, latency monitor and hot-key tracker join
//! it with their own files.

pub mod hotkeys;
pub mod info;
pub mod latency;
pub mod latencystats;
pub mod log_format;
pub mod metrics;
pub mod monitor;
pub mod slowlog;
