# 0/1 knapsack by dynamic programming, with the chosen items; coin change count.
items = [("tent", 5, 60), ("stove", 3, 50), ("food", 4, 70), ("camera", 2, 30), ("book", 1, 10), ("rope", 2, 25)]
cap = 10
best = [[0] * (cap + 1) for _ in range(len(items) + 1)]
for i, (_, w, v) in enumerate(items, 1):
    for c in range(cap + 1):
        best[i][c] = best[i - 1][c]
        if w <= c:
            best[i][c] = max(best[i][c], best[i - 1][c - w] + v)
chosen, c = [], cap
for i in range(len(items), 0, -1):
    if best[i][c] != best[i - 1][c]:
        chosen.append(items[i - 1][0])
        c -= items[i - 1][1]
print("value", best[-1][cap], "items", sorted(chosen))

def ways(amount, coins):
    w = [1] + [0] * amount
    for coin in coins:
        for a in range(coin, amount + 1):
            w[a] += w[a - coin]
    return w[amount]

print([ways(n, [1, 2, 5, 10, 20, 50]) for n in (10, 50, 100)])
