//! The command table: every command's name, handler, arity, flags and key
//! positions, and the metadata COMMAND INFO / COMMAND DOCS report.
//!
//! Arity follows Redis: positive means exactly that many arguments
//! (including the name), negative means at least that many. Key positions
//! (`first_key`, `last_key`, `key_step`; last -1 = the last argument) drive
//! COMMAND GETKEYS and, later, ACL key patterns and cluster routing.
//!
//! Invariant: names are lowercase and unique; `lookup` matches them without
//! regard to case and without allocating. `rename-command` changes only the
//! name index built once at startup (`install_renames`), never the table:
//! `lookup` answers to the new names, `lookup_original` (ACL rules) and
//! every report (COMMAND INFO/LIST, commandstats) keep the table names.

use super::{
    acl, bitmaps, cluster, command, config, connection, databases, debug, dump, functions, geo,
    keys, lists, lolwut, migrate, module, observe, pubsub, scripting, server, sort, streams,
    strings, tx, zsets, Argv,
};
use crate::connection::Client;
use crate::errors::CmdResult;
use crate::server::Server;
use std::sync::OnceLock;

pub type Handler = fn(&mut Server, &mut Client, &Argv) -> CmdResult;

pub const WRITE: u32 = 1 << 0;
pub const READONLY: u32 = 1 << 1;
pub const DENYOOM: u32 = 1 << 2;
pub const ADMIN: u32 = 1 << 3;
pub const PUBSUB: u32 = 1 << 4;
pub const NOSCRIPT: u32 = 1 << 5;
pub const BLOCKING: u32 = 1 << 6;
pub const LOADING: u32 = 1 << 7;
pub const STALE: u32 = 1 << 8;
pub const SKIP_MONITOR: u32 = 1 << 9;
pub const SKIP_SLOWLOG: u32 = 1 << 10;
pub const FAST: u32 = 1 << 11;
pub const NO_AUTH: u32 = 1 << 12;
pub const MAY_REPLICATE: u32 = 1 << 13;
pub const NO_MULTI: u32 = 1 << 14;
pub const ALLOW_BUSY: u32 = 1 << 15;
/// Internal, never printed: the key positions name channels, not keys
/// (Redis 7.0's `not_key` key-spec flag on SSUBSCRIBE / SUNSUBSCRIBE /
/// SPUBLISH, declared for cluster routing). COMMAND INFO shows the
/// positions; ACL key rules and COMMAND GETKEYS skip them.
pub const CHANNEL_KEYS: u32 = 1 << 16;
/// Accepted on a cluster node that is importing the slot (RESTORE-ASKING);
/// reported by COMMAND INFO only, there is no cluster mode here.
pub const ASKING: u32 = 1 << 17;
/// Internal, never printed: on a subcommand, "my key is the container's
/// key range". Redis 7.0 reports the key range (2 2 1) on such
/// subcommands (XGROUP CREATE, XINFO GROUPS) and 0 0 0 on the container;
/// the table keeps the range on the container, where the ACL and
/// COMMAND GETKEYS look, and COMMAND INFO moves it where Redis shows it.
pub const SUB_KEYS: u32 = 1 << 18;
/// The command may be called without any key (EVAL and FCALL with
/// numkeys 0): Redis 7.0's `no_mandatory_keys`, for cluster clients.
pub const NO_MANDATORY_KEYS: u32 = 1 << 19;
/// Reported only: Redis refuses these while it loads a full sync in the
/// background (`repl-diskless-load swapdb`); RedisLite loads a sync
/// before it serves anything, so nothing checks it.
pub const NO_ASYNC_LOADING: u32 = 1 << 20;

