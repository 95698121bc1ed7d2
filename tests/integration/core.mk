# Integration tests of the core: the built opsagent in a fresh sandbox per test.
