"""The guest's _socket: TCP client sockets over the host's network (issue 18).

Installed as _socket by _eryx_support's finder, so the stdlib's socket.py builds on
it unchanged. The guest never holds a real socket: the host resolves names, checks
every address against the sandbox's policy and connects (_eryx.net_connect); a
connection is a WASI "stream" fd that os.read/os.write/select work on. Timeouts are
CPython's: the fd is non-blocking whenever a timeout is set, and waits go through
select (WASI poll_oneoff). Server sockets (listen/accept) and UDP are refused.
The ABI: docs/NETWORK-GUEST.md and the notes of issue 18.
"""
import errno as _errno
import os as _os

import _eryx
import _imp
import sys as _sys

from _frozen_importlib import BuiltinImporter as _BI

# The interpreter's own _socket (WASI's constants, inet_pton/ntop, shutdown on a
# stream fd); not in sys.modules: this module is _socket.
_real = _sys.modules.get("_eryx_real_socket")  # (a native test harness's, tests/net-guest/native.py)
if _real is None:
    _real = _imp.create_builtin(_BI.find_spec("_socket"))
    _imp.exec_builtin(_real)  # (multi-phase: create_builtin does not run it)

for _k in dir(_real):
    if _k[:1].isupper() and _k != "CAPI" and isinstance(getattr(_real, _k), int):
        globals()[_k] = getattr(_real, _k)

# Constants the WASI build lacks that socket users set or test (accepted, recorded).
AF_UNIX = 3
SOCK_RAW = 3
SOCK_SEQPACKET = 4  # never created
SO_REUSEADDR, SO_ERROR, SO_BROADCAST, SO_SNDBUF, SO_RCVBUF, SO_KEEPALIVE = 2, 4, 6, 7, 8, 9
SO_OOBINLINE, SO_LINGER, SO_REUSEPORT, SO_RCVLOWAT, SO_SNDLOWAT = 10, 13, 15, 18, 19
SO_RCVTIMEO, SO_SNDTIMEO, SO_ACCEPTCONN = 20, 21, 30
MSG_OOB, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_EOR, MSG_DONTROUTE = 0x10000, 0x40, 0x4000, 0x80, 0x4
IPPROTO_ICMPV6 = 58
AI_NUMERICSERV = 0x4000  # (0x400 is WASI's AI_ADDRCONFIG)
INADDR_ANY = 0

error = OSError
timeout = TimeoutError


class herror(OSError):
    pass


class gaierror(OSError):
    pass


htonl, htons, ntohl, ntohs = _real.htonl, _real.htons, _real.ntohl, _real.ntohs
inet_aton, inet_pton, inet_ntop = _real.inet_aton, _real.inet_pton, _real.inet_ntop
has_ipv6 = True
_GAI = {EAI_NONAME: "Name or service not known", EAI_AGAIN: "Temporary failure in name resolution",
        EAI_FAIL: "Non-recoverable failure in name resolution", EAI_FAMILY: "ai_family not supported",
        EAI_SERVICE: "Servname not supported for ai_socktype", EAI_SOCKTYPE: "ai_socktype not supported"}

_REFUSED_SERVER = ("eryx: server sockets and UDP are not available in the sandbox "
                  "(only TCP client connections, checked by the host's network policy)")


def inet_ntoa(packed):
    return _real.inet_ntop(AF_INET, packed)


_default_timeout = None


def getdefaulttimeout():
    return _default_timeout


def setdefaulttimeout(value):
    global _default_timeout
    _default_timeout = _check_timeout(value)


def _check_timeout(value):
    if value is None:
        return None
    value = float(value)
    if value != value:
        raise ValueError("Invalid value NaN (not a number)")
    if value < 0:
        raise ValueError("Timeout value out of range")
    return value


def gethostname():
    return "sandbox"


def sethostname(name):
    raise PermissionError(_errno.EPERM, "eryx: the sandbox's host name cannot be set")


