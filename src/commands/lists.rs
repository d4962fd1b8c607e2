//! List commands (Redis's t_list.c): LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP
//! LLEN LRANGE LINDEX LSET LINSERT LREM LTRIM LPOS LMOVE RPOPLPUSH LMPOP,
//! and the blocking forms BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP, whose
//! waiting part lives in server/blocking.rs (this file serves a blocked
//! client once its key is ready: [`serve_blocked`]).
//!
//! Must never: leave an empty list in the keyspace (every command that
//! removes elements deletes the key when it empties), allocate by a count
//! the client sent (counts only bound loops over elements that exist), or
//! check arguments in another order than Redis (which error a bad request
//! gets depends on it: LINDEX looks the key up before parsing the index,
//! LRANGE parses before looking up).
//!
//! Invariants: a key holding a list holds at least one element; every
//! element pushed or popped bumps `dirty` by one, as Redis counts. Lookups
//! use `Access::Touch`, and WATCH is signalled (`signal_modified`) exactly
//! where Redis calls signalModifiedKey, with the same keyspace events in
//! the same order, so a no-op (LREM finding nothing, a failed LINSERT)
//! neither aborts a transaction nor raises an event.

use super::{parse_int, Argv};
use crate::connection::Client;
use crate::db::Access;
use crate::errors::{CmdError, CmdResult};
use crate::notify::{GENERIC, LIST};
use crate::resp::reply::ReplyWriter;
use crate::server::blocking::{may_block, parse_timeout, BlockOp};
use crate::server::Server;
use crate::types::list::{End, Fill};
use crate::types::{CompactBytes, ListValue, Value};

const INDEX_OUT_OF_RANGE: &str = "ERR index out of range";
const RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";
const COUNT_NEGATIVE: &str = "ERR COUNT can't be negative";
const MAXLEN_NEGATIVE: &str = "ERR MAXLEN can't be negative";
const NUMKEYS_NOT_POSITIVE: &str = "ERR numkeys should be greater than 0";
const COUNT_NOT_POSITIVE: &str = "ERR count should be greater than 0";

/// Node size policy from `list-max-listpack-size`.
fn fill(srv: &Server) -> Fill {
    Fill::new(srv.config.list_max_listpack_size)
}

/// The list at `key`, or None if missing; WRONGTYPE for other types.
fn lookup_list<'a>(
    srv: &'a mut Server,
    db: usize,
    key: &[u8],
    access: Access,
) -> Result<Option<&'a mut ListValue>, CmdError> {
    srv.ks.lookup_typed(db, key, access)
}

/// Delete `key` if the list it holds became empty, with its "del" event.
fn delete_if_empty(srv: &mut Server, db: usize, key: &[u8], empty: bool) {
    if empty {
        srv.ks.delete(db, key);
        srv.ks.notify(GENERIC, "del", db, key);
    }
}

fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

/// Propagate a pop of `n` elements from `end` of `key` as Redis does for
/// LMPOP, BLMPOP (`LPOP key n`) and BLPOP/BRPOP (`LPOP key`, `counted`
/// false): the effect, never a command that could block on replay.
fn propagate_pop(srv: &mut Server, key: &[u8], end: End, n: usize, counted: bool) {
    let cmd: &[u8] = match end {
        End::Head => b"LPOP",
        End::Tail => b"RPOP",
    };
    if counted {
        let mut tmp = [0u8; 20];
        let n = crate::resp::reply::fmt_u64(n as u64, &mut tmp);
        srv.propagate_replace(&[cmd, key, n]);
    } else {
        srv.propagate_replace(&[cmd, key]);
    }
}

/// Propagate a move as LMOVE with Redis's LEFT/RIGHT words.
fn propagate_move(srv: &mut Server, src: &[u8], dst: &[u8], from: End, to: End) {
    let word = |e: End| -> &'static [u8] {
        match e {
            End::Head => b"LEFT",
            End::Tail => b"RIGHT",
        }
    };
    srv.propagate_replace(&[b"LMOVE", src, dst, word(from), word(to)]);
}

