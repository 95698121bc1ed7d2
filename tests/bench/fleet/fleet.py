#!/usr/bin/env python3
"""One night of a fleet: N `opsagent run --recipe ebs_snapshots` processes against one
throttling EC2 stand-in (fleet_ec2.py), their starts spread as systemd's RandomizedDelaySec
spreads a timer's (uniform in [0, window)). See tests/bench/fleet/README.md.

    python3 tests/bench/fleet/fleet.py --opsagent BUILD/opsagent --plugin-path DIR[:DIR]
        [--nodes 100,300,1000] [--modes standard,adaptive] [--windows 0,60,300,900,1800,3600]
        [--seed 1] [--json FILE]

Time may be compressed by a factor K (chosen per night, printed): the stand-in's clock and
bucket refill run K times faster than real time, and so do the nodes' clocks and sleeps,
through libfaketime (LD_PRELOAD, FAKETIME="+offset xK"), so that the agent does exactly what
it does in real time, only K times sooner. K = 1 (no libfaketime at all) for short windows.
"""
import argparse
import collections
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fleet_ec2  # noqa: E402  (puts tests/bench on the path)
import fast_aws  # noqa: E402

FAKETIME_LIBS = ("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1",
                 "/usr/local/lib/faketime/libfaketime.so.1")
KEEP = fleet_ec2.WEEK          # keep 7: tonight's makes 8, retention deletes the oldest of each volume
MAX_SPEED = 40.0               # the agent's 5 s connect timeout is then 125 ms of real time


def libfaketime():
    for p in FAKETIME_LIBS:
        if os.path.exists(p):
            return p
    return None


def choose_speed(nodes, window, smoke=False):
    """K: simulated seconds per real second. The window is played in about max(8, N/25) real
    seconds (at most ~25 node starts a real second, which two shared cores keep up with:
    each start costs ~30 ms of CPU, agent and stand-in), never faster than MAX_SPEED."""
    if smoke or window <= 0:
        return 1.0
    target = max(8.0, nodes / 25.0)
    return max(1.0, min(MAX_SPEED, window / target))


