//! Parsing scores and the two kinds of sorted-set ranges, with Redis's rules.
//!
//! Owns:
//! - [`parse_score`]: a score, increment or weight argument (Redis's
//!   `string2d`): the whole argument must be a number, no leading space, no
//!   NaN, no overflow to infinity and no underflow to zero (`"inf"` itself
//!   is fine);
//! - [`ScoreRange`]: `min max` of ZRANGEBYSCORE & co., each bound a number
//!   optionally prefixed by `(` for "exclusive". Redis parses these with a
//!   bare `strtod`, so they are more lenient than scores: leading spaces,
//!   `1e400` (infinity) and even an empty bound (0) are accepted;
//! - [`LexRange`]: `min max` of ZRANGEBYLEX & co.: `[x` inclusive, `(x`
//!   exclusive, `-` and `+` the lowest and highest possible strings.
//!
//! Must never: let a NaN through (scores are totally ordered only without
//! NaN; every parser here rejects it).

use super::strtod::strtod;
use std::cmp::Ordering;

/// A score argument (ZADD, ZINCRBY, WEIGHTS), or None if Redis would reply
/// "not a valid float". Mirrors Redis's `string2d`.
pub fn parse_score(arg: &[u8]) -> Option<f64> {
    let first = *arg.first()?;
    if matches!(first, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        return None;
    }
    let r = strtod(arg);
    if r.consumed != arg.len() || r.range_error || r.value.is_nan() {
        return None;
    }
    Some(r.value)
}

/// One bound of a score range, as `strtod` + Redis's end-pointer check:
/// the number must run to the end of the argument (or to a NUL byte, where
/// C's string ends) and must not be NaN.
fn parse_score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    let (text, exclusive) = match arg.first() {
        Some(b'(') => (&arg[1..], true),
        _ => (arg, false),
    };
    let r = strtod(text);
    let ends_string = r.consumed == text.len() || text[r.consumed] == 0;
    if !ends_string || r.value.is_nan() {
        return None;
    }
    Some((r.value, exclusive))
}

/// `min`/`max` of a score range, each inclusive unless marked exclusive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub min_exclusive: bool,
    pub max_exclusive: bool,
}

impl ScoreRange {
    /// Parse `min max`; None means "ERR min or max is not a float".
    pub fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        let (min, min_exclusive) = parse_score_bound(min)?;
        let (max, max_exclusive) = parse_score_bound(max)?;
        Some(ScoreRange {
            min,
            max,
            min_exclusive,
            max_exclusive,
        })
    }

    /// `score` is not below the range.
    pub fn gte_min(&self, score: f64) -> bool {
        if self.min_exclusive {
            score > self.min
        } else {
            score >= self.min
        }
    }

    /// `score` is not above the range.
    pub fn lte_max(&self, score: f64) -> bool {
        if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        }
    }

    /// True when no score at all can be inside (Redis's early exit).
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_exclusive || self.max_exclusive))
    }
}

/// One end of a lexicographic range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexBound<'a> {
    /// `-`: below every string.
    Lowest,
    /// `+`: above every string.
    Highest,
    /// `[x` (inclusive) or `(x` (exclusive); see [`LexRange`].
    Value(&'a [u8]),
}

impl LexBound<'_> {
    /// Redis's `sdscmplex`: the sentinels compare below/above everything,
    /// a sentinel equals itself.
    fn cmp_bound(self, other: LexBound) -> Ordering {
        use LexBound::*;
        match (self, other) {
            (Lowest, Lowest) | (Highest, Highest) => Ordering::Equal,
            (Lowest, _) | (_, Highest) => Ordering::Less,
            (Highest, _) | (_, Lowest) => Ordering::Greater,
            (Value(a), Value(b)) => a.cmp(b),
        }
    }

    /// Compare a member (never a sentinel) with this bound.
    fn cmp_member(self, member: &[u8]) -> Ordering {
        LexBound::Value(member).cmp_bound(self)
    }
}

/// A lexicographic range over members (meaningful when all scores are
/// equal, as the ZRANGEBYLEX documentation requires).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LexRange<'a> {
    pub min: LexBound<'a>,
    pub max: LexBound<'a>,
    pub min_exclusive: bool,
    pub max_exclusive: bool,
}

fn parse_lex_bound(arg: &[u8]) -> Option<(LexBound<'_>, bool)> {
    match arg.first()? {
        b'+' if arg.len() == 1 => Some((LexBound::Highest, true)),
        b'-' if arg.len() == 1 => Some((LexBound::Lowest, true)),
        b'(' => Some((LexBound::Value(&arg[1..]), true)),
        b'[' => Some((LexBound::Value(&arg[1..]), false)),
        _ => None,
    }
}

