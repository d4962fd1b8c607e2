//! The geo commands end to end, where a byte comparison of replies is not
//! enough: keyspace events and keyspace hit/miss counts (compared with
//! redis-server), the AOF (GEOADD logged as the ZADD it performs, the
//! STORE forms as themselves, all replayed after a restart), and RDB
//! interoperability of geo sets with redis-server both ways.

use crate::common::{Conn, ServerProc, TempDir};

#[test]
fn geo_keyspace_notifications_match_redis() {
    let script: &[&[&str]] = &[
        &["GEOADD", "g", "1", "2", "a", "3", "4", "b"],
        &["GEOADD", "g", "XX", "1", "2", "a"],
        &["GEOADD", "g", "CH", "1", "3", "a"],
        &["GEOADD", "g", "NX", "1", "1", "a"],
        &["GEOADD", "none", "XX", "1", "1", "a"],
        &["GEORADIUS", "g", "1", "2", "500", "km"],
        &["GEORADIUS", "g", "1", "2", "500", "km", "STORE", "d1"],
        &["GEORADIUS", "g", "1", "2", "500", "km", "STOREDIST", "d2"],
        &["GEORADIUSBYMEMBER", "g", "a", "500", "km", "STORE", "d4"],
        &[
            "GEOSEARCHSTORE",
            "d3",
            "g",
            "FROMLONLAT",
            "1",
            "2",
            "BYRADIUS",
            "500",
            "km",
        ],
        &[
            "GEOSEARCHSTORE",
            "d3",
            "g",
            "FROMLONLAT",
            "1",
            "2",
            "BYRADIUS",
            "1",
            "m",
        ],
        &[
            "GEOSEARCHSTORE",
            "d3",
            "g",
            "FROMLONLAT",
            "1",
            "2",
            "BYRADIUS",
            "1",
            "m",
        ],
        &["GEORADIUS", "g", "1", "2", "1", "m", "STORE", "d2"],
        &[
            "GEOSEARCHSTORE",
            "d1",
            "nokey",
            "FROMMEMBER",
            "a",
            "BYRADIUS",
            "1",
            "m",
        ],
        &["GEORADIUS", "nokey", "1", "2", "1", "m", "STORE", "d4"],
    ];
    crate::pubsub_tx::assert_same_notifications(script);
}

#[test]
fn geo_lookups_count_keyspace_hits_and_misses_like_redis() {
    let script: &[&[&str]] = &[
        &["GEOADD", "g", "1", "2", "a", "3", "4", "b"],
        &["GEOPOS", "g", "a"],
        &["GEOPOS", "nokey", "a"],
        &["GEODIST", "g", "a", "b"],
        &["GEOHASH", "nokey", "a"],
        &["GEOSEARCH", "g", "FROMMEMBER", "a", "BYRADIUS", "500", "km"],
        &[
            "GEOSEARCH",
            "nokey",
            "FROMMEMBER",
            "a",
            "BYRADIUS",
            "500",
            "km",
        ],
        &["GEORADIUSBYMEMBER", "g", "b", "500", "km", "STORE", "d"],
        &[
            "GEOSEARCHSTORE",
            "d",
            "g",
            "FROMLONLAT",
            "1",
            "2",
            "BYBOX",
            "9",
            "9",
            "km",
        ],
    ];
    crate::differential::assert_same_hits_and_misses(&[], script);
}

