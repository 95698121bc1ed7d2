# agent/report: health reporting to CloudWatch. Run metrics, the heartbeat with host metrics,
# the offline spool; their unit and integration tests; the alarms example.
agent_libopsagent_la_SOURCES += \
	agent/report/spool.c agent/report/spool.h \
	agent/report/hostmetrics.c agent/report/hostmetrics.h \
	agent/report/report_config.c agent/report/report_config.h \
	agent/report/report_build.c agent/report/report_build.h \
	agent/report/report_deliver.c agent/report/report_deliver.h \
	agent/report/report_sender.c agent/report/report_sender.h \
	agent/report/report.c agent/report/report.h

report_unit_tests = tests/unit/test_spool tests/unit/test_hostmetrics \
	tests/unit/test_report
check_PROGRAMS += $(report_unit_tests)
TESTS += $(report_unit_tests)

tests_unit_test_spool_SOURCES = tests/unit/test_spool.c
tests_unit_test_spool_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_spool_LDADD = $(TEST_LDADD) $(JSONC_LIBS)

tests_unit_test_hostmetrics_SOURCES = tests/unit/test_hostmetrics.c
tests_unit_test_hostmetrics_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_hostmetrics_LDADD = $(TEST_LDADD) -lm

tests_unit_test_report_SOURCES = tests/unit/test_report.c
tests_unit_test_report_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_report_LDADD = $(TEST_LDADD) $(JSONC_LIBS) -lm

# Integration tests (against the built opsagent and the AWS stand-in) and the alarms example.
# report_probe is a recipe that puts as many metrics as it is told (for batching).
check_LTLIBRARIES += tests/integration/plugins/report_probe.la
tests_integration_plugins_report_probe_la_SOURCES = tests/integration/plugins/report_probe.c
tests_integration_plugins_report_probe_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_integration_plugins_report_probe_la_LIBADD = $(JSONC_LIBS)

report_integration_tests = tests/integration/test_report_alarms.py tests/integration/test_report.py \
	tests/integration/test_report_spool.py
TESTS += $(report_integration_tests)
EXTRA_DIST += $(report_integration_tests) tests/integration/report_common.py \
	packaging/cloudwatch-alarms.yaml

# Benchmark of the spool (built with the tests, never run by make check).
check_PROGRAMS += tests/bench/bench_spool
tests_bench_bench_spool_SOURCES = tests/bench/bench_spool.c
tests_bench_bench_spool_CFLAGS = $(AM_CFLAGS)
tests_bench_bench_spool_LDADD = agent/libopsagent.la
