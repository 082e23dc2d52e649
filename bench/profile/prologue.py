"""What guest function entries cost (bench/profile.sh): for the hottest guest
functions of a perf profile (other than the eval loop), sums the samples on each
function's entry sequence, i.e. its instructions up to the first `jae`: wasmtime's
stack-limit check (two loads from the VM context, compare, `ja` to a trap), the
saves of callee-saved registers, and the epoch check (two loads, compare, `jae` to
the new-epoch libcall).

usage: prologue.py PERF_DATA REPORT_JSON [TOP_N]   (REPORT_JSON: categorize.py's)
"""
import json
import re
import subprocess
import sys

INSN = re.compile(r"^\s*([\d.]+)\s*:\s*([0-9a-f]+):\s*(.*)$")


def main():
    data, report = sys.argv[1], json.load(open(sys.argv[2]))
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    # full guest symbol names (wasm[0]::function[N]::NAME) from perf itself
    out = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none", "--sort", "sym",
                          "--percent-limit", "0.5"], capture_output=True, text=True).stdout
    names = re.findall(r"\[\.\] (wasm\[0\]::function\[\d+\]::\S+)", out)
    names = [n for n in names if not n.endswith("::_PyEval_EvalFrameDefault")][:top]
    total_entry = total_fn = 0.0
    print("| function | s in it | s in its entry sequence | share |\n|---|---:|---:|---:|")
    for name in names:
        ann = subprocess.run(["perf", "annotate", "-i", data, "--stdio", "-s", name], capture_output=True,
                             text=True).stdout
        insns = [(float(m.group(1)), m.group(3)) for m in map(INSN.match, ann.splitlines()) if m]
        end = next((i for i, (_, t) in enumerate(insns) if t.startswith("jae")), None)
        if end is None:
            continue
        short = name.split("::")[-1]
        fn_s = report["symbols"].get(short, 0.0)
        share = sum(p for p, _ in insns[: end + 1]) / 100
        total_fn += fn_s
        total_entry += fn_s * share
        print(f"| `{short}` | {fn_s:.3f} | {fn_s * share:.3f} | {100 * share:.0f}% |")
    print(f"\nthese {len(names)} functions: {total_fn:.2f} s, of it {total_entry:.2f} s "
          f"({100 * total_entry / max(total_fn, 1e-9):.0f}%) in their entry sequences "
          f"(whole profile: {report['seconds']:.2f} s)")


if __name__ == "__main__":
    main()
