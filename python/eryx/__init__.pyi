import builtins
import os
from eryx.mcp import MCPManager as MCPManager
from typing import Any, Awaitable, Callable, Iterator, Mapping, NamedTuple, Sequence, TypedDict, Union

__version__: str
__all__: list[str]

class _VolumeQuota(TypedDict, total=False):
    max_bytes: int | None
    max_files: int | None

_Volume = Union[tuple[str, str, bool], tuple[str, str, bool, _VolumeQuota | None]]
_Stream = Callable[[bytes], Any]

class _CallbackDictBase(TypedDict):
    name: str
    fn: Callable[..., Any]

class CallbackDict(_CallbackDictBase, total=False):
    description: str
    schema: dict[str, Any]

_Callbacks = Union["CallbackRegistry", CallbackDict, Sequence[Union["CallbackRegistry", CallbackDict]], None]

class EryxError(Exception):
    stdout: bytes
    stderr: bytes
    @property
    def stdout_text(self) -> str: ...
    @property
    def stderr_text(self) -> str: ...

class ExecutionError(EryxError):
    traceback: str | None
    exception_type: str | None
    exit_code: int
    net_stats: NetStats
    def __init__(self, message: str, *, traceback: str | None = ..., stdout: bytes = ..., stderr: bytes = ...,
                 exception_type: str | None = ..., exit_code: int = ...) -> None: ...

class InitializationError(EryxError): ...
class ResourceLimitError(EryxError): ...
class TimeoutError(EryxError, builtins.TimeoutError): ...
class CancelledError(EryxError): ...

class ResourceLimits:
    execution_timeout_ms: int | None
    callback_timeout_ms: int | None
    max_memory_bytes: int | None
    max_callback_invocations: int | None
    max_fuel: int | None
    max_vfs_bytes: int | None
    def __init__(self, *, execution_timeout_ms: int | None = 30000, callback_timeout_ms: int | None = 10000,
                 max_memory_bytes: int | None = 134217728, max_callback_invocations: int | None = 1000,
                 max_fuel: int | None = None, max_vfs_bytes: int | None = None) -> None: ...
    @classmethod
    def unlimited(cls) -> ResourceLimits: ...

class NetStats(NamedTuple):
    connections: int
    refused: int
    bytes_sent: int
    bytes_received: int

class SecretDict(TypedDict, total=False):
    value: str
    allowed_hosts: list[str]

class NetConfig:
    max_connections: int
    connect_timeout_ms: int
    io_timeout_ms: int
    allowed_hosts: list[str]
    blocked_hosts: list[str]
    blocked_networks: list[str]
    allowed_networks: list[str]
    internal_hosts: list[str]
    def __init__(self, *, max_connections: int = 10, connect_timeout_ms: int = 30000, io_timeout_ms: int = 60000,
                 allowed_hosts: Sequence[str] | None = None, blocked_hosts: Sequence[str] | None = None,
                 blocked_networks: Sequence[str] | None = None, allowed_networks: Sequence[str] | None = None,
                 internal_hosts: Sequence[str] | None = None) -> None: ...
    @staticmethod
    def permissive() -> NetConfig: ...
    def allow_host(self, pattern: str) -> NetConfig: ...
    def block_host(self, pattern: str) -> NetConfig: ...
    def allow_network(self, cidr: str) -> NetConfig: ...
    def allow_internal_host(self, pattern: str) -> NetConfig: ...
    def allow_localhost(self) -> NetConfig: ...
    def with_root_cert(self, cert: bytes | str) -> NetConfig: ...
    @property
    def root_certs(self) -> list[bytes]: ...
    @property
    def localhost_allowed(self) -> bool: ...

_Network = Union[NetConfig, Mapping[str, Any], bool, None]
_Secrets = Mapping[str, SecretDict] | None

class ExecuteResult:
    @property
    def net_stats(self) -> NetStats: ...
    @property
    def stdout(self) -> bytes: ...
    @property
    def stderr(self) -> bytes: ...
    @property
    def stdout_text(self) -> str: ...
    @property
    def stderr_text(self) -> str: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def callback_invocations(self) -> int: ...
    @property
    def peak_memory_bytes(self) -> int: ...
    @property
    def fuel_consumed(self) -> int | None: ...
    @property
    def result(self) -> Any: ...
    @property
    def result_json(self) -> str | None: ...
    @property
    def result_error(self) -> str | None: ...

