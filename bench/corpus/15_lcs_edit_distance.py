# Dynamic programming: longest common subsequence and Levenshtein distance.
def lcs(a, b):
    dp = [[""] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            dp[i + 1][j + 1] = dp[i][j] + x if x == y else max(dp[i][j + 1], dp[i + 1][j], key=len)
    return dp[-1][-1]

def levenshtein(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]

pairs = [("kitten", "sitting"), ("AGGTAB", "GXTXAYB"), ("intention", "execution"), ("python", "typhoon")]
for a, b in pairs:
    print(f"{a:>10} {b:>10} lcs={lcs(a, b)!r:10} dist={levenshtein(a, b)}")
words = ["apple", "apply", "ape", "maple", "applet", "happy"]
print(sorted(words, key=lambda w: (levenshtein("appel", w), w))[:3])
