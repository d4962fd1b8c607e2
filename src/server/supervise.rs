//! `supervised systemd`: tell the service manager how we are doing, over
//! the unix datagram socket `$NOTIFY_SOCKET` names (the sd_notify
//! protocol: `READY=1`, `STATUS=...`, `STOPPING=1`), without libsystemd.
//!
//! Owns: choosing the mode (`supervised no|upstart|systemd|auto`; auto
//! means systemd when `$NOTIFY_SOCKET` is set), the socket, and sending.
//!
//! Must never: block or fail the server: the socket is non-blocking and a
//! message that cannot be sent is logged at debug level and dropped
//! (systemd's own sd_notify behaves the same way).
//!
//! Addresses: a path, or an abstract socket name written with a leading
//! '@' (systemd's convention; the '@' stands for the leading NUL byte).

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// Longest message we send; sd_notify messages are a few short lines.
const MESSAGE_MAX_BYTES: usize = 1024;

pub struct Notifier {
    sock: UnixDatagram,
    addr: SocketAddr,
}

impl Notifier {
    /// The notifier for `mode` (the `supervised` option) and the value of
    /// `$NOTIFY_SOCKET`, or None when the server is not supervised.
    pub fn from_mode(mode: &str, notify_socket: Option<&str>) -> Option<Notifier> {
        match mode {
            "systemd" => {}
            "auto" if notify_socket.is_some() => {}
            "upstart" => {
                log::warn!("supervised upstart is not supported; running unsupervised");
                return None;
            }
            _ => return None,
        }
        let Some(name) = notify_socket.filter(|n| !n.is_empty()) else {
            log::warn!(
                "systemd supervision requested or auto-detected, but NOTIFY_SOCKET not found!"
            );
            return None;
        };
        let addr = match name.strip_prefix('@') {
            Some(abs) => SocketAddr::from_abstract_name(abs.as_bytes()),
            None => SocketAddr::from_pathname(name),
        };
        let made = addr.and_then(|addr| {
            let sock = UnixDatagram::unbound()?;
            sock.set_nonblocking(true)?;
            Ok(Notifier { sock, addr })
        });
        match made {
            Ok(n) => {
                log::info!("Supervised by systemd. Please make sure you set appropriate values for TimeoutStartSec and TimeoutStopSec in your service unit.");
                Some(n)
            }
            Err(e) => {
                log::warn!("Can't use NOTIFY_SOCKET {name}: {e}");
                None
            }
        }
    }

    /// Send one message ("READY=1\n", "STATUS=...\n"), best effort.
    pub fn send(&self, msg: &str) {
        let msg = &msg.as_bytes()[..msg.len().min(MESSAGE_MAX_BYTES)];
        if let Err(e) = self.sock.send_to_addr(msg, &self.addr) {
            log::debug!("sd_notify: {e}");
        }
    }
}

impl super::Server {
    /// Tell the service manager `msg` when supervised (else nothing).
    pub fn notify_supervisor(&self, msg: &str) {
        if let Some(n) = &self.supervisor {
            n.send(msg);
        }
    }
}
