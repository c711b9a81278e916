//! Commands on the session and the ensemble: config, close.

use super::api::Api;
use super::format;
use super::keeper_error::CliError;
use super::line::{self, OptionSpec};

const CONFIG: OptionSpec = &[('s', false), ('w', false), ('c', false)];

pub fn config(api: &Api, args: &[String]) -> Result<(), CliError> {
    let p = line::parse(CONFIG, args)?;
    let (data, stat) = api.get_config(p.has('w'))?;
    let text = match data.as_option() {
        Some(b) => String::from_utf8_lossy(b).into_owned(),
        None => "null".to_string(),
    };
    if p.has('c') {
        println!("{}", client_config(&text));
    } else {
        println!("{text}");
    }
    if p.has('s') {
        let mut out = String::new();
        format::stat(&mut out, &stat);
        print!("{out}");
    }
    Ok(())
}

/// `ConfigUtils.getClientConfigStr`: "version host:port,host:port" from the dynamic
/// config's `server.N=...;[clientHost:]clientPort` lines.
fn client_config(text: &str) -> String {
    let mut version = "";
    let mut servers = Vec::new();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k == "version" {
            version = v;
        }
        if !k.starts_with("server.") {
            continue;
        }
        if let Some((_, client)) = v.split_once(';') {
            match client.rsplit_once(':') {
                Some((host, port)) => servers.push(format!("{host}:{port}")),
                None => servers.push(format!("0.0.0.0:{client}")),
            }
        }
    }
    format!("{version} {}", servers.join(","))
}

pub fn close(api: &Api, _args: &[String]) -> Result<(), CliError> {
    api.zk.close();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_config_string() {
        let cfg = "server.1=a:2888:3888:participant;127.0.0.1:2181\nversion=100000000";
        assert_eq!(client_config(cfg), "100000000 127.0.0.1:2181");
        assert_eq!(client_config(""), " ");
    }
}
