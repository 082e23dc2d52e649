"""python -m eryx as pyeryx 0.11's CLI (issue 20): its flags and their meanings
(--timeout in milliseconds, --max-memory in bytes, -v SRC:DST[:ro|:rw], -c or a
script, piped stdin read whole and run once, exit status 1 on every error), our
unit forms, and the outputs passed through as bytes. Each test runs the CLI as a
subprocess."""
import os
import subprocess
import sys

import eryx


def _cli(*args, stdin=None, text=True):
    return subprocess.run([sys.executable, "-m", "eryx", *args], input=stdin, capture_output=True, text=text,
                          timeout=120, env=dict(os.environ))


def test_code_script_and_its_arguments(tmp_path):
    r = _cli("-c", "print(6*7)")
    assert (r.returncode, r.stdout, r.stderr) == (0, "42\n", "")
    script = tmp_path / "s.py"
    script.write_text("import sys\nprint(sys.argv)")
    r = _cli(str(script), "a", "--b")  # a script's arguments after it, options included (as python)
    assert (r.returncode, r.stdout) == (0, f"{[str(script), 'a', '--b']}\n")
    r = _cli("-c", "import sys; print(sys.argv)")
    assert r.stdout == "['-c']\n"
    r = _cli("--version")
    assert r.returncode == 0 and eryx.__version__ in r.stdout


