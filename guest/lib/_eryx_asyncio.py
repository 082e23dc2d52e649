"""asyncio over the host's network (issue 18): patched in when asyncio is imported.

_eryx_support's finder calls patch(asyncio) after the package has run. What changes:
- getaddrinfo/getnameinfo run synchronously (the host resolves; the guest has no
  threads for the default executor's pool).
- sock_connect takes the socket's fd after connect(): a socket has no fd before
  (the host makes the connection).
- TLS (create_connection(ssl=...), open_connection(ssl=...), start_tls) is the
  host's: instead of ssl.MemoryBIO under SSLProtocol, the loop drives the host's
  handshake (ssl.SSLSocket.do_handshake, net_tls) with its readers and writers, then
  an ordinary socket transport carries the plaintext.
"""
import errno
import functools
import socket

_HANDSHAKE_TIMEOUT = 60.0


def patch(asyncio):
    from asyncio import base_events, futures, selector_events
    loop_cls = selector_events.BaseSelectorEventLoop
    socket_transport = selector_events._SelectorSocketTransport

    async def getaddrinfo(self, host, port, *, family=0, type=0, proto=0, flags=0):
        # The host resolves (a bounded wait, sliced like time.sleep): no executor.
        return socket.getaddrinfo(host, port, family, type, proto, flags)

    async def getnameinfo(self, sockaddr, flags=0):
        return socket.getnameinfo(sockaddr, flags)

    def _sock_connect(self, fut, sock, address):
        try:
            sock.connect(address)
        except (BlockingIOError, InterruptedError):
            fd = sock.fileno()  # only now: the host made the connection's fd
            self._ensure_fd_no_transport(fd)
            handle = self._add_writer(fd, self._sock_connect_cb, fut, sock, address)
            fut.add_done_callback(functools.partial(self._sock_write_done, fd, handle=handle))
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(None)
        finally:
            fut = None

    class HostTLSTransport(socket_transport):
        """A socket transport over a connection the host puts under TLS: reading
        starts (and connection_made is called) once the handshake is done."""

        def __init__(self, loop, sslsock, protocol, waiter=None, extra=None, server=None,
                     handshake_timeout=None, call_connection_made=True):
            self._read_ready_cb = None
            selector_events._SelectorTransport.__init__(self, loop, sslsock, protocol, extra, server)
            self._eof = False
            self._empty_waiter = None
            self._write_ready = self._write_send
            base_events._set_nodelay(self._sock)
            self._extra["sslcontext"] = sslsock.context
            self._extra["ssl_object"] = sslsock
            self._tls_waiter = waiter
            self._tls_connection_made = call_connection_made
            self._tls_timer = loop.call_later(handshake_timeout or _HANDSHAKE_TIMEOUT, self._tls_timeout)
            loop.call_soon(self._tls_step)

        def _tls_step(self):
            import ssl
            if self._sock is None:
                return
            fd = self._sock_fd
            self._loop._remove_reader(fd)
            self._loop._remove_writer(fd)
            try:
                self._sock.do_handshake()
            except ssl.SSLWantReadError:
                self._loop._add_reader(fd, self._tls_step)
                return
            except ssl.SSLWantWriteError:
                self._loop._add_writer(fd, self._tls_step)
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._tls_fail(exc)
                return
            self._tls_timer.cancel()
            sock = self._sock
            self._extra.update(peercert=sock.getpeercert(), cipher=sock.cipher(), compression=None)
            if self._tls_connection_made:
                self._loop.call_soon(self._protocol.connection_made, self)
            self._loop.call_soon(self._add_reader, fd, self._read_ready)
            if self._tls_waiter is not None:
                self._loop.call_soon(futures._set_result_unless_cancelled, self._tls_waiter, None)

        def close(self):
            self._tls_timer.cancel()
            super().close()

        def _force_close(self, exc):
            self._tls_timer.cancel()
            super()._force_close(exc)

        def _tls_timeout(self):
            if self._tls_waiter is not None and not self._tls_waiter.done():
                self._tls_fail(ConnectionAbortedError(
                    f"SSL handshake is taking longer than {_HANDSHAKE_TIMEOUT} seconds: aborting the connection"))

        def _tls_fail(self, exc):
            self._tls_timer.cancel()
            if self._sock is not None:
                self._loop._remove_reader(self._sock_fd)
                self._loop._remove_writer(self._sock_fd)
            if self._tls_waiter is not None and not self._tls_waiter.done():
                self._tls_waiter.set_exception(exc)
            else:
                self._fatal_error(exc, "TLS handshake failed")

    def _tls_socket(self, rawsock, sslcontext, server_side, server_hostname):
        import ssl
        if server_side:
            raise PermissionError(errno.EACCES, "eryx: TLS server sockets are not available in the sandbox")
        if sslcontext is None:  # ssl=True: as sslproto's _create_transport_context
            sslcontext = ssl.create_default_context()
        if not isinstance(sslcontext, ssl.SSLContext):
            raise TypeError(f"sslcontext is expected to be an instance of ssl.SSLContext, got {sslcontext!r}")
        sslsock = sslcontext.wrap_socket(rawsock, do_handshake_on_connect=False, server_hostname=server_hostname)
        sslsock._loop_mode = True  # would-block is BlockingIOError for the transport
        return sslsock

    def _make_ssl_transport(self, rawsock, protocol, sslcontext, waiter=None, *, server_side=False,
                            server_hostname=None, extra=None, server=None, ssl_handshake_timeout=None,
                            ssl_shutdown_timeout=None, call_connection_made=True):
        self._ensure_fd_no_transport(rawsock)
        sslsock = _tls_socket(self, rawsock, sslcontext, server_side, server_hostname)
        return HostTLSTransport(self, sslsock, protocol, waiter, extra, server, ssl_handshake_timeout,
                                call_connection_made)

    async def start_tls(self, transport, protocol, sslcontext, *, server_side=False, server_hostname=None,
                        ssl_handshake_timeout=None, ssl_shutdown_timeout=None):
        import ssl
        if not isinstance(sslcontext, ssl.SSLContext):
            raise TypeError(f"sslcontext is expected to be an instance of ssl.SSLContext, got {sslcontext!r}")
        if not isinstance(transport, socket_transport) or transport.is_closing():
            raise TypeError(f"transport {transport!r} is not supported by start_tls()")
        transport.pause_reading()
        # What the plain transport still holds goes out first, in the clear.
        await transport._make_empty_waiter()
        transport._reset_empty_waiter()
        rawsock, fd = transport._sock, transport._sock_fd
        # The new transport takes the connection over; the old one lets go of it.
        self._remove_reader(fd)
        self._remove_writer(fd)
        transport._sock = None
        transport._closing = True
        transport._protocol_connected = False
        if self._transports.get(fd) is transport:
            del self._transports[fd]
        sslsock = _tls_socket(self, rawsock, sslcontext, server_side, server_hostname)
        waiter = self.create_future()
        new = HostTLSTransport(self, sslsock, protocol, waiter, None, transport._server, ssl_handshake_timeout,
                               call_connection_made=False)
        try:
            await waiter
        except BaseException:
            new.close()
            raise
        return new

    loop_cls._sock_connect = _sock_connect
    loop_cls._make_ssl_transport = _make_ssl_transport
    loop_cls.start_tls = start_tls
    base_events.BaseEventLoop.getaddrinfo = getaddrinfo
    base_events.BaseEventLoop.getnameinfo = getnameinfo
    selector_events.HostTLSTransport = HostTLSTransport
