//! Redis 7.0 functions end to end: libraries survive SAVE / BGSAVE +
//! restart, DEBUG RELOAD, AOF replay and AOF rewrite; dump.rdb files with
//! libraries move both ways between RedisLite and Debian's redis-server
//! (ours checked by redis-check-rdb); FUNCTION DUMP payloads restore on
//! either server; FUNCTION LOAD / DELETE / RESTORE / FLUSH reach replicas
//! (RedisLite or redis-server) by full sync and by the command stream,
//! both ways.
//!
//! Listings are compared one library at a time (FUNCTION LIST
//! LIBRARYNAME <name> WITHCODE): redis-server lists libraries in
//! hash-table order, seeded at random when it starts.

use crate::common::{info_str, wait_until, which, Conn, ServerProc, TempDir, AOF_ALWAYS};
use crate::replication::{link_up, start_node, LIMIT};
use std::process::Command;

/// Three libraries: a plain one, one with flags and a description, and
/// one long enough that redis-server stores it LZF-compressed.
fn libraries() -> Vec<(&'static str, String)> {
    let long_body: String = (0..40)
        .map(|i| format!("-- padding line {i} so the source compresses well\n"))
        .collect();
    vec![
        (
            "plain",
            "#!lua name=plain\nredis.register_function('setit', function(keys, args) return redis.call('set', keys[1], args[1]) end)".to_string(),
        ),
        (
            "flagged",
            "#!lua name=flagged\nredis.register_function{function_name='getit', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes', 'allow-stale'}, description='reads a key'}".to_string(),
        ),
        (
            "long",
            format!("#!lua name=long\n{long_body}redis.register_function('echo', function(keys, args) return args[1] end)"),
        ),
    ]
}

fn load_all(c: &mut Conn) {
    for (name, code) in libraries() {
        assert_eq!(
            c.cmd(&["FUNCTION", "LOAD", &code]),
            format!("${}\r\n{name}\r\n", name.len()).into_bytes()
        );
    }
}

/// Each library's FUNCTION LIST entry with its code.
fn listing(c: &mut Conn) -> Vec<Vec<u8>> {
    libraries()
        .iter()
        .map(|(name, _)| c.cmd(&["FUNCTION", "LIST", "LIBRARYNAME", name, "WITHCODE"]))
        .collect()
}

/// The listing of a server holding exactly `libraries()`, taken from
/// redis-server itself.
fn expected_listing() -> Vec<Vec<u8>> {
    let r = ServerProc::start_reference(&[]);
    let mut c = r.conn();
    load_all(&mut c);
    listing(&mut c)
}

/// The functions of `libraries()` work.
fn calls_work(c: &mut Conn) {
    assert_eq!(c.cmds(&["FCALL", "setit", "1", "fk", "fv"]), "+OK\r\n");
    assert_eq!(c.cmds(&["FCALL_RO", "getit", "1", "fk"]), "$2\r\nfv\r\n");
    assert_eq!(c.cmds(&["FCALL", "ECHO", "0", "hi"]), "$2\r\nhi\r\n");
}

fn library_count(c: &mut Conn) -> usize {
    let stats = c.cmd(&["FUNCTION", "STATS"]);
    let text = String::from_utf8_lossy(&stats).into_owned();
    let at = text.find("libraries_count\r\n:").expect("libraries_count") + 18;
    text[at..]
        .split("\r\n")
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count")
}

fn check_rdb(path: &std::path::Path) {
    let out = Command::new(which("redis-check-rdb").expect("redis-check-rdb (redis-tools)"))
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "{text}"
    );
}

