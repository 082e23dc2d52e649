#!/usr/bin/env bash
# bench/perf-execute.sh [ERYX] [RUNS]: where the CPU time of fresh-state executes goes.
#   Builds nothing. Samples `ERYX bench --runs RUNS` (default build/eryx, 1000) with
#   `perf record -g` (cpu-clock, 999 Hz) and splits the samples of the benchmark's
#   throughput threads (named bench-1t-0, bench-2t-0, bench-2t-1 by `eryx bench`;
#   each runs execute('pass') from the start state in a loop, so every sample is one
#   of: the execution, the teardown of the instance, the instantiation of the next,
#   or its restore call) by where the CPU was: the guest's code, the host's code,
#   a page fault (taken in the guest's or the host's code), a memory-map system
#   call (mmap, munmap, mprotect, madvise), or other kernel work; and the share spent
#   flushing TLBs (flush_tlb_mm_range: with two threads of one process on two CPUs,
#   each flush interrupts the other CPU). Needs perf.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
eryx="${1:-$top/build/eryx}"
runs="${2:-1000}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
perf record -F 999 -g -o "$tmp/perf.data" "$eryx" bench --runs "$runs" > "$tmp/bench.txt" 2> "$tmp/perf.err"
perf script -i "$tmp/perf.data" -F comm,tid,ip,sym,dso 2> /dev/null > "$tmp/script.txt"
python3 - "$tmp/script.txt" <<'PY'
import collections, sys

MAPCALLS = {"ksys_mmap_pgoff": "mmap", "vm_mmap_pgoff": "mmap", "__vm_munmap": "munmap",
            "__x64_sys_munmap": "munmap", "do_vmi_munmap": "munmap", "do_mprotect_pkey": "mprotect",
            "__x64_sys_mprotect": "mprotect", "do_madvise": "madvise", "__x64_sys_madvise": "madvise"}
# Checked in this order against a fault sample's kernel frames (the first found wins).
FAULT_KINDS = {"do_wp_page": "write to a mapped read-only page: copy-on-write copy (do_wp_page)",
               "filemap_map_pages": "read fault mapping page-cache pages (filemap_map_pages, fault-around)",
               "filemap_fault": "read fault mapping page-cache pages (filemap_fault)",
               "do_anonymous_page": "first touch of an anonymous page: zero-fill (do_anonymous_page)",
               "vma_alloc_folio_noprof": "new page for a first write to a file-backed page (do_fault: alloc)",
               "finish_fault": "new page for a first write to a file-backed page (do_fault: finish_fault)"}
counts = {"1 thread": collections.Counter(), "2 threads": collections.Counter()}
faults_where = collections.Counter()
tlb = collections.Counter()
for block in open(sys.argv[1]).read().split("\n\n"):
    lines = [l for l in block.strip().split("\n") if l.strip()]
    if not lines:
        continue
    head = lines[0].split()
    if not head or not head[0].startswith("bench-"):
        continue
    group = "1 thread" if head[0].startswith("bench-1t") else "2 threads"
    frames = [l.strip() for l in lines[1:]]
    syms = [f.split(None, 1)[1] if " " in f else f for f in frames]
    top = frames[0] if frames else ""
    kernel = "[kernel.kallsyms]" in top
    if not kernel:
        cat = "user: guest code (wasm)" if ".cwasm" in top else "user: host (wasmtime, eryx, libc)"
    elif any("exc_page_fault" in s for s in syms):
        user = next((f for f in frames if "[kernel.kallsyms]" not in f), "")
        cat = "kernel: page fault in guest code" if ".cwasm" in user else "kernel: page fault in host code"
        kind = next((k for k in FAULT_KINDS if any(s.startswith(k + " ") for s in syms)), "other")
        faults_where[(group, FAULT_KINDS.get(kind, "fault entry, VMA lookup, other"))] += 1
    else:
        call = next((MAPCALLS[n] for s in syms for n in MAPCALLS if s.startswith(n + " ")), None)
        cat = f"kernel: {call} system call" if call else "kernel: other"
    counts[group][cat] += 1
    if any(s.startswith("flush_tlb_mm_range ") for s in syms):
        tlb[group] += 1
for group, c in counts.items():
    total = sum(c.values())
    if not total:
        continue
    print(f"\n{group}: {total} samples")
    print("| where | share |")
    print("|---|---:|")
    for cat, n in sorted(c.items(), key=lambda kv: -kv[1]):
        print(f"| {cat} | {100 * n / total:.1f}% |")
    print(f"| (any of the above inside flush_tlb_mm_range: TLB flushes, with their IPIs to the other CPU) "
          f"| {100 * tlb[group] / total:.1f}% |")
    print("\n| page faults by kind (share of all samples) | share |")
    print("|---|---:|")
    for (g, kind), n in sorted(faults_where.items(), key=lambda kv: -kv[1]):
        if g == group:
            print(f"| {kind} | {100 * n / total:.1f}% |")
PY
grep -E "executes/s|CPU time per execute|where" "$tmp/bench.txt" || true
