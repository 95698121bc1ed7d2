"""The registry of benchmark modules: tests/bench/run runs them in this order.

Each module is one benchmark, a file beside this one, that exports
    TITLE = "what it compares"
    def rows(ctx):  # ctx: benchlib.Context (sizes, runs, the built tree, a scratch dir)
        yield benchlib.Row(...) or benchlib.Detail(...)
A module that cannot run here raises benchlib.Skip("why") (a missing tool, say); the runner
then prints one skipped row with that reason. To add a benchmark, add its module name here.
"""
MODULES = [
    "ebs_night",         # one ebs_snapshots night vs the AWS CLI script; the library floor
    "retention",         # retention over 100 .. 100,000 snapshots of one volume
    "logrotate_big",     # a 1 GiB access log: opsagent's modes vs logrotate + gzip, zstd, pigz
    "copytruncate",      # copytruncate with a writer at full speed
    "small_logs",        # 10 .. 5,000 small logs vs logrotate + gzip
    "zodb_pack",         # zodb_pack vs a zeopack client against the ZEO stand-in
    "report_spool",      # opsagent report draining 10,000 spooled datapoints
    "startup",           # recipes / attributes / status with 1,000 run records
    "fleet",             # the fleet night: N nodes against EC2's documented request throttling
    "log_shipper",       # the log shipper: 1 GiB to CloudWatch Logs, write-to-accept latency
    "profile_run_all",   # callgrind of a full `run --all` against the stand-ins
]
