//! The one table of zoo.cfg keys: every key ZooKeeper 3.8 knows (zoo.cfg keys, and
//! `zookeeper.*` system properties with the prefix removed) and Ringkeeper's own, each either
//! applied by a function of `apply.rs` or accepted with a warning that gives the reason. The
//! parser, the warnings and the "did you mean" suggestions all read this table.

use super::apply::{self, Setter};

/// What a key does.
pub(super) enum Effect {
    /// Parsed into the configuration.
    Apply(Setter),
    /// Accepted without being applied; the warning gives this reason.
    Ignore(&'static str),
}

pub(super) struct Key {
    pub name: &'static str,
    pub effect: Effect,
}

const fn set(name: &'static str, setter: Setter) -> Key {
    Key {
        name,
        effect: Effect::Apply(setter),
    }
}

const fn ignore(name: &'static str, reason: &'static str) -> Key {
    Key {
        name,
        effect: Effect::Ignore(reason),
    }
}

/// Exact keys.
pub(super) static KEYS: &[Key] = &[
    set("tickTime", apply::tick_time),
    set("dataDir", apply::data_dir),
    set("dataLogDir", apply::data_dir),
    set("clientPort", apply::client_port),
    set("clientPortAddress", apply::client_port_address),
    set("secureClientPort", apply::secure_client_port),
    set("secureClientPortAddress", apply::secure_client_port_address),
    set("maxClientCnxns", apply::max_cnxns),
    set("maxCnxns", apply::max_cnxns),
    set("minSessionTimeout", apply::session_timeout),
    set("maxSessionTimeout", apply::session_timeout),
    set("clientPortListenBacklog", apply::listen_backlog),
    set("initLimit", apply::tick_limit),
    set("syncLimit", apply::tick_limit),
    set("electionAlg", apply::election_alg),
    set("peerType", apply::peer_type),
    set("syncEnabled", apply::flag),
    set("quorumListenOnAllIPs", apply::flag),
    set("cnxTimeout", apply::cnx_timeout),
    set("standaloneEnabled", apply::flag),
    set("reconfigEnabled", apply::flag),
    set("dynamicConfigFile", apply::dynamic_config_file),
    set("autopurge.snapRetainCount", apply::snap_retain_count),
    set("autopurge.purgeInterval", apply::purge_interval),
    set("4lw.commands.whitelist", apply::four_letter_whitelist),
    set("extendedTypesEnabled", apply::flag),
    set("znode.container.checkIntervalMs", apply::jvm_property),
    set("znode.container.maxPerMinute", apply::jvm_property),
    set(
        "znode.container.maxNeverUsedIntervalMs",
        apply::jvm_property,
    ),
    set(
        "DigestAuthenticationProvider.superDigest",
        apply::super_digest,
    ),
    set("DigestAuthenticationProvider.enabled", apply::flag),
    set("skipACL", apply::skip_acl),
    set("jute.maxbuffer", apply::jvm_property),
    set("snapCount", apply::snap_count),
    set("snapSizeLimitInKb", apply::size_limit_kb),
    set("txnLogSizeLimitInKb", apply::size_limit_kb),
    set("preAllocSize", apply::non_negative),
    set("forceSync", apply::force_sync),
    set("fsync.warningthresholdms", apply::non_negative),
    set("globalOutstandingLimit", apply::non_negative),
    // Read before the loop: it decides how server lines parse, wherever it stands.
    set("multiAddress.enabled", apply::read_first),
    set("metricsProvider.className", apply::metrics_provider_class),
    set("admin.enableServer", apply::admin_key),
    set("admin.serverAddress", apply::admin_key),
    set("admin.serverPort", apply::admin_key),
    set("admin.commandURL", apply::admin_key),
    set("ringkeeper.shards", apply::shards),
    set("ringkeeper.pipelineCore", apply::ringkeeper_int),
    set("ringkeeper.spinBeforeParkUs", apply::ringkeeper_int),
    set("ringkeeper.raftTickMs", apply::ringkeeper_int),
    set("ringkeeper.electionTicks", apply::ringkeeper_int),
    set("ringkeeper.heartbeatTicks", apply::ringkeeper_int),
    set("ringkeeper.walDirectIo", apply::flag),
    set("ringkeeper.maxQueuedReplyBytes", apply::ringkeeper_int),
    set("ringkeeper.maxUnsentBytes", apply::ringkeeper_int),
    set("ringkeeper.maxReplyBytes", apply::ringkeeper_int),
    ignore(
        "serverCnxnFactory",
        "Ringkeeper has its own connection layer",
    ),
    ignore(
        "portUnification",
        "no port unification: TLS is served on secureClientPort only",
    ),
    ignore(
        "client.portUnification",
        "no port unification: TLS is served on secureClientPort only",
    ),
    ignore(
        "client.secure",
        "a client setting; the server serves TLS on secureClientPort",
    ),
    ignore(
        "sslQuorum",
        "quorum links are plain TCP: quorum TLS is not supported",
    ),
    ignore(
        "sslQuorumReloadCertFiles",
        "quorum links are plain TCP: quorum TLS is not supported",
    ),
    ignore(
        "observerMasterPort",
        "observer masters are not supported yet",
    ),
    ignore(
        "connectToLearnerMasterLimit",
        "observer masters are not supported yet",
    ),
    ignore(
        "observerMaster.sizeLimit",
        "observer masters are not supported yet",
    ),
    ignore(
        "quorum.cnxn.threads.size",
        "the quorum layer is not threaded this way",
    ),
    ignore("oraclePath", "oracle quorums are not supported"),
    ignore(
        "localSessionsEnabled",
        "local sessions are not supported yet",
    ),
    ignore(
        "localSessionsUpgradingEnabled",
        "local sessions are not supported yet",
    ),
    ignore("leaderServes", "the leader always serves clients"),
    ignore(
        "multiAddress.reachabilityCheckTimeoutMs",
        "no reachability checks",
    ),
    ignore(
        "multiAddress.reachabilityCheckEnabled",
        "no reachability checks",
    ),
    ignore("electionPortBindRetry", "not needed"),
    ignore("quorumCnxnTimeoutMs", "not needed"),
    ignore("tcpKeepAlive", "not needed"),
    ignore("clientTcpKeepAlive", "not needed"),
    set("readonlymode.enabled", apply::flag),
    ignore(
        "DigestAuthenticationProvider.digestAlg",
        "digest uses SHA1 as in ZooKeeper's default",
    ),
    set("X509AuthenticationProvider.superUser", apply::tls_key),
    ignore(
        "SASLAuthenticationProvider.superPassword",
        "SASL is not supported",
    ),
    ignore("superUser", "SASL is not supported"),
    ignore("allowSaslFailedClients", "SASL is not supported"),
    ignore("sessionRequireClientSASLAuth", "SASL is not supported"),
    ignore(
        "enforce.auth.enabled",
        "enforced authentication is not supported yet",
    ),
    ignore(
        "enforce.auth.schemes",
        "enforced authentication is not supported yet",
    ),
    ignore(
        "ensembleAuthName",
        "ensemble authentication is not supported",
    ),
    ignore("letAnySaslUserDoX", "SASL is not supported"),
    ignore("requireKerberosConfig", "Kerberos is not supported"),
    ignore(
        "kerberos.canonicalizeHostNames",
        "Kerberos is not supported",
    ),
    ignore(
        "kerberos.removeHostFromPrincipal",
        "Kerberos is not supported",
    ),
    ignore(
        "kerberos.removeRealmFromPrincipal",
        "Kerberos is not supported",
    ),
    ignore("security.auth_to_local", "Kerberos is not supported"),
    ignore("sasl.serverconfig", "SASL is not supported"),
    ignore("audit.enable", "audit logging is not supported yet"),
    ignore("audit.impl.class", "audit logging is not supported yet"),
    ignore("flushDelay", "the write pipeline batches by itself"),
    ignore(
        "maxWriteQueuePollTime",
        "the write pipeline batches by itself",
    ),
    ignore("maxBatchSize", "the write pipeline batches by itself"),
    ignore("intBufferStartingSizeBytes", "JVM buffer tuning"),
    ignore("forceSnapshotSync", "testing knob"),
    ignore("maxResponseCacheSize", "no response cache"),
    ignore(
        "maxGetChildrenResponseCacheSize",
        "each parent keeps its encoded child list until its children change",
    ),
    ignore(
        "netty.advancedFlowControl.enabled",
        "Ringkeeper has its own connection layer",
    ),
    ignore(
        "netty.server.outstandingHandshake.limit",
        "handshakes are bounded by maxCnxns and the sessionless-connection timeout",
    ),
    ignore(
        "netty.server.earlyDropSecureConnectionHandshakes",
        "handshakes are bounded by maxCnxns and the sessionless-connection timeout",
    ),
    ignore("learner.asyncSending", "JVM threading knob"),
    ignore("learner.closeSocketAsync", "JVM threading knob"),
    ignore("leader.closeSocketAsync", "JVM threading knob"),
    ignore("leader.ackLoggingFrequency", "logging knob"),
    ignore("leader.maxTimeToWaitForEpoch", "not supported yet"),
    ignore("leader.maxConcurrentSnapSyncs", "not supported yet"),
    ignore("leader.maxConcurrentDiffSyncs", "not supported yet"),
    ignore("leaderConnectDelayDuringRetryMs", "not supported yet"),
    ignore(
        "closeSessionTxn.enabled",
        "closeSession transactions are always used",
    ),
    ignore("digest.enabled", "tree digests are not supported yet"),
    ignore("enforceQuota", "quota enforcement is not supported yet"),
    ignore("enableEagerACLCheck", "not supported yet"),
    ignore("largeRequestMaxBytes", "not supported yet"),
    ignore("largeRequestThreshold", "not supported yet"),
    ignore("watcherCleanThreshold", "watches are removed eagerly"),
    ignore(
        "watcherCleanIntervalInSeconds",
        "watches are removed eagerly",
    ),
    ignore("watcherCleanThreadsNum", "watches are removed eagerly"),
    ignore("maxInProcessingDeadWatchers", "watches are removed eagerly"),
    ignore("bitHashCacheSize", "watches are removed eagerly"),
    ignore("watchManagerName", "Ringkeeper has one watch manager"),
    ignore(
        "nio.sessionlessCnxnTimeout",
        "Ringkeeper has its own connection layer",
    ),
    ignore("nio.numSelectorThreads", "use ringkeeper.shards"),
    ignore("nio.numWorkerThreads", "use ringkeeper.shards"),
    ignore(
        "nio.directBufferBytes",
        "Ringkeeper has its own connection layer",
    ),
    ignore(
        "nio.shutdownTimeout",
        "Ringkeeper has its own connection layer",
    ),
    ignore(
        "commitProcessor.numWorkerThreads",
        "no commit processor threads",
    ),
    ignore(
        "commitProcessor.shutdownTimeout",
        "no commit processor threads",
    ),
    ignore(
        "commitProcessor.maxReadBatchSize",
        "no commit processor threads",
    ),
    ignore(
        "commitProcessor.maxCommitBatchSize",
        "no commit processor threads",
    ),
    ignore(
        "request_throttle_max_requests",
        "request throttling is not supported yet",
    ),
    ignore(
        "request_throttle_stall_time",
        "request throttling is not supported yet",
    ),
    ignore(
        "request_throttle_drop_stale",
        "request throttling is not supported yet",
    ),
    ignore(
        "throttled_op_wait_time",
        "request throttling is not supported yet",
    ),
    ignore(
        "request_stale_connection_check",
        "request throttling is not supported yet",
    ),
    ignore(
        "request_stale_latency_check",
        "request throttling is not supported yet",
    ),
    ignore("snapshot.trust.empty", "not supported yet"),
    ignore(
        "snapshot.compression.method",
        "snapshot compression is not supported yet",
    ),
    ignore("snapshotSizeFactor", "not supported yet"),
    ignore("datadir.autocreate", "dataDir is always created"),
    ignore("db.autocreate", "dataDir is always created"),
    ignore("commitLogCount", "not supported yet"),
    ignore("observer.syncEnabled", "use syncEnabled"),
    ignore("observer.reconnectDelayMs", "not supported yet"),
    ignore("observer.election.DelayMs", "not supported yet"),
    ignore(
        "fastleader.minNotificationInterval",
        "election timing is fixed",
    ),
    ignore(
        "fastleader.maxNotificationInterval",
        "election timing is fixed",
    ),
    ignore(
        "follower.skipLearnerRequestToNextProcessor",
        "not applicable",
    ),
    ignore("messageTracker.BufferSize", "not supported"),
    ignore("messageTracker.Enabled", "not supported"),
    ignore("jmx.log4j.disable", "no JMX"),
    ignore("jmx.log4j.mbean", "no JMX"),
    ignore("emulate353TTLNodes", "not supported"),
    ignore("kinit", "Kerberos is not supported"),
    ignore("pathStats.enabled", "path statistics are not supported"),
    ignore(
        "pathStats.slotCapacity",
        "path statistics are not supported",
    ),
    ignore(
        "pathStats.slotDuration",
        "path statistics are not supported",
    ),
    ignore("pathStats.maxDepth", "path statistics are not supported"),
    ignore("pathStats.sampleRate", "path statistics are not supported"),
    ignore(
        "pathStats.initialDelay",
        "path statistics are not supported",
    ),
    ignore("pathStats.delay", "path statistics are not supported"),
    ignore("pathStats.topPathMax", "path statistics are not supported"),
];

/// Key families, matched by prefix when no exact key matches.
pub(super) static PREFIXES: &[Key] = &[
    set("server.", apply::server_line),
    set("group", apply::hierarchical),
    set("weight", apply::hierarchical),
    set("admin.", apply::admin_key),
    set("metricsProvider.", apply::metrics_provider_key),
    set("ssl.", apply::tls_key),
    ignore(
        "authProvider.",
        "pluggable auth providers are not supported; digest is built in",
    ),
    ignore("quorum.auth.", "quorum authentication is not supported yet"),
    ignore("jvm.pause.", "there is no JVM"),
];

/// The table entry for `key`: an exact key, else the first family whose prefix it has.
pub(super) fn lookup(key: &str) -> Option<&'static Key> {
    KEYS.iter()
        .find(|k| k.name == key)
        .or_else(|| PREFIXES.iter().find(|k| key.starts_with(k.name)))
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
    let (best, dist) = KEYS
        .iter()
        .map(|k| (k.name, levenshtein(key, k.name)))
        .min_by_key(|&(_, d)| d)?;
    let limit = (key.chars().count() / 3).max(2);
    (dist <= limit).then_some(best)
}
