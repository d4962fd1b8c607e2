//! Socket-level fuzzing of the real binary: many connections send
//! thousands of random, mutated and hostile frames; afterwards the server
//! must still answer PING and a control key written before must be intact.
//!
//! The frames come from the same generator as the command fuzz target
//! (`server::offline::commands_from_bytes`: real command names, a few
//! keys), then some are mutated (bit flips, cuts, inserted bytes) or
//! replaced by raw bytes and hostile seeds (1 GB claims, negative lengths,
//! deep nesting). The fuzzing clients log in as an ACL user without
//! `@dangerous` commands and with keys `k*` only, so the server itself
//! keeps them from FLUSHALL, CLIENT KILL, SHUTDOWN or the control key —
//! whatever the mutations produce — and a failure can only be the
//! server's. The run is seeded (printed; FUZZ_SOCKET_SEED=n replays it)
//! and bounded in frames and time.

use super::common::*;
use redislite::server::offline::commands_from_bytes;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Frames to send in total, and the connections they are spread over.
const FRAMES_TOTAL: usize = 30_000;
const FRAMES_PER_CONNECTION_MAX: usize = 400;
const THREADS: u64 = 4;
/// Stop early past this, whatever was sent (a loaded machine is slow).
const TIME_LIMIT: Duration = Duration::from_secs(40);

const CONTROL_VALUE: &str = "control-value-\u{e9}";
const ADMIN_PASS: &str = "fuzz-admin-pass-not-guessable-3b9f";

/// Frames no generator would produce by chance.
const HOSTILE: &[&[u8]] = &[
    b"*1\r\n$1073741824\r\nabc",
    b"*1073741824\r\n$1\r\na\r\n",
    b"*-5\r\n*0\r\n$-2\r\n",
    b"*2\r\n$3\r\nGETx\r\n$1\r\n\r\n",
    b"*3\r\n$3\r\nSET$1\r\na\r\n",
    b"*1\r$4\rPING\r",
    b"*99999999999999999999\r\n",
    b"\xff\xfe\x00\xc3\x28 \"unterminated\r\n",
    b"*1\r\n%1\r\n~1\r\n>1\r\n*1\r\n%1\r\n~1\r\n>1\r\n:1\r\n",
    b"SET k1 \"a\\x\" 'b\r\n",
];

fn encode_argv(argv: &[Vec<u8>]) -> Vec<u8> {
    let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    encode(&args)
}

/// One frame, drawn by `rng`. A `well_framed` frame is a generated
/// command whose arguments may be mutated but whose RESP framing is
/// intact, so the connection lives on; otherwise anything goes (raw
/// bytes, hostile frames, inline lines, mutated framing), which usually
/// ends the connection with a protocol error.
fn frame(rng: &mut u64, well_framed: bool) -> Vec<u8> {
    let mut draw = |n: u64| crate::common_rng(rng) % n;
    let raw: Vec<u8> = (0..draw(64)).map(|_| draw(256) as u8).collect();
    let kind = if well_framed { 0 } else { draw(4) };
    let mut f = match kind {
        0 => {
            let mut argv = commands_from_bytes(&raw)
                .into_iter()
                .next()
                .unwrap_or_else(|| vec![b"PING".to_vec()]);
            // Mutate an argument one time in four: flip a bit, cut it,
            // insert a byte.
            if draw(4) == 0 {
                let i = draw(argv.len() as u64) as usize;
                let a = &mut argv[i];
                let at = draw(a.len() as u64 + 1) as usize;
                match draw(3) {
                    0 if at < a.len() => a[at] ^= 1 << draw(8),
                    1 => a.truncate(at),
                    _ => a.insert(at, draw(256) as u8),
                }
            }
            return encode_argv(&argv);
        }
        1 => raw,
        2 => HOSTILE[draw(HOSTILE.len() as u64) as usize].to_vec(),
        _ => {
            let line: Vec<u8> = (0..draw(30))
                .map(|_| b"ab k1 \"'\\x0"[draw(11) as usize])
                .collect();
            [line, b"\r\n".to_vec()].concat()
        }
    };
    // Mutate the framing of a valid command too, now and then.
    if draw(2) == 0 && !f.is_empty() {
        let at = draw(f.len() as u64) as usize;
        match draw(3) {
            0 => f[at] ^= 1 << draw(8),
            1 => f.truncate(at),
            _ => f.insert(at, draw(256) as u8),
        }
    }
    f
}

