//! `ringkeeper tune`: runs `ringkeeper-tune` (the tuning/ crate's program, installed beside
//! this binary) in place of this process, with this binary as the server it sweeps. The
//! tuning code stays in one program, and the server does not link the plotting and
//! progress-bar crates it would otherwise carry for one subcommand.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

const TUNE: &str = "ringkeeper-tune";

/// Only returns on failure: on success the process becomes `ringkeeper-tune`.
pub fn exec(args: Vec<OsString>) -> Result<(), String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let beside = me.parent().map(|d| d.join(TUNE));
    let program: PathBuf = match beside.filter(|p| p.is_file()) {
        Some(p) => p,
        None => std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|d| d.join(TUNE))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                format!(
                    "`ringkeeper tune` runs {TUNE}, which is neither beside {} nor on PATH; \
                     build it with `cargo build -p ringkeeper-tune` (or install it beside \
                     ringkeeper)",
                    me.display()
                )
            })?,
    };
    let err = Command::new(&program)
        .args(args)
        .env("RINGKEEPER_BIN", &me)
        .exec();
    Err(format!("cannot run {}: {err}", program.display()))
}
