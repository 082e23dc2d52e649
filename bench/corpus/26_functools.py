# functools: memoised recursion, reduce, partial, total_ordering, singledispatch.
from functools import lru_cache, reduce, partial, total_ordering, singledispatch, cache
import operator

@lru_cache(maxsize=None)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

@cache
def partitions(n, k):
    if n == 0:
        return 1
    if n < 0 or k == 0:
        return 0
    return partitions(n - k, k) + partitions(n, k - 1)

print(fib(90), fib.cache_info().hits, partitions(60, 60))
print(reduce(operator.mul, range(1, 21)), reduce(lambda acc, w: acc + len(w), ["ab", "cde", "f"], 0))
int2 = partial(int, base=2)
print(int2("101101"), list(map(partial(round, ndigits=1), [1.26, 2.71, 3.14159])))

@total_ordering
class Version:
    def __init__(self, s):
        self.parts = tuple(int(p) for p in s.split("."))
    def __eq__(self, other):
        return self.parts == other.parts
    def __lt__(self, other):
        return self.parts < other.parts
    __repr__ = lambda self: ".".join(map(str, self.parts))

print(sorted(Version(v) for v in ["1.10.0", "1.2.3", "1.2.10", "0.9"]), Version("2.0") >= Version("1.99"))

@singledispatch
def describe(x):
    return f"object {x!r}"
describe.register(int, lambda x: f"int {x}")
describe.register(list, lambda x: f"list of {len(x)}")
print([describe(v) for v in (3, [1, 2], "s")])
