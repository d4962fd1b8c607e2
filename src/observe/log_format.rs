//! The server log's line format, redis-server's own, so that log
//! readers and alerting rules written for Redis (and a person used to
//! its logs) read RedisLite's:
//!
//! ```text
//! 14247:M 27 Nov 2026 21:58:00.123 * Ready to accept connections tcp
//! ```
//!
//! pid, role (`M`: this process; Redis also writes `S` on replicas and
//! `C` in children, which log nothing here), the date, the level mark
//! (`.` debug, `*` notice, `#` warning and error), the message. Times are
//! UTC (Redis uses the local time zone; reading it would mean parsing
//! the system's zone files).
//!
//! Must never: allocate more than the line, or fail: a clock before 1970
//! prints as 1970.

/// Redis's mark for a level: `.` debug, `-` verbose, `*` notice, `#`
/// warning. RedisLite's info is Redis's notice; trace and debug both `.`.
pub fn level_mark(level: log::Level) -> char {
    match level {
        log::Level::Error | log::Level::Warn => '#',
        log::Level::Info => '*',
        log::Level::Debug | log::Level::Trace => '.',
    }
}

/// Year, month (1..=12) and day (1..=31) of the day `days` after
/// 1970-01-01, in the proleptic Gregorian calendar: count 400-year eras
/// of 146 097 days from 0000-03-01, so that the leap day ends each year.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of the era, 0..146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the year from March 1st
    let mp = (5 * doy + 2) / 153; // month from March, 0..11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `27 Nov 2026 21:58:00.123` for a Unix time in milliseconds (UTC).
pub fn timestamp(unix_ms: i64) -> String {
    let ms = unix_ms.max(0);
    let (days, ms_of_day) = (ms / 86_400_000, ms % 86_400_000);
    let (y, mo, d) = civil_from_days(days);
    let secs = ms_of_day / 1000;
    format!(
        "{d:02} {} {y} {:02}:{:02}:{:02}.{:03}",
        MONTHS[(mo - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ms_of_day % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_across_leap_years_and_centuries() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        // 2000 is a leap year (divisible by 400), 1900 and 2100 are not.
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(47_540), (2100, 2, 28));
        assert_eq!(civil_from_days(47_541), (2100, 3, 1));
        assert_eq!(civil_from_days(20_088), (2024, 12, 31));
    }

    #[test]
    fn timestamp_prints_as_redis_does() {
        assert_eq!(timestamp(0), "01 Jan 1970 00:00:00.000");
        // 2026-11-27 21:58:00.123 UTC
        assert_eq!(timestamp(1_795_816_680_123), "27 Nov 2026 21:58:00.123");
        assert_eq!(timestamp(-5), "01 Jan 1970 00:00:00.000");
    }
}
