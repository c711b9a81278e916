#!/usr/bin/env bash
# Three-server ensembles on loopback: Apache ZooKeeper 3.8 (Debian package) against Ringkeeper,
# three voters each, the benchmark client connected to a follower (its writes go through the
# leader, its reads are the follower's own).
#
#   bench/run-ensemble.sh [options]
#     --duration S          measured seconds per scenario and round (default 5)
#     --warmup S            warmup seconds per scenario and round (default 2)
#     --rounds N            rounds (default 3); a round starts one ensemble on fresh data
#                           directories, runs every scenario against it and stops it, then does
#                           the same with the other (who goes first alternates by round): only
#                           one ensemble runs at a time, so the two never share the CPUs
#     --out FILE            Markdown file whose section "Three-server ensembles" is written
#                           (default bench/RESULTS.md; the rest of the file is kept)
#     --no-build            use the binaries already built
#     --hops                also capture a single-session write load's segments on lo (needs
#                           root) and split its round trip into hops (bench/follower_hops.py)
#
# Both run with forceSync=yes and their data directories under one temporary directory (one
# disk). Ringkeeper's servers run with ringkeeper.spinBeforeParkUs=0: with three servers, the
# client and two cores, executors that spin before they park starve each other. Each has one
# connection shard and its pipeline pinned to core i % 2 (server.i).
# Environment: CARGO_TARGET_DIR (default <repo>/target), ZK_HEAP (default 2g), BENCH_THREADS.
# Every process this script starts is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
COMMAND="bench/run-ensemble.sh $*"
THREADS=${BENCH_THREADS:-1}
DURATION=5
WARMUP=2
ROUNDS=3
FORCE_SYNC=yes
OUT=$ROOT/bench/RESULTS.md
BUILD=1
HOPS=0

while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        --out) OUT=$2; shift ;;
        --no-build) BUILD=0 ;;
        --hops) HOPS=1 ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh" ensemble
[ "$BUILD" = 0 ] || build_release -p ringkeeper-bench -p ringkeeper

# Starts three voters of KIND (zk or rk) in DIR, waits until each serves sessions and one of
# them leads; sets ENS_PIDS, LEADER and FOLLOWER to the client address of a leader and of a
# follower, and LEADER_Q and FOLLOWER_Q to their quorum ports.
start_ensemble() { # kind dir
    local kind=$1 base=$2 i try mode servers=""
    local -a client quorum
    ENS_PIDS=()
    for i in 1 2 3; do
        client[i]=$(free_port)
        quorum[i]=$(free_port)
        servers+="server.$i=127.0.0.1:${quorum[i]}:$(free_port)"$'\n'
    done
    for i in 1 2 3; do
        local extra=$servers
        if [ "$kind" = rk ]; then
            extra+="ringkeeper.spinBeforeParkUs=0"$'\n'"ringkeeper.shards=1"$'\n'
            extra+="ringkeeper.pipelineCore=$((i % 2))"
        fi
        EXTRA_CFG=$extra write_cfg "$base/s$i" "${client[i]}"
        echo "$i" >"$base/s$i/data/myid"
        "spawn_$kind" "$base/s$i"
        ENS_PIDS+=("$STARTED_PID")
    done
    for i in 1 2 3; do wait_ready "$base/s$i" "${ENS_PIDS[i - 1]}" "${client[i]}"; done
    for try in $(seq 1 300); do
        LEADER='' FOLLOWER=''
        for i in 1 2 3; do
            mode=$(four_letter "${client[i]}" srvr | sed -n 's/^Mode: //p')
            case $mode in
                leader) LEADER=127.0.0.1:${client[i]} LEADER_Q=${quorum[i]} ;;
                follower)
                    [ -n "$FOLLOWER" ] || FOLLOWER=127.0.0.1:${client[i]} FOLLOWER_Q=${quorum[i]}
                    ;;
            esac
        done
        if [ -n "$LEADER" ] && [ -n "$FOLLOWER" ]; then
            log "$kind: leader $LEADER, benchmarking through follower $FOLLOWER"
            return 0
        fi
        sleep 0.1
    done
    log "$kind: no leader and follower after 30 s"
    exit 1
}

