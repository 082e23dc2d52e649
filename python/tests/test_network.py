"""Networking and secrets from Python (docs/NETWORK.md): every policy rule, the
clients (socket, urllib, http.client, asyncio streams, requests, httpx) against
local servers (netservers.py: 127.0.0.1 and ::1 only), TLS, secrets and scrubbing.
Behaviour only: no timings are asserted."""
import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest

import eryx
from eryx import NetConfig
from netservers import NetServers

# Run inside the guest before each test's code: try(f) -> ["ok", value] or
# [exception type, message, errno].
PRELUDE = textwrap.dedent("""
    import json, os, socket
    def attempt(f):
        try:
            return ["ok", f()]
        except BaseException as e:
            return [type(e).__name__, str(e), getattr(e, "errno", None)]
    def connect(host, port, timeout=None):
        s = socket.create_connection((host, port), timeout=timeout)
        s.close()
        return host
""")


@pytest.fixture(scope="module")
def srv():
    with NetServers() as s:
        yield s


def run(code: str, network=None, **kw) -> eryx.ExecuteResult:
    sb = eryx.Sandbox(network=network, **kw)
    return sb.execute(PRELUDE + textwrap.dedent(code))


def result(code: str, network=None, **kw):
    return run(code, network, **kw).result


def loopback() -> NetConfig:
    return NetConfig().allow_localhost()


# ---- NetConfig itself -----------------------------------------------------------------------

def test_netconfig_defaults_as_the_reference():
    n = NetConfig()
    assert (n.max_connections, n.connect_timeout_ms, n.io_timeout_ms) == (10, 30000, 60000)
    assert n.allowed_hosts == [] and n.allowed_networks == [] and n.internal_hosts == []
    assert "localhost" in n.blocked_hosts and "127.*" in n.blocked_hosts
    for cidr in ("127.0.0.0/8", "10.0.0.0/8", "169.254.0.0/16", "::1/128", "fc00::/7", "fe80::/10", "100.64.0.0/10"):
        assert cidr in n.blocked_networks
    assert not n.localhost_allowed
    p = NetConfig.permissive()
    assert p.blocked_hosts == [] and p.blocked_networks == [] and p.localhost_allowed


def test_netconfig_builder_methods_return_self_and_mean_the_constructor():
    n = NetConfig()
    assert n.allow_host("a.example") is n
    assert n.block_host("b.example") is n
    assert n.allow_network("10.1.0.0/16") is n
    assert n.allow_internal_host("db.internal") is n
    assert n.allow_localhost() is n
    # pyeryx 0.11's bug: allow_host() on a default config left every host allowed
    assert NetConfig().allow_host("x.example").allowed_hosts == NetConfig(allowed_hosts=["x.example"]).allowed_hosts
    lh = NetConfig().allow_localhost()
    assert "localhost" not in lh.blocked_hosts and "127.0.0.0/8" not in lh.blocked_networks
    assert "10.0.0.0/8" in lh.blocked_networks  # only loopback is opened


def test_netconfig_invalid_values():
    with pytest.raises(ValueError, match="not-a-cidr"):
        NetConfig(blocked_networks=["not-a-cidr"])
    with pytest.raises(ValueError, match="10.0.0.0/33"):
        NetConfig(allowed_networks=["10.0.0.0/33"])
    n = NetConfig()
    with pytest.raises(ValueError):
        n.blocked_networks = ["1.2.3"]
    with pytest.raises(ValueError):
        n.allowed_networks = ["::1/129"]
    with pytest.raises(ValueError):
        n.allow_network("300.0.0.0/8")
    assert "127.0.0.0/8" in n.blocked_networks  # a refused assignment changes nothing
    with pytest.raises(TypeError):
        NetConfig(allowed_hosts="example.com")  # a str is not a list of patterns
    with pytest.raises(TypeError):
        n.allowed_hosts = [1]
    with pytest.raises(ValueError):
        n.allow_host("")
    with pytest.raises(ValueError):
        NetConfig(max_connections=0)
    with pytest.raises(TypeError):
        NetConfig(io_timeout_ms=1.5)
    with pytest.raises(ValueError):
        n.connect_timeout_ms = -1
    with pytest.raises(TypeError):
        eryx.Sandbox(network="yes")
    with pytest.raises(ValueError):  # past the C API's 32 bits: a ValueError, not OverflowError
        NetConfig(max_connections=1 << 32)


