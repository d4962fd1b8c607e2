//! Blocking commands: clients that wait for a key to get a value.
//!
//! Owns: everything BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
//! BZPOPMAX, BZMPOP and XREAD / XREADGROUP ... BLOCK share:
//! - [`BlockState`], kept in a blocked client: the keys it waits on, its
//!   database, its deadline and the [`BlockOp`] it will perform once served;
//! - [`BlockedKeys`], kept in the keyspace (Redis keeps it in each `redisDb`
//!   as `blocking_keys` / `ready_keys`): per database, key -> FIFO of the
//!   clients waiting on it, and the list of keys that just got a value;
//! - [`Blocking`], kept in the server: the number of blocked clients, the
//!   deadline table, and the clients whose queued input must be replayed
//!   once they are unblocked;
//! - the server methods that block, serve, time out and unblock clients
//!   (CLIENT UNBLOCK, which also ends a WAIT, and REPLICAOF, which
//!   unblocks and closes every blocked client).
//!
//! How a wake-up flows: a command creates a key (`Keyspace::add` / `set`
//! / `add_object`, which LPUSH, LMOVE, RENAME, MOVE, COPY and RESTORE go
//! through; SWAPDB rescans the waited keys of both databases; overwriting
//! an existing key wakes nobody, as in Redis 7.0) ->
//! if a client waits on that key, the key is queued as *ready* -> right
//! after the command (for MULTI, after EXEC as a whole; and again before
//! the loop sleeps),
//! [`Server::handle_ready_keys`] serves the waiters of each ready key in
//! FIFO order, each as if it had just run its pop, until the key is gone
//! or nobody left can use it -> served clients are unblocked and their
//! pipelined input, held back while they were blocked, runs in
//! [`Server::process_unblocked_clients`].
//!
//! Blocking commands never block inside EXEC, nor while the AOF is
//! replayed ([`may_block`]): they answer as on a timeout, as Redis does.
//! What is propagated (AOF, replicas) is always the non-blocking effect:
//! LPOP/RPOP [count], LMOVE or ZPOPMIN/ZPOPMAX [count], whether the pop
//! happened at once or when a blocked client was served (each serve is
//! its own execution unit).
//!
//! Adding a blocking operation (as the sorted-set family did): add a
//! variant to [`BlockOp`], say which value type serves it in
//! [`BlockOp::served_by`] (or, when the value's content decides, as for
//! streams, in [`BlockOp::readiness`]), route it in
//! [`Server::serve_blocked_client`] to the family's serve function, and
//! block with [`Server::block_client`].
//!
//! Streams add two things: a ready key may also *fail* a waiter
//! ([`Readiness::Fail`]: a blocked XREADGROUP whose stream or group went
//! away gets Redis's error), and a key is signalled when a stream leaves
//! it (deleted, overwritten, flushed) and when XGROUP DESTROY or XADD
//! changes one without creating it (`Keyspace::signal_ready`).
//! Timeouts, CLIENT UNBLOCK, disconnects, FIFO order and INFO need nothing
//! more.
//!
//! Must never: cost anything to commands when nobody is blocked (the
//! keyspace hook is one branch on an empty registry; the loop hooks are one
//! branch each), leave a disconnected client in a wait queue, or serve a
//! client with a key of the wrong type (it keeps waiting, as in Redis 7.0).
//!
//! Invariants:
//! - A client is blocked iff `client.blocked` is Some; then it is in the
//!   wait queue of each of its keys exactly once, counted in
//!   `Blocking::clients`, and in the deadline table iff it has a deadline.
//! - A wait queue is never empty (its map entry is removed with the last
//!   waiter), so `BlockedKeys::is_empty` means "nobody waits on any key".

use super::Server;
use crate::connection::{Client, ReplyMode};
use crate::db::{unix_ms, Access};
use crate::errors::CmdError;
use crate::resp::reply::ReplyWriter;
use crate::types::list::End;
use crate::types::string::LongDouble;
use crate::types::{CompactBytes, Value};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
/// CLIENT UNBLOCK <id> ERROR: the error the blocked client receives.
const UNBLOCKED_ERR: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";
/// REPLICAOF host port: the error every blocked client receives before
/// it is closed (Redis 7.0's disconnectAllBlockedClients).
const FORCE_UNBLOCKED_ERR: &str =
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)";

