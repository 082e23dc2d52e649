"""Network throughput and connection setup, in eryx against native CPython, with the
same client code (http.client, socket, ssl) on loopback (issue 18; bench/net.sh;
docs/BENCHMARKS.md, "Network"). The servers (python/tests/netservers.py: HTTP and
HTTPS, keep-alive) run in a process of their own, so neither client shares a GIL
with them. Each sample is timed inside its interpreter (time.perf_counter around the
client loop: the sandbox's start is not counted); the table gives the median of
--runs samples per cell, eryx and native alternated.

    python bench/net_bench.py --python NATIVE_PYTHON [--runs 5] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import eryx

HERE = Path(__file__).resolve().parent

# One function per measurement; the same text runs natively and in the sandbox.
# ARGS is set before it: host, port, tls, CA PEM, and the case's parameters.
CLIENT = r'''
import http.client, socket, ssl, time, json

def _ctx(cafile_pem):
    return ssl.create_default_context(cadata=cafile_pem)

def get_loop(host, port, tls, ca, path, size, n):
    """n GETs of path on one keep-alive connection: seconds."""
    conn = (http.client.HTTPSConnection(host, port, context=_ctx(ca)) if tls
            else http.client.HTTPConnection(host, port))
    conn.request("GET", path)  # warm: connect (and handshake) outside the timing
    assert len(conn.getresponse().read()) == size
    t0 = time.perf_counter()
    for _ in range(n):
        conn.request("GET", path)
        body = conn.getresponse().read()
        assert len(body) == size, len(body)
    dt = time.perf_counter() - t0
    conn.close()
    return dt

def connect_loop(host, port, tls, ca, n):
    """n connects (+ TLS handshakes) and closes: seconds."""
    ctx = _ctx(ca) if tls else None
    t0 = time.perf_counter()
    for _ in range(n):
        s = socket.create_connection((host, port))
        if tls:
            s = ctx.wrap_socket(s, server_hostname=host)
        s.close()
    return time.perf_counter() - t0

kind, a = ARGS["kind"], ARGS
if kind == "get":
    result = get_loop(a["host"], a["port"], a["tls"], a["ca"], a["path"], a["size"], a["n"])
else:
    result = connect_loop(a["host"], a["port"], a["tls"], a["ca"], a["n"])
'''

CASES = [  # name, kind, tls, size (bytes per GET), n (per sample)
    ("GET 1 KiB", "get", False, 1024, 300),
    ("GET 1 KiB, TLS", "get", True, 1024, 300),
    ("GET 10 MiB", "get", False, 10 << 20, 4),
    ("GET 10 MiB, TLS", "get", True, 10 << 20, 4),
    ("connect + close", "connect", False, 0, 100),
    ("connect + TLS handshake + close", "connect", True, 0, 50),
]

NATIVE_RUNNER = r'''
import json, sys
ns = {"ARGS": json.loads(sys.argv[1])}
exec(compile(sys.stdin.read(), "<client>", "exec"), ns)
print(json.dumps(ns["result"]))
'''


def native(python: str, args: dict) -> float:
    p = subprocess.run([python, "-c", NATIVE_RUNNER, json.dumps(args)], input=CLIENT, capture_output=True,
                       text=True, check=True)
    return float(p.stdout)


def sandboxed(args: dict, ca_pem: str) -> float:
    net = eryx.NetConfig(io_timeout_ms=120000).allow_localhost()
    sb = eryx.Sandbox(network=net, resource_limits=eryx.ResourceLimits(execution_timeout_ms=600000))
    r = sb.execute(f"ARGS = {args!r}\n" + CLIENT)
    return float(r.result)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", required=True, help="the native CPython to compare with")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--json", help="write every sample here")
    opts = ap.parse_args()
    server = subprocess.Popen([sys.executable, str(HERE.parent / "python" / "tests" / "netservers.py")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(server.stdout.readline())
        ca = Path(info["ca_path"]).read_text()
        samples: dict[str, dict[str, list[float]]] = {}
        for name, kind, tls, size, n in CASES:
            host = "localhost" if tls else opts.host  # the certificate names localhost (and 127.0.0.1)
            args = {"kind": kind, "host": host, "port": info["https" if tls else "http"], "tls": tls, "ca": ca,
                    "path": f"/bytes/{size}", "size": size, "n": n}
            s = samples[name] = {"native": [], "eryx": []}
            for _ in range(opts.runs):
                s["native"].append(native(opts.python, args) / n)
                s["eryx"].append(sandboxed(args, ca) / n)
            print(f"# {name}: native {statistics.median(s['native']) * 1e3:.3f} ms, "
                  f"eryx {statistics.median(s['eryx']) * 1e3:.3f} ms per operation", file=sys.stderr)
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    if opts.json:
        Path(opts.json).write_text(json.dumps(samples, indent=1))
    version = subprocess.run([opts.python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                             text=True).stdout.strip()
    print(f"| case (loopback; median of {opts.runs}, best in brackets) | native CPython {version} | eryx "
          "| eryx / native (medians) | target |")
    print("|---|---:|---:|---:|---|")
    for name, kind, tls, size, n in CASES:
        (nat, ery), (nat_best, ery_best) = ([f(samples[name][k]) for k in ("native", "eryx")]
                                            for f in (statistics.median, min))
        if kind == "get" and size >= 1 << 20:
            mbs = [size / t / 1e6 for t in (nat, ery, nat_best, ery_best)]
            print(f"| {name} | {mbs[0]:.0f} MB/s ({mbs[2]:.0f}) | {mbs[1]:.0f} MB/s ({mbs[3]:.0f}) | "
                  f"{mbs[1] / mbs[0]:.0%} | >= 50% |")
        elif kind == "get":
            rps = [1 / t for t in (nat, ery, nat_best, ery_best)]
            print(f"| {name} | {rps[0]:,.0f} req/s ({rps[2]:,.0f}) | {rps[1]:,.0f} req/s ({rps[3]:,.0f}) | "
                  f"{rps[1] / rps[0]:.0%} | |")
        else:
            over = (ery - nat) * 1e3
            print(f"| {name} | {nat * 1e3:.3f} ms ({nat_best * 1e3:.3f}) | {ery * 1e3:.3f} ms ({ery_best * 1e3:.3f}) "
                  f"| {over:+.3f} ms | <= +0.2 ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