/// Bookkeeping after `n` elements were popped from `end` of `key` (Redis's
/// listElementsRemoved): the pop event, deletion of an emptied key, WATCH,
/// dirty.
fn elements_removed(srv: &mut Server, db: usize, key: &[u8], end: End, n: usize, empty: bool) {
    srv.ks.notify(LIST, pop_event(end), db, key);
    delete_if_empty(srv, db, key, empty);
    srv.ks.signal_modified(db, key);
    srv.ks.dirty += n as u64;
}

/// Reply with up to `count` elements taken from `end` (in pop order) and
/// remove them. Returns how many.
fn pop_range_reply(w: &mut ReplyWriter, list: &mut ListValue, end: End, count: usize) -> usize {
    let n = count.min(list.len());
    w.array(n);
    match end {
        End::Head => list.iter().take(n).for_each(|v| w.bulk(v)),
        End::Tail => list.iter_rev().take(n).for_each(|v| w.bulk(v)),
    }
    list.remove_end(end, n);
    n
}

// ---------------------------------------------------------------------------
// Push

/// LPUSH/RPUSH/LPUSHX/RPUSHX. `only_existing` is the X form.
fn push_generic(
    srv: &mut Server,
    c: &mut Client,
    argv: &Argv,
    end: End,
    only_existing: bool,
) -> CmdResult {
    let fill = fill(srv);
    let (db, key) = (c.db, &argv[1]);
    let len = match lookup_list(srv, db, key, Access::Touch)? {
        Some(list) => {
            for v in argv.iter().skip(2) {
                list.push(end, v, fill);
            }
            list.len()
        }
        None if only_existing => {
            c.reply().int(0);
            return Ok(());
        }
        None => {
            let mut list = ListValue::new();
            for v in argv.iter().skip(2) {
                list.push(end, v, fill);
            }
            let len = list.len();
            srv.ks.add(db, key, Value::List(Box::new(list)));
            len
        }
    };
    srv.ks.signal_modified(db, key);
    srv.ks.notify(LIST, push_event(end), db, key);
    srv.ks.dirty += (argv.len() - 2) as u64;
    c.reply().int(len as i64);
    Ok(())
}

pub fn lpush(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    push_generic(srv, c, argv, End::Head, false)
}

pub fn rpush(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    push_generic(srv, c, argv, End::Tail, false)
}

pub fn lpushx(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    push_generic(srv, c, argv, End::Head, true)
}

pub fn rpushx(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    push_generic(srv, c, argv, End::Tail, true)
}

// ---------------------------------------------------------------------------
// Pop

/// LPOP/RPOP key [count]. Without a count: one bulk string (null if the
/// key is missing). With one: an array (a null array if missing, an empty
/// one for count 0).
fn pop_generic(srv: &mut Server, c: &mut Client, argv: &Argv, end: End) -> CmdResult {
    if argv.len() > 3 {
        let name = match end {
            End::Head => "lpop",
            End::Tail => "rpop",
        };
        return Err(CmdError::WrongArity(name.into()));
    }
    let count = if argv.len() == 3 {
        let n = parse_int(&argv[2]).map_err(|_| CmdError::NotPositive)?;
        Some(usize::try_from(n).map_err(|_| CmdError::NotPositive)?)
    } else {
        None
    };
    let (db, key) = (c.db, &argv[1]);
    let Some(list) = lookup_list(srv, db, key, Access::Touch)? else {
        match count {
            Some(_) => c.reply().null_array(),
            None => c.reply().null(),
        }
        return Ok(());
    };
    let mut w = c.reply();
    let popped = match count {
        Some(0) => {
            w.array(0);
            return Ok(());
        }
        Some(n) => pop_range_reply(&mut w, list, end, n),
        None => list.pop_with(end, |v| w.bulk(v)).map_or(0, |_| 1),
    };
    let empty = list.is_empty();
    elements_removed(srv, db, key, end, popped, empty);
    Ok(())
}

pub fn lpop(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    pop_generic(srv, c, argv, End::Head)
}

pub fn rpop(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    pop_generic(srv, c, argv, End::Tail)
}

// ---------------------------------------------------------------------------
// Reading and editing in place

pub fn llen(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let len = lookup_list(srv, c.db, &argv[1], Access::Read)?.map_or(0, |l| l.len());
    c.reply().int(len as i64);
    Ok(())
}

