"""Fixtures of the CLI suite: one Apache ZooKeeper 3.8 and one Ringkeeper, started by the
differential suite's harness (tests/diff/conftest.py: free loopback ports, readiness,
process groups killed at teardown), shared by the tests of a session. Each test works
under its own top-level znode, so the tests do not see each other's nodes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "diff"))

import diffharness  # noqa: E402
Server = diffharness.Server
free_port = diffharness.free_port
wait_until = diffharness.wait_until


@pytest.fixture(scope="session")
def servers():
    """(Apache ZooKeeper, Ringkeeper), running for the whole session."""
    ref, cand = diffharness.start_pair()
    yield ref, cand
    ref.cleanup()
    cand.cleanup()


@pytest.fixture
def make_pair():
    """Starts an (Apache ZooKeeper, Ringkeeper) pair with extra zoo.cfg keys; stopped at the
    end of the test."""
    made = []

    def factory(cfg=None):
        pair = diffharness.start_pair(cfg)
        made.extend(pair)
        return pair

    yield factory
    for s in made:
        s.cleanup()


@pytest.fixture
def make_server(request):
    """Starts extra servers of a kind; all stopped at the end of the test."""
    made = []

    def factory(kind: str = "ringkeeper"):
        s = Server(kind, f"extra{len(made)}")
        made.append(s)
        return s.start()

    yield factory
    for s in made:
        s.cleanup()


def addr(server) -> str:
    return f"127.0.0.1:{server.port}"
