"""Running `ringkeeper cli` and Apache ZooKeeper's zkCli.sh the same way, and putting their
outputs side by side.

Each run gives (exit status, stdout, stderr). What must differ between two servers is
normalised away: times, zxids, session ids, ports. Watch and connection events are printed
by an event thread in both programs, so where they land between the command outputs is a
race even for zkCli.sh against itself: they are compared as a sorted list, the other
lines in order.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RINGKEEPER_BIN = os.environ.get("RINGKEEPER_BIN", str(REPO / "target" / "debug" / "ringkeeper"))
if not os.path.isabs(RINGKEEPER_BIN):
    RINGKEEPER_BIN = str(REPO / RINGKEEPER_BIN)
ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
# A command's run may take this long (the JVM starts in about a second).
RUN_TIMEOUT = 60

# Lines only zkCli.sh prints: the JVM's logging set-up on stderr, and the usage lines of
# commands the CLI does not have (quotas, reconfig, version: see the README).
ZK_ONLY = re.compile(
    r"^SLF4J: |^\t(delquota|listquota|setquota|reconfig|version) ")


@dataclass
class Result:
    rc: int
    out: str
    err: str


def cli_command(kind: str, server: str, args: list) -> list:
    if kind == "zookeeper":
        return [ZKCLI, "-server", server, *args]
    return [RINGKEEPER_BIN, "cli", "-server", server, *args]


def run(kind: str, server: str, args: list = (), stdin: str | None = None,
        timeout: float = RUN_TIMEOUT) -> Result:
    """One run of a CLI: a command from `args`, or a script on stdin."""
    p = subprocess.run(cli_command(kind, server, list(args)), input=stdin,
                       capture_output=True, text=True, timeout=timeout,
                       stdin=None if stdin is not None else subprocess.DEVNULL)
    err = "\n".join(line for line in p.stderr.splitlines() if not ZK_ONLY.search(line))
    return Result(p.returncode, p.stdout, err)


_SUBST = [
    (re.compile(r"^([cm]time = ).*$", re.M), r"\1<time>"),
    (re.compile(r"^([cmp]Zxid = )0x[0-9a-f]+$", re.M), r"\1<zxid>"),
    (re.compile(r"^(ephemeralOwner = )0x[0-9a-f]*[1-9a-f][0-9a-f]*$", re.M), r"\1<session>"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
]


def normalise(text: str) -> str:
    for rx, repl in _SUBST:
        text = rx.sub(repl, text)
    return text


EVENT = re.compile(r"^WatchedEvent state:.*$")


def split_events(out: str) -> tuple:
    """(other lines in order, sorted event lines) of a stdout; blank lines and the
    'WATCHER::' markers go (they come with the events)."""
    lines, events = [], []
    for line in normalise(out).splitlines():
        if EVENT.match(line):
            events.append(line)
        elif line.strip() and line != "WATCHER::":
            lines.append(line)
    return lines, sorted(events)


def without_connect_events(events: list) -> list:
    """A one-shot command may end before the connection event is printed, in zkCli.sh."""
    return [e for e in events if e != "WatchedEvent state:SyncConnected type:None path:null"]


def _diff(what: str, ref: list, cand: list) -> str:
    d = difflib.unified_diff(ref, cand, "zkCli.sh", "ringkeeper cli", lineterm="", n=2)
    return f"{what} differ:\n" + "\n".join(d)


def compare(ref: Result, cand: Result, oneshot: bool = False) -> None:
    """Asserts the two runs printed the same and ended the same way."""
    rl, rev = split_events(ref.out)
    cl, cev = split_events(cand.out)
    if oneshot:
        rev, cev = without_connect_events(rev), without_connect_events(cev)
    assert cl == rl, _diff("stdout lines", rl, cl)
    rerr, cerr = normalise(ref.err).splitlines(), normalise(cand.err).splitlines()
    assert cerr == rerr, _diff("stderr lines", rerr, cerr)
    assert cev == rev, _diff("watch events", rev, cev)
    assert cand.rc == ref.rc, f"exit status differs: zkCli.sh {ref.rc}, ringkeeper cli {cand.rc}"
