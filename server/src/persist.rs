//! Durability for the pipeline: the WAL in `dataLogDir` (group commit: the pipeline appends
//! a whole batch, then commits once) and fuzzy snapshots in `dataDir`, taken every
//! `snapCount` txns without stalling the write path, plus recovery at start-up.
//!
//! A snapshot is copied from the live tree a chunk at a time between pipeline batches, then
//! sorted and written by a background thread. Like ZooKeeper's, it is fuzzy: nodes may reflect
//! txns after its zxid, so recovery replays the log from that zxid over it, which `apply`
//! tolerates (NODEEXISTS and NONODE are expected there).

use crate::config::ServerConfig;
use crate::log_writer::LogWriter;
use crate::snapshot_copy::{sessions_from_snapshot, tree_from_snapshot, SnapshotCopy};
use ringkeeper_engine::proto::{decode_txn, encode_txn};
use ringkeeper_engine::txn::Txn;
use ringkeeper_engine::{Engine, EngineConfig, Now};
use ringkeeper_storage::FsBackend;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Snapshot write bandwidth: a snapshot written at full speed fills the disk queue and the
/// log's fdatasync waits behind it (measured: 50-100 ms syncs during a 200 MB snapshot).
const SNAPSHOT_BYTES_PER_SEC: u64 = 64 << 20;

pub struct Persist {
    wal: LogWriter,
    data_dir: PathBuf,
    buf: Vec<u8>,
    /// Txns and log bytes since the last snapshot began.
    txns_since_snap: u64,
    bytes_since_snap: u64,
    /// This server's randomised thresholds (ZooKeeper: a random point in [n/2+1, n]).
    snap_at_txns: u64,
    snap_at_bytes: u64,
    in_progress: Option<SnapshotCopy>,
    writing: Arc<AtomicBool>,
    pub snapshots_taken: u64,
}

/// What start-up recovered, for the log.
pub struct RecoveryReport {
    pub snapshot_zxid: Option<i64>,
    pub txns_replayed: usize,
    pub tail_cut_bytes: u64,
}

fn randomised_threshold(n: u64, seed: u64) -> u64 {
    if n < 2 {
        return n.max(1);
    }
    let half = n / 2;
    half + 1 + seed % (n - half)
}

fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id() as u64);
    h.finish()
}

impl Persist {
    /// Recovers the newest valid snapshot and the log after it, and opens the WAL for
    /// appending. Damage before the log's tail stops start-up with the file and offset.
    pub fn open(
        config: &ServerConfig,
        engine_config: EngineConfig,
        now: Now,
    ) -> Result<(Persist, Engine, RecoveryReport), String> {
        let backend = FsBackend::new();
        let loaded =
            ringkeeper_storage::load_latest_snapshot(&backend, &config.data_dir).map_err(|e| {
                format!(
                    "cannot read snapshots in {}: {e}",
                    config.data_dir.display()
                )
            })?;
        let (mut engine, snap_zxid) = match &loaded {
            Some((zxid, snap)) => {
                let tree = tree_from_snapshot(snap)?;
                let sessions = sessions_from_snapshot(snap);
                (
                    Engine::restore(engine_config, tree, sessions, *zxid, now),
                    Some(*zxid),
                )
            }
            None => (Engine::new(engine_config, now), None),
        };
        drop(loaded);
        let (wal, recovered) = LogWriter::open(
            config,
            &config.data_log_dir,
            snap_zxid.unwrap_or(0),
            "transaction log",
        )?;
        let tail_cut_bytes = recovered.tail.as_ref().map_or(0, |t| t.garbage_bytes);
        let txns_replayed = recovered.records.len();
        for (zxid, bytes) in &recovered.records {
            let txn: Txn = decode_txn(bytes).map_err(|e| {
                format!("transaction log record zxid {zxid:#x} does not decode: {e}")
            })?;
            engine.replay(&txn, now);
        }
        let s = seed();
        let persist = Persist {
            wal,
            data_dir: config.data_dir.clone(),
            buf: Vec::with_capacity(4096),
            txns_since_snap: txns_replayed as u64,
            bytes_since_snap: 0,
            snap_at_txns: randomised_threshold(config.snap_count as u64, s),
            snap_at_bytes: if config.snap_size_limit_kb > 0 {
                randomised_threshold(config.snap_size_limit_kb as u64 * 1024, s >> 16)
            } else {
                u64::MAX
            },
            in_progress: None,
            writing: Arc::new(AtomicBool::new(false)),
            snapshots_taken: 0,
        };
        let report = RecoveryReport {
            snapshot_zxid: snap_zxid,
            txns_replayed,
            tail_cut_bytes,
        };
        Ok((persist, engine, report))
    }