/// What a blocked client will do once one of its keys can serve it.
#[derive(Debug, Clone)]
pub enum BlockOp {
    /// BLPOP / BRPOP: pop one element, reply `[key, element]`.
    ListPop { from: End },
    /// BLMPOP: pop up to `count` elements, reply `[key, [elements]]`.
    ListMPop { from: End, count: usize },
    /// BLMOVE / BRPOPLPUSH: pop from the ready key, push onto `dst` (in
    /// the client's database), reply the element.
    ListMove {
        from: End,
        to: End,
        dst: CompactBytes,
    },
    /// BZPOPMIN / BZPOPMAX: pop one member, reply `[key, member, score]`.
    ZSetPop { max: bool },
    /// BZMPOP: pop up to `count` members, reply `[key, [[member, score],
    /// ...]]`.
    ZSetMPop { max: bool, count: usize },
    /// XREAD / XREADGROUP ... BLOCK: read the entries after the waited ID
    /// of the first key that gets some (commands/stream_groups.rs).
    StreamRead(Box<crate::commands::stream_groups::StreamWait>),
}

/// Can a ready key serve a blocked client now? (See
/// [`BlockOp::readiness`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Serve,
    /// Keep waiting (a value of another type, nothing new yet).
    Wait,
    /// Unblock the client with this error (Redis's wire text): a
    /// blocked XREADGROUP whose stream or group went away.
    Fail(&'static str),
}

impl BlockOp {
    /// Whether a key holding `value` can serve this operation. A client
    /// whose key got a value of another type keeps waiting.
    pub fn served_by(&self, value: &Value) -> bool {
        match self {
            BlockOp::ListPop { .. } | BlockOp::ListMPop { .. } | BlockOp::ListMove { .. } => {
                matches!(value, Value::List(_))
            }
            BlockOp::ZSetPop { .. } | BlockOp::ZSetMPop { .. } => matches!(value, Value::ZSet(_)),
            BlockOp::StreamRead(_) => matches!(value, Value::Stream(_)),
        }
    }

    /// What a client waiting on `key` for this operation does now that
    /// the key is ready and holds `value` (None: it is gone). Lists and
    /// sorted sets are served by any value of their type; streams look
    /// at their IDs and groups (`stream_groups::readiness`).
    pub fn readiness(&self, key: &[u8], value: Option<&Value>) -> Readiness {
        match (self, value) {
            (BlockOp::StreamRead(wait), _) => {
                crate::commands::stream_groups::readiness(wait, key, value)
            }
            (_, Some(v)) if self.served_by(v) => Readiness::Serve,
            _ => Readiness::Wait,
        }
    }

    /// The reply of a timeout (or CLIENT UNBLOCK ... TIMEOUT). Redis 7.0
    /// answers a null array for every list and sorted-set operation, even
    /// BLMOVE whose non-blocking form answers a null bulk string.
    pub fn reply_timeout(&self, w: &mut ReplyWriter) {
        match self {
            BlockOp::ListPop { .. }
            | BlockOp::ListMPop { .. }
            | BlockOp::ListMove { .. }
            | BlockOp::ZSetPop { .. }
            | BlockOp::ZSetMPop { .. }
            | BlockOp::StreamRead(_) => w.null_array(),
        }
    }
}

/// May `c` block now? Not while EXEC runs its queued commands, and never
/// the AOF loader's connectionless client (Redis's CLIENT_DENY_BLOCKING):
/// blocking commands then answer as on a timeout.
pub fn may_block(c: &Client) -> bool {
    !c.in_exec && c.stream.is_some()
}

/// Can a newly created value of this type serve some blocking operation?
/// (The keyspace checks this before signalling, so creating strings and
/// hashes never touches the registry.) Streams wake XREAD readers; a
/// client waiting for another type keeps waiting ([`BlockOp::served_by`]).
pub fn can_wake(value: &Value) -> bool {
    matches!(value, Value::List(_) | Value::ZSet(_) | Value::Stream(_))
}

/// The state of a blocked client (boxed in `Client::blocked`, so clients
/// that never block pay one pointer).
#[derive(Debug)]
pub struct BlockState {
    pub db: usize,
    /// The keys waited on, without duplicates.
    pub keys: Vec<CompactBytes>,
    /// When the wait times out; None waits forever. Monotonic, so a wall
    /// clock step (NTP) neither fires nor stretches a timeout.
    pub deadline: Option<Instant>,
    pub op: BlockOp,
    /// The command's accounting, left for when it completes (filled by
    /// the dispatcher right after the command blocked).
    pub call: Option<DeferredCall>,
}

