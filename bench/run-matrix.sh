#!/usr/bin/env bash
# Benchmark matrix: Apache ZooKeeper 3.8 (Debian package) vs Ringkeeper on loopback.
#
#   bench/run-matrix.sh [options]
#     --skip-ringkeeper     only Apache ZooKeeper (until ringkeeper serves clients)
#     --zk-vs-zk            validate the tool: two ZooKeeper instances, ringkeeper-bench --compare
#     --duration S          measured seconds per scenario and round (default 6)
#     --warmup S            warmup seconds per scenario and round (default 1)
#     --rounds N            rounds of the whole scenario list (default 3); within a round each
#                           scenario runs against both servers back to back, who goes first
#                           alternating, and the table gives medians and the range of ratios
#     --znodes N            znodes of 100 B for the RSS measurement (default 1000000; 0 skips it)
#     --force-sync yes|no   forceSync for both servers (default yes)
#     --out FILE            Markdown results (default bench/RESULTS.md)
#     --no-build            use the binaries already built
#
# Environment: CARGO_TARGET_DIR (default <repo>/target), ZK_HEAP (default 2g), BENCH_THREADS.
# Every process this script starts is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
THREADS=${BENCH_THREADS:-1}
DURATION=6
WARMUP=1
ROUNDS=3
ZNODES=1000000
FORCE_SYNC=yes
OUT=$ROOT/bench/RESULTS.md
SKIP_RK=0
ZK_VS_ZK=0
BUILD=1

while [ $# -gt 0 ]; do
    case "$1" in
        --skip-ringkeeper) SKIP_RK=1 ;;
        --zk-vs-zk) ZK_VS_ZK=1; SKIP_RK=1 ;;
        --duration) DURATION=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        --znodes) ZNODES=$2; shift ;;
        --force-sync) FORCE_SYNC=$2; shift ;;
        --out) OUT=$2; shift ;;
        --no-build) BUILD=0 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh" matrix

# Starts a server; sets STARTED_PID and STARTED_ADDR.
start_zk() { # name
    local dir=$WORK/$1 port
    port=$(free_port)
    write_cfg "$dir" "$port"
    spawn_zk "$dir"
    STARTED_ADDR=127.0.0.1:$port
    wait_ready "$dir" "$STARTED_PID" "$port"
}

