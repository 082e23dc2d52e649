# Counter tricks: anagram groups, letter budgets, multiset arithmetic.
from collections import Counter, defaultdict

words = ["listen", "silent", "enlist", "google", "gogole", "cat", "act", "tac", "dog", "inlets"]
groups = defaultdict(list)
for w in words:
    groups["".join(sorted(w))].append(w)
print([g for g in groups.values() if len(g) > 1])

def can_make(word, letters):
    return not Counter(word) - Counter(letters)

print([w for w in ["tea", "eat", "tee", "ate", "tat"] if can_make(w, "aetx")])
a, b = Counter("abracadabra"), Counter("alakazam")
print(sorted((a + b).items()), sorted((a & b).items()), sorted((a - b).items()))
c = Counter({"red": 4, "blue": 2})
c.update(["red", "green", "green"])
c.subtract({"blue": 3})
print(c.most_common(), c.total(), sorted(c.elements())[:5], +c)
