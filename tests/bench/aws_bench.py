#!/usr/bin/env python3
"""AWS access benchmarks (not run by make check): how fast a machine off EC2 learns it (the
issue's bound is 1.5 s), and call latency/throughput against the local stand-in.

    abs_top_builddir=$PWD python3 tests/bench/aws_bench.py
"""
import os
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from aws_common import AwsStandin, run_tool  # noqa: E402


def timed(fn, n):
    t = []
    for _ in range(n):
        s = time.monotonic()
        fn()
        t.append(time.monotonic() - s)
    return t


def main():
    with AwsStandin() as aws:
        with socket.socket() as black_hole:
            black_hole.bind(("127.0.0.1", 0))
            black_hole.listen(64)
            ep = "http://127.0.0.1:%d" % black_hole.getsockname()[1]
            t = timed(lambda: run_tool(aws, "facts", AWS_EC2_METADATA_SERVICE_ENDPOINT=ep), 5)
            print("off EC2 (IMDS black hole), facts fail after: median %.2f s, max %.2f s (bound 1.5 s)"
                  % (statistics.median(t), max(t)))
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            ep = "http://127.0.0.1:%d" % closed.getsockname()[1]
        t = timed(lambda: run_tool(aws, "facts", AWS_EC2_METADATA_SERVICE_ENDPOINT=ep), 5)
        print("off EC2 (connection refused), facts fail after: median %.2f s" % statistics.median(t))
        t = timed(lambda: run_tool(aws, "describe-volumes"), 10)
        print("DescribeVolumes via the stand-in (process start included): median %.3f s" % statistics.median(t))
        vols = aws.volume_ids * 4
        t = timed(lambda: run_tool(aws, "create-snapshot", *vols), 3)
        print("%d CreateSnapshot calls fanned out (4 at once): median %.3f s" % (len(vols), statistics.median(t)))
        t = timed(lambda: run_tool(aws, "put-metrics", 1000), 3)
        print("PutMetricData of 1000 datums (gzip): median %.3f s" % statistics.median(t))


if __name__ == "__main__":
    main()
