#!/usr/bin/env python3
# Longest event-loop stall of a master during one full sync of 1M keys.
# Usage: bench/fullsync-stall.py <redislite-server binary> [master port] [replica port]
# Loads 1,000,000 SET key:%012d (32-byte values) with redis-cli --pipe,
# runs a PING loop on one connection while a replica (--replicaof) does
# its full sync, prints the worst PING round trip and LATENCY LATEST.
import socket, subprocess, sys, time, os, threading
binary = sys.argv[1]
MP = int(sys.argv[2]) if len(sys.argv) > 2 else 7940
RP = int(sys.argv[3]) if len(sys.argv) > 3 else 7941
d = "/tmp/fullsync-stall-%d" % MP; os.makedirs(d, exist_ok=True)
def start(port, extra):
    return subprocess.Popen([binary, "--port", str(port), "--save", "", "--dir", d, "--latency-monitor-threshold", "1", "--repl-diskless-sync-delay", "0"] + extra, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
def cli(port, *a):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(a), capture_output=True, text=True).stdout
m = start(MP, [])
time.sleep(0.5)
def gen():
    out = []
    v = b"v" * 32
    for i in range(1_000_000):
        k = b"key:%012d" % i
        out.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
    return b"".join(out)
subprocess.run(["redis-cli", "-p", str(MP), "--pipe"], input=gen(), capture_output=True)
print("dbsize", cli(MP, "DBSIZE").strip())
cli(MP, "LATENCY", "RESET")
stop = False; worst = [0.0]; count = [0]
def pinger():
    s = socket.create_connection(("127.0.0.1", MP))
    while not stop:
        t = time.perf_counter(); s.sendall(b"PING\r\n"); s.recv(64)
        worst[0] = max(worst[0], time.perf_counter() - t); count[0] += 1
th = threading.Thread(target=pinger); th.start()
time.sleep(0.3)
t0 = time.time()
r = start(RP, ["--replicaof", "127.0.0.1", str(MP)])
while "master_link_status:up" not in cli(RP, "INFO", "replication"):
    time.sleep(0.01)
sync_s = time.time() - t0
time.sleep(0.3); stop = True; th.join()
print("sync_seconds %.2f" % sync_s)
print("worst_ping_ms %.1f over %d pings" % (worst[0] * 1000, count[0]))
print("LATENCY LATEST:\n" + cli(MP, "LATENCY", "LATEST"))
print("latest_fork_usec", [l for l in cli(MP, "INFO", "stats").splitlines() if "fork" in l])
r.terminate(); m.terminate(); r.wait(); m.wait()
