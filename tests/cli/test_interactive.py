"""`ringkeeper cli` at a terminal, driven through tmux (send-keys, capture-pane): the
prompt, line editing history (up arrow), `history` and `redo`, Tab completion of znode
paths and command names, and a watch event line appearing while the prompt waits.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest

from clilib import RINGKEEPER_BIN
from conftest import addr, wait_until

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Pane:
    def __init__(self, command: list) -> None:
        self.name = f"rkcli-{uuid.uuid4().hex[:8]}"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "160", "-y", "50",
                        *command], check=True)

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def type(self, text: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", text], check=True)

    def screen(self) -> str:
        p = subprocess.run(["tmux", "capture-pane", "-p", "-J", "-S", "-500", "-t", self.name],
                           capture_output=True, text=True)
        return p.stdout

    def lines(self) -> list:
        return [line.rstrip() for line in self.screen().splitlines()]

    def wait(self, pred, what: str, timeout: float = 20):
        return wait_until(lambda: pred(self.lines()), timeout,
                          what=f"{what}; screen:\n{self.screen()}")

    def wait_line(self, line: str, count: int = 1) -> None:
        self.wait(lambda ls: ls.count(line) >= count, f"line {line!r} x{count}")

    def alive(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.name],
                              capture_output=True).returncode == 0

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def server(make_server):
    return make_server("ringkeeper")


def test_prompt_history_completion_and_events(server):
    host = addr(server)
    pane = Pane([RINGKEEPER_BIN, "cli", "-server", host])
    try:
        pane.wait(lambda ls: any(line.startswith(f"[zk: {host}(CONNECTED) 0]") for line in ls),
                  "first prompt")
        pane.wait_line("WatchedEvent state:SyncConnected type:None path:null")
        pane.type("create /tmx hello")
        pane.keys("Enter")
        pane.wait_line("Created /tmx")
        pane.type("create /tmx/child1 c")
        pane.keys("Enter")
        pane.wait_line("Created /tmx/child1")
        prompt2 = f"[zk: {host}(CONNECTED) 2]"
        pane.wait(lambda ls: any(line.startswith(prompt2) for line in ls), "prompt 2")

        # Tab completes a znode path from the server, and a command name.
        pane.type("get /tmx/ch")
        pane.keys("Tab")
        pane.wait_line(f"{prompt2} get /tmx/child1")
        pane.keys("Enter")
        pane.wait_line("c")
        pane.type("getAl")
        pane.keys("Tab")
        pane.wait(lambda ls: any(line.startswith(f"[zk: {host}(CONNECTED) 3] getAllChildrenNumber")
                                 for line in ls), "command completed")
        pane.type("/tmx")
        pane.keys("Enter")
        pane.wait_line("1")

        # Up arrow brings back the line before; Enter runs it again.
        pane.keys("Up")
        pane.wait_line(f"[zk: {host}(CONNECTED) 4] getAllChildrenNumber /tmx")
        pane.keys("Enter")
        pane.wait(lambda ls: ls.count("1") >= 2, "second getAllChildrenNumber")

        # history and redo, as zkCli numbers them.
        pane.type("history")
        pane.keys("Enter")
        for line in ["0 - create /tmx hello", "1 - create /tmx/child1 c",
                     "2 - get /tmx/child1", "3 - getAllChildrenNumber /tmx",
                     "4 - getAllChildrenNumber /tmx", "5 - history"]:
            pane.wait_line(line)
        pane.type("redo 2")
        pane.keys("Enter")
        pane.wait(lambda ls: ls.count("c") >= 2, "redo of get")

        # A watch fires while the prompt waits for input.
        pane.type("get -w /tmx")
        pane.keys("Enter")
        pane.wait_line("hello")
        other = subprocess.run([RINGKEEPER_BIN, "cli", "-server", host, "set", "/tmx", "new"],
                               capture_output=True, text=True, timeout=30)
        assert other.returncode == 0, other.stderr
        pane.wait_line("WATCHER::")
        pane.wait_line("WatchedEvent state:SyncConnected type:NodeDataChanged path:/tmx")

        pane.type("quit")
        pane.keys("Enter")
        wait_until(lambda: not pane.alive(), 20, what="the CLI to leave on quit")
    finally:
        pane.kill()
