#!/usr/bin/env python3
"""Writes the recorded ZEO frames (tests/data/zeo/*.jsonl) as a libFuzzer seed corpus."""
import glob
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
n = 0
for path in sorted(glob.glob(os.path.join(here, "..", "data", "zeo", "*.jsonl"))):
    with open(path) as f:
        for line in f:
            data = bytes.fromhex(json.loads(line)["frame_hex"])
            if len(data) > 2:
                with open(os.path.join(out, "seed-%02d" % n), "wb") as g:
                    g.write(data)
                n += 1
print("%d seeds in %s" % (n, out))