    pub async fn append(&mut self, txn: &Txn) -> Result<(), String> {
        self.buf.clear();
        encode_txn(txn, &mut self.buf);
        self.wal
            .append(txn.zxid, &self.buf)
            .map_err(|e| e.to_string())?;
        self.txns_since_snap += 1;
        self.bytes_since_snap += self.buf.len() as u64;
        if self.wal.batch_full() {
            self.commit().await?;
        }
        Ok(())
    }

    /// Writes and syncs the batch; returns the durable zxid. The pipeline core runs other
    /// tasks while this waits for the disk.
    pub async fn commit(&mut self) -> Result<i64, String> {
        let started = std::time::Instant::now();
        let stats = self.wal.commit().await.map_err(|e| e.to_string())?;
        let ms = started.elapsed().as_millis() as u64;
        if ms >= 20 {
            tracing::debug!(
                ms,
                rolled = stats.rolled,
                fsync_ms = stats.fsync_ns / 1_000_000,
                write_ms = stats.write_ns / 1_000_000,
                records = stats.records,
                "slow log commit"
            );
        }
        Ok(stats.durable_zxid)
    }

    pub fn log_size(&self) -> u64 {
        self.wal.last_segment_len()
    }

    /// Starts a snapshot when one is due (and none is being written).
    pub fn maybe_start_snapshot(&mut self, engine: &Engine) {
        let due = self.txns_since_snap >= self.snap_at_txns
            || self.bytes_since_snap >= self.snap_at_bytes;
        if !due || self.in_progress.is_some() {
            return;
        }
        if self.writing.load(Ordering::Acquire) {
            tracing::warn!("Too busy to snap, skipping");
            return;
        }
        self.txns_since_snap = 0;
        self.bytes_since_snap = 0;
        if let Err(e) = self.wal.roll() {
            tracing::warn!("cannot roll the log before a snapshot: {e}");
        }
        let copy = SnapshotCopy::begin(engine, engine.last_zxid());
        tracing::info!(
            zxid = format!("{:#x}", engine.last_zxid()),
            nodes = copy.nodes(),
            "snapshot started"
        );
        self.in_progress = Some(copy);
    }

    pub fn snapshot_in_progress(&self) -> bool {
        self.in_progress.is_some()
    }

    /// Copies the next chunk of the tree; hands the finished image to a writer thread.
    pub fn snapshot_step(&mut self, engine: &Engine) {
        let Some(copy) = self.in_progress.as_mut() else {
            return;
        };
        if !copy.step(engine) {
            return;
        }
        let Some(copy) = self.in_progress.take() else {
            return;
        };
        let image = copy.finish();
        let data_dir = self.data_dir.clone();
        let writing = self.writing.clone();
        writing.store(true, Ordering::Release);
        self.snapshots_taken += 1;
        let spawned = std::thread::Builder::new()
            .name("rk-snapshot".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                crate::snapshot_copy::yield_to_the_write_path();
                let backend = FsBackend::new();
                let paced = ringkeeper_storage::snapshot::write_snapshot_paced(
                    &backend,
                    &data_dir,
                    &image,
                    SNAPSHOT_BYTES_PER_SEC,
                );
                match paced {
                    Ok(info) => tracing::info!(
                        file = %info.path.display(),
                        bytes = info.file_len,
                        ms = started.elapsed().as_millis() as u64,
                        "snapshot written"
                    ),
                    Err(e) => tracing::error!("snapshot failed: {e}"),
                }
                writing.store(false, Ordering::Release);
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start the snapshot writer: {e}");
            self.writing.store(false, Ordering::Release);
        }
    }
}

/// Keeps the newest `count` snapshots (at least 3) and the logs needed to replay them.
pub fn purge(
    data_dir: &std::path::Path,
    data_log_dir: &std::path::Path,
    count: usize,
) -> Result<ringkeeper_storage::PurgeReport, String> {
    ringkeeper_storage::purge(&FsBackend::new(), data_dir, data_log_dir, count)
        .map_err(|e| format!("purge failed: {e}"))
}

