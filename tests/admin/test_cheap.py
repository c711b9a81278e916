"""Cheap commands stay cheap: answering ruok (and the other shard-answered or
pipeline-only words) opens nothing in the data directories and nothing under /proc. Checked
with strace on the running server; `dirs` and `mntr`, which must read those, are the
positive control that the trace would have caught it."""

import shutil
import subprocess
import pytest

from adminlib import harness, wait_until

CHEAP = ["ruok", "isro", "gtmk", "srvr", "stat", "cons", "wchs", "dump", "crst"]
FILE_CALLS = "openat,open,statx,newfstatat,getdents64"


@pytest.fixture
def traced():
    if not shutil.which("strace"):
        pytest.fail("strace is not installed (tests/run-all.sh installs it)")
    rk = harness.Server("ringkeeper", "rkstrace").start()
    out = rk.dir / "strace.out"
    st = subprocess.Popen(["strace", "-f", "-qq", "-e", f"trace={FILE_CALLS}", "-o", str(out),
                           "-p", str(rk.proc.pid)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    try:
        yield rk, out
    finally:
        st.terminate()
        st.wait(timeout=10)
        rk.cleanup()


def marker_seen(rk, out, start, needle):
    """Sends `dirs` (which lists the data directory) until the trace shows it after `start`."""
    def seen():
        rk.four("dirs")
        return needle in trace(out)[start:]
    wait_until(seen, 20, what="strace to show the data directory read")


def test_cheap_words_read_no_files(traced):
    rk, out = traced
    data = str(rk.dir / "data")
    marker_seen(rk, out, 0, data)  # strace attached and catching reads
    start = len(trace(out))
    for cmd in CHEAP * 3:
        assert rk.four(cmd) != ""
    marker_seen(rk, out, start, data)  # everything before the marker is in the trace
    segment = trace(out)[start:]
    segment = segment[:segment.index(data)]
    assert data not in segment and "/proc/" not in segment, segment[-3000:]


def test_mntr_reads_proc_off_the_pipeline(traced):
    """mntr counts open descriptors in /proc/self/fd: on a thread that is not the
    pipeline's (rk-pipeline)."""
    rk, out = traced
    data = str(rk.dir / "data")
    marker_seen(rk, out, 0, data)
    start = len(trace(out))
    assert "zk_open_file_descriptor_count" in rk.four("mntr")
    marker_seen(rk, out, start, data)
    segment = trace(out)[start:]
    lines = [ln for ln in segment.splitlines() if "/proc/self/fd" in ln]
    assert lines, "mntr read no /proc/self/fd: the trace would miss such reads"
    tids = {int(ln.split()[0]) for ln in lines}
    names = {(rk_task_name(rk.proc.pid, t)) for t in tids}
    # glommio names the thread after its executor: rk-pipeline-<n>.
    assert not any(n.startswith("rk-pipeline") or n == "?" for n in names), (names, lines)


def rk_task_name(pid, tid):
    try:
        return open(f"/proc/{pid}/task/{tid}/comm").read().strip()
    except OSError:
        return "?"


def trace(out):
    try:
        return out.read_text(errors="replace")
    except FileNotFoundError:  # strace has not written its first line yet
        return ""
