# Sort employees by department, then salary descending, then name; rank within department.
from operator import itemgetter
from itertools import groupby

people = [
    ("Ann", "eng", 120), ("Bob", "eng", 95), ("Cid", "ops", 70), ("Dee", "eng", 120),
    ("Eve", "sales", 80), ("Fay", "ops", 72), ("Gus", "sales", 80), ("Hal", "eng", 101),
]
rows = [dict(zip(("name", "dept", "salary"), p)) for p in people]
rows.sort(key=itemgetter("name"))
rows.sort(key=itemgetter("salary"), reverse=True)
rows.sort(key=itemgetter("dept"))
for dept, members in groupby(rows, key=itemgetter("dept")):
    members = list(members)
    avg = sum(m["salary"] for m in members) / len(members)
    print(f"{dept}: avg {avg:.1f}")
    for rank, m in enumerate(members, 1):
        print(f"  {rank}. {m['name']} {m['salary']}")
