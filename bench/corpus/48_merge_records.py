# Merge customer records from two systems by normalised e-mail; newest field wins.
crm = [
    {"email": "Ann@Example.com", "name": "Ann Lee", "phone": None, "updated": "2024-03-01"},
    {"email": "bob@example.com", "name": "Bob", "phone": "555-0101", "updated": "2024-01-15"},
    {"email": "cid@example.com", "name": "Cid Moe", "phone": "555-0199", "updated": "2023-12-30"},
]
shop = [
    {"email": "ann@example.com ", "name": "Ann L.", "phone": "555-0142", "updated": "2024-02-10"},
    {"email": "BOB@example.com", "name": "Robert Smith", "phone": None, "updated": "2024-04-02"},
    {"email": "dee@example.com", "name": "Dee", "phone": "555-0177", "updated": "2024-04-20"},
]
merged = {}
for source, rows in (("crm", crm), ("shop", shop)):
    for r in rows:
        key = r["email"].strip().lower()
        cur = merged.setdefault(key, {"email": key, "sources": []})
        cur["sources"].append(source)
        for field in ("name", "phone"):
            if r[field] is None:
                continue
            if field not in cur or r["updated"] > cur[f"_{field}_at"]:
                cur[field], cur[f"_{field}_at"] = r[field], r["updated"]
for key in sorted(merged):
    rec = {k: v for k, v in merged[key].items() if not k.startswith("_")}
    print(rec)
print(sum(len(m["sources"]) > 1 for m in merged.values()), "matched across systems")
