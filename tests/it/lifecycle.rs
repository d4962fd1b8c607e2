//! The server's life around its data: DEBUG RELOAD, SHUTDOWN's flags,
//! signals, `supervised systemd` notifications, the shipped contrib files,
//! and a full disk (ENOSPC on a size-limited tmpfs the test mounts).

use crate::common::{ServerProc, TempDir};
use crate::dump::{populate, snapshot};

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
    let before: Vec<_> = keys
        .iter()
        .map(|k| {
            let t: i64 = redis::cmd("PEXPIRETIME").arg(k).query(&mut con).unwrap();
            (snapshot(&mut con, k), t)
        })
        .collect();
    let mut c = s.conn();
    assert_eq!(c.cmds(&["DEBUG", "RELOAD"]), "+OK\r\n");
    let after: Vec<_> = keys
        .iter()
        .map(|k| {
            let t: i64 = redis::cmd("PEXPIRETIME").arg(k).query(&mut con).unwrap();
            (snapshot(&mut con, k), t)
        })
        .collect();
    assert_eq!(before, after);
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
