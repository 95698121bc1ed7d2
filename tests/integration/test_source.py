#!/usr/bin/env python3
"""The stack configuration source (issue 18; agent/config/source.h): the real opsagent against
moto's Parameter Store behind the stand-in's front (every request's SigV4 signature checked
with botocore, every input against botocore's `ssm` model), the layer names from the instance
tag in the IMDS stand-in or from DescribeTags, the last known good cache in STATE/source."""
import json
import os

import tap
from aws_common import SsmSourceCase

STACK = SsmSourceCase.STACK
SECRET = "s3cr3t-Zeo-Pa55word"


class SourceCase(SsmSourceCase):
    def attributes(self, expect=0):
        r = self.agent("attributes", "--json")
        self.assertEqual(r.returncode, expect, "stdout:\n%s\nstderr:\n%s" % (r.stdout, r.stderr))
        return (json.loads(r.stdout) if expect == 0 else None), r

    def cache(self):
        with open(self.path("var/lib/opsagent/source/cache.json")) as f:
            return json.load(f)

    def state_files(self):
        for d, _, files in os.walk(self.path("var/lib/opsagent")):
            for f in files:
                yield os.path.join(d, f)


class FirstFetch(SourceCase):
    def test_values_with_ssm_origins_and_cache(self):
        self.put("stack", {"site": {"name": "plone", "keep": 3}})
        attrs, r = self.attributes()
        self.assertEqual(attrs["site.name"]["value"], "plone")
        self.assertEqual(attrs["site.name"]["origin"], "ssm:%s/stack@version 1" % STACK)
        st = os.stat(self.path("var/lib/opsagent/source/cache.json"))
        self.assertEqual(st.st_mode & 0o777, 0o600)
        c = self.cache()
        self.assertEqual([(d["name"], d["version"]) for d in c["docs"]], [("ssm:%s/stack" % STACK, "1")])
        self.assertEqual(self.aws.ok_calls().get("GetParametersByPath"), 1)

    def test_stack_and_two_layers_from_imds_tag(self):
        self.put("stack", {"a": "stack", "b": "stack", "c": "stack"})
        self.put("layers/zeoserver", {"b": "zeo", "c": "zeo"})
        self.put("layers/zeoserver", {"b": "zeo", "c": "zeo", "d": 1})      # version 2
        self.put("layers/web", {"c": "web"})
        self.put("layers/other", {"a": "not this node's"})
        self.aws.set_instance(instance_tags={"opsagent:layers": "zeoserver,web", "Name": "n"})
        attrs, _ = self.attributes()
        self.assertEqual(attrs["a"]["value"], "stack")
        self.assertEqual(attrs["b"]["value"], "zeo")
        self.assertEqual(attrs["b"]["origin"], "ssm:%s/layers/zeoserver@version 2" % STACK)
        self.assertEqual(attrs["c"]["value"], "web")
        self.assertEqual(attrs["c"]["origin"], "ssm:%s/layers/web@version 1" % STACK)
        self.assertNotIn("DescribeTags", self.aws.calls())
        self.assertEqual(self.cache()["layers"], ["zeoserver", "web"])

    def test_describe_tags_when_imds_tags_are_off(self):
        self.put("stack", {"a": "stack"})
        self.put("layers/web", {"a": "web"})
        ec2 = self.aws.client("ec2", direct=True)
        ec2.create_tags(Resources=[self.aws.instance_id], Tags=[{"Key": "opsagent:layers", "Value": "web"}])
        attrs, _ = self.attributes()
        self.assertEqual(attrs["a"]["value"], "web")
        self.assertEqual(attrs["a"]["origin"], "ssm:%s/layers/web@version 1" % STACK)
        self.assertEqual(self.aws.ok_calls().get("DescribeTags"), 1)

    def test_instance_without_the_tag_has_the_stack_only(self):
        self.put("stack", {"a": "stack"})
        self.put("layers/web", {"a": "web"})
        self.aws.set_instance(instance_tags={"Name": "n"})
        attrs, _ = self.attributes()
        self.assertEqual(attrs["a"]["value"], "stack")
        self.assertNotIn("DescribeTags", self.aws.calls())
        # and with tags in metadata off, DescribeTags finds none either
        self.aws.set_instance(instance_tags=False)
        attrs, _ = self.attributes()
        self.assertEqual(attrs["a"]["value"], "stack")
        self.assertEqual(self.aws.ok_calls().get("DescribeTags"), 1)

    def test_source_named_in_user_data(self):
        os.unlink(self.path("etc/opsagent/source.json"))
        self.put("stack", {"a": "ssm"})
        self.aws.set_instance(user_data=json.dumps({"opsagent": {"source": {"ssm": {"path": STACK}}}, "b": "ud"}))
        attrs, _ = self.attributes()
        self.assertEqual(attrs["a"]["origin"], "ssm:%s/stack@version 1" % STACK)
        self.assertEqual(attrs["b"]["origin"], "instance user-data")
        self.assertEqual(self.aws.ok_calls().get("GetParametersByPath"), 1)

    def test_recipes_status_history_never_fetch(self):
        self.put("stack", {"a": "stack"})
        for cmd in ("recipes", "status", "history"):
            r = self.agent(cmd)
            self.assertEqual(r.returncode, 0, cmd + ": " + r.stderr)
        self.assertNotIn("GetParametersByPath", self.aws.calls())
        self.assertNotIn("DescribeTags", self.aws.calls())

    def test_no_source_configured_makes_no_call(self):
        os.unlink(self.path("etc/opsagent/source.json"))
        self.attributes()
        self.assertNotIn("GetParametersByPath", self.aws.calls())
        self.assertFalse(os.path.exists(self.path("var/lib/opsagent/source")))

    def test_local_files_below_and_j_above(self):
        self.put("stack", {"x": "ssm", "y": "ssm"})
        self.write_json("etc/opsagent/local.json", {"x": "local", "y": "local"})
        j = self.write_json("j.json", {"y": "j"})
        r = self.agent("attributes", "--json", "-j", j)
        self.assertEqual(r.returncode, 0, r.stderr)
        attrs = json.loads(r.stdout)
        self.assertEqual(attrs["x"]["value"], "ssm")
        self.assertEqual(attrs["y"]["value"], "j")


