# http.client, urllib.request (http, https, redirects) and ssl in the sandbox
# (tests/net-guest/run.py runs it; the test CA is a root of the sandbox's host).
import http.client
import json
import os
import socket
import ssl
import urllib.error
import urllib.request

T = json.loads(os.environ["NET_TEST"])
checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


H, HS, HU = T["http"], T["https"], T["https_untrusted"]

# http.client
c = http.client.HTTPConnection("localhost", H, timeout=10)
c.request("GET", "/bytes/100000")
r = c.getresponse()
body = r.read()
check(r.status == 200 and len(body) == 100000 and body[:3] == b"abc", (r.status, len(body)))
c.request("POST", "/echo", body=b"x" * 5000, headers={"Content-Type": "text/plain", "X-Test": "1"})
r = c.getresponse()
check(r.read() == b"x" * 5000, "POST echo (keep-alive)")
check(json.loads(r.getheader("X-Echo-Headers"))["X-Test"] == "1", "headers")
c.close()

if T["http6"]:
    c = http.client.HTTPConnection("::1", T["http6"], timeout=10)
    c.request("GET", "/json")
    check(json.loads(c.getresponse().read())["hello"] == "world", "v6 http.client")
    c.close()

# urllib: http, redirects
with urllib.request.urlopen(f"http://127.0.0.1:{H}/redirect/3", timeout=10) as r:
    check(r.read() == b"abcde" and r.geturl().endswith("/bytes/5"), r.geturl())
with urllib.request.urlopen(urllib.request.Request(f"http://localhost:{H}/json", data=b'{"a": [1, 2]}',
                                                   headers={"Content-Type": "application/json"}), timeout=10) as r:
    check(json.loads(r.read()) == {"json": {"a": [1, 2]}, "method": "POST"}, "urllib POST")
try:
    urllib.request.urlopen(f"http://localhost:{H}/nothing", timeout=10)
    check(False, "404 expected")
except urllib.error.HTTPError as e:
    check(e.code == 404, e)

# urllib https: the default context verifies against the host's roots (the test CA)
with urllib.request.urlopen(f"https://localhost:{HS}/bytes/2000", timeout=10) as r:
    check(r.read() == (b"abcdefghijklmnopqrstuvwxyz" * 80)[:2000], "https body")
with urllib.request.urlopen(f"https://localhost:{HS}/redirect/2", timeout=10) as r:
    check(r.read() == b"abcde", "https redirects")

# ssl directly
ctx = ssl.create_default_context()
check(ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname, "defaults")
with socket.create_connection(("localhost", HS), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        check(s.version() in ("TLSv1.2", "TLSv1.3"), s.version())
        check(isinstance(s.cipher(), tuple) and len(s.cipher()) == 3, s.cipher())
        cert = s.getpeercert()
        check(("DNS", "localhost") in cert.get("subjectAltName", ()), cert)
        der = s.getpeercert(binary_form=True)
        check(isinstance(der, bytes) and ssl.PEM_cert_to_DER_cert(ssl.DER_cert_to_PEM_cert(der)) == der, "der")
        s.sendall(b"GET /bytes/10 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        check(data.startswith(b"HTTP/1.1 200") and data.endswith(b"abcdefghij"), data[-40:])

# a non-blocking handshake, driven by select (SSLWantReadError/SSLWantWriteError)
import select
raw = socket.create_connection(("127.0.0.1", HS), timeout=10)
raw.setblocking(False)
s = ctx.wrap_socket(raw, server_hostname="localhost", do_handshake_on_connect=False)
wants = 0
while True:
    try:
        s.do_handshake()
        break
    except ssl.SSLWantReadError:
        wants += 1
        select.select([s], [], [], 10)
    except ssl.SSLWantWriteError:
        wants += 1
        select.select([], [s], [], 10)
check(s.version() in ("TLSv1.2", "TLSv1.3"), wants)  # (the host may finish in one step)
try:
    s.recv(10)
    check(False, "SSLWantReadError expected")
except ssl.SSLWantReadError:
    checks += 1
s.close()

# ALPN
ctx2 = ssl.create_default_context()
ctx2.set_alpn_protocols(["http/1.1"])
with ctx2.wrap_socket(socket.create_connection(("127.0.0.1", HS), timeout=10), server_hostname="localhost") as s:
    check(s.selected_alpn_protocol() == "http/1.1", s.selected_alpn_protocol())

# the wrong name: refused
try:
    with ctx.wrap_socket(socket.create_connection(("127.0.0.1", HS), timeout=10), server_hostname="wrong.example"):
        pass
    check(False, "wrong name accepted")
except ssl.SSLCertVerificationError as e:
    check(isinstance(e, ssl.SSLError) and isinstance(e, ValueError), repr(e))
# an untrusted root: refused, by urllib too
try:
    urllib.request.urlopen(f"https://localhost:{HU}/bytes/5", timeout=10)
    check(False, "untrusted root accepted")
except urllib.error.URLError as e:
    check(isinstance(e.reason, ssl.SSLCertVerificationError), repr(e.reason))
# ... unless the guest turns verification off, or adds the root itself
unverified = ssl._create_unverified_context()
with urllib.request.urlopen(f"https://localhost:{HU}/bytes/5", timeout=10, context=unverified) as r:
    check(r.read() == b"abcde", "unverified")
trusting = ssl.create_default_context(cadata=T["other_ca_pem"])
with urllib.request.urlopen(f"https://localhost:{HU}/bytes/5", timeout=10, context=trusting) as r:
    check(r.read() == b"abcde", "cadata")

# http.client over TLS, with a timeout on a slow body
c = http.client.HTTPSConnection("localhost", HS, timeout=0.5, context=ctx)
c.request("GET", "/slow/3")
r = c.getresponse()
try:
    r.read()
    check(False, "timeout expected")
except TimeoutError:
    checks += 1
c.close()

# MemoryBIO is refused with a clear message
try:
    ssl.MemoryBIO()
    check(False, "MemoryBIO")
except NotImplementedError as e:
    check("host" in str(e), e)

print("http ok:", checks, "checks")
