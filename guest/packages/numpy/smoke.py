# guest/packages/numpy/smoke.py: the recipe's smoke test (guest/packages/build.sh
# numpy --eryx BIN), a short tour of core, linalg, fft and random. Ends with OK.
import numpy as np
m = np.array([[4.0, 1.0], [2.0, 3.0]])
print("solve", np.linalg.solve(m, [1.0, 2.0]).round(6).tolist())
print("fft", np.fft.fft([1.0, 0.0, 0.0, 0.0]).real.tolist())
print("random", np.random.default_rng(42).integers(0, 100, 5).tolist())
print("OK")
