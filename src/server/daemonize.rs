//! `daemonize yes`: detach from the terminal the way redis-server does,
//! so that init scripts written for it (Debian's stock redis.conf sets
//! `daemonize yes`) work unchanged.
//!
//! The process forks; the parent exits at once with status 0; the child
//! starts a new session (no controlling terminal) and points standard
//! input, output and error at /dev/null. The log then goes to `logfile`
//! if one is set (it was opened before the fork), and nowhere otherwise,
//! as with Redis. The working directory is kept (`dir` is handled by the
//! configuration, as in Redis).
//!
//! Must never: run once a thread exists (only the forking thread survives
//! a fork: main calls this before the loader starts the AOF thread or
//! anything else), or return in the parent.

use std::io;

/// Where a daemonized server writes its pid when `pidfile` is not set
/// (Redis's default).
pub const DEFAULT_PIDFILE: &str = "/var/run/redis.pid";

/// Fork into the background. Returns in the child only.
pub fn daemonize() -> io::Result<()> {
    // SAFETY: no other thread exists yet (see the module comment), so the
    // child is a complete copy of the process.
    match unsafe { libc::fork() } {
        -1 => return Err(io::Error::last_os_error()),
        0 => {}
        // SAFETY: the parent leaves without running destructors or
        // flushing anything the child will also flush.
        _ => unsafe { libc::_exit(0) },
    }
    // SAFETY: plain system calls on descriptors this process owns; the
    // path is a valid C string.
    unsafe {
        if libc::setsid() == -1 {
            return Err(io::Error::last_os_error());
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null == -1 {
            return Err(io::Error::last_os_error());
        }
        for fd in 0..=2 {
            libc::dup2(null, fd);
        }
        if null > 2 {
            libc::close(null);
        }
    }
    Ok(())
}
