//! Value parsing with ZooKeeper's rules for each kind of value, and the warnings collected
//! while a file is read.

use super::properties::Property;
use super::ConfigError;
use std::fmt;
use std::path::{Path, PathBuf};

/// The file being read and the warnings so far.
pub(super) struct Ctx<'a> {
    pub file: &'a Path,
    pub warnings: Vec<String>,
}

impl<'a> Ctx<'a> {
    pub fn new(file: &'a Path) -> Self {
        Ctx {
            file,
            warnings: Vec::new(),
        }
    }

    /// A warning about the whole file (no line).
    pub fn warn_file(&mut self, msg: impl fmt::Display) {
        self.warnings
            .push(format!("{}: {}", self.file.display(), msg));
    }

    pub fn bad(&self, p: &Property, reason: impl Into<String>) -> ConfigError {
        ConfigError::InvalidValue {
            file: self.file.to_path_buf(),
            line: p.line,
            key: p.key.clone(),
            value: p.value.clone(),
            reason: reason.into(),
        }
    }

    pub fn invalid(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_path_buf(),
            message: message.into(),
        }
    }

    pub fn warn(&mut self, p: &Property, msg: impl fmt::Display) {
        self.warnings.push(format!(
            "{}:{}: {}: {}",
            self.file.display(),
            p.line,
            p.key,
            msg
        ));
    }

    pub fn int<T: std::str::FromStr>(&self, p: &Property, v: &str) -> Result<T, ConfigError> {
        v.parse::<T>()
            .map_err(|_| self.bad(p, "expected an integer"))
    }

    /// Java Integer.decode-style: decimal, 0x/0X/# hex.
    pub fn decoded_u32(&self, p: &Property, v: &str) -> Result<u32, ConfigError> {
        let hex = v
            .strip_prefix("0x")
            .or_else(|| v.strip_prefix("0X"))
            .or_else(|| v.strip_prefix('#'));
        let r = match hex {
            Some(h) => u32::from_str_radix(h, 16).ok(),
            None => v.parse::<u32>().ok(),
        };
        r.filter(|&n| n <= i32::MAX as u32)
            .ok_or_else(|| self.bad(p, "expected a non-negative integer (decimal or 0x hex)"))
    }

    pub fn port(&self, p: &Property, v: &str) -> Result<u16, ConfigError> {
        v.parse::<u16>()
            .map_err(|_| self.bad(p, "expected a port number 0-65535"))
    }

    /// QuorumPeerConfig.parseBoolean: "true"/"false", case-insensitive.
    pub fn boolean(&self, p: &Property, v: &str) -> Result<bool, ConfigError> {
        if v.eq_ignore_ascii_case("true") {
            Ok(true)
        } else if v.eq_ignore_ascii_case("false") {
            Ok(false)
        } else {
            Err(self.bad(p, "expected true or false"))
        }
    }

    /// yes/no keys where ZooKeeper compares against one exact word (`word` => `when_word`).
    pub fn yes_no(
        &mut self,
        p: &Property,
        v: &str,
        word: &str,
        when_word: bool,
    ) -> Result<bool, ConfigError> {
        match v {
            "yes" => return Ok(true),
            "no" => return Ok(false),
            _ => {}
        }
        let lower = v.to_ascii_lowercase();
        if ["yes", "no", "true", "false"].contains(&lower.as_str()) {
            let result = !when_word;
            self.warn(
                p,
                format!(
                    "'{v}' is not exactly '{word}'; ZooKeeper treats it as {}, and so does Ringkeeper",
                    if result { "yes" } else { "no" }
                ),
            );
            return Ok(result);
        }
        Err(self.bad(p, "expected yes or no"))
    }
}

/// Relative paths resolve against the current directory, as in ZooKeeper.
pub(super) fn absolutize(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}
