//! Protected mode end to end, from a real non-loopback peer: two private
//! network namespaces joined by a veth pair (10.200.0.1 for the server,
//! 10.200.0.2 for the remote client), so the test never touches the
//! host's own interfaces. The same observations are made on RedisLite and
//! on redis-server 7.0 and must be equal.
//!
//! Needs root (CAP_NET_ADMIN) and `ip`; without them it fails and says so.

use crate::common::{wait_until, Conn, SERVER_BIN};
use std::io::{BufReader, Read};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const SERVER_IP: &str = "10.200.0.1";
const CLIENT_IP_CIDR: &str = "10.200.0.2/24";
const PORT: u16 = 6379;

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("running ip {args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Two namespaces and the veth between them; deleted on drop (deleting a
/// namespace also removes its veth end, and with it the pair).
struct NetnsPair {
    server_ns: String,
    client_ns: String,
}

impl NetnsPair {
    fn create() -> NetnsPair {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}x{n}", std::process::id());
        let pair = NetnsPair {
            server_ns: format!("rl-pm-{id}-s"),
            client_ns: format!("rl-pm-{id}-c"),
        };
        // Interface names are at most 15 bytes.
        let (va, vb) = (format!("rv{id}a"), format!("rv{id}b"));
        let steps: Vec<Vec<&str>> = vec![
            vec!["netns", "add", &pair.server_ns],
            vec!["netns", "add", &pair.client_ns],
            vec!["link", "add", &va, "type", "veth", "peer", "name", &vb],
            vec!["link", "set", &va, "netns", &pair.server_ns],
            vec!["link", "set", &vb, "netns", &pair.client_ns],
            vec![
                "-n",
                &pair.server_ns,
                "addr",
                "add",
                "10.200.0.1/24",
                "dev",
                &va,
            ],
            vec![
                "-n",
                &pair.client_ns,
                "addr",
                "add",
                CLIENT_IP_CIDR,
                "dev",
                &vb,
            ],
            vec!["-n", &pair.server_ns, "link", "set", &va, "up"],
            vec!["-n", &pair.client_ns, "link", "set", &vb, "up"],
            vec!["-n", &pair.server_ns, "link", "set", "lo", "up"],
        ];
        for s in steps {
            if let Err(e) = ip(&s) {
                let _ = ip(&["link", "del", &va]);
                drop(pair);
                panic!(
                    "protected-mode test needs network namespaces (root / CAP_NET_ADMIN and iproute2): {e}"
                );
            }
        }
        pair
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.server_ns]);
        let _ = ip(&["netns", "del", &self.client_ns]);
    }
}

/// Connect from inside namespace `ns`: a helper thread enters it (setns
/// changes only the calling thread) and opens the socket, which stays in
/// that namespace wherever it is used afterwards.
fn connect_in(ns: &str, host: &str) -> std::io::Result<TcpStream> {
    let path = format!("/run/netns/{ns}");
    let host = host.to_string();
    std::thread::spawn(move || {
        let f = std::fs::File::open(&path)?;
        // SAFETY: setns on a valid namespace fd, affecting only this
        // short-lived thread.
        if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let s = TcpStream::connect((host.as_str(), PORT))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(s)
    })
    .join()
    .expect("connect thread")
}

fn conn_of(s: TcpStream) -> Conn {
    Conn {
        writer: s.try_clone().unwrap(),
        reader: BufReader::new(s),
    }
}

/// A server process started inside the server namespace; killed by pid
/// on drop (`ip netns exec` execs the server, so the child is the server).
struct NsServer(Child);

impl Drop for NsServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_in(net: &NetnsPair, bin: &str, extra: &[&str]) -> NsServer {
    let port = PORT.to_string();
    let mut args = vec![
        "netns",
        "exec",
        &net.server_ns,
        bin,
        "--port",
        &port,
        "--bind",
        SERVER_IP,
        "127.0.0.1",
        "--save",
        "",
        "--protected-mode",
        "yes",
    ];
    args.extend_from_slice(extra);
    let child = Command::new("ip")
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server in namespace");
    let srv = NsServer(child);
    let ready = wait_until(Duration::from_secs(10), || {
        connect_in(&net.server_ns, "127.0.0.1")
            .map(|s| conn_of(s).cmd(&["PING"]) == b"+PONG\r\n")
            .unwrap_or(false)
    });
    assert!(ready, "{bin} did not start in namespace {}", net.server_ns);
    srv
}

/// Everything a remote peer receives after sending PING (the server
/// closes the connection after a protected-mode refusal).
fn remote_ping_then_eof(net: &NetnsPair) -> Vec<u8> {
    let mut s = connect_in(&net.client_ns, SERVER_IP).expect("remote connect");
    std::io::Write::write_all(&mut s, b"PING\r\n").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// The protected-mode observations for one server binary.
fn observe(bin: &str) -> Vec<String> {
    let net = NetnsPair::create();
    let _srv = start_in(&net, bin, &[]);
    let mut seen = Vec::new();
    let mut show = |what: &str, bytes: &[u8]| {
        seen.push(format!("{what}: {}", String::from_utf8_lossy(bytes)));
    };
    // No password: the remote peer gets the DENIED text and is closed.
    show("remote, no password", &remote_ping_then_eof(&net));
    // A loopback client is served.
    let mut local = conn_of(connect_in(&net.server_ns, "127.0.0.1").unwrap());
    show("loopback", &local.cmd(&["PING"]));
    let info = local.cmds(&["INFO", "stats"]);
    let rejected = info
        .lines()
        .find(|l| l.starts_with("rejected_connections:"))
        .unwrap_or("none")
        .to_string();
    show("loopback INFO", rejected.as_bytes());
    // With a password, the remote peer connects and must AUTH.
    show(
        "set requirepass",
        &local.cmd(&["CONFIG", "SET", "requirepass", "s3cret"]),
    );
    let mut remote = conn_of(connect_in(&net.client_ns, SERVER_IP).unwrap());
    show("remote before AUTH", &remote.cmd(&["PING"]));
    show("remote AUTH", &remote.cmd(&["AUTH", "s3cret"]));
    show("remote after AUTH", &remote.cmd(&["PING"]));
    // protected-mode no: a remote peer is let in without a password.
    local.cmd(&["AUTH", "s3cret"]);
    local.cmd(&["CONFIG", "SET", "requirepass", ""]);
    show(
        "protected-mode no",
        &local.cmd(&["CONFIG", "SET", "protected-mode", "no"]),
    );
    let mut open = conn_of(connect_in(&net.client_ns, SERVER_IP).unwrap());
    show("remote, protection off", &open.cmd(&["PING"]));
    seen
}

#[test]
fn protected_mode_refuses_remote_peers_like_redis() {
    let reference = crate::common::which("redis-server").expect("redis-server not installed");
    let ours = observe(SERVER_BIN);
    let theirs = observe(reference.to_str().unwrap());
    assert!(
        ours[0].contains("-DENIED Redis is running in protected mode"),
        "{ours:?}"
    );
    assert_eq!(ours, theirs);
}
