#!/usr/bin/env bash
# The one command that runs the whole Ringkeeper test suite on a fresh Debian
# machine (as root): installs what is missing, builds, runs the Rust tests,
# formatting and clippy, then the differential suite against Apache ZooKeeper.
#
# Environment:
#   RINGKEEPER_DIFF_CANDIDATE=zookeeper  run the differential suite ZK-vs-ZK
#                                        (validates the harness; skips nothing else)
#   RINGKEEPER_ENSEMBLE_CANDIDATE=zookeeper  run the ensemble suite on ZooKeeper ensembles
#                                        (validates that harness)
#   RINGKEEPER_SKIP_CARGO=1              skip the cargo steps (harness work only)
#   RINGKEEPER_SKIP_FUZZ=1               skip the short fuzz runs (tests/fuzz-short.sh)
#   RINGKEEPER_FUZZ_SECONDS              seconds per fuzz target (default 45)
#   RINGKEEPER_SIM_SEEDS                 seeds per ensemble shape in the simulator (default 1000)
#   RINGKEEPER_BIN                       candidate binary (default target/debug/ringkeeper)
#   extra arguments are passed to pytest, e.g. tests/run-all.sh -k watches
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

KAZOO_VERSION=2.10.0
PYTEST_VERSION=8.3.4
PYTEST_TIMEOUT_VERSION=2.3.1
PROMETHEUS_CLIENT_VERSION=0.21.1

