//! Access control: ACL users, their rules, and the permission check the
//! dispatcher runs before a command.
//!
//! Owns: the user registry ([`Acl`]), each [`User`] (passwords as SHA-256,
//! command bitmap, key and channel patterns), rule parsing (ACL SETUSER
//! syntax), the description Redis prints (ACL LIST / GETUSER), and the
//! ACL LOG of denials.
//!
//! Must never: keep a clear-text password (only SHA-256 digests are
//! stored; logs and LIST/GETUSER show digests), or cost more than one
//! branch per command while every user is unrestricted
//! ([`Acl::restricted`] is false then).
//!
//! Invariants: the `default` user always exists; `User::unrestricted` is
//! true exactly when every command, key and channel is allowed;
//! `Acl::restricted` is true when any user is not unrestricted.

use crate::acl_categories::{CATEGORIES, COMMAND_CATEGORIES};
use crate::commands::table::{ids, Command, COMMANDS};
use crate::commands::{lookup, Argv};
use crate::glob::glob_match;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

pub type UserRef = Rc<RefCell<User>>;

/// ACL LOG keeps at most this many entries (Redis's acllog-max-len default).
pub const LOG_MAX_LEN: usize = 128;
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

#[derive(Clone)]
pub struct User {
    pub name: Vec<u8>,
    pub enabled: bool,
    pub nopass: bool,
    /// sanitize-payload (Some(true)) / skip-sanitize-payload (Some(false)):
    /// recorded and reported only (no RESTORE here to sanitize).
    sanitize: Option<bool>,
    passwords: Vec<[u8; 32]>,
    allowed: Vec<u64>,
    /// Base of the description: `+@all` (true) or `-@all`.
    all_base: bool,
    /// Command rules in effect after the base, as Redis describes them.
    rules: Vec<String>,
    all_keys: bool,
    keys: Vec<(KeyPerm, Vec<u8>)>,
    all_channels: bool,
    channels: Vec<Vec<u8>>,
    pub unrestricted: bool,
}

