"""Storage that fails while the server runs: dataLogDir on a 2 MiB tmpfs that the test
fills up. The WAL write (or its preallocation) then fails with ENOSPC; the server must not
acknowledge the write whose batch failed, must exit non-zero, and must say why. After
the space is freed, a restart recovers every acknowledged write.

Needs permission to mount a tmpfs (root); skipped otherwise.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from kazoo.exceptions import KazooException, NoNodeError

from crashlib import kazoo_client, stop_quietly


@pytest.fixture
def small_tmpfs():
    mnt = Path(tempfile.mkdtemp(prefix="rkcrash-tmpfs-"))
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(mnt)
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode}); "
                    "the poison test needs root / CAP_SYS_ADMIN")
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        try:
            os.rmdir(mnt)
        except OSError:
            pass


def fill(mnt: Path) -> Path:
    filler = mnt / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for size in (65536, 4096, 512, 1):
            while True:
                try:
                    os.write(fd, b"\xAA" * size)
                except OSError as e:
                    assert e.errno == errno.ENOSPC, e
                    break
    finally:
        os.close(fd)
    # leave nothing: a few bytes may still be free in a partial page
    return filler


def test_full_log_device_stops_the_server(make_server, small_tmpfs):
    s = make_server(cfg={"preAllocSize": "64"}, data_log_dir=small_tmpfs / "datalog")
    s.start()
    c = kazoo_client(s)
    c.start(timeout=15)
    c.ensure_path("/p")
    acked = {}
    for k in range(20):
        d = f"before-{k}".encode() * 50
        c.create(f"/p/a{k:04d}", d)
        acked[f"/p/a{k:04d}"] = d
    filler = fill(small_tmpfs)
    failed_at = None
    t0 = time.monotonic()
    for k in range(20000):
        path, d = f"/p/b{k:05d}", f"after-{k}".encode() * 100
        try:
            c.create(path, d)
        except KazooException as e:
            failed_at = (path, d, repr(e))
            break
        acked[path] = d
        assert time.monotonic() - t0 < 60, "writes kept succeeding on a full device for 60 s"
    assert failed_at is not None, "20000 writes succeeded on a full 2 MiB log device"
    deadline = time.monotonic() + 15
    while s.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not s.alive(), f"server still running 15 s after a failed WAL write ({failed_at[2]})"
    rc = s.proc.wait()
    s.proc = None
    log = s.log_text()
    stop_quietly(c)
    assert rc != 0, f"server exited {rc} after a storage failure:\n{log[-3000:]}"
    assert re.search(r"storage failed", log), f"the log does not say storage failed:\n{log[-3000:]}"
    assert re.search(r"No space left on device|ENOSPC|os error 28", log), \
        f"the log does not give the cause (ENOSPC):\n{log[-3000:]}"
    print(f"\nfirst failed write: {failed_at[0]} ({failed_at[2]}); {len(acked)} acknowledged; "
          f"exit code {rc}")

    # free the space and recover: every acknowledged write is there
    filler.unlink()
    s.start()
    c = kazoo_client(s)
    c.start(timeout=15)
    try:
        missing = []
        for p, d in acked.items():
            try:
                got, _ = c.get(p)
            except NoNodeError:
                missing.append(p)
                continue
            assert got == d, p
        assert not missing, f"acknowledged writes lost after the storage failure: {missing[:10]}"
        # the server works again on the freed device
        c.create("/p/after-recovery", b"ok")
    finally:
        stop_quietly(c)
