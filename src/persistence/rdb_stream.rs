//! The RDB form of a stream: written as Redis 7.0 writes it (type 19,
//! `RDB_TYPE_STREAM_LISTPACKS_2`), read in that form and in Redis 5/6's
//! (type 15) and Redis 7.2's (type 21).
//!
//! Layout (every number an RDB length unless said otherwise):
//! - the nodes: their count, then per node its master ID (a 16-byte
//!   big-endian string) and a listpack (a string) holding the node's
//!   entries in Redis's stream-node layout:
//!   `count deleted n-master-fields field... 0` (the master entry), then
//!   per entry `flags ms-delta seq-delta [n-fields field value...] |
//!   [value...] lp-count`, where flags bit 0 marks a deleted entry, bit 1
//!   an entry whose fields are the master's (only its values follow),
//!   the deltas are from the master ID (two's complement, wrapping), and
//!   lp-count is the entry's element count minus one (for walking back);
//! - length, last ID (ms, seq); type 19/21 only: first ID, max deleted
//!   ID, entries added;
//! - the consumer groups: count, then per group its name, last ID,
//!   (type 19/21) entries read (`u64::MAX` for "unknown"), its PEL
//!   (count, then raw 16-byte IDs, each with an 8-byte LE delivery time
//!   and a delivery count), its consumers (count, then name, 8-byte LE
//!   seen time, (type 21) 8-byte LE active time, and its PEL as raw IDs).
//!
//! Owns: [`write_stream`] and [`read_stream`], nothing else. We write
//! the nodes of the stream's node model (`types/stream/node.rs`: the
//! boundaries Redis's stream-node-max-* would give), never a deleted
//! entry, with the same-fields flag where an entry's fields are its
//! node's first entry's. The loader rebuilds the model from the image's
//! own nodes, tombstones included, so node boundaries survive a round
//! trip through redis-server too.
//!
//! Must never: trust a count (every loop is bounded by the bytes left,
//! every allocation by what was read), panic on any input, or build a
//! value that breaks the stream's invariants. A stream is refused when a
//! node is not a valid listpack or not a valid stream node (counts that
//! disagree with its entries, a wrong lp-count, an entry without fields,
//! unknown flags), when its IDs do not strictly increase, when the length
//! is not the number of live entries, the last ID is below an entry or
//! the max deleted ID, entries-added is below the length, or a group's
//! PEL and its consumers disagree (a duplicate ID or name, a consumer's ID
//! missing from the group PEL or owned twice, a group PEL entry without a
//! consumer). Redis writes none of these; checking them always is what
//! lets the stream code assume its invariants after a RESTORE.
//!
//! What a type 15 value lacks is derived as Redis 7.0 derives it on load:
//! max deleted ID 0-0, entries added = length, first ID = the first entry
//! (`u64::MAX-u64::MAX` for an empty stream, as Redis's edge lookup
//! gives), and each group's entries-read estimated from its last ID.

use super::listpack::{self, Elem};
use super::rdb::{bad, put_len, put_str, Compression, Reader};
use crate::types::stream::{
    Consumer, ConsumerGroup, Entry, EntryId, EntryRef, PendingEntry, StreamId,
};
use crate::types::{CompactBytes, StreamValue};
use std::collections::BTreeSet;
use std::io::{self, Write};

pub const TYPE_STREAM_LISTPACKS: u8 = 15;
pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;
pub const TYPE_STREAM_LISTPACKS_3: u8 = 21;

/// Redis's stream-node-max-entries default: a stream built with the
/// default limits has nodes of at most this many entries.
pub const NODE_MAX_ENTRIES: usize = 100;
/// Redis's stream-node-max-bytes default (a node's listpack stops growing
/// past it; a single bigger entry gets a node of its own).
pub const NODE_MAX_BYTES: usize = 4096;

const FLAG_DELETED: i64 = 1;
const FLAG_SAME_FIELDS: i64 = 2;

// ---------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------