/// What INFO commandstats, latencystats and the slow log will record for
/// a command that blocked. Redis 7.0 counts a blocking command once, when
/// it completes: served (duration = its first run + the serve, never the
/// time spent waiting; latency histogram and slow log as any command),
/// timed out or unblocked (a call with its first run's duration, but no
/// histogram sample and no slow log entry). MONITOR saw it when it was
/// sent.
#[derive(Debug)]
pub struct DeferredCall {
    /// Command id (commands::table::ids).
    pub id: usize,
    /// Microseconds of the run that blocked.
    pub usec: u64,
    /// The arguments as the slow log keeps them (bounded by its cuts).
    pub argv: Vec<Vec<u8>>,
}

/// One waiter in a key's queue. The slot finds the client in the server's
/// table; the id guards against a slot reused by another connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiter {
    pub id: u64,
    pub slot: usize,
}

#[derive(Debug, Default)]
struct KeyWaiters {
    queue: VecDeque<Waiter>,
    /// Already in the ready list (so a key is queued once per round).
    ready: bool,
}

/// Which keys clients wait on, per database, and which of them just got
/// a value. Lives in the keyspace so that creating a key can signal it.
#[derive(Debug, Default)]
pub struct BlockedKeys {
    /// Indexed by database number; grown on first use.
    dbs: Vec<HashMap<CompactBytes, KeyWaiters>>,
    /// Keys with waiters that got a value, in the order it happened.
    ready: VecDeque<(usize, CompactBytes)>,
    /// Keys with at least one waiter, over all databases.
    keys_waited: usize,
}

