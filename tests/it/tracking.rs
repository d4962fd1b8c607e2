//! CLIENT TRACKING / CLIENT CACHING against redis-server: each scenario
//! runs on RedisLite and on Debian's redis-server 7.0 with the same
//! connections, and the raw bytes every connection receives (replies and
//! invalidation pushes, in order) must be identical.
//!
//! To read "everything a connection has received so far" without sleeping,
//! `drain` sends a PING and collects every value that arrives before its
//! reply: the server writes invalidations raised by earlier commands (and
//! BCAST batches, flushed before the loop sleeps) before it runs the PING.

use crate::common::{Conn, ServerProc};
use std::time::Duration;

/// What a scenario saw, as text; client ids are replaced by names so the
/// two servers' transcripts compare.
struct Transcript {
    text: String,
    ids: Vec<(u64, &'static str)>,
}

impl Transcript {
    fn new() -> Transcript {
        Transcript {
            text: String::new(),
            ids: Vec::new(),
        }
    }

    fn log(&mut self, who: &str, what: &str, bytes: &[u8]) {
        let mut s = String::from_utf8_lossy(bytes).into_owned();
        for (id, name) in &self.ids {
            s = s.replace(&format!(":{id}\r\n"), &format!(":<{name}>\r\n"));
        }
        // Ids in the command only follow REDIRECT (a value may equal one).
        let mut words: Vec<String> = what.split(' ').map(str::to_string).collect();
        for i in 1..words.len() {
            if words[i - 1].eq_ignore_ascii_case("redirect") {
                if let Some((_, name)) = self.ids.iter().find(|(id, _)| id.to_string() == words[i])
                {
                    words[i] = format!("<{name}>");
                }
            }
        }
        let what = words.join(" ");
        self.text.push_str(&format!("{who} {what} => {s:?}\n"));
    }

    fn name_id(&mut self, c: &mut Conn, name: &'static str) -> u64 {
        let reply = c.cmds(&["CLIENT", "ID"]);
        let id: u64 = reply.trim().trim_start_matches(':').parse().expect("id");
        self.ids.push((id, name));
        id
    }
}

/// Send a command on `c` and log its reply.
fn run(tr: &mut Transcript, who: &str, c: &mut Conn, args: &[&str]) {
    let reply = c.cmd(args);
    tr.log(who, &args.join(" "), &reply);
}

/// Everything `c` received before the reply to a PING sent now.
fn drain(tr: &mut Transcript, who: &str, c: &mut Conn) {
    c.send(&[b"PING"]);
    let mut got = Vec::new();
    loop {
        let v = c.read_reply();
        if v == b"+PONG\r\n" || v == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n" {
            break;
        }
        got.extend_from_slice(&v);
    }
    tr.log(who, "(pending)", &got);
}

/// Wait until the server has expired `n` keys in all (INFO stats
/// `expired_keys`): the active expiry cycle deleted a key with a short
/// TTL that nobody touches meanwhile (INFO reads no key).
fn active_expiry_deleted(c: &mut Conn, n: u64) {
    assert!(
        crate::common::wait_until(Duration::from_secs(10), || {
            crate::common::info_u64(c, "stats", "expired_keys") >= n
        }),
        "no key expired"
    );
}

/// INFO's tracking_* fields (stats and clients sections).
fn tracking_stats(tr: &mut Transcript, c: &mut Conn) {
    let info = String::from_utf8_lossy(&c.cmd(&["INFO", "everything"])).into_owned();
    let lines: Vec<&str> = info
        .lines()
        .filter(|l| l.starts_with("tracking_"))
        .collect();
    tr.log("w", "INFO tracking_*", lines.join(",").as_bytes());
}

fn resp3(c: &mut Conn) {
    let hello = c.cmd(&["HELLO", "3"]);
    assert!(hello.starts_with(b"%"), "HELLO 3: {hello:?}");
}

