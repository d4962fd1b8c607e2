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
