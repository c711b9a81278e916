//! Start-up: executors, channels and the order they come up in.

use crate::config::ServerConfig;
use crate::limits::{Limits, CHANNEL_CAPACITY};
use crate::msg::{ToPipeline, ToShard};
use crate::tls::TlsContext;
use crate::{pipeline, shard};
use glommio::channels::shared_channel;
use glommio::{LocalExecutorBuilder, Placement};
use ringkeeper_engine::EngineConfig;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn engine_config(c: &ServerConfig) -> EngineConfig {
    EngineConfig {
        server_id: c.my_id.unwrap_or(1) as i64,
        tick_time_ms: c.tick_time_ms as i64,
        min_session_timeout_ms: c.min_session_timeout_ms as i32,
        max_session_timeout_ms: c.max_session_timeout_ms as i32,
        extended_types_enabled: c.extended_types_enabled,
        skip_acl: c.skip_acl,
        digest_enabled: c.digest_enabled,
        super_digest: c.super_digest.clone(),
        container_check_interval_ms: c.container_check_interval_ms as i64,
        container_max_per_minute: c.container_max_per_minute as i64,
        container_max_never_used_interval_ms: c.container_max_never_used_interval_ms as i64,
        reconfig_enabled: c.reconfig_enabled,
        watches_at_shards: true,
        max_reply_bytes: c.max_reply_bytes,
        // ZooKeeper registers X509AuthenticationProvider when a secure client port is set.
        x509_enabled: c.secure_client_port.is_some(),
        membership: c.membership().map(String::into_bytes),
    }
}

/// Runs the server until the process is killed. Errors come back only from start-up.
pub fn run(
    config: ServerConfig,
    limits: Limits,
    start: pipeline::Start,
    tls: Option<Arc<TlsContext>>,
) -> Result<(), String> {
    let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let listen = config
        .client_port
        .map(|port| SocketAddr::new(config.client_port_address.unwrap_or(any), port));
    let secure = match (config.secure_client_port, tls) {
        (Some(port), Some(ctx)) => Some((
            SocketAddr::new(config.secure_client_port_address.unwrap_or(any), port),
            ctx,
        )),
        _ => None,
    };
    if listen.is_none() && secure.is_none() {
        return Err(
            "neither clientPort nor secureClientPort is set: no client listener to start".into(),
        );
    }
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let shards = config.shards.max(1);
    // The pipeline gets the last core; shards fill the others first, so on a small machine
    // the write path and the read path do not share a core.
    let pipeline_core = config.pipeline_core.unwrap_or(cpus - 1) % cpus;
    let limits = Arc::new(limits);
    let open_conns = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let spin = Duration::from_micros(config.spin_before_park_us);
    let config = Arc::new(config);
    let (board, status_inbox) = crate::status::Board::new(config.clone())
        .map_err(|e| format!("cannot set up the status board: {e}"))?;
    crate::status::prometheus::start(&board)?;

    let mut to_pipeline_rx = Vec::new();
    let mut to_shard_tx = Vec::new();
    let mut handles = Vec::new();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let engine = start.engine();
    let released_zxid = Arc::new(std::sync::atomic::AtomicI64::new(engine.last_zxid()));
    let watches: Vec<crate::watches::ShardWatches> =
        (0..shards).map(|_| Default::default()).collect();
    for index in 0..shards {
        let (ptx, prx) = shared_channel::new_bounded::<ToPipeline>(CHANNEL_CAPACITY);
        let (stx, srx) = shared_channel::new_bounded::<ToShard>(CHANNEL_CAPACITY);
        to_pipeline_rx.push(prx);
        to_shard_tx.push(stx);
        let setup = shard::ShardSetup {
            index,
            listen,
            secure: secure.clone(),
            limits: limits.clone(),
            open_conns: open_conns.clone(),
            skip_acl: config.skip_acl,
            replica: engine.tree().clone(),
            replica_zxid: engine.last_zxid(),
            committed: released_zxid.clone(),
            outstanding_limit: (limits.global_outstanding_limit as usize).div_ceil(shards) as u32,
            touch_interval: Duration::from_millis((config.tick_time_ms as u64 / 4).clamp(10, 250)),
            to_pipeline: ptx,
            from_pipeline: srx,
            ready: ready_tx.clone(),
            watches: watches.clone(),
            board: board.clone(),
        };
        let core = if cpus > 1 {
            (pipeline_core + 1 + index) % cpus
        } else {
            0
        };
        let h = LocalExecutorBuilder::new(Placement::Fixed(core))
            .name(&format!("rk-shard-{index}"))
            .spin_before_park(spin)
            .spawn(move || shard::run(setup))
            .map_err(|e| format!("cannot start shard {index}: {e}"))?;
        handles.push(h);
    }
    let setup = pipeline::PipelineSetup {
        config: config.clone(),
        start,
        from_shards: to_pipeline_rx,
        to_shards: to_shard_tx,
        limits: limits.clone(),
        started: Instant::now(),
        released_zxid,
        watches,
        board: board.clone(),
        status_inbox,
    };
    let pipeline = LocalExecutorBuilder::new(Placement::Fixed(pipeline_core))
        .name("rk-pipeline")
        .spin_before_park(spin)
        .spawn(move || pipeline::run(setup))
        .map_err(|e| format!("cannot start pipeline: {e}"))?;
    for _ in 0..shards {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err("a shard exited during start-up (see log; memlock?)".into()),
        }
    }
    tracing::info!(
        listen = ?listen,
        secure = ?secure.as_ref().map(|(a, _)| a),
        shards,
        pipeline_core,
        "serving clients"
    );
    crate::status::admin::start(&board);
    pipeline
        .join()
        .map_err(|e| format!("pipeline stopped: {e}"))?;
    for h in handles {
        h.join().map_err(|e| format!("shard stopped: {e}"))?;
    }
    Ok(())
}
