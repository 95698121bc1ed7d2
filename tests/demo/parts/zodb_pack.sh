# Demo part for zodb_pack (sourced by tests/demo/run): a ZEO 5 stand-in serving storage "1"
# on a Unix socket inside the sandbox, packing slowly with asynchronous messages meanwhile,
# and the recipe's attributes pointing at it (a path address is under the --root prefix).
mkdir -p "$sandbox/run/zeo"
python3 -B "$top/tests/zeo/zeo_standin.py" --unix "$sandbox/run/zeo/zeo.sock" --pack-delay 0.5 --noise \
  >"$sandbox/run/zeo/standin.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  grep -q '^READY' "$sandbox/run/zeo/standin.out" 2>/dev/null && break
  sleep 0.1
done
python3 - "$sandbox/etc/opsagent/stack.json" <<'PY'
import json, os, sys
path = sys.argv[1]
stack = json.load(open(path)) if os.path.exists(path) else {}
stack["zodb_pack"] = {"servers": [{"address": "/run/zeo/zeo.sock", "storages": ["1"]}], "days": 1}
json.dump(stack, open(path, "w"), indent=2)
PY
