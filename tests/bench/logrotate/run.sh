#!/bin/sh
# Benchmark: a 1 GiB access log rotated and compressed by the logrotate recipe (default zstd,
# and gzip mode) and by Debian's logrotate with its default gzip, side by side.
# CPU seconds (user+sys, children included), wall seconds, output size.
#
#   tests/bench/logrotate/run.sh [BUILDDIR] [SIZE_BYTES]
#
# Needs a built tree (recipes/logrotate/lr-driver), logrotate and python3. Works in
# ${BENCH_DIR:-/work/tmp} (about 3x SIZE free) and removes its files at the end.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
builddir=${1:-$(cd "$here/../../.." && pwd)}
size=${2:-1073741824}
driver=$builddir/recipes/logrotate/lr-driver
logrotate=$(command -v logrotate || echo /usr/sbin/logrotate)
base=${BENCH_DIR:-/work/tmp}
mkdir -p "$base"
dir=$(mktemp -d "$base/lr-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
export TZ=UTC

[ -x "$driver" ] || { echo "build first: $driver is missing" >&2; exit 2; }
echo "generating $size bytes of access log in $dir ..." >&2
python3 "$here/genlog.py" "$size" > "$dir/access.log.src"

# run NAME COMMAND...: times COMMAND on a fresh copy of the log (page cache warm for both)
run() {
        name=$1; shift
        rm -rf "$dir/root" "$dir/state"; mkdir -p "$dir/root/var/log/web" "$dir/state"
        cp "$dir/access.log.src" "$dir/root/var/log/web/access.log"
        cat "$dir/root/var/log/web/access.log" > /dev/null
        /usr/bin/time -f "%e %U %S" -o "$dir/time" "$@" > "$dir/out" 2>&1 || { cat "$dir/out" >&2; exit 1; }
        out=$(ls "$dir/root/var/log/web/" | grep -v '^access.log$')
        cpu=$(awk '{ print $2 + $3 }' "$dir/time")
        wall=$(awk '{ print $1 }' "$dir/time")
        bytes=$(stat -c %s "$dir/root/var/log/web/$out")
        printf '%-28s %8.2f %8.2f %14d  %s\n' "$name" "$cpu" "$wall" "$bytes" "$out"
        echo "$name $cpu $wall $bytes" >> "$dir/results"
}

attrs() {
        printf '{"sets": {"web": {"paths": ["/var/log/web/access.log"], "size": 1, "rotate": 2, "method": "create"%s}}}' "$1" > "$dir/attrs.json"
}

printf '%-28s %8s %8s %14s  %s\n' "" "CPU s" "wall s" "output bytes" "file"
printf '/var/log/web/access.log {\n  size 1\n  rotate 2\n  create\n  compress\n}\n' | sed "s|^/|$dir/root/|" > "$dir/logrotate.conf"
run "logrotate 3.x (gzip -6)" "$logrotate" -s "$dir/state/logrotate.status" "$dir/logrotate.conf"
attrs ''
run "recipe default (zstd)" "$driver" --no-defaults --root "$dir/root" --state-dir "$dir/state" "$dir/attrs.json"
attrs ', "compress": "gzip"'
run "recipe gzip mode (-6)" "$driver" --no-defaults --root "$dir/root" --state-dir "$dir/state" "$dir/attrs.json"

awk 'NR == 1 { c = $(NF-2); w = $(NF-1); b = $NF }
     NR == 2 { printf "default vs logrotate: %.1fx less CPU, output %.3fx\n", c / $(NF-2), $NF / b }
     NR == 3 { printf "gzip mode vs logrotate: wall %.2fx (<= 1 is no slower), CPU %.2fx\n", $(NF-1) / w, $(NF-2) / c }' "$dir/results"
