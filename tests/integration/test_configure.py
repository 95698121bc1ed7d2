#!/usr/bin/env python3
"""`opsagent configure` (issue 18), the real opsagent against moto's Parameter Store behind the
stand-in's front (SigV4 checked with botocore, every input against the `ssm` model), the
node's layers from the instance tag in the IMDS stand-in: the first configure applies and
records, a changed layer parameter runs the recipes that declare OPSAGENT_RECIPE_CONFIGURE
again and the record names the changed keys but no value, nothing changed is one
GetParametersByPath call and no write under the state directory, a service that is down
leaves the last known good in force and applies nothing, and a SecureString's value never
appears in any output or record.

The recipes are the probes in tests/packaging/plugins; probe_configure declares the configure
flag and writes its `content` attribute to a file. The units are left alone (a root prefix
without DBUS_SYSTEM_BUS_ADDRESS): tests/packaging/test_setup.py covers the sd-bus part of the
plan both commands share."""
import glob
import hashlib
import json
import os

import harness
import tap
from aws_common import SsmSourceCase

STACK = SsmSourceCase.STACK
PLUGINS = os.path.join(harness.BUILDDIR, "tests", "packaging", "plugins", ".libs")
SECRET = "Zeo-s3cr3t-Pa55word-42"
PROBE = "etc/probe_configure.conf"


class ConfigureCase(SsmSourceCase):
    def setUp(self):
        super().setUp()
        self.env["OPSAGENT_PLUGIN_PATH"] = PLUGINS
        self.aws.set_instance(instance_tags={"opsagent:layers": "web", "Name": "node-1"})

    def seed(self, content="v1"):
        self.put("stack", {"opsagent": {"recipes": {"probe_configure": True}, "records": {"keep": 50}}})
        self.put("layers/web", {"probe_configure": {"content": content}})

    def configure(self, *args, expect=0):
        r = self.agent("configure", *args)
        self.assertEqual(r.returncode, expect, "stdout:\n%s\nstderr:\n%s" % (r.stdout, r.stderr))
        return r

    def records(self, recipe):
        out = []
        for p in sorted(glob.glob(self.path("var/lib/opsagent/runs/*-%s-*.json" % recipe))):
            with open(p) as f:
                out.append(json.load(f))
        return out

    def probe(self):
        with open(self.path(PROBE)) as f:
            return f.read()

    def state_digest(self):
        """Every file and directory under the state directory: path, mode, size, mtime, content."""
        out = {}
        top = self.path("var/lib/opsagent")
        for d, dirs, files in os.walk(top):
            for name in dirs + files:
                p = os.path.join(d, name)
                st = os.lstat(p)
                digest = ""
                if os.path.isfile(p):
                    with open(p, "rb") as f:
                        digest = hashlib.sha256(f.read()).hexdigest()
                out[os.path.relpath(p, top)] = (st.st_mode, st.st_size, st.st_mtime_ns, digest)
        return out

    def state_text(self, sub="runs"):
        text = ""
        for p in glob.glob(self.path("var/lib/opsagent/%s/**" % sub), recursive=True):
            if os.path.isfile(p):
                with open(p, errors="replace") as f:
                    text += f.read()
        return text


