"""Fixtures of the hostile-client and load suite (issue 9).

Every test starts its own Ringkeeper on a fresh data directory through the crash suite's
`crashlib.RkServer` (free loopback port, readiness through `srvr`, its own process group,
SIGKILLed at teardown also when the test fails), with a memory guard on top: once the server
serves, its address space is capped (RLIMIT_AS, set from outside with prlimit) at what it
uses plus AS_HEADROOM. A server that tries to buffer gigabytes for one client then fails an
allocation and aborts - the test reports that - instead of pushing the machine into the OOM
killer, which could pick another process.

Every zoo.cfg key and bound this suite depends on is here, at the top, in one place.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "crash"))
sys.path.insert(0, str(HERE.parent / "diff"))
sys.path.insert(0, str(HERE))
import crashlib  # noqa: E402
import zkraw  # noqa: E402
from zkraw import wait_until  # noqa: E402,F401  (the tests import it from here)

# ---------------------------------------------------------------------------------------------
# zoo.cfg keys (one place: the server-side names of the issue-9 bounds may still change)

# ZooKeeper's default jute.maxbuffer (0xfffff), written explicitly so the limit the tests
# size their frames against is the one the server applies.
JUTE_MAXBUFFER = 0xFFFFF
JUTE_MAXBUFFER_KEY = "jute.maxbuffer"
SNAP_COUNT_KEY = "snapCount"
MAX_CLIENT_CNXNS_KEY = "maxClientCnxns"

HOSTILE_CFG = {
    JUTE_MAXBUFFER_KEY: str(JUTE_MAXBUFFER),
    # every connection of the suite comes from 127.0.0.1
    MAX_CLIENT_CNXNS_KEY: "0",
    "tickTime": "1000",
    "maxSessionTimeout": "120000",
    # the AdminServer is on by default (port 8080); these servers do not need it
    "admin.enableServer": "false",
}
# Server-side bounds of issue 9 (e.g. "ringkeeper.maxQueuedReplyBytes"): left at the server's
# defaults, which are what the tests check. Extra keys: RINGKEEPER_HOSTILE_EXTRA_CFG="k=v;k=v".
EXTRA_CFG = dict(
    kv.split("=", 1) for kv in os.environ.get("RINGKEEPER_HOSTILE_EXTRA_CFG", "").split(";")
    if "=" in kv
)

# ---------------------------------------------------------------------------------------------
# process limits

# Address space a server may grow by after it serves (see the module doc). Far above every
# bound the tests assert, far below the machine's memory.
AS_HEADROOM = 4 << 30
# Descriptors: 10,000 client sockets here, as many accepted ones in the server (which inherits
# this process's limit).
WANT_NOFILE = 65536


def _raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(WANT_NOFILE, soft)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
    except (ValueError, OSError):
        # not privileged: the hard limit is the most we can have
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


NOFILE = _raise_nofile()


def proc_status(pid: int) -> dict:
    """/proc/<pid>/status memory fields in bytes (VmRSS, VmHWM, VmSize, ...)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            v = v.strip()
            if v.endswith(" kB"):
                out[k] = int(v[:-3]) * 1024
    return out


