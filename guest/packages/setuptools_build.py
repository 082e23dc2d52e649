"""setuptools_build.py: the recipe backend for packages built with setuptools
(`backend = "setuptools"`: kiwisolver, Pillow), used by build.py. The sdist's own
PEP 517 backend (pyproject.toml's build-system, backend-path included) builds a
wheel, run by bin/python3-wasi: the guest's native twin answering sysconfig for
wasm32-wasi, so the extension suffix, include dirs and platform are the
sandbox's, with the recipe's host-python wheels (setuptools, ...) on its path and
no build isolation (nothing is fetched during the build). The compilers come from
the environment (crossenv.setuptools_env: bin/wasm-cc, bin/wasm-c++, which link
extension modules as side modules). The wheel is then unpacked where meson's
install would have put the files, for build.py's collect step."""
import glob
import json
import os
import subprocess
import zipfile

import crossenv

# Runs in bin/python3-wasi (CPython 3.13): argv = srcdir, wheel dir, config settings
# (JSON). What pip does without isolation, minus pip.
PEP517 = r"""
import importlib, json, os, sys, tomllib
src, out, settings = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
os.chdir(src)
bs = tomllib.load(open("pyproject.toml", "rb")).get("build-system", {})
name = bs.get("build-backend", "setuptools.build_meta:__legacy__")
sys.path[:0] = [os.path.join(src, p) for p in bs.get("backend-path", [])]
mod, _, obj = name.partition(":")
backend = importlib.import_module(mod)
for part in filter(None, obj.split(".")):
    backend = getattr(backend, part)
print("built", backend.build_wheel(out, settings or None), flush=True)
"""


def env_for(r, ctx):
    b = r["build"]
    env = dict(ctx["env"])
    env.update(crossenv.setuptools_env(ctx["work"], ctx["cpy"], b.get("c_args", []), b.get("cpp_args", [])))
    # pybind11's ParallelCompile (Pillow's setup.py) reads the job count from here
    env["MAX_CONCURRENCY"] = str(ctx["jobs"])
    env["SOURCE_DATE_EPOCH"] = "315532800"    # 1980-01-01: the wheel's member times
    return env


def compile_(f, r, ctx):
    wheels = os.path.join(ctx["work"], "dist")
    os.makedirs(wheels, exist_ok=True)
    settings = r["build"].get("config_settings", {})
    subprocess.run([os.path.join(ctx["work"], "bin", "python3-wasi"), "-c", PEP517, ctx["src"], wheels,
                    json.dumps(settings)], check=True, stdout=f, stderr=f, env=env_for(r, ctx))


def install(f, ctx):
    """The wheel's files into the stage's site-packages (a wheel has no scripts or
    headers here that the package tree would keep)."""
    whl = glob.glob(os.path.join(ctx["work"], "dist", "*.whl"))
    if len(whl) != 1:
        raise RuntimeError(f"expected one wheel in {ctx['work']}/dist, found {whl}")
    sp = os.path.join(ctx["stage"], "usr/local/lib/python3.13/site-packages")
    os.makedirs(sp, exist_ok=True)
    with zipfile.ZipFile(whl[0]) as z:
        z.extractall(sp)
    print("unpacked", os.path.basename(whl[0]), "into", sp, file=f)
