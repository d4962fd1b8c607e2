#!/usr/bin/env bash
# Bytes per key, side by side: load the same 1M keys into RedisLite and
# into Debian's redis-server (one at a time, each on its own loopback
# port) and report used_memory and RSS growth divided by the key count.
#
# usage: bench/memory.sh [path/to/redislite-server]
# Workloads: 1M strings (key:%012d -> 32-byte value) and 1M small hashes
# (hkey:%012d -> 2 fields of 8-byte values). Servers are stopped by pid.
set -euo pipefail
BIN=${1:-target/x86_64-unknown-linux-gnu/release/redislite-server}
N=${N:-1000000}
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

python3 - "$N" "$TMP" <<'PY'
import sys
n, tmp = int(sys.argv[1]), sys.argv[2]
val = b'v' * 32
with open(f'{tmp}/strings.resp', 'wb') as f:
    for i in range(n):
        k = b'key:%012d' % i
        f.write(b'*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$32\r\n%s\r\n' % (len(k), k, val))
with open(f'{tmp}/hashes.resp', 'wb') as f:
    for i in range(n):
        k = b'hkey:%012d' % i
        f.write(b'*6\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n$2\r\nf1\r\n$8\r\nvalue001\r\n$2\r\nf2\r\n$8\r\nvalue002\r\n' % (len(k), k))
PY

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
used() { redis-cli -p "$1" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r'; }

measure() { # name cmd... ; prints "name workload used/key rss/key"
  local name=$1; shift
  for workload in strings hashes; do
    local port; port=$(free_port)
    "$@" --port "$port" --save "" --bind 127.0.0.1 >/dev/null 2>&1 &
    local pid=$!; PIDS+=("$pid")
    for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    local u0 r0; u0=$(used "$port"); r0=$(rss_kb "$pid")
    redis-cli -p "$port" --pipe < "$TMP/$workload.resp" >/dev/null
    local keys; keys=$(redis-cli -p "$port" dbsize)
    local u1 r1; u1=$(used "$port"); r1=$(rss_kb "$pid")
    printf '%s %s %d %d\n' "$name" "$workload" $(( (u1 - u0) / keys )) $(( (r1 - r0) * 1024 / keys ))
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
}

measure redislite "$BIN"
measure redis-server redis-server --appendonly no