# ---- errors from the host ------------------------------------------------------------


def _message(code):
    try:
        msg = _eryx.net_error()
    except Exception:
        msg = ""
    return msg or _os.strerror(code)


def _host_error(rc):
    """The OSError (subclass by errno) for a negative result of an _eryx.net_* call."""
    code = -rc
    msg = _message(code)
    if code == _errno.ENOTCAPABLE:
        if not msg or msg == _os.strerror(code):
            msg = "eryx: networking is off in this sandbox (no network policy was given)"
        return PermissionError(code, msg)
    return OSError(code, msg)


def _io_error(e):
    """An OSError from os.read/os.write on a connection: a refusal (EACCES, a secret
    toward a host it is not allowed for) gets the host's message."""
    if e.errno in (_errno.EACCES, _errno.EPERM, _errno.ENOTCAPABLE):
        return PermissionError(e.errno, _message(e.errno))
    return e


# ---- names -------------------------------------------------------------------------

# Which name each address came from (getaddrinfo(name) then connect((addr, port))):
# connect passes the name along, so the host applies the name's rules. Bounded.
_names = {}
_NAMES_MAX = 1024


def _family_code(family):
    if family in (0, AF_UNSPEC):
        return 0
    if family == AF_INET:
        return 4
    if family == AF_INET6:
        return 6
    raise gaierror(EAI_FAMILY, _GAI[EAI_FAMILY])


def _literal(host):
    """host's family if it is an IP literal in canonical-enough form, else 0."""
    h = host.split("%", 1)[0]
    for fam in (AF_INET, AF_INET6):
        try:
            _real.inet_pton(fam, h)
            return fam
        except (OSError, ValueError):
            pass
    return 0


def _host_text(host):
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("ascii")
    if not isinstance(host, str):
        raise TypeError("str, bytes or bytearray expected, not %s" % type(host).__name__)
    return host


def _encode_name(host):
    try:
        return host.encode("ascii")
    except UnicodeEncodeError:
        return host.encode("idna")


def _resolve(host, family):
    """The addresses the host allows for host (a list of canonical texts)."""
    rc, data = _eryx.net_resolve(_encode_name(host), _family_code(family))
    if rc < 0:
        code = -rc
        if code == _errno.ENOENT:
            raise gaierror(EAI_NONAME, _GAI[EAI_NONAME])
        if code in (_errno.EAGAIN, _errno.ETIMEDOUT):
            raise gaierror(EAI_AGAIN, _GAI[EAI_AGAIN])
        if code in (_errno.EACCES, _errno.ENOTCAPABLE):
            raise _host_error(rc)
        raise gaierror(EAI_FAIL, _message(code))
    addrs = [a for a in data.decode("ascii").split("\n") if a]
    if not addrs:
        raise gaierror(EAI_NONAME, _GAI[EAI_NONAME])
    if not _literal(host):
        for a in addrs:
            if len(_names) >= _NAMES_MAX:
                del _names[next(iter(_names))]
            _names.pop(a, None)
            _names[a] = host
    return addrs


_SERVICES = {"http": 80, "https": 443, "ftp": 21, "ssh": 22, "smtp": 25, "domain": 53, "pop3": 110,
             "imap": 143, "ldap": 389, "smtps": 465, "submission": 587, "imaps": 993, "pop3s": 995,
             "socks": 1080, "mysql": 3306, "postgresql": 5432, "redis": 6379, "http-alt": 8080}