fn fill_geo(c: &mut Conn) {
    c.cmd(&[
        "GEOADD",
        "g",
        "13.361389",
        "38.115556",
        "Palermo",
        "15.087269",
        "37.502669",
        "Catania",
        "180",
        "85.05112878",
        "corner",
        "-122.4194",
        "37.7749",
        "SF",
    ]);
    let mut args = vec!["GEOADD".to_string(), "big".into()];
    for i in 0..200 {
        args.push(format!("{}", (i as f64) * 1.7 - 170.0));
        args.push(format!("{}", (i as f64) * 0.8 - 80.0));
        args.push(format!("m{i}"));
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    c.cmd(&a);
}

fn geo_snapshot(c: &mut Conn, keys: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for k in keys {
        out.push(c.cmds(&["ZRANGE", k, "0", "-1", "WITHSCORES"]));
        out.push(c.cmds(&["OBJECT", "ENCODING", k]));
    }
    out.push(c.cmds(&["GEOPOS", "g", "Palermo", "corner", "SF"]));
    out
}

#[test]
fn geo_writes_replay_from_the_aof() {
    let d = TempDir::new("geo-aof");
    let args = crate::common::AOF_ALWAYS;
    let mut s = ServerProc::start_in(&d.0, &args);
    let mut c = s.conn();
    fill_geo(&mut c);
    c.cmd(&[
        "GEOADD", "g", "XX", "CH", "13.4", "38.2", "Palermo", "1", "1", "x",
    ]);
    c.cmd(&[
        "GEOADD", "g", "NX", "13.5", "38.3", "Palermo", "2", "2", "y",
    ]);
    c.cmd(&["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "r1"]);
    c.cmd(&[
        "GEORADIUSBYMEMBER",
        "big",
        "m100",
        "3000",
        "km",
        "STOREDIST",
        "r2",
    ]);
    c.cmd(&[
        "GEOSEARCHSTORE",
        "r3",
        "big",
        "FROMLONLAT",
        "0",
        "0",
        "BYBOX",
        "5000",
        "5000",
        "km",
        "COUNT",
        "5",
        "DESC",
    ]);
    c.cmd(&["SET", "gone", "x"]);
    c.cmd(&[
        "GEOSEARCHSTORE",
        "gone",
        "g",
        "FROMLONLAT",
        "0",
        "0",
        "BYRADIUS",
        "1",
        "m",
    ]);
    let keys = ["g", "big", "r1", "r2", "r3"];
    let before = geo_snapshot(&mut c, &keys);
    assert!(before[4].contains("Palermo"), "{before:?}");
    let _ = s.child.kill();
    let _ = s.child.wait();
    let log = std::fs::read(d.0.join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap();
    let text = String::from_utf8_lossy(&log).to_ascii_lowercase();
    // GEOADD is logged as the ZADD it ran (scores computed once); the
    // searches that store are logged as themselves, as Redis does.
    assert!(!text.contains("geoadd"), "{text}");
    assert!(
        text.contains("zadd\r\n$1\r\ng\r\n$2\r\nxx\r\n$2\r\nch\r\n"),
        "{text}"
    );
    assert!(text.contains("georadius\r\n"));
    assert!(text.contains("geosearchstore\r\n"));
    let s = ServerProc::start_in(&d.0, &args);
    let mut c = s.conn();
    assert_eq!(geo_snapshot(&mut c, &keys), before);
    assert_eq!(c.cmds(&["EXISTS", "gone"]), ":0\r\n");
}

#[test]
fn geo_sets_survive_rdb_interop_both_ways() {
    let keys = ["g", "big"];
    // Ours -> redis-server.
    let d = TempDir::new("geo-rdb-out");
    let s = ServerProc::start_in(&d.0, &["--save", ""]);
    let mut c = s.conn();
    fill_geo(&mut c);
    let ours = geo_snapshot(&mut c, &keys);
    assert_eq!(c.cmds(&["SAVE"]), "+OK\r\n");
    drop(s);
    let r = ServerProc::start_reference_in(&d.0, &["--save", "", "--appendonly", "no"]);
    assert_eq!(geo_snapshot(&mut r.conn(), &keys), ours);
    drop(r);
    // redis-server -> ours.
    let d = TempDir::new("geo-rdb-in");
    let r = ServerProc::start_reference_in(&d.0, &["--save", "", "--appendonly", "no"]);
    let mut c = r.conn();
    fill_geo(&mut c);
    let theirs = geo_snapshot(&mut c, &keys);
    assert_eq!(c.cmds(&["SAVE"]), "+OK\r\n");
    drop(r);
    let s = ServerProc::start_in(&d.0, &["--save", ""]);
    assert_eq!(geo_snapshot(&mut s.conn(), &keys), theirs);
    assert_eq!(theirs, ours);
}
