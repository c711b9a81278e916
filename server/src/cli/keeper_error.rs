//! ZooKeeper error codes as zkCli.sh prints them: `KeeperException.getMessage()` and the
//! friendlier lines of `CliWrapperException`, plus the CLI's own error type and exit codes.

use std::fmt;

/// KeeperException.Code values the CLI tells apart.
pub mod code {
    pub const OK: i32 = 0;
    pub const CONNECTION_LOSS: i32 = -4;
    pub const MARSHALLING_ERROR: i32 = -5;
    pub const BAD_ARGUMENTS: i32 = -8;
    pub const RECONFIG_IN_PROGRESS: i32 = -14;
    pub const NEW_CONFIG_NO_QUORUM: i32 = -13;
    pub const NO_NODE: i32 = -101;
    pub const NO_AUTH: i32 = -102;
    pub const BAD_VERSION: i32 = -103;
    pub const NO_CHILDREN_FOR_EPHEMERALS: i32 = -108;
    pub const NODE_EXISTS: i32 = -110;
    pub const NOT_EMPTY: i32 = -111;
    pub const SESSION_EXPIRED: i32 = -112;
    pub const INVALID_ACL: i32 = -114;
    pub const AUTH_FAILED: i32 = -115;
    pub const NOT_READ_ONLY: i32 = -119;
    pub const EPHEMERAL_ON_LOCAL_SESSION: i32 = -120;
    pub const NO_WATCHER: i32 = -121;
    pub const QUOTA_EXCEEDED: i32 = -125;
}

/// `KeeperException.getCodeMessage`.
fn code_message(c: i32) -> String {
    let m = match c {
        0 => "ok",
        -1 => "SystemError",
        -2 => "RuntimeInconsistency",
        -3 => "DataInconsistency",
        -4 => "ConnectionLoss",
        -5 => "MarshallingError",
        -13 => "NewConfigNoQuorum",
        -14 => "ReconfigInProgress",
        -6 => "Unimplemented",
        -7 => "OperationTimeout",
        -8 => "BadArguments",
        -100 => "APIError",
        -101 => "NoNode",
        -102 => "NoAuth",
        -103 => "BadVersion",
        -108 => "NoChildrenForEphemerals",
        -110 => "NodeExists",
        -114 => "InvalidACL",
        -115 => "AuthFailed",
        -111 => "Directory not empty",
        -112 => "Session expired",
        -113 => "Invalid callback",
        -118 => "Session moved",
        -119 => "Not a read-only call",
        -120 => "Ephemeral node on local session",
        -121 => "No such watcher",
        -123 => "Reconfig is disabled",
        -124 => "Session closed because client failed to authenticate",
        -125 => "Quota has exceeded",
        -127 => "Op throttled due to high load",
        other => return format!("Unknown error {other}"),
    };
    m.to_string()
}

/// A KeeperException: an error code and, usually, the client path it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeeperError {
    pub code: i32,
    pub path: Option<String>,
}

impl KeeperError {
    pub fn new(code: i32, path: &str) -> KeeperError {
        KeeperError {
            code,
            path: Some(path.to_string()),
        }
    }

    pub fn without_path(code: i32) -> KeeperError {
        KeeperError { code, path: None }
    }

    /// The line `CliWrapperException` prints for this error.
    pub fn cli_message(&self) -> String {
        let p = self.path.as_deref().unwrap_or("null");
        match self.code {
            code::NO_NODE => format!("Node does not exist: {p}"),
            code::NO_CHILDREN_FOR_EPHEMERALS => format!("Ephemerals cannot have children: {p}"),
            code::NODE_EXISTS => format!("Node already exists: {p}"),
            code::NOT_EMPTY => format!("Node not empty: {p}"),
            code::NOT_READ_ONLY => format!("Not a read-only call: {p}"),
            code::INVALID_ACL => format!("Acl is not valid : {p}"),
            code::NO_AUTH => format!("Insufficient permission : {p}"),
            code::BAD_ARGUMENTS => format!("Arguments are not valid : {p}"),
            code::BAD_VERSION => format!("version No is not valid : {p}"),
            code::RECONFIG_IN_PROGRESS => {
                "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)"
                    .to_string()
            }
            code::NEW_CONFIG_NO_QUORUM => "No quorum of new config is connected and up-to-date \
                with the leader of last commmitted config - try invoking reconfiguration after \
                new servers are connected and synced"
                .to_string(),
            code::QUOTA_EXCEEDED => format!("Quota has exceeded : {p}"),
            _ => self.to_string(),
        }
    }
}

/// `KeeperException.getMessage()`.
impl fmt::Display for KeeperError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeeperErrorCode = {}", code_message(self.code))?;
        match &self.path {
            Some(p) if !p.is_empty() => write!(f, " for {p}"),
            _ => Ok(()),
        }
    }
}

/// zkCli's exit status for a failed command (`CliException.DEFAULT_EXCEPTION_EXIT_CODE`).
pub const EXIT_ERROR: i32 = 1;
/// `CommandNotFoundException`: the shell's "command not found".
pub const EXIT_COMMAND_NOT_FOUND: i32 = 127;

/// A failed command: the line printed on stderr and the exit status it leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliError {
    pub message: String,
    pub exit_code: i32,
}

impl CliError {
    pub fn new(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            exit_code: EXIT_ERROR,
        }
    }
}

impl From<KeeperError> for CliError {
    fn from(e: KeeperError) -> CliError {
        CliError::new(e.cli_message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_zookeeper() {
        assert_eq!(
            KeeperError::new(code::NOT_EMPTY, "/a").to_string(),
            "KeeperErrorCode = Directory not empty for /a"
        );
        assert_eq!(
            KeeperError::without_path(code::INVALID_ACL).to_string(),
            "KeeperErrorCode = InvalidACL"
        );
        assert_eq!(
            KeeperError::without_path(code::INVALID_ACL).cli_message(),
            "Acl is not valid : null"
        );
        assert_eq!(
            KeeperError::new(code::BAD_VERSION, "/a").cli_message(),
            "version No is not valid : /a"
        );
        assert_eq!(
            KeeperError::new(-6, "/t").cli_message(),
            "KeeperErrorCode = Unimplemented for /t"
        );
    }
}
