#!/usr/bin/env python3
"""The CloudWatch Logs example (packaging/cloudwatch-logs.yaml) passes cfn-lint, and its metric
filters and alarms watch what they say: a recipe run that did not succeed, in the run log group
(the lines `opsagent logs` ships from STATE/logs/runs.log; test_logs.py checks the real ones
against the same filter), and "[ERROR]" in cfn-init's log."""
import os
import unittest

import harness
import tap
from cfn_common import HAVE_CFNLINT, TemplateChecks
from logs_common import filter_matches, template_filters

TEMPLATE = os.path.join(harness.SRCDIR, "packaging", "cloudwatch-logs.yaml")

# cfn-init's own lines (cfn-init 2.0 on Amazon Linux 2), one failing config set
CFN_INIT_LOG = """2026-12-04 18:40:00,101 [INFO] -----------------------Starting build-----------------------
2026-12-04 18:40:00,120 [INFO] Running configSets: default
2026-12-04 18:40:00,122 [INFO] Running configSet default
2026-12-04 18:40:00,125 [INFO] Running config setup
2026-12-04 18:40:03,400 [ERROR] Command 01_install failed
2026-12-04 18:40:03,401 [ERROR] Error encountered during build of setup: Command 01_install failed
2026-12-04 18:40:03,402 [INFO] -----------------------Build complete-----------------------
"""


@unittest.skipUnless(HAVE_CFNLINT, "cfn-lint is not installed for this python")
class LogsTemplate(TemplateChecks, unittest.TestCase):
    TEMPLATE = TEMPLATE
    BREAK = ("ComparisonOperator: GreaterThanThreshold", "ComparisonOperator: MoreThanUsual")

    def setUp(self):
        super().setUp()
        self.res = self.tpl["Resources"]
        self.filters = template_filters(TEMPLATE)

    def of_type(self, t):
        return {k: v["Properties"] for k, v in self.res.items() if v["Type"] == t}

    def test_log_groups_default_to_the_shippers_names_with_retention(self):
        groups = self.of_type("AWS::Logs::LogGroup")
        self.assertEqual(len(groups), 2)
        self.assertEqual(self.tpl["Parameters"]["RunLogGroupName"]["Default"], "/opsagent/runs")
        for g in groups.values():
            self.assertEqual(g["RetentionInDays"], {"Ref": "RetentionInDays"})

    def test_failed_run_filter(self):
        f = self.res["RecipeRunsFailedFilter"]["Properties"]
        self.assertEqual(f["LogGroupName"], {"Ref": "RunLogGroup"})
        t = f["MetricTransformations"][0]
        self.assertEqual(t["MetricName"], "RecipeRunsFailed")
        self.assertEqual(t["Dimensions"], [{"Key": "Recipe", "Value": "$.RECIPE"}])
        pattern = f["FilterPattern"]
        for outcome in ("failed", "timeout", "crashed", "interrupted", "config_error"):
            line = '{"time": "2026-12-04T18:40:00.1Z", "RECIPE": "ebs_snapshots", "RUN_ID": "0a1b2c3d", ' \
                   '"outcome": "%s", "message": "x", "duration_sec": 1.5}' % outcome
            self.assertTrue(filter_matches(pattern, line), outcome)
        self.assertFalse(filter_matches(pattern, '{"RECIPE": "ebs_snapshots", "RUN_ID": "0a1b2c3d", '
                                                 '"outcome": "success"}'))
        self.assertFalse(filter_matches(pattern, '{"RECIPE": "ebs_snapshots", "RUN_ID": "0a1b2c3d"}'),
                         "a line without an outcome (a start) is no failure")

    def test_cfn_init_error_filter(self):
        f = self.res["CfnInitErrorsFilter"]["Properties"]
        self.assertEqual(f["LogGroupName"], {"Ref": "CfnInitLogGroup"})
        hits = [line for line in CFN_INIT_LOG.splitlines() if filter_matches(f["FilterPattern"], line)]
        self.assertEqual(len(hits), 2, hits)
        self.assertEqual(f["MetricTransformations"][0]["MetricName"], "CfnInitErrors")

    def test_dropped_events_alarm_has_the_agents_dimensions(self):
        # LogEventsDropped goes through the report spool with opsagent's own dimensions:
        # InstanceId [+ StackName], in cloudwatch.namespace
        a = self.res["LogEventsDroppedAlarm"]["Properties"]
        self.assertEqual(a["MetricName"], "LogEventsDropped")
        self.assertEqual(a["Namespace"], {"Ref": "Namespace"})
        self.assertEqual(self.tpl["Parameters"]["Namespace"]["Default"], "OpsAgent")
        dims = a["Dimensions"]["Fn::If"]
        self.assertEqual(dims[0], "HasStackName")
        self.assertEqual([d["Name"] for d in dims[1]], ["InstanceId", "StackName"])
        self.assertEqual([d["Name"] for d in dims[2]], ["InstanceId"])
        self.assertEqual((float(a["Threshold"]), a["ComparisonOperator"], a["Statistic"]),
                         (0.0, "GreaterThanThreshold", "Sum"))

    def test_alarms_watch_the_filters_metrics(self):
        alarms = self.of_type("AWS::CloudWatch::Alarm")
        self.assertEqual(len(alarms), 3)
        run = self.res["RecipeRunFailedAlarm"]["Properties"]
        self.assertIn("SUM(RecipeRunsFailed)", str(run["Metrics"][0]["Expression"]))
        cfn = self.res["CfnInitErrorAlarm"]["Properties"]
        self.assertEqual(cfn["MetricName"], "CfnInitErrors")
        for a in (run, cfn):
            self.assertEqual(float(a["Threshold"]), 0)
            self.assertEqual(a["ComparisonOperator"], "GreaterThanThreshold")
            self.assertEqual(a["TreatMissingData"], "notBreaching")
            self.assertEqual(a["AlarmActions"], [{"Ref": "AlarmTopicArn"}])


if __name__ == "__main__":
    tap.main()
