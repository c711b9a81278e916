//! A znode's child set: the children's slot numbers in the tree's node table (4 bytes each
//! in a hash set keyed by child name), so a child costs no string and no allocation of its
//! own. Ordered B-trees of names cost 35 bytes a child when children arrive in order (each
//! split leaves a half-full leaf); the set is sorted when it is read instead, and that sorted,
//! encoded list is kept until the set next changes, so repeated getChildren of a wide parent
//! (a queue, a lock, a broker list) do not sort again.
//!
//! The set cannot see names by itself: the table passes in how to get a slot's name and
//! how to hash a name.

use std::sync::OnceLock;

use hashbrown::HashTable;

use crate::proto::ChildNames;

/// Most znodes are leaves: the set is only allocated for a node that has had a child.
#[derive(Clone, Debug, Default)]
pub struct Children(Option<Box<ChildSet>>);

#[derive(Clone, Debug, Default)]
struct ChildSet {
    slots: HashTable<u32>,
    /// The names sorted, built by the first read after a change. Every change replaces the
    /// cell, so a list can never outlive the set it was made from.
    sorted: OnceLock<ChildNames>,
}

impl Children {
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |s| s.slots.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&mut self) {
        self.0 = None;
    }

    /// Slot numbers, in no particular order.
    pub(super) fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().flat_map(|s| s.slots.iter().copied())
    }

    pub(super) fn contains<'a>(
        &self,
        hash: u64,
        name: &str,
        name_of: impl Fn(u32) -> &'a str,
    ) -> bool {
        self.0
            .as_ref()
            .is_some_and(|s| s.slots.find(hash, |&i| name_of(i) == name).is_some())
    }

    /// Adds a slot whose name is not in the set yet (callers check `contains` first).
    pub(super) fn insert(&mut self, hash: u64, slot: u32, rehash: impl Fn(u32) -> u64) {
        let set = self.0.get_or_insert_with(Default::default);
        set.slots.insert_unique(hash, slot, |&i| rehash(i));
        set.sorted = OnceLock::new();
    }

    /// Removes `slot` (whose name hashes to `hash`); false if it was not in the set.
    pub(super) fn remove(&mut self, hash: u64, slot: u32) -> bool {
        let Some(set) = self.0.as_mut() else {
            return false;
        };
        let removed = match set.slots.find_entry(hash, |&i| i == slot) {
            Ok(e) => {
                e.remove();
                set.sorted = OnceLock::new();
                true
            }
            Err(_) => false,
        };
        if set.slots.is_empty() {
            self.0 = None;
        }
        removed
    }

    /// Replaces the set with `slots` (bulk link at snapshot load), sized once.
    pub(super) fn set_all(&mut self, slots: &[u32], hash_of: impl Fn(u32) -> u64) {
        let mut set = HashTable::with_capacity(slots.len());
        for &i in slots {
            set.insert_unique(hash_of(i), i, |&j| hash_of(j));
        }
        self.0 = (!set.is_empty()).then(|| {
            Box::new(ChildSet {
                slots: set,
                sorted: OnceLock::new(),
            })
        });
    }

    /// The names in sorted order: built on the first call after a change, shared after.
    pub(super) fn sorted_names<'a>(&self, name_of: impl Fn(u32) -> &'a str) -> ChildNames {
        let Some(set) = self.0.as_ref() else {
            return ChildNames::default();
        };
        set.sorted
            .get_or_init(|| {
                let mut names: Vec<&str> = set.slots.iter().map(|&i| name_of(i)).collect();
                names.sort_unstable();
                ChildNames::from_names(names)
            })
            .clone()
    }
}
