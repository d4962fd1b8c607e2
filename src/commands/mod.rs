//! Command dispatch: look a command up, check it, run it, account for it.
//!
//! Owns: [`Argv`] (the arguments of one request, borrowed from the read
//! buffer), the dispatcher [`call`], and the command families, one file
//! each (strings.rs, keys.rs, lists.rs, databases.rs, connection.rs,
//! server.rs, config.rs, command.rs); the table that ties names to handlers is in
//! table.rs.
//!
//! Must never: let a handler see a request that failed the generic checks
//! (unknown name, arity, authentication), or write error text that is not
//! in errors.rs.
//!
//! Invariant: after `call` returns, exactly one reply was appended for the
//! request (or none, when the client asked for CLIENT REPLY OFF/SKIP or the
//! command closes the connection, like QUIT after its +OK).

pub mod acl;
pub mod bitmaps;
pub mod cluster;
pub mod command;
pub mod command_meta;
mod command_meta_data;
pub mod config;
pub mod connection;
pub mod databases;
pub mod debug;
pub mod digest;
pub mod dump;
pub mod functions;
pub mod geo;
pub mod hashes;
pub mod hyperloglog;
pub mod keys;
pub mod lists;
pub mod lolwut;
pub mod memory;
pub mod migrate;
pub mod module;
pub mod observe;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod sort;
pub mod stream_groups;
pub mod streams;
pub mod strings;
pub mod table;
pub mod tx;
pub mod zsets;

use crate::connection::{Client, ReplyMode};
use crate::errors::{CmdError, CmdResult};
use crate::server::Server;
use std::ops::Range;
use std::time::Instant;
pub use table::{lookup, Command, COMMANDS};

/// The arguments of one request. `argv[0]` is the command name as sent.
pub struct Argv<'a> {
    data: &'a [u8],
    ranges: &'a [Range<usize>],
    /// The whole request as the client sent it, when its bytes are the
    /// canonical encoding of its arguments (`Parser::last_is_canonical`);
    /// empty otherwise.
    /// Propagation copies it instead of re-encoding (see [`Argv::raw`]).
    raw: &'a [u8],
}

impl<'a> Argv<'a> {
    pub fn new(data: &'a [u8], ranges: &'a [Range<usize>]) -> Argv<'a> {
        Argv {
            data,
            ranges,
            raw: &[],
        }
    }

    /// Arguments sent as `raw`, a multibulk request the parser found
    /// canonical.
    pub fn with_raw(data: &'a [u8], ranges: &'a [Range<usize>], raw: &'a [u8]) -> Argv<'a> {
        Argv { data, ranges, raw }
    }

    /// The request's own bytes, when they are exactly the RESP encoding
    /// of its arguments.
    #[inline]
    pub fn raw(&self) -> Option<&'a [u8]> {
        (!self.raw.is_empty()).then_some(self.raw)
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The arguments from `n` on (COMMAND GETKEYS's inner command); empty
    /// past the end. Borrows, never copies.
    pub fn tail(&self, n: usize) -> Argv<'a> {
        Argv {
            data: self.data,
            ranges: self.ranges.get(n..).unwrap_or(&[]),
            raw: &[],
        }
    }

    /// Argument `i`. Callers index only below the arity the table checked.
    pub fn get(&self, i: usize) -> &'a [u8] {
        &self.data[self.ranges[i].clone()]
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + '_ {
        self.ranges.iter().map(|r| &self.data[r.clone()])
    }

    /// Argument `i` lowercased into an owned string (for option matching in
    /// cold paths; hot paths compare with `eq_ignore_ascii_case`).
    pub fn lower(&self, i: usize) -> String {
        String::from_utf8_lossy(self.get(i)).to_ascii_lowercase()
    }

    /// True if argument `i` equals `word`, ignoring ASCII case.
    pub fn is(&self, i: usize, word: &str) -> bool {
        self.get(i).eq_ignore_ascii_case(word.as_bytes())
    }
}

impl std::ops::Index<usize> for Argv<'_> {
    type Output = [u8];
    fn index(&self, i: usize) -> &[u8] {
        self.get(i)
    }
}

/// Redis's "unknown command" text: the name cut at 128 bytes and the first
/// arguments quoted, their total also bounded at about 128 bytes.
fn unknown_command_message(argv: &Argv) -> String {
    let name = String::from_utf8_lossy(&argv[0]);
    let name: String = name.chars().take(128).collect();
    let mut args = String::new();
    for a in argv.iter().skip(1) {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let a = String::from_utf8_lossy(a);
        let cut: String = a.chars().take(room).collect();
        args.push('\'');
        args.push_str(&cut);
        args.push_str("' ");
    }
    format!("ERR unknown command '{name}', with args beginning with: {args}")
}

