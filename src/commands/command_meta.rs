//! The documentation side of the command table, as Redis 7.0 publishes
//! it: COMMAND DOCS's complexity, history, arguments and deprecation,
//! COMMAND INFO's tips and key specs, and the key-spec interpreter behind
//! COMMAND GETKEYSANDFLAGS.
//!
//! Owns: the types of `command_meta_data.rs` (generated from the
//! reference server by tools/gen_command_meta.py: the data is Redis's
//! interface documentation, which redis-cli's `help` and hints and
//! cluster-aware clients read, so it must be Redis's own), their lookup
//! by full name, and their writers for either protocol.
//!
//! Must never: decide how a command runs. Execution reads table.rs
//! (flags, arity, first/last key); this data is only reported. A command
//! the reference does not have (RedisLite's own HOTKEYS) has no entry and
//! is documented from table.rs alone.
//!
//! Invariant: `META` is sorted by name (the generator sorts it; a unit
//! test checks), and every `docs` value is one well-formed RESP3 map.

use super::command_meta_data::META;
use crate::resp::reply::ReplyWriter;

/// One command's (or subcommand's, by `parent|sub`) published metadata.
pub struct Meta {
    pub name: &'static str,
    /// COMMAND INFO's tips (`nondeterministic_output`, ...).
    pub tips: &'static [&'static str],
    /// COMMAND INFO's key specs, in Redis's order (their index is the
    /// `key_spec_index` of the documented arguments).
    pub key_specs: &'static [KeySpec],
    /// COMMAND DOCS's map for the command, as RESP3 bytes, without its
    /// `subcommands` (listed from the command table).
    pub docs: &'static [u8],
}

/// Where a key spec's keys start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeginSearch {
    /// At this argument (the command name is 0).
    Index(i64),
    /// After this keyword, searched for from `startfrom` (a negative
    /// start counts from the end and searches backwards).
    Keyword(&'static str, i64),
    /// Not expressible (SORT's STORE): only the command knows.
    UnknownBegin,
}

/// Which arguments from the start are keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindKeys {
    /// The last key relative to the first (negative: from the end of the
    /// arguments; with `limit` > 1 only that share of the rest), every
    /// `keystep`th argument.
    Range {
        lastkey: i64,
        keystep: i64,
        limit: i64,
    },
    /// A count at `keynumidx` (relative to the start), the keys from
    /// `firstkey`, every `keystep`th.
    Keynum {
        keynumidx: i64,
        firstkey: i64,
        keystep: i64,
    },
    UnknownFind,
}

#[derive(Debug)]
pub struct KeySpec {
    pub notes: &'static str,
    pub flags: &'static [&'static str],
    pub begin: BeginSearch,
    pub find: FindKeys,
}

/// The metadata of `full_name` (`get`, `client|list`), if the reference
/// server has that command.
pub fn lookup(full_name: &str) -> Option<&'static Meta> {
    META.binary_search_by(|m| m.name.cmp(full_name))
        .ok()
        .map(|i| &META[i])
}

/// COMMAND INFO's 8th element (bulk strings, where flags are simple).
pub fn write_tips(w: &mut ReplyWriter, meta: Option<&Meta>) {
    let tips = meta.map_or(&[][..], |m| m.tips);
    w.set(tips.len());
    for t in tips {
        w.bulk(t.as_bytes());
    }
}

/// COMMAND INFO's 9th element, shaped as Redis shapes it.
pub fn write_key_specs(w: &mut ReplyWriter, meta: Option<&Meta>) {
    let specs = meta.map_or(&[][..], |m| m.key_specs);
    w.set(specs.len());
    for s in specs {
        let notes = !s.notes.is_empty();
        w.map(3 + usize::from(notes));
        if notes {
            w.bulk(b"notes");
            w.bulk(s.notes.as_bytes());
        }
        w.bulk(b"flags");
        w.set(s.flags.len());
        for f in s.flags {
            w.simple(f);
        }
        w.bulk(b"begin_search");
        w.map(2);
        w.bulk(b"type");
        match s.begin {
            BeginSearch::Index(i) => {
                w.bulk(b"index");
                w.bulk(b"spec");
                w.map(1);
                w.bulk(b"index");
                w.int(i);
            }
            BeginSearch::Keyword(k, from) => {
                w.bulk(b"keyword");
                w.bulk(b"spec");
                w.map(2);
                w.bulk(b"keyword");
                w.bulk(k.as_bytes());
                w.bulk(b"startfrom");
                w.int(from);
            }
            BeginSearch::UnknownBegin => {
                w.bulk(b"unknown");
                w.bulk(b"spec");
                w.map(0);
            }
        }
        w.bulk(b"find_keys");
        w.map(2);
        w.bulk(b"type");
        match s.find {
            FindKeys::Range {
                lastkey,
                keystep,
                limit,
            } => {
                w.bulk(b"range");
                w.bulk(b"spec");
                w.map(3);
                for (k, v) in [("lastkey", lastkey), ("keystep", keystep), ("limit", limit)] {
                    w.bulk(k.as_bytes());
                    w.int(v);
                }
            }
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                w.bulk(b"keynum");
                w.bulk(b"spec");
                w.map(3);
                for (k, v) in [
                    ("keynumidx", keynumidx),
                    ("firstkey", firstkey),
                    ("keystep", keystep),
                ] {
                    w.bulk(k.as_bytes());
                    w.int(v);
                }
            }
            FindKeys::UnknownFind => {
                w.bulk(b"unknown");
                w.bulk(b"spec");
                w.map(0);
            }
        }
    }
}

