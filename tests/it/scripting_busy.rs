//! Long-running scripts (Redis 7.0's busy scripts): past
//! `busy-reply-threshold` other clients get -BUSY except for the
//! allow-busy commands, SCRIPT KILL stops a script that has not written,
//! UNKILLABLE otherwise, SHUTDOWN NOSAVE exits, and the script's client
//! gets its reply at the end. Texts checked against redis-server 7.0.15.
//!
//! Every wait polls a condition with a bound; scripts that must end by
//! themselves measure their own time with `redis.call('TIME')`.

use crate::common::*;
use std::time::{Duration, Instant};

const BUSY: &str =
    "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";
const UNKILLABLE: &str = "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n";
const LIMIT: Duration = Duration::from_secs(10);

/// Loops forever (line 3 is the loop body).
const FOREVER: &str = "local i = 0\nwhile true do\n  i = i + 1\nend";

/// A script that spins for `ms` milliseconds of wall time, then returns
/// how many TIME calls it made (`write` first sets `k` to `v`).
fn spin_ms(ms: u64, write: bool) -> String {
    format!(
        "{}local t = redis.call('time')\nlocal s = t[1] * 1000000 + t[2]\nlocal n = 0\nrepeat\n  n = n + 1\n  local u = redis.call('time')\nuntil (u[1] * 1000000 + u[2]) - s > {}\nreturn n",
        if write { "redis.call('set', 'k', 'v')\n" } else { "" },
        ms * 1000
    )
}

fn sha1_of(script: &str, c: &mut Conn) -> String {
    let r = c.cmds(&["SCRIPT", "LOAD", script]);
    r.lines().nth(1).unwrap_or_default().to_string()
}

/// A server whose scripts go busy after 50 ms.
fn server() -> ServerProc {
    let s = ServerProc::start(&["--save", ""]);
    let mut c = s.conn();
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "busy-reply-threshold", "50"]),
        "+OK\r\n"
    );
    s
}

/// Send EVAL on a new connection, without reading the reply.
fn start_script(s: &ServerProc, script: &str) -> Conn {
    let mut runner = s.conn();
    send(&mut runner, &["EVAL", script, "0"]);
    runner
}

/// Poll with PING until the server answers BUSY (a script is busy).
fn wait_busy(c: &mut Conn) {
    assert!(
        wait_until(LIMIT, || c.cmds(&["PING"]) == BUSY),
        "the server never became busy"
    );
}

