//! Access control: ACL users, their rules, and the permission check the
//! dispatcher runs before a command.
//!
//! Owns: the user registry ([`Acl`]), each [`User`] (passwords as SHA-256,
//! a root [`Selector`] plus Redis 7.0's `(...)` selectors, each with a
//! command bitmap, first-argument rules, key and channel patterns), rule
//! parsing (ACL SETUSER syntax), the description Redis prints (ACL LIST /
//! GETUSER), and the ACL LOG of denials.
//!
//! Must never: keep a clear-text password (only SHA-256 digests are
//! stored; logs and LIST/GETUSER show digests), or cost more than one
//! branch per command while every user is unrestricted
//! ([`Acl::restricted`] is false then).
//!
//! Invariants: the `default` user always exists; `User::unrestricted` is
//! true exactly when the root selector allows every command, key and
//! channel (extra selectors can only add permissions);
//! `Acl::restricted` is true when any user is not unrestricted.

use crate::acl_categories::{CATEGORIES, COMMAND_CATEGORIES};
use crate::acl_key_needs::{KEYNUM_KEYS, KEY_NEEDS, NEED_READ, NEED_WRITE};
use crate::commands::table::{ids, Command, CHANNEL_KEYS, COMMANDS};
use crate::commands::{table::lookup_original, Argv};
use crate::glob::glob_match;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

pub type UserRef = Rc<RefCell<User>>;

/// A rule list longer than this is refused (bounds the cold-path replay).
const MAX_RULES: usize = 1024;
/// At most this many passwords / patterns per user.
const MAX_ITEMS: usize = 1024;

/// Redis's category mask for a command name (`parent|sub` for subcommands).
pub fn category_mask(name: &str) -> u32 {
    COMMAND_CATEGORIES
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .map_or(0, |i| COMMAND_CATEGORIES[i].1)
}

/// Category names of a mask, `@`-prefixed, in Redis's order.
pub fn category_names(mask: u32) -> Vec<&'static str> {
    const AT: [&str; 21] = [
        "@keyspace",
        "@read",
        "@write",
        "@set",
        "@sortedset",
        "@list",
        "@hash",
        "@string",
        "@bitmap",
        "@hyperloglog",
        "@geo",
        "@stream",
        "@pubsub",
        "@admin",
        "@fast",
        "@slow",
        "@blocking",
        "@dangerous",
        "@connection",
        "@transaction",
        "@scripting",
    ];
    (0..CATEGORIES.len())
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| AT[i])
        .collect()
}

/// Category names, ACL CAT order.
pub fn category_list() -> &'static [&'static str] {
    CATEGORIES
}

fn category_bit(name: &str) -> Option<u32> {
    CATEGORIES
        .iter()
        .position(|c| c.eq_ignore_ascii_case(name))
        .map(|i| 1 << i)
}

/// Every (id, full name, categories) of the implemented commands.
fn each_command(mut f: impl FnMut(usize, String, u32)) {
    let ids = ids();
    for (i, c) in COMMANDS.iter().enumerate() {
        f(i, c.name.to_string(), category_mask(c.name));
        for (j, s) in c.subcommands.iter().enumerate() {
            let full = format!("{}|{}", c.name, s.name);
            let m = category_mask(&full);
            f(ids.sub_base[i] + j, full, m);
        }
    }
}

/// Names of implemented commands in a category (ACL CAT <category>).
pub fn commands_in_category(cat: &str) -> Option<Vec<String>> {
    let bit = category_bit(cat)?;
    let mut out = Vec::new();
    each_command(|_, name, m| {
        if m & bit != 0 {
            out.push(name);
        }
    });
    Some(out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyPerm {
    Read,
    Write,
    ReadWrite,
}

const ERR_UNKNOWN_COMMAND: &str = "Unknown command or category name in ACL";
const ERR_PATTERN_AFTER_ALLKEYS: &str = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
const ERR_PATTERN_AFTER_ALLCHANNELS: &str = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";
const ERR_HASH: &str = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";

/// One set of permissions: commands, keys, channels. A user has a root
/// selector (the rules written outside parentheses) and any number of
/// extra selectors (Redis 7.0's `(...)` rules); a command runs when one
/// selector allows all of it (the command, every key, every channel).
#[derive(Clone)]
pub struct Selector {
    allowed: Vec<u64>,
    /// Base of the description: `+@all` (true) or `-@all`.
    all_base: bool,
    /// Command rules in effect after the base, as Redis describes them.
    rules: Vec<String>,
    /// First-argument rules (`+select|0`): a command whose bit is off may
    /// still run when its first argument is one of these (compared
    /// without case, as Redis). Printed after `rules`, in the order added.
    first_args: Vec<(usize, Vec<Vec<u8>>)>,
    all_keys: bool,
    keys: Vec<(KeyPerm, Vec<u8>)>,
    all_channels: bool,
    channels: Vec<Vec<u8>>,
}

#[derive(Clone)]
pub struct User {
    pub name: Vec<u8>,
    pub enabled: bool,
    pub nopass: bool,
    /// sanitize-payload (Some(true)) / skip-sanitize-payload (Some(false)):
    /// recorded and reported only (no RESTORE here to sanitize).
    sanitize: Option<bool>,
    passwords: Vec<[u8; 32]>,
    root: Selector,
    /// The `(...)` selectors, in the order they were added.
    selectors: Vec<Selector>,
    pub unrestricted: bool,
}

/// Why a check failed (ACL LOG `reason`). The order is Redis's: when no
/// selector allows a command, the refusal reported is the greatest one
/// (a channel beats a key beats the command; then the later argument).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Denied {
    Command,
    Key(usize),
    Channel(usize),
}

pub fn sha256(pass: &[u8]) -> [u8; 32] {
    Sha256::digest(pass).into()
}

fn hex(d: &[u8; 32]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &[u8]) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.chunks(2).enumerate() {
        let h = std::str::from_utf8(pair).ok()?;
        if !h
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        out[i] = u8::from_str_radix(h, 16).ok()?;
    }
    Some(out)
}

