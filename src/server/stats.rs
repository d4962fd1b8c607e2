//! Server-wide counters reported by INFO stats / commandstats / errorstats.
//!
//! Owns: plain counters and the instantaneous-rate samplers. Incrementing a
//! counter is the only thing the hot path does here; formatting lives in
//! observe/info.rs.

use std::collections::BTreeMap;

/// Per-command counters (INFO commandstats).
#[derive(Default, Debug, Clone, Copy)]
pub struct CommandStats {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
}

/// Samples a monotonically growing counter `hz` times per second and
/// reports the average rate over the last `SAMPLES` samples, as Redis's
/// instantaneous_* fields.
#[derive(Default, Debug, Clone)]
pub struct RateSampler {
    last_value: u64,
    last_ms: i64,
    samples: [f64; RateSampler::SAMPLES],
    idx: usize,
}

impl RateSampler {
    const SAMPLES: usize = 16;

    pub fn sample(&mut self, value: u64, now_ms: i64) {
        if self.last_ms != 0 && now_ms > self.last_ms {
            let dt = (now_ms - self.last_ms) as f64 / 1000.0;
            let rate = value.saturating_sub(self.last_value) as f64 / dt;
            self.samples[self.idx % Self::SAMPLES] = rate;
            self.idx += 1;
        }
        self.last_value = value;
        self.last_ms = now_ms;
    }

    pub fn rate(&self) -> f64 {
        self.samples.iter().sum::<f64>() / Self::SAMPLES as f64
    }
}

#[derive(Default, Debug)]
pub struct Stats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub rejected_connections: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub total_error_replies: u64,
    pub unexpected_error_replies: u64,
    pub total_reads_processed: u64,
    pub total_writes_processed: u64,
    pub client_query_buffer_limit_disconnections: u64,
    pub client_output_buffer_limit_disconnections: u64,
    /// Clients closed by client eviction (maxmemory-clients).
    pub evicted_clients: u64,
    /// Reply buffers that grew past the size kept between turns, and
    /// big ones released once written (INFO reply_buffer_*).
    pub reply_buffer_expands: u64,
    pub reply_buffer_shrinks: u64,
    /// Indexed like the command table.
    pub commands: Vec<CommandStats>,
    /// The running command counts as failed although it replies no error:
    /// Redis 7.0 charges an error a command sends to *another* client
    /// (CLIENT UNBLOCK ... ERROR) to the command that caused it too.
    /// Read and cleared by `commands::execute`.
    pub fail_running: bool,
    /// Error replies by their first word (ERR, WRONGTYPE, ...).
    pub errors: BTreeMap<String, u64>,
    pub ops_rate: RateSampler,
    pub net_in_rate: RateSampler,
    pub net_out_rate: RateSampler,
}

impl Stats {
    pub fn new(commands: usize) -> Stats {
        Stats {
            commands: vec![CommandStats::default(); commands],
            ..Stats::default()
        }
    }

    /// Count an error reply under its code, the text up to the first space.
    pub fn count_error(&mut self, msg: &str) {
        self.total_error_replies += 1;
        let code = msg.split(' ').next().unwrap_or("ERR");
        // Bound the table: Redis caps errorstats at 128 distinct codes.
        const ERROR_CODES_MAX: usize = 128;
        if let Some(n) = self.errors.get_mut(code) {
            *n += 1;
        } else if self.errors.len() < ERROR_CODES_MAX {
            self.errors.insert(code.to_string(), 1);
        }
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&mut self) {
        let n = self.commands.len();
        *self = Stats::new(n);
    }
}
