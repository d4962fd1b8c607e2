//! The metrics endpoint: a minimal HTTP/1.1 server on `metrics-port`,
//! driven by the same mio loop as the RESP clients.
//!
//! Owns: the metrics listener and its connections. `GET /metrics` gets
//! 200 and the Prometheus text (observe/metrics.rs); any other path 404;
//! anything that is not a well-formed request line with headers 400. Every
//! response carries `Connection: close` and the connection is closed once
//! it is written: scrapers connect per scrape, and a server that never
//! keeps HTTP state cannot be made to hold it.
//!
//! Must never: block or starve the data path. Sockets are non-blocking;
//! a request is at most `REQUEST_BYTES_MAX` (more gets 400); at most
//! `CONNECTIONS_MAX` connections are open (more are closed at accept);
//! rendering is O(commands + databases), not O(keys).

use super::Server;
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Token};
use std::io::{self, Read, Write};

/// Token of the metrics listener (the last listener token).
pub const LISTENER_TOKEN: usize = super::MAX_LISTENERS - 1;
/// Tokens of metrics connections start here (far above client tokens).
pub const CONN_TOKEN_BASE: usize = 1 << 40;
pub const CONNECTIONS_MAX: usize = 16;
pub const REQUEST_BYTES_MAX: usize = 8 * 1024;
/// Reads of queued input discarded before closing (x 2 KiB).
const DRAIN_READS_MAX: usize = 64;

pub struct HttpConn {
    stream: TcpStream,
    input: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    /// A response is queued: stop reading, close once written.
    responded: bool,
}

#[derive(Default)]
pub struct MetricsEndpoint {
    pub listener: Option<TcpListener>,
    pub conns: Vec<Option<HttpConn>>,
}

/// Bind the metrics listener on the first `bind` address.
pub fn bind(config: &crate::config::Config) -> Result<Option<TcpListener>, String> {
    if config.metrics_port == 0 {
        return Ok(None);
    }
    let host = config
        .bind
        .first()
        .map(|b| b.trim_start_matches('-'))
        .unwrap_or("127.0.0.1");
    let ip: std::net::IpAddr = match host {
        "*" => std::net::Ipv4Addr::UNSPECIFIED.into(),
        "::*" => std::net::Ipv6Addr::UNSPECIFIED.into(),
        "localhost" => std::net::Ipv4Addr::LOCALHOST.into(),
        other => other
            .parse()
            .map_err(|_| format!("Invalid bind address '{other}'"))?,
    };
    let addr = std::net::SocketAddr::new(ip, config.metrics_port);
    TcpListener::bind(addr)
        .map(Some)
        .map_err(|e| format!("Could not listen for metrics on {addr}: {e}"))
}

fn response(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Decide the answer to a complete request head (`head` ends before the
/// blank line). Returns (status, is_metrics).
fn route(head: &[u8]) -> &'static str {
    let Ok(head) = std::str::from_utf8(head) else {
        return "400 Bad Request";
    };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let parts: Vec<&str> = request_line.split(' ').collect();
    let [method, target, version] = parts[..] else {
        return "400 Bad Request";
    };
    if !(version == "HTTP/1.1" || version == "HTTP/1.0") || !target.starts_with('/') {
        return "400 Bad Request";
    }
    // Every header line must be `name: value`.
    if lines.any(|l| !l.contains(':') || l.starts_with(' ')) {
        return "400 Bad Request";
    }
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/metrics") => "200 OK",
        ("GET", _) | ("HEAD", _) => "404 Not Found",
        _ => "405 Method Not Allowed",
    }
}

impl Server {
    pub fn register_metrics_listener(&mut self) -> io::Result<()> {
        if let Some(l) = self.metrics.listener.as_mut() {
            self.poll
                .registry()
                .register(l, Token(LISTENER_TOKEN), Interest::READABLE)?;
        }
        Ok(())
    }

    pub fn accept_metrics(&mut self) {
        for _ in 0..CONNECTIONS_MAX * 4 {
            let Some(listener) = self.metrics.listener.as_ref() else {
                return;
            };
            let mut stream = match listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            let slot = match self.metrics.conns.iter().position(|c| c.is_none()) {
                Some(s) => s,
                None if self.metrics.conns.len() < CONNECTIONS_MAX => {
                    self.metrics.conns.push(None);
                    self.metrics.conns.len() - 1
                }
                // Full: dropping the stream closes it.
                None => continue,
            };
            if self
                .poll
                .registry()
                .register(
                    &mut stream,
                    Token(CONN_TOKEN_BASE + slot),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .is_err()
            {
                continue;
            }
            self.metrics.conns[slot] = Some(HttpConn {
                stream,
                input: Vec::new(),
                out: Vec::new(),
                out_pos: 0,
                responded: false,
            });
            // Data may already be waiting (edge-triggered).
            self.metrics_ready(slot);
        }
    }

    /// Read, answer, write for one metrics connection.
    pub fn metrics_ready(&mut self, slot: usize) {
        let Some(Some(mut conn)) = self.metrics.conns.get_mut(slot).map(|c| c.take()) else {
            return;
        };
        let mut closed = false;
        let mut buf = [0u8; 2048];
        while !conn.responded {
            match conn.stream.read(&mut buf) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => {
                    conn.input.extend_from_slice(&buf[..n]);
                    if let Some(end) = conn.input.windows(4).position(|w| w == b"\r\n\r\n") {
                        let status = route(&conn.input[..end]);
                        conn.out = if status == "200 OK" {
                            let body = crate::observe::metrics::render(self);
                            response(
                                status,
                                "text/plain; version=0.0.4; charset=utf-8",
                                body.as_bytes(),
                            )
                        } else {
                            response(status, "text/plain; charset=utf-8", status.as_bytes())
                        };
                        conn.responded = true;
                    } else if conn.input.len() > REQUEST_BYTES_MAX {
                        conn.out = response(
                            "400 Bad Request",
                            "text/plain; charset=utf-8",
                            b"400 Bad Request",
                        );
                        conn.responded = true;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        if conn.responded && !closed {
            while conn.out_pos < conn.out.len() {
                match conn.stream.write(&conn.out[conn.out_pos..]) {
                    Ok(0) => {
                        closed = true;
                        break;
                    }
                    Ok(n) => conn.out_pos += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => {
                        closed = true;
                        break;
                    }
                }
            }
            if conn.out_pos == conn.out.len() {
                closed = true;
            }
        }
        if !closed {
            self.metrics.conns[slot] = Some(conn);
            return;
        }
        // Closing with unread input makes the kernel send a reset, which
        // can destroy the response before the peer reads it (an oversized
        // request). Discard what is already queued, up to a bound, first.
        let _ = conn.stream.shutdown(std::net::Shutdown::Write);
        for _ in 0..DRAIN_READS_MAX {
            match conn.stream.read(&mut buf) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
        // Dropping `conn` closes the socket.
    }
}

#[cfg(test)]
mod tests {
    use super::route;

    #[test]
    fn routes() {
        assert_eq!(route(b"GET /metrics HTTP/1.1\r\nHost: x"), "200 OK");
        assert_eq!(route(b"GET /metrics?x=1 HTTP/1.0"), "200 OK");
        assert_eq!(route(b"GET / HTTP/1.1"), "404 Not Found");
        assert_eq!(route(b"POST /metrics HTTP/1.1"), "405 Method Not Allowed");
        assert_eq!(route(b"hello"), "400 Bad Request");
        assert_eq!(
            route(b"GET /metrics HTTP/1.1\r\nbroken header"),
            "400 Bad Request"
        );
    }
}
