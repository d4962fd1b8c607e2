//! Glob-style pattern matching with the semantics of Redis 7.0.
//!
//! This module owns the one matcher behind every pattern the server accepts
//! from clients: `KEYS`, `SCAN ... MATCH`, `CONFIG GET`, `PSUBSCRIBE` and
//! friends. Clients can only observe the matcher through which names match,
//! so it reproduces Redis's behaviour byte for byte, quirks included:
//!
//! * `*` matches any run of bytes (possibly empty), `?` exactly one byte.
//! * `[abc]`, `[^abc]` and `[a-z]` match one byte against a set. A reversed
//!   range such as `[z-a]` is swapped, so it means `[a-z]`.
//! * `\x` matches `x` literally, both outside and inside a set. A trailing
//!   lone `\` matches a backslash.
//! * A set missing its closing `]` silently extends to the end of the
//!   pattern: `[abc` behaves like `[abc]`. `[]` never matches and `[^]`
//!   matches any byte, because the set closes at the first `]`.
//! * `[a-]` is a range from `a` to `]`, and the set then carries on, as Redis
//!   decides whether `x-y` is a range before looking for the closing bracket.
//! * With `nocase`, bytes compare ASCII case-insensitively, except members of
//!   a set written with an escape (`[\A]`), which Redis compares exactly.
//! * An empty subject matches only the empty pattern: in Redis `*` does not
//!   match `""`. Redis hides this in `KEYS *` and `SCAN` by not matching at all
//!   when the pattern is exactly `*`, so callers that want to behave the same
//!   way must do the same (see [`is_match_all`]).
//!
//! The one deliberate difference: Redis gives up (reports "no match") once a
//! pattern has more than 1000 nested `*`s. This matcher never recurses, so it
//! has no such limit and simply gives the correct answer.
//!
//! What this module must never do: allocate, panic on any input, or take
//! more than `O(pattern.len() * subject.len())` steps. Patterns come straight
//! from untrusted clients, and a backtracking matcher would let a pattern
//! like `a*a*a*a*a*a*b` stall the single-threaded event loop.
//!
//! Invariant behind the time bound: the matcher only ever remembers the most
//! recent `*`. When a later part of the pattern fails to match, only that
//! `*` is made to swallow one more byte. Going back to an earlier `*` would
//! never help: everything after the latest `*` already failed to match
//! starting anywhere further on, and swallowing more bytes with an earlier
//! `*` could only move that start even further on.

/// Returns true if `subject` matches the glob `pattern`, as Redis 7.0 would.
///
/// `nocase` makes ASCII letters compare case-insensitively (Redis uses it for
/// `CONFIG GET`; keys and channels are matched case-sensitively).
pub fn glob_match(pattern: &[u8], subject: &[u8], nocase: bool) -> bool {
    // Redis's matcher stops as soon as the subject runs out, before it even
    // looks at the pattern, so "" matches only "" (see the module docs).
    if subject.is_empty() {
        return pattern.is_empty();
    }

    // `pos` and `at` walk the pattern and the subject. `star` remembers the
    // latest `*`: where the pattern resumes after it, and the first subject
    // byte the star has not swallowed yet.
    let mut pos = 0;
    let mut at = 0;
    let mut star: Option<(usize, usize)> = None;

    while let Some(&byte) = subject.get(at) {
        match element_at(pattern, pos) {
            Some((Element::Star, next)) => {
                // Start by letting the star match nothing at all.
                star = Some((next, at));
                pos = next;
                continue;
            }
            Some((element, next)) if element.matches(pattern, byte, nocase) => {
                pos = next;
                at += 1;
                continue;
            }
            // A mismatch, or the pattern ran out before the subject did.
            _ => {}
        }
        let Some((after_star, swallowed_up_to)) = star else {
            return false;
        };
        star = Some((after_star, swallowed_up_to + 1));
        pos = after_star;
        at = swallowed_up_to + 1;
    }

    // The subject is used up; only `*`s may remain, and they match nothing.
    pattern
        .get(pos..)
        .unwrap_or_default()
        .iter()
        .all(|&b| b == b'*')
}

/// Returns true if `pattern` is exactly `*`.
///
/// Redis skips matching entirely for this pattern in `KEYS` and `SCAN`, which
/// is why those commands return a key named `""` while [`glob_match`]`("*",
/// "")` is false. Commands that want the same behaviour test this first.
pub fn is_match_all(pattern: &[u8]) -> bool {
    pattern == b"*"
}