def test_nul_in_a_host_pattern_is_refused():
    # Cut at the NUL, "*\0.corp.example" would have reached the library as "*".
    with pytest.raises(ValueError, match="NUL"):
        NetConfig(allowed_hosts=["*\0.corp.example"])
    with pytest.raises(ValueError, match="NUL"):
        NetConfig().allow_host("*\0.corp.example")
    secret = {"K": {"value": "v" * 40, "allowed_hosts": ["*\0.corp.example"]}}
    with pytest.raises(ValueError, match="null"):
        eryx.Sandbox(network=NetConfig(), secrets=secret)


def test_with_root_cert_der_and_pem(srv):
    n = NetConfig().with_root_cert(srv.ca_der).with_root_cert(srv.ca_pem).with_root_cert(srv.ca_pem.encode())
    assert len(n.root_certs) == 3
    with pytest.raises(ValueError):
        NetConfig().with_root_cert(b"not a certificate")
    with pytest.raises(TypeError):
        NetConfig().with_root_cert(42)
    # DER-shaped garbage passes the shape check and is refused when the sandbox is made
    with pytest.raises(ValueError):
        eryx.Sandbox(network=NetConfig().with_root_cert(b"\x30\x03\x02\x01\x00"))


def test_secrets_are_validated():
    ok = {"value": "v", "allowed_hosts": ["h.example"]}
    with pytest.raises(TypeError):
        eryx.Sandbox(secrets=["K"])
    with pytest.raises(TypeError):
        eryx.Sandbox(secrets={1: ok})
    with pytest.raises(TypeError):
        eryx.Sandbox(secrets={"K": "v"})
    with pytest.raises(KeyError):
        eryx.Sandbox(secrets={"K": {"allowed_hosts": []}})
    with pytest.raises(ValueError):  # pyeryx 0.11 raised ValueError there: both work
        eryx.Sandbox(secrets={"K": {"allowed_hosts": []}})
    with pytest.raises(TypeError):
        eryx.Sandbox(secrets={"K": {"value": 1}})
    with pytest.raises(ValueError):
        eryx.Sandbox(secrets={"K": {"value": ""}})
    with pytest.raises(TypeError):
        eryx.Sandbox(secrets={"K": {"value": "v", "allowed_hosts": "h.example"}})
    with pytest.raises(TypeError):
        eryx.Sandbox(secrets={"K": {"value": "v", "allowed_hosts": [None]}})
    with pytest.raises(ValueError, match="allowed_host"):  # a misspelt key must not pass silently
        eryx.Sandbox(secrets={"K": {"value": "v", "allowed_host": ["h.example"]}})
    with pytest.raises(ValueError):
        eryx.Sandbox(secrets={"A=B": ok})
    with pytest.raises(TypeError):
        eryx.Sandbox(secrets={"K": ok}, scrub_files=1)


# ---- the policy ------------------------------------------------------------------------------

def test_no_network_without_a_config(srv):
    r = result(f"result = attempt(lambda: connect('127.0.0.1', {srv.http.port}))")
    assert r[0] == "PermissionError", r


def test_default_refuses_loopback_naming_host_and_rule(srv):
    with pytest.raises(eryx.ExecutionError) as e:
        run(f"socket.create_connection(('127.0.0.1', {srv.http.port}))", NetConfig())
    assert e.value.exception_type == "PermissionError"
    assert "127.0.0.1" in str(e.value)
    assert any(w in str(e.value) for w in ("block", "127.0.0.0/8", "127.*", "loopback")), str(e.value)
    assert e.value.net_stats.refused >= 1
    assert e.value.net_stats.connections == 0


def test_every_spelling_of_loopback_refused(srv):
    spellings = ["127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "127.1", "127.0.1",
                 "127.000.000.001", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "::ffff:7f00:1",
                 "0:0:0:0:0:ffff:127.0.0.1", "::127.0.0.1", "0.0.0.0", "localhost", "LOCALHOST", "localhost.",
                 "127.0.0.2", "169.254.169.254", "10.0.0.1", "192.168.1.1", "[::1]"]
    r = result(f"result = {{h: attempt(lambda: connect(h, {srv.http.port})) for h in {spellings!r}}}", NetConfig())
    for h in spellings:
        assert r[h][0] in ("PermissionError", "gaierror"), (h, r[h])
        if h not in ("[::1]",):  # not an address at all: the guest may refuse it before asking
            assert r[h][0] == "PermissionError", (h, r[h])


