//! Configuration: defaults, redis.conf-style files, `REDISLITE_*`
//! environment variables, `--name value` flags, and the runtime side of
//! CONFIG GET / SET / REWRITE.
//!
//! Owns: the typed [`Config`] the server reads on its hot paths, and one
//! static option table ([`OPTIONS`]) that drives every way of reading or
//! writing an option, so a name, an alias, a default, a value syntax or a
//! mutability rule is written down exactly once.
//!
//! Must never: accept a value it cannot represent (errors name the source,
//! the line or variable, and the option), or write a config file in place
//! (CONFIG REWRITE writes a temp file, fsyncs it and renames it over).
//!
//! Precedence: defaults < config file < environment < command-line flags.
//! Value syntax and error texts are Redis 7.0's: booleans are `yes`/`no`,
//! memory sizes accept `b k kb m mb g gb` (k = 1000, kb = 1024).

use crate::resp::parser::split_args;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxmemoryPolicy {
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    NoEviction,
}

const POLICY_NAMES: &[(MaxmemoryPolicy, &str)] = &[
    (MaxmemoryPolicy::VolatileLru, "volatile-lru"),
    (MaxmemoryPolicy::VolatileLfu, "volatile-lfu"),
    (MaxmemoryPolicy::VolatileRandom, "volatile-random"),
    (MaxmemoryPolicy::VolatileTtl, "volatile-ttl"),
    (MaxmemoryPolicy::AllkeysLru, "allkeys-lru"),
    (MaxmemoryPolicy::AllkeysLfu, "allkeys-lfu"),
    (MaxmemoryPolicy::AllkeysRandom, "allkeys-random"),
    (MaxmemoryPolicy::NoEviction, "noeviction"),
];

impl MaxmemoryPolicy {
    pub fn as_str(self) -> &'static str {
        POLICY_NAMES
            .iter()
            .find(|(p, _)| *p == self)
            .map_or("noeviction", |(_, n)| n)
    }
    pub fn is_lfu(self) -> bool {
        matches!(
            self,
            MaxmemoryPolicy::VolatileLfu | MaxmemoryPolicy::AllkeysLfu
        )
    }
    pub fn is_lru(self) -> bool {
        matches!(
            self,
            MaxmemoryPolicy::VolatileLru | MaxmemoryPolicy::AllkeysLru
        )
    }
}

/// `maxmemory-clients`: a size, or a share of `maxmemory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientMemLimit {
    Bytes(u64),
    /// 1..=100 (0% is stored as `Bytes(0)`, as Redis shows it: "0").
    Percent(u64),
}

impl ClientMemLimit {
    /// The limit in bytes now; 0 means no client eviction (also a
    /// percentage of an unlimited `maxmemory`).
    pub fn bytes(self, maxmemory: u64) -> u64 {
        match self {
            ClientMemLimit::Bytes(b) => b,
            ClientMemLimit::Percent(p) => maxmemory.saturating_mul(p) / 100,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    Always,
    Everysec,
    No,
}

// Order matters: it is the order Redis lists them in error messages.
const FSYNC_NAMES: &[(FsyncPolicy, &str)] = &[
    (FsyncPolicy::Everysec, "everysec"),
    (FsyncPolicy::Always, "always"),
    (FsyncPolicy::No, "no"),
];

impl FsyncPolicy {
    pub fn as_str(self) -> &'static str {
        FSYNC_NAMES
            .iter()
            .find(|(p, _)| *p == self)
            .map_or("everysec", |(_, n)| n)
    }
}

/// One class of client-output-buffer-limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimit {
    pub hard_bytes: u64,
    pub soft_bytes: u64,
    pub soft_seconds: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub port: u16,
    pub bind: Vec<String>,
    pub maxclients: u64,
    pub databases: usize,
    pub requirepass: Option<Vec<u8>>,
    pub timeout: u64,
    pub tcp_keepalive: u64,
    pub tcp_backlog: u64,
    pub hz: u32,
    pub dynamic_hz: bool,
    pub proto_max_bulk_len: u64,
    pub client_query_buffer_limit: u64,
    pub maxmemory: u64,
    pub maxmemory_policy: MaxmemoryPolicy,
    pub maxmemory_clients: ClientMemLimit,
    pub maxmemory_samples: u64,
    pub maxmemory_eviction_tenacity: u64,
    pub lfu_log_factor: u64,
    pub lfu_decay_time: u64,
    pub appendonly: bool,
    pub appendfilename: String,
    pub appenddirname: String,
    pub appendfsync: FsyncPolicy,
    pub no_appendfsync_on_rewrite: bool,
    pub auto_aof_rewrite_percentage: u64,
    pub auto_aof_rewrite_min_size: u64,
    pub aof_load_truncated: bool,
    pub dir: String,
    pub dbfilename: String,
    pub save: Vec<(u64, u64)>,
    pub stop_writes_on_bgsave_error: bool,
    pub rdbcompression: bool,
    pub rdbchecksum: bool,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    /// Keys the CLIENT TRACKING table may hold (0: unbounded), Redis's
    /// `tracking-table-max-keys`.
    pub tracking_table_max_keys: u64,
    /// ACL LOG keeps at most this many entries (trimmed on the next entry).
    pub acllog_max_len: u64,
    pub latency_monitor_threshold: u64,
    /// Per-command latency histograms (INFO latencystats).
    pub latency_tracking: bool,
    /// Port of the Prometheus /metrics endpoint (0 = off).
    pub metrics_port: u16,
    /// Percentiles INFO latencystats reports, each in 0..=100.
    pub latency_tracking_info_percentiles: Vec<f64>,
    pub loglevel: String,
    pub logfile: String,
    pub daemonize: bool,
    pub pidfile: String,
    /// `supervised`: no, upstart, systemd or auto (server/supervise.rs).
    pub supervised: String,
    /// Seconds SHUTDOWN (without NOW) waits for lagging replicas.
    pub shutdown_timeout: u64,
    /// SHUTDOWN flags applied on SIGTERM / SIGINT (server/shutdown.rs).
    pub shutdown_on_sigterm: u8,
    pub shutdown_on_sigint: u8,
    pub protected_mode: bool,
    pub replicaof: Option<(String, u16)>,
    pub masterauth: String,
    /// ACL users file (ACL LOAD / ACL SAVE, loaded at startup); "" = none.
    pub aclfile: String,
    pub masteruser: String,
    pub repl_backlog_size: u64,
    pub repl_backlog_ttl: u64,
    pub repl_timeout: u64,
    pub repl_ping_replica_period: u64,
    pub repl_diskless_sync: bool,
    pub repl_diskless_sync_delay: u64,
    /// Start a delayed diskless snapshot as soon as this many replicas
    /// wait (0: wait for the whole delay).
    pub repl_diskless_sync_max_replicas: u64,
    pub replica_read_only: bool,
    pub replica_serve_stale_data: bool,
    pub replica_priority: u64,
    pub replica_announce_ip: String,
    pub replica_announce_port: u64,
    /// `no` asks Sentinel not to list this replica (INFO replica_announced).
    pub replica_announced: bool,
    pub min_replicas_to_write: u64,
    pub min_replicas_max_lag: u64,
    pub lazyfree_lazy_eviction: bool,
    pub lazyfree_lazy_expire: bool,
    pub lazyfree_lazy_server_del: bool,
    pub lazyfree_lazy_user_del: bool,
    pub lazyfree_lazy_user_flush: bool,
    pub hash_max_listpack_entries: u64,
    pub hash_max_listpack_value: u64,
    pub set_max_intset_entries: u64,
    /// Largest sparse HyperLogLog string (header included) before it is
    /// converted to dense.
    pub hll_sparse_max_bytes: u64,
    pub set_max_listpack_entries: u64,
    pub set_max_listpack_value: u64,
    pub zset_max_listpack_entries: u64,
    /// Entries (deleted ones included) in one stream listpack node before
    /// XADD starts a new one; 0 = no limit.
    pub stream_node_max_entries: u64,
    /// Bytes of one stream listpack node before XADD starts a new one;
    /// 0 = the listpack cap (1 GiB).
    pub stream_node_max_bytes: u64,
    pub zset_max_listpack_value: u64,
    pub list_max_listpack_size: i64,
    pub list_compress_depth: u64,
    pub active_expire_effort: u64,
    pub activerehashing: bool,
    pub notify_keyspace_events: String,
    pub client_output_buffer_limit: [OutputLimit; 3],
    pub unixsocket: String,
    /// Mode bits of the Unix socket file (0: left as the umask makes it).
    pub unixsocketperm: u32,
    pub busy_reply_threshold: u64,
    /// DEBUG availability: "no" (Redis's default), "yes" or "local".
    pub enable_debug_command: String,
    /// `enable-protected-configs`: whether CONFIG SET may change `dir`
    /// and `dbfilename` (no, yes, local).
    pub enable_protected_configs: String,
    /// `acl-pubsub-default allchannels`: new ACL users may use every
    /// channel (7.0's default, resetchannels, gives them none).
    pub acl_pubsub_allchannels: bool,
    /// Values of the options accepted only so that a Redis 7.0 redis.conf
    /// loads (see `INERT`), by name; an option never set has its default.
    pub inert: std::collections::BTreeMap<&'static str, String>,
    /// `enable-module-command`: no, yes or local (MODULE LOAD/LOADEX/UNLOAD).
    pub enable_module_command: String,
    /// Where the configuration came from, for the startup banner.
    pub source: String,
    /// Absolute path of the config file, if one was given (CONFIG REWRITE).
    pub config_file: Option<PathBuf>,
    /// `rename-command FROM TO` lines in order (TO "" disables FROM).
    /// Startup only: main installs them into the command table before the
    /// first lookup; not an option, so CONFIG GET/SET do not know it, as
    /// in Redis.
    pub renames: Vec<(String, String)>,
}

