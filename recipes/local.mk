# One line per recipe; each recipe's own rules (plugin, defaults, tests) live beside it.
include recipes/ebs_snapshots/local.mk
include recipes/logrotate/local.mk
include recipes/zodb_pack/local.mk
include recipes/unattended_upgrades/local.mk
