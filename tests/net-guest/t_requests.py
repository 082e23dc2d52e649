# requests in the sandbox: GET/POST JSON, streaming, redirects, timeouts, https with
# certifi's bundle standing for the host's store (tests/net-guest/run.py runs it).
import json
import os

import requests

T = json.loads(os.environ["NET_TEST"])
checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


base = f"http://localhost:{T['http']}"
r = requests.get(base + "/json", timeout=10)
check(r.status_code == 200 and r.json()["hello"] == "world", r.text)
r = requests.post(base + "/json", json={"n": [1, 2, 3], "s": "é"}, timeout=10)
check(r.json() == {"json": {"n": [1, 2, 3], "s": "é"}, "method": "POST"}, r.text)
r = requests.get(base + "/redirect/3", timeout=10)
check(r.content == b"abcde" and len(r.history) == 3, (r.content, r.history))

with requests.Session() as s:
    for _ in range(3):  # keep-alive: one pooled connection
        check(len(s.get(base + "/bytes/70000", timeout=10).content) == 70000, "session")
    with s.get(base + "/stream/5", stream=True, timeout=10) as r:
        lines = list(r.iter_lines())
    check(lines == [f"chunk {i}".encode() for i in range(5)], lines)
    with s.get(base + "/bytes/300000", stream=True, timeout=10) as r:
        total = sum(len(c) for c in r.iter_content(65536))
    check(total == 300000, total)

if T["http6"]:
    r = requests.get(f"http://[::1]:{T['http6']}/json", timeout=10)
    check(r.json()["hello"] == "world", "v6")

try:
    requests.get(base + "/slow/3", timeout=(5, 0.5)).content
    check(False, "read timeout expected")
except requests.exceptions.ConnectionError as e:  # urllib3 reports a body timeout so
    check("timed out" in str(e).lower(), repr(e))
except requests.exceptions.Timeout:
    checks += 1
try:
    requests.get(f"http://127.0.0.1:{T['closed']}/", timeout=5)
    check(False, "refused expected")
except requests.exceptions.ConnectionError:
    checks += 1

# https: verify=True is certifi's bundle, taken as the host's store (with the test CA)
hs = f"https://localhost:{T['https']}"
r = requests.get(hs + "/json", timeout=10)
check(r.json()["hello"] == "world", "https")
r = requests.post(hs + "/json", json={"tls": True}, timeout=10)
check(r.json()["json"] == {"tls": True}, "https POST")
try:
    requests.get(f"https://localhost:{T['https_untrusted']}/json", timeout=10)
    check(False, "untrusted root accepted")
except requests.exceptions.SSLError:
    checks += 1
r = requests.get(f"https://localhost:{T['https_untrusted']}/json", timeout=10, verify=False)
check(r.status_code == 200, "verify=False")

print("requests ok:", checks, "checks")
