//! The server's life around its data: DEBUG RELOAD, SHUTDOWN's flags,
//! signals, `supervised systemd` notifications, the shipped contrib files,
//! and a full disk (ENOSPC on a size-limited tmpfs the test mounts).

use crate::common::{free_port, wait_exit, wait_until, Conn, ServerProc, TempDir};
use crate::dump::{populate, snapshot};
use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

#[test]
fn debug_reload_keeps_data_encodings_and_ttls() {
    let d = TempDir::new("reload");
    let s = ServerProc::start_in(&d.0, &["--save", "", "--enable-debug-command", "yes"]);
    let mut con = s.client();
    let keys = populate(&mut con);
    // Deadlines far enough not to pass during the test, in ms precision.
    for (i, k) in keys.iter().enumerate().step_by(3) {
        let _: i64 = redis::cmd("PEXPIREAT")
            .arg(k)
            .arg(4_000_000_000_000i64 + i as i64)
            .query(&mut con)
            .unwrap();
    }
    // Every key's value, encoding and deadline.
    let state = |con: &mut redis::Connection| -> Vec<_> {
        keys.iter()
            .map(|k| {
                let t: i64 = redis::cmd("PEXPIRETIME").arg(k).query(con).unwrap();
                (snapshot(con, k), t)
            })
            .collect()
    };
    let before = state(&mut con);
    let mut c = s.conn();
    assert_eq!(c.cmds(&["DEBUG", "RELOAD"]), "+OK\r\n");
    assert_eq!(before, state(&mut con));
    assert_eq!(c.cmds(&["DBSIZE"]), format!(":{}\r\n", keys.len()));
    // NOSAVE loads the file as it is: a key written since is gone.
    c.cmd(&["SET", "later", "1"]);
    assert_eq!(c.cmds(&["DEBUG", "RELOAD", "NOSAVE"]), "+OK\r\n");
    assert_eq!(c.cmds(&["EXISTS", "later"]), ":0\r\n");
    // NOFLUSH MERGE adds the file to what is in memory.
    c.cmd(&["SET", "later", "1"]);
    c.cmd(&["DEL", "str_emb"]);
    assert_eq!(
        c.cmds(&["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmds(&["EXISTS", "later", "str_emb"]), ":2\r\n");
    // NOFLUSH without MERGE: conflicting keys refuse the load.
    assert_eq!(
        c.cmds(&["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH"]),
        "-ERR Error trying to load the RDB dump\r\n"
    );
    assert_eq!(
        c.cmds(&["DEBUG", "RELOAD", "FOO"]),
        "-ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.\r\n"
    );
    std::fs::remove_file(d.0.join("dump.rdb")).unwrap();
    assert_eq!(
        c.cmds(&["DEBUG", "RELOAD", "NOSAVE"]),
        "-ERR Error trying to load the RDB dump\r\n"
    );
}

/// Send signal `sig` ("TERM", "STOP", "CONT"...) to our own child by pid.
fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{sig} {pid}");
}

/// A replica of `m` whose link is up and which the master sees online.
fn online_replica_of(m: &ServerProc) -> ServerProc {
    let port = m.port.to_string();
    let r = ServerProc::start(&["--save", "", "--replicaof", "127.0.0.1", &port]);
    let mut mc = m.conn();
    let mut rc = r.conn();
    assert!(
        wait_until(LIMIT, || {
            rc.cmds(&["INFO", "replication"])
                .contains("master_link_status:up")
                && mc.cmds(&["INFO", "replication"]).contains("state=online")
        }),
        "replica never came online"
    );
    r
}

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn shutdown_flags_are_checked_as_redis_checks_them() {
    crate::differential::check(
        r#"
        SHUTDOWN ABORT
        SHUTDOWN ABORT NOW
        SHUTDOWN SAVE NOSAVE
        SHUTDOWN FOO
        SHUTDOWN NOSAVE FOO
        CONFIG SET shutdown-on-sigterm "force nosave now"
        CONFIG GET shutdown-on-sigterm
        CONFIG SET shutdown-on-sigterm "save nosave"
        CONFIG SET shutdown-on-sigterm bogus
        CONFIG SET shutdown-on-sigterm default
        CONFIG GET shutdown-on-sigterm
        CONFIG GET shutdown-on-sigint
        CONFIG GET shutdown-timeout
        CONFIG GET supervised
        "#,
    );
}

#[test]
fn shutdown_save_writes_dump_rdb_and_nosave_does_not() {
    let d = TempDir::new("shutdown-save");
    let rdb = d.0.join("dump.rdb");
    // No save rules: a plain SHUTDOWN writes no snapshot...
    let mut s = ServerProc::start_in(&d.0, &["--save", ""]);
    let mut c = s.conn();
    c.cmd(&["SET", "k", "1"]);
    c.send(&[b"SHUTDOWN"]);
    assert!(c.is_closed_within(LIMIT));
    assert_eq!(wait_exit(&mut s.child, LIMIT), Some(0));
    assert!(!rdb.exists());
    // ...SHUTDOWN SAVE does.
    let mut s = ServerProc::start_in(&d.0, &["--save", ""]);
    let mut c = s.conn();
    c.cmd(&["SET", "k", "2"]);
    c.send(&[b"SHUTDOWN", b"SAVE"]);
    assert!(c.is_closed_within(LIMIT));
    assert_eq!(wait_exit(&mut s.child, LIMIT), Some(0));
    assert!(rdb.exists());
    // With save rules, NOSAVE leaves the old snapshot as it was.
    let mut s = ServerProc::start_in(&d.0, &["--save", "3600 1"]);
    let mut c = s.conn();
    assert_eq!(c.cmds(&["GET", "k"]), "$1\r\n2\r\n");
    c.cmd(&["SET", "k", "3"]);
    c.send(&[b"SHUTDOWN", b"NOSAVE", b"NOW"]);
    assert!(c.is_closed_within(LIMIT));
    assert_eq!(wait_exit(&mut s.child, LIMIT), Some(0));
    let s = ServerProc::start_in(&d.0, &["--save", ""]);
    assert_eq!(s.conn().cmds(&["GET", "k"]), "$1\r\n2\r\n");
}

#[test]
fn a_failing_save_refuses_shutdown_unless_force_and_keeps_serving() {
    let d = TempDir::new("shutdown-fail");
    let work = d.0.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let mut s = ServerProc::start_in(&work, &["--save", ""]);
    let mut c = s.conn();
    c.cmd(&["SET", "k", "v"]);
    // The working directory disappears: no snapshot can be written.
    std::fs::remove_dir_all(&work).unwrap();
    assert_eq!(
        c.cmds(&["SHUTDOWN", "SAVE"]),
        "-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    // Still serving, and still accepting connections.
    assert_eq!(c.cmds(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(s.conn().cmds(&["PING"]), "+PONG\r\n");
    c.send(&[b"SHUTDOWN", b"SAVE", b"FORCE"]);
    assert!(c.is_closed_within(LIMIT));
    assert_eq!(wait_exit(&mut s.child, LIMIT), Some(0));
}

#[test]
fn shutdown_waits_for_a_lagging_replica_and_abort_cancels_it() {
    let mut m = ServerProc::start(&["--save", ""]);
    let r = online_replica_of(&m);
    signal(r.pid(), "STOP");
    let mut c = m.conn();
    c.cmd(&["SET", "k", "v"]);
    let mut waiting = m.conn();
    let id = waiting.cmds(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim_end();
    waiting.send(&[b"SHUTDOWN"]);
    // The shutdown is pending: reads are served, writes are held.
    let mut other = m.conn();
    assert!(
        wait_until(LIMIT, || other
            .cmds(&["INFO", "clients"])
            .contains("blocked_clients:1\r\n")),
        "the SHUTDOWN client never blocked"
    );
    // CLIENT UNBLOCK leaves it waiting (redis-server 7.0.15 aborts on an
    // assertion here).
    for how in ["TIMEOUT", "ERROR"] {
        assert_eq!(other.cmds(&["CLIENT", "UNBLOCK", id, how]), ":0\r\n");
    }
    assert!(
        wait_until(LIMIT, || other.cmds(&["SHUTDOWN", "ABORT"]) == "+OK\r\n"),
        "no shutdown in progress"
    );
    assert_eq!(
        waiting.read_reply(),
        b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    assert_eq!(c.cmds(&["SET", "k2", "v"]), "+OK\r\n");
    // Once the replica runs again, SHUTDOWN completes after it caught up.
    signal(r.pid(), "CONT");
    waiting.send(&[b"SHUTDOWN"]);
    assert!(waiting.is_closed_within(LIMIT));
    assert_eq!(wait_exit(&mut m.child, LIMIT), Some(0));
    assert_eq!(r.conn().cmds(&["GET", "k2"]), "$1\r\nv\r\n");
}

#[test]
fn shutdown_gives_up_on_a_stopped_replica_after_shutdown_timeout_and_now_does_not_wait() {
    let mut m = ServerProc::start(&["--save", "", "--shutdown-timeout", "1"]);
    let r = online_replica_of(&m);
    signal(r.pid(), "STOP");
    let mut c = m.conn();
    c.cmd(&["SET", "k", "v"]);
    c.send(&[b"SHUTDOWN"]);
    assert!(c.is_closed_within(LIMIT));
    assert_eq!(wait_exit(&mut m.child, LIMIT), Some(0));
    signal(r.pid(), "CONT");
    // NOW: no wait at all (shutdown-timeout would hold it for an hour).
    let mut m = ServerProc::start(&["--save", "", "--shutdown-timeout", "3600"]);
    let r = online_replica_of(&m);
    signal(r.pid(), "STOP");
    let mut c = m.conn();
    c.cmd(&["SET", "k", "v"]);
    c.send(&[b"SHUTDOWN", b"NOW"]);
    assert!(c.is_closed_within(LIMIT));
    assert_eq!(wait_exit(&mut m.child, LIMIT), Some(0));
    signal(r.pid(), "CONT");
}

#[test]
fn a_second_sigterm_during_a_pending_shutdown_exits_at_once_and_loses_nothing() {
    let d = TempDir::new("second-signal");
    let args = [
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--shutdown-timeout",
        "3600",
    ];
    let mut m = ServerProc::start_in(&d.0, &args);
    let r = online_replica_of(&m);
    let mut c = m.conn();
    for i in 0..100 {
        assert_eq!(c.cmds(&["SET", &format!("k{i}"), "v"]), "+OK\r\n");
    }
    signal(r.pid(), "STOP");
    c.cmd(&["SET", "last", "v"]);
    signal(m.pid(), "TERM");
    // Pending: the first signal started a shutdown that waits (an hour)
    // for the stopped replica; the server still answers.
    let mut probe = m.conn();
    assert!(wait_until(LIMIT, || probe
        .cmds(&["INFO", "persistence"])
        .contains("aof_enabled:1")));
    signal(m.pid(), "TERM");
    // Status 1: the immediate exit, not a completed graceful shutdown.
    assert_eq!(wait_exit(&mut m.child, LIMIT), Some(1));
    signal(r.pid(), "CONT");
    let s = ServerProc::start_in(&d.0, &args);
    let mut c = s.conn();
    assert_eq!(c.cmds(&["DBSIZE"]), ":101\r\n");
}

#[test]
fn shutdown_on_sigterm_nosave_skips_the_final_snapshot() {
    let d = TempDir::new("sigterm-nosave");
    let mut s = ServerProc::start_in(
        &d.0,
        &["--save", "3600 1", "--shutdown-on-sigterm", "nosave"],
    );
    s.conn().cmd(&["SET", "k", "v"]);
    assert_eq!(s.terminate(), Some(0));
    assert!(!d.0.join("dump.rdb").exists());
    // The default saves (save rules are set).
    let mut s = ServerProc::start_in(&d.0, &["--save", "3600 1"]);
    s.conn().cmd(&["SET", "k", "v"]);
    assert_eq!(s.terminate(), Some(0));
    assert!(d.0.join("dump.rdb").exists());
}

/// Read sd_notify datagrams until one equals `want` (bounded).
fn read_until(sock: &UnixDatagram, want: &str, seen: &mut Vec<String>) -> bool {
    let mut buf = [0u8; 1024];
    for _ in 0..32 {
        match sock.recv(&mut buf) {
            Ok(n) => {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                seen.push(msg.clone());
                if msg == want {
                    return true;
                }
            }
            Err(_) => return false,
        }
    }
    false
}

fn systemd_notifications(sock: UnixDatagram, notify_socket: &str, mode: &str) {
    sock.set_read_timeout(Some(LIMIT)).unwrap();
    let mut s = ServerProc::start_env(
        &["--save", "", "--supervised", mode],
        &[("NOTIFY_SOCKET", notify_socket)],
    );
    let mut seen = vec![];
    assert!(read_until(&sock, "READY=1\n", &mut seen), "{seen:?}");
    assert!(
        seen.contains(&"STATUS=Ready to accept connections\n".to_string()),
        "{seen:?}"
    );
    assert_eq!(s.conn().cmds(&["PING"]), "+PONG\r\n");
    signal(s.pid(), "TERM");
    assert!(read_until(&sock, "STOPPING=1\n", &mut seen), "{seen:?}");
    assert_eq!(wait_exit(&mut s.child, LIMIT), Some(0));
}

#[test]
fn supervised_systemd_sends_ready_and_stopping_to_a_path_socket() {
    let d = TempDir::new("notify");
    let path = d.0.join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    systemd_notifications(sock, path.to_str().unwrap(), "systemd");
}

#[test]
fn supervised_auto_uses_an_abstract_notify_socket() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!(
        "redislite-test-notify-{}-{}",
        std::process::id(),
        free_port()
    );
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let sock = UnixDatagram::bind_addr(&addr).unwrap();
    systemd_notifications(sock, &format!("@{name}"), "auto");
}

#[test]
fn unsupervised_sends_nothing() {
    let d = TempDir::new("notify-no");
    let path = d.0.join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    let mut s = ServerProc::start_env(
        &["--save", ""],
        &[("NOTIFY_SOCKET", path.to_str().unwrap())],
    );
    assert_eq!(s.terminate(), Some(0));
    sock.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 64];
    assert!(
        sock.recv(&mut buf).is_err(),
        "supervised no must not notify"
    );
}

/// Every directive of contrib/redislite.conf, read back with CONFIG GET
/// from a server started with the file: the shipped file must load, and
/// say what the server then does.
#[test]
fn contrib_redislite_conf_loads_and_every_value_is_applied() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contrib/redislite.conf"
    ))
    .unwrap();
    let d = TempDir::new("contrib-conf");
    // The service's state directory does not exist here: point dir at
    // the test's own.
    let conf: String = text
        .lines()
        .map(|l| match l.strip_prefix("dir ") {
            Some(_) => format!("dir {}\n", d.0.display()),
            None => format!("{l}\n"),
        })
        .collect();
    let conf_path = d.0.join("redislite.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let s = ServerProc::start_in(&d.0, &[conf_path.to_str().unwrap()]);
    let mut con = s.client();
    let mut expected: Vec<(String, String)> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let name = words.next().unwrap().to_string();
        let value = words
            .map(|w| w.trim_matches('"'))
            .collect::<Vec<_>>()
            .join(" ");
        match expected.iter_mut().find(|(n, _)| *n == name) {
            // Repeated `save` lines accumulate.
            Some((_, v)) => *v = format!("{v} {value}"),
            None => expected.push((name, value)),
        }
    }
    assert!(expected.len() >= 30, "{expected:?}");
    for (name, value) in expected {
        let got: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg(&name)
            .query(&mut con)
            .unwrap();
        assert_eq!(got.len(), 2, "CONFIG GET {name}");
        let want = match (name.as_str(), value.strip_suffix("mb")) {
            ("port", _) => s.port.to_string(),
            ("dir", _) => d.0.display().to_string(),
            (_, Some(mb)) => (mb.parse::<u64>().unwrap() * 1024 * 1024).to_string(),
            _ => value,
        };
        assert_eq!(got[1], want, "{name}");
    }
}

/// A tmpfs mounted for one test, unmounted (lazily, so a straggling
/// process cannot keep it) when dropped.
struct TmpfsMount(std::path::PathBuf);

impl TmpfsMount {
    fn new(at: &std::path::Path, size: &str) -> TmpfsMount {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test mounts a size-limited tmpfs to fill the disk and needs root \
             (CAP_SYS_ADMIN), as in CI; mount failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        TmpfsMount(at.to_path_buf())
    }
}

impl Drop for TmpfsMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn full_disk_refuses_writes_serves_reads_loses_nothing_and_recovers() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let d = TempDir::new("enospc");
    let mount = TmpfsMount::new(&d.0, "2m");
    // Most of the space goes to a filler file deleted later ("the
    // operator frees space").
    let filler = d.0.join("filler");
    std::fs::write(&filler, vec![7u8; 1536 * 1024]).unwrap();
    let args = [
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ];
    let mut s = ServerProc::start_in(&d.0, &args);
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let value = "v".repeat(8192);
    let writer = {
        let (port, stop, acked, value) =
            (s.port, Arc::clone(&stop), Arc::clone(&acked), value.clone());
        std::thread::spawn(move || {
            let mut c = Conn::connect(port);
            c.writer
                .set_read_timeout(Some(Duration::from_secs(120)))
                .unwrap();
            for i in 0..10_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let k = format!("k{i}");
                c.send(&[b"SET", k.as_bytes(), value.as_bytes()]);
                // With appendfsync always, a write the disk refused keeps
                // its reply until the disk accepts it; later ones get
                // MISCONF.
                match c.read_reply().as_slice() {
                    b"+OK\r\n" => acked.lock().unwrap().push(k),
                    _ => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        })
    };
    let mut c = s.conn();
    assert!(
        wait_until(Duration::from_secs(30), || c
            .cmds(&["INFO", "persistence"])
            .contains("aof_last_write_status:err")),
        "the disk never filled"
    );
    assert_eq!(
        c.cmds(&["SET", "x", "1"]),
        "-MISCONF Errors writing to the AOF file: No space left on device\r\n"
    );
    let first = acked
        .lock()
        .unwrap()
        .first()
        .cloned()
        .expect("some writes acknowledged");
    assert_eq!(c.cmds(&["STRLEN", &first]), ":8192\r\n", "reads go on");
    // The writer sends nothing more (its last write may still wait for
    // its reply, held until the disk accepts it).
    stop.store(true, Ordering::Relaxed);
    std::fs::remove_file(&filler).unwrap();
    // Recovery by itself: the held write goes out, new writes succeed.
    let mut last = String::new();
    assert!(
        wait_until(Duration::from_secs(30), || {
            last = c.cmds(&["SET", "after", "1"]);
            last == "+OK\r\n"
        }),
        "writes never resumed after space came back: {last} {}",
        std::fs::read_to_string(d.0.join("server.log")).unwrap_or_default()
    );
    assert!(c
        .cmds(&["INFO", "persistence"])
        .contains("aof_last_write_status:ok"));
    writer.join().unwrap();
    assert_eq!(s.terminate(), Some(0));
    let acked = acked.lock().unwrap().clone();
    let s = ServerProc::start_in(&d.0, &args);
    let mut c = s.conn();
    for k in acked.iter().chain(std::iter::once(&"after".to_string())) {
        assert_ne!(c.cmds(&["EXISTS", k]), ":0\r\n", "acknowledged {k} lost");
    }
    drop(s);
    drop(mount);
}

/// Files in `dir` whose names start with `prefix`.
fn files_starting(dir: &std::path::Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn snapshots_that_do_not_fit_fail_cleanly_and_keep_the_previous_dump() {
    let d = TempDir::new("enospc-rdb");
    let mount = TmpfsMount::new(&d.0, "1m");
    // rdbcompression no: the values below must take their size on disk.
    let s = ServerProc::start_in(
        &d.0,
        &["--save", "", "--appendonly", "no", "--rdbcompression", "no"],
    );
    let mut c = s.conn();
    c.cmd(&["SET", "small", "1"]);
    assert_eq!(c.cmds(&["SAVE"]), "+OK\r\n");
    let dump = d.0.join("dump.rdb");
    let before = std::fs::read(&dump).unwrap();
    // 3 MB of values (written uncompressed) for a 1 MB file system: the
    // streamed write hits ENOSPC part way through.
    let value = "x".repeat(64 * 1024);
    for i in 0..48 {
        c.cmd(&["SET", &format!("big{i}"), &value]);
    }
    let idle_with = |c: &mut Conn, busy: &str, status: &str| {
        wait_until(LIMIT, || {
            let info = c.cmds(&["INFO", "persistence"]);
            info.contains(&format!("{busy}:0")) && info.contains(status)
        })
    };
    assert_eq!(c.cmds(&["BGSAVE"]), "+Background saving started\r\n");
    assert!(
        idle_with(
            &mut c,
            "rdb_bgsave_in_progress",
            "rdb_last_bgsave_status:err"
        ),
        "the BGSAVE on a full disk did not fail"
    );
    assert_eq!(c.cmds(&["SAVE"]), "-ERR\r\n");
    assert_eq!(files_starting(&d.0, "temp-"), Vec::<String>::new());
    assert!(
        std::fs::read(&dump).unwrap() == before,
        "the previous dump changed"
    );
    // The AOF rewrite's child writes its base the same way.
    assert!(c.cmds(&["BGREWRITEAOF"]).starts_with('+'));
    assert!(
        idle_with(
            &mut c,
            "aof_rewrite_in_progress",
            "aof_last_bgrewrite_status:err"
        ),
        "the rewrite on a full disk did not fail"
    );
    assert_eq!(
        files_starting(&d.0.join("appendonlydir"), "temp-"),
        Vec::<String>::new()
    );
    // Space again: the next snapshot succeeds.
    for i in 0..48 {
        c.cmd(&["DEL", &format!("big{i}")]);
    }
    assert_eq!(c.cmds(&["BGSAVE"]), "+Background saving started\r\n");
    assert!(idle_with(
        &mut c,
        "rdb_bgsave_in_progress",
        "rdb_last_bgsave_status:ok"
    ));
    drop(s);
    drop(mount);
}

#[test]
fn sigterm_keeps_serving_when_the_final_save_fails_unless_on_sigterm_force() {
    let d = TempDir::new("sigterm-fail");
    let work = d.0.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let mut s = ServerProc::start_in(&d.0, &["--save", "3600 1", "--dir", work.to_str().unwrap()]);
    let mut c = s.conn();
    c.cmd(&["SET", "k", "v"]);
    std::fs::remove_dir_all(&work).unwrap();
    signal(s.pid(), "TERM");
    let log = d.0.join("server.log");
    assert!(
        wait_until(LIMIT, || std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains(
                "SIGTERM received but errors trying to shut down the server"
            )),
        "no refusal logged"
    );
    assert_eq!(c.cmds(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(s.conn().cmds(&["PING"]), "+PONG\r\n");
    // The refused shutdown is over: a new SIGTERM starts a new one, which
    // FORCE lets through.
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "shutdown-on-sigterm", "force"]),
        "+OK\r\n"
    );
    assert_eq!(s.terminate(), Some(0));
}

/// A daemonized server's pid, killed (SIGKILL) on drop unless it already
/// exited: a failing assertion must not leave it running. It is ours: we
/// started it, and its pidfile told us the pid.
struct Daemon(i32);

impl Daemon {
    /// Gone: no such process, or a zombie nobody reaped yet (in a
    /// container the reaper may be slow or missing).
    fn exited(&self) -> bool {
        match std::fs::read_to_string(format!("/proc/{}/stat", self.0)) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if !self.exited() {
            // SAFETY: a signal to a process we started.
            unsafe { libc::kill(self.0, libc::SIGKILL) };
        }
    }
}

/// `daemonize yes` with `logfile` and `pidfile`, as Debian's stock
/// redis.conf sets them: the command returns at once with status 0 and
/// prints nothing, the server runs on in a session of its own with its
/// pid in the pidfile, logs there in Redis's line format, and removes the
/// pidfile when it is shut down.
#[test]
fn daemonize_logfile_and_pidfile_as_redis() {
    let d = TempDir::new("daemonize");
    let port = free_port();
    let pidfile = d.0.join("redis.pid");
    let logfile = d.0.join("redis.log");
    let out = Command::new(crate::common::SERVER_BIN)
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--daemonize",
            "yes",
        ])
        .args(["--pidfile", pidfile.to_str().unwrap()])
        .args(["--logfile", logfile.to_str().unwrap()])
        .args(["--dir", d.0.to_str().unwrap()])
        .output()
        .expect("start the server");
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    let pid = || -> Option<i32> { std::fs::read_to_string(&pidfile).ok()?.trim().parse().ok() };
    assert!(
        wait_until(Duration::from_secs(10), || pid().is_some()),
        "no pidfile"
    );
    let daemon = Daemon(pid().unwrap());
    // SAFETY: getsid reads a process attribute.
    assert_eq!(
        unsafe { libc::getsid(daemon.0) },
        daemon.0,
        "not a session leader"
    );
    let log = || std::fs::read_to_string(&logfile).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(10), || log()
            .contains("Ready to accept connections")),
        "log: {}",
        log()
    );
    // `<pid>:M 27 Nov 2026 21:58:00.123 * Ready to accept connections tcp`
    let line = log()
        .lines()
        .find(|l| l.contains("Ready to accept"))
        .unwrap_or_default()
        .to_string();
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words[0], format!("{}:M", daemon.0), "{line}");
    assert_eq!(words[5], "*", "{line}");
    let mut c = Conn::connect(port);
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
    c.send(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(
        wait_until(Duration::from_secs(10), || daemon.exited()),
        "still running after SHUTDOWN"
    );
    assert!(!pidfile.exists(), "pidfile left behind");
    assert!(log().contains("ready to exit"), "{}", log());
}

/// A log file that cannot be opened stops the start with Redis's message.
#[test]
fn unopenable_logfile_exits_1() {
    let out = Command::new(crate::common::SERVER_BIN)
        .args(["--port", &free_port().to_string()])
        .args(["--logfile", "/nonexistent-dir-for-redislite/x.log"])
        .output()
        .expect("start the server");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("Can't open the log file: "), "{err}");
}
