//! The worker threads' event loop: each thread drives its share of the
//! connections, first through the prefill, then through the measured
//! phase.
//!
//! Why non-blocking sockets on mio rather than a thread per connection:
//! on a 2-core machine the load generator competes with the server for
//! CPU. Fifty blocking threads would cost a context switch per request and
//! a scheduler fighting the server; one thread with epoll handles all its
//! connections with one `epoll_wait` per batch of ready sockets, one
//! `read` and one `write` per request batch — the same shape as
//! redis-benchmark's single-threaded ae loop. `--threads` adds more such
//! loops when one core of client is not enough.
//!
//! Owns: the per-connection state (`Conn`), the loop (`Worker::drive`),
//! the two phases' logic (`PrefillPhase`, `MeasurePhase`), the open-loop
//! timer, and the rendezvous with the main thread (`Gate`).
//!
//! Must never: add a syscall per request (sockets are registered once,
//! edge-triggered, for both directions; a batch of P requests is one
//! write), wait without bound (the poll sleeps at most `POLL_SLICE`; a
//! connection with requests outstanding and no reply for `--timeout`
//! fails the run), or trust the server's byte stream (`reply` checks it;
//! more replies than requests is an error).
//!
//! Invariants: a connection has at most one batch in flight, so every
//! reply read belongs to the current batch and shares its send and
//! scheduled times; and the requests sent equal the replies received when
//! a phase ends without error.

use super::reply::{ReplyReader, Tally};
use super::workload::{Op, Rng, Workload};
use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Bytes per `read`. Replies to P GETs of V-byte values need about
/// P * (V + 10) bytes; 64 KiB takes a P=1024 batch of 32-byte values in
/// one call. One buffer per thread, shared by its connections.
const READ_CHUNK_BYTES: usize = 64 * 1024;
const EVENTS_CAPACITY: usize = 1024;
/// The longest a worker sleeps in `poll`: how often it looks at the abort
/// flag and checks for stalled connections.
const POLL_SLICE: Duration = Duration::from_millis(100);
/// Prefill batches: up to this many SETs, and up to this many bytes.
/// Deep enough that the prefill is not round-trip bound, small enough
/// that 10,000 connections' batches stay in a few GiB at most.
const PREFILL_DEPTH_MAX: u64 = 128;
const PREFILL_BATCH_BYTES: usize = 256 * 1024;
/// Connections use tokens 0..10,000; mio keeps `usize::MAX` for itself
/// on some platforms, so the timer takes the one below.
const TIMER_TOKEN: Token = Token(usize::MAX - 1);
/// Latency histograms count nanoseconds, from 1 ns to one hour, with three
/// significant digits (0.1% resolution): about 256 KiB each.
pub const LATENCY_NS_MAX: u64 = 3_600 * 1_000_000_000;
pub const LATENCY_SIGFIG: u8 = 3;

pub fn new_histogram() -> Histogram<u64> {
    // Constant, valid bounds: this cannot fail.
    Histogram::new_with_bounds(1, LATENCY_NS_MAX, LATENCY_SIGFIG)
        .expect("constant histogram bounds are valid")
}

/// SETs per prefill batch for a workload.
pub fn prefill_depth(workload: &Workload) -> u64 {
    let by_bytes = (PREFILL_BATCH_BYTES / workload.request_bytes_max()).max(1) as u64;
    by_bytes.min(PREFILL_DEPTH_MAX)
}

/// Why a worker stopped early.
#[derive(Debug)]
pub enum WorkerError {
    /// Another thread failed, or the main thread cancelled the run.
    Cancelled,
    /// This thread's failure, with a message for the user.
    Failed(String),
}

impl From<String> for WorkerError {
    fn from(msg: String) -> Self {
        WorkerError::Failed(msg)
    }
}

