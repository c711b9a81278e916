"""RINGKEEPER_DIFF_ENSEMBLE=1: each side of the differential pair is a replicated ensemble of
3 voters (tests/ensemble/ensemble.py) instead of a standalone server, and every client
connection and four-letter word of the suite goes to one follower of it, the same one for as
long as the ensemble runs. A follower answers reads itself and passes writes and session
changes on to the leader, so the transcripts compare that path of both servers.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ensemble"))
import diffharness  # noqa: E402  (the module ensemble.py builds its members on)
from ensemble import Ensemble  # noqa: E402

VOTERS = 3


class EnsembleSide(diffharness.Server):
    """One side of the pair: a 3-voter ensemble of `kind`, seen through one follower. It has
    the standalone Server's interface (port, four, conn, raw, mntr, alive, cleanup); `port` is
    the follower's client port. Server.__init__ only makes the directory that holds the
    members' directories: each member writes its own zoo.cfg (ensemble.Member)."""

    def __init__(self, kind: str, label: str, cfg: Optional[dict] = None,
                 sysprops: Optional[dict] = None, drop_keys: tuple = ()) -> None:
        super().__init__(kind, label, cfg, sysprops, drop_keys)
        cfg = dict(cfg or {})
        if kind == "ringkeeper":
            cfg.update(diffharness.RINGKEEPER_EXTRA_CFG)
        # Not proxied: no link is ever cut here, and proxies would put every peer message
        # through Python threads on a loaded machine.
        self.ensemble = Ensemble(self.dir, VOTERS, observers=0, kind=kind, proxied=False,
                                 cfg=cfg, sysprops=sysprops, drop_keys=drop_keys)
        self.follower_sid = 0

    def start(self) -> "EnsembleSide":
        self.ensemble.start()
        leader = self.ensemble.wait_formed()
        self.follower_sid = min(s for s in self.ensemble.voters if s != leader)
        self.port = self.plain_port = self.follower.port
        return self

    @property
    def follower(self):
        return self.ensemble[self.follower_sid]

    def check_still_follower(self) -> None:
        """A test's transcript means what it should only if no election happened meanwhile
        (the follower's sessions would have been disconnected or moved)."""
        mode = self.follower.mode()
        assert mode == "follower", \
            f"{self.label} ({self.kind}): s{self.follower_sid} now says Mode: {mode} (an " \
            f"election happened during the test)\n{self.ensemble.describe()}"

    def symbolic(self, text: str) -> str:
        """`text` with every member's ports as names (client c1, quorum q1, election e1 for
        s1, ...), so that answers that list the membership compare across ensembles."""
        names = {}
        for sid, m in self.ensemble.members.items():
            names.update({m.port: f"c{sid}", m.quorum_port: f"q{sid}", m.election_port: f"e{sid}"})
        return re.sub(r"(?<=:)\d+", lambda p: names.get(int(p.group()), p.group()), text)

    def membership(self) -> str:
        """What ZooKeeper 3.8 shows of the static membership (in /zookeeper/config and after
        conf's "membership:" line; probed), in symbolic() names: no final newline."""
        lines = [f"server.{sid}={diffharness.HOST}:q{sid}:e{sid}:participant;"
                 f"{diffharness.HOST}:c{sid}" for sid in self.ensemble.sids]
        return "\n".join(lines + ["version=0"])

    def alive(self) -> bool:
        return self.follower_sid != 0 and self.follower.alive()

    def log_tail(self, n: int = 40) -> str:
        return self.ensemble.describe(n)

    def stop(self) -> None:
        self.ensemble.stop_all()

    def cleanup(self) -> None:
        self.ensemble.close()  # deletes self.dir, the ensemble's root

    def __repr__(self) -> str:
        return f"<{self.label}:{self.kind} ensemble, follower s{self.follower_sid}:{self.port}>"
