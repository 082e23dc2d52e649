"""MCP tools inside the sandbox: MCPManager and server discovery (issue 19).

MCPManager connects to stdio MCP servers through the official MCP SDK's client
and exposes each server's tools to sandboxed code as awaitable callbacks named
"mcp.<server>.<tool>" (also mcp["server"]["tool"] in the guest), as pyeryx 0.11.
The SDK is imported only when a server is connected, so `import eryx` works
without it. docs/MCP.md.

SKELETON: owned by the mcp-manager helper (branch mcp-manager).
"""
from __future__ import annotations

from typing import Any


class MCPManager:
    """Connections to MCP servers; pass it as Sandbox(mcp=...) / Session(mcp=...)."""

    def __init__(self) -> None:
        self._servers: dict[str, Any] = {}

    @property
    def server_names(self) -> list[str]:
        return list(self._servers)

    def connect(self, name: str, command: str, args: list[str] = [], env: dict[str, str] = {},  # noqa: B006
                timeout_secs: float = 30.0) -> int:
        raise NotImplementedError

    def list_tools(self) -> list[dict[str, Any]]:
        """[{"name": "mcp.<server>.<tool>", "description": str, "schema": dict}]"""
        return []

    def close(self) -> None:
        self._servers.clear()

    def _callbacks(self) -> list[dict[str, Any]]:
        """The tools as eryx callback dicts {"name", "fn", "description", "schema"}."""
        return []
