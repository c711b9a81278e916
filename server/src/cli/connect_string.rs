//! `host:port[,host:port...][/chroot]`, read as `ConnectStringParser` reads it.

use super::path::Chroot;

pub const DEFAULT_PORT: u16 = 2181;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectString {
    /// "host:port" each, in the order given: the CLI tries them in this order (the Java
    /// client shuffles them).
    pub hosts: Vec<String>,
    pub chroot: Chroot,
}

pub fn parse(s: &str) -> Result<ConnectString, String> {
    let (hosts_part, chroot) = match s.find('/') {
        Some(i) => (&s[..i], Some(&s[i..])),
        None => (s, None),
    };
    let chroot = Chroot::new(chroot)?;
    let mut hosts = Vec::new();
    for h in hosts_part
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        // "[::1]:2181", "host:2181", "host" (default port)
        let has_port = match h.rfind(':') {
            Some(i) => !h.starts_with('[') || h[..i].ends_with(']'),
            None => false,
        };
        if has_port {
            hosts.push(h.to_string());
        } else {
            hosts.push(format!("{h}:{DEFAULT_PORT}"));
        }
    }
    if hosts.is_empty() {
        return Err("A HostProvider may not be empty!".into());
    }
    Ok(ConnectString { hosts, chroot })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_chroot() {
        let c = parse("a:1,b/app").unwrap();
        assert_eq!(c.hosts, ["a:1", "b:2181"]);
        assert_eq!(c.chroot.to_server("/x"), "/app/x");
        let c = parse("[::1]:5,[::1]").unwrap();
        assert_eq!(c.hosts, ["[::1]:5", "[::1]:2181"]);
        assert!(parse("a:1/bad//x").is_err());
        assert!(parse("").is_err());
    }
}