/// Why a check failed (ACL LOG `reason`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
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
            allowed: vec![0; ids().total.div_ceil(64)],
            all_base: false,
            rules: Vec::new(),
            all_keys: false,
            keys: Vec::new(),
            all_channels: false,
            channels: Vec::new(),
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

    fn bit(&self, id: usize) -> bool {
        self.allowed[id / 64] & (1 << (id % 64)) != 0
    }

    fn set_bit(bits: &mut [u64], id: usize, on: bool) {
        if on {
            bits[id / 64] |= 1 << (id % 64);
        } else {
            bits[id / 64] &= !(1 << (id % 64));
        }
    }

    fn refresh(&mut self) {
        let total = ids().total;
        let all_cmds = (0..total).all(|i| self.bit(i));
        self.unrestricted = all_cmds && self.all_keys && self.all_channels;
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
            let (i, c) = lookup(parent.as_bytes())?;
            let j = c
                .subcommands
                .iter()
                .position(|s| s.name.eq_ignore_ascii_case(sub))?;
            return Some(vec![ids.sub_base[i] + j]);
        }
        let (i, c) = lookup(word.as_bytes())?;
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
                Self::set_bit(&mut bits, i, true);
            }
        }
        for r in rules {
            let on = r.starts_with('+');
            if let Some(t) = Self::rule_targets(&r[1..]) {
                for id in t {
                    Self::set_bit(&mut bits, id, on);
                }
            }
        }
        bits
    }

    /// Apply a command rule (`+x`/`-x`, x a command or `@category`) and
    /// update the description as Redis 7.0 does: drop earlier rules it
    /// supersedes, and record it only if it changes what the remaining
    /// description allows.
    fn command_rule(&mut self, on: bool, word: &str) -> Result<(), &'static str> {
        let word = word.to_ascii_lowercase();
        let unknown = "Unknown command or category name in ACL";
        if word == "@all" {
            self.all_base = on;
            self.rules.clear();
            let targets = Self::rule_targets(&word).ok_or(unknown)?;
            for id in targets {
                Self::set_bit(&mut self.allowed, id, on);
            }
            return Ok(());
        }
        let targets = Self::rule_targets(&word).ok_or(unknown)?;
        if self.rules.len() >= MAX_RULES {
            return Err("Too many rules");
        }
        for &id in &targets {
            Self::set_bit(&mut self.allowed, id, on);
        }
        // Earlier rules this one supersedes: the same word, and for a
        // category, the commands it contains.
        let covered: Vec<usize> = targets.clone();
        self.rules.retain(|r| {
            let w = &r[1..];
            if w == word {
                return false;
            }
            if word.starts_with('@') && !w.starts_with('@') {
                if let Some(t) = Self::rule_targets(w) {
                    return !t.iter().all(|id| covered.contains(id));
                }
            }
            true
        });
        if Self::replay(self.all_base, &self.rules) != self.allowed {
            self.rules
                .push(format!("{}{}", if on { '+' } else { '-' }, word));
        }
        Ok(())
    }

    /// Apply one ACL SETUSER rule; the error is Redis's reason text.
    pub fn apply(&mut self, rule: &[u8]) -> Result<(), &'static str> {
        let s = String::from_utf8_lossy(rule);
        let lower = s.to_ascii_lowercase();
        match lower.as_str() {
            "on" => self.enabled = true,
            "off" => self.enabled = false,
            "nopass" => {
                self.nopass = true;
                self.passwords.clear();
            }
            "sanitize-payload" => self.sanitize = Some(true),
            "skip-sanitize-payload" => self.sanitize = Some(false),
            "resetpass" => {
                self.nopass = false;
                self.passwords.clear();
            }
            "allkeys" | "~*" => {
                self.all_keys = true;
                self.keys.clear();
            }
            "resetkeys" => {
                self.all_keys = false;
                self.keys.clear();
            }
            "allchannels" | "&*" => {
                self.all_channels = true;
                self.channels.clear();
            }
            "resetchannels" => {
                self.all_channels = false;
                self.channels.clear();
            }
            "allcommands" => self.command_rule(true, "@all")?,
            "nocommands" => self.command_rule(false, "@all")?,
            "reset" => {
                let name = std::mem::take(&mut self.name);
                *self = User::new(&name);
                self.sanitize = Some(true);
            }
            _ => {
                let first = rule.first().copied().unwrap_or(0);
                let rest = &rule[1.min(rule.len())..];
                match first {
                    b'>' => {
                        let d = sha256(rest);
                        if !self.passwords.contains(&d) {
                            if self.passwords.len() >= MAX_ITEMS {
                                return Err("Too many passwords");
                            }
                            self.passwords.push(d);
                        }
                        self.nopass = false;
                    }
                    b'<' => {
                        let d = sha256(rest);
                        self.passwords.retain(|p| *p != d);
                        self.nopass = false;
                    }
                    b'#' => {
                        let d = unhex(rest).ok_or("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")?;
                        if !self.passwords.contains(&d) {
                            if self.passwords.len() >= MAX_ITEMS {
                                return Err("Too many passwords");
                            }
                            self.passwords.push(d);
                        }
                        self.nopass = false;
                    }
                    b'!' => {
                        let d = unhex(rest).ok_or("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")?;
                        if !self.passwords.contains(&d) {
                            return Err("The password you are trying to remove from the user does not exist");
                        }
                        self.passwords.retain(|p| *p != d);
                        self.nopass = false;
                    }
                    b'~' => self.add_key_pattern(KeyPerm::ReadWrite, rest)?,
                    b'%' => {
                        let tilde = rest.iter().position(|&b| b == b'~').ok_or("Syntax error")?;
                        let flags = &rest[..tilde];
                        let (mut r, mut w) = (false, false);
                        for &f in flags {
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
                            return Err("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels");
                        }
                        if !self.channels.iter().any(|c| c == rest) {
                            if self.channels.len() >= MAX_ITEMS {
                                return Err("Too many patterns");
                            }
                            self.channels.push(rest.to_vec());
                        }
                    }
                    b'+' | b'-' => {
                        let word = std::str::from_utf8(rest)
                            .map_err(|_| "Unknown command or category name in ACL")?;
                        self.command_rule(first == b'+', word)?;
                    }
                    _ => return Err("Syntax error"),
                }
            }
        }
        self.refresh();
        Ok(())
    }

    fn add_key_pattern(&mut self, perm: KeyPerm, pat: &[u8]) -> Result<(), &'static str> {
        if self.all_keys {
            return Err("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns");
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

    pub fn commands_description(&self) -> String {
        let mut s = String::from(if self.all_base { "+@all" } else { "-@all" });
        for r in &self.rules {
            s.push(' ');
            s.push_str(r);
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
        let keys = self.keys_description();
        if !keys.is_empty() {
            s.push(' ');
            s.push_str(&keys);
        }
        if !self.all_channels {
            s.push_str(" resetchannels");
        }
        let ch = self.channels_description();
        if !ch.is_empty() {
            s.push(' ');
            s.push_str(&ch);
        }
        s.push(' ');
        s.push_str(&self.commands_description());
        s
    }

    fn key_ok(&self, key: &[u8], need: KeyPerm) -> bool {
        self.all_keys
            || self.keys.iter().any(|(perm, p)| {
                (*perm == KeyPerm::ReadWrite || *perm == need) && glob_match(p, key, false)
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

    /// The full check for a restricted user: command bit, keys, channels.
    pub fn check(&self, idx: usize, cmd: &Command, argv: &Argv) -> Result<(), Denied> {
        let id = ids().of(idx, cmd, argv);
        // AUTH and HELLO (no_auth) are open to every user, as in Redis.
        if !self.bit(id) && cmd.flags & crate::commands::table::NO_AUTH == 0 {
            return Err(Denied::Command);
        }
        if !self.all_keys && cmd.first_key > 0 {
            let need = if cmd.flags & crate::commands::table::WRITE != 0 {
                KeyPerm::Write
            } else {
                KeyPerm::Read
            };
            for i in key_positions(cmd, argv.len()) {
                if !self.key_ok(argv.get(i), need) {
                    return Err(Denied::Key(i));
                }
            }
        }
        if !self.all_channels {
            let (from, literal) = match cmd.name {
                "publish" => (1..2.min(argv.len()), false),
                "subscribe" => (1..argv.len(), false),
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

    pub fn add_log(&mut self, mut e: LogEntry) {
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
        self.log.truncate(LOG_MAX_LEN);
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
        for rule in &words[2..] {
            if let Err(why) = u.apply(rule.as_bytes()) {
                errors.push_str(&format!(
                    "{path}:{n}: Error in applying operation '{rule}': {why}. "
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
        assert_eq!(u.commands_description(), "-@all +@read");
        let mut u = User::new(b"u");
        for r in ["+@read", "-@read", "+set", "+get", "-set"] {
            u.apply(r.as_bytes()).unwrap();
        }
        assert_eq!(u.commands_description(), "-@all +get");
        let mut u = User::new(b"u");
        for r in ["allcommands", "-flushall", "+@read"] {
            u.apply(r.as_bytes()).unwrap();
        }
        assert_eq!(u.commands_description(), "+@all -flushall");
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
