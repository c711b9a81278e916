"""Fixtures for the TLS tests: a test PKI, and servers (Ringkeeper, or Apache ZooKeeper 3.8
with NettyServerCnxnFactory) with a plain and a secure client port on free loopback ports.
Every server runs in its own process group and is killed by a finalizer, also on failure."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "diff"))
import tlslib  # noqa: E402
import zkraw  # noqa: E402

REPO = HERE.parents[1]
RINGKEEPER_BIN = os.environ.get("RINGKEEPER_BIN", str(REPO / "target" / "debug" / "ringkeeper"))
if not os.path.isabs(RINGKEEPER_BIN):
    RINGKEEPER_BIN = str(REPO / RINGKEEPER_BIN)


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind((tlslib.HOST, 0))
        return s.getsockname()[1]


class Node:
    """One server with `clientPort` (unless plain=False) and `secureClientPort`."""

    def __init__(self, kind: str, pki: tlslib.Pki, cfg: dict, plain: bool = True) -> None:
        self.kind, self.pki, self.plain = kind, pki, plain
        self.cfg = {"tickTime": "2000", "4lw.commands.whitelist": "*", "admin.enableServer": "false"}
        self.cfg.update(cfg)
        self.dir = Path(tempfile.mkdtemp(prefix=f"rktls-{kind}-"))
        self.logfile = self.dir / "server.log"
        self.proc: Optional[subprocess.Popen] = None
        self.port = 0
        self.secure_port = 0

    def command(self, cfgpath: Path) -> list:
        if self.kind == "zookeeper":
            return [shutil.which("java") or "/usr/bin/java", "-Xmx256m", "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1", "-Dzookeeper.root.logger=INFO,CONSOLE",
                    "-cp", tlslib.zookeeper_classpath(),
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(cfgpath)]
        return [RINGKEEPER_BIN, "server", "--config", str(cfgpath)]

    def write_cfg(self) -> Path:
        cfg = dict(self.cfg)
        cfg["dataDir"] = str(self.dir / "data")
        if self.plain:
            cfg["clientPort"] = str(self.port)
            cfg["clientPortAddress"] = tlslib.HOST
        cfg["secureClientPort"] = str(self.secure_port)
        cfg["secureClientPortAddress"] = tlslib.HOST
        if self.kind == "zookeeper":
            cfg["serverCnxnFactory"] = "org.apache.zookeeper.server.NettyServerCnxnFactory"
        (self.dir / "data").mkdir(exist_ok=True)
        p = self.dir / "zoo.cfg"
        p.write_text("".join(f"{k}={v}\n" for k, v in cfg.items()))
        return p

    def launch(self) -> subprocess.Popen:
        self.port, self.secure_port = free_port(), free_port()
        cfgpath = self.write_cfg()
        log = open(self.logfile, "ab")
        self.proc = subprocess.Popen(self.command(cfgpath), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir, start_new_session=True)
        log.close()
        return self.proc

    def start(self, client: Optional[str] = "alice") -> "Node":
        if self.kind == "ringkeeper" and not os.access(RINGKEEPER_BIN, os.X_OK):
            pytest.fail(f"{RINGKEEPER_BIN} not built")
        ctx = self.pki.client_context(client)
        for _ in range(3):
            proc = self.launch()
            if tlslib.wait_tls_ready(self.secure_port, ctx, proc):
                return self
            self.stop()
            if "Address already in use" not in self.log():
                break
        pytest.fail(f"{self.kind} did not become ready on TLS port {self.secure_port}\n{self.log()[-3000:]}")

    def log(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        zkraw.stop_process_group(self.proc)
        self.proc = None

    def kazoo(self, client: Optional[str] = "alice", start: bool = True, timeout: float = 10.0):
        from kazoo.client import KazooClient
        kw = dict(use_ssl=True, verify_certs=True, ca=self.pki.path("ca.pem"))
        if client:
            kw.update(certfile=self.pki.path(f"{client}.crt"), keyfile=self.pki.path(f"{client}.key"))
        k = KazooClient(hosts=f"{tlslib.HOST}:{self.secure_port}", timeout=timeout, **kw)
        if start:
            k.start(timeout=timeout)
        return k


@pytest.fixture(scope="session")
def pki():
    d = Path(tempfile.mkdtemp(prefix="rktls-pki-"))
    yield tlslib.Pki(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def nodes():
    """Call with (kind, pki, cfg, plain=True); every node made is stopped at the end."""
    made = []

    def make(kind: str, pki: tlslib.Pki, cfg: dict, plain: bool = True) -> Node:
        n = Node(kind, pki, cfg, plain)
        made.append(n)
        return n

    yield make
    for n in made:
        n.stop()
        shutil.rmtree(n.dir, ignore_errors=True)


@pytest.fixture
def kazoos():
    """Kazoo clients to stop and close at the end."""
    made = []
    yield made
    for k in made:
        try:
            k.stop()
            k.close()
        except Exception:
            pass