#[test]
fn busy_script_answers_busy_and_script_kill_stops_it() {
    let s = server();
    let mut c = s.conn();
    let sha = sha1_of(FOREVER, &mut c);
    let mut runner = start_script(&s, FOREVER);
    wait_busy(&mut c);
    for cmd in [
        &["PING"][..],
        &["GET", "x"],
        &["SET", "x", "1"],
        &["INFO"],
        &["CLIENT", "ID"],
        &["EVAL", "return 1", "0"],
        &["SCRIPT", "FLUSH"],
        &["SHUTDOWN"],
        &["SHUTDOWN", "NOW"],
        &["SUBSCRIBE", "ch"],
    ] {
        assert_eq!(c.cmds(cmd), BUSY, "{cmd:?}");
    }
    // A client connecting while the script runs is accepted and refused.
    let mut late = s.conn();
    assert_eq!(late.cmds(&["GET", "x"]), BUSY);
    assert_eq!(late.cmds(&["SCRIPT", "KILL"]), "+OK\r\n");
    assert_eq!(
        String::from_utf8_lossy(&runner.read_reply()),
        format!(
            "-ERR Script killed by user with SCRIPT KILL... script: {sha}, on @user_script:3.\r\n"
        )
    );
    // The server is itself again.
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
    assert_eq!(runner.cmds(&["PING"]), "+PONG\r\n");
    assert_eq!(
        c.cmds(&["SCRIPT", "KILL"]),
        "-NOTBUSY No scripts in execution right now.\r\n"
    );
    assert_eq!(c.cmds(&["EVAL", "return 7", "0"]), ":7\r\n");
    // Refusals are counted as Redis counts them: in errorstats and as
    // the command's rejected calls (wait_busy sent some PINGs too).
    let busy = info_str(&mut c, "errorstats", "errorstat_BUSY").unwrap_or_default();
    let busy: u64 = busy.trim_start_matches("count=").parse().unwrap_or(0);
    let ping = info_str(&mut c, "commandstats", "cmdstat_ping").unwrap_or_default();
    let rejected: u64 = ping
        .split(',')
        .find_map(|f| f.strip_prefix("rejected_calls="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(rejected >= 2, "{ping}");
    // The PINGs, the nine other commands of the list, the late GET.
    assert_eq!(busy, rejected + 9 + 1, "{ping}");
}

#[test]
fn script_pipeline_and_other_clients_resume_after_kill() {
    let s = server();
    let mut c = s.conn();
    // The script's client pipelines more behind the EVAL: those run after.
    let mut runner = s.conn();
    let mut bytes = encode(&[b"EVAL", FOREVER.as_bytes(), b"0"]);
    bytes.extend_from_slice(&encode(&[b"SET", b"after", b"1"]));
    runner.send_raw(&bytes);
    wait_busy(&mut c);
    // Another client pipelines three commands: each one is refused.
    let mut other = s.conn();
    let mut three = encode(&[b"SET", b"x", b"1"]);
    three.extend_from_slice(&encode(&[b"INCR", b"x"]));
    three.extend_from_slice(&encode(&[b"GET", b"x"]));
    other.send_raw(&three);
    for _ in 0..3 {
        assert_eq!(String::from_utf8_lossy(&other.read_reply()), BUSY);
    }
    assert_eq!(c.cmds(&["SCRIPT", "KILL"]), "+OK\r\n");
    assert!(String::from_utf8_lossy(&runner.read_reply()).starts_with("-ERR Script killed"));
    assert_eq!(String::from_utf8_lossy(&runner.read_reply()), "+OK\r\n");
    assert_eq!(c.cmds(&["GET", "after"]), "$1\r\n1\r\n");
    assert_eq!(c.cmds(&["EXISTS", "x"]), ":0\r\n");
}

#[test]
fn allow_busy_commands_run_while_a_script_is_busy() {
    let s = server();
    let mut c = s.conn();
    let mut runner = start_script(&s, FOREVER);
    wait_busy(&mut c);
    assert_eq!(
        c.cmds(&["AUTH", "x"]),
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    assert!(c
        .cmds(&["HELLO", "2"])
        .starts_with("*14\r\n$6\r\nserver\r\n"));
    assert_eq!(c.cmds(&["WATCH", "k"]), "+OK\r\n");
    assert_eq!(c.cmds(&["UNWATCH"]), "+OK\r\n");
    assert_eq!(
        c.cmds(&["SHUTDOWN", "ABORT"]),
        "-ERR No shutdown in progress.\r\n"
    );
    // Checks that come before BUSY still apply.
    assert_eq!(
        c.cmds(&["NOSUCH"]),
        "-ERR unknown command 'NOSUCH', with args beginning with: \r\n"
    );
    assert_eq!(
        c.cmds(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        c.cmds(&["SCRIPT", "KILL", "x"]),
        "-ERR wrong number of arguments for 'script|kill' command\r\n"
    );
    // A transaction: MULTI runs, a refused command dooms it, EXEC says why
    // and discards it.
    assert_eq!(c.cmds(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmds(&["SET", "k", "v"]), BUSY);
    assert_eq!(
        c.cmds(&["EXEC"]),
        format!(
            "-EXECABORT Transaction discarded because of: {}",
            &BUSY[1..]
        )
    );
    assert_eq!(c.cmds(&["DISCARD"]), "-ERR DISCARD without MULTI\r\n");
    assert_eq!(c.cmds(&["RESET"]), "+RESET\r\n");
    assert_eq!(c.cmds(&["SCRIPT", "KILL"]), "+OK\r\n");
    assert!(String::from_utf8_lossy(&runner.read_reply()).starts_with("-ERR Script killed"));
    let errs = info_str(&mut c, "errorstats", "errorstat_EXECABORT");
    assert_eq!(errs.as_deref(), Some("count=1"));
}

#[test]
fn pcall_cannot_swallow_script_kill() {
    let s = server();
    let mut c = s.conn();
    let script = "local n = 0\nwhile true do\n  pcall(function() local i = 0 while i < 1e12 do i = i + 1 end end)\n  n = n + 1\nend";
    let sha = sha1_of(script, &mut c);
    let mut runner = start_script(&s, script);
    wait_busy(&mut c);
    assert_eq!(c.cmds(&["SCRIPT", "KILL"]), "+OK\r\n");
    // The kill raised inside the pcall is caught; the next line raises
    // it again.
    assert_eq!(
        String::from_utf8_lossy(&runner.read_reply()),
        format!(
            "-ERR Script killed by user with SCRIPT KILL... script: {sha}, on @user_script:4.\r\n"
        )
    );
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
}

#[test]
fn script_that_wrote_is_unkillable_and_its_reply_comes_at_the_end() {
    let s = server();
    let mut c = s.conn();
    let started = Instant::now();
    let mut runner = start_script(&s, &spin_ms(600, true));
    wait_busy(&mut c);
    assert_eq!(c.cmds(&["SCRIPT", "KILL"]), UNKILLABLE);
    assert_eq!(c.cmds(&["SCRIPT", "KILL"]), UNKILLABLE);
    assert_eq!(c.cmds(&["GET", "k"]), BUSY);
    // The script ends by itself and its client gets the script's reply.
    let reply = String::from_utf8_lossy(&runner.read_reply()).into_owned();
    assert!(reply.starts_with(':'), "{reply}");
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert_eq!(c.cmds(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(
        c.cmds(&["SCRIPT", "KILL"]),
        "-NOTBUSY No scripts in execution right now.\r\n"
    );
}

#[test]
fn shutdown_nosave_while_a_script_is_busy_exits() {
    let dir = TempDir::new("script-busy-shutdown");
    let mut s = ServerProc::start_in(&dir.0, &["--appendonly", "yes", "--save", ""]);
    let mut c = s.conn();
    assert_eq!(c.cmds(&["SET", "before", "1"]), "+OK\r\n");
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "busy-reply-threshold", "50"]),
        "+OK\r\n"
    );
    let script = "redis.call('set', 'inside', '1')\nwhile true do end";
    let mut runner = start_script(&s, script);
    wait_busy(&mut c);
    assert_eq!(c.cmds(&["SCRIPT", "KILL"]), UNKILLABLE);
    assert_eq!(c.cmds(&["SHUTDOWN"]), BUSY);
    assert_eq!(c.cmds(&["SHUTDOWN", "SAVE"]), BUSY);
    send(&mut c, &["SHUTDOWN", "NOSAVE"]);
    assert!(c.is_closed_within(LIMIT));
    assert!(
        runner.is_closed_within(LIMIT),
        "the script's client gets no reply"
    );
    assert_eq!(wait_exit(&mut s.child, LIMIT), Some(0));
    // The half-run script's write never reached the log.
    let s2 = ServerProc::start_in(&dir.0, &["--appendonly", "yes", "--save", ""]);
    let mut c2 = s2.conn();
    assert_eq!(c2.cmds(&["GET", "before"]), "$1\r\n1\r\n");
    assert_eq!(c2.cmds(&["EXISTS", "inside"]), ":0\r\n");
}

#[test]
fn threshold_zero_lets_scripts_run_uninterrupted() {
    let s = ServerProc::start(&["--save", ""]);
    let mut c = s.conn();
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "busy-reply-threshold", "0"]),
        "+OK\r\n"
    );
    let started = Instant::now();
    let mut runner = start_script(&s, &spin_ms(300, false));
    // Give the script time to start; PING then waits for its end.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(String::from_utf8_lossy(&runner.read_reply()).starts_with(':'));
}

#[test]
fn replication_goes_on_after_a_busy_script() {
    let m = ServerProc::start(&["--save", "", "--repl-diskless-sync-delay", "0"]);
    let port = m.port.to_string();
    let r = ServerProc::start(&["--save", "", "--replicaof", "127.0.0.1", &port]);
    let mut mc = m.conn();
    let mut rc = r.conn();
    assert!(wait_until(LIMIT, || {
        info_str(&mut rc, "replication", "master_link_status").as_deref() == Some("up")
    }));
    for c in [&mut mc, &mut rc] {
        assert_eq!(
            c.cmds(&["CONFIG", "SET", "busy-reply-threshold", "50"]),
            "+OK\r\n"
        );
    }
    // The master runs a busy script that writes: the replica gets its
    // effect once it ends.
    let mut runner = start_script(&m, &spin_ms(300, true));
    wait_busy(&mut mc);
    assert!(runner.read_reply().starts_with(b":"));
    assert!(wait_until(LIMIT, || rc.cmds(&["GET", "k"]) == "$1\r\nv\r\n"));
    // The replica runs a busy read-only script while its master writes:
    // the stream is applied after the kill, the link stays up.
    let mut ro = r.conn();
    send(&mut ro, &["EVAL_RO", FOREVER, "0"]);
    wait_busy(&mut rc);
    assert_eq!(mc.cmds(&["SET", "during", "1"]), "+OK\r\n");
    assert_eq!(rc.cmds(&["GET", "during"]), BUSY);
    assert_eq!(rc.cmds(&["SCRIPT", "KILL"]), "+OK\r\n");
    assert!(String::from_utf8_lossy(&ro.read_reply()).starts_with("-ERR Script killed"));
    assert!(wait_until(LIMIT, || rc.cmds(&["GET", "during"]) == "$1\r\n1\r\n"));
    assert_eq!(
        info_str(&mut rc, "replication", "master_link_status").as_deref(),
        Some("up")
    );
}

/// The same session against redis-server 7.0 and RedisLite, replies
/// compared byte for byte: refusals, allow-busy commands, the
/// transaction rules, SCRIPT KILL and the killed script's error.
#[test]
fn differential_busy_session() {
    let session = |s: &ServerProc| -> Vec<String> {
        let mut c = s.conn();
        let mut out = vec![c.cmds(&["CONFIG", "SET", "busy-reply-threshold", "50"])];
        let mut runner = start_script(s, FOREVER);
        wait_busy(&mut c);
        for cmd in [
            &["PING"][..],
            &["GET", "x"],
            &["EVALSHA", "0000", "0"],
            &["SCRIPT", "KILL", "x"],
            &["SCRIPT", "LOAD", "return 1"],
            &["SHUTDOWN"],
            &["SHUTDOWN", "ABORT"],
            &["AUTH", "x"],
            &["MULTI"],
            &["INCR", "x"],
            &["WATCH", "x"],
            &["EXEC"],
            &["EXEC"],
            &["DISCARD"],
            &["UNWATCH"],
            &["SCRIPT", "KILL"],
        ] {
            out.push(c.cmds(cmd));
        }
        out.push(String::from_utf8_lossy(&runner.read_reply()).into_owned());
        out.push(c.cmds(&["SCRIPT", "KILL"]));
        out.push(c.cmds(&["INFO", "errorstats"]));
        out
    };
    let reference = ServerProc::start_reference(&[]);
    let ours = ServerProc::start(&["--save", ""]);
    let (want, got) = (session(&reference), session(&ours));
    // Everything but the BUSY counts (they depend on wait_busy's polls).
    let n = want.len();
    assert_eq!(got[..n - 1], want[..n - 1]);
    let kinds = |info: &str| -> Vec<String> {
        info.lines()
            .filter_map(|l| l.split(':').next())
            .filter(|k| k.starts_with("errorstat_"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(kinds(&got[n - 1]), kinds(&want[n - 1]));
}

const BUSY_FUNCTION: &str =
    "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n";

/// A busy function: FUNCTION STATS describes it (name, command, time),
/// SCRIPT KILL is refused with the function's BUSY text, FUNCTION KILL
/// stops it with Redis's text naming the function; while an EVAL script
/// is busy, FUNCTION STATS answers BUSY and FUNCTION KILL does not apply.
/// Texts and shapes as redis-server 7.0.15's.
#[test]
fn function_kill_and_stats_while_a_function_is_busy() {
    let s = server();
    let mut c = s.conn();
    let lib = "#!lua name=spin\nredis.register_function('spin', function(keys, args)\n  local i = 0 while true do i = i + 1 end\nend)";
    assert_eq!(c.cmds(&["FUNCTION", "LOAD", lib]), "$4\r\nspin\r\n");
    let mut runner = s.conn();
    send(&mut runner, &["FCALL", "spin", "1", "k", "a"]);
    assert!(
        wait_until(LIMIT, || c.cmds(&["PING"]) == BUSY_FUNCTION),
        "the function never became busy"
    );
    let stats = c.cmds(&["FUNCTION", "STATS"]);
    assert!(
        stats.starts_with("*4\r\n$14\r\nrunning_script\r\n*6\r\n$4\r\nname\r\n$4\r\nspin\r\n$7\r\ncommand\r\n*5\r\n$5\r\nFCALL\r\n$4\r\nspin\r\n$1\r\n1\r\n$1\r\nk\r\n$1\r\na\r\n$11\r\nduration_ms\r\n:"),
        "{stats}"
    );
    assert!(stats.ends_with("$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:1\r\n"), "{stats}");
    assert_eq!(c.cmds(&["SCRIPT", "KILL"]), BUSY_FUNCTION);
    assert_eq!(c.cmds(&["FUNCTION", "KILL"]), "+OK\r\n");
    assert_eq!(
        String::from_utf8_lossy(&runner.read_reply()),
        "-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:3.\r\n"
    );
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
    // Now an EVAL script is the busy one.
    let mut runner = start_script(&s, FOREVER);
    wait_busy(&mut c);
    assert_eq!(c.cmds(&["FUNCTION", "STATS"]), BUSY);
    assert_eq!(c.cmds(&["FUNCTION", "KILL"]), BUSY);
    assert_eq!(c.cmds(&["SCRIPT", "KILL"]), "+OK\r\n");
    assert!(String::from_utf8_lossy(&runner.read_reply()).starts_with("-ERR Script killed"));
    assert!(c
        .cmds(&["FUNCTION", "STATS"])
        .starts_with("*4\r\n$14\r\nrunning_script\r\n$-1\r\n"));
}
