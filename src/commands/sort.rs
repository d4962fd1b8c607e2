//! SORT and SORT_RO (Redis's sort.c): the elements of a list, set or
//! sorted set, sorted as numbers or as bytes, optionally by weights read
//! from other keys (`BY weight_*`, `BY weight_*->field`), returned as
//! themselves or as values read through patterns (`GET h_*`, `GET #`),
//! optionally stored as a list (`STORE dst`).
//!
//! Must never: read keys through a pattern for a user who may not read
//! every key (Redis 7.0 refuses BY and GET then: the keys a pattern reaches
//! depend on the data, so no key-level ACL check could vet them); store a
//! set's elements in an order that depends on the set's memory layout (a
//! stored SORT is propagated as the command itself, so a replica or a log
//! replay must build the same list).
//!
//! Invariants: the options are parsed before the key is looked up (a
//! syntax error wins over WRONGTYPE, as in Redis); the sort is stable and a
//! set's elements enter it in byte order, so equal weights (ALPHA BY, where
//! Redis breaks no ties) keep an order that is the same on every server.

use super::{parse_int, Argv};
use crate::connection::Client;
use crate::db::Access;
use crate::errors::{CmdError, CmdResult};
use crate::notify::LIST;
use crate::server::Server;
use crate::types::list::{End, Fill, ListValue};
use crate::types::zset::strtod;
use crate::types::Value;
use std::cmp::Ordering;

/// SORT's options, as given.
struct Options<'a> {
    /// A BY pattern with a `*` in it (one without means "do not sort").
    by: Option<&'a [u8]>,
    dontsort: bool,
    /// LIMIT offset count.
    limit: Option<(i64, i64)>,
    gets: Vec<&'a [u8]>,
    desc: bool,
    alpha: bool,
    store: Option<&'a [u8]>,
}

