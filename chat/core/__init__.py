"""Pure-Python chat core: identities, matching, rooms, mailbox logs, events and errors.

Nothing here imports Django, Channels or FastMCP, and nothing here awaits: every operation
is a plain method call that runs to completion, so the in-process state backend gets its
atomicity for free from the event loop, and the rules can be unit-tested without one.
"""
