//! AOF rewrite and the multi-part layout: BGREWRITEAOF under a write load
//! (nothing acknowledged lost, the log shrinks), a crash at each step of
//! the manifest switch (REDISLITE_TEST_CRASH_AT, the test-only fault
//! hook), auto-aof-rewrite, CONFIG SET appendonly yes, the upgrade from
//! the single-file layout, and --check-aof on a manifest.

use crate::common::{info_u64, wait_exit, wait_until, Conn, ServerProc, TempDir, SERVER_BIN};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const DIR: &str = "appendonlydir";
const MANIFEST: &str = "appendonlydir/appendonly.aof.manifest";

fn aof_args() -> Vec<&'static str> {
    crate::common::AOF_ALWAYS.to_vec()
}

fn kill9(s: &mut ServerProc) {
    let _ = s.child.kill();
    let _ = s.child.wait();
}

fn manifest(d: &Path) -> String {
    std::fs::read_to_string(d.join(MANIFEST)).unwrap_or_default()
}

/// Names of the files in the append-only directory, sorted.
fn dir_files(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d.join(DIR))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Files the manifest names, in its order.
fn named_files(d: &Path) -> Vec<String> {
    manifest(d)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect()
}

/// The directory holds exactly the manifest and the files it names (old
/// files are unlinked by a background thread: poll).
fn assert_no_leftovers(d: &Path) {
    let mut want = named_files(d);
    want.push("appendonly.aof.manifest".into());
    want.sort();
    wait_until(Duration::from_secs(5), || dir_files(d) == want);
    assert_eq!(dir_files(d), want, "manifest:\n{}", manifest(d));
}

fn rewrites(c: &mut Conn) -> u64 {
    info_u64(c, "persistence", "aof_rewrites")
}

/// Ask for a rewrite and wait until it has completed.
fn rewrite_and_wait(c: &mut Conn) {
    let before = rewrites(c);
    let r = c.cmds(&["BGREWRITEAOF"]);
    assert!(
        r.starts_with("+Background append only file rewriting"),
        "{r}"
    );
    assert!(
        wait_until(Duration::from_secs(20), || rewrites(c) > before
            && info_u64(c, "persistence", "aof_rewrite_in_progress") == 0),
        "rewrite did not complete"
    );
}

/// `n` INCRs of `key`, pipelined.
fn incr_many(c: &mut Conn, key: &str, n: usize) {
    let mut buf = Vec::new();
    for _ in 0..n {
        buf.extend_from_slice(&crate::common::encode(&[b"INCR", key.as_bytes()]));
    }
    c.send_raw(&buf);
    for _ in 0..n {
        c.read_reply();
    }
}

#[test]
fn bgrewriteaof_under_write_load_keeps_every_acknowledged_write_and_shrinks_the_log() {
    let d = TempDir::new("rw-load");
    let mut s = ServerProc::start_in(&d.0, &aof_args());
    let mut c = s.conn();
    incr_many(&mut c, "hot", 10_000);
    let size_before = info_u64(&mut c, "persistence", "aof_current_size");

    // Writers: each INCRs its own counter and SETs unique keys, and keeps
    // the log of what was acknowledged.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut threads = vec![];
    for t in 0..3 {
        let (port, stop, acked) = (s.port, Arc::clone(&stop), Arc::clone(&acked));
        threads.push(std::thread::spawn(move || {
            let mut c = Conn::connect(port);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) && n < 1_000_000 {
                n += 1;
                let (k, v) = (format!("k{t}:{n}"), format!("v{n}"));
                assert_eq!(c.cmds(&["SET", &k, &v]), "+OK\r\n");
                acked.lock().unwrap().push((k, v));
                let ctr = format!("ctr{t}");
                assert_eq!(c.cmds(&["INCR", &ctr]), format!(":{n}\r\n"));
            }
            n
        }));
    }
    // Three rewrites while the writers run.
    for _ in 0..3 {
        assert!(wait_until(Duration::from_secs(10), || acked
            .lock()
            .unwrap()
            .len()
            > 500));
        rewrite_and_wait(&mut c);
    }
    stop.store(true, Ordering::Relaxed);
    let counts: Vec<u64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let acked = acked.lock().unwrap().clone();

    let check = |c: &mut Conn| {
        assert_eq!(c.cmds(&["GET", "hot"]), "$5\r\n10000\r\n");
        for (t, n) in counts.iter().enumerate() {
            assert_eq!(
                c.cmds(&["GET", &format!("ctr{t}")]),
                format!("${}\r\n{n}\r\n", n.to_string().len())
            );
        }
        let mut missing = 0;
        for chunk in acked.chunks(500) {
            let mut args: Vec<&[u8]> = vec![b"MGET"];
            args.extend(chunk.iter().map(|(k, _)| k.as_bytes()));
            c.send(&args);
            let reply = String::from_utf8_lossy(&c.read_reply()).into_owned();
            missing += chunk
                .iter()
                .filter(|(_, v)| !reply.contains(&format!("\r\n{v}\r\n")))
                .count();
        }
        assert_eq!(
            missing,
            0,
            "{missing} of {} acknowledged SETs missing",
            acked.len()
        );
    };
    check(&mut c);

    // One base and one incremental file remain; the old ones are gone.
    let files = named_files(&d.0);
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files[0].ends_with(".base.rdb") && files[1].ends_with(".incr.aof"));
    assert_no_leftovers(&d.0);
    // 10k INCRs of one key became one key in the base.
    let base_len = std::fs::metadata(d.0.join(DIR).join(&files[0]))
        .unwrap()
        .len();
    assert!(
        base_len * 4 < size_before,
        "base {base_len} bytes vs log of {size_before} bytes before the rewrite"
    );

    kill9(&mut s);
    let s2 = ServerProc::start_in(&d.0, &aof_args());
    check(&mut s2.conn());
}

