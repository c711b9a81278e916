//! zoo.cfg parsing: an Apache ZooKeeper 3.8 configuration file, taken as it is.
//!
//! The file is a Java properties file (`#`/`!` comments, `key=value`, `key: value` or
//! `key value`, backslash continuations and escapes). Every key ZooKeeper 3.8 accepts is
//! accepted here:
//!
//! * keys that apply are parsed strictly into [`ServerConfig`] fields; a malformed value stops
//!   start-up with a [`ConfigError`] naming the file, line, key and value;
//! * keys that do not apply to Ringkeeper (yet) produce exactly one warning each;
//! * unknown keys are kept in [`ServerConfig::other`] (ZooKeeper keeps them as the system
//!   property `zookeeper.<key>`) with a warning that suggests the nearest known key.
//!
//! Decisions that differ from, or make explicit, ZooKeeper's behaviour:
//!
//! * `tickTime`: a zoo.cfg without it gets 3000 ms (the 3.8 code default);
//!   [`standalone_default`] (no config file at all) uses 2000 ms like the sample zoo.cfg.
//! * `jute.maxbuffer`, `znode.container.*`: in ZooKeeper these only work as JVM system
//!   properties and are silently ignored in zoo.cfg. Ringkeeper applies them from zoo.cfg and
//!   warns that the file now means something ZooKeeper would have ignored.
//! * `zookeeper.<key>` spelled in zoo.cfg (ZooKeeper would turn it into the inert system
//!   property `zookeeper.zookeeper.<key>`) is applied as `<key>`, with a warning.
//! * `forceSync`/`skipACL` follow ZooKeeper's exact semantics (only `no` disables forceSync,
//!   only `yes` enables skipACL); `true`/`false`/other capitalisations are accepted with a
//!   warning that says what they mean, anything else is an error.
//! * `4lw.commands.whitelist` is case-sensitive, like ZooKeeper; `srvr` is always enabled.
//! * a dynamic config file may contain `version=` (ZooKeeper refuses it): it is accepted and
//!   wins over the version taken from the file name suffix.
//! * relative paths (`dataDir`, `dataLogDir`, `dynamicConfigFile`) resolve against the current
//!   directory, as in ZooKeeper, with a warning.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, ToSocketAddrs};
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

/// Role of a quorum member (QuorumPeer.LearnerType; `ordinal()` is what `conf` prints).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LearnerType {
    #[default]
    Participant,
    Observer,
}

impl LearnerType {
    /// Java enum ordinal: PARTICIPANT = 0, OBSERVER = 1.
    pub fn ordinal(self) -> u8 {
        match self {
            LearnerType::Participant => 0,
            LearnerType::Observer => 1,
        }
    }
}

/// One `host:quorumPort:electionPort` of a server line (several with multiAddress, `|`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumAddr {
    pub host: String,
    pub quorum_port: u16,
    pub election_port: u16,
}

/// `server.N=host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLine {
    pub id: u64,
    pub addrs: Vec<QuorumAddr>,
    pub learner_type: LearnerType,
    /// The client part: host ("0.0.0.0" when only a port is given) and port.
    pub client: Option<(String, u16)>,
}

fn delimited_host(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

impl fmt::Display for ServerLine {
    /// The value part as ZooKeeper's QuorumServer.toString prints it (the `conf` membership).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut addrs = self.addrs.clone();
        addrs.sort_by(|a, b| a.host.cmp(&b.host));
        let joined: Vec<String> = addrs
            .iter()
            .map(|a| {
                format!(
                    "{}:{}:{}",
                    delimited_host(&a.host),
                    a.quorum_port,
                    a.election_port
                )
            })
            .collect();
        f.write_str(&joined.join("|"))?;
        match self.learner_type {
            LearnerType::Observer => f.write_str(":observer")?,
            LearnerType::Participant => f.write_str(":participant")?,
        }
        if let Some((host, port)) = &self.client {
            write!(f, ";{}:{}", delimited_host(host), port)?;
        }
        Ok(())
    }
}

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
    /// `admin.*` keys, prefix removed (accepted; no AdminServer yet).
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

fn default_shards() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .saturating_sub(1)
        .max(1)
}

