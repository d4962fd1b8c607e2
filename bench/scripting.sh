#!/usr/bin/env bash
# bench/scripting.sh -- server CPU per EVALSHA next to redis-server's, in
# the same run. Not part of `make bench`.
#
# usage: bench/scripting.sh [ROUNDS] [REQUESTS]
#
# For each round and each server (RedisLite's release build, then
# Debian's redis-server; alternating), pinned to CPU 1 with the load on
# CPU 0: start it on a free port with no persistence, SCRIPT LOAD the
# scripts below, run redis-benchmark (50 connections, pipeline 16,
# REQUESTS requests, 100k random keys) once per script, and read the
# server's utime+stime (/proc/PID/stat, all threads) around each run.
# Prints ns of server CPU per request for every run, then the medians
# and the RedisLite/redis-server ratio per script.
#
# Scripts: `get` = return redis.call('get', KEYS[1]);
#          `set` = redis.call('set', KEYS[1], ARGV[1]) return 1;
#          `ret` = return 1 (the fixed cost of running a script).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${1:-3}
N=${2:-400000}
OURS=${OURS:-$ROOT/target/x86_64-unknown-linux-gnu/release/redislite-server}
THEIRS=${THEIRS:-/usr/bin/redis-server}
PORT=${PORT:-7930}
TICK=$(getconf CLK_TCK)
declare -A SCRIPTS=(
    [get]="return redis.call('get', KEYS[1])"
    [set]="redis.call('set', KEYS[1], ARGV[1]) return 1"
    [ret]="return 1"
)
RESULTS=$(mktemp)
DIR=$(mktemp -d /tmp/bench_scripting.XXXXXX)
cleanup() { if [[ -n ${SP:-} ]]; then kill "$SP" 2>/dev/null; wait "$SP" 2>/dev/null || true; fi; rm -rf "$DIR"; }
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_server() { # name bin
    local name=$1 bin=$2
    (cd "$DIR" && exec taskset -c 1 "$bin" --port "$PORT" --save '' --appendonly no >/dev/null 2>&1) &
    SP=$!
    for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
    for s in get set ret; do
        sha=$(redis-cli -p "$PORT" script load "${SCRIPTS[$s]}")
        redis-cli -p "$PORT" set key:000000000001 x >/dev/null
        before=$(cpu_ticks "$SP")
        taskset -c 0 redis-benchmark -p "$PORT" -c 50 -P 16 -n "$N" -r 100000 -q \
            EVALSHA "$sha" 1 key:__rand_int__ vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv >/dev/null
        after=$(cpu_ticks "$SP")
        ns=$(( (after - before) * 1000000000 / TICK / N ))
        echo "$name $s $ns" | tee -a "$RESULTS"
    done
    kill "$SP"; wait "$SP" 2>/dev/null || true; SP=
}

for _ in $(seq "$ROUNDS"); do
    run_server redislite "$OURS"
    run_server redis "$THEIRS"
done

echo "median ns of server CPU per request (pipeline 16, 50 clients):"
for s in get set ret; do
    o=$(awk -v s=$s '$1=="redislite" && $2==s {print $3}' "$RESULTS" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    t=$(awk -v s=$s '$1=="redis" && $2==s {print $3}' "$RESULTS" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    awk -v s=$s -v o="$o" -v t="$t" 'BEGIN { printf "  %-4s redislite %5d  redis-server %5d  ratio %.2f\n", s, o, t, o / t }'
done
rm -f "$RESULTS"
