"""Fixtures of the ensemble suite (the harness is ensemble.py, the load workload.py)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import ensemble as ensemble_mod  # noqa: E402


@pytest.fixture(scope="session")
def rk_bin(tmp_path_factory):
    """A private copy of the Ringkeeper binary (a rebuild during the run must not swap the
    server between two restarts), or None when the candidate is ZooKeeper."""
    if ensemble_mod.KIND != "ringkeeper":
        return None
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "crash"))
    import crashlib
    return crashlib.private_binary(tmp_path_factory)


@pytest.fixture
def make_ensemble(rk_bin, request):
    """Factory: make_ensemble(voters=3, observers=1, **kw) -> a started Ensemble. Everything is
    stopped at teardown; a failed test keeps the ensemble's directory (path and log tails
    printed)."""
    made = []
    # counts the failed reports of the session so far; a failure of this test adds one
    failed_before = request.session.testsfailed

    def factory(voters: int = 3, observers: int = 1, **kw):
        root = Path(tempfile.mkdtemp(prefix=f"rkens-{request.node.name[:40]}-"))
        ens = ensemble_mod.Ensemble(root, voters, observers, binary=rk_bin, **kw)
        made.append(ens)
        return ens.start()

    yield factory
    failed = request.session.testsfailed > failed_before
    for ens in made:
        if failed:
            print(f"\n{ens.describe(40)}\nkept ensemble directory: {ens.root}")
        ens.close(keep_files=failed)


def pytest_terminal_summary(terminalreporter):
    if ensemble_mod.FIGURES:
        terminalreporter.write_sep("=", f"ensemble figures ({ensemble_mod.KIND})")
        for line in ensemble_mod.FIGURES:
            terminalreporter.write_line(line)
