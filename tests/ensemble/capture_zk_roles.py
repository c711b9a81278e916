"""Captures what Apache ZooKeeper 3.8 (Debian) answers on its status endpoints in each quorum
role, as fixtures for server/src/status/quorum.rs.

An ensemble of three voters and one Observer runs on loopback (free ports, a dataDir with
`myid` each, the AdminServer on). Once it has a leader, a client writes a few znodes through
a follower (so that the leader's proposal sizes and the learners' counters move), then the
four-letter words srvr, stat, mntr, conf, isro and every AdminServer command are taken from
the leader, a follower and the Observer. Then the leader and the other follower are killed:
the surviving voter is LOOKING (no quorum) and the Observer, which alone runs with
`readonlymode.enabled=true`, turns read-only; both are captured again.

Varying figures (ports, paths, times, latencies, zxids, byte counts) are replaced by
placeholders (see `normalise`), so the fixtures change only when ZooKeeper's format does.

    ~/.cache/ringkeeper-diff-venv/bin/python tests/ensemble/capture_zk_roles.py [--raw DIR]

writes tests/ensemble/fixtures/zk38/<role>/<command>.{txt,json}; --raw also keeps the
captures as they came.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "diff"))
sys.path.insert(0, str(HERE.parent / "admin"))

import zkraw  # noqa: E402
from adminlib import ZK_ADMIN_CLASSPATH  # noqa: E402
from zkraw import wait_until  # noqa: E402

HOST = "127.0.0.1"
FIXTURES = HERE / "fixtures" / "zk38"
# What depends on the role; a server out of quorum is asked everything (most of it then
# answers "not currently serving").
WORDS = ["srvr", "stat", "mntr", "conf", "isro"]
ALL_WORDS = WORDS + ["ruok", "cons", "crst", "srst", "dump", "wchs", "wchc", "wchp", "dirs",
                     "hash"]
ADMIN = ["monitor", "server_stats", "stats", "leader", "observers", "voting_view", "zabstate",
         "is_read_only", "configuration", "initial_configuration",
         "observer_connection_stat_reset"]
# (environment and system_properties answer as usual out of quorum too; their text is the
# host's, so they are left out.)
ALL_ADMIN = ADMIN + ["connection_stat_reset", "connections", "hash", "dirs", "dump",
                     "get_trace_mask", "last_snapshot", "ruok", "set_trace_mask", "stat_reset",
                     "watches", "watches_by_path", "watch_summary"]
# Voters 1-3, Observer 4.
IDS = [1, 2, 3, 4]
OBSERVER = 4


def free_ports(n):
    import socket
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind((HOST, 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class Peer:
    def __init__(self, sid, root, ports):
        self.sid = sid
        self.dir = root / f"zk{sid}"
        self.client, self.quorum, self.election, self.admin = ports
        self.proc = None

    def start(self, server_lines):
        data = self.dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        (data / "myid").write_text(f"{self.sid}\n")
        cfg = {
            "tickTime": "2000", "initLimit": "10", "syncLimit": "5",
            "dataDir": str(data), "4lw.commands.whitelist": "*",
            "admin.enableServer": "true", "admin.serverAddress": HOST,
            "admin.serverPort": str(self.admin),
        }
        if self.sid == OBSERVER:
            cfg["peerType"] = "observer"
        text = "".join(f"{k}={v}\n" for k, v in cfg.items()) + server_lines
        (self.dir / "zoo.cfg").write_text(text)
        props = ["-Dreadonlymode.enabled=true"] if self.sid == OBSERVER else []
        java = shutil.which("java") or "/usr/bin/java"
        cmd = [java, "-Xmx160m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
               "-Dzookeeper.root.logger=INFO,CONSOLE", "-Dzookeeper.console.threshold=INFO",
               *props, "-cp", ZK_ADMIN_CLASSPATH,
               "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(self.dir / "zoo.cfg")]
        log = open(self.dir / "server.log", "ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir,
                                     start_new_session=True)
        log.close()

    def stop(self):
        zkraw.stop_process_group(self.proc)
        self.proc = None

    def four(self, cmd):
        return zkraw.four_letter(HOST, self.client, cmd, timeout=5.0)

    def mode(self):
        try:
            m = re.search(r"^Mode: (\S+)", self.four("srvr"), re.M)
        except OSError:
            return None
        return m.group(1) if m else None

    def admin_cmd(self, name):
        """The body of the answer; one with another status than 200 is kept as
        `HTTP <status>` and its body."""
        url = f"http://{HOST}:{self.admin}/commands/{name}"
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return r.read().decode()
        except urllib.error.HTTPError as e:
            return f"HTTP {e.code}\n{e.read().decode(errors='replace')}"

    def admin_up(self):
        try:
            self.admin_cmd("ruok")
            return True
        except OSError:
            return False


def capture(peer, role, out: dict, everything=False):
    for w in ALL_WORDS if everything else WORDS:
        out[(role, f"{w}.txt")] = peer.four(w)
    for a in ALL_ADMIN if everything else ADMIN:
        out[(role, f"admin_{a}.json")] = peer.admin_cmd(a)


def normaliser(peers, root):
    """Ports become <client.N>/<quorum.N>/<election.N>/<admin.N>, paths <root>, and every
    figure that varies from run to run a placeholder (the key or field keeps its place)."""
    subs = []
    for p in peers:
        for kind in ("client", "quorum", "election", "admin"):
            subs.append((str(getattr(p, kind)), f"<{kind}.{p.sid}>"))
    # Longest first so that no port is a prefix of another's replacement.
    subs.sort(key=lambda s: -len(s[0]))
    varying_mntr = {
        "zk_avg_latency", "zk_min_latency", "zk_max_latency", "zk_packets_sent",
        "zk_packets_received", "zk_uptime", "zk_open_file_descriptor_count",
        "zk_max_file_descriptor_count", "zk_approximate_data_size", "zk_num_alive_connections",
        "zk_last_client_response_size", "zk_min_client_response_size",
        "zk_max_client_response_size", "zk_leader_uptime", "zk_last_proposal_size",
        "zk_min_proposal_size", "zk_max_proposal_size",
    }

    def ports(text: str) -> str:
        for old, new in subs:
            text = re.sub(rf"(?<![0-9]){old}(?![0-9])", new, text)
        return text

    def norm(text: str) -> str:
        text = ports(text.replace(str(root), "<root>"))
        text = re.sub(r"^(Zookeeper version: |zk_version\t).*$", r"\1<version>", text, flags=re.M)
        text = re.sub(r"^(dataDirSize|dataLogSize)=.*$", r"\1=<n>", text, flags=re.M)
        text = re.sub(r"^(Latency min/avg/max: ).*$", r"\1<n>/<n>/<n>", text, flags=re.M)
        text = re.sub(r"^(Received|Sent|Zxid|Connections): .*$", r"\1: <n>", text, flags=re.M)
        text = re.sub(r"^(Proposal sizes last/min/max: ).*$", r"\1<n>/<n>/<n>", text,
                      flags=re.M)
        text = re.sub(r"^ /127\.0\.0\.1:\d+\[.*$", " <client connection>", text, flags=re.M)
        lines = []
        for line in text.split("\n"):
            k, tab, v = line.partition("\t")
            if tab and (k in varying_mntr or re.match(r"zk_(avg|min|max|cnt|sum|p\d+)_", k)):
                line = f"{k}\t<n>"
            lines.append(line)
        return "\n".join(lines)

    def norm_json(text: str) -> str:
        if text.startswith("HTTP "):
            return text.split("\n", 1)[0] + "\n"
        doc = json.loads(text)
        varying = {"uptime", "packets_sent", "packets_received", "avg_latency", "max_latency",
                   "min_latency", "last_processed_zxid", "data_dir_size", "log_dir_size",
                   "open_file_descriptor_count", "max_file_descriptor_count",
                   "approximate_data_size", "last_buffer_size", "min_buffer_size",
                   "max_buffer_size", "num_alive_connections", "num_alive_client_connections",
                   "leader_uptime", "last_proposal_size", "min_proposal_size",
                   "max_proposal_size", "version", "timestamp", "zxid", "established",
                   "last_zxid", "last_response_time", "last_latency", "remote_socket_address",
                   "session_id", "digests", "datadir_size", "logdir_size",
                   "queued_packets_size"} | {k[len("zk_"):] for k in varying_mntr}
        port_names = {str(getattr(p, k)): f"<{k}.{p.sid}>" for p in peers
                      for k in ("client", "quorum", "election", "admin")}

        def walk(v, key=None):
            if isinstance(v, dict):
                return {k: walk(x, k) for k, x in v.items()}
            if isinstance(v, list):
                return [walk(x) for x in v]
            if key in varying or (key and re.match(r"(avg|min|max|cnt|sum|p\d+)_", key)):
                return "<version>" if key == "version" else "<n>"
            if isinstance(v, str):
                return ports(v.replace(str(root), "<root>"))
            if isinstance(v, int) and not isinstance(v, bool) and str(v) in port_names:
                return port_names[str(v)]
            return v
        return json.dumps(walk(doc), indent=2) + "\n"

    return norm, norm_json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", type=Path, help="also keep the captures as they came, here")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rk-zkroles-"))
    ports = free_ports(4 * len(IDS))
    peers = [Peer(sid, root, ports[4 * i:4 * i + 4]) for i, sid in enumerate(IDS)]
    lines = "".join(
        f"server.{p.sid}={HOST}:{p.quorum}:{p.election}"
        f"{':observer' if p.sid == OBSERVER else ''};{HOST}:{p.client}\n" for p in peers)
    out = {}
    try:
        for p in peers:
            p.start(lines)
        modes = wait_until(
            lambda: (lambda m: m if sorted(filter(None, m.values())) ==
                     ["follower", "follower", "leader", "observer"] else None)(
                {p.sid: p.mode() for p in peers}),
            90, interval=0.3, what="a leader, two followers and an observer")
        for p in peers:
            wait_until(p.admin_up, 30, what=f"zk{p.sid} AdminServer")
        leader = next(p for p in peers if modes[p.sid] == "leader")
        followers = [p for p in peers if modes[p.sid] == "follower"]
        observer = next(p for p in peers if p.sid == OBSERVER)
        # Some writes through a follower and reads on the Observer, so that proposal sizes,
        # learner counters and the followers' sync figures are not all zero.
        c = zkraw.connect(HOST, followers[0].client)
        for i in range(3):
            assert c.request(zkraw.OP["create"], zkraw.create_body(f"/r{i}", b"x" * (10 * i))).ok
        c.close_session()
        c.close()
        r = zkraw.connect(HOST, observer.client)
        r.request(zkraw.OP["sync"], zkraw.W().str("/").bytes())
        assert r.request(zkraw.OP["exists"], zkraw.path_watch_body("/r2")).ok
        r.close_session()
        r.close()
        capture(leader, "leader", out)
        capture(followers[0], "follower", out)
        capture(observer, "observer", out)
        # Quorum lost: the leader and one follower go.
        leader.stop()
        followers[1].stop()
        survivor = followers[0]
        wait_until(lambda: "not currently serving" in survivor.four("srvr"), 60,
                   what="the surviving voter to stop serving")
        wait_until(lambda: observer.four("isro") == "ro", 60,
                   what="the Observer to turn read-only")
        capture(survivor, "looking", out, everything=True)
        capture(observer, "read-only", out)
    finally:
        for p in peers:
            p.stop()
    norm, norm_json = normaliser(peers, root)
    for (role, name), text in sorted(out.items()):
        if args.raw:
            (args.raw / role).mkdir(parents=True, exist_ok=True)
            (args.raw / role / name).write_text(text)
        d = FIXTURES / role
        d.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(norm_json(text) if name.endswith(".json") else norm(text))
    shutil.rmtree(root, ignore_errors=True)
    print(f"captured {len(out)} answers into {FIXTURES}")


if __name__ == "__main__":
    main()
