//! DUMP / RESTORE end to end: payloads move between Debian's redis-server
//! 7.0 and RedisLite in both directions for every type and encoding, with
//! equal contents and encodings; damaged payloads never crash the server
//! and get Redis's errors; RESTORE wakes blocked clients, fires its
//! keyspace event and is logged with an absolute TTL.

use crate::common::{send, wait_blocked, Conn, ServerProc, TempDir};
use crate::differential_dump::payload_arg;
use redis::Connection;

/// Keys of every type, in the small (listpack/intset/int/embstr) and the
/// large (hashtable/skiplist/multi-node quicklist/raw, LZF on DUMP)
/// encodings, with integers of every listpack/ziplist width.
pub(crate) fn populate(con: &mut Connection) -> Vec<String> {
    let ints: Vec<String> = [
        0i64,
        5,
        127,
        128,
        -1,
        4095,
        -4096,
        32767,
        -32768,
        8388607,
        -8388608,
        2147483647,
        -2147483648,
        10_000_000_000,
        i64::MIN,
        i64::MAX,
    ]
    .iter()
    .map(|v| v.to_string())
    .collect();
    let mut q = |args: Vec<String>| {
        let mut c = redis::cmd(&args[0]);
        for a in &args[1..] {
            c.arg(a.as_bytes());
        }
        let _: redis::Value = c.query(con).expect("populate command");
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    q(s(&["SET", "str_int", "12345"]));
    q(s(&["SET", "str_neg", "-9223372036854775808"]));
    q(s(&["SET", "str_emb", "hello world"]));
    q(vec!["SET".into(), "str_raw".into(), "x".repeat(100)]);
    q(vec!["SET".into(), "str_lzf".into(), "abcd".repeat(500)]);
    q(vec![
        "SET".into(),
        "str_bin".into(),
        "\u{0}\r\n\u{ff}".into(),
    ]);
    let mut l = s(&["RPUSH", "list_small", "a", "", "bb"]);
    l.extend(ints.iter().cloned());
    q(l);
    let mut l = s(&["RPUSH", "list_big"]);
    l.extend((0..2000).map(|i| format!("element-{i}")));
    l.push("y".repeat(20_000));
    q(l);
    let mut h = s(&["HSET", "hash_small", "f", "v", "empty", ""]);
    for (i, v) in ints.iter().enumerate() {
        h.push(format!("n{i}"));
        h.push(v.clone());
    }
    q(h);
    let mut h = s(&["HSET", "hash_big"]);
    for i in 0..600 {
        h.push(format!("field-{i}"));
        h.push(i.to_string());
    }
    q(h);
    q(vec![
        "HSET".into(),
        "hash_longval".into(),
        "f".into(),
        "z".repeat(100),
    ]);
    q(s(&["SADD", "set_int16", "1", "2", "-3"]));
    q(s(&["SADD", "set_int32", "1", "70000", "-3"]));
    q(s(&["SADD", "set_int64", "1", "10000000000", "-3"]));
    let mut st = s(&["SADD", "set_big_ints"]);
    st.extend((0..600).map(|i| (i * 7).to_string()));
    q(st);
    q(s(&["SADD", "set_strs", "a", "b", "c"]));
    let mut z = s(&["ZADD", "zset_small", "1", "a", "-2.5", "b", "3e10", "c"]);
    z.extend(s(&["inf", "pinf", "-inf", "ninf", "0", "zero"]));
    q(z);
    let mut z = s(&["ZADD", "zset_big"]);
    for i in 0..300 {
        z.push(format!("{}", i as f64 / 3.0));
        z.push(format!("member-{i}"));
    }
    q(z);
    q(vec![
        "ZADD".into(),
        "zset_longmember".into(),
        "1".into(),
        "m".repeat(100),
    ]);
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(con).unwrap();
    let mut keys = keys;
    keys.sort();
    keys
}

/// A key's type, encoding and contents in a comparable form (members of
/// unordered types sorted).
pub(crate) fn snapshot(con: &mut Connection, key: &str) -> (String, String, Vec<Vec<u8>>) {
    let t: String = redis::cmd("TYPE").arg(key).query(con).unwrap();
    let enc: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query(con)
        .unwrap();
    let mut items: Vec<Vec<u8>> = match t.as_str() {
        "string" => vec![redis::cmd("GET").arg(key).query(con).unwrap()],
        "list" => redis::cmd("LRANGE")
            .arg(key)
            .arg(0)
            .arg(-1)
            .query(con)
            .unwrap(),
        "hash" => {
            let pairs: Vec<(Vec<u8>, Vec<u8>)> = redis::cmd("HGETALL").arg(key).query(con).unwrap();
            pairs
                .into_iter()
                .map(|(f, v)| [f, b"=".to_vec(), v].concat())
                .collect()
        }
        "set" => redis::cmd("SMEMBERS").arg(key).query(con).unwrap(),
        "zset" => redis::cmd("ZRANGE")
            .arg(key)
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES")
            .query(con)
            .unwrap(),
        other => panic!("unexpected type {other}"),
    };
    if matches!(t.as_str(), "hash" | "set") {
        items.sort();
    }
    (t, enc, items)
}

fn dump(con: &mut Connection, key: &str) -> Vec<u8> {
    redis::cmd("DUMP").arg(key).query(con).unwrap()
}

fn restore(con: &mut Connection, key: &str, payload: &[u8]) -> redis::RedisResult<String> {
    redis::cmd("RESTORE")
        .arg(key)
        .arg(0)
        .arg(payload)
        .arg("REPLACE")
        .query(con)
}

/// DUMP every key on `from`, RESTORE it on `to`, compare.
fn transfer_and_compare(from: &ServerProc, to: &ServerProc, label: &str) -> Vec<Vec<u8>> {
    let mut src = from.client();
    let mut dst = to.client();
    let keys = populate(&mut src);
    assert!(keys.len() >= 19, "{label}: populated {keys:?}");
    let mut payloads = Vec::new();
    for key in &keys {
        let p = dump(&mut src, key);
        let r = restore(&mut dst, key, &p);
        assert_eq!(r.as_deref(), Ok("OK"), "{label}: RESTORE {key}");
        assert_eq!(
            snapshot(&mut src, key),
            snapshot(&mut dst, key),
            "{label}: {key} differs after RESTORE"
        );
        payloads.push(p);
    }
    payloads
}

#[test]
fn payloads_from_redis_restore_into_redislite_with_equal_contents() {
    let theirs = ServerProc::start_reference(&[]);
    let ours = ServerProc::start(&["--save", ""]);
    transfer_and_compare(&theirs, &ours, "redis -> redislite");
}

#[test]
fn payloads_from_redislite_restore_into_redis_with_equal_contents() {
    let ours = ServerProc::start(&["--save", ""]);
    let theirs = ServerProc::start_reference(&[]);
    transfer_and_compare(&ours, &theirs, "redislite -> redis");
}

/// Positions worth damaging in a payload: all of a short one, the first
/// and last 64 bytes and a stride through the middle of a long one.
fn positions(len: usize) -> Vec<usize> {
    if len <= 256 {
        return (0..len).collect();
    }
    let mut v: Vec<usize> = (0..64).chain(len - 64..len).collect();
    v.extend((64..len - 64).step_by(len / 64));
    v
}

/// Send `cmds` pipelined and return the replies.
fn pipeline(c: &mut Conn, cmds: &[Vec<Vec<u8>>]) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(cmds.len());
    for chunk in cmds.chunks(128) {
        for args in chunk {
            let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            c.send(&refs);
        }
        for _ in chunk {
            out.push(c.read_reply());
        }
    }
    out
}

