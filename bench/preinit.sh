#!/usr/bin/env bash
# bench/preinit.sh [ERYX] [OUT.md]: pre-initialization figures against same-run
#   native baselines; builds nothing. Runs `ERYX bench --json` (default
#   build/eryx; RUNS=N in the environment passes --runs N), then, in the same run,
#   the native CPython 3.13 built from the guest's source (the guest build's build
#   Python, else the machine's python3): `python -I -c pass` process starts (with
#   hyperfine when installed, else 20 timed starts) and in-process baselines
#   (bench/native_baseline.py: exec("pass"), sub-interpreters, idle memory,
#   process starts per second, the CPU loop, page-fault costs). Writes a markdown
#   report to OUT.md (default: stdout); the raw JSON goes to stderr's end.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
eryx="${1:-$top/build/eryx}"
out="${2:-/dev/stdout}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
runs_args=()
[ -n "${RUNS:-}" ] && runs_args=(--runs "$RUNS")
native=$(ls -d "${XDG_CACHE_HOME:-$HOME/.cache}"/eryx/build-python/*/build/python 2>/dev/null | head -1 || true)
py3=$(python3 -c 'import sys; print(sys.executable)') # the interpreter, not a version-manager shim
[ -n "$native" ] || native="$py3"

echo "preinit.sh: $eryx bench --json ${runs_args[*]}" >&2
s=$(date +%s%N)
"$eryx" bench --json "${runs_args[@]}" > "$tmp/eryx.json"
echo "$(( ($(date +%s%N) - s) / 1000000 ))" > "$tmp/eryx_wall_ms"

echo "preinit.sh: process starts" >&2
starts_tool="20 timed starts"
if command -v hyperfine >/dev/null; then
    starts_tool="hyperfine -N, 3 warm-ups"
    hyperfine -N --warmup 3 --runs 50 -n native -n python3 --export-json "$tmp/starts.json" \
        "$native -I -c pass" "$py3 -I -c pass" >&2
else
    python3 - "$tmp/starts.json" "$native" "$py3" <<'PY'
import json, subprocess, sys, time
res = []
for name, exe in (("native", sys.argv[2]), ("python3", sys.argv[3])):
    times = []
    for _ in range(20):
        t = time.perf_counter()
        subprocess.run([exe, "-I", "-c", "pass"], check=True)
        times.append(time.perf_counter() - t)
    res.append({"command": name, "times": times})
json.dump({"results": res}, open(sys.argv[1], "w"))
PY
fi

echo "preinit.sh: in-process native baselines ($native)" >&2
"$native" -I "$top/bench/native_baseline.py" "${RUNS:-1000}" > "$tmp/native.json"

py3v=$("$py3" -c 'import sys; print(sys.version.split()[0])')
python3 - "$tmp" "$eryx" "$native" "$py3" "${runs_args[*]}" "$py3v" "$starts_tool" > "$out" <<'PY'
import json, os, platform, sys
d, eryx, native, py3, runs_args, py3v, starts_tool = sys.argv[1:8]
e = json.load(open(f"{d}/eryx.json"))
n = json.load(open(f"{d}/native.json"))
wall_s = int(open(f"{d}/eryx_wall_ms").read()) / 1e3
starts = {}
for r in json.load(open(f"{d}/starts.json"))["results"]:
    ts = sorted(r["times"])
    rank = lambda p: ts[min(len(ts), max(1, int(p / 100 * len(ts) + 0.999999))) - 1]
    starts[r["command"]] = (rank(50) * 1e6, rank(99) * 1e6, len(ts))

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"Machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
      f"load average at the end {os.getloadavg()[0]:.2f}\n")
cmd = f"{eryx} bench --json {runs_args}".strip()
print(f"`{cmd}`: {e['runs_create']} creations and {e['runs_execute']} fresh executes per mode, "
      f"{e['runs_execute_keep']} keep-state executes, {e['runs_execute_nopreinit']} fresh executes without "
      f"pre-init, {e['idle_sandboxes']} idle sandboxes, {e['throughput_s']:.1f} s per thread count; "
      f"{wall_s:.1f} s in all.\n")


def f(v, unit=""):
    if v is None:
        return "n/a"
    return f"{v:,.0f}{unit}" if abs(v) >= 100 else f"{v:.1f}{unit}"


def pp(k):
    return f"{f(e[k + '_p50_us'])} / {f(e[k + '_p99_us'])}"


def met(ok):
    return "met" if ok else "**not met**"


print("| figure (eryx, in-process) | pre-init on | pre-init off | off / on | target (pre-init on) |")
print("|---|---:|---:|---:|---|")
print(f"| first sandbox of the configuration (us) | {f(e['first_create_us'])} | {f(e['first_create_nopreinit_us'])} | | |")
print(f"| sandbox creation p50 / p99 (us) | {pp('create')} | {f(e['create_nopreinit_p50_us'])} / "
      f"{f(e['create_nopreinit_p99_us'])} | {e['create_nopreinit_p50_us'] / e['create_p50_us']:.1f}x "
      f"| ≤ {e['target_create_p50_us']:.0f} us p50: {met(e['create_p50_us'] <= e['target_create_p50_us'])} |")
print(f"| &nbsp; of which restore call / Python start p50 (us) | {f(e['create_python_start_p50_us'])} "
      f"| {f(e['create_python_start_nopreinit_p50_us'])} | | |")
print(f"| &nbsp; minor page faults per creation | {f(e['create_minor_faults'])} | {f(e['create_minor_faults_nopreinit'])} | | |")
print(f"| sandbox free p50 / p99 (us) | {pp('free')} | {f(e['free_nopreinit_p50_us'])} / {f(e['free_nopreinit_p99_us'])} | | |")
print(f"| execute('pass'), fresh state, p50 / p99 (us) | {pp('execute_fresh')} | "
      f"{f(e['execute_fresh_nopreinit_p50_us'])} / {f(e['execute_fresh_nopreinit_p99_us'])} | "
      f"{e['execute_fresh_nopreinit_p50_us'] / e['execute_fresh_p50_us']:.1f}x | ≤ "
      f"{e['target_execute_fresh_p50_us']:.0f} us p50: "
      f"{met(e['execute_fresh_p50_us'] <= e['target_execute_fresh_p50_us'])} |")
print(f"| &nbsp; of which the reset's restore / Python start p50 (us) | {f(e['execute_fresh_reset_python_start_p50_us'])} "
      f"| {f(e['execute_fresh_reset_python_start_nopreinit_p50_us'])} | | |")
print(f"| &nbsp; minor page faults per fresh execute | {f(e['execute_fresh_minor_faults'])} "
      f"| {f(e['execute_fresh_minor_faults_nopreinit'])} | | |")
print(f"| execute('pass'), keep_state (no reset), p50 / p99 (us) | {pp('execute_keep')} | | | |")
print(f"| execute('pass'), the first in a new instance (no reset), p50 / p99 (us) | {pp('execute_first')} | | | |")
print(f"| &nbsp; minor page faults per first execute | {f(e['execute_first_minor_faults'])} | | | |")
pk, pkn = e["private_kib_per_idle_sandbox"], e["private_kib_per_idle_sandbox_nopreinit"]
print(f"| private memory per idle sandbox (KiB) | {f(pk)} | {f(pkn)} | "
      f"{(pkn / pk) if pk else float('nan'):.1f}x | ≤ 4 MB ({e['target_private_kib_per_idle_sandbox']:.0f} KiB): "
      f"{met(pk is not None and pk <= e['target_private_kib_per_idle_sandbox'])} |")
print(f"| Rss per idle sandbox (KiB) | {f(e['rss_kib_per_idle_sandbox'])} | {f(e['rss_kib_per_idle_sandbox_nopreinit'])} | | |")
print(f"| fresh 'pass' executes/s, 1 thread | {f(e['executes_per_s_1thread'])} | | | |")
print(f"| fresh 'pass' executes/s, 2 threads | {f(e['executes_per_s_2threads'])} | | | ≥ "
      f"{e['target_executes_per_s']:,.0f}/s: {met(e['executes_per_s_2threads'] >= e['target_executes_per_s'])} |")
for t in ("1thread", "2threads"):
    label = "1 thread" if t == "1thread" else "2 threads"
    print(f"| &nbsp; {label}: on a CPU / waiting for one / blocked (% of thread time) | "
          f"{e['executes_oncpu_pct_' + t]:.1f} / {e['executes_runqueue_pct_' + t]:.1f} / "
          f"{e['executes_blocked_pct_' + t]:.1f} | | | |")
    print(f"| &nbsp; {label}: CPU per execute, of which system (us) | {f(e['executes_cpu_us_per_execute_' + t])}, "
          f"{f(e['executes_sys_us_per_execute_' + t])} | | | |")
    print(f"| &nbsp; {label}: TLB shootdowns per execute (machine-wide count) | "
          f"{e['executes_tlb_shootdowns_per_execute_' + t]:.2f} | | | |")
print(f"| 10M-iteration loop (ms) | {f(e['cpu_loop_10m_ms'])} | | | |")

nv = n["python"]
print(f"\nSame run, native baselines (`{native}`, Python {nv}; ratio = eryx with pre-init / native: "
      "for times and memory below 1 means eryx is faster or smaller, for rates above 1 means eryx does more):\n")
print("| eryx figure | eryx | native baseline | native | eryx / native |")
print("|---|---:|---|---:|---:|")
ns50, ns99, nsn = starts["native"]
ps50, ps99, psn = starts["python3"]
rows = [
    ("sandbox creation p50 (us)", e["create_p50_us"], f"`python -I -c pass` process start p50 ({nsn} runs, {starts_tool})", ns50),
    ("sandbox creation p50 (us)", e["create_p50_us"],
     f"machine's python3 {py3v} `-I -c pass` start p50", ps50),
    ("sandbox creation p50 (us)", e["create_p50_us"], "sub-interpreter create + destroy p50", n.get("subinterp_create_p50_us")),
    ("fresh execute p50 (us)", e["execute_fresh_p50_us"], "sub-interpreter create + exec('pass') + destroy p50",
     n.get("subinterp_exec_p50_us")),
    ("fresh execute p50 (us)", e["execute_fresh_p50_us"], "a process per execution (`-I -c pass` start p50)", ns50),
    ("keep-state execute p50 (us)", e["execute_keep_p50_us"], "exec('pass', {}) in-process p50", n["exec_p50_us"]),
    ("private KiB per idle sandbox", pk, "idle `python -I` process, Private_Clean + Private_Dirty", n["process_private_kib"]),
    ("private KiB per idle sandbox", pk, "idle sub-interpreter (50 kept), private", n.get("subinterp_private_kib")),
    ("Rss KiB per idle sandbox", e["rss_kib_per_idle_sandbox"], "idle `python -I` process, Rss", n["process_rss_kib"]),
    ("fresh executes/s, 2 threads", e["executes_per_s_2threads"], "`python -I -c pass` processes/s, 2 threads",
     n["process_starts_per_s_2"]),
    ("fresh executes/s, 1 thread", e["executes_per_s_1thread"], "`python -I -c pass` processes/s, 1 thread",
     n["process_starts_per_s_1"]),
    ("10M-iteration loop (ms)", e["cpu_loop_10m_ms"], "the same loop, exec in-process", n["cpu_loop_10m_ms"]),
]
for name, ev, bname, bv in rows:
    ratio = f"{ev / bv:.3g}" if ev is not None and bv else "n/a"
    print(f"| {name} | {f(ev)} | {bname} | {f(bv)} | {ratio} |")
print(f"\nThis machine's fault costs (native_baseline.py, best of 3 over 4,096 pages of a MAP_PRIVATE file "
      f"mapping): first write (copy-on-write) {n['cow_write_fault_us']:.2f} us/page, first read "
      f"{n['read_fault_us']:.2f} us/page (the kernel maps neighbouring pages on a read fault).")
print(f"\nCache tiers of the same eryx run: module cold {f(e['module_cold_ms'])} ms, warm from disk "
      f"{f(e['module_warm_disk_p50_us'])} us p50, warm in-process {e['module_warm_memory_p50_us']:.2f} us p50; "
      f"sandbox cold {f(e['create_cold_ms'])} ms, warm from disk {f(e['create_warm_disk_p50_us'])} us p50.")
PY
{ echo "eryx: $(cat "$tmp/eryx.json")"; echo "native: $(cat "$tmp/native.json")"; } >&2
