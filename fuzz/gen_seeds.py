#!/usr/bin/env python3
"""Regenerate the fuzz seed corpus in fuzz/seeds/<target>/.

Usage: fuzz/gen_seeds.py [path/to/redislite-server]

The hand-written cases (malformed RESP, hostile lengths, non-UTF-8 bytes,
deep nesting) are written directly. The RDB and AOF samples are produced
by running the given redislite-server and Debian's redis-server on
127.0.0.1 ports 7840-7841 with a small script covering every type, in
both small (listpack/intset) and large (hashtable/skiplist) encodings.
Seeds are kept small (a few KB each): the fuzzer mutates from them.
"""
import os, random, shutil, socket, subprocess, sys, tempfile, time, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")
rng = random.Random(8)  # fixed: the corpus is reproducible


def put(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


# --- RESP: the request parser and the reply reader (3 cut bytes first) ---
resp_cases = {
    "multibulk": cmd("SET", "k", "v") + cmd("GET", "k"),
    "inline": b"PING\r\nSET a \"b c\"\r\n  \r\nGET 'a'\n",
    "missing_crlf": b"*3\r\n$3\r\nSET$1\r\na\r\n$1\r\nb",
    "missing_lf": b"*1\r$4\rPING\r",
    "invalid_lengths": b"*x\r\n$3\r\nGET\r\n*1\r\n$abc\r\nGET\r\n*1\r\n$+3\r\nGET\r\n",
    "negative_lengths": b"*-1\r\n*-5\r\n*1\r\n$-2\r\nab\r\n$-1\r\n",
    "length_mismatch": b"*2\r\n$3\r\nGETx\r\n$1\r\n\r\n*3\r\n$1\r\na\r\n",
    "huge_claim_1gb": b"*1\r\n$1073741824\r\nabc",
    "huge_count": b"*1073741824\r\n$1\r\na\r\n",
    "overflow_length": b"*1\r\n$99999999999999999999999\r\n",
    "non_utf8": cmd(b"SET", b"\xff\xfe\x00", b"\xc3\x28\xa0\xa1") + b"\xf0\x28\x8c\xbc \xff\r\n",
    "empty_arrays": b"*0\r\n*0\r\n*-1\r\n\r\n",
    "random_bytes": bytes(rng.randrange(256) for _ in range(200)),
    # Replies, for the reply reader (and as garbage for the request parser).
    "resp2_replies": b"+OK\r\n-ERR x\r\n:12\r\n$3\r\nabc\r\n$-1\r\n*-1\r\n$0\r\n\r\n",
    "resp3_replies": b"_\r\n,1.5\r\n#t\r\n(12345678901234567890\r\n=7\r\ntxt:abc\r\n!3\r\nbad\r\n%1\r\n+a\r\n:1\r\n~1\r\n:2\r\n|1\r\n+k\r\n+v\r\n+OK\r\n",
    "deep_resp3_nesting": b"*1\r\n%1\r\n~1\r\n>1\r\n" * 256 + b":1\r\n",
    "bulk_huge_claim_reply": b"$1073741824\r\nabc",
}
for name, body in resp_cases.items():
    put("resp_parser", name, bytes([7, 3, 1]) + body)

# --- commands: byte strings the decoder turns into argument vectors ---
for i in range(6):
    n = 16 << i % 4
    put("commands", "random_%d" % i, bytes(rng.randrange(256) for _ in range(n)))
for name in ("missing_crlf", "huge_claim_1gb", "non_utf8", "deep_resp3_nesting"):
    put("commands", name, resp_cases[name][:200])


def wait_port(port, deadline_s=10):
    end = time.time() + deadline_s
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server on %d did not start" % port)


def send(port, payload):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    s.close()


SCRIPT = b"".join([
    cmd("SET", "str", "hello"), cmd("SET", "int", "12345"),
    cmd("SET", "big", "x" * 100), cmd("SET", "ttl", "v", "PX", "100000000"),
    cmd("RPUSH", "list", "a", "b", "1", "-5"),
    cmd("RPUSH", "biglist", *["e%d" % i for i in range(200)]),
    cmd("HSET", "hash", "f", "v", "n", "1"),
    cmd("HSET", "bighash", *[x for i in range(140) for x in ("f%d" % i, "v")]),
    cmd("SADD", "intset", "1", "2", "300000", "-4"),
    cmd("SADD", "set", "a", "b", "c"),
    cmd("SADD", "bigset", *["m%d" % i for i in range(140)]),
    cmd("ZADD", "zset", "1", "a", "2.5", "b", "-inf", "c"),
    cmd("ZADD", "bigzset", *[x for i in range(140) for x in (str(i), "m%d" % i)]),
    cmd("SELECT", "3"), cmd("SET", "db3", "v"),
])


def run_server(argv, port, workdir, then):
    p = subprocess.Popen(argv, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        send(port, SCRIPT + cmd("SAVE"))
        then(port)
    finally:
        p.terminate()
        p.wait()


def nocrc(rdb):
    """The dump with a zero CRC-64 trailer (as written with `rdbchecksum
    no`): loaders skip the check, so a mutated body that still parses
    loads, and the fuzzers reach what runs after a successful load."""
    return rdb[:-8] + b"\x00" * 8


def aof_record(*cmds):
    """One AOF record: [u32 LE length][commands][u32 LE CRC32]."""
    payload = b"".join(cmds)
    return len(payload).to_bytes(4, "little") + payload + zlib.crc32(payload).to_bytes(4, "little")


def aof_hand_seeds():
    # Records of several commands (one per write(2), as the server writes
    # them), with a transaction inside; and a MULTI left open inside a
    # record, which the loader must refuse.
    put("aof_loader", "batched_records.aof",
        aof_record(cmd("SELECT", "0"), cmd("SET", "a", "1"), cmd("MULTI"), cmd("SET", "b", "2"),
                   cmd("EXEC")) + aof_record(cmd("DEL", "a")) + aof_record(cmd("INCR", "b")))
    put("aof_loader", "multi_open_mid_record.aof",
        aof_record(cmd("SELECT", "0")) + aof_record(cmd("SET", "a", "1"), cmd("MULTI"), cmd("SET", "b", "2")))


def seeds_from_servers(ours):
    # Debian's redis-server: the reference dump (listpack/intset/quicklist).
    if shutil.which("redis-server"):
        with tempfile.TemporaryDirectory() as d:
            run_server(["redis-server", "--port", "7840", "--bind", "127.0.0.1", "--save", "",
                        "--dir", d, "--appendonly", "no"], 7840, d, lambda p: None)
            ref = open(os.path.join(d, "dump.rdb"), "rb").read()
            put("rdb_loader", "redis_7_0_all_types.rdb", ref)
            put("rdb_loader", "redis_7_0_all_types_nocrc.rdb", nocrc(ref))
    if not ours:
        return
    with tempfile.TemporaryDirectory() as d:
        run_server([ours, "--port", "7841", "--dir", d, "--appendonly", "yes", "--save", ""],
                   7841, d, lambda p: None)
        rdb = open(os.path.join(d, "dump.rdb"), "rb").read()
        put("rdb_loader", "redislite_all_types.rdb", rdb)
        put("rdb_loader", "redislite_all_types_nocrc.rdb", nocrc(rdb))
        put("rdb_loader", "truncated.rdb", rdb[: len(rdb) // 2])
        put("rdb_loader", "bad_version.rdb", b"REDIS0999" + rdb[9:64])
        # A string whose length claims 1 GB (0x80 = 32-bit length follows).
        put("rdb_loader", "huge_string_claim.rdb",
            b"REDIS0010\xfe\x00\x00\x01k\x80\x40\x00\x00\x00abc")
        aofdir = os.path.join(d, "appendonlydir")
        aof = b""
        for f in sorted(os.listdir(aofdir)):
            if f.endswith(".incr.aof"):
                aof = open(os.path.join(aofdir, f), "rb").read()
        put("aof_loader", "all_types.aof", aof)
        put("aof_loader", "torn_tail.aof", aof[:-7])
        flipped = bytearray(aof)
        flipped[len(aof) // 2] ^= 0x40
        put("aof_loader", "bad_crc_mid_file.aof", bytes(flipped))
        put("aof_loader", "huge_length_claim.aof", b"\x00\x00\x00\x40" + cmd("PING"))
        put("aof_loader", "random_bytes.aof", bytes(rng.randrange(256) for _ in range(64)))
        aof_hand_seeds()
        # The replication stream: handshake replies, full resync, payload,
        # stream (two cut bytes first).
        rid = b"a" * 40
        hand = b"+PONG\r\n+OK\r\n+OK\r\n"
        stream = cmd("SELECT", "0") + cmd("SET", "r", "1") + cmd("INCR", "r") + b"\r\n" + cmd("PING")
        put("repl_stream", "full_resync", b"\x05\x00" + hand + b"+FULLRESYNC " + rid + b" 0\r\n\n\n$%d\r\n" % len(rdb) + rdb + stream)
        put("repl_stream", "full_resync_nocrc", b"\x05\x00" + hand + b"+FULLRESYNC " + rid + b" 0\r\n$%d\r\n" % len(rdb) + nocrc(rdb) + stream)
        put("repl_stream", "continue", b"\x03\x00" + hand + b"+CONTINUE " + rid + b"\r\n" + stream + b"*1\r\n$100\r\n")
        put("repl_stream", "huge_payload_claim", b"\x01\x00" + hand + b"+FULLRESYNC " + rid + b" 7\r\n$1073741824\r\nREDIS0010")
        put("repl_stream", "bad_payload", b"\x01\x00" + hand + b"+FULLRESYNC " + rid + b" 7\r\n$12\r\nREDIS0010\xff\x00\x00" + stream)
        put("repl_stream", "eof_marker", b"\x01\x00" + hand + b"+FULLRESYNC " + rid + b" 7\r\n$EOF:" + b"b" * 40 + b"\r\n")
        put("repl_stream", "errors", b"\x01\x00-ERR no\r\n")
        put("repl_stream", "negative_length", b"\x01\x00" + hand + b"+FULLRESYNC " + rid + b" 7\r\n$-1\r\n")


# --- Streams: redis-server builds them (RedisLite has no XADD here), ---
# --- RedisLite gets them by RESTORE; type 15 files are converted.    ---
STREAM_SCRIPT = b"".join(
    [cmd("XADD", "s", "%d-%d" % (1000 + i // 3, i % 3), "f", "v%d" % i, "n", str(i * 977))
     for i in range(130)]
    + [cmd("XADD", "s", "2000-0", "other", "x" * 40), cmd("XDEL", "s", "1000-1", "1010-2"),
       cmd("XGROUP", "CREATE", "s", "g1", "0"),
       cmd("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "s", ">"),
       cmd("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", "s", ">"),
       cmd("XGROUP", "CREATECONSUMER", "s", "g1", "idle"),
       cmd("XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "131"),
       cmd("XADD", "e", "5-1", "f", "v"), cmd("XDEL", "e", "5-1"),
       cmd("XGROUP", "CREATE", "m", "g", "$", "MKSTREAM"),
       cmd("XADD", "w", "1-5", "a", "1"), cmd("XADD", "w", "18446744073709551614-0", "b", "2")])
STREAM_KEYS = ["s", "e", "m", "w"]


def rdb_len(p, i):
    b = p[i]
    if b >> 6 == 0:
        return b & 0x3f, 1
    if b >> 6 == 1:
        return ((b & 0x3f) << 8) | p[i + 1], 2
    if b == 0x80:
        return int.from_bytes(p[i + 1:i + 5], "big"), 5
    return int.from_bytes(p[i + 1:i + 9], "big"), 9


def rdb_str_size(p, i):
    b = p[i]
    if b >> 6 == 3:
        if b & 0x3f == 3:
            clen, a = rdb_len(p, i + 1)
            _, b2 = rdb_len(p, i + 1 + a)
            return 1 + a + b2 + clen
        return {0: 2, 1: 3, 2: 5}[b & 0x3f]
    n, a = rdb_len(p, i)
    return a + n


def stream_body_15(p):
    """A type 19 stream body (after its type byte) as Redis 5/6's type 15:
    without first ID, max deleted ID, entries added and entries read."""
    out, i = bytearray(), 0
    def keep(n):
        nonlocal i
        out.extend(p[i:i + n]); i += n
    def skip_len():
        nonlocal i
        i += rdb_len(p, i)[1]
    nodes, a = rdb_len(p, i); keep(a)
    for _ in range(2 * nodes):
        keep(rdb_str_size(p, i))
    for _ in range(3):
        keep(rdb_len(p, i)[1])
    for _ in range(5):
        skip_len()
    groups, a = rdb_len(p, i); keep(a)
    for _ in range(groups):
        keep(rdb_str_size(p, i))
        keep(rdb_len(p, i)[1]); keep(rdb_len(p, i)[1])
        skip_len()
        pel, a = rdb_len(p, i); keep(a)
        for _ in range(pel):
            keep(24); keep(rdb_len(p, i)[1])
        consumers, a = rdb_len(p, i); keep(a)
        for _ in range(consumers):
            keep(rdb_str_size(p, i) + 8)
            ids, a = rdb_len(p, i); keep(a + 16 * ids)
    assert i == len(p), (i, len(p))
    return bytes(out)


def crc64(data):
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x95ac9329ac4bc9b5 if crc & 1 else crc >> 1
    return crc


def rdb_file(version, objects):
    """An RDB file of (key, type byte + body) in database 0."""
    body = b"REDIS%04d" % version + b"\xfe\x00"
    for key, obj in objects:
        body += obj[:1] + bytes([len(key)]) + key.encode() + obj[1:]
    body += b"\xff"
    return body + crc64(body).to_bytes(8, "little")


def request(port, *args):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(cmd(*args))
    f = s.makefile("rb")
    head = f.readline()
    data = f.read(int(head[1:])) if head.startswith(b"$") else head
    s.close()
    return data


def stream_seeds(ours):
    if not shutil.which("redis-server"):
        return
    payloads = {}
    def grab(port):
        for k in STREAM_KEYS:
            payloads[k] = request(port, "DUMP", k)
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.Popen(["redis-server", "--port", "7840", "--bind", "127.0.0.1", "--save", "",
                              "--dir", d, "--appendonly", "no"], cwd=d,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(7840)
            send(7840, STREAM_SCRIPT + cmd("SAVE"))
            grab(7840)
        finally:
            p.terminate()
            p.wait()
        ref = open(os.path.join(d, "dump.rdb"), "rb").read()
        put("rdb_loader", "redis_7_0_streams.rdb", ref)
        put("rdb_loader", "redis_7_0_streams_nocrc.rdb", nocrc(ref))
    v15 = [(k, b"\x0f" + stream_body_15(payloads[k][1:-10])) for k in STREAM_KEYS]
    put("rdb_loader", "redis_6_streams_type15.rdb", rdb_file(9, v15))
    put("rdb_loader", "redis_6_streams_type15_nocrc.rdb", nocrc(rdb_file(9, v15)))
    if not ours:
        return
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.Popen([ours, "--port", "7841", "--dir", d, "--save", ""], cwd=d,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(7841)
            send(7841, b"".join(cmd("RESTORE", k, "0", payloads[k]) for k in STREAM_KEYS)
                 + cmd("SAVE"))
        finally:
            p.terminate()
            p.wait()
        ours_rdb = open(os.path.join(d, "dump.rdb"), "rb").read()
        put("rdb_loader", "redislite_streams.rdb", ours_rdb)
        # Uncompressed listpacks without a checksum: mutations reach the
        # stream node checks instead of the CRC or LZF.
        put("rdb_loader", "redislite_streams_nocrc.rdb", nocrc(ours_rdb))


seeds_from_servers(sys.argv[1] if len(sys.argv) > 1 else None)
stream_seeds(sys.argv[1] if len(sys.argv) > 1 else None)
