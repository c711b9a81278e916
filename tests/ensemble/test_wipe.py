"""A follower loses its disk: stopped, its dataDir and dataLogDir deleted (myid kept), started
again while the others go on writing. It rejoins as a follower and has every acknowledged
write, those from before the wipe included."""

from __future__ import annotations

from workload import (all_acknowledge, check_replicated, rejoin_as_follower, start_writers,
                      stop_writers)


def test_wiped_follower_rejoins_with_every_write(make_ensemble):
    ens = make_ensemble(voters=3, observers=1)
    leader = ens.wait_formed()
    wiped = min(s for s in ens.voters if s != leader)
    writers_at = [s for s in ens.sids if s != wiped]
    ens.client(leader).create("/wipe")
    writers = start_writers({f"w{s}": ens.client(s) for s in writers_at}, "/wipe")
    all_acknowledge(writers, 100, since=0.0)

    ens.kill(wiped)
    ens.wipe(wiped)
    assert not list(ens[wiped].data_log_dir.iterdir()), "dataLogDir not empty after wipe"
    assert [p.name for p in ens[wiped].data_dir.iterdir()] == ["myid"]
    all_acknowledge(writers, 100)
    rejoin_as_follower(ens, wiped, leader, writers, acks=50)
    stop_writers(writers)
    assert all(op.ok for w in writers for op in w.snapshot()), \
        "a write failed while a quorum was up all along: " + str(
            [(op.writer, op.error) for w in writers for op in w.snapshot() if not op.ok][:5])
    view = check_replicated(ens, "/wipe", writers)
    assert len(view) >= 3 * 250
