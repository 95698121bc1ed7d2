#!/usr/bin/env python3
"""A ZEO 5 server stand-in for opsagent's zodb_pack tests (test code only, stdlib only).

It speaks the wire protocol of a ZEO 6.0 server with a FileStorage, as recorded in
tests/data/zeo/: 4-byte big-endian length framing, the greeting, pickle protocol 3 without
memo (Python's own pickler with fast=1, as ZEO's marshal does), register/get_info/pack, the
asynchronous `info` message before the pack's reply, exception replies (flag 2) as
(class name, args). For the same inputs it produces the recorded bytes (test_zodb_pack_standin.py
checks this). The storage's size shrinks when it is packed.

Misbehaviours, one per option, for the tests:
  --greeting Z4|Z3101|M5    greet as an older (or msgpack) server
  --already-packing         pack() raises FileStorageError('Already packing')
  --pack-delay SECONDS      pack slowly
  --noise                   send info/invalidateTransaction before every reply and during packs
  --close-mid-pack          close the connection after pack() arrives, without a reply
  --garbage greeting|reply  raw garbage instead of the greeting, or a garbage frame as reply
  --absurd-length           answer register() with a frame header announcing ~4 GiB
  --silent                  accept connections and never say anything
  --flood N                 send N invalidateTransaction messages before the pack's reply
                            (for benchmarks of the client's message handling)

Listens on --tcp HOST:PORT (port 0: any; 127.0.0.1 only) or --unix PATH, prints
"READY <address>" on stdout, and appends every call it receives to --record FILE (JSON lines).
"""
import argparse
import io
import json
import os
import pickle
import socket
import socketserver
import signal
import struct
import subprocess
import sys
import threading
import time

RECORDED_TID = b'\x04\r/\x863\xa5\xd4f'
RECORDED_NAME = '/srv/plone/var/filestorage/Data.fs'
INTERFACES = (
    ('ZODB.interfaces', 'IStorageRestoreable'),
    ('ZODB.interfaces', 'IStorageIteration'),
    ('ZODB.interfaces', 'IStorageUndoable'),
    ('ZODB.interfaces', 'IStorageCurrentRecordIteration'),
    ('ZODB.interfaces', 'IExternalGC'),
    ('ZODB.interfaces', 'IStorage'),
    ('zope.interface', 'Interface'),
)
MAX_FRAME = 1 << 20


def encode(msgid, flag, name, args):
    """A message as ZEO's server marshal pickles it: protocol 3, no memo."""
    f = io.BytesIO()
    p = pickle.Pickler(f, 3)
    p.fast = 1
    p.dump((msgid, flag, name, args))
    return f.getvalue()


def encode_reply(msgid, result):
    return encode(msgid, 0, '.reply', result)


def encode_error(msgid, exc_class, args):
    """(msgid, 2, '.reply', ('module.Class', args)) as ZEO 6 sends exceptions."""
    return encode(msgid, 2, '.reply', (exc_class, tuple(args)))


def encode_info(length, size):
    return encode(0, True, 'info', ({'length': length, 'size': size},))


def encode_invalidation(tid, oids):
    return encode(0, True, 'invalidateTransaction', (tid, list(oids)))


def info_dict(storage):
    """get_info()'s reply, keys in the order the recorded server sent them."""
    return {
        'length': storage.length,
        'size': storage.size,
        'name': storage.path,
        'supportsUndo': True,
        'supports_record_iternext': True,
        'interfaces': INTERFACES,
    }


def frame(payload):
    return struct.pack('>I', len(payload)) + payload


class SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError('global %s.%s refused' % (module, name))


def decode(data):
    return SafeUnpickler(io.BytesIO(data)).load()


class Storage:
    def __init__(self, name, size, packed_size, length=201, packed_length=2, path=RECORDED_NAME, delay=None):
        self.name = name
        self.delay = delay              # seconds a pack takes (None: --pack-delay)
        self.size = size
        self.packed_size = packed_size
        self.length = length
        self.packed_length = packed_length
        self.path = path
        self.tid = RECORDED_TID
        self.packing = False
        self.packs = 0


