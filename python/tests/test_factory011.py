"""SandboxFactory as pyeryx 0.11 has it (issue 20): setup_code run once into the
factory's start state, factory-wide callbacks (on SandboxFactory(), load() and
from_bytes(); create_sandbox/create_session given their own replace them), and
create_sandbox(site_packages=) replacing the factory's site-packages for one sandbox."""
import subprocess
import sys

import pytest

import eryx

# A value the setup code draws at random: the same value in two sandboxes proves
# the setup ran once (into the start state), not once per sandbox.
SETUP = "import os\nTOKEN = os.urandom(8).hex()\nCONFIG = {'n': 1}\n"


def _names(sb):
    return sb.execute("result = sorted(c['name'] for c in list_callbacks())").result


def greet(name: str) -> str:
    return f"hi {name}"


def shout(text: str) -> str:
    return text.upper()


GREET = {"name": "greet", "fn": greet, "description": "Greets someone"}


@pytest.fixture(scope="module")
def factory():
    return eryx.SandboxFactory(setup_code=SETUP, callbacks=[GREET])


def test_setup_code_runs_once_into_the_start_state(factory):
    a, b = factory.create_sandbox(), factory.create_sandbox()
    token = a.execute("result = TOKEN").result
    assert isinstance(token, str) and len(token) == 16
    assert b.execute("result = TOKEN").result == token
    # each execution starts from the state: a change made by one is not seen by the next
    assert a.execute("CONFIG['n'] = 99\nresult = CONFIG['n']").result == 99
    assert a.execute("result = CONFIG['n']").result == 1
    assert b.execute("result = CONFIG['n']").result == 1
    s = factory.create_session()
    assert s.execute("CONFIG['n'] += 1\nresult = TOKEN").result == token
    assert s.execute("result = CONFIG['n']").result == 2  # a session keeps its own copy


def test_setup_code_runs_after_the_imports():
    # the imports are imported, not bound in __main__ (docs/PYTHON.md): the setup imports what it names
    f = eryx.SandboxFactory(imports=["json"], setup_code="import json, sys\nLOADED = 'json' in sys.modules\n"
                                                         "ENCODED = json.dumps([1, 2])")
    assert f.create_sandbox().execute("result = [LOADED, ENCODED]").result == [True, "[1, 2]"]


def test_setup_code_errors():
    with pytest.raises(eryx.InitializationError, match="(?s)the setup code raised.*ValueError: boom"):
        eryx.SandboxFactory(setup_code="raise ValueError('boom')")
    with pytest.raises(TypeError, match="setup_code must be a str or None, not int"):
        eryx.SandboxFactory(setup_code=5)


def test_factory_callbacks_are_the_default(factory):
    sb = factory.create_sandbox()
    assert _names(sb) == ["greet"]
    assert sb.execute("result = await greet(name='ann')").result == "hi ann"
    s = factory.create_session()
    assert s.execute("result = await greet(name='bo')").result == "hi bo"
    with factory.create_pool(max_size=1, min_idle=0) as pool, pool.acquire() as leased:
        assert leased.execute("result = await greet(name='cy')").result == "hi cy"


def test_own_callbacks_replace_the_factorys(factory):
    sb = factory.create_sandbox(callbacks=[{"name": "shout", "fn": shout, "description": "Upper case"}])
    assert _names(sb) == ["shout"]
    assert sb.execute("result = await shout(text='x')").result == "X"
    r = sb.execute("try:\n    await greet(name='x')\nexcept NameError:\n    result = 'no greet'")
    assert r.result == "no greet"
    # a start state of its own (docs/PYTHON.md): the setup code ran for it too
    assert sb.execute("result = CONFIG").result == {"n": 1}
    assert _names(factory.create_sandbox(callbacks=[])) == []  # an empty list: none at all
    assert _names(factory.create_session(callbacks=[])) == []


def test_factory_callbacks_checked_at_once():
    with pytest.raises(KeyError):
        eryx.SandboxFactory(callbacks=[{"name": "x"}])
    with pytest.raises(TypeError):
        eryx.SandboxFactory(callbacks="greet")


