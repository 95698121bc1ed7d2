# tests/fuzz: libFuzzer targets, one per parser of outside input (README.md lists them).
# `make check` builds each with replay.c's main and runs it once on every seed of its corpus
# (tests/fuzz/corpus/NAME), so that the targets keep building and no seed (nor a crash kept
# as one) fails. tests/fuzz/run builds them again with clang and libFuzzer, by overriding
# FUZZ_MAIN (empty: libFuzzer's main) and FUZZ_LINK (-fsanitize=fuzzer), and fuzzes them.
FUZZ_MAIN = tests/fuzz/libfuzzmain.la
FUZZ_LINK =
check_LTLIBRARIES += tests/fuzz/libfuzzutil.la tests/fuzz/libfuzzmain.la
tests_fuzz_libfuzzutil_la_SOURCES = tests/fuzz/fuzz_util.c tests/fuzz/fuzz_util.h
tests_fuzz_libfuzzmain_la_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz_util.h

fuzz_targets = \
	tests/fuzz/fuzz_aws_response \
	tests/fuzz/fuzz_pickle \
	tests/fuzz/fuzz_attrs \
	tests/fuzz/fuzz_logrotate_import \
	tests/fuzz/fuzz_imds \
	tests/fuzz/fuzz_spool \
	tests/fuzz/fuzz_run_record \
	tests/fuzz/fuzz_lr_state \
	tests/fuzz/fuzz_lr_set \
	tests/fuzz/fuzz_lr_journal \
	tests/fuzz/fuzz_os_release \
	tests/fuzz/fuzz_uu_settings \
	tests/fuzz/fuzz_ebs_devmap \
	tests/fuzz/fuzz_freeze_marker \
	tests/fuzz/fuzz_hostmetrics \
	tests/fuzz/fuzz_inifile \
	tests/fuzz/fuzz_zeo \
	tests/fuzz/fuzz_logs \
	tests/fuzz/fuzz_source_cache
check_PROGRAMS += $(fuzz_targets)
TESTS += $(fuzz_targets)

fuzz_cflags = $(AM_CFLAGS) -I$(top_srcdir)/tests/fuzz
fuzz_ldadd = $(FUZZ_MAIN) tests/fuzz/libfuzzutil.la agent/libopsagent.la
fuzz_lr_cflags = $(fuzz_cflags) $(ARCHIVE_CFLAGS) -I$(top_srcdir)/recipes/logrotate
fuzz_lr_ldadd = $(fuzz_ldadd) recipes/logrotate/liblrengine.la $(ARCHIVE_LIBS)

tests_fuzz_fuzz_aws_response_SOURCES = tests/fuzz/fuzz_aws_response.c
tests_fuzz_fuzz_aws_response_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_aws_response_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_aws_response_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_pickle_SOURCES = tests/fuzz/fuzz_pickle.c recipes/zodb_pack/zodb_pickle.c
tests_fuzz_fuzz_pickle_CFLAGS = $(fuzz_cflags) -I$(top_srcdir)/recipes/zodb_pack
tests_fuzz_fuzz_pickle_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_pickle_LDADD = $(fuzz_ldadd) -lm

tests_fuzz_fuzz_attrs_SOURCES = tests/fuzz/fuzz_attrs.c recipes/ebs_snapshots/ebs_settings.c \
	recipes/ebs_snapshots/ebs_volumes.c recipes/unattended_upgrades/uu_attrs.c recipes/logrotate/logrotate.c
tests_fuzz_fuzz_attrs_CFLAGS = $(fuzz_lr_cflags) -I$(top_srcdir)/recipes/ebs_snapshots \
	-I$(top_srcdir)/recipes/unattended_upgrades
tests_fuzz_fuzz_attrs_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_attrs_LDADD = $(fuzz_lr_ldadd)

tests_fuzz_fuzz_logrotate_import_SOURCES = tests/fuzz/fuzz_logrotate_import.c agent/cmd/logrotate_import.c \
	recipes/logrotate/logrotate.c
tests_fuzz_fuzz_logrotate_import_CFLAGS = $(fuzz_lr_cflags)
tests_fuzz_fuzz_logrotate_import_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_logrotate_import_LDADD = $(fuzz_lr_ldadd)

