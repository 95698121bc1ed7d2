"""Issue 14 as an attacker with an ordinary local account would try it: a real unprivileged
user (created with useradd, removed afterwards) writes what it can, and the agent, run as
root on a --root sandbox, must refuse with a clear message and change nothing.

The user's steps run in a forked child that has dropped to the user (setgroups, setgid,
setuid) and acts through directory descriptors opened before the drop: so the kernel checks
exactly what that user may do in those directories, and nothing depends on whether the user
could reach them from "/" (on some build machines "/" itself is mode 0700).

Each test names the class of attack it covers, in brackets:
  [config-trust]   configuration (stack.json, layers, local.json, -j, /etc/opsagent and the
                   directories above) that someone other than root could write
  [plugin-trust]   a plugin directory or .so the user can write
  [state-trust]    a state, run or recipe state directory the user can write
  [path]           "..", NUL and empty components in path attributes (logrotate's CVE class
                   of paths that escape their directory; issue 14 hole 4)
  [symlink]        a link planted on the way to a file the agent writes (logrotate's symlink
                   CVE class, outside logrotate itself: the context's file ops)
  [command-origin] a command attribute from a file the user can write
  [command-env]    what a command from configuration sees
logrotate's own classes (pid files, privilege drop, symlinks and races in log directories,
hard links) are tested with the logrotate recipe.
"""
import grp
import json
import os
import pwd
import random
import shutil
import signal
import stat
import subprocess
import unittest

import harness
import tap

PLUGINS = os.environ.get("OPSAGENT_TEST_PLUGIN_DIR",
                         os.path.join(harness.BUILDDIR, "tests", "unit", "plugins", ".libs"))
CAN_CREATE_USER = os.geteuid() == 0 and shutil.which("useradd") and shutil.which("userdel")
WHY_NOT = "needs root and useradd/userdel to create an unprivileged user (run the suite as root)"


class User:
    """A throwaway unprivileged user with its own group."""

    def __init__(self):
        self.name = "opsagent-sec%04d" % random.randrange(10000)
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", self.name], check=True, capture_output=True)
        pw = pwd.getpwnam(self.name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.group = grp.getgrgid(self.gid).gr_name

    def remove(self):
        subprocess.run(["userdel", self.name], capture_output=True)
        try:
            grp.getgrnam(self.name)
            subprocess.run(["groupdel", self.name], capture_output=True)
        except KeyError:
            pass


class UserCase(harness.AgentTestCase):
    """A sandbox, and a throwaway user to act as (the helpers of every attack below)."""

    @classmethod
    def setUpClass(cls):
        cls.user = User()

    @classmethod
    def tearDownClass(cls):
        cls.user.remove()

    def setUp(self):
        super().setUp()
        self.env["OPSAGENT_PLUGIN_PATH"] = PLUGINS + ":" + os.environ.get("OPSAGENT_PLUGIN_PATH", "")
        self.marker = os.path.join(self.tmp, "pwned")
        self.fds = []

    def tearDown(self):
        for fd in self.fds:
            os.close(fd)
        super().tearDown()

    # -- helpers ----------------------------------------------------------------------------
    def dirfd(self, rel):
        """A descriptor of the sandbox's directory REL (an absolute path: that directory)."""
        fd = os.open(rel if os.path.isabs(rel) else self.path(rel), os.O_RDONLY | os.O_DIRECTORY)
        self.fds.append(fd)
        return fd

    def as_user(self, step):
        """Runs STEP() in a child that is the unprivileged user (no way back to root)."""
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.setgroups([self.user.gid])
                os.setgid(self.user.gid)
                os.setuid(self.user.uid)
                assert os.getresuid() == (self.user.uid,) * 3
                step()
                code = 0
            except BaseException as e:  # noqa: B902 -- report anything, then leave
                os.write(2, ("as %s: %r\n" % (self.user.name, e)).encode())
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, "the user's step failed")

    @staticmethod
    def put(dirfd, name, obj, mode=None):
        """As whoever calls it: writes OBJ as JSON to NAME in DIRFD (creating it)."""
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=dirfd)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(obj))
        if mode is not None:
            os.chmod(name, mode, dir_fd=dirfd)


