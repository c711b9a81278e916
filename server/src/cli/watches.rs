//! The client's record of its watches (`ZKWatchManager`), all of them for the one default
//! watcher that zkCli registers: which notifications reach the watcher, what removeWatches
//! takes away, and what SetWatches re-registers after a reconnect.

use std::collections::BTreeSet;

use ringkeeper_engine::proto::{event, watcher_type, SetWatches};

/// `Watcher.Event.EventType` values the client makes itself.
pub mod local_event {
    pub const DATA_WATCH_REMOVED: i32 = 5;
    pub const CHILD_WATCH_REMOVED: i32 = 6;
    pub const PERSISTENT_WATCH_REMOVED: i32 = 7;
}

#[derive(Debug, Default)]
pub struct WatchManager {
    data: BTreeSet<String>,
    exist: BTreeSet<String>,
    child: BTreeSet<String>,
    persistent: BTreeSet<String>,
    recursive: BTreeSet<String>,
}

/// Which watch a successful read leaves behind (`ZooKeeper.*WatchRegistration`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registration {
    /// getData, and exists on a node that is there.
    Data(String),
    /// exists on a node that is not there (registered on NoNode too).
    Exist(String),
    Child(String),
    Persistent(String),
    Recursive(String),
}

impl WatchManager {
    pub fn register(&mut self, reg: Registration) {
        match reg {
            Registration::Data(p) => self.data.insert(p),
            Registration::Exist(p) => self.exist.insert(p),
            Registration::Child(p) => self.child.insert(p),
            Registration::Persistent(p) => self.persistent.insert(p),
            Registration::Recursive(p) => self.recursive.insert(p),
        };
    }

    /// `ZKWatchManager.materialize` for a server notification: whether any watch of the
    /// default watcher matches (one-time watches are used up).
    pub fn materialize(&mut self, event_type: i32, path: &str) -> bool {
        let mut hit = false;
        match event_type {
            event::NODE_DATA_CHANGED | event::NODE_CREATED => {
                hit |= self.data.remove(path);
                hit |= self.exist.remove(path);
            }
            event::NODE_CHILDREN_CHANGED => hit |= self.child.remove(path),
            event::NODE_DELETED => {
                hit |= self.data.remove(path);
                hit |= self.exist.remove(path);
                hit |= self.child.remove(path);
            }
            _ => {}
        }
        hit |= self.persistent.contains(path);
        if event_type != event::NODE_CHILDREN_CHANGED {
            let mut p = path;
            loop {
                hit |= self.recursive.contains(p);
                if p == "/" {
                    break;
                }
                p = match p.rfind('/') {
                    Some(0) => "/",
                    Some(i) => &p[..i],
                    None => break,
                };
            }
        }
        hit
    }

    /// `containsWatcher`: is there a watch of this type here (checked before asking the
    /// server)?
    pub fn contains(&self, path: &str, wtype: i32) -> bool {
        let persistent = self.persistent.contains(path) || self.recursive.contains(path);
        match wtype {
            watcher_type::CHILDREN => self.child.contains(path) || persistent,
            watcher_type::DATA => {
                self.data.contains(path) || self.exist.contains(path) || persistent
            }
            _ => {
                self.child.contains(path)
                    || self.data.contains(path)
                    || self.exist.contains(path)
                    || persistent
            }
        }
    }

    /// Removes the watches of a type on `path` after the server removed them; returns the
    /// "...WatchRemoved" events to deliver (empty: nothing was removed).
    pub fn remove(&mut self, path: &str, wtype: i32) -> Vec<i32> {
        let mut events = Vec::new();
        let child = wtype != watcher_type::DATA && self.child.remove(path);
        if child {
            events.push(local_event::CHILD_WATCH_REMOVED);
        }
        if wtype != watcher_type::CHILDREN {
            let data = self.data.remove(path);
            let exist = self.exist.remove(path);
            if data || exist {
                events.push(local_event::DATA_WATCH_REMOVED);
            }
        }
        if wtype == watcher_type::ANY {
            let p = self.persistent.remove(path);
            let r = self.recursive.remove(path);
            if p || r {
                events.push(local_event::PERSISTENT_WATCH_REMOVED);
            }
        }
        events
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
            && self.exist.is_empty()
            && self.child.is_empty()
            && self.persistent.is_empty()
            && self.recursive.is_empty()
    }

    /// The SetWatches record that re-arms everything on a new connection, in server paths.
    pub fn set_watches(
        &self,
        relative_zxid: i64,
        to_server: impl Fn(&str) -> String,
    ) -> SetWatches {
        let conv = |s: &BTreeSet<String>| s.iter().map(|p| to_server(p)).collect();
        SetWatches {
            relative_zxid,
            data: conv(&self.data),
            exist: conv(&self.exist),
            child: conv(&self.child),
            persistent: conv(&self.persistent),
            persistent_recursive: conv(&self.recursive),
        }
    }

    /// Whether SetWatches needs its second form (persistent watches).
    pub fn has_persistent(&self) -> bool {
        !(self.persistent.is_empty() && self.recursive.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_and_persistent() {
        let mut w = WatchManager::default();
        w.register(Registration::Data("/a".into()));
        assert!(w.materialize(event::NODE_DATA_CHANGED, "/a"));
        assert!(!w.materialize(event::NODE_DATA_CHANGED, "/a"));
        w.register(Registration::Recursive("/r".into()));
        assert!(w.materialize(event::NODE_CREATED, "/r/x/y"));
        assert!(w.materialize(event::NODE_CREATED, "/r/x/y"));
        assert!(!w.materialize(event::NODE_CHILDREN_CHANGED, "/r"));
        assert!(!w.materialize(event::NODE_CREATED, "/rr"));
        w.register(Registration::Recursive("/".into()));
        assert!(w.materialize(event::NODE_CREATED, "/q"));
    }

    #[test]
    fn removal_events() {
        let mut w = WatchManager::default();
        w.register(Registration::Child("/a".into()));
        w.register(Registration::Exist("/a".into()));
        assert!(w.contains("/a", watcher_type::DATA));
        assert_eq!(
            w.remove("/a", watcher_type::DATA),
            vec![local_event::DATA_WATCH_REMOVED]
        );
        assert!(!w.contains("/a", watcher_type::DATA));
        assert_eq!(
            w.remove("/a", watcher_type::ANY),
            vec![local_event::CHILD_WATCH_REMOVED]
        );
        assert!(w.is_empty());
    }
}