def _port(port, flags=0):
    if port is None:
        return 0
    if isinstance(port, int):
        return port
    if isinstance(port, (bytes, bytearray)):
        port = bytes(port).decode("ascii")
    if isinstance(port, str):
        if port.isdigit():
            return int(port)
        if not flags & AI_NUMERICSERV and port in _SERVICES:
            return _SERVICES[port]
        raise gaierror(EAI_SERVICE, _GAI[EAI_SERVICE])
    raise OSError("Int or String expected")


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    """Resolved by the host under the sandbox's policy (only the addresses it allows)."""
    p = _port(port, flags)
    if type not in (0, SOCK_STREAM, SOCK_DGRAM, SOCK_RAW):
        raise gaierror(EAI_SOCKTYPE, _GAI[EAI_SOCKTYPE])
    if family not in (0, AF_UNSPEC, AF_INET, AF_INET6):
        raise gaierror(EAI_FAMILY, _GAI[EAI_FAMILY])
    if host is None:
        if flags & AI_PASSIVE:
            addrs = ["::", "0.0.0.0"]
        else:
            addrs = ["::1", "127.0.0.1"]
        addrs = [a for a in addrs if family in (0, AF_UNSPEC) or (":" in a) == (family == AF_INET6)]
    else:
        host = _host_text(host)
        lit = _literal(host)
        if flags & AI_NUMERICHOST and not lit:
            raise gaierror(EAI_NONAME, _GAI[EAI_NONAME])
        if lit and "%" not in host and family in (0, AF_UNSPEC, lit) and _canonical(host, lit) == host:
            addrs = [host]  # canonical literal: itself (the host checks it when connecting)
        else:
            addrs = _resolve(host, family)
    out = []
    kinds = [type] if type else [SOCK_STREAM]
    for a in addrs:
        fam = AF_INET6 if ":" in a else AF_INET
        sa = (a, p, 0, 0) if fam == AF_INET6 else (a, p)
        for k in kinds:
            pr = proto or (IPPROTO_TCP if k == SOCK_STREAM else (IPPROTO_UDP if k == SOCK_DGRAM else 0))
            out.append((fam, k, pr, host if (flags & AI_CANONNAME and host) else "", sa))
    return out


def _canonical(host, fam):
    try:
        return _real.inet_ntop(fam, _real.inet_pton(fam, host))
    except (OSError, ValueError):
        return None


def gethostbyname(host):
    host = _host_text(host)
    return getaddrinfo(host, None, AF_INET)[0][4][0]


def gethostbyname_ex(host):
    host = _host_text(host)
    return host, [], [r[4][0] for r in getaddrinfo(host, None, AF_INET)]


def gethostbyaddr(ip):
    raise herror(1, "Unknown host (the sandbox has no reverse DNS)")


def getnameinfo(sockaddr, flags):
    if not isinstance(sockaddr, tuple) or len(sockaddr) < 2:
        raise TypeError("getnameinfo() argument 1 must be a tuple")
    host, port = sockaddr[0], sockaddr[1]
    if flags & NI_NAMEREQD:
        raise gaierror(EAI_NONAME, _GAI[EAI_NONAME])
    addr = getaddrinfo(host, port, 0, SOCK_STREAM, 0, AI_NUMERICHOST if _literal(host) else 0)[0][4][0]
    if not flags & NI_NUMERICSERV:
        for name, num in _SERVICES.items():
            if num == port:
                return addr, name
    return addr, str(port)


def getservbyname(name, proto=None):
    if name in _SERVICES:
        return _SERVICES[name]
    raise OSError("service/proto not found")


def getservbyport(port, proto=None):
    for name, num in _SERVICES.items():
        if num == port:
            return name
    raise OSError("port/proto not found")


def getprotobyname(name):
    table = {"ip": 0, "tcp": 6, "udp": 17, "icmp": 1, "ipv6": 41}
    if name in table:
        return table[name]
    raise OSError("protocol not found")


def close(fd):
    _os.close(fd)


def dup(fd):
    raise OSError(_errno.EOPNOTSUPP, "eryx: a connection's fd cannot be duplicated in the sandbox")


def if_nameindex():
    return []


# ---- sockets -----------------------------------------------------------------------


def _info(fd):
    import json
    rc, data = _eryx.net_info(fd)
    if rc < 0:
        raise _host_error(rc)
    return json.loads(data)


