# agent/util: buffers, errors, logging, files, time, JSON, the metric model. Depends on
# nothing else of the agent; the recipes may link its pure helpers too.
agent_libopsagent_la_SOURCES += \
	agent/util/error.c agent/util/error.h \
	agent/util/buf.c agent/util/buf.h \
	agent/util/fileio.c agent/util/fileio.h \
	agent/util/log.c agent/util/log.h \
	agent/util/timeutil.c agent/util/timeutil.h \
	agent/util/metric.c agent/util/metric.h \
	agent/util/jsonutil.c agent/util/jsonutil.h

util_unit_tests = tests/unit/test_buf tests/unit/test_jsonutil tests/unit/test_log tests/unit/test_fileio \
	tests/unit/test_metric
check_PROGRAMS += $(util_unit_tests)
TESTS += $(util_unit_tests)

tests_unit_test_buf_SOURCES = tests/unit/test_buf.c
tests_unit_test_buf_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_buf_LDADD = $(TEST_LDADD)
tests_unit_test_jsonutil_SOURCES = tests/unit/test_jsonutil.c
tests_unit_test_jsonutil_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_jsonutil_LDADD = $(TEST_LDADD)
tests_unit_test_log_SOURCES = tests/unit/test_log.c
tests_unit_test_log_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_log_LDADD = $(TEST_LDADD)
tests_unit_test_fileio_SOURCES = tests/unit/test_fileio.c
tests_unit_test_fileio_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_fileio_LDADD = $(TEST_LDADD)
tests_unit_test_metric_SOURCES = tests/unit/test_metric.c
tests_unit_test_metric_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_metric_LDADD = $(TEST_LDADD) -lm
