#!/usr/bin/env python3
"""A light, fast CloudWatch Logs stand-in for the log shipper's benchmark (127.0.0.1 only).

moto behind the test stand-in's front parses every event into objects and validates each
request against botocore's model: fine for the tests, but at 1 GiB it would measure moto. This
one still checks every request's SigV4 signature (tests/bench/fast_aws.py's check, the service
`logs`), and every PutLogEvents against the API's limits (tests/standin/aws_standin.py's
check_log_events: 10,000 events, 1,048,576 bytes with 26 per event, 256 KiB per event, 24 h,
chronological order); it answers CreateLogGroup, CreateLogStream, PutRetentionPolicy,
DescribeLogGroups, DescribeLogStreams and PutLogEvents in JSON 1.1, and counts, server-side:
calls by operation, events, bytes (as the API counts them), and with latency on, for every
event whose message starts with a Unix time ("1733337600.123456 ..."), the time from that
stamp to its acceptance.

    python3 fast_logs.py --port-file FILE
Control (JSON): GET /_bench/calls, /_bench/latency (p50, p99, max, n); POST /_bench/reset,
/_bench/latency_on, /_bench/latency_until {"until": UNIX_TIME} (only lines stamped before it).
"""
import argparse
import gzip
import json
import os
import signal
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", ".."))
import fast_aws  # noqa: E402
from standin.aws_standin import (ACCESS_KEY_ID, SECRET_ACCESS_KEY, AwsError, LOGS_EVENT_OVERHEAD,  # noqa: E402
                                 check_log_events)

REGION = fast_aws.REGION


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.groups = {}            # name -> {"streams": set(), "retention": None}
        self.calls = {}
        self.events = 0
        self.bytes = 0
        self.batches = 0
        self.latency = False
        self.until = None               # only lines stamped before this count
        self.lat = []


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


