# Pivot long-format records into a wide table (rows: month, columns: category).
from collections import defaultdict

records = [
    ("2024-01", "rent", 1200), ("2024-01", "food", 430.5), ("2024-01", "fun", 95),
    ("2024-02", "rent", 1200), ("2024-02", "food", 512.25), ("2024-02", "travel", 300),
    ("2024-03", "rent", 1250), ("2024-03", "food", 389.9), ("2024-03", "fun", 150), ("2024-03", "fun", 42),
]
pivot = defaultdict(lambda: defaultdict(float))
for month, cat, amount in records:
    pivot[month][cat] += amount
cats = sorted({c for _, c, _ in records})
print(f"{'month':<8}" + "".join(f"{c:>9}" for c in cats) + f"{'total':>10}")
col_tot = defaultdict(float)
for month in sorted(pivot):
    row = pivot[month]
    for c in cats:
        col_tot[c] += row.get(c, 0)
    print(f"{month:<8}" + "".join(f"{row.get(c, 0):9.2f}" for c in cats) + f"{sum(row.values()):10.2f}")
print(f"{'total':<8}" + "".join(f"{col_tot[c]:9.2f}" for c in cats) + f"{sum(col_tot.values()):10.2f}")
share = {c: round(100 * col_tot[c] / sum(col_tot.values()), 1) for c in cats}
print(share)
