# recipes/ebs_snapshots: plugin, tests and data rules (filled by its issue).
