#!/usr/bin/env bash
# bench/save_cost.sh -- how long one SAVE takes and how big the file is,
# for comparing RDB writers (rdbcompression, string forms) with
# redis-server's. Not part of `make bench`.
#
# usage: bench/save_cost.sh SERVER_BIN PORT [SERVER_ARGS...]
#
#   1. starts SERVER_BIN on 127.0.0.1:PORT pinned to CPU 1, in a fresh
#      temp dir, with --save '' --appendonly no and SERVER_ARGS
#      (e.g. --rdbcompression no)
#   2. fills it: 1M keys of 32-byte values by redislite-benchmark (SET
#      only, every key once), or, with VALUE_FILE=PATH, one key holding
#      the bytes of PATH (redis-cli -x)
#   3. times one SAVE (wall) and the server's user+sys CPU around it
#      (/proc/PID/stat, 10 ms ticks), and prints them with the file size
#   4. stops the server and removes its directory
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Not realpath: Debian's redis-server is a link to redis-check-rdb, and
# the program picks its role by the name it is started under.
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); PORT=$2; shift 2
LOADGEN=${LOADGEN:-$ROOT/target/x86_64-unknown-linux-gnu/release/redislite-benchmark}
DIR=$(mktemp -d /tmp/save_cost.XXXXXX)
cleanup() { if [[ -n ${SP:-} ]]; then kill "$SP" 2>/dev/null; wait "$SP" 2>/dev/null || true; fi; rm -rf "$DIR"; }
trap cleanup EXIT
taskset -c 1 "$BIN" --port "$PORT" --save '' --appendonly no --dir "$DIR" "$@" >/dev/null 2>&1 &
SP=$!
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
if [[ -n ${VALUE_FILE:-} ]]; then
    redis-cli -p "$PORT" -x set big <"$VALUE_FILE" >/dev/null
else
    taskset -c 0 "$LOADGEN" --port "$PORT" --ratio 0:100 --connections 50 --keys 1000000 \
        --requests 1 --quiet >/dev/null
fi
cpu() { local f; read -r -a f <"/proc/$SP/stat"; echo $((f[13] + f[14])); }
c0=$(cpu); t0=$(date +%s%N)
redis-cli -p "$PORT" save >/dev/null
t1=$(date +%s%N); c1=$(cpu)
printf '%-40s SAVE %5d ms wall  %5d ms CPU  %10d bytes\n' "$(basename "$BIN") $*" \
    $(((t1 - t0) / 1000000)) $(((c1 - c0) * 1000 / $(getconf CLK_TCK))) "$(stat -c %s "$DIR/dump.rdb")"
