# recipes/ebs_snapshots: nightly EBS snapshots with retention (issue 4).
# The plugin is built from small modules; the pure ones are unit-tested on their own.
ebs_snapshots_modules = \
	recipes/ebs_snapshots/ebs_retention.c recipes/ebs_snapshots/ebs_retention.h \
	recipes/ebs_snapshots/ebs_settings.c recipes/ebs_snapshots/ebs_settings.h \
	recipes/ebs_snapshots/ebs_volumes.c recipes/ebs_snapshots/ebs_volumes.h \
	recipes/ebs_snapshots/ebs_devmap.c recipes/ebs_snapshots/ebs_devmap.h \
	recipes/ebs_snapshots/ebs_freeze.c recipes/ebs_snapshots/ebs_freeze.h

plugin_LTLIBRARIES += recipes/ebs_snapshots/ebs_snapshots.la
recipes_ebs_snapshots_ebs_snapshots_la_SOURCES = $(ebs_snapshots_modules) \
	recipes/ebs_snapshots/ebs_snapshots.c
recipes_ebs_snapshots_ebs_snapshots_la_CFLAGS = $(AM_CFLAGS)
recipes_ebs_snapshots_ebs_snapshots_la_LDFLAGS = $(recipe_module_flags)
recipes_ebs_snapshots_ebs_snapshots_la_LIBADD = $(UTIL_LIBS) $(JSONC_LIBS)
RECIPE_BUILD_DIRS += $(abs_top_builddir)/recipes/ebs_snapshots/.libs

# Unit tests: one binary per module, built from the module's own sources.
EBS_TEST_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/recipes/ebs_snapshots
ebs_unit_tests = tests/unit/test_ebs_retention tests/unit/test_ebs_settings \
	tests/unit/test_ebs_devmap tests/unit/test_ebs_freeze tests/unit/test_ebs_run
check_PROGRAMS += $(ebs_unit_tests)
TESTS += $(ebs_unit_tests)

tests_unit_test_ebs_retention_SOURCES = tests/unit/test_ebs_retention.c \
	recipes/ebs_snapshots/ebs_retention.c recipes/ebs_snapshots/ebs_retention.h
tests_unit_test_ebs_retention_CFLAGS = $(EBS_TEST_CFLAGS)
tests_unit_test_ebs_retention_LDADD = $(CMOCKA_LIBS) $(JSONC_LIBS)

tests_unit_test_ebs_settings_SOURCES = tests/unit/test_ebs_settings.c \
	recipes/ebs_snapshots/ebs_settings.c recipes/ebs_snapshots/ebs_settings.h \
	recipes/ebs_snapshots/ebs_volumes.c recipes/ebs_snapshots/ebs_volumes.h
tests_unit_test_ebs_settings_CFLAGS = $(EBS_TEST_CFLAGS)
tests_unit_test_ebs_settings_LDADD = $(CMOCKA_LIBS) $(JSONC_LIBS)

tests_unit_test_ebs_devmap_SOURCES = tests/unit/test_ebs_devmap.c \
	recipes/ebs_snapshots/ebs_devmap.c recipes/ebs_snapshots/ebs_devmap.h
tests_unit_test_ebs_devmap_CFLAGS = $(EBS_TEST_CFLAGS)
tests_unit_test_ebs_devmap_LDADD = $(UTIL_LIBS) $(CMOCKA_LIBS)

# Freezes a loop-mounted ext4 image when run as root with loop devices; says SKIP otherwise.
tests_unit_test_ebs_freeze_SOURCES = tests/unit/test_ebs_freeze.c \
	recipes/ebs_snapshots/ebs_freeze.c recipes/ebs_snapshots/ebs_freeze.h
tests_unit_test_ebs_freeze_CFLAGS = $(EBS_TEST_CFLAGS)
tests_unit_test_ebs_freeze_LDADD = $(UTIL_LIBS) $(CMOCKA_LIBS) $(JSONC_LIBS)

# run() against a fake context and an in-memory EC2.
tests_unit_test_ebs_run_SOURCES = tests/unit/test_ebs_run.c $(ebs_snapshots_modules) \
	recipes/ebs_snapshots/ebs_snapshots.c
tests_unit_test_ebs_run_CFLAGS = $(EBS_TEST_CFLAGS)
tests_unit_test_ebs_run_LDADD = $(UTIL_LIBS) $(CMOCKA_LIBS) $(JSONC_LIBS)

# Integration tests: the built opsagent against the AWS stand-in (and a loop-mounted image
# for freeze, when this machine allows it).
ebs_integration_tests = tests/integration/test_ebs_snapshots.py
TESTS += $(ebs_integration_tests)
EXTRA_DIST += $(ebs_integration_tests)

# Benchmarks (not run by make check): tests/bench/ebs_snapshots/compare.py (a night against the
# AWS CLI script), retention.py (retention over 100 .. 100,000 snapshots, with fast_ec2.py)
EXTRA_DIST += tests/bench/ebs_snapshots/compare.py tests/bench/ebs_snapshots/night.sh \
	tests/bench/ebs_snapshots/README.md tests/bench/ebs_snapshots/retention.py \
	tests/bench/ebs_snapshots/fast_ec2.py

# Its memory floor: the agent's libraries loaded (and initialised) by a program doing nothing
# else. Built with the tests so that the benchmark measures the libraries this build uses.
check_PROGRAMS += tests/bench/libs_floor
tests_bench_libs_floor_SOURCES = tests/bench/libs_floor.c
tests_bench_libs_floor_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS) $(SYSTEMD_CFLAGS) \
	$(CRYPTO_CFLAGS) $(EXPAT_CFLAGS) $(ZLIB_CFLAGS)
tests_bench_libs_floor_LDADD = $(CURL_LIBS) $(JSONC_LIBS) $(SYSTEMD_LIBS) $(CRYPTO_LIBS) $(EXPAT_LIBS) \
	$(ZLIB_LIBS)

# Its part of the demo (tests/demo/run sources every tests/demo/parts/*.sh).
EXTRA_DIST += tests/demo/parts/ebs_snapshots.sh recipes/ebs_snapshots/README.md
