//! Property tests: the stable-toolchain counterparts of the cargo-fuzz
//! targets in `fuzz/` (which need nightly), over the same entry points
//! (`redislite::server::offline`). Each property runs a bounded number of
//! cases (`CASES`), so the whole file adds seconds to `make test`.
//! proptest prints a failing case's minimal input; a regression found
//! here or by a fuzz target gets its own `#[test]` at the bottom.
//!
//! These and tests/fuzz_corpus.rs (the fuzz targets' own bodies over the
//! seed corpus and its mutations) are the only tests that call the
//! library rather than the binary: they check parsers and loaders against
//! hostile bytes, where a socket adds nothing but time.
//! tests/it/fuzz_socket.rs does the same over TCP.

use proptest::prelude::*;
use redislite::config::Config;
use redislite::connection::Client;
use redislite::persistence::{aof, dump, lzf_compress, propagate::encode_command, rdb};
use redislite::server::fuzz_entry::split_at;
use redislite::server::offline::{
    commands_from_bytes, parse_requests, replies_well_formed, reply_len, Offline,
};
use redislite::types::stream::{ConsumerGroup, Entry, PendingEntry, StreamId};
use redislite::types::{CompactBytes, StreamValue, Value};

/// Cases per property: enough to cover the generators' branches, few
/// enough to keep the file's run time to seconds.
const CASES: u32 = 200;

fn config() -> ProptestConfig {
    ProptestConfig {
        // PROPTEST_CASES=N runs a longer hunt locally.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(CASES),
        // Shrinking a failure is worth some time, but never unbounded.
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    }
}

/// One RESP-encoded command.
fn encode(argv: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_command(&mut out, argv.iter().map(|a| a.as_slice()));
    out
}

/// Flip, overwrite, insert or cut bytes of `data` as the edits say.
fn mutate(data: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut out = data.to_vec();
    for &(at, kind, byte) in edits {
        if out.is_empty() {
            out.push(byte);
            continue;
        }
        let at = at % out.len();
        match kind % 4 {
            0 => out[at] ^= 1 << (byte % 8),
            1 => out[at] = byte,
            2 => out.insert(at, byte),
            _ => out.truncate(at),
        }
    }
    out
}

/// Argument vectors biased like the fuzz target's (real names, few keys).
fn argvs() -> impl Strategy<Value = Vec<Vec<Vec<u8>>>> {
    proptest::collection::vec(any::<u8>(), 0..400).prop_map(|b| commands_from_bytes(&b))
}

/// A frame a hostile client might send: a valid command, a truncated or
/// corrupted one, an inline line, or raw bytes.
fn frame() -> impl Strategy<Value = Vec<u8>> {
    let argv = proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..12), 1..5);
    prop_oneof![
        argv.clone().prop_map(|a| encode(&a)),
        (argv, any::<usize>(), any::<u8>()).prop_map(|(a, at, b)| {
            let mut f = encode(&a);
            let at = at % f.len();
            f[at] = b;
            f
        }),
        proptest::collection::vec(proptest::sample::select(b"ab1 \"'\\\r".to_vec()), 0..20)
            .prop_map(|mut line| {
                line.push(b'\n');
                line
            }),
        proptest::collection::vec(any::<u8>(), 0..40),
        Just(b"*1\r\n$1073741824\r\nabc".to_vec()),
        Just(b"*-1\r\n*0\r\n$-5\r\n".to_vec()),
    ]
}

/// The server state after running `script`, and its RDB image.
fn state_after(script: &[Vec<Vec<u8>>]) -> (Offline, Vec<u8>) {
    let mut off = Offline::new();
    for argv in script {
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        off.run(&args);
    }
    let image = rdb::encode(&off.srv).expect("encode");
    (off, image)
}

/// Every type in small and large encodings, for loader inputs.
fn typed_script() -> Vec<Vec<Vec<u8>>> {
    let words = |s: &str| s.split(' ').map(|w| w.as_bytes().to_vec()).collect();
    let mut s: Vec<Vec<Vec<u8>>> = [
        "SET s hello",
        "SET n 12345",
        "SET t v PX 100000000",
        "RPUSH l a b 1 -5",
        "HSET h f v n 1",
        "SADD i 1 2 300000",
        "SADD m a b c",
        "ZADD z 1 a 2.5 b -inf c",
    ]
    .iter()
    .map(|l| words(l))
    .collect();
    let mut big_hash = words("HSET bh");
    let mut big_zset = words("ZADD bz");
    for i in 0..150 {
        big_hash.push(format!("f{i}").into_bytes());
        big_hash.push(b"v".to_vec());
        big_zset.push(i.to_string().into_bytes());
        big_zset.push(format!("m{i}").into_bytes());
    }
    s.push(big_hash);
    s.push(big_zset);
    s
}

