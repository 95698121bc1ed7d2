# Demo part of the logrotate recipe (sourced by tests/demo/run; $sandbox, $top, pids set).
# The shipped sets need no attributes: a Plone site whose instance reopens its log on SIGUSR2
# (a stand-in writer with a pidfile) and a supervisor log rotated with copytruncate, both
# last rotated "yesterday" so that this run rotates them.
lr_site=$sandbox/srv/www/demo/var
mkdir -p "$lr_site/log" "$sandbox/var/log/supervisor" "$sandbox/var/lib/opsagent/recipes/logrotate"
python3 "$top/tests/integration/logrotate_writer.py" "$lr_site/log/instance.log" "$lr_site/instance.pid" \
  "$lr_site/writer.count" 200 &
pids+=($!)
for _ in $(seq 50); do [ -s "$lr_site/instance.pid" ] && break; sleep 0.1; done
seq -f 'supervisord: worker line %g' 1 5000 > "$sandbox/var/log/supervisor/worker.log"
python3 - "$sandbox/var/lib/opsagent/recipes/logrotate/status.json" <<'PY'
import json, sys, time
yesterday = int(time.time()) - 86400
json.dump({"version": 1, "logs": {p: {"last_rotated": yesterday} for p in
           ("/srv/www/demo/var/log/instance.log", "/var/log/supervisor/worker.log")}},
          open(sys.argv[1], "w"))
PY