# name|server the client connects to|description|bench arguments
SCENARIOS=(
    "write-1|follower|1 session setData, 1 in flight|--sessions 1 --inflight 1 --read-ratio 0"
    "write-32x4|follower|32x4 setData|--sessions 32 --inflight 4 --read-ratio 0"
    "r90-32x4|follower|32x4, 90% getData, 10% setData|--sessions 32 --inflight 4 --read-ratio 0.9"
    # The same single-session writes at the leader: what the hop through the follower costs.
    "write-1-leader|leader|1 session setData at the leader|--sessions 1 --inflight 1 --read-ratio 0"
)
COMMON=(--value-size 100 --keys 1000 --duration "$DURATION" --warmup "$WARMUP" --threads "$THREADS")

# Single-session writes through the follower again, their segments on lo captured meanwhile.
capture_hops() { # kind round
    log "round $2, $1: write-1 at $FOLLOWER, segments on lo captured"
    python3 "$ROOT/bench/follower_hops.py" --seconds "$DURATION" --client-port "${FOLLOWER##*:}" \
        --follower-quorum "$FOLLOWER_Q" --leader-quorum "$LEADER_Q" --json "$WORK/$1-hops-r$2.json" &
    PIDS+=($!)
    local capture=$!
    "$BENCH" --servers "$FOLLOWER" --sessions 1 --inflight 1 --read-ratio 0 "${COMMON[@]}" \
        --label "$1 write-1 (captured)" >&2
    wait "$capture"
}

if [ "$HOPS" = 1 ] && [ "$(id -u)" != 0 ]; then
    log "--hops captures packets on lo: run as root"
    exit 2
fi
log "measuring fdatasync on $WORK"
measure_fdatasync "$WORK" >"$WORK/fsync.json"
cut -d' ' -f1 /proc/loadavg >"$WORK/load-start"

for round in $(seq 1 "$ROUNDS"); do
    order=(zk rk)
    [ $((round % 2)) = 1 ] || order=(rk zk)
    for kind in "${order[@]}"; do
        start_ensemble "$kind" "$WORK/$kind-r$round"
        for s in "${SCENARIOS[@]}"; do
            IFS='|' read -r name target _ args <<<"$s"
            if [ "$target" = leader ]; then addr=$LEADER; else addr=$FOLLOWER; fi
            log "round $round, $kind: $name at $addr"
            # shellcheck disable=SC2086
            "$BENCH" --servers "$addr" $args "${COMMON[@]}" --label "$kind $name" \
                --json "$WORK/$kind-$name-r$round.json" >&2
        done
        [ "$HOPS" = 0 ] || capture_hops "$kind" "$round"
        # The epoch of the last zxid: above 1, the ensemble elected again during the round.
        zxid=$(four_letter "${FOLLOWER##*:}" srvr | sed -n 's/^Zxid: //p')
        echo $((${zxid:-0} >> 32)) >"$WORK/$kind-epoch-r$round"
        for pid in "${ENS_PIDS[@]}"; do stop "$pid"; done
    done
done

# --- Markdown --------------------------------------------------------------------------------
printf '%s\n' "${SCENARIOS[@]}" >"$WORK/scenarios"
PYTHONPATH=$ROOT/bench python3 - "$WORK" "$OUT" "$DURATION" "$WARMUP" "$ROUNDS" "$COMMAND" <<'EOF'
import datetime, os, platform, statistics, sys
from rounds import ENSEMBLE_HEADING, load, median_table, replace_section, runs
work, out, duration, warmup, rounds, command = sys.argv[1:7]
rounds = int(rounds)
scen = [(s.split("|")[0], s.split("|")[2]) for s in open(os.path.join(work, "scenarios")).read().split("\n") if s]
metrics = [("ops/s", "ops_per_sec"), ("p50 us", "p50_us"), ("p99 us", "p99_us")]
fs = load(work, "fsync.json")
load_start = open(os.path.join(work, "load-start")).read().strip()
lines = [ENSEMBLE_HEADING, "",
         f"`{command}`, {datetime.datetime.now():%Y-%m-%d %H:%M}, host {platform.node()}, "
         f"{os.cpu_count()} CPUs shared by the three servers of an ensemble and the client "
         f"(one client thread, closed loop, 100-byte values, 1000 keys). Each system runs three "
         f"voters on loopback with forceSync=yes and its data directories on the same disk "
         f"(fdatasync of 4 KiB there, measured before the first round: {fs['p50_us']:.0f} us "
         f"p50, {fs['p99_us']:.0f} us p99). "
         f"Only one ensemble runs at a time: a round starts one on fresh data directories, "
         f"runs every scenario for {warmup} s of warmup and {duration} s measured, stops it, and "
         f"does the same with the other; who goes first alternates by round. The client "
         f"connects to a follower (reads are its own, writes go through the leader), except in "
         f"the last row. Ringkeeper: ringkeeper.spinBeforeParkUs=0 on every server (executors "
         f"that spin before they park starve each other with three servers on two cores), one "
         f"connection shard, pipeline of server.i pinned to core i % 2; ZooKeeper's JVMs are "
         f"not pinned. Values are medians of {rounds} rounds; the last column is the lowest and "
         f"highest ratio of a single round. 1-minute load average {load_start} at the start and "
         f"{os.getloadavg()[0]:.1f} at the end: the machine is shared with other work, so tails "
         f"are noisy.", ""]