/// The entries of a docs map (its header's count), or None when the
/// stored bytes do not start with a map.
pub fn docs_len(meta: &Meta) -> Option<usize> {
    let rest = meta.docs.strip_prefix(b"%")?;
    let end = rest.iter().position(|&b| b == b'\r')?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

/// Write the docs map's entries (not its header, so that the caller can
/// add `subcommands`), in the client's protocol.
pub fn write_docs_entries(w: &mut ReplyWriter, meta: &Meta) {
    let mut rest = meta.docs;
    if docs_len(meta).is_some() {
        // Skip the header line: the caller wrote its own.
        if let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            rest = &rest[nl + 1..];
        }
    }
    while !rest.is_empty() {
        if !replay(w, &mut rest, 0) {
            break;
        }
    }
}

/// Deepest nesting in the stored docs (arguments of blocks of oneofs ...).
const DOCS_DEPTH_MAX: usize = 16;

/// Re-emit one RESP3 value from `data` through the writer, which gives a
/// RESP2 client flat arrays for maps and sets. False on bytes this
/// generator never writes (the value is then cut short).
fn replay(w: &mut ReplyWriter, data: &mut &[u8], depth: usize) -> bool {
    let Some(nl) = data.iter().position(|&b| b == b'\n') else {
        return false;
    };
    if nl < 2 || depth > DOCS_DEPTH_MAX {
        return false;
    }
    let kind = data[0];
    let head = &data[1..nl - 1];
    *data = &data[nl + 1..];
    let Some(n) = std::str::from_utf8(head)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
    else {
        if kind == b'+' {
            w.simple(&String::from_utf8_lossy(head));
            return true;
        }
        return false;
    };
    let count = usize::try_from(n).unwrap_or(0);
    match kind {
        b'+' => w.simple(&n.to_string()),
        b':' => w.int(n),
        b'$' => {
            if data.len() < count + 2 {
                return false;
            }
            w.bulk(&data[..count]);
            *data = &data[count + 2..];
        }
        b'*' | b'~' | b'%' => {
            let items = if kind == b'%' { count * 2 } else { count };
            match kind {
                b'*' => w.array(count),
                b'~' => w.set(count),
                _ => w.map(count),
            }
            for _ in 0..items {
                if !replay(w, data, depth + 1) {
                    return false;
                }
            }
        }
        _ => return false,
    }
    true
}

/// The keys of a command line by one key spec: their argument positions.
/// None when the spec finds nothing here (its keyword is absent, or it
/// is `unknown`); positions past the end are dropped, as Redis does for
/// commands of variable arity (the command reports the error itself).
pub fn spec_positions(spec: &KeySpec, argv: &[&[u8]]) -> Option<Vec<usize>> {
    let argc = argv.len() as i64;
    let first = match spec.begin {
        BeginSearch::Index(i) => i,
        BeginSearch::Keyword(word, from) => {
            let found = if from >= 0 {
                (from..argc).find(|&i| argv[i as usize].eq_ignore_ascii_case(word.as_bytes()))
            } else {
                (1..=argc + from)
                    .rev()
                    .find(|&i| argv[i as usize].eq_ignore_ascii_case(word.as_bytes()))
            };
            found? + 1
        }
        BeginSearch::UnknownBegin => return None,
    };
    let (first, last, step) = match spec.find {
        FindKeys::Range {
            lastkey,
            keystep,
            limit,
        } => {
            let last = if lastkey >= 0 {
                first + lastkey
            } else if limit <= 1 {
                argc + lastkey
            } else {
                first + ((argc - first) / limit + lastkey)
            };
            (first, last, keystep)
        }
        FindKeys::Keynum {
            keynumidx,
            firstkey,
            keystep,
        } => {
            let at = usize::try_from(first + keynumidx).ok()?;
            let n: i64 = std::str::from_utf8(argv.get(at)?).ok()?.parse().ok()?;
            let start = first + firstkey;
            (start, start + (n - 1) * keystep, keystep)
        }
        FindKeys::UnknownFind => return None,
    };
    if step <= 0 {
        return None;
    }
    let mut out = Vec::new();
    let mut i = first;
    while i <= last && i < argc {
        if i >= 1 {
            out.push(i as usize);
        }
        i += step;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_is_sorted_and_docs_are_maps() {
        assert!(META.windows(2).all(|p| p[0].name < p[1].name));
        for m in META {
            assert!(docs_len(m).is_some(), "{}", m.name);
        }
        assert!(lookup("get").is_some());
        assert!(lookup("client|list").is_some());
        assert!(lookup("hotkeys").is_none());
    }

    #[test]
    fn specs_find_keys_as_redis_documents() {
        let argv = |s: &'static str| s.split(' ').map(str::as_bytes).collect::<Vec<_>>();
        let pos = |name: &str, line: &'static str| -> Vec<Vec<usize>> {
            let a = argv(line);
            lookup(name)
                .unwrap()
                .key_specs
                .iter()
                .filter_map(|s| spec_positions(s, &a))
                .collect()
        };
        assert_eq!(pos("mset", "MSET a 1 b 2"), vec![vec![1, 3]]);
        assert_eq!(pos("lmove", "LMOVE a b LEFT RIGHT"), vec![vec![1], vec![2]]);
        assert_eq!(
            pos("zunionstore", "ZUNIONSTORE d 2 a b"),
            vec![vec![1], vec![3, 4]]
        );
        assert_eq!(
            pos("xread", "XREAD COUNT 2 STREAMS s1 s2 0 0"),
            vec![vec![4, 5]]
        );
        assert_eq!(pos("del", "DEL a b c"), vec![vec![1, 2, 3]]);
        // MIGRATE's KEYS is searched from the end.
        assert_eq!(
            pos("migrate", "MIGRATE h 1 \"\" 0 5 KEYS a b"),
            vec![vec![3], vec![7, 8]]
        );
    }
}
