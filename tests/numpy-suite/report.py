#!/usr/bin/env python3
"""Sums up a run of tests/numpy-suite/run.sh (host side, plain Python 3).

report.py DIR [--seconds S] [--jobs N] [--stubs 0|1] FILE...
    per-file table and totals (stdout, and DIR/summary.md, DIR/summary.json),
    failures by category, and a closing line; exit 0 when every file ran,
    nothing failed, errored or crashed and something passed, else 1.
report.py --one DIR FILE
    one file's counts on one line (run.sh's progress).
"""
import json
import os
import re
import sys

KEYS = ("passed", "failed", "error", "skipped", "xfailed", "xpassed", "deselected")

# Failure categories: (name, regex on "nodeid | message"). First match wins.
# The messages are the first line of each failure's exception (the plugin's
# JSON) or the sandbox's own message for a crash or a timeout.
CATEGORIES = [
    ("sandbox crash: wasm trap 'indirect call signature mismatch' (a numpy C "
     "function registered with another signature than CPython calls it with)",
     r"indirect call (signature|type) mismatch"),
    ("sandbox crash: other", r"^crashed .*\bcrash\b|guest trapped"),
    ("sandbox run timed out", r"\btimeout\b"),
    ("guest memory cap reached", r"^crashed .*\bmemory\b|MemoryError"),
    ("a test-only C module is used at import time (class body or module level)",
     r"^error .*placeholder for numpy\._core"),
    ("no ctypes in CPython for wasm32-wasi",
     r"_ctypes|c_void_p|'NoneType' object has no attribute 'c_|ctypes is not available"),
    ("no mmap in CPython for wasm32-wasi (np.memmap, np.load(mmap_mode=...))",
     r"No module named 'mmap'"),
    ("no subprocesses in WASI", r"does not support processes|subprocess"),
    ("no os.dup() in WASI (ndarray.tofile / np.fromfile / np.save on a Python "
     "file object, pytest's capfd)", r"Errno 58\] Not supported"),
    ("np.fromfile(path) leaks the file it opened when os.dup() fails "
     "(ResourceWarning, an error under numpy's filterwarnings)",
     r"PytestUnraisableExceptionWarning.*FileIO"),
    ("no /dev/null in the sandbox", r"/dev/null"),
    ("guest stdlib lacks _pyrepl (import pydoc fails)", r"_pyrepl"),
    ("re-importing a single-phase extension module runs its init again (eryx's "
     "extension loader has no extension cache)", r"already initlized|already initialized"),
    ("no threads in the sandbox", r"can't start new thread|_thread"),
    ("floating-point exception flags not raised in wasm",
     r"FloatingPointError not raised|DID NOT RAISE.*FloatingPointError"),
    ("test depends on another file's imports (np.ma.mrecords; run.sh runs one "
     "pytest session per file)", r"test_fromtextfile_delimitor"),
    ("a warning expected by the test was not emitted", r"DID NOT WARN"),
    ("long double is double on wasm32", r"longdouble|float128|float96"),
    ("numerical result differs",
     r"Not equal to tolerance|Arrays are not (almost )?equal|Items are not equal"),
    ("a stand-in was used and the code did not skip",
     r"placeholder for numpy\._core|_Placeholder"),
]


def categorize(text):
    for name, rx in CATEGORIES:
        if re.search(rx, text):
            return name
    return "other"


def file_name(f):
    return f[:-3].replace("/", "_") if f.endswith(".py") else f.replace("/", "_")


def load(dirpath, f):
    """One file's record: counts, problems, crashes, status."""
    name = file_name(f)
    rec = {"file": f, "counts": dict.fromkeys(KEYS, 0), "stub_skips": 0,
           "crashed": [], "problems": [], "status": "ran", "why": "",
           "seconds": None, "attempts": None, "skip_reasons": [],
           "xfail_reasons": [], "stubs_served": []}
    res = os.path.join(dirpath, "results", name + ".json")
    st = os.path.join(dirpath, "status", name)
    if os.path.exists(st + ".run"):
        m = re.search(r"rc=(\S+) attempts=(\d+) seconds=([\d.]+)", open(st + ".run").read())
        if m:
            rec["attempts"] = int(m.group(2))
            rec["seconds"] = float(m.group(3))
    if os.path.exists(st + ".crashed"):
        for line in open(st + ".crashed"):
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3:
                rec["crashed"].append({"nodeid": parts[0], "kind": parts[1],
                                       "message": parts[2]})
    if os.path.exists(res):
        d = json.load(open(res))
        rec["counts"].update(d["counts"])
        for k in ("stub_skips", "problems", "skip_reasons", "xfail_reasons",
                  "stubs_served"):
            rec[k] = d.get(k, rec[k])
        # a whole file that failed to import is one collection error
        if (sum(rec["counts"][k] for k in KEYS) == rec["counts"]["error"]
                and any(p["when"] == "collect" for p in rec["problems"])):
            rec["status"] = "import error"
            rec["why"] = next(p["message"] for p in rec["problems"]
                              if p["when"] == "collect")
        elif sum(rec["counts"].values()) == 0:
            rec["status"] = "no tests"
    else:
        rec["status"] = "not run"
        why = open(st + ".notrun").read().strip() if os.path.exists(st + ".notrun") else ""
        rec["why"] = why or "no result (see the log)"
    return rec


