# The loop of issue 22 (bench/profile.sh): 3M iterations of an int multiply-add at
# module level, as the issue timed it (so `s` and `i` are globals: dict stores).
import time

_t0 = time.perf_counter()
s = 0
for i in range(3_000_000):
    s += i * i
print("loop: %d in %.3f s" % (s, time.perf_counter() - _t0))
