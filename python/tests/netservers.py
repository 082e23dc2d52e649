"""Local servers for the network tests (python/tests/test_network.py) and the
benchmark (bench/net_client.py): nothing here listens beyond loopback.

- HTTP on 127.0.0.1 and on ::1 (threads of this process), HTTP/1.1 keep-alive:
    GET  /bytes/N           N bytes (b"0123456789" repeated)
    ANY  /echo              {"method", "path", "headers": {name: value}, "body"} as JSON
    GET  /redirect?to=URL   302 to URL
    GET  /slow              reads the request, never answers (until the server stops)
    POST /json              {"json": the request's JSON body, "headers": {...}}
  Every request is also kept in server.requests (the server side's view: the tests
  check there what really reached the network, e.g. a secret's real value).
- HTTPS: the same handler behind TLS, with certificates the `openssl` CLI makes in
  a temporary directory: a test CA; "localhost" (SANs: localhost, 127.0.0.1, ::1)
  signed by it; "wrong.example" signed by it (a name mismatch for localhost); and
  "localhost" signed by another CA nobody trusts (an untrusted root).
- blackhole(): a port on 127.0.0.1 whose accept queue is full, so a connect to it
  waits (the kernel drops the SYNs): for connect timeouts.

    with NetServers() as s:
        s.http_url("/echo"), s.http6_url("/bytes/10"), s.https_url("/echo"),
        s.ca_pem (the test CA, PEM text), s.ca_der (DER bytes)
"""
from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

_BODIES: dict[int, bytes] = {}


def _body_of(n: int) -> bytes:
    """b"0123456789" repeated to n bytes (made once per size; at most 64 MiB)."""
    if not 0 <= n <= 64 << 20:
        raise ValueError(n)
    body = _BODIES.get(n)
    if body is None:
        body = _BODIES[n] = (b"0123456789" * (n // 10 + 1))[:n]
    return body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body are separate writes: without this, Nagle and the client's
    # delayed ACK hold each small response ~40 ms
    disable_nagle_algorithm = True
    server: "_Server"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, code: int, body: bytes, ctype: str = "application/octet-stream", **headers: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k.replace("_", "-"), v)
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        body = self._body()
        record = {"method": self.command, "path": self.path, "headers": {k: v for k, v in self.headers.items()},
                  "body": body.decode("utf-8", "replace")}
        self.server.requests.append(record)
        if url.path.startswith("/bytes/"):
            self._send(200, _body_of(int(url.path[7:])))  # one write: the server must not be the bottleneck
        elif url.path == "/echo":
            self._send(200, json.dumps(record).encode(), "application/json")
        elif url.path == "/json":
            try:
                data = json.loads(body or b"null")
            except ValueError:
                self._send(400, b"not JSON", "text/plain")
                return
            self._send(200, json.dumps({"json": data, "headers": record["headers"]}).encode(), "application/json")
        elif url.path == "/redirect":
            to = parse_qs(url.query).get("to", ["/echo"])[0]
            self._send(302, b"", "text/plain", Location=to)
        elif url.path == "/slow":
            self.server.stopping.wait()  # never answers while the server runs
            self.close_connection = True
        else:
            self._send(404, b"no such path", "text/plain")

    do_GET = do_POST = do_PUT = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # connect loops (bench/net.sh) must not overflow the accept queue

    def __init__(self, host: str, family: int, tls: ssl.SSLContext | None = None) -> None:
        self.address_family = family
        self.requests: list[dict] = []
        self.stopping = threading.Event()
        self.tls = tls
        super().__init__((host, 0), _Handler)

    def finish_request(self, request, client_address):  # type: ignore[no-untyped-def]
        # on the request's own thread: a slow or failing handshake stalls only it
        if self.tls is not None:
            request.settimeout(10)
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return  # the client refused our certificate: expected in the TLS tests
            request.settimeout(None)
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):  # type: ignore[no-untyped-def]
        pass  # a client that hangs up mid-request is not the server's failure

    @property
    def port(self) -> int:
        return self.server_address[1]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(d: Path) -> dict[str, Path]:
    """The test PKI, made with the openssl CLI in d (seconds the first time)."""
    ext = d / "ext.cnf"
    ext.write_text("[localhost]\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\n"
                   "[wrong]\nsubjectAltName=DNS:wrong.example\nbasicConstraints=CA:FALSE\n")
    for ca in ("ca", "otherca"):
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                 f"{ca}.key", "-out", f"{ca}.pem", "-days", "2", "-subj", f"/CN=eryx test {ca}",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 cwd=d)
    for name, ca, section in (("localhost", "ca", "localhost"), ("wrong", "ca", "wrong"),
                              ("untrusted", "otherca", "localhost")):
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", "-subj", f"/CN={'wrong.example' if name == 'wrong' else 'localhost'}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "2", "-extfile", "ext.cnf", "-extensions", section, cwd=d)
    _openssl("x509", "-in", "ca.pem", "-outform", "DER", "-out", "ca.der", cwd=d)
    return {n: d / f"{n}.pem" for n in ("ca", "otherca", "localhost", "wrong", "untrusted")}


