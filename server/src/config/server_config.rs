//! The typed server configuration and its defaults (ZooKeeper 3.8's).

use super::quorum::{LearnerType, ServerLine};
use super::values::absolutize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// tickTime when a zoo.cfg does not set it (ZooKeeperServer.DEFAULT_TICK_TIME).
pub const DEFAULT_TICK_TIME_MS: u32 = 3000;
/// tickTime of [`standalone_default`] (no config file).
pub const STANDALONE_TICK_TIME_MS: u32 = 2000;
/// jute.maxbuffer default (0xfffff).
pub const DEFAULT_JUTE_MAXBUFFER: u32 = 0xfffff;
/// Minimum autopurge.snapRetainCount (PurgeTxnLog).
pub const MIN_SNAP_RETAIN_COUNT: u32 = 3;
/// The metrics provider ZooKeeper uses by default (feeds mntr).
pub const DEFAULT_METRICS_PROVIDER: &str =
    "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider";

/// Typed server configuration. Field defaults are ZooKeeper 3.8's.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// The zoo.cfg this came from (None for [`standalone_default`]).
    pub config_path: Option<PathBuf>,
    pub tick_time_ms: u32,
    /// None: no plaintext client listener (ZooKeeper has no default either).
    pub client_port: Option<u16>,
    /// None: all interfaces.
    pub client_port_address: Option<IpAddr>,
    /// The TLS client port (served with `tls`); None: no secure listener.
    pub secure_client_port: Option<u16>,
    /// None: all interfaces.
    pub secure_client_port_address: Option<IpAddr>,
    /// `ssl.*` and `X509AuthenticationProvider.superUser` as given; `crate::tls::settings`
    /// checks and applies them.
    pub tls: BTreeMap<String, String>,
    /// Absolute; snapshots go to `data_dir/version-2`, `myid` is read from here.
    pub data_dir: PathBuf,
    /// Absolute; = data_dir when absent. Transaction logs go to `data_log_dir/version-2`.
    pub data_log_dir: PathBuf,
    pub min_session_timeout_ms: u32,
    pub max_session_timeout_ms: u32,
    /// Per client IP; 0 = unlimited.
    pub max_client_cnxns: u32,
    /// Whole server; 0 = unlimited.
    pub max_cnxns: u32,
    /// -1 = OS default.
    pub client_port_listen_backlog: i32,
    /// Enabled 4lw commands (`*` expanded to every command; `srvr` always present).
    pub four_letter_whitelist: BTreeSet<String>,
    pub extended_types_enabled: bool,
    pub container_check_interval_ms: u64,
    pub container_max_per_minute: u32,
    pub container_max_never_used_interval_ms: u64,
    /// `super:<base64 sha1>` from DigestAuthenticationProvider.superDigest.
    pub super_digest: Option<String>,
    pub digest_enabled: bool,
    pub skip_acl: bool,
    pub jute_maxbuffer: u32,
    pub snap_count: u32,
    /// <= 0 disables the size trigger.
    pub snap_size_limit_kb: i64,
    /// -1 = off.
    pub txn_log_size_limit_kb: i64,
    pub pre_alloc_size_kb: u64,
    pub force_sync: bool,
    pub fsync_warning_threshold_ms: u64,
    pub autopurge_snap_retain_count: u32,
    /// 0 = autopurge off.
    pub autopurge_purge_interval_hours: u32,
    pub global_outstanding_limit: u32,
    pub reconfig_enabled: bool,
    pub standalone_enabled: bool,
    /// Ticks; 0 = unset (an error in quorum mode).
    pub init_limit: u32,
    pub sync_limit: u32,
    pub sync_enabled: bool,
    pub quorum_listen_on_all_ips: bool,
    pub cnx_timeout_ms: u32,
    pub multi_address_enabled: bool,
    /// Sorted by id; from zoo.cfg or from the dynamic config file.
    pub servers: Vec<ServerLine>,
    pub peer_type: LearnerType,
    pub dynamic_config_file: Option<PathBuf>,
    /// `version=` of the dynamic config (hex in the file), or the file name's hex suffix.
    pub dynamic_config_version: Option<u64>,
    /// From `dataDir/myid` (first line).
    pub my_id: Option<u64>,
    /// `admin.*` keys, prefix removed (the AdminServer's: `status::settings`).
    pub admin: BTreeMap<String, String>,
    pub metrics_provider_class: String,
    /// `metricsProvider.*` keys other than className, prefix removed.
    pub metrics_provider: BTreeMap<String, String>,
    /// `ringkeeper.shards`: connection shards (default: one per CPU but the pipeline's,
    /// at least one).
    pub shards: usize,
    /// `ringkeeper.pipelineCore`: CPU to pin the write pipeline to (default: the last).
    pub pipeline_core: Option<usize>,
    /// `ringkeeper.spinBeforeParkUs`: how long an idle executor polls before it sleeps.
    /// Spinning trades idle CPU for wake-up latency (measured here: setData p50 from 350 to
    /// 220 us, getData from 85 to 56 us); 0 turns it off.
    pub spin_before_park_us: u64,
    /// `ringkeeper.raftTickMs`: the ensemble's Raft clock. Elections and heartbeats are
    /// counted in these ticks, not in tickTime: ZooKeeper notices a dead leader when its
    /// socket closes, Raft when heartbeats stop, and tickTime (2000 ms) would make that
    /// seconds.
    pub raft_tick_ms: u64,
    /// `readonlymode.enabled` (a Java system property for ZooKeeper, a zoo.cfg key here): an
    /// ensemble member out of quorum serves clients that ask for read-only mode.
    pub read_only_mode: bool,
    /// `ringkeeper.electionTicks`: Raft ticks without a leader before a voter campaigns (a
    /// random point in [n, 2n) each term).
    pub election_ticks: usize,
    /// `ringkeeper.heartbeatTicks`: Raft ticks between the leader's heartbeats.
    pub heartbeat_ticks: usize,
    /// `ringkeeper.walDirectIo` (default true): write the log through glommio DMA files
    /// (O_DIRECT, io_uring fdatasync, awaited); false writes it with buffered pwrite and
    /// fdatasync from the pipeline thread (measured faster on a 2-core VM, see README).
    pub wal_direct_io: bool,
    /// `ringkeeper.maxQueuedReplyBytes`: see `crate::limits`.
    pub max_queued_reply_bytes: usize,
    /// `ringkeeper.maxUnsentBytes`: see `crate::limits`.
    pub max_unsent_bytes: usize,
    /// `ringkeeper.maxReplyBytes`: see `crate::limits`.
    pub max_reply_bytes: usize,
    /// Keys nobody knows, kept verbatim (ZooKeeper: system property `zookeeper.<key>`).
    pub other: BTreeMap<String, String>,
}

