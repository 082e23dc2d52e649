#!/usr/bin/env python3
"""guest/packages/build.py NAME [-j N] [--eryx BIN] [--print-key] [--no-link-check]:
builds the package recipe guest/packages/NAME/recipe.toml for the sandbox
(docs/PACKAGES.md, "Adding a package: recipes") and prints, on its last stdout
line, the package tree to give to `eryx --package` / eryx_builder_add_package.

What a recipe build does, in order (each step's output in
$ERYX_CACHE/logs/packages-NAME-KEY/STEP.log):
  fetch    the sdist from PyPI (URL from its JSON API), checked against the recipe's
           sha256; the build tools (pip --require-hashes --only-binary :all: into a
           venv of /usr/bin/python3), pure-Python helpers for the host Python and the
           package's pure-Python runtime wheels (pip download --require-hashes)
           and the recipe's subprojects (native libraries' sources, sha256-pinned)
  unpack   the sdist, the subprojects into it, then patches/*.patch in name order
  setup    the cross environment (crossenv.py) and `meson setup` (backend "meson")
  compile  ninja -j N (default 1: the machine is shared); backend "setuptools": the
           sdist's PEP 517 backend builds a wheel (setuptools_build.py)
  install  `meson install --destdir` with the recipe's install tags, or the wheel
  collect  the package tree: the recipe's top-level names from site-packages, minus
           its excludes, plus the runtime wheels unpacked and the trees of the
           recipes it bundles ([runtime] packages); every extension module must
           be a side module; bytecode compiled (unchecked hashes) by the guest's
           native twin, file times fixed
  report   modules.tsv, side-imports.txt, build-info.txt
Cached under $ERYX_CACHE/packages/NAME/KEY; KEY hashes the recipe directory, this
driver, the shared wasm scripts, the toolchain's versions, the CPython tree's key and
the host packages' outputs. Every run (cached or not) then checks the package's side
modules against the interpreter's export list (linkcheck.py, guest/main-exports.txt):
a symbol the interpreter does not export fails the run and is named, with the archive
that defines it. --eryx BIN also writes NAME-VERSION.eryx next to the tree and runs
the recipe's smoke test in the sandbox with it."""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.parse
import urllib.request
import zipfile

here = os.path.dirname(os.path.abspath(__file__))
guest = os.path.dirname(here)
top = os.path.dirname(guest)
sys.path.insert(0, here)
import check  # noqa: E402
import crossenv  # noqa: E402
import setuptools_build  # noqa: E402

CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "eryx")
# The driver's files that make the outputs (the key covers them); check.py and
# linkcheck.py only judge outputs, so editing them rebuilds nothing.
SHARED = [os.path.join(here, f) for f in ("build.py", "crossenv.py", "setuptools_build.py")] + \
    [os.path.join(guest, "numpy", f) for f in ("wasm-info.py", "wasmbin.py")]
APT = ["clang-19", "lld-19", "llvm-19", "libclang-rt-19-dev-wasm32", "wasi-libc",
       "libc++-19-dev-wasm32", "libc++abi-19-dev-wasm32", "python3-venv", "python3-pip", "patch"]
DEB = ["wasi-libc", "libclang-rt-19-dev-wasm32", "lld-19", "libc++-19-dev-wasm32", "libc++abi-19-dev-wasm32"]


