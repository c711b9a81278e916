//! The DataTree: znodes by path, with ZooKeeper's exact Stat semantics, the ephemeral,
//! container and TTL indexes, and the `/zookeeper` system nodes.
//!
//! Mutators are idempotent in the way ZooKeeper's `DataTree.processTxn` is, so replaying the
//! WAL over a fuzzy snapshot converges on the same tree.

pub mod acl;
mod children;
pub mod path;
mod table;

use crate::limits::{CONTAINER_EPHEMERAL_OWNER, TTL_OWNER_MASK};
use crate::proto::{perms, Acl, ChildNames, ErrorCode, Stat};
use crate::txn::Data;
use acl::AclCache;
pub use children::Children;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use table::NodeTable;

pub const ROOT: &str = "/";
pub const ZOOKEEPER: &str = "/zookeeper";
pub const QUOTA: &str = "/zookeeper/quota";
pub const CONFIG: &str = "/zookeeper/config";

/// What a stored ephemeral owner means (ZooKeeper's `EphemeralType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EphemeralType {
    /// Persistent.
    Void,
    /// Ephemeral, owned by this session.
    Normal(i64),
    Container,
    /// Time-to-live in milliseconds.
    Ttl(i64),
}

impl EphemeralType {
    pub fn of(owner: i64) -> EphemeralType {
        if owner == 0 {
            EphemeralType::Void
        } else if owner == CONTAINER_EPHEMERAL_OWNER {
            EphemeralType::Container
        } else if owner & TTL_OWNER_MASK == TTL_OWNER_MASK {
            EphemeralType::Ttl(owner & !TTL_OWNER_MASK)
        } else {
            EphemeralType::Normal(owner)
        }
    }

    pub fn ttl_owner(ttl_ms: i64) -> i64 {
        TTL_OWNER_MASK | ttl_ms
    }
}

/// One znode. `cversion` is the *stored* cversion: the count of child creations.
#[derive(Clone, Debug)]
pub struct Znode {
    pub data: Data,
    pub acl: u32,
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub pzxid: i64,
    pub children: Children,
}

impl Znode {
    pub fn new(data: Data, acl: u32, owner: i64, zxid: i64, time: i64) -> Znode {
        Znode {
            data,
            acl,
            czxid: zxid,
            mzxid: zxid,
            ctime: time,
            mtime: time,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner: owner,
            pzxid: zxid,
            children: Children::default(),
        }
    }

    /// The Stat a client sees (`DataNode.copyStat`): cversion as creations plus deletions,
    /// container and TTL markers hidden.
    pub fn stat(&self) -> Stat {
        let num_children = self.children.len() as i32;
        let ephemeral_owner = match EphemeralType::of(self.ephemeral_owner) {
            EphemeralType::Normal(s) => s,
            _ => 0,
        };
        Stat {
            czxid: self.czxid,
            mzxid: self.mzxid,
            ctime: self.ctime,
            mtime: self.mtime,
            version: self.version,
            cversion: self.cversion.wrapping_mul(2).wrapping_sub(num_children),
            aversion: self.aversion,
            ephemeral_owner,
            data_length: self.data.len() as i32,
            num_children,
            pzxid: self.pzxid,
        }
    }
}

#[derive(Clone)]
pub struct DataTree {
    /// Paths are shared strings: a snapshot takes the whole key set in a few milliseconds
    /// (reference counts, not copies), and replicas keep the txn's copy.
    nodes: NodeTable,
    acls: AclCache,
    ephemerals: HashMap<i64, BTreeSet<String>>,
    containers: BTreeSet<String>,
    ttls: BTreeSet<String>,
    approximate_data_size: i64,
}

impl Default for DataTree {
    fn default() -> Self {
        Self::new()
    }
}

