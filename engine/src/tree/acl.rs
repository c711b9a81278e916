//! ACL checks and fix-up, after ZooKeeper's `ZooKeeperServer.checkACL`, `PrepRequestProcessor
//! .fixupACL` and the ip and digest authentication providers.

use crate::proto::{perms, Acl, ErrorCode, Id};
use base64::Engine as _;
use sha1::{Digest, Sha1};
use std::collections::HashMap;

/// The stored digest id for `user:password`: `user:` + Base64(SHA-1("user:password")).
pub fn digest_id(auth: &str) -> String {
    let user = auth.split(':').next().unwrap_or("");
    let hash = Sha1::digest(auth.as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

/// Java's `String.split(":")`: trailing empty strings are dropped.
fn java_split_colon(s: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(':').collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts == [""] {
        parts.clear();
    }
    parts
}

/// Parses an IPv4 address, as IPAuthenticationProvider does (IPv6 is not supported in 3.8).
fn parse_ipv4(s: &str) -> Option<u32> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut v: u32 = 0;
    for p in parts {
        let b: u8 = p.parse().ok()?;
        v = (v << 8) | b as u32;
    }
    Some(v)
}

/// Splits `a.b.c.d/bits` into address and prefix length.
fn parse_cidr(s: &str) -> Option<(u32, u32)> {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok()?),
        None => (s, 32),
    };
    if bits > 32 {
        return None;
    }
    Some((parse_ipv4(addr)?, bits))
}

fn ip_matches(client: &str, acl_id: &str) -> bool {
    let (Some(c), Some((net, bits))) = (parse_ipv4(client), parse_cidr(acl_id)) else {
        return false;
    };
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    c & mask == net & mask
}

/// The authentication providers registered besides `ip` (ZooKeeper's ProviderRegistry).
#[derive(Clone, Copy, Debug)]
pub struct Providers {
    /// DigestAuthenticationProvider.enabled.
    pub digest: bool,
    /// X509AuthenticationProvider, registered when a secure client port is configured.
    pub x509: bool,
}

impl From<bool> for Providers {
    /// Only digest's setting given: x509 is not registered.
    fn from(digest: bool) -> Providers {
        Providers {
            digest,
            x509: false,
        }
    }
}

/// Is `id` valid for its scheme? Unknown schemes (and unregistered ones) are not.
pub fn is_valid_id(id: &Id, providers: impl Into<Providers>) -> bool {
    let providers = providers.into();
    match id.scheme.as_str() {
        "ip" => parse_cidr(&id.id).is_some(),
        "digest" => providers.digest && java_split_colon(&id.id).len() == 2,
        "x509" => providers.x509 && is_distinguished_name(&id.id),
        _ => false,
    }
}

/// Roughly what `new X500Principal(id)` accepts: empty, or `type=value` parts separated by
/// unescaped commas, each with a non-empty type.
fn is_distinguished_name(id: &str) -> bool {
    if id.is_empty() {
        return true;
    }
    let mut parts = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, c) in id.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' | ';' | '+' => {
                parts.push(&id[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&id[start..]);
    parts
        .iter()
        .all(|p| p.split_once('=').is_some_and(|(t, _)| !t.trim().is_empty()))
}

/// Does the provider of `scheme` count as authenticated (so `auth` ACLs expand to it)?
fn is_authenticated(scheme: &str) -> bool {
    scheme == "digest" || scheme == "x509"
}

