//! MONITOR: every command the server runs, streamed to monitor clients in
//! Redis's format: `+<unix>.<micros> [<db> <ip:port>] "cmd" "arg" ...`.
//!
//! Owns: the line formatting (Redis's sdscatrepr quoting) and the fan-out
//! to the clients in `Server::monitors`.
//!
//! Must never: let a monitor's output grow without bound. A monitor sees
//! the whole server's traffic, so a slow reader would otherwise hold an
//! ever-growing buffer. Each monitor is checked against the `normal`
//! client-output-buffer-limit class after every line (as Redis, which
//! counts monitors as normal clients); when that class is unlimited (the
//! default) a hard cap of `FALLBACK_HARD_LIMIT_BYTES` applies instead:
//! Redis would let the buffer grow until the machine runs out of memory.
//!
//! Invariants: a slot is in `Server::monitors` exactly while that client
//! has `monitor` set; freeing a client removes it.

use crate::commands::Argv;
use crate::connection::Client;
use crate::pubsub::enforce_output_limit;
use crate::server::Server;
use std::time::Instant;

/// Hard output cap for a monitor when the `normal` class sets no limit
/// (the pubsub class's default hard limit: 32 MiB).
pub const FALLBACK_HARD_LIMIT_BYTES: u64 = 32 * 1024 * 1024;

/// Append `arg` quoted as Redis's sdscatrepr: `"` and `\` escaped, the
/// usual control escapes, other non-printable bytes as `\xHH`.
pub fn quote_into(out: &mut Vec<u8>, arg: &[u8]) {
    out.push(b'"');
    for &b in arg {
        match b {
            b'\\' | b'"' => {
                out.push(b'\\');
                out.push(b);
            }
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\x");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 15) as usize]);
            }
        }
    }
    out.push(b'"');
}

/// Format one monitor line (a RESP simple string, CRLF included).
pub fn format_line(
    out: &mut Vec<u8>,
    unix_us: i64,
    db: usize,
    peer: &str,
    argv: &Argv,
    redacted: &[usize],
) {
    out.extend_from_slice(
        format!(
            "+{}.{:06} [{} {}] ",
            unix_us.div_euclid(1_000_000),
            unix_us.rem_euclid(1_000_000),
            db,
            peer
        )
        .as_bytes(),
    );
    for (j, a) in argv.iter().enumerate() {
        if j > 0 {
            out.push(b' ');
        }
        if redacted.contains(&j) {
            quote_into(out, crate::observe::slowlog::REDACTED);
        } else {
            quote_into(out, a);
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// Send the command `c` just ran to every monitor. Called only when
/// `srv.monitors` is non-empty.
#[cold]
pub fn feed(srv: &mut Server, c: &mut Client, argv: &Argv) {
    let unix_us = srv.clock.unix_us_at(Instant::now());
    let mut line = Vec::new();
    // A script's commands show as `[db lua]`, as Redis's.
    let addr = if c.in_script { "lua" } else { c.addr.as_str() };
    format_line(&mut line, unix_us, c.db, addr, argv, &c.redacted);
    let limits = srv.config.client_output_buffer_limit[0];
    let (hard, soft, soft_secs) = if limits.hard_bytes == 0 && limits.soft_bytes == 0 {
        (FALLBACK_HARD_LIMIT_BYTES, 0, 0)
    } else {
        (limits.hard_bytes, limits.soft_bytes, limits.soft_seconds)
    };
    let now_ms = srv.ks.now_ms;
    if c.monitor {
        c.out.extend_from_slice(&line);
        enforce_output_limit(
            c,
            (hard, soft, soft_secs),
            now_ms,
            &mut srv.stats.client_output_buffer_limit_disconnections,
        );
    }
    let mut i = 0;
    // Bounded by the number of monitors; a closed monitor leaves the list.
    while i < srv.monitors.len() {
        let slot = srv.monitors[i];
        i += 1;
        let Some(Some(m)) = srv.clients.get_mut(slot) else {
            continue;
        };
        m.out.extend_from_slice(&line);
        if enforce_output_limit(
            m,
            (hard, soft, soft_secs),
            now_ms,
            &mut srv.stats.client_output_buffer_limit_disconnections,
        ) {
            srv.close_client_in_table(slot);
            // free_client removed the slot from the list: revisit index.
            i -= 1;
            continue;
        }
        if !m.pending_write {
            m.pending_write = true;
            srv.pending_writes.push(slot);
        }
    }
}

impl Server {
    /// Forget a client's monitor registration (on free).
    pub fn remove_monitor(&mut self, slot: usize) {
        self.monitors.retain(|&s| s != slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_sdscatrepr() {
        let mut out = Vec::new();
        quote_into(&mut out, b"a\"b\\c\n\r\t\x07\x08\x00\xff ~");
        assert_eq!(out, b"\"a\\\"b\\\\c\\n\\r\\t\\a\\b\\x00\\xff ~\"".to_vec());
    }
}
