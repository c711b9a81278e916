"""Steps of the system clock under a running server (an NTP step, `date -s`): ZooKeeper measures
session timeouts on a monotonic clock, so a forward step must not expire every session (and
delete every ephemeral: locks, leader znodes), and a backward step must not keep a dead session
alive. The server runs under libfaketime (Debian `faketime`) with only CLOCK_REALTIME faked,
stepped through a timestamp file."""

from __future__ import annotations

import os
import time

import pytest

from crashlib import HOST
import zkraw

FAKETIME_LIBS = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
]


def faketime_lib() -> str:
    for p in FAKETIME_LIBS:
        if os.path.exists(p):
            return p
    pytest.fail("libfaketime not found: apt-get install faketime (tests/run-all.sh does)")


def start_under_faketime(make_server, tmp_path):
    stamp = tmp_path / "faketime"
    stamp.write_text("+0\n")
    s = make_server(cfg={"tickTime": "500"})
    s.env = {
        "LD_PRELOAD": faketime_lib(),
        "FAKETIME_TIMESTAMP_FILE": str(stamp),
        "FAKETIME_NO_CACHE": "1",
        "DONT_FAKE_MONOTONIC": "1",
    }
    s.start()
    return s, stamp


def keep_alive(conns, seconds: float) -> None:
    """Pings every connection every 200 ms for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for c in conns:
            c.ping()
        time.sleep(0.2)


def test_forward_step_expires_no_session(make_server, tmp_path):
    s, stamp = start_under_faketime(make_server, tmp_path)
    owner = zkraw.connect(HOST, s.port, timeout_ms=4000)
    assert owner.create("/lock", b"", flags=1).ok  # ephemeral
    keep_alive([owner], 1.0)
    stamp.write_text("+1d\n")  # the wall clock jumps a day ahead
    # Quiet for 1.5 s, well inside the 4 s timeout: the server ticks every 125 ms meanwhile.
    time.sleep(1.5)
    other = zkraw.connect(HOST, s.port, timeout_ms=4000)
    r = other.exists("/lock")
    assert r.ok, f"a forward clock step expired a live session: exists -> {r}"
    assert owner.ping().ok
    # The step shows in the znodes' times: ctime follows the wall clock, as in ZooKeeper.
    assert other.create("/after", b"").ok
    day_ms = 86_400_000
    assert other.exists("/after")["stat"]["ctime"] > time.time() * 1000 + day_ms / 2
    other.close()
    owner.close()
    assert s.alive()


def test_backward_step_keeps_no_dead_session(make_server, tmp_path):
    s, stamp = start_under_faketime(make_server, tmp_path)
    owner = zkraw.connect(HOST, s.port, timeout_ms=4000)
    assert owner.create("/lock", b"", flags=1).ok
    stamp.write_text("-1d\n")  # the wall clock jumps a day back, then the owner goes quiet
    watcher = zkraw.connect(HOST, s.port, timeout_ms=30000)
    deadline = time.monotonic() + 10  # 4 s timeout, checked every 500 ms tick
    while watcher.exists("/lock").ok:
        assert time.monotonic() < deadline, "a backward clock step kept a dead session alive"
        time.sleep(0.2)
    watcher.close()
    assert s.alive()