impl ServerConfig {
    /// Defaults of a zoo.cfg that sets only dataDir (tickTime 3000, no client port).
    fn zoo_cfg_defaults(data_dir: PathBuf) -> ServerConfig {
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

    /// The key=value lines of the `conf` 4lw, in ZooKeeper's order (ZooKeeperServer.dumpConf,
    /// plus QuorumZooKeeperServer's in quorum mode). Directory sizes are passed in by the
    /// caller, which knows them. The quorum membership text is [`Self::membership`].
    pub fn conf_lines(&self, data_dir_size: u64, data_log_size: u64) -> Vec<(String, String)> {
        let port = |p: Option<u16>| p.map_or(-1, i32::from).to_string();
        let mut v: Vec<(String, String)> = vec![
            ("clientPort".into(), port(self.client_port)),
            ("secureClientPort".into(), port(self.secure_client_port)),
            ("dataDir".into(), self.snap_dir().display().to_string()),
            ("dataDirSize".into(), data_dir_size.to_string()),
            (
                "dataLogDir".into(),
                self.txn_log_dir().display().to_string(),
            ),
            ("dataLogSize".into(), data_log_size.to_string()),
            ("tickTime".into(), self.tick_time_ms.to_string()),
            ("maxClientCnxns".into(), self.max_client_cnxns.to_string()),
            (
                "minSessionTimeout".into(),
                self.min_session_timeout_ms.to_string(),
            ),
            (
                "maxSessionTimeout".into(),
                self.max_session_timeout_ms.to_string(),
            ),
            (
                "clientPortListenBacklog".into(),
                self.client_port_listen_backlog.to_string(),
            ),
        ];
        let distributed = self.is_distributed();
        let server_id = if distributed {
            self.my_id.unwrap_or(0)
        } else {
            0
        };
        v.push(("serverId".into(), server_id.to_string()));
        if distributed {
            v.push(("initLimit".into(), self.init_limit.to_string()));
            v.push(("syncLimit".into(), self.sync_limit.to_string()));
            v.push(("electionAlg".into(), "3".into()));
            let me = self.my_server();
            let join = |f: fn(&QuorumAddr) -> u16| {
                me.map(|s| {
                    s.addrs
                        .iter()
                        .map(|a| f(a).to_string())
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .unwrap_or_default()
            };
            v.push(("electionPort".into(), join(|a| a.election_port)));
            v.push(("quorumPort".into(), join(|a| a.quorum_port)));
            v.push(("peerType".into(), self.peer_type.ordinal().to_string()));
        }
        v
    }

    /// `conf`'s membership block in quorum mode (QuorumMaj.toString: `server.N=...` lines and
    /// `version=<hex>` without a final newline); None in standalone mode.
    pub fn membership(&self) -> Option<String> {
        if !self.is_distributed() {
            return None;
        }
        let mut s = String::new();
        for line in &self.servers {
            s.push_str(&format!("server.{}={}\n", line.id, line));
        }
        s.push_str(&format!(
            "version={:x}",
            self.dynamic_config_version.unwrap_or(0)
        ));
        Some(s)
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

/// A configuration error. Display names the file, and where a line is known the line, the key
/// and the value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", .file.display())]
    Syntax {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}:{line}: invalid value '{value}' for {key}: {reason}", .file.display())]
    InvalidValue {
        file: PathBuf,
        line: usize,
        key: String,
        value: String,
        reason: String,
    },
    #[error("{}: {key} is not set: {reason}", .file.display())]
    Missing {
        file: PathBuf,
        key: String,
        reason: String,
    },
    #[error("{}: {message}", .file.display())]
    Invalid { file: PathBuf, message: String },
}

/// Reads and parses a zoo.cfg file (and the dynamic file it names, and dataDir/myid).
pub fn load(path: &Path) -> Result<(ServerConfig, Vec<String>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

// ---------------------------------------------------------------------------------------------
// Java properties

/// One `key=value` of a properties file, with the (1-based) line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub key: String,
    pub value: String,
    pub line: usize,
}

fn is_prop_ws(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\x0c'
}

/// Parses Java properties text (java.util.Properties.load semantics).
pub fn parse_properties(text: &str, file: &Path) -> Result<Vec<Property>, ConfigError> {
    // Natural lines: \n, \r or \r\n terminated.
    let mut natural: Vec<&str> = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find(['\n', '\r']) {
            Some(i) => {
                natural.push(&rest[..i]);
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
            None => {
                natural.push(rest);
                rest = "";
            }
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < natural.len() {
        let start_line = i + 1;
        let first = natural[i].trim_start_matches(is_prop_ws);
        i += 1;
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        let mut logical = String::new();
        let mut cur = first;
        loop {
            let trailing = cur.chars().rev().take_while(|&c| c == '\\').count();
            if trailing % 2 == 1 {
                logical.push_str(&cur[..cur.len() - 1]);
                if i < natural.len() {
                    cur = natural[i].trim_start_matches(is_prop_ws);
                    i += 1;
                    continue;
                }
                break;
            }
            logical.push_str(cur);
            break;
        }
        let (raw_key, raw_value) = split_key_value(&logical);
        let key = unescape(raw_key).map_err(|m| ConfigError::Syntax {
            file: file.to_path_buf(),
            line: start_line,
            message: m,
        })?;
        let value = unescape(raw_value).map_err(|m| ConfigError::Syntax {
            file: file.to_path_buf(),
            line: start_line,
            message: m,
        })?;
        out.push(Property {
            key,
            value,
            line: start_line,
        });
    }
    Ok(out)
}

fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    let mut key_end = line.len();
    let mut has_sep = false;
    let mut value_start = line.len();
    for (idx, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' {
            key_end = idx;
            value_start = idx + 1;
            has_sep = true;
            break;
        } else if is_prop_ws(c) {
            key_end = idx;
            value_start = idx + 1;
            break;
        }
    }
    let key = &line[..key_end];
    let mut rest = line[value_start.min(line.len())..].trim_start_matches(is_prop_ws);
    if !has_sep && (rest.starts_with('=') || rest.starts_with(':')) {
        rest = rest[1..].trim_start_matches(is_prop_ws);
    }
    (key, rest)
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => {}
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let cp = (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| "Malformed \\uxxxx encoding.".to_string())?;
                out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
            }
            Some(other) => out.push(other),
        }
    }
    Ok(out)
}

/// A myid whose session ids would read as TTL owners. Session ids carry the low 8 bits of the
/// myid in their top byte, and a top byte of 0xFF marks a TTL znode's owner: ephemerals of such
/// a server would be taken for TTL znodes. ZooKeeper refuses myid 255 and above only with
/// extendedTypesEnabled (`EphemeralType.MAX_EXTENDED_SERVER_ID`); Ringkeeper refuses any myid
/// whose low 8 bits are 255, and above 254 with extended types, rather than lose ephemerals.
fn unusable_server_id(id: u64, extended_types_enabled: bool) -> Option<String> {
    if extended_types_enabled && id > 254 {
        Some(format!(
            "serverid {id} is above 254, the largest extendedTypesEnabled allows"
        ))
    } else if id & 0xFF == 0xFF {
        Some(format!(
            "serverid {id} has 255 in its low 8 bits, which would mark this server's session ids \
             as TTL owners; choose another myid"
        ))
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Key tables

/// Exact keys Ringkeeper applies (used for suggestions).
const APPLIED_KEYS: &[&str] = &[
    "tickTime",
    "dataDir",
    "dataLogDir",
    "clientPort",
    "secureClientPort",
    "secureClientPortAddress",
    "clientPortAddress",
    "maxClientCnxns",
    "maxCnxns",
    "minSessionTimeout",
    "maxSessionTimeout",
    "clientPortListenBacklog",
    "initLimit",
    "syncLimit",
    "electionAlg",
    "peerType",
    "syncEnabled",
    "quorumListenOnAllIPs",
    "cnxTimeout",
    "standaloneEnabled",
    "reconfigEnabled",
    "dynamicConfigFile",
    "autopurge.snapRetainCount",
    "autopurge.purgeInterval",
    "4lw.commands.whitelist",
    "extendedTypesEnabled",
    "znode.container.checkIntervalMs",
    "znode.container.maxPerMinute",
    "znode.container.maxNeverUsedIntervalMs",
    "DigestAuthenticationProvider.superDigest",
    "DigestAuthenticationProvider.enabled",
    "skipACL",
    "jute.maxbuffer",
    "snapCount",
    "snapSizeLimitInKb",
    "txnLogSizeLimitInKb",
    "preAllocSize",
    "forceSync",
    "fsync.warningthresholdms",
    "globalOutstandingLimit",
    "multiAddress.enabled",
    "metricsProvider.className",
    "admin.enableServer",
    "ringkeeper.shards",
    "ringkeeper.pipelineCore",
    "ringkeeper.spinBeforeParkUs",
    "ringkeeper.walDirectIo",
    "ringkeeper.maxQueuedReplyBytes",
    "ringkeeper.maxUnsentBytes",
    "ringkeeper.maxReplyBytes",
];

/// Keys ZooKeeper 3.8 knows (zoo.cfg keys and `zookeeper.*` system properties, prefix
/// removed) that Ringkeeper accepts without applying, with the reason given in the warning.
const NOT_APPLIED_KEYS: &[(&str, &str)] = &[
    (
        "serverCnxnFactory",
        "Ringkeeper has its own connection layer",
    ),
    ("portUnification", "TLS is not supported yet"),
    ("client.portUnification", "TLS is not supported yet"),
    ("client.secure", "TLS is not supported yet"),
    (
        "sslQuorum",
        "quorum TLS needs an ensemble, which Ringkeeper does not run yet",
    ),
    (
        "sslQuorumReloadCertFiles",
        "quorum TLS needs an ensemble, which Ringkeeper does not run yet",
    ),
    (
        "observerMasterPort",
        "observer masters are not supported yet",
    ),
    (
        "connectToLearnerMasterLimit",
        "observer masters are not supported yet",
    ),
    (
        "observerMaster.sizeLimit",
        "observer masters are not supported yet",
    ),
    (
        "quorum.cnxn.threads.size",
        "the quorum layer is not threaded this way",
    ),
    ("oraclePath", "oracle quorums are not supported"),
    (
        "localSessionsEnabled",
        "local sessions are not supported yet",
    ),
    (
        "localSessionsUpgradingEnabled",
        "local sessions are not supported yet",
    ),
    ("leaderServes", "the leader always serves clients"),
    (
        "multiAddress.reachabilityCheckTimeoutMs",
        "no reachability checks",
    ),
    (
        "multiAddress.reachabilityCheckEnabled",
        "no reachability checks",
    ),
    ("electionPortBindRetry", "not needed"),
    ("quorumCnxnTimeoutMs", "not needed"),
    ("tcpKeepAlive", "not needed"),
    ("clientTcpKeepAlive", "not needed"),
    ("readonlymode.enabled", "read-only mode is not supported"),
    (
        "DigestAuthenticationProvider.digestAlg",
        "digest uses SHA1 as in ZooKeeper's default",
    ),
    (
        "SASLAuthenticationProvider.superPassword",
        "SASL is not supported",
    ),
    ("superUser", "SASL is not supported"),
    ("allowSaslFailedClients", "SASL is not supported"),
    ("sessionRequireClientSASLAuth", "SASL is not supported"),
    (
        "enforce.auth.enabled",
        "enforced authentication is not supported yet",
    ),
    (
        "enforce.auth.schemes",
        "enforced authentication is not supported yet",
    ),
    (
        "ensembleAuthName",
        "ensemble authentication is not supported",
    ),
    ("letAnySaslUserDoX", "SASL is not supported"),
    ("requireKerberosConfig", "Kerberos is not supported"),
    (
        "kerberos.canonicalizeHostNames",
        "Kerberos is not supported",
    ),
    (
        "kerberos.removeHostFromPrincipal",
        "Kerberos is not supported",
    ),
    (
        "kerberos.removeRealmFromPrincipal",
        "Kerberos is not supported",
    ),
    ("security.auth_to_local", "Kerberos is not supported"),
    ("sasl.serverconfig", "SASL is not supported"),
    ("audit.enable", "audit logging is not supported yet"),
    ("audit.impl.class", "audit logging is not supported yet"),
    ("flushDelay", "the write pipeline batches by itself"),
    (
        "maxWriteQueuePollTime",
        "the write pipeline batches by itself",
    ),
    ("maxBatchSize", "the write pipeline batches by itself"),
    ("intBufferStartingSizeBytes", "JVM buffer tuning"),
    ("forceSnapshotSync", "testing knob"),
    ("maxResponseCacheSize", "no response cache"),
    (
        "maxGetChildrenResponseCacheSize",
        "each parent keeps its encoded child list until its children change",
    ),
    (
        "netty.advancedFlowControl.enabled",
        "Ringkeeper has its own connection layer",
    ),
    (
        "netty.server.outstandingHandshake.limit",
        "TLS is not supported yet",
    ),
    (
        "netty.server.earlyDropSecureConnectionHandshakes",
        "TLS is not supported yet",
    ),
    ("learner.asyncSending", "JVM threading knob"),
    ("learner.closeSocketAsync", "JVM threading knob"),
    ("leader.closeSocketAsync", "JVM threading knob"),
    ("leader.ackLoggingFrequency", "logging knob"),
    ("leader.maxTimeToWaitForEpoch", "not supported yet"),
    ("leader.maxConcurrentSnapSyncs", "not supported yet"),
    ("leader.maxConcurrentDiffSyncs", "not supported yet"),
    ("leaderConnectDelayDuringRetryMs", "not supported yet"),
    (
        "closeSessionTxn.enabled",
        "closeSession transactions are always used",
    ),
    ("digest.enabled", "tree digests are not supported yet"),
    ("enforceQuota", "quota enforcement is not supported yet"),
    ("enableEagerACLCheck", "not supported yet"),
    ("largeRequestMaxBytes", "not supported yet"),
    ("largeRequestThreshold", "not supported yet"),
    ("watcherCleanThreshold", "watches are removed eagerly"),
    (
        "watcherCleanIntervalInSeconds",
        "watches are removed eagerly",
    ),
    ("watcherCleanThreadsNum", "watches are removed eagerly"),
    ("maxInProcessingDeadWatchers", "watches are removed eagerly"),
    ("bitHashCacheSize", "watches are removed eagerly"),
    ("watchManagerName", "Ringkeeper has one watch manager"),
    (
        "nio.sessionlessCnxnTimeout",
        "Ringkeeper has its own connection layer",
    ),
    ("nio.numSelectorThreads", "use ringkeeper.shards"),
    ("nio.numWorkerThreads", "use ringkeeper.shards"),
    (
        "nio.directBufferBytes",
        "Ringkeeper has its own connection layer",
    ),
    (
        "nio.shutdownTimeout",
        "Ringkeeper has its own connection layer",
    ),
    (
        "commitProcessor.numWorkerThreads",
        "no commit processor threads",
    ),
    (
        "commitProcessor.shutdownTimeout",
        "no commit processor threads",
    ),
    (
        "commitProcessor.maxReadBatchSize",
        "no commit processor threads",
    ),
    (
        "commitProcessor.maxCommitBatchSize",
        "no commit processor threads",
    ),
    (
        "request_throttle_max_requests",
        "request throttling is not supported yet",
    ),
    (
        "request_throttle_stall_time",
        "request throttling is not supported yet",
    ),
    (
        "request_throttle_drop_stale",
        "request throttling is not supported yet",
    ),
    (
        "throttled_op_wait_time",
        "request throttling is not supported yet",
    ),
    (
        "request_stale_connection_check",
        "request throttling is not supported yet",
    ),
    (
        "request_stale_latency_check",
        "request throttling is not supported yet",
    ),
    ("snapshot.trust.empty", "not supported yet"),
    (
        "snapshot.compression.method",
        "snapshot compression is not supported yet",
    ),
    ("snapshotSizeFactor", "not supported yet"),
    ("datadir.autocreate", "dataDir is always created"),
    ("db.autocreate", "dataDir is always created"),
    ("commitLogCount", "not supported yet"),
    ("observer.syncEnabled", "use syncEnabled"),
    ("observer.reconnectDelayMs", "not supported yet"),
    ("observer.election.DelayMs", "not supported yet"),
    (
        "fastleader.minNotificationInterval",
        "election timing is fixed",
    ),
    (
        "fastleader.maxNotificationInterval",
        "election timing is fixed",
    ),
    (
        "follower.skipLearnerRequestToNextProcessor",
        "not applicable",
    ),
    ("messageTracker.BufferSize", "not supported"),
    ("messageTracker.Enabled", "not supported"),
    ("jmx.log4j.disable", "no JMX"),
    ("jmx.log4j.mbean", "no JMX"),
    ("emulate353TTLNodes", "not supported"),
    ("kinit", "Kerberos is not supported"),
    ("pathStats.enabled", "path statistics are not supported"),
    (
        "pathStats.slotCapacity",
        "path statistics are not supported",
    ),
    (
        "pathStats.slotDuration",
        "path statistics are not supported",
    ),
    ("pathStats.maxDepth", "path statistics are not supported"),
    ("pathStats.sampleRate", "path statistics are not supported"),
    (
        "pathStats.initialDelay",
        "path statistics are not supported",
    ),
    ("pathStats.delay", "path statistics are not supported"),
    ("pathStats.topPathMax", "path statistics are not supported"),
];

/// Key families ZooKeeper knows, matched by prefix, accepted without applying.
const NOT_APPLIED_PREFIXES: &[(&str, &str)] = &[
    (
        "authProvider.",
        "pluggable auth providers are not supported; digest is built in",
    ),
    ("quorum.auth.", "quorum authentication is not supported yet"),
    ("jvm.pause.", "there is no JVM"),
    ("group.", "hierarchical quorums are not supported yet"),
    ("weight.", "hierarchical quorums are not supported yet"),
];

fn not_applied_reason(key: &str) -> Option<&'static str> {
    if let Some((_, r)) = NOT_APPLIED_KEYS.iter().find(|(k, _)| *k == key) {
        return Some(r);
    }
    if key == "jvm.pause.monitor" {
        return Some("there is no JVM");
    }
    NOT_APPLIED_PREFIXES
        .iter()
        .find(|(p, _)| key.starts_with(p))
        .map(|(_, r)| *r)
}

fn is_known_key(key: &str) -> bool {
    APPLIED_KEYS.contains(&key)
        || not_applied_reason(key).is_some()
        || key.starts_with("server.")
        || key.starts_with("admin.")
        || key.starts_with("metricsProvider.")
        || key.starts_with("ssl.")
        || key == "X509AuthenticationProvider.superUser"
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The known key nearest to `key` (case-insensitive edit distance), if reasonably close.
pub fn suggest_key(key: &str) -> Option<&'static str> {
    let candidates = APPLIED_KEYS
        .iter()
        .copied()
        .chain(NOT_APPLIED_KEYS.iter().map(|(k, _)| *k))
        .chain([
            "admin.serverPort",
            "admin.serverAddress",
            "admin.commandURL",
        ]);
    let (best, dist) = candidates
        .map(|k| (k, levenshtein(key, k)))
        .min_by_key(|&(_, d)| d)?;
    let limit = (key.chars().count() / 3).max(2);
    (dist <= limit).then_some(best)
}

// ---------------------------------------------------------------------------------------------
// Value parsing

struct Ctx<'a> {
    file: &'a Path,
    warnings: Vec<String>,
}

impl Ctx<'_> {
    fn bad(&self, p: &Property, reason: impl Into<String>) -> ConfigError {
        ConfigError::InvalidValue {
            file: self.file.to_path_buf(),
            line: p.line,
            key: p.key.clone(),
            value: p.value.clone(),
            reason: reason.into(),
        }
    }

