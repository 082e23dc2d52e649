# guest/packages/kiwisolver/smoke.py (guest/packages/build.sh kiwisolver --eryx BIN):
# a small constraint system solved. Ends with OK.
import kiwisolver as kiwi
left, width = kiwi.Variable("left"), kiwi.Variable("width")
s = kiwi.Solver()
for c in (left >= 0, width >= 10, left + width <= 100, (left == 20) | "strong", (width == 200) | "weak"):
    s.addConstraint(c)
s.updateVariables()
print("kiwisolver", kiwi.__version__, left.value(), width.value())
assert (left.value(), width.value()) == (20.0, 80.0)
print("OK")
