//! The four-letter words' command table, kept at this path for the config module's
//! whitelist; the status model lives in `status/`.

pub use crate::status::words::COMMANDS;
