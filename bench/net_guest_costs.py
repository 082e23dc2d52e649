"""bench/net_guest_costs.py RUNNER NETPKGS [N]: what the guest's connections cost in
the sandbox (docs/NETWORK-GUEST.md, "Cost"): a plain connect + 1-byte echo + close,
a TLS handshake on a blocking socket and on one with a timeout (medians of N), and
what requests' cafile costs per HTTPS connection ("Roots, and certifi"):

Starts tests/net-guest's servers (127.0.0.1), then in one sandbox (RUNNER:
build/tests/net_guest_run) times N requests.get over new connections to the HTTPS
server, alternating in rounds of 10: verify=True (certifi's bundle: taken as the
host's store, nothing sent) and verify=<a copy of certifi's bundle at another path>
(read in the guest and sent as cadata with every handshake). Prints the medians.
"""
import json
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "net-guest"))
import servers  # noqa: E402

GUEST = r'''
import json, os, shutil, socket, ssl, statistics, time
import certifi, requests
T = json.loads(os.environ["NET_TEST"])
N = int(os.environ["NET_TEST_N"])
copy = "/tmp/bundle-copy.pem"
with open(certifi.where(), "rb") as f:
    bundle = f.read()
# the copy must trust the test CA too (it is the operator's root, not certifi's)
with open(copy, "wb") as f:
    f.write(bundle + T["ca_pem"].encode())
url = f"https://localhost:{T['https']}/bytes/10"
def med(fn):
    ts = []
    for _ in range(N):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1000
def plain():
    with socket.create_connection(("127.0.0.1", T["echo"])) as s:
        s.sendall(b"x")
        s.recv(1)
ctx = ssl.create_default_context()
def tls(timeout):
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", T["https"]), timeout=timeout),
                         server_hostname="localhost"):
        pass
out = {"plain connect, 1-byte echo, close": med(plain),
       "TLS handshake + close, blocking socket": med(lambda: tls(None)),
       "TLS handshake + close, timeout 5 s": med(lambda: tls(5))}
times = {"certifi (default store)": [], "other cafile (cadata sent)": []}
requests.get(url, timeout=10)
requests.get(url, timeout=10, verify=copy)
for r in range(N // 10):
    for key, verify in (("certifi (default store)", True), ("other cafile (cadata sent)", copy)):
        for _ in range(10):
            t0 = time.perf_counter()
            assert requests.get(url, timeout=10, verify=verify).content == b"abcdefghij"
            times[key].append(time.perf_counter() - t0)
out.update({"requests.get, " + k: statistics.median(v) * 1000 for k, v in times.items()})
print(json.dumps(out))
print("bench ok")
'''


def main():
    runner, netpkgs = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    cfg = servers.start(tempfile.mkdtemp(prefix="eryx-bench-net-"))
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(GUEST)
    env = dict(os.environ, NET_TEST=json.dumps(cfg), NET_TEST_N=str(n))
    p = subprocess.run([runner, f.name, cfg["ca_file"], netpkgs], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(p.stdout + p.stderr)
    res = json.loads(p.stdout.splitlines()[0])
    print(f"medians of {n} (ms), requests.get over a new HTTPS connection each:")
    for k, v in res.items():
        print(f"  {k}: {v:.2f}")


if __name__ == "__main__":
    main()
