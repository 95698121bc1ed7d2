#!/usr/bin/env python3
"""Benchmark (not run by make check): one `opsagent run --recipe zodb_pack` through the ZEO
stand-in, measured with /usr/bin/time -v: the client's CPU time (user+sys), wall time and peak
RSS. With --flood N the stand-in sends N invalidateTransaction messages during the pack, which
measures the client's per-message cost.

    tests/bench/bench_zodb_pack.py [--flood 100000] [--unix] [--opsagent ./opsagent]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "zeo"))
import zeo_standin  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--opsagent", default=os.environ.get("OPSAGENT", os.path.join(SRC, "opsagent")))
    ap.add_argument("--plugin-path", default=os.environ.get("OPSAGENT_PLUGIN_PATH",
                                                             os.path.join(SRC, "recipes", "zodb_pack", ".libs")))
    ap.add_argument("--flood", type=int, default=0)
    ap.add_argument("--unix", action="store_true")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="zodb-pack-bench-")
    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "etc", "opsagent"))
    os.makedirs(os.path.join(root, "run"))
    args = ["--flood", str(a.flood)] if a.flood else []
    try:
        if a.unix:
            z = zeo_standin.Process(args, unix=os.path.join(root, "run", "zeo.sock"))
            address = "/run/zeo.sock"
        else:
            z = zeo_standin.Process(args)
            address = z.address
        with z:
            with open(os.path.join(root, "etc", "opsagent", "stack.json"), "w") as f:
                json.dump({"zodb_pack": {"servers": [{"address": address, "storages": ["1"]}]}}, f)
            env = dict(os.environ, OPSAGENT_PLUGIN_PATH=a.plugin_path, AWS_EC2_METADATA_DISABLED="true")
            r = subprocess.run(["/usr/bin/time", "-v", a.opsagent, "--root", root, "run", "--recipe", "zodb_pack"],
                               env=env, capture_output=True, text=True)
        print(r.stdout, end="")
        stats = dict(re.findall(r"^\s*(.+?): (.+)$", r.stderr, re.M))
        user = float(stats.get("User time (seconds)", "nan"))
        sys_ = float(stats.get("System time (seconds)", "nan"))
        print("exit %d; transport %s; flood %d messages" % (r.returncode, "unix" if a.unix else "tcp", a.flood))
        print("client CPU %.3f s (user %.3f, sys %.3f); wall %s; max RSS %s KiB"
              % (user + sys_, user, sys_, stats.get("Elapsed (wall clock) time (h:mm:ss or m:ss)"),
                 stats.get("Maximum resident set size (kbytes)")))
        if r.returncode != 0:
            print(r.stderr, file=sys.stderr)
        return r.returncode
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
