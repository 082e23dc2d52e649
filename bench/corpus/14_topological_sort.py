# Build order of tasks from their dependencies (Kahn's algorithm), and cycle detection.
from collections import defaultdict, deque

deps = {
    "deploy": ["test", "package"], "package": ["build"], "test": ["build", "lint"],
    "build": ["fetch"], "lint": ["fetch"], "fetch": [], "docs": ["build"],
}

def order(deps):
    indeg = {t: len(d) for t, d in deps.items()}
    users = defaultdict(list)
    for t, ds in deps.items():
        for d in ds:
            users[d].append(t)
    ready = deque(sorted(t for t, n in indeg.items() if n == 0))
    out = []
    while ready:
        t = ready.popleft()
        out.append(t)
        for u in sorted(users[t]):
            indeg[u] -= 1
            if indeg[u] == 0:
                ready.append(u)
    if len(out) != len(deps):
        raise ValueError("cycle among " + ", ".join(sorted(set(deps) - set(out))))
    return out

print(" -> ".join(order(deps)))
try:
    order({"a": ["b"], "b": ["c"], "c": ["a"], "d": []})
except ValueError as e:
    print("error:", e)
