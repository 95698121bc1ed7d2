"""The alarms example (packaging/cloudwatch-alarms.yaml) passes cfn-lint and watches the
metrics, dimensions and thresholds opsagent actually sends."""
import os
import unittest

import harness
import tap
from cfn_common import HAVE_CFNLINT, TemplateChecks

TEMPLATE = os.path.join(harness.SRCDIR, "packaging", "cloudwatch-alarms.yaml")


@unittest.skipUnless(HAVE_CFNLINT, "cfn-lint is not installed for this python")
class AlarmsTemplate(TemplateChecks, unittest.TestCase):
    TEMPLATE = TEMPLATE
    BREAK = ("ComparisonOperator: LessThanThreshold", "ComparisonOperator: LessThanSometimes")

    def setUp(self):
        super().setUp()
        self.alarms = {k: v["Properties"] for k, v in self.tpl["Resources"].items()
                       if v["Type"] == "AWS::CloudWatch::Alarm"}

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
