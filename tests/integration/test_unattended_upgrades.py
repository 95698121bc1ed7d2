"""Recipe unattended_upgrades against a sandbox root: apt itself (apt-config) reads what the
recipe wrote, dnf-automatic's and yum-cron's files parse as INI, systemd's Manager is
python3-dbusmock on a private dbus-daemon, and the run is idempotent, dry-runnable and
refuses bad input."""
import configparser
import os
import shutil
import subprocess
import tempfile
import unittest

import harness
import tap
from logrotate_helper import kill9

DATA = os.path.join(harness.DATA, "unattended_upgrades")
RECIPE = "unattended_upgrades"
PERIODIC = "etc/apt/apt.conf.d/20auto-upgrades"
OWNED = "etc/apt/apt.conf.d/90opsagent-unattended-upgrades"
DNF_CONF = "etc/dnf/automatic.conf"
YUM_CONF = "etc/yum/yum-cron.conf"
APT_TIMERS = ["apt-daily.timer", "apt-daily-upgrade.timer"]
ALL_UNITS = APT_TIMERS + ["dnf-automatic-install.timer", "yum-cron.service"]
SEED = {"package_blacklist": [], "enable": True, "mail": "youremail@here",
        "auto_fix_interrupted_dpkg": True}
SYSTEM_PYTHON = "/usr/bin/python3"   # the one with python3-dbusmock

DBUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={sock}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

# Manager methods the dbusmock systemd template lacks: (name, in, out, python code). The
# enablement state is kept per unit so that a second enable reports no change.
_SET_STATE = "st = self.__dict__.setdefault('unit_file_states', {})\nfor u in args[0]: st[str(u)] = %r\n"
EXTRA_METHODS = [
    ("EnableUnitFiles", "asbb", "ba(sss)", _SET_STATE % "enabled" +
     "ret = (False, [('symlink', '/etc/systemd/system/timers.target.wants/' + u, '/lib/systemd/system/' + u)"
     " for u in args[0]])"),
    ("DisableUnitFiles", "asb", "a(sss)", _SET_STATE % "disabled" +
     "ret = [('unlink', '/etc/systemd/system/timers.target.wants/' + u, '') for u in args[0]]"),
    ("Reload", "", "", ""),
    ("Subscribe", "", "", ""),
    ("GetUnitFileState", "s", "s",
     "once = self.__dict__.setdefault('unit_file_state_fails_once', set())\n"
     "if str(args[0]) in once:\n"
     "    once.discard(str(args[0]))\n"
     "    raise dbus.exceptions.DBusException('Access denied', name='org.freedesktop.DBus.Error.AccessDenied')\n"
     "ret = self.__dict__.get('unit_file_states', {}).get(str(args[0]), 'disabled')"),
    # The next GetUnitFileState of the unit fails, the ones after it answer again.
    ("MockFailUnitFileStateOnce", "s", "",
     "self.__dict__.setdefault('unit_file_state_fails_once', set()).add(str(args[0]))"),
    ("LoadUnit", "s", "o", "ret = self.units[str(args[0])]"),
]


def have_systemd_mock():
    if not (shutil.which("dbus-daemon") and shutil.which("busctl") and os.access(SYSTEM_PYTHON, os.X_OK)):
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "import dbusmock"], capture_output=True).returncode == 0


