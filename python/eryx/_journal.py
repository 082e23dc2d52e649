"""Durable execution (docs/DURABLE.md): SuspendCallback, which a host callback
raises to suspend the execution; SuspendedCallback and ReplayOutcome, what
execute_with_journal returns; and run_with_journal, the one function behind
Sandbox, Session and PooledSandbox.execute_with_journal. The journal itself
(record, replay, signatures, bounds) is the C library's (src/sandbox/journal.c)."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:  # _core imports this module's names lazily: no cycle at run time
    from ._core import EryxError, ExecuteResult


class SuspendCallback(Exception):
    """Raise from a host callback to suspend the execution. The argument is an
    opaque reason string, surfaced as ReplayOutcome.suspended.reason. The guest
    halts at once and the suspended call is not journaled, so it runs live again on
    resume (execute_with_journal with the outcome's journal)."""


def suspend_reason(exc: SuspendCallback) -> str:
    """The reason a SuspendCallback carries: str(exc), as the reference ("" without an
    argument, the argument as text with one, the tuple's text with several)."""
    try:
        return str(exc)
    except Exception:  # a subclass whose __str__ fails: still a suspension
        return ""


def _debug(text: str) -> str:
    from ._core import _debug_str
    return _debug_str(text)


class SuspendedCallback:
    """The callback that suspended an execution by raising SuspendCallback."""

    __slots__ = ("_name", "_args_json", "_reason")

    def __init__(self, name: str, args_json: str, reason: str) -> None:
        self._name, self._args_json, self._reason = name, args_json, reason

    @property
    def name(self) -> str:
        """The callback's name (as registered)."""
        return self._name

    @property
    def args_json(self) -> str:
        """The arguments it was called with, as canonical JSON (compact, keys sorted)."""
        return self._args_json

    @property
    def reason(self) -> str:
        """The reason given to SuspendCallback."""
        return self._reason

    def __repr__(self) -> str:
        return (f"SuspendedCallback(name={_debug(self._name)}, args_json={_debug(self._args_json)}, "
                f"reason={_debug(self._reason)})")


class ReplayOutcome:
    """What execute_with_journal returns. Exactly one of result and error is set;
    journal is always there, also when the run failed or was suspended (then error
    is the ExecutionError "execution suspended: <reason>": branch on suspended
    first)."""

    __slots__ = ("_result", "_error", "_journal", "_replayed", "_suspended")

    def __init__(self, result: Any, error: BaseException | None, journal: dict[str, Any], replayed: int,
                 suspended: SuspendedCallback | None) -> None:
        self._result, self._error, self._journal = result, error, journal
        self._replayed, self._suspended = replayed, suspended

    @property
    def result(self) -> ExecuteResult | None:
        """The ExecuteResult, or None when the run failed or was suspended."""
        return self._result

    @property
    def error(self) -> EryxError | None:
        """The exception execute() would have raised, or None on success."""
        return self._error

    @property
    def journal(self) -> dict[str, Any]:
        """The journal of this run as a JSON-compatible dict: store it (json.dumps)
        and pass it back as journal= to resume. Signed ("signature") when a key was
        given; without a key it is trusted input."""
        return self._journal

    @property
    def replayed_callbacks(self) -> int:
        """How many callback calls were served from the journal given."""
        return self._replayed

    @property
    def suspended(self) -> SuspendedCallback | None:
        """The callback that suspended the run, or None."""
        return self._suspended

    def __repr__(self) -> str:
        ok = "true" if self._error is None else "false"
        susp = f"Some({_debug(self._suspended.name)})" if self._suspended is not None else "None"
        return (f"ReplayOutcome(ok={ok}, journal_entries={len(self._journal.get('entries', ()))}, "
                f"replayed_callbacks={self._replayed}, suspended={susp})")


def _journal_text(journal: Any) -> bytes | None:
    """The journal as the C library reads it (compact UTF-8 JSON); ValueError when it
    cannot be one. The reference's "args_hash" (a 64-bit hash eryx neither writes
    nor needs, which can exceed what the C JSON parser holds) is left out."""
    if journal is None:
        return None
    if not isinstance(journal, Mapping):
        raise ValueError(f"Invalid journal: expected a dict (an outcome's journal), not {type(journal).__name__}")
    entries = journal.get("entries")
    if isinstance(entries, list) and any(isinstance(e, Mapping) and isinstance(e.get("args_hash"), int)
                                         for e in entries):
        journal = dict(journal)
        journal["entries"] = [{k: v for k, v in e.items() if k != "args_hash"} if isinstance(e, Mapping) else e
                              for e in entries]
    try:
        return json.dumps(journal, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError) as e:
        raise ValueError(f"Invalid journal: not JSON: {e}") from None


class _Journaled:
    """_run's view of a sandbox whose execution is journaled: execute() passes the
    journal to the extension and keeps what it returns about it."""

    def __init__(self, sb: Any, text: bytes | None, key: bytes | None) -> None:
        self._sb, self._spec = sb, (text, key)
        self.reply: dict[str, Any] = {}

    def execute(self, *args: Any, **kw: Any) -> dict[str, Any]:
        self.reply = self._sb.execute(*args, journal=self._spec, **kw)
        return self.reply


def run_with_journal(sb: Any, code: str, journal: Any = None, *, key: Any = None,
                     on_stdout: Callable[..., Any] | None = None,
                     on_stderr: Callable[..., Any] | None = None) -> ReplayOutcome:
    """Runs code in sb (an _eryx.Sandbox) with a callback journal, as
    Sandbox.execute_with_journal documents; PooledSandbox calls it too. Never raises
    for an execution's failure (it is the outcome's error); ValueError for a
    journal that is malformed, too large or not signed as key requires."""
    from ._core import EryxError, ExecutionError, _check_state_key, _run

    text, key = _journal_text(journal), _check_state_key(key, "key")
    view = _Journaled(sb, text, key)
    result, error = None, None
    try:
        result = _run(view, code, on_stdout, on_stderr)  # type: ignore[arg-type]
    except EryxError as e:
        error = e
    reply = view.reply
    suspended = None
    if reply.get("suspended"):
        name, args_json, reason = reply["suspended"]
        suspended = SuspendedCallback(name, args_json, reason)
        halted = ExecutionError(f"execution suspended: {reason}")  # the reference's error
        for attr in ("stdout", "stderr", "net_stats"):  # what ran before the halt
            if hasattr(error, attr):
                setattr(halted, attr, getattr(error, attr))
        error, result = halted, None
    recorded = json.loads(reply["journal"]) if reply.get("journal") else {"code": code, "entries": []}
    return ReplayOutcome(result, error, recorded, reply.get("replayed", 0), suspended)