def test_allow_localhost(srv):
    code = f"""
        import urllib.request
        result = [urllib.request.urlopen('{srv.http_url('/bytes/10')}').read().decode(),
                  urllib.request.urlopen('{srv.http_url('/bytes/3', host='localhost')}').read().decode(),
                  attempt(lambda: urllib.request.urlopen('{srv.http6_url('/bytes/4')}').read().decode())]
    """
    assert result(code, loopback()) == ["0123456789", "012", ["ok", "0123"]]


def test_allowed_hosts_globs_and_the_allow_host_bug(srv):
    port = srv.http.port
    code = f"result = {{h: attempt(lambda: connect(h, {port}))[0] for h in ['127.0.0.1', 'localhost', '::1']}}"
    open_ = dict(blocked_hosts=[], blocked_networks=[])
    assert result(code, NetConfig(allowed_hosts=["127.0.0.*"], **open_)) == {
        "127.0.0.1": "ok", "localhost": "PermissionError", "::1": "PermissionError"}
    # the builder method means the same as the constructor
    assert result(code, NetConfig(**open_).allow_host("127.0.0.*")) == {
        "127.0.0.1": "ok", "localhost": "PermissionError", "::1": "PermissionError"}
    # case-insensitive; a name pattern does not admit the literal address
    r = result(code, NetConfig(allowed_hosts=["LOCALHOST"], **open_))
    assert r["localhost"] == "ok" and r["127.0.0.1"] == "PermissionError", r


def test_blocked_hosts_win(srv):
    port = srv.http.port
    code = f"result = {{h: attempt(lambda: connect(h, {port}))[0] for h in ['127.0.0.1', 'localhost']}}"
    assert result(code, NetConfig.permissive().block_host("localhost")) == {
        "127.0.0.1": "ok", "localhost": "PermissionError"}
    # the blocked pattern wins over the allowed one; localhost is not allowed (no allow_localhost)
    assert result(code, NetConfig(blocked_hosts=[], blocked_networks=[]).block_host("127.*").allow_host(
        "127.0.0.1")) == {"127.0.0.1": "PermissionError", "localhost": "PermissionError"}
    # with allow_localhost (permissive() has it) the name localhost counts as allowed
    assert result(code, NetConfig.permissive().block_host("127.*").allow_host("127.0.0.1")) == {
        "127.0.0.1": "PermissionError", "localhost": "ok"}


def test_blocked_and_allowed_networks(srv):
    port, port6 = srv.http.port, srv.http6.port
    code = f"""result = {{'v4': attempt(lambda: connect('127.0.0.1', {port}))[0],
                          'v6': attempt(lambda: connect('::1', {port6}))[0],
                          'other': attempt(lambda: connect('127.0.0.2', {port}))[0]}}"""
    # a custom list replaces the defaults: only 127.0.0.0/8 blocked, ::1 open
    assert result(code, NetConfig(blocked_hosts=[], blocked_networks=["127.0.0.0/8"])) == {
        "v4": "PermissionError", "v6": "ok", "other": "PermissionError"}
    # allowed_networks exempts a part of a blocked range
    r = result(code, NetConfig(blocked_hosts=[], allowed_networks=["127.0.0.1/32"]))
    assert r == {"v4": "ok", "v6": "PermissionError", "other": "PermissionError"}, r
    r = result(code, NetConfig(blocked_hosts=[]).allow_network("::1/128"))
    assert r["v6"] == "ok" and r["v4"] == "PermissionError"