    fn invalid(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_path_buf(),
            message: message.into(),
        }
    }

    fn warn(&mut self, p: &Property, msg: impl fmt::Display) {
        self.warnings.push(format!(
            "{}:{}: {}: {}",
            self.file.display(),
            p.line,
            p.key,
            msg
        ));
    }

    fn int<T: std::str::FromStr>(&self, p: &Property, v: &str) -> Result<T, ConfigError> {
        v.parse::<T>()
            .map_err(|_| self.bad(p, "expected an integer"))
    }

    /// Java Integer.decode-style: decimal, 0x/0X/# hex.
    fn decoded_u32(&self, p: &Property, v: &str) -> Result<u32, ConfigError> {
        let hex = v
            .strip_prefix("0x")
            .or_else(|| v.strip_prefix("0X"))
            .or_else(|| v.strip_prefix('#'));
        let r = match hex {
            Some(h) => u32::from_str_radix(h, 16).ok(),
            None => v.parse::<u32>().ok(),
        };
        r.filter(|&n| n <= i32::MAX as u32)
            .ok_or_else(|| self.bad(p, "expected a non-negative integer (decimal or 0x hex)"))
    }

    fn port(&self, p: &Property, v: &str) -> Result<u16, ConfigError> {
        v.parse::<u16>()
            .map_err(|_| self.bad(p, "expected a port number 0-65535"))
    }

    /// QuorumPeerConfig.parseBoolean: "true"/"false", case-insensitive.
    fn boolean(&self, p: &Property, v: &str) -> Result<bool, ConfigError> {
        if v.eq_ignore_ascii_case("true") {
            Ok(true)
        } else if v.eq_ignore_ascii_case("false") {
            Ok(false)
        } else {
            Err(self.bad(p, "expected true or false"))
        }
    }

    /// yes/no keys where ZooKeeper compares against one exact word (`word` => `when_word`).
    fn yes_no(
        &mut self,
        p: &Property,
        v: &str,
        word: &str,
        when_word: bool,
    ) -> Result<bool, ConfigError> {
        match v {
            "yes" => return Ok(true),
            "no" => return Ok(false),
            _ => {}
        }
        let lower = v.to_ascii_lowercase();
        if ["yes", "no", "true", "false"].contains(&lower.as_str()) {
            let result = !when_word;
            self.warn(
                p,
                format!(
                    "'{v}' is not exactly '{word}'; ZooKeeper treats it as {}, and so does Ringkeeper",
                    if result { "yes" } else { "no" }
                ),
            );
            return Ok(result);
        }
        Err(self.bad(p, "expected yes or no"))
    }
}

