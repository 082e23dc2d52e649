# Calendar intervals: merge overlapping bookings, find free slots, max overlap.
def to_min(hhmm):
    h, m = map(int, hhmm.split(":"))
    return h * 60 + m

def fmt(m):
    return f"{m // 60:02d}:{m % 60:02d}"

bookings = [("09:00", "10:30"), ("10:15", "11:00"), ("13:00", "14:00"), ("13:30", "13:45"), ("16:00", "17:30"),
            ("11:00", "11:30")]
spans = sorted((to_min(a), to_min(b)) for a, b in bookings)
merged = [list(spans[0])]
for s, e in spans[1:]:
    if s <= merged[-1][1]:
        merged[-1][1] = max(merged[-1][1], e)
    else:
        merged.append([s, e])
print("busy", [(fmt(s), fmt(e)) for s, e in merged])
day = (to_min("08:00"), to_min("18:00"))
free, cur = [], day[0]
for s, e in merged:
    if s > cur:
        free.append((fmt(cur), fmt(s), s - cur))
    cur = max(cur, e)
if cur < day[1]:
    free.append((fmt(cur), fmt(day[1]), day[1] - cur))
print("free", free)
events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
level = peak = 0
for _, delta in events:
    level += delta
    peak = max(peak, level)
print("max overlap", peak, "longest free", max(free, key=lambda f: f[2]))
