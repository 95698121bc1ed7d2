"""`opsagent setup` against the AWS stand-in (IMDS and user-data) and python3-dbusmock standing
in for systemd's Manager on a private bus (DBUS_SYSTEM_BUS_ADDRESS): the timers of the enabled
recipes are enabled and started, the others stopped and disabled, JSON user-data becomes the
stack file, bad input changes nothing, --dry-run changes nothing, and a second run changes
nothing and says so.

The recipes are the probes in tests/packaging/plugins: probe_setup (a setup recipe that writes
a file), probe_nightly and probe_weekly (scheduled; their timers are unit files in the sandbox's
/etc/systemd/system)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import tap  # noqa: E402

try:
    from standin.aws_standin import AwsStandin
except ImportError:  # the AWS stand-in is not in this tree yet
    AwsStandin = None

SYSTEM_PYTHON = "/usr/bin/python3"
MOCK = os.path.join(harness.SRCDIR, "tests", "packaging", "systemd_mock.py")
PLUGINS = os.path.join(harness.BUILDDIR, "tests", "packaging", "plugins", ".libs")
TIMERS = ["opsagent-probe_nightly.timer", "opsagent-probe_weekly.timer", "opsagent-report.timer"]
MUTATING = {"EnableUnitFiles", "DisableUnitFiles", "StartUnit", "StopUnit"}


def have_dbusmock():
    if not (shutil.which("dbus-daemon") and os.path.exists(SYSTEM_PYTHON)):
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "import dbusmock, gi"], capture_output=True).returncode == 0


def bus_call(address, iface, method, signature="", *args):
    """busctl call on the mock's main object; returns the parsed reply's first value."""
    argv = ["busctl", "--address=" + address, "--json=short", "call", "org.freedesktop.systemd1",
            "/org/freedesktop/systemd1", iface, method]
    if signature:
        argv += [signature] + [str(a) for a in args]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError("busctl %s: %s" % (method, r.stderr))
    return json.loads(r.stdout)["data"][0] if r.stdout.strip() else None


@unittest.skipUnless(have_dbusmock(), "python3-dbusmock or dbus-daemon missing (Debian: python3-dbusmock dbus-daemon)")
@unittest.skipUnless(AwsStandin, "the AWS stand-in (tests/standin) is not in this tree")
@unittest.skipUnless(os.path.isdir(PLUGINS), "the probe plugins are not built")
class Setup(harness.AgentTestCase):
    @classmethod
    def setUpClass(cls):
        cls.aws = AwsStandin()
        cls.aws.start()
        cls.bus_dir = tempfile.mkdtemp(prefix="opsagent-bus-")
        cls.address = "unix:path=" + os.path.join(cls.bus_dir, "system_bus_socket")
        cls.daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--address=" + cls.address],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.mock = subprocess.Popen([SYSTEM_PYTHON, "-m", "dbusmock", "--system", "--template", MOCK],
                                    env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=cls.address),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + harness.DEADLINE
        while subprocess.run(["busctl", "--address=" + cls.address, "status", "org.freedesktop.systemd1"],
                             capture_output=True).returncode != 0:
            if time.time() > deadline or cls.mock.poll() is not None:
                cls.tearDownClass()
                raise AssertionError("the systemd mock did not come up")
            time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        for p in (cls.mock, cls.daemon):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(harness.DEADLINE)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(cls.bus_dir, ignore_errors=True)
        cls.aws.stop()

    def setUp(self):
        super().setUp()
        self.aws.set_instance(user_data="")
        for t in TIMERS:
            self.write("etc/systemd/system/" + t, "[Timer]\nOnCalendar=daily\n")
        bus_call(self.address, "org.freedesktop.DBus.Mock", "Reset", "s",
                 json.dumps({t: "disabled" for t in TIMERS}))
        self.env.update(self.aws.env())
        self.env.update({"DBUS_SYSTEM_BUS_ADDRESS": self.address, "OPSAGENT_PLUGIN_PATH": PLUGINS})

    def state(self):
        return json.loads(bus_call(self.address, "org.freedesktop.DBus.Mock", "GetState"))

    def clear_calls(self):
        bus_call(self.address, "org.freedesktop.DBus.Mock", "ClearCalls")

    def enabled(self):
        s = self.state()
        return {u for u, st in s["unit_files"].items() if st == "enabled"}

    def active(self):
        s = self.state()
        return {u for u, st in s["active"].items() if st == "active"}

    def mutating_calls(self):
        return [c for c in self.state()["calls"] if c[0] in MUTATING]

    def setup(self, *args):
        return self.agent("setup", *args)

    def stack(self, obj):
        return self.write_json("etc/opsagent/stack.json", obj, mode=0o600)

    # -- the tests --------------------------------------------------------------------------
    def test_enables_and_starts_the_timers_of_enabled_recipes_only(self):
        self.stack({"opsagent": {"recipes": {"probe_nightly": True}}})
        r = self.setup()
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertEqual(self.enabled(), {"opsagent-probe_nightly.timer", "opsagent-report.timer"})
        self.assertEqual(self.active(), {"opsagent-probe_nightly.timer", "opsagent-report.timer"})
        self.assertIn("opsagent-probe_nightly.timer", r.stdout)
        self.assertNotIn("opsagent-probe_weekly.timer", r.stdout)   # already disabled: no change

    def test_second_run_changes_nothing_and_says_so(self):
        self.stack({"opsagent": {"recipes": {"probe_nightly": True, "probe_weekly": True}},
                    "probe_setup": {"content": "setup ran\n"}})
        first = self.setup()
        self.assertEqual(first.returncode, 0, first.stderr + first.stdout)
        self.assertIn("probe_setup: changed", first.stdout)
        before = self.state()["unit_files"]
        self.clear_calls()
        second = self.setup()
        self.assertEqual(second.returncode, 0, second.stderr + second.stdout)
        self.assertIn("nothing changed", second.stdout)
        self.assertIn("probe_setup: unchanged", second.stdout)
        self.assertNotIn("enabled and started", second.stdout)
        self.assertEqual(self.state()["unit_files"], before)
        self.assertEqual(self.enabled(), set(TIMERS))

    def test_summary_counts_what_the_setup_recipes_changed(self):
        # A setup recipe that rewrote a file is a change: no "nothing changed" after it.
        self.stack({"probe_setup": {"content": "one\n"}})
        self.setup()
        self.stack({"probe_setup": {"content": "two\n"}})
        r = self.setup()
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertIn("probe_setup: changed", r.stdout)
        self.assertIn("setup: 1 change (1 of 3 timers enabled)", r.stdout)
        r = self.setup()
        self.assertIn("setup: nothing changed (1 of 3 timers enabled, as the attributes ask)", r.stdout)

    def test_json_is_one_object(self):
        self.stack({"opsagent": {"recipes": {"probe_nightly": True}}, "probe_setup": {"content": "x\n"},
                    "x": {"password": "hunter22"}})
        r = self.setup("--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual((out["outcome"], out["exit_code"], out["dry_run"]), ("success", 0, False))
        self.assertEqual([x["recipe"] for x in out["runs"]], ["probe_setup"])
        self.assertEqual(out["runs"][0]["outcome"], "success")
        self.assertEqual({t["unit"]: t["result"] for t in out["timers"]},
                         {"opsagent-probe_nightly.timer": "changed", "opsagent-probe_weekly.timer": "unchanged",
                          "opsagent-report.timer": "changed"})
        self.assertEqual(out["changes"], 3)
        self.assertIn("probe_setup: changed", r.stderr)
        r = self.setup("--json", "-j", self.write_json("bad.json", {"opsagent": {"recipes": {"x": 1}}}))
        self.assertEqual(r.returncode, 2)
        self.assertEqual(json.loads(r.stdout)["outcome"], "config_error")

    def test_secrets_warning_said_once(self):
        self.write_json("etc/opsagent/stack.json", {"probe_setup": {"content": "x\n"}, "x": {"password": "hunter22"}},
                        mode=0o644)
        r = self.setup()
        self.assertEqual((r.stdout + r.stderr).count("holds secrets"), 1, r.stdout + r.stderr)
        self.assertNotIn("hunter22", r.stdout + r.stderr)

    def test_configure_applies_a_changed_recipe_list_to_the_timers(self):
        # `opsagent configure` re-applies setup's unit plan when the stack configuration in
        # Parameter Store changed, and setup enables its timer when there is a source.
        configure_timer = "opsagent-configure.timer"
        self.write("etc/systemd/system/" + configure_timer, "[Timer]\nOnUnitActiveSec=10min\n")
        bus_call(self.address, "org.freedesktop.DBus.Mock", "Reset", "s",
                 json.dumps({t: "disabled" for t in TIMERS + [configure_timer]}))
        path = "/opsagent/" + self.id().rsplit(".", 1)[-1]
        ssm = self.aws.client("ssm", direct=True)

        def put_stack(recipes):
            ssm.put_parameter(Name=path + "/stack", Value=json.dumps({"opsagent": {"recipes": recipes}}),
                              Type="String", Overwrite=True)
        put_stack({"probe_nightly": True})
        self.write_json("etc/opsagent/source.json", {"ssm": {"path": path}})
        r = self.setup()
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertEqual(self.enabled(), {"opsagent-probe_nightly.timer", "opsagent-report.timer", configure_timer})
        r = self.agent("configure")
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertIn("nothing changed", r.stdout)          # setup applied it already
        put_stack({"probe_nightly": False, "probe_weekly": True})
        r = self.agent("configure")
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertIn("stopped and disabled opsagent-probe_nightly.timer", r.stdout)
        self.assertEqual(self.enabled(), {"opsagent-probe_weekly.timer", "opsagent-report.timer", configure_timer})
        self.assertEqual(self.active(), {"opsagent-probe_weekly.timer", "opsagent-report.timer", configure_timer})
        out = json.loads(self.agent("history", "--recipe", "configure", "--json").stdout)[0]["detail"]
        self.assertEqual({t["unit"]: t["result"] for t in out["timers"]},
                         {"opsagent-probe_nightly.timer": "changed", "opsagent-probe_weekly.timer": "changed",
                          "opsagent-report.timer": "unchanged", configure_timer: "unchanged"})
        self.clear_calls()
        r = self.agent("configure")
        self.assertIn("nothing changed", r.stdout)
        self.assertEqual(self.mutating_calls(), [])

    def test_a_recipe_turned_off_gets_its_timer_stopped_and_disabled(self):
        self.stack({"opsagent": {"recipes": {"probe_nightly": True, "probe_weekly": True}}})
        self.assertEqual(self.setup().returncode, 0)
        self.stack({"opsagent": {"recipes": {"probe_nightly": True, "probe_weekly": False}}})
        r = self.setup()
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertIn("stopped and disabled opsagent-probe_weekly.timer", r.stdout)
        self.assertEqual(self.enabled(), {"opsagent-probe_nightly.timer", "opsagent-report.timer"})
        self.assertNotIn("opsagent-probe_weekly.timer", self.active())

    def test_json_user_data_becomes_the_stack_file(self):
        user_data = json.dumps({"opsagent": {"recipes": {"probe_weekly": True}}})
        self.aws.set_instance(user_data=user_data)
        r = self.setup()
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        stack = self.path("etc/opsagent/stack.json")
        with open(stack) as f:
            self.assertEqual(json.load(f), json.loads(user_data))
        self.assertEqual(os.stat(stack).st_mode & 0o777, 0o600)
        self.assertIn("opsagent-probe_weekly.timer", self.enabled())
        # opsagent created it: setup --undo and purge take it away again
        with open(self.path("var/lib/opsagent/undo/changes")) as f:
            self.assertIn("file\t/etc/opsagent/stack.json\t-\n", f.read())
        again = self.setup()
        self.assertIn("nothing changed", again.stdout)

    def test_stack_file_wins_over_user_data(self):
        self.stack({"opsagent": {"recipes": {"probe_nightly": True}}})
        self.aws.set_instance(user_data=json.dumps({"opsagent": {"recipes": {"probe_weekly": True}}}))
        r = self.setup()
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertEqual(self.enabled(), {"opsagent-probe_nightly.timer", "opsagent-report.timer"})
        with open(self.path("etc/opsagent/stack.json")) as f:
            self.assertEqual(json.load(f), {"opsagent": {"recipes": {"probe_nightly": True}}})

    def test_user_data_that_is_a_script_is_left_alone(self):
        self.aws.set_instance(user_data="#!/bin/sh\necho hello\n")
        r = self.setup()
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertFalse(os.path.exists(self.path("etc/opsagent/stack.json")))
        self.assertEqual(self.enabled(), {"opsagent-report.timer"})

    def test_dry_run_changes_nothing(self):
        self.aws.set_instance(user_data=json.dumps({"opsagent": {"recipes": {"probe_nightly": True}}}))
        r = self.setup("--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertIn("would enable and start opsagent-probe_nightly.timer", r.stdout)
        self.assertIn("would save", r.stdout)
        self.assertEqual(self.mutating_calls(), [])
        self.assertEqual(self.enabled(), set())
        self.assertFalse(os.path.exists(self.path("etc/opsagent/stack.json")))
        self.assertFalse(os.path.exists(self.path("etc/probe_setup.conf")))

    def test_bad_attributes_change_nothing(self):
        self.stack({"opsagent": {"recipes": {"probe_nightly": "yes"}}})
        r = self.setup()
        self.assertEqual(r.returncode, 2, r.stderr + r.stdout)
        self.assertIn("probe_nightly", r.stderr)
        self.assertEqual(self.mutating_calls(), [])
        self.assertFalse(os.path.exists(self.path("etc/probe_setup.conf")))

    def test_setup_recipe_runs_and_its_failure_is_exit_1(self):
        self.stack({"probe_setup": {"fail": True}})
        r = self.setup()
        self.assertEqual(r.returncode, 1, r.stderr + r.stdout)
        self.assertIn("probe_setup told to fail", r.stdout + r.stderr)
        self.assertIn("finished with errors", r.stdout)
        self.assertNotIn("nothing changed", r.stdout)

    def test_setup_recipe_switched_off_does_not_run(self):
        self.stack({"opsagent": {"recipes": {"probe_setup": False}}, "probe_setup": {"content": "x\n"}})
        r = self.setup()
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertIn("probe_setup: not run: opsagent.recipes.probe_setup is false", r.stdout)
        self.assertFalse(os.path.exists(self.path("etc/probe_setup.conf")))

    def test_setup_recipe_runs_only_when_asked(self):
        # Issue 16: its shipped defaults are no reason to change the system.
        self.stack({})
        r = self.setup()
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertIn("probe_setup: not run: the attributes set nothing under probe_setup", r.stdout)
        self.assertFalse(os.path.exists(self.path("etc/probe_setup.conf")))
        for stack in ({"probe_setup": {"content": "asked\n"}}, {"opsagent": {"recipes": {"probe_setup": True}}}):
            self.stack(stack)
            self.assertEqual(self.setup().returncode, 0)
            self.assertTrue(os.path.exists(self.path("etc/probe_setup.conf")), stack)
            os.unlink(self.path("etc/probe_setup.conf"))

    def test_unknown_recipe_turned_on_is_a_warning(self):
        self.stack({"opsagent": {"recipes": {"probe_nightly": True, "probe_nigthly": True}}})
        r = self.setup()
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertIn("opsagent.recipes.probe_nigthly is true", r.stderr)
        self.assertIn("stack.json", r.stderr)
        self.assertNotIn("probe_nightly is true", r.stderr)
        self.assertIn("opsagent-probe_nightly.timer", self.enabled())

    def test_report_timer_follows_cloudwatch_enabled(self):
        self.stack({"cloudwatch": {"enabled": False}})
        r = self.setup()
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        self.assertNotIn("opsagent-report.timer", self.enabled())

    def test_recipe_without_a_timer_file_is_left_alone(self):
        os.unlink(self.path("etc/systemd/system/opsagent-probe_weekly.timer"))
        self.stack({"opsagent": {"recipes": {"probe_weekly": True}}})
        r = self.setup()
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        touched = [c for c in self.state()["calls"] if "opsagent-probe_weekly.timer" in json.dumps(c)]
        self.assertEqual(touched, [])

    def test_enabled_recipes_without_any_timer_file_are_said_not_counted(self):
        # Issue 21: under --root with two recipes enabled and no unit files, setup said "nothing
        # changed (0 of 0 timers enabled, as the attributes ask)". Each enabled recipe is named
        # with the files looked for, and the summary says no timer file was found.
        for t in TIMERS:
            os.unlink(self.path("etc/systemd/system/" + t))
        self.stack({"opsagent": {"recipes": {"probe_nightly": True, "probe_weekly": True}}})
        for bus in (True, False):
            with self.subTest(named_bus=bus):
                if not bus:
                    self.env.pop("DBUS_SYSTEM_BUS_ADDRESS")
                r = self.setup()
                self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
                for name in ("probe_nightly", "probe_weekly"):
                    self.assertIn("%s: enabled, but there is no opsagent-%s.timer in %s/" % (name, name, self.root),
                                  r.stdout)
                self.assertEqual(r.stdout.count("no timer to enable (opsagent run --all runs it)"), 2, r.stdout)
                self.assertIn("setup: nothing changed (no opsagent timer unit file found)", r.stdout)
                self.assertNotIn("0 of 0", r.stdout + r.stderr)
                self.assertEqual(self.mutating_calls(), [])

    def test_host_systemd_left_alone_under_a_root_without_a_named_bus(self):
        self.stack({"opsagent": {"recipes": {"probe_nightly": True}}})
        env = dict(self.env)
        del env["DBUS_SYSTEM_BUS_ADDRESS"]
        self.env = env
        r = self.setup()
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        # Not "would be ..." then "nothing changed (2 of 3 timers enabled)" (issue 21): what
        # setup left alone is said as such, in each line and in the summary.
        self.assertIn("opsagent-probe_nightly.timer: to be enabled and started (enabled by opsagent.recipes); "
                      "left alone", r.stdout)
        self.assertIn("setup: nothing changed (2 of 3 timers to be enabled, left alone: root prefix)", r.stdout)
        self.assertEqual(self.state()["calls"], [])

    def test_systemd_unreachable_is_reported(self):
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=" + os.path.join(self.tmp, "no-bus-here")
        self.stack({"opsagent": {"recipes": {"probe_nightly": True}}})
        r = self.setup()
        self.assertEqual(r.returncode, 1, r.stderr + r.stdout)
        self.assertIn("opsagent-probe_nightly.timer", r.stderr)


if __name__ == "__main__":
    tap.main()
