//! DEBUG: the subcommands a Redis user or a client library's test suite
//! reaches for (Redis's debug.c): OBJECT, RELOAD, SLEEP,
//! SET-ACTIVE-EXPIRE, SET-SKIP-CHECKSUM-VALIDATION, POPULATE (bulk test
//! data), PROTOCOL (one reply of each RESP3 type, for client tests),
//! ERROR, LOG, CHANGE-REPL-ID,
//! LOADAOF (persistence::reload_aof), and DIGEST / DIGEST-VALUE
//! (signatures computed in digest.rs).
//!
//! Must never: run unless `enable-debug-command` allows it (a protected
//! command, as in Redis 7.0); propagate what it creates (POPULATE's keys
//! are not replicated or logged, as in Redis); crash the server on
//! purpose (Redis's SEGFAULT, PANIC, OOM... are not offered). It blocks
//! the loop on purpose: SLEEP simulates a slow command, and RELOAD and a
//! large POPULATE take as long as they take, as in Redis.

use super::digest;
use super::keys::reply_help;
use super::Argv;
use crate::connection::Client;
use crate::db::{idle_seconds, unix_ms, Access};
use crate::errors::{CmdError, CmdResult};
use crate::persistence::rdb::{serialized_len, Compression};
use crate::resp::reply::Proto;
use crate::server::Server;
use crate::types::string::{parse_f64, StrValue};
use crate::types::Value;

const DEBUG_HELP: &[&str] = &[
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key>",
    "    Show low level info about the key and associated value.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, and",
    "      conflicting keys make the load fail (Redis kills the server).",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "HELP",
    "    Prints this help.",
];

/// A switch as Redis's DEBUG reads one, C's `atoi(arg) != 0`: leading
/// spaces, a sign, then the digits up to the first other byte ("1x" is
/// on, "x1" and "-0" are off).
fn atoi_nonzero(arg: &[u8]) -> bool {
    let rest = arg.trim_ascii_start();
    let rest = rest
        .strip_prefix(b"-")
        .or_else(|| rest.strip_prefix(b"+"))
        .unwrap_or(rest);
    rest.iter()
        .take_while(|b| b.is_ascii_digit())
        .any(|&b| b != b'0')
}