/// Send a command and read a one-line reply; None once the server is gone.
fn try_cmd(c: &mut Conn, args: &[&[u8]]) -> Option<String> {
    use std::io::{BufRead, Write};
    c.writer.write_all(&crate::common::encode(args)).ok()?;
    let mut line = String::new();
    match c.reader.read_line(&mut line) {
        Ok(n) if n > 0 => Some(line),
        _ => None,
    }
}

/// Start with the fault hook armed at `step`, write, BGREWRITEAOF and
/// more writes until the server aborts; restart: every acknowledged write
/// is there, the server starts cleanly and rewrites again.
fn crash_during_rewrite(step: &str) -> TempDir {
    let d = TempDir::new(&format!("rw-crash-{step}"));
    let mut s = ServerProc::start_in_env(&d.0, &aof_args(), &[("REDISLITE_TEST_CRASH_AT", step)]);
    let mut c = s.conn();
    incr_many(&mut c, "hot", 1000);
    c.cmd(&["HSET", "h", "a", "1", "b", "2"]);
    c.cmd(&["SET", "ttl", "v", "EX", "1000"]);
    // BGREWRITEAOF, then writes until the server dies: the writes after
    // the rewrite started go to the new incremental file.
    let mut acked = vec![];
    if try_cmd(&mut c, &[b"BGREWRITEAOF"]).is_some() {
        for i in 0..100_000 {
            let (k, v) = (format!("after:{i}"), format!("v{i}"));
            if try_cmd(&mut c, &[b"SET", k.as_bytes(), v.as_bytes()]).as_deref() != Some("+OK\r\n")
            {
                break;
            }
            acked.push((k, v));
        }
    }
    eprintln!(
        "{step}: {} writes acknowledged after BGREWRITEAOF",
        acked.len()
    );
    // Killed by SIGABRT: no exit code.
    assert_eq!(wait_exit(&mut s.child, Duration::from_secs(20)), None);
    let log = std::fs::read_to_string(d.0.join("server.log")).unwrap_or_default();
    assert!(
        log.contains(&format!("REDISLITE_TEST_CRASH_AT={step}")),
        "{log}"
    );

    let mut s2 = ServerProc::start_in(&d.0, &aof_args());
    let mut c = s2.conn();
    let check = |c: &mut Conn| {
        assert_eq!(c.cmds(&["GET", "hot"]), "$4\r\n1000\r\n");
        assert_eq!(c.cmds(&["HGET", "h", "b"]), "$1\r\n2\r\n");
        let ttl = c.cmds(&["TTL", "ttl"]);
        let ttl: i64 = ttl[1..ttl.len() - 2].parse().unwrap();
        assert!((900..=1000).contains(&ttl), "{ttl}");
        for (k, v) in &acked {
            assert_eq!(
                c.cmds(&["GET", k]),
                format!("${}\r\n{v}\r\n", v.len()),
                "{k}"
            );
        }
    };
    check(&mut c);
    assert_no_leftovers(&d.0);
    // And it goes on: a rewrite completes, a restart still has it all.
    incr_many(&mut c, "hot2", 10);
    rewrite_and_wait(&mut c);
    assert_no_leftovers(&d.0);
    kill9(&mut s2);
    let s3 = ServerProc::start_in(&d.0, &aof_args());
    let mut c = s3.conn();
    check(&mut c);
    assert_eq!(c.cmds(&["GET", "hot2"]), "$2\r\n10\r\n");
    d
}

