# agent/cmd: the command line, the commands and the agent's own attribute sections (in the
# library), and the commands built into the program only: `opsagent setup` (the cfn-init
# launch hook), `opsagent doctor` and `opsagent logrotate-import`.
agent_libopsagent_la_SOURCES += \
	agent/cmd/cli.c agent/cmd/cli.h \
	agent/cmd/commands.c agent/cmd/commands.h \
	agent/cmd/coreattrs.c agent/cmd/coreattrs.h \
	agent/cmd/configure_change.c agent/cmd/configure_change.h \
	agent/cmd/logcmd.c agent/cmd/logcmd.h \
	agent/cmd/logscmd.c agent/cmd/logscmd.h \
	agent/cmd/table.c agent/cmd/table.h
opsagent_SOURCES += agent/cmd/setup.c agent/cmd/setup.h agent/cmd/configure.c agent/cmd/configure.h \
	agent/cmd/doctor.c agent/cmd/doctor.h \
	agent/cmd/logrotate_import.c agent/cmd/logrotate_import.h

cmd_unit_tests = tests/unit/test_cli tests/packaging/test_setup_plan tests/unit/test_logrotate_import \
	tests/unit/test_table tests/unit/test_configure
check_PROGRAMS += $(cmd_unit_tests)
TESTS += $(cmd_unit_tests)

tests_unit_test_cli_SOURCES = tests/unit/test_cli.c
tests_unit_test_cli_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cli_LDADD = $(TEST_LDADD)
tests_unit_test_configure_SOURCES = tests/unit/test_configure.c
tests_unit_test_configure_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_configure_LDADD = $(TEST_LDADD)
tests_unit_test_table_SOURCES = tests/unit/test_table.c
tests_unit_test_table_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_table_LDADD = $(TEST_LDADD)
tests_packaging_test_setup_plan_SOURCES = tests/packaging/test_setup_plan.c agent/cmd/setup.c agent/cmd/setup.h \
	agent/cmd/configure.c agent/cmd/configure.h
tests_packaging_test_setup_plan_CFLAGS = $(TEST_CFLAGS)
tests_packaging_test_setup_plan_LDADD = $(TEST_LDADD)
tests_unit_test_logrotate_import_SOURCES = tests/unit/test_logrotate_import.c agent/cmd/logrotate_import.c \
	agent/cmd/logrotate_import.h
tests_unit_test_logrotate_import_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_logrotate_import_LDADD = $(TEST_LDADD)

# Integration tests of the commands: the built opsagent in a fresh sandbox per test.
TESTS += tests/integration/test_core.py tests/integration/test_doctor.py tests/integration/test_configure.py
EXTRA_DIST += tests/integration/test_core.py tests/integration/test_doctor.py tests/integration/test_configure.py