/// One step of a pattern.
enum Element {
    /// `*`: any run of bytes.
    Star,
    /// `?`: any single byte.
    AnyByte,
    /// A literal byte, possibly written with an escape.
    Byte(u8),
    /// `[...]`: `members` is the pattern index where the members start,
    /// just after `[` or `[^`.
    Set { negated: bool, members: usize },
}

impl Element {
    /// Whether this single-byte element matches `byte`. A `Star` never gets
    /// here: the caller handles it before asking.
    fn matches(&self, pattern: &[u8], byte: u8, nocase: bool) -> bool {
        match *self {
            Element::Star => false,
            Element::AnyByte => true,
            Element::Byte(expected) => bytes_equal(expected, byte, nocase),
            Element::Set { negated, members } => {
                let found = SetMembers::new(pattern, members).any(|m| m.contains(byte, nocase));
                found != negated
            }
        }
    }
}

/// Parses the element that starts at `pos`. Returns it together with the
/// index just past it, or `None` once the pattern is used up.
fn element_at(pattern: &[u8], pos: usize) -> Option<(Element, usize)> {
    let element = match pattern.get(pos..)? {
        [] => return None,
        [b'*', ..] => (Element::Star, pos + 1),
        [b'?', ..] => (Element::AnyByte, pos + 1),
        [b'[', after_bracket @ ..] => {
            let negated = after_bracket.first() == Some(&b'^');
            let members = pos + 1 + usize::from(negated);
            // Walk the members once just to learn where the set ends.
            let mut walker = SetMembers::new(pattern, members);
            walker.by_ref().for_each(drop);
            (Element::Set { negated, members }, walker.pos)
        }
        [b'\\', escaped, ..] => (Element::Byte(*escaped), pos + 2),
        [literal, ..] => (Element::Byte(*literal), pos + 1),
    };
    Some(element)
}

/// One member of a `[...]` set.
enum SetMember {
    Byte(u8),
    /// Written as `\x`; Redis compares these exactly even with `nocase`.
    Escaped(u8),
    /// `lo-hi`, already put in ascending order.
    Range(u8, u8),
}

impl SetMember {
    fn contains(&self, byte: u8, nocase: bool) -> bool {
        match *self {
            SetMember::Byte(member) => bytes_equal(member, byte, nocase),
            SetMember::Escaped(member) => member == byte,
            // Redis swaps the bounds first and lowercases them afterwards, so
            // `[Z-a]` with nocase becomes the empty range `z..=a`. Keep that.
            SetMember::Range(lo, hi) if nocase => {
                let byte = byte.to_ascii_lowercase();
                lo.to_ascii_lowercase() <= byte && byte <= hi.to_ascii_lowercase()
            }
            SetMember::Range(lo, hi) => lo <= byte && byte <= hi,
        }
    }
}

/// Iterates over the members of a set and stops after its closing `]`, or at
/// the end of the pattern if the set is never closed. Afterwards `pos` is the
/// index of the first pattern byte after the set.
struct SetMembers<'p> {
    pattern: &'p [u8],
    pos: usize,
    closed: bool,
}

impl<'p> SetMembers<'p> {
    fn new(pattern: &'p [u8], members: usize) -> Self {
        SetMembers {
            pattern,
            pos: members,
            closed: false,
        }
    }
}

impl Iterator for SetMembers<'_> {
    type Item = SetMember;

    fn next(&mut self) -> Option<SetMember> {
        if self.closed {
            return None;
        }
        // The order of these arms is Redis's order of checks, and it matters:
        // `\]` is an escaped bracket, and `a-]` is a range, not the end.
        let (member, width) = match self.pattern.get(self.pos..).unwrap_or_default() {
            [] => return None,
            [b'\\', escaped, ..] => (SetMember::Escaped(*escaped), 2),
            [b']', ..] => {
                self.pos += 1;
                self.closed = true;
                return None;
            }
            [a, b'-', b, ..] => (SetMember::Range(*a.min(b), *a.max(b)), 3),
            [byte, ..] => (SetMember::Byte(*byte), 1),
        };
        self.pos += width;
        Some(member)
    }
}

