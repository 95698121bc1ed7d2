#!/usr/bin/env bash
# A callgrind profile of a full `opsagent run --all`, set up as the demo sets it up
# (tests/demo/parts/*.sh: the AWS stand-in with snapshots to retire, a writer whose log is
# rotated, the ZEO stand-in, an Ubuntu sandbox for unattended_upgrades), every recipe enabled.
# Writes callgrind files to OUTDIR: the agent's, dumped and zeroed before every fork (so that a
# forked recipe child's file holds only what the child did), and one per child.
#
#   OPSAGENT=... OPSAGENT_PLUGIN_PATH=... tests/bench/profile_run_all.sh SANDBOX OUTDIR
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
sandbox=$1
out=$2
agent=${OPSAGENT:?}
rm -rf "$sandbox"
mkdir -p "$sandbox/etc/opsagent" "$out"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
export AWS_EC2_METADATA_DISABLED=true
for part in "$top"/tests/demo/parts/*.sh; do
  # shellcheck source=/dev/null
  . "$part" >/dev/null
done
python3 - "$sandbox/etc/opsagent/stack.json" "$agent" <<'PY'
import json, os, subprocess, sys
path, agent = sys.argv[1], sys.argv[2]
stack = json.load(open(path)) if os.path.exists(path) else {}
names = [r["name"] for r in json.loads(subprocess.check_output([agent, "recipes", "--json"]))]
stack.setdefault("opsagent", {}).setdefault("recipes", {}).update({n: True for n in names})
json.dump(stack, open(path, "w"), indent=2)
PY
chmod 600 "$sandbox/etc/opsagent/stack.json"
valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out.%p" --dump-before="*fork" --compress-strings=no --compress-pos=no \
  "$agent" --root "$sandbox" run --all >"$out/run.out" 2>&1 || { cat "$out/run.out"; exit 1; }
