# The agent: its core library (everything but main()), built from the layer folders below,
# lowest first, and the opsagent program. A folder includes only folders below it
# (docs/internals.md; tests/tools/check_layers.py checks it).
noinst_LTLIBRARIES += agent/libopsagent.la
agent_libopsagent_la_SOURCES =
agent_libopsagent_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(SYSTEMD_CFLAGS) $(CRYPTO_CFLAGS) \
	$(EXPAT_CFLAGS) $(ZLIB_CFLAGS)
# libcurl is not linked: agent/aws/http.c loads it on first use (see there why); its
# headers are still needed, and the packages name it as a dependency themselves.
agent_libopsagent_la_LIBADD = $(JSONC_LIBS) $(SYSTEMD_LIBS) $(CRYPTO_LIBS) \
	$(EXPAT_LIBS) $(ZLIB_LIBS)

bin_PROGRAMS += opsagent
opsagent_SOURCES = agent/main.c
opsagent_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
opsagent_LDADD = agent/libopsagent.la

include agent/util/util.mk
include agent/config/config.mk
include agent/aws/aws.mk
include agent/run/run.mk
include agent/report/report.mk
include agent/logs/logs.mk
include agent/cmd/cmd.mk
