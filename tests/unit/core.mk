# Unit tests of the core modules (cmocka), and the test plugins the loader and runner tests use.
core_unit_tests = tests/unit/test_buf tests/unit/test_jsonutil tests/unit/test_attrs tests/unit/test_schema \
	tests/unit/test_cli tests/unit/test_plugin tests/unit/test_log tests/unit/test_fileio \
	tests/unit/test_ctx tests/unit/test_metric tests/unit/test_events
check_PROGRAMS += $(core_unit_tests)
TESTS += $(core_unit_tests)

tests_unit_test_buf_SOURCES = tests/unit/test_buf.c
tests_unit_test_buf_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_buf_LDADD = $(TEST_LDADD)
tests_unit_test_jsonutil_SOURCES = tests/unit/test_jsonutil.c
tests_unit_test_jsonutil_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_jsonutil_LDADD = $(TEST_LDADD)
tests_unit_test_attrs_SOURCES = tests/unit/test_attrs.c
tests_unit_test_attrs_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_attrs_LDADD = $(TEST_LDADD)
tests_unit_test_schema_SOURCES = tests/unit/test_schema.c
tests_unit_test_schema_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_schema_LDADD = $(TEST_LDADD)
tests_unit_test_cli_SOURCES = tests/unit/test_cli.c
tests_unit_test_cli_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cli_LDADD = $(TEST_LDADD)
tests_unit_test_plugin_SOURCES = tests/unit/test_plugin.c
tests_unit_test_plugin_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_plugin_LDADD = $(TEST_LDADD)
tests_unit_test_log_SOURCES = tests/unit/test_log.c
tests_unit_test_log_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_log_LDADD = $(TEST_LDADD)
tests_unit_test_fileio_SOURCES = tests/unit/test_fileio.c
tests_unit_test_fileio_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_fileio_LDADD = $(TEST_LDADD)
tests_unit_test_metric_SOURCES = tests/unit/test_metric.c
tests_unit_test_metric_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_metric_LDADD = $(TEST_LDADD) -lm
tests_unit_test_events_SOURCES = tests/unit/test_events.c
tests_unit_test_events_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_events_LDADD = $(TEST_LDADD)
tests_unit_test_ctx_SOURCES = tests/unit/test_ctx.c
tests_unit_test_ctx_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_ctx_LDADD = $(TEST_LDADD)

# Test plugins: one well-behaved, one that crashes on demand, and three the loader must refuse.
test_plugin_flags = -module -avoid-version -shared -rpath /nowhere
check_LTLIBRARIES += tests/unit/plugins/good.la tests/unit/plugins/crash.la tests/unit/plugins/wrong_abi.la \
	tests/unit/plugins/no_symbol.la tests/unit/plugins/bad_defaults.la
tests_unit_plugins_good_la_SOURCES = tests/unit/plugins/good.c
tests_unit_plugins_good_la_LDFLAGS = $(test_plugin_flags)
tests_unit_plugins_good_la_LIBADD = $(JSONC_LIBS)
tests_unit_plugins_crash_la_SOURCES = tests/unit/plugins/crash.c
tests_unit_plugins_crash_la_LDFLAGS = $(test_plugin_flags)
tests_unit_plugins_crash_la_LIBADD = $(JSONC_LIBS)
tests_unit_plugins_wrong_abi_la_SOURCES = tests/unit/plugins/wrong_abi.c
tests_unit_plugins_wrong_abi_la_LDFLAGS = $(test_plugin_flags)
tests_unit_plugins_no_symbol_la_SOURCES = tests/unit/plugins/no_symbol.c
tests_unit_plugins_no_symbol_la_LDFLAGS = $(test_plugin_flags)
tests_unit_plugins_bad_defaults_la_SOURCES = tests/unit/plugins/bad_defaults.c
tests_unit_plugins_bad_defaults_la_LDFLAGS = $(test_plugin_flags)
EXTRA_DIST += tests/unit/testdir.h
