//! Lua scripting end to end, beyond single replies (those are in
//! differential_scripting.rs): what a script's writes propagate to the
//! AOF and to replicas, compared with redis-server 7.0's own AOF; that a
//! restart from the AOF restores a script's data; and the inputs that
//! crash redis-server 7.0.15, on ours alone.
//!
//! `redis.set_repl(REPL_AOF / REPL_REPLICA)` writes reach only the AOF
//! (`aofonly*` keys) or only replicas (`replonly*`).
//!
//! Every wait polls a condition with a bound; nothing sleeps as a means of
//! synchronisation.

use crate::common::{wait_until, ServerProc, TempDir, AOF_ALWAYS};
use crate::differential::split;
use crate::replication::{converges, replica_of, start_node, LIMIT};

const AOF_FILE: &str = "appendonlydir/appendonly.aof.1.incr.aof";

/// Scripts whose effects are deterministic (no clocks, no random
/// members), with the reply each must give.
const SCRIPTS: &str = r##"
EVAL "return redis.call('set','a','1')" 0
EVAL "redis.call('set','b','1'); return redis.call('incr','b')" 0
EVAL "return redis.call('get','a')" 0
EVAL_RO "return redis.call('exists','a')" 0
EVAL "return redis.call('del','nosuchkey')" 0
EVAL "redis.pcall('incr','a-missing-type'); redis.pcall('lpush','a','x'); return redis.call('rpush','l','x','y')" 0
EVAL "redis.set_repl(redis.REPL_NONE); redis.call('set','local','1'); redis.set_repl(redis.REPL_ALL); return redis.call('set','c','1')" 0
EVAL "redis.set_repl(redis.REPL_NONE); return redis.call('set','local2','1')" 0
EVAL "redis.call('select', 2); redis.call('set','in2','x'); return redis.call('set','in2b','y')" 0
EVAL "return redis.call('set','back-in-0','1')" 0
EVAL "redis.call('set','e','1'); error('after a write')" 0
EVAL "return redis.call('incrbyfloat','f','1.5')" 0
EVAL "return redis.call('expireat','a', 4102444800)" 0
EVAL "return redis.call('hset','h','k','v','k2','v2')" 0
MULTI
EVAL "redis.call('set','m1','1'); return redis.call('set','m2','2')" 0
SET m3 3
EXEC
EVAL "#!lua flags=no-writes\nreturn redis.call('get','a')" 0
SCRIPT LOAD "return redis.call('set','loaded','1')"
EVALSHA e6ca7d07eb0592d96e7622e96bd8ec8be4192552 0
EVAL "redis.set_repl(redis.REPL_AOF); redis.call('set','aofonly','1'); redis.set_repl(redis.REPL_REPLICA); redis.call('set','replonly','1'); redis.set_repl(redis.REPL_ALL); return redis.call('set','both','1')" 0
EVAL "redis.set_repl(redis.REPL_REPLICA); return redis.call('set','replonly2','1')" 0
EVAL "redis.set_repl(redis.REPL_AOF); return redis.call('set','aofonly2','1')" 0
EVAL "redis.set_repl(redis.REPL_SLAVE); redis.call('set','replonly3','1'); return redis.call('incr','replonly3')" 0
EVAL "redis.set_repl(redis.REPL_AOF); redis.call('set','aofonly3','1'); redis.set_repl(redis.REPL_NONE); return redis.call('set','local3','1')" 0
SET last 1
"##;

/// Send each line of `script` on a raw connection; the replies.
fn run_lines(s: &ServerProc, script: &str) -> Vec<Vec<u8>> {
    let mut c = s.conn();
    let mut out = Vec::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let args = split(line);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        c.send(&refs);
        out.push(c.read_reply());
    }
    out
}

fn read_aof(dir: &std::path::Path) -> Vec<u8> {
    std::fs::read(dir.join(AOF_FILE)).unwrap_or_default()
}

/// RedisLite's AOF records (u32 LE length, RESP commands, u32 LE CRC-32)
/// as the plain RESP a redis-server AOF holds. A torn tail is dropped.
fn unframe(aof: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 4 <= aof.len() {
        let len = u32::from_le_bytes(aof[pos..pos + 4].try_into().unwrap()) as usize;
        let Some(body) = aof.get(pos + 4..pos + 4 + len) else {
            break;
        };
        if aof.len() < pos + 8 + len {
            break;
        }
        out.extend_from_slice(body);
        pos += 8 + len;
    }
    out
}

/// The AOF as readable lines for failure messages.
fn show(aof: &[u8]) -> String {
    String::from_utf8_lossy(aof).replace("\r\n", " ")
}

