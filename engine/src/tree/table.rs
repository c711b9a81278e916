//! The znode table: nodes, each with its path, in a slab (one contiguous vector, freed slots
//! reused), and a hash index that holds only 4-byte slot numbers. At a million znodes that is
//! about 10 bytes of index and no allocator header per node, against 25 bytes of buckets plus
//! a 16-byte-rounded box for a `HashMap<Arc<str>, Box<Znode>>`. The path string is the one the
//! txn brought, shared with every replica that applies the same txn.

use super::path::{name_of, parent_of};
use super::Znode;
use hashbrown::DefaultHashBuilder;
use hashbrown::HashTable;
use std::hash::BuildHasher;
use std::sync::Arc;

#[derive(Clone)]
struct Entry {
    path: Arc<str>,
    node: Znode,
}

/// The hash is hashbrown's default (foldhash), several times cheaper than std's SipHash on
/// short paths, and seeded at random per table as std's maps are, which keeps crafted paths
/// from colliding; only iteration order depends on the seed, and nothing a client sees is in
/// that order.
#[derive(Clone, Default)]
pub struct NodeTable {
    index: HashTable<u32>,
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    hasher: DefaultHashBuilder,
}

fn path_at(slots: &[Option<Entry>], i: u32) -> &str {
    slots[i as usize].as_ref().map_or("", |e| &*e.path)
}

fn name_at(slots: &[Option<Entry>], i: u32) -> &str {
    name_of(path_at(slots, i))
}

/// ZooKeeper maps the parent "" (of "/a") to the root.
fn parent_key(path: &str) -> Option<&str> {
    parent_of(path).map(|p| if p.is_empty() { "/" } else { p })
}

impl NodeTable {
    fn hash(&self, path: &str) -> u64 {
        self.hasher.hash_one(path)
    }

    pub(super) fn slot_of(&self, path: &str) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(self.hash(path), |&i| path_at(slots, i) == path)
            .copied()
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn get(&self, path: &str) -> Option<&Znode> {
        let i = self.slot_of(path)?;
        self.slots[i as usize].as_ref().map(|e| &e.node)
    }

    pub fn get_mut(&mut self, path: &str) -> Option<&mut Znode> {
        let i = self.slot_of(path)?;
        self.slots[i as usize].as_mut().map(|e| &mut e.node)
    }

