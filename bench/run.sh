#!/usr/bin/env bash
# bench/run.sh -- RedisLite vs Debian's redis-server 7.0 on this machine.
#
# Usage:  make bench            (builds the static binary, then runs this)
#         bench/run.sh [PATH_TO_REDISLITE_SERVER]
#
# What it does, and why (see BENCHMARKS.md for the reading of the numbers):
#   * Starts one server at a time on a free loopback port, alternating
#     RedisLite / redis-server for BENCH_ROUNDS rounds, so slow drift of the
#     machine (other builds, thermal, noisy neighbours) hits both equally.
#   * Pins the server to CPU 1 and redis-benchmark to CPU 0 (`taskset`).
#     On a 2-core box the load generator saturates its own core first at
#     pipeline 1, so requests/s says more about redis-benchmark than about
#     the server. The primary figure is therefore the server's own CPU time
#     per request: utime+stime (fields 14+15 of /proc/<pid>/stat, whole
#     process, in clock ticks) sampled right before and right after each
#     redis-benchmark invocation, divided by the requests it sent.
#   * SET and GET are run as two redis-benchmark invocations with identical
#     options (redis-benchmark runs `-t set,get` one test after the other
#     anyway), so that server CPU can be attributed to each command. The
#     keyspace is flushed before each pipeline depth's SET test, so every
#     GET test sees the same hit ratio.
#   * Records binary size / shared-library count and idle RSS (VmRSS 1 s
#     after launch, no client has connected yet) plus peak RSS (VmHWM) after
#     the load.
#   * Writes the tables into BENCHMARKS.md between the bench markers
#     (everything outside the markers is left alone) and prints them.
#
# Every server is started by this script as a direct child and stopped by
# its pid (kill PID; wait PID), also on error or Ctrl-C (EXIT trap). Every
# load run is bounded by `timeout`.
#
# Knobs (environment), defaults in brackets -- the committed numbers use the
# defaults:
#   BENCH_ROUNDS [3]  BENCH_REQUESTS [1000000]  BENCH_KEYSPACE [1000000]
#   BENCH_PIPELINES ["1 16"]  BENCH_RUN_TIMEOUT_S [300]
#   BENCH_OUT [<repo>/BENCHMARKS.md; "-" = print only, write nothing]
#   REDIS_SERVER [/usr/bin/redis-server]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-target/x86_64-unknown-linux-gnu/release/redislite-server}
REDIS_BIN=${REDIS_SERVER:-/usr/bin/redis-server}
ROUNDS=${BENCH_ROUNDS:-3}
REQUESTS=${BENCH_REQUESTS:-1000000}
KEYSPACE=${BENCH_KEYSPACE:-1000000}
PIPELINES=${BENCH_PIPELINES:-1 16}
RUN_TIMEOUT_S=${BENCH_RUN_TIMEOUT_S:-300}
OUT_MD=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
DATA_BYTES=32
CLIENTS=50
SERVER_CPU=1
LOADGEN_CPU=0
START_TIMEOUT_S=10
STOP_TIMEOUT_S=10
MARK_START='<!-- bench:start -->'
MARK_END='<!-- bench:end -->'

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