def parse_storage(spec):
    """NAME[:SIZE[:PACKED_SIZE[:PACK_SECONDS]]]"""
    parts = spec.split(':')
    name = parts[0]
    size = int(parts[1]) if len(parts) > 1 and parts[1] else 2059566
    packed = int(parts[2]) if len(parts) > 2 and parts[2] else 10301
    delay = float(parts[3]) if len(parts) > 3 and parts[3] else None
    return Storage(name, size, packed, delay=delay)


def jsonable(v):
    if isinstance(v, bytes):
        return {'bytes': v.hex()}
    if isinstance(v, (tuple, list)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    return v


class Handler(socketserver.BaseRequestHandler):
    def setup(self):
        self.opts = self.server.opts
        self.sock = self.request
        self.wlock = threading.Lock()
        self.storage = None
        if self.sock.family in (socket.AF_INET, socket.AF_INET6):
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, payload):
        with self.wlock:
            self.sock.sendall(frame(payload))

    def recv_exact(self, n):
        buf = b''
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError('client closed')
            buf += chunk
        return buf

    def recv_frame(self):
        (n,) = struct.unpack('>I', self.recv_exact(4))
        if n > MAX_FRAME:
            raise ConnectionError('client frame too long')
        return self.recv_exact(n)

    def record(self, what, **kw):
        path = self.opts.record
        if not path:
            return
        kw['call'] = what
        kw['time'] = time.time()
        with self.server.state_lock, open(path, 'a') as f:
            f.write(json.dumps(jsonable(kw)) + '\n')

    def noise(self):
        if self.opts.noise:
            self.send(encode_invalidation(RECORDED_TID, [b'\0' * 7 + b'\1']))
            st = self.storage or self.server.storages[0]
            self.send(encode_info(st.length, st.size))

    def handle(self):
        opts = self.opts
        try:
            if opts.silent:
                while self.sock.recv(4096):
                    pass
                return
            if opts.garbage == 'greeting':
                self.sock.sendall(b'\xde\xad\xbe\xef garbage, not ZEO\r\n' * 4)
                time.sleep(0.5)
                return
            self.send(opts.greeting.encode())
            answer = self.recv_frame()
            self.record('handshake', answer=answer.decode('latin-1'))
            if answer not in (b'Z5', b'M5'):
                return
            self.noise()
            while True:
                data = self.recv_frame()
                msgid, flag, name, args = decode(data)
                self.record(name, msgid=msgid, args=args)
                if not self.dispatch(msgid, name, args):
                    return
        except (ConnectionError, OSError, EOFError, pickle.UnpicklingError):
            return

    def dispatch(self, msgid, name, args):
        """False: close the connection (as the real server does on protocol errors)."""
        opts = self.opts
        if self.storage is None and name != 'register':
            return False
        if name == 'register':
            storage_name, _read_only = args
            st = self.server.find(storage_name)
            if opts.garbage == 'reply':
                self.send(b'\x80\x03(K\x01\xde\xad\xbe\xef garbage')
                return True
            if opts.absurd_length:
                with self.wlock:
                    self.sock.sendall(struct.pack('>I', 0xfffffff0) + b'\x80\x03')
                time.sleep(0.5)
                return False
            if st is None:
                self.noise()
                self.send(encode_error(msgid, 'builtins.ValueError',
                                       ('unknown storage: %s' % storage_name,)))
                return True
            self.storage = st
            self.noise()
            self.send(encode_reply(msgid, st.tid))
            return True
        if name == 'get_info':
            self.noise()
            with self.server.state_lock:
                reply = info_dict(self.storage)
            self.send(encode_reply(msgid, reply))
            return True
        if name == 'lastTransaction':
            self.send(encode_reply(msgid, self.storage.tid))
            return True
        if name == 'pack':
            return self.pack(msgid, args)
        return False  # unknown method: the real server closes without a reply

    def pack(self, msgid, args):
        opts = self.opts
        st = self.storage
        with self.server.state_lock:
            busy = st.packing or opts.already_packing
            if not busy:
                st.packing = True
        if busy:
            self.noise()
            self.send(encode_error(msgid, 'ZODB.FileStorage.FileStorage.FileStorageError',
                                   ('Already packing',)))
            return True
        try:
            if opts.close_mid_pack:
                self.noise()
                time.sleep(0.1)
                return False
            if opts.read_only:
                self.send(encode_error(msgid, 'ZODB.POSException.ReadOnlyError', ()))
                return True
            deadline = time.time() + (st.delay if st.delay is not None else opts.pack_delay)
            while time.time() < deadline:
                time.sleep(min(0.1, max(0.0, deadline - time.time())))
                if opts.noise:
                    self.noise()
            if opts.flood:
                inval = frame(encode_invalidation(RECORDED_TID, [b'\0' * 7 + b'\1'] * 10))
                batch = inval * 1000
                left = opts.flood
                with self.wlock:
                    while left > 0:
                        n = min(left, 1000)
                        self.sock.sendall(batch if n == 1000 else inval * n)
                        left -= n
            with self.server.state_lock:
                st.size = st.packed_size
                st.length = st.packed_length
                st.packs += 1
                info = encode_info(st.length, st.size)
            self.send(info)
            self.noise()
            self.send(encode_reply(msgid, None))
            return True
        finally:
            with self.server.state_lock:
                st.packing = False


