"""tests/net-guest/native.py SCRIPT [ARGS]: runs a guest test script on native
CPython 3.13 with eryx's guest modules (_eryx_socket as _socket, _eryx_ssl as ssl,
the asyncio patch) over a fake _eryx that implements the network ABI with real
sockets (TLS through a thread that pumps plaintext over a socketpair). A developer's
tool for the guest modules' logic: the real ABI is tested by e2e.net_guest.
"""
import json
import os
import sys
import threading

import _socket as _real_socket_mod
import socket as _rs
import ssl as _rssl
import select as _select

here = os.path.dirname(os.path.abspath(__file__))
lib = os.environ.get("NET_GUEST_LIB") or os.path.join(here, "..", "..", "guest", "lib")
ENOENT, EACCES, EAGAIN, EINPROGRESS, ETIMEDOUT = 2, 13, 11, 115, 110

_conns = {}   # fd -> {"sock", "name", "tls"}
_last = [""]
_ca = os.environ.get("NET_TEST_CA")


class FakeEryx:
    fake = True
    @staticmethod
    def net_error():
        return _last[0]

    @staticmethod
    def net_resolve(name, family):
        fam = {0: 0, 4: _rs.AF_INET, 6: _rs.AF_INET6}[family]
        try:
            infos = _rs.getaddrinfo(name.decode(), None, fam, _rs.SOCK_STREAM)
        except _rs.gaierror:
            _last[0] = f"eryx: {name.decode()} does not resolve"
            return -ENOENT, b""
        out = []
        for i in infos:
            if i[4][0] not in out:
                out.append(i[4][0])
        return len(out), "".join(a + "\n" for a in out).encode()

    @staticmethod
    def net_connect(name, addr, port, flags):
        target = (addr or name).decode()
        fam = _rs.AF_INET6 if ":" in target else _rs.AF_INET
        if not addr:
            fam = _rs.AF_INET6 if flags & 4 else _rs.AF_INET
        s = _rs.socket(fam, _rs.SOCK_STREAM)
        if flags & 1:
            s.setblocking(False)
            err = s.connect_ex((target, port))
            if err not in (0, EINPROGRESS):
                _last[0] = f"eryx: connect to {target}:{port}: {os.strerror(err)}"
                s.close()
                return -err
        else:
            try:
                s.connect((target, port))
            except OSError as e:
                _last[0] = f"eryx: connect to {target}:{port}: {e}"
                s.close()
                return -e.errno
        fd = s.detach()
        _conns[fd] = {"name": name.decode() or None, "tls": None, "fam": fam}
        return fd

    @staticmethod
    def net_info(fd):
        c = _conns.get(fd)
        if c is None:
            return -9, b""
        s = _rs.socket(c["fam"], _rs.SOCK_STREAM, 0, fd)
        try:
            err = s.getsockopt(_rs.SOL_SOCKET, _rs.SO_ERROR)
            try:
                peer = list(s.getpeername()[:2])
            except OSError:
                peer = None
            local = list(s.getsockname()[:2])
        finally:
            s.detach()
        info = {"peer": c.get("peer", peer), "local": c.get("local", local), "name": c["name"], "error": err, "tls": c["tls"]}
        return 0, json.dumps(info).encode()

    @staticmethod
    def net_tls(fd, opts):
        c = _conns[fd]
        o = json.loads(opts)
        ctx = _rssl.create_default_context()
        if _ca:
            ctx.load_verify_locations(_ca)
        if o.get("cadata"):
            ctx.load_verify_locations(cadata=o["cadata"])
        ctx.check_hostname = bool(o["check_hostname"])
        if not o["verify"]:
            ctx.verify_mode = _rssl.CERT_NONE
        if o.get("alpn"):
            ctx.set_alpn_protocols(o["alpn"])
        nb = not os.get_blocking(fd)
        raw = _rs.socket(c["fam"], _rs.SOCK_STREAM, 0, os.dup(fd))
        raw.setblocking(True)
        try:
            t = ctx.wrap_socket(raw, server_hostname=o["server_name"])
        except _rssl.SSLCertVerificationError as e:
            _last[0] = f"eryx: TLS to {o['server_name']}: certificate verify failed: {e.verify_message}"
            return -1000
        except _rssl.SSLError as e:
            _last[0] = str(e)
            return -71
        c["peer"], c["local"] = list(t.getpeername()[:2]), list(t.getsockname()[:2])
        a, b = _rs.socketpair()
        os.dup2(a.fileno(), fd)
        a.close()
        os.set_blocking(fd, not nb)
        der = t.getpeercert(True)
        import base64
        cert = t.getpeercert() or {}
        c["tls"] = {"version": t.version(), "cipher": list(t.cipher()), "alpn": t.selected_alpn_protocol(),
                    "cert_der": base64.b64encode(der).decode(),
                    **{k: v for k, v in cert.items() if k != "version"}}

        def pump():
            t.setblocking(False)  # (a TLS 1.3 ticket must not block the other direction)
            while True:
                r, _, _ = _select.select([t, b], [], [])
                try:
                    if t in r or t.pending():
                        try:
                            d = t.recv(65536)
                        except _rssl.SSLWantReadError:
                            d = None
                        if d == b"":
                            b.shutdown(_rs.SHUT_WR)
                            break
                        if d:
                            b.sendall(d)
                    if b in r:
                        d = b.recv(65536)
                        if not d:
                            break
                        while d:
                            try:
                                d = d[t.send(d):]
                            except (_rssl.SSLWantWriteError, _rssl.SSLWantReadError):
                                _select.select([t], [t], [], 0.05)
                except OSError as e:
                    print("pump:", repr(e), file=sys.stderr)
                    break
            b.close()
            t.close()
        threading.Thread(target=pump, daemon=True).start()
        return 0


def main():
    sys.modules["_eryx"] = FakeEryx
    sys.modules["_eryx_real_socket"] = _real_socket_mod
    for name in ("socket", "ssl", "_socket", "asyncio"):
        sys.modules.pop(name, None)
    for m in list(sys.modules):
        if m.startswith(("asyncio", "http", "urllib", "selectors")):
            sys.modules.pop(m)
    sys.path.insert(0, lib)
    import importlib
    sys.modules["_socket"] = importlib.import_module("_eryx_socket")
    sys.modules["ssl"] = importlib.import_module("_eryx_ssl")
    import asyncio
    importlib.import_module("_eryx_asyncio").patch(asyncio)
    try:
        import anyio.streams.tls
        importlib.import_module("_eryx_anyio").patch(anyio.streams.tls)
    except ImportError:
        pass
    # What guest/stdlib-patches/asyncio-wasi-no-self-pipe.patch does in the guest.
    from asyncio import selector_events as se
    se.BaseSelectorEventLoop._make_self_pipe = lambda self: setattr(self, "_ssock", None) or setattr(
        self, "_csock", None)
    se.BaseSelectorEventLoop._close_self_pipe = lambda self: None
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    with open(script) as f:
        code = compile(f.read(), script, "exec")
    exec(code, {"__name__": "__main__"})


if __name__ == "__main__":
    main()
