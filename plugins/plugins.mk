# The example plugin is built out of tree against the installed SDK (see plugins/example).
EXTRA_DIST += plugins/example/Makefile plugins/example/hello.c plugins/example/README.md plugins/example/ci-check
