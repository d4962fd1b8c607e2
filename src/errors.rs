//! Every error a command can answer, with Redis's exact wire text.
//!
//! Owns: the mapping from error kinds to the bytes clients see. Handlers
//! return `Err(CmdError::...)`; the dispatcher writes the reply and counts
//! it in INFO errorstats. Keeping the texts here is what lets a differential
//! test against redis-server stay green when a message changes: there is
//! one place to fix.

use std::borrow::Cow;

pub type CmdResult = Result<(), CmdError>;

#[derive(Debug, Clone, PartialEq)]
pub enum CmdError {
    Syntax,
    WrongType,
    NotInteger,
    NotFloat,
    /// A count that must be >= 0 (LPOP/RPOP count, SPOP, ...).
    NotPositive,
    Overflow,
    IncrNanOrInf,
    NoSuchKey,
    DbIndexOutOfRange,
    InvalidDbIndex,
    SameObject,
    /// `invalid expire time in '<cmd>' command`
    InvalidExpireTime(&'static str),
    StringTooLong,
    OffsetOutOfRange,
    InvalidCursor,
    /// SETBIT/GETBIT/BITFIELD offset: not an integer, negative, or past
    /// proto-max-bulk-len bytes.
    BitOffset,
    /// SETBIT's value is not 0 or 1.
    BitValue,
    /// BITPOS's bit is not 0 or 1.
    BitposBit,
    /// BITFIELD type other than i1..i64, u1..u63.
    BitfieldType,
    /// BITFIELD OVERFLOW other than WRAP, SAT, FAIL.
    BitfieldOverflow,
    /// BITFIELD_RO given SET or INCRBY.
    BitfieldRoWrite,
    /// BITOP NOT with more than one source.
    BitopNotArity,
    NoAuth,
    /// maxmemory reached and nothing could be evicted.
    Oom,
    WrongPass,
    AuthNotConfigured,
    /// A PF* command on a string that is not a HyperLogLog (or an
    /// int-encoded one).
    HllWrongType,
    /// A HyperLogLog whose registers do not add up.
    HllCorrupted,
    /// A protected command (DEBUG, MODULE LOAD...) its `enable-*-command`
    /// option does not allow for this client.
    CommandNotAllowed {
        command: &'static str,
        option: &'static str,
    },
    /// `wrong number of arguments for '<cmd>' command`
    WrongArity(String),
    /// `unknown subcommand '<sub>'. Try <CMD> HELP.`
    UnknownSubcommand(String, String),
    /// `unknown subcommand or wrong number of arguments for '<sub>'. Try
    /// <CMD> HELP.`: a known subcommand with arguments it does not take
    /// (Redis's addReplySubcommandSyntaxError). Built by
    /// [`CmdError::subcommand_syntax`].
    SubcommandSyntax(String, String),
    /// SORT: an element or BY weight is not a number (without ALPHA).
    SortNotDouble,
    /// SORT's BY or GET pattern, for a user who may not read every key.
    SortPatternDenied(&'static str),
    /// GEO*: a longitude/latitude outside the indexed square (printed `%f`).
    GeoInvalidPair(f64, f64),
    /// GEO*: a FROMMEMBER / BYMEMBER member that is not in the set.
    GeoUnknownMember,
    /// GEO*: a unit that is not m, km, ft or mi.
    GeoUnit,
    /// GEO*: `need numeric <radius|width|height>`.
    GeoNeedNumeric(&'static str),
    GeoNegativeRadius,
    GeoNegativeBox,
    GeoCountNotPositive,
    GeoAnyWithoutCount,
    /// GEO*: WITHDIST/WITHHASH/WITHCOORD with a store; the text names the
    /// command form ("GEOSEARCHSTORE", "STORE option in GEORADIUS").
    GeoStoreWithReplyOptions(&'static str),
    /// GEOSEARCH: the `FROMMEMBER or FROMLONLAT` / `BYRADIUS and BYBOX`
    /// choice missing; the command name as the client typed it.
    GeoExactlyOne(&'static str, String),
    /// CLUSTER, ASKING, READONLY, READWRITE on a standalone server.
    ClusterDisabled,
    /// The stream commands' own errors (t_stream.c's texts).
    Stream(StreamError),
    /// XREADGROUP: `NOGROUP No such key '<key>' or consumer group
    /// '<group>' in XREADGROUP with GROUP option`.
    NoGroupRead(String, String),
    /// XCLAIM, XAUTOCLAIM, XPENDING: `NOGROUP No such key '<key>' or
    /// consumer group '<group>'`.
    NoGroup(String, String),
    /// XGROUP, XINFO CONSUMERS: `NOGROUP No such consumer group '<group>'
    /// for key name '<key>'` (group first).
    NoGroupForKey(String, String),
    /// XGROUP CREATE of a group that exists.
    BusyGroup,
    /// XGROUP on a missing key without MKSTREAM.
    XGroupNoKey,
    /// XREAD / XREADGROUP: STREAMS followed by an odd number of arguments
    /// (7.0.15 names XREAD and `$` for both commands).
    StreamsUnbalanced,
    /// Anything with a one-off text; the string includes its code prefix
    /// (`ERR ...`, `NOPROTO ...`).
    Other(Cow<'static, str>),
}

impl CmdError {
    pub fn msg(s: impl Into<Cow<'static, str>>) -> CmdError {
        CmdError::Other(s.into())
    }

    /// [`CmdError::SubcommandSyntax`] for a request whose command is `cmd`
    /// and subcommand `sub`, as sent: the subcommand cut at 128
    /// characters, the command upper-cased, as Redis prints them.
    pub fn subcommand_syntax(cmd: &[u8], sub: &[u8]) -> CmdError {
        CmdError::SubcommandSyntax(
            String::from_utf8_lossy(sub).chars().take(128).collect(),
            String::from_utf8_lossy(cmd).to_ascii_uppercase(),
        )
    }

    /// The error line without the leading `-` and trailing CRLF.
    pub fn message(&self) -> Cow<'static, str> {
        match self {
            CmdError::Syntax => "ERR syntax error".into(),
            CmdError::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            }
            CmdError::NotInteger => "ERR value is not an integer or out of range".into(),
            CmdError::NotFloat => "ERR value is not a valid float".into(),
            CmdError::NotPositive => "ERR value is out of range, must be positive".into(),
            CmdError::Overflow => "ERR increment or decrement would overflow".into(),
            CmdError::IncrNanOrInf => "ERR increment would produce NaN or Infinity".into(),
            CmdError::NoSuchKey => "ERR no such key".into(),
            CmdError::DbIndexOutOfRange => "ERR DB index is out of range".into(),
            CmdError::InvalidDbIndex => "ERR value is not an integer or out of range".into(),
            CmdError::SameObject => "ERR source and destination objects are the same".into(),
            CmdError::InvalidExpireTime(cmd) => {
                format!("ERR invalid expire time in '{cmd}' command").into()
            }
            CmdError::StringTooLong => {
                "ERR string exceeds maximum allowed size (proto-max-bulk-len)".into()
            }
            CmdError::OffsetOutOfRange => "ERR offset is out of range".into(),
            CmdError::InvalidCursor => "ERR invalid cursor".into(),
            CmdError::BitOffset => "ERR bit offset is not an integer or out of range".into(),
            CmdError::BitValue => "ERR bit is not an integer or out of range".into(),
            CmdError::BitposBit => "ERR The bit argument must be 1 or 0.".into(),
            CmdError::BitfieldType => "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.".into(),
            CmdError::BitfieldOverflow => "ERR Invalid OVERFLOW type specified".into(),
            CmdError::BitfieldRoWrite => "ERR BITFIELD_RO only supports the GET subcommand".into(),
            CmdError::BitopNotArity => "ERR BITOP NOT must be called with a single source key.".into(),
            CmdError::NoAuth => "NOAUTH Authentication required.".into(),
            CmdError::Oom => "OOM command not allowed when used memory > 'maxmemory'.".into(),
            CmdError::WrongPass => {
                "WRONGPASS invalid username-password pair or user is disabled.".into()
            }
            CmdError::AuthNotConfigured => "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?".into(),
            CmdError::HllWrongType => "WRONGTYPE Key is not a valid HyperLogLog string value.".into(),
            CmdError::HllCorrupted => "INVALIDOBJ Corrupted HLL object detected".into(),
            CmdError::CommandNotAllowed { command, option } => format!(
                "ERR {command} command not allowed. If the {option} option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."
            )
            .into(),
            CmdError::WrongArity(cmd) => {
                format!("ERR wrong number of arguments for '{cmd}' command").into()
            }
            CmdError::UnknownSubcommand(sub, cmd) => {
                format!("ERR unknown subcommand '{sub}'. Try {cmd} HELP.").into()
            }
            CmdError::SubcommandSyntax(sub, cmd) => format!(
                "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {cmd} HELP."
            )
            .into(),
            CmdError::SortNotDouble => {
                "ERR One or more scores can't be converted into double".into()
            }
            CmdError::SortPatternDenied(option) => format!(
                "ERR {option} option of SORT denied due to insufficient ACL permissions."
            )
            .into(),
            CmdError::GeoInvalidPair(lon, lat) => {
                // C's "%f": six decimals, "inf" / "-inf" as glibc prints them.
                format!("ERR invalid longitude,latitude pair {lon:.6},{lat:.6}").into()
            }
            CmdError::GeoUnknownMember => "ERR could not decode requested zset member".into(),
            CmdError::GeoUnit => {
                "ERR unsupported unit provided. please use M, KM, FT, MI".into()
            }
            CmdError::GeoNeedNumeric(what) => format!("ERR need numeric {what}").into(),
            CmdError::GeoNegativeRadius => "ERR radius cannot be negative".into(),
            CmdError::GeoNegativeBox => "ERR height or width cannot be negative".into(),
            CmdError::GeoCountNotPositive => "ERR COUNT must be > 0".into(),
            CmdError::GeoAnyWithoutCount => "ERR the ANY argument requires COUNT argument".into(),
            CmdError::GeoStoreWithReplyOptions(form) => format!(
                "ERR {form} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
            )
            .into(),
            CmdError::GeoExactlyOne(choice, cmd) => {
                format!("ERR exactly one of {choice} can be specified for {cmd}").into()
            }
            CmdError::ClusterDisabled => "ERR This instance has cluster support disabled".into(),
            CmdError::Stream(e) => e.message().into(),
            CmdError::NoGroupRead(key, group) => format!(
                "NOGROUP No such key '{key}' or consumer group '{group}' in XREADGROUP with GROUP option"
            )
            .into(),
            CmdError::NoGroup(key, group) => {
                format!("NOGROUP No such key '{key}' or consumer group '{group}'").into()
            }
            CmdError::NoGroupForKey(group, key) => {
                format!("NOGROUP No such consumer group '{group}' for key name '{key}'").into()
            }
            CmdError::BusyGroup => "BUSYGROUP Consumer Group name already exists".into(),
            CmdError::XGroupNoKey => "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.".into(),
            CmdError::StreamsUnbalanced => "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.".into(),
            CmdError::Other(s) => s.clone(),
        }
    }
}

/// The stream commands' errors, Redis 7.0's texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamError {
    /// An ID argument that is not `ms[-seq]` (or `-`/`+`, `(id` where a
    /// range allows them).
    InvalidId,
    /// XADD with an explicit 0-0.
    AddZeroId,
    /// XADD with an ID at or below the last generated one.
    AddIdNotGreater,
    /// XADD on a stream whose last ID is the largest possible one.
    IdsExhausted,
    /// XADD whose fields and values exceed a listpack's 1 GiB.
    ElementsTooLarge,
    MaxlenNegative,
    LimitNegative,
    MaxlenAndMinid,
    LimitWithoutStrategy,
    LimitWithoutApprox,
    XtrimWithoutStrategy,
    /// XRANGE's exclusive start at the largest ID.
    InvalidStartInterval,
    /// XRANGE's exclusive end at 0-0.
    InvalidEndInterval,
    SetIdBelowTop,
    SetIdBelowGivenMaxDeleted,
    SetIdEntriesAddedNegative,
    SetIdEntriesAddedBelowLength,
}

impl StreamError {
    pub fn message(self) -> &'static str {
        match self {
            StreamError::InvalidId => "ERR Invalid stream ID specified as stream command argument",
            StreamError::AddZeroId => "ERR The ID specified in XADD must be greater than 0-0",
            StreamError::AddIdNotGreater => {
                "ERR The ID specified in XADD is equal or smaller than the target stream top item"
            }
            StreamError::IdsExhausted => {
                "ERR The stream has exhausted the last possible ID, unable to add more items"
            }
            StreamError::ElementsTooLarge => "ERR Elements are too large to be stored",
            StreamError::MaxlenNegative => "ERR The MAXLEN argument must be >= 0.",
            StreamError::LimitNegative => "ERR The LIMIT argument must be >= 0.",
            StreamError::MaxlenAndMinid => {
                "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
            }
            StreamError::LimitWithoutStrategy => {
                "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
            }
            StreamError::LimitWithoutApprox => {
                "ERR syntax error, LIMIT cannot be used without the special ~ option"
            }
            StreamError::XtrimWithoutStrategy => {
                "ERR syntax error, XTRIM must be called with a trimming strategy"
            }
            StreamError::InvalidStartInterval => "ERR invalid start ID for the interval",
            StreamError::InvalidEndInterval => "ERR invalid end ID for the interval",
            StreamError::SetIdBelowTop => {
                "ERR The ID specified in XSETID is smaller than the target stream top item"
            }
            StreamError::SetIdBelowGivenMaxDeleted => {
                "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
            }
            StreamError::SetIdEntriesAddedNegative => "ERR entries_added must be positive",
            StreamError::SetIdEntriesAddedBelowLength => {
                "ERR The entries_added specified in XSETID is smaller than the target stream length"
            }
        }
    }
}

/// Redis 7.0's protected-mode refusal, sent to a non-loopback peer before
/// closing it (see `acl::protected_mode_denies`). Typo included, as Redis.
pub const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// SSUBSCRIBE run inside EXEC: Redis 7.0 refuses it for a client that
/// expects one reply per command (SUBSCRIBE there is allowed).
pub const SSUBSCRIBE_DENY_BLOCKING: &str =
    "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client";

// CLIENT TRACKING / CLIENT CACHING refusals, Redis 7.0's texts.
pub const TRACKING_REDIR_MISSING: &str = "ERR The client ID you want redirect to does not exist";
pub const TRACKING_PREFIX_NEEDS_BCAST: &str = "ERR PREFIX option requires BCAST mode to be enabled";
pub const TRACKING_BCAST_SWITCH: &str = "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.";
pub const TRACKING_OPT_WITH_BCAST: &str = "ERR OPTIN and OPTOUT are not compatible with BCAST";
pub const TRACKING_OPTIN_AND_OPTOUT: &str = "ERR You can't specify both OPTIN mode and OPTOUT mode";
pub const TRACKING_OPT_SWITCH: &str = "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.";
pub const CACHING_NOT_TRACKING: &str = "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled";
pub const CACHING_YES_NEEDS_OPTIN: &str =
    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.";
pub const CACHING_NO_NEEDS_OPTOUT: &str =
    "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.";

// Consumer groups (commands/stream_groups.rs): one-off texts, Redis 7.0's.
pub const XREAD_GROUP_ONLY: &str =
    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.";
pub const XREAD_NOACK_ONLY: &str =
    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.";
pub const XREADGROUP_MISSING_GROUP: &str = "ERR Missing GROUP option for XREADGROUP";
pub const XREADGROUP_DOLLAR: &str = "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.";
pub const XREAD_GT_ONLY: &str = "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.";
pub const STREAM_TIMEOUT_NOT_INT: &str = "ERR timeout is not an integer or out of range";
pub const STREAM_TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
pub const ENTRIESREAD_RANGE: &str = "ERR value for ENTRIESREAD must be positive or -1";
pub const INTERVAL_START: &str = "ERR invalid start ID for the interval";
pub const INTERVAL_END: &str = "ERR invalid end ID for the interval";
pub const XCLAIM_MIN_IDLE: &str = "ERR Invalid min-idle-time argument for XCLAIM";
pub const XCLAIM_IDLE: &str = "ERR Invalid IDLE option argument for XCLAIM";
pub const XCLAIM_TIME: &str = "ERR Invalid TIME option argument for XCLAIM";
pub const XCLAIM_RETRYCOUNT: &str = "ERR Invalid RETRYCOUNT option argument for XCLAIM";
pub const XAUTOCLAIM_MIN_IDLE: &str = "ERR Invalid min-idle-time argument for XAUTOCLAIM";
pub const XAUTOCLAIM_COUNT: &str = "ERR COUNT must be > 0";
pub const XAUTOCLAIM_COUNT_MEMORY: &str =
    "ERR Insufficient memory, failed allocating transient memory, COUNT too high.";
/// A blocked XREADGROUP whose key was deleted (or overwritten).
pub const XREADGROUP_KEY_GONE: &str = "UNBLOCKED the stream key no longer exists";
/// A blocked XREADGROUP whose group was destroyed.
pub const XREADGROUP_GROUP_GONE: &str =
    "NOGROUP the consumer group this client was blocked on no longer exists";
