//! Four-letter words: which commands exist, how a connection names one, the whitelist, and
//! what each command needs from the server.
//!
//! A connection whose first four bytes, read as a big-endian int, match a command is a 4lw
//! connection: the server answers with [`super::fourlw::render`] (or [`not_whitelisted`]) and closes.
//! `stmk` reads 8 more bytes (the new trace mask, a big-endian long) before answering.
//!
//! The version line reads `Zookeeper version: 3.8.4-ringkeeper-<crate version>, built on
//! 2026-01-01 00:00 UTC`: the same shape as ZooKeeper 3.8's `3.8.4-<git hash>, built on
//! <yyyy-MM-dd HH:mm> UTC`, so tools that take the leading `x.y.z` see 3.8.4.

use super::snapshot::Need;
use std::collections::BTreeSet;

/// Every four-letter word ZooKeeper 3.8 knows (besides the telnet close sequence), then
/// ClickHouse Keeper's [`REQUEST_LEADERSHIP`]. `4lw.commands.whitelist=*` enables them all.
pub const COMMANDS: &[&str] = &[
    "ruok",
    "srvr",
    "stat",
    "conf",
    "cons",
    "crst",
    "srst",
    "dump",
    "envi",
    "mntr",
    "wchs",
    "wchc",
    "wchp",
    "isro",
    "dirs",
    "gtmk",
    "stmk",
    "hash",
    REQUEST_LEADERSHIP,
];

/// ClickHouse Keeper's `rqld`: this server asks to become the leader. The pipeline answers it
/// (the ensemble member lives there) with [`leadership_request_answer`].
pub const REQUEST_LEADERSHIP: &str = "rqld";

/// ClickHouse Keeper's answers to `rqld` (RequestLeaderCommand::run, no newline): sent when
/// the request went to the leader or this server leads already, failed otherwise.
pub fn leadership_request_answer(sent: bool) -> &'static str {
    if sent {
        "Sent leadership request to leader."
    } else {
        "Failed to send leadership request to leader."
    }
}

/// Telnet's interrupt-process sequence (IAC IP IAC DO, 0xfff4fffd): ZooKeeper closes the
/// connection without an answer. [`command_from_u32`] returns this name for it.
pub const TELNET_CLOSE: &str = "telnet close";

/// What every command but ruok/envi/gtmk/stmk answers when the server is not serving.
pub const ZK_NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";

/// ZooTrace's default mask: CLIENT_REQUEST | SERVER_PACKET | SESSION | WARNING.
pub const DEFAULT_TRACE_MASK: i64 = 306;

/// The ZooKeeper release whose behaviour Ringkeeper reproduces.
pub const ZK_VERSION: &str = "3.8.4";
/// Fixed build date printed in the version line (reproducible builds).
pub const BUILD_DATE: &str = "2026-01-01 00:00 UTC";

/// `3.8.4-ringkeeper-<crate version>, built on 2026-01-01 00:00 UTC`.
pub fn full_version() -> String {
    format!(
        "{ZK_VERSION}-ringkeeper-{}, built on {BUILD_DATE}",
        env!("CARGO_PKG_VERSION")
    )
}

/// The command named by the first four bytes of a connection (as a big-endian int).
pub fn command_from_u32(word: i32) -> Option<&'static str> {
    if word as u32 == 0xfff4_fffd {
        return Some(TELNET_CLOSE);
    }
    let bytes = word.to_be_bytes();
    COMMANDS.iter().copied().find(|c| c.as_bytes() == bytes)
}

/// Whether `cmd` may run: exact (case-sensitive) membership, as in ZooKeeper. The config
/// module puts `srvr` in every whitelist and expands `*`.
pub fn is_allowed(cmd: &str, whitelist: &BTreeSet<String>) -> bool {
    whitelist.contains(cmd)
}

/// ZooKeeper's answer to a command that is not whitelisted.
pub fn not_whitelisted(cmd: &str) -> String {
    format!("{cmd} is not executed because it is not in the whitelist.\n")
}

/// Commands the connection's shard answers itself: they read nothing of the server's state
/// but isro's serving and read-only flags, which the pipeline publishes on every tick
/// (ZooKeeper answers them without its request pipeline too).
pub fn answered_by_shard(cmd: &str) -> bool {
    matches!(
        cmd,
        "ruok" | "isro" | "gtmk" | "stmk" | "envi" | TELNET_CLOSE
    )
}

/// What the pipeline must collect for `cmd`. Disk and /proc figures are gathered after, off
/// the pipeline core (see [`super::host`]).
pub fn need_of(cmd: &str) -> Need {
    match cmd {
        "stat" | "cons" | "crst" => Need::CONNECTIONS,
        "dump" => Need::SESSIONS | Need::CONNECTIONS,
        "wchs" | "wchc" | "wchp" => Need::WATCHES,
        "mntr" => Need::WATCH_COUNT,
        _ => Need::NONE,
    }
}
