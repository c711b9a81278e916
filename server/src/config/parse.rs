//! zoo.cfg text to [`ServerConfig`]: each key through the key table, then the checks that
//! involve several keys, in QuorumPeerConfig.parseProperties order.

use super::apply::{Draft, Setting};
use super::keys::{self, Effect};
use super::properties::{parse_properties, Property};
use super::quorum::{self, parse_server_line};
use super::values::Ctx;
use super::{suggest_key, ConfigError, ServerConfig, DEFAULT_TICK_TIME_MS};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Parses zoo.cfg text. `config_path` names the file in messages; dataDir/myid and the
/// dynamic config file are read from the file system.
pub fn parse(text: &str, config_path: &Path) -> Result<(ServerConfig, Vec<String>), ConfigError> {
    let mut ctx = Ctx::new(config_path);
    let props = parse_properties(text, config_path)?;
    let last_index = last_values(&mut ctx, &props);
    let last = |key: &str| last_index.get(key).map(|&i| &props[i]);

    let mut c = ServerConfig::zoo_cfg_defaults(PathBuf::new());
    c.config_path = Some(config_path.to_path_buf());
    if let Some(p) = last("multiAddress.enabled") {
        c.multi_address_enabled = ctx.boolean(p, p.value.trim())?;
    }
    let mut d = Draft {
        c,
        data_dir: None,
        data_log_dir: None,
        client_port_address: None,
        secure_client_port_address: false,
        min_session: None,
        max_session: None,
        tick_time_set: false,
        peer_type_set: None,
        server_props: Vec::new(),
        has_dynamic: last("dynamicConfigFile").is_some(),
        admin_disabled: last("admin.enableServer")
            .is_some_and(|p| p.value.trim().eq_ignore_ascii_case("false")),
    };
    for (i, p) in props.iter().enumerate() {
        if last_index.get(p.key.trim()) == Some(&i) {
            apply_one(&mut ctx, &mut d, p)?;
        }
    }
    let c = finish(&mut ctx, d)?;
    Ok((c, ctx.warnings))
}

/// java.util.Properties keeps the last value of a repeated key: the index of each key's last
/// line, with a warning for every earlier one.
fn last_values<'p>(ctx: &mut Ctx<'_>, props: &'p [Property]) -> BTreeMap<&'p str, usize> {
    let mut last_index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, p) in props.iter().enumerate() {
        if let Some(prev) = last_index.insert(p.key.trim(), i) {
            let msg = format!(
                "{}:{}: {} is set again (first on line {}); the last value is used",
                ctx.file.display(),
                p.line,
                p.key.trim(),
                props[prev].line
            );
            ctx.warnings.push(msg);
        }
    }
    last_index
}

fn apply_one(ctx: &mut Ctx<'_>, d: &mut Draft, p: &Property) -> Result<(), ConfigError> {
    let mut key = p.key.trim();
    if let Some(stripped) = key.strip_prefix("zookeeper.") {
        if keys::lookup(stripped).is_some() && !stripped.starts_with("server.") {
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
    let setting = Setting {
        p,
        key,
        value: p.value.trim(),
    };
    match keys::lookup(key).map(|k| &k.effect) {
        Some(Effect::Apply(setter)) => setter(ctx, d, &setting),
        Some(Effect::Ignore(reason)) => {
            ctx.warn(p, format!("accepted but not applied: {reason}"));
            Ok(())
        }
        None => {
            let msg = match suggest_key(key) {
                Some(s) => format!("unknown key, kept as is; did you mean {s}?"),
                None => "unknown key, kept as is".to_string(),
            };
            ctx.warn(p, msg);
            d.c.other.insert(key.to_string(), setting.value.to_string());
            Ok(())
        }
    }
}

/// The checks and defaults that involve several keys, the server lines and myid.
fn finish(ctx: &mut Ctx<'_>, d: Draft) -> Result<ServerConfig, ConfigError> {
    let mut c = d.c;
    let data_dir = d.data_dir.ok_or_else(|| ConfigError::Missing {
        file: ctx.file.to_path_buf(),
        key: "dataDir".into(),
        reason: "it is required (snapshots, and myid in quorum mode, live there)".into(),
    })?;
    c.data_log_dir = d.data_log_dir.unwrap_or_else(|| data_dir.clone());
    c.data_dir = data_dir;

    match (c.client_port, d.client_port_address) {
        (None, Some((_, line))) => {
            return Err(ctx.invalid(format!(
                "line {line}: clientPortAddress is set but clientPort is not set"
            )))
        }
        (_, Some((ip, _))) => c.client_port_address = Some(ip),
        _ => {}
    }
    if d.secure_client_port_address && c.secure_client_port.is_none() {
        return Err(ctx.invalid("secureClientPortAddress is set but secureClientPort is not set"));
    }
    if !d.tick_time_set {
        ctx.warn_file(format!(
            "tickTime is not set; using {DEFAULT_TICK_TIME_MS} ms (ZooKeeper 3.8's default)"
        ));
    }
    c.min_session_timeout_ms = d.min_session.unwrap_or(c.tick_time_ms * 2);
    c.max_session_timeout_ms = d.max_session.unwrap_or(c.tick_time_ms * 20);
    if c.min_session_timeout_ms > c.max_session_timeout_ms {
        return Err(ctx.invalid(format!(
            "minSessionTimeout ({}) must not be larger than maxSessionTimeout ({})",
            c.min_session_timeout_ms, c.max_session_timeout_ms
        )));
    }

    // Server lines: from zoo.cfg, or from the dynamic file.
    let mut servers = Vec::new();
    for p in &d.server_props {
        servers.push(parse_server_line(ctx, p, c.multi_address_enabled)?);
    }
    if let Some(dyn_path) = c.dynamic_config_file.clone() {
        quorum::read_dynamic_file(ctx, &mut c, &dyn_path, &mut servers)?;
    }
    quorum::set_servers(ctx, &mut c, servers)?;
    quorum::read_myid(ctx, &mut c)?;
    quorum::settle_role(ctx, &mut c, d.peer_type_set)?;
    if c.raft_tick_ms == 0 || c.heartbeat_ticks == 0 || c.election_ticks <= c.heartbeat_ticks {
        return Err(ctx.invalid(format!(
            "ringkeeper.raftTickMs ({}) and ringkeeper.heartbeatTicks ({}) must be at least 1, \
             and ringkeeper.electionTicks ({}) larger than ringkeeper.heartbeatTicks",
            c.raft_tick_ms, c.heartbeat_ticks, c.election_ticks
        )));
    }

    if c.client_port.is_none() {
        ctx.warn_file("clientPort is not set: no client listener");
    }
    Ok(c)
}