/// fixupACL: validate, expand `auth`, drop duplicates. Errors are INVALIDACL.
pub fn fixup_acl(
    acl: &[Acl],
    auth: &[Id],
    providers: impl Into<Providers>,
) -> Result<Vec<Acl>, ErrorCode> {
    let providers = providers.into();
    if acl.is_empty() {
        return Err(ErrorCode::InvalidAcl);
    }
    let mut deduped: Vec<Acl> = Vec::with_capacity(acl.len());
    for a in acl {
        if !deduped.contains(a) {
            deduped.push(a.clone());
        }
    }
    let mut out: Vec<Acl> = Vec::with_capacity(deduped.len());
    for a in deduped {
        if a.id.scheme == "world" && a.id.id == "anyone" {
            out.push(a);
        } else if a.id.scheme == "auth" {
            let mut any = false;
            let ordered = java_hash_set_order(auth);
            for cid in ordered
                .into_iter()
                .filter(|cid| is_authenticated(&cid.scheme))
            {
                let expanded = Acl {
                    perms: a.perms,
                    id: cid.clone(),
                };
                if !out.contains(&expanded) {
                    out.push(expanded);
                }
                any = true;
            }
            if !any {
                return Err(ErrorCode::InvalidAcl);
            }
        } else if is_valid_id(&a.id, providers) {
            out.push(a);
        } else {
            return Err(ErrorCode::InvalidAcl);
        }
    }
    Ok(out)
}

/// checkACL: does any entry grant any bit of `perm` to one of the caller's ids?
pub fn check_acl(acl: &[Acl], perm: i32, auth: &[Id], skip_acl: bool) -> Result<(), ErrorCode> {
    if skip_acl || acl.is_empty() || auth.iter().any(|id| id.scheme == "super") {
        return Ok(());
    }
    for a in acl.iter().filter(|a| a.perms & perm != 0) {
        if a.id.scheme == "world" && a.id.id == "anyone" {
            return Ok(());
        }
        for cid in auth.iter().filter(|cid| cid.scheme == a.id.scheme) {
            let matches = match a.id.scheme.as_str() {
                "ip" => ip_matches(&cid.id, &a.id.id),
                // X509AuthenticationProvider.matches: the whole subject, as given.
                "digest" | "x509" => cid.id == a.id.id,
                _ => false,
            };
            if matches {
                return Ok(());
            }
        }
    }
    Err(ErrorCode::NoAuth)
}

/// getACL without ADMIN: digest ids come back as `user:x`.
pub fn mask_digests(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|a| {
            if a.id.scheme == "digest" {
                let user = a.id.id.split(':').next().unwrap_or("");
                Acl {
                    perms: a.perms,
                    id: Id {
                        scheme: "digest".into(),
                        id: format!("{user}:x"),
                    },
                }
            } else {
                a.clone()
            }
        })
        .collect()
}

/// Java's `String.hashCode`, over UTF-16 units.
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(u as i32))
}

/// The jute-generated `Id.hashCode`.
fn java_id_hash(id: &Id) -> i32 {
    let r = 17i32
        .wrapping_mul(37)
        .wrapping_add(java_string_hash(&id.scheme));
    r.wrapping_mul(37).wrapping_add(java_string_hash(&id.id))
}

/// The order a Java `HashSet<Id>` iterates the given ids in (inserted in slice order):
/// by bucket of the spread hash, then by insertion. ZooKeeper keeps a connection's auth ids
/// in such a set, so whoAmI and the expansion of `auth` ACLs come out in this order.
pub fn java_hash_set_order(ids: &[Id]) -> Vec<&Id> {
    let mut capacity = 16usize;
    while ids.len() * 4 > capacity * 3 {
        capacity *= 2;
    }
    let bucket = |id: &Id| {
        let h = java_id_hash(id) as u32;
        ((h ^ (h >> 16)) as usize) & (capacity - 1)
    };
    let mut order: Vec<(usize, usize, &Id)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (bucket(id), i, id))
        .collect();
    order.sort_by_key(|(b, i, _)| (*b, *i));
    order.into_iter().map(|(_, _, id)| id).collect()
}

/// Interned ACL lists: znodes hold a small index instead of their own copy, and each list
/// counts the znodes using it, as ZooKeeper's ReferenceCountedACLCache does. A list whose
/// last znode went (deleted, or moved to another list by setACL) is freed and its index
/// reused, so unique digest or ip ACLs do not pile up for good. Indexes are local to one
/// tree: txns carry whole ACL lists, and a snapshot writes the lists its nodes use.
#[derive(Default, Clone)]
pub struct AclCache {
    /// By index; `None` for a freed slot.
    lists: Vec<Option<Vec<Acl>>>,
    /// Znodes using each list.
    usages: Vec<u64>,
    index: HashMap<Vec<Acl>, u32>,
    /// Freed indexes, reused first.
    free: Vec<u32>,
}

