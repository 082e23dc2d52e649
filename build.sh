#!/usr/bin/env bash
# ./build.sh        installs what eryx needs (Debian packages as root), builds the
#                   engine and the guest (each cached under ~/.cache/eryx by the
#                   hash of its inputs), builds eryx into build/ (and the Python
#                   module into build/venv), and runs Python in the sandbox once
#                   to prove the chain.
# ./build.sh asan   the same build with AddressSanitizer + UndefinedBehaviorSanitizer
#                   into build-asan/, then runs the whole test suite there.
# Always: the numpy, pandas and matplotlib package recipes (guest/packages/, docs/PACKAGES.md),
#                   cached by their inputs, passed to the tests (-DERYX_<NAME>_PACKAGE:
#                   e2e.numpy, e2e.pandas, e2e.matplotlib, the Python module's tests) and
#                   written as build/NAME-VERSION.eryx. Their first build compiles with
#                   ERYX_PACKAGE_JOBS jobs (default: every core): about 8 minutes on 2.
# --with NAME       (repeatable) also builds the opt-in recipe guest/packages/NAME, the
#                   same way (-DERYX_<NAME>_PACKAGE, build/NAME-VERSION.eryx).
set -euo pipefail
top="$(cd "$(dirname "$0")" && pwd)"
cd "$top"
. scripts/lib.sh
mode=release
with=()
while [ $# -gt 0 ]; do
    case "$1" in
        --with) [ $# -ge 2 ] || { echo "usage: ./build.sh [asan] [--with NAME]..." >&2; exit 2; }
                [ -f "guest/packages/$2/recipe.toml" ] || { echo "./build.sh: no recipe guest/packages/$2/recipe.toml" >&2; exit 2; }
                with+=("$2"); shift 2 ;;
        *) mode="$1"; shift ;;
    esac
done

scripts/apt-install.sh cmake ninja-build gcc libc6-dev make pkg-config libssl-dev libxxhash-dev libzstd-dev libedit-dev libjansson-dev libc-ares-dev openssl libzip-dev zlib1g-dev curl clang-format-19 \
    ca-certificates python3 util-linux libclang-rt-19-dev

# rustup installs into ~/.cargo/bin, which a non-login shell may not have on PATH.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "[eryx] cargo not found: the wasmtime library is built from its crate with Rust >= 1.95." >&2
    echo "[eryx] install a Rust toolchain (rustup), then run ./build.sh again." >&2
    exit 1
fi

wasmtime_dir=$(engine/build-wasmtime.sh | tail -n 1)
guest_dir=$(guest/build.sh | tail -n 1)
# requests and httpx with their dependencies, pinned by hash (guest/netpkgs): for e2e.net_guest.
netpkgs_dir=$(guest/netpkgs/build.sh | tail -n 1)
# Package recipes: numpy, pandas and matplotlib always (late-linked, docs/LATE-LINKING.md), then the
# opt-in ones (--with NAME); each one's package tree, as -DERYX_<NAME>_PACKAGE. A dedicated
# build uses every core; the driver alone defaults to one (a shared machine).
export ERYX_PACKAGE_JOBS="${ERYX_PACKAGE_JOBS:-$(nproc)}"
packages=(numpy pandas matplotlib)
for name in ${with[@]+"${with[@]}"}; do
    case " ${packages[*]} " in *" $name "*) ;; *) packages+=("$name") ;; esac
done
pkg_defs=()
declare -A pkg_dirs
for name in "${packages[@]}"; do
    pkg_dirs[$name]=$(guest/packages/build.sh "$name" | tail -n 1)
    pkg_defs+=(-DERYX_$(echo "$name" | tr a-z- A-Z_)_PACKAGE="${pkg_dirs[$name]}")
done

case "$mode" in
    release) bdir=build; extra=() ;;
    asan)    bdir=build-asan; extra=(-DERYX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug) ;;
    *) echo "usage: ./build.sh [asan] [--with NAME]..." >&2; exit 2 ;;
esac
eryx_step "eryx: configure ($bdir)" "$bdir/logs/configure.log" \
    cmake -S . -B "$bdir" -G Ninja -DERYX_WASMTIME_DIR="$wasmtime_dir" -DERYX_GUEST_DIR="$guest_dir" \
    -DERYX_NETPKGS_PACKAGE="$netpkgs_dir" "${pkg_defs[@]}" "${extra[@]}"
eryx_step "eryx: compile ($bdir)" "$bdir/logs/compile.log" cmake --build "$bdir"

if [ "$mode" = asan ]; then
    # wasmtime handles guest faults with its own signal handlers; let it.
    ASAN_OPTIONS=handle_segv=0:handle_sigbus=0:handle_sigfpe=0:detect_leaks=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir "$bdir" --output-on-failure
    exit $?
fi
# The Python module (import eryx) into $bdir/venv: python/build-module.sh.
eryx_step "eryx: python module" "$bdir/logs/python-module.log" python/build-module.sh "$bdir"
# Each package as one eryx package file, for --package (docs/PACKAGES.md); deterministic.
for name in "${packages[@]}"; do
    pkg_version=$(/usr/bin/python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["package"]["version"])' \
        "guest/packages/$name/recipe.toml")
    eryx_step "eryx: $name package" "$bdir/logs/$name-package.log" \
        "$bdir/eryx" package "${pkg_dirs[$name]}" --name "$name" --version "$pkg_version" -o "$bdir/$name-$pkg_version.eryx"
done
echo "[eryx] built $bdir/eryx and the packages' .eryx files in $bdir; running Python in the sandbox:"
"$bdir/eryx" -c 'import sys; print(f"Python {sys.version.split()[0]} on {sys.platform}: 6*7 =", 6*7)'
