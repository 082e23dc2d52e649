"""python -m eryx serve: eryx as an MCP server (issue 19; docs/MCP.md).

SKELETON: owned by the serve helper (branch mcp-serve).
"""
from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    raise NotImplementedError
