//! ACL users, rules and NOPERM refusals, over the wire: differential
//! scripts against redis-server where replies are deterministic, and
//! direct checks for ACL LOG, live rule changes, DELUSER and secrecy.

use crate::common::ServerProc;
use crate::differential::{check, check_with};
use std::time::Duration;

#[test]
fn acl_user_management_matches_redis() {
    check(
        r#"
        ACL SETUSER alice on >pw1 >pw2 <pw1 ~cache:* %R~ro:* %W~wo:* &news* +@read -get
        ACL GETUSER alice
        ACL LIST
        # Mixed command rules are ordered by Redis's dict: not compared.
        ~ACL SETUSER mixed +@read -get +set
        ~ACL GETUSER mixed
        ~ACL DELUSER mixed
        ACL USERS
        ACL WHOAMI
        ACL SETUSER bob
        ACL GETUSER bob
        ACL SETUSER bob reset
        ACL GETUSER bob
        ACL SETUSER bob on nopass allkeys allchannels allcommands -config|set
        ACL LIST
        ACL SETUSER bob nocommands +get
        ACL GETUSER bob
        ACL SETUSER carol +@read -@read +set +get -set
        ACL GETUSER carol
        ACL SETUSER carol +get +@read
        ACL GETUSER carol
        ACL SETUSER carol #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4
        ACL GETUSER carol
        ACL SETUSER carol !30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 resetkeys resetchannels
        ACL GETUSER carol
        ACL SETUSER x bogus
        ACL SETUSER x +nosuchcommand
        ACL SETUSER x +@nosuchcategory
        ACL SETUSER x #abc
        ACL SETUSER x !30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4
        ACL SETUSER x %X~k
        ACL SETUSER x allkeys ~more
        ACL GETUSER x
        ACL GETUSER nobody
        ACL DELUSER default
        ACL DELUSER bob nobody
        ACL USERS
        ACL CAT
        ACL CAT nosuch
        ACL LOG RESET
        ACL LOG notanumber
        ACL DRYRUN alice get cache:1
        ACL DRYRUN alice set cache:1 v
        ACL DRYRUN alice set other v
        ACL DRYRUN alice flushall
        ACL DRYRUN nobody get k
        ACL DRYRUN alice nocmd
        ACL NOSUCH
        ACL HELP
        ACL LOAD
        "#,
    );
}

#[test]
fn acl_permissions_match_redis() {
    check(
        r#"
        SET cache:1 v
        SET ro:1 v
        SET wo:1 v
        ACL SETUSER alice on >secret ~cache:* %R~ro:* %W~wo:* &news* +@read +set +publish +subscribe +acl|whoami +auth
        AUTH alice wrong
        AUTH alice secret
        ACL WHOAMI
        GET cache:1
        GET ro:1
        GET wo:1
        GET other
        SET cache:1 x
        SET ro:1 x
        SET wo:1 x
        MGET cache:1 ro:1
        MGET cache:1 other
        DEL cache:1
        CONFIG GET maxmemory
        PUBLISH news:today hi
        PUBLISH sports hi
        AUTH default anything
        ACL WHOAMI
        ACL SETUSER alice off
        AUTH alice secret
        "#,
    );
}

#[test]
fn requirepass_is_the_default_users_password() {
    check_with(
        &["--requirepass", "sekrit"],
        r#"
        GET k
        AUTH wrong
        AUTH default wrong
        AUTH sekrit
        ACL LIST
        ACL GETUSER default
        CONFIG SET requirepass other
        ACL LIST
        AUTH default other
        CONFIG SET requirepass ""
        ACL LIST
        AUTH x
        "#,
    );
}

fn bulk_lines(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply).into_owned()
}

