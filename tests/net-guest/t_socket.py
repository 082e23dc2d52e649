# socket and select/selectors in the sandbox: blocking, timeouts, non-blocking +
# select, makefile, addresses, IPv6, refusals (tests/net-guest/run.py runs it).
import errno
import json
import os
import select
import selectors
import socket
import time

T = json.loads(os.environ["NET_TEST"])
checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


# getaddrinfo: literals and localhost
ai = socket.getaddrinfo("127.0.0.1", T["echo"], type=socket.SOCK_STREAM)
check(ai[0][4] == ("127.0.0.1", T["echo"]) and ai[0][0] == socket.AF_INET, ai)
ai = socket.getaddrinfo("localhost", "http", socket.AF_INET)
check(ai and ai[0][4] == ("127.0.0.1", 80), ai)
check(socket.gethostbyname("localhost") == "127.0.0.1", "gethostbyname")
check(socket.getaddrinfo("::1", 5, socket.AF_INET6)[0][4][:2] == ("::1", 5), "v6 literal")  # (no host call)
try:
    socket.getaddrinfo("no-such-host.invalid", 80)
    check(False, "gaierror expected")
except socket.gaierror as e:
    check(e.errno == socket.EAI_NONAME, e)

check(socket.gethostbyname_ex("localhost")[2] == ["127.0.0.1"], socket.gethostbyname_ex("localhost"))
check(socket.getnameinfo(("127.0.0.1", 80), socket.NI_NUMERICHOST | socket.NI_NUMERICSERV) == ("127.0.0.1", "80"), "nameinfo")
check(socket.has_ipv6 and socket.getdefaulttimeout() is None, "has_ipv6")

# connect((addr, port)) after getaddrinfo(name): the host is told the name (its rules apply)
try:
    import _eryx
except ImportError:
    _eryx = None
if _eryx is not None:
    addr = socket.getaddrinfo("localhost", T["echo"], socket.AF_INET, socket.SOCK_STREAM)[0][4]
    with socket.socket() as s:
        s.connect(addr)
        rc, info = _eryx.net_info(s.fileno())
        check(rc >= 0 and json.loads(info)["name"] == "localhost", info)

# blocking echo via create_connection (a name: the host resolves and checks)
with socket.create_connection(("localhost", T["echo"])) as s:
    check(s.gettimeout() is None and s.getblocking(), "blocking")
    s.sendall(b"hello\n")
    check(s.recv(100) == b"hello\n", "echo")
    check(s.getpeername() == ("127.0.0.1", T["echo"]), s.getpeername())
    check(s.getsockname()[0] == "127.0.0.1" and s.getsockname()[1] > 0, s.getsockname())
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    check(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0, "SO_ERROR")
    # makefile
    f = s.makefile("rwb")
    f.write(b"line one\nline two\n")
    f.flush()
    check(f.readline() == b"line one\n" and f.readline() == b"line two\n", "makefile")
    f.close()
    # recv_into and a large round trip
    big = os.urandom(300000)
    s.sendall(big)
    got = bytearray()
    buf = bytearray(65536)
    while len(got) < len(big):
        n = s.recv_into(buf)
        check(n > 0, "recv_into")
        got += buf[:n]
    check(bytes(got) == big, "300 KB echo")
    s.shutdown(socket.SHUT_WR)
    check(s.recv(10) == b"", "EOF after SHUT_WR")

# IPv6
if T["echo6"]:
    with socket.create_connection(("::1", T["echo6"]), timeout=5) as s:
        check(s.family == socket.AF_INET6, "AF_INET6")
        s.sendall(b"six\n")
        check(s.recv(10) == b"six\n", "v6 echo")
        check(s.getpeername()[:2] == ("::1", T["echo6"]), s.getpeername())

# a timeout on recv
s = socket.create_connection(("127.0.0.1", T["silent"]), timeout=0.3)
t0 = time.monotonic()
try:
    s.recv(10)
    check(False, "timeout expected")
except socket.timeout as e:
    check(isinstance(e, TimeoutError) and str(e) == "timed out", repr(e))
check(0.25 < time.monotonic() - t0 < 5, "timed out after ~0.3 s")
s.close()

# non-blocking connect + select + selectors
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setblocking(False)
rc = s.connect_ex(("127.0.0.1", T["echo"]))
check(rc in (0, errno.EINPROGRESS), rc)
r, w, x = select.select([], [s], [], 5)
check(w == [s], "writable once connected")
check(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0, "connected")
try:
    s.recv(10)
    check(False, "BlockingIOError expected")
except BlockingIOError:
    checks += 1
s.send(b"ping\n")
sel = selectors.DefaultSelector()
sel.register(s, selectors.EVENT_READ)
events = sel.select(5)
check(events and events[0][0].fileobj is s, events)
check(s.recv(10) == b"ping\n", "non-blocking echo")
p = select.poll()
p.register(s.fileno(), select.POLLIN)
check(p.poll(50) == [], "poll: nothing to read")
sel.close()
s.close()

s = socket.socket()
s.setblocking(False)
try:
    s.connect(("127.0.0.1", T["echo"]))
except BlockingIOError as e:
    check(e.errno == errno.EINPROGRESS, e)
select.select([], [s], [], 5)
check(s.connect_ex(("127.0.0.1", T["echo"])) == errno.EISCONN, "EISCONN once connected")
s.close()

# connection refused (a port nobody listens on: the silent server's, closed first)
l_port = T["closed"]
try:
    socket.create_connection(("127.0.0.1", l_port), timeout=5)
    check(False, "refused expected")
except ConnectionRefusedError:
    checks += 1

# a connection cannot be duplicated; sendto is UDP's
with socket.create_connection(("127.0.0.1", T["echo"])) as s:
    for what, fn in (("dup", s.dup), ("sendto", lambda: s.sendto(b"x", ("127.0.0.1", 9)))):
        try:
            fn()
            check(False, what + " refused expected")
        except OSError as e:
            check("sandbox" in str(e), (what, e))

# the policy: a private address is refused by the host (never connected to)
if _eryx is not None and not getattr(_eryx, "fake", False):  # (native.py's fake has no policy)
    for target in (("10.1.2.3", 80), ("169.254.169.254", 80)):
        try:
            socket.create_connection(target, timeout=2)
            check(False, "policy refusal expected")
        except PermissionError as e:
            check(target[0] in str(e), e)

# refusals: server sockets and UDP
for what, fn in (("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)),
                 ("bind", lambda: socket.socket().bind(("127.0.0.1", 8080))),
                 ("listen", lambda: socket.socket().listen()),
                 ("unix", lambda: socket.socket(socket.AF_UNIX))):
    try:
        fn()
        check(False, what + " refused expected")
    except PermissionError as e:
        check("sandbox" in str(e), (what, e))

print("socket ok:", checks, "checks")