/// The main thread and the workers meet here between the prefill and the
/// measured phase, so every thread starts measuring at the same instant
/// and the server's CPU counter is read in between.
///
/// Unlike `std::sync::Barrier` it can be cancelled: a worker that fails in
/// the prefill never arrives, and the others must not wait forever.
pub struct Gate {
    state: Mutex<GateState>,
    cv: Condvar,
}

#[derive(Default)]
struct GateState {
    arrived: usize,
    start: Option<Instant>,
    cancelled: bool,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            state: Mutex::new(GateState::default()),
            cv: Condvar::new(),
        }
    }
}

impl Gate {
    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        // A panicking thread cannot leave the counters half-updated, so a
        // poisoned lock's data is still good.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Worker: my prefill is done.
    pub fn arrive(&self) {
        self.lock().arrived += 1;
        self.cv.notify_all();
    }

    /// Main: how many workers have arrived, waiting up to `limit` for
    /// `expected` of them.
    pub fn wait_arrivals(&self, expected: usize, limit: Duration) -> usize {
        let guard = self.lock();
        let (guard, _) = self
            .cv
            .wait_timeout_while(guard, limit, |s| s.arrived < expected)
            .unwrap_or_else(|e| e.into_inner());
        guard.arrived
    }

    /// Main: start measuring at `start`.
    pub fn open(&self, start: Instant) {
        self.lock().start = Some(start);
        self.cv.notify_all();
    }

    /// Main: the run is over; waiting workers return.
    pub fn cancel(&self) {
        self.lock().cancelled = true;
        self.cv.notify_all();
    }

