"""``ingest run``, ``ingest reindex``, ``ingest search``: bulk ingest jobs and a look at their vectors.

Exit status: 0 when every document was indexed or dropped by the pipeline, 1 when any document (or a whole
unreadable file) went to the dead-letter store (``ingest dead-letter list``), 2 when the job itself failed or was
stopped by ``--max-errors`` (the error is on stderr), 130 when interrupted.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import TYPE_CHECKING, Any

import typer

from ingest.models.errors import ElasticsearchError
from ingest.sinks.registry import usage

if TYPE_CHECKING:
    from ingest.context import AppContext
    from ingest.jobs.config import JobConfig

EXIT_DEAD_LETTERS = 1
EXIT_FAILED = 2


def _fail(exc: BaseException) -> typer.Exit:
    from ingest.jobs.budget import TooManyErrors

    if isinstance(exc, TooManyErrors):
        sys.stderr.write(f"ingest: {exc.reason}\n")  # a sentence for the person, then the error object
    body = exc.to_dict() if isinstance(exc, ElasticsearchError) else {
        "error": {"type": type(exc).__name__, "reason": str(exc)}, "status": 500}
    sys.stderr.write(json.dumps(body) + "\n")
    return typer.Exit(EXIT_FAILED)


def job_config(**given: Any) -> JobConfig:
    """The job of the options the user gave: an option left out (None) takes ``JobConfig``'s own default, the
    one place job defaults live (the CLI does not repeat them)."""
    from ingest.jobs.config import JobConfig

    return JobConfig(**{name: value for name, value in given.items() if value is not None})


def _run(ctx: typer.Context, config: JobConfig, executor: str = "local", address: str | None = None, concurrency: str | None = None) -> None:
    from ingest.cli.context import cli_context

    _run_in(cli_context(ctx), config, executor, address, concurrency)  # the command's context, passed down


def _run_in(context: AppContext, config: JobConfig, executor: str, address: str | None, concurrency: str | None) -> None:
    from ingest.jobs.progress import default_reporter
    from ingest.jobs.runner import run_job
    from ingest.jobs.served import ServerStop, run_on_server, server_can_run, stream_to_server
    from ingest.sources import open_source

    try:
        if executor == "ray":
            summary = _run_on_ray(context, config, address, concurrency)
        elif executor != "local":
            from ingest.models.errors import IllegalArgumentException

            raise IllegalArgumentException(f"unknown executor [{executor}]: expected [local] or [ray]")
        else:
            from ingest.sources.stoppable import stop_on_signals

            source = open_source(config.source, **config.source_options)
            given = config.source  # with its secrets: the server opens it too, when it runs the job
            if config.source.startswith("kafka://"):
                from ingest.sources.kafka import redact

                # Checkpoints store the source spec: a Kafka URL's passwords are replaced (the job id is kept).
                config.job_id, config.source = config.resolved_job_id(), redact(config.source)
            total, estimated = source.total_rows(), False
            if total is None:
                total = source.estimated_rows()
                estimated = total is not None
            summary = None
            if context.served_store(config.dest) is not None and config.source == "-":
                # the home's server runs the job, reading this process's standard input as it is forwarded
                try:
                    summary = stream_to_server(config, lambda: _served_now(context, config.dest),
                                               default_reporter(total, estimated), sys.stdin.buffer)
                except KeyboardInterrupt:  # the server stops the job when this connection closes
                    sys.stderr.write("interrupted; the server stopped the job: what it wrote stays (standard input "
                                     "cannot be read again)\n")
                    raise
            elif context.served_store(config.dest) is not None and server_can_run(config):
                # the home's server owns the store: it runs the whole job, reading the file itself
                source.close()
                locate = lambda: _served_now(context, config.dest)  # noqa: E731
                graceful = ServerStop(config.resolved_job_id(), locate)  # Kafka: SIGTERM drains in the server
                try:
                    with stop_on_signals(graceful) if given.startswith("kafka://") else contextlib.nullcontext():
                        summary = run_on_server(config, locate, default_reporter(total, estimated),
                                                source_spec=given)
                except KeyboardInterrupt:  # the server stops the job when this connection closes
                    sys.stderr.write(f"interrupted; continue with: --resume --job-id {config.resolved_job_id()}\n")
                    raise
                if summary is None:  # a server without the job route: batches through it instead
                    source = open_source(config.source, **config.source_options)
            if summary is None:
                with stop_on_signals(source):  # streaming sources (Kafka): SIGTERM/SIGINT drain, commit, exit
                    summary = run_job(config, source=source, reporter=default_reporter(total, estimated),
                                      context=context)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except Exception as exc:
        raise _fail(exc) from exc
    typer.echo(json.dumps(summary.to_dict()))
    if not summary.completed:
        sys.stderr.write(f"interrupted; continue with: --resume --job-id {summary.job_id}\n")
        raise typer.Exit(130)
    for path in summary.unreadable_files:
        sys.stderr.write(f"file [{path}] could not be read; it went to the dead-letter store whole "
                         "(the other files were indexed)\n")
    if summary.failed:
        sys.stderr.write(
            f"{summary.failed} document(s) went to the dead-letter store: ingest dead-letter list --job-id {summary.job_id}\n"
        )
        raise typer.Exit(EXIT_DEAD_LETTERS)


def _served_now(context: AppContext, dest: str) -> tuple[str, str] | None:
    """The home's live server now, as ``(url, token)``, when it owns ``dest``."""
    found = context.served_store(dest)
    return (found.url, found.token) if found is not None else None


