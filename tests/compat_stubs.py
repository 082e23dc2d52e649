"""Diff eryx's Python API against pyeryx 0.11's, class by class (issue 20).

    build/venv/bin/python tests/compat_stubs.py [--reference PATH] [--fetch] [--strict] [--all]

The reference is pyeryx 0.11.0's stub file, eryx/_eryx.pyi, read with `ast` (never
imported): PATH may be that .pyi, a site-packages directory or a venv holding
eryx/_eryx.pyi, or the wheel (.whl, checked against the pinned sha256 of
bench/requirements-pyeryx.txt). Without --reference the script looks in the bench
venv bench/corpus.py makes ($XDG_CACHE_HOME/eryx/bench-venvs/pyeryx-0.11.0-*), then
for the wheel in $XDG_CACHE_HOME/eryx/wheels/; --fetch downloads the wheel there
(`pip download --require-hashes`) when neither is found. Ours is the `eryx` module
the running Python imports (the build venv's: what a user gets), read with inspect.

For each name in the reference's __all__ it compares: presence; base classes; each
public member (and __init__, __enter__/__exit__, __aenter__/__aexit__...): method or
property, settable or not, async or not; each method's parameters (name, kind:
positional-only, positional, keyword-only, *args, **kwargs) and defaults (a `...`
default in the stub only says that there is one). Every difference has a key
("Sandbox.execute(timeout_ms)", "SandboxPool"); KNOWN below lists the differences
already accepted, each with its reason (docs/PYTHON.md, "Differences from pyeryx
0.11", says the same). Prints every difference, marking the known ones; names and
optional parameters only ours has are listed with --all (a superset breaks no
caller). Exits 0, or with --strict 1 when a difference is not in KNOWN (KNOWN
entries that no longer differ are reported as stale, which does not fail).
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import inspect
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "bench" / "requirements-pyeryx.txt"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "eryx"

# Differences accepted for now: key -> reason. A new difference is not here, so the
# pytest (python/tests/test_compat_stubs.py) fails on it.
KNOWN: dict[str, str] = {
    # Same behaviour, spelled differently.
    **{f"ResourceLimits.__init__({p}): default": "same default: the reference's stub says None, its runtime "
       "applies 30000 / 10000 / 134217728 / 1000 (ResourceLimits() shows Some(30000)...); ours shows the value"
       for p in ("execution_timeout_ms", "callback_timeout_ms", "max_memory_bytes", "max_callback_invocations")},
    "Session.__init__(vfs_mount_path): default": "same effect: the reference's None means /data (its docstring)",
    "MCPManager.connect(args): default": "same meaning, an immutable () for the mutable []; MCP has its own issue",
    "MCPManager.connect(env): default": "same meaning (the child gets this process's environment plus env), None "
                                        "for the mutable {}; MCP has its own issue",
    # Deliberate.
    "Session.__init__(execution_timeout_ms): default": "deliberate: a session is bounded by default (30 s, as "
                                                       "ResourceLimits()); None turns it off (PYTHON.md, Default limits)",
    # Not done yet.
    "NetConfig.with_root_cert(cert_der)": "networking has its own issue (not issue 20): ours names the parameter cert",
    "NetConfig.with_root_cert(cert): extra": "the same rename, seen from our side",
}


# ---- the reference: the stub file, parsed ------------------------------------------

def pinned_sha256() -> str:
    m = re.search(r"--hash=sha256:([0-9a-f]{64})", REQUIREMENTS.read_text())
    if not m:
        sys.exit(f"compat_stubs: no sha256 pin in {REQUIREMENTS}")
    return m.group(1)


def fetch_wheel() -> Path:
    dest = CACHE / "wheels"
    dest.mkdir(parents=True, exist_ok=True)
    print(f"[compat_stubs] pip download pyeryx 0.11.0 (pinned by hash) into {dest}", file=sys.stderr)
    # The wheel is cp312-abi3: --python-version lets an older interpreter (the build
    # venv's) download it; nothing is installed, only the stub file is read.
    r = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--isolated", "--no-deps",
                        "--only-binary", ":all:", "--python-version", "3.12", "--require-hashes", "-r",
                        str(REQUIREMENTS), "-d", str(dest)])
    wheels = sorted(dest.glob("pyeryx-0.11.0-*.whl"))
    if r.returncode or not wheels:
        sys.exit(f"compat_stubs: pip download of pyeryx 0.11.0 failed (exit {r.returncode}); "
                 "pass --reference PATH to a copy of its wheel or stubs")
    return wheels[0]


def default_reference(fetch: bool) -> Path | None:
    for venv in sorted((CACHE / "bench-venvs").glob("pyeryx-0.11.0-*")):
        found = list(venv.glob("lib/python3*/site-packages/eryx/_eryx.pyi"))
        if found:
            return found[0]
    wheels = sorted((CACHE / "wheels").glob("pyeryx-0.11.0-*.whl"))
    if wheels:
        return wheels[0]
    return fetch_wheel() if fetch else None


def reference_source(path: Path) -> tuple[str, str]:
    """The stub's text and where it came from."""
    if path.suffix == ".whl":
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != pinned_sha256():
            sys.exit(f"compat_stubs: {path} has sha256 {digest}, not the pinned {pinned_sha256()} ({REQUIREMENTS})")
        with zipfile.ZipFile(path) as z:
            return z.read("eryx/_eryx.pyi").decode(), f"{path}!eryx/_eryx.pyi"
    if path.is_dir():
        found = list(path.glob("eryx/_eryx.pyi")) + list(path.glob("lib/python3*/site-packages/eryx/_eryx.pyi"))
        if not found:
            sys.exit(f"compat_stubs: no eryx/_eryx.pyi under {path}")
        path = found[0]
    return path.read_text(), str(path)


