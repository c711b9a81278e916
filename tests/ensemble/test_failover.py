"""Failover: writers on both followers and the observer under continuous load, the leader is
SIGKILLed. The time from the kill to the next write acknowledged by any surviving server
with a zxid of a new epoch (so committed by the new leader) is printed and bounded. The old
leader then restarts, rejoins as a follower, and every acknowledged write is on every server.
"""

from __future__ import annotations

import time

from ensemble import FIGURES, KIND, wait_until
from workload import (all_acknowledge, check_replicated, epoch, rejoin_as_follower,
                      start_writers, stop_writers)

# ZooKeeper 3.8 with tickTime 2000 takes about 0.5 s here (issue 8); Ringkeeper aims under
# 0.3 s. The bounds leave room for a loaded 2-core CI machine.
FAILOVER_BOUND_MS = {"zookeeper": 3000, "ringkeeper": 1500}


def test_leader_kill_failover_and_rejoin(make_ensemble):
    ens = make_ensemble(voters=3, observers=1)
    old = ens.wait_formed()
    writers_at = [s for s in ens.sids if s != old]
    ens.client(writers_at[0]).create("/failover")
    writers = start_writers({f"w{s}": ens.client(s) for s in writers_at}, "/failover")
    all_acknowledge(writers, 50, since=0.0)
    old_epoch = max(epoch(op.czxid) for w in writers for op in w.acked())

    t_kill = time.monotonic()
    ens.kill(old)

    def first_new_epoch_ack():
        done = [op.done for w in writers for op in w.acked() if epoch(op.czxid) > old_epoch]
        return min(done) if done else None
    t_ack = wait_until(first_new_epoch_ack, 30, interval=0.01,
                       what="a write acknowledged under a new leader")
    failover_ms = (t_ack - t_kill) * 1000
    line = f"failover: kill -> next acknowledged write {failover_ms:.0f} ms"
    print(line)
    FIGURES.append(line)
    new = ens.leader(among=writers_at)
    assert new != old and not ens[new].observer
    all_acknowledge(writers, 20)  # every surviving writer is served again
    # the old leader comes back as a follower and does not take the leadership back
    rejoin_as_follower(ens, old, new, writers)
    stop_writers(writers)
    check_replicated(ens, "/failover", writers)
    bound = FAILOVER_BOUND_MS[KIND]
    assert failover_ms < bound, f"{line}: over the bound of {bound} ms for {KIND}"
