"""SandboxFactory: Python pre-initialized once (imports imported), its sandboxes
and sessions started from that state; to_bytes()/save()/load() carry it to
another process."""
from __future__ import annotations

import json
import os
import struct
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from . import _eryx
from ._callbacks import _normalize_callbacks
from ._core import (ResourceLimits, Sandbox, Session, VfsStorage, _call, _check_state_key, _Config, _debug_opt)

if TYPE_CHECKING:
    from ._pool import SandboxPool

_FACTORY_MAGIC = b"ERYXFAC1"


def _cache_dir_for(cache: Any) -> Any:
    # False keeps only the factory's own start state off the disk: the compiled
    # interpreter always comes from the machine's cache (no compile per process).
    if cache is True or cache is False:
        return "default"
    if isinstance(cache, (str, os.PathLike)):
        path = os.fspath(cache)
        os.makedirs(path, exist_ok=True)
        return path
    raise TypeError(f"cache must be a bool or a directory path, not {type(cache).__name__}")


def _package_list(site_packages: Any, packages: Any) -> list[str]:
    out: list[str] = []
    if site_packages is not None:
        if not isinstance(site_packages, (str, os.PathLike)):
            raise TypeError("site_packages must be a directory path or None")
        sp = os.path.abspath(os.fspath(site_packages))
        if not os.path.isdir(sp):
            raise ValueError(f"site_packages {sp!r} is not a directory")
        out.append(sp)
    if packages is not None:
        if isinstance(packages, (str, os.PathLike)):
            packages = [packages]
        for p in packages:
            if not isinstance(p, (str, os.PathLike)):
                raise TypeError(f"packages must be paths (wheels or source trees), not {type(p).__name__}")
            out.append(os.path.abspath(os.fspath(p)))
    return out


def _factory_callbacks(callbacks: Any) -> list[dict[str, Any]] | None:
    return None if callbacks is None else _normalize_callbacks(callbacks)


