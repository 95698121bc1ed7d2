# agent/util: buffers, errors, logging, files, paths beneath a directory, time, JSON, the metric model. Depends on
# nothing else of the agent. All but the logging is pure (no output, no global state but
# pathres's note of whether the kernel has openat2) and
# also built into libutil.la, which the recipes link as curl's tool links its curlx files:
# one copy of each helper, inside each plugin (a plugin exports nothing but its descriptor).
noinst_LTLIBRARIES += agent/util/libutil.la
agent_util_libutil_la_SOURCES = \
	agent/util/error.c agent/util/error.h \
	agent/util/buf.c agent/util/buf.h \
	agent/util/fileio.c agent/util/fileio.h \
	agent/util/pathres.c agent/util/pathres.h \
	agent/util/timeutil.c agent/util/timeutil.h \
	agent/util/metric.c agent/util/metric.h \
	agent/util/jsonutil.c agent/util/jsonutil.h
agent_util_libutil_la_LIBADD = $(JSONC_LIBS)
UTIL_LIBS = agent/util/libutil.la

agent_libopsagent_la_SOURCES += agent/util/log.c agent/util/log.h
# What `opsagent configure` records of a change: the agent's only, not the plugins'.
agent_libopsagent_la_SOURCES += agent/util/jsondiff.c agent/util/jsondiff.h
agent_libopsagent_la_LIBADD += $(UTIL_LIBS)

util_unit_tests = tests/unit/test_buf tests/unit/test_jsonutil tests/unit/test_log tests/unit/test_fileio \
	tests/unit/test_metric tests/unit/test_pathres
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
tests_unit_test_pathres_SOURCES = tests/unit/test_pathres.c
tests_unit_test_pathres_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_pathres_LDADD = $(TEST_LDADD)
