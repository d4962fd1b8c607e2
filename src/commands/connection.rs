//! Connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH, CLIENT.
//!
//! Owns: the client-visible state of a connection (protocol version, name,
//! authentication, reply mode) and the CLIENT introspection commands.
//!
//! Must never: leak whether a password was close (AUTH compares in constant
//! time over the configured length), or let CLIENT LIST miss the client
//! that asked (it is out of the client table while its command runs).

use super::keys::reply_help;
use super::{parse_int, Argv};
use crate::connection::{Client, ReplyMode};
use crate::errors::{CmdError, CmdResult};
use crate::resp::reply::Proto;
use crate::server::Server;

/// The Redis version we answer as. Clients, redis-cli and Sentinel gate
/// features on it; RedisLite implements Redis 7.0's protocol.
pub const REDIS_COMPAT_VERSION: &str = "7.0.15";

pub fn ping(_srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if argv.len() > 2 {
        return Err(CmdError::WrongArity("ping".into()));
    }
    if c.in_resp2_pubsub_mode() {
        // A subscribed RESP2 client gets PING's answer as a pub/sub-style
        // array, so it can tell it apart from a message.
        let payload: &[u8] = if argv.len() == 2 { &argv[1] } else { b"" };
        let mut w = c.reply();
        w.array(2);
        w.bulk(b"pong");
        w.bulk(payload);
        return Ok(());
    }
    match argv.len() {
        1 => c.reply().simple("PONG"),
        _ => c.reply().bulk(&argv[1]),
    }
    Ok(())
}

pub fn echo(_srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    c.reply().bulk(&argv[1]);
    Ok(())
}

pub fn quit(_srv: &mut Server, c: &mut Client, _argv: &Argv) -> CmdResult {
    c.reply().ok();
    c.close_after_reply = true;
    Ok(())
}

pub fn reset(srv: &mut Server, c: &mut Client, _argv: &Argv) -> CmdResult {
    c.multi = None;
    super::tx::unwatch_all(srv, c);
    super::pubsub::unsubscribe_all(srv, c);
    // RESET turns CLIENT TRACKING off, as Redis's clearClientConnectionState.
    disable_tracking(srv, c);
    c.db = 0;
    c.proto = Proto::Resp2;
    c.name = None;
    c.reply_mode = ReplyMode::On;
    c.no_evict = false;
    c.no_touch = false;
    c.authenticated = srv.acl.default_autoauth();
    c.user = Some(srv.acl.default_user());
    c.reply().simple("RESET");
    Ok(())
}

/// Authenticate `c` as `user` through the ACL; a failure is logged in
/// ACL LOG (reason `auth`, object `AUTH`) as Redis does.
fn authenticate(srv: &mut Server, c: &mut Client, user: &[u8], pass: &[u8]) -> CmdResult {
    match srv.acl.authenticate(user, pass) {
        Some(u) => {
            c.authenticated = true;
            c.user = Some(u);
            Ok(())
        }
        None => {
            super::acl::log_denial(srv, c, "auth", "auth".into(), user);
            Err(CmdError::WrongPass)
        }
    }
}

pub fn auth(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    // As Redis: the credentials never reach the slow log or MONITOR.
    c.redacted.extend(1..argv.len());
    let (user, pass): (&[u8], &[u8]) = if argv.len() == 2 {
        if srv.acl.default_user().borrow().nopass {
            return Err(CmdError::AuthNotConfigured);
        }
        (b"default", &argv[1])
    } else {
        (&argv[1], &argv[2])
    };
    authenticate(srv, c, user, pass)?;
    c.reply().ok();
    Ok(())
}

/// Client names: printable ASCII without spaces (CLIENT LIST stays
/// parseable).
fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