    /// Inserts or replaces the node at `path` (not linking it to its parent); returns its
    /// slot and the node it replaced. A replaced node keeps its slot, and its children.
    pub fn insert(&mut self, path: Arc<str>, mut node: Znode) -> (u32, Option<Znode>) {
        if let Some(i) = self.slot_of(&path) {
            if let Some(entry) = self.slots[i as usize].as_mut() {
                entry.path = path;
                std::mem::swap(&mut entry.node.children, &mut node.children);
                return (i, Some(std::mem::replace(&mut entry.node, node)));
            }
        }
        let entry = Some(Entry {
            path: path.clone(),
            node,
        });
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = entry;
                i
            }
            None => {
                self.slots.push(entry);
                (self.slots.len() - 1) as u32
            }
        };
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index
            .insert_unique(self.hasher.hash_one(&*path), i, |&j| {
                hasher.hash_one(path_at(slots, j))
            });
        (i, None)
    }

    /// Is there a child called `name` in the child set of `parent`?
    pub fn has_child(&self, parent: &str, name: &str) -> bool {
        self.slot_of(parent)
            .is_some_and(|p| self.has_child_at(p, name))
    }

    /// `has_child` for the parent in slot `p`.
    pub(super) fn has_child_at(&self, p: u32, name: &str) -> bool {
        let slots = &self.slots;
        slots[p as usize].as_ref().is_some_and(|e| {
            e.node
                .children
                .contains(self.hash(name), name, |i| name_at(slots, i))
        })
    }

    /// Adds the node in `slot` to its parent's child set (if the parent exists).
    pub fn link(&mut self, slot: u32) {
        let Some(parent) = parent_key(path_at(&self.slots, slot)) else {
            return;
        };
        if let Some(p) = self.slot_of(parent) {
            self.link_to(p, slot);
        }
    }

    /// Adds the node in `slot` to the child set of the node in slot `p`, its parent.
    pub(super) fn link_to(&mut self, p: u32, slot: u32) {
        let hash = self.hash(name_at(&self.slots, slot));
        let mut set = std::mem::take(&mut self.node_at(p).children);
        let (slots, hasher) = (&self.slots, &self.hasher);
        let name = name_at(slots, slot);
        if !set.contains(hash, name, |i| name_at(slots, i)) {
            set.insert(hash, slot, |i| hasher.hash_one(name_at(slots, i)));
        }
        self.node_at(p).children = set;
    }

    /// Removes `slot` (named `name`) from the child set of the node in slot `p`; false if it
    /// was not there. Works after the child itself was removed: it matches the slot number.
    pub(super) fn unlink(&mut self, p: u32, slot: u32, name: &str) -> bool {
        let hash = self.hash(name);
        self.node_at(p).children.remove(hash, slot)
    }

    /// Links every node to its parent at once (after a snapshot load): each child set is
    /// built in one go, sized for its final count.
    pub fn link_all(&mut self) {
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(self.len());
        for (i, e) in self.slots.iter().enumerate() {
            let Some(e) = e else { continue };
            if let Some(p) = parent_key(&e.path).and_then(|p| self.slot_of(p)) {
                if p != i as u32 {
                    pairs.push((p, i as u32));
                }
            }
        }
        pairs.sort_unstable();
        for group in pairs.chunk_by(|a, b| a.0 == b.0) {
            let p = group[0].0;
            let mut slots: Vec<u32> = self.node_at(p).children.slots().collect();
            slots.extend(group.iter().map(|&(_, c)| c));
            slots.sort_unstable();
            slots.dedup();
            let mut set = std::mem::take(&mut self.node_at(p).children);
            let (all, hasher) = (&self.slots, &self.hasher);
            set.set_all(&slots, |i| hasher.hash_one(name_at(all, i)));
            self.node_at(p).children = set;
        }
    }

    pub(super) fn node_at(&mut self, slot: u32) -> &mut Znode {
        match self.slots[slot as usize].as_mut() {
            Some(e) => &mut e.node,
            None => unreachable!("slot {slot} is linked but empty"),
        }
    }

    /// `node`'s children, in no particular order.
    pub fn child_nodes<'a>(&'a self, node: &'a Znode) -> impl Iterator<Item = &'a Znode> {
        node.children
            .slots()
            .filter_map(|i| self.slots[i as usize].as_ref().map(|e| &e.node))
    }

    /// The names of `node`'s children, sorted (see `Children::sorted_names`).
    pub fn sorted_child_names(&self, node: &Znode) -> crate::proto::ChildNames {
        let slots = &self.slots;
        node.children.sorted_names(|i| name_at(slots, i))
    }

    /// Removes the node at `path`; returns the slot it had, its path and the node.
    pub fn remove(&mut self, path: &str) -> Option<(u32, Arc<str>, Znode)> {
        let hash = self.hash(path);
        let slots = &self.slots;
        let found = self.index.find_entry(hash, |&i| path_at(slots, i) == path);
        let (i, _) = found.ok()?.remove();
        self.free.push(i);
        let Entry { path, node } = self.slots[i as usize].take()?;
        Some((i, path, node))
    }

    /// Every node with its path, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Znode)> {
        self.slots.iter().flatten().map(|e| (&e.path, &e.node))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::Data;

    fn node(version: i32) -> Znode {
        let mut n = Znode::new(Data::from(&[][..]), 0, 0, 1, 1);
        n.version = version;
        n
    }

    #[test]
    fn insert_replace_remove() {
        let mut t = NodeTable::default();
        for i in 0..1000 {
            assert!(t.insert(format!("/n{i}").into(), node(i)).1.is_none());
        }
        assert_eq!(t.len(), 1000);
        assert_eq!(t.get("/n7").map(|n| n.version), Some(7));
        assert_eq!(
            t.insert("/n7".into(), node(70)).1.map(|n| n.version),
            Some(7)
        );
        assert_eq!(t.get("/n7").map(|n| n.version), Some(70));
        t.get_mut("/n8").unwrap().version = 80;
        assert_eq!(
            t.remove("/n8").map(|(_, p, n)| (p, n.version)),
            Some(("/n8".into(), 80))
        );
        assert!(t.remove("/n8").is_none() && t.get("/n8").is_none());
        assert_eq!(t.len(), 999);
        assert_eq!(t.iter().count(), 999);
    }

    #[test]
    fn links_by_name_and_keeps_children_on_replace() {
        let mut t = NodeTable::default();
        t.insert("/".into(), node(0));
        let (a, _) = t.insert("/a".into(), node(0));
        t.link(a);
        t.link(a); // idempotent
        assert_eq!(t.get("/").map(|n| n.children.len()), Some(1));
        let (x, _) = t.insert("/a/x".into(), node(0));
        t.link(x);
        assert!(t.has_child("/", "a") && t.has_child("/a", "x") && !t.has_child("/a", "y"));
        // Replacing /a keeps its slot and its child set.
        let (a2, old) = t.insert("/a".into(), node(5));
        assert_eq!((a2, old.map(|n| n.version)), (a, Some(0)));
        assert!(t.has_child("/a", "x"));
        assert_eq!(t.child_nodes(t.get("/a").unwrap()).count(), 1);
        assert!(t.unlink(a, x, "x") && !t.unlink(a, x, "x"));
        assert!(t.get("/a").unwrap().children.is_empty());
        // A freed slot is reused, and the bulk link finds every parent.
        t.remove("/a/x");
        let (y, _) = t.insert("/a/y".into(), node(0));
        assert_eq!(y, x);
        t.link_all();
        assert!(t.has_child("/a", "y") && t.has_child("/", "a"));
        assert_eq!(t.get("/").unwrap().children.len(), 1);
    }
}
