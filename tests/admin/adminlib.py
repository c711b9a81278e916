"""AdminServer and /metrics tests: Apache ZooKeeper 3.8 (Debian) and Ringkeeper, both with
their AdminServer on, driven with the same steps and compared over real HTTP.

The servers are started by the differential suite's harness (tests/diff/conftest.py, loaded
here under another module name). ZooKeeper's AdminServer needs Jetty, the servlet API and
Jackson on its classpath: the Debian packages install them (libjetty9-java,
libservlet-api-java, libjackson2-*-java, pulled in by libzookeeper-java) but the harness'
minimal classpath leaves them out, so it is extended here.
"""

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

DIFF = Path(__file__).resolve().parents[1] / "diff"
sys.path.insert(0, str(DIFF))
import diffharness as harness  # noqa: E402
import zkraw  # noqa: E402
from zkraw import wait_until  # noqa: E402,F401

HOST = harness.HOST
ADMIN_JARS = ["jetty9-server.jar", "jetty9-servlet.jar", "jetty9-http.jar", "jetty9-io.jar",
              "jetty9-util.jar", "jetty9-security.jar", "jetty9-util-ajax.jar", "servlet-api.jar",
              "jackson-core.jar", "jackson-databind.jar", "jackson-annotations.jar"]
ZK_ADMIN_CLASSPATH = ":".join([harness.ZK_CLASSPATH] + [f"/usr/share/java/{j}" for j in ADMIN_JARS])
PROMETHEUS_PROVIDER = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"


class AdminServer(harness.Server):
    """A harness server with its AdminServer on a free loopback port (and, for Ringkeeper,
    the Prometheus endpoint when `metrics` is set)."""

    def __init__(self, kind, label, metrics=False, cfg=None):
        self.admin_port = harness.free_port()
        self.metrics_port = harness.free_port() if metrics else None
        extra = {"admin.enableServer": "true", "admin.serverAddress": HOST,
                 "admin.serverPort": str(self.admin_port)}
        if self.metrics_port:
            extra.update({"metricsProvider.className": PROMETHEUS_PROVIDER,
                          "metricsProvider.httpHost": HOST,
                          "metricsProvider.httpPort": str(self.metrics_port)})
        extra.update(cfg or {})
        super().__init__(kind, label, extra)

    def command(self, cfgpath):
        cmd = super().command(cfgpath)
        if self.kind == "zookeeper":
            cmd[cmd.index(harness.ZK_CLASSPATH)] = ZK_ADMIN_CLASSPATH
        return cmd

    def start(self):
        super().start()
        # ZooKeeper starts its AdminServer after the client port answers.
        wait_until(lambda: self._admin_up(), 30, what=f"{self.label} AdminServer")
        return self

    def _admin_up(self):
        try:
            return self.http("/commands/ruok")[0] == 200
        except OSError:
            return False

    def http(self, path, method="GET", port=None):
        """(status, content type, body text) of one request."""
        url = f"http://{HOST}:{port or self.admin_port}{path}"
        req = urllib.request.Request(url, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers.get("Content-Type"), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read().decode(errors="replace")

    def cmd(self, name, query=""):
        status, ctype, body = self.http(f"/commands/{name}{query}")
        assert status == 200, (self.label, name, status, body)
        assert ctype.startswith("application/json"), (self.label, name, ctype)
        return json.loads(body)

    def metrics(self):
        status, _, body = self.http("/metrics", port=self.metrics_port)
        assert status == 200, body
        return body


def start_both(**kw):
    ref = AdminServer("zookeeper", "zkadmin", **{k: v for k, v in kw.items() if k != "metrics"})
    cand = AdminServer("ringkeeper", "rkadmin", **kw)
    started = []
    try:
        for s in (ref, cand):
            s.start()
            started.append(s)
    except BaseException:
        for s in (ref, cand):
            s.cleanup()
        raise
    return ref, cand