def log(msg):
    print(f"[eryx] {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def out_of(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


class Steps:
    """Runs a step with its output in a log; on failure prints the log's tail and exits."""

    def __init__(self, name, logdir):
        self.name, self.logdir = name, logdir
        os.makedirs(logdir, exist_ok=True)
        self.times = {}

    def __call__(self, step, fn, *args):
        path = os.path.join(self.logdir, step + ".log")
        log(f"{self.name}: {step} started (log: {path})")
        t0 = time.time()
        with open(path, "w") as f:
            saved = sys.stdout, sys.stderr
            sys.stdout = sys.stderr = f
            try:
                res = fn(f, *args)
            except Exception as e:      # noqa: BLE001 -- any failure ends the build
                print(f"FAILED: {e!r}", file=f)
                ok = False
            else:
                ok = True
            finally:
                sys.stdout, sys.stderr = saved
        el = time.time() - t0
        self.times[step] = round(el, 1)
        if not ok:
            log(f"{self.name}: {step} FAILED after {el:.0f}s; last lines of {path}:")
            tail = open(path, errors="replace").read().splitlines()[-40:]
            print("\n".join("    " + l for l in tail), file=sys.stderr)
            sys.exit(1)
        log(f"{self.name}: {step} done in {el:.0f}s")
        return res


def load_recipe(name):
    rdir = os.path.join(here, name)
    path = os.path.join(rdir, "recipe.toml")
    if not os.path.isfile(path):
        sys.exit(f"no recipe {path}: see docs/PACKAGES.md, 'Adding a package: recipes'")
    with open(path, "rb") as f:
        r = tomllib.load(f)
    for sect, keys in (("package", ("name", "version", "sdist", "sha256", "top_level")),
                       ("build", ("backend",))):
        for k in keys:
            if k not in r.get(sect, {}):
                sys.exit(f"{path}: [{sect}] lacks '{k}'")
    if r["package"]["name"] != name:
        sys.exit(f"{path}: [package] name is {r['package']['name']!r}, its directory {name!r}")
    if r["build"]["backend"] not in ("meson", "setuptools"):
        sys.exit(f"{path}: backend {r['build']['backend']!r}: 'meson' or 'setuptools'")
    if r["build"]["backend"] == "meson" and "tools" not in r["build"]:
        sys.exit(f"{path}: [build] lacks 'tools' (meson and ninja, pinned)")
    r["_dir"] = rdir
    return r


def rpath(r, rel):
    return os.path.normpath(os.path.join(r["_dir"], rel))


def recipe_inputs(r):
    """Every file the recipe's build reads from the source tree, sorted."""
    files = []
    for root, _dirs, fs in os.walk(r["_dir"]):
        files += [os.path.join(root, f) for f in fs if not f.endswith(".pyc")]
    b = r["build"]
    for rel in [b.get("tools", ""), b.get("host_python", ""), b.get("patches", "patches"),
                r.get("runtime", {}).get("wheels", "")]:
        if not rel:
            continue
        p = rpath(r, rel)
        if os.path.isdir(p):
            files += [os.path.join(p, f) for f in os.listdir(p)]
        elif os.path.isfile(p):
            files.append(p)
    return sorted(set(files))


def toolchain():
    return (out_of(["clang-19", "--version"]).splitlines()[0] + "; " +
            out_of(["/usr/bin/python3", "--version"]).strip() + "; " +
            out_of(["dpkg-query", "-W", "-f=${Package} ${Version}\n"] + DEB).replace("\n", "; "))


def host_package_dirs(r, jobs, build=True):
    """name -> package tree of each host package (a recipe too, built or reused by a
    run of this driver): the headers, .pxd files and Python trees the build reads.
    build=False: only their keys (as KEY/NAME), building nothing."""
    return recipe_dirs(r["build"].get("host_packages", []), jobs, build)


def recipe_dirs(names, jobs, build=True):
    """name -> package tree of each named recipe, built or reused by a run of this
    driver (host packages, bundled packages, the smoke test's packages)."""
    dirs = {}
    for hname in sorted(names):
        flags = [] if build else ["--print-key"]
        res = subprocess.run([sys.executable, os.path.abspath(__file__), hname, "-j", str(jobs),
                              "--no-link-check"] + flags, check=True, stdout=subprocess.PIPE, text=True)
        last = res.stdout.strip().splitlines()[-1]
        dirs[hname] = last if build else os.path.join(last, hname)
    return dirs


def compute_key(r, tree_key, hosts, bundled):
    h = hashlib.sha256()
    for p in recipe_inputs(r) + SHARED:
        h.update(os.path.relpath(p, top).encode() + b"\0")
        h.update(open(p, "rb").read())
    h.update(toolchain().encode())
    h.update(f"cpython-tree {tree_key}\n".encode())
    for hname, d in sorted(hosts.items()):
        h.update(f"host {hname} {os.path.basename(os.path.dirname(d))}\n".encode())
    for bname, d in sorted(bundled.items()):
        h.update(f"bundle {bname} {os.path.basename(os.path.dirname(d))}\n".encode())
    return h.hexdigest()[:16]


# --- steps -----------------------------------------------------------------------
def fetch_sdist(f, r, dl):
    p = r["package"]
    path = os.path.join(dl, p["sdist"])
    if not os.path.isfile(path) or sha256(path) != p["sha256"]:
        api = f"https://pypi.org/pypi/{p.get('pypi', p['name'])}/json"
        meta = json.load(urllib.request.urlopen(api, timeout=60))
        urls = [urllib.parse.urljoin(api, x["url"]) for x in meta["releases"].get(p["version"], [])
                if x["filename"] == p["sdist"]]
        if not urls:
            raise RuntimeError(f"{p['name']} {p['version']} has no file {p['sdist']} on PyPI")
        print("fetching", urls[0], file=f)
        with urllib.request.urlopen(urls[0], timeout=300) as resp, open(path + ".part", "wb") as o:
            shutil.copyfileobj(resp, o)
        os.replace(path + ".part", path)
    got = sha256(path)
    if got != p["sha256"]:
        os.remove(path)
        raise RuntimeError(f"{p['sdist']} has sha256 {got}, the recipe says {p['sha256']}: refusing to build")
    print("sha256 ok:", got, file=f)
    return path


def fetch_subprojects(f, r, dl):
    """[[build.subprojects]] (url, sha256, dir): sources of native libraries a meson
    build takes from its subprojects/ dir (matplotlib: FreeType, Qhull), fetched from
    the Debian archive or PyPI (the only reachable hosts) and checked."""
    paths = []
    for sp in r["build"].get("subprojects", []):
        path = os.path.join(dl, os.path.basename(urllib.parse.urlparse(sp["url"]).path))
        if not os.path.isfile(path) or sha256(path) != sp["sha256"]:
            print("fetching", sp["url"], file=f)
            with urllib.request.urlopen(sp["url"], timeout=300) as resp, open(path + ".part", "wb") as o:
                shutil.copyfileobj(resp, o)
            os.replace(path + ".part", path)
        got = sha256(path)
        if got != sp["sha256"]:
            os.remove(path)
            raise RuntimeError(f"{sp['url']} has sha256 {got}, the recipe says {sp['sha256']}: refusing to build")
        print("sha256 ok:", os.path.basename(path), got, file=f)
        paths.append(path)
    return paths


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for b in iter(lambda: fh.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def setup_tools(f, r):
    """The build tools venv (Debian's python3), shared by recipes with the same list."""
    req = rpath(r, r["build"]["tools"])
    key = hashlib.sha256(open(req, "rb").read() + out_of(["/usr/bin/python3", "--version"]).encode()).hexdigest()[:16]
    venv = os.path.join(CACHE, "packages", "tools-" + key)
    if os.path.isfile(os.path.join(venv, ".complete")):
        print("reusing", venv, file=f)
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    run(["/usr/bin/python3", "-m", "venv", venv], stdout=f, stderr=f)
    run([venv + "/bin/pip", "install", "--no-cache-dir", "--require-hashes", "--only-binary", ":all:",
         "-r", req], stdout=f, stderr=f)
    open(os.path.join(venv, ".complete"), "w").close()
    return venv


def fetch_wheels(f, req, dest):
    """Pure-Python wheels pinned by hash (pip download --require-hashes), for 3.13."""
    os.makedirs(dest, exist_ok=True)
    run(["/usr/bin/python3", "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
         "--require-hashes", "--no-deps", "--only-binary=:all:", "--python-version", "3.13",
         "--implementation", "py", "--abi", "none", "--platform", "any", "-r", req, "-d", dest],
        stdout=f, stderr=f)
    whls = sorted(os.path.join(dest, w) for w in os.listdir(dest) if w.endswith(".whl"))
    want = sum(1 for l in open(req) if l[:1].isalpha())
    bad = [w for w in whls if not w.endswith("-none-any.whl")]
    if bad or len(whls) != want:
        raise RuntimeError(f"{req}: {len(whls)} wheels for {want} pins; not pure Python: {bad}")
    return whls


def unpack_wheels(whls, dest):
    for w in whls:
        with zipfile.ZipFile(w) as z:
            z.extractall(dest)
        print("unpacked", os.path.basename(w))


def unpack(f, r, sdist, work, subs):
    run(["tar", "xzf", sdist, "-C", work], stdout=f, stderr=f)
    src = os.path.join(work, r["package"].get("srcdir", f"{r['package']['name']}-{r['package']['version']}"))
    for sp, archive in zip(r["build"].get("subprojects", []), subs):
        # the archive's one top-level dir becomes subprojects/DIR (the name the
        # package's meson.build or wrap file asks for); `overlay` files (the
        # package's own meson.build for it, from subprojects/packagefiles) on top
        tmp = os.path.join(work, "sub-unpack")
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        run(["tar", "xf", archive, "-C", tmp], stdout=f, stderr=f)
        tops = os.listdir(tmp)
        if len(tops) != 1:
            raise RuntimeError(f"{archive}: expected one top-level dir, found {tops}")
        dest = os.path.join(src, "subprojects", sp["dir"])
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.rename(os.path.join(tmp, tops[0]), dest)
        if sp.get("overlay"):
            shutil.copytree(os.path.join(src, sp["overlay"]), dest, dirs_exist_ok=True)
        print("subproject", os.path.basename(archive), "->", os.path.relpath(dest, src),
              "overlay " + sp["overlay"] if sp.get("overlay") else "", file=f)
        os.rmdir(tmp)
    pdir = rpath(r, r["build"].get("patches", "patches"))
    for p in sorted(os.listdir(pdir)) if os.path.isdir(pdir) else []:
        if p.endswith(".patch"):
            print("applying", p, file=f, flush=True)
            with open(os.path.join(pdir, p)) as pf:
                run(["patch", "-p1", "-d", src], stdin=pf, stdout=f, stderr=f)
    return src


def host_shims(work, hosts):
    """Modules the host Python imports at configure time in place of the wasm32 ones:
    numpy.get_include() (what numpy-using meson files ask) from numpy's output."""
    shim = os.path.join(work, "host-shims")
    if "numpy" in hosts:
        inc = os.path.join(hosts["numpy"], "numpy", "_core", "include")
        if not os.path.isdir(inc):
            raise RuntimeError(f"numpy's output {hosts['numpy']} has no {inc}")
        os.makedirs(os.path.join(shim, "numpy"), exist_ok=True)
        with open(os.path.join(shim, "numpy", "__init__.py"), "w") as fh:
            fh.write("# generated by guest/packages/build.py: the wasm32-wasi numpy's headers\n"
                     f"def get_include():\n    return {inc!r}\n")
    return shim


def setup(f, r, ctx):
    work, cpy = ctx["work"], ctx["cpy"]
    os.makedirs(os.path.join(work, "bin"), exist_ok=True)
    sysroot = crossenv.make_sysroot(work)
    pyinc = crossenv.make_python_include(work, cpy)
    crossenv.make_host_python(work, cpy, ctx["native"], pyinc, [ctx["shims"], ctx["hostpy"]])
    crossenv.make_compilers(work, sysroot)
    b = r["build"]
    if b["backend"] == "setuptools":
        ctx["meson_opts"] = []
        return
    crossenv.make_cython(work, ctx["venv"], [d for _, d in sorted(ctx["hosts"].items())])
    cross = crossenv.write_cross_file(work, ctx["venv"], b.get("c_args", []), b.get("cpp_args", []),
                                      b.get("cross_properties", {}),
                                      crossenv.make_pybind11_config(work, ctx["venv"]))
    sp = "/usr/local/lib/python3.13/site-packages"
    # python.bytecompile=-1: sources only (build-time mtimes would make .pyc differ);
    # the collect step compiles them for the sandbox. nodownload: subprojects come
    # from the sdist, never from the network.
    opts = ["--prefix=/usr/local", "--buildtype=plain", "-Db_ndebug=true", "-Dpython.bytecompile=-1",
            f"-Dpython.platlibdir={sp}", f"-Dpython.purelibdir={sp}", "--wrap-mode=nodownload"] + b.get("options", [])
    ctx["meson_opts"] = opts
    run(ctx["meson"] + ["setup", ctx["bld"], ctx["src"], "--cross-file", cross] + opts, stdout=f, stderr=f,
        env=ctx["env"])


def compile_(f, r, ctx):
    if r["build"]["backend"] == "setuptools":
        return setuptools_build.compile_(f, r, ctx)
    run(["ninja", "-C", ctx["bld"], f"-j{ctx['jobs']}"], stdout=f, stderr=f, env=ctx["env"])


def install(f, r, ctx):
    if r["build"]["backend"] == "setuptools":
        return setuptools_build.install(f, ctx)
    tags = r["build"].get("install_tags", "runtime,python-runtime")
    cmd = ctx["meson"] + ["install", "-C", ctx["bld"], "--no-rebuild", "--destdir", ctx["stage"]]
    if tags:
        cmd += ["--tags", tags]
    run(cmd, stdout=f, stderr=f, env=ctx["env"])


def extension_files(tree):
    """Every file under tree that is WebAssembly and named like an extension module."""
    found = []
    for root, _dirs, files in os.walk(tree):
        for x in files:
            p = os.path.join(root, x)
            if x.endswith(".so") and open(p, "rb").read(4) == b"\0asm":
                found.append(p)
    return sorted(found)


def collect(f, r, ctx, tmp):
    """The package tree: the recipe's top-level names, minus excludes, plus the
    runtime wheels; bytecode for /packages/NAME."""
    p = r["package"]
    sp = os.path.join(ctx["stage"], "usr/local/lib/python3.13/site-packages")
    tree = os.path.join(tmp, p["name"])
    os.makedirs(tree)
    for t in p["top_level"]:
        src = os.path.join(sp, t)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(tree, t), symlinks=True)
        else:
            shutil.copy2(src, tree)
    for ex in p.get("exclude", []):
        shutil.rmtree(os.path.join(tree, ex), ignore_errors=False)
        print("excluded", ex, file=f)
    exts = extension_files(tree)
    native_so = [os.path.relpath(os.path.join(d, x), tree) for d, _, xs in os.walk(tree) for x in xs
                 if x.endswith(".so") and os.path.join(d, x) not in exts]
    if native_so:
        raise RuntimeError(f"extension files that are not WebAssembly: {native_so}")
    if ctx["wheels"]:
        unpack_wheels(ctx["wheels"], tree)
    for bname, bdir in sorted(ctx["bundled"].items()):
        # another recipe's tree, bundled: its files join this one's (recompiled below
        # for this mount point); its side modules are this package's now
        for x in sorted(os.listdir(bdir)):
            if os.path.exists(os.path.join(tree, x)):
                raise RuntimeError(f"bundled package {bname} has {x}, which the tree already has")
            shutil.copytree(os.path.join(bdir, x), os.path.join(tree, x), symlinks=True) \
                if os.path.isdir(os.path.join(bdir, x)) else shutil.copy2(os.path.join(bdir, x), tree)
        print("bundled", bname, bdir, file=f)
    exts = extension_files(tree)
    for d, dirs, _ in os.walk(tree):
        if "__pycache__" in dirs:
            shutil.rmtree(os.path.join(d, "__pycache__"))
    # The guest's native twin (same bytecode as the guest), unchecked hashes: the
    # package image has fixed timestamps; paths as the sandbox mounts them.
    run([ctx["native"], "-m", "compileall", "-q", "-j0", "--invalidation-mode", "unchecked-hash",
         "-s", tree, "-p", f"/packages/{p['name']}", tree], stdout=f, stderr=f)
    run(["find", tree, "-exec", "touch", "-h", "-d", "1980-01-01 00:00:00Z", "{}", "+"])
    with open(os.path.join(tmp, "modules.tsv"), "w") as o:
        o.write("# extension module\tbytes\n")
        for e in exts:
            o.write(f"{os.path.relpath(e, tree)}\t{os.path.getsize(e)}\n")
    print(f"{len(exts)} extension modules", file=f)
    imp = out_of(["/usr/bin/python3", os.path.join(guest, "numpy", "wasm-info.py"), "--summary"] + exts)
    with open(os.path.join(tmp, "side-imports.txt"), "w") as o:
        o.write(imp.replace(tree + "/", ""))
    return exts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("name")
    ap.add_argument("-j", "--jobs", type=int, default=int(os.environ.get("ERYX_PACKAGE_JOBS", "1")))
    ap.add_argument("--eryx", help="an eryx binary: write NAME-VERSION.eryx and run the smoke test")
    ap.add_argument("--print-key", action="store_true")
    ap.add_argument("--no-link-check", action="store_true")
    a = ap.parse_args()
    r = load_recipe(a.name)
    run([os.path.join(top, "scripts", "apt-install.sh")] + APT, stdout=sys.stderr)
    tree_key = out_of([os.path.join(guest, "cpython-tree.sh"), "--key"]).strip()
    bundle_names = r.get("runtime", {}).get("packages", [])
    key = compute_key(r, tree_key, host_package_dirs(r, a.jobs, build=False),
                      recipe_dirs(bundle_names, a.jobs, build=False))
    if a.print_key:
        print(key)
        return
    hosts = host_package_dirs(r, a.jobs)
    bundled = recipe_dirs(bundle_names, a.jobs)
    base = os.path.join(CACHE, "packages", a.name)
    out = os.path.join(base, key)
    os.makedirs(base, exist_ok=True)
    if not os.path.isfile(os.path.join(out, "build-info.txt")):
        import fcntl
        lockf = open(os.path.join(base, "build.lock"), "w")
        try:
            fcntl.flock(lockf, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"{a.name}: waiting for another build holding {base}/build.lock")
            fcntl.flock(lockf, fcntl.LOCK_EX)
        if not os.path.isfile(os.path.join(out, "build-info.txt")):
            build(a, r, key, tree_key, hosts, bundled, base, out)
    else:
        log(f"{a.name}: reusing cached build {out} (key {key})")
    cpy = None
    if not a.no_link_check:
        cpy = os.path.join(CACHE, "guest-tree", tree_key)
        if not os.path.isdir(cpy):
            cpy = None
        if not check.link_check(a.name, out, cpy):
            sys.exit(1)
    # the smoke test's sandbox: the host packages and the recipe's [check] packages
    # (matplotlib: numpy, which it needs at run time but not to build)
    if a.eryx and not check.smoke(a.name, r, out, a.eryx,
                                  {**hosts, **recipe_dirs(r.get("check", {}).get("packages", []), a.jobs)}):
        sys.exit(1)
    print(os.path.join(out, a.name))


def build(a, r, key, tree_key, hosts, bundled, base, out):
    t0 = time.time()
    p = r["package"]
    steps = Steps(p["name"], os.path.join(CACHE, "logs", f"packages-{p['name']}-{key}"))
    # One work dir per package name (not per key): build paths end up in the outputs
    # (Cython's .pyx paths), and a key-named dir would make the bytes depend on the key.
    work = os.path.join(base, "work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    log(f"{p['name']}: building {p['name']} {p['version']}, key {key} in {work}")
    cpy = out_of([os.path.join(guest, "cpython-tree.sh")]).strip().splitlines()[-1]
    native = open(os.path.join(cpy, "build-python.path")).read().strip()
    dl = os.path.join(CACHE, "packages", "dl")
    os.makedirs(dl, exist_ok=True)
    sdist = steps("fetch-sdist", fetch_sdist, r, dl)
    subs = steps("fetch-subprojects", fetch_subprojects, r, dl) if r["build"].get("subprojects") else []
    venv = steps("tools", setup_tools, r) if r["build"].get("tools") else None
    hostpy = os.path.join(work, "host-python")
    hp = r["build"].get("host_python")
    if hp:
        steps("host-python", lambda f: unpack_wheels(fetch_wheels(f, rpath(r, hp), os.path.join(work, "hp-wheels")), hostpy))
    wheels = []
    rw = r.get("runtime", {}).get("wheels")
    if rw:
        wheels = steps("runtime-wheels", fetch_wheels, rpath(r, rw), os.path.join(work, "wheels"))
    src = steps("unpack", unpack, r, sdist, work, subs)
    b = r["build"]
    meson = None
    if b["backend"] == "meson":
        meson = [venv + "/bin/python", os.path.join(src, b["meson"])] if b.get("meson") else [venv + "/bin/meson"]
    # work/bin first: meson takes Cython as a build-machine tool from PATH (the cross
    # file's entry is not used), and work/bin/cython adds the host packages' .pxd dirs.
    env = dict(os.environ, PATH=":".join([os.path.join(work, "bin")] + ([venv + "/bin"] if venv else []) +
                                         [os.environ["PATH"]]))
    ctx = dict(work=work, cpy=cpy, native=native, venv=venv, src=src, bld=os.path.join(work, "build"),
               stage=os.path.join(work, "stage"), meson=meson, env=env, jobs=a.jobs, wheels=wheels,
               hostpy=hostpy, shims=host_shims(work, hosts), hosts=hosts, bundled=bundled)
    steps("setup", setup, r, ctx)
    steps("compile", compile_, r, ctx)
    steps("install", install, r, ctx)
    tmp = f"{out}.tmp.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    exts = steps("collect", collect, r, ctx, tmp)
    tree = os.path.join(tmp, p["name"])
    size = sum(os.path.getsize(os.path.join(d, x)) for d, _, xs in os.walk(tree) for x in xs)
    files = sum(len(xs) for _, _, xs in os.walk(tree))
    info = {
        "key": key, "package": f"{p['name']} {p['version']} {p['sdist']} sha256={p['sha256']}",
        "toolchain": toolchain(), "cpython_tree": cpy, "host_packages": " ".join(f"{k}={v}" for k, v in sorted(hosts.items())),
        "wasm_cflags": " ".join(crossenv.WCFLAGS), "side_ldflags": " ".join(crossenv.side_ldflags()),
        "backend": b["backend"], "meson_options": " ".join(ctx["meson_opts"]),
        "config_settings": json.dumps(b.get("config_settings", {}), sort_keys=True), "jobs": a.jobs,
        "subprojects": " ".join(os.path.basename(x) for x in subs),
        "bundled": " ".join(f"{k}={v}" for k, v in sorted(bundled.items())),
        "patches": " ".join(sorted(x for x in os.listdir(rpath(r, b.get("patches", "patches"))) if x.endswith(".patch"))
                            if os.path.isdir(rpath(r, b.get("patches", "patches"))) else []),
        "wheels": " ".join(os.path.basename(w) for w in wheels),
        "extension_modules": len(exts), "side_bytes": sum(os.path.getsize(e) for e in exts),
        "tree_bytes": size, "tree_files": files,
        "step_seconds": " ".join(f"{k}={v}" for k, v in steps.times.items()),
        "build_seconds": round(time.time() - t0),
    }
    with open(os.path.join(tmp, "build-info.txt"), "w") as o:
        for k, v in info.items():
            o.write(f"{k}={v}\n")
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    shutil.rmtree(work)     # kept only when a step fails, for its logs and objects
    log(f"{p['name']}: built in {info['build_seconds']}s -> {out}")


if __name__ == "__main__":
    main()
