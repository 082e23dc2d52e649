# A session restored into another sandbox: the (name, address) pairs the guest
# remembers from getaddrinfo are unknown to the new instance's host, which first
# refuses the pair; the guest resolves the name again and connects
# (tests/net-guest/run.py runs it; net_guest_run splits it at the marker below).
import json
import os
import socket

T = json.loads(os.environ["NET_TEST"])
checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


addr = socket.getaddrinfo("localhost", T["echo"], socket.AF_INET, socket.SOCK_STREAM)[0][4]
with socket.create_connection(addr) as s:
    s.sendall(b"before\n")
    check(s.recv(100) == b"before\n", "before the restore")

# --- restore ---
try:
    import _eryx
except ImportError:
    _eryx = None
with socket.socket() as s:
    s.connect(addr)
    if _eryx is not None:
        check(json.loads(_eryx.net_info(s.fileno())[1])["name"] == "localhost", "still to localhost")
    s.sendall(b"after\n")
    check(s.recv(100) == b"after\n", "after the restore")
print("session ok:", checks, "checks")
