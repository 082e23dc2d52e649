"""anyio's TLS over the host's (issue 18): patched in when anyio.streams.tls is imported.

anyio's TLSStream runs ssl.SSLObject over MemoryBIOs, which the guest does not have
(TLS terminates in the host). TLSStream.wrap on a client asyncio socket stream (what
httpx.AsyncClient and httpcore use) becomes the loop's start_tls (host TLS, see
_eryx_asyncio) and returns a socket stream with anyio's TLS attributes; other
streams (a server side, a stream of another backend or layered) go to anyio's own
code, which refuses with ssl's message.
"""


def patch(tls):
    wrap = tls.TLSStream.wrap.__func__
    socket_stream = None

    def host_stream_class():
        nonlocal socket_stream
        if socket_stream is None:
            from anyio._backends._asyncio import SocketStream

            class HostTLSStream(SocketStream):
                """A socket stream over a connection under host TLS."""

                def __init__(self, transport, protocol, standard_compatible):
                    super().__init__(transport, protocol)
                    self.standard_compatible = standard_compatible

                @property
                def extra_attributes(self):
                    ssl_object = self._transport.get_extra_info("ssl_object")
                    A = tls.TLSAttribute
                    return {
                        **super().extra_attributes,
                        A.alpn_protocol: ssl_object.selected_alpn_protocol,
                        A.channel_binding_tls_unique: ssl_object.get_channel_binding,
                        A.cipher: ssl_object.cipher,
                        A.peer_certificate: lambda: ssl_object.getpeercert(False),
                        A.peer_certificate_binary: lambda: ssl_object.getpeercert(True),
                        A.server_side: lambda: False,
                        A.shared_ciphers: lambda: None,
                        A.standard_compatible: lambda: self.standard_compatible,
                        A.ssl_object: lambda: ssl_object,
                        A.tls_version: ssl_object.version,
                    }

            socket_stream = (SocketStream, HostTLSStream)
        return socket_stream

    async def host_wrap(cls, transport_stream, *, server_side=None, hostname=None, ssl_context=None,
                        standard_compatible=True):
        if server_side is None:
            server_side = not hostname
        try:
            plain, host_tls = host_stream_class()
        except ImportError:
            plain = host_tls = None
        if server_side or plain is None or type(transport_stream) is not plain:
            return await wrap(cls, transport_stream, server_side=server_side, hostname=hostname,
                              ssl_context=ssl_context, standard_compatible=standard_compatible)
        import asyncio
        import ssl
        if not ssl_context:
            ssl_context = ssl.create_default_context()
        loop = asyncio.get_running_loop()
        protocol = transport_stream._protocol
        transport = await loop.start_tls(transport_stream._transport, protocol, ssl_context,
                                         server_hostname=hostname)
        transport.set_write_buffer_limits(0)  # as anyio's StreamProtocol.connection_made
        return host_tls(transport, protocol, standard_compatible)

    tls.TLSStream.wrap = classmethod(host_wrap)
