"""ClickHouse Keeper's `rqld` four-letter word: the server it is sent to asks to become the
leader. Under write load on every server, a follower is asked: it answers "Sent leadership
request to leader." and soon reports `Mode: leader` through srvr; writes keep being
acknowledged, and every acknowledged write is on every server. The leader asked again answers
the same and stays leader; the observer (a Raft learner, which cannot lead) answers "Failed to
send leadership request to leader.". A standalone server answers as ClickHouse Keeper's does
(it leads already), and rqld honours 4lw.commands.whitelist like every other word.

Ringkeeper only: Apache ZooKeeper has no rqld.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import diffharness
from ensemble import KIND, wait_until
from workload import all_acknowledge, check_replicated, start_writers, stop_writers

pytestmark = pytest.mark.skipif(KIND != "ringkeeper", reason="rqld is ClickHouse Keeper's word")

SENT = "Sent leadership request to leader."
FAILED = "Failed to send leadership request to leader."


def test_rqld_moves_leadership_under_writes(make_ensemble):
    ens = make_ensemble(voters=3, observers=1)
    old = ens.wait_formed()
    ens.client(old).create("/rqld")
    writers = start_writers({f"w{s}": ens.client(s) for s in ens.sids}, "/rqld")
    all_acknowledge(writers, 20, since=0.0)

    new = next(s for s in ens.voters if s != old)
    assert ens[new].four("rqld") == SENT
    wait_until(lambda: ens[new].mode() == "leader", 10, interval=0.05,
               what=f"s{new} to lead after rqld\n{ens.describe()}")
    assert ens.leader() == new
    assert ens[old].mode() == "follower"
    # Writes go on on every server, the old leader's clients included (their connections
    # were closed when it stepped down, with writes it had not committed unanswered).
    all_acknowledge(writers, 20)

    # The leader asked again: sent (ClickHouse Keeper answers so when it leads already).
    assert ens[new].four("rqld") == SENT
    # The observer cannot lead.
    observer = next(s for s in ens.sids if ens[s].observer)
    assert ens[observer].four("rqld") == FAILED
    all_acknowledge(writers, 10)
    assert ens.leader() == new
    assert ens[observer].mode() == "observer"

    stop_writers(writers)
    check_replicated(ens, "/rqld", writers)


class Standalone(diffharness.Server):
    """A standalone Ringkeeper server on the suite's private binary."""

    def __init__(self, binary: str, whitelist: str) -> None:
        super().__init__("ringkeeper", "rqld", cfg={"4lw.commands.whitelist": whitelist})
        self.binary = binary

    def command(self, cfgpath: Path) -> list:
        return [self.binary, "server", "--config", str(cfgpath)]


@pytest.mark.parametrize("whitelist, answer", [
    ("*", SENT),
    ("srvr, rqld", SENT),
    ("srvr, mntr", "rqld is not executed because it is not in the whitelist.\n"),
])
def test_rqld_standalone_and_whitelist(rk_bin, whitelist, answer):
    server = Standalone(rk_bin, whitelist).start()
    try:
        assert server.four("rqld") == answer
        assert "Mode: standalone" in server.four("srvr")
    finally:
        server.cleanup()
