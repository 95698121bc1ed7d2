"""Shared fixtures of the log shipper's integration tests (`opsagent logs`, issue 19): one AWS
stand-in per test class (moto behind the SigV4-checking front, reset before each test), a fresh
sandbox per test, the shipper as a service (its own session, so kill9() reaches all of it) or
`--once`, and checks of what CloudWatch Logs accepted against the numbered lines written.

The contract with the C side is /work/wt/LOGS-SPEC.md (in the tree: docs and the man page)."""
import json
import os
import signal
import subprocess
import sys

import harness
from logrotate_helper import kill9, trial_seed, wait_for  # noqa: F401  (re-exported)
from standin.aws_standin import AwsStandin, SECRET_ACCESS_KEY  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
WRITER = os.path.join(HERE, "logrotate_writer.py")
STATE = "var/lib/opsagent"
GROUP = "/opsagent/test"
STREAM = "test"
# the in-flight batch a kill -9 may re-send (LOGS-SPEC.md: at most one batch, <= 10,000 events)
IN_FLIGHT = 10000
# API limits (PutLogEvents)
MAX_EVENTS = 10000
MAX_BYTES = 1048576
OVERHEAD = 26
MAX_EVENT = 262144 - OVERHEAD
DAY_MS = 24 * 3600 * 1000


def env_int(name, default):
    v = os.environ.get(name)
    return int(v) if v else default


