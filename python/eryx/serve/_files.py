"""File transfer between MCP clients and a session's /data, done host-side.

Each session's /data is a host directory under the server's state dir (mounted
read-write in the guest). The guest may have made symlinks or odd names in it,
so paths are checked here, never trusted: a path is split into plain
components (no "..", no NUL, absolute only under /data), and the walk opens one
directory at a time with O_NOFOLLOW relative to the previous one's descriptor,
so a symlink can never lead out of the session's directory.
"""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from typing import Iterator

GUEST_ROOT = "/data"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_LIST = 1000  # entries list_files returns at most


class FileError(Exception):
    """A refused or failed file operation; str(e) is the message for the client."""


def split(path: str) -> list[str]:
    """The components of a /data path ("/data/a/b", "a/b" and "./a/b" are the same file)."""
    if not isinstance(path, str) or not path or "\0" in path:
        raise FileError(f"{path!r} is not a path (like /data/notes.txt or notes.txt)")
    rel = path
    if path.startswith("/"):
        if path != GUEST_ROOT and not path.startswith(GUEST_ROOT + "/"):
            raise FileError(f"{path!r} is outside /data: only the session's /data is reachable")
        rel = path[len(GUEST_ROOT):]
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise FileError(f"{path!r}: '..' is not allowed in a path")
    if any(len(p.encode()) > 255 for p in parts):
        raise FileError(f"{path!r}: a name is longer than 255 bytes")
    return parts


def guest_path(path: str) -> str:
    """The /data path the guest sees for a client's path ("a/b" -> "/data/a/b")."""
    return "/".join([GUEST_ROOT, *split(path)])


def _file_parts(path: str, hint: str = "") -> list[str]:
    parts = split(path)
    if not parts:
        raise FileError(f"{path!r} names /data itself, not a file{hint}")
    return parts


def _parent(root: str, parts: list[str], path: str, create: bool) -> int:
    """A descriptor of the directory holding the file parts names (a FileError if none)."""
    try:
        return _open_dir(root, parts[:-1], create)
    except OSError as e:
        raise _why(e, path) from None


