"""The opsagent command itself, run as built, in a fresh sandbox per test, with the test
plugins (tests/unit/plugins): run, exit codes, attributes and their origins, bad input,
isolation of crashing recipes, locking, records, status and history, secrets."""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

import harness
import tap

PLUGINS = os.environ.get("OPSAGENT_TEST_PLUGIN_DIR",
                         os.path.join(harness.BUILDDIR, "tests", "unit", "plugins", ".libs"))


class Core(harness.AgentTestCase):
    def setUp(self):
        super().setUp()
        self.env["OPSAGENT_PLUGIN_PATH"] = PLUGINS

    # --- the command line -------------------------------------------------------------
    def test_help_lists_commands_and_exit_codes(self):
        r = self.agent("--help", root=False)
        self.assertEqual(r.returncode, 0)
        for word in ("run", "recipes", "attributes", "status", "history", "Exit status",
                     "3  another run"):
            self.assertIn(word, r.stdout)

    def test_every_command_has_help(self):
        for cmd in ("run", "recover", "recipes", "attributes", "status", "history", "log"):
            r = self.agent(cmd, "--help", root=False)
            self.assertEqual(r.returncode, 0, cmd)
            self.assertIn("Usage: opsagent " + cmd, r.stdout)

    def test_version(self):
        r = self.agent("--version", root=False)
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^opsagent \d+\.\d+")

    def test_version_v_prints_the_built_in_paths(self):
        r = self.agent("--version", "-v", root=False, env={"OPSAGENT_CONFIG_DIR": "/tmp/elsewhere"})
        self.assertEqual(r.returncode, 0, r.stderr)
        built = dict(re.findall(r"(?m)^  (configuration|state|locks|recipes|systemd units)\s+(\S+)", r.stdout))
        self.assertEqual(set(built), {"configuration", "state", "locks", "recipes", "systemd units"})
        self.assertIn("(here: /tmp/elsewhere)", r.stdout)
        # the same defaults as --help states
        help_text = self.agent("--help", root=False).stdout
        self.assertIn("(default: %s)" % built["configuration"], help_text)
        self.assertIn("(default: %s)" % built["locks"], help_text)

    def test_version_v_default_paths_are_the_systems(self):
        # configure.ac: with the default prefix or /usr, and no --sysconfdir, --localstatedir
        # or --runstatedir, a source build reads /etc/opsagent and locks in /run/opsagent, as
        # the README and the man pages say (issue 21: it was /usr/local/etc, /usr/local/var/run).
        status = os.path.join(harness.BUILDDIR, "config.status")
        if not os.path.exists(status):
            self.skipTest("no %s to tell how this build was configured" % status)
        args = shlex.split(subprocess.run(["sh", status, "--config"], capture_output=True, text=True,
                                          check=True).stdout)
        prefix = "/usr/local"
        for i, a in enumerate(args):
            if a.startswith("--prefix="):
                prefix = a.split("=", 1)[1]
            elif a == "--prefix" and i + 1 < len(args):
                prefix = args[i + 1]
        dirs = [a for a in args if a.split("=", 1)[0] in ("--sysconfdir", "--localstatedir", "--runstatedir")]
        if prefix.rstrip("/") not in ("/usr/local", "/usr") or dirs:
            self.skipTest("configured with --prefix=%s %s: not the system defaults" % (prefix, " ".join(dirs)))
        r = self.agent("--version", "-v", root=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        built = dict(re.findall(r"(?m)^  (configuration|state|locks)\s+(\S+)", r.stdout))
        self.assertEqual(built, {"configuration": "/etc/opsagent", "state": "/var/lib/opsagent",
                                 "locks": "/run/opsagent"}, r.stdout)

    def test_usage_errors_exit_2(self):
        for args in (("frob",), ("run",), ("run", "--bogus"), ("status", "--dry-run"),
                     ("run", "--all", "--recipe", "good")):
            r = self.agent(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertTrue(r.stderr.strip(), args)

    def test_unknown_recipe_lists_installed(self):
        r = self.agent("run", "--recipe", "nosuch")
        self.assertEqual(r.returncode, 2)
        self.assertIn('unknown recipe "nosuch"', r.stderr)
        self.assertIn("good", r.stderr)

    def test_typos_get_did_you_mean(self):
        r = self.agent("run", "--recipe", "goood")
        self.assertEqual(r.returncode, 2)
        self.assertIn('unknown recipe "goood" (did you mean good?)', r.stderr)
        r = self.agent("history", "--recipe", "goood")
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn('unknown recipe "goood" (did you mean good?)', r.stderr)
        r = self.agent("history", "--recipe", "good")       # installed, never run: no error
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no runs of good recorded", r.stdout)
        r = self.agent("attributes", "good.cont")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no attribute good.cont (did you mean good.count?)", r.stderr)
        r = self.agent("stats")
        self.assertEqual(r.returncode, 2)
        self.assertIn('unknown command "stats" (did you mean status?)', r.stderr)
        self.assertEqual(r.stderr.count("--help"), 1, r.stderr)

    def test_enabled_recipe_that_is_not_installed_is_warned(self):
        p = self.write_json("etc/opsagent/stack.json", {"opsagent": {"recipes": {"goodd": True, "good": True}}})
        want = "%s: opsagent.recipes.goodd is true but no recipe \"goodd\" is installed (did you mean good?)" % p
        for args in (("attributes", "good.count"), ("run", "--all")):
            r = self.agent(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(want, r.stderr, args)

    # --- recipes ------------------------------------------------------------------------
    def test_recipes_lists_and_reports_broken_plugins(self):
        r = self.agent("recipes")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"(?m)^RECIPE\s+VERSION\s+ENABLED\s+SUMMARY$")
        self.assertRegex(r.stdout, r"(?m)^good\s+1\.2\s+not enabled\s+A recipe that behaves$")
        r = self.agent("recipes", "--no-header")
        self.assertNotIn("SUMMARY", r.stdout)
        self.assertIn("crash", r.stdout)
        self.assertNotIn("wrong_abi", r.stdout)
        self.assertIn("wrong_abi.so: recipe built for plugin ABI 2", r.stderr)
        self.assertIn("no_symbol.so: not an opsagent recipe", r.stderr)
        js = self.agent_json("recipes", "--json")
        self.assertEqual(sorted(x["name"] for x in js), ["crash", "good"])

    # --- run ----------------------------------------------------------------------------
    def test_run_good_recipe(self):
        self.write_json("etc/opsagent/stack.json", {"good": {"greeting": "hi", "count": 3}})
        r = self.agent("run", "--recipe", "good")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("hi #2", r.stdout)
        self.assertIn("good: succeeded", r.stdout)
        with open(self.path("var/tmp/good.out")) as f:
            self.assertEqual(f.read(), "hi x3\n")
        r = self.agent("run", "--recipe", "good")
        self.assertIn("output unchanged", r.stdout)

    def test_dry_run_changes_nothing_and_shows_diff(self):
        self.write_json("etc/opsagent/stack.json", {"good": {"greeting": "hi", "count": 1}})
        r = self.agent("run", "--recipe", "good", "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(self.path("var/tmp/good.out")))
        self.assertIn("+hi x1", r.stdout)
        self.assertIn("planned", r.stdout)

    def test_quiet_prints_errors_only(self):
        # -q silences the planning/planned lines and the recipe's own output, not a failure.
        self.write_json("etc/opsagent/stack.json", {"good": {"greeting": "hi", "count": 1}})
        r = self.agent("run", "--recipe", "good", "--dry-run", "-q")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))
        self.write_json("etc/opsagent/stack.json", {"good": {"fail": True, "count": 0}})
        r = self.agent("run", "--recipe", "good", "-q")
        self.assertEqual(r.returncode, 1)
        self.assertNotIn("running", r.stdout)
        self.assertIn("good: FAILED", r.stdout)

    def test_run_json_prints_one_object_per_run(self):
        self.write_json("etc/opsagent/stack.json", {"good": {"fail": True, "count": 1}, "crash": {"how": "none"}})
        r = self.agent("run", "--recipe", "good", "--recipe", "crash", "--json")
        self.assertEqual(r.returncode, 1, r.stderr)
        runs = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertEqual([(x["recipe"], x["outcome"]) for x in runs], [("good", "failed"), ("crash", "success")])
        self.assertIn("told to fail", runs[0]["error"])
        self.assertEqual(runs[0]["metrics"][0]["name"], "Greetings")
        self.assertGreaterEqual(runs[0]["duration_sec"], 0)
        self.assertIn("good: FAILED", r.stderr)      # what is said goes to stderr
        self.assertIn("hello #0", r.stderr)

    def test_report_json(self):
        self.write_json("etc/opsagent/stack.json", {"cloudwatch": {"enabled": False}})
        r = self.agent("report", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual((out["outcome"], out["metrics"]), ("disabled", []))
        self.assertIn("reporting is off", r.stderr)
        # CloudWatch out of reach: the heartbeat is spooled, and its datums are listed in the
        # shape `run --json` gives a run's metrics.
        self.write_json("etc/opsagent/stack.json", {"opsagent": {"recipes": {"good": True}},
                                                    "good": {"greeting": "hi", "count": 1}})
        run = self.agent_json("run", "--recipe", "good", "--json", "--no-report")
        r = self.agent("report", "--json", env={"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                                                "AWS_SECRET_ACCESS_KEY": "secret",
                                                "AWS_ENDPOINT_URL_CLOUDWATCH": "http://127.0.0.1:9"})
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["outcome"], "spooled", r.stderr)
        by_name = {m["name"]: m for m in out["metrics"]}
        self.assertEqual((by_name["Heartbeat"]["value"], by_name["Heartbeat"]["unit"]), (1, "Count"), out)
        self.assertIn(["Recipe", "good"], by_name["SecondsSinceLastSuccess"]["dimensions"], out)
        self.assertEqual(by_name["SecondsSinceLastSuccess"]["unit"], "Seconds")
        shape = set(run["metrics"][0]) - {"dimensions"}
        self.assertTrue(all(set(m) - {"dimensions"} == shape for m in out["metrics"]), (out["metrics"], shape))

    def test_report_without_credentials_names_its_settings(self):
        # The report has no recipe attributes: "set aws_key/aws_secret in the recipe's
        # attributes" is no way for it (issue 21). Nothing leaves the machine: no credentials.
        r = self.agent("report", env={"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_CLOUDWATCH": "http://127.0.0.1:9"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (for a unit: in a drop-in",
                      r.stderr)
        self.assertNotIn("aws_key", r.stderr)

    def test_extra_json_has_highest_precedence(self):
        self.write_json("etc/opsagent/stack.json", {"good": {"greeting": "stack"}})
        self.write_json("etc/opsagent/layers/10-web.json", {"good": {"greeting": "layer"}})
        self.write_json("etc/opsagent/local.json", {"good": {"greeting": "local"}})
        extra = self.write_json("extra.json", {"good": {"greeting": "extra", "count": 1}})
        r = self.agent("run", "--recipe", "good", "-j", extra)
        self.assertIn("extra #0", r.stdout)

    def test_failing_recipe_exit_1_with_reason_and_others_run(self):
        self.write_json("etc/opsagent/stack.json", {"good": {"fail": True, "count": 0}, "crash": {"how": "none"}})
        r = self.agent("run", "--recipe", "good", "--recipe", "crash")
        self.assertEqual(r.returncode, 1)
        self.assertIn("good: FAILED", r.stdout)
        self.assertIn("told to fail", r.stdout)
        self.assertIn("crash: succeeded", r.stdout)
        # said once, in the outcome line (not also as an error: line of the recipe's)
        self.assertEqual((r.stdout + r.stderr).count("told to fail"), 1, r.stdout + r.stderr)

    def test_configuration_error_found_by_the_recipe_exits_2(self):
        # OPSAGENT_RUN_CONFIG_ERROR (ctx_fail_config): outcome config_error, exit 2, said once;
        # another recipe that fails still makes it exit 1.
        self.write_json("etc/opsagent/stack.json", {"good": {"unusable": True}})
        r = self.agent("run", "--recipe", "good")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("good: FAILED after", r.stdout)
        self.assertIn("(configuration error): good.unusable is true: set it to false", r.stdout)
        self.assertEqual((r.stdout + r.stderr).count("good.unusable is true"), 1, r.stdout + r.stderr)
        rec = self.agent_json("history", "--json", "--recipe", "good")[0]
        self.assertEqual((rec["outcome"], rec["error"]), ("config_error", "good.unusable is true: set it to false"))
        self.write_json("etc/opsagent/stack.json", {"good": {"unusable": True}, "crash": {"how": "segv"}})
        r = self.agent("run", "--recipe", "good", "--recipe", "crash")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)

    def _crash(self, how):
        self.write_json("etc/opsagent/stack.json", {"crash": {"how": how}})
        r = self.agent("run", "--recipe", "crash", "--recipe", "good")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("good: succeeded", r.stdout)  # the next recipe still ran
        hist = self.agent_json("history", "--json", "--recipe", "crash")
        return hist[0]

    def test_segfault_is_recorded_with_signal_name(self):
        rec = self._crash("segv")
        self.assertEqual(rec["outcome"], "crashed")
        self.assertIn("SIGSEGV", rec["error"])

    def test_abort_is_recorded(self):
        rec = self._crash("abort")
        self.assertEqual(rec["outcome"], "crashed")
        self.assertIn("SIGABRT", rec["error"])

    def test_exit_inside_recipe_is_a_failure(self):
        rec = self._crash("exit")
        self.assertEqual(rec["outcome"], "failed")
        self.assertIn("before finishing", rec["error"])

    def test_hang_is_killed_at_the_time_budget(self):
        self.write_json("etc/opsagent/local.json", {"crash": {"time_budget_seconds": 1}})
        self.write_json("etc/opsagent/stack.json", {"crash": {"how": "hang"}})
        t0 = time.monotonic()
        r = self.agent("run", "--recipe", "crash", "--recipe", "good")
        # Killed at its budget, not left to hang: far less than the hang guard of the run (600 s),
        # with room for a loaded machine.
        self.assertLess(time.monotonic() - t0, harness.DEADLINE)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("good: succeeded", r.stdout)
        rec = self.agent_json("history", "--json", "--recipe", "crash")[0]
        self.assertEqual(rec["outcome"], "timeout")
        self.assertIn("timed out after 1 s", rec["error"])

    def test_time_budget_is_whole_seconds_or_refused(self):
        # A budget the runner cannot use is a configuration error naming the key, for every
        # recipe (one of them once declared it number|null, and the runner then ignored it).
        for bad in (1.5, 1e30, "60", -1, 604801):
            self.write_json("etc/opsagent/local.json", {"crash": {"time_budget_seconds": bad}})
            r = self.agent("run", "--recipe", "crash")
            self.assertEqual(r.returncode, 2, (bad, r.stdout, r.stderr))
            self.assertIn("crash.time_budget_seconds", r.stderr)
            self.assertNotIn("crash: running", r.stdout)

    def test_all_runs_enabled_recipes_only(self):
        self.write_json("etc/opsagent/stack.json",
                        {"opsagent": {"recipes": {"good": True, "crash": False}}, "crash": {"how": "segv"}})
        r = self.agent("run", "--all")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("good: succeeded", r.stdout)
        self.assertNotIn("crash:", r.stdout)

    # --- bad input ----------------------------------------------------------------------
    def test_invalid_json_names_file_line_column(self):
        p = self.write("etc/opsagent/stack.json", '{\n "good": {\n  "count": 1,\n }\n}')
        r = self.agent("run", "--recipe", "good")
        self.assertEqual(r.returncode, 2)
        self.assertIn(p + ":4:", r.stderr)
        errors = [l for l in r.stderr.splitlines() if ": error: " in l]
        self.assertEqual(len(errors), 1, r.stderr)
        self.assertFalse(os.path.exists(self.path("var/tmp/good.out")))
        self.assertFalse(os.path.isdir(self.path("var/lib/opsagent/runs")))

    def test_wrong_type_names_key_expected_and_found(self):
        p = self.write_json("etc/opsagent/layers/50-app.json", {"good": {"count": "3"}})
        r = self.agent("run", "--recipe", "good")
        self.assertEqual(r.returncode, 2)
        self.assertIn(p + ": good.count: expected integer, found string \"3\"", r.stderr)
        self.assertFalse(os.path.exists(self.path("var/tmp/good.out")))

    def test_unknown_recipe_key_did_you_mean(self):
        self.write_json("etc/opsagent/stack.json", {"good": {"greting": "x"}})
        r = self.agent("run", "--recipe", "good")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown key good.greting (did you mean good.greeting?)", r.stderr)

    def test_top_level_near_miss_did_you_mean(self):
        self.write_json("etc/opsagent/stack.json", {"god": {"count": 1}, "nginx": {"other": "tool"}})
        r = self.agent("run", "--recipe", "good")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown top-level key god (did you mean good?)", r.stderr)

    def test_unreadable_file(self):
        os.makedirs(self.path("etc/opsagent/layers/broken.json"))
        r = self.agent("run", "--recipe", "good")
        self.assertEqual(r.returncode, 2)
        self.assertIn("broken.json: cannot read", r.stderr)

    def test_instance_facts_cannot_be_overridden(self):
        self.write_json("etc/opsagent/stack.json", {"opsagent": {"instance": {"id": "i-fake"}}})
        r = self.agent("attributes", "opsagent", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("i-fake", r.stdout)
        self.assertIn("cannot be overridden", r.stderr)

    # --- attributes ---------------------------------------------------------------------
    def test_attributes_show_origins(self):
        stack = self.write_json("etc/opsagent/stack.json", {"good": {"count": 5}})
        local = self.write_json("etc/opsagent/local.json", {"good": {"list": [7]}})
        js = self.agent_json("attributes", "good", "--json")
        self.assertEqual(js["good.count"], {"value": 5, "origin": stack})
        self.assertEqual(js["good.list"], {"value": [7], "origin": local})
        self.assertEqual(js["good.greeting"]["origin"], "defaults of recipe good")
        r = self.agent("attributes", "good.count")
        self.assertEqual(r.stdout.strip(), "good.count = 5  (%s)" % stack)

    def test_secrets_never_printed_logged_or_recorded(self):
        secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCY"
        self.write_json("etc/opsagent/stack.json",
                        {"good": {"password": secret, "fail": True, "count": 0}}, mode=0o600)
        r = self.agent("attributes")
        self.assertNotIn(secret, r.stdout + r.stderr)
        self.assertIn("good.password = (redacted)", r.stdout)
        r = self.agent("run", "--recipe", "good", "-v")
        self.assertEqual(r.returncode, 1)
        self.assertNotIn(secret, r.stdout + r.stderr)
        self.assertIn("(redacted)", r.stdout + r.stderr)
        for dirpath, _, files in os.walk(self.root):
            for f in files:
                with open(os.path.join(dirpath, f), "rb") as fh:
                    data = fh.read()
                if f != "stack.json":
                    self.assertNotIn(secret.encode(), data, os.path.join(dirpath, f))

    def test_world_readable_secret_file_warned(self):
        p = self.write_json("etc/opsagent/stack.json", {"good": {"password": "hunter22"}}, mode=0o644)
        r = self.agent("attributes", "good.count")
        self.assertIn(p + " holds secrets", r.stderr)
        self.assertIn("chmod 600", r.stderr)

    # --- records, status, history, locking -----------------------------------------------
    def test_status_and_history(self):
        r = self.agent("status")
        self.assertRegex(r.stdout, r"(?m)^RECIPE\s+ENABLED\s+LAST RUN \(UTC\)\s+OUTCOME\s+DURATION\s+ERROR$")
        self.assertRegex(r.stdout, r"(?m)^good\s+not enabled\s+never run$")
        self.agent("run", "--recipe", "good")
        self.write_json("etc/opsagent/stack.json", {"good": {"fail": True}})
        self.agent("run", "--recipe", "good")
        st = {x["recipe"]: x for x in self.agent_json("status", "--json")}
        self.assertEqual(st["good"]["last_run"]["outcome"], "failed")
        self.assertIsNotNone(st["good"]["last_success"])
        self.assertIsNone(st["crash"]["last_run"])
        hist = self.agent_json("history", "--json")
        self.assertEqual([h["outcome"] for h in hist], ["failed", "success"])
        self.assertEqual(hist[1]["metrics"][0]["name"], "Greetings")
        self.assertEqual(hist[1]["metrics"][0]["value"], 2)
        r = self.agent("history")
        self.assertRegex(r.stdout.splitlines()[0], r"^STARTED \(UTC\)\s+RECIPE\s+OUTCOME\s+DURATION\s+ERROR$")
        self.assertIn("told to fail", r.stdout.splitlines()[1])
        # columns aligned to their content: each starts where its header does
        lines = r.stdout.splitlines()
        col = lines[0].index("OUTCOME")
        self.assertEqual([l[col:col + 7] for l in lines[1:]], ["failed ", "success"])
        r = self.agent("history", "--no-header")
        self.assertIn("told to fail", r.stdout.splitlines()[0])
        self.assertEqual(len(self.agent_json("history", "--json", "--limit", "1")), 1)

    def test_status_exit_and_dry_runs(self):
        # A dry run is no outcome; status exits 1 while an enabled recipe's last run failed.
        self.write_json("etc/opsagent/stack.json", {"opsagent": {"recipes": {"good": True}}, "good": {"fail": True}})
        self.agent("run", "--recipe", "good")
        self.write_json("etc/opsagent/stack.json", {"opsagent": {"recipes": {"good": True}}})
        self.agent("run", "--recipe", "good", "--dry-run")
        r = self.agent("status")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertRegex(r.stdout, r"(?m)^good\s+enabled\s+\S+\s+failed\s+.*told to fail")
        self.assertEqual(self.agent("status", "--json").returncode, 1)
        self.write_json("etc/opsagent/stack.json", {"opsagent": {"recipes": {"good": False}}})
        self.assertEqual(self.agent("status").returncode, 0)   # not enabled: not a failure to report
        self.write_json("etc/opsagent/stack.json", {"opsagent": {"recipes": {"good": True}}})
        self.agent("run", "--recipe", "good")
        r = self.agent("status")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stdout, r"(?m)^good\s+enabled\s+\S+\s+success\s")

    def test_log_prints_one_run(self):
        # No journal here: the run record speaks for the run.
        self.write_json("etc/opsagent/stack.json", {"good": {"fail": True, "count": 0}})
        first = self.agent("run", "--recipe", "good")
        self.write_json("etc/opsagent/stack.json", {"good": {"count": 0}})
        self.agent("run", "--recipe", "good")
        short = re.search(r"good: running \(run ([0-9a-f]{8})\)", first.stdout).group(1)
        r = self.agent("log", short)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^-- good, run %s[0-9a-f]{24}, started \S+: failed after " % short)
        self.assertIn("from its run record", r.stdout)
        self.assertIn("error: told to fail", r.stdout)
        r = self.agent("log", "--recipe", "good", "--last")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(": success after", r.stdout)
        self.assertNotIn("told to fail", r.stdout)
        r = self.agent("log", "--recipe", "good")
        self.assertEqual(len(re.findall(r"(?m)^-- good, run ", r.stdout)), 2, r.stdout)
        self.assertLess(r.stdout.index("failed after"), r.stdout.index("success after"))   # oldest first
        r = self.agent("log")
        self.assertIn(": success after", r.stdout)
        self.assertIn("metric Greetings = 0 Count", r.stdout)
        for args, want in ((("log", "0000dead"), "no run 0000dead recorded"),
                           (("log", "--recipe", "goood"), 'unknown recipe "goood" (did you mean good?)'),
                           (("log", short, "--recipe", "good"), "not both")):
            r = self.agent(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(want, r.stderr, args)

    def test_records_are_pruned(self):
        self.write_json("etc/opsagent/stack.json", {"opsagent": {"records": {"keep": 2}}, "good": {"count": 0}})
        for _ in range(4):
            self.agent("run", "--recipe", "good")
        self.assertEqual(len(self.agent_json("history", "--json")), 2)

    def test_second_run_is_refused_with_exit_3(self):
        # The first run hangs far longer than the test takes (it is terminated below), so
        # that the second one finds it still running however slow the machine is.
        self.write_json("etc/opsagent/stack.json", {"crash": {"how": "hang", "time_budget_seconds": 600}})
        argv = [harness.OPSAGENT, "--root", self.root, "run", "--recipe", "crash"]
        first = subprocess.Popen(argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            lock = self.path("run/opsagent/crash.lock")
            self.assertTrue(harness.wait_until(lambda: os.path.exists(lock) and os.path.getsize(lock) > 0),
                            "the first run never took its lock")
            r = self.agent("run", "--recipe", "crash")
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("another run holds the lock (pid %d)" % first.pid, r.stderr)
            r = self.agent("status")
            self.assertRegex(r.stdout, r"(?m)^crash\s+not enabled\s+\S+\s+running\s+.*so far\s+running since "
                             r"\S+ \(pid %d\)$" % first.pid)
            st = {x["recipe"]: x for x in self.agent_json("status", "--json")}
            self.assertEqual(st["crash"]["running"]["pid"], first.pid)
        finally:
            first.terminate()
            first.communicate(timeout=harness.DEADLINE)
        self.assertEqual(first.returncode, 1)
        hist = self.agent_json("history", "--json")
        self.assertEqual(hist[0]["outcome"], "interrupted")

    # --- recover ------------------------------------------------------------------------
    def leftover(self):
        return self.path("var/lib/opsagent/recipes/good/leftover")

    def make_leftover(self):
        os.makedirs(os.path.dirname(self.leftover()), exist_ok=True)
        open(self.leftover(), "w").close()

    def test_recover_undoes_a_leftover_once(self):
        self.make_leftover()
        r = self.agent("recover", "--recipe", "good", "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("would remove the leftover", r.stdout)
        self.assertTrue(os.path.exists(self.leftover()))
        r = self.agent("recover", "--recipe", "good")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("removed the leftover", r.stdout)
        self.assertFalse(os.path.exists(self.leftover()))
        # Nothing left: nothing said, and no run record either time.
        r = self.agent("recover", "--recipe", "good")
        self.assertEqual((r.returncode, r.stdout), (0, ""), r.stderr)
        self.assertEqual(self.agent_json("history", "--json"), [])

    def test_recover_says_what_it_did_with_v(self):
        r = self.agent("recover", "--recipe", "good", "--recipe", "crash", "-v")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("good: running its recover step", r.stderr)
        self.assertIn("good: recover step done (it says what it undid; nothing said: nothing was left over)",
                      r.stderr)
        self.assertIn("crash: nothing to recover: the recipe has no recover step", r.stderr)
        self.make_leftover()
        r = self.agent("recover", "--recipe", "good", "-v")
        self.assertIn("removed the leftover", r.stdout)

    def test_recover_skips_recipes_without_the_step(self):
        # crash.so has a descriptor of the size before recover() existed (and junk beyond it).
        self.make_leftover()
        r = self.agent("recover", "--recipe", "crash")
        self.assertEqual((r.returncode, r.stdout), (0, ""), r.stderr)
        r = self.agent("recover", "--all")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("removed the leftover", r.stdout)
        self.assertNotIn("about to", r.stdout)  # crash's run() was never called

    def test_recover_usage_errors(self):
        for args in (("recover",), ("recover", "--all", "--recipe", "good")):
            r = self.agent(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("--recipe", r.stderr)
        r = self.agent("recover", "--recipe", "nosuch")
        self.assertEqual(r.returncode, 2)
        self.assertIn('unknown recipe "nosuch"', r.stderr)

    def test_recover_waits_for_nobody_while_a_run_holds_the_lock(self):
        import fcntl
        self.make_leftover()
        os.makedirs(self.path("run/opsagent"), exist_ok=True)
        with open(self.path("run/opsagent/good.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            r = self.agent("recover", "--recipe", "good")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("nothing is recovered while it runs", r.stderr)
        self.assertTrue(os.path.exists(self.leftover()))


# Runs "$@" as uid and gid 65534 with no groups, in a private mount namespace, chrooted into a
# tmpfs holding only /usr, /etc, the host's /bin, /sbin, /lib, /lib64 (links or binds) and the
# directories given before "--", each at its own path: on a build machine whose "/" is mode
# 0700 an unprivileged process could not even load its libraries from the real root.
AS_NOBODY = r"""set -e
T=$1; shift
mount -t tmpfs -o mode=0755 opsagent-nonroot "$T"
for d in usr etc; do mkdir "$T/$d"; mount --rbind "/$d" "$T/$d"; done
for d in bin sbin lib lib64; do
    if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$T/$d"
    elif [ -d "/$d" ]; then mkdir "$T/$d"; mount --rbind "/$d" "$T/$d"; fi
done
while [ "$1" != -- ]; do mkdir -p "$T$1"; mount --bind "$1" "$T$1"; shift; done
shift
exec chroot "$T" setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
"""


class NotRoot(harness.AgentTestCase):
    """Issue 21: run as an ordinary user, the commands that read root's files say that the agent
    runs as root, not just "Permission denied"."""
    HINT = "(opsagent runs as root, and its files are root's: run it with sudo)"

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("needs root, to run the agent as another user")
        missing = [t for t in ("unshare", "mount", "chroot", "setpriv") if not shutil.which(t)]
        if missing:
            self.skipTest("needs " + ", ".join(missing) + " (Debian: util-linux, mount, coreutils)")
        self.env["OPSAGENT_PLUGIN_PATH"] = PLUGINS
        r = self.as_nobody("--version", root=False)
        if r.returncode != 0:
            self.skipTest("cannot run the agent as uid 65534 in a private mount namespace: " + r.stderr.strip())

    def as_nobody(self, *args, root=True):
        mnt = os.path.join(self.tmp, "nonroot-fs")
        os.makedirs(mnt, exist_ok=True)
        binds = []
        for d in sorted({os.path.realpath(p) for p in
                         (os.path.dirname(harness.OPSAGENT), harness.BUILDDIR, self.root)}):
            if not any(d == b or d.startswith(b + "/") for b in binds):
                binds.append(d)
        argv = [harness.OPSAGENT] + (["--root", self.root] if root else []) + list(args)
        return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", AS_NOBODY, "sh",
                               mnt] + binds + ["--"] + argv,
                              env=self.env, capture_output=True, text=True, timeout=120)

    def test_history_and_log_of_a_state_directory_only_root_reads(self):
        state = self.path("var/lib/opsagent")
        os.makedirs(state, mode=0o700)                     # var/lib: 0755, as on a host
        r = self.agent("run", "--recipe", "good")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        run_id = re.search(r"good: running \(run ([0-9a-f]{8})\)", r.stdout).group(1)
        os.chown(state, 0, 0)
        os.chmod(state, 0o700)
        # the state directory only root reads: its records cannot be listed; the directory
        # above it only root searches: the state directory cannot be examined (trust is
        # checked first)
        for search_above, says in ((True, "%s: cannot read run records" % state),
                                   (False, "state directory %s: cannot examine it" % state)):
            os.chmod(os.path.dirname(state), 0o755 if search_above else 0o700)
            for args in (("history",), ("history", "--recipe", "good"), ("log",), ("log", "--recipe", "good"),
                         ("log", run_id)):
                with self.subTest(args=args, search_above=search_above):
                    r = self.as_nobody(*args)
                    self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                    self.assertIn(says + ": Permission denied " + self.HINT, r.stderr)
                    r = self.agent(*args)                   # root reads it, and is not told to use sudo
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                    self.assertNotIn("sudo", r.stdout + r.stderr)

    def test_status_of_a_state_directory_only_root_reads(self):
        """status says it cannot read the records, with the hint; it does not say "never run"."""
        state = self.path("var/lib/opsagent")
        os.makedirs(state, mode=0o700)
        r = self.agent("run", "--recipe", "good")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        os.chown(state, 0, 0)
        os.chmod(state, 0o711)           # the records' folder inside it: only root reads it
        os.chmod(os.path.join(state, "runs"), 0o700)
        r = self.as_nobody("status")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("%s: cannot read run records: Permission denied %s" % (state, self.HINT), r.stderr)
        self.assertNotIn("never run", r.stdout)
        r = self.agent("status")          # root reads it, and is not told to use sudo
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("good", r.stdout)
        self.assertNotIn("sudo", r.stdout + r.stderr)


class ShippedRecipes(harness.AgentTestCase):
    """The recipes this tree builds (OPSAGENT_PLUGIN_PATH as make check sets it)."""

    def test_one_version_for_the_agent_and_every_recipe(self):
        version = self.agent("--version", root=False).stdout.split()[1]
        recipes = self.agent_json("recipes", "--json")
        self.assertGreaterEqual(len(recipes), 4)
        self.assertEqual({r["name"]: r["version"] for r in recipes}, {r["name"]: version for r in recipes})

    def test_logrotate_dry_run_says_what_it_looked_for(self):
        # -v on a dry run where nothing matches: each set's patterns, and why a log is left.
        r = self.agent("run", "--recipe", "logrotate", "--dry-run")
        self.assertNotIn("no log matches", r.stdout + r.stderr)
        r = self.agent("run", "--recipe", "logrotate", "--dry-run", "-v")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("set supervisor: no log matches /var/log/supervisor/*.log (missingok)", r.stderr)
        self.write("var/log/supervisor/worker.log", "a line\n")
        r = self.agent("run", "--recipe", "logrotate", "--dry-run", "-vv")
        self.assertIn("set supervisor: /var/log/supervisor/*.log matches 1 file(s)", r.stderr)
        self.assertIn("/var/log/supervisor/worker.log (set supervisor): not rotated: first seen", r.stderr)


if __name__ == "__main__":
    tap.main()
