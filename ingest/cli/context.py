"""The command's application context: built on first use from the environment's settings (read once), kept on
the root Click context and closed when the command ends — no module-level state, nothing rebuilt per call."""

from __future__ import annotations

import typer

from ingest.context import AppContext


def cli_context(ctx: typer.Context) -> AppContext:
    """This command's :class:`AppContext` (settings, home, inference API, pipelines, dead letters, sinks)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppContext):
        root.obj = AppContext()
        root.call_on_close(root.obj.close)  # before the interpreter finalises: deployment threads are joined
    return root.obj
