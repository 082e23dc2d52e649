"""Local servers for tests/net-guest (127.0.0.1 and ::1 only), run by run.py.

start(workdir) generates a test CA, a certificate for localhost/127.0.0.1/::1 signed
by it, and one signed by a second, untrusted CA (with the openssl CLI), starts the
servers on free ports in threads, and returns a dict the guest scripts get as JSON
(NET_TEST): ports, the CA's PEM.
- http/http6: HTTP/1.1 (127.0.0.1 / ::1): GET /bytes/N (N bytes, 'abc...'),
  POST|PUT /echo (the body back, with the request headers as JSON in X-Echo-Headers),
  GET /json, POST /json (the JSON body back under "json"), GET /redirect/N (302s down
  to /bytes/5), GET /slow/S (headers at once, the body after S seconds),
  GET /stream/N (N chunks, chunked transfer encoding)
- https: the same over TLS (the trusted CA's certificate)
- https_untrusted: the same with the untrusted CA's certificate
- echo/echo6: TCP echo (127.0.0.1 / ::1); a line "CLOSE" closes after echoing
- silent: accepts and never sends
- starttls: line protocol: "STARTTLS\\n" -> "OK\\n", then TLS (trusted), then echo
"""
import http.server
import json
import os
import socket
import socketserver
import ssl
import subprocess
import threading
import time


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(d):
    os.makedirs(d, exist_ok=True)
    ext = os.path.join(d, "leaf.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
                "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.pem",
                 "-days", "2", "-subj", f"/CN=eryx net-guest test {ca}", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
        leaf = "leaf" if ca == "ca" else "other-leaf"
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{leaf}.key", "-out", f"{leaf}.csr",
                 "-subj", "/CN=localhost", cwd=d)
        _openssl("x509", "-req", "-in", f"{leaf}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                 "-CAcreateserial", "-out", f"{leaf}.pem", "-days", "2", "-extfile", "leaf.ext", cwd=d)
    return d


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # (headers and body are separate writes: no 40 ms delayed-ACK stalls)

    def log_message(self, *args):
        pass

    def _send(self, code, body, ctype="application/octet-stream", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts[0] == "bytes":
            n = int(parts[1])
            pattern = b"abcdefghijklmnopqrstuvwxyz"
            body = (pattern * (n // len(pattern) + 1))[:n]
            self._send(200, body)
        elif parts[0] == "json":
            self._send(200, json.dumps({"hello": "world", "path": self.path}).encode(), "application/json")
        elif parts[0] == "redirect":
            n = int(parts[1])
            self.send_response(302)
            self.send_header("Location", f"/redirect/{n - 1}" if n > 1 else "/bytes/5")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif parts[0] == "slow":
            secs = float(parts[1])
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.flush()
            time.sleep(secs)
            try:
                self.wfile.write(b"slow")
            except OSError:
                pass
        elif parts[0] == "stream":
            n = int(parts[1])
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(n):
                chunk = f"chunk {i}\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        elif parts[0] == "headers":
            self._send(200, json.dumps(dict(self.headers.items())).encode(), "application/json")
        else:
            self._send(404, b"not found")

    def do_POST(self):
        body = self._body()
        if self.path.startswith("/json"):
            try:
                data = json.loads(body)
            except ValueError:
                data = None
            self._send(200, json.dumps({"json": data, "method": self.command}).encode(), "application/json")
        elif self.path.startswith("/echo"):
            self._send(200, body, self.headers.get("Content-Type", "application/octet-stream"),
                       [("X-Echo-Headers", json.dumps(dict(self.headers.items())))])
        else:
            self._send(404, b"not found")

    do_PUT = do_POST


class HTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class HTTP6Server(HTTPServer):
    address_family = socket.AF_INET6


def _tls_context(d, leaf):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, f"{leaf}.pem"), os.path.join(d, f"{leaf}.key"))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class TLSHTTPServer(HTTPServer):
    ctx = None

    def get_request(self):
        sock, addr = super().get_request()
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError):
            return  # a client that refused our certificate: nothing to serve
        super().finish_request(request, client_address)


def _listener(host, family):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    s.listen(64)
    return s


def _serve(listener, handle):
    def loop():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
    return listener.getsockname()[1]


def _echo(conn, ctx=None):
    try:
        f = conn
        while True:
            data = f.recv(65536)
            if not data:
                break
            f.sendall(data)
            if data.rstrip().endswith(b"CLOSE"):
                break
    except OSError:
        pass
    finally:
        conn.close()


def _silent(conn):
    time.sleep(30)
    conn.close()


def _starttls(ctx):
    def handle(conn):
        try:
            line = b""
            while not line.endswith(b"\n"):
                b = conn.recv(1)
                if not b:
                    return
                line += b
            if line.strip() != b"STARTTLS":
                conn.sendall(b"ERR\n")
                return
            conn.sendall(b"OK\n")
            tls = ctx.wrap_socket(conn, server_side=True)
            _echo(tls)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()
    return handle


def start(workdir):
    d = make_certs(os.path.join(workdir, "certs"))
    cfg = {}
    for key, cls, host in (("http", HTTPServer, "127.0.0.1"), ("http6", HTTP6Server, "::1")):
        try:
            srv = cls((host, 0), Handler)
        except OSError:  # a machine without IPv6: the scripts skip their ::1 cases
            cfg[key] = None
            continue
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        cfg[key] = srv.server_address[1]
    for key, leaf in (("https", "leaf"), ("https_untrusted", "other-leaf")):
        srv = TLSHTTPServer(("127.0.0.1", 0), Handler)
        srv.ctx = _tls_context(d, leaf)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        cfg[key] = srv.server_address[1]
    cfg["echo"] = _serve(_listener("127.0.0.1", socket.AF_INET), _echo)
    cfg["echo6"] = _serve(_listener("::1", socket.AF_INET6), _echo) if cfg["http6"] else None
    cfg["silent"] = _serve(_listener("127.0.0.1", socket.AF_INET), _silent)
    cfg["starttls"] = _serve(_listener("127.0.0.1", socket.AF_INET), _starttls(_tls_context(d, "leaf")))
    s = _listener("127.0.0.1", socket.AF_INET)
    cfg["closed"] = s.getsockname()[1]  # nobody listens there
    s.close()
    with open(os.path.join(d, "ca.pem")) as f:
        cfg["ca_pem"] = f.read()
    with open(os.path.join(d, "other-ca.pem")) as f:
        cfg["other_ca_pem"] = f.read()
    cfg["ca_file"] = os.path.join(d, "ca.pem")
    return cfg


if __name__ == "__main__":
    import sys
    import tempfile
    cfg = start(tempfile.mkdtemp(prefix="eryx-net-guest-"))
    print(json.dumps({k: v for k, v in cfg.items() if k != "ca_pem"}), flush=True)
    sys.stdin.read()
