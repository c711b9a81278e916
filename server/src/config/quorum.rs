//! The quorum part of the configuration: `server.N` lines (from zoo.cfg or the dynamic config
//! file), the shape of the quorum, and this server's `myid` and role.

use super::properties::{parse_properties, Property};
use super::values::Ctx;
use super::{ConfigError, ServerConfig};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

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

/// QuorumServer.delimitedHostString: an IPv6 host in brackets.
pub fn delimited_host(host: &str) -> String {
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

pub(super) fn parse_server_line(
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
pub(super) fn version_from_filename(path: &Path) -> Option<u64> {
    let name = path.to_str()?;
    let dot = name.rfind('.')?;
    u64::from_str_radix(&name[dot + 1..], 16).ok()
}

/// A myid whose session ids would read as TTL owners. Session ids carry the low 8 bits of the
/// myid in their top byte, and a top byte of 0xFF marks a TTL znode's owner: ephemerals of such
/// a server would be taken for TTL znodes. ZooKeeper refuses myid 255 and above only with
/// extendedTypesEnabled (`EphemeralType.MAX_EXTENDED_SERVER_ID`); Ringkeeper refuses any myid
/// whose low 8 bits are 255, and above 254 with extended types, rather than lose ephemerals.
pub(super) fn unusable_server_id(id: u64, extended_types_enabled: bool) -> Option<String> {
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

/// Reads the dynamic config file: its `server.N` lines go to `servers`, `version=` (or the
/// file name's suffix) to `c.dynamic_config_version`.
pub(super) fn read_dynamic_file(
    ctx: &mut Ctx<'_>,
    c: &mut ServerConfig,
    dyn_path: &Path,
    servers: &mut Vec<ServerLine>,
) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(dyn_path).map_err(|source| ConfigError::Io {
        path: dyn_path.to_path_buf(),
        source,
    })?;
    let mut dctx = Ctx::new(dyn_path);
    c.dynamic_config_version = version_from_filename(dyn_path);
    for p in parse_properties(&text, dyn_path)? {
        let key = p.key.trim();
        let v = p.value.trim();
        if key.starts_with("server.") {
            servers.push(parse_server_line(&dctx, &p, c.multi_address_enabled)?);
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
    Ok(())
}

/// Sorts the server lines, refuses duplicate ids, and checks the quorum's shape as
/// QuorumPeerConfig.parseDynamicConfig does.
pub(super) fn set_servers(
    ctx: &mut Ctx<'_>,
    c: &mut ServerConfig,
    mut servers: Vec<ServerLine>,
) -> Result<(), ConfigError> {
    servers.sort_by_key(|s| s.id);
    for w in servers.windows(2) {
        if w[0].id == w[1].id {
            return Err(ctx.invalid(format!("server.{} is defined more than once", w[0].id)));
        }
    }
    c.servers = servers;
    let file = ctx.file.display().to_string();
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
            "{file}: only one server.N line; running standalone (as ZooKeeper does with standaloneEnabled=true)"
        ));
    } else if participants <= 2 {
        ctx.warnings.push(format!(
            "{file}: {participants} voting servers: no server failure will be tolerated; you need at least 3"
        ));
    } else if participants & 1 == 0 {
        ctx.warnings.push(format!(
            "{file}: {participants} voting servers: consider an odd number"
        ));
    }
    Ok(())
}

/// Reads `dataDir/myid` when it exists (QuorumPeerConfig.setupMyId).
pub(super) fn read_myid(ctx: &mut Ctx<'_>, c: &mut ServerConfig) -> Result<(), ConfigError> {
    let myid_path = c.data_dir.join("myid");
    if !myid_path.is_file() {
        return Ok(());
    }
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
    Ok(())
}

/// In quorum mode: initLimit, syncLimit and myid are required, and this server's own line
/// decides its client address (setupClientPort) and its role (setupPeerType). Standalone, the
/// role is `peerType`'s.
pub(super) fn settle_role(
    ctx: &mut Ctx<'_>,
    c: &mut ServerConfig,
    peer_type_set: Option<LearnerType>,
) -> Result<(), ConfigError> {
    if !c.is_distributed() {
        c.peer_type = peer_type_set.unwrap_or_default();
        return Ok(());
    }
    let missing = |key: &str, reason: String| ConfigError::Missing {
        file: ctx.file.to_path_buf(),
        key: key.into(),
        reason,
    };
    if c.init_limit == 0 {
        return Err(missing("initLimit", "it is required in quorum mode".into()));
    }
    if c.sync_limit == 0 {
        return Err(missing("syncLimit", "it is required in quorum mode".into()));
    }
    let Some(my_id) = c.my_id else {
        let myid_path = c.data_dir.join("myid");
        return Err(missing(
            "myid",
            format!("quorum mode needs {}", myid_path.display()),
        ));
    };
    let me = c
        .servers
        .iter()
        .find(|s| s.id == my_id)
        .cloned()
        .ok_or_else(|| ctx.invalid(format!("myid {my_id} has no server.{my_id} line")))?;
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
    if let Some(pt) = peer_type_set {
        if pt != me.learner_type {
            ctx.warnings.push(format!(
                "{}: peerType ({pt:?}) does not match server.{my_id} ({:?}); using the server list",
                ctx.file.display(),
                me.learner_type
            ));
        }
    }
    c.peer_type = me.learner_type;
    Ok(())
}
