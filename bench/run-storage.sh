#!/usr/bin/env bash
# Storage benchmarks, Apache ZooKeeper 3.8 (Debian package) beside Ringkeeper on loopback:
#   1. write latency (1 session setData, and 32x4 writes) with forceSync=yes and forceSync=no;
#   2. write latency while snapshots of N znodes are taken (snapCount small) vs none (huge);
#   3. restart time with N znodes of 100 B (SIGKILL, start, time until a session is served).
#
#   bench/run-storage.sh [--znodes N] [--duration S] [--out FILE] [--no-build]
#
# Uses bench/lib.sh's server helpers. Every process it starts is stopped on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ZNODES=1000000
DURATION=10
OUT=$ROOT/bench/STORAGE-RESULTS.md
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        --znodes) ZNODES=$2; shift ;;
        --duration) DURATION=$2; shift ;;
        --out) OUT=$2; shift ;;
        --no-build) BUILD=0 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh" storage
[ "$BUILD" = 0 ] || build_release -p ringkeeper -p ringkeeper-bench

# start KIND DIR: (re)starts a server on DIR's zoo.cfg; sets PID and prints ms until ready.
start() {
    local kind=$1 dir=$2 port t0
    port=$(awk -F= '/^clientPort=/{print $2}' "$dir/zoo.cfg")
    t0=$(date +%s%N)
    if [ "$kind" = zk ]; then
        java -Xmx"$ZK_HEAP" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$ZK_CP" \
            org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" >>"$dir/server.log" 2>&1 &
    else
        "$RK" server --config "$dir/zoo.cfg" >>"$dir/server.log" 2>&1 &
    fi
    PID=$!
    PIDS+=("$PID")
    local i
    for i in $(seq 1 1200); do
        kill -0 "$PID" 2>/dev/null || { log "$kind exited; log:"; tail -20 "$dir/server.log" >&2; exit 1; }
        # A real session, not just ruok: ZooKeeper says imok before it serves.
        if "$BENCH" --servers "127.0.0.1:$port" --no-setup --no-cleanup --mix exists --keys 1 \
            --ops 1 --warmup 0 >/dev/null 2>&1; then
            echo $(( ($(date +%s%N) - t0) / 1000000 ))
            return 0
        fi
        sleep 0.05
    done
    log "$kind not ready after 60 s"; exit 1
}

bench_json() { # addr out.json seconds args...
    local addr=$1 out=$2 secs=$3; shift 3
    "$BENCH" --servers "$addr" --value-size 100 --duration "$secs" --warmup 2 --json "$out" "$@" >&2
}

# 1. forceSync yes/no
for kind in zk rk; do
    for fs in yes no; do
        dir=$WORK/$kind-fs-$fs; port=$(free_port)
        FORCE_SYNC=$fs EXTRA_CFG=snapCount=100000 write_cfg "$dir" "$port"
        start "$kind" "$dir" >/dev/null
        log "$kind forceSync=$fs"
        sync
        bench_json "127.0.0.1:$port" "$WORK/$kind-fs-$fs-w1.json" "$DURATION" --keys 1000 --sessions 1 --inflight 1 --read-ratio 0
        bench_json "127.0.0.1:$port" "$WORK/$kind-fs-$fs-w32.json" "$DURATION" --keys 1000 --sessions 32 --inflight 4 --read-ratio 0
        kill -9 "$PID"; wait "$PID" 2>/dev/null || true
    done
done

