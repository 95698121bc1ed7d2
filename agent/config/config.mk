# agent/config: where things live, the attribute tree, its schema, the recipe plugins, the
# layers merged into the node's attributes, and which files are trusted to say so.
agent_libopsagent_la_SOURCES += \
	agent/config/attrs.c agent/config/attrs.h \
	agent/config/schema.c agent/config/schema.h \
	agent/config/layers.c agent/config/layers.h \
	agent/config/paths.c agent/config/paths.h \
	agent/config/plugin.c agent/config/plugin.h \
	agent/config/trust.c agent/config/trust.h \
	agent/config/source.c agent/config/source.h

config_unit_tests = tests/unit/test_attrs tests/unit/test_schema tests/unit/test_plugin tests/unit/test_trust tests/unit/test_source
check_PROGRAMS += $(config_unit_tests)
TESTS += $(config_unit_tests)

tests_unit_test_attrs_SOURCES = tests/unit/test_attrs.c
tests_unit_test_attrs_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_attrs_LDADD = $(TEST_LDADD)
tests_unit_test_schema_SOURCES = tests/unit/test_schema.c
tests_unit_test_schema_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_schema_LDADD = $(TEST_LDADD)
tests_unit_test_plugin_SOURCES = tests/unit/test_plugin.c
tests_unit_test_plugin_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_plugin_LDADD = $(TEST_LDADD)
tests_unit_test_trust_SOURCES = tests/unit/test_trust.c
tests_unit_test_trust_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_trust_LDADD = $(TEST_LDADD)
tests_unit_test_source_SOURCES = tests/unit/test_source.c tests/unit/testdir.h
tests_unit_test_source_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_source_LDADD = $(TEST_LDADD)

# Issue 14's attacks, as a real unprivileged user (created with useradd; skipped when not root).
TESTS += tests/integration/test_security.py
EXTRA_DIST += tests/integration/test_security.py

# The stack configuration source (issue 18) against moto's Parameter Store behind the stand-in.
TESTS += tests/integration/test_source.py
EXTRA_DIST += tests/integration/test_source.py
