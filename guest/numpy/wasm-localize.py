#!/usr/bin/env python3
"""wasm-localize.py OBJ KEEP...: makes every symbol OBJ (a wasm relocatable object,
e.g. the output of `wasm-ld -r`) defines local, except the symbols named in KEEP
(and symbols marked exported or no-strip). Edits the symbol flags of the `linking`
section's symbol table in place (one LEB byte each; the file size does not change).

Why: linking numpy's modules statically into one python.wasm puts symbols that were
private to each shared library into one namespace. numpy.random.mtrand compiles its
own distributions.c with NP_RANDOM_LEGACY=1 (RAND_INT_TYPE = long, 32-bit on wasm32)
while the other random modules link npyrandom (int64_t): same names, different
signatures, and wasm-ld binds every caller to one of them ("function signature
mismatch"; the other callers trap). One relocatable object per module with only
PyInit_<name> global gives each module its own copies, as shared libraries do.
Prints how many symbols were localized."""
import sys
import os as _os
sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))
from wasmbin import leb  # noqa: E402

WEAK, LOCAL, UNDEFINED, EXPORTED, NO_STRIP = 0x1, 0x2, 0x10, 0x20, 0x80
EXPLICIT_NAME = 0x40
SYMTAB = 8


def localize(path, keep):
    d = bytearray(open(path, "rb").read())
    assert d[:4] == b"\0asm", path
    i, changed, kept = 8, 0, []
    while i < len(d):
        sid = d[i]; i += 1
        n, i = leb(d, i)
        end = i + n
        if sid == 0:
            nl, j = leb(d, i)
            name = bytes(d[j:j + nl]); j += nl
            if name == b"linking":
                _version, j = leb(d, j)
                while j < end:
                    sub = d[j]; j += 1
                    sl, j = leb(d, j)
                    send = j + sl
                    if sub == SYMTAB:
                        count, k = leb(d, j)
                        for _ in range(count):
                            kind = d[k]; k += 1
                            fpos = k
                            flags, k = leb(d, k)
                            sym = None
                            if kind in (0, 2, 4, 5):      # function, global, tag, table
                                _idx, k = leb(d, k)
                                if not flags & UNDEFINED or flags & EXPLICIT_NAME:
                                    ln, k = leb(d, k); sym = bytes(d[k:k + ln]).decode(); k += ln
                            elif kind == 1:                # data
                                ln, k = leb(d, k); sym = bytes(d[k:k + ln]).decode(); k += ln
                                if not flags & UNDEFINED:
                                    for _ in range(3):
                                        _, k = leb(d, k)
                            elif kind == 3:                # section
                                _idx, k = leb(d, k)
                                continue
                            if flags & (UNDEFINED | LOCAL):
                                continue
                            if sym in keep or flags & (EXPORTED | NO_STRIP):
                                kept.append(sym)
                                continue
                            new = (flags & ~WEAK) | LOCAL
                            if k - fpos < 1 or flags >= 0x80 or new >= 0x80:
                                # multi-byte LEB (not produced for these flags); keep global
                                kept.append(sym)
                                continue
                            d[fpos] = new
                            changed += 1
                    j = send
        i = end
    open(path, "wb").write(d)
    return changed, kept


def main():
    path, keep = sys.argv[1], set(sys.argv[2:])
    changed, kept = localize(path, keep)
    missing = keep - set(kept)
    print(f"{path}: {changed} symbols made local; global: {' '.join(sorted(set(kept)))}")
    if missing:
        sys.exit(f"{path}: not defined as a global symbol: {' '.join(sorted(missing))}")


if __name__ == "__main__":
    main()