class S3Document(SourceCase):
    KEY = "opsagent/plone stack+v1.json"          # a space and a plus: S3's encoding, once

    def setUp(self):
        super().setUp()
        self.s3 = self.aws.client("s3", direct=True)
        self.s3.create_bucket(Bucket="stacks")
        self.write_json("etc/opsagent/source.json", {"s3": "s3://stacks/" + self.KEY})

    def test_object_with_etag_origin(self):
        etag = self.s3.put_object(Bucket="stacks", Key=self.KEY,
                                  Body=json.dumps({"site": {"name": "big"}}).encode())["ETag"]
        attrs, _ = self.attributes()
        self.assertEqual(attrs["site.name"]["value"], "big")
        self.assertEqual(attrs["site.name"]["origin"], "s3://stacks/%s@version %s" % (self.KEY, etag))
        self.assertEqual(self.aws.ok_calls().get("GetObject"), 1)
        self.assertNotIn("GetParametersByPath", self.aws.calls())
        self.assertEqual([(d["name"], d["version"]) for d in self.cache()["docs"]],
                         [("s3://stacks/" + self.KEY, etag)])

    def test_object_not_json_names_it_and_line_column(self):
        self.s3.put_object(Bucket="stacks", Key=self.KEY, Body=b'{"a":\n  [1, 2,, 3]}')
        _, r = self.attributes(expect=2)
        self.assertIn("S3 object s3://stacks/%s" % self.KEY, r.stderr)
        self.assertIn("line 2, column", r.stderr)

    def test_missing_object_is_named(self):
        _, r = self.attributes(expect=2)
        self.assertIn("s3://stacks/" + self.KEY, r.stderr)
        self.assertIn("NoSuchKey", r.stderr)

    def test_service_down_uses_cache(self):
        self.s3.put_object(Bucket="stacks", Key=self.KEY, Body=b'{"a": "first"}')
        self.attributes()
        self.aws.set_faults(http_503=-1, only=["GetObject"])
        attrs, r = self.attributes()
        self.assertEqual(attrs["a"]["value"], "first")
        self.assertIn("using the cached copy", r.stderr)


class Errors(SourceCase):
    def test_missing_path_is_named(self):
        _, r = self.attributes(expect=2)
        self.assertIn("missing path %s" % STACK, r.stderr)

    def test_parameter_not_json_names_it_and_line_column(self):
        self.put("stack", '{\n  "a": 1,\n  "b" 2\n}')
        _, r = self.attributes(expect=2)
        self.assertIn("SSM parameter %s/stack (version 1): line 3, column" % STACK, r.stderr)
        self.assertFalse(os.path.exists(self.path("var/lib/opsagent/source/cache.json")))

    def test_bad_source_json_names_file_and_key(self):
        self.write_json("etc/opsagent/source.json", {"ssm": {"paht": STACK}})
        _, r = self.attributes(expect=2)
        self.assertIn("source.json: opsagent.source.ssm.paht: unknown key", r.stderr)
        self.assertNotIn("GetParametersByPath", self.aws.calls())


