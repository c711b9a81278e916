//! Java properties files (`java.util.Properties.load` semantics): the syntax of zoo.cfg and
//! of the dynamic config file.

use super::ConfigError;
use std::path::Path;

/// One `key=value` of a properties file, with the (1-based) line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub key: String,
    pub value: String,
    pub line: usize,
}

fn is_prop_ws(c: char) -> bool {
    c == ' ' || c == '\t' || c == '\x0c'
}

/// Parses Java properties text (java.util.Properties.load semantics).
pub fn parse_properties(text: &str, file: &Path) -> Result<Vec<Property>, ConfigError> {
    // Natural lines: \n, \r or \r\n terminated.
    let mut natural: Vec<&str> = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find(['\n', '\r']) {
            Some(i) => {
                natural.push(&rest[..i]);
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
            None => {
                natural.push(rest);
                rest = "";
            }
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < natural.len() {
        let start_line = i + 1;
        let first = natural[i].trim_start_matches(is_prop_ws);
        i += 1;
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        let mut logical = String::new();
        let mut cur = first;
        loop {
            let trailing = cur.chars().rev().take_while(|&c| c == '\\').count();
            if trailing % 2 == 1 {
                logical.push_str(&cur[..cur.len() - 1]);
                if i < natural.len() {
                    cur = natural[i].trim_start_matches(is_prop_ws);
                    i += 1;
                    continue;
                }
                break;
            }
            logical.push_str(cur);
            break;
        }
        let (raw_key, raw_value) = split_key_value(&logical);
        let key = unescape(raw_key).map_err(|m| ConfigError::Syntax {
            file: file.to_path_buf(),
            line: start_line,
            message: m,
        })?;
        let value = unescape(raw_value).map_err(|m| ConfigError::Syntax {
            file: file.to_path_buf(),
            line: start_line,
            message: m,
        })?;
        out.push(Property {
            key,
            value,
            line: start_line,
        });
    }
    Ok(out)
}

fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    let mut key_end = line.len();
    let mut has_sep = false;
    let mut value_start = line.len();
    for (idx, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' {
            key_end = idx;
            value_start = idx + 1;
            has_sep = true;
            break;
        } else if is_prop_ws(c) {
            key_end = idx;
            value_start = idx + 1;
            break;
        }
    }
    let key = &line[..key_end];
    let mut rest = line[value_start.min(line.len())..].trim_start_matches(is_prop_ws);
    if !has_sep && (rest.starts_with('=') || rest.starts_with(':')) {
        rest = rest[1..].trim_start_matches(is_prop_ws);
    }
    (key, rest)
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => {}
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let cp = (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| "Malformed \\uxxxx encoding.".to_string())?;
                out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
            }
            Some(other) => out.push(other),
        }
    }
    Ok(out)
}