class Standin:
    def __init__(self, tmpdir, nodes, speed, epoch, extra=()):
        self.port_file = os.path.join(tmpdir, "fleet_ec2.port")
        self.proc, port = fast_aws.start_child(os.path.join(HERE, "fleet_ec2.py"), self.port_file,
                                               ["--nodes", nodes, "--speed", repr(speed), "--epoch", repr(epoch)] +
                                               list(extra))
        self.url = "http://127.0.0.1:%d" % port

    def report(self):
        with urllib.request.urlopen(self.url + "/_fleet/report", timeout=120) as r:
            return json.load(r)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def base_env(plugin_path):
    """The nodes' environment: nothing of the caller's AWS settings or proxies, no IMDS."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "FAKETIME")) and k != "LD_PRELOAD"
           and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    for k in ("JOURNAL_STREAM", "INVOCATION_ID", "NOTIFY_SOCKET"):
        env.pop(k, None)
    env.update(NO_PROXY="127.0.0.1,localhost", OPSAGENT_PLUGIN_PATH=plugin_path, LC_ALL="C.UTF-8", TZ="UTC",
               AWS_EC2_METADATA_DISABLED="true")
    return env


def night(opsagent, plugin_path, nodes, mode, window, scratch, seed=1, speed=None, log=print, smoke=False,
          standin_args=(), max_attempts=None):
    """Runs one night; returns its figures (a dict)."""
    speed = speed or choose_speed(nodes, window, smoke)
    ft = libfaketime()
    if speed != 1.0 and not ft:
        raise RuntimeError("libfaketime is not installed (apt-get install libfaketime)")
    tmp = tempfile.mkdtemp(prefix="fleet-%d-%s-%d-" % (nodes, mode, window), dir=scratch)
    rng = random.Random("%s/%s/%s/%s" % (seed, nodes, mode, window))
    offsets = [rng.random() * window for _ in range(nodes)]          # RandomizedDelaySec: uniform [0, window)
    epoch = time.time()
    aws = Standin(tmp, nodes, speed, epoch, standin_args)
    env0 = base_env(plugin_path)
    env0.update(AWS_ENDPOINT_URL_EC2=aws.url, AWS_ENDPOINT_URL_CLOUDWATCH=aws.url, AWS_REGION=fleet_ec2.REGION,
                AWS_DEFAULT_REGION=fleet_ec2.REGION, AWS_SECRET_ACCESS_KEY=fleet_ec2.SECRET_ACCESS_KEY,
                AWS_RETRY_MODE=mode, AWS_CONFIG_FILE=os.path.join(tmp, "no-aws-config"),
                AWS_SHARED_CREDENTIALS_FILE=os.path.join(tmp, "no-aws-credentials"))
    if max_attempts:
        env0["AWS_MAX_ATTEMPTS"] = str(max_attempts)      # else the mode's default: 3
    roots = []
    for i in range(nodes):
        root = os.path.join(tmp, "n%04d" % i)
        os.makedirs(os.path.join(root, "etc", "opsagent"))
        with open(os.path.join(root, "etc", "opsagent", "stack.json"), "w") as f:
            json.dump({"aws": {"instance_id": fleet_ec2.instance_id(i)}, "ebs_snapshots": {"keep": KEEP}}, f)
        roots.append(root)
    order = sorted(range(nodes), key=lambda i: offsets[i])
    started, ended, rc, cpu = {}, {}, {}, {}
    pids = {}
    live = [0]
    peak = [0]
    lock = threading.Lock()
    done = threading.Event()

    def reaper():
        while len(ended) < nodes:
            try:
                pid, status, ru = os.wait4(-1, 0)
            except ChildProcessError:
                time.sleep(0.01)
                continue
            i = pids.get(pid)
            if i is None:
                continue
            with lock:
                ended[i] = time.time()
                rc[i] = os.waitstatus_to_exitcode(status)
                cpu[i] = ru.ru_utime + ru.ru_stime
                live[0] -= 1
        done.set()

    t0 = time.time() + 0.2                                           # real time of simulated offset 0
    budget = (window + 2 * 1800 + 120) / speed + 60                  # the recipe's own time budget is 1800 s
    th = threading.Thread(target=reaper, daemon=True)
    th.start()
    try:
        for i in order:
            delay = t0 + offsets[i] / speed - time.time()
            if delay > 0:
                time.sleep(delay)
            env = dict(env0, AWS_ACCESS_KEY_ID=fleet_ec2.key_id(i))
            now = time.time()
            if speed != 1.0:
                # fake(t) = now + off + K (t - now) = epoch + K (t - epoch): the stand-in's clock
                env["LD_PRELOAD"] = ft
                env["FAKETIME"] = "%+.6f x%s" % ((speed - 1.0) * (now - epoch), repr(speed))
            fa = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                  (os.POSIX_SPAWN_OPEN, 1, os.path.join(roots[i], "out.log"), os.O_WRONLY | os.O_CREAT, 0o600),
                  (os.POSIX_SPAWN_DUP2, 1, 2)]
            with lock:
                pid = os.posix_spawn(opsagent, [opsagent, "--root", roots[i], "run", "--recipe", "ebs_snapshots"],
                                     env, file_actions=fa)
                pids[pid] = i
                started[i] = now
                live[0] += 1
                peak[0] = max(peak[0], live[0])
        if not done.wait(max(1.0, t0 + budget - time.time())):
            log("   fleet: nodes still running after the time budget: killing them")
            for pid, i in list(pids.items()):
                if i not in ended:
                    try:
                        os.kill(pid, 9)
                    except ProcessLookupError:
                        pass
            done.wait(30)
        rep = aws.report()
    finally:
        aws.close()
    res = summarize(rep, nodes, mode, window, speed, offsets, started, ended, rc, cpu, roots, peak[0])
    res["node_nights_s"] = [(ended[i] - started[i]) * speed if i in ended else None for i in range(nodes)]
    res["node_calls_s"] = [None if f is None else l - f for f, l in zip(rep["first"], rep["last"])]
    res["wall_s"] = max(ended.values()) - t0 if ended else None
    res["max_attempts"] = max_attempts or 3
    shutil.rmtree(tmp, ignore_errors=True)
    return res


def summarize(rep, nodes, mode, window, speed, offsets, started, ended, rc, cpu, roots, peak):
    calls = [sum(c.values()) for c in rep["calls"]]
    by_action = collections.Counter()
    throttled = collections.Counter()
    for c in rep["calls"]:
        by_action.update(c)
    for t in rep["throttled"]:
        throttled.update(t)
    ok = [i for i in range(nodes) if rc.get(i) == 0]
    nights = [(ended[i] - started[i]) * speed for i in range(nodes) if i in ended]
    reasons = collections.Counter()
    timeouts = 0
    for i in range(nodes):
        try:
            with open(os.path.join(roots[i], "out.log"), errors="replace") as f:
                text = f.read()
        except OSError:
            text = ""
        if "imed out" in text or "imeout" in text:
            timeouts += 1
        if rc.get(i) != 0:
            why = "killed at the time budget" if i not in rc else "exit %s" % rc[i]
            lines = text.splitlines()
            fails = [x for x in lines if "fail" in x.lower()] or [x for x in lines if "RequestLimitExceeded" in x]
            if fails:
                why = fails[0].strip()
            reasons[_shape(why)] += 1
    firsts = [f for f in rep["first"] if f is not None]
    created = sum(rep["created"].values())
    deleted = sum(rep["deleted"].values())
    return {
        "nodes": nodes, "mode": mode, "window": window, "speed": speed,
        "succeeded": len(ok), "failed": nodes - len(ok),
        "calls_mean": statistics.mean(calls) if calls else 0, "calls_max": max(calls) if calls else 0,
        "calls_total": sum(calls), "throttled": sum(throttled.values()),
        "throttled_by_action": dict(throttled), "calls_by_action": dict(by_action),
        "duplicates": rep["duplicates"], "duplicate_run_ids": rep["run_ids"],
        "created": created, "deleted": deleted,
        "longest_night_s": max(nights) if nights else None,
        "median_night_s": statistics.median(nights) if nights else None,
        "first_call_spread_s": (max(firsts) - min(firsts)) if firsts else None,
        "offset_spread_s": (max(offsets) - min(offsets)) if offsets else 0,
        "cpu_per_node_s": statistics.mean(cpu.values()) if cpu else None,
        "peak_live_nodes": peak, "nodes_with_timeouts": timeouts,
        "failure_reasons": dict(reasons.most_common(5)),
        "buckets_left": rep["buckets"],
    }


def _shape(line):
    """A failure line without what differs from node to node (ids, numbers)."""
    import re
    line = re.sub(r"(vol|snap|i)-[0-9a-f]+", r"\1-*", line)
    line = re.sub(r"request id [0-9a-f-]+", "request id *", line)
    line = re.sub(r"\d+(\.\d+)?", "N", line)
    return line[:200]


def table(results):
    head = ("nodes", "retry mode", "window s", "K", "succeeded", "calls/node mean", "max", "throttled",
            "duplicates", "longest night s", "median night s", "first-call spread s")
    rows = [(format(r["nodes"], ","), r["mode"], format(r["window"], ","), "%g" % r["speed"],
             "%d/%d" % (r["succeeded"], r["nodes"]), "%.1f" % r["calls_mean"], str(r["calls_max"]),
             format(r["throttled"], ","), str(r["duplicates"]),
             "%.1f" % r["longest_night_s"] if r["longest_night_s"] is not None else "-",
             "%.2f" % r["median_night_s"] if r.get("median_night_s") is not None else "-",
             "%.0f" % r["first_call_spread_s"] if r["first_call_spread_s"] is not None else "-")
            for r in results]
    w = [max(len(x[i]) for x in rows + [head]) for i in range(len(head))]
    out = ["| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(head)) + " |",
           "|" + "|".join("-" * (x + 2) for x in w) + "|"]
    for x in rows:
        out.append("| " + " | ".join(c.rjust(w[i]) if i != 1 else c.ljust(w[i]) for i, c in enumerate(x)) + " |")
    return "\n".join(out)


def check_clock(opsagent, plugin_path, scratch, speed=20.0, log=print):
    """Shows that libfaketime scales what the agent waits for, not what it does:
    1. retry backoff: CreateSnapshot always throttled (a bucket of 0 tokens), 8 nodes, in real
       time and at K: the simulated time from each node's first call to its last (3 attempts
       per volume, full-jitter backoff of up to 1 s then 2 s) must agree, the real time must
       be K times shorter;
    2. curl's timeout: DescribeInstances answered after 45 simulated seconds (45/K real), more
       than the agent's 30 s transfer timeout: at K the agent must time out (3 attempts, about
       90 simulated seconds) as it would in real time; were curl's timers unscaled, it would
       get the answer after 45/K real seconds and succeed."""
    out = {}
    for k in (1.0, speed):
        r = night(opsagent, plugin_path, 8, "standard", 0, scratch, speed=k, log=log,
                  standin_args=["--bucket", "CreateSnapshot=0:0"])
        spans = [x for x in r["node_calls_s"] if x is not None]
        out["backoff K=%g" % k] = {"sim_s_mean": statistics.mean(spans), "sim_s_max": max(spans),
                                   "real_s": r["wall_s"], "calls": r["calls_by_action"],
                                   "succeeded": r["succeeded"]}
    r = night(opsagent, plugin_path, 2, "standard", 0, scratch, speed=speed, log=log,
              standin_args=["--stall", "DescribeInstances=%r" % (45.0 / speed)])
    out["timeout K=%g" % speed] = {"succeeded": r["succeeded"], "nodes_with_timeouts": r["nodes_with_timeouts"],
                                   "DescribeInstances": r["calls_by_action"].get("DescribeInstances"),
                                   "sim_night_s": r["node_nights_s"], "real_s": r["wall_s"]}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--opsagent", required=True)
    ap.add_argument("--plugin-path", required=True)
    ap.add_argument("--nodes", default="100,300,1000")
    ap.add_argument("--modes", default="standard,adaptive")
    ap.add_argument("--windows", default="0,60,300,900,1800,3600")
    ap.add_argument("--speed", type=float, help="force K (simulated seconds per real second)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-attempts", type=int, help="AWS_MAX_ATTEMPTS for the nodes (default: the mode's, 3)")
    ap.add_argument("--json", help="append each night's figures to this file (JSON lines)")
    ap.add_argument("--check-clock", action="store_true", help="only show that libfaketime scales the "
                    "agent's waits (see check_clock())")
    a = ap.parse_args()
    scratch = tempfile.mkdtemp(prefix="fleet-", dir=os.environ.get("BENCH_DIR", "/var/tmp"))
    if a.check_clock:
        try:
            print(json.dumps(check_clock(os.path.abspath(a.opsagent), a.plugin_path, scratch, a.speed or 20.0),
                             indent=1))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return
    results = []
    try:
        for n in [int(x) for x in a.nodes.split(",")]:
            for w in [int(x) for x in a.windows.split(",")]:
                for m in a.modes.split(","):
                    t = time.time()
                    r = night(os.path.abspath(a.opsagent), a.plugin_path, n, m, w, scratch, a.seed, a.speed,
                              log=lambda *x: print(*x, file=sys.stderr), max_attempts=a.max_attempts)
                    r["real_s"] = time.time() - t
                    results.append(r)
                    brief = {k: v for k, v in r.items() if not k.startswith("node_")}
                    print(json.dumps(brief), file=sys.stderr, flush=True)
                    if a.json:
                        with open(a.json, "a") as f:
                            f.write(json.dumps(brief) + "\n")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(table(results))


if __name__ == "__main__":
    main()
