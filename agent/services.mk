# Core services the runner and the recipe context stand on: commands (spawn), systemd over
# sd-bus, unified diffs, per-recipe locks and run records. Sources and their unit tests.
agent_libopsagent_la_SOURCES += \
	agent/spawn.c agent/spawn.h \
	agent/lock.c agent/lock.h \
	agent/records.c agent/records.h

services_unit_tests = tests/unit/test_spawn tests/unit/test_lock tests/unit/test_records
check_PROGRAMS += $(services_unit_tests)
TESTS += $(services_unit_tests)

tests_unit_test_spawn_SOURCES = tests/unit/test_spawn.c
tests_unit_test_spawn_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_spawn_LDADD = $(TEST_LDADD)

tests_unit_test_lock_SOURCES = tests/unit/test_lock.c
tests_unit_test_lock_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_lock_LDADD = $(TEST_LDADD)

tests_unit_test_records_SOURCES = tests/unit/test_records.c
tests_unit_test_records_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_records_LDADD = $(TEST_LDADD)
