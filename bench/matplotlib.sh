#!/usr/bin/env bash
# bench/matplotlib.sh REPS NATIVE_SITE: `import matplotlib.pyplot` (and a savefig) in
# the sandbox against native matplotlib, whole processes, interleaved per repetition
# (native; eryx without pre-init; eryx with `--import matplotlib.pyplot`), the load
# average printed before and after. NATIVE_SITE holds the cp313 manylinux wheels of
# matplotlib 3.10.9, contourpy 1.3.3, kiwisolver 1.4.9, Pillow 12.0.0, numpy 2.2.6,
# fonttools 4.60.1 and the pure-Python dependencies, unpacked (docs/PACKAGES.md,
# "matplotlib: figures", says how it was made); the native Python is the guest's
# native twin (CPython 3.13.5 from the same source). The native side keeps its font
# cache in a config dir made once; a sandbox's /tmp starts empty, so without
# pre-init every run builds matplotlib's font cache again (with --import it is in
# the snapshot). Prints one line per case: median and min of REPS runs (seconds,
# /usr/bin/time %e). Needs build/eryx and the numpy and matplotlib recipes built.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
reps="${1:-5}" site="$2"
native=$(cat "$("$top/guest/cpython-tree.sh" | tail -n 1)/build-python.path")
np=$("$top/guest/packages/build.sh" numpy 2>/dev/null | tail -n 1)
mpl=$("$top/guest/packages/build.sh" matplotlib 2>/dev/null | tail -n 1)
eryx="$top/build/eryx"
cfg=$(mktemp -d)
code_import='import matplotlib.pyplot'
code_plot='import matplotlib.pyplot as plt
fig, ax = plt.subplots(); ax.plot([1, 3, 2]); ax.set_title("t"); fig.savefig("/tmp/b.png")'
declare -A runs
t() { /usr/bin/time -f "%e" "$@" 2>&1 >/dev/null | tail -n 1; }
"$native" -m compileall -q -j0 "$site" >/dev/null 2>&1 || true
MPLCONFIGDIR="$cfg" PYTHONPATH="$site" "$native" -c "$code_import"        # the font cache, once
"$eryx" --package "$np" --package "$mpl" --import matplotlib.pyplot -c pass >/dev/null 2>&1   # the snapshot, once
echo "load before: $(cat /proc/loadavg)"
for i in $(seq "$reps"); do
    runs[native]+="$(t env MPLCONFIGDIR="$cfg" PYTHONPATH="$site" "$native" -c "$code_import") "
    runs[eryx]+="$(t "$eryx" --package "$np" --package "$mpl" -c "$code_import") "
    runs[eryx_import]+="$(t "$eryx" --package "$np" --package "$mpl" --import matplotlib.pyplot -c "$code_import") "
    runs[native_plot]+="$(t env MPLCONFIGDIR="$cfg" PYTHONPATH="$site" "$native" -c "$code_plot") "
    runs[eryx_import_plot]+="$(t "$eryx" --package "$np" --package "$mpl" --import matplotlib.pyplot -c "$code_plot") "
done
echo "load after: $(cat /proc/loadavg)"
for k in native eryx eryx_import native_plot eryx_import_plot; do
    echo "$k: $(echo ${runs[$k]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {printf "median %s min %s (n=%d)", a[int((NR+1)/2)], a[1], NR}')"
done
rm -rf "$cfg"
