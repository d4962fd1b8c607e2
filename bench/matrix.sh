#!/usr/bin/env bash
# bench/matrix.sh -- the standard matrix of issue 8, RedisLite side by side
# with Debian's redis-server, driven by our own load generator
# (redislite-benchmark) and cross-checked once with redis-benchmark.
#
# usage: bench/matrix.sh [REDISLITE_SERVER] [REDISLITE_BENCHMARK]
#        (make bench passes the static release binaries)
#
# Sections (M_SECTIONS selects, default all):
#   a  80/20 GET/SET, M_CONNS connections, M_KEYS keys, 32-byte values,
#      pipeline 1 and 16, uniform keys
#   b  the same with Zipf 0.99 keys
#   c  SET only, appendfsync everysec and always (and no persistence),
#      pipeline 1; no persistence and everysec also at pipeline 16
#   d  bytes per key for M_KEYS keys (bench/memory.sh)
#   e  restart time loading M_KEYS keys from the snapshot and from the log
#   f  an 80/20 pipeline-1 load while a BGSAVE of M_KEYS keys runs:
#      p99.9, longest stall (the slowest request), fork time, peak memory
#   x  cross-check of (a)'s settings with redis-benchmark (GET only and SET
#      only, one round), next to our tool with the same settings
#
# Method: one server at a time on a free loopback port, pinned to CPU 1
# (taskset); the load generator on CPU 0. Rounds alternate RedisLite /
# redis-server; tables show medians over the rounds. The server's CPU per
# request is utime+stime of its pid over the measured window
# (redislite-benchmark --server-pid). Every load is bounded by `timeout`;
# every server is started here as a direct child and stopped by its pid.
#
# Knobs (environment), defaults in brackets (the committed tables use them):
#   M_ROUNDS [3]  M_KEYS [1000000]  M_DURATION [10] (seconds per measured
#   window)  M_CONNS [50]  M_SECTIONS ["a b c d e f x"]
#   M_OUT [<repo>/BENCHMARKS.md; "-" = print the tables only]
#   REDIS_SERVER [/usr/bin/redis-server]
# Quick smoke run: M_ROUNDS=1 M_KEYS=20000 M_DURATION=1 M_OUT=- bench/matrix.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')
BIN=${1:-$ROOT/target/$TARGET/release/redislite-server}
LOAD=${2:-$ROOT/target/$TARGET/release/redislite-benchmark}
REDIS_BIN=${REDIS_SERVER:-/usr/bin/redis-server}
ROUNDS=${M_ROUNDS:-3}
KEYS=${M_KEYS:-1000000}
DUR=${M_DURATION:-10}
CONNS=${M_CONNS:-50}
SECTIONS=${M_SECTIONS:-a b c d e f x}
OUT_MD=${M_OUT:-$ROOT/BENCHMARKS.md}
VALUE=32
SERVER_CPU=1
LOADGEN_CPU=0
MARK_START='<!-- matrix:start -->'
MARK_END='<!-- matrix:end -->'
# A measured window may not take longer than this (the tool stops itself
# at --duration; this only catches a wedged run).
RUN_TIMEOUT_S=$((DUR * 3 + 120))

die() { echo "matrix: $*" >&2; exit 1; }
log() { echo "matrix: $(date -u +%H:%M:%S) $*" >&2; }

for f in "$BIN" "$LOAD" "$REDIS_BIN"; do
    [[ -x $f ]] || die "not executable: $f (run make build)"
done
BIN=$(realpath -- "$BIN")
LOAD=$(realpath -- "$LOAD")
for tool in taskset timeout redis-cli redis-benchmark python3 awk; do
    command -v "$tool" >/dev/null || die "missing tool: $tool"
done
(($(nproc) >= 2)) || die "needs 2 CPUs (server on CPU $SERVER_CPU, load on CPU $LOADGEN_CPU)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/redislite-matrix.XXXXXX")
SERVER_PID=""
SERVER_PORT=""
SAMPLER_PID=""
LOAD_PID=""

