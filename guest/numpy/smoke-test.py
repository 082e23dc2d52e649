#!/usr/bin/env python3
"""smoke-test.py [--side] NUMPY_OUT CPYTHON_TREE [CODE]: runs NUMPY_OUT/python-numpy.wasm
(the route (a) link made by link-check.sh: CPython with every numpy module built in),
or with --side NUMPY_OUT/python-main.wasm (route (b): the main module whose inittab
loads NUMPY_OUT/side/*.so through the host import eryx_dl.load, implemented here)
under wasmtime's Python bindings (PyPI `wasmtime`), with the CPython source tree's
Lib/ as the stdlib and NUMPY_OUT/site-packages on sys.path, and runs CODE
(default: a short numpy exercise touching core, linalg, fft and random).
Prints the guest's output; exit status is the guest's."""
import os
import sys
import os as _os
sys.path.insert(0, _os.path.dirname(_os.path.abspath(__file__)))
from wasmbin import leb  # noqa: E402
import time

import wasmtime

DEFAULT = r"""
import sys, numpy as np
print("numpy", np.__version__, "on", sys.platform)
a = np.arange(12, dtype=np.float64).reshape(3, 4)
print("sum", a.sum(), "mean", a.mean(axis=0).tolist())
m = np.array([[4.0, 1.0], [2.0, 3.0]])
print("inv", np.linalg.inv(m).round(4).tolist(), "det", round(float(np.linalg.det(m)), 6))
print("eigvals", sorted(np.linalg.eigvals(m).real.round(6).tolist()))
print("solve", np.linalg.solve(m, [1.0, 2.0]).round(6).tolist())
print("fft", np.fft.fft([1.0, 0.0, 0.0, 0.0]).real.tolist())
rng = np.random.default_rng(42)
print("random", rng.integers(0, 100, 5).tolist(), round(float(rng.standard_normal()), 6))
np.random.seed(1)
print("legacy random", np.random.binomial(10, 0.5, 3).tolist(), np.random.poisson(3.0, 3).tolist())
print("sort", np.sort(np.array([3, 1, 2])).tolist(), "str", np.array(["b", "a"]).astype("U").tolist())
print("OK")
"""


def dylink_mem_info(data):
    """(memsize, memalign log2, tablesize, tablealign) from the dylink.0 section."""
    i = 8
    while i < len(data):
        sid = data[i]; i += 1
        n, i = leb(data, i)
        body, i = data[i:i + n], i + n
        if sid != 0:
            continue
        nl, j = leb(body, 0)
        if body[j:j + nl] != b"dylink.0":
            continue
        j += nl
        while j < len(body):
            kind = body[j]; j += 1
            ln, j = leb(body, j)
            if kind == 1:
                vals, k = [], j
                for _ in range(4):
                    v, k = leb(body, k); vals.append(v)
                return tuple(vals)
            j += ln
    raise ValueError("no dylink.0 memory info")


