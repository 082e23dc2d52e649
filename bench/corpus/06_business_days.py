# Business days between dates, skipping weekends and a holiday list; next payday.
from datetime import date, timedelta

holidays = {date(2024, 5, 1), date(2024, 5, 9), date(2024, 5, 20)}

def business_days(start, end):
    d, n = start, 0
    while d <= end:
        if d.weekday() < 5 and d not in holidays:
            n += 1
        d += timedelta(days=1)
    return n

def last_business_day(year, month):
    d = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    while d.weekday() >= 5 or d in holidays:
        d -= timedelta(days=1)
    return d

print(business_days(date(2024, 5, 1), date(2024, 5, 31)))
for m in range(1, 13):
    pay = last_business_day(2024, m)
    print(pay.isoformat(), pay.strftime("%A"))