/// Run `scenario` on both servers and compare the transcripts.
fn same_as_redis(args: &[&str], scenario: fn(u16) -> String) {
    let ours = ServerProc::start(args);
    let theirs = ServerProc::start_reference(args);
    let a = scenario(ours.port);
    let b = scenario(theirs.port);
    assert_eq!(
        a, b,
        "transcripts differ\n--- redislite:\n{a}\n--- redis-server:\n{b}"
    );
}

#[test]
fn default_mode_matches_redis() {
    // DEBUG RELOAD below needs the DEBUG command.
    same_as_redis(&["--enable-debug-command", "yes"], |port| {
        let mut tr = Transcript::new();
        let (mut t, mut w) = (Conn::connect(port), Conn::connect(port));
        resp3(&mut t);
        for args in [
            &["CLIENT", "TRACKINGINFO"][..],
            &["CLIENT", "GETREDIR"],
            &["CLIENT", "TRACKING", "ON"],
            &["CLIENT", "TRACKINGINFO"],
            &["CLIENT", "GETREDIR"],
            &["GET", "k"],
            // Its own write: the invalidation follows the reply.
            &["SET", "k", "1"],
            &["GET", "k"],
            &["MGET", "a", "b"],
            &["SMEMBERS", "s"],
            &["ZUNION", "2", "z1", "z2"],
            &["SET", "notread", "1"],
        ] {
            run(&mut tr, "t", &mut t, args);
        }
        tracking_stats(&mut tr, &mut w);
        for args in [
            &["SET", "k", "2"][..],
            &["SET", "k", "3"],
            &["DEL", "a"],
            &["MSET", "a", "1", "b", "2"],
            &["SADD", "s", "x"],
            &["ZADD", "z2", "1", "m"],
            &["SET", "notread", "2"],
        ] {
            run(&mut tr, "w", &mut w, args);
        }
        drain(&mut tr, "t", &mut t);
        tracking_stats(&mut tr, &mut w);
        // A write lookup that changes nothing invalidates nothing.
        run(&mut tr, "t", &mut t, &["SMEMBERS", "s"]);
        run(&mut tr, "w", &mut w, &["SADD", "s", "x"]);
        drain(&mut tr, "t", &mut t);
        run(&mut tr, "w", &mut w, &["SADD", "s", "y"]);
        drain(&mut tr, "t", &mut t);
        // Active expiry deletes a tracked key: an invalidation.
        run(&mut tr, "t", &mut t, &["GET", "e2"]);
        run(&mut tr, "w", &mut w, &["SET", "e2", "1", "PX", "50"]);
        run(&mut tr, "t", &mut t, &["GET", "e2"]);
        active_expiry_deleted(&mut w, 1);
        drain(&mut tr, "t", &mut t);
        // MULTI: the invalidations follow EXEC's whole reply.
        for args in [
            &["GET", "m"][..],
            &["MULTI"],
            &["SET", "m", "1"],
            &["GET", "m"],
            &["EXEC"],
        ] {
            run(&mut tr, "t", &mut t, args);
        }
        // FLUSHALL/FLUSHDB: a null to every tracking client, even with
        // nothing tracked.
        run(&mut tr, "w", &mut w, &["FLUSHALL"]);
        drain(&mut tr, "t", &mut t);
        run(&mut tr, "t", &mut t, &["FLUSHDB"]);
        // DEBUG RELOAD empties the dataset as FLUSHALL does.
        run(&mut tr, "w", &mut w, &["DEBUG", "RELOAD"]);
        drain(&mut tr, "t", &mut t);
        run(&mut tr, "w", &mut w, &["DEBUG", "RELOAD", "NOFLUSH"]);
        drain(&mut tr, "t", &mut t);
        run(&mut tr, "t", &mut t, &["CLIENT", "TRACKING", "OFF"]);
        run(&mut tr, "t", &mut t, &["GET", "k"]);
        run(&mut tr, "w", &mut w, &["SET", "k", "9"]);
        drain(&mut tr, "t", &mut t);
        // A RESP2 client without a redirect gets nothing.
        let mut t2 = Conn::connect(port);
        run(&mut tr, "t2", &mut t2, &["CLIENT", "TRACKING", "ON"]);
        run(&mut tr, "t2", &mut t2, &["GET", "k"]);
        run(&mut tr, "w", &mut w, &["SET", "k", "10"]);
        drain(&mut tr, "t2", &mut t2);
        tr.text
    });
}

