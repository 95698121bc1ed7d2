#!/usr/bin/env python3
"""The shape of the tree, checked (docs/internals.md, "The layer rule").

- agent/: a module includes only modules of its own folder or of a folder below it:
      util < config = aws < run < report < logs < cmd < main.c
  config and aws are peers: neither includes the other.
- recipes/NAME/: only the SDK (<opsagent/...>), its own folder, and agent/util/.
- No include cycle anywhere in agent/ or recipes/.

Run as a test (TAP) from `make check`, or by hand: check_layers.py [--tree DIR].
"""
import os
import re
import sys
import tempfile

RANK = {"util": 0, "config": 1, "aws": 1, "run": 2, "report": 3, "logs": 4, "cmd": 5, "": 6}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(tree):
    for top in ("agent", "recipes"):
        for d, _, files in os.walk(os.path.join(tree, top)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(d, f), tree)


def resolve(tree, src, inc):
    """The tree-relative file an include names, or None for the SDK or a system header."""
    if inc.startswith("opsagent/"):
        return None
    here = os.path.normpath(os.path.join(os.path.dirname(src), inc))
    if os.path.exists(os.path.join(tree, here)):
        return here
    under_agent = os.path.normpath(os.path.join("agent", inc))
    if os.path.exists(os.path.join(tree, under_agent)):
        return under_agent
    return "?" + inc


def folder(path):
    parts = path.split("/")
    if parts[0] == "agent":
        return parts[1] if len(parts) > 2 else ""
    return "/".join(parts[:2])


def problems(tree):
    """(layer problems, cycle problems) as lists of one-line messages."""
    layer, graph = [], {}
    for src in sources(tree):
        with open(os.path.join(tree, src), errors="replace") as f:
            text = f.read()
        deps = graph.setdefault(src, set())
        for inc in INCLUDE.findall(text):
            dst = resolve(tree, src, inc)
            if dst is None:
                continue
            if dst.startswith("?"):
                layer.append("%s: includes \"%s\", which is nowhere in the tree" % (src, inc))
                continue
            deps.add(dst)
            sf, df = folder(src), folder(dst)
            if src.startswith("recipes/"):
                if df != sf and not dst.startswith("agent/util/"):
                    layer.append("%s: a recipe includes %s (only the SDK, its own folder and agent/util/)"
                                 % (src, dst))
            elif dst.startswith("recipes/"):
                layer.append("%s: the agent includes the recipe file %s" % (src, dst))
            elif sf not in RANK or df not in RANK:
                layer.append("%s -> %s: a folder the layer rule does not know (add it to RANK and "
                             "docs/internals.md)" % (src, dst))
            elif sf != df and RANK[df] >= RANK[sf]:
                layer.append("%s -> %s: %s includes %s, which is not below it" % (src, dst, sf or "main",
                                                                                  df or "main"))
    # Cycles between files (a .c including its own .h is not one: .c files are never included).
    cycles, state, stack = [], {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                cycles.append(" -> ".join(stack[stack.index(m):] + [m]))
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    return layer, cycles


def self_test():
    """The check itself finds an upward include and a cycle in a tree made to have them."""
    with tempfile.TemporaryDirectory() as t:
        files = {
            "agent/util/a.h": '#include "report/b.h"\n',
            "agent/report/b.h": '#include "util/a.h"\n',
            "agent/config/c.h": '#include "aws/d.h"\n',
            "agent/aws/d.h": "\n",
            "recipes/x/x.c": '#include "run/e.h"\n',
            "agent/run/e.h": "\n",
        }
        for p, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(t, p)), exist_ok=True)
            with open(os.path.join(t, p), "w") as f:
                f.write(text)
        layer, cycles = problems(t)
        joined = "\n".join(layer)
        return ("agent/util/a.h -> agent/report/b.h" in joined and "agent/config/c.h -> agent/aws/d.h" in joined
                and "recipes/x/x.c" in joined and len(cycles) == 1 and "agent/util/a.h" in cycles[0])


def main():
    tree = os.environ.get("abs_top_srcdir") or os.path.join(os.path.dirname(__file__), "..", "..")
    if len(sys.argv) == 3 and sys.argv[1] == "--tree":
        tree = sys.argv[2]
    layer, cycles = problems(tree)
    checks = [
        ("the check finds what it is meant to find (self-test)", self_test(), []),
        ("no include points up a layer or across to a peer", not layer, layer),
        ("no include cycle in agent/ or recipes/", not cycles, cycles),
    ]
    print("1..%d" % len(checks))
    failed = 0
    for i, (name, ok, why) in enumerate(checks, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
        for w in why:
            print("# " + w)
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