stop_pid() { # pid -- TERM, wait up to 10 s, then KILL
    local pid=$1 n=0
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && ((n < 100)); do sleep 0.1; n=$((n + 1)); done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    stop_pid "$SERVER_PID"
    SERVER_PID=""
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [[ -n $LOAD_PID ]] && stop_pid "$LOAD_PID"
    [[ -n $SAMPLER_PID ]] && stop_pid "$SAMPLER_PID"
    stop_server
    [[ -n ${M_KEEP:-} ]] && echo "matrix: kept $WORK" >&2 || rm -rf -- "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$WORK"

free_port() {
    local p tries=0
    while ((tries < 200)); do
        # Below the ephemeral range (32768+), where client sockets live.
        p=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
        tries=$((tries + 1))
    done
    die "no free port"
}

# start_server KIND DIR [extra args...]: KIND is redislite or redis. Waits
# until the server answers PING (not LOADING); sets SERVER_PID/SERVER_PORT
# and START_MS (ms from exec to the first PONG).
start_server() {
    local kind=$1 dir=$2 bin port t0 n attempt
    shift 2
    case $kind in redislite) bin=$BIN ;; redis) bin=$REDIS_BIN ;; *) die "kind $kind" ;; esac
    mkdir -p "$dir"
    # A port found free can be taken before the server binds it (other
    # people's tests run here too): try another one, a few times.
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        t0=$(date +%s%N)
        taskset -c "$SERVER_CPU" "$bin" --port "$port" --bind 127.0.0.1 --dir "$dir" \
            --save '' --daemonize no --auto-aof-rewrite-percentage 0 "$@" \
            >>"$dir/server.log" 2>&1 &
        SERVER_PID=$!
        SERVER_PORT=$port
        n=0
        until [[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]]; do
            if ! kill -0 "$SERVER_PID" 2>/dev/null; then
                wait "$SERVER_PID" 2>/dev/null || true
                SERVER_PID=""
                grep -qi 'address already in use' "$dir/server.log" && continue 2
                tail -5 "$dir/server.log" >&2
                die "$kind exited during startup"
            fi
            ((n < 600 * 100)) || die "$kind not ready within 600 s"
            sleep 0.01
            n=$((n + 1))
        done
        START_MS=$((($(date +%s%N) - t0) / 1000000))
        return 0
    done
    die "$kind: no usable port after 5 attempts"
}

rcli() { redis-cli -p "$SERVER_PORT" "$@" | tr -d '\r'; }
info_field() { rcli info "$1" | awk -F: -v k="$2" '$1 == k { print $2 }'; }

# load ARGS... -> JSON report of one measured window on stdout
load() {
    timeout "$RUN_TIMEOUT_S" taskset -c "$LOADGEN_CPU" "$LOAD" --port "$SERVER_PORT" \
        --connections "$CONNS" --keys "$KEYS" --value-size "$VALUE" \
        --server-pid "$SERVER_PID" --json --quiet "$@"
}

# prefill: SET every key once (the tool's warm-up), no measured window.
prefill() {
    timeout "$RUN_TIMEOUT_S" taskset -c "$LOADGEN_CPU" "$LOAD" --port "$SERVER_PORT" \
        --connections "$CONNS" --keys "$KEYS" --value-size "$VALUE" --ratio 0:100 \
        --requests 1 --json --quiet >/dev/null
}

ROWS=$WORK/rows.tsv # section kind round label key value
: >"$ROWS"
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$ROWS"; }

# record SECTION KIND ROUND LABEL JSON: ops/s, latency and CPU of one window
record() {
    local sec=$1 kind=$2 round=$3 label=$4 json=$5
    python3 - "$json" <<'PY' | while IFS=$'\t' read -r k v; do row "$sec" "$kind" "$round" "$label" "$k" "$v"; done
import json, sys
r = json.loads(sys.argv[1])
l = r["latency_us"]
raw = r["raw_latency_us"]
vals = {
    "ops": r.get("ops_per_sec"),
    "p50": l["p50"], "p99": l["p99"], "p999": l["p99_9"], "max": raw["max"],
    "cpu": r.get("server_cpu_us_per_request"),
    "errors": r.get("errors", 0),
}
for k, v in vals.items():
    print(f"{k}\t{v}")
PY
}

LOADAVG_LOG=$WORK/loadavg.txt
: >"$LOADAVG_LOG"
note_load() { echo "$1 $(cut -d' ' -f1-3 /proc/loadavg)" >>"$LOADAVG_LOG"; }

has() { [[ " $SECTIONS " == *" $1 "* ]]; }
T_START=$(date +%s)

