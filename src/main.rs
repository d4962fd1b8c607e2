//! `redislite-server`: parse configuration, bind, run the loop, exit.
//!
//! Exit codes: 0 after SHUTDOWN or SIGTERM/SIGINT, 1 for configuration or
//! startup errors (the message names the option, file and line).

use redislite::commands::connection::REDIS_COMPAT_VERSION;
use redislite::config::{self, LoadOutcome};
use redislite::memory::CountingAlloc;
use redislite::server::{event_loop, Server};
use std::sync::Arc;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Repair mode, like redis-check-aof: --check-aof FILE [--fix], FILE a log or a manifest.
    if args.first().map(String::as_str) == Some("--check-aof") {
        let Some(file) = args.get(1) else {
            eprintln!("Usage: redislite-server --check-aof FILE|MANIFEST [--fix]");
            std::process::exit(1);
        };
        let fix = args.get(2).map(String::as_str) == Some("--fix");
        std::process::exit(redislite::persistence::aof::check_aof_cli(file, fix));
    }
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("REDISLITE_"))
        .collect();
    let config = match config::load(&args, &env) {
        Ok(LoadOutcome::Run(c)) => *c,
        Ok(LoadOutcome::Version) => {
            println!(
                "RedisLite server v={} (Redis {} compatible)",
                env!("CARGO_PKG_VERSION"),
                REDIS_COMPAT_VERSION
            );
            return;
        }
        Ok(LoadOutcome::Help(text)) => {
            println!("{text}");
            return;
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let mut config = config;
    init_logging(&config);
    if config.daemonize {
        // Before the listeners, as Redis: the parent returns at once and
        // only the log tells what happens next.
        if let Err(e) = redislite::server::daemonize::daemonize() {
            log::error!("Can't daemonize: {e}");
            std::process::exit(1);
        }
        if config.pidfile.is_empty() {
            config.pidfile = redislite::server::daemonize::DEFAULT_PIDFILE.into();
        }
    }
    // Before anything looks a command up (the ACL file below does).
    if let Err(e) = redislite::commands::table::install_renames(&config.renames) {
        eprintln!("{e}");
        std::process::exit(1);
    }
    let listeners = match event_loop::bind_listeners(&config) {
        Ok(l) => l,
        Err(e) => {
            log::error!("{e}");
            std::process::exit(1);
        }
    };
    let unix_listener = match event_loop::bind_unix_listener(&config) {
        Ok(l) => l,
        Err(e) => {
            log::error!("{e}");
            std::process::exit(1);
        }
    };
    let poll = match mio::Poll::new() {
        Ok(p) => p,
        Err(e) => {
            log::error!("Creating the event loop: {e}");
            std::process::exit(1);
        }
    };
    let port = config.port;
    let source = config.source.clone();
    let mut server = Server::new(config, poll, listeners);
    server.unix_listener = unix_listener;
    let notify_socket = std::env::var("NOTIFY_SOCKET").ok();
    server.supervisor = redislite::server::supervise::Notifier::from_mode(
        &server.config.supervised,
        notify_socket.as_deref(),
    );
    if !server.config.aclfile.is_empty() {
        match redislite::acl::parse_file(&server.config.aclfile) {
            Ok(users) => {
                server.acl.replace_users(users);
            }
            Err(e) => {
                log::error!("Aborting Redis startup because of ACL errors: {e}");
                std::process::exit(1);
            }
        }
    }
    if let Err(e) = redislite::persistence::load_at_startup(&mut server) {
        log::error!("{e}");
        std::process::exit(1);
    }
    server.write_pidfile();
    // SIGTERM/SIGINT set `signal_term` (the loop starts a graceful
    // shutdown); one arriving while it is already set exits at once with
    // status 1 (the conditional handler runs first, so the first signal
    // only sets the flag).
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let term = &server.signal_term;
        let registered = signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(term))
            .and_then(|_| signal_hook::flag::register(sig, Arc::clone(term)))
            .and_then(|_| {
                signal_hook::flag::register_usize(
                    sig,
                    Arc::clone(&server.last_signal),
                    sig as usize,
                )
            });
        if let Err(e) = registered {
            log::error!("Installing signal handler: {e}");
            std::process::exit(1);
        }
    }
    log::info!(
        "RedisLite {} (Redis {} compatible) port={} pid={} config={}",
        env!("CARGO_PKG_VERSION"),
        REDIS_COMPAT_VERSION,
        port,
        std::process::id(),
        source
    );
    log::info!("Ready to accept connections tcp");
    if server.unix_listener.is_some() {
        log::info!("Ready to accept connections unix");
    }
    server.notify_supervisor("STATUS=Ready to accept connections\n");
    server.notify_supervisor("READY=1\n");
    match server.run() {
        Ok(_) => std::process::exit(0),
        Err(e) => {
            log::error!("Event loop failed: {e}");
            std::process::exit(1);
        }
    }
}

/// RUST_LOG wins when set; otherwise the config's `loglevel` maps to a
/// filter (debug/verbose -> debug, notice -> info, warning -> warn). The
/// log goes to `logfile` (appended to, created if missing) or, when it
/// is "", to standard error. A log file that cannot be opened stops the
/// start, with Redis's message.
fn init_logging(config: &config::Config) {
    let default = match config.loglevel.as_str() {
        "debug" => "debug",
        "verbose" => "debug",
        "warning" => "warn",
        "nothing" => "off",
        _ => "info",
    };
    let env = env_logger::Env::default().default_filter_or(default);
    let mut builder = env_logger::Builder::from_env(env);
    // Redis's line format (observe/log_format.rs).
    builder.format(move |buf, record| {
        use redislite::observe::log_format::{level_mark, timestamp};
        use std::io::Write;
        writeln!(
            buf,
            "{}:M {} {} {}",
            // After `daemonize` the pid is the child's: read it per line.
            std::process::id(),
            timestamp(redislite::db::unix_ms()),
            level_mark(record.level()),
            record.args()
        )
    });
    if !config.logfile.is_empty() {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&config.logfile);
        match file {
            Ok(f) => {
                builder.target(env_logger::Target::Pipe(Box::new(f)));
            }
            Err(e) => {
                eprintln!("Can't open the log file: {e}");
                std::process::exit(1);
            }
        }
    }
    builder.init();
}
