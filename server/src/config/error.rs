//! The configuration error type: every message names the file, and the line, key and value
//! where they are known.

use std::path::PathBuf;

/// A configuration error. Display names the file, and where a line is known the line, the key
/// and the value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", .file.display())]
    Syntax {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}:{line}: invalid value '{value}' for {key}: {reason}", .file.display())]
    InvalidValue {
        file: PathBuf,
        line: usize,
        key: String,
        value: String,
        reason: String,
    },
    #[error("{}: {key} is not set: {reason}", .file.display())]
    Missing {
        file: PathBuf,
        key: String,
        reason: String,
    },
    #[error("{}: {message}", .file.display())]
    Invalid { file: PathBuf, message: String },
}
