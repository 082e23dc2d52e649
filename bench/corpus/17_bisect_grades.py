# Letter grades and tax brackets with bisect; a sorted insert keeping order.
import bisect

def grade(score, cuts=(60, 70, 80, 90), letters="FDCBA"):
    return letters[bisect.bisect(cuts, score)]

scores = {"ann": 93, "bob": 59, "cid": 70, "dee": 88, "eve": 79.5, "fay": 100}
print({name: grade(s) for name, s in scores.items()})
brackets = [(0, 0.0), (10000, 0.1), (40000, 0.2), (90000, 0.35)]
limits = [b for b, _ in brackets]

def tax(income):
    total = 0.0
    for i, (low, rate) in enumerate(brackets):
        high = limits[i + 1] if i + 1 < len(limits) else float("inf")
        if income > low:
            total += (min(income, high) - low) * rate
    return round(total, 2)

print([(inc, tax(inc), brackets[bisect.bisect_right(limits, inc) - 1][1]) for inc in (5000, 25000, 60000, 150000)])
ordered = []
for x in [15, 3, 42, 8, 23, 4, 16]:
    bisect.insort(ordered, x)
print(ordered, bisect.bisect_left(ordered, 16), bisect.bisect_right(ordered, 16))
