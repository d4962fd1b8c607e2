//! The `unixsocket` listener: clients connect by path as well as by TCP,
//! the socket file gets `unixsocketperm` and replaces a stale file of the
//! same name, CLIENT LIST shows such clients as Redis does (`addr=path:0`,
//! flag `U`), and a clean shutdown removes the file.

use crate::common::{which, ServerProc, TempDir};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;

/// One request on a fresh Unix connection; its reply's lines up to the
/// expected count.
fn unix_cmd(path: &std::path::Path, req: &[u8], lines: usize) -> Vec<String> {
    let mut s = UnixStream::connect(path).expect("connect to the unix socket");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    s.write_all(req).unwrap();
    let mut r = BufReader::new(s);
    (0..lines)
        .map(|_| {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            l.trim_end().to_string()
        })
        .collect()
}

#[test]
fn unix_socket_serves_clients_with_its_permissions_and_is_removed_at_exit() {
    let dir = TempDir::new("unixsock");
    let path = dir.0.join("redis.sock");
    // A stale file where the socket goes, as a crash would leave it.
    std::fs::write(&path, b"stale").unwrap();
    let path_s = path.to_str().unwrap().to_string();
    let mut s = ServerProc::start(&["--unixsocket", &path_s, "--unixsocketperm", "700"]);
    let meta = std::fs::metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o7777, 0o700);

    assert_eq!(unix_cmd(&path, b"PING\r\n", 1), ["+PONG"]);
    assert_eq!(
        unix_cmd(&path, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvu\r\n", 1),
        ["+OK"]
    );
    // The same dataset as over TCP.
    let mut tcp = s.conn();
    assert_eq!(tcp.cmds(&["GET", "k"]), "$2\r\nvu\r\n");
    let info = unix_cmd(&path, b"CLIENT INFO\r\n", 2);
    let want = format!("addr={path_s}:0 laddr={path_s}:0 ");
    assert!(info[1].contains(&want), "{info:?}");
    assert!(info[1].contains(" flags=U "), "{info:?}");
    assert_eq!(
        tcp.cmds(&["CONFIG", "GET", "unixsocketperm"]),
        "*2\r\n$14\r\nunixsocketperm\r\n$3\r\n700\r\n"
    );
    if let Some(cli) = which("redis-cli") {
        let out = std::process::Command::new(cli)
            .args(["-s", &path_s, "GET", "k"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "vu\n");
    }

    assert_eq!(s.terminate(), Some(0));
    assert!(!path.exists(), "the socket file outlived the server");
}

/// An unusable path stops startup with Redis's message.
#[test]
fn unix_socket_in_a_missing_directory_is_fatal() {
    let dir = TempDir::new("unixsock-bad");
    let path = dir.0.join("no-such-dir").join("redis.sock");
    let out = std::process::Command::new(crate::common::SERVER_BIN)
        .args(["--port", "0", "--unixsocket", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("Failed opening Unix socket"), "{text}");
}
