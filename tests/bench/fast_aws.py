#!/usr/bin/env python3
"""A light, fast EC2 + CloudWatch stand-in for the benchmarks (127.0.0.1 only).

moto's DescribeSnapshots tag filter is too slow past 10,000 snapshots; this one keeps
snapshots in a list and pages a cached filter result, so that 100,000 snapshots cost the
agent, not the server. It is still strict about what it is sent:
  * every request's SigV4 signature is recomputed with botocore's signer and the known keys
    (the same check as tests/standin/aws_standin.py);
  * every Query request is parsed and checked against botocore's service model (that
    module's validate_query: unknown, missing or malformed parameters get AWS's errors);
  * unknown DescribeSnapshots filters are refused (InvalidParameterValue).
It answers DescribeInstances, DescribeVolumes, DescribeSnapshots (MaxResults 5..1000,
NextToken), CreateSnapshot, CreateSnapshots, CreateTags, DeleteSnapshot and PutMetricData in
EC2's and CloudWatch's XML shapes, and counts calls server-side by operation (and datums).

    python3 fast_aws.py --port-file FILE [--volumes N]
Control (JSON): GET /_bench/calls, /_bench/state; POST /_bench/seed
{"volume_id", "n", "start", "end", "tags", "state"}, /_bench/reset.
"""
import argparse
import base64
import calendar
import datetime
import gzip
import http.server
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
import uuid
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from standin.aws_standin import (ACCESS_KEY_ID, SECRET_ACCESS_KEY, ACCOUNT_ID, AwsError,  # noqa: E402
                                 error_xml, validate_query)
import botocore.auth  # noqa: E402
import botocore.awsrequest  # noqa: E402
import botocore.credentials  # noqa: E402

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
CW_NS = "http://monitoring.amazonaws.com/doc/2010-08-01/"
REGION = "us-east-1"
INSTANCE_ID = "i-0be7c4bench000001"
FILTERS = ("volume-id", "status", "owner-id", "snapshot-id", "description")


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class State:
    def __init__(self, n_volumes):
        self.lock = threading.Lock()
        self.devices = [("/dev/xvda", "vol-0be7c4b0000000000")]
        for i in range(n_volumes - 1):
            self.devices.append(("/dev/sd" + "fghijklmnop"[i], "vol-0be7c4b%010d" % (i + 1)))
        self.snaps = []                  # dicts, in creation order
        self.by_id = {}
        self.seq = 0
        self.cache = {}                  # filter key -> list of snapshots (cleared on change)
        self.calls = {}
        self.datums = 0
        self.bodies = 0

    def add(self, volume_id, start, state="completed", tags=None, description=""):
        self.seq += 1
        s = {"id": "snap-%017x" % self.seq, "vol": volume_id, "start": start, "state": state,
             "tags": list((tags or {}).items()), "desc": description}
        self.snaps.append(s)
        self.by_id[s["id"]] = s
        self.cache.clear()
        return s


def snapshot_xml(s, state_tag="status"):
    tags = "".join("<item><key>%s</key><value>%s</value></item>" % (escape(k), escape(v)) for k, v in s["tags"])
    return ("<item><snapshotId>%s</snapshotId><volumeId>%s</volumeId><%s>%s</%s><startTime>%s</startTime>"
            "<progress>%s</progress><ownerId>%s</ownerId><volumeSize>8</volumeSize><description>%s</description>"
            "<encrypted>false</encrypted><storageTier>standard</storageTier><tagSet>%s</tagSet></item>"
            % (s["id"], s["vol"], state_tag, s["state"], state_tag, iso(s["start"]),
               "100%" if s["state"] == "completed" else "0%", ACCOUNT_ID, escape(s["desc"]), tags))


def indexed(params, prefix):
    """Values of PREFIX.1, PREFIX.2, ... in order."""
    out = []
    i = 1
    while "%s.%d" % (prefix, i) in params:
        out.append(params["%s.%d" % (prefix, i)])
        i += 1
    return out


def tag_spec(params, prefix="TagSpecification.1"):
    tags = {}
    i = 1
    while "%s.Tag.%d.Key" % (prefix, i) in params:
        tags[params["%s.Tag.%d.Key" % (prefix, i)]] = params.get("%s.Tag.%d.Value" % (prefix, i), "")
        i += 1
    return tags


