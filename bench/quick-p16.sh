#!/bin/bash
# usage: bench/quick-p16.sh BIN lite|redis  (run alternately, e.g. twice each)
# quick P16 CPU/request check: server on CPU1, load on CPU0
BIN=$1; NAME=$2
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if [ "$NAME" = redis ]; then taskset -c 1 redis-server --port $PORT --save '' --appendonly no >/dev/null 2>&1 & else taskset -c 1 $BIN --port $PORT --save '' >/dev/null 2>&1 & fi
PID=$!
for i in $(seq 50); do redis-cli -p $PORT ping >/dev/null 2>&1 && break; sleep 0.1; done
TCK=$(getconf CLK_TCK)
for t in set get; do
  a=$(awk '{print $14+$15}' /proc/$PID/stat)
  out=$(taskset -c 0 redis-benchmark -p $PORT -t $t -n 1000000 -r 1000000 -d 32 -c 50 -P 16 -q 2>/dev/null | tr '\r' '\n' | grep -i "requests per second" | tail -1)
  b=$(awk '{print $14+$15}' /proc/$PID/stat)
  us=$(python3 -c "print(round(($b-$a)/$TCK*1e6/1000000,3))")
  echo "$NAME $t cpu_us_per_req=$us $out"
done
kill $PID; wait $PID 2>/dev/null
