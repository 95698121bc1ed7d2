"""Recipe logrotate against a live writer appending as fast as it can: "reopen" rotations lose
no line (through a pidfile and through systemd's KillUnit over sd-bus, with python3-dbusmock
standing in for systemd); copytruncate's losses are measured next to logrotate's."""
import os
import signal
import subprocess
import sys
import unittest

import harness
import tap
from logrotate_helper import HERE, LOGROTATE, LogrotateCase, decompress, wait_for

WRITER = os.path.join(HERE, "logrotate_writer.py")
SYSTEM_PYTHON = "/usr/bin/python3"
ROTATIONS = 3


class WriterCase(LogrotateCase):

    def start_writer(self, rate=None):
        os.makedirs(self.path("var/log/app"), exist_ok=True)
        os.makedirs(self.path("run"), exist_ok=True)
        self.log = self.path("var/log/app/w.log")
        self.pidfile = self.path("run/writer.pid")
        self.countfile = self.path("run/writer.count")
        self.writer = subprocess.Popen([sys.executable, WRITER, self.log, self.pidfile, self.countfile] +
                                       ([str(rate)] if rate else []))
        self.addCleanup(self.kill_writer, self.writer)
        self.assertTrue(wait_for(lambda: os.path.exists(self.pidfile) and os.path.getsize(self.log) > 100000),
                        "the writer did not start")

    def wait_written(self, size=1):
        """Waits until the writer has put SIZE bytes into the log it has open now (after a
        rotation, the new one), so that the next run has something to rotate."""
        self.assertTrue(wait_for(lambda: os.path.exists(self.log) and os.path.getsize(self.log) >= size),
                        "the writer wrote nothing after the rotation")

    def kill_writer(self, w):
        if w.poll() is None:
            w.kill()
            w.wait(harness.DEADLINE)

    def stop_writer(self):
        if self.writer.poll() is None:
            self.writer.send_signal(signal.SIGTERM)
            self.writer.wait(harness.DEADLINE)
        with open(self.countfile) as f:
            return int(f.read())

    def lines_everywhere(self):
        """Numbers of all lines in w.log and its rotations (decompressed), in file order."""
        d = self.path("var/log/app")
        numbers = []
        for n in sorted(os.listdir(d)):
            if n.startswith("w.log"):
                numbers += [int(x) for x in decompress(os.path.join(d, n)).split()]
        return numbers

    def assert_each_line_once(self, written):
        numbers = self.lines_everywhere()
        seen = sorted(numbers)
        missing = written - len(set(seen))
        dups = len(seen) - len(set(seen))
        self.assertEqual((missing, dups), (0, 0),
                         "%d of %d lines missing, %d duplicated" % (missing, written, dups))
        self.assertEqual(seen, list(range(written)))


class TestReopenLosesNothing(WriterCase):

    def test_reopen_through_pidfile_loses_no_line(self):
        self.start_writer()
        attrs = {"sets": {"w": {"paths": ["/var/log/app/w.log"], "size": 1, "rotate": 10,
                                "reopen": {"pidfile": "/run/writer.pid", "signal": "SIGUSR2",
                                           "timeout": harness.DEADLINE}}}}
        for _ in range(ROTATIONS):
            self.wait_written()
            r = self.run_recipe(attrs)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertNotIn("did not reopen", r.stdout)
        written = self.stop_writer()
        names = self.files("var/log/app")
        self.assertEqual(names, ["w.log"] + ["w.log.%d.zst" % i for i in range(1, ROTATIONS + 1)])
        self.assert_each_line_once(written)
        print("# reopen: %d lines over %d rotations, none lost" % (written, ROTATIONS))


class TestReopenKilled(WriterCase):

    def test_kill9_at_random_points_of_reopen_rotations_loses_no_line(self):
        import random
        from logrotate_helper import kill9, trial_seed
        rnd = random.Random(trial_seed())
        self.start_writer(rate=100000)     # bounded, so that the logs stay small
        attrs = {"sets": {"w": {"paths": ["/var/log/app/w.log"], "size": 1, "rotate": 100,
                                "compress": "xz", "compress_level": 3,
                                "reopen": {"pidfile": "/run/writer.pid", "signal": "SIGUSR2",
                                           "timeout": harness.DEADLINE}}}}
        for _ in range(5):
            p = self.run_recipe(attrs, start=True)
            wait_for(lambda: False, timeout=rnd.uniform(0.0, 0.4))     # a random kill point, not a wait
            kill9(p)
        r = self.run_recipe(attrs)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        written = self.stop_writer()
        r = self.run_recipe(attrs)      # compresses what the last run had to leave
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.leftover_temporaries(), [])
        self.assert_each_line_once(written)


