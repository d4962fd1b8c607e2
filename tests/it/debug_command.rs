//! DEBUG's user-facing subcommands against redis-server 7.0 (both started
//! with `enable-debug-command yes`): POPULATE's keys and values and its
//! argument errors, PROTOCOL's value of every reply type in RESP2 and
//! RESP3, ERROR, LOG, CHANGE-REPL-ID; and what POPULATE must not do
//! (count as a change, overwrite a key).

use crate::common::{info_str, ServerProc};
use crate::differential::check_with;

const DEBUG_ON: &[&str] = &["--enable-debug-command", "yes"];

#[test]
fn debug_populate_and_protocol_match_redis() {
    check_with(
        DEBUG_ON,
        r#"
        DEBUG POPULATE
        DEBUG POPULATE abc
        DEBUG POPULATE -1
        DEBUG POPULATE 2 p -3
        DEBUG POPULATE 2 p abc
        DEBUG POPULATE 2 p 3 extra
        DEBUG POPULATE 0
        DBSIZE
        SET p:1 mine
        LPUSH p:2 x
        DEBUG POPULATE 4 p 12
        MGET p:0 p:1 p:3
        TYPE p:2
        DBSIZE
        DEBUG POPULATE 2 q 3
        MGET q:0 q:1
        DEBUG POPULATE 3
        MGET key:0 key:2
        OBJECT ENCODING key:0
        DEBUG POPULATE 1 z 0
        GET z:0
        DEBUG POPULATE 1 big 100
        STRLEN big:0
        DEBUG PROTOCOL string
        DEBUG PROTOCOL INTEGER
        DEBUG PROTOCOL double
        DEBUG PROTOCOL bignum
        DEBUG PROTOCOL null
        DEBUG PROTOCOL array
        DEBUG PROTOCOL set
        DEBUG PROTOCOL map
        DEBUG PROTOCOL attrib
        DEBUG PROTOCOL push
        DEBUG PROTOCOL verbatim
        DEBUG PROTOCOL true
        DEBUG PROTOCOL false
        DEBUG PROTOCOL nosuch
        DEBUG PROTOCOL
        DEBUG ERROR "my error"
        DEBUG ERROR "WRONGTYPE made up"
        DEBUG LOG "a line for the log"
        DEBUG CHANGE-REPL-ID
        DEBUG CHANGE-REPL-ID now
        "#,
    );
}

/// RESP3: every type in its own form; ATTRIB and PUSH send a frame before
/// the reply (compared as raw bytes, both frames).
#[test]
fn debug_protocol_resp3_matches_redis() {
    let ours = ServerProc::start(&["--save", "", "--enable-debug-command", "yes"]);
    let theirs = ServerProc::start_reference(DEBUG_ON);
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    a.cmd(&["HELLO", "3"]);
    b.cmd(&["HELLO", "3"]);
    for kind in [
        "string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib", "push",
        "verbatim", "true", "false",
    ] {
        let frames = if matches!(kind, "attrib" | "push") {
            2
        } else {
            1
        };
        let mut ra = a.cmd(&["DEBUG", "PROTOCOL", kind]);
        let mut rb = b.cmd(&["DEBUG", "PROTOCOL", kind]);
        for _ in 1..frames {
            ra.extend(a.read_reply());
            rb.extend(b.read_reply());
        }
        assert_eq!(
            String::from_utf8_lossy(&ra),
            String::from_utf8_lossy(&rb),
            "{kind}"
        );
    }
}

/// POPULATE's keys are not a change (no snapshot is due for them, as in
/// Redis), and CHANGE-REPL-ID starts a new replication history.
#[test]
fn populate_is_not_a_change_and_change_repl_id_changes_it() {
    let s = ServerProc::start(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    let dirty =
        |c: &mut crate::common::Conn| info_str(c, "persistence", "rdb_changes_since_last_save");
    let before = dirty(&mut c);
    assert_eq!(c.cmds(&["DEBUG", "POPULATE", "1000"]), "+OK\r\n");
    assert_eq!(c.cmds(&["DBSIZE"]), ":1000\r\n");
    assert_eq!(dirty(&mut c), before);
    let id = |c: &mut crate::common::Conn| info_str(c, "replication", "master_replid");
    let old = id(&mut c);
    assert_eq!(c.cmds(&["DEBUG", "CHANGE-REPL-ID"]), "+OK\r\n");
    let new = id(&mut c);
    assert!(new.as_ref().is_some_and(|n| n.len() == 40), "{new:?}");
    assert_ne!(old, new);
}
