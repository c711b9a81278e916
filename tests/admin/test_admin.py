"""Every AdminServer command against Apache ZooKeeper 3.8 and Ringkeeper after the same
steps: the JSON documents must have the same keys and value types, and equal values where
the state fixes them (command names, errors, znode/ephemeral/watch counts, settings)."""

import re
import subprocess
import time

import pytest

from adminlib import AdminServer, harness, wait_until, zkraw

# Commands.java (3.8): primary name first, then aliases.
COMMANDS = [
    ["connection_stat_reset", "crst"], ["configuration", "conf", "config"],
    ["connections", "cons"], ["hash"], ["dirs"], ["dump"], ["environment", "env", "envi"],
    ["get_trace_mask", "gtmk"], ["initial_configuration", "icfg"], ["is_read_only", "isro"],
    ["last_snapshot", "lsnp"], ["leader", "lead"], ["monitor", "mntr"],
    ["observer_connection_stat_reset", "orst"], ["ruok"], ["set_trace_mask", "stmk"],
    ["server_stats", "srvr"], ["stats", "stat"], ["stat_reset", "srst"], ["observers", "obsr"],
    ["system_properties", "sysp"], ["voting_view"], ["watches", "wchc"],
    ["watches_by_path", "wchp"], ["watch_summary", "wchs"], ["zabstate"],
]
# Maps keyed by session id or expiry time: the keys differ between servers by nature.
ID_KEYED = {"expiry_time_to_session_ids", "session_id_to_ephemeral_paths",
            "session_id_to_watched_paths"}
# Figures the same steps fix on both servers.
EQUAL = {"command", "error", "node_count", "znode_count", "ephemerals_count", "watch_count",
         "num_connections", "num_paths", "num_total_watches", "read_only", "server_state",
         "tracemask", "voting", "zabstate", "current_config", "synced_observers", "observers",
         "digests", "tick_time", "max_client_cnxns", "min_session_timeout",
         "max_session_timeout", "server_id", "client_port_listen_backlog", "is_leader",
         "secure_connections", "outstanding_requests", "num_alive_connections"}
# Per-namespace read/write summaries: Ringkeeper does not keep them (README; the
# differential suite's mntr test leaves them out the same way).
PER_NAMESPACE = re.compile(r"^(avg|min|max|cnt|sum)_\w+_(write|read)_per_namespace$")
# Commands whose keys are the host's or JVM's (compared separately below).
HOST_KEYED = {"system_properties"}


def kind(v):
    for t, name in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"),
                    (list, "list"), (dict, "dict")):
        if isinstance(v, t):
            return name
    return "null"


def compare(ref, cand, where):
    """Same keys, same value types; equal values for the EQUAL keys."""
    problems = []
    if kind(ref) != kind(cand):
        return [f"{where}: type {kind(ref)} (zookeeper) != {kind(cand)} (ringkeeper): "
                f"{ref!r} / {cand!r}"]
    if isinstance(ref, dict):
        ref = {k: v for k, v in ref.items() if not PER_NAMESPACE.match(k)}
        if set(ref) != set(cand):
            problems.append(f"{where}: keys only in zookeeper {sorted(set(ref) - set(cand))}, "
                            f"only in ringkeeper {sorted(set(cand) - set(ref))}")
        for k in set(ref) & set(cand):
            w = f"{where}.{k}"
            if k in ID_KEYED:
                problems += compare_id_keyed(ref[k], cand[k], w)
                continue
            if k in EQUAL and ref[k] != cand[k]:
                problems.append(f"{w}: {ref[k]!r} (zookeeper) != {cand[k]!r} (ringkeeper)")
            problems += compare(ref[k], cand[k], w)
    elif isinstance(ref, list) and ref and cand:
        problems += compare(ref[0], cand[0], f"{where}[0]")
    return problems


def compare_id_keyed(ref, cand, where):
    if kind(ref) != "dict" or kind(cand) != "dict":
        return [f"{where}: not maps: {ref!r} / {cand!r}"]
    if "expiry_time" in where:
        # How sessions fall into expiry buckets depends on when each was last touched,
        # and ZooKeeper's ExpiryQueue leaves a bucket behind empty when its session moves
        # on; the number of sessions is what the steps fix.
        ref_ids = sum(len(v) for v in ref.values())
        cand_ids = sum(len(v) for v in cand.values())
        if ref_ids != cand_ids:
            return [f"{where}: {ref_ids} sessions (zookeeper) != {cand_ids} (ringkeeper)"]
    elif len(ref) != len(cand):
        return [f"{where}: {len(ref)} entries (zookeeper) != {len(cand)} (ringkeeper)"]
    ref_values = sorted(sorted(map(str, v)) for v in ref.values())
    cand_values = sorted(sorted(map(str, v)) for v in cand.values())
    if "ephemeral" in where or "watched_paths" in where:
        if ref_values != cand_values:
            return [f"{where}: {ref_values} != {cand_values}"]
    return [f"{where}: keys are not numbers: {list(cand)}"] if not all(
        re.fullmatch(r"-?\d+", k) for k in cand) else []


@pytest.fixture(scope="module")
def state(servers):
    """The same session, znodes, ephemeral and watches on both servers."""
    conns = []
    for s in servers:
        c = s.conn()
        assert c.create("/adm").ok
        assert c.create("/adm/e", flags=zkraw.EPHEMERAL).ok
        assert c.get_data("/adm", watch=True).ok
        assert c.exists("/adm/e", watch=True).ok
        conns.append(c)
    yield conns
    for c in conns:
        c.close_session()
        c.close()


