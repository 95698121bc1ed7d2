#!/usr/bin/env python3
"""A light EC2 + CloudWatch stand-in for a fleet of nodes, with EC2's request throttling
(127.0.0.1 only). The fleet night's server (tests/bench/fleet/README.md).

Beside tests/bench/fast_aws.py (whose XML shapes, tag and snapshot helpers it reuses), but
for many nodes at once:
  * every node signs with its own access key id (AKIAFLEET + the node's number), all with
    the stand-in's secret; the signature is recomputed with botocore's signer and checked,
    and the key id says which node called: calls are counted per node and per action;
  * every Query request is parsed and checked against botocore's EC2/CloudWatch model
    (tests/standin/aws_standin.py's validate_query), as fast_aws.py does;
  * each node is an instance with 2 volumes (root /dev/xvda, data /dev/sdf) and a week of
    completed snapshots of ours on each (one a day, 7 days), tagged as the agent tags them;
  * EC2's request rate limiting as documented in "Request throttling for the Amazon EC2 API"
    (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html): one token
    bucket per API action for the whole account (so for the whole fleet), sized by the
    action's category or its own row of the "uncategorized actions" table (BUCKETS below);
    each request takes one token; a bucket below its maximum gets its refill rate added every
    second (whole seconds of the simulated clock), never above the maximum; a request that
    finds less than one token fails with RequestLimitExceeded (HTTP 503, EC2's XML error
    shape) and takes none. DescribeInstances / DescribeSnapshots / DescribeVolumes without a
    Filter and without pagination (MaxResults / NextToken) take from the smaller
    "unfiltered and unpaginated" bucket of that action instead (InstanceId.N / VolumeId.N /
    SnapshotId.N are not filters there: the conservative reading);
  * CloudWatch's PutMetricData is answered and counted, not throttled (its quota is a
    separate service's, far above what a node's one report a night sends);
  * a simulated clock: sim = epoch + speed * (time.time() - epoch) (--speed K, the same
    factor the nodes' libfaketime runs their clocks at), which refills the buckets, stamps
    new snapshots and the Date header, and checks the signatures' X-Amz-Date (300 s);
  * duplicates: every snapshot created tonight is kept with its volume and its
    opsagent:run-id tag; more than one created for the same volume is a duplicate.

    python3 fleet_ec2.py --port-file FILE --nodes N [--speed K] [--epoch T]
Control (JSON, unsigned): GET /_fleet/report (per-node calls by action, throttled calls by
action, tonight's snapshots per volume, first and last call of each node in simulated
seconds since the epoch, duplicates).
"""
import argparse
import email.utils
import gzip
import http.server
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", ".."))
from fast_aws import (EC2_NS, CW_NS, REGION, parse_authorization, snapshot_xml, tag_spec,  # noqa: E402
                      verify_signature)
from standin.aws_standin import (SECRET_ACCESS_KEY, ACCOUNT_ID, AwsError, error_xml,  # noqa: E402
                                 validate_query)

KEY_PREFIX = "AKIAFLEET"
VOLUMES_PER_NODE = 2
WEEK = 7
DOC = "https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html"

# (bucket maximum capacity, refill rate per second), from DOC's tables.
NON_MUTATING = (100, 20)              # Describe*, List*, Search*, Get* not in another category
UNFILTERED = (50, 10)                 # DescribeInstances, DescribeSnapshots, DescribeVolumes, ... unfiltered+unpaginated
MUTATING = (50, 5)                    # every other mutating action
BUCKETS = {                           # "Uncategorized actions": their own rows
    "CreateSnapshot": (100, 5),
    "CreateSnapshots": (100, 5),
    "CreateTags": (100, 10),
    "DeleteSnapshot": (100, 5),
    "DeleteTags": (100, 10),
    "CreateVolume": (100, 5),
    "DeleteVolume": (100, 5),
    "ModifySnapshotAttribute": (100, 5),
}
STALL = {}                            # action -> real seconds to wait before answering (clock check)
UNFILTERED_ACTIONS = ("DescribeInstances", "DescribeInstanceStatus", "DescribeNetworkInterfaces",
                      "DescribeSecurityGroups", "DescribeSnapshots", "DescribeSpotInstanceRequests",
                      "DescribeVolumes")


def key_id(node):
    return "%s%07d" % (KEY_PREFIX, node)           # 20 characters, as real ones


def instance_id(node):
    return "i-0f1ee7%011x" % node


def volume_id(node, k):
    return "vol-0f1ee7%010x%x" % (node, k)