fn set_bit(bits: &mut [u64], id: usize, on: bool) {
    if on {
        bits[id / 64] |= 1 << (id % 64);
    } else {
        bits[id / 64] &= !(1 << (id % 64));
    }
}

/// Group SETUSER arguments into rules: an argument opening a selector
/// with `(` runs, joined by single spaces, up to the argument that ends
/// with `)`. Err carries the unclosed text for Redis's "Unmatched
/// parenthesis" error. Used by ACL SETUSER and by aclfile lines.
pub fn merge_selector_args<'a>(
    args: impl Iterator<Item = &'a [u8]>,
) -> Result<Vec<Vec<u8>>, Vec<u8>> {
    let mut out = Vec::new();
    let mut open: Option<Vec<u8>> = None;
    for a in args {
        if let Some(sel) = open.as_mut() {
            sel.push(b' ');
            sel.extend_from_slice(a);
            if a.ends_with(b")") {
                out.extend(open.take());
            }
        } else if a.starts_with(b"(") && (a.len() < 2 || !a.ends_with(b")")) {
            open = Some(a.to_vec());
        } else {
            out.push(a.to_vec());
        }
    }
    match open {
        Some(unclosed) => Err(unclosed),
        None => Ok(out),
    }
}

/// `acl-pubsub-default allchannels`: new users and selectors start with
/// every channel (see [`set_pubsub_default`]).
static PUBSUB_DEFAULT_ALL: AtomicBool = AtomicBool::new(false);

/// Mirror `acl-pubsub-default` (the server calls this whenever the
/// configuration changes); users that exist keep their channels.
pub fn set_pubsub_default(all_channels: bool) {
    PUBSUB_DEFAULT_ALL.store(all_channels, Ordering::Relaxed);
}

impl Selector {
    /// An empty selector: no commands or keys, and the channels of
    /// `acl-pubsub-default` (none with 7.0's default, resetchannels).
    fn new() -> Selector {
        Selector {
            allowed: vec![0; ids().total.div_ceil(64)],
            all_base: false,
            rules: Vec::new(),
            first_args: Vec::new(),
            all_keys: false,
            keys: Vec::new(),
            all_channels: PUBSUB_DEFAULT_ALL.load(Ordering::Relaxed),
            channels: Vec::new(),
        }
    }

    fn bit(&self, id: usize) -> bool {
        self.allowed[id / 64] & (1 << (id % 64)) != 0
    }

    fn unrestricted(&self) -> bool {
        let total = ids().total;
        self.all_keys && self.all_channels && (0..total).all(|i| self.bit(i))
    }

    /// The ids a rule word names: a category, a command (with its
    /// subcommands), or `parent|sub`.
    fn rule_targets(word: &str) -> Option<Vec<usize>> {
        let ids = ids();
        if let Some(cat) = word.strip_prefix('@') {
            if cat.eq_ignore_ascii_case("all") {
                return Some((0..ids.total).collect());
            }
            let bit = category_bit(cat)?;
            let mut out = Vec::new();
            each_command(|id, _, m| {
                if m & bit != 0 {
                    out.push(id);
                }
            });
            return Some(out);
        }
        if let Some((parent, sub)) = word.split_once('|') {
            let (i, c) = lookup_original(parent.as_bytes())?;
            let j = c
                .subcommands
                .iter()
                .position(|s| s.name.eq_ignore_ascii_case(sub))?;
            return Some(vec![ids.sub_base[i] + j]);
        }
        let (i, c) = lookup_original(word.as_bytes())?;
        let mut out = vec![i];
        out.extend((0..c.subcommands.len()).map(|j| ids.sub_base[i] + j));
        Some(out)
    }

    /// Replay the description (base + rules) into a bitmap.
    fn replay(all_base: bool, rules: &[String]) -> Vec<u64> {
        let total = ids().total;
        let mut bits = vec![0u64; total.div_ceil(64)];
        if all_base {
            for i in 0..total {
                set_bit(&mut bits, i, true);
            }
        }
        for r in rules {
            let on = r.starts_with('+');
            if let Some(t) = Self::rule_targets(&r[1..]) {
                for id in t {
                    set_bit(&mut bits, id, on);
                }
            }
        }
        bits
    }

