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