class Fallback(SourceCase):
    def setUp(self):
        super().setUp()
        self.aws.set_instance(instance_tags={"Name": "n"})      # no layers: Parameter Store only
    def test_service_down_uses_cache_with_warning(self):
        self.put("stack", {"a": "first"})
        self.attributes()
        self.put("stack", {"a": "second"})
        self.aws.reset_calls()
        self.aws.set_faults(http_503=-1, only=["GetParametersByPath"])
        attrs, r = self.attributes()
        self.assertEqual(attrs["a"]["value"], "first")
        self.assertEqual(attrs["a"]["origin"], "ssm:%s/stack@version 1" % STACK)
        self.assertIn("warning:", r.stderr)
        self.assertIn("using the cached copy fetched 0 min ago", r.stderr)
        self.assertIn("ssm:%s" % STACK, r.stderr)
        self.assertEqual(self.aws.calls().get("GetParametersByPath"), 3)   # every retry first

    def test_service_down_without_cache_is_an_error(self):
        self.put("stack", {"a": "first"})
        self.aws.set_faults(http_503=-1, only=["GetParametersByPath"])
        _, r = self.attributes(expect=2)
        self.assertIn("no cached copy of ssm:%s" % STACK, r.stderr)
        self.assertIn("ServiceUnavailable", r.stderr)

    def test_unreachable_endpoint_uses_cache(self):
        self.put("stack", {"a": "first"})
        self.attributes()
        self.env["AWS_ENDPOINT_URL_SSM"] = "http://127.0.0.1:9"          # nothing listens there
        attrs, r = self.attributes()
        self.assertEqual(attrs["a"]["value"], "first")
        self.assertIn("using the cached copy", r.stderr)

    def test_cache_of_another_path_is_not_used(self):
        self.put("stack", {"a": "first"})
        self.attributes()
        self.write_json("etc/opsagent/source.json", {"ssm": {"path": "/opsagent/other"}})
        self.aws.set_faults(http_503=-1, only=["GetParametersByPath"])
        _, r = self.attributes(expect=2)
        self.assertIn("the cached copy is of ssm:%s, not ssm:/opsagent/other" % STACK, r.stderr)


class Paging(SourceCase):
    def many(self, n):
        self.put("stack", {"a": "stack"})
        for i in range(n):
            self.put("layers/l%02d" % i, {"k%02d" % i: i})
        self.aws.set_instance(instance_tags={"opsagent:layers": ",".join("l%02d" % i for i in range(n))})

    def test_every_page_is_read(self):
        self.many(24)                                # 25 parameters: 3 pages of 10
        attrs, _ = self.attributes()
        for i in range(24):
            self.assertEqual(attrs["k%02d" % i]["value"], i)
            self.assertEqual(attrs["k%02d" % i]["origin"], "ssm:%s/layers/l%02d@version 1" % (STACK, i))
        self.assertEqual(self.aws.ok_calls().get("GetParametersByPath"), 3)
        self.assertEqual(len(self.cache()["docs"]), 25)

    def test_partial_fetch_is_never_used(self):
        self.many(12)
        self.attributes()                            # the cache: every value at version 1
        for i in range(12):
            self.put("layers/l%02d" % i, {"k%02d" % i: 100 + i})
        self.aws.reset_calls()
        self.aws.set_faults(skip=1, http_500=-1, only=["GetParametersByPath"])   # page 2 fails
        attrs, r = self.attributes()
        for i in range(12):                          # page 1's new values are not used
            self.assertEqual(attrs["k%02d" % i]["value"], i)
        self.assertIn("using the cached copy", r.stderr)
        self.assertEqual(self.cache()["docs"][1]["version"], "1")
        self.assertEqual(self.aws.ok_calls().get("GetParametersByPath"), 1)
        # and without a cache, the partial fetch is an error
        os.unlink(self.path("var/lib/opsagent/source/cache.json"))
        self.aws.set_faults(skip=1, http_500=-1, only=["GetParametersByPath"])
        _, r = self.attributes(expect=2)
        self.assertIn("no cached copy", r.stderr)


class Secrets(SourceCase):
    def test_securestring_never_shown(self):
        self.put("stack", {"site": "plone"})
        self.put("layers/zeoserver", {"zeo": {"admin": SECRET, "port": 8100}}, secure=True)
        self.aws.set_instance(instance_tags={"opsagent:layers": "zeoserver"})
        outputs = []
        attrs, r = self.attributes()
        outputs += [r.stdout, r.stderr]
        self.assertEqual(attrs["zeo.admin"]["value"], "(redacted)")
        self.assertEqual(attrs["zeo.port"]["value"], "(redacted)")
        self.assertEqual(attrs["zeo.admin"]["origin"], "ssm:%s/layers/zeoserver@version 1" % STACK)
        r = self.agent("attributes")
        outputs += [r.stdout, r.stderr]
        r = self.agent("attributes", "zeo.admin")
        outputs += [r.stdout, r.stderr]
        # a run (no recipe is enabled: nothing to do) and one with the service down
        r = self.agent("run", "--all", "--no-report")
        outputs += [r.stdout, r.stderr]
        self.aws.set_faults(http_503=-1)
        r = self.agent("attributes")
        outputs += [r.stdout, r.stderr]
        self.assertIn("using the cached copy", r.stderr)
        for o in outputs:
            self.assertNotIn(SECRET, o)
        cache = self.path("var/lib/opsagent/source/cache.json")
        with open(cache) as f:
            self.assertIn(SECRET, f.read())          # the cache must hold it (0600, root's) ...
        self.assertEqual(os.stat(cache).st_mode & 0o777, 0o600)
        for p in self.state_files():                 # ... and nothing else may
            if p != cache:
                with open(p, errors="replace") as f:
                    self.assertNotIn(SECRET, f.read(), p)


if __name__ == "__main__":
    tap.main()
