# agent/run: running recipes. The runner (a forked child per recipe, with a time budget and a
# lock), the context recipes see (and its AWS half), the events between child and agent, run
# records and a run's lines read back from the journal, and the services the context stands
# on: commands (spawn), systemd over sd-bus, unified diffs; and the fetch of the stack
# configuration source (it needs agent/config and agent/aws, peers below this folder).
agent_libopsagent_la_SOURCES += \
	agent/run/runner.c agent/run/runner.h \
	agent/run/events.c agent/run/events.h \
	agent/run/ctx.c agent/run/ctx.h \
	agent/run/ctx_aws.c agent/run/ctx_aws.h \
	agent/run/lock.c agent/run/lock.h \
	agent/run/records.c agent/run/records.h \
	agent/run/runlog.c agent/run/runlog.h \
	agent/run/runlines.c agent/run/runlines.h \
	agent/run/undo.c agent/run/undo.h \
	agent/run/spawn.c agent/run/spawn.h \
	agent/run/textdiff.c agent/run/textdiff.h \
	agent/run/systemd.c agent/run/systemd.h \
	agent/run/source_fetch.c

run_unit_tests = tests/unit/test_ctx tests/unit/test_events tests/unit/test_spawn tests/unit/test_lock \
	tests/unit/test_records tests/unit/test_textdiff tests/unit/test_systemd tests/unit/test_undo
check_PROGRAMS += $(run_unit_tests)
TESTS += $(run_unit_tests)

tests_unit_test_ctx_SOURCES = tests/unit/test_ctx.c
tests_unit_test_ctx_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_ctx_LDADD = $(TEST_LDADD)
tests_unit_test_events_SOURCES = tests/unit/test_events.c
tests_unit_test_events_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_events_LDADD = $(TEST_LDADD)

tests_unit_test_spawn_SOURCES = tests/unit/test_spawn.c
tests_unit_test_spawn_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_spawn_LDADD = $(TEST_LDADD)

tests_unit_test_lock_SOURCES = tests/unit/test_lock.c
tests_unit_test_lock_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_lock_LDADD = $(TEST_LDADD)

tests_unit_test_records_SOURCES = tests/unit/test_records.c
tests_unit_test_records_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_records_LDADD = $(TEST_LDADD)

tests_unit_test_undo_SOURCES = tests/unit/test_undo.c
tests_unit_test_undo_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_undo_LDADD = $(TEST_LDADD)

tests_unit_test_textdiff_SOURCES = tests/unit/test_textdiff.c
tests_unit_test_textdiff_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_textdiff_LDADD = $(TEST_LDADD)

# Starts its own dbus-daemon and python3-dbusmock's systemd template (skips without them).
tests_unit_test_systemd_SOURCES = tests/unit/test_systemd.c
tests_unit_test_systemd_CFLAGS = $(TEST_CFLAGS) $(SYSTEMD_CFLAGS)
tests_unit_test_systemd_LDADD = $(TEST_LDADD) $(SYSTEMD_LIBS)
