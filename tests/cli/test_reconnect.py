"""`ringkeeper cli` and the servers of its list: it skips a server that is down, keeps its
session across a restart of its server, and moves on to the next server of the list when
its server goes away. Ringkeeper only: zkCli.sh shuffles the list, so which server it tries
first is chance.
"""

from __future__ import annotations

import subprocess
import threading
import time

from clilib import RINGKEEPER_BIN
from conftest import addr, free_port, wait_until


class LiveCli:
    """`ringkeeper cli` reading commands from a pipe, its output collected as it comes."""

    def __init__(self, server: str, *options: str) -> None:
        self.p = subprocess.Popen([RINGKEEPER_BIN, "cli", "-server", server, *options],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, bufsize=1)
        self.out, self.err = [], []
        for stream, sink in ((self.p.stdout, self.out), (self.p.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()

    @staticmethod
    def _pump(stream, sink) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))

    def send(self, line: str) -> None:
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def wait_out(self, line: str, count: int = 1, timeout: float = 30) -> None:
        wait_until(lambda: self.out.count(line) >= count, timeout, what=
                   f"stdout line {line!r} x{count}; have {self.out} / {self.err}")

    def wait_err(self, line: str, timeout: float = 30) -> None:
        wait_until(lambda: line in self.err, timeout, what=
                   f"stderr line {line!r}; have {self.out} / {self.err}")

    def close(self) -> int:
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            return self.p.wait(timeout=15)
        finally:
            if self.p.poll() is None:
                self.p.kill()
                self.p.wait()


CONNECTED = "WatchedEvent state:SyncConnected type:None path:null"
DISCONNECTED = "WatchedEvent state:Disconnected type:None path:null"
EXPIRED = "WatchedEvent state:Expired type:None path:null"


def restart_on_same_port(server) -> None:
    """Stops a server and starts it again on its port, with its data."""
    server.stop()
    log = open(server.logfile, "ab")
    server.proc = subprocess.Popen(server.command(server.write_cfg()), stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=server.dir, start_new_session=True)
    log.close()
    assert server._wait_ready(), server.log_tail()


def test_skips_a_server_that_is_down(make_server):
    live = make_server("ringkeeper")
    dead = f"127.0.0.1:{free_port()}"
    p = subprocess.run([RINGKEEPER_BIN, "cli", "-server", f"{dead},{addr(live)}", "ls", "/"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "[zookeeper]" in p.stdout.splitlines()
    # Every server of the list down: the command fails with ConnectionLoss, status 1.
    p = subprocess.run([RINGKEEPER_BIN, "cli", "-server", f"{dead},{dead}", "ls", "/"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert p.stderr.splitlines() == ["KeeperErrorCode = ConnectionLoss for /"]


def test_keeps_its_session_across_a_server_restart(make_server):
    live = make_server("ringkeeper")
    dead = f"127.0.0.1:{free_port()}"
    cli = LiveCli(f"{dead},{addr(live)}")
    try:
        cli.send("create -e /eph here")
        cli.wait_err("Created /eph")
        cli.send("get -w /eph")
        cli.wait_out("here")
        restart_on_same_port(live)
        cli.wait_out(DISCONNECTED)
        cli.wait_out(CONNECTED, count=2)
        # Same session: its ephemeral is still there, its data watch was set again.
        cli.send("set /eph again")
        cli.wait_out("WatchedEvent state:SyncConnected type:NodeDataChanged path:/eph")
        cli.send("getEphemerals /")
        cli.wait_out("[/eph]")
        cli.send("quit")
        assert cli.close() == 0
    finally:
        cli.close()


def test_moves_to_the_next_server_of_the_list(make_server):
    first = make_server("ringkeeper")
    second = make_server("ringkeeper")
    # A server refuses a session that has seen a later zxid than its own ("client must try
    # another server"): the second server gets ahead of the first.
    ahead = subprocess.run([RINGKEEPER_BIN, "cli", "-server", addr(second)],
                           input="".join(f"create /n{i}\n" for i in range(8)),
                           capture_output=True, text=True, timeout=60)
    assert ahead.returncode == 0, ahead.stderr
    cli = LiveCli(f"{addr(first)},{addr(second)}")
    try:
        cli.send("create /on-first x")
        cli.wait_err("Created /on-first")
        first.stop()
        # The next server answers, and does not know the session: it has expired.
        cli.wait_out(DISCONNECTED)
        cli.wait_out(EXPIRED)
        cli.send("ls /")
        cli.wait_out("Not connected")
        # A new session: the first server is down, the second serves it.
        cli.send("connect")
        cli.wait_out(CONNECTED, count=2)
        cli.send("ls /")
        cli.wait_out("[n0, n1, n2, n3, n4, n5, n6, n7, zookeeper]")
        cli.send("quit")
        assert cli.close() == 0
    finally:
        cli.close()


def test_an_idle_session_stays_alive(make_server):
    """Pings keep a session whose client is idle for longer than its timeout."""
    server = make_server("ringkeeper")
    cli = LiveCli(addr(server), "-timeout", "4000")
    try:
        cli.send("create -e /idle x")
        cli.wait_err("Created /idle")
        time.sleep(9)
        cli.send("get /idle")
        cli.wait_out("x")
        assert DISCONNECTED not in cli.out and EXPIRED not in cli.out, cli.out
        cli.send("quit")
        assert cli.close() == 0
    finally:
        cli.close()
