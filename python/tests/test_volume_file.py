"""Issue 20: a volume may be a single host file, `(host_file, guest_path, read_only)`:
the guest sees that file alone at guest_path (its host siblings stay invisible), a
read-only one refuses writes, a writable one writes through to the host file."""
import os

import pytest

import eryx

# Guest code: t(fn) is fn's value, or the errno name of the OSError it raised.
ERRNO_OF = """
import errno, os
def t(fn):
    try:
        return fn()
    except OSError as e:
        return errno.errorcode.get(e.errno, e.errno)
"""


@pytest.fixture
def host(tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    (d / "f.txt").write_text("hello\n")
    (d / "sibling.txt").write_text("secret\n")
    (d / "sub").mkdir()
    return d


def run(volumes, code):
    r = eryx.Sandbox(volumes=volumes).execute(ERRNO_OF + code)
    return r.result


def test_read_and_siblings_invisible(host):
    got = run([(str(host / "f.txt"), "/mnt/f.txt", True)], """
result = dict(
    read=t(lambda: open("/mnt/f.txt").read()),
    size=t(lambda: os.stat("/mnt/f.txt").st_size),
    isfile=os.path.isfile("/mnt/f.txt"),
    listing=t(lambda: sorted(os.listdir("/mnt"))),
    scandir=t(lambda: [(e.name, e.is_file()) for e in os.scandir("/mnt")]),
    sibling=t(lambda: open("/mnt/sibling.txt").read()),
    sub=t(lambda: os.listdir("/mnt/sub")),
    dotdot=t(lambda: open("/mnt/f.txt/../sibling.txt").read()),
    below=t(lambda: open("/mnt/f.txt/x").read()),
    deep_dotdot=t(lambda: open("/mnt/f.txt/../../mnt/sibling.txt").read()),
)""")
    assert got == dict(read="hello\n", size=6, isfile=True, listing=["f.txt"], scandir=[["f.txt", True]],
                       sibling="ENOENT", sub="ENOENT", dotdot="ENOENT", below="ENOTDIR", deep_dotdot="ENOENT")


def test_read_only_refuses_writes(host):
    got = run([(str(host / "f.txt"), "/mnt/f.txt", True)], """
result = dict(
    append=t(lambda: open("/mnt/f.txt", "a").write("x")),
    truncate=t(lambda: open("/mnt/f.txt", "w")),
    create=t(lambda: open("/mnt/new.txt", "w")),
    unlink=t(lambda: os.unlink("/mnt/f.txt")),
    rename=t(lambda: os.rename("/mnt/f.txt", "/tmp/g.txt")),
    read=t(lambda: open("/mnt/f.txt").read()),
)""")
    assert got == dict(append="EROFS", truncate="EROFS", create="EROFS", unlink="EBUSY", rename="EBUSY",
                       read="hello\n")
    assert (host / "f.txt").read_text() == "hello\n"
    assert sorted(os.listdir(host)) == ["f.txt", "sibling.txt", "sub"]


def test_writable_writes_through(host):
    got = run([(str(host / "f.txt"), "/data/f.txt", False)], """
with open("/data/f.txt", "a") as f:
    f.write("more\\n")
after_append = open("/data/f.txt").read()
with open("/data/f.txt", "r+") as f:
    f.seek(0)
    f.write("J")
with open("/data/own.txt", "w") as f:  # /data is still the in-memory filesystem
    f.write("x")
result = dict(
    after_append=after_append,
    read=open("/data/f.txt").read(),
    listing=sorted(os.listdir("/data")),
    unlink=t(lambda: os.unlink("/data/f.txt")),
    rename=t(lambda: os.rename("/data/f.txt", "/data/g.txt")),
    replace=t(lambda: os.replace("/data/own.txt", "/data/f.txt")),
    sibling=t(lambda: open("/data/sibling.txt", "w").close()),
)""")
    assert got == dict(after_append="hello\nmore\n", read="Jello\nmore\n", listing=["f.txt", "own.txt"],
                       unlink="EBUSY", rename="EBUSY", replace="EBUSY", sibling=None)
    # the sibling written in the guest is the in-memory /data's, never the host's
    assert (host / "f.txt").read_text() == "Jello\nmore\n"
    assert sorted(os.listdir(host)) == ["f.txt", "sibling.txt", "sub"]
    assert (host / "sibling.txt").read_text() == "secret\n"


def test_truncate_and_quota(host):
    (host / "q.txt").write_text("0123456789")
    got = run([(str(host / "q.txt"), "/mnt/q.txt", False, {"max_bytes": 8})], """
def grow(n):
    with open("/mnt/q.txt", "a") as f:
        f.write("x" * n)
result = dict(first=t(lambda: grow(5)), past=t(lambda: grow(4)))
open("/mnt/q.txt", "w").close()  # truncating gives the growth back
result["after_truncate"] = t(lambda: grow(8))
""")
    assert got == dict(first=None, past="EDQUOT", after_truncate=None)
    assert (host / "q.txt").read_text() == "x" * 8


def test_session_and_symlinked_source(host):
    os.symlink("f.txt", host / "link")
    s = eryx.Session(volumes=[(str(host / "link"), "/mnt/cfg", False)])
    s.execute("open('/mnt/cfg', 'a').write('1')")
    assert s.execute("result = open('/mnt/cfg').read()").result == "hello\n1"
    assert (host / "f.txt").read_text() == "hello\n1"
    assert os.path.islink(host / "link")  # written through the link to its target, the link kept


def test_bad_file_volumes(host):
    os.mkfifo(host / "fifo")
    with pytest.raises(ValueError, match="neither a directory nor a regular file"):
        eryx.Sandbox(volumes=[(str(host / "fifo"), "/mnt/x", True)])
    with pytest.raises(ValueError, match="neither a directory nor a regular file"):
        eryx.Sandbox(volumes=[(str(host / "missing.txt"), "/mnt/x", True)])
    # the same file twice, at two paths: two mounts of one file, both see it
    got = run([(str(host / "f.txt"), "/mnt/a", True), (str(host / "f.txt"), "/mnt/b", True)],
              "result = sorted(os.listdir('/mnt')), open('/mnt/a').read() == open('/mnt/b').read()")
    assert got == [["a", "b"], True]
