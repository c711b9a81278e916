#!/usr/bin/env bash
# Short coverage-guided fuzz runs over the corpora kept in the repository: every kept input
# is replayed first (the crashes fixed so far are among them), then each target fuzzes for
# RINGKEEPER_FUZZ_SECONDS (default 45). Fails on any crash, leak, timeout or OOM.
#
# Targets (cargo-fuzz crates, outside the workspace, on the nightly toolchain):
#   engine/fuzz   request_decoder   client frames -> connect / header / request decoders
#   storage/fuzz  wal_reader        segment bytes -> WAL recovery (+ txn decoding)
#   storage/fuzz  snapshot_reader   file / payload bytes -> snapshot loader (rkyv validation)
#
# Installs the nightly toolchain and cargo-fuzz when missing (CI runs on a fresh machine).
# New inputs found here go to a scratch directory, not into the kept corpora; to grow
# those, run `cargo +nightly fuzz run <target>` in the crate and `cargo fuzz cmin` after.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_TARGET="${RINGKEEPER_FUZZ_SECONDS:-45}"

log() { printf '\n==> %s\n' "$*" >&2; }

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    log "installing the nightly toolchain (cargo-fuzz needs it)"
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    log "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
# libFuzzer is C++: the sanitizer runtime links with a C++ compiler.
if ! command -v c++ >/dev/null 2>&1; then
    log "installing a C++ compiler for libFuzzer"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends g++ || { apt-get update && apt-get install -y --no-install-recommends g++; }
fi

SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT

run_target() {
    local crate="$1" target="$2"
    local kept="$ROOT/$crate/fuzz/corpus/$target"
    log "fuzz $target for ${SECONDS_PER_TARGET}s over $(find "$kept" -type f | wc -l) kept inputs"
    mkdir -p "$SCRATCH/$target"
    # The first corpus directory receives new inputs; the kept one is only read.
    (cd "$ROOT/$crate" && cargo +nightly fuzz run "$target" "$SCRATCH/$target" "$kept" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1)
}

run_target engine request_decoder
run_target storage wal_reader
run_target storage snapshot_reader
log "fuzz: no crash"
