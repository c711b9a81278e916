//! How each applied key changes the configuration being built. The key table in `keys.rs`
//! names these functions; cross-key checks run afterwards, in `parse.rs`.

use super::properties::Property;
use super::quorum::LearnerType;
use super::values::{absolutize, Ctx};
use super::{ConfigError, ServerConfig, DEFAULT_METRICS_PROVIDER, MIN_SNAP_RETAIN_COUNT};
use crate::status::settings::PROMETHEUS_PROVIDER;
use std::collections::BTreeSet;
use std::net::{IpAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

/// The configuration while its file is read: the typed fields, and what the cross-key checks
/// need to know about how they were set.
pub(super) struct Draft {
    pub c: ServerConfig,
    pub data_dir: Option<PathBuf>,
    pub data_log_dir: Option<PathBuf>,
    /// The address and the line it was set on (an error if clientPort is missing).
    pub client_port_address: Option<(IpAddr, usize)>,
    pub secure_client_port_address: bool,
    pub min_session: Option<u32>,
    pub max_session: Option<u32>,
    pub tick_time_set: bool,
    pub peer_type_set: Option<LearnerType>,
    /// `server.N` lines of zoo.cfg, parsed once multiAddress.enabled is known.
    pub server_props: Vec<Property>,
    /// dynamicConfigFile is set: server, group and weight lines belong there.
    pub has_dynamic: bool,
    /// admin.enableServer=false: the other admin.* keys are moot, no warnings for them.
    pub admin_disabled: bool,
}

/// One key=value being applied; `key` is the key as applied (a `zookeeper.` prefix removed).
pub(super) struct Setting<'a> {
    pub p: &'a Property,
    pub key: &'a str,
    pub value: &'a str,
}

pub(super) type Setter = fn(&mut Ctx<'_>, &mut Draft, &Setting<'_>) -> Result<(), ConfigError>;

type Res = Result<(), ConfigError>;

/// A path value: not empty; a relative one resolves against the current directory, as in
/// ZooKeeper, with a warning.
fn path_value(ctx: &mut Ctx<'_>, s: &Setting<'_>, what: &str) -> Result<PathBuf, ConfigError> {
    let v = s.value;
    if v.is_empty() {
        return Err(ctx.bad(s.p, format!("expected {what}")));
    }
    let path = Path::new(v);
    if path.is_relative() {
        ctx.warn(
            s.p,
            format!(
                "relative path '{v}' resolves against the current directory, not the config file's"
            ),
        );
    }
    Ok(absolutize(path))
}

pub(super) fn data_dir(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let abs = path_value(ctx, s, "a directory")?;
    if s.key == "dataDir" {
        d.data_dir = Some(abs);
    } else {
        d.data_log_dir = Some(abs);
    }
    Ok(())
}

pub(super) fn client_port(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let port = ctx.port(s.p, s.value)?;
    d.c.client_port = (port != 0).then_some(port);
    Ok(())
}

pub(super) fn client_port_address(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let v = s.value;
    let ip = match v.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => (v, 0u16)
            .to_socket_addrs()
            .ok()
            .and_then(|mut it| it.next())
            .map(|sa| sa.ip())
            .ok_or_else(|| ctx.bad(s.p, "not an IP address or resolvable host name"))?,
    };
    d.client_port_address = Some((ip, s.p.line));
    Ok(())
}

pub(super) fn secure_client_port(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let port = ctx.port(s.p, s.value)?;
    d.c.secure_client_port = (port != 0).then_some(port);
    Ok(())
}

pub(super) fn secure_client_port_address(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    d.secure_client_port_address = true;
    let v = s.value;
    let ip = v
        .parse::<IpAddr>()
        .ok()
        .or_else(|| (v, 0u16).to_socket_addrs().ok()?.next().map(|sa| sa.ip()))
        .ok_or_else(|| ctx.bad(s.p, "not an IP address or resolvable host name"))?;
    d.c.secure_client_port_address = Some(ip);
    Ok(())
}

/// `ssl.*` and `X509AuthenticationProvider.superUser`: kept as given; `crate::tls::settings`
/// checks them, applies them and warns about the ones it does not apply.
pub(super) fn tls_key(_: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    d.c.tls.insert(s.key.to_string(), s.value.to_string());
    Ok(())
}