class Handler(fast_aws.Handler):
    server_version = "Server"
    lstate = None   # type: State

    def service(self):
        auth = self.headers.get("Authorization", "")
        try:
            svc = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")[3]
        except IndexError:
            raise AwsError(400, "MissingAuthenticationTokenException", "Missing Authentication Token")
        if svc != "logs":
            raise AwsError(400, "UnrecognizedClientException", "Service %s is not served here" % svc)
        return svc

    def jsend(self, status, obj):
        self.send(status, json.dumps(obj), "application/x-amz-json-1.1")

    def do_GET(self):
        st = self.lstate
        if self.path == "/_bench/calls":
            with st.lock:
                return self.jsend(200, {"calls": st.calls, "events": st.events, "bytes": st.bytes,
                                        "batches": st.batches})
        if self.path == "/_bench/latency":
            with st.lock:
                lat = sorted(st.lat)
            return self.jsend(200, {"n": len(lat), "p50": percentile(lat, 50), "p99": percentile(lat, 99),
                                    "max": lat[-1] if lat else None})
        self.jsend(404, {})

    def do_POST(self):
        st = self.lstate
        if self.path in ("/_bench/reset", "/_bench/latency_on", "/_bench/latency_until"):
            req = json.loads(self.body() or b"{}")
            with st.lock:
                if self.path.endswith("latency_until"):
                    st.until = float(req["until"])
                    return self.jsend(200, {})
                st.calls.clear()
                st.events = st.bytes = st.batches = 0
                st.lat = []
                st.until = None
                st.latency = self.path.endswith("latency_on")
            return self.jsend(200, {})
        self.request_id = str(uuid.uuid4())
        try:
            raw = self.body()
            self.service()
            op = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
            with st.lock:
                st.calls[op] = st.calls.get(op, 0) + 1
            self.check_signature("logs", raw)
            body = raw
            if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                body = gzip.decompress(raw)
            try:
                req = json.loads(body or b"{}")
            except ValueError:
                raise AwsError(400, "SerializationException", "the body is not JSON")
            fn = getattr(self, "op_" + op, None)
            if fn is None:
                raise AwsError(400, "UnknownOperationException", "%s is not served by this stand-in" % op)
            self.jsend(200, fn(req))
        except AwsError as e:
            self.jsend(e.status, {"__type": e.code, "message": e.message})

    def group(self, req):
        g = self.lstate.groups.get(req.get("logGroupName"))
        if g is None:
            raise AwsError(400, "ResourceNotFoundException", "The specified log group does not exist.")
        return g

    def op_CreateLogGroup(self, req):
        with self.lstate.lock:
            if req["logGroupName"] in self.lstate.groups:
                raise AwsError(400, "ResourceAlreadyExistsException", "The specified log group already exists")
            self.lstate.groups[req["logGroupName"]] = {"streams": set(), "retention": None}
        return {}

    def op_PutRetentionPolicy(self, req):
        with self.lstate.lock:
            self.group(req)["retention"] = req["retentionInDays"]
        return {}

    def op_CreateLogStream(self, req):
        with self.lstate.lock:
            g = self.group(req)
            if req["logStreamName"] in g["streams"]:
                raise AwsError(400, "ResourceAlreadyExistsException", "The specified log stream already exists")
            g["streams"].add(req["logStreamName"])
        return {}

    def op_DescribeLogGroups(self, req):
        with self.lstate.lock:
            p = req.get("logGroupNamePrefix", "")
            return {"logGroups": [{"logGroupName": n, "retentionInDays": g["retention"]}
                                  for n, g in sorted(self.lstate.groups.items()) if n.startswith(p)]}

    def op_DescribeLogStreams(self, req):
        with self.lstate.lock:
            g = self.group(req)
            p = req.get("logStreamNamePrefix", "")
            return {"logStreams": [{"logStreamName": s} for s in sorted(g["streams"]) if s.startswith(p)]}

    def op_PutLogEvents(self, req):
        events = req.get("logEvents") or []
        if not events:
            raise AwsError(400, "InvalidParameterException", "logEvents must not be empty")
        check_log_events(events)
        now = time.time()
        with self.lstate.lock:
            g = self.group(req)
            if req.get("logStreamName") not in g["streams"]:
                raise AwsError(400, "ResourceNotFoundException", "The specified log stream does not exist.")
            st = self.lstate
            st.events += len(events)
            st.bytes += sum(len(e["message"].encode()) + LOGS_EVENT_OVERHEAD for e in events)
            st.batches += 1
            if st.latency:
                for e in events:
                    try:
                        t = float(e["message"].split(" ", 1)[0])
                    except ValueError:
                        continue
                    if st.until is None or t < st.until:
                        st.lat.append(now - t)
        return {"nextSequenceToken": "%056d" % int(now * 1000)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    Handler.lstate = State()
    httpd = fast_aws.Server(("127.0.0.1", 0), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % httpd.server_address[1])
    os.rename(tmp, a.port_file)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=httpd.shutdown).start())
    httpd.serve_forever()


class FastLogs(fast_aws.FastAws):
    """Runs the stand-in as a child process: `with FastLogs(tmpdir) as logs: logs.env() ...`."""

    def __init__(self, tmpdir):
        self.port_file = os.path.join(tmpdir, "fast_logs.port")
        self.proc, self.port = fast_aws.start_child(__file__, self.port_file)
        self.url = "http://127.0.0.1:%d" % self.port

    def latency(self):
        return self._req("/_bench/latency")

    def latency_on(self):
        return self._req("/_bench/latency_on", {})

    def latency_until(self, t):
        return self._req("/_bench/latency_until", {"until": t})

    def env(self):
        return {"AWS_ENDPOINT_URL_LOGS": self.url, "AWS_ENDPOINT_URL_CLOUDWATCH": self.url, "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY, "AWS_EC2_METADATA_DISABLED": "true"}


if __name__ == "__main__":
    main()
