#!/bin/sh
# The log shipper's benchmark: the runner's log_shipper row (tests/bench/logs/README.md).
exec "$(dirname "$0")/../run" --only log_shipper "$@"
