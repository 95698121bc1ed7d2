#!/usr/bin/env python3
"""Recipe ebs_snapshots against the AWS stand-in, through `opsagent run`: nightly snapshots of
every attached volume, retention that never deletes what opsagent did not create."""
import collections
import datetime
import os
import random
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
import tap  # noqa: E402
from standin.aws_standin import AwsStandin  # noqa: E402

DAY = 86400
MANAGED = {"opsagent:managed": "true"}


def managed(s):
    return any(t["Key"] == "opsagent:managed" and t["Value"] == "true" for t in s.get("Tags", []))


def tag(s, key):
    for t in s.get("Tags", []):
        if t["Key"] == key:
            return t["Value"]
    return None


class EbsCase(harness.AgentTestCase):
    """One stand-in per class (moto takes seconds to start), reset before each test."""
    n_volumes = 3

    @classmethod
    def setUpClass(cls):
        aws = cls.standin = AwsStandin(n_volumes=cls.n_volumes).start()
        # one direct client for seeding (the stand-in makes a new one per seed otherwise)
        orig = aws.client
        cached = orig("ec2", direct=True)
        aws.client = (lambda service, direct=False, config=None:
                      cached if direct and service == "ec2" and config is None
                      else orig(service, direct, config))

    @classmethod
    def tearDownClass(cls):
        cls.standin.stop()

    def setUp(self):
        super().setUp()
        self.aws = self.standin.reset()
        self.env.update(self.aws.env())
        self.vols = self.aws.volume_ids          # [root, sdf, sdg, ...]
        self.now = time.time()
        self.seeded = {}                          # snapshot id -> start time

    def seed_nights(self, vol, nights, tags=MANAGED, hour=8, state="completed"):
        """One snapshot per night, NIGHTS nights back (1 = last night). Returns ids, newest first."""
        base = datetime.datetime.fromtimestamp(self.now, datetime.timezone.utc).replace(
            hour=hour, minute=0, second=0, microsecond=0)
        if base.timestamp() > self.now:
            base -= datetime.timedelta(days=1)
        out = []
        for n in range(1, nights + 1):
            t = (base - datetime.timedelta(days=n - 1)).timestamp()
            out.append(self.aws.seed_snapshot(volume_id=vol, tags=tags, state=state, start_time=t))
            self.seeded[out[-1]] = t
        return out

    def night(self, attrs=None, *extra, expect=0):
        self.write_json("etc/opsagent/stack.json", {"ebs_snapshots": attrs or {}})
        r = self.agent("run", "--recipe", "ebs_snapshots", *extra)
        if expect is not None:
            self.assertEqual(r.returncode, expect, "stdout:\n%s\nstderr:\n%s" % (r.stdout, r.stderr))
        return r

    def snaps(self, vol=None, ours=None):
        out = [s for s in self.aws.snapshots() if vol is None or s["VolumeId"] == vol]
        if ours is not None:
            out = [s for s in out if managed(s) == ours]
        return out

    def ids(self, vol=None, ours=None):
        return {s["SnapshotId"] for s in self.snaps(vol, ours)}


class Nightly(EbsCase):
    n_volumes = 4

    def test_every_volume_each_night_and_manual_snapshots_survive(self):
        manual = {v: self.aws.seed_snapshot(volume_id=v, start_time=self.now - 400 * DAY) for v in self.vols}
        other = self.aws.seed_snapshot(volume_id=self.vols[1], tags={"opsagent:managed": "false"},
                                       start_time=self.now - 300 * DAY)
        for n in range(1, 4):
            r = self.night({"keep": 2})
            for dev, vol in self.aws.devices.items():
                self.assertIn(vol, r.stdout)
                self.assertEqual(len(self.snaps(vol, ours=True)), min(n, 2), r.stdout)
        for v, sid in manual.items():
            self.assertIn(sid, self.ids(v))
        self.assertIn(other, self.ids(self.vols[1]))

    def test_tags_and_description(self):
        self.night({"tags": {"Team": "ops"}, "devices": ["/dev/sdf"]})
        (s,) = self.snaps(self.vols[1], ours=True)
        self.assertEqual(tag(s, "opsagent:device"), "/dev/sdf")
        self.assertEqual(tag(s, "opsagent:instance-id"), self.aws.instance_id)
        self.assertEqual(tag(s, "Team"), "ops")
        self.assertTrue(tag(s, "opsagent:hostname"))
        self.assertIn("automated snapshot of /dev/sdf (%s)" % self.vols[1], s["Description"])
        self.assertEqual(self.snaps(self.vols[2]), [])

    def test_selection(self):
        r = self.night({"include_root": False, "exclude_devices": ["xvdg"]})
        self.assertEqual(self.snaps(self.vols[0]), [])
        self.assertEqual(self.snaps(self.vols[2]), [])
        self.assertEqual(len(self.snaps(self.vols[1])), 1)
        self.assertIn("include_root", r.stdout)
        self.assertIn("exclude_devices", r.stdout)

    def test_device_not_attached_fails_but_others_are_done(self):
        r = self.night({"devices": ["/dev/sdf", "/dev/sdz"]}, expect=1)
        self.assertIn("/dev/sdz", r.stdout + r.stderr)
        self.assertEqual(len(self.snaps(self.vols[1])), 1)