lines += median_table(work, rounds, ["zk", "rk"], scen, metrics)
def med(tag, key, field):
    rs = runs(work, tag, key, rounds)
    return statistics.median(r["total"][field] for r in rs) if rs else float("nan")
def ratio(key, field):
    return med("rk", key, field) / med("zk", key, field)
lines += ["", "Against the issue's aims (Ringkeeper at 5x ZooKeeper's throughput, a fifth of its "
          "p99), medians of the rounds:", "",
          "| measure | ZooKeeper (issue) | ZooKeeper (here) | Ringkeeper | RK/ZK (of the medians) | aim |",
          "|---|---|---|---|---|---|"]
aims = [("1 session setData p50 us", "write-1", "p50_us", "959", "-"),
        ("1 session setData p99 us", "write-1", "p99_us", "10700", "<= 0.20"),
        ("32x4 setData ops/s", "write-32x4", "ops_per_sec", "2700", ">= 5"),
        ("32x4 setData p99 us", "write-32x4", "p99_us", "132000", "<= 0.20"),
        ("32x4 90% reads ops/s", "r90-32x4", "ops_per_sec", "12500", ">= 5")]
for desc, key, field, issue, aim in aims:
    lines.append(f"| {desc} | {issue} | {med('zk', key, field):.0f} | {med('rk', key, field):.0f} "
                 f"| {ratio(key, field):.2f} | {aim} |")
hops = ["forward", "propose", "ack", "commit", "reply", "total"]
caps = {tag: [load(work, f"{tag}-hops-r{i}.json") for i in range(1, rounds + 1)] for tag in ("zk", "rk")}
caps = {tag: [c for c in cs if c and c["requests"]] for tag, cs in caps.items()}
if caps["zk"] or caps["rk"]:
    lines += ["", "Where a single-session write through the follower spends its time, from its TCP "
              "segments on lo (`bench/follower_hops.py`, a separate run of the same load; median "
              "over the rounds of each round's p50, in us). Each hop ends with a segment: forward "
              "(follower to leader), propose (leader to a follower), ack (a follower's log write "
              "and fdatasync, then to the leader), commit (leader to a follower), reply (the "
              "follower applies and answers the client).", "",
              "| hop | ZooKeeper 3.8 | Ringkeeper |", "|---|---|---|"]
    for h in hops:
        cell = {tag: statistics.median(c["hops"][h]["p50_us"] for c in cs) if cs else None
                for tag, cs in caps.items()}
        lines.append(f"| {h} | " + " | ".join(f"{cell[t]:.0f}" if cell[t] is not None else "-"
                                            for t in ("zk", "rk")) + " |")
    lines.append(f"| requests seen | {sum(c['requests'] for c in caps['zk'])} | "
                 f"{sum(c['requests'] for c in caps['rk'])} |")
epochs = {tag: [open(os.path.join(work, f"{tag}-epoch-r{i}")).read().strip()
                for i in range(1, rounds + 1) if os.path.exists(os.path.join(work, f"{tag}-epoch-r{i}"))]
          for tag in ("zk", "rk")}
lines += ["", f"Epoch of the last zxid at the end of each round (1: no election after the first): "
          f"ZooKeeper {', '.join(epochs['zk'])}; Ringkeeper {', '.join(epochs['rk'])}."]
lines.append("")
replace_section(out, ENSEMBLE_HEADING, lines)
print("\n".join(lines))
EOF
log "wrote the section \"Three-server ensembles\" of $OUT"
