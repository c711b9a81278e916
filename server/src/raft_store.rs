//! An ensemble member's durable Raft state (issue 8, item 2) in the same write-ahead log a
//! standalone server uses, so it gets the same torn-tail cuts, damage checks, poisoning,
//! segment rolls, preallocation and group commit.
//!
//! Each [`PersistTask`] is one record in `<dataLogDir>/raft/version-2`, keyed by a task
//! sequence number 1, 2, 3, ... that continues across restarts (raft's ready numbers restart
//! at 1 in every process, and the log wants each key to follow the one before it). Replay
//! applies the tasks in order with [`DurableState::apply`], which is exactly what the member
//! asked for: a task whose entries start at or below the last index cuts the tail there.
//!
//! Record payload (little-endian): version byte, flags (bit 0: hard state present, bit 1:
//! snapshot present), the hard state as u32-length-prefixed protobuf bytes when present,
//! the snapshot when present (a kind byte, 1 compact or 2 install, then raft's `Snapshot`
//! with the mark as its data, u32-length-prefixed protobuf), a u32 entry count, then each
//! entry as u32-length-prefixed protobuf bytes.
//!
//! Compaction: a `Compact` task is a checkpoint (hard state, snapshot, every entry after it).
//! The log rolls to a new segment at the commit that carries it, and once it is durable every
//! segment before that one is removed; replay skips to the first checkpoint when the log no
//! longer starts at key 1, and needs nothing older.

use crate::config::ServerConfig;
use crate::log_writer::LogWriter;
use protobuf::Message;
use raft::eraftpb::{Entry, HardState, Snapshot};
use ringkeeper_engine::replica::{DurableState, PersistTask, SnapshotMark, SnapshotTask};
use ringkeeper_storage::snapshot::parse_snapshot_name;
use ringkeeper_storage::wal::parse_segment_name;
use std::path::Path;

/// Kept apart from a standalone server's `version-2` in dataLogDir: the two never mix.
const RAFT_DIR: &str = "raft";
const FORMAT_VERSION: u8 = 1;
const FLAG_HARD_STATE: u8 = 1;
const FLAG_SNAPSHOT: u8 = 2;
const SNAPSHOT_COMPACT: u8 = 1;
const SNAPSHOT_INSTALL: u8 = 2;

pub struct RaftStore {
    wal: LogWriter,
    /// The key of the next record: one above the last task written or recovered.
    next_seq: i64,
    buf: Vec<u8>,
    /// A checkpoint appended and not yet durable: (its key, the snapshot index).
    checkpoint: Option<(i64, u64)>,
}

/// What start-up recovered, for the log.
pub struct RaftRecovery {
    pub durable: DurableState,
    pub tasks_replayed: usize,
    pub tail_cut_bytes: u64,
}

impl RaftStore {
    /// `initial` = DurableState::initial(voters, observers) from zoo.cfg; recovered tasks are
    /// applied over it. Damage before the log's tail, or a record that does not decode or
    /// does not continue the state before it, stops start-up naming the record.
    pub fn open(
        config: &ServerConfig,
        initial: DurableState,
    ) -> Result<(RaftStore, RaftRecovery), String> {
        let dir = config.data_log_dir.join(RAFT_DIR);
        // After a compaction the log starts at a checkpoint's segment, not at key 1.
        let first_key = ringkeeper_storage::wal::list_segments(
            &ringkeeper_storage::FsBackend::new(),
            &dir.join("version-2"),
        )
        .ok()
        .and_then(|segs| segs.first().map(|s| s.first_zxid))
        .unwrap_or(1);
        let (wal, recovered) = LogWriter::open(config, &dir, first_key - 1, "Raft log")?;
        let tail_cut_bytes = recovered.tail.as_ref().map_or(0, |t| t.garbage_bytes);
        let mut durable = initial;
        // Segments before a checkpoint whose removal a crash interrupted: what they hold
        // the checkpoint holds too.
        let mut skipping = first_key > 1;
        for (seq, bytes) in &recovered.records {
            if skipping {
                if !is_checkpoint(bytes) {
                    continue;
                }
                skipping = false;
            }
            let task = decode_task(*seq, bytes)
                .and_then(|task| check_continues(&durable, &task).map(|()| task))
                .map_err(|e| format!("Raft log record {seq} in {}: {e}", dir.display()))?;
            durable.apply(&task);
        }
        let store = RaftStore {
            wal,
            next_seq: recovered.last_zxid.unwrap_or(0) + 1,
            buf: Vec::with_capacity(4096),
            checkpoint: None,
        };
        let recovery = RaftRecovery {
            durable,
            tasks_replayed: recovered.records.len(),
            tail_cut_bytes,
        };
        Ok((store, recovery))
    }

