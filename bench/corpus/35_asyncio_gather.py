# asyncio: concurrent tasks with gather, cooperative sleep(0), results in order.
import asyncio

async def worker(name, n):
    total = 0
    for i in range(n):
        total += i * i
        await asyncio.sleep(0)
    return name, total

async def main():
    results = await asyncio.gather(*(worker(f"w{k}", 100 * k) for k in range(1, 6)))
    for name, total in results:
        print(name, total)
    done = []
    async def tick(tag):
        for step in range(3):
            done.append(f"{tag}{step}")
            await asyncio.sleep(0)
    await asyncio.gather(tick("a"), tick("b"))
    print(" ".join(done))
    task = asyncio.create_task(asyncio.Event().wait())
    await asyncio.sleep(0)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        print("cancelled as expected", task.cancelled())

asyncio.run(main())