def _default(node: ast.expr | None) -> object:
    """A parameter's default: NO_DEFAULT, ANY_DEFAULT (the stub's `...`), or its value."""
    if node is None:
        return NO_DEFAULT
    try:
        v = ast.literal_eval(node)
    except ValueError:
        return ast.unparse(node)
    return ANY_DEFAULT if v is Ellipsis else v


class _Mark:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NO_DEFAULT, ANY_DEFAULT, UNKNOWN = _Mark("(required)"), _Mark("(a default)"), _Mark("(unknown)")
KINDS = ("positional-only", "positional", "*args", "keyword-only", "**kwargs")


def _ast_params(fn: ast.FunctionDef | ast.AsyncFunctionDef, drop_first: bool) -> list[tuple[str, str, object]]:
    a = fn.args
    out = []
    pos = a.posonlyargs + a.args
    defaults = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
    for i, (p, d) in enumerate(zip(pos, defaults)):
        out.append((p.arg, KINDS[0] if i < len(a.posonlyargs) else KINDS[1], _default(d)))
    if a.vararg:
        out.append((a.vararg.arg, KINDS[2], NO_DEFAULT))
    for p, d in zip(a.kwonlyargs, a.kw_defaults):
        out.append((p.arg, KINDS[3], _default(d)))
    if a.kwarg:
        out.append((a.kwarg.arg, KINDS[4], NO_DEFAULT))
    return out[1:] if drop_first and out else out


def parse_reference(text: str) -> tuple[list[str], dict[str, dict]]:
    """(__all__ of the package: the stub's public classes, in order; {class: model})."""
    tree = ast.parse(text)
    classes: dict[str, dict] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        members: dict[str, dict] = {}
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                decos = [ast.unparse(d) for d in item.decorator_list]
                if "property" in decos:
                    members[item.name] = {"kind": "property", "settable": False,
                                          "type": item.returns and ast.unparse(item.returns)}
                elif any(d.endswith(".setter") for d in decos):
                    members.setdefault(item.name, {"kind": "property"})["settable"] = True
                else:
                    static = "staticmethod" in decos or "classmethod" in decos
                    members[item.name] = {"kind": "method", "async": isinstance(item, ast.AsyncFunctionDef),
                                          "params": _ast_params(item, drop_first=not ("staticmethod" in decos))
                                          if not static or "classmethod" in decos else _ast_params(item, False)}
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                members[item.target.id] = {"kind": "property", "settable": None,
                                           "type": ast.unparse(item.annotation)}
        classes[node.name] = {"bases": [ast.unparse(b) for b in node.bases], "members": members}
    public = [n for n in classes if not n.startswith("_") and n not in ("SecretDict", "CallbackDict")]
    return public, classes


def ref_members(classes: dict[str, dict], name: str) -> dict[str, dict]:
    """A class's members with those of its bases that the stub defines (base first)."""
    out: dict[str, dict] = {}
    for b in classes[name]["bases"]:
        if b in classes:
            out.update(ref_members(classes, b))
    out.update(classes[name]["members"])
    return out


def ref_ancestors(classes: dict[str, dict], name: str) -> set[str]:
    out = set()
    for b in classes[name]["bases"]:  # "EryxError" is the stub's, "builtins.TimeoutError" is not
        out.add(b.split(".")[-1])
        if b in classes:
            out |= ref_ancestors(classes, b)
    return out