    /// Buffers one task (may commit on its own when the batch is full, as Persist::append
    /// does). A task with nothing to keep is not written.
    pub async fn append(&mut self, task: &PersistTask) -> Result<(), String> {
        if task.hard_state.is_none() && task.entries.is_empty() && task.snapshot.is_none() {
            return Ok(());
        }
        if let Some(SnapshotTask::Compact(mark)) = &task.snapshot {
            // The checkpoint starts a segment, so that the segments before it can go.
            match self.wal.roll() {
                Ok(()) => self.checkpoint = Some((self.next_seq, mark.index)),
                Err(e) => tracing::warn!("cannot roll the Raft log for a checkpoint: {e}"),
            }
        }
        self.buf.clear();
        encode_task(task, &mut self.buf)
            .map_err(|e| format!("cannot encode Raft task {}: {e}", task.number))?;
        self.wal
            .append(self.next_seq, &self.buf)
            .map_err(|e| e.to_string())?;
        self.next_seq += 1;
        if self.wal.batch_full() {
            self.commit().await?;
        }
        Ok(())
    }

    /// Writes and fdatasyncs (forceSync) everything appended: one group commit.
    /// Returns the index of a snapshot the log now starts after (its checkpoint is durable
    /// and the segments before it are gone).
    pub async fn commit(&mut self) -> Result<Option<u64>, String> {
        self.wal.commit().await.map_err(|e| e.to_string())?;
        let Some((seq, index)) = self.checkpoint.take() else {
            return Ok(None);
        };
        // The roll takes effect at this commit, with the batch's first record: the
        // checkpoint's segment is the last one starting at or before it.
        let segments = self.wal.segments();
        let keep_from = segments
            .iter()
            .rposition(|s| s.first_zxid <= seq)
            .unwrap_or(0);
        // Oldest first. A crash part way leaves segments that start in the middle of the
        // log: `open` skips to the first checkpoint then.
        for seg in &segments[..keep_from] {
            if let Err(e) = std::fs::remove_file(&seg.path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(file = %seg.path.display(), error = %e, "cannot remove an old Raft log segment");
                }
            }
        }
        Ok(Some(index))
    }

    pub fn log_size(&self) -> u64 {
        self.wal.last_segment_len()
    }
}

/// True when dataDir or dataLogDir holds a standalone server's snapshot or log (version-2
/// files outside the raft dir): an ensemble member must not start over them and silently
/// ignore the tree they hold.
pub fn standalone_data_present(config: &ServerConfig) -> bool {
    let holds = |dir: &Path| {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                e.file_name().to_str().is_some_and(|name| {
                    parse_snapshot_name(name).is_some() || parse_segment_name(name).is_some()
                })
            })
        })
    };
    holds(&config.snap_dir()) || holds(&config.txn_log_dir())
}

