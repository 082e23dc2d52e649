"""check.py: what guest/packages/build.py does after a build, on every run (cached
or not), none of it part of the cache key: the link check of the package's side
modules against the interpreter's export list (linkcheck.py), and with an eryx
binary the package file NAME-VERSION.eryx and the recipe's smoke test in the
sandbox."""
import os
import subprocess
import sys

import crossenv

here = os.path.dirname(os.path.abspath(__file__))
guest = os.path.dirname(here)


def log(msg):
    print(f"[eryx] {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def providers(cpy):
    lib = "/usr/lib/wasm32-wasi"
    return [("libpython", os.path.join(cpy, "wasi-build", "libpython3.13.a")), ("libc", f"{lib}/libc.a"),
            ("libc++", f"{lib}/libc++.a"), ("libc++abi", f"{lib}/libc++abi.a"),
            ("compiler-rt", crossenv.builtins_archive()),
            ("zlib", os.path.join(cpy, "deps", "lib", "libz.a")),    # linked into the interpreter
            ("wasi-emulated-process-clocks", f"{lib}/libwasi-emulated-process-clocks.a")]  # clock()


def link_check(name, out, cpy_key_dir):
    """Every run: the package's side modules against guest/main-exports.txt."""
    exports = os.path.join(guest, "main-exports.txt")
    args = ["/usr/bin/python3", os.path.join(here, "linkcheck.py"), os.path.join(out, name), exports]
    if cpy_key_dir:
        args += [f"{k}={v}" for k, v in providers(cpy_key_dir)]
    res = subprocess.run(args, capture_output=True, text=True)
    with open(os.path.join(out, "link-check.txt.new"), "w") as o:
        o.write(res.stdout)
    os.replace(os.path.join(out, "link-check.txt.new"), os.path.join(out, "link-check.txt"))
    if res.returncode != 0:
        log(f"{name}: link check FAILED: its side modules need symbols guest/main-exports.txt "
            f"does not list ({out}/link-check.txt):")
        print(res.stdout.split("# symbols", 1)[-1], file=sys.stderr)
        return False
    log(f"{name}: link check ok: every symbol its side modules import is exported by the interpreter")
    return True


def smoke(name, r, out, eryx, hosts):
    """NAME-VERSION.eryx next to the tree, then the recipe's smoke test in the sandbox."""
    p = r["package"]
    pkg = os.path.join(out, f"{p['name']}-{p['version']}.eryx")
    if not os.path.isfile(pkg):
        run([eryx, "package", os.path.join(out, name), "--name", p["name"], "--version", p["version"],
             "-o", pkg[:-5] + ".tmp.eryx"], stdout=sys.stderr)      # eryx wants the suffix
        os.replace(pkg[:-5] + ".tmp.eryx", pkg)
    code = r.get("check", {}).get("smoke")
    if not code:
        return True
    cmd = [eryx]
    for hname, d in sorted(hosts.items()):
        cmd += ["--package", d]
    cmd += ["--package", pkg, "-c", open(os.path.join(r["_dir"], code)).read()]
    res = subprocess.run(cmd, capture_output=True, text=True)
    with open(os.path.join(out, "smoke-test.txt"), "w") as o:
        o.write(res.stdout + res.stderr + f"exit={res.returncode}\n")
    print(res.stdout + res.stderr, file=sys.stderr)
    ok = res.returncode == 0 and res.stdout.rstrip().endswith("OK")
    log(f"{name}: smoke test {'ok' if ok else 'FAILED'} ({out}/smoke-test.txt)")
    return ok