/// Check arity: positive = exact, negative = at least |arity|.
pub(crate) fn arity_ok(arity: i32, argc: usize) -> bool {
    if arity >= 0 {
        argc == arity as usize
    } else {
        argc >= arity.unsigned_abs() as usize
    }
}

/// Run one request for client `c`.
pub fn call(srv: &mut Server, c: &mut Client, argv: &Argv) {
    // A pipelined request's clock starts where its predecessor's stopped
    // (see Server::cmd_start_hint_ns): one clock read per request.
    let start = match std::mem::take(&mut srv.cmd_start_hint_ns) {
        0 => crate::server::mono_ns(),
        hint => hint,
    };
    srv.cmd_end_ns = 0;
    srv.ks.now_ms = srv.clock.unix_ms_at_ns(start);
    c.last_interaction_ms = srv.ks.now_ms;
    match c.reply_mode {
        ReplyMode::SkipNext => c.reply_mode = ReplyMode::Skipping,
        ReplyMode::Skipping => c.reply_mode = ReplyMode::On,
        _ => {}
    }
    let out_mark = c.out.len();
    srv.ks.client_no_touch = c.no_touch;
    // Redis's current_client: NOLOOP and the "after the reply" rule of
    // CLIENT TRACKING look at it (tracking.rs).
    srv.ks.tracking.current = Some(c.id);
    let result = dispatch(srv, c, argv, start);
    srv.ks.client_no_touch = false;
    if let Err(e) = result {
        let msg = e.message();
        srv.stats.count_error(&msg);
        c.reply().error(&msg);
    }
    match c.reply_mode {
        // CLIENT REPLY OFF / SKIP: the replies are dropped. The command that
        // set the mode (CLIENT REPLY ON) resets it before we get here.
        ReplyMode::Off | ReplyMode::Skipping => c.out.truncate(out_mark),
        _ => {}
    }
    if let Some(t) = c.tracking.as_deref_mut() {
        // CLIENT CACHING applies to the next command or transaction only;
        // any CLIENT subcommand keeps it, as Redis's resetClient.
        if t.caching && c.multi.is_none() && !argv[0].eq_ignore_ascii_case(b"client") {
            t.caching = false;
        }
    }
    srv.ks.tracking.current = None;
    // Invalidations go out after the reply (Redis defers the running
    // client's own until its reply is written).
    if !srv.ks.tracking.outbox.is_empty() {
        connection::deliver_invalidations(srv, Some(c));
    }
    if srv.ks.notifier.has_pending() {
        pubsub::flush_notifications(srv, Some(c));
    }
    // The request (or the whole EXEC) is one execution unit of the
    // propagated stream. Under `appendfsync always` its reply is held
    // until the record is on disk (see event_loop::before_sleep).
    if srv.prop.unit_pending() {
        if srv
            .aof
            .as_ref()
            .is_some_and(|a| a.policy == crate::config::FsyncPolicy::Always)
        {
            c.aof_wait = true;
        }
        srv.propagate_end_unit();
    }
}

/// Redis's MISCONF refusal: while the AOF cannot be written, or the last
/// background save failed with `stop-writes-on-bgsave-error yes`, commands
/// that may change the dataset are refused; reads go on. Asked before
/// every write: the common answer (no error) is a few loads, inline; the
/// refusal's text is built out of line.
#[inline]
pub fn disk_error(srv: &Server) -> Option<CmdError> {
    let rdb_ok = srv.rdb.last_bgsave_ok || !srv.config.stop_writes_on_bgsave_error;
    if rdb_ok && srv.aof.as_ref().is_none_or(|aof| aof.writes_ok()) {
        return None;
    }
    disk_error_text(srv)
}

#[cold]
#[inline(never)]
fn disk_error_text(srv: &Server) -> Option<CmdError> {
    if let Some(text) = srv.aof.as_ref().and_then(|aof| aof.write_error()) {
        return Some(CmdError::Other(
            format!("MISCONF Errors writing to the AOF file: {text}").into(),
        ));
    }
    if srv.config.stop_writes_on_bgsave_error
        && !srv.config.save.is_empty()
        && !srv.rdb.last_bgsave_ok
    {
        return Some(CmdError::msg("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."));
    }
    None
}

/// A request rejected before running: inside MULTI it also dooms the
/// transaction (EXEC will answer EXECABORT), as Redis's flagTransaction.
fn reject(c: &mut Client, e: CmdError) -> CmdResult {
    if let Some(m) = c.multi.as_mut() {
        m.failed = true;
    }
    Err(e)
}

