# Demo part of the ebs_snapshots recipe (sourced by tests/demo/run after 10-aws.sh). Every
# attached volume of the stand-in's instance has four older snapshots of ours (one a night)
# and one taken by hand; with keep 3 the run snapshots each volume, deletes the two oldest of
# ours and leaves the manual one alone.
python3 - "$sandbox/etc/opsagent/stack.json" "$AWS_ENDPOINT_URL_EC2" <<'PY'
import json, os, sys, time, urllib.request
path, url = sys.argv[1], sys.argv[2]

def post(p, body):
    req = urllib.request.Request(url + p, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)

with urllib.request.urlopen(url + "/_standin/instance") as r:
    inst = json.load(r)
now = time.time()
for vol in inst["volume_ids"]:
    for night in range(1, 5):
        post("/_standin/snapshots", {"volume_id": vol, "tags": {"opsagent:managed": "true"},
                                     "start_time": now - night * 86400})
    post("/_standin/snapshots", {"volume_id": vol, "description": "taken by hand before an upgrade",
                                 "start_time": now - 40 * 86400})
stack = json.load(open(path)) if os.path.exists(path) else {}
stack["ebs_snapshots"] = {"keep": 3, "tags": {"Stack": "demo"}}
json.dump(stack, open(path, "w"), indent=2)
PY