#[test]
fn crash_after_the_new_incr_file_is_opened_loses_nothing() {
    crash_during_rewrite("rewrite-incr-opened");
}

#[test]
fn crash_after_the_child_wrote_the_temp_base_loses_nothing() {
    crash_during_rewrite("rewrite-base-written");
}

#[test]
fn crash_before_the_manifest_rename_loses_nothing() {
    crash_during_rewrite("rewrite-manifest-temp");
}

#[test]
fn crash_after_the_manifest_rename_loses_nothing() {
    crash_during_rewrite("rewrite-manifest-renamed");
}

/// A crash after the switch to the new incremental file leaves two of
/// them; damage in the first (not the last) refuses startup, naming the
/// file and the offset; it is never silently truncated.
#[test]
fn damage_in_an_incr_file_that_is_not_the_last_refuses_to_start() {
    let d = TempDir::new("rw-midfile");
    let mut s = ServerProc::start_in_env(
        &d.0,
        &aof_args(),
        &[("REDISLITE_TEST_CRASH_AT", "rewrite-base-written")],
    );
    let mut c = s.conn();
    incr_many(&mut c, "hot", 100);
    c.send(&[b"BGREWRITEAOF"]);
    assert_eq!(wait_exit(&mut s.child, Duration::from_secs(20)), None);
    let files = named_files(&d.0);
    assert_eq!(files.len(), 2, "two incremental files: {files:?}");
    let first = d.0.join(DIR).join(&files[0]);
    let mut data = std::fs::read(&first).unwrap();
    data[40] ^= 0x55;
    std::fs::write(&first, &data).unwrap();
    let out = Command::new(SERVER_BIN)
        .args(["--port", "0", "--dir"])
        .arg(&d.0)
        .args(aof_args())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&files[0]) && err.contains("at offset"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&first).unwrap(),
        data,
        "must not be truncated"
    );
    // --check-aof on the manifest reports it.
    let chk = Command::new(SERVER_BIN)
        .args(["--check-aof"])
        .arg(d.0.join(MANIFEST))
        .output()
        .unwrap();
    assert_eq!(chk.status.code(), Some(1));
}

#[test]
fn auto_aof_rewrite_triggers_on_growth() {
    let d = TempDir::new("rw-auto");
    let mut args = aof_args();
    args.extend([
        "--auto-aof-rewrite-min-size",
        "100kb",
        "--auto-aof-rewrite-percentage",
        "100",
    ]);
    let s = ServerProc::start_in(&d.0, &args);
    let mut c = s.conn();
    // Below the minimum size: no rewrite.
    incr_many(&mut c, "hot", 1000);
    assert_eq!(rewrites(&mut c), 0);
    // Past it: cron starts one by itself.
    let mut sent = 1000;
    assert!(
        wait_until(Duration::from_secs(30), || {
            if sent < 200_000 {
                incr_many(&mut c, "hot", 1000);
                sent += 1000;
            }
            rewrites(&mut c) >= 1
        }),
        "no automatic rewrite"
    );
    assert!(wait_until(Duration::from_secs(10), || info_u64(
        &mut c,
        "persistence",
        "aof_rewrite_in_progress"
    ) == 0));
    // The new base holds one key, not the thousands of INCRs.
    let base = named_files(&d.0)[0].clone();
    assert!(base.ends_with(".base.rdb"), "{base}");
    assert!(std::fs::metadata(d.0.join(DIR).join(base)).unwrap().len() < 1024);
    assert_eq!(
        c.cmds(&["GET", "hot"]),
        format!("${}\r\n{sent}\r\n", sent.to_string().len())
    );
}

