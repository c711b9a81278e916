"""Shared helpers for the crash/recovery suite: one Ringkeeper server on a fixed
port and fixed data directories that can be SIGKILLed and restarted many times,
plus a reader for the on-disk WAL/snapshot formats of storage/DESIGN.md.

Every process is started in its own process group; `kill()` SIGKILLs that group
and only that group.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "diff"))
import zkraw  # noqa: E402  (plain module of the differential harness; 4lw helper)

HOST = "127.0.0.1"
RINGKEEPER_BIN = os.environ.get("RINGKEEPER_BIN", str(REPO / "target" / "debug" / "ringkeeper"))
if not os.path.isabs(RINGKEEPER_BIN):
    RINGKEEPER_BIN = str(REPO / RINGKEEPER_BIN)
READY_TIMEOUT = float(os.environ.get("CRASH_READY_TIMEOUT", "60"))
# A live process that logged "recovered" but does not serve after this long is hung.
HANG_TIMEOUT = float(os.environ.get("CRASH_HANG_TIMEOUT", "10"))
STARTUP_HANGS: list = []

# kazoo logs every lost connection at WARNING/ERROR; the crash loop causes thousands.
logging.getLogger("kazoo").setLevel(logging.CRITICAL)

BASE_CFG = {
    "tickTime": "1000",
    "4lw.commands.whitelist": "*",
    "admin.enableServer": "false",
    "maxClientCnxns": "0",
    # 64 MiB preallocation per segment (the default) costs disk and start-up time on every
    # restart of a debug build; the suite uses small steps so segments grow often.
    "preAllocSize": "256",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class ServerGone(Exception):
    pass


def private_binary(tmp_path_factory) -> str:
    """A private copy of the candidate binary for a test session: others rebuild
    target/debug/ringkeeper meanwhile, and a binary swapped between two restarts would be a
    different server."""
    import pytest

    src = RINGKEEPER_BIN
    if not os.access(src, os.X_OK):
        pytest.fail(f"ringkeeper binary {src} not found: run `cargo build -p ringkeeper` "
                    "(or set RINGKEEPER_BIN)")
    dst = tmp_path_factory.mktemp("bin") / "ringkeeper"
    shutil.copy2(src, dst)
    return str(dst)


class RkServer:
    """One Ringkeeper data set (dataDir + dataLogDir) served by successive processes."""

    def __init__(self, root: Path, cfg: Optional[dict] = None, binary: str = RINGKEEPER_BIN,
                 data_log_dir: Optional[Path] = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.root / "data"
        self.data_log_dir = Path(data_log_dir) if data_log_dir else self.root / "datalog"
        self.cfg = dict(BASE_CFG)
        self.cfg.update(cfg or {})
        self.binary = binary
        self.port = free_port()
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0
        self.spawned_at = 0.0  # time.monotonic() of the last spawn
        self.stderr_path: Optional[Path] = None
        # Extra environment for the server process (e.g. libfaketime).
        self.env: dict = {}

    # -- files ---------------------------------------------------------------
    @property
    def snap_dir(self) -> Path:
        return self.data_dir / "version-2"

    @property
    def log_dir(self) -> Path:
        return self.data_log_dir / "version-2"

    def segments(self) -> list:
        """WAL segments sorted by first zxid."""
        if not self.log_dir.exists():
            return []
        segs = [p for p in self.log_dir.iterdir() if re.fullmatch(r"log\.[0-9a-f]+", p.name)]
        return sorted(segs, key=lambda p: int(p.name[4:], 16))

    def snapshots(self) -> list:
        if not self.snap_dir.exists():
            return []
        snaps = [p for p in self.snap_dir.iterdir() if re.fullmatch(r"snapshot\.[0-9a-f]+", p.name)]
        return sorted(snaps, key=lambda p: int(p.name[9:], 16))

    def write_cfg(self) -> Path:
        cfg = dict(self.cfg)
        # "key=value;key=value" from the environment, e.g. ringkeeper.walDirectIo=false to
        # crash the buffered log writer instead of the DMA one.
        extra = os.environ.get("RINGKEEPER_CRASH_EXTRA_CFG", "")
        cfg.update(kv.split("=", 1) for kv in extra.split(";") if "=" in kv)
        cfg["dataDir"] = str(self.data_dir)
        cfg["dataLogDir"] = str(self.data_log_dir)
        cfg["clientPort"] = str(self.port)
        cfg["clientPortAddress"] = HOST
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_log_dir.mkdir(parents=True, exist_ok=True)
        p = self.root / "zoo.cfg"
        p.write_text("".join(f"{k}={v}\n" for k, v in cfg.items()))
        return p

    # -- processes -------------------------------------------------------------
    def spawn(self) -> subprocess.Popen:
        assert self.proc is None or self.proc.poll() is not None, "server already running"
        if not os.access(self.binary, os.X_OK):
            raise RuntimeError(f"ringkeeper binary {self.binary} not found (cargo build -p ringkeeper)")
        cfgpath = self.write_cfg()
        self.starts += 1
        self.stderr_path = self.root / f"server-{self.starts:04d}.log"
        out = open(self.stderr_path, "wb")
        env = dict(os.environ)
        env.setdefault("NO_COLOR", "1")
        env.update(self.env)
        self.spawned_at = time.monotonic()
        self.proc = subprocess.Popen([self.binary, "server", "--config", str(cfgpath)],
                                     stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=self.root, start_new_session=True, env=env)
        out.close()
        return self.proc

    def start(self, timeout: float = READY_TIMEOUT) -> "RkServer":
        """Starts a process and waits until it serves. A process that is still alive but
        not serving after HANG_TIMEOUT although it logged "recovered" is a start-up hang
        (a known server bug, see README.md): it is SIGKILLed, recorded in STARTUP_HANGS and
        started again, so the durability checks can go on."""
        for attempt in range(5):
            self.spawn()
            ready = self.wait_ready(min(timeout, HANG_TIMEOUT))
            if not ready and self.proc.poll() is None and timeout > HANG_TIMEOUT:
                if "recovered" in self.log_text() and "serving clients" not in self.log_text():
                    STARTUP_HANGS.append(str(self.stderr_path))
                    print(f"\nSTARTUP HANG: {self.stderr_path} alive but not serving after "
                          f"{HANG_TIMEOUT:.0f}s; killing and retrying")
                    self.kill()
                    continue
                ready = self.wait_ready(timeout - HANG_TIMEOUT)
            if ready:
                return self
            rc = self.proc.poll()
            log = self.log_text()
            self.kill()
            if ("cannot bind" in log or "in use" in log) and attempt < 4:
                time.sleep(0.5)  # the old listener's port may linger briefly
                continue
            raise ServerGone(f"server did not become ready (exit code {rc}) on port {self.port}\n"
                             f"--- {self.stderr_path} (tail) ---\n{tail(log)}")
        raise ServerGone(f"server did not start in 5 attempts; see {self.root}")

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                r = zkraw.four_letter(HOST, self.port, "srvr", timeout=1.0)
                if "Zxid:" in r and "not currently serving" not in r:
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def run_to_exit(self, timeout: float = 60) -> tuple:
        """Starts a process that is expected to refuse to start. Returns (exit code, output);
        exit code None if it became ready instead (it is then killed)."""
        self.spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self.proc = None
                return rc, self.log_text()
            try:
                r = zkraw.four_letter(HOST, self.port, "srvr", timeout=0.5)
                if "Zxid:" in r:
                    self.kill()
                    return None, self.log_text()
            except OSError:
                pass
            time.sleep(0.05)
        self.kill()
        return None, self.log_text()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> Optional[int]:
        """SIGKILL the server's process group; returns its exit status."""
        p = self.proc
        if p is None:
            return None
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        rc = p.wait(timeout=30)
        self.proc = None
        return rc

    def log_text(self) -> str:
        try:
            return strip_ansi(self.stderr_path.read_text(errors="replace"))
        except (OSError, AttributeError):
            return ""

    def four(self, cmd: str, timeout: float = 5.0) -> str:
        return zkraw.four_letter(HOST, self.port, cmd, timeout=timeout)

    def zxid(self) -> int:
        r = self.four("srvr")
        m = re.search(r"^Zxid: (0x[0-9a-fA-F]+)", r, re.M)
        if not m:
            raise AssertionError(f"no Zxid in srvr reply: {r!r}")
        return int(m.group(1), 16)

    @property
    def hosts(self) -> str:
        return f"{HOST}:{self.port}"

    def cleanup(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_ansi(s: str) -> str:
    return _ANSI.sub("", s)


def tail(s: str, n: int = 40) -> str:
    return "\n".join(s.splitlines()[-n:])


# ---------------------------------------------------------------------------
# kazoo


def kazoo_client(server: RkServer, timeout_s: float = 10.0, **kw):
    from kazoo.client import KazooClient
    from kazoo.retry import KazooRetry
    kw.setdefault("connection_retry", KazooRetry(max_tries=-1, delay=0.05, backoff=1.5,
                                                 max_delay=0.5, max_jitter=0.05))
    return KazooClient(hosts=server.hosts, timeout=timeout_s, **kw)


def stop_quietly(client) -> None:
    try:
        client.stop()
    except Exception:
        pass
    try:
        client.close()
    except Exception:
        pass


# ---------------------------------------------------------------------------
# on-disk formats (storage/DESIGN.md)

RECORD_HEADER = struct.Struct("<IIq")  # u32 len | u32 crc32c(zxid LE ++ payload) | i64 zxid
# Each commit's batch starts with: u32 BATCH_TAG | u32 crc32c(bytes 8..24) | u64 own offset |
# u64 synced_to
BATCH_HEADER = struct.Struct("<IIQQ")
BATCH_TAG = 0xB7C40001
SNAP_HEADER = struct.Struct("<4sIQqII")  # "RKSN" | u32 ver | u64 len | i64 zxid | crc | hcrc
SNAP_HEADER_LEN = 32


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC32C = _crc32c_table()


def crc32c(data: bytes, crc: int = 0) -> int:
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = _CRC32C[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


class Record:
    def __init__(self, offset: int, length: int, crc: int, zxid: int) -> None:
        self.offset, self.length, self.crc, self.zxid = offset, length, crc, zxid

    @property
    def payload_offset(self) -> int:
        return self.offset + RECORD_HEADER.size

    @property
    def end(self) -> int:
        return self.payload_offset + self.length

    def __repr__(self) -> str:
        return f"<record zxid={self.zxid:#x} at {self.offset} len {self.length}>"


def read_segment(path: Path, check_crc: bool = True) -> list:
    """Records of a WAL segment up to the first zero header or EOF, skipping batch headers.
    Asserts that each record's crc matches (so a misunderstanding of the format fails
    loudly)."""
    data = path.read_bytes()
    out, off = [], 0
    while off + RECORD_HEADER.size <= len(data):
        hdr = data[off:off + RECORD_HEADER.size]
        if hdr == bytes(RECORD_HEADER.size):
            break
        length, crc, zxid = RECORD_HEADER.unpack(hdr)
        if length == BATCH_TAG:
            if off + BATCH_HEADER.size > len(data):
                break
            _, bcrc, at, _ = BATCH_HEADER.unpack(data[off:off + BATCH_HEADER.size])
            if check_crc:
                want = crc32c(data[off + 8:off + BATCH_HEADER.size])
                assert (want, at) == (bcrc, off), (
                    f"{path}@{off}: batch header crc {bcrc:#x} (computed {want:#x}), offset "
                    f"{at}: the test's reading of the WAL format is wrong")
            off += BATCH_HEADER.size
            continue
        end = off + RECORD_HEADER.size + length
        if end > len(data):
            break
        if check_crc:
            payload = data[off + RECORD_HEADER.size:end]
            want = crc32c(struct.pack("<q", zxid) + payload)
            assert want == crc, (f"{path}@{off}: crc {crc:#x} != computed {want:#x}: "
                                 "the test's reading of the WAL format is wrong")
        out.append(Record(off, length, crc, zxid))
        off = end
    return out


def read_snapshot_header(path: Path) -> dict:
    magic, ver, plen, zxid, pcrc, hcrc = SNAP_HEADER.unpack(path.read_bytes()[:SNAP_HEADER_LEN])
    return {"magic": magic, "version": ver, "payload_len": plen, "zxid": zxid,
            "payload_crc": pcrc, "header_crc": hcrc}


def flip_byte(path: Path, offset: int, mask: int = 0xFF) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ mask]))
        f.flush()
        os.fsync(f.fileno())