/// One generated entry: (ms step, seq, field-value pairs picked from
/// small pools so entries often share a node's field set).
type GenEntry = (u64, u64, Vec<(u8, Vec<u8>)>);

/// Generated groups: (last ID index, entries read, PEL picks as (entry
/// index, consumer, delivery count)).
type GenGroup = (usize, Option<u64>, Vec<(usize, u8, u64)>);

/// Streams: 0..300 entries with increasing IDs (including ms steps past
/// `i64::MAX`, so node deltas wrap), values that are text, integers of
/// any width or empty, deletions, counters and up to 3 groups whose PELs
/// name entries (live or deleted) owned by up to 3 consumers.
fn streams() -> impl Strategy<Value = StreamValue> {
    let value = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..24),
        any::<i64>().prop_map(|v| v.to_string().into_bytes()),
        Just(Vec::new()),
    ];
    let entry = (
        prop_oneof![0u64..3, Just(1u64 << 63), any::<u64>()],
        0u64..5,
        proptest::collection::vec((0u8..4, value), 1..4),
    );
    let group = (
        any::<usize>(),
        proptest::option::of(any::<u64>()),
        proptest::collection::vec((any::<usize>(), 0u8..3, any::<u64>()), 0..8),
    );
    (
        proptest::collection::vec(entry, 0..300),
        proptest::collection::vec(any::<usize>(), 0..20),
        proptest::collection::vec(group, 0..3),
        0u64..1000,
    )
        .prop_map(|(entries, deletes, groups, extra_added)| {
            build_stream(entries, deletes, groups, extra_added)
        })
}

fn build_stream(
    entries: Vec<GenEntry>,
    deletes: Vec<usize>,
    groups: Vec<GenGroup>,
    extra_added: u64,
) -> StreamValue {
    let mut s = StreamValue::new();
    let mut ids = Vec::new();
    let mut ms = 0u64;
    for (step, seq, pairs) in entries {
        let Some(next) = ms.checked_add(step.max(1)) else {
            break;
        };
        ms = next;
        let id = StreamId::new(ms, seq);
        let mut strings: Vec<Vec<u8>> = Vec::new();
        for (f, v) in pairs {
            strings.push(format!("field{f}").into_bytes());
            strings.push(v);
        }
        s.append(id, Entry::new(&strings));
        ids.push(id);
    }
    for d in deletes {
        if !ids.is_empty() {
            s.delete(&ids[d % ids.len()]);
        }
    }
    s.entries_added += extra_added;
    for (i, (last, entries_read, pel)) in groups.into_iter().enumerate() {
        let last_id = if ids.is_empty() {
            StreamId::MIN
        } else {
            ids[last % ids.len()]
        };
        let mut g = ConsumerGroup::new(last_id, entries_read);
        for (e, who, count) in pel {
            let id = if ids.is_empty() {
                StreamId::new(e as u64, 0)
            } else {
                ids[e % ids.len()]
            };
            let name = CompactBytes::new(format!("c{who}").as_bytes());
            if g.pel.contains_key(&id) {
                continue;
            }
            g.pel.insert(
                id,
                PendingEntry {
                    delivery_time: count as i64,
                    delivery_count: count,
                    consumer: name.clone(),
                },
            );
            g.consumers.entry(name).or_default().pel.insert(id);
        }
        g.consumers
            .entry(CompactBytes::new(b"idle"))
            .or_default()
            .seen_time = 7;
        s.groups
            .insert(CompactBytes::new(format!("g{i}").as_bytes()), g);
    }
    s
}

/// A stream's parts in comparable form.
fn stream_parts(s: &StreamValue) -> String {
    let entries: Vec<(StreamId, Vec<Vec<u8>>)> = s
        .iter()
        .map(|(id, e)| (*id, e.strings().map(<[u8]>::to_vec).collect()))
        .collect();
    format!(
        "{entries:?} {:?} {:?} {:?} {} {:?}",
        s.last_id, s.first_id, s.max_deleted_id, s.entries_added, s.groups
    )
}

