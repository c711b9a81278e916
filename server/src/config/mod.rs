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
//!
//! The module's files: `properties` (the file syntax), `keys` (the one table of keys),
//! `apply` (what each applied key does), `values` (value syntax and warnings), `quorum`
//! (server lines, myid, roles), `parse` (the order of it all), `server_config` (the typed
//! result and its defaults), `conf_lines` (what `conf` prints).

mod apply;
mod conf_lines;
mod error;
mod keys;
mod parse;
mod properties;
mod quorum;
mod server_config;
mod values;

pub use error::ConfigError;
pub use keys::suggest_key;
pub use parse::parse;
pub use quorum::{delimited_host, LearnerType, QuorumAddr, ServerLine};
pub use server_config::*;

use std::path::Path;

/// Reads and parses a zoo.cfg file (and the dynamic file it names, and dataDir/myid).
pub fn load(path: &Path) -> Result<(ServerConfig, Vec<String>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

#[cfg(test)]
mod tests;