#[test]
fn acl_log_records_denials_and_merges_repeats() {
    let srv = ServerProc::start(&["--save", ""]);
    let mut admin = srv.conn();
    admin.cmd(&["ACL", "SETUSER", "u", "on", ">pw", "~k*", "+get"]);
    let mut u = srv.conn();
    assert_eq!(u.cmd(&["AUTH", "u", "pw"]), b"+OK\r\n");
    assert_eq!(
        u.cmd(&["SET", "k", "v"]),
        b"-NOPERM this user has no permissions to run the 'set' command\r\n"
    );
    u.cmd(&["SET", "k", "v"]);
    assert_eq!(
        u.cmd(&["GET", "other"]),
        b"-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"
    );
    u.cmd(&["AUTH", "u", "wrongpass"]);
    let log = bulk_lines(&admin.cmd(&["ACL", "LOG"]));
    // Newest first: the failed AUTH, the key denial, the merged SET.
    assert!(log.starts_with("*3\r\n"), "{log}");
    let auth_at = log.find("$4\r\nauth\r\n").expect("auth entry");
    let key_at = log.find("$3\r\nkey\r\n").expect("key entry");
    let cmd_at = log.find("$7\r\ncommand\r\n").expect("command entry");
    assert!(auth_at < key_at && key_at < cmd_at, "{log}");
    assert!(
        log.contains("$5\r\ncount\r\n:2\r\n"),
        "repeat merged: {log}"
    );
    for field in [
        "reason",
        "context",
        "object",
        "username",
        "age-seconds",
        "client-info",
    ] {
        assert!(log.contains(&format!("\r\n{field}\r\n")), "{field}: {log}");
    }
    assert!(log.contains("toplevel") && log.contains("user=u "), "{log}");
    // The wrong password itself is never recorded.
    assert!(!log.contains("wrongpass"), "{log}");
    let one = bulk_lines(&admin.cmd(&["ACL", "LOG", "1"]));
    assert!(one.starts_with("*1\r\n"), "{one}");
    assert_eq!(admin.cmd(&["ACL", "LOG", "RESET"]), b"+OK\r\n");
    assert_eq!(admin.cmd(&["ACL", "LOG"]), b"*0\r\n");
}

