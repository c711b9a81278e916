"""A follower loses its disk: stopped, its dataDir and dataLogDir deleted (myid kept), started
again while the others go on writing. It rejoins as a follower and has every acknowledged
write, those from before the wipe included."""

from __future__ import annotations

from workload import wipe_and_rejoin


def test_wiped_follower_rejoins_with_every_write(make_ensemble):
    ens = make_ensemble(voters=3, observers=1)
    _, _, view = wipe_and_rejoin(ens, "/wipe", before=100, away=100, rejoin_acks=50)
    assert len(view) >= 3 * 250