fn absolutize(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// Splits `host:port:port...` honouring `[ipv6]` (ConfigUtils.getHostAndPort).
fn host_and_ports(s: &str) -> Option<Vec<String>> {
    if let Some(rest) = s.strip_prefix('[') {
        let close = rest.find(']')?;
        let host = &rest[..close];
        let after = &rest[close + 1..];
        let mut parts = vec![host.to_string()];
        if after.is_empty() {
            return Some(parts);
        }
        let after = after.strip_prefix(':')?;
        parts.extend(after.split(':').map(str::to_string));
        Some(parts)
    } else {
        Some(s.split(':').map(str::to_string).collect())
    }
}

fn parse_server_line(
    ctx: &Ctx<'_>,
    p: &Property,
    multi_address_enabled: bool,
) -> Result<ServerLine, ConfigError> {
    let id_str = &p.key["server.".len()..];
    let id: u64 = id_str
        .parse()
        .map_err(|_| ctx.bad(p, format!("server id '{id_str}' is not a number")))?;
    let value = p.value.as_str();
    let wrong =
        "expected host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]";
    let parts: Vec<&str> = value.split(';').collect();
    if parts.len() > 2 {
        return Err(ctx.bad(p, wrong));
    }
    let client = if parts.len() == 2 {
        let cp = host_and_ports(parts[1].trim()).ok_or_else(|| ctx.bad(p, wrong))?;
        if cp.len() > 2 {
            return Err(ctx.bad(p, wrong));
        }
        let host = if cp.len() == 2 {
            cp[0].clone()
        } else {
            "0.0.0.0".to_string()
        };
        let port: u16 = cp[cp.len() - 1]
            .trim()
            .parse()
            .map_err(|_| ctx.bad(p, "client port is not a port number"))?;
        Some((host, port))
    } else {
        None
    };
    let addresses: Vec<&str> = parts[0].split('|').collect();
    if addresses.len() > 1 && !multi_address_enabled {
        return Err(ctx.bad(p, "several addresses need multiAddress.enabled=true"));
    }
    let mut addrs = Vec::new();
    let mut learner_type: Option<LearnerType> = None;
    for a in addresses {
        let sp = host_and_ports(a.trim()).ok_or_else(|| ctx.bad(p, wrong))?;
        if sp.len() < 3 || sp.len() > 4 {
            return Err(ctx.bad(p, wrong));
        }
        if sp[0].is_empty() {
            return Err(ctx.bad(p, "missing host"));
        }
        let quorum_port: u16 = sp[1]
            .parse()
            .map_err(|_| ctx.bad(p, format!("quorum port '{}' is not a port number", sp[1])))?;
        let election_port: u16 = sp[2]
            .parse()
            .map_err(|_| ctx.bad(p, format!("election port '{}' is not a port number", sp[2])))?;
        if quorum_port == election_port {
            return Err(ctx.bad(p, "quorum and election ports must be different"));
        }
        if sp.len() == 4 {
            let t = match sp[3].to_ascii_lowercase().as_str() {
                "participant" => LearnerType::Participant,
                "observer" => LearnerType::Observer,
                _ => return Err(ctx.bad(p, format!("unrecognised peer type '{}'", sp[3]))),
            };
            if learner_type.is_some_and(|lt| lt != t) {
                return Err(ctx.bad(p, "multiple addresses must have the same role"));
            }
            learner_type = Some(t);
        }
        addrs.push(QuorumAddr {
            host: sp[0].clone(),
            quorum_port,
            election_port,
        });
    }
    Ok(ServerLine {
        id,
        addrs,
        learner_type: learner_type.unwrap_or_default(),
        client,
    })
}

/// Hex version from a dynamic file name suffix (`zoo.cfg.dynamic.100000000`).
fn version_from_filename(path: &Path) -> Option<u64> {
    let name = path.to_str()?;
    let dot = name.rfind('.')?;
    u64::from_str_radix(&name[dot + 1..], 16).ok()
}

/// Parses zoo.cfg text. `config_path` names the file in messages; dataDir/myid and the
/// dynamic config file are read from the file system.
pub fn parse(text: &str, config_path: &Path) -> Result<(ServerConfig, Vec<String>), ConfigError> {
    let mut ctx = Ctx {
        file: config_path,
        warnings: Vec::new(),
    };
    let props = parse_properties(text, config_path)?;

    // java.util.Properties keeps the last value of a repeated key.
    let mut last_index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, p) in props.iter().enumerate() {
        if let Some(prev) = last_index.insert(p.key.trim(), i) {
            let msg = format!(
                "{}:{}: {} is set again (first on line {}); the last value is used",
                config_path.display(),
                p.line,
                p.key.trim(),
                props[prev].line
            );
            ctx.warnings.push(msg);
        }
    }
    let has_dynamic = last_index.contains_key("dynamicConfigFile");
    // multiAddress.enabled governs how server lines parse, whatever its position.
    let multi_address_enabled = match last_index.get("multiAddress.enabled") {
        Some(&i) => {
            let p = &props[i];
            ctx.boolean(p, p.value.trim())?
        }
        None => false,
    };

    let mut c = ServerConfig::zoo_cfg_defaults(PathBuf::new());
    c.config_path = Some(config_path.to_path_buf());
    c.multi_address_enabled = multi_address_enabled;
    let mut data_dir: Option<PathBuf> = None;
    let mut data_log_dir: Option<PathBuf> = None;
    let mut client_port_address: Option<(IpAddr, usize)> = None;
    let mut secure_client_port_address = false;
    let mut min_session: Option<u32> = None;
    let mut max_session: Option<u32> = None;
    let mut tick_time_set = false;
    let mut peer_type_set: Option<LearnerType> = None;
    let mut server_props: Vec<&Property> = Vec::new();
    // With admin.enableServer=false the other admin.* keys are moot: no warnings for them.
    let admin_disabled = last_index
        .get("admin.enableServer")
        .is_some_and(|&i| props[i].value.trim().eq_ignore_ascii_case("false"));

    for (i, p) in props.iter().enumerate() {
        let key_trimmed = p.key.trim();
        if last_index.get(key_trimmed) != Some(&i) {
            continue;
        }
        let v = p.value.trim();
        let mut key = key_trimmed;
        if let Some(stripped) = key.strip_prefix("zookeeper.") {
            if is_known_key(stripped) && !stripped.starts_with("server.") {
                ctx.warn(
                    p,
                    format!(
                        "ZooKeeper would read this as system property zookeeper.{key} and ignore it; \
                         Ringkeeper applies it as {stripped}"
                    ),
                );
                key = stripped;
            }
        }
        match key {
            "dataDir" | "dataLogDir" => {
                if v.is_empty() {
                    return Err(ctx.bad(p, "expected a directory"));
                }
                let path = Path::new(v);
                if path.is_relative() {
                    ctx.warn(
                        p,
                        format!(
                            "relative path '{v}' resolves against the current directory, not the config file's"
                        ),
                    );
                }
                let abs = absolutize(path);
                if key == "dataDir" {
                    data_dir = Some(abs);
                } else {
                    data_log_dir = Some(abs);
                }
            }
            "clientPort" => {
                let port = ctx.port(p, v)?;
                c.client_port = (port != 0).then_some(port);
            }
            "clientPortAddress" => {
                let ip = match v.parse::<IpAddr>() {
                    Ok(ip) => ip,
                    Err(_) => (v, 0u16)
                        .to_socket_addrs()
                        .ok()
                        .and_then(|mut it| it.next())
                        .map(|sa| sa.ip())
                        .ok_or_else(|| ctx.bad(p, "not an IP address or resolvable host name"))?,
                };
                client_port_address = Some((ip, p.line));
            }
            "secureClientPort" => {
                let port = ctx.port(p, v)?;
                c.secure_client_port = (port != 0).then_some(port);
            }
            "secureClientPortAddress" => {
                secure_client_port_address = true;
                let ip = v
                    .parse::<IpAddr>()
                    .ok()
                    .or_else(|| (v, 0u16).to_socket_addrs().ok()?.next().map(|sa| sa.ip()))
                    .ok_or_else(|| ctx.bad(p, "not an IP address or resolvable host name"))?;
                c.secure_client_port_address = Some(ip);
            }
            // Checked, applied and warned about by crate::tls::settings.
            k if k.starts_with("ssl.") || k == "X509AuthenticationProvider.superUser" => {
                c.tls.insert(k.to_string(), v.to_string());
            }
            "tickTime" => {
                let t: i32 = ctx.int(p, v)?;
                if t <= 0 {
                    return Err(ctx.bad(p, "must be a positive number of milliseconds"));
                }
                c.tick_time_ms = t as u32;
                tick_time_set = true;
            }
            "maxClientCnxns" | "maxCnxns" => {
                let n: i32 = ctx.int(p, v)?;
                let n = if n < 0 {
                    ctx.warn(p, "negative means unlimited, as 0 does");
                    0
                } else {
                    n as u32
                };
                if key == "maxClientCnxns" {
                    c.max_client_cnxns = n;
                } else {
                    c.max_cnxns = n;
                }
            }
            "minSessionTimeout" | "maxSessionTimeout" => {
                let n: i32 = ctx.int(p, v)?;
                let n = match n {
                    -1 => None,
                    n if n >= 0 => Some(n as u32),
                    _ => {
                        return Err(ctx.bad(
                            p,
                            "must be a number of milliseconds (or -1 for the default)",
                        ))
                    }
                };
                if key == "minSessionTimeout" {
                    min_session = n;
                } else {
                    max_session = n;
                }
            }
            "clientPortListenBacklog" => {
                c.client_port_listen_backlog = ctx.int(p, v)?;
            }
            "initLimit" | "syncLimit" => {
                let n: i32 = ctx.int(p, v)?;
                if n < 0 {
                    return Err(ctx.bad(p, "must be a non-negative number of ticks"));
                }
                if key == "initLimit" {
                    c.init_limit = n as u32;
                } else {
                    c.sync_limit = n as u32;
                }
            }
            "electionAlg" => {
                let n: i32 = ctx.int(p, v)?;
                if n != 3 {
                    return Err(ctx.bad(p, "only electionAlg=3 is supported"));
                }
            }
            "peerType" => {
                peer_type_set = Some(match v.to_lowercase().as_str() {
                    "observer" => LearnerType::Observer,
                    "participant" => LearnerType::Participant,
                    _ => return Err(ctx.bad(p, "expected participant or observer")),
                });
            }
            "syncEnabled" => c.sync_enabled = ctx.boolean(p, v)?,
            "quorumListenOnAllIPs" => c.quorum_listen_on_all_ips = ctx.boolean(p, v)?,
            "cnxTimeout" => {
                let n: i32 = ctx.int(p, v)?;
                if n <= 0 {
                    return Err(ctx.bad(p, "must be a positive number of milliseconds"));
                }
                c.cnx_timeout_ms = n as u32;
            }
            "standaloneEnabled" => c.standalone_enabled = ctx.boolean(p, v)?,
            "reconfigEnabled" => c.reconfig_enabled = ctx.boolean(p, v)?,
            "dynamicConfigFile" => {
                if v.is_empty() {
                    return Err(ctx.bad(p, "expected a file name"));
                }
                let path = Path::new(v);
                if path.is_relative() {
                    ctx.warn(
                        p,
                        format!("relative path '{v}' resolves against the current directory, not the config file's"),
                    );
                }
                c.dynamic_config_file = Some(absolutize(path));
            }
            "autopurge.snapRetainCount" => {
                let n: i32 = ctx.int(p, v)?;
                if n < MIN_SNAP_RETAIN_COUNT as i32 {
                    ctx.warn(
                        p,
                        format!("{n} is below the minimum; using {MIN_SNAP_RETAIN_COUNT}"),
                    );
                    c.autopurge_snap_retain_count = MIN_SNAP_RETAIN_COUNT;
                } else {
                    c.autopurge_snap_retain_count = n as u32;
                }
            }
            "autopurge.purgeInterval" => {
                let n: i32 = ctx.int(p, v)?;
                c.autopurge_purge_interval_hours = n.max(0) as u32;
            }
            "multiAddress.enabled" => {} // read above
            "4lw.commands.whitelist" => {
                let mut set = BTreeSet::new();
                for entry in v.split(',') {
                    let entry = entry.trim();
                    if entry == "*" {
                        set.extend(crate::fourlw::COMMANDS.iter().map(|s| s.to_string()));
                        break;
                    }
                    if entry.is_empty() {
                        continue;
                    }
                    if !crate::fourlw::COMMANDS.contains(&entry) {
                        let hint =
                            if crate::fourlw::COMMANDS.contains(&entry.to_lowercase().as_str()) {
                                " (commands are case-sensitive, as in ZooKeeper)"
                            } else {
                                ""
                            };
                        ctx.warn(
                            p,
                            format!("'{entry}' is not a four-letter word command{hint}"),
                        );
                    }
                    set.insert(entry.to_string());
                }
                set.insert("srvr".to_string());
                c.four_letter_whitelist = set;
            }
            "extendedTypesEnabled" => c.extended_types_enabled = ctx.boolean(p, v)?,
            "znode.container.checkIntervalMs" => {
                c.container_check_interval_ms = u64::from(ctx.decoded_u32(p, v)?);
                warn_jvm_only(&mut ctx, p);
            }
            "znode.container.maxPerMinute" => {
                c.container_max_per_minute = ctx.decoded_u32(p, v)?;
                warn_jvm_only(&mut ctx, p);
            }
            "znode.container.maxNeverUsedIntervalMs" => {
                let n: i64 = ctx.int(p, v)?;
                if n < 0 {
                    return Err(ctx.bad(p, "must be a non-negative number of milliseconds"));
                }
                c.container_max_never_used_interval_ms = n as u64;
                warn_jvm_only(&mut ctx, p);
            }
            "DigestAuthenticationProvider.superDigest" => {
                if !v.contains(':') {
                    return Err(ctx.bad(p, "expected super:<base64 SHA1 digest>"));
                }
                c.super_digest = Some(v.to_string());
            }
            "DigestAuthenticationProvider.enabled" => c.digest_enabled = ctx.boolean(p, v)?,
            "skipACL" => c.skip_acl = ctx.yes_no(p, v, "yes", true)?,
            "forceSync" => c.force_sync = ctx.yes_no(p, v, "no", false)?,
            "jute.maxbuffer" => {
                c.jute_maxbuffer = ctx.decoded_u32(p, v)?;
                warn_jvm_only(&mut ctx, p);
            }
            "snapCount" => {
                let n: i32 = ctx.int(p, v)?;
                c.snap_count = if n < 2 {
                    ctx.warn(p, "below 2; using 2, as ZooKeeper does");
                    2
                } else {
                    n as u32
                };
            }
            "snapSizeLimitInKb" => c.snap_size_limit_kb = ctx.int(p, v)?,
            "txnLogSizeLimitInKb" => c.txn_log_size_limit_kb = ctx.int(p, v)?,
            "preAllocSize" => {
                let n: i64 = ctx.int(p, v)?;
                if n < 0 {
                    return Err(ctx.bad(p, "must be a non-negative number of KiB"));
                }
                c.pre_alloc_size_kb = n as u64;
            }
            "fsync.warningthresholdms" => {
                let n: i64 = ctx.int(p, v)?;
                if n < 0 {
                    return Err(ctx.bad(p, "must be a non-negative number of milliseconds"));
                }
                c.fsync_warning_threshold_ms = n as u64;
            }
            "globalOutstandingLimit" => {
                let n: i32 = ctx.int(p, v)?;
                if n < 0 {
                    return Err(ctx.bad(p, "must be a non-negative number of requests"));
                }
                c.global_outstanding_limit = n as u32;
            }
            "metricsProvider.className" => {
                if v != DEFAULT_METRICS_PROVIDER {
                    ctx.warn(
                        p,
                        "accepted but not applied: Ringkeeper's metrics feed mntr like the default provider",
                    );
                }
                c.metrics_provider_class = v.to_string();
            }
            "ringkeeper.shards" => {
                let n: usize = ctx.int(p, v)?;
                if n == 0 {
                    return Err(ctx.bad(p, "must be at least 1"));
                }
                c.shards = n;
            }
            "ringkeeper.pipelineCore" => c.pipeline_core = Some(ctx.int(p, v)?),
            "ringkeeper.spinBeforeParkUs" => c.spin_before_park_us = ctx.int(p, v)?,
            "ringkeeper.walDirectIo" => c.wal_direct_io = ctx.boolean(p, v)?,
            "ringkeeper.maxQueuedReplyBytes" => c.max_queued_reply_bytes = ctx.int(p, v)?,
            "ringkeeper.maxUnsentBytes" => c.max_unsent_bytes = ctx.int(p, v)?,
            "ringkeeper.maxReplyBytes" => c.max_reply_bytes = ctx.int(p, v)?,
            k if k.starts_with("server.") => {
                if has_dynamic {
                    return Err(ctx.bad(
                        p,
                        "must be in the separate dynamic config file (dynamicConfigFile is set)",
                    ));
                }
                server_props.push(p);
            }
            k if (k.starts_with("group") || k.starts_with("weight")) && has_dynamic => {
                return Err(ctx.bad(
                    p,
                    "must be in the separate dynamic config file (dynamicConfigFile is set)",
                ));
            }
            k if k.starts_with("metricsProvider.") => {
                c.metrics_provider
                    .insert(k["metricsProvider.".len()..].to_string(), v.to_string());
            }
            k if k.starts_with("admin.") => {
                if k == "admin.enableServer" {
                    ctx.boolean(p, v)?;
                }
                if !admin_disabled {
                    ctx.warn(
                        p,
                        "accepted but not applied: Ringkeeper has no AdminServer yet (4lw commands work)",
                    );
                }
                c.admin
                    .insert(k["admin.".len()..].to_string(), v.to_string());
            }
            k => {
                if let Some(reason) = not_applied_reason(k) {
                    ctx.warn(p, format!("accepted but not applied: {reason}"));
                } else {
                    let msg = match suggest_key(k) {
                        Some(s) => format!("unknown key, kept as is; did you mean {s}?"),
                        None => "unknown key, kept as is".to_string(),
                    };
                    ctx.warn(p, msg);
                    c.other.insert(k.to_string(), v.to_string());
                }
            }
        }
    }

    // Cross-key checks, in QuorumPeerConfig.parseProperties order.
    let data_dir = data_dir.ok_or_else(|| ConfigError::Missing {
        file: config_path.to_path_buf(),
        key: "dataDir".into(),
        reason: "it is required (snapshots, and myid in quorum mode, live there)".into(),
    })?;
    c.data_log_dir = data_log_dir.unwrap_or_else(|| data_dir.clone());
    c.data_dir = data_dir;

    match (c.client_port, client_port_address) {
        (None, Some((_, line))) => {
            return Err(ConfigError::Invalid {
                file: config_path.to_path_buf(),
                message: format!("line {line}: clientPortAddress is set but clientPort is not set"),
            })
        }
        (_, Some((ip, _))) => c.client_port_address = Some(ip),
        _ => {}
    }
    if secure_client_port_address && c.secure_client_port.is_none() {
        return Err(ctx.invalid("secureClientPortAddress is set but secureClientPort is not set"));
    }
    if !tick_time_set {
        ctx.warnings.push(format!(
            "{}: tickTime is not set; using {DEFAULT_TICK_TIME_MS} ms (ZooKeeper 3.8's default)",
            config_path.display()
        ));
    }
    c.min_session_timeout_ms = min_session.unwrap_or(c.tick_time_ms * 2);
    c.max_session_timeout_ms = max_session.unwrap_or(c.tick_time_ms * 20);
    if c.min_session_timeout_ms > c.max_session_timeout_ms {
        return Err(ctx.invalid(format!(
            "minSessionTimeout ({}) must not be larger than maxSessionTimeout ({})",
            c.min_session_timeout_ms, c.max_session_timeout_ms
        )));
    }

    // Server lines: from zoo.cfg, or from the dynamic file.
    let mut servers = Vec::new();
    for p in server_props {
        servers.push(parse_server_line(&ctx, p, multi_address_enabled)?);
    }
    if let Some(dyn_path) = c.dynamic_config_file.clone() {
        let text = std::fs::read_to_string(&dyn_path).map_err(|source| ConfigError::Io {
            path: dyn_path.clone(),
            source,
        })?;
        let mut dctx = Ctx {
            file: &dyn_path,
            warnings: Vec::new(),
        };
        c.dynamic_config_version = version_from_filename(&dyn_path);
        for p in parse_properties(&text, &dyn_path)? {
            let key = p.key.trim();
            let v = p.value.trim();
            if key.starts_with("server.") {
                servers.push(parse_server_line(&dctx, &p, multi_address_enabled)?);
            } else if key == "version" {
                let ver = u64::from_str_radix(v, 16)
                    .map_err(|_| dctx.bad(&p, "expected a hexadecimal version"))?;
                dctx.warn(
                    &p,
                    "ZooKeeper takes the version from the file name and refuses version= here; Ringkeeper uses it",
                );
                c.dynamic_config_version = Some(ver);
            } else if key.starts_with("group") || key.starts_with("weight") {
                dctx.warn(
                    &p,
                    "accepted but not applied: hierarchical quorums are not supported yet",
                );
            } else {
                return Err(dctx.bad(
                    &p,
                    "only server.N, group.N, weight.N and version belong in a dynamic config file",
                ));
            }
        }
        ctx.warnings.append(&mut dctx.warnings);
    }
    servers.sort_by_key(|s| s.id);
    for w in servers.windows(2) {
        if w[0].id == w[1].id {
            return Err(ctx.invalid(format!("server.{} is defined more than once", w[0].id)));
        }
    }
    c.servers = servers;

    // Quorum shape (QuorumPeerConfig.parseDynamicConfig).
    let participants = c.participants().count();
    let observers = c.servers.len() - participants;
    if participants == 0 {
        if !c.standalone_enabled {
            return Err(
                ctx.invalid("standaloneEnabled=false needs at least one participant server.N line")
            );
        }
        if observers > 0 {
            return Err(ctx.invalid("observers without participants is an invalid configuration"));
        }
    } else if participants == 1 && c.standalone_enabled {
        if observers > 0 {
            return Err(ctx.invalid("observers without a quorum is an invalid configuration"));
        }
        ctx.warnings.push(format!(
            "{}: only one server.N line; running standalone (as ZooKeeper does with standaloneEnabled=true)",
            config_path.display()
        ));
    } else if participants <= 2 {
        ctx.warnings.push(format!(
            "{}: {participants} voting servers: no server failure will be tolerated; you need at least 3",
            config_path.display()
        ));
    } else if participants & 1 == 0 {
        ctx.warnings.push(format!(
            "{}: {participants} voting servers: consider an odd number",
            config_path.display()
        ));
    }

    // myid (QuorumPeerConfig.setupMyId: read when the file exists).
    let myid_path = c.data_dir.join("myid");
    if myid_path.is_file() {
        let text = std::fs::read_to_string(&myid_path).map_err(|source| ConfigError::Io {
            path: myid_path.clone(),
            source,
        })?;
        let first = text.lines().next().unwrap_or("").trim();
        match first.parse::<u64>() {
            Ok(id) => c.my_id = Some(id),
            Err(_) if c.is_distributed() => {
                return Err(ConfigError::Invalid {
                    file: myid_path,
                    message: format!("serverid '{first}' is not a number"),
                })
            }
            Err(_) => ctx.warnings.push(format!(
                "{}: '{first}' is not a number; ignored in standalone mode",
                myid_path.display()
            )),
        }
        if let Some(message) = c
            .my_id
            .and_then(|id| unusable_server_id(id, c.extended_types_enabled))
        {
            return Err(ConfigError::Invalid {
                file: myid_path,
                message,
            });
        }
    }

    if c.is_distributed() {
        if c.init_limit == 0 {
            return Err(ConfigError::Missing {
                file: config_path.to_path_buf(),
                key: "initLimit".into(),
                reason: "it is required in quorum mode".into(),
            });
        }
        if c.sync_limit == 0 {
            return Err(ConfigError::Missing {
                file: config_path.to_path_buf(),
                key: "syncLimit".into(),
                reason: "it is required in quorum mode".into(),
            });
        }
        let Some(my_id) = c.my_id else {
            return Err(ConfigError::Missing {
                file: config_path.to_path_buf(),
                key: "myid".into(),
                reason: format!("quorum mode needs {}", myid_path.display()),
            });
        };
        let me = c
            .servers
            .iter()
            .find(|s| s.id == my_id)
            .cloned()
            .ok_or_else(|| ctx.invalid(format!("myid {my_id} has no server.{my_id} line")))?;
        // setupClientPort: the server line's client address wins.
        if let Some((host, port)) = &me.client {
            if let Some(static_port) = c.client_port {
                if static_port != *port {
                    return Err(ctx.invalid(format!(
                        "clientPort {static_port} differs from server.{my_id}'s client port {port}"
                    )));
                }
            }
            c.client_port = Some(*port);
            if let Ok(ip) = host.parse::<IpAddr>() {
                c.client_port_address = (!ip.is_unspecified()).then_some(ip);
            }
        }
        // setupPeerType: the server list wins.
        if let Some(pt) = peer_type_set {
            if pt != me.learner_type {
                ctx.warnings.push(format!(
                    "{}: peerType ({pt:?}) does not match server.{my_id} ({:?}); using the server list",
                    config_path.display(),
                    me.learner_type
                ));
            }
        }
        c.peer_type = me.learner_type;
    } else {
        c.peer_type = peer_type_set.unwrap_or_default();
    }

    if c.client_port.is_none() {
        ctx.warnings.push(format!(
            "{}: clientPort is not set: no client listener",
            config_path.display()
        ));
    }
    Ok((c, ctx.warnings))
}

