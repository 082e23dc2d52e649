"""A raw recv_into loop over one 10 MiB plain HTTP response, by the guest's buffer
size, in eryx against native CPython (the same code): where bench/net.sh's plain
10 MiB time goes (docs/BENCHMARKS.md, "Network (issue 18)").

    build/venv/bin/python bench/net_recv.py --python NATIVE_PYTHON [--runs 5]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import eryx

HERE = Path(__file__).resolve().parent

CLIENT = r'''
import socket, time
def recv_loop(port, n, bufsize):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: x\r\n\r\n" % n)
    view = memoryview(bytearray(bufsize))
    got, t0 = 0, time.perf_counter()
    while got < n:  # the headers count too: a few hundred bytes short of the end is fine
        r = s.recv_into(view)
        if not r:
            break
        got += r
    dt = time.perf_counter() - t0
    s.close()
    return dt
result = recv_loop(PORT, N, BUF)
'''
N = 10 << 20
SIZES = (16 << 10, 64 << 10, 256 << 10, 1 << 20)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", required=True)
    ap.add_argument("--runs", type=int, default=5)
    opts = ap.parse_args()
    server = subprocess.Popen([sys.executable, str(HERE.parent / "python" / "tests" / "netservers.py")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = json.loads(server.stdout.readline())["http"]
        rows = []
        for size in SIZES:
            prefix = f"PORT, N, BUF = {port}, {N}, {size}\n"
            nat, ery = [], []
            for _ in range(opts.runs):
                p = subprocess.run([opts.python, "-c", prefix + CLIENT + "\nprint(result)"], capture_output=True,
                                   text=True, check=True)
                nat.append(float(p.stdout))
                sb = eryx.Sandbox(network=eryx.NetConfig().allow_localhost())
                ery.append(float(sb.execute(prefix + CLIENT).result))
            rows.append((size, N / statistics.median(nat) / 1e6, N / statistics.median(ery) / 1e6))
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    print(f"| recv_into buffer (10 MiB, loopback, median of {opts.runs}) | native | eryx | eryx / native |")
    print("|---|---:|---:|---:|")
    for size, nat_mbs, ery_mbs in rows:
        print(f"| {size >> 10} KiB | {nat_mbs:.0f} MB/s | {ery_mbs:.0f} MB/s | {ery_mbs / nat_mbs:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
