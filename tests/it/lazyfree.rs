//! The lazyfree-lazy-* options, side by side with redis-server 7.0: which
//! removals hand a big value (more than 64 allocations to free) to the
//! background thread, as INFO `lazyfreed_objects` counts them.

use crate::common::{info_u64, wait_until, Conn, ServerProc};
use std::time::Duration;

/// A 200-member set in a hash table: 200 allocations to free, so big
/// enough for the background (a list of small strings is a few packed
/// nodes, freed inline by both servers whatever the options).
fn big_set(c: &mut Conn, key: &str) {
    let mut args = vec!["SADD".to_string(), key.to_string()];
    args.extend((0..200).map(|i| format!("member-{i}")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(c.cmds(&args), ":200\r\n");
}

/// Run each removal with its option off, then on; return the counts of
/// lazily freed objects after each step.
fn session(s: &ServerProc) -> Vec<u64> {
    let mut c = s.conn();
    let mut counts = Vec::new();
    // A background free completes on its own thread: wait until the
    // count settles (the step before it is the expected floor).
    let settle = |c: &mut Conn, at_least: u64| -> u64 {
        wait_until(Duration::from_secs(5), || {
            info_u64(c, "memory", "lazyfreed_objects") >= at_least
        });
        info_u64(c, "memory", "lazyfreed_objects")
    };
    let steps: &[(&str, &[&[&str]])] = &[
        ("lazyfree-lazy-user-del", &[&["DEL", "l"]]),
        ("lazyfree-lazy-server-del", &[&["SET", "l", "x"]]),
        (
            "lazyfree-lazy-server-del",
            &[&["SET", "other", "x"], &["RENAME", "other", "l"]],
        ),
        (
            "lazyfree-lazy-expire",
            &[
                &["PEXPIRE", "l", "1"],
                &["DEBUG", "SLEEP", "0.01"],
                &["EXISTS", "l"],
            ],
        ),
    ];
    let mut expected = 0;
    for (option, commands) in steps {
        for on in ["no", "yes"] {
            assert_eq!(c.cmds(&["CONFIG", "SET", option, on]), "+OK\r\n");
            big_set(&mut c, "l");
            for cmd in commands.iter() {
                c.cmd(cmd);
            }
            if on == "yes" {
                expected += 1;
            }
            counts.push(settle(&mut c, expected));
            c.cmd(&["DEL", "l", "other"]);
            assert_eq!(c.cmds(&["CONFIG", "SET", option, "no"]), "+OK\r\n");
        }
    }
    // UNLINK is always lazy.
    big_set(&mut c, "l");
    c.cmd(&["UNLINK", "l"]);
    counts.push(settle(&mut c, expected + 1));
    counts
}

#[test]
fn lazyfree_options_free_in_the_background_as_redis() {
    let args = ["--enable-debug-command", "yes"];
    let ours = session(&ServerProc::start(&args));
    let theirs = session(&ServerProc::start_reference(&args));
    assert_eq!(ours, theirs);
    assert_eq!(ours, vec![0, 1, 1, 2, 2, 3, 3, 4, 5]);
}