def _open_dir(root: str, parts: list[str], create: bool) -> int:
    """A descriptor of root/parts..., each step opened without following symlinks."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for name in parts:
            if create:
                try:
                    os.mkdir(name, 0o700, dir_fd=fd)
                except FileExistsError:
                    pass
            nfd = os.open(name, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nfd
        return fd
    except BaseException:
        os.close(fd)
        raise


def _why(e: OSError, path: str) -> FileError:
    if isinstance(e, FileNotFoundError):
        return FileError(f"{path}: no such file or directory in /data")
    if e.errno == errno.ELOOP or isinstance(e, NotADirectoryError):  # ELOOP: O_NOFOLLOW met a symlink
        return FileError(f"{path}: a component is a symlink or not a directory (symlinks are not followed)")
    if isinstance(e, IsADirectoryError):
        return FileError(f"{path}: is a directory")
    return FileError(f"{path}: {e.strerror or e}")


def _walk(root: str, parts: list[str]) -> Iterator[tuple[list[str], str, os.stat_result]]:
    """(directory's parts, name, lstat) of every entry under root/parts, depth first in name
    order, symlinks not followed, an entry that vanishes meanwhile skipped.

    Iterative, with one directory descriptor open at a time: a directory is entered from
    its parent (O_NOFOLLOW) and left by its "..", which is its parent since no guest runs
    while the session's lock is held. A guest can nest /data directories thousands deep:
    a recursive walk (os.walk) failed with RecursionError, a descriptor per level could
    exhaust the server's, and paths from root could pass PATH_MAX."""
    fd = _open_dir(root, parts, create=False)
    rel = list(parts)
    levels: list[list[str]] = []  # per directory entered: its subdirectories still to visit
    try:
        while True:
            subdirs = []
            try:
                names = sorted(os.listdir(fd))
            except OSError:
                names = []
            for name in names:
                try:
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except OSError:
                    continue
                yield rel, name, st
                if stat.S_ISDIR(st.st_mode):
                    subdirs.append(name)
            levels.append(subdirs[::-1])
            while True:  # the next directory to list: a subdirectory, or climb
                if levels[-1]:
                    name = levels[-1].pop()
                    try:
                        nfd = os.open(name, _DIR_FLAGS, dir_fd=fd)
                    except OSError:
                        continue
                    os.close(fd)
                    fd, rel = nfd, [*rel, name]
                    break
                levels.pop()
                if not levels:
                    return
                nfd = os.open("..", _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd, rel = nfd, rel[:-1]
    finally:
        os.close(fd)


def remove_tree(path: str) -> None:
    """Removes path and all under it, best effort, never following a symlink. Iterative with
    one descriptor, as _walk: shutil.rmtree recurses, and raises RecursionError (ignore_errors
    or not) on the thousands-deep trees a guest can make, leaving them on disk."""
    parent, top = os.path.split(path.rstrip("/"))
    try:
        pfd = os.open(parent or ".", _DIR_FLAGS)
    except OSError:
        return
    try:
        try:
            os.unlink(top, dir_fd=pfd)  # not a directory (a file, a symlink)
            return
        except IsADirectoryError:
            pass
        fd = os.open(top, _DIR_FLAGS, dir_fd=pfd)
        names: list[str] = []  # the directories entered below top
        try:
            while True:
                sub = None
                for name in os.listdir(fd):
                    try:
                        os.unlink(name, dir_fd=fd)
                    except IsADirectoryError:
                        sub = name
                        break
                    except FileNotFoundError:
                        pass
                if sub is not None:
                    nfd = os.open(sub, _DIR_FLAGS, dir_fd=fd)
                    os.close(fd)
                    fd = nfd
                    names.append(sub)
                    continue
                if not names:
                    break
                nfd = os.open("..", _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = nfd
                os.rmdir(names.pop(), dir_fd=fd)
        finally:
            os.close(fd)
        os.rmdir(top, dir_fd=pfd)
    except OSError:
        pass
    finally:
        os.close(pfd)


def usage(root: str) -> tuple[int, int]:
    """(bytes, entries) under root, symlinks not followed (they count as entries)."""
    total, count = 0, 0
    try:
        with contextlib.closing(_walk(root, [])) as entries:
            for _, _, st in entries:
                count += 1
                if not stat.S_ISDIR(st.st_mode):
                    total += st.st_size
    except OSError:
        pass  # root gone, or a directory left mid-walk: what was counted
    return total, count


def _missing(root: str, parts: list[str]) -> tuple[int, int]:
    """(components of parts that do not exist yet, the existing file's size or 0)."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for i, name in enumerate(parts[:-1]):
            try:
                nfd = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                return len(parts) - i, 0
            os.close(fd)
            fd = nfd
        try:
            st = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return 1, 0
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(21, "is a directory")
        return 0, st.st_size
    finally:
        os.close(fd)


def write(root: str, path: str, data: bytes, *, max_file_bytes: int, max_bytes: int, max_files: int) -> int:
    """Writes data to root/path (parents made), atomically; returns its size."""
    parts = _file_parts(path)
    if len(data) > max_file_bytes:
        raise FileError(f"{path}: {len(data)} bytes is over the server's file cap ({max_file_bytes} bytes)")
    used, entries = usage(root)
    try:
        new, old = _missing(root, parts)
    except OSError as e:
        raise _why(e, path) from None
    if used - old + len(data) > max_bytes:
        raise FileError(f"{path}: the session's /data would hold {used - old + len(data)} bytes, over its "
                        f"quota of {max_bytes} bytes (delete files first)")
    if entries + new > max_files:
        raise FileError(f"{path}: the session's /data would hold more than its {max_files} files")
    dfd = _parent(root, parts, path, create=True)
    tmp = f".put-{secrets.token_hex(8)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dfd)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.rename(tmp, parts[-1], src_dir_fd=dfd, dst_dir_fd=dfd)  # replaces a symlink, never follows it
    except OSError as e:
        try:
            os.unlink(tmp, dir_fd=dfd)
        except OSError:
            pass
        raise _why(e, path) from None
    finally:
        os.close(dfd)
    return len(data)


def read(root: str, path: str, *, max_file_bytes: int) -> bytes:
    parts = _file_parts(path, " (list_files lists it)")
    dfd = _parent(root, parts, path, create=False)
    try:
        # Checked before the open too: opening a device or a FIFO can act (a tape rewinds, a
        # FIFO's writer wakes); O_NONBLOCK and the fstat below cover a swap in between.
        _regular(os.stat(parts[-1], dir_fd=dfd, follow_symlinks=False), path)
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dfd)
    except OSError as e:
        raise _why(e, path) from None
    finally:
        os.close(dfd)
    try:
        st = os.fstat(fd)
        _regular(st, path)
        if st.st_size > max_file_bytes:
            raise FileError(f"{path}: {st.st_size} bytes is over the server's file cap ({max_file_bytes} bytes)")
        chunks, left = [], max_file_bytes + 1
        while left > 0:
            b = os.read(fd, min(left, 1 << 20))
            if not b:
                break
            chunks.append(b)
            left -= len(b)
        data = b"".join(chunks)
        if len(data) > max_file_bytes:  # grew while read
            raise FileError(f"{path}: over the server's file cap ({max_file_bytes} bytes)")
        return data
    finally:
        os.close(fd)


def _regular(st: os.stat_result, path: str) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise FileError(f"{path}: is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise FileError(f"{path}: not a regular file")


def listing(root: str, path: str = GUEST_ROOT) -> tuple[list[dict[str, object]], bool]:
    """([{"path", "type", "size"}], truncated) under path, symlinks listed, not followed."""
    parts = split(path)
    out: list[dict[str, object]] = []
    try:
        with contextlib.closing(_walk(root, parts)) as entries:
            for rel, name, st in entries:
                if len(out) >= MAX_LIST:
                    return out, True
                kind = ("dir" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode)
                        else "symlink" if stat.S_ISLNK(st.st_mode) else "other")
                out.append({"path": "/".join([GUEST_ROOT, *rel, name]), "type": kind,
                            "size": st.st_size if kind == "file" else 0})
    except OSError as e:
        if not out:  # path itself (a missing directory, a symlink)
            raise _why(e, path) from None
        return out, True  # a directory left mid-walk: what was listed
    return out, False
