"""`mcpchat chat`: a terminal chat client for any mcpchat server.

A package of its own: it speaks only MCP to the server and imports nothing of the server
(Django, Channels, the chat core), so it runs wherever FastMCP's client and prompt_toolkit do.
"""

from mcpchat_terminal.main import run_chat

__all__ = ["run_chat"]
