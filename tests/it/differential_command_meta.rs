//! COMMAND INFO, COMMAND DOCS and COMMAND GETKEYSANDFLAGS against
//! Debian's redis-server 7.0, for every command both servers have: flags,
//! tips, key specs, and the documentation redis-cli's `help` and hints
//! print (complexity, history, arguments), byte for byte in RESP2 and
//! RESP3.
//!
//! Containers list their subcommands in the order of Redis's hash table,
//! which is not part of the interface: they are compared as sets of
//! lines, and each subcommand on its own by full name.

use crate::common::{Conn, ServerProc};

/// Ours only: RedisLite's HOTKEYS, and CLIENT NO-TOUCH (Redis 7.2).
const OURS_ONLY: &[&str] = &["hotkeys", "client|no-touch"];

/// The bulk strings of a flat array reply (COMMAND LIST).
fn bulks(reply: &[u8]) -> Vec<String> {
    let s = String::from_utf8_lossy(reply);
    let lines: Vec<&str> = s.split("\r\n").collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with('$'))
        .filter_map(|(i, _)| lines.get(i + 1).map(|v| v.to_string()))
        .collect()
}

fn sorted_lines(reply: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8_lossy(reply)
        .split("\r\n")
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

fn pair(proto: &str) -> (ServerProc, ServerProc, Conn, Conn) {
    let ours = ServerProc::start(&["--save", ""]);
    let theirs = ServerProc::start_reference(&[]);
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    a.cmd(&["HELLO", proto]);
    b.cmd(&["HELLO", proto]);
    (ours, theirs, a, b)
}

#[test]
fn command_info_and_docs_match_redis_for_every_command() {
    for proto in ["2", "3"] {
        let (_ours, _theirs, mut a, mut b) = pair(proto);
        let names = bulks(&b.cmd(&["COMMAND", "LIST"]));
        assert!(names.len() > 300, "{}", names.len());
        let mut ours_names = bulks(&a.cmd(&["COMMAND", "LIST"]));
        ours_names.retain(|n| !OURS_ONLY.contains(&n.as_str()));
        let (mut x, mut y) = (ours_names.clone(), names.clone());
        x.sort();
        y.sort();
        assert_eq!(x, y, "the command sets differ");
        let mut failures = Vec::new();
        for name in &names {
            let is_container =
                !name.contains('|') && names.iter().any(|n| n.starts_with(&format!("{name}|")));
            for what in ["INFO", "DOCS"] {
                let (ra, rb) = (
                    a.cmd(&["COMMAND", what, name]),
                    b.cmd(&["COMMAND", what, name]),
                );
                let same = if name == "client" {
                    // Ours has one subcommand more (OURS_ONLY).
                    true
                } else if is_container {
                    sorted_lines(&ra) == sorted_lines(&rb)
                } else {
                    ra == rb
                };
                if !same {
                    failures.push(format!(
                        "RESP{proto} COMMAND {what} {name}:\n ours:   {}\n theirs: {}",
                        String::from_utf8_lossy(&ra).escape_debug(),
                        String::from_utf8_lossy(&rb).escape_debug()
                    ));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} differences, first ones:\n{}",
            failures.len(),
            failures[..failures.len().min(5)].join("\n")
        );
    }
}

#[test]
fn getkeysandflags_matches_redis() {
    let lines: &[&[&str]] = &[
        &["SET", "k", "v"],
        &["SET", "k", "v", "get"],
        &["SET", "k", "v", "EX", "10", "GET"],
        &["BITFIELD", "k", "GET", "u8", "0"],
        &["BITFIELD", "k", "SET", "u8", "0", "1"],
        &["BITFIELD", "k", "OVERFLOW", "WRAP"],
        &["BITFIELD_RO", "k", "GET", "u8", "0"],
        &["MIGRATE", "h", "1", "k", "0", "10"],
        &["MIGRATE", "h", "1", "", "0", "10", "KEYS", "a", "b"],
        &["SORT", "k", "BY", "x", "GET", "y", "STORE", "d"],
        &["SORT_RO", "k", "BY", "x"],
        &["LMOVE", "a", "b", "LEFT", "RIGHT"],
        &["ZUNIONSTORE", "d", "2", "a", "b"],
        &["EVAL", "return 1", "2", "a", "b", "c"],
        &["FCALL", "f", "1", "k"],
        &["XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
        &["OBJECT", "ENCODING", "k"],
        &["XINFO", "STREAM", "s"],
        &["XGROUP", "CREATE", "s", "g", "$"],
        &[
            "GEORADIUS",
            "k",
            "1",
            "2",
            "3",
            "m",
            "STORE",
            "d",
            "STOREDIST",
            "e",
        ],
        &["MSET", "a", "1", "b", "2"],
        &["DEL", "a", "b"],
        &["BLMPOP", "0", "2", "a", "b", "LEFT"],
        &["PFMERGE", "d", "a", "b"],
        &["RENAME", "a", "b"],
        &["COPY", "a", "b"],
        &["GETEX", "k"],
        &["MEMORY", "USAGE", "k"],
        &["SPUBLISH", "ch", "m"],
        &["PING"],
        &["GET"],
        &["NOSUCHCOMMAND", "k"],
        &["ZUNIONSTORE", "d", "5", "a"],
    ];
    for proto in ["2", "3"] {
        let (_ours, _theirs, mut a, mut b) = pair(proto);
        for line in lines {
            let mut args = vec!["COMMAND", "GETKEYSANDFLAGS"];
            args.extend_from_slice(line);
            assert_eq!(
                String::from_utf8_lossy(&a.cmd(&args)),
                String::from_utf8_lossy(&b.cmd(&args)),
                "RESP{proto} {line:?}"
            );
        }
    }
}
