# recipes/unattended_upgrades: plugin, tests and data rules (filled by its issue).
uu_core_sources = \
	recipes/unattended_upgrades/uu_os_release.c recipes/unattended_upgrades/uu_os_release.h \
	recipes/unattended_upgrades/uu_settings.c recipes/unattended_upgrades/uu_settings.h \
	recipes/unattended_upgrades/uu_plan.c recipes/unattended_upgrades/uu_plan.h \
	recipes/unattended_upgrades/uu_attrs.c recipes/unattended_upgrades/uu_attrs.h

plugin_LTLIBRARIES += recipes/unattended_upgrades/unattended_upgrades.la
recipes_unattended_upgrades_unattended_upgrades_la_SOURCES = \
	recipes/unattended_upgrades/unattended_upgrades.c $(uu_core_sources)
recipes_unattended_upgrades_unattended_upgrades_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
recipes_unattended_upgrades_unattended_upgrades_la_LDFLAGS = $(recipe_module_flags)
recipes_unattended_upgrades_unattended_upgrades_la_LIBADD = $(UTIL_LIBS) $(JSONC_LIBS)
RECIPE_BUILD_DIRS += $(abs_top_builddir)/recipes/unattended_upgrades/.libs

# Unit tests: one binary per module, linked against the recipe's own sources.
uu_unit_tests = \
	tests/unit/test_unattended_os_release \
	tests/unit/test_unattended_settings \
	tests/unit/test_unattended_plan \
	tests/unit/test_unattended_recipe
check_PROGRAMS += $(uu_unit_tests)
TESTS += $(uu_unit_tests)
uu_test_cflags = $(TEST_CFLAGS) -I$(top_srcdir)/recipes/unattended_upgrades
uu_test_ldadd = $(UTIL_LIBS) $(JSONC_LIBS) $(CMOCKA_LIBS)

tests_unit_test_unattended_os_release_SOURCES = tests/unit/test_unattended_os_release.c \
	recipes/unattended_upgrades/uu_os_release.c recipes/unattended_upgrades/uu_os_release.h
tests_unit_test_unattended_os_release_CFLAGS = $(uu_test_cflags)
tests_unit_test_unattended_os_release_LDADD = $(uu_test_ldadd)

tests_unit_test_unattended_settings_SOURCES = tests/unit/test_unattended_settings.c $(uu_core_sources)
tests_unit_test_unattended_settings_CFLAGS = $(uu_test_cflags)
tests_unit_test_unattended_settings_LDADD = $(uu_test_ldadd)

tests_unit_test_unattended_plan_SOURCES = tests/unit/test_unattended_plan.c $(uu_core_sources)
tests_unit_test_unattended_plan_CFLAGS = $(uu_test_cflags)
tests_unit_test_unattended_plan_LDADD = $(uu_test_ldadd)

# The plugin's run() with a fake context.
tests_unit_test_unattended_recipe_SOURCES = tests/unit/test_unattended_recipe.c \
	recipes/unattended_upgrades/unattended_upgrades.c $(uu_core_sources)
tests_unit_test_unattended_recipe_CFLAGS = $(uu_test_cflags)
tests_unit_test_unattended_recipe_LDADD = $(uu_test_ldadd)

EXTRA_DIST += recipes/unattended_upgrades/README.md

# Integration tests: the built opsagent against sandbox roots, apt-config, and dbusmock.
TESTS += tests/integration/test_unattended_upgrades.py
EXTRA_DIST += tests/integration/test_unattended_upgrades.py \
	tests/data/unattended_upgrades/20auto-upgrades.package \
	tests/data/unattended_upgrades/50unattended-upgrades.debian \
	tests/data/unattended_upgrades/50unattended-upgrades.ubuntu \
	tests/data/unattended_upgrades/automatic.conf.al2023 \
	tests/data/unattended_upgrades/os-release/amzn-2 \
	tests/data/unattended_upgrades/os-release/amzn-2023 \
	tests/data/unattended_upgrades/os-release/arch \
	tests/data/unattended_upgrades/os-release/centos-7 \
	tests/data/unattended_upgrades/os-release/debian-12 \
	tests/data/unattended_upgrades/os-release/fedora-40 \
	tests/data/unattended_upgrades/os-release/linuxmint-21 \
	tests/data/unattended_upgrades/os-release/rhel-9 \
	tests/data/unattended_upgrades/os-release/rocky-9 \
	tests/data/unattended_upgrades/os-release/ubuntu-24.04

# Its part of the demo (tests/demo/run sources every tests/demo/parts/*.sh).
EXTRA_DIST += tests/demo/parts/unattended_upgrades.sh