class ServerMixin:
    daemon_threads = True
    allow_reuse_address = True

    def setup_state(self, opts):
        self.opts = opts
        self.state_lock = threading.Lock()
        self.storages = [parse_storage(s) for s in (opts.storage or ['1'])]

    def find(self, name):
        for st in self.storages:
            if st.name == name:
                return st
        return None


class TCPServer(ServerMixin, socketserver.ThreadingTCPServer):
    pass


class UnixServer(ServerMixin, socketserver.ThreadingUnixStreamServer):
    pass


class Process:
    """For tests: runs the stand-in as a child process; `address` is where it listens.

        with zeo_standin.Process(['--noise'], unix=path) as zeo: ... zeo.address ...
    """

    def __init__(self, args=(), unix=None, record=None):
        argv = [sys.executable, '-B', os.path.abspath(__file__)] + list(args)
        argv += ['--unix', unix] if unix else ['--tcp', '127.0.0.1:0']
        if record:
            argv += ['--record', record]
        self.record_path = record
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith('READY '):
            self.close()
            raise RuntimeError('zeo stand-in did not start: %r' % line)
        self.address = line.split(' ', 1)[1].strip()

    def calls(self):
        """The calls received so far, as recorded with --record."""
        if not self.record_path or not os.path.exists(self.record_path):
            return []
        with open(self.record_path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--tcp', help='HOST:PORT (127.0.0.1 only; port 0 = any)')
    ap.add_argument('--unix', help='Unix socket path')
    ap.add_argument('--storage', action='append', help='NAME[:SIZE[:PACKED_SIZE[:PACK_SECONDS]]] (default 1)')
    ap.add_argument('--greeting', default='Z5')
    ap.add_argument('--already-packing', action='store_true')
    ap.add_argument('--read-only', action='store_true', help='answer pack() with ReadOnlyError()')
    ap.add_argument('--pack-delay', type=float, default=0.0)
    ap.add_argument('--noise', action='store_true')
    ap.add_argument('--close-mid-pack', action='store_true')
    ap.add_argument('--garbage', choices=['greeting', 'reply'])
    ap.add_argument('--absurd-length', action='store_true')
    ap.add_argument('--silent', action='store_true')
    ap.add_argument('--flood', type=int, default=0)
    ap.add_argument('--record', help='append received calls to this file (JSON lines)')
    opts = ap.parse_args(argv)

    if opts.unix:
        if os.path.exists(opts.unix):
            os.unlink(opts.unix)
        server = UnixServer(opts.unix, Handler, bind_and_activate=True)
        address = opts.unix
    else:
        host, _, port = (opts.tcp or '127.0.0.1:0').rpartition(':')
        if host not in ('127.0.0.1', 'localhost'):
            ap.error('the stand-in listens on 127.0.0.1 only')
        server = TCPServer(('127.0.0.1', int(port)), Handler)
        address = '127.0.0.1:%d' % server.server_address[1]
    server.setup_state(opts)
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=server.shutdown).start())
    print('READY %s' % address, flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if opts.unix and os.path.exists(opts.unix):
            os.unlink(opts.unix)


if __name__ == '__main__':
    sys.exit(main())
