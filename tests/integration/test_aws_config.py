#!/usr/bin/env python3
"""AWS configuration as botocore resolves it. For each scenario of SCENARIOS (environment,
config and credentials files, profiles, credential_process, role chains, web identity,
container credentials, the instance role, FIPS and dual-stack, endpoint URLs, retry modes,
region sources), botocore (this image's, in this process) is asked what it resolves and
opsagent (tests/tools/aws_tool, run against the stand-in) must agree: it signs with the same
access key id, in the same region, sends to the same host, and makes the same number of
attempts against a server that always fails.

No real AWS name is ever resolved: botocore's requests are caught before they are sent
(its STS calls are handed to the stand-in, keeping their Host header); opsagent's go to the
stand-in through aws_tool's --test-origin, which keeps the URL and Host of the endpoint it
computed. The stand-in derives the credentials its STS hands out from what was asked (role,
external id, duration, caller), so that both get the same key id for the same chain.

Where botocore is not what opsagent follows, the scenario says so and gives botocore what an
operator gets from the other SDKs and the AWS CLI v2 (AWS_REGION, the region of the
instance, the standard retry mode as default): see BOTOCORE_DIFFERENCES.

Also here: the INI parser against botocore's configloader on tricky files, and endpoint names
against botocore's endpoint rules over a grid of partitions, services and variants."""
import contextlib
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import types
import unittest
import urllib.parse

import botocore.awsrequest
import botocore.config
import botocore.configloader
import botocore.endpoint
import botocore.exceptions
import botocore.session

import harness
import tap
from aws_common import AWS_TOOL, ACCESS_KEY_ID, SECRET_ACCESS_KEY, AwsStandin  # noqa: F401

# What opsagent deliberately does otherwise than botocore 1.43 (documented in opsagent(8)).
BOTOCORE_DIFFERENCES = """
- AWS_REGION: the Reference Guide's variable, read first by the AWS CLI v2 and the other SDKs;
  botocore reads AWS_DEFAULT_REGION only. botocore is given AWS_REGION as the client's region.
- The instance's region (IMDS placement/region): opsagent's last source, as the Java and Go SDKs;
  botocore has none. botocore is given it as the client's region.
- The default retry mode: standard (as the AWS CLI v2); botocore's default is still legacy.
  When nothing sets a mode, botocore is given standard.
- The attributes are configuration in code: aws.region is the client's region_name,
  aws.max_attempts the client's total_max_attempts, aws.profile the Session's profile.
"""

EC2_500 = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>InternalError</Code>'
           b'<Message>always failing</Message></Error></Errors><RequestID>x</RequestID></Response>')
INSTANCE = "i-0agreement000000"
ROLE = "arn:aws:iam::123456789012:role/"
PROCESS_KEY = "AKIAPROCESS0EXAMPLE"
PROCESS_SECRET = "processSecretKey/EXAMPLE/never-shown"


class Scenario:
    def __init__(self, name, env=None, config=None, credentials=None, attrs=None, imds=False, keys=False,
                 container=None, botocore_region=None, files=None):
        self.name = name
        self.env = env or {}
        self.config = config
        self.credentials = credentials
        self.attrs = attrs or {}
        self.imds = imds
        self.keys = keys                  # the stand-in's static keys in the environment
        self.container = container        # None, "token" or "token-file"
        self.botocore_region = botocore_region
        self.files = files or {}          # extra files: name -> text ({dir} expanded)


STATIC = "aws_access_key_id = %s\naws_secret_access_key = %s\n" % (ACCESS_KEY_ID, SECRET_ACCESS_KEY)

