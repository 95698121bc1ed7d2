# recipes/logrotate: plugin, its engine (a convenience library shared with the unit tests and
# the test driver), tests and benchmark.
noinst_LTLIBRARIES += recipes/logrotate/liblrengine.la
recipes_logrotate_liblrengine_la_SOURCES = \
	recipes/logrotate/lr_config.c recipes/logrotate/lr_config.h \
	recipes/logrotate/lr_compress.c recipes/logrotate/lr_compress.h \
	recipes/logrotate/lr_names.c recipes/logrotate/lr_names.h \
	recipes/logrotate/lr_state.c recipes/logrotate/lr_state.h \
	recipes/logrotate/lr_util.c recipes/logrotate/lr_util.h \
	recipes/logrotate/lr_journal.c recipes/logrotate/lr_journal.h \
	recipes/logrotate/lr_steps.c recipes/logrotate/lr_steps.h \
	recipes/logrotate/lr_digest.c recipes/logrotate/lr_digest.h \
	recipes/logrotate/lr_trust.c recipes/logrotate/lr_trust.h \
	recipes/logrotate/lr_copytruncate.c recipes/logrotate/lr_copytruncate.h \
	recipes/logrotate/lr_reopen.c recipes/logrotate/lr_reopen.h \
	recipes/logrotate/lr_prune.c recipes/logrotate/lr_prune.h \
	recipes/logrotate/lr_recover.c recipes/logrotate/lr_recover.h \
	recipes/logrotate/lr_rotate.c recipes/logrotate/lr_rotate.h
recipes_logrotate_liblrengine_la_CFLAGS = $(AM_CFLAGS) $(ARCHIVE_CFLAGS) $(CRYPTO_CFLAGS) $(ZLIB_CFLAGS)
recipes_logrotate_liblrengine_la_LIBADD = $(UTIL_LIBS) $(JSONC_LIBS) $(ARCHIVE_LIBS) $(CRYPTO_LIBS) $(ZLIB_LIBS)

plugin_LTLIBRARIES += recipes/logrotate/logrotate.la
recipes_logrotate_logrotate_la_SOURCES = recipes/logrotate/logrotate.c recipes/logrotate/logrotate_recipe.h
recipes_logrotate_logrotate_la_CFLAGS = $(AM_CFLAGS)
recipes_logrotate_logrotate_la_LDFLAGS = $(recipe_module_flags)
recipes_logrotate_logrotate_la_LIBADD = recipes/logrotate/liblrengine.la $(JSONC_LIBS) $(ARCHIVE_LIBS) $(CRYPTO_LIBS) $(ZLIB_LIBS)
RECIPE_BUILD_DIRS += $(abs_top_builddir)/recipes/logrotate/.libs

# lr-driver: the recipe with a minimal context, for tests and tests/bench/logrotate (not installed).
noinst_PROGRAMS += recipes/logrotate/lr-driver
recipes_logrotate_lr_driver_SOURCES = recipes/logrotate/lr_driver.c recipes/logrotate/logrotate.c \
	recipes/logrotate/logrotate_recipe.h
recipes_logrotate_lr_driver_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
recipes_logrotate_lr_driver_LDADD = recipes/logrotate/liblrengine.la $(JSONC_LIBS) $(ARCHIVE_LIBS) $(CRYPTO_LIBS) $(ZLIB_LIBS) \
	$(SYSTEMD_LIBS)

# Unit tests: one cmocka binary per engine module.
logrotate_unit_tests = \
	tests/unit/test_logrotate_config \
	tests/unit/test_logrotate_state \
	tests/unit/test_logrotate_names \
	tests/unit/test_logrotate_compress \
	tests/unit/test_logrotate_rotate \
	tests/unit/test_logrotate_recover \
	tests/unit/test_logrotate_trust \
	tests/unit/test_logrotate_copytruncate \
	tests/unit/test_logrotate_copytruncate_onepass
