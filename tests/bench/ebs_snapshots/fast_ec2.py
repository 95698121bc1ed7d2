#!/usr/bin/env python3
"""A small, fast EC2 stand-in for the retention benchmark (127.0.0.1 only; not a test).

moto's DescribeSnapshots tag filter is too slow past 10,000 snapshots. This one keeps the
snapshots in a dict, caches each filter's result and pages it (MaxResults 5..1000, NextToken),
so that 100,000 snapshots cost the agent, not the server. It is still strict about what it is
sent: every request's SigV4 signature is recomputed with botocore's signer and the stand-in's
keys, and every Query request is checked against botocore's EC2 model (validate_query of
tests/standin/aws_standin.py), as the real stand-in does.

It answers DescribeInstances, DescribeSnapshots, CreateSnapshot, CreateSnapshots, CreateTags
and DeleteSnapshot in EC2's XML shapes and counts calls by operation.

    with FastEc2(n_volumes=2) as ec2:
        ec2.seed(volume_id, n=100000, start=..., end=..., tags={...})
        env = ec2.env()                  # AWS_ENDPOINT_URL_EC2, keys, region, aws.instance_id to set
        ec2.calls()                      # {"DescribeSnapshots": 100, ...}
"""
import base64
import calendar
import datetime
import http.server
import os
import sys
import threading
import time
import urllib.parse
import uuid
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))
from standin.aws_standin import (ACCESS_KEY_ID, ACCOUNT_ID, SECRET_ACCESS_KEY, AwsError,  # noqa: E402
                                 error_xml, validate_query)
import botocore.auth  # noqa: E402
import botocore.awsrequest  # noqa: E402
import botocore.credentials  # noqa: E402

NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
REGION = "us-east-1"
INSTANCE_ID = "i-0fa57ec2bench0001"
FILTERS = ("volume-id", "status", "owner-id", "snapshot-id", "tag-key")


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FastEc2:
    def __init__(self, n_volumes=2):
        self.lock = threading.Lock()
        self.devices = [("/dev/xvda", "vol-0fa57000000000000")]
        for i in range(n_volumes - 1):
            self.devices.append(("/dev/sd" + "fghijklmnop"[i], "vol-0fa57%011d" % (i + 1)))
        self.volume_ids = [v for _, v in self.devices]
        self.snaps = {}            # id -> dict(volume, start, state, tags, description)
        self.order = []            # ids in creation order (the listing order)
        self.gen = 0               # bumped on every change: filter caches are per generation
        self.cache = {}
        self.counter = 0
        self._calls = {}
        self.httpd = None

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self):
        fast = self

        class H(_Handler):
            ec2 = fast
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def env(self):
        return {"AWS_ENDPOINT_URL_EC2": self.url, "AWS_ENDPOINT_URL_CLOUDWATCH": self.url,
                "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true"}

    # -- state ----------------------------------------------------------------------------------
    def _new_id(self):
        self.counter += 1
        return "snap-0fa57%012x" % self.counter

    def seed(self, volume_id, n, start, end, tags=None, state="completed"):
        """N snapshots of VOLUME_ID with start times spread evenly over [START, END)."""
        with self.lock:
            for i in range(n):
                sid = self._new_id()
                self.snaps[sid] = {"volume": volume_id, "start": start + (end - start) * i / max(n, 1),
                                   "state": state, "tags": dict(tags or {}), "description": "seeded"}
                self.order.append(sid)
            self.gen += 1

    def calls(self):
        with self.lock:
            return dict(self._calls)

    def reset(self):
        with self.lock:
            self.snaps.clear()
            self.order.clear()
            self.cache.clear()
            self._calls.clear()
            self.gen += 1

    def count(self):
        with self.lock:
            return len(self.snaps)

    # -- operations -----------------------------------------------------------------------------
    def _filtered(self, parsed):
        filters = []
        for f in parsed.get("Filters", []):
            name, values = f["Name"], tuple(f.get("Values", []))
            if name not in FILTERS and not name.startswith("tag:"):
                raise AwsError(400, "InvalidParameterValue", "The filter '%s' is invalid" % name)
            filters.append((name, values))
        key = (self.gen, tuple(filters), tuple(parsed.get("SnapshotIds", [])))
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        out = []
        ids = set(parsed.get("SnapshotIds", []))
        for sid in self.order:
            s = self.snaps[sid]
            if ids and sid not in ids:
                continue
            ok = True
            for name, values in filters:
                if name == "volume-id":
                    ok = s["volume"] in values
                elif name == "status":
                    ok = s["state"] in values
                elif name == "owner-id":
                    ok = ACCOUNT_ID in values
                elif name == "snapshot-id":
                    ok = sid in values
                elif name == "tag-key":
                    ok = any(k in s["tags"] for k in values)
                else:
                    ok = s["tags"].get(name[4:]) in values
                if not ok:
                    break
            if ok:
                out.append(sid)
        self.cache = {key: out}
        return out

    @staticmethod
    def _item(sid, s, state_tag="status"):
        tags = "".join("<item><key>%s</key><value>%s</value></item>" % (escape(k), escape(v))
                       for k, v in s["tags"].items())
        return ("<item><snapshotId>%s</snapshotId><volumeId>%s</volumeId><%s>%s</%s><startTime>%s</startTime>"
                "<progress>%s</progress><ownerId>%s</ownerId><volumeSize>8</volumeSize>"
                "<description>%s</description><encrypted>false</encrypted><storageTier>standard</storageTier>"
                "<tagSet>%s</tagSet></item>" % (
                    sid, s["volume"], state_tag, s["state"], state_tag, iso(s["start"]),
                    "100%" if s["state"] == "completed" else "0%", ACCOUNT_ID, escape(s["description"]), tags))

    def describe_snapshots(self, parsed):
        mr = parsed.get("MaxResults", 1000)
        if not 5 <= mr <= 1000:
            raise AwsError(400, "InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid." % mr)
        token = parsed.get("NextToken")
        with self.lock:
            ids = self._filtered(parsed)
            try:
                start = int(base64.b64decode(token).decode()) if token else 0
            except ValueError:
                raise AwsError(400, "InvalidParameterValue", "Invalid NextToken")
            page = [(sid, self.snaps[sid]) for sid in ids[start:start + mr] if sid in self.snaps]
            more = start + mr < len(ids)
        body = "".join(self._item(sid, s) for sid, s in page)
        nt = "<nextToken>%s</nextToken>" % base64.b64encode(str(start + mr).encode()).decode() if more else ""
        return "<snapshotSet>%s</snapshotSet>%s" % (body, nt)

    def _tags_of(self, parsed):
        out = {}
        for spec in parsed.get("TagSpecifications", []):
            for t in spec.get("Tags", []):
                out[t["Key"]] = t.get("Value", "")
        return out

    def create_snapshot(self, parsed):
        with self.lock:
            sid = self._new_id()
            s = {"volume": parsed["VolumeId"], "start": time.time(), "state": "pending",
                 "tags": self._tags_of(parsed), "description": parsed.get("Description", "")}
            self.snaps[sid] = s
            self.order.append(sid)
            self.gen += 1
        tags = "".join("<item><key>%s</key><value>%s</value></item>" % (escape(k), escape(v))
                       for k, v in s["tags"].items())
        return ("<snapshotId>%s</snapshotId><volumeId>%s</volumeId><status>pending</status>"
                "<startTime>%s</startTime><progress></progress><ownerId>%s</ownerId><volumeSize>8</volumeSize>"
                "<description>%s</description><encrypted>false</encrypted><tagSet>%s</tagSet>" % (
                    sid, s["volume"], iso(s["start"]), ACCOUNT_ID, escape(s["description"]), tags))

    def create_snapshots(self, parsed):
        spec = parsed["InstanceSpecification"]
        excluded = set(spec.get("ExcludeDataVolumeIds", []))
        items = []
        with self.lock:
            for i, (dev, vol) in enumerate(self.devices):
                if (i == 0 and spec.get("ExcludeBootVolume")) or vol in excluded:
                    continue
                sid = self._new_id()
                s = {"volume": vol, "start": time.time(), "state": "pending", "tags": self._tags_of(parsed),
                     "description": parsed.get("Description", "")}
                self.snaps[sid] = s
                self.order.append(sid)
                items.append(self._item(sid, s, "state"))
            self.gen += 1
        return "<snapshotSet>%s</snapshotSet>" % "".join(items)

    def create_tags(self, parsed):
        with self.lock:
            for rid in parsed["Resources"]:
                s = self.snaps.get(rid)
                if s is None:
                    raise AwsError(400, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist." % rid)
                for t in parsed.get("Tags", []):
                    s["tags"][t["Key"]] = t.get("Value", "")
            self.gen += 1
        return "<return>true</return>"

    def delete_snapshot(self, parsed):
        sid = parsed["SnapshotId"]
        with self.lock:
            if sid not in self.snaps:
                raise AwsError(400, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist." % sid)
            del self.snaps[sid]
            self.order.remove(sid)
            self.gen += 1
        return "<return>true</return>"

    def describe_instances(self, parsed):
        bdm = "".join("<item><deviceName>%s</deviceName><ebs><volumeId>%s</volumeId><status>attached</status>"
                      "<attachTime>2024-01-01T00:00:00.000Z</attachTime><deleteOnTermination>true"
                      "</deleteOnTermination></ebs></item>" % (d, v) for d, v in self.devices)
        return ("<reservationSet><item><reservationId>r-0fa57</reservationId><ownerId>%s</ownerId>"
                "<instancesSet><item><instanceId>%s</instanceId><instanceType>m5.large</instanceType>"
                "<placement><availabilityZone>us-east-1a</availabilityZone></placement>"
                "<rootDeviceName>/dev/xvda</rootDeviceName><blockDeviceMapping>%s</blockDeviceMapping>"
                "</item></instancesSet></item></reservationSet>" % (ACCOUNT_ID, INSTANCE_ID, bdm))

    OPS = {"DescribeSnapshots": describe_snapshots, "CreateSnapshot": create_snapshot,
           "CreateSnapshots": create_snapshots, "CreateTags": create_tags, "DeleteSnapshot": delete_snapshot,
           "DescribeInstances": describe_instances}


class _Handler(http.server.BaseHTTPRequestHandler):
    ec2 = None  # type: FastEc2
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body):
        body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _check_signature(self, raw):
        auth = self.headers.get("Authorization", "")
        try:
            head, rest = auth.split(" ", 1)
            fields = dict(p.strip().split("=", 1) for p in rest.split(","))
            key_id, date, region, svc, term = fields["Credential"].split("/")
            signed = fields["SignedHeaders"].split(";")
        except (ValueError, KeyError):
            raise AwsError(400, "IncompleteSignature", "Authorization header is malformed")
        if key_id != ACCESS_KEY_ID or region != REGION:
            raise AwsError(401, "AuthFailure", "AWS was not able to validate the provided access credentials")
        amz_date = self.headers.get("X-Amz-Date", "")
        headers = {h: ",".join(self.headers.get_all(h) or []) for h in signed}
        req = botocore.awsrequest.AWSRequest(method=self.command, url="http://%s%s" % (self.headers["Host"], self.path),
                                             data=raw, headers=headers)
        req.context["timestamp"] = amz_date
        signer = botocore.auth.SigV4Auth(botocore.credentials.Credentials(key_id, SECRET_ACCESS_KEY), svc, region)
        if signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req) != fields["Signature"]:
            raise AwsError(401, "AuthFailure", "AWS was not able to validate the provided access credentials")
        if abs(calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ")) - time.time()) > 300:
            raise AwsError(400, "RequestExpired", "Request has expired")

    def do_POST(self):
        rid = str(uuid.uuid4())
        try:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._check_signature(raw)
            params = dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
            op, parsed = validate_query("ec2", params)
            with self.ec2.lock:
                self.ec2._calls[op] = self.ec2._calls.get(op, 0) + 1
            fn = FastEc2.OPS.get(op)
            if fn is None:
                raise AwsError(400, "InvalidAction", "%s is not served by the benchmark's stand-in" % op)
            inner = fn(self.ec2, parsed)
            self._send(200, '<?xml version="1.0" encoding="UTF-8"?>\n<%sResponse xmlns="%s"><requestId>%s</requestId>'
                       '%s</%sResponse>' % (op, NS, rid, inner, op))
        except AwsError as e:
            self._send(e.status, error_xml("ec2", e.code, e.message, rid).decode())
