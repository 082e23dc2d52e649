# guest/packages/contourpy/smoke.py (guest/packages/build.sh contourpy --eryx BIN,
# numpy's package beside it): the serial and the threaded generator (one thread here:
# patches/0001) give the same filled contours. Ends with OK.
import numpy as np
import contourpy
z = np.array([[0.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 0.0]])
out = {}
for name in ("serial", "threaded"):
    g = contourpy.contour_generator(z=z, name=name, fill_type="OuterCode")
    points, codes = g.filled(0.5, 1.5)
    out[name] = [p.round(6).tolist() for p in points]
    print(name, "polygons", len(points), "points", sum(len(p) for p in points))
assert out["serial"] == out["threaded"] and len(out["serial"]) == 1
print("max_threads", contourpy.max_threads(), "threaded thread_count",
      contourpy.contour_generator(z=z, name="threaded").thread_count)
print("OK")
