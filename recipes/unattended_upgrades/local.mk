# recipes/unattended_upgrades: plugin, tests and data rules (filled by its issue).