fn warn_jvm_only(ctx: &mut Ctx<'_>, p: &Property) {
    ctx.warn(
        p,
        "ZooKeeper only honours this as a JVM system property and ignores it in zoo.cfg; Ringkeeper applies it",
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tmpdir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("ringkeeper-cfg-{}-{}", name, std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn p(text: &str) -> Result<(ServerConfig, Vec<String>), ConfigError> {
        parse(text, Path::new("zoo.cfg"))
    }

    fn err(text: &str) -> String {
        p(text).unwrap_err().to_string()
    }

    #[test]
    fn server_ids_that_would_look_like_ttl_owners_are_refused() {
        assert_eq!(unusable_server_id(1, true), None);
        assert_eq!(unusable_server_id(254, true), None);
        assert!(unusable_server_id(255, false).unwrap().contains("TTL"));
        assert!(unusable_server_id(511, false).is_some());
        assert_eq!(unusable_server_id(300, false), None);
        assert!(unusable_server_id(300, true).unwrap().contains("254"));
    }

    #[test]
    fn properties_syntax() {
        let text = "# comment\n  ! also comment\n\na=1\nb: 2\nc 3\n d  =  4  \ne=x\\\n   y\\\n z\nf=a\\\\\ng=\\u0041\\t\nh\n  \ti = j:k\r\nl=m\rn=o";
        let props = parse_properties(text, Path::new("t")).unwrap();
        let kv: Vec<(String, String, usize)> = props
            .into_iter()
            .map(|p| (p.key, p.value, p.line))
            .collect();
        assert_eq!(
            kv,
            vec![
                ("a".into(), "1".into(), 4),
                ("b".into(), "2".into(), 5),
                ("c".into(), "3".into(), 6),
                ("d".into(), "4  ".into(), 7),
                ("e".into(), "xyz".into(), 8),
                ("f".into(), "a\\".into(), 11),
                ("g".into(), "A\t".into(), 12),
                ("h".into(), "".into(), 13),
                ("i".into(), "j:k".into(), 14),
                ("l".into(), "m".into(), 15),
                ("n".into(), "o".into(), 16),
            ]
        );
        let e = parse_properties("x=\\u00zz", Path::new("t")).unwrap_err();
        assert!(e.to_string().contains("t:1"), "{e}");
    }

    #[test]
    fn defaults_of_minimal_zoo_cfg() {
        let (c, w) = p("dataDir=/var/lib/zk\nclientPort=2181\n").unwrap();
        assert_eq!(c.tick_time_ms, 3000);
        assert_eq!(c.min_session_timeout_ms, 6000);
        assert_eq!(c.max_session_timeout_ms, 60000);
        assert_eq!(c.client_port, Some(2181));
        assert_eq!(c.client_port_address, None);
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/zk"));
        assert_eq!(c.data_log_dir, PathBuf::from("/var/lib/zk"));
        assert_eq!(c.max_client_cnxns, 60);
        assert_eq!(c.max_cnxns, 0);
        assert_eq!(c.client_port_listen_backlog, -1);
        assert_eq!(
            c.four_letter_whitelist,
            BTreeSet::from(["srvr".to_string()])
        );
        assert!(!c.extended_types_enabled);
        assert_eq!(c.container_check_interval_ms, 60000);
        assert_eq!(c.container_max_per_minute, 10000);
        assert_eq!(c.container_max_never_used_interval_ms, 0);
        assert_eq!(c.super_digest, None);
        assert!(c.digest_enabled);
        assert!(!c.skip_acl);
        assert_eq!(c.jute_maxbuffer, 1048575);
        assert_eq!(c.snap_count, 100000);
        assert_eq!(c.snap_size_limit_kb, 4194304);
        assert_eq!(c.pre_alloc_size_kb, 65536);
        assert!(c.force_sync);
        assert_eq!(c.fsync_warning_threshold_ms, 1000);
        assert_eq!(c.autopurge_snap_retain_count, 3);
        assert_eq!(c.autopurge_purge_interval_hours, 0);
        assert_eq!(c.global_outstanding_limit, 1000);
        assert!(!c.reconfig_enabled);
        assert!(c.standalone_enabled);
        assert!(c.servers.is_empty());
        assert!(!c.is_distributed());
        assert_eq!(c.shards, default_shards());
        assert_eq!(c.pipeline_core, None);
        assert!(c.other.is_empty());
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("tickTime is not set"), "{w:?}");
    }

    #[test]
    fn standalone_default_values() {
        let c = standalone_default();
        assert_eq!(c.tick_time_ms, 2000);
        assert_eq!(c.min_session_timeout_ms, 4000);
        assert_eq!(c.max_session_timeout_ms, 40000);
        assert_eq!(c.client_port, Some(2181));
        assert!(c.data_dir.is_absolute());
        assert!(c.data_dir.ends_with("data"));
        assert_eq!(c.data_log_dir, c.data_dir);
        assert_eq!(c.config_path, None);
    }

    #[test]
    fn applied_keys() {
        let text = "\
tickTime=1000
dataDir=/d
dataLogDir=/l
clientPort=2182
clientPortAddress=127.0.0.1
minSessionTimeout=1500
maxSessionTimeout=90000
maxClientCnxns=0
maxCnxns=500
clientPortListenBacklog=128
4lw.commands.whitelist= stat, ruok ,,conf
extendedTypesEnabled=TRUE
znode.container.checkIntervalMs=1000
znode.container.maxPerMinute=5
znode.container.maxNeverUsedIntervalMs=30000
DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
DigestAuthenticationProvider.enabled=false
skipACL=yes
jute.maxbuffer=0x400000
snapCount=5000
snapSizeLimitInKb=1024
txnLogSizeLimitInKb=2048
preAllocSize=1024
forceSync=no
fsync.warningthresholdms=50
autopurge.snapRetainCount=5
autopurge.purgeInterval=24
globalOutstandingLimit=2000
reconfigEnabled=true
standaloneEnabled=true
ringkeeper.shards=3
ringkeeper.pipelineCore=1
ringkeeper.walDirectIo=false
metricsProvider.className=org.apache.zookeeper.metrics.impl.DefaultMetricsProvider
";
        let (c, w) = p(text).unwrap();
        assert_eq!(c.tick_time_ms, 1000);
        assert_eq!(c.data_log_dir, PathBuf::from("/l"));
        assert_eq!(c.client_port, Some(2182));
        assert_eq!(c.client_port_address, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(
            (c.min_session_timeout_ms, c.max_session_timeout_ms),
            (1500, 90000)
        );
        assert_eq!((c.max_client_cnxns, c.max_cnxns), (0, 500));
        assert_eq!(c.client_port_listen_backlog, 128);
        let wl: Vec<&str> = c.four_letter_whitelist.iter().map(|s| s.as_str()).collect();
        assert_eq!(wl, vec!["conf", "ruok", "srvr", "stat"]);
        assert!(c.extended_types_enabled);
        assert_eq!(c.container_check_interval_ms, 1000);
        assert_eq!(c.container_max_per_minute, 5);
        assert_eq!(c.container_max_never_used_interval_ms, 30000);
        assert_eq!(
            c.super_digest.as_deref(),
            Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU=")
        );
        assert!(!c.digest_enabled);
        assert!(c.skip_acl);
        assert_eq!(c.jute_maxbuffer, 0x400000);
        assert_eq!(c.snap_count, 5000);
        assert_eq!(c.snap_size_limit_kb, 1024);
        assert_eq!(c.txn_log_size_limit_kb, 2048);
        assert_eq!(c.pre_alloc_size_kb, 1024);
        assert!(!c.force_sync);
        assert!(!c.wal_direct_io);
        assert_eq!(c.fsync_warning_threshold_ms, 50);
        assert_eq!(c.autopurge_snap_retain_count, 5);
        assert_eq!(c.autopurge_purge_interval_hours, 24);
        assert_eq!(c.global_outstanding_limit, 2000);
        assert!(c.reconfig_enabled);
        assert_eq!(c.shards, 3);
        assert_eq!(c.pipeline_core, Some(1));
        // jute.maxbuffer and the three container keys warn that ZooKeeper ignores them here.
        assert_eq!(
            w.iter()
                .filter(|w| w.contains("JVM system property"))
                .count(),
            4,
            "{w:?}"
        );
        assert_eq!(w.len(), 4, "{w:?}");
    }

    #[test]
    fn whitelist_star_and_case() {
        let (c, w) =
            p("dataDir=/d\nclientPort=1\ntickTime=2000\n4lw.commands.whitelist=*").unwrap();
        assert_eq!(c.four_letter_whitelist.len(), crate::fourlw::COMMANDS.len());
        assert!(w.is_empty(), "{w:?}");
        let (c, w) =
            p("dataDir=/d\nclientPort=1\ntickTime=2000\n4lw.commands.whitelist=STAT").unwrap();
        assert!(c.four_letter_whitelist.contains("STAT"));
        assert!(!c.four_letter_whitelist.contains("stat"));
        assert!(w[0].contains("case-sensitive"), "{w:?}");
    }

    #[test]
    fn relative_data_dir_resolves_against_cwd() {
        let (c, w) = p("dataDir=rel/zk\nclientPort=1\ntickTime=2000").unwrap();
        assert_eq!(c.data_dir, std::env::current_dir().unwrap().join("rel/zk"));
        assert!(w[0].contains("relative path"), "{w:?}");
    }

    #[test]
    fn error_classes() {
        let e = err("dataDir=/d\n\ntickTime=abc\n");
        assert_eq!(
            e,
            "zoo.cfg:3: invalid value 'abc' for tickTime: expected an integer"
        );
        let e = err("dataDir=/d\nclientPort=-1\n");
        assert!(
            e.contains("zoo.cfg:2") && e.contains("clientPort") && e.contains("'-1'"),
            "{e}"
        );
        let e = err("dataDir=/d\nclientPort=70000\n");
        assert!(e.contains("clientPort") && e.contains("70000"), "{e}");
        let e = err("dataDir=/d\ninitLimit=5\nsyncLimit=2\nserver.1=host1\nserver.2=h2:1:2\n");
        assert!(
            e.contains("zoo.cfg:4") && e.contains("server.1") && e.contains("'host1'"),
            "{e}"
        );
        let e = err("dataDir=/d\nserver.1=h:2888:2888\n");
        assert!(e.contains("must be different"), "{e}");
        let e = err("dataDir=/d\nserver.x=h:2888:3888\n");
        assert!(e.contains("server.x") && e.contains("not a number"), "{e}");
        let e = err("dataDir=/d\nserver.1=h:2888:3888:witness\n");
        assert!(e.contains("peer type"), "{e}");
        let e = err("dataDir=/d\nserver.1=h:2888:3888|h2:2889:3889\n");
        assert!(e.contains("multiAddress.enabled"), "{e}");
        let e = err("dataDir=/d\nforceSync=maybe\n");
        assert_eq!(
            e,
            "zoo.cfg:2: invalid value 'maybe' for forceSync: expected yes or no"
        );
        let e = err("dataDir=/d\nelectionAlg=1\n");
        assert!(
            e.contains("electionAlg") && e.contains("'1'") && e.contains("zoo.cfg:2"),
            "{e}"
        );
        let e = err("dataDir=/d\nstandaloneEnabled=perhaps\n");
        assert!(e.contains("standaloneEnabled"), "{e}");
        let e = err("dataDir=/d\npeerType=witness\n");
        assert!(e.contains("peerType"), "{e}");
        let e = err("dataDir=/d\ntickTime=0\n");
        assert!(e.contains("tickTime"), "{e}");
        let e = err("clientPort=2181\n");
        assert_eq!(e, "zoo.cfg: dataDir is not set: it is required (snapshots, and myid in quorum mode, live there)");
        let e = err("dataDir=/d\nminSessionTimeout=10000\nmaxSessionTimeout=5000\n");
        assert!(
            e.contains("minSessionTimeout (10000) must not be larger"),
            "{e}"
        );
        let e = err("dataDir=/d\nclientPortAddress=127.0.0.1\n");
        assert!(
            e.contains("clientPortAddress is set but clientPort is not set"),
            "{e}"
        );
        let e = err("dataDir=/d\njute.maxbuffer=lots\n");
        assert!(e.contains("jute.maxbuffer"), "{e}");
        let e = err("dataDir=/d\nringkeeper.shards=0\n");
        assert!(e.contains("ringkeeper.shards"), "{e}");
        let e = err("dataDir=/d\nringkeeper.walDirectIo=yes\n");
        assert!(e.contains("ringkeeper.walDirectIo"), "{e}");
        let e = err("dataDir=/d\nDigestAuthenticationProvider.superDigest=nocolon\n");
        assert!(e.contains("superDigest"), "{e}");
    }

    #[test]
    fn warnings_not_applied_and_unknown() {
        let text = "dataDir=/d\nclientPort=2181\ntickTime=2000\nserverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\nssl.keyStore.location=/k\nauthProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\nsslQuorum=true\nquorum.auth.enableSasl=true\nsecureClientPort=2281\nadmin.serverPort=8081\nadmin.enableServer=true\ntickTme=100\nfrobnicate=yes\n";
        let (c, w) = p(text).unwrap();
        let find = |needle: &str| {
            w.iter()
                .find(|x| x.contains(needle))
                .unwrap_or_else(|| panic!("no warning with {needle}: {w:?}"))
                .clone()
        };
        assert!(find("serverCnxnFactory").contains("zoo.cfg:4"));
        assert!(find("authProvider.1").contains("not applied"));
        assert!(find("sslQuorum").contains("not applied"));
        assert!(find("quorum.auth.enableSasl").contains("not applied"));
        assert!(find("admin.serverPort").contains("AdminServer"));
        assert_eq!(
            find("tickTme"),
            "zoo.cfg:12: tickTme: unknown key, kept as is; did you mean tickTime?"
        );
        assert_eq!(
            find("frobnicate"),
            "zoo.cfg:13: frobnicate: unknown key, kept as is"
        );
        // ssl.* keys and secureClientPort are crate::tls's to check and warn about.
        assert_eq!(w.len(), 8, "{w:?}");
        assert_eq!(
            c.tls.get("ssl.keyStore.location").map(String::as_str),
            Some("/k")
        );
        assert_eq!(c.other.get("tickTme").map(String::as_str), Some("100"));
        assert_eq!(c.other.get("frobnicate").map(String::as_str), Some("yes"));
        assert_eq!(c.tick_time_ms, 2000);
        assert_eq!(c.secure_client_port, Some(2281));
        assert_eq!(c.admin.get("serverPort").map(String::as_str), Some("8081"));
    }

    #[test]
    fn zookeeper_prefix_and_yes_no_semantics() {
        let text = "dataDir=/d\nclientPort=1\ntickTime=2000\nzookeeper.DigestAuthenticationProvider.superDigest=super:abc=\nforceSync=false\nskipACL=true\nadmin.serverPort=9090\nadmin.enableServer=false\n";
        let (c, w) = p(text).unwrap();
        assert_eq!(c.super_digest.as_deref(), Some("super:abc="));
        assert!(c.force_sync, "ZooKeeper: only 'no' disables forceSync");
        assert!(!c.skip_acl, "ZooKeeper: only 'yes' enables skipACL");
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("Ringkeeper applies it as DigestAuthenticationProvider.superDigest"));
    }

    #[test]
    fn duplicate_key_last_wins() {
        let (c, w) = p("dataDir=/d\nclientPort=1\ntickTime=2000\nclientPort=2\n").unwrap();
        assert_eq!(c.client_port, Some(2));
        assert!(w[0].contains("first on line 2"), "{w:?}");
    }

    #[test]
    fn snap_retain_minimum() {
        let (c, w) =
            p("dataDir=/d\nclientPort=1\ntickTime=2000\nautopurge.snapRetainCount=1\n").unwrap();
        assert_eq!(c.autopurge_snap_retain_count, 3);
        assert!(w[0].contains("below the minimum"), "{w:?}");
    }

    fn production_cfg(dir: &Path) -> String {
        format!(
            "\
# The number of milliseconds of each tick
tickTime=2000
initLimit=10
syncLimit=5
dataDir={dir}/data
dataLogDir={dir}/log
clientPort=2181
maxClientCnxns=100
autopurge.snapRetainCount=5
autopurge.purgeInterval=1
4lw.commands.whitelist=srvr, mntr, ruok, conf
metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
metricsProvider.httpPort=7000
metricsProvider.exportJvmInfo=true
admin.enableServer=false
server.1=zk1.example.com:2888:3888
server.2=zk2.example.com:2888:3888:participant;2181
server.3=[fd00::3]:2888:3888;0.0.0.0:2181
server.4=zk4.example.com:2888:3888:observer
",
            dir = dir.display()
        )
    }

    #[test]
    fn production_zoo_cfg_with_servers_and_myid() {
        let dir = tmpdir("prod");
        fs::create_dir_all(dir.join("data")).unwrap();
        fs::write(dir.join("data/myid"), "2\n").unwrap();
        let path = dir.join("zoo.cfg");
        fs::write(&path, production_cfg(&dir)).unwrap();
        let (c, w) = load(&path).unwrap();
        assert!(c.is_distributed());
        assert_eq!(c.my_id, Some(2));
        assert_eq!((c.init_limit, c.sync_limit), (10, 5));
        assert_eq!(c.servers.len(), 4);
        assert_eq!(c.servers[0].addrs[0].host, "zk1.example.com");
        assert_eq!(c.servers[0].addrs[0].quorum_port, 2888);
        assert_eq!(c.servers[0].addrs[0].election_port, 3888);
        assert_eq!(c.servers[1].client, Some(("0.0.0.0".to_string(), 2181)));
        assert_eq!(c.servers[2].addrs[0].host, "fd00::3");
        assert_eq!(c.servers[3].learner_type, LearnerType::Observer);
        assert_eq!(c.peer_type, LearnerType::Participant);
        assert_eq!(c.client_port, Some(2181));
        assert_eq!(
            c.metrics_provider.get("httpPort").map(String::as_str),
            Some("7000")
        );
        // Prometheus provider not applied; 3 participants: no shape warning.
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("metricsProvider.className"));
        assert_eq!(
            c.servers[2].to_string(),
            "[fd00::3]:2888:3888:participant;0.0.0.0:2181"
        );
        let lines = c.conf_lines(10, 20);
        let get = |k: &str| lines.iter().find(|(kk, _)| kk == k).unwrap().1.clone();
        assert_eq!(get("serverId"), "2");
        assert_eq!(get("electionPort"), "3888");
        assert_eq!(get("quorumPort"), "2888");
        assert_eq!(get("peerType"), "0");
        assert_eq!(get("dataDir"), format!("{}/data/version-2", dir.display()));
        assert_eq!(
            get("dataLogDir"),
            format!("{}/log/version-2", dir.display())
        );
        let m = c.membership().unwrap();
        assert!(
            m.starts_with("server.1=zk1.example.com:2888:3888:participant\n"),
            "{m}"
        );
        assert!(
            m.ends_with("server.4=zk4.example.com:2888:3888:observer\nversion=0"),
            "{m}"
        );

        // Missing myid in quorum mode is an error naming it.
        fs::remove_file(dir.join("data/myid")).unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("myid is not set"), "{e}");
        // myid not in the server list.
        fs::write(dir.join("data/myid"), "9").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("server.9"), "{e}");
        // Garbage myid.
        fs::write(dir.join("data/myid"), "two\n").unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("'two' is not a number"), "{e}");
        // initLimit required.
        fs::write(dir.join("data/myid"), "1").unwrap();
        fs::write(&path, production_cfg(&dir).replace("initLimit=10\n", "")).unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("initLimit is not set"), "{e}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn single_server_line_runs_standalone() {
        let (c, w) = p("dataDir=/nonexistent-rk\nclientPort=2181\ntickTime=2000\nserver.1=localhost:2888:3888\n").unwrap();
        assert!(!c.is_distributed());
        assert_eq!(c.servers.len(), 1);
        assert!(w[0].contains("only one server.N line"), "{w:?}");
        let e = err("dataDir=/d\nclientPort=2181\nserver.1=localhost:2888:3888:observer\n");
        assert!(e.contains("observers without participants"), "{e}");
    }

    #[test]
    fn dynamic_config_file() {
        let dir = tmpdir("dyn");
        fs::write(dir.join("myid"), "3\n").unwrap();
        let dyn_path = dir.join("zoo.cfg.dynamic.100000000");
        fs::write(
            &dyn_path,
            "server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181\n\
             server.2=127.0.0.1:2889:3889:participant;127.0.0.1:2182\n\
             server.3=127.0.0.1:2890:3890:participant;127.0.0.1:2183\n",
        )
        .unwrap();
        let cfg = format!(
            "tickTime=2000\ninitLimit=5\nsyncLimit=2\ndataDir={}\nreconfigEnabled=true\ndynamicConfigFile={}\n",
            dir.display(),
            dyn_path.display()
        );
        let (c, w) = parse(&cfg, &dir.join("zoo.cfg")).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.servers.len(), 3);
        assert_eq!(c.my_id, Some(3));
        assert_eq!(c.dynamic_config_version, Some(0x100000000));
        assert_eq!(c.client_port, Some(2183));
        assert_eq!(c.client_port_address, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(
            c.membership().unwrap().lines().last(),
            Some("version=100000000")
        );

        // version= inside the file is accepted (with a warning) and wins.
        let dyn2 = dir.join("zoo.cfg.dynamic");
        fs::write(
            &dyn2,
            "server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890;2183\nversion=2a\n",
        )
        .unwrap();
        let cfg2 = cfg.replace(&dyn_path.display().to_string(), &dyn2.display().to_string());
        let (c, w) = parse(&cfg2, &dir.join("zoo.cfg")).unwrap();
        assert_eq!(c.dynamic_config_version, Some(0x2a));
        assert_eq!(c.client_port, Some(2183));
        assert_eq!(c.client_port_address, None);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("version"));

        // server.N in the static file together with dynamicConfigFile is an error.
        let e = parse(&format!("{cfg}server.4=h:1:2\n"), &dir.join("zoo.cfg"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("server.4") && e.contains("dynamic config file"),
            "{e}"
        );
        // Unknown keys in the dynamic file are errors naming that file.
        fs::write(&dyn2, "server.1=127.0.0.1:2888:3888\ntickTime=5\n").unwrap();
        let e = parse(&cfg2, &dir.join("zoo.cfg")).unwrap_err().to_string();
        assert!(
            e.contains("zoo.cfg.dynamic:2") && e.contains("tickTime"),
            "{e}"
        );
        // A missing dynamic file is an I/O error naming it.
        fs::remove_file(&dyn2).unwrap();
        let e = parse(&cfg2, &dir.join("zoo.cfg")).unwrap_err().to_string();
        assert!(e.contains("zoo.cfg.dynamic"), "{e}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn multi_address_server_line() {
        let (c, _) = p("dataDir=/nonexistent-rk\nclientPort=1\ntickTime=2000\nmultiAddress.enabled=true\nserver.1=b:2888:3888|a:2889:3889\n").unwrap();
        let s = &c.servers[0];
        assert_eq!(s.addrs.len(), 2);
        assert_eq!(s.to_string(), "a:2889:3889|b:2888:3888:participant");
    }

    #[test]
    fn conf_lines_standalone() {
        let (c, _) = p("dataDir=/d\nclientPort=2181\ntickTime=2000\n").unwrap();
        let lines: Vec<String> = c
            .conf_lines(1, 2)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(
            lines,
            vec![
                "clientPort=2181",
                "secureClientPort=-1",
                "dataDir=/d/version-2",
                "dataDirSize=1",
                "dataLogDir=/d/version-2",
                "dataLogSize=2",
                "tickTime=2000",
                "maxClientCnxns=60",
                "minSessionTimeout=4000",
                "maxSessionTimeout=40000",
                "clientPortListenBacklog=-1",
                "serverId=0",
            ]
        );
        assert_eq!(c.membership(), None);
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest_key("ticktime"), Some("tickTime"));
        assert_eq!(suggest_key("datadir"), Some("dataDir"));
        assert_eq!(suggest_key("maxClientCnxn"), Some("maxClientCnxns"));
        assert_eq!(
            suggest_key("autopurge.purgeIntervall"),
            Some("autopurge.purgeInterval")
        );
        assert_eq!(suggest_key("completely-unrelated-thing"), None);
    }
}
