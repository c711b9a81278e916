//! The table of zkCli commands that talk to the server (`CommandFactory`), each with the
//! option string its usage line shows. The shell's own commands (history, redo, ...) are in
//! `shell.rs`.

use super::api::Api;
use super::keeper_error::CliError;
use super::{cmd_acl, cmd_nodes, cmd_session, cmd_watch};

pub type Exec = fn(&Api, &[String]) -> Result<(), CliError>;

pub struct CommandDef {
    pub name: &'static str,
    pub options: &'static str,
    pub exec: Exec,
}

impl CommandDef {
    /// `CliCommand.getUsageStr()`.
    pub fn usage(&self) -> String {
        format!("{} {}", self.name, self.options)
    }
}

pub const ADD_WATCH_OPTIONS: &str = "[-m mode] path # optional mode is one of \
    [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE";

pub const COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "close",
        options: "",
        exec: cmd_session::close,
    },
    CommandDef {
        name: "create",
        options: "[-s] [-e] [-c] [-t ttl] path [data] [acl]",
        exec: cmd_nodes::create,
    },
    CommandDef {
        name: "delete",
        options: "[-v version] path",
        exec: cmd_nodes::delete,
    },
    CommandDef {
        name: "deleteall",
        options: "path [-b batch size]",
        exec: cmd_nodes::deleteall,
    },
    CommandDef {
        name: "set",
        options: "[-s] [-v version] path data",
        exec: cmd_nodes::set,
    },
    CommandDef {
        name: "get",
        options: "[-s] [-w] path",
        exec: cmd_nodes::get,
    },
    CommandDef {
        name: "ls",
        options: "[-s] [-w] [-R] path",
        exec: cmd_nodes::ls,
    },
    CommandDef {
        name: "getAcl",
        options: "[-s] path",
        exec: cmd_acl::get_acl,
    },
    CommandDef {
        name: "setAcl",
        options: "[-s] [-v version] [-R] path acl",
        exec: cmd_acl::set_acl,
    },
    CommandDef {
        name: "stat",
        options: "[-w] path",
        exec: cmd_nodes::stat,
    },
    CommandDef {
        name: "sync",
        options: "path",
        exec: cmd_nodes::sync,
    },
    CommandDef {
        name: "addauth",
        options: "scheme auth",
        exec: cmd_acl::addauth,
    },
    CommandDef {
        name: "config",
        options: "[-c] [-w] [-s]",
        exec: cmd_session::config,
    },
    CommandDef {
        name: "removewatches",
        options: "path [-c|-d|-a] [-l]",
        exec: cmd_watch::removewatches,
    },
    CommandDef {
        name: "getEphemerals",
        options: "path",
        exec: cmd_nodes::get_ephemerals,
    },
    CommandDef {
        name: "getAllChildrenNumber",
        options: "path",
        exec: cmd_nodes::get_all_children_number,
    },
    CommandDef {
        name: "addWatch",
        options: ADD_WATCH_OPTIONS,
        exec: cmd_watch::add_watch,
    },
    CommandDef {
        name: "whoami",
        options: "",
        exec: cmd_acl::whoami,
    },
];

pub fn find(name: &str) -> Option<&'static CommandDef> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// The usage line of a command by name (for its parse errors).
pub fn usage_of(name: &str) -> String {
    find(name).map(CommandDef::usage).unwrap_or_default()
}

/// `Integer.parseInt` as the commands use it for versions; zkCli dies with the exception
/// here, the CLI reports it as a failed command.
pub fn parse_int(s: &str) -> Result<i32, CliError> {
    s.parse::<i32>().map_err(|_| {
        CliError::new(format!(
            "java.lang.NumberFormatException: For input string: \"{s}\""
        ))
    })
}
