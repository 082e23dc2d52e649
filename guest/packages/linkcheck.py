"""linkcheck.py: the build-time half of a package's link check. For every
WebAssembly extension module (a side module) in a package tree: is it a side module
(dylink.0), what does it import, and does the interpreter export each function and
data symbol it needs (guest/main-exports.txt plus what every main module exports)?
A symbol missing there is named with the archive that defines it (libpython, libc,
libc++, ...), so the fix is one line in guest/main-exports.txt and a relink of the
interpreter (guest/build.sh), or, when no archive defines it, a patch to the package.
The runtime repeats the check with signatures when a sandbox is built
(src/link/linkcheck.c); this one runs without an eryx binary. Used by build.py."""
import collections
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "numpy"))
import importlib.util  # noqa: E402
from build import extension_files  # noqa: E402

_spec = importlib.util.spec_from_file_location("wasm_info", os.path.join(here, "..", "numpy", "wasm-info.py"))
wasm_info = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(wasm_info)

# What guest/build.sh's link_reactor exports besides main-exports.txt, and what the
# loader (src/link/loader.c) provides itself.
ALWAYS = {"memory", "__indirect_function_table", "__stack_pointer", "__memory_base",
          "__table_base", "aligned_alloc", "eryx_ext_log"}


def defined_symbols(archive):
    out = subprocess.run(["llvm-nm-19", "--defined-only", "-g", "-j", archive],
                         capture_output=True, text=True).stdout
    return {l.strip() for l in out.splitlines() if l.strip() and not l.endswith(":")}


def side_exports(path):
    """Names a side module exports (it may provide symbols to modules loaded after it)."""
    d = open(path, "rb").read()
    i, names = 8, set()
    while i < len(d):
        sid = d[i]; i += 1
        n, i = wasm_info.leb(d, i)
        body, i = d[i:i + n], i + n
        if sid == 7:
            cnt, j = wasm_info.leb(body, 0)
            for _ in range(cnt):
                ln, j = wasm_info.leb(body, j)
                names.add(body[j:j + ln].decode()); j += ln
                j += 1
                _, j = wasm_info.leb(body, j)
    return names


def check(tree, exports_file, providers):
    """Returns (report lines, unresolved-by-interpreter {sym: [modules]})."""
    exported = set(ALWAYS)
    exported.update(l.strip() for l in open(exports_file) if l.strip() and not l.startswith("#"))
    mods = extension_files(tree)
    report, missing = [], collections.defaultdict(list)
    others = set()
    for m in mods:
        others |= side_exports(m)
    provs = [(k, defined_symbols(v)) for k, v in providers]
    archived = set().union(*(names for _k, names in provs))
    for m in mods:
        rel = os.path.relpath(m, tree)
        imports, customs, _n = wasm_info.parse(m)
        if "dylink.0" not in customs:
            report.append(f"{rel}: NOT A SIDE MODULE (no dylink.0)")
            missing["<dylink.0>"].append(rel)
            continue
        need = [(mod, name) for mod, name, kind in imports
                if mod in ("GOT.mem", "GOT.func") or (mod == "env" and kind == "func")]
        # Another module's export serves a GOT entry (the loader fills those after
        # instantiation) but a function import only if that module is loaded first,
        # which nothing orders: a function an archive defines (a libc++ template
        # instance several modules carry) must come from the interpreter.
        lack = sorted({name for mod, name in need if name not in exported and
                       (name not in others or (mod == "env" and name in archived))})
        for name in lack:
            missing[name].append(rel)
        report.append(f"{rel}: {os.path.getsize(m)} bytes, {len(imports)} imports, "
                      f"{len(lack)} not exported by the interpreter")
    report.append("")
    report.append(f"# symbols the interpreter does not export ({len(missing)}): symbol, defined in, needed by")
    for name in sorted(missing):
        who = next((k for k, names in provs if name in names), "NOWHERE")
        report.append(f"{name}\t{who}\t{' '.join(sorted(set(missing[name])))}")
    return report, missing


def main():
    tree, exports_file = sys.argv[1], sys.argv[2]
    providers = [a.split("=", 1) for a in sys.argv[3:]]
    report, missing = check(tree, exports_file, providers)
    print("\n".join(report))
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
