# recipes/ebs_snapshots: nightly EBS snapshots with retention (issue 4).
# The plugin is built from small modules; the pure ones are unit-tested on their own.
ebs_snapshots_modules = \
	recipes/ebs_snapshots/retention.c recipes/ebs_snapshots/retention.h

plugin_LTLIBRARIES += recipes/ebs_snapshots/ebs_snapshots.la
recipes_ebs_snapshots_ebs_snapshots_la_SOURCES = $(ebs_snapshots_modules) \
	recipes/ebs_snapshots/ebs_snapshots.c
recipes_ebs_snapshots_ebs_snapshots_la_CFLAGS = $(AM_CFLAGS)
recipes_ebs_snapshots_ebs_snapshots_la_LDFLAGS = $(recipe_module_flags)
recipes_ebs_snapshots_ebs_snapshots_la_LIBADD = $(JSONC_LIBS)
RECIPE_BUILD_DIRS += $(abs_top_builddir)/recipes/ebs_snapshots/.libs

# Unit tests: one binary per module, built from the module's own sources.
EBS_TEST_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/recipes/ebs_snapshots
ebs_unit_tests = tests/unit/test_ebs_retention
check_PROGRAMS += $(ebs_unit_tests)
TESTS += $(ebs_unit_tests)

tests_unit_test_ebs_retention_SOURCES = tests/unit/test_ebs_retention.c \
	recipes/ebs_snapshots/retention.c recipes/ebs_snapshots/retention.h
tests_unit_test_ebs_retention_CFLAGS = $(EBS_TEST_CFLAGS)
tests_unit_test_ebs_retention_LDADD = $(CMOCKA_LIBS) $(JSONC_LIBS)
