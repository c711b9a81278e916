//! The settings the engine needs, already parsed and validated by the server.

#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub server_id: i64,
    pub tick_time_ms: i64,
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    /// `extendedTypesEnabled`: TTL znodes.
    pub extended_types_enabled: bool,
    /// `zookeeper.skipACL`.
    pub skip_acl: bool,
    /// `DigestAuthenticationProvider.enabled`.
    pub digest_enabled: bool,
    /// `DigestAuthenticationProvider.superDigest`, e.g. `super:D/InIHSb7yEEbrWz8b9l71RjZJU=`.
    pub super_digest: Option<String>,
    pub container_check_interval_ms: i64,
    pub container_max_per_minute: i64,
    pub container_max_never_used_interval_ms: i64,
    pub reconfig_enabled: bool,
    /// The server's connection shards keep and fire the watches (see `Output::Watch` and
    /// `Output::TxnApplied`); the engine keeps none.
    pub watches_at_shards: bool,
    /// The largest reply the server sends (`ringkeeper.maxReplyBytes`): a multiRead whose
    /// reply would be larger closes its connection instead.
    pub max_reply_bytes: usize,
    /// The `x509` scheme is registered (ZooKeeper registers X509AuthenticationProvider when
    /// a secure client port is configured): `x509:` ACLs are valid and authenticated.
    pub x509_enabled: bool,
    /// An ensemble's membership (`server.N=...` lines and `version=`), which every member's
    /// `/zookeeper/config` holds from start-up, as ZooKeeper's initConfigInZKDatabase sets
    /// it (stat version -1, mzxid 0, mtime the start-up time); None standalone.
    pub membership: Option<Vec<u8>>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            server_id: 1,
            tick_time_ms: 2000,
            min_session_timeout_ms: 4000,
            max_session_timeout_ms: 40000,
            extended_types_enabled: false,
            skip_acl: false,
            digest_enabled: true,
            super_digest: None,
            container_check_interval_ms: 60_000,
            container_max_per_minute: 10_000,
            container_max_never_used_interval_ms: 0,
            reconfig_enabled: false,
            watches_at_shards: false,
            max_reply_bytes: crate::limits::MAX_REPLY_BYTES_DEFAULT,
            x509_enabled: false,
            membership: None,
        }
    }
}
