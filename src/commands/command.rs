//! COMMAND: introspection of the command table (COUNT, INFO, DOCS, LIST,
//! GETKEYS, GETKEYSANDFLAGS; the published metadata is command_meta.rs's). redis-cli calls COMMAND DOCS at startup for its hints, and
//! client libraries use COMMAND INFO to find keys for routing.

use super::command_meta;
use super::keys::reply_help;
use super::table::{enabled, Command, SubCommand, FLAG_NAMES};
use super::{lookup, Argv, COMMANDS};
use crate::connection::Client;
use crate::errors::{CmdError, CmdResult};
use crate::glob::glob_match;
use crate::resp::reply::ReplyWriter;
use crate::server::Server;

/// Redis's ACL categories of a command or `parent|sub` (see acl_categories.rs).
fn acl_categories(name: &str) -> Vec<&'static str> {
    crate::acl::category_names(crate::acl::category_mask(name))
}

/// The commands clients can call, in table order: `rename-command X ""`
/// removes X from every listing, while a renamed command is still listed
/// under its table name (Redis 7.0 reports `fullname`, which renaming
/// leaves alone).
fn callable() -> impl Iterator<Item = &'static Command> {
    COMMANDS
        .iter()
        .enumerate()
        .filter(|(i, _)| enabled(*i))
        .map(|(_, c)| c)
}

/// The flags set; `movable` adds Redis's derived `movablekeys` (see
/// `has_movable_keys`), which it lists just before `allow_busy`.
fn write_flags(w: &mut ReplyWriter, flags: u32, movable: bool) {
    let mut names: Vec<&str> = FLAG_NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    if movable {
        let at = names.iter().position(|n| *n == "allow_busy");
        names.insert(at.unwrap_or(names.len()), "movablekeys");
    }
    w.set(names.len());
    for n in names {
        w.simple(n);
    }
}

/// Keys found by a keyword rather than at a position (Redis's key specs
/// that search for a keyword): SORT's STORE destination, GEORADIUS and
/// GEORADIUSBYMEMBER's STORE / STOREDIST destinations, MIGRATE's KEYS;
/// all are written. COMMAND GETKEYS lists them after the positional keys,
/// and the ACL checks them for write access.
pub fn keyword_key_positions(name: &str, argv: &Argv) -> Vec<usize> {
    match name {
        "sort" => super::sort::store_key_position(argv).into_iter().collect(),
        "migrate" => super::migrate::keys_option_positions(argv),
        _ => super::geo::store_key_positions(name, argv)
            .into_iter()
            .flatten()
            .collect(),
    }
}

/// Redis's derived `movablekeys` flag: some keys are found by reading
/// the arguments (a numkeys count, a STORE keyword: see
/// `keyword_key_positions`; SORT_RO's BY/GET patterns), not at fixed
/// positions.
fn has_movable_keys(name: &str) -> bool {
    crate::acl::keynum_spec(name).is_some()
        || matches!(
            name,
            "sort"
                | "sort_ro"
                | "georadius"
                | "georadiusbymember"
                | "migrate"
                | "xread"
                | "xreadgroup"
        )
}

/// False when the table's positional key is no key in this command line:
/// MIGRATE's KEYS form, whose key argument is the empty string.
pub fn positional_keys_apply(name: &str, argv: &Argv) -> bool {
    name != "migrate" || super::migrate::keys_option_positions(argv).is_empty()
}

fn write_sub_info(w: &mut ReplyWriter, parent: &Command, s: &SubCommand) {
    w.array(10);
    w.bulk(format!("{}|{}", parent.name, s.name).as_bytes());
    w.int(s.arity as i64);
    write_flags(w, s.flags, false);
    let keys = if s.flags & super::table::SUB_KEYS != 0 {
        (parent.first_key, parent.last_key, parent.key_step)
    } else {
        (0, 0, 0)
    };
    w.int(keys.0 as i64);
    w.int(keys.1 as i64);
    w.int(keys.2 as i64);
    let full = format!("{}|{}", parent.name, s.name);
    let cats = acl_categories(&full);
    w.set(cats.len());
    for cat in cats {
        w.simple(cat);
    }
    let meta = command_meta::lookup(&full);
    command_meta::write_tips(w, meta);
    command_meta::write_key_specs(w, meta);
    w.set(0);
}

