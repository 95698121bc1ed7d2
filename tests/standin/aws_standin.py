#!/usr/bin/env python3
"""A local AWS stand-in for opsagent's tests and demo, on 127.0.0.1 only.

Built from real parts: moto's server (a subprocess) gives EC2 and CloudWatch semantics; this
thin front in front of it
  * serves IMDSv2 (token required; values from tests/data/imds, pointed at an instance created
    in moto with several attached EBS volumes);
  * checks every AWS request's SigV4 signature with botocore's signer and the known
    credentials, and its parameters against botocore's service model (ec2, monitoring),
    answering AWS's own errors for bad ones, before forwarding it to moto;
  * counts calls by operation; records PutMetricData datums (gzip bodies decompressed);
  * adds what moto lacks: InvalidSnapshot.InUse, snapshots that stay pending, seeded start
    times, DescribeSnapshots pagination;
  * has fault switches (throttling, 500/503, delay, truncated/malformed XML, IMDS token
    refused or never answered, expired credentials, skewed clock), settable from Python or
    over HTTP (POST /_standin/faults);
  * serves STS (moto's AssumeRole and AssumeRoleWithWebIdentity, unsigned for the latter) with
    credentials derived from what was asked, so that two clients asking the same get the same
    key id; answers EC2's DryRun=true with DryRunOperation, and UnauthorizedOperation for the
    actions in `deny`; records each request's Host, key id, region and service; serves
    container credentials at /container/credentials; with `any_region` accepts every region.

Python:
    with AwsStandin() as aws:
        env = aws.env()                   # AWS_ENDPOINT_URL_EC2, ..., AWS_REGION
        aws.set_faults(throttle=2)
        aws.calls()["CreateSnapshot"]
Command line (the README demo):
    python3 tests/standin/aws_standin.py --env-file FILE   # writes `export ...` lines, runs until killed
"""
import argparse
import base64
import calendar
import datetime
import email.utils
import gzip
import hashlib
import hmac
import http.client
import http.server
import io
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.session
import botocore.validate

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "data")
IMDS_DEFAULTS = os.path.join(DATA, "imds", "aemm-metadata-default-values.json")

ACCOUNT_ID = "123456789012"          # moto's default account: OwnerId=self must match it
ACCESS_KEY_ID = "AKIASTANDIN0EXAMPLE"
SECRET_ACCESS_KEY = "standinSecretKey/K7MDENG+bPxRfiCYEXAMPLE"
ROLE_NAME = "opsagent-standin-role"
EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
CW_NS = "http://monitoring.amazonaws.com/doc/2010-08-01/"
MAX_BODY = 4 * 1024 * 1024           # bigger than anything AWS accepts on these APIs
SKEW_LIMIT = 300                     # seconds AWS tolerates between X-Amz-Date and its clock

_session = botocore.session.get_session()
_models = {
    "ec2": _session.get_service_model("ec2"),
    "monitoring": _session.get_service_model("cloudwatch"),
    # JSON 1.1 services (X-Amz-Target), checked against their models too
    "logs": _session.get_service_model("logs"),
    "ssm": _session.get_service_model("ssm"),
    "sts": _session.get_service_model("sts"),
    # S3's REST protocol (GET /BUCKET/KEY, path-style): signed with S3's rules (S3SigV4Auth)
    "s3": _session.get_service_model("s3"),
}
JSON_SERVICES = ("logs", "ssm")

# CloudWatch Logs' PutLogEvents limits (its API reference), which moto does not all enforce.
LOGS_MAX_BATCH_BYTES = 1048576        # sum of the messages' UTF-8 sizes + 26 bytes per event
LOGS_EVENT_OVERHEAD = 26
LOGS_MAX_BATCH_EVENTS = 10000
LOGS_MAX_EVENT_BYTES = 262144         # one event, overhead included
LOGS_MAX_SPAN_MS = 24 * 3600 * 1000

MUTATING_PREFIXES = ("Create", "Delete", "Put", "Modify", "Attach", "Detach", "Run", "Terminate",
                     "Start", "Stop", "Copy", "Register", "Deregister", "Set", "Enable", "Disable")


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class AwsError(Exception):
    """An error AWS itself would answer."""

    def __init__(self, status, code, message, sender=True):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.sender = sender


# ---------------------------------------------------------------------------------------------
# Query-protocol parameters -> botocore structure, so ParamValidator can judge them.

def _ec2_name(shape, default):
    s = shape.serialization
    if "queryName" in s:
        return s["queryName"]
    if "name" in s:
        return s["name"][0].upper() + s["name"][1:]
    return default


def _query_name(shape, default):
    return shape.serialization.get("name", default)


class _ParamParser:
    def __init__(self, params, ec2):
        self.params = params
        self.used = set()
        self.ec2 = ec2
        # every dotted prefix of every key, so that lookups stay O(1) for big requests
        self.prefixes = set()
        for k in params:
            parts = k.split(".")
            for i in range(1, len(parts) + 1):
                self.prefixes.add(".".join(parts[:i]))

    def _scalar(self, shape, key):
        raw = self.params[key]
        self.used.add(key)
        t = shape.type_name
        try:
            if t in ("integer", "long"):
                return int(raw)
            if t in ("double", "float"):
                v = float(raw)
                return v
            if t == "boolean":
                if raw.lower() not in ("true", "false"):
                    raise ValueError(raw)
                return raw.lower() == "true"
            if t == "timestamp":
                try:
                    return datetime.datetime.fromtimestamp(float(raw), datetime.timezone.utc)
                except ValueError:
                    return datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
            if t == "blob":
                return base64.b64decode(raw)
        except ValueError:
            raise AwsError(400, "InvalidParameterValue",
                           "Value (%s) for parameter %s is invalid. Expected %s." % (raw, key, t))
        return raw

    def _has_prefix(self, prefix):
        return prefix in self.prefixes

    def parse(self, shape, prefix):
        t = shape.type_name
        if t == "structure":
            out = {}
            for name, member in shape.members.items():
                sub = (_ec2_name(member, name) if self.ec2 else _query_name(member, name))
                full = prefix + "." + sub if prefix else sub
                if self._has_prefix(full):
                    out[name] = self.parse(member, full)
            return out
        if t == "list":
            if self.ec2:
                base = prefix
            elif shape.serialization.get("flattened"):
                base = prefix
            else:
                base = prefix + "." + shape.member.serialization.get("name", "member")
            if prefix in self.params and self.params[prefix] == "":
                self.used.add(prefix)
                return []
            items = []
            i = 1
            while self._has_prefix("%s.%d" % (base, i)):
                items.append(self.parse(shape.member, "%s.%d" % (base, i)))
                i += 1
            return items
        if t == "map":
            base = prefix if shape.serialization.get("flattened") else prefix + ".entry"
            out = {}
            i = 1
            while self._has_prefix("%s.%d" % (base, i)):
                k = self.parse(shape.key, "%s.%d.%s" % (base, i, _query_name(shape.key, "key")))
                v = self.parse(shape.value, "%s.%d.%s" % (base, i, _query_name(shape.value, "value")))
                out[k] = v
                i += 1
            return out
        if prefix not in self.params:
            raise AwsError(400, "InvalidParameterValue", "Parameter %s is malformed" % prefix)
        return self._scalar(shape, prefix)


def validate_query(service, params):
    """Returns (operation name, parsed input) or raises AwsError as AWS would answer."""
    model = _models[service]
    action = params.get("Action")
    if not action:
        raise AwsError(400, "MissingAction", "The request must contain the parameter Action")
    try:
        op = model.operation_model(action)
    except Exception:
        raise AwsError(400, "InvalidAction", "The action %s is not valid for this web service." % action)
    version = params.get("Version")
    if version != model.api_version:
        raise AwsError(400, "InvalidParameterValue" if version else "MissingParameter",
                       "Version %s is not supported for %s (expected %s)" % (version, service, model.api_version))
    ec2 = service == "ec2"
    parser = _ParamParser(params, ec2)
    parsed = parser.parse(op.input_shape, "") if op.input_shape is not None else {}
    parser.used.update({"Action", "Version"})
    unknown = sorted(set(params) - parser.used)
    if unknown:
        if ec2:
            raise AwsError(400, "UnknownParameter", "The parameter %s is not recognized" % unknown[0])
        raise AwsError(400, "InvalidParameterCombination", "Unknown parameter: %s" % unknown[0])
    if op.input_shape is not None:
        report = botocore.validate.ParamValidator().validate(parsed, op.input_shape)
        if report.has_errors():
            code = "MissingParameter" if "Missing required" in report.generate_report() else "InvalidParameterValue"
            raise AwsError(400, code, report.generate_report().replace("\n", " "))
    return op.name, parsed


