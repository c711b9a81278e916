//! Path rules of `org.apache.zookeeper.common.PathUtils`, applied where ZooKeeper applies them.

/// Why a path is invalid, as PathUtils words it.
pub fn validate_path(path: &str) -> Result<(), &'static str> {
    let bytes = path.as_bytes();
    if bytes.is_empty() {
        return Err("Path length must be > 0");
    }
    if bytes[0] != b'/' {
        return Err("Path must start with / character");
    }
    if bytes.len() == 1 {
        return Ok(());
    }
    if bytes[bytes.len() - 1] == b'/' {
        return Err("Path must not end with / character");
    }
    for segment in path[1..].split('/') {
        if segment.is_empty() {
            return Err("empty node name specified");
        }
        if segment == "." || segment == ".." {
            return Err("relative paths not allowed");
        }
    }
    for c in path.chars() {
        let u = c as u32;
        let bad = u == 0
            || (1..=0x1f).contains(&u)
            || (0x7f..=0x9f).contains(&u)
            || (0xd800..=0xf8ff).contains(&u)
            // Java sees characters above the BMP as surrogate pairs, which are invalid too.
            || u >= 0xfff0;
        if bad {
            return Err("invalid character");
        }
    }
    Ok(())
}

/// The parent part of a path as ZooKeeper computes it: everything before the last '/'.
/// For "/a" that is "", which names the root.
pub fn parent_of(path: &str) -> Option<&str> {
    path.rfind('/').map(|i| &path[..i])
}

/// The last segment of a path.
pub fn name_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// Is `path` equal to `prefix` or below it?
pub fn is_at_or_below(path: &str, prefix: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    path == prefix || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rules_match_path_utils() {
        for ok in ["/", "/a", "/a/b", "/a.b", "/...", "/a/.x", "/zookeeper"] {
            assert_eq!(validate_path(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "a",
            "/a/",
            "//",
            "/a//b",
            "/.",
            "/..",
            "/a/./b",
            "/a/..",
            "/a\u{0}",
            "/\u{1}",
            "/\u{e000}",
            "/\u{1F600}",
        ] {
            assert!(validate_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parents() {
        assert_eq!(parent_of("/a"), Some(""));
        assert_eq!(parent_of("/a/b"), Some("/a"));
        assert_eq!(parent_of("abc"), None);
        assert_eq!(name_of("/a/b"), "b");
        assert!(is_at_or_below("/a/b", "/a"));
        assert!(!is_at_or_below("/ab", "/a"));
        assert!(is_at_or_below("/a", "/"));
    }
}
