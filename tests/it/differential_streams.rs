//! Differential tests for the stream writing and range commands (XADD,
//! XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID, XINFO STREAM) against
//! redis-server 7.0, byte for byte, in RESP2 and RESP3.
//!
//! Auto IDs (`*`) depend on each server's clock: scripts use explicit IDs
//! (and `ms-*`), and the few `*` lines are sent without comparing their
//! reply. The node-boundary tests compare XINFO STREAM (radix-tree-keys and
//! radix-tree-nodes) and approximate trims over many entry sizes and node
//! limits, which is what shows the listpack node model is Redis's. The
//! propagation test reads both servers' replication streams as a replica
//! would and compares the rewritten commands.

use crate::common::{Conn, ServerProc};
use crate::common_rng;
use crate::differential::{check, check_with};
use std::io::Read;

#[test]
fn xadd_and_xtrim_arguments_and_errors_match_redis() {
    check(
        r#"
        XADD s
        XADD s *
        XADD s * f
        XADD s * f v g
        XADD s 0-0 f v
        XADD s 0 f v
        XADD s 0-* f v
        XADD s 0-* f v
        XADD s maxlen f v
        XADD s maxlen ~ f v
        XADD s maxlen * f v
        XADD s maxlen -1 1 f v
        XADD s maxlen 1.5 1 f v
        XADD s maxlen 1 minid 1 1 f v
        XADD s maxlen 1 maxlen 2 1 f v
        XADD s minid 1 minid 2 1 f v
        XADD s maxlen = 1 minid 2 1 f v
        XADD s limit 5 1 f v
        XADD s limit 0 1 f v
        XADD s maxlen 1 limit 5 1 f v
        XADD s maxlen = 1 limit 5 1 f v
        XADD s limit 1 maxlen 2 1 f v
        XADD s limit -1 maxlen 2 1 f v
        XADD s maxlen ~ 1 limit -1 1 f v
        XADD s maxlen ~ 1 limit x 1 f v
        XADD s minid -1 1 f v
        XADD s minid + 1 f v
        XADD s minid - 1 f v
        XADD s x f v
        XADD s 1-2-3 f v
        XADD s -1 f v
        XADD s 1-x f v
        XADD s *-1 f v
        XADD s 1-** f v
        XADD s 18446744073709551616 f v
        XADD s -18446744073709551615 f v
        XADD s nomkstream f v
        XADD s " 5" f v
        XADD s +5-+3 f v
        XADD s 007 f v
        XADD s 8--0 a b
        XADD s 9-18446744073709551615 a b
        XADD s 9-* a b
        XADD s 10-* a b
        XADD s 10-* a b c d
        XADD s "11\x00junk" a b
        XLEN s
        XRANGE s - +
        XADD s 18446744073709551615-18446744073709551615 a b
        XADD s 18446744073709551615-* a b
        XADD s 1 a b
        XADD nokey nomkstream 1 f v
        EXISTS nokey
        XADD nokey nomkstream maxlen x 1 f v
        XADD nokey 0 f v
        EXISTS nokey
        XADD nokey2 maxlen ~ 0 1 f v
        XLEN nokey2
        EXISTS nokey2
        SET str x
        XADD str 1 f v
        XADD str 0 f v
        XADD str nomkstream 1 f v
        XADD str nomkstream maxlen -1 1 f v
        XTRIM s
        XTRIM s maxlen
        XTRIM s foo
        XTRIM s foo bar
        XTRIM s maxlen 1 foo
        XTRIM s nomkstream maxlen 1
        XTRIM s limit 1 maxlen 2
        XTRIM s limit 0
        XTRIM s limit 5
        XTRIM s maxlen 1 limit 5
        XTRIM s maxlen = 1 limit 5
        XTRIM s minid = 5 limit 2
        XTRIM s maxlen ~ 1 limit 1 limit 2
        XTRIM s maxlen ~ x
        XTRIM s minid ~ x
        XTRIM s minid ~ +
        XTRIM str maxlen 1
        XTRIM nokey maxlen 1
        XTRIM nokey maxlen x
        ~XADD auto * f v
        ~XADD auto maxlen ~ 1 * f v
        XLEN auto
        ~XADD auto nomkstream * f v
        XLEN auto
        "#,
    );
}

