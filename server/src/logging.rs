//! Logs through `tracing`: human-readable lines on stderr by default, one JSON object per line
//! on request (`--log-format json` or RINGKEEPER_LOG_FORMAT=json), filtered by RINGKEEPER_LOG
//! (`tracing_subscriber::EnvFilter` syntax).

use crate::config::ServerConfig;
use std::io::IsTerminal;

/// `glommio::reactor` logs only one thing, at ERROR, on every DmaFile open (each WAL
/// segment): a harmless failed iopoll probe in glommio 0.9 (CRATES.md 1.7).
const DEFAULT_LOG_FILTER: &str = "info,glommio=warn,glommio::reactor=off";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per event (for log shippers).
    Json,
}

pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RINGKEEPER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file or journald gets plain text.
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Logs the settings the server runs with and where its data goes, once at start-up, so an
/// operator reading the log knows what a zoo.cfg turned into.
pub fn log_settings(c: &ServerConfig) {
    let port = |p: Option<u16>| p.map_or_else(|| "none".to_string(), |p| p.to_string());
    tracing::info!(
        config = c.config_path.as_ref().map_or_else(
            || "none (defaults)".to_string(),
            |p| p.display().to_string()
        ),
        client_port = port(c.client_port),
        client_port_address = c
            .client_port_address
            .map_or_else(|| "all interfaces".to_string(), |a| a.to_string()),
        secure_client_port = port(c.secure_client_port),
        my_id = c.my_id,
        "server"
    );
    tracing::info!(
        snapshots = %c.snap_dir().display(),
        txn_logs = %c.txn_log_dir().display(),
        force_sync = c.force_sync,
        wal_direct_io = c.wal_direct_io,
        pre_alloc_size_kb = c.pre_alloc_size_kb,
        snap_count = c.snap_count,
        snap_size_limit_kb = c.snap_size_limit_kb,
        autopurge_snap_retain_count = c.autopurge_snap_retain_count,
        autopurge_purge_interval_hours = c.autopurge_purge_interval_hours,
        "data"
    );
    tracing::info!(
        tick_time_ms = c.tick_time_ms,
        min_session_timeout_ms = c.min_session_timeout_ms,
        max_session_timeout_ms = c.max_session_timeout_ms,
        shards = c.shards,
        pipeline_core = c.pipeline_core,
        spin_before_park_us = c.spin_before_park_us,
        four_letter_words = c
            .four_letter_whitelist
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(","),
        "settings"
    );
}