impl AclCache {
    /// The index of `acl`, adding the list (with no usages yet) if it is new. A list left
    /// without usages stays until `purge_unused`: snapshot loading interns every list first.
    pub fn intern(&mut self, acl: &[Acl]) -> u32 {
        if let Some(&i) = self.index.get(acl) {
            return i;
        }
        let i = match self.free.pop() {
            Some(i) => {
                self.lists[i as usize] = Some(acl.to_vec());
                i
            }
            None => {
                let i =
                    u32::try_from(self.lists.len()).expect("fewer than 2^32 distinct ACL lists");
                self.lists.push(Some(acl.to_vec()));
                self.usages.push(0);
                i
            }
        };
        self.index.insert(acl.to_vec(), i);
        i
    }

    /// A znode starts using `acl`: its index, with one more usage.
    pub fn add_usage(&mut self, acl: &[Acl]) -> u32 {
        let i = self.intern(acl);
        self.add_usage_of(i);
        i
    }

    /// A znode starts using the list at index `i`.
    pub fn add_usage_of(&mut self, i: u32) {
        assert!(self.is_live(i), "ACL index {i} is not in the cache");
        self.usages[i as usize] += 1;
    }

    /// A znode stops using the list at index `i`; the last usage frees it.
    pub fn remove_usage(&mut self, i: u32) {
        let usages = &mut self.usages[i as usize];
        assert!(*usages > 0, "ACL index {i} released more often than used");
        *usages -= 1;
        if *usages == 0 {
            self.free_list(i);
        }
    }

    /// Frees every list no znode uses (after a snapshot load, as ZooKeeper's purgeUnused).
    pub fn purge_unused(&mut self) {
        for i in 0..self.lists.len() as u32 {
            if self.usages[i as usize] == 0 && self.is_live(i) {
                self.free_list(i);
            }
        }
    }

    fn free_list(&mut self, i: u32) {
        if let Some(list) = self.lists[i as usize].take() {
            self.index.remove(&list);
            self.free.push(i);
        }
    }

    fn is_live(&self, i: u32) -> bool {
        self.lists.get(i as usize).is_some_and(|l| l.is_some())
    }

    /// The list at index `i`, which a znode uses: a freed index is a broken invariant.
    pub fn get(&self, i: u32) -> &[Acl] {
        match self.lists.get(i as usize) {
            Some(Some(list)) => list,
            _ => panic!("ACL index {i} is not in the cache"),
        }
    }

    /// Znodes using the list at index `i`.
    pub fn usages(&self, i: u32) -> u64 {
        self.usages.get(i as usize).copied().unwrap_or(0)
    }