fn put_message(m: &impl Message, out: &mut Vec<u8>) -> Result<(), String> {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    m.write_to_vec(out).map_err(|e| e.to_string())?;
    let len = u32::try_from(out.len() - at - 4).map_err(|_| "message over 4 GiB".to_string())?;
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

fn encode_task(task: &PersistTask, out: &mut Vec<u8>) -> Result<(), String> {
    out.push(FORMAT_VERSION);
    let mut flags = 0;
    if task.hard_state.is_some() {
        flags |= FLAG_HARD_STATE;
    }
    if task.snapshot.is_some() {
        flags |= FLAG_SNAPSHOT;
    }
    out.push(flags);
    if let Some(hs) = &task.hard_state {
        put_message(hs, out)?;
    }
    if let Some(snap) = &task.snapshot {
        out.push(match snap {
            SnapshotTask::Compact(_) => SNAPSHOT_COMPACT,
            SnapshotTask::Install(_) => SNAPSHOT_INSTALL,
        });
        put_message(&snap.mark().to_raft(), out)?;
    }
    let count = u32::try_from(task.entries.len()).map_err(|_| "too many entries".to_string())?;
    out.extend_from_slice(&count.to_le_bytes());
    for e in &task.entries {
        put_message(e, out)?;
    }
    Ok(())
}

/// Reads the payload front to back; every short or malformed field is an error.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err(format!("{what}: needs {n} bytes, {} left", self.0.len()));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn message<M: Message>(&mut self, what: &str) -> Result<M, String> {
        let len = self.u32(what)? as usize;
        let bytes = self.take(len, what)?;
        M::parse_from_bytes(bytes).map_err(|e| format!("{what}: {e}"))
    }
}

/// Whether a record is a checkpoint (a `Compact` task), from its first bytes.
fn is_checkpoint(payload: &[u8]) -> bool {
    let mut r = Reader(payload);
    let (Ok(FORMAT_VERSION), Ok(flags)) = (r.u8("version"), r.u8("flags")) else {
        return false;
    };
    if flags & FLAG_SNAPSHOT == 0 {
        return false;
    }
    if flags & FLAG_HARD_STATE != 0 && r.message::<HardState>("hard state").is_err() {
        return false;
    }
    r.u8("snapshot kind") == Ok(SNAPSHOT_COMPACT)
}

fn decode_task(seq: i64, payload: &[u8]) -> Result<PersistTask, String> {
    let mut r = Reader(payload);
    let version = r.u8("version")?;
    if version != FORMAT_VERSION {
        return Err(format!("unknown format version {version}"));
    }
    let flags = r.u8("flags")?;
    if flags & !(FLAG_HARD_STATE | FLAG_SNAPSHOT) != 0 {
        return Err(format!("unknown flags {flags:#x}"));
    }
    let hard_state = if flags & FLAG_HARD_STATE != 0 {
        Some(r.message::<HardState>("hard state")?)
    } else {
        None
    };
    let snapshot = if flags & FLAG_SNAPSHOT != 0 {
        let kind = r.u8("snapshot kind")?;
        let raft = r.message::<Snapshot>("snapshot")?;
        let mark = SnapshotMark::from_raft(&raft).ok_or("snapshot without a valid mark")?;
        Some(match kind {
            SNAPSHOT_COMPACT => SnapshotTask::Compact(mark),
            SNAPSHOT_INSTALL => SnapshotTask::Install(mark),
            k => return Err(format!("unknown snapshot kind {k}")),
        })
    } else {
        None
    };
    let count = r.u32("entry count")?;
    // Each entry takes at least its 4-byte length: a count beyond that is damage, and must
    // not size an allocation.
    if count as usize > r.0.len() / 4 {
        return Err(format!("entry count {count} in {} bytes", r.0.len()));
    }
    let entries = (0..count)
        .map(|i| r.message::<Entry>(&format!("entry {i}")))
        .collect::<Result<Vec<Entry>, String>>()?;
    if !r.0.is_empty() {
        return Err(format!("{} bytes after the last entry", r.0.len()));
    }
    Ok(PersistTask {
        number: seq as u64,
        hard_state,
        entries,
        snapshot,
    })
}

