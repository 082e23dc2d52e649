"""eryx: run untrusted Python in a WebAssembly sandbox.

    import eryx
    sandbox = eryx.Sandbox()
    print(sandbox.execute("print(6 * 7)").stdout_text, end="")   # 42

Each Sandbox.execute() starts from fresh interpreter state; a Session keeps
state between executions. See docs/PYTHON.md in the eryx repository.
"""
from ._callbacks import CallbackRegistry, infer_schema
from ._core import (
    CancelledError,
    EryxError,
    ExecuteResult,
    ExecutionError,
    InitializationError,
    NetConfig,
    NetStats,
    ResourceLimitError,
    ResourceLimits,
    Sandbox,
    Session,
    TimeoutError,
    VfsStorage,
)
from ._factory import SandboxFactory
from ._pool import PooledSandbox, PoolClosedError, PoolError, PoolExhaustedError, PoolStats, PoolTimeoutError, SandboxPool
from ._journal import ReplayOutcome, SuspendCallback, SuspendedCallback
from .mcp import MCPManager  # noqa: F401 - pyeryx 0.11's eryx.MCPManager (eryx.mcp imports the SDK only to connect)

__version__ = "0.1.0"

__all__ = [
    "CallbackRegistry",
    "CancelledError",
    "EryxError",
    "ExecuteResult",
    "ExecutionError",
    "InitializationError",
    "NetConfig",
    "NetStats",
    "PoolClosedError",
    "PoolError",
    "PoolExhaustedError",
    "PoolStats",
    "PoolTimeoutError",
    "PooledSandbox",
    "ReplayOutcome",
    "ResourceLimitError",
    "ResourceLimits",
    "Sandbox",
    "SandboxFactory",
    "SandboxPool",
    "Session",
    "SuspendCallback",
    "SuspendedCallback",
    "TimeoutError",
    "VfsStorage",
    "__version__",
    "infer_schema",
]
