"""The guest's ssl: TLS terminates in the host (issue 18).

Installed as ssl by _eryx_support's finder (the guest has no OpenSSL). An SSLSocket
is a socket over the same connection fd: do_handshake asks the host to start TLS on
it (_eryx.net_tls, with the context's settings as JSON); afterwards os.read/os.write
on the fd carry plaintext. The host verifies the peer against its store (the
system's roots unless the operator turned them off, plus the operator's roots) plus
the roots this context loaded (sent as "cadata"); certifi's bundle is taken as
"the default store" and not sent (docs/NETWORK-GUEST.md). MemoryBIO and SSLObject
are refused: asyncio's TLS is patched onto host TLS (_eryx_asyncio).
"""
import base64 as _base64
import errno as _errno
import json as _json
import os as _os
import sys as _sys
import time as _time
from collections import namedtuple as _namedtuple

import _eryx
import socket as _socket_mod
from socket import SOCK_STREAM, create_connection, socket

from _eryx_ssl_consts import *  # noqa: F401,F403 (the constants and enums)
from _eryx_ssl_consts import _ASN1Object, _OPENSSL_API_VERSION, _SSLMethod, _TLSContentType  # noqa: F401


# ---- exceptions (the hierarchy of CPython's _ssl) ----------------------------------


class SSLError(OSError):
    library = None
    reason = None

    def __str__(self):
        return self.strerror if self.strerror else super().__str__()


class SSLZeroReturnError(SSLError):
    pass


class SSLWantReadError(SSLError):
    pass


class SSLWantWriteError(SSLError):
    pass


class SSLSyscallError(SSLError):
    pass


class SSLEOFError(SSLError):
    pass


class SSLCertVerificationError(SSLError, ValueError):
    verify_code = 0
    verify_message = ""


CertificateError = SSLCertVerificationError
socket_error = OSError

# net_tls's result for a refused peer certificate.
_TLS_VERIFY_FAILED = -1000