/// Normalise Redis's inclusive [start, end] range with negative indexes
/// against `len`; None when it selects nothing.
fn normalize_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((start as usize, end as usize))
}

pub fn lrange(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let start = parse_int(&argv[2])?;
    let end = parse_int(&argv[3])?;
    let Some(list) = lookup_list(srv, c.db, &argv[1], Access::Read)? else {
        c.reply().array(0);
        return Ok(());
    };
    let mut w = c.reply();
    match normalize_range(start, end, list.len()) {
        None => w.array(0),
        Some((s, e)) => {
            let n = e - s + 1;
            w.array(n);
            list.iter_from(s).take(n).for_each(|v| w.bulk(v));
        }
    }
    Ok(())
}

pub fn ltrim(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let start = parse_int(&argv[2])?;
    let end = parse_int(&argv[3])?;
    let (db, key) = (c.db, &argv[1]);
    let Some(list) = lookup_list(srv, db, key, Access::Touch)? else {
        c.reply().ok();
        return Ok(());
    };
    let len = list.len();
    let (ltrim, rtrim) = match normalize_range(start, end, len) {
        None => (len, 0),
        Some((s, e)) => (s, len - e - 1),
    };
    list.remove_front(ltrim);
    list.remove_back(rtrim);
    let empty = list.is_empty();
    srv.ks.notify(LIST, "ltrim", db, key);
    delete_if_empty(srv, db, key, empty);
    srv.ks.signal_modified(db, key);
    srv.ks.dirty += (ltrim + rtrim) as u64;
    c.reply().ok();
    Ok(())
}

/// A Redis list index (negative counts from the tail) as a position, if
/// it is inside a list of `len` elements.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 {
        (len as i64).checked_add(index)?
    } else {
        index
    };
    usize::try_from(i).ok().filter(|&i| i < len)
}

pub fn lindex(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    // Redis looks the key up first: a missing key answers null even when
    // the index is not a number.
    let Some(list) = lookup_list(srv, c.db, &argv[1], Access::Read)? else {
        c.reply().null();
        return Ok(());
    };
    let index = parse_int(&argv[2])?;
    let mut w = c.reply();
    match resolve_index(index, list.len()).and_then(|i| list.get(i)) {
        Some(v) => w.bulk(v),
        None => w.null(),
    }
    Ok(())
}

pub fn lset(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let fill = fill(srv);
    let (db, key) = (c.db, &argv[1]);
    let Some(list) = lookup_list(srv, db, key, Access::Touch)? else {
        return Err(CmdError::NoSuchKey);
    };
    let index = parse_int(&argv[2])?;
    let Some(i) = resolve_index(index, list.len()) else {
        return Err(CmdError::msg(INDEX_OUT_OF_RANGE));
    };
    list.set(i, &argv[3], fill);
    srv.ks.signal_modified(db, key);
    srv.ks.notify(LIST, "lset", db, key);
    srv.ks.dirty += 1;
    c.reply().ok();
    Ok(())
}

pub fn linsert(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let after = if argv.is(2, "after") {
        true
    } else if argv.is(2, "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let fill = fill(srv);
    let (db, key) = (c.db, &argv[1]);
    let Some(list) = lookup_list(srv, db, key, Access::Touch)? else {
        c.reply().int(0);
        return Ok(());
    };
    let pivot = &argv[3];
    let Some(at) = list.iter().position(|v| v == pivot) else {
        c.reply().int(-1);
        return Ok(());
    };
    list.insert(if after { at + 1 } else { at }, &argv[4], fill);
    let len = list.len();
    srv.ks.signal_modified(db, key);
    srv.ks.notify(LIST, "linsert", db, key);
    srv.ks.dirty += 1;
    c.reply().int(len as i64);
    Ok(())
}

pub fn lrem(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let count = parse_int(&argv[2])?;
    let fill = fill(srv);
    let (db, key) = (c.db, &argv[1]);
    let Some(list) = lookup_list(srv, db, key, Access::Touch)? else {
        c.reply().int(0);
        return Ok(());
    };
    let removed = list.remove_matching(&argv[3], count, fill);
    let empty = list.is_empty();
    if removed > 0 {
        srv.ks.signal_modified(db, key);
        srv.ks.notify(LIST, "lrem", db, key);
    }
    delete_if_empty(srv, db, key, empty);
    srv.ks.dirty += removed as u64;
    c.reply().int(removed as i64);
    Ok(())
}

/// What LPOS is looking for, after option parsing.
struct LposQuery<'a> {
    element: &'a [u8],
    /// Which match to start from (1 = first). Redis negates a negative
    /// rank to mean "from the tail"; i64::MIN stays negative (C's
    /// overflow), so every match satisfies `matches >= rank`.
    rank: i64,
    /// None: no COUNT given (reply one index); Some(0): all matches.
    count: Option<i64>,
    /// Elements to scan at most; 0 = no limit.
    maxlen: i64,
}

