# recipes/zodb_pack: the plugin (recipe, ZEO 5 client, pickle codec), its unit tests (linked
# against the recipe's sources), the ZEO stand-in, recorded frames and integration tests.
plugin_LTLIBRARIES += recipes/zodb_pack/zodb_pack.la
recipes_zodb_pack_zodb_pack_la_SOURCES = recipes/zodb_pack/zodb_pack.c \
	recipes/zodb_pack/zeo.c recipes/zodb_pack/zeo.h \
	recipes/zodb_pack/pickle.c recipes/zodb_pack/pickle.h
recipes_zodb_pack_zodb_pack_la_CFLAGS = $(AM_CFLAGS)
recipes_zodb_pack_zodb_pack_la_LDFLAGS = $(recipe_module_flags)
recipes_zodb_pack_zodb_pack_la_LIBADD = $(JSONC_LIBS) -lm
RECIPE_BUILD_DIRS += $(abs_top_builddir)/recipes/zodb_pack/.libs

zodb_pack_unit_tests = tests/unit/test_pickle tests/unit/test_zeo tests/unit/test_zeo_recipe
check_PROGRAMS += $(zodb_pack_unit_tests)
TESTS += $(zodb_pack_unit_tests)

tests_unit_test_pickle_SOURCES = tests/unit/test_pickle.c tests/unit/zeo_frames.c tests/unit/zeo_frames.h \
	recipes/zodb_pack/pickle.c
tests_unit_test_pickle_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/recipes/zodb_pack
tests_unit_test_pickle_LDADD = $(CMOCKA_LIBS) $(JSONC_LIBS) -lm

tests_unit_test_zeo_SOURCES = tests/unit/test_zeo.c tests/unit/zeo_frames.c tests/unit/zeo_frames.h \
	recipes/zodb_pack/zeo.c recipes/zodb_pack/pickle.c
tests_unit_test_zeo_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/recipes/zodb_pack
tests_unit_test_zeo_LDADD = $(CMOCKA_LIBS) $(JSONC_LIBS) -lm

# The recipe itself with a fake context (no core needed): recipe + client + codec sources.
tests_unit_test_zeo_recipe_SOURCES = tests/unit/test_zeo_recipe.c tests/unit/zeo_frames.c tests/unit/zeo_frames.h \
	recipes/zodb_pack/zodb_pack.c recipes/zodb_pack/zeo.c recipes/zodb_pack/pickle.c
tests_unit_test_zeo_recipe_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/recipes/zodb_pack
tests_unit_test_zeo_recipe_LDADD = $(CMOCKA_LIBS) $(JSONC_LIBS) -lm

zodb_pack_integration_tests = tests/integration/test_zodb_pack.py tests/integration/test_zodb_pack_standin.py
TESTS += $(zodb_pack_integration_tests)

EXTRA_DIST += $(zodb_pack_integration_tests) \
	tests/zeo/zeo_standin.py tests/bench/bench_zodb_pack.py tests/demo/parts/zodb_pack.sh \
	tests/data/zeo/README.md \
	tests/data/zeo/pack-success.jsonl tests/data/zeo/pack-success.txt \
	tests/data/zeo/register-unknown-storage.jsonl tests/data/zeo/register-unknown-storage.txt \
	tests/fuzz/fuzz_pickle.c tests/fuzz/README.md tests/fuzz/seed_pickle_corpus.py