/// Decides where nodes end: fed the entries in order, says whether an
/// entry starts a new node. Nodes follow the stream's node model (the
/// listpack boundaries Redis would have, `StreamValue::node_masters`), so
/// a stream loaded back, here or by redis-server, trims approximately
/// and counts its radix-tree keys as before; a node whose entries are all
/// deleted is not written. Both passes of the writer use it, so the node
/// count written first is the count of nodes that follow.
struct NodeCut {
    masters: Vec<StreamId>,
    /// Index in `masters` of the next boundary not yet reached.
    next: usize,
    started: bool,
}

impl NodeCut {
    fn new(s: &StreamValue) -> NodeCut {
        NodeCut {
            masters: s.node_masters().collect(),
            next: 0,
            started: false,
        }
    }

    fn starts_node(&mut self, id: StreamId) -> bool {
        let mut crossed = !self.started;
        self.started = true;
        while self.masters.get(self.next).is_some_and(|&m| m <= id) {
            self.next += 1;
            crossed = true;
        }
        crossed
    }
}

/// Write `s` as type 19 (the type byte is the caller's).
///
/// Streams its output: one node (its entry views and one listpack)
/// is held at a time, so a saving child needs no copy of a large stream.
pub(super) fn write_stream<W: Write>(
    out: &mut W,
    s: &StreamValue,
    c: Compression,
) -> io::Result<()> {
    let mut cut = NodeCut::new(s);
    let nodes = s.iter().filter(|(id, _)| cut.starts_node(**id)).count();
    put_len(out, nodes as u64)?;
    let mut cut = NodeCut::new(s);
    let mut node: Vec<(EntryId, EntryRef)> = Vec::new();
    for (id, e) in s.iter() {
        if cut.starts_node(*id) && !node.is_empty() {
            write_node(out, &node, c)?;
            node.clear();
        }
        node.push((id, e));
    }
    if !node.is_empty() {
        write_node(out, &node, c)?;
    }
    put_len(out, s.len() as u64)?;
    put_id(out, s.last_id)?;
    put_id(out, s.first_id)?;
    put_id(out, s.max_deleted_id)?;
    put_len(out, s.entries_added)?;
    put_len(out, s.groups.len() as u64)?;
    for (name, g) in &s.groups {
        put_str(out, name.as_bytes(), c)?;
        put_id(out, g.last_id)?;
        put_len(out, g.entries_read.unwrap_or(u64::MAX))?;
        put_len(out, g.pel.len() as u64)?;
        for (id, p) in &g.pel {
            out.write_all(&id.to_be_bytes())?;
            out.write_all(&p.delivery_time.to_le_bytes())?;
            put_len(out, p.delivery_count)?;
        }
        put_len(out, g.consumers.len() as u64)?;
        for (name, consumer) in &g.consumers {
            put_str(out, name.as_bytes(), c)?;
            out.write_all(&consumer.seen_time.to_le_bytes())?;
            put_len(out, consumer.pel.len() as u64)?;
            for id in &consumer.pel {
                out.write_all(&id.to_be_bytes())?;
            }
        }
    }
    Ok(())
}

fn put_id<W: Write>(out: &mut W, id: StreamId) -> io::Result<()> {
    put_len(out, id.ms)?;
    put_len(out, id.seq)
}

/// One node: its master ID (the first entry's) and its listpack.
fn write_node<W: Write>(
    out: &mut W,
    node: &[(EntryId, EntryRef)],
    c: Compression,
) -> io::Result<()> {
    let (EntryId(master), first) = node[0];
    let master_fields: Vec<&[u8]> = first.pairs().map(|(f, _)| f).collect();
    let mut lp = listpack::Writer::new();
    lp.push_int(node.len() as i64);
    lp.push_int(0); // deleted
    lp.push_int(master_fields.len() as i64);
    for f in &master_fields {
        lp.push_str(f);
    }
    lp.push_int(0); // the master entry's terminator (its lp-count)
    for &(EntryId(id), e) in node {
        let same = e.pair_count() == master_fields.len()
            && e.pairs().zip(&master_fields).all(|((f, _), m)| f == *m);
        // Deltas wrap as Redis's int64 arithmetic does; the reader adds
        // them back with the same wrapping.
        let ms_delta = id.ms.wrapping_sub(master.ms) as i64;
        let seq_delta = id.seq.wrapping_sub(master.seq) as i64;
        lp.push_int(if same { FLAG_SAME_FIELDS } else { 0 });
        lp.push_int(ms_delta);
        lp.push_int(seq_delta);
        let lp_count = if same {
            for (_, v) in e.pairs() {
                lp.push_str(v);
            }
            e.pair_count() + 3
        } else {
            lp.push_int(e.pair_count() as i64);
            for s in e.strings() {
                lp.push_str(s);
            }
            2 * e.pair_count() + 4
        };
        lp.push_int(lp_count as i64);
    }
    let lp = lp
        .finish()
        .ok_or_else(|| io::Error::other("stream entry too large for a listpack (4 GiB)"))?;
    put_str(out, &master.to_be_bytes(), c)?;
    put_str(out, &lp, c)
}