class Retention(EbsCase):
    n_volumes = 2

    def test_keep_over_simulated_nights(self):
        vol = self.vols[1]
        old = self.seed_nights(vol, 10)
        r = self.night({"keep": 3})
        left = self.ids(vol, ours=True)
        self.assertEqual(len(left), 3, r.stdout)
        self.assertTrue(set(old[:2]) <= left)      # last two nights + tonight's
        for sid in old[2:]:
            self.assertIn("%s (" % sid, r.stdout)
        self.assertIn("beyond keep=3", r.stdout)

    def test_max_age_days(self):
        vol = self.vols[1]
        old = self.seed_nights(vol, 20)
        manual = self.seed_nights(vol, 20, tags=None)
        r = self.night({"max_age_days": 7})
        left = self.ids(vol, ours=True)
        # the Nth night back is N-1 to N days old: 1..7 are within 7 days, 9.. are not
        self.assertTrue(set(old[:7]) <= left, r.stdout)
        self.assertTrue(set(old[8:]).isdisjoint(left), r.stdout)
        self.assertIn("beyond max_age_days=7", r.stdout)
        self.assertTrue(set(manual) <= self.ids(vol))

    def test_tiers(self):
        vol = self.vols[1]
        old = self.seed_nights(vol, 75)
        r = self.night({"tiers": {"daily": 7, "weekly": 4, "monthly": 3}, "keep": 1})
        snaps = self.snaps(vol, ours=True)
        self.assertLessEqual(len(snaps), 7 + 4 + 3, r.stdout)
        left = {s["SnapshotId"] for s in snaps}
        self.assertTrue(set(old[:6]) <= left, r.stdout)   # tonight + the 6 last nights: daily 7
        # the newest snapshot of each of the 3 most recent months is there
        months = {}
        for sid in old:                                    # newest first
            t = datetime.datetime.fromtimestamp(self.seeded[sid], datetime.timezone.utc)
            months.setdefault((t.year, t.month), sid)
        for key in sorted(months, reverse=True)[1:3]:
            self.assertIn(months[key], left, "%s %s" % (key, r.stdout))
        self.assertIn("in no tier", r.stdout)

    def test_in_use_by_an_ami_is_a_warning(self):
        vol = self.vols[1]
        old = self.seed_nights(vol, 4)
        self.aws.mark_snapshot_in_use(old[-1])
        r = self.night({"keep": 2, "devices": ["/dev/sdf"]})
        self.assertIn("in use by an AMI", r.stdout)
        self.assertIn(old[-1], self.ids(vol))
        self.assertNotIn(old[-2], self.ids(vol))

    def test_pending_snapshot_skips_the_volume(self):
        vol = self.vols[1]
        (pending,) = self.seed_nights(vol, 1, state="pending")
        r = self.night({"keep": 1})
        self.assertRegex(r.stdout, r"%s: skip: snapshot %s .*still pending" % (vol, pending))
        # the summary says what the skipped count means (issue 21: "1 skipped (pending)" did not)
        self.assertIn("0 failed, 1 skipped (their previous snapshot still pending)", r.stdout)
        self.assertEqual(self.ids(vol), {pending})
        self.assertEqual(len(self.snaps(self.vols[0])), 1)
        r = self.night({"keep": 1, "skip_pending": False})
        self.assertEqual(len(self.ids(vol)), 2)
        self.assertIn(pending, self.ids(vol))           # pending is never deleted

    def test_dry_run_makes_no_mutating_call(self):
        vol = self.vols[1]
        old = self.seed_nights(vol, 5)
        self.aws.reset_calls()
        r = self.night({"keep": 2}, "--dry-run")
        self.assertEqual(self.aws.mutating_calls(), {})
        self.assertIn("would create", r.stdout)
        for sid in old[1:]:
            self.assertRegex(r.stdout, r"%s \(.*would delete" % sid)
        self.assertEqual(self.ids(vol), set(old))


class ManyPages(EbsCase):
    n_volumes = 2

    def test_2500_snapshots_over_several_pages(self):
        """2,500 snapshots on the volume: 1,050 of ours (two pages of DescribeSnapshots of 1,000,
        which filters by our tag) and 1,450 taken by hand."""
        vol = self.vols[1]
        base = self.now - 3000 * 3600
        ours = [self.aws.seed_snapshot(volume_id=vol, tags=MANAGED, start_time=base + i * 3600)
                for i in range(1050)]
        manual = [self.aws.seed_snapshot(volume_id=vol, start_time=base + i * 1800) for i in range(1450)]
        self.aws.reset_calls()
        r = self.night({"keep": 1045, "devices": ["/dev/sdf"]})
        self.assertEqual(self.aws.calls().get("DescribeSnapshots", 0), 2)      # ceil(1,050 / 1,000)
        self.assertEqual(self.aws.ok_calls().get("DeleteSnapshot"), 6, r.stdout[-2000:])
        moto = self.aws.client("ec2", direct=True)     # straight to moto: no pages to rebuild
        left = {s["SnapshotId"] for s in moto.describe_snapshots(OwnerIds=["self"])["Snapshots"]
                if s["VolumeId"] == vol}
        self.assertTrue(set(ours[:6]).isdisjoint(left))     # the 6 oldest of ours went
        self.assertTrue(set(ours[6:]) <= left)
        self.assertTrue(set(manual) <= left)
        self.assertEqual(len(left), 1044 + 1 + 1450)


