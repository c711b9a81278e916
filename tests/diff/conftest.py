"""Differential test harness: Apache ZooKeeper 3.8 (reference) vs a candidate.

The candidate is Ringkeeper (`$RINGKEEPER_BIN`, default target/debug/ringkeeper)
unless RINGKEEPER_DIFF_CANDIDATE=zookeeper, in which case a second Apache
ZooKeeper plays the candidate (used to validate the harness itself).

Every server process is started in its own process group and killed (whole
group) by a fixture finalizer, also when the test fails.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Optional

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import zkraw  # noqa: E402
from zkraw import Closed, Notification, Reply, TimedOut, ZkConn, wait_until  # noqa: E402,F401

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
CANDIDATE = os.environ.get("RINGKEEPER_DIFF_CANDIDATE", "ringkeeper")
RINGKEEPER_BIN = os.environ.get("RINGKEEPER_BIN", str(REPO / "target" / "debug" / "ringkeeper"))
if not os.path.isabs(RINGKEEPER_BIN):
    RINGKEEPER_BIN = str(REPO / RINGKEEPER_BIN)

ZK_JARS = ["zookeeper.jar", "netty-codec.jar", "netty-resolver.jar",
           "slf4j-log4j12.jar", "log4j-1.2.jar"]
ZK_CLASSPATH = ":".join(["/etc/zookeeper/conf"] + [f"/usr/share/java/{j}" for j in ZK_JARS])

# RINGKEEPER_DIFF_TLS=1: both servers also get a secure client port (ZooKeeper with
# NettyServerCnxnFactory) with the same PEM key store and trust store, and every client
# connection of the suite (zkraw) goes there over TLS. ssl.clientAuth=want and clients
# without a certificate: the connections' identities stay what the scenarios expect (ip
# only); x509 identities are compared with ZooKeeper's in tests/tls.
TLS = os.environ.get("RINGKEEPER_DIFF_TLS", "0") == "1"
_TLS_PKI = None


def tls_pki():
    """The test PKI of tests/tls, made once per session."""
    global _TLS_PKI
    if _TLS_PKI is None:
        import atexit
        sys.path.insert(0, str(REPO / "tests" / "tls"))
        import tlslib
        d = Path(tempfile.mkdtemp(prefix="rkdiff-pki-"))
        atexit.register(shutil.rmtree, d, True)
        _TLS_PKI = (tlslib, tlslib.Pki(d))
        zkraw.TLS_CONTEXT = _TLS_PKI[1].client_context(None)
    return _TLS_PKI


if TLS:
    ZK_CLASSPATH = tls_pki()[0].zookeeper_classpath()
# RINGKEEPER_DIFF_ENSEMBLE=1: each side is a 3-voter ensemble and every client connection goes
# to one of its followers (ensemble_side.py).
ENSEMBLE = os.environ.get("RINGKEEPER_DIFF_ENSEMBLE", "0") == "1"
# What srvr's Mode line and mntr's zk_server_state say on the servers the clients talk to.
MODE = "follower" if ENSEMBLE else "standalone"
if ENSEMBLE and TLS:
    raise pytest.UsageError("RINGKEEPER_DIFF_ENSEMBLE=1 does not run over TLS: ensemble members "
                            "get no secure client port")
READY_TIMEOUT = float(os.environ.get("RINGKEEPER_DIFF_READY_TIMEOUT", "40"))

# zoo.cfg keys shared by both servers (ZK-PROTOCOL.md / brief)
BASE_CFG = {
    "tickTime": "2000",
    "extendedTypesEnabled": "true",
    "4lw.commands.whitelist": "*",
    "admin.enableServer": "false",
    # for Ringkeeper; ZooKeeper reads the un-prefixed system property set below
    "znode.container.checkIntervalMs": "1000",
}
BASE_SYSPROPS = {"znode.container.checkIntervalMs": "1000"}
# Extra zoo.cfg lines for the Ringkeeper candidate only, "key=value;key=value": the test
# command runs the suite a second time with "ringkeeper.shards=2", so that connections
# land on different shards (each keeping and firing its own connections' watches).
RINGKEEPER_EXTRA_CFG = dict(
    kv.split("=", 1) for kv in os.environ.get("RINGKEEPER_DIFF_EXTRA_CFG", "").split(";") if "=" in kv
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """One server process (kind 'zookeeper' or 'ringkeeper')."""

    def __init__(self, kind: str, label: str, cfg: Optional[dict] = None,
                 sysprops: Optional[dict] = None, drop_keys: tuple = (),
                 directory: Optional[Path] = None) -> None:
        self.kind, self.label = kind, label
        self.cfg = dict(BASE_CFG)
        self.cfg.update(cfg or {})
        for k in drop_keys:
            self.cfg.pop(k, None)
        self.sysprops = dict(BASE_SYSPROPS)
        self.sysprops.update(sysprops or {})
        # A fresh temporary directory unless the caller gives one (tests/ensemble keeps
        # every member of an ensemble under one root).
        if directory is None:
            self.dir = Path(tempfile.mkdtemp(prefix=f"rkdiff-{label}-"))
        else:
            self.dir = Path(directory)
            self.dir.mkdir(parents=True, exist_ok=True)
        self.port = 0          # where clients go: secure_port in TLS mode, else plain_port
        self.plain_port = 0
        self.secure_port = 0
        self.proc: Optional[subprocess.Popen] = None
        self.logfile = self.dir / "server.log"

    @property
    def host(self) -> str:
        return HOST

    def write_cfg(self) -> Path:
        cfg = dict(self.cfg)
        cfg["dataDir"] = str(self.dir / "data")
        # Before start() switches `port` to the secure port (TLS mode), it is the plain one;
        # some tests set it and call write_cfg themselves.
        cfg["clientPort"] = str(self.port)
        cfg["clientPortAddress"] = HOST
        if TLS:
            tlslib, pki = tls_pki()
            cfg["secureClientPort"] = str(self.secure_port)
            cfg["secureClientPortAddress"] = HOST
            cfg.update(tlslib.tls_cfg(pki, **{"ssl.clientAuth": "want"}))
            if self.kind == "zookeeper":
                cfg["serverCnxnFactory"] = "org.apache.zookeeper.server.NettyServerCnxnFactory"
        if self.kind == "ringkeeper":
            cfg.update(RINGKEEPER_EXTRA_CFG)
        (self.dir / "data").mkdir(exist_ok=True)
        p = self.dir / "zoo.cfg"
        p.write_text("".join(f"{k}={v}\n" for k, v in cfg.items()))
        return p

    def command(self, cfgpath: Path) -> list:
        if self.kind == "zookeeper":
            java = shutil.which("java") or "/usr/bin/java"
            props = [f"-D{k}={v}" for k, v in self.sysprops.items()]
            return [java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-Xshare:auto", "-Dzookeeper.root.logger=INFO,CONSOLE",
                    "-Dzookeeper.console.threshold=INFO", *props,
                    "-cp", ZK_CLASSPATH,
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(cfgpath)]
        return [RINGKEEPER_BIN, "server", "--config", str(cfgpath)]

    def start(self) -> "Server":
        if self.kind == "ringkeeper" and not os.access(RINGKEEPER_BIN, os.X_OK):
            pytest.fail(f"candidate binary {RINGKEEPER_BIN} not found/executable "
                        "(build it, or set RINGKEEPER_DIFF_CANDIDATE=zookeeper)")
        for attempt in range(3):
            self.port = self.plain_port = free_port()
            if TLS:
                self.secure_port = free_port()
            cfgpath = self.write_cfg()
            log = open(self.logfile, "ab")
            self.proc = subprocess.Popen(self.command(cfgpath), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.dir,
                                         start_new_session=True)
            log.close()
            if self._wait_ready() and (not TLS or self._wait_listening(self.secure_port)):
                if TLS:
                    self.port = self.secure_port
                    zkraw.TLS_PORTS.add(self.secure_port)
                return self
            self.stop()
            if "Address already in use" not in self.log_tail():
                break
        pytest.fail(f"{self.label} ({self.kind}) did not become ready on port {self.port}\n"
                    f"--- log tail ---\n{self.log_tail()}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                # ZooKeeper answers ruok before its request pipeline is up, so
                # also require srvr (whitelisted by default) to say it serves.
                ruok = zkraw.four_letter(HOST, self.port, "ruok", timeout=1.0)
                if ((ruok == "imok" or "not in the whitelist" in ruok)
                        and "not currently serving" not in
                        zkraw.four_letter(HOST, self.port, "srvr", timeout=1.0)):
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def _wait_listening(self, port: int) -> bool:
        """The secure port accepts connections too: the readiness checks above go to the
        plain port, and a server may bind the secure one a moment later, or fail to (a
        port taken since free_port chose it)."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                socket.create_connection((HOST, port), timeout=1.0).close()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        zkraw.stop_process_group(self.proc)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # convenience
    def four(self, cmd, **kw) -> str:
        return zkraw.four_letter(HOST, self.port, cmd, **kw)

    def mntr(self) -> dict:
        """The `mntr` reply as a dict of key -> value text."""
        return dict(line.split("\t", 1) for line in self.four("mntr").splitlines() if "\t" in line)

    def conn(self, timeout_ms: int = 30000, **kw) -> ZkConn:
        return zkraw.connect(HOST, self.port, timeout_ms=timeout_ms, **kw)

    def raw(self, **kw) -> ZkConn:
        return ZkConn(HOST, self.port, **kw)

    def __repr__(self) -> str:
        return f"<{self.label}:{self.kind}:{self.port}>"