// ---------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------

/// Read a stream value of type `t` (15, 19 or 21).
pub(super) fn read_stream(r: &mut Reader, t: u8) -> io::Result<StreamValue> {
    let at = r.pos;
    let mut s = StreamValue::new();
    let nodes = r.count()?;
    let mut last_node: Option<StreamId> = None;
    let mut last_entry: Option<StreamId> = None;
    for _ in 0..nodes {
        let key_at = r.pos;
        let key = r.string()?;
        let key: &[u8; 16] = key
            .as_slice()
            .try_into()
            .map_err(|_| bad(key_at, "stream node key is not a stream ID"))?;
        let master = StreamId::from_be_bytes(key);
        if last_node.is_some_and(|l| master <= l) {
            return Err(bad(key_at, "stream node keys out of order"));
        }
        last_node = Some(master);
        let lp_at = r.pos;
        let lp = r.string()?;
        read_node(&lp, master, &mut last_entry, &mut s)
            .map_err(|what| bad(lp_at, &format!("invalid stream node: {what}")))?;
    }
    let length = r.len()?;
    s.last_id = read_id(r)?;
    let meta_at = r.pos;
    if t == TYPE_STREAM_LISTPACKS {
        s.max_deleted_id = StreamId::MIN;
        s.entries_added = length;
        s.first_id = s.first_entry().map_or(StreamId::MAX, |(id, _)| *id);
    } else {
        s.first_id = read_id(r)?;
        s.max_deleted_id = read_id(r)?;
        s.entries_added = r.len()?;
    }
    if length != s.len() as u64 {
        return Err(bad(at, "stream length differs from its entries"));
    }
    // Only live entries must be at or below the last ID: XSETID (Redis
    // 7.0's too) may lower it below deleted entries still in a node and
    // below the max deleted ID, and such a stream is saved as it is.
    if s.last_entry().is_some_and(|(l, _)| *l > s.last_id) {
        return Err(bad(meta_at, "stream last ID below an entry"));
    }
    if s.entries_added < length {
        return Err(bad(meta_at, "stream entries-added below its length"));
    }
    let groups = r.count()?;
    for _ in 0..groups {
        let name_at = r.pos;
        let name = r.string()?;
        let last_id = read_id(r)?;
        let entries_read = if t == TYPE_STREAM_LISTPACKS {
            s.estimate_entries_read(last_id)
        } else {
            Some(r.len()?).filter(|&n| n != u64::MAX)
        };
        let group = read_group(r, t, last_id, entries_read)?;
        if s.groups
            .insert(CompactBytes::from_vec(name), group)
            .is_some()
        {
            return Err(bad(name_at, "duplicate consumer group name"));
        }
    }
    Ok(s)
}

fn read_id(r: &mut Reader) -> io::Result<StreamId> {
    Ok(StreamId::new(r.len()?, r.len()?))
}

fn read_raw_id(r: &mut Reader) -> io::Result<StreamId> {
    let b: &[u8; 16] = r.take(16)?.try_into().expect("took 16 bytes");
    Ok(StreamId::from_be_bytes(b))
}

fn read_ms_time(r: &mut Reader) -> io::Result<i64> {
    let b: [u8; 8] = r.take(8)?.try_into().expect("took 8 bytes");
    Ok(i64::from_le_bytes(b))
}

