# Packaging: systemd units, deb/rpm (issue 9).
