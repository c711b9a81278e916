"""Fixtures of the crash/recovery suite (helpers live in crashlib.py)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import crashlib  # noqa: E402


@pytest.fixture(scope="session")
def rk_bin(tmp_path_factory) -> str:
    return crashlib.private_binary(tmp_path_factory)


@pytest.fixture
def make_server(rk_bin, request):
    """Factory: make_server(cfg=None, data_log_dir=None) -> RkServer (not started).
    Every server is SIGKILLed at teardown; its directory is kept when the test failed
    (path printed) so the on-disk state can be inspected."""
    made = []

    def factory(cfg=None, data_log_dir=None, name="rk"):
        root = Path(tempfile.mkdtemp(prefix=f"rkcrash-{name}-"))
        s = crashlib.RkServer(root, cfg, binary=rk_bin, data_log_dir=data_log_dir)
        made.append(s)
        return s

    yield factory
    failed = getattr(request.node, "rep_call", None)
    for s in made:
        s.kill()
        if failed is not None and failed.failed and not os.environ.get("CRASH_DELETE_ON_FAILURE"):
            print(f"\nkept server directory for inspection: {s.root}")
        else:
            shutil.rmtree(s.root, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def pytest_terminal_summary(terminalreporter):
    if crashlib.STARTUP_HANGS:
        terminalreporter.write_sep("=", f"{len(crashlib.STARTUP_HANGS)} server start-up hang(s) "
                                        "(killed and retried; see README.md)")
        for p in crashlib.STARTUP_HANGS:
            terminalreporter.write_line(p)
