#!/usr/bin/env bash
# Server CPU per stream request, side by side: for each server (the
# RedisLite binaries given, then Debian's redis-server), one fresh server
# on CPU 1 and redis-benchmark on CPU 0, pipeline 16, 50 clients:
#   XADD s * f v             (N requests: builds an N-entry stream)
#   XRANGE s - + COUNT 10    (N/2 requests: the first node)
#   XREVRANGE s + - COUNT 10 (N/2 requests: the last node, backwards)
# Server CPU = utime+stime of the server process (/proc/PID/stat fields
# 14 and 15) over each redis-benchmark run, divided by its requests.
# ROUNDS rounds, the servers alternating within each round.
#
# usage: bench/stream-cpu.sh [redislite-server...]
# env:   N (default 1000000), PORT (default 8251), ROUNDS (default 3).
set -euo pipefail
if [ $# -eq 0 ]; then
  set -- target/x86_64-unknown-linux-gnu/release/redislite-server
fi
N=${N:-1000000}
PORT=${PORT:-8251}
ROUNDS=${ROUNDS:-3}
TCK=$(getconf CLK_TCK)
PIDS=()
TMP=$(mktemp -d) # the servers' --dir: no dump.rdb from elsewhere is loaded
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() { # pid name requests args... ; prints us/request
  local pid=$1 name=$2 n=$3; shift 3
  local t0; t0=$(cpu_ticks "$pid")
  taskset -c 0 redis-benchmark -p "$PORT" -P 16 -c 50 -n "$n" "$@" >/dev/null
  local t1; t1=$(cpu_ticks "$pid")
  awk -v name="$name" -v t="$((t1 - t0))" -v tck="$TCK" -v n="$n" \
    'BEGIN { printf "  %-26s %6.3f us/request\n", name, t / tck * 1e6 / n }'
}

measure() { # label cmd...
  local label=$1; shift
  taskset -c 1 "$@" --port "$PORT" --dir "$TMP" --save "" --appendonly no --bind 127.0.0.1 >/dev/null 2>&1 &
  local pid=$!; PIDS+=("$pid")
  for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
  echo "$label (load $(cut -d' ' -f1 /proc/loadavg))"
  run "$pid" "XADD s * f v" "$N" XADD s '*' f v
  run "$pid" "XRANGE s - + COUNT 10" "$((N / 2))" XRANGE s - + COUNT 10
  run "$pid" "XREVRANGE s + - COUNT 10" "$((N / 2))" XREVRANGE s + - COUNT 10
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

for r in $(seq "$ROUNDS"); do
  echo "round $r"
  for bin in "$@"; do
    measure "$bin" "$bin"
  done
  measure redis-server /usr/bin/redis-server
done