# ---- ours: the module, inspected -----------------------------------------------------

DUNDERS = {"__init__", "__enter__", "__exit__", "__aenter__", "__aexit__", "__iter__", "__len__", "__call__",
           "__contains__", "__getitem__"}


def _is_public(n: str) -> bool:
    return not n.startswith("_") or n in DUNDERS


def our_params(fn: object, drop_first: bool) -> list[tuple[str, str, object]] | object:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return UNKNOWN
    kinds = {inspect.Parameter.POSITIONAL_ONLY: KINDS[0], inspect.Parameter.POSITIONAL_OR_KEYWORD: KINDS[1],
             inspect.Parameter.VAR_POSITIONAL: KINDS[2], inspect.Parameter.KEYWORD_ONLY: KINDS[3],
             inspect.Parameter.VAR_KEYWORD: KINDS[4]}
    out = [(p.name, kinds[p.kind], NO_DEFAULT if p.default is inspect.Parameter.empty else p.default)
           for p in sig.parameters.values()]
    return out[1:] if drop_first and out else out


def our_members(cls: type) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for klass in reversed(cls.__mro__):
        if not (klass.__module__ or "").startswith("eryx"):
            continue
        notes = vars(klass).get("__annotations__", {})
        for n, v in vars(klass).items():
            if not _is_public(n):
                continue
            if isinstance(v, property):
                t = getattr(v.fget, "__annotations__", {}).get("return")
                out[n] = {"kind": "property", "settable": v.fset is not None, "type": t}
            elif inspect.isdatadescriptor(v) or (not callable(v) and not isinstance(v, (staticmethod, classmethod))):
                out[n] = {"kind": "property", "settable": None, "type": notes.get(n)}
            elif isinstance(v, staticmethod):
                out[n] = {"kind": "method", "async": inspect.iscoroutinefunction(v.__func__),
                          "params": our_params(v.__func__, False)}
            else:
                f = v.__func__ if isinstance(v, classmethod) else v
                out[n] = {"kind": "method", "async": inspect.iscoroutinefunction(f), "params": our_params(f, True)}
    return out


# ---- the diff --------------------------------------------------------------------------

def type_set(t: object) -> frozenset[str] | None:
    """An annotation as the set of its union's members, names without their module
    ("Optional[int]" and "int | None" are {"int", "None"}); None when absent."""
    if t is None:
        return None
    if not isinstance(t, str):
        t = getattr(t, "__name__", None) or repr(t)
    try:
        node = ast.parse(t, mode="eval").body
    except SyntaxError:
        return frozenset({t})

    def walk(n: ast.expr) -> set[str]:
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr):
            return walk(n.left) | walk(n.right)
        if isinstance(n, ast.Subscript) and ast.unparse(n.value).split(".")[-1] in ("Optional", "Union"):
            items = n.slice.elts if isinstance(n.slice, ast.Tuple) else [n.slice]
            return set().union(*(walk(i) for i in items)) | ({"None"} if "Optional" in ast.unparse(n.value) else set())
        return {re.sub(r"\b[A-Za-z_][\w]*\.", "", ast.unparse(n))}
    return frozenset(walk(node))


def _same_default(ref: object, ours: object) -> bool:
    if ref is ANY_DEFAULT:
        return ours is not NO_DEFAULT
    if ref is NO_DEFAULT or ours is NO_DEFAULT:
        return ref is ours
    return type(ref) is type(ours) and ref == ours if isinstance(ref, (bool, int, float, str)) else ref == ours


def diff_params(key: str, ref: list, ours: list | object, out: list, extra: list) -> None:
    if ours is UNKNOWN:
        out.append((key + ": signature", "our signature cannot be inspected"))
        return
    ours_by = {p[0]: p for p in ours}
    ref_names = {p[0] for p in ref}
    has_kwargs = any(p[1] == "**kwargs" for p in ours)
    ref_pos = [p[0] for p in ref if p[1] in KINDS[:2]]
    our_pos = [p[0] for p in ours if p[1] in KINDS[:2]]
    for name, kind, default in ref:
        k = f"{key}({name})"
        if name not in ours_by:
            if not (has_kwargs and kind == "keyword-only"):
                out.append((k, f"missing: the reference has {kind} {name}={default!r}"))
            continue
        _, okind, odefault = ours_by[name]
        if okind != kind:
            out.append((k + ": kind", f"{kind} in the reference, {okind} in ours"))
        if not _same_default(default, odefault):
            out.append((k + ": default", f"default {default!r} in the reference, {odefault!r} in ours"))
    if [n for n in ref_pos if n in our_pos] != [n for n in our_pos if n in ref_pos]:
        out.append((key + ": order", f"positional order {ref_pos} in the reference, {our_pos} in ours"))
    for name, kind, default in ours:
        if name in ref_names:
            continue
        if default is NO_DEFAULT and kind not in ("*args", "**kwargs"):
            out.append((f"{key}({name}): extra", f"ours requires {kind} {name}, the reference has no such parameter"))
        else:
            extra.append((f"{key}({name})", f"ours only: {kind} {name}={default!r}"))