class LogsCase(harness.AgentTestCase):
    """A sandbox root and the stand-in; self.config() writes the shipper's attributes."""

    @classmethod
    def setUpClass(cls):
        cls.aws = AwsStandin().start()

    @classmethod
    def tearDownClass(cls):
        cls.aws.stop()

    def setUp(self):
        super().setUp()
        self.aws.reset()
        self.env.update(self.aws.env())
        self.env["TZ"] = "UTC"
        self.services = []
        self.attrs = {}

    def tearDown(self):
        for p in self.services:
            if p.poll() is None:
                kill9(p)
        super().tearDown()

    # -- configuration ------------------------------------------------------------------------
    def source(self, path="/var/log/app/app.log", **kw):
        s = {"path": path, "log_group": GROUP, "log_stream": STREAM}
        s.update(kw)
        return s

    def config(self, sources, flush_seconds=0.2, extra=None, **top):
        """stack.json with cloudwatch_logs (SOURCES: name -> source) and the EXTRA top-level
        attributes (e.g. logrotate's)."""
        cw = {"flush_seconds": flush_seconds, "sources": sources}
        cw.update(top)
        self.attrs = {"cloudwatch_logs": cw}
        self.attrs.update(extra or {})
        return self.write_json("etc/opsagent/stack.json", self.attrs)

    # -- running the shipper ------------------------------------------------------------------
    def once(self, *extra, timeout=900):
        return self.agent("logs", "--once", *extra, timeout=timeout)

    def once_ok(self, *extra, **kw):
        r = self.once(*extra, **kw)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def status(self):
        r = self.agent("logs", "--status", "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return json.loads(r.stdout)

    def status_of(self, name, path=None):
        """SOURCE's status, summed over its files (--status has an entry per file it still
        tracks, e.g. a log and its rotated copy): lag_bytes added up, lag_seconds and
        dropped_events the largest, last_error the first there is; offset and path those of
        PATH's entry (the first entry without PATH). None when the source is not listed."""
        entries = [s for s in self.status() if s.get("source") == name]
        if not entries:
            return None
        main = entries[0]
        if path:
            for e in entries:
                if str(e.get("path", "")).endswith(path):
                    main = e
        out = dict(main)
        out["lag_bytes"] = sum(e.get("lag_bytes") or 0 for e in entries)
        out["lag_seconds"] = max(e.get("lag_seconds") or 0 for e in entries)
        out["dropped_events"] = max(e.get("dropped_events") or 0 for e in entries)
        out["last_error"] = next((e["last_error"] for e in entries if e.get("last_error")), None)
        out["entries"] = entries
        return out

    def start_service(self, *extra, ready=False):
        """`opsagent --root R logs` in its own session; its output goes to files (a pipe nobody
        reads could fill and stall it). READY: wait for its sd_notify READY=1 (through a
        NOTIFY_SOCKET of its own), e.g. before a SIGTERM that must find its handler installed."""
        import socket
        n = len(self.services)
        env = dict(self.env)
        sock = None
        if ready:
            path = os.path.join(self.tmp, "notify-%d.sock" % n)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(path)
            sock.setblocking(False)
            self.addCleanup(sock.close)
            env["NOTIFY_SOCKET"] = path
        out = open(os.path.join(self.tmp, "service-%d.out" % n), "w")
        err = open(os.path.join(self.tmp, "service-%d.err" % n), "w")
        verbose = ["--verbose"] if os.environ.get("OPSAGENT_LOGS_TEST_VERBOSE") else []
        p = subprocess.Popen([harness.OPSAGENT, "--root", self.root, "logs"] + verbose + list(extra), env=env,
                             stdout=out, stderr=err, start_new_session=True)
        out.close()
        err.close()
        p.out_path, p.err_path = out.name, err.name
        self.services.append(p)
        if sock is not None:
            got = []

            def is_ready():
                while True:
                    try:
                        got.extend(sock.recv(4096).decode().split("\n"))
                    except BlockingIOError:
                        break
                return "READY=1" in got or p.poll() is not None
            self.assertTrue(harness.wait_until(is_ready) and p.poll() is None,
                            "the service did not get ready: %s\n%s" % (got, self.output(p)))
        return p

    def output(self, p):
        with open(p.out_path, errors="replace") as f:
            o = f.read()
        with open(p.err_path, errors="replace") as f:
            return o + f.read()

    def stop_service(self, p):
        """SIGTERM: the service flushes what it read, saves its checkpoints and exits 0."""
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(3 * harness.DEADLINE)
        except subprocess.TimeoutExpired:
            kill9(p)
            self.fail("the service did not exit on SIGTERM\n" + self.output(p))
        self.assertEqual(rc, 0, self.output(p))

    # -- the writer ---------------------------------------------------------------------------
    def start_writer(self, log, rate=None):
        """tests/integration/logrotate_writer.py: numbered lines ("N\\n"), 20 per write(2),
        reopening LOG on SIGUSR2. Returns the Popen; stop_writer() gives the count."""
        os.makedirs(os.path.dirname(log), exist_ok=True)
        os.makedirs(self.path("run"), exist_ok=True)
        self.pidfile = self.path("run/writer.pid")
        self.countfile = self.path("run/writer.count")
        self.writer = subprocess.Popen([sys.executable, "-B", WRITER, log, self.pidfile, self.countfile] +
                                       ([str(rate)] if rate else []))
        self.addCleanup(self._kill_writer)
        self.assertTrue(wait_for(lambda: os.path.exists(self.pidfile) and os.path.exists(log)
                                 and os.path.getsize(log) > 1000), "the writer did not start")
        return self.writer

    def _kill_writer(self):
        if self.writer.poll() is None:
            self.writer.kill()
            self.writer.wait(harness.DEADLINE)

    def stop_writer(self):
        if self.writer.poll() is None:
            self.writer.send_signal(signal.SIGTERM)
            self.writer.wait(harness.DEADLINE)
        with open(self.countfile) as f:
            return int(f.read())

    # -- what arrived -------------------------------------------------------------------------
    def messages(self, group=GROUP, stream=STREAM):
        return [m for _, m, _ in self.aws.log_events(group, stream)]

    def batches(self, group=GROUP, stream=STREAM):
        """The accepted events grouped by request (the stand-in stamps each request's events
        with one acceptance time): lists of (timestamp, message)."""
        out, last = [], None
        for ts, m, at in self.aws.log_events(group, stream):
            if at != last:
                out.append([])
                last = at
            out[-1].append((ts, m))
        return out

    def assert_numbered(self, messages, expected, kills=0, extra_ok=(), where=""):
        """MESSAGES are numbered lines. Every number in EXPECTED (a range or a set) arrived, in
        increasing order of first arrival; no number arrived that was not written (EXTRA_OK:
        numbers that may arrive although they are not in EXPECTED, e.g. lines a copytruncate
        lost from disk after the shipper read them); repeats at most IN_FLIGHT per kill (none
        without a kill). Returns (arrived distinct, repeats)."""
        nums = []
        bad = []
        for i, m in enumerate(messages):
            try:
                nums.append(int(m.split()[0]))
            except (ValueError, IndexError):
                bad.append("event %d (%d bytes): %r" % (i, len(m), m[:40]))
        seen = set()
        first = []
        repeats = 0
        for n in nums:
            if n in seen:
                repeats += 1
            else:
                seen.add(n)
                first.append(n)
        if bad:
            self.fail("%d events are not numbered lines (never written as such): %s%s" % (
                len(bad), "; ".join(bad[:5]), where))
        expected = set(expected)
        missing = expected - seen
        unknown = seen - expected - set(extra_ok)
        if missing:
            self.fail("%d of %d lines never arrived: %s%s" % (len(missing), len(expected), ranges(missing), where))
        if unknown:
            self.fail("%d lines arrived that were never written: %s" % (len(unknown), ranges(unknown)))
        for i in range(1, len(first)):
            if first[i] < first[i - 1]:
                self.fail("out of order at event %d: %d arrived after %d (%s)%s" % (
                    i, first[i], first[i - 1], first[max(0, i - 5):i + 5], where))
        self.assertLessEqual(repeats, IN_FLIGHT * kills,
                             "%d lines arrived twice after %d kills (at most %d each)" % (repeats, kills, IN_FLIGHT))
        return len(seen), repeats

    def secrets_absent(self, texts, secrets):
        """None of SECRETS in TEXTS or in any file under the sandbox's state directory."""
        for s in secrets:
            for t in texts:
                self.assertNotIn(s, t)
        for d, _, names in os.walk(self.path(STATE)):
            for n in names:
                with open(os.path.join(d, n), "rb") as f:
                    data = f.read()
                for s in secrets:
                    self.assertNotIn(s.encode(), data, os.path.join(d, n))


def ranges(numbers, most=12):
    """NUMBERS as "a-b, c, ..." (contiguous runs), for a failure message."""
    out = []
    for n in sorted(numbers):
        if out and out[-1][1] == n - 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    text = ", ".join("%d" % a if a == b else "%d-%d" % (a, b) for a, b in out[:most])
    return text + (", ... (%d runs)" % len(out) if len(out) > most else "")


def files_summary(paths):
    """Each file's numbered lines as "name: first-last (count)", for a failure message."""
    out = []
    for p in paths:
        nums = lines_in([p])
        out.append("%s: %s (%d lines)" % (os.path.basename(p), "%d-%d" % (nums[0], nums[-1]) if nums else "empty",
                                          len(nums)))
    return "; ".join(out)


def lines_in(paths):
    """Numbers of the numbered lines in PATHS (whole lines only)."""
    out = []
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        for line in data.split(b"\n")[:-1]:
            if line.strip():
                out.append(int(line))
    return out


def filter_matches(pattern, message):
    """CloudWatch Logs' filter pattern PATTERN against MESSAGE, for the shapes
    packaging/cloudwatch-logs.yaml uses: a JSON comparison `{ $.KEY = "V" }` / `{ $.KEY != "V" }`
    (a message that is not JSON, or lacks KEY, never matches), or quoted terms `"T1" "T2"` (all
    present as substrings). Anything else is an error, so that the template cannot drift away
    from what this checks."""
    import re
    pattern = pattern.strip()
    m = re.fullmatch(r'\{\s*\$\.(\w+)\s*(!?=)\s*"([^"]*)"\s*\}', pattern)
    if m:
        key, op, value = m.groups()
        try:
            obj = json.loads(message)
        except ValueError:
            return False
        if not isinstance(obj, dict) or key not in obj:
            return False
        return (str(obj[key]) == value) == (op == "=")
    terms = re.findall(r'"([^"]*)"', pattern)
    if terms and re.fullmatch(r'(\s*"[^"]*")+\s*', pattern):
        return all(t in message for t in terms)
    raise ValueError("filter pattern this test does not know: %r" % pattern)


def template_filters(path):
    """{logical id: FilterPattern} of the AWS::Logs::MetricFilter resources in PATH."""
    import cfnlint.decode
    tpl, matches = cfnlint.decode.decode(path)
    if matches:
        raise ValueError(matches)
    return {k: v["Properties"]["FilterPattern"] for k, v in tpl["Resources"].items()
            if v["Type"] == "AWS::Logs::MetricFilter"}