tests_fuzz_fuzz_inifile_SOURCES = tests/fuzz/fuzz_inifile.c
tests_fuzz_fuzz_inifile_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_inifile_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_inifile_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_imds_SOURCES = tests/fuzz/fuzz_imds.c
tests_fuzz_fuzz_imds_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_imds_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_imds_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_spool_SOURCES = tests/fuzz/fuzz_spool.c
tests_fuzz_fuzz_spool_CFLAGS = $(fuzz_cflags) $(ZLIB_CFLAGS)
tests_fuzz_fuzz_spool_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_spool_LDADD = $(fuzz_ldadd) $(ZLIB_LIBS)

tests_fuzz_fuzz_run_record_SOURCES = tests/fuzz/fuzz_run_record.c
tests_fuzz_fuzz_run_record_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_run_record_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_run_record_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_lr_state_SOURCES = tests/fuzz/fuzz_lr_state.c
tests_fuzz_fuzz_lr_state_CFLAGS = $(fuzz_lr_cflags)
tests_fuzz_fuzz_lr_state_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_lr_state_LDADD = $(fuzz_lr_ldadd)

tests_fuzz_fuzz_lr_set_SOURCES = tests/fuzz/fuzz_lr_set.c
tests_fuzz_fuzz_lr_set_CFLAGS = $(fuzz_lr_cflags)
tests_fuzz_fuzz_lr_set_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_lr_set_LDADD = $(fuzz_lr_ldadd)

tests_fuzz_fuzz_lr_journal_SOURCES = tests/fuzz/fuzz_lr_journal.c
tests_fuzz_fuzz_lr_journal_CFLAGS = $(fuzz_lr_cflags)
tests_fuzz_fuzz_lr_journal_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_lr_journal_LDADD = $(fuzz_lr_ldadd)

tests_fuzz_fuzz_os_release_SOURCES = tests/fuzz/fuzz_os_release.c recipes/unattended_upgrades/uu_os_release.c
tests_fuzz_fuzz_os_release_CFLAGS = $(fuzz_cflags) -I$(top_srcdir)/recipes/unattended_upgrades
tests_fuzz_fuzz_os_release_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_os_release_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_uu_settings_SOURCES = tests/fuzz/fuzz_uu_settings.c $(uu_core_sources)
tests_fuzz_fuzz_uu_settings_CFLAGS = $(fuzz_cflags) -I$(top_srcdir)/recipes/unattended_upgrades
tests_fuzz_fuzz_uu_settings_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_uu_settings_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_ebs_devmap_SOURCES = tests/fuzz/fuzz_ebs_devmap.c recipes/ebs_snapshots/ebs_devmap.c
tests_fuzz_fuzz_ebs_devmap_CFLAGS = $(fuzz_cflags) -I$(top_srcdir)/recipes/ebs_snapshots
tests_fuzz_fuzz_ebs_devmap_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_ebs_devmap_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_freeze_marker_SOURCES = tests/fuzz/fuzz_freeze_marker.c recipes/ebs_snapshots/ebs_freeze.c
tests_fuzz_fuzz_freeze_marker_CFLAGS = $(fuzz_cflags) -I$(top_srcdir)/recipes/ebs_snapshots
tests_fuzz_fuzz_freeze_marker_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_freeze_marker_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_hostmetrics_SOURCES = tests/fuzz/fuzz_hostmetrics.c
tests_fuzz_fuzz_hostmetrics_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_hostmetrics_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_hostmetrics_LDADD = $(fuzz_ldadd) -lm

tests_fuzz_fuzz_zeo_SOURCES = tests/fuzz/fuzz_zeo.c recipes/zodb_pack/zodb_zeo.c recipes/zodb_pack/zodb_pickle.c
tests_fuzz_fuzz_zeo_CFLAGS = $(fuzz_cflags) -I$(top_srcdir)/recipes/zodb_pack
tests_fuzz_fuzz_zeo_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_zeo_LDADD = $(fuzz_ldadd) -lm

# The seeds (a directory: dist copies it whole), the script that fuzzes, its dictionaries.
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/run tests/fuzz/aws.dict tests/fuzz/run_record.dict tests/fuzz/README.md .ci/checks/fuzz

tests_fuzz_fuzz_logs_SOURCES = tests/fuzz/fuzz_logs.c
tests_fuzz_fuzz_logs_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_logs_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_logs_LDADD = $(fuzz_ldadd)

tests_fuzz_fuzz_source_cache_SOURCES = tests/fuzz/fuzz_source_cache.c
tests_fuzz_fuzz_source_cache_CFLAGS = $(fuzz_cflags)
tests_fuzz_fuzz_source_cache_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_source_cache_LDADD = $(fuzz_ldadd)
