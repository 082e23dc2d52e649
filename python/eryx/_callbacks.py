"""Host callbacks of the Python module: schema inference from signatures,
CallbackRegistry, the checks of callback dicts, and the invoker the extension
calls on its callback threads (JSON in, JSON out)."""
from __future__ import annotations

import inspect
import json
import typing
from typing import Any, Callable, Iterable, Iterator, Mapping

from ._journal import SuspendCallback, suspend_reason

_JSON_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array",
                               dict: "object", type(None): "null"}


def _schema_of_annotation(ann: Any) -> dict[str, Any]:
    if ann is inspect.Parameter.empty or ann is Any:
        return {}
    origin = typing.get_origin(ann)
    if origin is not None and origin in (list, dict):
        return {"type": _JSON_TYPES[origin]}
    if origin is typing.Union or type(ann).__name__ == "UnionType":
        parts = [_schema_of_annotation(a) for a in typing.get_args(ann)]
        types = [p["type"] for p in parts if "type" in p]
        return {"type": types} if len(types) == len(parts) else {}
    if ann in _JSON_TYPES:
        return {"type": _JSON_TYPES[ann]}
    return {}


def infer_schema(fn: Callable[..., Any]) -> dict[str, Any]:
    """A JSON Schema of fn's parameters from its type hints: str, int, float, bool,
    list, dict, None (others: any value); parameters without defaults are required."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        hints = {}
    props: dict[str, Any] = {}
    required: list[str] = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        props[p.name] = _schema_of_annotation(hints.get(p.name, p.annotation))
        if p.default is inspect.Parameter.empty:
            required.append(p.name)
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


def _first_doc_line(fn: Callable[..., Any]) -> str:
    doc = inspect.getdoc(fn) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _make_entry(fn: Callable[..., Any], name: str | None, description: str | None,
                schema: Mapping[str, Any] | None) -> dict[str, Any]:
    if not callable(fn):
        raise TypeError(f"a callback must be callable, not {type(fn).__name__}")
    name = name if name is not None else getattr(fn, "__name__", None)
    if not isinstance(name, str) or not name:
        raise ValueError("a callback needs a name (this callable has no __name__)")
    if schema is not None and not isinstance(schema, Mapping):
        raise TypeError(f"schema must be a dict (a JSON Schema object), not {type(schema).__name__}")
    return {"name": name, "fn": fn, "description": description if description is not None else _first_doc_line(fn),
            "schema": dict(schema) if schema is not None else infer_schema(fn)}


class CallbackRegistry:
    """Host functions the sandbox may call (`await name(...)` in the guest)."""

    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []

    def add(self, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None,
            schema: Mapping[str, Any] | None = None) -> None:
        entry = _make_entry(fn, name, description, schema)
        if any(e["name"] == entry["name"] for e in self._entries):
            raise ValueError(f"a callback named {entry['name']!r} is already registered")
        self._entries.append(entry)

    def callback(self, name: str | None = None, description: str | None = None,
                 schema: Mapping[str, Any] | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        if callable(name):  # used bare: @registry.callback
            fn = name
            self.add(fn)
            return fn

        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.add(fn, name=name, description=description, schema=schema)
            return fn

        return deco

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter([dict(e) for e in self._entries])

    def __repr__(self) -> str:
        return f"CallbackRegistry({[e['name'] for e in self._entries]!r})"


def _normalize_callbacks(callbacks: Any) -> list[dict[str, Any]]:
    if callbacks is None:
        return []
    if isinstance(callbacks, (CallbackRegistry, dict)):
        callbacks = [callbacks]
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Iterable):
        raise TypeError("callbacks must be a list of dicts and/or CallbackRegistry objects")
    out: list[dict[str, Any]] = []
    for item in callbacks:
        if isinstance(item, CallbackRegistry):
            out.extend(item)
        elif isinstance(item, Mapping):
            unknown = set(item) - {"name", "fn", "description", "schema"}
            if unknown:
                raise ValueError(f"unknown callback keys: {sorted(unknown)}")
            # The reference's errors: KeyError for a missing key, TypeError for a name that is not a str.
            for key in ("name", "fn"):
                if key not in item:
                    raise KeyError(f"Callback dict missing {key!r} key")
            if not isinstance(item["name"], str):
                raise TypeError(f"a callback's name must be a str, not {type(item['name']).__name__}")
            out.append(_make_entry(item["fn"], item["name"], item.get("description"), item.get("schema")))
        else:
            raise TypeError(f"a callback must be a dict or a CallbackRegistry, not {type(item).__name__}")
    names = [e["name"] for e in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"callbacks registered twice: {sorted(dup)}")
    return out


def _invoker(fn: Callable[..., Any]) -> Callable[[str], str]:
    """The function the extension calls on one of eryx's threads: JSON arguments in,
    JSON text out. Coroutine functions run on an event loop of that thread. A
    SuspendCallback comes out as (reason,): the extension suspends the execution."""
    is_async = inspect.iscoroutinefunction(fn)

    def invoke(args_json: str) -> str | tuple[str]:
        try:
            return call(args_json)
        except SuspendCallback as e:
            return (suspend_reason(e),)

    def call(args_json: str) -> str:
        kwargs = json.loads(args_json) if args_json else {}
        if not isinstance(kwargs, dict):
            raise TypeError("callback arguments must be a JSON object")
        value = fn(**kwargs)
        if is_async or inspect.isawaitable(value):
            import asyncio  # here, not at the top: importing it costs ~45 ms that most users never need

            value = asyncio.run(_await(value))
        return json.dumps(value, allow_nan=False)

    return invoke


async def _await(aw: Any) -> Any:
    return await aw