# ------------------------------------------------------------- (a) and (b)
if has a || has b; then
    for round in $(seq "$ROUNDS"); do
        for kind in redislite redis; do
            note_load "ab $kind $round"
            log "(a/b) $kind round $round"
            start_server "$kind" "$WORK/ab.$kind.$round"
            prefill
            for dist in uniform zipf; do
                [[ $dist == uniform ]] && ! has a && continue
                [[ $dist == zipf ]] && ! has b && continue
                for p in 1 16; do
                    sec=a; [[ $dist == zipf ]] && sec=b
                    j=$(load --ratio 80:20 --pipeline "$p" --dist "$dist" --duration "$DUR" --no-prefill) \
                        || die "load failed ($kind $dist P$p)"
                    record "$sec" "$kind" "$round" "P$p" "$j"
                done
            done
            stop_server
            rm -rf "$WORK/ab.$kind.$round"
        done
    done
fi

# --------------------------------------------------------------------- (c)
if has c; then
    for round in $(seq "$ROUNDS"); do
        for kind in redislite redis; do
            for mode in none everysec always; do
                note_load "c $kind $round $mode"
                log "(c) $kind round $round $mode"
                dir=$WORK/c.$kind.$round.$mode
                if [[ $mode == none ]]; then
                    start_server "$kind" "$dir" --appendonly no
                else
                    start_server "$kind" "$dir" --appendonly yes --appendfsync "$mode"
                fi
                pipes="1 16"
                [[ $mode == always ]] && pipes="1"
                for p in $pipes; do
                    j=$(load --ratio 0:100 --pipeline "$p" --duration "$DUR" --no-prefill) \
                        || die "load failed ($kind $mode P$p)"
                    record c "$kind" "$round" "$mode P$p" "$j"
                done
                stop_server
                rm -rf "$dir"
            done
        done
    done
fi

# --------------------------------------------------------------------- (d)
if has d; then
    log "(d) bench/memory.sh"
    note_load "d"
    N=$KEYS "$ROOT/bench/memory.sh" "$BIN" | while read -r name workload used rss; do
        row d "${name/redis-server/redis}" 1 "$workload" used "$used"
        row d "${name/redis-server/redis}" 1 "$workload" rss "$rss"
    done
fi

# --------------------------------------------------------------------- (e)
if has e; then
    for round in $(seq "$ROUNDS"); do
        for kind in redislite redis; do
            note_load "e $kind $round"
            log "(e) $kind round $round"
            # Snapshot: fill, SAVE, stop, time the restart.
            dir=$WORK/e.$kind.$round.rdb
            start_server "$kind" "$dir" --appendonly no
            prefill
            [[ $(rcli save) == OK ]] || die "SAVE failed ($kind)"
            stop_server
            start_server "$kind" "$dir" --appendonly no
            [[ $(rcli dbsize) == "$KEYS" ]] || die "$kind loaded $(rcli dbsize) keys from the snapshot, not $KEYS"
            row e "$kind" "$round" rdb ms "$START_MS"
            row e "$kind" "$round" rdb bytes "$(du -b "$dir/dump.rdb" | cut -f1)"
            stop_server
            rm -rf "$dir"
            # Log: fill with the log on (no rewrite: auto-rewrite is off),
            # stop, time the replay of every SET.
            dir=$WORK/e.$kind.$round.aof
            start_server "$kind" "$dir" --appendonly yes --appendfsync everysec
            prefill
            stop_server
            start_server "$kind" "$dir" --appendonly yes --appendfsync everysec
            [[ $(rcli dbsize) == "$KEYS" ]] || die "$kind loaded $(rcli dbsize) keys from the log, not $KEYS"
            row e "$kind" "$round" aof ms "$START_MS"
            row e "$kind" "$round" aof bytes "$(du -sb "$dir" | cut -f1)"
            stop_server
            rm -rf "$dir"
        done
    done
fi

