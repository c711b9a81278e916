//! `ZooKeeperMain`: the command loop around the commands, with zkCli's own commands
//! (connect, history, redo, printwatches, quit), its usage text, prompt and exit codes.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use super::api::Api;
use super::client::Client;
use super::commands::{self, COMMANDS};
use super::connect_string;
use super::event::EventPrinter;
use super::keeper_error::{CliError, EXIT_COMMAND_NOT_FOUND};
use super::line::split_words;

/// The shell's own commands and their option strings (`ZooKeeperMain.commandMap`).
const SHELL_COMMANDS: &[(&str, &str)] = &[
    ("connect", "host:port"),
    ("history", ""),
    ("redo", "cmdno"),
    ("printwatches", "on|off"),
    ("quit", ""),
];

/// Lines `history` and `redo` can reach back to; older ones are forgotten (zkCli.sh keeps
/// all of a session's lines).
const HISTORY_KEPT: i32 = 100_000;

/// The live session, shared with the line editor's completer.
pub type Current = Arc<Mutex<Option<Arc<Client>>>>;

/// What the loop should do after a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Continue,
    Quit,
}

pub struct Shell {
    pub current: Current,
    pub host: String,
    timeout_ms: i32,
    pub printer: EventPrinter,
    history: HashMap<i32, String>,
    pub command_count: i32,
    pub exit_code: i32,
}

/// Every command name, sorted as Java sorts strings (upper case first).
pub fn command_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = COMMANDS
        .iter()
        .map(|c| c.name)
        .chain(SHELL_COMMANDS.iter().map(|(n, _)| *n))
        .collect();
    names.sort();
    names
}

fn options_of(name: &str) -> &'static str {
    SHELL_COMMANDS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, o)| *o)
        .or_else(|| commands::find(name).map(|c| c.options))
        .unwrap_or("")
}

/// `ZooKeeperMain.usage()`, on stderr.
fn usage() {
    let mut text = String::from(
        "ZooKeeper -server host:port -client-configuration properties-file cmd args\n",
    );
    for name in command_names() {
        text.push_str(&format!("\t{name} {}\n", options_of(name)));
    }
    eprint!("{text}");
}

impl Shell {
    pub fn new(host: &str, timeout_ms: i32) -> Shell {
        Shell {
            current: Arc::new(Mutex::new(None)),
            host: host.to_string(),
            timeout_ms,
            printer: EventPrinter::start(),
            history: HashMap::new(),
            command_count: 0,
            exit_code: 0,
        }
    }

