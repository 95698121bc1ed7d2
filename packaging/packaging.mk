# Packaging: systemd units and timers, `opsagent setup`, deb/rpm sources, IAM policy (issue 9).
#
# Units are installed disabled; `opsagent setup` enables the timers the attributes ask for.
# Each scheduled recipe keeps its timer beside its code (recipes/NAME/opsagent-NAME.timer);
# the template service and the drop-ins that relax its hardening per recipe live here.

# Where `opsagent setup` looks for the recipes' timers (under --root when given).
AM_CPPFLAGS += -DSYSTEMDSYSTEMUNITDIR=\"$(systemdsystemunitdir)\"

packaging_unit_templates = \
	packaging/systemd/opsagent@.service.in \
	packaging/systemd/opsagent-report.service.in \
	packaging/systemd/opsagent-logs.service.in \
	packaging/systemd/opsagent-configure.service.in
packaging_units_generated = \
	packaging/units/opsagent@.service \
	packaging/units/opsagent-report.service \
	packaging/units/opsagent-logs.service \
	packaging/units/opsagent-configure.service
packaging_recipe_timers = \
	recipes/ebs_snapshots/opsagent-ebs_snapshots.timer \
	recipes/logrotate/opsagent-logrotate.timer \
	recipes/zodb_pack/opsagent-zodb_pack.timer

systemdsystemunit_DATA += $(packaging_units_generated) \
	packaging/systemd/opsagent-report.timer \
	packaging/systemd/opsagent-configure.timer \
	$(packaging_recipe_timers)

# Per-recipe drop-ins for the template: what a recipe needs beyond the common hardening.
ebssnapshotsdropindir = $(systemdsystemunitdir)/opsagent@ebs_snapshots.service.d
ebssnapshotsdropin_DATA = packaging/systemd/dropins/50-ebs_snapshots.conf
logrotatedropindir = $(systemdsystemunitdir)/opsagent@logrotate.service.d
logrotatedropin_DATA = packaging/systemd/dropins/50-logrotate.conf
unattendedupgradesdropindir = $(systemdsystemunitdir)/opsagent@unattended_upgrades.service.d
unattendedupgradesdropin_DATA = packaging/systemd/dropins/50-unattended_upgrades.conf

packaging_edit_unit = $(MKDIR_P) packaging/units && \
	$(SED) -e 's|@bindir[@]|$(bindir)|g'
packaging/units/opsagent@.service: $(top_srcdir)/packaging/systemd/opsagent@.service.in Makefile
	$(AM_V_GEN)$(packaging_edit_unit) $(top_srcdir)/packaging/systemd/opsagent@.service.in >$@.tmp && mv $@.tmp $@
packaging/units/opsagent-report.service: $(top_srcdir)/packaging/systemd/opsagent-report.service.in Makefile
	$(AM_V_GEN)$(packaging_edit_unit) $(top_srcdir)/packaging/systemd/opsagent-report.service.in >$@.tmp && mv $@.tmp $@
packaging/units/opsagent-logs.service: $(top_srcdir)/packaging/systemd/opsagent-logs.service.in Makefile
	$(AM_V_GEN)$(packaging_edit_unit) $(top_srcdir)/packaging/systemd/opsagent-logs.service.in >$@.tmp && mv $@.tmp $@
packaging/units/opsagent-configure.service: $(top_srcdir)/packaging/systemd/opsagent-configure.service.in Makefile
	$(AM_V_GEN)$(packaging_edit_unit) $(top_srcdir)/packaging/systemd/opsagent-configure.service.in >$@.tmp && mv $@.tmp $@

CLEANFILES += $(packaging_units_generated)

# The man pages' footer names the release, `.Os opsagent VERSION`: the sources (man/) have
# a placeholder (VERSION between at-signs) there, and the installed copies get configure's
# version, rewritten in place so that they keep the mode `make install` gave them. (A
# prerequisite-only hook rule, so that other fragments may hook installation too.)
packaging_man_installed = $(man3dir)/opsagent-recipe.3 $(man5dir)/opsagent.json.5 \
	$(man7dir)/opsagent-recipes.7 $(man8dir)/opsagent.8
