//! MIGRATE: move keys to another server over a connection of our own, as
//! Redis 7.0 does: DUMP payloads sent as RESTORE commands, the local keys
//! deleted once the target acknowledged them, the whole command
//! propagated as the DEL of those keys.
//!
//! Owns: the command and [`MigrateSockets`], the cache of connections to
//! targets (one per `host:port`, at most [`CACHE_MAX`], closed after
//! [`CACHE_IDLE_SECS`] unused, each remembering the database it last
//! SELECTed so a series of MIGRATEs to the same place sends SELECT once).
//!
//! The network I/O is synchronous and blocks the event loop, bounded by
//! the command's timeout per connect, write and reply line, exactly as
//! redis-server does: MIGRATE is an administrative command, and the
//! target's acknowledgement must arrive before a local key may go.
//!
//! Must never: delete a key the target did not acknowledge, or read a
//! reply line longer than [`LINE_MAX`] (a target is a peer like any
//! other).
//!
//! Quirks kept from Redis 7.0 (a client sees them): a refused connection
//! is reported as a *write* error, because Redis's blocking connect does
//! not check the socket's error and the first write fails; a socket error
//! other than a timeout is retried once on a fresh connection when nothing
//! was acknowledged yet.

use super::{parse_int, Argv};
use crate::connection::Client;
use crate::db::Access;
use crate::errors::{CmdError, CmdResult};
use crate::notify::GENERIC;
use crate::persistence::propagate::encode_command;
use crate::persistence::{dump, rdb};
use crate::server::Server;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Most cached target connections (Redis's MIGRATE_SOCKET_CACHE_ITEMS).
pub const CACHE_MAX: usize = 64;
/// A cached connection unused this long is closed by cron.
pub const CACHE_IDLE_SECS: i64 = 10;
/// Longest reply line read from a target.
pub const LINE_MAX: usize = 64 * 1024;
/// Payload bytes written per write call.
const WRITE_CHUNK: usize = 64 * 1024;

struct Target {
    stream: TcpStream,
    /// The database selected on the target (None: unknown, SELECT first).
    last_db: Option<i64>,
    last_use_ms: i64,
    /// Bytes read past the last reply line (replies arrive pipelined).
    pending: Vec<u8>,
}

/// Connections to MIGRATE targets, by "host:port".
#[derive(Default)]
pub struct MigrateSockets {
    targets: HashMap<String, Target>,
}

impl MigrateSockets {
    /// Cron: close connections unused for `CACHE_IDLE_SECS`.
    pub fn close_idle(&mut self, now_ms: i64) {
        if !self.targets.is_empty() {
            self.targets
                .retain(|_, t| now_ms - t.last_use_ms <= CACHE_IDLE_SECS * 1000);
        }
    }

    fn close(&mut self, name: &str) {
        self.targets.remove(name);
    }
}

/// What the command asked for.
struct Request<'a> {
    host: String,
    port: Option<u16>,
    db: i64,
    timeout: Duration,
    copy: bool,
    replace: bool,
    auth: Option<(Option<&'a [u8]>, &'a [u8])>,
    keys: Vec<&'a [u8]>,
}

