# Sourced by the CI checks in .ci/checks and by tests/system: builds the Debian packages of
# the tree at $1 in the empty directory $2 (the source tree goes to $2/opsagent, the .debs
# and .changes to $2). The tree is what git knows (tracked files and new ones not ignored),
# as it is in the working copy, with packaging/debian moved to its top as dpkg-buildpackage
# wants it. With $3, the packages get that version instead of the changelog's: a
# changelog entry is added for it (tests/system builds a higher one to test upgrades).
# Tests are not run again here: they have their own CI step.
opsagent_build_debs() { # top work [version]
	local top=$1 work=$2 version=${3:-} src=$2/opsagent
	mkdir -p "$src"
	(cd "$top" && git ls-files -z -co --exclude-standard |
		tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$src"
	cp -a "$src/packaging/debian" "$src/debian"
	if [ -n "$version" ]; then
		{ printf 'opsagent (%s) unstable; urgency=medium\n\n' "$version"
		  printf '  * The same tree, rebuilt with a higher version.\n\n'
		  printf ' -- opsagent developers <opsagent-dev@example.invalid>  %s\n\n' "$(LC_ALL=C date -R)"
		  cat "$src/packaging/debian/changelog"; } >"$src/debian/changelog"
	fi
	(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b \
		>"$work/build.log" 2>&1) || { tail -60 "$work/build.log"; return 1; }
}
