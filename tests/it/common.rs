//! Test harness: start servers on free ports, talk RESP to them.
//!
//! Servers are stopped by pid (SIGTERM, then SIGKILL if they linger) when
//! the handle drops, so a failing test never leaks a process.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SERVER_BIN: &str = env!("CARGO_BIN_EXE_redislite-server");

/// A server that logs every write and fsyncs it before replying, with no
/// snapshots: what a test of log replay starts.
pub const AOF_ALWAYS: [&str; 6] = [
    "--appendonly",
    "yes",
    "--appendfsync",
    "always",
    "--save",
    "",
];

/// A port nobody listens on right now. There is a window between dropping
/// the probe listener and the server binding; `start` retries on failure.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

pub struct ServerProc {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
    /// Remove `dir` on drop (false for `start_in`).
    pub owns_dir: bool,
}

impl ServerProc {
    /// Start RedisLite with extra args (redis-server form).
    pub fn start(args: &[&str]) -> ServerProc {
        Self::start_with(SERVER_BIN, args, &[])
    }

    pub fn start_env(args: &[&str], env: &[(&str, &str)]) -> ServerProc {
        Self::start_with(SERVER_BIN, args, env)
    }

    /// Start Debian's redis-server (the reference). Panics if missing: the
    /// differential suite must not silently pass without it.
    pub fn start_reference(args: &[&str]) -> ServerProc {
        let bin = which("redis-server").expect(
            "redis-server not found: install Debian's redis-server (apt-get install redis-server)",
        );
        // A config file must stay the first argument.
        let (file, rest) = match args.first() {
            Some(a) if !a.starts_with("--") && !a.is_empty() => (&args[..1], &args[1..]),
            _ => (&args[..0], args),
        };
        let mut all = file.to_vec();
        all.extend_from_slice(&["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"]);
        all.extend_from_slice(rest);
        Self::start_with(bin.to_str().unwrap(), &all, &[])
    }

    fn start_with(bin: &str, args: &[&str], env: &[(&str, &str)]) -> ServerProc {
        Self::start_full(bin, None, None, args, env)
    }

    /// Start RedisLite in `dir` on a given `port` (a restart on the same
    /// address, as a process manager would do). No retry: the port is
    /// the caller's.
    pub fn start_in_on(dir: &std::path::Path, port: u16, args: &[&str]) -> ServerProc {
        Self::start_full(SERVER_BIN, Some(dir), Some(port), args, &[])
    }

    /// Start RedisLite with `dir` as its working directory (kept when the
    /// handle drops, so a test can restart a server on the same files).
    /// Its stderr goes to `dir/server.log`.
    pub fn start_in(dir: &std::path::Path, args: &[&str]) -> ServerProc {
        Self::start_full(SERVER_BIN, Some(dir), None, args, &[])
    }

    /// `start_in` with extra environment variables.
    pub fn start_in_env(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> ServerProc {
        Self::start_full(SERVER_BIN, Some(dir), None, args, env)
    }

    /// RedisLite, or (`reference`) Debian's redis-server, with `args`:
    /// for tests that run the same steps on both.
    pub fn start_either(reference: bool, args: &[&str]) -> ServerProc {
        if reference {
            Self::start_reference(args)
        } else {
            Self::start(args)
        }
    }

    /// `start_either` in `dir` (kept when the handle drops).
    pub fn start_either_in(reference: bool, dir: &std::path::Path, args: &[&str]) -> ServerProc {
        if reference {
            Self::start_reference_in(dir, args)
        } else {
            Self::start_in(dir, args)
        }
    }

    /// Which server `start_either` started, for assertion messages.
    pub fn either_name(reference: bool) -> &'static str {
        if reference {
            "redis-server"
        } else {
            "redislite"
        }
    }

    /// Start Debian's redis-server in `dir` (kept when the handle drops).
    pub fn start_reference_in(dir: &std::path::Path, args: &[&str]) -> ServerProc {
        let bin = which("redis-server").expect("redis-server not found");
        let mut all = vec!["--bind", "127.0.0.1"];
        all.extend_from_slice(args);
        Self::start_full(bin.to_str().unwrap(), Some(dir), None, &all, &[])
    }