#[test]
fn optin_optout_noloop_match_redis() {
    same_as_redis(&[], |port| {
        let mut tr = Transcript::new();
        let (mut t, mut w) = (Conn::connect(port), Conn::connect(port));
        resp3(&mut t);
        for args in [
            &["CLIENT", "CACHING", "YES"][..],
            &["CLIENT", "TRACKING", "ON", "OPTIN"],
            &["CLIENT", "CACHING", "NO"],
            &["CLIENT", "CACHING", "MAYBE"],
            &["GET", "x"],
            &["CLIENT", "CACHING", "YES"],
            &["CLIENT", "TRACKINGINFO"],
            &["GET", "y"],
            &["GET", "z"],
            // CACHING holds over a transaction.
            &["CLIENT", "CACHING", "YES"],
            &["MULTI"],
            &["GET", "m1"],
            &["GET", "m2"],
            &["EXEC"],
            &["GET", "m3"],
            &["CLIENT", "TRACKING", "ON", "OPTOUT"],
        ] {
            run(&mut tr, "t", &mut t, args);
        }
        run(
            &mut tr,
            "w",
            &mut w,
            &["MSET", "x", "1", "y", "1", "z", "1"],
        );
        run(
            &mut tr,
            "w",
            &mut w,
            &["MSET", "m1", "1", "m2", "1", "m3", "1"],
        );
        drain(&mut tr, "t", &mut t);
        for args in [
            &["CLIENT", "TRACKING", "OFF"][..],
            &["CLIENT", "TRACKING", "ON", "OPTOUT", "NOLOOP"],
            &["CLIENT", "TRACKINGINFO"],
            &["GET", "a"],
            &["CLIENT", "CACHING", "NO"],
            &["GET", "b"],
            &["GET", "c"],
            // NOLOOP: its own write is not reported.
            &["SET", "a", "1"],
        ] {
            run(&mut tr, "t", &mut t, args);
        }
        run(
            &mut tr,
            "w",
            &mut w,
            &["MSET", "a", "2", "b", "2", "c", "2"],
        );
        drain(&mut tr, "t", &mut t);
        tr.text
    });
}

