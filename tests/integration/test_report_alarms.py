"""The alarms example (packaging/cloudwatch-alarms.yaml) passes cfn-lint and watches the
metrics, dimensions and thresholds opsagent actually sends."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import harness
import tap

TEMPLATE = os.path.join(harness.SRCDIR, "packaging", "cloudwatch-alarms.yaml")
PYTHON = os.environ.get("PYTHON", sys.executable)
CFN_LINT = [PYTHON, "-c", "import sys; from cfnlint.runner import main; sys.argv[0] = 'cfn-lint'; sys.exit(main())"]

try:
    import cfnlint.decode
    HAVE_CFNLINT = True
except ImportError:
    HAVE_CFNLINT = False


def cfn_lint(path):
    return subprocess.run(CFN_LINT + [path], capture_output=True, text=True, timeout=120)


@unittest.skipUnless(HAVE_CFNLINT, "cfn-lint is not installed for this python")
class AlarmsTemplate(unittest.TestCase):
    def setUp(self):
        tpl, matches = cfnlint.decode.decode(TEMPLATE)
        self.assertFalse(matches, matches)
        self.tpl = tpl
        self.alarms = {k: v["Properties"] for k, v in tpl["Resources"].items()
                       if v["Type"] == "AWS::CloudWatch::Alarm"}

    def test_passes_cfn_lint(self):
        r = cfn_lint(TEMPLATE)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_cfn_lint_can_fail(self):
        # The check is real: a broken copy of the template is refused.
        with open(TEMPLATE) as f:
            text = f.read()
        self.assertIn("ComparisonOperator: LessThanThreshold", text)
        d = tempfile.mkdtemp()
        try:
            bad = os.path.join(d, "bad.yaml")
            with open(bad, "w") as f:
                f.write(text.replace("ComparisonOperator: LessThanThreshold",
                                     "ComparisonOperator: LessThanSometimes"))
            r = cfn_lint(bad)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("LessThanSometimes", r.stdout + r.stderr)
        finally:
            shutil.rmtree(d)

    def find(self, metric):
        for props in self.alarms.values():
            if props.get("MetricName") == metric:
                return props
            for m in props.get("Metrics", []):
                if metric in str(m.get("Expression", "")):
                    return props
        self.fail("no alarm on %s" % metric)

    def test_heartbeat_missing_for_15_minutes_is_breaching(self):
        a = self.find("Heartbeat")
        self.assertEqual(a["TreatMissingData"], "breaching")
        self.assertEqual(int(a["Period"]) * int(a["EvaluationPeriods"]), 15 * 60)
        self.assertEqual(int(a["DatapointsToAlarm"]), int(a["EvaluationPeriods"]))
        self.assertEqual(a["ComparisonOperator"], "LessThanThreshold")
        self.assertEqual(a["Namespace"], {"Ref": "Namespace"})
        self.assertEqual(self.tpl["Parameters"]["Namespace"]["Default"], "OpsAgent")

    def test_any_recipe_failure(self):
        a = self.find("RecipeSucceeded")
        expr = a["Metrics"][0]["Expression"]
        self.assertIn("MIN(RecipeSucceeded)", str(expr))
        self.assertEqual(float(a["Threshold"]), 0)
        self.assertEqual(a["ComparisonOperator"], "LessThanOrEqualToThreshold")

    def test_snapshots_stale_after_26_hours(self):
        a = self.find("SecondsSinceLastSuccess")
        self.assertEqual(float(a["Threshold"]), 26 * 3600)
        self.assertEqual(a["ComparisonOperator"], "GreaterThanThreshold")
        self.assertIn("ebs_snapshots", str(a["Dimensions"]))

    def test_dimensions_match_what_the_agent_sends(self):
        # With and without opsagent.stack_name: InstanceId [+ Recipe] [+ StackName].
        for name in ("Heartbeat", "SecondsSinceLastSuccess"):
            dims = self.find(name)["Dimensions"]["Fn::If"]
            self.assertEqual(dims[0], "HasStackName")
            with_stack = [d["Name"] for d in dims[1]]
            without = [d["Name"] for d in dims[2]]
            self.assertEqual(with_stack, without + ["StackName"])
            self.assertEqual(without[0], "InstanceId")


if __name__ == "__main__":
    tap.main()