class SideLoader:
    """The host half of route (b): implements the main module's import
    eryx_dl.load(mod, mod_len, sym, sym_len) -> table index of `sym` in the side
    module OUT/side/<mod>.so, loading it on first use (the dynamic-linking ABI
    of wasm-ld's --experimental-pic: memory and table from the main module, data
    placed at __memory_base = aligned_alloc(), table slots at __table_base = grown
    table, env.* functions and GOT.mem/GOT.func entries from the main's exports)."""

    def __init__(self, engine, side_dir):
        self.engine, self.side_dir, self.loaded = engine, side_dir, {}
        self.log = []

    def _str(self, caller, mem, ptr, n):
        return bytes(mem.read(caller, ptr, ptr + n)).decode()

    def load(self, caller, mod_p, mod_n, sym_p, sym_n):
        mem = caller["memory"]
        mod, sym = self._str(caller, mem, mod_p, mod_n), self._str(caller, mem, sym_p, sym_n)
        table = caller["__indirect_function_table"]
        try:
            inst = self.loaded.get(mod) or self._instantiate(caller, mod, mem, table)
        except Exception as e:  # reported to the guest as a failed load
            print(f"[side] {mod}: {e}", file=sys.stderr)
            return -1
        f = inst.exports(caller)[sym]
        return table.grow(caller, 1, f)

    def _instantiate(self, caller, mod, mem, table):
        t0 = time.time()
        path = os.path.join(self.side_dir, mod + ".so")
        data = open(path, "rb").read()
        module = wasmtime.Module(self.engine, data)
        memsize, memalign, tablesize, _ = dylink_mem_info(data)
        i32 = wasmtime.ValType.i32()
        mem_base = 0
        if memsize:
            mem_base = caller["aligned_alloc"](caller, max(1 << memalign, 16), memsize)
            mem.write(caller, bytes(memsize), mem_base)
        table_base = table.grow(caller, tablesize, None) if tablesize else table.size(caller)
        imports = []
        for imp in module.imports:
            m, name = imp.module, imp.name
            if m == "env" and name == "memory":
                imports.append(mem)
            elif m == "env" and name == "__indirect_function_table":
                imports.append(table)
            elif m == "env" and name == "__memory_base":
                imports.append(wasmtime.Global(caller, wasmtime.GlobalType(i32, False), wasmtime.Val.i32(mem_base)))
            elif m == "env" and name == "__table_base":
                imports.append(wasmtime.Global(caller, wasmtime.GlobalType(i32, False), wasmtime.Val.i32(table_base)))
            elif m == "env":
                imports.append(caller[name])           # __stack_pointer and functions
            elif m == "GOT.mem":
                addr = caller[name].value(caller)
                imports.append(wasmtime.Global(caller, wasmtime.GlobalType(i32, True), wasmtime.Val.i32(addr)))
            elif m == "GOT.func":
                idx = table.grow(caller, 1, caller[name])
                imports.append(wasmtime.Global(caller, wasmtime.GlobalType(i32, True), wasmtime.Val.i32(idx)))
            else:
                raise ValueError(f"unexpected import {m}.{name}")
        inst = wasmtime.Instance(caller, module, imports)
        ex = inst.exports(caller)
        for init in ("__wasm_apply_data_relocs", "__wasm_call_ctors"):
            if init in ex:
                ex[init](caller)
        self.loaded[mod] = inst
        self.log.append(f"{mod}: {len(data)} bytes, memory {memsize} at {mem_base}, "
                        f"table {tablesize} at {table_base}, {len(module.imports)} imports, "
                        f"{time.time() - t0:.2f}s")
        return inst


def main():
    args = sys.argv[1:]
    side = args and args[0] == "--side"
    if side:
        args = args[1:]
    out, cpy = args[0], args[1]
    code = args[2] if len(args) > 2 else DEFAULT
    wasm = os.path.join(out, "python-main.wasm" if side else "python-numpy.wasm")
    engine = wasmtime.Engine()
    t0 = time.time()
    module = wasmtime.Module.from_file(engine, wasm)
    t1 = time.time()
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    loader = None
    if side:
        loader = SideLoader(engine, os.path.join(out, "side"))
        i32 = wasmtime.ValType.i32()
        linker.define_func("eryx_dl", "load", wasmtime.FuncType([i32] * 4, [i32]),
                           loader.load, access_caller=True)
    store = wasmtime.Store(engine)
    cfg = wasmtime.WasiConfig()
    cfg.argv = ["python", "-c", code]
    builddir = open(os.path.join(cpy, "wasi-build", "pybuilddir.txt")).read().strip()
    cfg.env = [("PYTHONHOME", "/usr/local"),
               ("PYTHONPATH", "/site-packages:/usr/local/lib/python3.13/" + builddir),
               ("PYTHONDONTWRITEBYTECODE", "1")]
    cfg.preopen_dir(os.path.join(cpy, "src", "Lib"), "/usr/local/lib/python3.13")
    cfg.preopen_dir(os.path.join(cpy, "wasi-build", builddir), "/usr/local/lib/python3.13/" + builddir)
    cfg.preopen_dir(os.path.join(out, "site-packages"), "/site-packages")
    cfg.inherit_stdout()
    cfg.inherit_stderr()
    store.set_wasi(cfg)
    inst = linker.instantiate(store, module)
    rc = 0
    try:
        if side:                  # a reactor: _initialize, then main() via eryx_run
            inst.exports(store)["_initialize"](store)
            rc = inst.exports(store)["eryx_run"](store)
        else:
            inst.exports(store)["_start"](store)
    except wasmtime.ExitTrap as e:
        rc = e.code
    t2 = time.time()
    if loader:
        for line in loader.log:
            print(f"[side] loaded {line}", file=sys.stderr)
    print(f"[smoke] compile {t1 - t0:.1f}s, run {t2 - t1:.1f}s, exit {rc}", file=sys.stderr)
    sys.exit(rc)


if __name__ == "__main__":
    main()