# ---------------------------------------------------------------------------------------------

class AwsStandin:
    """The stand-in. Use as a context manager; everything is torn down on exit."""

    def __init__(self, region="us-east-1", n_volumes=3, snapshot_pending_seconds=0, verbose=False):
        self.region = region
        self.n_volumes = n_volumes
        self.verbose = verbose
        self._lock = threading.RLock()
        self._moto = None
        self._moto_port = None
        self._httpd = None
        self._thread = None
        self.port = None
        self._calls = {}
        self._requests = []               # every AWS request: op, service, host, key, region
        self._assumed = []                # every AssumeRole*: what was asked, the key handed out
        self.any_region = False           # accept requests scoped to any region
        self.deny = set()                 # actions answered UnauthorizedOperation / AccessDenied
        self.container_token = None       # the Authorization /container/credentials wants
        self.container_key = None
        self._ok_calls = {}
        self._metric_data = []
        self._log_events = {}             # (group, stream) -> [(timestamp, message, accepted unix time)]
        self._put_log_events_sizes = []   # per accepted PutLogEvents: (events, bytes as the API counts them)
        self.logs_sink = None             # callable(group, stream, events, now): PutLogEvents answered here
        self._sequence = {}
        self._body_sizes = {}             # operation -> uncompressed body sizes received
        self._connections = 0             # TCP connections accepted (keep-alive reuse shows here)
        self._in_flight = {}              # calls generation -> AWS requests being handled now
        self._generation = 0              # bumped by reset_calls(): older requests are not counted
        self._max_in_flight = 0           # most AWS requests (of this generation) handled at once
        self._faults = {}
        self._release = threading.Event()   # set when faults are changed: held requests wake up
        self._held = {}                     # operation -> requests being held by a delay now
        self._imds_tokens = {}
        self.imds_v1_allowed = False
        self.snapshot_pending_seconds = snapshot_pending_seconds
        self._pending_until = {}          # snapshot id -> unix time it completes
        self._in_use = {}                 # snapshot id -> ami id
        self._start_time_override = {}    # snapshot id -> unix time
        self.credentials = {ACCESS_KEY_ID: (SECRET_ACCESS_KEY, None)}
        self.role_name = ROLE_NAME
        self.role_ttl = 6 * 3600
        self._role = None
        self._expired_keys = set()
        self.user_data = None
        self.instance_tags = None         # None: tags in instance metadata off (404); else key -> value
        self.instance_id = None
        self.volume_ids = []
        self.root_volume_id = None
        self.availability_zone = region + "a"
        self.instance_type = "m4.xlarge"
        with open(IMDS_DEFAULTS) as f:
            self._imds_defaults = json.load(f)

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self._moto_port = _free_port()
        self._moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self._moto_port)],
            stdout=subprocess.DEVNULL, stderr=None if self.verbose else subprocess.DEVNULL,
            env=dict({k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
                     MOTO_EC2_LOAD_DEFAULT_AMIS="false"))
        deadline = time.time() + 60     # moto imports a lot: slow on a loaded machine
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self._moto_port, timeout=10)
                c.request("GET", "/moto-api/")
                c.getresponse().read()
                c.close()
                break
            except OSError:
                if self._moto.poll() is not None or time.time() > deadline:
                    self.stop()
                    raise RuntimeError("moto server did not start")
                time.sleep(0.1)
        standin = self

        class Handler(_Handler):
            aws = standin
        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        self._new_role_credentials()
        self._seed_instance()
        return self

    def reset(self):
        """A fresh stand-in without restarting it (moto's server takes seconds to start): moto's
        state reset, a new instance with its volumes and role credentials, no faults (held
        requests released), no counters, no log events or logs sink, nothing seeded, IMDS as at
        start."""
        c = http.client.HTTPConnection("127.0.0.1", self._moto_port, timeout=30)
        try:
            c.request("POST", "/moto-api/reset")
            c.getresponse().read()
        finally:
            c.close()
        with self._lock:
            self.clear_faults()
            self.reset_calls()
            self._log_events.clear()       # moto's log groups are gone: so are their events
            self._sequence.clear()
            self.logs_sink = None
            self._imds_tokens.clear()
            self.imds_v1_allowed = False
            self._pending_until.clear()
            self._in_use.clear()
            self._start_time_override.clear()
            self.credentials = {ACCESS_KEY_ID: (SECRET_ACCESS_KEY, None)}
            self.role_name = ROLE_NAME
            self.role_ttl = 6 * 3600
            self._role = None
            self._expired_keys.clear()
            self.user_data = None
            self.instance_tags = None
            self.instance_id = None
            self.volume_ids = []
            self.root_volume_id = None
        self._new_role_credentials()
        self._seed_instance()
        return self

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._moto:
            self._moto.terminate()
            try:
                self._moto.wait(10)
            except subprocess.TimeoutExpired:
                self._moto.kill()
                self._moto.wait()
            self._moto = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def env(self, imds=True, keys=True, sts=False):
        """Environment variables pointing an agent (or the AWS CLI) at the stand-in."""
        e = {
            "AWS_ENDPOINT_URL_EC2": self.url,
            "AWS_ENDPOINT_URL_CLOUDWATCH": self.url,
            "AWS_ENDPOINT_URL_LOGS": self.url,
            "AWS_ENDPOINT_URL_SSM": self.url,
            "AWS_ENDPOINT_URL_S3": self.url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }
        if sts:
            e["AWS_ENDPOINT_URL_STS"] = self.url
        if imds:
            e["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = self.url + "/"
            e["AWS_EC2_METADATA_DISABLED"] = "false"
            # The SDKs' 1 s per request is a deadline the stand-in (Python, under ASan's agent,
            # on a loaded machine) may miss: a test's pass must not depend on how fast it
            # answers. Tests of a silent endpoint set their own, short, timeout.
            e["AWS_METADATA_SERVICE_TIMEOUT"] = "20"
        if keys:
            e["AWS_ACCESS_KEY_ID"] = ACCESS_KEY_ID
            e["AWS_SECRET_ACCESS_KEY"] = SECRET_ACCESS_KEY
        return e

    # -- clients ------------------------------------------------------------------------------
    def client(self, service, direct=False, config=None):
        """A boto3 client signed with the known keys: through the front (checked, counted), or
        DIRECT to moto (for seeding: neither checked nor counted)."""
        import boto3
        return boto3.client(service, region_name=self.region,
                            endpoint_url=("http://127.0.0.1:%d" % self._moto_port) if direct else self.url,
                            aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY,
                            config=config)

    def _seed_instance(self):
        ec2 = self.client("ec2", direct=True)
        image = self._imds_defaults["metadata"]["values"]["ami-id"]
        res = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType=self.instance_type,
                                Placement={"AvailabilityZone": self.availability_zone},
                                TagSpecifications=[{"ResourceType": "instance",
                                                    "Tags": [{"Key": "Name", "Value": "opsagent-standin"}]}])
        inst = res["Instances"][0]
        self.instance_id = inst["InstanceId"]
        self.root_device_name = inst.get("RootDeviceName", "/dev/sda1")
        for bdm in inst.get("BlockDeviceMappings", []):
            if bdm["DeviceName"] == self.root_device_name:
                self.root_volume_id = bdm["Ebs"]["VolumeId"]
        if not self.root_volume_id:
            v = ec2.create_volume(AvailabilityZone=self.availability_zone, Size=8, VolumeType="gp3")
            ec2.attach_volume(VolumeId=v["VolumeId"], InstanceId=self.instance_id, Device=self.root_device_name)
            self.root_volume_id = v["VolumeId"]
        self.volume_ids = [self.root_volume_id]
        self.devices = {self.root_device_name: self.root_volume_id}
        for i in range(self.n_volumes - 1):
            dev = "/dev/sd" + "fghijklmnop"[i]
            v = ec2.create_volume(AvailabilityZone=self.availability_zone, Size=10 * (i + 1), VolumeType="gp3")
            ec2.attach_volume(VolumeId=v["VolumeId"], InstanceId=self.instance_id, Device=dev)
            self.volume_ids.append(v["VolumeId"])
            self.devices[dev] = v["VolumeId"]

    # -- counters and records -----------------------------------------------------------------
    def calls(self):
        """Calls received by operation (every attempt, including faulted ones)."""
        with self._lock:
            return dict(self._calls)

    def ok_calls(self):
        """Calls that moto answered with success, by operation."""
        with self._lock:
            return dict(self._ok_calls)

    def mutating_calls(self):
        with self._lock:
            return {k: v for k, v in self._ok_calls.items() if k.startswith(MUTATING_PREFIXES)}

    def log_events(self, group, stream):
        """Events CloudWatch Logs accepted into GROUP/STREAM, in order: (timestamp ms, message,
        accepted at, unix seconds)."""
        with self._lock:
            return list(self._log_events.get((group, stream), []))

    def log_event_count(self, group, stream):
        """How many events GROUP/STREAM accepted (cheap: for a wait on a busy stream)."""
        with self._lock:
            return len(self._log_events.get((group, stream), ()))

    def log_streams(self):
        """(group, stream) pairs that received events."""
        with self._lock:
            return sorted(self._log_events)

    def put_log_events_sizes(self):
        """(events, bytes as the API counts them) of every accepted PutLogEvents."""
        with self._lock:
            return list(self._put_log_events_sizes)

    def logs_client(self):
        return self.client("logs", direct=True)

    def requests(self):
        """Every AWS request since the last reset_calls(): dicts with op, service, host, key
        (the access key id signed with, None when unsigned), region."""
        with self._lock:
            return [dict(r) for r in self._requests]

    def assumed(self):
        """Every AssumeRole / AssumeRoleWithWebIdentity answered: dicts with action, role_arn,
        session_name, external_id, duration, caller (key id, or "token:" + the web identity
        token), key (the key id handed out)."""
        with self._lock:
            return [dict(r) for r in self._assumed]

    def sts_key(self, action, role_arn, caller, external_id=None, duration=None):
        """The key id AssumeRole* hands out for these arguments."""
        basis = "|".join([action, role_arn, caller, external_id or "", str(duration or "")])
        return "ASIA" + hashlib.sha256(basis.encode()).hexdigest()[:16].upper()

    def _sts_credentials(self, action, params, caller):
        key = self.sts_key(action, params.get("RoleArn", ""), caller, params.get("ExternalId"),
                           params.get("DurationSeconds"))
        secret = base64.b64encode(hmac.new(b"standin", key.encode(), hashlib.sha256).digest()).decode()[:40]
        token = "FwoGZXIvYXdzE" + hashlib.sha256(("token" + key).encode()).hexdigest()
        with self._lock:
            self.credentials[key] = (secret, token)
            self._assumed.append({"action": action, "role_arn": params.get("RoleArn"),
                                  "session_name": params.get("RoleSessionName"),
                                  "external_id": params.get("ExternalId"),
                                  "duration": params.get("DurationSeconds"), "caller": caller, "key": key})
        return key, secret, token

    def set_container_credentials(self, token=None):
        """What /container/credentials answers (and the Authorization it wants, if TOKEN).
        Returns the key id it hands out."""
        key = "ASIACONTAINER0EXAMPLE"
        with self._lock:
            self.credentials[key] = ("containerSecretKey/EXAMPLE", "container-session-token-EXAMPLE")
            self.container_token = token
            self.container_key = key
        return key

    def reset_calls(self):
        with self._lock:
            self._requests.clear()
            self._calls.clear()
            self._ok_calls.clear()
            self._metric_data.clear()
            self._put_log_events_sizes.clear()
            self._body_sizes.clear()
            self._connections = 0
            self._max_in_flight = 0
            self._generation += 1

    def body_sizes(self):
        """Uncompressed request body sizes received, by operation (list per operation)."""
        with self._lock:
            return {k: list(v) for k, v in self._body_sizes.items()}

    def connections(self):
        """TCP connections accepted since the last reset_calls()."""
        with self._lock:
            return self._connections

    def max_in_flight(self):
        """The most AWS API requests handled at the same time since the last reset_calls()."""
        with self._lock:
            return self._max_in_flight

    def metric_data(self):
        """Every PutMetricData datum received: dicts with Namespace, MetricName, Value, Unit,
        Dimensions ({name: value}), Timestamp."""
        with self._lock:
            return [dict(d) for d in self._metric_data]

    # -- faults -------------------------------------------------------------------------------
    FAULTS = ("throttle", "http_500", "http_503", "delay_count", "truncated_xml", "malformed_xml",
              "imds_token_refused", "imds_token_hang", "credentials_expired", "connection_reset",
              "data_already_accepted", "invalid_sequence_token",
              "http_500_after", "connection_reset_after", "delay_after_count", "denied")

    def set_faults(self, **kw):
        """throttle=N, http_500=N, http_503=N (next N AWS calls); delay=SECONDS with
        delay_count=N; truncated_xml=N, malformed_xml=N; imds_token_refused=N (-1: always);
        credentials_expired=N (the next N calls get ExpiredToken, and the instance role's
        credentials are rotated); skew=SECONDS (the stand-in's clock runs that far off; EC2 then
        answers RequestExpired, CloudWatch SignatureDoesNotMatch, or skew_code=CODE for both);
        connection_reset=N; denied=N (UnauthorizedOperation, AccessDenied for CloudWatch: what a
        role without the permission gets); data_already_accepted=N, invalid_sequence_token=N
        (PutLogEvents answers as an endpoint that still checks sequence tokens would: the first
        after storing the events). Faults after the server acted (the call is carried out by moto,
        then the answer is lost): http_500_after=N (answers 500 InternalError),
        connection_reset_after=N (closes the connection without an answer), delay_after=SECONDS
        with delay_after_count=N (answers that late). delay_skip=K lets the first K calls that
        a delay would hold through. imds_token_hang=N (the token PUT is never answered, as an
        HttpPutResponseHopLimit of 1 makes it for a container). Only for operations in `only` (list) when given.
        skip=K: the first K calls (of `only`'s operations) pass every fault by (page 2 of a listing fails).
        Changing the faults wakes every request held by a delay: one held before it was
        forwarded is then dropped (its client is gone), one held after is answered."""
        with self._lock:
            for k, v in kw.items():
                if k not in self.FAULTS + ("delay", "delay_after", "delay_skip", "skew", "skew_code", "only", "skip"):
                    raise ValueError("unknown fault %s" % k)
                self._faults[k] = v
            if kw.get("credentials_expired"):
                old = self._role["AccessKeyId"] if self._role else None
                if old:
                    self._expired_keys.add(old)
                self._new_role_credentials()
            self._wake_held()

    def clear_faults(self):
        with self._lock:
            self._faults.clear()
            self.deny = set()
            self._wake_held()

    def set_deny(self, *actions):
        """These actions ("CreateSnapshots", "cloudwatch:PutMetricData") are refused as an IAM
        policy without them refuses them: UnauthorizedOperation (EC2, DryRun or not) or
        AccessDenied. DryRun=true of any other EC2 action gets DryRunOperation."""
        with self._lock:
            self.deny = set(actions)

    def _wake_held(self):
        self._release.set()
        self._release = threading.Event()

    def held(self, op=None):
        """Requests (of OP, or of any operation) being held by a delay right now."""
        with self._lock:
            return self._held.get(op, 0) if op else sum(self._held.values())

    def _hold(self, seconds, op):
        """Holds the calling request up to SECONDS; False when the faults changed meanwhile."""
        with self._lock:
            release = self._release
            self._held[op] = self._held.get(op, 0) + 1
        try:
            return not release.wait(float(seconds))
        finally:
            with self._lock:
                self._held[op] -= 1

    def faults(self):
        with self._lock:
            return dict(self._faults)

    def _take_fault(self, name, op=None):
        with self._lock:
            only = self._faults.get("only")
            if op is not None and only and op not in only:
                return False
            n = self._faults.get(name, 0)
            if not n:
                return False
            if name in ("delay_count", "delay_after_count") and self._faults.get("delay_skip", 0) > 0:
                self._faults["delay_skip"] -= 1
                return False
            if n > 0:
                self._faults[name] = n - 1
            return True

    def now(self):
        return time.time() + self._faults.get("skew", 0)

    # -- IMDS ---------------------------------------------------------------------------------
    def _new_role_credentials(self):
        key = "ASIA" + secrets.token_hex(8).upper()
        secret = secrets.token_urlsafe(30)
        token = "IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(60)
        with self._lock:
            if self._role:
                self.credentials.pop(self._role["AccessKeyId"], None)
            self._role = {
                "Code": "Success",
                "LastUpdated": _iso(time.time()).replace(".000", ""),
                "Type": "AWS-HMAC",
                "AccessKeyId": key,
                "SecretAccessKey": secret,
                "Token": token,
                "Expiration": _iso(time.time() + self.role_ttl).replace(".000", ""),
            }
            self.credentials[key] = (secret, token)

    def expire_role_credentials(self):
        """The instance role's credentials expire now: their key is refused (ExpiredToken, or
        RequestExpired for EC2) from now on, and IMDS serves new ones."""
        with self._lock:
            if self._role:
                self._expired_keys.add(self._role["AccessKeyId"])
            self._new_role_credentials()

    def rotate_role_credentials(self, ttl=None):
        """New instance-role credentials (valid TTL seconds from now when given)."""
        if ttl is not None:
            self.role_ttl = ttl
        self._new_role_credentials()
        return self.role_credentials()

    def role_credentials(self):
        with self._lock:
            return dict(self._role)

    def set_instance(self, instance_id=None, region=None, role_name=None, user_data=None, imds_v1=None,
                     instance_tags=None):
        """Overrides what IMDS tells (for tests of unknown instances, other regions...).
        INSTANCE_TAGS: a dict turns tags in instance metadata on (/latest/meta-data/tags/instance/KEY),
        False turns them off again."""
        with self._lock:
            if instance_tags is not None:
                self.instance_tags = dict(instance_tags) if instance_tags is not False else None
            if instance_id is not None:
                self.instance_id = instance_id
            if region is not None:
                self.region = region
            if role_name is not None:
                self.role_name = role_name
            if user_data is not None:
                self.user_data = user_data or None   # "": no user-data at all
            if imds_v1 is not None:
                self.imds_v1_allowed = imds_v1

    def imds_values(self):
        """IMDS path -> value (str), from the mock's defaults with this stand-in's instance."""
        d = self._imds_defaults
        out = {}
        md = d["metadata"]
        for key, path in md["paths"].items():
            v = md["values"].get(key)
            if v is None or isinstance(v, dict):
                continue
            out[path] = str(v)
        ident = dict(d["dynamic"]["values"]["instance-identity-document"])
        ident.update({"accountId": ACCOUNT_ID, "instanceId": self.instance_id, "region": self.region,
                      "availabilityZone": self.availability_zone, "instanceType": self.instance_type})
        out = {k: v for k, v in out.items() if "/block-device-mapping/" not in k}
        out.update({
            "/latest/meta-data/instance-id": self.instance_id,
            "/latest/meta-data/instance-type": self.instance_type,
            "/latest/meta-data/placement/availability-zone": self.availability_zone,
            "/latest/meta-data/placement/region": self.region,
            "/latest/dynamic/instance-identity/document": json.dumps(ident, indent=2),
            "/latest/meta-data/iam/security-credentials/": self.role_name,
            "/latest/meta-data/iam/security-credentials/" + self.role_name: json.dumps(self._role, indent=2),
            "/latest/meta-data/block-device-mapping/ami": self.root_device_name,
            "/latest/meta-data/block-device-mapping/root": self.root_device_name,
        })
        for i, dev in enumerate(d for d in self.devices if d != self.root_device_name):
            out["/latest/meta-data/block-device-mapping/ebs%d" % (i + 1)] = dev.replace("/dev/", "")
        out["/latest/meta-data/block-device-mapping/"] = "\n".join(
            p.rsplit("/", 1)[1] for p in sorted(out) if p.startswith("/latest/meta-data/block-device-mapping/") and
            not p.endswith("/"))
        if self.user_data is not None:
            out["/latest/user-data"] = self.user_data
        # The mock's own Name and Test tags are not this instance's: tags in metadata are off
        # unless a test turns them on with its own.
        out = {k: v for k, v in out.items() if not k.startswith("/latest/meta-data/tags/")}
        if self.instance_tags is not None:
            out["/latest/meta-data/tags/instance/"] = "\n".join(sorted(self.instance_tags))
            for k, v in self.instance_tags.items():
                out["/latest/meta-data/tags/instance/" + k] = v
        return out

    # -- snapshots: what moto lacks -----------------------------------------------------------
    def mark_snapshot_in_use(self, snapshot_id, ami_id="ami-0123456789abcdef0"):
        """DeleteSnapshot of SNAPSHOT_ID will answer InvalidSnapshot.InUse."""
        with self._lock:
            self._in_use[snapshot_id] = ami_id

    def mark_snapshot_pending(self, snapshot_id, seconds):
        with self._lock:
            self._pending_until[snapshot_id] = time.time() + seconds

    def seed_snapshot(self, volume_id=None, tags=None, start_time=None, state="completed", description=None,
                      in_use=False):
        """Creates a snapshot directly in moto (not counted). START_TIME: unix seconds or
        datetime; STATE "completed" or "pending" (pending for an hour). Returns its id."""
        ec2 = self.client("ec2", direct=True)
        kw = {"VolumeId": volume_id or self.volume_ids[0]}
        if description:
            kw["Description"] = description
        if tags:
            kw["TagSpecifications"] = [{"ResourceType": "snapshot",
                                        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
        snap = ec2.create_snapshot(**kw)["SnapshotId"]
        with self._lock:
            if start_time is not None:
                if isinstance(start_time, datetime.datetime):
                    start_time = start_time.timestamp()
                self._start_time_override[snap] = float(start_time)
            if state == "pending":
                self._pending_until[snap] = time.time() + 3600
            if in_use:
                self._in_use[snap] = "ami-0123456789abcdef0"
        return snap

    def snapshots(self, owner_self=True):
        """Every snapshot, as boto3 sees it through the front (pagination and rewriting
        applied), without counting these calls."""
        ec2 = self.client("ec2")
        ec2.meta.events.register("before-sign.ec2.*",
                                 lambda request, **kw: request.headers.__setitem__("X-Standin-Uncounted", "1"))
        out = []
        kw = {"OwnerIds": ["self"]} if owner_self else {}
        for page in ec2.get_paginator("describe_snapshots").paginate(**kw):
            out.extend(page["Snapshots"])
        return out

    # -- request handling ---------------------------------------------------------------------
    def _count(self, table, op, handler=None):
        if handler is not None and handler.headers.get("X-Standin-Uncounted"):
            return
        with self._lock:
            table[op] = table.get(op, 0) + 1

    def _rewrite_snapshot_xml(self, body):
        """Applies pending states, seeded start times to a moto EC2 response."""
        with self._lock:
            pending = dict(self._pending_until)
            starts = dict(self._start_time_override)
        if not pending and not starts and b"CreateSnapshotsResponse" not in body[:200]:
            return body
        root = _parse_keep_ns(body)
        now = time.time()
        changed = False
        for item in root.iter():
            sid = item.find("{*}snapshotId")
            if sid is None or item.tag.endswith("Response"):
                continue
            sid = sid.text
            if sid in starts:
                st = item.find("{*}startTime")
                if st is not None:
                    st.text = _iso(starts[sid])
                    changed = True
            until = pending.get(sid)
            if item.find("{*}status") is None and item.find("{*}state") is None and \
                    root.tag.endswith("CreateSnapshotsResponse"):
                ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
                st = ET.SubElement(item, ns + "state")
                st.text = "pending" if until and until > now else "completed"
                changed = True
            if until and until > now:
                state = item.find("{*}state")
                if state is not None:
                    state.text = "pending"
                status = item.find("{*}status")
                if status is not None:
                    status.text = "pending"
                progress = item.find("{*}progress")
                if progress is not None:
                    progress.text = "42%"
                changed = True
        if not changed:
            return body
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root)

    def _paginate_snapshots(self, body, max_results, token):
        root = _parse_keep_ns(body)
        ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        sset = root.find("{*}snapshotSet")
        items = list(sset) if sset is not None else []
        start = int(base64.b64decode(token).decode()) if token else 0
        for it in items:
            sset.remove(it)
        for it in items[start:start + max_results]:
            sset.append(it)
        old = root.find("{*}nextToken")
        if old is not None:
            root.remove(old)
        if start + max_results < len(items):
            nt = ET.SubElement(root, ns + "nextToken")
            nt.text = base64.b64encode(str(start + max_results).encode()).decode()
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root)


