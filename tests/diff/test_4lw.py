"""Four-letter words: output shapes (ZK-PROTOCOL §8) and exact values where
the state is controlled (fresh servers)."""

import re

import pytest

from conftest import ENSEMBLE, MODE
from zkraw import EPHEMERAL

VERSION_LINE = re.compile(r"^Zookeeper version: \S.*, built on .+$")
SRVR_LINES = [
    re.compile(r"^Latency min/avg/max: \d+/\d+(\.\d+)?/\d+$"),
    re.compile(r"^Received: \d+$"),
    re.compile(r"^Sent: \d+$"),
    re.compile(r"^Connections: \d+$"),
    re.compile(r"^Outstanding: \d+$"),
    re.compile(r"^Zxid: 0x[0-9a-f]+$"),
    re.compile(rf"^Mode: {MODE}$"),
    re.compile(r"^Node count: \d+$"),
]
CONS_LINE = re.compile(r"^ /127\.0\.0\.1:\d+\[\d+\]\(queued=\d+,recved=\d+,sent=\d+"
                       r"(,sid=0x[0-9a-f]+,lop=\w+,est=\d+,to=\d+,lcxid=0x[0-9a-f]+,"
                       r"lzxid=0x[0-9a-f]+,lresp=\d+,llat=\d+,minlat=\d+,avglat=\d+,maxlat=\d+)?\)$")
# summary-set prefixes that legitimately differ with traffic (per-namespace keys)
DYNAMIC = re.compile(r"^zk_(avg|min|max|cnt|sum)_\w+_(write|read)_per_namespace$")
TEXT_KEYS = {"zk_version", "zk_server_state", "zk_peer_state"}


@pytest.fixture(scope="module")
def state(pair):
    """A known watch / ephemeral state on both servers."""
    conns = []
    out = {}
    for s in pair:
        a = s.conn()
        a.create("/fourlw")
        a.get_data("/fourlw", watch=True)
        a.create("/fourlw/e", flags=EPHEMERAL)
        conns.append(a)
        out[s.label] = a
    yield out
    for c in conns:
        c.close_session()
        c.close()


def srvr_check(text, label):
    lines = text.split("\n")
    assert lines[-1] == "", f"{label}: srvr must end with a newline"
    lines = lines[:-1]
    assert VERSION_LINE.match(lines[0]), lines[0]
    assert len(lines) == 9, lines
    for rx, line in zip(SRVR_LINES, lines[1:]):
        assert rx.match(line), f"{label}: {line!r} !~ {rx.pattern}"
    return dict(line.split(": ", 1) for line in lines[1:])


def test_ruok_isro(pair):
    for s in pair:
        assert s.four("ruok") == "imok"
        assert s.four("isro") == "rw"


def test_srvr_stat(pair, state):
    for s in pair:
        f = srvr_check(s.four("srvr"), s.label)
        z = state[s.label].ping().zxid
        assert int(f["Zxid"], 16) == z
        st = s.four("stat")
        lines = st.split("\n")
        assert VERSION_LINE.match(lines[0])
        assert lines[1] == "Clients:"
        i = 2
        while lines[i] != "":
            assert CONS_LINE.match(lines[i]), lines[i]
            i += 1
        assert i >= 3, "stat lists at least our own connection"
        srvr_check("\n".join([lines[0]] + lines[i + 1:]), s.label)


def test_cons(pair, state):
    for s in pair:
        text = s.four("cons")
        lines = text.split("\n")
        assert lines[-2:] == ["", ""], repr(text[-20:])
        sids = set()
        for line in lines[:-2]:
            assert CONS_LINE.match(line), line
            m = re.search(r"sid=0x([0-9a-f]+)", line)
            if m:
                sids.add(int(m.group(1), 16))
        assert state[s.label].session_id in sids
        assert s.four("crst") == "Connection stats reset.\n"
        assert s.four("srst") == "Server stats reset.\n"


STANDALONE_CONF_KEYS = [
    "clientPort", "secureClientPort", "dataDir", "dataDirSize", "dataLogDir", "dataLogSize",
    "tickTime", "maxClientCnxns", "minSessionTimeout", "maxSessionTimeout",
    "clientPortListenBacklog", "serverId"]
# A quorum member's conf (ZooKeeper 3.8, probed): these keys follow, then a line
# "membership: " and the membership as /zookeeper/config holds it, without a final newline.
QUORUM_CONF_KEYS = ["initLimit", "syncLimit", "electionAlg", "electionPort", "quorumPort",
                    "peerType"]


