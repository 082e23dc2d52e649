# httpx in the sandbox: GET/POST JSON, streaming, timeouts, https (sync client; the
# async client over plain HTTP) (tests/net-guest/run.py runs it).
import asyncio
import json
import os

import httpx

T = json.loads(os.environ["NET_TEST"])
checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


base = f"http://localhost:{T['http']}"
with httpx.Client(timeout=10) as c:
    r = c.get(base + "/json")
    check(r.status_code == 200 and r.json()["hello"] == "world", r.text)
    r = c.post(base + "/json", json={"a": 1})
    check(r.json() == {"json": {"a": 1}, "method": "POST"}, r.text)
    r = c.get(base + "/redirect/2", follow_redirects=True)
    check(r.content == b"abcde" and len(r.history) == 2, r.history)
    with c.stream("GET", base + "/bytes/250000") as r:
        total = sum(len(b) for b in r.iter_bytes())
    check(total == 250000, total)
    with c.stream("GET", base + "/stream/4") as r:
        check(list(r.iter_lines()) == [f"chunk {i}" for i in range(4)], "iter_lines")
    try:
        c.get(base + "/slow/3", timeout=httpx.Timeout(5, read=0.5))
        check(False, "timeout expected")
    except httpx.ReadTimeout:
        checks += 1

with httpx.Client(timeout=10) as c:
    r = c.get(f"https://localhost:{T['https']}/json")
    check(r.json()["hello"] == "world" and r.http_version == "HTTP/1.1", "https")
    try:
        c.get(f"https://localhost:{T['https_untrusted']}/json")
        check(False, "untrusted root accepted")
    except httpx.ConnectError as e:
        check("certificate" in str(e).lower() or "verif" in str(e).lower(), repr(e))


async def main():
    async with httpx.AsyncClient(timeout=10) as c:
        r = await c.get(base + "/json")
        check(r.json()["hello"] == "world", "async")
        r = await c.post(base + "/json", json=[1, 2])
        check(r.json()["json"] == [1, 2], "async POST")
        # https: anyio's TLS stream over the host's TLS
        hs = f"https://localhost:{T['https']}"
        r = await c.get(hs + "/json")
        check(r.json()["hello"] == "world", "async https")
        async with c.stream("GET", hs + "/bytes/200000") as r:
            total = 0
            async for chunk in r.aiter_bytes():
                total += len(chunk)
        check(total == 200000, total)
        try:
            await c.get(f"https://localhost:{T['https_untrusted']}/json")
            check(False, "untrusted root accepted (async)")
        except httpx.ConnectError:
            pass
        try:
            await c.get(base + "/slow/3", timeout=httpx.Timeout(5, read=0.5))
            check(False, "timeout expected (async)")
        except httpx.ReadTimeout:
            pass

asyncio.run(main())
print("httpx ok:", checks, "checks")
