import json, re, math, datetime, collections, itertools, statistics, random, string, textwrap
random.seed(42)
rows = [{"id": i, "name": "".join(random.choices(string.ascii_lowercase, k=6)), "group": random.choice("abcde"), "value": random.gauss(100, 15), "day": (datetime.date(2024, 1, 1) + datetime.timedelta(days=random.randrange(366))).isoformat()} for i in range(200)]
groups = collections.defaultdict(list)
for r in rows: groups[r["group"]].append(r["value"])
summary = {g: {"n": len(v), "mean": round(statistics.mean(v), 2), "stdev": round(statistics.stdev(v), 2), "max": round(max(v), 2)} for g, v in sorted(groups.items())}
months = collections.Counter(re.match(r"\d{4}-(\d{2})-\d{2}$", r["day"]).group(1) for r in rows)
close = sum(1 for a, b in itertools.combinations(rows[:30], 2) if math.isclose(a["value"], b["value"], rel_tol=0.01))
print(json.dumps(summary, sort_keys=True))
print(textwrap.fill(f"busiest months: {months.most_common(3)}; close pairs in the first 30: {close}; first names: {', '.join(r['name'] for r in rows[:5])}", width=72))
