# asyncio producer/consumer pipeline with a bounded Queue and a sentinel.
import asyncio

async def producer(q, items):
    for it in items:
        await q.put(it)
    await q.put(None)

async def transformer(q_in, q_out):
    while (it := await q_in.get()) is not None:
        await q_out.put(it.upper()[::-1])
        await asyncio.sleep(0)
    await q_out.put(None)

async def consumer(q, out):
    while (it := await q.get()) is not None:
        out.append(it)

async def main():
    q1, q2, out = asyncio.Queue(maxsize=2), asyncio.Queue(maxsize=2), []
    words = "alpha beta gamma delta epsilon zeta eta theta".split()
    await asyncio.gather(producer(q1, words), transformer(q1, q2), consumer(q2, out))
    print(out)
    sem = asyncio.Semaphore(2)
    active, peak = 0, 0
    async def limited(i):
        nonlocal active, peak
        async with sem:
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0)
            active -= 1
            return i * 10
    print(await asyncio.gather(*(limited(i) for i in range(6))), "peak", peak)

asyncio.run(main())
