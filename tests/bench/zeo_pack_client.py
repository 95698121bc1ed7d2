#!/usr/bin/env python3
"""A minimal ZEO 5 pack client in the Python standard library: the stand-in for `zeopack` in the
zodb_pack benchmark, because ZODB and ZEO (which ship zeopack) are not in Debian 12's archive.

It sends what zeopack sends (tests/data/zeo/README.md: answer the Z5 greeting, register(NAME,
True), get_info(), pack(time, True), then wait for the pack's reply, skipping asynchronous
messages) and nothing else. The real zeopack also imports ZODB, ZEO, transaction, persistent
and zope.interface and runs an asyncio client thread, so its CPU is higher than this; a ratio
against this client is a lower bound on the ratio against zeopack.

    zeo_pack_client.py HOST:PORT|/unix/path [STORAGE]
"""
import io
import pickle
import socket
import struct
import sys
import time


def send(sock, msgid, name, args):
    f = io.BytesIO()
    p = pickle.Pickler(f, 3)
    p.fast = 1
    p.dump((msgid, False, name, args))
    data = f.getvalue()
    sock.sendall(struct.pack(">I", len(data)) + data)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
    return buf


def recv(sock):
    (n,) = struct.unpack(">I", recv_exact(sock, 4))
    return recv_exact(sock, n)


class Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError("global %s.%s refused" % (module, name))


def call(sock, msgid, name, args):
    send(sock, msgid, name, args)
    while True:
        mid, flag, _name, result = Unpickler(io.BytesIO(recv(sock))).load()
        if mid == msgid and not flag:
            return result
        if mid == msgid and flag == 2:
            raise RuntimeError("%s failed: %r" % (name, result))


def main():
    address = sys.argv[1]
    storage = sys.argv[2] if len(sys.argv) > 2 else "1"
    if address.startswith("/"):
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(address)
    else:
        host, port = address.rsplit(":", 1)
        sock = socket.create_connection((host, int(port)))
    if recv(sock) != b"Z5":
        sys.exit("not a ZEO 5 server")
    sock.sendall(struct.pack(">I", 2) + b"Z5")
    call(sock, 1, "register", (storage, True))
    call(sock, 2, "get_info", ())
    call(sock, 3, "pack", (time.time(), True))
    sock.close()


if __name__ == "__main__":
    main()