    /// Distinct lists held (ZooKeeper's ReferenceCountedACLCache.size()).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

/// The READ-or-ADMIN rule of getACL.
pub const GET_ACL_PERMS: i32 = perms::READ | perms::ADMIN;

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str, i: &str) -> Id {
        Id {
            scheme: s.into(),
            id: i.into(),
        }
    }

    #[test]
    fn digest_matches_zookeeper() {
        assert_eq!(
            digest_id("alice:secret"),
            "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="
        );
        assert_eq!(
            digest_id("super:test"),
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        );
    }

    #[test]
    fn ip_cidr() {
        assert!(ip_matches("127.0.0.1", "127.0.0.0/8"));
        assert!(ip_matches("10.1.2.3", "10.1.2.3"));
        assert!(!ip_matches("10.1.2.4", "10.1.2.3"));
        assert!(ip_matches("192.168.5.5", "0.0.0.0/0"));
        assert!(!is_valid_id(&id("ip", "::1"), true));
        assert!(!is_valid_id(&id("ip", "1.2.3.4/33"), true));
    }

    #[test]
    fn x509_ids_only_with_the_provider() {
        let x509 = Providers {
            digest: true,
            x509: true,
        };
        let alice = "CN=alice,O=Acme\\, Inc.,C=DE";
        assert!(is_valid_id(&id("x509", alice), x509));
        assert!(!is_valid_id(&id("x509", alice), true));
        assert!(!is_valid_id(&id("x509", "CN=a,noequals"), x509));
        let auth = vec![id("ip", "127.0.0.1"), id("x509", alice)];
        let got = fixup_acl(&[Acl::new(31, "auth", "")], &auth, x509).unwrap();
        assert_eq!(got, vec![Acl::new(31, "x509", alice)]);
        let acl = [Acl::new(1, "x509", alice)];
        assert!(check_acl(&acl, 1, &auth, false).is_ok());
        let bob = vec![id("ip", "127.0.0.1"), id("x509", "CN=bob")];
        assert_eq!(check_acl(&acl, 1, &bob, false), Err(ErrorCode::NoAuth));
    }

    #[test]
    fn fixup_expands_auth_and_rejects_bad() {
        let auth = vec![id("ip", "127.0.0.1"), id("digest", "alice:xyz")];
        let got = fixup_acl(&[Acl::new(31, "auth", "")], &auth, true).unwrap();
        assert_eq!(got, vec![Acl::new(31, "digest", "alice:xyz")]);
        assert_eq!(
            fixup_acl(&[Acl::new(31, "auth", "")], &auth[..1], true),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(fixup_acl(&[], &auth, true), Err(ErrorCode::InvalidAcl));
        assert_eq!(
            fixup_acl(&[Acl::new(31, "world", "bob")], &auth, true),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup_acl(&[Acl::new(31, "foo", "bob")], &auth, true),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fixup_acl(&[Acl::new(31, "digest", "bob")], &auth, true),
            Err(ErrorCode::InvalidAcl)
        );
    }

    #[test]
    fn auth_ids_iterate_like_a_java_hash_set() {
        let ip = id("ip", "127.0.0.1");
        let alice = id("digest", &digest_id("alice:secret"));
        let bob = id("digest", &digest_id("bob:pw"));
        let sup = id("digest", &digest_id("super:test"));
        let su = id("super", "");
        // Orders probed on ZooKeeper 3.8 with whoAmI.
        assert_eq!(
            java_hash_set_order(&[ip.clone(), alice.clone()]),
            vec![&alice, &ip]
        );
        let three = [ip.clone(), bob.clone(), alice.clone()];
        assert_eq!(java_hash_set_order(&three), vec![&bob, &alice, &ip]);
        assert_eq!(
            java_hash_set_order(&[ip.clone(), sup.clone(), su.clone()]),
            vec![&su, &ip, &sup]
        );
    }

    /// Freed indexes are reused: churning unique lists does not grow the table.
    #[test]
    fn freed_slots_are_reused() {
        let mut cache = AclCache::default();
        for i in 0..10_000 {
            let i =
                cache.add_usage(&[Acl::new(31, "ip", &format!("10.0.{}.{}", i / 256, i % 256))]);
            cache.remove_usage(i);
        }
        assert_eq!(
            (cache.len(), cache.lists.len(), cache.index.len()),
            (0, 1, 0)
        );
    }

    #[test]
    fn check_rules() {
        let acl = vec![Acl::new(perms::READ, "digest", "alice:h")];
        let alice = vec![id("digest", "alice:h")];
        assert_eq!(check_acl(&acl, perms::READ, &alice, false), Ok(()));
        assert_eq!(
            check_acl(&acl, perms::WRITE, &alice, false),
            Err(ErrorCode::NoAuth)
        );
        assert_eq!(
            check_acl(&acl, perms::WRITE, &[id("super", "")], false),
            Ok(())
        );
        assert_eq!(check_acl(&[], perms::WRITE, &[], false), Ok(()));
        assert_eq!(mask_digests(&acl)[0].id.id, "alice:x");
    }
}
