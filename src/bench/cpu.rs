//! The server's own CPU time, for `--server-pid`: user + system time from
//! `/proc/<pid>/stat`, read before and after the measured window.
//!
//! Why: on a small machine the load generator shares the cores with the
//! server, so requests per second partly measure the client. The CPU time
//! the server spent per request does not (DESIGN.md, "Testing").
//!
//! Owns: reading and parsing the stat line, and the clock-tick unit.
//!
//! Must never: guess. A missing or malformed stat file is an error the
//! caller reports, not a zero.
//!
//! Invariant: the resolution is one clock tick (usually 10 ms), so the
//! figure is only meaningful over runs long enough to use many ticks of
//! server time; the report gives the raw total next to the per-request
//! figure.

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), the unit of the stat
/// file's time fields. 100 on every Linux we know of; used as a fallback
/// if sysconf fails.
pub fn clock_ticks_per_sec() -> u64 {
    // SAFETY: sysconf has no preconditions and only reads system values.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

/// utime + stime of process `pid`, in clock ticks.
pub fn process_cpu_ticks(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {path} (--server-pid {pid}): {e}"))?;
    parse_stat_cpu_ticks(&text).ok_or_else(|| format!("cannot parse {path}: {text:?}"))
}

/// Fields 14 (utime) and 15 (stime) of a `/proc/<pid>/stat` line, summed.
/// Field 2, the command name, is in parentheses and may itself contain
/// spaces and parentheses, so fields are counted from the last ')'.
pub fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // After the name come field 3 (state), 4, ...: field N is index N - 3.
    let mut fields = after_name.split_ascii_whitespace().skip(14 - 3);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Ticks to microseconds.
pub fn ticks_to_us(ticks: u64, ticks_per_sec: u64) -> f64 {
    ticks as f64 * 1_000_000.0 / ticks_per_sec.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utime_and_stime() {
        let line = "1234 (redis-server) S 1 1234 1234 0 -1 4194560 300 0 0 0 \
                    57 43 0 0 20 0 5 0 100 1000 200 18446744073709551615";
        assert_eq!(parse_stat_cpu_ticks(line), Some(100));
    }

    #[test]
    fn command_names_with_spaces_and_parens() {
        let line = "99 (a b) (c)) R 1 99 99 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0";
        assert_eq!(parse_stat_cpu_ticks(line), Some(15));
    }

    #[test]
    fn malformed_is_none() {
        assert_eq!(parse_stat_cpu_ticks(""), None);
        assert_eq!(parse_stat_cpu_ticks("1 (x) S 1 2"), None);
    }

    #[test]
    fn reads_our_own_process() {
        let ticks = process_cpu_ticks(std::process::id()).unwrap();
        // Any value is fine; it must parse. And the unit is sane.
        let _ = ticks;
        assert!(clock_ticks_per_sec() >= 1);
        assert_eq!(ticks_to_us(100, 100), 1_000_000.0);
    }
}
