# Core services the runner and the recipe context stand on: commands (spawn), systemd over
# sd-bus, unified diffs, per-recipe locks and run records. Sources and their unit tests.
agent_libopsagent_la_SOURCES += \
	agent/spawn.c agent/spawn.h \
	agent/lock.c agent/lock.h \
	agent/records.c agent/records.h \
	agent/textdiff.c agent/textdiff.h \
	agent/systemd.c agent/systemd.h

services_unit_tests = tests/unit/test_spawn tests/unit/test_lock tests/unit/test_records \
	tests/unit/test_textdiff tests/unit/test_systemd
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

tests_unit_test_textdiff_SOURCES = tests/unit/test_textdiff.c
tests_unit_test_textdiff_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_textdiff_LDADD = $(TEST_LDADD)

# Starts its own dbus-daemon and python3-dbusmock's systemd template (skips without them).
tests_unit_test_systemd_SOURCES = tests/unit/test_systemd.c
tests_unit_test_systemd_CFLAGS = $(TEST_CFLAGS) $(SYSTEMD_CFLAGS)
tests_unit_test_systemd_LDADD = $(TEST_LDADD) $(SYSTEMD_LIBS)
