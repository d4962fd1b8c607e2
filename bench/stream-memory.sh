#!/usr/bin/env bash
# Bytes per stream entry, side by side: N entries of one small field each
# (`XADD s <i>-1 field <i>`, sent with redis-cli --pipe from a generated
# file) into one fresh server each, RSS and used_memory growth over the
# load divided by N. Each RedisLite binary given is measured, then
# Debian's redis-server.
#
# usage: bench/stream-memory.sh [redislite-server...]
# env:   N (default 500000), PORT (default 8250; one port, servers run one
#        at a time), ROUNDS (default 1). Servers are stopped by pid.
set -euo pipefail
if [ $# -eq 0 ]; then
  set -- target/x86_64-unknown-linux-gnu/release/redislite-server
fi
N=${N:-500000}
PORT=${PORT:-8250}
ROUNDS=${ROUNDS:-1}
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

python3 - "$N" "$TMP" <<'PY'
import sys
n, tmp = int(sys.argv[1]), sys.argv[2]
with open(f'{tmp}/xadd.resp', 'wb') as f:
    for i in range(1, n + 1):
        id_ = b'%d-1' % i
        v = b'%d' % i
        f.write(b'*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$%d\r\n%s\r\n$5\r\nfield\r\n$%d\r\n%s\r\n'
                % (len(id_), id_, len(v), v))
PY

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
used() { redis-cli -p "$PORT" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r'; }

measure() { # name cmd... ; prints "name rss/entry used/entry"
  local name=$1; shift
  "$@" --port "$PORT" --dir "$TMP" --save "" --appendonly no --bind 127.0.0.1 >/dev/null 2>&1 &
  local pid=$!; PIDS+=("$pid")
  for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
  local u0 r0; u0=$(used); r0=$(rss_kb "$pid")
  redis-cli -p "$PORT" --pipe < "$TMP/xadd.resp" >/dev/null
  local len; len=$(redis-cli -p "$PORT" xlen s)
  local u1 r1; u1=$(used); r1=$(rss_kb "$pid")
  awk -v n="$name" -v len="$len" -v u="$((u1 - u0))" -v r="$(( (r1 - r0) * 1024 ))" \
    'BEGIN { printf "%-40s xlen %d  RSS/entry %6.1f B  used_memory/entry %6.1f B\n", n, len, r / len, u / len }'
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

for _ in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    measure "$bin" "$bin"
  done
  measure redis-server /usr/bin/redis-server
done