pub(super) fn tick_time(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let t: i32 = ctx.int(s.p, s.value)?;
    if t <= 0 {
        return Err(ctx.bad(s.p, "must be a positive number of milliseconds"));
    }
    d.c.tick_time_ms = t as u32;
    d.tick_time_set = true;
    Ok(())
}

/// maxClientCnxns and maxCnxns: a negative value means unlimited, as 0 does.
pub(super) fn max_cnxns(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let n: i32 = ctx.int(s.p, s.value)?;
    let n = if n < 0 {
        ctx.warn(s.p, "negative means unlimited, as 0 does");
        0
    } else {
        n as u32
    };
    if s.key == "maxClientCnxns" {
        d.c.max_client_cnxns = n;
    } else {
        d.c.max_cnxns = n;
    }
    Ok(())
}

/// minSessionTimeout and maxSessionTimeout: -1 means the tickTime-based default.
pub(super) fn session_timeout(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let n: i32 = ctx.int(s.p, s.value)?;
    let n = match n {
        -1 => None,
        n if n >= 0 => Some(n as u32),
        _ => {
            return Err(ctx.bad(
                s.p,
                "must be a number of milliseconds (or -1 for the default)",
            ))
        }
    };
    if s.key == "minSessionTimeout" {
        d.min_session = n;
    } else {
        d.max_session = n;
    }
    Ok(())
}

pub(super) fn listen_backlog(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    d.c.client_port_listen_backlog = ctx.int(s.p, s.value)?;
    Ok(())
}

/// initLimit and syncLimit, in ticks.
pub(super) fn tick_limit(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let n: i32 = ctx.int(s.p, s.value)?;
    if n < 0 {
        return Err(ctx.bad(s.p, "must be a non-negative number of ticks"));
    }
    if s.key == "initLimit" {
        d.c.init_limit = n as u32;
    } else {
        d.c.sync_limit = n as u32;
    }
    Ok(())
}

pub(super) fn election_alg(ctx: &mut Ctx<'_>, _: &mut Draft, s: &Setting<'_>) -> Res {
    let n: i32 = ctx.int(s.p, s.value)?;
    if n != 3 {
        return Err(ctx.bad(s.p, "only electionAlg=3 is supported"));
    }
    Ok(())
}

pub(super) fn peer_type(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    d.peer_type_set = Some(match s.value.to_lowercase().as_str() {
        "observer" => LearnerType::Observer,
        "participant" => LearnerType::Participant,
        _ => return Err(ctx.bad(s.p, "expected participant or observer")),
    });
    Ok(())
}

/// The plain true/false keys (QuorumPeerConfig.parseBoolean).
pub(super) fn flag(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let b = ctx.boolean(s.p, s.value)?;
    let c = &mut d.c;
    let field = match s.key {
        "syncEnabled" => &mut c.sync_enabled,
        "quorumListenOnAllIPs" => &mut c.quorum_listen_on_all_ips,
        "standaloneEnabled" => &mut c.standalone_enabled,
        "reconfigEnabled" => &mut c.reconfig_enabled,
        "extendedTypesEnabled" => &mut c.extended_types_enabled,
        "DigestAuthenticationProvider.enabled" => &mut c.digest_enabled,
        "multiAddress.enabled" => &mut c.multi_address_enabled,
        "ringkeeper.walDirectIo" => &mut c.wal_direct_io,
        "readonlymode.enabled" => &mut c.read_only_mode,
        other => unreachable!("{other} is not a boolean key of the table"),
    };
    *field = b;
    Ok(())
}

pub(super) fn cnx_timeout(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let n: i32 = ctx.int(s.p, s.value)?;
    if n <= 0 {
        return Err(ctx.bad(s.p, "must be a positive number of milliseconds"));
    }
    d.c.cnx_timeout_ms = n as u32;
    Ok(())
}

pub(super) fn dynamic_config_file(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    d.c.dynamic_config_file = Some(path_value(ctx, s, "a file name")?);
    Ok(())
}

pub(super) fn snap_retain_count(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let n: i32 = ctx.int(s.p, s.value)?;
    d.c.autopurge_snap_retain_count = if n < MIN_SNAP_RETAIN_COUNT as i32 {
        ctx.warn(
            s.p,
            format!("{n} is below the minimum; using {MIN_SNAP_RETAIN_COUNT}"),
        );
        MIN_SNAP_RETAIN_COUNT
    } else {
        n as u32
    };
    Ok(())
}