def one_line(rec):
    c = rec["counts"]
    s = ", ".join("%d %s" % (c[k], k) for k in KEYS if c[k])
    if rec["stub_skips"]:
        s += " (%d skips: stand-in used)" % rec["stub_skips"]
    if rec["crashed"]:
        s += ", %d crashed the sandbox" % len(rec["crashed"])
    if rec["status"] != "ran":
        s = rec["status"] + ": " + rec["why"] + ("; " + s if s else "")
    return s or "no tests"


def main(argv):
    if argv[:1] == ["--one"]:
        print(one_line(load(argv[1], argv[2])))
        return 0
    dirpath = argv[0]
    seconds = jobs = stubs = None
    files = []
    i = 1
    while i < len(argv):
        if argv[i] == "--seconds":
            seconds = int(argv[i + 1]); i += 2
        elif argv[i] == "--jobs":
            jobs = int(argv[i + 1]); i += 2
        elif argv[i] == "--stubs":
            stubs = argv[i + 1] != "0"; i += 2
        else:
            files.append(argv[i]); i += 1
    recs = [load(dirpath, f) for f in files]
    tot = dict.fromkeys(KEYS, 0)
    tot_stub = tot_crash = 0
    for r in recs:
        for k in KEYS:
            tot[k] += r["counts"][k]
        tot_stub += r["stub_skips"]
        tot_crash += len(r["crashed"])
    not_run = [r for r in recs if r["status"] == "not run"]
    import_err = [r for r in recs if r["status"] == "import error"]

    out = []
    out.append("| file | passed | failed | errors | skipped (stand-in) | xfailed | xpassed "
               "| crashed | deselected | s | note |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in recs:
        c = r["counts"]
        note = "" if r["status"] == "ran" else r["status"] + ": " + r["why"]
        if r["crashed"]:
            shown = ["%s (%s)" % (x["nodeid"].split("::", 1)[-1], x["kind"])
                     for x in r["crashed"][:3]]
            if len(r["crashed"]) > 3:
                shown.append("%d more (summary.json)" % (len(r["crashed"]) - 3))
            note = (note + "; " if note else "") + "crashed: " + ", ".join(shown)
        out.append("| %s | %d | %d | %d | %d (%d) | %d | %d | %d | %d | %s | %s |" % (
            r["file"], c["passed"], c["failed"], c["error"], c["skipped"],
            r["stub_skips"], c["xfailed"], c["xpassed"], len(r["crashed"]), c["deselected"],
            "%.0f" % r["seconds"] if r["seconds"] is not None else "-",
            note.replace("|", "\\|")))
    out.append("| **total (%d files)** | **%d** | **%d** | **%d** | **%d (%d)** | **%d** | "
               "**%d** | **%d** | **%d** | %s | %d not run, %d import errors |" % (
                   len(recs), tot["passed"], tot["failed"], tot["error"], tot["skipped"],
                   tot_stub, tot["xfailed"], tot["xpassed"], tot_crash, tot["deselected"],
                   seconds if seconds is not None else "-", len(not_run), len(import_err)))

    # failures, errors and crashes by category
    cats = {}
    for r in recs:
        items = [(p["outcome"], p["nodeid"], p["message"]) for p in r["problems"]]
        items += [("crashed", x["nodeid"], x["kind"] + ": " + x["message"])
                  for x in r["crashed"]]
        if r["status"] == "not run":
            items.append(("not run", r["file"], r["why"]))
        for outcome, nodeid, msg in items:
            cat = categorize(outcome + " " + nodeid + " | " + msg)
            cats.setdefault(cat, []).append((outcome, nodeid, msg))
    out.append("")
    out.append("| category | count | example |")
    out.append("|---|---:|---|")
    for cat, items in sorted(cats.items(), key=lambda kv: -len(kv[1])):
        o, n, m = items[0]
        out.append("| %s | %d | %s `%s`: %s |" % (
            cat, len(items), o, n, m.replace("|", "\\|")[:200]))

    text = "\n".join(out)
    print(text)
    with open(os.path.join(dirpath, "summary.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(dirpath, "summary.json"), "w") as f:
        json.dump({"totals": tot, "stub_skips": tot_stub, "crashed": tot_crash,
                   "seconds": seconds, "jobs": jobs, "stubs": stubs,
                   "files": recs,
                   "categories": {k: [list(x) for x in v] for k, v in cats.items()}},
                  f, indent=1)
    ok = (tot["failed"] + tot["error"] + tot_crash == 0 and not not_run
          and tot["passed"] > 0)
    print("numpy-suite: %d passed, %d failed, %d skipped, %d xfailed, %d xpassed, "
          "%d errors, %d crashed, %d deselected; %d files, %d not run%s" % (
              tot["passed"], tot["failed"], tot["skipped"], tot["xfailed"],
              tot["xpassed"], tot["error"], tot_crash, tot["deselected"], len(recs),
              len(not_run),
              ", %d s" % seconds if seconds is not None else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