def test_command_list(servers):
    names = []
    for s in servers:
        status, _, body = s.http("/commands")
        assert status == 200
        names.append(re.findall(r'<a href="/commands/(\w+)">(\w+)</a>', body))
    assert names[0] == names[1]
    assert sorted(n for n, _ in names[0]) == sorted(c[0] for c in COMMANDS)


# The commands with side effects have tests of their own (test_resets, test_trace_mask).
@pytest.mark.parametrize("names", [c for c in COMMANDS if c[0] not in (
    "stat_reset", "connection_stat_reset", "set_trace_mask")], ids=lambda n: n[0])
def test_command_documents(servers, state, names):
    ref, cand = servers
    for name in names:
        a, b = ref.cmd(name), cand.cmd(name)
        assert b["command"] == names[0] == a["command"]
        if names[0] in HOST_KEYED:
            assert all(isinstance(v, str) for v in b.values() if v is not None)
            only_ours = set(b) - set(a)
            assert not only_ours, f"properties no JVM has: {only_ours}"
            continue
        problems = compare(a, b, name)
        assert not problems, "\n".join(problems)


def test_values_the_state_fixes(servers, state):
    ref, cand = servers
    for s in servers:
        conf = s.cmd("configuration")
        assert conf["client_port"] == s.port
        assert conf["data_dir"] == str(s.dir / "data" / "version-2")
        icfg = s.cmd("initial_configuration")["initial_configuration"]
        assert f"clientPort={s.port}\n" in icfg
        assert icfg == (s.dir / "zoo.cfg").read_text()
        assert s.cmd("watches_by_path")["path_to_session_ids"].keys() == {"/adm", "/adm/e"}
        assert s.cmd("dump")["session_id_to_ephemeral_paths"] and s.cmd("stats")["connections"]
    assert ref.cmd("monitor")["znode_count"] == cand.cmd("monitor")["znode_count"]
    assert ref.cmd("srvr")["node_count"] == cand.cmd("srvr")["node_count"]


def test_unknown_command_and_methods(servers):
    docs = [s.cmd("nope") for s in servers]
    assert docs[0] == docs[1] == {"command": "nope", "error": "Unknown command: nope"}
    for s in servers:
        assert s.http("/commands/ruok", method="POST")[0] == 405
        assert s.http("/elsewhere")[0] == 404


def test_trace_mask(servers):
    for s in servers:
        assert s.cmd("set_trace_mask", "?traceMask=123")["tracemask"] == 123
        assert s.cmd("gtmk")["tracemask"] == 123
        assert s.four("gtmk") == "123"
        s.cmd("stmk", "?traceMask=306")
    docs = [(s.cmd("stmk"), s.cmd("stmk", "?traceMask=x")) for s in servers]
    assert docs[0] == docs[1]
    assert docs[1][0]["error"] == "setTraceMask requires long traceMask argument"


def test_resets(servers, state):
    for s in servers:
        for c in state:
            c.exists("/adm")  # traffic on both (each conn only reaches its own server)
        # Ringkeeper's shards report the reads they served a few times per tick, so a
        # read from just before a reset may still be counted after it: reset until quiet.
        def reset_took(cmd, doc):
            assert s.cmd(cmd) == {"command": doc, "error": None}
            stats = s.cmd("srvr")["server_stats"]
            conns = [c for c in s.cmd("cons")["connections"] if "session_id" in c]
            assert conns
            if cmd == "srst":
                return stats["packets_received"] <= 1 and stats["packets_sent"] <= 1
            return all(c["packets_received"] <= 1 for c in conns)
        wait_until(lambda: reset_took("srst", "stat_reset"), 5, what=f"{s.label} srst")
        wait_until(lambda: reset_took("crst", "connection_stat_reset"), 5,
                   what=f"{s.label} crst")


def test_admin_port_in_use(tmp_path):
    """Ringkeeper logs the error and keeps serving; ZooKeeper 3.8 standalone exits (code
    4): the README lists the difference."""
    import socket
    blocker = socket.socket()
    blocker.bind((harness.HOST, 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        rk = AdminServer("ringkeeper", "rkbusy", cfg={"admin.serverPort": str(port)})
        rk.admin_port = port
        try:
            harness.Server.start(rk)
            assert rk.four("ruok") == "imok"
            c = rk.conn()
            assert c.create("/still-serving").ok
            c.close()
            assert "Problem starting AdminServer" in rk.log_tail(200)
        finally:
            rk.cleanup()
        zk = AdminServer("zookeeper", "zkbusy", cfg={"admin.serverPort": str(port)})
        try:
            zk.port = harness.free_port()
            cfg = zk.write_cfg()
            p = subprocess.Popen(zk.command(cfg), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, cwd=zk.dir, start_new_session=True)
            zk.proc = p
            wait_until(lambda: p.poll() is not None, 60, what="zookeeper to exit")
            assert p.returncode == 4
        finally:
            zk.cleanup()
    finally:
        blocker.close()


def test_slow_http_clients_do_not_stall_clients(servers, state):
    """Connections that never finish their HTTP request hold AdminServer workers (for at
    most 5 s each), never the pipeline."""
    import socket
    _, cand = servers
    hogs = []
    try:
        for _ in range(20):
            h = socket.create_connection((harness.HOST, cand.admin_port))
            h.sendall(b"GET /commands/monitor HTTP/1.1\r\nHost: x\r\n")  # never finished
            hogs.append(h)
        c = cand.conn()
        t0 = time.monotonic()
        for i in range(50):
            assert c.create(f"/adm/slow{i}").ok
            assert c.get_data(f"/adm/slow{i}").ok
        assert time.monotonic() - t0 < 5
        assert cand.four("ruok") == "imok"
        assert "zk_znode_count" in cand.four("mntr")
        c.close()
    finally:
        for h in hogs:
            h.close()
    assert cand.cmd("ruok")["error"] is None  # the workers are free again
