//! Client-side path checks (`PathUtils.validatePath`) and the chroot of a connect string,
//! with ZooKeeper's exact messages: zkCli prints them for a malformed path.

/// `PathUtils.validatePath(path, isSequential)`: a sequential path may end in '/'.
pub fn validate(path: &str, sequential: bool) -> Result<(), String> {
    if sequential {
        validate_path(&format!("{path}1"))
    } else {
        validate_path(path)
    }
}

fn validate_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("Path length must be > 0".into());
    }
    let chars: Vec<char> = path.chars().collect();
    if chars[0] != '/' {
        return Err("Path must start with / character".into());
    }
    if chars.len() == 1 {
        return Ok(());
    }
    if chars[chars.len() - 1] == '/' {
        return Err("Path must not end with / character".into());
    }
    let mut reason = None;
    let mut lastc = '/';
    for i in 1..chars.len() {
        let c = chars[i];
        if c == '\0' {
            reason = Some(format!("null character not allowed @{i}"));
        } else if c == '/' && lastc == '/' {
            reason = Some(format!("empty node name specified @{i}"));
        } else if c == '.' && lastc == '.' {
            if chars[i - 2] == '/' && (i + 1 == chars.len() || chars[i + 1] == '/') {
                reason = Some(format!("relative paths not allowed @{i}"));
            }
        } else if c == '.' {
            if chars[i - 1] == '/' && (i + 1 == chars.len() || chars[i + 1] == '/') {
                reason = Some(format!("relative paths not allowed @{i}"));
            }
        } else if ('\u{1}'..='\u{1f}').contains(&c)
            || ('\u{7f}'..='\u{9f}').contains(&c)
            || ('\u{e000}'..='\u{f8ff}').contains(&c)
            || ('\u{fff0}'..='\u{ffff}').contains(&c)
            || (c as u32) > 0xffff
        {
            // Java looks at UTF-16 units: surrogates (any char above U+FFFF) are refused.
            reason = Some(format!("invalid character @{i}"));
        }
        if reason.is_some() {
            break;
        }
        lastc = c;
    }
    match reason {
        Some(r) => Err(format!("Invalid path string \"{path}\" caused by {r}")),
        None => Ok(()),
    }
}

/// Where the client's tree starts on the server (`-server host:port/chroot`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chroot(Option<String>);

impl Chroot {
    /// `ConnectStringParser`: a chroot of "/" is none; any other is checked like a path.
    pub fn new(chroot: Option<&str>) -> Result<Chroot, String> {
        match chroot {
            None | Some("/") => Ok(Chroot(None)),
            Some(c) => {
                let c = c.strip_suffix('/').unwrap_or(c);
                validate(c, false)?;
                Ok(Chroot(Some(c.to_string())))
            }
        }
    }

    /// `ZooKeeper.prependChroot`.
    pub fn to_server(&self, client_path: &str) -> String {
        match &self.0 {
            None => client_path.to_string(),
            Some(c) if client_path == "/" => c.clone(),
            Some(c) => format!("{c}{client_path}"),
        }
    }

    /// The client's view of a path the server sent (`ClientCnxn.stripChroot`); a path
    /// outside the chroot is left as it is.
    pub fn to_client(&self, server_path: &str) -> String {
        match &self.0 {
            None => server_path.to_string(),
            Some(c) if server_path == c => "/".to_string(),
            Some(c) => match server_path.strip_prefix(c.as_str()) {
                Some(rest) if rest.starts_with('/') => rest.to_string(),
                _ => server_path.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_pathutils() {
        assert_eq!(
            validate("bad", false).unwrap_err(),
            "Path must start with / character"
        );
        assert_eq!(
            validate("/a/", false).unwrap_err(),
            "Path must not end with / character"
        );
        assert!(validate("/a/", true).is_ok());
        assert_eq!(
            validate("/a//b", false).unwrap_err(),
            "Invalid path string \"/a//b\" caused by empty node name specified @3"
        );
        assert_eq!(
            validate("/a/./b", false).unwrap_err(),
            "Invalid path string \"/a/./b\" caused by relative paths not allowed @3"
        );
        assert_eq!(
            validate("/a/../b", false).unwrap_err(),
            "Invalid path string \"/a/../b\" caused by relative paths not allowed @4"
        );
        assert!(validate("/a.b/..c", false).is_ok());
        assert!(validate("/", false).is_ok());
    }

    #[test]
    fn chroot_maps_both_ways() {
        let c = Chroot::new(Some("/app")).unwrap();
        assert_eq!(c.to_server("/"), "/app");
        assert_eq!(c.to_server("/x"), "/app/x");
        assert_eq!(c.to_client("/app"), "/");
        assert_eq!(c.to_client("/app/x"), "/x");
        assert_eq!(c.to_client("/apple"), "/apple");
        assert_eq!(Chroot::new(Some("/")).unwrap(), Chroot::default());
    }
}