/// A script's writes reach the AOF as the commands it ran (in MULTI/EXEC
/// when there are several), read-only scripts and REPL_NONE commands
/// reach nothing, and the logged commands are byte for byte
/// redis-server's (ours without its record framing). Restarting
/// from the log restores the data.
#[test]
fn script_effects_in_the_aof_match_redis() {
    let ours_dir = TempDir::new("script-aof-ours");
    let theirs_dir = TempDir::new("script-aof-theirs");
    let ours = ServerProc::start_in(&ours_dir.0, &AOF_ALWAYS);
    let theirs = ServerProc::start_reference_in(&theirs_dir.0, &AOF_ALWAYS);
    let ours_replies = run_lines(&ours, SCRIPTS);
    let theirs_replies = run_lines(&theirs, SCRIPTS);
    assert_eq!(
        ours_replies
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect::<Vec<_>>(),
        theirs_replies
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect::<Vec<_>>()
    );
    // `appendfsync always`: the record is on disk before the reply of the
    // last command was sent; poll anyway in case the reference batches.
    let done = |aof: &[u8]| aof.windows(4).any(|w| w == b"last");
    assert!(wait_until(LIMIT, || done(&read_aof(&ours_dir.0))));
    assert!(wait_until(LIMIT, || done(&read_aof(&theirs_dir.0))));
    let (a, b) = (unframe(&read_aof(&ours_dir.0)), read_aof(&theirs_dir.0));
    assert_eq!(
        show(&a),
        show(&b),
        "the AOF differs from redis-server's (left: ours)"
    );
    // What must and must not be there (so the test fails even if both
    // servers changed the same way).
    let text = show(&a);
    assert!(
        !text.contains("local") && !text.contains("replonly"),
        "REPL_NONE or REPL_REPLICA writes were logged: {text}"
    );
    assert!(
        text.contains("aofonly2") && text.contains("aofonly3") && text.contains("both"),
        "REPL_AOF writes were not logged: {text}"
    );
    assert!(
        text.contains("MULTI") && text.contains("SELECT $1 2"),
        "{text}"
    );
    assert!(
        !text.to_ascii_lowercase().contains("eval"),
        "scripts are not logged: {text}"
    );
    assert!(
        text.contains("KEEPTTL"),
        "INCRBYFLOAT is logged as SET KEEPTTL: {text}"
    );

    // Restart from the log: the data comes back.
    let mut before = ours.conn();
    let mut snapshot = Vec::new();
    for db in ["0", "2"] {
        before.cmd(&["SELECT", db]);
        let mut keys: Vec<String> = String::from_utf8_lossy(&before.cmd(&["KEYS", "*"]))
            .lines()
            .filter(|l| !l.starts_with('*') && !l.starts_with('$'))
            .map(str::to_string)
            .collect();
        keys.sort();
        snapshot.push(keys);
    }
    drop(before);
    drop(ours);
    let again = ServerProc::start_in(&ours_dir.0, &AOF_ALWAYS);
    let mut c = again.conn();
    let mut after = Vec::new();
    for db in ["0", "2"] {
        c.cmd(&["SELECT", db]);
        let mut keys: Vec<String> = String::from_utf8_lossy(&c.cmd(&["KEYS", "*"]))
            .lines()
            .filter(|l| !l.starts_with('*') && !l.starts_with('$'))
            .map(str::to_string)
            .collect();
        keys.sort();
        after.push(keys);
    }
    // The REPL_NONE and REPL_REPLICA keys never reached the log.
    for keys in &mut snapshot {
        keys.retain(|k| !k.starts_with("local") && !k.starts_with("replonly"));
    }
    assert_eq!(after, snapshot);
    c.cmd(&["SELECT", "0"]);
    assert_eq!(c.cmds(&["GET", "b"]), "$1\r\n2\r\n");
    assert_eq!(c.cmds(&["GET", "f"]), "$3\r\n1.5\r\n");
    assert_eq!(
        c.cmds(&["LRANGE", "l", "0", "-1"]),
        "*2\r\n$1\r\nx\r\n$1\r\ny\r\n"
    );
    assert_eq!(c.cmds(&["PEXPIRETIME", "a"]), ":4102444800000\r\n");
}

/// A replica receives a script's effects: everything but REPL_NONE and
/// REPL_AOF writes; REPL_REPLICA writes reach it.
#[test]
fn script_effects_reach_a_replica() {
    replica_gets_script_effects(false);
}

/// A RedisLite replica of redis-server gets the reference's script
/// effects (its MULTI/EXEC-wrapped stream) right.
#[test]
fn redislite_replica_applies_redis_script_effects() {
    replica_gets_script_effects(true);
}

