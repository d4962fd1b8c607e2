#!/usr/bin/env bash
# bench/callgrind.sh -- instruction profile of a fixed request workload, for
# RedisLite or (for the same workload's per-request count) Debian's
# redis-server. Not part of `make bench`: it runs ~50x slower than native,
# but instruction counts do not depend on what else the machine is doing,
# so they are the figure to optimise against on a shared box.
#
# usage: bench/callgrind.sh [redislite|redis] [OUTDIR]   (default: redislite,
#        target/callgrind/<server>)
#
#   1. cargo build --profile profiling (release + debug symbols) of
#      redislite-server and redislite-benchmark
#   2. valgrind --tool=callgrind the server on a free loopback port, with
#      --instr-atstart=no: nothing is counted until we switch it on
#   3. fill: redislite-benchmark SETs every key (not counted)
#   4. callgrind_control -i on, then the measured workload:
#      redislite-benchmark --ratio $RATIO --pipeline $PIPELINE --keys $KEYS
#        --connections $CONNS --requests $REQUESTS --no-prefill
#      then callgrind_control -i off (so shutdown is not counted either)
#   5. SHUTDOWN NOSAVE, callgrind writes its file on exit
#   6. callgrind_annotate, exclusive and inclusive, top 25, with costs of
#      code inlined from other files folded into the function it sits in.
#
# Knobs (environment): CG_REQUESTS [200000] CG_KEYS [100000] CG_PIPELINE [16]
#   CG_RATIO [80:20] CG_CONNS [10] CG_VALUE [32] CG_EXTRA [extra arguments
#   for the load, e.g. "--dist zipf"]  CG_CACHE [0; 1 = simulate caches too,
#   for D1/LL misses per request]
#   CG_RB [unset; redis-benchmark arguments, e.g. "-t zadd -r 100000", to
#   drive the server with redis-benchmark instead: run once to fill, then
#   once measured, CG_REQUESTS requests each]
#   CG_SERVER_ARGS ["--appendonly no"; e.g. "--appendonly yes --appendfsync
#   everysec" to count what the log adds per write]
#   REDIS_SERVER [/usr/bin/redis-server]
#
# Callgrind counts user-space instructions only: syscalls and the TCP stack
# are invisible here (see the kernel-share table from bench/run.sh).
# Debian's redis-server has no symbols: its totals are exact, its function
# names are mostly addresses.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KIND=${1:-redislite}
OUT=$(realpath -m -- "${2:-$ROOT/target/callgrind/$KIND}")
REQUESTS=${CG_REQUESTS:-200000}
KEYS=${CG_KEYS:-100000}
PIPELINE=${CG_PIPELINE:-16}
RATIO=${CG_RATIO:-80:20}
CONNS=${CG_CONNS:-10}
VALUE=${CG_VALUE:-32}
EXTRA=${CG_EXTRA:-}
RB=${CG_RB:-}
read -r -a SERVER_ARGS <<<"${CG_SERVER_ARGS:---appendonly no}"
CACHE_SIM=no
[[ ${CG_CACHE:-0} == 1 ]] && CACHE_SIM=yes
REDIS_BIN=${REDIS_SERVER:-/usr/bin/redis-server}
for tool in valgrind callgrind_annotate callgrind_control redis-cli redis-benchmark cargo timeout; do
    command -v "$tool" >/dev/null || { echo "missing tool: $tool (apt-get install valgrind redis-tools)" >&2; exit 1; }
done
mkdir -p "$OUT"
# CG_NO_BUILD=1 profiles the binaries already in target/profiling.
[[ -n ${CG_NO_BUILD:-} ]] || (cd "$ROOT" && cargo build --profile profiling --bin redislite-server --bin redislite-benchmark)
LOAD=$ROOT/target/profiling/redislite-benchmark
case $KIND in
    redislite) SERVER=("$ROOT/target/profiling/redislite-server") ;;
    redis) SERVER=("$REDIS_BIN") ;;
    *) echo "usage: $0 [redislite|redis] [OUTDIR]" >&2; exit 2 ;;
