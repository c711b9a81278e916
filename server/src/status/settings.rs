//! The operator endpoints' settings, read from zoo.cfg's `admin.*` and `metricsProvider.*`
//! keys (which the config module keeps, prefix removed) with ZooKeeper 3.8's defaults.

use crate::config::ServerConfig;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The class name that turns the Prometheus endpoint on, as in ZooKeeper.
pub const PROMETHEUS_PROVIDER: &str =
    "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider";

#[derive(Debug, Clone, PartialEq)]
pub struct AdminSettings {
    /// `admin.enableServer` (default true).
    pub enabled: bool,
    /// `admin.serverAddress` (default 0.0.0.0) and `admin.serverPort` (default 8080).
    pub listen: SocketAddr,
    /// `admin.commandURL` (default `/commands`).
    pub command_url: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSettings {
    /// `metricsProvider.className` names the Prometheus provider.
    pub enabled: bool,
    /// `metricsProvider.httpHost` (default 0.0.0.0) and `metricsProvider.httpPort` (7000).
    pub listen: SocketAddr,
}

fn addr(v: Option<&String>, key: &str) -> Result<IpAddr, String> {
    match v.map(|s| s.trim()) {
        None | Some("") => Ok(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        Some(s) => s
            .parse()
            .map_err(|_| format!("{key}={s}: not an IP address")),
    }
}

fn port(v: Option<&String>, key: &str, default: u16) -> Result<u16, String> {
    match v.map(|s| s.trim()) {
        None | Some("") => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| format!("{key}={s}: not a port number")),
    }
}

pub fn admin(c: &ServerConfig) -> Result<AdminSettings, String> {
    let enabled = c
        .admin
        .get("enableServer")
        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"));
    let ip = addr(c.admin.get("serverAddress"), "admin.serverAddress")?;
    let port = port(c.admin.get("serverPort"), "admin.serverPort", 8080)?;
    let command_url = c
        .admin
        .get("commandURL")
        .map_or("/commands", |s| s.trim())
        .trim_end_matches('/')
        .to_string();
    if !command_url.starts_with('/') {
        return Err(format!("admin.commandURL={command_url}: must start with /"));
    }
    Ok(AdminSettings {
        enabled,
        listen: SocketAddr::new(ip, port),
        command_url,
    })
}

pub fn metrics(c: &ServerConfig) -> Result<MetricsSettings, String> {
    let enabled = c.metrics_provider_class.trim() == PROMETHEUS_PROVIDER;
    let ip = addr(
        c.metrics_provider.get("httpHost"),
        "metricsProvider.httpHost",
    )?;
    let port = port(
        c.metrics_provider.get("httpPort"),
        "metricsProvider.httpPort",
        7000,
    )?;
    Ok(MetricsSettings {
        enabled,
        listen: SocketAddr::new(ip, port),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> ServerConfig {
        crate::config::parse(
            &format!("dataDir=/tmp/x\nclientPort=2181\n{text}"),
            std::path::Path::new("zoo.cfg"),
        )
        .unwrap()
        .0
    }

    #[test]
    fn defaults_are_zookeepers() {
        let c = cfg("");
        let a = admin(&c).unwrap();
        assert!(a.enabled);
        assert_eq!(a.listen, "0.0.0.0:8080".parse::<SocketAddr>().unwrap());
        assert_eq!(a.command_url, "/commands");
        let m = metrics(&c).unwrap();
        assert!(!m.enabled);
        assert_eq!(m.listen, "0.0.0.0:7000".parse::<SocketAddr>().unwrap());
    }

    #[test]
    fn keys_apply() {
        let c = cfg("admin.enableServer=false\nadmin.serverAddress=127.0.0.1\n\
                     admin.serverPort=9090\nadmin.commandURL=/cmds/\n\
                     metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n\
                     metricsProvider.httpPort=7071\nmetricsProvider.httpHost=127.0.0.1\n");
        let a = admin(&c).unwrap();
        assert!(!a.enabled);
        assert_eq!(a.listen, "127.0.0.1:9090".parse::<SocketAddr>().unwrap());
        assert_eq!(a.command_url, "/cmds");
        let m = metrics(&c).unwrap();
        assert!(m.enabled);
        assert_eq!(m.listen, "127.0.0.1:7071".parse::<SocketAddr>().unwrap());
        let bad = cfg("admin.serverPort=http\n");
        assert!(admin(&bad).unwrap_err().contains("admin.serverPort"));
    }
}
