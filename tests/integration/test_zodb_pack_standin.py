"""The ZEO stand-in itself: for the inputs of the recordings from a real ZEO 6.0 server it
produces the recorded bytes, offline (its encoder) and live (over TCP and a Unix socket)."""
import json
import os
import socket
import struct
import sys
import tempfile
import unittest

import harness
import tap

sys.path.insert(0, os.path.join(harness.SRCDIR, "tests", "zeo"))
import zeo_standin  # noqa: E402

DATA = os.path.join(harness.DATA, "zeo")


def recording(name):
    with open(os.path.join(DATA, name + ".jsonl")) as f:
        return [(d["from"], bytes.fromhex(d["frame_hex"])) for d in map(json.loads, f)]


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def recv_frame(s):
    (n,) = struct.unpack(">I", recv_exact(s, 4))
    return recv_exact(s, n)


class Offline(unittest.TestCase):
    def setUp(self):
        self.pack = [f for who, f in recording("pack-success") if who == "server"]
        self.nosuch = [f for who, f in recording("register-unknown-storage") if who == "server"]

    def test_register_reply_is_recorded_bytes(self):
        self.assertEqual(zeo_standin.encode_reply(1, zeo_standin.RECORDED_TID), self.pack[1])

    def test_get_info_reply_is_recorded_bytes(self):
        st = zeo_standin.parse_storage("1")
        self.assertEqual(zeo_standin.encode_reply(2, zeo_standin.info_dict(st)), self.pack[2])

    def test_info_message_is_recorded_bytes(self):
        self.assertEqual(zeo_standin.encode_info(2, 10301), self.pack[3])

    def test_pack_reply_is_recorded_bytes(self):
        self.assertEqual(zeo_standin.encode_reply(3, None), self.pack[4])

    def test_unknown_storage_error_is_recorded_bytes(self):
        self.assertEqual(zeo_standin.encode_error(1, "builtins.ValueError", ("unknown storage: nosuch",)),
                         self.nosuch[1])


class Live(unittest.TestCase):
    """Replays the recorded client frames against the running stand-in."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="zeo-standin-")

    def tearDown(self):
        import shutil
        shutil.rmtree(self.tmp, ignore_errors=True)

    def replay(self, name, zeo, family):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(60)
        if family == socket.AF_UNIX:
            s.connect(zeo.address)
        else:
            host, port = zeo.address.rsplit(":", 1)
            s.connect((host, int(port)))
        with s:
            for who, data in recording(name):
                if who == "client":
                    s.sendall(struct.pack(">I", len(data)) + data)
                else:
                    self.assertEqual(recv_frame(s).hex(), data.hex())

    def test_pack_session_tcp(self):
        with zeo_standin.Process() as zeo:
            self.replay("pack-success", zeo, socket.AF_INET)

    def test_pack_session_unix(self):
        with zeo_standin.Process(unix=os.path.join(self.tmp, "zeo.sock")) as zeo:
            self.replay("pack-success", zeo, socket.AF_UNIX)

    def test_unknown_storage_session(self):
        with zeo_standin.Process() as zeo:
            self.replay("register-unknown-storage", zeo, socket.AF_INET)

    def test_size_shrinks_on_pack_and_calls_are_recorded(self):
        rec = os.path.join(self.tmp, "calls.jsonl")
        with zeo_standin.Process(["--storage", "1:5000000:4000"], record=rec) as zeo:
            host, port = zeo.address.rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=60) as s:
                self.assertEqual(recv_frame(s), b"Z5")
                for data in (b"Z5", zeo_standin.encode(1, False, "register", ("1", 1)),
                             zeo_standin.encode(2, False, "get_info", ())):
                    s.sendall(struct.pack(">I", len(data)) + data)
                self.assertEqual(zeo_standin.decode(recv_frame(s))[3], zeo_standin.RECORDED_TID)
                self.assertEqual(zeo_standin.decode(recv_frame(s))[3]["size"], 5000000)
                data = zeo_standin.encode(3, False, "pack", (1.0, True))
                s.sendall(struct.pack(">I", len(data)) + data)
                self.assertEqual(zeo_standin.decode(recv_frame(s)), (0, True, "info", ({"length": 2, "size": 4000},)))
                self.assertEqual(zeo_standin.decode(recv_frame(s)), (3, 0, ".reply", None))
            self.assertEqual([c["call"] for c in zeo.calls()], ["handshake", "register", "get_info", "pack"])


if __name__ == "__main__":
    tap.main()
