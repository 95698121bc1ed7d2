# Test harness. C tests are cmocka programs printing TAP; Python tests (integration, run
# against the built opsagent and the local stand-ins) print TAP through tests/tap.py.
# Every test gets a fresh temporary directory from its own fixture.
TEST_EXTENSIONS = .py
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
PY_LOG_DRIVER = $(LOG_DRIVER)
PY_LOG_COMPILER = $(PYTHON) -B

AM_TESTS_ENVIRONMENT = \
	export CMOCKA_MESSAGE_OUTPUT=TAP; \
	export abs_top_srcdir='$(abs_top_srcdir)'; \
	export abs_top_builddir='$(abs_top_builddir)'; \
	export OPSAGENT='$(abs_top_builddir)/opsagent'; \
	export OPSAGENT_PLUGIN_PATH="$$(echo $(RECIPE_BUILD_DIRS) | tr ' ' ':')"; \
	export OPSAGENT_TEST_PLUGIN_DIR='$(abs_top_builddir)/tests/unit/plugins/.libs'; \
	export PYTHON='$(PYTHON)'; \
	export PYTHONDONTWRITEBYTECODE=1; \
	export PYTHONPATH='$(abs_top_srcdir)/tests'; \
	export LC_ALL=C.UTF-8; \
	export AWS_CONFIG_FILE=/nonexistent/opsagent-tests/config; \
	export AWS_SHARED_CREDENTIALS_FILE=/nonexistent/opsagent-tests/credentials;

# Unit tests link the core library; cmocka provides the runner.
TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -DTEST_DATA_DIR=\"$(abs_top_srcdir)/tests/data\"
TEST_LDADD = agent/libopsagent.la $(CMOCKA_LIBS)

EXTRA_DIST += tests/tap.py tests/harness.py tests/README.md

include tests/unit/unit.mk

# The log shipper (issue 19): `opsagent logs` against the stand-in, its journal source, and the
# CloudWatch Logs example (packaging/cloudwatch-logs.yaml).
logs_shipper_tests = tests/integration/test_logs.py tests/integration/test_logs_journal.py \
	tests/integration/test_logs_alarms.py
TESTS += $(logs_shipper_tests)
EXTRA_DIST += $(logs_shipper_tests) tests/integration/logs_common.py tests/integration/cfn_common.py \
	tests/integration/test_logs_rotation.py tests/integration/test_logs_outage.py
include tests/fuzz/fuzz.mk

# The shape of the tree: no include up a layer, none across to a peer, no cycle
# (docs/internals.md).
TESTS += tests/tools/check_layers.py
EXTRA_DIST += tests/tools/check_layers.py

EXTRA_DIST += tests/demo/run tests/demo/parts/10-aws.sh

# For the demo script: the directories holding the built recipe plugins.
print-recipe-dirs:
	@echo '$(RECIPE_BUILD_DIRS)' | tr ' ' ':'
.PHONY: print-recipe-dirs