fn set_client_name(c: &mut Client, name: &[u8]) -> CmdResult {
    if !valid_client_name(name) {
        return Err(CmdError::msg(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    c.name = if name.is_empty() {
        None
    } else {
        Some(name.to_vec())
    };
    Ok(())
}

pub fn hello(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let mut proto = None;
    if argv.len() >= 2 {
        let v = parse_int(&argv[1])
            .map_err(|_| CmdError::msg("ERR Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::msg("NOPROTO unsupported protocol version"));
        }
        proto = Some(if v == 3 { Proto::Resp3 } else { Proto::Resp2 });
    }
    let mut creds: Option<(&[u8], &[u8])> = None;
    let mut setname: Option<&[u8]> = None;
    let mut j = 2;
    while j < argv.len() {
        let more = argv.len() - j - 1;
        if argv.is(j, "auth") && more >= 2 {
            c.redacted.extend([j + 1, j + 2]);
            creds = Some((argv.get(j + 1), argv.get(j + 2)));
            j += 3;
        } else if argv.is(j, "setname") && more >= 1 {
            setname = Some(argv.get(j + 1));
            j += 2;
        } else {
            return Err(CmdError::Other(
                format!(
                    "ERR Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(&argv[j])
                )
                .into(),
            ));
        }
    }
    if let Some((user, pass)) = creds {
        authenticate(srv, c, user, pass)?;
    }
    if !c.authenticated {
        return Err(CmdError::msg("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(name) = setname {
        set_client_name(c, name)?;
    }
    if let Some(p) = proto {
        c.proto = p;
    }
    let id = c.id as i64;
    let proto_num = if c.proto == Proto::Resp3 { 3 } else { 2 };
    let role: &[u8] = if srv.ks.is_replica {
        b"replica"
    } else {
        b"master"
    };
    let mut w = c.reply();
    w.map(7);
    w.bulk(b"server");
    w.bulk(b"redis");
    w.bulk(b"version");
    w.bulk(REDIS_COMPAT_VERSION.as_bytes());
    w.bulk(b"proto");
    w.int(proto_num);
    w.bulk(b"id");
    w.int(id);
    w.bulk(b"mode");
    w.bulk(b"standalone");
    w.bulk(b"role");
    w.bulk(role);
    w.bulk(b"modules");
    w.array(0);
    Ok(())
}

/// Redis 7.0.15's text, verbatim (clients and tests compare it), even
/// where it names subcommands RedisLite does not implement yet or omits
/// ones it adds (NO-TOUCH, from Redis 7.2).
const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
];

fn on_off(argv: &Argv, i: usize) -> Result<bool, CmdError> {
    if argv.is(i, "on") {
        Ok(true)
    } else if argv.is(i, "off") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// A CLIENT KILL filter (new form). All given conditions must match.
/// The filters are Redis 7.0's (MAXAGE arrived in 7.4 and is a syntax
/// error here, as in 7.0). USER needs no field: only the default user
/// exists, every client is authenticated as it, and naming any other user
/// is refused while parsing.
#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    addr: Option<Vec<u8>>,
    laddr: Option<Vec<u8>>,
    /// TYPE: "normal", "replica", "master" or "pubsub".
    kind: Option<&'static str>,
    skip_me: bool,
}

impl KillFilter {
    fn matches(&self, c: &Client) -> bool {
        self.id.is_none_or(|id| id == c.id)
            && self.addr.as_deref().is_none_or(|a| a == c.addr.as_bytes())
            && self
                .laddr
                .as_deref()
                .is_none_or(|a| a == c.laddr.as_bytes())
            && self.kind.is_none_or(|k| k == client_kind(c))
    }
}

/// A client's class for CLIENT KILL/LIST TYPE.
fn client_kind(c: &Client) -> &'static str {
    if c.is_master {
        "master"
    } else if c.repl.as_ref().is_some_and(|r| r.online) {
        "replica"
    } else if c.is_subscribed() {
        "pubsub"
    } else {
        "normal"
    }
}

fn parse_kill_filter(argv: &Argv) -> Result<KillFilter, CmdError> {
    let mut f = KillFilter {
        skip_me: true,
        ..KillFilter::default()
    };
    let mut j = 2;
    while j < argv.len() {
        if j + 1 >= argv.len() {
            return Err(CmdError::Syntax);
        }
        let v = argv.get(j + 1);
        if argv.is(j, "id") {
            let id = parse_int(v)
                .ok()
                .filter(|&i| i > 0)
                .ok_or_else(|| CmdError::msg("ERR client-id should be greater than 0"))?;
            f.id = Some(id as u64);
        } else if argv.is(j, "addr") {
            f.addr = Some(v.to_vec());
        } else if argv.is(j, "laddr") {
            f.laddr = Some(v.to_vec());
        } else if argv.is(j, "user") {
            // User names are case-sensitive; only "default" exists.
            if v != b"default" {
                return Err(CmdError::Other(
                    format!("ERR No such user '{}'", String::from_utf8_lossy(v)).into(),
                ));
            }
        } else if argv.is(j, "type") {
            let t = String::from_utf8_lossy(v).to_ascii_lowercase();
            f.kind = Some(match t.as_str() {
                "normal" => "normal",
                "replica" | "slave" => "replica",
                "master" => "master",
                "pubsub" => "pubsub",
                _ => {
                    return Err(CmdError::Other(
                        format!("ERR Unknown client type '{}'", String::from_utf8_lossy(v)).into(),
                    ))
                }
            });
        } else if argv.is(j, "skipme") {
            f.skip_me = if v.eq_ignore_ascii_case(b"yes") {
                true
            } else if v.eq_ignore_ascii_case(b"no") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
        } else {
            return Err(CmdError::Syntax);
        }
        j += 2;
    }
    Ok(f)
}

fn client_kill(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if argv.len() == 3 {
        // Old form: CLIENT KILL addr:port, replies +OK or an error.
        let addr = argv.get(2);
        if c.addr.as_bytes() == addr {
            c.reply().ok();
            c.close_after_reply = true;
            return Ok(());
        }
        let slot = srv
            .clients_iter()
            .find(|o| o.addr.as_bytes() == addr)
            .map(|o| o.token);
        return match slot {
            Some(s) => {
                srv.close_client_in_table(s);
                c.reply().ok();
                Ok(())
            }
            None => Err(CmdError::msg("ERR No such client")),
        };
    }
    let f = parse_kill_filter(argv)?;
    let victims: Vec<usize> = srv
        .clients_iter()
        .filter(|o| f.matches(o))
        .map(|o| o.token)
        .collect();
    let mut killed = victims.len() as i64;
    for slot in victims {
        srv.close_client_in_table(slot);
    }
    if !f.skip_me && f.matches(c) {
        killed += 1;
        c.close_after_reply = true;
    }
    c.reply().int(killed);
    Ok(())
}

/// CLIENT UNBLOCK <id> [TIMEOUT|ERROR]: end another client's blocking
/// command, with its timeout reply or an -UNBLOCKED error. Replies 1 if
/// that client was blocked, else 0.
fn client_unblock(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if argv.len() > 4 {
        return Err(CmdError::subcommand_syntax(argv.get(0), argv.get(1)));
    }
    let error = if argv.len() == 4 {
        if argv.is(3, "timeout") {
            false
        } else if argv.is(3, "error") {
            true
        } else {
            return Err(CmdError::msg(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ));
        }
    } else {
        false
    };
    let id = parse_int(argv.get(2))?;
    let unblocked = id > 0 && srv.unblock_client_by_id(id as u64, error);
    c.reply().int(unblocked as i64);
    Ok(())
}

/// CLIENT LIST, CLIENT LIST TYPE <type>, CLIENT LIST ID <id> [<id> ...].
/// As Redis 7.0: TYPE takes exactly one argument, the ID form lists the
/// clients in the order asked (repeats included, unknown ids skipped), and
/// any integer is a valid id to look up.
fn client_list(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let now = srv.ks.now_ms;
    let mut text = String::new();
    if argv.len() > 3 && argv.is(2, "id") {
        let mut ids = Vec::with_capacity(argv.len() - 3);
        for k in 3..argv.len() {
            let id = parse_int(argv.get(k)).map_err(|_| CmdError::msg("ERR Invalid client ID"))?;
            ids.push(id);
        }
        for id in ids {
            let line = if id == c.id as i64 {
                Some(c.info_line(now))
            } else {
                srv.clients_iter()
                    .find(|o| o.id as i64 == id)
                    .map(|o| o.info_line(now))
            };
            if let Some(l) = line {
                text.push_str(&l);
                text.push('\n');
            }
        }
        c.reply().verbatim(text.as_bytes());
        return Ok(());
    }
    let kind = if argv.len() == 4 && argv.is(2, "type") {
        match argv.lower(3).as_str() {
            "normal" => Some("normal"),
            "master" => Some("master"),
            "replica" | "slave" => Some("replica"),
            "pubsub" => Some("pubsub"),
            _ => {
                return Err(CmdError::Other(
                    format!(
                        "ERR Unknown client type '{}'",
                        String::from_utf8_lossy(argv.get(3))
                    )
                    .into(),
                ))
            }
        }
    } else if argv.len() == 2 {
        None
    } else {
        return Err(CmdError::Syntax);
    };
    // TYPE filters by the client's class, as CLIENT KILL TYPE does (a
    // client subscribed to anything, shard channels included, is pubsub).
    let mut lines: Vec<(u64, String)> = srv
        .clients_iter()
        .chain(std::iter::once(&*c))
        .filter(|o| kind.is_none_or(|k| k == client_kind(o)))
        .map(|o| (o.id, o.info_line(now)))
        .collect();
    lines.sort_by_key(|(id, _)| *id);
    for (_, l) in lines {
        text.push_str(&l);
        text.push('\n');
    }
    c.reply().verbatim(text.as_bytes());
    Ok(())
}

pub fn client(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let sub = argv.lower(1);
    match sub.as_str() {
        "id" => {
            let id = c.id as i64;
            c.reply().int(id);
        }
        "setname" => {
            set_client_name(c, argv.get(2))?;
            c.reply().ok();
        }
        "getname" => match c.name.clone() {
            Some(n) => c.reply().bulk(&n),
            None => c.reply().null(),
        },
        "list" => client_list(srv, c, argv)?,
        "info" => {
            let mut line = c.info_line(srv.ks.now_ms);
            line.push('\n');
            c.reply().verbatim(line.as_bytes());
        }
        "kill" => client_kill(srv, c, argv)?,
        "unblock" => client_unblock(srv, c, argv)?,
        "no-evict" => {
            c.no_evict = on_off(argv, 2)?;
            c.reply().ok();
        }
        "no-touch" => {
            c.no_touch = on_off(argv, 2)?;
            c.reply().ok();
        }
        "reply" => {
            if argv.is(2, "on") {
                c.reply_mode = ReplyMode::On;
                c.reply().ok();
            } else if argv.is(2, "off") {
                c.reply_mode = ReplyMode::Off;
            } else if argv.is(2, "skip") {
                if c.reply_mode != ReplyMode::Off {
                    c.reply_mode = ReplyMode::SkipNext;
                }
            } else {
                return Err(CmdError::Syntax);
            }
        }
        "pause" => {
            let ms = parse_int(argv.get(2))
                .map_err(|_| CmdError::msg("ERR timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(CmdError::msg("ERR timeout is negative"));
            }
            let write_only = match argv.len() {
                3 => false,
                4 if argv.is(3, "write") => true,
                4 if argv.is(3, "all") => false,
                4 => return Err(CmdError::msg("ERR CLIENT PAUSE mode must be WRITE or ALL")),
                _ => return Err(CmdError::Syntax),
            };
            let end = srv.ks.now_ms.saturating_add(ms);
            // A pause never gets shorter or weaker while it lasts (Redis).
            srv.pause = Some(match srv.pause {
                Some((e, w)) => (e.max(end), w && write_only),
                None => (end, write_only),
            });
            srv.ks.expiry_frozen = true;
            c.reply().ok();
        }
        "unpause" => {
            srv.unpause_clients();
            c.reply().ok();
        }
        "tracking" => client_tracking(srv, c, argv)?,
        "caching" => client_caching(c, argv)?,
        "getredir" => {
            let redir = c.tracking.as_ref().map_or(-1, |t| t.redirect as i64);
            c.reply().int(redir);
        }
        "trackinginfo" => tracking_info(c),
        "help" => reply_help(c, CLIENT_HELP),
        _ => {
            return Err(CmdError::UnknownSubcommand(sub, "CLIENT".into()));
        }
    }
    Ok(())
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p]... [OPTIN]
/// [OPTOUT] [NOLOOP]: options are parsed first (REDIRECT's target must
/// exist now), then checked against each other and the current mode, in
/// Redis's order.
fn client_tracking(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let mut redirect = 0u64;
    let mut mode = crate::tracking::ClientTracking::default();
    let mut prefixes: Vec<&[u8]> = Vec::new();
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        if argv.is(j, "redirect") && more {
            j += 1;
            if redirect != 0 {
                return Err(CmdError::msg(
                    "ERR A client can only redirect to a single other client",
                ));
            }
            let id = parse_int(argv.get(j))?;
            let exists =
                id > 0 && (c.id == id as u64 || srv.clients_iter().any(|o| o.id == id as u64));
            if !exists {
                return Err(CmdError::msg(crate::errors::TRACKING_REDIR_MISSING));
            }
            redirect = id as u64;
        } else if argv.is(j, "bcast") {
            mode.bcast = true;
        } else if argv.is(j, "optin") {
            mode.optin = true;
        } else if argv.is(j, "optout") {
            mode.optout = true;
        } else if argv.is(j, "noloop") {
            mode.noloop = true;
        } else if argv.is(j, "prefix") && more {
            j += 1;
            prefixes.push(argv.get(j));
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if argv.is(2, "off") {
        disable_tracking(srv, c);
        c.reply().ok();
        return Ok(());
    }
    if !argv.is(2, "on") {
        return Err(CmdError::Syntax);
    }
    use crate::errors as e;
    if !mode.bcast && !prefixes.is_empty() {
        return Err(CmdError::msg(e::TRACKING_PREFIX_NEEDS_BCAST));
    }
    if let Some(old) = c.tracking.as_deref() {
        if old.bcast != mode.bcast {
            return Err(CmdError::msg(e::TRACKING_BCAST_SWITCH));
        }
    }
    if mode.bcast && (mode.optin || mode.optout) {
        return Err(CmdError::msg(e::TRACKING_OPT_WITH_BCAST));
    }
    if mode.optin && mode.optout {
        return Err(CmdError::msg(e::TRACKING_OPTIN_AND_OPTOUT));
    }
    if let Some(old) = c.tracking.as_deref() {
        if (mode.optin && old.optout) || (mode.optout && old.optin) {
            return Err(CmdError::msg(e::TRACKING_OPT_SWITCH));
        }
    }
    if mode.bcast {
        check_prefix_collisions(c, &prefixes)?;
    }
    // Turning tracking on again keeps the BCAST prefixes registered so
    // far (Redis adds to them) but resets every other option.
    let old = c.tracking.take();
    if old.is_none() {
        srv.ks.tracking.clients_on += 1;
    }
    mode.redirect = redirect;
    if let Some(old) = old {
        mode.prefixes = old.prefixes;
    }
    if mode.bcast {
        if prefixes.is_empty() {
            prefixes.push(b"");
        }
        for p in prefixes {
            srv.ks.tracking.add_prefix(c.id, p);
            mode.prefixes.insert(p.to_vec());
        }
    }
    c.tracking = Some(Box::new(mode));
    c.reply().ok();
    Ok(())
}

/// Redis refuses a prefix that is a prefix of, or has as a prefix, one the
/// client already has or another one given in the same call.
fn check_prefix_collisions(c: &Client, prefixes: &[&[u8]]) -> CmdResult {
    let overlap = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for (i, p) in prefixes.iter().enumerate() {
        if let Some(old) = c.tracking.as_deref() {
            if let Some(have) = old.prefixes.iter().find(|have| overlap(have, p)) {
                return Err(CmdError::Other(
                    format!(
                        "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                        text(p),
                        text(have)
                    )
                    .into(),
                ));
            }
        }
        if let Some(other) = prefixes[i + 1..].iter().find(|o| overlap(p, o)) {
            return Err(CmdError::Other(
                format!(
                    "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                    text(p),
                    text(other)
                )
                .into(),
            ));
        }
    }
    Ok(())
}

/// CLIENT TRACKING OFF, and a tracking client going away.
pub fn disable_tracking(srv: &mut Server, c: &mut Client) {
    if let Some(t) = c.tracking.take() {
        for p in &t.prefixes {
            srv.ks.tracking.remove_prefix(c.id, p);
        }
        srv.ks.tracking.clients_on -= 1;
    }
}

/// CLIENT CACHING YES|NO: applies to the next command (or transaction).
fn client_caching(c: &mut Client, argv: &Argv) -> CmdResult {
    let Some(t) = c.tracking.as_deref_mut() else {
        return Err(CmdError::msg(crate::errors::CACHING_NOT_TRACKING));
    };
    if argv.is(2, "yes") {
        if !t.optin {
            return Err(CmdError::msg(crate::errors::CACHING_YES_NEEDS_OPTIN));
        }
    } else if argv.is(2, "no") {
        if !t.optout {
            return Err(CmdError::msg(crate::errors::CACHING_NO_NEEDS_OPTOUT));
        }
    } else {
        return Err(CmdError::Syntax);
    }
    t.caching = true;
    c.reply().ok();
    Ok(())
}

fn tracking_info(c: &mut Client) {
    let t = c.tracking.clone();
    let mut flags: Vec<&[u8]> = Vec::new();
    match t.as_deref() {
        None => flags.push(b"off"),
        Some(t) => {
            flags.push(b"on");
            if t.bcast {
                flags.push(b"bcast");
            }
            if t.optin {
                flags.push(b"optin");
                if t.caching {
                    flags.push(b"caching-yes");
                }
            }
            if t.optout {
                flags.push(b"optout");
                if t.caching {
                    flags.push(b"caching-no");
                }
            }
            if t.noloop {
                flags.push(b"noloop");
            }
            if t.broken_redirect {
                flags.push(b"broken_redirect");
            }
        }
    }
    let mut w = c.reply();
    w.map(3);
    w.bulk(b"flags");
    w.set(flags.len());
    for f in flags {
        w.bulk(f);
    }
    w.bulk(b"redirect");
    w.int(t.as_deref().map_or(-1, |t| t.redirect as i64));
    w.bulk(b"prefixes");
    let prefixes = t.as_deref().map(|t| t.prefixes.len()).unwrap_or(0);
    w.array(prefixes);
    if let Some(t) = t.as_deref() {
        for p in &t.prefixes {
            w.bulk(p);
        }
    }
}

/// What an invalidation carries.
enum Payload<'a> {
    Keys(&'a [&'a [u8]]),
    /// FLUSH*: a null, in the tracking client's protocol (Redis writes the
    /// tracker's null even when it redirects).
    Null,
}

/// Write the queued invalidations (src/tracking.rs) to their clients.
/// Called after each command (after its reply, as Redis defers the running
/// client's own invalidations past its reply), before a command runs if
/// something was queued meanwhile (evictions), and before the loop sleeps
/// (BCAST batches, expiry in cron).
pub fn deliver_invalidations(srv: &mut Server, mut current: Option<&mut Client>) {
    let mut outbox = std::mem::take(&mut srv.ks.tracking.outbox);
    // Client ids -> slots, built once per batch.
    let slots: std::collections::HashMap<u64, usize> = srv
        .clients
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.as_ref().map(|c| (c.id, i)))
        .collect();
    for msg in &outbox {
        match msg {
            crate::tracking::Invalidation::Key {
                client,
                key,
                current: running,
            } => {
                let skip = with_client(srv, &mut current, &slots, *client, |t| {
                    t.tracking
                        .as_deref()
                        .is_none_or(|m| m.bcast || (m.noloop && *running == Some(t.id)))
                });
                if skip == Some(false) {
                    let keys = [key.as_slice()];
                    send(srv, &mut current, &slots, *client, Payload::Keys(&keys));
                }
            }
            crate::tracking::Invalidation::Flush => {
                // Every tracking client, oldest first (Redis's client list).
                let mut ids: Vec<u64> = srv
                    .clients_iter()
                    .filter(|o| o.tracking.is_some())
                    .map(|o| o.id)
                    .collect();
                if let Some(cur) = current.as_deref() {
                    if cur.tracking.is_some() {
                        ids.push(cur.id);
                    }
                }
                ids.sort_unstable();
                for id in ids {
                    send(srv, &mut current, &slots, id, Payload::Null);
                }
            }
            crate::tracking::Invalidation::Prefix { clients, keys } => {
                for &id in clients.iter() {
                    let noloop = with_client(srv, &mut current, &slots, id, |t| {
                        t.tracking.as_deref().map(|m| m.bcast.then_some(m.noloop))
                    });
                    let Some(Some(Some(noloop))) = noloop else {
                        continue;
                    };
                    let list: Vec<&[u8]> = keys
                        .iter()
                        .filter(|(_, writer)| !noloop || *writer != Some(id))
                        .map(|(k, _)| k.as_slice())
                        .collect();
                    if !list.is_empty() {
                        send(srv, &mut current, &slots, id, Payload::Keys(&list));
                    }
                }
            }
        }
    }
    outbox.clear();
    if srv.ks.tracking.outbox.is_empty() {
        srv.ks.tracking.outbox = outbox;
    }
}

/// Run `f` on the client with `id` (the running one or one in the table).
fn with_client<R>(
    srv: &mut Server,
    current: &mut Option<&mut Client>,
    slots: &std::collections::HashMap<u64, usize>,
    id: u64,
    f: impl FnOnce(&mut Client) -> R,
) -> Option<R> {
    if let Some(cur) = current.as_deref_mut() {
        if cur.id == id {
            return Some(f(cur));
        }
    }
    let slot = *slots.get(&id)?;
    let target = srv.clients.get_mut(slot)?.as_deref_mut()?;
    if target.close_asap {
        return None;
    }
    let r = f(target);
    if !target.pending_write {
        target.pending_write = true;
        srv.pending_writes.push(slot);
    }
    Some(r)
}

/// One invalidation for tracking client `id`: on its own connection in
/// RESP3, or to its REDIRECT target (a RESP3 push, or a `message` on
/// `__redis__:invalidate` to a RESP2 client in pub/sub mode); a RESP2
/// client without a redirect gets nothing, as in Redis.
fn send(
    srv: &mut Server,
    current: &mut Option<&mut Client>,
    slots: &std::collections::HashMap<u64, usize>,
    id: u64,
    payload: Payload,
) {
    let Some(Some((redirect, tracker_proto))) = with_client(srv, current, slots, id, |t| {
        t.tracking.as_deref().map(|m| (m.redirect, t.proto))
    }) else {
        return;
    };
    let target = if redirect == 0 { id } else { redirect };
    let delivered = with_client(srv, current, slots, target, |to| {
        write_invalidation(to, redirect != 0, tracker_proto, &payload)
    });
    if redirect != 0 && delivered.is_none() {
        // The redirect target went away: the tracking client is told (in
        // RESP3) every time, and flagged `R`.
        with_client(srv, current, slots, id, |t| {
            if let Some(m) = t.tracking.as_deref_mut() {
                m.broken_redirect = true;
            }
            if t.proto == Proto::Resp3 {
                let mut w = t.reply();
                w.push(2);
                w.bulk(b"tracking-redir-broken");
                w.int(redirect as i64);
            }
        });
    }
}

fn write_invalidation(to: &mut Client, redirected: bool, tracker_proto: Proto, payload: &Payload) {
    let (resp3, subscribed) = (to.proto == Proto::Resp3, to.is_subscribed());
    let mut w = to.reply();
    if resp3 {
        w.push(2);
        w.bulk(b"invalidate");
    } else if redirected && subscribed {
        w.push(3);
        w.bulk(b"message");
        w.bulk(b"__redis__:invalidate");
    } else {
        return;
    }
    match payload {
        Payload::Keys(keys) => {
            w.array(keys.len());
            for k in keys.iter() {
                w.bulk(k);
            }
        }
        // The writer borrows `to.out`: its last use ended above.
        Payload::Null => {
            to.out.extend_from_slice(match tracker_proto {
                Proto::Resp3 => b"_\r\n",
                Proto::Resp2 => b"$-1\r\n",
            });
        }
    }
}