@unittest.skipUnless(CAN_CREATE_USER, WHY_NOT)
class Attack(UserCase):
    def evil(self):
        """Attributes that make root run a command: what the attacker writes."""
        return {"zodb_pack": {"method": "command", "command": ["/usr/bin/touch", self.marker]}}

    def run_zodb(self, *extra, env=None):
        r = self.agent("run", "--recipe", "zodb_pack", "--no-report", *extra, env=env)
        r.output = r.stdout + r.stderr
        return r

    def assertRefused(self, r, *words):
        self.assertEqual(r.returncode, 2, r.output)
        self.assertIn("refusing to use it", r.stderr)
        for w in words:
            self.assertIn(w, r.stderr)
        self.assertFalse(os.path.exists(self.marker), "the attacker's command ran")
        self.assertFalse(os.path.exists(self.path("var/lib/opsagent/runs")), "something ran")

    def owner_mode(self):
        return "owned by %s (uid %d)" % (self.user.name, self.user.uid)

    # -- [config-trust] ---------------------------------------------------------------------
    def test_stack_json_writable_by_everyone(self):
        """[config-trust] stack.json at 0666 (root's): the user rewrites it; refused."""
        self.write_json("etc/opsagent/stack.json", {}, mode=0o666)
        etc = self.dirfd("etc/opsagent")
        self.as_user(lambda: self.put(etc, "stack.json", self.evil()))
        r = self.run_zodb()
        f = self.path("etc/opsagent/stack.json")
        self.assertRefused(r, "configuration file %s" % f, "mode 0666", "run: chmod go-w %s" % f)

    def test_stack_json_owned_by_the_user(self):
        """[config-trust] stack.json given to the user (0644, 0600): its owner rewrites it; refused."""
        for mode in (0o644, 0o600):
            self.write_json("etc/opsagent/stack.json", {}, mode=mode)
            os.chown(self.path("etc/opsagent/stack.json"), self.user.uid, self.user.gid)
            etc = self.dirfd("etc/opsagent")
            self.as_user(lambda: self.put(etc, "stack.json", self.evil()))
            r = self.run_zodb()
            f = self.path("etc/opsagent/stack.json")
            self.assertRefused(r, self.owner_mode(), "mode %04o" % mode, "run: chown root:root %s" % f)

    def test_stack_json_writable_by_a_group(self):
        """[config-trust] stack.json root:USERGROUP 0664: a member rewrites it; refused."""
        self.write_json("etc/opsagent/stack.json", {}, mode=0o664)
        os.chown(self.path("etc/opsagent/stack.json"), 0, self.user.gid)
        etc = self.dirfd("etc/opsagent")
        self.as_user(lambda: self.put(etc, "stack.json", self.evil()))
        r = self.run_zodb()
        self.assertRefused(r, "mode 0664; group %s can write it" % self.user.group, "chmod go-w")

    def test_layer_file_writable(self):
        """[config-trust] a layer file at 0666: the user puts a command in it; refused."""
        self.write_json("etc/opsagent/layers/50-app.json", {}, mode=0o666)
        layers = self.dirfd("etc/opsagent/layers")
        self.as_user(lambda: self.put(layers, "50-app.json", self.evil()))
        r = self.run_zodb()
        self.assertRefused(r, "configuration file %s" % self.path("etc/opsagent/layers/50-app.json"))

    def test_config_directory_writable(self):
        """[config-trust] /etc/opsagent at 0777: the user adds a local.json; refused."""
        os.chmod(self.path("etc/opsagent"), 0o777)
        etc = self.dirfd("etc/opsagent")
        self.as_user(lambda: self.put(etc, "local.json", self.evil()))
        r = self.run_zodb()
        self.assertRefused(r, "configuration directory %s" % self.path("etc/opsagent"), "mode 0777",
                           "others can write it")

    def test_layers_directory_writable(self):
        """[config-trust] layers/ at 0777: the user adds a layer; refused."""
        os.makedirs(self.path("etc/opsagent/layers"))
        os.chmod(self.path("etc/opsagent/layers"), 0o777)
        layers = self.dirfd("etc/opsagent/layers")
        self.as_user(lambda: self.put(layers, "99-evil.json", self.evil()))
        r = self.run_zodb()
        self.assertRefused(r, self.path("etc/opsagent/layers"))

    def test_directory_above_writable(self):
        """[config-trust] ROOT/etc at 0777: the user swaps in its own etc/opsagent; refused,
        naming the directory at fault."""
        self.write_json("etc/opsagent/stack.json", {})
        os.chmod(self.path("etc"), 0o777)
        etc = self.dirfd("etc")

        def swap():
            os.rename("opsagent", "opsagent.old", src_dir_fd=etc, dst_dir_fd=etc)
            os.mkdir("opsagent", 0o755, dir_fd=etc)
            d = os.open("opsagent", os.O_RDONLY | os.O_DIRECTORY, dir_fd=etc)
            self.put(d, "stack.json", self.evil())
            os.close(d)
        self.as_user(swap)
        self.assertEqual(os.stat(self.path("etc/opsagent/stack.json")).st_uid, self.user.uid)  # it did
        r = self.run_zodb()
        self.assertRefused(r, "the directory %s above it" % self.path("etc"), "mode 0777", "others can write it",
                           "run: chmod go-w %s" % self.path("etc"))

    def test_extra_json_file_the_user_owns(self):
        """[config-trust] -j FILE in a directory of the user's: refused."""
        os.makedirs(self.path("home/u"))
        os.chown(self.path("home/u"), self.user.uid, self.user.gid)
        home = self.dirfd("home/u")
        self.as_user(lambda: self.put(home, "extra.json", self.evil()))
        r = self.run_zodb("-j", self.path("home/u/extra.json"))
        self.assertRefused(r, self.path("home/u"))

    def test_sticky_directory_above_is_fine(self):
        """[config-trust] the control: a root-owned tree under a sticky, world-writable
        directory (as under /tmp) is used, and the user cannot replace anything in it."""
        os.chmod(self.tmp, 0o1777)
        self.write_json("etc/opsagent/stack.json",
                        {"zodb_pack": {"method": "command", "command": ["/usr/bin/true"]}})
        top = self.dirfd(self.tmp)

        def try_replace():
            try:
                os.rename("root", "gone", src_dir_fd=top, dst_dir_fd=top)
            except PermissionError:
                return
            raise AssertionError("the sticky bit did not stop the rename")
        self.as_user(try_replace)
        r = self.run_zodb()
        self.assertEqual(r.returncode, 0, r.output)

    # -- [plugin-trust] ---------------------------------------------------------------------
    def plugins_copy(self, mode_dir=0o755, mode_so=0o755):
        d = self.path("plugins")
        os.makedirs(d)
        shutil.copy(os.path.join(PLUGINS, "good.so"), d)
        os.chmod(d, mode_dir)
        os.chmod(os.path.join(d, "good.so"), mode_so)
        self.env["OPSAGENT_PLUGIN_PATH"] = d
        return d

    def test_plugin_directory_writable(self):
        """[plugin-trust] a plugin directory at 0777: the user plants a .so; nothing is loaded."""
        d = self.plugins_copy(mode_dir=0o777)
        pfd = self.dirfd("plugins")

        def plant():
            with os.fdopen(os.open("evil.so", os.O_WRONLY | os.O_CREAT, 0o755, dir_fd=pfd), "wb") as f:
                f.write(b"\x7fELF not really")
        self.as_user(plant)
        for cmd in (("recipes",), ("run", "--recipe", "good")):
            r = self.agent(*cmd)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("plugin directory %s: refusing to use it" % d, r.stderr)
            self.assertIn("mode 0777", r.stderr)

    def test_plugin_writable(self):
        """[plugin-trust] a .so the user can write (0666, or its own): refused before dlopen."""
        d = self.plugins_copy(mode_so=0o666)
        r = self.agent("run", "--recipe", "good")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("plugin %s/good.so: refusing to use it" % d, r.stderr)
        self.assertIn("run: chmod go-w %s/good.so" % d, r.stderr)
        os.chmod(os.path.join(d, "good.so"), 0o755)
        os.chown(os.path.join(d, "good.so"), self.user.uid, self.user.gid)
        r = self.agent("recipes")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(self.owner_mode(), r.stderr)
        self.assertNotIn("A recipe that behaves", r.stdout)

    # -- [state-trust] ----------------------------------------------------------------------
    def test_state_directory_the_users(self):
        """[state-trust] /var/lib/opsagent owned by the user: refused (it could forge records,
        journals, freeze markers)."""
        os.makedirs(self.path("var/lib/opsagent"))
        os.chown(self.path("var/lib/opsagent"), self.user.uid, self.user.gid)
        r = self.agent("run", "--recipe", "good")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("state directory %s: refusing to use it" % self.path("var/lib/opsagent"), r.stderr)
        r = self.agent("history")
        self.assertEqual(r.returncode, 2, r.stderr)

    def test_run_directory_writable(self):
        """[state-trust] /run/opsagent at 0777 (locks): refused."""
        os.makedirs(self.path("run/opsagent"))
        os.chmod(self.path("run/opsagent"), 0o777)
        r = self.agent("run", "--recipe", "good")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("run directory %s: refusing to use it" % self.path("run/opsagent"), r.stderr)

    def test_recipe_state_directory_writable(self):
        """[state-trust] a recipe's own state directory at 0777: that recipe does not run."""
        os.makedirs(self.path("var/lib/opsagent/recipes/good"))
        os.chmod(self.path("var/lib/opsagent/recipes/good"), 0o777)
        gfd = self.dirfd("var/lib/opsagent/recipes/good")
        self.as_user(lambda: self.put(gfd, "forged.json", {"forged": True}))
        r = self.agent("run", "--recipe", "good")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("recipe state directory %s: refusing to use it" % self.path("var/lib/opsagent/recipes/good"),
                      r.stderr)
        self.assertFalse(os.path.exists(self.path("var/tmp/good.out")))

    # -- [path] -----------------------------------------------------------------------------
    def test_dotdot_nul_and_empty_components_in_every_path_attribute(self):
        """[path] "..", "\\u0000" and "//" in each path attribute of each recipe: exit 2, the
        victim outside the root untouched."""
        victim = os.path.join(self.tmp, "victim")
        os.makedirs(victim)
        with open(os.path.join(victim, "root1.log"), "w") as f:
            f.write("victim\n")
        bad = ["/../victim/root1.log", "/var/log/x\u0000/../../../victim/root1.log", "/var//log/a.log",
               "/var/log/"]

        def lr(**kw):
            s = {"paths": ["/var/log/app/*.log"], "rotate": 2}
            s.update(kw)
            return {"logrotate": {"sets": {"app": s}}}
        cases = []
        for p in bad:
            cases += [("logrotate", lr(paths=[p]), "logrotate.sets.app.paths[0]"),
                      ("logrotate", lr(paths=p), "logrotate.sets.app.paths"),
                      ("logrotate", lr(olddir=p), "logrotate.sets.app.olddir"),
                      ("logrotate", lr(reopen={"pidfile": p}), "logrotate.sets.app.reopen.pidfile"),
                      ("logrotate", lr(reopen={"command": [p, "-HUP"]}), "logrotate.sets.app.reopen.command[0]"),
                      ("logrotate", lr(reopen={"pidfile": "/run/app.pid", "exe": p}), "logrotate.sets.app.reopen.exe"),
                      ("ebs_snapshots", {"ebs_snapshots": {"freeze": {"enable": True, "mountpoints": [p]}}},
                       "ebs_snapshots.freeze.mountpoints[0]"),
                      ("zodb_pack", {"zodb_pack": {"servers": [{"address": p}]}}, "zodb_pack.servers[0].address"),
                      ("zodb_pack", {"zodb_pack": {"servers": [{"address": "127.0.0.1:8100", "blob_dirs": {"1": p}}]}},
                       "zodb_pack.servers[0].blob_dirs.1"),
                      ("zodb_pack", {"zodb_pack": {"method": "command", "command": [p]}}, "zodb_pack.command[0]")]
        for recipe, attrs, key in cases:
            self.write_json("etc/opsagent/stack.json", attrs)
            r = self.agent("run", "--recipe", recipe, "--no-report")
            self.assertEqual(r.returncode, 2, "%s %s: %s" % (recipe, key, r.stderr))
            self.assertIn("%s: the path " % key, r.stderr)
            self.assertIn("write it out plainly", r.stderr)
        self.assertEqual(sorted(os.listdir(victim)), ["root1.log"])
        with open(os.path.join(victim, "root1.log")) as f:
            self.assertEqual(f.read(), "victim\n")
        self.assertFalse(os.path.exists(self.path("var/lib/opsagent/runs")))

    # -- [symlink] --------------------------------------------------------------------------
    def test_link_in_a_directory_the_user_owns(self):
        """[symlink] unattended_upgrades writes ROOT/etc/apt/apt.conf.d; the user owns
        ROOT/etc/apt and makes apt.conf.d a link to a directory outside the root: nothing is
        written there, the run fails naming the link. The same through the component walk."""
        with open(os.path.join(harness.DATA, "unattended_upgrades", "os-release", "debian-12")) as f:
            self.write("etc/os-release", f.read())
        self.write("usr/bin/unattended-upgrade", "#!/bin/sh\n", 0o755)
        os.makedirs(self.path("etc/apt/apt.conf.d"))
        os.chown(self.path("etc/apt"), self.user.uid, self.user.gid)
        outside = os.path.join(self.tmp, "outside")
        os.makedirs(outside)
        apt = self.dirfd("etc/apt")

        def plant():
            os.rmdir("apt.conf.d", dir_fd=apt)
            os.symlink(outside, "apt.conf.d", dir_fd=apt)
        self.as_user(plant)
        self.write_json("etc/opsagent/stack.json", {"apt": {"unattended_upgrades": {"enable": True}}})
        for env in ({}, {"OPSAGENT_PATHRES_WALK": "1"}):
            r = self.agent("run", "--recipe", "unattended_upgrades", "--no-report", env=env)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("a symbolic link is on the way, which is not followed", r.stdout + r.stderr)
            self.assertEqual(os.listdir(outside), [], env)

    # -- [command-origin] -------------------------------------------------------------------
    def test_command_from_an_untrusted_file_never_runs(self):
        """[command-origin] the command in a layer the user can write, and in a -j file of the
        user's: refused, never run, whatever trusted file says the method."""
        self.write_json("etc/opsagent/stack.json", {"zodb_pack": {"method": "command", "command": ["/usr/bin/true"]}})
        self.write_json("etc/opsagent/layers/10-site.json", {}, mode=0o666)
        layers = self.dirfd("etc/opsagent/layers")
        self.as_user(lambda: self.put(layers, "10-site.json",
                                      {"zodb_pack": {"command": ["/usr/bin/touch", self.marker]}}))
        r = self.run_zodb()
        self.assertRefused(r, "10-site.json")
        os.unlink(self.path("etc/opsagent/layers/10-site.json"))
        # the trusted configuration alone runs its own command
        r = self.run_zodb()
        self.assertEqual(r.returncode, 0, r.output)

    # -- [command-env] ----------------------------------------------------------------------
    def test_command_sees_a_minimal_environment(self):
        """[command-env] a trusted command sees PATH and LANG only (no AWS credentials, no
        proxy, nothing of the agent's), runs in /, stdin from /dev/null."""
        out = os.path.join(self.tmp, "seen")
        script = ('env > {o}.env; pwd > {o}.pwd; readlink /proc/self/fd/0 > {o}.stdin; '
                  'cat > {o}.input').format(o=out)
        self.write_json("etc/opsagent/stack.json",
                        {"zodb_pack": {"method": "command", "command": ["/bin/sh", "-c", script]}})
        r = self.run_zodb(env={"AWS_SECRET_ACCESS_KEY": "hunter2", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
                               "HTTPS_PROXY": "http://127.0.0.1:9", "OPSAGENT_SECRET_TEST": "x",
                               "PATH": "/nonexistent:" + os.environ.get("PATH", "")})
        self.assertEqual(r.returncode, 0, r.output)
        with open(out + ".env") as f:
            env = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        for k in ("PWD", "SHLVL", "_", "OLDPWD"):  # set by sh itself
            env.pop(k, None)
        self.assertEqual(env, {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})
        with open(out + ".pwd") as f:
            self.assertEqual(f.read(), "/\n")
        with open(out + ".stdin") as f:
            self.assertEqual(f.read(), "/dev/null\n")
        self.assertEqual(os.path.getsize(out + ".input"), 0)
        self.assertNotIn("hunter2", r.output)