def test_save_load_keeps_setup_and_callback_declarations(factory, tmp_path):
    token = factory.create_sandbox().execute("result = TOKEN").result
    path = tmp_path / "f.bin"
    factory.save(path)
    # The same declarations, another function: the saved state serves, the new function runs.
    other = {"name": "greet", "fn": lambda name: f"yo {name}", "description": "Greets someone",
             "schema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}
    loaded = eryx.SandboxFactory.load(path, callbacks=[other])
    sb = loaded.create_sandbox()
    assert sb.execute("result = await greet(name='di')").result == "yo di"
    assert sb.execute("result = TOKEN").result == token
    assert eryx.SandboxFactory.from_bytes(path.read_bytes(), callbacks=[GREET]).create_sandbox().execute(
        "result = (TOKEN, await greet(name='ed'))").result == [token, "hi ed"]
    # Without callbacks: none, and the setup code still applies.
    bare = eryx.SandboxFactory.load(path).create_sandbox()
    assert _names(bare) == []
    assert bare.execute("result = CONFIG").result == {"n": 1}
    assert eryx.SandboxFactory.load(path).to_bytes() == path.read_bytes()  # the header keeps both


def test_load_in_another_process_without_rerunning_setup(factory, tmp_path):
    path = tmp_path / "f.bin"
    factory.save(path)
    token = factory.create_sandbox().execute("result = TOKEN").result
    code = ("import eryx, sys\n"
            "def greet(name: str) -> str:\n    return 'remote ' + name\n"
            "cbs = [{'name': 'greet', 'fn': greet, 'description': 'Greets someone'}]\n"
            "f = eryx.SandboxFactory.load(sys.argv[1], cache=False, callbacks=cbs if sys.argv[2] == 'cb' else None)\n"
            "r = f.create_sandbox().execute(\"result = [TOKEN, sorted(c['name'] for c in list_callbacks())]\")\n"
            "print(r.result_json)\n")
    for mode, same_token, names in (("cb", True, ["greet"]), ("none", False, [])):
        out = subprocess.run([sys.executable, "-c", code, str(path), mode], capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr
        import json
        got_token, got_names = json.loads(out.stdout)
        # with the same callbacks the saved state is used (no disk cache there: the
        # token is the saved one); without, the start state is made again
        assert (got_token == token) is same_token, mode
        assert got_names == names


def test_damaged_callback_header_refused(factory):
    data = factory.to_bytes()
    import json
    import struct
    (n,) = struct.unpack_from("<I", data, 8)
    meta = json.loads(data[12:12 + n])
    meta["callbacks"] = [{"name": 5}]
    bad = json.dumps(meta).encode()
    with pytest.raises(ValueError, match="damaged header"):
        eryx.SandboxFactory.from_bytes(data[:8] + struct.pack("<I", len(bad)) + bad + data[12 + n:])


def test_create_sandbox_site_packages_replaces_the_factorys(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "moda.py").write_text("V = 'A'\n")
    (b / "modb.py").write_text("V = 'B'\n")
    probe = ("import importlib.util as u\n"
             "result = [m for m in ('moda', 'modb') if u.find_spec(m) is not None]")
    plain = eryx.SandboxFactory()
    assert plain.create_sandbox().execute(probe).result == []
    assert plain.create_sandbox(site_packages=b).execute(probe).result == ["modb"]
    assert plain.create_sandbox(site_packages=str(b)).execute("import modb\nresult = modb.V").result == "B"
    fa = eryx.SandboxFactory(site_packages=a, setup_code="S = 7")
    assert fa.create_sandbox().execute(probe).result == ["moda"]
    sb = fa.create_sandbox(site_packages=b)
    assert sb.execute(probe).result == ["modb"]  # replaced, not added
    assert sb.execute("result = S").result == 7  # the setup code ran in its start state too
    assert fa.create_sandbox().execute(probe).result == ["moda"]  # the factory's own is unchanged
    with pytest.raises(ValueError, match="is not a directory"):
        plain.create_sandbox(site_packages=tmp_path / "missing")
    with pytest.raises(TypeError, match="site_packages must be a directory path"):
        plain.create_sandbox(site_packages=5)


def test_imports_are_bound_in_main_as_the_reference():
    f = eryx.SandboxFactory(imports=["json", "os.path", "xml.etree.ElementTree"])
    code = ("result = [json.dumps([1]), os.path.join('a', 'b'), xml.etree.ElementTree.__name__,\n"
            "          sorted(k for k in globals() if k in ('json', 'os', 'xml'))]")
    want = ["[1]", "a/b", "xml.etree.ElementTree", ["json", "os", "xml"]]
    assert f.create_sandbox().execute(code).result == want
    assert f.create_session().execute(code).result == want
    again = eryx.SandboxFactory.from_bytes(f.to_bytes())
    assert again.create_sandbox().execute(code).result == want
    # a plain factory binds nothing of its own
    assert eryx.SandboxFactory().create_sandbox().execute("result = 'json' in globals()").result is False
