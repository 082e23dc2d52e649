# itertools at work: running totals, sliding windows, combinations, grouping runs.
from itertools import accumulate, pairwise, combinations, permutations, product, groupby, islice, chain, count, cycle, batched

daily = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
print(list(accumulate(daily)), list(accumulate(daily, max)))
print([b - a for a, b in pairwise(daily)])
print([sum(w) for w in zip(daily, daily[1:], daily[2:])])
print(sum(1 for c in combinations(range(1, 10), 3) if sum(c) == 15))
print(["".join(p) for p in permutations("abc")])
print(len(list(product("HT", repeat=4))), list(islice(cycle("RGB"), 7)))
print([(k, len(list(g))) for k, g in groupby("aaabccddddde")])
print(list(islice(chain.from_iterable([[1, 2], [3], [4, 5, 6]]), 5)), list(zip(count(10, 5), "xyz")))
print(list(batched(range(10), 4)))
