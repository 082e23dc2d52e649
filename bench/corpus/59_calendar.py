# Calendars: a month grid, leap years, weekday counts, the nth weekday of a month.
import calendar
from datetime import date

print(calendar.TextCalendar(calendar.MONDAY).formatmonth(2024, 2), end="")
print([y for y in range(1896, 1912) if calendar.isleap(y)], calendar.leapdays(2000, 2100))

def nth_weekday(year, month, weekday, n):
    days = [d for d in calendar.Calendar().itermonthdates(year, month) if d.month == month and d.weekday() == weekday]
    return days[n] if n < 0 or n < len(days) else None

print("thanksgiving", [nth_weekday(y, 11, calendar.THURSDAY, 3).isoformat() for y in (2023, 2024, 2025)])
print("last friday", nth_weekday(2024, 5, calendar.FRIDAY, -1))
fridays13 = [date(y, m, 13).isoformat() for y in (2024, 2025, 2026) for m in range(1, 13) if date(y, m, 13).weekday() == 4]
print(fridays13)
print(calendar.monthrange(2024, 2), calendar.day_name[date(2000, 1, 1).weekday()], list(calendar.month_abbr)[1:4])