#[test]
fn rule_changes_apply_to_connected_clients() {
    let srv = ServerProc::start(&["--save", ""]);
    let mut admin = srv.conn();
    admin.cmd(&["ACL", "SETUSER", "u", "on", ">pw", "allkeys", "+get"]);
    let mut u = srv.conn();
    u.cmd(&["AUTH", "u", "pw"]);
    assert_eq!(u.cmd(&["GET", "k"]), b"$-1\r\n");
    admin.cmd(&["ACL", "SETUSER", "u", "-get"]);
    assert_eq!(
        u.cmd(&["GET", "k"]),
        b"-NOPERM this user has no permissions to run the 'get' command\r\n"
    );
    admin.cmd(&["ACL", "SETUSER", "u", "+@string"]);
    assert_eq!(u.cmd(&["SET", "k", "v"]), b"+OK\r\n");
    // CLIENT LIST shows the user, never a password.
    let list = bulk_lines(&admin.cmd(&["CLIENT", "LIST"]));
    assert!(list.contains("user=u "), "{list}");
    assert!(!list.contains("pw"), "{list}");
    // Deleting the user disconnects its clients.
    assert_eq!(admin.cmd(&["ACL", "DELUSER", "u"]), b":1\r\n");
    assert!(u.is_closed_within(Duration::from_secs(5)));
    assert_eq!(admin.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn disabled_default_user_requires_auth() {
    let srv = ServerProc::start(&["--save", ""]);
    let mut admin = srv.conn();
    admin.cmd(&[
        "ACL",
        "SETUSER",
        "admin",
        "on",
        ">adm",
        "allkeys",
        "allcommands",
    ]);
    admin.cmd(&["ACL", "SETUSER", "default", "off"]);
    let mut fresh = srv.conn();
    assert_eq!(
        fresh.cmd(&["GET", "k"]),
        b"-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(fresh.cmd(&["AUTH", "admin", "adm"]), b"+OK\r\n");
    assert_eq!(fresh.cmd(&["GET", "k"]), b"$-1\r\n");
}

#[test]
fn hello_auth_goes_through_users() {
    let srv = ServerProc::start(&["--save", ""]);
    let mut admin = srv.conn();
    admin.cmd(&["ACL", "SETUSER", "u", "on", ">pw", "allkeys", "+@all"]);
    let mut c = srv.conn();
    assert!(c
        .cmd(&["HELLO", "3", "AUTH", "u", "bad"])
        .starts_with(b"-WRONGPASS"));
    let r = c.cmd(&["HELLO", "3", "AUTH", "u", "pw"]);
    assert!(r.starts_with(b"%7\r\n"), "{}", bulk_lines(&r));
    assert_eq!(c.cmd(&["ACL", "WHOAMI"]), b"$1\r\nu\r\n");
}

#[test]
fn aclfile_load_and_save() {
    let dir = std::env::temp_dir().join(format!("redislite-acl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("users.acl");
    let path = file.to_str().unwrap().to_string();
    std::fs::write(
        &file,
        "user alice on >pw ~k* +get\n\nuser default on nopass ~* &* +@all\n",
    )
    .unwrap();
    let srv = ServerProc::start(&["--save", "", "--aclfile", &path]);
    let mut admin = srv.conn();
    // Loaded at startup, password kept as a digest (as Redis lists it).
    assert_eq!(
        bulk_lines(&admin.cmd(&["ACL", "LIST"])),
        "*2\r\n$108\r\nuser alice on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~k* resetchannels -@all +get\r\n$34\r\nuser default on nopass ~* &* +@all\r\n"
    );
    let mut alice = srv.conn();
    assert_eq!(alice.cmd(&["AUTH", "alice", "pw"]), b"+OK\r\n");
    // SAVE writes ACL LIST lines; the clear-text password is not in it.
    admin.cmd(&["ACL", "SETUSER", "bob", "on", ">bobpw"]);
    assert_eq!(admin.cmd(&["ACL", "SAVE"]), b"+OK\r\n");
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(
        saved.contains("user bob on #") && !saved.contains("bobpw"),
        "{saved}"
    );
    // A bad file changes nothing; the errors are Redis's texts.
    std::fs::write(
        &file,
        "user alice on +nosuch\nbogus\nuser x on\nuser x off\n",
    )
    .unwrap();
    let err = bulk_lines(&admin.cmd(&["ACL", "LOAD"]));
    assert_eq!(
        err,
        format!("-ERR {path}:1: Error in applying operation '+nosuch': Unknown command or category name in ACL. {path}:2 should start with user keyword followed by the username. WARNING: Duplicate user 'x' found on line 4. WARNING: ACL errors detected, no change to the previously active ACL rules was performed\r\n")
    );
    assert_eq!(alice.cmd(&["GET", "k"]), b"$-1\r\n");
    // A good file replaces the users: alice loses GET at once, bob is gone.
    std::fs::write(&file, "user alice on >pw ~k* +set\n").unwrap();
    assert_eq!(admin.cmd(&["ACL", "LOAD"]), b"+OK\r\n");
    assert_eq!(
        alice.cmd(&["GET", "k"]),
        b"-NOPERM this user has no permissions to run the 'get' command\r\n"
    );
    assert_eq!(
        admin.cmd(&["ACL", "USERS"]),
        b"*2\r\n$5\r\nalice\r\n$7\r\ndefault\r\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn acl_load_without_aclfile_matches_redis() {
    check("ACL LOAD\nACL SAVE\nCONFIG GET aclfile");
}

#[test]
fn setuser_passwords_never_reach_the_slowlog() {
    let srv = ServerProc::start(&["--save", "", "--slowlog-log-slower-than", "0"]);
    let mut c = srv.conn();
    c.cmd(&["ACL", "SETUSER", "u", "on", ">topsecret"]);
    let mut other = srv.conn();
    assert!(other.cmd(&["AUTH", "u", "topsecret"]) == b"+OK\r\n");
    let log = bulk_lines(&c.cmd(&["SLOWLOG", "GET", "10"]));
    assert!(log.contains("SETUSER"), "{log}");
    assert!(!log.contains("topsecret"), "{log}");
}