start_rk() { # name
    local dir=$WORK/$1 port
    port=$(free_port)
    write_cfg "$dir" "$port"
    spawn_rk "$dir"
    STARTED_ADDR=127.0.0.1:$port
    wait_ready "$dir" "$STARTED_PID" "$port"
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --- build -----------------------------------------------------------------------------------
if [ "$BUILD" = 1 ]; then
    crates=(-p ringkeeper-bench)
    [ "$SKIP_RK" = 1 ] || crates+=(-p ringkeeper)
    build_release "${crates[@]}"
fi

# --- scenarios -------------------------------------------------------------------------------
# name|description|bench arguments
SCENARIOS=(
    "read-1|1 session, getData, 1 in flight|--sessions 1 --inflight 1 --read-ratio 1"
    "write-1|1 session, setData, 1 in flight|--sessions 1 --inflight 1 --read-ratio 0"
    # The same with the client pinned to CPU 0 (Ringkeeper's shard core), for both servers: an
    # unpinned client idles its own vCPU between requests and pays that vCPU's wake-up on every
    # reply, which on this VM is most of a single-session round trip.
    "read-1-pin0|1 session, getData, client pinned to CPU 0|--sessions 1 --inflight 1 --read-ratio 1 --pin --pin-cores 0"
    "write-1-pin0|1 session, setData, client pinned to CPU 0|--sessions 1 --inflight 1 --read-ratio 0 --pin --pin-cores 0"
    "r100-32x4|32 sessions x 4 in flight, 100% reads|--sessions 32 --inflight 4 --read-ratio 1"
    "r90-32x4|32 sessions x 4 in flight, 90% reads|--sessions 32 --inflight 4 --read-ratio 0.9"
    "r0-32x4|32 sessions x 4 in flight, 0% reads|--sessions 32 --inflight 4 --read-ratio 0"
    "list-32x4|32 sessions x 4 in flight, getChildren of /rkbench (1001 children)|--sessions 32 --inflight 4 --mix list"
)
COMMON=(--value-size 100 --keys 1000 --duration "$DURATION" --warmup "$WARMUP" --threads "$THREADS")

run_one() { # server-tag addr scenario-name round bench-args...
    local tag=$1 addr=$2 name=$3 round=$4
    shift 4
    log "round $round, $tag: $name"
    "$BENCH" --servers "$addr" "$@" "${COMMON[@]}" --label "$tag $name" \
        --json "$WORK/$tag-$name-r$round.json" >&2
}

measure_rss() { # server-tag start-function
    [ "$ZNODES" -gt 0 ] || return 0
    "$2" "$1-rss"
    local pid=$STARTED_PID before after
    before=$(rss_kib "$pid")
    log "$1: creating $ZNODES znodes of 100 B"
    "$BENCH" --servers "$STARTED_ADDR" --keys "$ZNODES" --value-size 100 --setup-only >&2
    # Background work (a snapshot being written, a JVM collection) moves RSS for seconds after
    # the last create: read it once a second until three readings in a row agree (at most 60 s).
    local same=0 prev=0 i
    after=$(rss_kib "$pid")
    for i in $(seq 1 60); do
        if [ "$after" = "$prev" ]; then same=$((same + 1)); else same=0; fi
        [ "$same" -ge 2 ] && break
        prev=$after
        sleep 1
        after=$(rss_kib "$pid")
    done
    echo "{\"znodes\": $ZNODES, \"rss_before_kib\": $before, \"rss_after_kib\": $after}" \
        >"$WORK/$1-rss.json"
    stop "$pid"
}

if [ "$ZK_VS_ZK" = 1 ]; then
    start_zk zk-a
    A=$STARTED_ADDR
    start_zk zk-b
    B=$STARTED_ADDR
    for s in "${SCENARIOS[@]}"; do
        IFS='|' read -r name _ args <<<"$s"
        log "zk vs zk: $name"
        # shellcheck disable=SC2086
        "$BENCH" --compare "$A" "$B" $args "${COMMON[@]}" --label "zk-a,zk-b"
    done
    exit 0
fi

# The disk's own fdatasync latency, on the file system the servers write to: the
# single-session setData target is stated against it.
log "measuring fdatasync on $WORK"
measure_fdatasync "$WORK" >"$WORK/fsync.json"

SERVERS=(zk)
[ "$SKIP_RK" = 1 ] || SERVERS+=(rk)
# Both servers run side by side; a scenario runs against one, then at once against the other,
# so host noise lands on both sides of a ratio alike. Who goes first alternates by round.
declare -A ADDR SPID
for tag in "${SERVERS[@]}"; do
    if [ "$tag" = zk ]; then start_zk "$tag"; else start_rk "$tag"; fi
    ADDR[$tag]=$STARTED_ADDR
    SPID[$tag]=$STARTED_PID
done
for round in $(seq 1 "$ROUNDS"); do
    order=("${SERVERS[@]}")
    if [ $((round % 2)) = 0 ] && [ "${#SERVERS[@]}" = 2 ]; then order=("${SERVERS[1]}" "${SERVERS[0]}"); fi
    for s in "${SCENARIOS[@]}"; do
        IFS='|' read -r name _ args <<<"$s"
        for tag in "${order[@]}"; do
            # shellcheck disable=SC2086
            run_one "$tag" "${ADDR[$tag]}" "$name" "$round" $args
        done
    done
done
for tag in "${SERVERS[@]}"; do stop "${SPID[$tag]}"; done
for tag in "${SERVERS[@]}"; do
    if [ "$tag" = zk ]; then measure_rss "$tag" start_zk; else measure_rss "$tag" start_rk; fi
done

# --- Ringkeeper read scaling: 1 and 2 connection shards --------------------------------------
# getData is loopback-bound (the client and the kernel's TCP take most of both cores), so a
# second shard only competes with them; getAllChildrenNumber of /rkbench walks 1001 znodes per
# read, so there the server's own work dominates and shows whether reads use a second core.
if [ "$SKIP_RK" = 0 ]; then
    for n in 1 2; do
        EXTRA_CFG="ringkeeper.shards=$n" start_rk "rk-shards$n"
        for sc in "get|--read-ratio 1" "count|--mix count"; do
            IFS='|' read -r op args <<<"$sc"
            log "rk: 32x4 $op with $n shard(s)"
            # shellcheck disable=SC2086
            "$BENCH" --servers "$STARTED_ADDR" --sessions 32 --inflight 4 $args "${COMMON[@]}" \
                --label "rk shards=$n $op" --json "$WORK/rk-shards$n-$op.json" >&2
        done
        stop "$STARTED_PID"
    done
    # The log writer: glommio DMA files (default) against buffered pwrite + fdatasync.
    EXTRA_CFG="ringkeeper.walDirectIo=false" start_rk "rk-buffered"
    for sc in "write-1|--sessions 1 --inflight 1" "r0-32x4|--sessions 32 --inflight 4"; do
        IFS='|' read -r name args <<<"$sc"
        log "rk walDirectIo=false: $name"
        # shellcheck disable=SC2086
        "$BENCH" --servers "$STARTED_ADDR" $args --read-ratio 0 "${COMMON[@]}" \
            --label "rk buffered $name" --json "$WORK/rk-buffered-$name-r1.json" >&2
    done
    stop "$STARTED_PID"
fi

# --- Markdown --------------------------------------------------------------------------------
PYTHONPATH=$ROOT/bench python3 - "$WORK" "$OUT" "$FORCE_SYNC" "$DURATION" "$ROUNDS" "${SERVERS[@]}" <<'EOF'
import os, sys, datetime, platform, statistics
from rounds import ENSEMBLE_HEADING, NAMES as names, load as load_in, median_table, runs as runs_in, section
work, out, force_sync, duration, rounds = sys.argv[1:6]
servers, rounds = sys.argv[6:], int(rounds)
scen = [("read-1", "1 session getData"), ("write-1", "1 session setData"),
        ("read-1-pin0", "1 session getData, client on CPU 0"),
        ("write-1-pin0", "1 session setData, client on CPU 0"),
        ("r100-32x4", "32x4, 100% reads"), ("r90-32x4", "32x4, 90% reads"),
        ("r0-32x4", "32x4, 0% reads"), ("list-32x4", "32x4, getChildren of 1001 children")]
def load(p):
    return load_in(work, p)
def runs(tag, key):
    return runs_in(work, tag, key, rounds)
def ratio(b, a):
    return f"{b / a:.2f}" if a and b is not None else "-"
lines = ["# Benchmark matrix", "",
         f"{datetime.datetime.now():%Y-%m-%d %H:%M}, host {platform.node()}, {os.cpu_count()} CPUs, "
         f"loopback, forceSync={force_sync}, 100-byte values, 1000 keys, ringkeeper-bench closed "
         f"loop, one client thread; {rounds} rounds of {duration} s per scenario and server. "
         f"Both servers run side by side and each scenario runs against one, then straight away "
         f"against the other (who goes first alternates by round), so a ratio compares runs "
         f"seconds apart. Values are medians over the rounds; the last column is the lowest and "
         f"highest ratio of a single round. 1-minute load average at the end "
         f"{os.getloadavg()[0]:.1f}: the machine is shared, so tails are noisy.", ""]
metrics = [("ops/s", "ops_per_sec"), ("p50 us", "p50_us"), ("p99 us", "p99_us"),
           ("p99.9 us", "p999_us")]
both = "rk" in servers and "zk" in servers
lines += median_table(work, rounds, servers, scen, metrics)
fs = load("fsync.json")
if fs and both:
    w = {s: runs(s, "write-1") for s in servers}
    r = runs("rk", "read-1")
    if w["rk"] and w["zk"] and r:
        wp50 = statistics.median(x["total"]["p50_us"] for x in w["rk"])
        zp50 = statistics.median(x["total"]["p50_us"] for x in w["zk"])
        rtt = statistics.median(x["total"]["p50_us"] for x in r)
        bound = 2 * (fs["p50_us"] + rtt)
        lines += ["", f"Single-session setData against the disk: fdatasync of a 4 KiB write to a "
                  f"preallocated file here takes {fs['p50_us']:.0f} us at p50 ({fs['p99_us']:.0f} us "
                  f"at p99); a round trip to Ringkeeper, taken as its 1-session getData p50, "
                  f"{rtt:.0f} us. Ringkeeper's setData p50 of {wp50:.0f} us is "
                  f"{wp50 / (fs['p50_us'] + rtt):.2f}x their sum (target: at most 2x, {bound:.0f} us) "
                  f"and {wp50 / zp50:.2f}x ZooKeeper's {zp50:.0f} us (target: below 1)."]
lines += ["", "## Memory (VmRSS)", "",
          "| server | znodes | RSS before (MiB) | RSS after (MiB) | growth (MiB) |", "|---|---|---|---|---|"]
for s in servers:
    r = load(f"{s}-rss.json")
    if r:
        b, a = r["rss_before_kib"] / 1024, r["rss_after_kib"] / 1024
        lines.append(f"| {names[s]} | {r['znodes']} | {b:.0f} | {a:.0f} | {a - b:.0f} |")
sc = [(op, n, load(f"rk-shards{n}-{op}.json")) for op in ("get", "count") for n in (1, 2)]
if any(r for _, _, r in sc):
    lines += ["", "## Ringkeeper read scaling (32x4, one run each)", "",
              "getData is bound by loopback TCP in the kernel and by the client, which share the "
              "two cores with the shards; getAllChildrenNumber of /rkbench walks 1001 znodes a "
              "read, so there the server's own work dominates.", "",
              "| read | shards | ops/s | p50 us | p99 us | ops/s vs 1 shard |", "|---|---|---|---|---|---|"]
    one = {op: r["total"]["ops_per_sec"] for op, n, r in sc if r and n == 1}
    for op, n, r in sc:
        if r:
            t = r["total"]
            label = {"get": "getData", "count": "getAllChildrenNumber"}[op]
            lines.append(f"| {label} | {n} | {t['ops_per_sec']:.0f} | {t['p50_us']:.0f} | "
                         f"{t['p99_us']:.0f} | {ratio(t['ops_per_sec'], one.get(op))} |")
wb = [(n, runs("rk", n), runs("rk-buffered", n), runs("zk", n)) for n in ("write-1", "r0-32x4")]
if any(b for _, _, b, _ in wb):
    lines += ["", "## Ringkeeper log writer (forceSync as above; buffered: one run)", "",
              "| scenario | writer | ops/s | p50 us | p99 us | ops/s RK/ZK |", "|---|---|---|---|---|---|"]
    for n, d, b, z in wb:
        zk = statistics.median(r["total"]["ops_per_sec"] for r in z) if z else None
        for label, rs in (("DMA files (default)", d), ("buffered (walDirectIo=false)", b)):
            if rs:
                m = {f: statistics.median(r["total"][f] for r in rs) for f in ("ops_per_sec", "p50_us", "p99_us")}
                lines.append(f"| {n} | {label} | {m['ops_per_sec']:.0f} | {m['p50_us']:.0f} | "
                             f"{m['p99_us']:.0f} | {ratio(m['ops_per_sec'], zk)} |")
lines += ["", f"ZooKeeper runs with -Xmx{os.environ.get('ZK_HEAP', '2g')}; its RSS depends on the JVM heap policy.", ""]
# The ensemble section is run-ensemble.sh's: keep it.
lines += section(out, ENSEMBLE_HEADING)
open(out, "w").write("\n".join(lines))
print("\n".join(lines))
EOF
log "wrote $OUT"
