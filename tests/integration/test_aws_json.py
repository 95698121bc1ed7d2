#!/usr/bin/env python3
"""The AWS JSON 1.1 protocol (agent/aws/awsjson.c) against moto's CloudWatch Logs behind the
stand-in's front, which checks every signature with botocore's signer and every input against
botocore's `logs` model: a call and its answer, AWS's JSON errors (code, message, request id),
throttling retried by the shared policy, PutLogEvents' limits as the front enforces them."""
import json
import time

import tap
from aws_common import StandinCase


class AwsJsonTest(StandinCase):
    def test_describe_log_groups_signed_and_answered(self):
        logs = self.aws.client("logs")          # through the front: checked like ours
        logs.create_log_group(logGroupName="/opsagent/json-test")
        out = json.loads(self.ok("json-call", "logs", "DescribeLogGroups",
                                 '{"logGroupNamePrefix": "/opsagent/json"}').stdout)
        self.assertEqual([g["logGroupName"] for g in out["logGroups"]], ["/opsagent/json-test"])
        self.assertEqual(self.aws.ok_calls().get("DescribeLogGroups"), 1)

    def test_put_log_events_reaches_moto(self):
        logs = self.aws.client("logs")
        logs.create_log_group(logGroupName="/opsagent/put")
        logs.create_log_stream(logGroupName="/opsagent/put", logStreamName="s")
        now = int(time.time() * 1000)
        body = {"logGroupName": "/opsagent/put", "logStreamName": "s",
                "logEvents": [{"timestamp": now, "message": "héllo"}, {"timestamp": now + 1, "message": "two"}]}
        self.ok("json-call", "logs", "PutLogEvents", json.dumps(body))
        got = logs.get_log_events(logGroupName="/opsagent/put", logStreamName="s", startFromHead=True)["events"]
        self.assertEqual([e["message"] for e in got], ["héllo", "two"])
        self.assertEqual([m for _, m, _ in self.aws.log_events("/opsagent/put", "s")], ["héllo", "two"])

    def test_json_error_names_code_message_and_request_id(self):
        err = self.failed("json-call", "logs", "DescribeLogStreams", '{"logGroupName": "/no/such/group"}')
        self.assertIn("DescribeLogStreams: ResourceNotFoundException: ", err)
        self.assertRegex(err, r"\(request id [0-9a-f-]{36}\)")
        self.assertIn("No such file or directory", err)

    def test_model_checks_the_input(self):
        err = self.failed("json-call", "logs", "DescribeLogGroups", '{"logGroupNamePrefix": 7}')
        self.assertIn("InvalidParameterException", err)
        err = self.failed("json-call", "logs", "DescribeLogGroups", '{"noSuchParameter": "x"}')
        self.assertIn("Unknown parameter", err)

    def test_throttling_is_retried(self):
        self.aws.set_faults(throttle=1)
        self.ok("json-call", "logs", "DescribeLogGroups")
        self.assertEqual(self.aws.calls().get("DescribeLogGroups"), 2)

    def test_throttled_throughout_is_one_clear_error(self):
        self.aws.set_faults(throttle=-1)
        err = self.failed("json-call", "logs", "DescribeLogGroups", timeout=120)
        self.assertIn("ThrottlingException", err)
        self.assertIn("Resource temporarily unavailable", err)
        self.assertEqual(self.aws.calls().get("DescribeLogGroups"), 3)

    def test_front_enforces_put_log_events_limits(self):
        logs = self.aws.client("logs")
        logs.create_log_group(logGroupName="/opsagent/limits")
        logs.create_log_stream(logGroupName="/opsagent/limits", logStreamName="s")
        now = int(time.time() * 1000)

        def put(events):
            try:
                logs.put_log_events(logGroupName="/opsagent/limits", logStreamName="s", logEvents=events)
                return ""
            except logs.exceptions.InvalidParameterException as e:
                return str(e)

        big = "x" * (262144 - 26)                   # the largest event
        self.assertIn("Log event too large", put([{"timestamp": now, "message": big + "x"}]))
        per = 1048576 // 8 - 26
        self.assertEqual(put([{"timestamp": now, "message": "x" * per}] * 8), "")
        self.assertIn("Upload too large", put([{"timestamp": now, "message": "x" * per}] * 7 +
                                              [{"timestamp": now, "message": "x" * (per + 1)}]))
        self.assertEqual(put([{"timestamp": now, "message": "m"}] * 10000), "")
        self.assertIn("less than or equal to 10000", put([{"timestamp": now, "message": "m"}] * 10001))
        self.assertIn("chronological", put([{"timestamp": now, "message": "a"}, {"timestamp": now - 1, "message": "b"}]))
        self.assertIn("24 hours", put([{"timestamp": now - 24 * 3600 * 1000 - 1, "message": "a"},
                                       {"timestamp": now, "message": "b"}]))


if __name__ == "__main__":
    tap.main()
