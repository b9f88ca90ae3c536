"""Entry point of the ``ingest`` console script.

Every command module exposes ``register(app)``; keeping the list here makes the whole CLI visible at a glance.
Results go to stdout, progress and messages to stderr.
"""

from __future__ import annotations

import sys

import typer

from ingest.cli import (
    deadletter_cmd,
    indices_cmd,
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


_PIPED_WIDTH = 120


def version() -> str:
    """The installed package's version (the source tree's pyproject when run from a checkout)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("ingest")
    except PackageNotFoundError:
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"ingest {version()}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True,
                                      callback=_show_version),
) -> None:
    """Elasticsearch's inference API, ingest pipelines and bulk ingest, run where you choose."""


for module in (models_cmd, infer_cmd, serve_cmd, pipelines_cmd, jobs_cmd, deadletter_cmd, keys_cmd,
               security_cmd, indices_cmd):
    module.register(app)


def main() -> None:
    """Run the CLI, then stop what the command started (model deployments, provider clients).

    Stopping here, before the interpreter finalises, joins the deployment threads; left running they can be
    inside ONNX Runtime at teardown and abort the process (exit 134) after a correct answer.
    """
    if not sys.stdout.isatty():
        # Plain help when piped or redirected: Rich would fit it to 80 columns and cut option help short
        # with "…"; Click's formatter wraps it instead, at a fixed width wide enough for the command list.
        app.rich_markup_mode = None
        app.info.context_settings = {"terminal_width": _PIPED_WIDTH, "max_content_width": _PIPED_WIDTH}
    try:
        app(prog_name="ingest")  # the same name (and completion variable) however it was started
    finally:
        _close_models()


def _close_models() -> None:
    api_module = sys.modules.get("ingest.models.api")  # never imported by commands that need no model
    if api_module is not None:
        api_module.close_default_api()


if __name__ == "__main__":
    main()