/// One fuzzing connection: log in, send `frames` frames (reading
/// whatever came back meanwhile, never waiting for it), then half-close
/// and drain the replies. Returns frames sent (the
/// server closes a connection after a protocol error).
fn fuzz_connection(port: u16, rng: &mut u64, frames: usize) -> usize {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    if s.write_all(&encode(&[b"AUTH", b"fuzz", b"fuzz-pass"]))
        .is_err()
    {
        return 0;
    }
    let mut sent = 0;
    let mut sink = [0u8; 16 * 1024];
    while sent < frames {
        // A batch per write: pipelined frames end at any byte boundary.
        // The last batch may break the framing; the earlier ones keep
        // the connection alive so their commands run.
        let last = sent + 8 >= frames;
        let batch: Vec<u8> = (0..8).flat_map(|i| frame(rng, !last || i < 4)).collect();
        if s.write_all(&batch).is_err() {
            break; // closed by the server (protocol error): expected
        }
        sent += 8;
        // Keep our receive buffer from filling; never wait for replies
        // (a blocking command may hold them back forever).
        if matches!(s.read(&mut sink), Ok(0)) {
            break;
        }
    }
    // Half-close and read to the end: closing with replies unread would
    // send a reset, and the server would drop input it had not read yet.
    // Bounded: a connection left blocked (BLPOP k 0) is simply dropped.
    let _ = s.shutdown(std::net::Shutdown::Write);
    let until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < until {
        match s.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
    sent
}

#[test]
fn random_and_mutated_frames_leave_the_server_intact() {
    fuzz_run(&[], FRAMES_TOTAL);
}

/// The same traffic under a 6 KiB client-memory limit, which the control
/// connection (a few KiB of kept reply buffer) and a few fuzzing
/// connections (~570 bytes each, more with buffered input or replies)
/// reach: most fuzzing connections are evicted mid-stream (in a
/// transaction, blocked, subscribed, with replies pending...; ~450 of
/// ~500 in a run). Evictions happen, and the server, the control key and
/// the exempt control connection are intact.
#[test]
fn client_eviction_under_random_frames_leaves_the_server_intact() {
    let evicted = fuzz_run(&["maxmemory-clients", "6kb"], FRAMES_TOTAL / 3);
    assert!(evicted > 0, "no client was evicted");
}

/// Run the fuzzing clients against a fresh server (with `config`, CONFIG
/// SET pairs, applied first and the control connection exempt from
/// client eviction), check that nothing the fuzzers could not reach was
/// harmed, and return INFO evicted_clients.
fn fuzz_run(config: &[&str], frames_total: usize) -> u64 {
    let seed: u64 = std::env::var("FUZZ_SOCKET_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
        .max(1);
    println!("fuzz_socket: seed {seed} (replay with FUZZ_SOCKET_SEED={seed})");

    let srv = ServerProc::start(&["--requirepass", ADMIN_PASS]);
    let mut ctl = srv.conn();
    assert_eq!(ctl.cmd(&["AUTH", ADMIN_PASS]), b"+OK\r\n");
    assert_eq!(ctl.cmd(&["SET", "control", CONTROL_VALUE]), b"+OK\r\n");
    assert_eq!(
        ctl.cmd(&["RPUSH", "control:list", "a", "b", "c"]),
        b":3\r\n"
    );
    assert_eq!(
        ctl.cmd(&[
            "ACL",
            "SETUSER",
            "fuzz",
            "on",
            ">fuzz-pass",
            "~k*",
            "~{k}*",
            "&*",
            "+@all",
            "-@dangerous",
        ]),
        b"+OK\r\n"
    );

    assert_eq!(ctl.cmd(&["CLIENT", "NO-EVICT", "on"]), b"+OK\r\n");
    for pair in config.chunks(2) {
        let mut args = vec!["CONFIG", "SET"];
        args.extend_from_slice(pair);
        assert_eq!(ctl.cmd(&args), b"+OK\r\n", "{pair:?}");
    }
    let commands_before = info_u64(&mut ctl, "stats", "total_commands_processed");
    let errors_before = info_u64(&mut ctl, "stats", "total_error_replies");
    let start = Instant::now();
    let port = srv.port;
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            std::thread::spawn(move || {
                let mut rng = seed ^ (t + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let mut sent = 0;
                let mut connections = 0;
                let quota = frames_total / THREADS as usize;
                while sent < quota && start.elapsed() < TIME_LIMIT {
                    let n = 8 + (crate::common_rng(&mut rng) as usize % FRAMES_PER_CONNECTION_MAX);
                    sent += fuzz_connection(port, &mut rng, n);
                    connections += 1;
                }
                (sent, connections)
            })
        })
        .collect();
    let (mut sent, mut connections) = (0, 0);
    for w in workers {
        let (s, c) = w.join().expect("fuzz worker panicked");
        sent += s;
        connections += c;
    }
    let executed = info_u64(&mut ctl, "stats", "total_commands_processed") - commands_before;
    let errors = info_u64(&mut ctl, "stats", "total_error_replies") - errors_before;
    println!(
        "fuzz_socket: {sent} frames over {connections} connections: {executed} commands run, {errors} error replies"
    );
    assert!(
        connections >= THREADS as usize,
        "the fuzzing clients never connected"
    );

    // The control connection has been idle through it all.
    assert_eq!(ctl.cmd(&["PING"]), b"+PONG\r\n", "seed {seed}");
    let expected = format!("${}\r\n{CONTROL_VALUE}\r\n", CONTROL_VALUE.len());
    assert_eq!(
        ctl.cmd(&["GET", "control"]),
        expected.as_bytes(),
        "seed {seed}"
    );
    assert_eq!(
        ctl.cmd(&["LRANGE", "control:list", "0", "-1"]),
        b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
        "seed {seed}"
    );
    // And a new connection is served as usual (with client eviction off:
    // the control connection's kept reply buffer may alone be over a
    // small limit, and its memory counts even though it is exempt).
    let evicted = info_u64(&mut ctl, "stats", "evicted_clients");
    println!("fuzz_socket: {evicted} clients evicted");
    assert_eq!(
        ctl.cmd(&["CONFIG", "SET", "maxmemory-clients", "0"]),
        b"+OK\r\n"
    );
    let mut fresh = srv.conn();
    assert_eq!(fresh.cmd(&["AUTH", ADMIN_PASS]), b"+OK\r\n");
    assert_eq!(fresh.cmd(&["PING"]), b"+PONG\r\n", "seed {seed}");
    evicted
}