def start_pair(cfg=None, sysprops=None, drop_keys=()) -> tuple:
    side = Server
    if ENSEMBLE:
        from ensemble_side import EnsembleSide as side
    ref = side("zookeeper", "ref", cfg, sysprops, drop_keys)
    cand = side(CANDIDATE, "cand", cfg, sysprops, drop_keys)
    errs = []

    def go(s):
        try:
            s.start()
        except BaseException as e:  # re-raised below in the main thread
            errs.append(e)

    ts = [threading.Thread(target=go, args=(s,)) for s in (ref, cand)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        ref.cleanup()
        cand.cleanup()
        raise errs[0]
    return ref, cand


@pytest.fixture(scope="session")
def pair():
    """Long-lived (reference, candidate) pair with the default config.
    Tests that depend on global state (root stat, node counts) use make_pair."""
    ref, cand = start_pair()
    yield ref, cand
    ref.cleanup()
    cand.cleanup()


@pytest.fixture(autouse=True)
def end_sessions(request):
    """After each test, end the sessions it opened outside a transcript (`Server.conn`).
    Sessions that wider-scoped fixtures opened before the test are theirs to end.
    On the shared pair, no other session may be left: one the harness does not know
    of (a client tool's) would expire inside a later test's transcript."""
    before = set(zkraw.LIVE_SESSIONS)
    yield
    zkraw.end_sessions(keep=before)
    if "pair" in request.fixturenames:
        for s in request.getfixturevalue("pair"):
            if ENSEMBLE:
                s.check_still_follower()
            check_no_unknown_sessions(s)


def check_no_unknown_sessions(server: Server) -> None:
    """Fails when the server holds more sessions than the harness knows to be alive."""
    if not server.alive():
        return
    alive = int(server.mntr()["zk_global_sessions"])
    known = sum(1 for (h, p, _) in zkraw.LIVE_SESSIONS if (h, p) == (HOST, server.port))
    if alive > known:
        pytest.fail(f"{server.kind}: {alive} sessions alive after the test, {known} known to the "
                    "harness; the others will expire inside a later test's transcript")


@pytest.fixture
def make_pair(request):
    """Factory for a fresh (reference, candidate) pair with extra zoo.cfg keys."""
    started = []

    def factory(cfg=None, sysprops=None, drop_keys=()):
        p = start_pair(cfg, sysprops, drop_keys)
        started.extend(p)
        return p

    def fin():
        for s in started:
            s.cleanup()

    request.addfinalizer(fin)
    return factory


@pytest.fixture
def fresh(make_pair):
    return make_pair()


@pytest.fixture
def base(request) -> str:
    """A test-unique top-level path, so tests sharing `pair` do not collide. On the
    shared pair it is deleted afterwards: a TTL node or container left in it would be
    reaped inside a later test's transcript, at a different point on each server."""
    path = "/" + re.sub(r"[^A-Za-z0-9_]", "_", request.node.name)[:80]
    yield path
    if "pair" in request.fixturenames:
        for s in request.getfixturevalue("pair"):
            delete_tree(s, path)


def delete_tree(server: Server, path: str) -> None:
    """Best effort: a node whose ACL forbids the delete stays."""
    c = server.conn()
    try:
        def rm(p):
            r = c.get_children(p)
            for child in (r["children"] if r.ok else []):
                rm(f"{p}/{child}")
            c.delete(p)
        rm(path)
        c.close_session()
    finally:
        c.close()


@pytest.fixture
def both(pair):
    return list(pair)


def pytest_report_header(config):
    return [f"differential candidate: {CANDIDATE}" + (" over TLS" if TLS else "")
            + (", both sides 3-voter ensembles, clients on a follower" if ENSEMBLE else "")
            + (f" ({RINGKEEPER_BIN})" if CANDIDATE == "ringkeeper" else "")]


# --------------------------------------------------------------------------
# transcripts


class Run:
    """Records every frame of every connection opened through it, in order."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.log: list = []
        self.conns: dict = {}
        self.t0 = time.time()
        # Sessions opened before the scenario (by fixtures) are not this run's to end.
        self.sessions_before = set(zkraw.LIVE_SESSIONS)

    def _hook(self, conn: ZkConn, item) -> None:
        if getattr(self, "log_frames", True):
            self.log.append((conn.name, item))

    def raw(self, name: str, **kw) -> ZkConn:
        c = ZkConn(HOST, self.server.port, name=name, on_frame=self._hook, **kw)
        self.conns.setdefault(name, c)
        self.conns[name] = c
        return c

    def conn(self, name: str, timeout_ms: int = 30000, **kw) -> ZkConn:
        c = self.raw(name)
        resp = c.connect(timeout_ms=timeout_ms, **kw)
        assert not isinstance(resp, Closed) and resp["sessionId"] != 0, \
            f"{self.server.label}: handshake failed: {resp}"
        return c

    def side(self, timeout_ms: int = 30000) -> ZkConn:
        """An unrecorded session, for polling whose repetition count is timing
        dependent (it must not show up in the compared transcript)."""
        c = zkraw.connect(HOST, self.server.port, timeout_ms=timeout_ms, name="side")
        self.conns[f"side{len(self.conns)}"] = c
        return c

    def note(self, *items) -> None:
        self.log.append(("note",) + items)

    def close(self) -> None:
        # End every session explicitly, also those whose connection is gone: a session
        # left to expire would log its closeSession txn at some arbitrary later moment,
        # inside another test's transcript, and shift that test's zxid ranks
        # differently on the two servers.
        self.log_frames = False
        for c in self.conns.values():
            if not c.closed and c.session_id:
                try:
                    c.close_session()
                except Exception:  # noqa: BLE001 - a dead connection has nothing to close
                    pass
            c.close()
        zkraw.end_sessions(HOST, self.server.port, keep=self.sessions_before)


def _check_stat(stat: dict, run: Run, where: str) -> None:
    ct, mt = stat["ctime"], stat["mtime"]
    if stat["czxid"] == 0:
        return  # system nodes: everything 0 (checked by dedicated tests)
    lo = (run.t0 - 3600) * 1000
    hi = (time.time() + 3600) * 1000
    assert lo < ct < hi, f"{where}: implausible ctime {ct}"
    assert mt >= ct, f"{where}: mtime {mt} < ctime {ct}"
    if stat["mzxid"] == stat["czxid"]:
        assert mt == ct, f"{where}: mzxid==czxid but mtime {mt} != ctime {ct}"


class Normalizer:
    ZXID_KEYS = {"zxid", "czxid", "mzxid", "pzxid"}
    SID_KEYS = {"sessionId", "ephemeralOwner"}

    def __init__(self, run: Run) -> None:
        self.run = run
        zx = set()
        self._collect(run.log, zx)
        self.zrank = {z: f"z{i + 1}" for i, z in enumerate(sorted(zx))}
        self.sids: dict = {}

    def _collect(self, obj, zx) -> None:
        if isinstance(obj, Reply):
            if obj.zxid > 0:
                zx.add(obj.zxid)
            self._collect(obj.f, zx)
        elif isinstance(obj, dict):
            for k, v in obj.items():
                if k in self.ZXID_KEYS and isinstance(v, int) and v > 0:
                    zx.add(v)
                else:
                    self._collect(v, zx)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                self._collect(v, zx)

    def z(self, v: int):
        return self.zrank.get(v, v)

    def sid(self, v: int):
        if v == 0:
            return 0
        if v not in self.sids:
            self.sids[v] = f"S{len(self.sids) + 1}"
        return self.sids[v]

    def val(self, obj, where=""):
        if isinstance(obj, dict):
            if "czxid" in obj and "ctime" in obj:
                _check_stat(obj, self.run, where)
            out = {}
            for k, v in obj.items():
                if k in self.ZXID_KEYS and isinstance(v, int):
                    out[k] = self.z(v)
                elif k in self.SID_KEYS and isinstance(v, int):
                    out[k] = self.sid(v)
                elif k in ("ctime", "mtime") and isinstance(v, int):
                    out[k] = "T" if v else 0
                elif k in ("children", "paths", "clientInfo") and isinstance(v, list):
                    # ZooKeeper returns these in hash-set order: unspecified
                    out[k] = sorted(self.val(v, where))
                elif k == "passwd" and isinstance(v, (bytes, type(None))):
                    out[k] = None if v is None else ("zero" if v == bytes(len(v)) else "pw") + str(len(v))
                else:
                    out[k] = self.val(v, where)
            return out
        if isinstance(obj, (list, tuple)):
            return type(obj)(self.val(v, where) for v in obj)
        return obj

    def frame(self, name: str, item) -> str:
        if isinstance(item, Reply):
            f = self.val(item.f, f"{name} {item.op}")
            if item.op == "?":
                f = {"rawlen": len(item.body)}
            zx = self.z(item.zxid) if item.zxid > 0 else item.zxid
            return f"{name} <- {item.op} xid={item.xid} zxid={zx} err={item.errname} {f}"
        if isinstance(item, Notification):
            return f"{name} <- NOTIFY {item.typename} {item.path!r} state={item.state} zxid={item.zxid}"
        if isinstance(item, Closed):
            return f"{name} <- CLOSED"
        if isinstance(item, TimedOut):
            return f"{name} <- TIMEOUT"
        if isinstance(item, tuple) and item and item[0] == "connect":
            return f"{name} <- CONNECT {self.val(item[1])}"
        return f"{name} <- {item!r}"

    def lines(self) -> list:
        out = []
        for entry in self.run.log:
            if entry[0] == "note":
                out.append("note " + repr(self.val(list(entry[1:]))))
            else:
                out.append(self.frame(entry[0], entry[1]))
        return out


def execute(server: Server, scenario: Callable, **kw) -> list:
    run = Run(server)
    try:
        try:
            scenario(run, **kw)
        except AssertionError as e:
            raise AssertionError(f"[{server.label}={server.kind}] {e}") from e
        return Normalizer(run).lines()
    finally:
        run.close()


def differential(pair_, scenario: Callable, **kw) -> list:
    """Run `scenario(run)` against reference and candidate; compare transcripts.
    Assertions inside the scenario are checked on both servers (reference first,
    so a wrong expectation is reported against ZooKeeper itself)."""
    ref, cand = pair_
    t_ref = execute(ref, scenario, **kw)
    t_cand = execute(cand, scenario, **kw)
    dump = os.environ.get("RINGKEEPER_DIFF_DUMP")
    if dump:
        Path(dump).mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", os.environ.get("PYTEST_CURRENT_TEST", "t").split(" ")[0])
        (Path(dump) / f"{name}.ref.txt").write_text("\n".join(t_ref) + "\n")
        (Path(dump) / f"{name}.cand.txt").write_text("\n".join(t_cand) + "\n")
    if t_cand != t_ref:
        diff = "\n".join(difflib.unified_diff(t_ref, t_cand, "reference(zookeeper)",
                                               f"candidate({cand.kind})", lineterm="", n=3))
        pytest.fail(f"candidate transcript differs from reference ZooKeeper:\n{diff}",
                    pytrace=False)
    return t_ref