    /// Worker: wait (in slices, watching `abort`) for the start instant.
    fn wait_open(&self, abort: &AtomicBool) -> Option<Instant> {
        let mut guard = self.lock();
        loop {
            if guard.cancelled || abort.load(Ordering::Relaxed) {
                return None;
            }
            if let Some(start) = guard.start {
                return Some(start);
            }
            guard = self
                .cv
                .wait_timeout(guard, POLL_SLICE)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// State shared by the main thread and all workers.
pub struct Shared {
    /// Set by the main thread when any worker failed: the others stop.
    pub abort: AtomicBool,
    /// Per worker: replies received in the current phase, for the
    /// progress line. Each worker writes only its own slot.
    pub progress: Vec<AtomicU64>,
    pub gate: Gate,
}

impl Shared {
    pub fn new(threads: usize) -> Shared {
        Shared {
            abort: AtomicBool::new(false),
            progress: (0..threads).map(|_| AtomicU64::new(0)).collect(),
            gate: Gate::default(),
        }
    }

    pub fn progress_total(&self) -> u64 {
        self.progress
            .iter()
            .map(|p| p.load(Ordering::Relaxed))
            .sum()
    }
}

/// The open-loop schedule: connection c sends its k-th batch at
/// `start + interval * (k + c / connections)`. The offset spreads the
/// connections evenly over one interval instead of firing all at once.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    pub batch_interval_ns: f64,
    pub connections: usize,
}

impl Schedule {
    /// For a total rate (requests/s) over `connections`, each sending
    /// batches of `pipeline`.
    pub fn new(rate: f64, connections: usize, pipeline: usize) -> Schedule {
        Schedule {
            batch_interval_ns: 1e9 * pipeline as f64 * connections as f64 / rate,
            connections,
        }
    }

    /// None when the time is beyond what `Instant` can hold (a tiny
    /// rate): such a batch is past any deadline anyway.
    fn at(&self, start: Instant, connection: usize, batch: u64) -> Option<Instant> {
        let offset = connection as f64 / self.connections as f64;
        let ns = self.batch_interval_ns * (batch as f64 + offset);
        // `as` saturates (and maps NaN to 0); checked_add catches the rest.
        start.checked_add(Duration::from_nanos(ns.min(u64::MAX as f64) as u64))
    }
}

/// What one worker thread is given.
pub struct WorkerSetup {
    pub index: usize,
    /// Connected, non-blocking sockets with their run-wide index.
    pub streams: Vec<(usize, std::net::TcpStream)>,
    pub workload: Arc<Workload>,
    pub shared: Arc<Shared>,
    pub pipeline: usize,
    /// This thread's part of the key space to prefill, `lo..hi`.
    pub prefill: Option<(u64, u64)>,
    /// This thread's share of `--requests`.
    pub budget: Option<u64>,
    pub duration: Duration,
    pub schedule: Option<Schedule>,
    pub seed: u64,
    pub timeout: Duration,
}

/// What one worker measured.
pub struct WorkerResult {
    /// Latency from the moment a request's batch was written.
    pub raw: Histogram<u64>,
    /// Open loop only: latency from the request's scheduled send time.
    pub scheduled: Option<Histogram<u64>>,
    /// Open loop only: how late each request's batch was written, after
    /// its scheduled time.
    pub send_lag: Option<Histogram<u64>>,
    pub gets: u64,
    pub sets: u64,
    pub completed: u64,
    pub errors: u64,
    pub nils: u64,
    pub first_error: Option<String>,
    pub prefill_sets: u64,
    pub prefill_errors: u64,
    /// When the last reply of the measured phase arrived.
    pub end: Instant,
}

/// Run one worker: prefill (if any), meet at the gate, measure.
pub fn run_worker(mut setup: WorkerSetup) -> Result<WorkerResult, WorkerError> {
    let streams = std::mem::take(&mut setup.streams);
    let mut worker = Worker::new(streams, &setup)?;
    let mut prefill = PrefillPhase {
        workload: &setup.workload,
        depth: prefill_depth(&setup.workload),
        sets: 0,
        errors: 0,
        first_error: None,
    };
    if let Some((lo, hi)) = setup.prefill {
        worker.assign_key_ranges(lo, hi);
        let now = Instant::now();
        worker.drive(&mut prefill, now)?;
    }
    setup.shared.gate.arrive();
    let Some(start) = setup.shared.gate.wait_open(&setup.shared.abort) else {
        return Err(WorkerError::Cancelled);
    };
    if setup.schedule.is_some() {
        // Timers on this thread fire within 1 ns of their time instead of
        // the default 50 us slack: the schedule is what latency counts from.
        // SAFETY: prctl with PR_SET_TIMERSLACK only changes this thread's
        // timer slack; the arguments are plain integers.
        unsafe {
            libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
        }
    }
    let mut measure = MeasurePhase {
        workload: &setup.workload,
        pipeline: setup.pipeline as u64,
        budget: setup.budget.unwrap_or(u64::MAX),
        deadline: start + setup.duration,
        start,
        schedule: setup.schedule,
        raw: new_histogram(),
        scheduled: setup.schedule.map(|_| new_histogram()),
        send_lag: setup.schedule.map(|_| new_histogram()),
        gets: 0,
        sets: 0,
        completed: 0,
        errors: 0,
        nils: 0,
        first_error: None,
        end: start,
    };
    worker.drive(&mut measure, start)?;
    Ok(WorkerResult {
        raw: measure.raw,
        scheduled: measure.scheduled,
        send_lag: measure.send_lag,
        gets: measure.gets,
        sets: measure.sets,
        completed: measure.completed,
        errors: measure.errors,
        nils: measure.nils,
        first_error: measure.first_error.or(prefill.first_error),
        prefill_sets: prefill.sets,
        prefill_errors: prefill.errors,
        end: measure.end,
    })
}

/// One connection's state.
struct Conn {
    /// Run-wide index: names the connection in messages, places it in the
    /// open-loop schedule and selects its random stream.
    id: usize,
    stream: TcpStream,
    reader: ReplyReader,
    /// The current batch's bytes; `out_pos` of them are written.
    out: Vec<u8>,
    out_pos: usize,
    /// Replies still expected for the current batch.
    inflight: u64,
    /// Batches sent in this phase.
    batches: u64,
    sent_at: Instant,
    scheduled_at: Instant,
    /// Last send or received byte: what the stall check measures from.
    last_activity: Instant,
    rng: Rng,
    /// Prefill: the keys this connection still has to SET.
    next_key: u64,
    end_key: u64,
}

impl Conn {
    /// Start a batch of `requests` already encoded in `out`.
    fn begin_batch(&mut self, requests: u64, scheduled: Instant) {
        debug_assert_eq!(self.inflight, 0);
        debug_assert!(requests > 0 && !self.out.is_empty());
        self.inflight = requests;
        self.batches += 1;
        self.out_pos = 0;
        self.scheduled_at = scheduled;
        self.sent_at = Instant::now();
        self.last_activity = self.sent_at;
    }

    /// Write as much of the batch as the socket takes. A partial write
    /// resumes on the next writable edge.
    fn flush(&mut self) -> Result<(), String> {
        while self.out_pos < self.out.len() {
            match self.stream.write(&self.out[self.out_pos..]) {
                Ok(0) => return Err(format!("connection {}: write returned 0", self.id)),
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("connection {}: write failed: {e}", self.id)),
            }
        }
        Ok(())
    }
}

/// What a phase decided for a connection whose batch completed.
enum Next {
    /// A new batch is in `out`: write it.
    Send,
    /// Nothing to send before this instant (open loop).
    Wait(Instant),
    /// This connection is finished for the phase.
    Done,
}

/// What to send and what to record: the prefill or the measurement.
trait Phase {
    /// Fill `conn.out` with the next batch (and call `begin_batch`), or
    /// say when or whether there will be one.
    fn next(&mut self, conn: &mut Conn, now: Instant) -> Next;
    /// `tally.replies` replies of `conn`'s current batch arrived at `at`
    /// (`conn.inflight` not yet reduced).
    fn on_replies(&mut self, conn: &Conn, tally: &Tally, at: Instant);
    /// Replies so far, for the progress line.
    fn completed(&self) -> u64;
}

struct PrefillPhase<'a> {
    workload: &'a Workload,
    depth: u64,
    sets: u64,
    errors: u64,
    first_error: Option<String>,
}

