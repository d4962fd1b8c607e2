#!/usr/bin/env bash
# bench/cpu_split.sh -- one server's user and system CPU per request, for
# comparing server configurations (e.g. the cost of appendfsync everysec)
# more finely than the matrix's total. Not part of `make bench`.
#
# usage: bench/cpu_split.sh SERVER_BIN PORT PIPELINE SECONDS [TAG]
#
#   1. starts SERVER_BIN on 127.0.0.1:PORT pinned to CPU 1, in a fresh
#      temp dir, with --save '' --auto-aof-rewrite-percentage 0 and
#      $EXTRA (e.g. EXTRA="--appendonly yes --appendfsync everysec");
#      DEVNULL=1 makes the AOF file a symlink to /dev/null first, so the
#      log costs everything but the kernel's file I/O; LOG_TARGET=PATH
#      makes it a symlink to PATH instead (e.g. a file on tmpfs, to
#      separate the page-cache copy from ext4's writeback; PATH is left
#      behind, remove it yourself)
#   2. redislite-benchmark pinned to CPU 0: SET only ($RATIO, default
#      0:100), 50 connections, 1M keys, no prefill, for SECONDS, plus
#      $LOADX (e.g. LOADX="--value-size 96"). PREFILL=1 first SETs every
#      key once, outside the measured window, so the window measures a
#      steady key space: without it, a slower configuration spends a
#      larger share of its requests inserting new keys (dict growth,
#      fresh memory), which is not what a configuration costs per write
#   3. utime and stime of the server (/proc/PID/stat, all threads) and
#      total_commands_processed, read 1 s after the start and 1 s before
#      the end; prints ns of user and system CPU per request between them,
#      and the load's p99 and p99.9 latency (whole run)
#   4. stops the server with SIGKILL and removes its directory (nothing
#      of it is kept; a log on /dev/null could not be fsynced by a
#      graceful shutdown anyway, which would refuse to exit)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$(realpath "$1"); PORT=$2; P=$3; SECS=$4; TAG=${5:-}
LOADGEN=${LOADGEN:-$ROOT/target/x86_64-unknown-linux-gnu/release/redislite-benchmark}
((SECS >= 4)) || { echo "SECONDS must be >= 4" >&2; exit 1; }
DIR=$(mktemp -d /tmp/cpu_split.XXXXXX)
cleanup() { if [[ -n ${SP:-} ]]; then kill -9 "$SP" 2>/dev/null; wait "$SP" 2>/dev/null || true; fi; rm -rf "$DIR"; }
trap cleanup EXIT
if [[ -n ${DEVNULL:-} || -n ${LOG_TARGET:-} ]]; then
    mkdir "$DIR/appendonlydir"
    ln -s "${LOG_TARGET:-/dev/null}" "$DIR/appendonlydir/appendonly.aof.1.incr.aof"
fi
# shellcheck disable=SC2086
taskset -c 1 "$BIN" --port "$PORT" --save '' --auto-aof-rewrite-percentage 0 \
    --dir "$DIR" ${EXTRA:-} >"$DIR/server.out" 2>&1 &
SP=$!
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
snap() {
    local f c
    read -r -a f <"/proc/$SP/stat"
    c=$(redis-cli -p "$PORT" info stats | tr -d '\r' | awk -F: '/^total_commands_processed/ { print $2 }')
    echo "${f[13]} ${f[14]} $c"
}
if [[ -n ${PREFILL:-} ]]; then
    # shellcheck disable=SC2086
    taskset -c 0 "$LOADGEN" --port "$PORT" --ratio 0:100 --connections 50 --keys 1000000 \
        --requests 1 --quiet ${LOADX:-} >/dev/null
fi
( sleep 1; snap >"$DIR/a"; sleep $((SECS - 2)); snap >"$DIR/b" ) &
H=$!
# shellcheck disable=SC2086
taskset -c 0 "$LOADGEN" --port "$PORT" --ratio "${RATIO:-0:100}" --pipeline "$P" \
    --connections 50 --keys 1000000 --duration "$SECS" --no-prefill --quiet --json \
    ${LOADX:-} >"$DIR/load.json"
wait "$H"
read -r u1 s1 c1 <"$DIR/a"; read -r u2 s2 c2 <"$DIR/b"
python3 - "$TAG" "$((c2 - c1))" "$((u2 - u1))" "$((s2 - s1))" "$(getconf CLK_TCK)" "$((SECS - 2))" "$DIR/load.json" <<'PY'
import json, sys
tag, n, u, s, hz, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
lat = json.load(open(sys.argv[7]))['latency_us']
u, s = u / hz, s / hz
print('%-28s req/s %9.0f  user %6.1f ns  sys %6.1f ns  total %6.1f ns per request  p99 %6.0f us  p99.9 %6.0f us'
      % (tag, n / secs, u / n * 1e9, s / n * 1e9, (u + s) / n * 1e9, lat['p99'], lat['p99_9']))
PY
