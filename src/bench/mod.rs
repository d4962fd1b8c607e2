//! The load generator behind `redislite-benchmark` (src/bin/).
//!
//! Owns: everything the benchmark tool does except process entry — the
//! command-line options (`args`), the request mix and key choice
//! (`workload`, `zipf`), reading replies (`reply`), the per-thread event
//! loop that drives connections (`driver`), the server's CPU counters
//! (`cpu`) and the report (`report`). It lives in the library so its parts
//! are unit-tested like the server's.
//!
//! Must never: depend on RedisLite's server code. The tool has to measure
//! any RESP server the same way (Debian's `redis-server` included), so it
//! speaks only the wire protocol, and only the commands GET and SET.
//!
//! Invariants: every run is bounded — in requests, in time (`--duration`,
//! and a stall timeout while waiting for replies), in connections and in
//! memory per connection; and a run is repeatable: with the same `--seed`,
//! each connection sends the same sequence of commands.

pub mod args;
pub mod cpu;
pub mod driver;
pub mod reply;
pub mod report;
pub mod workload;
pub mod zipf;
