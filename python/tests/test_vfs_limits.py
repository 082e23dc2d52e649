"""Issue 17 (items 1, 5, 6a, 6b) through `import eryx`: the in-memory filesystem's
cap counts names and directories, a volume's quota bounds what the guest adds,
"FILE/" is ENOTDIR, and chmod/utime on a read-only volume is EROFS."""
import os

import pytest

import eryx


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


# Guest code: t(fn) is "ok" or the errno name fn raised.
ERRNO_OF = """
import errno, os
def t(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, e.errno)
"""

LOOP_UNTIL_OSERROR = """
import errno, os
n = 0
try:
    for i in range(1_000_000):
        {make}
        n += 1
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno), n)
else:
    print("no error", n)
"""


@pytest.mark.parametrize("make", ["os.mkdir('/tmp/' + str(i).zfill(255))",
                                  "open('/data/' + str(i).zfill(255), 'w').close()"])
def test_memfs_names_and_entries_count_against_the_cap(make):
    # 8 MiB: empty entries with 255-byte names must hit it (about 500 bytes each).
    sb = eryx.Sandbox(resource_limits=eryx.ResourceLimits(max_vfs_bytes=8 << 20, execution_timeout_ms=60_000))
    sb.execute("pass")  # warm: the interpreter's own pages are in
    before = _rss_kib()
    r = sb.execute(LOOP_UNTIL_OSERROR.format(make=make))
    grew = _rss_kib() - before
    assert r.stdout_text.startswith("ENOSPC "), f"{r.stdout_text} (host RSS grew {grew} KiB)"
    assert 1000 < int(r.stdout_text.split()[1]) < (8 << 20) // 255  # every name cost at least its bytes
    assert grew < 64 << 10, f"host RSS grew {grew} KiB for an 8 MiB cap"


def test_volume_quota_bounds_bytes_and_files(tmp_path):
    d = tmp_path / "out"
    d.mkdir()
    (d / "old").write_bytes(b"x" * 100)
    sb = eryx.Sandbox(volumes=[(str(d), "/mnt/out", False, {"max_bytes": 1 << 20, "max_files": 10})])
    r = sb.execute(ERRNO_OF + """
def sparse():
    with open('/mnt/out/sparse', 'wb') as f:
        f.seek(1 << 40)
        f.write(b'x')
def trunc():
    with open('/mnt/out/sparse', 'r+b') as f:
        f.truncate(1 << 40)
def fill():
    with open('/mnt/out/fill', 'wb') as f:
        for _ in range(300):
            f.write(b'y' * 4096)
def dirs():
    for i in range(100):
        os.mkdir('/mnt/out/d%d' % i)
print(t(sparse), t(trunc), t(fill), t(dirs), len(os.listdir('/mnt/out')))
""")
    assert r.stdout == b"EDQUOT EDQUOT EDQUOT EDQUOT 11\n", r.stdout_text  # "old" + 10 made
    total = sum(p.stat().st_size for p in d.iterdir() if p.is_file())
    assert total <= 100 + (1 << 20)
    assert (d / "sparse").stat().st_size == 0


def test_volume_quota_checked():
    with pytest.raises(TypeError):
        eryx.Sandbox(volumes=[("/tmp", "/mnt/x", False, 5)])
    with pytest.raises(ValueError):
        eryx.Sandbox(volumes=[("/tmp", "/mnt/x", False, {"bytes": 5})])
    with pytest.raises(ValueError):
        eryx.Sandbox(volumes=[("/tmp", "/mnt/x", False, {"max_bytes": 0})])
    with pytest.raises(TypeError):
        eryx.Sandbox(volumes=[("/tmp", "/mnt/x", False, {"max_files": "9"})])
    with pytest.raises(ValueError):
        eryx.Sandbox(volumes=[("/tmp", "/mnt/x", True, {"max_files": 9})])
    eryx.Sandbox(volumes=[("/tmp", "/mnt/x", False, None)])
    eryx.Sandbox(volumes=[("/tmp", "/mnt/x", False, {"max_files": None})])


def test_trailing_slash_and_read_only_metadata(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "f.txt").write_text("hi")
    sb = eryx.Sandbox(volumes=[(str(ro), "/mnt/ro", True)])
    r = sb.execute(ERRNO_OF + """
open('/tmp/f', 'w').close()
print(t(lambda: open('/tmp/f/')), t(lambda: os.stat('/tmp/f/')), t(lambda: open('/mnt/ro/f.txt/')),
      t(lambda: os.stat('/usr/local/lib/python3.13/os.pyc/')), t(lambda: os.listdir('/tmp/')))
print(t(lambda: os.chmod('/mnt/ro/f.txt', 0o600)), t(lambda: os.utime('/mnt/ro/f.txt')),
      t(lambda: os.utime('/usr/local/lib/python3.13')), t(lambda: os.chmod('/tmp/f', 0o600)),
      t(lambda: os.utime('/tmp/f')))
""")
    assert r.stdout == b"ENOTDIR ENOTDIR ENOTDIR ENOTDIR ok\nEROFS EROFS EROFS ok ok\n", r.stdout_text


def _cli(*args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "eryx", *args], capture_output=True, text=True, timeout=120)


def test_cli_volume_quota(tmp_path):
    code = "import errno\ntry:\n    with open('/mnt/q/f', 'wb') as f:\n        f.write(b'x' * 2048)\n" \
           "except OSError as e:\n    print(errno.errorcode[e.errno])\n"
    r = _cli("-v", f"{tmp_path}:/mnt/q:rw,quota=1K,files=5", "-c", code)
    assert r.returncode == 0 and r.stdout == "EDQUOT\n", r
    for bad in (f"{tmp_path}:/mnt/q:ro,quota=1K", f"{tmp_path}:/mnt/q:rw,size=1K", f"{tmp_path}:/mnt/q:rw,files=x"):
        r = _cli("-v", bad, "-c", "pass")
        assert r.returncode == 2 and "quota=SIZE and files=N" in r.stderr, r
