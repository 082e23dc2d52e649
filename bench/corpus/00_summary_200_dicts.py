import json, re, math, datetime, collections, itertools, statistics, random, string, textwrap
random.seed(16)
rows = [{"id": i, "user": string.ascii_uppercase[i * 7 % 26] + str(i), "group": random.choice("abcde"), "amount": random.randint(100, 50000) / 100, "day": datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 90)} for i in range(200)]
by_group = collections.defaultdict(list)
for r in rows: by_group[r["group"]].append(r["amount"])
summary = {g: {"n": len(v), "total": round(math.fsum(v), 2), "mean": round(statistics.mean(v), 2), "median": statistics.median(v)} for g, v in sorted(by_group.items())}
months = collections.Counter(r["day"].isoformat()[:7] for r in rows)
top, ae = [r["user"] for r in itertools.islice(sorted(rows, key=lambda r: -r["amount"]), 3)], sum(1 for r in rows if re.match(r"[A-E]\d+$", r["user"]))
print(json.dumps(summary, sort_keys=True))
print(textwrap.fill(f"months: {dict(months)}; top: {top}; users A-E: {ae}", width=72))