#[test]
fn config_set_appendonly_yes_writes_a_base_before_answering() {
    let d = TempDir::new("rw-enable");
    let mut s = ServerProc::start_in(&d.0, &["--save", ""]);
    let mut c = s.conn();
    for i in 0..2000 {
        c.cmd(&["SET", &format!("k{i}"), &format!("v{i}")]);
    }
    c.cmd(&["HSET", "h", "f", "v"]);
    assert_eq!(c.cmds(&["CONFIG", "SET", "appendonly", "yes"]), "+OK\r\n");
    let files = named_files(&d.0);
    assert!(
        files.len() == 2 && files[0].ends_with(".base.rdb"),
        "{files:?}"
    );
    c.cmd(&["SET", "after", "1"]);
    // Off and on again: a new base, the old files removed.
    assert_eq!(c.cmds(&["CONFIG", "SET", "appendonly", "no"]), "+OK\r\n");
    c.cmd(&["SET", "while-off", "1"]);
    assert_eq!(c.cmds(&["CONFIG", "SET", "appendonly", "yes"]), "+OK\r\n");
    assert_ne!(named_files(&d.0), files);
    assert_no_leftovers(&d.0);
    kill9(&mut s);
    let s = ServerProc::start_in(&d.0, &aof_args());
    let mut c = s.conn();
    assert_eq!(c.cmds(&["DBSIZE"]), ":2003\r\n");
    assert_eq!(c.cmds(&["GET", "k1999"]), "$5\r\nv1999\r\n");
    assert_eq!(c.cmds(&["GET", "while-off"]), "$1\r\n1\r\n");
}

/// Logs written before manifests existed: Redis 6's `<dir>/appendonly.aof`
/// (our framed format), and our own `appendonlydir/appendonly.aof.1.incr.aof`
/// without a manifest. Both are adopted; a torn tail of the old single
/// file is repaired on the way.
#[test]
fn upgrade_from_the_single_file_layout() {
    let d = TempDir::new("rw-upgrade");
    let mut s = ServerProc::start_in(&d.0, &aof_args());
    let mut c = s.conn();
    for i in 0..50 {
        c.cmd(&["SET", &format!("k{i}"), &format!("v{i}")]);
    }
    assert_eq!(s.terminate(), Some(0));
    let log = std::fs::read(d.0.join(DIR).join("appendonly.aof.1.incr.aof")).unwrap();
    assert!(log.len() > 100);

    // Our pre-manifest layout: the incr file alone.
    std::fs::remove_file(d.0.join(MANIFEST)).unwrap();
    let mut s = ServerProc::start_in(&d.0, &aof_args());
    assert_eq!(s.conn().cmds(&["DBSIZE"]), ":50\r\n");
    assert!(manifest(&d.0).contains("appendonly.aof.1.incr.aof"));
    assert_eq!(s.terminate(), Some(0));

    // The single file in `dir`, with a torn last record.
    std::fs::remove_dir_all(d.0.join(DIR)).unwrap();
    std::fs::write(d.0.join("appendonly.aof"), &log[..log.len() - 3]).unwrap();
    let s = ServerProc::start_in(&d.0, &aof_args());
    let mut c = s.conn();
    assert_eq!(c.cmds(&["DBSIZE"]), ":49\r\n");
    assert!(
        !d.0.join("appendonly.aof").exists(),
        "moved into the directory"
    );
    assert!(
        manifest(&d.0).contains("file appendonly.aof seq 1 type b"),
        "{}",
        manifest(&d.0)
    );
    c.cmd(&["SET", "new", "1"]);
    rewrite_and_wait(&mut c);
    assert_no_leftovers(&d.0);
    drop(s);
    let s = ServerProc::start_in(&d.0, &aof_args());
    assert_eq!(s.conn().cmds(&["DBSIZE"]), ":50\r\n");
}

#[test]
fn bgrewriteaof_replies_as_redis() {
    let d = TempDir::new("rw-replies");
    let s = ServerProc::start_in(&d.0, &aof_args());
    let mut c = s.conn();
    c.cmd(&["SET", "a", "1"]);
    // While a BGSAVE child runs (until cron reaps it), the rewrite is
    // scheduled; cron starts it afterwards.
    assert_eq!(c.cmds(&["BGSAVE"]), "+Background saving started\r\n");
    assert_eq!(
        c.cmds(&["BGREWRITEAOF"]),
        "+Background append only file rewriting scheduled\r\n"
    );
    assert!(wait_until(Duration::from_secs(10), || rewrites(&mut c) >= 1));
    let info = c.cmds(&["INFO", "persistence"]);
    for f in [
        "aof_rewrite_scheduled:0",
        "aof_last_bgrewrite_status:ok",
        "aof_current_rewrite_time_sec:",
        "aof_last_rewrite_time_sec:",
    ] {
        assert!(info.contains(f), "{f} in {info}");
    }
    // Inside MULTI/EXEC it is scheduled too (as Redis does in EXEC).
    c.cmd(&["MULTI"]);
    c.cmd(&["INCR", "a"]);
    c.cmd(&["BGREWRITEAOF"]);
    let r = c.cmds(&["EXEC"]);
    assert!(
        r.contains("+Background append only file rewriting scheduled"),
        "{r}"
    );
    assert!(wait_until(Duration::from_secs(10), || rewrites(&mut c) >= 2));
}