impl Default for Config {
    fn default() -> Config {
        const MB: u64 = 1024 * 1024;
        Config {
            port: 6379,
            bind: vec!["127.0.0.1".into()],
            maxclients: 10000,
            databases: 16,
            requirepass: None,
            timeout: 0,
            tcp_keepalive: 300,
            tcp_backlog: 511,
            hz: 10,
            dynamic_hz: true,
            proto_max_bulk_len: 512 * MB,
            client_query_buffer_limit: 1024 * MB,
            maxmemory: 0,
            maxmemory_policy: MaxmemoryPolicy::NoEviction,
            maxmemory_clients: ClientMemLimit::Bytes(0),
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            appendonly: false,
            appendfilename: "appendonly.aof".into(),
            appenddirname: "appendonlydir".into(),
            appendfsync: FsyncPolicy::Everysec,
            no_appendfsync_on_rewrite: false,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 * MB,
            aof_load_truncated: true,
            dir: ".".into(),
            dbfilename: "dump.rdb".into(),
            save: vec![(3600, 1), (300, 100), (60, 10000)],
            stop_writes_on_bgsave_error: true,
            rdbcompression: true,
            rdbchecksum: true,
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            tracking_table_max_keys: 1_000_000,
            acllog_max_len: 128,
            latency_monitor_threshold: 0,
            latency_tracking: true,
            metrics_port: 0,
            latency_tracking_info_percentiles: vec![50.0, 99.0, 99.9],
            loglevel: "notice".into(),
            logfile: String::new(),
            daemonize: false,
            pidfile: String::new(),
            supervised: "no".into(),
            shutdown_timeout: 10,
            shutdown_on_sigterm: 0,
            shutdown_on_sigint: 0,
            protected_mode: true,
            replicaof: None,
            masterauth: String::new(),
            aclfile: String::new(),
            masteruser: String::new(),
            repl_backlog_size: MB,
            repl_backlog_ttl: 3600,
            repl_timeout: 60,
            repl_ping_replica_period: 10,
            repl_diskless_sync: true,
            repl_diskless_sync_delay: 5,
            repl_diskless_sync_max_replicas: 0,
            replica_read_only: true,
            replica_serve_stale_data: true,
            replica_priority: 100,
            replica_announce_ip: String::new(),
            replica_announce_port: 0,
            replica_announced: true,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            lazyfree_lazy_eviction: false,
            lazyfree_lazy_expire: false,
            lazyfree_lazy_server_del: false,
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            hll_sparse_max_bytes: crate::types::hyperloglog::SPARSE_MAX_BYTES_DEFAULT,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            stream_node_max_entries: 100,
            stream_node_max_bytes: 4096,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            active_expire_effort: 1,
            activerehashing: true,
            notify_keyspace_events: String::new(),
            client_output_buffer_limit: [
                OutputLimit {
                    hard_bytes: 0,
                    soft_bytes: 0,
                    soft_seconds: 0,
                },
                OutputLimit {
                    hard_bytes: 256 * MB,
                    soft_bytes: 64 * MB,
                    soft_seconds: 60,
                },
                OutputLimit {
                    hard_bytes: 32 * MB,
                    soft_bytes: 8 * MB,
                    soft_seconds: 60,
                },
            ],
            unixsocket: String::new(),
            unixsocketperm: 0,
            busy_reply_threshold: 5000,
            enable_debug_command: "no".into(),
            enable_protected_configs: "no".into(),
            acl_pubsub_allchannels: false,
            inert: std::collections::BTreeMap::new(),
            enable_module_command: "no".into(),
            source: "embedded defaults".into(),
            config_file: None,
            renames: Vec::new(),
        }
    }
}