/// One group's PEL and consumers.
fn read_group(
    r: &mut Reader,
    t: u8,
    last_id: StreamId,
    entries_read: Option<u64>,
) -> io::Result<ConsumerGroup> {
    let mut g = ConsumerGroup::new(last_id, entries_read);
    let pel_at = r.pos;
    for _ in 0..r.count()? {
        let id = read_raw_id(r)?;
        let delivery_time = read_ms_time(r)?;
        let delivery_count = r.len()?;
        let entry = PendingEntry {
            delivery_time,
            delivery_count,
            // Filled in by the consumer that owns it, below.
            consumer: CompactBytes::new(b""),
        };
        if g.pel.insert(id, entry).is_some() {
            return Err(bad(pel_at, "duplicate consumer group PEL entry"));
        }
    }
    let mut owned: BTreeSet<StreamId> = BTreeSet::new();
    for _ in 0..r.count()? {
        let name_at = r.pos;
        let name = CompactBytes::from_vec(r.string()?);
        let seen_time = read_ms_time(r)?;
        if t == TYPE_STREAM_LISTPACKS_3 {
            // Redis 7.2's active time: 7.0's consumers have no such field.
            read_ms_time(r)?;
        }
        let mut consumer = Consumer {
            seen_time,
            pel: BTreeSet::new(),
        };
        for _ in 0..r.count()? {
            let id_at = r.pos;
            let id = read_raw_id(r)?;
            let Some(entry) = g.pel.get_mut(&id) else {
                return Err(bad(id_at, "consumer PEL entry not in the group PEL"));
            };
            if !owned.insert(id) {
                return Err(bad(id_at, "PEL entry owned by two consumers"));
            }
            entry.consumer = name.clone();
            consumer.pel.insert(id);
        }
        if g.consumers.insert(name, consumer).is_some() {
            return Err(bad(name_at, "duplicate consumer name"));
        }
    }
    if owned.len() != g.pel.len() {
        return Err(bad(pel_at, "consumer group PEL entry without a consumer"));
    }
    Ok(g)
}

/// Decode one node's listpack into `s`; `last` is the ID of the live
/// entry before it (live IDs must strictly increase across nodes too). The error says
/// what is wrong (the caller adds the offset).
fn read_node(
    lp: &[u8],
    master: StreamId,
    last: &mut Option<StreamId>,
    s: &mut StreamValue,
) -> Result<(), &'static str> {
    let elems = listpack::parse(lp).ok_or("not a valid listpack")?;
    // This listpack is a node of its own in the stream's node model.
    s.load_node_boundary();
    let mut it = elems.iter();
    fn int(it: &mut std::slice::Iter<Elem>) -> Result<i64, &'static str> {
        it.next()
            .ok_or("truncated")?
            .as_int()
            .ok_or("integer expected")
    }
    let live_claimed = int(&mut it)?;
    let deleted_claimed = int(&mut it)?;
    let n_master = usize::try_from(int(&mut it)?).map_err(|_| "negative field count")?;
    if n_master > it.len() {
        return Err("master field count past the node");
    }
    let master_fields: Vec<Elem> = it.by_ref().take(n_master).copied().collect();
    if int(&mut it)? != 0 {
        return Err("master entry not terminated by 0");
    }
    let (mut live, mut deleted) = (0i64, 0i64);
    while it.len() > 0 {
        let flags = int(&mut it)?;
        if flags & !(FLAG_DELETED | FLAG_SAME_FIELDS) != 0 {
            return Err("unknown entry flags");
        }
        let ms = master.ms.wrapping_add(int(&mut it)? as u64);
        let seq = master.seq.wrapping_add(int(&mut it)? as u64);
        let id = StreamId::new(ms, seq);
        // Live entries strictly increase. A deleted one may be out of
        // order: after XSETID lowered the last ID below it, Redis appends
        // smaller IDs after it in the same listpack.
        if flags & FLAG_DELETED == 0 {
            if last.is_some_and(|l| id <= l) {
                return Err("entry IDs do not increase");
            }
            *last = Some(id);
        }
        let mut strings: Vec<Vec<u8>> = Vec::new();
        let expected_count = if flags & FLAG_SAME_FIELDS != 0 {
            if it.len() < n_master {
                return Err("entry values past the node");
            }
            for f in &master_fields {
                strings.push(f.to_vec());
                strings.push(it.next().ok_or("truncated")?.to_vec());
            }
            n_master + 3
        } else {
            let n = usize::try_from(int(&mut it)?).map_err(|_| "negative field count")?;
            if n > it.len() / 2 {
                return Err("entry fields past the node");
            }
            for _ in 0..2 * n {
                strings.push(it.next().ok_or("truncated")?.to_vec());
            }
            2 * n + 4
        };
        if strings.is_empty() {
            return Err("entry without fields");
        }
        if int(&mut it)? != expected_count as i64 {
            return Err("wrong lp-count");
        }
        if flags & FLAG_DELETED != 0 {
            deleted += 1;
            // A tombstone still fills its node, as in Redis.
            s.load_deleted_entry(id, &Entry::new(&strings));
        } else {
            live += 1;
            s.load_entry(id, Entry::new(&strings));
        }
    }
    if live != live_claimed || deleted != deleted_claimed {
        return Err("entry counts differ from the master entry");
    }
    Ok(())
}

