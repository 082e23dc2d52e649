"""Builds eryx._eryx, the C extension, against the eryx library built by CMake.

The library (liberyx.a) and the wasmtime static library come from the CMake
build directory: $ERYX_BUILD_DIR, else ../build next to this folder (the
repository's build/, made by ./build.sh). Nothing else is compiled here.
"""
import os
import re
import sys
from pathlib import Path

from setuptools import Extension, setup

here = Path(__file__).resolve().parent
build_dir = Path(os.environ.get("ERYX_BUILD_DIR") or here.parent / "build").resolve()
cache = build_dir / "CMakeCache.txt"
if not cache.is_file():
    sys.exit(f"eryx: {cache} not found: run ./build.sh first (or set ERYX_BUILD_DIR to a CMake build of eryx)")
m = re.search(r"^ERYX_WASMTIME_DIR:PATH=(.*)$", cache.read_text(), re.M)
if not m:
    sys.exit(f"eryx: {cache} has no ERYX_WASMTIME_DIR: configure the build with ./build.sh")
wasmtime = Path(m.group(1))
liberyx = build_dir / "liberyx.a"
if not liberyx.is_file():
    sys.exit(f"eryx: {liberyx} not found: build it with `cmake --build {build_dir}`")
# The public header: next to this folder in the repository, or $ERYX_SOURCE_DIR
# when building from a copy (python/build-module.sh builds in the build dir).
include = Path(os.environ.get("ERYX_SOURCE_DIR") or here.parent) / "include"
if not (include / "eryx.h").is_file():
    sys.exit(f"eryx: {include}/eryx.h not found: set ERYX_SOURCE_DIR to the eryx repository")

# A sanitizer build (./build.sh asan: ERYX_SANITIZE=ON) instruments the extension as
# well, so python/run-tests-asan.sh covers its C; Python must then preload libasan.
san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"] if re.search(
    r"^ERYX_SANITIZE:BOOL=(ON|1|TRUE)$", cache.read_text(), re.M | re.I) else []
ext = Extension(
    "eryx._eryx",
    sources=["src/_eryx.c", "src/_eryx_pool.c", "src/_eryx_result.c", "src/_eryx_storage.c", "src/_eryx_ship.c"],
    include_dirs=[str(include)],
    extra_compile_args=["-std=c17", "-Wall", "-Wextra", "-Werror", *san],
    extra_objects=[str(liberyx), str(wasmtime / "lib" / "libwasmtime.a")],
    libraries=["zip", "z", "ssl", "crypto", "cares", "xxhash", "zstd", "jansson", "pthread", "dl", "m"],
    # Keep the static libraries' symbols (wasmtime's, eryx's) out of the module's
    # dynamic symbol table: only PyInit__eryx is exported.
    extra_link_args=["-Wl,--exclude-libs,ALL", *san],
)
setup(ext_modules=[ext])