    /// `+cmd|arg` on a command without subcommands: allow that first
    /// argument only. Redis 7.0 ignores it when the whole command is
    /// already allowed, and has no `-cmd|arg`.
    fn first_arg_rule(&mut self, on: bool, word: &str) -> Result<bool, &'static str> {
        let Some((parent, arg)) = word.split_once('|') else {
            return Ok(false);
        };
        let Some((i, c)) = lookup_original(parent.as_bytes()) else {
            return Err(ERR_UNKNOWN_COMMAND);
        };
        if !c.subcommands.is_empty() {
            if let Some((sub, _)) = arg.split_once('|') {
                if c.subcommands
                    .iter()
                    .any(|s| s.name.eq_ignore_ascii_case(sub))
                {
                    return Err("Allowing first-arg of a subcommand is not supported");
                }
            }
            // `parent|sub`: an ordinary subcommand rule.
            return Ok(false);
        }
        if !on {
            return Err(ERR_UNKNOWN_COMMAND);
        }
        if arg.is_empty() {
            return Err("Syntax error");
        }
        if self.bit(i) {
            return Ok(true);
        }
        let total: usize = self.first_args.iter().map(|(_, a)| a.len()).sum();
        if total >= MAX_ITEMS {
            return Err("Too many rules");
        }
        let arg = arg.as_bytes();
        match self.first_args.iter_mut().find(|(id, _)| *id == i) {
            Some((_, args)) => {
                if !args.iter().any(|a| a.eq_ignore_ascii_case(arg)) {
                    args.push(arg.to_vec());
                }
            }
            None => self.first_args.push((i, vec![arg.to_vec()])),
        }
        Ok(true)
    }

    /// Apply a command rule (`+x`/`-x`, x a command, `parent|sub`,
    /// `cmd|firstarg` or `@category`) and update the description as
    /// Redis 7.0 does: drop earlier rules it supersedes, and record it
    /// only if it changes what the remaining description allows.
    fn command_rule(&mut self, on: bool, word: &str) -> Result<(), &'static str> {
        // The name is case-insensitive; a first argument keeps its case.
        let word = match word.split_once('|') {
            Some((p, rest)) => format!("{}|{rest}", p.to_ascii_lowercase()),
            None => word.to_ascii_lowercase(),
        };
        if !word.starts_with('@') && self.first_arg_rule(on, &word)? {
            return Ok(());
        }
        let word = word.to_ascii_lowercase();
        let targets = Self::rule_targets(&word).ok_or(ERR_UNKNOWN_COMMAND)?;
        // A whole-command or category rule replaces first-argument rules
        // of the commands it names.
        self.first_args.retain(|(id, _)| !targets.contains(id));
        if word == "@all" {
            self.all_base = on;
            self.rules.clear();
            for id in targets {
                set_bit(&mut self.allowed, id, on);
            }
            return Ok(());
        }
        if self.rules.len() >= MAX_RULES {
            return Err("Too many rules");
        }
        for &id in &targets {
            set_bit(&mut self.allowed, id, on);
        }
        // Earlier rules this one supersedes: the same word, and for a
        // category, the commands it contains.
        self.rules.retain(|r| {
            let w = &r[1..];
            if w == word {
                return false;
            }
            if word.starts_with('@') && !w.starts_with('@') {
                if let Some(t) = Self::rule_targets(w) {
                    return !t.iter().all(|id| targets.contains(id));
                }
            }
            true
        });
        if Self::replay(self.all_base, &self.rules) != self.allowed {
            self.rules
                .push(format!("{}{}", if on { '+' } else { '-' }, word));
        }
        // Redis 7.0 prints category rules before command rules. Move them
        // first when that describes the same permissions (a command rule
        // partly overlapping a later category must keep its place).
        let (mut cats, cmds): (Vec<String>, Vec<String>) = self
            .rules
            .iter()
            .cloned()
            .partition(|r| r[1..].starts_with('@'));
        if !cats.is_empty() && !cmds.is_empty() {
            cats.extend(cmds);
            if cats != self.rules && Self::replay(self.all_base, &cats) == self.allowed {
                self.rules = cats;
            }
        }
        Ok(())
    }

    /// Apply one rule a selector understands (commands, keys, channels);
    /// Ok(false) when the word is not one of them.
    fn apply(&mut self, rule: &[u8]) -> Result<bool, &'static str> {
        match rule.to_ascii_lowercase().as_slice() {
            b"allkeys" | b"~*" => {
                self.all_keys = true;
                self.keys.clear();
            }
            b"resetkeys" => {
                self.all_keys = false;
                self.keys.clear();
            }
            b"allchannels" | b"&*" => {
                self.all_channels = true;
                self.channels.clear();
            }
            b"resetchannels" => {
                self.all_channels = false;
                self.channels.clear();
            }
            b"allcommands" => self.command_rule(true, "@all")?,
            b"nocommands" => self.command_rule(false, "@all")?,
            _ => {
                let (first, rest) = match rule.split_first() {
                    Some((f, r)) => (*f, r),
                    None => return Ok(false),
                };
                match first {
                    b'~' => self.add_key_pattern(KeyPerm::ReadWrite, rest)?,
                    b'%' => {
                        let tilde = rest.iter().position(|&b| b == b'~').ok_or("Syntax error")?;
                        let (mut r, mut w) = (false, false);
                        for &f in &rest[..tilde] {
                            match f.to_ascii_uppercase() {
                                b'R' => r = true,
                                b'W' => w = true,
                                _ => return Err("Syntax error"),
                            }
                        }
                        let perm = match (r, w) {
                            (true, true) => KeyPerm::ReadWrite,
                            (true, false) => KeyPerm::Read,
                            (false, true) => KeyPerm::Write,
                            _ => return Err("Syntax error"),
                        };
                        self.add_key_pattern(perm, &rest[tilde + 1..])?;
                    }
                    b'&' => {
                        if self.all_channels {
                            return Err(ERR_PATTERN_AFTER_ALLCHANNELS);
                        }
                        if !self.channels.iter().any(|c| c == rest) {
                            if self.channels.len() >= MAX_ITEMS {
                                return Err("Too many patterns");
                            }
                            self.channels.push(rest.to_vec());
                        }
                    }
                    b'+' | b'-' => {
                        let word = std::str::from_utf8(rest).map_err(|_| ERR_UNKNOWN_COMMAND)?;
                        self.command_rule(first == b'+', word)?;
                    }
                    _ => return Ok(false),
                }
            }
        }
        Ok(true)
    }

    fn add_key_pattern(&mut self, perm: KeyPerm, pat: &[u8]) -> Result<(), &'static str> {
        if self.all_keys {
            return Err(ERR_PATTERN_AFTER_ALLKEYS);
        }
        if pat == b"*" && perm == KeyPerm::ReadWrite {
            self.all_keys = true;
            self.keys.clear();
            return Ok(());
        }
        if let Some(e) = self.keys.iter_mut().find(|(_, p)| p == pat) {
            e.0 = if e.0 == perm {
                perm
            } else {
                KeyPerm::ReadWrite
            };
            return Ok(());
        }
        if self.keys.len() >= MAX_ITEMS {
            return Err("Too many patterns");
        }
        self.keys.push((perm, pat.to_vec()));
        Ok(())
    }

    pub fn commands_description(&self) -> String {
        let mut s = String::from(if self.all_base { "+@all" } else { "-@all" });
        for r in &self.rules {
            s.push(' ');
            s.push_str(r);
        }
        for (id, args) in &self.first_args {
            let name = COMMANDS.get(*id).map_or("?", |c| c.name);
            for a in args {
                s.push_str(" +");
                s.push_str(name);
                s.push('|');
                s.push_str(&String::from_utf8_lossy(a));
            }
        }
        s
    }

    pub fn keys_description(&self) -> String {
        if self.all_keys {
            return "~*".into();
        }
        let parts: Vec<String> = self
            .keys
            .iter()
            .map(|(perm, p)| {
                let p = String::from_utf8_lossy(p);
                match perm {
                    KeyPerm::ReadWrite => format!("~{p}"),
                    KeyPerm::Read => format!("%R~{p}"),
                    KeyPerm::Write => format!("%W~{p}"),
                }
            })
            .collect();
        parts.join(" ")
    }

    pub fn channels_description(&self) -> String {
        if self.all_channels {
            return "&*".into();
        }
        let parts: Vec<String> = self
            .channels
            .iter()
            .map(|p| format!("&{}", String::from_utf8_lossy(p)))
            .collect();
        parts.join(" ")
    }

    /// Keys, channels and commands as ACL LIST prints them (without the
    /// parentheses of an extra selector).
    fn describe_into(&self, s: &mut String) {
        let keys = self.keys_description();
        if !keys.is_empty() {
            s.push_str(&keys);
            s.push(' ');
        }
        if !self.all_channels {
            s.push_str("resetchannels ");
        }
        let ch = self.channels_description();
        if !ch.is_empty() {
            s.push_str(&ch);
            s.push(' ');
        }
        s.push_str(&self.commands_description());
    }

    /// A key is allowed when a pattern with every permission the key
    /// needs matches it (need 0: any matching pattern).
    fn key_ok(&self, key: &[u8], need: u8) -> bool {
        self.all_keys
            || self.keys.iter().any(|(perm, p)| {
                let has = match perm {
                    KeyPerm::Read => NEED_READ,
                    KeyPerm::Write => NEED_WRITE,
                    KeyPerm::ReadWrite => NEED_READ | NEED_WRITE,
                };
                has & need == need && glob_match(p, key, false)
            })
    }

    fn channel_ok(&self, ch: &[u8], literal: bool) -> bool {
        self.all_channels
            || self.channels.iter().any(|p| {
                if literal {
                    p == ch
                } else {
                    glob_match(p, ch, false)
                }
            })
    }

    fn command_ok(&self, idx: usize, id: usize, argv: &Argv) -> bool {
        self.bit(id)
            || (id == idx
                && argv.len() >= 2
                && self.first_args.iter().any(|(i, args)| {
                    *i == idx && args.iter().any(|a| a.eq_ignore_ascii_case(argv.get(1)))
                }))
    }

    /// This selector's verdict: command (or first argument), then every
    /// key, then every channel.
    fn check(&self, idx: usize, id: usize, cmd: &Command, argv: &Argv) -> Result<(), Denied> {
        // AUTH and HELLO (no_auth) are open to every user, as in Redis.
        if !self.command_ok(idx, id, argv) && cmd.flags & crate::commands::table::NO_AUTH == 0 {
            return Err(Denied::Command);
        }
        if !self.all_keys
            && cmd.first_key > 0
            && cmd.flags & CHANNEL_KEYS == 0
            && crate::commands::command::positional_keys_apply(cmd.name, argv)
        {
            let (first, rest) = key_needs(cmd, id != idx, argv);
            for i in key_positions(cmd, argv.len()) {
                let need = if i == cmd.first_key as usize {
                    first
                } else {
                    rest
                };
                if !self.key_ok(argv.get(i), need) {
                    return Err(Denied::Key(i));
                }
            }
        }
        if !self.all_keys && id == idx {
            for (i, need) in keynum_positions(cmd.name, argv) {
                if !self.key_ok(argv.get(i), need) {
                    return Err(Denied::Key(i));
                }
            }
            // Destinations found by keyword (SORT ... STORE, GEORADIUS
            // ... STORE/STOREDIST): Redis's key specs search for them.
            for i in crate::commands::command::keyword_key_positions(cmd.name, argv) {
                if !self.key_ok(argv.get(i), NEED_WRITE) {
                    return Err(Denied::Key(i));
                }
            }
            // XREAD / XREADGROUP: the keys after STREAMS, read access
            // (Redis's key spec for both is RO ACCESS).
            for i in crate::commands::stream_groups::streams_key_positions(cmd.name, argv) {
                if !self.key_ok(argv.get(i), NEED_READ) {
                    return Err(Denied::Key(i));
                }
            }
        }
        if !self.all_channels {
            let (from, literal) = match cmd.name {
                "publish" | "spublish" => (1..2.min(argv.len()), false),
                "subscribe" | "ssubscribe" => (1..argv.len(), false),
                "psubscribe" => (1..argv.len(), true),
                _ => (0..0, false),
            };
            for i in from {
                if !self.channel_ok(argv.get(i), literal) {
                    return Err(Denied::Channel(i));
                }
            }
        }
        Ok(())
    }
}