class socket:
    """A TCP client socket; see the module's docstring."""
    __slots__ = ("_fd", "_family", "_type", "_proto", "_timeout", "_nb", "_opts", "_peek", "_bound",
                 "_last_error")

    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        if family == -1:
            family = AF_INET
        if type == -1:
            type = SOCK_STREAM
        if proto == -1:
            proto = 0
        nonblock = bool(type & SOCK_NONBLOCK)
        type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC)
        if family not in (AF_INET, AF_INET6):
            if family == AF_UNIX:
                raise PermissionError(_errno.EACCES, "eryx: Unix sockets are not available in the sandbox")
            raise OSError(_errno.EAFNOSUPPORT, "Address family not supported by protocol")
        if type != SOCK_STREAM:
            raise PermissionError(_errno.EACCES, _REFUSED_SERVER)
        self._fd = -1
        self._family, self._type, self._proto = family, type, proto or 0
        self._opts, self._peek, self._bound, self._nb, self._last_error = {}, b"", None, None, None
        self._timeout = 0.0 if nonblock else _default_timeout
        if fileno is not None:
            fd = int(fileno)
            if fd < 0:
                raise ValueError("negative file descriptor")
            self._fd = fd
            try:
                self._nb = not _os.get_blocking(fd)
            except OSError:
                self._nb = None
            self._apply()

    # -- attributes
    family = property(lambda self: self._family)
    type = property(lambda self: self._type)
    proto = property(lambda self: self._proto)
    timeout = property(lambda self: self._timeout)

    def fileno(self):
        return self._fd

    def __repr__(self):
        return "<eryx socket fd=%d, family=%d, type=%d, proto=%d>" % (self._fd, self._family, self._type, self._proto)

    def __getstate__(self):
        raise TypeError(f"cannot pickle {self.__class__.__name__!r} object")

    def __del__(self):
        fd = getattr(self, "_fd", -1)
        if fd >= 0:
            self._fd = -1
            try:
                _os.close(fd)
            except OSError:
                pass

    def close(self):
        fd, self._fd = self._fd, -1
        if fd >= 0:
            try:
                _os.close(fd)
            except OSError as e:
                if e.errno != _errno.ECONNRESET:
                    raise

    def detach(self):
        fd, self._fd = self._fd, -1
        return fd

    # -- blocking and timeouts
    def settimeout(self, value):
        self._timeout = _check_timeout(value)
        self._apply()

    def gettimeout(self):
        return self._timeout

    def setblocking(self, flag):
        self._timeout = None if flag else 0.0
        self._apply()

    def getblocking(self):
        return self._timeout != 0.0

    def _apply(self):
        """The fd is non-blocking whenever a timeout is set (CPython's rule)."""
        want = self._timeout is not None
        if self._fd >= 0 and self._nb is not want:
            _os.set_blocking(self._fd, not want)
            self._nb = want

    def _wait(self, write, deadline, what="timed out"):
        """Waits for the fd (timeout > 0); TimeoutError once deadline passes."""
        import select
        import time
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(what)
        r, w, _ = select.select([] if write else [self._fd], [self._fd] if write else [], [], left)
        if not r and not w:
            raise TimeoutError(what)

    def _deadline(self):
        import time
        return time.monotonic() + self._timeout

    def _check_fd(self):
        if self._fd < 0:
            raise OSError(_errno.EBADF, "Bad file descriptor")

    def _io(self, op, write, flags=0):
        """Runs op (an os.read/os.write call) under the socket's timeout."""
        self._check_fd()
        t = self._timeout
        dontwait = flags & MSG_DONTWAIT
        if dontwait and not self._nb:
            _os.set_blocking(self._fd, False)
            try:
                return op()
            except OSError as e:
                raise _io_error(e) from None
            finally:
                _os.set_blocking(self._fd, True)
        deadline = None
        while True:
            try:
                return op()
            except BlockingIOError:
                if t is None or t == 0 or dontwait:
                    raise
            except OSError as e:
                raise _io_error(e) from None
            if deadline is None:
                deadline = self._deadline()
            self._wait(write, deadline)

    # -- connecting
    def _target(self, address):
        if not isinstance(address, tuple) or len(address) < 2:
            raise TypeError("%s address must be a tuple (host, port)" % ("AF_INET6" if self._family == AF_INET6 else "AF_INET"))
        host, port = _host_text(address[0]), address[1]
        if not isinstance(port, int):
            raise TypeError("'%s' object cannot be interpreted as an integer" % type(port).__name__)
        if not 0 <= port <= 65535:
            raise OverflowError("connect(): port must be 0-65535.")
        return host, port

    def _connect(self, address):
        """Returns 0 or an errno (connect_ex's contract); raises for what native
        connect_ex raises too (bad addresses, names that do not resolve)."""
        if self._fd >= 0:  # connecting (EALREADY), connected (EISCONN) or failed
            err = self.getsockopt(SOL_SOCKET, SO_ERROR)
            return {0: _errno.EISCONN, _errno.EINPROGRESS: _errno.EALREADY}.get(err, err)
        host, port = self._target(address)
        flags = 2 if self._family == AF_INET else 4
        lit = _literal(host)
        if lit:
            if lit != self._family:
                raise gaierror(EAI_ADDRFAMILY, "Address family for hostname not supported")
            name, addr = _names.get(host, ""), host
        elif not host:
            raise gaierror(EAI_NONAME, _GAI[EAI_NONAME])
        else:
            name, addr = host, ""
        if self._timeout is not None:
            flags |= 1
        fd = _eryx.net_connect(_encode_name(name) if name else b"", addr.encode("ascii"), port, flags)
        if fd == -_errno.EACCES and lit and name:
            # The pair may come from another instance (a session restored elsewhere):
            # the host only knows the pairs it returned itself. Resolving the name
            # again tells it; the host checks everything again.
            try:
                again = addr in _resolve(name, self._family)
            except OSError:
                again = False
            if again:
                fd = _eryx.net_connect(_encode_name(name), addr.encode("ascii"), port, flags)
        if fd < 0:
            err = _host_error(fd)
            if fd == -_errno.ENOENT and not lit:
                raise gaierror(EAI_NONAME, _GAI[EAI_NONAME])
            if err.errno in (_errno.EACCES, _errno.ENOTCAPABLE, _errno.EMFILE):
                raise err
            self._last_error = err
            return err.errno
        self._fd, self._nb = fd, bool(flags & 1)
        self._apply()
        if self._timeout is None:
            return 0
        if self._timeout == 0:
            return _errno.EINPROGRESS
        try:
            self._wait(True, self._deadline())
        except TimeoutError:
            self.close()
            raise
        err = self.getsockopt(SOL_SOCKET, SO_ERROR)
        if err:
            self.close()
            self._last_error = OSError(err, _message(err))
        return err

    def connect(self, address):
        self._last_error = None
        err = self._connect(address)
        if err == 0:
            return
        if err in (_errno.EINPROGRESS, _errno.EALREADY):
            raise BlockingIOError(err, "Operation now in progress" if err == _errno.EINPROGRESS
                                  else "Operation already in progress")
        if err == _errno.EISCONN:
            raise OSError(err, "Transport endpoint is already connected")
        e = self._last_error
        raise e if e is not None and e.errno == err else OSError(err, _os.strerror(err))

    def connect_ex(self, address):
        return self._connect(address)

    # -- I/O
    def recv(self, bufsize, flags=0):
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        if self._peek:
            data = self._peek[:bufsize]
            if not flags & MSG_PEEK:
                self._peek = self._peek[len(data):]
            return data
        fd = self._fd
        data = self._io(lambda: _os.read(fd, bufsize), False, flags)
        if flags & MSG_PEEK:
            self._peek = data
        return data

    def recv_into(self, buffer, nbytes=0, flags=0):
        mv = memoryview(buffer).cast("B")
        n = nbytes or len(mv)
        if n < 0:
            raise ValueError("negative buffersize in recv_into")
        data = self.recv(min(n, len(mv)), flags)
        mv[:len(data)] = data
        return len(data)

    def recvfrom(self, bufsize, flags=0):
        return self.recv(bufsize, flags), None

    def recvfrom_into(self, buffer, nbytes=0, flags=0):
        return self.recv_into(buffer, nbytes, flags), None

    def send(self, data, flags=0):
        fd = self._fd
        return self._io(lambda: _os.write(fd, data), True, flags)

    def sendall(self, data, flags=0):
        mv = memoryview(data).cast("B")
        fd, off, total = self._fd, 0, len(mv)
        deadline = None
        while off < total:
            self._check_fd()
            try:
                off += _os.write(fd, mv[off:])
                continue
            except BlockingIOError:
                if self._timeout is None or self._timeout == 0:
                    raise
            except OSError as e:
                raise _io_error(e) from None
            if deadline is None:
                deadline = self._deadline()
            self._wait(True, deadline)

    def sendto(self, *args):
        raise PermissionError(_errno.EACCES, _REFUSED_SERVER)

    def shutdown(self, how):
        self._check_fd()
        if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
            raise ValueError("invalid how")
        s = _real.socket(AF_INET, SOCK_STREAM, 0, self._fd)
        try:
            s.shutdown(how)
        finally:
            s.detach()

    # -- addresses and options
    def _addr(self, which):
        if self._fd < 0:
            if which == "peer":
                raise OSError(_errno.ENOTCONN, "Transport endpoint is not connected")
            return ("::", 0, 0, 0) if self._family == AF_INET6 else ("0.0.0.0", 0)
        addr = _info(self._fd).get(which)
        if not addr:  # (still connecting)
            if which == "peer":
                raise OSError(_errno.ENOTCONN, "Transport endpoint is not connected")
            addr = ("::" if self._family == AF_INET6 else "0.0.0.0", 0)
        ip, port = addr
        return (ip, port, 0, 0) if self._family == AF_INET6 else (ip, port)

    def getpeername(self):
        return self._addr("peer")

    def getsockname(self):
        return self._addr("local")

    def setsockopt(self, level, optname, value, optlen=None):
        self._opts[(level, optname)] = value  # accepted: the host owns the real socket

    def getsockopt(self, level, optname, buflen=None):
        if level == SOL_SOCKET and optname == SO_ERROR:
            return _info(self._fd).get("error", 0) if self._fd >= 0 else 0
        if level == SOL_SOCKET and optname == SO_TYPE:
            value = self._type
        else:
            value = self._opts.get((level, optname), 0)
        if buflen is not None:
            if isinstance(value, int):
                value = value.to_bytes(4, "little", signed=True)
            return bytes(value)[:buflen].ljust(min(buflen, max(len(value), 4)), b"\0")
        return value if isinstance(value, int) else int.from_bytes(bytes(value)[:4], "little")

    # -- refused
    def bind(self, address):
        """Accepted for port 0 only (a client choosing no particular source: the host
        picks it); anything else is a server socket and refused."""
        host, port = self._target(address)
        if port != 0:
            raise PermissionError(_errno.EACCES, _REFUSED_SERVER)
        self._bound = False

    def listen(self, backlog=0):
        raise PermissionError(_errno.EACCES, _REFUSED_SERVER)

    def _accept(self):
        raise PermissionError(_errno.EACCES, _REFUSED_SERVER)


SocketType = socket


def socketpair(family=AF_INET, type=SOCK_STREAM, proto=0):
    raise PermissionError(_errno.EACCES, _REFUSED_SERVER)


del _k
