#!/usr/bin/env bash
# Data-type commands side by side: server CPU per request and requests/s
# for LPUSH, LPOP, SADD, HSET, ZADD (redis-benchmark's built-in tests) and
# ZRANGE myzset 0 9 (custom command), pipeline 16, 50 clients, server on
# CPU 1, load on CPU 0. Rounds alternate RedisLite / redis-server.
# usage: bench/types.sh [redislite-binary] [rounds]
set -euo pipefail
BIN=${1:-target/x86_64-unknown-linux-gnu/release/redislite-server}
ROUNDS=${2:-1}
N=${N:-300000}
TCK=$(getconf CLK_TCK)
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null || true' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }

one() { # name cmd...
  local name=$1; shift
  local port; port=$(free_port)
  taskset -c 1 "$@" --port "$port" --save "" >/dev/null 2>&1 &
  PID=$!
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  for t in lpush lpop sadd hset zadd zrange; do
    local a b rps
    a=$(cpu "$PID")
    if [ "$t" = zrange ]; then
      rps=$(taskset -c 0 redis-benchmark -p "$port" -n "$N" -c 50 -P 16 -q ZRANGE myzset 0 9 2>/dev/null | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1)
    else
      rps=$(taskset -c 0 redis-benchmark -p "$port" -t "$t" -n "$N" -r 100000 -c 50 -P 16 -q 2>/dev/null | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1)
    fi
    b=$(cpu "$PID")
    printf '%s %s cpu_us_per_req=%s %s\n' "$name" "$t" "$(python3 -c "print(round(($b-$a)/$TCK*1e6/$N,3))")" "$rps"
  done
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
}

for _ in $(seq "$ROUNDS"); do
  one redislite "$BIN"
  one redis-server redis-server --appendonly no
done