def parse_authorization(headers):
    """The fields of a SigV4 Authorization header (algorithm, key_id, region, service, term,
    signed: the signed header names, signature), else AwsError IncompleteSignature."""
    auth = headers.get("Authorization", "")
    try:
        head, rest = auth.split(" ", 1)
        fields = dict(p.strip().split("=", 1) for p in rest.split(","))
        key_id, _date, region, svc, term = fields["Credential"].split("/")
        return {"algorithm": head, "key_id": key_id, "region": region, "service": svc, "term": term,
                "signed": fields["SignedHeaders"].split(";"), "signature": fields["Signature"]}
    except (ValueError, KeyError):
        raise AwsError(400, "IncompleteSignature", "Authorization header is malformed")


def verify_signature(handler, raw, a, secret, now, mismatch=(401, "AuthFailure")):
    """Checks the request HANDLER is serving (body RAW, Authorization fields A) as AWS does:
    host and x-amz-date signed, the date within 5 minutes of NOW, and the signature botocore
    computes with SECRET; else AwsError (MISMATCH: the status and code of a wrong signature)."""
    if "host" not in a["signed"] or "x-amz-date" not in a["signed"]:
        raise AwsError(401, "AuthFailure", "host and x-amz-date must be signed")
    amz_date = handler.headers.get("X-Amz-Date", "")
    try:
        ts = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        raise AwsError(400, "IncompleteSignature", "X-Amz-Date is malformed")
    if abs(ts - now) > 300:
        raise AwsError(400, "RequestExpired", "Request has expired")
    headers = {}
    for h in a["signed"]:
        v = handler.headers.get_all(h)
        if v is None:
            raise AwsError(401, "AuthFailure", "Signed header %s is missing" % h)
        headers[h] = ",".join(v)
    req = botocore.awsrequest.AWSRequest(method=handler.command, url="http://%s%s" % (handler.headers.get("Host"),
                                                                                        handler.path),
                                         data=raw, headers=headers)
    req.context["timestamp"] = amz_date
    signer = botocore.auth.SigV4Auth(botocore.credentials.Credentials(a["key_id"], secret), a["service"], a["region"])
    if signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req) != a["signature"]:
        raise AwsError(mismatch[0], mismatch[1],
                       "The request signature we calculated does not match the signature you provided.")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AmazonEC2"
    sys_version = ""
    state = None  # type: State

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, ctype="text/xml;charset=UTF-8"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", getattr(self, "request_id", "0"))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    # -- control --------------------------------------------------------------------------------
    def do_GET(self):
        st = self.state
        if self.path == "/_bench/calls":
            with st.lock:
                return self.send(200, json.dumps({"calls": st.calls, "datums": st.datums}), "application/json")
        if self.path == "/_bench/state":
            with st.lock:
                return self.send(200, json.dumps({
                    "instance_id": INSTANCE_ID, "devices": st.devices,
                    "snapshots": [{"id": s["id"], "volume_id": s["vol"], "state": s["state"],
                                   "tags": dict(s["tags"])} for s in st.snaps]}), "application/json")
        self.send(404, "{}", "application/json")

    def do_POST(self):
        st = self.state
        if self.path == "/_bench/seed":
            req = json.loads(self.body())
            n, start, end = int(req["n"]), float(req["start"]), float(req["end"])
            with st.lock:
                for i in range(n):
                    st.add(req["volume_id"], start + (end - start) * i / max(n - 1, 1), req.get("state", "completed"),
                           req.get("tags"), req.get("description", ""))
            return self.send(200, json.dumps({"snapshots": len(st.snaps)}), "application/json")
        if self.path == "/_bench/reset":
            with st.lock:
                st.calls.clear()
                st.datums = 0
            return self.send(200, "{}", "application/json")
        self.request_id = str(uuid.uuid4())
        service = "ec2"
        try:
            raw = self.body()
            service = self.service()
            body = gzip.decompress(raw) if (self.headers.get("Content-Encoding") or "").lower() == "gzip" else raw
            if service == "monitoring" and (self.path.endswith("/operation/PutMetricData") or
                                            self.headers.get("X-Amz-Target", "").endswith(".PutMetricData")):
                return self.structured_put_metric_data(raw, body)
            params = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
            with st.lock:
                op = params.get("Action", "Unknown")
                st.calls[op] = st.calls.get(op, 0) + 1
            self.check_signature(service, raw)
            op, parsed = validate_query(service, params)
            out = getattr(self, "op_" + op, None)
            if out is None:
                raise AwsError(400, "InvalidAction", "%s is not served by this stand-in" % op)
            self.send(200, out(params, parsed))
        except AwsError as e:
            self.send(e.status, error_xml(service, e.code, e.message, self.request_id))

    # -- checks ---------------------------------------------------------------------------------
    def service(self):
        auth = self.headers.get("Authorization", "")
        try:
            svc = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")[3]
        except IndexError:
            raise AwsError(401, "AuthFailure", "Request is missing Authentication Token")
        if svc not in ("ec2", "monitoring"):
            raise AwsError(400, "InvalidAction", "Service %s is not served here" % svc)
        return svc

    def check_signature(self, service, raw):
        a = parse_authorization(self.headers)
        if a["algorithm"] != "AWS4-HMAC-SHA256" or a["term"] != "aws4_request" or a["key_id"] != ACCESS_KEY_ID \
                or a["region"] != REGION:
            raise AwsError(401, "AuthFailure", "AWS was not able to validate the provided access credentials")
        verify_signature(self, raw, a, SECRET_ACCESS_KEY, time.time(),
                         (401, "AuthFailure") if service == "ec2" else (403, "SignatureDoesNotMatch"))

    def ec2(self, op, inner):
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<%sResponse xmlns="%s"><requestId>%s</requestId>%s'
                '</%sResponse>' % (op, EC2_NS, self.request_id, inner, op))

    # -- EC2 ------------------------------------------------------------------------------------
    def op_DescribeInstances(self, params, parsed):
        ids = parsed.get("InstanceIds") or [INSTANCE_ID]
        if ids != [INSTANCE_ID]:
            raise AwsError(400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist" % ids[0])
        bdm = "".join("<item><deviceName>%s</deviceName><ebs><volumeId>%s</volumeId><status>attached</status>"
                      "<attachTime>2026-01-01T00:00:00.000Z</attachTime><deleteOnTermination>%s"
                      "</deleteOnTermination></ebs></item>" % (d, v, "true" if d == "/dev/xvda" else "false")
                      for d, v in self.state.devices)
        inst = ("<item><instanceId>%s</instanceId><imageId>ami-0be7c4b000000000</imageId><instanceState><code>16"
                "</code><name>running</name></instanceState><privateDnsName>ip-10-0-0-1.ec2.internal"
                "</privateDnsName><instanceType>m5.large</instanceType><placement><availabilityZone>%sa"
                "</availabilityZone><tenancy>default</tenancy></placement><rootDeviceType>ebs</rootDeviceType>"
                "<rootDeviceName>/dev/xvda</rootDeviceName><blockDeviceMapping>%s</blockDeviceMapping>"
                "<tagSet><item><key>Name</key><value>bench</value></item></tagSet></item>" % (INSTANCE_ID, REGION, bdm))
        return self.ec2("DescribeInstances", "<reservationSet><item><reservationId>r-0be7c4b000000001"
                        "</reservationId><ownerId>%s</ownerId><groupSet/><instancesSet>%s</instancesSet></item>"
                        "</reservationSet>" % (ACCOUNT_ID, inst))

    def op_DescribeVolumes(self, params, parsed):
        ids = parsed.get("VolumeIds")
        items = "".join("<item><volumeId>%s</volumeId><size>8</size><snapshotId/><availabilityZone>%sa"
                        "</availabilityZone><status>in-use</status><createTime>2026-01-01T00:00:00.000Z"
                        "</createTime><attachmentSet><item><volumeId>%s</volumeId><instanceId>%s</instanceId>"
                        "<device>%s</device><status>attached</status></item></attachmentSet><volumeType>gp3"
                        "</volumeType><encrypted>false</encrypted></item>" % (v, REGION, v, INSTANCE_ID, d)
                        for d, v in self.state.devices if not ids or v in ids)
        return self.ec2("DescribeVolumes", "<volumeSet>%s</volumeSet>" % items)

    def matching(self, params, parsed):
        owners = parsed.get("OwnerIds") or []
        if any(o not in ("self", ACCOUNT_ID) for o in owners):
            return []
        filters = [(f["Name"], set(f.get("Values", []))) for f in parsed.get("Filters", [])]
        for name, _ in filters:
            if not name.startswith("tag:") and name not in FILTERS:
                raise AwsError(400, "InvalidParameterValue", "The filter '%s' is invalid" % name)
        ids = set(parsed.get("SnapshotIds") or [])
        key = json.dumps([sorted(ids), [(n, sorted(v)) for n, v in filters]])
        st = self.state
        with st.lock:
            hit = st.cache.get(key)
            if hit is not None:
                return hit
            out = []
            for s in st.snaps:
                if ids and s["id"] not in ids:
                    continue
                ok = True
                for name, values in filters:
                    if name.startswith("tag:"):
                        v = dict(s["tags"]).get(name[4:])
                    else:
                        v = {"volume-id": s["vol"], "status": s["state"], "owner-id": ACCOUNT_ID,
                             "snapshot-id": s["id"], "description": s["desc"]}[name]
                    if v not in values:
                        ok = False
                        break
                if ok:
                    out.append(s)
            st.cache[key] = out
            return out

    def op_DescribeSnapshots(self, params, parsed):
        found = self.matching(params, parsed)
        if "MaxResults" in parsed and parsed.get("SnapshotIds"):
            raise AwsError(400, "InvalidParameterCombination",
                           "The parameter SnapshotIds cannot be used with the parameter MaxResults")
        mr = parsed.get("MaxResults")
        start = 0
        if parsed.get("NextToken"):
            try:
                start = int(base64.b64decode(parsed["NextToken"]).decode())
            except ValueError:
                raise AwsError(400, "InvalidParameterValue", "Invalid NextToken")
        if mr is None:
            page = found[start:]
            nxt = ""
        else:
            if not 5 <= mr <= 1000:
                raise AwsError(400, "InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. "
                               "Expecting a value between 5 and 1000." % mr)
            page = found[start:start + mr]
            nxt = ("<nextToken>%s</nextToken>" % base64.b64encode(str(start + mr).encode()).decode()
                   if start + mr < len(found) else "")
        return self.ec2("DescribeSnapshots", "<snapshotSet>%s</snapshotSet>%s"
                        % ("".join(snapshot_xml(s) for s in page), nxt))

    def volume(self, vid):
        if vid not in [v for _, v in self.state.devices]:
            raise AwsError(400, "InvalidVolume.NotFound", "The volume '%s' does not exist." % vid)

    def op_CreateSnapshot(self, params, parsed):
        self.volume(parsed["VolumeId"])
        with self.state.lock:
            s = self.state.add(parsed["VolumeId"], time.time(), "pending", tag_spec(params),
                               parsed.get("Description", ""))
        x = snapshot_xml(s)
        return self.ec2("CreateSnapshot", x[len("<item>"):-len("</item>")])

    def op_CreateSnapshots(self, params, parsed):
        spec = parsed["InstanceSpecification"]
        if spec["InstanceId"] != INSTANCE_ID:
            raise AwsError(400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist" % spec["InstanceId"])
        skip = set(spec.get("ExcludeDataVolumeIds") or [])
        out = []
        with self.state.lock:
            for d, v in self.state.devices:
                if v in skip or (d == "/dev/xvda" and spec.get("ExcludeBootVolume")):
                    continue
                out.append(self.state.add(v, time.time(), "pending", tag_spec(params), parsed.get("Description", "")))
        return self.ec2("CreateSnapshots", "<snapshotSet>%s</snapshotSet>"
                        % "".join(snapshot_xml(s, "state") for s in out))

    def op_CreateTags(self, params, parsed):
        with self.state.lock:
            for rid in parsed["Resources"]:
                s = self.state.by_id.get(rid)
                if s is None:
                    raise AwsError(400, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist." % rid)
                tags = dict(s["tags"])
                tags.update({t["Key"]: t.get("Value", "") for t in parsed["Tags"]})
                s["tags"] = list(tags.items())
            self.state.cache.clear()
        return self.ec2("CreateTags", "<return>true</return>")

    def op_DeleteSnapshot(self, params, parsed):
        with self.state.lock:
            s = self.state.by_id.pop(parsed["SnapshotId"], None)
            if s is None:
                raise AwsError(400, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist." % parsed["SnapshotId"])
            self.state.snaps.remove(s)
            self.state.cache.clear()
        return self.ec2("DeleteSnapshot", "<return>true</return>")

    # -- CloudWatch -----------------------------------------------------------------------------
    def structured_put_metric_data(self, raw, body):
        """PutMetricData in the JSON (X-Amz-Target) or Smithy RPC v2 CBOR protocol, which the AWS
        CLI speaks to CloudWatch: decoded (CBOR with botocore's own reader), checked against
        the model, answered in the same protocol."""
        import io
        import botocore.parsers
        import botocore.validate
        from standin.aws_standin import _models
        st = self.state
        with st.lock:
            st.calls["PutMetricData"] = st.calls.get("PutMetricData", 0) + 1
        self.check_signature("monitoring", raw)
        cbor = self.path.endswith("/operation/PutMetricData")
        if cbor and self.headers.get("smithy-protocol") != "rpc-v2-cbor":
            raise AwsError(400, "InvalidAction", "smithy-protocol: rpc-v2-cbor missing")
        try:
            if cbor:
                data = botocore.parsers.BaseCBORParser().parse_data_item(io.BytesIO(body))
            else:
                data = json.loads(body)
        except Exception as e:
            raise AwsError(400, "SerializationException", "bad request body: %s" % e)
        data = {k: v for k, v in data.items()}
        for d in data.get("MetricData", []):
            if "Timestamp" in d and not isinstance(d["Timestamp"], datetime.datetime):
                d["Timestamp"] = datetime.datetime.fromtimestamp(float(d["Timestamp"]), datetime.timezone.utc)
        shape = _models["monitoring"].operation_model("PutMetricData").input_shape
        report = botocore.validate.ParamValidator().validate(data, shape)
        if report.has_errors():
            raise AwsError(400, "InvalidParameterValue", report.generate_report().replace("\n", " "))
        with st.lock:
            st.datums += len(data.get("MetricData", []))
        self.send_response(200)
        self.send_header("Content-Type", "application/cbor" if cbor else "application/x-amz-json-1.0")
        if cbor:
            self.send_header("smithy-protocol", "rpc-v2-cbor")
        self.send_header("Content-Length", "1" if cbor else "2")
        self.send_header("x-amzn-RequestId", self.request_id)
        self.end_headers()
        self.wfile.write(b"\xa0" if cbor else b"{}")

    def op_PutMetricData(self, params, parsed):
        with self.state.lock:
            self.state.datums += len(parsed.get("MetricData", []))
        return ('<PutMetricDataResponse xmlns="%s"><ResponseMetadata><RequestId>%s</RequestId>'
                '</ResponseMetadata></PutMetricDataResponse>' % (CW_NS, self.request_id))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--volumes", type=int, default=1)
    a = ap.parse_args()
    Handler.state = State(a.volumes)
    httpd = Server(("127.0.0.1", 0), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % httpd.server_address[1])
    os.rename(tmp, a.port_file)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=httpd.shutdown).start())
    httpd.serve_forever()


def start_child(script, port_file, args=()):
    """Starts the stand-in SCRIPT (`--port-file PORT_FILE` and ARGS) as a child process and
    waits, 60 s at most, for the port it writes there once it listens: (process, port)."""
    import subprocess
    if os.path.exists(port_file):
        os.unlink(port_file)
    proc = subprocess.Popen([sys.executable, "-B", os.path.abspath(script), "--port-file", port_file] +
                            [str(a) for a in args], stdin=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not os.path.exists(port_file):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError("%s did not start" % os.path.basename(script))
        time.sleep(0.02)
    with open(port_file) as f:
        return proc, int(f.read())


class FastAws:
    """Runs the stand-in as a child process: `with FastAws(tmpdir) as aws: aws.env() ...`."""

    def __init__(self, tmpdir, volumes=1):
        self.port_file = os.path.join(tmpdir, "fast_aws.port")
        self.proc, self.port = start_child(__file__, self.port_file, ["--volumes", volumes])
        self.url = "http://127.0.0.1:%d" % self.port
        self.instance_id = INSTANCE_ID

    def _req(self, path, body=None):
        import urllib.request
        data = json.dumps(body).encode() if body is not None else None
        with urllib.request.urlopen(urllib.request.Request(self.url + path, data=data), timeout=120) as r:
            return json.load(r)

    def seed(self, **kw):
        return self._req("/_bench/seed", kw)

    def calls(self):
        return self._req("/_bench/calls")

    def reset(self):
        return self._req("/_bench/reset", {})

    def state(self):
        return self._req("/_bench/state")

    def env(self):
        return {"AWS_ENDPOINT_URL_EC2": self.url, "AWS_ENDPOINT_URL_CLOUDWATCH": self.url, "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY, "AWS_EC2_METADATA_DISABLED": "true"}

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except Exception:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


if __name__ == "__main__":
    main()
