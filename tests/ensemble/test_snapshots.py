"""Snapshots in an ensemble (issue 8, item 8): members snapshot every snapCount txns and
compact their log; a follower whose data is wiped while the others write rejoins from the
leader's snapshot (the log before it is gone), and a restarted ensemble recovers from its
snapshots. The Ringkeeper-only checks read the servers' logs and data directories."""

from __future__ import annotations

import re

import ensemble as ensemble_mod
from ensemble import wait_until
from workload import (all_acknowledge, check_replicated, start_writers, stop_writers,
                      wipe_and_rejoin)

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


def test_wiped_follower_rejoins_from_the_leaders_snapshot(make_ensemble):
    ens = make_ensemble(voters=3, observers=1, cfg={"snapCount": str(SNAP_COUNT)})

    def leader_snapshotted(leader: int) -> None:
        if RINGKEEPER:
            wait_until(lambda: "snapshot written" in log_text(ens[leader]), 30,
                       what="a leader snapshot")

    # Far more than snapCount writes while it is away: the leader's log before its
    # snapshot is compacted, so only the snapshot can bring the wiped follower back.
    leader, wiped, view = wipe_and_rejoin(ens, "/snap", before=150, away=200, rejoin_acks=50,
                                          while_away=leader_snapshotted)
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
        wait_until(lambda: all(snapshot_files(ens[s]) for s in ens.sids), 30,
                   what="a snapshot on every member")
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