impl DataTree {
    /// A fresh tree: "/", "/zookeeper", "/zookeeper/quota" and "/zookeeper/config", all with
    /// zero zxids and times, as a new ZooKeeper 3.8 shows them.
    pub fn new() -> DataTree {
        let mut tree = DataTree::empty();
        let open = tree.acls.intern(&Acl::open_unsafe());
        let read_only = tree
            .acls
            .intern(&[Acl::new(perms::READ, "world", "anyone")]);
        for path in [ROOT, ZOOKEEPER, QUOTA] {
            tree.insert_raw(path, Znode::new(Data::from(&[][..]), open, 0, 0, 0));
        }
        let mut config = Znode::new(Data::from(&[][..]), read_only, 0, 0, 0);
        config.aversion = -1;
        tree.insert_raw(CONFIG, config);
        tree
    }

    /// A tree with no nodes at all, to be filled from a snapshot with `intern_acl` (in the
    /// snapshot's ACL order), `insert_unlinked`, `link_children` and `purge_unused_acls`.
    pub fn empty() -> DataTree {
        DataTree {
            nodes: NodeTable::default(),
            acls: AclCache::default(),
            ephemerals: HashMap::new(),
            containers: BTreeSet::new(),
            ttls: BTreeSet::new(),
            approximate_data_size: 0,
        }
    }

    /// Inserts a node and links it to its parent without touching any Stat; used to build
    /// the system nodes and to load snapshots (parents first).
    pub fn insert_raw(&mut self, path: &str, node: Znode) {
        let slot = self.insert_unlinked(path, node);
        if path != ROOT {
            self.nodes.link(slot);
        }
    }

    /// Inserts a node without linking it to its parent; call `link_children` once all nodes
    /// are in. Loading a snapshot this way builds each child set in one sorted bulk load
    /// instead of a million random B-tree inserts. `node.acl` must be an index of this
    /// tree's ACL cache (`intern_acl`); the node counts as one of its usages.
    pub fn insert_unlinked(&mut self, path: &str, node: Znode) -> u32 {
        self.index_owner(path, node.ephemeral_owner);
        self.approximate_data_size += (path.len() + node.data.len()) as i64;
        self.acls.add_usage_of(node.acl);
        let (slot, orphan) = self.nodes.insert(Arc::from(path), node);
        if let Some(orphan) = orphan {
            self.forget(path, &orphan);
        }
        slot
    }

    /// Drops the indexes, size and ACL usage of a node that left the table.
    fn forget(&mut self, path: &str, node: &Znode) {
        self.unindex_owner(path, node.ephemeral_owner);
        self.approximate_data_size -= (path.len() + node.data.len()) as i64;
        self.acls.remove_usage(node.acl);
    }

    /// Frees the ACL lists no znode uses (after loading a snapshot, whose table may hold
    /// lists that only nodes since deleted had used).
    pub fn purge_unused_acls(&mut self) {
        self.acls.purge_unused();
    }

    /// Links every node into its parent's child set (after `insert_unlinked`).
    pub fn link_children(&mut self) {
        self.nodes.link_all();
    }

    fn index_owner(&mut self, path: &str, owner: i64) {
        match EphemeralType::of(owner) {
            EphemeralType::Void => {}
            EphemeralType::Normal(s) => {
                self.ephemerals
                    .entry(s)
                    .or_default()
                    .insert(path.to_string());
            }
            EphemeralType::Container => {
                self.containers.insert(path.to_string());
            }
            EphemeralType::Ttl(_) => {
                self.ttls.insert(path.to_string());
            }
        }
    }

    fn unindex_owner(&mut self, path: &str, owner: i64) {
        match EphemeralType::of(owner) {
            EphemeralType::Void => {}
            EphemeralType::Normal(s) => {
                if let Some(set) = self.ephemerals.get_mut(&s) {
                    set.remove(path);
                    if set.is_empty() {
                        self.ephemerals.remove(&s);
                    }
                }
            }
            EphemeralType::Container => {
                self.containers.remove(path);
            }
            EphemeralType::Ttl(_) => {
                self.ttls.remove(path);
            }
        }
    }

    /// ZooKeeper maps "" to the root as well.
    fn key(path: &str) -> &str {
        if path.is_empty() {
            ROOT
        } else {
            path
        }
    }

    pub fn get(&self, path: &str) -> Option<&Znode> {
        self.nodes.get(Self::key(path))
    }