impl Phase for PrefillPhase<'_> {
    fn next(&mut self, conn: &mut Conn, now: Instant) -> Next {
        let k = (conn.end_key - conn.next_key).min(self.depth);
        if k == 0 {
            return Next::Done;
        }
        conn.out.clear();
        for key in conn.next_key..conn.next_key + k {
            self.workload.push_set(key, &mut conn.out);
        }
        conn.next_key += k;
        conn.begin_batch(k, now);
        Next::Send
    }

    fn on_replies(&mut self, _conn: &Conn, tally: &Tally, _at: Instant) {
        self.sets += tally.replies;
        self.errors += tally.errors;
        if self.first_error.is_none() {
            self.first_error.clone_from(&tally.first_error);
        }
    }

    fn completed(&self) -> u64 {
        self.sets
    }
}

struct MeasurePhase<'a> {
    workload: &'a Workload,
    pipeline: u64,
    /// Requests this thread may still send.
    budget: u64,
    deadline: Instant,
    start: Instant,
    schedule: Option<Schedule>,
    raw: Histogram<u64>,
    scheduled: Option<Histogram<u64>>,
    send_lag: Option<Histogram<u64>>,
    gets: u64,
    sets: u64,
    completed: u64,
    errors: u64,
    nils: u64,
    first_error: Option<String>,
    end: Instant,
}