pub(super) fn purge_interval(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let n: i32 = ctx.int(s.p, s.value)?;
    d.c.autopurge_purge_interval_hours = n.max(0) as u32;
    Ok(())
}

/// Keys read before the others because they change how other keys parse.
pub(super) fn read_first(_: &mut Ctx<'_>, _: &mut Draft, _: &Setting<'_>) -> Res {
    Ok(())
}

pub(super) fn four_letter_whitelist(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let commands = crate::fourlw::COMMANDS;
    let mut set = BTreeSet::new();
    for entry in s.value.split(',') {
        let entry = entry.trim();
        if entry == "*" {
            set.extend(commands.iter().map(|c| c.to_string()));
            break;
        }
        if entry.is_empty() {
            continue;
        }
        if !commands.contains(&entry) {
            let hint = if commands.contains(&entry.to_lowercase().as_str()) {
                " (commands are case-sensitive, as in ZooKeeper)"
            } else {
                ""
            };
            ctx.warn(
                s.p,
                format!("'{entry}' is not a four-letter word command{hint}"),
            );
        }
        set.insert(entry.to_string());
    }
    set.insert("srvr".to_string());
    d.c.four_letter_whitelist = set;
    Ok(())
}

/// Keys ZooKeeper reads only as JVM system properties; Ringkeeper applies them from zoo.cfg.
pub(super) fn jvm_property(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let c = &mut d.c;
    match s.key {
        "znode.container.checkIntervalMs" => {
            c.container_check_interval_ms = u64::from(ctx.decoded_u32(s.p, s.value)?)
        }
        "znode.container.maxPerMinute" => {
            c.container_max_per_minute = ctx.decoded_u32(s.p, s.value)?
        }
        "znode.container.maxNeverUsedIntervalMs" => {
            let n: i64 = ctx.int(s.p, s.value)?;
            if n < 0 {
                return Err(ctx.bad(s.p, "must be a non-negative number of milliseconds"));
            }
            c.container_max_never_used_interval_ms = n as u64;
        }
        "jute.maxbuffer" => c.jute_maxbuffer = ctx.decoded_u32(s.p, s.value)?,
        other => unreachable!("{other} is not a JVM property key of the table"),
    }
    ctx.warn(
        s.p,
        "ZooKeeper only honours this as a JVM system property and ignores it in zoo.cfg; Ringkeeper applies it",
    );
    Ok(())
}

pub(super) fn super_digest(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    if !s.value.contains(':') {
        return Err(ctx.bad(s.p, "expected super:<base64 SHA1 digest>"));
    }
    d.c.super_digest = Some(s.value.to_string());
    Ok(())
}

pub(super) fn skip_acl(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    d.c.skip_acl = ctx.yes_no(s.p, s.value, "yes", true)?;
    Ok(())
}

pub(super) fn force_sync(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    d.c.force_sync = ctx.yes_no(s.p, s.value, "no", false)?;
    Ok(())
}

pub(super) fn snap_count(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let n: i32 = ctx.int(s.p, s.value)?;
    d.c.snap_count = if n < 2 {
        ctx.warn(s.p, "below 2; using 2, as ZooKeeper does");
        2
    } else {
        n as u32
    };
    Ok(())
}

/// snapSizeLimitInKb and txnLogSizeLimitInKb: any integer (<= 0 or -1 turn them off).
pub(super) fn size_limit_kb(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let n: i64 = ctx.int(s.p, s.value)?;
    if s.key == "snapSizeLimitInKb" {
        d.c.snap_size_limit_kb = n;
    } else {
        d.c.txn_log_size_limit_kb = n;
    }
    Ok(())
}

/// The non-negative integer keys.
pub(super) fn non_negative(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let n: i64 = ctx.int(s.p, s.value)?;
    let what = match s.key {
        "preAllocSize" => "KiB",
        "fsync.warningthresholdms" => "milliseconds",
        _ => "requests",
    };
    if n < 0 || (s.key == "globalOutstandingLimit" && n > i64::from(i32::MAX)) {
        return Err(ctx.bad(s.p, format!("must be a non-negative number of {what}")));
    }
    let c = &mut d.c;
    match s.key {
        "preAllocSize" => c.pre_alloc_size_kb = n as u64,
        "fsync.warningthresholdms" => c.fsync_warning_threshold_ms = n as u64,
        "globalOutstandingLimit" => c.global_outstanding_limit = n as u32,
        other => unreachable!("{other} is not a non-negative key of the table"),
    }
    Ok(())
}

