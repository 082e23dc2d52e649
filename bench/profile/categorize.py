"""Sums a flat `perf report` into where-the-time-goes buckets (bench/profile.sh,
docs/CPU-PROFILE.md). Reads `perf report --stdio --no-children -g none
--sort dso,sym --percent-limit 0` output on stdin; prints the top N symbols (guest
names stripped of wasmtime's `wasm[0]::function[N]::` prefix) and the buckets.

usage: categorize.py TITLE TOP_N JSON_OUT < report.txt
(JSON_OUT gets each bucket's CPU seconds, for gap.py; the report's samples are
cpu-clock at a known frequency, so samples / frequency is CPU time.)
"""
import json
import re
import sys

# First match wins; order matters (dealloc before the int bucket, and so on).
BUCKETS = [
    ("eval loop (_PyEval_EvalFrameDefault)", r"^_PyEval_EvalFrameDefault$"),
    ("allocator: wasi-libc dlmalloc (malloc/free/dlmalloc/dlfree)",
     r"^(malloc|free|calloc|realloc|dlmalloc|dlfree|dlrealloc|dlcalloc|internal_memalign|sbrk|"
     r"__libc_malloc|__libc_free|_int_malloc|_int_free|malloc_consolidate|cfree|__GI___libc_free|"
     r"__GI___libc_malloc|_int_free_merge_chunk|_int_free_create_chunk|_int_free_maybe_consolidate)$"),
    ("allocator: CPython layer (PyObject_Malloc/Free, PyMem_*, pymalloc)",
     r"^(PyObject_Malloc|PyObject_Free|PyObject_Realloc|PyObject_Calloc|_PyObject_Malloc|_PyObject_Free|"
     r"_PyMem_\w+|PyMem_\w+|pymalloc_\w+|_PyObject_GC_New|_PyObject_GC_Link|gc_alloc|_PyType_AllocNoTrack|"
     r"PyType_GenericAlloc|_PyObject_New|_PyObject_GC_NewVar)$"),
    ("dealloc / refcount (_Py_Dealloc, *_dealloc)", r"(^_Py_Dealloc$|_dealloc$|^_Py_DecRef|^Py_DecRef|^_Py_IncRef)"),
    ("dict and name lookup", r"(dict|unicodekeys_lookup|^_PyDict|^PyDict|lookdict|^insertdict|_PyType_Lookup|"
                             r"find_name_in_mro|^_PyObject_GetMethod|GenericGetAttr|GenericSetAttr|LoadGlobal)"),
    ("int arithmetic (long_*, x_add, PyLong_*)", r"(^long_|^x_add$|^x_sub$|^x_mul$|PyLong|^_PyLong|^k_mul|^l_)"),
    ("float arithmetic", r"(^float_|PyFloat|^_PyFloat)"),
    ("frames, calls, vectorcall", r"(vectorcall|Vectorcall|_PyFrame|_PyEvalFrame|frame_|_Py_MakeCoro|"
                                  r"_PyFunction|method_|_PyObject_Call|PyObject_Call|slot_tp_|clear_thread_frame|"
                                  r"_PyThreadState_PushFrame|_PyThreadState_PopFrame|initialize_locals)"),
    ("GC (collection, tracking)", r"(^gc_|^_PyObject_GC|^PyObject_GC|^_Py_ScheduleGC|visit_|^subtract_refs|"
                                  r"^update_refs|^move_unreachable|^deduce_unreachable|^gc_collect|^_PyGC)"),
    ("libc string/memory (memcpy, memset, memcmp)", r"^(__)?mem(cpy|move|set|cmp)|^__memmove|^__memset|^__memcmp|^strlen"),
]
WASMTIME = re.compile(r"(wasmtime|cranelift|wasm-to-|array-to-wasm|trampoline|libcalls|__rust|core::|alloc::|std::)")
GUEST_PREFIX = re.compile(r"^wasm\[\d+\]::function\[\d+\]::")
CLONE_SUFFIX = re.compile(r"(\.(constprop|isra|part|lto_priv|cold|llvm)(\.\d+)?)+$")
LINE = re.compile(r"^\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)$")


def classify(dso, sym, guest):
    if dso.startswith("[kernel") or dso == "[unknown]" and sym.startswith("0xffff"):
        return "kernel"
    for name, pat in BUCKETS:
        if re.search(pat, sym):
            return name
    if not guest and WASMTIME.search(sym):
        return "wasmtime runtime (trampolines, libcalls, host calls)"
    if sym.startswith("0x"):
        return "unresolved addresses"
    return "other interpreter/library code" if guest or dso.startswith(("python", "libpython")) else f"other: {dso}"


def main():
    title, top, json_out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rows = []
    seconds = None
    for line in sys.stdin:
        # "# Event count (approx.): N": cpu-clock's count is nanoseconds
        if line.startswith("# Event count"):
            seconds = int(line.rsplit(":", 1)[1]) / 1e9
        m = LINE.match(line)
        if not m:
            continue
        pct, dso, _, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4).strip()
        guest = dso.endswith(".cwasm") or dso.startswith("[JIT]")
        sym = GUEST_PREFIX.sub("", sym)
        sym = CLONE_SUFFIX.sub("", sym)  # gcc's insertdict.constprop.0 is insertdict
        rows.append((pct, dso, sym, guest))
    total = sum(r[0] for r in rows)
    print(f"## {title}: {seconds:.2f} s of CPU sampled ({total:.1f}% of it in symbols listed)")
    print(f"\ntop {top} symbols (self time):\n")
    print("| % | where | symbol |\n|---:|---|---|")
    for pct, dso, sym, guest in sorted(rows, reverse=True)[:top]:
        where = "guest" if guest else dso
        print(f"| {pct:.2f} | {where} | `{sym}` |")
    buckets = {}
    for pct, dso, sym, guest in rows:
        b = classify(dso, sym, guest)
        buckets[b] = buckets.get(b, 0.0) + pct
    print("\nbuckets:\n")
    print("| % | bucket |\n|---:|---|")
    for b, pct in sorted(buckets.items(), key=lambda kv: -kv[1]):
        print(f"| {pct:.1f} | {b} |")
    guest_total = sum(r[0] for r in rows if r[3])
    print(f"\nin the guest's compiled code: {guest_total:.1f}%\n")
    with open(json_out, "w") as f:
        json.dump({"title": title, "seconds": seconds,
                   "buckets": {b: pct * seconds / 100 for b, pct in buckets.items()},
                   "symbols": {sym: pct * seconds / 100 for pct, _, sym, _ in rows}}, f, indent=1)


if __name__ == "__main__":
    main()
