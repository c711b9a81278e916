"""A --quick run of ringkeeper-tune: its time, its report and plots, what it says about the
disks, and that it leaves no server behind."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from conftest import QUICK_LIMIT_SECS, server_pids_under


def svg_texts(path: Path) -> list:
    """The contents of an SVG's <text> elements, trimmed."""
    svg = path.read_text()
    return [t.strip() for t in re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)]


def test_quick_finishes_in_under_two_minutes(quick_run):
    assert quick_run.secs < QUICK_LIMIT_SECS, f"--quick took {quick_run.secs:.0f} s"
    assert "report written to" in quick_run.proc.stdout


def test_plots_show_every_setting(quick_run):
    rep = quick_run.report
    names = [s["name"] for s in rep["plan"]["settings"]] + ["recommended"]
    assert len(names) >= 8
    plot = quick_run.out / "latency-vs-throughput.svg"
    texts = svg_texts(plot)
    missing = [n for n in names if n not in texts]
    assert not missing, f"settings missing from {plot.name}: {missing}"
    # Every setting was measured at every level, each point at least twice, without errors.
    levels = rep["plan"]["levels"]
    for n in names:
        pts = [p for p in rep["points"] if p["setting"] == n]
        assert len(pts) == len(levels), n
        for p in pts:
            assert p["reps"] >= 2, p
            assert p["errors"] == 0 and p["lost_requests"] == 0, p
            assert p["ops_per_sec"]["min"] > 0, p
    for probe in rep["probes"]:
        plot = quick_run.out / f"fsync-{probe['role']}.svg"
        texts = svg_texts(plot)
        for case in probe["fsync"]:
            assert case["latency"] is not None, case  # ext4 takes O_DIRECT and buffered
            assert case["label"] in texts, f"{case['label']} missing from {plot.name}"
            d = case["latency"]
            assert 0 < d["p50_us"] <= d["p99_us"] <= d["p999_us"] <= d["max_us"], case
    md = (quick_run.out / "report.md").read_text()
    assert "](latency-vs-throughput.svg)" in md and "](fsync-dataLogDir.svg)" in md
    for n in names:
        assert f"| {n} |" in md, n


def test_recommendation_has_reasons_and_the_force_sync_risk(quick_run):
    recs = quick_run.report["recommendations"]
    keys = [r["key"] for r in recs]
    for k in ("dataDir", "dataLogDir", "forceSync", "ringkeeper.walDirectIo",
              "ringkeeper.spinBeforeParkUs", "preAllocSize", "snapCount", "snapSizeLimitInKb"):
        assert k in keys, k
    for r in recs:
        assert re.search(r"\d", r["reason"]), f"{r['key']}: no measured figure in {r['reason']!r}"
    assert {r["key"]: r["value"] for r in recs}["forceSync"] == "yes"
    cfg = (quick_run.out / "recommended.cfg").read_text()
    lines = [l for l in cfg.splitlines() if l and not l.startswith("#")]
    assert lines == [f"{r['key']}={r['value']}" for r in recs]
    md = (quick_run.out / "report.md").read_text()
    risk = md.split("## The risk of forceSync=no", 1)[1].split("##", 1)[0]
    assert "power cut" in risk and "ensemble" in risk and "must never run without it" in risk


def findmnt(path: Path, col: str) -> str:
    return subprocess.run(["findmnt", "-n", "-o", col, "--target", str(path)],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_disk_facts_match_the_system(quick_run):
    rep = quick_run.report
    data, log = rep["probes"]
    assert rep["shared_device"] == (os.stat(quick_run.data).st_dev == os.stat(quick_run.log).st_dev)
    for p, path in ((data, quick_run.data), (log, quick_run.log)):
        dev = p["device"]
        assert dev["fs_type"] == findmnt(path, "FSTYPE"), dev
        assert dev["mount_point"] == findmnt(path, "TARGET"), dev
        assert set(dev["mount_options"].split(",")) <= set(findmnt(path, "OPTIONS").split(",")), dev
        st = os.stat(path)
        assert dev["dev"] == f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
        if dev["block_device"]:
            assert Path(f"/sys/class/block/{dev['block_device']}").exists(), dev
        assert p["write_mib_per_sec"] > 0


def test_no_server_left_and_scratch_removed(quick_run):
    assert server_pids_under(quick_run.root) == []
    assert not (quick_run.data / "ringkeeper-tune-data").exists()
    assert not (quick_run.log / "ringkeeper-tune-log").exists()
    leftovers = list(quick_run.data.glob("ringkeeper-tune-probe-*"))
    assert leftovers == []