def _split_metric_data(params, max_params=400):
    """PutMetricData PARAMS as several form bodies of about MAX_PARAMS parameters each."""
    common = {k: v for k, v in params.items() if not k.startswith("MetricData.")}
    members = {}
    for k, v in params.items():
        if k.startswith("MetricData.member."):
            n, rest = k[len("MetricData.member."):].split(".", 1)
            members.setdefault(int(n), {})[rest] = v
    order = sorted(members)
    per = max(len(members[order[0]]), 1) if order else 1
    chunk = max(1, max_params // per)
    out = []
    for i in range(0, max(len(order), 1), chunk):
        p = dict(common)
        for j, n in enumerate(order[i:i + chunk], 1):
            for rest, v in members[n].items():
                p["MetricData.member.%d.%s" % (j, rest)] = v
        out.append(urllib.parse.urlencode(p).encode())
    return out


def _parse_keep_ns(body):
    """Parses BODY so that serializing keeps its default namespace (no ns0: prefixes)."""
    root = ET.fromstring(body)
    if root.tag.startswith("{"):
        ET.register_namespace("", root.tag[1:root.tag.index("}")])
    return root


def validate_json(service, target, body):
    """A JSON 1.1 request: returns (operation name, parsed input) or raises AwsError."""
    model = _models[service]
    prefix, _, action = target.partition(".")
    if prefix != model.metadata.get("targetPrefix") or not action:
        raise AwsError(400, "UnknownOperationException", "X-Amz-Target %r is not an operation of %s" % (target, service))
    try:
        op = model.operation_model(action)
    except Exception:
        raise AwsError(400, "UnknownOperationException", "Unknown operation %s" % action)
    try:
        parsed = json.loads(body.decode("utf-8")) if body else {}
    except (UnicodeDecodeError, ValueError) as e:
        raise AwsError(400, "SerializationException", "The request body is not valid JSON: %s" % e)
    if not isinstance(parsed, dict):
        raise AwsError(400, "SerializationException", "The request body is not a JSON object")
    if op.input_shape is not None:
        report = botocore.validate.ParamValidator().validate(parsed, op.input_shape)
        if report.has_errors():
            raise AwsError(400, "InvalidParameterException" if service == "logs" else "ValidationException",
                           report.generate_report().replace("\n", " "))
    if service == "logs" and action == "PutLogEvents":
        check_log_events(parsed.get("logEvents", []))
    return op.name, parsed


def check_log_events(events):
    """PutLogEvents' limits, as CloudWatch Logs answers them."""
    if len(events) > LOGS_MAX_BATCH_EVENTS:
        raise AwsError(400, "InvalidParameterException",
                       "1 validation error detected: Value at 'logEvents' failed to satisfy constraint: "
                       "Member must have length less than or equal to %d" % LOGS_MAX_BATCH_EVENTS)
    size = 0
    for e in events:
        n = len(e["message"].encode("utf-8")) + LOGS_EVENT_OVERHEAD
        if n > LOGS_MAX_EVENT_BYTES:
            raise AwsError(400, "InvalidParameterException", "Log event too large: %d bytes exceeds limit of %d"
                           % (n, LOGS_MAX_EVENT_BYTES))
        size += n
    if size > LOGS_MAX_BATCH_BYTES:
        raise AwsError(400, "InvalidParameterException", "Upload too large: %d bytes exceeds limit of %d"
                       % (size, LOGS_MAX_BATCH_BYTES))
    for a, b in zip(events, events[1:]):
        if b["timestamp"] < a["timestamp"]:
            raise AwsError(400, "InvalidParameterException",
                           "Log events in a single PutLogEvents request must be in chronological order.")
    if events and events[-1]["timestamp"] - events[0]["timestamp"] > LOGS_MAX_SPAN_MS:
        raise AwsError(400, "InvalidParameterException",
                       "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")


def error_json(code, message):
    return json.dumps({"__type": code, "message": message}).encode()


def error_xml(service, code, message, request_id):
    if service == "s3":
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
                '<RequestId>%s</RequestId></Error>' % (_esc(code), _esc(message), request_id)).encode()
    if service == "ec2":
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>%s</Code>'
                '<Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>'
                % (_esc(code), _esc(message), request_id)).encode()
    return ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>Sender</Type>\n    <Code>%s</Code>\n'
            '    <Message>%s</Message>\n  </Error>\n  <RequestId>%s</RequestId>\n</ErrorResponse>\n'
            % (CW_NS, _esc(code), _esc(message), request_id)).encode()