#[test]
fn bcast_prefixes_match_redis() {
    same_as_redis(&[], |port| {
        let mut tr = Transcript::new();
        let (mut t, mut w) = (Conn::connect(port), Conn::connect(port));
        resp3(&mut t);
        for args in [
            &[
                "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "b",
            ][..],
            &["CLIENT", "TRACKINGINFO"],
            &["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "abc"],
            &[
                "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "x", "PREFIX", "xy",
            ],
            &["CLIENT", "TRACKING", "ON"],
            &["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "c"],
            &["CLIENT", "TRACKINGINFO"],
        ] {
            run(&mut tr, "t", &mut t, args);
        }
        // One loop turn's writes arrive as one message per prefix, keys
        // in byte order.
        let mut batch = Vec::new();
        for k in ["b2", "a1", "b1", "zz", "b1"] {
            batch.extend(crate::common::encode(&[b"SET", k.as_bytes(), b"1"]));
        }
        w.send_raw(&batch);
        let mut replies = Vec::new();
        for _ in 0..5 {
            replies.extend(w.read_reply());
        }
        tr.log("w", "pipelined SETs", &replies);
        drain(&mut tr, "t", &mut t);
        run(&mut tr, "t", &mut t, &["SET", "c9", "1"]);
        drain(&mut tr, "t", &mut t);
        run(&mut tr, "t", &mut t, &["CLIENT", "TRACKING", "OFF"]);
        run(
            &mut tr,
            "t",
            &mut t,
            &["CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP"],
        );
        run(&mut tr, "t", &mut t, &["SET", "q", "1"]);
        run(&mut tr, "w", &mut w, &["SET", "r", "1"]);
        drain(&mut tr, "t", &mut t);
        // A key the NOLOOP client wrote, then expired: expiry has no
        // writer, so it is reported (here by active expiry; the lazy
        // path, by the client's own GET, is covered by tracking.rs's unit
        // test).
        run(&mut tr, "t", &mut t, &["SET", "e", "1", "PX", "50"]);
        active_expiry_deleted(&mut w, 1);
        run(&mut tr, "t", &mut t, &["GET", "e"]);
        drain(&mut tr, "t", &mut t);
        run(&mut tr, "w", &mut w, &["FLUSHALL"]);
        drain(&mut tr, "t", &mut t);
        let info = String::from_utf8_lossy(&t.cmd(&["INFO", "clients"])).into_owned();
        let line = info.lines().find(|l| l.starts_with("tracking_clients:"));
        tr.log("t", "INFO clients", line.unwrap_or("").as_bytes());
        // RESET turns tracking off.
        run(&mut tr, "t", &mut t, &["RESET"]);
        run(&mut tr, "t", &mut t, &["CLIENT", "TRACKINGINFO"]);
        let info = String::from_utf8_lossy(&t.cmd(&["INFO", "stats"])).into_owned();
        let lines: Vec<&str> = info
            .lines()
            .filter(|l| l.starts_with("tracking_"))
            .collect();
        tr.log("t", "INFO stats", lines.join(",").as_bytes());
        tr.text
    });
}

#[test]
fn redirect_matches_redis() {
    same_as_redis(&[], |port| {
        let mut tr = Transcript::new();
        let (mut t, mut w) = (Conn::connect(port), Conn::connect(port));
        let (mut r2, mut r3) = (Conn::connect(port), Conn::connect(port));
        resp3(&mut t);
        resp3(&mut r3);
        let r2_id = tr.name_id(&mut r2, "r2").to_string();
        let r3_id = tr.name_id(&mut r3, "r3").to_string();
        tr.name_id(&mut t, "t");
        run(
            &mut tr,
            "r2",
            &mut r2,
            &["SUBSCRIBE", "__redis__:invalidate"],
        );
        for args in [
            &["CLIENT", "TRACKING", "ON", "REDIRECT", "999999"][..],
            &["CLIENT", "TRACKING", "ON", "REDIRECT", "x"],
            &[
                "CLIENT", "TRACKING", "ON", "REDIRECT", &r2_id, "REDIRECT", &r2_id,
            ],
            &["CLIENT", "TRACKING", "ON", "REDIRECT", &r2_id],
            &["CLIENT", "GETREDIR"],
            &["CLIENT", "TRACKINGINFO"],
            &["GET", "k"],
        ] {
            run(&mut tr, "t", &mut t, args);
        }
        run(&mut tr, "w", &mut w, &["SET", "k", "1"]);
        drain(&mut tr, "r2", &mut r2);
        run(&mut tr, "t", &mut t, &["GET", "k"]);
        run(&mut tr, "w", &mut w, &["FLUSHALL"]);
        drain(&mut tr, "r2", &mut r2);
        drain(&mut tr, "t", &mut t);
        // A RESP2 tracker's flush null is RESP2's, wherever it goes.
        let mut t2 = Conn::connect(port);
        run(
            &mut tr,
            "t2",
            &mut t2,
            &["CLIENT", "TRACKING", "ON", "REDIRECT", &r3_id],
        );
        run(&mut tr, "t2", &mut t2, &["GET", "q"]);
        run(&mut tr, "w", &mut w, &["SET", "q", "1"]);
        run(&mut tr, "w", &mut w, &["FLUSHDB"]);
        drain(&mut tr, "r3", &mut r3);
        run(
            &mut tr,
            "t",
            &mut t,
            &["CLIENT", "TRACKING", "ON", "REDIRECT", &r3_id],
        );
        run(&mut tr, "t", &mut t, &["GET", "k"]);
        run(&mut tr, "w", &mut w, &["SET", "k", "2"]);
        drain(&mut tr, "r3", &mut r3);
        drain(&mut tr, "t", &mut t);
        // The target goes away: the tracker is told at each invalidation.
        drop(r3);
        let gone = crate::common::wait_until(Duration::from_secs(5), || {
            !String::from_utf8_lossy(&w.cmd(&["CLIENT", "LIST"])).contains(&format!("id={r3_id} "))
        });
        assert!(gone);
        run(&mut tr, "t", &mut t, &["GET", "k"]);
        run(&mut tr, "w", &mut w, &["SET", "k", "3"]);
        drain(&mut tr, "t", &mut t);
        run(&mut tr, "t", &mut t, &["CLIENT", "TRACKINGINFO"]);
        run(&mut tr, "t", &mut t, &["CLIENT", "GETREDIR"]);
        let list = String::from_utf8_lossy(&t.cmd(&["CLIENT", "INFO"])).into_owned();
        let flags = list
            .split(' ')
            .find(|f| f.starts_with("flags="))
            .unwrap_or("");
        tr.log("t", "CLIENT INFO flags", flags.as_bytes());
        tr.text
    });
}

#[test]
fn errors_match_redis() {
    same_as_redis(&[], |port| {
        let mut tr = Transcript::new();
        let mut t = Conn::connect(port);
        resp3(&mut t);
        for args in [
            &["CLIENT", "TRACKING"][..],
            &["CLIENT", "TRACKING", "MAYBE"],
            &["CLIENT", "TRACKING", "ON", "FOO"],
            &["CLIENT", "TRACKING", "ON", "PREFIX"],
            &["CLIENT", "TRACKING", "ON", "PREFIX", "a"],
            &["CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"],
            &["CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"],
            &["CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT", "BCAST"],
            &[
                "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab", "PREFIX", "a",
            ],
            &["CLIENT", "TRACKING", "OFF", "BOGUS"],
            &["CLIENT", "CACHING"],
            &["CLIENT", "CACHING", "YES"],
            &["CLIENT", "CACHING", "YES", "NO"],
            &["CLIENT", "GETREDIR", "x"],
            &["CLIENT", "TRACKING", "ON", "OPTIN"],
            &["CLIENT", "TRACKING", "ON", "OPTOUT"],
            &["CLIENT", "TRACKING", "ON", "BCAST"],
            &["CLIENT", "CACHING", "NO"],
            &["CLIENT", "TRACKING", "OFF"],
            &["CLIENT", "TRACKING", "ON", "BCAST"],
            &["CLIENT", "TRACKING", "ON", "OPTIN"],
            &["CLIENT", "TRACKINGINFO"],
            &["CONFIG", "GET", "tracking-table-max-keys"],
        ] {
            run(&mut tr, "t", &mut t, args);
        }
        tr.text
    });
}

/// tracking-table-max-keys: past it, keys leave the table (before the next
/// command runs) with an invalidation. Which key goes is random in Redis,
/// so only the counts are compared.
#[test]
fn table_limit_matches_redis() {
    same_as_redis(&[], |port| {
        let mut t = Conn::connect(port);
        resp3(&mut t);
        assert_eq!(
            t.cmd(&["CONFIG", "SET", "tracking-table-max-keys", "2"]),
            b"+OK\r\n"
        );
        t.cmd(&["CLIENT", "TRACKING", "ON"]);
        for k in ["a", "b", "c", "d"] {
            t.send(&[b"GET", k.as_bytes()]);
        }
        // Each command first trims the table, then may add its key.
        let (mut pushes, mut nulls) = (0, 0);
        t.send(&[b"PING"]);
        loop {
            let v = t.read_reply();
            if v == b"+PONG\r\n" {
                break;
            }
            if v == b"_\r\n" {
                nulls += 1;
                continue;
            }
            assert!(v.starts_with(b">2\r\n$10\r\ninvalidate\r\n*1\r\n"), "{v:?}");
            pushes += 1;
        }
        assert_eq!(nulls, 4);
        let info = String::from_utf8_lossy(&t.cmd(&["INFO", "stats"])).into_owned();
        let keys = info
            .lines()
            .find(|l| l.starts_with("tracking_total_"))
            .unwrap_or("")
            .to_string();
        format!("pushes={pushes} {keys}")
    });
}
