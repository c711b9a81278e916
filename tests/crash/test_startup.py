"""Start-up liveness: a fresh server must serve after start-up, every time.

Observed while writing this suite: about 1 start in 30-60 hangs for good after logging
"recovered" (never "serving clients"): the pipeline thread spins, the shards wait in
io_uring. The other tests kill and retry such a start (crashlib.STARTUP_HANGS) so they can
check durability; this test reports the hang itself. It is not deterministic, hence the
non-strict xfail.
"""

from __future__ import annotations

import os

import pytest

import crashlib

STARTS = int(os.environ.get("CRASH_STARTUP_STARTS", "30"))


@pytest.mark.xfail(strict=False, reason="bug: ~2% of starts hang after 'recovered' "
                   "(pipeline thread spinning, shards never bound); see README.md")
def test_every_start_serves(make_server):
    hung = []
    for i in range(STARTS):
        s = make_server(name="start")
        s.spawn()
        if not s.wait_ready(10):
            alive = s.alive()
            log = s.log_text()
            hung.append((i, alive, crashlib.tail(log, 5)))
        s.kill()
    assert not hung, f"{len(hung)} of {STARTS} starts did not serve within 10 s: {hung}"
