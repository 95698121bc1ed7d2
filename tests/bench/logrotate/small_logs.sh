#!/bin/sh
# Benchmark: many small logs (issue 22, item 1). For each count (10, 100, 1000, 5000 by default),
# N logs of 4 KiB in one directory are rotated (method create, size 1, rotate 4) with a fresh
# state, by Debian's logrotate with `compress` (gzip -6, a process per log) and by the recipe
# through lr-driver (its default zstd, and gzip): CPU seconds per log (user+sys, children
# included, from getrusage; the mean of enough runs to rotate $RUNS_LOGS logs, 200 by default),
# fsync(2)+fdatasync(2) calls per log (strace -f -c), and with
# CALLGRIND=1 the recipe's instructions per log (valgrind --tool=callgrind).
#
#   tests/bench/logrotate/small_logs.sh [BUILDDIR] [COUNT...]
#
# Works in ${BENCH_DIR:-/work/tmp} and removes its files at the end. Not run by `make check`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
builddir=${1:-$(cd "$here/../../.." && pwd)}
[ $# -gt 0 ] && shift
counts=${*:-10 100 1000 5000}
RUNS_LOGS=${RUNS_LOGS:-200}
driver=$builddir/recipes/logrotate/lr-driver
logrotate=$(command -v logrotate || echo /usr/sbin/logrotate)
base=${BENCH_DIR:-/work/tmp}
mkdir -p "$base"
dir=$(mktemp -d "$base/lr-small.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
export TZ=UTC
[ -x "$driver" ] || { echo "build first: $driver is missing" >&2; exit 2; }

python3 "$here/genlog.py" 4096 > "$dir/one.log"

fresh() { # N: N logs of 4 KiB in root/var/log/many, an empty state
        rm -rf "$dir/root" "$dir/state"; mkdir -p "$dir/root/var/log/many" "$dir/state"
        i=0
        while [ "$i" -lt "$1" ]; do cp "$dir/one.log" "$dir/root/var/log/many/app$i.log"; i=$((i + 1)); done

}

# cpu COMMAND...: user+sys CPU seconds of COMMAND and its children, to the microsecond
# (/usr/bin/time's resolution, 10 ms, is too coarse for 10 logs)
cpu() {
        python3 -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.6f" % (u.ru_utime + u.ru_stime) if r.returncode == 0 else "failed")' "$@"
}

# measure NAME N COMMAND...: prints CPU s per log (the mean of enough runs to rotate
# $RUNS_LOGS logs), fsyncs per log (and instructions per log)
measure() {
        name=$1; n=$2; shift 2
        runs=$(( (RUNS_LOGS + n - 1) / n )); cpu=0; k=0
        while [ "$k" -lt "$runs" ]; do
                fresh "$n"
                c=$(cpu "$@")
                [ "$c" != failed ] || { echo "$name failed: $*" >&2; exit 1; }
                cpu=$(echo "$cpu $c" | awk '{ print $1 + $2 }'); k=$((k + 1))
        done
        cpu=$(echo "$cpu $runs" | awk '{ printf "%.4f", $1 / $2 }')
        fresh "$n"
        strace -f -c -e trace=fsync,fdatasync -o "$dir/strace" "$@" > /dev/null 2>&1
        fsyncs=$(awk '$NF == "fsync" || $NF == "fdatasync" { s += $4 } END { print s + 0 }' "$dir/strace")
        ir=-
        if [ "${CALLGRIND:-0}" = 1 ] && [ "$name" != logrotate ]; then
                fresh "$n"
                valgrind --tool=callgrind --callgrind-out-file="$dir/cg" "$@" > /dev/null 2>"$dir/cg.err"
                ir=$(sed -n 's/^summary: //p' "$dir/cg" | awk -v n="$n" '{ printf "%.0f", $1 / n }')
        fi
        printf '%-22s %6d %10.4f %12.3f %10.2f %14s\n' "$name" "$n" "$cpu" "$(echo "$cpu $n" | awk '{ printf "%.3f", 1000 * $1 / $2 }')" \
                "$(echo "$fsyncs $n" | awk '{ printf "%.2f", $1 / $2 }')" "$ir"
        echo "$name $n $cpu $fsyncs $ir" >> "$dir/results"
}

printf '%-22s %6s %10s %12s %10s %14s\n' "" "logs" "CPU s" "CPU ms/log" "fsync/log" "instr/log"
for n in $counts; do
        printf '"%s/root/var/log/many/*.log" {\n  size 1\n  rotate 4\n  create\n  compress\n}\n' "$dir" > "$dir/logrotate.conf"
        measure logrotate "$n" "$logrotate" -s "$dir/state/logrotate.status" "$dir/logrotate.conf"
        for comp in zstd gzip; do
                printf '{"sets": {"many": {"paths": ["/var/log/many/*.log"], "size": 1, "rotate": 4, "method": "create", "compress": "%s"}}}' \
                        "$comp" > "$dir/attrs.json"
                measure "opsagent ($comp)" "$n" "$driver" --no-defaults --root "$dir/root" --state-dir "$dir/state" "$dir/attrs.json"
        done
done
awk '$1 == "logrotate" { lr[$2] = $3; lf[$2] = $4 }
     $1 != "logrotate" { name = $1 " " $2; n = $3
                         if (lr[n] > 0) printf "%-18s %6d logs: CPU %.2fx logrotate'"'"'s (below 1: cheaper), fsyncs %d vs %d\n", name, n, $4 / lr[n], $5, lf[n] }' \
     "$dir/results"
