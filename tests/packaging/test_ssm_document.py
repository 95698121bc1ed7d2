#!/usr/bin/env python3
"""packaging/ssm/opsagent-run.json, the SSM Command document that starts any opsagent command
fleet-wide (aws ssm send-command): it is a schema 2.2 Command document that SSM accepts
(botocore's CreateDocument, signed and checked against the ssm model by the stand-in's front,
answered by moto, which parses it), its allowed values are the commands opsagent has and the
recipes this tree ships (so that it cannot rot), and its script runs exactly
`opsagent COMMAND [--recipe R | --all]`, refusing anything else even when SSM's allowed values
were bypassed."""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import tap  # noqa: E402

try:
    from standin.aws_standin import AwsStandin
except ImportError:  # pragma: no cover
    AwsStandin = None

DOCUMENT = os.path.join(harness.SRCDIR, "packaging", "ssm", "opsagent-run.json")
CFN_LINT_SCHEMA = "data/schemas/other/ssm/document.json"   # inside cfnlint's package


def load():
    with open(DOCUMENT) as f:
        return json.load(f)


def shipped_recipes():
    """Every recipe folder of recipes/ (one with an opsagent-recipe descriptor in its code)."""
    out = []
    top = os.path.join(harness.SRCDIR, "recipes")
    for name in sorted(os.listdir(top)):
        d = os.path.join(top, name)
        if not os.path.isdir(d) or name == "common":
            continue
        code = "".join(open(os.path.join(d, f)).read() for f in os.listdir(d) if f.endswith(".c"))
        if "OPSAGENT_RECIPE_DESCRIPTOR" in code:
            out.append(name)
    return out


def opsagent_commands():
    """The commands `opsagent --help` lists."""
    r = subprocess.run([harness.OPSAGENT, "--help"], capture_output=True, text=True, env=harness.clean_env())
    assert r.returncode == 0, r.stderr
    return set(re.findall(r"^  ([a-z][a-z-]*)\s", r.stdout, re.M))


def script(doc):
    return "\n".join(doc["mainSteps"][0]["inputs"]["runCommand"]) + "\n"


def render(doc, **values):
    """What SSM runs: each {{ name }} replaced by the parameter's value, as SSM substitutes it."""
    text = script(doc)
    for k, v in values.items():
        text = re.sub(r"\{\{\s*%s\s*\}\}" % k, lambda m: v, text)
    return text


class Document(unittest.TestCase):
    def setUp(self):
        self.doc = load()

    def test_is_a_schema_2_2_command_document(self):
        d = self.doc
        self.assertEqual(d["schemaVersion"], "2.2")
        self.assertEqual(len(d["mainSteps"]), 1)
        step = d["mainSteps"][0]
        self.assertEqual(step["action"], "aws:runShellScript")
        self.assertRegex(step["name"], r"^[a-zA-Z0-9_.-]+$")
        self.assertTrue(all(isinstance(line, str) for line in step["inputs"]["runCommand"]))
        self.assertEqual(set(d["parameters"]), {"command", "recipe"})
        for name, p in d["parameters"].items():
            self.assertEqual(p["type"], "String", name)
            self.assertIn(p["default"], p["allowedValues"], name)
        # every {{ reference }} names a declared parameter
        refs = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", script(d)))
        self.assertEqual(refs, set(d["parameters"]))

    def test_cfn_lint_schema_accepts_it(self):
        try:
            import cfnlint
            import jsonschema
        except ImportError:
            self.skipTest("cfn-lint or jsonschema is not installed")
        path = os.path.join(os.path.dirname(cfnlint.__file__), CFN_LINT_SCHEMA)
        if not os.path.exists(path):
            self.skipTest("this cfn-lint has no SSM document schema")
        with open(path) as f:
            jsonschema.validate(self.doc, json.load(f))

    def test_allowed_recipes_are_the_shipped_ones(self):
        allowed = self.doc["parameters"]["recipe"]["allowedValues"]
        self.assertEqual(sorted(v for v in allowed if v not in ("", "all")), shipped_recipes())
        self.assertIn("", allowed)
        self.assertIn("all", allowed)
        # and the script's own check lists the same
        case = re.search(r"^all\) set -- --all ;;\n([a-z_|]+)\) set -- --recipe", script(self.doc), re.M)
        self.assertIsNotNone(case)
        self.assertEqual(sorted(case.group(1).split("|")), shipped_recipes())

    def test_allowed_commands_exist_and_the_script_checks_the_same(self):
        allowed = self.doc["parameters"]["command"]["allowedValues"]
        self.assertTrue(set(allowed) <= opsagent_commands(), set(allowed) - opsagent_commands())
        self.assertIn("configure", allowed)
        self.assertIn("run", allowed)
        case = re.search(r"^([a-z|-]+)\) ;;$", script(self.doc), re.M)
        self.assertIsNotNone(case)
        self.assertEqual(case.group(1).split("|"), allowed)


