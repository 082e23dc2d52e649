"""report.py DIR: turns bench/run.sh's hyperfine JSON files into a markdown table.

Each row is one runner on one case: mean and standard deviation in ms, and the ratio
eryx's mean / this runner's mean, both measured in the same run (above 1: eryx is
slower than this runner; below 1: faster).
"""
import glob
import json
import os
import platform
import subprocess
import sys

d = sys.argv[1]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"Machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}\n")
print("| case | runner | mean (ms) | stddev (ms) | runs | eryx / runner |")
print("|---|---|---:|---:|---:|---:|")
for path in sorted(glob.glob(os.path.join(d, "case*.json"))):
    name = open(path[:-5] + ".name").read().strip()
    results = json.load(open(path))["results"]
    base = results[0]["mean"]
    for r in results:
        print(f"| {name} | {r['command']} | {r['mean'] * 1e3:.1f} | {r['stddev'] * 1e3:.1f} "
              f"| {len(r['times'])} | {base / r['mean']:.2f} |")
