# recipes/logrotate: plugin, tests and data rules (filled by its issue).