# --------------------------------------------------------------------- (f)
# Peak memory of the server and its BGSAVE child together, as the sum of
# their proportional set sizes (Pss counts a copy-on-write page shared by
# parent and child once, split between them); the parent's own VmHWM too.
pss_kb() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
sampler() { # pid outfile: peak Pss(parent + children), every 20 ms, until the pid ends
    local pid=$1 out=$2 peak=0 sum c
    while kill -0 "$pid" 2>/dev/null; do
        sum=$(pss_kb "$pid")
        for c in $(cat "/proc/$pid/task/$pid/children" 2>/dev/null); do
            sum=$((sum + $(pss_kb "$c")))
        done
        ((sum > peak)) && { peak=$sum; echo "$peak" >"$out"; }
        sleep 0.02
    done
}
if has f; then
    for round in $(seq "$ROUNDS"); do
        for kind in redislite redis; do
            note_load "f $kind $round"
            log "(f) $kind round $round"
            dir=$WORK/f.$kind.$round
            start_server "$kind" "$dir" --appendonly no
            prefill
            base_pss=$(pss_kb "$SERVER_PID")
            sampler "$SERVER_PID" "$WORK/peak" &
            SAMPLER_PID=$!
            load --ratio 80:20 --pipeline 1 --duration "$DUR" --no-prefill >"$WORK/f.json" &
            LOAD_PID=$!
            sleep 2
            t0=$(date +%s%N)
            rcli bgsave >/dev/null
            n=0
            while [[ $(info_field persistence rdb_bgsave_in_progress) != 0 ]]; do
                ((n < 6000)) || die "BGSAVE did not finish within 60 s ($kind)"
                sleep 0.01
                n=$((n + 1))
            done
            bgsave_ms=$((($(date +%s%N) - t0) / 1000000))
            wait "$LOAD_PID" || die "load failed during BGSAVE ($kind)"
            LOAD_PID=""
            [[ $(info_field persistence rdb_last_bgsave_status) == ok ]] || die "BGSAVE failed ($kind)"
            record f "$kind" "$round" bgsave "$(cat "$WORK/f.json")"
            row f "$kind" "$round" bgsave bgsave_ms "$bgsave_ms"
            row f "$kind" "$round" bgsave fork_us "$(info_field stats latest_fork_usec)"
            row f "$kind" "$round" bgsave base_pss_kb "$base_pss"
            row f "$kind" "$round" bgsave hwm_kb "$(awk '/VmHWM/ { print $2 }' "/proc/$SERVER_PID/status")"
            stop_pid "$SAMPLER_PID"
            SAMPLER_PID=""
            row f "$kind" "$round" bgsave peak_pss_kb "$(cat "$WORK/peak" 2>/dev/null || echo 0)"
            rm -f "$WORK/peak"
            stop_server
            rm -rf "$dir"
        done
    done
fi

# --------------------------------------------------------------------- (x)
# One round: (a)'s settings, GET only and SET only (redis-benchmark cannot
# mix), redis-benchmark next to our tool, against both servers.
if has x; then
    for kind in redislite redis; do
        note_load "x $kind"
        log "(x) $kind"
        start_server "$kind" "$WORK/x.$kind" --appendonly no
        prefill
        for p in 1 16; do
            n=$((p == 1 ? 300000 : 2000000))
            n=$((n < KEYS * 2 ? n : KEYS * 2))
            for t in get set; do
                out=$(timeout "$RUN_TIMEOUT_S" taskset -c "$LOADGEN_CPU" redis-benchmark -p "$SERVER_PORT" \
                    -t "$t" -n "$n" -r "$KEYS" -d "$VALUE" -c "$CONNS" -P "$p" --csv) \
                    || die "redis-benchmark failed ($kind $t P$p)"
                row x "$kind" 1 "$t P$p" rb_ops "$(awk -F'"' -v t="${t^^}" '$2 == t { print $4 }' <<<"$out")"
                ratio=100:0
                [[ $t == set ]] && ratio=0:100
                j=$(load --ratio "$ratio" --pipeline "$p" --duration "$DUR" --no-prefill) || die "load failed"
                record x "$kind" 1 "$t P$p" "$j"
            done
        done
        stop_server
        rm -rf "$WORK/x.$kind"
    done
fi
WALL=$(($(date +%s) - T_START))

# ------------------------------------------------------------------ report
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || COMMIT="$COMMIT-dirty"
REDIS_VER=$("$REDIS_BIN" --version | grep -o 'v=[0-9.]*')
TABLES=$WORK/tables.md
python3 - "$ROWS" "$LOADAVG_LOG" "$ROUNDS" "$KEYS" "$DUR" "$CONNS" "$WALL" "$COMMIT" "$REDIS_VER" >"$TABLES" <<'PY'
import sys, statistics, datetime
from collections import defaultdict
rows_file, load_file, rounds, keys, dur, conns, wall, commit, rver = sys.argv[1:]
d = defaultdict(list)  # (sec, kind, label, key) -> [values]
for line in open(rows_file):
    sec, kind, rnd, label, k, v = line.rstrip("\n").split("\t")
    try:
        d[(sec, kind, label, k)].append(float(v))
    except ValueError:
        pass
