"""ringkeeper-tune stops every server it started when interrupted (Ctrl-C) and when the
servers cannot run; `ringkeeper tune` is the same program."""

from __future__ import annotations

import signal
import subprocess
import time

import zkraw
from conftest import RINGKEEPER_BIN, TUNE_BIN, need, server_pids_under


def test_ctrl_c_through_ringkeeper_tune_stops_every_server(disk_dir):
    need(RINGKEEPER_BIN)
    need(TUNE_BIN)  # `ringkeeper tune` runs the one beside it
    data, log = disk_dir / "data", disk_dir / "log"
    proc = subprocess.Popen(
        [RINGKEEPER_BIN, "tune", "--quick", "--probe-samples", "5", "--data-dir", str(data),
         "--log-dir", str(log), "--out", str(disk_dir / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # A server of the sweep is up (its zoo.cfg is under disk_dir)...
        zkraw.wait_until(lambda: server_pids_under(disk_dir), timeout=60, interval=0.05,
                         what="a sweep server")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # ...and the handler, not just the servers' parent-death signal, ended the run.
    assert proc.returncode == 130, err
    assert "every server it started is stopped" in err
    zkraw.wait_until(lambda: not server_pids_under(disk_dir), timeout=5, what="no server left")
    assert not (data / "ringkeeper-tune-data").exists()
    assert not (log / "ringkeeper-tune-log").exists()


def test_ctrl_c_during_the_probe_removes_its_files(disk_dir):
    need(TUNE_BIN)
    data = disk_dir / "data"
    proc = subprocess.Popen(
        [TUNE_BIN, "--quick", "--probe-samples", "100000", "--data-dir", str(data),
         "--log-dir", str(data), "--out", str(disk_dir / "out"), "--probe-only"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        zkraw.wait_until(lambda: list(data.glob("ringkeeper-tune-probe-*")), timeout=30,
                         interval=0.02, what="a probe file")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert list(data.iterdir()) == []


def test_a_server_that_cannot_start_is_an_error_not_a_hang(disk_dir):
    need(TUNE_BIN)
    started = time.monotonic()
    proc = subprocess.run(
        [TUNE_BIN, "--quick", "--probe-samples", "5", "--data-dir", str(disk_dir / "d"),
         "--log-dir", str(disk_dir / "d"), "--out", str(disk_dir / "out"),
         "--server-bin", "/bin/false"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "the baseline could not be measured" in proc.stderr
    assert "exited during start-up" in proc.stderr
    assert time.monotonic() - started < 60
    assert not server_pids_under(disk_dir)


def test_ringkeeper_tune_without_the_program_says_so(tmp_path):
    need(RINGKEEPER_BIN)
    alone = tmp_path / "ringkeeper"
    alone.write_bytes(open(RINGKEEPER_BIN, "rb").read())
    alone.chmod(0o755)
    proc = subprocess.run([str(alone), "tune", "--quick"], capture_output=True, text=True,
                          timeout=30, env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2
    assert "ringkeeper-tune" in proc.stderr and "cargo build -p ringkeeper-tune" in proc.stderr
