//! `ringkeeper`: a ZooKeeper-compatible coordination server.

mod cli;
mod clock;
mod config;
mod conn;
mod dma_log;
mod fourlw;
mod limits;
mod log_writer;
mod logging;
mod msg;
mod persist;
mod pipeline;
mod raft_store;
mod replica;
mod segment_file;
mod server;
mod shard;
mod snapshot_copy;
mod stats;
mod status;
mod tls;
mod tune_cmd;
mod watches;
mod zero_ahead;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ringkeeper",
    version,
    about = "A ZooKeeper-compatible coordination server"
)]
struct Cli {
    /// Log format on stderr: text (default) or json. RINGKEEPER_LOG sets the filter.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "RINGKEEPER_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: logging::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server. Without --config: standalone on port 2181 with ./data.
    Server {
        /// An Apache ZooKeeper zoo.cfg.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Delete old snapshots and the logs they alone need, like zkCleanup.sh.
    Purge {
        /// The zoo.cfg naming dataDir and dataLogDir.
        #[arg(long, short, conflicts_with = "data_dir")]
        config: Option<PathBuf>,
        /// dataDir, when no zoo.cfg is given.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// dataLogDir (default: dataDir).
        #[arg(long)]
        data_log_dir: Option<PathBuf>,
        /// Snapshots to keep (at least 3).
        #[arg(short = 'n', long, default_value_t = 3)]
        count: usize,
    },
    /// A client compatible with zkCli.sh:
    /// `ringkeeper cli -server host:port[,host:port...][/chroot] [command args]`.
    Cli {
        /// zkCli.sh's options (-server, -timeout, -waitforconnection) and command.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Measure this host's disks, sweep the storage settings and recommend a zoo.cfg
    /// (runs ringkeeper-tune from beside this binary; `ringkeeper tune --help` for options).
    #[command(disable_help_flag = true)]
    Tune {
        /// Passed to ringkeeper-tune unchanged.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

fn purge(
    config: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    data_log_dir: Option<PathBuf>,
    count: usize,
) -> Result<(), String> {
    let (data_dir, data_log_dir) = match (config, data_dir) {
        (Some(p), _) => {
            let (c, _) = config::load(&p).map_err(|e| e.to_string())?;
            (c.data_dir, c.data_log_dir)
        }
        (None, Some(d)) => (d.clone(), data_log_dir.unwrap_or(d)),
        (None, None) => return Err("purge needs --config or --data-dir".into()),
    };
    let report = persist::purge(&data_dir, &data_log_dir, count)?;
    println!(
        "removed {} snapshot(s) and {} log file(s)",
        report.removed_snapshots.len(),
        report.removed_logs.len()
    );
    Ok(())
}

/// A zoo.cfg that describes an ensemble would otherwise start N independent standalone
/// servers, each accepting writes the others never see: refuse it until the server runs
/// ensembles (issue 8).
/// A panic on any thread is a broken invariant: the server stops at once, with a nonzero
/// status, rather than run on with a dead pipeline or shard (a supervisor restarts it and
/// recovery replays the log).
fn stop_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        tracing::error!("{info}; stopping the server");
        std::process::exit(70);
    }));
}

fn serve(config_path: Option<PathBuf>) -> Result<(), String> {
    stop_on_panic();
    let config = match &config_path {
        Some(p) => {
            let (config, warnings) = config::load(p).map_err(|e| e.to_string())?;
            for w in warnings {
                tracing::warn!("{w}");
            }
            config
        }
        None => config::standalone_default(),
    };
    logging::log_settings(&config);
    let open_files = limits::raise_open_file_limit();
    let limits = limits::Limits::from_config(&config, open_files)?;
    tracing::info!(
        jute_maxbuffer = limits.max_frame,
        max_queued_reply_bytes = limits.max_queued_reply_bytes,
        max_unsent_bytes = limits.max_unsent_bytes,
        max_reply_bytes = limits.max_reply_bytes,
        max_client_cnxns = limits.max_client_cnxns,
        max_cnxns = limits.max_cnxns,
        per_connection_bytes = limits.per_connection_bytes(),
        "limits"
    );
    let tls = tls::start(&config)?;
    let engine_config = server::engine_config(&config);
    if config.is_distributed() {
        let prepared = replica::setup::prepare(&config, engine_config, clock::now())?;
        let start = pipeline::Start::Replica(Box::new(prepared));
        return server::run(config, limits, start, tls);
    }
    let started = std::time::Instant::now();
    let (persist, mut engine, report) =
        persist::Persist::open(&config, engine_config, clock::now())?;
    tracing::info!(
        snapshot_zxid = report.snapshot_zxid.map(|z| format!("{z:#x}")),
        txns_replayed = report.txns_replayed,
        tail_cut_bytes = report.tail_cut_bytes,
        last_zxid = format!("{:#x}", engine.last_zxid()),
        znodes = engine.tree().node_count(),
        ms = started.elapsed().as_millis() as u64,
        "recovered"
    );
    // Restored sessions get their full timeout from now, not from before recovery.
    let restored: Vec<i64> = engine.sessions().iter().map(|s| s.session_id).collect();
    engine.handle_touch(&restored, clock::now());
    persist::start_autopurge(&config);
    server::run(
        config,
        limits,
        pipeline::Start::Standalone { engine, persist },
        tls,
    )
}

fn main() -> ExitCode {
    // zkCli.sh's options are single-dash words (-server), which clap would refuse: the CLI
    // reads its own arguments.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("cli") {
        return ExitCode::from(cli::main(&args[2..]).clamp(0, 255) as u8);
    }
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let result = match cli.command {
        Command::Server { config } => serve(config),
        Command::Purge {
            config,
            data_dir,
            data_log_dir,
            count,
        } => purge(config, data_dir, data_log_dir, count),
        Command::Cli { args } => return ExitCode::from(cli::main(&args).clamp(0, 255) as u8),
        Command::Tune { args } => tune_cmd::exec(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ringkeeper: {e}");
            ExitCode::from(2)
        }
    }
}
