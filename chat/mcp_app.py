"""The complete MCP server: tools, plus the prompts and resources registered on it."""

from __future__ import annotations

from chat import mcp_prompts, mcp_window  # noqa: F401  (register prompts and resources)
from chat.mcp_tools import cache_input_schemas, mcp

__all__ = ["cache_input_schemas", "mcp"]
