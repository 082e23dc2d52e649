# A seeded Monte Carlo simulation: dice sums, a random walk, bootstrap interval.
import random
import statistics
from collections import Counter

rng = random.Random(2024)
rolls = Counter(rng.randint(1, 6) + rng.randint(1, 6) for _ in range(20000))
for total in range(2, 13):
    print(f"{total:>2} {rolls[total] / 20000:.4f} {'*' * (rolls[total] // 200)}")
pos, furthest = 0, 0
for _ in range(1000):
    pos += rng.choice((-1, 1))
    furthest = max(furthest, abs(pos))
print("walk end", pos, "furthest", furthest)
data = [rng.gauss(50, 10) for _ in range(200)]
means = sorted(statistics.fmean(rng.choices(data, k=len(data))) for _ in range(500))
print("bootstrap 95%:", round(means[12], 2), round(means[487], 2))
deck = [r + s for r in "A23456789TJQK" for s in "shdc"]
rng.shuffle(deck)
print(deck[:5], rng.sample(range(100), 5), round(rng.uniform(1, 2), 6))