install-data-hook: install-man-version
install-man-version:
	@for f in $(packaging_man_installed); do \
		f="$(DESTDIR)$$f"; \
		$(SED) -e 's|^\.Os opsagent @VERSION[@]$$|.Os opsagent $(VERSION)|' "$$f" >"$$f.tmp" && \
			cat "$$f.tmp" >"$$f" && rm -f "$$f.tmp" || exit 1; \
	done
.PHONY: install-man-version

# The journal catalog of the run started/succeeded/failed lines (journalctl -x); systemd's
# package triggers journalctl --update-catalog on this directory.
systemdcatalogdir = $(prefix)/lib/systemd/catalog
dist_systemdcatalog_DATA = packaging/systemd/opsagent.catalog

# The least-privilege IAM policy for what the recipes and the report call.
packagingdocdir = $(docdir)
dist_packagingdoc_DATA = packaging/iam-policy.json packaging/cloudwatch-alarms.yaml \
	packaging/cloudwatch-logs.yaml packaging/ssm/opsagent-run.json README.md SECURITY.md NEWS

EXTRA_DIST += $(packaging_unit_templates) \
	packaging/systemd/opsagent-report.timer \
	packaging/systemd/opsagent-configure.timer \
	$(packaging_recipe_timers) \
	$(ebssnapshotsdropin_DATA) $(logrotatedropin_DATA) $(unattendedupgradesdropin_DATA)

# Tests: the units verify (systemd-analyze), the IAM policy says what it must.
packaging_tests = \
	tests/packaging/test_units.py \
	tests/packaging/test_iam_policy.py \
	tests/packaging/test_readme.py \
	tests/packaging/test_setup.py \
	tests/packaging/test_undo.py \
	tests/packaging/test_catalog.py \
	tests/packaging/test_changelogs.py \
	tests/packaging/test_ssm_document.py
TESTS += $(packaging_tests)
EXTRA_DIST += $(packaging_tests) tests/packaging/systemd_mock.py

# The probe recipes setup's integration test runs (its unit tests are in agent/cmd/cmd.mk).

packaging_probe_flags = -module -avoid-version -shared -rpath /nowhere
check_LTLIBRARIES += tests/packaging/plugins/probe_setup.la tests/packaging/plugins/probe_nightly.la \
	tests/packaging/plugins/probe_weekly.la tests/packaging/plugins/probe_configure.la
tests_packaging_plugins_probe_setup_la_SOURCES = tests/packaging/plugins/probe_setup.c
tests_packaging_plugins_probe_setup_la_LDFLAGS = $(packaging_probe_flags)
tests_packaging_plugins_probe_setup_la_LIBADD = $(JSONC_LIBS)
tests_packaging_plugins_probe_nightly_la_SOURCES = tests/packaging/plugins/probe_nightly.c
tests_packaging_plugins_probe_nightly_la_LDFLAGS = $(packaging_probe_flags)
tests_packaging_plugins_probe_nightly_la_LIBADD = $(JSONC_LIBS)
tests_packaging_plugins_probe_configure_la_SOURCES = tests/packaging/plugins/probe_configure.c
tests_packaging_plugins_probe_configure_la_LDFLAGS = $(packaging_probe_flags)
tests_packaging_plugins_probe_configure_la_LIBADD = $(JSONC_LIBS)
tests_packaging_plugins_probe_weekly_la_SOURCES = tests/packaging/plugins/probe_weekly.c
tests_packaging_plugins_probe_weekly_la_LDFLAGS = $(packaging_probe_flags)
tests_packaging_plugins_probe_weekly_la_LIBADD = $(JSONC_LIBS)

# The package sources and the CI checks that build them (.ci/checks/deb-package,
# .ci/checks/rpm-package), so that a release tarball can build its own packages.
EXTRA_DIST += \
	packaging/build-deb.sh packaging/changelogs \
	packaging/debian/changelog packaging/debian/control packaging/debian/copyright \
	packaging/debian/rules packaging/debian/source/format \
	packaging/debian/opsagent.install packaging/debian/opsagent-dev.install \
	packaging/debian/opsagent.postinst packaging/debian/opsagent.postrm packaging/debian/opsagent.prerm \
	packaging/rpm/opsagent.spec packaging/rpm/opsagent.rpmlintrc \
	.ci/checks/deb-package .ci/checks/rpm-package \
	tests/system/run
