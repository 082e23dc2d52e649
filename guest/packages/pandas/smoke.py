# guest/packages/pandas/smoke.py: the recipe's smoke test, run in the sandbox by
# guest/packages/build.sh pandas --eryx BIN (numpy's package beside it). Ends with OK.
import pandas as pd
df = pd.DataFrame({"k": ["a", "b", "a", "c", "b", "a"], "v": [1, 2, 3, 4, 5, 6],
                   "w": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]})
g = df.groupby("k").agg(v=("v", "sum"), w=("w", "mean"))
print(g.to_dict())
assert g.loc["a", "v"] == 10 and g.loc["b", "w"] == 3.0
print("pandas", pd.__version__)
print("OK")
