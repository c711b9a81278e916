//! Copying the live tree into a snapshot image without stalling the write path: the paths
//! are taken at once (shared strings), the znodes a chunk at a time between pipeline
//! batches, so the copy is fuzzy as ZooKeeper's is (recovery replays the log from the zxid
//! the copy began at). Used by a standalone server's `Persist` and an ensemble member's
//! snapshots; also turns a loaded snapshot back into a tree.

use ringkeeper_engine::tree::{DataTree, Znode};
use ringkeeper_engine::txn::Data;
use ringkeeper_engine::Engine;
use ringkeeper_storage::snapshot::{LoadedSnapshot, SnapAcl, SnapAclList, SnapNode, SnapSession};
use ringkeeper_storage::SnapshotImage;
use std::collections::HashMap;
use std::sync::Arc;

/// Znodes copied into a snapshot per pipeline iteration: small enough to keep a batch's
/// latency in the tens of microseconds.
const SNAPSHOT_CHUNK: usize = 4096;

pub struct SnapshotCopy {
    paths: Vec<Arc<str>>,
    next: usize,
    image: SnapshotImage,
    /// Live ACL index -> index in `image.acls`. A list is written as the node copied with it
    /// had it: between chunks, setACL and delete may free a live index and reuse it for
    /// another list, so the live table at any one moment would not fit every chunk.
    acl_index: HashMap<u32, u32>,
}

impl SnapshotCopy {
    /// Takes the paths and sessions now; `zxid` is the last txn wholly in the copy.
    pub fn begin(engine: &Engine, zxid: i64) -> SnapshotCopy {
        let sessions = engine
            .sessions()
            .iter()
            .map(|s| SnapSession {
                session_id: s.session_id,
                timeout_ms: s.timeout_ms,
            })
            .collect();
        let paths: Vec<Arc<str>> = engine.tree().iter().map(|(p, _)| p.clone()).collect();
        SnapshotCopy {
            image: SnapshotImage {
                last_zxid: zxid,
                sessions,
                acls: Vec::new(),
                nodes: Vec::with_capacity(paths.len()),
            },
            paths,
            next: 0,
            acl_index: HashMap::new(),
        }
    }

    /// Znodes to copy in all.
    pub fn nodes(&self) -> usize {
        self.paths.len()
    }

    /// Copies the next chunk; true once every znode is copied.
    pub fn step(&mut self, engine: &Engine) -> bool {
        let tree = engine.tree();
        let end = (self.next + SNAPSHOT_CHUNK).min(self.paths.len());
        for p in &self.paths[self.next..end] {
            if let Some(n) = tree.get(p) {
                let acls = &mut self.image.acls;
                let acl_index = *self.acl_index.entry(n.acl).or_insert_with(|| {
                    acls.push(snap_acl_list(tree.acl_of(n)));
                    (acls.len() - 1) as u32
                });
                self.image.nodes.push(snap_node(p, n, acl_index));
            }
        }
        self.next = end;
        end == self.paths.len()
    }

    pub fn finish(self) -> SnapshotImage {
        self.image
    }
}