pub fn debug(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    // A protected command (enable-debug-command), as in Redis 7.0.
    if !super::module::protected_allowed(&srv.config.enable_debug_command, c) {
        return Err(CmdError::CommandNotAllowed {
            command: "DEBUG",
            option: "enable-debug-command",
        });
    }
    let sub = argv.lower(1);
    match (sub.as_str(), argv.len()) {
        ("help", 2) => reply_help(c, DEBUG_HELP),
        ("sleep", 3) => {
            let secs = parse_f64(&argv[2]).unwrap_or(0.0);
            // Bounded: a typo must not hang the server for days.
            let secs = secs.clamp(0.0, 3600.0);
            std::thread::sleep(std::time::Duration::from_secs_f64(secs));
            srv.ks.now_ms = unix_ms();
            c.reply().ok();
        }
        ("reload", _) => debug_reload(srv, c, argv)?,
        ("loadaof", 2) => match crate::persistence::reload_aof(srv) {
            Ok(()) => {
                log::info!("Append Only File loaded by DEBUG LOADAOF");
                c.reply().ok();
            }
            Err(crate::persistence::ReloadError::NotEnabled) => {
                return Err(CmdError::msg("ERR AOF is not enabled"));
            }
            Err(crate::persistence::ReloadError::Flush(e)) => {
                return Err(CmdError::msg(format!("ERR Error flushing the AOF: {e}")));
            }
            Err(crate::persistence::ReloadError::Load(e)) => {
                // The dataset is gone and no log is open: serving on would
                // acknowledge writes nothing records. Redis exits too.
                log::error!("DEBUG LOADAOF: {e}. Exiting.");
                std::process::exit(1);
            }
        },
        ("set-active-expire", 3) => {
            srv.active_expire_enabled = atoi_nonzero(argv.get(2));
            c.reply().ok();
        }
        ("set-skip-checksum-validation", 3) => {
            srv.skip_checksum_validation = atoi_nonzero(argv.get(2));
            c.reply().ok();
        }
        ("object", 3) => {
            let clock = srv.ks.lru_clock();
            let compression = Compression::from_config(&srv.config);
            let Some(obj) = srv.ks.lookup(c.db, &argv[2], Access::NoTouch) else {
                return Err(CmdError::NoSuchKey);
            };
            let mut text = format!(
                "Value at:{:p} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
                obj as *const _,
                obj.encoding_name(),
                serialized_len(&obj.value, compression),
                obj.lru,
                idle_seconds(obj.lru, clock)
            );
            // Redis adds its quicklist's shape. Our nodes are never
            // compressed (list-compress-depth is stored only), and their
            // byte sizes are our node encoding's, not listpacks'.
            if let Value::List(l) = &obj.value {
                let nodes = l.node_count();
                text.push_str(&format!(
                    " ql_nodes:{nodes} ql_avg_node:{:.2} ql_listpack_max:{} ql_compressed:0 ql_uncompressed_size:{}",
                    l.len() as f64 / nodes.max(1) as f64,
                    srv.config.list_max_listpack_size,
                    l.packed_bytes()
                ));
            }
            c.reply().simple(&text);
        }
        ("digest", 2) => {
            let d = digest::dataset_digest(&srv.ks.dbs);
            c.reply().simple(&digest::hex(&d));
        }
        ("digest-value", _) => {
            c.reply().array(argv.len() - 2);
            for i in 2..argv.len() {
                let key = &argv[i];
                // Straight from the table: logically expired keys count,
                // and nothing is touched (as Redis).
                let db = &srv.ks.dbs[c.db];
                let d = db.dict.get(key).map_or(digest::ZERO, |o| {
                    digest::value_digest(&o.value, db.expires.get(key).is_some())
                });
                c.reply().simple(&digest::hex(&d));
            }
        }
        ("populate", 3..=5) => populate(srv, c, argv)?,
        ("protocol", 3) => protocol(c, &argv.lower(2))?,
        ("error", 3) => c.reply().error(&String::from_utf8_lossy(&argv[2])),
        ("log", 3) => {
            log::warn!("DEBUG LOG: {}", String::from_utf8_lossy(&argv[2]));
            c.reply().ok();
        }
        ("change-repl-id", 2) => {
            // A new history: nothing can continue the old one (Redis's
            // changeReplicationId + clearReplicationId2).
            srv.repl.replid = crate::server::make_run_id();
            srv.repl.replid2 = "0".repeat(40);
            srv.repl.second_offset = -1;
            log::warn!("Changing replication IDs after receiving DEBUG change-repl-id");
            c.reply().ok();
        }
        _ => return Err(CmdError::subcommand_syntax(argv.get(0), argv.get(1))),
    }
    Ok(())
}

/// DEBUG POPULATE count [prefix] [size]: keys `prefix:N` (prefix `key`)
/// for N below count, each the string `value:N`, cut or zero-padded to
/// `size` bytes when a size is given (at most proto-max-bulk-len); a key
/// that exists is left alone.
/// Neither propagated nor counted as a change, as in Redis.
fn populate(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let positive = |i: usize| {
        crate::resp::parser::parse_i64(argv.get(i))
            .filter(|&n| n >= 0)
            .ok_or_else(|| CmdError::msg("ERR value is out of range, must be positive"))
    };
    let count = positive(2)?;
    let prefix: &[u8] = if argv.len() > 3 { argv.get(3) } else { b"key" };
    let size = if argv.len() > 4 { positive(4)? } else { 0 };
    // Redis would try to allocate any size asked for (and die on 2^62);
    // no string may exceed proto-max-bulk-len anyway.
    if size as u64 > srv.config.proto_max_bulk_len {
        return Err(CmdError::StringTooLong);
    }
    let size = size as usize;
    let mut key = Vec::with_capacity(prefix.len() + 21);
    for n in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        key.extend_from_slice(n.to_string().as_bytes());
        if srv.ks.exists(c.db, &key) {
            continue;
        }
        let mut value = format!("value:{n}").into_bytes();
        if size > 0 {
            value.resize(size, 0);
        }
        let value = Value::Str(StrValue::from_bytes_unencoded(&value));
        srv.ks.add_unwatched(c.db, &key, value);
    }
    c.reply().ok();
    Ok(())
}

