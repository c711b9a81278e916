//! `ringkeeper cli`: a command-line client that behaves as Apache ZooKeeper 3.8's zkCli.sh
//! (`ZooKeeperMain`): the same options, commands, output lines, error messages and exit
//! codes, on a blocking client built on the engine's jute codec.
//!
//! Files: `client` (the session) and `connection` (its connection thread), `connect_string` and `path`
//! (what the Java client checks locally), `watches` (the client's watch records), `event`
//! (printing watch events), `api` (the ZooKeeper API calls), `line` (words and options),
//! `commands` with `cmd_*` (the commands), `format` and `acl_parser` (zkCli's texts),
//! `shell` (the command loop), `complete` (tab completion).

mod acl_parser;
mod api;
mod client;
mod cmd_acl;
mod cmd_nodes;
mod cmd_session;
mod cmd_watch;
mod commands;
mod complete;
mod connect_string;
mod connection;
mod event;
mod format;
mod keeper_error;
mod line;
mod path;
mod shell;
mod watches;

use std::io::{BufRead, IsTerminal};
use std::time::{Duration, Instant};

use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Editor};

use complete::ZkHelper;
use shell::{Next, Shell};

/// Lines the interactive history keeps.
const HISTORY_LINES: usize = 1000;
/// How long the first prompt waits for the first connection.
const FIRST_PROMPT_WAIT_MS: i32 = 2000;

/// The options zkCli reads before the command (`MyCommandOptions.parseOptions`).
struct Options {
    server: String,
    timeout_ms: i32,
    wait_for_connection: bool,
    command: Vec<String>,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        server: "localhost:2181".into(),
        timeout_ms: 30000,
        wait_for_connection: false,
        command: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(opt) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("Error: no argument found for option {opt}"))
        };
        match opt.as_str() {
            "-server" => o.server = value()?,
            "-timeout" => {
                let v = value()?;
                o.timeout_ms = v
                    .parse()
                    .map_err(|_| format!("For input string: \"{v}\""))?;
            }
            // -r (read-only) and -client-configuration are accepted and have no effect:
            // a standalone Ringkeeper is never read-only, and the CLI has no TLS or SASL.
            "-client-configuration" => {
                value()?;
            }
            "-waitforconnection" => o.wait_for_connection = true,
            _ => {}
        }
        if !opt.starts_with('-') {
            o.command.push(opt.clone());
            o.command.extend(it.cloned());
            break;
        }
    }
    Ok(o)
}

/// Runs the CLI with the arguments after `ringkeeper cli`; returns the exit status.
pub fn main(args: &[String]) -> i32 {
    let opts = match parse_options(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    println!("Connecting to {}", opts.server);
    let mut shell = Shell::new(&opts.server, opts.timeout_ms);
    if let Err(e) = shell.connect(&opts.server) {
        eprintln!("{}", e.message);
        return 1;
    }
    if opts.wait_for_connection && !wait_connected(&shell, opts.timeout_ms) {
        shell.finish();
        eprintln!("java.io.IOException: org.apache.zookeeper.KeeperException$ConnectionLossException: KeeperErrorCode = ConnectionLoss");
        return 1;
    }
    if !opts.command.is_empty() {
        // One command from the arguments, words as given (no quote handling).
        shell.process(&opts.command);
    } else if std::io::stdin().is_terminal() {
        println!("Welcome to ZooKeeper!");
        println!("JLine support is enabled");
        interactive(&mut shell);
    } else {
        println!("Welcome to ZooKeeper!");
        println!("JLine support is disabled");
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if shell.execute_line(&line) == Next::Quit {
                break;
            }
        }
    }
    shell.finish();
    shell.exit_code
}

fn wait_connected(shell: &Shell, timeout_ms: i32) -> bool {
    let deadline = Instant::now() + Duration::from_millis(timeout_ms.max(0) as u64);
    while Instant::now() < deadline {
        if shell.zk().map(|z| z.state()) == Some(client::ConnState::Connected) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn interactive(shell: &mut Shell) {
    let config = Config::builder()
        .max_history_size(HISTORY_LINES)
        .map(|b| b.auto_add_history(false).build())
        .unwrap_or_default();
    let mut editor: Editor<ZkHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("line editor: {e}");
            return;
        }
    };
    editor.set_helper(Some(ZkHelper {
        current: shell.current.clone(),
    }));
    // The first prompt shows the state: give the first connection a moment (zkCli.sh
    // shows CONNECTING and prints the connection event under it). Events so far are printed
    // before the first prompt; later ones above the prompt.
    wait_connected(shell, FIRST_PROMPT_WAIT_MS);
    shell.printer.flush();
    if std::io::stdout().is_terminal() {
        if let Ok(p) = editor.create_external_printer() {
            shell.printer.print_above_prompt(Box::new(p));
        }
    }
    loop {
        match editor.readline(&shell.prompt()) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                if shell.execute_line(&line) == Next::Quit {
                    return;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(_) => return,
        }
    }
}