def test_internal_hosts_may_resolve_into_blocked_ranges(srv):
    port = srv.http.port
    # The literal first: once "localhost" resolved to 127.0.0.1, the guest's socket
    # module names that address "localhost" when connecting to it (the host checks the
    # pair), so a later connect to the literal counts as one to localhost.
    code = f"result = {{h: attempt(lambda: connect(h, {port}))[0] for h in ['127.0.0.1', 'localhost']}}"
    # the name is internal: its (loopback) addresses pass; the literal address does not
    assert result(code, NetConfig(blocked_hosts=[], internal_hosts=["localhost"])) == {
        "localhost": "ok", "127.0.0.1": "PermissionError"}
    assert result(code, NetConfig(blocked_hosts=[]).allow_internal_host("LOCAL*")) == {
        "localhost": "ok", "127.0.0.1": "PermissionError"}
    # a blocked host pattern wins over internal_hosts (the default list blocks localhost)
    assert result(code, NetConfig(internal_hosts=["localhost"]))["localhost"] == "PermissionError"
    assert result(code, NetConfig(blocked_hosts=[]))["localhost"] == "PermissionError"


def test_permissive(srv):
    code = f"""result = [attempt(lambda: connect(h, p))[0] for h, p in
                         [('127.0.0.1', {srv.http.port}), ('localhost', {srv.http.port}), ('::1', {srv.http6.port})]]"""
    assert result(code, NetConfig.permissive()) == ["ok", "ok", "ok"]


def test_redirect_into_a_blocked_range_is_refused(srv):
    # 127.0.0.1 is allowed; ::1, 127.0.0.2 and the metadata address stay blocked
    net = NetConfig(blocked_hosts=[], allowed_networks=["127.0.0.1/32"])
    before = len(srv.requests_to(srv.http6))
    targets = [srv.http6_url("/bytes/1"), f"http://127.0.0.2:{srv.http.port}/bytes/1",
               "http://169.254.169.254/latest/meta-data/", srv.http_url("/bytes/2")]
    code = f"""
        import urllib.request, urllib.error
        def get(url):
            try:
                return urllib.request.urlopen(url).read().decode()
            except urllib.error.URLError as e:
                raise e.reason
        result = [attempt(lambda: get('{srv.http_url('/redirect')}?to=' + t)) for t in {targets!r}]
    """
    r = result(code, net)
    assert [x[0] for x in r] == ["PermissionError", "PermissionError", "PermissionError", "ok"], r
    assert r[3][1] == "01"
    assert len(srv.requests_to(srv.http6)) == before  # the redirect target was never reached


def test_max_connections(srv):
    code = f"""
        import errno
        socks = [socket.create_connection(('127.0.0.1', {srv.http.port})) for _ in range(2)]
        third = attempt(lambda: socket.create_connection(('127.0.0.1', {srv.http.port})))
        socks.pop().close()
        again = attempt(lambda: connect('127.0.0.1', {srv.http.port}))
        result = [third[0], third[2] == errno.EMFILE, third[1], again[0]]
    """
    r = result(code, NetConfig(max_connections=2).allow_localhost())
    assert r[0] in ("OSError", "PermissionError") and r[1], r
    assert "2" in r[2], r  # the message names the limit
    assert r[3] == "ok"


def test_connect_timeout(srv):
    port = srv.blackhole()
    r = result(f"result = attempt(lambda: connect('127.0.0.1', {port}))",
               NetConfig(connect_timeout_ms=300).allow_localhost())
    assert r[0] in ("TimeoutError", "timeout"), r
    # the guest's own timeout works as well
    r = result(f"result = attempt(lambda: connect('127.0.0.1', {port}, timeout=0.2))", loopback())
    assert r[0] in ("TimeoutError", "timeout"), r


def test_io_timeout(srv):
    code = f"""
        s = socket.create_connection(('127.0.0.1', {srv.http.port}))
        s.sendall(b'GET /slow HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
        result = attempt(lambda: s.recv(10))
    """
    r = result(code, NetConfig(io_timeout_ms=300).allow_localhost())
    assert r[0] in ("TimeoutError", "timeout"), r
    r = result(code.replace("result =", "s.settimeout(0.2); result ="), loopback())
    assert r[0] in ("TimeoutError", "timeout"), r


def test_sandbox_timeout_and_cancel_stop_a_blocked_recv(srv):
    code = PRELUDE + textwrap.dedent(f"""
        s = socket.create_connection(('127.0.0.1', {srv.http.port}))
        s.sendall(b'GET /slow HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
        print('waiting', flush=True)
        s.recv(10)
    """)
    net = NetConfig(io_timeout_ms=0).allow_localhost()
    sb = eryx.Sandbox(network=net, resource_limits=eryx.ResourceLimits(execution_timeout_ms=500))
    with pytest.raises(eryx.TimeoutError):
        sb.execute(code)
    assert sb.execute("print('alive')").stdout == b"alive\n"

    started = threading.Event()
    sb = eryx.Sandbox(network=net, resource_limits=eryx.ResourceLimits(execution_timeout_ms=None),
                      on_stdout=lambda text: started.set())
    t = threading.Thread(target=lambda: (started.wait(30), sb.cancel()))
    t.start()
    with pytest.raises(eryx.CancelledError):
        sb.execute(code)
    t.join()
    assert sb.execute("print('alive')").stdout == b"alive\n"


