"""tests/net-guest/run.py [--native PYTHON | --runner NET_GUEST_RUN] [--package DIR]... [SCRIPT...]

The driver of e2e.net_guest: starts the local servers (servers.py: 127.0.0.1 and
::1, HTTPS with a CA made by the openssl CLI), then runs each guest script (t_*.py
here, or those named) in the sandbox through tests/net_guest_run.c (the C API: network
on, localhost allowed, the test CA as a root), or with --native on CPython over the
fake ABI (native.py). The config reaches the script as JSON in $NET_TEST. Fails if a
script fails or prints no "ok".
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import servers  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--native")
    ap.add_argument("--runner")
    ap.add_argument("--package", action="append", default=[])
    ap.add_argument("scripts", nargs="*")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="eryx-net-guest-")
    cfg = servers.start(work)
    env = dict(os.environ, NET_TEST=json.dumps(cfg), NET_TEST_CA=cfg["ca_file"])
    scripts = a.scripts or sorted(glob.glob(os.path.join(here, "t_*.py")))
    failed = []
    for script in scripts:
        name = os.path.basename(script)
        if name in ("t_requests.py", "t_httpx.py") and not a.package and not a.native:
            print(f"SKIP {name}: no --package (the netpkgs package)")
            continue
        if a.native:
            cmd = [a.native, os.path.join(here, "native.py"), script]
            penv = dict(env, PYTHONPATH=os.pathsep.join(a.package))
        else:
            cmd = [a.runner, script, cfg["ca_file"]] + a.package
            penv = env
        t0 = time.monotonic()
        p = subprocess.run(cmd, env=penv, capture_output=True, text=True, timeout=300)
        dt = time.monotonic() - t0
        ok = p.returncode == 0 and " ok" in p.stdout
        print(f"{'PASS' if ok else 'FAIL'} {name} ({dt:.1f} s): {p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ''}")
        if not ok:
            failed.append(name)
            sys.stdout.write(p.stdout[-4000:])
            sys.stdout.write(p.stderr[-6000:])
    if failed:
        print("failed:", ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
