//! ACL users, rules and NOPERM refusals, over the wire: differential
//! scripts against redis-server where replies are deterministic, and
//! direct checks for ACL LOG, live rule changes, DELUSER and secrecy.

use crate::common::{ServerProc, TempDir};
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
fn acllog_max_len_bounds_the_log() {
    let srv = ServerProc::start(&["--save", "", "--acllog-max-len", "2"]);
    let mut admin = srv.conn();
    assert_eq!(
        admin.cmd(&["CONFIG", "GET", "acllog-max-len"]),
        b"*2\r\n$14\r\nacllog-max-len\r\n$1\r\n2\r\n"
    );
    admin.cmd(&["ACL", "SETUSER", "u", "on", ">pw", "~k*", "+get"]);
    let mut u = srv.conn();
    u.cmd(&["AUTH", "u", "pw"]);
    // Three different denials: only the two newest are kept.
    for key in ["a", "b", "c"] {
        u.cmd(&["GET", key]);
    }
    let log = bulk_lines(&admin.cmd(&["ACL", "LOG"]));
    assert!(log.starts_with("*2\r\n"), "{log}");
    assert!(
        log.contains("\r\nc\r\n") && log.contains("\r\nb\r\n"),
        "{log}"
    );
    assert!(!log.contains("\r\na\r\n"), "{log}");
    // 0 keeps nothing (the log is trimmed as an entry arrives).
    admin.cmd(&["CONFIG", "SET", "acllog-max-len", "0"]);
    u.cmd(&["GET", "d"]);
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
    let dir = TempDir::new("aclfile");
    let file = dir.0.join("users.acl");
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

#[test]
fn acl_selectors_match_redis() {
    check(
        r#"
        ACL SETUSER s1 on nopass ~a* +get (~b* +set) "(%R~c* +@read &ch*)"
        ACL GETUSER s1
        ACL LIST
        ACL DRYRUN s1 get a1
        ACL DRYRUN s1 set b1 v
        ACL DRYRUN s1 get c1
        ACL DRYRUN s1 set a1 v
        ACL DRYRUN s1 get b1
        ACL DRYRUN s1 set c1 v
        ACL DRYRUN s1 publish ch1 m
        ACL DRYRUN s1 mget a1 c1
        ACL DRYRUN s1 mget a1 b1
        # Arguments open and close a selector across spaces.
        ACL SETUSER s2 "(~x" +get) "(~y" "+set" "&c)"
        ACL GETUSER s2
        ACL SETUSER s2 "()"
        ACL LIST
        # RESP3: GETUSER is a map, flags a set, selectors maps.
        ~HELLO 3
        ACL GETUSER s2
        ~HELLO 2
        ACL SETUSER s2 clearselectors
        ACL GETUSER s2
        ACL SETUSER s3 "("
        ACL SETUSER s3 "(+get"
        ACL SETUSER s3 (on)
        ACL SETUSER s3 (>pw)
        ACL SETUSER s3 "(+get" "set)"
        ACL SETUSER s3 (+nosuch)
        ACL SETUSER s3 "(allkeys ~x)"
        ACL SETUSER s3 )
        ACL GETUSER s3
        ACL SETUSER s1 reset
        ACL GETUSER s1
        # A user runs what any one selector allows; otherwise the refusal
        # is the most relevant one (channel > key > command).
        SET d1 v
        ACL SETUSER w on >pw ~a* +get (~b* +set) "(%R~c* %W~d* +@read +@write &ch*)"
        ACL DRYRUN w publish other x
        ACL DRYRUN w copy c1 d1
        AUTH w pw
        GET a1
        SET a1 v
        SET b1 v
        GET b1
        GET c1
        SET c1 v
        SET d1 v
        GET d1
        MSET b1 1 b2 2
        MSET b1 1 a2 2
        PUBLISH ch1 x
        PUBLISH other x
        "#,
    );
}

#[test]
fn acl_first_argument_rules_match_redis() {
    check(
        r#"
        # Redis 7.0 orders rules of different commands by its dict, whose
        # seed is random: each user here has one command's rules.
        ACL SETUSER t0 +config|get -client|kill
        ACL GETUSER t0
        ACL DELUSER t0
        ACL SETUSER t1 +select|0 +select|1
        ACL GETUSER t1
        ACL SETUSER t1 -select|0
        ACL SETUSER t1 +config|nosuch
        ACL SETUSER t1 +config|get|x
        ACL SETUSER t1 +acl|log|x
        ACL SETUSER t1 +@all|x
        ACL SETUSER t1 +select|
        ACL SETUSER t1 +SELECT|AbC +select|0
        ACL LIST
        ACL SETUSER t1 +select
        ACL LIST
        ACL SETUSER t1 -select +select|2 -@connection
        ACL LIST
        ACL SETUSER t1 +select|2 +@keyspace
        ACL LIST
        ACL SETUSER t2 +@all -select +select|0
        ACL LIST
        ACL SETUSER t3 +select +select|0
        ACL LIST
        # Category rules are printed before command rules, as 7.0 does.
        ACL SETUSER m1 +get +@write
        ACL SETUSER m2 +set -@write +get +@hash
        ACL SETUSER m3 +@all -@dangerous +config|get
        ACL SETUSER m4 -@all +config|get +@admin -debug
        ACL LIST
        ACL SETUSER t4 on nopass ~* +select|0 +get|k
        ACL DRYRUN t4 select 0
        ACL DRYRUN t4 select 1
        ACL DRYRUN t4 get k
        ACL DRYRUN t4 get K
        ACL DRYRUN t4 get j
        AUTH t4 x
        SELECT 0
        SELECT 1
        GET k
        GET j
        "#,
    );
}