def med(sec, kind, label, k):
    v = d.get((sec, kind, label, k))
    return statistics.median(v) if v else None
def f(x, nd=0):
    if x is None: return "–"
    if nd == 0: return f"{x:,.0f}".replace(",", " ")
    return f"{x:.{nd}f}"
def ratio(a, b, nd=2):
    if a is None or b is None or b == 0: return "–"
    return f"{a / b:.{nd}f}"
def runs(sec, kind, label, k, nd):
    v = d.get((sec, kind, label, k)) or []
    return ", ".join(f(x, nd) for x in v)
loads = [l.split() for l in open(load_file)]
mins = [float(l[-3]) for l in loads] if loads else [0]
out = []
p = out.append
p(f"- Date: {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC; RedisLite commit `{commit}`; redis-server {rver}")
p(f"- {rounds} round(s) alternating RedisLite / redis-server; {keys} keys, 32-byte values, {conns} connections, "
  f"{dur} s per measured window; server on CPU 1, load on CPU 0; medians over the rounds; wall time {wall} s")
p(f"- 1-minute load average before each server start: min {min(mins):.2f}, median {statistics.median(mins):.2f}, "
  f"max {max(mins):.2f} (this benchmark itself accounts for about 2)")
p("")
def latency_table(sec, title):
    if not any(k[0] == sec for k in d): return
    p(f"#### {title}")
    p("")
    p("| Pipeline | RL ops/s | redis ops/s | ops ratio | RL CPU µs/req | redis CPU µs/req | **CPU ratio** | RL p50/p99/p99.9 µs | redis p50/p99/p99.9 µs | RL CPU µs/req, all rounds | redis CPU µs/req, all rounds |")
    p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|:--|:--|")
    for lab in ("P1", "P16"):
        a = lambda kind, k: med(sec, kind, lab, k)
        p(f"| {lab[1:]} | {f(a('redislite','ops'))} | {f(a('redis','ops'))} | {ratio(a('redislite','ops'), a('redis','ops'))} "
          f"| {f(a('redislite','cpu'),3)} | {f(a('redis','cpu'),3)} | **{ratio(a('redislite','cpu'), a('redis','cpu'))}** "
          f"| {f(a('redislite','p50'))} / {f(a('redislite','p99'))} / {f(a('redislite','p999'))} "
          f"| {f(a('redis','p50'))} / {f(a('redis','p99'))} / {f(a('redis','p999'))} "
          f"| {runs(sec,'redislite',lab,'cpu',3)} | {runs(sec,'redis',lab,'cpu',3)} |")
    p("")