/// Rebuilds the tree from a snapshot. An ACL index the snapshot's ACL table does not hold
/// stops start-up: reading it as some other list (say world:anyone ALL) would silently grant
/// access to a znode its owner had closed.
pub fn tree_from_snapshot(snap: &LoadedSnapshot) -> Result<DataTree, String> {
    let image = snap.image();
    let mut tree = DataTree::empty();
    let mut acl_map = Vec::with_capacity(image.acls.len());
    for list in image.acls.iter() {
        let acl: Vec<ringkeeper_engine::proto::Acl> = list
            .entries
            .iter()
            .map(|a| ringkeeper_engine::proto::Acl::new(a.perms.to_native(), &a.scheme, &a.id))
            .collect();
        acl_map.push(tree.intern_acl(&acl));
    }
    for n in image.nodes.iter() {
        let index = n.acl_index.to_native();
        let Some(&acl) = acl_map.get(index as usize) else {
            return Err(format!(
                "snapshot {} is invalid: znode {:?} has ACL index {index}, but the snapshot \
                 holds {} ACL lists",
                snap.path().display(),
                n.path.as_str(),
                acl_map.len()
            ));
        };
        let mut node = Znode::new(
            n.data
                .as_ref()
                .map_or(Data::null(), |d| d.as_slice().into()),
            acl,
            n.ephemeral_owner.to_native(),
            n.czxid.to_native(),
            n.ctime.to_native(),
        );
        node.mzxid = n.mzxid.to_native();
        node.mtime = n.mtime.to_native();
        node.version = n.version.to_native();
        node.cversion = n.cversion.to_native();
        node.aversion = n.aversion.to_native();
        node.pzxid = n.pzxid.to_native();
        tree.insert_unlinked(n.path.as_str(), node);
    }
    // Snapshots are written unsorted (sorting a million paths would cost the writer
    // thread a second of CPU): link children once everything is in.
    tree.link_children();
    tree.purge_unused_acls();
    Ok(tree)
}

/// A loaded snapshot's sessions as (id, timeout in ms).
pub fn sessions_from_snapshot(snap: &LoadedSnapshot) -> Vec<(i64, i32)> {
    snap.image()
        .sessions
        .iter()
        .map(|s| (s.session_id.to_native(), s.timeout_ms.to_native()))
        .collect()
}

fn snap_acl_list(acl: &[ringkeeper_engine::proto::Acl]) -> SnapAclList {
    SnapAclList {
        entries: acl
            .iter()
            .map(|a| SnapAcl {
                perms: a.perms,
                scheme: a.id.scheme.clone(),
                id: a.id.id.clone(),
            })
            .collect(),
    }
}

/// Shares the node's path and data with the live tree: no copy of the bytes. `acl_index`
/// is the node's list in the snapshot's table.
fn snap_node(path: &Arc<str>, n: &Znode, acl_index: u32) -> SnapNode {
    SnapNode {
        path: path.clone(),
        data: n.data.shared().cloned(),
        acl_index,
        czxid: n.czxid,
        mzxid: n.mzxid,
        ctime: n.ctime,
        mtime: n.mtime,
        version: n.version,
        cversion: n.cversion,
        aversion: n.aversion,
        ephemeral_owner: n.ephemeral_owner,
        pzxid: n.pzxid,
    }
}

/// Makes the calling (snapshot writer) thread stay out of the write path's way: off the
/// pipeline's core, lowest CPU priority, lowest best-effort I/O priority. The thread is
/// spawned from the pipeline and inherits its pinning, so without this the snapshot and the
/// txns it must not stall would share one core.
pub fn yield_to_the_write_path() {
    // SAFETY: plain syscalls on the calling thread with valid arguments and a zeroed
    // cpu_set_t; a failure only leaves the thread as it was.
    unsafe {
        let size = std::mem::size_of::<libc::cpu_set_t>();
        let mut inherited: libc::cpu_set_t = std::mem::zeroed();
        let cpus = libc::sysconf(libc::_SC_NPROCESSORS_ONLN).max(1) as usize;
        if libc::sched_getaffinity(0, size, &mut inherited) == 0 {
            let mut others: libc::cpu_set_t = std::mem::zeroed();
            let mut any = false;
            for cpu in (0..cpus).filter(|c| !libc::CPU_ISSET(*c, &inherited)) {
                libc::CPU_SET(cpu, &mut others);
                any = true;
            }
            if any {
                libc::sched_setaffinity(0, size, &others);
            }
        }
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19);
        // IOPRIO_WHO_PROCESS (1), class best-effort (2) << 13, level 7 (the lowest).
        libc::syscall(libc::SYS_ioprio_set, 1, tid, (2 << 13) | 7);
    }
}
