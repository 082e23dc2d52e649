"""bench/issue16_report.py OUT: issue 16's targets against what bench/issue16.sh measured
in OUT (python_api.json, corpus/corpus.json, bench.json), as a Markdown table."""
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
api = json.loads((out / "python_api.json").read_text())
corpus = json.loads((out / "corpus" / "corpus.json").read_text())
bench = json.loads((out / "bench.json").read_text())
summary, ratios = corpus["summary"], corpus["ratios"]
snip = next((v for k, v in corpus["snippets"].items() if k.startswith("00")), None)


def p50(case):
    return api[case]["p50_ms"]


def snippet00_ms():
    if snip is None:
        return None
    v = (snip.get("eryx") or {}).get("p50_us")
    return v / 1000 if v is not None else None


rows = [
    ("10-line snippet (corpus 00), fresh sandbox, p50", snippet00_ms(), "ms", "<=", 2.0),
    ("corpus: pyeryx 0.11 / eryx (geomean of p50s)", ratios.get("pyeryx/eryx"), "x", ">=", 5.0),
    ("corpus: native subprocess / eryx (geomean of p50s)", ratios.get("native/eryx"), "x", ">=", 10.0),
    ("Sandbox() p50 (Python)", p50("Sandbox() creation") * 1000, "us", "<=", 100.0),
    ('execute("pass") p50 (Python)', p50('Sandbox.execute("pass")') * 1000, "us", "<=", 150.0),
    ("first Sandbox() in a new process, p50", p50("first Sandbox() in a new process"), "ms", "<=", 30.0),
    ("SandboxFactory(new imports, cache=True), new process, p50",
     p50("SandboxFactory(new imports, cache=True), new process"), "ms", "<=", 150.0),
    ("SandboxFactory(new imports, cache=False), new process, p50",
     p50("SandboxFactory(new imports, cache=False), new process"), "ms", "<=", 150.0),
    ("private KiB per idle sandbox after an execute importing 10 modules",
     bench.get("private_kib_per_idle_sandbox_after_imports"), "KiB", "<=", 300.0),
]
meta = corpus.get("meta", {})
print(f"commit {meta.get('commit')}, {meta.get('date')}, load average at the corpus run {meta.get('load_average', 0):.1f}; "
      f"modules in sys.modules at start: {meta.get('modules_at_start')}\n")
print("| target | measured | goal | met |")
print("|---|---:|---:|---|")
for name, value, unit, op, goal in rows:
    if value is None:
        print(f"| {name} | n/a | {op} {goal:g} {unit} | not measured |")
        continue
    met = value <= goal if op == "<=" else value >= goal
    print(f"| {name} | {value:.2f} {unit} | {op} {goal:g} {unit} | {'yes' if met else 'no'} |")
print(f"\ncorpus geomeans of p50s (us): eryx {summary['eryx']['geomean_p50_us_common']:.0f}, "
      f"pyeryx {summary.get('pyeryx', {}).get('geomean_p50_us_common', float('nan')):.0f}, "
      f"native {summary.get('native', {}).get('geomean_p50_us_common', float('nan')):.0f}")