SIGUSR2_BIT = 1 << (12 - 1)     # SIGUSR2 in /proc/PID/status's signal masks


def pending(pid):
    """The signals pending for PID (its own and its thread group's), as a mask."""
    with open("/proc/%d/status" % pid) as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return int(fields["SigPnd"], 16) | int(fields["ShdPnd"], 16)


@unittest.skipUnless(CAN_CREATE_USER, WHY_NOT)
class LogrotateAttack(UserCase):
    """logrotate's own CVE classes, as the user who owns a log directory: [symlink] a link (or a
    swap loop) on the way to a log or its olddir, [hardlink] a hard link to root's file,
    [pidfile] a forged pidfile, [su] the rotation runs as the directory's owner."""

    def setUp(self):
        super().setUp()
        self.procs = []
        # ROOT/var/log/site is the user's, with the user's log in app/; root's own files are in
        # ROOT/var/lib/victim and outside the root
        os.makedirs(self.path("var/log/site/app"))
        for d in ("var/log/site", "var/log/site/app"):
            os.chown(self.path(d), self.user.uid, self.user.gid)
        self.write("var/log/site/app/a.log", "the user's line\n")
        os.chown(self.path("var/log/site/app/a.log"), self.user.uid, self.user.gid)
        self.victims = [self.path("var/lib/victim"), os.path.join(self.tmp, "outside")]
        for v in self.victims:
            os.makedirs(v)
            with open(os.path.join(v, "a.log"), "w") as f:
                f.write("root's line\n")

    def tearDown(self):
        for pid, wfd in self.procs:
            os.close(wfd)
            os.waitpid(pid, 0)
        super().tearDown()

    def assertVictimsUntouched(self):
        for v in self.victims:
            self.assertEqual(os.listdir(v), ["a.log"], v)
            st = os.stat(os.path.join(v, "a.log"))
            self.assertEqual((st.st_uid, st.st_gid), (0, 0), v)
            with open(os.path.join(v, "a.log")) as f:
                self.assertEqual(f.read(), "root's line\n", v)

    def run_logrotate(self, **kw):
        s = {"paths": ["/var/log/site/app/*.log"], "method": "create", "size": 1, "compress": "none"}
        s.update(kw)
        self.write_json("etc/opsagent/stack.json", {"logrotate": {"sets": {"app": s}}})
        r = self.agent("run", "--recipe", "logrotate", "--no-report")
        r.output = r.stdout + r.stderr
        return r

    # -- [symlink] --------------------------------------------------------------------------
    def test_log_directory_swapped_for_a_link(self):
        """[symlink] the user makes app a link to root's directory (in the root, and outside
        it): nothing there is renamed, created or chowned; the run names the path."""
        site = self.dirfd("var/log/site")
        for target in self.victims:
            def plant():
                if stat.S_ISLNK(os.stat("app", dir_fd=site, follow_symlinks=False).st_mode):
                    os.unlink("app", dir_fd=site)
                else:
                    os.rename("app", "app.real", src_dir_fd=site, dst_dir_fd=site)
                os.symlink(target, "app", dir_fd=site)
            self.as_user(plant)
            for env in ({}, {"OPSAGENT_PATHRES_WALK": "1"}):
                r = self.run_logrotate(missingok=True)
                self.assertNotEqual(r.returncode, 0, r.output)
                self.assertIn("/var/log/site/app is a symbolic link", r.output)
                self.assertIn("list the real path", r.output)
                self.assertVictimsUntouched()

    def test_olddir_a_link_to_roots_directory(self):
        """[symlink] olddir "old" is a link to root's directory: the log is not moved there."""
        app = self.dirfd("var/log/site/app")
        for target in self.victims:
            def plant():
                try:
                    os.unlink("old", dir_fd=app)
                except FileNotFoundError:
                    pass
                os.symlink(target, "old", dir_fd=app)
            self.as_user(plant)
            r = self.run_logrotate(olddir="old")
            self.assertNotEqual(r.returncode, 0, r.output)
            self.assertIn("old is a symbolic link", r.output)
            self.assertVictimsUntouched()
            with open(self.path("var/log/site/app/a.log")) as f:
                self.assertEqual(f.read(), "the user's line\n")

    def test_swap_loop_while_the_agent_rotates(self):
        """[symlink][su] a loop of swaps of app for a link to root's directory while the agent
        rotates, run after run: whatever the interleaving, root's files are untouched (the
        rotation runs as the user, who may not write there)."""
        site = self.dirfd("var/log/site")
        stop_r, stop_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(stop_w)
                os.set_blocking(stop_r, False)
                os.setgroups([self.user.gid])
                os.setgid(self.user.gid)
                os.setuid(self.user.uid)
                while True:
                    try:
                        if os.read(stop_r, 1) == b"":
                            break
                    except BlockingIOError:
                        pass
                    for target in self.victims:
                        try:
                            os.rename("app", "app.real", src_dir_fd=site, dst_dir_fd=site)
                            os.symlink(target, "app", dir_fd=site)
                            os.unlink("app", dir_fd=site)
                            os.rename("app.real", "app", src_dir_fd=site, dst_dir_fd=site)
                            fd = os.open("app/a.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644, dir_fd=site)
                            os.write(fd, b"more\n")
                            os.close(fd)
                        except OSError:
                            pass
                code = 0
            finally:
                os._exit(code)
        os.close(stop_r)
        try:
            for _ in range(8):
                r = self.run_logrotate(missingok=True, rotate=3)
                self.assertNotIn("uid=0", r.output)
                self.assertVictimsUntouched()
        finally:
            os.close(stop_w)
            _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        self.assertVictimsUntouched()
        for dirpath, _, names in os.walk(self.path("var/log/site")):
            for n in names:
                self.assertEqual(os.lstat(os.path.join(dirpath, n)).st_uid, self.user.uid, n)

    # -- [hardlink] -------------------------------------------------------------------------
    def test_hard_link_to_a_file_of_roots(self):
        """[hardlink] root's file hard-linked into the user's directory (as protected_hardlinks
        off allows; made here by root): refused unless allowhardlink, root's file unchanged."""
        victim = os.path.join(self.victims[0], "a.log")
        os.unlink(self.path("var/log/site/app/a.log"))
        os.link(victim, self.path("var/log/site/app/a.log"))
        r = self.run_logrotate()
        self.assertNotEqual(r.returncode, 0, r.output)
        self.assertIn("hard links", r.output)
        self.assertIn("allowhardlink", r.output)
        self.assertEqual(os.stat(victim).st_nlink, 2)
        self.assertVictimsUntouched()

    # -- [pidfile] --------------------------------------------------------------------------
    def waiter(self, as_user):
        """A process (root's, or the user's) that blocks SIGUSR2: a signal sent stays pending,
        so whether it was sent is read from /proc, with no waiting."""
        rfd, wfd = os.pipe()
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(wfd)
                os.close(ready_r)
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
                if as_user:
                    os.setgroups([self.user.gid])
                    os.setgid(self.user.gid)
                    os.setuid(self.user.uid)
                os.close(ready_w)
                os.read(rfd, 1)
            finally:
                os._exit(0)
        os.close(rfd)
        os.close(ready_w)
        self.assertEqual(os.read(ready_r, 1), b"")     # it closed its end: ready
        os.close(ready_r)
        self.procs.append((pid, wfd))
        return pid

    def forge(self, name, pid):
        var = self.dirfd("var/log/site")
        self.as_user(lambda: self.put(var, name, pid))

    def run_reopen(self, **reopen):
        ro = {"pidfile": "/var/log/site/*.pid", "signal": "SIGUSR2", "timeout": 5, "settle_ms": 10}
        ro.update(reopen)
        return self.run_logrotate(method="reopen", reopen=ro)

    def test_forged_pidfile_names_a_root_process(self):
        """[pidfile] the user writes the pid of a root process (and pid 1) into a pidfile the
        glob matches: no signal, the log unrotated, a warning naming pidfile and process."""
        root_pid = self.waiter(as_user=False)
        self.forge("evil.pid", root_pid)
        r = self.run_reopen()
        self.assertNotEqual(r.returncode, 0, r.output)
        self.assertIn("evil.pid (owner %s) names process %d, which runs as root" % (self.user.name, root_pid),
                      r.output)
        self.assertEqual(pending(root_pid) & SIGUSR2_BIT, 0, "root's process was signalled")
        self.assertEqual(os.listdir(self.path("var/log/site/app")), ["a.log"])
        os.unlink(self.path("var/log/site/evil.pid"))
        self.forge("one.pid", 1)
        r = self.run_reopen()
        self.assertNotEqual(r.returncode, 0, r.output)
        self.assertIn("holds no process id other than 1", r.output)
        self.assertEqual(os.listdir(self.path("var/log/site/app")), ["a.log"])

    def test_pidfile_of_the_users_process_and_reopen_exe(self):
        """[pidfile] the user's own process in the user's pidfile: with a reopen.exe it does not
        run, no signal; with the executable it runs, signalled and the log rotated."""
        pid = self.waiter(as_user=True)
        self.forge("app.pid", pid)
        r = self.run_reopen(exe="/usr/sbin/nginx")
        self.assertNotEqual(r.returncode, 0, r.output)
        self.assertIn("not reopen.exe /usr/sbin/nginx", r.output)
        self.assertEqual(pending(pid) & SIGUSR2_BIT, 0)
        r = self.run_reopen(exe=os.readlink("/proc/%d/exe" % pid))
        self.assertEqual(r.returncode, 0, r.output)
        self.assertNotEqual(pending(pid) & SIGUSR2_BIT, 0, "the user's own writer was not told")
        self.assertEqual(sorted(os.listdir(self.path("var/log/site/app"))), ["a.log.1"])
        self.assertEqual(os.stat(self.path("var/log/site/app/a.log.1")).st_uid, self.user.uid)


if __name__ == "__main__":
    tap.main()