impl Phase for MeasurePhase<'_> {
    fn next(&mut self, conn: &mut Conn, now: Instant) -> Next {
        // Closed loop: the next batch is due the moment the last one
        // completed. Open loop: when the schedule says, even if that has
        // passed already (then it goes out at once and its latency, counted
        // from the scheduled time, includes the wait).
        let due = match &self.schedule {
            None => now,
            Some(s) => match s.at(self.start, conn.id, conn.batches) {
                Some(at) => at,
                None => return Next::Done,
            },
        };
        if due >= self.deadline || self.budget == 0 {
            return Next::Done;
        }
        if due > now {
            return Next::Wait(due);
        }
        let k = self.budget.min(self.pipeline);
        self.budget -= k;
        conn.out.clear();
        for _ in 0..k {
            match self.workload.push_request(&mut conn.rng, &mut conn.out) {
                Op::Get => self.gets += 1,
                Op::Set => self.sets += 1,
            }
        }
        conn.begin_batch(k, due);
        if let Some(h) = &mut self.send_lag {
            // The previous batch's replies arriving after `due` (server
            // backlog), plus this thread waking up late (client lag).
            let ns = conn.sent_at.saturating_duration_since(due).as_nanos();
            h.saturating_record_n(clamp_ns(ns), k);
        }
        Next::Send
    }

    fn on_replies(&mut self, conn: &Conn, tally: &Tally, at: Instant) {
        let n = tally.replies;
        let raw_ns = at.saturating_duration_since(conn.sent_at).as_nanos();
        self.raw.saturating_record_n(clamp_ns(raw_ns), n);
        if let Some(h) = &mut self.scheduled {
            let ns = at.saturating_duration_since(conn.scheduled_at).as_nanos();
            h.saturating_record_n(clamp_ns(ns), n);
        }
        self.completed += n;
        self.errors += tally.errors;
        self.nils += tally.nils;
        if self.first_error.is_none() {
            self.first_error.clone_from(&tally.first_error);
        }
        self.end = self.end.max(at);
    }

    fn completed(&self) -> u64 {
        self.completed
    }
}

fn clamp_ns(ns: u128) -> u64 {
    ns.min(LATENCY_NS_MAX as u128) as u64
}

/// A timerfd: wakes `poll` at a nanosecond-precise instant. epoll's own
/// timeout has millisecond granularity, which would add up to 1 ms of the
/// client's own lateness to open-loop latencies.
struct Timer {
    fd: OwnedFd,
    armed: Option<Instant>,
}

impl Timer {
    fn new() -> io::Result<Timer> {
        // SAFETY: timerfd_create takes plain flags and returns a new fd or -1.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a freshly created descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Timer { fd, armed: None })
    }

    /// Make sure the timer fires no later than `at`.
    fn arm(&mut self, at: Instant, now: Instant) -> io::Result<()> {
        if self.armed.is_some_and(|armed| armed <= at) {
            return Ok(());
        }
        // A zero it_value would disarm the timer: fire after 1 ns instead.
        let wait = at
            .saturating_duration_since(now)
            .max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: wait.as_secs() as libc::time_t,
                tv_nsec: wait.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: a valid timerfd and a pointer to a live itimerspec; the
        // old-value pointer may be null.
        let rc =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        self.armed = Some(at);
        Ok(())
    }

    /// The timer fired: consume its expiry count so the fd can signal
    /// again.
    fn fired(&mut self) {
        let mut count = [0u8; 8];
        // SAFETY: reading 8 bytes into a live 8-byte buffer. EAGAIN (an
        // already consumed expiry) is harmless.
        unsafe {
            libc::read(self.fd.as_raw_fd(), count.as_mut_ptr().cast(), count.len());
        }
        self.armed = None;
    }
}

struct Worker {
    index: usize,
    poll: Poll,
    events: Events,
    conns: Vec<Conn>,
    buf: Box<[u8]>,
    /// Readiness of the last poll, copied out so `conns` can be borrowed
    /// mutably while walking it: (local index or timer, readable, writable).
    ready: Vec<(Token, bool, bool)>,
    timer: Option<Timer>,
    shared: Arc<Shared>,
    timeout: Duration,
}