class Faults(EbsCase):
    n_volumes = 3

    def test_throttling_and_5xx_mid_run_are_retried(self):
        for v in self.vols:
            self.seed_nights(v, 3)
        self.aws.set_faults(throttle=1, http_503=1, only=["CreateSnapshot", "DeleteSnapshot"])
        r = self.night({"keep": 2})
        self.aws.clear_faults()
        for v in self.vols:
            self.assertEqual(len(self.snaps(v, ours=True)), 2, r.stdout)
        calls, ok = self.aws.calls(), self.aws.ok_calls()
        self.assertEqual(calls["CreateSnapshot"] + calls["DeleteSnapshot"],
                         ok["CreateSnapshot"] + ok["DeleteSnapshot"] + 2)

    def test_listing_failure_still_takes_snapshots(self):
        old = {v: set(self.seed_nights(v, 3)) for v in self.vols}
        self.aws.set_faults(http_503=100, only=["DescribeSnapshots"])
        r = self.night({"keep": 1}, expect=1)
        self.aws.clear_faults()
        for v in self.vols:
            self.assertTrue(old[v] < self.ids(v), r.stdout)   # tonight's added, none deleted
            self.assertEqual(len(self.ids(v)), 4)
        self.assertIn("retention", r.stdout + r.stderr)

    # -- the answer is lost after the server acted (issue 15): what exists is reported --------
    def night_with(self, faults, attrs, expect=0):
        self.write_json("etc/opsagent/stack.json", {"aws": {"timeout_seconds": 1}, "ebs_snapshots": attrs})
        self.aws.reset_calls()
        self.aws.set_faults(**faults)
        r = self.agent("run", "--recipe", "ebs_snapshots")
        self.aws.clear_faults()
        self.assertEqual(r.returncode, expect, "stdout:\n%s\nstderr:\n%s" % (r.stdout, r.stderr))
        return r

    def assert_one_tonight_each(self, r, old, keep):
        for v in self.vols:
            mine = self.snaps(v, ours=True)
            tonight = [s for s in mine if s["SnapshotId"] not in old[v]]
            self.assertEqual(len(tonight), 1, r.stdout)                   # nothing doubled
            self.assertEqual(len(mine), keep, r.stdout)                    # retention ran
            self.assertIn("created %s" % tonight[0]["SnapshotId"], r.stdout)
            self.assertTrue((tag(tonight[0], "opsagent:run-id") or "").startswith(self.run_id(r)), r.stdout)
        self.assertIn("%d created, %d deleted, 0 failed" % (len(self.vols), len(self.vols) * (3 + 1 - keep)),
                      r.stdout)

    @staticmethod
    def run_id(r):
        """The first 8 characters of the run's id, as the agent prints them."""
        return re.search(r"\(run ([0-9a-f]{8})\)", r.stdout + r.stderr).group(1)

    def test_create_answered_500_after_the_server_acted(self):
        """The issue's case: every CreateSnapshot is carried out, then answered 500."""
        old = {v: set(self.seed_nights(v, 3)) for v in self.vols}
        r = self.night_with({"http_500_after": 100, "only": ["CreateSnapshot"]}, {"keep": 2})
        self.assertEqual(self.aws.calls()["CreateSnapshot"], len(self.vols))
        self.assert_one_tonight_each(r, old, 2)

    def test_create_connection_reset_after_sending(self):
        old = {v: set(self.seed_nights(v, 3)) for v in self.vols}
        r = self.night_with({"connection_reset_after": 100, "only": ["CreateSnapshot"]}, {"keep": 2})
        self.assertEqual(self.aws.calls()["CreateSnapshot"], len(self.vols))
        self.assert_one_tonight_each(r, old, 2)

    def test_create_timeout_after_acting(self):
        old = {v: set(self.seed_nights(v, 3)) for v in self.vols}
        r = self.night_with({"delay_after": 5, "delay_after_count": 100, "only": ["CreateSnapshot"]}, {"keep": 2})
        self.assertEqual(self.aws.calls()["CreateSnapshot"], len(self.vols))
        self.assert_one_tonight_each(r, old, 2)

    def test_create_500_before_acting_is_sent_again(self):
        old = {v: set(self.seed_nights(v, 3)) for v in self.vols}
        r = self.night_with({"http_500": 1, "only": ["CreateSnapshot"]}, {"keep": 2})
        self.assertEqual(self.aws.calls()["CreateSnapshot"], len(self.vols) + 1)
        self.assert_one_tonight_each(r, old, 2)

    def test_create_timeout_before_acting_is_sent_again(self):
        old = {v: set(self.seed_nights(v, 3)) for v in self.vols}
        r = self.night_with({"delay": 5, "delay_count": 1, "only": ["CreateSnapshot"]}, {"keep": 2})
        self.assertEqual(self.aws.ok_calls()["CreateSnapshot"], len(self.vols))
        self.assert_one_tonight_each(r, old, 2)

    def test_create_truncated_answer(self):
        old = {v: set(self.seed_nights(v, 3)) for v in self.vols}
        r = self.night_with({"truncated_xml": 1, "only": ["CreateSnapshot"]}, {"keep": 2})
        self.assertEqual(self.aws.calls()["CreateSnapshot"], len(self.vols))
        self.assert_one_tonight_each(r, old, 2)

    def test_delete_answered_500_after_acting_is_counted_deleted(self):
        old = {v: set(self.seed_nights(v, 3)) for v in self.vols}
        r = self.night_with({"http_500_after": 1, "only": ["DeleteSnapshot"]}, {"keep": 2})
        self.assertEqual(self.aws.ok_calls()["DeleteSnapshot"], 2 * len(self.vols))
        self.assertEqual(self.aws.calls()["DeleteSnapshot"], 2 * len(self.vols) + 1)   # sent again once
        self.assertNotIn("already gone", r.stdout)
        self.assert_one_tonight_each(r, old, 2)

    def test_delete_reset_and_timeout_after_acting(self):
        old = {v: set(self.seed_nights(v, 3)) for v in self.vols}
        r = self.night_with({"connection_reset_after": 1, "delay_after": 5, "delay_after_count": 1,
                             "only": ["DeleteSnapshot"]}, {"keep": 2})
        self.assert_one_tonight_each(r, old, 2)

    def test_multi_volume_create_answered_500_after_acting(self):
        old = {v: set(self.seed_nights(v, 3)) for v in self.vols}
        r = self.night_with({"http_500_after": 100, "only": ["CreateSnapshots"]}, {"keep": 2, "mode": "multi-volume"})
        self.assertEqual(self.aws.calls()["CreateSnapshots"], 1)
        self.assert_one_tonight_each(r, old, 2)
        for dev, v in self.aws.devices.items():
            (tonight,) = [s for s in self.snaps(v, ours=True) if s["SnapshotId"] not in old[v]]
            self.assertEqual(tag(tonight, "opsagent:device"), dev)

    def test_create_that_always_fails_is_one_clear_error(self):
        old = {v: set(self.seed_nights(v, 3)) for v in self.vols}
        r = self.night_with({"http_500": 1000, "only": ["CreateSnapshot"]}, {"keep": 1, "devices": ["/dev/sdf"]},
                            expect=1)
        self.assertEqual(self.ids(self.vols[1]), old[self.vols[1]])
        self.assertIn("none was made", r.stdout)
        self.assertIn("0 created, 0 deleted, 1 failed", r.stdout)

    def test_create_failure_runs_no_retention(self):
        old = {v: set(self.seed_nights(v, 3)) for v in self.vols}
        self.aws.set_faults(http_500=1000, only=["CreateSnapshot"])
        r = self.night({"keep": 1}, expect=1)
        self.aws.clear_faults()
        for v in self.vols:
            self.assertEqual(self.ids(v), old[v], r.stdout)
            self.assertIn(v, r.stdout + r.stderr)
        self.assertEqual(self.aws.ok_calls().get("DeleteSnapshot", 0), 0)
        self.assertIn("retention not run", r.stdout)

    def test_unusable_credentials_are_a_configuration_error(self):
        # Half a key pair is the node's configuration, not a failed night: exit 2, and the
        # message names the key to set; nothing is called.
        r = self.night({"aws_key": "AKIAEXAMPLEEXAMPLE12"}, expect=2)
        self.assertIn("(configuration error): ebs_snapshots: aws_key is set but aws_secret is not", r.stdout)
        self.assertNotIn("ec2:DescribeInstances", r.stdout + r.stderr)
        self.assertEqual(self.aws.ok_calls().get("CreateSnapshot", 0), 0)
        rec = self.agent_json("history", "--json", "--recipe", "ebs_snapshots")[0]
        self.assertEqual(rec["outcome"], "config_error")

    def test_no_credentials_anywhere_is_a_configuration_error(self):
        # No key variables, no aws_key/aws_secret, no profile files, no container credentials and
        # IMDS disabled (so no instance role): the node's configuration, exit 2, and the message
        # says where credentials could come from; nothing is called.
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                  "AWS_EC2_METADATA_SERVICE_ENDPOINT"):
            self.env.pop(k, None)
        self.env["AWS_EC2_METADATA_DISABLED"] = "true"
        self.assertFalse(os.path.exists(self.env["AWS_CONFIG_FILE"]))
        self.assertFalse(os.path.exists(self.env["AWS_SHARED_CREDENTIALS_FILE"]))
        self.aws.reset_calls()
        self.write_json("etc/opsagent/stack.json", {"aws": {"instance_id": self.aws.instance_id},
                                                    "ebs_snapshots": {}})
        r = self.agent("run", "--recipe", "ebs_snapshots")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("(configuration error): ebs_snapshots: no AWS credentials", r.stdout)
        self.assertIn("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY", r.stdout)
        self.assertIn("instance metadata is disabled", r.stdout)
        self.assertEqual(self.aws.calls(), {})
        rec = self.agent_json("history", "--json", "--recipe", "ebs_snapshots")[0]
        self.assertEqual(rec["outcome"], "config_error")


