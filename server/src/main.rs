//! `ringkeeper`: a ZooKeeper-compatible coordination server.

mod config;
mod conn;
mod durability;
mod fourlw;
mod fourlw_ctx;
mod msg;
mod pipeline;
mod server;
mod shard;
mod stats;

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
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RINGKEEPER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,glommio=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
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
    let engine_config = server::engine_config(&config);
    let engine = ringkeeper_engine::Engine::new(engine_config, pipeline::now_ms());
    let durability: Box<dyn durability::Durability + Send> =
        Box::new(durability::Memory::default());
    server::run(config, engine, durability)
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Server { config } => serve(config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ringkeeper: {e}");
            ExitCode::from(2)
        }
    }
}
