"""Shipping the compiled interpreter from Python (SandboxFactory._export_module /
_install_module over eryx_builder_export_module / _import_module; eryx.ray's use
of them is test_ray.py's) and the process counters (eryx._factory.process_counters)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import eryx
from eryx._factory import SandboxFactory, process_counters

KEY = b"test-module-ship-key-0123456789abcdef"


@pytest.fixture(scope="module")
def shipped() -> tuple[SandboxFactory, bytes]:
    factory = SandboxFactory(imports=["json"], state_key=KEY)
    return factory, factory._export_module()


def test_counters_are_counts() -> None:
    c = process_counters()
    assert set(c) == {"modules_compiled", "modules_shipped", "start_states_made"}
    assert all(isinstance(v, int) and v >= 0 for v in c.values())


def test_export_is_a_signed_module_blob(shipped: tuple[SandboxFactory, bytes]) -> None:
    _, blob = shipped
    assert blob[:8] == b"ERYXMOD1" and len(blob) > 1_000_000
    # this process has it already (the factory's sandboxes run on it)
    assert SandboxFactory._install_module(blob, state_key=KEY) == "present"


def test_refused_blobs(shipped: tuple[SandboxFactory, bytes]) -> None:
    _, blob = shipped
    bad = bytearray(blob)
    bad[len(bad) // 2] ^= 1
    with pytest.raises(ValueError, match="failed authentication"):
        SandboxFactory._install_module(bytes(bad), state_key=KEY)
    with pytest.raises(ValueError, match="failed authentication"):
        SandboxFactory._install_module(blob, state_key=b"another-key-0123456789abcdef-0123456")
    with pytest.raises(ValueError, match="ERYXMOD1"):
        SandboxFactory._install_module(b"not a module", state_key=KEY)
    with pytest.raises(ValueError, match="at least 32 bytes"):
        SandboxFactory._install_module(blob, state_key=b"short")


CHILD = r"""
import json, sys
from eryx._factory import SandboxFactory, process_counters
key = sys.argv[1].encode()
how = SandboxFactory._install_module(open(sys.argv[2], "rb").read(), state_key=key)
factory = SandboxFactory.from_bytes(open(sys.argv[3], "rb").read(), state_key=key)
out = factory.create_sandbox().execute("print(json.dumps([6 * 7]))").stdout
print(json.dumps({"how": how, "out": out.decode(), "counters": process_counters()}))
"""


def test_cold_cache_installs_instead_of_compiling(shipped: tuple[SandboxFactory, bytes], tmp_path) -> None:
    factory, blob = shipped
    (tmp_path / "m.bin").write_bytes(blob)
    factory.save(tmp_path / "f.bin")
    cache = tmp_path / "cache"
    cache.mkdir()
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    p = subprocess.run([sys.executable, "-c", CHILD, KEY.decode(), str(tmp_path / "m.bin"), str(tmp_path / "f.bin")],
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert got["how"] == "installed" and got["out"] == "[42]\n"
    assert got["counters"]["modules_compiled"] == 0 and got["counters"]["modules_shipped"] == 1
    assert got["counters"]["start_states_made"] == 0
    assert "compiling" not in p.stderr  # no compile warning on the cold cache
