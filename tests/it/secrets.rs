//! Passwords never leave the server: after AUTH, HELLO AUTH, ACL SETUSER
//! and CONFIG SET requirepass/masterauth with distinctive secrets (also
//! inside MULTI, and a failed AUTH), none of them appears in the server
//! log (at debug level), SLOWLOG, MONITOR, ACL LOG, CLIENT LIST, or any
//! file under the data directory (AOF, RDB).

use crate::common::{ServerProc, TempDir};

const SECRETS: [&str; 6] = [
    "Zq9reqpassA1",
    "Zq9userpassB2",
    "Zq9wrongpassC3",
    "Zq9masterauthD4",
    "Zq9otherpassE5",
    "Zq9hellopassF6",
];

fn assert_clean(what: &str, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    for s in SECRETS {
        assert!(!text.contains(s), "{s} found in {what}:\n{text}");
    }
}

fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn passwords_never_reach_logs_slowlog_monitor_or_aof() {
    let dir = TempDir::new("secrets");
    let srv = ServerProc::start_in(
        &dir.0,
        &[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--slowlog-log-slower-than",
            "0",
            "--loglevel",
            "debug",
        ],
    );
    let [reqpass, userpass, wrong, masterauth, otherpass, hellopass] = SECRETS;
    let mut mon = srv.conn();
    assert_eq!(mon.cmd(&["MONITOR"]), b"+OK\r\n");
    let mut c = srv.conn();
    let ok = b"+OK\r\n".to_vec();
    assert_eq!(c.cmd(&["CONFIG", "SET", "requirepass", reqpass]), ok);
    assert_eq!(c.cmd(&["AUTH", reqpass]), ok);
    assert_eq!(c.cmd(&["AUTH", "default", reqpass]), ok);
    let setuser = format!(">{userpass}");
    assert_eq!(
        c.cmd(&["ACL", "SETUSER", "u", "on", &setuser, "~*", "&*", "+@all"]),
        ok
    );
    let hello = format!(">{hellopass}");
    assert_eq!(
        c.cmd(&[
            "ACL",
            "SETUSER",
            "h",
            "on",
            &hello,
            "(~x +get)",
            "+@all",
            "~*"
        ]),
        ok
    );
    assert!(c
        .cmd(&["HELLO", "2", "AUTH", "h", hellopass])
        .starts_with(b"*14\r\n"));
    assert_eq!(c.cmd(&["AUTH", "u", userpass]), ok);
    assert!(c.cmd(&["AUTH", "u", wrong]).starts_with(b"-WRONGPASS"));
    assert_eq!(c.cmd(&["MULTI"]), ok);
    assert_eq!(c.cmd(&["AUTH", "u", userpass]), b"+QUEUED\r\n");
    assert_eq!(c.cmd(&["SET", "k", "v"]), b"+QUEUED\r\n");
    assert_eq!(c.cmd(&["EXEC"]), b"*2\r\n+OK\r\n+OK\r\n");
    assert_eq!(c.cmd(&["CONFIG", "SET", "masterauth", masterauth]), ok);
    let other = format!(">{otherpass}");
    assert_eq!(c.cmd(&["ACL", "SETUSER", "v", "on", &other]), ok);
    assert_eq!(c.cmd(&["SET", "last", "1"]), ok);
    assert_eq!(c.cmd(&["SAVE"]), ok);

    // MONITOR: read up to the last command, checking every line.
    let mut seen_last = false;
    for _ in 0..100 {
        let line = mon.read_reply();
        assert_clean("MONITOR", &line);
        if String::from_utf8_lossy(&line).contains("\"SET\" \"last\"") {
            seen_last = true;
            break;
        }
    }
    assert!(seen_last, "MONITOR never showed the last command");
    let slowlog = c.cmd(&["SLOWLOG", "GET", "1000"]);
    assert!(String::from_utf8_lossy(&slowlog).contains("SETUSER"));
    assert_clean("SLOWLOG", &slowlog);
    assert_clean("ACL LOG", &c.cmd(&["ACL", "LOG"]));
    assert_clean("ACL LIST", &c.cmd(&["ACL", "LIST"]));
    assert_clean("CLIENT LIST", &c.cmd(&["CLIENT", "LIST"]));
    // Every file the server wrote: AOF (manifest and logs), RDB, log.
    let mut files = Vec::new();
    files_under(&dir.0, &mut files);
    assert!(
        files.iter().any(|f| f.to_string_lossy().contains(".aof")),
        "no AOF written: {files:?}"
    );
    assert!(files.iter().any(|f| f.ends_with("server.log")));
    for f in files {
        assert_clean(&f.to_string_lossy(), &std::fs::read(&f).unwrap());
    }
}
