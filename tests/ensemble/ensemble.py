"""A replicated ensemble of real server processes on loopback: Apache ZooKeeper 3.8 or
Ringkeeper (RINGKEEPER_ENSEMBLE_CANDIDATE, default ringkeeper), V voters and O observers.

Every member has its own directory (zoo.cfg, data/ with myid, datalog/, server.log), its own
free client, quorum and election ports, and its own process group. A member's zoo.cfg names
itself at its real ports and every peer at the proxy ports of the directed link (member ->
peer) (linkproxy.py), so links can be cut and healed. Processes are started with the
differential suite's Server (tests/diff/conftest.py): the same Java command line for
ZooKeeper, `<bin> server --config zoo.cfg` for Ringkeeper.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable, Optional

from kazoo.client import KazooClient
from kazoo.retry import KazooRetry

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "diff"))
import diffharness  # noqa: E402  (the differential suite's Server, free_port, ...)
from linkproxy import HOST, LinkProxies, zk_election_rewriter  # noqa: E402
from zkraw import stop_process_group, wait_until  # noqa: E402,F401  (tests import them here)

KIND = os.environ.get("RINGKEEPER_ENSEMBLE_CANDIDATE", "ringkeeper")
READY_TIMEOUT = float(os.environ.get("RINGKEEPER_ENSEMBLE_READY_TIMEOUT", "60"))
ROLES = ("leader", "follower", "observer")
# Start attempts of a whole ensemble when a member could not bind a port that was free when
# it was picked (another process took it meanwhile).
START_ATTEMPTS = 3

# zoo.cfg of every member, both kinds. tickTime 2000 and initLimit/syncLimit 10/5 are
# ZooKeeper's sample zoo.cfg (the figures of issue 8 are with these). A quorum of two or more
# server lines runs distributed whatever standaloneEnabled says, so it is not set.
ENSEMBLE_CFG = {
    "tickTime": "2000",
    "initLimit": "10",
    "syncLimit": "5",
    "4lw.commands.whitelist": "*",
    # Ringkeeper's AdminServer would take port 8080 like ZooKeeper's: off for both.
    "admin.enableServer": "false",
}

# kazoo logs every lost connection at WARNING; the suite loses many on purpose.
logging.getLogger("kazoo").setLevel(logging.ERROR)

# Figures the tests measure (failover times), printed at the end of the pytest run.
FIGURES: list = []


def fast_reconnect() -> KazooRetry:
    """kazoo's reconnect policy for the suite: every 50 ms, forever. kazoo's default backs off
    exponentially and would add its own sleeps to the failover times measured."""
    return KazooRetry(max_tries=-1, delay=0.05, backoff=1, max_jitter=0.0, max_delay=0.05)


class Member(diffharness.Server):
    """One server of the ensemble: fixed ports and directories across restarts."""

    def __init__(self, ens: "Ensemble", sid: int, observer: bool) -> None:
        super().__init__(ens.kind, f"s{sid}", cfg=ens.cfg, sysprops=ens.sysprops,
                         drop_keys=ens.drop_keys, directory=ens.root / f"s{sid}")
        self.ens, self.sid, self.observer = ens, sid, observer
        self.data_dir = self.dir / "data"
        self.data_log_dir = self.dir / "datalog"
        self.quorum_port = self.election_port = 0
        self.starts = 0

    def allocate_ports(self) -> None:
        self.port = self.plain_port = diffharness.free_port()
        self.quorum_port = diffharness.free_port()
        self.election_port = diffharness.free_port()

    def write_cfg(self) -> Path:
        cfg = dict(self.cfg)
        cfg["dataDir"] = str(self.data_dir)
        cfg["dataLogDir"] = str(self.data_log_dir)
        cfg["clientPort"] = str(self.port)
        cfg["clientPortAddress"] = HOST
        if self.observer:
            cfg["peerType"] = "observer"
        for peer in self.ens.members.values():
            cfg[f"server.{peer.sid}"] = self.ens.server_line(self.sid, peer.sid)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_log_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "myid").write_text(f"{self.sid}\n")
        path = self.dir / "zoo.cfg"
        path.write_text("".join(f"{k}={v}\n" for k, v in cfg.items()))
        return path

    def command(self, cfgpath: Path) -> list:
        if self.kind == "ringkeeper":
            return [self.ens.binary, "server", "--config", str(cfgpath)]
        return super().command(cfgpath)

    def spawn(self) -> None:
        """Starts a process on the member's config without waiting for it."""
        assert not self.alive(), f"{self.label} is already running"
        self.starts += 1
        cfgpath = self.write_cfg()
        with open(self.logfile, "ab") as log:
            log.write(f"\n===== start {self.starts} =====\n".encode())
            log.flush()
            env = dict(os.environ, NO_COLOR="1")
            self.proc = subprocess.Popen(self.command(cfgpath), stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.dir, start_new_session=True, env=env)

    def mode(self) -> Optional[str]:
        """The role `srvr` reports (leader, follower, observer), or None while the server does
        not serve (down, electing, syncing)."""
        if not self.alive():
            return None
        try:
            reply = self.four("srvr", timeout=1.0)
        except OSError:
            return None
        m = re.search(r"^Mode: (\w+)", reply, re.M)
        return m.group(1) if m and m.group(1) in ROLES else None

    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def __repr__(self) -> str:
        role = "observer" if self.observer else "voter"
        return f"<{self.kind} s{self.sid} {role} client {self.port}>"