impl Worker {
    fn new(
        streams: Vec<(usize, std::net::TcpStream)>,
        setup: &WorkerSetup,
    ) -> Result<Worker, String> {
        let poll = Poll::new().map_err(|e| format!("cannot create a poll instance: {e}"))?;
        let now = Instant::now();
        let mut conns = Vec::with_capacity(streams.len());
        for (local, (id, std_stream)) in streams.into_iter().enumerate() {
            // The caller made the socket non-blocking, as mio requires.
            let mut stream = TcpStream::from_std(std_stream);
            poll.registry()
                .register(
                    &mut stream,
                    Token(local),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .map_err(|e| format!("connection {id}: cannot register with epoll: {e}"))?;
            conns.push(Conn {
                id,
                stream,
                reader: ReplyReader::default(),
                out: Vec::new(),
                out_pos: 0,
                inflight: 0,
                batches: 0,
                sent_at: now,
                scheduled_at: now,
                last_activity: now,
                rng: Rng::new(setup.seed, id as u64),
                next_key: 0,
                end_key: 0,
            });
        }
        let timer = match setup.schedule {
            None => None,
            Some(_) => {
                let timer = Timer::new().map_err(|e| format!("cannot create a timerfd: {e}"))?;
                poll.registry()
                    .register(
                        &mut SourceFd(&timer.fd.as_raw_fd()),
                        TIMER_TOKEN,
                        Interest::READABLE,
                    )
                    .map_err(|e| format!("cannot register the timerfd: {e}"))?;
                Some(timer)
            }
        };
        Ok(Worker {
            index: setup.index,
            poll,
            events: Events::with_capacity(EVENTS_CAPACITY),
            conns,
            buf: vec![0u8; READ_CHUNK_BYTES].into_boxed_slice(),
            ready: Vec::with_capacity(EVENTS_CAPACITY),
            timer,
            shared: Arc::clone(&setup.shared),
            timeout: setup.timeout,
        })
    }

    /// Split `lo..hi` into contiguous, near-equal ranges, one per
    /// connection.
    fn assign_key_ranges(&mut self, lo: u64, hi: u64) {
        let n = self.conns.len() as u64;
        let span = hi - lo;
        for (i, conn) in self.conns.iter_mut().enumerate() {
            let i = i as u64;
            conn.next_key = lo + span * i / n;
            conn.end_key = lo + span * (i + 1) / n;
        }
    }

    /// Run one phase until every connection is done and every reply is in.
    fn drive(&mut self, phase: &mut impl Phase, start: Instant) -> Result<(), WorkerError> {
        let shared = Arc::clone(&self.shared);
        let progress = &shared.progress[self.index];
        progress.store(0, Ordering::Relaxed);
        // Connections waiting for their scheduled time (open loop only).
        let mut waiting: BinaryHeap<Reverse<(Instant, usize)>> = BinaryHeap::new();
        let mut active = self.conns.len();
        for conn in &mut self.conns {
            conn.batches = 0;
            conn.inflight = 0;
        }
        for i in 0..self.conns.len() {
            self.advance(i, phase, start, &mut waiting, &mut active)?;
        }
        let mut next_stall_check = Instant::now() + POLL_SLICE;
        while active > 0 {
            if shared.abort.load(Ordering::Relaxed) {
                return Err(WorkerError::Cancelled);
            }
            let mut now = Instant::now();
            while let Some(&Reverse((at, i))) = waiting.peek() {
                if at > now {
                    break;
                }
                waiting.pop();
                self.advance(i, phase, now, &mut waiting, &mut active)?;
                now = Instant::now();
            }
            if let (Some(timer), Some(&Reverse((at, _)))) = (&mut self.timer, waiting.peek()) {
                timer
                    .arm(at, now)
                    .map_err(|e| format!("cannot arm the timerfd: {e}"))?;
            }
            if active == 0 {
                break;
            }
            match self.poll.poll(&mut self.events, Some(POLL_SLICE)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("poll failed: {e}").into()),
            }
            let mut ready = std::mem::take(&mut self.ready);
            ready.clear();
            ready.extend(self.events.iter().map(|e| {
                let readable = e.is_readable() || e.is_read_closed() || e.is_error();
                (e.token(), readable, e.is_writable())
            }));
            for &(token, readable, writable) in &ready {
                if token == TIMER_TOKEN {
                    if let Some(timer) = &mut self.timer {
                        timer.fired();
                    }
                    continue;
                }
                let i = token.0;
                let Some(conn) = self.conns.get_mut(i) else {
                    continue;
                };
                if writable && conn.out_pos < conn.out.len() {
                    conn.flush()?;
                }
                if readable {
                    if let Some(at) = read_replies(conn, &mut self.buf, phase)? {
                        self.advance(i, phase, at, &mut waiting, &mut active)?;
                    }
                }
            }
            self.ready = ready;
            progress.store(phase.completed(), Ordering::Relaxed);
            let now = Instant::now();
            if now >= next_stall_check {
                self.check_stalls(now)?;
                next_stall_check = now + POLL_SLICE;
            }
        }
        progress.store(phase.completed(), Ordering::Relaxed);
        Ok(())
    }

