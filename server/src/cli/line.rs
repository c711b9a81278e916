//! Turning what the user typed into a command: `ZooKeeperMain.MyCommandOptions.parseCommand`
//! (words, with '...' or "..." quoting) and the option rules of Apache Commons CLI's
//! `DefaultParser`, which every zkCli command uses, with its error texts.

use std::collections::HashMap;

use super::keeper_error::CliError;

/// Splits a line as `ARGS_PATTERN = \s*([^"']\S*|"[^"]*"|'[^']*')\s*` does, and strips the
/// quotes of a quoted word. An unmatched quote character is skipped, as the regex skips it.
pub fn split_words(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' {
            match chars[i + 1..].iter().position(|&x| x == c) {
                Some(len) => {
                    words.push(chars[i + 1..i + 1 + len].iter().collect());
                    i += len + 2;
                }
                None => i += 1,
            }
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() {
                i += 1;
            }
            words.push(chars[start..i].iter().collect());
        }
    }
    words
}

/// One command's options: a letter, and whether it takes a value.
pub type OptionSpec = &'static [(char, bool)];

/// The outcome of parsing: options seen (with their values) and the other words, the
/// command's own name first.
#[derive(Debug, Default)]
pub struct Parsed {
    options: HashMap<char, Option<String>>,
    pub args: Vec<String>,
}

impl Parsed {
    pub fn has(&self, opt: char) -> bool {
        self.options.contains_key(&opt)
    }

    pub fn value(&self, opt: char) -> Option<&str> {
        self.options.get(&opt).and_then(|v| v.as_deref())
    }
}

fn unrecognized(token: &str) -> CliError {
    CliError::new(format!(
        "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: {token}"
    ))
}

fn missing_argument(opt: char) -> CliError {
    CliError::new(format!(
        "org.apache.commons.cli.MissingArgumentException: Missing argument for option: {opt}"
    ))
}

fn takes_value(spec: OptionSpec, c: char) -> Option<bool> {
    spec.iter().find(|(o, _)| *o == c).map(|(_, v)| *v)
}

/// Is `token` an option of `spec` (`DefaultParser.isShortOption`)? A value of an option is
/// any word that is not one.
fn is_option(spec: OptionSpec, token: &str) -> bool {
    let mut chars = token.chars();
    if chars.next() != Some('-') {
        return false;
    }
    match chars.next() {
        Some(c) => takes_value(spec, c).is_some(),
        None => false,
    }
}

/// Commons CLI `DefaultParser.parse(options, args)` without long options: options may come
/// anywhere, `-sw` sets both flags, `-v3` and `-v 3` give a value, `--` ends the options.
pub fn parse(spec: OptionSpec, args: &[String]) -> Result<Parsed, CliError> {
    let mut out = Parsed::default();
    let mut wants_value: Option<char> = None;
    let mut only_args = false;
    for token in args {
        if only_args {
            out.args.push(token.clone());
            continue;
        }
        if token == "--" {
            if let Some(opt) = wants_value.take() {
                return Err(missing_argument(opt));
            }
            only_args = true;
            continue;
        }
        if let Some(opt) = wants_value {
            if !is_option(spec, token) {
                out.options.insert(opt, Some(token.clone()));
                wants_value = None;
                continue;
            }
            return Err(missing_argument(opt));
        }
        if token.starts_with("--") {
            return Err(unrecognized(token));
        }
        if token.len() > 1 && token.starts_with('-') {
            let letters: Vec<char> = token[1..].chars().collect();
            for (i, &c) in letters.iter().enumerate() {
                match takes_value(spec, c) {
                    None => return Err(unrecognized(token)),
                    Some(false) => {
                        out.options.insert(c, None);
                    }
                    Some(true) => {
                        let rest: String = letters[i + 1..].iter().collect();
                        if rest.is_empty() {
                            wants_value = Some(c);
                        } else {
                            out.options.insert(c, Some(rest));
                        }
                        break;
                    }
                }
            }
            continue;
        }
        out.args.push(token.clone());
    }
    if let Some(opt) = wants_value {
        return Err(missing_argument(opt));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        split_words(s)
    }

    #[test]
    fn splits_like_zkcli() {
        assert_eq!(words("  ls  -s /a "), ["ls", "-s", "/a"]);
        assert_eq!(
            words("set /a \"hello world\""),
            ["set", "/a", "hello world"]
        );
        assert_eq!(words("set /a 'x y' z"), ["set", "/a", "x y", "z"]);
        assert_eq!(words("set /a \"open"), ["set", "/a", "open"]);
        assert!(words("   ").is_empty());
    }

    const SPEC: OptionSpec = &[('s', false), ('w', false), ('v', true)];

    fn p(s: &str) -> Result<Parsed, CliError> {
        parse(SPEC, &words(s))
    }

    #[test]
    fn options_like_commons_cli() {
        let r = p("get -sw /a").unwrap();
        assert!(r.has('s') && r.has('w'));
        assert_eq!(r.args, ["get", "/a"]);
        let r = p("set /a -v3 x").unwrap();
        assert_eq!(r.value('v'), Some("3"));
        assert_eq!(r.args, ["set", "/a", "x"]);
        let r = p("set -v 3 /a x").unwrap();
        assert_eq!(r.value('v'), Some("3"));
        let r = p("set /a -- -x").unwrap();
        assert_eq!(r.args, ["set", "/a", "-x"]);
        assert_eq!(
            p("ls -x /").unwrap_err().message,
            "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x"
        );
        assert_eq!(
            p("set /a x -v").unwrap_err().message,
            "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"
        );
        assert_eq!(
            p("set -v -s /a x").unwrap_err().message,
            "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v"
        );
        assert!(p("set /a -1").is_err());
    }
}
