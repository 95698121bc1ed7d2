# recipes/zodb_pack: the plugin (recipe, ZEO 5 client, pickle codec), its unit tests (linked
# against the recipe's sources), the ZEO stand-in, recorded frames and integration tests.
plugin_LTLIBRARIES += recipes/zodb_pack/zodb_pack.la
recipes_zodb_pack_zodb_pack_la_SOURCES = recipes/zodb_pack/zodb_pack.c \
	recipes/zodb_pack/zodb_zeo.c recipes/zodb_pack/zodb_zeo.h \
	recipes/zodb_pack/zodb_pickle.c recipes/zodb_pack/zodb_pickle.h
recipes_zodb_pack_zodb_pack_la_CFLAGS = $(AM_CFLAGS)
recipes_zodb_pack_zodb_pack_la_LDFLAGS = $(recipe_module_flags)
recipes_zodb_pack_zodb_pack_la_LIBADD = $(JSONC_LIBS) -lm
RECIPE_BUILD_DIRS += $(abs_top_builddir)/recipes/zodb_pack/.libs

zodb_pack_unit_tests = tests/unit/test_zodb_pickle tests/unit/test_zodb_zeo tests/unit/test_zodb_recipe
check_PROGRAMS += $(zodb_pack_unit_tests)
TESTS += $(zodb_pack_unit_tests)

tests_unit_test_zodb_pickle_SOURCES = tests/unit/test_zodb_pickle.c tests/unit/zodb_frames.c tests/unit/zodb_frames.h \
	recipes/zodb_pack/zodb_pickle.c
tests_unit_test_zodb_pickle_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/recipes/zodb_pack
tests_unit_test_zodb_pickle_LDADD = $(CMOCKA_LIBS) $(JSONC_LIBS) -lm

tests_unit_test_zodb_zeo_SOURCES = tests/unit/test_zodb_zeo.c tests/unit/zodb_frames.c tests/unit/zodb_frames.h \
	recipes/zodb_pack/zodb_zeo.c recipes/zodb_pack/zodb_pickle.c
tests_unit_test_zodb_zeo_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/recipes/zodb_pack
tests_unit_test_zodb_zeo_LDADD = $(CMOCKA_LIBS) $(JSONC_LIBS) -lm

# The recipe itself with a fake context (no core needed): recipe + client + codec sources.
tests_unit_test_zodb_recipe_SOURCES = tests/unit/test_zodb_recipe.c tests/unit/zodb_frames.c tests/unit/zodb_frames.h \
	recipes/zodb_pack/zodb_pack.c recipes/zodb_pack/zodb_zeo.c recipes/zodb_pack/zodb_pickle.c
tests_unit_test_zodb_recipe_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/recipes/zodb_pack
tests_unit_test_zodb_recipe_LDADD = $(UTIL_LIBS) $(CMOCKA_LIBS) $(JSONC_LIBS) -lm

zodb_pack_integration_tests = tests/integration/test_zodb_pack.py tests/integration/test_zodb_pack_standin.py
TESTS += $(zodb_pack_integration_tests)

EXTRA_DIST += $(zodb_pack_integration_tests) \
	tests/zeo/zeo_standin.py tests/bench/bench_zodb_pack.py tests/demo/parts/zodb_pack.sh \
	tests/data/zeo/README.md \
	tests/data/zeo/pack-success.jsonl tests/data/zeo/pack-success.txt \
	tests/data/zeo/register-unknown-storage.jsonl tests/data/zeo/register-unknown-storage.txt \
	tests/fuzz/fuzz_pickle.c tests/fuzz/README.md tests/fuzz/seed_pickle_corpus.py
