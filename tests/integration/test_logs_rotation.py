#!/usr/bin/env python3
"""The log shipper through rotation (opsagent's reopen and copytruncate, logrotate 3.21's create
and copytruncate) with kill -9 at random points. The tests are test_logs.py's
(class RotationKill9); they run from this file so that make -j runs them beside the rest of the suite."""
import tap
from test_logs import RotationKill9  # noqa: F401  (the tests of this file)

if __name__ == "__main__":
    tap.main()