impl User {
    /// A new user as ACL SETUSER creates it: off, no password, no
    /// commands, no keys, no channels (7.0's acl-pubsub-default).
    pub fn new(name: &[u8]) -> User {
        User {
            name: name.to_vec(),
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            root: Selector::new(),
            selectors: Vec::new(),
            unrestricted: false,
        }
    }

    /// The default user: on, nopass, everything allowed.
    pub fn new_default() -> User {
        let mut u = User::new(b"default");
        for r in ["on", "nopass", "~*", "&*", "+@all"] {
            let _ = u.apply(r.as_bytes());
        }
        u
    }

    fn refresh(&mut self) {
        // Extra selectors only add permissions: the root decides.
        self.unrestricted = self.root.unrestricted();
    }

    pub fn check_password(&self, pass: &[u8]) -> bool {
        if self.nopass {
            return true;
        }
        let d = sha256(pass);
        // Compare digests in full so timing does not reveal a prefix.
        self.passwords.iter().fold(false, |ok, p| {
            ok | (p.iter().zip(d.iter()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0)
        })
    }

    /// Apply one ACL SETUSER rule (a `(...)` selector is one rule, see
    /// [`merge_selector_args`]); the error is Redis's reason text.
    pub fn apply(&mut self, rule: &[u8]) -> Result<(), &'static str> {
        if rule.len() >= 2 && rule.starts_with(b"(") && rule.ends_with(b")") {
            if self.selectors.len() >= MAX_ITEMS {
                return Err("Too many selectors");
            }
            let mut sel = Selector::new();
            for word in rule[1..rule.len() - 1].split(|&b| b == b' ') {
                if !word.is_empty() && !sel.apply(word)? {
                    return Err("Syntax error");
                }
            }
            self.selectors.push(sel);
            return Ok(());
        }
        match rule.to_ascii_lowercase().as_slice() {
            b"on" => self.enabled = true,
            b"off" => self.enabled = false,
            b"nopass" => {
                self.nopass = true;
                self.passwords.clear();
            }
            b"sanitize-payload" => self.sanitize = Some(true),
            b"skip-sanitize-payload" => self.sanitize = Some(false),
            b"resetpass" => {
                self.nopass = false;
                self.passwords.clear();
            }
            b"clearselectors" => self.selectors.clear(),
            b"reset" => {
                let name = std::mem::take(&mut self.name);
                *self = User::new(&name);
                self.sanitize = Some(true);
            }
            _ => {
                let rest = rule.get(1..).unwrap_or_default();
                match rule.first() {
                    Some(b'>') => self.add_password(sha256(rest))?,
                    Some(b'<') => {
                        let d = sha256(rest);
                        self.passwords.retain(|p| *p != d);
                        self.nopass = false;
                    }
                    Some(b'#') => self.add_password(unhex(rest).ok_or(ERR_HASH)?)?,
                    Some(b'!') => {
                        let d = unhex(rest).ok_or(ERR_HASH)?;
                        if !self.passwords.contains(&d) {
                            return Err("The password you are trying to remove from the user does not exist");
                        }
                        self.passwords.retain(|p| *p != d);
                        self.nopass = false;
                    }
                    _ => {
                        if !self.root.apply(rule)? {
                            return Err("Syntax error");
                        }
                    }
                }
            }
        }
        self.refresh();
        Ok(())
    }

