"""``ingest dead-letter list|replay|purge``: documents that could not be indexed, sending them again, and
forgetting them."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time

import typer

from ingest.models.errors import ElasticsearchError


def register(app: typer.Typer) -> None:
    """Add the ``dead-letter`` command group."""
    group = typer.Typer(help="Documents that could not be indexed.", no_args_is_help=True)
    app.add_typer(group, name="dead-letter")

    @group.command("list")
    def list_cmd(
        ctx: typer.Context,
        job_id: str | None = typer.Option(None, "--job-id", help="Only this job's entries."),
        limit: int | None = typer.Option(None, "--limit", help="At most this many entries."),
    ) -> None:
        """Print entries as JSON lines: job, stage, error type and reason, original content."""
        from ingest.cli.context import cli_context

        for letter in cli_context(ctx).deadletters().iter(job_id, limit=limit):
            typer.echo(json.dumps(letter.to_dict()))

    @group.command("replay")
    def replay_cmd(
        ctx: typer.Context,
        job_id: str | None = typer.Option(None, "--job-id", help="Only this job's entries."),
        dest: str | None = typer.Option(None, "--dest", help="Override the job's destination."),
        index: str | None = typer.Option(None, "--index", help="Override the target index."),
        pipeline: str | None = typer.Option(None, "--pipeline", help="Override the pipeline."),
    ) -> None:
        """Send the stored documents through the job runner again; entries that fail again stay listed."""
        from ingest.cli.context import cli_context
        from ingest.deadletter.replay import replay

        context = cli_context(ctx)
        try:
            report = replay(context.deadletters(), job_id=job_id, dest=dest, index=index, pipeline=pipeline,
                            context=context)
        except ElasticsearchError as exc:
            sys.stderr.write(json.dumps(exc.to_dict()) + "\n")
            raise typer.Exit(2) from exc
        typer.echo(json.dumps(report.to_dict()))
        if report.failed_again or report.unreadable:
            raise typer.Exit(1)

    @group.command("purge")
    def purge_cmd(
        ctx: typer.Context,
        seqs: list[int] | None = typer.Argument(None, help="Sequence numbers (the seq of `ingest dead-letter list`)."),
        job_id: str | None = typer.Option(None, "--job-id", help="Only this job's entries."),
        before: str | None = typer.Option(None, "--before",
                                          help="Only entries older than this: an age (7d, 12h, 30m) or a UTC date/time (2026-01-31, 2026-01-31T12:00)."),
        everything: bool = typer.Option(False, "--all", help="Every entry of every job (needed when no filter is given)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be deleted, delete nothing."),
    ) -> None:
        """Delete entries for good. Filters combine (AND); prints {"purged": N} (or {"would_purge": N})."""
        from ingest.cli.context import cli_context

        if not (seqs or job_id or before or everything):
            sys.stderr.write("ingest dead-letter purge: say what to delete: sequence numbers, --job-id, --before, "
                             "or --all for every entry (add --dry-run to count first)\n")
            raise typer.Exit(2)
        try:
            cutoff = parse_before(before) if before else None
        except ValueError as exc:
            sys.stderr.write(f"ingest dead-letter purge: {exc}\n")
            raise typer.Exit(2) from None
        count = cli_context(ctx).deadletters().purge(job_id=job_id, before=cutoff, seqs=seqs or None, dry_run=dry_run)
        typer.echo(json.dumps({"would_purge" if dry_run else "purged": count}))


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_before(text: str, now: float | None = None) -> float:
    """``--before``: an age (``7d``, ``12h``, ``30m``, ``45s``, ``2w``) or an ISO date/time (UTC unless it has an
    offset) → a Unix time; ValueError with the accepted forms otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text)
    if match:
        return (time.time() if now is None else now) - int(match.group(1)) * _UNITS[match.group(2)]
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"cannot parse --before [{text}]: expected an age such as 7d, 12h, 30m, "
                         "or a date/time such as 2026-01-31 or 2026-01-31T12:00:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()
