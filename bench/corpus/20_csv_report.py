# Read CSV from a string (csv + io.StringIO), aggregate, write a CSV report.
import csv
import io

DATA = """date,store,category,amount
2024-01-03,Berlin,books,12.50
2024-01-03,Paris,toys,30.00
2024-01-04,Berlin,toys,7.25
2024-01-05,Paris,books,22.00
2024-01-05,Berlin,books,5.75
2024-01-06,Rome,games,48.10
2024-01-07,Paris,toys,11.90
"""
totals = {}
for row in csv.DictReader(io.StringIO(DATA)):
    key = (row["store"], row["category"])
    n, s = totals.get(key, (0, 0.0))
    totals[key] = (n + 1, s + float(row["amount"]))
out = io.StringIO()
w = csv.writer(out, lineterminator="\n")
w.writerow(["store", "category", "count", "total", "average"])
for (store, cat), (n, s) in sorted(totals.items()):
    w.writerow([store, cat, n, f"{s:.2f}", f"{s / n:.2f}"])
print(out.getvalue(), end="")