    fn add_password(&mut self, d: [u8; 32]) -> Result<(), &'static str> {
        if !self.passwords.contains(&d) {
            if self.passwords.len() >= MAX_ITEMS {
                return Err("Too many passwords");
            }
            self.passwords.push(d);
        }
        self.nopass = false;
        Ok(())
    }

    fn flags(&self) -> Vec<&'static str> {
        let mut f = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            f.push("nopass");
        }
        match self.sanitize {
            Some(false) => f.push("skip-sanitize-payload"),
            Some(true) => f.push("sanitize-payload"),
            None => {}
        }
        f
    }

    pub fn flag_words(&self) -> Vec<&'static str> {
        self.flags()
    }

    pub fn password_hexes(&self) -> Vec<String> {
        self.passwords.iter().map(hex).collect()
    }

    /// The root selector (GETUSER's commands / keys / channels fields).
    pub fn root(&self) -> &Selector {
        &self.root
    }

    /// The `(...)` selectors (GETUSER's selectors field).
    pub fn selectors(&self) -> &[Selector] {
        &self.selectors
    }

    /// The ACL LIST line (also the aclfile format).
    pub fn describe(&self) -> String {
        let mut s = format!("user {}", String::from_utf8_lossy(&self.name));
        for f in self.flags() {
            s.push(' ');
            s.push_str(f);
        }
        for p in &self.passwords {
            s.push_str(" #");
            s.push_str(&hex(p));
        }
        s.push(' ');
        self.root.describe_into(&mut s);
        for sel in &self.selectors {
            s.push_str(" (");
            sel.describe_into(&mut s);
            s.push(')');
        }
        s
    }

    /// The user may read every key: what SORT's BY and GET patterns need,
    /// since the keys they reach depend on the data (Redis 7.0 checks a
    /// read of the key pattern `*` in any selector).
    pub fn may_read_all_keys(&self) -> bool {
        std::iter::once(&self.root)
            .chain(self.selectors.iter())
            .any(|sel| sel.key_ok(b"*", NEED_READ))
    }

    /// The full check for a restricted user: Ok when one selector allows
    /// the command, its keys and its channels; else the most relevant
    /// refusal among the selectors (see [`Denied`]).
    pub fn check(&self, idx: usize, cmd: &Command, argv: &Argv) -> Result<(), Denied> {
        let id = ids().of(idx, cmd, argv);
        let mut worst = match self.root.check(idx, id, cmd, argv) {
            Ok(()) => return Ok(()),
            Err(d) => d,
        };
        for sel in &self.selectors {
            match sel.check(idx, id, cmd, argv) {
                Ok(()) => return Ok(()),
                Err(d) => worst = worst.max(d),
            }
        }
        Err(worst)
    }
}