/// `autopurge.purgeInterval` (hours; 0 = off): purge on a thread of its own.
pub fn start_autopurge(config: &ServerConfig) {
    let hours = config.autopurge_purge_interval_hours;
    if hours == 0 {
        return;
    }
    let (data_dir, log_dir) = (config.data_dir.clone(), config.data_log_dir.clone());
    let retain = config.autopurge_snap_retain_count as usize;
    let every = std::time::Duration::from_secs(hours as u64 * 3600);
    let spawned = std::thread::Builder::new()
        .name("rk-autopurge".into())
        .spawn(move || loop {
            match purge(&data_dir, &log_dir, retain) {
                Ok(r) => tracing::info!(
                    snapshots = r.removed_snapshots.len(),
                    logs = r.removed_logs.len(),
                    "autopurge done"
                ),
                Err(e) => tracing::warn!("{e}"),
            }
            std::thread::sleep(every);
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot start autopurge: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringkeeper_engine::txn::Data;
    use ringkeeper_storage::snapshot::{write_snapshot, SnapAcl, SnapAclList, SnapNode};
    use ringkeeper_storage::SnapshotImage;
    use std::collections::HashMap;

    /// A server configuration over `dir` (dataDir and dataLogDir), with the buffered log so
    /// no glommio executor is needed.
    pub(crate) fn config_in(dir: &std::path::Path) -> ServerConfig {
        let text = format!("dataDir={}\nringkeeper.walDirectIo=false\n", dir.display());
        crate::config::parse(&text, &dir.join("zoo.cfg"))
            .expect("test config parses")
            .0
    }

    fn snap_node_at(path: &str, acl_index: u32) -> SnapNode {
        SnapNode {
            path: path.into(),
            data: Some(Arc::from(&b""[..])),
            acl_index,
            czxid: 1,
            mzxid: 1,
            ctime: 1,
            mtime: 1,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner: 0,
            pzxid: 1,
        }
    }

    /// Levels of the nested chain: Apache ZooKeeper 3.8 cannot restart after this many.
    const DEPTH: usize = 20_000;

    fn create_txn(path: &str, zxid: i64) -> Txn {
        create_txn_with(path, zxid, Data::from(&b"d"[..]))
    }

    fn create_txn_with(path: &str, zxid: i64, data: Data) -> Txn {
        Txn {
            session_id: 0,
            cxid: zxid as i32,
            zxid,
            time_ms: zxid,
            body: ringkeeper_engine::txn::TxnBody::Create {
                opcode: ringkeeper_engine::proto::op::CREATE,
                path: path.into(),
                data,
                acl: ringkeeper_engine::proto::Acl::open_unsafe(),
                ephemeral_owner: 0,
                parent_cversion: 1,
            },
        }
    }

    /// A chain of 20,000 nested znodes, half in a snapshot and half in the log after it,
    /// recovered by a restart on a thread whose stack overflows on any recursion per level.
    #[test]
    fn deep_chain_survives_snapshot_and_restart_on_a_small_stack() {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(deep_chain_restart)
            .unwrap()
            .join()
            .expect("the small-stack thread panicked (or overflowed its stack)");
    }

    /// Takes a snapshot now and waits until its writer thread is done.
    fn take_snapshot(persist: &mut Persist, engine: &Engine) {
        persist.snap_at_txns = 0;
        persist.maybe_start_snapshot(engine);
        assert!(persist.snapshot_in_progress());
        while persist.snapshot_in_progress() {
            persist.snapshot_step(engine);
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while persist.writing.load(Ordering::Acquire) {
            assert!(std::time::Instant::now() < deadline, "snapshot not written");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Null data is not empty data (ZooKeeper's create(path, null) reads back as null), in
    /// a snapshot as in the log replayed after it.
    #[test]
    fn null_data_survives_snapshot_and_log() {
        let tmp = tempfile::tempdir().unwrap();
        let config = config_in(tmp.path());
        let (mut persist, mut engine, _) =
            Persist::open(&config, EngineConfig::default(), Now::at(0)).unwrap();
        let empty = || Data::from(&b""[..]);
        let mut zxid = engine.last_zxid();
        let mut log = |persist: &mut Persist, engine: &mut Engine, path: &str, data: Data| {
            zxid += 1;
            let txn = create_txn_with(path, zxid, data);
            futures_lite::future::block_on(persist.append(&txn)).unwrap();
            futures_lite::future::block_on(persist.commit()).unwrap();
            engine.replay(&txn, Now::at(0));
        };
        log(&mut persist, &mut engine, "/snap-null", Data::null());
        log(&mut persist, &mut engine, "/snap-empty", empty());
        take_snapshot(&mut persist, &engine);
        log(&mut persist, &mut engine, "/log-null", Data::null());
        log(&mut persist, &mut engine, "/log-empty", empty());
        drop(persist);

        let (_, restarted, report) =
            Persist::open(&config, EngineConfig::default(), Now::at(0)).unwrap();
        assert_eq!(report.txns_replayed, 2);
        let tree = restarted.tree();
        for (path, null) in [
            ("/snap-null", true),
            ("/snap-empty", false),
            ("/log-null", true),
            ("/log-empty", false),
        ] {
            let data = &tree.get(path).unwrap().data;
            assert_eq!((data.is_null(), data.len()), (null, 0), "{path}");
        }
    }

    fn set_acl_txn(path: &str, zxid: i64, acl: Vec<ringkeeper_engine::proto::Acl>) -> Txn {
        Txn {
            session_id: 0,
            cxid: zxid as i32,
            zxid,
            time_ms: zxid,
            body: ringkeeper_engine::txn::TxnBody::SetAcl {
                path: path.into(),
                acl,
                version: 1,
            },
        }
    }

    fn digest(user: &str) -> Vec<ringkeeper_engine::proto::Acl> {
        vec![ringkeeper_engine::proto::Acl::new(
            31,
            "digest",
            &format!("{user}:h"),
        )]
    }

    /// ACL usages survive a snapshot and the log after it, and a snapshot taken while setACL
    /// and delete free and reuse ACL indexes between its chunks still gives each node the
    /// list it had (a table copied once at the start would not hold the new lists).
    #[test]
    fn acl_usages_survive_a_fuzzy_snapshot_and_restart() {
        use ringkeeper_engine::txn::TxnBody;
        let tmp = tempfile::tempdir().unwrap();
        let config = config_in(tmp.path());
        let (mut persist, mut engine, _) =
            Persist::open(&config, EngineConfig::default(), Now::at(0)).unwrap();
        let mut zxid = engine.last_zxid();
        let mut apply = |persist: &mut Persist, engine: &mut Engine, body: TxnBody| {
            zxid += 1;
            let mut txn = create_txn(&format!("/unused{zxid}"), zxid);
            txn.body = body;
            futures_lite::future::block_on(persist.append(&txn)).unwrap();
            futures_lite::future::block_on(persist.commit()).unwrap();
            engine.replay(&txn, Now::at(0));
            zxid
        };
        let create = |path: &str, acl| TxnBody::Create {
            opcode: ringkeeper_engine::proto::op::CREATE,
            path: path.into(),
            data: Data::from(&b""[..]),
            acl,
            ephemeral_owner: 0,
            parent_cversion: -1,
        };
        for (path, user) in [("/a1", "a"), ("/a2", "a"), ("/b", "b"), ("/c", "c")] {
            apply(&mut persist, &mut engine, create(path, digest(user)));
        }
        // The snapshot starts; before its chunk is copied /c leaves list c (freed), list d
        // takes its index, /b moves to d (b freed), /a1 to f (takes b's index), and /a2 to
        // e, which needs an index of its own: a table taken at the start has no such entry.
        persist.snap_at_txns = 0;
        persist.maybe_start_snapshot(&engine);
        let delete = TxnBody::Delete {
            opcode: ringkeeper_engine::proto::op::DELETE,
            path: "/c".into(),
        };
        apply(&mut persist, &mut engine, delete);
        let z = apply(&mut persist, &mut engine, create("/d", digest("d")));
        let set = set_acl_txn("/b", z + 1, digest("d")).body;
        apply(&mut persist, &mut engine, set);
        let set = set_acl_txn("/a1", 0, digest("f")).body;
        apply(&mut persist, &mut engine, set);
        let set = set_acl_txn("/a2", 0, digest("e")).body;
        apply(&mut persist, &mut engine, set);
        while persist.snapshot_in_progress() {
            persist.snapshot_step(&engine);
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while persist.writing.load(Ordering::Acquire) {
            assert!(std::time::Instant::now() < deadline, "snapshot not written");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let set = set_acl_txn("/a1", 0, digest("a")).body;
        apply(&mut persist, &mut engine, set);
        drop(persist);

        let (_, restarted, _) =
            Persist::open(&config, EngineConfig::default(), Now::at(0)).unwrap();
        let (live, back) = (engine.tree(), restarted.tree());
        for (path, user) in [("/a1", "a"), ("/a2", "e"), ("/b", "d"), ("/d", "d")] {
            let n = back.get(path).unwrap();
            assert_eq!(back.acl_of(n), &digest(user)[..], "{path}");
            assert_eq!(live.acl_of(live.get(path).unwrap()), &digest(user)[..]);
        }
        assert!(back.get("/c").is_none());
        for tree in [live, back] {
            let mut used: HashMap<Vec<ringkeeper_engine::proto::Acl>, u64> = HashMap::new();
            for (_, n) in tree.iter() {
                *used.entry(tree.acl_of(n).to_vec()).or_default() += 1;
            }
            for (_, n) in tree.iter() {
                let want = used[tree.acl_of(n)];
                assert_eq!(tree.acls().usages(n.acl), want, "{:?}", tree.acl_of(n));
            }
            assert_eq!(tree.acls().len(), used.len());
        }
    }

    fn deep_chain_restart() {
        let tmp = tempfile::tempdir().unwrap();
        let config = config_in(tmp.path());
        let (mut persist, mut engine, _) =
            Persist::open(&config, EngineConfig::default(), Now::at(0)).unwrap();
        let mut path = String::with_capacity(2 * DEPTH);
        let mut zxid = engine.last_zxid();
        let mut log = |persist: &mut Persist, engine: &mut Engine, levels: usize| {
            for _ in 0..levels {
                path.push_str("/a");
                zxid += 1;
                let txn = create_txn(&path, zxid);
                futures_lite::future::block_on(persist.append(&txn)).unwrap();
                engine.replay(&txn, Now::at(0));
            }
            futures_lite::future::block_on(persist.commit()).unwrap();
        };
        log(&mut persist, &mut engine, DEPTH / 2);
        let snap_zxid = engine.last_zxid();
        take_snapshot(&mut persist, &engine);
        log(&mut persist, &mut engine, DEPTH - DEPTH / 2);
        drop(persist);

        let (_, restarted, report) =
            Persist::open(&config, EngineConfig::default(), Now::at(0)).unwrap();
        assert_eq!(report.snapshot_zxid, Some(snap_zxid));
        assert_eq!(report.txns_replayed, DEPTH - DEPTH / 2);
        let (live, back) = (engine.tree(), restarted.tree());
        // The chain plus /zookeeper and its two children.
        assert_eq!(back.descendant_count("/"), DEPTH + 3);
        assert_eq!(back.node_count(), live.node_count());
        for (p, n) in live.iter() {
            let m = back
                .get(p)
                .unwrap_or_else(|| panic!("{} lost", &p[..p.len().min(40)]));
            assert_eq!(
                m.stat(),
                n.stat(),
                "stat of a node at depth {}",
                p.len() / 2
            );
            assert_eq!(m.data, n.data);
        }
    }

    /// A crafted snapshot whose znode points past the ACL table must stop start-up, naming
    /// the file, the znode and the index, instead of loading the node as world:anyone ALL.
    #[test]
    fn out_of_range_acl_index_stops_start_up() {
        let tmp = tempfile::tempdir().unwrap();
        let open = SnapAclList {
            entries: vec![SnapAcl {
                perms: 31,
                scheme: "world".into(),
                id: "anyone".into(),
            }],
        };
        let image = SnapshotImage {
            last_zxid: 5,
            sessions: vec![],
            acls: vec![open],
            nodes: vec![
                snap_node_at("/", 0),
                snap_node_at("/zookeeper", 0),
                snap_node_at("/secret", 7),
            ],
        };
        let info = write_snapshot(&FsBackend::new(), tmp.path(), &image).unwrap();
        let config = config_in(tmp.path());
        let err = match Persist::open(&config, EngineConfig::default(), Now::at(0)) {
            Ok(_) => panic!("a snapshot with ACL index 7 of 1 list loaded"),
            Err(e) => e,
        };
        let file = info.path.display().to_string();
        assert!(err.contains(&file), "{err}");
        assert!(err.contains("/secret"), "{err}");
        assert!(err.contains("ACL index 7"), "{err}");
    }

    #[test]
    fn snap_threshold_in_zookeeper_range() {
        for seed in 0..1000 {
            let t = randomised_threshold(100_000, seed);
            assert!((50_001..=100_000).contains(&t), "{t}");
        }
        assert_eq!(randomised_threshold(1, 7), 1);
    }
}
