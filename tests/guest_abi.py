#!/usr/bin/env python3
"""ctest unit.guest_abi: the two sides of the guest ABI agree.

The host's side is src/host/host.h (ERYX__HOST_MODULE, ERYX__HOST_IMPORTS,
ERYX__REPORT_*) with the callback refusals in src/sandbox/callbacks.h
(ERYX__CB_*); the guest's side is guest/shim/eryx_shim.c (its import
declarations) and guest/lib/_eryx_support.py (REPORT_*, _REFUSED). Exits 1
naming every difference. Usage: guest_abi.py SOURCE_DIR
"""
import re
import sys


def read(root, path):
    with open(f"{root}/{path}", encoding="utf-8") as f:
        return f.read()


def wasm_sig(ret, params):
    """A C declaration's wasm32 signature: ('ii', 1) for int32_t f(void *, size_t)."""
    params = [p for p in params.split(",") if p.strip() not in ("", "void")]
    kinds = "".join("I" if re.search(r"\b(u?int64_t|long long)\b", p) else "i" for p in params)
    return kinds, 0 if ret.strip() == "void" else 1


def main(root):
    errors = []
    host_h = read(root, "src/host/host.h")
    module = re.search(r'#define ERYX__HOST_MODULE "(\w+)"', host_h).group(1)
    table = re.search(r"#define ERYX__HOST_IMPORTS\(X\)((?:.*\\\n)*.*)", host_h).group(1)
    host = {n: (p, int(r)) for n, p, r in re.findall(r'X\((\w+),\s*"(\w*)",\s*(\d)\)', table)}
    shim = {}
    for mod, name, ret, params in re.findall(
            r'import_module\("(\w+)"\),\s*import_name\("(\w+)"\)\)\)\s*extern\s+([\w\s]+?)\s*\w+\s*\(([^)]*)\);',
            read(root, "guest/shim/eryx_shim.c")):
        if mod != module:
            errors.append(f"the shim imports {mod}.{name}: host.h's module is {module}")
        shim[name] = wasm_sig(ret, params)
    for name in sorted(host.keys() | shim.keys()):
        if name not in shim:
            errors.append(f"import {module}.{name} is in host.h but not declared in the shim")
        elif name not in host:
            errors.append(f"import {module}.{name} is declared in the shim but not in host.h")
        elif host[name] != shim[name]:
            errors.append(f"import {module}.{name}: host.h says (params, results) {host[name]}, the shim {shim[name]}")

    support = read(root, "guest/lib/_eryx_support.py")
    c_kinds = {k: int(v) for k, v in re.findall(r"\bERYX__REPORT_(\w+)\s*=\s*(\d+)", host_h)}
    py_kinds = {k: int(v) for k, v in re.findall(r"(?m)^REPORT_(\w+)\s*=\s*(\d+)", support)}
    for kind in sorted(c_kinds.keys() | py_kinds.keys()):
        if c_kinds.get(kind) != py_kinds.get(kind):
            errors.append(f"report kind {kind}: host.h ERYX__REPORT_{kind} is {c_kinds.get(kind)}, "
                          f"_eryx_support.py REPORT_{kind} is {py_kinds.get(kind)}")
    c_codes = {int(v) for v in re.findall(r"\bERYX__CB_\w+\s*=\s*(-\d+)", read(root, "src/sandbox/callbacks.h"))}
    refused = re.search(r"(?m)^_REFUSED\s*=\s*\{([^}]*)\}", support)
    py_codes = {int(v) for v in re.findall(r"(-\d+)\s*:", refused.group(1) if refused else "")}
    if c_codes != py_codes:
        errors.append(f"cb_start refusals: callbacks.h ERYX__CB_* are {sorted(c_codes)}, "
                      f"_eryx_support.py _REFUSED has {sorted(py_codes)}")

    if not (host and shim and c_kinds and c_codes):
        errors.append("nothing parsed on one side (imports, report kinds or refusals): has the syntax changed?")
    for e in errors:
        print("guest ABI mismatch:", e)
    if not errors:
        print(f"guest ABI agrees: {len(host)} imports, report kinds, cb_start refusals")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
