#!/usr/bin/env python3
"""side-check.py SIDE_IMPORTS_FULL NAME=ARCHIVE...: route (b). For every symbol the
PIC side modules import (wasm-info.py's full listing: env.func, GOT.mem, GOT.func),
names the archive that defines it (first match in argument order), so it is clear
what a main module would have to export for the side modules to load; names
defined nowhere are listed as UNRESOLVED. Needs llvm-nm-19."""
import collections
import subprocess
import sys


def defined(archive):
    out = subprocess.run(["llvm-nm-19", "--defined-only", "-g", "-j", archive],
                         capture_output=True, text=True).stdout
    return set(l.strip() for l in out.splitlines() if l.strip() and not l.endswith(":"))


def main():
    listing, specs = sys.argv[1], sys.argv[2:]
    providers = [(s.split("=", 1)[0], defined(s.split("=", 1)[1])) for s in specs]
    mods = collections.OrderedDict()
    cur = None
    for line in open(listing):
        if line.startswith("# "):
            cur = line[2:].split(":")[0]
            mods[cur] = []
            continue
        m, k, name = line.rstrip("\n").split("\t")
        if m == "env" and k != "func":
            continue               # memory, table, __stack_pointer, __memory_base, __table_base
        mods[cur].append((m, name))
    allnames = collections.Counter()
    unresolved = collections.defaultdict(set)
    print("# per side module: imported symbols (env.func + GOT.mem + GOT.func) by the archive defining them")
    for mod, syms in mods.items():
        by = collections.Counter()
        for m, name in syms:
            who = next((p for p, names in providers if name in names), "UNRESOLVED")
            by[who] += 1
            allnames[(who, name)] += 1
            if who == "UNRESOLVED":
                unresolved[name].add(mod)
        print(f"{mod}: " + ", ".join(f"{k}={v}" for k, v in sorted(by.items())))
    print()
    print("# distinct symbols the main module must export, by provider")
    tot = collections.Counter(who for who, _ in allnames)
    for who, n in sorted(tot.items()):
        print(f"{who}: {n}")
    print()
    print("# UNRESOLVED (defined in none of the archives):")
    for name in sorted(unresolved):
        print(f"{name}\t{' '.join(sorted(unresolved[name]))}")
    print()
    print("# non-Python symbols imported (libc/libm/libc++/compiler-rt/shim):")
    for who, name in sorted(allnames):
        if who not in ("libpython", "UNRESOLVED"):
            print(f"{who}\t{name}")


if __name__ == "__main__":
    main()