/// --check-aof accepts a manifest and checks every file it names; only
/// the last incremental file can be repaired by --fix.
#[test]
fn check_aof_accepts_a_manifest() {
    let d = TempDir::new("rw-check");
    let mut s = ServerProc::start_in(&d.0, &aof_args());
    let mut c = s.conn();
    incr_many(&mut c, "hot", 100);
    rewrite_and_wait(&mut c);
    incr_many(&mut c, "hot", 5);
    assert_eq!(s.terminate(), Some(0));
    let check = |fix: bool| {
        let mut cmd = Command::new(SERVER_BIN);
        cmd.arg("--check-aof").arg(d.0.join(MANIFEST));
        if fix {
            cmd.arg("--fix");
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = check(false);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("base.rdb is valid"), "{out}");
    let files = named_files(&d.0);
    let incr: PathBuf = d.0.join(DIR).join(&files[1]);
    let mut data = std::fs::read(&incr).unwrap();
    let n = data.len();
    data.truncate(n - 2);
    std::fs::write(&incr, &data).unwrap();
    assert_eq!(check(false).0, Some(1));
    assert_eq!(check(true).0, Some(0));
    assert_eq!(check(false).0, Some(0));
    // A damaged base cannot be fixed by cutting.
    let base = d.0.join(DIR).join(&files[0]);
    let mut b = std::fs::read(&base).unwrap();
    b[12] ^= 0xff;
    std::fs::write(&base, &b).unwrap();
    assert_eq!(check(true).0, Some(1));
    // The old single-file form still works.
    let (code, out) = {
        let o = Command::new(SERVER_BIN)
            .arg("--check-aof")
            .arg(&incr)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    assert_eq!(code, Some(0), "{out}");
}

/// `everysec` (the fsync thread moves to the new file) and `no`: writes
/// before, during and after a rewrite survive a graceful restart.
#[test]
fn fsync_policies_keep_working_across_the_file_switch() {
    for policy in ["everysec", "no"] {
        let d = TempDir::new(&format!("rw-policy-{policy}"));
        let args = ["--appendonly", "yes", "--appendfsync", policy, "--save", ""];
        let mut s = ServerProc::start_in(&d.0, &args);
        let mut c = s.conn();
        incr_many(&mut c, "hot", 500);
        rewrite_and_wait(&mut c);
        incr_many(&mut c, "hot", 500);
        rewrite_and_wait(&mut c);
        incr_many(&mut c, "hot", 500);
        assert_eq!(s.terminate(), Some(0));
        let s = ServerProc::start_in(&d.0, &args);
        assert_eq!(s.conn().cmds(&["GET", "hot"]), "$4\r\n1500\r\n", "{policy}");
    }
}

/// The new incremental file cannot be written (a symlink to /dev/full
/// put where the rewrite will create it): after the switch, writes are
/// refused with MISCONF and reads go on.
#[test]
fn write_errors_on_the_new_incr_file_refuse_writes() {
    let d = TempDir::new("rw-full");
    // everysec: the first failing write is acknowledged (as in Redis),
    // the error state follows; under `always` its reply would be held.
    let args = [
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
    ];
    let s = ServerProc::start_in(&d.0, &args);
    let mut c = s.conn();
    c.cmd(&["SET", "a", "1"]);
    std::os::unix::fs::symlink("/dev/full", d.0.join(DIR).join("appendonly.aof.2.incr.aof"))
        .unwrap();
    rewrite_and_wait(&mut c);
    assert!(manifest(&d.0).contains("appendonly.aof.2.incr.aof"));
    assert!(c
        .cmds(&["INFO", "persistence"])
        .contains("aof_last_write_status:ok"));
    assert_eq!(c.cmds(&["SET", "a2", "1"]), "+OK\r\n");
    assert!(wait_until(Duration::from_secs(5), || c
        .cmds(&["INFO", "persistence"])
        .contains("aof_last_write_status:err")));
    assert_eq!(
        c.cmds(&["SET", "b", "1"]),
        "-MISCONF Errors writing to the AOF file: No space left on device\r\n"
    );
    assert_eq!(c.cmds(&["GET", "a"]), "$1\r\n1\r\n");
}

/// With `appendonly no`, BGREWRITEAOF still writes a base and a manifest
/// naming only it (as Redis 7); a later start with `appendonly yes`
/// loads it and adds an incremental file.
#[test]
fn bgrewriteaof_with_the_aof_off_writes_a_base_only_manifest() {
    let d = TempDir::new("rw-off");
    let s = ServerProc::start_in(&d.0, &["--save", ""]);
    let mut c = s.conn();
    incr_many(&mut c, "hot", 300);
    rewrite_and_wait(&mut c);
    assert_eq!(
        manifest(&d.0),
        "file appendonly.aof.1.base.rdb seq 1 type b\n"
    );
    incr_many(&mut c, "hot", 1);
    rewrite_and_wait(&mut c);
    assert_eq!(
        manifest(&d.0),
        "file appendonly.aof.2.base.rdb seq 2 type b\n"
    );
    assert_no_leftovers(&d.0);
    drop(s);
    let s = ServerProc::start_in(&d.0, &aof_args());
    assert_eq!(s.conn().cmds(&["GET", "hot"]), "$3\r\n301\r\n");
    assert!(manifest(&d.0).contains("appendonly.aof.1.incr.aof seq 1 type i"));
}

/// A replica with `appendonly yes` that full-syncs replaces its dataset
/// outside the log: the log restarts from a base of the loaded dataset,
/// so after kill -9 it comes back with the master's data, not its old one.
#[test]
fn replica_full_sync_restarts_the_aof_from_the_loaded_dataset() {
    let m = ServerProc::start(&["--save", ""]);
    let mut mc = m.conn();
    mc.cmd(&["SET", "from-master", "1"]);
    let d = TempDir::new("rw-replica");
    let mut r = ServerProc::start_in(&d.0, &aof_args());
    let mut rc = r.conn();
    rc.cmd(&["SET", "old", "1"]);
    let port = m.port.to_string();
    assert_eq!(rc.cmds(&["REPLICAOF", "127.0.0.1", &port]), "+OK\r\n");
    assert!(wait_until(Duration::from_secs(10), || rc
        .cmds(&["GET", "from-master"])
        == "$1\r\n1\r\n"));
    mc.cmd(&["SET", "streamed", "2"]);
    assert!(wait_until(Duration::from_secs(10), || rc
        .cmds(&["GET", "streamed"])
        == "$1\r\n2\r\n"));
    kill9(&mut r);
    let r = ServerProc::start_in(&d.0, &aof_args());
    let mut rc = r.conn();
    assert_eq!(rc.cmds(&["GET", "from-master"]), "$1\r\n1\r\n");
    assert_eq!(rc.cmds(&["GET", "streamed"]), "$1\r\n2\r\n");
    assert_eq!(rc.cmds(&["EXISTS", "old"]), ":0\r\n");
}

/// Every incremental file is replayed from database 0, so the first write
/// logged in a new one must select its database again (Redis resets its
/// `aof_selected_db` when a rewrite starts).
#[test]
fn writes_after_a_rewrite_stay_in_their_database() {
    let d = TempDir::new("aofrw-select");
    let mut s = ServerProc::start_in(&d.0, &aof_args());
    let mut c = s.conn();
    assert_eq!(c.cmds(&["SELECT", "5"]), "+OK\r\n");
    assert_eq!(c.cmds(&["SET", "a", "1"]), "+OK\r\n");
    rewrite_and_wait(&mut c);
    assert_eq!(c.cmds(&["SET", "b", "2"]), "+OK\r\n");
    drop(c);
    kill9(&mut s);
    let s = ServerProc::start_in(&d.0, &aof_args());
    let mut c = s.conn();
    assert_eq!(c.cmds(&["SELECT", "5"]), "+OK\r\n");
    assert_eq!(c.cmds(&["MGET", "a", "b"]), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    assert_eq!(c.cmds(&["SELECT", "0"]), "+OK\r\n");
    assert_eq!(c.cmds(&["DBSIZE"]), ":0\r\n");
}