/// Decode a DUMP payload the way RESTORE does.
fn restore_payload(payload: &[u8]) -> Option<Value> {
    let (t, body) = dump::verify(payload, true)?;
    rdb::decode_value(&Config::default(), t, body).ok()
}

/// Stream commands from a small vocabulary (explicit and partial IDs,
/// trims of every kind, deletions, odd arguments), so that most of them
/// succeed.
fn stream_script() -> impl Strategy<Value = Vec<Vec<Vec<u8>>>> {
    let id = prop_oneof![
        (0u64..40, 0u64..4).prop_map(|(ms, seq)| format!("{ms}-{seq}")),
        (0u64..40).prop_map(|ms| ms.to_string()),
        (0u64..40).prop_map(|ms| format!("{ms}-*")),
        Just("*".to_string()),
        Just("18446744073709551615-18446744073709551615".to_string()),
        Just("x".to_string()),
    ];
    let value = prop_oneof![
        Just(String::new()),
        (0i64..100000).prop_map(|n| n.to_string()),
        (0usize..300).prop_map(|n| "v".repeat(n)),
    ];
    let command = (0u8..8, id.clone(), id, value, 0u64..20, any::<bool>()).prop_map(
        |(kind, a, b, v, n, approx)| {
            let sign = if approx { "~" } else { "=" };
            let line = match kind {
                0 | 1 => format!("XADD s {a} f {v}"),
                2 => format!("XADD s MAXLEN {sign} {n} {a} f {v} g 1"),
                3 => format!("XADD s MINID {sign} {b} {a} f{n} {v}"),
                4 => format!("XDEL s {a} {b}"),
                5 => format!("XTRIM s MAXLEN {sign} {n} LIMIT {}", n * 3),
                6 => format!("XTRIM s MINID {sign} {b}"),
                _ => format!("XSETID s {a}"),
            };
            line.split(' ')
                .map(|w| w.as_bytes().to_vec())
                .collect::<Vec<_>>()
        },
    );
    proptest::collection::vec(command, 0..120)
}