    pub fn zk(&self) -> Option<Arc<Client>> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `connectToZK`: closes a live session first, then starts a new one.
    pub fn connect(&mut self, host: &str) -> Result<(), CliError> {
        if let Some(old) = self.zk() {
            if old.state().is_alive() {
                old.close();
            }
        }
        self.host = host.to_string();
        let cs = connect_string::parse(host).map_err(CliError::new)?;
        let client = Client::open(&cs, self.timeout_ms, self.printer.sink());
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(client));
        Ok(())
    }

    /// `getPrompt()`.
    pub fn prompt(&self) -> String {
        let state = self.zk().map(|z| z.state().name()).unwrap_or("CLOSED");
        format!("[zk: {}({}) {}] ", self.host, state, self.command_count)
    }

    /// `executeLine`: one line typed or read from stdin.
    pub fn execute_line(&mut self, line: &str) -> Next {
        if line.is_empty() {
            return Next::Continue;
        }
        let words = split_words(line);
        if words.is_empty() {
            return Next::Continue;
        }
        self.history.insert(self.command_count, line.to_string());
        self.history.remove(&(self.command_count - HISTORY_KEPT));
        let next = self.process(&words);
        self.command_count += 1;
        next
    }

    /// `processCmd`: runs a command, prints its error, keeps its exit code.
    pub fn process(&mut self, words: &[String]) -> Next {
        match self.process_zk_cmd(words) {
            Ok(next) => {
                if next == Next::Continue {
                    self.exit_code = 0;
                }
                next
            }
            Err(e) => {
                self.exit_code = e.exit_code;
                eprintln!("{}", e.message);
                Next::Continue
            }
        }
    }

    fn process_zk_cmd(&mut self, words: &[String]) -> Result<Next, CliError> {
        let Some(cmd) = words.first() else {
            usage();
            return Err(CliError::new("No command entered"));
        };
        let known = commands::find(cmd).is_some() || SHELL_COMMANDS.iter().any(|(n, _)| n == cmd);
        if !known {
            usage();
            return Err(CliError {
                message: format!("Command not found: Command not found {cmd}"),
                exit_code: EXIT_COMMAND_NOT_FOUND,
            });
        }
        match cmd.as_str() {
            "quit" => {
                if let Some(zk) = self.zk() {
                    zk.close();
                }
                return Ok(Next::Quit);
            }
            "redo" if words.len() >= 2 => {
                let i = java_decode(&words[1])?;
                if self.command_count <= i || i < 0 {
                    return Err(CliError::new("Command index out of range"));
                }
                let line = self.history.get(&i).cloned().unwrap_or_default();
                let again = split_words(&line);
                if again.first().map(String::as_str) == Some("redo") {
                    return Err(CliError::new("No redoing redos"));
                }
                self.history.insert(self.command_count, line);
                if self.process(&again) == Next::Quit {
                    return Ok(Next::Quit);
                }
            }
            "history" => {
                for i in (self.command_count - 10).max(0)..=self.command_count {
                    let line = self.history.get(&i).map(String::as_str).unwrap_or("null");
                    println!("{i} - {line}");
                }
            }
            "printwatches" => {
                let print = &self.printer.print;
                if words.len() == 1 {
                    let on = print.load(Ordering::Relaxed);
                    println!("printwatches is {}", if on { "on" } else { "off" });
                } else {
                    // Events that came before the switch are printed (or not) as the setting
                    // they came under says, however far behind the event thread is.
                    self.printer.flush();
                    print.store(words[1] == "on", Ordering::Relaxed);
                }
            }
            "connect" => {
                let host = words.get(1).cloned().unwrap_or_else(|| self.host.clone());
                self.connect(&host)?;
            }
            _ => {}
        }
        // Below, commands need a live session.
        let zk = match self.zk() {
            Some(zk) if zk.state().is_alive() => zk,
            _ => {
                println!("Not connected");
                return Ok(Next::Continue);
            }
        };
        if let Some(def) = commands::find(cmd) {
            (def.exec)(&Api { zk: &zk }, words)?;
        }
        Ok(Next::Continue)
    }

    /// Leaves as zkCli.sh does (`System.exit`): pending events printed, the session left
    /// to expire on the server.
    pub fn finish(&self) {
        self.printer.flush();
        if let Some(zk) = self.zk() {
            zk.abandon();
        }
    }
}

/// `Integer.decode`: decimal, 0x/0X/# hex, leading-0 octal, with a sign.
fn java_decode(s: &str) -> Result<i32, CliError> {
    let bad = || {
        CliError::new(format!(
            "java.lang.NumberFormatException: For input string: \"{s}\""
        ))
    };
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, h)
    } else if let Some(h) = body.strip_prefix('#') {
        (16, h)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    let v = i64::from_str_radix(digits, radix).map_err(|_| bad())?;
    let v = if neg { -v } else { v };
    i32::try_from(v).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_like_java() {
        assert_eq!(java_decode("12").unwrap(), 12);
        assert_eq!(java_decode("0x1f").unwrap(), 31);
        assert_eq!(java_decode("010").unwrap(), 8);
        assert_eq!(java_decode("-3").unwrap(), -3);
        assert!(java_decode("x").is_err());
    }

    #[test]
    fn usage_order_is_javas() {
        let names = command_names();
        let add_watch = names.iter().position(|n| *n == "addWatch").unwrap();
        let addauth = names.iter().position(|n| *n == "addauth").unwrap();
        assert!(add_watch < addauth);
    }
}