latency_table("a", "(a) 80/20 GET/SET, uniform keys")
latency_table("b", "(b) 80/20 GET/SET, Zipf 0.99 keys")
if any(k[0] == "c" for k in d):
    p("#### (c) SET only, persistence")
    p("")
    p("| Persistence | Pipeline | RL ops/s | redis ops/s | **ops ratio** | RL CPU µs/req | redis CPU µs/req | CPU ratio | RL p99 µs | redis p99 µs |")
    p("|:--|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for lab in ("none P1", "everysec P1", "always P1", "none P16", "everysec P16"):
        m, pp = lab.split()
        a = lambda kind, k: med("c", kind, lab, k)
        p(f"| {m} | {pp[1:]} | {f(a('redislite','ops'))} | {f(a('redis','ops'))} | **{ratio(a('redislite','ops'), a('redis','ops'))}** "
          f"| {f(a('redislite','cpu'),3)} | {f(a('redis','cpu'),3)} | {ratio(a('redislite','cpu'), a('redis','cpu'))} "
          f"| {f(a('redislite','p99'))} | {f(a('redis','p99'))} |")
    p("")
    for pp in ("P1", "P16"):
        for kind, name in (("redislite", "RedisLite"), ("redis", "redis-server")):
            e, n = med("c", kind, f"everysec {pp}", "cpu"), med("c", kind, f"none {pp}", "cpu")
            if e and n:
                p(f"- {name} {pp}: appendfsync everysec costs {100 * (e / n - 1):+.0f}% CPU per request versus no persistence ({f(e,3)} vs {f(n,3)} µs).")
    p("")
if any(k[0] == "d" for k in d):
    p("#### (d) Bytes per key (bench/memory.sh)")
    p("")
    p("| Workload | RL used_memory/key | redis used_memory/key | ratio | RL RSS/key | redis RSS/key | **RSS ratio** |")
    p("|:--|--:|--:|--:|--:|--:|--:|")
    for w in ("strings", "hashes"):
        a = lambda kind, k: med("d", kind, w, k)
        p(f"| {w} | {f(a('redislite','used'))} B | {f(a('redis','used'))} B | {ratio(a('redislite','used'), a('redis','used'))} "
          f"| {f(a('redislite','rss'))} B | {f(a('redis','rss'))} B | **{ratio(a('redislite','rss'), a('redis','rss'))}** |")
    p("")
if any(k[0] == "e" for k in d):
    p("#### (e) Restart time with the keys on disk (exec to first PONG, dataset loaded)")
    p("")
    p("| Source | RL ms | redis ms | **ratio** | RL file bytes | redis file bytes | RL ms, all rounds | redis ms, all rounds |")
    p("|:--|--:|--:|--:|--:|--:|:--|:--|")
    for lab, name in (("rdb", "snapshot (dump.rdb)"), ("aof", "log (appendonly, every SET)")):
        a = lambda kind, k: med("e", kind, lab, k)
        p(f"| {name} | {f(a('redislite','ms'))} | {f(a('redis','ms'))} | **{ratio(a('redislite','ms'), a('redis','ms'))}** "
          f"| {f(a('redislite','bytes'))} | {f(a('redis','bytes'))} | {runs('e','redislite',lab,'ms',0)} | {runs('e','redis',lab,'ms',0)} |")
    p("")
if any(k[0] == "f" for k in d):
    p("#### (f) 80/20 load (pipeline 1) while a BGSAVE runs")
    p("")
    p("| | RedisLite | redis-server | ratio RL/redis |")
    p("|:--|--:|--:|--:|")
    for k, name, nd in (("p999", "p99.9 latency over the window (µs)", 0), ("p99", "p99 latency (µs)", 0),
                        ("max", "longest stall: slowest request (µs)", 0), ("fork_us", "fork (latest_fork_usec)", 0),
                        ("bgsave_ms", "BGSAVE duration (ms, polled)", 0), ("ops", "ops/s over the window", 0),
                        ("base_pss_kb", "server Pss before BGSAVE (KiB)", 0),
                        ("peak_pss_kb", "peak Pss, server + BGSAVE child (KiB)", 0),
                        ("hwm_kb", "server VmHWM after (KiB)", 0)):
        a, b = med("f", "redislite", "bgsave", k), med("f", "redis", "bgsave", k)
        p(f"| {name} | {f(a, nd)} | {f(b, nd)} | {ratio(a, b)} |")
    p("")
    p(f"All rounds, p99.9 µs: RedisLite {runs('f','redislite','bgsave','p999',0)}; redis-server {runs('f','redis','bgsave','p999',0)}. "
      f"Slowest request µs: RedisLite {runs('f','redislite','bgsave','max',0)}; redis-server {runs('f','redis','bgsave','max',0)}.")
    p("")
if any(k[0] == "x" for k in d):
    p("#### (x) Cross-check with redis-benchmark (one round, GET only / SET only, otherwise (a)'s settings)")
    p("")
    p("| Test | Server | redis-benchmark ops/s | redislite-benchmark ops/s | ratio ours/theirs |")
    p("|:--|:--|--:|--:|--:|")
    for lab in ("get P1", "set P1", "get P16", "set P16"):
        for kind, name in (("redislite", "RedisLite"), ("redis", "redis-server")):
            rb, ours = med("x", kind, lab, "rb_ops"), med("x", kind, lab, "ops")
            p(f"| {lab.upper()} | {name} | {f(rb)} | {f(ours)} | {ratio(ours, rb)} |")
    p("")
print("\n".join(out))
PY

cat "$TABLES"
if [[ $OUT_MD != - ]]; then
    python3 - "$OUT_MD" "$TABLES" "$MARK_START" "$MARK_END" <<'PY'
import sys
md, tables, start, end = sys.argv[1:]
text = open(md).read()
body = open(tables).read()
i, j = text.find(start), text.find(end)
if i < 0 or j < i:
    sys.exit(f"markers {start} / {end} not found in {md}")
new = text[: i + len(start)] + "\n<!-- Generated by bench/matrix.sh; edits between these markers are overwritten. -->\n\n" + body + text[j:]
open(md, "w").write(new)
PY
    log "tables written to $OUT_MD"
fi