SCENARIOS = [
    # -- the environment
    Scenario("environment keys, AWS_REGION", env={"AWS_REGION": "eu-west-1"}, keys=True),
    Scenario("environment keys, AWS_DEFAULT_REGION", env={"AWS_DEFAULT_REGION": "ap-southeast-2"}, keys=True),
    Scenario("environment keys win over the profile's", env={"AWS_REGION": "us-east-1"}, keys=True,
             credentials="[default]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n"),
    # -- the shared files
    Scenario("credentials file, region in config", config="[default]\nregion = eu-north-1\n",
             credentials="[default]\n" + STATIC),
    Scenario("AWS_PROFILE names the profile", env={"AWS_PROFILE": "ops"},
             config="[profile ops]\nregion = ca-central-1\n[default]\nregion = us-west-2\n",
             credentials="[ops]\n" + STATIC + "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = d\n"),
    Scenario("AWS_DEFAULT_PROFILE before AWS_PROFILE", env={"AWS_DEFAULT_PROFILE": "a", "AWS_PROFILE": "b"},
             config="[profile a]\nregion = sa-east-1\n" + STATIC + "[profile b]\nregion = eu-west-3\n"),
    Scenario("aws.profile skips the environment keys", attrs={"profile": "ops"}, keys=False,
             env={"AWS_ACCESS_KEY_ID": "AKIAENVIRONMENT", "AWS_SECRET_ACCESS_KEY": "not-this"},
             config="[profile ops]\nregion = us-east-2\n", credentials="[ops]\n" + STATIC),
    Scenario("credentials file before the config file's keys",
             config="[default]\nregion = us-west-1\naws_access_key_id = AKIACONFIG\naws_secret_access_key = c\n",
             credentials="[default]\n" + STATIC),
    Scenario("the config file's keys alone", config="[default]\nregion = eu-central-1\n" + STATIC),
    Scenario("the credentials file's region over the config file's", config="[default]\nregion = us-west-2\n",
             credentials="[default]\nregion = eu-south-1\n" + STATIC),
    Scenario("[DEFAULT] keys reach every profile", env={"AWS_PROFILE": "p"},
             config="[DEFAULT]\nregion = ap-northeast-1\n[profile p]\n" + STATIC),
    Scenario("a quoted profile name", env={"AWS_PROFILE": "night ops"},
             config='[profile "night ops"]\nregion = eu-west-2\n' + STATIC),
    # -- credential_process
    Scenario("credential_process", config="[default]\nregion = us-east-1\ncredential_process = {dir}/creds.sh --for 'night ops'\n"),
    Scenario("the credentials file before credential_process",
             config="[default]\nregion = us-east-1\ncredential_process = {dir}/creds.sh\n",
             credentials="[default]\n" + STATIC),
    # -- roles
    Scenario("role_arn with source_profile", env={"AWS_PROFILE": "deploy"},
             config="[profile deploy]\nregion = us-east-1\nrole_arn = %sDeploy\nsource_profile = base\n" % ROLE,
             credentials="[base]\n" + STATIC),
    Scenario("role with external_id, duration_seconds, role_session_name", env={"AWS_PROFILE": "x"},
             config="[profile x]\nregion = eu-west-1\nrole_arn = %sExt\nsource_profile = base\n"
                    "external_id = partner-42\nduration_seconds = 1800\nrole_session_name = night\n" % ROLE,
             credentials="[base]\n" + STATIC),
    Scenario("a chain of two roles", env={"AWS_PROFILE": "top"},
             config="[profile top]\nregion = us-east-1\nrole_arn = %sTop\nsource_profile = mid\n"
                    "[profile mid]\nrole_arn = %sMid\nsource_profile = base\n" % (ROLE, ROLE),
             credentials="[base]\n" + STATIC),
    Scenario("a profile that is its own source", config="[default]\nregion = us-east-1\nrole_arn = %sSelf\n"
                                                       "source_profile = default\n" % ROLE + STATIC),
    Scenario("credential_source Environment", env={"AWS_PROFILE": "r", "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
                                                   "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY},
             config="[profile r]\nregion = us-east-1\nrole_arn = %sFromEnv\ncredential_source = Environment\n" % ROLE),
    Scenario("credential_source Ec2InstanceMetadata", imds=True, env={"AWS_PROFILE": "r"},
             config="[profile r]\nregion = us-east-1\nrole_arn = %sFromRole\n"
                    "credential_source = Ec2InstanceMetadata\n" % ROLE),
    Scenario("web identity from the environment", env={"AWS_REGION": "us-east-1",
                                                       "AWS_WEB_IDENTITY_TOKEN_FILE": "{dir}/token",
                                                       "AWS_ROLE_ARN": ROLE + "Pod",
                                                       "AWS_ROLE_SESSION_NAME": "pod-7"}),
    Scenario("web identity from the profile",
             config="[default]\nregion = us-east-1\nweb_identity_token_file = {dir}/token\nrole_arn = %sProfilePod\n"
                    % ROLE),
    Scenario("web identity as a role's source", env={"AWS_PROFILE": "chained"},
             config="[profile chained]\nregion = us-east-1\nrole_arn = %sAfterPod\nsource_profile = pod\n"
                    "[profile pod]\nweb_identity_token_file = {dir}/token\nrole_arn = %sPod\n" % (ROLE, ROLE)),
    # -- containers, the instance
    Scenario("container credentials with a token", env={"AWS_REGION": "us-east-1"}, container="token"),
    Scenario("container credentials with a token file", env={"AWS_REGION": "us-east-1"}, container="token-file"),
    Scenario("the instance role", imds=True, env={"AWS_REGION": "us-east-1"}),
    Scenario("the instance's own region", imds=True, botocore_region="us-east-1"),
    # -- region sources
    Scenario("region from the config file only", config="[default]\nregion = me-south-1\n", keys=True),
    Scenario("AWS_DEFAULT_REGION over the config file", env={"AWS_DEFAULT_REGION": "af-south-1"}, keys=True,
             config="[default]\nregion = us-west-2\n"),
    Scenario("aws.region over AWS_REGION", attrs={"region": "eu-west-3"}, env={"AWS_REGION": "us-west-2"}, keys=True),
    # -- FIPS and dual-stack, partitions
    Scenario("AWS_USE_FIPS_ENDPOINT", env={"AWS_REGION": "us-east-1", "AWS_USE_FIPS_ENDPOINT": "true"}, keys=True),
    Scenario("use_fips_endpoint in GovCloud", config="[default]\nregion = us-gov-west-1\nuse_fips_endpoint = true\n",
             keys=True),
    Scenario("AWS_USE_DUALSTACK_ENDPOINT", env={"AWS_REGION": "eu-west-1", "AWS_USE_DUALSTACK_ENDPOINT": "true"},
             keys=True),
    Scenario("FIPS and dual-stack in China", env={"AWS_REGION": "cn-north-1", "AWS_USE_FIPS_ENDPOINT": "true",
                                                  "AWS_USE_DUALSTACK_ENDPOINT": "TRUE"}, keys=True),
    Scenario("FIPS and dual-stack in GovCloud with a role", env={"AWS_PROFILE": "g"},
             config="[profile g]\nregion = us-gov-east-1\nuse_fips_endpoint = true\nuse_dualstack_endpoint = true\n"
                    "role_arn = arn:aws-us-gov:iam::123456789012:role/Gov\nsource_profile = base\n",
             credentials="[base]\n" + STATIC),
    # -- configured endpoints
    Scenario("AWS_ENDPOINT_URL", env={"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "https://aws.internal:8443"},
             keys=True),
    Scenario("AWS_ENDPOINT_URL_EC2 over AWS_ENDPOINT_URL", keys=True,
             env={"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "https://aws.internal",
                  "AWS_ENDPOINT_URL_EC2": "https://ec2.internal/prefix"}),
    Scenario("a services section", keys=True,
             config="[default]\nregion = us-east-1\nservices = local\n[services local]\n"
                    "ec2 =\n  endpoint_url = https://ec2.local.example\nsts =\n  endpoint_url = https://sts.local.example\n"),
    Scenario("the profile's endpoint_url", keys=True, config="[default]\nregion = us-east-1\n"
                                                             "endpoint_url = https://all.example\n"),
    Scenario("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", keys=True,
             env={"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", "AWS_ENDPOINT_URL_EC2": "https://ignored.example"},
             config="[default]\nregion = us-east-1\nendpoint_url = https://also-ignored.example\n"),
    Scenario("a role whose STS endpoint is configured", env={"AWS_PROFILE": "d"},
             config="[profile d]\nregion = us-east-1\nrole_arn = %sViaLocalSts\nsource_profile = base\n"
                    "services = s\n[services s]\nsts =\n  endpoint_url = https://sts.vpce.example\n" % ROLE,
             credentials="[base]\n" + STATIC),
    # -- retries
    Scenario("AWS_RETRY_MODE legacy", env={"AWS_REGION": "us-east-1", "AWS_RETRY_MODE": "legacy"}, keys=True),
    Scenario("legacy with AWS_MAX_ATTEMPTS", env={"AWS_REGION": "us-east-1", "AWS_RETRY_MODE": "legacy",
                                                  "AWS_MAX_ATTEMPTS": "3"}, keys=True),
    Scenario("adaptive and max_attempts in the profile", keys=True,
             config="[default]\nregion = us-east-1\nretry_mode = adaptive\nmax_attempts = 4\n"),
    Scenario("AWS_MAX_ATTEMPTS", env={"AWS_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "2"}, keys=True),
    Scenario("AWS_MAX_ATTEMPTS over the profile", env={"AWS_MAX_ATTEMPTS": "5"}, keys=True,
             config="[default]\nregion = us-east-1\nmax_attempts = 2\nretry_mode = standard\n"),
    Scenario("aws.max_attempts over AWS_MAX_ATTEMPTS", attrs={"max_attempts": 1}, keys=True,
             env={"AWS_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "4"}),
]

PROCESS_SCRIPT = """#!/bin/sh
cat <<EOF
{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "SessionToken": "process-token-never-shown",
 "Expiration": "2099-01-01T00:00:00Z"}
EOF
""" % (PROCESS_KEY, PROCESS_SECRET)


_LOADER = botocore.session.Session().get_component("data_loader")


class _Raw:
    def __init__(self, body):
        self.body = body

    def stream(self, **kw):
        yield self.body


def _response(url, status, headers, body):
    return botocore.awsrequest.AWSResponse(url, status, headers, _Raw(body))


@contextlib.contextmanager
def environment(env):
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.aws = AwsStandin().start()
        cls.aws.any_region = True
        cls.aws.credentials[PROCESS_KEY] = (PROCESS_SECRET, "process-token-never-shown")
        cls.aws.set_container_credentials("Bearer container-auth-never-shown")

    @classmethod
    def tearDownClass(cls):
        cls.aws.stop()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="opsagent-agree-")
        self.aws.clear_faults()
        self.aws.reset_calls()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- building a scenario's world ------------------------------------------------------------
    def world(self, sc):
        home = os.path.join(self.tmp, "home")
        os.makedirs(os.path.join(home, ".aws"), exist_ok=True)
        d = self.tmp
        script = os.path.join(d, "creds.sh")
        with open(script, "w") as f:
            f.write(PROCESS_SCRIPT)
        os.chmod(script, 0o755)
        with open(os.path.join(d, "token"), "w") as f:
            f.write("eyJwb2QtdG9rZW4-never-shown\n")
        with open(os.path.join(d, "container-token"), "w") as f:
            f.write("Bearer container-auth-never-shown")
        for name, text in (("config", sc.config), ("credentials", sc.credentials)):
            if text is not None:
                with open(os.path.join(home, ".aws", name), "w") as f:
                    f.write(text.replace("{dir}", d))
        env = {k: v for k, v in harness.clean_env().items()
               if k not in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")}
        env["HOME"] = home
        if sc.keys:
            env["AWS_ACCESS_KEY_ID"] = ACCESS_KEY_ID
            env["AWS_SECRET_ACCESS_KEY"] = SECRET_ACCESS_KEY
        if sc.imds:
            env["AWS_EC2_METADATA_DISABLED"] = "false"
            env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = self.aws.url + "/"
        if sc.container:
            env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = self.aws.url + "/container/credentials"
            if sc.container == "token":
                env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "Bearer container-auth-never-shown"
            else:
                env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = os.path.join(d, "container-token")
        for k, v in sc.env.items():
            env[k] = v.replace("{dir}", d)
        return env

    # -- botocore's view ------------------------------------------------------------------------
    def forward(self, request):
        """An STS request of botocore's, sent to the stand-in with the Host it was meant for."""
        u = urllib.parse.urlsplit(request.url)
        headers = {k: v for k, v in request.headers.items()}
        headers["Host"] = u.netloc
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        c = http.client.HTTPConnection("127.0.0.1", self.aws.port, timeout=30)
        try:
            c.request(request.method, (u.path or "/") + ("?" + u.query if u.query else ""), body=body, headers=headers)
            r = c.getresponse()
            return _response(request.url, r.status, dict(r.getheaders()), r.read())
        finally:
            c.close()

    def botocore_view(self, sc, env):
        with environment(env):
            session = botocore.session.Session(profile=sc.attrs.get("profile"))
            session.register_component("data_loader", _LOADER)     # the models, parsed once
            sent = []

            def before_send(request, **kw):
                auth = request.headers.get("Authorization", b"")
                auth = auth.decode() if isinstance(auth, bytes) else auth
                body = request.body or b""
                body = body.decode() if isinstance(body, bytes) else str(body)
                if "Action=AssumeRole" in body:
                    return self.forward(request)
                service = auth.split("Credential=", 1)[1].split("/")[3] if "Credential=" in auth else None
                sent.append((service, request.url, auth))
                return _response(request.url, 500, {}, EC2_500)

            session.register("before-send", before_send)
            retries = {}
            if sc.attrs.get("max_attempts"):
                retries["total_max_attempts"] = sc.attrs["max_attempts"]
            try:
                scoped = session.get_scoped_config()
            except botocore.exceptions.ProfileNotFound:
                scoped = {}
            if not env.get("AWS_RETRY_MODE") and not scoped.get("retry_mode"):
                retries["mode"] = "standard"        # opsagent's default (see BOTOCORE_DIFFERENCES)
            region = sc.attrs.get("region") or env.get("AWS_REGION") or None
            if region is None and sc.botocore_region and not session.get_config_variable("region"):
                region = sc.botocore_region
            config = botocore.config.Config(retries=retries)
            patched = types.SimpleNamespace(sleep=lambda s: None)
            saved_time, botocore.endpoint.time = botocore.endpoint.time, patched
            try:
                ec2 = session.create_client("ec2", region_name=region, config=config)
                try:
                    ec2.describe_instances(InstanceIds=[INSTANCE])
                except botocore.exceptions.ClientError:
                    pass
                # The other services' names, from a request each (the client's endpoint_url
                # attribute is the older resolver's, not what a request is sent to).
                once = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})
                for name, call in (("cloudwatch", "list_metrics"), ("sts", "get_caller_identity")):
                    try:
                        getattr(session.create_client(name, region_name=region, config=once), call)()
                    except botocore.exceptions.ClientError:
                        pass
            finally:
                botocore.endpoint.time = saved_time
            creds = ec2._request_signer._credentials.get_frozen_credentials()
            ec2_sent = [x for x in sent if x[0] == "ec2"]
            endpoints = {"ec2": ec2_sent[0][1]}
            for svc, signing in (("cloudwatch", "monitoring"), ("sts", "sts")):
                endpoints[svc] = [x[1] for x in sent if x[0] == signing][0]
            scope = ec2_sent[0][2].split("Credential=", 1)[1].split(",", 1)[0].split("/")
            return {"key": creds.access_key, "region": ec2.meta.region_name, "signing_region": scope[2],
                    "endpoints": endpoints, "attempts": len(ec2_sent)}

    # -- opsagent's view ------------------------------------------------------------------------
    def opsagent_view(self, sc, env):
        self.aws.reset_calls()
        self.aws.set_faults(http_500=-1, only=["DescribeInstances"])
        args = [AWS_TOOL, "--test-origin", self.aws.url]
        attrs = {k: v for k, v in sc.attrs.items()}
        if attrs:
            args += ["--attrs", json.dumps({"aws": attrs})]
        e = dict(env, AWS_TOOL_NO_SLEEP="1")
        r = subprocess.run(args + ["resolve"], env=e, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, "%s: %s%s" % (sc.name, r.stdout, r.stderr))
        resolved = json.loads(r.stdout)
        sts_hosts_resolve = [q["host"] for q in self.aws.requests() if q["op"].startswith("AssumeRole")]
        self.aws.reset_calls()
        r2 = subprocess.run(args + ["describe-instance", INSTANCE], env=e, capture_output=True, text=True,
                                    timeout=60)
        self.assertEqual(r2.returncode, 1, r2.stdout + r2.stderr)
        calls = [q for q in self.aws.requests() if q["op"] == "DescribeInstances"]
        self.aws.clear_faults()
        for out in (r.stdout, r.stderr, r2.stdout, r2.stderr):
            for secret in (SECRET_ACCESS_KEY, PROCESS_SECRET, "never-shown"):
                self.assertNotIn(secret, out, sc.name)
        return resolved, calls, sts_hosts_resolve

    def agree(self, sc):
        env = self.world(sc)
        self.aws.reset_calls()
        b = self.botocore_view(sc, env)
        botocore_sts = [q["host"] for q in self.aws.requests() if q["op"].startswith("AssumeRole")]
        resolved, calls, opsagent_sts = self.opsagent_view(sc, env)
        host = urllib.parse.urlsplit(b["endpoints"]["ec2"]).netloc
        self.assertEqual(resolved["credentials"].get("access_key_id"), b["key"], "access key id")
        self.assertEqual(resolved["region"], b["region"], "region")
        for svc in ("ec2", "cloudwatch", "sts"):
            self.assertEqual(resolved["endpoints"][svc].rstrip("/"), b["endpoints"][svc].rstrip("/"), svc + " endpoint")
        self.assertEqual(len(calls), b["attempts"], "attempts against a server that always fails")
        self.assertEqual({q["host"] for q in calls}, {host}, "the Host opsagent sent to")
        self.assertEqual({q["key"] for q in calls}, {b["key"]}, "the key opsagent signed with")
        self.assertEqual({q["region"] for q in calls}, {b["signing_region"]}, "the region opsagent signed for")
        self.assertEqual(opsagent_sts, botocore_sts, "the STS endpoints asked")
        return b, resolved


class Agreement(Base):
    """One test per scenario; each prints its row of the table."""


def _scenario_test(sc):
    def test(self):
        b, resolved = self.agree(sc)
        print("# %-48s key %-22s region %-15s host %-40s attempts %d (%s)" % (
            sc.name[:48], b["key"], b["region"], urllib.parse.urlsplit(b["endpoints"]["ec2"]).netloc,
            b["attempts"], resolved["credentials"]["source"]))
    return test


for _i, _sc in enumerate(SCENARIOS):
    setattr(Agreement, "test_%02d_%s" % (_i, "".join(c if c.isalnum() else "_" for c in _sc.name.lower())[:60]),
            _scenario_test(_sc))


class Details(Base):
    """What the table checks in numbers, checked in words."""

    def test_roles_asked_what_the_profile_says(self):
        sc = [s for s in SCENARIOS if s.name.startswith("role with external_id")][0]
        self.agree(sc)
        asked = [a for a in self.aws.assumed() if a["role_arn"] == ROLE + "Ext"]
        self.assertEqual(len(asked), 3)     # botocore once, opsagent once per aws_tool run
        for a in asked:
            self.assertEqual((a["external_id"], a["duration"], a["session_name"]), ("partner-42", "1800", "night"))
            self.assertEqual(a["caller"], ACCESS_KEY_ID)

    def test_config_errors_refused_by_both(self):
        cases = [
            ("[default]\nregion = us-east-1\nrole_arn = %sA\nsource_profile = loop\n[profile loop]\nrole_arn = "
             "%sB\nsource_profile = default\n" % (ROLE, ROLE), "source_profile loop"),
            ("[default]\nregion = us-east-1\nrole_arn = %sA\n" % ROLE, "neither source_profile nor credential_source"),
            ("[default]\nregion = us-east-1\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\n"
             "[sso-session corp]\nsso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\n",
             "opsagent does not do SSO"),
            ("[default]\nregion = us-east-1\n[default]\n", "appears twice"),
        ]
        for text, needle in cases:
            sc = Scenario("refused", config=text)
            env = self.world(sc)
            with self.assertRaises(Exception):
                self.botocore_view(sc, env)
            r = subprocess.run([AWS_TOOL, "--test-origin", self.aws.url, "resolve"], env=env,
                                       capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn(needle, r.stderr)


# -- the INI dialect against botocore's configloader ----------------------------------------------
INI_CASES = [
    "[default]\nregion=us-east-1\n",
    "[default]\nRegion : us-east-1\noutput=json\n",
    "# c\n; c\n[default]\n  # indented comment\nregion = a # not a comment\n",
    "[profile a]\nk = first\n  second\n\n\tthird\n[profile b]\nk=\n",
    "[services s]\nec2 =\n  endpoint_url = http://x\n  Other = y = z\n\nsts =\n  endpoint_url=https://s\n",
    "[DEFAULT]\nregion = r\n[a]\n[b]\nregion = own\n",
    "[a]b]\nx=1\n[ spaced ] junk after\ny=2\n",
    "[default]\r\nregion = crlf\r\n[profile x]\rregion = cr\r",
    "[a]\nk = v\n   [not a header]\n",
    "[a]\n  k = indented key first\n",
    "[a]\nk =\n  nested = 1\n  no equals here\n",
    "region = outside\n",
    "[a]\nno delimiter\n",
    "[a]\nk=1\nK=2\n",
    "[a]\n[b]\n[a]\n",
    "[a]\n=v\n",
    "[a]\nk = caf\xe9 \u2603\n",
    "\ufeff[default]\nregion=x\n",
    "",
    "\n\n# only comments\n",
    "[a]\nk = v\n[DEFAULT]\nextra = e\n",
    "[a]\nkey with spaces = v\n",
    "[a]\nk = \"quoted\" 'values'\n",
]


class Ini(unittest.TestCase):
    def test_parses_as_botocore(self):
        tmp = tempfile.mkdtemp(prefix="opsagent-ini-")
        try:
            for i, text in enumerate(INI_CASES):
                path = os.path.join(tmp, "c%d" % i)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
                try:
                    want = botocore.configloader.raw_config_parse(path)
                except botocore.exceptions.ConfigParseError:
                    want = None
                r = subprocess.run([AWS_TOOL, "ini", path], capture_output=True, text=True, timeout=30)
                got = json.loads(r.stdout) if r.returncode == 0 else None
                self.assertEqual(got, want, "case %d %r: %s" % (i, text, r.stderr))
        finally:
            shutil.rmtree(tmp)


class _Stop(Exception):
    pass


# -- endpoint names against botocore's endpoint rules (every service of the table) ----------------
REGIONS = ["us-east-1", "eu-west-1", "ap-south-2", "ca-west-1", "cn-north-1", "cn-northwest-1", "us-gov-west-1",
           "us-gov-east-1", "us-iso-east-1", "us-isob-east-1"]


class Endpoints(unittest.TestCase):
    @staticmethod
    def request_url(session, name, region, fips, ds):
        """Where botocore sends a request (not the client's endpoint_url attribute, which the
        older resolver computes)."""
        got = []

        def stop(request, **kw):
            got.append(request.url)
            raise _Stop()
        try:
            c = session.create_client(name, region_name=region, aws_access_key_id="a", aws_secret_access_key="b",
                                      config=botocore.config.Config(use_fips_endpoint=fips, use_dualstack_endpoint=ds,
                                                                    retries={"total_max_attempts": 1}))
            c.meta.events.register("before-send", stop)
            getattr(c, {"ec2": "describe_regions", "cloudwatch": "list_metrics", "sts": "get_caller_identity",
                        "logs": "describe_log_groups", "ssm": "describe_parameters"}[name])()
        except _Stop:
            return got[0]
        except botocore.exceptions.BotoCoreError:
            return None
        return None

    def test_names_as_botocore(self):
        with environment({k: v for k, v in os.environ.items() if not k.startswith("AWS_")}):
            os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent"
            session = botocore.session.Session()
            for svc, name in (("ec2", "ec2"), ("cloudwatch", "cloudwatch"), ("sts", "sts"),
                              ("cloudwatch_logs", "logs"), ("ssm", "ssm")):
                for region in REGIONS:
                    for fips in (False, True):
                        for ds in (False, True):
                            want = self.request_url(session, name, region, fips, ds)
                            if want is None:
                                continue
                            r = subprocess.run([AWS_TOOL, "endpoint", svc, region, str(int(fips)),
                                                        str(int(ds))], capture_output=True, text=True, timeout=30)
                            self.assertEqual(r.stdout.strip(), want.rstrip("/"),
                                             "%s %s fips=%s dualstack=%s" % (svc, region, fips, ds))


if __name__ == "__main__":
    tap.main()
