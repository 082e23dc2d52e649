"""Guest-side host callbacks: the async functions set_callbacks installs in
__main__ for the host's callbacks, their namespaces (dotted names, MCP tools as
mcp.<server>.<tool>), CallbackError, invoke and list_callbacks.

Split from _eryx_support, which the host calls (its set_callbacks is this one's)
and which keeps the ABI's table of cb_start's refusals (_REFUSED, checked by
unit.guest_abi). docs/ARCHITECTURE.md, docs/MCP-TOOLS.md.
"""
import sys

import _eryx

# Each registered callback is an async function in __main__. A call starts it on a
# host thread (_eryx.cb_start) and awaits a future; the event loop's selector
# waits in the host (_eryx.cb_wait) for any call to finish and resolves its future,
# so asyncio.gather runs several calls at once. asyncio's timers keep working: the
# selector's timeout bounds the host wait.

_CALLBACKS = []   # the host's description: [{"name", "description", "parameters"}]
_BY_SHOWN = {}    # a name as written (list_callbacks) -> as registered (hex-escaped MCP parts)
_pending = {}     # call id -> future


class CallbackError(RuntimeError):
    """A host callback failed (its message is the host's, never its traceback), was
    refused (unknown, over the invocation limit, too large) or did not answer in
    time. A RuntimeError, as the reference's callback failures are, so code
    written for it (`except RuntimeError`) catches ours."""


def _selector_class():
    import selectors

    class CallbackSelector(selectors.SelectSelector):
        def select(self, timeout=None):
            if not _pending:
                return super().select(timeout)
            # Registered fds (rare here) are polled between host waits.
            has_fds = bool(self.get_map())
            ms = -1 if timeout is None else max(0, int(timeout * 1000))
            if has_fds and (ms < 0 or ms > 10):
                ms = 10
            cid = _eryx.cb_wait(ms)
            while cid >= 0:
                kind, data = _eryx.cb_take(cid)
                fut = _pending.pop(cid, None)
                if fut is not None and not fut.done():
                    if kind == 0:
                        fut.set_result(data)
                    else:
                        fut.set_exception(CallbackError(data.decode("utf-8", "replace")))
                cid = _eryx.cb_wait(0)
            return super().select(0) if has_fds else []

    return CallbackSelector


def _install_loop_policy():
    import asyncio
    selector_class = _selector_class()

    class Policy(asyncio.DefaultEventLoopPolicy):
        def new_event_loop(self):
            return asyncio.SelectorEventLoop(selector_class())

    asyncio.set_event_loop_policy(Policy())


async def _call(name, shown, kwargs):
    """Calls the host's callback registered as name with kwargs; its JSON answer, decoded."""
    import asyncio
    import json
    payload = json.dumps(kwargs, ensure_ascii=False, allow_nan=False).encode("utf-8")
    cid = _eryx.cb_start(name.encode(), payload)
    if cid < 0:
        from _eryx_support import _REFUSED
        raise CallbackError(f"callback {shown}: {_REFUSED.get(cid, 'refused')}")
    fut = asyncio.get_running_loop().create_future()
    _pending[cid] = fut
    try:
        data = await fut
    finally:
        _pending.pop(cid, None)
    return json.loads(data)


async def invoke(_callback_name, **kwargs):
    """Calls the host callback named _callback_name (as list_callbacks shows it,
    dotted for namespaces) with keyword arguments and returns its result, as the
    reference's invoke does. An unknown name raises CallbackError."""
    if not isinstance(_callback_name, str):
        raise TypeError(f"invoke() needs a callback name (str), not {type(_callback_name).__name__}")
    return await _call(_BY_SHOWN.get(_callback_name, _callback_name), _callback_name, kwargs)


def _make_callback(spec, parts):
    name = spec["name"]  # as registered (hex-escaped parts: the C library's names)
    shown = ".".join(parts)  # as written, for the messages
    props = spec.get("parameters", {}).get("properties", {})
    order = list(props) if isinstance(props, dict) else []

    async def call(*args, **kwargs):
        if len(args) > len(order):
            raise TypeError(f"{shown}() takes {len(order)} positional arguments but {len(args)} were given")
        for key, value in zip(order, args):
            if key in kwargs:
                raise TypeError(f"{shown}() got multiple values for argument {key!r}")
            kwargs[key] = value
        return await _call(name, shown, kwargs)

    call.__name__ = call.__qualname__ = parts[-1]
    call.__doc__ = spec.get("description") or None
    return call


def list_callbacks():
    """The host callbacks: a list of {"name", "description", "parameters",
    "parameters_schema"} (the last as the reference names it; the same schema)."""
    import copy
    return copy.deepcopy(_CALLBACKS)


class CallbackNamespace:
    """The namespace of dotted callback names (mcp.server.tool): attributes, and
    subscripts for names that are not identifiers (mcp["server"]["tool-name"])."""

    def __getitem__(self, key):
        try:
            return self.__dict__[key]
        except (KeyError, TypeError):
            raise KeyError(key) from None

    def __contains__(self, key):
        return key in self.__dict__

    def __iter__(self):
        return iter(list(self.__dict__))

    def __repr__(self):
        return f"<callbacks {sorted(self.__dict__)}>"


# MCP tool and server names that are not identifiers come hex-encoded in the
# callback name (eryx/mcp.py, _wire): "_x_" + the UTF-8 bytes in hex.
_MCP_ESCAPE = "_x_"


def _callback_path(name):
    """A callback name as namespace parts: "mcp.<server>.<tool>" splits in three
    at most (a tool's dots stay in its name), its parts decoded."""
    if not name.startswith("mcp."):
        return name.split(".")
    return [_mcp_unescape(p) for p in name.split(".", 2)]


def _mcp_unescape(part):
    if part.startswith(_MCP_ESCAPE):
        try:
            return bytes.fromhex(part[len(_MCP_ESCAPE):]).decode("utf-8")
        except ValueError:  # not ours (a callback the host named so): as it is
            pass
    return part


def set_callbacks(spec_json):
    """Called by the host at each instance start when callbacks are registered:
    installs them (and list_callbacks, CallbackError) in __main__; invoke is a
    builtin (_eryx_support)."""
    import json
    global _CALLBACKS, _BY_SHOWN
    specs = json.loads(spec_json)
    _install_loop_policy()
    main = sys.modules["__main__"].__dict__
    shown, by_shown = [], {}
    for spec in specs:
        parts = _callback_path(spec["name"])
        written = ".".join(parts)
        shown.append(dict(spec, name=written, parameters_schema=spec.get("parameters")))  # list_callbacks: the names as written
        by_shown[written] = spec["name"]
        target = main
        for part in parts[:-1]:  # dotted names: nested namespaces
            ns = target.get(part) if isinstance(target, dict) else target.__dict__.get(part)
            if not isinstance(ns, CallbackNamespace):
                ns = CallbackNamespace()
                if isinstance(target, dict):
                    target[part] = ns
                else:
                    target.__dict__[part] = ns
            target = ns
        fn = _make_callback(spec, parts)
        if isinstance(target, dict):
            target[parts[-1]] = fn
        else:
            target.__dict__[parts[-1]] = fn
    _CALLBACKS, _BY_SHOWN = shown, by_shown
    main["list_callbacks"] = list_callbacks
    main["CallbackError"] = CallbackError
    import _eryx_support
    _eryx_support._baseline = frozenset(main)  # its clear() keeps them
    return 0
