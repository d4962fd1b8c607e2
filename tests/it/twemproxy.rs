//! Debian's nutcracker (twemproxy 0.5), unchanged, sharding over three
//! RedisLite servers with contrib/nutcracker.yml (only ports substituted).
//!
//! What is proven: a mixed load through the proxy (strings, counters,
//! hashes, lists, multi-key MGET that the proxy splits, pipelining) reads
//! back correctly; ketama spreads keys over all three shards; when one
//! shard is SIGKILLed, nutcracker ejects it (auto_eject_hosts) and
//! rehashes its keys onto the two others, as it documents: its keys then
//! read as missing and can be written again, while keys of the live
//! shards keep their values throughout (consistent hashing moves only the
//! dead shard's share).

use crate::common::{free_port, substitute, wait_until, Daemon, ServerProc, TempDir};
use redis::{ConnectionLike, IntoConnectionInfo};
use std::time::Duration;

const NUTCRACKER_YML: &str = include_str!("../../contrib/nutcracker.yml");

const KEYS: usize = 300;

/// A client through the proxy. nutcracker closes a connection on a
/// command it does not proxy, so the crate's CLIENT SETINFO is skipped.
fn connect(port: u16) -> redis::Connection {
    let info = format!("redis://127.0.0.1:{port}/")
        .into_connection_info()
        .unwrap();
    let settings = info.redis_settings().clone().set_skip_set_lib_name();
    let c = redis::Client::open(info.set_redis_settings(settings))
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(5)))
        .expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c
}

