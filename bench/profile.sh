#!/usr/bin/env bash
# Profiles Ringkeeper under three loads of the matrix with `perf record -e cpu-clock -a -g`
# (whole machine: the benchmark client shares the cores) and prints where the CPU went:
# per thread, kernel against user space, and the hottest user-space symbols of the server.
#
#   bench/profile.sh [--no-build] [--duration S]
#
# Needs perf (Debian: linux-perf). Uses target/release/ringkeeper and ringkeeper-bench.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=1
DURATION=6
while [ $# -gt 0 ]; do
    case $1 in
        --no-build) BUILD=0 ;;
        --duration) DURATION=$2; shift ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
command -v perf >/dev/null || { echo "perf not found (apt-get install linux-perf)" >&2; exit 1; }
[ "$BUILD" = 0 ] || (cd "$ROOT" && cargo build --release -p ringkeeper -p ringkeeper-bench >&2)
RK=$ROOT/target/release/ringkeeper
BENCH=$ROOT/target/release/ringkeeper-bench
WORK=$(mktemp -d /tmp/rkprof.XXXXXX)
PID=
cleanup() { [ -z "$PID" ] || kill "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/data"
printf "tickTime=2000\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\n" \
    "$WORK/data" "$port" >"$WORK/zoo.cfg"
"$RK" server --config "$WORK/zoo.cfg" >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do "$BENCH" --servers "127.0.0.1:$port" --cleanup-only --keys 1 2>/dev/null && break; sleep 0.1; done
for sc in "1 session getData|--sessions 1 --inflight 1 --read-ratio 1 --threads 1" \
          "32x4 getData|--sessions 32 --inflight 4 --read-ratio 1 --threads 2" \
          "32x4 setData|--sessions 32 --inflight 4 --read-ratio 0 --threads 2"; do
    IFS='|' read -r name args <<<"$sc"
    # shellcheck disable=SC2086
    "$BENCH" --servers "127.0.0.1:$port" $args --value-size 100 --keys 1000 \
        --duration $((DURATION + 3)) --warmup 1 >"$WORK/bench.txt" 2>&1 &
    bench=$!
    sleep 2
    perf record -q -e cpu-clock -a -g -o "$WORK/perf.data" -- sleep "$DURATION" 2>/dev/null
    wait "$bench"
    echo "### $name"
    echo
    echo '```'
    grep -E "^(op|total)" "$WORK/bench.txt"
    echo
    echo "CPU samples by thread (whole machine):"
    perf report -i "$WORK/perf.data" --no-children --sort comm -g none 2>/dev/null \
        | awk '/^ +[0-9]/ && n++ < 8'
    for t in rk-shard-0-1 rk-pipeline-2; do
        echo
        echo "$t, kernel against user space (share of the thread's samples):"
        perf report -i "$WORK/perf.data" --no-children --comm "$t" --sort dso -g none 2>/dev/null \
            | awk '/^ +[0-9]/ && n++ < 4'
        echo "$t, hottest symbols (share of the thread's samples):"
        perf report -i "$WORK/perf.data" --no-children --comm "$t" --sort sym -g none 2>/dev/null \
            | awk '/^ +[0-9]/ && n++ < 8'
    done
    echo '```'
    echo
done
