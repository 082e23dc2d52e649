# Group sales records by region and product, totals and shares.
from collections import defaultdict

sales = [
    {"region": "north", "product": "widget", "units": 12, "price": 2.5},
    {"region": "south", "product": "gadget", "units": 3, "price": 10.0},
    {"region": "north", "product": "gadget", "units": 7, "price": 10.0},
    {"region": "east", "product": "widget", "units": 20, "price": 2.5},
    {"region": "south", "product": "widget", "units": 9, "price": 2.5},
    {"region": "east", "product": "gizmo", "units": 1, "price": 99.0},
    {"region": "north", "product": "widget", "units": 4, "price": 2.5},
]
by_region = defaultdict(float)
by_pair = defaultdict(int)
for s in sales:
    by_region[s["region"]] += s["units"] * s["price"]
    by_pair[(s["region"], s["product"])] += s["units"]
total = sum(by_region.values())
for region, amount in sorted(by_region.items(), key=lambda kv: -kv[1]):
    print(f"{region:<6} {amount:8.2f} {amount / total:6.1%}")
for (region, product), units in sorted(by_pair.items()):
    print(region, product, units)