/// Default `ringkeeper.spinBeforeParkUs`.
pub const DEFAULT_SPIN_BEFORE_PARK_US: u64 = 300;

pub(super) fn default_shards() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .saturating_sub(1)
        .max(1)
}

impl ServerConfig {
    /// Defaults of a zoo.cfg that sets only dataDir (tickTime 3000, no client port).
    pub(super) fn zoo_cfg_defaults(data_dir: PathBuf) -> ServerConfig {
        let tick = DEFAULT_TICK_TIME_MS;
        ServerConfig {
            config_path: None,
            tick_time_ms: tick,
            client_port: None,
            client_port_address: None,
            secure_client_port: None,
            secure_client_port_address: None,
            tls: BTreeMap::new(),
            data_log_dir: data_dir.clone(),
            data_dir,
            min_session_timeout_ms: tick * 2,
            max_session_timeout_ms: tick * 20,
            max_client_cnxns: 60,
            max_cnxns: 0,
            client_port_listen_backlog: -1,
            four_letter_whitelist: BTreeSet::from(["srvr".to_string()]),
            extended_types_enabled: false,
            container_check_interval_ms: 60_000,
            container_max_per_minute: 10_000,
            container_max_never_used_interval_ms: 0,
            super_digest: None,
            digest_enabled: true,
            skip_acl: false,
            jute_maxbuffer: DEFAULT_JUTE_MAXBUFFER,
            snap_count: 100_000,
            snap_size_limit_kb: 4_194_304,
            txn_log_size_limit_kb: -1,
            pre_alloc_size_kb: 65_536,
            force_sync: true,
            fsync_warning_threshold_ms: 1000,
            autopurge_snap_retain_count: 3,
            autopurge_purge_interval_hours: 0,
            global_outstanding_limit: 1000,
            reconfig_enabled: false,
            standalone_enabled: true,
            init_limit: 0,
            sync_limit: 0,
            sync_enabled: true,
            quorum_listen_on_all_ips: false,
            cnx_timeout_ms: 5000,
            multi_address_enabled: false,
            servers: Vec::new(),
            peer_type: LearnerType::Participant,
            dynamic_config_file: None,
            dynamic_config_version: None,
            my_id: None,
            admin: BTreeMap::new(),
            metrics_provider_class: DEFAULT_METRICS_PROVIDER.to_string(),
            metrics_provider: BTreeMap::new(),
            shards: default_shards(),
            pipeline_core: None,
            spin_before_park_us: DEFAULT_SPIN_BEFORE_PARK_US,
            raft_tick_ms: 50,
            read_only_mode: false,
            election_ticks: 10,
            heartbeat_ticks: 2,
            wal_direct_io: true,
            max_queued_reply_bytes: crate::limits::DEFAULT_MAX_QUEUED_REPLY_BYTES,
            max_unsent_bytes: crate::limits::DEFAULT_MAX_UNSENT_BYTES,
            max_reply_bytes: crate::limits::DEFAULT_MAX_REPLY_BYTES,
            other: BTreeMap::new(),
        }
    }

    /// Voting members (participants) among `servers`.
    pub fn participants(&self) -> impl Iterator<Item = &ServerLine> {
        self.servers
            .iter()
            .filter(|s| s.learner_type == LearnerType::Participant)
    }

    /// QuorumPeerConfig.isDistributed: quorum mode rather than standalone.
    pub fn is_distributed(&self) -> bool {
        !self.servers.is_empty() && (!self.standalone_enabled || self.participants().count() > 1)
    }

    /// This server's own line, when in quorum mode.
    pub fn my_server(&self) -> Option<&ServerLine> {
        let id = self.my_id?;
        self.servers.iter().find(|s| s.id == id)
    }

    /// Snapshot directory (`dataDir/version-2`).
    pub fn snap_dir(&self) -> PathBuf {
        self.data_dir.join("version-2")
    }

    /// Transaction log directory (`dataLogDir/version-2`).
    pub fn txn_log_dir(&self) -> PathBuf {
        self.data_log_dir.join("version-2")
    }
}

/// The configuration used when no config file is given: clientPort 2181, dataDir ./data
/// (absolute, against the current directory), tickTime 2000 (session timeouts 4000/40000).
pub fn standalone_default() -> ServerConfig {
    let data_dir = absolutize(Path::new("data"));
    let mut c = ServerConfig::zoo_cfg_defaults(data_dir);
    c.tick_time_ms = STANDALONE_TICK_TIME_MS;
    c.min_session_timeout_ms = STANDALONE_TICK_TIME_MS * 2;
    c.max_session_timeout_ms = STANDALONE_TICK_TIME_MS * 20;
    c.client_port = Some(2181);
    c
}
