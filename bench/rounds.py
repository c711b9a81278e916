"""The benchmark scripts' Markdown from ringkeeper-bench's JSON results: medians over rounds,
RK/ZK ratios with their lowest and highest single-round value, and sections of RESULTS.md that
one script writes and the others keep."""

import json
import os
import statistics

NAMES = {"zk": "ZooKeeper 3.8", "rk": "Ringkeeper"}
ENSEMBLE_HEADING = "## Three-server ensembles"


def load(work, name):
    path = os.path.join(work, name)
    return json.load(open(path)) if os.path.exists(path) else None


def runs(work, tag, key, rounds):
    """The results of one scenario against one server, a file TAG-KEY-rN.json per round."""
    found = (load(work, f"{tag}-{key}-r{i}.json") for i in range(1, rounds + 1))
    return [r for r in found if r]


def median_table(work, rounds, servers, scenarios, metrics):
    """A row per scenario and metric: each server's median over the rounds and, with both
    servers, the median RK/ZK ratio and its range (ratios of the same round)."""
    both = "rk" in servers and "zk" in servers
    head = "| scenario | metric | " + " | ".join(NAMES[s] for s in servers)
    if both:
        head += " | RK/ZK | RK/ZK per round"
    lines = [head + " |", "|" + "---|" * (2 + len(servers) + 2 * both)]
    for key, desc in scenarios:
        reps = {s: runs(work, s, key, rounds) for s in servers}
        for i, (mname, field) in enumerate(metrics):
            vals = {s: [r["total"][field] for r in reps[s]] for s in servers}
            med = {s: statistics.median(v) if v else None for s, v in vals.items()}
            row = f"| {desc if i == 0 else ''} | {mname} | " + " | ".join(
                f"{med[s]:.1f}" if med[s] is not None else "-" for s in servers)
            if both:
                per = [b / a for a, b in zip(vals["zk"], vals["rk"]) if a]
                row += f" | {statistics.median(per):.2f}" if per else " | -"
                row += f" | {min(per):.2f} to {max(per):.2f}" if len(per) > 1 else " | -"
            lines.append(row + " |")
        errs = {s: [r["errors"] for r in rs if r["errors"] or r["connection_losses"]]
                for s, rs in reps.items()}
        errs = {s: e for s, e in errs.items() if e}
        if errs:
            lines.append(f"| | errors | {errs} |")
    return lines


def section(path, heading):
    """The lines of the section under `heading` (to the next heading of its level or higher)
    in the Markdown file at path; [] if there is none."""
    if not os.path.exists(path):
        return []
    lines = open(path).read().split("\n")
    level = heading.split(" ")[0]
    out = None
    for line in lines:
        if out is None:
            if line == heading:
                out = [line]
        elif line.startswith("#") and len(line.split(" ")[0]) <= len(level):
            break
        else:
            out.append(line)
    return out or []


def replace_section(path, heading, body):
    """Writes body (starting with heading) in place of that section of the file, or at its end."""
    old = open(path).read().split("\n") if os.path.exists(path) else []
    cut = section(path, heading)
    if cut:
        start = old.index(heading)
        new = old[:start] + body + old[start + len(cut):]
    else:
        new = old + ([""] if old and old[-1] else []) + body
    open(path, "w").write("\n".join(new).rstrip("\n") + "\n")