    fn start_full(
        bin: &str,
        fixed_dir: Option<&std::path::Path>,
        fixed_port: Option<u16>,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> ServerProc {
        let attempts = if fixed_port.is_some() { 1 } else { 5 };
        for _attempt in 0..attempts {
            let port = fixed_port.unwrap_or_else(free_port);
            let dir = match fixed_dir {
                Some(d) => d.to_path_buf(),
                None => std::env::temp_dir().join(format!(
                    "redislite-test-{}-{}",
                    std::process::id(),
                    port
                )),
            };
            std::fs::create_dir_all(&dir).unwrap();
            let port_s = port.to_string();
            let mut cmd = Command::new(bin);
            // A config file must stay the first argument.
            let (file_arg, rest) = match args.first() {
                Some(a) if !a.starts_with("--") && !a.is_empty() => (Some(*a), &args[1..]),
                _ => (None, args),
            };
            if let Some(f) = file_arg {
                cmd.arg(f);
            }
            cmd.args(rest).args(["--port", &port_s]);
            let stderr = match fixed_dir {
                Some(d) => std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(d.join("server.log"))
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
                None => Stdio::null(),
            };
            cmd.current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr);
            for (k, v) in env {
                cmd.env(k, v);
            }
            let mut child = cmd.spawn().expect("spawn server");
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // exited: probably lost the port race; retry
                }
                if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
                    if s.write_all(b"PING\r\n").is_ok() {
                        // +PONG, -NOAUTH when requirepass is set, or
                        // -MASTERDOWN (replica-serve-stale-data no): all
                        // mean the server is up and parsing commands.
                        let mut buf = [0u8; 7];
                        if s.read_exact(&mut buf).is_ok()
                            && (&buf == b"+PONG\r\n" || &buf == b"-NOAUTH" || &buf == b"-MASTER")
                        {
                            return ServerProc {
                                child,
                                port,
                                dir,
                                owns_dir: fixed_dir.is_none(),
                            };
                        }
                    }
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("server {bin} did not start on port {port}");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        panic!("could not start {bin} after {attempts} attempt(s)");
    }

    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|c| c.get_connection())
            .expect("redis crate connection")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send SIGTERM and wait (bounded) for exit; returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        // SAFETY-free: use the kill command to signal our own child by pid.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        wait_exit(&mut self.child, Duration::from_secs(10))
    }
}

pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return st.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // A failing test shows what the server said (and whether it
            // was still alive) before its directory goes.
            let status = self.child.try_wait();
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            eprintln!("server {status:?}; last log lines:");
            for line in tail.iter().rev() {
                eprintln!("  {line}");
            }
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// A raw RESP connection: send bytes, read whole replies as raw bytes.
pub struct Conn {
    pub reader: BufReader<TcpStream>,
    pub writer: TcpStream,
}

