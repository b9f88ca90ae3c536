"""Entry point of the ``ingest`` console script.

Every command module exposes ``register(app)``; keeping the list here makes the whole CLI visible at a glance.
Results go to stdout, progress and messages to stderr.
"""

from __future__ import annotations

import sys

import typer

from ingest.cli import (
    deadletter_cmd,
    infer_cmd,
    jobs_cmd,
    keys_cmd,
    models_cmd,
    pipelines_cmd,
    serve_cmd,
)

app = typer.Typer(
    name="ingest",
    help="Elasticsearch's inference API, ingest pipelines and bulk ingest, run where you choose.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (models_cmd, infer_cmd, serve_cmd, pipelines_cmd, jobs_cmd, deadletter_cmd, keys_cmd):
    module.register(app)


def main() -> None:
    """Run the CLI, then stop what the command started (model deployments, provider clients).

    Stopping here, before the interpreter finalises, joins the deployment threads; left running they can be
    inside ONNX Runtime at teardown and abort the process (exit 134) after a correct answer.
    """
    try:
        app()
    finally:
        _close_models()


def _close_models() -> None:
    api_module = sys.modules.get("models.api")  # never imported by commands that need no model
    if api_module is not None:
        api_module.close_default_api()


if __name__ == "__main__":
    main()