#[test]
fn key_permissions_follow_redis_key_specs() {
    // %R~ / %W~ needs come from each key spec: INCR reads and writes,
    // SET writes (reads too with GET), EXISTS needs either, COPY reads
    // its source and writes its destination.
    check(
        r#"
        SET r:1 1
        SET w:1 1
        SET rw:1 1
        SADD r:s a
        RPUSH r:l a
        ACL SETUSER u on >pw %R~r:* %W~w:* %RW~rw:* +@all
        AUTH u pw
        GET r:1
        GET w:1
        SET r:1 2
        SET w:1 2
        SET w:1 3 GET
        SET rw:1 3 GET
        INCR w:1
        INCR rw:1
        EXISTS r:1 w:1
        TYPE w:1
        OBJECT ENCODING w:1
        TTL w:1
        EXPIRE w:1 100
        DEL r:1
        DEL w:1
        COPY r:1 w:2
        COPY w:2 r:2
        RENAME rw:1 w:3
        RENAME w:3 rw:1
        SINTERSTORE w:dst r:s
        SINTERSTORE r:dst r:s
        LMOVE r:l w:l LEFT RIGHT
        LMOVE rw:l w:l LEFT RIGHT
        MSET w:a 1 w:b 2
        MSET w:a 1 r:b 2
        MGET r:1 rw:1
        MGET r:1 w:1
        APPEND w:1 x
        GETDEL w:1
        # Keys counted by numkeys are checked too.
        ZADD rw:z 1 a
        ZUNIONSTORE w:z 1 rw:z
        ZUNIONSTORE w:z 2 rw:z secret
        ZUNIONSTORE w:z 1 w:1
        ZINTER 2 r:1 rw:z
        ZINTER 2 r:1 secret
        ZINTERCARD 1 secret
        SINTERCARD 2 r:s secret
        SINTERCARD 1 r:s
        LMPOP 1 r:l LEFT
        LMPOP 2 rw:l secret LEFT
        LMPOP 1 rw:l LEFT
        ZMPOP 1 secret MIN
        BLMPOP 0.01 1 secret LEFT
        BZMPOP 0.01 1 secret MIN
        ZDIFFSTORE w:z 1 secret
        ZUNIONSTORE w:z notanumber secret
        ZUNIONSTORE w:z 5 rw:z
        "#,
    );
}

#[test]
fn aclfile_keeps_selectors() {
    let dir = crate::common::TempDir::new("acl-selectors");
    let file = dir.0.join("users.acl");
    let path = file.to_str().unwrap().to_string();
    let line = "user s on nopass ~a* resetchannels -@all +get (~b* resetchannels -@all +set)";
    std::fs::write(&file, format!("{line}\n")).unwrap();
    let srv = ServerProc::start(&["--save", "", "--aclfile", &path]);
    let mut admin = srv.conn();
    let list = bulk_lines(&admin.cmd(&["ACL", "LIST"]));
    assert!(list.contains(line), "{list}");
    let mut s = srv.conn();
    assert_eq!(s.cmd(&["AUTH", "s", "x"]), b"+OK\r\n");
    assert_eq!(s.cmd(&["SET", "b1", "v"]), b"+OK\r\n");
    assert_eq!(s.cmd(&["GET", "a1"]), b"$-1\r\n");
    // SAVE writes the selector back; LOAD reads it again.
    assert_eq!(admin.cmd(&["ACL", "SAVE"]), b"+OK\r\n");
    assert!(std::fs::read_to_string(&file).unwrap().contains(line));
    assert_eq!(admin.cmd(&["ACL", "LOAD"]), b"+OK\r\n");
    assert_eq!(s.cmd(&["SET", "b2", "v"]), b"+OK\r\n");
    std::fs::write(&file, "user s on (~b* +set\n").unwrap();
    assert_eq!(
        bulk_lines(&admin.cmd(&["ACL", "LOAD"])),
        format!("-ERR {path}:1: Unmatched parenthesis in acl selector starting at '(~b* +set'. WARNING: ACL errors detected, no change to the previously active ACL rules was performed\r\n")
    );
}