class TestSystemdKillUnit(WriterCase):
    """reopen.unit: the recipe asks systemd (here python3-dbusmock on a private bus) to signal
    the unit's main process; the mock's KillUnit forwards the signal to the writer."""

    def setUp(self):
        super().setUp()
        if not os.path.exists(SYSTEM_PYTHON) or subprocess.run(
                [SYSTEM_PYTHON, "-c", "import dbusmock"], capture_output=True).returncode != 0:
            self.skipTest("python3-dbusmock is not installed for /usr/bin/python3")
        conf = self.write("dbus.conf", """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
""" % os.path.join(self.tmp, "system_bus_socket"))
        self.bus = subprocess.Popen(["dbus-daemon", "--config-file", conf, "--nofork", "--print-address"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(self.stop, self.bus)
        address = self.bus.stdout.readline().strip()
        self.assertTrue(address, "dbus-daemon gave no address")
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = address

    def stop(self, p):
        if p.poll() is None:
            p.terminate()
            p.wait(harness.DEADLINE)

    def start_mock(self):
        env = dict(self.env)
        self.calls = os.path.join(self.tmp, "killunit.calls")
        self.mock = subprocess.Popen(
            [SYSTEM_PYTHON, "-m", "dbusmock", "--system", "--template", "systemd"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(self.stop, self.mock)
        # KillUnit(s name, s who, i signal): log the call and signal the writer's main pid
        code = ("import os\n"
                "open(%r, 'a').write('%%s %%s %%d\\n' %% (args[0], args[1], args[2]))\n"
                "os.kill(int(open(%r).read()), args[2])\n") % (self.calls, self.pidfile)
        add = ("import dbus, sys, time\n"
               "end = time.monotonic() + %d\n"
               "while time.monotonic() < end:\n"
               "    try:\n"
               "        bus = dbus.SystemBus()\n"
               "        obj = bus.get_object('org.freedesktop.systemd1', '/org/freedesktop/systemd1')\n"
               "        obj.AddMethod('org.freedesktop.systemd1.Manager', 'KillUnit', 'ssi', '', sys.argv[1],\n"
               "                      dbus_interface='org.freedesktop.DBus.Mock')\n"
               "        break\n"
               "    except dbus.exceptions.DBusException:\n"
               "        time.sleep(0.05)\n"
               "else:\n"
               "    sys.exit('systemd mock did not come up')\n") % harness.DEADLINE
        r = subprocess.run([SYSTEM_PYTHON, "-c", add, code], env=env, capture_output=True, text=True,
                           timeout=2 * harness.DEADLINE)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_reopen_through_killunit_loses_no_line(self):
        self.start_writer()
        self.start_mock()
        attrs = {"sets": {"zope": {"paths": ["/var/log/app/w.log"], "size": 1, "rotate": 10,
                                   "reopen": {"unit": "zope-instance.service", "signal": "SIGUSR2",
                                              "timeout": harness.DEADLINE}}}}
        for _ in range(ROTATIONS):
            self.wait_written()
            r = self.run_recipe(attrs)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertNotIn("did not reopen", r.stdout)
        written = self.stop_writer()
        with open(self.calls) as f:
            calls = f.read().splitlines()
        self.assertEqual(calls, ["zope-instance.service main %d" % signal.SIGUSR2] * ROTATIONS)
        self.assert_each_line_once(written)


class TestCopytruncateLoss(WriterCase):
    """copytruncate cannot be lossless with a writer that keeps writing; measure it, ours next to
    logrotate's, and check that what is kept is whole, in order and never duplicated."""

    def measure(self, rotate_once, ours=True):
        """Returns (written, lost, duplicated). Ours must never duplicate a line; logrotate's
        copytruncate can (a line written between its copy and its truncate), so for it the
        duplicates are counted and reported, not asserted."""
        self.start_writer()
        for _ in range(ROTATIONS):
            rotate_once()
            self.wait_written(100000)   # the writer goes on writing into the truncated log
        written = self.stop_writer()
        numbers = self.lines_everywhere()
        duplicated = len(numbers) - len(set(numbers))
        if ours:
            self.assertEqual(duplicated, 0, "duplicated lines")
        return written, written - len(set(numbers)), duplicated

    def test_copytruncate_loss_next_to_logrotate(self):
        attrs = {"sets": {"w": {"paths": ["/var/log/app/w.log"], "size": 1, "rotate": 10,
                                "method": "copytruncate", "compress": "none"}}}

        def ours():
            r = self.run_recipe(attrs)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

        written, lost, _ = self.measure(ours)
        self.stop_writer()
        for n in os.listdir(self.path("var/log/app")):
            os.unlink(os.path.join(self.path("var/log/app"), n))
        os.unlink(self.pidfile)
        conf = self.write("logrotate.conf", "%s {\n  size 1\n  rotate 10\n  copytruncate\n}\n" % self.log)
        state = os.path.join(self.tmp, "logrotate.state")

        def theirs():
            r = subprocess.run([LOGROTATE, "-s", state, conf], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)

        lr_written, lr_lost, lr_dup = self.measure(theirs, ours=False)
        print("# copytruncate over %d rotations: opsagent lost %d of %d lines (%.3f%%), logrotate lost %d of %d "
              "(%.3f%%) and duplicated %d" % (ROTATIONS, lost, written, 100.0 * lost / written, lr_lost, lr_written,
                                            100.0 * lr_lost / lr_written, lr_dup))


if __name__ == "__main__":
    tap.main()
