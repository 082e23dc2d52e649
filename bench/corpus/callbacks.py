"""The host callbacks of the corpus's callback snippets (NN_cb_*.py), in Python.

bench/corpus.py hands these functions to eryx's and pyeryx's Sandbox(callbacks=...),
and defines them (as async functions) in a prelude for native CPython; the C twin
used by eryx-bench and the e2e.corpus test is src/bench/corpus_callbacks.c. All give
the same answers: deterministic, no I/O.
"""

CONFIG = {"threshold": 50, "currency": "EUR", "batch": 4}


def get_user(user_id: int) -> dict:
    """A user record by id."""
    return {"id": user_id, "name": f"user{user_id}", "score": user_id * 37 % 101, "active": user_id % 3 != 0}


def get_config(key: str):
    """A setting by name (null when there is none)."""
    return CONFIG.get(key)


CALLBACKS = [
    {"name": "get_user", "fn": get_user, "description": "A user record by id.",
     "schema": {"type": "object", "properties": {"user_id": {"type": "integer"}}, "required": ["user_id"]}},
    {"name": "get_config", "fn": get_config, "description": "A setting by name (null when there is none).",
     "schema": {"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]}},
]