pub(super) fn metrics_provider_class(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    if s.value != DEFAULT_METRICS_PROVIDER && s.value != PROMETHEUS_PROVIDER {
        ctx.warn(
            s.p,
            "accepted but not applied: Ringkeeper's providers are the default (mntr) and Prometheus",
        );
    }
    d.c.metrics_provider_class = s.value.to_string();
    Ok(())
}

/// `metricsProvider.*` other than className: kept for the provider, prefix removed. The
/// Prometheus endpoint applies httpHost and httpPort (see `status::settings`).
pub(super) fn metrics_provider_key(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let name = &s.key["metricsProvider.".len()..];
    if !matches!(name, "httpHost" | "httpPort") {
        ctx.warn(s.p, "accepted but not applied");
    }
    d.c.metrics_provider
        .insert(name.to_string(), s.value.to_string());
    Ok(())
}

/// `admin.*`: kept, prefix removed, for the AdminServer (see `status::settings`); the keys
/// it does not apply are warned about unless it is disabled.
pub(super) fn admin_key(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    if s.key == "admin.enableServer" {
        ctx.boolean(s.p, s.value)?;
    }
    let applied = matches!(
        s.key,
        "admin.enableServer" | "admin.serverAddress" | "admin.serverPort" | "admin.commandURL"
    );
    if !d.admin_disabled && !applied {
        ctx.warn(s.p, "accepted but not applied");
    }
    d.c.admin
        .insert(s.key["admin.".len()..].to_string(), s.value.to_string());
    Ok(())
}

/// `server.N`: collected, parsed after the loop (multiAddress.enabled decides how).
pub(super) fn server_line(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    if d.has_dynamic {
        return Err(in_dynamic_file(ctx, s));
    }
    d.server_props.push(s.p.clone());
    Ok(())
}

/// `group*` and `weight*`: hierarchical quorums, not applied.
pub(super) fn hierarchical(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    if d.has_dynamic {
        return Err(in_dynamic_file(ctx, s));
    }
    ctx.warn(
        s.p,
        "accepted but not applied: hierarchical quorums are not supported yet",
    );
    Ok(())
}

fn in_dynamic_file(ctx: &Ctx<'_>, s: &Setting<'_>) -> ConfigError {
    ctx.bad(
        s.p,
        "must be in the separate dynamic config file (dynamicConfigFile is set)",
    )
}

pub(super) fn shards(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let n: usize = ctx.int(s.p, s.value)?;
    if n == 0 {
        return Err(ctx.bad(s.p, "must be at least 1"));
    }
    d.c.shards = n;
    Ok(())
}

/// The `ringkeeper.*` integer keys.
pub(super) fn ringkeeper_int(ctx: &mut Ctx<'_>, d: &mut Draft, s: &Setting<'_>) -> Res {
    let c = &mut d.c;
    match s.key {
        "ringkeeper.pipelineCore" => c.pipeline_core = Some(ctx.int(s.p, s.value)?),
        "ringkeeper.spinBeforeParkUs" => c.spin_before_park_us = ctx.int(s.p, s.value)?,
        "ringkeeper.raftTickMs" => c.raft_tick_ms = ctx.int(s.p, s.value)?,
        "ringkeeper.electionTicks" => c.election_ticks = ctx.int(s.p, s.value)?,
        "ringkeeper.heartbeatTicks" => c.heartbeat_ticks = ctx.int(s.p, s.value)?,
        "ringkeeper.maxQueuedReplyBytes" => c.max_queued_reply_bytes = ctx.int(s.p, s.value)?,
        "ringkeeper.maxUnsentBytes" => c.max_unsent_bytes = ctx.int(s.p, s.value)?,
        "ringkeeper.maxReplyBytes" => c.max_reply_bytes = ctx.int(s.p, s.value)?,
        other => unreachable!("{other} is not a ringkeeper integer key of the table"),
    }
    Ok(())
}