/// DEBUG PROTOCOL type: Redis's test value of each reply type, which a
/// RESP2 client gets in its RESP2 form (PUSH has none).
fn protocol(c: &mut Client, kind: &str) -> CmdResult {
    if kind == "push" && c.proto == Proto::Resp2 {
        return Err(CmdError::msg("ERR RESP2 is not supported by this command"));
    }
    let resp3 = c.proto == Proto::Resp3;
    let mut w = c.reply();
    match kind {
        "string" => w.bulk(b"Hello World"),
        "integer" => w.int(12345),
        "double" => w.double_text(b"3.141"),
        "bignum" => w.big_number(b"1234567999999999999999999999999999999"),
        "null" => w.null(),
        "array" | "set" => {
            if kind == "set" {
                w.set(3);
            } else {
                w.array(3);
            }
            for i in 0..3 {
                w.int(i);
            }
        }
        "map" => {
            w.map(3);
            for i in 0..3 {
                w.int(i);
                w.boolean(i == 1);
            }
        }
        "attrib" => {
            if resp3 {
                w.raw(b"|1\r\n");
                w.bulk(b"key-popularity");
                w.array(2);
                w.bulk(b"key:123");
                w.int(90);
            }
            w.bulk(b"Some real reply following the attribute");
        }
        "push" => {
            w.push(2);
            w.bulk(b"server-cpu-usage");
            w.int(42);
            w.bulk(b"Some real reply following the push reply");
        }
        "verbatim" => w.verbatim_with_format(b"txt", b"This is a verbatim\nstring"),
        "true" => w.boolean(true),
        "false" => w.boolean(false),
        _ => {
            return Err(CmdError::msg(
                "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
            ))
        }
    }
    Ok(())
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save the snapshot, empty the
/// dataset, load the snapshot back (a round trip through the RDB codec).
/// Blocks the loop for the save and the load, as in Redis.
fn debug_reload(srv: &mut Server, c: &mut Client, argv: &Argv) -> CmdResult {
    let (mut merge, mut flush, mut save) = (false, true, true);
    for i in 2..argv.len() {
        if argv.is(i, "merge") {
            merge = true;
        } else if argv.is(i, "noflush") {
            flush = false;
        } else if argv.is(i, "nosave") {
            save = false;
        } else {
            return Err(CmdError::msg(
                "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
            ));
        }
    }
    // Not a SAVE in INFO rdb_saves (Redis counts only SAVE and BGSAVE).
    if save && crate::persistence::rdb::save_uncounted(srv).is_err() {
        return Err(CmdError::msg("ERR"));
    }
    if flush {
        for db in 0..srv.ks.dbs.len() {
            crate::lazyfree::free_db(srv.ks.flush_db(db));
        }
        // As a FLUSHALL (Redis's emptyData): tracking clients drop their
        // caches.
        srv.ks.tracking.flush();
        // Function libraries are reloaded too (NOFLUSH keeps them, and a
        // library in the file then collides unless MERGE, as in Redis).
        srv.scripting.functions.flush();
    }
    let path = crate::persistence::rdb_path(&srv.config);
    let loaded = std::fs::read(&path)
        .and_then(|data| crate::persistence::rdb::load_bytes_into(srv, &data, merge || flush));
    if let Err(e) = loaded {
        log::warn!("DEBUG RELOAD: loading {}: {e}", path.display());
        return Err(CmdError::msg("ERR Error trying to load the RDB dump"));
    }
    log::warn!("DB reloaded by DEBUG RELOAD");
    c.reply().ok();
    Ok(())
}