    pub fn acl_of(&self, node: &Znode) -> &[Acl] {
        self.acls.get(node.acl)
    }

    pub fn acls(&self) -> &AclCache {
        &self.acls
    }

    pub fn intern_acl(&mut self, acl: &[Acl]) -> u32 {
        self.acls.intern(acl)
    }

    /// Entries in ZooKeeper's node map, which also holds "" as an alias of the root: a fresh
    /// tree reports 5, as `srvr` does.
    pub fn node_count(&self) -> usize {
        self.nodes.len() + 1
    }

    pub fn approximate_data_size(&self) -> i64 {
        self.approximate_data_size
    }

    pub fn ephemerals(&self) -> &HashMap<i64, BTreeSet<String>> {
        &self.ephemerals
    }

    pub fn ephemerals_of(&self, session_id: i64) -> Vec<String> {
        self.ephemerals
            .get(&session_id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn ephemeral_count(&self) -> usize {
        self.ephemerals.values().map(|s| s.len()).sum()
    }

    pub fn containers(&self) -> &BTreeSet<String> {
        &self.containers
    }

    pub fn ttls(&self) -> &BTreeSet<String> {
        &self.ttls
    }

    /// Every znode, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Znode)> {
        self.nodes.iter()
    }

    /// Number of znodes below `path` (not counting it). A walk with a stack of its own, not
    /// recursion: a chain of nested znodes is as deep as clients make it, and a shard
    /// thread's stack is not.
    pub fn descendant_count(&self, path: &str) -> usize {
        let Some(node) = self.get(path) else { return 0 };
        let mut count = 0;
        let mut pending: Vec<&Znode> = vec![node];
        while let Some(node) = pending.pop() {
            for child in self.nodes.child_nodes(node) {
                count += 1;
                if !child.children.is_empty() {
                    pending.push(child);
                }
            }
        }
        count
    }

    /// createNode. On NODEEXISTS the parent's cversion and pzxid still move forward, as
    /// ZooKeeper does when replaying over a fuzzy snapshot.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &mut self,
        path: Arc<str>,
        data: Data,
        acl: &[Acl],
        ephemeral_owner: i64,
        parent_cversion: i32,
        zxid: i64,
        time: i64,
    ) -> Result<(), ErrorCode> {
        let parent_path = path::parent_of(&path).ok_or(ErrorCode::BadArguments)?;
        let name = path::name_of(&path);
        let p = self
            .nodes
            .slot_of(Self::key(parent_path))
            .ok_or(ErrorCode::NoNode)?;
        // Existence is the parent's child set, as in ZooKeeper: replaying a delete of an
        // ancestor over a fuzzy snapshot can leave an unlinked node in the map, and a later
        // create must relink (replace) it.
        let exists = self.nodes.has_child_at(p, name);
        let parent = self.nodes.node_at(p);
        let new_cversion = if parent_cversion == -1 {
            parent.cversion.wrapping_add(1)
        } else {
            parent_cversion
        };
        if new_cversion > parent.cversion {
            parent.cversion = new_cversion;
            parent.pzxid = zxid;
        }
        if exists {
            return Err(ErrorCode::NodeExists);
        }
        let acl = self.acls.add_usage(acl);
        let node = Znode::new(data, acl, ephemeral_owner, zxid, time);
        self.index_owner(&path, ephemeral_owner);
        self.approximate_data_size += (path.len() + node.data.len()) as i64;
        let (slot, orphan) = self.nodes.insert(path.clone(), node);
        if let Some(orphan) = orphan {
            self.forget(&path, &orphan);
        }
        self.nodes.link_to(p, slot);
        Ok(())
    }

    /// deleteNode: pzxid of the parent moves only forward.
    pub fn delete(&mut self, path: &str, zxid: i64) -> Result<(), ErrorCode> {
        if Self::key(path) == ROOT {
            return Err(ErrorCode::BadArguments);
        }
        let (slot, _, node) = self.nodes.remove(path).ok_or(ErrorCode::NoNode)?;
        self.forget(path, &node);
        let parent = path::parent_of(path).and_then(|p| self.nodes.slot_of(Self::key(p)));
        if let Some(p) = parent {
            self.nodes.unlink(p, slot, path::name_of(path));
            let parent = self.nodes.node_at(p);
            if zxid > parent.pzxid {
                parent.pzxid = zxid;
            }
        }
        Ok(())
    }

