//! `ringkeeper`: a ZooKeeper-compatible coordination server.

mod clock;
mod config;
mod conn;
mod dma_log;
mod fourlw;
mod fourlw_ctx;
mod limits;
mod log_writer;
mod logging;
mod msg;
mod persist;
mod pipeline;
mod segment_file;
mod server;
mod shard;
mod stats;
mod tls;
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

fn serve(config_path: Option<PathBuf>) -> Result<(), String> {
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
    server::run(config, limits, engine, persist, tls)
}

fn main() -> ExitCode {
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ringkeeper: {e}");
            ExitCode::from(2)
        }
    }
}
