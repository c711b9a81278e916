//! `AclParser`: "scheme:id:perm[,scheme:id:perm...]", complaining on stderr about the parts it
//! skips, as zkCli does.

use ringkeeper_engine::proto::{perms, Acl, Id};

pub fn parse(s: &str) -> Vec<Acl> {
    let mut out = Vec::new();
    for a in java_split(s) {
        let (Some(first), Some(last)) = (a.find(':'), a.rfind(':')) else {
            eprintln!("{a} does not have the form scheme:id:perm");
            continue;
        };
        if first == last {
            eprintln!("{a} does not have the form scheme:id:perm");
            continue;
        }
        out.push(Acl {
            perms: perms_of(&a[last + 1..]),
            id: Id {
                scheme: a[..first].to_string(),
                id: a[first + 1..last].to_string(),
            },
        });
    }
    out
}

/// `String.split(",")`: trailing empty parts dropped, "" stays one empty part.
fn java_split(s: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(',').collect();
    if !s.is_empty() {
        while parts.last() == Some(&"") {
            parts.pop();
        }
    }
    parts
}

fn perms_of(s: &str) -> i32 {
    let mut p = 0;
    for c in s.chars() {
        match c {
            'r' => p |= perms::READ,
            'w' => p |= perms::WRITE,
            'c' => p |= perms::CREATE,
            'd' => p |= perms::DELETE,
            'a' => p |= perms::ADMIN,
            other => eprintln!("Unknown perm type: {other}"),
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_aclparser() {
        let v = parse("world:anyone:r,digest:u:h=:cdrwa,bad");
        assert_eq!(v.len(), 2);
        assert_eq!(v[0], Acl::new(perms::READ, "world", "anyone"));
        assert_eq!(v[1], Acl::new(perms::ALL, "digest", "u:h="));
    }
}
