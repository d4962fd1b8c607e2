//! The ACL command (SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT,
//! LOG, DRYRUN, GENPASS, LOAD, SAVE, HELP) and the NOPERM refusal the
//! dispatcher sends when a restricted user's check fails.
//!
//! Must never: reply or log a clear-text password (only digests exist in
//! the model), or leave a client authenticated as a deleted user.
//!
//! The model (users, rules, the check itself) lives in src/acl.rs.

use super::keys::reply_help;
use super::{lookup, Argv, Command};
use crate::acl::{self, Denied, LogEntry, User};
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
use crate::server::Server;
use std::cell::RefCell;
use std::rc::Rc;

const ACL_HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
];

fn username(c: &Client) -> String {
    c.user.as_ref().map_or_else(
        || "default".to_string(),
        |u| String::from_utf8_lossy(&u.borrow().name).into_owned(),
    )
}

/// Record a denial in ACL LOG (reason command/key/channel/auth).
pub fn log_denial(srv: &mut Server, c: &Client, reason: &'static str, object: String, user: &[u8]) {
    let context = if c.in_script {
        "lua"
    } else if c.in_exec {
        "multi"
    } else {
        "toplevel"
    };
    let entry = LogEntry {
        count: 1,
        reason,
        context,
        object,
        username: String::from_utf8_lossy(user).into_owned(),
        ctime_ms: srv.ks.now_ms,
        client_info: c.info_line(srv.ks.now_ms),
    };
    let max_len = srv.config.acllog_max_len.min(usize::MAX as u64) as usize;
    srv.acl.add_log(entry, max_len);
}

/// The name a denial reports for a command (`parent|sub` when it has one).
fn full_name(cmd: &Command, argv: &Argv) -> String {
    if !cmd.subcommands.is_empty() && argv.len() >= 2 {
        if let Some(s) = cmd
            .subcommands
            .iter()
            .find(|s| s.name.as_bytes().eq_ignore_ascii_case(argv.get(1)))
        {
            return format!("{}|{}", cmd.name, s.name);
        }
    }
    cmd.name.to_string()
}

/// The dispatcher's check for a restricted user: Ok to run, or the
/// NOPERM error (logged in ACL LOG).
pub fn check_permission(
    srv: &mut Server,
    c: &Client,
    idx: usize,
    cmd: &Command,
    argv: &Argv,
) -> CmdResult {
    let Some(u) = c.user.as_ref() else {
        return Ok(());
    };
    let (verdict, name) = {
        let u = u.borrow();
        if u.unrestricted {
            return Ok(());
        }
        (u.check(idx, cmd, argv), u.name.clone())
    };
    let Err(denied) = verdict else {
        return Ok(());
    };
    let (reason, object, msg) = match denied {
        Denied::Command => {
            let n = full_name(cmd, argv);
            let msg = format!("NOPERM this user has no permissions to run the '{n}' command");
            ("command", n, msg)
        }
        Denied::Key(i) => (
            "key",
            String::from_utf8_lossy(argv.get(i)).into_owned(),
            "NOPERM this user has no permissions to access one of the keys used as arguments"
                .to_string(),
        ),
        Denied::Channel(i) => (
            "channel",
            String::from_utf8_lossy(argv.get(i)).into_owned(),
            "NOPERM this user has no permissions to access one of the channels used as arguments"
                .to_string(),
        ),
    };
    log_denial(srv, c, reason, object, &name);
    Err(CmdError::Other(msg.into()))
}

fn setuser(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    // Rules may hold passwords: SLOWLOG and MONITOR show them redacted.
    c.redacted.extend(3..argv.len());
    let name = argv.get(2);
    let rules = acl::merge_selector_args(argv.iter().skip(3)).map_err(|open| {
        CmdError::Other(
            format!(
                "ERR Unmatched parenthesis in acl selector starting at '{}'.",
                String::from_utf8_lossy(&open)
            )
            .into(),
        )
    })?;
    // Rules apply to a copy: all or nothing, as Redis.
    let mut u = match srv.acl.users.get(name) {
        Some(u) => u.borrow().clone(),
        None => User::new(name),
    };
    for rule in &rules {
        if let Err(why) = u.apply(rule) {
            return Err(CmdError::Other(
                format!(
                    "ERR Error in ACL SETUSER modifier '{}': {why}",
                    String::from_utf8_lossy(rule)
                )
                .into(),
            ));
        }
    }
    match srv.acl.users.get(name) {
        // Connected clients share the user object: they see the change.
        Some(existing) => *existing.borrow_mut() = u,
        None => {
            srv.acl
                .users
                .insert(name.to_vec(), Rc::new(RefCell::new(u)));
        }
    }
    srv.acl.recompute();
    c.reply().ok();
    Ok(())
}

