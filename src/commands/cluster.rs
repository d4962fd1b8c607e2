//! CLUSTER, ASKING, READONLY, READWRITE for a standalone server: RedisLite
//! has no cluster mode, and answers these as redis-server 7.0 does with
//! `cluster-enabled no`.
//!
//! Owns: that answer. Cluster-aware clients and tools probe a server with
//! CLUSTER INFO (or send READONLY to a replica) and take "cluster support
//! disabled" to mean "standalone"; an unknown-command error would read as
//! an old or broken server instead.
//!
//! Must never: pretend to be a cluster node (no slot, node or epoch data).
//! An unknown CLUSTER subcommand is refused before this runs, by the
//! dispatcher, with Redis's "unknown subcommand" text, and a known one
//! with the wrong arity with Redis's arity error, as Redis checks both
//! before the cluster-mode check.

use super::Argv;
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
use crate::server::Server;

/// CLUSTER <any subcommand>, ASKING, READONLY, READWRITE.
pub fn cluster_disabled(_srv: &mut Server, _c: &mut Client, _argv: &Argv) -> CmdResult {
    Err(CmdError::ClusterDisabled)
}
