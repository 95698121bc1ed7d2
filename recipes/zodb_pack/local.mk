# recipes/zodb_pack: plugin, tests and data rules (filled by its issue).
