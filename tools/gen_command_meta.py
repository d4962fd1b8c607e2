#!/usr/bin/env python3
"""Write src/commands/command_meta_data.rs from a running redis-server 7.0.

The command table's documentation side (COMMAND DOCS: complexity,
history, arguments, deprecation; COMMAND INFO: tips and key specs) is
Redis's interface documentation, which RedisLite must reproduce exactly
for redis-cli's help and hints and for cluster-aware clients. Rather
than retype ~400 entries, this script asks the reference server once and
writes them as Rust data. Run it by hand when the reference changes:

    redis-server --port 7399 --save '' &
    python3 tools/gen_command_meta.py 7399 > src/commands/command_meta_data.rs
    cargo fmt

What is taken per command and subcommand (by full name, `parent|sub`):
- docs: the value COMMAND DOCS gives for it in RESP3, minus
  `subcommands` (RedisLite lists its own subcommands from its table),
  kept as RESP3 bytes that command_meta.rs replays in either protocol;
- tips: COMMAND INFO's 8th element;
- key specs: COMMAND INFO's 9th element, as typed Rust values (COMMAND
  GETKEYSANDFLAGS interprets them).
"""
import socket
import sys


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def send(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)

    def _fill(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(1 << 20)
            if not d:
                raise EOFError
            self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill(len(self.buf) + 1)
        i = self.buf.index(b"\r\n")
        line, self.buf = self.buf[:i], self.buf[i + 2:]
        return line

    def read(self):
        """One reply: (raw bytes, type byte, value)."""
        line = self._line()
        t, rest = line[:1], line[1:]
        head = line + b"\r\n"
        if t in b"+-:,#_":
            return head, t, rest
        if t in b"$=":
            n = int(rest)
            self._fill(n + 2)
            d, self.buf = self.buf[:n], self.buf[n + 2:]
            return head + d + b"\r\n", t, d
        if t in b"*~%":
            n = int(rest) * (2 if t == b"%" else 1)
            items = [self.read() for _ in range(n)]
            return head + b"".join(r for r, _, _ in items), t, items
        raise ValueError(line)

    def cmd(self, *args):
        self.send(*args)
        return self.read()


def pairs(items):
    return [(items[i], items[i + 1]) for i in range(0, len(items), 2)]


def rust_bytes(b):
    out = []
    for ch in b:
        c = chr(ch)
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif c == "\r":
            out.append("\\r")
        elif c == "\n":
            out.append("\\n")
        elif 32 <= ch < 127:
            out.append(c)
        else:
            out.append("\\x%02x" % ch)
    return 'b"' + "".join(out) + '"'


def rust_str(b):
    return rust_bytes(b)[1:]


def docs_without_subcommands(item):
    """The RESP3 bytes of a docs map, its `subcommands` entry left out."""
    _, t, items = item
    assert t == b"%"
    kept = [(k, v) for k, v in pairs(items) if k[2] != b"subcommands"]
    return b"%%%d\r\n" % len(kept) + b"".join(k[0] + v[0] for k, v in kept)


def key_spec(item):
    fields = {k[2].decode(): v for k, v in pairs(item[2])}
    notes = fields["notes"][2] if "notes" in fields else b""
    flags = ", ".join(rust_str(f[2]) for f in fields["flags"][2])
    begin = {k[2].decode(): v for k, v in pairs(fields["begin_search"][2])}
    bspec = {k[2].decode(): v[2] for k, v in pairs(begin["spec"][2])}
    if begin["type"][2] == b"index":
        b = "Index(%d)" % int(bspec["index"])
    elif begin["type"][2] == b"keyword":
        b = "Keyword(%s, %d)" % (rust_str(bspec["keyword"]), int(bspec["startfrom"]))
    else:
        b = "UnknownBegin"
    find = {k[2].decode(): v for k, v in pairs(fields["find_keys"][2])}
    fspec = {k[2].decode(): int(v[2]) for k, v in pairs(find["spec"][2])}
    if find["type"][2] == b"range":
        f = "Range { lastkey: %d, keystep: %d, limit: %d }" % (
            fspec["lastkey"], fspec["keystep"], fspec["limit"])
    elif find["type"][2] == b"keynum":
        f = "Keynum { keynumidx: %d, firstkey: %d, keystep: %d }" % (
            fspec["keynumidx"], fspec["firstkey"], fspec["keystep"])
    else:
        f = "UnknownFind"
    return "KeySpec { notes: %s, flags: &[%s], begin: %s, find: %s }" % (
        rust_str(notes), flags, b, f)


def main():
    c = Conn(int(sys.argv[1]))
    c.cmd("HELLO", "3")
    _, _, version = c.cmd("INFO", "server")
    ver = [l for l in version.split(b"\r\n") if l.startswith(b"redis_version:")][0]
    entries = {}

    def add_info(item):
        e = item[2]
        name = e[0][2]
        entries.setdefault(name, {})
        entries[name]["tips"] = [t[2] for t in e[7][2]]
        entries[name]["specs"] = [key_spec(s) for s in e[8][2]]
        for sub in e[9][2]:
            add_info(sub)

    _, _, infos = c.cmd("COMMAND", "INFO")
    for item in infos:
        add_info(item)

    def add_docs(name, item):
        entries[name]["docs"] = docs_without_subcommands(item)
        for k, v in pairs(item[2]):
            if k[2] == b"subcommands":
                for sk, sv in pairs(v[2]):
                    add_docs(sk[2], sv)

    _, _, docs = c.cmd("COMMAND", "DOCS")
    for k, v in pairs(docs):
        add_docs(k[2], v)

    print("//! Generated by tools/gen_command_meta.py from redis-server %s's" % ver.split(b":")[1].decode())
    print("//! COMMAND INFO and COMMAND DOCS replies (Redis's interface documentation,")
    print("//! reproduced as its error texts are). Do not edit: rerun the script.")
    print("//! The types and their use are in command_meta.rs.")
    print()
    print("use super::command_meta::{BeginSearch::*, FindKeys::*, KeySpec, Meta};")
    print()
    print("/// Every command and subcommand of the reference server, by full name,")
    print("/// sorted (binary search).")
    print("#[rustfmt::skip]")
    print("pub static META: &[Meta] = &[")
    for name in sorted(entries):
        e = entries[name]
        print("    Meta {")
        print("        name: %s," % rust_str(name))
        print("        tips: &[%s]," % ", ".join(rust_str(t) for t in e["tips"]))
        print("        key_specs: &[")
        for s in e["specs"]:
            print("            %s," % s)
        print("        ],")
        print("        docs: %s," % rust_bytes(e["docs"]))
        print("    },")
    print("];")


main()
