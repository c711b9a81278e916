"""Snapshots in an ensemble (issue 8, item 8): members snapshot every snapCount txns and
compact their log; a follower whose data is wiped while the others write rejoins from the
leader's snapshot (the log before it is gone), and a restarted ensemble recovers from its
snapshots. The Ringkeeper-only checks read the servers' logs and data directories."""

from __future__ import annotations

import re
import time

import ensemble as ensemble_mod
from workload import (all_acknowledge, check_replicated, rejoin_as_follower, start_writers,
                      stop_writers)

# Small, so that the test takes many snapshots; ZooKeeper's floor is 2.
SNAP_COUNT = 100
RINGKEEPER = ensemble_mod.KIND == "ringkeeper"


def log_text(member) -> str:
    return member.logfile.read_text(errors="replace")


def raft_segments(member) -> list:
    d = member.data_log_dir / "raft" / "version-2"
    return sorted(p.name for p in d.iterdir() if p.name.startswith("log.")) if d.exists() else []


def snapshot_files(member) -> list:
    d = member.data_dir / "raft"
    return sorted(p.name for p in d.iterdir() if re.fullmatch(r"snapshot\.[0-9a-f]+", p.name)) \
        if d.exists() else []


def wait_for(pred, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_wiped_follower_rejoins_from_the_leaders_snapshot(make_ensemble):
    ens = make_ensemble(voters=3, observers=1, cfg={"snapCount": str(SNAP_COUNT)})
    leader = ens.wait_formed()
    wiped = min(s for s in ens.voters if s != leader)
    writers_at = [s for s in ens.sids if s != wiped]
    ens.client(leader).create("/snap")
    writers = start_writers({f"w{s}": ens.client(s) for s in writers_at}, "/snap")
    all_acknowledge(writers, 150, since=0.0)
    ens.kill(wiped)
    ens.wipe(wiped)
    # Far more than snapCount writes while it is away: the leader's log before its
    # snapshot is compacted, so only the snapshot can bring the wiped follower back.
    all_acknowledge(writers, 200)
    if RINGKEEPER:
        wait_for(lambda: "snapshot written" in log_text(ens[leader]), 30, "a leader snapshot")
    rejoin_as_follower(ens, wiped, leader, writers, acks=50)
    stop_writers(writers)
    assert all(op.ok for w in writers for op in w.snapshot()), \
        "a write failed while a quorum was up all along: " + str(
            [(op.writer, op.error) for w in writers for op in w.snapshot() if not op.ok][:5])
    view = check_replicated(ens, "/snap", writers)
    assert len(view) >= 3 * 350
    if RINGKEEPER:
        assert "installed a snapshot from the leader" in log_text(ens[wiped]), \
            "the wiped follower caught up without a snapshot"
        assert "snapshot sent" in log_text(ens[leader])
        # Compaction: the leader's Raft log keeps a segment or two, not the whole history.
        assert len(raft_segments(ens[leader])) <= 3, raft_segments(ens[leader])
        assert 1 <= len(snapshot_files(ens[leader])) <= 3, snapshot_files(ens[leader])


def test_a_restarted_ensemble_recovers_from_its_snapshots(make_ensemble):
    ens = make_ensemble(voters=3, observers=1, cfg={"snapCount": str(SNAP_COUNT)})
    leader = ens.wait_formed()
    ens.client(leader).create("/restart")
    writers = start_writers({f"w{s}": ens.client(s) for s in ens.sids}, "/restart")
    all_acknowledge(writers, 120, since=0.0)
    if RINGKEEPER:
        wait_for(lambda: all(snapshot_files(ens[s]) for s in ens.sids), 30,
                 "a snapshot on every member")
    all_acknowledge(writers, 30)
    stop_writers(writers)
    for sid in ens.sids:
        ens.kill(sid)
    for sid in ens.sids:
        ens[sid].spawn()
    ens.wait_formed()
    view = check_replicated(ens, "/restart", writers)
    assert len(view) >= 4 * 150
    if RINGKEEPER:
        for sid in ens.sids:
            recovered = [line for line in log_text(ens[sid]).splitlines()
                         if "recovered the replicated log" in line][-1]
            index = re.search(r"snapshot_index=(\d+)", recovered)
            assert index and int(index.group(1)) > 0, recovered
