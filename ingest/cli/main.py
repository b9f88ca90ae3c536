"""Entry point of the ``ingest`` console script.

Every command module exposes ``register(app)``; keeping the list here makes the whole CLI visible at a glance.
Results go to stdout, progress and messages to stderr.
"""

from __future__ import annotations

import typer

from ingest.cli import (
    deadletter_cmd,
    infer_cmd,
    jobs_cmd,
    keys_cmd,
    models_cmd,
    pipelines_cmd,
    security_cmd,
    serve_cmd,
)

app = typer.Typer(
    name="ingest",
    help="Elasticsearch's inference API, ingest pipelines and bulk ingest, run where you choose.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
)

for module in (models_cmd, infer_cmd, serve_cmd, pipelines_cmd, jobs_cmd, deadletter_cmd, keys_cmd,
               security_cmd):
    module.register(app)


def main() -> None:
    """Run the CLI."""
    app()


if __name__ == "__main__":
    main()