fn bytes_equal(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, subject: &str) -> bool {
        glob_match(pattern.as_bytes(), subject.as_bytes(), false)
    }

    fn mi(pattern: &str, subject: &str) -> bool {
        glob_match(pattern.as_bytes(), subject.as_bytes(), true)
    }

    #[test]
    fn literals_must_match_exactly() {
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hell"));
        assert!(!m("hell", "hello"));
        assert!(!m("hello", "Hello"));
        assert!(!m("", "a"));
    }

    #[test]
    fn empty_subject_matches_only_empty_pattern() {
        assert!(m("", ""));
        assert!(!m("*", ""));
        assert!(!m("**", ""));
        assert!(!m("?", ""));
        assert!(is_match_all(b"*"));
        assert!(!is_match_all(b"**"));
        assert!(!is_match_all(b"a*"));
    }

    #[test]
    fn star_matches_any_run() {
        assert!(m("*", "anything"));
        assert!(m("a*", "a"));
        assert!(m("a*", "abc"));
        assert!(m("*c", "abc"));
        assert!(m("a*c", "ac"));
        assert!(m("a*c", "abbbc"));
        assert!(!m("a*c", "abcd"));
        assert!(m("a**c", "abc"));
        assert!(m("*b*", "abc"));
        assert!(m("a*b*c", "axxbyyc"));
        assert!(!m("a*b*c", "axxcyyb"));
        assert!(m("user:*:name", "user:42:name"));
        assert!(m("a*", "a*"));
        assert!(m("a***", "a"));
    }

    #[test]
    fn question_mark_matches_one_byte() {
        assert!(m("h?llo", "hello"));
        assert!(m("h?llo", "hallo"));
        assert!(!m("h?llo", "hllo"));
        assert!(!m("h?llo", "heello"));
        assert!(m("???", "abc"));
        assert!(!m("???", "ab"));
    }

    #[test]
    fn sets_and_negated_sets() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(!m("h[^e]llo", "hllo"));
    }

    #[test]
    fn ranges_including_reversed_ones() {
        assert!(m("h[a-b]llo", "hallo"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(!m("h[a-b]llo", "hcllo"));
        assert!(m("[z-a]", "m"), "reversed ranges are swapped");
        assert!(m("[0-9][0-9]", "42"));
        assert!(!m("[^0-9]", "5"));
        assert!(m("[a-cx-z]", "y"));
    }

    #[test]
    fn range_may_end_with_a_bracket_and_the_set_continues() {
        // `a-]` is the range ']'..='a'; the set then runs to the real end.
        assert!(m("[a-]", "_"));
        assert!(m("[a-]", "a"));
        assert!(!m("[a-]", "b"));
        assert!(m("[a-]b]", "b"), "the set is a-] plus 'b'");
        assert!(!m("[a-]b]", "_b"));
    }

    #[test]
    fn escapes_outside_sets() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("a\\?", "a?"));
        assert!(!m("a\\?", "ab"));
        assert!(m("\\[abc]", "[abc]"));
        assert!(m("\\\\", "\\"));
        assert!(m("a\\", "a\\"), "a trailing backslash is literal");
        assert!(m("\\a", "a"));
    }

    #[test]
    fn escapes_inside_sets() {
        assert!(m("[\\]]", "]"));
        assert!(m("[\\^a]", "^"));
        assert!(m("[\\-]", "-"));
        assert!(!m("[\\-]", "a"));
        assert!(m("[a\\", "\\"), "an unterminated set ending in a backslash");
    }

    #[test]
    fn unterminated_and_degenerate_sets() {
        assert!(m("[abc", "a"));
        assert!(m("[abc", "c"));
        assert!(!m("[abc", "d"));
        assert!(
            !m("[abc", "ab"),
            "the set swallowed the rest of the pattern"
        );
        assert!(!m("[", "a"), "a lone '[' is an empty set");
        assert!(!m("[", "["));
        assert!(m("[^", "x"), "a lone '[^' is a negated empty set");
        assert!(!m("[]", "]"), "'[]' is an empty set");
        assert!(!m("[]a", "a"), "the empty set still needs a byte");
        assert!(!m("[]a", "]a"));
        assert!(m("[^]", "]"), "'[^]' matches any byte");
    }

    #[test]
    fn nocase_matching() {
        assert!(mi("HeLLo", "hello"));
        assert!(mi("h*O", "HELLO"));
        assert!(mi("[A-C]", "b"));
        assert!(mi("[a-c]", "B"));
        assert!(mi("[XYZ]", "y"));
        assert!(!mi("[^XYZ]", "y"));
        assert!(mi("\\A", "a"), "escapes outside sets honour nocase");
        assert!(!mi("[\\A]", "a"), "escaped set members compare exactly");
        assert!(!mi("[Z-a]", "q"), "bounds are lowercased after swapping");
        assert!(mi("maxmemory*", "MAXMEMORY-POLICY"));
    }

    #[test]
    fn non_utf8_bytes_are_fine() {
        assert!(glob_match(b"\xff*", b"\xff\x00\x80", false));
        assert!(glob_match(b"[\x80-\xff]", b"\x90", false));
        assert!(!glob_match(b"[\x80-\xff]", b"\x10", true));
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        // Exponential for a naive backtracking matcher; here it is a few
        // hundred thousand steps at most.
        let subject = vec![b'a'; 20_000];
        let pattern = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!glob_match(pattern, &subject, false));

        let mut many_stars = Vec::new();
        for _ in 0..2_000 {
            many_stars.extend_from_slice(b"*a");
        }
        many_stars.push(b'b');
        assert!(!glob_match(&many_stars, &subject, false));

        // Redis would give up here (nesting limit); we answer correctly.
        let deep: Vec<u8> = b"*a".repeat(1_500);
        assert!(glob_match(&deep, &subject, false));
    }

    /// Straightforward exponential-time reference matcher, written
    /// independently of the real one, used to cross-check it on small inputs.
    fn reference(pattern: &[u8], subject: &[u8], nocase: bool) -> bool {
        fn eq(a: u8, b: u8, nocase: bool) -> bool {
            if nocase {
                a.eq_ignore_ascii_case(&b)
            } else {
                a == b
            }
        }

        /// Matches `c` against the set starting at `p[i]` (after `[`/`[^`);
        /// returns (matched, index after the set).
        fn set(p: &[u8], mut i: usize, c: u8, nocase: bool) -> (bool, usize) {
            let mut hit = false;
            loop {
                if i >= p.len() {
                    return (hit, i);
                }
                if p[i] == b'\\' && i + 1 < p.len() {
                    hit |= p[i + 1] == c;
                    i += 2;
                } else if p[i] == b']' {
                    return (hit, i + 1);
                } else if i + 2 < p.len() && p[i + 1] == b'-' {
                    let (mut lo, mut hi) = (p[i], p[i + 2]);
                    if lo > hi {
                        std::mem::swap(&mut lo, &mut hi);
                    }
                    let mut x = c;
                    if nocase {
                        lo = lo.to_ascii_lowercase();
                        hi = hi.to_ascii_lowercase();
                        x = x.to_ascii_lowercase();
                    }
                    hit |= lo <= x && x <= hi;
                    i += 3;
                } else {
                    hit |= eq(p[i], c, nocase);
                    i += 1;
                }
            }
        }

        fn go(p: &[u8], s: &[u8], nocase: bool) -> bool {
            let Some(&first) = p.first() else {
                return s.is_empty();
            };
            if first == b'*' {
                return go(&p[1..], s, nocase) || (!s.is_empty() && go(p, &s[1..], nocase));
            }
            let Some(&c) = s.first() else {
                return false;
            };
            let (ok, next) = match first {
                b'?' => (true, 1),
                b'[' => {
                    let neg = p.get(1) == Some(&b'^');
                    let (hit, next) = set(p, 1 + usize::from(neg), c, nocase);
                    (hit != neg, next)
                }
                b'\\' if p.len() >= 2 => (eq(p[1], c, nocase), 2),
                lit => (eq(lit, c, nocase), 1),
            };
            ok && go(&p[next..], &s[1..], nocase)
        }

        if subject.is_empty() {
            return pattern.is_empty();
        }
        go(pattern, subject, nocase)
    }

    /// Deterministic xorshift generator so the randomized test is repeatable.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick(&mut self, alphabet: &[u8], max_len: u64) -> Vec<u8> {
            let len = self.next() % (max_len + 1);
            (0..len)
                .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize])
                .collect()
        }
    }

    #[test]
    fn agrees_with_reference_matcher_on_random_inputs() {
        let pattern_alphabet = b"aAbB-*?[]^\\";
        let subject_alphabet = b"aAbB-]^\\";
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..200_000 {
            let pattern = rng.pick(pattern_alphabet, 8);
            let subject = rng.pick(subject_alphabet, 6);
            for nocase in [false, true] {
                assert_eq!(
                    glob_match(&pattern, &subject, nocase),
                    reference(&pattern, &subject, nocase),
                    "pattern {:?} subject {:?} nocase {}",
                    String::from_utf8_lossy(&pattern),
                    String::from_utf8_lossy(&subject),
                    nocase
                );
            }
        }
    }
}
