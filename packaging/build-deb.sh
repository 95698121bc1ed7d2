# Sourced by the CI checks in .ci/checks: builds the Debian packages of the tree at $1 in
# the empty directory $2 (the source tree goes to $2/opsagent, the .debs and .changes to
# $2). The tree is what git knows (tracked files and new ones not ignored), as it is in the
# working copy, with packaging/debian moved to its top as dpkg-buildpackage wants it.
# Tests are not run again here: they have their own CI step.
opsagent_build_debs() { # top work
	local top=$1 work=$2 src=$2/opsagent
	mkdir -p "$src"
	(cd "$top" && git ls-files -z -co --exclude-standard |
		tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$src"
	cp -a "$src/packaging/debian" "$src/debian"
	(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b \
		>"$work/build.log" 2>&1) || { tail -60 "$work/build.log"; return 1; }
}