/// Run SCRIPTS on a master (redis-server when `reference_master`) with a
/// RedisLite replica; the replica ends with exactly the propagated writes.
fn replica_gets_script_effects(reference_master: bool) {
    let m = start_node(reference_master, &[]);
    let r = replica_of(&m);
    run_lines(&m, SCRIPTS);
    let mut rc = r.conn();
    assert!(
        wait_until(LIMIT, || rc.cmd(&["EXISTS", "last"]) == b":1\r\n"),
        "the replica never got the last write"
    );
    assert_eq!(rc.cmds(&["EXISTS", "local", "local2", "local3"]), ":0\r\n");
    assert_eq!(
        rc.cmds(&["EXISTS", "aofonly", "aofonly2", "aofonly3"]),
        ":0\r\n"
    );
    assert_eq!(
        rc.cmds(&["EXISTS", "c", "m1", "m2", "m3", "e", "loaded", "both"]),
        ":7\r\n"
    );
    assert_eq!(
        rc.cmds(&["MGET", "replonly", "replonly2", "replonly3"]),
        "*3\r\n$1\r\n1\r\n$1\r\n1\r\n$1\r\n2\r\n"
    );
    // Drop what the master kept from it: then both hold the same.
    let mut mc = m.conn();
    mc.cmd(&[
        "DEL", "local", "local2", "local3", "aofonly", "aofonly2", "aofonly3",
    ]);
    converges(&m, &r);
}

/// On a replica, scripts that may write are refused before they start
/// (shebang) or at their first write; read-only ones run.
#[test]
fn scripts_on_a_read_only_replica() {
    let m = start_node(false, &[]);
    let r = replica_of(&m);
    let mut c = r.conn();
    assert_eq!(
        c.cmds(&["EVAL", "return redis.call('get','x')", "0"]),
        "$-1\r\n"
    );
    let refused = c.cmds(&["EVAL", "return redis.call('set','x','1')", "0"]);
    assert!(
        refused.starts_with("-READONLY You can't write against a read only replica. script: "),
        "{refused}"
    );
    let refused = c.cmds(&["EVAL", "#!lua\nreturn redis.call('set','x','1')", "0"]);
    assert_eq!(
        refused,
        "-READONLY Can not run script with write flag on readonly replica\r\n"
    );
    assert_eq!(
        c.cmds(&["EVAL", "#!lua flags=no-writes\nreturn 1", "0"]),
        ":1\r\n"
    );
}

/// Error values redis-server 7.0.15 crashes on: ours answers an error and
/// keeps serving.
#[test]
fn error_values_that_crash_redis_are_errors_here() {
    let s = ServerProc::start(&["--save", ""]);
    let mut c = s.conn();
    for script in [
        "error({})",
        "error()",
        "error(nil)",
        "error({ok='x'})",
        "error({err=5})",
    ] {
        let reply = c.cmds(&["EVAL", script, "0"]);
        assert!(
            reply.starts_with("-ERR ") && reply.contains(" script: "),
            "{script}: {reply}"
        );
        // Caught by pcall, the same values are ordinary Lua values.
        let caught = format!(
            "local ok, e = pcall(function() {script} end) return {{ok and 1 or 0, type(e)}}"
        );
        let reply = c.cmds(&["EVAL", &caught, "0"]);
        assert!(reply.starts_with("*2\r\n:0\r\n$"), "{caught}: {reply}");
    }
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
}

/// INFO memory counts the script cache and the Lua state: scripts cached
/// by SCRIPT LOAD and EVAL, their bytes, and a state that grows past an
/// idle one; SCRIPT FLUSH empties the cache.
#[test]
fn info_memory_counts_cached_scripts() {
    use crate::common::info_str;
    let s = ServerProc::start(&["--save", ""]);
    let mut c = s.conn();
    let field = |c: &mut crate::common::Conn, f: &str| -> u64 {
        info_str(c, "memory", f)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("INFO memory {f}"))
    };
    assert_eq!(field(&mut c, "number_of_cached_scripts"), 0);
    assert_eq!(field(&mut c, "used_memory_scripts_eval"), 0);
    assert!(c.cmds(&["SCRIPT", "LOAD", "return 1"]).starts_with("$40"));
    assert_eq!(
        c.cmds(&["EVAL", "return 'abcdefghij'", "0"]),
        "$10\r\nabcdefghij\r\n"
    );
    // The same body again adds nothing.
    assert_eq!(c.cmds(&["EVAL", "return 1", "0"]), ":1\r\n");
    assert_eq!(field(&mut c, "number_of_cached_scripts"), 2);
    assert_eq!(field(&mut c, "used_memory_scripts_eval"), 8 + 19);
    assert!(field(&mut c, "used_memory_lua") > 32768);
    assert_eq!(
        field(&mut c, "used_memory_vm_total"),
        field(&mut c, "used_memory_vm_eval") + field(&mut c, "used_memory_vm_functions")
    );
    assert_eq!(c.cmds(&["SCRIPT", "FLUSH"]), "+OK\r\n");
    assert_eq!(field(&mut c, "number_of_cached_scripts"), 0);
    assert_eq!(field(&mut c, "used_memory_scripts_eval"), 0);
}
