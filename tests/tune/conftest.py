"""Fixtures of the ringkeeper-tune suite (issue 11).

One `ringkeeper-tune --quick` run is shared by the tests that read its report (it takes
about a minute and loads both cores, so it runs once). Its directories are on the real disk
(under the repository's target/), the probe-vs-fio tests also use tmpfs (/dev/shm).
Every process a test starts is killed at teardown, also when the test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE.parent / "diff"))
sys.path.insert(0, str(HERE.parent / "crash"))

TARGET = REPO / "target" / "debug"
RINGKEEPER_BIN = os.environ.get("RINGKEEPER_BIN", str(TARGET / "ringkeeper"))
TUNE_BIN = os.environ.get("RINGKEEPER_TUNE_BIN", str(TARGET / "ringkeeper-tune"))
BENCH_BIN = os.environ.get("RINGKEEPER_BENCH_BIN", str(TARGET / "ringkeeper-bench"))
# Where the tests put directories on the real disk (not tmpfs): the repository's target/.
DISK_ROOT = REPO / "target"
TMPFS_ROOT = Path("/dev/shm")
# The bound for --quick.
QUICK_LIMIT_SECS = 120.0


def need(path: str) -> None:
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not found: run cargo build --workspace first")


def server_pids_under(path: Path) -> list:
    """Pids of running `ringkeeper server` processes whose zoo.cfg lies under `path`."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"server" in argv and any(str(path).encode() in a for a in argv):
            pids.append(int(d.name))
    return pids


@pytest.fixture
def disk_dir():
    d = Path(tempfile.mkdtemp(prefix="tune-test-", dir=DISK_ROOT))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def tmpfs_dir():
    d = Path(tempfile.mkdtemp(prefix="tune-test-", dir=TMPFS_ROOT))
    yield d
    shutil.rmtree(d, ignore_errors=True)


class QuickRun:
    """The output of one `ringkeeper-tune --quick` run."""

    def __init__(self, root: Path, data: Path, log: Path, out: Path, secs: float,
                 proc: subprocess.CompletedProcess) -> None:
        self.root, self.data, self.log, self.out = root, data, log, out
        self.secs = secs
        self.proc = proc
        self.report = json.loads((out / "report.json").read_text())


@pytest.fixture(scope="session")
def quick_run():
    for b in (RINGKEEPER_BIN, TUNE_BIN, BENCH_BIN):
        need(b)
    root = Path(tempfile.mkdtemp(prefix="tune-quick-", dir=DISK_ROOT))
    data, log, out = root / "data", root / "log", root / "report"
    started = time.monotonic()
    proc = subprocess.run(
        [TUNE_BIN, "--quick", "--data-dir", str(data), "--log-dir", str(log), "--out", str(out),
         "--server-bin", RINGKEEPER_BIN, "--workload", "mixed"],
        capture_output=True, text=True, timeout=2 * QUICK_LIMIT_SECS)
    secs = time.monotonic() - started
    # Kept after the run (the report directory is not), to read when a test fails.
    (DISK_ROOT / "tune-quick-last.log").write_text(proc.stdout + proc.stderr)
    try:
        assert proc.returncode == 0, f"ringkeeper-tune failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
        yield QuickRun(root, data, log, out, secs, proc)
    finally:
        for pid in server_pids_under(root):
            os.kill(pid, 9)
        shutil.rmtree(root, ignore_errors=True)
