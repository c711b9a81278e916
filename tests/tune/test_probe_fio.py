"""The probe's fdatasync figures agree with fio's on the same file, on tmpfs and on the real
disk.

"The same file": the probe writes DIR/ringkeeper-tune-probe-<case>.dat; fio is pointed at that
path (removed before each tool's run, so that each lays it out the same way: fio's default
layout is fallocate, the probe's "preallocated" case; fio's --overwrite=1 writes the file
first, the probe's "zeroed" case). Both then append 4 KiB blocks with an fdatasync after each
and report the sync's latency.

A disk shared with other work drifts from one second to the next, so the runs alternate
(probe, fio, fio, probe) and the medians of each tool's p50s are compared. Margins:
  real disk: |probe p50 - fio p50| <= DISK_REL x fio p50 + DISK_ABS_US
  tmpfs:     |probe p50 - fio p50| <= TMPFS_ABS_US (both are a fraction of a microsecond;
             a probe that also timed the 4 KiB write would be off by more)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import TUNE_BIN, need

SAMPLES = 300
DISK_REL = 0.35
DISK_ABS_US = 20.0
TMPFS_ABS_US = 0.5

# probe case -> fio options that lay the file out and write it the same way
FIO_OPTS = {
    "buffered-4k-preallocated": ["--direct=0"],
    "direct-4k-zeroed": ["--direct=1", "--overwrite=1"],
}


def probe_p50(directory: Path, case: str) -> float:
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.run(
            [TUNE_BIN, "--probe-only", "--data-dir", str(directory), "--log-dir", str(directory),
             "--probe-cases", case, "--probe-samples", str(SAMPLES), "--quick", "--out", out],
            capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        report = json.loads((Path(out) / "report.json").read_text())
    [result] = report["probes"][0]["fsync"]
    assert result["latency"] is not None, result
    assert result["latency"]["count"] == SAMPLES
    return result["latency"]["p50_us"]


def fio_p50(directory: Path, case: str) -> float:
    path = directory / f"ringkeeper-tune-probe-{case}.dat"
    path.unlink(missing_ok=True)
    try:
        proc = subprocess.run(
            ["fio", "--name=probe", f"--filename={path}", "--rw=write", "--bs=4k",
             f"--size={SAMPLES * 4096}", "--fdatasync=1", "--ioengine=sync",
             "--output-format=json", *FIO_OPTS[case]],
            capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
    finally:
        path.unlink(missing_ok=True)
    job = json.loads(proc.stdout)["jobs"][0]
    return job["sync"]["lat_ns"]["percentile"]["50.000000"] / 1000.0


def compare(directory: Path, case: str) -> tuple:
    need(TUNE_BIN)
    probe, fio = [], []
    for tool in ("probe", "fio", "fio", "probe"):
        (probe if tool == "probe" else fio).append(
            probe_p50(directory, case) if tool == "probe" else fio_p50(directory, case))
    p, f = statistics.median(probe), statistics.median(fio)
    print(f"\n{directory} {case}: probe p50 {probe} -> {p:.1f} us, fio p50 {fio} -> {f:.1f} us")
    return p, f


@pytest.mark.parametrize("case", ["buffered-4k-preallocated"])
def test_probe_agrees_with_fio_on_tmpfs(tmpfs_dir, case):
    p, f = compare(tmpfs_dir, case)
    assert abs(p - f) <= TMPFS_ABS_US, f"probe {p:.2f} us, fio {f:.2f} us"


@pytest.mark.parametrize("case", sorted(FIO_OPTS))
def test_probe_agrees_with_fio_on_the_disk(disk_dir, case):
    p, f = compare(disk_dir, case)
    assert abs(p - f) <= DISK_REL * f + DISK_ABS_US, f"probe {p:.1f} us, fio {f:.1f} us"
