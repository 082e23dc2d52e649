# Clean a messy CSV: trim, normalise case and numbers, drop duplicates, report problems.
import csv
import io

MESSY = '''id; name ;email;amount
1; Alice Smith ;ALICE@EXAMPLE.COM; 1.234,50
2;bob jones;bob@example.com;99
2;bob jones;bob@example.com;99
3;"Carol, Jr.";;12,00
4;dave;dave(at)example.com;abc
'''
reader = csv.reader(io.StringIO(MESSY), delimiter=";")
header = [h.strip() for h in next(reader)]
seen, clean, problems = set(), [], []
for lineno, raw in enumerate(reader, 2):
    rec = dict(zip(header, (f.strip() for f in raw)))
    key = tuple(rec.values())
    if key in seen:
        problems.append((lineno, "duplicate"))
        continue
    seen.add(key)
    rec["name"] = rec["name"].title()
    rec["email"] = rec["email"].lower() or None
    try:
        rec["amount"] = float(rec["amount"].replace(".", "").replace(",", "."))
    except ValueError:
        problems.append((lineno, f"bad amount {rec['amount']!r}"))
        rec["amount"] = None
    if rec["email"] and "@" not in rec["email"]:
        problems.append((lineno, "bad email"))
    clean.append(rec)
for rec in clean:
    print(rec)
print(problems)