class FaultMatrix(EbsCase):
    """The rest of issue 15's fault matrix for ebs_snapshots: each fault ends in success or in one
    clear error, with nothing lost, doubled or half-done. (Throttling, 5xx, 5xx after the server
    acted, timeouts and resets are in Faults, kill -9 in KillTrials.)"""
    n_volumes = 2

    def setUp(self):
        super().setUp()
        self.old = {v: set(self.seed_nights(v, 3)) for v in self.vols}

    def assert_night_done(self, r, keep=2):
        for v in self.vols:
            mine = self.snaps(v, ours=True)
            self.assertEqual(len([s for s in mine if s["SnapshotId"] not in self.old[v]]), 1, r.stdout)
            self.assertEqual(len(mine), keep, r.stdout)
        self.assertIn("%d created, %d deleted, 0 failed" % (len(self.vols), len(self.vols) * (4 - keep)), r.stdout)

    def assert_nothing_done(self):
        for v in self.vols:
            self.assertEqual(self.ids(v), self.old[v])
        self.assertEqual(self.aws.mutating_calls(), {})

    def one_error(self, r):
        errors = [line for line in r.stderr.splitlines() if ": error: " in line]
        self.assertEqual(len(errors), 1, r.stderr)
        return errors[0]

    def test_malformed_and_truncated_answers_to_reads_are_retried(self):
        self.aws.set_faults(truncated_xml=1, malformed_xml=1, only=["DescribeSnapshots"])
        r = self.night({"keep": 2})
        self.assertEqual(self.aws.calls()["DescribeSnapshots"], 3)        # truncated, malformed, read
        self.assert_night_done(r)
        self.old = {v: self.ids(v) for v in self.vols}
        self.aws.reset_calls()
        self.aws.set_faults(malformed_xml=1, only=["DescribeInstances"])
        r = self.night({"keep": 2})
        self.assertEqual(self.aws.calls()["DescribeInstances"], 2)
        for v in self.vols:
            self.assertEqual(len(self.snaps(v, ours=True)), 2, r.stdout)

    def test_every_listing_unreadable_still_takes_snapshots_and_deletes_nothing(self):
        self.aws.set_faults(malformed_xml=100, only=["DescribeSnapshots"])
        r = self.night({"keep": 1}, expect=1)
        self.aws.clear_faults()
        self.assertIn("MalformedResponse", r.stdout)
        for v in self.vols:
            self.assertTrue(self.old[v] < self.ids(v))
            self.assertEqual(len(self.ids(v)), 4)
        self.assertEqual(self.aws.ok_calls().get("DeleteSnapshot", 0), 0)

    def test_imds_down_is_one_clear_error_and_nothing_is_done(self):
        self.aws.reset_calls()
        r = self.agent("run", "--recipe", "ebs_snapshots",
                       env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:1"})
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("did not answer", self.one_error(r))
        self.assertIn("AWS_EC2_METADATA_DISABLED", r.stderr)
        self.assert_nothing_done()

    def test_imds_token_refused_is_one_clear_error_and_nothing_is_done(self):
        self.aws.reset_calls()
        self.aws.set_faults(imds_token_refused=-1)
        r = self.agent("run", "--recipe", "ebs_snapshots")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("refused a session token", self.one_error(r))
        self.assertIn("aws.imds.allow_v1", r.stderr)
        self.assert_nothing_done()

    def test_credentials_expiring_mid_run_are_refreshed(self):
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            self.env.pop(k)                   # the instance role's, from IMDS
        self.write_json("etc/opsagent/stack.json", {"ebs_snapshots": {"keep": 2}})
        self.aws.reset_calls()
        self.aws.set_faults(delay=60, delay_count=1, only=["CreateSnapshot"])
        p = subprocess.Popen([harness.OPSAGENT, "--root", self.root, "run", "--recipe", "ebs_snapshots"],
                             env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while not self.aws.held("CreateSnapshot") and p.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        self.assertTrue(self.aws.held("CreateSnapshot"), "the run never reached CreateSnapshot")
        # mid-run: the role's credentials expire (the old key is refused from now on), and the
        # held CreateSnapshot is dropped unanswered
        self.aws.expire_role_credentials()
        self.aws.clear_faults()
        out, err = p.communicate(timeout=120)
        r = subprocess.CompletedProcess(p.args, p.returncode, out, err)
        self.assertEqual(r.returncode, 0, out + err)
        self.assertGreaterEqual(self.aws.calls()["IMDS:credentials"], 2)   # fetched again
        self.assert_night_done(r)

    def test_clock_skew_is_corrected_from_the_date_header_once(self):
        self.aws.set_faults(skew=3600)        # AWS's clock an hour ahead of ours
        r = self.night({"keep": 2})
        self.aws.clear_faults()
        self.assertIn("correcting the offset", r.stderr)
        calls, ok = self.aws.calls(), self.aws.ok_calls()
        self.assertEqual(calls["DescribeInstances"], 2)                  # refused once, then right
        self.assertEqual(calls["CreateSnapshot"], ok["CreateSnapshot"])   # the offset holds after that
        self.assert_night_done(r)

    def test_clock_skew_in_the_past(self):
        self.aws.set_faults(skew=-1800)
        r = self.night({"keep": 2})
        self.aws.clear_faults()
        self.assert_night_done(r)

    def test_two_runs_at_once(self):
        self.write_json("etc/opsagent/stack.json", {"ebs_snapshots": {"keep": 2}})
        self.aws.set_faults(delay=60, delay_count=100, only=["CreateSnapshot"])   # every create held
        first = subprocess.Popen([harness.OPSAGENT, "--root", self.root, "run", "--recipe", "ebs_snapshots"],
                                 env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while self.aws.held("CreateSnapshot") < len(self.vols) and first.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.aws.held("CreateSnapshot"), len(self.vols), "the first run's creates were not all held")
        ec2 = lambda: {k: v for k, v in self.aws.calls().items() if not k.startswith("IMDS:")}
        before = ec2()
        second = self.agent("run", "--recipe", "ebs_snapshots")
        self.assertEqual(second.returncode, 3, second.stderr)
        self.assertIn("another run holds the lock", self.one_error(second))
        self.assertEqual(ec2(), before)                   # the second asked EC2 nothing
        self.aws.clear_faults()       # the held creates are dropped; the first run looks, then sends them again
        out, err = first.communicate(timeout=120)
        self.assertEqual(first.returncode, 0, out + err)
        self.assert_night_done(subprocess.CompletedProcess(first.args, 0, out, err))


class Messages(EbsCase):
    """Issue 15, item 4: an AWS failure says what it was; the missing IAM permission is named only
    when AWS refused the call for want of it."""
    n_volumes = 2
    HINT = "the IAM user or role needs ec2:"

    def failing_night(self, faults, aws=None, env=None, code=1):
        self.write_json("etc/opsagent/stack.json", {"aws": dict({"timeout_seconds": 1}, **(aws or {})),
                                                    "ebs_snapshots": {}})
        self.aws.set_faults(**faults)
        r = self.agent("run", "--recipe", "ebs_snapshots", env=env)
        self.aws.clear_faults()
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        return r.stdout + r.stderr

    def test_describe_instances_failures_do_not_blame_permissions(self):
        for faults, says in (({"http_500": 100}, "DescribeInstances: InternalError"),
                             ({"throttle": 100}, "DescribeInstances: RequestLimitExceeded"),
                             ({"delay": 5, "delay_count": 100}, "DescribeInstances: RequestTimeout")):
            out = self.failing_night(dict(faults, only=["DescribeInstances"]))
            self.assertIn(says, out)
            self.assertNotIn(self.HINT, out)
            self.assertNotIn("IAM", out)

    def test_no_region_does_not_blame_permissions(self):
        """No region is a configuration error (exit 2, since the config-error mechanism)."""
        out = self.failing_night({}, aws={"instance_id": self.aws.instance_id},
                                 env={"AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "", "AWS_DEFAULT_REGION": ""},
                                 code=2)
        self.assertIn("aws.region", out)
        self.assertNotIn("IAM", out)

    def test_permission_denied_names_the_action(self):
        out = self.failing_night({"denied": 100, "only": ["DescribeInstances"]})
        self.assertIn("DescribeInstances: UnauthorizedOperation", out)
        self.assertIn(self.HINT + "DescribeInstances", out)
        self.write_json("etc/opsagent/stack.json", {"ebs_snapshots": {"devices": ["/dev/sdf"]}})
        self.aws.set_faults(denied=100, only=["CreateSnapshot"])
        r = self.agent("run", "--recipe", "ebs_snapshots")
        self.aws.clear_faults()
        self.assertEqual(r.returncode, 1)
        self.assertIn(self.HINT + "CreateSnapshot)", r.stdout)
        self.assertEqual(self.aws.calls()["CreateSnapshot"], 1)        # not retried, not looked for
        self.assertNotIn("DescribeSnapshots: ", r.stdout)


class MultiVolume(EbsCase):
    n_volumes = 3

    def test_one_crash_consistent_set(self):
        for v in self.vols[1:]:
            self.seed_nights(v, 3)
        self.aws.reset_calls()
        r = self.night({"mode": "multi-volume", "include_root": False, "keep": 2})
        calls = self.aws.ok_calls()
        self.assertEqual(calls.get("CreateSnapshots"), 1, r.stdout)
        self.assertNotIn("CreateSnapshot", calls)
        self.assertEqual(self.snaps(self.vols[0]), [])
        for dev, v in self.aws.devices.items():
            if v == self.vols[0]:
                continue
            mine = self.snaps(v, ours=True)
            self.assertEqual(len(mine), 2, r.stdout)
            newest = max(mine, key=lambda s: s["StartTime"])
            self.assertEqual(tag(newest, "opsagent:device"), dev)


class KillTrials(EbsCase):
    """kill -9 at a random point of a night (what `systemctl kill -s KILL` does to the unit), then
    a night that must leave everything whole: every snapshot of ours fully tagged (issue 15, item
    3: a multi-volume run killed between CreateSnapshots and CreateTags left snapshots without
    their device, and the next run did not repair them), none doubled, retention done. A point
    is a call the stand-in holds, before or after moto carried it out, until the run is killed.
    The seed is printed; OPSAGENT_TEST_SEED replays a failure, OPSAGENT_KILL_TRIALS (per mode)
    runs more."""
    n_volumes = 3
    KEEP = 2

    def setUp(self):
        super().setUp()
        self.manual = {v: self.aws.seed_snapshot(volume_id=v, start_time=self.now - 500 * DAY) for v in self.vols}
        for v in self.vols:
            self.seed_nights(v, 3)
        seed = os.environ.get("OPSAGENT_TEST_SEED")
        self.seed = int(seed) if seed else random.randrange(1 << 32)
        print("# %s: seed %d (OPSAGENT_TEST_SEED=%d replays it)" % (self.id(), self.seed, self.seed))
        self.rng = random.Random(self.seed)
        self.trials = int(os.environ.get("OPSAGENT_KILL_TRIALS", "5"))

    def points(self, mode):
        n = len(self.vols)
        create = [("CreateSnapshots", 0)] if mode == "multi-volume" else [("CreateSnapshot", j) for j in range(n)]
        tags = [("CreateTags", j) for j in range(n)] if mode == "multi-volume" else []
        deletes = [("DeleteSnapshot", j) for j in range(n)]
        return [(op, j, after) for op, j in create + tags + deletes for after in (False, True)]

    def kill_at(self, mode, point):
        op, skip, after = point
        self.write_json("etc/opsagent/stack.json", {"ebs_snapshots": {"mode": mode, "keep": self.KEEP}})
        hold = {"delay_after": 120, "delay_after_count": 1} if after else {"delay": 120, "delay_count": 1}
        self.aws.set_faults(only=[op], delay_skip=skip, **hold)
        p = subprocess.Popen([harness.OPSAGENT, "--root", self.root, "run", "--recipe", "ebs_snapshots"],
                             env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        deadline = time.time() + 90
        while not self.aws.held(op) and p.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        reached = bool(self.aws.held(op))
        for c, _ in descendants(p.pid):         # the recipe's child runs in a process group of its own
            try:
                os.kill(c, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        self.aws.clear_faults()                   # held calls wake; one not yet carried out is dropped
        return reached

    def assert_whole(self, r, what):
        ours = [s for s in self.aws.snapshots() if managed(s)]
        per_run = collections.Counter((tag(s, "opsagent:run-id"), s["VolumeId"]) for s in ours
                                      if tag(s, "opsagent:run-id"))
        self.assertEqual([k for k, c in per_run.items() if c > 1], [], "doubled after %s\n%s" % (what, r.stdout))
        device_of = {v: d for d, v in self.aws.devices.items()}
        for s in ours:
            if not tag(s, "opsagent:run-id"):
                continue                            # seeded
            dev = device_of[s["VolumeId"]]
            self.assertEqual(tag(s, "opsagent:device"), dev, "after %s: %s\n%s" % (what, s, r.stdout))
            self.assertEqual(tag(s, "Name"), "%s %s" % (tag(s, "opsagent:hostname"), dev), "after %s" % what)
            self.assertEqual(tag(s, "opsagent:instance-id"), self.aws.instance_id)
        for v in self.vols:
            self.assertEqual(len([s for s in ours if s["VolumeId"] == v]), self.KEEP, "after %s\n%s" % (what, r.stdout))
            self.assertIn(self.manual[v], self.ids(v))
        self.assertIn("%d created" % len(self.vols), r.stdout)

    def run_trials(self, mode):
        points = self.points(mode)
        for t in range(self.trials):
            point = self.rng.choice(points)
            what = "trial %d of seed %d: kill -9 at %s #%d %s it was carried out" % (
                t, self.seed, point[0], point[1] + 1, "after" if point[2] else "before")
            reached = self.kill_at(mode, point)
            r = self.night({"mode": mode, "keep": self.KEEP})
            self.assert_whole(r, what + ("" if reached else " (not reached: the run ended first)"))

    def test_kill_9_multi_volume(self):
        self.run_trials("multi-volume")

    def test_kill_9_per_volume(self):
        self.run_trials("per-volume")

    def test_kill_9_between_create_snapshots_and_create_tags(self):
        """The case of the issue, every time: the set made, its device tags not yet."""
        for after in (True, False):
            self.kill_at("multi-volume", ("CreateTags", 0, after) if not after else ("CreateSnapshots", 0, True))
            bare = [s for s in self.aws.snapshots() if managed(s) and tag(s, "opsagent:run-id")
                    and not tag(s, "opsagent:device")]
            self.assertEqual(len(bare), len(self.vols))
            r = self.night({"mode": "per-volume", "keep": self.KEEP})
            self.assertEqual(r.stdout.count("snapshot of an interrupted run with the device"), len(self.vols),
                             r.stdout)
            self.assert_whole(r, "kill -9 after CreateSnapshots")


def loop_mount(mnt):
    """Mounts a fresh ext4 image at MNT; returns (image, None) or (None, why not)."""
    if os.geteuid() != 0:
        return None, "not root: cannot loop-mount an ext4 image"
    img = mnt + ".img"
    try:
        os.makedirs(mnt, exist_ok=True)
        subprocess.run(["truncate", "-s", "32M", img], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", img], check=True, capture_output=True)
        os.makedirs(mnt, exist_ok=True)
        subprocess.run(["mount", "-o", "loop", img, mnt], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        return None, "cannot loop-mount an ext4 image here (%s)" % e
    return img, None


def writable(path, timeout=harness.DEADLINE):
    """True when a file can be written and fsynced under PATH within TIMEOUT seconds. With the
    default, False means frozen; a short TIMEOUT only shows that nothing thawed it meanwhile."""
    code = "import os,sys; f=os.open(sys.argv[1], os.O_WRONLY|os.O_CREAT, 0o644); os.write(f, b'x'); os.fsync(f)"
    p = subprocess.Popen([sys.executable, "-c", code, os.path.join(path, "probe")])
    try:
        return p.wait(timeout) == 0
    except subprocess.TimeoutExpired:
        p.kill()            # takes effect once the filesystem thaws
        return False


def descendants(pid):
    """(pid, comm) of every process below PID."""
    parent = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                head, rest = f.read().rsplit(")", 1)
            parent[int(d)] = (int(rest.split()[1]), head.split("(", 1)[1])
        except (OSError, IndexError, ValueError):
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c, (pp, comm) in parent.items():
            if pp == p:
                out.append((c, comm))
                todo.append(c)
    return out


class MetadataOnce(EbsCase):
    """A night reads the instance facts, runs the recipe in a child that calls EC2, and reports
    to CloudWatch: all three need the metadata service, which is asked for a token once and for
    the instance role's credentials once."""

    def test_one_token_and_one_credentials_fetch_per_run(self):
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            self.env.pop(k, None)
        self.night()
        calls = self.aws.calls()
        self.assertGreaterEqual(calls.get("PutMetricData", 0), 1, calls)
        self.assertGreaterEqual(calls.get("CreateSnapshot", 0), 1, calls)
        self.assertEqual(calls.get("IMDS:PUT token"), 1, calls)
        self.assertEqual(calls.get("IMDS:credentials"), 1, calls)


class Freeze(EbsCase):
    n_volumes = 2

    def setUp(self):
        super().setUp()
        self.mnt = self.path("mnt/data")
        self.mounted = False
        img, why = loop_mount(self.mnt)
        if not img:
            super().tearDown()  # tearDown() is not called after a skip in setUp()
            self.skipTest(why)
        self.mounted = True

    def tearDown(self):
        if self.mounted:        # before the sandbox goes
            subprocess.run(["fsfreeze", "-u", self.mnt], capture_output=True)
            subprocess.run(["umount", self.mnt], capture_output=True)
        super().tearDown()

    def fake_nvme(self, vol):
        """Makes ROOT look like a Nitro instance where VOL is the loop device under /mnt/data."""
        st = os.stat(self.mnt)
        majmin = "%d:%d" % (os.major(st.st_dev), os.minor(st.st_dev))
        self.write("sys/block/nvme1n1/dev", majmin + "\n")
        self.write("sys/block/nvme1n1/device/serial", vol.replace("vol-", "vol") + "\n")
        link = self.path("dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" + vol.replace("vol-", "vol"))
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink("../../nvme1n1", link)
        self.write("proc/self/mountinfo",
                   "20 1 0:1 / / rw - ext4 /dev/nvme0n1p1 rw\n"
                   "30 20 %s / /mnt/data rw,relatime - ext4 /dev/nvme1n1 rw\n" % majmin)

    def test_freeze_found_through_nvme_and_thawed(self):
        self.fake_nvme(self.vols[1])
        r = self.night({"freeze": {"enable": True}, "devices": ["/dev/sdf"]})
        self.assertIn("freeze: %s frozen" % self.mnt, r.stdout)
        self.assertIn("freeze: thawed", r.stdout)
        self.assertTrue(writable(self.mnt))
        self.assertEqual(len(self.snaps(self.vols[1])), 1)

    def test_never_freezes_root_or_state(self):
        r = self.night({"freeze": {"enable": True, "mountpoints": ["/", "/var/lib"]}})
        self.assertIn("not freezing /:", r.stdout)
        self.assertIn("not freezing /var/lib:", r.stdout)
        self.assertEqual(len(self.snaps()), 2)

    def start_frozen_night(self):
        """Starts a night (in a session of its own) whose CreateSnapshot hangs, with /mnt/data to
        freeze for up to 120 s, and returns once the filesystem is frozen: the freeze marker is
        there, the watchdog runs and CreateSnapshot has reached the stand-in (the recipe freezes
        before it creates, and thaws only when the calls return). A write that is merely slow
        is not taken for a freeze."""
        self.write_json("etc/opsagent/stack.json", {"ebs_snapshots": {
            "freeze": {"enable": True, "mountpoints": ["/mnt/data"], "timeout_seconds": 120}}})
        self.aws.reset_calls()
        self.aws.set_faults(delay=60, delay_count=10, only=["CreateSnapshot"])
        p = subprocess.Popen([harness.OPSAGENT, "--root", self.root, "run", "--recipe", "ebs_snapshots"],
                             env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        # Frozen once the stand-in holds a CreateSnapshot (the recipe sends them only after the
        # watchdog said it froze), the marker is there and the freeze helper runs. A write probe
        # that merely takes long would say so under load when nothing is frozen.
        marker = self.path("var/lib/opsagent/recipes/ebs_snapshots/frozen.json")

        def frozen():
            return (self.aws.held("CreateSnapshot") > 0 and os.path.exists(marker) and
                    "opsagent-freeze" in [comm for c, comm in descendants(p.pid)])
        harness.wait_until(lambda: frozen() or p.poll() is not None)
        return p, p.poll() is None and frozen()

    def test_sigkill_of_the_agent_while_frozen_leaves_it_thawed(self):
        p, frozen = self.start_frozen_night()
        try:
            self.assertTrue(frozen, "the filesystem was never frozen")
        finally:
            # the agent and whatever runs the recipe die; the watchdog (named opsagent-freeze,
            # in its own process group) is what this test is about
            victims = [c for c, comm in descendants(p.pid) if comm != "opsagent-freeze"]
            self.assertIn("opsagent-freeze", [comm for c, comm in descendants(p.pid)])
            os.killpg(p.pid, signal.SIGKILL)
            for c in victims:
                try:
                    os.kill(c, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            p.wait()
        # timeout_seconds is 120: only the agent's death can have thawed it this soon
        self.assertTrue(writable(self.mnt))

    def kill_everything_while_frozen(self):
        """Starts a night whose CreateSnapshot hangs, and once the filesystem is frozen SIGKILLs
        the watchdog first (so that it cannot thaw), then the agent and the rest: what
        `systemctl kill -s KILL` does to the unit."""
        p, frozen = self.start_frozen_night()
        try:
            self.assertTrue(frozen, "the filesystem was never frozen")
        finally:
            procs = descendants(p.pid)
            for c, comm in sorted(procs, key=lambda x: x[1] != "opsagent-freeze"):
                try:
                    os.kill(c, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        self.aws.set_faults(delay=0, delay_count=0)
        self.assertIn("opsagent-freeze", [comm for c, comm in procs])
        self.assertFalse(writable(self.mnt, timeout=2), "nothing should have thawed it")

    def test_recover_thaws_what_a_killed_run_and_watchdog_left(self):
        self.kill_everything_while_frozen()
        marker = self.path("var/lib/opsagent/recipes/ebs_snapshots/frozen.json")
        self.assertTrue(os.path.exists(marker))
        r = self.agent("recover", "--recipe", "ebs_snapshots", "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("would thaw %s if it is still frozen" % self.mnt, r.stdout)
        self.assertFalse(writable(self.mnt, timeout=2))
        r = self.agent("recover", "--recipe", "ebs_snapshots")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("thawed %s, which a run that was killed had left frozen" % self.mnt, r.stdout)
        self.assertTrue(writable(self.mnt))
        self.assertFalse(os.path.exists(marker))
        r = self.agent("recover", "--recipe", "ebs_snapshots")
        self.assertEqual((r.returncode, r.stdout), (0, ""), r.stderr)

    def test_next_run_thaws_first(self):
        self.kill_everything_while_frozen()
        r = self.night({"freeze": {"enable": True, "mountpoints": ["/mnt/data"]}})
        lines = r.stdout.splitlines()
        thawed = [i for i, l in enumerate(lines) if "which a run that was killed had left frozen" in l]
        described = [i for i, l in enumerate(lines) if "EBS volumes attached" in l]
        self.assertTrue(thawed and described and thawed[0] < described[0], r.stdout)
        self.assertIn("freeze: thawed", r.stdout)
        self.assertTrue(writable(self.mnt))
        self.assertFalse(os.path.exists(self.path("var/lib/opsagent/recipes/ebs_snapshots/frozen.json")))

    def test_no_freeze_without_its_marker(self):
        """The state directory full, or read-only: the freeze marker (what lets `recover` or the
        next run thaw after a kill -9 of the agent and its watchdog) cannot be written, so
        nothing is frozen: one warning saying why, and the snapshots, crash-consistent only."""
        state = self.path("var/lib/opsagent/recipes/ebs_snapshots")
        marker = os.path.join(state, "frozen.json")
        os.makedirs(state, mode=0o700, exist_ok=True)
        for opts, why in (("size=64k", "No space left on device"), ("ro,size=64k", "Read-only file system")):
            if subprocess.run(["mount", "-t", "tmpfs", "-o", opts + ",mode=0700", "tmpfs", state],
                              capture_output=True).returncode != 0:
                self.skipTest("cannot mount a small tmpfs here")
            try:
                if "ro" not in opts:
                    with open(os.path.join(state, "filler"), "wb", buffering=0) as f:
                        try:
                            while True:
                                f.write(b"\0" * 4096)
                        except OSError:
                            pass            # full
                before = {v: self.ids(v) for v in self.vols}
                r = self.night({"freeze": {"enable": True, "mountpoints": ["/mnt/data"]}, "keep": 5})
                warnings = [line for line in r.stdout.splitlines() if "warning:" in line]
                self.assertEqual(len(warnings), 1, r.stdout)
                self.assertIn("cannot write %s" % marker, warnings[0])
                self.assertIn(why, warnings[0])
                self.assertIn("crash-consistent only", warnings[0])
                self.assertNotIn("frozen", r.stdout.replace(warnings[0], ""))
                self.assertTrue(writable(self.mnt))
                self.assertFalse(os.path.exists(marker))
                for v in self.vols:
                    self.assertEqual(len(self.ids(v) - before[v]), 1, r.stdout)
                self.assertIn("%d created, 0 deleted, 0 failed" % len(self.vols), r.stdout)
            finally:
                subprocess.run(["umount", state], capture_output=True)

    def test_marker_lives_only_while_frozen(self):
        r = self.night({"freeze": {"enable": True, "mountpoints": ["/mnt/data"]}})
        self.assertIn("freeze: thawed", r.stdout)
        self.assertEqual(os.listdir(self.path("var/lib/opsagent/recipes/ebs_snapshots")), [])

if __name__ == "__main__":
    tap.main()
