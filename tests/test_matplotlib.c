/* End-to-end test of matplotlib 3.10.9 for wasm32-wasi, late-linked (the package
** tree guest/packages/build.sh matplotlib makes: matplotlib's side modules with
** FreeType and Qhull linked in, and the bundled contourpy, kiwisolver and Pillow
** core), with the numpy package the tests use: `import matplotlib.pyplot` with the
** Agg backend and the WASI defaults the recipe's patches give (config dir
** /tmp/matplotlib, no warning); a line plot with text and mathtext (FreeType,
** pyparsing) saved as PNG (Agg, Pillow's zlib: the interpreter's) and decoded back
** by Pillow; SVG, and PDF (its text a Type 3 font from FreeType's outlines);
** contours (contourpy), a Delaunay triangulation (Qhull), constrained layout
** (kiwisolver); then pyplot pre-imported into the snapshot, its side modules
** loaded again in restored instances.
** Usage: test_matplotlib NUMPY_PACKAGE MATPLOTLIB_PACKAGE */
#define _GNU_SOURCE
#include <stdlib.h>
#include "check.h"
#include "expect_util.h"
#include "eryx.h"

static const char *numpy_pkg, *mpl_pkg;

static eryx_builder *builder(void) { return pkg_builder(numpy_pkg, mpl_pkg); }

/* A PNG's signature and IHDR (width, height, bit depth, colour type), in the guest. */
#define PNG_INFO                                                                      \
    "import struct\n"                                                                 \
    "def png_info(path):\n"                                                           \
    "    d = open(path, 'rb').read()\n"                                               \
    "    assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n' and d[12:16] == b'IHDR', d[:16]\n" \
    "    return struct.unpack('>IIBB', d[16:26])\n"

static void test_matplotlib_in_a_sandbox(void) {
    eryx_builder *b = builder();
    eryx_sandbox *s = pkg_sandbox(b);
    CHECK(s != NULL);
    if (!s) {
        eryx_builder_free(b);
        return;
    }
    /* No MPLCONFIGDIR: the package's WASI default, and no warning logged on import. */
    EXPECT(s,
           "import logging\n"
           "records = []\n"
           "class H(logging.Handler):\n"
           "    def emit(self, r): records.append(r.getMessage())\n"
           "logging.getLogger('matplotlib').addHandler(H(logging.WARNING))\n"
           "import matplotlib, matplotlib.pyplot as plt\n"
           "print(matplotlib.__version__, matplotlib.get_backend(), matplotlib.get_configdir(), records)",
           "3.10.9 Agg /tmp/matplotlib []\n");
    EXPECT(s,
           PNG_INFO "import numpy as np, matplotlib.pyplot as plt\n"
                    "fig, ax = plt.subplots(figsize=(4, 3), dpi=50)\n"
                    "x = np.linspace(0, 10, 100)\n"
                    "ax.plot(x, np.sin(x), 'r-', label='sin')\n"
                    "ax.set_title(r'$\\alpha^2 + \\sqrt{x}$ and text')\n"
                    "ax.legend()\n"
                    "fig.savefig('/tmp/line.png')\n"
                    "print(png_info('/tmp/line.png'))\n"
                    "from PIL import Image\n"
                    "im = Image.open('/tmp/line.png')\n"
                    "px = im.convert('RGB').getdata()\n"
                    "print(im.size, im.mode, (255, 0, 0) in set(px), (255, 255, 255) in set(px))",
           "(200, 150, 8, 6)\n(200, 150) RGBA True True\n");
    EXPECT(s,
           "import matplotlib.pyplot as plt\n"
           "fig, ax = plt.subplots()\n"
           "ax.plot([1, 2, 3], [3, 1, 2])\n"
           "ax.set_xlabel('time')\n"
           "fig.savefig('/tmp/f.svg')\n"
           "fig.savefig('/tmp/f.pdf')\n"
           "svg = open('/tmp/f.svg').read()\n"
           "pdf = open('/tmp/f.pdf', 'rb').read()\n"
           "print(svg.startswith('<?xml'), '<svg' in svg, svg.rstrip().endswith('</svg>'))\n"
           "print(pdf[:5], pdf.rstrip().endswith(b'%%EOF'), b'/Subtype /Type3' in pdf)",
           "True True True\nb'%PDF-' True True\n");
    /* contourpy (filled and line contours), Qhull (Delaunay of a unit square: two
    ** triangles), kiwisolver (constrained layout moves the axes off the defaults). */
    EXPECT(s,
           PNG_INFO "import numpy as np, matplotlib.pyplot as plt, matplotlib.tri as mtri\n"
                    "X, Y = np.meshgrid(np.linspace(-2, 2, 40), np.linspace(-2, 2, 40))\n"
                    "fig, ax = plt.subplots(layout='constrained', figsize=(3, 3), dpi=40)\n"
                    "cs = ax.contourf(X, Y, np.exp(-X**2 - Y**2), levels=[0.1, 0.5, 0.9])\n"
                    "ax.contour(X, Y, np.exp(-X**2 - Y**2), levels=[0.5], colors='k')\n"
                    "fig.colorbar(cs)\n"
                    "fig.savefig('/tmp/c.png')\n"
                    "print(png_info('/tmp/c.png'), len(cs.allsegs), [len(s) > 0 for s in cs.allsegs])\n"
                    "t = mtri.Triangulation([0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0])\n"
                    "print(len(t.triangles), sorted(set(t.triangles.ravel().tolist())))\n"
                    "p = ax.get_position()\n"
                    "print(p.x0 > 0 and p.x1 < 1 and (round(p.x0, 3), round(p.x1, 3)) != (0.125, 0.9))",
           "(120, 120, 8, 6) 2 [True, True]\n2 [0, 1, 2, 3]\nTrue\n");
    eryx_sandbox_free(s);
    eryx_builder_free(b);
}

/* pyplot in the snapshot: matplotlib's side modules (with numpy's, contourpy's,
** kiwisolver's and Pillow's) loaded again in every restored instance. */
static void test_preimported_pyplot(void) {
    EXPECT_PREIMPORTED(builder(), "matplotlib.pyplot",
                       PNG_INFO "import sys\nprint('matplotlib.pyplot' in sys.modules)\n"
                                "import matplotlib.pyplot as plt\n"
                                "fig = plt.figure(figsize=(2, 1), dpi=100)\n"
                                "fig.text(0.1, 0.5, 'restored')\n"
                                "fig.savefig('/tmp/r.png')\n"
                                "print(png_info('/tmp/r.png'))",
                       "True\n(200, 100, 8, 6)\n");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_matplotlib NUMPY_PACKAGE MATPLOTLIB_PACKAGE\n");
        return 2;
    }
    numpy_pkg = argv[1];
    mpl_pkg = argv[2];
    test_matplotlib_in_a_sandbox();
    test_preimported_pyplot();
    return check_report("test_matplotlib");
}
