"""The guest interpreter as built for speed (guest/speed.conf, guest/stdlib-patches/):
results equal to native CPython's where eryx changed CPython's code or build."""
import json

import eryx

# sum()'s int fast path, widened to 64 bits on wasm32 (sum-int64-fast-path.patch):
# each case crosses one of the boundaries (2**31, 2**63, mixed types, bools, a
# start value that already overflows), and must give exactly what native CPython does.
SUM_CASES = [
    "sum(range(10**6))",
    "sum([2**31 - 1, 1])",
    "sum([-2**31, -1])",
    "sum([2**62, 2**62])",
    "sum([2**63 - 1, 1])",
    "sum([-2**63, -1])",
    "sum([2**62, 2**62, -2**62])",
    "sum([2**40] * 1000, 2**70)",
    "sum([True, 2**40, False, 3])",
    "sum([2**40, 1.5, 2])",
    "sum([1, 2**100, -2**100])",
    "sum((i * i for i in range(100000)), -10**12)",
]


def test_sum_fast_path_matches_native():
    code = "import json\nprint(json.dumps([repr(%s) for _ in [0]]))"
    guest = [json.loads(eryx.Sandbox().execute(code % c).stdout_text)[0] for c in SUM_CASES]
    native = [repr(eval(c)) for c in SUM_CASES]
    assert guest == native


def test_pymalloc_setting_matches_the_build():
    # speed.conf's PYMALLOC is what the guest's sysconfig reports, and the
    # allocator works under the sandbox's memory limit (a MemoryError, not a trap)
    import pathlib
    conf = (pathlib.Path(__file__).resolve().parents[2] / "guest" / "speed.conf").read_text()
    want = 1 if "\nPYMALLOC=yes" in "\n" + conf else 0
    r = eryx.Sandbox().execute("import sysconfig\nprint(sysconfig.get_config_var('WITH_PYMALLOC') or 0)")
    assert int(r.stdout_text) == want
    sb = eryx.Sandbox(resource_limits=eryx.ResourceLimits(max_memory_bytes=64 << 20))
    r = sb.execute("x = []\ntry:\n    while True: x.append(object())\nexcept MemoryError:\n    print('memoryerror', len(x) > 10000)")
    assert r.stdout_text == "memoryerror True\n"
