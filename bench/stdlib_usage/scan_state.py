#!/usr/bin/env python3
"""Lists the calls a start state's modules make at import that read the clock,
draw randomness, open files or start threads: state a snapshot would carry.

Owns the "Checked in the guest" scan of docs/START-STATE.md. Reads module names
(whitespace-separated, e.g. a sandbox's sorted sys.modules) on stdin and scans
the module-level code (function bodies skipped, decorators and defaults not) of
each one's source in this Python's stdlib: run it with the guest's version.
    build/eryx --import json ... -c 'import sys; print(*sorted(sys.modules))' \\
        | python3.13 bench/stdlib_usage/scan_state.py
"""

from __future__ import annotations

import ast
import importlib.util
import sys

SUSPECT = {"time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns",
           "urandom", "Random", "SystemRandom", "seed", "getrandbits", "random", "uuid1", "uuid4",
           "open", "Thread", "start", "getpid", "getenv"}


def import_time_calls(tree: ast.AST):
    stack = [tree]
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stack.extend(n.decorator_list + n.args.defaults + [d for d in n.args.kw_defaults if d])
            continue
        if isinstance(n, ast.Lambda):
            continue
        if isinstance(n, ast.Call):
            yield n
        stack.extend(ast.iter_child_nodes(n))


def main() -> None:
    for m in sys.stdin.read().split():
        try:
            spec = importlib.util.find_spec(m)
        except (ImportError, ValueError):
            continue
        if not spec:
            continue  # the guest's own (_eryx, _eryx_support)
        path = spec.origin
        if path == "frozen":  # os, stat, codecs...: frozen, their source beside
            path = getattr(spec.loader_state, "filename", None)
        if not path or not path.endswith(".py"):
            continue  # built-in (C) modules
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for call in import_time_calls(tree):
            f = call.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name in SUSPECT:
                print(f"{m}:{call.lineno}: {ast.unparse(call)[:100]}")


if __name__ == "__main__":
    main()