def _tls_error(rc, where="handshake"):
    code = -rc
    try:
        msg = _eryx.net_error()
    except Exception:
        msg = ""
    if rc == _TLS_VERIFY_FAILED:
        e = SSLCertVerificationError(SSLErrorNumber.SSL_ERROR_SSL,
                                     msg or "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
        e.verify_code, e.verify_message = 1, msg
        e.reason, e.library = "CERTIFICATE_VERIFY_FAILED", "SSL"
        return e
    if code == _errno.EPROTO:
        e = SSLError(SSLErrorNumber.SSL_ERROR_SSL, msg or "TLS protocol error (%s)" % where)
        e.library = "SSL"
        return e
    if code == _errno.ENOTCAPABLE or code in (_errno.EACCES, _errno.EPERM):
        return PermissionError(code, msg or _os.strerror(code))
    if code == _errno.ETIMEDOUT:
        return TimeoutError(code, msg or "The %s operation timed out" % where)
    return OSError(code, msg or _os.strerror(code))


# ---- certificates -------------------------------------------------------------------

PEM_HEADER = "-----BEGIN CERTIFICATE-----"
PEM_FOOTER = "-----END CERTIFICATE-----"


def DER_cert_to_PEM_cert(der_cert_bytes):
    f = str(_base64.standard_b64encode(der_cert_bytes), "ASCII", "strict")
    ss = [PEM_HEADER]
    ss += [f[i:i + 64] for i in range(0, len(f), 64)]
    ss.append(PEM_FOOTER + "\n")
    return "\n".join(ss)


def PEM_cert_to_DER_cert(pem_cert_string):
    if not pem_cert_string.startswith(PEM_HEADER):
        raise ValueError("Invalid PEM encoding; must start with %s" % PEM_HEADER)
    if not pem_cert_string.strip().endswith(PEM_FOOTER):
        raise ValueError("Invalid PEM encoding; must end with %s" % PEM_FOOTER)
    d = pem_cert_string.strip()[len(PEM_HEADER):-len(PEM_FOOTER)]
    return _base64.decodebytes(d.encode("ASCII", "strict"))


def cert_time_to_seconds(cert_time):
    from calendar import timegm
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    time_format = " %d %H:%M:%S %Y GMT"
    try:
        month_number = months.index(cert_time[:3].title()) + 1
    except ValueError:
        raise ValueError('time data %r does not match format "%%b%s"' % (cert_time, time_format))
    tt = _time.strptime(cert_time[3:], time_format)
    return timegm((tt[0], month_number) + tt[2:6])


DefaultVerifyPaths = _namedtuple("DefaultVerifyPaths",
                                 "cafile capath openssl_cafile_env openssl_cafile openssl_capath_env openssl_capath")


def get_default_verify_paths():
    """There are no files: the default store is the host's (the system's roots plus
    the operator's)."""
    return DefaultVerifyPaths(None, None, "SSL_CERT_FILE", "", "SSL_CERT_DIR", "")


def RAND_bytes(n):
    return _os.urandom(n)


def RAND_status():
    return True


def RAND_add(string, entropy):
    pass


def _is_certifi_bundle(path):
    """certifi's cacert.pem (Mozilla's roots, as the system store has them) stands
    for "the default store": requests passes it on every connection, and the host
    already trusts those roots, plus the operator's."""
    p = _os.fspath(path)
    if isinstance(p, bytes):
        p = p.decode("utf-8", "surrogateescape")
    return p.replace("\\", "/").endswith("/certifi/cacert.pem")


def _pem_text(data):
    if isinstance(data, str):
        return data
    data = bytes(data)
    if data.lstrip().startswith(b"-----BEGIN"):
        return data.decode("ascii")
    return DER_cert_to_PEM_cert(data)  # one DER certificate (or several, concatenated: the host checks)


def _no_certificate():
    e = SSLError(SSLErrorNumber.SSL_ERROR_SSL, "[X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found")
    e.library, e.reason = "X509", "NO_CERTIFICATE_OR_CRL_FOUND"
    return e


_MIN_DEFAULT, _MAX_DEFAULT = TLSVersion.MINIMUM_SUPPORTED, TLSVersion.MAXIMUM_SUPPORTED


class SSLContext:
    """TLS settings for client connections; the host does the TLS."""
    sslsocket_class = None  # set below
    sslobject_class = None

    def __new__(cls, protocol=None, *args, **kwargs):
        self = object.__new__(cls)
        if protocol is None:
            import warnings
            warnings.warn("ssl.SSLContext() without protocol argument is deprecated.",
                          category=DeprecationWarning, stacklevel=2)
            protocol = PROTOCOL_TLS
        self._protocol = _SSLMethod(protocol)
        client = self._protocol == PROTOCOL_TLS_CLIENT
        self._verify_mode = CERT_REQUIRED if client else CERT_NONE
        self._check_hostname = client
        self._cadata = []           # PEM texts loaded by load_verify_locations
        self._options = Options(Options.OP_ALL | Options.OP_NO_SSLv3 | Options.OP_NO_COMPRESSION
                                | Options.OP_CIPHER_SERVER_PREFERENCE | Options.OP_ENABLE_MIDDLEBOX_COMPAT
                                | Options.OP_NO_TLSv1 | Options.OP_NO_TLSv1_1)
        self._verify_flags = VerifyFlags(VerifyFlags.VERIFY_X509_TRUSTED_FIRST
                                         | VerifyFlags.VERIFY_X509_PARTIAL_CHAIN | VerifyFlags.VERIFY_X509_STRICT)
        self._min, self._max = _MIN_DEFAULT, _MAX_DEFAULT
        self._alpn = None
        self._ciphers = None
        self.hostname_checks_common_name = True  # (the host: the CN only without DNS SANs, as CPython)
        self.post_handshake_auth = False
        self.keylog_filename = None
        self.sni_callback = None
        self.security_level = 2
        self.num_tickets = 2
        return self

    def __init__(self, protocol=None, *args, **kwargs):
        pass

    protocol = property(lambda self: self._protocol)

    @property
    def verify_mode(self):
        return self._verify_mode

    @verify_mode.setter
    def verify_mode(self, value):
        value = VerifyMode(value)
        if value == CERT_NONE and self._check_hostname:
            raise ValueError("Cannot set verify_mode to CERT_NONE when check_hostname is enabled.")
        self._verify_mode = value

    @property
    def check_hostname(self):
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value):
        value = bool(value)
        if value and self._verify_mode == CERT_NONE:
            self._verify_mode = CERT_REQUIRED
        self._check_hostname = value

    @property
    def options(self):
        return self._options

    @options.setter
    def options(self, value):
        self._options = Options(value)

    @property
    def verify_flags(self):
        return self._verify_flags

    @verify_flags.setter
    def verify_flags(self, value):
        self._verify_flags = VerifyFlags(value)

    @property
    def minimum_version(self):
        return self._min

    @minimum_version.setter
    def minimum_version(self, value):
        if value == TLSVersion.SSLv3:
            raise ValueError("unsupported TLS protocol version")
        self._min = TLSVersion(value)

    @property
    def maximum_version(self):
        return self._max

    @maximum_version.setter
    def maximum_version(self, value):
        self._max = TLSVersion(value)

    # -- roots
    def load_verify_locations(self, cafile=None, capath=None, cadata=None):
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        if cafile is not None:
            if not _is_certifi_bundle(cafile):
                with open(cafile, "rb") as f:
                    text = f.read().decode("ascii", "replace")
                if PEM_HEADER not in text:
                    raise _no_certificate()
                self._add_roots(text)
            elif not _os.path.exists(cafile):
                raise FileNotFoundError(_errno.ENOENT, "No such file or directory")
        if capath is not None:
            texts = []
            for entry in sorted(_os.listdir(capath)):
                full = _os.path.join(capath, entry)
                if _os.path.isfile(full):
                    with open(full, "rb") as f:
                        data = f.read().decode("ascii", "replace")
                    if PEM_HEADER in data:
                        texts.append(data)
            if texts:
                self._add_roots("\n".join(texts))
        if cadata is not None:
            if not isinstance(cadata, (str, bytes, bytearray, memoryview)):
                raise TypeError("cadata should be an ASCII string or a bytes-like object")
            text = _pem_text(cadata)
            if PEM_HEADER not in text:
                raise _no_certificate()
            self._add_roots(text)

    def _add_roots(self, text):
        if text not in self._cadata:
            self._cadata.append(text)

    def load_default_certs(self, purpose=Purpose.SERVER_AUTH):
        pass  # the host's store is always the default

    def set_default_verify_paths(self):
        pass

    def get_ca_certs(self, binary_form=False):
        return []  # the host's store is not visible; loaded roots are checked by the host

    def cert_store_stats(self):
        return {"x509": len(self._cadata), "crl": 0, "x509_ca": len(self._cadata)}

    def load_cert_chain(self, certfile, keyfile=None, password=None):
        raise SSLError(SSLErrorNumber.SSL_ERROR_SSL,
                       "eryx: client certificates are not supported (TLS terminates in the host)")

    def load_dh_params(self, path):
        pass

    # -- protocols and ciphers (recorded; the host uses OpenSSL's defaults for ciphers)
    def set_alpn_protocols(self, alpn_protocols):
        protos = []
        for p in alpn_protocols:
            b = p.encode("ascii") if isinstance(p, str) else bytes(p)
            if not 0 < len(b) <= 255:
                raise SSLError("ALPN protocols must be 1 to 255 in length")
            protos.append(b.decode("ascii"))
        self._alpn = protos

    def set_npn_protocols(self, npn_protocols):
        pass

    def set_ciphers(self, ciphers):
        self._ciphers = ciphers

    def get_ciphers(self):
        return [{"id": 0, "name": n, "protocol": "TLSv1.3", "description": n, "strength_bits": 256, "alg_bits": 256}
                for n in ("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256")]

    def set_ecdh_curve(self, name):
        pass

    def set_servername_callback(self, callback):
        self.sni_callback = callback

    def session_stats(self):
        return {}

    # -- sockets
    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True, suppress_ragged_eofs=True,
                    server_hostname=None, session=None):
        return self.sslsocket_class._create(sock=sock, server_side=server_side,
                                            do_handshake_on_connect=do_handshake_on_connect,
                                            suppress_ragged_eofs=suppress_ragged_eofs,
                                            server_hostname=server_hostname, context=self, session=session)

    def wrap_bio(self, incoming, outgoing, server_side=False, server_hostname=None, session=None):
        raise NotImplementedError(_NO_BIO)

    def _opts(self, server_hostname):
        """The JSON the host takes for net_tls's first call."""
        lo, hi = int(self._min), int(self._max)
        if self._options & Options.OP_NO_TLSv1_2:
            lo = max(lo, TLSVersion.TLSv1_3)
        if self._options & Options.OP_NO_TLSv1_3 and (hi < 0 or hi > TLSVersion.TLSv1_2):
            hi = TLSVersion.TLSv1_2
        opts = {
            "server_name": server_hostname,
            "verify": self._verify_mode != CERT_NONE,
            "check_hostname": bool(self._check_hostname and server_hostname),
            "cadata": "\n".join(self._cadata) if self._cadata else None,
            "alpn": self._alpn,
            "min_version": lo if lo > 0 else 0,
            "max_version": hi if hi > 0 else 0,
        }
        return _json.dumps(opts).encode("utf-8")


