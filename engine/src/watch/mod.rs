//! Watches as ZooKeeper's `WatchManager` keeps them: a data table and a child table, each
//! mapping a path to the connections watching it, with one-shot, persistent and
//! persistent-recursive modes. The watcher is the connection, so a connection is told once
//! per event however many times it asked.

pub mod ops;

use crate::tree::path;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A connection, numbered by the server. Watches belong to connections, not sessions.
pub type ConnId = u64;

/// Mode bits of one (connection, path) watch. Several modes may coexist on one path.
pub const STANDARD: u8 = 1;
pub const PERSISTENT: u8 = 2;
pub const RECURSIVE: u8 = 4;
pub const ALL_MODES: u8 = STANDARD | PERSISTENT | RECURSIVE;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Data,
    Child,
}

#[derive(Clone, Default)]
struct WatchTable {
    by_path: HashMap<String, BTreeMap<ConnId, u8>>,
    by_conn: HashMap<ConnId, BTreeSet<String>>,
    recursive: usize,
}

impl WatchTable {
    fn add(&mut self, path: &str, conn: ConnId, mode: u8) {
        let modes = self
            .by_path
            .entry(path.to_string())
            .or_default()
            .entry(conn)
            .or_insert(0);
        if mode & RECURSIVE != 0 && *modes & RECURSIVE == 0 {
            self.recursive += 1;
        }
        *modes |= mode;
        self.by_conn
            .entry(conn)
            .or_default()
            .insert(path.to_string());
    }

    /// Clears `mask` from (path, conn). True if any of those bits were set.
    fn remove(&mut self, path: &str, conn: ConnId, mask: u8) -> bool {
        let Some(conns) = self.by_path.get_mut(path) else {
            return false;
        };
        let Some(modes) = conns.get_mut(&conn) else {
            return false;
        };
        let hit = *modes & mask != 0;
        if *modes & mask & RECURSIVE != 0 {
            self.recursive -= 1;
        }
        *modes &= !mask;
        if *modes == 0 {
            conns.remove(&conn);
            if conns.is_empty() {
                self.by_path.remove(path);
            }
            if let Some(paths) = self.by_conn.get_mut(&conn) {
                paths.remove(path);
                if paths.is_empty() {
                    self.by_conn.remove(&conn);
                }
            }
        }
        hit
    }

    fn contains(&self, path: &str, conn: ConnId, mask: u8) -> bool {
        self.by_path
            .get(path)
            .and_then(|c| c.get(&conn))
            .is_some_and(|m| m & mask != 0)
    }

    /// `triggerWatch`: the connections to tell, one-shot watches removed. Recursive watches
    /// at the path or any ancestor get every event except NodeChildrenChanged.
    fn trigger(&mut self, event_path: &str, children_changed: bool) -> BTreeSet<ConnId> {
        let mut told = BTreeSet::new();
        let mut fired_standard = Vec::new();
        if let Some(conns) = self.by_path.get(event_path) {
            for (&conn, &modes) in conns {
                if modes & (STANDARD | PERSISTENT) != 0
                    || (modes & RECURSIVE != 0 && !children_changed)
                {
                    told.insert(conn);
                }
                if modes & STANDARD != 0 {
                    fired_standard.push(conn);
                }
            }
        }
        for conn in fired_standard {
            self.remove(event_path, conn, STANDARD);
        }
        if self.recursive > 0 && !children_changed {
            let mut p = event_path;
            while let Some(parent) = path::parent_of(p) {
                let key = if parent.is_empty() { "/" } else { parent };
                if let Some(conns) = self.by_path.get(key) {
                    told.extend(
                        conns
                            .iter()
                            .filter(|(_, m)| *m & RECURSIVE != 0)
                            .map(|(c, _)| *c),
                    );
                }
                if parent.is_empty() {
                    break;
                }
                p = parent;
            }
        }
        told
    }

    fn remove_conn(&mut self, conn: ConnId) {
        if let Some(paths) = self.by_conn.remove(&conn) {
            for p in paths {
                if let Some(conns) = self.by_path.get_mut(&p) {
                    if let Some(m) = conns.remove(&conn) {
                        if m & RECURSIVE != 0 {
                            self.recursive -= 1;
                        }
                    }
                    if conns.is_empty() {
                        self.by_path.remove(&p);
                    }
                }
            }
        }
    }
}

#[derive(Clone, Default)]
pub struct WatchManager {
    data: WatchTable,
    child: WatchTable,
}

