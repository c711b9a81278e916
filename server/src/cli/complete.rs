//! Tab completion for the line editor, as zkCli's `JLineZNodeCompleter`: a word starting
//! with '/' completes to the children of its parent znode, any other word to a command name.

use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use super::api::Api;
use super::client::ConnState;
use super::shell::{command_names, Current};

pub struct ZkHelper {
    pub current: Current,
}

impl ZkHelper {
    fn children(&self, dir: &str) -> Vec<String> {
        let zk = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match zk {
            // Not while (re)connecting: Tab must not hang on a server that is down.
            Some(zk) if zk.state() == ConnState::Connected => Api { zk: &zk }
                .get_children(dir, false)
                .map(|(c, _)| c)
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

impl Completer for ZkHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let buffer = &line[..pos];
        let token = if buffer.ends_with(' ') {
            ""
        } else {
            buffer.rsplit(' ').next().unwrap_or("")
        };
        if token.starts_with('/') {
            let idx = token.rfind('/').map(|i| i + 1).unwrap_or(0);
            let prefix = &token[idx..];
            let dir = if idx == 1 { "/" } else { &token[..idx - 1] };
            let mut found: Vec<String> = self
                .children(dir)
                .into_iter()
                .filter(|c| c.starts_with(prefix))
                .collect();
            found.sort();
            let start = buffer.rfind('/').map(|i| i + 1).unwrap_or(pos);
            return Ok((start, found));
        }
        let found = command_names()
            .into_iter()
            .filter(|c| c.starts_with(token))
            .map(|c| format!("{c} "))
            .collect();
        Ok((pos - token.len(), found))
    }
}

impl Hinter for ZkHelper {
    type Hint = String;
}

impl Highlighter for ZkHelper {}

impl Validator for ZkHelper {}

impl Helper for ZkHelper {}