# ---- clients ---------------------------------------------------------------------------------

def test_urllib_http_and_https(srv):
    code = f"""
        import urllib.request, ssl, json
        plain = urllib.request.urlopen('{srv.http_url('/bytes/100000')}').read()
        tls = urllib.request.urlopen('{srv.https_url('/bytes/100000')}').read()
        echo = json.loads(urllib.request.urlopen(urllib.request.Request('{srv.https_url('/echo')}',
                          data=b'hi', headers={{'X-Test': 'yes'}})).read())
        result = [len(plain), plain[:10].decode(), len(tls), echo['method'], echo['body'], echo['headers']['X-Test']]
    """
    assert result(code, loopback().with_root_cert(srv.ca_der)) == [100000, "0123456789", 100000, "POST", "hi", "yes"]


def test_http_client(srv):
    code = f"""
        import http.client, ssl
        c = http.client.HTTPConnection('127.0.0.1', {srv.http.port}, timeout=10)
        c.request('GET', '/bytes/5'); a = c.getresponse().read()
        c.request('GET', '/bytes/6'); b = c.getresponse().read()   # the same connection, kept alive
        ctx = ssl.create_default_context(cadata={srv.ca_pem!r})
        t = http.client.HTTPSConnection('localhost', {srv.https.port}, context=ctx, timeout=10)
        t.request('POST', '/json', body='{{"k": [1, 2]}}', headers={{'Content-Type': 'application/json'}})
        resp = t.getresponse()
        result = [a.decode(), b.decode(), resp.status, json.loads(resp.read())['json']]
    """
    # the CA comes from the guest's cadata here, not from the NetConfig
    assert result(code, loopback()) == ["01234", "012345", 200, {"k": [1, 2]}]


def test_asyncio_streams_and_start_tls(srv):
    code = f"""
        import asyncio, ssl
        async def get(reader, writer, path, host):
            writer.write(f'GET {{path}} HTTP/1.1\\r\\nHost: {{host}}\\r\\nConnection: close\\r\\n\\r\\n'.encode())
            await writer.drain()
            data = await reader.read()
            writer.close()
            return data.split(b'\\r\\n\\r\\n', 1)[1].decode()
        async def main():
            ctx = ssl.create_default_context()
            r, w = await asyncio.open_connection('127.0.0.1', {srv.http.port})
            plain = await get(r, w, '/bytes/7', 'x')
            r, w = await asyncio.open_connection('localhost', {srv.https.port}, ssl=ctx)
            tls = await get(r, w, '/bytes/8', 'localhost')
            r, w = await asyncio.open_connection('localhost', {srv.https.port})
            await w.start_tls(ctx, server_hostname='localhost')
            upgraded = await get(r, w, '/bytes/9', 'localhost')
            return [plain, tls, upgraded]
        result = asyncio.run(main())
    """
    assert result(code, loopback().with_root_cert(srv.ca_pem)) == ["0123456", "01234567", "012345678"]


@pytest.fixture(scope="module")
def clients():
    """A factory whose sandboxes import requests and httpx: the net-guest package
    (guest/netpkgs/build.sh; docs/NETWORK-GUEST.md), named by $ERYX_NETPKGS_PACKAGE
    (ctest sets it from the CMake cache, as ./build.sh configures it)."""
    pkg = os.environ.get("ERYX_NETPKGS_PACKAGE")
    if not pkg:
        pytest.skip("ERYX_NETPKGS_PACKAGE is not set: requests/httpx are not available (guest/netpkgs/build.sh)")
    return eryx.SandboxFactory(packages=[pkg], imports=["requests", "httpx"])


def _run_with_clients(factory, code: str, net: NetConfig, **kw) -> eryx.ExecuteResult:
    return factory.create_sandbox(network=net, **kw).execute(PRELUDE + textwrap.dedent(code))