impl BlockedKeys {
    /// True when no client waits on any key: the fast path of every key
    /// creation.
    pub fn is_empty(&self) -> bool {
        self.keys_waited == 0
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    fn add_waiter(&mut self, db: usize, key: &[u8], w: Waiter) {
        if self.dbs.len() <= db {
            self.dbs.resize_with(db + 1, HashMap::new);
        }
        let map = &mut self.dbs[db];
        match map.get_mut(key) {
            Some(kw) => kw.queue.push_back(w),
            None => {
                let mut kw = KeyWaiters::default();
                kw.queue.push_back(w);
                map.insert(CompactBytes::new(key), kw);
                self.keys_waited += 1;
            }
        }
    }

    /// Remove client `id` from `key`'s queue (O(queue) scan; the served
    /// client is at the front unless waiters of another type are ahead
    /// of it, so serving is usually O(1)).
    fn remove_waiter(&mut self, db: usize, key: &[u8], id: u64) {
        let Some(map) = self.dbs.get_mut(db) else {
            return;
        };
        let Some(kw) = map.get_mut(key) else {
            return;
        };
        if let Some(pos) = kw.queue.iter().position(|w| w.id == id) {
            kw.queue.remove(pos);
        }
        if kw.queue.is_empty() {
            map.remove(key);
            self.keys_waited -= 1;
        }
    }

    /// `key` in `db` got a value: queue it for serving if anyone waits.
    pub fn signal(&mut self, db: usize, key: &[u8]) {
        let Some(kw) = self.dbs.get_mut(db).and_then(|m| m.get_mut(key)) else {
            return;
        };
        if !kw.ready {
            kw.ready = true;
            self.ready.push_back((db, CompactBytes::new(key)));
        }
    }

    /// Next ready key; it may be signalled again from now on.
    fn pop_ready(&mut self) -> Option<(usize, CompactBytes)> {
        let (db, key) = self.ready.pop_front()?;
        if let Some(kw) = self.dbs.get_mut(db).and_then(|m| m.get_mut(&key[..])) {
            kw.ready = false;
        }
        Some((db, key))
    }

    fn queue(&self, db: usize, key: &[u8]) -> Option<&VecDeque<Waiter>> {
        self.dbs.get(db)?.get(key).map(|kw| &kw.queue)
    }

    /// The keys waited on in `db` (SWAPDB rescans them).
    pub fn keys_in_db(&self, db: usize) -> Vec<CompactBytes> {
        self.dbs
            .get(db)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// Server-wide blocking state.
#[derive(Debug, Default)]
pub struct Blocking {
    /// Blocked clients (INFO `blocked_clients`).
    pub clients: usize,
    /// (deadline, client id, slot) of blocked clients with a timeout,
    /// ordered so the nearest deadline is first.
    timeouts: BTreeSet<(Instant, u64, usize)>,
    /// (slot, id) of clients unblocked since the last replay of held-back
    /// input.
    unblocked: Vec<(usize, u64)>,
}

impl Blocking {
    /// Blocked clients with a deadline (INFO `clients_in_timeout_table`).
    pub fn clients_with_timeout(&self) -> usize {
        self.timeouts.len()
    }

    /// The nearest blocked client's deadline: the event loop sleeps no
    /// longer than that, which is what gives timeouts millisecond
    /// precision.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timeouts.first().map(|&(d, _, _)| d)
    }

    /// Any unblocked client whose held-back input still has to run?
    pub fn has_unblocked(&self) -> bool {
        !self.unblocked.is_empty()
    }
}

/// Parse a blocking command's timeout, seconds as a float, into a wait in
/// milliseconds (None = forever), exactly as Redis 7.0's
/// getTimeoutFromObjectOrReply: `strtold`, times 1000 and `ceill` in long
/// double precision, then converted to a 64-bit integer, where x86-64 turns
/// anything out of range (1e100, inf) into i64::MIN, reported as negative.
/// So "0.0001" waits 1 ms, "-0.0001" rounds to 0 and waits forever.
pub fn parse_timeout(arg: &[u8]) -> Result<Option<Duration>, CmdError> {
    let v = LongDouble::parse(arg).ok_or(CmdError::msg(TIMEOUT_NOT_FLOAT))?;
    let ms = match v {
        LongDouble::Inf => i64::MIN,
        LongDouble::Finite { neg, mant, exp } => ceil_millis(neg, mant, exp),
    };
    if ms < 0 {
        return Err(CmdError::msg(TIMEOUT_NEGATIVE));
    }
    Ok((ms > 0).then(|| Duration::from_millis(ms as u64)))
}

/// `(long long) ceill(v * 1000.0L)` for v = (-1)^neg * mant * 2^exp.
fn ceil_millis(neg: bool, mant: u64, exp: i64) -> i64 {
    // The product, rounded to a 64-bit mantissa (nearest, ties to even)
    // as the x87 multiply does.
    let mut q = mant as u128 * 1000;
    let mut e = exp;
    let bits = 128 - q.leading_zeros() as i64;
    if bits > 64 {
        let shift = (bits - 64) as u32;
        let rem = q & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        q >>= shift;
        e += shift as i64;
        if rem > half || (rem == half && q & 1 == 1) {
            q += 1;
            if q >> 64 != 0 {
                q >>= 1;
                e += 1;
            }
        }
    }
    if q == 0 {
        return 0;
    }
    // Integer part and whether a fraction remains.
    let (int, frac) = if e >= 0 {
        if e >= 64 || q.leading_zeros() < e as u32 + 64 {
            return i64::MIN; // beyond any i64
        }
        (q << e, false)
    } else if -e >= 128 {
        (0, true)
    } else {
        let s = (-e) as u32;
        (q >> s, q & ((1u128 << s) - 1) != 0)
    };
    // ceil rounds a positive value up and a negative one towards zero.
    let magnitude = if !neg && frac { int + 1 } else { int };
    match i64::try_from(magnitude) {
        Ok(m) if neg => -m,
        Ok(m) => m,
        Err(_) => i64::MIN,
    }
}

impl Server {
    /// Block `c` on `keys` (in its current database) until one of them
    /// can serve `op` or `timeout` (None = never) passes. The command
    /// that calls this writes no reply: the reply comes when the client is
    /// served, times out or is unblocked. Duplicate keys wait once.
    ///
    /// A command running inside MULTI/EXEC (or, later, a script) must not
    /// block: blocking commands check [`may_block`] first and answer as
    /// on a timeout, as Redis does.
    pub fn block_client<'k>(
        &mut self,
        c: &mut Client,
        keys: impl Iterator<Item = &'k [u8]>,
        timeout: Option<Duration>,
        op: BlockOp,
    ) {
        // A wait too long to represent (centuries) is a wait forever, as
        // Redis's overflowing deadline is.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut keys: Vec<CompactBytes> = keys.map(CompactBytes::new).collect();
        keys.sort_unstable();
        keys.dedup();
        let w = Waiter {
            id: c.id,
            slot: c.token,
        };
        for k in &keys {
            self.ks.blocked.add_waiter(c.db, k, w);
        }
        if let Some(d) = deadline {
            self.blocking.timeouts.insert((d, c.id, c.token));
        }
        self.blocking.clients += 1;
        c.blocked = Some(Box::new(BlockState {
            db: c.db,
            keys,
            deadline,
            op,
            call: None,
        }));
    }

    /// Take `c` out of every wait queue and the deadline table. Used when
    /// it is served, times out, is unblocked, or disconnects.
    pub fn forget_blocked(&mut self, c: &mut Client) -> Option<Box<BlockState>> {
        let st = c.blocked.take()?;
        for k in &st.keys {
            self.ks.blocked.remove_waiter(st.db, k, c.id);
        }
        if let Some(d) = st.deadline {
            self.blocking.timeouts.remove(&(d, c.id, c.token));
        }
        self.blocking.clients -= 1;
        // Its reply counts as activity: without this, the idle `timeout`
        // sweep could close a client that waited long, between serving it
        // and writing its reply (a race redis-server itself has).
        c.last_interaction_ms = self.ks.now_ms;
        Some(st)
    }

    /// Unblock `c` (its reply is already written) and schedule the replay
    /// of the input it sent while blocked.
    fn unblock(&mut self, c: &mut Client) -> Option<Box<BlockState>> {
        let st = self.forget_blocked(c)?;
        self.blocking.unblocked.push((c.token, c.id));
        Some(st)
    }

    /// Account a blocking command that completed (see [`DeferredCall`]).
    /// `serve_usec` is Some when it was served, with how long that took.
    fn account_blocked_call(
        &mut self,
        c: &Client,
        call: Option<DeferredCall>,
        serve_usec: Option<u64>,
        failed: bool,
    ) {
        let Some(call) = call else {
            return;
        };
        let usec = call.usec.saturating_add(serve_usec.unwrap_or(0));
        let Some(st) = self.stats.commands.get_mut(call.id) else {
            return;
        };
        st.calls += 1;
        st.usec = st.usec.saturating_add(usec);
        if failed {
            st.failed_calls += 1;
        }
        self.stats.total_commands_processed += 1;
        let Some(serve_usec) = serve_usec else {
            return;
        };
        // The serve alone (popping and writing the reply), as Redis 7.0.
        self.latency_sample("command-unblocking", serve_usec / 1000);
        if self.config.latency_tracking {
            self.command_latencies.record(call.id, usec);
        }
        let slower_than = self.config.slowlog_log_slower_than;
        let max_len = self.config.slowlog_max_len.min(usize::MAX as u64) as usize;
        if slower_than >= 0 && usec >= slower_than as u64 && max_len > 0 {
            self.slowlog.push_cut(
                call.argv,
                usec,
                unix_ms() / 1000,
                &c.addr,
                c.name.as_deref().unwrap_or(b""),
                max_len,
            );
        }
    }

    /// Take the client in `slot` out of the table if it is still `id`.
    fn take_client(&mut self, slot: usize, id: u64) -> Option<Box<Client>> {
        let entry = self.clients.get_mut(slot)?;
        if entry.as_ref().is_some_and(|c| c.id == id) {
            entry.take()
        } else {
            None
        }
    }

    /// Write a deferred reply for a blocked client, honouring CLIENT REPLY
    /// OFF/SKIP exactly as the dispatcher does for immediate replies.
    fn deferred_reply(c: &mut Client, f: impl FnOnce(&mut Client)) {
        let mark = c.out.len();
        f(c);
        if matches!(c.reply_mode, ReplyMode::Off | ReplyMode::Skipping) {
            c.out.truncate(mark);
        }
    }

    /// Serve every waiter of every ready key, in the order the keys became
    /// ready and, per key, in the order the clients blocked. Called after
    /// each command that may have created keys, and before the loop sleeps.
    ///
    /// Bounded: each round either serves (and unblocks) a client or drops
    /// a ready key, and a key only becomes ready again when a served
    /// BLMOVE pushes to it, which also unblocked a client.
    pub fn handle_ready_keys(&mut self) {
        while let Some((db, key)) = self.ks.blocked.pop_ready() {
            self.serve_key(db, &key);
        }
    }

    /// Serve the waiters of one key while it holds a value they can take,
    /// in the order they blocked. Each waiter is looked at once: served,
    /// or (when the value's type is not what it waits for) passed over
    /// in place, as Redis 7.0 does: it keeps its turn ahead of later
    /// waiters for when the key holds its type.
    fn serve_key(&mut self, db: usize, key: &[u8]) {
        let rounds = self.ks.blocked.queue(db, key).map_or(0, |q| q.len());
        // Waiters before `pos` were passed over. A served one leaves the
        // queue (and nothing else does meanwhile: a client closed by a
        // serve's notifications is only marked, and freed later), so the
        // next waiter moves up to `pos`.
        let mut pos = 0;
        for _ in 0..rounds {
            let Some(&w) = self.ks.blocked.queue(db, key).and_then(|q| q.get(pos)) else {
                return;
            };
            let Some(mut c) = self.take_client(w.slot, w.id) else {
                // Not in the table: the client running the current command
                // (it cannot be waiting) or a stale entry. Skip it.
                pos += 1;
                continue;
            };
            // A key gone (the last pop emptied it, or it was deleted)
            // serves nobody, but a blocked XREADGROUP then fails.
            let value = self
                .ks
                .lookup(db, key, Access::NoTouch)
                .map(|obj| &obj.value);
            let readiness = c
                .blocked
                .as_ref()
                .map_or(Readiness::Wait, |st| st.op.readiness(key, value));
            match readiness {
                Readiness::Wait => {
                    self.clients[w.slot] = Some(c);
                    pos += 1;
                    continue;
                }
                Readiness::Fail(msg) => {
                    self.stats.count_error(msg);
                    Self::deferred_reply(&mut c, |c| c.reply().error(msg));
                    if let Some(mut st) = self.unblock(&mut c) {
                        self.account_blocked_call(&c, st.call.take(), None, true);
                    }
                    self.finish_client_turn(w.slot, c);
                    continue;
                }
                Readiness::Serve => {}
            }
            if let Some(mut st) = self.forget_blocked(&mut c) {
                let start = Instant::now();
                let failed = self.serve_blocked_client(&mut c, st.db, key, &st.op);
                let serve_usec = start.elapsed().as_micros() as u64;
                self.account_blocked_call(&c, st.call.take(), Some(serve_usec), failed);
                self.blocking.unblocked.push((c.token, c.id));
            }
            // Keyspace events of the pop (and of BLMOVE's push) go out now,
            // as after any command; the served client is out of the table,
            // so it is passed along in case it subscribed (RESP3).
            if self.ks.notifier.has_pending() {
                crate::commands::pubsub::flush_notifications(self, Some(&mut c));
            }
            self.finish_client_turn(w.slot, c);
        }
    }

    /// Run the blocked operation for a client whose key is ready: the
    /// family's serve function pops, writes the reply (or an error, like
    /// BLMOVE onto a key of the wrong type) and updates the keyspace.
    ///
    /// The served operation is propagated as its non-blocking form
    /// (LPOP/RPOP, LPOP key count, LMOVE, ZPOPMIN/ZPOPMAX [count]), as
    /// Redis does.
    /// Returns whether the serve answered an error.
    fn serve_blocked_client(
        &mut self,
        c: &mut Client,
        db: usize,
        key: &[u8],
        op: &BlockOp,
    ) -> bool {
        let mark = c.out.len();
        self.prop.begin_command();
        let result = match op {
            BlockOp::ListPop { .. } | BlockOp::ListMPop { .. } | BlockOp::ListMove { .. } => {
                crate::commands::lists::serve_blocked(self, c, db, key, op)
            }
            BlockOp::ZSetPop { .. } | BlockOp::ZSetMPop { .. } => {
                crate::commands::zsets::serve_blocked(self, c, db, key, op)
            }
            BlockOp::StreamRead(wait) => {
                crate::commands::stream_groups::serve_blocked(self, c, db, key, wait)
            }
        };
        let failed = result.is_err();
        if let Err(e) = result {
            let msg = e.message();
            self.stats.count_error(&msg);
            c.reply().error(&msg);
        }
        if matches!(c.reply_mode, ReplyMode::Off | ReplyMode::Skipping) {
            c.out.truncate(mark);
        }
        // The serve is an execution unit of its own, propagated as the
        // non-blocking command it amounts to (the serve function recorded
        // it); passing the current dirty count keeps the blocking argv
        // itself out of the stream. Under `appendfsync always` the reply
        // waits for the record, as for any write.
        let dirty = self.ks.dirty;
        self.propagate_command(db, &crate::commands::Argv::new(&[], &[]), dirty);
        if self.prop.unit_pending() {
            if self
                .aof
                .as_ref()
                .is_some_and(|a| a.policy == crate::config::FsyncPolicy::Always)
            {
                c.aof_wait = true;
            }
            self.propagate_end_unit();
        }
        failed
    }

    /// Time out blocked clients whose deadline passed (before sleeping).
    pub fn handle_blocked_timeouts(&mut self) {
        if self.blocking.timeouts.is_empty() {
            return;
        }
        let now = Instant::now();
        while let Some(&(deadline, id, slot)) = self.blocking.timeouts.first() {
            if deadline > now {
                break;
            }
            let Some(mut c) = self.take_client(slot, id) else {
                // Cannot happen (disconnects leave the table), but never
                // spin on a stale entry.
                self.blocking.timeouts.remove(&(deadline, id, slot));
                continue;
            };
            if let Some(st) = c.blocked.as_ref() {
                let op = st.op.clone();
                Self::deferred_reply(&mut c, |c| op.reply_timeout(&mut c.reply()));
            }
            if let Some(mut st) = self.unblock(&mut c) {
                self.account_blocked_call(&c, st.call.take(), None, false);
            }
            // A client without block state here would keep the entry
            // forever; make sure it goes.
            self.blocking.timeouts.remove(&(deadline, id, slot));
            self.finish_client_turn(slot, c);
        }
    }

    /// CLIENT UNBLOCK: unblock client `id` as if it timed out, or with an
    /// -UNBLOCKED error. False if no such client is blocked.
    ///
    /// A client in WAIT is blocked too (Redis 7.0's BLOCKED_WAIT): as on
    /// a timeout it gets WAIT's reply, the replicas that acknowledged its
    /// offset so far. A SHUTDOWN waiting for replicas is not unblocked
    /// (nothing would answer it but the shutdown itself).
    pub fn unblock_client_by_id(&mut self, id: u64, error: bool) -> bool {
        let Some((slot, in_wait)) = self
            .clients_iter()
            .find(|o| o.id == id && (o.blocked.is_some() || o.wait_blocked))
            .map(|o| (o.token, o.blocked.is_none()))
        else {
            return false;
        };
        if in_wait {
            return self.unblock_wait(slot, id, error);
        }
        let Some(mut c) = self.take_client(slot, id) else {
            return false;
        };
        if error {
            self.stats.count_error(UNBLOCKED_ERR);
            Self::deferred_reply(&mut c, |c| c.reply().error(UNBLOCKED_ERR));
        } else if let Some(st) = c.blocked.as_ref() {
            let op = st.op.clone();
            Self::deferred_reply(&mut c, |c| op.reply_timeout(&mut c.reply()));
        }
        // Redis 7.0 counts the unblocked command as failed either way,
        // and the CLIENT UNBLOCK too when it sent the error.
        if let Some(mut st) = self.unblock(&mut c) {
            self.account_blocked_call(&c, st.call.take(), None, true);
        }
        self.stats.fail_running |= error;
        self.finish_client_turn(slot, c);
        true
    }

    /// CLIENT UNBLOCK on a client in WAIT (see `unblock_client_by_id`).
    fn unblock_wait(&mut self, slot: usize, id: u64, error: bool) -> bool {
        let Some(acked) = self.cancel_wait(id) else {
            return false;
        };
        let Some(mut c) = self.take_client(slot, id) else {
            return false;
        };
        if error {
            self.stats.count_error(UNBLOCKED_ERR);
            Self::deferred_reply(&mut c, |c| c.reply().error(UNBLOCKED_ERR));
        } else {
            Self::deferred_reply(&mut c, |c| c.reply().int(acked as i64));
        }
        // WAIT was counted when it ran; as for any unblocked command,
        // Redis 7.0 adds a failure to it (and to CLIENT UNBLOCK ... ERROR).
        if let Some((idx, _)) = crate::commands::table::lookup_original(b"wait") {
            if let Some(st) = self.stats.commands.get_mut(idx) {
                st.failed_calls += 1;
            }
        }
        self.stats.fail_running |= error;
        // Its pipelined input, held back during the WAIT, runs next turn.
        c.wait_blocked = false;
        c.resume_input = true;
        self.pending_reads.push(slot);
        self.finish_client_turn(slot, c);
        true
    }

    /// The server becomes a replica (REPLICAOF host port): answer every
    /// blocked client -UNBLOCKED and close it once the error is written,
    /// as Redis 7.0 does. Left waiting, a key waiter would be served by
    /// the new master's stream and pop on this replica alone, so its
    /// dataset would part from the master's; a WAIT could never be
    /// answered, nor a SHUTDOWN waiting for replicas (blocked too in
    /// Redis). Input they pipelined never runs. Clients held by CLIENT
    /// PAUSE stay: their command has not started (Redis's
    /// BLOCKED_POSTPONE).
    pub fn disconnect_all_blocked_clients(&mut self) {
        let mut any = false;
        for slot in 0..self.clients.len() {
            let Some(id) = self.clients[slot]
                .as_ref()
                .filter(|c| c.blocked.is_some() || c.wait_blocked)
                .map(|c| c.id)
            else {
                continue;
            };
            let Some(mut c) = self.take_client(slot, id) else {
                continue;
            };
            any = true;
            self.stats.count_error(FORCE_UNBLOCKED_ERR);
            Self::deferred_reply(&mut c, |c| c.reply().error(FORCE_UNBLOCKED_ERR));
            // Redis counts the blocked command as a call that did not
            // fail (updateStatsOnUnblock with no error).
            if let Some(mut st) = self.forget_blocked(&mut c) {
                self.account_blocked_call(&c, st.call.take(), None, false);
            }
            if c.wait_blocked {
                self.cancel_wait(id);
                c.wait_blocked = false;
            }
            c.close_after_reply = true;
            // Closed by the write pass, even with no reply to write
            // (CLIENT REPLY OFF).
            if !c.pending_write {
                c.pending_write = true;
                self.pending_writes.push(slot);
            }
            self.finish_client_turn(slot, c);
        }
        // Redis 7.0 charges the errors to the REPLICAOF that caused them.
        self.stats.fail_running |= any;
    }

    /// Run the input unblocked clients sent while they were blocked (it
    /// stayed in their query buffers). Runs until no client is left to
    /// replay, since a replayed command may unblock others; each client's
    /// buffered input is finite, so this ends.
    pub fn process_unblocked_clients(&mut self) {
        while !self.blocking.unblocked.is_empty() {
            let batch = std::mem::take(&mut self.blocking.unblocked);
            for &(slot, id) in &batch {
                let Some(mut c) = self.take_client(slot, id) else {
                    continue;
                };
                if c.blocked.is_none() && !c.query.is_empty() {
                    self.ks.now_ms = unix_ms();
                    self.process_query_buffer(&mut c);
                }
                self.finish_client_turn(slot, c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wait in ms, 0 for forever.
    fn ms(s: &str) -> Result<u128, CmdError> {
        parse_timeout(s.as_bytes()).map(|d| d.map_or(0, |d| d.as_millis()))
    }

    #[test]
    fn timeouts_parse_like_redis_7_0() {
        assert_eq!(ms("0"), Ok(0));
        assert_eq!(ms("1"), Ok(1000));
        assert_eq!(ms("0.5"), Ok(500));
        // ceill: a tenth of a millisecond still waits one millisecond,
        // and a tiny negative rounds to zero: forever.
        assert_eq!(ms("0.0001"), Ok(1));
        assert_eq!(ms("-0.0001"), Ok(0));
        assert_eq!(ms("-0"), Ok(0));
        assert_eq!(ms("1e-400"), Ok(1));
        assert_eq!(ms("0x10"), Ok(16_000));
        assert_eq!(ms("0.0015"), Ok(2));
        for neg in ["-1", "1e100", "inf", "-inf", "1e16", "-0.5"] {
            assert_eq!(ms(neg), Err(CmdError::msg(TIMEOUT_NEGATIVE)), "{neg}");
        }
        for bad in ["abc", "nan", " 1", "1 ", "", "1e"] {
            assert_eq!(ms(bad), Err(CmdError::msg(TIMEOUT_NOT_FLOAT)), "{bad}");
        }
        // Fits in i64 milliseconds: a (centuries long) wait, not an error.
        assert_eq!(ms("9223372036854775"), Ok(9_223_372_036_854_775_000));
    }

    #[test]
    fn registry_keeps_fifo_and_drops_empty_queues() {
        let mut b = BlockedKeys::default();
        assert!(b.is_empty());
        let w1 = Waiter { id: 1, slot: 0 };
        let w2 = Waiter { id: 2, slot: 1 };
        b.add_waiter(3, b"k", w1);
        b.add_waiter(3, b"k", w2);
        assert!(!b.is_empty());
        b.signal(3, b"k");
        b.signal(3, b"k");
        b.signal(3, b"other");
        b.signal(0, b"k");
        assert_eq!(b.ready.len(), 1, "signalled once, only where waited on");
        assert_eq!(b.queue(3, b"k").map(|q| q[0]), Some(w1));
        assert_eq!(b.pop_ready().map(|(d, _)| d), Some(3));
        b.remove_waiter(3, b"k", 1);
        assert_eq!(b.queue(3, b"k").map(|q| q[0]), Some(w2));
        b.remove_waiter(3, b"k", 2);
        assert!(b.is_empty());
        assert!(b.queue(3, b"k").is_none());
    }
}