/// Redis 7.0's protected mode: with `protected-mode yes` and no password
/// on the default user, only loopback peers may connect.
pub fn protected_mode_denies(
    protected_mode: bool,
    default_nopass: bool,
    peer: std::net::IpAddr,
) -> bool {
    let loopback = match peer {
        std::net::IpAddr::V4(a) => a.is_loopback(),
        // An IPv4-mapped ::ffff:127.x peer is loopback too.
        std::net::IpAddr::V6(a) => {
            a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    };
    protected_mode && default_nopass && !loopback
}

/// What the first key and the other keys of a command line need (read,
/// write bits), from Redis's key specs. Two have variable key-spec flags
/// in Redis: SET needs only write unless it has the GET option, and
/// BITFIELD needs only read unless it has a SET or INCRBY. A command
/// Redis does not have falls back to its write flag.
fn key_needs(cmd: &Command, is_sub: bool, argv: &Argv) -> (u8, u8) {
    let sub: &[u8] = if is_sub { argv.get(1) } else { b"" };
    let found = KEY_NEEDS.binary_search_by(|(n, _, _)| {
        let mut name = cmd.name.bytes();
        let full: &mut dyn Iterator<Item = u8> = if is_sub {
            &mut name
                .chain(std::iter::once(b'|'))
                .chain(sub.iter().map(u8::to_ascii_lowercase))
        } else {
            &mut name
        };
        n.bytes().cmp(full)
    });
    match found {
        Ok(i) => {
            let (_, first, rest) = KEY_NEEDS[i];
            if cmd.name == "set" && !argv.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get")) {
                return (NEED_WRITE, NEED_WRITE);
            }
            if cmd.name == "bitfield" && !bitfield_writes(argv) {
                return (NEED_READ, NEED_READ);
            }
            (first, rest)
        }
        Err(_) if cmd.flags & crate::commands::table::WRITE != 0 => (NEED_WRITE, NEED_WRITE),
        Err(_) => (NEED_READ, NEED_READ),
    }
}

/// Whether a BITFIELD line writes, judged as Redis 7.0's bitfieldGetKeys
/// does: it only reads if the line is GETs (each skipping its two
/// arguments, unchecked) and OVERFLOWs (one argument) to its end; a SET
/// or INCRBY, or anything else, makes it a write.
fn bitfield_writes(argv: &Argv) -> bool {
    let mut i = 2;
    while i < argv.len() {
        let left = argv.len() - i - 1;
        let word = argv.get(i);
        if word.eq_ignore_ascii_case(b"get") && left >= 2 {
            i += 3;
        } else if word.eq_ignore_ascii_case(b"overflow") && left >= 1 {
            i += 2;
        } else {
            return true;
        }
    }
    false
}

/// Key positions (and their needs) counted by a numkeys argument
/// (ZUNIONSTORE's sources, LMPOP's lists...), which the table's
/// first/last/step cannot express. A numkeys that is not a number gives
/// no keys (the command itself then refuses it); positions stop at argc.
fn keynum_positions<'a>(name: &str, argv: &'a Argv) -> impl Iterator<Item = (usize, u8)> + 'a {
    let (start, count, step, need) = match keynum_spec(name) {
        Some((at, first, step, need)) => {
            let count = (at < argv.len())
                .then(|| {
                    std::str::from_utf8(argv.get(at))
                        .ok()?
                        .parse::<usize>()
                        .ok()
                })
                .flatten()
                .unwrap_or(0);
            (first, count, step, need)
        }
        None => (0, 0, 1, 0),
    };
    (0..count)
        .map(move |k| start + k * step)
        .take_while(move |&i| i < argv.len())
        .map(move |i| (i, need))
}

