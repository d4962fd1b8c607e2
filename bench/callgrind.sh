#!/usr/bin/env bash
# bench/callgrind.sh -- one-off instruction profile of RedisLite under a
# fixed small workload (not part of `make bench`; it runs ~50x slower than
# native). Usage: bench/callgrind.sh [OUTDIR]   (default: target/callgrind)
#
#   1. cargo build --profile profiling --bin redislite-server
#      (release + debug symbols, not stripped; dynamically linked)
#   2. valgrind --tool=callgrind the server on a free loopback port
#   3. redis-benchmark -n 100000 -P 16 -t set,get -r 100000 -d 32 -c 10
#   4. redis-cli shutdown nosave (so callgrind writes its output)
#   5. callgrind_annotate, exclusive and inclusive, top 20, with costs of
#      code inlined from other files folded into the function it sits in.
#
# Callgrind counts user-space instructions only: syscalls and the TCP stack
# are invisible here (see the kernel-share table from bench/run.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$(realpath -m -- "${1:-$ROOT/target/callgrind}")
REQUESTS=100000
for tool in valgrind callgrind_annotate redis-benchmark redis-cli cargo timeout; do
    command -v "$tool" >/dev/null || { echo "missing tool: $tool (apt-get install valgrind redis-tools)" >&2; exit 1; }
done
mkdir -p "$OUT"
(cd "$ROOT" && cargo build --profile profiling --bin redislite-server)
BIN=$ROOT/target/profiling/redislite-server

PID=""
cleanup() {
    local rc=$?
    if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then kill "$PID" 2>/dev/null || true; fi
    [[ -n $PID ]] && { wait "$PID" 2>/dev/null || true; }
    exit "$rc"
}
trap cleanup EXIT

PORT=""
for _ in $(seq 200); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then PORT=$p; break; fi
done
[[ -n $PORT ]] || { echo "no free port" >&2; exit 1; }

cd "$OUT"
rm -f callgrind.out.redislite
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out.redislite" \
    "$BIN" --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no >"$OUT/server.log" 2>&1 &
PID=$!
for _ in $(seq 300); do
    [[ $(redis-cli -p "$PORT" ping 2>/dev/null) == PONG ]] && break
    kill -0 "$PID" 2>/dev/null || { cat "$OUT/server.log" >&2; exit 1; }
    sleep 0.1
done
timeout 600 redis-benchmark -p "$PORT" -n "$REQUESTS" -P 16 -t set,get -r "$REQUESTS" -d 32 -c 10 --csv
redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
# SHUTDOWN closes the connection without a reply; wait for the exit itself.
for _ in $(seq 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
wait "$PID" || true
PID=""

# summarise MODE -- top 20 functions. callgrind_annotate lists cost per
# (source file, function), skipping the startup frames above the event
# loop; code inlined from another file shows up as a
# separate row under the same function. Exclusive costs are summed over
# those rows; for inclusive costs the rows nest, so the largest is taken.
summarise() {
    local mode=$1 inc=no agg=sum total
    [[ $mode == inclusive ]] && { inc=yes; agg=max; }
    total=$(callgrind_annotate --auto=no callgrind.out.redislite | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    echo "== $mode Ir (total $total Ir, $((total / (2 * REQUESTS))) Ir per request)"
    printf '%14s %7s %8s  %s\n' Ir share Ir/req function
    callgrind_annotate --auto=no --threshold=100 --inclusive=$inc callgrind.out.redislite \
        | awk -v agg=$agg '
            /file:function/ { on = 1; next }
            on && /^ *[0-9,]+ \(/ {
                n = $1; gsub(",", "", n)
                f = $0; sub(/^ *[0-9,]+ \( *[0-9.]+%\) +/, "", f); sub(/^[^:]*:/, "", f); sub(/ \[.*\]$/, "", f)
                if (agg == "sum") s[f] += n; else if (n + 0 > s[f] + 0) s[f] = n + 0
            }
            END { for (f in s) print s[f] "\t" f }' \
        | grep -Ev $'\t(0x[0-9a-f]+|\\(below main\\)|__libc_start_main.*|main|std::sys::backtrace::__rust_begin_short_backtrace|redislite_server::main)$' \
        | sort -rn | awk "NR <= 20" \
        | awk -F'\t' -v t="$total" -v r=$((2 * REQUESTS)) '{ printf "%14d %6.2f%% %8.0f  %s\n", $1, $1 * 100 / t, $1 / r, $2 }'
}
summarise exclusive | tee "$OUT/exclusive.txt"
echo
summarise inclusive | tee "$OUT/inclusive.txt"
echo
echo "raw profile: $OUT/callgrind.out.redislite (kcachegrind / callgrind_annotate)"
