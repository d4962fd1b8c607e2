//! The forked full-sync snapshot: a child process encodes the dataset
//! (rdb.rs `write_snapshot`, on its copy-on-write image) and streams it
//! into a pipe; the parent reads the pipe without blocking and, once the child
//! exited cleanly, hands the bytes to the replicas that wait for them
//! (master.rs `finish_snapshot`).
//!
//! Why: encoding in the loop stalls every client for O(dataset) (about
//! 1.3 s for 1M keys). With the child the loop's cost is the fork (page
//! tables) plus copying the pipe's bytes in bounded slices per turn.
//!
//! Must never: block the loop on the pipe (the read end is non-blocking
//! and each turn reads at most `READ_BUDGET_PER_TURN` bytes), trust bytes
//! from a child that did not exit with status 0 (a killed child leaves a
//! truncated payload: it is discarded and its replicas dropped), or run
//! alongside another child (BGSAVE, BGREWRITEAOF: `has_child` counts it).
//!
//! Invariants: the snapshot's replication offset is the master's offset at
//! fork time (the child's image cannot see later writes, and the replicas
//! get their live stream buffered from that same instant); the payload
//! buffer only ever holds what our own child encoded from our own dataset.

use crate::persistence::rdb::SnapshotParts;
use crate::server::Server;
use mio::unix::SourceFd;
use mio::{Interest, Token};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Instant;

/// mio token of the pipe's read end (below the metrics listener and the
/// master link tokens, above every client-listener index in use).
pub const SNAPSHOT_PIPE_TOKEN: Token = Token(crate::server::MAX_LISTENERS - 3);

/// Bytes copied from the pipe per loop turn at most: bounds the turn's
/// work (a few ms of memcpy) however large the snapshot is.
const READ_BUDGET_PER_TURN: usize = 16 * 1024 * 1024;

/// One read syscall's worth (the kernel's default pipe capacity).
const READ_CHUNK: usize = 64 * 1024;

/// A running snapshot child and what it has sent so far.
pub struct SnapshotChild {
    pub pid: i32,
    /// Read end; `None` once the child closed its end (EOF seen).
    pipe: Option<std::fs::File>,
    pub payload: Vec<u8>,
    pub started: Instant,
}

/// How a child ended, once it did.
pub enum Outcome {
    Running,
    /// Exited with status 0 after the pipe reached EOF: the payload is
    /// the complete snapshot.
    Done(Vec<u8>),
    Failed(String),
}

/// Fork the snapshot child, encoding `parts` of the dataset. The parent
/// gets the child, with the pipe's read end registered (readable wakes
/// the loop).
pub fn spawn(srv: &mut Server, parts: SnapshotParts) -> io::Result<SnapshotChild> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills `fds` with two new descriptors on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are fresh and owned only here.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let fork_start = Instant::now();
    // SAFETY: as rdb.rs `bgsave`: the child runs only this thread,
    // encodes (glibc malloc is fork-safe), writes to the pipe and `_exit`s
    // without destructors; it takes no lock another thread could hold.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        drop(rd);
        crate::persistence::fault::snapshot_child_delay();
        let mut out = std::fs::File::from(wr);
        // Streamed: the child holds a write buffer, never the image.
        let ok = crate::persistence::rdb::write_snapshot_parts(srv, &mut out, parts).is_ok();
        // SAFETY: terminate the child at once, as Redis's child does.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    srv.note_fork(fork_start.elapsed());
    drop(wr); // the child's end: EOF arrives when the child is gone
              // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let fl = libc::fcntl(rd.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(rd.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    let raw = rd.as_raw_fd();
    if let Err(e) =
        srv.poll
            .registry()
            .register(&mut SourceFd(&raw), SNAPSHOT_PIPE_TOKEN, Interest::READABLE)
    {
        // Still correct without the wake-ups (before_sleep polls it each
        // turn), only slower when the loop is idle.
        log::warn!("Registering the snapshot pipe: {e}");
    }
    Ok(SnapshotChild {
        pid,
        pipe: Some(std::fs::File::from(rd)),
        payload: Vec::new(),
        started: Instant::now(),
    })
}

impl SnapshotChild {
    /// Copy what the pipe holds (at most the per-turn budget), then see
    /// whether the child is done. Called every loop turn while it runs.
    pub fn poll(&mut self, srv_poll: &mio::Poll) -> Outcome {
        if let Some(p) = self.pipe.as_mut() {
            let mut buf = [0u8; READ_CHUNK];
            let mut copied = 0;
            // Bounded by the budget; ends earlier at WouldBlock or EOF.
            while copied < READ_BUDGET_PER_TURN {
                match p.read(&mut buf) {
                    Ok(0) => {
                        let raw = p.as_raw_fd();
                        let _ = srv_poll.registry().deregister(&mut SourceFd(&raw));
                        self.pipe = None;
                        break;
                    }
                    Ok(n) => {
                        self.payload.extend_from_slice(&buf[..n]);
                        copied += n;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Outcome::Running,
                    Err(e) => {
                        self.kill();
                        return Outcome::Failed(format!("reading the snapshot pipe: {e}"));
                    }
                }
            }
            if self.pipe.is_some() {
                return Outcome::Running; // budget spent: more next turn
            }
        }
        let mut status: libc::c_int = 0;
        // SAFETY: waitpid on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
        if r == 0 {
            return Outcome::Running; // EOF seen, exit not yet collected
        }
        if r == self.pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
            Outcome::Done(std::mem::take(&mut self.payload))
        } else if r == self.pid && libc::WIFSIGNALED(status) {
            Outcome::Failed(format!(
                "snapshot child {} killed by signal {}",
                self.pid,
                libc::WTERMSIG(status)
            ))
        } else {
            Outcome::Failed(format!("snapshot child {} failed", self.pid))
        }
    }

    /// Stop the child and collect it (error paths, shutdown).
    pub fn kill(&mut self) {
        // SAFETY: signalling and waiting for our own child.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
        }
    }
}
