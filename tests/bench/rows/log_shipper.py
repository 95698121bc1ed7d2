"""Hook for the log shipper: shipping rotated logs, against the tool it replaces.

Not built yet. Whoever builds it: make rows() yield benchlib.Row(GROUP, work, measure,
opsagent_figure, alternative_figure, alternative_name, unit, runs=ctx.runs) for each figure,
with the alternative run in the same invocation on the same input (see ebs_night.py), and
sizes that shrink under ctx.smoke. While it yields nothing, the runner lists it as pending."""

TITLE = "log shipper (pending)"
GROUP = "log shipper"
PENDING = "not built yet: tests/bench/rows/log_shipper.py"


def rows(ctx):
    return []