/// Close every connection authenticated as `u` (the current one after
/// its reply), as Redis does when a user is deleted.
fn disconnect_user(srv: &mut Server, c: &mut Client, u: &acl::UserRef) {
    let victims: Vec<usize> = srv
        .clients
        .iter()
        .enumerate()
        .filter(|(_, o)| {
            o.as_ref()
                .and_then(|o| o.user.as_ref())
                .is_some_and(|x| Rc::ptr_eq(x, u))
        })
        .map(|(slot, _)| slot)
        .collect();
    for slot in victims {
        srv.close_client_in_table(slot);
    }
    if c.user.as_ref().is_some_and(|x| Rc::ptr_eq(x, u)) {
        c.close_after_reply = true;
    }
}

fn deluser(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if argv.iter().skip(2).any(|n| n == b"default") {
        return Err(CmdError::msg("ERR The 'default' user cannot be removed"));
    }
    let mut n = 0;
    for name in argv.iter().skip(2) {
        if let Some(u) = srv.acl.users.remove(name) {
            n += 1;
            // Redis disconnects the clients authenticated as that user.
            disconnect_user(srv, c, &u);
        }
    }
    srv.acl.recompute();
    c.reply().int(n);
    Ok(())
}

/// The commands / keys / channels pairs of GETUSER (root and selectors).
fn describe_selector(w: &mut crate::resp::reply::ReplyWriter, sel: &acl::Selector) {
    w.bulk(b"commands");
    w.bulk(sel.commands_description().as_bytes());
    w.bulk(b"keys");
    w.bulk(sel.keys_description().as_bytes());
    w.bulk(b"channels");
    w.bulk(sel.channels_description().as_bytes());
}

fn getuser(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let Some(u) = srv.acl.users.get(argv.get(2)).cloned() else {
        c.reply().null();
        return Ok(());
    };
    let u = u.borrow();
    let mut w = c.reply();
    w.map(6);
    w.bulk(b"flags");
    let flags = u.flag_words();
    w.set(flags.len());
    for f in flags {
        w.bulk(f.as_bytes());
    }
    w.bulk(b"passwords");
    let pw = u.password_hexes();
    w.bulks(pw.iter().map(|s| s.as_bytes()));
    describe_selector(&mut w, u.root());
    w.bulk(b"selectors");
    w.array(u.selectors().len());
    for sel in u.selectors() {
        w.map(3);
        describe_selector(&mut w, sel);
    }
    Ok(())
}

fn log(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let mut count = usize::MAX;
    if argv.len() == 3 {
        if argv.is(2, "reset") {
            srv.acl.log.clear();
            c.reply().ok();
            return Ok(());
        }
        let n = super::parse_int(argv.get(2))?;
        count = n.max(0) as usize;
    } else if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let now = srv.ks.now_ms;
    let n = count.min(srv.acl.log.len());
    let mut w = c.reply();
    w.array(n);
    for e in srv.acl.log.iter().take(n) {
        w.map(7);
        w.bulk(b"count");
        w.int(e.count as i64);
        w.bulk(b"reason");
        w.bulk(e.reason.as_bytes());
        w.bulk(b"context");
        w.bulk(e.context.as_bytes());
        w.bulk(b"object");
        w.bulk(e.object.as_bytes());
        w.bulk(b"username");
        w.bulk(e.username.as_bytes());
        w.bulk(b"age-seconds");
        w.double((now - e.ctime_ms).max(0) as f64 / 1000.0);
        w.bulk(b"client-info");
        w.bulk(e.client_info.as_bytes());
    }
    Ok(())
}

