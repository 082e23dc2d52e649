# asyncio streams (plain and TLS, start_tls), loop.sock_* and getaddrinfo in the
# sandbox (tests/net-guest/run.py runs it).
import asyncio
import json
import os
import socket
import ssl

T = json.loads(os.environ["NET_TEST"])
checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


async def http_get(reader, writer, path):
    writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    return data


async def main():
    global checks
    loop = asyncio.get_running_loop()
    # getaddrinfo without an executor
    infos = await loop.getaddrinfo("localhost", T["echo"], type=socket.SOCK_STREAM)
    check(infos[0][4][1] == T["echo"], infos)

    # plain streams, by name and over IPv6
    reader, writer = await asyncio.open_connection("localhost", T["echo"])
    writer.write(b"hello\n")
    await writer.drain()
    check(await reader.readline() == b"hello\n", "echo line")
    check(writer.get_extra_info("peername")[:2] == ("127.0.0.1", T["echo"]), writer.get_extra_info("peername"))
    big = os.urandom(200000)
    writer.write(big)
    got = await reader.readexactly(len(big))
    check(got == big, "200 KB echo")
    writer.write_eof()
    check(await reader.read() == b"", "EOF after write_eof")
    writer.close()
    await writer.wait_closed()

    if T["echo6"]:
        reader, writer = await asyncio.open_connection("::1", T["echo6"])
        writer.write(b"v6\n")
        check(await reader.readline() == b"v6\n", "v6")
        writer.close()

    # TLS streams: the host does the TLS, the loop drives the handshake
    ctx = ssl.create_default_context()
    reader, writer = await asyncio.open_connection("localhost", T["https"], ssl=ctx)
    sslobj = writer.get_extra_info("ssl_object")
    check(sslobj is not None and sslobj.version() in ("TLSv1.2", "TLSv1.3"), sslobj)
    check(("DNS", "localhost") in writer.get_extra_info("peercert")["subjectAltName"], "peercert")
    data = await http_get(reader, writer, "/bytes/50000")
    check(data.startswith(b"HTTP/1.1 200") and data.endswith(b"abcdefghijklmnopqrstuvwx"[:50000 % 26]), data[:20])
    check(len(data.split(b"\r\n\r\n", 1)[1]) == 50000, "TLS body length")

    reader, writer = await asyncio.open_connection("localhost", T["https"], ssl=True)
    check((await http_get(reader, writer, "/json")).endswith(b'"path": "/json"}'), "ssl=True")

    # TLS failures
    try:
        await asyncio.open_connection("127.0.0.1", T["https"], ssl=ctx, server_hostname="wrong.example")
        check(False, "wrong name accepted")
    except ssl.SSLCertVerificationError:
        checks += 1
    try:
        await asyncio.open_connection("localhost", T["https_untrusted"], ssl=ctx)
        check(False, "untrusted root accepted")
    except ssl.SSLCertVerificationError:
        checks += 1

    # start_tls: plain first, then TLS on the same connection
    reader, writer = await asyncio.open_connection("127.0.0.1", T["starttls"])
    writer.write(b"STARTTLS\n")
    await writer.drain()
    check(await reader.readline() == b"OK\n", "STARTTLS answer")
    await writer.start_tls(ctx, server_hostname="localhost")
    check(writer.get_extra_info("ssl_object") is not None, "ssl_object after start_tls")
    writer.write(b"secret line\n")
    await writer.drain()
    check(await reader.readline() == b"secret line\n", "echo over start_tls")
    writer.close()
    await writer.wait_closed()

    # loop.sock_*
    s = socket.socket()
    s.setblocking(False)
    await loop.sock_connect(s, ("localhost", T["echo"]))
    await loop.sock_sendall(s, b"sock api\n")
    check(await loop.sock_recv(s, 100) == b"sock api\n", "sock_recv")
    s.close()

    # a timeout
    reader, writer = await asyncio.open_connection("127.0.0.1", T["silent"])
    try:
        await asyncio.wait_for(reader.read(10), 0.3)
        check(False, "timeout expected")
    except TimeoutError:
        checks += 1
    writer.close()

    # refused
    try:
        await asyncio.open_connection("127.0.0.1", T["closed"])
        check(False, "refused expected")
    except ConnectionRefusedError:
        checks += 1


asyncio.run(main())
print("asyncio ok:", checks, "checks")
