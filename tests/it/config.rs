//! Configuration sources and precedence (defaults < file < env < flags),
//! errors that name the option and line, CONFIG GET/SET/REWRITE.

use crate::common::{ServerProc, SERVER_BIN};
use std::process::Command;

fn temp_conf(name: &str, body: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("redislite-conf-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("redis.conf");
    std::fs::write(&p, body).unwrap();
    p
}

fn config_get(s: &ServerProc, name: &str) -> String {
    let mut c = s.conn();
    let r = c.cmds(&["CONFIG", "GET", name]);
    r.split("\r\n").nth(4).unwrap_or("").to_string()
}

#[test]
fn precedence_file_then_env_then_flags() {
    let conf = temp_conf("prec", "# test\nmaxclients 3\ntimeout 7\nhz 20\n");
    let path = conf.to_str().unwrap();
    let s = ServerProc::start_env(&[path], &[]);
    assert_eq!(config_get(&s, "maxclients"), "3");
    assert_eq!(config_get(&s, "timeout"), "7");
    drop(s);
    let s = ServerProc::start_env(&[path], &[("REDISLITE_MAX_CLIENTS", "5")]);
    assert_eq!(config_get(&s, "maxclients"), "5");
    assert_eq!(config_get(&s, "hz"), "20");
    drop(s);
    let s = ServerProc::start_env(
        &[path, "--maxclients", "9"],
        &[("REDISLITE_MAX_CLIENTS", "5")],
    );
    assert_eq!(config_get(&s, "maxclients"), "9");
}

#[test]
fn env_variables_documented_in_readme() {
    let s = ServerProc::start_env(
        &[],
        &[
            ("REDISLITE_MAX_MEMORY_MB", "10"),
            ("REDISLITE_AOF_FSYNC_POLICY", "always"),
            ("REDISLITE_MAX_CLIENTS", "42"),
        ],
    );
    assert_eq!(config_get(&s, "maxmemory"), "10485760");
    assert_eq!(config_get(&s, "appendfsync"), "always");
    assert_eq!(config_get(&s, "maxclients"), "42");
}

#[test]
fn bad_option_in_file_exits_1_naming_line() {
    let conf = temp_conf("bad", "port 7000\nnosuchoption yes\n");
    let out = Command::new(SERVER_BIN).arg(&conf).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("nosuchoption"), "{err}");
}

#[test]
fn malformed_value_and_flag_exit_1() {
    let out = Command::new(SERVER_BIN)
        .args(["--port", "notaport"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("port"));
    let out = Command::new(SERVER_BIN)
        .env("REDISLITE_PORT", "99999999")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("REDISLITE_PORT"));
}

#[test]
fn config_set_takes_effect_and_rewrite_keeps_comments() {
    let conf = temp_conf("rewrite", "# my comment\nmaxclients 3\n\n# another\n");
    let s = ServerProc::start(&[conf.to_str().unwrap()]);
    let mut c = s.conn();
    assert_eq!(c.cmds(&["CONFIG", "SET", "maxclients", "11"]), "+OK\r\n");
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "slowlog-max-len", "77"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmds(&["CONFIG", "REWRITE"]), "+OK\r\n");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains("# my comment"), "{text}");
    assert!(text.contains("# another"), "{text}");
    assert!(text.contains("maxclients 11"), "{text}");
    assert!(!text.contains("maxclients 3"), "{text}");
    assert!(text.contains("slowlog-max-len 77"), "{text}");
}

#[test]
fn config_rewrite_without_file_is_an_error() {
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    assert_eq!(
        c.cmds(&["CONFIG", "REWRITE"]),
        "-ERR The server is running without a config file\r\n"
    );
}

#[test]
fn config_get_glob() {
    let s = ServerProc::start(&[]);
    let mut r = s.client();
    let v: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory*")
        .query(&mut r)
        .unwrap();
    let names: Vec<&String> = v.iter().step_by(2).collect();
    for want in ["maxmemory", "maxmemory-policy", "maxmemory-samples"] {
        assert!(
            names.iter().any(|n| n.as_str() == want),
            "{want} not in {names:?}"
        );
    }
}

#[test]
fn readme_documents_every_option() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let s = ServerProc::start(&[]);
    let mut r = s.client();
    let all: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("*")
        .query(&mut r)
        .unwrap();
    let missing: Vec<&String> = all
        .iter()
        .step_by(2)
        .filter(|name| !readme.contains(name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "options missing from README: {missing:?}"
    );
}