fn dryrun(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let Some(u) = srv.acl.users.get(argv.get(2)).cloned() else {
        return Err(CmdError::Other(
            format!(
                "ERR User '{}' not found",
                String::from_utf8_lossy(argv.get(2))
            )
            .into(),
        ));
    };
    let Some((idx, cmd)) = lookup(argv.get(3)) else {
        return Err(CmdError::Other(
            format!(
                "ERR Command '{}' not found",
                String::from_utf8_lossy(argv.get(3))
            )
            .into(),
        ));
    };
    // The command line starts at argument 3.
    let ranges: Vec<std::ops::Range<usize>> = Vec::new();
    let owned: Vec<Vec<u8>> = argv.iter().skip(3).map(|a| a.to_vec()).collect();
    let mut data = Vec::new();
    let mut ranges = ranges;
    for a in &owned {
        let s = data.len();
        data.extend_from_slice(a);
        ranges.push(s..data.len());
    }
    let sub = Argv::new(&data, &ranges);
    let verdict = u.borrow().check(idx, cmd, &sub);
    let msg = match verdict {
        Ok(()) => {
            c.reply().ok();
            return Ok(());
        }
        Err(Denied::Command) => format!(
            "This user has no permissions to run the '{}' command",
            full_name(cmd, &sub)
        ),
        Err(Denied::Key(i)) => format!(
            "This user has no permissions to access the '{}' key",
            String::from_utf8_lossy(sub.get(i))
        ),
        Err(Denied::Channel(i)) => format!(
            "This user has no permissions to access the '{}' channel",
            String::from_utf8_lossy(sub.get(i))
        ),
    };
    c.reply().bulk(msg.as_bytes());
    Ok(())
}

fn genpass(c: &mut Client, argv: &Argv) -> CmdResult {
    let bits = if argv.len() >= 3 {
        let b = super::parse_int(argv.get(2))?;
        if !(1..=4096).contains(&b) {
            return Err(CmdError::msg(
                "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
            ));
        }
        b as usize
    } else {
        256
    };
    let chars = bits.div_ceil(4);
    let mut buf = vec![0u8; chars.div_ceil(2)];
    let filled = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut buf))
        .is_ok();
    if !filled {
        return Err(CmdError::msg("ERR Failed to generate random password"));
    }
    let mut s: String = buf.iter().map(|b| format!("{b:02x}")).collect();
    s.truncate(chars);
    c.reply().bulk(s.as_bytes());
    Ok(())
}

pub fn acl(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let sub = argv.lower(1);
    match sub.as_str() {
        "setuser" => return setuser(srv, c, argv),
        "deluser" => return deluser(srv, c, argv),
        "getuser" => return getuser(srv, c, argv),
        "log" => return log(srv, c, argv),
        "dryrun" => return dryrun(srv, c, argv),
        "genpass" => return genpass(c, argv),
        "list" => {
            let lines: Vec<String> = srv
                .acl
                .users
                .values()
                .map(|u| u.borrow().describe())
                .collect();
            c.reply().bulks(lines.iter().map(|s| s.as_bytes()));
        }
        "users" => {
            let names: Vec<Vec<u8>> = srv.acl.users.keys().cloned().collect();
            c.reply().bulks(names.iter());
        }
        "whoami" => {
            let n = username(c);
            c.reply().bulk(n.as_bytes());
        }
        "cat" => {
            if argv.len() == 2 {
                c.reply()
                    .bulks(acl::category_list().iter().map(|s| s.as_bytes()));
            } else if argv.len() == 3 {
                let cat = String::from_utf8_lossy(argv.get(2)).into_owned();
                match acl::commands_in_category(&cat) {
                    Some(names) => c.reply().bulks(names.iter().map(|s| s.as_bytes())),
                    None => {
                        return Err(CmdError::Other(
                            format!("ERR Unknown category '{cat}'").into(),
                        ))
                    }
                }
            } else {
                return Err(CmdError::Syntax);
            }
        }
        "load" if !srv.config.aclfile.is_empty() => {
            let path = srv.config.aclfile.clone();
            let users =
                acl::parse_file(&path).map_err(|e| CmdError::Other(format!("ERR {e}").into()))?;
            for gone in srv.acl.replace_users(users) {
                disconnect_user(srv, c, &gone);
            }
            c.reply().ok();
        }
        "save" if !srv.config.aclfile.is_empty() => {
            if let Err(e) = acl::save_file(&srv.acl, &srv.config.aclfile) {
                log::warn!("Saving the ACL file {}: {e}", srv.config.aclfile);
                return Err(CmdError::msg("ERR There was an error trying to save the ACLs. Please check the server logs for more information"));
            }
            c.reply().ok();
        }
        "load" | "save" => {
            return Err(CmdError::msg("ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."));
        }
        "help" => reply_help(c, ACL_HELP),
        _ => return Err(CmdError::UnknownSubcommand(sub, "ACL".into())),
    }
    Ok(())
}
