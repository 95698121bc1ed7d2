"""Recipe zodb_pack through `opsagent --root SANDBOX run --recipe zodb_pack`, against the ZEO
stand-in (tests/zeo/zeo_standin.py) in every behaviour, over TCP and over a Unix socket, and
method "command" with scripts that succeed, fail and hang past the timeout."""
import json
import os
import subprocess
import sys
import time
import unittest

import harness
import tap
from logrotate_helper import kill9

sys.path.insert(0, os.path.join(harness.SRCDIR, "tests", "zeo"))
import zeo_standin  # noqa: E402

DAY = 86400


class ZodbPackCase(harness.AgentTestCase):
    unix = False

    def setUp(self):
        super().setUp()
        self.zeos = []
        self.nsock = 0

    def tearDown(self):
        for z in self.zeos:
            z.close()
        super().tearDown()

    def zeo(self, *args):
        """Starts a stand-in; returns (process, the address to put in the attributes)."""
        record = os.path.join(self.tmp, "calls-%d.jsonl" % len(self.zeos))
        if self.unix:
            self.nsock += 1
            rel = "/run/zeo%d.sock" % self.nsock
            os.makedirs(self.path("run"), exist_ok=True)
            z = zeo_standin.Process(list(args), unix=self.path(rel), record=record)
            address = rel  # a path address is under the root prefix
        else:
            z = zeo_standin.Process(list(args), record=record)
            address = z.address
        self.zeos.append(z)
        return z, address

    def configure(self, servers, **attrs):
        # A stand-in on a loaded machine may take a while to greet: only the tests of the
        # timeout itself set a short one.
        conf = {"servers": servers, "connect_timeout_seconds": 60}
        conf.update(attrs)
        self.write_json("etc/opsagent/stack.json", {"zodb_pack": conf})

    def run_pack(self, *extra):
        r = self.agent("run", "--recipe", "zodb_pack", *extra)
        r.output = r.stdout + r.stderr
        return r

    def metrics(self):
        """{name: [values]} of the last run, from `opsagent history --json`."""
        runs = self.agent_json("history", "--recipe", "zodb_pack", "--json")
        out = {}
        for m in runs[0]["metrics"]:
            out.setdefault(m["name"], []).append(m["value"])
        return out

    def packs(self, z):
        return [c for c in z.calls() if c["call"] == "pack"]

    def assertExit(self, r, code):
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, code, "exit %d, wanted %d; output:\n%s" % (r.returncode, code, out))