/// Debian's own /etc/redis/redis.conf (installed with redis-server) starts
/// RedisLite unchanged: every directive in it is known. Only what would
/// make the test server daemonize or write outside its directory is
/// overridden on the command line.
#[test]
fn debian_redis_conf_loads_unchanged() {
    let original = std::fs::read_to_string("/etc/redis/redis.conf").expect(
        "/etc/redis/redis.conf: install Debian's redis-server (apt-get install redis-server)",
    );
    let path = temp_conf("debian", &original);
    let dir = path.parent().unwrap().to_str().unwrap().to_string();
    let pid = format!("{dir}/redis.pid");
    let s = ServerProc::start(&[
        path.to_str().unwrap(),
        "--daemonize",
        "no",
        "--supervised",
        "no",
        "--pidfile",
        &pid,
        "--dir",
        &dir,
        "--logfile",
        "",
    ]);
    let mut c = s.conn();
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
    // A directive from the file that RedisLite only accepts is shown.
    assert_eq!(config_get(&s, "always-show-logo"), "no");
    assert_eq!(config_get(&s, "oom-score-adj-values"), "0 200 800");
}

/// CONFIG GET * of a fresh server names every option redis-server 7.0 has
/// (plus RedisLite's metrics-port), with the same default values, except
/// the address, directory and port it was started with.
#[test]
fn config_get_star_matches_redis_defaults() {
    let ours = ServerProc::start(&[]);
    let theirs = ServerProc::start_reference(&[]);
    let all = |s: &ServerProc| -> std::collections::BTreeMap<String, String> {
        let mut r = s.client();
        let v: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("*")
            .query(&mut r)
            .unwrap();
        v.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect()
    };
    let (mut a, b) = (all(&ours), all(&theirs));
    assert!(a.remove("metrics-port").is_some());
    let names =
        |m: &std::collections::BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
    let differ: Vec<&String> = a
        .keys()
        .filter(|k| a[*k] != b[*k])
        .filter(|k| !["bind", "dir", "port", "save", "appendonly"].contains(&k.as_str()))
        .collect();
    assert!(differ.is_empty(), "defaults differ: {differ:?}");
}

/// The accepted-only options check their values as Redis does, and the
/// two that would turn on a missing feature are refused.
#[test]
fn inert_options_are_checked_like_redis() {
    crate::differential::check(
        r#"
        CONFIG SET activedefrag maybe
        CONFIG SET activedefrag yes
        CONFIG GET activedefrag
        CONFIG SET active-defrag-cycle-max 100
        CONFIG SET active-defrag-ignore-bytes 2mb
        CONFIG GET active-defrag-ignore-bytes
        CONFIG SET repl-diskless-load swapdb
        CONFIG SET repl-diskless-load other
        CONFIG SET oom-score-adj-values "1 2"
        CONFIG SET oom-score-adj-values "1 2 9999"
        CONFIG SET oom-score-adj-values "-5 100 2000"
        CONFIG GET oom-score-adj-values
        CONFIG SET maxmemory-clients 10%
        CONFIG GET maxmemory-clients
        CONFIG SET maxmemory-clients 1mb
        CONFIG GET maxmemory-clients
        CONFIG SET maxmemory-clients abc
        CONFIG SET maxmemory-clients 150%
        CONFIG SET maxmemory-clients 100%
        CONFIG GET maxmemory-clients
        CONFIG SET maxmemory-clients 0%
        CONFIG GET maxmemory-clients
        CONFIG SET io-threads 4
        CONFIG SET unixsocketperm 700
        CONFIG SET slave-lazy-flush yes
        CONFIG GET replica-lazy-flush
        CONFIG SET acl-pubsub-default allchannels
        ACL SETUSER newbie on
        ACL GETUSER newbie
        CONFIG SET acl-pubsub-default bogus
        CONFIG SET enable-protected-configs yes
        CONFIG GET enable-protected-configs
        CONFIG SET tls-session-cache-size -1
        CONFIG GET tls-session-cache-size
        "#,
    );
    let s = ServerProc::start(&[]);
    let mut c = s.conn();
    assert!(c
        .cmds(&["CONFIG", "SET", "tls-port", "6380"])
        .contains("RedisLite has no TLS"));
    let out = Command::new(SERVER_BIN)
        .args(["--port", "0", "--cluster-enabled", "yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("RedisLite has no cluster mode"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
