# Batched host lookups: the batch size and currency come from the host config,
# each batch of callbacks runs concurrently, results are summarised as JSON.
import asyncio
import json

batch = await get_config(key="batch")
currency = await get_config(key="currency")
missing = await get_config(key="no_such_key")
ids = list(range(100, 118))
records = []
for start in range(0, len(ids), batch):
    chunk = ids[start:start + batch]
    records += await asyncio.gather(*(get_user(user_id=i) for i in chunk))
    print(f"batch {start // batch}: {[r['score'] for r in records[-len(chunk):]]}")
owed = {r["name"]: f"{r['score'] * 1.5:.2f} {currency}" for r in records if not r["active"]}
print(json.dumps({"batches": -(-len(ids) // batch), "inactive": owed, "missing": missing}, indent=1))