_NO_BIO = ("eryx: ssl.MemoryBIO and SSLObject are not available in the sandbox: TLS terminates in the host. "
           "Use SSLContext.wrap_socket (asyncio's TLS is supported: it uses host TLS)")


class MemoryBIO:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError(_NO_BIO)


class SSLObject:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError(_NO_BIO)


class SSLSession:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError("eryx: TLS sessions are kept by the host")


def _ssl_errors(fn):
    """recv/send on a TLS socket: a non-blocking would-block is SSLWant*Error (as
    CPython's), a TLS failure from the host an SSLError."""
    def wrapper(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except BlockingIOError:
            if not self._tls_done or self._loop_mode:
                raise
            raise (SSLWantWriteError if fn.__name__.startswith("send") else SSLWantReadError)(
                SSLErrorNumber.SSL_ERROR_WANT_WRITE if fn.__name__.startswith("send")
                else SSLErrorNumber.SSL_ERROR_WANT_READ, "The operation did not complete") from None
        except OSError as e:
            if e.errno == _errno.EPROTO and not isinstance(e, SSLError):
                raise _tls_error(-_errno.EPROTO, "read") from None
            raise
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


class SSLSocket(socket):
    """A socket whose connection the host has put under TLS."""

    def __init__(self, *args, **kwargs):
        raise TypeError(f"{self.__class__.__name__} does not have a public constructor. "
                        f"Instances are returned by SSLContext.wrap_socket().")

    @classmethod
    def _create(cls, sock, server_side=False, do_handshake_on_connect=True, suppress_ragged_eofs=True,
                server_hostname=None, context=None, session=None):
        if sock.getsockopt(_socket_mod.SOL_SOCKET, _socket_mod.SO_TYPE) != SOCK_STREAM:
            raise NotImplementedError("only stream sockets are supported")
        if server_side:
            raise PermissionError(_errno.EACCES, "eryx: TLS server sockets are not available in the sandbox")
        if context.check_hostname and not server_hostname:
            raise ValueError("check_hostname requires server_hostname")
        if isinstance(server_hostname, bytes):
            server_hostname = server_hostname.decode("ascii")
        if server_hostname is not None and (server_hostname.startswith(".") or "\0" in server_hostname):
            raise ValueError("server_hostname cannot be an empty string or start with a leading dot.")
        kwargs = dict(family=sock.family, type=sock.type, proto=sock.proto, fileno=sock.fileno())
        self = cls.__new__(cls)
        timeout = sock.gettimeout()
        fd = sock.detach()
        if fd < 0:
            kwargs["fileno"] = None
        super(SSLSocket, self).__init__(**kwargs)
        self.settimeout(timeout)
        self._context = context
        self.server_side = False
        self.server_hostname = server_hostname
        self.do_handshake_on_connect = do_handshake_on_connect
        self.suppress_ragged_eofs = suppress_ragged_eofs
        self._tls_started = self._tls_done = False
        self._tls_info = None
        self._session = session
        if fd >= 0 and do_handshake_on_connect:
            timeout = self.gettimeout()
            if timeout == 0.0:
                raise ValueError("do_handshake_on_connect should not be specified for non-blocking sockets")
            try:
                self.do_handshake()
            except BaseException:
                self.close()
                raise
        return self

    @property
    def context(self):
        return self._context

    @context.setter
    def context(self, ctx):
        self._context = ctx

    @property
    def session(self):
        return None

    @session.setter
    def session(self, value):
        pass

    session_reused = False
    _sslobj = None
    _loop_mode = False  # set by asyncio's host-TLS transport: would-block stays BlockingIOError

    def dup(self):
        raise NotImplementedError(f"Can't dup() {self.__class__.__name__} instances")

    def do_handshake(self, block=False):
        if self.fileno() < 0:
            raise OSError(_errno.ENOTCONN, "Transport endpoint is not connected")
        if self._tls_done:
            return
        timeout = self.gettimeout()
        opts = b"" if self._tls_started else self._context._opts(self.server_hostname)
        self._tls_started = True
        deadline = None
        import select
        while True:
            rc = _eryx.net_tls(self.fileno(), opts)
            opts = b""
            if rc == 0:
                self._tls_done = True
                return
            if rc not in (1, 2):
                raise _tls_error(rc)
            if timeout == 0.0 and not block:
                if rc == 1:
                    raise SSLWantReadError(SSLErrorNumber.SSL_ERROR_WANT_READ, "The operation did not complete (read)")
                raise SSLWantWriteError(SSLErrorNumber.SSL_ERROR_WANT_WRITE, "The operation did not complete (write)")
            wait = None
            if timeout:
                if deadline is None:
                    deadline = _time.monotonic() + timeout
                wait = deadline - _time.monotonic()
                if wait <= 0:
                    raise TimeoutError("_ssl.c:1015: The handshake operation timed out")
            fd = self.fileno()
            r, w, _ = select.select([fd] if rc == 1 else [], [fd] if rc == 2 else [], [], wait)
            if timeout and not r and not w:
                raise TimeoutError("_ssl.c:1015: The handshake operation timed out")

    def connect(self, addr):
        super().connect(addr)
        if self.do_handshake_on_connect:
            self.do_handshake()

    def connect_ex(self, addr):
        rc = super().connect_ex(addr)
        if rc == 0 and self.do_handshake_on_connect:
            try:
                self.do_handshake()
            except OSError as e:
                return e.errno or _errno.EPROTO
        return rc

    def _check_tls(self):
        if not self._tls_done:
            if self.fileno() < 0:
                raise OSError(_errno.ENOTCONN, "Transport endpoint is not connected")
            self.do_handshake()

    @_ssl_errors
    def recv(self, buflen=1024, flags=0):
        if flags:
            raise ValueError("non-zero flags not allowed in calls to recv() on %s" % self.__class__)
        self._check_tls()
        return super().recv(buflen)

    @_ssl_errors
    def recv_into(self, buffer, nbytes=None, flags=0):
        if flags:
            raise ValueError("non-zero flags not allowed in calls to recv_into() on %s" % self.__class__)
        self._check_tls()
        return super().recv_into(buffer, nbytes or 0)

    @_ssl_errors
    def send(self, data, flags=0):
        if flags:
            raise ValueError("non-zero flags not allowed in calls to send() on %s" % self.__class__)
        self._check_tls()
        return super().send(data)

    @_ssl_errors
    def sendall(self, data, flags=0):
        if flags:
            raise ValueError("non-zero flags not allowed in calls to sendall() on %s" % self.__class__)
        self._check_tls()
        return super().sendall(data)

    def read(self, len=1024, buffer=None):
        if buffer is not None:
            return self.recv_into(buffer, len)
        return self.recv(len)

    def write(self, data):
        return self.send(data)

    def recvfrom(self, buflen=1024, flags=0):
        raise ValueError("recvfrom not allowed on instances of %s" % self.__class__)

    def recvfrom_into(self, buffer, nbytes=None, flags=0):
        raise ValueError("recvfrom_into not allowed on instances of %s" % self.__class__)

    def sendto(self, data, flags_or_addr, addr=None):
        raise ValueError("sendto not allowed on instances of %s" % self.__class__)

    def recvmsg(self, *args, **kwargs):
        raise NotImplementedError("recvmsg not allowed on instances of %s" % self.__class__)

    def sendmsg(self, *args, **kwargs):
        raise NotImplementedError("sendmsg not allowed on instances of %s" % self.__class__)

    def pending(self):
        return 0  # decrypted bytes wait in the host, which makes the fd poll readable

    def unwrap(self):
        raise NotImplementedError("eryx: unwrap() is not available: TLS stays on for the connection's life")

    def verify_client_post_handshake(self):
        raise NotImplementedError("eryx: post-handshake authentication is not available")

    def _info(self):
        if not self._tls_done:
            return None
        if self._tls_info is None:
            rc, data = _eryx.net_info(self.fileno())
            if rc < 0:
                raise _tls_error(rc, "info")
            self._tls_info = _json.loads(data).get("tls") or {}
        return self._tls_info

    def getpeercert(self, binary_form=False):
        if self.fileno() < 0:
            raise OSError(_errno.ENOTCONN, "Transport endpoint is not connected")
        info = self._info()
        if info is None:
            raise ValueError("handshake not done yet")
        der = info.get("cert_der")
        if der is None:
            return None
        if binary_form:
            return _base64.b64decode(der)
        if self._context.verify_mode == CERT_NONE:
            return {}
        cert = {}
        for key in ("subject", "issuer"):
            if key in info:
                cert[key] = tuple(tuple(tuple(pair) for pair in rdn) for rdn in info[key])
        for key in ("serialNumber", "notBefore", "notAfter"):  # ("version" is the TLS version)
            if key in info:
                cert[key] = info[key]
        if "subjectAltName" in info:
            cert["subjectAltName"] = tuple(tuple(x) for x in info["subjectAltName"])
        return cert

    def version(self):
        info = self._info()
        return info.get("version") if info else None

    def cipher(self):
        info = self._info()
        c = info.get("cipher") if info else None
        return tuple(c) if c else None

    def shared_ciphers(self):
        c = self.cipher()
        return [c] if c else None

    def compression(self):
        return None

    def selected_alpn_protocol(self):
        info = self._info()
        return info.get("alpn") if info else None

    def selected_npn_protocol(self):
        return None

    def get_channel_binding(self, cb_type="tls-unique"):
        raise ValueError("{0} channel binding type not implemented".format(cb_type))

    def get_verified_chain(self):
        der = self.getpeercert(True)
        return [der] if der else []

    def get_unverified_chain(self):
        return self.get_verified_chain()


SSLContext.sslsocket_class = SSLSocket
SSLContext.sslobject_class = SSLObject


def create_default_context(purpose=Purpose.SERVER_AUTH, *, cafile=None, capath=None, cadata=None):
    if not isinstance(purpose, _ASN1Object):
        raise TypeError(purpose)
    if purpose == Purpose.SERVER_AUTH:
        context = SSLContext(PROTOCOL_TLS_CLIENT)
        context.verify_mode = CERT_REQUIRED
        context.check_hostname = True
    else:
        context = SSLContext(PROTOCOL_TLS_SERVER)
    if cafile or capath or cadata:
        context.load_verify_locations(cafile, capath, cadata)
    return context


def _create_unverified_context(protocol=None, *, cert_reqs=CERT_NONE, check_hostname=False,
                               purpose=Purpose.SERVER_AUTH, certfile=None, keyfile=None,
                               cafile=None, capath=None, cadata=None):
    if protocol is None:
        protocol = PROTOCOL_TLS_CLIENT if purpose == Purpose.SERVER_AUTH else PROTOCOL_TLS_SERVER
    context = SSLContext(protocol)
    if not check_hostname:
        context.check_hostname = False
    if cert_reqs is not None:
        context.verify_mode = cert_reqs
    if check_hostname:
        context.check_hostname = True
    if keyfile and not certfile:
        raise ValueError("certfile must be specified")
    if certfile or keyfile:
        context.load_cert_chain(certfile, keyfile)
    if cafile or capath or cadata:
        context.load_verify_locations(cafile, capath, cadata)
    return context


_create_default_https_context = create_default_context
_create_stdlib_context = _create_unverified_context


def get_server_certificate(addr, ssl_version=PROTOCOL_TLS_CLIENT, ca_certs=None, timeout=_socket_mod._GLOBAL_DEFAULT_TIMEOUT):
    host, port = addr
    if ca_certs is not None:
        cert_reqs = CERT_REQUIRED
    else:
        cert_reqs = CERT_NONE
    context = _create_stdlib_context(ssl_version, cert_reqs=cert_reqs, cafile=ca_certs)
    with create_connection(addr, timeout=timeout) as sock:
        with context.wrap_socket(sock, server_hostname=host) as sslsock:
            dercert = sslsock.getpeercert(True)
    return DER_cert_to_PEM_cert(dercert)


def get_protocol_name(protocol_code):
    return _PROTOCOL_NAMES.get(protocol_code, "<unknown>")


_PROTOCOL_NAMES = {PROTOCOL_TLS: "TLS", PROTOCOL_TLS_CLIENT: "TLS_CLIENT", PROTOCOL_TLS_SERVER: "TLS_SERVER",
                   PROTOCOL_TLSv1: "TLSv1", PROTOCOL_TLSv1_1: "TLSv1.1", PROTOCOL_TLSv1_2: "TLSv1.2"}