def test_requests(srv, clients):
    code = f"""
        import requests
        g = requests.get('{srv.https_url('/bytes/2000')}', timeout=10)
        p = requests.post('{srv.http_url('/json')}', json={{'a': 1}}, timeout=10)
        with requests.get('{srv.http_url('/bytes/300000')}', stream=True, timeout=10) as s:
            streamed = sum(len(c) for c in s.iter_content(65536))
        t = attempt(lambda: requests.get('{srv.http_url('/slow')}', timeout=0.3))
        result = [g.status_code, len(g.content), p.json()['json'], streamed, t[0]]
    """
    r = _run_with_clients(clients, code, loopback().with_root_cert(srv.ca_pem)).result
    assert r[:4] == [200, 2000, {"a": 1}, 300000]
    assert r[4] in ("ReadTimeout", "Timeout", "ConnectionError"), r


def test_httpx(srv, clients):
    code = f"""
        import httpx
        with httpx.Client(timeout=10) as c:
            g = c.get('{srv.https_url('/bytes/2000')}')
            p = c.post('{srv.http_url('/json')}', json={{'a': [1]}})
            with c.stream('GET', '{srv.http_url('/bytes/300000')}') as s:
                streamed = sum(len(b) for b in s.iter_bytes())
        t = attempt(lambda: httpx.get('{srv.http_url('/slow')}', timeout=0.3))
        result = [g.status_code, len(g.content), p.json()['json'], streamed, t[0]]
    """
    r = _run_with_clients(clients, code, loopback().with_root_cert(srv.ca_pem)).result
    assert r[:4] == [200, 2000, {"a": [1]}, 300000]
    assert r[4] in ("ReadTimeout", "TimeoutException"), r


def test_tls_verification_failures(srv):
    code = f"""
        import ssl, urllib.request, urllib.error
        def get(port, host='localhost'):
            ctx = ssl.create_default_context()
            with socket.create_connection((host, port)) as s:
                with ctx.wrap_socket(s, server_hostname=host) as t:
                    t.sendall(b'GET /bytes/1 HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n')
                    return t.recv(100)[:12].decode()
        result = {{'good': attempt(lambda: get({srv.https.port})),
                   'ip': attempt(lambda: get({srv.https.port}, '127.0.0.1')),
                   'wrong_name': attempt(lambda: get({srv.https_wrong.port})),
                   'untrusted': attempt(lambda: get({srv.https_untrusted.port}))}}
    """
    r = result(code, loopback().with_root_cert(srv.ca_der))
    assert r["good"] == ["ok", "HTTP/1.1 200"], r
    assert r["ip"] == ["ok", "HTTP/1.1 200"], r  # the certificate has IP SANs
    assert r["wrong_name"][0] == "SSLCertVerificationError", r
    assert r["untrusted"][0] == "SSLCertVerificationError", r
    # without the root, the good server is untrusted too
    assert result(code, loopback())["good"][0] == "SSLCertVerificationError"


# ---- secrets ---------------------------------------------------------------------------------

REAL = "sk-live-4f9c2d7e81b3a605"


def _secret(hosts):
    return {"TOKEN": {"value": REAL, "allowed_hosts": hosts}}


def test_secret_placeholder_substituted_toward_allowed_host_and_masked_back(srv):
    code = f"""
        import urllib.request
        token = os.environ['TOKEN']
        req = urllib.request.Request('{srv.http_url('/echo')}', headers={{'Authorization': 'Bearer ' + token}})
        echoed = json.loads(urllib.request.urlopen(req).read())
        result = {{'token': token, 'echoed': echoed['headers']['Authorization']}}
    """
    before = len(srv.requests_to())
    r = run(code, loopback(), secrets=_secret(["127.0.0.1"]), scrub_stdout=False)
    seen = r.result
    assert seen["token"] != REAL and REAL not in json.dumps(seen)
    # the server received the real value...
    sent = [q for q in srv.requests_to()[before:] if q["path"] == "/echo"]
    assert sent and sent[-1]["headers"]["Authorization"] == f"Bearer {REAL}"
    # ...and the guest saw neither it nor its placeholder in the echo: a same-length mask
    assert seen["echoed"].startswith("Bearer ") and len(seen["echoed"]) == len("Bearer " + REAL)
    assert seen["echoed"] != f"Bearer {seen['token']}"
    assert REAL not in r.stdout_text and REAL not in (r.result_json or "")
    assert r.net_stats.connections == 1 and r.net_stats.bytes_sent > 0 and r.net_stats.bytes_received > 0