log() { printf '\n==> %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# ---- system packages -------------------------------------------------------
apt_install() {
    # Try without refreshing the index first; update only if that fails.
    export DEBIAN_FRONTEND=noninteractive
    if ! as_root apt-get install -y --no-install-recommends "$@"; then
        log "apt-get install failed; running apt-get update once"
        as_root apt-get update
        as_root apt-get install -y --no-install-recommends "$@"
    fi
}

missing=()
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
[ -f /usr/share/java/zookeeper.jar ] || missing+=(zookeeper)
[ -x /usr/lib/zookeeper/bin/cli_mt ] || missing+=(zookeeper-bin)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# libfaketime: the clock-step tests run the server with a stepped wall clock.
command -v faketime >/dev/null 2>&1 || missing+=(faketime)
# TLS tests: openssl makes the test CA, keytool (the JRE's) the PKCS12/JKS stores.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v keytool >/dev/null 2>&1 || missing+=(default-jre-headless)
# tmux: the CLI's interactive test types into a terminal (tests/cli/test_interactive.py).
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
# tests/admin: strace (cheap commands read no files) and ZooKeeper's AdminServer classpath.
command -v strace >/dev/null 2>&1 || missing+=(strace)
[ -f /usr/share/java/jetty9-server.jar ] || missing+=(libjetty9-java libservlet-api-java)
[ -f /usr/share/java/jackson-databind.jar ] || missing+=(libjackson2-databind-java)
# fio: the tune suite checks ringkeeper-tune's fsync probe against it.
command -v fio >/dev/null 2>&1 || missing+=(fio)
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing: ${missing[*]}"
    apt_install "${missing[@]}"
fi

# ---- python packages (pinned) ----------------------------------------------
have_pins() {
    "$1" - <<PY 2>/dev/null
import importlib.metadata as m, sys
want = {"kazoo": "$KAZOO_VERSION", "pytest": "$PYTEST_VERSION", "pytest-timeout": "$PYTEST_TIMEOUT_VERSION",
        "prometheus-client": "$PROMETHEUS_CLIENT_VERSION"}
sys.exit(0 if all(m.version(k) == v for k, v in want.items()) else 1)
PY
}
PY=python3
if ! have_pins "$PY"; then
    VENV="${RINGKEEPER_TEST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/ringkeeper-diff-venv}"
    PY="$VENV/bin/python"
    if ! { [ -x "$PY" ] && have_pins "$PY"; }; then
        log "creating python venv $VENV with kazoo/pytest pins"
        if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
            apt_install python3-venv python3-pip
            rm -rf "$VENV"
            python3 -m venv "$VENV"
        fi
        "$PY" -m pip install -q --disable-pip-version-check \
            "kazoo==$KAZOO_VERSION" "pytest==$PYTEST_VERSION" "pytest-timeout==$PYTEST_TIMEOUT_VERSION" \
            "prometheus-client==$PROMETHEUS_CLIENT_VERSION"
    fi
fi

# ---- rust ------------------------------------------------------------------
if [ "${RINGKEEPER_SKIP_CARGO:-0}" != 1 ]; then
    if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        log "installing rust via rustup"
        command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates
        curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if command -v rustup >/dev/null 2>&1; then
        for comp in rustfmt clippy; do
            rustup component list --installed 2>/dev/null | grep -q "^$comp" || rustup component add "$comp"
        done
    fi
    log "cargo build --workspace";  cargo build --workspace
    log "cargo test --workspace";   cargo test --workspace
    log "cargo fmt --check";        cargo fmt --all -- --check
    log "cargo clippy";             cargo clippy --workspace --all-targets -- -D warnings
    # The seeded ensemble simulator (engine/tests/replica_sim_test.rs), many seeds, optimised:
    # a failing seed prints the command that replays it.
    log "ensemble simulation, ${RINGKEEPER_SIM_SEEDS:-1000} seeds per shape"
    RINGKEEPER_SIM_SEEDS="${RINGKEEPER_SIM_SEEDS:-1000}" \
        cargo test --release -p ringkeeper-engine --test replica_sim_test
    if [ "${RINGKEEPER_SKIP_FUZZ:-0}" != 1 ]; then
        log "short fuzz runs";      tests/fuzz-short.sh
    fi
fi

# ---- differential suite ------------------------------------------------------
export RINGKEEPER_BIN="${RINGKEEPER_BIN:-$ROOT/target/debug/ringkeeper}"
log "differential suite (candidate: ${RINGKEEPER_DIFF_CANDIDATE:-ringkeeper})"
"$PY" -m pytest -x -q tests/diff "$@"
if [ "${RINGKEEPER_DIFF_CANDIDATE:-ringkeeper}" = ringkeeper ]; then
    # Again with two connection shards: clients land on different shards, each of which
    # keeps and fires its own connections' watches (the default here is one shard).
    log "differential suite with ringkeeper.shards=2"
    RINGKEEPER_DIFF_EXTRA_CFG="ringkeeper.shards=2" "$PY" -m pytest -x -q tests/diff "$@"
fi
# Over the secure client port: both servers with the same PEM key store (ZooKeeper with
# NettyServerCnxnFactory), every client connection wrapped in TLS. A subset: test_4lw's
# conf/port checks, test_clients' plain kazoo/zkCli/cli_mt and test_limits_abuse's socket
# counts assume the plain port; a successful standalone check makes ZooKeeper with the
# Netty factory shut down (probed). Then the TLS suite itself (tests/tls).
log "differential suite over TLS (RINGKEEPER_DIFF_TLS=1)"
RINGKEEPER_DIFF_TLS=1 "$PY" -m pytest -x -q tests/diff/test_create.py tests/diff/test_multi.py \
    tests/diff/test_watches.py tests/diff/test_acl.py tests/diff/test_sessions.py \
    tests/diff/test_ttl_container.py tests/diff/test_consistency.py tests/diff/test_harness.py \
    -k "not standalone_check_success"
# Both sides as 3-voter ensembles (Apache ZooKeeper 3.8 vs Ringkeeper), every client
# connection on a follower of each (tests/diff/ensemble_side.py).
log "differential suite on 3-server ensembles"
RINGKEEPER_DIFF_ENSEMBLE=1 "$PY" -m pytest -x -q tests/diff "$@"
log "TLS suite"
"$PY" -m pytest -q tests/tls
# `ringkeeper cli` against zkCli.sh (Apache ZooKeeper 3.8), reconnects, and a terminal
# session under tmux (tests/cli/).
log "CLI suite"
"$PY" -m pytest -q tests/cli --timeout 300
# AdminServer JSON (every command vs ZooKeeper's), Prometheus /metrics, cheap 4lw (strace).
log "AdminServer and /metrics suite"
"$PY" -m pytest -q tests/admin
log "crash/recovery suite"
"$PY" -m pytest -q tests/crash --timeout 300
# The log has two writers (glommio DMA files by default, buffered with walDirectIo=false):
# crash the other one too.
log "crash loop and storage poisoning with ringkeeper.walDirectIo=false"
RINGKEEPER_CRASH_EXTRA_CFG="ringkeeper.walDirectIo=false" \
    "$PY" -m pytest -q tests/crash/test_crash_loop.py tests/crash/test_poison.py --timeout 300
# Replicated ensembles (issue 8): 3 voters + 1 observer as real processes on loopback, with a
# fault-injecting proxy on every directed peer link (tests/ensemble/): every acknowledged
# write on every server, leader SIGKILL (failover time printed), a wiped follower, leader and
# follower cut off, sessions moving between servers.
log "ensemble suite (candidate: ${RINGKEEPER_ENSEMBLE_CANDIDATE:-ringkeeper})"
"$PY" -m pytest -q tests/ensemble --timeout 300
# Hostile clients and load: malformed frames, slow readers, huge requests, deep trees,
# huge ephemeral sets, 10,000 connections; each test on its own server (tests/hostile/).
log "hostile-client and load suite"
"$PY" -m pytest -q tests/hostile --timeout 600
# ringkeeper-tune: its fsync probe against fio (tmpfs and the disk), a --quick run's time,
# report and plots, a rerun of its recommendation with ringkeeper-bench, Ctrl-C (tests/tune/).
log "ringkeeper-tune suite"
"$PY" -m pytest -q tests/tune --timeout 300