#[test]
fn libraries_survive_save_bgsave_restart_and_debug_reload() {
    let want = expected_listing();
    let d = TempDir::new("functions-save");
    let args = ["--save", "", "--enable-debug-command", "yes"];
    let s = ServerProc::start_in(&d.0, &args);
    let port = s.port;
    let mut c = s.conn();
    load_all(&mut c);
    assert_eq!(listing(&mut c), want);
    for (field, n) in [("number_of_libraries", "3"), ("number_of_functions", "3")] {
        assert_eq!(info_str(&mut c, "memory", field).as_deref(), Some(n));
    }
    assert_eq!(c.cmds(&["SAVE"]), "+OK\r\n");
    drop(s);
    let s = ServerProc::start_in_on(&d.0, port, &args);
    let mut c = s.conn();
    assert_eq!(listing(&mut c), want);
    calls_work(&mut c);
    // DEBUG RELOAD: written and read back; NOFLUSH collides unless MERGE.
    assert_eq!(c.cmds(&["DEBUG", "RELOAD"]), "+OK\r\n");
    assert_eq!(listing(&mut c), want);
    assert_eq!(
        c.cmds(&["DEBUG", "RELOAD", "NOFLUSH"]),
        "-ERR Error trying to load the RDB dump\r\n"
    );
    assert_eq!(c.cmds(&["DEBUG", "RELOAD", "NOFLUSH", "MERGE"]), "+OK\r\n");
    assert_eq!(listing(&mut c), want);
    // BGSAVE after a change, then restart.
    assert_eq!(c.cmds(&["FUNCTION", "DELETE", "plain"]), "+OK\r\n");
    assert!(c
        .cmds(&["BGSAVE"])
        .starts_with("+Background saving started"));
    assert!(wait_until(LIMIT, || {
        info_str(&mut c, "persistence", "rdb_bgsave_in_progress").as_deref() == Some("0")
    }));
    assert_eq!(
        info_str(&mut c, "persistence", "rdb_last_bgsave_status").as_deref(),
        Some("ok")
    );
    drop(s);
    let s = ServerProc::start_in_on(&d.0, port, &args);
    let mut c = s.conn();
    assert_eq!(library_count(&mut c), 2);
    assert_eq!(
        c.cmds(&["FUNCTION", "LIST", "LIBRARYNAME", "plain"]),
        "*0\r\n"
    );
    assert_eq!(listing(&mut c)[1..], want[1..]);
}