class Configure(ConfigureCase):
    def test_without_a_source_does_nothing(self):
        os.unlink(self.path("etc/opsagent/source.json"))
        r = self.configure()
        self.assertIn("no stack configuration source", r.stdout)
        self.assertNotIn("GetParametersByPath", self.aws.calls())
        self.assertEqual(self.state_digest(), {})
        r = self.agent("history", "--recipe", "configure")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no runs of configure", r.stdout)

    def test_first_configure_applies_records_and_keeps_what_it_applied(self):
        self.seed()
        r = self.configure()
        self.assertIn("applied", r.stdout)
        self.assertEqual(self.probe(), "v1")
        self.assertEqual(len(self.records("probe_configure")), 1)
        rec = self.records("configure")
        self.assertEqual(len(rec), 1)
        d = rec[0]["detail"]
        self.assertEqual(rec[0]["outcome"], "success")
        self.assertEqual(d["source"], "ssm:" + STACK)
        self.assertEqual([(x["name"], x["old_version"], x["new_version"]) for x in d["documents"]],
                         [("ssm:%s/stack" % STACK, None, "1"), ("ssm:%s/layers/web" % STACK, None, "1")])
        self.assertIn("probe_configure.content", d["changed_keys"])
        self.assertEqual([x["recipe"] for x in d["recipes"]], ["probe_configure"])
        for f in ("var/lib/opsagent/configure/source/cache.json", "var/lib/opsagent/source/cache.json"):
            self.assertEqual(os.stat(self.path(f)).st_mode & 0o777, 0o600, f)
        self.assertEqual(self.aws.ok_calls().get("GetParametersByPath"), 1)

    def test_a_changed_layer_runs_configure_recipes_and_names_the_keys_only(self):
        self.seed()
        self.configure()
        self.put("layers/web", {"probe_configure": {"content": "v2-new-value"}})
        r = self.configure()
        self.assertEqual(self.probe(), "v2-new-value")
        self.assertEqual(len(self.records("probe_configure")), 2)
        rec = self.records("configure")[-1]
        self.assertEqual(rec["detail"]["changed_keys"], ["probe_configure.content"])
        self.assertEqual(rec["detail"]["changed_keys_total"], 1)
        docs = {x["name"]: (x["old_version"], x["new_version"]) for x in rec["detail"]["documents"]}
        self.assertEqual(docs, {"ssm:%s/stack" % STACK: ("1", "1"), "ssm:%s/layers/web" % STACK: ("1", "2")})
        self.assertIn("version 1 -> 2", r.stdout)
        self.assertIn("changed: probe_configure.content", r.stdout)
        # the keys, never the values
        self.assertNotIn("v2-new-value", json.dumps(rec))
        self.assertNotIn("v2-new-value", r.stdout + r.stderr)

    def test_nothing_changed_is_one_call_and_no_write(self):
        self.seed()
        self.configure()
        before = self.state_digest()
        self.aws.reset_calls()
        r = self.configure()
        self.assertIn("nothing changed", r.stdout)
        aws_calls = {k: v for k, v in self.aws.calls().items() if not k.startswith(("imds", "IMDS"))}
        self.assertEqual(self.aws.calls().get("GetParametersByPath"), 1, self.aws.calls())
        self.assertNotIn("DescribeTags", aws_calls)
        self.assertEqual(self.state_digest(), before)
        self.assertEqual(len(self.records("probe_configure")), 1)
        # and --json says so in one object
        out = json.loads(self.configure("--json").stdout)
        self.assertEqual(out["outcome"], "unchanged")

    def test_a_change_a_run_fetched_first_is_still_applied(self):
        # `run` (and `attributes`) refresh the last known good; configure compares with what it
        # applied, so a change they saw first is not lost.
        self.seed()
        self.configure()
        self.put("layers/web", {"probe_configure": {"content": "v3"}})
        r = self.agent("attributes", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.configure()
        self.assertEqual(self.probe(), "v3")
        self.assertEqual(self.records("configure")[-1]["detail"]["changed_keys"], ["probe_configure.content"])

    def test_service_down_keeps_the_last_known_good_and_applies_nothing(self):
        self.seed()
        self.configure()
        self.put("layers/web", {"probe_configure": {"content": "never applied"}})
        self.aws.set_faults(http_503=-1, only=["GetParametersByPath"])
        before = self.state_digest()
        r = self.configure()
        self.assertIn("warning:", r.stderr)
        self.assertIn("last known good", r.stderr)
        self.assertRegex(r.stderr, r"fetched \d{4}-\d\d-\d\d")
        self.assertEqual(self.probe(), "v1")
        self.assertEqual(len(self.records("configure")), 1)
        self.assertEqual(len(self.records("probe_configure")), 1)
        self.assertEqual(self.state_digest(), before)
        # once it answers again, the change is applied
        self.aws.clear_faults()
        self.configure()
        self.assertEqual(self.probe(), "never applied")

    def test_service_down_without_anything_fetched_is_an_error(self):
        self.seed()
        self.aws.set_faults(http_503=-1, only=["GetParametersByPath"])
        r = self.configure(expect=1)
        self.assertIn("error:", r.stderr)
        self.assertEqual(self.records("configure"), [])

    def test_secure_string_value_never_appears(self):
        self.put("stack", {"opsagent": {"recipes": {"probe_configure": True}}})
        self.put("layers/web", {"probe_configure": {"content": SECRET}}, secure=True)
        outputs = [self.configure(), self.configure("--json")]
        self.put("layers/web", {"probe_configure": {"content": SECRET + "-rotated"}}, secure=True)
        outputs += [self.configure("--dry-run"), self.configure("--json")]
        self.assertEqual(self.probe(), SECRET + "-rotated")      # the recipe did get it
        rec = self.records("configure")[-1]
        self.assertEqual(rec["detail"]["changed_keys"], ["probe_configure.content"])
        self.assertTrue([x for x in rec["detail"]["documents"] if x["secret"]])
        for r in outputs:
            self.assertNotIn(SECRET, r.stdout + r.stderr)
        self.assertNotIn(SECRET, self.state_text("runs"))
        r = self.agent("history", "--recipe", "configure", "--json")
        self.assertNotIn(SECRET, r.stdout + r.stderr)

    def test_dry_run_says_what_would_change_and_notes_nothing(self):
        self.seed()
        r = self.configure("--dry-run")
        self.assertIn("would change: probe_configure.content", r.stdout)
        self.assertFalse(os.path.exists(self.path(PROBE)))
        self.assertEqual(self.records("configure"), [])
        self.assertFalse(os.path.exists(self.path("var/lib/opsagent/configure")))
        self.configure()
        self.assertEqual(self.probe(), "v1")

    def test_a_document_that_is_not_json_changes_nothing(self):
        self.seed()
        self.configure()
        self.ssm.put_parameter(Name=STACK + "/layers/web", Value='{"probe_configure": ', Overwrite=True,
                               Type="String")
        before = self.state_digest()
        r = self.configure(expect=2)
        self.assertIn("layers/web", r.stderr)
        self.assertEqual(self.state_digest(), before)
        r = self.configure("--json", expect=2)
        self.assertEqual(json.loads(r.stdout)["outcome"], "config_error")

    def test_setup_applied_is_not_applied_again(self):
        self.seed()
        r = self.agent("setup")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.configure()
        self.assertIn("nothing changed", r.stdout)

    def test_second_configure_is_locked_out(self):
        import fcntl
        self.seed()
        os.makedirs(self.path("run/opsagent"), exist_ok=True)
        with open(self.path("run/opsagent/configure.lock"), "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            r = self.configure(expect=3)
        self.assertIn("another opsagent configure", r.stdout)
        self.assertEqual(self.records("configure"), [])


if __name__ == "__main__":
    tap.main()