/// How an option's value is read and printed.
enum Kind {
    Bool(fn(&Config) -> bool, fn(&mut Config, bool)),
    /// Integer with inclusive bounds.
    Int(fn(&Config) -> i64, fn(&mut Config, i64), i64, i64),
    /// Byte size with memory units, printed as plain bytes, with inclusive
    /// bounds.
    Memory(fn(&Config) -> u64, fn(&mut Config, u64), u64, u64),
    Str(fn(&Config) -> String, fn(&mut Config, String)),
    /// Anything else: formats itself, parses its (possibly several) args.
    Special(
        fn(&Config) -> String,
        fn(&mut Config, &[String]) -> Result<(), String>,
    ),
    /// Accepted and shown, no effect here (see `INERT`): the default, and
    /// how a value is checked.
    Inert(&'static str, InertKind),
}

/// How an inert option's value is checked: Redis's type for it.
#[derive(Clone, Copy)]
enum InertKind {
    Bool,
    Int(i64, i64),
    Memory(u64, u64),
    Enum(&'static [&'static str]),
    Str,
    /// Only `no`: the feature `yes` turns on does not exist here, and
    /// running without it would silently break the user's setup.
    BoolNo(&'static str),
    /// Only 0, for the same reason.
    IntZero(&'static str),
    /// Three integers in -2000..=2000 (`oom-score-adj-values`).
    OomValues,
}

struct OptionDef {
    name: &'static str,
    aliases: &'static [&'static str],
    /// Changeable with CONFIG SET.
    mutable: bool,
    kind: Kind,
}

macro_rules! bool_opt {
    ($name:expr, $aliases:expr, $field:ident, $mutable:expr) => {
        OptionDef {
            name: $name,
            aliases: $aliases,
            mutable: $mutable,
            kind: Kind::Bool(|c| c.$field, |c, v| c.$field = v),
        }
    };
}
macro_rules! int_opt {
    ($name:expr, $aliases:expr, $field:ident, $ty:ty, $min:expr, $max:expr, $mutable:expr) => {
        OptionDef {
            name: $name,
            aliases: $aliases,
            mutable: $mutable,
            kind: Kind::Int(|c| c.$field as i64, |c, v| c.$field = v as $ty, $min, $max),
        }
    };
}
macro_rules! mem_opt {
    ($name:expr, $aliases:expr, $field:ident, $mutable:expr) => {
        OptionDef {
            name: $name,
            aliases: $aliases,
            mutable: $mutable,
            kind: Kind::Memory(|c| c.$field, |c, v| c.$field = v, 0, u64::MAX),
        }
    };
}
macro_rules! str_opt {
    ($name:expr, $field:ident, $mutable:expr) => {
        OptionDef {
            name: $name,
            aliases: &[],
            mutable: $mutable,
            kind: Kind::Str(|c| c.$field.clone(), |c, v| c.$field = v),
        }
    };
}

macro_rules! inert {
    ($name:expr, $aliases:expr, $default:expr, $kind:expr, $mutable:expr) => {
        OptionDef {
            name: $name,
            aliases: $aliases,
            mutable: $mutable,
            kind: Kind::Inert($default, $kind),
        }
    };
}

const I32MAX: i64 = i32::MAX as i64;
const U32MAX: i64 = u32::MAX as i64;
const LLMAX: i64 = i64::MAX;

static OPTIONS: &[OptionDef] = &[
    int_opt!("port", &[], port, u16, 0, 65535, false),
    OptionDef {
        name: "bind",
        aliases: &[],
        mutable: false,
        kind: Kind::Special(get_bind, set_bind),
    },
    int_opt!("maxclients", &[], maxclients, u64, 1, U32MAX, true),
    int_opt!("databases", &[], databases, usize, 1, I32MAX, false),
    OptionDef {
        name: "requirepass",
        aliases: &[],
        mutable: true,
        kind: Kind::Special(get_requirepass, set_requirepass),
    },
    int_opt!("timeout", &[], timeout, u64, 0, I32MAX, true),
    int_opt!("tcp-keepalive", &[], tcp_keepalive, u64, 0, I32MAX, true),
    int_opt!("tcp-backlog", &[], tcp_backlog, u64, 0, I32MAX, false),
    // Any int is accepted and then clamped to 1..=500, as Redis does (so
    // CONFIG SET hz 0 answers OK and CONFIG GET hz then says 1).
    OptionDef {
        name: "hz",
        aliases: &[],
        mutable: true,
        kind: Kind::Int(
            |c| c.hz as i64,
            |c, v| c.hz = v.clamp(1, 500) as u32,
            0,
            I32MAX,
        ),
    },
    bool_opt!("dynamic-hz", &[], dynamic_hz, true),
    // At least 1 MB, as Redis: smaller limits would break replication and
    // ordinary clients in confusing ways.
    OptionDef {
        name: "proto-max-bulk-len",
        aliases: &[],
        mutable: true,
        kind: Kind::Memory(
            |c| c.proto_max_bulk_len,
            |c, v| c.proto_max_bulk_len = v,
            1024 * 1024,
            i64::MAX as u64,
        ),
    },
    mem_opt!(
        "client-query-buffer-limit",
        &[],
        client_query_buffer_limit,
        true
    ),
    mem_opt!("maxmemory", &[], maxmemory, true),
    OptionDef {
        name: "maxmemory-clients",
        aliases: &[],
        mutable: true,
        kind: Kind::Special(get_client_mem_limit, set_client_mem_limit),
    },
    OptionDef {
        name: "maxmemory-policy",
        aliases: &[],
        mutable: true,
        kind: Kind::Special(get_policy, set_policy),
    },
    int_opt!(
        "maxmemory-samples",
        &[],
        maxmemory_samples,
        u64,
        1,
        I32MAX,
        true
    ),
    int_opt!(
        "maxmemory-eviction-tenacity",
        &[],
        maxmemory_eviction_tenacity,
        u64,
        0,
        100,
        true
    ),
    int_opt!("lfu-log-factor", &[], lfu_log_factor, u64, 0, I32MAX, true),
    int_opt!("lfu-decay-time", &[], lfu_decay_time, u64, 0, I32MAX, true),
    bool_opt!("appendonly", &[], appendonly, true),
    str_opt!("appendfilename", appendfilename, false),
    str_opt!("appenddirname", appenddirname, false),
    OptionDef {
        name: "appendfsync",
        aliases: &[],
        mutable: true,
        kind: Kind::Special(get_fsync, set_fsync),
    },
    bool_opt!(
        "no-appendfsync-on-rewrite",
        &[],
        no_appendfsync_on_rewrite,
        true
    ),
    int_opt!(
        "auto-aof-rewrite-percentage",
        &[],
        auto_aof_rewrite_percentage,
        u64,
        0,
        I32MAX,
        true
    ),
    mem_opt!(
        "auto-aof-rewrite-min-size",
        &[],
        auto_aof_rewrite_min_size,
        true
    ),
    bool_opt!("aof-load-truncated", &[], aof_load_truncated, true),
    OptionDef {
        name: "dir",
        aliases: &[],
        mutable: true,
        kind: Kind::Special(get_dir, set_dir),
    },
    str_opt!("dbfilename", dbfilename, true),
    OptionDef {
        name: "save",
        aliases: &[],
        mutable: true,
        kind: Kind::Special(get_save, set_save),
    },
    bool_opt!(
        "stop-writes-on-bgsave-error",
        &[],
        stop_writes_on_bgsave_error,
        true
    ),
    bool_opt!("rdbcompression", &[], rdbcompression, true),
    bool_opt!("rdbchecksum", &[], rdbchecksum, true),
    int_opt!(
        "slowlog-log-slower-than",
        &[],
        slowlog_log_slower_than,
        i64,
        -1,
        LLMAX,
        true
    ),
    int_opt!("slowlog-max-len", &[], slowlog_max_len, u64, 0, LLMAX, true),
    int_opt!(
        "tracking-table-max-keys",
        &[],
        tracking_table_max_keys,
        u64,
        0,
        LLMAX,
        true
    ),
    int_opt!("acllog-max-len", &[], acllog_max_len, u64, 0, LLMAX, true),
    int_opt!(
        "latency-monitor-threshold",
        &[],
        latency_monitor_threshold,
        u64,
        0,
        LLMAX,
        true
    ),
    bool_opt!("latency-tracking", &[], latency_tracking, true),
    int_opt!("metrics-port", &[], metrics_port, u16, 0, 65535, false),
    OptionDef {
        name: "latency-tracking-info-percentiles",
        aliases: &[],
        mutable: true,
        kind: Kind::Special(get_percentiles, set_percentiles),
    },
    OptionDef {
        name: "loglevel",
        aliases: &[],
        mutable: true,
        kind: Kind::Special(get_loglevel, set_loglevel),
    },
    str_opt!("logfile", logfile, false),
    bool_opt!("daemonize", &[], daemonize, false),
    str_opt!("pidfile", pidfile, false),
    bool_opt!("protected-mode", &[], protected_mode, true),
    OptionDef {
        name: "replicaof",
        aliases: &["slaveof"],
        mutable: false,
        kind: Kind::Special(get_replicaof, set_replicaof),
    },
    str_opt!("masterauth", masterauth, true),
    str_opt!("aclfile", aclfile, false),
    str_opt!("masteruser", masteruser, true),
    mem_opt!("repl-backlog-size", &[], repl_backlog_size, true),
    int_opt!(
        "repl-backlog-ttl",
        &[],
        repl_backlog_ttl,
        u64,
        0,
        I32MAX,
        true
    ),
    int_opt!("repl-timeout", &[], repl_timeout, u64, 1, I32MAX, true),
    int_opt!(
        "repl-ping-replica-period",
        &["repl-ping-slave-period"],
        repl_ping_replica_period,
        u64,
        1,
        I32MAX,
        true
    ),
    bool_opt!("repl-diskless-sync", &[], repl_diskless_sync, true),
    int_opt!(
        "repl-diskless-sync-delay",
        &[],
        repl_diskless_sync_delay,
        u64,
        0,
        I32MAX,
        true
    ),
    int_opt!(
        "repl-diskless-sync-max-replicas",
        &[],
        repl_diskless_sync_max_replicas,
        u64,
        0,
        I32MAX,
        true
    ),
    bool_opt!(
        "replica-read-only",
        &["slave-read-only"],
        replica_read_only,
        true
    ),
    bool_opt!(
        "replica-serve-stale-data",
        &["slave-serve-stale-data"],
        replica_serve_stale_data,
        true
    ),
    int_opt!(
        "replica-priority",
        &["slave-priority"],
        replica_priority,
        u64,
        0,
        I32MAX,
        true
    ),
    OptionDef {
        name: "replica-announce-ip",
        aliases: &["slave-announce-ip"],
        mutable: true,
        kind: Kind::Str(
            |c| c.replica_announce_ip.clone(),
            |c, v| c.replica_announce_ip = v,
        ),
    },
    bool_opt!("replica-announced", &[], replica_announced, true),
    int_opt!(
        "replica-announce-port",
        &["slave-announce-port"],
        replica_announce_port,
        u64,
        0,
        65535,
        true
    ),
    int_opt!(
        "min-replicas-to-write",
        &["min-slaves-to-write"],
        min_replicas_to_write,
        u64,
        0,
        I32MAX,
        true
    ),
    int_opt!(
        "min-replicas-max-lag",
        &["min-slaves-max-lag"],
        min_replicas_max_lag,
        u64,
        0,
        I32MAX,
        true
    ),
    bool_opt!("lazyfree-lazy-eviction", &[], lazyfree_lazy_eviction, true),
    bool_opt!("lazyfree-lazy-expire", &[], lazyfree_lazy_expire, true),
    bool_opt!(
        "lazyfree-lazy-server-del",
        &[],
        lazyfree_lazy_server_del,
        true
    ),
    bool_opt!("lazyfree-lazy-user-del", &[], lazyfree_lazy_user_del, true),
    bool_opt!(
        "lazyfree-lazy-user-flush",
        &[],
        lazyfree_lazy_user_flush,
        true
    ),
    int_opt!(
        "hash-max-listpack-entries",
        &["hash-max-ziplist-entries"],
        hash_max_listpack_entries,
        u64,
        0,
        LLMAX,
        true
    ),
    int_opt!(
        "hash-max-listpack-value",
        &["hash-max-ziplist-value"],
        hash_max_listpack_value,
        u64,
        0,
        LLMAX,
        true
    ),
    int_opt!(
        "set-max-intset-entries",
        &[],
        set_max_intset_entries,
        u64,
        0,
        LLMAX,
        true
    ),
    // A memory option in Redis (accepts "3kb"), bounded by LONG_MAX.
    OptionDef {
        name: "hll-sparse-max-bytes",
        aliases: &[],
        mutable: true,
        kind: Kind::Memory(
            |c| c.hll_sparse_max_bytes,
            |c, v| c.hll_sparse_max_bytes = v,
            0,
            i64::MAX as u64,
        ),
    },
    // set-max-listpack-entries/-value are Redis 7.2 options: Redis 7.0,
    // the reference, does not know them, so they are not settable here
    // (the fields keep 7.2's defaults for the listpack set encoding).
    int_opt!(
        "zset-max-listpack-entries",
        &["zset-max-ziplist-entries"],
        zset_max_listpack_entries,
        u64,
        0,
        LLMAX,
        true
    ),
    int_opt!(
        "zset-max-listpack-value",
        &["zset-max-ziplist-value"],
        zset_max_listpack_value,
        u64,
        0,
        LLMAX,
        true
    ),
    // Redis 7.0: a memory option bounded by LONG_MAX, and a long long.
    OptionDef {
        name: "stream-node-max-bytes",
        aliases: &[],
        mutable: true,
        kind: Kind::Memory(
            |c| c.stream_node_max_bytes,
            |c, v| c.stream_node_max_bytes = v,
            0,
            i64::MAX as u64,
        ),
    },
    int_opt!(
        "stream-node-max-entries",
        &[],
        stream_node_max_entries,
        u64,
        0,
        LLMAX,
        true
    ),
    int_opt!(
        "list-max-listpack-size",
        &["list-max-ziplist-size"],
        list_max_listpack_size,
        i64,
        i32::MIN as i64,
        I32MAX,
        true
    ),
    int_opt!(
        "list-compress-depth",
        &[],
        list_compress_depth,
        u64,
        0,
        I32MAX,
        true
    ),
    int_opt!(
        "active-expire-effort",
        &[],
        active_expire_effort,
        u64,
        1,
        10,
        true
    ),
    bool_opt!("activerehashing", &[], activerehashing, true),
    OptionDef {
        name: "notify-keyspace-events",
        aliases: &[],
        mutable: true,
        kind: Kind::Special(get_notify, set_notify),
    },
    OptionDef {
        name: "client-output-buffer-limit",
        aliases: &[],
        mutable: true,
        kind: Kind::Special(get_obl, set_obl),
    },
    str_opt!("unixsocket", unixsocket, false),
    OptionDef {
        name: "unixsocketperm",
        aliases: &[],
        mutable: false,
        kind: Kind::Special(get_unixsocketperm, set_unixsocketperm),
    },
    OptionDef {
        name: "supervised",
        aliases: &[],
        mutable: false,
        kind: Kind::Special(get_supervised, set_supervised),
    },
    int_opt!(
        "shutdown-timeout",
        &[],
        shutdown_timeout,
        u64,
        0,
        I32MAX,
        true
    ),
    OptionDef {
        name: "shutdown-on-sigterm",
        aliases: &[],
        mutable: true,
        kind: Kind::Special(get_on_sigterm, set_on_sigterm),
    },
    OptionDef {
        name: "shutdown-on-sigint",
        aliases: &[],
        mutable: true,
        kind: Kind::Special(get_on_sigint, set_on_sigint),
    },
    OptionDef {
        name: "enable-debug-command",
        aliases: &[],
        mutable: false,
        kind: Kind::Special(get_debug_cmd, set_debug_cmd),
    },
    OptionDef {
        name: "enable-module-command",
        aliases: &[],
        mutable: false,
        kind: Kind::Special(get_module_cmd, set_module_cmd),
    },
    int_opt!(
        "busy-reply-threshold",
        &["lua-time-limit"],
        busy_reply_threshold,
        u64,
        0,
        LLMAX,
        true
    ),
    OptionDef {
        name: "enable-protected-configs",
        aliases: &[],
        mutable: false,
        kind: Kind::Special(get_protected_configs, set_protected_configs),
    },
    OptionDef {
        name: "acl-pubsub-default",
        aliases: &[],
        mutable: true,
        kind: Kind::Special(get_pubsub_default, set_pubsub_default),
    },
    // Inert: accepted, checked as Redis checks them and shown by CONFIG
    // GET, so that a Redis 7.0 redis.conf (Debian's included) loads
    // unchanged. They tune what RedisLite does not have or does its own
    // way: jemalloc and defragmentation, I/O threads, process title,
    // syslog, CPU affinity, OOM score, RDB preambles in the AOF, lazy
    // flushing on replicas, TLS and cluster mode. The two that would turn
    // a missing feature on (cluster-enabled yes, a tls-port) are refused.
    // As Redis built without its own jemalloc (Debian's) answers.
    inert!(
        "activedefrag",
        &[],
        "no",
        InertKind::BoolNo("Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution"),
        true
    ),
    inert!(
        "active-defrag-cycle-max",
        &[],
        "25",
        InertKind::Int(1, 99),
        true
    ),
    inert!(
        "active-defrag-cycle-min",
        &[],
        "1",
        InertKind::Int(1, 99),
        true
    ),
    inert!(
        "active-defrag-ignore-bytes",
        &[],
        "104857600",
        InertKind::Memory(1, LLMAX as u64),
        true
    ),
    inert!(
        "active-defrag-max-scan-fields",
        &[],
        "1000",
        InertKind::Int(1, LLMAX),
        true
    ),
    inert!(
        "active-defrag-threshold-lower",
        &[],
        "10",
        InertKind::Int(0, 1000),
        true
    ),
    inert!(
        "active-defrag-threshold-upper",
        &[],
        "100",
        InertKind::Int(0, 1000),
        true
    ),
    inert!("always-show-logo", &[], "no", InertKind::Bool, false),
    inert!("aof-disable-auto-gc", &[], "no", InertKind::Bool, true),
    inert!(
        "aof-rewrite-incremental-fsync",
        &[],
        "yes",
        InertKind::Bool,
        true
    ),
    inert!("aof-timestamp-enabled", &[], "no", InertKind::Bool, true),
    inert!("aof-use-rdb-preamble", &[], "yes", InertKind::Bool, true),
    inert!("aof_rewrite_cpulist", &[], "", InertKind::Str, false),
    inert!("bgsave_cpulist", &[], "", InertKind::Str, false),
    inert!("bio_cpulist", &[], "", InertKind::Str, false),
    inert!("server_cpulist", &[], "", InertKind::Str, false),
    inert!("bind-source-addr", &[], "", InertKind::Str, true),
    inert!(
        "cluster-enabled",
        &[],
        "no",
        InertKind::BoolNo("RedisLite has no cluster mode"),
        false
    ),
    inert!(
        "cluster-allow-pubsubshard-when-down",
        &[],
        "yes",
        InertKind::Bool,
        true
    ),
    inert!(
        "cluster-allow-reads-when-down",
        &[],
        "no",
        InertKind::Bool,
        true
    ),
    inert!(
        "cluster-allow-replica-migration",
        &[],
        "yes",
        InertKind::Bool,
        true
    ),
    inert!(
        "cluster-announce-bus-port",
        &[],
        "0",
        InertKind::Int(0, 65535),
        true
    ),
    inert!("cluster-announce-hostname", &[], "", InertKind::Str, true),
    inert!("cluster-announce-ip", &[], "", InertKind::Str, true),
    inert!(
        "cluster-announce-port",
        &[],
        "0",
        InertKind::Int(0, 65535),
        true
    ),
    inert!(
        "cluster-announce-tls-port",
        &[],
        "0",
        InertKind::Int(0, 65535),
        true
    ),
    inert!(
        "cluster-config-file",
        &[],
        "nodes.conf",
        InertKind::Str,
        false
    ),
    inert!(
        "cluster-link-sendbuf-limit",
        &[],
        "0",
        InertKind::Memory(0, LLMAX as u64),
        true
    ),
    inert!(
        "cluster-migration-barrier",
        &[],
        "1",
        InertKind::Int(0, I32MAX),
        true
    ),
    inert!(
        "cluster-node-timeout",
        &[],
        "15000",
        InertKind::Int(0, LLMAX),
        true
    ),
    inert!("cluster-port", &[], "0", InertKind::Int(0, 65535), false),
    inert!(
        "cluster-preferred-endpoint-type",
        &[],
        "ip",
        InertKind::Enum(&["ip", "hostname", "unknown-endpoint"]),
        true
    ),
    inert!(
        "cluster-replica-no-failover",
        &["cluster-slave-no-failover"],
        "no",
        InertKind::Bool,
        true
    ),
    inert!(
        "cluster-replica-validity-factor",
        &["cluster-slave-validity-factor"],
        "10",
        InertKind::Int(0, I32MAX),
        true
    ),
    inert!(
        "cluster-require-full-coverage",
        &[],
        "yes",
        InertKind::Bool,
        true
    ),
    inert!("crash-log-enabled", &[], "yes", InertKind::Bool, true),
    inert!("crash-memcheck-enabled", &[], "yes", InertKind::Bool, true),
    inert!("disable-thp", &[], "yes", InertKind::Bool, false),
    inert!("ignore-warnings", &[], "", InertKind::Str, true),
    inert!("io-threads", &[], "1", InertKind::Int(1, 128), false),
    inert!("io-threads-do-reads", &[], "no", InertKind::Bool, false),
    inert!("jemalloc-bg-thread", &[], "yes", InertKind::Bool, true),
    inert!(
        "oom-score-adj",
        &[],
        "no",
        InertKind::Enum(&["no", "yes", "relative", "absolute"]),
        true
    ),
    inert!(
        "oom-score-adj-values",
        &[],
        "0 200 800",
        InertKind::OomValues,
        true
    ),
    inert!(
        "proc-title-template",
        &[],
        "{title} {listen-addr} {server-mode}",
        InertKind::Str,
        true
    ),
    inert!(
        "propagation-error-behavior",
        &[],
        "ignore",
        InertKind::Enum(&["ignore", "panic", "panic-on-replicas"]),
        true
    ),
    inert!("rdb-del-sync-files", &[], "no", InertKind::Bool, true),
    inert!(
        "rdb-save-incremental-fsync",
        &[],
        "yes",
        InertKind::Bool,
        true
    ),
    inert!("repl-disable-tcp-nodelay", &[], "no", InertKind::Bool, true),
    inert!(
        "repl-diskless-load",
        &[],
        "disabled",
        InertKind::Enum(&["disabled", "on-empty-db", "swapdb"]),
        true
    ),
    inert!(
        "replica-ignore-disk-write-errors",
        &[],
        "no",
        InertKind::Bool,
        true
    ),
    inert!(
        "replica-ignore-maxmemory",
        &["slave-ignore-maxmemory"],
        "yes",
        InertKind::Bool,
        true
    ),
    inert!(
        "replica-lazy-flush",
        &["slave-lazy-flush"],
        "no",
        InertKind::Bool,
        true
    ),
    inert!(
        "sanitize-dump-payload",
        &[],
        "no",
        InertKind::Enum(&["no", "yes", "clients"]),
        true
    ),
    inert!("set-proc-title", &[], "yes", InertKind::Bool, false),
    inert!("socket-mark-id", &[], "0", InertKind::Int(0, U32MAX), false),
    inert!("syslog-enabled", &[], "no", InertKind::Bool, false),
    inert!(
        "syslog-facility",
        &[],
        "local0",
        InertKind::Enum(&[
            "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"
        ]),
        false
    ),
    inert!("syslog-ident", &[], "redis", InertKind::Str, false),
    inert!(
        "tls-port",
        &[],
        "0",
        InertKind::IntZero("RedisLite has no TLS"),
        true
    ),
    inert!(
        "tls-auth-clients",
        &[],
        "yes",
        InertKind::Enum(&["no", "yes", "optional"]),
        true
    ),
    inert!("tls-ca-cert-dir", &[], "", InertKind::Str, true),
    inert!("tls-ca-cert-file", &[], "", InertKind::Str, true),
    inert!("tls-cert-file", &[], "", InertKind::Str, true),
    inert!("tls-ciphers", &[], "", InertKind::Str, true),
    inert!("tls-ciphersuites", &[], "", InertKind::Str, true),
    inert!("tls-client-cert-file", &[], "", InertKind::Str, true),
    inert!("tls-client-key-file", &[], "", InertKind::Str, true),
    inert!("tls-client-key-file-pass", &[], "", InertKind::Str, true),
    inert!("tls-cluster", &[], "no", InertKind::Bool, true),
    inert!("tls-dh-params-file", &[], "", InertKind::Str, true),
    inert!("tls-key-file", &[], "", InertKind::Str, true),
    inert!("tls-key-file-pass", &[], "", InertKind::Str, true),
    inert!(
        "tls-prefer-server-ciphers",
        &[],
        "no",
        InertKind::Bool,
        true
    ),
    inert!("tls-protocols", &[], "", InertKind::Str, true),
    inert!("tls-replication", &[], "no", InertKind::Bool, true),
    inert!(
        "tls-session-cache-size",
        &[],
        "20480",
        InertKind::Int(0, I32MAX),
        true
    ),
    inert!(
        "tls-session-cache-timeout",
        &[],
        "300",
        InertKind::Int(0, I32MAX),
        true
    ),
    inert!("tls-session-caching", &[], "yes", InertKind::Bool, true),
];

/// Options Redis 7.0 marks PROTECTED_CONFIG: with its default
/// `enable-protected-configs no`, CONFIG SET refuses them, since a client
/// able to move the dump file could write it anywhere on the disk. They can
/// still be set in the config file or on the command line.
const PROTECTED: &[&str] = &["dir", "dbfilename"];

fn find_option(name: &str) -> Option<&'static OptionDef> {
    OPTIONS.iter().find(|o| {
        o.name.eq_ignore_ascii_case(name) || o.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

fn get_bind(c: &Config) -> String {
    c.bind.join(" ")
}
fn set_bind(c: &mut Config, args: &[String]) -> Result<(), String> {
    let addrs: Vec<String> = args
        .iter()
        .flat_map(|a| a.split_whitespace().map(String::from))
        .collect();
    if addrs.is_empty() {
        return Err("Too many bind addresses specified.".into());
    }
    c.bind = addrs;
    Ok(())
}
fn get_requirepass(c: &Config) -> String {
    c.requirepass
        .as_deref()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_default()
}
fn set_requirepass(c: &mut Config, args: &[String]) -> Result<(), String> {
    let v = one_arg(args)?;
    c.requirepass = if v.is_empty() {
        None
    } else {
        Some(v.as_bytes().to_vec())
    };
    Ok(())
}
fn enum_error(names: &[&str]) -> String {
    format!(
        "argument(s) must be one of the following: {}",
        names.join(", ")
    )
}
fn get_policy(c: &Config) -> String {
    c.maxmemory_policy.as_str().into()
}
fn set_policy(c: &mut Config, args: &[String]) -> Result<(), String> {
    let v = one_arg(args)?.to_ascii_lowercase();
    c.maxmemory_policy = POLICY_NAMES
        .iter()
        .find(|(_, n)| *n == v)
        .map(|(p, _)| *p)
        .ok_or_else(|| enum_error(&POLICY_NAMES.iter().map(|(_, n)| *n).collect::<Vec<_>>()))?;
    Ok(())
}
fn get_client_mem_limit(c: &Config) -> String {
    match c.maxmemory_clients {
        ClientMemLimit::Bytes(b) => b.to_string(),
        ClientMemLimit::Percent(p) => format!("{p}%"),
    }
}
fn set_client_mem_limit(c: &mut Config, args: &[String]) -> Result<(), String> {
    let v = one_arg(args)?;
    let percent = v
        .strip_suffix('%')
        .and_then(|n| crate::resp::parser::parse_i64(n.as_bytes()))
        .filter(|n| *n >= 0);
    c.maxmemory_clients = match (percent, parse_memory(v)) {
        (Some(n), _) if n > 100 => {
            return Err("percentage argument must be less or equal to 100".into())
        }
        (Some(0), _) => ClientMemLimit::Bytes(0),
        (Some(n), _) => ClientMemLimit::Percent(n as u64),
        (None, Some(bytes)) => ClientMemLimit::Bytes(bytes),
        _ => return Err("argument must be a memory or percent value".into()),
    };
    Ok(())
}
fn get_fsync(c: &Config) -> String {
    c.appendfsync.as_str().into()
}
fn set_fsync(c: &mut Config, args: &[String]) -> Result<(), String> {
    let v = one_arg(args)?.to_ascii_lowercase();
    c.appendfsync = FSYNC_NAMES
        .iter()
        .find(|(_, n)| *n == v)
        .map(|(p, _)| *p)
        .ok_or_else(|| enum_error(&FSYNC_NAMES.iter().map(|(_, n)| *n).collect::<Vec<_>>()))?;
    Ok(())
}
/// Redis 7.0's levels ("nothing" arrived in 7.2).
const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning"];
fn get_loglevel(c: &Config) -> String {
    c.loglevel.clone()
}
fn set_loglevel(c: &mut Config, args: &[String]) -> Result<(), String> {
    let v = one_arg(args)?.to_ascii_lowercase();
    if !LOGLEVELS.contains(&v.as_str()) {
        return Err(enum_error(LOGLEVELS));
    }
    c.loglevel = v;
    Ok(())
}
const SUPERVISED_MODES: &[&str] = &["no", "upstart", "systemd", "auto"];
fn get_supervised(c: &Config) -> String {
    c.supervised.clone()
}
fn set_supervised(c: &mut Config, args: &[String]) -> Result<(), String> {
    let v = one_arg(args)?.to_ascii_lowercase();
    if !SUPERVISED_MODES.contains(&v.as_str()) {
        return Err(enum_error(SUPERVISED_MODES));
    }
    c.supervised = v;
    Ok(())
}
fn get_on_sigterm(c: &Config) -> String {
    crate::server::shutdown::flags_to_text(c.shutdown_on_sigterm)
}
fn set_on_sigterm(c: &mut Config, args: &[String]) -> Result<(), String> {
    c.shutdown_on_sigterm = crate::server::shutdown::flags_from_words(args)?;
    Ok(())
}
fn get_on_sigint(c: &Config) -> String {
    crate::server::shutdown::flags_to_text(c.shutdown_on_sigint)
}
fn set_on_sigint(c: &mut Config, args: &[String]) -> Result<(), String> {
    c.shutdown_on_sigint = crate::server::shutdown::flags_from_words(args)?;
    Ok(())
}
/// The modes of a protected command's `enable-*-command` option.
const PROTECTED_CMD_MODES: &[&str] = &["no", "yes", "local"];
fn protected_cmd_mode(args: &[String]) -> Result<String, String> {
    let v = one_arg(args)?.to_ascii_lowercase();
    if !PROTECTED_CMD_MODES.contains(&v.as_str()) {
        return Err(enum_error(PROTECTED_CMD_MODES));
    }
    Ok(v)
}
fn get_unixsocketperm(c: &Config) -> String {
    format!("{:o}", c.unixsocketperm)
}
fn set_unixsocketperm(c: &mut Config, args: &[String]) -> Result<(), String> {
    c.unixsocketperm = u32::from_str_radix(one_arg(args)?, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or("argument couldn't be parsed as an octal number")?;
    Ok(())
}
fn get_protected_configs(c: &Config) -> String {
    c.enable_protected_configs.clone()
}
fn set_protected_configs(c: &mut Config, args: &[String]) -> Result<(), String> {
    c.enable_protected_configs = protected_cmd_mode(args)?;
    Ok(())
}
const PUBSUB_DEFAULTS: &[&str] = &["allchannels", "resetchannels"];
fn get_pubsub_default(c: &Config) -> String {
    PUBSUB_DEFAULTS[usize::from(!c.acl_pubsub_allchannels)].into()
}
fn set_pubsub_default(c: &mut Config, args: &[String]) -> Result<(), String> {
    match one_arg(args)?.to_ascii_lowercase().as_str() {
        "allchannels" => c.acl_pubsub_allchannels = true,
        "resetchannels" => c.acl_pubsub_allchannels = false,
        _ => return Err(enum_error(PUBSUB_DEFAULTS)),
    }
    Ok(())
}
fn get_debug_cmd(c: &Config) -> String {
    c.enable_debug_command.clone()
}
fn set_debug_cmd(c: &mut Config, args: &[String]) -> Result<(), String> {
    c.enable_debug_command = protected_cmd_mode(args)?;
    Ok(())
}
fn get_module_cmd(c: &Config) -> String {
    c.enable_module_command.clone()
}
fn set_module_cmd(c: &mut Config, args: &[String]) -> Result<(), String> {
    c.enable_module_command = protected_cmd_mode(args)?;
    Ok(())
}
fn get_notify(c: &Config) -> String {
    c.notify_keyspace_events.clone()
}
fn set_notify(c: &mut Config, args: &[String]) -> Result<(), String> {
    let v = args.first().map(String::as_str).unwrap_or("");
    let flags = crate::notify::parse_flags(v)
        .ok_or("Invalid event class character. Use 'Ag$shzxeKEtmdn'.")?;
    // Stored in canonical form, which is what CONFIG GET shows.
    c.notify_keyspace_events = crate::notify::flags_to_string(flags);
    Ok(())
}
fn get_dir(c: &Config) -> String {
    // Redis reports the absolute working directory.
    std::fs::canonicalize(&c.dir)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| c.dir.clone())
}
fn set_dir(c: &mut Config, args: &[String]) -> Result<(), String> {
    let v = one_arg(args)?;
    if !Path::new(v).is_dir() {
        return Err(format!("No such file or directory: {v}"));
    }
    c.dir = v.to_string();
    Ok(())
}
fn get_percentiles(c: &Config) -> String {
    c.latency_tracking_info_percentiles
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}
fn set_percentiles(c: &mut Config, args: &[String]) -> Result<(), String> {
    let mut out = Vec::new();
    // Bounded: the words of the value the client sent.
    for w in args.iter().flat_map(|a| a.split_whitespace()) {
        let p: f64 = w
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite())
            .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
        if !(0.0..=100.0).contains(&p) {
            return Err(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                    .into(),
            );
        }
        out.push(p);
    }
    c.latency_tracking_info_percentiles = out;
    Ok(())
}
fn get_save(c: &Config) -> String {
    c.save
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect::<Vec<_>>()
        .join(" ")
}
fn set_save(c: &mut Config, args: &[String]) -> Result<(), String> {
    let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
    if words.is_empty() {
        c.save.clear();
        return Ok(());
    }
    if !words.len().is_multiple_of(2) {
        return Err("Invalid save parameters".into());
    }
    let mut rules = Vec::new();
    for pair in words.chunks(2) {
        let secs = pair[0]
            .parse::<u64>()
            .map_err(|_| "Invalid save parameters".to_string())?;
        let changes = pair[1]
            .parse::<u64>()
            .map_err(|_| "Invalid save parameters".to_string())?;
        rules.push((secs, changes));
    }
    c.save = rules;
    Ok(())
}
fn get_replicaof(c: &Config) -> String {
    c.replicaof
        .as_ref()
        .map(|(h, p)| format!("{h} {p}"))
        .unwrap_or_default()
}
fn set_replicaof(c: &mut Config, args: &[String]) -> Result<(), String> {
    let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
    match words.as_slice() {
        [] => c.replicaof = None,
        [no, one] if no.eq_ignore_ascii_case("no") && one.eq_ignore_ascii_case("one") => {
            c.replicaof = None
        }
        [host, port] => {
            let port = port
                .parse::<u16>()
                .map_err(|_| "Invalid master port".to_string())?;
            c.replicaof = Some((host.to_string(), port));
        }
        _ => return Err("wrong number of arguments".into()),
    }
    Ok(())
}
const OBL_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];
fn get_obl(c: &Config) -> String {
    OBL_CLASSES
        .iter()
        .zip(&c.client_output_buffer_limit)
        .map(|(n, l)| format!("{n} {} {} {}", l.hard_bytes, l.soft_bytes, l.soft_seconds))
        .collect::<Vec<_>>()
        .join(" ")
}
fn set_obl(c: &mut Config, args: &[String]) -> Result<(), String> {
    let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
    if words.is_empty() || !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut limits = c.client_output_buffer_limit;
    for w in words.chunks(4) {
        let class = match w[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let hard = parse_memory(w[1]);
        let soft = parse_memory(w[2]);
        let secs = w[3].parse::<u64>().ok();
        match (hard, soft, secs) {
            (Some(h), Some(s), Some(t)) => {
                limits[class] = OutputLimit {
                    hard_bytes: h,
                    soft_bytes: s,
                    soft_seconds: t,
                }
            }
            _ => {
                return Err(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .into(),
                )
            }
        }
    }
    c.client_output_buffer_limit = limits;
    Ok(())
}

fn one_arg(args: &[String]) -> Result<&str, String> {
    match args {
        [v] => Ok(v),
        _ => Err("wrong number of arguments".into()),
    }
}

/// Parse a memory size with Redis's units: b, k (1000), kb (1024), m,
/// mb, g, gb; case-insensitive. Plain integers are bytes.
///
/// This is Redis 7.0's memtoull, quirks included, because CONFIG SET and
/// config files must accept exactly what redis-server accepts: no sign, an
/// empty number is 0 ("" and "kb" are valid), a number past 2^64-1
/// saturates (7.0 ignores strtoull's ERANGE), and the unit multiplication
/// wraps around.
pub fn parse_memory(s: &str) -> Option<u64> {
    if s.starts_with('-') {
        return None;
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    // Redis copies the digits into a 128-byte buffer first.
    if num.len() >= 128 {
        return None;
    }
    let val = num.bytes().fold(0u64, |acc, d| {
        acc.checked_mul(10)
            .and_then(|v| v.checked_add((d - b'0') as u64))
            .unwrap_or(u64::MAX)
    });
    Some(val.wrapping_mul(mul))
}

impl OptionDef {
    fn get(&self, c: &Config) -> String {
        match &self.kind {
            Kind::Bool(g, _) => if g(c) { "yes" } else { "no" }.into(),
            Kind::Int(g, _, _, _) => g(c).to_string(),
            Kind::Memory(g, _, _, _) => g(c).to_string(),
            Kind::Str(g, _) => g(c),
            Kind::Special(g, _) => g(c),
            Kind::Inert(default, _) => c
                .inert
                .get(self.name)
                .cloned()
                .unwrap_or_else(|| (*default).to_string()),
        }
    }

    /// Parse and apply. The error is Redis's reason text.
    fn set(&self, c: &mut Config, args: &[String]) -> Result<(), String> {
        match &self.kind {
            Kind::Special(_, s) => s(c, args),
            Kind::Bool(_, s) => {
                s(c, bool_arg(args)?);
                Ok(())
            }
            Kind::Int(_, s, min, max) => {
                s(c, int_arg(args, *min, *max)?);
                Ok(())
            }
            Kind::Memory(_, s, min, max) => {
                s(c, memory_arg(args, *min, *max)?);
                Ok(())
            }
            Kind::Str(_, s) => {
                s(c, one_arg(args)?.to_string());
                Ok(())
            }
            Kind::Inert(_, kind) => {
                let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
                let value = match *kind {
                    InertKind::Bool => yes_no(bool_arg(args)?),
                    InertKind::Int(min, max) => int_arg(args, min, max)?.to_string(),
                    InertKind::Memory(min, max) => memory_arg(args, min, max)?.to_string(),
                    InertKind::Enum(names) => {
                        let v = one_arg(args)?.to_ascii_lowercase();
                        if !names.contains(&v.as_str()) {
                            return Err(enum_error(names));
                        }
                        v
                    }
                    InertKind::Str => one_arg(args)?.to_string(),
                    InertKind::BoolNo(why) => {
                        if bool_arg(args)? {
                            return Err(why.into());
                        }
                        yes_no(false)
                    }
                    InertKind::IntZero(why) => {
                        if int_arg(args, 0, 65535)? != 0 {
                            return Err(why.into());
                        }
                        "0".into()
                    }
                    InertKind::OomValues => {
                        // Three words, whether a file line split them or
                        // CONFIG SET passed them as one value.
                        let words: Vec<&str> =
                            args.iter().flat_map(|a| a.split_whitespace()).collect();
                        if words.len() != 3 {
                            return Err("wrong number of arguments".into());
                        }
                        let ok = words.iter().all(|w| {
                            crate::resp::parser::parse_i64(w.as_bytes())
                                .is_some_and(|n| (-2000..=2000).contains(&n))
                        });
                        if !ok {
                            return Err(
                                "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
                                    .into(),
                            );
                        }
                        words.join(" ")
                    }
                };
                c.inert.insert(self.name, value);
                Ok(())
            }
        }
    }
}

/// `yes` or `no`, any case.
fn bool_arg(args: &[String]) -> Result<bool, String> {
    match one_arg(args)?.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

/// An integer within inclusive bounds.
fn int_arg(args: &[String], min: i64, max: i64) -> Result<i64, String> {
    // Redis's string2ll: no '+', no leading zeros, no spaces.
    let v = crate::resp::parser::parse_i64(one_arg(args)?.as_bytes())
        .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
    if v < min || v > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(v)
}

/// A memory size (units allowed) within inclusive bounds.
fn memory_arg(args: &[String], min: u64, max: u64) -> Result<u64, String> {
    let v = parse_memory(one_arg(args)?).ok_or("argument must be a memory value")?;
    if v < min || v > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(v)
}

/// A fatal configuration error, already formatted for stderr.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// What `load` decided the process should do.
#[derive(Debug)]
pub enum LoadOutcome {
    Run(Box<Config>),
    Version,
    Help(String),
}

fn fatal(origin: &str, line_text: &str, reason: &str) -> ConfigError {
    ConfigError(format!(
        "\n*** FATAL CONFIG FILE ERROR (RedisLite {}) ***\n{origin}\n>>> '{line_text}'\n{reason}",
        env!("CARGO_PKG_VERSION")
    ))
}

/// Apply one directive (`name args...`) from any source.
fn apply_directive(
    c: &mut Config,
    name: &str,
    args: &[String],
    seen_save: &mut bool,
) -> Result<(), String> {
    if name.eq_ignore_ascii_case("rename-command") && args.len() == 2 {
        // Checked against the lines before it now, so the error names
        // the offending line, as redis-server does.
        let mut next = c.renames.clone();
        next.push((args[0].clone(), args[1].clone()));
        crate::commands::table::effective_names(&next)?;
        c.renames = next;
        return Ok(());
    }
    let Some(opt) = find_option(name) else {
        return Err("Bad directive or wrong number of arguments".into());
    };
    if opt.name == "save" {
        // Repeated save lines accumulate, as in redis.conf; the first one
        // replaces the defaults.
        if !*seen_save {
            c.save.clear();
            *seen_save = true;
        }
        let mut tmp = c.clone();
        set_save(&mut tmp, args)?;
        c.save.extend(tmp.save);
        return Ok(());
    }
    if args.is_empty() {
        return Err("Bad directive or wrong number of arguments".into());
    }
    opt.set(c, args)
}

/// Parse redis.conf text. `depth` bounds `include` nesting.
fn parse_file(
    c: &mut Config,
    path: &Path,
    depth: usize,
    seen_save: &mut bool,
) -> Result<(), ConfigError> {
    const INCLUDE_DEPTH_MAX: usize = 8;
    let text = std::fs::read(path).map_err(|e| {
        ConfigError(format!(
            "Fatal error, can't open config file '{}': {e}",
            path.display()
        ))
    })?;
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let line = String::from_utf8_lossy(raw);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let origin = format!(
            "Reading the configuration file {}, at line {line_no}",
            path.display()
        );
        let mut bytes = Vec::new();
        let mut ranges = Vec::new();
        if split_args(trimmed.as_bytes(), &mut bytes, &mut ranges).is_err() {
            return Err(fatal(
                &origin,
                trimmed,
                "Unbalanced quotes in configuration line",
            ));
        }
        let words: Vec<String> = ranges
            .iter()
            .map(|r| String::from_utf8_lossy(&bytes[r.clone()]).into_owned())
            .collect();
        let Some((name, args)) = words.split_first() else {
            continue;
        };
        if name.eq_ignore_ascii_case("include") {
            if depth >= INCLUDE_DEPTH_MAX || args.len() != 1 {
                return Err(fatal(
                    &origin,
                    trimmed,
                    "Too deep include nesting or bad include",
                ));
            }
            parse_file(c, Path::new(&args[0]), depth + 1, seen_save)?;
            continue;
        }
        apply_directive(c, name, args, seen_save).map_err(|e| fatal(&origin, trimmed, &e))?;
    }
    Ok(())
}

/// Environment variables with their own names (documented in the README).
const ENV_ALIASES: &[(&str, &str)] = &[
    ("REDISLITE_PORT", "port"),
    ("REDISLITE_BIND", "bind"),
    ("REDISLITE_AOF_FSYNC_POLICY", "appendfsync"),
    ("REDISLITE_MAX_CLIENTS", "maxclients"),
    ("REDISLITE_REQUIREPASS", "requirepass"),
    ("REDISLITE_DIR", "dir"),
    ("REDISLITE_APPENDONLY", "appendonly"),
];

fn apply_env(c: &mut Config, env: &[(String, String)]) -> Result<bool, ConfigError> {
    let mut any = false;
    let mut sorted: Vec<&(String, String)> = env.iter().collect();
    sorted.sort();
    for (var, value) in sorted {
        let Some(suffix) = var.strip_prefix("REDISLITE_") else {
            continue;
        };
        // REDISLITE_TEST_*: test-only hooks read where they act
        // (persistence/fault.rs), not options.
        if suffix.starts_with("TEST_") {
            continue;
        }
        any = true;
        let origin = format!("Reading environment variable {var}");
        let shown = format!("{var}={value}");
        if var == "REDISLITE_MAX_MEMORY_MB" {
            let mb: u64 = value.trim().parse().map_err(|_| {
                fatal(
                    &origin,
                    &shown,
                    "argument couldn't be parsed into an integer",
                )
            })?;
            c.maxmemory = mb
                .checked_mul(1024 * 1024)
                .ok_or_else(|| fatal(&origin, &shown, "value too large"))?;
            continue;
        }
        let name = ENV_ALIASES
            .iter()
            .find(|(v, _)| v == var)
            .map(|(_, n)| n.to_string())
            .unwrap_or_else(|| suffix.to_ascii_lowercase().replace('_', "-"));
        let args: Vec<String> = if name == "bind" || name == "save" || name == "replicaof" {
            value
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        } else {
            vec![value.clone()]
        };
        let mut seen_save = true;
        apply_directive(c, &name, &args, &mut seen_save).map_err(|e| fatal(&origin, &shown, &e))?;
    }
    Ok(any)
}

/// `--name value [value...]` flags, as redis-server takes them.
fn apply_flags(c: &mut Config, flags: &[String]) -> Result<(), ConfigError> {
    let mut i = 0;
    let mut seen_save = false;
    while i < flags.len() {
        let flag = &flags[i];
        let Some(name) = flag.strip_prefix("--") else {
            return Err(fatal(
                &format!("Reading command-line argument '{flag}'"),
                flag,
                "Options must start with --",
            ));
        };
        let mut args = Vec::new();
        i += 1;
        while i < flags.len() && !flags[i].starts_with("--") {
            args.push(flags[i].clone());
            i += 1;
        }
        let origin = format!("Reading command-line option '--{name}'");
        let shown = format!("{name} {}", args.join(" "));
        if args.is_empty() {
            return Err(fatal(
                &origin,
                &shown,
                "Bad directive or wrong number of arguments",
            ));
        }
        apply_directive(c, name, &args, &mut seen_save).map_err(|e| fatal(&origin, &shown, &e))?;
    }
    Ok(())
}

pub const HELP_TEXT: &str = "Usage: redislite-server [/path/to/redis.conf] [options]
       redislite-server -v or --version
       redislite-server -h or --help

Options are redis.conf directives given as --name value, for example:
       redislite-server --port 7777
       redislite-server /etc/redis/6379.conf --loglevel verbose
Environment: REDISLITE_PORT, REDISLITE_BIND, REDISLITE_AOF_FSYNC_POLICY,
REDISLITE_MAX_MEMORY_MB, REDISLITE_MAX_CLIENTS, and REDISLITE_<OPTION> for any
option (dashes written as underscores). Precedence: file < env < flags.";

/// Build the configuration from process arguments (without argv[0]) and
/// the `REDISLITE_*` environment.
pub fn load(args: &[String], env: &[(String, String)]) -> Result<LoadOutcome, ConfigError> {
    match args.first().map(String::as_str) {
        Some("-v") | Some("--version") => return Ok(LoadOutcome::Version),
        Some("-h") | Some("--help") => return Ok(LoadOutcome::Help(HELP_TEXT.into())),
        _ => {}
    }
    let mut c = Config::default();
    let mut sources = Vec::new();
    let mut rest = args;
    if let Some(first) = args.first() {
        if !first.starts_with("--") {
            let path = PathBuf::from(first);
            let mut seen_save = false;
            parse_file(&mut c, &path, 0, &mut seen_save)?;
            let abs = std::fs::canonicalize(&path).unwrap_or(path);
            sources.push(abs.display().to_string());
            c.config_file = Some(abs);
            rest = &args[1..];
        }
    }
    if apply_env(&mut c, env)? {
        sources.push("env".into());
    }
    if !rest.is_empty() {
        apply_flags(&mut c, rest)?;
        sources.push("flags".into());
    }
    c.source = if sources.is_empty() {
        "embedded defaults".into()
    } else {
        sources.join(" + ")
    };
    Ok(LoadOutcome::Run(Box::new(c)))
}

impl Config {
    /// CONFIG GET: every option whose name (or alias) matches `pattern`.
    /// A pattern matching an alias returns the alias name, as Redis does.
    pub fn get_matching(&self, pattern: &[u8]) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for opt in OPTIONS {
            for name in std::iter::once(&opt.name).chain(opt.aliases.iter()) {
                if crate::glob::glob_match(pattern, name.as_bytes(), true) {
                    out.push((*name, opt.get(self)));
                }
            }
        }
        out
    }

    /// CONFIG GET with a plain name (no glob characters): the value of the
    /// option or alias of that name, ignoring case.
    pub fn get_exact(&self, name: &str) -> Option<String> {
        find_option(name).map(|o| o.get(self))
    }

    /// CONFIG SET name value [name value ...]: all or nothing. The error is
    /// the full Redis error line (with the ERR prefix).
    pub fn set_many(&mut self, pairs: &[(String, String)]) -> Result<(), String> {
        self.set_many_as(pairs, false)
    }

    /// `set_many` for a client that `enable-protected-configs` lets change
    /// the protected options (`protected_ok`).
    pub fn set_many_as(
        &mut self,
        pairs: &[(String, String)],
        protected_ok: bool,
    ) -> Result<(), String> {
        let mut next = self.clone();
        let mut done: Vec<&'static str> = Vec::new();
        for (name, value) in pairs {
            let Some(opt) = find_option(name) else {
                return Err(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                ));
            };
            let fail = |why: &str| {
                format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
            };
            if !opt.mutable {
                return Err(fail("can't set immutable config"));
            }
            if PROTECTED.contains(&opt.name) && !protected_ok {
                return Err(fail("can't set protected config"));
            }
            if done.contains(&opt.name) {
                return Err(fail("duplicate parameter"));
            }
            done.push(opt.name);
            let args = match &opt.kind {
                Kind::Special(..) => value
                    .split_whitespace()
                    .map(String::from)
                    .collect::<Vec<_>>(),
                _ => vec![value.clone()],
            };
            let args = if args.is_empty() {
                vec![String::new()]
            } else {
                args
            };
            let args = if opt.name == "save" && value.trim().is_empty() {
                Vec::new()
            } else {
                args
            };
            opt.set(&mut next, &args).map_err(|e| fail(&e))?;
        }
        *self = next;
        Ok(())
    }

    /// CONFIG REWRITE: update the config file in place, keeping comments,
    /// blank lines and lines we do not know. An option present in the file
    /// gets its current value on its first line (later duplicates are
    /// dropped); an option absent from the file is appended only if it
    /// differs from the default.
    pub fn rewrite(&self) -> std::io::Result<()> {
        let path = self
            .config_file
            .as_ref()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no config file"))?;
        let old = std::fs::read_to_string(path).unwrap_or_default();
        let defaults = Config::default();
        let mut out: Vec<String> = Vec::new();
        let mut written: Vec<&'static str> = Vec::new();
        // As Redis: the marker is written once, before the first appended
        // option, and kept (not repeated) by later rewrites.
        const MARKER: &str = "# Generated by CONFIG REWRITE";
        let mut has_marker = false;
        for line in old.lines() {
            let t = line.trim();
            has_marker |= t == MARKER;
            let name = t.split_whitespace().next().unwrap_or("");
            let opt = if t.starts_with('#') || t.is_empty() {
                None
            } else {
                find_option(name)
            };
            match opt {
                None => out.push(line.to_string()),
                Some(o) if written.contains(&o.name) => {}
                Some(o) => {
                    written.push(o.name);
                    let lines = self.option_lines(o);
                    // An option that no longer has a line (replicaof after
                    // REPLICAOF NO ONE) leaves a blank line, as in Redis,
                    // so the lines around it keep their places.
                    if lines.is_empty() {
                        out.push(String::new());
                    }
                    out.extend(lines);
                }
            }
        }
        let mut appended = Vec::new();
        for o in OPTIONS {
            if written.contains(&o.name) || o.get(self) == o.get(&defaults) {
                continue;
            }
            appended.extend(self.option_lines(o));
        }
        if !appended.is_empty() && !has_marker {
            if out.last().is_some_and(|l| !l.trim().is_empty()) {
                out.push(String::new());
            }
            out.push(MARKER.to_string());
        }
        out.extend(appended);
        let mut text = out.join("\n");
        text.push('\n');
        atomic_write(path, text.as_bytes())
    }

    /// The config-file lines that express option `o`'s current value.
    fn option_lines(&self, o: &OptionDef) -> Vec<String> {
        let v = o.get(self);
        match o.name {
            "save" if self.save.is_empty() => vec!["save \"\"".into()],
            "save" => self
                .save
                .iter()
                .map(|(s, n)| format!("save {s} {n}"))
                .collect(),
            "client-output-buffer-limit" => OBL_CLASSES
                .iter()
                .zip(&self.client_output_buffer_limit)
                .map(|(n, l)| {
                    format!(
                        "client-output-buffer-limit {n} {} {} {}",
                        l.hard_bytes, l.soft_bytes, l.soft_seconds
                    )
                })
                .collect(),
            "replicaof" if v.is_empty() => Vec::new(),
            "bind" | "replicaof" => vec![format!("{} {v}", o.name)],
            _ => vec![format!("{} {}", o.name, quote(&v))],
        }
    }
}

/// Quote a value for a config line when it is empty or has spaces/quotes.
fn quote(v: &str) -> String {
    if !v.is_empty() && !v.contains([' ', '"', '\'', '\\', '\t']) {
        return v.to_string();
    }
    let mut s = String::from("\"");
    for ch in v.chars() {
        match ch {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Write a file so that readers see either the old or the new content:
/// temp file in the same directory, fsync, rename, fsync the directory.
pub fn atomic_write(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("config"),
        std::process::id()
    ));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        match load(&s(args), &env)? {
            LoadOutcome::Run(c) => Ok(*c),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("100"), Some(100));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1KB"), Some(1024));
        assert_eq!(parse_memory("2gb"), Some(2 * 1024 * 1024 * 1024));
        assert_eq!(parse_memory("1x"), None);
        assert_eq!(parse_memory("mb"), Some(0));
        assert_eq!(parse_memory("+1"), None);
        assert_eq!(parse_memory("-1"), None);
    }

    #[test]
    fn defaults_and_flags() {
        let c = run(&[], &[]).unwrap();
        assert_eq!(c.port, 6379);
        assert_eq!(c.source, "embedded defaults");
        let c = run(
            &["--port", "7000", "--save", "", "--appendfsync", "always"],
            &[],
        )
        .unwrap();
        assert_eq!(c.port, 7000);
        assert!(c.save.is_empty());
        assert_eq!(c.appendfsync, FsyncPolicy::Always);
        let c = run(&["--save", "900", "1", "--save", "60", "5"], &[]).unwrap();
        assert_eq!(c.save, vec![(900, 1), (60, 5)]);
    }

    #[test]
    fn env_and_precedence() {
        let c = run(
            &["--maxclients", "9"],
            &[
                ("REDISLITE_MAX_CLIENTS", "5"),
                ("REDISLITE_MAX_MEMORY_MB", "2"),
            ],
        )
        .unwrap();
        assert_eq!(c.maxclients, 9);
        assert_eq!(c.maxmemory, 2 * 1024 * 1024);
        let c = run(&[], &[("REDISLITE_MAXMEMORY_POLICY", "allkeys-lru")]).unwrap();
        assert_eq!(c.maxmemory_policy, MaxmemoryPolicy::AllkeysLru);
        let e = run(&[], &[("REDISLITE_PORT", "x")]).unwrap_err();
        assert!(e.0.contains("REDISLITE_PORT"), "{e}");
        let e = run(&[], &[("REDISLITE_NOPE", "1")]).unwrap_err();
        assert!(e.0.contains("Bad directive"), "{e}");
    }

    #[test]
    fn file_errors_name_the_line() {
        let dir = std::env::temp_dir().join(format!("rl-cfg-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.conf");
        std::fs::write(&p, "# c\nport 1234\nhz \"20\"\nmaxmemory nope\n").unwrap();
        let e = run(&[p.to_str().unwrap()], &[]).unwrap_err();
        assert!(e.0.contains("at line 4"), "{e}");
        assert!(e.0.contains("argument must be a memory value"), "{e}");
        std::fs::write(&p, "port 1234\nhz \"20\"\nsave 10 1\nsave 20 2\n").unwrap();
        let c = run(&[p.to_str().unwrap()], &[]).unwrap();
        assert_eq!((c.port, c.hz), (1234, 20));
        assert_eq!(c.save, vec![(10, 1), (20, 2)]);
    }

    #[test]
    fn config_set_is_atomic_and_worded_like_redis() {
        let mut c = Config::default();
        let err = c
            .set_many(&[
                ("maxclients".into(), "5".into()),
                ("hz".into(), "abc".into()),
            ])
            .unwrap_err();
        assert_eq!(err, "ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer");
        assert_eq!(c.maxclients, 10000);
        assert_eq!(
            c.set_many(&[("databases".into(), "3".into())]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
        );
        assert_eq!(
            c.set_many(&[("foo".into(), "3".into())]).unwrap_err(),
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
        );
        c.set_many(&[("save".into(), "".into())]).unwrap();
        assert!(c.save.is_empty());
        c.set_many(&[("maxmemory".into(), "1mb".into())]).unwrap();
        assert_eq!(
            c.get_matching(b"maxmemory"),
            vec![("maxmemory", "1048576".to_string())]
        );
    }

    #[test]
    fn get_matching_includes_aliases() {
        let c = Config::default();
        let names: Vec<&str> = c
            .get_matching(b"hash-max-*")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert!(names.contains(&"hash-max-listpack-entries"));
        assert!(names.contains(&"hash-max-ziplist-entries"));
    }

    #[test]
    fn rewrite_round_trip() {
        let dir = std::env::temp_dir().join(format!("rl-cfg-rw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("r.conf");
        std::fs::write(&p, "# keep me\nmaxclients 3\nmaxclients 4\n").unwrap();
        let mut c = run(&[p.to_str().unwrap()], &[]).unwrap();
        c.set_many(&[
            ("maxclients".into(), "8".into()),
            ("timeout".into(), "30".into()),
        ])
        .unwrap();
        c.rewrite().unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("# keep me"));
        assert_eq!(text.matches("maxclients").count(), 1, "{text}");
        assert!(text.contains("maxclients 8"));
        assert!(text.contains("timeout 30"));
        let again = run(&[p.to_str().unwrap()], &[]).unwrap();
        assert_eq!((again.maxclients, again.timeout), (8, 30));
        // A second rewrite keeps the one marker and the appended lines.
        again.rewrite().unwrap();
        let twice = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            twice.matches("# Generated by CONFIG REWRITE").count(),
            1,
            "{twice}"
        );
        assert_eq!(twice, text);
    }

    #[test]
    fn rewrite_blanks_a_dropped_replicaof_in_place() {
        let dir = std::env::temp_dir().join(format!("rl-cfg-rw2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("r.conf");
        std::fs::write(&p, "# top\nslaveof 127.0.0.1 7000\nmaxclients 9\n# end\n").unwrap();
        let mut c = run(&[p.to_str().unwrap()], &[]).unwrap();
        c.replicaof = Some(("10.0.0.1".into(), 7001)); // REPLICAOF 10.0.0.1 7001
        c.rewrite().unwrap();
        let moved = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            moved,
            "# top\nreplicaof 10.0.0.1 7001\nmaxclients 9\n# end\n"
        );
        c.replicaof = None; // REPLICAOF NO ONE
        c.rewrite().unwrap();
        let dropped = std::fs::read_to_string(&p).unwrap();
        assert_eq!(dropped, "# top\n\nmaxclients 9\n# end\n");
    }
}
