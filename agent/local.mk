# The agent's core library (everything but main()) and the opsagent program.
noinst_LTLIBRARIES += agent/libopsagent.la
agent_libopsagent_la_SOURCES = \
	agent/error.c agent/error.h \
	agent/buf.c agent/buf.h \
	agent/fileio.c agent/fileio.h \
	agent/log.c agent/log.h \
	agent/timeutil.c agent/timeutil.h \
	agent/metric.c agent/metric.h \
	agent/jsonutil.c agent/jsonutil.h \
	agent/attrs.c agent/attrs.h \
	agent/schema.c agent/schema.h \
	agent/coreattrs.c agent/coreattrs.h \
	agent/layers.c agent/layers.h \
	agent/paths.c agent/paths.h \
	agent/plugin.c agent/plugin.h \
	agent/ctx.c agent/ctx.h \
	agent/events.c agent/events.h \
	agent/runner.c agent/runner.h \
	agent/cli.c agent/cli.h \
	agent/commands.c agent/commands.h
agent_libopsagent_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(SYSTEMD_CFLAGS) $(CRYPTO_CFLAGS) \
	$(EXPAT_CFLAGS) $(ZLIB_CFLAGS)
agent_libopsagent_la_LIBADD = $(JSONC_LIBS) $(CURL_LIBS) $(SYSTEMD_LIBS) $(CRYPTO_LIBS) \
	$(EXPAT_LIBS) $(ZLIB_LIBS)

bin_PROGRAMS += opsagent
opsagent_SOURCES = agent/main.c
opsagent_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
opsagent_LDADD = agent/libopsagent.la