LONG = "sk-live-0123456789abcdefghijklmnopqrstuv"  # >= 32 bytes: as long as its placeholder


def test_secret_in_body_substituted_and_masked_in_the_echo(srv):
    # A placeholder is max(32, len(value)) bytes: a value this long keeps the body's
    # length, so the Content-Length the guest computed stays right.
    code = f"""
        import urllib.request
        token = os.environ['TOKEN']
        body = json.dumps({{'key': token}}).encode()
        echoed = json.loads(urllib.request.urlopen(urllib.request.Request('{srv.http_url('/echo')}',
                            data=body, headers={{'X-Key': token}})).read())
        result = [echoed['body'], echoed['headers']['X-Key'], token]
    """
    before = len(srv.requests_to())
    r = run(code, loopback(), secrets={"TOKEN": {"value": LONG, "allowed_hosts": ["127.0.0.1"]}})
    body, header, token = r.result
    assert LONG not in json.dumps(r.result)
    # the echoed value is masked; a value as long as its placeholder comes back as it
    assert header == token and json.loads(body) == {"key": token}
    got = srv.requests_to()[before:][-1]
    assert got["headers"]["X-Key"] == LONG
    assert json.loads(got["body"]) == {"key": LONG}  # bodies are substituted too


def test_secret_toward_a_host_it_is_not_allowed_for(srv):
    code = f"""
        token = os.environ['TOKEN']
        s = socket.create_connection(('127.0.0.1', {srv.http.port}))
        result = attempt(lambda: s.sendall(('GET /echo HTTP/1.1\\r\\nHost: x\\r\\nX-Key: ' + token
                                            + '\\r\\n\\r\\n').encode()))
    """
    before = len(srv.requests_to())
    r = run(code, loopback(), secrets=_secret(["api.example.com"]))
    assert r.result[0] == "PermissionError", r.result
    assert r.net_stats.refused >= 1
    for q in srv.requests_to()[before:]:
        assert REAL not in json.dumps(q)


def test_scrub_options(tmp_path):
    secrets = _secret([])
    code = """
        import sys
        token = os.environ['TOKEN']
        print('out', token)
        print('err', token, file=sys.stderr)
        with open('/tmp/f', 'w') as f:
            f.write(token)
        result = {'file': open('/tmp/f').read() == token, 'token': token}
    """
    r = run(code, None, secrets=secrets)  # the defaults: stdout, stderr, files; not the result
    token = r.result["token"]
    assert token.startswith("ERYX") or len(token) >= 16
    assert r.stdout == b"out [REDACTED]\n" and r.stderr == b"err [REDACTED]\n"
    assert r.result["file"] is False  # the file holds [REDACTED]
    r = run(code, None, secrets=secrets, scrub_stdout=False, scrub_stderr=False, scrub_files=False,
            scrub_result=True)
    token = r.stdout_text.split()[1]
    assert r.stdout_text == f"out {token}\n" and r.stderr_text == f"err {token}\n"
    assert r.result == {"file": True, "token": "[REDACTED]"}
    r = run(code, None, secrets=secrets, scrub_stdout=True, scrub_stderr=False)
    assert r.stdout == b"out [REDACTED]\n" and r.stderr_text.startswith("err ") and "[REDACTED]" not in r.stderr_text


def test_placeholder_is_fresh_per_sandbox():
    code = "result = os.environ['TOKEN']"
    a, b = (result(code, None, secrets=_secret([])) for _ in range(2))
    assert a != b and REAL not in (a, b)


# ---- results, Session, factory, python -m eryx -------------------------------------------------

def test_net_stats(srv):
    r = run(f"import urllib.request; urllib.request.urlopen('{srv.http_url('/bytes/5000')}').read()", loopback())
    s = r.net_stats
    assert isinstance(s, eryx.NetStats)
    assert s.connections == 1 and s.refused == 0 and s.bytes_received >= 5000 and s.bytes_sent > 0
    r = run(f"attempt(lambda: connect('10.0.0.1', 80)); attempt(lambda: connect('127.0.0.1', {srv.http.port}))",
            NetConfig())
    assert r.net_stats.refused >= 2 and r.net_stats.connections == 0
    assert eryx.Sandbox().execute("pass").net_stats == (0, 0, 0, 0)