fn write_info(w: &mut ReplyWriter, c: &Command) {
    w.array(10);
    w.bulk(c.name.as_bytes());
    w.int(c.arity as i64);
    if c.subcommands.is_empty() || c.arity == -1 {
        write_flags(w, c.flags, has_movable_keys(c.name));
    } else {
        // A container that cannot run bare has no flags in Redis: each of
        // its subcommands has its own.
        write_flags(w, 0, false);
    }
    if c.subcommands
        .iter()
        .any(|s| s.flags & super::table::SUB_KEYS != 0)
    {
        // Shown on the subcommands instead (see SUB_KEYS).
        w.int(0);
        w.int(0);
        w.int(0);
    } else {
        w.int(c.first_key as i64);
        w.int(c.last_key as i64);
        w.int(c.key_step as i64);
    }
    let cats = acl_categories(c.name);
    w.set(cats.len());
    for cat in cats {
        w.simple(cat);
    }
    let meta = command_meta::lookup(c.name);
    command_meta::write_tips(w, meta);
    command_meta::write_key_specs(w, meta);
    // Redis's own shapes: an empty set when there are none, else an array.
    if c.subcommands.is_empty() {
        w.set(0);
    } else {
        w.array(c.subcommands.len());
    }
    for s in c.subcommands {
        write_sub_info(w, c, s);
    }
}

/// A command's COMMAND DOCS map: Redis's published one (command_meta.rs)
/// where the reference has the command, else summary, since and group
/// from the table; then its subcommands, from the table.
fn write_docs(w: &mut ReplyWriter, c: &Command) {
    let has_subs = !c.subcommands.is_empty();
    let published =
        command_meta::lookup(c.name).and_then(|m| Some((m, command_meta::docs_len(m)?)));
    match published {
        Some((meta, n)) => {
            w.map(n + usize::from(has_subs));
            command_meta::write_docs_entries(w, meta);
        }
        None => write_table_docs(w, usize::from(has_subs), c.summary, c.since, c.group),
    }
    if has_subs {
        w.bulk(b"subcommands");
        w.map(c.subcommands.len());
        for s in c.subcommands {
            w.bulk(format!("{}|{}", c.name, s.name).as_bytes());
            write_sub_docs(w, c, s);
        }
    }
}

fn write_sub_docs(w: &mut ReplyWriter, parent: &Command, s: &SubCommand) {
    let full = format!("{}|{}", parent.name, s.name);
    if let Some(meta) = command_meta::lookup(&full) {
        if let Some(n) = command_meta::docs_len(meta) {
            w.map(n);
            command_meta::write_docs_entries(w, meta);
            return;
        }
    }
    write_table_docs(w, 0, s.summary, parent.since, parent.group);
}

/// The docs of a command the reference server does not publish (HOTKEYS):
/// summary, since and group from the table, in a map with room for
/// `more` entries after them.
fn write_table_docs(w: &mut ReplyWriter, more: usize, summary: &str, since: &str, group: &str) {
    w.map(3 + more);
    for (k, v) in [("summary", summary), ("since", since), ("group", group)] {
        w.bulk(k.as_bytes());
        w.bulk(v.as_bytes());
    }
}

/// A command named as COMMAND INFO / DOCS take it: `name`, or a
/// subcommand by its full name `container|sub` (any case), as Redis 7.0.
fn lookup_full_name(name: &[u8]) -> Option<(&'static Command, Option<&'static SubCommand>)> {
    match name.iter().position(|&b| b == b'|') {
        None => lookup(name).map(|(_, cmd)| (cmd, None)),
        Some(bar) => {
            let (_, cmd) = lookup(&name[..bar])?;
            let sub = cmd
                .subcommands
                .iter()
                .find(|s| s.name.as_bytes().eq_ignore_ascii_case(&name[bar + 1..]))?;
            Some((cmd, Some(sub)))
        }
    }
}

const COMMAND_HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

