# An agent's tool use: fetch user records from the host concurrently (a host
# callback awaited at top level), filter by a host-provided threshold, rank them.
import asyncio

threshold = await get_config(key="threshold")
users = await asyncio.gather(*(get_user(user_id=i) for i in range(1, 16)))
active = [u for u in users if u["active"]]
ranked = sorted(active, key=lambda u: (-u["score"], u["id"]))
print(f"{len(users)} users, {len(active)} active, threshold {threshold}")
for u in ranked:
    mark = "above" if u["score"] >= threshold else "below"
    print(f"  {u['name']:<7} {u['score']:>3} {mark}")
print("mean score:", round(sum(u["score"] for u in active) / len(active), 2))