/// Scan `items` (from the head or the tail) and collect the indexes of
/// matches. `index_of` maps a scan position to a list index.
fn lpos_scan<'a>(
    q: &LposQuery,
    items: impl Iterator<Item = &'a [u8]>,
    index_of: impl Fn(i64) -> i64,
    out: &mut Vec<i64>,
) {
    let mut matches: i64 = 0;
    for (pos, v) in (0i64..).zip(items) {
        if q.maxlen != 0 && pos >= q.maxlen {
            break;
        }
        if v != q.element {
            continue;
        }
        matches += 1;
        if matches < q.rank {
            continue;
        }
        out.push(index_of(pos));
        match q.count {
            None => break,
            Some(n) if n != 0 && matches.wrapping_sub(q.rank).wrapping_add(1) >= n => break,
            Some(_) => {}
        }
    }
}

pub fn lpos(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let mut q = LposQuery {
        element: &argv[2],
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        if argv.is(j, "rank") && more {
            q.rank = parse_int(&argv[j + 1])?;
            if q.rank == 0 {
                return Err(CmdError::msg(RANK_ZERO));
            }
        } else if argv.is(j, "count") && more {
            let n = parse_int(&argv[j + 1])
                .ok()
                .filter(|&n| n >= 0)
                .ok_or(CmdError::msg(COUNT_NEGATIVE))?;
            q.count = Some(n);
        } else if argv.is(j, "maxlen") && more {
            q.maxlen = parse_int(&argv[j + 1])
                .ok()
                .filter(|&n| n >= 0)
                .ok_or(CmdError::msg(MAXLEN_NEGATIVE))?;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 2;
    }
    let from_tail = q.rank < 0;
    if from_tail {
        q.rank = q.rank.wrapping_neg();
    }
    let Some(list) = lookup_list(srv, c.db, &argv[1], Access::Read)? else {
        match q.count {
            Some(_) => c.reply().array(0),
            None => c.reply().null(),
        }
        return Ok(());
    };
    let llen = list.len() as i64;
    // Bounded by the matches that exist, not by COUNT.
    let mut found = Vec::new();
    if from_tail {
        lpos_scan(&q, list.iter_rev(), |pos| llen - pos - 1, &mut found);
    } else {
        lpos_scan(&q, list.iter(), |pos| pos, &mut found);
    }
    let mut w = c.reply();
    match q.count {
        Some(_) => {
            w.array(found.len());
            found.iter().for_each(|&i| w.int(i));
        }
        None => match found.first() {
            Some(&i) => w.int(i),
            None => w.null(),
        },
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Moving between lists

/// Pop from `src` at `from` and push onto `dst` at `to`, both in `db`.
/// None if `src` does not exist. `dst` is type-checked before anything
/// changes; `src == dst` rotates the list.
fn move_element(
    srv: &mut Server,
    db: usize,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> Result<Option<Vec<u8>>, CmdError> {
    let fill = fill(srv);
    if lookup_list(srv, db, src, Access::Touch)?.is_none() {
        return Ok(None);
    }
    lookup_list(srv, db, dst, Access::Touch)?;
    let Some(value) = lookup_list(srv, db, src, Access::Touch)?.and_then(|l| l.pop(from)) else {
        return Ok(None);
    };
    match lookup_list(srv, db, dst, Access::Touch)? {
        Some(list) => list.push(to, &value, fill),
        None => {
            let mut list = ListValue::new();
            list.push(to, &value, fill);
            srv.ks.add(db, dst, Value::List(Box::new(list)));
        }
    }
    srv.ks.signal_modified(db, dst);
    srv.ks.notify(LIST, push_event(to), db, dst);
    let empty = lookup_list(srv, db, src, Access::Touch)?.is_some_and(|l| l.is_empty());
    elements_removed(srv, db, src, from, 1, empty);
    Ok(Some(value))
}

fn reply_moved(c: &mut Client, moved: Option<Vec<u8>>) {
    match moved {
        Some(v) => c.reply().bulk(&v),
        None => c.reply().null(),
    }
}

/// LEFT/RIGHT argument; anything else is a syntax error.
fn parse_end(arg: &[u8]) -> Result<End, CmdError> {
    End::parse(arg).ok_or(CmdError::Syntax)
}

pub fn lmove(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let from = parse_end(&argv[3])?;
    let to = parse_end(&argv[4])?;
    let moved = move_element(srv, c.db, &argv[1], &argv[2], from, to)?;
    reply_moved(c, moved);
    Ok(())
}

pub fn rpoplpush(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let moved = move_element(srv, c.db, &argv[1], &argv[2], End::Tail, End::Head)?;
    reply_moved(c, moved);
    Ok(())
}

// ---------------------------------------------------------------------------
// Multi-key pops

/// LMPOP/BLMPOP arguments after the optional timeout.
struct MPopArgs {
    /// Index of the first key in argv.
    first_key: usize,
    numkeys: usize,
    end: End,
    count: usize,
}

/// Parse `numkeys key... LEFT|RIGHT [COUNT n]` starting at `numkeys_idx`,
/// with Redis's checks in Redis's order.
fn parse_mpop(argv: &Argv, numkeys_idx: usize) -> Result<MPopArgs, CmdError> {
    let numkeys = parse_int(&argv[numkeys_idx])
        .ok()
        .filter(|&n| n > 0)
        .ok_or(CmdError::msg(NUMKEYS_NOT_POSITIVE))?;
    let where_idx = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(numkeys_idx + 1))
        .filter(|&i| i < argv.len())
        .ok_or(CmdError::Syntax)?;
    let end = parse_end(&argv[where_idx])?;
    let mut count = None;
    let mut j = where_idx + 1;
    while j < argv.len() {
        if count.is_none() && argv.is(j, "count") && j + 1 < argv.len() {
            let n = parse_int(&argv[j + 1])
                .ok()
                .filter(|&n| n > 0)
                .ok_or(CmdError::msg(COUNT_NOT_POSITIVE))?;
            count = Some(n as usize);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(MPopArgs {
        first_key: numkeys_idx + 1,
        numkeys: where_idx - numkeys_idx - 1,
        end,
        count: count.unwrap_or(1),
    })
}

/// Pop from the first non-empty list among `keys`, replying `[key,
/// [elements]]` (`nested`) or `[key, element]`. Returns false if every
/// key was missing (nothing replied yet).
fn pop_first_nonempty<'k>(
    srv: &mut Server,
    c: &mut Client,
    keys: impl Iterator<Item = &'k [u8]>,
    end: End,
    count: Option<usize>,
) -> Result<bool, CmdError> {
    let db = c.db;
    for key in keys {
        let Some(list) = lookup_list(srv, db, key, Access::Touch)? else {
            continue;
        };
        if list.is_empty() {
            continue;
        }
        let mut w = c.reply();
        w.array(2);
        w.bulk(key);
        let popped = match count {
            Some(n) => pop_range_reply(&mut w, list, end, n),
            None => list.pop_with(end, |v| w.bulk(v)).map_or(0, |_| 1),
        };
        let empty = list.is_empty();
        elements_removed(srv, db, key, end, popped, empty);
        propagate_pop(srv, key, end, popped, count.is_some());
        return Ok(true);
    }
    Ok(false)
}

pub fn lmpop(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let a = parse_mpop(argv, 1)?;
    let keys = (a.first_key..a.first_key + a.numkeys).map(|i| argv.get(i));
    if !pop_first_nonempty(srv, c, keys, a.end, Some(a.count))? {
        c.reply().null_array();
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Blocking forms

/// BLPOP/BRPOP/BLMPOP: pop now if a list has elements, else block on all
/// the keys (or, where blocking is not allowed, answer as a timeout).
fn blocking_pop<'k>(
    srv: &mut Server,
    c: &mut Client,
    keys: impl Iterator<Item = &'k [u8]> + Clone,
    timeout_arg: &[u8],
    end: End,
    count: Option<usize>,
) -> CmdResult {
    let timeout = parse_timeout(timeout_arg)?;
    if pop_first_nonempty(srv, c, keys.clone(), end, count)? {
        return Ok(());
    }
    if !may_block(c) {
        c.reply().null_array();
        return Ok(());
    }
    let op = match count {
        Some(count) => BlockOp::ListMPop { from: end, count },
        None => BlockOp::ListPop { from: end },
    };
    srv.block_client(c, keys, timeout, op);
    Ok(())
}

pub fn blpop(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let last = argv.len() - 1;
    let keys = (1..last).map(|i| argv.get(i));
    blocking_pop(srv, c, keys, &argv[last], End::Head, None)
}

pub fn brpop(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let last = argv.len() - 1;
    let keys = (1..last).map(|i| argv.get(i));
    blocking_pop(srv, c, keys, &argv[last], End::Tail, None)
}

pub fn blmpop(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let a = parse_mpop(argv, 2)?;
    let keys = (a.first_key..a.first_key + a.numkeys).map(|i| argv.get(i));
    blocking_pop(srv, c, keys, &argv[1], a.end, Some(a.count))
}

/// BLMOVE/BRPOPLPUSH once the arguments are parsed.
fn blocking_move(
    srv: &mut Server,
    c: &mut Client,
    argv: &Argv,
    from: End,
    to: End,
    timeout_arg: &[u8],
) -> CmdResult {
    let timeout = parse_timeout(timeout_arg)?;
    let (src, dst) = (&argv[1], &argv[2]);
    if lookup_list(srv, c.db, src, Access::Touch)?.is_some() {
        let moved = move_element(srv, c.db, src, dst, from, to)?;
        if moved.is_some() {
            propagate_move(srv, src, dst, from, to);
        }
        reply_moved(c, moved);
        return Ok(());
    }
    if !may_block(c) {
        c.reply().null();
        return Ok(());
    }
    let op = BlockOp::ListMove {
        from,
        to,
        dst: CompactBytes::new(dst),
    };
    srv.block_client(c, std::iter::once(src), timeout, op);
    Ok(())
}

pub fn blmove(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let from = parse_end(&argv[3])?;
    let to = parse_end(&argv[4])?;
    blocking_move(srv, c, argv, from, to, &argv[5])
}

pub fn brpoplpush(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    blocking_move(srv, c, argv, End::Tail, End::Head, &argv[3])
}

/// Serve a client blocked on `key` (in `db`), which now holds a list:
/// pop as its command would have, and write the reply it was waiting for.
/// Called by server/blocking.rs; an error (BLMOVE onto a key of another
/// type) is written as the client's reply by the caller.
pub fn serve_blocked(
    srv: &mut Server,
    c: &mut Client,
    db: usize,
    key: &[u8],
    op: &BlockOp,
) -> CmdResult {
    match op {
        BlockOp::ListPop { from } | BlockOp::ListMPop { from, .. } => {
            let count = match op {
                BlockOp::ListMPop { count, .. } => Some(*count),
                _ => None,
            };
            let Some(list) = lookup_list(srv, db, key, Access::Touch)? else {
                return Ok(());
            };
            let mut w = c.reply();
            w.array(2);
            w.bulk(key);
            let popped = match count {
                Some(n) => pop_range_reply(&mut w, list, *from, n),
                None => list.pop_with(*from, |v| w.bulk(v)).map_or(0, |_| 1),
            };
            let empty = list.is_empty();
            elements_removed(srv, db, key, *from, popped, empty);
            propagate_pop(srv, key, *from, popped, count.is_some());
        }
        BlockOp::ListMove { from, to, dst } => {
            let moved = move_element(srv, db, key, dst, *from, *to)?;
            if moved.is_some() {
                propagate_move(srv, key, dst, *from, *to);
            }
            reply_moved(c, moved);
        }
        // Sorted-set and stream operations are served by their families.
        BlockOp::ZSetPop { .. } | BlockOp::ZSetMPop { .. } | BlockOp::StreamRead(_) => {}
    }
    Ok(())
}