impl<'a> LexRange<'a> {
    /// Parse `min max`; None means "ERR min or max not valid string range
    /// item".
    pub fn parse(min: &'a [u8], max: &'a [u8]) -> Option<LexRange<'a>> {
        let (min, min_exclusive) = parse_lex_bound(min)?;
        let (max, max_exclusive) = parse_lex_bound(max)?;
        Some(LexRange {
            min,
            max,
            min_exclusive,
            max_exclusive,
        })
    }

    pub fn gte_min(&self, member: &[u8]) -> bool {
        let c = self.min.cmp_member(member);
        if self.min_exclusive {
            c == Ordering::Greater
        } else {
            c != Ordering::Less
        }
    }

    pub fn lte_max(&self, member: &[u8]) -> bool {
        let c = self.max.cmp_member(member);
        if self.max_exclusive {
            c == Ordering::Less
        } else {
            c != Ordering::Greater
        }
    }

    /// True when no string at all can be inside (Redis's early exit).
    pub fn is_empty(&self) -> bool {
        match self.min.cmp_bound(self.max) {
            Ordering::Greater => true,
            Ordering::Equal => self.min_exclusive || self.max_exclusive,
            Ordering::Less => false,
        }
    }
}

/// A range of either kind, for the code paths both share (ZRANGE BYSCORE /
/// BYLEX, the ZREMRANGEBY* and ZCOUNT / ZLEXCOUNT).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range<'a> {
    Score(ScoreRange),
    Lex(LexRange<'a>),
}

impl Range<'_> {
    pub fn gte_min(&self, member: &[u8], score: f64) -> bool {
        match self {
            Range::Score(r) => r.gte_min(score),
            Range::Lex(r) => r.gte_min(member),
        }
    }

    pub fn lte_max(&self, member: &[u8], score: f64) -> bool {
        match self {
            Range::Score(r) => r.lte_max(score),
            Range::Lex(r) => r.lte_max(member),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Range::Score(r) => r.is_empty(),
            Range::Lex(r) => r.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_string2d() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"1e400",
            b"1e-400",
            b"1x",
            b"1\x00",
            b"(1",
        ] {
            assert_eq!(parse_score(bad), None, "{:?}", bad);
        }
        assert!(parse_score(b"1e-310").is_some());
    }

    #[test]
    fn score_ranges_follow_strtod() {
        let r = ScoreRange::parse(b"(1", b"+inf").unwrap();
        assert!(r.min_exclusive && !r.max_exclusive);
        assert!(!r.gte_min(1.0) && r.gte_min(1.5) && r.lte_max(f64::INFINITY));
        // Lenient like Redis: empty bound is 0, spaces and overflow pass.
        assert_eq!(ScoreRange::parse(b"", b"(").unwrap().min, 0.0);
        assert_eq!(
            ScoreRange::parse(b" 1", b"1e400").unwrap().max,
            f64::INFINITY
        );
        assert!(ScoreRange::parse(b"1\x00x", b"2").is_some());
        assert!(ScoreRange::parse(b"nan", b"1").is_none());
        assert!(ScoreRange::parse(b"1", b"[2").is_none());
        assert!(ScoreRange::parse(b"1", b"2 ").is_none());
        assert!(ScoreRange::parse(b"(2", b"2").unwrap().is_empty());
        assert!(ScoreRange::parse(b"3", b"2").unwrap().is_empty());
    }

    #[test]
    fn lex_ranges() {
        assert!(LexRange::parse(b"a", b"+").is_none());
        assert!(LexRange::parse(b"-a", b"+").is_none());
        assert!(LexRange::parse(b"", b"+").is_none());
        let r = LexRange::parse(b"(b", b"[d").unwrap();
        assert!(!r.gte_min(b"b") && r.gte_min(b"ba") && r.lte_max(b"d") && !r.lte_max(b"da"));
        let all = LexRange::parse(b"-", b"+").unwrap();
        assert!(all.gte_min(b"") && all.lte_max(b"\xff\xff") && !all.is_empty());
        assert!(LexRange::parse(b"+", b"-").unwrap().is_empty());
        assert!(LexRange::parse(b"-", b"-").unwrap().is_empty());
        assert!(LexRange::parse(b"[a", b"(a").unwrap().is_empty());
        assert!(!LexRange::parse(b"[a", b"[a").unwrap().is_empty());
    }
}
