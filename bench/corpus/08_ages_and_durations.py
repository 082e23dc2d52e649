# Ages from birth dates, parsed ISO timestamps, durations formatted as text.
from datetime import date, datetime

today = date(2025, 6, 15)
people = {"ann": "1990-02-28", "bob": "2000-06-15", "cid": "1985-12-31", "dee": "2008-02-29"}

def age(born, on):
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))

for name, born in sorted(people.items()):
    b = date.fromisoformat(born)
    print(name, age(b, today), (today - b).days, b.strftime("%d %b %Y"))
events = ["2025-06-15T08:30:00", "2025-06-15T12:05:30", "2025-06-16T01:00:00"]
stamps = [datetime.fromisoformat(e) for e in events]
for a, b in zip(stamps, stamps[1:]):
    secs = int((b - a).total_seconds())
    h, rem = divmod(secs, 3600)
    print(f"{h}h {rem // 60:02d}m {rem % 60:02d}s")