def _esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients that give up (timeouts in fault tests) are expected; stay quiet about them.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    aws = None  # type: AwsStandin
    protocol_version = "HTTP/1.1"
    server_version = "AmazonEC2"
    sys_version = ""

    def setup(self):
        super().setup()
        with self.aws._lock:
            self.aws._connections += 1

    def log_message(self, fmt, *args):
        if self.aws.verbose:
            sys.stderr.write("standin: " + (fmt % args) + "\n")

    def date_time_string(self, timestamp=None):
        return email.utils.formatdate(self.aws.now(), usegmt=True)

    def _send(self, status, body, ctype="text/xml;charset=UTF-8", headers=None):
        self._landed()
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise AwsError(413, "RequestEntityTooLarge", "Request body too large")
        return self.rfile.read(n) if n else b""

    # IMDS and the control API use GET/PUT; AWS APIs use POST.
    def do_PUT(self):
        if self.path.startswith("/latest/api/token"):
            return self._imds_token()
        self._send(404, "Not Found", "text/plain")

    def do_GET(self):
        if self.path.startswith("/latest/"):
            return self._imds_get()
        if self.path.startswith("/container/credentials"):
            return self._container_credentials()
        if self.path.startswith("/_standin/"):
            return self._control_get()
        if self.headers.get("Authorization"):
            return self._aws()              # S3's GET /BUCKET/KEY
        self._send(404, "Not Found", "text/plain")

    def do_POST(self):
        if self.path.startswith("/_standin/"):
            return self._control_post()
        return self._aws()

    # -- IMDS ---------------------------------------------------------------------------------
    def _imds_token(self):
        self._read_body()
        self.aws._count(self.aws._calls, "IMDS:PUT token")
        if self.headers.get("X-Forwarded-For"):
            return self._send(403, "Forbidden", "text/plain")
        if self.aws._take_fault("imds_token_refused"):
            return self._send(403, "Forbidden", "text/plain")
        if self.aws._take_fault("imds_token_hang"):
            threading.Event().wait(10)      # the client gave up long before
            self.close_connection = True
            return
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        try:
            ttl = int(ttl)
        except (TypeError, ValueError):
            return self._send(400, "Bad Request", "text/plain")
        if not 1 <= ttl <= 21600:
            return self._send(400, "Bad Request", "text/plain")
        token = base64.urlsafe_b64encode(secrets.token_bytes(40)).decode()
        with self.aws._lock:
            self.aws._imds_tokens[token] = time.time() + ttl
        self._send(200, token, "text/plain", {"X-aws-ec2-metadata-token-ttl-seconds": str(ttl)})

    def _imds_get(self):
        path = urllib.parse.urlsplit(self.path).path
        self.aws._count(self.aws._calls, "IMDS:GET")
        token = self.headers.get("X-aws-ec2-metadata-token")
        with self.aws._lock:
            exp = self.aws._imds_tokens.get(token) if token else None
            v1 = self.aws.imds_v1_allowed
        if token and (exp is None or exp < time.time()):
            return self._send(401, "Unauthorized", "text/plain")
        if not token and not v1:
            return self._send(401, "Unauthorized", "text/plain")
        values = self.aws.imds_values()
        if path.startswith("/latest/meta-data/iam/security-credentials/") and path in values and \
                not path.endswith("/"):
            self.aws._count(self.aws._calls, "IMDS:credentials")
        if path in values:
            return self._send(200, values[path], "text/plain")
        # a directory listing
        prefix = path if path.endswith("/") else path + "/"
        children = sorted({p[len(prefix):].split("/")[0] + ("/" if "/" in p[len(prefix):] else "")
                           for p in values if p.startswith(prefix) and len(p) > len(prefix)})
        if children:
            return self._send(200, "\n".join(children), "text/plain")
        self._send(404, "Not Found", "text/plain")

    def _container_credentials(self):
        a = self.aws
        a._count(a._calls, "CONTAINER:credentials")
        with a._lock:
            key, want = a.container_key, a.container_token
            secret, token = a.credentials.get(key, (None, None)) if key else (None, None)
        if not key:
            return self._send(404, "{}", "application/json")
        if want is not None and self.headers.get("Authorization") != want:
            return self._send(403, json.dumps({"message": "bad token"}), "application/json")
        self._send(200, json.dumps({"AccessKeyId": key, "SecretAccessKey": secret, "Token": token,
                                    "Expiration": _iso(time.time() + 3600).replace(".000", "")}),
                   "application/json")

    # -- control API --------------------------------------------------------------------------
    def _control_get(self):
        p = urllib.parse.urlsplit(self.path).path
        a = self.aws
        if p == "/_standin/calls":
            return self._send(200, json.dumps({"calls": a.calls(), "ok": a.ok_calls()}), "application/json")
        if p == "/_standin/requests":
            return self._send(200, json.dumps(a.requests()), "application/json")
        if p == "/_standin/metrics":
            return self._send(200, json.dumps(a.metric_data(), default=str), "application/json")
        if p == "/_standin/faults":
            return self._send(200, json.dumps(a.faults()), "application/json")
        if p == "/_standin/instance":
            return self._send(200, json.dumps({"instance_id": a.instance_id, "region": a.region,
                                               "volume_ids": a.volume_ids, "root_volume_id": a.root_volume_id,
                                               "devices": a.devices}), "application/json")
        self._send(404, "{}", "application/json")

    def _control_post(self):
        p = urllib.parse.urlsplit(self.path).path
        a = self.aws
        try:
            body = json.loads(self._read_body() or b"{}")
            if p == "/_standin/faults":
                a.clear_faults()
                a.set_faults(**body)
            elif p == "/_standin/deny":
                with a._lock:
                    a.deny = set(body.get("actions", []))
            elif p == "/_standin/reset":
                a.clear_faults()
                a.reset_calls()
            elif p == "/_standin/instance":
                a.set_instance(**body)
            elif p == "/_standin/snapshots":
                body = {"id": a.seed_snapshot(**body)}
            elif p == "/_standin/snapshots/in_use":
                a.mark_snapshot_in_use(body["snapshot_id"])
            else:
                return self._send(404, "{}", "application/json")
        except (ValueError, TypeError, KeyError) as e:
            return self._send(400, json.dumps({"error": str(e)}), "application/json")
        self._send(200, json.dumps(body), "application/json")

    # -- AWS APIs -----------------------------------------------------------------------------
    def _aws(self):
        a = self.aws
        with a._lock:
            self._flight = a._generation
            a._in_flight[self._flight] = a._in_flight.get(self._flight, 0) + 1
            a._max_in_flight = max(a._max_in_flight, a._in_flight[self._flight])
        try:
            return self._aws_request()
        finally:
            self._landed()

    def _landed(self):
        """The request stops counting as in flight: before its answer is written, since a client
        may send its next request (on a connection of its own) as soon as it has the answer."""
        flight = getattr(self, "_flight", None)
        if flight is not None:
            with self.aws._lock:
                self.aws._in_flight[flight] -= 1
            self._flight = None

    def _aws_request(self):
        a = self.aws
        request_id = str(uuid.uuid4())
        service = "ec2"
        op = None
        try:
            raw = self._read_body()
            auth = self.headers.get("Authorization", "")
            # AssumeRoleWithWebIdentity is sent unsigned: the token is the proof.
            unsigned = not auth and b"Action=AssumeRoleWithWebIdentity" in raw
            service = "sts" if unsigned else self._service_of(auth)
            body = raw
            if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                try:
                    body = gzip.decompress(raw)
                except (OSError, EOFError):
                    raise AwsError(400, "MalformedInput", "The request body is not valid gzip")
            ctype = self.headers.get("Content-Type", "")
            query_protocol = ctype.startswith("application/x-www-form-urlencoded")
            params = {}
            if query_protocol:
                try:
                    params = dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                                         strict_parsing=bool(body)))
                except (UnicodeDecodeError, ValueError):
                    raise AwsError(400, "MalformedQueryString", "The request body is not form-encoded")
                op = params.get("Action") or "Unknown"
            elif service == "s3":
                op = {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject"}.get(self.command, "Unknown")
            else:
                target = self.headers.get("X-Amz-Target", "") or self.path.rsplit("/", 1)[-1]
                op = target.split(".")[-1] or "Unknown"
            a._count(a._calls, op, self)
            with a._lock:
                a._body_sizes.setdefault(op, []).append(len(body))
                if not self.headers.get("X-Standin-Uncounted"):
                    scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/") if "Credential=" in auth else []
                    a._requests.append({"op": op, "service": service, "host": self.headers.get("Host"),
                                        "key": scope[0] if scope else None,
                                        "region": scope[2] if len(scope) > 2 else None})
            if not unsigned:
                self._check_signature(service, raw)
            if service == "s3":
                return self._forward_s3(op, raw, request_id)
            if query_protocol:
                op, parsed = validate_query(service, params)
            elif service in JSON_SERVICES:
                if not ctype.startswith("application/x-amz-json-1.1"):
                    raise AwsError(400, "SerializationException", "Content-Type %r is not JSON 1.1" % ctype)
                op, parsed = validate_json(service, self.headers.get("X-Amz-Target", ""), body)
                return self._forward_json(service, op, parsed, body, request_id)
            else:
                parsed = None
            return self._forward(service, op, params, parsed, body, query_protocol, request_id)
        except AwsError as e:
            if self.aws.verbose:
                sys.stderr.write("standin: %s %s: %s\n" % (op, e.code, e.message))
            if service in JSON_SERVICES:
                return self._send(e.status, error_json(e.code, e.message), "application/x-amz-json-1.1",
                                  headers={"x-amzn-RequestId": request_id})
            self._send(e.status, error_xml(service, e.code, e.message, request_id),
                       headers={"x-amzn-RequestId": request_id})

    @staticmethod
    def _service_of(auth):
        try:
            scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
            svc = scope[3]
        except IndexError:
            raise AwsError(401, "AuthFailure" if "ec2" in auth else "MissingAuthenticationToken",
                           "Request is missing Authentication Token")
        if svc not in _models:
            raise AwsError(400, "InvalidAction", "Service %s is not served here" % svc)
        return svc

    def _check_signature(self, service, raw):
        a = self.aws
        auth = self.headers.get("Authorization", "")
        ec2 = service == "ec2"
        try:
            head, rest = auth.split(" ", 1)
            fields = dict(p.strip().split("=", 1) for p in rest.split(","))
            key_id, date, region, svc, term = fields["Credential"].split("/")
            signed = fields["SignedHeaders"].split(";")
            signature = fields["Signature"]
        except (ValueError, KeyError):
            raise AwsError(400, "IncompleteSignature", "Authorization header is malformed")
        if head != "AWS4-HMAC-SHA256" or term != "aws4_request":
            raise AwsError(400, "IncompleteSignature", "Unsupported signature algorithm")
        with a._lock:
            cred = a.credentials.get(key_id)
            expired = key_id in a._expired_keys
        if expired or (cred and cred[1] and a._take_fault("credentials_expired")):
            raise AwsError(400, "ExpiredToken" if not ec2 else "RequestExpired",
                           "The security token included in the request is expired")
        if cred is None:
            raise AwsError(401 if ec2 else 403, "AuthFailure" if ec2 else "InvalidClientTokenId",
                           "AWS was not able to validate the provided access credentials" if ec2 else
                           "The security token included in the request is invalid.")
        secret, token = cred
        if token is not None and self.headers.get("X-Amz-Security-Token") != token:
            raise AwsError(401 if ec2 else 403, "AuthFailure" if ec2 else "InvalidClientTokenId",
                           "The security token included in the request is invalid.")
        if region != a.region and not a.any_region:
            raise AwsError(401 if ec2 else 403, "AuthFailure" if ec2 else "SignatureDoesNotMatch",
                           "Credential should be scoped to a valid region, not '%s'." % region)
        for h in ("host", "x-amz-date"):
            if h not in signed:
                raise AwsError(401 if ec2 else 403, "AuthFailure" if ec2 else "SignatureDoesNotMatch",
                               "%s must be signed" % h)
        if token is not None and "x-amz-security-token" not in signed and ec2:
            raise AwsError(401, "AuthFailure", "x-amz-security-token must be signed")
        amz_date = self.headers.get("X-Amz-Date", "")
        try:
            ts = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
        except ValueError:
            raise AwsError(400, "IncompleteSignature", "X-Amz-Date is malformed")
        if abs(ts - a.now()) > SKEW_LIMIT:
            code = a.faults().get("skew_code")
            if code:       # what S3 and others say: the SDKs correct from the Date header as well
                raise AwsError(403, code, "The difference between the request time and the current time is too "
                               "large.")
            if ec2:
                raise AwsError(400, "RequestExpired",
                               "Request has expired. Timestamp date is %s" % amz_date)
            raise AwsError(403, "SignatureDoesNotMatch",
                           "Signature expired: %s is now earlier than %s (%s - 5 min.)"
                           % (amz_date, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(a.now() - SKEW_LIMIT)),
                              time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(a.now()))))
        # Rebuild the request with exactly the signed headers and let botocore sign it.
        headers = {}
        for h in signed:
            v = self.headers.get_all(h)
            if v is None:
                raise AwsError(401 if ec2 else 403, "AuthFailure" if ec2 else "SignatureDoesNotMatch",
                               "Signed header %s is missing" % h)
            headers[h] = ",".join(v)
        url = "http://%s%s" % (self.headers.get("Host"), self.path)
        req = botocore.awsrequest.AWSRequest(method=self.command, url=url, data=raw, headers=headers)
        req.context["timestamp"] = amz_date
        creds = botocore.credentials.Credentials(key_id, secret, token)
        if svc == "s3":
            # S3's rules: the path as sent (encoded once, not normalized), the body's hash in
            # x-amz-content-sha256, which must be signed and must be the body's.
            if "x-amz-content-sha256" not in signed:
                raise AwsError(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
            if self.headers.get("x-amz-content-sha256") != hashlib.sha256(raw).hexdigest():
                raise AwsError(400, "XAmzContentSHA256Mismatch",
                               "The provided 'x-amz-content-sha256' header does not match what was computed.")
            signer = botocore.auth.S3SigV4Auth(creds, svc, region)
        else:
            signer = botocore.auth.SigV4Auth(creds, svc, region)
        canonical = signer.canonical_request(req)
        sts = signer.string_to_sign(req, canonical)
        expected = signer.signature(sts, req)
        if expected != signature:
            if ec2:
                raise AwsError(401, "AuthFailure", "AWS was not able to validate the provided access credentials")
            raise AwsError(403, "SignatureDoesNotMatch",
                           "The request signature we calculated does not match the signature you provided. "
                           "Check your AWS Secret Access Key and signing method.")

    def _faults_before(self, service, op):
        """The switches every call is subject to, as the service would answer them."""
        a = self.aws
        ec2 = service == "ec2"
        with a._lock:
            only = a._faults.get("only")
            if a._faults.get("skip", 0) > 0 and (not only or op in only):
                a._faults["skip"] -= 1
                return True
        delay = a.faults().get("delay")
        if delay and a._take_fault("delay_count", op):
            if not a._hold(delay, op):
                self.close_connection = True     # released: its client is gone, nothing is done
                return False
        if a._take_fault("connection_reset", op):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return False
        if a._take_fault("denied", op):
            if ec2:
                raise AwsError(403, "UnauthorizedOperation", "You are not authorized to perform this operation.")
            raise AwsError(403, "AccessDenied", "User: arn:aws:sts::%s:assumed-role/%s/i is not authorized to "
                           "perform: cloudwatch:%s" % (ACCOUNT_ID, a.role_name, op))
        if a._take_fault("throttle", op):
            if ec2:
                raise AwsError(503, "RequestLimitExceeded", "Request limit exceeded.")
            raise AwsError(400, "ThrottlingException" if service in JSON_SERVICES else "Throttling", "Rate exceeded")
        if a._take_fault("http_500", op):
            raise AwsError(500, "InternalError" if ec2 else "InternalFailure",
                           "An internal error has occurred", sender=False)
        if a._take_fault("http_503", op):
            raise AwsError(503, "Unavailable" if ec2 else
                           "ServiceUnavailableException" if service in JSON_SERVICES else "ServiceUnavailable",
                           "The service is unavailable. Please try again shortly.", sender=False)
        return True

    def _forward_s3(self, op, raw, request_id):
        """An S3 REST call (path-style): faults, then moto's S3, its status, body and ETag."""
        a = self.aws
        if not self._faults_before("s3", op):
            return
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("content-length", "host", "connection")}
        conn = http.client.HTTPConnection("127.0.0.1", a._moto_port, timeout=60)
        try:
            conn.request(self.command, self.path, body=raw or None, headers=headers)
            resp = conn.getresponse()
            out = resp.read()
            status = resp.status
            keep = {k: resp.getheader(k) for k in ("ETag", "Content-Type") if resp.getheader(k)}
        finally:
            conn.close()
        if 200 <= status < 300:
            a._count(a._ok_calls, op, self)
        keep["x-amz-request-id"] = request_id
        self._send(status, out, keep.pop("Content-Type", "application/octet-stream"), headers=keep)

    def _forward_json(self, service, op, parsed, body, request_id):
        """A JSON 1.1 call: faults, then moto (or the logs sink), recording accepted events."""
        a = self.aws
        if not self._faults_before(service, op):
            return
        sink = a.logs_sink if service == "logs" and op == "PutLogEvents" else None
        stored_but_failed = None
        if service == "logs" and op == "PutLogEvents":
            if a._take_fault("invalid_sequence_token", op):
                with a._lock:
                    token = a._sequence.get((parsed["logGroupName"], parsed["logStreamName"]), "1" * 56)
                return self._send(400, json.dumps({
                    "__type": "InvalidSequenceTokenException", "expectedSequenceToken": token,
                    "message": "The given sequenceToken is invalid. The next expected sequenceToken is: %s" % token}),
                    "application/x-amz-json-1.1", {"x-amzn-RequestId": request_id})
            if a._take_fault("data_already_accepted", op):
                stored_but_failed = "DataAlreadyAcceptedException"
        now = time.time()
        if sink is not None:
            status, out = 200, json.dumps({"nextSequenceToken": "%056d" % int(now * 1000)}).encode()
            sink(parsed["logGroupName"], parsed["logStreamName"], parsed["logEvents"], now)
        else:
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("content-length", "content-encoding", "host", "connection")}
            conn = http.client.HTTPConnection("127.0.0.1", a._moto_port, timeout=120)
            try:
                conn.request("POST", "/", body=body, headers=headers)
                resp = conn.getresponse()
                out = resp.read()
                status = resp.status
            finally:
                conn.close()
        if 200 <= status < 300:
            a._count(a._ok_calls, op, self)
            if service == "logs" and op == "PutLogEvents":
                self._record_log_events(parsed, out, now, sink is not None)
        if stored_but_failed and 200 <= status < 300:
            return self._send(400, json.dumps({
                "__type": stored_but_failed, "expectedSequenceToken": "%056d" % 7,
                "message": "The given batch of log events has already been accepted. The next batch can be sent "
                           "with sequenceToken: %056d" % 7}), "application/x-amz-json-1.1",
                {"x-amzn-RequestId": request_id})
        self._send(status, out, "application/x-amz-json-1.1", {"x-amzn-RequestId": request_id})

    def _record_log_events(self, parsed, out, now, sink):
        a = self.aws
        events = parsed.get("logEvents", [])
        try:
            answer = json.loads(out) if out else {}
        except ValueError:
            answer = {}
        rej = answer.get("rejectedLogEventsInfo") or {}
        lo = rej.get("tooOldLogEventEndIndex", -1)
        hi = rej.get("tooNewLogEventStartIndex", len(events))
        key = (parsed["logGroupName"], parsed["logStreamName"])
        with a._lock:
            a._put_log_events_sizes.append((len(events), sum(len(e["message"].encode()) + LOGS_EVENT_OVERHEAD
                                                              for e in events)))
            if answer.get("nextSequenceToken"):
                a._sequence[key] = answer["nextSequenceToken"]
            if sink:
                return
            stored = a._log_events.setdefault(key, [])
            for i, e in enumerate(events):
                if lo < i < hi:
                    stored.append((e["timestamp"], e["message"], now))

    def _forward(self, service, op, params, parsed, body, query_protocol, request_id):
        a = self.aws
        ec2 = service == "ec2"
        if not self._faults_before(service, op):
            return

        # Permissions: DryRun=true is answered here (allowed unless denied), denied actions refused.
        with a._lock:
            denied = op in a.deny or ("%s:%s" % ("ec2" if ec2 else service, op)) in a.deny
        if query_protocol and params.get("DryRun", "").lower() == "true":
            if denied:
                raise AwsError(403, "UnauthorizedOperation", "You are not authorized to perform this operation. "
                               "User: arn:aws:sts::%s:assumed-role/%s/i is not authorized to perform: ec2:%s"
                               % (ACCOUNT_ID, a.role_name, op))
            raise AwsError(412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
        if denied:
            if ec2:
                raise AwsError(403, "UnauthorizedOperation", "You are not authorized to perform this operation.")
            raise AwsError(403, "AccessDenied", "User: arn:aws:sts::%s:assumed-role/%s/i is not authorized to "
                           "perform: %s:%s" % (ACCOUNT_ID, a.role_name, service, op))

        # What moto lacks.
        page = None
        if query_protocol and op == "DeleteSnapshot":
            sid = params.get("SnapshotId")
            with a._lock:
                ami = a._in_use.get(sid)
            if ami:
                raise AwsError(400, "InvalidSnapshot.InUse",
                               "The snapshot %s is currently in use by %s" % (sid, ami))
        if query_protocol and op == "DescribeSnapshots" and ("MaxResults" in params or "NextToken" in params):
            if "SnapshotId.1" in params and "MaxResults" in params:
                raise AwsError(400, "InvalidParameterCombination",
                               "The parameter SnapshotIds cannot be used with the parameter MaxResults")
            mr = int(params.pop("MaxResults", 1000))
            if not 5 <= mr <= 1000:
                raise AwsError(400, "InvalidParameterValue",
                               "Value ( %d ) for parameter maxResults is invalid. Expecting a value between 5 and 1000." % mr)
            page = (mr, params.pop("NextToken", None))
            body = urllib.parse.urlencode(params).encode()

        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("content-length", "content-encoding", "host", "connection")}
        bodies = [body]
        if query_protocol and op == "PutMetricData":
            bodies = _split_metric_data(params)     # moto parses big requests in quadratic time
        for b in bodies:
            conn = http.client.HTTPConnection("127.0.0.1", a._moto_port, timeout=60)
            try:
                conn.request("POST", self.path, body=b, headers=headers)
                resp = conn.getresponse()
                out = resp.read()
                status = resp.status
                rtype = resp.getheader("Content-Type", "text/xml")
            finally:
                conn.close()
            if status >= 300:
                break
        if 200 <= status < 300:
            a._count(a._ok_calls, op, self)
            if query_protocol and ec2:
                if op in ("CreateSnapshot", "CreateSnapshots") and a.snapshot_pending_seconds > 0:
                    self._mark_created_pending(out)
                if op in ("DescribeSnapshots", "CreateSnapshot", "CreateSnapshots"):
                    out = a._rewrite_snapshot_xml(out)
                if page:
                    try:
                        out = a._paginate_snapshots(out, page[0], page[1])
                    except (ValueError, TypeError):
                        raise AwsError(400, "InvalidParameterValue", "Invalid NextToken")
            if query_protocol and op == "PutMetricData":
                self._record_metrics(parsed)
            if query_protocol and op in ("AssumeRole", "AssumeRoleWithWebIdentity"):
                out = self._rewrite_sts(op, params, out)
        for tag in (b"requestId", b"RequestId", b"RequestID"):
            out = out.replace(b"<%s>request-id</%s>" % (tag, tag), b"<%s>%s</%s>" % (tag, request_id.encode(), tag))
        if status >= 400 and query_protocol:
            out = self._fill_error_message(out, op, params)
        if a._take_fault("truncated_xml", op):
            out = out[: max(1, len(out) // 2)]
        elif a._take_fault("malformed_xml", op):
            out = b"<?xml version=\"1.0\"?>\n<Response><Errors><Error><Code>&bogus;</Code></Oops>"
        # The call was carried out (or refused) by moto; now its answer may be lost.
        delay_after = a.faults().get("delay_after")
        if delay_after and a._take_fault("delay_after_count", op):
            a._hold(delay_after, op)
        if a._take_fault("connection_reset_after", op):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if a._take_fault("http_500_after", op):
            raise AwsError(500, "InternalError" if ec2 else "InternalFailure",
                           "An internal error has occurred", sender=False)
        self._send(status, out, rtype, {"x-amzn-RequestId": request_id})

    def _rewrite_sts(self, op, params, out):
        """moto's credentials replaced by ones derived from what was asked, and known to the
        signature check."""
        auth = self.headers.get("Authorization", "")
        if op == "AssumeRoleWithWebIdentity":
            caller = "token:" + params.get("WebIdentityToken", "")
        else:
            caller = auth.split("Credential=", 1)[1].split("/", 1)[0]
        key, secret, token = self.aws._sts_credentials(op, params, caller)
        root = _parse_keep_ns(out)
        for tag, value in (("AccessKeyId", key), ("SecretAccessKey", secret), ("SessionToken", token)):
            for el in root.iter():
                if el.tag.endswith("}" + tag) or el.tag == tag:
                    el.text = value
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root)

    @staticmethod
    def _fill_error_message(out, op, params):
        """moto leaves some error messages empty; AWS never does."""
        try:
            root = _parse_keep_ns(out)
        except ET.ParseError:
            return out
        changed = False
        for err in root.iter():
            if not err.tag.endswith("Error"):
                continue
            code = err.find("{*}Code")
            if code is None:
                code = err.find("Code")
            msg = err.find("{*}Message")
            if msg is None:
                msg = err.find("Message")
            if code is not None and msg is not None and not (msg.text or "").strip():
                ids = [v for k, v in sorted(params.items()) if k.endswith("Id") or ".Id" in k or "Id." in k]
                if code.text and code.text.endswith(".NotFound"):
                    msg.text = "The ID '%s' does not exist" % (ids[0] if ids else "?")
                else:
                    msg.text = "%s failed: %s" % (op, code.text)
                changed = True
        if not changed:
            return out
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root)

    def _mark_created_pending(self, out):
        a = self.aws
        try:
            root = ET.fromstring(out)
        except ET.ParseError:
            return
        for sid in root.iter("{*}snapshotId"):
            a.mark_snapshot_pending(sid.text, a.snapshot_pending_seconds)

    def _record_metrics(self, parsed):
        a = self.aws
        with a._lock:
            for d in parsed.get("MetricData", []):
                a._metric_data.append({
                    "Namespace": parsed.get("Namespace"),
                    "MetricName": d.get("MetricName"),
                    "Value": d.get("Value"),
                    "Unit": d.get("Unit"),
                    "Timestamp": d.get("Timestamp"),
                    "Dimensions": {x["Name"]: x["Value"] for x in d.get("Dimensions", [])},
                    "Gzip": (self.headers.get("Content-Encoding") or "").lower() == "gzip",
                })


def main(argv=None):
    ap = argparse.ArgumentParser(description="Local AWS stand-in (moto + SigV4-checking front), 127.0.0.1 only")
    ap.add_argument("--env-file", help="write the environment (shell exports) pointing at the stand-in here")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--volumes", type=int, default=3)
    ap.add_argument("--pending-seconds", type=float, default=0,
                    help="new snapshots stay pending this long")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with AwsStandin(region=args.region, n_volumes=args.volumes, snapshot_pending_seconds=args.pending_seconds,
                    verbose=args.verbose) as aws:
        lines = ["export %s='%s'" % (k, v) for k, v in sorted(aws.env().items())]
        lines.append("# instance %s, volumes %s" % (aws.instance_id, " ".join(aws.volume_ids)))
        lines.append("# control API: %s/_standin/calls, POST %s/_standin/faults" % (aws.url, aws.url))
        text = "\n".join(lines) + "\n"
        if args.env_file:
            tmp = args.env_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.rename(tmp, args.env_file)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
