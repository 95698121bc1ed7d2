# Demo part of the unattended_upgrades recipe (sourced by tests/demo/run; $sandbox, $top set).
# The sandbox is an Ubuntu 24.04 with unattended-upgrades' own 50unattended-upgrades, and the
# stack's Custom JSON is the seed's. The recipe writes 20auto-upgrades and its own apt.conf.d
# file, says it would install unattended-upgrades and a mailer (never under a root prefix) and
# which timers it would enable (no private system bus here, so the host's systemd is left
# alone). `apt-config dump` with APT_CONFIG pointing at the sandbox shows apt's view after it.
uu_data=$top/tests/data/unattended_upgrades
mkdir -p "$sandbox/etc/apt/apt.conf.d"
cp "$uu_data/os-release/ubuntu-24.04" "$sandbox/etc/os-release"
# The recipe reads the sandbox's os-release, not the host's: say so before it says "ubuntu 24.04".
echo "== the sandbox's /etc/os-release is Ubuntu 24.04's (faked: this host is" \
  "$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-${ID:-unknown}}" || echo unknown)), so unattended_upgrades" \
  "below says ubuntu 24.04"
cp "$uu_data/50unattended-upgrades.ubuntu" "$sandbox/etc/apt/apt.conf.d/50unattended-upgrades"
python3 - "$sandbox/etc/opsagent/stack.json" <<'PY'
import json, os, sys
path = sys.argv[1]
stack = json.load(open(path)) if os.path.exists(path) else {}
stack.setdefault("apt", {})["unattended_upgrades"] = {
    "package_blacklist": [], "enable": True, "mail": "youremail@here", "auto_fix_interrupted_dpkg": True}
json.dump(stack, open(path, "w"), indent=2)
PY
printf 'Dir "%s/";\n' "$sandbox" > "$sandbox/apt-demo.conf"