def test_conf_keys(pair):
    keys = {}
    for s in pair:
        text = s.four("conf")
        if ENSEMBLE:
            text, found, membership = text.partition("membership: \n")
            assert found, f"{s.label} ({s.kind}): conf has no 'membership: ' line:\n{text}"
            assert s.symbolic(membership) == s.membership(), f"{s.label}: {membership!r}"
        assert text.endswith("\n")
        kv = [line.split("=", 1) for line in text.splitlines()]
        assert all(len(x) == 2 for x in kv), text
        d = dict(kv)
        keys[s.label] = [k for k, _ in kv]
        assert d["clientPort"] == str(s.port)
        assert d["tickTime"] == "2000"
        assert d["minSessionTimeout"] == "4000" and d["maxSessionTimeout"] == "40000"
        assert d["maxClientCnxns"] == "60"
        assert d["dataDir"].endswith("version-2")
        if ENSEMBLE:
            follower = s.follower
            assert (d["serverId"], d["quorumPort"], d["electionPort"], d["peerType"]) == \
                (str(follower.sid), str(follower.quorum_port), str(follower.election_port), "0")
            assert (d["initLimit"], d["syncLimit"], d["electionAlg"]) == ("10", "5", "3")
    assert keys["cand"] == keys["ref"] == \
        STANDALONE_CONF_KEYS + (QUORUM_CONF_KEYS if ENSEMBLE else [])


def test_mntr(pair, state):
    keysets = {}
    for s in pair:
        text = s.four("mntr")
        assert text.endswith("\n")
        d = {}
        for line in text.splitlines():
            k, v = line.split("\t")
            assert re.match(r"^zk_[a-z0-9_]+$", k), line
            if k not in TEXT_KEYS:
                assert re.match(r"^-?\d+(\.\d+(E-?\d+)?)?$", v), line
            d[k] = v
        assert d["zk_server_state"] == MODE
        assert d["zk_version"].startswith("3.8") or s.kind != "zookeeper"
        assert int(d["zk_num_alive_connections"]) >= 1
        keysets[s.label] = {k for k in d if not DYNAMIC.match(k)}
    missing = keysets["ref"] - keysets["cand"]
    extra = keysets["cand"] - keysets["ref"]
    assert not missing and not extra, f"missing={sorted(missing)} extra={sorted(extra)}"


def test_watch_and_dump_commands(pair, state):
    for s in pair:
        sid = state[s.label].session_id
        wchs = s.four("wchs")
        assert re.match(r"^\d+ connections watching \d+ paths\nTotal watches:\d+\n$", wchs), wchs
        wchc = s.four("wchc")
        assert f"0x{sid:x}\n\t/fourlw\n" in wchc, wchc
        assert wchc.endswith("\n\n")
        wchp = s.four("wchp")
        assert f"/fourlw\n\t0x{sid:x}\n" in wchp, wchp
        dump = s.four("dump")
        assert dump.startswith("SessionTracker dump:\n"), dump
        assert "ephemeral nodes dump:\n" in dump
        assert re.search(r"Sessions with Ephemerals \(\d+\):\n", dump)
        assert f"0x{sid:x}:\n\t/fourlw/e\n" in dump, dump
        envi = s.four("envi")
        assert envi.startswith("Environment:\n")
        assert re.search(r"^zookeeper\.version=", envi, re.M)
        assert re.search(r"^host\.name=", envi, re.M)
        dirs = s.four("dirs")
        assert re.match(r"^datadir_size: \d+\nlogdir_size: \d+\n$", dirs), dirs
        assert re.match(r"^\d+$", s.four("gtmk"))
        s.four("hash")  # content may be empty in standalone; must not break the server
        assert s.four("ruok") == "imok"


def test_fresh_exact_counts(fresh):
    got = {}
    for s in fresh:
        a = s.conn()
        a.create("/w")
        a.get_data("/w", watch=True)
        a.exists("/missing", watch=True)
        a.get_children("/", watch=True)
        a.create("/w/e", flags=EPHEMERAL)
        # 3.8.0 quirk (probed): wchs/wchc/wchp only report the *data* watch table;
        # the child watch on "/" is not counted
        assert s.four("wchs") == "1 connections watching 2 paths\nTotal watches:2\n", s.label
        assert s.four("wchp") == f"/missing\n\t0x{a.session_id:x}\n/w\n\t0x{a.session_id:x}\n\n" \
            or s.four("wchp") == f"/w\n\t0x{a.session_id:x}\n/missing\n\t0x{a.session_id:x}\n\n"
        f = srvr_check(s.four("srvr"), s.label)
        assert f["Node count"] == "7" and f["Mode"] == MODE
        m = s.mntr()
        assert m["zk_znode_count"] == "7"
        assert m["zk_ephemerals_count"] == "1"
        assert m["zk_global_sessions"] == "1"
        assert m["zk_outstanding_requests"] == "0"
        got[s.label] = {k: m[k] for k in ("zk_watch_count", "zk_num_alive_connections",
                                          "zk_approximate_data_size", "zk_local_sessions")}
        a.close()
    assert got["cand"] == got["ref"]


def test_unknown_4lw_and_default_whitelist(make_pair):
    pair = make_pair(drop_keys=("4lw.commands.whitelist",))
    for s in pair:
        assert s.four("ruok") == "ruok is not executed because it is not in the whitelist.\n"
        assert s.four("mntr") == "mntr is not executed because it is not in the whitelist.\n"
        srvr_check(s.four("srvr"), s.label)
        assert s.four("xxxx") == ""  # not a command: a frame length; closed silently
        a = s.conn()
        assert a.ping().ok
        a.close()
