//! Keyspace notifications (notify-keyspace-events): the event classes, the
//! flag string syntax, and the queue of events raised by the current
//! command.
//!
//! Owns: parsing and printing the flags exactly as Redis does, and
//! [`Notifier`], which commands and the keyspace call with a class, an
//! event name and a key. Events are queued while a command runs and
//! published by the dispatcher right after it, as pub/sub messages on
//! `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>`.
//!
//! Must never: allocate when notifications are off (the flag check comes
//! first), or publish from inside the keyspace (it cannot see clients).

pub const KEYSPACE: u32 = 1 << 0; // K
pub const KEYEVENT: u32 = 1 << 1; // E
pub const GENERIC: u32 = 1 << 2; // g
pub const STRING: u32 = 1 << 3; // $
pub const LIST: u32 = 1 << 4; // l
pub const SET: u32 = 1 << 5; // s
pub const HASH: u32 = 1 << 6; // h
pub const ZSET: u32 = 1 << 7; // z
pub const EXPIRED: u32 = 1 << 8; // x
pub const EVICTED: u32 = 1 << 9; // e
pub const STREAM: u32 = 1 << 10; // t
pub const KEY_MISS: u32 = 1 << 11; // m (not part of A)
pub const LOADED: u32 = 1 << 12; // module "loaded" events
pub const MODULE: u32 = 1 << 13; // d
pub const NEW: u32 = 1 << 14; // n (not part of A)
/// 'A': every class except key-miss and new-key events.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// Parse a flags string; None if it has an unknown character.
pub fn parse_flags(s: &str) -> Option<u32> {
    let mut flags = 0;
    for ch in s.chars() {
        flags |= match ch {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// Print flags in Redis's canonical order (what CONFIG GET shows).
pub fn flags_to_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (bit, ch) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
        ] {
            if flags & bit != 0 {
                s.push(ch);
            }
        }
    }
    // 'n' is not part of 'A', so it must survive next to it: the stored
    // string is parsed back into flags.
    if flags & NEW != 0 {
        s.push('n');
    }
    if flags & KEYSPACE != 0 {
        s.push('K');
    }
    if flags & KEYEVENT != 0 {
        s.push('E');
    }
    if flags & KEY_MISS != 0 {
        s.push('m');
    }
    s
}

/// One event raised by a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub db: usize,
    pub event: &'static str,
    pub key: Vec<u8>,
}

/// The queue of events of the running command.
#[derive(Debug, Default)]
pub struct Notifier {
    pub flags: u32,
    pub pending: Vec<Event>,
}

impl Notifier {
    /// Raise `event` of `class` on `key`; a no-op unless configured.
    pub fn notify(&mut self, class: u32, event: &'static str, db: usize, key: &[u8]) {
        if self.flags & class == 0 || self.flags & (KEYSPACE | KEYEVENT) == 0 {
            return;
        }
        self.pending.push(Event {
            db,
            event,
            key: key.to_vec(),
        });
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_in_redis_order() {
        assert_eq!(flags_to_string(parse_flags("KEA").unwrap()), "AKE");
        assert_eq!(flags_to_string(parse_flags("Egx$").unwrap()), "g$xE");
        assert_eq!(flags_to_string(parse_flags("").unwrap()), "");
        assert_eq!(parse_flags("KQ"), None);
        assert_eq!(flags_to_string(parse_flags("Am").unwrap()), "Am");
        assert_eq!(flags_to_string(parse_flags("KEAn").unwrap()), "AnKE");
    }

    #[test]
    fn notify_respects_classes() {
        let mut n = Notifier {
            flags: parse_flags("E$").unwrap(),
            pending: Vec::new(),
        };
        n.notify(GENERIC, "del", 0, b"k");
        assert!(!n.has_pending());
        n.notify(STRING, "set", 0, b"k");
        assert_eq!(n.pending.len(), 1);
        let mut off = Notifier {
            flags: parse_flags("$").unwrap(),
            pending: Vec::new(),
        };
        off.notify(STRING, "set", 0, b"k");
        assert!(!off.has_pending(), "no K or E: nothing is published");
    }
}