# 2 and 3. N znodes; writes with snapshots (snapCount 100000) vs without; then restart time.
for kind in zk rk; do
    for snap in 100000 100000000; do
        dir=$WORK/$kind-snap-$snap; port=$(free_port)
        FORCE_SYNC=yes EXTRA_CFG=snapCount=$snap write_cfg "$dir" "$port"
        start "$kind" "$dir" >/dev/null
        log "$kind: creating $ZNODES znodes (snapCount=$snap)"
        "$BENCH" --servers "127.0.0.1:$port" --keys "$ZNODES" --value-size 100 --setup-only \
            --sessions 8 --inflight 16 >&2
        # Flush what earlier phases left dirty (the other server's snapshots, this setup) so
        # its writeback does not land in this measurement.
        sync
        log "$kind: writes over $ZNODES znodes, snapCount=$snap"
        bench_json "127.0.0.1:$port" "$WORK/$kind-snap-$snap.json" $((DURATION * 3)) --keys "$ZNODES" \
            --no-setup --no-cleanup --sessions 32 --inflight 4 --read-ratio 0
        snaps=$(ls "$dir/data/version-2" | grep -c '^snapshot' || true)
        echo "$snaps" >"$WORK/$kind-snap-$snap.count"
        if [ "$snap" = 100000 ]; then
            kill -9 "$PID"; wait "$PID" 2>/dev/null || true
            log "$kind: restart with $ZNODES znodes"
            start "$kind" "$dir" >"$WORK/$kind-restart.ms"
        fi
        kill -9 "$PID"; wait "$PID" 2>/dev/null || true
        rm -rf "$dir/data"
    done
done

python3 - "$WORK" "$OUT" "$ZNODES" "$DURATION" <<'PY'
import json, os, sys, datetime
work, out, znodes, duration = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def j(name):
    p = os.path.join(work, name)
    return json.load(open(p))["total"] if os.path.exists(p) else None
def txt(name):
    p = os.path.join(work, name)
    return open(p).read().strip() if os.path.exists(p) else "-"
def r(b, a): return f"{b / a:.2f}" if a and b else "-"
L = ["# Storage benchmarks", "",
     f"{datetime.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, loopback, 100-byte values, "
     f"ringkeeper-bench closed loop, {duration} s per run; 1-minute load average at the end "
     f"{os.getloadavg()[0]:.1f}. Produced by `bench/run-storage.sh`.", "",
     "## Write latency, forceSync yes and no", "",
     "| load | forceSync | metric | ZooKeeper 3.8 | Ringkeeper | RK/ZK |", "|---|---|---|---|---|---|"]
for load, tag in (("1 session setData", "w1"), ("32x4 setData", "w32")):
    for fs in ("yes", "no"):
        zk, rk = j(f"zk-fs-{fs}-{tag}.json"), j(f"rk-fs-{fs}-{tag}.json")
        for i, (m, f) in enumerate((("ops/s", "ops_per_sec"), ("p50 us", "p50_us"), ("p99 us", "p99_us"))):
            zv, rv = (zk or {}).get(f), (rk or {}).get(f)
            L.append(f"| {load if i == 0 and fs == 'yes' else ''} | {fs if i == 0 else ''} | {m} | "
                     f"{zv or 0:.1f} | {rv or 0:.1f} | {r(rv, zv)} |")
L += ["", f"## Writes over {znodes:,} znodes while snapshots are taken", "",
      f"32 sessions x 4 in flight, setData, {3 * duration} s. snapCount=100000 makes each server "
      "snapshot its whole tree every 50,001-100,000 txns during the run; snapCount=100000000 "
      "takes none.", "",
      "| server | snapCount | snapshots on disk | ops/s | p50 us | p99 us | p99.9 us | max us |",
      "|---|---|---|---|---|---|---|---|"]
for kind, name in (("zk", "ZooKeeper 3.8"), ("rk", "Ringkeeper")):
    for snap in ("100000", "100000000"):
        t = j(f"{kind}-snap-{snap}.json") or {}
        L.append(f"| {name} | {snap} | {txt(f'{kind}-snap-{snap}.count')} | {t.get('ops_per_sec', 0):.0f} | "
                 f"{t.get('p50_us', 0):.0f} | {t.get('p99_us', 0):.0f} | {t.get('p999_us', 0):.0f} | {t.get('max_us', 0):.0f} |")
zr, rr = txt("zk-restart.ms"), txt("rk-restart.ms")
L += ["", f"## Restart time with {znodes:,} znodes of 100 B", "",
      "SIGKILL after the writes above (newest snapshot plus the log after it), then start and "
      "time until a client session is served.", "",
      "| ZooKeeper 3.8 (ms) | Ringkeeper (ms) | RK/ZK |", "|---|---|---|",
      f"| {zr} | {rr} | {r(float(rr), float(zr)) if zr != '-' and rr != '-' else '-'} |", ""]
open(out, "w").write("\n".join(L))
print("\n".join(L))
PY
log "wrote $OUT"