class SystemdMock:
    """A private system bus with dbusmock playing systemd's Manager; calls land in a log."""

    def __init__(self, tmp):
        self.tmp = tmp
        sock = os.path.join(tmp, "system_bus_socket")
        conf = os.path.join(tmp, "bus.conf")
        with open(conf, "w") as f:
            f.write(DBUS_CONFIG.format(sock=sock))
        self.address = "unix:path=" + sock
        self.log = os.path.join(tmp, "systemd-calls.log")
        self.bus = subprocess.Popen(["dbus-daemon", "--config-file=" + conf, "--nofork", "--nopidfile"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait(lambda: os.path.exists(sock), "dbus-daemon socket")
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address)
        self.mock = subprocess.Popen([SYSTEM_PYTHON, "-m", "dbusmock", "--system", "-l", self.log,
                                      "--template", "systemd"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait(lambda: self._busctl("status", "org.freedesktop.systemd1").returncode == 0,
                   "dbusmock's systemd1")
        for unit in ALL_UNITS:
            self.call("org.freedesktop.DBus.Mock", "AddMockUnit", "s", unit)
        for name, sig_in, sig_out, code in EXTRA_METHODS:
            self.call("org.freedesktop.DBus.Mock", "AddMethod", "sssss",
                      "org.freedesktop.systemd1.Manager", name, sig_in, sig_out, code)

    def _busctl(self, *args):
        return subprocess.run(["busctl", "--address=" + self.address] + list(args),
                              capture_output=True, text=True, timeout=30)

    def _wait(self, ready, what):
        """A readiness poll with a deadline (dbusmock is slow to start on a loaded machine)."""
        if not harness.wait_until(ready, step=0.05):
            raise RuntimeError("%s did not come up within %d s" % (what, harness.DEADLINE))

    def call(self, iface, method, sig, *args):
        r = self._busctl("call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1", iface, method,
                         sig, *args)
        if r.returncode != 0:
            raise RuntimeError("busctl %s: %s" % (method, r.stderr))
        return r.stdout

    def reset(self):
        """Every unit stopped and disabled, as on a fresh instance."""
        self.call("org.freedesktop.systemd1.Manager", "DisableUnitFiles", "asb", str(len(ALL_UNITS)),
                  *ALL_UNITS, "false")
        for unit in ALL_UNITS:
            self.call("org.freedesktop.systemd1.Manager", "StopUnit", "ss", unit, "replace")

    def switch_on(self, unit):
        """UNIT enabled and running, as if someone had done it by hand."""
        self.call("org.freedesktop.systemd1.Manager", "EnableUnitFiles", "asbb", "1", unit, "false", "true")
        self.call("org.freedesktop.systemd1.Manager", "StartUnit", "ss", unit, "replace")

    def mark(self):
        """Where the call log ends now; calls() reads from there."""
        return os.path.getsize(self.log) if os.path.exists(self.log) else 0

    def calls(self, since=0):
        """[(method, args text)] called since MARK (set-up calls and signals left out)."""
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            f.seek(since)
            out = []
            for line in f.read().splitlines():
                parts = line.split(" ", 2)
                if len(parts) >= 2 and parts[1] not in ("AddMockUnit", "AddMethod", "emit"):
                    out.append((parts[1], parts[2] if len(parts) > 2 else ""))
            return out

    def close(self):
        for p in (self.mock, self.bus):
            p.terminate()
            try:
                p.wait(timeout=harness.DEADLINE)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def apt_config_dump(root):
    """apt's own view of ROOT's configuration: {key: value} and {list key: [items]}."""
    conf = os.path.join(root, "apt-test.conf")
    with open(conf, "w") as f:
        f.write('Dir "%s/";\n' % root)
    env = dict(os.environ, APT_CONFIG=conf)
    r = subprocess.run(["apt-config", "dump"], env=env, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("apt-config dump failed: " + r.stderr)
    scalars, lists = {}, {}
    for line in r.stdout.splitlines():
        key, _, rest = line.partition(" ")
        value = rest[1:-2] if rest.startswith('"') and rest.endswith('";') else rest
        if key.endswith("::"):
            lists.setdefault(key[:-2], []).append(value)
        else:
            scalars[key] = value
    return scalars, lists


@unittest.skipUnless(shutil.which("apt-config"), "apt-config not installed")
@unittest.skipUnless(have_systemd_mock(), "dbus-daemon, busctl or python3-dbusmock missing")
class UnattendedUpgrades(harness.AgentTestCase):
    @classmethod
    def setUpClass(cls):
        cls.bus_tmp = tempfile.mkdtemp(prefix="opsagent-uu-bus-")
        cls.systemd = SystemdMock(cls.bus_tmp)

    @classmethod
    def tearDownClass(cls):
        cls.systemd.close()
        shutil.rmtree(cls.bus_tmp, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = self.systemd.address
        self.systemd.reset()
        self.mark = self.systemd.mark()

    # -- sandbox helpers ------------------------------------------------------------------
    def system(self, os_release, package_files=True):
        """A root that looks like a freshly booted OS_RELEASE system with its update tool's
        package files (package_files) as the package ships them."""
        with open(os.path.join(DATA, "os-release", os_release)) as f:
            self.write("etc/os-release", f.read())
        if not package_files:
            return
        if os_release in ("debian-12", "ubuntu-24.04"):
            flavour = "debian" if os_release == "debian-12" else "ubuntu"
            with open(os.path.join(DATA, "50unattended-upgrades." + flavour)) as f:
                self.write("etc/apt/apt.conf.d/50unattended-upgrades", f.read())
            with open(os.path.join(DATA, "20auto-upgrades.package")) as f:
                self.write(PERIODIC, f.read())
            self.write("usr/bin/unattended-upgrade", "#!/bin/sh\n", 0o755)
        elif os_release == "amzn-2023":
            with open(os.path.join(DATA, "automatic.conf.al2023")) as f:
                self.write(DNF_CONF, f.read())
            self.write("usr/bin/dnf-automatic", "#!/bin/sh\n", 0o755)
        elif os_release == "amzn-2":
            os.makedirs(self.path("etc/yum"), exist_ok=True)
            self.write("usr/sbin/yum-cron", "#!/bin/sh\n", 0o755)

    def attrs(self, uu):
        self.write_json("etc/opsagent/stack.json", {"apt": {"unattended_upgrades": uu}})

    def run_recipe(self, *extra):
        return self.agent("run", "--recipe", RECIPE, *extra)

    def run_ok(self, *extra):
        r = self.run_recipe(*extra)
        self.assertEqual(r.returncode, 0, "stdout:\n%s\nstderr:\n%s" % (r.stdout, r.stderr))
        return r

    def read(self, rel):
        with open(self.path(rel)) as f:
            return f.read()

    def unit_calls(self):
        return self.systemd.calls(self.mark)

    # -- apt: apt-config reads what the recipe wrote --------------------------------------
    def test_apt_config_shows_every_attribute(self):
        self.system("debian-12")
        self.attrs({"enable": True, "update_package_lists": False, "package_blacklist": ["mysql-server"],
                    "auto_fix_interrupted_dpkg": True, "minimal_steps": True, "install_on_shutdown": True,
                    "mail": "ops@example.com", "mail_only_on_error": False,
                    "remove_unused_dependencies": True, "automatic_reboot": True,
                    "automatic_reboot_time": "02:30", "dl_limit": 70,
                    "allowed_origins": ["Debian:bookworm-security"]})
        self.run_ok()
        scalars, lists = apt_config_dump(self.root)
        expect = {
            "APT::Periodic::Unattended-Upgrade": "1",
            "APT::Periodic::Update-Package-Lists": "0",
            "Unattended-Upgrade::AutoFixInterruptedDpkg": "true",
            "Unattended-Upgrade::MinimalSteps": "true",
            "Unattended-Upgrade::InstallOnShutdown": "true",
            "Unattended-Upgrade::Mail": "ops@example.com",
            "Unattended-Upgrade::MailOnlyOnError": "false",
            "Unattended-Upgrade::MailReport": "always",
            "Unattended-Upgrade::Remove-Unused-Dependencies": "true",
            "Unattended-Upgrade::Automatic-Reboot": "true",
            "Unattended-Upgrade::Automatic-Reboot-Time": "02:30",
            "Acquire::http::Dl-Limit": "70",
        }
        for key, value in expect.items():
            self.assertEqual(scalars.get(key), value, key)
        self.assertEqual(lists.get("Unattended-Upgrade::Allowed-Origins"), ["Debian:bookworm-security"])
        # Debian's Origins-Pattern would widen the origins: it must be gone.
        self.assertNotIn("Unattended-Upgrade::Origins-Pattern", lists)
        self.assertEqual(lists.get("Unattended-Upgrade::Package-Blacklist"), ["mysql-server"])

    def test_seed_custom_json(self):
        self.system("debian-12")
        self.attrs(SEED)
        self.run_ok()
        scalars, lists = apt_config_dump(self.root)
        self.assertEqual(scalars.get("APT::Periodic::Unattended-Upgrade"), "1")
        self.assertEqual(scalars.get("Unattended-Upgrade::Mail"), "youremail@here")
        self.assertEqual(scalars.get("Unattended-Upgrade::AutoFixInterruptedDpkg"), "true")
        # The distribution's blacklist (libc6$, libc6-dev$ in the fixture) is replaced by [].
        self.assertEqual(lists.get("Unattended-Upgrade::Package-Blacklist", []), [])

    def test_blacklist_holds_exactly_the_configured_packages(self):
        self.system("debian-12")
        self.attrs({"enable": True, "package_blacklist": ["linux-image-.*", "mysql-server", "nginx"]})
        self.run_ok()
        _, lists = apt_config_dump(self.root)
        self.assertEqual(lists.get("Unattended-Upgrade::Package-Blacklist"),
                         ["linux-image-.*", "mysql-server", "nginx"])

    def test_no_mail_clears_the_distribution_address(self):
        self.system("debian-12")   # its 50unattended-upgrades mails root
        self.attrs({"enable": True})
        self.run_ok()
        scalars, _ = apt_config_dump(self.root)
        self.assertEqual(scalars.get("Unattended-Upgrade::Mail", ""), "")
        self.assertNotIn("Acquire::http::Dl-Limit", scalars)

    def test_default_origins_debian(self):
        self.system("debian-12")
        self.attrs({"enable": True})
        self.run_ok()
        _, lists = apt_config_dump(self.root)
        self.assertEqual(lists.get("Unattended-Upgrade::Origins-Pattern"), [
            "origin=Debian,codename=${distro_codename},label=Debian",
            "origin=Debian,codename=${distro_codename},label=Debian-Security",
            "origin=Debian,codename=${distro_codename}-security,label=Debian-Security",
        ])
        self.assertNotIn("Unattended-Upgrade::Allowed-Origins", lists)

    def test_default_origins_ubuntu(self):
        self.system("ubuntu-24.04")
        self.attrs({"enable": True})
        self.run_ok()
        _, lists = apt_config_dump(self.root)
        self.assertEqual(lists.get("Unattended-Upgrade::Allowed-Origins"), [
            "${distro_id}:${distro_codename}",
            "${distro_id}:${distro_codename}-security",
            "${distro_id}ESMApps:${distro_codename}-apps-security",
            "${distro_id}ESM:${distro_codename}-infra-security",
        ])
        self.assertNotIn("Unattended-Upgrade::Origins-Pattern", lists)

    def test_toggling_enable_flips_apt_and_the_timers(self):
        self.system("debian-12")
        self.attrs({"enable": True})
        self.run_ok()
        scalars, _ = apt_config_dump(self.root)
        self.assertEqual(scalars.get("APT::Periodic::Unattended-Upgrade"), "1")
        calls = self.unit_calls()
        for unit in APT_TIMERS:
            self.assertTrue(any(m == "StartUnit" and unit in a for m, a in calls), (unit, calls))
            self.assertTrue(any(m == "EnableUnitFiles" and unit in a for m, a in calls), (unit, calls))
        self.assertFalse(any(m in ("StopUnit", "DisableUnitFiles") for m, _ in calls), calls)

        self.mark = self.systemd.mark()
        self.attrs({"enable": False})
        self.run_ok()
        scalars, _ = apt_config_dump(self.root)
        self.assertEqual(scalars.get("APT::Periodic::Unattended-Upgrade"), "0")
        calls = self.unit_calls()
        for unit in APT_TIMERS:
            self.assertTrue(any(m == "StopUnit" and unit in a for m, a in calls), (unit, calls))
            self.assertTrue(any(m == "DisableUnitFiles" and unit in a for m, a in calls), (unit, calls))
        self.assertFalse(any(m in ("StartUnit", "EnableUnitFiles") for m, _ in calls), calls)

    def test_enable_null_leaves_the_os_defaults_alone(self):
        # Issue 16: with enable not given, the OS's own automatic updates stay as they are:
        # 20auto-upgrades byte for byte, no timer touched, nothing installed.
        self.system("debian-12")
        before = self.read(PERIODIC)
        self.attrs({"package_blacklist": ["mysql-server"]})
        r = self.run_ok()
        self.assertEqual(self.read(PERIODIC), before)
        self.assertEqual([c for c in self.unit_calls() if c[0] != "GetUnitFileState"], [])
        self.assertIn("automatic updates left as the system has them", r.stdout)
        self.assertIn("mysql-server", self.read("etc/apt/apt.conf.d/90opsagent-unattended-upgrades"))

    def test_enable_false_turns_them_off_with_a_warning(self):
        self.system("debian-12")
        self.attrs({"enable": False})
        r = self.run_ok()
        self.assertIn("apt.unattended_upgrades.enable is false: automatic OS updates, security updates included, "
                      "are turned off", r.stderr)
        scalars, _ = apt_config_dump(self.root)
        self.assertEqual(scalars.get("APT::Periodic::Unattended-Upgrade"), "0")

    def test_timers_already_enabled_are_left_alone(self):
        self.system("debian-12")
        self.attrs({"enable": True})
        self.run_ok()
        self.mark = self.systemd.mark()
        r = self.run_ok()
        self.assertIn("already enabled (unchanged)", r.stdout)
        calls = self.unit_calls()
        self.assertFalse(any(m in ("StartUnit", "EnableUnitFiles", "Reload") for m, _ in calls), calls)

    def test_sandbox_without_a_bus_leaves_host_systemd_alone(self):
        self.system("debian-12")
        self.env.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
        self.attrs({"enable": False})
        r = self.run_ok()
        self.assertIn("the host's systemd is left alone", r.stdout)
        self.assertEqual(self.unit_calls(), [])

    def test_unit_whose_state_cannot_be_read_is_not_changed(self):
        # Its state before is what setup --undo and purge put back: unread, the change is
        # not made (and not made for the other timer either), and the error names the unit.
        self.system("debian-12")
        self.attrs({"enable": True})
        self.systemd.call("org.freedesktop.systemd1.Manager", "MockFailUnitFileStateOnce", "s", APT_TIMERS[0])
        r = self.run_recipe()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("%s: not enabled and started: its state cannot be read to record it for setup --undo"
                      % APT_TIMERS[0], r.stdout + r.stderr)
        self.assertIn("org.freedesktop.DBus.Error.AccessDenied", r.stdout + r.stderr)
        calls = self.unit_calls()
        self.assertFalse(any(m in ("StartUnit", "EnableUnitFiles", "StopUnit", "DisableUnitFiles")
                             for m, _ in calls), calls)
        # The next run, with the state readable again, makes the change.
        self.run_ok()
        self.assertTrue(any(m == "EnableUnitFiles" and APT_TIMERS[0] in a for m, a in self.unit_calls()))

    def test_metric_upgrades_enabled(self):
        self.system("debian-12")
        for enable, want in ((True, 1), (False, 0)):
            self.attrs({"enable": enable})
            self.run_ok()
            runs = self.agent_json("history", "--recipe", RECIPE, "--limit", "1", "--json")
            metrics = {m["name"]: m["value"] for m in runs[0]["metrics"]}
            self.assertEqual(metrics.get("UpgradesEnabled"), want, runs[0])

    # -- dnf and yum -----------------------------------------------------------------------
    def test_dnf_automatic_on_amazon_linux_2023(self):
        self.system("amzn-2023")
        self.attrs({"enable": True, "package_blacklist": ["kernel*", "docker"], "mail": "ops@example.com",
                    "allowed_origins": ["amazonlinux:security"], "automatic_reboot": True, "dl_limit": 500})
        self.run_ok()
        conf = configparser.ConfigParser(interpolation=None)
        conf.read(self.path(DNF_CONF))
        self.assertEqual(conf["commands"]["apply_updates"], "yes")
        self.assertEqual(conf["commands"]["download_updates"], "yes")
        self.assertEqual(conf["commands"]["upgrade_type"], "security")
        self.assertEqual(conf["commands"]["reboot"], "when-needed")
        self.assertEqual(conf["base"]["excludepkgs"].split(), ["kernel*", "docker"])
        self.assertEqual(conf["base"]["throttle"], "500k")
        self.assertEqual(conf["email"]["email_to"], "ops@example.com")
        self.assertIn("email", conf["emitters"]["emit_via"].split(","))
        calls = self.unit_calls()
        self.assertTrue(any(m == "StartUnit" and "dnf-automatic-install.timer" in a for m, a in calls), calls)
        self.assertFalse(any("apt-daily" in a for _, a in calls), calls)

    def test_dnf_disabled_applies_nothing(self):
        self.system("amzn-2023")
        self.systemd.switch_on("dnf-automatic-install.timer")   # enabled by hand earlier
        self.mark = self.systemd.mark()
        self.attrs({"enable": False})
        r = self.run_ok()
        conf = configparser.ConfigParser(interpolation=None)
        conf.read(self.path(DNF_CONF))
        self.assertEqual(conf["commands"]["apply_updates"], "no")
        self.assertEqual(conf["commands"]["upgrade_type"], "default")
        self.assertNotIn("excludepkgs", conf["base"])
        calls = self.unit_calls()
        self.assertTrue(any(m == "StopUnit" and "dnf-automatic-install.timer" in a for m, a in calls), (calls, r.stdout, r.stderr))

    def test_yum_cron_on_amazon_linux_2(self):
        self.system("amzn-2")
        self.attrs({"enable": True, "package_blacklist": ["kernel*"], "minimal_steps": True})
        r = self.run_ok()
        conf = configparser.ConfigParser(interpolation=None)
        conf.read(self.path(YUM_CONF))
        self.assertEqual(conf["commands"]["apply_updates"], "yes")
        self.assertEqual(conf["commands"]["update_cmd"], "default")
        self.assertEqual(conf["base"]["exclude"], "kernel*")
        self.assertIn("minimal_steps", r.stdout + r.stderr)   # warned: no yum-cron equivalent
        calls = self.unit_calls()
        self.assertTrue(any(m == "StartUnit" and "yum-cron.service" in a for m, a in calls), calls)

    def test_comma_in_blacklist_refused_on_dnf(self):
        self.system("amzn-2023")
        before = self.read(DNF_CONF)
        self.attrs({"enable": True, "package_blacklist": ["a,b"]})
        r = self.run_recipe()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("package_blacklist[0]", r.stdout + r.stderr)
        self.assertEqual(self.read(DNF_CONF), before)

    # -- packages ---------------------------------------------------------------------------
    def test_missing_tool_is_only_announced_under_a_root(self):
        self.system("debian-12", package_files=False)
        self.attrs({"enable": True, "mail": "ops@example.com"})
        r = self.run_ok()
        self.assertIn("would install unattended-upgrades bsd-mailx", r.stdout)
        self.assertFalse(os.path.exists(self.path("usr/bin/unattended-upgrade")))

    def test_installed_tool_is_left_alone(self):
        self.system("debian-12")
        self.write("usr/bin/mail", "#!/bin/sh\n", 0o755)
        self.attrs({"enable": True, "mail": "ops@example.com"})
        r = self.run_ok()
        self.assertNotIn("install", r.stdout.replace("InstallOnShutdown", ""))

    def test_install_packages_false(self):
        self.system("amzn-2023", package_files=False)
        os.makedirs(self.path("etc/dnf"))
        self.attrs({"enable": True, "install_packages": False})
        r = self.run_ok()
        self.assertNotIn("would install", r.stdout)

    # -- idempotence and dry run ----------------------------------------------------------
    def test_second_run_changes_nothing(self):
        self.system("debian-12")
        self.attrs(SEED)
        first = self.run_ok()
        self.assertIn("updated", first.stdout)
        inodes = {rel: os.stat(self.path(rel)).st_ino for rel in (PERIODIC, OWNED)}
        second = self.run_ok()
        for rel in (PERIODIC, OWNED):
            self.assertIn("/" + rel + ": unchanged", second.stdout)
            self.assertEqual(os.stat(self.path(rel)).st_ino, inodes[rel], rel)   # not rewritten
        self.assertNotIn("updated", second.stdout)

    def test_dry_run_prints_the_diff_and_writes_nothing(self):
        self.system("debian-12")
        before = self.read(PERIODIC)
        self.attrs({"enable": False})
        r = self.run_ok("--dry-run")
        self.assertIn('-APT::Periodic::Unattended-Upgrade "1";', r.stdout)
        self.assertIn('+APT::Periodic::Unattended-Upgrade "0";', r.stdout)
        self.assertIn('+Unattended-Upgrade::Package-Blacklist {', r.stdout)
        self.assertEqual(self.read(PERIODIC), before)
        self.assertFalse(os.path.exists(self.path(OWNED)))
        calls = self.unit_calls()
        self.assertFalse(any(m in ("StartUnit", "StopUnit", "EnableUnitFiles", "DisableUnitFiles")
                             for m, _ in calls), calls)

    def test_kill9_while_switching_the_timers(self):
        """kill -9 of the run in the middle of its systemd calls (the files are written first,
        each atomically): both files whole, no temporary left; the next run finds the files as
        wanted and switches the timers on."""
        self.system("debian-12")
        self.attrs(SEED)
        hold, entered = os.path.join(self.tmp, "hold"), os.path.join(self.tmp, "entered")
        name, sig_in, sig_out, code = [m for m in EXTRA_METHODS if m[0] == "EnableUnitFiles"][0]
        holding = ("import os, time\nopen(%r, 'w').close()\nwhile os.path.exists(%r):\n    time.sleep(0.02)\n"
                   % (entered, hold)) + code
        open(hold, "w").close()
        self.addCleanup(self.systemd.call, "org.freedesktop.DBus.Mock", "AddMethod", "sssss",
                        "org.freedesktop.systemd1.Manager", name, sig_in, sig_out, code)
        self.addCleanup(lambda: os.path.exists(hold) and os.unlink(hold))
        self.systemd.call("org.freedesktop.DBus.Mock", "AddMethod", "sssss",
                          "org.freedesktop.systemd1.Manager", name, sig_in, sig_out, holding)
        p = subprocess.Popen([harness.OPSAGENT, "--root", self.root, "run", "--recipe", RECIPE], env=self.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.assertTrue(harness.wait_until(lambda: os.path.exists(entered) or p.poll() is not None),
                        "the run never reached EnableUnitFiles")
        self.assertIsNone(p.poll(), "the run ended before it could be killed")
        kill9(p)
        os.unlink(hold)                     # the mock finishes the call the dead run made
        self.systemd.call("org.freedesktop.DBus.Mock", "AddMethod", "sssss",
                          "org.freedesktop.systemd1.Manager", name, sig_in, sig_out, code)
        self.assertEqual(sorted(os.listdir(self.path("etc/apt/apt.conf.d"))),
                         sorted(["50unattended-upgrades", os.path.basename(PERIODIC), os.path.basename(OWNED)]))
        written = {rel: self.read(rel) for rel in (PERIODIC, OWNED)}
        scalars, _ = apt_config_dump(self.root)
        self.assertEqual(scalars.get("APT::Periodic::Unattended-Upgrade"), "1")
        self.mark = self.systemd.mark()
        r = self.run_ok()
        for rel in (PERIODIC, OWNED):
            self.assertIn("/" + rel + ": unchanged", r.stdout)
            self.assertEqual(self.read(rel), written[rel])
        calls = self.unit_calls()
        for unit in APT_TIMERS:
            self.assertTrue(any(m == "StartUnit" and unit in a for m, a in calls), (unit, calls))

    # -- bad input ------------------------------------------------------------------------
    def assert_nothing_written(self):
        self.assertFalse(os.path.exists(self.path(OWNED)))
        with open(os.path.join(DATA, "20auto-upgrades.package")) as f:
            self.assertEqual(self.read(PERIODIC), f.read())

    def test_string_for_package_blacklist_exits_2(self):
        self.system("debian-12")
        self.attrs({"enable": True, "package_blacklist": "mysql-server"})
        r = self.run_recipe()
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("apt.unattended_upgrades.package_blacklist", r.stderr)
        self.assertIn("expected array, found string", r.stderr)
        self.assert_nothing_written()

    def test_schema_is_precise(self):
        """The schema types every key: list items, nullable strings, the dl_limit range."""
        self.system("debian-12")
        for bad, needle in (({"allowed_origins": [1]}, "allowed_origins[0]"),
                            ({"mail": False}, "apt.unattended_upgrades.mail"),
                            ({"dl_limit": 0}, "apt.unattended_upgrades.dl_limit"),
                            ({"dl_limit": 10000001}, "apt.unattended_upgrades.dl_limit"),
                            ({"automatic_reboot": "yes"}, "apt.unattended_upgrades.automatic_reboot")):
            self.attrs(dict(bad, enable=True))
            r = self.run_recipe()
            self.assertEqual(r.returncode, 2, (bad, r.stdout + r.stderr))
            self.assertIn(needle, r.stderr)
            self.assert_nothing_written()

    def test_misspelled_key_gets_did_you_mean(self):
        self.system("debian-12")
        self.attrs({"enable": True, "package_blacklst": ["mysql-server"]})
        r = self.run_recipe()
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("package_blacklst", r.stderr)
        self.assertIn("did you mean", r.stderr)
        self.assertIn("package_blacklist", r.stderr.replace("package_blacklst", ""))
        self.assert_nothing_written()

    def test_value_the_files_cannot_hold_fails_naming_the_key(self):
        self.system("debian-12")
        self.attrs({"enable": True, "automatic_reboot_time": "tomorrow"})
        r = self.run_recipe()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("apt.unattended_upgrades.automatic_reboot_time", r.stdout + r.stderr)
        self.assert_nothing_written()

    def test_read_only_filesystem_is_one_error_naming_the_file(self):
        """/etc/apt/apt.conf.d on a read-only filesystem: one error naming the first file it
        could not write, nothing written, no temporary left, systemd left alone."""
        self.system("debian-12")
        d = self.path("etc/apt/apt.conf.d")
        saved = {n: self.read("etc/apt/apt.conf.d/" + n) for n in os.listdir(d)}
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", d],
                          capture_output=True).returncode != 0:
            self.skipTest("cannot mount a tmpfs here (needs root)")
        self.addCleanup(subprocess.run, ["umount", d], capture_output=True)
        for n, text in saved.items():
            self.write("etc/apt/apt.conf.d/" + n, text)
        subprocess.run(["mount", "-o", "remount,ro", d], check=True)
        self.attrs(SEED)
        r = self.run_recipe()
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 1, out)
        errors = [line for line in r.stderr.splitlines() if ": error: " in line]
        self.assertEqual(len(errors), 1, out)
        self.assertIn("/" + PERIODIC + ": cannot write: Read-only file system", errors[0])
        self.assertIn("FAILED after", out)
        self.assertEqual({n: self.read("etc/apt/apt.conf.d/" + n) for n in os.listdir(d)}, saved)
        calls = self.unit_calls()
        self.assertFalse(any(m in ("StartUnit", "StopUnit", "EnableUnitFiles", "DisableUnitFiles")
                             for m, _ in calls), calls)

    def test_missing_os_release_names_the_path(self):
        self.attrs(SEED)
        r = self.run_recipe()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(self.path("etc/os-release"), r.stdout + r.stderr)
        self.assertFalse(os.path.exists(self.path(PERIODIC)))
        self.assertEqual([c for c in self.unit_calls() if c[0] != "GetUnitFileState"], [])

    def test_unknown_system_names_its_id(self):
        self.system("arch")
        self.attrs(SEED)
        r = self.run_recipe()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("ID=arch", r.stdout + r.stderr)


if __name__ == "__main__":
    tap.main()