class Ensemble:
    """V voters (sids 1..V) and O observers (sids V+1..V+O) of one kind."""

    def __init__(self, root: Path, voters: int = 3, observers: int = 0, kind: str = KIND,
                 binary: Optional[str] = None, proxied: bool = True,
                 cfg: Optional[dict] = None, sysprops: Optional[dict] = None,
                 drop_keys: tuple = ()) -> None:
        assert kind in ("zookeeper", "ringkeeper"), kind
        assert voters >= 2, "an ensemble of one voter is a standalone server"
        self.kind, self.proxied = kind, proxied
        self.binary = binary or diffharness.RINGKEEPER_BIN
        self.root = Path(root)
        self.cfg = dict(ENSEMBLE_CFG)
        self.cfg.update(cfg or {})
        # ZooKeeper's Java system properties and zoo.cfg keys left out (tests/diff's
        # make_pair passes them on in its ensemble mode); see diffharness.Server.
        self.sysprops, self.drop_keys = sysprops, drop_keys
        self.members: dict = {}
        for sid in range(1, voters + observers + 1):
            self.members[sid] = Member(self, sid, observer=sid > voters)
        self.proxies: Optional[LinkProxies] = None
        self._proxy_ports: dict = {}  # (src, dst, "quorum"|"election") -> proxy port
        self._clients: list = []
        atexit.register(self.close)

    # -- topology -------------------------------------------------------------------------
    @property
    def sids(self) -> list:
        return sorted(self.members)

    @property
    def voters(self) -> list:
        return [s for s in self.sids if not self.members[s].observer]

    def __getitem__(self, sid: int) -> Member:
        return self.members[sid]

    def server_line(self, viewer: int, sid: int) -> str:
        """The value of `server.<sid>` in `viewer`'s zoo.cfg."""
        m = self.members[sid]
        quorum, election = m.quorum_port, m.election_port
        if self.proxied and viewer != sid:
            quorum = self._proxy_ports[(viewer, sid, "quorum")]
            # Ringkeeper does not use the election port; ZooKeeper's goes through the proxy.
            election = self._proxy_ports.get((viewer, sid, "election"), election)
        role = ":observer" if m.observer else ":participant"
        return f"{HOST}:{quorum}:{election}{role};{HOST}:{m.port}"

    def _start_proxies(self) -> None:
        if self.proxies is not None:
            self.proxies.close()
        self.proxies, self._proxy_ports = LinkProxies(), {}
        if not self.proxied:
            return
        for src in self.sids:
            for dst in self.sids:
                if src == dst:
                    continue
                self._proxy_ports[(src, dst, "quorum")] = self.proxies.add(
                    src, dst, self.members[dst].quorum_port)
                if self.kind == "zookeeper":
                    # The dialer announces the port its peer should dial back: the proxy of
                    # the opposite link (see linkproxy.py).
                    announce = (lambda s=src, d=dst:
                                f"{HOST}:{self._proxy_ports[(d, s, 'election')]}")
                    self._proxy_ports[(src, dst, "election")] = self.proxies.add(
                        src, dst, self.members[dst].election_port, zk_election_rewriter(announce))

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, timeout: float = READY_TIMEOUT) -> "Ensemble":
        """Starts every member and waits until the ensemble serves (wait_formed)."""
        if self.kind == "ringkeeper" and not os.access(self.binary, os.X_OK):
            raise RuntimeError(f"ringkeeper binary {self.binary} not found "
                               "(cargo build -p ringkeeper, or RINGKEEPER_ENSEMBLE_CANDIDATE=zookeeper)")
        for attempt in range(START_ATTEMPTS):
            for m in self.members.values():
                m.allocate_ports()
            self._start_proxies()
            for m in self.members.values():
                m.spawn()
            try:
                self.wait_formed(timeout)
                return self
            except AssertionError:
                port_taken = any("Address already in use" in m.log_tail(200)
                                 for m in self.members.values())
                self.stop_all()
                if not port_taken or attempt == START_ATTEMPTS - 1:
                    raise AssertionError(f"the {self.kind} ensemble did not form within "
                                         f"{timeout}s\n{self.describe()}") from None
        raise AssertionError("unreachable")

    def wait_formed(self, timeout: float = READY_TIMEOUT, sids: Optional[Iterable] = None) -> int:
        """Waits until every running member (or those of `sids`) serves in its role: one
        leader, the other voters followers, observers observers. Returns the leader's sid."""
        def formed():
            want = [s for s in (sids or self.sids) if self.members[s].alive()]
            modes = {s: self.members[s].mode() for s in want}
            leaders = [s for s, m in modes.items() if m == "leader"]
            # a role at all, and "observer" exactly for the observers
            in_role = all(m is not None and (m == "observer") == self.members[s].observer
                          for s, m in modes.items())
            return leaders[0] if len(leaders) == 1 and in_role else None
        return wait_until(formed, timeout, interval=0.05, what=f"{self.kind} ensemble to serve")

    def modes(self) -> dict:
        return {s: self.members[s].mode() for s in self.sids}

    def leader(self, timeout: float = 30.0, among: Optional[Iterable] = None) -> int:
        """The sid of the one member of `among` (default all) that says Mode: leader."""
        among = list(among or self.sids)

        def one():
            leaders = [s for s in among if self.members[s].mode() == "leader"]
            return leaders[0] if len(leaders) == 1 else None
        return wait_until(one, timeout, interval=0.05, what=f"one leader among {among}")

    def kill(self, sid: int, sig: int = signal.SIGKILL) -> float:
        """Sends `sig` to the member's process group; for SIGKILL and SIGTERM also waits until
        the process is gone. Returns time.monotonic() after that."""
        m = self.members[sid]
        assert m.alive(), f"s{sid} is not running"
        os.killpg(m.proc.pid, sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            m.proc.wait(timeout=30)
        return time.monotonic()

    def restart(self, sid: int, timeout: float = READY_TIMEOUT) -> None:
        """Starts a stopped member again on its ports and directories and waits until it
        serves in its role."""
        m = self.members[sid]
        m.spawn()
        want = "observer" if m.observer else ("leader", "follower")
        wait_until(lambda: m.mode() in want, timeout, interval=0.05,
                   what=f"s{sid} to serve again\n{self.describe()}")

    def wipe(self, sid: int) -> None:
        """Deletes a stopped member's data (dataDir and dataLogDir), keeping its myid."""
        m = self.members[sid]
        assert not m.alive(), f"s{sid} must be stopped before its data is wiped"
        for d in (m.data_dir, m.data_log_dir):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
        (m.data_dir / "myid").write_text(f"{sid}\n")

    # -- faults ---------------------------------------------------------------------------
    def cut(self, src: int, dst: int) -> None:
        assert self.proxied, "links can be cut only in a proxied ensemble"
        self.proxies.cut(src, dst)

    def isolate(self, sid: int) -> None:
        """Cuts every link to and from `sid`."""
        for other in self.sids:
            if other != sid:
                self.cut(sid, other)
                self.cut(other, sid)

    def heal(self) -> None:
        """Heals every cut link."""
        for src, dst in self.proxies.cut_links():
            self.proxies.heal(src, dst)

    # -- clients --------------------------------------------------------------------------
    def hosts(self, sids: Iterable) -> str:
        return ",".join(self.members[s].address() for s in sids)

    def client(self, sids, timeout: float = 10.0, **kw) -> KazooClient:
        """A started kazoo client that tries the servers of `sids` (one sid or a list) in that
        order. Closed by close()."""
        sids = [sids] if isinstance(sids, int) else list(sids)
        kw.setdefault("connection_retry", fast_reconnect())
        c = KazooClient(hosts=self.hosts(sids), timeout=timeout, randomize_hosts=False, **kw)
        self._clients.append(c)
        c.start(timeout=30)
        return c

    def connected_sid(self, client: KazooClient) -> Optional[int]:
        """The member a kazoo client is connected to now (None while it is not)."""
        sock = getattr(client._connection, "_socket", None)
        try:
            port = sock.getpeername()[1] if sock is not None else None
        except OSError:
            return None
        return next((s for s, m in self.members.items() if m.port == port), None)

    # -- teardown -------------------------------------------------------------------------
    def describe(self, lines: int = 25) -> str:
        out = []
        for m in self.members.values():
            state = "stopped"
            if m.alive():
                try:
                    srvr = m.four("srvr", timeout=1.0)
                except OSError as e:
                    srvr = str(e)
                summary = "; ".join(line for line in srvr.splitlines()
                                    if line.startswith(("Zxid", "Mode")))
                state = f"running, srvr: {summary or srvr.strip()[:120]!r}"
            out.append(f"--- {m!r} {state}, {m.dir} (log tail) ---\n{m.log_tail(lines)}")
        return "\n".join(out)

    def stop_all(self) -> None:
        for m in self.members.values():
            stop_process_group(m.proc)
            m.proc = None

    def close(self, keep_files: bool = False) -> None:
        """Closes the clients, stops every member and the proxies; deletes the files unless
        `keep_files`. Safe to call more than once."""
        for c in self._clients:
            try:
                c.stop()
                c.close()
            except Exception:  # a client of a dead ensemble may fail to stop; it is gone anyway
                pass
        self._clients.clear()
        self.stop_all()
        if self.proxies is not None:
            self.proxies.close()
            self.proxies = None
        if not keep_files:
            shutil.rmtree(self.root, ignore_errors=True)
        atexit.unregister(self.close)
