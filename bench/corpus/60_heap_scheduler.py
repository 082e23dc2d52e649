# A job scheduler simulation with heapq: priorities, two workers, waiting times.
import heapq

jobs = [  # (arrival, priority (lower first), name, duration)
    (0, 2, "backup", 7), (1, 1, "email", 2), (2, 3, "report", 4), (3, 1, "alert", 1),
    (4, 2, "resize", 3), (6, 3, "cleanup", 5), (7, 1, "login", 1), (9, 2, "index", 4),
]
pending, ready, workers, t, log = list(jobs), [], [(0, "w1"), (0, "w2")], 0, []
heapq.heapify(workers)
while pending or ready:
    free_at, w = heapq.heappop(workers)
    t = max(t, free_at)
    while pending and pending[0][0] <= t:
        arr, prio, name, dur = pending.pop(0)
        heapq.heappush(ready, (prio, arr, name, dur))
    if not ready:
        t = pending[0][0]
        heapq.heappush(workers, (free_at, w))
        continue
    prio, arr, name, dur = heapq.heappop(ready)
    log.append((t, w, name, t - arr))
    heapq.heappush(workers, (t + dur, w))
for start, w, name, wait in log:
    print(f"t={start:>2} {w} {name:<8} waited {wait}")
print("mean wait", round(sum(l[3] for l in log) / len(log), 3), "smallest 3 durations", heapq.nsmallest(3, (j[3] for j in jobs)))