/// Parse the options after the key, left to right as Redis does, so the
/// first bad one decides the error. `may_read_all`: the user may read
/// every key (BY and GET patterns need that).
fn parse_options<'a>(
    argv: &'a Argv,
    readonly: bool,
    may_read_all: bool,
) -> Result<Options<'a>, CmdError> {
    let mut o = Options {
        by: None,
        dontsort: false,
        limit: None,
        gets: Vec::new(),
        desc: false,
        alpha: false,
        store: None,
    };
    let mut j = 2;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        if argv.is(j, "asc") {
            o.desc = false;
        } else if argv.is(j, "desc") {
            o.desc = true;
        } else if argv.is(j, "alpha") {
            o.alpha = true;
        } else if argv.is(j, "limit") && left >= 2 {
            o.limit = Some((parse_int(&argv[j + 1])?, parse_int(&argv[j + 2])?));
            j += 2;
        } else if argv.is(j, "store") && left >= 1 && !readonly {
            o.store = Some(&argv[j + 1]);
            j += 1;
        } else if argv.is(j, "by") && left >= 1 {
            let pattern = &argv[j + 1];
            if pattern.contains(&b'*') {
                if !may_read_all {
                    return Err(CmdError::SortPatternDenied("BY"));
                }
                // An earlier "BY nosort" still wins, as in Redis.
                o.by = Some(pattern);
            } else {
                o.by = None;
                o.dontsort = true;
            }
            j += 1;
        } else if argv.is(j, "get") && left >= 1 {
            if !may_read_all {
                return Err(CmdError::SortPatternDenied("GET"));
            }
            o.gets.push(&argv[j + 1]);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// Where SORT's second key is, for COMMAND GETKEYS and the ACL: the
/// destination of the last STORE, skipping the arguments of LIMIT, GET
/// and BY (a "store" that is an option's argument is not the option).
pub fn store_key_position(argv: &Argv) -> Option<usize> {
    let mut found = None;
    let mut i = 2;
    while i < argv.len() {
        if argv.is(i, "limit") {
            i += 2;
        } else if argv.is(i, "get") || argv.is(i, "by") {
            i += 1;
        } else if argv.is(i, "store") && i + 1 < argv.len() {
            found = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    found
}

/// The value a BY or GET pattern names for `elem`: `#` is the element
/// itself; otherwise the first `*` is replaced by the element, and a `->`
/// after it followed by a field name reads that field of a hash. A key of
/// another type (or a field asked of a string) reads as missing. `key` is
/// scratch space, reused across elements.
fn lookup_pattern(
    srv: &mut Server,
    db: usize,
    pattern: &[u8],
    elem: &[u8],
    key: &mut Vec<u8>,
) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(elem.to_vec());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let after = &pattern[star + 1..];
    let (tail, field) = match after.windows(2).position(|w| w == b"->") {
        Some(p) if p + 2 < after.len() => (&after[..p], Some(&after[p + 2..])),
        _ => (after, None),
    };
    key.clear();
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(tail);
    let obj = srv.ks.lookup(db, key, Access::Read)?;
    match (&obj.value, field) {
        (Value::Str(s), None) => Some(s.with_bytes(|b| b.to_vec())),
        (Value::Hash(h), Some(f)) => h.get(f).map(|v| v.to_vec()),
        _ => None,
    }
}

/// What an element is sorted by.
enum Weight {
    None,
    Score(f64),
    /// ALPHA BY: the pattern's value (None: the key is missing).
    Bytes(Option<Vec<u8>>),
}

struct Item {
    elem: Vec<u8>,
    weight: Weight,
}

/// Redis's order: numbers ascending with ties broken by the elements'
/// bytes; ALPHA by the elements' bytes, or by the BY values with a missing
/// one first (and no tie-break: the stable sort keeps the input order).
fn compare(a: &Item, b: &Item) -> Ordering {
    match (&a.weight, &b.weight) {
        (Weight::Score(x), Weight::Score(y)) => x
            .partial_cmp(y)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.elem.cmp(&b.elem)),
        (Weight::Bytes(x), Weight::Bytes(y)) => x.cmp(y),
        _ => a.elem.cmp(&b.elem),
    }
}

/// C's strtod over the string up to its end (or a NUL byte, where C's
/// string ends), as SORT reads a number: leading spaces and an empty
/// string are fine (0); trailing bytes, NaN, and what sets glibc's ERANGE
/// (overflow, and underflow into the subnormal range, which Redis's SORT
/// checks where its other parsers do not) are "not a double".
fn sort_score(b: &[u8]) -> Option<f64> {
    let r = strtod(b);
    let whole = r.consumed == b.len() || b[r.consumed] == 0;
    let subnormal = r.value != 0.0 && r.value.abs() < f64::MIN_POSITIVE;
    (whole && !r.range_error && !subnormal && !r.value.is_nan()).then_some(r.value)
}

/// The elements of the value at `key`, in the order SORT starts from: a
/// list's, a sorted set's by score, a set's in byte order when it will be
/// sorted or stored (its own layout order otherwise, as Redis's). Also
/// whether it is a set.
fn load_elements(
    srv: &mut Server,
    db: usize,
    key: &[u8],
    by_bytes: bool,
) -> Result<(Vec<Vec<u8>>, bool), CmdError> {
    let Some(obj) = srv.ks.lookup(db, key, Access::Read) else {
        return Ok((Vec::new(), false));
    };
    let (mut elems, is_set) = match &mut obj.value {
        Value::List(l) => (l.iter().map(|e| e.to_vec()).collect::<Vec<_>>(), false),
        Value::ZSet(z) => {
            // Redis 7.0's SORT converts a sorted set it reads to a skiplist,
            // even SORT_RO; OBJECT ENCODING shows it, so we do the same.
            z.convert_to_skiplist();
            (z.iter().map(|(m, _)| m.to_vec()).collect(), false)
        }
        Value::Set(s) => (
            s.iter().map(|m| m.with_bytes(|b| b.to_vec())).collect(),
            true,
        ),
        _ => return Err(CmdError::WrongType),
    };
    if is_set && by_bytes {
        elems.sort_unstable();
    }
    Ok((elems, is_set))
}

/// The range LIMIT selects of `len` elements, as Redis computes it: a
/// negative offset is 0, a negative count means "to the end".
fn limit_range(limit: Option<(i64, i64)>, len: usize) -> std::ops::Range<usize> {
    let len = len as i128;
    let (start, end) = match limit {
        None => (0, len - 1),
        Some((offset, count)) => {
            let start = (offset as i128).max(0);
            let end = if count < 0 {
                len - 1
            } else {
                start + count as i128 - 1
            };
            (start, end)
        }
    };
    let (start, end) = if start >= len {
        (len - 1, len - 2)
    } else {
        (start, end.min(len - 1))
    };
    if end < start {
        return 0..0;
    }
    start as usize..end as usize + 1
}

pub fn sort(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    sort_generic(srv, c, argv, false)
}

pub fn sort_ro(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    sort_generic(srv, c, argv, true)
}

fn sort_generic(srv: &mut Server, c: &mut Client, argv: &Argv, readonly: bool) -> CmdResult {
    let may_read_all = c
        .user
        .as_ref()
        .is_none_or(|u| u.borrow().may_read_all_keys());
    let mut o = parse_options(argv, readonly, may_read_all)?;
    let db = c.db;
    // A set sorted "by nothing" is sorted by bytes when the result is
    // stored or goes to a script, so neither the stored list nor what a
    // script acts on (and replicates) depends on the set's layout.
    let forced = o.dontsort && (o.store.is_some() || c.in_script);
    let (elems, is_set) = load_elements(srv, db, &argv[1], !o.dontsort || forced)?;
    if is_set && forced {
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    let mut key = Vec::new();
    let mut items = Vec::with_capacity(elems.len());
    let mut not_double = false;
    for elem in elems {
        let weight = if o.dontsort {
            Weight::None
        } else if let Some(by) = o.by {
            let v = lookup_pattern(srv, db, by, &elem, &mut key);
            if o.alpha {
                Weight::Bytes(v)
            } else {
                // A missing weight counts as 0, as in Redis.
                match v.as_deref().map_or(Some(0.0), sort_score) {
                    Some(s) => Weight::Score(s),
                    None => {
                        not_double = true;
                        Weight::Score(0.0)
                    }
                }
            }
        } else if o.alpha {
            Weight::None
        } else {
            match sort_score(&elem) {
                Some(s) => Weight::Score(s),
                None => {
                    not_double = true;
                    Weight::Score(0.0)
                }
            }
        };
        items.push(Item { elem, weight });
    }
    if not_double {
        return Err(CmdError::SortNotDouble);
    }
    if o.dontsort {
        // Lists and sorted sets keep their own order, reversed by DESC; a
        // set's order has no direction to reverse.
        if o.desc && !is_set {
            items.reverse();
        }
    } else {
        items.sort_by(|a, b| {
            let ord = compare(a, b);
            if o.desc {
                ord.reverse()
            } else {
                ord
            }
        });
    }
    let range = limit_range(o.limit, items.len());
    let picked = &items[range];
    match o.store {
        None => {
            let per = o.gets.len().max(1);
            let mut values: Vec<Option<Vec<u8>>> = Vec::with_capacity(picked.len() * per);
            for item in picked {
                if o.gets.is_empty() {
                    values.push(Some(item.elem.clone()));
                }
                for g in &o.gets {
                    values.push(lookup_pattern(srv, db, g, &item.elem, &mut key));
                }
            }
            let mut w = c.reply();
            w.array(values.len());
            for v in &values {
                match v {
                    Some(b) => w.bulk(b),
                    None => w.null(),
                }
            }
        }
        Some(dst) => {
            let fill = Fill::new(srv.config.list_max_listpack_size);
            let mut list = ListValue::new();
            for item in picked {
                if o.gets.is_empty() {
                    list.push(End::Tail, &item.elem, fill);
                }
                for g in &o.gets {
                    // A missing value is stored as an empty string.
                    let v = lookup_pattern(srv, db, g, &item.elem, &mut key);
                    list.push(End::Tail, v.as_deref().unwrap_or(b""), fill);
                }
            }
            let n = list.len();
            let value = (n > 0).then(|| Value::List(Box::new(list)));
            if super::store_result(srv, db, dst, value, LIST, "sortstore") {
                // As Redis: one change per stored element.
                srv.ks.dirty += n.max(1) as u64;
            }
            c.reply().int(n as i64);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_range_follows_redis() {
        assert_eq!(limit_range(None, 5), 0..5);
        assert_eq!(limit_range(None, 0), 0..0);
        assert_eq!(limit_range(Some((0, 2)), 5), 0..2);
        assert_eq!(limit_range(Some((-1, 2)), 5), 0..2);
        assert_eq!(limit_range(Some((1, -1)), 5), 1..5);
        assert_eq!(limit_range(Some((3, 100)), 5), 3..5);
        assert_eq!(limit_range(Some((10, 1)), 5), 0..0);
        assert_eq!(limit_range(Some((0, 0)), 5), 0..0);
        assert_eq!(limit_range(Some((i64::MAX, i64::MAX)), 5), 0..0);
        assert_eq!(limit_range(Some((4, i64::MAX)), 5), 4..5);
    }

    #[test]
    fn sort_score_reads_whole_strings_only() {
        assert_eq!(sort_score(b"1.5"), Some(1.5));
        assert_eq!(sort_score(b" 2"), Some(2.0));
        assert_eq!(sort_score(b""), Some(0.0));
        assert_eq!(sort_score(b"inf"), Some(f64::INFINITY));
        assert_eq!(sort_score(b"1 "), None);
        assert_eq!(sort_score(b"abc"), None);
        assert_eq!(sort_score(b"nan"), None);
        assert_eq!(sort_score(b"1e400"), None);
        assert_eq!(sort_score(b"1e-310"), None);
        assert_eq!(
            sort_score(b"2.2250738585072014e-308"),
            Some(f64::MIN_POSITIVE)
        );
        assert_eq!(sort_score(b"7\0x"), Some(7.0));
    }
}