/// Key positions of a numkeys command line (`args`: the command and its
/// arguments): the table's fixed keys (ZUNIONSTORE's destination), then
/// the counted ones, as Redis lists them; None if it is not one. A count
/// that is not positive or runs past the arguments is Redis's "Invalid
/// arguments" error. The layout is the ACL's (acl_key_needs.rs).
fn numkeys_keys(cmd: &Command, args: &Argv) -> Option<Result<Vec<usize>, CmdError>> {
    let (at, first, step, _) = crate::acl::keynum_spec(cmd.name)?;
    let n = (at < args.len())
        .then(|| crate::resp::parser::parse_i64(args.get(at)))
        .flatten()
        .filter(|&n| n > 0)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| {
            (n - 1)
                .checked_mul(step)
                .and_then(|span| span.checked_add(first))
                .is_some_and(|last| last < args.len())
        });
    Some(match n {
        Some(n) => Ok(command_keys(cmd, args.len())
            .into_iter()
            .chain((0..n).map(|k| first + k * step))
            .collect()),
        // EVAL and FCALL may name no key: any count that names none (0,
        // negative, not a number, past the arguments) gives no keys.
        None if cmd.flags & super::table::NO_MANDATORY_KEYS != 0 => Ok(Vec::new()),
        None => Err(CmdError::msg("ERR Invalid arguments specified for command")),
    })
}

/// Key positions of a request (`args`: the command and its arguments), as
/// COMMAND GETKEYS finds them; none if its numkeys is invalid. CLIENT
/// TRACKING remembers the keys at these positions.
pub(crate) fn tracked_key_positions(cmd: &Command, args: &Argv) -> Vec<usize> {
    let mut keys = match numkeys_keys(cmd, args) {
        Some(found) => found.unwrap_or_default(),
        None => command_keys(cmd, args.len()),
    };
    keys.extend(super::stream_groups::streams_key_positions(cmd.name, args));
    keys
}

fn command_keys(cmd: &Command, argc: usize) -> Vec<usize> {
    // Shard channels sit at key positions but are not keys.
    if cmd.first_key <= 0 || cmd.flags & super::table::CHANNEL_KEYS != 0 {
        return Vec::new();
    }
    let last = if cmd.last_key < 0 {
        argc as i32 + cmd.last_key
    } else {
        cmd.last_key
    };
    let step = cmd.key_step.max(1) as usize;
    (cmd.first_key as usize..=last.max(0) as usize)
        .step_by(step)
        .filter(|&i| i < argc)
        .collect()
}

