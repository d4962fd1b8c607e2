#!/usr/bin/env bash
# Instructions per stream request (callgrind, user space only), for each
# server given (RedisLite binaries, or /usr/bin/redis-server): counting
# only while redis-benchmark (pipeline 16, 10 clients) sends
#   XADD s * f v             (N requests, into an empty stream)
#   XRANGE s - + COUNT 10    (N/2)
#   XREVRANGE s + - COUNT 10 (N/2)
#   XRANGE s <mid> + COUNT 10 (N/2: a node found by binary search, the
#                              start its last entry: a node's scan)
#   XADD t MAXLEN 1000 * f v  (N: an exact trim of one entry per call)
# each measured on its own (callgrind_control -z before, -d after).
# Instruction counts do not depend on the machine's load; cache misses
# are not in them (bench/stream-cpu.sh shows those).
#
# usage: bench/stream-callgrind.sh server...
# env:   N (default 100000), PORT (default 8252).
set -euo pipefail
N=${N:-100000}
PORT=${PORT:-8252}
PIDS=()
TMP=$(mktemp -d)
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

for bin in "$@"; do
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$TMP/cg.%p" \
    "$bin" --port "$PORT" --dir "$TMP" --save "" --appendonly no --bind 127.0.0.1 >/dev/null 2>&1 &
  pid=$!; PIDS+=("$pid")
  for _ in $(seq 300); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "$bin"
  step() { # name requests args...
    local name=$1 n=$2; shift 2
    callgrind_control -i on "$pid" >/dev/null 2>&1
    callgrind_control -z "$pid" >/dev/null 2>&1
    redis-benchmark -p "$PORT" -P 16 -c 10 -n "$n" "$@" >/dev/null
    callgrind_control -d "$pid" >/dev/null 2>&1
    callgrind_control -i off "$pid" >/dev/null 2>&1
    local f; f=$(ls -t "$TMP"/cg."$pid".* | head -1)
    local ir; ir=$(awk '/^summary:/ {print $2}' "$f")
    awk -v name="$name" -v ir="$ir" -v n="$n" 'BEGIN { printf "  %-28s %8.0f instructions/request\n", name, ir / n }'
  }
  step "XADD s * f v" "$N" XADD s '*' f v
  step "XRANGE s - + COUNT 10" "$((N / 2))" XRANGE s - + COUNT 10
  step "XREVRANGE s + - COUNT 10" "$((N / 2))" XREVRANGE s + - COUNT 10
  mid=$(redis-cli -p "$PORT" xrange s - + COUNT $((N / 2)) | tail -n 3 | head -1)
  step "XRANGE s <mid> + COUNT 10" "$((N / 2))" XRANGE s "$mid" + COUNT 10
  step "XADD t MAXLEN 1000 * f v" "$N" XADD t MAXLEN 1000 '*' f v
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  wait "$pid" 2>/dev/null || true
done
