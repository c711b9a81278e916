"""The differential suite's harness (tests/diff/conftest.py: Server, start_pair, free_port,
ZK_CLASSPATH, ...) as an importable module for the suites that start servers with it (admin,
cli, ensemble): put tests/diff on sys.path and `import diffharness`. A conftest.py cannot be
imported by its own name from another suite, which has a conftest.py of its own.
"""

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(__name__, Path(__file__).with_name("conftest.py"))
_harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_harness)
# `import diffharness` yields conftest.py's module itself, so that settings a suite changes
# on it (say Server subclasses reading ZK_CLASSPATH) are the ones its functions read.
sys.modules[__name__] = _harness
