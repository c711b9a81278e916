"""Ringkeeper's Prometheus /metrics, parsed with the Prometheus client's text-format parser.

Debian's ZooKeeper 3.8 has no Prometheus provider (zookeeper-prometheus-metrics and the
simpleclient jars are not packaged), so the names are checked against what the provider
would export for the metrics ZooKeeper 3.8 keeps: every metric of a live ZooKeeper's
`monitor` document (its default provider's dump) becomes, in PrometheusMetricsProvider, a
gauge or counter of the same name, or (the avg_/min_/max_/cnt_/sum_ groups) a summary
with quantile 0.5, and 0.5/0.9/0.99 for the ones that also print p50..p999."""

import math
import re
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from adminlib import AdminServer, harness, wait_until, zkraw

PER_NAMESPACE = re.compile(r"_(write|read)_per_namespace$")
NOT_METRICS = {"version", "server_state"}


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def zookeeper_names(monitor):
    """(gauges and counters, basic summaries, percentile summaries) of a monitor document."""
    keys = {k for k in monitor if k not in NOT_METRICS | {"command", "error"}}
    parts = ("avg", "min", "max", "cnt", "sum")
    summaries = {k[4:] for k in keys if k.startswith("avg_")
                 and all(f"{p}_{k[4:]}" in keys for p in parts)}
    summaries = {s for s in summaries if not PER_NAMESPACE.search(s)}
    percentile = {s for s in summaries if f"p99_{s}" in keys}
    members = {f"{p}_{s}" for s in summaries for p in parts + ("p50", "p95", "p99", "p999")}
    plain = {k for k in keys - members if not PER_NAMESPACE.search(k)}
    return plain, summaries - percentile, percentile


def test_names_types_and_values(servers):
    ref, cand = servers
    c = cand.conn()
    for i in range(20):
        assert c.create(f"/m{i}", b"x" * 10).ok
    plain, basic, percentile = zookeeper_names(ref.cmd("monitor"))
    assert "znode_count" in plain and "fsynctime" in basic and "readlatency" in percentile
    fams = families(cand.metrics())
    missing = sorted((plain | basic | percentile) - set(fams))
    assert not missing, f"ZooKeeper metrics missing from /metrics: {missing}"
    for name in plain:
        assert fams[name].type in ("gauge", "counter"), (name, fams[name].type)
    for name in basic | percentile:
        f = fams[name]
        assert f.type == "summary", name
        qs = sorted(s.labels["quantile"] for s in f.samples if "quantile" in s.labels)
        assert qs == (["0.5", "0.9", "0.99"] if name in percentile else ["0.5"]), (name, qs)
        assert {s.name for s in f.samples} >= {name, f"{name}_count", f"{name}_sum"}

    def value(name, suffix=""):
        fams = families(cand.metrics())
        return next(s.value for s in fams[name].samples if s.name == name + suffix)

    # Published once per tick: wait for the tick after the writes.
    znodes = int(cand.cmd("monitor")["znode_count"])
    wait_until(lambda: value("znode_count") == znodes, 5, what="znode_count on /metrics")
    assert value("num_alive_connections") >= 1
    assert value("fsynctime", "_count") >= 20 and value("commit_count", "_total") >= 20
    c.close()


def test_ringkeeper_own_metrics(servers):
    _, cand = servers
    c = cand.conn()
    for i in range(10):
        assert c.create(f"/own{i}").ok
    def synced():
        f = families(cand.metrics())["ringkeeper_fsync_seconds"]
        return next(s.value for s in f.samples if s.name.endswith("_count")) >= 10
    wait_until(synced, 5, what="fsync histogram")
    fams = families(cand.metrics())
    for name in ("ringkeeper_fsync_seconds", "ringkeeper_group_commit_txns"):
        f = fams[name]
        assert f.type == "histogram"
        buckets = [(float(s.labels["le"]), s.value) for s in f.samples if s.name.endswith("_bucket")]
        assert buckets[-1][0] == math.inf
        assert [v for _, v in buckets] == sorted(v for _, v in buckets), f"{name} not cumulative"
        count = next(s.value for s in f.samples if s.name == f"{name}_count")
        assert buckets[-1][1] == count >= 10
    shards = fams["ringkeeper_shard_connections"].samples
    assert sum(s.value for s in shards) >= 1 and all("shard" in s.labels for s in shards)
    requests = fams["ringkeeper_shard_requests"]
    assert requests.type == "counter" and sum(s.value for s in requests.samples) >= 10
    for p in ("process_open_fds", "process_max_fds", "process_resident_memory_bytes",
              "process_cpu_seconds", "process_start_time_seconds"):
        assert p in fams, p
    assert fams["process_open_fds"].samples[0].value > 0
    c.close()


def test_metrics_port_in_use_stops_start_up():
    """As in ZooKeeper ("Cannot boot MetricsProvider"): the server does not start."""
    import socket
    blocker = socket.socket()
    blocker.bind((harness.HOST, 0))
    blocker.listen()
    try:
        rk = AdminServer("ringkeeper", "rkmetricsbusy", metrics=True,
                         cfg={"metricsProvider.httpPort": str(blocker.getsockname()[1]),
                              "admin.enableServer": "false"})
        try:
            rk.port = harness.free_port()
            cfg = rk.write_cfg()
            p = subprocess.run(rk.command(cfg), capture_output=True, text=True, timeout=30,
                               cwd=rk.dir)
            assert p.returncode != 0
            assert "Cannot boot MetricsProvider" in p.stderr, p.stderr[-2000:]
        finally:
            rk.cleanup()
    finally:
        blocker.close()