# ---------------------------------------------------------------- preflight
# The binary path is relative to the repository root (that is how `make`
# passes it); resolve it before we move into the scratch directory.
if [[ $BIN != /* ]]; then
    [[ -e $BIN ]] || BIN=$ROOT/$BIN
fi
[[ -x $BIN ]] || die "RedisLite binary not found or not executable: $BIN (run make build)"
BIN=$(realpath -- "$BIN")
[[ -x $REDIS_BIN ]] || die "redis-server not found at $REDIS_BIN (apt-get install redis-server)"
for tool in taskset timeout redis-benchmark redis-cli getconf ldd awk sort; do
    command -v "$tool" >/dev/null || die "missing tool: $tool"
done
(( $(nproc) >= 2 )) || die "needs at least 2 CPUs (server on CPU $SERVER_CPU, load on CPU $LOADGEN_CPU)"
CLK_TCK=$(getconf CLK_TCK)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/redislite-bench.XXXXXX")
SERVER_PID=""
SERVER_PORT=""

stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    local pid=$SERVER_PID waited=0
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && (( waited < STOP_TIMEOUT_S * 10 )); do
        sleep 0.1
        waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid ignored SIGTERM for ${STOP_TIMEOUT_S}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    SERVER_PID=""
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_server
    rm -rf -- "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Servers write nothing (save '' / appendonly no), but run them in the
# scratch directory anyway so a stray dump.rdb never lands in the repo.
cd "$WORK"

# ---------------------------------------------------------------- helpers
# A port nobody listens on: the connect must fail.
free_port() {
    local p tries=0
    while (( tries < 200 )); do
        p=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
        tries=$((tries + 1))
    done
    die "no free port found"
}

# Is anything listening on 127.0.0.1:$1? Read /proc/net/tcp rather than
# connecting, so the idle-RSS sample really sees a server with no clients.
listening() {
    local hex
    hex=$(printf '%04X' "$1")
    grep -q "^ *[0-9]*: 0100007F:$hex 00000000:0000 0A" /proc/net/tcp
}

# "utime stime" of the whole process (all threads), in clock ticks.
# The comm field may contain spaces, so cut everything up to ") " first;
# then field 3 is index 0 and fields 14/15 are indexes 11/12.
cpu_ticks() {
    local stat f
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    read -r -a f <<<"$stat"
    echo "${f[11]} ${f[12]}"
}

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

commands_processed() {
    redis-cli -h 127.0.0.1 -p "$SERVER_PORT" info stats \
        | tr -d '\r' | awk -F: '$1 == "total_commands_processed" { print $2 }'
}

# start_server KIND ROUND -> sets SERVER_PID, SERVER_PORT, IDLE_RSS_KB
start_server() {
    local kind=$1 round=$2 bin port waited=0
    case $kind in
        redislite) bin=$BIN ;;
        redis) bin=$REDIS_BIN ;;
        *) die "unknown server kind $kind" ;;
    esac
    port=$(free_port)
    local t0; t0=$(date +%s%N)
    # taskset execs the server, so $! is the server's own pid.
    taskset -c "$SERVER_CPU" "$bin" --port "$port" --bind 127.0.0.1 \
        --save '' --appendonly no --daemonize no \
        >"$WORK/$kind.$round.log" 2>&1 &
    SERVER_PID=$!
    SERVER_PORT=$port
    until listening "$port"; do
        kill -0 "$SERVER_PID" 2>/dev/null \
            || { cat "$WORK/$kind.$round.log" >&2; die "$kind exited during startup"; }
        (( waited < START_TIMEOUT_S * 20 )) || die "$kind did not listen on $port within ${START_TIMEOUT_S}s"
        sleep 0.05
        waited=$((waited + 1))
    done
    # Idle RSS: 1 s after launch, before any client has connected.
    local now elapsed_ms
    now=$(date +%s%N)
    elapsed_ms=$(( (now - t0) / 1000000 ))
    (( elapsed_ms < 1000 )) && sleep "$(awk -v ms=$((1000 - elapsed_ms)) 'BEGIN { printf "%.3f", ms / 1000 }')"
    IDLE_RSS_KB=$(status_kb "$SERVER_PID" VmRSS)
    [[ $(redis-cli -h 127.0.0.1 -p "$port" ping) == PONG ]] || die "$kind on port $port does not answer PING"
}

# run_load KIND ROUND PIPELINE TEST -> appends a line to $WORK/runs.tsv
run_load() {
    local kind=$1 round=$2 pipeline=$3 test=$4 out rps u0 s0 u1 s1 t0 t1 cmd0 cmd1 load1
    cmd0=$(commands_processed)
    load1=$(cut -d' ' -f1 /proc/loadavg)
    read -r u0 s0 < <(cpu_ticks "$SERVER_PID")
    t0=$(date +%s%N)
    out=$(timeout "$RUN_TIMEOUT_S" taskset -c "$LOADGEN_CPU" redis-benchmark \
        -h 127.0.0.1 -p "$SERVER_PORT" -t "$test" -n "$REQUESTS" -r "$KEYSPACE" \
        -d "$DATA_BYTES" -c "$CLIENTS" -P "$pipeline" --csv) \
        || die "redis-benchmark ($kind, P$pipeline, $test) failed or exceeded ${RUN_TIMEOUT_S}s"
    t1=$(date +%s%N)
    read -r u1 s1 < <(cpu_ticks "$SERVER_PID")
    cmd1=$(commands_processed)
    rps=$(awk -F'"' -v t="${test^^}" '$2 == t { print $4 }' <<<"$out")
    [[ -n $rps ]] || die "no $test result in redis-benchmark output: $out"
    # The server's own counter must agree that it served the requests
    # (+ redis-benchmark's CONFIG GET and our INFO).
    (( cmd1 - cmd0 >= REQUESTS )) \
        || die "$kind served only $((cmd1 - cmd0)) commands for $REQUESTS $test requests"
    local us_per_req wall_s utime=$((u1 - u0)) stime=$((s1 - s0))
    us_per_req=$(awk -v d=$((utime + stime)) -v hz="$CLK_TCK" -v n="$REQUESTS" 'BEGIN { printf "%.3f", d / hz * 1e6 / n }')
    wall_s=$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", ns / 1e9 }')
    # Columns: kind round pipeline test rps cpu_ticks us/req wall_s
    #          loadavg utime_ticks stime_ticks sys_share
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$kind" "$round" "$pipeline" "${test^^}" "$rps" "$((utime + stime))" "$us_per_req" "$wall_s" "$load1" \
        "$utime" "$stime" "$(awk -v u="$utime" -v s="$stime" 'BEGIN { printf "%.2f", (u + s) ? s / (u + s) : 0 }')" \
        >>"$WORK/runs.tsv"
    log "$(printf '%-9s round %s P%-2s %-3s %12s req/s  %7s us CPU/req  %6ss  (load %s)' \
        "$kind" "$round" "$pipeline" "${test^^}" "$rps" "$us_per_req" "$wall_s" "$load1")"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# median of column $1 of runs.tsv for kind/pipeline/test
runs_median() {
    awk -F'\t' -v k="$1" -v p="$2" -v t="$3" -v c="$4" '$1 == k && $3 == p && $4 == t { print $c }' "$WORK/runs.tsv" | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
fmt_int() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }

# Shared libraries as ldd lists them (the vDSO is not a file; skip it).
shared_libs() { { ldd "$1" 2>/dev/null || true; } | grep '\.so' | grep -vc 'linux-vdso' || true; }
shared_libs_bytes() {
    { ldd "$1" 2>/dev/null || true; } | awk '/=>/ && $3 ~ /^\// { print $3 } !/=>/ && $1 ~ /^\// { print $1 }' \
        | while read -r lib; do stat -L -c %s "$lib"; done | awk '{ s += $1 } END { print s + 0 }'
}

# ---------------------------------------------------------------- run
: >"$WORK/runs.tsv"
: >"$WORK/rss.tsv"
BENCH_T0=$(date +%s)
log "RedisLite: $BIN"
log "redis-server: $REDIS_BIN ($("$REDIS_BIN" --version | awk '{ print $3 }'))"
log "$ROUNDS rounds x {redislite, redis} x P{$PIPELINES} x {SET, GET}, -n $REQUESTS -r $KEYSPACE -d $DATA_BYTES -c $CLIENTS"
for round in $(seq 1 "$ROUNDS"); do
    for kind in redislite redis; do
        start_server "$kind" "$round"
        for pipeline in $PIPELINES; do
            [[ $(redis-cli -h 127.0.0.1 -p "$SERVER_PORT" flushall) == OK ]] || die "$kind: FLUSHALL failed"
            run_load "$kind" "$round" "$pipeline" set
            run_load "$kind" "$round" "$pipeline" get
        done
        printf '%s\t%s\t%s\t%s\n' "$kind" "$round" "$IDLE_RSS_KB" "$(status_kb "$SERVER_PID" VmHWM)" >>"$WORK/rss.tsv"
        stop_server
    done
done
BENCH_T1=$(date +%s)

# ---------------------------------------------------------------- report
rss_median() { awk -F'\t' -v k="$1" -v c="$2" '$1 == k { print $c }' "$WORK/rss.tsv" | median; }
p1_wall_s=$(awk -F'\t' '$3 == 1 { s += $8 } END { printf "%.0f", s }' "$WORK/runs.tsv")
rl_size=$(stat -L -c %s "$BIN")
rd_size=$(stat -L -c %s "$REDIS_BIN")
rl_libs=$(shared_libs "$BIN")
rd_libs=$(shared_libs "$REDIS_BIN")
rl_libs_bytes=$(shared_libs_bytes "$BIN")
rd_libs_bytes=$(shared_libs_bytes "$REDIS_BIN")
rl_idle=$(rss_median redislite 3)
rd_idle=$(rss_median redis 3)
rl_peak=$(rss_median redislite 4)
rd_peak=$(rss_median redis 4)
commit=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)

{
    echo "$MARK_START"
    echo "<!-- Generated by bench/run.sh; edits between these markers are overwritten by \`make bench\`. -->"
    echo
    echo "### Run"
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); RedisLite commit \`$commit\`; redis-server $("$REDIS_BIN" --version | awk '{ print $3, $6 }')"
    echo "- Load: \`redis-benchmark -t set|get -n $REQUESTS -r $KEYSPACE -d $DATA_BYTES -c $CLIENTS -P {$(echo "$PIPELINES" | tr ' ' ',')} --csv\`, $ROUNDS rounds alternating RedisLite / redis-server, server on CPU $SERVER_CPU, redis-benchmark on CPU $LOADGEN_CPU; figures are medians of the $ROUNDS runs"
    echo "- Wall time: $((BENCH_T1 - BENCH_T0)) s in total, of which ${p1_wall_s} s in the pipeline-1 runs; CLK_TCK = $CLK_TCK"
    echo "- Machine: \`nproc\` = $(nproc), kernel $(uname -r)"
    echo
    echo '```'
    echo '$ lscpu | head'
    lscpu | sed -n '1,10p'
    echo '```'
    echo
    echo "### Throughput and server CPU per request (medians)"
    echo
    echo "| Pipeline | Command | RedisLite req/s | redis-server req/s | req/s ratio RL/redis | RedisLite CPU µs/req | redis-server CPU µs/req | CPU ratio RL/redis |"
    echo "|---:|:---|---:|---:|---:|---:|---:|---:|"
    for pipeline in $PIPELINES; do
        for test in SET GET; do
            rl_rps=$(runs_median redislite "$pipeline" "$test" 5)
            rd_rps=$(runs_median redis "$pipeline" "$test" 5)
            rl_cpu=$(runs_median redislite "$pipeline" "$test" 7)
            rd_cpu=$(runs_median redis "$pipeline" "$test" 7)
            echo "| $pipeline | $test | $(fmt_int "$rl_rps") | $(fmt_int "$rd_rps") | $(ratio "$rl_rps" "$rd_rps") | $rl_cpu | $rd_cpu | $(ratio "$rl_cpu" "$rd_cpu") |"
        done
    done
    echo
    echo "CPU ratio < 1 means RedisLite spends less of its own CPU per request than redis-server."
    echo
    echo "### Where the server CPU goes: kernel share (stime / (utime+stime), medians)"
    echo
    echo "| Pipeline | Command | RedisLite | redis-server |"
    echo "|---:|:---|---:|---:|"
    for pipeline in $PIPELINES; do
        for test in SET GET; do
            echo "| $pipeline | $test | $(runs_median redislite "$pipeline" "$test" 12) | $(runs_median redis "$pipeline" "$test" 12) |"
        done
    done
    echo
    echo "The kernel share is the server's syscalls and the loopback TCP stack working on its behalf; the user share is parsing, dispatch, keyspace and reply encoding. The total utime+stime is exact (the kernel scales it to the scheduler's runtime), but the split between them is tick-sampled: read it as a rough indication at P1 and not at all at P16, where a few hundred ticks can all land in user mode (strace shows one recvfrom and one sendto per 16 requests there)."
    echo
    echo "### Footprint"
    echo
    echo "| | RedisLite | redis-server | ratio RL/redis |"
    echo "|:---|---:|---:|---:|"
    echo "| Binary size (bytes) | $rl_size | $rd_size | $(ratio "$rl_size" "$rd_size") |"
    echo "| Shared libraries (\`ldd\`, without vDSO) | $rl_libs | $rd_libs | |"
    echo "| Binary + its shared libraries (bytes) | $((rl_size + rl_libs_bytes)) | $((rd_size + rd_libs_bytes)) | $(ratio $((rl_size + rl_libs_bytes)) $((rd_size + rd_libs_bytes))) |"
    echo "| Idle RSS, 1 s after start, no clients (KiB, median) | $rl_idle | $rd_idle | $(ratio "$rl_idle" "$rd_idle") |"
    echo "| Peak RSS (VmHWM) after the load above (KiB, median) | $rl_peak | $rd_peak | $(ratio "$rl_peak" "$rd_peak") |"
    echo
    echo "RedisLite: \`$(realpath --relative-to="$ROOT" "$BIN" 2>/dev/null || echo "$BIN")\`; redis-server: \`$(realpath "$REDIS_BIN")\` (via \`$REDIS_BIN\`)."
    echo
    echo "<details><summary>All runs</summary>"
    echo
    echo "| Server | Round | Pipeline | Command | req/s | server CPU ticks (user+sys) | CPU µs/req | wall s | loadavg(1m) before |"
    echo "|:---|---:|---:|:---|---:|---:|---:|---:|---:|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s (%s+%s) | %s | %s | %s |\n", ($1 == "redis" ? "redis-server" : "RedisLite"), $2, $3, $4, $5, $6, $10, $11, $7, $8, $9 }' "$WORK/runs.tsv"
    echo
    echo "The load average includes the benchmark itself (server + redis-benchmark, about 2); more than that means other work was running on the machine."
    echo
    echo "</details>"
    echo
    echo "$MARK_END"
} >"$WORK/block.md"

cat "$WORK/block.md"

if [[ $OUT_MD == - ]]; then
    log "BENCH_OUT=-: not writing a file"
elif [[ -f $OUT_MD ]] && grep -qF "$MARK_START" "$OUT_MD" && grep -qF "$MARK_END" "$OUT_MD"; then
    awk -v s="$MARK_START" -v e="$MARK_END" -v blk="$WORK/block.md" '
        $0 == s { while ((getline line < blk) > 0) print line; skip = 1; next }
        $0 == e { skip = 0; next }
        !skip { print }' "$OUT_MD" >"$WORK/out.md"
    cat "$WORK/out.md" >"$OUT_MD"
    log "updated $OUT_MD"
else
    { [[ -f $OUT_MD ]] && cat "$OUT_MD" && echo; echo "## Results"; echo; cat "$WORK/block.md"; } >"$WORK/out.md"
    cat "$WORK/out.md" >"$OUT_MD"
    log "wrote results to $OUT_MD (markers were missing; appended a new section)"
fi
