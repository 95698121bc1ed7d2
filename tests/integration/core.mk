# Integration tests of the core: the built opsagent in a fresh sandbox per test.
TESTS += tests/integration/test_core.py
EXTRA_DIST += tests/integration/test_core.py
