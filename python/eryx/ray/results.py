"""RayResult: what one execution through eryx.ray produced, as a plain, picklable,
immutable value (it crosses Ray's object store), and its constructors on the actor
(from an ExecuteResult or an exception) and on the driver (lost to a dead actor)."""
from __future__ import annotations

import dataclasses
from typing import Any

from .._core import (CancelledError, ExecuteResult, ExecutionError, InitializationError, ResourceLimitError,
                     TimeoutError, _TextOutputs)

# error_type's values for the errors eryx raises (the class names, as eryx exports them)
_ERROR_TYPES = ((ExecutionError, "ExecutionError"), (TimeoutError, "TimeoutError"),
                (ResourceLimitError, "ResourceLimitError"), (CancelledError, "CancelledError"),
                (InitializationError, "InitializationError"))


@dataclasses.dataclass(frozen=True, slots=True)
class RayResult(_TextOutputs):  # stdout_text/stderr_text as ExecuteResult's
    """One execution's outcome. ok=False results carry error_type, one of
    "ExecutionError" (the code raised; traceback is the guest's), "TimeoutError",
    "ResourceLimitError" (memory, fuel, output), "CancelledError",
    "InitializationError" (no sandbox could be made), "ActorDiedError" (the actor
    died and no retry was left), or the name of another exception the actor met.

    index: the code's position in map()'s input, or in submit() order (per executor).
    attempt: which attempt produced the result (1-based; > 1 after retries).
    actor, node: the Ray actor id and node id (hex) that ran it ("" when none did).
    duration_ms: the sandbox's execution time; for an error, the execute call's
    wall time on the actor; 0.0 when it never ran."""

    index: int
    ok: bool
    stdout: bytes = b""
    stderr: bytes = b""
    result: Any = None
    result_error: str | None = None
    duration_ms: float = 0.0
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    attempt: int = 1
    actor: str = ""
    node: str = ""



def from_execute(index: int, r: ExecuteResult, attempt: int, actor: str, node: str) -> RayResult:
    return RayResult(index=index, ok=True, stdout=r.stdout, stderr=r.stderr, result=r.result,
                     result_error=r.result_error, duration_ms=r.duration_ms, attempt=attempt, actor=actor, node=node)


def _last_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else text


def from_exception(index: int, exc: BaseException, duration_ms: float, attempt: int, actor: str,
                   node: str) -> RayResult:
    """An error result; any exception (eryx's or the actor's own) becomes one."""
    etype = next((name for cls, name in _ERROR_TYPES if isinstance(exc, cls)), type(exc).__name__)
    tb = getattr(exc, "traceback", None) if isinstance(exc, ExecutionError) else None
    # ExecutionError's message is the whole traceback: its last line names the exception
    message = _last_line(tb) if tb else str(exc)
    return RayResult(index=index, ok=False, stdout=bytes(getattr(exc, "stdout", b"") or b""),
                     stderr=bytes(getattr(exc, "stderr", b"") or b""), duration_ms=duration_ms,
                     error_type=etype, error_message=message, traceback=tb, attempt=attempt, actor=actor, node=node)


def actor_died(index: int, attempt: int, actor: str, message: str) -> RayResult:
    """The result of an item whose actor died before returning it, with no retry left."""
    return RayResult(index=index, ok=False, error_type="ActorDiedError", error_message=message, attempt=attempt,
                     actor=actor)