def diff(ref_all: list[str], ref_classes: dict[str, dict], module: object) -> tuple[list, list]:
    """(differences, extras): lists of (key, message)."""
    out: list[tuple[str, str]] = []
    extra: list[tuple[str, str]] = []
    for name in ref_all:
        ours = getattr(module, name, None)
        if ours is None:
            out.append((name, "missing in ours"))
            continue
        if not isinstance(ours, type):
            out.append((name + ": kind", f"a class in the reference, {type(ours).__name__} in ours"))
            continue
        our_mro = {c.__name__ for c in ours.__mro__}
        for b in ref_ancestors(ref_classes, name) - {"object", "TypedDict"}:
            if b not in our_mro:
                out.append((f"{name}: base {b}", f"the reference derives from {b}, ours does not"))
        rm, om = ref_members(ref_classes, name), our_members(ours)
        for m, r in rm.items():
            key = f"{name}.{m}"
            o = om.get(m)
            if o is None:
                if not hasattr(ours, m) or m in DUNDERS - {"__init__"}:
                    out.append((key, f"missing in ours (a {r['kind']} in the reference)"))
                    continue
                o = {"kind": "method" if callable(getattr(ours, m)) else "property", "settable": None,
                     "async": False, "params": our_params(getattr(ours, m), m == "__init__")}
            if r["kind"] != o["kind"]:
                out.append((key + ": kind", f"a {r['kind']} in the reference, a {o['kind']} in ours"))
                continue
            if r["kind"] == "property":
                if r.get("settable") and o.get("settable") is False:
                    out.append((key + ": settable", "settable in the reference, read-only in ours"))
                rt, ot = type_set(r.get("type")), type_set(o.get("type"))
                if rt and ot and "Any" not in rt and not ot <= rt:  # ours may be narrower (never None)
                    out.append((key + ": type", f"{r['type']} in the reference, {o['type']} in ours"))
                continue
            if r["async"] != o["async"]:
                out.append((key + ": async", f"{'async' if r['async'] else 'sync'} in the reference"))
            diff_params(key, r["params"], o["params"], out, extra)
        for m in sorted(set(om) - set(rm)):
            if not m.startswith("_"):
                extra.append((f"{name}.{m}", f"ours only ({om[m]['kind']})"))
    for n in sorted(set(getattr(module, "__all__", [])) - set(ref_all) - {"__version__"}):
        extra.append((n, "ours only"))
    return out, extra


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", type=Path, help="pyeryx 0.11's _eryx.pyi, site-packages, venv or wheel")
    ap.add_argument("--fetch", action="store_true", help="pip download the pinned wheel when none is found")
    ap.add_argument("--strict", action="store_true", help="exit 1 on a difference not in KNOWN")
    ap.add_argument("--all", action="store_true", help="also list what only ours has")
    a = ap.parse_args(argv)
    path = a.reference or default_reference(a.fetch)
    if path is None:
        print("compat_stubs: pyeryx 0.11.0 not found; pass --reference PATH or --fetch", file=sys.stderr)
        return 2
    text, where = reference_source(path)
    import eryx

    ref_all, classes = parse_reference(text)
    out, extra = diff(ref_all, classes, eryx)
    print(f"reference: {where}\nours: {Path(eryx.__file__).parent}\n")
    new = [(k, m) for k, m in out if k not in KNOWN]
    for k, m in out:
        print(f"{'known' if k in KNOWN else 'NEW  '}  {k}: {m}" + (f"  [{KNOWN[k]}]" if k in KNOWN else ""))
    stale = sorted(set(KNOWN) - {k for k, _ in out})
    for k in stale:
        print(f"stale  {k}: no longer differs (remove it from KNOWN)")
    if a.all:
        for k, m in extra:
            print(f"ours+  {k}: {m}")
    print(f"\n{len(out)} differences ({len(new)} not known), {len(stale)} stale known entries, "
          f"{len(extra)} names or optional parameters only ours has")
    return 1 if a.strict and new else 0


if __name__ == "__main__":
    sys.exit(main())
