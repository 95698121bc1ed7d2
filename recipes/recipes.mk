# One line per recipe; each recipe's own rules (plugin, defaults, tests) live beside it.
include recipes/ebs_snapshots/ebs_snapshots.mk
include recipes/logrotate/logrotate.mk
include recipes/zodb_pack/zodb_pack.mk
include recipes/unattended_upgrades/unattended_upgrades.mk
