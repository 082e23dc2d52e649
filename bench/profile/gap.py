"""Where the gap between the guest and a native CPython goes (bench/profile.sh):
reads two categorize.py JSON files of the same workload and prints each bucket's
CPU seconds in both, the difference, and its share of the whole difference; then
the symbols whose time grew most.

usage: gap.py GUEST_JSON NATIVE_JSON [TOP_N]
"""
import json
import sys


def main():
    guest, native = (json.load(open(p)) for p in sys.argv[1:3])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    gap = guest["seconds"] - native["seconds"]
    print(f"## {guest['title']} vs {native['title']}: {guest['seconds']:.2f} s vs {native['seconds']:.2f} s "
          f"of CPU ({guest['seconds'] / native['seconds']:.2f}x), gap {gap:.2f} s\n")
    print("| bucket | guest s | native s | difference s | share of gap |\n|---|---:|---:|---:|---:|")
    names = set(guest["buckets"]) | set(native["buckets"])
    rows = [(guest["buckets"].get(b, 0.0), native["buckets"].get(b, 0.0), b) for b in names]
    for g, n, b in sorted(rows, key=lambda r: -(r[0] - r[1])):
        if abs(g - n) < 0.005 * max(gap, 1e-9) and g < 0.01:
            continue
        print(f"| {b} | {g:.2f} | {n:.2f} | {g - n:+.2f} | {100 * (g - n) / gap:.0f}% |")
    print(f"\nsymbols whose time grew most (guest s, native s):\n")
    print("| symbol | guest s | native s | difference s |\n|---|---:|---:|---:|")
    syms = set(guest["symbols"]) | set(native["symbols"])
    srows = [(guest["symbols"].get(s, 0.0), native["symbols"].get(s, 0.0), s) for s in syms]
    for g, n, s in sorted(srows, key=lambda r: -(r[0] - r[1]))[:top]:
        print(f"| `{s}` | {g:.2f} | {n:.2f} | {g - n:+.2f} |")
    print()


if __name__ == "__main__":
    main()
