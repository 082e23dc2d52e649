"""The cost of one bytecode dispatch in the guest (bench/profile.sh): reads
`perf annotate --stdio` of the guest's _PyEval_EvalFrameDefault, finds the central
dispatch (the indirect `jmp *%reg` that the most samples land on or just before:
clang turns CPython's `switch (opcode)` into one wasm br_table, and Cranelift into
a bounds clamp, a jump-table load and one indirect jump), and prints the WINDOW
instructions that end there with their share of the function's samples.

usage: dispatch.py [WINDOW] < annotate.txt
"""
import re
import sys

INSN = re.compile(r"^\s*([\d.]+)\s*:\s*([0-9a-f]+):\s*(.*)$")


def main():
    window = int(sys.argv[1]) if len(sys.argv) > 1 else 19
    insns = []
    for line in sys.stdin:
        m = INSN.match(line)
        if m:
            insns.append((float(m.group(1)), m.group(2), m.group(3).strip()))
    jumps = [i for i, (_, _, text) in enumerate(insns) if re.match(r"jmp\s+\*%r", text)]
    if not jumps:
        sys.exit("no indirect jump found")
    # The hottest one, counting the instructions just before it (sampling skid).
    best = max(jumps, key=lambda i: sum(p for p, _, _ in insns[max(0, i - 4) : i + 1]))
    block = insns[max(0, best - window + 1) : best + 1]
    print(f"| % of _PyEval_EvalFrameDefault | address | instruction |\n|---:|---|---|")
    for pct, addr, text in block:
        print(f"| {pct:.2f} | {addr} | `{text}` |")
    print(f"\nthe {len(block)} instructions: {sum(p for p, _, _ in block):.1f}% of the function's samples")


if __name__ == "__main__":
    main()
