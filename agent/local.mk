# The agent's core library (everything but main()) and the opsagent program.
noinst_LTLIBRARIES += agent/libopsagent.la
agent_libopsagent_la_SOURCES = \
	agent/error.c agent/error.h \
	agent/buf.c agent/buf.h \
	agent/fileio.c agent/fileio.h \
	agent/log.c agent/log.h
agent_libopsagent_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(SYSTEMD_CFLAGS) $(CRYPTO_CFLAGS) \
	$(EXPAT_CFLAGS) $(ZLIB_CFLAGS)
agent_libopsagent_la_LIBADD = $(JSONC_LIBS) $(CURL_LIBS) $(SYSTEMD_LIBS) $(CRYPTO_LIBS) \
	$(EXPAT_LIBS) $(ZLIB_LIBS)

bin_PROGRAMS += opsagent
opsagent_SOURCES = agent/main.c
opsagent_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
opsagent_LDADD = agent/libopsagent.la
