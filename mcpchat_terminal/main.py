"""Run the terminal client: a prompt that stays below incoming output, or piped lines."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator

from mcpchat_terminal.client import TerminalChat


async def terminal_lines() -> AsyncIterator[str]:
    """Lines typed at a prompt that stays below incoming output; Ctrl-C/Ctrl-D end it."""
    from prompt_toolkit import PromptSession

    session: PromptSession[str] = PromptSession()
    while True:
        try:
            yield await session.prompt_async("you> ")
        except (EOFError, KeyboardInterrupt):
            return


async def piped_lines() -> AsyncIterator[str]:
    """Plain lines from a non-terminal stdin, until it ends."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        yield line.decode(errors="replace")


def run_chat(url: str, name: str | None, room: str | None, token: str | None) -> int:
    async def main() -> int:
        # Ctrl-C outside the prompt (connecting, piped input) cancels the chat, which then
        # leaves cleanly; at the prompt, prompt_toolkit reads it as a key instead.
        main_task = asyncio.current_task()
        assert main_task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, main_task.cancel)
        if sys.stdin.isatty():
            from prompt_toolkit.patch_stdout import patch_stdout

            with patch_stdout(raw=True):
                return await TerminalChat(url, name, room, token).run(terminal_lines())
        return await TerminalChat(url, name, room, token).run(piped_lines())

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 130