def _tls_context(d: Path, name: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / f"{name}.pem", d / f"{name}.key")
    return ctx


class NetServers:
    """HTTP (127.0.0.1, ::1) and HTTPS servers (127.0.0.1: the good certificate, a
    wrong-name one, an untrusted one), started on enter and stopped on exit."""

    def __init__(self, tls: bool = True, ipv6: bool = True) -> None:
        self._want_tls, self._want_v6 = tls, ipv6
        self._servers: list[_Server] = []
        self._holes: list[socket.socket] = []
        self._tmp: tempfile.TemporaryDirectory | None = None

    def _start(self, host: str, family: int, tls: ssl.SSLContext | None = None) -> _Server:
        s = _Server(host, family, tls)
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._servers.append(s)
        return s

    def __enter__(self) -> "NetServers":
        self.http = self._start("127.0.0.1", socket.AF_INET)
        self.http6 = self._start("::1", socket.AF_INET6) if self._want_v6 and _has_ipv6() else None
        if self._want_tls:
            self._tmp = tempfile.TemporaryDirectory(prefix="eryx-net-certs-")
            d = Path(self._tmp.name)
            self.certs = make_certs(d)
            self.ca_pem = self.certs["ca"].read_text()
            self.ca_der = (d / "ca.der").read_bytes()
            self.ca_path = str(self.certs["ca"])
            self.https = self._start("127.0.0.1", socket.AF_INET, _tls_context(d, "localhost"))
            self.https_wrong = self._start("127.0.0.1", socket.AF_INET, _tls_context(d, "wrong"))
            self.https_untrusted = self._start("127.0.0.1", socket.AF_INET, _tls_context(d, "untrusted"))
        return self

    def __exit__(self, *exc: object) -> None:
        for s in self._servers:
            s.stopping.set()
            s.shutdown()
            s.server_close()
        for h in self._holes:
            h.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def http_url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.http.port}{path}"

    def http6_url(self, path: str = "/") -> str:
        assert self.http6 is not None, "no IPv6 loopback on this machine"
        return f"http://[::1]:{self.http6.port}{path}"

    def https_url(self, path: str = "/", host: str = "localhost") -> str:
        return f"https://{host}:{self.https.port}{path}"

    def blackhole(self) -> int:
        """A port where connect() hangs: a listener with a full accept queue."""
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(0)
        self._holes.append(lsock)
        port = lsock.getsockname()[1]
        for _ in range(8):  # fill the queue: these connects complete (or not), never accepted
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            self._holes.append(c)
        return port

    def requests_to(self, server: _Server | None = None) -> list[dict]:
        return list((server or self.http).requests)


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


if __name__ == "__main__":
    # python netservers.py: serves until stdin closes; prints one JSON line first
    # (the ports and the CA's path), for bench/net_bench.py and manual looks.
    with NetServers() as s:
        print(json.dumps({"http": s.http.port, "https": s.https.port, "ca_path": s.ca_path,
                          "http6": s.http6.port if s.http6 else None}), flush=True)
        sys.stdin.read()