class CallbackRegistry:
    def __init__(self) -> None: ...
    def add(self, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None,
            schema: Mapping[str, Any] | None = None) -> None: ...
    def callback(self, name: str | None = None, description: str | None = None,
                 schema: Mapping[str, Any] | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[CallbackDict]: ...

def infer_schema(fn: Callable[..., Any]) -> dict[str, Any]: ...

class VfsStorage:
    def __init__(self, *, max_bytes: int | None = None) -> None: ...
    @property
    def used_bytes(self) -> int: ...

class Sandbox:
    def __init__(self, *, resource_limits: ResourceLimits | None = None, callbacks: _Callbacks = None,
                 volumes: Sequence[_Volume] | None = None, on_stdout: _Stream | None = None,
                 on_stderr: _Stream | None = None, result_variable: str | None = None, network: _Network = None,
                 secrets: _Secrets = None, default_imports: bool = True, scrub_stdout: bool | None = None,
                 scrub_stderr: bool | None = None, scrub_result: bool | None = None,
                 scrub_files: bool | None = None, mcp: MCPManager | None = None) -> None: ...
    def execute(self, code: str) -> ExecuteResult: ...
    def cancel(self) -> None: ...

class Session:
    def __init__(self, *, vfs: VfsStorage | None = None, vfs_mount_path: str = "/data",
                 execution_timeout_ms: int | None = 30000, max_fuel: int | None = None, callbacks: _Callbacks = None,
                 volumes: Sequence[_Volume] | None = None, on_stdout: _Stream | None = None,
                 on_stderr: _Stream | None = None, result_variable: str | None = None, network: _Network = None,
                 default_imports: bool = True, max_memory_bytes: int | None = 134217728,
                 state_key: bytes | None = None, secrets: _Secrets = None, scrub_stdout: bool | None = None,
                 scrub_stderr: bool | None = None, scrub_result: bool | None = None,
                 scrub_files: bool | None = None, mcp: MCPManager | None = None) -> None: ...
    def execute(self, code: str) -> ExecuteResult: ...
    def reset(self) -> None: ...
    def clear_state(self) -> None: ...
    def snapshot_state(self) -> bytes: ...
    def restore_state(self, snapshot: bytes) -> None: ...
    def cancel(self) -> None: ...
    @property
    def execution_count(self) -> int: ...
    execution_timeout_ms: int | None
    fuel_limit: int | None
    @property
    def vfs(self) -> VfsStorage | None: ...
    @property
    def vfs_mount_path(self) -> str: ...

class SandboxFactory:
    def __init__(self, *, site_packages: str | os.PathLike[str] | None = None,
                 packages: Sequence[str | os.PathLike[str]] | None = None, imports: Sequence[str] | None = None,
                 cache: bool | str | os.PathLike[str] = True, default_imports: bool = True,
                 state_key: bytes | None = None) -> None: ...
    def create_sandbox(self, *, resource_limits: ResourceLimits | None = None, callbacks: _Callbacks = None,
                       volumes: Sequence[_Volume] | None = None, on_stdout: _Stream | None = None,
                       on_stderr: _Stream | None = None, result_variable: str | None = None, network: _Network = None,
                       secrets: _Secrets = None, scrub_stdout: bool | None = None, scrub_stderr: bool | None = None,
                       scrub_files: bool | None = None, scrub_result: bool | None = None,
                       mcp: MCPManager | None = None) -> Sandbox: ...
    def create_session(self, *, vfs: VfsStorage | None = None, vfs_mount_path: str | None = None,
                       resource_limits: ResourceLimits | None = None, network: _Network = None,
                       callbacks: _Callbacks = None, volumes: Sequence[_Volume] | None = None,
                       on_stdout: _Stream | None = None, on_stderr: _Stream | None = None,
                       result_variable: str | None = None, secrets: _Secrets = None,
                       scrub_stdout: bool | None = None, scrub_stderr: bool | None = None,
                       scrub_files: bool | None = None, scrub_result: bool | None = None,
                       mcp: MCPManager | None = None) -> Session: ...
    def save(self, path: str | os.PathLike[str]) -> None: ...
    def to_bytes(self) -> bytes: ...
    @classmethod
    def from_bytes(cls, data: bytes, *, site_packages: str | os.PathLike[str] | None = None,
                   cache: bool | str | os.PathLike[str] = True, state_key: bytes | None = None) -> SandboxFactory: ...
    @classmethod
    def load(cls, path: str | os.PathLike[str], *, site_packages: str | os.PathLike[str] | None = None,
             cache: bool | str | os.PathLike[str] = True, state_key: bytes | None = None) -> SandboxFactory: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def imports(self) -> list[str]: ...