def test_session_and_factory_take_network_and_secrets(srv):
    s = eryx.Session(network=loopback(), secrets=_secret(["127.0.0.1"]))
    s.execute(PRELUDE + "import urllib.request")
    r = s.execute(f"print(urllib.request.urlopen('{srv.http_url('/bytes/4')}').read().decode(), "
                  "os.environ['TOKEN'])")
    assert r.stdout == b"0123 [REDACTED]\n"
    f = eryx.SandboxFactory(imports=["json"])
    sb = f.create_sandbox(network=loopback(), secrets=_secret([]), scrub_stdout=False)
    r = sb.execute(PRELUDE + f"print(attempt(lambda: connect('127.0.0.1', {srv.http.port}))[0]); "
                   "print(os.environ['TOKEN'] != '')")
    assert r.stdout == b"ok\nTrue\n"
    r = f.create_sandbox().execute(PRELUDE + f"print(attempt(lambda: connect('127.0.0.1', {srv.http.port}))[0])")
    assert r.stdout == b"PermissionError\n"


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "eryx", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_python_m_eryx_network_options(srv):
    get = f"import urllib.request; print(urllib.request.urlopen('{srv.http_url('/bytes/3')}').read().decode())"
    assert _cli("-c", get).returncode == 1  # no network
    p = _cli("--allow-localhost", "-c", get)
    assert (p.returncode, p.stdout) == (0, "012\n"), p.stderr
    p = _cli("--net", "-c", get)
    assert p.returncode == 1 and "PermissionError" in p.stderr
    p = _cli("--secret", "TOKEN=ERYX_TEST_REAL@127.0.0.1", "-c", "import os; print(os.environ['TOKEN'])",
             env={"ERYX_TEST_REAL": REAL})
    assert (p.returncode, p.stdout) == (0, "[REDACTED]\n"), p.stderr
    p = _cli("--secret", "TOKEN=ERYX_TEST_REAL", "--scrub", "none", "-c", "import os; print(os.environ['TOKEN'])",
             env={"ERYX_TEST_REAL": REAL})
    assert p.returncode == 0 and p.stdout.strip() not in ("", "[REDACTED]", REAL)
    p = _cli("--secret", "TOKEN=ERYX_TEST_UNSET_VAR", "-c", "pass")
    assert p.returncode == 2 and "ERYX_TEST_UNSET_VAR" in p.stderr
    p = _cli("--block-network", "10.0.0.0/99", "-c", "pass")
    assert p.returncode == 2 and "10.0.0.0/99" in p.stderr
    p = _cli("--root-cert", "/nonexistent/ca.pem", "-c", "pass")
    assert p.returncode == 2 and "/nonexistent/ca.pem" in p.stderr
    p = _cli("--allow-localhost", "--root-cert", srv.ca_path, "-c",
             f"import urllib.request; print(len(urllib.request.urlopen('{srv.https_url('/bytes/2000')}').read()))")
    assert (p.returncode, p.stdout) == (0, "2000\n"), p.stderr


def test_cli_status_json_has_net_stats(srv, tmp_path):
    # the CLI of the build this module was made from (python/run-tests.sh runs in the build dir)
    cli = os.path.abspath("eryx")
    if not os.access(cli, os.X_OK):
        pytest.skip("no eryx CLI in the working directory (run through python/run-tests.sh)")
    status = tmp_path / "st.json"
    get = f"import urllib.request; urllib.request.urlopen('{srv.http_url('/bytes/3000')}').read()"
    p = subprocess.run([cli, "--allow-localhost", "--status-json", str(status), "-c", get], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    net = json.loads(status.read_text())["net"]
    assert net["connections"] == 1 and net["refused"] == 0 and net["bytes_received"] >= 3000 and net["bytes_sent"] > 0
    p = subprocess.run([cli, "--status-json", str(status), "-c", "pass"], capture_output=True, text=True, timeout=120)
    assert json.loads(status.read_text())["net"] == {"connections": 0, "refused": 0, "bytes_sent": 0,
                                                     "bytes_received": 0}
