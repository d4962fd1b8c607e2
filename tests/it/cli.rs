//! redis-cli, unchanged, against RedisLite.

use crate::common::{which, ServerProc};
use std::process::Command;

fn cli(port: u16, args: &[&str]) -> String {
    let bin = which("redis-cli").expect("redis-cli not found: apt-get install redis-tools");
    let out = Command::new(bin)
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("run redis-cli");
    assert!(out.status.success(), "redis-cli {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn redis_cli_basic_session() {
    let s = ServerProc::start(&[]);
    assert_eq!(cli(s.port, &["PING"]), "PONG\n");
    assert_eq!(cli(s.port, &["SET", "greeting", "hello world"]), "OK\n");
    assert_eq!(cli(s.port, &["GET", "greeting"]), "hello world\n");
    assert_eq!(cli(s.port, &["INCR", "n"]), "1\n");
    assert_eq!(cli(s.port, &["--no-raw", "GET", "nosuch"]), "(nil)\n");
    assert!(cli(s.port, &["INFO", "server"]).contains("redis_version:"));
    assert_eq!(cli(s.port, &["DBSIZE"]), "2\n");
}

#[test]
fn redis_cli_pipe_mode_mass_insert() {
    let s = ServerProc::start(&[]);
    let mut input = String::new();
    for i in 0..10_000 {
        input.push_str(&format!("SET key:{i} value:{i}\r\n"));
    }
    let bin = which("redis-cli").unwrap();
    let mut child = Command::new(bin)
        .args(["-p", &s.port.to_string(), "--pipe"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("errors: 0, replies: 10000"), "{text}");
    assert_eq!(cli(s.port, &["DBSIZE"]), "10000\n");
}

#[test]
fn redis_cli_scan_iterates_everything() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    for i in 0..500 {
        c.cmd(&["SET", &format!("k{i}"), "v"]);
    }
    let out = cli(s.port, &["--scan", "--pattern", "k*"]);
    let mut keys: Vec<&str> = out.lines().collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 500);
}

/// `redis-cli --rdb` and `--functions-rdb` (REPLCONF rdb-filter-only
/// functions, then SYNC): the whole dataset, or only the function
/// libraries. Each file loads into redis-server 7.0 with what it should
/// hold.
#[test]
fn redis_cli_rdb_and_functions_rdb() {
    let s = ServerProc::start(&["--repl-diskless-sync-delay", "0"]);
    let lib = "#!lua name=clilib\nredis.register_function('f', function() return 1 end)";
    assert_eq!(cli(s.port, &["FUNCTION", "LOAD", lib]), "clilib\n");
    assert_eq!(cli(s.port, &["SET", "k", "v"]), "OK\n");
    assert_eq!(cli(s.port, &["HSET", "h", "f", "v"]), "1\n");
    let dir = crate::common::TempDir::new("clirdb");
    for (flag, file, dbsize) in [
        ("--rdb", "all.rdb", "2"),
        ("--functions-rdb", "functions.rdb", "0"),
    ] {
        let path = dir.0.join(file);
        cli(s.port, &[flag, path.to_str().unwrap()]);
        let r =
            ServerProc::start_reference(&["--dir", dir.0.to_str().unwrap(), "--dbfilename", file]);
        assert_eq!(cli(r.port, &["DBSIZE"]), format!("{dbsize}\n"), "{flag}");
        let libs = cli(r.port, &["FUNCTION", "LIST"]);
        assert!(libs.contains("clilib"), "{flag}: {libs}");
    }
}

/// REPLCONF rdb-filter-only's answers, as redis-server 7.0's.
#[test]
fn replconf_rdb_filter_only_matches_redis() {
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    for value in [
        "functions",
        "",
        "foo",
        "functions foo",
        "\"unbalanced",
        "FUNCTIONS",
    ] {
        let args = ["REPLCONF", "rdb-filter-only", value];
        assert_eq!(
            ours.conn().cmds(&args),
            theirs.conn().cmds(&args),
            "{value:?}"
        );
    }
}