proptest! {
    #![proptest_config(config())]

    /// Any stream writes to a payload that reads back to the same stream
    /// and the same bytes; damage to its body (with a valid footer) is
    /// refused or reads as a stream that round-trips in turn.
    #[test]
    fn stream_payloads_round_trip_and_survive_mutation(
        s in streams(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6),
    ) {
        let payload = dump::create(&Value::Stream(Box::new(s.clone())), rdb::Compression::Lzf);
        let Some(Value::Stream(back)) = restore_payload(&payload) else {
            panic!("our own payload was refused");
        };
        prop_assert_eq!(stream_parts(&back), stream_parts(&s));
        prop_assert!(dump::create(&Value::Stream(back), rdb::Compression::Lzf) == payload);
        let body = mutate(&payload[..payload.len() - 10], &edits);
        let mut damaged = body.clone();
        damaged.extend_from_slice(&payload[payload.len() - 10..payload.len() - 8]);
        let crc = rdb::crc64(&damaged);
        damaged.extend_from_slice(&crc.to_le_bytes());
        if let Some(Value::Stream(v)) = restore_payload(&damaged) {
            let again = dump::create(&Value::Stream(v.clone()), rdb::Compression::Lzf);
            let Some(Value::Stream(w)) = restore_payload(&again) else {
                panic!("a loaded stream's payload was refused");
            };
            prop_assert_eq!(stream_parts(&w), stream_parts(&v));
        }
    }

    /// Any sequence of stream writes, under small node limits, keeps the
    /// stream's entries, counters and listpack-node model consistent, and
    /// every reply well-formed.
    #[test]
    fn stream_writes_keep_the_node_model_consistent(
        script in stream_script(),
        max_entries in 0u64..6,
        max_bytes in prop_oneof![Just(0u64), 40u64..400],
    ) {
        let mut off = Offline::new();
        off.run(&[b"CONFIG", b"SET", b"stream-node-max-entries", max_entries.to_string().as_bytes()]);
        off.run(&[b"CONFIG", b"SET", b"stream-node-max-bytes", max_bytes.to_string().as_bytes()]);
        for argv in &script {
            let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
            let reply = off.run(&args);
            prop_assert!(replies_well_formed(&reply), "{:?}", String::from_utf8_lossy(&reply));
            if let Some(obj) = off.srv.ks.dbs[0].dict.get(&b"s"[..]) {
                match &obj.value {
                    redislite::types::Value::Stream(s) => prop_assert!(s.invariants_hold()),
                    _ => prop_assert!(false, "s is not a stream"),
                }
            }
        }
    }

    /// Parsing is independent of how the bytes arrive.
    #[test]
    fn request_parse_is_split_invariant(
        frames in proptest::collection::vec(frame(), 1..8),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let data: Vec<u8> = frames.concat();
        let whole = parse_requests(&[&data], 1024 * 1024);
        let pieces = split_at(&data, &cuts);
        prop_assert_eq!(whole, parse_requests(&pieces, 1024 * 1024));
    }

    /// Encoding a command and parsing it back gives the same arguments.
    #[test]
    fn request_round_trip(argvs in proptest::collection::vec(
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..6), 1..6)
    ) {
        let data: Vec<u8> = argvs.iter().map(|a| encode(a)).collect::<Vec<_>>().concat();
        let (parsed, err) = parse_requests(&[&data], 1024 * 1024);
        prop_assert_eq!(err, None);
        prop_assert_eq!(parsed, argvs);
    }

    /// No command vector panics, in either protocol, and every reply is
    /// well-formed RESP.
    #[test]
    fn commands_never_panic_and_reply_well_formed(script in argvs(), resp3 in any::<bool>()) {
        let mut off = Offline::new();
        off.set_resp3(resp3);
        for argv in &script {
            let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
            let out = off.run(&args);
            prop_assert!(replies_well_formed(&out),
                "malformed reply to {:?}: {:?}", argv, String::from_utf8_lossy(&out));
        }
        // A new client (the script's may be subscribed, in MULTI or
        // have replies off) finds the server answering.
        off.client = Client::new_fake(2);
        prop_assert_eq!(off.run(&[b"PING"]), b"+PONG\r\n".to_vec());
    }

    /// Our LZF compressor's output decompresses (with the lzf crate, an
    /// independent implementation) to what it was given, for inputs with
    /// and without repeats, after any earlier input; the size limit
    /// only ever refuses, never changes the bytes.
    #[test]
    fn lzf_compression_round_trips(
        earlier in proptest::collection::vec(any::<u8>(), 0..300),
        pieces in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 1..12), 1usize..40), 0..12),
        noise in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let input: Vec<u8> = pieces.iter().flat_map(|(p, n)| p.repeat(*n)).chain(noise.iter().copied()).collect();
        let mut c = lzf_compress::Compressor::new();
        let mut scratch = Vec::new();
        c.compress(&earlier, &mut scratch, usize::MAX);
        let mut packed = Vec::new();
        prop_assert!(c.compress(&input, &mut packed, usize::MAX));
        if !input.is_empty() {
            prop_assert_eq!(lzf::decompress(&packed, input.len()).ok(), Some(input.clone()));
        }
        let mut limited = Vec::new();
        if c.compress(&input, &mut limited, input.len().saturating_sub(4)) {
            prop_assert!(limited.len() <= input.len().saturating_sub(4));
            prop_assert_eq!(&limited, &packed);
        } else {
            prop_assert!(limited.is_empty());
        }
    }

    /// A snapshot of any state the commands reach loads back to the same
    /// keyspace; a mutated snapshot never panics the loader.
    #[test]
    fn rdb_round_trips_and_survives_mutation(
        script in argvs(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6),
    ) {
        let (mut orig, image) = state_after(&script);
        let mut back = Offline::new();
        prop_assert!(back.load_rdb(&image).is_ok());
        // Same keys, types and encodings: the same counts and the same
        // encoded size (the order of a hash table's walk may differ).
        back.srv.ks.now_ms = orig.srv.ks.now_ms;
        orig.client = Client::new_fake(2);
        prop_assert_eq!(rdb::encode(&back.srv).expect("encode").len(), image.len());
        prop_assert_eq!(back.run(&[b"INFO", b"keyspace"]), orig.run(&[b"INFO", b"keyspace"]));
        let _ = Offline::new().load_rdb(&mutate(&image, &edits));
    }

    /// A log of framed commands replays completely; a mutated log never
    /// panics the loader and keeps at most what it was given.
    #[test]
    fn aof_loads_and_survives_mutation(
        script in argvs(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6),
    ) {
        let mut log = Vec::new();
        for argv in typed_script().iter().chain(script.iter()) {
            aof::frame(&mut log, &encode(argv));
        }
        // Not every generated command is valid, but every record is: the
        // loader runs what it can, as on a real startup.
        if let Ok(keep) = Offline::new().load_aof(&log) {
            prop_assert!(keep <= log.len());
        }
        let bad = mutate(&log, &edits);
        if let Ok(keep) = Offline::new().load_aof(&bad) {
            prop_assert!(keep <= bad.len());
        }
    }

    /// The replica's master-link reader gets the same state however the
    /// full-resync stream is split, and never panics on a mutated one.
    #[test]
    fn replication_stream_split_and_mutation(
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6),
    ) {
        let (_, image) = state_after(&typed_script());
        let mut stream = b"+PONG\r\n+OK\r\n+OK\r\n+FULLRESYNC ".to_vec();
        stream.extend_from_slice(&[b'a'; 40]);
        stream.extend_from_slice(format!(" 0\r\n\n${}\r\n", image.len()).as_bytes());
        stream.extend_from_slice(&image);
        stream.extend_from_slice(&encode(&[b"INCR".to_vec(), b"n".to_vec()]));
        let mut off = Offline::new();
        prop_assert_eq!(off.feed_master_link(&split_at(&stream, &cuts)), Ok(()));
        prop_assert_eq!(off.run(&[b"GET", b"n"]), b"$5\r\n12346\r\n".to_vec());
        prop_assert_eq!(off.run(&[b"HLEN", b"bh"]), b":150\r\n".to_vec());
        let mut off = Offline::new();
        let _ = off.feed_master_link(&split_at(&mutate(&stream, &edits), &cuts));
        prop_assert_eq!(off.run(&[b"PING"]), b"+PONG\r\n".to_vec());
    }
}

