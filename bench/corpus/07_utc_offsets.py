# Meeting times across fixed UTC offsets (the guest has no tz database: zoneinfo
# finds no zones), parsing offsets from ISO strings, and sorting mixed-offset times.
from datetime import datetime, timedelta, timezone

offices = {"New York": -5, "London": 0, "Berlin": 1, "Kolkata": 5.5, "Tokyo": 9}
zones = {name: timezone(timedelta(hours=h), name) for name, h in offices.items()}
meeting = datetime(2024, 3, 8, 15, 0, tzinfo=timezone.utc)
for name, tz in zones.items():
    local = meeting.astimezone(tz)
    ok = 9 <= local.hour < 18
    print(f"{name:<9} {local:%a %H:%M} UTC{local:%z} {'ok' if ok else 'outside hours'}")
stamps = ["2024-03-08T10:00:00-05:00", "2024-03-08T15:30:00+00:00", "2024-03-08T23:45:00+09:00",
          "2024-03-08T16:00:00+01:00"]
parsed = sorted(datetime.fromisoformat(s) for s in stamps)
print([p.astimezone(timezone.utc).strftime("%H:%M") for p in parsed])
print(parsed[-1] - parsed[0], parsed[0].utcoffset(), parsed[0].tzname())
print(datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp(), datetime.fromtimestamp(1700000000, timezone.utc).isoformat())
