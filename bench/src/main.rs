//! `ringkeeper-bench`: see `ringkeeper_bench` for how the load is driven.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use ringkeeper_bench::cli::Args;
use ringkeeper_bench::compare::Comparison;
use ringkeeper_bench::error::Result;
use ringkeeper_bench::{run, setup, RunReport};

fn main() -> ExitCode {
    let args = Args::parse();
    match real_main(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ringkeeper-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main(args: &Args) -> Result<ExitCode> {
    if let Some(pair) = &args.compare {
        let labels: Vec<String> = match args.label.split_once(',') {
            Some((a, b)) => vec![a.to_string(), b.to_string()],
            None => vec![format!("A {}", pair[0]), format!("B {}", pair[1])],
        };
        let mut reports = Vec::new();
        for (addr, label) in pair.iter().zip(labels) {
            eprintln!("running against {addr} ({label})");
            reports.push(run(&args.config(vec![addr.clone()], label)?)?);
        }
        let b = reports.pop().expect("two runs");
        let a = reports.pop().expect("two runs");
        let failed = lost_everything(&a) || lost_everything(&b);
        let cmp = Comparison::new(a, b);
        emit(
            args,
            &cmp.table(),
            &serde_json::to_string_pretty(&cmp).expect("serialize"),
        )?;
        return Ok(if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
    let cfg = args.config(args.servers.clone(), args.label.clone())?;
    if args.setup_only {
        let existed = setup::setup(&cfg.servers[0], &cfg.workload)?;
        eprintln!(
            "created {} keys ({existed} existed already)",
            cfg.workload.keys - existed
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.cleanup_only {
        setup::cleanup(&cfg.servers[0], cfg.workload.keys)?;
        return Ok(ExitCode::SUCCESS);
    }
    let report = run(&cfg)?;
    emit(
        args,
        &report.table(),
        &serde_json::to_string_pretty(&report).expect("serialize"),
    )?;
    if lost_everything(&report) {
        eprintln!("ringkeeper-bench: every session lost its connection");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn lost_everything(r: &RunReport) -> bool {
    r.connection_losses.len() >= r.sessions
}

/// Prints the table (to stderr when JSON goes to stdout) and writes the JSON.
fn emit(args: &Args, table: &str, json: &str) -> Result<()> {
    match args.json.as_deref() {
        Some(p) if p.as_os_str() == "-" => {
            eprint!("{table}");
            println!("{json}");
        }
        Some(p) => {
            print!("{table}");
            std::fs::File::create(p)?.write_all(format!("{json}\n").as_bytes())?;
        }
        None => print!("{table}"),
    }
    Ok(())
}