/// The reply checker itself: accepts what servers send, rejects framing
/// errors (a checker that accepts everything would make the command
/// property vacuous).
#[test]
fn reply_checker_accepts_and_rejects() {
    for good in [
        &b"+OK\r\n"[..],
        b"$-1\r\n",
        b"*2\r\n$1\r\na\r\n:1\r\n",
        b"%1\r\n+a\r\n,1.5\r\n",
        b"|1\r\n+k\r\n+v\r\n#t\r\n",
        b"=7\r\ntxt:abc\r\n",
        b"_\r\n",
    ] {
        assert_eq!(reply_len(good), Some(good.len()), "{good:?}");
    }
    for bad in [
        &b"+OK\n"[..],
        b"$3\r\nab\r\n",
        b"*2\r\n:1\r\n",
        b":x\r\n",
        b"?\r\n",
        b"$-2\r\n",
    ] {
        assert_eq!(reply_len(bad), None, "{bad:?}");
    }
}

/// A master may send any number of keepalive newlines before `$len`
/// (they used to be skipped one `remove(0)` at a time); all are skipped
/// and the payload that follows loads.
#[test]
fn replica_skips_a_long_run_of_keepalive_newlines() {
    let (_, image) = state_after(&typed_script());
    let mut stream = b"+PONG\r\n+OK\r\n+OK\r\n+FULLRESYNC ".to_vec();
    stream.extend_from_slice(&[b'a'; 40]);
    stream.extend_from_slice(b" 0\r\n");
    stream.extend_from_slice(&vec![b'\n'; 200_000]);
    stream.extend_from_slice(format!("${}\r\n", image.len()).as_bytes());
    stream.extend_from_slice(&image);
    let mut off = Offline::new();
    assert_eq!(off.feed_master_link(&[&stream]), Ok(()));
    assert_eq!(off.run(&[b"GET", b"s"]), b"$5\r\nhello\r\n");
}

/// Damage at the start of a big log is still told apart from a torn
/// tail: the valid records after it are found (the search skips
/// offsets without a command start rather than checksumming each).
#[test]
fn aof_damage_before_valid_records_is_mid_file() {
    let mut log = Vec::new();
    for i in 0..2000 {
        let k = format!("k{i}");
        aof::frame(
            &mut log,
            &encode(&[b"SET".to_vec(), k.into_bytes(), b"v".to_vec()]),
        );
    }
    log[6] ^= 0x20; // inside the first record's command
    let scan = aof::scan(&log);
    assert_eq!(scan.valid_len, 0);
    assert!(scan.damage_is_mid_file);
    let err = Offline::new().load_aof(&log).unwrap_err();
    assert!(err.contains("corruption in the middle"), "{err}");
}