#[test]
fn xrange_xrevrange_xdel_and_xlen_match_redis() {
    check(
        r#"
        XADD s 1-1 a 1
        XADD s 2-1 b 2 c 3
        XADD s 3-1 a 1
        XADD s 3-5 a ""
        XADD s 4 "" ""
        XRANGE s - +
        XRANGE s - + count 0
        XRANGE s - + count -1
        XRANGE s - + count 1
        XRANGE s - + COUNT 2 count 3
        XRANGE s - + count
        XRANGE s - + foo
        XRANGE s - + count x
        XRANGE s (- +
        XRANGE s - (+
        XRANGE s (2 +
        XRANGE s (2-1 +
        XRANGE s ( +
        XRANGE s (18446744073709551615-18446744073709551615 +
        XRANGE s - (0-0
        XRANGE s - (0
        XRANGE s (0 (3
        XRANGE s 3 3
        XRANGE s 2 2
        XRANGE s + -
        XRANGE s ((1 +
        XRANGE s 1-* +
        XRANGE s " 2" +3
        XRANGE s 1- +
        XREVRANGE s + - count 1
        XREVRANGE s (3-1 -
        XREVRANGE s (3-5 (1-1
        XREVRANGE s - +
        XREVRANGE s 3 3
        XREVRANGE s + - count 0
        XREVRANGE s + (18446744073709551615-18446744073709551615
        XREVRANGE s (0-0 -
        XRANGE nokey - +
        XRANGE nokey - + count 0
        XRANGE nokey x +
        XREVRANGE nokey + -
        XDEL s 2-1
        XDEL s 2-1 5-5
        XDEL s -
        XDEL s +
        XDEL s 1
        XDEL s 1-1 x
        XDEL s 3-1 3-1 3-5
        XDEL nokey x
        XRANGE s - +
        XLEN s
        XLEN nokey
        XDEL s 1-1 4
        XLEN s
        EXISTS s
        XRANGE s - +
        XREVRANGE s + -
        SET str x
        XLEN str
        XRANGE str - +
        XRANGE str x +
        XREVRANGE str + -
        XDEL str 1
        XDEL str x
        "#,
    );
}

#[test]
fn xsetid_matches_redis() {
    check(
        r#"
        XSETID nokey 5
        XSETID nokey 5 maxdeletedid 6
        XSETID nokey x
        XADD s 1-1 a 1
        XADD s 2-1 b 2
        XADD s 3-1 a 1
        XDEL s 2-1
        XSETID s 1
        XSETID s 3-1
        XSETID s 3-0
        XSETID s 5 entriesadded 1
        XSETID s 5 entriesadded -1
        XSETID s 5 entriesadded x
        XSETID s 5 maxdeletedid 6
        XSETID s 5 maxdeletedid 2
        XSETID s 5 maxdeletedid x
        XSETID s 5 foo
        XSETID s 5 entriesadded
        XSETID s 5 maxdeletedid
        XSETID s x
        XSETID s -
        XSETID s 6 maxdeletedid 0 entriesadded 1
        XINFO STREAM s
        XSETID s 6 MAXDELETEDID 1
        XSETID s 1000 ENTRIESADDED 10 maxdeletedid 500
        XINFO STREAM s
        XSETID s 4
        XINFO STREAM s
        XADD s 4-* f v
        XADD s 5 f v
        XDEL s 1-1 3-1 4-1 5
        XSETID s 2 entriesadded 0
        XINFO STREAM s
        XADD s 1-* f v
        XADD s 2-* f v
        SET str x
        XSETID str 1
        XSETID str x
        "#,
    );
}

#[test]
fn xinfo_stream_and_help_match_redis() {
    check(
        r#"
        XINFO
        XINFO help
        XINFO HELP x
        XINFO foo
        XINFO foo bar
        XINFO stream
        XINFO stream nokey
        XINFO stream nokey full
        XADD s 1-1 a 1
        XADD s 2-1 b 2 c 3
        XADD s 3-1 a 1
        XDEL s 2-1
        XINFO stream s
        XINFO STREAM s FULL
        XINFO stream s full count 1
        XINFO stream s full count -1
        XINFO stream s full count 0
        XINFO stream s full count x
        XINFO stream s fuLL COUNT 2
        XINFO stream s foo
        XINFO Stream s full foo
        XINFO stream s full count
        XINFO stream s full count 1 x
        XDEL s 1-1 3-1
        XINFO stream s
        XINFO stream s full
        SET str x
        XINFO stream str
        XINFO stream str foo
        "#,
    );
}

#[test]
fn stream_replies_in_resp3_match_redis() {
    check(
        r#"
        ~HELLO 3
        XADD nokey nomkstream 1 f v
        XADD s 1-1 a 1
        XADD s 2-1 b 2 c 3
        XRANGE s - + count 0
        XRANGE s - +
        XREVRANGE s + -
        XRANGE nokey - +
        XINFO stream s
        XINFO stream s full
        XDEL s 1-1 2-1
        XINFO stream s
        XINFO help
        XLEN s
        XSETID s 9
        XTRIM s maxlen 0
        "#,
    );
}

#[test]
fn stream_type_introspection_and_wrong_types_match_redis() {
    check(
        r#"
        XADD s 1 f v
        TYPE s
        OBJECT ENCODING s
        SCAN 0 TYPE stream
        SCAN 0 TYPE string
        SET str x
        LPUSH l a
        GET s
        LPUSH s a
        HSET s f v
        SADD s m
        ZADD s 1 m
        INCR s
        APPEND s x
        PFADD s x
        SETBIT s 1 1
        XADD l 1 f v
        XLEN l
        XRANGE l - +
        XINFO stream l
        COPY s s2
        XRANGE s2 - +
        RENAME s2 s3
        XINFO stream s3
        DEL s3
        EXISTS s3
        "#,
    );
}

#[test]
fn stream_node_options_match_redis() {
    check(
        r#"
        CONFIG GET stream-node-max-bytes
        CONFIG GET stream-node-max-entries
        CONFIG SET stream-node-max-bytes 1kb
        CONFIG GET stream-node-max-bytes
        CONFIG SET stream-node-max-bytes -1
        CONFIG SET stream-node-max-entries -1
        CONFIG SET stream-node-max-entries x
        CONFIG SET stream-node-max-entries 0
        CONFIG GET stream-node-max-entries
        CONFIG SET stream-node-max-bytes 0
        CONFIG GET stream-node-max-bytes
        "#,
    );
    check_with(
        &[
            "--stream-node-max-entries",
            "3",
            "--stream-node-max-bytes",
            "2mb",
        ],
        r#"
        CONFIG GET stream-node-max-entries
        CONFIG GET stream-node-max-bytes
        XADD s 1 f v
        XADD s 2 f v
        XADD s 3 f v
        XADD s 4 f v
        XINFO STREAM s
        "#,
    );
}

/// The first 14 elements of COMMAND INFO (name, arity, flags, key range,
/// ACL categories) of each command, and its DOCS group and since: key
/// specs and argument docs are not reproduced. XINFO is compared by its
/// flags and categories only: its key (XINFO STREAM's) is reported on the
/// container, as for MEMORY and OBJECT.
#[test]
fn stream_command_table_rows_match_redis() {
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    let (mut o, mut t) = (ours.conn(), theirs.conn());
    for name in [
        "xadd",
        "xlen",
        "xrange",
        "xrevrange",
        "xdel",
        "xtrim",
        "xsetid",
    ] {
        let a = o.cmds(&["COMMAND", "INFO", name]);
        let b = t.cmds(&["COMMAND", "INFO", name]);
        let cats = |s: &str| {
            let end = s.find("+@").expect("categories");
            let after = s[end..].find("*").map_or(s.len(), |i| end + i);
            s[..after].to_string()
        };
        assert_eq!(cats(&a), cats(&b), "COMMAND INFO {name}");
        let rest = |s: String| s.splitn(5, "\r\n").nth(4).unwrap_or_default().to_string();
        let (da, db) = (
            rest(o.cmds(&["COMMAND", "DOCS", name])),
            rest(t.cmds(&["COMMAND", "DOCS", name])),
        );
        assert!(da.contains("stream"), "{da}");
        assert!(db.starts_with(&da), "ours:\n{da}\ntheirs:\n{db}");
    }
    let a = o.cmds(&["COMMAND", "INFO", "xinfo"]);
    assert!(
        a.starts_with("*1\r\n*10\r\n$5\r\nxinfo\r\n:-2\r\n*0\r\n"),
        "{a}"
    );
    assert!(a.contains("+@slow"), "{a}");
}

/// Both servers, one connection each; every reply compared.
struct Pair {
    _ours: ServerProc,
    _theirs: ServerProc,
    a: Conn,
    b: Conn,
    failures: Vec<String>,
}

impl Pair {
    fn start(args: &[&str]) -> Pair {
        let mut ours_args = vec!["--save", ""];
        ours_args.extend_from_slice(args);
        let ours = ServerProc::start(&ours_args);
        let theirs = ServerProc::start_reference(args);
        let (a, b) = (ours.conn(), theirs.conn());
        Pair {
            _ours: ours,
            _theirs: theirs,
            a,
            b,
            failures: Vec::new(),
        }
    }

    fn both(&mut self, args: &[String]) {
        let refs: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.a.send(&refs);
        self.b.send(&refs);
        let (ra, rb) = (self.a.read_reply(), self.b.read_reply());
        if ra != rb && self.failures.len() < 5 {
            let shown: Vec<String> = args.iter().map(|s| s.chars().take(40).collect()).collect();
            self.failures.push(format!(
                "  {shown:?}\n    redislite:    {:?}\n    redis-server: {:?}",
                String::from_utf8_lossy(&ra)
                    .chars()
                    .take(800)
                    .collect::<String>(),
                String::from_utf8_lossy(&rb)
                    .chars()
                    .take(800)
                    .collect::<String>()
            ));
        }
    }

    fn finish(self, what: &str) {
        assert!(
            self.failures.is_empty(),
            "{what}: replies differ from redis-server:\n{}",
            self.failures.join("\n")
        );
    }
}

/// A value of a size class: integers (stored as integers in a listpack),
/// short and long strings, empty.
fn value(rng: &mut u64) -> String {
    match common_rng(rng) % 9 {
        0 => "1".into(),
        1 => "-5".into(),
        2 => "70000".into(),
        3 => ((common_rng(rng) % 2_000_000_000_000) as i64 - 1_000_000_000_000).to_string(),
        4 => "007".into(),
        5 => String::new(),
        6 => "x".repeat((common_rng(rng) % 64) as usize),
        7 => "y".repeat(60 + (common_rng(rng) % 300) as usize),
        _ => "z".repeat(4000 + (common_rng(rng) % 200) as usize),
    }
}

/// Random XADD (with explicit, growing IDs; same or changing fields;
/// approximate and exact MAXLEN/MINID), XDEL of real and missing IDs,
/// XTRIM ~/= with and without LIMIT, under several node limits; after
/// each step or so XINFO STREAM (FULL) and ranges are compared.
fn node_model_round(seed: u64, limits: (&str, &str), ops: usize) {
    let mut p = Pair::start(&[
        "--stream-node-max-entries",
        limits.0,
        "--stream-node-max-bytes",
        limits.1,
    ]);
    let mut rng = seed | 1;
    let s = |x: &str| x.to_string();
    let (mut ms, mut seq) = (1u64, 0u64);
    let mut ids: Vec<String> = Vec::new();
    let big = common_rng(&mut rng).is_multiple_of(3);
    for _ in 0..ops {
        let r = common_rng(&mut rng) % 100;
        let cmd: Vec<String> = if r < 60 {
            if common_rng(&mut rng).is_multiple_of(3) {
                ms += 1 + common_rng(&mut rng) % 100_000;
                seq = common_rng(&mut rng) % 300;
            } else {
                seq += 1 + common_rng(&mut rng) % 3;
            }
            let mut cmd = vec![s("XADD"), s("s")];
            match common_rng(&mut rng) % 10 {
                0 => cmd.extend([
                    s("MAXLEN"),
                    s(["~", "="][(common_rng(&mut rng) % 2) as usize]),
                    (common_rng(&mut rng) % 60).to_string(),
                ]),
                1 => cmd.extend([
                    s("MINID"),
                    s(["~", "="][(common_rng(&mut rng) % 2) as usize]),
                    ms.saturating_sub(common_rng(&mut rng) % 200_000)
                        .to_string(),
                ]),
                _ => {}
            }
            let id = format!("{ms}-{seq}");
            cmd.push(id.clone());
            ids.push(id);
            let same = !common_rng(&mut rng).is_multiple_of(3);
            let nf = 1 + common_rng(&mut rng) % 4;
            for i in 0..nf {
                let field = if same {
                    ["a", "b", "c", "d"][i as usize].to_string()
                } else {
                    "f".repeat(1 + (common_rng(&mut rng) % 3) as usize)
                };
                cmd.push(field);
                let v = value(&mut rng);
                cmd.push(if big {
                    v
                } else {
                    v.chars().take(300).collect()
                });
            }
            cmd
        } else if r < 72 {
            let mut cmd = vec![s("XDEL"), s("s")];
            for _ in 0..1 + common_rng(&mut rng) % 6 {
                if !ids.is_empty() && !common_rng(&mut rng).is_multiple_of(5) {
                    let i = (common_rng(&mut rng) as usize) % ids.len();
                    cmd.push(ids[i].clone());
                } else {
                    cmd.push(format!("{}-{}", ms, common_rng(&mut rng) % 300));
                }
            }
            cmd
        } else if r < 82 {
            let maxlen = common_rng(&mut rng).is_multiple_of(2);
            let mut cmd = vec![
                s("XTRIM"),
                s("s"),
                s(if maxlen { "MAXLEN" } else { "MINID" }),
                s(["~", "="][(common_rng(&mut rng) % 2) as usize]),
            ];
            cmd.push(if maxlen {
                (common_rng(&mut rng) % 80).to_string()
            } else {
                ms.saturating_sub(common_rng(&mut rng) % 300_000)
                    .to_string()
            });
            if cmd[3] == "~" && common_rng(&mut rng).is_multiple_of(3) {
                cmd.extend([s("LIMIT"), (common_rng(&mut rng) % 150).to_string()]);
            }
            cmd
        } else if r < 92 {
            let mut cmd = vec![s("XINFO"), s("STREAM"), s("s")];
            if common_rng(&mut rng).is_multiple_of(2) {
                cmd.extend([s("FULL"), s("COUNT"), s("3")]);
            }
            cmd
        } else {
            vec![
                s(["XRANGE", "XREVRANGE"][(common_rng(&mut rng) % 2) as usize]),
                s("s"),
                s(["-", "+"][(r % 2) as usize]),
                s(["+", "-"][(r % 2) as usize]),
                s("COUNT"),
                (1 + common_rng(&mut rng) % 5).to_string(),
            ]
        };
        p.both(&cmd);
    }
    p.both(&[s("XINFO"), s("STREAM"), s("s")]);
    p.finish(&format!("seed {seed}, limits {limits:?}"));
}

#[test]
fn stream_nodes_and_approximate_trims_match_redis_default_limits() {
    for seed in [1u64, 2, 3] {
        node_model_round(seed * 7919, ("100", "4096"), 600);
    }
}

#[test]
fn stream_nodes_and_approximate_trims_match_redis_other_limits() {
    for (i, limits) in [
        ("0", "0"),
        ("1", "0"),
        ("5", "0"),
        ("0", "200"),
        ("10", "1000"),
        ("2", "50"),
        ("100", "16kb"),
    ]
    .into_iter()
    .enumerate()
    {
        node_model_round(0xabcd + i as u64 * 31, limits, 300);
    }
}

/// Fixed cases of the node rules at their edges: the byte limit reached
/// exactly, a node emptied by XDEL (its predecessor becomes the tail and
/// takes the next entries), an exact trim that leaves an empty node, the
/// approximate trims' LIMIT.
#[test]
fn stream_node_edges_match_redis() {
    check_with(
        &["--stream-node-max-entries", "3"],
        r#"
        XADD s 1 a 1
        XADD s 2 a 1
        XADD s 3 a 1
        XADD s 4 a 1
        XADD s 5 a 1
        XADD s 6 a 1
        XADD s 7 a 1
        XINFO STREAM s
        XDEL s 7
        XINFO STREAM s
        XADD s 8 a 1
        XINFO STREAM s
        XTRIM s MAXLEN ~ 4
        XINFO STREAM s
        XTRIM s MINID = 6
        XINFO STREAM s FULL
        XDEL s 6 8
        XINFO STREAM s
        XTRIM s MINID = 9
        XINFO STREAM s
        XADD s 9 b 2
        XINFO STREAM s
        XTRIM s MAXLEN ~ 0 LIMIT 1
        XTRIM s MAXLEN ~ 0 LIMIT 3
        XINFO STREAM s
        XADD s 10 a 1
        XADD s 11 a 1
        XADD s 12 a 1
        XADD s 13 a 1
        XADD s 14 a 1
        XTRIM s MINID ~ 14
        XINFO STREAM s
        XADD s MAXLEN ~ 0 15 a 1
        XINFO STREAM s
        EXISTS s
        "#,
    );
    // The byte limit: an entry whose raw bytes bring the tail listpack to
    // the limit starts a new node; one byte less does not.
    let mut script = String::from("CONFIG SET stream-node-max-entries 0\n");
    for (i, len) in [10usize, 20, 30, 40, 50].into_iter().enumerate() {
        script.push_str(&format!(
            "CONFIG SET stream-node-max-bytes {}\n",
            100 + i * 7
        ));
        script.push_str("DEL s\n");
        for ms in 1..12 {
            script.push_str(&format!("XADD s {ms} f {}\n", "v".repeat(len + ms)));
        }
        script.push_str("XINFO STREAM s\n");
    }
    check(&script);
}

/// Keyspace events of each command, and which ones a WATCH sees: no-op
/// writes (nothing deleted, nothing trimmed, NOMKSTREAM on a missing key)
/// raise nothing and touch nothing; XSETID raises its event but, in Redis
/// 7.0, touches no WATCH.
#[test]
fn stream_events_and_watch_match_redis() {
    let script: &[&[&str]] = &[
        &["XADD", "s", "1", "f", "v"],
        &["XADD", "s", "MAXLEN", "1", "2", "f", "v"],
        &["XADD", "s", "MAXLEN", "5", "3", "f", "v"],
        &["XADD", "nokey", "NOMKSTREAM", "1", "f", "v"],
        &["XDEL", "s", "1"],
        &["XDEL", "s", "3"],
        &["XTRIM", "s", "MAXLEN", "5"],
        &["XTRIM", "s", "MAXLEN", "0"],
        &["XSETID", "s", "10"],
        &["XSETID", "s", "10"],
        &["XADD", "s", "0-1", "f", "v"],
        &["XADD", "s", "11", "f", "v"],
        &["XRANGE", "s", "-", "+"],
    ];
    let mut seen = Vec::new();
    for srv in [
        ServerProc::start(&["--save", ""]),
        ServerProc::start_reference(&[]),
    ] {
        let mut c = srv.conn();
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
        let mut events = srv.conn();
        events.cmd(&["PSUBSCRIBE", "__key*__:*"]);
        let mut watcher = srv.conn();
        let mut out = Vec::new();
        for cmd in script {
            watcher.cmd(&["WATCH", "s"]);
            let reply = c.cmd(cmd);
            events.send(&[b"PING"]);
            let mut evs = Vec::new();
            loop {
                let m = String::from_utf8_lossy(&events.read_reply()).into_owned();
                if m.starts_with("*2\r\n$4\r\npong") {
                    break;
                }
                evs.push(m);
            }
            watcher.cmd(&["MULTI"]);
            watcher.cmd(&["PING"]);
            let touched = watcher.cmd(&["EXEC"]) == b"*-1\r\n";
            out.push((String::from_utf8_lossy(&reply).into_owned(), evs, touched));
        }
        seen.push(out);
    }
    for (i, (a, b)) in seen[0].iter().zip(&seen[1]).enumerate() {
        assert_eq!(a, b, "command {:?}", script[i]);
    }
}

/// Connect to `srv` as a replica would and return the connection after
/// the (empty-keyspace) snapshot, positioned on the command stream.
fn attach_replica(srv: &ServerProc) -> Conn {
    let mut c = srv.conn();
    assert_eq!(c.cmds(&["REPLCONF", "capa", "psync2"]), "+OK\r\n");
    c.send(&[b"PSYNC", b"?", b"-1"]);
    // +FULLRESYNC, then newlines while the snapshot is prepared, then
    // `$<len>` and the payload (no CRLF after it).
    let mut line = String::new();
    loop {
        line.clear();
        std::io::BufRead::read_line(&mut c.reader, &mut line).expect("sync line");
        if line.starts_with('$') {
            break;
        }
    }
    let len: usize = line[1..].trim().parse().expect("payload length");
    let mut payload = vec![0; len];
    c.reader.read_exact(&mut payload).expect("payload");
    c
}

/// The commands a replica receives until `SET done 1`, without PINGs.
fn replicated_commands(r: &mut Conn) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let cmd = String::from_utf8_lossy(&r.read_reply()).into_owned();
        if cmd.contains("\r\nPING\r\n") {
            continue;
        }
        if cmd.contains("\r\ndone\r\n") {
            return out;
        }
        out.push(cmd.to_ascii_lowercase());
    }
}

/// What reaches replicas (and the AOF, the same stream): XADD with the
/// generated ID; approximate trims as exact ones at the threshold the node
/// cut left (length, or the first ID counting tombstones; the largest ID
/// when nothing is left), LIMIT kept; no-op trims not at all.
#[test]
fn stream_writes_propagate_as_redis_propagates_them() {
    let ours = ServerProc::start(&["--save", "", "--stream-node-max-entries", "3"]);
    let theirs = ServerProc::start_reference(&["--stream-node-max-entries", "3"]);
    let mut streams = Vec::new();
    for srv in [&ours, &theirs] {
        let mut r = attach_replica(srv);
        let mut c = srv.conn();
        for cmd in [
            &["XADD", "s", "1-1", "a", "1"][..],
            &["XADD", "s", "2-1", "a", "1"],
            &["XADD", "s", "3-1", "a", "1"],
            &["XADD", "s", "4-1", "a", "1"],
            &["XADD", "s", "5-*", "a", "1"],
            &["XADD", "s", "MAXLEN", "~", "2", "6-1", "a", "1"],
            &["XADD", "s", "7-1", "a", "1"],
            &["XADD", "s", "8-1", "a", "1"],
            &["XADD", "s", "9-1", "a", "1"],
            &["XDEL", "s", "7-1"],
            &["XDEL", "s", "7-1"],
            &["XTRIM", "s", "MINID", "~", "9", "LIMIT", "100"],
            &["XTRIM", "s", "MAXLEN", "~", "5"],
            &["XTRIM", "s", "MAXLEN", "=", "0"],
            &["XADD", "s", "MINID", "~", "100", "10-1", "a", "1"],
            &["XADD", "s", "maxlen", "~", "5", "11-1", "a", "1"],
            &["XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "0"],
            &["XSETID", "s", "20-0"],
            &["XADD", "s", "NOMKSTREAM", "12-*", "a", "1"],
            &["XADD", "nokey", "NOMKSTREAM", "1", "a", "1"],
            &["SET", "done", "1"],
        ] {
            c.cmd(cmd);
        }
        streams.push(replicated_commands(&mut r));
    }
    assert_eq!(streams[0], streams[1]);
    // And the rewrite really happened (the comparison alone would pass if
    // both sides sent the commands unchanged).
    assert!(
        streams[0]
            .iter()
            .any(|c| c.contains("$5\r\nminid\r\n$1\r\n=\r\n$3\r\n7-1")),
        "{:?}",
        streams[0]
    );
    assert!(streams[0].iter().any(|c| c.contains("$3\r\n5-0\r\n")));
}

/// Reads count keyspace hits and misses, writes do not, as in Redis.
#[test]
fn stream_lookups_count_hits_and_misses_like_redis() {
    crate::differential::assert_same_hits_and_misses(
        &[&["XADD", "s", "1", "f", "v"]],
        &[
            &["XLEN", "s"],
            &["XLEN", "nokey"],
            &["XRANGE", "s", "-", "+"],
            &["XREVRANGE", "nokey", "+", "-"],
            &["XINFO", "STREAM", "s"],
            &["XINFO", "STREAM", "nokey"],
            &["XADD", "s", "2", "f", "v"],
            &["XADD", "nokey", "NOMKSTREAM", "1", "f", "v"],
            &["XDEL", "s", "1"],
            &["XDEL", "nokey", "1"],
            &["XTRIM", "s", "MAXLEN", "5"],
            &["XTRIM", "nokey", "MAXLEN", "5"],
            &["XSETID", "s", "9"],
            &["XSETID", "nokey", "9"],
        ],
    );
}

/// ACL key patterns apply to the stream commands' keys, XINFO STREAM's
/// included (its key is the third argument).
#[test]
fn stream_keys_follow_acl_patterns_like_redis() {
    check(
        r#"
        XADD a1 1 f v
        XADD b1 1 f v
        SORT a1
        ACL SETUSER u on nopass ~a* +@all
        AUTH u x
        XLEN a1
        XLEN b1
        XADD b1 2 f v
        XINFO STREAM a1
        XINFO STREAM b1
        XINFO HELP
        XRANGE b1 - +
        XTRIM b1 MAXLEN 0
        XSETID b1 5
        ACL SETUSER r on nopass %R~* +@all
        AUTH r x
        XRANGE b1 - +
        XINFO STREAM b1
        XADD b1 3 f v
        XDEL b1 1
        "#,
    );
}

/// One node per entry, IDs whose big-endian bytes share prefixes of every
/// length, deleted in a shuffled order: XINFO STREAM's radix-tree-keys and
/// radix-tree-nodes follow Redis's tree through every deletion.
#[test]
fn stream_radix_tree_counts_match_redis_under_deletions() {
    let mut p = Pair::start(&["--stream-node-max-entries", "1"]);
    let s = |x: &str| x.to_string();
    let mut rng = 0x7a5e_u64;
    let mut ids = Vec::new();
    let mut ms = 0u64;
    for _ in 0..150 {
        let steps = [1, 2, 255, 256, 65536, 1 + common_rng(&mut rng) % (1 << 40)];
        ms += steps[(common_rng(&mut rng) % 6) as usize];
        let seqs = [0, 1, 255, 256, common_rng(&mut rng) >> 1];
        let id = format!("{ms}-{}", seqs[(common_rng(&mut rng) % 5) as usize]);
        p.both(&[s("XADD"), s("r"), id.clone(), s("f"), s("v")]);
        ids.push(id);
    }
    p.both(&[s("XINFO"), s("STREAM"), s("r")]);
    while !ids.is_empty() {
        let id = ids.swap_remove((common_rng(&mut rng) as usize) % ids.len());
        p.both(&[s("XDEL"), s("r"), id]);
        p.both(&[s("XINFO"), s("STREAM"), s("r")]);
    }
    p.finish("radix tree counts");
}

/// XSETID below the tombstones of a stream an exact trim emptied, then
/// smaller IDs: Redis appends them to its last node out of order, we
/// start a node (XINFO's node count differs, see the README), but every
/// read and write reply is the same.
#[test]
fn entries_below_a_lowered_last_id_read_the_same_as_redis() {
    check(
        r#"
        XADD s 5-0 f v
        XADD s 9-0 f v
        XDEL s 9-0
        XTRIM s MINID = 9-0
        XLEN s
        XSETID s 1-0
        XADD s 2-0 f v
        XADD s 3-0 g w
        XADD s 2-* f v
        XRANGE s - +
        XRANGE s 2 3
        XREVRANGE s + - COUNT 2
        XLEN s
        XDEL s 2-0
        XRANGE s - +
        XTRIM s MINID = 3-0
        XTRIM s MAXLEN 0
        XLEN s
        XRANGE s - +
        "#,
    );
}