def _run_on_ray(context: AppContext, config: JobConfig, address: str | None, concurrency: str | None) -> Any:
    """The ray executor (``ingest[ray]``); Ray is imported only here."""
    from ingest.jobs.progress import default_reporter
    from ingest.models.errors import IllegalArgumentException

    try:
        from ingest.executors.ray_job import run_on_ray
    except ImportError as exc:
        raise IllegalArgumentException(
            f"the ray executor needs Ray: pip install 'ingest[ray]' ({exc})") from None
    if config.source.startswith("kafka://"):
        from ingest.sources.kafka.ray_members import run_members_on_ray

        if concurrency is not None and not concurrency.isdigit():
            raise IllegalArgumentException(f"--concurrency for kafka sources is a number of members, got [{concurrency}]")
        return run_members_on_ray(config, members=int(concurrency or 2), address=address,
                                  reporter=default_reporter(None))
    from ingest.executors.pool import parse_concurrency

    pool = parse_concurrency(concurrency) if concurrency else None
    return run_on_ray(config, address=address, reporter=default_reporter(None), concurrency=pool, context=context)


_MAX_ERRORS_HELP = ("Stop when more than N documents (or P% of them) failed. Default: stop when the first 1,000 "
                    "documents all failed with the same error.")
_EXECUTOR_HELP = "local (this process) or ray (Ray Data; needs ingest[ray])."
_ADDRESS_HELP = "Ray cluster address for --executor ray (default: RAY_ADDRESS, a running local cluster, else a new local Ray)."
_CONCURRENCY_HELP = ("--executor ray: actors N or MIN,MAX for pipelines without a local model (default 1..cluster CPUs); "
                     "kafka:// sources: N consumer-group members (default 2).")