impl Conn {
    pub fn connect(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).ok();
        Conn {
            writer: s.try_clone().unwrap(),
            reader: BufReader::new(s),
        }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
    }

    /// Send a command as a multibulk request.
    pub fn send(&mut self, args: &[&[u8]]) {
        self.send_raw(&encode(args));
    }

    /// Send a command and return its raw reply bytes.
    pub fn cmd(&mut self, args: &[&str]) -> Vec<u8> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.send(&a);
        self.read_reply()
    }

    /// Reply as a string, for readable assertions.
    pub fn cmds(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.cmd(args)).into_owned()
    }

    /// Read exactly one RESP value (any type, nested) and return its bytes.
    pub fn read_reply(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.read_value(&mut out);
        out
    }

    fn read_line(&mut self, out: &mut Vec<u8>) -> Vec<u8> {
        let mut line = Vec::new();
        let n = self
            .reader
            .read_until(b'\n', &mut line)
            .expect("read reply line");
        assert!(n > 0, "connection closed while waiting for a reply");
        out.extend_from_slice(&line);
        line
    }

    fn read_value(&mut self, out: &mut Vec<u8>) {
        let line = self.read_line(out);
        let body = &line[1..line.len().saturating_sub(2)];
        let num = || -> i64 { std::str::from_utf8(body).unwrap().parse().unwrap() };
        match line[0] {
            b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => {}
            b'$' | b'=' | b'!' => {
                let n = num();
                if n >= 0 {
                    let mut buf = vec![0u8; n as usize + 2];
                    self.reader.read_exact(&mut buf).expect("read bulk");
                    out.extend_from_slice(&buf);
                }
            }
            b'*' | b'~' | b'>' => {
                let n = num();
                for _ in 0..n.max(0) {
                    self.read_value(out);
                }
            }
            b'%' | b'|' => {
                let n = num();
                for _ in 0..n.max(0) * 2 {
                    self.read_value(out);
                }
            }
            other => panic!(
                "unexpected reply type byte {:?} in {:?}",
                other as char,
                String::from_utf8_lossy(&line)
            ),
        }
    }

    /// True once the server closed the connection (reads EOF), polling up
    /// to `limit`.
    pub fn is_closed_within(&mut self, limit: Duration) -> bool {
        self.reader.get_ref().set_read_timeout(Some(limit)).ok();
        let mut buf = [0u8; 1];
        matches!(self.reader.read(&mut buf), Ok(0))
    }
}

pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// Poll `f` every 10 ms until it returns true or `limit` passes.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}

/// An `INFO <section>` field parsed as a number.
pub fn info_u64(c: &mut Conn, section: &str, field: &str) -> u64 {
    info_str(c, section, field)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} not in INFO {section}"))
}

/// One INFO field's value as text, None when the field is absent.
pub fn info_str(c: &mut Conn, section: &str, field: &str) -> Option<String> {
    let info = c.cmds(&["INFO", section]);
    info.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|v| v.strip_prefix(':')))
        .map(|v| v.trim().to_string())
}

pub fn blocked_clients(ctl: &mut Conn) -> usize {
    info_u64(ctl, "clients", "blocked_clients") as usize
}

/// Wait (polling INFO) until exactly `n` clients are blocked.
pub fn wait_blocked(ctl: &mut Conn, n: usize) {
    assert!(
        wait_until(Duration::from_secs(5), || blocked_clients(ctl) == n),
        "expected {n} blocked clients, have {}",
        blocked_clients(ctl)
    );
}

/// Send a command without reading its reply.
pub fn send(c: &mut Conn, args: &[&str]) {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    c.send(&a);
}

/// A scratch directory removed when dropped (kept when the test panics).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "redislite-{tag}-{}-{}",
            std::process::id(),
            free_port()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // A failing test keeps its directory (server and daemon logs) for
        // the post-mortem; the path is printed next to the panic.
        if std::thread::panicking() {
            eprintln!("kept {} for inspection", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A helper program a test runs next to RedisLite (redis-sentinel,
/// nutcracker). Killed by pid when the handle drops.
pub struct Daemon {
    pub child: Child,
    pub port: u16,
}

impl Daemon {
    /// Start `bin` with `args` in `dir` (its output goes to
    /// `dir/<name>-<port>.log`) and wait until `port` accepts connections.
    pub fn spawn(bin: &str, args: &[&str], dir: &std::path::Path, port: u16) -> Daemon {
        let path = which(bin).unwrap_or_else(|| panic!("{bin} not found: .ci/run installs it"));
        let log = std::fs::File::create(dir.join(format!("{bin}-{port}.log")))
            .map(Stdio::from)
            .unwrap_or_else(|_| Stdio::null());
        let child = Command::new(path)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
        let mut d = Daemon { child, port };
        let up = wait_until(Duration::from_secs(10), || {
            matches!(d.child.try_wait(), Ok(None))
                && TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "{bin} did not start listening on {port}");
        d
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `template` (a shipped config in contrib/) with each `from` replaced by
/// its `to`. Panics when a `from` is missing, so a test fails loudly when
/// the shipped file changes under it instead of testing something else.
pub fn substitute(template: &str, pairs: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (from, to) in pairs {
        assert!(out.contains(from), "template lost the line {from:?}");
        out = out.replace(from, to);
    }
    out
}
