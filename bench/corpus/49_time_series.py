# A daily time series: moving averages, weekly resampling, largest change, gaps.
from datetime import date, timedelta
from statistics import fmean

start = date(2024, 2, 1)
values = [20, 22, 21, 25, 30, 28, 27, 26, 31, 35, 33, 30, 29, 40, 42, 41, 38, 36, 37, 45, 44]
missing = {5, 12}
series = {start + timedelta(days=i): v for i, v in enumerate(values) if i not in missing}
days = sorted(series)
ma3 = {d: round(fmean(series[x] for x in days[max(0, i - 2):i + 1]), 2) for i, d in enumerate(days)}
print([ma3[d] for d in days[:6]])
weeks = {}
for d in days:
    iso = d.isocalendar()
    weeks.setdefault(f"{iso.year}-W{iso.week:02d}", []).append(series[d])
for week, vals in weeks.items():
    print(week, len(vals), min(vals), max(vals), round(fmean(vals), 2))
jumps = [(series[b] - series[a], b) for a, b in zip(days, days[1:])]
delta, when = max(jumps, key=lambda j: abs(j[0]))
print("largest change", delta, "on", when.isoformat())
gaps = [d.isoformat() for d in (start + timedelta(days=i) for i in range(len(values))) if d not in series]
print("gaps", gaps)
