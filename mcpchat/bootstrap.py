"""Start-up chores that make a fresh clone run with one command."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

log = logging.getLogger("chat")


def migrate_if_needed() -> None:
    """Apply pending migrations to the embedded database (MCPCHAT_AUTO_MIGRATE=0 skips)."""
    if not settings.MCPCHAT_AUTO_MIGRATE:
        return
    connection = connections["default"]
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        log.info("applying database migrations")
        call_command("migrate", interactive=False, verbosity=0)
    connection.close()