def test_c_and_a_script_are_mutually_exclusive(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("print('script ran')")
    for args in (["-c", "print('code ran')", str(script)], [str(script), "-c", "print('code ran')"]):
        r = _cli(*args)
        # -c after a script is the script's argument, as python reads it
        if args[0] == "-c":
            assert r.returncode == 2 and "not allowed with argument -c" in r.stderr, r
            assert "ran" not in r.stdout
        else:
            assert (r.returncode, r.stdout) == (0, "script ran\n")


def test_piped_stdin_is_read_whole_and_run_once():
    # a raise on line 1 stops line 2 (it ran line by line before issue 20)
    r = _cli(stdin="raise ValueError('line 1')\nprint('line 2')\n")
    assert r.returncode == 1 and r.stdout == "" and "ValueError: line 1" in r.stderr
    # one program: a block with blank lines inside, names across it, no prompts echoed
    r = _cli(stdin="x = 20\ndef f():\n\n    return x + 1\n\nimport sys\nprint(f() * 2, sys.argv)\n")
    assert (r.returncode, r.stdout) == (0, "42 ['-']\n"), r.stderr
    r = _cli("-", "a", stdin="import sys\nprint(sys.argv)")
    assert (r.returncode, r.stdout) == (0, "['-', 'a']\n")
    r = _cli(stdin="  \n\n")  # nothing to run: the usage, as pyeryx
    assert r.returncode == 0 and r.stdout.startswith("usage: python -m eryx")


def test_timeout_bare_number_is_milliseconds():
    code = "print('before', flush=True)\nwhile True: pass"
    for t in ("300", "300ms", "0.3s", "--timeout=300"):
        args = [t] if t.startswith("--") else ["--timeout", t]
        r = _cli(*args, "-c", code)
        assert r.returncode == 1, (t, r)
        assert r.stdout == "before\n"  # streamed before the stop
        assert "eryx: timeout: " in r.stderr and "300 ms" in r.stderr, (t, r.stderr)
        # a small bare number may have been meant as seconds (this CLI's unit before): said
        assert ("300s would be seconds" in r.stderr) == (t in ("300", "--timeout=300")), (t, r.stderr)
    r = _cli("--timeout", "1500", "-c", "import time; time.sleep(0.5); print('slept')")
    assert (r.returncode, r.stdout) == (0, "slept\n"), r.stderr  # 1.5 s, not 1500 s nor 1.5 ms
    for t in ("0", "0s", "2s", "1.5m", "1500"):
        r = _cli("--timeout", t, "-c", "print('ok')")
        assert (r.returncode, r.stdout) == (0, "ok\n"), (t, r.stderr)


def test_timeout_junk_is_refused_with_the_forms():
    for t in ("soon", "0.3", "1.5", "-5", "5h", "1e3", "", "ms", "0.0001s", "99999999999s"):
        r = _cli("--timeout", t, "-c", "print('ran')")
        assert r.returncode == 2 and r.stdout == "", (t, r)
        last = r.stderr.splitlines()[-1]
        assert last.startswith("python -m eryx: error: argument --timeout: "), (t, last)
    r = _cli("--timeout", "0.3", "-c", "pass")
    assert "a bare --timeout is whole milliseconds; for seconds write 0.3s" in r.stderr
    r = _cli("--timeout", "soon", "-c", "pass")
    assert "milliseconds (5000), or 500ms, 2s, 1.5m" in r.stderr


def test_max_memory_in_bytes_and_units():
    for size in ("67108864", "64M", "65536K"):
        r = _cli("--max-memory", size, "-c", "x = bytearray(512 << 20)")
        assert r.returncode == 1 and "eryx: resource limit: " in r.stderr and "64 MiB" in r.stderr, (size, r)
    r = _cli("--max-memory", "67108864", "-c", "print(len(bytearray(1 << 20)))")
    assert (r.returncode, r.stdout) == (0, "1048576\n")
    for bad in ("0", "lots", "-1"):
        r = _cli("--max-memory", bad, "-c", "pass")
        assert r.returncode == 2 and "--max-memory" in r.stderr, (bad, r)


def test_exit_status_is_1_on_every_error(tmp_path):
    r = _cli("-c", "1/0")
    assert r.returncode == 1
    assert r.stderr.count("ZeroDivisionError") == 1  # the traceback once (streamed), not repeated
    r = _cli("-c", "import sys; print('o'); sys.exit(3)")
    assert (r.returncode, r.stdout, r.stderr) == (1, "o\n", "")
    r = _cli("-c", "raise SystemExit(0)")
    assert r.returncode == 0  # success, not an error
    r = _cli(str(tmp_path / "nosuch.py"))
    assert (r.returncode, r.stderr) == (1, f"eryx: {tmp_path / 'nosuch.py'}: No such file or directory\n")
    (tmp_path / "latin1.py").write_bytes(b"print('\xe9')")
    r = _cli(str(tmp_path / "latin1.py"))
    assert r.returncode == 1 and "not UTF-8" in r.stderr
    r = _cli("-v", f"{tmp_path / 'nodir'}:/mnt", "-c", "print('ran')")
    assert r.returncode == 1 and r.stdout == "" and "is neither a directory nor a regular file" in r.stderr


def test_volumes(tmp_path):
    (tmp_path / "f.txt").write_text("mounted")
    r = _cli("-v", f"{tmp_path}:/mnt/x:ro", "-c", "print(open('/mnt/x/f.txt').read())\nopen('/mnt/x/g', 'w')")
    assert r.returncode == 1 and r.stdout == "mounted\n" and "Read-only file system" in r.stderr
    for spec in (f"{tmp_path}:/mnt/x", f"{tmp_path}:/mnt/x:rw"):
        r = _cli("-v", spec, "-c", "open('/mnt/x/g.txt', 'w').write('from the sandbox')")
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "g.txt").read_text() == "from the sandbox"
        (tmp_path / "g.txt").unlink()
    for bad in ("nocolon", f"{tmp_path}:/mnt/x:xx", f"{tmp_path}:relative"):
        r = _cli("-v", bad, "-c", "pass")
        assert r.returncode == 2 and "--volume" in r.stderr, (bad, r)


def test_outputs_pass_through_as_bytes():
    r = _cli("-c", "import os, sys\nos.write(1, b'\\xff\\xfe\\n')\nprint('caf\\u00e9')\n"
             "sys.stderr.write('e\\u00e9\\n')", text=False)
    assert r.returncode == 0
    assert r.stdout == b"\xff\xfe\ncaf\xc3\xa9\n"  # not decoded, not replaced
    assert r.stderr == "e\u00e9\n".encode()