impl WatchManager {
    fn table(&mut self, t: Table) -> &mut WatchTable {
        match t {
            Table::Data => &mut self.data,
            Table::Child => &mut self.child,
        }
    }

    pub fn add(&mut self, t: Table, path: &str, conn: ConnId, mode: u8) {
        self.table(t).add(path, conn, mode);
    }

    /// addWatch: the connection goes into both tables.
    pub fn add_persistent(&mut self, path: &str, conn: ConnId, recursive: bool) {
        let mode = if recursive { RECURSIVE } else { PERSISTENT };
        self.data.add(path, conn, mode);
        self.child.add(path, conn, mode);
    }

    pub fn remove(&mut self, t: Table, path: &str, conn: ConnId, mask: u8) -> bool {
        self.table(t).remove(path, conn, mask)
    }

    pub fn contains(&self, t: Table, path: &str, conn: ConnId, mask: u8) -> bool {
        match t {
            Table::Data => self.data.contains(path, conn, mask),
            Table::Child => self.child.contains(path, conn, mask),
        }
    }

    /// Does any connection watch `path` in this table?
    pub fn is_watched(&self, t: Table, path: &str) -> bool {
        let table = match t {
            Table::Data => &self.data,
            Table::Child => &self.child,
        };
        table.by_path.get(path).is_some_and(|c| !c.is_empty())
    }

    pub fn trigger(&mut self, t: Table, path: &str, children_changed: bool) -> BTreeSet<ConnId> {
        self.table(t).trigger(path, children_changed)
    }

    pub fn remove_conn(&mut self, conn: ConnId) {
        self.data.remove_conn(conn);
        self.child.remove_conn(conn);
    }

    /// Total (connection, path) watches over both tables, as `wchs` counts them.
    pub fn watch_count(&self) -> usize {
        self.data.by_conn.values().map(|p| p.len()).sum::<usize>()
            + self.child.by_conn.values().map(|p| p.len()).sum::<usize>()
    }

    /// Paths watched per connection. Like ZooKeeper 3.8's `wchc` and `wchp` (probed), this
    /// reports the data table only.
    pub fn paths_by_conn(&self) -> BTreeMap<ConnId, BTreeSet<String>> {
        let mut out: BTreeMap<ConnId, BTreeSet<String>> = BTreeMap::new();
        for t in [&self.data] {
            for (c, paths) in &t.by_conn {
                out.entry(*c).or_default().extend(paths.iter().cloned());
            }
        }
        out
    }

    /// Connections per watched path, data table only (see `paths_by_conn`).
    pub fn conns_by_path(&self) -> BTreeMap<String, BTreeSet<ConnId>> {
        let mut out: BTreeMap<String, BTreeSet<ConnId>> = BTreeMap::new();
        for t in [&self.data] {
            for (p, conns) in &t.by_path {
                out.entry(p.clone())
                    .or_default()
                    .extend(conns.keys().copied());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shot_fires_once() {
        let mut w = WatchManager::default();
        w.add(Table::Data, "/a", 1, STANDARD);
        w.add(Table::Data, "/a", 1, STANDARD);
        assert_eq!(w.trigger(Table::Data, "/a", false).len(), 1);
        assert!(w.trigger(Table::Data, "/a", false).is_empty());
        assert_eq!(w.watch_count(), 0);
    }

    #[test]
    fn recursive_skips_children_changed() {
        let mut w = WatchManager::default();
        w.add_persistent("/t", 7, true);
        assert!(w.trigger(Table::Data, "/t/b/c", false).contains(&7));
        assert!(w.trigger(Table::Child, "/t/b", true).is_empty());
        assert!(w.trigger(Table::Data, "/t", false).contains(&7));
        assert!(w.trigger(Table::Data, "/u", false).is_empty());
        w.add_persistent("/", 8, true);
        assert!(w.trigger(Table::Data, "/x", false).contains(&8));
    }

    #[test]
    fn persistent_stays_and_removal_by_mask() {
        let mut w = WatchManager::default();
        w.add_persistent("/p", 3, false);
        assert!(w.trigger(Table::Child, "/p", true).contains(&3));
        assert!(w.trigger(Table::Child, "/p", true).contains(&3));
        assert!(!w.remove(Table::Data, "/p", 3, STANDARD));
        assert!(w.remove(Table::Data, "/p", 3, ALL_MODES));
        w.remove_conn(3);
        assert_eq!(w.watch_count(), 0);
    }
}
