#!/usr/bin/env python3
"""Merges run_all.sh's outputs into docs/START-STATE.md's cost table.

Owns nothing but the merge: one row per module (the chosen ones, then those
measured below the threshold), then the plain state and the whole sets.
    python3 bench/stdlib_usage/table.py OUT   (OUT: run_all.sh's directory)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def import_costs(path: Path) -> dict[str, list[str]]:
    """per_execute.py --import-cost's table: module -> its cells."""
    rows = {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[1].lstrip("-").isdigit():
            rows[cells[0]] = cells[1:]
    return rows


def main() -> None:
    out = Path(sys.argv[1])
    counts = json.loads((out / "counts.json").read_text())["modules"]
    cost = {r["label"]: r for r in json.loads((out / "cost.json").read_text())}
    below = {r["label"]: r for r in json.loads((out / "cost-below.json").read_text())}
    nounit = {r["label"]: r for r in json.loads((out / "cost-nounittest.json").read_text())}
    imp = import_costs(out / "import_cost.md")
    print("| module | max share (corpus) | sys.modules | non-zero image bytes added | capture ms "
          "| import per execute, plain: wall ms (cpu) | with the default state: wall us (cpu) |")
    print("|---|---:|---:|---:|---:|---:|---:|")

    def row(m: str, r: dict, chosen: bool) -> None:
        c = counts.get(m)
        share = "0%"
        if c:
            best = max((k for k in c if k not in ("combined", "max_share")), key=lambda k: c[k]["share"])
            share = f"{c[best]['share'] * 100:.1f}% ({best})"
        i = imp.get(m, ["", "", "", ""])
        plain = f"{int(i[0]) / 1000:.1f} ({int(i[1]) / 1000:.1f})" if i[0] else ""
        base = f"{i[2]} ({i[3]})" if i[2] else ""
        if m == "_eryx_stdlib_code":
            share = "(eryx's: the code of the rest of the stdlib, issue 16 item 4)"
        name = m if chosen else f"*{m}* (not chosen)"
        print(f"| {name} | {share} | {r['sys_modules']} | {r['nonzero_delta']:+,} "
              f"| {r['capture_cost_ms']:.0f} | {plain} | {base} |")

    for m, r in cost.items():
        if m.startswith("("):
            continue
        row(m, r, True)
    for m, r in below.items():
        if not m.startswith("("):
            row(m, r, False)
    p = cost["(plain)"]
    print(f"| **plain state** | | {p['sys_modules']} | {p['image_nonzero_bytes']:,} in all "
          f"| {p['capture_cost_ms']:.0f} (from a fresh Python) | | |")
    for label, r in (("**default state (the whole list)**", cost["(all)"]),
                     ("default without unittest", nounit["(all)"])):
        print(f"| {label} | | {r['sys_modules']} | {r['nonzero_delta']:+,} "
              f"({r['image_nonzero_bytes']:,} in all) | {r['capture_cost_ms']:.0f} | | |")


if __name__ == "__main__":
    main()