/// Flag names in COMMAND INFO order.
pub const FLAG_NAMES: &[(u32, &str)] = &[
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (SKIP_MONITOR, "skip_monitor"),
    (SKIP_SLOWLOG, "skip_slowlog"),
    (ASKING, "asking"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    (MAY_REPLICATE, "may_replicate"),
    (NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (NO_ASYNC_LOADING, "no_async_loading"),
    (NO_MULTI, "no_multi"),
    (ALLOW_BUSY, "allow_busy"),
];

pub struct SubCommand {
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
    pub summary: &'static str,
}

pub struct Command {
    pub name: &'static str,
    pub handler: Handler,
    pub arity: i32,
    pub flags: u32,
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    /// Documentation group (COMMAND DOCS `group`): string, generic, server...
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub subcommands: &'static [SubCommand],
}

const fn sub(name: &'static str, arity: i32, flags: u32, summary: &'static str) -> SubCommand {
    SubCommand {
        name,
        arity,
        flags,
        summary,
    }
}

#[allow(clippy::too_many_arguments)]
const fn cmd(
    name: &'static str,
    handler: Handler,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    group: &'static str,
    since: &'static str,
    summary: &'static str,
) -> Command {
    Command {
        name,
        handler,
        arity,
        flags,
        first_key: keys.0,
        last_key: keys.1,
        key_step: keys.2,
        group,
        since,
        summary,
        subcommands: &[],
    }
}

const fn with_subs(mut c: Command, subs: &'static [SubCommand]) -> Command {
    c.subcommands = subs;
    c
}

const NOKEYS: (i32, i32, i32) = (0, 0, 0);
const KEY1: (i32, i32, i32) = (1, 1, 1);
const KEYS12: (i32, i32, i32) = (1, 2, 1);
const ALLKEYS: (i32, i32, i32) = (1, -1, 1);

const RW: u32 = WRITE | DENYOOM;

static SLOWLOG_SUBS: [SubCommand; 4] = [
    sub(
        "get",
        -2,
        ADMIN | LOADING | STALE,
        "Get the slow log's entries",
    ),
    sub(
        "help",
        2,
        LOADING | STALE,
        "Show helpful text about the different subcommands",
    ),
    sub(
        "len",
        2,
        ADMIN | LOADING | STALE,
        "Get the slow log's length",
    ),
    sub(
        "reset",
        2,
        ADMIN | LOADING | STALE,
        "Clear all entries from the slow log",
    ),
];

static LATENCY_SUBS: [SubCommand; 7] = [
    sub(
        "doctor",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        "Return a human readable latency analysis report.",
    ),
    sub(
        "graph",
        3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        "Return a latency graph for the event.",
    ),
    sub(
        "help",
        2,
        LOADING | STALE,
        "Show helpful text about the different subcommands.",
    ),
    sub(
        "histogram",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        "Return the cumulative distribution of latencies of a subset of commands or all commands.",
    ),
    sub(
        "history",
        3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        "Return timestamp-latency samples for the event.",
    ),
    sub(
        "latest",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        "Return the latest latency samples for all events.",
    ),
    sub(
        "reset",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        "Reset latency data for one or more events.",
    ),
];

static CONFIG_SUBS: [SubCommand; 5] = [
    sub(
        "get",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        "Get the values of configuration parameters",
    ),
    sub(
        "set",
        -4,
        ADMIN | NOSCRIPT | LOADING | STALE,
        "Set configuration parameters to the given values",
    ),
    sub(
        "resetstat",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        "Reset the stats returned by INFO",
    ),
    sub(
        "rewrite",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        "Rewrite the configuration file with the in memory configuration",
    ),
    sub(
        "help",
        2,
        LOADING | STALE,
        "Show helpful text about the different subcommands",
    ),
];

const ACL_ADMIN: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
static ACL_SUBS: [SubCommand; 13] = [
    sub(
        "cat",
        -2,
        NOSCRIPT | LOADING | STALE,
        "List the ACL categories or the commands inside a category",
    ),
    sub(
        "deluser",
        -3,
        ACL_ADMIN,
        "Remove the specified ACL users and the associated rules",
    ),
    sub(
        "dryrun",
        -4,
        ACL_ADMIN,
        "Returns whether the user can execute the given command without executing the command.",
    ),
    sub(
        "genpass",
        -2,
        NOSCRIPT | LOADING | STALE,
        "Generate a pseudorandom secure password to use for ACL users",
    ),
    sub(
        "getuser",
        3,
        ACL_ADMIN,
        "Get the rules for a specific ACL user",
    ),
    sub(
        "list",
        2,
        ACL_ADMIN,
        "List the current ACL rules in ACL config file format",
    ),
    sub(
        "log",
        -2,
        ACL_ADMIN,
        "List latest events denied because of ACLs in place",
    ),
    sub(
        "setuser",
        -3,
        ACL_ADMIN,
        "Modify or create the rules for a specific ACL user",
    ),
    sub(
        "users",
        2,
        ACL_ADMIN,
        "List the username of all the configured ACL rules",
    ),
    sub(
        "whoami",
        2,
        NOSCRIPT | LOADING | STALE,
        "Return the name of the user associated to the current connection",
    ),
    sub(
        "help",
        2,
        LOADING | STALE,
        "Show helpful text about the different subcommands",
    ),
    sub(
        "load",
        2,
        ACL_ADMIN,
        "Reload the ACLs from the configured ACL file",
    ),
    sub(
        "save",
        2,
        ACL_ADMIN,
        "Save the current ACL rules in the configured ACL file",
    ),
];

static CLIENT_SUBS: [SubCommand; 17] = [
    sub("id", 2, NOSCRIPT | LOADING | STALE, "Returns the client ID for the current connection"),
    sub("setname", 3, NOSCRIPT | LOADING | STALE, "Set the current connection name"),
    sub("getname", 2, NOSCRIPT | LOADING | STALE, "Get the current connection name"),
    sub("list", -2, ADMIN | NOSCRIPT | LOADING | STALE, "Get the list of client connections"),
    sub("info", 2, NOSCRIPT | LOADING | STALE, "Returns information about the current client connection."),
    sub("kill", -3, ADMIN | NOSCRIPT | LOADING | STALE, "Kill the connection of a client"),
    sub("no-evict", 3, ADMIN | NOSCRIPT | LOADING | STALE, "Set client eviction mode for the current connection"),
    sub("no-touch", 3, NOSCRIPT | LOADING | STALE, "Controls whether commands sent by the client will alter the LRU/LFU of the keys they access."),
    sub("reply", 3, NOSCRIPT | LOADING | STALE, "Instruct the server whether to reply to commands"),
    sub("help", 2, LOADING | STALE, "Show helpful text about the different subcommands"),
    sub("pause", -3, ADMIN | NOSCRIPT | LOADING | STALE, "Stop processing commands from clients for some time"),
    sub("unpause", 2, ADMIN | NOSCRIPT | LOADING | STALE, "Resume processing of clients that were paused"),
    sub("getredir", 2, NOSCRIPT | LOADING | STALE, "Get tracking notifications redirection client ID if any"),
    sub("trackinginfo", 2, NOSCRIPT | LOADING | STALE, "Return information about server assisted client side caching for the current connection"),
    sub("tracking", -3, NOSCRIPT | LOADING | STALE, "Enable or disable server assisted client side caching support"),
    sub("caching", 3, NOSCRIPT | LOADING | STALE, "Instruct the server about tracking or not keys in the next request"),
    sub("unblock", -3, ADMIN | NOSCRIPT | LOADING | STALE, "Unblock a client blocked in a blocking command from a different connection"),
];

static MODULE_SUBS: [SubCommand; 5] = [
    sub(
        "help",
        2,
        LOADING | STALE,
        "Show helpful text about the different subcommands",
    ),
    sub(
        "list",
        2,
        ADMIN | NOSCRIPT,
        "List all modules loaded by the server",
    ),
    sub(
        "load",
        -3,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        "Load a module",
    ),
    sub(
        "loadex",
        -3,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        "Load a module with extended parameters",
    ),
    sub(
        "unload",
        3,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        "Unload a module",
    ),
];

static OBJECT_SUBS: [SubCommand; 5] = [
    sub(
        "encoding",
        3,
        READONLY | SUB_KEYS,
        "Inspect the internal encoding of a Redis object",
    ),
    sub(
        "freq",
        3,
        READONLY | SUB_KEYS,
        "Get the logarithmic access frequency counter of a Redis object",
    ),
    sub(
        "idletime",
        3,
        READONLY | SUB_KEYS,
        "Get the time since a Redis object was last accessed",
    ),
    sub(
        "refcount",
        3,
        READONLY | SUB_KEYS,
        "Get the number of references to the value of the key",
    ),
    sub(
        "help",
        2,
        LOADING | STALE,
        "Show helpful text about the different subcommands",
    ),
];

static DEBUG_SUBS: [SubCommand; 0] = [];

static XGROUP_SUBS: [SubCommand; 6] = [
    sub(
        "create",
        -5,
        WRITE | DENYOOM | SUB_KEYS,
        "Create a consumer group.",
    ),
    sub(
        "createconsumer",
        5,
        WRITE | DENYOOM | SUB_KEYS,
        "Create a consumer in a consumer group.",
    ),
    sub(
        "delconsumer",
        5,
        WRITE | SUB_KEYS,
        "Delete a consumer from a consumer group.",
    ),
    sub("destroy", 4, WRITE | SUB_KEYS, "Destroy a consumer group."),
    sub(
        "help",
        2,
        LOADING | STALE,
        "Show helpful text about the different subcommands",
    ),
    sub(
        "setid",
        -5,
        WRITE | SUB_KEYS,
        "Set a consumer group to an arbitrary last delivered ID value.",
    ),
];

static XINFO_SUBS: [SubCommand; 4] = [
    sub(
        "consumers",
        4,
        READONLY | SUB_KEYS,
        "List the consumers in a consumer group",
    ),
    sub(
        "groups",
        3,
        READONLY | SUB_KEYS,
        "List the consumer groups of a stream",
    ),
    sub(
        "help",
        2,
        LOADING | STALE,
        "Show helpful text about the different subcommands",
    ),
    sub(
        "stream",
        -3,
        READONLY | SUB_KEYS,
        "Get information about a stream",
    ),
];

static MEMORY_SUBS: [SubCommand; 6] = [
    sub("doctor", 2, 0, "Outputs memory problems report"),
    sub("malloc-stats", 2, 0, "Show allocator internal stats"),
    sub("purge", 2, 0, "Ask the allocator to release memory"),
    sub("stats", 2, 0, "Show memory usage details"),
    sub(
        "usage",
        -3,
        READONLY | SUB_KEYS,
        "Estimate the memory usage of a key",
    ),
    sub(
        "help",
        2,
        LOADING | STALE,
        "Show helpful text about the different subcommands",
    ),
];

static COMMAND_SUBS: [SubCommand; 7] = [
    sub(
        "count",
        2,
        LOADING | STALE,
        "Get total number of Redis commands",
    ),
    sub(
        "info",
        -2,
        LOADING | STALE,
        "Get array of specific Redis command details, or all when no argument is given.",
    ),
    sub(
        "docs",
        -2,
        LOADING | STALE,
        "Get array of specific Redis command documentation",
    ),
    sub(
        "list",
        -2,
        LOADING | STALE,
        "Get an array of Redis command names",
    ),
    sub(
        "getkeys",
        -4,
        LOADING | STALE,
        "Extract keys given a full Redis command",
    ),
    sub(
        "getkeysandflags",
        -4,
        LOADING | STALE,
        "Extract keys and access flags given a full Redis command",
    ),
    sub(
        "help",
        2,
        LOADING | STALE,
        "Show helpful text about the different subcommands",
    ),
];

static CLUSTER_SUBS: [SubCommand; 27] = [
    sub(
        "addslots",
        -3,
        ADMIN | STALE | NO_ASYNC_LOADING,
        "Assign new hash slots to receiving node",
    ),
    sub(
        "addslotsrange",
        -4,
        ADMIN | STALE | NO_ASYNC_LOADING,
        "Assign new hash slots to receiving node",
    ),
    sub(
        "bumpepoch",
        2,
        ADMIN | STALE | NO_ASYNC_LOADING,
        "Advance the cluster config epoch",
    ),
    sub(
        "count-failure-reports",
        3,
        ADMIN | STALE,
        "Return the number of failure reports active for a given node",
    ),
    sub(
        "countkeysinslot",
        3,
        STALE,
        "Return the number of local keys in the specified hash slot",
    ),
    sub(
        "delslots",
        -3,
        ADMIN | STALE | NO_ASYNC_LOADING,
        "Set hash slots as unbound in receiving node",
    ),
    sub(
        "delslotsrange",
        -4,
        ADMIN | STALE | NO_ASYNC_LOADING,
        "Set hash slots as unbound in receiving node",
    ),
    sub(
        "failover",
        -2,
        ADMIN | STALE | NO_ASYNC_LOADING,
        "Forces a replica to perform a manual failover of its master.",
    ),
    sub(
        "flushslots",
        2,
        ADMIN | STALE | NO_ASYNC_LOADING,
        "Delete a node's own slots information",
    ),
    sub(
        "forget",
        3,
        ADMIN | STALE | NO_ASYNC_LOADING,
        "Remove a node from the nodes table",
    ),
    sub(
        "getkeysinslot",
        4,
        STALE,
        "Return local key names in the specified hash slot",
    ),
    sub(
        "help",
        2,
        LOADING | STALE,
        "Show helpful text about the different subcommands",
    ),
    sub(
        "info",
        2,
        STALE,
        "Provides info about Redis Cluster node state",
    ),
    sub(
        "keyslot",
        3,
        STALE,
        "Returns the hash slot of the specified key",
    ),
    sub(
        "links",
        2,
        STALE,
        "Returns a list of all TCP links to and from peer nodes in cluster",
    ),
    sub(
        "meet",
        -4,
        ADMIN | STALE | NO_ASYNC_LOADING,
        "Force a node cluster to handshake with another node",
    ),
    sub("myid", 2, STALE, "Return the node id"),
    sub("nodes", 2, STALE, "Get Cluster config for the node"),
    sub(
        "replicas",
        3,
        ADMIN | STALE,
        "List replica nodes of the specified master node",
    ),
    sub(
        "replicate",
        3,
        ADMIN | STALE | NO_ASYNC_LOADING,
        "Reconfigure a node as a replica of the specified master node",
    ),
    sub(
        "reset",
        -2,
        ADMIN | NOSCRIPT | STALE,
        "Reset a Redis Cluster node",
    ),
    sub(
        "saveconfig",
        2,
        ADMIN | STALE | NO_ASYNC_LOADING,
        "Forces the node to save cluster state on disk",
    ),
    sub(
        "set-config-epoch",
        3,
        ADMIN | STALE | NO_ASYNC_LOADING,
        "Set the configuration epoch in a new node",
    ),
    sub(
        "setslot",
        -4,
        ADMIN | STALE | NO_ASYNC_LOADING,
        "Bind a hash slot to a specific node",
    ),
    sub(
        "shards",
        2,
        STALE,
        "Get array of cluster slots to node mappings",
    ),
    sub(
        "slaves",
        3,
        ADMIN | STALE,
        "List replica nodes of the specified master node",
    ),
    sub(
        "slots",
        2,
        STALE,
        "Get array of Cluster slot to node mappings",
    ),
];

static SCRIPT_SUBS: [SubCommand; 6] = [
    sub(
        "debug",
        3,
        NOSCRIPT,
        "Set the debug mode for executed scripts.",
    ),
    sub(
        "exists",
        -3,
        NOSCRIPT,
        "Check existence of scripts in the script cache.",
    ),
    sub(
        "flush",
        -2,
        NOSCRIPT,
        "Remove all the scripts from the script cache.",
    ),
    sub(
        "help",
        2,
        LOADING | STALE,
        "Show helpful text about the different subcommands",
    ),
    sub(
        "kill",
        2,
        NOSCRIPT | ALLOW_BUSY,
        "Terminate the currently executing Lua script.",
    ),
    sub(
        "load",
        3,
        NOSCRIPT | STALE,
        "Load the specified Lua script into the script cache.",
    ),
];

static FUNCTION_SUBS: [SubCommand; 9] = [
    sub("delete", 3, WRITE | NOSCRIPT, "Delete a function by name"),
    sub(
        "dump",
        2,
        NOSCRIPT,
        "Dump all functions into a serialized binary payload",
    ),
    sub("flush", -2, WRITE | NOSCRIPT, "Deleting all functions"),
    sub(
        "help",
        2,
        LOADING | STALE,
        "Show helpful text about the different subcommands",
    ),
    sub(
        "kill",
        2,
        NOSCRIPT | ALLOW_BUSY,
        "Kill the function currently in execution.",
    ),
    sub(
        "list",
        -2,
        NOSCRIPT,
        "List information about all the functions",
    ),
    sub(
        "load",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        "Create a function with the given arguments (name, code, description)",
    ),
    sub(
        "restore",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        "Restore all the functions on the given payload",
    ),
    sub(
        "stats",
        2,
        NOSCRIPT | ALLOW_BUSY,
        "Return information about the function currently running (name, description, duration)",
    ),
];

static PUBSUB_SUBS: [SubCommand; 6] = [
    sub(
        "channels",
        -2,
        PUBSUB | LOADING | STALE,
        "List active channels",
    ),
    sub(
        "numsub",
        -2,
        PUBSUB | LOADING | STALE,
        "Get the count of subscribers for channels",
    ),
    sub(
        "numpat",
        2,
        PUBSUB | LOADING | STALE,
        "Get the count of unique patterns pattern subscriptions",
    ),
    sub(
        "shardchannels",
        -2,
        PUBSUB | LOADING | STALE,
        "List active shard channels",
    ),
    sub(
        "shardnumsub",
        -2,
        PUBSUB | LOADING | STALE,
        "Get the count of subscribers for shard channels",
    ),
    sub(
        "help",
        2,
        LOADING | STALE,
        "Show helpful text about the different subcommands",
    ),
];

pub static COMMANDS: &[Command] = &[
    // Strings (t_string)
    cmd("get", strings::get, 2, READONLY | FAST, KEY1, "string", "1.0.0", "Get the value of a key"),
    cmd("set", strings::set, -3, RW, KEY1, "string", "1.0.0", "Set the string value of a key"),
    cmd("setnx", strings::setnx, 3, RW | FAST, KEY1, "string", "1.0.0", "Set the value of a key, only if the key does not exist"),
    cmd("setex", strings::setex, 4, RW, KEY1, "string", "2.0.0", "Set the value and expiration of a key"),
    cmd("psetex", strings::psetex, 4, RW, KEY1, "string", "2.6.0", "Set the value and expiration in milliseconds of a key"),
    cmd("mget", strings::mget, -2, READONLY | FAST, ALLKEYS, "string", "1.0.0", "Get the values of all the given keys"),
    cmd("mset", strings::mset, -3, RW, (1, -1, 2), "string", "1.0.1", "Set multiple keys to multiple values"),
    cmd("msetnx", strings::msetnx, -3, RW, (1, -1, 2), "string", "1.0.1", "Set multiple keys to multiple values, only if none of the keys exist"),
    cmd("getset", strings::getset, 3, RW | FAST, KEY1, "string", "1.0.0", "Set the string value of a key and return its old value"),
    cmd("getdel", strings::getdel, 2, WRITE | FAST, KEY1, "string", "6.2.0", "Get the value of a key and delete the key"),
    cmd("getex", strings::getex, -2, WRITE | FAST, KEY1, "string", "6.2.0", "Get the value of a key and optionally set its expiration"),
    cmd("append", strings::append, 3, RW | FAST, KEY1, "string", "2.0.0", "Append a value to a key"),
    cmd("strlen", strings::strlen, 2, READONLY | FAST, KEY1, "string", "2.2.0", "Get the length of the value stored in a key"),
    cmd("incr", strings::incr, 2, RW | FAST, KEY1, "string", "1.0.0", "Increment the integer value of a key by one"),
    cmd("decr", strings::decr, 2, RW | FAST, KEY1, "string", "1.0.0", "Decrement the integer value of a key by one"),
    cmd("incrby", strings::incrby, 3, RW | FAST, KEY1, "string", "1.0.0", "Increment the integer value of a key by the given amount"),
    cmd("decrby", strings::decrby, 3, RW | FAST, KEY1, "string", "1.0.0", "Decrement the integer value of a key by the given number"),
    cmd("incrbyfloat", strings::incrbyfloat, 3, RW | FAST, KEY1, "string", "2.6.0", "Increment the float value of a key by the given amount"),
    cmd("getrange", strings::getrange, 4, READONLY, KEY1, "string", "2.4.0", "Get a substring of the string stored at a key"),
    cmd("substr", strings::getrange, 4, READONLY, KEY1, "string", "1.0.0", "Get a substring of the string stored at a key"),
    cmd("setrange", strings::setrange, 4, RW, KEY1, "string", "2.2.0", "Overwrite part of a string at key starting at the specified offset"),
    cmd("lcs", strings::lcs, -3, READONLY, KEYS12, "string", "7.0.0", "Find longest common substring"),
    // HyperLogLog (hyperloglog.c)
    cmd("pfadd", super::hyperloglog::pfadd, -2, RW | FAST, KEY1, "hyperloglog", "2.8.9", "Adds the specified elements to the specified HyperLogLog."),
    cmd("pfcount", super::hyperloglog::pfcount, -2, READONLY, ALLKEYS, "hyperloglog", "2.8.9", "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s)."),
    cmd("pfmerge", super::hyperloglog::pfmerge, -2, RW, ALLKEYS, "hyperloglog", "2.8.9", "Merge N different HyperLogLogs into a single one."),
    cmd("pfdebug", super::hyperloglog::pfdebug, 3, RW | ADMIN, (2, 2, 1), "hyperloglog", "2.8.9", "Internal commands for debugging HyperLogLog values"),
    cmd("pfselftest", super::hyperloglog::pfselftest, 1, ADMIN, NOKEYS, "hyperloglog", "2.8.9", "An internal command for testing HyperLogLog values"),
    // Bitmaps (bitops.c): bitmaps.rs. BITOP's keys are the destination
    // and every source (2, -1, 1); BITFIELD is a write command even when
    // it only reads, as in Redis (a read-only replica refuses it), which is
    // why BITFIELD_RO exists.
    cmd("setbit", bitmaps::setbit, 4, RW, KEY1, "bitmap", "2.2.0", "Sets or clears the bit at offset in the string value stored at key"),
    cmd("getbit", bitmaps::getbit, 3, READONLY | FAST, KEY1, "bitmap", "2.2.0", "Returns the bit value at offset in the string value stored at key"),
    cmd("bitcount", bitmaps::bitcount, -2, READONLY, KEY1, "bitmap", "2.6.0", "Count set bits in a string"),
    cmd("bitpos", bitmaps::bitpos, -3, READONLY, KEY1, "bitmap", "2.8.7", "Find first bit set or clear in a string"),
    cmd("bitop", bitmaps::bitop, -4, RW, (2, -1, 1), "bitmap", "2.6.0", "Perform bitwise operations between strings"),
    cmd("bitfield", bitmaps::bitfield, -2, RW, KEY1, "bitmap", "3.2.0", "Perform arbitrary bitfield integer operations on strings"),
    cmd("bitfield_ro", bitmaps::bitfield_ro, -2, READONLY | FAST, KEY1, "bitmap", "6.0.0", "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD"),
    // Keys (db.c, expire.c)
    cmd("del", keys::del, -2, WRITE, ALLKEYS, "generic", "1.0.0", "Delete a key"),
    cmd("unlink", keys::unlink, -2, WRITE | FAST, ALLKEYS, "generic", "4.0.0", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking."),
    cmd("exists", keys::exists, -2, READONLY | FAST, ALLKEYS, "generic", "1.0.0", "Determine if a key exists"),
    cmd("type", keys::type_cmd, 2, READONLY | FAST, KEY1, "generic", "1.0.0", "Determine the type stored at key"),
    cmd("rename", keys::rename, 3, WRITE, KEYS12, "generic", "1.0.0", "Rename a key"),
    cmd("renamenx", keys::renamenx, 3, WRITE | FAST, KEYS12, "generic", "1.0.0", "Rename a key, only if the new key does not exist"),
    cmd("keys", keys::keys, 2, READONLY, NOKEYS, "generic", "1.0.0", "Find all keys matching the given pattern"),
    cmd("scan", keys::scan, -2, READONLY, NOKEYS, "generic", "2.8.0", "Incrementally iterate the keys space"),
    cmd("randomkey", keys::randomkey, 1, READONLY, NOKEYS, "generic", "1.0.0", "Return a random key from the keyspace"),
    cmd("touch", keys::touch, -2, READONLY | FAST, ALLKEYS, "generic", "3.2.1", "Alters the last access time of a key(s). Returns the number of existing keys specified."),
    cmd("dump", dump::dump, 2, READONLY, KEY1, "generic", "2.6.0", "Return a serialized version of the value stored at the specified key."),
    cmd("restore", dump::restore, -4, RW, KEY1, "generic", "2.6.0", "Create a key using the provided serialized value, previously obtained using DUMP."),
    cmd("restore-asking", dump::restore, -4, RW | ASKING, KEY1, "server", "3.0.0", "An internal command for migrating keys in a cluster"),
    cmd("migrate", migrate::migrate, -6, WRITE, (3, 3, 1), "generic", "2.6.0", "Atomically transfer a key from a Redis instance to another one."),
    cmd("copy", keys::copy, -3, RW, KEYS12, "generic", "6.2.0", "Copy a key"),
    // sort.c. The STORE destination is found by keyword ("movablekeys").
    cmd("sort", sort::sort, -2, RW, KEY1, "generic", "1.0.0", "Sort the elements in a list, set or sorted set"),
    cmd("sort_ro", sort::sort_ro, -2, READONLY, KEY1, "generic", "7.0.0", "Sort the elements in a list, set or sorted set. Read-only variant of SORT."),
    with_subs(cmd("object", keys::object, -2, READONLY, (2, 2, 1), "generic", "2.2.3", "A container for object introspection commands"), &OBJECT_SUBS),
    cmd("expire", keys::expire, -3, WRITE | FAST, KEY1, "generic", "1.0.0", "Set a key's time to live in seconds"),
    cmd("pexpire", keys::pexpire, -3, WRITE | FAST, KEY1, "generic", "2.6.0", "Set a key's time to live in milliseconds"),
    cmd("expireat", keys::expireat, -3, WRITE | FAST, KEY1, "generic", "1.2.0", "Set the expiration for a key as a UNIX timestamp"),
    cmd("pexpireat", keys::pexpireat, -3, WRITE | FAST, KEY1, "generic", "2.6.0", "Set the expiration for a key as a UNIX timestamp specified in milliseconds"),
    cmd("expiretime", keys::expiretime, 2, READONLY | FAST, KEY1, "generic", "7.0.0", "Get the expiration Unix timestamp for a key"),
    cmd("pexpiretime", keys::pexpiretime, 2, READONLY | FAST, KEY1, "generic", "7.0.0", "Get the expiration Unix timestamp for a key in milliseconds"),
    cmd("ttl", keys::ttl, 2, READONLY | FAST, KEY1, "generic", "1.0.0", "Get the time to live for a key in seconds"),
    cmd("pttl", keys::pttl, 2, READONLY | FAST, KEY1, "generic", "2.6.0", "Get the time to live for a key in milliseconds"),
    cmd("persist", keys::persist, 2, WRITE | FAST, KEY1, "generic", "2.2.0", "Remove the expiration from a key"),
    // Databases
    cmd("select", databases::select, 2, LOADING | STALE | FAST, NOKEYS, "connection", "1.0.0", "Change the selected database for the current connection"),
    cmd("swapdb", databases::swapdb, 3, WRITE | FAST, NOKEYS, "server", "4.0.0", "Swaps two Redis databases"),
    cmd("move", databases::move_cmd, 3, WRITE | FAST, KEY1, "generic", "1.0.0", "Move a key to another database"),
    cmd("flushdb", databases::flushdb, -1, WRITE, NOKEYS, "server", "1.0.0", "Remove all keys from the current database"),
    cmd("flushall", databases::flushall, -1, WRITE, NOKEYS, "server", "1.0.0", "Remove all keys from all databases"),
    cmd("dbsize", databases::dbsize, 1, READONLY | FAST, NOKEYS, "server", "1.0.0", "Return the number of keys in the selected database"),
    // Connection
    cmd("ping", connection::ping, -1, FAST, NOKEYS, "connection", "1.0.0", "Ping the server"),
    cmd("echo", connection::echo, 2, FAST | LOADING | STALE, NOKEYS, "connection", "1.0.0", "Echo the given string"),
    cmd("quit", connection::quit, -1, NOSCRIPT | NO_AUTH | LOADING | STALE | FAST | ALLOW_BUSY, NOKEYS, "connection", "1.0.0", "Close the connection"),
    cmd("reset", connection::reset, 1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, NOKEYS, "connection", "6.2.0", "Reset the connection"),
    cmd("hello", connection::hello, -1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, NOKEYS, "connection", "6.0.0", "Handshake with Redis"),
    cmd("auth", connection::auth, -2, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, NOKEYS, "connection", "1.0.0", "Authenticate to the server"),
    with_subs(cmd("client", connection::client, -2, NOSCRIPT | LOADING | STALE, NOKEYS, "connection", "2.4.0", "A container for client connection commands"), &CLIENT_SUBS),
    // Server
    with_subs(cmd("acl", acl::acl, -2, 0, NOKEYS, "server", "6.0.0", "A container for Access List Control commands"), &ACL_SUBS),
    with_subs(cmd("command", command::command, -1, LOADING | STALE, NOKEYS, "server", "2.8.13", "Get array of Redis command details"), &COMMAND_SUBS),
    with_subs(cmd("config", config::config, -2, NOSCRIPT | LOADING | STALE, NOKEYS, "server", "2.0.0", "A container for server configuration commands"), &CONFIG_SUBS),
    // Replication
    cmd("psync", crate::replication::master::psync, -3, ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI, NOKEYS, "server", "2.8.0", "Internal command used for replication"),
    cmd("sync", crate::replication::master::sync, 1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI, NOKEYS, "server", "1.0.0", "Internal command used for replication"),
    cmd("replconf", crate::replication::master::replconf, -1, ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY, NOKEYS, "server", "3.0.0", "An internal command for configuring the replication stream"),
    cmd("wait", crate::replication::master::wait, 3, NOSCRIPT, NOKEYS, "generic", "3.0.0", "Wait for the synchronous replication of all the write commands sent in the context of the current connection"),
    cmd("replicaof", crate::replication::replica::replicaof, 3, ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING, NOKEYS, "server", "5.0.0", "Make the server a replica of another instance, or promote it as master."),
    cmd("slaveof", crate::replication::replica::replicaof, 3, ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING, NOKEYS, "server", "1.0.0", "Make the server a replica of another instance, or promote it as master."),
    cmd("lolwut", lolwut::lolwut, -1, READONLY | FAST, NOKEYS, "server", "5.0.0", "Display some computer art and the Redis version"),
    with_subs(cmd("module", module::module, -2, 0, NOKEYS, "server", "4.0.0", "A container for module commands"), &MODULE_SUBS),
    cmd("failover", crate::replication::failover::failover, -1, ADMIN | NOSCRIPT | STALE, NOKEYS, "server", "6.2.0", "Start a coordinated failover between this server and one of its replicas."),
    cmd("role", crate::replication::replica::role, 1, NOSCRIPT | LOADING | STALE | FAST, NOKEYS, "server", "2.8.12", "Return the role of the instance in the context of replication"),
    cmd("info", server::info, -1, LOADING | STALE, NOKEYS, "server", "1.0.0", "Get information and statistics about the server"),
    cmd("time", server::time, 1, LOADING | STALE | FAST, NOKEYS, "server", "2.6.0", "Return the current server time"),
    cmd("save", server::save, 1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI, NOKEYS, "server", "1.0.0", "Synchronously save the dataset to disk"),
    cmd("bgrewriteaof", server::bgrewriteaof, 1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING, NOKEYS, "server", "1.0.0", "Asynchronously rewrite the append-only file to disk"),
    cmd("bgsave", server::bgsave, -1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING, NOKEYS, "server", "1.0.0", "Asynchronously save the dataset to disk"),
    cmd("lastsave", server::lastsave, 1, LOADING | STALE | FAST, NOKEYS, "server", "1.0.0", "Get the UNIX time stamp of the last successful save to disk"),
    with_subs(cmd("debug", debug::debug, -2, ADMIN | NOSCRIPT | LOADING | STALE, NOKEYS, "server", "1.0.0", "A container for debugging commands"), &DEBUG_SUBS),
    with_subs(cmd("slowlog", observe::slowlog, -2, 0, NOKEYS, "server", "2.2.12", "A container for slow log commands"), &SLOWLOG_SUBS),
    with_subs(cmd("latency", observe::latency, -2, 0, NOKEYS, "server", "2.8.13", "A container for latency diagnostics commands"), &LATENCY_SUBS),
    cmd("hotkeys", observe::hotkeys, -1, ADMIN | NOSCRIPT | LOADING | STALE, NOKEYS, "server", "7.0.0", "Show the most accessed keys (RedisLite)"),
    cmd("monitor", observe::monitor, 1, ADMIN | NOSCRIPT | LOADING | STALE, NOKEYS, "server", "1.0.0", "Listen for all requests received by the server in real time"),
    cmd("shutdown", server::shutdown, -1, ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY, NOKEYS, "server", "1.0.0", "Synchronously save the dataset to disk and then shut down the server"),
    // Pub/sub (pubsub.c)
    cmd("subscribe", pubsub::subscribe, -2, PUBSUB | NOSCRIPT | LOADING | STALE, NOKEYS, "pubsub", "2.0.0", "Listen for messages published to the given channels"),
    cmd("psubscribe", pubsub::psubscribe, -2, PUBSUB | NOSCRIPT | LOADING | STALE, NOKEYS, "pubsub", "2.0.0", "Listen for messages published to channels matching the given patterns"),
    cmd("unsubscribe", pubsub::unsubscribe, -1, PUBSUB | NOSCRIPT | LOADING | STALE, NOKEYS, "pubsub", "2.0.0", "Stop listening for messages posted to the given channels"),
    cmd("punsubscribe", pubsub::punsubscribe, -1, PUBSUB | NOSCRIPT | LOADING | STALE, NOKEYS, "pubsub", "2.0.0", "Stop listening for messages posted to channels matching the given patterns"),
    cmd("publish", pubsub::publish, 3, PUBSUB | LOADING | STALE | FAST, NOKEYS, "pubsub", "2.0.0", "Post a message to a channel"),
    cmd("ssubscribe", pubsub::ssubscribe, -2, PUBSUB | NOSCRIPT | LOADING | STALE | CHANNEL_KEYS, ALLKEYS, "pubsub", "7.0.0", "Listen for messages published to the given shard channels"),
    cmd("sunsubscribe", pubsub::sunsubscribe, -1, PUBSUB | NOSCRIPT | LOADING | STALE | CHANNEL_KEYS, ALLKEYS, "pubsub", "7.0.0", "Stop listening for messages posted to the given shard channels"),
    cmd("spublish", pubsub::spublish, 3, PUBSUB | LOADING | STALE | FAST | CHANNEL_KEYS, KEY1, "pubsub", "7.0.0", "Post a message to a shard channel"),
    with_subs(cmd("pubsub", pubsub::pubsub, -2, 0, NOKEYS, "pubsub", "2.8.0", "A container for Pub/Sub commands"), &PUBSUB_SUBS),
    // Scripting (eval.c): no engine, only SCRIPT KILL's answer.
    with_subs(cmd("script", scripting::script, -2, 0, NOKEYS, "scripting", "2.6.0", "A container for Lua scripts management commands"), &SCRIPT_SUBS),
    // Scripts (eval.c). Their keys follow numkeys (acl_key_needs.rs);
    // neither is a write command itself: the commands a script runs are
    // checked one by one (scripting/run.rs).
    cmd("eval", scripting::eval, -3, NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS, NOKEYS, "scripting", "2.6.0", "Execute a Lua script server side"),
    cmd("evalsha", scripting::evalsha, -3, NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS, NOKEYS, "scripting", "2.6.0", "Execute a Lua script server side"),
    cmd("eval_ro", scripting::eval_ro, -3, READONLY | NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS, NOKEYS, "scripting", "7.0.0", "Execute a read-only Lua script server side"),
    cmd("evalsha_ro", scripting::evalsha_ro, -3, READONLY | NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS, NOKEYS, "scripting", "7.0.0", "Execute a read-only Lua script server side"),
    // Functions (functions.c): keys follow numkeys, as EVAL's.
    with_subs(cmd("function", functions::function, -2, 0, NOKEYS, "scripting", "7.0.0", "A container for function commands"), &FUNCTION_SUBS),
    cmd("fcall", functions::fcall, -3, NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS, NOKEYS, "scripting", "7.0.0", "Invoke a function"),
    cmd("fcall_ro", functions::fcall_ro, -3, READONLY | NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS, NOKEYS, "scripting", "7.0.0", "Invoke a read-only function"),
    // Cluster (cluster.c): a standalone server's answer to all of them.
    with_subs(cmd("cluster", cluster::cluster_disabled, -2, 0, NOKEYS, "cluster", "3.0.0", "A container for cluster commands"), &CLUSTER_SUBS),
    cmd("asking", cluster::cluster_disabled, 1, FAST, NOKEYS, "cluster", "3.0.0", "Sent by cluster clients after an -ASK redirect"),
    cmd("readonly", cluster::cluster_disabled, 1, LOADING | STALE | FAST, NOKEYS, "cluster", "3.0.0", "Enables read queries for a connection to a cluster replica node"),
    cmd("readwrite", cluster::cluster_disabled, 1, LOADING | STALE | FAST, NOKEYS, "cluster", "3.0.0", "Disables read queries for a connection to a cluster replica node"),
    // Transactions (multi.c)
    cmd("multi", tx::multi, 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, NOKEYS, "transactions", "1.2.0", "Mark the start of a transaction block"),
    cmd("exec", tx::exec, 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG, NOKEYS, "transactions", "1.2.0", "Execute all commands issued after MULTI"),
    cmd("discard", tx::discard, 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, NOKEYS, "transactions", "2.0.0", "Discard all commands issued after MULTI"),
    cmd("watch", tx::watch, -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, ALLKEYS, "transactions", "2.2.0", "Watch the given keys to determine execution of the MULTI/EXEC block"),
    cmd("unwatch", tx::unwatch, 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, NOKEYS, "transactions", "2.2.0", "Forget about all watched keys"),
    // Hashes (t_hash): hashes.rs
    cmd("hset", super::hashes::hset, -4, RW | FAST, KEY1, "hash", "2.0.0", "Set the string value of a hash field"),
    cmd("hsetnx", super::hashes::hsetnx, 4, RW | FAST, KEY1, "hash", "2.0.0", "Set the value of a hash field, only if the field does not exist"),
    cmd("hget", super::hashes::hget, 3, READONLY | FAST, KEY1, "hash", "2.0.0", "Get the value of a hash field"),
    cmd("hmget", super::hashes::hmget, -3, READONLY | FAST, KEY1, "hash", "2.0.0", "Get the values of all the given hash fields"),
    cmd("hmset", super::hashes::hmset, -4, RW | FAST, KEY1, "hash", "2.0.0", "Set multiple hash fields to multiple values"),
    cmd("hdel", super::hashes::hdel, -3, WRITE | FAST, KEY1, "hash", "2.0.0", "Delete one or more hash fields"),
    cmd("hlen", super::hashes::hlen, 2, READONLY | FAST, KEY1, "hash", "2.0.0", "Get the number of fields in a hash"),
    cmd("hexists", super::hashes::hexists, 3, READONLY | FAST, KEY1, "hash", "2.0.0", "Determine if a hash field exists"),
    cmd("hkeys", super::hashes::hkeys, 2, READONLY, KEY1, "hash", "2.0.0", "Get all the fields in a hash"),
    cmd("hvals", super::hashes::hvals, 2, READONLY, KEY1, "hash", "2.0.0", "Get all the values in a hash"),
    cmd("hgetall", super::hashes::hgetall, 2, READONLY, KEY1, "hash", "2.0.0", "Get all the fields and values in a hash"),
    cmd("hincrby", super::hashes::hincrby, 4, RW | FAST, KEY1, "hash", "2.0.0", "Increment the integer value of a hash field by the given number"),
    cmd("hincrbyfloat", super::hashes::hincrbyfloat, 4, RW | FAST, KEY1, "hash", "2.6.0", "Increment the float value of a hash field by the given amount"),
    cmd("hstrlen", super::hashes::hstrlen, 3, READONLY | FAST, KEY1, "hash", "3.2.0", "Get the length of the value of a hash field"),
    cmd("hrandfield", super::hashes::hrandfield, -2, READONLY, KEY1, "hash", "6.2.0", "Get one or multiple random fields from a hash"),
    cmd("hscan", super::hashes::hscan, -3, READONLY, KEY1, "hash", "2.8.0", "Incrementally iterate hash fields and associated values"),
    // Sets (t_set.c). Flags, arity and key positions as Redis 7.0's COMMAND
    // INFO reports them. SINTERCARD's keys follow a numkeys argument, which
    // the first/last/step triple cannot express: Redis reports (0, 0, 0)
    // with the movablekeys flag.
    cmd("sadd", super::sets::sadd, -3, RW | FAST, KEY1, "set", "1.0.0", "Add one or more members to a set"),
    cmd("srem", super::sets::srem, -3, WRITE | FAST, KEY1, "set", "1.0.0", "Remove one or more members from a set"),
    cmd("smembers", super::sets::smembers, 2, READONLY, KEY1, "set", "1.0.0", "Get all the members in a set"),
    cmd("sismember", super::sets::sismember, 3, READONLY | FAST, KEY1, "set", "1.0.0", "Determine if a given value is a member of a set"),
    cmd("smismember", super::sets::smismember, -3, READONLY | FAST, KEY1, "set", "6.2.0", "Returns the membership associated with the given elements for a set"),
    cmd("scard", super::sets::scard, 2, READONLY | FAST, KEY1, "set", "1.0.0", "Get the number of members in a set"),
    cmd("spop", super::sets::spop, -2, WRITE | FAST, KEY1, "set", "1.0.0", "Remove and return one or multiple random members from a set"),
    cmd("srandmember", super::sets::srandmember, -2, READONLY, KEY1, "set", "1.0.0", "Get one or multiple random members from a set"),
    cmd("smove", super::sets::smove, 4, WRITE | FAST, KEYS12, "set", "1.0.0", "Move a member from one set to another"),
    cmd("sinter", super::sets::sinter, -2, READONLY, ALLKEYS, "set", "1.0.0", "Intersect multiple sets"),
    cmd("sintercard", super::sets::sintercard, -3, READONLY, NOKEYS, "set", "7.0.0", "Intersect multiple sets and return the cardinality of the result"),
    cmd("sinterstore", super::sets::sinterstore, -3, RW, ALLKEYS, "set", "1.0.0", "Intersect multiple sets and store the resulting set in a key"),
    cmd("sunion", super::sets::sunion, -2, READONLY, ALLKEYS, "set", "1.0.0", "Add multiple sets"),
    cmd("sunionstore", super::sets::sunionstore, -3, RW, ALLKEYS, "set", "1.0.0", "Add multiple sets and store the resulting set in a key"),
    cmd("sdiff", super::sets::sdiff, -2, READONLY, ALLKEYS, "set", "1.0.0", "Subtract multiple sets"),
    cmd("sdiffstore", super::sets::sdiffstore, -3, RW, ALLKEYS, "set", "1.0.0", "Subtract multiple sets and store the resulting set in a key"),
    cmd("sscan", super::sets::sscan, -3, READONLY, KEY1, "set", "2.8.0", "Incrementally iterate Set elements"),
    // Memory introspection (object.c's MEMORY)
    with_subs(cmd("memory", super::memory::memory, -2, 0, (2, 2, 1), "server", "4.0.0", "A container for memory diagnostics commands"), &MEMORY_SUBS),
    // Lists (t_list.c). LMPOP/BLMPOP find their keys through numkeys
    // (Redis's "movablekeys"), so their legacy key range is 0 0 0.
    cmd("lpush", lists::lpush, -3, RW | FAST, KEY1, "list", "1.0.0", "Prepend one or multiple elements to a list"),
    cmd("rpush", lists::rpush, -3, RW | FAST, KEY1, "list", "1.0.0", "Append one or multiple elements to a list"),
    cmd("lpushx", lists::lpushx, -3, RW | FAST, KEY1, "list", "2.2.0", "Prepend an element to a list, only if the list exists"),
    cmd("rpushx", lists::rpushx, -3, RW | FAST, KEY1, "list", "2.2.0", "Append an element to a list, only if the list exists"),
    cmd("lpop", lists::lpop, -2, WRITE | FAST, KEY1, "list", "1.0.0", "Remove and get the first elements in a list"),
    cmd("rpop", lists::rpop, -2, WRITE | FAST, KEY1, "list", "1.0.0", "Remove and get the last elements in a list"),
    cmd("llen", lists::llen, 2, READONLY | FAST, KEY1, "list", "1.0.0", "Get the length of a list"),
    cmd("lrange", lists::lrange, 4, READONLY, KEY1, "list", "1.0.0", "Get a range of elements from a list"),
    cmd("lindex", lists::lindex, 3, READONLY, KEY1, "list", "1.0.0", "Get an element from a list by its index"),
    cmd("lset", lists::lset, 4, RW, KEY1, "list", "1.0.0", "Set the value of an element in a list by its index"),
    cmd("linsert", lists::linsert, 5, RW, KEY1, "list", "2.2.0", "Insert an element before or after another element in a list"),
    cmd("lrem", lists::lrem, 4, WRITE, KEY1, "list", "1.0.0", "Remove elements from a list"),
    cmd("ltrim", lists::ltrim, 4, WRITE, KEY1, "list", "1.0.0", "Trim a list to the specified range"),
    cmd("lpos", lists::lpos, -3, READONLY, KEY1, "list", "6.0.6", "Return the index of matching elements on a list"),
    cmd("lmove", lists::lmove, 5, RW, KEYS12, "list", "6.2.0", "Pop an element from a list, push it to another list and return it"),
    cmd("rpoplpush", lists::rpoplpush, 3, RW, KEYS12, "list", "1.2.0", "Remove the last element in a list, prepend it to another list and return it"),
    cmd("lmpop", lists::lmpop, -4, WRITE, NOKEYS, "list", "7.0.0", "Pop elements from a list"),
    cmd("blpop", lists::blpop, -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), "list", "2.0.0", "Remove and get the first element in a list, or block until one is available"),
    cmd("brpop", lists::brpop, -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), "list", "2.0.0", "Remove and get the last element in a list, or block until one is available"),
    cmd("blmove", lists::blmove, 6, RW | NOSCRIPT | BLOCKING, KEYS12, "list", "6.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available"),
    cmd("brpoplpush", lists::brpoplpush, 4, RW | NOSCRIPT | BLOCKING, KEYS12, "list", "2.2.0", "Pop an element from a list, push it to another list and return it; or block until one is available"),
    cmd("blmpop", lists::blmpop, -5, WRITE | BLOCKING, NOKEYS, "list", "7.0.0", "Pop elements from a list, or block until one is available"),
    // Sorted sets (t_zset). Key positions are Redis's legacy triple; the
    // numkeys commands report 0 0 0 (or the destination) as Redis does.
    cmd("zadd", zsets::zadd, -4, RW | FAST, KEY1, "sorted-set", "1.2.0", "Add one or more members to a sorted set, or update its score if it already exists"),
    cmd("zincrby", zsets::zincrby, 4, RW | FAST, KEY1, "sorted-set", "1.2.0", "Increment the score of a member in a sorted set"),
    cmd("zrem", zsets::zrem, -3, WRITE | FAST, KEY1, "sorted-set", "1.2.0", "Remove one or more members from a sorted set"),
    cmd("zcard", zsets::zcard, 2, READONLY | FAST, KEY1, "sorted-set", "1.2.0", "Get the number of members in a sorted set"),
    cmd("zscore", zsets::zscore, 3, READONLY | FAST, KEY1, "sorted-set", "1.2.0", "Get the score associated with the given member in a sorted set"),
    cmd("zmscore", zsets::zmscore, -3, READONLY | FAST, KEY1, "sorted-set", "6.2.0", "Get the score associated with the given members in a sorted set"),
    cmd("zrank", zsets::zrank, 3, READONLY | FAST, KEY1, "sorted-set", "2.0.0", "Determine the index of a member in a sorted set"),
    cmd("zrevrank", zsets::zrevrank, 3, READONLY | FAST, KEY1, "sorted-set", "2.0.0", "Determine the index of a member in a sorted set, with scores ordered from high to low"),
    cmd("zrange", zsets::zrange, -4, READONLY, KEY1, "sorted-set", "1.2.0", "Return a range of members in a sorted set"),
    cmd("zrangestore", zsets::zrangestore, -5, RW, KEYS12, "sorted-set", "6.2.0", "Store a range of members from sorted set into another key"),
    cmd("zrangebyscore", zsets::zrangebyscore, -4, READONLY, KEY1, "sorted-set", "1.0.5", "Return a range of members in a sorted set, by score"),
    cmd("zrevrangebyscore", zsets::zrevrangebyscore, -4, READONLY, KEY1, "sorted-set", "2.2.0", "Return a range of members in a sorted set, by score, with scores ordered from high to low"),
    cmd("zrangebylex", zsets::zrangebylex, -4, READONLY, KEY1, "sorted-set", "2.8.9", "Return a range of members in a sorted set, by lexicographical range"),
    cmd("zrevrangebylex", zsets::zrevrangebylex, -4, READONLY, KEY1, "sorted-set", "2.8.9", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings."),
    cmd("zrevrange", zsets::zrevrange, -4, READONLY, KEY1, "sorted-set", "1.2.0", "Return a range of members in a sorted set, by index, with scores ordered from high to low"),
    cmd("zcount", zsets::zcount, 4, READONLY | FAST, KEY1, "sorted-set", "2.0.0", "Count the members in a sorted set with scores within the given values"),
    cmd("zlexcount", zsets::zlexcount, 4, READONLY | FAST, KEY1, "sorted-set", "2.8.9", "Count the number of members in a sorted set between a given lexicographical range"),
    cmd("zpopmin", zsets::zpopmin, -2, WRITE | FAST, KEY1, "sorted-set", "5.0.0", "Remove and return members with the lowest scores in a sorted set"),
    cmd("zpopmax", zsets::zpopmax, -2, WRITE | FAST, KEY1, "sorted-set", "5.0.0", "Remove and return members with the highest scores in a sorted set"),
    cmd("zmpop", zsets::zmpop, -4, WRITE, NOKEYS, "sorted-set", "7.0.0", "Remove and return members with scores in a sorted set"),
    cmd("zremrangebyrank", zsets::zremrangebyrank, 4, WRITE, KEY1, "sorted-set", "2.0.0", "Remove all members in a sorted set within the given indexes"),
    cmd("zremrangebyscore", zsets::zremrangebyscore, 4, WRITE, KEY1, "sorted-set", "1.2.0", "Remove all members in a sorted set within the given scores"),
    cmd("zremrangebylex", zsets::zremrangebylex, 4, WRITE, KEY1, "sorted-set", "2.8.9", "Remove all members in a sorted set between the given lexicographical range"),
    cmd("zunion", zsets::zunion, -3, READONLY, NOKEYS, "sorted-set", "6.2.0", "Add multiple sorted sets"),
    cmd("zinter", zsets::zinter, -3, READONLY, NOKEYS, "sorted-set", "6.2.0", "Intersect multiple sorted sets"),
    cmd("zdiff", zsets::zdiff, -3, READONLY, NOKEYS, "sorted-set", "6.2.0", "Subtract multiple sorted sets"),
    cmd("zunionstore", zsets::zunionstore, -4, RW, KEY1, "sorted-set", "2.0.0", "Add multiple sorted sets and store the resulting sorted set in a new key"),
    cmd("zinterstore", zsets::zinterstore, -4, RW, KEY1, "sorted-set", "2.0.0", "Intersect multiple sorted sets and store the resulting sorted set in a new key"),
    cmd("zdiffstore", zsets::zdiffstore, -4, RW, KEY1, "sorted-set", "6.2.0", "Subtract multiple sorted sets and store the resulting sorted set in a new key"),
    cmd("zintercard", zsets::zintercard, -3, READONLY, NOKEYS, "sorted-set", "7.0.0", "Intersect multiple sorted sets and return the cardinality of the result"),
    cmd("zrandmember", zsets::zrandmember, -2, READONLY, KEY1, "sorted-set", "6.2.0", "Get one or multiple random elements from a sorted set"),
    cmd("zscan", zsets::zscan, -3, READONLY, KEY1, "sorted-set", "2.8.0", "Incrementally iterate sorted sets elements and associated scores"),
    // Geo (a geo set is a sorted set of geohash scores)
    cmd("geoadd", geo::geoadd, -5, RW, KEY1, "geo", "3.2.0", "Add one or more geospatial items in the geospatial index represented using a sorted set"),
    cmd("geodist", geo::geodist, -4, READONLY, KEY1, "geo", "3.2.0", "Returns the distance between two members of a geospatial index"),
    cmd("geohash", geo::geohash_cmd, -2, READONLY, KEY1, "geo", "3.2.0", "Returns members of a geospatial index as standard geohash strings"),
    cmd("geopos", geo::geopos, -2, READONLY, KEY1, "geo", "3.2.0", "Returns longitude and latitude of members of a geospatial index"),
    cmd("georadius", geo::georadius, -6, RW, KEY1, "geo", "3.2.0", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point"),
    cmd("georadius_ro", geo::georadius_ro, -6, READONLY, KEY1, "geo", "3.2.10", "A read-only variant for GEORADIUS"),
    cmd("georadiusbymember", geo::georadiusbymember, -5, RW, KEY1, "geo", "3.2.0", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member"),
    cmd("georadiusbymember_ro", geo::georadiusbymember_ro, -5, READONLY, KEY1, "geo", "3.2.10", "A read-only variant for GEORADIUSBYMEMBER"),
    cmd("geosearch", geo::geosearch, -7, READONLY, KEY1, "geo", "6.2.0", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle."),
    cmd("geosearchstore", geo::geosearchstore, -8, RW, KEYS12, "geo", "6.2.0", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key."),
    cmd("bzpopmin", zsets::bzpopmin, -3, WRITE | NOSCRIPT | FAST | BLOCKING, (1, -2, 1), "sorted-set", "5.0.0", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available"),
    cmd("bzpopmax", zsets::bzpopmax, -3, WRITE | NOSCRIPT | FAST | BLOCKING, (1, -2, 1), "sorted-set", "5.0.0", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available"),
    // Streams, consumer-group side (t_stream.c): stream_groups.rs. XREAD
    // and XREADGROUP find their keys after STREAMS (Redis's keyword key
    // spec, "movablekeys"), so their legacy key range is 0 0 0; XGROUP
    // carries its subcommands' key (2 2 1) for the ACL and GETKEYS, as
    // OBJECT does (XINFO, below, too).
    cmd("xread", super::stream_groups::xread, -4, READONLY | BLOCKING, NOKEYS, "stream", "5.0.0", "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block."),
    cmd("xreadgroup", super::stream_groups::xreadgroup, -7, WRITE | BLOCKING, NOKEYS, "stream", "5.0.0", "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block."),
    with_subs(cmd("xgroup", super::stream_groups::xgroup, -2, 0, (2, 2, 1), "stream", "5.0.0", "A container for consumer groups commands"), &XGROUP_SUBS),
    cmd("xack", super::stream_groups::xack, -4, WRITE | FAST, KEY1, "stream", "5.0.0", "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL."),
    cmd("xpending", super::stream_groups::xpending, -3, READONLY, KEY1, "stream", "5.0.0", "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged."),
    cmd("xclaim", super::stream_groups::xclaim, -6, WRITE | FAST, KEY1, "stream", "5.0.0", "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer."),
    cmd("xautoclaim", super::stream_groups::xautoclaim, -6, WRITE | FAST, KEY1, "stream", "6.2.0", "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer."),
    cmd("bzmpop", zsets::bzmpop, -5, WRITE | BLOCKING, NOKEYS, "sorted-set", "7.0.0", "Remove and return members with scores in a sorted set or block until one is available"),
    // Streams (t_stream.c): streams.rs. XINFO's subcommand STREAM takes
    // the key at 2, reported on the command as MEMORY and OBJECT do.
    cmd("xadd", streams::xadd, -5, RW | FAST, KEY1, "stream", "5.0.0", "Appends a new entry to a stream"),
    cmd("xlen", streams::xlen, 2, READONLY | FAST, KEY1, "stream", "5.0.0", "Return the number of entries in a stream"),
    cmd("xrange", streams::xrange, -4, READONLY, KEY1, "stream", "5.0.0", "Return a range of elements in a stream, with IDs matching the specified IDs interval"),
    cmd("xrevrange", streams::xrevrange, -4, READONLY, KEY1, "stream", "5.0.0", "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE"),
    cmd("xdel", streams::xdel, -3, WRITE | FAST, KEY1, "stream", "5.0.0", "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist."),
    cmd("xtrim", streams::xtrim, -4, WRITE, KEY1, "stream", "5.0.0", "Trims the stream to (approximately if '~' is passed) a certain size"),
    cmd("xsetid", streams::xsetid, -3, RW | FAST, KEY1, "stream", "5.0.0", "An internal command for replicating stream values"),
    with_subs(cmd("xinfo", streams::xinfo, -2, 0, (2, 2, 1), "stream", "5.0.0", "A container for stream introspection commands"), &XINFO_SUBS),
];

/// Case-insensitive lookup without allocating, by the name clients call
/// the command by: its `rename-command` name, or nothing when renamed to
/// "". Names of up to 8 bytes
/// (GET, SET, HSET, ZADD, LPUSH... the commands sent most) are packed into
/// one u64, lower-cased eight bytes at a time and found in a table keyed by
/// that word: about 20 instructions. Longer names are lower-cased and
/// hashed a byte at a time (FNV-1a). A general-purpose map would spend more
/// on keyed SipHash than the whole GET command costs; the key set here is
/// fixed, so plain fast hashes are safe.
pub fn lookup(name: &[u8]) -> Option<(usize, &'static Command)> {
    find_in(index(), name)
}

/// Lookup by the name in the table, ignoring `rename-command`: ACL rules
/// name commands this way, as Redis 7.0 resolves them against its command
/// table from before renaming.
pub fn lookup_original(name: &[u8]) -> Option<(usize, &'static Command)> {
    find_in(original_index(), name)
}

/// Longest name `lookup` can find; `rename-command` refuses longer targets.
pub const NAME_MAX: usize = 128;

#[inline]
fn find_in(index: &NameIndex, name: &[u8]) -> Option<(usize, &'static Command)> {
    let idx = if name.len() <= 8 {
        index.find_short(name)?
    } else {
        if name.len() > NAME_MAX {
            return None;
        }
        let mut lower = [0u8; NAME_MAX];
        let mut h = FNV_OFFSET;
        for (d, s) in lower.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
            h = (h ^ *d as u64).wrapping_mul(FNV_PRIME);
        }
        index.find(h, &lower[..name.len()])?
    };
    Some((idx, &COMMANDS[idx]))
}

/// Whether the command at `idx` can be called (not renamed to ""). COMMAND,
/// COMMAND COUNT/LIST/DOCS leave disabled commands out, as Redis does.
pub fn enabled(idx: usize) -> bool {
    index().names.get(idx).is_some_and(Option::is_some)
}

/// The effective names after applying `renames` (FROM, TO) in order, as
/// Redis applies its `rename-command` lines: FROM is looked up among the
/// names so far, TO = "" removes the command, and TO must not already name
/// another one. Errors are redis.conf's texts.
pub fn effective_names(renames: &[(String, String)]) -> Result<Vec<Option<Box<[u8]>>>, String> {
    let mut names: Vec<Option<Box<[u8]>>> = COMMANDS
        .iter()
        .map(|c| Some(c.name.as_bytes().into()))
        .collect();
    for (from, to) in renames {
        let from = from.to_ascii_lowercase();
        let to = to.to_ascii_lowercase();
        let Some(i) = names
            .iter()
            .position(|n| n.as_deref() == Some(from.as_bytes()))
        else {
            return Err("No such command in rename-command".into());
        };
        names[i] = None;
        if to.is_empty() {
            continue;
        }
        if to.len() > NAME_MAX {
            return Err(format!(
                "rename-command target longer than {NAME_MAX} bytes"
            ));
        }
        if names.iter().any(|n| n.as_deref() == Some(to.as_bytes())) {
            return Err("Target command name already exists".into());
        }
        names[i] = Some(to.as_bytes().into());
    }
    Ok(names)
}

static INDEX: OnceLock<NameIndex> = OnceLock::new();

/// Apply the configuration's `rename-command` lines. Must run before the
/// first `lookup` (the index is built once, so lookups stay lock- and
/// allocation-free); refused afterwards.
pub fn install_renames(renames: &[(String, String)]) -> Result<(), String> {
    let names = effective_names(renames)?;
    INDEX
        .set(NameIndex::build(names))
        .map_err(|_| "rename-command applied after the command table was in use".to_string())
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(FNV_OFFSET, |h, &b| (h ^ b as u64).wrapping_mul(FNV_PRIME))
}

/// Up to 8 bytes packed little-endian into a word, zero padded, with ASCII
/// upper-case letters lowered (SWAR: a byte gets 0x20 added exactly when
/// it lies in 'A'..='Z'; bytes >= 0x80 are left alone). Zero padding makes
/// "get" and "get\0" the same word, so the length is compared as well.
#[inline]
fn pack_lower(name: &[u8]) -> u64 {
    debug_assert!(name.len() <= 8);
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Byte by byte: a variable-length copy would be a memcpy call.
    let w = name
        .iter()
        .rev()
        .fold(0u64, |w, &b| (w << 8) | u64::from(b));
    let low7 = w & !HIGH;
    // High bit of each byte: its low 7 bits are > '@' (0x40), resp. > 'Z'.
    let above_at = low7.wrapping_add(ONES * (0x7f - b'@' as u64));
    let above_z = low7.wrapping_add(ONES * (0x7f - b'Z' as u64));
    let upper = above_at & !above_z & !w & HIGH;
    w | (upper >> 2)
}

/// Slot of a packed short name in the short table.
#[inline]
fn short_slot(word: u64, bits: u32) -> usize {
    (word.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
}

/// Linear-probing tables of command indexes, at most 25% full: one for
/// names of up to 8 bytes keyed by their packed lower-case word, one for
/// all names keyed by FNV-1a.
struct NameIndex {
    /// Each command's effective name (lowercase), by table index; None =
    /// disabled by `rename-command X ""`.
    names: Vec<Option<Box<[u8]>>>,
    slots: Vec<u16>,
    mask: usize,
    /// (packed name, length, command index); length 0 = empty.
    short: Vec<(u64, u8, u16)>,
    short_bits: u32,
}

const EMPTY_SLOT: u16 = u16::MAX;

impl NameIndex {
    fn build(names: Vec<Option<Box<[u8]>>>) -> NameIndex {
        let size = (COMMANDS.len() * 4).next_power_of_two();
        let mut slots = vec![EMPTY_SLOT; size];
        let mask = size - 1;
        let short_bits = size.trailing_zeros();
        let mut short = vec![(0u64, 0u8, EMPTY_SLOT); size];
        for (i, name) in names.iter().enumerate() {
            let Some(name) = name.as_deref() else {
                continue;
            };
            let mut pos = fnv1a(name) as usize & mask;
            while slots[pos] != EMPTY_SLOT {
                pos = (pos + 1) & mask;
            }
            slots[pos] = i as u16;
            if name.len() <= 8 {
                let word = pack_lower(name);
                let mut pos = short_slot(word, short_bits);
                while short[pos].1 != 0 {
                    pos = (pos + 1) & mask;
                }
                short[pos] = (word, name.len() as u8, i as u16);
            }
        }
        NameIndex {
            names,
            slots,
            mask,
            short,
            short_bits,
        }
    }

    fn original() -> NameIndex {
        NameIndex::build(
            COMMANDS
                .iter()
                .map(|c| Some(c.name.as_bytes().into()))
                .collect(),
        )
    }

    /// The command named `name` (at most 8 bytes), ignoring ASCII case.
    #[inline]
    fn find_short(&self, name: &[u8]) -> Option<usize> {
        let word = pack_lower(name);
        let mut pos = short_slot(word, self.short_bits);
        loop {
            let (w, len, idx) = *self.short.get(pos)?;
            if len == 0 {
                return None;
            }
            if w == word && len as usize == name.len() {
                return Some(idx as usize);
            }
            pos = (pos + 1) & self.mask;
        }
    }

    fn find(&self, hash: u64, lower: &[u8]) -> Option<usize> {
        let mut pos = hash as usize & self.mask;
        loop {
            let slot = self.slots[pos];
            if slot == EMPTY_SLOT {
                return None;
            }
            if self.names[slot as usize].as_deref() == Some(lower) {
                return Some(slot as usize);
            }
            pos = (pos + 1) & self.mask;
        }
    }
}

/// The command id space: one id per command (its table index), then one
/// per subcommand (`config|get`), as Redis 7.0 gives every subcommand its
/// own entry. ACL bitmaps and the per-command statistics (INFO
/// commandstats / latencystats, LATENCY HISTOGRAM, /metrics) are indexed
/// by it, so `CONFIG GET` and `CONFIG SET` are allowed and counted apart.
pub struct CommandIds {
    /// Id of each command's first subcommand (by table index).
    pub sub_base: Vec<usize>,
    /// Number of ids.
    pub total: usize,
    /// Full name of each id (`client|info`), made once: CLIENT LIST's
    /// `cmd=` field shows the last command by it, as Redis.
    names: Vec<&'static str>,
}

impl CommandIds {
    /// The id a request runs as: its subcommand's when the command is a
    /// container and the subcommand exists, else the command's own.
    pub fn of(&self, idx: usize, cmd: &Command, argv: &super::Argv) -> usize {
        if cmd.subcommands.is_empty() || argv.len() < 2 {
            return idx;
        }
        let sub = argv.get(1);
        cmd.subcommands
            .iter()
            .position(|s| s.name.as_bytes().eq_ignore_ascii_case(sub))
            .map_or(idx, |j| self.sub_base[idx] + j)
    }

    /// The command (and subcommand) an id stands for.
    pub fn command(&self, id: usize) -> Option<(&'static Command, Option<&'static SubCommand>)> {
        if id < COMMANDS.len() {
            return Some((&COMMANDS[id], None));
        }
        // The last command whose subcommands start at or before `id`.
        let i = self.sub_base.partition_point(|&b| b <= id).checked_sub(1)?;
        let c = &COMMANDS[i];
        c.subcommands
            .get(id - self.sub_base[i])
            .map(|s| (c, Some(s)))
    }

    /// [`CommandIds::full_name`] without allocating (`""` for no id).
    pub fn static_name(&self, id: usize) -> &'static str {
        self.names.get(id).copied().unwrap_or("")
    }

    /// Redis's full name of an id: `get`, `config|get`.
    pub fn full_name(&self, id: usize) -> String {
        match self.command(id) {
            Some((c, Some(s))) => format!("{}|{}", c.name, s.name),
            Some((c, None)) => c.name.to_string(),
            None => String::new(),
        }
    }

    /// The id of a full name (`get`, `CONFIG|GET`), ignoring case.
    pub fn by_name(&self, name: &[u8]) -> Option<usize> {
        match name.iter().position(|&b| b == b'|') {
            None => lookup(name).map(|(i, _)| i),
            Some(bar) => {
                let (i, c) = lookup(&name[..bar])?;
                let sub = &name[bar + 1..];
                c.subcommands
                    .iter()
                    .position(|s| s.name.as_bytes().eq_ignore_ascii_case(sub))
                    .map(|j| self.sub_base[i] + j)
            }
        }
    }

    /// Every id in display order: each command followed by its
    /// subcommands.
    pub fn in_order(&self) -> impl Iterator<Item = usize> + '_ {
        COMMANDS.iter().enumerate().flat_map(move |(i, c)| {
            std::iter::once(i).chain((0..c.subcommands.len()).map(move |j| self.sub_base[i] + j))
        })
    }
}

/// The command id space, built once.
pub fn ids() -> &'static CommandIds {
    static IDS: OnceLock<CommandIds> = OnceLock::new();
    IDS.get_or_init(|| {
        let mut next = COMMANDS.len();
        let mut sub_base = Vec::with_capacity(COMMANDS.len());
        for c in COMMANDS {
            sub_base.push(next);
            next += c.subcommands.len();
        }
        let mut ids = CommandIds {
            sub_base,
            total: next,
            names: Vec::new(),
        };
        // Leaked once for the process: one short string per id.
        ids.names = (0..next)
            .map(|id| &*Box::leak(ids.full_name(id).into_boxed_str()))
            .collect();
        ids
    })
}

fn index() -> &'static NameIndex {
    INDEX.get_or_init(NameIndex::original)
}

fn original_index() -> &'static NameIndex {
    static ORIGINAL: OnceLock<NameIndex> = OnceLock::new();
    ORIGINAL.get_or_init(NameIndex::original)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercase_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in COMMANDS {
            assert_eq!(c.name, c.name.to_ascii_lowercase());
            assert!(seen.insert(c.name), "duplicate {}", c.name);
        }
    }

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(lookup(b"GeT").map(|(_, c)| c.name), Some("get"));
        for (i, c) in COMMANDS.iter().enumerate() {
            let upper = c.name.to_ascii_uppercase();
            assert_eq!(lookup(upper.as_bytes()).map(|(j, _)| j), Some(i));
        }
        assert!(lookup(b"nosuchcommand").is_none());
        assert!(lookup(&[b'a'; 100]).is_none());
    }

    #[test]
    fn command_ids_round_trip() {
        let ids = ids();
        for id in ids.in_order() {
            let name = ids.full_name(id);
            assert_eq!(
                ids.by_name(name.to_ascii_uppercase().as_bytes()),
                Some(id),
                "{name}"
            );
        }
        assert_eq!(ids.in_order().count(), ids.total);
        assert!(ids.command(ids.total).is_none());
        assert!(ids.by_name(b"config|nosuch").is_none());
    }

    #[test]
    fn short_names_match_exactly() {
        // Zero padding must not make "get\0" or "" a command; only ASCII
        // letters fold ('@' and '[' are next to 'A' and 'Z').
        assert!(lookup(b"get\0").is_none());
        assert!(lookup(b"\0get").is_none());
        assert!(lookup(b"").is_none());
        assert!(lookup(b"ge").is_none());
        assert!(lookup(b"G\xc5T").is_none());
        assert!(lookup(b"@et").is_none());
        assert!(lookup(b"get[").is_none());
        assert_eq!(lookup(b"sEt").map(|(_, c)| c.name), Some("set"));
        for b in 0..=255u8 {
            let mut one = [b];
            assert_eq!(pack_lower(&one), u64::from(b.to_ascii_lowercase()));
            one[0] = b.to_ascii_uppercase();
            assert_eq!(pack_lower(&one), u64::from(b.to_ascii_lowercase()));
        }
    }

    #[test]
    fn renamed_index_finds_new_names_only() {
        let r = |a: &str, b: &str| (a.to_string(), b.to_string());
        let long = "x".repeat(NAME_MAX);
        let names = effective_names(&[
            r("GET", "g"),
            r("config", &long),
            r("flushall", ""),
            r("g", "Fetch"),
        ])
        .unwrap();
        let index = NameIndex::build(names);
        let get = lookup_original(b"get").unwrap().0;
        assert_eq!(find_in(&index, b"FETCH").map(|(i, _)| i), Some(get));
        assert!(find_in(&index, b"get").is_none());
        assert!(find_in(&index, b"g").is_none());
        assert!(find_in(&index, b"flushall").is_none());
        assert_eq!(
            find_in(&index, long.to_uppercase().as_bytes()).map(|(_, c)| c.name),
            Some("config")
        );
        assert_eq!(find_in(&index, b"set").map(|(_, c)| c.name), Some("set"));
        assert!(effective_names(&[r("get", &"y".repeat(NAME_MAX + 1))]).is_err());
        assert!(effective_names(&[r("get", "set")]).is_err());
        assert!(effective_names(&[r("get", "get")]).is_ok());
        assert!(effective_names(&[r("nosuch", "x")]).is_err());
    }
}