fn restore_cmd(payload: Vec<u8>) -> Vec<Vec<u8>> {
    vec![
        b"RESTORE".to_vec(),
        b"victim".to_vec(),
        b"0".to_vec(),
        payload,
        b"REPLACE".to_vec(),
    ]
}

#[test]
fn damaged_payloads_are_refused_with_redis_errors_and_never_crash() {
    // Payloads in Redis's compact encodings (listpack, intset, quicklist,
    // LZF) and in ours (plain).
    let theirs = ServerProc::start_reference(&[]);
    let mut payloads = transfer_and_compare(
        &theirs,
        &ServerProc::start(&["--save", ""]),
        "collect redis payloads",
    );
    let ours = ServerProc::start(&["--save", ""]);
    let mut con = ours.client();
    let keys = populate(&mut con);
    payloads.extend(keys.iter().map(|k| dump(&mut con, k)));
    let mut c = ours.conn();
    let checksum_err = b"-ERR DUMP payload version or checksum are wrong\r\n".to_vec();
    let mut refused = 0;
    for p in &payloads {
        let pos = positions(p.len());
        // Truncated and flipped: the footer catches every one.
        let mut cmds: Vec<Vec<Vec<u8>>> =
            pos.iter().map(|&n| restore_cmd(p[..n].to_vec())).collect();
        for &i in &pos {
            let mut d = p.clone();
            d[i] ^= 0xff;
            cmds.push(restore_cmd(d));
        }
        for r in pipeline(&mut c, &cmds) {
            assert_eq!(r, checksum_err, "payload {p:?}");
        }
        // Damaged body with a valid footer: the decoder must refuse it
        // (or build some value), never crash or hang.
        let body_len = p.len() - 10;
        let cmds: Vec<Vec<Vec<u8>>> = positions(body_len)
            .into_iter()
            .flat_map(|i| {
                [0xffu8, 0x01, 0x80].map(|x| {
                    let mut obj = p[..body_len].to_vec();
                    obj[i] ^= x;
                    restore_cmd(framed(&obj))
                })
            })
            .chain(
                (0..body_len)
                    .step_by(body_len.div_ceil(64))
                    .map(|n| restore_cmd(framed(&p[..n]))),
            )
            .collect();
        for r in pipeline(&mut c, &cmds) {
            refused += usize::from(r == b"-ERR Bad data format\r\n");
            assert!(
                r == b"+OK\r\n" || r == b"-ERR Bad data format\r\n",
                "unexpected reply {:?}",
                String::from_utf8_lossy(&r)
            );
        }
        assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
    }
    // The decoder's own checks were reached (not only the footer's).
    assert!(refused > 100, "only {refused} bodies refused");
}