esac

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
rm -f callgrind.out.*
valgrind --tool=callgrind --cache-sim=$CACHE_SIM --instr-atstart=no \
    --callgrind-out-file="$OUT/callgrind.out.$KIND" \
    "${SERVER[@]}" --port "$PORT" --bind 127.0.0.1 --save '' "${SERVER_ARGS[@]}" >"$OUT/server.log" 2>&1 &
PID=$!
for _ in $(seq 600); do
    [[ $(redis-cli -p "$PORT" ping 2>/dev/null) == PONG ]] && break
    kill -0 "$PID" 2>/dev/null || { cat "$OUT/server.log" >&2; exit 1; }
    sleep 0.1
done
if [[ -n $RB ]]; then
    # redis-benchmark workload (data-type commands our tool does not send):
    # the same command line once to fill, once measured.
    # shellcheck disable=SC2086
    timeout 900 redis-benchmark -p "$PORT" -n "$REQUESTS" -P "$PIPELINE" -c "$CONNS" $RB -q >/dev/null
    callgrind_control -i on "$PID" >/dev/null
    # shellcheck disable=SC2086
    timeout 900 redis-benchmark -p "$PORT" -n "$REQUESTS" -P "$PIPELINE" -c "$CONNS" $RB -q \
        | tr '\r' '\n' | tail -1 | tee "$OUT/load.txt"
else
    timeout 900 "$LOAD" --port "$PORT" --keys "$KEYS" --value-size "$VALUE" --ratio 0:100 \
        --requests 1 --connections "$CONNS" --quiet >/dev/null
    callgrind_control -i on "$PID" >/dev/null
    # shellcheck disable=SC2086
    timeout 900 "$LOAD" --port "$PORT" --keys "$KEYS" --value-size "$VALUE" --ratio "$RATIO" \
        --pipeline "$PIPELINE" --connections "$CONNS" --requests "$REQUESTS" --no-prefill --quiet $EXTRA \
        | tee "$OUT/load.txt" | grep -E '^(requests|ops|throughput)' || true
fi
callgrind_control -i off "$PID" >/dev/null
redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
# SHUTDOWN closes the connection without a reply; wait for the exit itself.
for _ in $(seq 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
wait "$PID" || true
PID=""
FILE=callgrind.out.$KIND

# summarise MODE -- top 25 functions. callgrind_annotate lists cost per
# (source file, function); code inlined from another file shows up as a
# separate row under the same function. Exclusive costs are summed over
# those rows; for inclusive costs the rows nest, so the largest is taken.
summarise() {
    local mode=$1 inc=no agg=sum total
    [[ $mode == inclusive ]] && { inc=yes; agg=max; }
    total=$(callgrind_annotate --auto=no "$FILE" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    echo "== $KIND $mode Ir (total $total Ir, $((total / REQUESTS)) Ir per request; P$PIPELINE, $REQUESTS requests over $CONNS connections; ${RB:-ratio $RATIO, $KEYS keys $EXTRA})"
    printf '%14s %7s %8s  %s\n' Ir share Ir/req function
    callgrind_annotate --auto=no --threshold=100 --inclusive=$inc "$FILE" \
        | awk -v agg=$agg '
            /file:function/ { on = 1; next }
            on && /^ *[0-9,]+ \(/ {
                n = $1; gsub(",", "", n)
                f = $0; sub(/^ *[0-9,]+ \( *[0-9.]+%\) +/, "", f); sub(/^[^:]*:/, "", f); sub(/ \[.*\]$/, "", f)
                if (agg == "sum") s[f] += n; else if (n + 0 > s[f] + 0) s[f] = n + 0
            }
            END { for (f in s) print s[f] "\t" f }' \
        | grep -Ev $'\t(0x[0-9a-f]+|\\(below main\\)|__libc_start_main.*|main|std::sys::backtrace::__rust_begin_short_backtrace|redislite_server::main)$' \
        | sort -rn | awk "NR <= 25" \
        | awk -F'\t' -v t="$total" -v r="$REQUESTS" '{ printf "%14d %6.2f%% %8.0f  %s\n", $1, $1 * 100 / t, $1 / r, $2 }'
}
summarise exclusive | tee "$OUT/exclusive.txt"
echo
summarise inclusive | tee "$OUT/inclusive.txt"
echo
echo "raw profile: $OUT/$FILE (kcachegrind / callgrind_annotate)"