/// The BUSY refusal. EXEC refused this way discards the transaction and
/// says why, as Redis's execCommandAbort.
#[cold]
fn reject_busy(srv: &mut Server, c: &mut Client, cmd: &Command) -> CmdResult {
    let busy = srv.scripting.busy_error();
    if cmd.name == "exec" {
        if c.multi.take().is_some() {
            tx::unwatch_all(srv, c);
        }
        return Err(CmdError::Other(
            format!(
                "EXECABORT Transaction discarded because of: {}",
                busy.message()
            )
            .into(),
        ));
    }
    reject(c, busy)
}

/// Commands a RESP2 client may run while subscribed.
fn allowed_while_subscribed(name: &str) -> bool {
    matches!(
        name,
        "subscribe"
            | "psubscribe"
            | "unsubscribe"
            | "punsubscribe"
            | "ssubscribe"
            | "sunsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

/// True if running `cmd` now may add data (DENYOOM), counting EXEC of a
/// transaction that queued such a command.
fn may_grow_memory(cmd: &Command, c: &Client) -> bool {
    cmd.flags & table::DENYOOM != 0 || exec_queues(cmd, c, |f| f & table::DENYOOM != 0)
}

/// EXEC whose queued commands include one whose flags satisfy `test`.
fn exec_queues(cmd: &Command, c: &Client, test: impl Fn(u32) -> bool) -> bool {
    cmd.name == "exec"
        && c.multi.as_ref().is_some_and(|m| {
            m.commands.iter().any(|args| {
                args.first()
                    .and_then(|name| lookup(name))
                    .is_some_and(|(_, q)| test(q.flags))
            })
        })
}

/// Commands that act on the transaction itself and so are never queued.
fn is_transaction_control(name: &str) -> bool {
    matches!(
        name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

fn dispatch(srv: &mut Server, c: &mut Client, argv: &Argv, start: u64) -> CmdResult {
    let Some((idx, cmd)) = lookup(&argv[0]) else {
        return reject(c, CmdError::Other(unknown_command_message(argv).into()));
    };
    // Statistics are kept per subcommand (`config|get`), as Redis 7.0.
    let id = table::ids().of(idx, cmd, argv);
    if !arity_ok(cmd.arity, argv.len()) {
        srv.stats.commands[id].rejected_calls += 1;
        return reject(c, CmdError::WrongArity(cmd.name.to_string()));
    }
    // A container command may run bare (COMMAND alone lists everything);
    // only look for a subcommand when one was given.
    if !cmd.subcommands.is_empty() && argv.len() >= 2 {
        let sub = &argv[1];
        match cmd
            .subcommands
            .iter()
            .find(|s| s.name.as_bytes().eq_ignore_ascii_case(sub))
        {
            // Redis counts an unknown subcommand under no command (only
            // in errorstats).
            None => {
                return reject(
                    c,
                    CmdError::UnknownSubcommand(
                        String::from_utf8_lossy(sub).chars().take(128).collect(),
                        String::from_utf8_lossy(&argv[0]).to_ascii_uppercase(),
                    ),
                );
            }
            Some(s) if !arity_ok(s.arity, argv.len()) => {
                srv.stats.commands[id].rejected_calls += 1;
                return reject(c, CmdError::WrongArity(format!("{}|{}", cmd.name, s.name)));
            }
            Some(_) => {}
        }
    }
    if !c.authenticated && cmd.flags & table::NO_AUTH == 0 {
        srv.stats.commands[id].rejected_calls += 1;
        return reject(c, CmdError::NoAuth);
    }
    // ACL: one branch while every user may do everything.
    if srv.acl.restricted {
        if let Err(e) = acl::check_permission(srv, c, idx, cmd, argv) {
            srv.stats.commands[id].rejected_calls += 1;
            return reject(c, e);
        }
    }
    if c.in_resp2_pubsub_mode() && !allowed_while_subscribed(cmd.name) {
        return reject(
            c,
            CmdError::Other(
                format!(
                    "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                    cmd.name
                )
                .into(),
            ),
        );
    }
    // No eviction while a busy script lets us serve others: its effects
    // and the evictions' DELs must not interleave in the stream (Redis).
    if srv.config.maxmemory > 0 && !c.is_master && !srv.scripting.is_busy() {
        // Make room before running anything; if that is impossible, refuse
        // commands that may grow memory (EXEC counts as such when it holds
        // one), as Redis does.
        let evict_start = Instant::now();
        let out_of_memory = crate::evict::perform_evictions(srv) == crate::evict::EvictResult::Fail;
        let ms = evict_start.elapsed().as_millis() as u64;
        if ms > 0 {
            srv.latency_sample("eviction-cycle", ms);
        }
        if out_of_memory && may_grow_memory(cmd, c) {
            srv.stats.commands[id].rejected_calls += 1;
            return reject(c, CmdError::Oom);
        }
    }
    // min-replicas-to-write: skipped with one comparison when unset.
    if srv.config.min_replicas_to_write > 0
        && (cmd.flags & table::WRITE != 0 || exec_queues(cmd, c, |f| f & table::WRITE != 0))
        && !srv.enough_good_replicas()
    {
        return reject(
            c,
            CmdError::msg("NOREPLICAS Not enough good replicas to write."),
        );
    }
    if srv.config.replicaof.is_some()
        && !srv.config.replica_serve_stale_data
        && !c.is_master
        && !srv.repl.link.as_ref().is_some_and(|l| l.is_connected())
        && (cmd.flags & table::STALE == 0 || exec_queues(cmd, c, |f| f & table::STALE == 0))
    {
        return reject(
            c,
            CmdError::msg(
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            ),
        );
    }
    if cmd.flags & table::WRITE != 0 {
        if srv.config.replicaof.is_some() && srv.config.replica_read_only && !c.is_master {
            return reject(
                c,
                CmdError::msg("READONLY You can't write against a read only replica."),
            );
        }
        if let Some(e) = disk_error(srv) {
            return reject(c, e);
        }
    }
    if srv.ks.tracking.clients_on > 0 {
        // Keep the CLIENT TRACKING table under tracking-table-max-keys
        // (Redis does it here, before running the command).
        let max = usize::try_from(srv.config.tracking_table_max_keys).unwrap_or(usize::MAX);
        srv.ks.tracking.enforce_limit(max);
        // Invalidations raised before the command runs (evictions, the
        // limit above) reach the running client before its reply, as in
        // Redis.
        if !srv.ks.tracking.outbox.is_empty() {
            connection::deliver_invalidations(srv, Some(c));
        }
    }
    // A script past busy-reply-threshold is running (scripting/busy.rs):
    // only `allow-busy` commands run. One branch otherwise.
    if srv.scripting.is_busy() && effective_flags(cmd, argv) & table::ALLOW_BUSY == 0 {
        srv.stats.commands[id].rejected_calls += 1;
        return reject_busy(srv, c, cmd);
    }
    if c.multi.is_some() && !is_transaction_control(cmd.name) {
        tx::queue(c, argv);
        return Ok(());
    }
    execute(srv, c, id, cmd, argv, start)
}

/// Run a checked command: the handler, with timing and per-command stats.
/// EXEC calls this directly for queued commands. `id` is the statistics
/// id (`table::ids().of`: the subcommand's, if any); `start_ns` is the
/// `mono_ns()` reading taken when the request began.
pub fn execute(
    srv: &mut Server,
    c: &mut Client,
    id: usize,
    cmd: &Command,
    argv: &Argv,
    start_ns: u64,
) -> CmdResult {
    // CLIENT LIST `cmd=`: the subcommand's full name (`client|info`).
    c.last_cmd = if cmd.subcommands.is_empty() {
        cmd.name
    } else {
        table::ids().static_name(id)
    };
    c.commands_processed += 1;
    let dirty_before = srv.ks.dirty;
    srv.prop.begin_command();
    srv.prop.depth += 1;
    let result = (cmd.handler)(srv, c, argv);
    srv.prop.depth -= 1;
    if srv.ks.has_deferred_changes() {
        // Keys looked up for writing invalidate WATCH and CLIENT TRACKING
        // only if the command changed something (watch.rs).
        srv.ks.end_command(srv.ks.changed_since(dirty_before));
    }
    if c.tracking.is_some() {
        remember_read_keys(srv, c, cmd, argv);
    }
    srv.propagate_command(c.db, argv, dirty_before);
    let end_ns = crate::server::mono_ns();
    srv.cmd_end_ns = end_ns;
    let usec = end_ns.saturating_sub(start_ns) / 1000;
    let flags = effective_flags(cmd, argv);
    if let Some(st) = c.blocked.as_mut() {
        // The command blocked. Redis 7.0 counts it once, when it completes
        // (served, timed out or unblocked: server/blocking.rs), but shows
        // it to MONITOR now, as sent.
        st.call = Some(crate::server::blocking::DeferredCall {
            id,
            usec,
            argv: crate::observe::slowlog::cut(crate::observe::slowlog::LoggedArgs {
                args: argv.iter(),
                redacted: &c.redacted,
            }),
        });
    } else {
        // One branch in the common case; the flag is cleared when it was
        // set (see `Stats::fail_running`).
        let failed = result.is_err() || srv.stats.fail_running;
        if failed {
            srv.stats.fail_running = false;
        }
        let st = &mut srv.stats.commands[id];
        st.calls += 1;
        st.usec += usec;
        if failed {
            st.failed_calls += 1;
        }
        srv.stats.total_commands_processed += 1;
        if srv.config.latency_tracking {
            srv.command_latencies.record(id, usec);
        }
        // Observability hooks: each is one comparison when it has nothing
        // to do (slow log: the command was fast; latency monitor:
        // threshold 0).
        let slower_than = srv.config.slowlog_log_slower_than;
        if slower_than >= 0 && usec >= slower_than as u64 && flags & table::SKIP_SLOWLOG == 0 {
            log_slow(srv, c, argv, usec);
        }
        if srv.config.latency_monitor_threshold > 0 {
            let event = if flags & table::FAST != 0 {
                "fast-command"
            } else {
                "command"
            };
            srv.latency_sample(event, usec / 1000);
        }
    }
    // MONITOR: one comparison while nobody is watching.
    if !srv.monitors.is_empty() && flags & (table::SKIP_MONITOR | table::ADMIN) == 0 {
        crate::observe::monitor::feed(srv, c, argv);
    }
    c.redacted.clear();
    result
}

/// CLIENT TRACKING (default, OPTIN, OPTOUT modes): a read-only command's
/// keys are remembered for the client, whether it succeeded or not, as
/// Redis's call(). Pub/sub commands' shard channels are not keys.
#[cold]
fn remember_read_keys(srv: &mut Server, c: &Client, cmd: &Command, argv: &Argv) {
    let flags = effective_flags(cmd, argv);
    if flags & table::READONLY == 0 || flags & table::PUBSUB != 0 {
        return;
    }
    if !c.tracking.as_deref().is_some_and(|t| t.tracks_reads()) {
        return;
    }
    for i in command::tracked_key_positions(cmd, argv) {
        srv.ks.tracking.remember(c.id, argv.get(i));
    }
}

/// The flags that apply to this request: a subcommand's own flags when
/// the command is a container (CONFIG GET is admin, CLIENT SETNAME not).
#[inline]
fn effective_flags(cmd: &Command, argv: &Argv) -> u32 {
    if cmd.subcommands.is_empty() || argv.len() < 2 {
        return cmd.flags;
    }
    let sub = &argv[1];
    cmd.subcommands
        .iter()
        .find(|s| s.name.as_bytes().eq_ignore_ascii_case(sub))
        .map_or(cmd.flags, |s| s.flags)
}

/// Add a slow command to the slow log (cold path).
#[cold]
fn log_slow(srv: &mut Server, c: &Client, argv: &Argv, usec: u64) {
    let max_len = srv.config.slowlog_max_len.min(usize::MAX as u64) as usize;
    if max_len == 0 {
        return;
    }
    srv.slowlog.push(
        crate::observe::slowlog::LoggedArgs {
            args: argv.iter(),
            redacted: &c.redacted,
        },
        usec,
        crate::db::unix_ms() / 1000,
        &c.addr,
        c.name.as_deref().unwrap_or(b""),
        max_len,
    );
}

/// Where a command that stores its result (SINTERSTORE, ZUNIONSTORE,
/// SORT ... STORE) puts it: `value` at `dst`, replacing any value and its
/// TTL, with `event`; or, for an empty result (`value` None), `dst`
/// deleted with a "del" event, as Redis never stores an empty aggregate.
/// An already-expired destination is expired, not deleted by us. Returns
/// whether the dataset changed (the caller counts it in `dirty`).
pub fn store_result(
    srv: &mut Server,
    db: usize,
    dst: &[u8],
    value: Option<crate::types::Value>,
    class: u32,
    event: &'static str,
) -> bool {
    match value {
        Some(v) => {
            srv.ks.set(db, dst, v, false);
            srv.ks.notify(class, event, db, dst);
            true
        }
        None => {
            srv.ks.expire_if_needed(db, dst);
            let deleted = srv.ks.delete(db, dst);
            if deleted {
                srv.ks.notify(crate::notify::GENERIC, "del", db, dst);
            }
            deleted
        }
    }
}

/// Parse an integer argument with Redis's strict rules.
pub fn parse_int(arg: &[u8]) -> Result<i64, CmdError> {
    crate::resp::parser::parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// Parse a float argument (INCRBYFLOAT, scores).
pub fn parse_float(arg: &[u8]) -> Result<f64, CmdError> {
    crate::types::string::parse_f64(arg).ok_or(CmdError::NotFloat)
}
