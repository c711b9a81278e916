#!/usr/bin/env bash
# Profiles Ringkeeper under three loads of the matrix with `perf record -e cpu-clock -a -g`
# (whole machine: the benchmark client shares the cores) and prints where the CPU went:
# per thread, kernel against user space, and the hottest user-space symbols of the server.
# Then the same 32x4 setData load against Apache ZooKeeper 3.8 (Debian package), for how much
# of the machine the client gets there.
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
cleanup() { [ -z "$PID" ] || kill "$PID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/data"
printf "tickTime=2000\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\n" \
    "$WORK/data" "$port" >"$WORK/zoo.cfg"
"$RK" server --config "$WORK/zoo.cfg" >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do "$BENCH" --servers "127.0.0.1:$port" --cleanup-only --keys 1 2>/dev/null && break; sleep 0.1; done
# Runs one load under perf; prints the bench's table and the CPU split by thread.
profile_load() { # port name bench-args
    local port=$1 name=$2 bench
    # shellcheck disable=SC2086
    "$BENCH" --servers "127.0.0.1:$port" $3 --value-size 100 --keys 1000 \
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
        | awk '/^ +[0-9]/ && n++ < 10'
}

# Share of a thread's samples in glommio's idle polling: the spin-before-park loop reads the
# clock and polls the rings, timers and channels until work arrives.
SPIN_SYMBOLS='clock_gettime|Timespec|spin_poll_io|process_timers|process_shared_channels|process_foreign_wakes|io_uring_get_cqe|io_uring_peek_cqe|io_uring_sq_ready|submit_one_event|consume_one_event|consume_submission_queue|consume_cancellation_queue|LocalExecutor::run|try_recv'

for sc in "1 session getData|--sessions 1 --inflight 1 --read-ratio 1" \
          "32x4 getData|--sessions 32 --inflight 4 --read-ratio 1" \
          "32x4 setData|--sessions 32 --inflight 4 --read-ratio 0"; do
    IFS='|' read -r name args <<<"$sc"
    profile_load "$port" "$name" "$args"
    for t in rk-shard-0-1 rk-pipeline-2; do
        echo
        echo "$t, kernel against user space (share of the thread's samples):"
        perf report -i "$WORK/perf.data" --no-children --percentage relative --comm "$t" --sort dso -g none 2>/dev/null \
            | awk '/^ +[0-9]/ && n++ < 4'
        echo "$t, hottest symbols (share of the thread's samples):"
        perf report -i "$WORK/perf.data" --no-children --percentage relative --comm "$t" --sort sym -g none 2>/dev/null \
            | awk '/^ +[0-9]/ && n++ < 8'
        perf report -i "$WORK/perf.data" --no-children --percentage relative --comm "$t" --sort sym -g none 2>/dev/null \
            | awk -v re="$SPIN_SYMBOLS" '/^ +[0-9]/ && $0 ~ re { sub("%", "", $1); s += $1 }
                END { printf "%s, glommio idle polling (spin-before-park): %.1f%% of the thread\n", "'"$t"'", s }'
    done
    echo '```'
    echo
done
kill "$PID"
wait "$PID" 2>/dev/null || true
PID=

# --- the same write load against Apache ZooKeeper ------------------------------------------
if [ -f /usr/share/java/zookeeper.jar ]; then
    ZK_CP=/etc/zookeeper/conf:/usr/share/java/zookeeper.jar
    for jar in netty-codec netty-resolver slf4j-simple; do ZK_CP=$ZK_CP:/usr/share/java/$jar.jar; done
    mkdir -p "$WORK/zk"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    printf "tickTime=2000\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\n" \
        "$WORK/zk" "$port" >"$WORK/zk.cfg"
    java -Xmx2g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$ZK_CP" \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$WORK/zk.cfg" >"$WORK/zk.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 300); do "$BENCH" --servers "127.0.0.1:$port" --cleanup-only --keys 1 2>/dev/null && break; sleep 0.1; done
    # One unmeasured run first: ZooKeeper's JIT warms up, as it has in the matrix's rounds.
    "$BENCH" --servers "127.0.0.1:$port" --sessions 32 --inflight 4 --read-ratio 0 --keys 1000 \
        --duration 5 --warmup 1 >"$WORK/warm.txt" 2>&1 ||
        { cat "$WORK/warm.txt" "$WORK/zk.log" >&2; exit 1; }
    profile_load "$port" "32x4 setData, Apache ZooKeeper 3.8" "--sessions 32 --inflight 4 --read-ratio 0"
    echo '```'
    echo
fi