    pub fn set_data(
        &mut self,
        path: &str,
        data: Data,
        version: i32,
        zxid: i64,
        time: i64,
    ) -> Result<(), ErrorCode> {
        let node = self
            .nodes
            .get_mut(Self::key(path))
            .ok_or(ErrorCode::NoNode)?;
        self.approximate_data_size += data.len() as i64 - node.data.len() as i64;
        node.data = data;
        node.version = version;
        node.mzxid = zxid;
        node.mtime = time;
        Ok(())
    }

    /// setACL moves the node's usage to the new list (which may free the old one).
    pub fn set_acl(&mut self, path: &str, acl: &[Acl], version: i32) -> Result<(), ErrorCode> {
        let node = self
            .nodes
            .get_mut(Self::key(path))
            .ok_or(ErrorCode::NoNode)?;
        let acl = self.acls.add_usage(acl);
        let old = std::mem::replace(&mut node.acl, acl);
        node.aversion = version;
        self.acls.remove_usage(old);
        Ok(())
    }

    /// Is `name` in the child set of `parent`?
    pub fn has_child(&self, parent: &str, name: &str) -> bool {
        self.nodes.has_child(Self::key(parent), name)
    }

    /// Child names in a stable (sorted) order. The list is kept with the node until its
    /// children change, so this is a reference count after the first call.
    pub fn children(&self, path: &str) -> Option<ChildNames> {
        let node = self.get(path)?;
        Some(self.nodes.sorted_child_names(node))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_tree_matches_zookeeper() {
        let t = DataTree::new();
        assert_eq!(t.node_count(), 5);
        assert_eq!(t.get("/").unwrap().stat().cversion, -1);
        assert_eq!(t.get("/zookeeper").unwrap().stat().cversion, -2);
        assert_eq!(t.get("/zookeeper/config").unwrap().stat().aversion, -1);
        assert_eq!(t.get("").unwrap().stat().num_children, 1);
        assert_eq!(t.children("/zookeeper").unwrap(), vec!["config", "quota"]);
    }

    #[test]
    fn cversion_counts_creates_and_deletes() {
        let mut t = DataTree::new();
        let acl = Acl::open_unsafe();
        t.create("/a".into(), Data::from(&[][..]), &acl, 0, 1, 10, 100)
            .unwrap();
        t.create("/a/x".into(), Data::from(&[][..]), &acl, 0, 1, 11, 101)
            .unwrap();
        t.create("/a/y".into(), Data::from(&[][..]), &acl, 0, 2, 12, 102)
            .unwrap();
        t.delete("/a/x", 13).unwrap();
        let s = t.get("/a").unwrap().stat();
        assert_eq!((s.cversion, s.num_children, s.pzxid), (3, 1, 13));
        // Replay of an old create over a newer state: NODEEXISTS, cversion stays.
        assert_eq!(
            t.create("/a/y".into(), Data::from(&[][..]), &acl, 0, 2, 12, 102),
            Err(ErrorCode::NodeExists)
        );
        assert_eq!(t.get("/a").unwrap().cversion, 2);
    }

    /// The sorted list a read builds is kept with the parent: every change to the child set
    /// must show in the next read, in this tree and not in a replica cloned before it.
    #[test]
    fn kept_child_list_follows_every_change() {
        let mut t = DataTree::new();
        let acl = Acl::open_unsafe();
        let empty = || Data::from(&[][..]);
        t.create("/a".into(), empty(), &acl, 0, -1, 1, 1).unwrap();
        assert!(t.children("/a").unwrap().is_empty());
        t.create("/a/m".into(), empty(), &acl, 0, -1, 2, 1).unwrap();
        t.create("/a/b".into(), empty(), &acl, 0, -1, 3, 1).unwrap();
        assert_eq!(t.children("/a").unwrap(), vec!["b", "m"]);
        let replica = t.clone();
        t.create("/a/z".into(), empty(), &acl, 0, -1, 4, 1).unwrap();
        assert_eq!(t.children("/a").unwrap(), vec!["b", "m", "z"]);
        assert_eq!(replica.children("/a").unwrap(), vec!["b", "m"]);
        t.delete("/a/m", 5).unwrap();
        assert_eq!(t.children("/a").unwrap(), vec!["b", "z"]);
        // A parent deleted and made again starts with no list, even at the same cversion.
        t.delete("/a/b", 6).unwrap();
        t.delete("/a/z", 7).unwrap();
        t.delete("/a", 8).unwrap();
        t.create("/a".into(), empty(), &acl, 0, -1, 9, 1).unwrap();
        assert!(t.children("/a").unwrap().is_empty());
        t.create("/a/q".into(), empty(), &acl, 0, -1, 10, 1)
            .unwrap();
        assert_eq!(t.children("/a").unwrap(), vec!["q"]);
        assert_eq!(replica.children("/a").unwrap(), vec!["b", "m"]);
    }

    #[test]
    fn unlinked_load_in_any_order_links_children() {
        let mut t = DataTree::new();
        let acl = Acl::open_unsafe();
        let empty = || Data::from(&[][..]);
        t.create("/a".into(), empty(), &acl, 0, -1, 1, 1).unwrap();
        t.create("/a/x".into(), empty(), &acl, 77, -1, 2, 1)
            .unwrap();
        t.create("/a/y".into(), empty(), &acl, 0, -1, 3, 1).unwrap();
        let mut nodes: Vec<(Arc<str>, Znode)> =
            t.iter().map(|(p, n)| (p.clone(), n.clone())).collect();
        nodes.sort_by(|a, b| b.0.cmp(&a.0)); // children before parents
        let mut u = DataTree::empty();
        u.intern_acl(&acl);
        u.intern_acl(&[Acl::new(perms::READ, "world", "anyone")]);
        for (p, mut n) in nodes {
            n.children.clear();
            u.insert_unlinked(&p, n);
        }
        u.link_children();
        for (p, n) in t.iter() {
            assert_eq!(u.get(p).map(|m| m.stat()), Some(n.stat()), "{p}");
            assert_eq!(u.children(p), t.children(p), "{p}");
        }
        assert_eq!(u.ephemerals_of(77), vec!["/a/x".to_string()]);
        assert_eq!(u.node_count(), t.node_count());
    }

    fn unique_digest(i: usize) -> Vec<Acl> {
        vec![Acl::new(perms::ALL, "digest", &format!("user{i}:hash{i}"))]
    }

    /// Every znode's list has as many usages as znodes use it, and the cache holds no other.
    fn assert_acl_usages_match(t: &DataTree) {
        let mut used: HashMap<u32, u64> = HashMap::new();
        for (_, n) in t.iter() {
            *used.entry(n.acl).or_default() += 1;
        }
        for (&i, &count) in &used {
            assert_eq!(
                t.acls().usages(i),
                count,
                "usages of ACL {:?}",
                t.acls().get(i)
            );
        }
        assert_eq!(
            t.acls().len(),
            used.len(),
            "lists held besides the used ones"
        );
    }

    /// ZooKeeper's ReferenceCountedACLCache: lists of deleted znodes are freed, so unique
    /// digest ACLs do not grow memory for good.
    #[test]
    fn unique_acls_of_deleted_znodes_are_freed() {
        let mut t = DataTree::new();
        let baseline = t.acls().len();
        let empty = || Data::from(&[][..]);
        for i in 0..100_000 {
            let path: Arc<str> = format!("/n{i}").into();
            t.create(path.clone(), empty(), &unique_digest(i), 0, -1, 1, 1)
                .unwrap();
            if i % 1000 == 999 {
                assert_eq!(t.acls().len(), baseline + 1, "before delete {i}");
            }
            t.delete(&path, 2).unwrap();
            assert_eq!(t.acls().len(), baseline, "after delete {i}");
        }
        // Shared lists live while any znode uses them.
        let open = Acl::open_unsafe();
        t.create("/a".into(), empty(), &unique_digest(7), 0, -1, 3, 1)
            .unwrap();
        t.create("/b".into(), empty(), &unique_digest(7), 0, -1, 4, 1)
            .unwrap();
        assert_acl_usages_match(&t);
        t.delete("/a", 5).unwrap();
        assert_eq!(t.acl_of(t.get("/b").unwrap()), &unique_digest(7)[..]);
        t.set_acl("/b", &open, 1).unwrap();
        assert_eq!(t.acls().len(), baseline);
        assert_acl_usages_match(&t);
    }

    #[test]
    fn set_acl_churn_frees_each_list_it_leaves() {
        let mut t = DataTree::new();
        let baseline = t.acls().len();
        t.create(
            "/x".into(),
            Data::from(&[][..]),
            &unique_digest(0),
            0,
            -1,
            1,
            1,
        )
        .unwrap();
        for i in 1..100_000 {
            t.set_acl("/x", &unique_digest(i), i as i32).unwrap();
            // Setting the list a node already has keeps it.
            t.set_acl("/x", &unique_digest(i), i as i32).unwrap();
            assert_eq!(t.acls().len(), baseline + 1, "after setACL {i}");
        }
        assert_eq!(t.acl_of(t.get("/x").unwrap()), &unique_digest(99_999)[..]);
        assert_eq!(
            t.set_acl("/missing", &unique_digest(1), 0),
            Err(ErrorCode::NoNode)
        );
        assert_eq!(
            t.acls().len(),
            baseline + 1,
            "a failed setACL holds nothing"
        );
        assert_acl_usages_match(&t);
    }

    /// A snapshot load interns the snapshot's table, counts the nodes, and frees lists only
    /// deleted nodes had used.
    #[test]
    fn load_counts_usages_and_purges_unused_lists() {
        let mut u = DataTree::empty();
        let open = u.intern_acl(&Acl::open_unsafe());
        let gone = u.intern_acl(&unique_digest(1));
        let kept = u.intern_acl(&unique_digest(2));
        let node = |acl| Znode::new(Data::from(&[][..]), acl, 0, 1, 1);
        u.insert_unlinked("/", node(open));
        u.insert_unlinked("/k1", node(kept));
        u.insert_unlinked("/k2", node(kept));
        u.link_children();
        u.purge_unused_acls();
        assert_eq!(u.acls().len(), 2);
        assert_eq!(u.acls().usages(gone), 0);
        assert_eq!(u.acls().usages(kept), 2);
        assert_acl_usages_match(&u);
        // The freed index is reused by the next new list.
        u.create(
            "/n".into(),
            Data::from(&[][..]),
            &unique_digest(3),
            0,
            -1,
            2,
            1,
        )
        .unwrap();
        assert_eq!(u.get("/n").unwrap().acl, gone);
        assert_acl_usages_match(&u);
    }

    #[test]
    fn owner_indexes() {
        let mut t = DataTree::new();
        let acl = Acl::open_unsafe();
        t.create("/e".into(), Data::from(&[][..]), &acl, 77, -1, 1, 1)
            .unwrap();
        t.create(
            "/c".into(),
            Data::from(&[][..]),
            &acl,
            CONTAINER_EPHEMERAL_OWNER,
            -1,
            2,
            1,
        )
        .unwrap();
        t.create(
            "/t".into(),
            Data::from(&[][..]),
            &acl,
            EphemeralType::ttl_owner(500),
            -1,
            3,
            1,
        )
        .unwrap();
        assert_eq!(t.ephemerals_of(77), vec!["/e".to_string()]);
        assert!(t.containers().contains("/c"));
        assert!(t.ttls().contains("/t"));
        assert_eq!(t.get("/c").unwrap().stat().ephemeral_owner, 0);
        assert_eq!(
            EphemeralType::of(t.get("/t").unwrap().ephemeral_owner),
            EphemeralType::Ttl(500)
        );
        t.delete("/e", 4).unwrap();
        assert!(t.ephemerals().is_empty());
    }
}