/// Redis's argument rules: options after the timeout, KEYS last (and only
/// with an empty key argument); then the database and the timeout must be
/// integers, a timeout <= 0 meaning 1000 ms.
fn parse<'a>(argv: &Argv<'a>) -> Result<Request<'a>, CmdError> {
    let (mut copy, mut replace, mut auth) = (false, false, None);
    let mut keys = vec![argv.get(3)];
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if argv.is(j, "copy") {
            copy = true;
        } else if argv.is(j, "replace") {
            replace = true;
        } else if argv.is(j, "auth") {
            if more < 1 {
                return Err(CmdError::Syntax);
            }
            auth = Some((None, argv.get(j + 1)));
            j += 1;
        } else if argv.is(j, "auth2") {
            if more < 2 {
                return Err(CmdError::Syntax);
            }
            auth = Some((Some(argv.get(j + 1)), argv.get(j + 2)));
            j += 2;
        } else if argv.is(j, "keys") {
            if !argv.get(3).is_empty() {
                return Err(CmdError::msg(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            keys = argv.iter().skip(j + 1).collect();
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let timeout = parse_int(argv.get(5))?;
    let db = parse_int(argv.get(4))?;
    let timeout_ms = if timeout <= 0 { 1000 } else { timeout as u64 };
    Ok(Request {
        host: String::from_utf8_lossy(argv.get(1)).into_owned(),
        port: atoi_port(argv.get(2)),
        db,
        timeout: Duration::from_millis(timeout_ms),
        copy,
        replace,
        auth,
        keys,
    })
}

/// Positions of the keys after a KEYS option (the KEYS form: the key
/// argument is then the empty string), for COMMAND GETKEYS and the ACL.
/// Empty without one.
pub fn keys_option_positions(argv: &Argv) -> Vec<usize> {
    if argv.len() < 6 || !argv.get(3).is_empty() {
        return Vec::new();
    }
    let mut j = 6;
    while j < argv.len() {
        if argv.is(j, "keys") {
            return (j + 1..argv.len()).collect();
        }
        // AUTH takes one value, AUTH2 two: a value spelled "keys" is not
        // the option.
        j += if argv.is(j, "auth") {
            2
        } else if argv.is(j, "auth2") {
            3
        } else {
            1
        };
    }
    Vec::new()
}

/// The port as C's atoi reads it (leading digits; none is 0), None when it
/// is no TCP port at all.
fn atoi_port(arg: &[u8]) -> Option<u16> {
    let digits: Vec<u8> = arg
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    if digits.is_empty() {
        return Some(0);
    }
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
/// [AUTH password | AUTH2 username password] [KEYS key ...]
pub fn migrate(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let req = parse(argv)?;
    // Keys that exist now; all missing is not an error (they may have
    // expired meanwhile), as in Redis.
    let present: Vec<&[u8]> = req
        .keys
        .iter()
        .copied()
        .filter(|k| srv.ks.lookup(c.db, k, Access::Read).is_some())
        .collect();
    if present.is_empty() {
        c.reply().simple("NOKEY");
        return Ok(());
    }
    let name = format!("{}:{}", req.host, String::from_utf8_lossy(argv.get(2)));
    let mut retried = false;
    loop {
        match attempt(srv, c.db, &req, &name, &present) {
            Ok(()) => break,
            Err(Failure::Target(e)) => return Err(e),
            Err(Failure::Connect) => {
                return Err(CmdError::msg(
                    "IOERR error or timeout connecting to the client",
                ))
            }
            Err(Failure::Socket { writing, timed_out }) => {
                srv.migrate.close(&name);
                if timed_out || retried {
                    return Err(io_error(writing));
                }
                retried = true;
            }
        }
    }
    c.reply().ok();
    Ok(())
}

fn io_error(writing: bool) -> CmdError {
    let what = if writing { "writing" } else { "reading" };
    CmdError::msg(format!("IOERR error or timeout {what} to target instance"))
}

/// How one attempt ended, when not in success.
enum Failure {
    /// Could not connect (or resolve): no retry.
    Connect,
    /// A write or a reply read failed before anything was acknowledged;
    /// `timed_out` stops the retry.
    Socket { writing: bool, timed_out: bool },
    /// The exchange is over and the command fails with this (the target
    /// refused a command, or the link broke after some keys moved).
    Target(CmdError),
}

/// One try: connect (or reuse), send AUTH / SELECT / one RESTORE per live
/// key in one buffer, read the replies, delete what the target took.
fn attempt(
    srv: &mut Server,
    db: usize,
    req: &Request,
    name: &str,
    present: &[&[u8]],
) -> Result<(), Failure> {
    let now_ms = srv.ks.now_ms;
    if !srv.migrate.targets.contains_key(name) {
        let stream = connect(req)?;
        if srv.migrate.targets.len() >= CACHE_MAX {
            // Full: drop any one, as Redis drops a random one.
            if let Some(k) = srv.migrate.targets.keys().next().cloned() {
                srv.migrate.close(&k);
            }
        }
        srv.migrate.targets.insert(
            name.to_string(),
            Target {
                stream,
                last_db: None,
                last_use_ms: now_ms,
                pending: Vec::new(),
            },
        );
    }
    let select = srv.migrate.targets.get(name).map(|t| t.last_db) != Some(Some(req.db));
    // The whole request is built before anything is sent.
    let mut out = Vec::new();
    if let Some((user, pass)) = req.auth {
        let mut args: Vec<&[u8]> = vec![b"AUTH"];
        args.extend(user);
        args.push(pass);
        encode_command(&mut out, args.into_iter());
    }
    if select {
        let n = req.db.to_string();
        encode_command(&mut out, [&b"SELECT"[..], n.as_bytes()].into_iter());
    }
    let mut sent: Vec<&[u8]> = Vec::new();
    let compression = rdb::Compression::from_config(&srv.config);
    for &key in present {
        let now = crate::db::unix_ms();
        let ttl = match srv.ks.get_expire(db, key) {
            Some(at) if at < now => continue, // expired meanwhile
            Some(at) => (at - now).max(1),
            None => 0,
        };
        let Some(obj) = srv.ks.lookup(db, key, Access::NoTouch) else {
            continue;
        };
        let payload = dump::create(&obj.value, compression);
        let ttl = ttl.to_string();
        let mut args: Vec<&[u8]> = vec![b"RESTORE", key, ttl.as_bytes(), &payload];
        if req.replace {
            args.push(b"REPLACE");
        }
        encode_command(&mut out, args.into_iter());
        sent.push(key);
    }
    let target = srv.migrate.targets.get_mut(name).ok_or(Failure::Connect)?;
    target.last_use_ms = now_ms;
    write_all(&target.stream, &out, req.timeout)?;
    let auth_reply = match req.auth {
        Some(_) => Some(read_line(target, req.timeout)?),
        None => None,
    };
    let select_reply = if select {
        Some(read_line(target, req.timeout)?)
    } else {
        None
    };
    // The first error the target gave: AUTH's, SELECT's, or a RESTORE's.
    let mut target_error: Option<Vec<u8>> = None;
    let mut deleted: Vec<&[u8]> = Vec::new();
    let mut broke: Option<(usize, bool)> = None;
    for (n, &key) in sent.iter().enumerate() {
        let line = match read_line(target, req.timeout) {
            Ok(l) => l,
            Err(Failure::Socket { timed_out, .. }) => {
                broke = Some((n, timed_out));
                break;
            }
            Err(f) => return Err(f),
        };
        let refused = [
            auth_reply.as_deref(),
            select_reply.as_deref(),
            Some(&line[..]),
        ]
        .into_iter()
        .flatten()
        .find(|l| l.starts_with(b"-"));
        if let Some(err) = refused {
            if target_error.is_none() {
                target.last_db = None;
                target_error = Some(err[1..].to_vec());
            }
        } else if !req.copy && srv.ks.delete(db, key) {
            srv.ks.notify(GENERIC, "del", db, key);
            srv.ks.dirty += 1;
            deleted.push(key);
        }
    }
    if let Some((0, timed_out)) = broke.filter(|_| target_error.is_none()) {
        // Nothing acknowledged: the caller may retry on a new socket.
        return Err(Failure::Socket {
            writing: false,
            timed_out,
        });
    }
    // Replicas and the log see what happened here: the DEL of the keys
    // the target took.
    if !deleted.is_empty() {
        let mut del: Vec<&[u8]> = vec![b"DEL"];
        del.extend(deleted);
        srv.propagate_replace(&del);
    }
    if let Some(err) = target_error {
        return Err(Failure::Target(CmdError::msg(format!(
            "ERR Target instance replied with error: {}",
            String::from_utf8_lossy(&err)
        ))));
    }
    if broke.is_some() {
        srv.migrate.close(name);
        return Err(Failure::Target(io_error(false)));
    }
    if let Some(t) = srv.migrate.targets.get_mut(name) {
        t.last_db = Some(req.db);
    }
    Ok(())
}

/// Connect within the timeout. A refused connection counts as a failed
/// write (see the module comment); an address that does not resolve, or
/// no answer within the timeout, as a failed connect.
fn connect(req: &Request) -> Result<TcpStream, Failure> {
    let port = req.port.ok_or(Failure::Connect)?;
    let addr = (req.host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or(Failure::Connect)?;
    match TcpStream::connect_timeout(&addr, req.timeout) {
        Ok(s) => {
            let _ = s.set_nodelay(true);
            Ok(s)
        }
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => Err(Failure::Socket {
            writing: true,
            timed_out: false,
        }),
        Err(_) => Err(Failure::Connect),
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn write_all(mut stream: &TcpStream, buf: &[u8], timeout: Duration) -> Result<(), Failure> {
    let fail = |timed_out| Failure::Socket {
        writing: true,
        timed_out,
    };
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|_| fail(false))?;
    for chunk in buf.chunks(WRITE_CHUNK) {
        stream.write_all(chunk).map_err(|e| fail(is_timeout(&e)))?;
    }
    Ok(())
}

/// One reply line from the target, without its CRLF.
fn read_line(t: &mut Target, timeout: Duration) -> Result<Vec<u8>, Failure> {
    let fail = |timed_out| Failure::Socket {
        writing: false,
        timed_out,
    };
    t.stream
        .set_read_timeout(Some(timeout))
        .map_err(|_| fail(false))?;
    loop {
        if let Some(end) = t.pending.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = t.pending.drain(..=end).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(line);
        }
        if t.pending.len() > LINE_MAX {
            return Err(fail(false));
        }
        let mut buf = [0u8; 4096];
        match t.stream.read(&mut buf) {
            Ok(0) => return Err(fail(false)),
            Ok(n) => t.pending.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(fail(is_timeout(&e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_read_as_atoi_does() {
        assert_eq!(atoi_port(b"6379"), Some(6379));
        assert_eq!(atoi_port(b"12ab"), Some(12));
        assert_eq!(atoi_port(b"abc"), Some(0));
        assert_eq!(atoi_port(b"70000"), None);
    }
}