class Script(unittest.TestCase):
    """The script as SSM runs it, with a stand-in opsagent that prints its arguments."""

    def setUp(self):
        self.doc = load()
        self.tmp = tempfile.mkdtemp(prefix="opsagent-ssm-")
        fake = os.path.join(self.tmp, "opsagent")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n")
        os.chmod(fake, 0o755)
        self.canary = os.path.join(self.tmp, "injected")

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.tmp])

    def run_script(self, command, recipe):
        env = dict(harness.clean_env(), PATH=self.tmp + ":/usr/bin:/bin")
        return subprocess.run(["sh", "-c", render(self.doc, command=command, recipe=recipe)], env=env,
                              capture_output=True, text=True, timeout=30)

    def test_runs_the_command_with_its_recipe(self):
        for command, recipe, argv in [("run", "ebs_snapshots", ["run", "--recipe", "ebs_snapshots"]),
                                      ("run", "all", ["run", "--all"]),
                                      ("configure", "", ["configure"]),
                                      ("status", "", ["status"])]:
            r = self.run_script(command, recipe)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.splitlines(), argv)

    def test_a_value_outside_the_allowed_ones_runs_nothing(self):
        # SSM refuses these itself; the script refuses them again and never runs them.
        for command, recipe in [("run; touch %s" % self.canary, ""),
                                ("run", "x' ; touch '%s" % self.canary),
                                ("run", "$(touch %s)" % self.canary),
                                ("attributes", ""), ("run", "nosuch")]:
            r = self.run_script(command, recipe)
            self.assertEqual(r.returncode, 2, (command, recipe, r.stdout, r.stderr))
            self.assertEqual(r.stdout, "")
            self.assertIn("not allowed", r.stderr)
            self.assertFalse(os.path.exists(self.canary), (command, recipe))


@unittest.skipUnless(AwsStandin, "the AWS stand-in (tests/standin) is not in this tree")
class CreateDocument(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.aws = AwsStandin().start()

    @classmethod
    def tearDownClass(cls):
        cls.aws.stop()

    def test_ssm_accepts_it_as_a_command_document(self):
        ssm = self.aws.client("ssm")      # through the front: signed, checked against the model
        with open(DOCUMENT) as f:
            content = f.read()
        out = ssm.create_document(Content=content, Name="opsagent-run", DocumentType="Command",
                                  DocumentFormat="JSON")["DocumentDescription"]
        self.assertEqual(out["Name"], "opsagent-run")
        self.assertEqual(out["SchemaVersion"], "2.2")
        self.assertEqual(out["DocumentType"], "Command")
        self.assertEqual(sorted(p["Name"] for p in out["Parameters"]), ["command", "recipe"])
        got = ssm.get_document(Name="opsagent-run")
        self.assertEqual(json.loads(got["Content"]), load())
        self.assertEqual(self.aws.ok_calls().get("CreateDocument"), 1)

    def test_ssm_refuses_a_broken_one(self):
        # The check above can fail: a document that is not JSON is refused.
        ssm = self.aws.client("ssm")
        with self.assertRaises(Exception):
            ssm.create_document(Content="{not json", Name="opsagent-broken", DocumentType="Command",
                                DocumentFormat="JSON")


if __name__ == "__main__":
    tap.main()