def register(app: typer.Typer) -> None:
    """Add ``run``, ``reindex`` and ``search``."""

    @app.command("run")
    def run_cmd(
        ctx: typer.Context,
        source: str = typer.Option(..., "--source", help="File, folder, glob, '-' (stdin NDJSON), http(s)://host/index or kafka://host:port/topic?group=G."),
        index: str = typer.Option(..., "--index", help="Target index."),
        pipeline: str | None = typer.Option(None, "--pipeline", help="Stored pipeline id or a JSON/YAML file."),
        dest: str | None = typer.Option(None, "--dest", help=f"Where documents go (default: embedded): {usage()}."),
        id_field: str | None = typer.Option(None, "--id-field", help="Field holding the document id (default: content hash)."),
        resume: bool | None = typer.Option(None, "--resume", help="Continue from the job's last checkpoint."),
        job_id: str | None = typer.Option(None, "--job-id", help="Job id (default: derived from source/pipeline/index/dest)."),
        bulk_bytes: int | None = typer.Option(None, "--bulk-bytes", help="Max bytes per bulk request (default 10 MiB)."),
        bulk_docs: int | None = typer.Option(None, "--bulk-docs", help="Max documents per bulk request (default 1000)."),
        senders: int | None = typer.Option(None, "--senders", help="Concurrent bulk requests (default 1 embedded, 3 clusters)."),
        batch_size: int | None = typer.Option(None, "--batch-size", help="Rows per source batch."),
        source_format: str | None = typer.Option(None, "--format", help="parquet|jsonl|csv|arrow when the extension does not say."),
        skip_unchanged: bool | None = typer.Option(None, "--skip-unchanged/--no-skip-unchanged", help="Reuse cached embeddings of unchanged texts (default: on)."),
        max_errors: str | None = typer.Option(None, "--max-errors", metavar="N|P%", help=_MAX_ERRORS_HELP),
        executor: str = typer.Option("local", "--executor", help=_EXECUTOR_HELP),
        address: str | None = typer.Option(None, "--address", help=_ADDRESS_HELP),
        concurrency: str | None = typer.Option(None, "--concurrency", help=_CONCURRENCY_HELP),
        until_caught_up: bool = typer.Option(False, "--until-caught-up", help="kafka:// sources: stop once everything up to the end offsets seen at start is indexed."),
    ) -> None:
        """Run a bulk ingest job: source → pipeline → index."""
        options: dict[str, Any] = {}
        if batch_size:
            options["batch_size"] = batch_size
        if source_format:
            options["format"] = source_format
        if source.startswith("kafka://"):
            options.update(id_field=id_field, until_caught_up=until_caught_up or None)
        elif until_caught_up:
            from ingest.models.errors import IllegalArgumentException

            raise _fail(IllegalArgumentException("--until-caught-up applies to kafka:// sources only"))
        _run(ctx, job_config(
            source=source, index=index, dest=dest, pipeline=pipeline, id_field=id_field, job_id=job_id,
            resume=resume, bulk_bytes=bulk_bytes, bulk_docs=bulk_docs, senders=senders,
            skip_unchanged=skip_unchanged, source_options=options, max_errors=max_errors,
        ), executor, address, concurrency)

    @app.command("reindex")
    def reindex_cmd(
        ctx: typer.Context,
        source_url: str = typer.Option(..., "--source-url", help="Elasticsearch/OpenSearch URL to read from."),
        source_index: str = typer.Option(..., "--source-index", help="Index to read."),
        index: str = typer.Option(..., "--index", help="Target index."),
        dest: str | None = typer.Option(None, "--dest", help=f"Where documents go (default: embedded): {usage()}."),
        pipeline: str | None = typer.Option(None, "--pipeline", help="Stored pipeline id or a JSON/YAML file."),
        resume: bool | None = typer.Option(None, "--resume", help="Continue from the job's last checkpoint."),
        job_id: str | None = typer.Option(None, "--job-id"),
        slices: int | None = typer.Option(None, "--slices", help="Parallel point-in-time slices."),
        skip_unchanged: bool | None = typer.Option(None, "--skip-unchanged/--no-skip-unchanged", help="Reuse cached embeddings of unchanged texts (default: on)."),
        max_errors: str | None = typer.Option(None, "--max-errors", metavar="N|P%", help=_MAX_ERRORS_HELP),
        executor: str = typer.Option("local", "--executor", help=_EXECUTOR_HELP),
        address: str | None = typer.Option(None, "--address", help=_ADDRESS_HELP),
        concurrency: str | None = typer.Option(None, "--concurrency", help=_CONCURRENCY_HELP),
    ) -> None:
        """Copy an index (through a pipeline) into another destination; ids are kept."""
        options: dict[str, Any] = {"slices": slices} if slices else {}
        _run(ctx, job_config(
            source=f"{source_url.rstrip('/')}/{source_index}", index=index, dest=dest, pipeline=pipeline,
            job_id=job_id, resume=resume, skip_unchanged=skip_unchanged, source_options=options,
            max_errors=max_errors,
        ), executor, address, concurrency)

    @app.command("search")
    def search_cmd(
        ctx: typer.Context,
        index: str = typer.Argument(..., help="Index expression (names, wildcards, aliases)."),
        query: str | None = typer.Argument(None, help="Query text for a vector search (without --query: the "
                                           "query DSL is read from stdin when this is absent)."),
        dsl: str | None = typer.Option(None, "--query", help="A _search body or a query, as JSON ('-': stdin)."),
        vectors: bool = typer.Option(False, "--vectors", help="Keep vector fields in the hits' _source."),
        endpoint: str | None = typer.Option(None, "--endpoint", help="Inference endpoint (default: the one that filled the field)."),
        field: str | None = typer.Option(None, "--field", help="Vector field (when the index has several)."),
        k: int = typer.Option(10, "-k", "--k", help="Number of hits."),
        dest: str = typer.Option("embedded", "--dest", help="A destination that can search: embedded or lancedb:///folder."),
    ) -> None:
        """Search: the query DSL (--query or stdin) as _search answers it, or a text's dense/sparse vector search."""
        from ingest.cli.context import cli_context

        context = cli_context(ctx)
        if query is None:
            from ingest.cli.search_cmd import run_dsl

            try:
                typer.echo(json.dumps(run_dsl(context, index, dsl, vectors, dest), default=str))
            except Exception as exc:
                raise _fail(exc) from exc
            return
        from ingest.cli.search_cmd import run_semantic, semantic_target
        from ingest.jobs.search import search

        try:
            semantic = None if endpoint is not None else semantic_target(context, index, dest, field)
            if semantic is not None:
                typer.echo(json.dumps(run_semantic(context, index, semantic, query, k, vectors, dest), default=str))
                return
            from ingest.sinks.registry import kind_of, require, searching

            kind = kind_of(dest)
            require(kind, "search")  # before anything is opened or embedded
            sink = context.open_sink(dest)
            try:
                result = search(index, query, endpoint=endpoint, field=field, k=k, api=context.api,
                                store=searching(sink, kind), index_meta=context.index_meta)
            finally:
                sink.close()
        except Exception as exc:
            raise _fail(exc) from exc
        typer.echo(json.dumps(result, default=str))
