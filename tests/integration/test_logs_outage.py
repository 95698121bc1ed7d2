#!/usr/bin/env python3
"""The log shipper through CloudWatch Logs outages, throttling and the disk buffer's bound. The tests are test_logs.py's
(class Outage); they run from this file so that make -j runs them beside the rest of the suite."""
import tap
from test_logs import Outage  # noqa: F401  (the tests of this file)

if __name__ == "__main__":
    tap.main()