/// What `DurableState::apply` asserts, checked first: a record read from disk that breaks
/// it is damage to report, not a bug to panic on.
fn check_continues(durable: &DurableState, task: &PersistTask) -> Result<(), String> {
    let mut base = durable.snapshot.as_ref().map_or(0, |m| m.index);
    let mut last = durable.entries.last().map_or(base, |e| e.index);
    match &task.snapshot {
        // Replay that starts at a checkpoint (the segments before it were removed).
        Some(SnapshotTask::Compact(mark)) if durable.entries.is_empty() && base == 0 => {
            (base, last) = (mark.index, mark.index)
        }
        Some(SnapshotTask::Compact(mark)) => {
            if mark.index > last {
                return Err(format!(
                    "snapshot at {} beyond the log's last entry {last}",
                    mark.index
                ));
            }
            base = mark.index;
            last = last.max(base);
        }
        Some(SnapshotTask::Install(mark)) => (base, last) = (mark.index, mark.index),
        None => {}
    }
    if let Some(first) = task.entries.first() {
        if first.index > last + 1 || first.index <= base {
            return Err(format!(
                "entries start at {} after {last} (snapshot at {base})",
                first.index
            ));
        }
    }
    if let Some(hs) = &task.hard_state {
        let was = &durable.hard_state;
        if hs.term < was.term || hs.commit < was.commit {
            return Err(format!(
                "hard state (term {}, commit {}) goes back from (term {}, commit {})",
                hs.term, hs.commit, was.term, was.commit
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;
    use ringkeeper_storage::{FsBackend, Wal, WalOptions};

    const VOTERS: [u64; 3] = [1, 2, 3];

    fn config_in(dir: &Path) -> ServerConfig {
        let mut c = crate::config::standalone_default();
        c.data_dir = dir.join("data");
        c.data_log_dir = dir.join("log");
        c.wal_direct_io = false;
        c.pre_alloc_size_kb = 64;
        c
    }

    fn open(config: &ServerConfig) -> (RaftStore, RaftRecovery) {
        RaftStore::open(config, DurableState::initial(&VOTERS, &[4])).unwrap()
    }

    fn entries(indexes: std::ops::RangeInclusive<u64>, term: u64) -> Vec<Entry> {
        indexes
            .map(|index| Entry {
                index,
                term,
                data: format!("txn {index} of term {term}").into_bytes().into(),
                ..Entry::default()
            })
            .collect()
    }

    fn hard_state(term: u64, vote: u64, commit: u64) -> HardState {
        HardState {
            term,
            vote,
            commit,
            ..HardState::default()
        }
    }

    fn task(hs: Option<HardState>, entries: Vec<Entry>) -> PersistTask {
        PersistTask {
            number: 1,
            hard_state: hs,
            entries,
            snapshot: None,
        }
    }

    fn mark(index: u64, term: u64) -> SnapshotMark {
        SnapshotMark {
            index,
            term,
            zxid: ((term as i64) << 32) | index as i64,
            conf_state: raft::eraftpb::ConfState::from((VOTERS.to_vec(), vec![4])),
            fuzzy_until: index + 1,
            fuzzy_term: term,
        }
    }

    fn segments(config: &ServerConfig) -> Vec<std::path::PathBuf> {
        let dir = config.data_log_dir.join(RAFT_DIR).join("version-2");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("log."))
            .collect();
        files.sort();
        files
    }

    /// A checkpoint's commit starts a segment; once durable, the segments before it go,
    /// and a restart reads the log from it: the snapshot's place, the hard state and the
    /// entries after it, then what came later.
    #[test]
    fn a_checkpoint_removes_the_log_before_it_and_replay_starts_there() {
        let tmp = tempfile::tempdir().unwrap();
        let config = config_in(tmp.path());
        let (mut store, _) = open(&config);
        write(
            &mut store,
            &[task(Some(hard_state(1, 1, 3)), entries(1..=5, 1))],
        );
        let before = task(Some(hard_state(2, 2, 6)), entries(6..=7, 2));
        let checkpoint = PersistTask {
            number: 9,
            hard_state: Some(hard_state(2, 2, 7)),
            entries: entries(5..=7, 1)
                .into_iter()
                .take(1)
                .chain(entries(6..=7, 2))
                .collect(),
            snapshot: Some(SnapshotTask::Compact(mark(4, 1))),
        };
        // In one batch with the task before it: the new segment starts with that task.
        block_on(async {
            store.append(&before).await.unwrap();
            store.append(&checkpoint).await.unwrap();
            assert_eq!(store.commit().await.unwrap(), Some(4));
        });
        assert_eq!(
            segments(&config).len(),
            1,
            "the segment before the checkpoint is gone"
        );
        write(
            &mut store,
            &[task(Some(hard_state(2, 2, 8)), entries(8..=8, 2))],
        );
        drop(store);

        let (store, rec) = open(&config);
        assert_eq!(rec.durable.snapshot, Some(mark(4, 1)));
        assert_eq!(terms(&rec.durable), [(5, 1), (6, 2), (7, 2), (8, 2)]);
        assert_eq!(rec.durable.hard_state, hard_state(2, 2, 8));
        drop(store);
        // Keys go on after a restart that began at a checkpoint.
        let (mut store, _) = open(&config);
        write(&mut store, &[task(None, entries(9..=9, 2))]);
        drop(store);
        let (_, rec) = open(&config);
        assert_eq!(rec.durable.entries.last().map(|e| e.index), Some(9));
    }

    /// A crash while old segments are removed leaves some: replay skips to the checkpoint.
    #[test]
    fn segments_left_by_an_interrupted_removal_are_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        let config = config_in(tmp.path());
        let (mut store, _) = open(&config);
        write(
            &mut store,
            &[task(Some(hard_state(1, 1, 2)), entries(1..=2, 1))],
        );
        block_on(async { store.wal.roll().unwrap() });
        write(
            &mut store,
            &[task(Some(hard_state(1, 1, 4)), entries(3..=4, 1))],
        );
        let before = segments(&config);
        assert_eq!(before.len(), 2);
        let checkpoint = PersistTask {
            number: 9,
            hard_state: Some(hard_state(1, 1, 4)),
            entries: entries(4..=4, 1),
            snapshot: Some(SnapshotTask::Compact(mark(3, 1))),
        };
        block_on(async {
            store.append(&checkpoint).await.unwrap();
            store.wal.commit().await.unwrap(); // durable, but no removal (a crash)
        });
        drop(store);
        // The removal got as far as the first segment.
        std::fs::remove_file(&before[0]).unwrap();
        let (_, rec) = open(&config);
        assert_eq!(rec.durable.snapshot, Some(mark(3, 1)));
        assert_eq!(terms(&rec.durable), [(4, 1)]);
    }

    fn write(store: &mut RaftStore, tasks: &[PersistTask]) {
        block_on(async {
            for t in tasks {
                store.append(t).await.unwrap();
            }
            store.commit().await.unwrap();
        });
    }

    fn terms(d: &DurableState) -> Vec<(u64, u64)> {
        d.entries.iter().map(|e| (e.index, e.term)).collect()
    }

    /// The only segment of the Raft log.
    fn segment(config: &ServerConfig) -> std::path::PathBuf {
        let dir = config.data_log_dir.join(RAFT_DIR).join("version-2");
        let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        assert_eq!(files.len(), 1);
        files.pop().unwrap().path()
    }

    #[test]
    fn hard_state_and_entries_survive_a_restart() {
        let tmp = tempfile::tempdir().unwrap();
        let config = config_in(tmp.path());
        let (mut store, rec) = open(&config);
        assert_eq!(rec.tasks_replayed, 0);
        let written = entries(1..=3, 2);
        write(
            &mut store,
            &[task(Some(hard_state(2, 1, 1)), written.clone())],
        );
        assert!(store.log_size() > 0);
        drop(store);

        let (_, rec) = open(&config);
        assert_eq!(rec.tasks_replayed, 1);
        assert_eq!(rec.tail_cut_bytes, 0);
        assert_eq!(rec.durable.hard_state, hard_state(2, 1, 1));
        assert_eq!(rec.durable.entries, written);
        assert_eq!(rec.durable.conf_state.voters, VOTERS.to_vec());
        assert_eq!(rec.durable.conf_state.learners, vec![4]);
    }

    #[test]
    fn a_conflicting_tail_stays_cut_after_a_restart() {
        let tmp = tempfile::tempdir().unwrap();
        let config = config_in(tmp.path());
        let (mut store, _) = open(&config);
        write(&mut store, &[task(None, entries(1..=5, 1))]);
        write(&mut store, &[task(None, entries(3..=4, 2))]);
        drop(store);

        let (_, rec) = open(&config);
        assert_eq!(terms(&rec.durable), [(1, 1), (2, 1), (3, 2), (4, 2)]);
        assert_eq!(rec.durable.entries[2], entries(3..=3, 2)[0]);
    }

    #[test]
    fn the_latest_hard_state_wins() {
        let tmp = tempfile::tempdir().unwrap();
        let config = config_in(tmp.path());
        let (mut store, _) = open(&config);
        write(
            &mut store,
            &[
                task(Some(hard_state(1, 1, 0)), entries(1..=1, 1)),
                task(Some(hard_state(2, 3, 1)), vec![]),
            ],
        );
        write(&mut store, &[task(None, entries(2..=2, 2))]);
        drop(store);

        let (_, rec) = open(&config);
        assert_eq!(rec.tasks_replayed, 3);
        assert_eq!(rec.durable.hard_state, hard_state(2, 3, 1));
        assert_eq!(terms(&rec.durable), [(1, 1), (2, 2)]);
    }

    #[test]
    fn a_torn_last_record_is_cut_and_the_prefix_recovered() {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = config_in(tmp.path());
        // No preallocation: the file ends where the last record does.
        config.pre_alloc_size_kb = 0;
        let (mut store, _) = open(&config);
        write(
            &mut store,
            &[task(Some(hard_state(1, 1, 0)), entries(1..=2, 1))],
        );
        let file = segment(&config);
        let first_len = std::fs::metadata(&file).unwrap().len();
        write(
            &mut store,
            &[task(Some(hard_state(1, 1, 2)), entries(3..=9, 1))],
        );
        drop(store);
        let full_len = std::fs::metadata(&file).unwrap().len();
        let torn = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
        torn.set_len((first_len + full_len) / 2).unwrap();
        drop(torn);

        let (_, rec) = open(&config);
        assert_eq!(rec.tasks_replayed, 1);
        assert!(rec.tail_cut_bytes > 0);
        assert_eq!(rec.durable.hard_state, hard_state(1, 1, 0));
        assert_eq!(terms(&rec.durable), [(1, 1), (2, 1)]);
    }

    #[test]
    fn keys_keep_following_across_restarts() {
        let tmp = tempfile::tempdir().unwrap();
        let config = config_in(tmp.path());
        let (mut store, _) = open(&config);
        write(
            &mut store,
            &[task(None, entries(1..=1, 1)), task(None, entries(2..=2, 1))],
        );
        drop(store);
        let (mut store, rec) = open(&config);
        assert_eq!(rec.tasks_replayed, 2);
        // The empty task is not written and takes no key.
        write(
            &mut store,
            &[task(None, vec![]), task(None, entries(3..=3, 1))],
        );
        drop(store);
        let (mut store, rec) = open(&config);
        assert_eq!(rec.tasks_replayed, 3);
        write(&mut store, &[task(None, entries(4..=4, 2))]);
        drop(store);

        let (_, rec) = open(&config);
        assert_eq!(rec.tasks_replayed, 4);
        assert_eq!(terms(&rec.durable), [(1, 1), (2, 1), (3, 1), (4, 2)]);
        let dir = config.data_log_dir.join(RAFT_DIR);
        let (_, raw) = Wal::open(FsBackend::new(), &dir, WalOptions::default(), 0).unwrap();
        let keys: Vec<i64> = raw.records.iter().map(|r| r.0).collect();
        assert_eq!(keys, [1, 2, 3, 4]);
    }

    #[test]
    fn a_record_that_does_not_decode_stops_start_up_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let config = config_in(tmp.path());
        let (mut store, _) = open(&config);
        write(&mut store, &[task(None, entries(1..=1, 1))]);
        drop(store);
        let dir = config.data_log_dir.join(RAFT_DIR);
        let (wal, _) = Wal::open(FsBackend::new(), &dir, WalOptions::default(), 0).unwrap();
        let mut wal = LogWriter::new(wal, false);
        // Version 1, no hard state, 1000 entries: more than the bytes that follow.
        let garbage = [FORMAT_VERSION, 0, 0xe8, 0x03, 0, 0, 1, 2];
        wal.append(2, &garbage).unwrap();
        block_on(wal.commit()).unwrap();
        drop(wal);

        let err = match RaftStore::open(&config, DurableState::initial(&VOTERS, &[])) {
            Ok(_) => panic!("a record with garbage in it was replayed"),
            Err(e) => e,
        };
        assert!(err.contains("record 2"), "{err}");
        assert!(err.contains("entry count 1000"), "{err}");
    }

    #[test]
    fn standalone_files_are_noticed_and_the_raft_log_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        let config = config_in(tmp.path());
        let (mut store, _) = open(&config);
        write(&mut store, &[task(None, entries(1..=1, 1))]);
        assert!(!standalone_data_present(&config));
        std::fs::create_dir_all(config.snap_dir()).unwrap();
        assert!(!standalone_data_present(&config));
        std::fs::write(config.snap_dir().join("snapshot.5"), b"").unwrap();
        assert!(standalone_data_present(&config));
        std::fs::remove_file(config.snap_dir().join("snapshot.5")).unwrap();
        std::fs::create_dir_all(config.txn_log_dir()).unwrap();
        std::fs::write(config.txn_log_dir().join("log.1"), b"").unwrap();
        assert!(standalone_data_present(&config));
    }

    /// The O_DIRECT writer (the default) with preallocation, across restarts.
    #[test]
    fn the_direct_writer_round_trips_on_glommio() {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = config_in(tmp.path());
        config.wal_direct_io = true;
        let ex = glommio::LocalExecutorBuilder::default()
            .io_memory(1 << 20)
            .make()
            .expect("executor");
        ex.run(async {
            let (mut store, _) = open(&config);
            assert!(matches!(store.wal, LogWriter::Direct(_)));
            for i in 1..=20 {
                let t = task(Some(hard_state(1, 1, i / 2)), entries(i..=i, 1));
                store.append(&t).await.unwrap();
                if i % 7 == 0 {
                    store.commit().await.unwrap();
                }
            }
            store.commit().await.unwrap();
            drop(store);
            let (mut store, rec) = open(&config);
            assert_eq!(rec.tasks_replayed, 20);
            let t = task(Some(hard_state(2, 2, 10)), entries(15..=16, 2));
            store.append(&t).await.unwrap();
            store.commit().await.unwrap();
        });
        let (_, rec) = open(&config);
        assert_eq!(rec.tasks_replayed, 21);
        assert_eq!(rec.durable.hard_state, hard_state(2, 2, 10));
        let want: Vec<(u64, u64)> = (1..=16).map(|i| (i, if i < 15 { 1 } else { 2 })).collect();
        assert_eq!(terms(&rec.durable), want);
    }
}
