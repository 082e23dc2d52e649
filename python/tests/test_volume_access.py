"""os.access in the guest tells read-only volumes (issue 20): W_OK is False on a
read-only directory or single-file volume (and on what is under it), True on a
read-write one; reads stay allowed, and a stat of a read-only path does not make
the next open of a writable file read-only."""
import eryx

CODE = """
import os
paths = ('/ro', '/ro/a.txt', '/ro/sub/c.txt', '/cfg/f.txt', '/rw', '/rw/b.txt', '/tmp', '/rwf/g.txt')
result = {
    'w': [os.access(p, os.W_OK) for p in paths],
    'r': [os.access(p, os.R_OK) for p in paths],
    'missing': os.access('/ro/missing', os.F_OK),
}
os.stat('/ro/a.txt')
with open('/rw/b.txt', 'r+') as f:  # O_RDWR, right after a stat of a read-only path
    f.write('y')
try:
    open('/ro/a.txt', 'r+')
except OSError as e:
    result['ro_open'] = e.errno == __import__('errno').EROFS
"""


def test_access_w_ok_on_volumes(tmp_path):
    ro, rw = tmp_path / "ro", tmp_path / "rw"
    (ro / "sub").mkdir(parents=True)
    rw.mkdir()
    (ro / "a.txt").write_text("a")
    (ro / "sub" / "c.txt").write_text("c")
    (rw / "b.txt").write_text("b")
    (tmp_path / "f.txt").write_text("f")
    (tmp_path / "g.txt").write_text("g")
    sb = eryx.Sandbox(volumes=[(str(ro), "/ro", True), (str(rw), "/rw", False),
                               (str(tmp_path / "f.txt"), "/cfg/f.txt", True),
                               (str(tmp_path / "g.txt"), "/rwf/g.txt", False)])
    r = sb.execute(CODE)
    assert r.result == {"w": [False, False, False, False, True, True, True, True], "r": [True] * 8,
                        "missing": False, "ro_open": True}
    assert (rw / "b.txt").read_text() == "y"
    assert (ro / "a.txt").read_text() == "a"