/// `object` (type + body) with a valid version-10 footer.
fn framed(object: &[u8]) -> Vec<u8> {
    let mut p = object.to_vec();
    p.extend_from_slice(&10u16.to_le_bytes());
    let crc = redislite::persistence::rdb::crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

#[test]
fn restore_wakes_blocked_blpop_and_bzpopmin() {
    let s = ServerProc::start(&["--save", ""]);
    let mut ctl = s.client();
    let _: () = redis::cmd("RPUSH")
        .arg("src")
        .arg("x")
        .arg("y")
        .query(&mut ctl)
        .unwrap();
    let _: () = redis::cmd("ZADD")
        .arg("zsrc")
        .arg(1)
        .arg("m")
        .query(&mut ctl)
        .unwrap();
    let list = dump(&mut ctl, "src");
    let zset = dump(&mut ctl, "zsrc");
    let mut a = s.conn();
    let mut b = s.conn();
    send(&mut a, &["BLPOP", "q", "0"]);
    send(&mut b, &["BZPOPMIN", "z", "0"]);
    let mut raw = s.conn();
    wait_blocked(&mut raw, 2);
    assert_eq!(restore(&mut ctl, "q", &list).as_deref(), Ok("OK"));
    assert_eq!(restore(&mut ctl, "z", &zset).as_deref(), Ok("OK"));
    assert_eq!(a.read_reply(), b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    assert_eq!(b.read_reply(), b"*3\r\n$1\r\nz\r\n$1\r\nm\r\n$1\r\n1\r\n");
    let rest: Vec<String> = redis::cmd("LRANGE")
        .arg("q")
        .arg(0)
        .arg(-1)
        .query(&mut ctl)
        .unwrap();
    assert_eq!(rest, ["y"]);
}

#[test]
fn restore_fires_keyspace_event_restore() {
    let s = ServerProc::start(&["--save", "", "--notify-keyspace-events", "KEA"]);
    let mut sub = s.conn();
    sub.cmd(&["SUBSCRIBE", "__keyevent@0__:restore"]);
    let mut c = s.conn();
    let hello = payload_arg(b"\x00\x05hello", 10);
    let hello = hello.trim_matches('"');
    let bytes = unescape(hello);
    c.send(&[b"RESTORE", b"k", b"0", &bytes]);
    assert_eq!(c.read_reply(), b"+OK\r\n");
    assert_eq!(
        sub.read_reply(),
        b"*3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:restore\r\n$1\r\nk\r\n"
    );
}

fn unescape(s: &str) -> Vec<u8> {
    s.split("\\x")
        .filter(|h| !h.is_empty())
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect()
}

#[test]
fn restore_is_logged_with_an_absolute_ttl_and_survives_restart() {
    let dir = TempDir::new("dump-aof");
    let args = [
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ];
    let mut s = ServerProc::start_in(&dir.0, &args);
    let mut con = s.client();
    let _: () = redis::cmd("SET")
        .arg("src")
        .arg("v")
        .query(&mut con)
        .unwrap();
    let p = dump(&mut con, "src");
    let _: String = redis::cmd("RESTORE")
        .arg("k")
        .arg(100_000)
        .arg(&p[..])
        .query(&mut con)
        .unwrap();
    let deadline: i64 = redis::cmd("PEXPIRETIME").arg("k").query(&mut con).unwrap();
    assert!(deadline > 0);
    assert_eq!(s.terminate(), Some(0));
    let s2 = ServerProc::start_in(&dir.0, &args);
    let mut con = s2.client();
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "v");
    let again: i64 = redis::cmd("PEXPIRETIME").arg("k").query(&mut con).unwrap();
    // A relative TTL replayed would give a later deadline: equality
    // shows the log holds the absolute one (RESTORE ... ABSTTL).
    assert_eq!(again, deadline, "the TTL must not restart at replay");
}
