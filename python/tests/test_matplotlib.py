"""matplotlib in the sandbox from the Python module: a factory with numpy and the
matplotlib package (guest/packages/build.sh matplotlib; docs/PACKAGES.md,
"matplotlib") and pyplot pre-imported; the figure's PNG comes back to the host
through collect_files and is decoded here. Skipped unless $ERYX_MATPLOTLIB_PACKAGE
(and $ERYX_NUMPY_PACKAGE) name the package trees: ctest sets them when
./build.sh --with matplotlib configured the build."""
import os
import struct
import zlib

import pytest

import eryx

PLOT = """
import numpy as np, matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(3.2, 2.4), dpi=100)
x = np.linspace(0, 1, 50)
ax.plot(x, x ** 2, color="#0000ff", linewidth=4)
ax.set_title("collected")
import os
os.makedirs("/tmp/out", exist_ok=True)
fig.savefig("/tmp/out/plot.png")
fig.savefig("/tmp/out/plot.svg")
"""


@pytest.fixture(scope="module")
def factory():
    mpl, np_ = os.environ.get("ERYX_MATPLOTLIB_PACKAGE"), os.environ.get("ERYX_NUMPY_PACKAGE")
    if not mpl or not np_:
        pytest.skip("ERYX_MATPLOTLIB_PACKAGE/ERYX_NUMPY_PACKAGE are not set: no matplotlib package "
                    "(./build.sh --with matplotlib)")
    return eryx.SandboxFactory(packages=[np_, mpl], imports=["matplotlib.pyplot"])


def png_chunks(data: bytes):
    """(type, payload) of each chunk, CRCs checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    i, out = 8, []
    while i < len(data):
        n, = struct.unpack(">I", data[i:i + 4])
        kind, body = data[i + 4:i + 8], data[i + 8:i + 8 + n]
        assert struct.unpack(">I", data[i + 8 + n:i + 12 + n])[0] == zlib.crc32(kind + body)
        out.append((kind, body))
        i += 12 + n
    return out


def unfilter(raw: bytes, width: int, height: int, bpp: int = 4):
    """The image rows of a non-interlaced 8-bit PNG's inflated IDAT (filters 0-4)."""
    stride, rows, prev = width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            else:
                assert kind == 0, kind
        rows.append(bytes(line))
        prev = line
    return rows


def test_png_comes_back_and_decodes(factory):
    r = factory.create_sandbox(collect_files="/tmp/out").execute(PLOT)
    assert sorted(r.files) == ["/tmp/out/plot.png", "/tmp/out/plot.svg"] and r.files_left_out == 0
    chunks = png_chunks(r.files["/tmp/out/plot.png"])
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, _comp, _filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (width, height, depth, colour, interlace) == (320, 240, 8, 6, 0)  # 3.2 x 2.4 in at 100 dpi, RGBA
    # the pixels, deflated by Pillow with the interpreter's zlib: the line's blue
    # and the background's white are there
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    assert len(raw) == height * (1 + width * 4)
    pixels = {row[i:i + 4] for row in unfilter(raw, width, height) for i in range(0, width * 4, 4)}
    assert b"\x00\x00\xff\xff" in pixels and b"\xff\xff\xff\xff" in pixels
    svg = r.files["/tmp/out/plot.svg"].decode()
    assert svg.startswith("<?xml") and "<svg" in svg and "#0000ff" in svg
