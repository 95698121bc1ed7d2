"""Shared fixtures of the reporting integration tests: one AWS stand-in per test class (its
calls, datums and faults reset before each test), a fresh sandbox per test with a faked
/proc, the report_probe recipe, and what was meant versus what the stand-in received."""
import datetime
import glob
import json
import os
import socket

import harness
from standin.aws_standin import AwsStandin


PLUGIN_DIR = os.path.join(harness.BUILDDIR, "tests", "integration", "plugins", ".libs")
STATE = "var/lib/opsagent"
SPOOL = STATE + "/spool/metrics.spool"

MEMINFO = ("MemTotal: 4000000 kB\nMemFree: 1000000 kB\nBuffers: 200000 kB\nCached: 600000 kB\n"
           "SReclaimable: 200000 kB\nSwapTotal: 1000000 kB\nSwapFree: 750000 kB\n")
MEM_USED_PERCENT = 100.0 * (4000000 - 1000000 - 200000 - 600000 - 200000) / 4000000
SWAP_USED_PERCENT = 25.0
LOADAVG = "0.25 0.50 1.00 1/123 4567\n"


def ms(ts):
    """A stand-in Timestamp (datetime or ISO string) as Unix milliseconds."""
    if isinstance(ts, str):
        ts = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=datetime.timezone.utc)
    return int(round(ts.timestamp() * 1000))


def closed_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def deep_merge(a, b):
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict):
            deep_merge(a[k], v)
        else:
            a[k] = v
    return a


class ReportCase(harness.AgentTestCase):
    aws = None

    @classmethod
    def setUpClass(cls):
        cls.aws = AwsStandin(n_volumes=1)
        cls.aws.start()

    @classmethod
    def tearDownClass(cls):
        if cls.aws:
            cls.aws.stop()

    def setUp(self):
        super().setUp()
        self.aws.reset_calls()
        self.aws.clear_faults()
        self.env.update(self.aws.env())
        self.env["OPSAGENT_PLUGIN_PATH"] = PLUGIN_DIR
        # One retry, so that an outage costs seconds, not minutes.
        self.stack = {"opsagent": {"recipes": {"report_probe": True}}, "aws": {"max_attempts": 2}}
        self.set_stack()
        self.write("proc/self/mounts", "/dev/nvme0n1p1 / ext4 rw,relatime 0 0\n"
                                       "proc /proc proc rw 0 0\ntmpfs /run tmpfs rw 0 0\n")
        self.write("proc/meminfo", MEMINFO)
        self.write("proc/loadavg", LOADAVG)

    def set_stack(self, **sections):
        deep_merge(self.stack, sections)
        self.write_json("etc/opsagent/stack.json", self.stack)

    # -- running the agent --------------------------------------------------------------------
    def run_probe(self, *args, expect=0, env=None):
        r = self.agent("run", "--recipe", "report_probe", *args, env=env)
        self.assertEqual(r.returncode, expect, "stdout:\n%s\nstderr:\n%s" % (r.stdout, r.stderr))
        return r

    def report(self, expect=0, env=None):
        r = self.agent("report", env=env)
        self.assertEqual(r.returncode, expect, "stdout:\n%s\nstderr:\n%s" % (r.stdout, r.stderr))
        return r

    def refused_env(self):
        return {"AWS_ENDPOINT_URL_CLOUDWATCH": "http://127.0.0.1:%d" % closed_port()}

    # -- what was meant and what arrived ------------------------------------------------------
    def records(self):
        """The run records, oldest first."""
        out = []
        for p in sorted(glob.glob(self.path(STATE + "/runs/*.json"))):
            with open(p) as f:
                out.append(json.load(f))
        return out

    def instance_id(self):
        return self.aws.instance_id

    def meant_for_run(self, rec, stack_name=None):
        """The datums a run record should become: (name, value, unit, dims, timestamp ms)."""
        dims = {"InstanceId": self.instance_id(), "Recipe": rec["recipe"]}
        if stack_name:
            dims["StackName"] = stack_name
        end_ms = rec["end_usec"] // 1000
        out = [("RecipeSucceeded", 1.0 if rec["outcome"] == "success" else 0.0, "Count", dims, end_ms),
               ("RecipeDuration", (rec["end_usec"] - rec["start_usec"]) / 1e6, "Seconds", dims, end_ms)]
        for m in rec.get("metrics") or []:
            out.append((m["name"], float(m["value"]), m.get("unit") or "None", dims,
                        int(m.get("timestamp") or end_ms)))
        return out

    def received(self, namespace="OpsAgent"):
        out = []
        for d in self.aws.metric_data():
            self.assertEqual(d["Namespace"], namespace)
            out.append((d["MetricName"], float(d["Value"]), d["Unit"], d["Dimensions"], ms(d["Timestamp"])))
        return out

    def assertSameDatums(self, got, meant):
        """Same multiset of datums; durations to the microsecond, timestamps to the ms."""
        def key(d):
            return (d[0], json.dumps(d[3], sort_keys=True), d[4], d[2])
        g = sorted(got, key=key)
        m = sorted(meant, key=key)
        self.assertEqual([key(x) for x in g], [key(x) for x in m])
        for a, b in zip(g, m):
            self.assertAlmostEqual(a[1], b[1], places=5, msg=a[0])

    def spool_exists(self):
        return os.path.exists(self.path(SPOOL))