/// COMMAND GETKEYS: the key positions of the command line that starts at
/// `argv[2]`, counted from it (its name is 0), in Redis's order; Redis's
/// errors for a line without keys or with a bad count.
fn key_positions(argv: &Argv) -> Result<Vec<usize>, CmdError> {
    let Some((_, cmd)) = lookup(&argv[2]) else {
        return Err(CmdError::msg("ERR Invalid command specified"));
    };
    let argc = argv.len() - 2;
    if !super::arity_ok(cmd.arity, argc) {
        return Err(CmdError::msg(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let args = argv.tail(2);
    let mut keys = match numkeys_keys(cmd, &args) {
        Some(found) => found?,
        None if positional_keys_apply(cmd.name, &args) => command_keys(cmd, argc),
        None => Vec::new(),
    };
    keys.extend(keyword_key_positions(cmd.name, &args));
    keys.extend(super::stream_groups::streams_key_positions(cmd.name, &args));
    if keys.is_empty() && matches!(cmd.name, "xread" | "xreadgroup") {
        // A key spec that found no keys (no STREAMS).
        return Err(CmdError::msg("ERR Invalid arguments specified for command"));
    }
    if keys.is_empty() && cmd.flags & super::table::NO_MANDATORY_KEYS == 0 {
        return Err(CmdError::msg("ERR The command has no key arguments"));
    }
    Ok(keys)
}

/// The access flags COMMAND GETKEYSANDFLAGS shows for the key at `pos`
/// of `words` (the command line, its name first): those of the first key
/// spec that finds that argument, else those of the command's last spec
/// (SORT's STORE key, which no spec can locate). SET and BITFIELD decide
/// by their arguments, as Redis's own key functions for them do. The
/// spec-only flags `incomplete` and `variable_flags` are not shown.
fn key_flags(words: &[&[u8]], pos: usize) -> Vec<&'static str> {
    let name = String::from_utf8_lossy(words[0]).to_ascii_lowercase();
    let has_word = |from: usize, any: &[&str]| {
        words
            .iter()
            .skip(from)
            .any(|a| any.iter().any(|w| a.eq_ignore_ascii_case(w.as_bytes())))
    };
    match name.as_str() {
        "set" if has_word(3, &["get"]) => return vec!["RW", "access", "update"],
        "set" => return vec!["OW", "update"],
        "bitfield" if has_word(2, &["set", "incrby"]) => return vec!["RW", "access", "update"],
        "bitfield" => return vec!["RO", "access"],
        _ => {}
    }
    let container = lookup(words[0]).is_some_and(|(_, c)| !c.subcommands.is_empty());
    let full = match words.get(1) {
        Some(sub) if container => format!(
            "{name}|{}",
            String::from_utf8_lossy(sub).to_ascii_lowercase()
        ),
        _ => name,
    };
    let Some(meta) = command_meta::lookup(&full) else {
        return Vec::new();
    };
    let spec = meta
        .key_specs
        .iter()
        .find(|s| command_meta::spec_positions(s, words).is_some_and(|p| p.contains(&pos)))
        .or(meta.key_specs.last());
    spec.map(|s| {
        s.flags
            .iter()
            .copied()
            .filter(|f| !matches!(*f, "incomplete" | "variable_flags"))
            .collect()
    })
    .unwrap_or_default()
}

pub fn command(_srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    if argv.len() == 1 {
        let mut w = c.reply();
        w.array(callable().count());
        for cmd in callable() {
            write_info(&mut w, cmd);
        }
        return Ok(());
    }
    let sub = argv.lower(1);
    match sub.as_str() {
        "count" => c.reply().int(callable().count() as i64),
        "info" => {
            let mut w = c.reply();
            if argv.len() == 2 {
                w.array(callable().count());
                for cmd in callable() {
                    write_info(&mut w, cmd);
                }
            } else {
                w.array(argv.len() - 2);
                for name in argv.iter().skip(2) {
                    match lookup_full_name(name) {
                        Some((cmd, None)) => write_info(&mut w, cmd),
                        Some((cmd, Some(s))) => write_sub_info(&mut w, cmd, s),
                        None => w.null(),
                    }
                }
            }
        }
        "docs" => {
            let mut w = c.reply();
            if argv.len() == 2 {
                w.map(callable().count());
                for cmd in callable() {
                    w.bulk(cmd.name.as_bytes());
                    write_docs(&mut w, cmd);
                }
            } else {
                let found: Vec<_> = argv.iter().skip(2).filter_map(lookup_full_name).collect();
                w.map(found.len());
                for (cmd, s) in found {
                    match s {
                        None => {
                            w.bulk(cmd.name.as_bytes());
                            write_docs(&mut w, cmd);
                        }
                        Some(s) => {
                            w.bulk(format!("{}|{}", cmd.name, s.name).as_bytes());
                            write_sub_docs(&mut w, cmd, s);
                        }
                    }
                }
            }
        }
        "list" => {
            // Redis 7.0 lists subcommands too, by full name (`config|get`),
            // each after its command, and filters them the same way.
            let all = callable().flat_map(|c| {
                std::iter::once(c.name.to_string()).chain(
                    c.subcommands
                        .iter()
                        .map(|s| format!("{}|{}", c.name, s.name)),
                )
            });
            let names: Vec<String> = if argv.len() == 2 {
                all.collect()
            } else if argv.len() == 5 && argv.is(2, "filterby") {
                let arg = argv.get(4);
                if argv.is(3, "pattern") {
                    all.filter(|n| glob_match(arg, n.as_bytes(), true))
                        .collect()
                } else if argv.is(3, "aclcat") {
                    let cat = format!("@{}", String::from_utf8_lossy(arg).to_ascii_lowercase());
                    all.filter(|n| acl_categories(n).contains(&cat.as_str()))
                        .collect()
                } else if argv.is(3, "module") {
                    Vec::new()
                } else {
                    return Err(CmdError::Syntax);
                }
            } else {
                return Err(CmdError::Syntax);
            };
            c.reply().bulks(names.iter());
        }
        "getkeys" => {
            let keys = key_positions(argv)?;
            let mut w = c.reply();
            w.array(keys.len());
            for i in keys {
                w.bulk(argv.get(i + 2));
            }
        }
        "getkeysandflags" => {
            let keys = key_positions(argv)?;
            let args = argv.tail(2);
            let words: Vec<&[u8]> = args.iter().collect();
            let mut w = c.reply();
            w.array(keys.len());
            for i in keys {
                w.array(2);
                w.bulk(args.get(i));
                let flags = key_flags(&words, i);
                w.set(flags.len());
                for f in flags {
                    w.simple(f);
                }
            }
        }
        "help" => reply_help(c, COMMAND_HELP),
        _ => return Err(CmdError::UnknownSubcommand(sub, "COMMAND".into())),
    }
    Ok(())
}
