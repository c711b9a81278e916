//! `ringkeeper-tune`: see `ringkeeper_tune` and the README.

use std::process::ExitCode;

use clap::Parser;
use ringkeeper_tune::cli::Args;
use ringkeeper_tune::tune;

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(e) = tune::install_interrupt_handler() {
        eprintln!("ringkeeper-tune: {e}");
        return ExitCode::FAILURE;
    }
    match tune::run(&args) {
        Ok(report) => {
            println!(
                "report written to {} (report.md, recommended.cfg, plots) in {:.0} s",
                args.out.display(),
                report.elapsed_secs
            );
            if report.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "ringkeeper-tune: {} point(s) failed; see the report",
                    report.failures.len()
                );
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("ringkeeper-tune: {e}");
            ExitCode::FAILURE
        }
    }
}
