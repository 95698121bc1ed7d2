# Test plugins the loader, runner and command tests use (the unit tests themselves are listed
# in the fragment of the folder their module lives in).
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
