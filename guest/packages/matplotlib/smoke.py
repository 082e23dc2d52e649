# guest/packages/matplotlib/smoke.py: the recipe's smoke test, run in the sandbox by
# guest/packages/build.sh matplotlib --eryx BIN (numpy's package beside it): a line
# and a contour plot (contourpy), saved as PNG (Agg + Pillow's zlib) and SVG in /tmp,
# the PNG's signature and size checked. Ends with OK. MPLCONFIGDIR: the config and
# font-cache dir must be writable; in the sandbox /tmp is (the package defaults to
# /tmp/matplotlib on WASI; this sets another to show the variable still wins).
import os
os.environ["MPLCONFIGDIR"] = "/tmp/mplconfig"
import struct
import numpy as np
import matplotlib
import matplotlib.pyplot as plt
assert matplotlib.get_configdir() == "/tmp/mplconfig", matplotlib.get_configdir()
print("matplotlib", matplotlib.__version__, "backend", matplotlib.get_backend())
fig, (a, b) = plt.subplots(1, 2, figsize=(6, 3), dpi=100)
x = np.linspace(0, 2 * np.pi, 200)
a.plot(x, np.sin(x), label="sin")
a.legend()
a.set_title("line")
X, Y = np.meshgrid(np.linspace(-2, 2, 60), np.linspace(-2, 2, 60))
cs = b.contourf(X, Y, np.exp(-X**2 - Y**2), levels=8)
b.contour(X, Y, np.exp(-X**2 - Y**2), levels=8, colors="k")
fig.colorbar(cs, ax=b)
fig.savefig("/tmp/smoke.png")
fig.savefig("/tmp/smoke.svg")
png = open("/tmp/smoke.png", "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n", png[:8]
w, h = struct.unpack(">II", png[16:24])
assert (w, h) == (600, 300), (w, h)
svg = open("/tmp/smoke.svg").read()
assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
print("png", w, h, len(png), "bytes; svg", len(svg), "bytes")
print("OK")