#[test]
fn rdb_files_with_libraries_move_between_redis_and_redislite() {
    let want = expected_listing();
    // redis-server's file (the long library LZF-compressed) into RedisLite.
    let d = TempDir::new("functions-rdb");
    let r = ServerProc::start_reference_in(&d.0, &["--save", "", "--appendonly", "no"]);
    let mut rc = r.conn();
    load_all(&mut rc);
    assert_eq!(rc.cmds(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(rc.cmds(&["SAVE"]), "+OK\r\n");
    drop(r);
    let s = ServerProc::start_in(&d.0, &["--save", ""]);
    let mut c = s.conn();
    assert_eq!(listing(&mut c), want);
    assert_eq!(c.cmds(&["GET", "k"]), "$1\r\nv\r\n");
    calls_work(&mut c);
    // Our file: redis-check-rdb accepts it, redis-server loads it.
    std::fs::remove_file(d.0.join("dump.rdb")).unwrap();
    assert_eq!(c.cmds(&["SAVE"]), "+OK\r\n");
    drop(s);
    check_rdb(&d.0.join("dump.rdb"));
    let r = ServerProc::start_reference_in(&d.0, &["--save", "", "--appendonly", "no"]);
    let mut rc = r.conn();
    assert_eq!(listing(&mut rc), want);
    assert_eq!(rc.cmds(&["GET", "fk"]), "$2\r\nfv\r\n");
    calls_work(&mut rc);
}

#[test]
fn function_dump_payloads_restore_on_either_server() {
    let want = expected_listing();
    let r = ServerProc::start_reference(&[]);
    let s = ServerProc::start(&["--save", ""]);
    let (mut rc, mut c) = (r.conn(), s.conn());
    load_all(&mut rc);
    // redis-server's payload (LZF strings) into RedisLite, every policy.
    let theirs = rc.cmd(&["FUNCTION", "DUMP"]);
    let payload = bulk_body(&theirs);
    c.send(&[b"FUNCTION", b"RESTORE", payload]);
    assert_eq!(c.read_reply(), b"+OK\r\n");
    assert_eq!(listing(&mut c), want);
    // APPEND collides; which library the error names depends on Redis's
    // hash order, so only the text around it is compared.
    for conn in [&mut c, &mut rc] {
        conn.send(&[b"FUNCTION", b"RESTORE", payload]);
        let text = String::from_utf8_lossy(&conn.read_reply()).into_owned();
        assert!(
            text.starts_with("-ERR Library ") && text.ends_with(" already exists\r\n"),
            "{text}"
        );
    }
    for policy in [&b"REPLACE"[..], b"FLUSH"] {
        c.send(&[b"FUNCTION", b"RESTORE", payload, policy]);
        assert_eq!(c.read_reply(), b"+OK\r\n");
        assert_eq!(listing(&mut c), want);
    }
    calls_work(&mut c);
    // Ours into redis-server.
    let ours = c.cmd(&["FUNCTION", "DUMP"]);
    let payload = bulk_body(&ours);
    assert_eq!(rc.cmds(&["FUNCTION", "FLUSH"]), "+OK\r\n");
    rc.send(&[b"FUNCTION", b"RESTORE", payload]);
    assert_eq!(rc.read_reply(), b"+OK\r\n");
    assert_eq!(listing(&mut rc), want);
    // A damaged payload is refused by both, with the same text.
    let mut bad = payload.to_vec();
    bad[2] ^= 0x20;
    for conn in [&mut c, &mut rc] {
        conn.send(&[b"FUNCTION", b"RESTORE", &bad, b"FLUSH"]);
        assert_eq!(
            conn.read_reply(),
            b"-ERR DUMP payload version or checksum are wrong\r\n"
        );
        assert_eq!(library_count(conn), 3);
    }
}

/// The payload of a bulk reply.
fn bulk_body(reply: &[u8]) -> &[u8] {
    let start = reply.iter().position(|&b| b == b'\n').expect("bulk header") + 1;
    &reply[start..reply.len() - 2]
}

/// Poll until `c`'s FUNCTION LIST WITHCODE of every library of
/// `libraries()` equals `want`.
fn converges(c: &mut Conn, want: &[Vec<u8>]) -> bool {
    wait_until(LIMIT, || listing(c) == want)
}

#[test]
fn function_changes_replicate_from_redislite_to_both_replica_kinds() {
    let want = expected_listing();
    let m = start_node(false, &[]);
    let mut mc = m.conn();
    // Before the replicas attach: carried by the full sync.
    let libs = libraries();
    assert_eq!(
        mc.cmds(&["FUNCTION", "LOAD", &libs[0].1]),
        "$5\r\nplain\r\n"
    );
    let port = m.port.to_string();
    let theirs = start_node(true, &["--replicaof", "127.0.0.1", &port]);
    let ours = start_node(false, &["--replicaof", "127.0.0.1", &port]);
    link_up(&theirs);
    link_up(&ours);
    let (mut tc, mut oc) = (theirs.conn(), ours.conn());
    let plain_only = vec![want[0].clone(), b"*0\r\n".to_vec(), b"*0\r\n".to_vec()];
    assert!(converges(&mut tc, &plain_only));
    assert!(converges(&mut oc, &plain_only));
    // Then through the command stream.
    for (_, code) in &libs[1..] {
        assert!(mc.cmds(&["FUNCTION", "LOAD", code]).starts_with('$'));
    }
    assert!(converges(&mut tc, &want));
    assert!(converges(&mut oc, &want));
    for c in [&mut tc, &mut oc] {
        assert_eq!(
            c.cmds(&["FUNCTION", "LOAD", &libs[0].1]),
            "-READONLY You can't write against a read only replica.\r\n"
        );
    }
    // FCALL's writes reach the replicas as the commands it ran.
    assert_eq!(mc.cmds(&["FCALL", "setit", "1", "fk", "fv"]), "+OK\r\n");
    assert!(wait_until(LIMIT, || tc.cmds(&["GET", "fk"])
        == "$2\r\nfv\r\n"
        && oc.cmds(&["GET", "fk"]) == "$2\r\nfv\r\n"));
    assert_eq!(oc.cmds(&["FCALL_RO", "getit", "1", "fk"]), "$2\r\nfv\r\n");
    // DELETE, RESTORE, FLUSH.
    assert_eq!(mc.cmds(&["FUNCTION", "DELETE", "long"]), "+OK\r\n");
    let no_long = vec![want[0].clone(), want[1].clone(), b"*0\r\n".to_vec()];
    assert!(converges(&mut tc, &no_long));
    assert!(converges(&mut oc, &no_long));
    let dump = mc.cmd(&["FUNCTION", "DUMP"]);
    assert_eq!(mc.cmds(&["FUNCTION", "FLUSH"]), "+OK\r\n");
    let none = vec![b"*0\r\n".to_vec(); 3];
    assert!(converges(&mut tc, &none));
    assert!(converges(&mut oc, &none));
    mc.send(&[b"FUNCTION", b"RESTORE", bulk_body(&dump)]);
    assert_eq!(mc.read_reply(), b"+OK\r\n");
    assert!(converges(&mut tc, &no_long));
    assert!(converges(&mut oc, &no_long));
}

#[test]
fn redis_master_libraries_reach_a_redislite_replica() {
    let want = expected_listing();
    let m = start_node(true, &[]);
    let mut mc = m.conn();
    let libs = libraries();
    assert_eq!(
        mc.cmds(&["FUNCTION", "LOAD", &libs[0].1]),
        "$5\r\nplain\r\n"
    );
    // The replica's own library goes with the full sync, as in Redis.
    let r = start_node(false, &[]);
    let mut rc = r.conn();
    assert_eq!(
        rc.cmds(&[
            "FUNCTION",
            "LOAD",
            "#!lua name=own\nredis.register_function('own', function() return 1 end)"
        ]),
        "$3\r\nown\r\n"
    );
    assert_eq!(
        rc.cmds(&["REPLICAOF", "127.0.0.1", &m.port.to_string()]),
        "+OK\r\n"
    );
    link_up(&r);
    let plain_only = vec![want[0].clone(), b"*0\r\n".to_vec(), b"*0\r\n".to_vec()];
    assert!(converges(&mut rc, &plain_only));
    assert_eq!(
        rc.cmds(&["FCALL", "own", "0"]),
        "-ERR Function not found\r\n"
    );
    for (_, code) in &libs[1..] {
        assert!(mc.cmds(&["FUNCTION", "LOAD", code]).starts_with('$'));
    }
    assert!(converges(&mut rc, &want));
    assert_eq!(mc.cmds(&["FCALL", "setit", "1", "fk", "fv"]), "+OK\r\n");
    assert!(wait_until(LIMIT, || rc.cmds(&["GET", "fk"]) == "$2\r\nfv\r\n"));
    assert_eq!(mc.cmds(&["FUNCTION", "FLUSH", "ASYNC"]), "+OK\r\n");
    assert!(converges(
        &mut rc,
        &[b"*0\r\n".to_vec(), b"*0\r\n".to_vec(), b"*0\r\n".to_vec()]
    ));
}

#[test]
fn libraries_survive_aof_replay_and_rewrite() {
    let want = expected_listing();
    let d = TempDir::new("functions-aof");
    let s = ServerProc::start_in(&d.0, &AOF_ALWAYS);
    let port = s.port;
    let mut c = s.conn();
    load_all(&mut c);
    assert_eq!(
        c.cmds(&[
            "FUNCTION",
            "LOAD",
            "#!lua name=gone\nredis.register_function('gone', function() return 1 end)"
        ]),
        "$4\r\ngone\r\n"
    );
    assert_eq!(c.cmds(&["FUNCTION", "DELETE", "gone"]), "+OK\r\n");
    assert_eq!(c.cmds(&["FCALL", "setit", "1", "fk", "fv"]), "+OK\r\n");
    drop(s);
    // The log holds the FUNCTION commands as sent, and FCALL's SET, not
    // the FCALL.
    let incr: Vec<u8> = std::fs::read_dir(d.0.join("appendonlydir"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".incr."))
        .flat_map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    let text = String::from_utf8_lossy(&incr);
    assert!(text.contains("$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n"), "{text}");
    assert!(text.contains("$6\r\nDELETE\r\n$4\r\ngone\r\n"), "{text}");
    assert!(
        text.contains("$3\r\nset\r\n$2\r\nfk\r\n$2\r\nfv\r\n"),
        "{text}"
    );
    assert!(!text.to_ascii_lowercase().contains("fcall"), "{text}");
    // Replayed.
    let s = ServerProc::start_in_on(&d.0, port, &AOF_ALWAYS);
    let mut c = s.conn();
    assert_eq!(listing(&mut c), want);
    assert_eq!(library_count(&mut c), 3);
    assert_eq!(c.cmds(&["GET", "fk"]), "$2\r\nfv\r\n");
    // Rewritten: the base (an RDB) carries them.
    assert!(c.cmds(&["BGREWRITEAOF"]).starts_with('+'));
    assert!(wait_until(LIMIT, || {
        info_str(&mut c, "persistence", "aof_rewrite_in_progress").as_deref() == Some("0")
            && info_str(&mut c, "persistence", "aof_rewrite_scheduled").as_deref() == Some("0")
    }));
    assert_eq!(
        info_str(&mut c, "persistence", "aof_last_bgrewrite_status").as_deref(),
        Some("ok")
    );
    drop(s);
    let base = std::fs::read_dir(d.0.join("appendonlydir"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().contains(".base.rdb"))
        .expect("a base file");
    check_rdb(&base.path());
    let s = ServerProc::start_in_on(&d.0, port, &AOF_ALWAYS);
    let mut c = s.conn();
    assert_eq!(listing(&mut c), want);
    calls_work(&mut c);
}

/// Memory a library's Lua state holds is reported as
/// `used_memory_vm_functions`, outside `used_memory` (and so outside
/// `maxmemory`), as redis-server does: its Lua allocates outside its
/// allocator's count.
#[test]
fn lua_memory_stays_out_of_used_memory_like_redis() {
    // ~13 MB of tables, built far from FUNCTION LOAD's 500 ms limit even
    // on a loaded machine (400 000 short strings came near it; long
    // similar strings are slow to intern in our Lua: see README,
    // "Scripting").
    let big = "#!lua name=big\nlocal t = {} for i = 1, 80000 do t[i] = {i, i, i, i, i, i, i, i} end\nredis.register_function('n', function() return #t end)";
    for srv in [ServerProc::start(&[]), ServerProc::start_reference(&[])] {
        let mut c = srv.conn();
        let field = |c: &mut Conn, name: &str| -> i64 {
            info_str(c, "memory", name)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name}"))
        };
        let used0 = field(&mut c, "used_memory");
        let vm0 = field(&mut c, "used_memory_vm_functions");
        assert_eq!(c.cmds(&["FUNCTION", "LOAD", big]), "$3\r\nbig\r\n");
        assert_eq!(c.cmds(&["FCALL", "n", "0"]), ":80000\r\n");
        let grown_vm = field(&mut c, "used_memory_vm_functions") - vm0;
        let grown_used = field(&mut c, "used_memory") - used0;
        assert!(grown_vm > 10 << 20, "vm_functions grew {grown_vm}");
        assert!(grown_used < 2 << 20, "used_memory grew {grown_used}");
    }
}
