"""Tool errors with a machine-readable code.

Every refused call is an MCP tool error (isError) whose text says what to do next and whose
structuredContent is `{"error": {"code": ..., "message": ...}}`, so clients branch on the code,
never on English text. Chat errors become such results inside the tool (no exception reaches
FastMCP, so none is logged); invalid arguments and masked internal errors are given a code by
the `CodedErrors` middleware.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from fastmcp.exceptions import ToolError, ValidationError
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.server.middleware.dereference import DereferenceRefsMiddleware
from fastmcp.tools import ToolResult
from pydantic import ValidationError as PydanticValidationError

from chat.core.errors import ChatError

P = ParamSpec("P")
R = TypeVar("R")

INVALID_INPUT = "invalid_input"
INTERNAL_ERROR = "internal_error"


def error_result(code: str, message: str, **extra: Any) -> ToolResult:
    return ToolResult(
        content=message,
        structured_content={"error": {"code": code, "message": message, **extra}},
        is_error=True,
    )


def chat_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R | ToolResult]]:
    """Answer the core's `ChatError` with a coded tool error carrying its guidance."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | ToolResult:
        try:
            return await fn(*args, **kwargs)
        except ChatError as e:
            return error_result(e.code, e.message, **e.details)

    return wrapper


class CodedErrors(Middleware):
    """Give a code to the errors FastMCP raises before or around a tool; everything but a
    tool call goes through FastMCP's own `DereferenceRefsMiddleware` ($ref inlined in listed
    schemas, for clients such as VS Code Copilot that cannot follow one).

    It is the server's only middleware (`FastMCP(dereference_schemas=False)` leaves out the
    default one, which this one runs instead): each middleware in FastMCP's chain costs a
    closure and a coroutine per call, which a parked wait holds for as long as it waits
    (docs/PERFORMANCE.md). For the same reason it overrides `__call__` (documented) rather
    than `on_call_tool`: the base class chains on_message, on_request and the typed hook as
    three more closures and coroutines per call."""

    def __init__(self) -> None:
        self.dereference = DereferenceRefsMiddleware()

    async def __call__(self, context: MiddlewareContext[Any], call_next: CallNext[Any, Any]) -> Any:
        if context.method != "tools/call":
            return await self.dereference(context, call_next)
        try:
            return await call_next(context)
        except ValidationError as e:
            return error_result(INVALID_INPUT, _describe(context.message.name, e))
        except ToolError as e:  # an internal error, already logged and masked by FastMCP
            return error_result(INTERNAL_ERROR, str(e))


class CallerMistakesAtDebug(logging.Filter):
    """FastMCP logs every invalid argument at WARNING before any middleware sees it; a caller's
    mistake is not the operator's problem (and costs a formatted record per call)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Invalid arguments for tool"):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


logging.getLogger("fastmcp.server.server").addFilter(CallerMistakesAtDebug())


def _describe(tool: str, error: ValidationError) -> str:
    cause = error.__cause__
    if not isinstance(cause, PydanticValidationError):
        return f"Invalid arguments for {tool}: {error}. Check the tool's input schema."
    problems = "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'arguments'}: {e['msg']}"
        for e in cause.errors(include_url=False)
    )
    return f"Invalid arguments for {tool}: {problems}. Fix them as the input schema says."
