//! Commands on watches: addWatch, removewatches.

use ringkeeper_engine::proto::add_watch_mode;

use super::api::{watcher_type_of, Api};
use super::commands::usage_of;
use super::keeper_error::CliError;
use super::line::{self, OptionSpec};

const ADD_WATCH: OptionSpec = &[('m', true)];

pub fn add_watch(api: &Api, args: &[String]) -> Result<(), CliError> {
    let p = line::parse(ADD_WATCH, args)?;
    if p.args.len() != 2 {
        return Err(CliError::new(usage_of("addWatch")));
    }
    let mode = match p.value('m').map(str::to_uppercase).as_deref() {
        None | Some("PERSISTENT_RECURSIVE") => add_watch_mode::PERSISTENT_RECURSIVE,
        Some("PERSISTENT") => add_watch_mode::PERSISTENT,
        Some(_) => return Err(CliError::new(usage_of("addWatch"))),
    };
    api.add_watch(&p.args[1], mode)?;
    Ok(())
}

const REMOVE_WATCHES: OptionSpec = &[('c', false), ('d', false), ('a', false), ('l', false)];

pub fn removewatches(api: &Api, args: &[String]) -> Result<(), CliError> {
    let p = line::parse(REMOVE_WATCHES, args)?;
    if p.args.len() < 2 {
        return Err(CliError::new(usage_of("removewatches")));
    }
    let wtype = watcher_type_of(p.has('c'), p.has('d'));
    api.remove_watches(&p.args[1], wtype, p.has('l'))?;
    Ok(())
}