class HostileServer(crashlib.RkServer):
    """A crash-suite server with the hostile config, a memory guard and health checks."""

    def __init__(self, root: Path, cfg: Optional[dict], binary: str) -> None:
        merged = dict(HOSTILE_CFG)
        merged.update(cfg or {})
        merged.update(EXTRA_CFG)
        super().__init__(root, merged, binary=binary)

    def start(self, timeout: float = crashlib.READY_TIMEOUT) -> "HostileServer":
        super().start(timeout)
        self.guard_memory()
        return self

    def restart(self) -> "HostileServer":
        """SIGKILL (if running) and start again on the same data directories."""
        self.kill()
        return self.start()

    @property
    def pid(self) -> int:
        assert self.alive(), f"server is not running\n{crashlib.tail(self.log_text())}"
        return self.proc.pid

    def guard_memory(self) -> None:
        vm = proc_status(self.proc.pid)["VmSize"]
        limit = vm + AS_HEADROOM
        resource.prlimit(self.proc.pid, resource.RLIMIT_AS, (limit, limit))

    def rss(self) -> int:
        return proc_status(self.pid)["VmRSS"]

    def mntr(self) -> dict:
        r = self.four("mntr")
        return dict(line.split("\t", 1) for line in r.splitlines() if "\t" in line)

    def check_alive(self, what: str = "") -> None:
        if not self.alive():
            rc = self.proc.poll() if self.proc else None
            pytest.fail(f"server exited (status {rc}) {what}\n--- log tail ---\n"
                        f"{crashlib.tail(self.log_text(), 15)}", pytrace=False)

    def check_survived(self, what: str = "", grace: float = 2.0) -> None:
        """After a connection closed unexpectedly: fails with the log tail if the server
        exits within `grace` seconds (it may still be aborting when the socket closes)."""
        deadline = time.monotonic() + grace
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.check_alive(what)

    def check_healthy(self, what: str = "") -> dict:
        """ruok is imok, mntr answers, and a new session can write and read."""
        self.check_alive(what)
        try:
            ruok = self.four("ruok")
            m = self.mntr()
        except OSError as e:
            self.check_alive(what)
            raise AssertionError(f"4lw failed {what}: {e}")
        assert ruok == "imok", f"ruok answered {ruok!r} {what}"
        assert "zk_server_state" in m, f"mntr answered without zk_server_state {what}: {m}"
        c = zkraw.connect(crashlib.HOST, self.port, timeout_ms=10000, io_timeout=10.0)
        try:
            path = "/health-check"
            r = c.create(path, b"ok", flags=zkraw.EPHEMERAL)
            assert r.ok, f"create on a new session failed {what}: {r}"
            r = c.get_data(path)
            assert r.ok and r["data"] == b"ok", f"getData on a new session failed {what}: {r}"
            c.close_session()
        finally:
            c.close()
        zkraw.LIVE_SESSIONS.clear()
        return m


class RssMonitor:
    """Peak VmRSS of a process over a block, sampled every 10 ms and cross-checked with the
    kernel's high-water mark (VmHWM, reset through clear_refs when allowed)."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.pid, self.interval = pid, interval
        self.base = proc_status(pid)["VmRSS"]
        self.peak = self.base
        self.hwm_reset = False
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "RssMonitor":
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")
            self.hwm_reset = True
        except OSError:
            pass
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> int:
        try:
            st = proc_status(self.pid)
        except OSError:
            return self.peak
        self.peak = max(self.peak, st.get("VmRSS", 0))
        if self.hwm_reset:
            self.peak = max(self.peak, st.get("VmHWM", 0))
        return st.get("VmRSS", 0)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()
        self.sample()

    @property
    def growth(self) -> int:
        return self.peak - self.base


def mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


@pytest.fixture(scope="session")
def rk_bin(tmp_path_factory) -> str:
    return crashlib.private_binary(tmp_path_factory)


@pytest.fixture
def make_server(rk_bin, request):
    """Factory: make_server(cfg=None) -> HostileServer, started. Every server is SIGKILLed at
    teardown; its directory is kept when the test failed (path printed)."""
    made = []

    def factory(cfg=None, name="rk", start=True):
        root = Path(tempfile.mkdtemp(prefix=f"rkhostile-{name}-"))
        s = HostileServer(root, cfg, rk_bin)
        made.append(s)
        return s.start() if start else s

    yield factory
    rep = getattr(request.node, "rep_call", None)
    for s in made:
        s.kill()
        if rep is not None and rep.failed and os.environ.get("RINGKEEPER_HOSTILE_KEEP"):
            print(f"\nkept server directory for inspection: {s.root}")
        else:
            shutil.rmtree(s.root, ignore_errors=True)
    zkraw.LIVE_SESSIONS.clear()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def pytest_report_header(config):
    return [f"hostile suite: binary {crashlib.RINGKEEPER_BIN}, RLIMIT_NOFILE {NOFILE}, "
            f"address-space headroom {mib(AS_HEADROOM)}"]