/// A numkeys command's key layout (Redis's `keynum` key spec, which makes
/// its keys "movable"): (index of numkeys, index of the first key, key
/// step, need of each key), indexes counted from the command name. None
/// for other commands. COMMAND GETKEYS / INFO read it too.
pub fn keynum_spec(name: &str) -> Option<(usize, usize, usize, u8)> {
    let i = KEYNUM_KEYS.binary_search_by(|e| e.0.cmp(name)).ok()?;
    let (_, begin, num_off, first_off, step, need) = KEYNUM_KEYS[i];
    Some((
        (begin + num_off) as usize,
        (begin + first_off) as usize,
        step.max(1) as usize,
        need,
    ))
}

/// Key argument positions of a command line, from the table's key spec.
pub fn key_positions(cmd: &Command, argc: usize) -> impl Iterator<Item = usize> {
    let (first, last, step) = if cmd.first_key <= 0 {
        (1usize, 0usize, 1usize)
    } else {
        let last = if cmd.last_key < 0 {
            argc as i64 + cmd.last_key as i64
        } else {
            cmd.last_key as i64
        };
        (
            cmd.first_key as usize,
            last.max(0) as usize,
            cmd.key_step.max(1) as usize,
        )
    };
    (first..=last).step_by(step).filter(move |&i| i < argc)
}

/// One ACL LOG entry; equal denials within 60 s are merged (count).
pub struct LogEntry {
    pub count: u64,
    pub reason: &'static str,
    pub context: &'static str,
    pub object: String,
    pub username: String,
    pub ctime_ms: i64,
    pub client_info: String,
}

pub struct Acl {
    pub users: BTreeMap<Vec<u8>, UserRef>,
    /// True when some user is restricted: the dispatcher skips the check
    /// entirely (one branch) otherwise.
    pub restricted: bool,
    pub log: VecDeque<LogEntry>,
}

impl Default for Acl {
    fn default() -> Self {
        Self::new()
    }
}

impl Acl {
    pub fn new() -> Acl {
        let mut users = BTreeMap::new();
        users.insert(
            b"default".to_vec(),
            Rc::new(RefCell::new(User::new_default())),
        );
        Acl {
            users,
            restricted: false,
            log: VecDeque::new(),
        }
    }

    pub fn default_user(&self) -> UserRef {
        match self.users.get(b"default".as_slice()) {
            Some(u) => u.clone(),
            None => Rc::new(RefCell::new(User::new_default())),
        }
    }

    /// New connections are authenticated as `default` when it is on and
    /// needs no password.
    pub fn default_autoauth(&self) -> bool {
        let d = self.default_user();
        let d = d.borrow();
        d.enabled && d.nopass
    }

    pub fn recompute(&mut self) {
        self.restricted = self.users.values().any(|u| !u.borrow().unrestricted);
    }

    /// requirepass sets the default user's password ("" = nopass).
    pub fn set_requirepass(&mut self, pass: Option<&[u8]>) {
        let d = self.default_user();
        {
            let mut d = d.borrow_mut();
            let _ = d.apply(b"resetpass");
            match pass {
                Some(p) => {
                    let mut r = vec![b'>'];
                    r.extend_from_slice(p);
                    let _ = d.apply(&r);
                }
                None => {
                    let _ = d.apply(b"nopass");
                }
            }
        }
        self.recompute();
    }

    /// Authenticate: the user if it exists, is on and the password fits.
    pub fn authenticate(&self, user: &[u8], pass: &[u8]) -> Option<UserRef> {
        let u = self.users.get(user)?;
        let ok = {
            let b = u.borrow();
            b.enabled && b.check_password(pass)
        };
        ok.then(|| u.clone())
    }

    /// Replace the users with `new` (ACL LOAD). Users that remain are
    /// updated in place, so their connected clients follow the new rules;
    /// returns the removed users, whose clients the caller disconnects.
    pub fn replace_users(&mut self, new: Vec<User>) -> Vec<UserRef> {
        let mut fresh = BTreeMap::new();
        for u in new {
            let name = u.name.clone();
            let r = match self.users.remove(&name) {
                Some(old) => {
                    *old.borrow_mut() = u;
                    old
                }
                None => Rc::new(RefCell::new(u)),
            };
            fresh.insert(name, r);
        }
        let removed = std::mem::replace(&mut self.users, fresh);
        self.recompute();
        removed.into_values().collect()
    }

    /// Record a denial, merging it into an equal one younger than 60 s;
    /// then trim the log to `max_len` entries (acllog-max-len).
    pub fn add_log(&mut self, mut e: LogEntry, max_len: usize) {
        if let Some(old) = self.log.iter_mut().find(|o| {
            o.reason == e.reason
                && o.context == e.context
                && o.object == e.object
                && o.username == e.username
                && e.ctime_ms - o.ctime_ms < 60_000
        }) {
            old.count += 1;
            old.ctime_ms = e.ctime_ms;
            old.client_info = std::mem::take(&mut e.client_info);
            return;
        }
        self.log.push_front(e);
        self.log.truncate(max_len);
    }
}

/// An aclfile larger than this is refused rather than read.
const ACLFILE_MAX_BYTES: u64 = 64 << 20;