def _declarations(callbacks: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """What a saved factory keeps of its callbacks: what the guest sees of them."""
    return [{"name": c["name"], "description": c["description"], "schema": c["schema"]} for c in callbacks or []]


def _stand_in(decl: dict[str, Any]) -> dict[str, Any]:
    """A callback declared as a saved one, for importing the saved state only (never run)."""
    def missing(**_: Any) -> Any:
        raise RuntimeError(f"callback {decl['name']!r} was not passed to SandboxFactory.load")
    return {"name": decl["name"], "description": decl["description"], "schema": decl["schema"], "fn": missing}


def _module_builder(cache_dir: Any, state_key: bytes | None) -> _eryx.Builder:
    """A builder of the default configuration on this cache and key: what a
    compiled module is exported from or imported into."""
    return _Config(limits=ResourceLimits(), callbacks=None, volumes=None, on_stdout=None, on_stderr=None,
                   result_variable=None, network=None, secrets=None, cache_dir=cache_dir,
                   state_key=state_key).builder()


def process_counters() -> dict[str, int]:
    """This process's expensive work so far (eryx_process_counters_get): modules
    compiled, modules installed from shipped blobs, start states made."""
    return dict(_eryx.counters())


class SandboxFactory:
    """Pre-initializes Python once (with `imports` imported); its sandboxes start
    from that state. save()/load() carry the state to another process."""

    def __init__(self, *, site_packages: str | os.PathLike[str] | None = None,
                 packages: Sequence[str | os.PathLike[str]] | None = None, imports: Sequence[str] | None = None,
                 setup_code: str | None = None, callbacks: Any = None,
                 cache: bool | str | os.PathLike[str] = True, default_imports: bool = True,
                 state_key: bytes | None = None) -> None:
        if isinstance(imports, str):
            raise TypeError("imports must be a list of module names, not a str")
        if setup_code is not None and not isinstance(setup_code, str):
            raise TypeError(f"setup_code must be a str or None, not {type(setup_code).__name__}")
        self._setup = setup_code
        self._callbacks = _factory_callbacks(callbacks)
        self._decls = _declarations(self._callbacks)
        self._imports = [str(m) for m in (imports or [])]
        self._default_imports = bool(default_imports)
        self._site = _package_list(site_packages, None)[0] if site_packages is not None else None
        self._pkgs = _package_list(None, packages)
        self._packages = ([self._site] if self._site else []) + self._pkgs
        self._cache_dir = _cache_dir_for(cache)
        self._state_cache = cache is not False
        self._state_key = _check_state_key(state_key)
        self._blob: bytes | None = None
        self._lock = threading.Lock()
        # Pre-initializes now (a first sandbox makes or loads the start state); the
        # state is exported (compressed: tens of ms) only when to_bytes() asks.
        # The builder stays alive with the factory: a new state is written to the
        # disk cache behind the first sandbox, and freeing the builder would wait for it.
        self._builder = self._base_builder()
        _call(self._builder.new_sandbox, creating=True)
        self._state: bytes | None = None

    @classmethod
    def _make(cls, imports: list[str], packages: list[str], cache: Any, state: bytes,
              site: bool, default_imports: bool, state_key: bytes | None = None, setup_code: str | None = None,
              decls: list[dict[str, Any]] | None = None, callbacks: Any = None) -> "SandboxFactory":
        self = cls.__new__(cls)
        self._setup = setup_code
        self._decls = decls or []
        self._callbacks = _factory_callbacks(callbacks)
        self._imports, self._packages, self._cache_dir = imports, packages, _cache_dir_for(cache)
        self._default_imports = default_imports
        self._state_cache = cache is not False
        self._state_key = _check_state_key(state_key)
        self._site, self._pkgs = (packages[0], packages[1:]) if site else (None, packages)
        self._blob = None
        self._lock = threading.Lock()
        # The state was made with the saved callbacks' declarations: imported under
        # stand-ins of them, it serves sandboxes given callbacks declared the same.
        self._builder = self._config(callbacks=[_stand_in(d) for d in self._decls], volumes=None, on_stdout=None,
                                     on_stderr=None, result_variable=None, network=None, secrets=None).builder()
        _call(self._builder.import_state, state, creating=True, loading=True)
        self._state = state
        return self

    def _config(self, **options: Any) -> _Config:
        limits = options.pop("resource_limits", None)
        site = options.pop("site_packages", None)
        # site_packages replaces the factory's (a start state of its own, made once)
        packages = self._packages if site is None else _package_list(site, None) + self._pkgs
        if options.get("callbacks") is None:  # the factory's callbacks, unless given others ([]: none)
            options["callbacks"] = self._callbacks
        return _Config(limits=limits if limits is not None else ResourceLimits(), imports=self._imports,
                       packages=packages, cache_dir=self._cache_dir, state_cache=self._state_cache,
                       default_imports=self._default_imports, state_key=self._state_key,
                       setup_code=self._start_code(), **options)

    def _start_code(self) -> str | None:
        # The imports' top-level names bound in __main__ (`json.dumps(...)` with no
        # `import json`), as pyeryx 0.11's factories do; they are imported already.
        binds = "".join(f"import {m.strip()}\n" for m in self._imports if m.strip())
        if not binds:
            return self._setup
        return binds + (self._setup or "")

    def _base_builder(self) -> _eryx.Builder:
        return self._config(callbacks=None, volumes=None, on_stdout=None, on_stderr=None, result_variable=None,
                            network=None, secrets=None).builder()

    def create_sandbox(self, *, site_packages: str | os.PathLike[str] | None = None,
                       resource_limits: ResourceLimits | None = None, callbacks: Any = None,
                       volumes: Sequence[tuple[str, str, bool]] | None = None,
                       on_stdout: Callable[[bytes], Any] | None = None, on_stderr: Callable[[bytes], Any] | None = None,
                       result_variable: str | None = None, network: Any = None, secrets: Any = None,
                       scrub_stdout: bool | None = None, scrub_stderr: bool | None = None,
                       scrub_files: bool | None = None, scrub_result: bool | None = None, mcp: Any = None,
                       collect_files: str | None = None, collect_files_max_bytes: int | None = None) -> Sandbox:
        """A Sandbox (same options as Sandbox()) starting from the factory's state.
        callbacks=None: the factory's callbacks. site_packages replaces the factory's
        for this sandbox: its start state (imports and setup code run with it) is
        made at the first such call, then cached as the factory's own."""
        cfg = self._config(site_packages=site_packages, resource_limits=resource_limits, callbacks=callbacks,
                           volumes=volumes,
                           on_stdout=on_stdout, on_stderr=on_stderr, result_variable=result_variable,
                           network=network, secrets=secrets,
                           scrub=(scrub_stdout, scrub_stderr, scrub_files, scrub_result), mcp=mcp,
                           collect_files=collect_files, collect_files_max_bytes=collect_files_max_bytes)
        return Sandbox._from_factory(cfg, cfg.builder())

    def create_session(self, *, vfs: VfsStorage | None = None, vfs_mount_path: str | None = None,
                       resource_limits: ResourceLimits | None = None, network: Any = None, callbacks: Any = None,
                       volumes: Sequence[tuple[str, str, bool]] | None = None,
                       on_stdout: Callable[[bytes], Any] | None = None, on_stderr: Callable[[bytes], Any] | None = None,
                       result_variable: str | None = None, secrets: Any = None,
                       scrub_stdout: bool | None = None, scrub_stderr: bool | None = None,
                       scrub_files: bool | None = None, scrub_result: bool | None = None, mcp: Any = None,
                       collect_files: str | None = None, collect_files_max_bytes: int | None = None) -> Session:
        """A Session (state kept from one execute() to the next) starting from the
        factory's state; vfs is mounted at vfs_mount_path (None: "/data").
        resource_limits=None means ResourceLimits()'s defaults, as create_sandbox's
        (the reference's sessions have no limits by default: docs/PYTHON.md)."""
        if vfs is not None and not isinstance(vfs, VfsStorage):
            raise TypeError(f"vfs must be a VfsStorage or None, not {type(vfs).__name__}")
        mount = "/data" if vfs_mount_path is None else vfs_mount_path
        if not isinstance(mount, str) or not mount.startswith("/"):
            raise ValueError(f"vfs_mount_path must be an absolute guest path, not {mount!r}")
        cfg = self._config(resource_limits=resource_limits, callbacks=callbacks, volumes=volumes,
                           on_stdout=on_stdout, on_stderr=on_stderr, result_variable=result_variable,
                           network=network, secrets=secrets, keep_state=True,
                           storage=(vfs, mount) if vfs is not None else None,
                           scrub=(scrub_stdout, scrub_stderr, scrub_files, scrub_result), mcp=mcp,
                           collect_files=collect_files, collect_files_max_bytes=collect_files_max_bytes)
        session = Session._from_config(cfg)
        session._vfs_mount_path = mount
        return session

    def to_bytes(self) -> bytes:
        """The factory as bytes: its configuration and its pre-initialized state."""
        with self._lock:
            if self._blob is None:
                if self._state is None:
                    self._state = _call(self._builder.export_state, creating=True)
                meta = json.dumps({"imports": self._imports, "site_packages": self._site,
                                   "packages": self._pkgs, "default_imports": self._default_imports,
                                   "setup_code": self._setup, "callbacks": self._decls}).encode()
                self._blob = _FACTORY_MAGIC + struct.pack("<I", len(meta)) + meta + self._state
            return self._blob

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes to_bytes() to path (atomically: a temporary file, then a rename)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_bytes(self.to_bytes())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a full disk leaves no partial file behind
            raise

    @classmethod
    def from_bytes(cls, data: bytes, *, site_packages: str | os.PathLike[str] | None = None, callbacks: Any = None,
                   cache: bool | str | os.PathLike[str] = True, state_key: bytes | None = None) -> "SandboxFactory":
        """A factory from to_bytes()'s bytes; callbacks: as load()'s."""
        data = bytes(data)
        if not data.startswith(_FACTORY_MAGIC) or len(data) < 12:
            raise ValueError("not a saved eryx SandboxFactory (bad header)")
        (n,) = struct.unpack_from("<I", data, 8)
        try:
            meta = json.loads(data[12:12 + n])
        except ValueError:
            raise ValueError("a saved SandboxFactory with a damaged header") from None
        packages = list(meta.get("packages", []))
        site = meta.get("site_packages")
        if site_packages is not None:
            site = _package_list(site_packages, None)[0]
        packages = ([site] if site else []) + packages
        setup, decls = meta.get("setup_code"), meta.get("callbacks") or []
        if (setup is not None and not isinstance(setup, str)) or not isinstance(decls, list) or not all(
                isinstance(d, dict) and isinstance(d.get("name"), str) and isinstance(d.get("description"), str)
                and isinstance(d.get("schema"), dict) for d in decls):
            raise ValueError("a saved SandboxFactory with a damaged header")
        return cls._make(list(meta.get("imports", [])), packages, cache, data[12 + n:], bool(site),
                         bool(meta.get("default_imports", True)), state_key, setup, decls, callbacks)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, site_packages: str | os.PathLike[str] | None = None,
             callbacks: Any = None, cache: bool | str | os.PathLike[str] = True,
             state_key: bytes | None = None) -> "SandboxFactory":
        """A factory from save()'s file: its sandboxes start without running the
        imports or the setup code again. The file must come from the same eryx guest
        build, and be saved under the same state_key (None: this machine's key).
        callbacks: the factory's callbacks (the file keeps their declarations, not
        the functions); pass the same ones to keep the saved state for sandboxes
        given them. Without them the sandboxes have no callbacks, and their start
        state (imports and setup code) is made again at the first one."""
        return cls.from_bytes(Path(path).read_bytes(), site_packages=site_packages, callbacks=callbacks, cache=cache,
                              state_key=state_key)

    def create_pool(self, *, max_size: int = 10, min_idle: int = 1, acquire_timeout_ms: int = 30000,
                    idle_timeout_ms: int = 300000, resource_limits: ResourceLimits | None = None) -> "SandboxPool":
        """A SandboxPool of sandboxes started from the factory's state (python/eryx/_pool.py):
        at most max_size leased at once, min_idle made now and kept warm. resource_limits
        (None: ResourceLimits()) are the warm sandboxes' limits, so leases asking for
        them (or for none) get a warm sandbox, not one of their own."""
        from ._pool import SandboxPool
        return SandboxPool(self, max_size=max_size, min_idle=min_idle, acquire_timeout_ms=acquire_timeout_ms,
                           idle_timeout_ms=idle_timeout_ms, resource_limits=resource_limits)

    def _export_module(self) -> bytes:
        """The compiled interpreter module the factory's sandboxes instantiate, signed
        with the factory's state key (eryx_builder_export_module; eryx.ray ships it to
        nodes whose cache lacks it, docs/SCALE.md)."""
        return _call(_eryx.export_module, _module_builder(self._cache_dir, self._state_key), creating=True)

    @staticmethod
    def _install_module(blob: bytes, *, state_key: bytes | None, cache: bool | str | os.PathLike[str] = True) -> str:
        """Puts _export_module()'s blob into this machine's cache before a from_bytes:
        "installed", "present" (the cache had it) or "compiled" (this machine's
        engine refused it, e.g. other CPU features: compiled here instead).
        ValueError for a blob made under another key, damaged, or made for another
        guest build or engine; nothing is installed then."""
        builder = _module_builder(_cache_dir_for(cache), _check_state_key(state_key))
        return str(_call(_eryx.import_module, builder, bytes(blob), creating=True))

    @property
    def size_bytes(self) -> int:
        return len(self.to_bytes())

    def __repr__(self) -> str:
        return f"SandboxFactory(size_bytes={self.size_bytes}, site_packages={_debug_opt(self._site)})"

    @property
    def imports(self) -> list[str]:
        return list(self._imports)