/// Entries as a test sees them: (id, strings).
#[cfg(test)]
fn entries(s: &StreamValue) -> Vec<(StreamId, Vec<Vec<u8>>)> {
    s.iter()
        .map(|(id, e)| (*id, e.strings().map(|x| x.to_vec()).collect()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8], t: u8) -> io::Result<StreamValue> {
        let mut r = Reader {
            data: bytes,
            pos: 0,
        };
        let s = read_stream(&mut r, t)?;
        assert_eq!(r.pos, bytes.len(), "not all bytes read");
        Ok(s)
    }

    fn write(s: &StreamValue) -> Vec<u8> {
        let mut out = Vec::new();
        write_stream(&mut out, s, Compression::Off).unwrap();
        out
    }

    /// A stream with several nodes (by count and by size), field sets that
    /// change, integers, empty strings, and two groups with consumers.
    fn sample() -> StreamValue {
        let mut s = StreamValue::new();
        for i in 0..250u64 {
            let id = StreamId::new(1000 + i / 3, i % 3);
            let v = i.to_string();
            let e = match i % 7 {
                0 => Entry::new(&[&b"other"[..], b""]),
                5 => Entry::new(&[&b"f"[..], &vec![b'x'; 3000], b"g", v.as_bytes()]),
                _ => Entry::new(&[&b"f"[..], v.as_bytes(), b"g", b"-17"]),
            };
            s.append(id, e);
        }
        s.delete(&StreamId::new(1000, 0));
        s.delete(&StreamId::new(1010, 1));
        s.entries_added = 260;
        let mut g = ConsumerGroup::new(StreamId::new(1005, 2), Some(17));
        for (i, id) in [
            StreamId::new(1000, 0),
            StreamId::new(1003, 1),
            StreamId::new(5, 5),
        ]
        .into_iter()
        .enumerate()
        {
            let who = if i == 1 { "bob" } else { "alice" };
            g.pel.insert(
                id,
                PendingEntry {
                    delivery_time: 1_700_000_000_000 + i as i64,
                    delivery_count: i as u64 + 1,
                    consumer: CompactBytes::new(who.as_bytes()),
                },
            );
            g.consumers
                .entry(CompactBytes::new(who.as_bytes()))
                .or_default()
                .pel
                .insert(id);
        }
        g.consumers
            .insert(CompactBytes::new(b"idle"), Consumer::default());
        s.groups.insert(CompactBytes::new(b"g1"), g);
        s.groups.insert(
            CompactBytes::new(b"g2"),
            ConsumerGroup::new(StreamId::MAX, None),
        );
        s
    }

    fn same(a: &StreamValue, b: &StreamValue) {
        assert_eq!(entries(a), entries(b));
        assert_eq!(
            (a.last_id, a.first_id, a.max_deleted_id, a.entries_added),
            (b.last_id, b.first_id, b.max_deleted_id, b.entries_added)
        );
        assert_eq!(a.groups, b.groups);
    }

    #[test]
    fn write_then_read_gives_the_same_stream() {
        let s = sample();
        let bytes = write(&s);
        let back = read(&bytes, TYPE_STREAM_LISTPACKS_2).unwrap();
        same(&s, &back);
        assert_eq!(write(&back), bytes);
        // Empty streams too (with and without groups).
        let mut e = StreamValue::new();
        same(&e, &read(&write(&e), TYPE_STREAM_LISTPACKS_2).unwrap());
        e.last_id = StreamId::new(7, 1);
        e.entries_added = 3;
        e.groups.insert(
            CompactBytes::new(b"g"),
            ConsumerGroup::new(StreamId::MIN, None),
        );
        same(&e, &read(&write(&e), TYPE_STREAM_LISTPACKS_2).unwrap());
    }

    #[test]
    fn nodes_are_cut_by_count_and_size() {
        let s = sample();
        let bytes = write(&s);
        let mut r = Reader {
            data: &bytes,
            pos: 0,
        };
        let nodes = r.count().unwrap();
        // 248 live entries, 1 in 7 carrying 3000 bytes: more nodes than
        // the count alone would make.
        assert!(nodes > 3, "{nodes} nodes");
        for _ in 0..nodes {
            assert_eq!(r.string().unwrap().len(), 16);
            let lp = r.string().unwrap();
            let elems = listpack::parse(&lp).unwrap();
            let count = elems[0].as_int().unwrap() as usize;
            assert!((1..=NODE_MAX_ENTRIES).contains(&count));
            assert!(
                count == 1 || lp.len() < NODE_MAX_BYTES + 3100,
                "{}",
                lp.len()
            );
        }
    }

    #[test]
    fn a_redis_payload_reads() {
        // What redis-server 7.0 writes for `XADD s 5-1 f v`, `XADD s 6-1
        // f v`, `XADD s 7-1 a 1`, `XDEL s 6-1` and a group g at 5-1 whose
        // consumer c owns 5-1 (the deleted entry stays in its node,
        // flagged).
        let mut body = vec![1u8];
        body.push(16);
        body.extend_from_slice(&StreamId::new(5, 1).to_be_bytes());
        // Assembled by hand; the integration tests check real payloads.
        let mut lp = listpack::Writer::new();
        for e in [
            Elem::Int(2),
            Elem::Int(1),
            Elem::Int(1),
            Elem::Str(b"f"),
            Elem::Int(0),
            // 5-1, same fields
            Elem::Int(2),
            Elem::Int(0),
            Elem::Int(0),
            Elem::Str(b"v"),
            Elem::Int(4),
            // 6-1 deleted
            Elem::Int(3),
            Elem::Int(1),
            Elem::Int(0),
            Elem::Str(b"v"),
            Elem::Int(4),
            // 7-1 own fields
            Elem::Int(0),
            Elem::Int(2),
            Elem::Int(0),
            Elem::Int(1),
            Elem::Str(b"a"),
            Elem::Int(1),
            Elem::Int(6),
        ] {
            match e {
                Elem::Int(v) => lp.push_int(v),
                Elem::Str(s) => lp.push_str(s),
            }
        }
        let lp = lp.finish().unwrap();
        put_str(&mut body, &lp, Compression::Off).unwrap();
        for n in [2u64, 7, 1, 5, 1, 6, 1, 3, 1] {
            put_len(&mut body, n).unwrap();
        }
        put_str(&mut body, b"g", Compression::Off).unwrap();
        for n in [5u64, 1, 1, 1] {
            put_len(&mut body, n).unwrap();
        }
        body.extend_from_slice(&StreamId::new(5, 1).to_be_bytes());
        body.extend_from_slice(&42i64.to_le_bytes());
        put_len(&mut body, 1).unwrap();
        put_len(&mut body, 1).unwrap();
        put_str(&mut body, b"c", Compression::Off).unwrap();
        body.extend_from_slice(&43i64.to_le_bytes());
        put_len(&mut body, 1).unwrap();
        body.extend_from_slice(&StreamId::new(5, 1).to_be_bytes());
        let s = read(&body, TYPE_STREAM_LISTPACKS_2).unwrap();
        assert_eq!(
            entries(&s),
            vec![
                (StreamId::new(5, 1), vec![b"f".to_vec(), b"v".to_vec()]),
                (StreamId::new(7, 1), vec![b"a".to_vec(), b"1".to_vec()]),
            ]
        );
        assert_eq!(s.max_deleted_id, StreamId::new(6, 1));
        assert_eq!(s.entries_added, 3);
        let g = &s.groups[&CompactBytes::new(b"g")];
        assert_eq!(g.entries_read, Some(1));
        assert_eq!(g.pel[&StreamId::new(5, 1)].consumer.as_bytes(), b"c");
        assert_eq!(g.consumers[&CompactBytes::new(b"c")].seen_time, 43);
        // Every truncation is refused; every flipped byte is refused or
        // gives a stream that writes and reads back the same.
        for n in 0..body.len() {
            let mut r = Reader {
                data: &body[..n],
                pos: 0,
            };
            assert!(read_stream(&mut r, TYPE_STREAM_LISTPACKS_2).is_err(), "{n}");
        }
        for i in 0..body.len() {
            for x in [0x01u8, 0x02, 0x80, 0xff] {
                let mut d = body.clone();
                d[i] ^= x;
                let mut r = Reader { data: &d, pos: 0 };
                if let Ok(s) = read_stream(&mut r, TYPE_STREAM_LISTPACKS_2) {
                    let again = read(&write(&s), TYPE_STREAM_LISTPACKS_2).unwrap();
                    same(&s, &again);
                }
            }
        }
    }

    /// Write `s` without the type-19 fields: a type 15 body.
    fn as_type_15(s: &StreamValue) -> Vec<u8> {
        let bytes = write(s);
        let mut r = Reader {
            data: &bytes,
            pos: 0,
        };
        let nodes = r.count().unwrap();
        for _ in 0..2 * nodes {
            r.string().unwrap();
        }
        let mut out = bytes[..r.pos].to_vec();
        put_len(&mut out, r.len().unwrap()).unwrap();
        put_id(&mut out, read_id(&mut r).unwrap()).unwrap();
        for _ in 0..5 {
            r.len().unwrap();
        }
        put_len(&mut out, s.groups.len() as u64).unwrap();
        r.len().unwrap();
        for _ in 0..s.groups.len() {
            put_str(&mut out, &r.string().unwrap(), Compression::Off).unwrap();
            put_id(&mut out, read_id(&mut r).unwrap()).unwrap();
            r.len().unwrap(); // entries read: not in type 15
            let rest_start = r.pos;
            // PEL and consumers are the same in both types.
            read_group(&mut r, TYPE_STREAM_LISTPACKS_2, StreamId::MIN, None).unwrap();
            out.extend_from_slice(&bytes[rest_start..r.pos]);
        }
        out
    }

    #[test]
    fn type_15_gets_redis_7_0s_derived_counters() {
        let mut s = sample();
        s.groups.insert(
            CompactBytes::new(b"at-first"),
            ConsumerGroup::new(StreamId::new(1000, 1), None),
        );
        s.groups.insert(
            CompactBytes::new(b"before"),
            ConsumerGroup::new(StreamId::new(3, 0), None),
        );
        s.groups.insert(
            CompactBytes::new(b"at-last"),
            ConsumerGroup::new(s.last_id, None),
        );
        let back = read(&as_type_15(&s), TYPE_STREAM_LISTPACKS).unwrap();
        assert_eq!(entries(&back), entries(&s));
        assert_eq!(back.entries_added, s.len() as u64);
        assert_eq!(back.max_deleted_id, StreamId::MIN);
        assert_eq!(back.first_id, StreamId::new(1000, 1));
        let read_of = |g: &[u8]| back.groups[&CompactBytes::new(g)].entries_read;
        assert_eq!(read_of(b"before"), Some(0));
        assert_eq!(read_of(b"at-first"), Some(1));
        assert_eq!(read_of(b"g1"), None); // between first and last
        assert_eq!(read_of(b"g2"), None); // past the last ID
        assert_eq!(read_of(b"at-last"), Some(s.len() as u64));
        // An empty type 15 stream: first ID is the max ID, as Redis 7.0
        // derives it; groups read 0.
        let mut e = StreamValue::new();
        e.groups.insert(
            CompactBytes::new(b"g"),
            ConsumerGroup::new(StreamId::MIN, None),
        );
        let back = read(&as_type_15(&e), TYPE_STREAM_LISTPACKS).unwrap();
        assert_eq!(back.first_id, StreamId::MAX);
        assert_eq!(back.groups[&CompactBytes::new(b"g")].entries_read, Some(0));
    }

    #[test]
    fn type_21_skips_the_active_time() {
        let s = sample();
        let bytes = write(&s);
        // Re-encode with an 8-byte active time after every seen time: the
        // consumer records are the only difference.
        let mut r = Reader {
            data: &bytes,
            pos: 0,
        };
        let nodes = r.count().unwrap();
        for _ in 0..2 * nodes {
            r.string().unwrap();
        }
        for _ in 0..8 {
            r.len().unwrap();
        }
        let mut out = bytes[..r.pos].to_vec();
        let groups = r.count().unwrap();
        put_len(&mut out, groups as u64).unwrap();
        for _ in 0..groups {
            let start = r.pos;
            r.string().unwrap();
            for _ in 0..3 {
                r.len().unwrap();
            }
            for _ in 0..r.count().unwrap() {
                r.take(24).unwrap();
                r.len().unwrap();
            }
            out.extend_from_slice(&bytes[start..r.pos]);
            let consumers = r.count().unwrap();
            put_len(&mut out, consumers as u64).unwrap();
            for _ in 0..consumers {
                let start = r.pos;
                r.string().unwrap();
                r.take(8).unwrap();
                out.extend_from_slice(&bytes[start..r.pos]);
                out.extend_from_slice(&99i64.to_le_bytes());
                let start = r.pos;
                for _ in 0..r.count().unwrap() {
                    r.take(16).unwrap();
                }
                out.extend_from_slice(&bytes[start..r.pos]);
            }
        }
        same(&s, &read(&out, TYPE_STREAM_LISTPACKS_3).unwrap());
    }

    #[test]
    fn a_last_id_lowered_below_deletions_loads() {
        // XADD 5-0, XADD 6-0, XDEL 6-0, XSETID 5-0: the max deleted ID
        // (and, in Redis's image, a tombstone) is above the last ID.
        let mut s = StreamValue::new();
        s.append(StreamId::new(5, 0), Entry::new(&["a", "b"]));
        s.append(StreamId::new(6, 0), Entry::new(&["a", "b"]));
        assert!(s.delete(&StreamId::new(6, 0)));
        s.last_id = StreamId::new(5, 0);
        let back = read(&write(&s), TYPE_STREAM_LISTPACKS_2).unwrap();
        same(&s, &back);
    }

    #[test]
    fn inconsistent_streams_are_refused() {
        let base = sample();
        let refuse = |s: &StreamValue, why: &str| {
            assert!(
                read(&write(s), TYPE_STREAM_LISTPACKS_2).is_err(),
                "accepted: {why}"
            );
        };
        let mut s = base.clone();
        s.last_id = StreamId::new(1000, 0);
        refuse(&s, "last ID below entries");
        let mut s = base.clone();
        s.entries_added = 3;
        refuse(&s, "entries added below length");
        // A PEL entry nobody owns, and one owned by two consumers.
        let mut s = base.clone();
        let g = s.groups.get_mut(&CompactBytes::new(b"g1")).unwrap();
        g.consumers
            .get_mut(&CompactBytes::new(b"bob"))
            .unwrap()
            .pel
            .clear();
        refuse(&s, "unowned PEL entry");
        let mut s = base.clone();
        let g = s.groups.get_mut(&CompactBytes::new(b"g1")).unwrap();
        g.consumers
            .get_mut(&CompactBytes::new(b"idle"))
            .unwrap()
            .pel
            .insert(StreamId::new(5, 5));
        refuse(&s, "PEL entry owned twice");
        let mut s = base.clone();
        let g = s.groups.get_mut(&CompactBytes::new(b"g1")).unwrap();
        g.consumers
            .get_mut(&CompactBytes::new(b"idle"))
            .unwrap()
            .pel
            .insert(StreamId::new(9, 9));
        refuse(&s, "consumer ID not in the group PEL");
        // Huge claimed counts are refused before anything is sized by them.
        let mut huge = Vec::new();
        put_len(&mut huge, u64::MAX).unwrap();
        assert!(read(&huge, TYPE_STREAM_LISTPACKS_2).is_err());
    }
}
