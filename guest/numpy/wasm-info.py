#!/usr/bin/env python3
"""wasm-info.py FILE.wasm|FILE.so...: prints a wasm module's imports (module, name,
kind), export count and whether it carries a dylink.0 section (a PIC side module).
Enough of the binary format for that; no third-party tools needed.
--summary: one line per file: imports grouped by (module, kind) with counts.
Used by build.sh (side-imports*.txt) and link-check.sh (the linked interpreters)."""
import sys
import os as _os
sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))
from wasmbin import leb  # noqa: E402

KINDS = ["func", "table", "memory", "global", "tag"]


def limits(d, i):
    flag = d[i]; i += 1
    _, i = leb(d, i)
    if flag & 1:
        _, i = leb(d, i)
    return i


def parse(path):
    d = open(path, "rb").read()
    assert d[:4] == b"\0asm", path
    i, imports, customs, nexports = 8, [], [], 0
    while i < len(d):
        sid = d[i]; i += 1
        n, i = leb(d, i)
        body, i = d[i:i + n], i + n
        if sid == 0:
            nl, j = leb(body, 0)
            customs.append(body[j:j + nl].decode())
        elif sid == 2:
            cnt, j = leb(body, 0)
            for _ in range(cnt):
                ml, j = leb(body, j); m = body[j:j + ml].decode(); j += ml
                fl, j = leb(body, j); f = body[j:j + fl].decode(); j += fl
                k = body[j]; j += 1
                if k == 0:
                    _, j = leb(body, j)
                elif k == 1:
                    j += 1; j = limits(body, j)
                elif k == 2:
                    j = limits(body, j)
                elif k == 3:
                    j += 2
                elif k == 4:
                    j += 1; _, j = leb(body, j)
                imports.append((m, f, KINDS[k]))
        elif sid == 7:
            nexports, _ = leb(body, 0)
    return imports, customs, nexports


def main():
    args = sys.argv[1:]
    summary = args and args[0] == "--summary"
    if summary:
        args = args[1:]
    for p in args:
        imports, customs, nexports = parse(p)
        if summary:
            groups = {}
            for m, f, k in imports:
                groups[(m, k)] = groups.get((m, k), 0) + 1
            g = ", ".join(f"{m}.{k}:{c}" for (m, k), c in sorted(groups.items()))
            print(f"{p}: dylink.0={'dylink.0' in customs} exports={nexports} imports[{g}]")
        else:
            print(f"# {p}: dylink.0={'dylink.0' in customs} exports={nexports} imports={len(imports)}")
            for m, f, k in imports:
                print(f"{m}\t{k}\t{f}")


if __name__ == "__main__":
    main()
