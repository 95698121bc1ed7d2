# agent/logs: the CloudWatch Logs shipper (`opsagent logs`, opsagent-logs.service): sources,
# events, batches, the sender, checkpoints and the disk buffer; their unit tests.
agent_libopsagent_la_SOURCES += \
	agent/logs/logs_event.c agent/logs/logs_event.h \
	agent/logs/logs_batch.c agent/logs/logs_batch.h \
	agent/logs/logs_checkpoint.c agent/logs/logs_checkpoint.h \
	agent/logs/logs_buffer.c agent/logs/logs_buffer.h \
	agent/logs/logs_config.c agent/logs/logs_config.h \
	agent/logs/logs_send.c agent/logs/logs_send.h \
	agent/logs/logs_shipper.c agent/logs/logs_shipper.h

logs_unit_tests = tests/unit/test_logs_event tests/unit/test_logs_batch tests/unit/test_logs_state \
	tests/unit/test_logs_config
check_PROGRAMS += $(logs_unit_tests)
TESTS += $(logs_unit_tests)

tests_unit_test_logs_event_SOURCES = tests/unit/test_logs_event.c
tests_unit_test_logs_event_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_logs_event_LDADD = $(TEST_LDADD)

tests_unit_test_logs_batch_SOURCES = tests/unit/test_logs_batch.c
tests_unit_test_logs_batch_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_logs_batch_LDADD = $(TEST_LDADD) $(JSONC_LIBS)

tests_unit_test_logs_state_SOURCES = tests/unit/test_logs_state.c
tests_unit_test_logs_state_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_logs_state_LDADD = $(TEST_LDADD) $(JSONC_LIBS)

tests_unit_test_logs_config_SOURCES = tests/unit/test_logs_config.c
tests_unit_test_logs_config_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_logs_config_LDADD = $(TEST_LDADD) $(JSONC_LIBS)

logs_integration_tests = tests/integration/test_logs_smoke.py
TESTS += $(logs_integration_tests)
EXTRA_DIST += $(logs_integration_tests)
