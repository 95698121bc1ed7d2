#!/usr/bin/env python3
"""Benchmark (not a test): the same night, 5 volumes with 6 older snapshots each, keep 3, done
by night.sh (AWS CLI) and by `opsagent run --recipe ebs_snapshots`, each against a fresh AWS
stand-in seeded identically. Prints CPU seconds (user+sys) and peak RSS of each, measured by
/usr/bin/time -v, side by side.

    python3 tests/bench/ebs_snapshots/compare.py [--runs N]

OPSAGENT (default: ./opsagent of the build tree) and OPSAGENT_PLUGIN_PATH must point at the
built agent and recipes, as in `make check`."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests"))
from standin.aws_standin import AwsStandin  # noqa: E402

VOLUMES = 5
OLD = 6
KEEP = 3
DAY = 86400


def seed(aws):
    now = time.time()
    for v in aws.volume_ids:
        for n in range(1, OLD + 1):
            aws.seed_snapshot(volume_id=v, tags={"opsagent:managed": "true"}, start_time=now - n * DAY)
        aws.seed_snapshot(volume_id=v, start_time=now - 30 * DAY)   # a manual one, which stays


def timed(argv, env):
    """(CPU seconds, peak RSS KiB, CompletedProcess) of ARGV under /usr/bin/time -v."""
    with tempfile.NamedTemporaryFile("r") as report:
        p = subprocess.run(["/usr/bin/time", "-v", "-o", report.name] + argv, env=env,
                           capture_output=True, text=True)
        text = report.read()
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1))
    sys_ = float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return user + sys_, rss, p


def check(aws, who, p):
    if p.returncode != 0:
        sys.exit("%s failed (%d):\n%s\n%s" % (who, p.returncode, p.stdout, p.stderr))
    ours = [s for s in aws.snapshots()
            if any(t["Key"] == "opsagent:managed" and t["Value"] == "true" for t in s.get("Tags", []))]
    for v in aws.volume_ids:
        n = sum(1 for s in ours if s["VolumeId"] == v)
        if n != KEEP:
            sys.exit("%s left %d snapshots of %s, not %d:\n%s" % (who, n, v, KEEP, p.stdout))


def one_run(which):
    with AwsStandin(n_volumes=VOLUMES) as aws:
        seed(aws)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(aws.env())
        if which == "cli":
            env.pop("AWS_EC2_METADATA_SERVICE_ENDPOINT", None)
            env["AWS_EC2_METADATA_DISABLED"] = "true"
            cpu, rss, p = timed([os.path.join(HERE, "night.sh"), aws.instance_id, str(KEEP)], env)
        else:
            root = tempfile.mkdtemp(prefix="opsagent-bench-")
            try:
                os.makedirs(os.path.join(root, "etc", "opsagent"))
                with open(os.path.join(root, "etc", "opsagent", "stack.json"), "w") as f:
                    json.dump({"ebs_snapshots": {"keep": KEEP}}, f)
                agent = os.environ.get("OPSAGENT", os.path.join(TOP, "opsagent"))
                cpu, rss, p = timed([agent, "--root", root, "run", "--recipe", "ebs_snapshots"], env)
            finally:
                shutil.rmtree(root, ignore_errors=True)
        check(aws, which, p)
        return cpu, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="runs of each; the median is shown")
    a = ap.parse_args()
    os.environ.setdefault("OPSAGENT_PLUGIN_PATH", os.path.join(TOP, "recipes", "ebs_snapshots", ".libs"))
    res = {}
    for which in ("cli", "opsagent"):
        runs = sorted(one_run(which) for _ in range(a.runs))
        cpus = sorted(r[0] for r in runs)
        rsss = sorted(r[1] for r in runs)
        res[which] = (cpus[len(cpus) // 2], rsss[len(rsss) // 2])
    (ccpu, crss), (ocpu, orss) = res["cli"], res["opsagent"]
    print("one night, %d volumes, %d older snapshots each, keep %d (median of %d runs)" % (VOLUMES, OLD, KEEP, a.runs))
    print("%-28s %14s %16s" % ("", "CPU seconds", "peak RSS (KiB)"))
    print("%-28s %14.3f %16d" % ("shell script + AWS CLI", ccpu, crss))
    print("%-28s %14.3f %16d" % ("opsagent run", ocpu, orss))
    print("%-28s %13.0fx %15.0fx" % ("opsagent is better by", ccpu / max(ocpu, 0.001), crss / max(orss, 1)))
    floor = os.environ.get("LIBS_FLOOR", os.path.join(TOP, "tests", "bench", "libs_floor"))
    if not os.access(floor, os.X_OK):
        print("(no %s: run `make check` or `make tests/bench/libs_floor` for the memory floor)" % floor)
        return
    print()
    print("memory floor: the agent's libraries in a program that does nothing else (%s)" % os.path.relpath(floor))
    for mode, what in (("load", "loaded only"), ("init", "loaded, curl + OpenSSL initialised, one HMAC")):
        rsss = []
        for _ in range(a.runs):
            _, rss, p = timed([floor, mode], os.environ.copy())
            if p.returncode != 0:
                sys.exit("%s %s failed (%d):\n%s" % (floor, mode, p.returncode, p.stderr))
            rsss.append(rss)
        rsss.sort()
        rss = rsss[len(rsss) // 2]
        print("%-46s %14d   script / this = %.1fx" % (what, rss, crss / max(rss, 1)))
    print("%-46s %14d" % ("10x less than the script would be at most", crss // 10))


if __name__ == "__main__":
    main()