#[test]
fn nutcracker_shards_over_redislite_and_ejects_a_dead_shard() {
    let tmp = TempDir::new("twemproxy");
    let mut shards: Vec<ServerProc> = (0..3).map(|_| ServerProc::start(&[])).collect();
    let listen = free_port();
    let stats = free_port();
    let conf = substitute(
        NUTCRACKER_YML,
        &[
            ("127.0.0.1:22121", format!("127.0.0.1:{listen}")),
            (
                "127.0.0.1:6379:1",
                format!("127.0.0.1:{}:1", shards[0].port),
            ),
            (
                "127.0.0.1:6380:1",
                format!("127.0.0.1:{}:1", shards[1].port),
            ),
            (
                "127.0.0.1:6381:1",
                format!("127.0.0.1:{}:1", shards[2].port),
            ),
        ],
    );
    let path = tmp.0.join("nutcracker.yml");
    std::fs::write(&path, conf).unwrap();
    let log = tmp.0.join("nutcracker.log");
    let stats_s = stats.to_string();
    let _proxy = Daemon::spawn(
        "nutcracker",
        &[
            "-c",
            path.to_str().unwrap(),
            "-s",
            &stats_s,
            "-a",
            "127.0.0.1",
            "-o",
            log.to_str().unwrap(),
        ],
        &tmp.0,
        listen,
    );
    let mut px = connect(listen);

    // Strings, pipelined: one round trip carries all the SETs.
    let mut pipe = redis::pipe();
    for i in 0..KEYS {
        pipe.cmd("SET").arg(format!("s:{i}")).arg(i).ignore();
    }
    let () = pipe.query(&mut px).unwrap();
    let keys: Vec<String> = (0..KEYS).map(|i| format!("s:{i}")).collect();
    let vals: Vec<usize> = redis::cmd("MGET").arg(&keys).query(&mut px).unwrap();
    assert_eq!(vals, (0..KEYS).collect::<Vec<_>>());
    // Counters, hashes and lists, one pipeline each.
    let mut pipe = redis::pipe();
    for i in 0..50 {
        pipe.cmd("INCRBY").arg(format!("n:{i}")).arg(i);
        pipe.cmd("HSET")
            .arg(format!("h:{i}"))
            .arg("a")
            .arg(i)
            .arg("b")
            .arg("x");
        pipe.cmd("RPUSH")
            .arg(format!("l:{i}"))
            .arg("x")
            .arg("y")
            .arg(i);
    }
    let replies: Vec<i64> = pipe.query(&mut px).unwrap();
    let expect: Vec<i64> = (0..50).flat_map(|i| [i, 2, 3]).collect();
    assert_eq!(replies, expect);
    for i in 0..50 {
        let h: Vec<String> = redis::cmd("HMGET")
            .arg(format!("h:{i}"))
            .arg("a")
            .arg("b")
            .query(&mut px)
            .unwrap();
        assert_eq!(h, [i.to_string(), "x".to_string()]);
        let l: Vec<String> = redis::cmd("LRANGE")
            .arg(format!("l:{i}"))
            .arg(0)
            .arg(-1)
            .query(&mut px)
            .unwrap();
        assert_eq!(l, ["x".to_string(), "y".to_string(), i.to_string()]);
    }

    // Keys landed on every shard, and nowhere twice.
    let sizes: Vec<usize> = shards
        .iter()
        .map(|s| redis::cmd("DBSIZE").query(&mut s.client()).unwrap())
        .collect();
    assert!(
        sizes.iter().all(|&n| n > 0),
        "a shard got no keys: {sizes:?}"
    );
    assert_eq!(sizes.iter().sum::<usize>(), KEYS + 150, "{sizes:?}");

    // Which string keys live on shard 1, read on the shard itself.
    let mut s1 = shards[1].client();
    let on_dead: Vec<usize> = (0..KEYS)
        .filter(|i| {
            let n: u64 = redis::cmd("EXISTS")
                .arg(format!("s:{i}"))
                .query(&mut s1)
                .unwrap();
            n == 1
        })
        .collect();
    drop(s1);
    let live: Vec<usize> = (0..KEYS).filter(|i| !on_dead.contains(i)).collect();
    assert!(!on_dead.is_empty() && !live.is_empty());

    shards[1].child.kill().unwrap(); // SIGKILL
    let _ = shards[1].child.wait();

    // The dead shard's keys fail until nutcracker ejects the shard, then
    // they are served by the live shards (absent there: nil).
    let probe = format!("s:{}", on_dead[0]);
    let mut errors = 0u32;
    let ejected = wait_until(Duration::from_secs(10), || {
        let r: redis::RedisResult<Option<String>> = redis::cmd("GET").arg(&probe).query(&mut px);
        match r {
            Ok(v) => v.is_none(),
            Err(_) => {
                errors += 1;
                // nutcracker keeps the client connection on a backend
                // error; reconnect only if it was closed.
                if !px.is_open() {
                    px = connect(listen);
                }
                false
            }
        }
    });
    assert!(ejected, "nutcracker never rehashed the dead shard's keys");
    // server_failure_limit is 2: the lost connection counts once at most,
    // so at least one request fails before the shard leaves the ring.
    assert!(errors >= 1, "no request failed before the ejection");
    eprintln!("{errors} request(s) failed before the dead shard was ejected");
    // Live shards' keys keep their values (consistent hashing), and the
    // dead shard's keys can be written again, now on a live shard.
    let keys: Vec<String> = live.iter().map(|i| format!("s:{i}")).collect();
    let vals: Vec<usize> = redis::cmd("MGET").arg(&keys).query(&mut px).unwrap();
    assert_eq!(vals, live);
    let () = redis::cmd("SET")
        .arg(&probe)
        .arg("again")
        .query(&mut px)
        .unwrap();
    let v: String = redis::cmd("GET").arg(&probe).query(&mut px).unwrap();
    assert_eq!(v, "again");
    let found = [0, 2]
        .iter()
        .filter(|&&k| {
            let n: u64 = redis::cmd("EXISTS")
                .arg(&probe)
                .query(&mut shards[k].client())
                .unwrap();
            n == 1
        })
        .count();
    assert_eq!(
        found, 1,
        "the rehashed key is not on exactly one live shard"
    );
}
