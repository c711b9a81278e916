"""Fixtures of the AdminServer and /metrics suite (helpers: adminlib.py)."""

import pytest

from adminlib import start_both


@pytest.fixture(scope="module")
def servers():
    ref, cand = start_both(metrics=True)
    yield ref, cand
    ref.cleanup()
    cand.cleanup()
