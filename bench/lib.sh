# Helpers shared by the benchmark scripts; sourced, not run: `. "$ROOT/bench/lib.sh" NAME`
# with ROOT (the repo) set. NAME tags the log lines and names WORK, a fresh temporary directory.
#
# Sets TARGET, BENCH, RK (release binaries), ZK_CP (Apache ZooKeeper's class path) and
# ZK_HEAP. Every process started through spawn_zk or spawn_rk lands in PIDS and is stopped when
# the script exits, also on failure; WORK is removed then.

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BENCH=$TARGET/release/ringkeeper-bench
RK=$TARGET/release/ringkeeper
export ZK_HEAP=${ZK_HEAP:-2g}
PIDS=()
LOG_TAG=$1

log() { echo "[$LOG_TAG] $*" >&2; }

build_release() { # cargo arguments (-p crate ...)
    log "building release binaries in $TARGET"
    (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build --release "$@" >&2)
}

bench_cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}

if [ ! -f /usr/share/java/zookeeper.jar ]; then
    log "installing the Debian zookeeper package"
    apt-get install -y zookeeper >&2
fi
# zookeeper.jar's manifest names most dependencies; the Netty codec and resolver it does not.
ZK_CP=/etc/zookeeper/conf:/usr/share/java/zookeeper.jar
# slf4j-simple gives server.log the warnings (the package ships no binding).
for jar in netty-codec netty-resolver slf4j-simple; do
    ZK_CP=$ZK_CP:/usr/share/java/$jar.jar
done

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# zoo.cfg in DIR for either server, forceSync from FORCE_SYNC; EXTRA_CFG is appended
# (server.N lines, ringkeeper.* keys).
write_cfg() { # dir client-port
    mkdir -p "$1/data"
    cat >"$1/zoo.cfg" <<EOF
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$1/data
clientPort=$2
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
forceSync=$FORCE_SYNC
${EXTRA_CFG:-}
EOF
}

# Start a server on DIR/zoo.cfg in the background, output in DIR/server.log; set STARTED_PID.
spawn_zk() { # dir
    java -Xmx"$ZK_HEAP" -Dzookeeper.forceSync="$FORCE_SYNC" \
        -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$ZK_CP" \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$1/zoo.cfg" >"$1/server.log" 2>&1 &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
}

spawn_rk() { # dir
    "$RK" server --config "$1/zoo.cfg" >"$1/server.log" 2>&1 &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
}

stop() { # pid
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

four_letter() { # port word -> prints the answer (nothing if the server does not answer)
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf $2 >&3 && cat <&3" \
        2>/dev/null || true
}

# Waits until the server answers ruok and serves a session; exits the script with the tail of
# DIR/server.log if it dies or takes more than 30 s.
wait_ready() { # dir pid port
    local i
    for i in $(seq 1 300); do
        if ! kill -0 "$2" 2>/dev/null; then
            log "$1 exited during start-up; its log:"
            tail -20 "$1/server.log" >&2
            exit 1
        fi
        # ZooKeeper answers imok before it serves sessions, so also open one (connect polling).
        if [ "$(four_letter "$3" ruok)" = imok ] &&
            "$BENCH" --servers "127.0.0.1:$3" --cleanup-only --keys 1 2>/dev/null; then
            log "$(basename "$1") ready on port $3 (pid $2)"
            return 0
        fi
        sleep 0.1
    done
    log "$1 not ready after 30 s"
    tail -20 "$1/server.log" >&2
    exit 1
}

# The disk's own fdatasync latency in DIR, as JSON {p50_us, p99_us}: 4 KiB writes into a
# preallocated file, as both servers' logs are.
measure_fdatasync() { # dir
    python3 - "$1" <<'PY'
import json, os, statistics, sys, time
path = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b"\0" * (64 << 20), 0)
os.fsync(fd)
block, lat = b"x" * 4096, []
for i in range(2000):
    os.pwrite(fd, block, (i * 4096) % (64 << 20))
    t = time.perf_counter_ns()
    os.fdatasync(fd)
    lat.append((time.perf_counter_ns() - t) / 1000)
os.close(fd)
os.unlink(path)
lat.sort()
print(json.dumps({"p50_us": statistics.median(lat), "p99_us": lat[int(len(lat) * 0.99)]}))
PY
}

WORK=$(mktemp -d "/tmp/rk-$LOG_TAG.XXXXXX")
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
