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