/// Parse an aclfile (ACL LIST lines) into users, all or nothing. The error
/// is Redis 7.0's text, every problem found, then its closing warning.
pub fn parse_file(path: &str) -> Result<Vec<User>, String> {
    use std::io::Read;
    let mut text = String::new();
    let read = std::fs::File::open(path).and_then(|f| {
        let len = f.metadata()?.len();
        if len > ACLFILE_MAX_BYTES {
            return Err(std::io::Error::other("file too large"));
        }
        f.take(ACLFILE_MAX_BYTES).read_to_string(&mut text)
    });
    if let Err(e) = read {
        return Err(format!("Error loading ACLs, opening file '{path}': {e}"));
    }
    let mut users: Vec<User> = Vec::new();
    let mut errors = String::new();
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        if words[0] != "user" || words.len() < 2 {
            errors.push_str(&format!(
                "{path}:{n} should start with user keyword followed by the username. "
            ));
            continue;
        }
        let name = words[1].as_bytes();
        if users.iter().any(|u| u.name == name) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{}' found on line {n}. ",
                words[1]
            ));
            continue;
        }
        let mut u = User::new(name);
        let mut ok = true;
        let rules = match merge_selector_args(words[2..].iter().map(|w| w.as_bytes())) {
            Ok(r) => r,
            Err(open) => {
                errors.push_str(&format!(
                    "{path}:{n}: Unmatched parenthesis in acl selector starting at '{}'. ",
                    String::from_utf8_lossy(&open)
                ));
                continue;
            }
        };
        for rule in &rules {
            if let Err(why) = u.apply(rule) {
                errors.push_str(&format!(
                    "{path}:{n}: Error in applying operation '{}': {why}. ",
                    String::from_utf8_lossy(rule)
                ));
                ok = false;
                break;
            }
        }
        if ok {
            users.push(u);
        }
    }
    if !errors.is_empty() {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
        );
        return Err(errors);
    }
    if !users.iter().any(|u| u.name == b"default") {
        users.push(User::new_default());
    }
    Ok(users)
}

/// Write every user's ACL LIST line to `path` (through a temporary file
/// renamed into place, so a crash never leaves half a file).
pub fn save_file(acl: &Acl, path: &str) -> std::io::Result<()> {
    let mut text = String::new();
    for u in acl.users.values() {
        text.push_str(&u.borrow().describe());
        text.push('\n');
    }
    let tmp = format!("{path}.tmp-{}", std::process::id());
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_follows_redis() {
        let mut u = User::new(b"u");
        for r in ["+@read", "-get", "+get"] {
            u.apply(r.as_bytes()).unwrap();
        }
        assert_eq!(u.root().commands_description(), "-@all +@read");
        let mut u = User::new(b"u");
        for r in ["+@read", "-@read", "+set", "+get", "-set"] {
            u.apply(r.as_bytes()).unwrap();
        }
        assert_eq!(u.root().commands_description(), "-@all +get");
        let mut u = User::new(b"u");
        for r in ["allcommands", "-flushall", "+@read"] {
            u.apply(r.as_bytes()).unwrap();
        }
        assert_eq!(u.root().commands_description(), "+@all -flushall");
    }

    #[test]
    fn selector_arguments_are_grouped() {
        let args: Vec<&[u8]> = vec![b"on", b"(~a", b"+get)", b"()", b"(+set)", b">p"];
        let merged = merge_selector_args(args.into_iter()).unwrap();
        let want: Vec<&[u8]> = vec![b"on", b"(~a +get)", b"()", b"(+set)", b">p"];
        assert_eq!(merged, want);
        let open: Vec<&[u8]> = vec![b"(~a", b"+get"];
        assert_eq!(
            merge_selector_args(open.into_iter()).unwrap_err(),
            b"(~a +get"
        );
        assert_eq!(
            merge_selector_args([b"(".as_slice()].into_iter()).unwrap_err(),
            b"("
        );
    }

    #[test]
    fn first_argument_rules() {
        let mut u = User::new(b"u");
        u.apply(b"+select|0").unwrap();
        u.apply(b"+SELECT|0").unwrap();
        assert_eq!(u.root().commands_description(), "-@all +select|0");
        assert_eq!(u.apply(b"-select|0"), Err(ERR_UNKNOWN_COMMAND));
        assert_eq!(
            u.apply(b"+config|get|x"),
            Err("Allowing first-arg of a subcommand is not supported")
        );
        u.apply(b"+select").unwrap();
        assert_eq!(u.root().commands_description(), "-@all +select");
    }

    #[test]
    fn protected_mode_decision() {
        let ext: std::net::IpAddr = "10.1.2.3".parse().unwrap();
        let lo: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        let lo6: std::net::IpAddr = "::1".parse().unwrap();
        let mapped: std::net::IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert!(protected_mode_denies(true, true, ext));
        assert!(!protected_mode_denies(true, true, lo));
        assert!(!protected_mode_denies(true, true, lo6));
        assert!(!protected_mode_denies(true, true, mapped));
        assert!(!protected_mode_denies(false, true, ext));
        assert!(!protected_mode_denies(true, false, ext));
    }

    #[test]
    fn passwords_are_digests() {
        let mut u = User::new(b"u");
        u.apply(b">pw").unwrap();
        assert!(u.check_password(b"pw"));
        assert!(!u.check_password(b"px"));
        assert!(!u.describe().contains("pw "));
    }
}