check_PROGRAMS += $(logrotate_unit_tests)
TESTS += $(logrotate_unit_tests)
LR_TEST_CFLAGS = $(TEST_CFLAGS) $(ARCHIVE_CFLAGS) -I$(top_srcdir)/recipes/logrotate
LR_TEST_LDADD = recipes/logrotate/liblrengine.la $(JSONC_LIBS) $(ARCHIVE_LIBS) $(CRYPTO_LIBS) $(ZLIB_LIBS) $(CMOCKA_LIBS)
tests_unit_test_logrotate_config_SOURCES = tests/unit/test_logrotate_config.c
tests_unit_test_logrotate_config_CFLAGS = $(LR_TEST_CFLAGS)
tests_unit_test_logrotate_config_LDADD = $(LR_TEST_LDADD)
tests_unit_test_logrotate_state_SOURCES = tests/unit/test_logrotate_state.c tests/unit/lr_testutil.h
tests_unit_test_logrotate_state_CFLAGS = $(LR_TEST_CFLAGS)
tests_unit_test_logrotate_state_LDADD = $(LR_TEST_LDADD)
tests_unit_test_logrotate_names_SOURCES = tests/unit/test_logrotate_names.c tests/unit/lr_testutil.h
tests_unit_test_logrotate_names_CFLAGS = $(LR_TEST_CFLAGS)
tests_unit_test_logrotate_names_LDADD = $(LR_TEST_LDADD)
tests_unit_test_logrotate_compress_SOURCES = tests/unit/test_logrotate_compress.c tests/unit/lr_testutil.h
tests_unit_test_logrotate_compress_CFLAGS = $(LR_TEST_CFLAGS)
tests_unit_test_logrotate_compress_LDADD = $(LR_TEST_LDADD)
tests_unit_test_logrotate_rotate_SOURCES = tests/unit/test_logrotate_rotate.c tests/unit/lr_testutil.h \
	recipes/logrotate/logrotate.c
tests_unit_test_logrotate_rotate_CFLAGS = $(LR_TEST_CFLAGS)
tests_unit_test_logrotate_rotate_LDADD = $(LR_TEST_LDADD)
tests_unit_test_logrotate_recover_SOURCES = tests/unit/test_logrotate_recover.c tests/unit/lr_testutil.h \
	recipes/logrotate/logrotate.c
tests_unit_test_logrotate_recover_CFLAGS = $(LR_TEST_CFLAGS)
tests_unit_test_logrotate_recover_LDADD = $(LR_TEST_LDADD)
tests_unit_test_logrotate_trust_SOURCES = tests/unit/test_logrotate_trust.c tests/unit/lr_testutil.h \
	recipes/logrotate/logrotate.c
tests_unit_test_logrotate_trust_CFLAGS = $(LR_TEST_CFLAGS)
tests_unit_test_logrotate_trust_LDADD = $(LR_TEST_LDADD)
tests_unit_test_logrotate_copytruncate_SOURCES = tests/unit/test_logrotate_copytruncate.c tests/unit/lr_testutil.h \
	recipes/logrotate/logrotate.c
tests_unit_test_logrotate_copytruncate_CFLAGS = $(LR_TEST_CFLAGS)
tests_unit_test_logrotate_copytruncate_LDADD = $(LR_TEST_LDADD)
# the same test with one last pass only: its own copy of the engine's lr_copytruncate.c, which
# the linker then takes instead of the library's
tests_unit_test_logrotate_copytruncate_onepass_SOURCES = tests/unit/test_logrotate_copytruncate.c \
	tests/unit/lr_testutil.h recipes/logrotate/logrotate.c recipes/logrotate/lr_copytruncate.c
tests_unit_test_logrotate_copytruncate_onepass_CFLAGS = $(LR_TEST_CFLAGS) -DLR_FINAL_TRIES=1
tests_unit_test_logrotate_copytruncate_onepass_LDADD = $(LR_TEST_LDADD)

# Integration tests: the recipe through lr-driver (and the agent once it has `run`).
logrotate_integration_tests = \
	tests/integration/test_logrotate.py \
	tests/integration/test_logrotate_parity.py \
	tests/integration/test_logrotate_writer.py
TESTS += $(logrotate_integration_tests)
EXTRA_DIST += $(logrotate_integration_tests) \
	tests/integration/logrotate_helper.py \
	tests/integration/logrotate_writer.py \
	tests/bench/logrotate/run.sh \
	tests/bench/logrotate/genlog.py \
	tests/bench/logrotate/small_logs.sh \
	tests/bench/logrotate/copytruncate_stall.py \
	tests/bench/logrotate/README.md

EXTRA_DIST += tests/demo/parts/logrotate.sh
EXTRA_DIST += recipes/logrotate/README.md