DEVICES = ("/dev/xvda", "/dev/sdf")


class Bucket:
    def __init__(self, capacity, rate, now):
        self.capacity, self.rate = capacity, rate
        self.tokens = float(capacity)
        self.tick = int(now)                      # the last whole second refilled

    def take(self, now):
        t = int(now)
        if t > self.tick:
            self.tokens = min(self.capacity, self.tokens + self.rate * (t - self.tick))
            self.tick = t
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Fleet:
    def __init__(self, nodes, speed, epoch):
        self.lock = threading.Lock()
        self.nodes, self.speed, self.epoch = nodes, speed, epoch
        self.snaps = {}             # id -> snapshot dict (fast_aws's shape)
        self.by_volume = {}         # volume id -> [snapshot dicts]
        self.vol_node = {}
        self.seq = 0
        self.buckets = {}
        self.calls = [dict() for _ in range(nodes)]
        self.throttled = [dict() for _ in range(nodes)]
        self.first = [None] * nodes
        self.last = [None] * nodes
        self.created = {}           # volume id -> [(snapshot id, run id, sim time)]
        self.deleted = {}           # volume id -> count
        now = self.now()
        for n in range(nodes):
            for k in range(VOLUMES_PER_NODE):
                v = volume_id(n, k)
                self.vol_node[v] = n
                self.by_volume[v] = []
                for d in range(WEEK, 0, -1):
                    self.add(v, now - d * 86400, "completed",
                             {"opsagent:managed": "true", "opsagent:instance-id": instance_id(n),
                              "opsagent:device": DEVICES[k], "opsagent:run-id": "seed-%d" % d})

    def now(self):
        return self.epoch + self.speed * (time.time() - self.epoch)

    def add(self, vol, start, state, tags, desc=""):
        self.seq += 1
        s = {"id": "snap-%017x" % self.seq, "vol": vol, "start": start, "state": state,
             "tags": list(tags.items()), "desc": desc}
        self.snaps[s["id"]] = s
        self.by_volume[vol].append(s)
        return s

    def admit(self, node, action, params):
        """Counts the call; False if its bucket is empty (then it is throttled)."""
        now = self.now()
        cap = BUCKETS.get(action)
        which = action
        if cap is None:
            if action.startswith(("Describe", "List", "Search", "Get")):
                cap = NON_MUTATING
                if action in UNFILTERED_ACTIONS and not any(
                        p.startswith("Filter.") or p in ("MaxResults", "NextToken") for p in params):
                    cap, which = UNFILTERED, action + " (unfiltered)"
            else:
                cap = MUTATING
        with self.lock:
            c = self.calls[node]
            c[action] = c.get(action, 0) + 1
            if self.first[node] is None:
                self.first[node] = now
            self.last[node] = now
            b = self.buckets.get(which)
            if b is None:
                b = self.buckets[which] = Bucket(cap[0], cap[1], now)
            if b.take(now):
                return True
            t = self.throttled[node]
            t[action] = t.get(action, 0) + 1
            return False

    def report(self):
        with self.lock:
            dups = {v: len(x) for v, x in self.created.items() if len(x) > 1}
            return {"nodes": self.nodes, "speed": self.speed, "epoch": self.epoch, "now": self.now(),
                    "calls": self.calls, "throttled": self.throttled,
                    "first": [None if f is None else f - self.epoch for f in self.first],
                    "last": [None if f is None else f - self.epoch for f in self.last],
                    "created": {v: len(x) for v, x in self.created.items()},
                    "run_ids": {v: sorted({r for _, r, _ in x}) for v, x in dups.items()},
                    "deleted": self.deleted, "duplicates": sum(n - 1 for n in dups.values()),
                    "buckets": {k: [b.capacity, b.rate, b.tokens] for k, b in self.buckets.items()}}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AmazonEC2"
    sys_version = ""
    fleet = None  # type: Fleet

    def log_message(self, fmt, *args):
        pass

    def date_time_string(self, timestamp=None):
        return email.utils.formatdate(self.fleet.now(), usegmt=True)     # the simulated clock

    def send(self, status, body, ctype="text/xml;charset=UTF-8"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", getattr(self, "request_id", "0"))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_fleet/report":
            return self.send(200, json.dumps(self.fleet.report()), "application/json")
        self.send(404, "{}", "application/json")

    def do_POST(self):
        self.request_id = str(uuid.uuid4())
        service = "ec2"
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            service, node = self.check_signature(raw)
            body = gzip.decompress(raw) if (self.headers.get("Content-Encoding") or "").lower() == "gzip" else raw
            params = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
            action = params.get("Action", "Unknown")
            if service == "monitoring":
                with self.fleet.lock:
                    c = self.fleet.calls[node]
                    c[action] = c.get(action, 0) + 1
                validate_query(service, params)
                return self.send(200, '<PutMetricDataResponse xmlns="%s"><ResponseMetadata><RequestId>%s'
                                 '</RequestId></ResponseMetadata></PutMetricDataResponse>' % (CW_NS, self.request_id))
            if action in STALL:
                time.sleep(STALL[action])
            if not self.fleet.admit(node, action, params):
                raise AwsError(503, "RequestLimitExceeded", "Request limit exceeded.")
            op, parsed = validate_query(service, params)
            out = getattr(self, "op_" + op, None)
            if out is None:
                raise AwsError(400, "InvalidAction", "%s is not served by this stand-in" % op)
            self.send(200, out(node, params, parsed))
        except AwsError as e:
            self.send(e.status, error_xml(service, e.code, e.message, self.request_id))
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception as e:            # a bug here must not look like a network fault to the agent
            self.send(500, error_xml(service, "InternalError", "fleet stand-in: %r" % e, self.request_id))

    def check_signature(self, raw):
        """(service, node) of a correctly signed request, else AwsError."""
        a = parse_authorization(self.headers)
        kid, svc = a["key_id"], a["service"]
        try:
            node = int(kid[len(KEY_PREFIX):]) if kid.startswith(KEY_PREFIX) else -1
        except ValueError:
            raise AwsError(400, "IncompleteSignature", "Authorization header is malformed")
        if (a["algorithm"] != "AWS4-HMAC-SHA256" or a["term"] != "aws4_request" or not 0 <= node < self.fleet.nodes
                or a["region"] != REGION or svc not in ("ec2", "monitoring")):
            raise AwsError(401, "AuthFailure", "AWS was not able to validate the provided access credentials")
        verify_signature(self, raw, a, SECRET_ACCESS_KEY, self.fleet.now())
        return svc, node

    def ec2(self, op, inner):
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<%sResponse xmlns="%s"><requestId>%s</requestId>%s'
                '</%sResponse>' % (op, EC2_NS, self.request_id, inner, op))

    def op_DescribeInstances(self, node, params, parsed):
        iid = instance_id(node)
        ids = parsed.get("InstanceIds") or [iid]
        if ids != [iid]:
            raise AwsError(400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist" % ids[0])
        bdm = "".join("<item><deviceName>%s</deviceName><ebs><volumeId>%s</volumeId><status>attached</status>"
                      "<attachTime>2026-01-01T00:00:00.000Z</attachTime><deleteOnTermination>%s"
                      "</deleteOnTermination></ebs></item>" % (DEVICES[k], volume_id(node, k),
                                                                "true" if k == 0 else "false")
                      for k in range(VOLUMES_PER_NODE))
        inst = ("<item><instanceId>%s</instanceId><imageId>ami-0f1ee70000000000</imageId><instanceState><code>16"
                "</code><name>running</name></instanceState><privateDnsName>ip-10-0-%d-%d.ec2.internal"
                "</privateDnsName><instanceType>m5.large</instanceType><placement><availabilityZone>%sa"
                "</availabilityZone><tenancy>default</tenancy></placement><rootDeviceType>ebs</rootDeviceType>"
                "<rootDeviceName>/dev/xvda</rootDeviceName><blockDeviceMapping>%s</blockDeviceMapping>"
                "<tagSet><item><key>Name</key><value>fleet-%d</value></item></tagSet></item>"
                % (iid, node // 250, node % 250, REGION, bdm, node))
        return self.ec2("DescribeInstances", "<reservationSet><item><reservationId>r-0f1ee7%011x</reservationId>"
                        "<ownerId>%s</ownerId><groupSet/><instancesSet>%s</instancesSet></item></reservationSet>"
                        % (node, ACCOUNT_ID, inst))

    def op_DescribeSnapshots(self, node, params, parsed):
        owners = parsed.get("OwnerIds") or []
        if any(o not in ("self", ACCOUNT_ID) for o in owners):
            return self.ec2("DescribeSnapshots", "<snapshotSet/>")
        filters = [(f["Name"], set(f.get("Values", []))) for f in parsed.get("Filters", [])]
        for name, _ in filters:
            if not name.startswith("tag:") and name not in ("volume-id", "status", "owner-id", "snapshot-id"):
                raise AwsError(400, "InvalidParameterValue", "The filter '%s' is invalid" % name)
        vols = set()
        for name, values in filters:
            if name == "volume-id":
                vols = values
        ids = set(parsed.get("SnapshotIds") or [])
        fl = self.fleet
        out = []
        with fl.lock:
            pool = [s for v in (vols or fl.by_volume) for s in fl.by_volume.get(v, [])] if not ids else \
                [fl.snaps[i] for i in ids if i in fl.snaps]
            for s in pool:
                tags = dict(s["tags"])
                ok = True
                for name, values in filters:
                    v = tags.get(name[4:]) if name.startswith("tag:") else {
                        "volume-id": s["vol"], "status": s["state"], "owner-id": ACCOUNT_ID, "snapshot-id": s["id"]}[name]
                    if v not in values:
                        ok = False
                        break
                if ok:
                    out.append(s)
            xml = "".join(snapshot_xml(s) for s in out)
        mr = parsed.get("MaxResults")
        if mr is not None and not 5 <= mr <= 1000:
            raise AwsError(400, "InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. "
                           "Expecting a value between 5 and 1000." % mr)
        if mr is not None and len(out) > mr:
            raise AwsError(500, "InternalError", "the fleet stand-in serves one page (a week of snapshots) only")
        return self.ec2("DescribeSnapshots", "<snapshotSet>%s</snapshotSet>" % xml)

    def own_volume(self, node, vid):
        if self.fleet.vol_node.get(vid) != node:
            raise AwsError(400, "InvalidVolume.NotFound", "The volume '%s' does not exist." % vid)

    def op_CreateSnapshot(self, node, params, parsed):
        vid = parsed["VolumeId"]
        self.own_volume(node, vid)
        fl = self.fleet
        with fl.lock:
            tags = tag_spec(params)
            s = fl.add(vid, fl.now(), "pending", tags, parsed.get("Description", ""))
            fl.created.setdefault(vid, []).append((s["id"], tags.get("opsagent:run-id", ""), s["start"]))
            x = snapshot_xml(s)
        return self.ec2("CreateSnapshot", x[len("<item>"):-len("</item>")])

    def op_CreateTags(self, node, params, parsed):
        fl = self.fleet
        with fl.lock:
            for rid in parsed["Resources"]:
                s = fl.snaps.get(rid)
                if s is None or fl.vol_node.get(s["vol"]) != node:
                    raise AwsError(400, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist." % rid)
                tags = dict(s["tags"])
                tags.update({t["Key"]: t.get("Value", "") for t in parsed["Tags"]})
                s["tags"] = list(tags.items())
        return self.ec2("CreateTags", "<return>true</return>")

    def op_DeleteSnapshot(self, node, params, parsed):
        fl = self.fleet
        sid = parsed["SnapshotId"]
        with fl.lock:
            s = fl.snaps.get(sid)
            if s is None or fl.vol_node.get(s["vol"]) != node:
                raise AwsError(400, "InvalidSnapshot.NotFound", "The snapshot '%s' does not exist." % sid)
            del fl.snaps[sid]
            fl.by_volume[s["vol"]].remove(s)
            fl.deleted[s["vol"]] = fl.deleted.get(s["vol"], 0) + 1
        return self.ec2("DeleteSnapshot", "<return>true</return>")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 4096          # a thousand nodes may connect at once

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--nodes", type=int, required=True)
    ap.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    ap.add_argument("--epoch", type=float, help="the real time (time.time()) where simulated time starts")
    ap.add_argument("--bucket", action="append", default=[], metavar="ACTION=CAPACITY:RATE",
                    help="override a bucket (for the clock check of fleet.py --check-clock only)")
    ap.add_argument("--stall", action="append", default=[], metavar="ACTION=SECONDS",
                    help="answer ACTION after this many real seconds (for the clock check only)")
    a = ap.parse_args()
    for b in a.bucket:
        act, spec = b.split("=")
        BUCKETS[act] = tuple(float(x) for x in spec.split(":"))
    for b in a.stall:
        act, secs = b.split("=")
        STALL[act] = float(secs)
    Handler.fleet = Fleet(a.nodes, a.speed, a.epoch if a.epoch is not None else time.time())
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % httpd.server_address[1])
    os.rename(tmp, a.port_file)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=httpd.shutdown).start())
    httpd.serve_forever()


if __name__ == "__main__":
    main()