class ZeoBehaviours:
    """Every stand-in behaviour; run over TCP and over a Unix socket by the classes below."""

    def test_pack_reports_sizes_and_packs_with_days(self):
        z, addr = self.zeo()
        self.configure([{"address": addr, "storages": ["1"]}], days=3)
        before = time.time()
        r = self.run_pack()
        self.assertExit(r, 0)
        self.assertIn("2059566", r.output)
        self.assertIn("10301", r.output)
        calls = z.calls()
        self.assertEqual([c["call"] for c in calls], ["handshake", "register", "get_info", "pack"])
        self.assertEqual(calls[0]["answer"], "Z5")
        self.assertEqual(calls[1]["args"], ["1", 1])
        t, wait = calls[3]["args"]
        self.assertIsInstance(t, float)
        self.assertTrue(wait)
        self.assertGreaterEqual(t, before - 3 * DAY - 1)
        self.assertLessEqual(t, time.time() - 3 * DAY + 1)
        m = self.metrics()
        self.assertEqual(m["StorageBytesBefore"], [2059566])
        self.assertEqual(m["StorageBytesAfter"], [10301])
        self.assertEqual(len(m["PackSeconds"]), 1)
        self.assertGreaterEqual(m["PackSeconds"][0], 0)

    def test_dry_run_registers_and_reports_but_does_not_pack(self):
        z, addr = self.zeo()
        self.configure([{"address": addr, "storages": ["1"]}])
        r = self.run_pack("--dry-run")
        self.assertExit(r, 0)
        self.assertIn("2059566", r.output)
        self.assertEqual([c["call"] for c in z.calls()], ["handshake", "register", "get_info"])
        self.assertEqual(self.metrics(), {"StorageBytesBefore": [2059566]})

    def test_unknown_storage_fails_naming_it(self):
        z, addr = self.zeo()
        self.configure([{"address": addr, "storages": ["nosuch"]}])
        r = self.run_pack()
        self.assertExit(r, 1)
        self.assertIn("nosuch", r.output)
        self.assertIn("unknown storage", r.output)
        self.assertEqual(self.packs(z), [])

    def test_already_packing_fails(self):
        z, addr = self.zeo("--already-packing")
        self.configure([{"address": addr, "storages": ["1"]}])
        r = self.run_pack()
        self.assertExit(r, 1)
        self.assertIn("already packing", r.output)

    def test_slow_pack_with_async_messages_succeeds(self):
        z, addr = self.zeo("--pack-delay", "1.0", "--noise")
        self.configure([{"address": addr, "storages": ["1"]}])
        r = self.run_pack()
        self.assertExit(r, 0)
        self.assertIn("10301", r.output)
        self.assertEqual(len(self.packs(z)), 1)

    def test_pack_timeout(self):
        z, addr = self.zeo("--pack-delay", "30")
        self.configure([{"address": addr, "storages": ["1"]}], pack_timeout_seconds=1)
        r = self.run_pack()
        self.assertExit(r, 1)
        self.assertIn("pack_timeout_seconds", r.output)

    def test_close_mid_pack_fails(self):
        z, addr = self.zeo("--close-mid-pack", "--noise")
        self.configure([{"address": addr, "storages": ["1"]}])
        r = self.run_pack()
        self.assertExit(r, 1)
        self.assertIn("closed the connection", r.output)

    def test_kill9_mid_pack(self):
        """kill -9 of the agent and the recipe while the server packs: the pack is the
        server's (it goes on), the node is left with nothing half-done (the recipe writes
        nothing there) and the lock free. The next run while the server still packs is one
        error, already packing, naming the server and the storage; once the server is done
        (here: restarted), a run packs and succeeds."""
        z, addr = self.zeo("--pack-delay", "3600")
        self.configure([{"address": addr, "storages": ["1"]}])
        argv = [harness.OPSAGENT, "--root", self.root, "run", "--recipe", "zodb_pack"]
        p = subprocess.Popen(argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        self.assertTrue(harness.wait_until(lambda: self.packs(z) or p.poll() is not None), "no pack reached the server")
        self.assertIsNone(p.poll(), "the run ended before it could be killed")
        kill9(p)
        state = self.path("var/lib/opsagent/recipes/zodb_pack")
        self.assertEqual(os.listdir(state) if os.path.isdir(state) else [], [])
        r = self.run_pack()
        self.assertExit(r, 1)
        errors = [line for line in r.stdout.splitlines() if "FAILED: " in line]
        self.assertEqual(len(errors), 1, r.output)
        self.assertIn('%s storage "1": FAILED: ' % addr, errors[0])
        self.assertIn("is already packing this storage", errors[0])
        self.assertIn("let it finish", errors[0])
        self.assertEqual(len(self.packs(z)), 2)
        z.close()
        z, addr = self.zeo()
        self.configure([{"address": addr, "storages": ["1"]}])
        r = self.run_pack()
        self.assertExit(r, 0)
        self.assertIn("10301", r.output)
        self.assertEqual(len(self.packs(z)), 1)

    def test_msgpack_server_is_answered_z5(self):
        z, addr = self.zeo("--greeting", "M5")
        self.configure([{"address": addr, "storages": ["1"]}])
        r = self.run_pack()
        self.assertExit(r, 0)
        self.assertEqual(z.calls()[0]["answer"], "Z5")
        self.assertEqual(len(self.packs(z)), 1)

    def test_zeo4_server_says_use_command(self):
        z, addr = self.zeo("--greeting", "Z4")
        self.configure([{"address": addr, "storages": ["1"]}])
        r = self.run_pack()
        self.assertExit(r, 1)
        self.assertIn("ZEO 4", r.output)
        self.assertIn('"command"', r.output)
        self.assertEqual(z.calls(), [])

    def test_zeo3_server_says_use_command(self):
        z, addr = self.zeo("--greeting", "Z3101")
        self.configure([{"address": addr, "storages": ["1"]}])
        r = self.run_pack()
        self.assertExit(r, 1)
        self.assertIn("ZEO 3", r.output)
        self.assertIn('"command"', r.output)

    def test_garbage_greeting_fails(self):
        z, addr = self.zeo("--garbage", "greeting")
        self.configure([{"address": addr, "storages": ["1"]}])
        r = self.run_pack()
        self.assertExit(r, 1)
        self.assertIn("not a ZEO server", r.output)

    def test_garbage_reply_fails(self):
        z, addr = self.zeo("--garbage", "reply")
        self.configure([{"address": addr, "storages": ["1"]}])
        r = self.run_pack()
        self.assertExit(r, 1)
        self.assertIn("unreadable message", r.output)

    def test_absurd_frame_length_fails(self):
        z, addr = self.zeo("--absurd-length")
        self.configure([{"address": addr, "storages": ["1"]}])
        r = self.run_pack()
        self.assertExit(r, 1)
        self.assertIn("4294967280 bytes", r.output)

    def test_silent_server_times_out(self):
        z, addr = self.zeo("--silent")
        self.configure([{"address": addr, "storages": ["1"]}], connect_timeout_seconds=1)
        r = self.run_pack()
        self.assertExit(r, 1)
        self.assertIn("greeting", r.output)

    def test_several_storages_on_one_server(self):
        z, addr = self.zeo("--storage", "1", "--storage", "catalog:3000000:12345")
        self.configure([{"address": addr, "storages": ["1", "catalog"]}])
        r = self.run_pack()
        self.assertExit(r, 0)
        self.assertIn("3000000", r.output)
        self.assertIn("12345", r.output)
        self.assertEqual(len(self.packs(z)), 2)
        m = self.metrics()
        self.assertEqual(m["StorageBytesBefore"], [2059566, 3000000])
        self.assertEqual(m["StorageBytesAfter"], [10301, 12345])

    def test_one_failing_server_does_not_stop_the_others(self):
        good1, a1 = self.zeo()
        bad, a2 = self.zeo("--greeting", "Z4")
        good2, a3 = self.zeo("--storage", "main:900:90")
        self.configure([{"address": a1, "storages": ["1", "nosuch"]},
                        {"address": a2, "storages": ["1"]},
                        {"address": a3, "storages": ["main"]}])
        r = self.run_pack()
        self.assertExit(r, 1)
        self.assertEqual(len(self.packs(good1)), 1)
        self.assertEqual(len(self.packs(good2)), 1)
        self.assertIn("2 of 4 packs failed", r.output)
        self.assertIn('%s storage "nosuch"' % a1, r.output)
        self.assertIn('%s storage "1"' % a2, r.output)


    def test_budget_bounds_each_pack_when_it_starts(self):
        # The first storage packs at once, the second would take 30 s; no pack_timeout_seconds,
        # a 6 s budget: the second is given what is left of the budget (less a margin) when it
        # starts, times out cleanly inside the recipe, and the summary names both.
        z, addr = self.zeo("--storage", "1", "--storage", "slow:::30")
        self.configure([{"address": addr, "storages": ["1", "slow"]}], time_budget_seconds=6)
        r = self.run_pack()
        self.assertExit(r, 1)
        rec = self.agent_json("history", "--recipe", "zodb_pack", "--json")[0]
        self.assertEqual(rec["outcome"], "failed", rec)        # not "timeout": the runner did not kill it
        self.assertIn('storage "slow"', rec["error"])
        self.assertIn('packed: %s storage "1"' % addr, rec["error"])
        self.assertIn("what was left of zodb_pack.time_budget_seconds", r.output)
        self.assertNotIn("(the limit is zodb_pack.pack_timeout_seconds)", r.output)

    def test_pack_timeout_in_tenths(self):
        z, addr = self.zeo("--pack-delay", "30")
        self.configure([{"address": addr, "storages": ["1"]}], pack_timeout_seconds=1.5)
        r = self.run_pack()
        self.assertExit(r, 1)
        self.assertIn("within 1.5 s", r.output)
        self.assertIn("(the limit is zodb_pack.pack_timeout_seconds)", r.output)

    def test_read_only_storage_is_named_not_shown_as_empty_args(self):
        z, addr = self.zeo("--read-only")
        self.configure([{"address": addr, "storages": ["1"]}])
        r = self.run_pack()
        self.assertExit(r, 1)
        self.assertIn("ReadOnlyError", r.output)
        self.assertIn("read-only", r.output)
        self.assertNotIn("()", r.output)

    def test_blob_directory_sizes(self):
        blobs = self.path("srv/zeo/blobs")
        os.makedirs(os.path.join(blobs, "0x00", "0x01"))
        for i, n in enumerate((1000, 2345)):
            with open(os.path.join(blobs, "0x00", "0x01", "%d.blob" % i), "wb") as f:
                f.write(b"b" * n)
        os.symlink("/etc/passwd", os.path.join(blobs, "link"))      # not followed
        z, addr = self.zeo()
        self.configure([{"address": addr, "storages": ["1"], "blob_dirs": {"1": "/srv/zeo/blobs"}}])
        r = self.run_pack()
        self.assertExit(r, 0)
        self.assertIn("blobs before: 3345 bytes", r.output)
        m = self.metrics()
        self.assertEqual(m["BlobBytesBefore"], [3345])
        self.assertEqual(m["BlobBytesAfter"], [3345])

    def test_blob_directory_depth_limit_and_links(self):
        # ZODB_PACK_MAX_BLOB_DEPTH (64) levels are measured, one more is not; a blob directory
        # reached through a link is not measured either (the pack itself goes on).
        blobs = self.path("srv/zeo/blobs")
        deep = os.path.join(blobs, *(["d"] * 64))
        os.makedirs(deep)
        with open(os.path.join(deep, "x.blob"), "wb") as f:
            f.write(b"b" * 7)
        os.symlink(blobs, self.path("srv/zeo/link"))
        z, addr = self.zeo()
        self.configure([{"address": addr, "storages": ["1"], "blob_dirs": {"1": "/srv/zeo/blobs"}}])
        r = self.run_pack()
        self.assertExit(r, 0)
        self.assertIn("blobs before: 7 bytes", r.output)
        os.makedirs(os.path.join(deep, "d"))
        r = self.run_pack()
        self.assertExit(r, 0)
        self.assertIn("cannot be measured: more files, or levels of directories, than measured", r.output)
        self.configure([{"address": addr, "storages": ["1"], "blob_dirs": {"1": "/srv/zeo/link"}}])
        r = self.run_pack()
        self.assertExit(r, 0)
        self.assertIn("cannot be measured: a symbolic link is on the way", r.output)


class ZeoOverTcp(ZodbPackCase, ZeoBehaviours):
    unix = False

    def test_nothing_listening(self):
        z, addr = self.zeo()
        z.close()
        self.configure([{"address": addr, "storages": ["1"]}])
        r = self.run_pack()
        self.assertExit(r, 1)
        self.assertIn("cannot connect", r.output)


class ZeoOverUnixSocket(ZodbPackCase, ZeoBehaviours):
    unix = True

    def test_missing_socket(self):
        self.configure([{"address": "/run/nosuch.sock", "storages": ["1"]}])
        r = self.run_pack()
        self.assertExit(r, 1)
        self.assertIn("nosuch.sock", r.output)


class Attributes(ZodbPackCase):
    """The schema the recipe ships: bad settings are refused (exit 2) before anything runs."""

    def refused(self, conf, *words):
        z, addr = self.zeo()
        full = {"servers": [{"address": addr, "storages": ["1"]}]}
        full.update(conf)
        self.write_json("etc/opsagent/stack.json", {"zodb_pack": full})
        r = self.run_pack()
        self.assertExit(r, 2)
        for w in words:
            self.assertIn(w, r.output)
        self.assertEqual(z.calls(), [])

    def test_unknown_method(self):
        self.refused({"method": "ftp"}, "zodb_pack.method")

    def test_misspelt_server_key(self):
        self.refused({"servers": [{"adress": "127.0.0.1:8100"}]}, "adress", "address")

    def test_negative_days(self):
        self.refused({"days": -1}, "zodb_pack.days")

    def test_timeout_not_a_number(self):
        self.refused({"pack_timeout_seconds": "1h"}, "zodb_pack.pack_timeout_seconds")

    def test_defaults(self):
        r = self.agent("attributes", "zodb_pack", "--json")
        self.assertExit(r, 0)
        d = {k: v["value"] for k, v in json.loads(r.stdout).items()}
        self.assertEqual(d["zodb_pack.servers"], [{"address": "127.0.0.1:8100", "storages": ["1"]}])
        self.assertEqual(d["zodb_pack.days"], 1)
        self.assertEqual(d["zodb_pack.method"], "zeo")
        self.assertEqual(d["zodb_pack.connect_timeout_seconds"], 10)
        self.assertIsNone(d["zodb_pack.pack_timeout_seconds"])
        self.assertEqual(d["zodb_pack.time_budget_seconds"], 0)  # packs take hours


class CommandMethod(ZodbPackCase):
    def script(self, name, body):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(p, 0o755)
        return p

    def test_command_success(self):
        marker = os.path.join(self.tmp, "ran")
        s = self.script("zeopack", 'echo "packing $1"; touch "%s"\n' % marker)
        self.configure([], method="command", command=[s, "-d", "1"])
        r = self.run_pack()
        self.assertExit(r, 0)
        self.assertTrue(os.path.exists(marker))
        self.assertEqual(len(self.metrics()["PackSeconds"]), 1)

    def test_command_failure_reports_status_and_last_lines(self):
        s = self.script("zeopack", 'i=0; while [ $i -lt 50 ]; do echo "line $i"; i=$((i+1)); done\n'
                        'echo "Traceback: storage locked" >&2; exit 3\n')
        self.configure([], method="command", command=[s])
        r = self.run_pack()
        self.assertExit(r, 1)
        self.assertIn("status 3", r.output)
        self.assertIn("storage locked", r.output)

    def test_command_hanging_past_timeout_is_killed(self):
        s = self.script("zeopack", "echo started; exec sleep 60\n")
        self.configure([], method="command", command=[s], pack_timeout_seconds=1)
        r = self.run_pack()
        self.assertExit(r, 1)
        self.assertIn("did not finish", r.output)

    def test_command_dry_run_does_not_run(self):
        marker = os.path.join(self.tmp, "ran")
        s = self.script("zeopack", 'touch "%s"\n' % marker)
        self.configure([], method="command", command=[s])
        r = self.run_pack("--dry-run")
        self.assertExit(r, 0)
        self.assertFalse(os.path.exists(marker))

    def test_command_missing(self):
        self.configure([], method="command")
        r = self.run_pack()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("zodb_pack.command", r.output)


if __name__ == "__main__":
    tap.main()
