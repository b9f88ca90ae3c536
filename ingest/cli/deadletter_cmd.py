"""``ingest dead-letter list|replay``: documents that could not be indexed, and sending them again."""

from __future__ import annotations

import json
import sys

import typer

from models.errors import ElasticsearchError


def register(app: typer.Typer) -> None:
    """Add the ``dead-letter`` command group."""
    group = typer.Typer(help="Documents that could not be indexed.", no_args_is_help=True)
    app.add_typer(group, name="dead-letter")

    @group.command("list")
    def list_cmd(
        job_id: str | None = typer.Option(None, "--job-id", help="Only this job's entries."),
        limit: int | None = typer.Option(None, "--limit", help="At most this many entries."),
    ) -> None:
        """Print entries as JSON lines: job, stage, error type and reason, original content."""
        from ingest.deadletter.store import DeadLetterStore

        store = DeadLetterStore()
        for letter in store.iter(job_id, limit=limit):
            typer.echo(json.dumps(letter.to_dict()))
        store.close()

    @group.command("replay")
    def replay_cmd(
        job_id: str | None = typer.Option(None, "--job-id", help="Only this job's entries."),
        dest: str | None = typer.Option(None, "--dest", help="Override the job's destination."),
        index: str | None = typer.Option(None, "--index", help="Override the target index."),
        pipeline: str | None = typer.Option(None, "--pipeline", help="Override the pipeline."),
    ) -> None:
        """Send the stored documents through the job runner again; entries that fail again stay listed."""
        from ingest.deadletter.replay import replay
        from ingest.deadletter.store import DeadLetterStore

        store = DeadLetterStore()
        try:
            report = replay(store, job_id=job_id, dest=dest, index=index, pipeline=pipeline)
        except ElasticsearchError as exc:
            sys.stderr.write(json.dumps(exc.to_dict()) + "\n")
            raise typer.Exit(2) from exc
        finally:
            store.close()
        typer.echo(json.dumps(report.to_dict()))
        if report.failed_again or report.unreadable:
            raise typer.Exit(1)