    /// Connection `i` has no batch in flight: ask the phase what is next.
    fn advance(
        &mut self,
        i: usize,
        phase: &mut impl Phase,
        now: Instant,
        waiting: &mut BinaryHeap<Reverse<(Instant, usize)>>,
        active: &mut usize,
    ) -> Result<(), String> {
        let conn = &mut self.conns[i];
        match phase.next(conn, now) {
            Next::Send => conn.flush(),
            Next::Wait(at) => {
                waiting.push(Reverse((at, i)));
                Ok(())
            }
            Next::Done => {
                *active -= 1;
                Ok(())
            }
        }
    }

    /// Fail if any connection has waited longer than `--timeout` for a
    /// reply.
    fn check_stalls(&self, now: Instant) -> Result<(), String> {
        for conn in &self.conns {
            let quiet = now.saturating_duration_since(conn.last_activity);
            if conn.inflight > 0 && quiet > self.timeout {
                return Err(format!(
                    "no reply from the server for {:.1} s on connection {} \
                     ({} requests outstanding; --timeout {:.1} s)",
                    quiet.as_secs_f64(),
                    conn.id,
                    conn.inflight,
                    self.timeout.as_secs_f64()
                ));
            }
        }
        Ok(())
    }
}

/// Read everything the socket has for `conn`, handing replies to the
/// phase. Returns the time the current batch completed, if it did.
///
/// A read shorter than the buffer ends the loop without the extra `read`
/// that would return EAGAIN: with edge-triggered epoll, bytes arriving
/// after that short read raise a new edge, so nothing is lost, and at
/// pipeline 1 this saves one syscall per request.
fn read_replies(
    conn: &mut Conn,
    buf: &mut [u8],
    phase: &mut impl Phase,
) -> Result<Option<Instant>, String> {
    let mut completed_at = None;
    loop {
        let n = match conn.stream.read(buf) {
            Ok(0) => {
                return Err(format!(
                    "the server closed connection {} ({} replies outstanding)",
                    conn.id, conn.inflight
                ))
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("connection {}: read failed: {e}", conn.id)),
        };
        let at = Instant::now();
        conn.last_activity = at;
        let mut tally = Tally::default();
        conn.reader
            .feed(&buf[..n], &mut tally)
            .map_err(|e| format!("connection {}: protocol error: {e}", conn.id))?;
        if tally.replies > conn.inflight {
            return Err(format!(
                "connection {}: {} replies for {} outstanding requests",
                conn.id, tally.replies, conn.inflight
            ));
        }
        if tally.replies > 0 {
            phase.on_replies(conn, &tally, at);
            conn.inflight -= tally.replies;
            if conn.inflight == 0 {
                completed_at = Some(at);
            }
        }
        if n < buf.len() {
            break;
        }
    }
    Ok(completed_at)
}
