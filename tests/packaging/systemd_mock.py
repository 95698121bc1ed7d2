"""python3-dbusmock template: systemd's Manager as much as `opsagent setup` and the recipes
use it, with unit-file state (enable/disable) as well as unit state (start/stop).

    /usr/bin/python3 -m dbusmock --system --template tests/packaging/systemd_mock.py \
        -p '{"unit_files": {"opsagent-report.timer": "disabled"}}'

Mock-only methods on org.freedesktop.DBus.Mock: GetState() returns JSON
{"unit_files": {name: state}, "active": {name: state}, "calls": [[method, args...], ...]},
AddUnitFile(name, state), ClearCalls(), Reset(unit_files_json).
"""
import json

import dbus
from dbusmock import MOCK_IFACE, mockobject
from gi.repository import GLib

BUS_NAME = "org.freedesktop.systemd1"
MAIN_OBJ = "/org/freedesktop/systemd1"
MAIN_IFACE = "org.freedesktop.systemd1.Manager"
UNIT_IFACE = "org.freedesktop.systemd1.Unit"
SYSTEM_BUS = True
NO_SUCH_UNIT = "org.freedesktop.systemd1.NoSuchUnit"
WANTS_DIR = "/etc/systemd/system/timers.target.wants/"
UNIT_DIR = "/usr/lib/systemd/system/"


def escape(name):
    out = []
    for ch in name:
        if ch.isalnum():
            out.append(ch)
        else:
            out.append("_%02x" % ord(ch))
    return "".join(out)


def load(mock, parameters):
    mock.next_job_id = 1
    mock.unit_files = dict(parameters.get("unit_files", {}))
    mock.active = {}
    mock.unit_paths = {}
    mock.calls = []
    mock.AddProperties(MAIN_IFACE, {"Version": "252", "Architecture": "x86-64"})


def _record(self, *call):
    self.calls.append([str(c) if not isinstance(c, (list, dbus.Array)) else [str(x) for x in c] for c in call])


def _unit_path(self, name):
    name = str(name)
    if name not in self.unit_files:
        raise dbus.exceptions.DBusException("Unit %s not found." % name, name=NO_SUCH_UNIT)
    if name not in self.unit_paths:
        path = MAIN_OBJ + "/unit/" + escape(name)
        self.unit_paths[name] = path
        self.AddObject(path, UNIT_IFACE, {
            "Id": name, "Names": [name], "LoadState": "loaded",
            "ActiveState": self.active.get(name, "inactive"), "SubState": "dead",
            "UnitFileState": self.unit_files[name],
        }, [])
    return self.unit_paths[name]


def _sync(self, name):
    if name in self.unit_paths:
        obj = mockobject.objects[self.unit_paths[name]]
        obj.UpdateProperties(UNIT_IFACE, {
            "ActiveState": self.active.get(name, "inactive"),
            "SubState": "waiting" if self.active.get(name) == "active" else "dead",
            "UnitFileState": self.unit_files[name],
        })


def _job(self, name):
    job_id = self.next_job_id
    self.next_job_id += 1
    path = "%s/job/%d" % (MAIN_OBJ, job_id)

    def done():
        self.EmitSignal(MAIN_IFACE, "JobNew", "uos", [job_id, path, name])
        self.EmitSignal(MAIN_IFACE, "JobRemoved", "uoss", [job_id, path, name, "done"])
        return False
    GLib.timeout_add(20, done)
    return path


@dbus.service.method(MAIN_IFACE, in_signature="", out_signature="")
def Subscribe(self):
    pass


@dbus.service.method(MAIN_IFACE, in_signature="", out_signature="")
def Unsubscribe(self):
    pass


@dbus.service.method(MAIN_IFACE, in_signature="", out_signature="")
def Reload(self):
    _record(self, "Reload")


@dbus.service.method(MAIN_IFACE, in_signature="s", out_signature="s")
def GetUnitFileState(self, name):
    name = str(name)
    _record(self, "GetUnitFileState", name)
    if name not in self.unit_files:
        raise dbus.exceptions.DBusException("No such file or directory", name=NO_SUCH_UNIT)
    return self.unit_files[name]


@dbus.service.method(MAIN_IFACE, in_signature="s", out_signature="o")
def GetUnit(self, name):
    name = str(name)
    _record(self, "GetUnit", name)
    if name not in self.unit_paths:
        raise dbus.exceptions.DBusException("Unit %s not loaded." % name, name=NO_SUCH_UNIT)
    return self.unit_paths[name]


@dbus.service.method(MAIN_IFACE, in_signature="s", out_signature="o")
def LoadUnit(self, name):
    _record(self, "LoadUnit", str(name))
    return _unit_path(self, name)


@dbus.service.method(MAIN_IFACE, in_signature="asbb", out_signature="ba(sss)")
def EnableUnitFiles(self, files, runtime, force):
    _record(self, "EnableUnitFiles", list(files))
    changes = []
    for f in files:
        f = str(f)
        if f not in self.unit_files:
            raise dbus.exceptions.DBusException("Unit file %s does not exist." % f, name=NO_SUCH_UNIT)
        if self.unit_files[f] != "enabled":
            self.unit_files[f] = "enabled"
            changes.append(("symlink", WANTS_DIR + f, UNIT_DIR + f))
        _sync(self, f)
    return (True, changes)


@dbus.service.method(MAIN_IFACE, in_signature="asb", out_signature="a(sss)")
def DisableUnitFiles(self, files, runtime):
    _record(self, "DisableUnitFiles", list(files))
    changes = []
    for f in files:
        f = str(f)
        if self.unit_files.get(f) == "enabled":
            self.unit_files[f] = "disabled"
            changes.append(("unlink", WANTS_DIR + f, ""))
        _sync(self, f)
    return changes


@dbus.service.method(MAIN_IFACE, in_signature="ss", out_signature="o")
def StartUnit(self, name, mode):
    name = str(name)
    _record(self, "StartUnit", name, str(mode))
    _unit_path(self, name)
    self.active[name] = "active"
    _sync(self, name)
    return _job(self, name)


@dbus.service.method(MAIN_IFACE, in_signature="ss", out_signature="o")
def StopUnit(self, name, mode):
    name = str(name)
    _record(self, "StopUnit", name, str(mode))
    _unit_path(self, name)
    self.active[name] = "inactive"
    _sync(self, name)
    return _job(self, name)


@dbus.service.method(MAIN_IFACE, in_signature="ssi", out_signature="")
def KillUnit(self, name, who, signal):
    _record(self, "KillUnit", str(name), str(who), int(signal))
    _unit_path(self, name)


@dbus.service.method(MOCK_IFACE, in_signature="ss", out_signature="")
def AddUnitFile(self, name, state):
    self.unit_files[str(name)] = str(state)


@dbus.service.method(MOCK_IFACE, in_signature="", out_signature="s")
def GetState(self):
    return json.dumps({"unit_files": self.unit_files, "active": self.active, "calls": self.calls})


@dbus.service.method(MOCK_IFACE, in_signature="", out_signature="")
def ClearCalls(self):
    self.calls = []


@dbus.service.method(MOCK_IFACE, in_signature="s", out_signature="")
def Reset(self, unit_files_json):
    """Back to a fresh state: these unit files (JSON {name: state}), nothing active, no calls."""
    self.unit_files = dict(json.loads(str(unit_files_json)))
    self.active = {}
    self.calls = []
    for name in list(self.unit_paths):
        if name in self.unit_files:
            _sync(self, name)
